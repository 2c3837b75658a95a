//! The Telnyx simulator's state: configuration, the in-memory addresses
//! and SIM card orders with their status walk, and the router over them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::{self};
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use simgate_connectors::telnyx::types::{Address, Cost, SIM_CARD_ORDER, SimCardOrder};
use simgate_domain::SimOrderStatus;

use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, SimulatorHandle, purchases_path, serve, with_faults,
};
use crate::telnyx::routes::addresses::*;
use crate::telnyx::routes::admin::*;
use crate::telnyx::routes::order_list::*;
use crate::telnyx::routes::orders::*;
use crate::telnyx::routes::*;

/// The API key the sandbox accepts unless configured otherwise.
pub const DEFAULT_API_KEY: &str = "sandbox-telnyx-key";
/// What one SIM card costs in the sandbox (the documented example: 21 for 2.52).
pub const SIM_CARD_PRICE: Decimal = Decimal::from_parts(12, 0, 0, false, 2);
/// The flat shipping charge of one order.
pub const SHIPPING_PRICE: Decimal = Decimal::from_parts(499, 0, 0, false, 2);
/// Countries the sandbox, like a real carrier, does not ship to.
pub const EMBARGOED: [&str; 4] = ["CU", "IR", "KP", "SY"];
/// What the purchase list calls a physical SIM card.
pub(crate) const SIM_CARD_SKU: &str = "sim_card";
/// Where tracking URLs point.
pub(crate) const TRACKING_BASE: &str = "https://tracking.sandbox.telnyx.simgate.test/";
/// The first address id handed out (an int64 as Telnyx writes them).
pub(crate) const FIRST_ADDRESS_ID: u64 = 1_293_384_261_075_731_499;
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 20;
pub(crate) const MAX_PAGE_SIZE: u32 = 250;

/// Configuration of the simulator.
#[derive(Clone)]
pub struct TelnyxSandboxConfig {
    /// The bearer key every API call must carry (default [`DEFAULT_API_KEY`]).
    pub api_key: String,
    /// How long an order stays in each status before the next (default 2 s).
    pub step: Duration,
    /// Requests per second before 429; `None` (the default) for no limit.
    pub rate_limit: Option<u32>,
}

impl Default for TelnyxSandboxConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_owned(),
            step: Duration::from_secs(2),
            rate_limit: None,
        }
    }
}

impl std::fmt::Debug for TelnyxSandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxSandboxConfig")
            .field("step", &self.step)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}

pub(crate) struct OrderRecord {
    pub(crate) id: String,
    pub(crate) quantity: u32,
    pub(crate) cost: Decimal,
    pub(crate) address: Address,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) canceled_at: Option<DateTime<Utc>>,
    /// The tracking URL shown once shipped, when an admin hook set one
    /// (whatever the provider might send, however odd); else the sandbox's own.
    pub(crate) tracking_url: Option<String>,
}

/// The statuses an order walks through, one per step.
pub(crate) const WALK: [SimOrderStatus; 5] = [
    SimOrderStatus::Pending,
    SimOrderStatus::Processing,
    SimOrderStatus::ReadyToShip,
    SimOrderStatus::Shipped,
    SimOrderStatus::Delivered,
];

impl OrderRecord {
    /// Where the order is at `now`, and since when.
    pub(crate) fn status_at(
        &self,
        now: DateTime<Utc>,
        step: Duration,
    ) -> (SimOrderStatus, DateTime<Utc>) {
        let steps_taken = |at: DateTime<Utc>| {
            let elapsed = (at - self.created_at).to_std().unwrap_or_default();
            let step_ms = step.as_millis().max(1);
            usize::try_from(elapsed.as_millis() / step_ms)
                .unwrap_or(usize::MAX)
                .min(WALK.len() - 1)
        };
        let since = |steps: usize| {
            let offset = step.saturating_mul(u32::try_from(steps).unwrap_or(u32::MAX));
            self.created_at + chrono::Duration::from_std(offset).unwrap_or_default()
        };
        if let Some(at) = self.canceled_at {
            (SimOrderStatus::Canceled, at)
        } else {
            let steps = steps_taken(now);
            (WALK[steps], since(steps))
        }
    }

    pub(crate) fn wire(&self, now: DateTime<Utc>, step: Duration) -> SimCardOrder {
        let (status, updated_at) = self.status_at(now, step);
        let shipped = matches!(status, SimOrderStatus::Shipped | SimOrderStatus::Delivered);
        SimCardOrder {
            id: self.id.clone(),
            record_type: SIM_CARD_ORDER.to_owned(),
            quantity: self.quantity,
            cost: usd(self.cost),
            order_address: Address {
                record_type: None,
                ..self.address.clone()
            },
            tracking_url: shipped.then(|| {
                self.tracking_url
                    .clone()
                    .unwrap_or_else(|| format!("{TRACKING_BASE}{}", self.id))
            }),
            status: status.as_str().to_owned(),
            created_at: timestamp(self.created_at),
            updated_at: timestamp(updated_at),
        }
    }
}

pub(crate) struct RateWindow {
    pub(crate) started: Instant,
    pub(crate) used: u32,
}

pub(crate) struct TelnyxState {
    pub(crate) config: TelnyxSandboxConfig,
    pub(crate) addresses: BTreeMap<String, Address>,
    pub(crate) next_address_id: u64,
    /// In creation order; lists answer newest first.
    pub(crate) orders: Vec<OrderRecord>,
    pub(crate) window: RateWindow,
}

/// The simulator; clones share state.
#[derive(Clone)]
pub struct TelnyxSandbox {
    pub(crate) state: Arc<Mutex<TelnyxState>>,
    pub(crate) faults: Arc<FaultInjector>,
}

impl std::fmt::Debug for TelnyxSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxSandbox").finish_non_exhaustive()
    }
}

impl TelnyxSandbox {
    /// An empty account: no addresses, no orders.
    pub fn new(config: TelnyxSandboxConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(TelnyxState {
                config,
                addresses: BTreeMap::new(),
                next_address_id: FIRST_ADDRESS_ID,
                orders: Vec::new(),
                window: RateWindow {
                    started: Instant::now(),
                    used: 0,
                },
            })),
            faults: Arc::new(FaultInjector::default()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, TelnyxState> {
        self.state.lock().expect("Telnyx sandbox state poisoned")
    }

    /// The full router: the API behind bearer auth, rate limit and faults,
    /// plus admin hooks.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/addresses", post(create_address))
            .route("/sim_card_order_preview", post(preview))
            .route("/sim_card_orders", get(list_orders).post(create_order))
            .route("/sim_card_orders/{id}", get(get_order))
            .fallback(|| async {
                refusal(StatusCode::NOT_FOUND, "10005", "Resource not found", None)
            })
            .layer(middleware::from_fn_with_state(self.clone(), rate_limit))
            .layer(middleware::from_fn_with_state(self.clone(), require_key))
            .with_state(self.clone());
        let admin = Router::new()
            .route(
                &format!("{ADMIN_PREFIX}/sim_card_orders/{{id}}/cancel"),
                post(admin_cancel),
            )
            .route(
                &format!("{ADMIN_PREFIX}/sim_card_orders/{{id}}/tracking_url"),
                post(admin_tracking_url),
            )
            .route(&purchases_path(), get(list_purchases))
            .with_state(self.clone());
        with_faults(api, self.faults.clone(), fault_body).merge(admin)
    }

    /// Serves on the listener in the background.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> std::io::Result<SimulatorHandle> {
        serve(listener, self.router())
    }

    /// How many orders were created: what "never bought twice" is checked by.
    pub fn orders_created(&self) -> usize {
        self.lock().orders.len()
    }

    /// Every order created, oldest first: what `GET /__admin/purchases` lists.
    pub fn sold(&self) -> Vec<Purchase> {
        self.lock()
            .orders
            .iter()
            .map(|o| Purchase {
                reference: o.id.clone(),
                caller_reference: None,
                sku: SIM_CARD_SKU.to_owned(),
                quantity: o.quantity,
                created_at: timestamp(o.created_at),
            })
            .collect()
    }
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn usd(amount: Decimal) -> Cost {
    Cost {
        amount: format!("{amount:.2}"),
        currency: "USD".to_owned(),
    }
}

/// Now, to the millisecond, as Telnyx timestamps are.
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
