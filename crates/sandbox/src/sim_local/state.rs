//! The Sim Local simulator's state: configuration, tokens, the generated
//! product offerings and the orders walking to fulfilment, and the router
//! over them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::middleware::{self};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simgate_connectors::sim_local::types::*;
use simgate_domain::Iccid;

use crate::sim_local::routes::admin::*;
use crate::sim_local::routes::auth::*;
use crate::sim_local::routes::catalogue::*;
use crate::sim_local::routes::orders::*;
use crate::sim_local::routes::*;
use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, SimulatorHandle, purchases_path, serve, with_faults,
};

/// The SM-DP+ address of every sandbox eSIM.
pub const SANDBOX_SMDP: &str = "smdp.sandbox.sim-local.simgate.test";
/// Where the sandbox issues tokens.
pub const TOKEN_PATH: &str = "/oauth/token";
/// The faulty reasons UNITE lists.
pub const FAULTY_REASONS: [&str; 7] = [
    "FAULTY_SIM",
    "PHONE_IS_LOCKED",
    "WRONG_PRODUCT_SELECTED",
    "BUNDLE_DID_NOT_APPLY",
    "NO_SERVICE",
    "CUSTOMER_CHANGED_MIND",
    "OTHER",
];
/// Offerings whose orders end `FAILED`, to exercise failures.
pub const FAILING_OFFERING: &str = "sl-fail-0000";
/// The status walk of a successful order.
pub(crate) const WALK: [&str; 5] = [
    "CREATED",
    "PURCHASED",
    "PROCESSING_OBTAINING_ACTIVATION_CODE",
    "PROCESSING_WAITING_NETWORK_ACTIVATION",
    "COMPLETED",
];

/// Configuration of the simulator.
#[derive(Clone)]
pub struct SimLocalSandboxConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of issued tokens.
    pub token_lifetime: Duration,
    /// API key sent with every fulfilment webhook.
    pub webhook_api_key: String,
    pub webhook_header: String,
    /// Time between two steps of an order's status walk.
    pub step: Duration,
    /// Longest server-side wait of `synchronous=true`.
    pub sync_wait: Duration,
}

impl Default for SimLocalSandboxConfig {
    fn default() -> Self {
        Self {
            client_id: "sandbox-sim-local".to_owned(),
            client_secret: "sandbox-sim-local-secret".to_owned(),
            token_lifetime: Duration::from_secs(3600),
            webhook_api_key: "sandbox-sim-local-webhook-key".to_owned(),
            webhook_header: "x-api-key".to_owned(),
            step: Duration::from_millis(50),
            sync_wait: Duration::from_secs(50),
        }
    }
}

impl std::fmt::Debug for SimLocalSandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimLocalSandboxConfig")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

pub(crate) struct SimLocalState {
    pub(crate) config: SimLocalSandboxConfig,
    pub(crate) offerings: Vec<ProductOffering>,
    pub(crate) tokens: BTreeMap<String, Instant>,
    pub(crate) orders: BTreeMap<String, Order>,
    /// Per order id, the documented fields the client's `Order` does not
    /// carry (`payment_details`, `kyc_details`, `contact_name`,
    /// `contact_email`), kept as sent and answered back.
    pub(crate) details: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    pub(crate) faulty: BTreeMap<String, (String, Option<String>)>,
    pub(crate) webhook_url: Option<String>,
    pub(crate) tokens_issued: usize,
    pub(crate) tokens_rejected: usize,
    pub(crate) purchases: usize,
    pub(crate) sold: Vec<Purchase>,
    pub(crate) webhooks_delivered: usize,
    pub(crate) next_serial: u64,
    /// The order search ignores `external_reference` and answers every
    /// order (`POST /__admin/loose-search`): a provider whose filter is
    /// broken, which a client must not trust.
    pub(crate) loose_search: bool,
    pub(crate) rng: StdRng,
}

/// The Sim Local simulator; clones share one state.
#[derive(Clone)]
pub struct SimLocalSandbox {
    pub(crate) state: Arc<Mutex<SimLocalState>>,
    pub(crate) faults: Arc<FaultInjector>,
    pub(crate) http: reqwest::Client,
}

pub(crate) fn generate_offerings() -> Vec<ProductOffering> {
    let destinations = ["GB", "FR", "ES", "IT", "DE", "US", "JP", "TH", "AU", "AE"];
    let plans = [
        (1.0, 7, 4.5),
        (5.0, 30, 12.0),
        (10.0, 30, 19.5),
        (-1.0, 15, 35.0),
    ];
    let mut offerings: Vec<ProductOffering> = destinations
        .iter()
        .enumerate()
        .flat_map(|(d, dest)| {
            plans
                .iter()
                .enumerate()
                .map(move |(p, (gb, days, price))| ProductOffering {
                    id: format!("sl-{}-{d:02}{p:02}", dest.to_lowercase()),
                    destinations: vec![(*dest).to_owned()],
                    description: format!(
                        "{} data for {days} days",
                        if *gb < 0.0 {
                            "Unlimited".to_owned()
                        } else {
                            format!("{gb}GB")
                        }
                    ),
                    operator_logo: Some("Truphone".to_owned()),
                    network_operator: Some("EE".to_owned()),
                    name: format!(
                        "{dest} {}",
                        if *gb < 0.0 {
                            "Unlimited".to_owned()
                        } else {
                            format!("{gb}GB")
                        }
                    ),
                    sku: Some(format!("44-{d:02}-{p}-SLR")),
                    version: Some("2".to_owned()),
                    data: *gb,
                    call_local: false,
                    call_local_minutes: 0,
                    call_international: false,
                    call_international_minutes: 0,
                    sms: 0,
                    bundle_validity: *days,
                    featured: p == 0,
                    pricings: vec![Pricing {
                        price: *price,
                        recommended_retail_price: Some(price * 2.0),
                        vat_percentage: Some(20.0),
                        currency: "GBP".to_owned(),
                    }],
                })
        })
        .collect();
    offerings.push(ProductOffering {
        id: FAILING_OFFERING.to_owned(),
        destinations: vec!["GB".to_owned()],
        description: "Always fails to provision (sandbox)".to_owned(),
        operator_logo: None,
        network_operator: None,
        name: "GB Failing".to_owned(),
        sku: None,
        version: None,
        data: 1.0,
        call_local: false,
        call_local_minutes: 0,
        call_international: false,
        call_international_minutes: 0,
        sms: 0,
        bundle_validity: 7,
        featured: false,
        pricings: vec![Pricing {
            price: 9.99,
            recommended_retail_price: None,
            vat_percentage: None,
            currency: "GBP".to_owned(),
        }],
    });
    offerings
}

impl SimLocalSandbox {
    /// A simulator with generated offerings.
    pub fn new(config: SimLocalSandboxConfig) -> Self {
        let state = SimLocalState {
            config,
            offerings: generate_offerings(),
            tokens: BTreeMap::new(),
            orders: BTreeMap::new(),
            details: BTreeMap::new(),
            faulty: BTreeMap::new(),
            webhook_url: None,
            tokens_issued: 0,
            tokens_rejected: 0,
            purchases: 0,
            sold: Vec::new(),
            webhooks_delivered: 0,
            loose_search: false,
            next_serial: (chrono::Utc::now().timestamp_millis().unsigned_abs() % 10_000_000_000)
                * 1000,
            rng: StdRng::seed_from_u64(11),
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            faults: Arc::new(FaultInjector::default()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a client with a timeout always builds"),
        }
    }

    /// Tokens issued so far: proof that they are cached and refreshed.
    pub fn tokens_issued(&self) -> usize {
        self.lock().tokens_issued
    }

    /// Calls refused for a missing, unknown or expired token.
    pub fn tokens_rejected(&self) -> usize {
        self.lock().tokens_rejected
    }

    /// Orders created.
    pub fn purchases(&self) -> usize {
        self.lock().purchases
    }

    /// Every order created, oldest first: what `GET /__admin/purchases` lists.
    pub fn sold(&self) -> Vec<Purchase> {
        self.lock().sold.clone()
    }

    /// The faulty report of an order, if one was made: its reason and note.
    pub fn faulty_report(&self, order_id: &str) -> Option<(String, Option<String>)> {
        self.lock().faulty.get(order_id).cloned()
    }

    /// Fulfilment webhooks the receiver acknowledged.
    pub fn webhooks_delivered(&self) -> usize {
        self.lock().webhooks_delivered
    }

    /// Where fulfilment webhooks go (`None`: switched off).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.lock().webhook_url = url;
    }

    /// The full router.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/destinations", get(destinations))
            .route("/product-offerings", get(offerings))
            .route("/faulty-reasons", get(|| async { Json(FAULTY_REASONS) }))
            .route("/orders", post(create_order).get(search_orders))
            .route("/orders/{id}", get(get_order))
            .route("/orders/{id}/faulty", post(report_faulty))
            .route_layer(middleware::from_fn_with_state(self.clone(), require_token))
            .route(TOKEN_PATH, post(issue_token))
            .fallback(|| async { problem(StatusCode::NOT_FOUND, "No such endpoint") })
            .with_state(self.clone());
        let admin = Router::new()
            .route(
                &format!("{ADMIN_PREFIX}/webhook"),
                post(set_webhook).delete(clear_webhook),
            )
            .route(&format!("{ADMIN_PREFIX}/stats"), get(stats))
            .route(
                &format!("{ADMIN_PREFIX}/loose-search"),
                post(set_loose_search),
            )
            .route(&purchases_path(), get(list_purchases))
            .route(
                &format!("{ADMIN_PREFIX}/revoke-tokens"),
                post(revoke_tokens),
            )
            .with_state(self.clone());
        with_faults(api, self.faults.clone(), problem).merge(admin)
    }

    /// Serves on the listener in the background.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> std::io::Result<SimulatorHandle> {
        serve(listener, self.router())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SimLocalState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Walks an order through its statuses, then sends the webhook.
    pub(crate) fn walk(&self, id: String) {
        let sandbox = self.clone();
        tokio::spawn(async move {
            let step = sandbox.lock().config.step;
            loop {
                tokio::time::sleep(step).await;
                let finished = {
                    let mut state = sandbox.lock();
                    let fails = state
                        .orders
                        .get(&id)
                        .is_some_and(|o| o.item.product_offering_id == FAILING_OFFERING);
                    let current = state
                        .orders
                        .get(&id)
                        .map(|o| o.status.clone())
                        .unwrap_or_default();
                    let position = WALK.iter().position(|s| *s == current);
                    let next = match (position, fails) {
                        (Some(1), true) => "FAILED",
                        (Some(p), _) if p + 1 < WALK.len() => WALK[p + 1],
                        _ => break,
                    };
                    if next == "PROCESSING_OBTAINING_ACTIVATION_CODE" {
                        state.assign_esim(&id);
                    }
                    if let Some(order) = state.orders.get_mut(&id) {
                        order.status = next.to_owned();
                    }
                    matches!(next, "COMPLETED" | "FAILED")
                };
                if finished {
                    sandbox.notify(&id).await;
                    break;
                }
            }
        });
    }

    pub(crate) async fn notify(&self, id: &str) {
        let (url, header_name, key, status) = {
            let state = self.lock();
            let Some(url) = state.webhook_url.clone() else {
                return;
            };
            let status = state
                .orders
                .get(id)
                .map(|o| o.status.clone())
                .unwrap_or_default();
            (
                url,
                state.config.webhook_header.clone(),
                state.config.webhook_api_key.clone(),
                status,
            )
        };
        let body = FulfilmentWebhook {
            order_id: id.to_owned(),
            status,
        };
        let sent = self
            .http
            .post(url)
            .header(header_name, key)
            .json(&body)
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().is_success()) {
            self.lock().webhooks_delivered += 1;
        }
    }
}

impl SimLocalState {
    pub(crate) fn assign_esim(&mut self, id: &str) {
        self.next_serial += 1;
        let Ok(iccid) = Iccid::with_check_digit(&format!("8944{:014}", self.next_serial)) else {
            return;
        };
        let matching: String = (0..20)
            .map(|_| char::from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[self.rng.random_range(0..32)]))
            .collect();
        if let Some(order) = self.orders.get_mut(id) {
            order.item.iccid = Some(iccid.to_string());
            order.item.smdp_address = Some(SANDBOX_SMDP.to_owned());
            order.item.matching_id = Some(matching);
        }
    }
}
