//! Provider health for routing and operators: the circuit each provider's
//! calls have put it in, and the statistics `GET /v1/providers` and the
//! metrics show. The breakers themselves live with the connectors that
//! feed them ([`simgate_connectors::health`]); this instance's own view,
//! not shared through the database (docs/architecture.md).

use simgate_domain::ProviderId;
use simgate_domain::orchestration::{Admission, CircuitState, HealthSnapshot};

use crate::Services;

impl Services {
    /// A provider's circuit now: routing skips an open one and tries a
    /// half-open one last.
    pub fn circuit(&self, provider: ProviderId) -> CircuitState {
        self.connectors.health().state(provider)
    }

    /// Asks a provider's circuit whether an order may be placed with it
    /// now; a half-open circuit hands out its probe. Only placing an order
    /// asks: reconciliation lookups must go on to settle what is uncertain,
    /// and every other call is a read or follows a purchase already made.
    pub(crate) fn admit(&self, provider: ProviderId) -> Admission {
        self.connectors.health().admit(provider)
    }

    /// A provider's recent success rate, latency and circuit.
    pub fn provider_health(&self, provider: ProviderId) -> HealthSnapshot {
        self.connectors.health().snapshot(provider)
    }

    /// Brings every provider's health gauges up to now, just before a
    /// scrape: circuits move from open to half-open by time alone.
    pub fn refresh_health_gauges(&self) {
        self.connectors.health().publish_gauges();
    }
}
