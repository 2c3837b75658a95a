//! Leases on rows under reconciliation, and the ledger of upstream purchases.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ProviderId;

/// A reconciler's hold on the rows it took, until `until`. Past that, the
/// rows are free again, so the work of a process killed mid-pass is taken
/// over. It must outlast any upstream call, or a call in flight would look
/// lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it (one id per running instance), for operators reading rows.
    pub owner: String,
    pub until: DateTime<Utc>,
    /// The longest a row this lease's pass leaves where it was waits before
    /// a pass takes it again. The wait starts at [`Lease::FIRST_RETRY`] and
    /// doubles (plus that) each time, so rows that cannot progress are
    /// visited less and less often and never fill every batch.
    pub retry_max: Duration,
}

impl Lease {
    /// The wait after a row's first unmoved pass.
    pub const FIRST_RETRY: Duration = Duration::from_secs(1);
}

/// One purchase a provider made for us, and the local row it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamPurchase {
    pub provider: ProviderId,
    /// The provider's reference of the purchase.
    pub upstream_ref: String,
    /// `order`, `sim_order` or `line`.
    pub local_kind: String,
    pub local_id: String,
    pub tenant_id: String,
    /// True when it is the row's own purchase; false for an extra purchase
    /// made by a superseded attempt, which an operator should refund.
    pub linked: bool,
    /// What the provider said about it (JSON), for the refund.
    pub detail: String,
    pub recorded_at: DateTime<Utc>,
}
