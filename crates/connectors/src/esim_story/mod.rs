//! eSIM Story partner API: HMAC-signed orders, eSIMs delivered by webhook.
//!
//! Assumptions where the provider publishes nothing (mirrored by the sandbox):
//! - There is no catalogue endpoint: options are configured by the operator.
//! - There is no order-status endpoint: an order whose answer was lost is
//!   simply placed again with the same `external_order_id` (simgate's order
//!   id); the provider's "External order id has already been taken" then
//!   proves the first call went through, so nothing is bought twice.
//! - Webhooks carry no signature: the operator configures a shared secret
//!   that each webhook must present in `X-Esim-Story-Webhook-Secret`.
//! - Top-ups are not offered.

pub mod client;
pub mod transform;
pub mod types;

pub use client::{EsimStoryClient, EsimStoryConfig};

/// This provider's entry in simgate's provider table.
pub const DESCRIPTOR: crate::descriptor::ProviderDescriptor =
    crate::descriptor::ProviderDescriptor {
        id: simgate_domain::ProviderId::EsimStory,
        kind: crate::descriptor::ProviderKind::Esim,
        name: "eSIM Story",
        section: "esim_story",
    };
