//! simgate's use cases, between the HTTP API (or CLI) and the connectors and
//! store: placing orders durably, syncing catalogues, reconciling orders
//! whose upstream outcome was lost, and the background jobs that drive them.

pub mod catalogue;
pub mod error;
pub mod esims;
pub mod jobs;
pub mod orders;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use simgate_connectors::ConnectorRegistry;
use simgate_store::Store;

pub use catalogue::SyncReport;
pub use error::ServiceError;
pub use orders::{OrderRequest, PlaceOutcome};
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
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            reconcile_after: Duration::from_secs(45),
            max_attempts: 5,
            max_quantity: 100,
        }
    }
}

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub connectors: Arc<ConnectorRegistry>,
    pub config: ServiceConfig,
}

impl Services {
    /// Bundles the store, connectors and configuration.
    pub fn new(store: Store, connectors: ConnectorRegistry, config: ServiceConfig) -> Self {
        Self {
            store,
            connectors: Arc::new(connectors),
            config,
        }
    }
}
