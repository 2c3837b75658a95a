//! The set of connectors a running simgate is configured with.

use std::collections::BTreeMap;
use std::sync::Arc;

use simgate_domain::ProviderId;

use crate::Connector;

/// Connectors by provider; the one place the rest of simgate looks them up.
#[derive(Clone, Default)]
pub struct ConnectorRegistry {
    connectors: BTreeMap<ProviderId, Arc<dyn Connector>>,
}

impl ConnectorRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the connector of its provider.
    pub fn register(&mut self, connector: Arc<dyn Connector>) {
        self.connectors.insert(connector.provider(), connector);
    }

    /// The connector of a provider, if configured.
    pub fn get(&self, provider: ProviderId) -> Option<Arc<dyn Connector>> {
        self.connectors.get(&provider).cloned()
    }

    /// All configured connectors, in provider order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Connector>> {
        self.connectors.values()
    }
}
