//! A stateful simulator of the eSIM Story partner API: signed order
//! creation with every documented refusal, then one webhook per ordered
//! unit carrying its eSIM, sent to the URL the operator registered.
//!
//! Admin hooks under [`ADMIN_PREFIX`]: `POST /__admin/webhook {"url": ..}`
//! sets where eSIMs are delivered (and delivers what was waiting), `DELETE`
//! switches webhooks off; `GET /__admin/stats`;
//! `POST /__admin/redeliver {"external_order_id": ..}` sends an order's
//! webhooks again, as providers do; `GET /__admin/purchases` lists every
//! order taken (see [`crate::simulator::PurchaseList`]). eSIM Story names an
//! order only by the partner's `external_order_id`, so that is both its
//! reference and its caller reference.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use simgate_domain::Iccid;

use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, PurchaseList, SimulatorHandle, purchases_path, serve,
    with_faults,
};
use simgate_connectors::esim_story::client::{
    ACCESS_KEY_HEADER, DUPLICATE_ORDER, SIGNATURE_HEADER, SIGNATURE_WINDOW_SECS, TIMESTAMP_HEADER,
    WEBHOOK_SECRET_HEADER, signature,
};
use simgate_connectors::esim_story::types::*;
use simgate_connectors::http::secrets_match;

/// The SM-DP+ address of every sandbox eSIM.
pub const SANDBOX_SMDP: &str = "rsp.sandbox.esim-story.simgate.test";
/// The signed path of order creation.
pub const ORDERS_PATH: &str = "/api/v1/api_partner/orders";

/// Configuration of the simulator.
#[derive(Clone)]
pub struct StorySandboxConfig {
    pub access_key: String,
    /// Base64 secret key shared with the partner.
    pub secret_key: String,
    /// Secret every webhook carries in [`WEBHOOK_SECRET_HEADER`].
    pub webhook_secret: String,
    /// Delay between an order and its webhooks.
    pub fulfil_after: Duration,
}

impl Default for StorySandboxConfig {
    fn default() -> Self {
        Self {
            access_key: "sandbox-story-access".to_owned(),
            // base64 of "sandbox-story-secret-key"
            secret_key: "c2FuZGJveC1zdG9yeS1zZWNyZXQta2V5".to_owned(),
            webhook_secret: "sandbox-story-webhook-secret".to_owned(),
            fulfil_after: Duration::from_millis(100),
        }
    }
}

impl std::fmt::Debug for StorySandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorySandboxConfig")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

struct StoryState {
    config: StorySandboxConfig,
    options: Vec<OptionConfig>,
    /// Units by `topup_id`, with the external order id they belong to.
    units: BTreeMap<String, EsimReady>,
    orders: BTreeMap<String, Vec<String>>,
    /// Units whose webhook has not been delivered yet.
    undelivered: Vec<String>,
    webhook_url: Option<String>,
    purchases: usize,
    sold: Vec<Purchase>,
    delivered: usize,
    next_serial: u64,
    rng: StdRng,
}

/// The eSIM Story simulator; clones share one state.
#[derive(Clone)]
pub struct EsimStorySandbox {
    state: Arc<Mutex<StoryState>>,
    faults: Arc<FaultInjector>,
    http: reqwest::Client,
}

impl EsimStorySandbox {
    /// A simulator with a generated set of options.
    pub fn new(config: StorySandboxConfig) -> Self {
        let state = StoryState {
            config,
            options: generate_options(),
            units: BTreeMap::new(),
            orders: BTreeMap::new(),
            undelivered: Vec::new(),
            webhook_url: None,
            purchases: 0,
            sold: Vec::new(),
            delivered: 0,
            next_serial: (Utc::now().timestamp_millis().unsigned_abs() % 10_000_000_000) * 10_000,
            rng: StdRng::seed_from_u64(7),
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

    /// The options this sandbox sells, for the gateway's configuration.
    pub fn options(&self) -> Vec<OptionConfig> {
        self.lock().options.clone()
    }

    /// Orders that bought something.
    pub fn purchases(&self) -> usize {
        self.lock().purchases
    }

    /// Every order taken, oldest first: what `GET /__admin/purchases` lists.
    pub fn sold(&self) -> Vec<Purchase> {
        self.lock().sold.clone()
    }

    /// Webhooks the receiver acknowledged with a 2xx.
    pub fn delivered(&self) -> usize {
        self.lock().delivered
    }

    /// Where webhooks go; delivers the ones that were waiting for a URL.
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        let waiting = {
            let mut state = self.lock();
            state.webhook_url = Some(url.into());
            std::mem::take(&mut state.undelivered)
        };
        self.deliver_later(waiting, Duration::ZERO);
    }

    /// The full router: API, fault injection and admin routes.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route(ORDERS_PATH, post(create_order))
            .fallback(|| async { plain(StatusCode::NOT_FOUND, "Not found") })
            .with_state(self.clone());
        let admin = Router::new()
            .route(
                &format!("{ADMIN_PREFIX}/webhook"),
                post(set_webhook).delete(switch_webhooks_off),
            )
            .route(&format!("{ADMIN_PREFIX}/redeliver"), post(redeliver))
            .route(&format!("{ADMIN_PREFIX}/stats"), get(stats))
            .route(&purchases_path(), get(list_purchases))
            .with_state(self.clone());
        with_faults(api, self.faults.clone(), plain).merge(admin)
    }

    /// Serves on the listener in the background.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> std::io::Result<SimulatorHandle> {
        serve(listener, self.router())
    }

    fn lock(&self) -> MutexGuard<'_, StoryState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends each unit's webhook after `delay`, retrying a few times.
    fn deliver_later(&self, topup_ids: Vec<String>, delay: Duration) {
        if topup_ids.is_empty() {
            return;
        }
        let sandbox = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            for topup_id in topup_ids {
                sandbox.deliver(&topup_id).await;
            }
        });
    }

    async fn deliver(&self, topup_id: &str) {
        let (url, secret, body) = {
            let mut state = self.lock();
            let Some(url) = state.webhook_url.clone() else {
                state.undelivered.push(topup_id.to_owned());
                return;
            };
            let Some(body) = state.units.get(topup_id).cloned() else {
                return;
            };
            (url, state.config.webhook_secret.clone(), body)
        };
        for attempt in 0..3u32 {
            let sent = self
                .http
                .post(&url)
                .header(WEBHOOK_SECRET_HEADER, &secret)
                .json(&body)
                .send()
                .await;
            if sent.is_ok_and(|r| r.status().is_success()) {
                self.lock().delivered += 1;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt + 1))).await;
        }
        tracing::warn!(topup_id, "sandbox could not deliver a webhook");
    }
}

/// eSIM Story's plain error body.
fn plain(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(PlainErrorBody {
            error: message.to_owned(),
        }),
    )
        .into_response()
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(AuthErrorBody {
            error: AuthError {
                code: "unauthorized".to_owned(),
                message: message.to_owned(),
            },
        }),
    )
        .into_response()
}

fn unprocessable(message: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(ValidationErrorBody {
            errors: vec![message.to_owned()],
        }),
    )
        .into_response()
}

/// A handful of options per destination, as an operator would configure.
fn generate_options() -> Vec<OptionConfig> {
    let destinations = ["KR", "JP", "TH", "VN", "SG", "TW", "HK", "US", "FR", "GB"];
    let plans = [
        (Some(1000), 3, "2.50"),
        (Some(3000), 5, "4.20"),
        (Some(10000), 15, "9.90"),
        (None, 7, "12.00"),
    ];
    destinations
        .iter()
        .enumerate()
        .flat_map(|(d, country)| {
            plans
                .iter()
                .enumerate()
                .map(move |(p, (mb, days, price))| OptionConfig {
                    option_id: format!("{:08x}-story-{}-{}", d * 16 + p, country.to_lowercase(), p),
                    name: match mb {
                        Some(mb) => format!("{country} {}GB {days} days", mb / 1000),
                        None => format!("{country} unlimited {days} days"),
                    },
                    countries: vec![(*country).to_owned()],
                    data_mb: *mb,
                    validity_days: *days,
                    price: (*price).to_owned(),
                    currency: "USD".to_owned(),
                })
        })
        .collect()
}

/// Checks the documented request signature; the error is the documented 401 message.
fn authenticate(state: &StoryState, headers: &HeaderMap) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(access_key), Some(signed), Some(timestamp)) = (
        header(ACCESS_KEY_HEADER),
        header(SIGNATURE_HEADER),
        header(TIMESTAMP_HEADER),
    ) else {
        return Err("Missing required authentication headers.");
    };
    if !secrets_match(access_key, &state.config.access_key) {
        return Err(
            "Invalid or missing access key. Please provide a valid X-Esim-Story-Access-Key header.",
        );
    }
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| "Request timestamp is too old or invalid.")?;
    if (Utc::now().timestamp() - timestamp).abs() > SIGNATURE_WINDOW_SECS {
        return Err("Request timestamp is too old or invalid.");
    }
    let expected = signature(
        "POST",
        ORDERS_PATH,
        timestamp,
        access_key,
        &state.config.secret_key,
    )
    .map_err(|_| "Missing secret key in partner record.")?;
    if !secrets_match(&signed.to_ascii_lowercase(), &expected) {
        return Err("Invalid signature.");
    }
    Ok(())
}

impl StoryState {
    fn mint_unit(&mut self, external_order_id: &str, option_id: &str) -> Result<EsimReady, String> {
        self.next_serial += 1;
        let iccid = Iccid::with_check_digit(&format!("8982{:015}", self.next_serial))
            .map_err(|e| e.to_string())?
            .to_string();
        let code: String = (0..32)
            .map(|_| char::from(b"0123456789ABCDEF"[self.rng.random_range(0..16)]))
            .collect();
        let topup_id = format!(
            "{}{:012}",
            Utc::now().format("%Y%m%d%H%M%S"),
            self.next_serial % 1_000_000_000_000
        );
        Ok(EsimReady {
            topup_id,
            option_id: option_id.to_owned(),
            download_link: Some(format!("LPA:1${SANDBOX_SMDP}${code}")),
            qrcode_img_url: None,
            iccid,
            smdp: SANDBOX_SMDP.to_owned(),
            activate_code: code,
            expired_date: Some(
                (Utc::now() + chrono::Duration::days(180))
                    .format("%Y-%m-%d")
                    .to_string(),
            ),
            external_order_id: external_order_id.to_owned(),
        })
    }
}

async fn create_order(
    State(sandbox): State<EsimStorySandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (units, delay) = {
        let mut state = sandbox.lock();
        if let Err(message) = authenticate(&state, &headers) {
            return unauthorized(message);
        }
        let Ok(order) = serde_json::from_slice::<OrderRequest>(&body) else {
            return plain(StatusCode::BAD_REQUEST, "Invalid JSON format");
        };
        if order.external_order_id.trim().is_empty() {
            return unprocessable("External order id can't be blank");
        }
        if order.products.is_empty() {
            return unprocessable("Products can't be blank");
        }
        if order.products.iter().any(|p| p.qty == 0) {
            return unprocessable("Qty must be a positive integer");
        }
        if order
            .products
            .iter()
            .any(|p| !state.options.iter().any(|o| o.option_id == p.option_id))
        {
            return unprocessable("Product with option_id not found");
        }
        if state.orders.contains_key(&order.external_order_id) {
            return unprocessable(DUPLICATE_ORDER);
        }
        let mut units = Vec::new();
        for product in &order.products {
            for _ in 0..product.qty {
                match state.mint_unit(&order.external_order_id, &product.option_id) {
                    Ok(unit) => units.push(unit),
                    Err(failed) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &failed),
                }
            }
        }
        let ids: Vec<String> = units.iter().map(|u| u.topup_id.clone()).collect();
        for unit in &units {
            state.units.insert(unit.topup_id.clone(), unit.clone());
        }
        state.orders.insert(order.external_order_id.clone(), ids);
        state.purchases += 1;
        let skus: Vec<&str> = order
            .products
            .iter()
            .map(|p| p.option_id.as_str())
            .collect();
        let purchase = Purchase::now(
            order.external_order_id.clone(),
            Some(order.external_order_id.clone()),
            skus.join("+"),
            order.products.iter().map(|p| p.qty).sum(),
        );
        state.sold.push(purchase);
        (units, state.config.fulfil_after)
    };
    let answer = OrderResponse {
        products: units
            .iter()
            .map(|u| OrderedUnit {
                topup_id: u.topup_id.clone(),
                option_id: u.option_id.clone(),
            })
            .collect(),
    };
    sandbox.deliver_later(units.into_iter().map(|u| u.topup_id).collect(), delay);
    Json(answer).into_response()
}

#[derive(Debug, Deserialize)]
struct WebhookTarget {
    url: String,
}

async fn set_webhook(
    State(sandbox): State<EsimStorySandbox>,
    Json(target): Json<WebhookTarget>,
) -> StatusCode {
    sandbox.set_webhook_url(target.url);
    StatusCode::NO_CONTENT
}

async fn switch_webhooks_off(State(sandbox): State<EsimStorySandbox>) -> StatusCode {
    sandbox.lock().webhook_url = None;
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct Redeliver {
    external_order_id: String,
}

async fn redeliver(
    State(sandbox): State<EsimStorySandbox>,
    Json(order): Json<Redeliver>,
) -> StatusCode {
    let Some(units) = sandbox.lock().orders.get(&order.external_order_id).cloned() else {
        return StatusCode::NOT_FOUND;
    };
    for topup_id in units {
        sandbox.deliver(&topup_id).await;
    }
    StatusCode::NO_CONTENT
}

async fn list_purchases(State(sandbox): State<EsimStorySandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

async fn stats(State(sandbox): State<EsimStorySandbox>) -> Json<serde_json::Value> {
    let state = sandbox.lock();
    Json(serde_json::json!({
        "purchases": state.purchases,
        "units": state.units.len(),
        "delivered": state.delivered,
        "undelivered": state.undelivered.len(),
    }))
}
