//! Connectors: one module per upstream provider, each speaking that
//! provider's real wire format and auth. The simulators of these providers
//! live in the `simgate-sandbox` crate, so production code ships none.
//!
//! A provider module has the same three files:
//! - `types.rs` — the provider's wire types, exactly as it sends them;
//! - `transform.rs` — mapping between those and `simgate_domain`;
//! - `client.rs` — HTTP calls, auth, timeouts and retries.
//!
//! Everything above this crate talks to a provider only through a trait:
//! [`Connector`] for eSIM bundle providers, [`SimCardOrders`] for physical
//! SIM shipping, [`SubscriberLines`] for subscriber lines; provider-specific
//! extras are inherent methods of the provider's client.

pub mod connector;
pub mod descriptor;
pub mod error;
pub mod esim_go;
pub mod esim_story;
pub mod health;
pub mod http;
pub mod lines;
pub mod metered;
pub mod onsim;
pub mod registry;
pub mod sim_local;
pub mod sim_orders;
pub mod telnyx;

pub use connector::{
    CatalogueProgress, Connector, InboundEvent, PlaceOrder, PlacedOrder, ReconcileStrategy,
    WebhookError,
};
pub use descriptor::{ProviderDescriptor, ProviderKind};
pub use error::ConnectorError;
pub use lines::SubscriberLines;
pub use registry::{ConnectorRegistry, Registration};
/// The header map webhooks arrive with (the `http` crate's, as axum's).
pub use reqwest::header::HeaderMap;
pub use sim_orders::SimCardOrders;
