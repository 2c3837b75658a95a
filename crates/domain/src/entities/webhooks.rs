//! Inbound provider webhooks, as stored.

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhook {
    pub id: String,
    /// True when the same delivery was stored before: apply nothing.
    pub duplicate: bool,
}
