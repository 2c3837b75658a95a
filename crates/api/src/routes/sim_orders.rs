//! Physical SIM cards: `/v1/addresses`, `/v1/sim-orders` and the cost
//! preview. Orders belong to the tenant that placed them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use simgate_domain::entities::{SimOrderRecord, SimOrderState};
use simgate_domain::{
    CountryCode, DomainError, Money, NewAddress, PageRequest, ProviderId, ShippingAddress,
    SimOrderPreview, SimOrderStatus,
};
use simgate_service::limits::Budget;
use simgate_service::{SimOrderOutcome, SimOrderRequest};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::{ApiJson, ApiQuery};
use crate::problem::{ApiError, Problem};
use crate::routes::{idempotency_key, required_text};

/// A shipping address to create. Every field is checked by simgate first,
/// so a missing one is named (`missing_field`) before any upstream call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAddress {
    /// Defaults to the one configured SIM card provider.
    #[schema(schema_with = crate::openapi::sim_card_provider)]
    pub provider: Option<ProviderId>,
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"\S")]
    pub first_name: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"\S")]
    pub last_name: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"\S")]
    pub business_name: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"\S")]
    pub street_address: Option<String>,
    pub extended_address: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"\S")]
    pub locality: Option<String>,
    pub administrative_area: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(value_type = String, required = true, schema_with = crate::openapi::country_code)]
    pub country_code: Option<String>,
}

impl CreateAddress {
    /// Every required field present and not blank, so the first missing
    /// one is named; the service checks the address again before use.
    fn into_address(self) -> Result<NewAddress, DomainError> {
        Ok(NewAddress {
            first_name: required_text(self.first_name, "first_name")?,
            last_name: required_text(self.last_name, "last_name")?,
            business_name: required_text(self.business_name, "business_name")?,
            street_address: required_text(self.street_address, "street_address")?,
            extended_address: self.extended_address,
            locality: required_text(self.locality, "locality")?,
            administrative_area: self.administrative_area,
            postal_code: self.postal_code,
            country_code: CountryCode::parse(&required_text(self.country_code, "country_code")?)?,
        })
    }
}

/// A created address; its `id` is what SIM orders ship to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    pub id: String,
    pub provider: String,
    #[serde(flatten)]
    pub address: NewAddress,
}

/// Creates a shipping address at the SIM card provider.
#[utoipa::path(post, operation_id = "createAddress", path = "/v1/addresses", tag = "sim-orders", request_body = CreateAddress,
    responses((status = 201, body = AddressView), (status = 400, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn create_address(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiJson(body): ApiJson<CreateAddress>,
) -> Result<(StatusCode, Json<AddressView>), ApiError> {
    let provider = body.provider;
    let address = body.into_address()?;
    let ShippingAddress { id, address } = state
        .services
        .create_address(&tenant.id, provider, &address)
        .await?;
    let provider = state
        .services
        .connectors
        .sim_orders(provider)
        .map(|p| p.provider().to_string())
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(AddressView {
            id,
            provider,
            address,
        }),
    ))
}

/// SIM cards to order (or preview).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSimOrder {
    #[schema(schema_with = crate::openapi::sim_card_provider)]
    pub provider: Option<ProviderId>,
    /// An address id from `POST /v1/addresses`.
    #[schema(min_length = 1)]
    pub address_id: String,
    /// 1 to 1000 cards.
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(deserialize_with = "crate::views::whole_number")]
    pub quantity: u32,
}

/// What an order would cost, exactly.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreviewView {
    pub quantity: u32,
    pub total_cost: Money,
    pub shipping_cost: Money,
    pub sim_cards_cost: Money,
}

impl From<SimOrderPreview> for PreviewView {
    fn from(p: SimOrderPreview) -> Self {
        Self {
            quantity: p.quantity,
            total_cost: p.total_cost,
            shipping_cost: p.shipping_cost,
            sim_cards_cost: p.sim_cards_cost,
        }
    }
}

/// Prices an order without placing it.
#[utoipa::path(post, operation_id = "previewSimOrder", path = "/v1/sim-orders/preview", tag = "sim-orders", request_body = CreateSimOrder,
    responses((status = 200, body = PreviewView), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn preview(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiJson(body): ApiJson<CreateSimOrder>,
) -> Result<Json<PreviewView>, ApiError> {
    let preview = state
        .services
        .preview_sim_order(&tenant.id, body.provider, &body.address_id, body.quantity)
        .await?;
    Ok(Json(preview.into()))
}

/// A SIM card order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SimOrderView {
    pub id: String,
    pub provider: String,
    /// `submitting` (the provider's answer is awaited), `failed`, or the
    /// provider's lifecycle: `pending`, `processing`, `ready_to_ship`,
    /// `shipped`, `delivered`, `canceled`; `unknown` for a status nobody
    /// documented (see `provider_status`).
    pub status: String,
    pub provider_status: Option<String>,
    pub quantity: u32,
    pub address_id: String,
    pub cost: Option<Money>,
    pub tracking_url: Option<String>,
    pub upstream_id: Option<String>,
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SimOrderRecord> for SimOrderView {
    fn from(r: SimOrderRecord) -> Self {
        let status = match r.state {
            SimOrderState::Submitting => "submitting",
            SimOrderState::Failed => "failed",
            SimOrderState::Placed(status) => status.as_str(),
            SimOrderState::PlacedUnknown => "unknown",
        };
        let snapshot = r.snapshot.as_ref();
        Self {
            status: status.to_owned(),
            provider_status: snapshot.map(|s| s.provider_status.clone()),
            cost: snapshot.map(|s| s.cost),
            tracking_url: snapshot.and_then(|s| s.tracking_url.clone()),
            id: r.id,
            provider: r.provider.to_string(),
            quantity: r.quantity,
            address_id: r.address_id,
            upstream_id: r.upstream_id,
            failure: r.failure,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Orders SIM cards, shipped to one of the tenant's addresses. Written down
/// before the provider is called; with an `Idempotency-Key` a retry returns
/// the same order (200) and a different body with the key is refused (409).
/// When the provider's answer is lost (a timeout, an unreadable body) the
/// order is accepted as `submitting` (202) and settled by the follow-up pass,
/// which finds it upstream or marks it failed: never bought twice.
#[utoipa::path(post, operation_id = "createSimOrder", path = "/v1/sim-orders", tag = "sim-orders", request_body = CreateSimOrder,
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[\x21-\x7e]{1,255}$", description = "Makes retries safe")),
    responses((status = 201, body = SimOrderView), (status = 200, body = SimOrderView),
        (status = 202, body = SimOrderView),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn create_sim_order(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateSimOrder>,
) -> Result<Response, ApiError> {
    let SimOrderOutcome { order, replayed } = state
        .services
        .place_sim_order(SimOrderRequest {
            tenant_id: tenant.id,
            provider: body.provider,
            address_id: body.address_id,
            quantity: body.quantity,
            idempotency_key: idempotency_key(&headers)?,
        })
        .await?;
    let location = format!("/v1/sim-orders/{}", order.id);
    let status = if replayed {
        StatusCode::OK
    } else if order.state == SimOrderState::Submitting {
        // The provider's answer was lost: accepted, to be settled.
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(SimOrderView::from(order))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// SIM order list filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SimOrderQuery {
    /// Only orders in this status (`submitting`, `failed`, `pending`, …).
    #[param(schema_with = crate::openapi::sim_order_status)]
    status: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4294967295_i64)]
    page: Option<u32>,
    /// Page size, 1–250 (default 20).
    #[param(minimum = 1, maximum = 250)]
    page_size: Option<u32>,
}

/// A page of SIM orders.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SimOrderPageView {
    pub data: Vec<SimOrderView>,
    pub page: u32,
    pub page_size: u32,
    pub total_pages: u64,
    pub total_results: u64,
}

/// The tenant's SIM orders, newest first, in numbered pages.
#[utoipa::path(get, operation_id = "listSimOrders", path = "/v1/sim-orders", tag = "sim-orders", params(SimOrderQuery),
    responses((status = 200, body = SimOrderPageView), (status = 400, body = Problem)))]
pub async fn list_sim_orders(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiQuery(query): ApiQuery<SimOrderQuery>,
) -> Result<Json<SimOrderPageView>, ApiError> {
    let defaults = PageRequest::default();
    let page = PageRequest::new(
        query.page.unwrap_or(defaults.number),
        query.page_size.unwrap_or(defaults.size),
    )?;
    if let Some(status) = query.status.as_deref() {
        let known = ["submitting", "failed", "unknown"].contains(&status)
            || SimOrderStatus::parse(status).is_some();
        if !known {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("status '{status}' is not a SIM order status"),
            ));
        }
    }
    let (orders, total) = state
        .services
        .sim_orders(&tenant.id, query.status.as_deref(), page)
        .await?;
    Ok(Json(SimOrderPageView {
        data: orders.into_iter().map(SimOrderView::from).collect(),
        page: page.number,
        page_size: page.size,
        total_pages: total.div_ceil(u64::from(page.size)),
        total_results: total,
    }))
}

/// One of the tenant's SIM orders, refreshed from the provider while it moves.
#[utoipa::path(get, operation_id = "getSimOrder", path = "/v1/sim-orders/{id}", tag = "sim-orders", params(("id" = String, Path)),
    responses((status = 200, body = SimOrderView), (status = 404, body = Problem)))]
pub async fn get_sim_order(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<Json<SimOrderView>, ApiError> {
    state
        .services
        .spend(&tenant.id, Budget::SimOrderReads)
        .await?;
    Ok(Json(
        state.services.sim_order(&tenant.id, &id).await?.into(),
    ))
}
