//! Operational endpoints: health, metrics, and the catch-all problem answers.

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use metrics_exporter_prometheus::PrometheusHandle;
use simgate_service::Services;

use crate::AppState;
use crate::operator::Operator;
use crate::problem::{ApiError, Problem};
use crate::views::Health;

/// Liveness and database reachability.
#[utoipa::path(get, operation_id = "getHealth", path = "/healthz", tag = "system",
    responses((status = 200, body = Health, description = "The process is up and its database answers"),
        (status = 503, body = Health, description = "The database does not answer")))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.services.check_storage().await {
        Ok(()) => Json(Health {
            status: "ok".into(),
            database: "ok".into(),
        })
        .into_response(),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "degraded".into(),
                    database: "unreachable".into(),
                }),
            )
                .into_response()
        }
    }
}

/// What `/readyz` answers once simgate can serve every request well.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Ready {
    /// Always `ready`.
    pub status: String,
}

/// Readiness, for a load balancer or orchestrator: 200 once migrations are
/// done (they run before the server listens) and every configured
/// provider's catalogue is loaded; until then a 503 `not_ready` problem
/// naming what is missing. `/healthz` stays the liveness check.
#[utoipa::path(get, operation_id = "getReadiness", path = "/readyz", tag = "system",
    responses((status = 200, body = Ready, description = "Migrations are done and every configured catalogue is loaded"),
        (status = 503, body = Problem, description = "Not ready yet: the problem names what is missing")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
    let not_ready =
        |detail: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", detail);
    if let Err(error) = state.services.check_storage().await {
        tracing::warn!(%error, "readiness check: database unreachable");
        return Err(not_ready("the database is unreachable".to_owned()));
    }
    let missing = match state.services.unloaded_catalogues().await {
        Ok(missing) => missing,
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            return Err(not_ready(
                "the catalogue state could not be read".to_owned(),
            ));
        }
    };
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
        return Err(not_ready(format!(
            "catalogue not loaded yet for: {}",
            names.join(", ")
        )));
    }
    Ok(Json(Ready {
        status: "ready".to_owned(),
    }))
}

/// Prometheus metrics. They span every tenant, so on the API's listener
/// they need the operator key.
#[utoipa::path(get, path = "/metrics", tag = "system", operation_id = "getMetrics",
    security(("operatorKey" = [])),
    responses((status = 200, content_type = "text/plain", body = String,
        description = "Prometheus text exposition format 0.0.4")))]
pub async fn metrics(State(state): State<AppState>, _operator: Operator) -> Response {
    render_metrics(&state.metrics, &state.services)
}

/// The exposition, with the gauges that move by time alone (a circuit
/// whose cool-down passed) brought up to now first.
fn render_metrics(handle: &PrometheusHandle, services: &Services) -> Response {
    services.refresh_health_gauges();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// `/metrics` alone, for a listener of its own (`metrics_listen`) where a
/// scraper reads them without a key: that address is kept private by where
/// it listens, not by a key.
pub fn metrics_app(handle: PrometheusHandle, services: Services) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || async move { render_metrics(&handle, &services) }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Any path the API does not have.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found("route_not_found", format!("no route for {}", uri.path()))
}

/// A known path with a method it does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not accept that method",
    )
}
