//! Wiring of a running simgate: configuration in, a listening server with
//! its background jobs out. The CLI (`main.rs`) and the integration tests
//! start simgate the same way, through [`Application::start`].

pub mod fx;
pub mod providers;
pub mod reconcile;
pub mod server;
pub mod settings;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use simgate_api::AppState;
use simgate_api::operator::OperatorKey;
use simgate_connectors::ConnectorRegistry;
use simgate_connectors::health::HealthRegistry;
use simgate_domain::ProviderId;
use simgate_domain::entities::NewCredit;
use simgate_domain::repository::{AccountRepository, TenantRepository};
use simgate_sandbox::esim_go::{EsimGoSandbox, SandboxConfig};
use simgate_sandbox::esim_story::{EsimStorySandbox, StorySandboxConfig};
use simgate_sandbox::onsim::{OnsimSandbox, OnsimSandboxConfig};
use simgate_sandbox::sim_local::TOKEN_PATH;
use simgate_sandbox::sim_local::{SimLocalSandbox, SimLocalSandboxConfig};
use simgate_sandbox::simulator::SimulatorHandle;
use simgate_sandbox::telnyx::{TelnyxSandbox, TelnyxSandboxConfig};
use simgate_service::jobs::{BackgroundJobs, JobSchedule};
use simgate_service::queue::ApalisQueue;
use simgate_service::{ServiceConfig, Services};
use simgate_store::Store;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use settings::{
    BearerSettings, EsimGoSettings, EsimStorySettings, HealthSettings, LogFormat, Settings,
    SimLocalSettings,
};

/// Why simgate could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error("database: {0}")]
    Store(#[from] simgate_store::StoreError),
    #[error("database: {0}")]
    Repository(#[from] simgate_domain::entities::RepositoryError),
    #[error(transparent)]
    Queue(#[from] simgate_service::queue::QueueError),
    #[error(transparent)]
    OperatorKey(#[from] simgate_api::operator::OperatorKeyError),
    #[error(transparent)]
    DeliveryClient(#[from] simgate_service::webhook_targets::DeliveryClientError),
    #[error(transparent)]
    Service(#[from] simgate_service::ServiceError),
    /// `[webhooks] secret_keys` / `secret_key_id` cannot be used.
    #[error(transparent)]
    SecretKeys(#[from] simgate_service::secret_keys::SecretKeyError),
    /// The `[health]` tuning is meaningless (a zero window, …).
    #[error(transparent)]
    Health(#[from] simgate_domain::orchestration::HealthConfigError),
    /// A provider's settings cannot be used (a bad base URL, …).
    #[error("provider settings: {0}")]
    Connector(#[from] simgate_connectors::ConnectorError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Builds the connector registry from the provider settings: every
/// configured provider of the table ([`providers::all`]), their health
/// judged under the `[health]` tuning (refused when meaningless). An empty
/// webhook or callback secret is refused.
pub fn connectors(settings: &Settings) -> Result<ConnectorRegistry, StartError> {
    settings.providers.check_webhook_secrets()?;
    let health = HealthRegistry::new(settings.health.config())?;
    let mut registry = ConnectorRegistry::with_health(health);
    for provider in providers::all() {
        if let Some(registration) = (provider.connector)(&settings.providers)? {
            registry.add(registration);
        }
    }
    Ok(registry)
}

/// Checks what [`Application::start`] would refuse in the settings, without
/// connecting anywhere: the operator key, the endpoint secret keys, every
/// provider's settings and the health tuning (`simgate config check`).
pub fn check_settings(settings: &Settings) -> Result<(), StartError> {
    if let Some(key) = &settings.admin_api_key {
        OperatorKey::new(key)?;
    }
    settings.webhooks.secret_keys()?;
    connectors(settings)?;
    Ok(())
}

/// Connects the store and the delivery queue, and builds the use-case layer
/// over them. The store is returned too: the use cases reach it only through
/// the repository traits, and the wiring that owns it closes it.
pub async fn services(settings: &Settings) -> Result<(Services, ApalisQueue, Store), StartError> {
    let store = Store::connect(&settings.database_url).await?;
    // A call still in flight must never look lost: reconcile only after
    // the longest provider timeout has surely expired.
    let longest_timeout = providers::longest_timeout_secs(&settings.providers);
    let reconcile_after = settings.jobs.reconcile_after_secs.max(longest_timeout + 1);
    let config = ServiceConfig {
        reconcile_after: Duration::from_secs(reconcile_after),
        reconcile_backoff_max: Duration::from_secs(settings.jobs.reconcile_backoff_max_secs.max(1)),
        delivery_backoff: Duration::from_millis(settings.jobs.delivery_backoff_ms.max(1)),
        delivery_sweep_after: Duration::from_secs(settings.jobs.delivery_sweep_after_secs.max(1)),
        webhook_retry_after: Duration::from_secs(settings.jobs.webhook_retry_after_secs.max(1)),
        allow_private_webhook_targets: settings.webhooks.allow_private_targets,
        auth_cache_ttl: Duration::from_secs(settings.auth.cache_seconds),
        refund_policy: settings.money.refund_policy,
        secret_overlap: Duration::from_secs(settings.webhooks.secret_overlap_secs),
        limits: settings.limits.config(),
        ..ServiceConfig::default()
    };
    let secret_keys = settings.webhooks.secret_keys()?;
    let queue = ApalisQueue::connect(&settings.database_url).await?;
    Ok((
        Services::new(
            Arc::new(store.clone()),
            connectors(settings)?,
            Arc::new(queue.clone()),
            config,
        )?
        .with_secret_keys(secret_keys)
        .with_balance_thresholds(settings.balances.low_threshold.clone()),
        queue,
        store,
    ))
}

/// A running simgate: the HTTP server and its background jobs.
pub struct Application {
    addr: SocketAddr,
    services: Services,
    /// The database the services use, closed on stop.
    store: Store,
    jobs: Option<BackgroundJobs>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    /// The `metrics_listen` server, when configured: where and its task.
    metrics_server: Option<(SocketAddr, JoinHandle<()>)>,
    /// How long [`Application::stop`] lets requests and jobs finish.
    shutdown_grace: Duration,
}

impl Application {
    /// Connects the database, starts the jobs and begins serving.
    pub async fn start(settings: &Settings) -> Result<Self, StartError> {
        Self::start_with(settings, None).await
    }

    /// [`Application::start`] for `serve --sandbox`: `simulators` are the
    /// in-process simulators the providers are configured against, whose
    /// faults the console's panel (`/console/faults`) arms.
    pub async fn start_with(
        settings: &Settings,
        simulators: Option<simgate_console::Simulators>,
    ) -> Result<Self, StartError> {
        let operator_key = match &settings.admin_api_key {
            Some(key) => OperatorKey::new(key)?,
            None => OperatorKey::none(),
        };
        let (services, queue, store) = services(settings).await?;
        // Every stored endpoint secret must be readable, and is left sealed
        // under the current key: a removed key stops the start, not deliveries.
        services.reseal_endpoint_secrets().await?;
        // The catalogue stored earlier is searched from memory at once;
        // without it, searches read the store until the index job builds it.
        if let Err(error) = services.refresh_catalogue_index().await {
            tracing::warn!(%error, "catalogue index not built at start");
        }
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: settings.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: settings.listen,
            source,
        })?;
        let jobs = BackgroundJobs::start(
            services.clone(),
            JobSchedule {
                catalogue_every: Duration::from_secs(settings.jobs.catalogue_sync_secs.max(1)),
                catalogue_retry_every: Duration::from_secs(
                    settings.jobs.catalogue_retry_secs.max(1),
                ),
                reconcile_every: Duration::from_secs(settings.jobs.reconcile_every_secs.max(1)),
                provider_balance_every: Duration::from_secs(
                    settings.jobs.provider_balance_secs.max(1),
                ),
                retention_every: Duration::from_secs(settings.retention.purge_every_secs.max(1)),
                retention: settings.retention.retention(),
            },
            &queue,
        );
        let metrics_server = match settings.metrics_listen {
            Some(listen) => Some(serve_metrics(listen, &settings.server, services.clone()).await?),
            None => None,
        };
        let console = simgate_console::router(simgate_console::ConsoleState {
            services: services.clone(),
            operator: operator_key.clone(),
            settings: settings.console.console(),
            simulators,
        });
        let app = simgate_api::limits::apply(
            simgate_api::app_with(
                AppState::new(services.clone()).with_operator_key(operator_key),
                console,
            ),
            settings.server.request_limits(),
        );
        let (tx, rx) = oneshot::channel::<()>();
        let server_settings = settings.server.clone();
        let server = tokio::spawn(async move {
            server::serve(listener, app, &server_settings, async {
                let _ = rx.await;
            })
            .await;
        });
        tracing::info!(%addr, "accepting connections; ready once catalogues are loaded");
        Ok(Self {
            addr,
            services,
            store,
            jobs: Some(jobs),
            shutdown: Some(tx),
            server: Some(server),
            metrics_server,
            shutdown_grace: Duration::from_secs(settings.shutdown_grace_secs),
        })
    }

    /// Returns once simgate is ready to serve (what `/readyz` reports):
    /// every configured provider's catalogue is loaded.
    pub async fn ready(&self) {
        self.services.until_catalogues_loaded().await;
        tracing::info!(addr = %self.addr, "simgate is listening and ready");
    }

    /// Where `/metrics` is served without a key, when `metrics_listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(|(addr, _)| *addr)
    }

    /// Where the API listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The use-case layer, e.g. to create tenants.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The database handle, for what only the wiring does with it (creating
    /// the sandbox tenant) and for tests' assertions.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until the server stops (it does not on its own); an error
    /// means the server task panicked.
    pub async fn wait(mut self) -> std::io::Result<()> {
        match self.server.take() {
            Some(server) => server.await.map_err(std::io::Error::other),
            None => Ok(()),
        }
    }

    /// Stops accepting requests, lets the ones in flight and the jobs'
    /// current passes finish, all within `shutdown_grace_secs`: what is
    /// still running then is cut (and logged), so a stop never hangs.
    pub async fn stop(mut self) {
        let deadline = tokio::time::Instant::now() + self.shutdown_grace;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout_at(deadline, &mut server)
                .await
                .is_err()
        {
            tracing::warn!(
                grace_secs = self.shutdown_grace.as_secs(),
                "requests still in flight at the end of the shutdown grace period were cut"
            );
            server.abort();
        }
        if let Some((_, metrics)) = self.metrics_server.take() {
            metrics.abort();
        }
        // Dropping the jobs on a timeout aborts them.
        if let Some(jobs) = self.jobs.take()
            && tokio::time::timeout_at(deadline, jobs.stop())
                .await
                .is_err()
        {
            tracing::warn!(
                "background jobs still running at the end of the shutdown grace period were cut"
            );
        }
        self.store.close().await;
        tracing::info!("simgate stopped");
    }
}

/// Serves `/metrics` alone, without a key, on `listen` (`metrics_listen`),
/// with the same client limits as the API.
async fn serve_metrics(
    listen: SocketAddr,
    limits: &server::ServerSettings,
    services: Services,
) -> Result<(SocketAddr, JoinHandle<()>), StartError> {
    let failed = |source| StartError::Listen {
        addr: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(failed)?;
    let addr = listener.local_addr().map_err(failed)?;
    let app = simgate_api::limits::apply(
        simgate_api::routes::system::metrics_app(simgate_api::metrics_handle(), services),
        limits.request_limits(),
    );
    let limits = limits.clone();
    tracing::info!(%addr, "metrics are served without a key");
    Ok((
        addr,
        tokio::spawn(
            async move { server::serve(listener, app, &limits, std::future::pending()).await },
        ),
    ))
}

/// Serves a sandbox's router on `listen`.
async fn serve_sandbox(
    listen: SocketAddr,
    router: axum::Router,
) -> Result<SimulatorHandle, StartError> {
    let failed = |source| StartError::Listen {
        addr: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(failed)?;
    simgate_sandbox::simulator::serve(listener, router).map_err(failed)
}

/// Starts the built-in eSIM Go sandbox and returns provider settings
/// pointing at it, so `serve --sandbox` needs no contract with anyone.
/// `catalogue_size` asks for a catalogue of that many bundles (benchmarks).
pub async fn start_esim_go_sandbox(
    listen: SocketAddr,
    catalogue_size: Option<usize>,
) -> Result<(SimulatorHandle, EsimGoSandbox, EsimGoSettings), StartError> {
    let config = SandboxConfig {
        catalogue_size,
        ..SandboxConfig::default()
    };
    let api_key = config.api_key.clone();
    let sandbox = EsimGoSandbox::new(config);
    let handle = serve_sandbox(listen, sandbox.router()).await?;
    let settings = EsimGoSettings {
        base_url: handle.base_url(),
        api_key: SecretString::from(api_key),
        timeout_secs: 10,
        accept_unsigned_callbacks: false,
    };
    Ok((handle, sandbox, settings))
}

/// Starts the built-in eSIM Story sandbox and returns provider settings
/// pointing at it; its webhooks go wherever [`EsimStorySandbox::set_webhook_url`] says.
pub async fn start_esim_story_sandbox(
    listen: SocketAddr,
) -> Result<(SimulatorHandle, EsimStorySandbox, EsimStorySettings), StartError> {
    let config = StorySandboxConfig::default();
    let sandbox = EsimStorySandbox::new(config.clone());
    let handle = serve_sandbox(listen, sandbox.router()).await?;
    let settings = EsimStorySettings {
        base_url: format!("{}/api", handle.base_url()),
        access_key: config.access_key,
        secret_key: SecretString::from(config.secret_key),
        webhook_secret: SecretString::from(config.webhook_secret),
        options: sandbox.options(),
        options_file: None,
        timeout_secs: 10,
    };
    Ok((handle, sandbox, settings))
}

/// Starts the built-in Sim Local sandbox and returns provider settings
/// pointing at it; its webhooks go wherever [`SimLocalSandbox::set_webhook_url`] says.
pub async fn start_sim_local_sandbox(
    listen: SocketAddr,
    config: SimLocalSandboxConfig,
) -> Result<(SimulatorHandle, SimLocalSandbox, SimLocalSettings), StartError> {
    let sandbox = SimLocalSandbox::new(config.clone());
    let handle = serve_sandbox(listen, sandbox.router()).await?;
    let settings = SimLocalSettings {
        base_url: handle.base_url(),
        token_url: format!("{}{TOKEN_PATH}", handle.base_url()),
        client_id: config.client_id,
        client_secret: SecretString::from(config.client_secret),
        webhook_api_key: SecretString::from(config.webhook_api_key),
        webhook_header: config.webhook_header,
        synchronous: false,
        timeout_secs: 10,
    };
    Ok((handle, sandbox, settings))
}

/// Serves a bearer-auth sandbox and returns settings that reach it with `api_key`.
async fn serve_bearer_sandbox(
    listen: SocketAddr,
    router: axum::Router,
    api_key: String,
) -> Result<(SimulatorHandle, BearerSettings), StartError> {
    let handle = serve_sandbox(listen, router).await?;
    let settings = BearerSettings {
        base_url: Some(handle.base_url()),
        api_key: SecretString::from(api_key),
        timeout_secs: 10,
    };
    Ok((handle, settings))
}

/// Starts the built-in Telnyx SIM card order sandbox and returns provider
/// settings pointing at it.
pub async fn start_telnyx_sandbox(
    listen: SocketAddr,
    config: TelnyxSandboxConfig,
) -> Result<(SimulatorHandle, TelnyxSandbox, BearerSettings), StartError> {
    let api_key = config.api_key.clone();
    let sandbox = TelnyxSandbox::new(config);
    let (handle, settings) = serve_bearer_sandbox(listen, sandbox.router(), api_key).await?;
    Ok((handle, sandbox, settings))
}

/// Starts the built-in ONSIM sandbox and returns provider settings pointing at it.
pub async fn start_onsim_sandbox(
    listen: SocketAddr,
    config: OnsimSandboxConfig,
) -> Result<(SimulatorHandle, OnsimSandbox, BearerSettings), StartError> {
    let api_key = config.api_key.clone();
    let sandbox = OnsimSandbox::new(config);
    let (handle, settings) = serve_bearer_sandbox(listen, sandbox.router(), api_key).await?;
    Ok((handle, sandbox, settings))
}

/// The URL a provider's webhooks reach simgate at, on loopback.
pub fn webhook_url(app: &Application, provider: ProviderId) -> String {
    format!(
        "http://127.0.0.1:{}/v1/webhooks/{provider}",
        app.addr().port()
    )
}

/// Creates a tenant with a fresh random API key; returns (tenant id, key).
/// The key is shown once: only its hash is stored.
pub async fn create_tenant(store: &Store, name: &str) -> Result<(String, String), StartError> {
    let id = format!("ten_{}", uuid_simple());
    store
        .create_tenant(&id, &simgate_service::tenants::tenant_name(name)?)
        .await?;
    let key = simgate_service::tenants::new_api_key();
    store.add_api_key(&id, &key).await?;
    Ok((id, key))
}

/// Makes sure the sandbox demo tenant exists with the configured key and
/// a funded prepaid account (funded once per database: the credit's
/// reference is fixed).
pub async fn ensure_sandbox_tenant(
    store: &Store,
    key: &str,
    funds: rust_decimal::Decimal,
) -> Result<String, StartError> {
    const ID: &str = "ten_sandbox";
    if store.tenant(ID).await?.is_none() {
        store.create_tenant(ID, "Sandbox reseller").await?;
    }
    store.add_api_key(ID, key).await?;
    if funds > rust_decimal::Decimal::ZERO {
        fund_tenant(store, ID, funds, "sandbox-demo-funds").await?;
    }
    Ok(ID.to_owned())
}

/// The FX rate `serve --sandbox` starts with when the operator set none
/// for the pair: Sim Local's sandbox prices in GBP and the demo tenant's
/// account is in USD, so without it the demo could not buy them. A demo
/// figure, not a market rate; `simgate fx set` replaces it.
pub const SANDBOX_GBP_USD: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(127, 0, 0, false, 2);

/// Gives the FX table the sandbox's GBP → USD rate unless it converts
/// between the two already (the operator's own rate is never replaced).
/// Through the service, so this instance's FX cache holds it at once: run
/// before the demo tenant's key works, its first order already converts.
pub async fn ensure_sandbox_fx(services: &Services) -> Result<(), StartError> {
    use simgate_domain::Currency;
    use simgate_domain::orchestration::FxRate;
    let gbp = Currency::parse("GBP").map_err(simgate_service::ServiceError::from)?;
    let rates = services.fx_rates().await?;
    let converts = rates.iter().any(|r| {
        (r.base, r.quote) == (gbp, Currency::USD) || (r.base, r.quote) == (Currency::USD, gbp)
    });
    if !converts {
        let rate = FxRate {
            base: gbp,
            quote: Currency::USD,
            rate: SANDBOX_GBP_USD,
        };
        services.set_fx_rates(&[rate], false).await?;
    }
    Ok(())
}

/// Funds a tenant's account with `amount` in its currency, once per
/// `reference`: for the sandbox's demo tenant and the test harness's.
pub async fn fund_tenant(
    store: &Store,
    tenant_id: &str,
    amount: rust_decimal::Decimal,
    reference: &str,
) -> Result<(), StartError> {
    let account = store.account(tenant_id).await?;
    let credit = NewCredit {
        micros: simgate_domain::account::signed_micros(amount)
            .map_err(simgate_service::ServiceError::from)?,
        currency: account.currency,
        reference: reference.to_owned(),
        note: None,
    };
    store.post_credit(tenant_id, &credit).await?;
    Ok(())
}

fn uuid_simple() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
