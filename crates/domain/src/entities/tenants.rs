//! Reseller accounts and their API keys.

use chrono::{DateTime, Utc};

/// A reseller account; every API key belongs to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
}

/// A tenant as the operator administers it: what `tenants list` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantAccount {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// When it was disabled: from then on none of its keys is accepted.
    pub disabled_at: Option<DateTime<Utc>>,
    /// The first characters of each of its keys, so that an operator can
    /// tell which key a client holds without the key being stored.
    pub key_prefixes: Vec<String>,
}
