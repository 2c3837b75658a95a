//! simgate's use cases, between the HTTP API (or CLI) and the connectors and
//! store: placing orders durably, syncing catalogues, reconciling orders
//! whose upstream outcome was lost, and the background jobs that drive them.

pub mod catalogue;
pub mod error;
pub mod esims;
pub mod events;
pub mod jobs;
pub mod lines;
pub mod orders;
pub mod queue;
pub mod sim_orders;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use simgate_connectors::ConnectorRegistry;
use simgate_store::Store;

use crate::queue::DeliveryQueue;

pub use catalogue::SyncReport;
pub use error::ServiceError;
pub use orders::{OrderRequest, PlaceOutcome};
pub use sim_orders::{MAX_SIM_ORDER_QUANTITY, SimOrderOutcome, SimOrderRequest};
pub use webhooks::WebhookOutcome;

/// Tuning of the order flow.
#[derive(Debug, Clone, Copy)]
pub struct ServiceConfig {
    /// How long after submission an order without an answer is considered
    /// lost and reconciled. Must exceed the connectors' timeout, so that a
    /// call still in flight is never mistaken for a lost one.
    pub reconcile_after: Duration,
    /// Upstream attempts before an order that never reached the provider fails.
    pub max_attempts: u32,
    /// Largest quantity of one order.
    pub max_quantity: u32,
    /// First wait before an event delivery is retried (doubling after).
    pub delivery_backoff: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            reconcile_after: Duration::from_secs(45),
            max_attempts: 5,
            max_quantity: 100,
            delivery_backoff: Duration::from_secs(5),
        }
    }
}

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub connectors: Arc<ConnectorRegistry>,
    pub config: ServiceConfig,
    /// Where event deliveries are scheduled.
    pub queue: Arc<dyn DeliveryQueue>,
    /// Client for event deliveries to resellers' endpoints.
    http: reqwest::Client,
    /// Held while in-flight orders are re-polled after an unverifiable
    /// webhook, so a flood of forged ones costs one poll at a time.
    repolling: Arc<tokio::sync::Mutex<()>>,
}

impl Services {
    /// Bundles the store, connectors, delivery queue and configuration.
    pub fn new(
        store: Store,
        connectors: ConnectorRegistry,
        queue: Arc<dyn DeliveryQueue>,
        config: ServiceConfig,
    ) -> Self {
        Self {
            store,
            connectors: Arc::new(connectors),
            config,
            queue,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a client with only a timeout always builds"),
            repolling: Arc::default(),
        }
    }
}
