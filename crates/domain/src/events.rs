//! The events simgate sends to resellers' webhook endpoints.
//!
//! Every event type is one variant of [`OutboundEvent`] with a typed
//! payload, so its name (`order.completed`, …), its dedupe key and its JSON
//! shape come from one place, and the OpenAPI document can list them all.
//! An endpoint receives `{"type": …, "timestamp": …, "data": …}`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::entities::OrderRecord;
use crate::{
    BundleUsage, Iccid, Money, OrderId, OrderStatus, ProductId, ProviderId, SimOrderStatus,
};

/// Why an order failed, as its `order.failed` event tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EventFailure {
    /// Stable machine-readable code, as in problem answers.
    pub code: String,
    pub message: String,
    /// True when nothing was bought and the same order may be tried again.
    pub retryable: bool,
}

/// `data` of the `order.*` events: the order as it became final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderEventData {
    #[schema(value_type = String, example = "ord_0193e4a1c2b37d4e8f9a0b1c2d3e4f50")]
    pub id: OrderId,
    pub status: OrderStatus,
    #[schema(value_type = String, example = "esim-go:esim_1GB_7D_GB_V2")]
    pub product_id: ProductId,
    pub quantity: u32,
    /// ICCIDs of the eSIMs the order delivered (or topped up).
    #[schema(value_type = Vec<String>)]
    pub esims: Vec<Iccid>,
    /// The provider's reference of the order, once it has one.
    pub upstream_reference: Option<String>,
    /// Set on `order.failed`.
    pub failure: Option<EventFailure>,
    /// The order's attempt number. Not sent: it keys the event, so that a
    /// failure retried into success (or into another failure) is told anew.
    #[serde(skip)]
    pub attempt: u32,
}

/// `data` of the `esim.usage.*` events: a bundle running low or out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageEventData {
    #[schema(value_type = String, example = "8943108167001960542")]
    pub iccid: Iccid,
    /// Provider SKU of the bundle.
    pub bundle: String,
    pub initial_bytes: u64,
    pub remaining_bytes: u64,
    /// When the bundle assignment started. Not sent: it keys the event, so
    /// the same bundle bought again is told about again.
    #[serde(skip)]
    pub started_at: Option<DateTime<Utc>>,
}

/// `data` of the `sim_order.*` events: a SIM card order reaching a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SimOrderEventData {
    pub id: String,
    pub status: SimOrderStatus,
    pub quantity: u32,
    pub address_id: String,
    /// The provider's order id.
    pub upstream_id: Option<String>,
    pub tracking_url: Option<String>,
    /// What the order cost, as the provider last reported it.
    pub cost: Option<Money>,
}

/// `data` of `balance.low`: the tenant's available amount fell below the
/// threshold it set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountBalanceEventData {
    /// Balance less held, plus the credit limit: what new orders may use.
    pub available: Money,
    pub threshold: Money,
    pub balance: Money,
    pub held: Money,
    /// When the account crossed the threshold (Unix ms). Not sent: it keys
    /// the event, so each crossing is told once.
    #[serde(skip)]
    pub crossed_at: i64,
    /// The tenant (not sent: the endpoint is the tenant's own).
    #[serde(skip)]
    pub tenant_id: String,
}

/// `data` of `provider.balance.low`, sent to the operator's endpoints only:
/// a provider's prepaid balance went below the operator's threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BalanceEventData {
    /// The provider's slug, e.g. `esim-go`.
    #[schema(value_type = String, example = "esim-go")]
    pub provider: ProviderId,
    /// The balance as the provider reported it.
    pub balance: Money,
    /// The operator's threshold, in the balance's currency.
    pub threshold: Money,
    /// When the provider was asked.
    pub read_at: DateTime<Utc>,
    /// The read that first went below the threshold. Not sent: it keys the
    /// event, so one crossing is told once, and a new one after the balance
    /// went back above is told again.
    #[serde(skip)]
    pub crossing: String,
}

/// An event for a reseller: its `type` and `data`, as endpoints receive
/// them (next to a `timestamp`, see [`EventBody`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "data")]
pub enum OutboundEvent {
    /// An order delivered its eSIMs (or top-up).
    #[serde(rename = "order.completed")]
    OrderCompleted(OrderEventData),
    /// An order failed; `failure` says why and whether it may be retried.
    #[serde(rename = "order.failed")]
    OrderFailed(OrderEventData),
    /// The provider refunded an order.
    #[serde(rename = "order.refunded")]
    OrderRefunded(OrderEventData),
    /// A bundle has 10 % or less of its data left.
    #[serde(rename = "esim.usage.low")]
    EsimUsageLow(UsageEventData),
    /// A bundle has no data left.
    #[serde(rename = "esim.usage.depleted")]
    EsimUsageDepleted(UsageEventData),
    /// A SIM card order was accepted by the provider.
    #[serde(rename = "sim_order.pending")]
    SimOrderPending(SimOrderEventData),
    /// A SIM card order is being prepared.
    #[serde(rename = "sim_order.processing")]
    SimOrderProcessing(SimOrderEventData),
    /// A SIM card order is packed and waits for the carrier.
    #[serde(rename = "sim_order.ready_to_ship")]
    SimOrderReadyToShip(SimOrderEventData),
    /// A SIM card order left with the carrier.
    #[serde(rename = "sim_order.shipped")]
    SimOrderShipped(SimOrderEventData),
    /// A SIM card order arrived.
    #[serde(rename = "sim_order.delivered")]
    SimOrderDelivered(SimOrderEventData),
    /// A SIM card order was canceled.
    #[serde(rename = "sim_order.canceled")]
    SimOrderCanceled(SimOrderEventData),
    /// The tenant's available amount fell below its threshold.
    #[serde(rename = "balance.low")]
    BalanceLow(AccountBalanceEventData),
    /// A provider's balance went below the operator's threshold (operator
    /// endpoints only).
    #[serde(rename = "provider.balance.low")]
    ProviderBalanceLow(BalanceEventData),
}

/// What an endpoint receives: the event and when it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EventBody {
    #[serde(flatten)]
    pub event: OutboundEvent,
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-01-31T12:00:00.000Z`.
    #[schema(format = DateTime, example = "2026-01-31T12:00:00.000Z")]
    pub timestamp: String,
}

impl EventBody {
    /// The body of `event` recorded at `at`.
    pub fn new(event: OutboundEvent, at: DateTime<Utc>) -> Self {
        Self {
            event,
            timestamp: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

impl OutboundEvent {
    /// Every event type, as endpoints see it in `type`.
    pub const TYPES: [&'static str; 13] = [
        "order.completed",
        "order.failed",
        "order.refunded",
        "esim.usage.low",
        "esim.usage.depleted",
        "sim_order.pending",
        "sim_order.processing",
        "sim_order.ready_to_ship",
        "sim_order.shipped",
        "sim_order.delivered",
        "sim_order.canceled",
        "balance.low",
        "provider.balance.low",
    ];

    /// The event an order tells when it becomes final; `None` while it is
    /// not (no event is sent for intermediate states).
    pub fn for_order(data: OrderEventData) -> Option<Self> {
        match data.status {
            OrderStatus::Completed => Some(Self::OrderCompleted(data)),
            OrderStatus::Failed => Some(Self::OrderFailed(data)),
            OrderStatus::Refunded => Some(Self::OrderRefunded(data)),
            OrderStatus::Pending | OrderStatus::Submitted | OrderStatus::Fulfilling => None,
        }
    }

    /// [`Self::for_order`] of a stored order as it stands: one mapping, so
    /// that the store (recording the event in the transaction that makes
    /// the order final) and the service tell the same fact the same way.
    pub fn of_order(order: &OrderRecord) -> Option<Self> {
        Self::for_order(OrderEventData {
            id: order.id.clone(),
            status: order.status,
            product_id: order.product_id.clone(),
            quantity: order.quantity,
            esims: order.iccids.clone(),
            upstream_reference: order.upstream_ref.clone(),
            failure: order.failure.as_ref().map(|f| EventFailure {
                code: f.code.clone(),
                message: f.message.clone(),
                retryable: f.retryable,
            }),
            // A retryable failure can be retried into success: key failures by attempt.
            attempt: order.attempts,
        })
    }

    /// `esim.usage.depleted` when nothing is left, `esim.usage.low` at
    /// 10 % or less; `None` otherwise, or for an unlimited bundle.
    pub fn for_usage(iccid: &Iccid, usage: &BundleUsage) -> Option<Self> {
        let (Some(initial), Some(remaining)) = (usage.initial_bytes, usage.remaining_bytes) else {
            return None;
        };
        let data = UsageEventData {
            iccid: iccid.clone(),
            bundle: usage.bundle.clone(),
            initial_bytes: initial,
            remaining_bytes: remaining,
            started_at: usage.started_at,
        };
        if remaining == 0 {
            Some(Self::EsimUsageDepleted(data))
        } else if remaining.saturating_mul(10) <= initial {
            Some(Self::EsimUsageLow(data))
        } else {
            None
        }
    }

    /// The `sim_order.<status>` event of the status in `data`.
    pub fn for_sim_order(data: SimOrderEventData) -> Self {
        match data.status {
            SimOrderStatus::Pending => Self::SimOrderPending(data),
            SimOrderStatus::Processing => Self::SimOrderProcessing(data),
            SimOrderStatus::ReadyToShip => Self::SimOrderReadyToShip(data),
            SimOrderStatus::Shipped => Self::SimOrderShipped(data),
            SimOrderStatus::Delivered => Self::SimOrderDelivered(data),
            SimOrderStatus::Canceled => Self::SimOrderCanceled(data),
        }
    }

    /// The event's `type`, as serialised (a test holds the two together).
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::OrderCompleted(_) => "order.completed",
            Self::OrderFailed(_) => "order.failed",
            Self::OrderRefunded(_) => "order.refunded",
            Self::EsimUsageLow(_) => "esim.usage.low",
            Self::EsimUsageDepleted(_) => "esim.usage.depleted",
            Self::SimOrderPending(_) => "sim_order.pending",
            Self::SimOrderProcessing(_) => "sim_order.processing",
            Self::SimOrderReadyToShip(_) => "sim_order.ready_to_ship",
            Self::SimOrderShipped(_) => "sim_order.shipped",
            Self::SimOrderDelivered(_) => "sim_order.delivered",
            Self::SimOrderCanceled(_) => "sim_order.canceled",
            Self::BalanceLow(_) => "balance.low",
            Self::ProviderBalanceLow(_) => "provider.balance.low",
        }
    }

    /// The order the event is about, if it is about one: stored beside the
    /// event so an order's history is one indexed read.
    pub fn order_id(&self) -> Option<&OrderId> {
        match self {
            Self::OrderCompleted(order) | Self::OrderFailed(order) | Self::OrderRefunded(order) => {
                Some(&order.id)
            }
            Self::EsimUsageLow(_)
            | Self::EsimUsageDepleted(_)
            | Self::SimOrderPending(_)
            | Self::SimOrderProcessing(_)
            | Self::SimOrderReadyToShip(_)
            | Self::SimOrderShipped(_)
            | Self::SimOrderDelivered(_)
            | Self::SimOrderCanceled(_)
            | Self::BalanceLow(_)
            | Self::ProviderBalanceLow(_) => None,
        }
    }

    /// The key that makes one fact one event: recording the same key again
    /// records nothing.
    pub fn dedupe_key(&self) -> String {
        let event_type = self.event_type();
        match self {
            Self::OrderCompleted(order) | Self::OrderFailed(order) | Self::OrderRefunded(order) => {
                format!("{event_type}:{}:{}", order.id, order.attempt)
            }
            Self::EsimUsageLow(usage) | Self::EsimUsageDepleted(usage) => {
                let started = usage.started_at.map(|t| t.timestamp()).unwrap_or_default();
                format!("{event_type}:{}:{}:{started}", usage.iccid, usage.bundle)
            }
            Self::SimOrderPending(order)
            | Self::SimOrderProcessing(order)
            | Self::SimOrderReadyToShip(order)
            | Self::SimOrderShipped(order)
            | Self::SimOrderDelivered(order)
            | Self::SimOrderCanceled(order) => format!("{event_type}:{}", order.id),
            Self::BalanceLow(balance) => {
                format!("{event_type}:{}:{}", balance.tenant_id, balance.crossed_at)
            }
            Self::ProviderBalanceLow(low) => {
                format!("{event_type}:{}:{}", low.provider, low.crossing)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::{Value, json};

    use super::*;
    use crate::{BundleState, Currency};

    fn order(status: OrderStatus) -> OrderEventData {
        OrderEventData {
            id: OrderId("ord_1".into()),
            status,
            product_id: ProductId::parse("esim-go:esim_1GB").unwrap(),
            quantity: 1,
            esims: vec![Iccid::parse("8943108167001960542").unwrap()],
            upstream_reference: Some("up-1".into()),
            failure: None,
            attempt: 2,
        }
    }

    fn sim_order(status: SimOrderStatus) -> SimOrderEventData {
        SimOrderEventData {
            id: "so_1".into(),
            status,
            quantity: 3,
            address_id: "adr_1".into(),
            upstream_id: None,
            tracking_url: None,
            cost: Some(
                Money::new("6.90".parse().unwrap(), Currency::parse("USD").unwrap()).unwrap(),
            ),
        }
    }

    fn usage(initial: u64, remaining: u64) -> BundleUsage {
        BundleUsage {
            bundle: "esim_1GB".into(),
            state: BundleState::Active,
            initial_bytes: Some(initial),
            remaining_bytes: Some(remaining),
            unlimited: false,
            started_at: Some(Utc.timestamp_opt(1_700_000_000, 0).unwrap()),
            ends_at: None,
        }
    }

    fn every_event() -> Vec<OutboundEvent> {
        let iccid = Iccid::parse("8943108167001960542").unwrap();
        let mut events: Vec<OutboundEvent> = [
            OrderStatus::Completed,
            OrderStatus::Failed,
            OrderStatus::Refunded,
        ]
        .into_iter()
        .filter_map(|status| OutboundEvent::for_order(order(status)))
        .collect();
        events.extend(OutboundEvent::for_usage(&iccid, &usage(100, 10)));
        events.extend(OutboundEvent::for_usage(&iccid, &usage(100, 0)));
        events.extend(
            SimOrderStatus::ALL
                .into_iter()
                .map(|status| OutboundEvent::for_sim_order(sim_order(status))),
        );
        let usd = Currency::parse("USD").unwrap();
        events.push(OutboundEvent::BalanceLow(AccountBalanceEventData {
            available: Money::new("4".parse().unwrap(), usd).unwrap(),
            threshold: Money::new("5".parse().unwrap(), usd).unwrap(),
            balance: Money::new("4".parse().unwrap(), usd).unwrap(),
            held: Money::new("0".parse().unwrap(), usd).unwrap(),
            crossed_at: 1_700_000_000_000,
            tenant_id: "ten_a".into(),
        }));
        events.push(OutboundEvent::ProviderBalanceLow(balance_low()));
        events
    }

    fn balance_low() -> BalanceEventData {
        let usd = Currency::parse("USD").unwrap();
        BalanceEventData {
            provider: ProviderId::EsimGo,
            balance: Money::new("42.5".parse().unwrap(), usd).unwrap(),
            threshold: Money::new("100".parse().unwrap(), usd).unwrap(),
            read_at: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            crossing: "bal_1".into(),
        }
    }

    #[test]
    fn every_type_is_named_as_serde_names_it() {
        let events = every_event();
        let types: Vec<&str> = events.iter().map(OutboundEvent::event_type).collect();
        assert_eq!(types, OutboundEvent::TYPES);
        for event in events {
            let value = serde_json::to_value(&event).unwrap();
            assert_eq!(value["type"], event.event_type());
        }
    }

    #[test]
    fn bodies_keep_the_shape_endpoints_know() {
        let at = Utc.timestamp_opt(1_700_000_000, 5_000_000).unwrap();
        let mut failed = order(OrderStatus::Failed);
        failed.failure = Some(EventFailure {
            code: "out_of_stock".into(),
            message: "none left".into(),
            retryable: false,
        });
        let event = OutboundEvent::for_order(failed).unwrap();
        let body = serde_json::to_value(EventBody::new(event, at)).unwrap();
        assert_eq!(
            body.to_string(),
            json!({
                "type": "order.failed",
                "timestamp": "2023-11-14T22:13:20.005Z",
                "data": {
                    "id": "ord_1",
                    "status": "failed",
                    "product_id": "esim-go:esim_1GB",
                    "quantity": 1,
                    "esims": ["8943108167001960542"],
                    "upstream_reference": "up-1",
                    "failure": {"code": "out_of_stock", "message": "none left", "retryable": false},
                }
            })
            .to_string()
        );
        let shipped = OutboundEvent::for_sim_order(sim_order(SimOrderStatus::Shipped));
        let body: Value = serde_json::to_value(EventBody::new(shipped, at)).unwrap();
        assert_eq!(
            body["data"],
            json!({
                "id": "so_1",
                "status": "shipped",
                "quantity": 3,
                "address_id": "adr_1",
                "upstream_id": null,
                "tracking_url": null,
                "cost": {"amount": "6.90", "currency": "USD"},
            })
        );
        let iccid = Iccid::parse("8943108167001960542").unwrap();
        let low = OutboundEvent::for_usage(&iccid, &usage(100, 10)).unwrap();
        assert_eq!(
            serde_json::to_value(&low).unwrap()["data"],
            json!({
                "iccid": "8943108167001960542",
                "bundle": "esim_1GB",
                "initial_bytes": 100,
                "remaining_bytes": 10,
            })
        );
    }

    #[test]
    fn dedupe_keys_name_the_fact() {
        let completed = OutboundEvent::for_order(order(OrderStatus::Completed)).unwrap();
        assert_eq!(completed.dedupe_key(), "order.completed:ord_1:2");
        let iccid = Iccid::parse("8943108167001960542").unwrap();
        let depleted = OutboundEvent::for_usage(&iccid, &usage(100, 0)).unwrap();
        assert_eq!(
            depleted.dedupe_key(),
            "esim.usage.depleted:8943108167001960542:esim_1GB:1700000000"
        );
        let canceled = OutboundEvent::for_sim_order(sim_order(SimOrderStatus::Canceled));
        assert_eq!(canceled.dedupe_key(), "sim_order.canceled:so_1");
        let low = OutboundEvent::ProviderBalanceLow(balance_low());
        assert_eq!(low.dedupe_key(), "provider.balance.low:esim-go:bal_1");
        assert_eq!(
            serde_json::to_value(&low).unwrap()["data"],
            json!({
                "provider": "esim-go",
                "balance": {"amount": "42.5", "currency": "USD"},
                "threshold": {"amount": "100", "currency": "USD"},
                "read_at": "2023-11-14T22:13:20Z",
            })
        );
        // Only order events name an order, which the store keeps beside them.
        assert_eq!(completed.order_id(), Some(&OrderId("ord_1".into())));
        assert_eq!(depleted.order_id(), None);
        assert_eq!(canceled.order_id(), None);
    }

    #[test]
    fn only_final_orders_and_short_bundles_make_events() {
        assert!(OutboundEvent::for_order(order(OrderStatus::Fulfilling)).is_none());
        let iccid = Iccid::parse("8943108167001960542").unwrap();
        assert!(OutboundEvent::for_usage(&iccid, &usage(100, 11)).is_none());
        let mut unlimited = usage(100, 0);
        unlimited.initial_bytes = None;
        assert!(OutboundEvent::for_usage(&iccid, &unlimited).is_none());
    }
}
