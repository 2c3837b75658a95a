//! HTTP client for Telnyx addresses and SIM card orders: bearer auth, a
//! timeout on every call, bounded retries of 429/503, and Telnyx's error
//! codes carried through to the caller.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
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
use crate::http::auth::Auth;
use crate::http::core::{ProviderHttp, body_excerpt};
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
    http: ProviderHttp,
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
    /// [`RetryPolicy::default`] allows; a base URL that cannot be used is
    /// [`ConnectorError::Config`].
    pub fn new(config: TelnyxConfig) -> Result<Self, ConnectorError> {
        let http = ProviderHttp::new(
            "Telnyx",
            &config.base_url,
            config.timeout,
            RetryPolicy::default(),
            Auth::Bearer(config.api_key.clone()),
            refusal,
        )?;
        Ok(Self { config, http })
    }

    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&'static str, String)],
        body: Option<&B>,
    ) -> Result<T, ConnectorError> {
        self.http
            .json(method, segments, |request| {
                let request = request.query(query);
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await
    }

    /// `GET /sim_card_orders/{id}` as sent.
    pub async fn raw_sim_order(&self, id: &str) -> Result<SimCardOrder, ConnectorError> {
        let answer: Data<SimCardOrder> = self
            .call(Method::GET, &["sim_card_orders", id], &[], None::<&()>)
            .await?;
        Ok(answer.data)
    }
}

/// Maps a refusal: 401/403 are our key, 404 is the thing asked for, 429
/// carries when to come back, any other 4xx keeps Telnyx's code and detail.
fn refusal(raw: &RawResponse) -> ConnectorError {
    let first = serde_json::from_slice::<ErrorBody>(&raw.body)
        .ok()
        .and_then(|body| body.errors.into_iter().next());
    let detail = match &first {
        Some(error) => error.detail.clone().unwrap_or_else(|| error.title.clone()),
        None => body_excerpt(&raw.body),
    };
    let code = first.as_ref().map_or("", |e| e.code.as_str());
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
            .call(Method::POST, &["addresses"], &[], Some(&body))
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
            .call(Method::POST, &["sim_card_order_preview"], &[], Some(&body))
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
            .call(Method::POST, &["sim_card_orders"], &[], Some(&body))
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
            .call(Method::GET, &["sim_card_orders"], &query, None::<&()>)
            .await?;
        transform::page(&answer)
    }
}
