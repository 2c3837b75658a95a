//! `GET /v1/products`: the unified catalogue, served from the local store.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use simgate_domain::entities::{ProductFilter, ProductSort};
use simgate_domain::{CountryCode, Currency, ProductId, ProviderId, TenantId};
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::ApiQuery;
use crate::problem::{ApiError, Problem};
use crate::views::{ProductOut, ProductPage, ProductPageOut, ProductView};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// Catalogue filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    /// ISO 3166-1 alpha-2 country where the product must work.
    #[param(schema_with = crate::openapi::country_code)]
    country: Option<String>,
    /// Only products with at least this much data (unlimited always qualifies).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    min_data_mb: Option<u32>,
    /// Highest price, as a decimal (in `currency` when given).
    #[param(pattern = r"^[0-9]{1,12}(\.[0-9]{1,6})?$", example = "9.99")]
    max_price: Option<String>,
    /// ISO 4217 currency of the price.
    #[param(schema_with = crate::openapi::currency_code)]
    currency: Option<String>,
    /// Only this provider's products.
    #[param(schema_with = crate::openapi::catalogue_provider)]
    provider: Option<String>,
    /// `price` (default; by price converted to the tenant's currency, or USD, with unconvertible prices last), `-price`, `data` (most first) or `validity` (longest first).
    #[param(schema_with = crate::openapi::product_sort)]
    sort: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// Products to skip.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4294967295_i64)]
    offset: Option<u32>,
}

/// Searches the catalogue.
#[utoipa::path(get, operation_id = "listProducts", path = "/v1/products", tag = "products", params(ProductQuery),
    responses((status = 200, body = ProductPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_products(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiQuery(query): ApiQuery<ProductQuery>,
) -> Result<Json<ProductPageOut>, ApiError> {
    let limit = super::page_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let currency = query.currency.as_deref().map(Currency::parse).transpose()?;
    let max_price_micros = super::max_price_micros(query.max_price.as_deref())?;
    let sort = match query.sort.as_deref() {
        None | Some("price") => ProductSort::PriceAsc,
        Some("-price") => ProductSort::PriceDesc,
        Some("data") => ProductSort::DataDesc,
        Some("validity") => ProductSort::ValidityDesc,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("sort '{other}' is not one of price, -price, data, validity"),
            ));
        }
    };
    let filter = ProductFilter {
        provider: query
            .provider
            .as_deref()
            .map(str::parse::<ProviderId>)
            .transpose()?,
        country: query
            .country
            .as_deref()
            .map(CountryCode::parse)
            .transpose()?,
        min_data_mb: query.min_data_mb.map(u64::from),
        max_price_micros,
        currency,
        sort,
        limit,
        offset: query.offset.unwrap_or(0),
    };
    let tenant = TenantId::from_stored(tenant.id);
    let (products, total) = state.services.priced_products(&tenant, &filter).await?;
    Ok(Json(ProductPageOut {
        data: products,
        total,
        limit,
        offset: filter.offset,
    }))
}

/// One product by id.
#[utoipa::path(get, operation_id = "getProduct", path = "/v1/products/{id}", tag = "products",
    params(("id" = String, Path, pattern = r"^(esim-go|esim-story|sim-local|telnyx|onsim):[\x21-\x7e]{1,200}$", description = "`<provider>:<sku>`", example = "esim-go:esim_1GB_1D_JP_V2")),
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
pub async fn get_product(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> Result<Json<ProductOut>, ApiError> {
    let id = ProductId::parse(&id)?;
    let product = state
        .services
        .priced_product(&TenantId::from_stored(tenant.id), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("product_not_found", format!("no product {id}")))?;
    Ok(Json(ProductOut(product)))
}
