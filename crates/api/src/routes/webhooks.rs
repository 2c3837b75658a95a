//! `POST /v1/webhooks/{provider}`: where providers deliver their events.
//!
//! Not authenticated by tenant API key: each provider's connector verifies
//! its own signature or shared secret before the body is read.

use axum::Json;
use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use serde::Serialize;
use simgate_domain::ProviderId;
use simgate_service::WebhookOutcome;
use utoipa::ToSchema;

use crate::AppState;
use crate::problem::{ApiError, Problem};

/// What simgate did with a webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// `applied`, or `duplicate` for a delivery already received.
    pub status: String,
}

/// Receives a provider's webhook.
#[utoipa::path(post, operation_id = "receiveProviderWebhook", path = "/v1/webhooks/{provider}", tag = "webhooks",
    params(("provider" = String, Path, description = "e.g. `esim-story`")),
    request_body(content = String, description = "The provider's own webhook body", content_type = "application/json"),
    responses((status = 200, body = WebhookReceipt), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem, description = "Too many webhooks from this address (`rate_limited`)")))]
pub async fn receive(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookReceipt>, ApiError> {
    // Before anything is read: no key is needed to send one.
    if let Some(Extension(ConnectInfo(peer))) = peer {
        state.services.admit_webhook_from(peer.ip())?;
    }
    let provider: ProviderId = provider.parse()?;
    let outcome = state
        .services
        .receive_webhook(provider, &headers, &body)
        .await?;
    Ok(Json(WebhookReceipt {
        status: match outcome {
            WebhookOutcome::Applied => "applied",
            WebhookOutcome::Duplicate => "duplicate",
        }
        .to_owned(),
    }))
}
