//! `/v1/providers/esim-go/…`: eSIM Go's own operations.
//!
//! On a tenant's eSIM (history, refresh, compatibility, one assignment,
//! the customer reference) the tenant's key, and the eSIM must be the
//! tenant's eSIM Go eSIM (404 otherwise). On simgate's own account (its
//! eSIMs, inventory and applying it, organisation, balance, groups) the
//! operator's key. Networks per country are public: either key.

mod views;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use simgate_domain::{CountryCode, Iccid};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::{ApiJson, ApiQuery};
use crate::operator::{Caller, Operator};
use crate::problem::{ApiError, Problem};
use crate::routes::required_text;
pub use views::*;

/// The routes of this module, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(history))
        .routes(routes!(refresh))
        .routes(routes!(compatibility))
        .routes(routes!(apply))
        .routes(routes!(assignments))
        .routes(routes!(revoke_assignment))
        .routes(routes!(set_customer_ref))
        .routes(routes!(esims))
        .routes(routes!(inventory))
        .routes(routes!(refund_inventory))
        .routes(routes!(organisation))
        .routes(routes!(top_up_balance))
        .routes(routes!(groups))
        .routes(routes!(networks))
}

fn iccid(raw: &str) -> Result<Iccid, ApiError> {
    Ok(Iccid::parse(raw)?)
}

/// The eSIM's history of bundle events, from eSIM Go.
#[utoipa::path(get, operation_id = "esimGoHistory", path = "/v1/providers/esim-go/esims/{iccid}/history", tag = "esim-go",
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "One of the tenant's eSIM Go eSIMs", example = "8943108167001960542")),
    responses((status = 200, body = HistoryView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn history(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(raw): Path<String>,
) -> Result<Json<HistoryView>, ApiError> {
    let entries = state
        .services
        .esim_go()?
        .history(&tenant.id, &iccid(&raw)?)
        .await?;
    Ok(Json(entries.into()))
}

/// Refreshes the eSIM on the network: the device is disconnected and
/// reconnects, which clears most "no service" cases.
#[utoipa::path(post, operation_id = "esimGoRefresh", path = "/v1/providers/esim-go/esims/{iccid}/refresh", tag = "esim-go",
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "One of the tenant's eSIM Go eSIMs", example = "8943108167001960542")),
    responses((status = 200, body = ProviderMessage), (status = 404, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(raw): Path<String>,
) -> Result<Json<ProviderMessage>, ApiError> {
    let message = state
        .services
        .esim_go()?
        .refresh(&tenant.id, &iccid(&raw)?)
        .await?;
    Ok(Json(ProviderMessage { message }))
}

/// Whether a bundle can be applied to the eSIM.
#[utoipa::path(get, operation_id = "esimGoCompatibility", path = "/v1/providers/esim-go/esims/{iccid}/compatibility/{bundle}", tag = "esim-go",
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "One of the tenant's eSIM Go eSIMs", example = "8943108167001960542"),
        ("bundle" = String, Path, min_length = 1, description = "An eSIM Go bundle name", example = "esim_1GB_7D_JP_V2")),
    responses((status = 200, body = CompatibilityView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn compatibility(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((raw, bundle)): Path<(String, String)>,
) -> Result<Json<CompatibilityView>, ApiError> {
    let answer = state
        .services
        .esim_go()?
        .compatible(&tenant.id, &iccid(&raw)?, &bundle)
        .await?;
    Ok(Json(answer.into()))
}

/// Applies a bundle from simgate's eSIM Go inventory to an eSIM (a top-up
/// that buys nothing new). Operator only: the inventory was bought with the
/// operator's money, and a tenant applying it would get stock no order,
/// price or ledger entry accounts for (docs/architecture.md, "Operator
/// inventory").
#[utoipa::path(post, operation_id = "esimGoApplyFromInventory", path = "/v1/providers/esim-go/esims/{iccid}/apply", tag = "esim-go", request_body = ApplyFromInventory,
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "An eSIM Go eSIM of simgate's account", example = "8943108167001960542")),
    responses((status = 200, body = ApplyView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn apply(
    State(state): State<AppState>,
    _operator: Operator,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<ApplyFromInventory>,
) -> Result<Json<ApplyView>, ApiError> {
    let bundle = required_text(Some(body.bundle), "bundle")?;
    let applied = state
        .services
        .esim_go()?
        .apply(&iccid(&raw)?, &bundle)
        .await?;
    Ok(Json(applied.into()))
}

/// Every assignment of a bundle on the eSIM, with the ids that
/// `DELETE …/assignments/{assignment}` takes.
#[utoipa::path(get, operation_id = "esimGoAssignments", path = "/v1/providers/esim-go/esims/{iccid}/bundles/{bundle}/assignments", tag = "esim-go",
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "One of the tenant's eSIM Go eSIMs", example = "8943108167001960542"),
        ("bundle" = String, Path, min_length = 1, description = "An eSIM Go bundle name", example = "esim_1GB_7D_JP_V2")),
    responses((status = 200, body = AssignmentsView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn assignments(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((raw, bundle)): Path<(String, String)>,
) -> Result<Json<AssignmentsView>, ApiError> {
    let assignments = state
        .services
        .esim_go()?
        .assignments(&tenant.id, &iccid(&raw)?, &bundle)
        .await?;
    Ok(Json(assignments.into()))
}

/// Revokes one specific assignment of a bundle (`DELETE /v1/esims/{iccid}/bundles/{bundle}`
/// revokes the latest).
#[utoipa::path(delete, operation_id = "esimGoRevokeAssignment", path = "/v1/providers/esim-go/esims/{iccid}/bundles/{bundle}/assignments/{assignment}", tag = "esim-go",
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "One of the tenant's eSIM Go eSIMs", example = "8943108167001960542"),
        ("bundle" = String, Path, min_length = 1, description = "An eSIM Go bundle name", example = "esim_1GB_7D_JP_V2"),
        ("assignment" = String, Path, min_length = 1, description = "An assignment id from `…/assignments`")),
    responses((status = 200, body = RevokedAssignment), (status = 404, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn revoke_assignment(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((raw, bundle, assignment)): Path<(String, String, String)>,
) -> Result<Json<RevokedAssignment>, ApiError> {
    let status = state
        .services
        .esim_go()?
        .revoke_assignment(&tenant.id, &iccid(&raw)?, &bundle, &assignment)
        .await?;
    Ok(Json(RevokedAssignment { status }))
}

/// Longest customer reference passed on.
const MAX_CUSTOMER_REF: usize = 255;

/// Sets the customer reference eSIM Go keeps on the eSIM.
#[utoipa::path(put, operation_id = "esimGoSetCustomerRef", path = "/v1/providers/esim-go/esims/{iccid}/customer-ref", tag = "esim-go", request_body = SetCustomerRef,
    params(("iccid" = String, Path, pattern = r"^89[0-9]{17,18}$", description = "One of the tenant's eSIM Go eSIMs", example = "8943108167001960542")),
    responses((status = 200, body = ProviderMessage), (status = 404, body = Problem), (status = 422, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn set_customer_ref(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SetCustomerRef>,
) -> Result<Json<ProviderMessage>, ApiError> {
    let customer_ref = required_text(Some(body.customer_ref), "customer_ref")?;
    if customer_ref.chars().count() > MAX_CUSTOMER_REF {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_customer_ref",
            format!("customer_ref may be at most {MAX_CUSTOMER_REF} characters"),
        ));
    }
    let message = state
        .services
        .esim_go()?
        .set_customer_ref(&tenant.id, &iccid(&raw)?, customer_ref.trim())
        .await?;
    Ok(Json(ProviderMessage { message }))
}

/// Largest page of the account's eSIMs.
const MAX_PER_PAGE: u32 = 100;

/// Which page of the account's eSIMs.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EsimPageQuery {
    /// From 1 (default 1).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4294967295_i64)]
    page: Option<u32>,
    /// 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<u32>,
}

/// Every eSIM of simgate's eSIM Go account, whichever tenant holds it.
/// Operator key only.
#[utoipa::path(get, operation_id = "esimGoListEsims", security(("operatorKey" = [])), path = "/v1/providers/esim-go/esims", tag = "esim-go", params(EsimPageQuery),
    responses((status = 200, body = UpstreamEsimPage), (status = 502, body = Problem)))]
pub async fn esims(
    State(state): State<AppState>,
    _operator: Operator,
    ApiQuery(query): ApiQuery<EsimPageQuery>,
) -> Result<Json<UpstreamEsimPage>, ApiError> {
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(25);
    if page == 0 || !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("page must be at least 1 and per_page between 1 and {MAX_PER_PAGE}"),
        ));
    }
    let list = state.services.esim_go()?.esims(page, per_page).await?;
    Ok(Json(UpstreamEsimPage::new(list, page)))
}

/// Bundles simgate's account bought and has not applied. Operator key only.
#[utoipa::path(get, operation_id = "esimGoInventory", security(("operatorKey" = [])), path = "/v1/providers/esim-go/inventory", tag = "esim-go",
    responses((status = 200, body = InventoryView), (status = 502, body = Problem)))]
pub async fn inventory(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<InventoryView>, ApiError> {
    Ok(Json(state.services.esim_go()?.inventory().await?.into()))
}

/// Returns unused bundles of a lot to the account's balance. Operator key only.
#[utoipa::path(post, operation_id = "esimGoRefundInventory", security(("operatorKey" = [])), path = "/v1/providers/esim-go/inventory/refund", tag = "esim-go", request_body = RefundInventory,
    responses((status = 200, body = ProviderMessage), (status = 422, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn refund_inventory(
    State(state): State<AppState>,
    _operator: Operator,
    ApiJson(body): ApiJson<RefundInventory>,
) -> Result<Json<ProviderMessage>, ApiError> {
    let (usage_id, quantity) = (i64::from(body.usage_id), i64::from(body.quantity));
    if quantity < 1 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
            "quantity must be at least 1",
        ));
    }
    let message = state
        .services
        .esim_go()?
        .refund_inventory(usage_id, quantity)
        .await?;
    Ok(Json(ProviderMessage { message }))
}

/// simgate's organisation at eSIM Go: balance, currency, groups, users.
/// Operator key only.
#[utoipa::path(get, operation_id = "esimGoOrganisation", security(("operatorKey" = [])), path = "/v1/providers/esim-go/organisation", tag = "esim-go",
    responses((status = 200, body = OrganisationView), (status = 502, body = Problem)))]
pub async fn organisation(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<OrganisationView>, ApiError> {
    Ok(Json(state.services.esim_go()?.organisation().await?.into()))
}

/// Largest balance top-up in one call, against typing mistakes.
const MAX_TOP_UP: u64 = 100_000;

/// Tops up the account's prepaid balance. Operator key only.
#[utoipa::path(post, operation_id = "esimGoTopUpBalance", security(("operatorKey" = [])), path = "/v1/providers/esim-go/balance", tag = "esim-go", request_body = TopUpBalance,
    responses((status = 200, body = BalanceTopUpView), (status = 422, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)))]
pub async fn top_up_balance(
    State(state): State<AppState>,
    _operator: Operator,
    ApiJson(body): ApiJson<TopUpBalance>,
) -> Result<Json<BalanceTopUpView>, ApiError> {
    let amount = u64::from(body.amount);
    if !(1..=MAX_TOP_UP).contains(&amount) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
            format!("amount must be between 1 and {MAX_TOP_UP}"),
        ));
    }
    let topped = state.services.esim_go()?.top_up_balance(amount).await?;
    Ok(Json(topped.into()))
}

/// The bundle groups the account may sell. Operator key only.
#[utoipa::path(get, operation_id = "esimGoGroups", security(("operatorKey" = [])), path = "/v1/providers/esim-go/groups", tag = "esim-go",
    responses((status = 200, body = GroupsView), (status = 502, body = Problem)))]
pub async fn groups(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<GroupsView>, ApiError> {
    let groups = state.services.esim_go()?.groups().await?;
    Ok(Json(GroupsView {
        data: groups.into_iter().map(|g| g.name).collect(),
    }))
}

/// Which country's networks.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NetworksPath {
    /// ISO 3166-1 alpha-2 country.
    #[param(schema_with = crate::openapi::country_code)]
    country: String,
}

/// The networks eSIM Go uses in a country: public information, either key.
#[utoipa::path(get, operation_id = "esimGoNetworks", security(("tenantKey" = []), ("operatorKey" = [])), path = "/v1/providers/esim-go/networks/{country}", tag = "esim-go", params(NetworksPath),
    responses((status = 200, body = NetworksView), (status = 502, body = Problem)))]
pub async fn networks(
    State(state): State<AppState>,
    _caller: Caller,
    Path(path): Path<NetworksPath>,
) -> Result<Json<NetworksView>, ApiError> {
    let country = CountryCode::parse(&path.country)?;
    Ok(Json(
        state.services.esim_go()?.networks(&country).await?.into(),
    ))
}
