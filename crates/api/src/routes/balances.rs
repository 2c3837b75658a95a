//! The operator's view of its provider accounts: each provider's balance
//! and spend (`/admin/v1/providers/{id}/balance`), and the operator's own
//! webhook endpoints (`/admin/v1/webhook-endpoints`), where
//! `provider.balance.low` is sent. Operator key only; no tenant can see or
//! receive any of it (the endpoints belong to a reserved owner no key has).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use simgate_domain::entities::OPERATOR_OWNER;
use simgate_domain::{EndpointId, Money, ProviderId, TenantId};
use simgate_service::BalanceReport;
use simgate_service::ServiceError;
use utoipa::ToSchema;

use crate::AppState;
use crate::extract::ApiJson;
use crate::operator::Operator;
use crate::problem::{ApiError, Problem};
use crate::routes::events::{CreateEndpoint, EndpointList, EndpointWithSecretView};

/// What simgate spent at a provider in one currency, from its purchase
/// ledger at the orders' frozen cost (`unit_price × quantity`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SpendView {
    /// Every purchase recorded.
    pub total: Money,
    /// Purchases recorded after the balance was read (all of them when no
    /// balance was read).
    pub since_balance_read: Money,
    /// How many purchases `total` counts.
    pub purchases: u64,
}

/// A provider's balance as last read, beside what simgate spent there.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderBalanceView {
    /// The provider's slug.
    #[schema(value_type = String, example = "esim-go")]
    pub provider: ProviderId,
    /// The balance as the provider last reported it; `null` when the
    /// provider documents no balance, or before the first read.
    pub balance: Option<Money>,
    /// When the balance was read.
    pub read_at: Option<DateTime<Utc>>,
    /// Why `balance` is `null`.
    pub reason: Option<String>,
    /// The operator's `provider.balance.low` threshold (a decimal string, in
    /// the balance's currency), if one is set.
    #[schema(value_type = Option<String>, example = "100")]
    pub low_threshold: Option<String>,
    /// True when the balance is below the threshold.
    pub low: bool,
    /// Spend per currency of the orders' cost.
    pub spend: Vec<SpendView>,
}

impl From<BalanceReport> for ProviderBalanceView {
    fn from(report: BalanceReport) -> Self {
        Self {
            provider: report.provider,
            balance: report.balance.as_ref().map(|read| read.balance),
            read_at: report.balance.as_ref().map(|read| read.read_at),
            reason: report.reason.map(str::to_owned),
            low_threshold: report.threshold.map(|t| t.to_string()),
            low: report.low,
            spend: report
                .spend
                .into_iter()
                .map(|spend| SpendView {
                    total: spend.total,
                    since_balance_read: spend.since_read,
                    purchases: spend.purchases,
                })
                .collect(),
        }
    }
}

/// A provider's last known balance and simgate's spend there. Operator key
/// only. `{id}` is the provider's slug (`esim-go`); an unknown or
/// unconfigured one is 404 `provider_not_found`.
#[utoipa::path(get, path = "/admin/v1/providers/{id}/balance", tag = "admin",
    operation_id = "getProviderBalance", security(("operatorKey" = [])),
    params(("id" = String, Path, description = "Provider slug, e.g. `esim-go`")),
    responses((status = 200, body = ProviderBalanceView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn provider_balance(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<ProviderBalanceView>, ApiError> {
    let provider: ProviderId = id
        .parse()
        .map_err(|_| ServiceError::ProviderNotFound(id.clone()))?;
    Ok(Json(
        state.services.provider_balance(provider).await?.into(),
    ))
}

fn operator() -> TenantId {
    TenantId::from_stored(OPERATOR_OWNER)
}

/// Registers an operator endpoint: operator events (`provider.balance.low`)
/// are sent to it, never to a tenant's. The same rules as tenants'
/// endpoints apply (public targets only, Standard Webhooks signing, at
/// most `[limits] max_webhook_endpoints` enabled).
#[utoipa::path(post, path = "/admin/v1/webhook-endpoints", tag = "admin",
    operation_id = "createOperatorWebhookEndpoint", security(("operatorKey" = [])),
    request_body = CreateEndpoint,
    responses((status = 201, body = EndpointWithSecretView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem),
        (status = 503, body = Problem)))]
pub async fn create_operator_endpoint(
    State(state): State<AppState>,
    _operator: Operator,
    ApiJson(body): ApiJson<CreateEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithSecretView>), ApiError> {
    let endpoint = state
        .services
        .create_endpoint(&operator(), &body.url)
        .await?;
    Ok((StatusCode::CREATED, Json(endpoint.into())))
}

/// The operator's endpoints.
#[utoipa::path(get, path = "/admin/v1/webhook-endpoints", tag = "admin",
    operation_id = "listOperatorWebhookEndpoints", security(("operatorKey" = [])),
    responses((status = 200, body = EndpointList), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn list_operator_endpoints(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = state.services.endpoints(OPERATOR_OWNER).await?;
    Ok(Json(EndpointList {
        data: endpoints.into_iter().map(Into::into).collect(),
    }))
}

/// Stops sending operator events to an endpoint.
#[utoipa::path(delete, path = "/admin/v1/webhook-endpoints/{id}", tag = "admin",
    operation_id = "deleteOperatorWebhookEndpoint", security(("operatorKey" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn delete_operator_endpoint(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::not_found("endpoint_not_found", format!("no endpoint {id}"));
    let endpoint_id = EndpointId::parse(&id).map_err(|_| not_found())?;
    if state
        .services
        .remove_endpoint(&operator(), &endpoint_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
