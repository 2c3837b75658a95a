//! HTTP client for the eSIM Story partner API, with its HMAC request signing.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit};
use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use simgate_domain::{Capability, OrderKind, Product};

use super::transform;
use super::types::{
    AuthErrorBody, OptionConfig, OrderProduct, OrderRequest, OrderResponse, PlainErrorBody,
    ValidationErrorBody,
};
use crate::http::auth::{Auth, HmacSigning, hmac_signature};
use crate::http::core::{ProviderHttp, body_excerpt};
use crate::http::{self, RawResponse, RetryPolicy, secrets_match};
use crate::{
    CatalogueProgress, Connector, ConnectorError, InboundEvent, PlaceOrder, PlacedOrder,
    ReconcileStrategy, WebhookError,
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
    let mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
    Ok(hmac_signature(mac, method, path, timestamp, access_key))
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
    http: ProviderHttp,
}

impl std::fmt::Debug for EsimStoryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsimStoryClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

impl EsimStoryClient {
    /// A client for the given configuration; a base URL that cannot be
    /// used, or a secret key that is not base64, is
    /// [`ConnectorError::Config`].
    pub fn new(config: EsimStoryConfig) -> Result<Self, ConnectorError> {
        let key = BASE64
            .decode(config.secret_key.expose_secret().trim())
            .map_err(|e| ConnectorError::Config {
                setting: "secret_key",
                reason: format!("not base64: {e}"),
            })?;
        let signing = HmacSigning::new(
            config.access_key.clone(),
            &key,
            ACCESS_KEY_HEADER,
            SIGNATURE_HEADER,
            TIMESTAMP_HEADER,
        )?;
        let http = ProviderHttp::new(
            "eSIM Story",
            &config.base_url,
            config.timeout,
            config.retry,
            Auth::Hmac(signing),
            refusal,
        )?;
        Ok(Self { config, http })
    }

    /// `POST /v1/api_partner/orders`, signed.
    pub async fn create_order(
        &self,
        order: &OrderRequest,
    ) -> Result<OrderResponse, ConnectorError> {
        self.http
            .json(Method::POST, &["v1", "api_partner", "orders"], |request| {
                request.json(order)
            })
            .await
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

/// Reads eSIM Story's error bodies: 401 (a refused signature) carries
/// `{"error": {"message"}}`, validation failures `{"errors": [...]}`, and
/// other refusals `{"error": "..."}`.
fn refusal(raw: &RawResponse) -> ConnectorError {
    let status = raw.status.as_u16();
    if status == 401 {
        let message = serde_json::from_slice::<AuthErrorBody>(&raw.body)
            .map(|b| b.error.message)
            .unwrap_or_default();
        tracing::warn!(provider = "esim-story", %message, "eSIM Story refused our signature");
        return ConnectorError::Unauthorized { status };
    }
    let message = serde_json::from_slice::<ValidationErrorBody>(&raw.body)
        .map(|b| b.errors.join("; "))
        .or_else(|_| serde_json::from_slice::<PlainErrorBody>(&raw.body).map(|b| b.error))
        .unwrap_or_else(|_| body_excerpt(&raw.body));
    http::error_for_status(raw, message)
}

#[async_trait]
impl Connector for EsimStoryClient {
    fn provider(&self) -> simgate_domain::ProviderId {
        simgate_domain::ProviderId::EsimStory
    }

    fn reconcile_strategy(&self) -> ReconcileStrategy {
        ReconcileStrategy::IdempotentResubmission
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
        self.read_webhook(body)
    }

    fn read_webhook(&self, body: &[u8]) -> Result<InboundEvent, WebhookError> {
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
