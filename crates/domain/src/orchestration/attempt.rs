//! Safe failover: the state machine of one order's attempts across the
//! ordered candidates routing chose.
//!
//! The one rule: **never call the next candidate while an earlier attempt
//! may have bought something.** An upstream timeout does not mean nothing
//! was sold, and failing over then is how naive orchestrators buy twice.
//!
//! ```text
//!            start
//!              |
//!              v
//!     +--> Trying(i) --Bought--------------------------> Bought(i)
//!     |        |  \
//!     |        |   \--CertainlyNothing--+ (i+1 < n) --> Trying(i+1)
//!     |        |                        + (last) -----> Exhausted
//!     |     Uncertain
//!     |        v
//!     |   Reconciling(i) --FoundPurchase--------------> Bought(i), adopted
//!     |        |  \--StillUnknown--> Reconciling(i) (retry later; never fail over)
//!     |        \--ProvedNothing--+ (i+1 < n) ---------> Trying(i+1)
//!     |                          + (last) ------------> Exhausted
//!     |
//!     +--Retry (a provider is back)-- Exhausted  (order kept, API answers 503)
//! ```

use serde::{Deserialize, Serialize};

/// Why an attempt certainly bought nothing, so failing over is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NothingReason {
    /// The provider refused the order (4xx with a clear meaning).
    Refused,
    /// 429 after the connector's retries were spent.
    RateLimited,
    /// 503 after the connector's retries were spent.
    Unavailable,
    /// The connection was refused: the request never reached the provider.
    ConnectionRefused,
    /// simgate did not call: the provider's circuit is open.
    CircuitOpen,
    /// The provider reports the product out of stock.
    OutOfStock,
}

/// Why an attempt's outcome is unknown, so it must be reconciled first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UncertainReason {
    /// No answer in time; the order may have gone through.
    Timeout,
    /// A 5xx other than 503: the provider may have failed after buying.
    ServerError,
    /// An answer simgate could not read.
    Garbled,
}

/// How one call to buy from a candidate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum AttemptOutcome {
    /// The provider confirmed the purchase.
    Bought,
    /// Nothing was bought, certainly.
    CertainlyNothing(NothingReason),
    /// Something may have been bought.
    Uncertain(UncertainReason),
}

/// What reconciling an uncertain attempt (asking the provider what it has
/// for our idempotency reference) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileOutcome {
    /// The provider has the purchase: adopt it.
    FoundPurchase,
    /// The provider certainly has no such purchase.
    ProvedNothing,
    /// The provider could not tell (it is still down): ask again later.
    StillUnknown,
}

/// What happened to an order since its last state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEvent {
    /// The call to the current candidate ended.
    Attempted(AttemptOutcome),
    /// Reconciliation of the current candidate's uncertain attempt ended.
    Reconciled(ReconcileOutcome),
    /// Start over from the first candidate after every one certainly
    /// failed (a provider came back).
    Retry,
}

/// Where an order stands. Candidates are indices into the ordered list
/// routing returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum AttemptState {
    /// Call candidate `candidate` next.
    Trying { candidate: usize },
    /// Candidate `candidate` answered uncertainly: reconcile it, call no one.
    Reconciling { candidate: usize },
    /// Candidate `candidate` sold it; `adopted` when found by reconciliation.
    Bought { candidate: usize, adopted: bool },
    /// Every candidate certainly bought nothing; the order is kept for a retry.
    Exhausted,
}

/// An event that makes no sense in the state it arrived in (a reconcile
/// result while trying, anything after a purchase). Refusing it keeps a
/// confused caller from, say, failing over after a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("order attempt cannot take {event:?} in state {state:?}")]
pub struct InvalidAttemptTransition {
    /// The state the event arrived in.
    pub state: AttemptState,
    /// The refused event.
    pub event: AttemptEvent,
}

impl InvalidAttemptTransition {
    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        "invalid_attempt_transition"
    }
}

impl AttemptState {
    /// The state of a new order: try the first candidate. With no
    /// candidates at all, the order is exhausted from the start.
    pub fn start(candidates: usize) -> Self {
        if candidates == 0 {
            Self::Exhausted
        } else {
            Self::Trying { candidate: 0 }
        }
    }

    /// Whether the order reached a purchase.
    pub fn is_bought(&self) -> bool {
        matches!(self, Self::Bought { .. })
    }

    /// The transition function; `candidates` is the length of the ordered
    /// candidate list.
    pub fn next(
        self,
        event: AttemptEvent,
        candidates: usize,
    ) -> Result<Self, InvalidAttemptTransition> {
        let after = |candidate: usize| {
            if candidate + 1 < candidates {
                Self::Trying {
                    candidate: candidate + 1,
                }
            } else {
                Self::Exhausted
            }
        };
        let next = match (self, event) {
            (Self::Trying { candidate }, AttemptEvent::Attempted(outcome)) => match outcome {
                AttemptOutcome::Bought => Self::Bought {
                    candidate,
                    adopted: false,
                },
                AttemptOutcome::CertainlyNothing(_) => after(candidate),
                AttemptOutcome::Uncertain(_) => Self::Reconciling { candidate },
            },
            (Self::Reconciling { candidate }, AttemptEvent::Reconciled(found)) => match found {
                ReconcileOutcome::FoundPurchase => Self::Bought {
                    candidate,
                    adopted: true,
                },
                ReconcileOutcome::ProvedNothing => after(candidate),
                ReconcileOutcome::StillUnknown => Self::Reconciling { candidate },
            },
            (Self::Exhausted, AttemptEvent::Retry) => Self::start(candidates),
            (state, event) => return Err(InvalidAttemptTransition { state, event }),
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use AttemptEvent::{Attempted, Reconciled, Retry};
    use AttemptOutcome::{Bought, CertainlyNothing, Uncertain};

    fn run(
        events: &[AttemptEvent],
        candidates: usize,
    ) -> Result<AttemptState, InvalidAttemptTransition> {
        events
            .iter()
            .try_fold(AttemptState::start(candidates), |state, event| {
                state.next(*event, candidates)
            })
    }

    #[test]
    fn a_503_fails_over_and_the_next_buys() {
        let state = run(
            &[
                Attempted(CertainlyNothing(NothingReason::Unavailable)),
                Attempted(Bought),
            ],
            2,
        )
        .unwrap();
        assert_eq!(
            state,
            AttemptState::Bought {
                candidate: 1,
                adopted: false
            }
        );
    }

    #[test]
    fn a_timeout_after_a_sale_adopts_it_and_never_calls_the_next() {
        let state = run(&[Attempted(Uncertain(UncertainReason::Timeout))], 2).unwrap();
        assert_eq!(state, AttemptState::Reconciling { candidate: 0 });
        // While reconciling, an attempt on anyone is refused.
        assert!(state.next(Attempted(Bought), 2).is_err());
        let state = state
            .next(Reconciled(ReconcileOutcome::FoundPurchase), 2)
            .unwrap();
        assert_eq!(
            state,
            AttemptState::Bought {
                candidate: 0,
                adopted: true
            }
        );
    }

    #[test]
    fn a_timeout_that_sold_nothing_fails_over_after_reconciliation() {
        let state = run(
            &[
                Attempted(Uncertain(UncertainReason::Timeout)),
                Reconciled(ReconcileOutcome::StillUnknown),
                Reconciled(ReconcileOutcome::ProvedNothing),
                Attempted(Bought),
            ],
            2,
        )
        .unwrap();
        assert_eq!(
            state,
            AttemptState::Bought {
                candidate: 1,
                adopted: false
            }
        );
    }

    #[test]
    fn every_candidate_down_exhausts_and_a_retry_completes() {
        let down = Attempted(CertainlyNothing(NothingReason::ConnectionRefused));
        let state = run(
            &[
                down,
                Attempted(CertainlyNothing(NothingReason::CircuitOpen)),
            ],
            2,
        )
        .unwrap();
        assert_eq!(state, AttemptState::Exhausted);
        let state = state.next(Retry, 2).unwrap();
        assert_eq!(state, AttemptState::Trying { candidate: 0 });
        assert!(state.next(Attempted(Bought), 2).unwrap().is_bought());
        assert_eq!(AttemptState::start(0), AttemptState::Exhausted);
    }

    #[test]
    fn nothing_follows_a_purchase() {
        let bought = run(&[Attempted(Bought)], 3).unwrap();
        for event in [
            Attempted(Bought),
            Attempted(CertainlyNothing(NothingReason::Refused)),
            Reconciled(ReconcileOutcome::ProvedNothing),
            Retry,
        ] {
            let err = bought.next(event, 3).unwrap_err();
            assert_eq!(err.code(), "invalid_attempt_transition");
        }
    }

    #[test]
    fn serialises_for_the_order_record() {
        let outcome = CertainlyNothing(NothingReason::OutOfStock);
        assert_eq!(
            serde_json::to_string(&outcome).unwrap(),
            r#"{"kind":"certainly_nothing","reason":"out_of_stock"}"#
        );
        let state = AttemptState::Bought {
            candidate: 1,
            adopted: true,
        };
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            r#"{"state":"bought","candidate":1,"adopted":true}"#
        );
    }

    fn arb_event() -> impl Strategy<Value = AttemptEvent> {
        let nothing = prop::sample::select(vec![
            NothingReason::Refused,
            NothingReason::RateLimited,
            NothingReason::Unavailable,
            NothingReason::ConnectionRefused,
            NothingReason::CircuitOpen,
            NothingReason::OutOfStock,
        ]);
        let uncertain = prop::sample::select(vec![
            UncertainReason::Timeout,
            UncertainReason::ServerError,
            UncertainReason::Garbled,
        ]);
        let reconciled = prop::sample::select(vec![
            ReconcileOutcome::FoundPurchase,
            ReconcileOutcome::ProvedNothing,
            ReconcileOutcome::StillUnknown,
        ]);
        prop_oneof![
            Just(Attempted(Bought)),
            nothing.prop_map(|r| Attempted(CertainlyNothing(r))),
            uncertain.prop_map(|r| Attempted(Uncertain(r))),
            reconciled.prop_map(Reconciled),
            Just(Retry),
        ]
    }

    proptest! {
        /// Whatever a (possibly confused) caller feeds in, accepted
        /// transitions never move to another candidate while an attempt
        /// may have bought, and never leave a purchase.
        #[test]
        fn never_fails_over_while_a_purchase_is_possible(events in prop::collection::vec(arb_event(), 0..40), candidates in 0usize..5) {
            let mut state = AttemptState::start(candidates);
            for event in events {
                let Ok(next) = state.next(event, candidates) else { continue };
                match (state, next) {
                    (AttemptState::Bought { .. }, _) => prop_assert!(false, "left a purchase"),
                    (AttemptState::Reconciling { candidate }, AttemptState::Trying { candidate: to }) => {
                        prop_assert_eq!(event, Reconciled(ReconcileOutcome::ProvedNothing));
                        prop_assert_eq!(to, candidate + 1);
                    }
                    (AttemptState::Reconciling { candidate }, AttemptState::Bought { candidate: to, adopted }) => {
                        prop_assert_eq!(to, candidate);
                        prop_assert!(adopted);
                    }
                    (AttemptState::Trying { candidate }, AttemptState::Trying { candidate: to }) => {
                        prop_assert!(matches!(event, Attempted(CertainlyNothing(_))));
                        prop_assert_eq!(to, candidate + 1);
                    }
                    (AttemptState::Trying { candidate }, AttemptState::Bought { candidate: to, adopted }) => {
                        prop_assert_eq!(to, candidate);
                        prop_assert!(!adopted);
                    }
                    (_, AttemptState::Exhausted) => prop_assert!(matches!(
                        event,
                        Attempted(CertainlyNothing(_)) | Reconciled(ReconcileOutcome::ProvedNothing) | Retry
                    )),
                    _ => {}
                }
                if let AttemptState::Trying { candidate } | AttemptState::Reconciling { candidate } = next {
                    prop_assert!(candidate < candidates);
                }
                state = next;
            }
        }
    }
}
