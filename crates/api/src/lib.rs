//! simgate's unified HTTP API (v1).
//!
//! Handlers stay thin: they parse and validate input into domain types, call
//! a use case of `simgate_service`, and shape the answer. Every error leaves
//! through [`problem::ApiError`] as an RFC 9457 problem with a stable code.

pub mod auth;
pub mod browser;
pub mod extract;
pub mod limits;
pub mod observability;
pub mod openapi;
pub mod operator;
pub mod problem;
pub mod qr;
pub mod routes;
pub mod views;

use axum::Router;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use simgate_service::Services;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::problem::ApiError;

/// What every handler can reach. Cloned for every request (axum hands
/// each handler its own state), so the services sit behind one `Arc`:
/// one reference count per clone instead of one per service.
#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub metrics: PrometheusHandle,
    /// The operator's key (digest only); none configured closes operator routes.
    pub operator: operator::OperatorKey,
}

impl AppState {
    /// State over the given services, with the process-wide metrics recorder
    /// and no operator key.
    pub fn new(services: Services) -> Self {
        Self {
            services: Arc::new(services),
            metrics: metrics_handle(),
            operator: operator::OperatorKey::none(),
        }
    }

    /// The same state, with operator routes opened to `key`.
    pub fn with_operator_key(self, key: operator::OperatorKey) -> Self {
        Self {
            operator: key,
            ..self
        }
    }
}

/// Histogram buckets of every duration metric, in seconds: from a fast
/// local read to the longest upstream timeout.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The process-wide Prometheus recorder, installed on first use (a process
/// may serve several apps, as tests do, but has one recorder). Durations are
/// histograms, not summaries: buckets add up across instances, and they do
/// not fall back to zero when traffic pauses.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_buckets(DURATION_BUCKETS) {
                Ok(builder) => builder,
                Err(error) => {
                    tracing::warn!(%error, "duration histograms not configured; summaries instead");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            observability::describe();
            simgate_connectors::metered::describe();
            simgate_connectors::health::describe();
            simgate_service::telemetry::describe();
            spawn_upkeep(handle.clone());
            handle
        })
        .clone()
}

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Folds histogram samples into buckets on a timer, as the exporter's own
/// `install` would: without it, samples pile up in memory until a scrape,
/// without bound when nothing scrapes. A plain thread: the recorder may be
/// installed before (or outside) any async runtime.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "no metrics upkeep thread; histograms fold on each scrape only");
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "simgate", description = "One API over many eSIM providers."),
    tags(
        (name = "providers", description = "Configured providers and their capabilities"),
        (name = "products", description = "The unified catalogue"),
        (name = "offers", description = "Equivalent products of several providers under one id"),
        (name = "pricing", description = "A tenant's sell prices: markup, rounding and overrides"),
        (name = "routing", description = "A tenant's routing policy: which provider sells its offers"),
        (name = "orders", description = "Durable, idempotent orders"),
        (name = "esims", description = "Install details, QR codes, usage, top-ups, revokes, location and SMS"),
        (name = "webhooks", description = "Events from providers, verified per provider"),
        (name = "events", description = "Events for resellers: endpoints, log, replay (Standard Webhooks)"),
        (name = "sim-orders", description = "Physical SIM cards shipped to an address"),
        (name = "esim-go", description = "eSIM Go's own operations: inventory, history, organisation, networks"),
        (name = "lines", description = "Subscriber lines, numbers, SIMs, ports, groups and subscribers"),
        (name = "admin", description = "Tenant administration, with the operator key"),
        (name = "system", description = "Liveness and readiness")
    ),
    components(schemas(problem::Problem, simgate_domain::EventBody))
)]
struct ApiDoc;

/// The v1 routes and the OpenAPI document describing them.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::providers::list_providers))
        .routes(routes!(routes::products::list_products))
        .routes(routes!(routes::products::get_product))
        .routes(routes!(routes::offers::list_offers))
        .routes(routes!(routes::offers::get_offer))
        .routes(routes!(
            routes::pricing::get_pricing,
            routes::pricing::put_pricing
        ))
        .routes(routes!(
            routes::routing::get_routing,
            routes::routing::put_routing
        ))
        .routes(routes!(routes::fx::list_fx, routes::fx::put_fx))
        .routes(routes!(
            routes::orders::create_order,
            routes::orders::list_orders
        ))
        .routes(routes!(routes::orders::get_order))
        .routes(routes!(routes::orders::faulty_reasons))
        .routes(routes!(routes::orders::report_faulty))
        .routes(routes!(routes::esims::list_esims))
        .routes(routes!(routes::esims::get_esim))
        .routes(routes!(routes::esims::qr_png))
        .routes(routes!(routes::esims::qr_svg))
        .routes(routes!(routes::esims::usage))
        .routes(routes!(routes::esims::create_topup))
        .routes(routes!(routes::esims::revoke_bundle))
        .routes(routes!(routes::esims::location))
        .routes(routes!(routes::esims::send_sms))
        .routes(routes!(routes::webhooks::receive))
        .routes(routes!(
            routes::events::create_endpoint,
            routes::events::list_endpoints
        ))
        .routes(routes!(routes::events::delete_endpoint))
        .routes(routes!(routes::events::rotate_endpoint_secret))
        .routes(routes!(routes::events::list_events))
        .routes(routes!(routes::events::get_event))
        .routes(routes!(routes::events::replay_event))
        .routes(routes!(routes::sim_orders::create_address))
        .routes(routes!(routes::sim_orders::preview))
        .routes(routes!(
            routes::sim_orders::create_sim_order,
            routes::sim_orders::list_sim_orders
        ))
        .routes(routes!(routes::sim_orders::get_sim_order))
        .routes(routes!(routes::lines::provision, routes::lines::list))
        .routes(routes!(routes::lines::get, routes::lines::update_settings))
        .routes(routes!(routes::lines::set_recording))
        .routes(routes!(routes::lines::change_bundle))
        .routes(routes!(routes::lines::esim))
        .routes(routes!(routes::lines::qr_png))
        .routes(routes!(routes::lines::qr_svg))
        .routes(routes!(routes::lines::provider_qr))
        .routes(routes!(routes::lines::cease))
        .routes(routes!(routes::lines::offers))
        .routes(routes!(routes::lines::numbers, routes::lines::add_number))
        .routes(routes!(routes::lines::sims))
        .routes(routes!(routes::lines::ports))
        .routes(routes!(routes::lines::port))
        .routes(routes!(routes::lines::groups, routes::lines::add_group))
        .routes(routes!(routes::lines::subscribers))
        .routes(routes!(routes::system::healthz))
        .routes(routes!(routes::system::readyz))
        .routes(routes!(
            routes::tenants::list_tenants,
            routes::tenants::create_tenant
        ))
        .routes(routes!(routes::tenants::rotate_tenant_key))
        .routes(routes!(routes::tenants::disable_tenant))
        .routes(routes!(
            routes::tenants::get_tenant_limits,
            routes::tenants::put_tenant_limits
        ))
        .routes(routes!(routes::balances::provider_balance))
        .routes(routes!(
            routes::balances::create_operator_endpoint,
            routes::balances::list_operator_endpoints
        ))
        .routes(routes!(routes::balances::delete_operator_endpoint))
        .routes(routes!(routes::system::metrics))
        .routes(routes!(routes::accounts::get_account))
        .routes(routes!(routes::accounts::put_alerts))
        .routes(routes!(routes::accounts::statement))
        .routes(routes!(
            routes::accounts::get_tenant_account,
            routes::accounts::put_tenant_account
        ))
        .routes(routes!(routes::accounts::post_credit))
        .routes(routes!(routes::accounts::tenant_statement))
        .routes(routes!(routes::accounts::margin_report))
        .merge(routes::provider_ops::esim_go::router())
        .merge(routes::provider_ops::telnyx::router())
        .split_for_parts();
    openapi::Contract.modify(&mut doc);
    (router, doc)
}

/// The whole HTTP application; serve it wrapped in [`limits::apply`],
/// which bounds request sizes and the body's arrival.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The application with `pages` merged beside the API and the docs UI
/// (the binary passes the operator console), under the same request
/// span, panic net and fallbacks. `pages` must not set a fallback. The
/// docs UI and `pages` carry the browser headers of [`browser::secured`].
pub fn app_with(state: AppState, pages: Router<AppState>) -> Router {
    let (api, openapi) = api_routes();
    let openapi_json = serde_json::to_string(&openapi).unwrap_or_else(|_| "{}".to_owned());
    api.route(
        "/openapi.json",
        get(move || async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                openapi_json,
            )
        }),
    )
    .merge(browser::secured(Router::from(docs_ui()).merge(pages)))
    .fallback(routes::system::not_found)
    .method_not_allowed_fallback(routes::system::method_not_allowed)
    .layer(CatchPanicLayer::custom(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "simgate failed to handle the request; it has been logged",
        )
        .into_response()
    }))
    // Outermost: the span and request line cover everything, panics too.
    .layer(middleware::from_fn(observability::observe))
    .with_state(state)
}

/// The browsable reference at `/docs`: Swagger UI from the binary (the
/// vendored, pinned build), reading `/openapi.json`, so it renders without
/// internet. The online validator is off: it would send the document to a
/// third party and load its badge from there.
fn docs_ui() -> SwaggerUi {
    SwaggerUi::new("/docs").config(
        Config::from("/openapi.json")
            .validator_url("none")
            .display_operation_id(true),
    )
}
