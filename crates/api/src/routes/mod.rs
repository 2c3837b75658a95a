//! The `/v1` handlers, one module per resource.

pub mod accounts;
pub mod balances;
pub mod esims;
pub mod events;
pub mod fx;
pub mod lines;
pub mod offers;
pub mod orders;
pub mod pricing;
pub mod products;
pub mod provider_ops;
pub mod providers;
pub mod routing;
pub mod sim_orders;
pub mod system;
pub mod tenants;
pub mod webhooks;

use axum::http::HeaderMap;
use rust_decimal::Decimal;
use simgate_domain::{DomainError, money};

use crate::problem::ApiError;

/// A body field that must be present: its absence is named (`missing_field`).
pub(crate) fn required<T>(value: Option<T>, field: &'static str) -> Result<T, DomainError> {
    value.ok_or(DomainError::MissingField(field))
}

/// A text field that must be present and not blank.
pub(crate) fn required_text(
    value: Option<String>,
    field: &'static str,
) -> Result<String, DomainError> {
    required(value.filter(|v| !v.trim().is_empty()), field)
}

/// Reads an optional `Idempotency-Key`: 1–255 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// A list's `limit`: `default` when absent, refused outside `1..=max` so a
/// client learns the bound instead of getting a silently clipped page.
pub(crate) fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {max}"),
        ));
    }
    Ok(limit)
}

/// A `max_price` query value as exact micro-units: a decimal, never a float.
pub(crate) fn max_price_micros(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.map(|raw| {
        let amount: Decimal = raw.trim().parse().map_err(|_| {
            ApiError::bad_request(
                "invalid_amount",
                format!("max_price '{raw}' is not a decimal"),
            )
        })?;
        Ok(money::micros(amount)?)
    })
    .transpose()
}
