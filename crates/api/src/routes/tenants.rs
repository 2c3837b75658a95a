//! `/admin/v1/tenants`: the operator's tenant administration, the same
//! operations as `simgate tenants …`. Operator key only: a tenant key is a
//! 403, so no tenant can see, create or disable another.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use simgate_domain::TenantId;
use simgate_domain::entities::TenantAccount;
use simgate_domain::limits::TenantLimits;
use simgate_service::IssuedKey;
use simgate_service::tenants::tenant_id;
use utoipa::ToSchema;

use crate::AppState;
use crate::extract::ApiJson;
use crate::operator::Operator;
use crate::problem::{ApiError, Problem};
use crate::routes::required;

/// `POST /admin/v1/tenants` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Unique, non-empty, at most 100 characters (surrounding spaces dropped).
    pub name: Option<String>,
}

/// A tenant as the operator sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Set once the tenant is disabled: its keys are refused since then.
    pub disabled_at: Option<DateTime<Utc>>,
    /// First characters of each of its keys, to tell them apart.
    pub key_prefixes: Vec<String>,
}

impl From<TenantAccount> for TenantView {
    fn from(account: TenantAccount) -> Self {
        Self {
            id: TenantId::from_stored(account.id),
            name: account.name,
            created_at: account.created_at,
            disabled_at: account.disabled_at,
            key_prefixes: account.key_prefixes,
        }
    }
}

/// Every tenant.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantList {
    pub data: Vec<TenantView>,
}

/// A tenant and its new API key. The key is shown only in this answer:
/// simgate keeps only its hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantKey {
    pub tenant: TenantView,
    pub api_key: String,
}

impl From<IssuedKey> for TenantKey {
    fn from(issued: IssuedKey) -> Self {
        Self {
            api_key: issued.api_key.expose_secret().to_owned(),
            tenant: issued.tenant.into(),
        }
    }
}

/// Lists every tenant, oldest first. Operator key only.
#[utoipa::path(get, path = "/admin/v1/tenants", tag = "admin", operation_id = "listTenants",
    security(("operatorKey" = [])),
    responses((status = 200, body = TenantList), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn list_tenants(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<TenantList>, ApiError> {
    let data = state.services.list_tenants().await?;
    Ok(Json(TenantList {
        data: data.into_iter().map(Into::into).collect(),
    }))
}

/// Creates a tenant and returns its first API key. Operator key only.
#[utoipa::path(post, path = "/admin/v1/tenants", tag = "admin", operation_id = "createTenant",
    security(("operatorKey" = [])), request_body = CreateTenant,
    responses((status = 201, body = TenantKey), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_tenant(
    State(state): State<AppState>,
    _operator: Operator,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<(StatusCode, Json<TenantKey>), ApiError> {
    let name = required(body.name, "name")?;
    let issued = state.services.create_tenant(&name).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// Replaces every key of a tenant by a new one, returned once; the old
/// keys are refused from now on. Operator key only.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/rotate-key", tag = "admin",
    operation_id = "rotateTenantKey", security(("operatorKey" = [])),
    params(("id" = String, Path, description = "Tenant id (`ten_…`)")),
    responses((status = 200, body = TenantKey), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn rotate_tenant_key(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<TenantKey>, ApiError> {
    let id = tenant_id(&id)?;
    Ok(Json(state.services.rotate_tenant_key(&id).await?.into()))
}

/// Disables a tenant: its keys are refused from now on; its records stay.
/// Operator key only.
#[utoipa::path(post, path = "/admin/v1/tenants/{id}/disable", tag = "admin",
    operation_id = "disableTenant", security(("operatorKey" = [])),
    params(("id" = String, Path, description = "Tenant id (`ten_…`)")),
    responses((status = 200, body = TenantView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn disable_tenant(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    let id = tenant_id(&id)?;
    Ok(Json(state.services.disable_tenant(&id).await?.into()))
}

/// The operator's overrides of a tenant's budgets; `null`: the `[limits]`
/// default. Operator key only.
#[utoipa::path(get, path = "/admin/v1/tenants/{id}/limits", tag = "admin",
    operation_id = "getTenantLimits", security(("operatorKey" = [])),
    params(("id" = String, Path, description = "Tenant id (`ten_…`)")),
    responses((status = 200, body = TenantLimits), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_tenant_limits(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<TenantLimits>, ApiError> {
    let id = tenant_id(&id)?;
    Ok(Json(state.services.tenant_limits(&id).await?))
}

/// Replaces a tenant's budget overrides: each budget a rate (`quota` ≥ 1
/// per `window_secs` of 1 to 86400), or `null`/absent for the default.
/// Stored, so every instance applies them: this one at once, the others
/// within a few seconds. Operator key only.
#[utoipa::path(put, path = "/admin/v1/tenants/{id}/limits", tag = "admin",
    operation_id = "putTenantLimits", security(("operatorKey" = [])),
    request_body = TenantLimits,
    params(("id" = String, Path, description = "Tenant id (`ten_…`)")),
    responses((status = 200, body = TenantLimits), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "`invalid_limits`: a rate out of bounds (`field` names it)")))]
pub async fn put_tenant_limits(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantLimits>,
) -> Result<Json<TenantLimits>, ApiError> {
    let id = tenant_id(&id)?;
    Ok(Json(state.services.set_tenant_limits(&id, body).await?))
}
