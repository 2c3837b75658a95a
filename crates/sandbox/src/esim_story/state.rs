//! The eSIM Story simulator's state: configuration, the configured options,
//! orders and their webhooks, and the router over them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simgate_connectors::esim_story::client::WEBHOOK_SECRET_HEADER;
use simgate_domain::Iccid;

use crate::esim_story::routes::admin::*;
use crate::esim_story::routes::orders::*;
use crate::esim_story::routes::*;
use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, SimulatorHandle, purchases_path, serve, with_faults,
};
use simgate_connectors::esim_story::types::*;

/// The SM-DP+ address of every sandbox eSIM.
pub const SANDBOX_SMDP: &str = "rsp.sandbox.esim-story.simgate.test";
/// The signed path of order creation.
pub const ORDERS_PATH: &str = "/api/v1/api_partner/orders";

/// Where the QR images of the webhooks' `qrcode_img_url` are served,
/// without auth, as the document's image host does.
pub const QR_PATH: &str = "/api/iccid/qrcode/{lpa}/{size}";

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

pub(crate) struct StoryState {
    pub(crate) config: StorySandboxConfig,
    pub(crate) options: Vec<OptionConfig>,
    /// Units by `topup_id`, with the external order id they belong to.
    pub(crate) units: BTreeMap<String, EsimReady>,
    pub(crate) orders: BTreeMap<String, Vec<String>>,
    /// Units whose webhook has not been delivered yet.
    pub(crate) undelivered: Vec<String>,
    pub(crate) webhook_url: Option<String>,
    /// Where the simulator is served (known once spawned): the host of the
    /// webhooks' `qrcode_img_url`.
    pub(crate) base_url: Option<String>,
    pub(crate) purchases: usize,
    pub(crate) sold: Vec<Purchase>,
    pub(crate) delivered: usize,
    pub(crate) next_serial: u64,
    pub(crate) rng: StdRng,
}

/// The eSIM Story simulator; clones share one state.
#[derive(Clone)]
pub struct EsimStorySandbox {
    pub(crate) state: Arc<Mutex<StoryState>>,
    pub(crate) faults: Arc<FaultInjector>,
    pub(crate) http: reqwest::Client,
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
            base_url: None,
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
            .route(QR_PATH, get(qr_image))
            .with_state(self.clone());
        with_faults(api, self.faults.clone(), plain).merge(admin)
    }

    /// Serves on the listener in the background; from then on webhooks
    /// carry a `qrcode_img_url` served here.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> std::io::Result<SimulatorHandle> {
        self.lock().base_url = Some(format!("http://{}", listener.local_addr()?));
        serve(listener, self.router())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, StoryState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends each unit's webhook after `delay`, retrying a few times.
    pub(crate) fn deliver_later(&self, topup_ids: Vec<String>, delay: Duration) {
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

    pub(crate) async fn deliver(&self, topup_id: &str) {
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

/// A handful of options per destination, as an operator would configure.
pub(crate) fn generate_options() -> Vec<OptionConfig> {
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

impl StoryState {
    pub(crate) fn mint_unit(
        &mut self,
        external_order_id: &str,
        option_id: &str,
    ) -> Result<EsimReady, String> {
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
            // The document's URL form, with `$` escaped as in its example.
            qrcode_img_url: self
                .base_url
                .as_ref()
                .map(|base| format!("{base}/api/iccid/qrcode/LPA:1%24{SANDBOX_SMDP}%24{code}/120")),
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
