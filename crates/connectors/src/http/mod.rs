//! The HTTP plumbing every connector shares: timeouts, bounded retries that
//! honour `Retry-After`, and the classification of transport failures;
//! [`core::ProviderHttp`] puts them together with the base URL and the
//! [`auth::Auth`] strategy of one provider.

pub mod auth;
pub mod core;

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};

use crate::ConnectorError;

/// How a connector retries 429 and 503 answers, which mean "not processed".
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub max_retries: u32,
    /// Wait when the provider gives no `Retry-After`.
    pub default_wait: Duration,
    /// The longest single wait simgate accepts; a longer `Retry-After` ends
    /// the retries and is reported to the caller instead.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            default_wait: Duration::from_millis(500),
            max_wait: Duration::from_secs(5),
        }
    }
}

/// A raw upstream answer, before the provider module interprets it.
#[derive(Debug)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Compares a presented secret with the expected one in constant time.
pub fn secrets_match(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Builds the shared reqwest client with a per-request timeout.
pub fn build_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("simgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with only timeouts set always builds")
}

/// Sends a request, retrying 429/503 as the policy allows, and returns the
/// final answer whatever its status. `build` is called once per attempt.
pub async fn execute(
    policy: RetryPolicy,
    build: impl Fn() -> RequestBuilder,
) -> Result<RawResponse, ConnectorError> {
    let mut attempt = 0;
    loop {
        let response = build().send().await.map_err(classify)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(classify)?.to_vec();
        let retryable =
            status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
        if retryable && attempt < policy.max_retries {
            let wait = retry_after(&headers).unwrap_or(policy.default_wait);
            if wait <= policy.max_wait {
                attempt += 1;
                tracing::debug!(%status, ?wait, attempt, "provider asked to retry later");
                tokio::time::sleep(wait).await;
                continue;
            }
        }
        return Ok(RawResponse {
            status,
            headers,
            body,
        });
    }
}

/// Reads `Retry-After` as delay-seconds (the form providers use).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_seconds(headers, RETRY_AFTER.as_str())
}

/// Reads a header holding a whole number of seconds (`Retry-After`,
/// Telnyx's `x-ratelimit-reset`).
pub fn header_seconds(headers: &HeaderMap, name: &str) -> Option<Duration> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Maps the statuses every provider shares onto [`ConnectorError`]; the
/// provider module supplies the message it extracted from its error body.
pub fn error_for_status(raw: &RawResponse, message: String) -> ConnectorError {
    let status = raw.status;
    match status {
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited {
            retry_after: retry_after(&raw.headers),
        },
        StatusCode::SERVICE_UNAVAILABLE => ConnectorError::Unavailable {
            retry_after: retry_after(&raw.headers),
        },
        StatusCode::NOT_FOUND => ConnectorError::NotFound(message),
        s if s.is_server_error() => ConnectorError::ServerError { status: s.as_u16() },
        s => ConnectorError::Rejected {
            status: s.as_u16(),
            message,
        },
    }
}

fn classify(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::Timeout
    } else if error.is_connect() {
        ConnectorError::Connect(error.without_url())
    } else {
        // The request may have reached the provider (reset mid-answer, …).
        ConnectorError::Transport(error.without_url())
    }
}
