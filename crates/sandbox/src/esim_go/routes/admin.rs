//! The test hooks under `/__admin`: stats, purchases, and data use with
//! its signed usage callback.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde::Deserialize;
use simgate_connectors::esim_go::types::*;

use crate::esim_go::routes::esims::*;
use crate::esim_go::routes::*;
use crate::esim_go::state::*;
use crate::simulator::PurchaseList;

pub(crate) async fn stats(State(sandbox): State<EsimGoSandbox>) -> Json<serde_json::Value> {
    let state = sandbox.lock();
    Json(serde_json::json!({
        "purchases": state.purchases,
        "orders": state.orders.len(),
        "esims": state.esims.len(),
        "balance": state.balance,
    }))
}

pub(crate) async fn list_purchases(State(sandbox): State<EsimGoSandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Consume {
    pub(crate) bytes: i64,
}

/// Consumes data as a device would: from the oldest live assignment.
pub(crate) async fn consume(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
    request: Result<Json<Consume>, JsonRejection>,
) -> Answer<EsimBundles> {
    let Consume { bytes } = body(request)?;
    if bytes < 0 {
        return Err(bad_request("bytes must not be negative"));
    }
    let (answer, callback, target) = {
        let mut state = sandbox.lock();
        let target = state
            .callback_url
            .clone()
            .map(|url| (url, state.config.api_key.clone()));
        let esim = state
            .esims
            .get_mut(&iccid)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Unknown ICCID"))?;
        let now = Utc::now();
        let assignment = esim
            .assignments
            .iter_mut()
            .find(|a| matches!(a.state(now), "queued" | "active"))
            .ok_or_else(|| bad_request("No live bundle on this eSIM"))?;
        assignment.started_at.get_or_insert(now);
        if !assignment.unlimited {
            assignment.remaining_bytes = (assignment.remaining_bytes - bytes).max(0);
        }
        let callback = UsageCallback {
            iccid: iccid.clone(),
            alert_type: "Utilisation".to_owned(),
            bundle: CallbackBundle {
                id: Some(assignment.id.to_string()),
                reference: Some(assignment.reference.clone()),
                name: assignment.bundle.clone(),
                description: String::new(),
                initial_quantity: assignment.initial_bytes,
                remaining_quantity: assignment.remaining_bytes,
                start_time: assignment.started_at.map(rfc3339),
                end_time: assignment
                    .started_at
                    .map(|s| rfc3339(s + Duration::days(assignment.duration_days))),
                unlimited: assignment.unlimited,
            },
        };
        (bundles_of(esim, true, 200), callback, target)
    };
    if let Some((url, api_key)) = target {
        send_callback(&sandbox, &url, &api_key, &callback).await;
    }
    Ok(Json(answer))
}

/// Sends a V3 usage callback, signed as eSIM Go signs them.
pub(crate) async fn send_callback(
    sandbox: &EsimGoSandbox,
    url: &str,
    api_key: &str,
    callback: &UsageCallback,
) {
    let Ok(body) = serde_json::to_vec(callback) else {
        return;
    };
    let signature = hex::encode(simgate_connectors::esim_go::client::callback_signature(
        api_key, &body,
    ));
    let sent = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header(
            simgate_connectors::esim_go::client::SIGNATURE_HEADER,
            signature,
        )
        .body(body)
        .send()
        .await;
    if sent.is_ok_and(|r| r.status().is_success()) {
        sandbox.lock().callbacks_delivered += 1;
    }
}
