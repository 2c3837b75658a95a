//! Errors from talking to a provider, classified by what they mean for an order.

use std::time::Duration;

use simgate_domain::Capability;

/// What went wrong with an upstream call.
///
/// The classification matters more than the message: an order whose upstream
/// outcome is *unknown* must be reconciled before it is retried, while one
/// that was *definitely not processed* can be retried safely.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The provider does not offer this operation.
    #[error("the provider does not support {0:?}")]
    Unsupported(Capability),
    /// The provider refused the request (a 4xx other than 429), with its own words.
    #[error("provider refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The provider refused with an error code of its own (Telnyx `10015`),
    /// which is surfaced to the caller as it was given.
    #[error("provider refused the request ({status}, code {code}): {detail}")]
    Provider {
        status: u16,
        code: String,
        detail: String,
    },
    /// The thing asked for does not exist upstream.
    #[error("not found at the provider: {0}")]
    NotFound(String),
    /// The provider refused our credentials.
    #[error("the provider refused simgate's credentials ({status})")]
    Unauthorized { status: u16 },
    /// 429 after our own retries: nothing was processed.
    #[error("rate limited by the provider")]
    RateLimited { retry_after: Option<Duration> },
    /// 503 after our own retries: nothing was processed.
    #[error("the provider is unavailable")]
    Unavailable { retry_after: Option<Duration> },
    /// simgate's own settings for the provider are unusable (a base URL
    /// that does not parse, a key HMAC cannot take): nothing was sent, and
    /// waiting will not help.
    #[error("the provider's {setting} setting is invalid: {reason}")]
    Config {
        /// The setting at fault, as the configuration names it.
        setting: &'static str,
        reason: String,
    },
    /// The provider's circuit is open (too many recent failures, see
    /// [`crate::health`]): simgate did not call it, so nothing was sent.
    /// Made by the order flow, which asks the circuit before placing.
    #[error("the provider is failing; simgate is not calling it until its circuit closes")]
    CircuitOpen,
    /// The connection could not be made: nothing was sent.
    #[error("could not reach the provider")]
    Connect(#[source] reqwest::Error),
    /// No answer in time: the provider may or may not have acted.
    #[error("the provider did not answer in time")]
    Timeout,
    /// A 5xx other than 503: the provider may or may not have acted.
    #[error("the provider failed ({status})")]
    ServerError { status: u16 },
    /// The answer could not be understood: the provider may have acted.
    #[error("the provider's answer could not be read: {0}")]
    InvalidResponse(String),
    /// The exchange broke off after the request left (a reset mid-answer,
    /// …): the provider may have acted.
    #[error("the exchange with the provider broke off")]
    Transport(#[source] reqwest::Error),
}

impl ConnectorError {
    /// True when the provider certainly did not act on the request, so that
    /// a write (an order) may be retried without risk of buying twice.
    pub fn nothing_was_processed(&self) -> bool {
        matches!(
            self,
            Self::Unsupported(_)
                | Self::Rejected { .. }
                | Self::Provider { .. }
                | Self::NotFound(_)
                | Self::Unauthorized { .. }
                | Self::RateLimited { .. }
                | Self::Unavailable { .. }
                | Self::Config { .. }
                | Self::CircuitOpen
                | Self::Connect(_)
        )
    }

    /// True when trying again later may succeed (as opposed to a refusal).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Unavailable { .. }
                | Self::CircuitOpen
                | Self::Connect(_)
                | Self::Timeout
                | Self::ServerError { .. }
                | Self::InvalidResponse(_)
                | Self::Transport(_)
        )
    }

    /// How long the provider asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Unavailable { retry_after } => *retry_after,
            _ => None,
        }
    }
}
