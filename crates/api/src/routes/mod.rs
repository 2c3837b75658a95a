//! The `/v1` handlers, one module per resource.

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
use simgate_domain::DomainError;

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
