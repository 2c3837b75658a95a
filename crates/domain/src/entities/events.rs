//! Events for resellers, their endpoints and deliveries, as stored.

use chrono::{DateTime, Utc};

/// A tenant's webhook endpoint. Its secret signs every delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    /// `whsec_…` (Standard Webhooks).
    pub secret: String,
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
