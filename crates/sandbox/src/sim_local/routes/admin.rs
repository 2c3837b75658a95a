//! The test hooks under `/__admin`: the fulfilment webhook target, token
//! revocation, purchases, stats and a broken order search.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::sim_local::state::*;
use crate::simulator::PurchaseList;

#[derive(Debug, Deserialize)]
pub(crate) struct WebhookTarget {
    pub(crate) url: String,
}

pub(crate) async fn set_webhook(
    State(sandbox): State<SimLocalSandbox>,
    Json(target): Json<WebhookTarget>,
) -> StatusCode {
    sandbox.set_webhook_url(Some(target.url));
    StatusCode::NO_CONTENT
}

pub(crate) async fn clear_webhook(State(sandbox): State<SimLocalSandbox>) -> StatusCode {
    sandbox.set_webhook_url(None);
    StatusCode::NO_CONTENT
}

pub(crate) async fn revoke_tokens(State(sandbox): State<SimLocalSandbox>) -> StatusCode {
    sandbox.lock().tokens.clear();
    StatusCode::NO_CONTENT
}

pub(crate) async fn list_purchases(State(sandbox): State<SimLocalSandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

pub(crate) async fn stats(State(sandbox): State<SimLocalSandbox>) -> Json<serde_json::Value> {
    let state = sandbox.lock();
    Json(serde_json::json!({
        "tokens_issued": state.tokens_issued,
        "purchases": state.purchases,
        "webhooks_delivered": state.webhooks_delivered,
        "faulty": state.faulty.len(),
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LooseSearch {
    pub(crate) enabled: bool,
}

/// Makes the order search ignore its filter (or obey it again).
pub(crate) async fn set_loose_search(
    State(sandbox): State<SimLocalSandbox>,
    Json(body): Json<LooseSearch>,
) -> StatusCode {
    sandbox.lock().loose_search = body.enabled;
    StatusCode::NO_CONTENT
}
