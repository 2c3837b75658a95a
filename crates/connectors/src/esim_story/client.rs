//! HTTP client for the eSIM Story partner API, with its HMAC request signing.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use simgate_domain::{Capability, OrderKind, Product};

use super::transform;
use super::types::{
    AuthErrorBody, OptionConfig, OrderProduct, OrderRequest, OrderResponse, PlainErrorBody,
    ValidationErrorBody,
};
use crate::http::{self, RetryPolicy, secrets_match};
use crate::{
    CatalogueProgress, Connector, ConnectorError, InboundEvent, PlaceOrder, PlacedOrder,
    WebhookError,
};

/// The production base URL (the signed path includes its `/api`).
pub const PRODUCTION_URL: &str = "https://api.esimstory.com/api";
/// The provider's sandbox.
pub const SANDBOX_URL: &str = "https://sandbox-api.esimstory.com/api";
/// Header carrying the partner access key.
pub const ACCESS_KEY_HEADER: &str = "x-esim-story-access-key";
/// Header carrying the request signature.
pub const SIGNATURE_HEADER: &str = "x-esim-story-signature";
/// Header carrying the Unix timestamp that was signed.
pub const TIMESTAMP_HEADER: &str = "x-esim-story-timestamp";
/// Header carrying the shared webhook secret (the provider publishes no
/// webhook signing scheme; the operator configures this secret).
pub const WEBHOOK_SECRET_HEADER: &str = "x-esim-story-webhook-secret";
/// How far a request's timestamp may be from the server's clock.
pub const SIGNATURE_WINDOW_SECS: i64 = 300;
/// The 422 message meaning "this external order id was already ordered".
pub const DUPLICATE_ORDER: &str = "External order id has already been taken";

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the eSIM Story secret key is not valid base64")]
pub struct BadSecret;

/// The documented signature: HMAC-SHA256 over
/// `METHOD\nPATH\nTIMESTAMP\nACCESS_KEY` keyed with the base64-decoded
/// secret, as lower-case hex. The body is not signed.
pub fn signature(
    method: &str,
    path: &str,
    timestamp: i64,
    access_key: &str,
    secret_base64: &str,
) -> Result<String, BadSecret> {
    let key = BASE64.decode(secret_base64.trim()).map_err(|_| BadSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
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
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// How to reach eSIM Story.
#[derive(Debug, Clone)]
pub struct EsimStoryConfig {
    /// Base URL ending in `/api`, e.g. [`PRODUCTION_URL`].
    pub base_url: String,
    pub access_key: String,
    /// Base64 secret key; never logged.
    pub secret_key: SecretString,
    /// Shared secret the provider's webhooks must carry.
    pub webhook_secret: SecretString,
    /// The options the operator sells (eSIM Story has no catalogue endpoint).
    pub options: Vec<OptionConfig>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// The eSIM Story connector.
pub struct EsimStoryClient {
    config: EsimStoryConfig,
    http: reqwest::Client,
}

impl std::fmt::Debug for EsimStoryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsimStoryClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

impl EsimStoryClient {
    /// A client for the given configuration.
    pub fn new(config: EsimStoryConfig) -> Self {
        let http = http::build_client(config.timeout);
        Self { config, http }
    }

    /// `POST /v1/api_partner/orders`, signed.
    pub async fn create_order(
        &self,
        order: &OrderRequest,
    ) -> Result<OrderResponse, ConnectorError> {
        let url = reqwest::Url::parse(&format!(
            "{}/v1/api_partner/orders",
            self.config.base_url.trim_end_matches('/')
        ))
        .map_err(|e| ConnectorError::Connect(format!("bad eSIM Story base URL: {e}")))?;
        let path = url.path().to_owned();
        let raw = http::execute(self.config.retry, || {
            let timestamp = chrono::Utc::now().timestamp();
            let signed = signature(
                "POST",
                &path,
                timestamp,
                &self.config.access_key,
                self.config.secret_key.expose_secret(),
            )
            .unwrap_or_default();
            self.http
                .post(url.clone())
                .header(ACCESS_KEY_HEADER, &self.config.access_key)
                .header(SIGNATURE_HEADER, signed)
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .json(order)
        })
        .await?;
        if raw.status.is_success() {
            return serde_json::from_slice(&raw.body)
                .map_err(|e| ConnectorError::InvalidResponse(format!("eSIM Story order: {e}")));
        }
        let status = raw.status.as_u16();
        if status == 401 {
            let message = serde_json::from_slice::<AuthErrorBody>(&raw.body)
                .map(|b| b.error.message)
                .unwrap_or_default();
            tracing::warn!(provider = "esim-story", %message, "eSIM Story refused our signature");
            return Err(ConnectorError::Unauthorized { status });
        }
        let message = serde_json::from_slice::<ValidationErrorBody>(&raw.body)
            .map(|b| b.errors.join("; "))
            .or_else(|_| serde_json::from_slice::<PlainErrorBody>(&raw.body).map(|b| b.error))
            .unwrap_or_else(|_| {
                String::from_utf8_lossy(&raw.body)
                    .chars()
                    .take(200)
                    .collect()
            });
        Err(http::error_for_status(&raw, message))
    }

    /// The configured options as unified products.
    pub fn products(&self) -> Vec<Product> {
        self.config
            .options
            .iter()
            .filter_map(|option| match transform::product(option) {
                Ok(product) => Some(product),
                Err(reason) => {
                    tracing::warn!(provider = "esim-story", %reason, "skipped an option");
                    None
                }
            })
            .collect()
    }
}

#[async_trait]
impl Connector for EsimStoryClient {
    fn provider(&self) -> simgate_domain::ProviderId {
        simgate_domain::ProviderId::EsimStory
    }

    fn capabilities(&self) -> &'static [Capability] {
        &[
            Capability::Catalogue,
            Capability::EsimOrders,
            Capability::IdempotentOrders,
            Capability::Webhooks,
        ]
    }

    async fn fetch_catalogue(
        &self,
        progress: &(dyn Fn(CatalogueProgress) + Send + Sync),
    ) -> Result<Vec<Product>, ConnectorError> {
        let products = self.products();
        progress(CatalogueProgress {
            fetched: products.len(),
            total: Some(products.len()),
        });
        Ok(products)
    }

    async fn place_order(&self, order: &PlaceOrder) -> Result<PlacedOrder, ConnectorError> {
        if let OrderKind::TopUp { .. } = order.kind {
            return Err(ConnectorError::Unsupported(Capability::TopUps));
        }
        let request = OrderRequest {
            external_order_id: order.reference.clone(),
            products: vec![OrderProduct {
                option_id: order.sku.clone(),
                qty: order.quantity,
            }],
        };
        match self.create_order(&request).await {
            Ok(response) => Ok(transform::accepted(order, &response.products)),
            // Our order id was already ordered: that earlier call went
            // through, so this one is the same order, not a second purchase.
            Err(ConnectorError::Rejected {
                status: 422,
                message,
            }) if message.contains(DUPLICATE_ORDER) => Ok(transform::accepted(order, &[])),
            Err(other) => Err(other),
        }
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<InboundEvent, WebhookError> {
        let given = headers
            .get(WEBHOOK_SECRET_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| WebhookError::Unverified(format!("missing {WEBHOOK_SECRET_HEADER}")))?;
        if !secrets_match(given, self.config.webhook_secret.expose_secret()) {
            return Err(WebhookError::Unverified("wrong webhook secret".to_owned()));
        }
        let ready =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        transform::esim_ready(&ready).map_err(WebhookError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independent_computation() {
        // HMAC-SHA256(key = b"secret", "POST\n/api/v1/api_partner/orders\n1700000000\nAK"),
        // computed with Python's hmac module.
        let secret = BASE64.encode(b"secret");
        let signed = signature(
            "post",
            "/api/v1/api_partner/orders",
            1_700_000_000,
            "AK",
            &secret,
        )
        .unwrap();
        assert_eq!(
            signed,
            "b269cdad9e001dec093b4052f28177476b5698d1fadd80404ce3f2e08138933a"
        );
        assert_eq!(signature("x", "/", 0, "k", "not base64!"), Err(BadSecret));
    }
}
