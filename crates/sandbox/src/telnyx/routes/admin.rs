//! The test hooks under `/__admin`: purchases, cancelling an order and
//! setting its tracking URL.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use simgate_connectors::telnyx::types::Data;
use simgate_domain::SimOrderStatus;

use crate::simulator::PurchaseList;
use crate::telnyx::routes::*;
use crate::telnyx::state::*;

pub(crate) async fn list_purchases(State(sandbox): State<TelnyxSandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

pub(crate) async fn admin_cancel(
    State(sandbox): State<TelnyxSandbox>,
    Path(id): Path<String>,
) -> Answer {
    let mut state = sandbox.lock();
    let step = state.config.step;
    let now = now();
    let order = state
        .orders
        .iter_mut()
        .find(|o| o.id == id)
        .ok_or_else(|| refusal(StatusCode::NOT_FOUND, "10005", "Resource not found", None))?;
    let (status, _) = order.status_at(now, step);
    if matches!(
        status,
        SimOrderStatus::Shipped | SimOrderStatus::Delivered | SimOrderStatus::Canceled
    ) {
        return Err(refusal(
            StatusCode::CONFLICT,
            "10015",
            "Bad Request",
            Some(format!(
                "An order that is {} cannot be canceled.",
                status.as_str()
            )),
        ));
    }
    order.canceled_at = Some(now);
    Ok(Json(Data {
        data: order.wire(now, step),
    })
    .into_response())
}

/// The body of `POST /__admin/sim_card_orders/{id}/tracking_url`.
#[derive(Deserialize)]
pub(crate) struct TrackingUrl {
    tracking_url: String,
}

/// Sets the tracking URL the order carries once shipped: any string, as a
/// provider might send one a client must not trust.
pub(crate) async fn admin_tracking_url(
    State(sandbox): State<TelnyxSandbox>,
    Path(id): Path<String>,
    Json(body): Json<TrackingUrl>,
) -> Answer {
    let mut state = sandbox.lock();
    let step = state.config.step;
    let order = state
        .orders
        .iter_mut()
        .find(|o| o.id == id)
        .ok_or_else(|| refusal(StatusCode::NOT_FOUND, "10005", "Resource not found", None))?;
    order.tracking_url = Some(body.tracking_url);
    Ok(Json(Data {
        data: order.wire(now(), step),
    })
    .into_response())
}
