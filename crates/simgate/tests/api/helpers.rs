//! The test harness: a real simgate on a random port, talking over HTTP to
//! a real eSIM Go sandbox on another, with its own SQLite file (or a fresh
//! PostgreSQL database).

use std::future::Future;
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use simgate::settings::{Settings, WebhookSettings};
use simgate::{Application, EsimGoSettings, EsimStorySettings, HealthSettings, SimLocalSettings};
use simgate_connectors::ProviderKind;
use simgate_domain::orchestration::FxRate;
use simgate_domain::repository::{PricingRepository, TenantRepository};
use simgate_domain::{Currency, ProviderId, TenantId};
use simgate_sandbox::esim_go::{EsimGoSandbox, SandboxConfig};
use simgate_sandbox::esim_story::EsimStorySandbox;
use simgate_sandbox::onsim::{OnsimSandbox, OnsimSandboxConfig};
use simgate_sandbox::sim_local::{SimLocalSandbox, SimLocalSandboxConfig};
use simgate_sandbox::simulator::SimulatorHandle;
use simgate_sandbox::telnyx::{TelnyxSandbox, TelnyxSandboxConfig};
use tempfile::TempDir;
use tokio::net::TcpListener;

/// What the harness's tenant is funded with (USD): more than any test
/// spends, so that only the money tests meet `insufficient_funds`.
pub const TEST_FUNDS: i64 = 10_000_000;

/// A running eSIM Go sandbox and a control handle on its state.
pub struct Sandbox {
    pub handle: SimulatorHandle,
    pub state: EsimGoSandbox,
    pub api_key: String,
}

impl Sandbox {
    pub async fn start() -> Self {
        Self::start_with(SandboxConfig::default()).await
    }

    pub async fn start_with(config: SandboxConfig) -> Self {
        let api_key = config.api_key.clone();
        let state = EsimGoSandbox::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = state.spawn(listener).unwrap();
        Self {
            handle,
            state,
            api_key,
        }
    }

    /// Arms a fault in the sandbox over its admin API.
    pub async fn arm(&self, fault: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/__admin/faults", self.handle.base_url()))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "arming {fault}");
    }

    /// Consumes data on an eSIM, as a device would.
    pub async fn consume(&self, iccid: &str, bytes: u64) {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/__admin/esims/{iccid}/usage",
                self.handle.base_url()
            ))
            .json(&json!({ "bytes": bytes }))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "consume: {}",
            response.status()
        );
    }
}

/// A new tenant with a fresh key and the harness's funds: what
/// `simgate::create_tenant` makes, able to buy. Returns (tenant id, key).
pub async fn funded_tenant(store: &simgate_store::Store, name: &str) -> (String, String) {
    let (id, key) = simgate::create_tenant(store, name).await.unwrap();
    simgate::fund_tenant(store, &id, TEST_FUNDS.into(), "test-funds")
        .await
        .unwrap();
    (id, key)
}

/// Knobs a test may turn.
#[derive(Clone)]
pub struct Options {
    pub upstream_timeout_secs: u64,
    pub reconcile_after_secs: u64,
    pub reconcile_every_secs: u64,
    /// `[jobs] reconcile_backoff_max_secs`: short by default, so that a
    /// test's fault cleared is seen within a pass or two.
    pub reconcile_backoff_max_secs: u64,
    /// `[jobs] delivery_sweep_after_secs`: the production default unless a
    /// test of lost deliveries shortens it.
    pub delivery_sweep_after_secs: u64,
    /// `[jobs] webhook_retry_after_secs`.
    pub webhook_retry_after_secs: u64,
    pub database_url: Option<String>,
    /// Time between two steps of a Telnyx SIM order's life.
    pub telnyx_step: Duration,
    /// The circuit breaker's tuning (`[health]`).
    pub health: HealthSettings,
    /// Run as `serve --sandbox` does: the console's faults panel reaches
    /// every simulator.
    pub sandbox_mode: bool,
    /// Give the FX table a GBP → USD rate at start, so that the tenant's
    /// USD account can hold sales of Sim Local's GBP products. Off for the
    /// tests of prices no rate converts.
    pub gbp_rate: bool,
    /// `[webhooks]`: by default the test key seals endpoint secrets
    /// ([`test_webhook_settings`]); private targets are always allowed.
    pub webhooks: WebhookSettings,
    /// `[jobs] provider_balance_secs`: how often balances are read at the latest.
    pub provider_balance_secs: u64,
    /// `[balances] low_threshold` of eSIM Go.
    pub esim_go_balance_low: Option<&'static str>,
    /// `[limits]`: the defaults unless a test lowers them.
    pub limits: simgate::settings::LimitSettings,
    /// `[retention]`: the defaults unless a test shortens the schedule.
    pub retention: simgate::settings::RetentionSettings,
}

/// The key id and key (base64 of 32 bytes) test apps seal secrets with.
pub const TEST_SECRET_KEY_ID: &str = "test";
pub const TEST_SECRET_KEY: &str = "dGVzdC1rZXktc2VhbGluZy1lbmRwb2ludC1zZWNyZXQ=";

/// `[webhooks]` sealing with the test key, the default overlap.
pub fn test_webhook_settings() -> WebhookSettings {
    let mut settings = WebhookSettings {
        secret_key_id: Some(TEST_SECRET_KEY_ID.to_owned()),
        ..WebhookSettings::default()
    };
    settings
        .secret_keys
        .insert(TEST_SECRET_KEY_ID.to_owned(), TEST_SECRET_KEY.into());
    settings
}

impl Default for Options {
    fn default() -> Self {
        Self {
            upstream_timeout_secs: 5,
            reconcile_after_secs: 6,
            reconcile_every_secs: 1,
            reconcile_backoff_max_secs: 2,
            delivery_sweep_after_secs: 120,
            webhook_retry_after_secs: 30,
            database_url: None,
            telnyx_step: Duration::from_millis(100),
            health: HealthSettings::default(),
            sandbox_mode: false,
            gbp_rate: true,
            webhooks: test_webhook_settings(),
            provider_balance_secs: 300,
            esim_go_balance_low: None,
            limits: simgate::settings::LimitSettings::default(),
            retention: simgate::settings::RetentionSettings::default(),
        }
    }
}

impl Options {
    /// The defaults without the harness's GBP → USD rate: for the tests of
    /// what no FX rate converts.
    pub fn without_fx() -> Self {
        Self {
            gbp_rate: false,
            ..Self::default()
        }
    }
}

/// simgate under test.
pub struct TestApp {
    pub address: String,
    pub api_key: String,
    pub client: reqwest::Client,
    pub sandbox: Sandbox,
    /// The eSIM Story sandbox, delivering its webhooks to this app.
    pub story: EsimStorySandbox,
    pub story_handle: SimulatorHandle,
    /// The Sim Local sandbox, delivering its webhooks to this app.
    pub sim_local: SimLocalSandbox,
    pub sim_local_handle: SimulatorHandle,
    /// The Telnyx SIM card order sandbox.
    pub telnyx: TelnyxSandbox,
    pub telnyx_handle: SimulatorHandle,
    /// The ONSIM subscriber line sandbox.
    pub onsim: OnsimSandbox,
    pub onsim_handle: SimulatorHandle,
    pub app: Application,
    _dir: TempDir,
}

/// The operator key every test app is configured with (`admin_api_key`).
pub const OPERATOR_KEY: &str = "op_test_4f1c2b9e8d7a6c5b4a3f2e1d";

/// Builds settings for an app on a random port against `sandbox`.
pub fn settings_for(sandbox: &Sandbox, dir: &TempDir, options: &Options) -> Settings {
    let mut settings = Settings {
        listen: ([127, 0, 0, 1], 0).into(),
        database_url: options
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("simgate.db").display())),
        ..Settings::default()
    };
    settings.providers.esim_go = Some(EsimGoSettings {
        base_url: sandbox.handle.base_url(),
        api_key: sandbox.api_key.clone().into(),
        timeout_secs: options.upstream_timeout_secs,
        accept_unsigned_callbacks: false,
    });
    settings.jobs.reconcile_every_secs = options.reconcile_every_secs;
    settings.jobs.reconcile_after_secs = options.reconcile_after_secs;
    settings.jobs.reconcile_backoff_max_secs = options.reconcile_backoff_max_secs;
    settings.jobs.delivery_backoff_ms = 200;
    settings.jobs.delivery_sweep_after_secs = options.delivery_sweep_after_secs;
    settings.jobs.webhook_retry_after_secs = options.webhook_retry_after_secs;
    settings.health = options.health;
    settings.jobs.provider_balance_secs = options.provider_balance_secs;
    if let Some(threshold) = options.esim_go_balance_low {
        settings
            .balances
            .low_threshold
            .insert(ProviderId::EsimGo, threshold.parse().unwrap());
    }
    settings.limits = options.limits;
    settings.retention = options.retention;
    settings.admin_api_key = Some(OPERATOR_KEY.into());
    settings.webhooks = options.webhooks.clone();
    // Test receivers listen on 127.0.0.1, which production refuses.
    settings.webhooks.allow_private_targets = true;
    settings
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        let sandbox = Sandbox::start().await;
        let dir = tempfile::tempdir().unwrap();
        let (story_handle, story, story_settings) =
            simgate::start_esim_story_sandbox(([127, 0, 0, 1], 0).into())
                .await
                .unwrap();
        let mut settings = settings_for(&sandbox, &dir, &options);
        settings.providers.esim_story = Some(EsimStorySettings {
            timeout_secs: options.upstream_timeout_secs,
            ..story_settings
        });
        let (sim_local_handle, sim_local, sim_local_settings) = simgate::start_sim_local_sandbox(
            ([127, 0, 0, 1], 0).into(),
            SimLocalSandboxConfig {
                step: Duration::from_millis(30),
                ..SimLocalSandboxConfig::default()
            },
        )
        .await
        .unwrap();
        settings.providers.sim_local = Some(SimLocalSettings {
            timeout_secs: options.upstream_timeout_secs,
            ..sim_local_settings
        });
        let (telnyx_handle, telnyx, telnyx_settings) = simgate::start_telnyx_sandbox(
            ([127, 0, 0, 1], 0).into(),
            TelnyxSandboxConfig {
                step: options.telnyx_step,
                ..TelnyxSandboxConfig::default()
            },
        )
        .await
        .unwrap();
        settings.providers.telnyx = Some(telnyx_settings);
        let (onsim_handle, onsim, onsim_settings) =
            simgate::start_onsim_sandbox(([127, 0, 0, 1], 0).into(), OnsimSandboxConfig::default())
                .await
                .unwrap();
        settings.providers.onsim = Some(onsim_settings);
        for provider in simgate::providers::all() {
            assert!(
                provider.is_configured(&settings.providers),
                "the harness runs every provider of the table: {} is missing",
                provider.descriptor.id
            );
        }
        let simulators = options.sandbox_mode.then(|| {
            let list = [
                (ProviderId::EsimGo, &sandbox.handle),
                (ProviderId::EsimStory, &story_handle),
                (ProviderId::SimLocal, &sim_local_handle),
                (ProviderId::Telnyx, &telnyx_handle),
                (ProviderId::Onsim, &onsim_handle),
            ]
            .map(|(provider, handle)| simgate_console::Simulator {
                provider,
                base_url: handle.base_url(),
            });
            simgate_console::Simulators::new(list.into()).unwrap()
        });
        let app = Application::start_with(&settings, simulators)
            .await
            .expect("simgate starts");
        story.set_webhook_url(simgate::webhook_url(&app, ProviderId::EsimStory));
        sim_local.set_webhook_url(Some(simgate::webhook_url(&app, ProviderId::SimLocal)));
        sandbox
            .state
            .set_callback_url(Some(simgate::webhook_url(&app, ProviderId::EsimGo)));
        let (tenant_id, api_key) = simgate::create_tenant(app.store(), "test reseller")
            .await
            .unwrap();
        simgate::fund_tenant(app.store(), &tenant_id, TEST_FUNDS.into(), "test-funds")
            .await
            .unwrap();
        if options.gbp_rate {
            let rate = FxRate {
                base: Currency::parse("GBP").unwrap(),
                quote: Currency::USD,
                rate: "1.25".parse().unwrap(),
            };
            app.store().put_fx_rates(&[rate], false).await.unwrap();
        }
        let test = Self {
            address: format!("http://{}", app.addr()),
            api_key,
            client: reqwest::Client::new(),
            sandbox,
            story,
            story_handle,
            sim_local,
            sim_local_handle,
            telnyx,
            telnyx_handle,
            onsim,
            onsim_handle,
            app,
            _dir: dir,
        };
        test.wait_for_catalogue().await;
        test
    }

    /// Waits until the start-up catalogue sync has stored every eSIM
    /// provider's catalogue (eSIM Go's with its thousands of bundles).
    pub async fn wait_for_catalogue(&self) {
        eventually(Duration::from_secs(120), || async {
            let body: Value = self.get("/v1/providers").await.json().await.ok()?;
            let providers = body["data"].as_array()?;
            let catalogues: Vec<&Value> = providers
                .iter()
                .filter(|p| {
                    p["capabilities"]
                        .as_array()
                        .is_some_and(|c| c.contains(&json!("catalogue")))
                })
                .collect();
            let synced = catalogues.len() == esim_providers()
                && catalogues.iter().all(|p| {
                    let products = p["catalogue_products"].as_u64().unwrap_or(0);
                    products >= if p["id"] == "esim-go" { 5000 } else { 1 }
                });
            synced.then_some(())
        })
        .await;
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap()
    }

    /// GETs a JSON body, whatever the status.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    /// Sends a body with any method.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Response {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.api_key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(format!("{}{path}", self.address))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value, idempotency_key: Option<&str>) -> Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(&self.api_key)
            .json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.unwrap()
    }

    /// The id of the tenant whose key the test client uses.
    pub async fn tenant_id(&self) -> TenantId {
        let tenant = self
            .app
            .store()
            .tenant_by_api_key(&self.api_key)
            .await
            .unwrap()
            .unwrap();
        TenantId::from_stored(tenant.id)
    }

    /// The cheapest eSIM Go product for a country.
    pub async fn cheapest(&self, country: &str) -> String {
        self.cheapest_from("esim-go", country).await
    }

    /// The cheapest product of a provider for a country.
    pub async fn cheapest_from(&self, provider: &str, country: &str) -> String {
        let body = self
            .get_json(&format!(
                "/v1/products?country={country}&provider={provider}&limit=1"
            ))
            .await;
        body["data"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Orders one eSIM and returns the order.
    pub async fn order(&self, product: &str, key: &str) -> Value {
        let response = self
            .post("/v1/orders", &json!({ "product_id": product }), Some(key))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    /// Polls an order until it reaches a final status.
    pub async fn wait_for_order(&self, id: &str, status: &str) -> Value {
        eventually(Duration::from_secs(60), || async {
            let order: Value = self
                .get(&format!("/v1/orders/{id}"))
                .await
                .json()
                .await
                .ok()?;
            (order["status"] == status).then_some(order)
        })
        .await
    }
}

/// How many providers of the table sell eSIMs, each with a catalogue.
fn esim_providers() -> usize {
    simgate::providers::all()
        .filter(|p| p.descriptor.kind == ProviderKind::Esim)
        .count()
}

/// Asserts a problem response: status, content type and stable code.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "expected {code}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "problem content type for {code}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].as_str().unwrap().ends_with(code));
    body
}

/// Polls `check` until it yields a value; fails the test after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
