//! simgate's operator console: HTML pages for support and operations staff
//! (orders, eSIMs, catalogue, pricing, accounts, lines, webhooks), served by the binary.
//!
//! Pages are rendered on the server with maud and enhanced by htmx, both
//! compiled in (htmx and the stylesheet are vendored files embedded with
//! `include_bytes!`), so the console needs no Node toolchain and loads
//! nothing from outside. It talks to the service only, like the API, and
//! signs people in with the same keys: a tenant's key or the operator's.

mod assets;
mod error;
mod layout;
mod pages;
mod session;
mod simulators;

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use simgate_api::operator::OperatorKey;
use simgate_service::Services;

pub use simulators::{Simulator, SimulatorError, Simulators};

/// How the console's cookies and sessions behave.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// How long a sign-in lasts.
    pub session_lifetime: Duration,
    /// Mark cookies `Secure` on every answer (simgate behind TLS without
    /// `X-Forwarded-Proto`); they are marked anyway when that header says
    /// `https`.
    pub secure_cookies: bool,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(12 * 3600),
            secure_cookies: false,
        }
    }
}

/// What every console handler reaches.
#[derive(Clone)]
pub struct ConsoleState {
    pub services: Services,
    /// The operator key (digest only), checked as the API checks it.
    pub operator: OperatorKey,
    pub settings: ConsoleSettings,
    /// The simulators of `serve --sandbox`, whose faults the operator arms
    /// from `/console/faults`; `None` outside the sandbox, where that page
    /// does not exist.
    pub simulators: Option<Simulators>,
}

/// The console's routes under `/console`, ready to merge into the app of
/// any state (the state is applied here).
pub fn router<S: Clone + Send + Sync + 'static>(state: ConsoleState) -> Router<S> {
    Router::new()
        .route("/console", get(pages::dashboard::redirect_home))
        .route("/console/", get(pages::dashboard::show))
        .route(
            "/console/login",
            get(pages::login::form).post(pages::login::submit),
        )
        .route("/console/logout", post(pages::login::logout))
        .route("/console/tenant", post(pages::login::switch_tenant))
        .route(
            "/console/orders",
            get(pages::orders::list).post(pages::orders::place),
        )
        .route("/console/orders/{id}", get(pages::orders::detail))
        .route("/console/esims/{iccid}", get(pages::esims::show))
        .route("/console/esims/{iccid}/qr.svg", get(pages::esims::qr))
        .route("/console/esims/{iccid}/topup", post(pages::esims::topup))
        .route(
            "/console/esims/{iccid}/revoke",
            get(pages::esims::confirm_revoke).post(pages::esims::revoke),
        )
        .route("/console/catalogue", get(pages::catalogue::show))
        .route(
            "/console/pricing",
            get(pages::pricing::show).post(pages::pricing::save),
        )
        .route(
            "/console/routing",
            get(pages::routing::show).post(pages::routing::save),
        )
        .route("/console/providers", get(pages::providers::show))
        .route("/console/account", get(pages::account::show))
        .route("/console/account/credits", post(pages::account::credit))
        .route("/console/account/terms", post(pages::account::terms))
        .route("/console/sim-orders", get(pages::sim_orders::list))
        .route(
            "/console/faults",
            get(pages::faults::show).post(pages::faults::arm),
        )
        .route("/console/faults/clear", post(pages::faults::clear))
        .route("/console/lines", get(pages::lines::list))
        .route(
            "/console/lines/{mpn}",
            get(pages::lines::detail).post(pages::lines::save),
        )
        .route("/console/webhooks", get(pages::webhooks::show))
        .route(
            "/console/webhooks/events/{id}/replay",
            post(pages::webhooks::replay),
        )
        .route("/console/assets/htmx.min.js", get(assets::htmx))
        .route("/console/assets/console.css", get(assets::css))
        .with_state(state)
}
