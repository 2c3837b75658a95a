//! Connectors: one module per upstream provider, each speaking that
//! provider's real wire format and auth, plus a faithful simulator of it.
//!
//! A provider module has the same four files:
//! - `types.rs` — the provider's wire types, exactly as it sends them;
//! - `transform.rs` — mapping between those and `simgate_domain`;
//! - `client.rs` — HTTP calls, auth, timeouts and retries;
//! - `sandbox.rs` — a stateful simulator of the provider's API.
//!
//! Everything above this crate talks to a provider only through a trait:
//! [`Connector`] for eSIM bundle providers, [`SimCardOrders`] for physical
//! SIM shipping, [`SubscriberLines`] for subscriber lines; provider-specific
//! extras are inherent methods of the provider's client.

pub mod connector;
pub mod error;
pub mod esim_go;
pub mod esim_story;
pub mod http;
pub mod lines;
pub mod metered;
pub mod onsim;
pub mod registry;
pub mod sim_local;
pub mod sim_orders;
pub mod simulator;
pub mod telnyx;

pub use connector::{
    CatalogueProgress, Connector, InboundEvent, PlaceOrder, PlacedOrder, ReconcileStrategy,
    WebhookError,
};
pub use error::ConnectorError;
pub use lines::SubscriberLines;
pub use registry::ConnectorRegistry;
/// The header map webhooks arrive with (the `http` crate's, as axum's).
pub use reqwest::header::HeaderMap;
pub use sim_orders::SimCardOrders;
