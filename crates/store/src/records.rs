//! Rows as the rest of simgate sees them.

use chrono::{DateTime, Utc};
use simgate_domain::{
    Iccid, InstallDetails, Money, OrderId, OrderKind, OrderStatus, ProductId, ProviderId,
};

/// A reseller account; every API key belongs to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
}

/// An order about to be written down, before any upstream call.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub tenant_id: String,
    pub idempotency_key: Option<String>,
    /// Hash of the request body, to tell a retry from a key reused for another order.
    pub request_hash: String,
    pub product_id: ProductId,
    pub kind: OrderKind,
    pub quantity: u32,
    pub unit_price: Money,
}

/// Why an order failed, as shown to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFailure {
    /// Stable machine-readable code.
    pub code: String,
    pub message: String,
    /// True when nothing was bought and the same order may be tried again.
    pub retryable: bool,
}

/// A stored order.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    pub id: OrderId,
    pub tenant_id: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub product_id: ProductId,
    pub kind: OrderKind,
    pub quantity: u32,
    pub unit_price: Money,
    pub status: OrderStatus,
    pub upstream_ref: Option<String>,
    pub provider_status: Option<String>,
    pub failure: Option<OrderFailure>,
    pub attempts: u32,
    pub submitted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The current attempt's number: every move of the order names it and
    /// bumps it, so a stale read moves nothing.
    pub fence: i64,
    /// eSIMs the order delivered (or topped up).
    pub iccids: Vec<Iccid>,
}

impl OrderRecord {
    /// The provider that sells the ordered product.
    pub fn provider(&self) -> ProviderId {
        self.product_id.provider
    }
}

/// A stored eSIM with its install details.
#[derive(Debug, Clone)]
pub struct EsimRecord {
    pub tenant_id: String,
    pub provider: ProviderId,
    pub order_id: OrderId,
    pub install: InstallDetails,
    pub created_at: DateTime<Utc>,
}
