//! `/v1/pricing`: a tenant's pricing rules, turning provider costs into the
//! sell prices its catalogue shows. Each tenant reads and writes only its own.

use axum::Json;
use axum::extract::State;
use simgate_domain::TenantId;
use simgate_domain::orchestration::PricingRules;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};

/// The calling tenant's pricing rules; 404 `pricing_not_set` while it
/// sells at cost.
#[utoipa::path(get, operation_id = "getPricing", path = "/v1/pricing", tag = "pricing",
    responses((status = 200, body = PricingRules), (status = 404, body = Problem)))]
pub async fn get_pricing(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
) -> Result<Json<PricingRules>, ApiError> {
    let tenant = TenantId::from_stored(tenant.id);
    state
        .services
        .pricing(&tenant)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(
                "pricing_not_set",
                "no pricing rules: the catalogue shows costs; set them with PUT /v1/pricing",
            )
        })
}

/// Replaces the calling tenant's pricing rules. Invalid rules are a 422
/// with the stable code and the `field` at fault.
#[utoipa::path(put, operation_id = "putPricing", path = "/v1/pricing", tag = "pricing",
    request_body = PricingRules,
    responses((status = 200, body = PricingRules), (status = 422, body = Problem)))]
pub async fn put_pricing(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiJson(rules): ApiJson<PricingRules>,
) -> Result<Json<PricingRules>, ApiError> {
    let tenant = TenantId::from_stored(tenant.id);
    Ok(Json(state.services.set_pricing(&tenant, rules).await?))
}
