//! `/v1/esims`: the tenant's eSIMs; `/v1/esims/{iccid}`: install details,
//! QR codes, usage and top-ups.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use simgate_domain::entities::EsimFilter;
use simgate_domain::{
    EsimLocation, Iccid, OrderKind, OrderStatus, ProductId, ProviderId, RevokeOutcome,
};
use simgate_service::limits::Budget;
use simgate_service::{OrderRequest, OrderTarget};
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{ApiError, Problem};
use crate::qr::{self, Caching};
use crate::routes::idempotency_key;
use crate::routes::orders::respond;
use crate::views::{CreateTopUp, EsimPage, EsimView, OrderView, SendSms, UsageView};

fn parse_iccid(raw: &str) -> Result<Iccid, ApiError> {
    Ok(Iccid::parse(raw)?)
}

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// eSIM list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EsimQuery {
    /// Only this eSIM.
    #[param(pattern = r"^89[0-9]{17,18}$", example = "8943108167001960542")]
    iccid: Option<String>,
    /// Only eSIMs whose order is in this status.
    status: Option<OrderStatus>,
    /// Only eSIMs of this provider.
    #[param(schema_with = crate::openapi::catalogue_provider)]
    provider: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// eSIMs to skip.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    offset: Option<u32>,
}

/// The tenant's eSIMs as simgate recorded them, newest first; no provider
/// is asked.
#[utoipa::path(get, operation_id = "listEsims", path = "/v1/esims", tag = "esims", params(EsimQuery),
    responses((status = 200, body = EsimPage), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn list_esims(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiQuery(query): ApiQuery<EsimQuery>,
) -> Result<Json<EsimPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let filter = EsimFilter {
        iccid: query.iccid.as_deref().map(parse_iccid).transpose()?,
        provider: query
            .provider
            .as_deref()
            .map(str::parse::<ProviderId>)
            .transpose()?,
        status: query.status,
        limit,
        offset: query.offset.unwrap_or(0),
    };
    let (esims, total) = state.services.esims(&tenant.id, &filter).await?;
    Ok(Json(EsimPage {
        data: esims.into_iter().map(Into::into).collect(),
        total,
        limit,
        offset: filter.offset,
    }))
}

/// Install details of one of the tenant's eSIMs.
#[utoipa::path(get, operation_id = "getEsim", path = "/v1/esims/{iccid}", tag = "esims", params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "19 or 20 digits, starting 89, with a valid Luhn check digit", example = "8943108167001960542")),
    responses((status = 200, body = EsimView), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn get_esim(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(iccid): Path<String>,
) -> Result<Json<EsimView>, ApiError> {
    let esim = state
        .services
        .esim(&tenant.id, &parse_iccid(&iccid)?)
        .await?;
    Ok(Json(esim.into()))
}

/// The activation code of a tenant's eSIM, which is all its QR holds.
async fn activation_code(
    state: &AppState,
    tenant_id: &str,
    iccid: &str,
) -> Result<String, ApiError> {
    let esim = state.services.esim(tenant_id, &parse_iccid(iccid)?).await?;
    Ok(esim.install.activation.to_string())
}

/// The activation code as a PNG QR code.
#[utoipa::path(get, operation_id = "getEsimQrPng", path = "/v1/esims/{iccid}/qr.png", tag = "esims", params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "19 or 20 digits, starting 89, with a valid Luhn check digit", example = "8943108167001960542")),
    responses((status = 200, content_type = "image/png", body = crate::openapi::Binary), (status = 304, description = "The `If-None-Match` tag is still current"), (status = 404, body = Problem)))]
pub async fn qr_png(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(iccid): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    qr::png_response(
        &activation_code(&state, &tenant.id, &iccid).await?,
        &headers,
        Caching::Hour,
    )
}

/// The activation code as an SVG QR code.
#[utoipa::path(get, operation_id = "getEsimQrSvg", path = "/v1/esims/{iccid}/qr.svg", tag = "esims", params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "19 or 20 digits, starting 89, with a valid Luhn check digit", example = "8943108167001960542")),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 304, description = "The `If-None-Match` tag is still current"), (status = 404, body = Problem)))]
pub async fn qr_svg(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(iccid): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    qr::svg_response(
        &activation_code(&state, &tenant.id, &iccid).await?,
        &headers,
        Caching::Hour,
    )
}

/// Live data usage of every bundle on the eSIM, from its provider.
#[utoipa::path(get, operation_id = "getEsimUsage", path = "/v1/esims/{iccid}/usage", tag = "esims", params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "19 or 20 digits, starting 89, with a valid Luhn check digit", example = "8943108167001960542")),
    responses((status = 200, body = UsageView), (status = 404, body = Problem), (status = 502, body = Problem)))]
pub async fn usage(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(iccid): Path<String>,
) -> Result<Json<UsageView>, ApiError> {
    let iccid = parse_iccid(&iccid)?;
    let bundles = state.services.usage(&tenant.id, &iccid).await?;
    Ok(Json(UsageView {
        iccid: iccid.to_string(),
        bundles: bundles.into_iter().map(Into::into).collect(),
    }))
}

/// Applies another product to the eSIM; an order like any other, with the
/// same `Idempotency-Key` rules.
#[utoipa::path(post, operation_id = "createTopUp", path = "/v1/esims/{iccid}/topups", tag = "esims", request_body = CreateTopUp,
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "19 or 20 digits, starting 89, with a valid Luhn check digit", example = "8943108167001960542"), ("Idempotency-Key" = Option<String>, Header, pattern = r"^[\x21-\x7e]{1,255}$", description = "Makes retries safe")),
    responses((status = 201, body = OrderView), (status = 200, body = OrderView),
        (status = 402, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_topup(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(iccid): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateTopUp>,
) -> Result<Response, ApiError> {
    let request = OrderRequest {
        tenant_id: tenant.id,
        target: OrderTarget::Product(ProductId::parse(&body.product_id)?),
        quantity: 1,
        kind: OrderKind::TopUp {
            iccid: parse_iccid(&iccid)?,
        },
        idempotency_key: idempotency_key(&headers)?,
    };
    state
        .services
        .spend(&request.tenant_id, Budget::OrderCreations)
        .await?;
    respond(state.services.place_order(request).await?)
}

/// Revoke options.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RevokeQuery {
    /// Refund the bundle to the reseller's balance with the provider (only
    /// possible while the bundle is unused).
    #[serde(default)]
    refund: bool,
}

/// Revokes the latest assignment of a bundle from the eSIM.
#[utoipa::path(delete, operation_id = "revokeEsimBundle", path = "/v1/esims/{iccid}/bundles/{bundle}", tag = "esims",
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "19 or 20 digits, starting 89, with a valid Luhn check digit", example = "8943108167001960542"), ("bundle" = String, Path, min_length = 1, description = "The provider's SKU"), RevokeQuery),
    responses((status = 200, body = RevokeOutcome), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 501, body = Problem)))]
pub async fn revoke_bundle(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((iccid, bundle)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<RevokeQuery>,
) -> Result<Json<RevokeOutcome>, ApiError> {
    let iccid = parse_iccid(&iccid)?;
    let outcome = state
        .services
        .revoke(&tenant.id, &iccid, &bundle, query.refund)
        .await?;
    Ok(Json(outcome))
}

/// The network the eSIM was last seen on.
#[utoipa::path(get, operation_id = "getEsimLocation", path = "/v1/esims/{iccid}/location", tag = "esims", params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "19 or 20 digits, starting 89, with a valid Luhn check digit", example = "8943108167001960542")),
    responses((status = 200, body = EsimLocation), (status = 404, body = Problem), (status = 501, body = Problem)))]
pub async fn location(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(iccid): Path<String>,
) -> Result<Json<EsimLocation>, ApiError> {
    let iccid = parse_iccid(&iccid)?;
    Ok(Json(state.services.location(&tenant.id, &iccid).await?))
}

/// Sends a text message to the eSIM.
#[utoipa::path(post, operation_id = "sendEsimSms", path = "/v1/esims/{iccid}/sms", tag = "esims", request_body = SendSms,
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "19 or 20 digits, starting 89, with a valid Luhn check digit", example = "8943108167001960542")),
    responses((status = 202, description = "Accepted by the provider"), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 501, body = Problem)))]
pub async fn send_sms(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(iccid): Path<String>,
    ApiJson(body): ApiJson<SendSms>,
) -> Result<StatusCode, ApiError> {
    let iccid = parse_iccid(&iccid)?;
    state.services.spend(&tenant.id, Budget::SmsSends).await?;
    state
        .services
        .send_sms(&tenant.id, &iccid, &body.message)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
