//! This instance's view of each provider's health: one
//! [`ProviderHealth`] (rolling window and circuit breaker, pure, in the
//! domain) per provider, fed by [`crate::metered::Metered`] with the outcome
//! and latency of every upstream call, and asked by it before an order is
//! placed.
//!
//! Per instance, in memory: the breaker protects this instance's calls,
//! judged by what this instance saw, and sharing it would cost a database
//! write per upstream call (docs/architecture.md, "Provider health").
//!
//! Declared here rather than in the service so that the connectors (which
//! see every call) and the service (which routes and reports) share it
//! without a dependency cycle.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use rust_decimal::prelude::ToPrimitive;
use simgate_domain::ProviderId;
use simgate_domain::orchestration::{
    Admission, CallOutcome, CircuitState, HealthConfig, HealthConfigError, HealthSnapshot,
    ProviderHealth,
};

use crate::ConnectorError;

/// Gauge of each provider's circuit: 0 closed, 1 half-open, 2 open.
pub const CIRCUIT_STATE: &str = "simgate_provider_circuit_state";
/// Gauge of each provider's success rate over its window, `0..=1`.
pub const SUCCESS_RATE: &str = "simgate_provider_success_rate";
/// Gauge of each provider's window latency, by `quantile` (0.5, 0.95).
pub const LATENCY: &str = "simgate_provider_latency_seconds";

/// Registers the HELP text of the health gauges with the installed recorder.
pub fn describe() {
    metrics::describe_gauge!(
        CIRCUIT_STATE,
        "Circuit breaker of each provider as this instance sees it: 0 closed, 1 half-open, 2 open"
    );
    metrics::describe_gauge!(
        SUCCESS_RATE,
        "Share of successful calls in each provider's window of recent upstream calls (0 to 1)"
    );
    metrics::describe_gauge!(
        LATENCY,
        metrics::Unit::Seconds,
        "Latency of each provider's recent upstream calls, by quantile (0.5, 0.95)"
    );
}

/// How a call's result counts for its provider's health; `None` when it
/// says nothing about the provider.
///
/// - Certain failures (429/503 after retries, connection refused, our
///   credentials refused): the provider cannot serve us now.
/// - Uncertain (timeout, other 5xx, garbled or broken-off answer): it is
///   unwell, but may have acted.
/// - A refusal of the request itself (a 4xx, a provider error code, not
///   found) is the provider working as it should on a bad input, often the
///   client's: it counts as a success, so a reseller's bad requests never
///   open a circuit for everyone.
/// - Nothing sent (an operation it lacks, simgate's own settings at fault,
///   an open circuit): not counted.
pub fn call_outcome<T>(result: &Result<T, ConnectorError>) -> Option<CallOutcome> {
    let Err(error) = result else {
        return Some(CallOutcome::Success);
    };
    match error {
        ConnectorError::Rejected { .. }
        | ConnectorError::Provider { .. }
        | ConnectorError::NotFound(_) => Some(CallOutcome::Success),
        ConnectorError::RateLimited { .. }
        | ConnectorError::Unavailable { .. }
        | ConnectorError::Connect(_)
        | ConnectorError::Unauthorized { .. } => Some(CallOutcome::CertainFailure),
        ConnectorError::Timeout
        | ConnectorError::ServerError { .. }
        | ConnectorError::InvalidResponse(_)
        | ConnectorError::Transport(_) => Some(CallOutcome::Uncertain),
        ConnectorError::Unsupported(_)
        | ConnectorError::Config { .. }
        | ConnectorError::CircuitOpen => None,
    }
}

/// Every provider's health as this instance sees it. A provider is
/// healthy (closed, no history) until its first call is recorded.
#[derive(Debug, Default)]
pub struct HealthRegistry {
    /// A provider's breaker before its first call, with the tuning.
    fresh: ProviderHealth,
    /// Held only for a few arithmetic steps, never across an `.await`.
    providers: Mutex<BTreeMap<ProviderId, ProviderHealth>>,
}

impl HealthRegistry {
    /// A registry with this tuning, refused when it is meaningless.
    pub fn new(config: HealthConfig) -> Result<Self, HealthConfigError> {
        Ok(Self {
            fresh: ProviderHealth::new(config)?,
            providers: Mutex::default(),
        })
    }

    /// The providers' breakers. A panic while one was held cannot leave
    /// it half-updated in a way that matters (statistics only), so a
    /// poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, BTreeMap<ProviderId, ProviderHealth>> {
        self.providers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on a provider's breaker, creating it on first use.
    fn with<R>(&self, provider: ProviderId, f: impl FnOnce(&mut ProviderHealth) -> R) -> R {
        let mut providers = self.lock();
        let health = providers
            .entry(provider)
            .or_insert_with(|| self.fresh.clone());
        f(health)
    }

    /// Asks to call a provider now; a half-open circuit hands out a probe.
    pub fn admit(&self, provider: ProviderId) -> Admission {
        let (admission, snapshot) = self.with(provider, |health| {
            let now = Utc::now();
            (health.admit(now), health.snapshot(now))
        });
        publish(provider, &snapshot);
        admission
    }

    /// Records how a call to a provider ended and how long it took.
    pub fn record(&self, provider: ProviderId, outcome: CallOutcome, latency: Duration) {
        let snapshot = self.with(provider, |health| {
            let now = Utc::now();
            health.record(now, outcome, latency);
            health.snapshot(now)
        });
        publish(provider, &snapshot);
    }

    /// A provider's circuit now, for routing.
    pub fn state(&self, provider: ProviderId) -> CircuitState {
        self.with(provider, |health| health.state(Utc::now()))
    }

    /// A provider's statistics and circuit now, for operators.
    pub fn snapshot(&self, provider: ProviderId) -> HealthSnapshot {
        self.with(provider, |health| health.snapshot(Utc::now()))
    }

    /// Sets the gauges of every provider seen so far to their state now,
    /// so that a scrape shows an open circuit whose cool-down has passed
    /// as half-open even before anyone called it.
    pub fn publish_gauges(&self) {
        let now = Utc::now();
        let snapshots: Vec<(ProviderId, HealthSnapshot)> = self
            .lock()
            .iter()
            .map(|(provider, health)| (*provider, health.snapshot(now)))
            .collect();
        for (provider, snapshot) in &snapshots {
            publish(*provider, snapshot);
        }
    }
}

/// Sets one provider's health gauges.
fn publish(provider: ProviderId, snapshot: &HealthSnapshot) {
    let label = provider.as_str();
    let state = match snapshot.state {
        CircuitState::Closed => 0.0,
        CircuitState::HalfOpen => 1.0,
        CircuitState::Open => 2.0,
    };
    metrics::gauge!(CIRCUIT_STATE, "provider" => label).set(state);
    if let Some(rate) = snapshot.success_rate.and_then(|rate| rate.to_f64()) {
        metrics::gauge!(SUCCESS_RATE, "provider" => label).set(rate);
    }
    for (quantile, latency) in [("0.5", snapshot.p50), ("0.95", snapshot.p95)] {
        if let Some(latency) = latency {
            metrics::gauge!(LATENCY, "provider" => label, "quantile" => quantile)
                .set(latency.as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(error: ConnectorError) -> Option<CallOutcome> {
        call_outcome::<()>(&Err(error))
    }

    #[test]
    fn errors_count_by_what_they_say_about_the_provider() {
        assert_eq!(call_outcome(&Ok(())), Some(CallOutcome::Success));
        let certain = [
            ConnectorError::RateLimited { retry_after: None },
            ConnectorError::Unavailable {
                retry_after: Some(Duration::from_secs(1)),
            },
            ConnectorError::Unauthorized { status: 401 },
        ];
        for error in certain {
            assert_eq!(outcome(error), Some(CallOutcome::CertainFailure));
        }
        let uncertain = [
            ConnectorError::Timeout,
            ConnectorError::ServerError { status: 500 },
            ConnectorError::InvalidResponse("not json".to_owned()),
        ];
        for error in uncertain {
            assert_eq!(outcome(error), Some(CallOutcome::Uncertain));
        }
        // The provider answered a bad request properly: not its fault.
        let answered = [
            ConnectorError::Rejected {
                status: 422,
                message: "unknown bundle".to_owned(),
            },
            ConnectorError::Provider {
                status: 422,
                code: "10015".to_owned(),
                detail: "bad address".to_owned(),
            },
            ConnectorError::NotFound("order".to_owned()),
        ];
        for error in answered {
            assert_eq!(outcome(error), Some(CallOutcome::Success));
        }
        // Never sent: says nothing about the provider.
        let unsent = [
            ConnectorError::Unsupported(simgate_domain::Capability::TopUps),
            ConnectorError::Config {
                setting: "base_url",
                reason: "not a URL".to_owned(),
            },
            ConnectorError::CircuitOpen,
        ];
        for error in unsent {
            assert_eq!(outcome(error), None);
        }
    }

    #[tokio::test]
    async fn a_refused_connection_counts_as_certain() {
        // A port nothing listens on: bind one, learn it, close it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let error = reqwest::get(format!("http://{address}/"))
            .await
            .unwrap_err();
        assert_eq!(
            outcome(ConnectorError::Connect(error)),
            Some(CallOutcome::CertainFailure)
        );
    }

    #[test]
    fn consecutive_certain_failures_open_a_providers_circuit_only() {
        let registry = HealthRegistry::new(HealthConfig {
            consecutive_failures: 2,
            ..HealthConfig::default()
        })
        .unwrap();
        let slow = Duration::from_millis(40);
        for _ in 0..2 {
            assert_eq!(registry.admit(ProviderId::EsimGo), Admission::Allowed);
            registry.record(ProviderId::EsimGo, CallOutcome::CertainFailure, slow);
        }
        assert_eq!(registry.state(ProviderId::EsimGo), CircuitState::Open);
        assert_eq!(registry.admit(ProviderId::EsimGo), Admission::Rejected);
        assert_eq!(registry.state(ProviderId::SimLocal), CircuitState::Closed);
        let snapshot = registry.snapshot(ProviderId::EsimGo);
        assert_eq!(snapshot.calls, 2);
        assert_eq!(snapshot.p95, Some(slow));
    }

    #[test]
    fn a_meaningless_tuning_is_refused() {
        let refused = HealthRegistry::new(HealthConfig {
            window: 0,
            ..HealthConfig::default()
        })
        .unwrap_err();
        assert_eq!(refused.code(), "invalid_health_config");
    }
}
