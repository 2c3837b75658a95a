//! `/v1/providers/telnyx/sim-orders`: Telnyx's own list of SIM card
//! orders, with every filter the Telnyx document lists. It is the whole
//! account's list (every tenant's orders, and any placed outside simgate),
//! so it takes the operator's key; a tenant lists its own orders at
//! `GET /v1/sim-orders`.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use simgate_domain::{
    CountryCode, Currency, Money, PageRequest, ShippingAddress, SimOrder, SimOrderFilter,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::ApiQuery;
use crate::operator::Operator;
use crate::problem::{ApiError, Problem};

/// The routes of this module, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sim_orders))
}

/// Telnyx's `filter[...]` parameters, named without brackets, and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TelnyxSimOrderQuery {
    /// Orders created at exactly this ISO 8601 date-time.
    #[param(value_type = Option<DateTime<Utc>>, example = "2018-02-02T22:25:27.521Z")]
    created_at: Option<String>,
    /// Orders last updated at exactly this ISO 8601 date-time.
    #[param(value_type = Option<DateTime<Utc>>, example = "2018-02-02T22:25:27.521Z")]
    updated_at: Option<String>,
    /// Orders of this many SIM cards.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4294967295_i64, example = 21)]
    quantity: Option<u32>,
    /// Orders of this total cost.
    #[param(pattern = r"^[0-9]{1,12}(\.[0-9]{1,6})?$", example = "2.53")]
    cost_amount: Option<String>,
    /// Orders costed in this ISO 4217 currency.
    #[param(schema_with = crate::openapi::currency_code)]
    cost_currency: Option<String>,
    /// Orders shipped to this Telnyx address id.
    address_id: Option<String>,
    #[param(example = "311 W Superior St")]
    address_street_address: Option<String>,
    #[param(example = "Suite 504")]
    address_extended_address: Option<String>,
    #[param(example = "Chicago")]
    address_locality: Option<String>,
    #[param(example = "IL")]
    address_administrative_area: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[param(schema_with = crate::openapi::country_code)]
    address_country_code: Option<String>,
    #[param(example = "60654")]
    address_postal_code: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4294967295_i64)]
    page: Option<u32>,
    /// Page size, 1–250 (default 20).
    #[param(minimum = 1, maximum = 250)]
    page_size: Option<u32>,
}

/// A SIM card order as Telnyx lists it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TelnyxSimOrderView {
    /// Telnyx's order id.
    pub id: String,
    /// The lifecycle status; `null` for one Telnyx has not documented.
    pub status: Option<simgate_domain::SimOrderStatus>,
    pub provider_status: String,
    pub quantity: u32,
    pub cost: Money,
    pub tracking_url: Option<String>,
    pub address: ShippingAddress,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SimOrder> for TelnyxSimOrderView {
    fn from(o: SimOrder) -> Self {
        Self {
            id: o.id,
            status: o.status,
            provider_status: o.provider_status,
            quantity: o.quantity,
            cost: o.cost,
            tracking_url: o.tracking_url,
            address: o.address,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A page of Telnyx's SIM card orders.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TelnyxSimOrderPage {
    pub data: Vec<TelnyxSimOrderView>,
    pub page: u32,
    pub page_size: u32,
    pub total_pages: u32,
    pub total_results: u64,
}

/// A filter value that must parse; passed on as it was given.
fn checked<T, E>(
    value: Option<String>,
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, E>,
    what: &str,
) -> Result<Option<String>, ApiError> {
    value
        .map(|raw| {
            let raw = raw.trim().to_owned();
            parse(&raw).map(|_| raw.clone()).map_err(|_| {
                ApiError::bad_request("invalid_query", format!("{name} '{raw}' is not {what}"))
            })
        })
        .transpose()
}

/// Every SIM card order of simgate's Telnyx account matching the filters,
/// from Telnyx. Operator key only.
#[utoipa::path(get, operation_id = "telnyxListSimOrders", security(("operatorKey" = [])), path = "/v1/providers/telnyx/sim-orders", tag = "sim-orders", params(TelnyxSimOrderQuery),
    responses((status = 200, body = TelnyxSimOrderPage), (status = 400, body = Problem), (status = 502, body = Problem)))]
pub async fn sim_orders(
    State(state): State<AppState>,
    _operator: Operator,
    ApiQuery(query): ApiQuery<TelnyxSimOrderQuery>,
) -> Result<Json<TelnyxSimOrderPage>, ApiError> {
    let defaults = PageRequest::default();
    let page = PageRequest::new(
        query.page.unwrap_or(defaults.number),
        query.page_size.unwrap_or(defaults.size),
    )?;
    if query.quantity == Some(0) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "quantity must be at least 1",
        ));
    }
    let time = |raw: &str| DateTime::parse_from_rfc3339(raw);
    let filter = SimOrderFilter {
        created_at: checked(
            query.created_at,
            "created_at",
            time,
            "an ISO 8601 date-time",
        )?,
        updated_at: checked(
            query.updated_at,
            "updated_at",
            time,
            "an ISO 8601 date-time",
        )?,
        quantity: query.quantity,
        cost_amount: checked(
            query.cost_amount,
            "cost_amount",
            str::parse::<Decimal>,
            "a decimal amount",
        )?,
        cost_currency: checked(
            query.cost_currency,
            "cost_currency",
            Currency::parse,
            "an ISO 4217 currency",
        )?,
        address_id: query.address_id,
        address_street_address: query.address_street_address,
        address_extended_address: query.address_extended_address,
        address_locality: query.address_locality,
        address_administrative_area: query.address_administrative_area,
        address_country_code: checked(
            query.address_country_code,
            "address_country_code",
            CountryCode::parse,
            "an ISO 3166-1 alpha-2 country",
        )?,
        address_postal_code: query.address_postal_code,
    };
    let listed = state.services.telnyx_sim_orders(&filter, page).await?;
    Ok(Json(TelnyxSimOrderPage {
        data: listed.orders.into_iter().map(Into::into).collect(),
        page: listed.page_number,
        page_size: listed.page_size,
        total_pages: listed.total_pages,
        total_results: listed.total_results,
    }))
}
