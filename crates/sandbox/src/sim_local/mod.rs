//! A stateful simulator of Sim Local UNITE: OAuth2 client credentials with
//! expiring tokens, destinations, offerings, faulty reasons, and orders that
//! walk the real status sequence on a timer and announce their end by the
//! fulfilment webhook.
//!
//! Admin hooks under [`ADMIN_PREFIX`]: `POST|DELETE /__admin/webhook`
//! (`{"url": ..}`), `GET /__admin/stats`, `POST /__admin/revoke-tokens`,
//! `GET /__admin/purchases` (every order created, with its
//! `external_reference` as the caller reference; see
//! [`crate::simulator::PurchaseList`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use simgate_domain::{CountryCode, Iccid};

use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, PurchaseList, SimulatorHandle, purchases_path, serve,
    with_faults,
};
use simgate_connectors::sim_local::types::*;

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
const WALK: [&str; 5] = [
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

struct SimLocalState {
    config: SimLocalSandboxConfig,
    offerings: Vec<ProductOffering>,
    tokens: BTreeMap<String, Instant>,
    orders: BTreeMap<String, Order>,
    faulty: BTreeMap<String, (String, Option<String>)>,
    webhook_url: Option<String>,
    tokens_issued: usize,
    tokens_rejected: usize,
    purchases: usize,
    sold: Vec<Purchase>,
    webhooks_delivered: usize,
    next_serial: u64,
    rng: StdRng,
}

/// The Sim Local simulator; clones share one state.
#[derive(Clone)]
pub struct SimLocalSandbox {
    state: Arc<Mutex<SimLocalState>>,
    faults: Arc<FaultInjector>,
    http: reqwest::Client,
}

fn problem(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            status: status.as_u16(),
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: message.to_owned(),
        }),
    )
        .into_response()
}

fn generate_offerings() -> Vec<ProductOffering> {
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
            faulty: BTreeMap::new(),
            webhook_url: None,
            tokens_issued: 0,
            tokens_rejected: 0,
            purchases: 0,
            sold: Vec::new(),
            webhooks_delivered: 0,
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

    fn lock(&self) -> MutexGuard<'_, SimLocalState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Walks an order through its statuses, then sends the webhook.
    fn walk(&self, id: String) {
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

    async fn notify(&self, id: &str) {
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
    fn assign_esim(&mut self, id: &str) {
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

async fn issue_token(
    State(sandbox): State<SimLocalSandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| BASE64.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            pair.split_once(':').map(|(id, secret)| {
                let decode = |s: &str| {
                    url::form_urlencoded::parse(format!("x={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (decode(id), decode(secret))
            })
        });
    let (id, secret) = basic.unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    let mut state = sandbox.lock();
    if id != state.config.client_id || secret != state.config.client_secret {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token: String = (0..40)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[state.rng.random_range(0..36)]))
        .collect();
    let lifetime = state.config.token_lifetime;
    state
        .tokens
        .insert(token.clone(), Instant::now() + lifetime);
    state.tokens_issued += 1;
    Json(TokenResponse {
        access_token: token,
        token_type: "bearer".to_owned(),
        expires_in: lifetime.as_secs().max(1),
    })
    .into_response()
}

async fn require_token(
    State(sandbox): State<SimLocalSandbox>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let valid = {
        let mut state = sandbox.lock();
        let valid = token.is_some_and(|t| {
            state
                .tokens
                .get(&t)
                .is_some_and(|expiry| Instant::now() < *expiry)
        });
        if !valid {
            state.tokens_rejected += 1;
        }
        valid
    };
    if !valid {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Full authentication is required to access this resource",
        );
    }
    next.run(request).await
}

async fn destinations(
    State(sandbox): State<SimLocalSandbox>,
    headers: HeaderMap,
) -> Json<Vec<Destination>> {
    let language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("en")
        .to_ascii_lowercase();
    let state = sandbox.lock();
    let mut aliases: Vec<&str> = state
        .offerings
        .iter()
        .flat_map(|o| o.destinations.iter().map(String::as_str))
        .collect();
    aliases.sort_unstable();
    aliases.dedup();
    Json(
        aliases
            .into_iter()
            .enumerate()
            .map(|(i, alias)| {
                let name = CountryCode::parse(alias).map(|c| c.name()).unwrap_or(alias);
                Destination {
                    alias: alias.to_owned(),
                    description: if language.starts_with("fr") {
                        format!("{name} (fr)")
                    } else {
                        name.to_owned()
                    },
                    display_order: i as i64,
                }
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
struct OfferingQuery {
    ssn: Option<String>,
    destination: Option<String>,
}

async fn offerings(
    State(sandbox): State<SimLocalSandbox>,
    Query(query): Query<OfferingQuery>,
) -> Response {
    if let Some(ssn) = &query.ssn
        && Iccid::parse(ssn).is_err()
    {
        return problem(StatusCode::BAD_REQUEST, "Unknown SIM");
    }
    let state = sandbox.lock();
    let list: Vec<ProductOffering> = state
        .offerings
        .iter()
        .filter(|o| {
            query
                .destination
                .as_ref()
                .is_none_or(|d| o.destinations.iter().any(|x| x.eq_ignore_ascii_case(d)))
        })
        // Physical SIMs take the fixed-data offerings only.
        .filter(|o| query.ssn.is_none() || o.data > 0.0)
        .cloned()
        .collect();
    Json(list).into_response()
}

#[derive(Debug, Deserialize)]
struct OrderQuery {
    synchronous: Option<bool>,
}

async fn create_order(
    State(sandbox): State<SimLocalSandbox>,
    Query(query): Query<OrderQuery>,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<CreateOrder>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "Malformed order request");
    };
    let (id, sync_wait) = {
        let mut state = sandbox.lock();
        if !state
            .offerings
            .iter()
            .any(|o| o.id == request.item.product_offering_id)
        {
            return problem(StatusCode::BAD_REQUEST, "Unknown product offering");
        }
        if let Some(reference) = &request.external_reference
            && state
                .orders
                .values()
                .any(|o| o.external_reference.as_ref() == Some(reference))
        {
            return problem(
                StatusCode::CONFLICT,
                "An order with this external_reference already exists",
            );
        }
        let id = uuid::Uuid::new_v4().to_string();
        let order_no: String = (0..10)
            .map(|i| {
                if i == 5 {
                    '-'
                } else {
                    char::from(
                        b"abcdefghijkmnopqrstuvwxyz0123456789"[state.rng.random_range(0..35)],
                    )
                }
            })
            .collect();
        state.orders.insert(
            id.clone(),
            Order {
                id: id.clone(),
                order_no,
                external_reference: request.external_reference.clone(),
                status: WALK[0].to_owned(),
                item: OrderItem {
                    product_offering_id: request.item.product_offering_id.clone(),
                    iccid: None,
                    smdp_address: None,
                    matching_id: None,
                    activation_code: None,
                },
                locale: request.locale.clone(),
            },
        );
        state.purchases += 1;
        let purchase = Purchase::now(
            id.clone(),
            request.external_reference.clone(),
            request.item.product_offering_id.clone(),
            1,
        );
        state.sold.push(purchase);
        (id, state.config.sync_wait)
    };
    sandbox.walk(id.clone());
    if query.synchronous == Some(true) {
        let deadline = Instant::now() + sync_wait;
        while Instant::now() < deadline {
            let done = sandbox
                .lock()
                .orders
                .get(&id)
                .is_some_and(|o| matches!(o.status.as_str(), "COMPLETED" | "FAILED"));
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let order = sandbox.lock().orders.get(&id).cloned();
    match order {
        Some(order) => (StatusCode::CREATED, Json(order)).into_response(),
        None => problem(StatusCode::INTERNAL_SERVER_ERROR, "Order vanished"),
    }
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    external_reference: Option<String>,
}

async fn search_orders(
    State(sandbox): State<SimLocalSandbox>,
    Query(query): Query<SearchQuery>,
) -> Response {
    let Some(reference) = query.external_reference else {
        return problem(StatusCode::BAD_REQUEST, "external_reference is required");
    };
    let content: Vec<Order> = sandbox
        .lock()
        .orders
        .values()
        .filter(|o| o.external_reference.as_ref() == Some(&reference))
        .cloned()
        .collect();
    let total = content.len() as u64;
    Json(OrderPage {
        empty: content.is_empty(),
        content,
        total_pages: u32::from(total > 0),
        total_elements: total,
        last: true,
        first: true,
    })
    .into_response()
}

async fn get_order(State(sandbox): State<SimLocalSandbox>, Path(id): Path<String>) -> Response {
    match sandbox.lock().orders.get(&id) {
        Some(order) => Json(order.clone()).into_response(),
        None => problem(StatusCode::NOT_FOUND, "Order not found"),
    }
}

#[derive(Debug, Deserialize)]
struct FaultyQuery {
    reason: Option<String>,
    note: Option<String>,
}

async fn report_faulty(
    State(sandbox): State<SimLocalSandbox>,
    Path(id): Path<String>,
    Query(query): Query<FaultyQuery>,
) -> Response {
    let Some(reason) = query
        .reason
        .filter(|r| FAULTY_REASONS.contains(&r.as_str()))
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "reason must be one of the faulty reasons",
        );
    };
    let mut state = sandbox.lock();
    let Some(order) = state.orders.get(&id).cloned() else {
        return problem(StatusCode::NOT_FOUND, "Order not found");
    };
    if order.status != "COMPLETED" {
        return problem(
            StatusCode::BAD_REQUEST,
            "Only COMPLETED orders can be reported as faulty",
        );
    }
    state.faulty.insert(id, (reason, query.note));
    Json(order).into_response()
}

#[derive(Debug, Deserialize)]
struct WebhookTarget {
    url: String,
}

async fn set_webhook(
    State(sandbox): State<SimLocalSandbox>,
    Json(target): Json<WebhookTarget>,
) -> StatusCode {
    sandbox.set_webhook_url(Some(target.url));
    StatusCode::NO_CONTENT
}

async fn clear_webhook(State(sandbox): State<SimLocalSandbox>) -> StatusCode {
    sandbox.set_webhook_url(None);
    StatusCode::NO_CONTENT
}

async fn revoke_tokens(State(sandbox): State<SimLocalSandbox>) -> StatusCode {
    sandbox.lock().tokens.clear();
    StatusCode::NO_CONTENT
}

async fn list_purchases(State(sandbox): State<SimLocalSandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

async fn stats(State(sandbox): State<SimLocalSandbox>) -> Json<serde_json::Value> {
    let state = sandbox.lock();
    Json(serde_json::json!({
        "tokens_issued": state.tokens_issued,
        "purchases": state.purchases,
        "webhooks_delivered": state.webhooks_delivered,
        "faulty": state.faulty.len(),
    }))
}
