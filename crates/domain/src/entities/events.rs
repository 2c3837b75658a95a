//! Events for resellers, their endpoints and deliveries, as stored.

use chrono::{DateTime, Utc};

/// A tenant's webhook endpoint. Its secret signs every delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    /// The `whsec_…` secret (Standard Webhooks) that signs deliveries, as
    /// stored: sealed, so the row alone never gives it away.
    pub secret: StoredSecret,
    /// The secret a rotation replaced: deliveries are signed with it too
    /// until it expires, so receivers can switch without missing one.
    pub previous_secret: Option<PreviousSecret>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// An endpoint secret encrypted under one of the operator's keys. Every
/// part is base64; none of it reveals the secret without the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// Which configured key sealed it (`[webhooks] secret_keys`), so the
    /// key can be changed while rows sealed under the old one stay readable.
    pub key_id: String,
    /// The random nonce it was sealed with, unique to this secret.
    pub nonce: String,
    /// The ciphertext with its authentication tag.
    pub ciphertext: String,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// An endpoint secret as a row holds it.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredSecret {
    /// Encrypted at rest: every secret written since migration 0017.
    Sealed(SealedSecret),
    /// Plain text written before secrets were encrypted (its key id is
    /// NULL); each start seals what is left of these.
    Legacy(String),
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sealed(sealed) => sealed.fmt(f),
            Self::Legacy(_) => f.write_str("Legacy([REDACTED])"),
        }
    }
}

/// The secret a rotation replaced, and until when it still signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub secret: SealedSecret,
    pub expires_at: DateTime<Utc>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: String,
    pub tenant_id: String,
    pub event_type: String,
    /// The JSON body sent to endpoints.
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Gave up after the last attempt.
    Failed,
    /// The endpoint answered 410 Gone, or was removed.
    Disabled,
}

impl DeliveryStatus {
    /// The lower-case name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Disabled => "disabled",
        }
    }

    /// The status named by [`Self::as_str`]; `None` for any other name,
    /// which the caller reports as corrupt data.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "pending" => Self::Pending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            "disabled" => Self::Disabled,
            _ => return None,
        })
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub endpoint_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_response: Option<u16>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}
