//! The test hooks under `/__admin`: purchases and cancelling an order.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
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
