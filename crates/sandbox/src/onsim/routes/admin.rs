//! The test hooks under `/__admin`: purchases, eSIM installation and data
//! use.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use simgate_domain::Msisdn;

use crate::onsim::routes::*;
use crate::onsim::state::*;
use crate::simulator::PurchaseList;

pub(crate) async fn list_purchases(State(sandbox): State<OnsimSandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

pub(crate) async fn admin_install(
    State(sandbox): State<OnsimSandbox>,
    Path(mpn): Path<String>,
) -> Response {
    match Msisdn::parse(&mpn) {
        Ok(mpn) if sandbox.install(&mpn) => StatusCode::NO_CONTENT.into_response(),
        _ => error(
            StatusCode::NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            &format!("No eSIM line with MPN {mpn}"),
        )
        .into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Usage {
    pub(crate) mb: u64,
}

pub(crate) async fn admin_usage(
    State(sandbox): State<OnsimSandbox>,
    Path(mpn): Path<String>,
    Json(usage): Json<Usage>,
) -> Response {
    match Msisdn::parse(&mpn) {
        Ok(mpn) if sandbox.use_data(&mpn, usage.mb) => StatusCode::NO_CONTENT.into_response(),
        _ => account_not_found(&mpn).into_response(),
    }
}
