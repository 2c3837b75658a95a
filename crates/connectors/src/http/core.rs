//! One HTTP core per provider, in the spirit of Hyperswitch's
//! `ConnectorCommon`: the base URL (checked once, when the client is
//! built), path-segment encoding, the auth strategy, timeouts, bounded
//! retries honouring `Retry-After`, and the provider's own reading of its
//! error bodies. A provider's client is left with its calls.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::auth::Auth;
use super::{RawResponse, RetryPolicy, build_client, execute};
use crate::ConnectorError;

/// The hook by which a provider turns a non-success answer into a
/// [`ConnectorError`], from its status, headers and error body.
pub type ClassifyError = fn(&RawResponse) -> ConnectorError;

/// How a provider's client reaches it.
pub struct ProviderHttp {
    /// The provider's name as messages show it (`eSIM Go`).
    provider: &'static str,
    base: Url,
    http: reqwest::Client,
    retry: RetryPolicy,
    auth: Auth,
    classify: ClassifyError,
}

impl std::fmt::Debug for ProviderHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderHttp")
            .field("provider", &self.provider)
            .field("base_url", &self.base.as_str())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl ProviderHttp {
    /// The core of one provider. A base URL that does not parse, or cannot
    /// take a path, is [`ConnectorError::Config`]: a setting to fix, not
    /// a provider to wait for.
    pub fn new(
        provider: &'static str,
        base_url: &str,
        timeout: Duration,
        retry: RetryPolicy,
        auth: Auth,
        classify: ClassifyError,
    ) -> Result<Self, ConnectorError> {
        let bad = |reason: String| ConnectorError::Config {
            setting: "base_url",
            reason,
        };
        let base = Url::parse(base_url).map_err(|e| bad(e.to_string()))?;
        if base.cannot_be_a_base() {
            return Err(bad("it cannot have a path".to_owned()));
        }
        Ok(Self {
            provider,
            base,
            http: build_client(timeout),
            retry,
            auth,
            classify,
        })
    }

    /// The shared reqwest client (its timeouts included).
    pub fn client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The URL of a path given as raw segments under the base URL's path;
    /// each is percent-encoded (`IN PROGRESS` becomes `IN%20PROGRESS`, a
    /// `/` in an id `%2F`), so an id from a caller can never walk to
    /// another path.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // Never fails: `new` refused bases that cannot take a path.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends `method` to the path, authorised and retried, and returns a
    /// successful answer, or the provider's refusal as classified by its
    /// hook. `build` adds the query, body and headers of the call; it is
    /// called once per attempt. A 401 under OAuth2 drops the token and
    /// tries once more with a fresh one.
    pub async fn send(
        &self,
        method: Method,
        segments: &[&str],
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<RawResponse, ConnectorError> {
        let url = self.url(segments);
        let mut refused_once = false;
        loop {
            let authorizer = self.auth.authorizer(&self.http).await?;
            let raw = execute(self.retry, || {
                let request = self.http.request(method.clone(), url.clone());
                build(authorizer.apply(request, &method, &url))
            })
            .await?;
            if raw.status.is_success() {
                return Ok(raw);
            }
            if raw.status == StatusCode::UNAUTHORIZED && !refused_once && self.auth.refused().await
            {
                refused_once = true;
                continue;
            }
            return Err((self.classify)(&raw));
        }
    }

    /// [`ProviderHttp::send`], the answer read as JSON.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<T, ConnectorError> {
        let raw = self.send(method, segments, build).await?;
        self.decode(&raw, segments)
    }

    /// Reads a successful answer as JSON; a body that does not fit is
    /// [`ConnectorError::InvalidResponse`] (the provider may have acted).
    pub fn decode<T: DeserializeOwned>(
        &self,
        raw: &RawResponse,
        segments: &[&str],
    ) -> Result<T, ConnectorError> {
        serde_json::from_slice(&raw.body).map_err(|e| {
            ConnectorError::InvalidResponse(format!(
                "{} /{}: {e}",
                self.provider,
                segments.join("/")
            ))
        })
    }
}

/// The start of an error body, for a refusal whose body is not in the
/// provider's error shape.
pub fn body_excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(base_url: &str) -> Result<ProviderHttp, ConnectorError> {
        ProviderHttp::new(
            "Test",
            base_url,
            Duration::from_secs(1),
            RetryPolicy::default(),
            Auth::Bearer(secrecy::SecretString::from("key".to_owned())),
            |raw| super::super::error_for_status(raw, String::new()),
        )
    }

    #[test]
    fn a_bad_base_url_is_a_configuration_error_not_a_transient_one() {
        for bad in ["not a url", "mailto:ops@example.com", ""] {
            let error = core(bad).unwrap_err();
            assert!(
                matches!(
                    error,
                    ConnectorError::Config {
                        setting: "base_url",
                        ..
                    }
                ),
                "{bad}: {error:?}"
            );
            assert!(error.nothing_was_processed(), "{bad}");
            assert!(!error.is_transient(), "{bad}");
        }
    }

    #[test]
    fn ids_stay_one_segment_under_the_base_path() {
        let core = core("https://api.example.com/v2/").unwrap();
        assert_eq!(
            core.url(&["orders", "a/../b", "IN PROGRESS"]).as_str(),
            "https://api.example.com/v2/orders/a%2F..%2Fb/IN%20PROGRESS"
        );
        assert_eq!(core.url(&[]).as_str(), "https://api.example.com/v2");
    }
}
