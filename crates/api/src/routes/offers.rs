//! `GET /v1/offers`: equivalent products of several providers under one
//! stable id, with the calling tenant's sell prices.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use simgate_domain::orchestration::OfferId;
use simgate_domain::{CountryCode, Currency, TenantId};
use simgate_service::{OfferFilter, OfferSort};
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::ApiQuery;
use crate::problem::{ApiError, Problem};
use crate::views::{OfferPage, OfferView};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// Offer filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfferQuery {
    /// ISO 3166-1 alpha-2 country where the offer must work.
    #[param(schema_with = crate::openapi::country_code)]
    country: Option<String>,
    /// Only offers with at least this much data (unlimited always qualifies).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    min_data_mb: Option<u32>,
    /// Only offers valid for exactly this many days.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    validity_days: Option<u32>,
    /// Highest sell price, as a decimal: in `currency` when given, else in
    /// the tenant's pricing currency (USD without rules). Prices are
    /// converted with the FX table first; one no rate converts never matches.
    #[param(pattern = r"^[0-9]{1,12}(\.[0-9]{1,6})?$", example = "9.99")]
    max_price: Option<String>,
    /// Only offers priced in this ISO 4217 currency.
    #[param(schema_with = crate::openapi::currency_code)]
    currency: Option<String>,
    /// `id` (default, stable across syncs), `price` (cheapest sell price first, converted to the tenant's currency, unconvertible prices last) or `-price`.
    #[param(schema_with = crate::openapi::offer_sort)]
    sort: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Offers to skip.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    offset: Option<u32>,
}

/// Lists offers: products of different providers that a traveller could
/// not tell apart (same countries, data and validity), each with its
/// candidates' costs and the tenant's sell price.
#[utoipa::path(get, operation_id = "listOffers", path = "/v1/offers", tag = "offers", params(OfferQuery),
    responses((status = 200, body = OfferPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_offers(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiQuery(query): ApiQuery<OfferQuery>,
) -> Result<Json<OfferPage>, ApiError> {
    let limit = super::page_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let max_price_micros = super::max_price_micros(query.max_price.as_deref())?;
    let sort = match query.sort.as_deref() {
        None | Some("id") => OfferSort::Id,
        Some("price") => OfferSort::PriceAsc,
        Some("-price") => OfferSort::PriceDesc,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("sort '{other}' is not one of id, price, -price"),
            ));
        }
    };
    let filter = OfferFilter {
        country: query
            .country
            .as_deref()
            .map(CountryCode::parse)
            .transpose()?,
        min_data_mb: query.min_data_mb.map(u64::from),
        validity_days: query.validity_days,
        currency: query.currency.as_deref().map(Currency::parse).transpose()?,
        max_price_micros,
        sort,
        limit,
        offset: query.offset.unwrap_or(0),
    };
    let tenant = TenantId::from_stored(tenant.id);
    let (offers, total) = state.services.priced_offers(&tenant, &filter).await?;
    Ok(Json(OfferPage {
        data: offers.into_iter().map(OfferView::from).collect(),
        total,
        limit,
        offset: filter.offset,
    }))
}

/// One offer by id, with the tenant's prices.
#[utoipa::path(get, operation_id = "getOffer", path = "/v1/offers/{id}", tag = "offers",
    params(("id" = String, Path, pattern = r"^off_[0-9a-f]{16}$", description = "An offer id from `GET /v1/offers`", example = "off_3f2a9c0d4e5b6a71")),
    responses((status = 200, body = OfferView), (status = 404, body = Problem)))]
pub async fn get_offer(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<Json<OfferView>, ApiError> {
    // An id not of the derived shape names no offer: 404 like any other.
    let id =
        OfferId::parse(&id).map_err(|e| ApiError::not_found("offer_not_found", e.to_string()))?;
    let offer = state
        .services
        .priced_offer(&TenantId::from_stored(tenant.id), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("offer_not_found", format!("no offer {id}")))?;
    Ok(Json(offer.into()))
}
