//! Inbound provider webhooks, as stored.

use crate::ProviderId;

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhook {
    pub id: String,
    /// True when the same delivery was stored before.
    pub duplicate: bool,
    /// True while it is not applied yet (a duplicate of a row the process
    /// died before applying, or whose attempts failed, is applied again).
    pub pending: bool,
    /// Failed attempts to apply it so far.
    pub attempts: u32,
}

/// A stored webhook still to apply whose next attempt is due, taken by one
/// inbox pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueWebhook {
    pub id: String,
    pub provider: ProviderId,
    /// The raw body, verified when it was received.
    pub body: String,
    /// Failed attempts to apply it so far.
    pub attempts: u32,
}
