//! Physical SIM card orders as simgate records them.

use chrono::{DateTime, Utc};

use crate::{Hold, ProviderId, SimOrder, SimOrderStatus};

/// What became of the provider's answer to a SIM order's creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOrderAnswer {
    /// It is the order's purchase now; `previous` is the state before, and
    /// `superseded` says it came from an attempt that had been superseded.
    Linked {
        previous: SimOrderState,
        superseded: bool,
    },
    /// The order already has another purchase: kept as an extra one.
    Extra,
    /// The order already has this purchase.
    Unchanged,
    /// This purchase belongs to another order.
    LinkedElsewhere,
    /// A matched provider order was not taken: the attempt that found it
    /// is no longer current, or the order already has its purchase.
    NotTaken,
}

/// Where a SIM order is from simgate's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOrderState {
    /// Written down; the provider's answer is not known yet.
    Submitting,
    /// The provider refused it, or it was never created: nothing was bought.
    Failed,
    /// The provider has it, in this status.
    Placed(SimOrderStatus),
    /// The provider has it, in a status nobody documented.
    PlacedUnknown,
}

impl SimOrderState {
    /// The lower-case name used in storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Submitting => "submitting",
            Self::Failed => "failed",
            Self::Placed(status) => status.as_str(),
            Self::PlacedUnknown => "unknown",
        }
    }

    /// The state named by [`Self::as_str`]; a provider status nobody
    /// documented is [`Self::PlacedUnknown`].
    pub fn parse(raw: &str) -> Self {
        match raw {
            "submitting" => Self::Submitting,
            "failed" => Self::Failed,
            other => SimOrderStatus::parse(other).map_or(Self::PlacedUnknown, Self::Placed),
        }
    }

    /// Whether the order can still change.
    pub fn is_final(&self) -> bool {
        match self {
            Self::Failed => true,
            Self::Placed(status) => status.is_final(),
            Self::Submitting | Self::PlacedUnknown => false,
        }
    }
}

/// A SIM order to write down before calling the provider.
#[derive(Debug, Clone)]
pub struct SimOrderInsert {
    pub tenant_id: String,
    pub provider: ProviderId,
    pub address_id: String,
    pub quantity: u32,
    pub idempotency_key: Option<String>,
    /// Hash of the request, to tell a retry from a different request.
    pub request_hash: String,
    /// The cost held on the tenant's account with the row, before the
    /// provider is called (refused as
    /// [`RepositoryError::InsufficientFunds`](super::RepositoryError) when it
    /// does not fit). `None` moves no money: the store's own tests.
    pub hold: Option<Hold>,
}

/// A tenant's SIM order and the provider's last word on it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOrderRecord {
    pub id: String,
    pub tenant_id: String,
    pub provider: ProviderId,
    pub upstream_id: Option<String>,
    pub address_id: String,
    pub quantity: u32,
    pub state: SimOrderState,
    pub failure: Option<String>,
    /// The provider's order as last fetched.
    pub snapshot: Option<SimOrder>,
    pub request_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The current attempt's number (see the module docs).
    pub fence: i64,
}
