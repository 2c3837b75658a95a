//! simgate's use cases, between the HTTP API (or CLI) and the connectors and
//! store: placing orders durably, syncing catalogues, reconciling orders
//! whose upstream outcome was lost, and the background jobs that drive them.

pub mod accounts;
mod auth_cache;
pub mod balances;
pub mod bounded;
pub mod catalogue;
mod catalogue_index;
pub mod console;
pub mod error;
pub mod esims;
pub mod events;
pub mod faulty;
pub mod health;
pub mod jobs;
pub mod limits;
pub mod lines;
pub mod offers;
pub mod orders;
pub mod pricing;
pub mod provider_ops;
pub mod purchase_audit;
pub mod queue;
pub mod readiness;
pub mod requests;
pub mod retention;
pub mod routing;
pub mod secret_keys;
pub mod sim_orders;
pub mod telemetry;
mod tenant_settings;
pub mod tenants;
pub mod webhook_targets;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use simgate_connectors::ConnectorRegistry;
use simgate_domain::entities::Lease;
use simgate_domain::repository::Repository;

use crate::queue::DeliveryQueue;
use crate::webhook_targets::DeliveryClientError;

pub use balances::BalanceReport;
pub use catalogue::SyncReport;
pub use error::ServiceError;
pub use events::EndpointWithSecret;
pub use lines::InventoryScope;
pub use offers::{OfferFilter, OfferSort, PricedCandidate, PricedOffer};
pub use orders::{OrderRequest, OrderTarget, PlaceOutcome};
pub use pricing::PricedProduct;
pub use requests::{EventWithDeliveries, ProviderSummary};
pub use routing::{RouteDecision, Unroutable};
pub use sim_orders::{MAX_SIM_ORDER_QUANTITY, SimOrderOutcome, SimOrderRequest};
pub use tenants::IssuedKey;
pub use webhooks::WebhookOutcome;

/// Tuning of the order flow.
#[derive(Debug, Clone, Copy)]
pub struct ServiceConfig {
    /// How long after submission an order without an answer is considered
    /// lost and reconciled. Must exceed the connectors' timeout, so that a
    /// call still in flight is never mistaken for a lost one.
    pub reconcile_after: Duration,
    /// The longest a row the reconciler took and could not move waits
    /// before it is taken again (the wait doubles from a second up to it).
    pub reconcile_backoff_max: Duration,
    /// Upstream attempts before an order that never reached the provider fails.
    pub max_attempts: u32,
    /// Largest quantity of one order.
    pub max_quantity: u32,
    /// First wait before an event delivery is retried (doubling after).
    pub delivery_backoff: Duration,
    /// How long past due a pending delivery must be before the sweeper
    /// takes it as one without a job and queues it again: more than the
    /// queue's takeover of a dead worker's jobs plus a delivery's timeout.
    pub delivery_sweep_after: Duration,
    /// How long the request that stored a webhook has to apply it before
    /// the inbox takes it as one a crash left unapplied.
    pub webhook_retry_after: Duration,
    /// Let webhook endpoints be loopback or private addresses: for local
    /// development only, since tenants could then reach internal services.
    pub allow_private_webhook_targets: bool,
    /// How long an API key's tenant is remembered without asking the
    /// database: how late another instance's rotation or disabling may be
    /// seen here (this instance's own is seen at once). Zero: no cache.
    pub auth_cache_ttl: Duration,
    /// Whether a refunded sale credits the tenant's account.
    pub refund_policy: simgate_domain::RefundPolicy,
    /// How long an endpoint's replaced secret keeps signing deliveries
    /// beside the new one after a rotation, for receivers to switch.
    pub secret_overlap: Duration,
    /// The operator's rate limits (`[limits]`).
    pub limits: limits::LimitsConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            reconcile_after: Duration::from_secs(45),
            reconcile_backoff_max: Duration::from_secs(300),
            max_attempts: 5,
            max_quantity: 100,
            delivery_backoff: Duration::from_secs(5),
            delivery_sweep_after: Duration::from_secs(120),
            webhook_retry_after: Duration::from_secs(30),
            allow_private_webhook_targets: false,
            auth_cache_ttl: Duration::from_secs(3),
            refund_policy: simgate_domain::RefundPolicy::default(),
            secret_overlap: Duration::from_secs(24 * 3600),
            limits: limits::LimitsConfig::default(),
        }
    }
}

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// Storage behind the repository traits, private so that every read and
    /// write goes through a use case and no use case names a backend.
    store: Arc<dyn Repository>,
    pub connectors: Arc<ConnectorRegistry>,
    pub config: ServiceConfig,
    /// Where event deliveries are scheduled.
    pub queue: Arc<dyn DeliveryQueue>,
    /// Client for event deliveries to resellers' endpoints, which connects
    /// to public addresses only (see [`webhook_targets`]).
    http: reqwest::Client,
    /// Held while in-flight orders are re-polled after an unverifiable
    /// webhook, so a flood of forged ones costs one poll at a time.
    repolling: Arc<tokio::sync::Mutex<()>>,
    /// This instance's name on the rows its reconciler leases.
    instance: Arc<str>,
    /// Signalled after each sync on this instance, to wake readiness
    /// waiters; what is loaded is read from the catalogue index.
    catalogue_synced: Arc<tokio::sync::watch::Sender<()>>,
    /// The operator's FX table as this instance last read it.
    fx: Arc<pricing::FxCache>,
    /// The active catalogue in memory, searched without the database.
    catalogue: Arc<catalogue_index::CatalogueCache>,
    /// Recent API key lookups, by key digest.
    auth: Arc<auth_cache::AuthCache>,
    /// eSIMs read recently, by ICCID.
    esims: Arc<esims::EsimCache>,
    /// Tenants' pricing rules and routing policies as recently read.
    settings: Arc<tenant_settings::TenantSettings>,
    /// The operator's keys sealing endpoint secrets; `None`: none
    /// configured, so no endpoint can be created or rotated.
    secret_keys: Option<Arc<secret_keys::SecretKeys>>,
    /// Provider balances as last read, and which a purchase made stale.
    balances: Arc<balances::BalanceState>,
    /// Per provider, the balance below which `provider.balance.low` is sent.
    balance_thresholds:
        Arc<std::collections::BTreeMap<simgate_domain::ProviderId, rust_decimal::Decimal>>,
    /// This instance's token buckets (see [`limits`]).
    limiters: Arc<limits::Limiters>,
}

/// `now` plus `delay`, saturating at the latest instant there is: a delay
/// too large to add means "never".
pub(crate) fn later(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|delay| now.checked_add_signed(delay))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `now` minus `delay`, saturating at the earliest instant there is: a
/// delay too large to subtract means "since ever".
pub(crate) fn earlier(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|delay| now.checked_sub_signed(delay))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl Services {
    /// Before this instant, an upstream call still without an answer is
    /// taken as lost and settled by asking the provider. A delay too large
    /// to subtract means "never".
    pub(crate) fn reconcile_cutoff(&self) -> DateTime<Utc> {
        earlier(Utc::now(), self.config.reconcile_after)
    }

    /// A lease on rows taken for reconciliation. It lasts the reconcile
    /// delay, which exceeds every provider timeout: a reconciler's own call
    /// in flight never outlives its lease, and the rows of a reconciler
    /// killed mid-pass are free again one delay later.
    pub(crate) fn lease(&self) -> Lease {
        let until = later(Utc::now(), self.config.reconcile_after);
        Lease {
            owner: self.instance.to_string(),
            until,
            retry_max: self.config.reconcile_backoff_max,
        }
    }

    /// Bundles the storage (any [`Repository`]: the binary passes its
    /// store), connectors, delivery queue and configuration.
    pub fn new(
        store: Arc<dyn Repository>,
        connectors: ConnectorRegistry,
        queue: Arc<dyn DeliveryQueue>,
        config: ServiceConfig,
    ) -> Result<Self, DeliveryClientError> {
        Ok(Self {
            store,
            connectors: Arc::new(connectors),
            config,
            queue,
            http: webhook_targets::delivery_client(config.allow_private_webhook_targets)?,
            repolling: Arc::default(),
            instance: format!("simgate-{}", uuid::Uuid::new_v4().simple()).into(),
            catalogue_synced: Arc::new(tokio::sync::watch::Sender::new(())),
            fx: Arc::default(),
            catalogue: Arc::default(),
            auth: Arc::new(auth_cache::AuthCache::new(config.auth_cache_ttl)),
            esims: Arc::default(),
            settings: Arc::default(),
            secret_keys: None,
            balances: Arc::default(),
            balance_thresholds: Arc::default(),
            limiters: Arc::new(limits::Limiters::new(&config.limits)),
        })
    }

    /// The keys that seal endpoint secrets (see [`secret_keys`]).
    #[must_use]
    pub fn with_secret_keys(mut self, keys: Option<secret_keys::SecretKeys>) -> Self {
        self.secret_keys = keys.map(Arc::new);
        self
    }
}
