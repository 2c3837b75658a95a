//! HTTP client for Sim Local UNITE: OAuth2 client credentials (token cached
//! and refreshed before expiry, one refresh at a time), every operation of
//! the reference, and verification of the fulfilment webhook.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{ACCEPT_LANGUAGE, HeaderMap};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use simgate_domain::{Capability, OrderKind, Product, ProviderId};

use super::transform;
use super::types::{
    CreateOrder, Destination, ErrorBody, FulfilmentWebhook, Order, OrderItemRequest, OrderPage,
    ProductOffering,
};
use crate::http::auth::{Auth, OAuth2ClientCredentials};
use crate::http::core::{ProviderHttp, body_excerpt};
use crate::http::{self, RawResponse, RetryPolicy};
use crate::{
    CatalogueProgress, Connector, ConnectorError, InboundEvent, PlaceOrder, PlacedOrder,
    ReconcileStrategy, WebhookError,
};

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

/// The Sim Local connector.
pub struct SimLocalClient {
    config: SimLocalConfig,
    http: ProviderHttp,
}

impl std::fmt::Debug for SimLocalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimLocalClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

impl SimLocalClient {
    /// A client for the given configuration; a base or token URL that
    /// cannot be used is [`ConnectorError::Config`].
    pub fn new(config: SimLocalConfig) -> Result<Self, ConnectorError> {
        let oauth = OAuth2ClientCredentials::new(
            "Sim Local",
            &config.token_url,
            config.client_id.clone(),
            config.client_secret.clone(),
        )?;
        let http = ProviderHttp::new(
            "Sim Local",
            &config.base_url,
            config.timeout,
            config.retry,
            Auth::OAuth2(oauth),
            refusal,
        )?;
        Ok(Self { config, http })
    }

    async fn json<T: DeserializeOwned, Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        query: &Q,
        body: Option<&B>,
        language: Option<&str>,
    ) -> Result<T, ConnectorError> {
        self.http
            .json(method, segments, |request| {
                let mut request = request.query(query);
                if let Some(language) = language {
                    request = request.header(ACCEPT_LANGUAGE, language);
                }
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await
    }

    /// `GET /destinations`, names in the given language (default `en`).
    pub async fn destinations(
        &self,
        language: Option<&str>,
    ) -> Result<Vec<Destination>, ConnectorError> {
        self.json(
            Method::GET,
            &["destinations"],
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
        self.json(
            Method::GET,
            &["product-offerings"],
            &query,
            None::<&()>,
            None,
        )
        .await
    }

    /// `GET /faulty-reasons`.
    pub async fn faulty_reasons(&self) -> Result<Vec<String>, ConnectorError> {
        self.json(Method::GET, &["faulty-reasons"], &(), None::<&()>, None)
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
            &["orders"],
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
            &["orders"],
            &[("external_reference", external_reference)],
            None::<&()>,
            None,
        )
        .await
    }

    /// `GET /orders/{id}`.
    pub async fn order(&self, id: &str) -> Result<Order, ConnectorError> {
        self.json(Method::GET, &["orders", id], &(), None::<&()>, None)
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
            &["orders", id, "faulty"],
            &query,
            None::<&()>,
            None,
        )
        .await
    }
}

/// Reads Sim Local's Spring Boot `{status, error, message}` body: 401 is
/// our token (refused again after a fresh one), the rest is classified by
/// status.
fn refusal(raw: &RawResponse) -> ConnectorError {
    if raw.status == StatusCode::UNAUTHORIZED {
        return ConnectorError::Unauthorized { status: 401 };
    }
    let message = serde_json::from_slice::<ErrorBody>(&raw.body).map_or_else(
        |_| body_excerpt(&raw.body),
        |e| {
            if e.message.is_empty() {
                e.error
            } else {
                e.message
            }
        },
    );
    tracing::warn!(provider = "sim-local", status = %raw.status, %message, "Sim Local refused a call");
    http::error_for_status(raw, message)
}

#[async_trait]
impl Connector for SimLocalClient {
    fn provider(&self) -> ProviderId {
        ProviderId::SimLocal
    }

    fn reconcile_strategy(&self) -> ReconcileStrategy {
        ReconcileStrategy::LookupByReference
    }

    fn capabilities(&self) -> &'static [Capability] {
        &[
            Capability::Catalogue,
            Capability::EsimOrders,
            Capability::OrderLookup,
            Capability::Webhooks,
            Capability::FaultyReports,
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
        // Only an order carrying our reference is ours: a search that
        // ignored or loosened its filter must not hand us someone else's.
        let page = self.search_orders(reference).await?;
        page.content
            .iter()
            .find(|o| o.external_reference.as_deref() == Some(reference))
            .map(transform::placed_order)
            .transpose()
    }

    async fn fetch_order(&self, reference: &str) -> Result<PlacedOrder, ConnectorError> {
        transform::placed_order(&self.order(reference).await?)
    }

    async fn faulty_reasons(&self) -> Result<Vec<String>, ConnectorError> {
        SimLocalClient::faulty_reasons(self).await
    }

    async fn report_faulty(
        &self,
        reference: &str,
        reason: &str,
        description: Option<&str>,
    ) -> Result<(), ConnectorError> {
        SimLocalClient::report_faulty(self, reference, reason, description)
            .await
            .map(drop)
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
        self.read_webhook(body)
    }

    fn read_webhook(&self, body: &[u8]) -> Result<InboundEvent, WebhookError> {
        let webhook: FulfilmentWebhook =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(InboundEvent::OrderChanged {
            delivery_id: format!("{}:{}", webhook.order_id, webhook.status),
            order_reference: webhook.order_id,
        })
    }
}
