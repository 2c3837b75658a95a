//! HTTP client for Sim Local UNITE: OAuth2 client credentials (token cached
//! and refreshed before expiry, one refresh at a time), every operation of
//! the reference, and verification of the fulfilment webhook.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, TokenResponse, TokenUrl};
use reqwest::header::{ACCEPT_LANGUAGE, HeaderMap};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use simgate_domain::{Capability, OrderKind, Product, ProviderId};
use tokio::sync::Mutex;

use super::transform;
use super::types::{
    CreateOrder, Destination, ErrorBody, FulfilmentWebhook, Order, OrderItemRequest, OrderPage,
    ProductOffering,
};
use crate::http::{self, RawResponse, RetryPolicy};
use crate::{
    CatalogueProgress, Connector, ConnectorError, InboundEvent, PlaceOrder, PlacedOrder,
    WebhookError,
};

/// Share of a token's lifetime after which it is refreshed.
const REFRESH_AT: f64 = 0.8;
/// Lifetime assumed when the token answer gives none.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// How to reach Sim Local UNITE. The paths and the token URL are not
/// published; see the module documentation.
#[derive(Debug, Clone)]
pub struct SimLocalConfig {
    pub base_url: String,
    /// OAuth2 token endpoint (client credentials).
    pub token_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// API key the fulfilment webhook must carry.
    pub webhook_api_key: SecretString,
    /// Header carrying it (default `x-api-key`).
    pub webhook_header: String,
    /// Ask the provider to wait for completion before answering.
    pub synchronous: bool,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
}

/// The Sim Local connector.
pub struct SimLocalClient {
    config: SimLocalConfig,
    http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for SimLocalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimLocalClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

/// Why the token request failed, for the OAuth2 adapter.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct TransportError(#[from] reqwest::Error);

impl SimLocalClient {
    /// A client for the given configuration.
    pub fn new(config: SimLocalConfig) -> Self {
        let http = http::build_client(config.timeout);
        Self {
            config,
            http,
            token: Mutex::new(None),
        }
    }

    /// A valid access token: the cached one, or a fresh one when it is due
    /// for refresh. The lock makes concurrent callers share one refresh.
    async fn access_token(&self) -> Result<SecretString, ConnectorError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.token.clone());
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn fetch_token(&self) -> Result<CachedToken, ConnectorError> {
        let token_url = TokenUrl::new(self.config.token_url.clone())
            .map_err(|e| ConnectorError::Connect(format!("bad Sim Local token URL: {e}")))?;
        let client = BasicClient::new(ClientId::new(self.config.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.config.client_secret.expose_secret().to_owned(),
            ))
            .set_token_uri(token_url);
        let http = self.http.clone();
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
                    ConnectorError::Connect(e.without_url().to_string())
                }
                other => ConnectorError::InvalidResponse(format!("Sim Local token: {other}")),
            })?;
        let lifetime = response.expires_in().unwrap_or(DEFAULT_TOKEN_LIFETIME);
        tracing::debug!(
            provider = "sim-local",
            lifetime_secs = lifetime.as_secs(),
            "fetched an access token"
        );
        Ok(CachedToken {
            token: SecretString::from(response.access_token().secret().to_owned()),
            refresh_at: started + lifetime.mul_f64(REFRESH_AT),
        })
    }

    async fn send<Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &Q,
        body: Option<&B>,
        language: Option<&str>,
    ) -> Result<RawResponse, ConnectorError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        for attempt in 0..2 {
            let token = self.access_token().await?;
            let raw = http::execute(self.config.retry, || {
                let mut request = self
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(token.expose_secret())
                    .query(query);
                if let Some(language) = language {
                    request = request.header(ACCEPT_LANGUAGE, language);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                request
            })
            .await?;
            if raw.status == StatusCode::UNAUTHORIZED && attempt == 0 {
                // Revoked or expired early: fetch a new token once.
                self.forget_token().await;
                continue;
            }
            if raw.status.is_success() {
                return Ok(raw);
            }
            if raw.status == StatusCode::UNAUTHORIZED {
                return Err(ConnectorError::Unauthorized { status: 401 });
            }
            let message = serde_json::from_slice::<ErrorBody>(&raw.body)
                .map(|e| {
                    if e.message.is_empty() {
                        e.error
                    } else {
                        e.message
                    }
                })
                .unwrap_or_else(|_| {
                    String::from_utf8_lossy(&raw.body)
                        .chars()
                        .take(200)
                        .collect()
                });
            tracing::warn!(provider = "sim-local", status = %raw.status, %message, "Sim Local refused a call");
            return Err(http::error_for_status(&raw, message));
        }
        Err(ConnectorError::Unauthorized { status: 401 })
    }

    async fn json<T: DeserializeOwned, Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &Q,
        body: Option<&B>,
        language: Option<&str>,
    ) -> Result<T, ConnectorError> {
        let raw = self.send(method, path, query, body, language).await?;
        serde_json::from_slice(&raw.body)
            .map_err(|e| ConnectorError::InvalidResponse(format!("Sim Local {path}: {e}")))
    }

    /// `GET /destinations`, names in the given language (default `en`).
    pub async fn destinations(
        &self,
        language: Option<&str>,
    ) -> Result<Vec<Destination>, ConnectorError> {
        self.json(
            Method::GET,
            "/destinations",
            &(),
            None::<&()>,
            Some(language.unwrap_or("en")),
        )
        .await
    }

    /// `GET /product-offerings`, optionally for a physical SIM and a destination.
    pub async fn product_offerings(
        &self,
        ssn: Option<&str>,
        destination: Option<&str>,
    ) -> Result<Vec<ProductOffering>, ConnectorError> {
        let query = [("ssn", ssn), ("destination", destination)];
        let query: Vec<(&str, &str)> = query
            .iter()
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect();
        self.json(Method::GET, "/product-offerings", &query, None::<&()>, None)
            .await
    }

    /// `GET /faulty-reasons`.
    pub async fn faulty_reasons(&self) -> Result<Vec<String>, ConnectorError> {
        self.json(Method::GET, "/faulty-reasons", &(), None::<&()>, None)
            .await
    }

    /// `POST /orders?synchronous=`.
    pub async fn create_order(
        &self,
        order: &CreateOrder,
        synchronous: bool,
    ) -> Result<Order, ConnectorError> {
        self.json(
            Method::POST,
            "/orders",
            &[("synchronous", synchronous)],
            Some(order),
            None,
        )
        .await
    }

    /// `GET /orders?external_reference=`: a Spring-style page.
    pub async fn search_orders(
        &self,
        external_reference: &str,
    ) -> Result<OrderPage, ConnectorError> {
        self.json(
            Method::GET,
            "/orders",
            &[("external_reference", external_reference)],
            None::<&()>,
            None,
        )
        .await
    }

    /// `GET /orders/{id}`.
    pub async fn order(&self, id: &str) -> Result<Order, ConnectorError> {
        self.json(
            Method::GET,
            &format!("/orders/{}", encode(id)),
            &(),
            None::<&()>,
            None,
        )
        .await
    }

    /// `POST /orders/{id}/faulty?reason=&note=`; only `COMPLETED` orders.
    pub async fn report_faulty(
        &self,
        id: &str,
        reason: &str,
        note: Option<&str>,
    ) -> Result<Order, ConnectorError> {
        let mut query = vec![("reason", reason)];
        if let Some(note) = note {
            query.push(("note", note));
        }
        self.json(
            Method::POST,
            &format!("/orders/{}/faulty", encode(id)),
            &query,
            None::<&()>,
            None,
        )
        .await
    }
}

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

#[async_trait]
impl Connector for SimLocalClient {
    fn provider(&self) -> ProviderId {
        ProviderId::SimLocal
    }

    fn capabilities(&self) -> &'static [Capability] {
        &[
            Capability::Catalogue,
            Capability::EsimOrders,
            Capability::OrderLookup,
            Capability::Webhooks,
        ]
    }

    async fn fetch_catalogue(
        &self,
        progress: &(dyn Fn(CatalogueProgress) + Send + Sync),
    ) -> Result<Vec<Product>, ConnectorError> {
        let offerings = self.product_offerings(None, None).await?;
        progress(CatalogueProgress {
            fetched: offerings.len(),
            total: Some(offerings.len()),
        });
        Ok(offerings
            .iter()
            .filter_map(|o| match transform::product(o) {
                Ok(product) => Some(product),
                Err(reason) => {
                    tracing::warn!(provider = "sim-local", %reason, "skipped an offering");
                    None
                }
            })
            .collect())
    }

    async fn place_order(&self, order: &PlaceOrder) -> Result<PlacedOrder, ConnectorError> {
        if let OrderKind::TopUp { .. } = order.kind {
            return Err(ConnectorError::Unsupported(Capability::TopUps));
        }
        if order.quantity != 1 {
            return Err(ConnectorError::Rejected {
                status: 422,
                message: "a Sim Local order holds exactly one item".to_owned(),
            });
        }
        let request = CreateOrder {
            item: OrderItemRequest {
                product_offering_id: order.sku.clone(),
                ssn: None,
            },
            external_reference: Some(order.reference.clone()),
            locale: "en".to_owned(),
            contact_name: None,
            contact_email: None,
        };
        let created = self.create_order(&request, self.config.synchronous).await?;
        transform::placed_order(&created)
    }

    async fn order_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<PlacedOrder>, ConnectorError> {
        let page = self.search_orders(reference).await?;
        page.content
            .first()
            .map(transform::placed_order)
            .transpose()
    }

    async fn fetch_order(&self, reference: &str) -> Result<PlacedOrder, ConnectorError> {
        transform::placed_order(&self.order(reference).await?)
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<InboundEvent, WebhookError> {
        let given = headers
            .get(self.config.webhook_header.as_str())
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                WebhookError::Unverified(format!("missing {}", self.config.webhook_header))
            })?;
        let expected = self.config.webhook_api_key.expose_secret();
        if !http::secrets_match(given, expected) {
            return Err(WebhookError::Unverified("wrong API key".to_owned()));
        }
        let webhook: FulfilmentWebhook =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(InboundEvent::OrderChanged {
            delivery_id: format!("{}:{}", webhook.order_id, webhook.status),
            order_reference: webhook.order_id,
        })
    }
}
