//! `/admin/v1/fx`: the operator's FX rate table, the same as `simgate fx …`.
//! Operator key only: rates change every tenant's prices.

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use simgate_domain::Currency;
use simgate_domain::orchestration::FxRate;
use utoipa::ToSchema;

use crate::AppState;
use crate::extract::ApiJson;
use crate::operator::Operator;
use crate::problem::{ApiError, Problem};

/// One rate: one unit of `base` is worth `rate` units of `quote`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FxRateView {
    #[schema(example = "USD")]
    pub base: String,
    #[schema(example = "EUR")]
    pub quote: String,
    /// An exact decimal, as a string: never a float.
    #[schema(example = "0.92", pattern = r"^[0-9]{1,12}(\.[0-9]{1,12})?$")]
    pub rate: String,
}

impl From<FxRate> for FxRateView {
    fn from(rate: FxRate) -> Self {
        Self {
            base: rate.base.code().to_owned(),
            quote: rate.quote.code().to_owned(),
            rate: rate.rate.normalize().to_string(),
        }
    }
}

impl FxRateView {
    fn parse(&self) -> Result<FxRate, ApiError> {
        let rate = Decimal::from_str(self.rate.trim()).map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fx_rate",
                format!("rate '{}' is not a decimal", self.rate),
            )
        })?;
        Ok(FxRate {
            base: Currency::parse(&self.base)?,
            quote: Currency::parse(&self.quote)?,
            rate,
        })
    }
}

/// `PUT /admin/v1/fx` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutFxRates {
    /// Rates to set; each replaces its pair and the inverse pair.
    pub rates: Vec<FxRateView>,
    /// When true, these rates become the whole table (others are removed).
    #[serde(default)]
    pub replace: bool,
}

/// The FX table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FxTableView {
    pub data: Vec<FxRateView>,
}

/// Lists every FX rate. Operator key only.
#[utoipa::path(get, path = "/admin/v1/fx", tag = "admin", operation_id = "listFxRates",
    security(("operatorKey" = [])),
    responses((status = 200, body = FxTableView), (status = 403, body = Problem)))]
pub async fn list_fx(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<FxTableView>, ApiError> {
    let rates = state.services.fx_rates().await?;
    Ok(Json(FxTableView {
        data: rates.into_iter().map(FxRateView::from).collect(),
    }))
}

/// Sets FX rates, all or none. Operator key only.
#[utoipa::path(put, path = "/admin/v1/fx", tag = "admin", operation_id = "putFxRates",
    security(("operatorKey" = [])), request_body = PutFxRates,
    responses((status = 200, body = FxTableView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_fx(
    State(state): State<AppState>,
    _operator: Operator,
    ApiJson(body): ApiJson<PutFxRates>,
) -> Result<Json<FxTableView>, ApiError> {
    let rates = body
        .rates
        .iter()
        .map(FxRateView::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let rates = state.services.set_fx_rates(&rates, body.replace).await?;
    Ok(Json(FxTableView {
        data: rates.into_iter().map(FxRateView::from).collect(),
    }))
}
