//! API-key authentication: every `/v1` call names its tenant by key.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use simgate_store::Tenant;

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

/// The key a request presents, as `Authorization: Bearer <key>` or
/// `X-API-Key: <key>`; a 401 `missing_api_key` without one.
pub fn presented_key(parts: &Parts) -> Result<&str, ApiError> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    bearer
        .or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "send your API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            )
        })
}

/// A key that is neither a tenant's nor the operator's.
pub fn invalid_api_key() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "the API key is not valid",
    )
}
