//! Provider health: a rolling window of upstream call outcomes and a circuit
//! breaker.
//!
//! The window holds the last `window` calls (by count, not by time), so its
//! memory is bounded and its statistics do not depend on traffic volume.
//! The breaker:
//!
//! ```text
//!   Closed --(N consecutive certain failures, or error rate > threshold
//!             over >= min_calls calls since it last closed)--> Open
//!   Open   --(cool-down elapsed)--> HalfOpen
//!   HalfOpen: lets K probes through;
//!             a success closes it, any failure re-opens it;
//!             probes that never report free their slots after another cool-down.
//! ```
//!
//! Certain failures (refusals, 503, connection refused) and uncertain ones
//! (timeouts, garbled answers) both count towards the error rate, because
//! both say the provider is unwell; only certain ones count as consecutive
//! failures, as the task of telling an uncertain outcome apart belongs to
//! reconciliation. Time is passed in, never read.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How one upstream call ended, as far as health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// The provider answered as expected.
    Success,
    /// The provider certainly failed (refusal, 429/503, connection refused).
    CertainFailure,
    /// The outcome is unknown (timeout, 5xx, garbled answer).
    Uncertain,
}

/// The breaker's tuning. Not serialisable on purpose: the service's
/// configuration names its own fields (seconds, not a `TimeDelta`'s shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// How many recent calls the window keeps.
    pub window: usize,
    /// Consecutive certain failures that open the circuit.
    pub consecutive_failures: u32,
    /// Error rate, in percent, above which the circuit opens.
    pub error_rate_percent: Decimal,
    /// Calls needed since the last close before the error rate counts, so a
    /// single early failure is not a 100% error rate.
    pub min_calls: usize,
    /// How long an open circuit rejects calls before probing.
    pub cool_down: TimeDelta,
    /// How many probes a half-open circuit lets through at once.
    pub half_open_probes: u32,
}

impl Default for HealthConfig {
    /// 100 calls, 5 consecutive failures, 50% over at least 20 calls, 30 s
    /// cool-down, one probe: tolerant of blips, quick to stop hammering a
    /// provider that is down.
    fn default() -> Self {
        Self {
            window: 100,
            consecutive_failures: 5,
            error_rate_percent: Decimal::from(50),
            min_calls: 20,
            cool_down: TimeDelta::seconds(30),
            half_open_probes: 1,
        }
    }
}

/// Why a health configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("health configuration: {0}")]
pub struct HealthConfigError(&'static str);

impl HealthConfigError {
    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        "invalid_health_config"
    }
}

impl HealthConfig {
    /// Checks the bounds that keep the breaker meaningful.
    pub fn validate(&self) -> Result<(), HealthConfigError> {
        let rule = if self.window == 0 {
            "window must be at least 1"
        } else if self.consecutive_failures == 0 {
            "consecutive_failures must be at least 1"
        } else if self.error_rate_percent <= Decimal::ZERO
            || self.error_rate_percent > Decimal::ONE_HUNDRED
        {
            "error_rate_percent must be in (0, 100]"
        } else if self.min_calls == 0 || self.min_calls > self.window {
            "min_calls must be between 1 and window"
        } else if self.cool_down <= TimeDelta::zero() {
            "cool_down must be positive"
        } else if self.half_open_probes == 0 {
            "half_open_probes must be at least 1"
        } else {
            return Ok(());
        };
        Err(HealthConfigError(rule))
    }
}

/// The breaker's state as shown to operators and used by routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls flow.
    Closed,
    /// Calls are rejected until the cool-down ends.
    Open,
    /// A limited number of probe calls decide whether to close.
    HalfOpen,
}

/// Whether a call may go upstream now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The circuit is closed.
    Allowed,
    /// The circuit is half-open and this call is one of its probes.
    Probe,
    /// The circuit is open, or half-open with every probe slot taken.
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Circuit {
    Closed,
    Open {
        since: DateTime<Utc>,
    },
    HalfOpen {
        since: DateTime<Utc>,
        in_flight: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    outcome: CallOutcome,
    latency: Duration,
}

/// What `GET /v1/providers` and the metrics show for one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// The breaker state at the time asked about.
    pub state: CircuitState,
    /// Calls in the window.
    pub calls: usize,
    /// Successes over calls in the window, `0..=1`; `None` with no calls.
    pub success_rate: Option<Decimal>,
    /// Median latency in the window (nearest rank).
    pub p50: Option<Duration>,
    /// 95th percentile latency in the window (nearest rank).
    pub p95: Option<Duration>,
    /// Certain failures in a row, reset by a success.
    pub consecutive_failures: u32,
}

/// One provider's rolling health and circuit breaker.
#[derive(Debug, Clone)]
pub struct ProviderHealth {
    config: HealthConfig,
    samples: VecDeque<Sample>,
    /// Samples recorded since the circuit last closed; only the newest
    /// `min(this, samples.len())` count towards opening it again, so the
    /// failures that opened it do not instantly re-open it.
    since_closed: usize,
    consecutive_failures: u32,
    circuit: Circuit,
}

impl Default for ProviderHealth {
    /// A healthy provider with no history under the default tuning, which
    /// is valid by construction.
    fn default() -> Self {
        Self::fresh(HealthConfig::default())
    }
}

impl ProviderHealth {
    /// A healthy provider with no history, the tuning already checked.
    fn fresh(config: HealthConfig) -> Self {
        Self {
            config,
            samples: VecDeque::with_capacity(config.window),
            since_closed: 0,
            consecutive_failures: 0,
            circuit: Circuit::Closed,
        }
    }

    /// A healthy provider with no history.
    pub fn new(config: HealthConfig) -> Result<Self, HealthConfigError> {
        config.validate()?;
        Ok(Self::fresh(config))
    }

    /// The state at `now`: an open circuit whose cool-down has passed
    /// reads as half-open even before anyone asks to call it.
    pub fn state(&self, now: DateTime<Utc>) -> CircuitState {
        match self.circuit {
            Circuit::Closed => CircuitState::Closed,
            Circuit::Open { since } if now < since + self.config.cool_down => CircuitState::Open,
            Circuit::Open { .. } | Circuit::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`, taking a probe slot when half-open.
    pub fn admit(&mut self, now: DateTime<Utc>) -> Admission {
        let cool_down = self.config.cool_down;
        match self.circuit {
            Circuit::Closed => Admission::Allowed,
            Circuit::Open { since } if now < since + cool_down => Admission::Rejected,
            Circuit::Open { .. } => {
                self.circuit = Circuit::HalfOpen {
                    since: now,
                    in_flight: 1,
                };
                Admission::Probe
            }
            Circuit::HalfOpen { since, .. } if now >= since + cool_down => {
                // Earlier probes never reported; free their slots.
                self.circuit = Circuit::HalfOpen {
                    since: now,
                    in_flight: 1,
                };
                Admission::Probe
            }
            Circuit::HalfOpen { since, in_flight } if in_flight < self.config.half_open_probes => {
                self.circuit = Circuit::HalfOpen {
                    since,
                    in_flight: in_flight + 1,
                };
                Admission::Probe
            }
            Circuit::HalfOpen { .. } => Admission::Rejected,
        }
    }

    /// Records how a call ended at `now` and how long it took, moving the
    /// breaker as the module documentation describes.
    pub fn record(&mut self, now: DateTime<Utc>, outcome: CallOutcome, latency: Duration) {
        if self.samples.len() == self.config.window {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { outcome, latency });
        self.since_closed = self.since_closed.saturating_add(1);
        match outcome {
            CallOutcome::Success => self.consecutive_failures = 0,
            CallOutcome::CertainFailure => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            }
            CallOutcome::Uncertain => {}
        }
        match (self.circuit, outcome) {
            (Circuit::HalfOpen { .. }, CallOutcome::Success) => {
                self.circuit = Circuit::Closed;
                self.since_closed = 0;
                self.consecutive_failures = 0;
            }
            (Circuit::HalfOpen { .. }, _) => self.circuit = Circuit::Open { since: now },
            (Circuit::Closed, _) if self.should_open() => {
                self.circuit = Circuit::Open { since: now };
            }
            // Late answers to calls started before the circuit opened only
            // feed the statistics.
            (Circuit::Closed | Circuit::Open { .. }, _) => {}
        }
    }

    fn should_open(&self) -> bool {
        if self.consecutive_failures >= self.config.consecutive_failures {
            return true;
        }
        let counted = self.since_closed.min(self.samples.len());
        if counted < self.config.min_calls {
            return false;
        }
        let failures = self
            .samples
            .iter()
            .rev()
            .take(counted)
            .filter(|s| s.outcome != CallOutcome::Success)
            .count();
        // failures / counted > threshold / 100, in integers and decimals
        // without division.
        Decimal::from(failures) * Decimal::ONE_HUNDRED
            > self.config.error_rate_percent * Decimal::from(counted)
    }

    /// The statistics of the window and the state at `now`.
    pub fn snapshot(&self, now: DateTime<Utc>) -> HealthSnapshot {
        let calls = self.samples.len();
        let successes = self
            .samples
            .iter()
            .filter(|s| s.outcome == CallOutcome::Success)
            .count();
        let mut latencies: Vec<Duration> = self.samples.iter().map(|s| s.latency).collect();
        latencies.sort_unstable();
        HealthSnapshot {
            state: self.state(now),
            calls,
            success_rate: (calls > 0).then(|| Decimal::from(successes) / Decimal::from(calls)),
            p50: nearest_rank(&latencies, 50),
            p95: nearest_rank(&latencies, 95),
            consecutive_failures: self.consecutive_failures,
        }
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at
/// least `percent`% of the values at or below it.
fn nearest_rank(sorted: &[Duration], percent: usize) -> Option<Duration> {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn health(config: HealthConfig) -> ProviderHealth {
        ProviderHealth::new(config).unwrap()
    }

    #[test]
    fn opens_after_consecutive_certain_failures_and_recovers_through_a_probe() {
        let mut h = health(HealthConfig {
            consecutive_failures: 3,
            ..HealthConfig::default()
        });
        for second in 0..2 {
            assert_eq!(h.admit(t(second)), Admission::Allowed);
            h.record(t(second), CallOutcome::CertainFailure, ms(10));
        }
        // An uncertain outcome neither counts nor resets the streak.
        h.record(t(2), CallOutcome::Uncertain, ms(10));
        assert_eq!(h.state(t(2)), CircuitState::Closed);
        h.record(t(3), CallOutcome::CertainFailure, ms(10));
        assert_eq!(h.state(t(3)), CircuitState::Open);
        assert_eq!(h.admit(t(32)), Admission::Rejected);
        assert_eq!(h.state(t(33)), CircuitState::HalfOpen);
        assert_eq!(h.admit(t(33)), Admission::Probe);
        // One probe at a time by default.
        assert_eq!(h.admit(t(34)), Admission::Rejected);
        h.record(t(35), CallOutcome::Success, ms(10));
        assert_eq!(h.state(t(35)), CircuitState::Closed);
        assert_eq!(h.admit(t(35)), Admission::Allowed);
        // The failures that opened it do not re-open it on the next failure.
        h.record(t(36), CallOutcome::CertainFailure, ms(10));
        assert_eq!(h.state(t(36)), CircuitState::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_for_another_cool_down() {
        let mut h = health(HealthConfig {
            consecutive_failures: 1,
            half_open_probes: 2,
            ..HealthConfig::default()
        });
        h.record(t(0), CallOutcome::CertainFailure, ms(10));
        assert_eq!(h.admit(t(30)), Admission::Probe);
        assert_eq!(h.admit(t(30)), Admission::Probe);
        assert_eq!(h.admit(t(30)), Admission::Rejected);
        h.record(t(31), CallOutcome::Uncertain, ms(10));
        assert_eq!(h.state(t(31)), CircuitState::Open);
        assert_eq!(h.admit(t(60)), Admission::Rejected);
        assert_eq!(h.admit(t(61)), Admission::Probe);
    }

    #[test]
    fn lost_probes_free_their_slot_after_a_cool_down() {
        let mut h = health(HealthConfig {
            consecutive_failures: 1,
            ..HealthConfig::default()
        });
        h.record(t(0), CallOutcome::CertainFailure, ms(10));
        assert_eq!(h.admit(t(30)), Admission::Probe);
        assert_eq!(h.admit(t(59)), Admission::Rejected);
        assert_eq!(h.admit(t(60)), Admission::Probe);
    }

    #[test]
    fn opens_on_error_rate_only_with_enough_calls() {
        let config = HealthConfig {
            window: 10,
            consecutive_failures: 100,
            error_rate_percent: Decimal::from(50),
            min_calls: 4,
            ..HealthConfig::default()
        };
        let mut h = health(config);
        h.record(t(0), CallOutcome::Uncertain, ms(10));
        h.record(t(1), CallOutcome::Uncertain, ms(10));
        assert_eq!(
            h.state(t(1)),
            CircuitState::Closed,
            "too few calls to judge"
        );
        h.record(t(2), CallOutcome::Success, ms(10));
        h.record(t(3), CallOutcome::Success, ms(10));
        assert_eq!(h.state(t(3)), CircuitState::Closed, "50% is not over 50%");
        h.record(t(4), CallOutcome::CertainFailure, ms(10));
        assert_eq!(h.state(t(4)), CircuitState::Open, "3 of 5 is over 50%");
    }

    #[test]
    fn snapshot_reports_rate_and_percentiles_over_the_window() {
        let mut h = health(HealthConfig {
            window: 20,
            min_calls: 20,
            consecutive_failures: 100,
            ..HealthConfig::default()
        });
        assert_eq!(h.snapshot(t(0)).success_rate, None);
        assert_eq!(h.snapshot(t(0)).p50, None);
        // 25 calls: the first 5 fall out of the window.
        for i in 1..=25u64 {
            let outcome = if i % 4 == 0 {
                CallOutcome::CertainFailure
            } else {
                CallOutcome::Success
            };
            h.record(t(i as i64), outcome, ms(i * 10));
        }
        let snap = h.snapshot(t(30));
        assert_eq!(snap.calls, 20);
        // Calls 6..=25: failures at 8, 12, 16, 20, 24.
        assert_eq!(snap.success_rate, Some(Decimal::new(75, 2)));
        assert_eq!(snap.p50, Some(ms(150)));
        assert_eq!(snap.p95, Some(ms(240)));
        assert_eq!(snap.consecutive_failures, 0);
        assert_eq!(snap.state, CircuitState::Closed);
    }

    #[test]
    fn refuses_meaningless_configs() {
        let bad = [
            HealthConfig {
                window: 0,
                ..HealthConfig::default()
            },
            HealthConfig {
                consecutive_failures: 0,
                ..HealthConfig::default()
            },
            HealthConfig {
                error_rate_percent: Decimal::ZERO,
                ..HealthConfig::default()
            },
            HealthConfig {
                error_rate_percent: Decimal::from(101),
                ..HealthConfig::default()
            },
            HealthConfig {
                min_calls: 101,
                ..HealthConfig::default()
            },
            HealthConfig {
                cool_down: TimeDelta::zero(),
                ..HealthConfig::default()
            },
            HealthConfig {
                half_open_probes: 0,
                ..HealthConfig::default()
            },
        ];
        for config in bad {
            assert_eq!(
                ProviderHealth::new(config).unwrap_err().code(),
                "invalid_health_config"
            );
        }
    }

    fn arb_outcome() -> impl Strategy<Value = CallOutcome> {
        prop_oneof![
            Just(CallOutcome::Success),
            Just(CallOutcome::CertainFailure),
            Just(CallOutcome::Uncertain)
        ]
    }

    proptest! {
        #[test]
        fn breaker_invariants_hold(steps in prop::collection::vec((0i64..20, arb_outcome(), 0u64..500), 1..200)) {
            let config = HealthConfig { window: 10, min_calls: 5, consecutive_failures: 3, half_open_probes: 2, ..HealthConfig::default() };
            let mut h = health(config);
            let mut now = t(0);
            let mut opened_at: Option<DateTime<Utc>> = None;
            let mut probes_since_open = 0u32;
            for (advance, outcome, latency) in steps {
                now += TimeDelta::seconds(advance);
                let admission = h.admit(now);
                if let Some(at) = opened_at && now < at + config.cool_down {
                    prop_assert_eq!(admission, Admission::Rejected, "open rejects during cool-down");
                }
                if admission == Admission::Rejected {
                    continue;
                }
                if admission == Admission::Probe {
                    probes_since_open += 1;
                }
                h.record(now, outcome, ms(latency));
                let snap = h.snapshot(now);
                prop_assert!(snap.calls <= config.window);
                prop_assert!(snap.p50 <= snap.p95);
                match h.circuit {
                    Circuit::Open { since } => {
                        prop_assert_eq!(since, now, "only the call just recorded can open it");
                        opened_at = Some(since);
                        probes_since_open = 0;
                    }
                    Circuit::Closed => {
                        prop_assert!(h.consecutive_failures < config.consecutive_failures);
                        opened_at = None;
                    }
                    Circuit::HalfOpen { in_flight, .. } => {
                        prop_assert!(in_flight <= config.half_open_probes);
                        prop_assert!(probes_since_open >= 1);
                    }
                }
            }
        }
    }
}
