//! HTTP client for Telnyx addresses and SIM card orders: bearer auth, a
//! timeout on every call, bounded retries of 429/503, and Telnyx's error
//! codes carried through to the caller.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use simgate_domain::{
    NewAddress, PageRequest, ProviderId, ShippingAddress, SimOrder, SimOrderFilter, SimOrderPage,
    SimOrderPreview,
};

use super::transform;
use super::types::{
    Address, Data, ErrorBody, ListOf, OrderBody, SimCardOrder, SimCardOrderPreview,
};
use crate::http::{self, RawResponse, RetryPolicy};
use crate::{ConnectorError, SimCardOrders};

/// The header Telnyx states the seconds until its rate window resets in.
const RATE_LIMIT_RESET: &str = "x-ratelimit-reset";

/// How to reach Telnyx. `Debug` shows no key (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub struct TelnyxConfig {
    /// e.g. `https://api.telnyx.com/v2`; paths are appended to it.
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>` and nowhere else.
    pub api_key: SecretString,
    /// The longest wait for any one call.
    pub timeout: Duration,
}

/// The Telnyx connector: addresses and SIM card orders.
pub struct TelnyxClient {
    config: TelnyxConfig,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl std::fmt::Debug for TelnyxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnyxClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

impl TelnyxClient {
    /// A client for the given configuration, retrying 429/503 as
    /// [`RetryPolicy::default`] allows.
    pub fn new(config: TelnyxConfig) -> Self {
        let http = http::build_client(config.timeout);
        Self {
            config,
            http,
            retry: RetryPolicy::default(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<&B>,
    ) -> Result<T, ConnectorError> {
        let url = self.url(path);
        let raw = http::execute(self.retry, || {
            let request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.config.api_key.expose_secret())
                .query(query);
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        })
        .await?;
        if !raw.status.is_success() {
            return Err(refusal(&raw));
        }
        serde_json::from_slice(&raw.body)
            .map_err(|e| ConnectorError::InvalidResponse(format!("Telnyx {path}: {e}")))
    }

    /// `GET /sim_card_orders/{id}` as sent.
    pub async fn raw_sim_order(&self, id: &str) -> Result<SimCardOrder, ConnectorError> {
        let path = format!("/sim_card_orders/{}", url_segment(id));
        let answer: Data<SimCardOrder> = self.call(Method::GET, &path, &[], None::<&()>).await?;
        Ok(answer.data)
    }
}

/// Percent-encodes an id for use as one path segment, so an id from a
/// caller can never walk to another path.
fn url_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// Maps a refusal: 401/403 are our key, 404 is the thing asked for, 429
/// carries when to come back, any other 4xx keeps Telnyx's code and detail.
fn refusal(raw: &RawResponse) -> ConnectorError {
    let first = serde_json::from_slice::<ErrorBody>(&raw.body)
        .ok()
        .and_then(|body| body.errors.into_iter().next());
    let detail = match &first {
        Some(error) => error.detail.clone().unwrap_or_else(|| error.title.clone()),
        None => String::from_utf8_lossy(&raw.body)
            .chars()
            .take(200)
            .collect(),
    };
    let code = first.as_ref().map(|e| e.code.as_str()).unwrap_or("");
    tracing::warn!(provider = "telnyx", status = %raw.status, code, "Telnyx refused a call");
    let status = raw.status.as_u16();
    match raw.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectorError::Unauthorized { status },
        StatusCode::NOT_FOUND => ConnectorError::NotFound(detail),
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited {
            retry_after: http::retry_after(&raw.headers)
                .or_else(|| http::header_seconds(&raw.headers, RATE_LIMIT_RESET)),
        },
        s if s.is_client_error() => match first {
            Some(error) => ConnectorError::Provider {
                status,
                code: error.code,
                detail,
            },
            None => ConnectorError::Rejected {
                status,
                message: detail,
            },
        },
        _ => http::error_for_status(raw, detail),
    }
}

fn order_body(address_id: &str, quantity: u32) -> OrderBody {
    OrderBody {
        address_id: address_id.to_owned(),
        quantity: i64::from(quantity),
    }
}

#[async_trait]
impl SimCardOrders for TelnyxClient {
    fn provider(&self) -> ProviderId {
        ProviderId::Telnyx
    }

    async fn create_address(
        &self,
        address: &NewAddress,
    ) -> Result<ShippingAddress, ConnectorError> {
        let body = transform::address_body(address);
        let answer: Data<Address> = self
            .call(Method::POST, "/addresses", &[], Some(&body))
            .await?;
        transform::shipping_address(&answer.data)
    }

    async fn preview_sim_order(
        &self,
        address_id: &str,
        quantity: u32,
    ) -> Result<SimOrderPreview, ConnectorError> {
        let body = order_body(address_id, quantity);
        let answer: Data<SimCardOrderPreview> = self
            .call(Method::POST, "/sim_card_order_preview", &[], Some(&body))
            .await?;
        transform::preview(&answer.data)
    }

    async fn create_sim_order(
        &self,
        address_id: &str,
        quantity: u32,
    ) -> Result<SimOrder, ConnectorError> {
        let body = order_body(address_id, quantity);
        let answer: Data<SimCardOrder> = self
            .call(Method::POST, "/sim_card_orders", &[], Some(&body))
            .await?;
        transform::sim_order(&answer.data)
    }

    async fn sim_order(&self, id: &str) -> Result<SimOrder, ConnectorError> {
        transform::sim_order(&self.raw_sim_order(id).await?)
    }

    async fn list_sim_orders(
        &self,
        filter: &SimOrderFilter,
        page: PageRequest,
    ) -> Result<SimOrderPage, ConnectorError> {
        let query = transform::list_query(filter, page);
        let answer: ListOf<SimCardOrder> = self
            .call(Method::GET, "/sim_card_orders", &query, None::<&()>)
            .await?;
        transform::page(&answer)
    }
}
