//! `GET /organisation`, its balance top-up and its bundle groups.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use simgate_connectors::esim_go::types::*;

use crate::esim_go::routes::*;
use crate::esim_go::state::*;

pub(crate) async fn organisation(
    State(sandbox): State<EsimGoSandbox>,
) -> Answer<OrganisationResponse> {
    let state = sandbox.lock();
    Ok(Json(OrganisationResponse {
        organisations: vec![Organisation {
            name: "simgate sandbox".to_owned(),
            api_key: state.config.api_key.clone(),
            tax_liable: "false".to_owned(),
            country: "GB".to_owned(),
            callback_url: String::new(),
            groups: vec![
                "Standard Fixed".to_owned(),
                "Standard Unlimited Essential".to_owned(),
            ],
            currency: state.config.currency.clone(),
            balance: (state.balance * 100.0).round() / 100.0,
            users: vec![OrganisationUser {
                first_name: "Sandbox".to_owned(),
                last_name: "User".to_owned(),
                role: "admin".to_owned(),
                email_address: "sandbox@simgate.test".to_owned(),
                phone_number: String::new(),
                time_zone: "UTC".to_owned(),
            }],
        }],
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct BalanceParams {
    pub(crate) amount: Option<String>,
}

pub(crate) async fn top_up_balance(
    State(sandbox): State<EsimGoSandbox>,
    Query(params): Query<BalanceParams>,
) -> Answer<MessageResponse> {
    let amount: u64 = params
        .amount
        .as_deref()
        .and_then(|a| a.parse().ok())
        .filter(|a| *a > 0)
        .ok_or_else(|| bad_request("amount must be a positive integer"))?;
    sandbox.lock().balance += amount as f64;
    Ok(Json(MessageResponse {
        message: format!("Balance topped up by {amount}"),
    }))
}

pub(crate) async fn groups() -> Answer<BundleGroups> {
    Ok(Json(BundleGroups {
        groups: ["Standard Fixed", "Standard Unlimited Essential"]
            .into_iter()
            .map(|name| BundleGroup {
                name: name.to_owned(),
            })
            .collect(),
    }))
}
