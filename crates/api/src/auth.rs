//! API-key authentication: every `/v1` call names its tenant by key.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use simgate_domain::entities::Tenant;

use crate::AppState;
use crate::operator::Caller;
use crate::problem::ApiError;

/// The tenant whose key authenticated the request. Accepts
/// `Authorization: Bearer <key>` or `X-API-Key: <key>`.
pub struct AuthTenant(pub Tenant);

impl FromRequestParts<AppState> for AuthTenant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Tenant(tenant) => Ok(Self(tenant)),
            // The operator is no tenant: it owns no orders, lines or events.
            Caller::Operator => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "tenant_only",
                "this operation acts for a tenant; use that tenant's API key",
            )),
        }
    }
}
