//! How a provider is told who simgate is: one strategy per scheme the
//! providers use, applied by the core to every attempt of every call, so a
//! client never touches a credential itself.

use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, TokenResponse, TokenUrl};
use reqwest::{Method, RequestBuilder, Url};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tokio::sync::Mutex;

use crate::ConnectorError;

/// Share of a token's lifetime after which it is refreshed.
const REFRESH_AT: f64 = 0.8;
/// Lifetime assumed when the token answer gives none.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The ways providers authenticate simgate. `Debug` never shows a secret.
#[derive(Debug)]
pub enum Auth {
    /// A fixed key in a header of the provider's choosing (eSIM Go's
    /// `X-API-Key`).
    ApiKey {
        header: &'static str,
        key: SecretString,
    },
    /// `Authorization: Bearer <key>` (Telnyx, ONSIM).
    Bearer(SecretString),
    /// OAuth2 client credentials, the token cached (Sim Local).
    OAuth2(OAuth2ClientCredentials),
    /// Every request signed with HMAC-SHA256 (eSIM Story).
    Hmac(HmacSigning),
}

/// What one call is authorised with; the OAuth2 token is resolved once per
/// call, while a signature is computed again for every attempt (it carries
/// the time).
pub(crate) enum Authorizer<'a> {
    Header {
        name: &'a str,
        value: &'a SecretString,
    },
    Bearer(SecretString),
    Signed(&'a HmacSigning),
}

impl Auth {
    /// The credential of one call: for OAuth2 the cached token, fetched or
    /// refreshed first when due.
    pub(crate) async fn authorizer(
        &self,
        http: &reqwest::Client,
    ) -> Result<Authorizer<'_>, ConnectorError> {
        Ok(match self {
            Self::ApiKey { header, key } => Authorizer::Header {
                name: header,
                value: key,
            },
            Self::Bearer(key) => Authorizer::Bearer(key.clone()),
            Self::OAuth2(oauth) => Authorizer::Bearer(oauth.access_token(http).await?),
            Self::Hmac(signing) => Authorizer::Signed(signing),
        })
    }

    /// Called when the provider answered 401: true when a fresh credential
    /// may help (a revoked or early-expired OAuth2 token, now forgotten),
    /// so the call is tried once more.
    pub(crate) async fn refused(&self) -> bool {
        match self {
            Self::OAuth2(oauth) => {
                oauth.forget().await;
                true
            }
            Self::ApiKey { .. } | Self::Bearer(_) | Self::Hmac(_) => false,
        }
    }
}

impl Authorizer<'_> {
    /// Adds the credential to one attempt at `method url`.
    pub(crate) fn apply(
        &self,
        request: RequestBuilder,
        method: &Method,
        url: &Url,
    ) -> RequestBuilder {
        match self {
            Self::Header { name, value } => request.header(*name, value.expose_secret()),
            Self::Bearer(token) => request.bearer_auth(token.expose_secret()),
            Self::Signed(signing) => signing.sign(request, method, url),
        }
    }
}

struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
}

/// OAuth2 client credentials: the token is cached and refreshed before it
/// expires, one refresh at a time, so concurrent calls share one token.
pub struct OAuth2ClientCredentials {
    token_url: TokenUrl,
    client_id: String,
    client_secret: SecretString,
    provider: &'static str,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for OAuth2ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Why the token request failed, for the OAuth2 adapter.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct TransportError(#[from] reqwest::Error);

impl OAuth2ClientCredentials {
    /// Credentials for a token endpoint, checked here so that a bad URL is
    /// a configuration error at start rather than a failure on first use.
    pub fn new(
        provider: &'static str,
        token_url: &str,
        client_id: String,
        client_secret: SecretString,
    ) -> Result<Self, ConnectorError> {
        let token_url =
            TokenUrl::new(token_url.to_owned()).map_err(|e| ConnectorError::Config {
                setting: "token_url",
                reason: e.to_string(),
            })?;
        Ok(Self {
            token_url,
            client_id,
            client_secret,
            provider,
            token: Mutex::new(None),
        })
    }

    /// A valid access token: the cached one, or a fresh one when it is due
    /// for refresh. The lock makes concurrent callers share one refresh.
    async fn access_token(&self, http: &reqwest::Client) -> Result<SecretString, ConnectorError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.token.clone());
        }
        let fresh = self.fetch(http).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn forget(&self) {
        *self.token.lock().await = None;
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<CachedToken, ConnectorError> {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            ))
            .set_token_uri(self.token_url.clone());
        let http = http.clone();
        let send = move |request: oauth2::HttpRequest| {
            let http = http.clone();
            async move {
                let (parts, body) = request.into_parts();
                let response = http
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await?;
                let mut answer = oauth2::http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    answer = answer.header(name, value);
                }
                let body = response.bytes().await?.to_vec();
                Ok::<_, TransportError>(answer.body(body).unwrap_or_default())
            }
        };
        let started = Instant::now();
        let response = client
            .exchange_client_credentials()
            .request_async(&send)
            .await
            .map_err(|error| match error {
                oauth2::RequestTokenError::ServerResponse(_) => {
                    ConnectorError::Unauthorized { status: 401 }
                }
                oauth2::RequestTokenError::Request(TransportError(e)) if e.is_timeout() => {
                    ConnectorError::Timeout
                }
                oauth2::RequestTokenError::Request(TransportError(e)) => {
                    ConnectorError::Connect(e.without_url())
                }
                other => {
                    ConnectorError::InvalidResponse(format!("{} token: {other}", self.provider))
                }
            })?;
        let lifetime = response.expires_in().unwrap_or(DEFAULT_TOKEN_LIFETIME);
        tracing::debug!(
            provider = self.provider,
            lifetime_secs = lifetime.as_secs(),
            "fetched an access token"
        );
        Ok(CachedToken {
            token: SecretString::from(response.access_token().secret().to_owned()),
            refresh_at: started + lifetime.mul_f64(REFRESH_AT),
        })
    }
}

/// HMAC-SHA256 request signing as eSIM Story documents it: over
/// `METHOD\nPATH\nTIMESTAMP\nACCESS_KEY`, as lower-case hex, the access
/// key, signature and Unix timestamp each sent in a header. The body is not
/// signed.
pub struct HmacSigning {
    access_key: String,
    mac: Hmac<Sha256>,
    access_key_header: &'static str,
    signature_header: &'static str,
    timestamp_header: &'static str,
}

impl std::fmt::Debug for HmacSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacSigning")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// The signature of one request, given the MAC keyed with the decoded
/// secret (cloned per request: keying it once checks the key once).
pub fn hmac_signature(
    mut mac: Hmac<Sha256>,
    method: &str,
    path: &str,
    timestamp: i64,
    access_key: &str,
) -> String {
    mac.update(
        format!(
            "{}\n{}\n{}\n{}",
            method.to_ascii_uppercase(),
            path,
            timestamp,
            access_key
        )
        .as_bytes(),
    );
    hex::encode(mac.finalize().into_bytes())
}

impl HmacSigning {
    /// Signing with a decoded key, its three headers named by the provider;
    /// a key HMAC cannot take is a configuration error.
    pub fn new(
        access_key: String,
        key: &[u8],
        access_key_header: &'static str,
        signature_header: &'static str,
        timestamp_header: &'static str,
    ) -> Result<Self, ConnectorError> {
        let mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|e| ConnectorError::Config {
                setting: "secret_key",
                reason: e.to_string(),
            })?;
        Ok(Self {
            access_key,
            mac,
            access_key_header,
            signature_header,
            timestamp_header,
        })
    }

    fn sign(&self, request: RequestBuilder, method: &Method, url: &Url) -> RequestBuilder {
        let timestamp = chrono::Utc::now().timestamp();
        let signed = hmac_signature(
            self.mac.clone(),
            method.as_str(),
            url.path(),
            timestamp,
            &self.access_key,
        );
        request
            .header(self.access_key_header, &self.access_key)
            .header(self.signature_header, signed)
            .header(self.timestamp_header, timestamp.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_token_url_is_a_configuration_error() {
        let error = OAuth2ClientCredentials::new(
            "Test",
            "not a url",
            "client".to_owned(),
            SecretString::from("secret-that-must-not-leak".to_owned()),
        )
        .unwrap_err();
        assert!(matches!(
            error,
            ConnectorError::Config {
                setting: "token_url",
                ..
            }
        ));
        assert!(!error.is_transient());
    }

    #[test]
    fn no_secret_reaches_debug_output() {
        let oauth = OAuth2ClientCredentials::new(
            "Test",
            "https://auth.example.com/token",
            "client".to_owned(),
            SecretString::from("secret-that-must-not-leak".to_owned()),
        )
        .unwrap();
        let signing =
            HmacSigning::new("AK".to_owned(), b"secret-that-must-not-leak", "a", "s", "t").unwrap();
        let key = || SecretString::from("secret-that-must-not-leak".to_owned());
        for auth in [
            Auth::OAuth2(oauth),
            Auth::Hmac(signing),
            Auth::Bearer(key()),
            Auth::ApiKey {
                header: "X-API-Key",
                key: key(),
            },
        ] {
            assert!(!format!("{auth:?}").contains("secret-that-must-not-leak"));
        }
    }
}
