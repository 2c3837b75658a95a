//! Orders and the eSIMs they delivered, as simgate records them, and
//! what became of each write.

use chrono::{DateTime, Utc};

use crate::{
    Hold, Iccid, InstallDetails, Money, OrderHold, OrderId, OrderKind, OrderStatus, ProductId,
    ProviderId,
};

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
    /// The tenant's sell price of one unit of `product_id`, frozen with
    /// its cost.
    pub sale: SalePrice,
    /// The offer ordered, when simgate chooses the provider.
    pub offer_id: Option<String>,
    /// The offer's products in the order routing chose (empty when the
    /// tenant pinned one product): failover moves along this list.
    pub candidates: Vec<ProductId>,
    /// When set, the order is written already claimed for its first
    /// upstream attempt at this time (`submitted`, attempt 1): the write
    /// before the call is then one statement instead of an insert and a
    /// claim. `None` writes it `pending` (e.g. its provider's circuit is
    /// open, so nothing is sent yet).
    pub submitted_at: Option<DateTime<Utc>>,
    /// What the order holds on its tenant's account, placed in the same
    /// transaction as the insert (refused as
    /// [`RepositoryError::InsufficientFunds`](super::RepositoryError) when it
    /// does not fit). `None` moves no money: the store's own tests of the
    /// order state machine.
    pub hold: Option<Hold>,
}

/// What the tenant sells one unit at, in its pricing currency, and what it
/// keeps: frozen with the cost of the candidate being bought, so a later
/// change of rules or FX rates never rewrites an order's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalePrice {
    /// The sell price.
    pub price: Money,
    /// The price less the cost converted to the price's currency.
    pub margin: Money,
}

/// How one attempt at a candidate of an offer order ended without a
/// purchase, kept so that the tenant sees why the provider changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    /// The provider certainly bought nothing (refusal, 429/503 after
    /// retries, connection refused): failed over at once.
    NothingBought,
    /// The outcome was unknown, and reconciliation proved nothing was
    /// bought before failing over.
    ProvedNothing,
    /// The candidate was never called: the tenant's account could not cover
    /// its price (`error_code` says why).
    Skipped,
}

/// One finished attempt of an offer order at one candidate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderAttempt {
    pub provider: ProviderId,
    pub product_id: ProductId,
    pub outcome: AttemptResult,
    /// The stable code of the provider's failure.
    pub error_code: Option<String>,
    pub at: DateTime<Utc>,
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
    /// The sell price and margin frozen with `unit_price`; `None` for
    /// orders placed before prices were recorded.
    pub sale: Option<SalePrice>,
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
    /// The offer ordered, when simgate chose the provider.
    pub offer_id: Option<String>,
    /// The offer's products in routing order (empty for a pinned product).
    pub candidates: Vec<ProductId>,
    /// Earlier attempts at other candidates that bought nothing.
    pub attempt_log: Vec<OrderAttempt>,
    /// The order's hold on its tenant's account; `None` for orders placed
    /// before accounts existed.
    pub hold: Option<OrderHold>,
    /// Millionths of the hold's currency refunded to the tenant so far.
    pub refunded_micros: i64,
}

impl OrderRecord {
    /// The provider that sells the ordered product.
    pub fn provider(&self) -> ProviderId {
        self.product_id.provider
    }

    /// The candidate after the current one, where failover may go.
    pub fn next_candidate(&self) -> Option<&ProductId> {
        let current = self.candidates.iter().position(|c| c == &self.product_id)?;
        self.candidates.get(current + 1)
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

/// Which of a tenant's eSIMs to list, and which page of them.
#[derive(Debug, Clone, Default)]
pub struct EsimFilter {
    pub iccid: Option<Iccid>,
    pub provider: Option<ProviderId>,
    /// The status of the order that delivered the eSIM.
    pub status: Option<OrderStatus>,
    pub limit: u32,
    pub offset: u32,
}

/// Which of a tenant's orders to find, and which page of them: what the
/// console's order search filters on, answered by one store query so an
/// old order is found however many newer ones there are.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    pub provider: Option<ProviderId>,
    /// Part of the order id, idempotency key, provider reference, product
    /// or offer id, or of one of its ICCIDs; case-insensitive.
    pub text: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// A tenant's orders created in one hour with one status and currency,
/// counted and summed by the store: the console's dashboard covers every
/// order, at any volume, without reading them one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyOrders {
    /// The start of the hour (UTC).
    pub hour: DateTime<Utc>,
    pub status: OrderStatus,
    pub orders: u64,
    /// Unit price × quantity, summed, in the orders' currency.
    pub charged: Money,
    /// The frozen margins × quantity, summed, in the sell currency; `None`
    /// for orders placed without a sell price.
    pub margin: Option<Money>,
}

/// An eSIM in a list, with the status of the order that delivered it:
/// simgate keeps no lifecycle of its own for an eSIM.
#[derive(Debug, Clone)]
pub struct ListedEsim {
    pub esim: EsimRecord,
    pub order_status: OrderStatus,
}

/// What became of a provider's answer.
#[derive(Debug)]
pub enum Recorded {
    /// It is the order's purchase (or news of it), now recorded.
    /// `superseded`: it came from an attempt that had been superseded,
    /// while the order still had no purchase.
    Linked {
        order: OrderRecord,
        superseded: bool,
        /// The order's event, recorded in the same transaction when the
        /// answer made the order final (its outbox): `None` when it did
        /// not, or when the event was already recorded.
        event: Option<RecordedEvent>,
    },
    /// The order already has another purchase: this one was kept as an
    /// extra purchase of the order, for an operator to refund.
    Extra(OrderRecord),
    /// Nothing new: the order already has this purchase in this state or a
    /// later one.
    Unchanged(OrderRecord),
    /// This purchase belongs to another order; this one is untouched.
    LinkedElsewhere(OrderRecord),
    /// A provider order found by listing and matching was not taken: the
    /// attempt that found it is no longer current, or the order already
    /// has its purchase. A match is a guess, not an answer to our call, so
    /// it is never kept as an extra purchase: it may be another order's.
    NotTaken(OrderRecord),
}

impl Recorded {
    /// The order as it stands after the answer.
    pub fn order(&self) -> &OrderRecord {
        match self {
            Self::Linked { order, .. }
            | Self::Extra(order)
            | Self::Unchanged(order)
            | Self::LinkedElsewhere(order)
            | Self::NotTaken(order) => order,
        }
    }

    /// The order as it stands after the answer, taken out without a copy.
    pub fn into_order(self) -> OrderRecord {
        match self {
            Self::Linked { order, .. }
            | Self::Extra(order)
            | Self::Unchanged(order)
            | Self::LinkedElsewhere(order)
            | Self::NotTaken(order) => order,
        }
    }
}

/// An event recorded with the write that caused it, and its pending
/// deliveries, which the caller schedules once the write is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub id: String,
    pub deliveries: Vec<String>,
}

/// An order a move just changed, and the event recorded with the move when
/// it made the order final (its outbox): the caller schedules the
/// deliveries once the move is committed.
#[derive(Debug, Clone)]
pub struct Moved {
    pub order: OrderRecord,
    pub event: Option<RecordedEvent>,
}

/// What a provider said of one of its orders.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamAnswer<'a> {
    /// The provider's reference of its order.
    pub upstream_ref: &'a str,
    /// The provider's own word for the order's status.
    pub provider_status: &'a str,
    /// That status in our state machine.
    pub status: OrderStatus,
    /// The eSIMs it has delivered so far.
    pub esims: &'a [InstallDetails],
}

/// The result of writing an order down.
#[derive(Debug)]
pub enum InsertOutcome<T = OrderRecord> {
    /// A new order was written.
    Created(T),
    /// The tenant already used this idempotency key; here is that order.
    Existing(T),
}
