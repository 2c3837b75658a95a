//! The operator role: whoever runs simgate and owns the provider accounts.
//!
//! Tenants share the operator's provider accounts, so what changes those
//! accounts (adding numbers or groups), what shows them whole (raw inventory)
//! and what spans every tenant (`/metrics`) needs the operator's key, never a
//! tenant's. The key comes from configuration (`admin_api_key`); only its
//! SHA-256 digest is kept, and a presented key is compared in constant time.
//! Without a configured key, operator routes stay closed.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use simgate_domain::entities::Tenant;
use simgate_service::InventoryScope;
use simgate_service::limits::Budget;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::problem::ApiError;

/// Shortest operator key accepted: long enough that guessing is hopeless.
pub const MIN_OPERATOR_KEY_LEN: usize = 24;

/// Why a configured operator key was refused at start.
#[derive(Debug, thiserror::Error)]
pub enum OperatorKeyError {
    #[error("admin_api_key must be at least {MIN_OPERATOR_KEY_LEN} characters")]
    TooShort,
}

/// The operator's API key, held only as its SHA-256 digest.
#[derive(Clone, Default)]
pub struct OperatorKey {
    digest: Option<[u8; 32]>,
}

impl OperatorKey {
    /// No operator key: every operator route is refused.
    pub fn none() -> Self {
        Self::default()
    }

    /// The configured key (surrounding whitespace ignored, as it is on the
    /// requests that present it); a short key is refused.
    pub fn new(key: &SecretString) -> Result<Self, OperatorKeyError> {
        let key = key.expose_secret().trim();
        if key.chars().count() < MIN_OPERATOR_KEY_LEN {
            return Err(OperatorKeyError::TooShort);
        }
        Ok(Self {
            digest: Some(digest(key)),
        })
    }

    /// Whether an operator key is configured at all.
    pub fn is_configured(&self) -> bool {
        self.digest.is_some()
    }

    /// What a console session opened with this key records: a digest of
    /// the key's digest (so the stored value is not the one keys are
    /// checked against), the same on every instance with the same key, and
    /// different once `admin_api_key` changes, which ends those sessions.
    /// `None` without a configured key.
    pub fn fingerprint(&self) -> Option<String> {
        self.digest.map(|digest| {
            let mut hasher = Sha256::new();
            hasher.update(b"simgate console operator session\0");
            hasher.update(digest);
            hex::encode(hasher.finalize())
        })
    }

    /// Whether `presented` is the operator key. Digests of equal length are
    /// compared in constant time, so timing tells nothing about the key.
    pub fn matches(&self, presented: &str) -> bool {
        self.digest
            .is_some_and(|expected| bool::from(expected.ct_eq(&digest(presented))))
    }
}

impl fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.is_configured() {
            "configured"
        } else {
            "none"
        };
        f.debug_tuple("OperatorKey").field(&state).finish()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Proof that the request carries the operator key. A tenant's key is a
/// 403 `operator_only`; a missing or unknown key a 401.
#[derive(Debug)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Operator => Ok(Self),
            Caller::Tenant(_) => Err(operator_only()),
        }
    }
}

/// A tenant key on an operator route.
fn operator_only() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "operator_only",
        "this operation needs the operator's key; a tenant key cannot use it",
    )
}

/// Who is calling a route open to both roles: the operator sees the
/// provider account whole, a tenant only its own part of it.
#[derive(Debug)]
pub enum Caller {
    Operator,
    Tenant(Tenant),
}

impl Caller {
    /// How much of the shared provider inventory this caller may see.
    pub fn scope(&self) -> InventoryScope<'_> {
        match self {
            Self::Operator => InventoryScope::Operator,
            Self::Tenant(tenant) => InventoryScope::Tenant(&tenant.id),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = presented_key(parts)?;
        if state.operator.matches(key) {
            return Ok(Self::Operator);
        }
        match state.services.authenticate(key).await? {
            Some(tenant) => {
                crate::observability::record_tenant(&tenant.id);
                state.services.spend(&tenant.id, Budget::Requests).await?;
                Ok(Self::Tenant(tenant))
            }
            None => Err(invalid_api_key()),
        }
    }
}

/// The key a request presents, as `Authorization: Bearer <key>` or
/// `X-API-Key: <key>`; a 401 `missing_api_key` without one.
fn presented_key(parts: &Parts) -> Result<&str, ApiError> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    bearer
        .or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "send your API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            )
        })
}

/// A key that is neither a tenant's nor the operator's.
fn invalid_api_key() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "the API key is not valid",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "op_0123456789abcdef0123456789";

    #[test]
    fn only_the_configured_key_matches() {
        let key = OperatorKey::new(&SecretString::from(format!("  {KEY}\n"))).unwrap();
        assert!(key.matches(KEY));
        assert!(!key.matches(&format!("{KEY}x")));
        assert!(!key.matches(""));
        assert!(!OperatorKey::none().matches(KEY));
        assert!(!OperatorKey::none().matches(""));
    }

    #[test]
    fn short_keys_are_refused() {
        let short = SecretString::from("x".repeat(MIN_OPERATOR_KEY_LEN - 1));
        assert!(matches!(
            OperatorKey::new(&short),
            Err(OperatorKeyError::TooShort)
        ));
    }

    #[test]
    fn the_key_stays_out_of_debug_output() {
        let key = OperatorKey::new(&SecretString::from(KEY)).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "OperatorKey(\"configured\")");
        assert!(!shown.contains(KEY));
        assert!(!shown.contains(&hex_digest(KEY)));
    }

    fn hex_digest(key: &str) -> String {
        digest(key).iter().map(|b| format!("{b:02x}")).collect()
    }
}
