//! The set of connectors a running simgate is configured with.

use std::collections::BTreeMap;
use std::sync::Arc;

use simgate_domain::{Capability, ProviderId};

use crate::health::HealthRegistry;
use crate::metered::Metered;
use crate::{Connector, ProviderKind, SimCardOrders, SubscriberLines};

/// A provider's client, built from its settings, ready to be added to the
/// registry under the trait its kind says.
#[derive(Clone)]
pub enum Registration {
    /// An eSIM bundle provider.
    Esim(Arc<dyn Connector>),
    /// A SIM card order provider.
    SimOrders(Arc<dyn SimCardOrders>),
    /// A subscriber line provider.
    Lines(Arc<dyn SubscriberLines>),
}

impl Registration {
    /// Which kind of provider this registers, to check it against the
    /// provider's descriptor.
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::Esim(_) => ProviderKind::Esim,
            Self::SimOrders(_) => ProviderKind::SimOrders,
            Self::Lines(_) => ProviderKind::Lines,
        }
    }
}

/// What a SIM card order provider can do.
const SIM_ORDER_CAPABILITIES: &[Capability] = &[Capability::SimCardOrders];
/// What a subscriber line provider can do.
const LINE_CAPABILITIES: &[Capability] = &[
    Capability::SubscriberLines,
    Capability::Numbers,
    Capability::Porting,
    Capability::Groups,
];

/// Connectors by provider; the one place the rest of simgate looks them up.
///
/// eSIM bundle providers, SIM card order providers and subscriber line
/// providers are held apart, each behind its own trait, so that nothing has
/// to pretend to sell what it does not.
#[derive(Clone, Default)]
pub struct ConnectorRegistry {
    connectors: BTreeMap<ProviderId, Arc<dyn Connector>>,
    sim_orders: BTreeMap<ProviderId, Arc<dyn SimCardOrders>>,
    lines: BTreeMap<ProviderId, Arc<dyn SubscriberLines>>,
    /// Every provider's health, fed by the calls of the connectors below.
    health: Arc<HealthRegistry>,
}

impl ConnectorRegistry {
    /// An empty registry, its providers' health under the default tuning.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry whose providers' health is judged by `health`.
    pub fn with_health(health: HealthRegistry) -> Self {
        Self {
            health: Arc::new(health),
            ..Self::default()
        }
    }

    /// Every provider's health as this instance sees it.
    pub fn health(&self) -> &HealthRegistry {
        &self.health
    }

    /// Adds (or replaces) a provider under the trait it implements.
    pub fn add(&mut self, registration: Registration) {
        match registration {
            Registration::Esim(connector) => self.register(connector),
            Registration::SimOrders(provider) => self.register_sim_orders(provider),
            Registration::Lines(provider) => self.register_lines(provider),
        }
    }

    /// Adds (or replaces) the eSIM connector of its provider; its calls
    /// are measured (see [`crate::metered`]).
    pub fn register(&mut self, connector: Arc<dyn Connector>) {
        let id = connector.provider();
        self.connectors.insert(
            id,
            Arc::new(Metered::new(id, connector, self.health.clone())),
        );
    }

    /// Adds (or replaces) a SIM card order provider, its calls measured.
    pub fn register_sim_orders(&mut self, provider: Arc<dyn SimCardOrders>) {
        let id = provider.provider();
        self.sim_orders.insert(
            id,
            Arc::new(Metered::new(id, provider, self.health.clone())),
        );
    }

    /// Adds (or replaces) a subscriber line provider, its calls measured.
    pub fn register_lines(&mut self, provider: Arc<dyn SubscriberLines>) {
        let id = provider.provider();
        self.lines.insert(
            id,
            Arc::new(Metered::new(id, provider, self.health.clone())),
        );
    }

    /// The eSIM connector of a provider, if configured.
    pub fn get(&self, provider: ProviderId) -> Option<Arc<dyn Connector>> {
        self.connectors.get(&provider).cloned()
    }

    /// All configured eSIM connectors, in provider order.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Connector>> {
        self.connectors.values()
    }

    /// A SIM card order provider: the one named, or the first configured.
    pub fn sim_orders(&self, provider: Option<ProviderId>) -> Option<Arc<dyn SimCardOrders>> {
        match provider {
            Some(provider) => self.sim_orders.get(&provider).cloned(),
            None => self.sim_orders.values().next().cloned(),
        }
    }

    /// A subscriber line provider: the one named, or the first configured.
    pub fn lines(&self, provider: Option<ProviderId>) -> Option<Arc<dyn SubscriberLines>> {
        match provider {
            Some(provider) => self.lines.get(&provider).cloned(),
            None => self.lines.values().next().cloned(),
        }
    }

    /// The configured subscriber line providers, in provider order: where a
    /// line recorded under its provider is looked for.
    pub fn line_providers(&self) -> impl Iterator<Item = ProviderId> + '_ {
        self.lines.keys().copied()
    }

    /// Every configured provider with what it can do, in provider order.
    pub fn capabilities(&self) -> Vec<(ProviderId, Vec<Capability>)> {
        let mut all: BTreeMap<ProviderId, Vec<Capability>> = BTreeMap::new();
        for connector in self.connectors.values() {
            all.entry(connector.provider())
                .or_default()
                .extend_from_slice(connector.capabilities());
        }
        for provider in self.sim_orders.keys() {
            all.entry(*provider)
                .or_default()
                .extend_from_slice(SIM_ORDER_CAPABILITIES);
        }
        for provider in self.lines.keys() {
            all.entry(*provider)
                .or_default()
                .extend_from_slice(LINE_CAPABILITIES);
        }
        all.into_iter().collect()
    }
}
