//! Sim Local UNITE Partner API: OAuth2, asynchronous orders completed by a
//! fulfilment webhook or by polling.
//!
//! Assumptions where the reference is silent (mirrored by the sandbox):
//! - OAuth2 client credentials at a configurable token URL, client
//!   authenticated with HTTP Basic; tokens refreshed at 80 % of `expires_in`,
//!   and once more on a 401.
//! - Paths: `/destinations`, `/product-offerings`, `/faulty-reasons`,
//!   `/orders`, `/orders/{id}`, `/orders/{id}/faulty`.
//! - The order item is `{product_offering_id, ssn?}`; the answer's item
//!   carries `iccid`, `smdp_address`, `matching_id` (or a full
//!   `activation_code`) once the eSIM exists.
//! - Errors use Spring Boot's `{status, error, message}`.
//! - The fulfilment webhook carries the configured API key in a configurable
//!   header (default `X-API-Key`); it only says which order changed, so the
//!   order is fetched again rather than trusting the payload.
//! - One order holds one item: unified orders of several eSIMs are refused.

pub mod client;
pub mod transform;
pub mod types;

pub use client::{SimLocalClient, SimLocalConfig};

/// This provider's entry in simgate's provider table.
pub const DESCRIPTOR: crate::descriptor::ProviderDescriptor =
    crate::descriptor::ProviderDescriptor {
        id: simgate_domain::ProviderId::SimLocal,
        kind: crate::descriptor::ProviderKind::Esim,
        name: "Sim Local",
        section: "sim_local",
    };
