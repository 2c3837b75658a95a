//! Rates a budget is spent at, and the operator's per-tenant overrides of
//! them: plain values, checked here so that the API, the CLI and the store
//! agree on what is acceptable.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest window a rate may have: a day. Beyond it a budget is a quota,
/// not a rate, and a refused client would be told to come back days later.
pub const MAX_WINDOW_SECS: u32 = 86_400;

/// `quota` units per `window_secs`: a bucket holding `quota` tokens,
/// refilled evenly over the window (so a burst of `quota`, then one every
/// `window_secs / quota`). What `RateLimit-Policy` announces as `q` and `w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Units per window, at least 1 (the largest burst).
    #[schema(minimum = 1, example = 100)]
    pub quota: u32,
    /// The window in seconds, 1 to 86400.
    #[schema(minimum = 1, maximum = 86400, example = 1)]
    pub window_secs: u32,
}

impl Rate {
    /// `quota` per `window_secs`.
    pub const fn new(quota: u32, window_secs: u32) -> Self {
        Self { quota, window_secs }
    }

    /// Whether the rate can be enforced as given; `field` names it in the error.
    pub fn validate(self, field: &'static str) -> Result<(), LimitError> {
        if self.quota == 0 {
            return Err(LimitError::Quota { field });
        }
        if !(1..=MAX_WINDOW_SECS).contains(&self.window_secs) {
            return Err(LimitError::Window {
                field,
                got: self.window_secs,
            });
        }
        Ok(())
    }
}

/// A rate the operator refused to store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("{field}.quota must be at least 1")]
    Quota { field: &'static str },
    #[error("{field}.window_secs must be between 1 and {MAX_WINDOW_SECS}, got {got}")]
    Window { field: &'static str, got: u32 },
}

impl LimitError {
    /// The body field at fault, e.g. `requests.quota`.
    pub fn field(&self) -> String {
        match self {
            Self::Quota { field } => format!("{field}.quota"),
            Self::Window { field, .. } => format!("{field}.window_secs"),
        }
    }
}

/// One tenant's budgets where the operator set them apart from `[limits]`;
/// `None` (or `null`): the operator's default. Stored, so that every
/// instance applies the same overrides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TenantLimits {
    /// Every API call with the tenant's key.
    pub requests: Option<Rate>,
    /// Orders and top-ups placed.
    pub order_creations: Option<Rate>,
    /// SMS sent to eSIMs.
    pub sms_sends: Option<Rate>,
    /// `GET /v1/sim-orders/{id}` (a provider call each).
    pub sim_order_reads: Option<Rate>,
}

impl TenantLimits {
    /// Checks every rate that is set.
    pub fn validate(&self) -> Result<(), LimitError> {
        let rates = [
            ("requests", self.requests),
            ("order_creations", self.order_creations),
            ("sms_sends", self.sms_sends),
            ("sim_order_reads", self.sim_order_reads),
        ];
        for (field, rate) in rates {
            if let Some(rate) = rate {
                rate.validate(field)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_outside_the_bounds_are_refused_by_field() {
        assert!(Rate::new(1, 1).validate("requests").is_ok());
        assert!(Rate::new(5, MAX_WINDOW_SECS).validate("requests").is_ok());
        let limits = TenantLimits {
            sms_sends: Some(Rate::new(0, 60)),
            ..TenantLimits::default()
        };
        assert_eq!(limits.validate().unwrap_err().field(), "sms_sends.quota");
        let limits = TenantLimits {
            requests: Some(Rate::new(5, MAX_WINDOW_SECS + 1)),
            ..TenantLimits::default()
        };
        assert_eq!(
            limits.validate().unwrap_err().field(),
            "requests.window_secs"
        );
        let limits = TenantLimits {
            requests: Some(Rate::new(5, 0)),
            ..TenantLimits::default()
        };
        assert!(limits.validate().is_err());
    }
}
