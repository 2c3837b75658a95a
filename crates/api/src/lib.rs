//! simgate's unified HTTP API (v1).
//!
//! Handlers stay thin: they parse and validate input into domain types, call
//! a use case of `simgate_service`, and shape the answer. Every error leaves
//! through [`problem::ApiError`] as an RFC 9457 problem with a stable code.

pub mod auth;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod operator;
pub mod problem;
pub mod routes;
pub mod views;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use simgate_service::Services;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_scalar::{Scalar, Servable};

use crate::problem::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub metrics: PrometheusHandle,
    /// The operator's key (digest only); none configured closes operator routes.
    pub operator: operator::OperatorKey,
}

impl AppState {
    /// State over the given services, with the process-wide metrics recorder
    /// and no operator key.
    pub fn new(services: Services) -> Self {
        Self {
            services,
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

/// The process-wide Prometheus recorder, installed on first use (a process
/// may serve several apps, as tests do, but has one recorder).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "simgate", description = "One API over many eSIM providers."),
    tags(
        (name = "providers", description = "Configured providers and their capabilities"),
        (name = "products", description = "The unified catalogue"),
        (name = "orders", description = "Durable, idempotent orders"),
        (name = "esims", description = "Install details, QR codes, usage, top-ups, revokes, location and SMS"),
        (name = "webhooks", description = "Events from providers, verified per provider"),
        (name = "events", description = "Events for resellers: endpoints, log, replay (Standard Webhooks)"),
        (name = "sim-orders", description = "Physical SIM cards shipped to an address"),
        (name = "lines", description = "Subscriber lines, numbers, SIMs, ports, groups and subscribers"),
        (name = "system", description = "Health")
    ),
    components(schemas(problem::Problem))
)]
struct ApiDoc;

/// The v1 routes and the OpenAPI document describing them.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::providers::list_providers))
        .routes(routes!(routes::products::list_products))
        .routes(routes!(routes::products::get_product))
        .routes(routes!(
            routes::orders::create_order,
            routes::orders::list_orders
        ))
        .routes(routes!(routes::orders::get_order))
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
        .routes(routes!(routes::system::metrics))
        .split_for_parts();
    openapi::Contract.modify(&mut doc);
    (router, doc)
}

/// The whole HTTP application; serve it wrapped in [`limits::apply`],
/// which bounds request sizes and the body's arrival.
pub fn app(state: AppState) -> Router {
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
    .merge(Scalar::with_url("/docs", openapi))
    .fallback(routes::system::not_found)
    .method_not_allowed_fallback(routes::system::method_not_allowed)
    .layer(middleware::from_fn(record_metrics))
    .layer(TraceLayer::new_for_http())
    .layer(CatchPanicLayer::custom(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "simgate failed to handle the request; it has been logged",
        )
        .into_response()
    }))
    .with_state(state)
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let took: Duration = started.elapsed();
    metrics::counter!("simgate_http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("simgate_http_request_duration_seconds", "method" => method, "path" => path)
        .record(took.as_secs_f64());
    response
}
