//! Orders and the one state machine every provider's orders follow.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{DomainError, Iccid};

/// Identifier of an order in simgate (`ord_` + a time-ordered UUID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub String);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a unified order stands.
///
/// `pending → submitted → fulfilling → completed | failed | refunded`.
/// `submitted` means an upstream call was started: its outcome may be unknown
/// (timeout, crash), which is exactly what reconciliation resolves. A
/// provider that answers synchronously jumps from `submitted` to `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Written down; no upstream call has started.
    Pending,
    /// An upstream call started; its outcome may not be known yet.
    Submitted,
    /// The provider accepted the order and is preparing the eSIM.
    Fulfilling,
    /// The eSIM (or top-up) is delivered.
    Completed,
    /// The provider refused the order, or it could not be placed.
    Failed,
    /// The provider refunded the order.
    Refunded,
}

impl OrderStatus {
    /// Whether no further transition is expected.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Refunded)
    }

    /// The transitions the state machine allows.
    ///
    /// `Failed → Pending` exists for one case only: a failure known not to
    /// have bought anything (rate limit, provider unavailable) may be retried
    /// under the same idempotency key.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::{Completed, Failed, Fulfilling, Pending, Refunded, Submitted};
        matches!(
            (self, next),
            (Pending | Submitted, Submitted)
                | (Pending | Submitted | Fulfilling, Failed)
                | (Submitted, Fulfilling | Completed | Pending)
                | (Fulfilling, Completed)
                | (Completed, Refunded)
                | (Failed, Pending)
        )
    }

    /// Checks a transition, naming both ends when it is refused.
    pub fn transition(self, next: OrderStatus) -> Result<OrderStatus, DomainError> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(DomainError::InvalidTransition {
                from: self,
                to: next,
            })
        }
    }

    /// The lower-case name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Submitted => "submitted",
            Self::Fulfilling => "fulfilling",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
        }
    }
}

impl FromStr for OrderStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => Self::Pending,
            "submitted" => Self::Submitted,
            "fulfilling" => Self::Fulfilling,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "refunded" => Self::Refunded,
            other => return Err(format!("unknown order status '{other}'")),
        })
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an order buys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrderKind {
    /// New eSIMs, each with the product applied.
    NewEsim,
    /// The product applied to an eSIM the tenant already has.
    TopUp { iccid: Iccid },
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn happy_paths_are_allowed() {
        assert!(Pending.can_become(Submitted));
        assert!(Submitted.can_become(Completed));
        assert!(Submitted.can_become(Fulfilling));
        assert!(Fulfilling.can_become(Completed));
        assert!(Completed.can_become(Refunded));
    }

    #[test]
    fn final_states_do_not_go_back() {
        for next in [Pending, Submitted, Fulfilling, Failed] {
            assert!(Completed.transition(next).is_err(), "completed → {next}");
            assert!(Refunded.transition(next).is_err(), "refunded → {next}");
        }
        assert!(Failed.transition(Completed).is_err());
        assert!(Pending.transition(Completed).is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for s in [Pending, Submitted, Fulfilling, Completed, Failed, Refunded] {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), s);
        }
        assert!("PURCHASED".parse::<OrderStatus>().is_err());
    }
}
