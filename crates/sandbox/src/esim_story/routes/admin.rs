//! The test hooks under `/__admin`: the webhook target, redelivery,
//! purchases and stats.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::esim_story::state::*;
use crate::simulator::PurchaseList;

#[derive(Debug, Deserialize)]
pub(crate) struct WebhookTarget {
    pub(crate) url: String,
}

pub(crate) async fn set_webhook(
    State(sandbox): State<EsimStorySandbox>,
    Json(target): Json<WebhookTarget>,
) -> StatusCode {
    sandbox.set_webhook_url(target.url);
    StatusCode::NO_CONTENT
}

pub(crate) async fn switch_webhooks_off(State(sandbox): State<EsimStorySandbox>) -> StatusCode {
    sandbox.lock().webhook_url = None;
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
pub(crate) struct Redeliver {
    pub(crate) external_order_id: String,
}

pub(crate) async fn redeliver(
    State(sandbox): State<EsimStorySandbox>,
    Json(order): Json<Redeliver>,
) -> StatusCode {
    let Some(units) = sandbox.lock().orders.get(&order.external_order_id).cloned() else {
        return StatusCode::NOT_FOUND;
    };
    for topup_id in units {
        sandbox.deliver(&topup_id).await;
    }
    StatusCode::NO_CONTENT
}

pub(crate) async fn list_purchases(State(sandbox): State<EsimStorySandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

pub(crate) async fn stats(State(sandbox): State<EsimStorySandbox>) -> Json<serde_json::Value> {
    let state = sandbox.lock();
    Json(serde_json::json!({
        "purchases": state.purchases,
        "units": state.units.len(),
        "delivered": state.delivered,
        "undelivered": state.undelivered.len(),
    }))
}
