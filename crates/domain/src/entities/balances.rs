//! Provider balances: the last balance read from a provider, and what
//! simgate's own purchase ledger says it spent there.

use chrono::{DateTime, Utc};

use crate::{Money, ProviderId};

/// The owner id of the operator's webhook endpoints and events: a reserved
/// tenant row (migration 0018) that no API key belongs to, so no tenant's
/// request can ever read or receive what is sent to it.
pub const OPERATOR_OWNER: &str = "operator";

/// A balance as the provider reported it, shared by every instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderBalance {
    pub provider: ProviderId,
    pub balance: Money,
    /// When the provider was asked.
    pub read_at: DateTime<Utc>,
    /// Identifies this read (the low-balance alert is keyed by one).
    pub read_id: String,
}

/// What storing a balance read decided about the low-balance alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredBalance {
    /// A newer read was stored already: this one changed nothing.
    Outdated,
    /// Stored; `low_read_id` is the read that first went below the
    /// threshold while the balance stays below it (`None`: not below).
    Stored { low_read_id: Option<String> },
}

/// What the purchase ledger says was bought from a provider in one currency:
/// the orders' frozen cost (`unit_price × quantity`) of every purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSpend {
    /// Every purchase ever recorded.
    pub total: Money,
    /// Purchases recorded after the last balance read.
    pub since_read: Money,
    /// How many purchases `total` counts.
    pub purchases: u64,
}

/// One purchase of simgate's ledger with what it cost, for comparing the
/// ledger with the provider's own list of purchases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPurchase {
    /// The provider's reference of the purchase.
    pub upstream_ref: String,
    /// The local row it belongs to (`order`, `sim_order` or `line`).
    pub local_kind: String,
    pub local_id: String,
    /// False for an extra purchase of a superseded attempt (to refund).
    pub linked: bool,
    /// The order's frozen cost of the purchase (`unit_price × quantity`);
    /// `None` for rows that are not eSIM orders.
    pub cost: Option<Money>,
    pub recorded_at: DateTime<Utc>,
}
