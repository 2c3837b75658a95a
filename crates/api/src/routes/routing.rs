//! `/v1/routing`: a tenant's routing policy, which orders the candidates of
//! the offers it buys. Each tenant reads and writes only its own.

use axum::Json;
use axum::extract::State;
use simgate_domain::TenantId;
use simgate_domain::orchestration::RoutingPolicy;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};

/// The calling tenant's routing policy; the default (`cheapest`) until it
/// sets one.
#[utoipa::path(get, operation_id = "getRouting", path = "/v1/routing", tag = "routing",
    responses((status = 200, body = RoutingPolicy)))]
pub async fn get_routing(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
) -> Result<Json<RoutingPolicy>, ApiError> {
    let tenant = TenantId::from_stored(tenant.id);
    Ok(Json(state.services.routing_policy(&tenant).await?))
}

/// Replaces the calling tenant's routing policy. An invalid policy, or one
/// naming a provider not configured for eSIMs, is a 422 with the stable
/// code and the `field` at fault.
#[utoipa::path(put, operation_id = "putRouting", path = "/v1/routing", tag = "routing",
    request_body = RoutingPolicy,
    responses((status = 200, body = RoutingPolicy), (status = 422, body = Problem)))]
pub async fn put_routing(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiJson(policy): ApiJson<RoutingPolicy>,
) -> Result<Json<RoutingPolicy>, ApiError> {
    let tenant = TenantId::from_stored(tenant.id);
    Ok(Json(
        state.services.set_routing_policy(&tenant, policy).await?,
    ))
}
