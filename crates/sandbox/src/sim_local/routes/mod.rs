//! The Sim Local simulator's routes, one file per resource, and what they
//! share: Spring Boot's error body and the bearer-token check.

pub(crate) mod admin;
pub(crate) mod auth;
pub(crate) mod catalogue;
pub(crate) mod orders;

use std::time::Instant;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use simgate_connectors::sim_local::types::*;

use crate::sim_local::state::*;

pub(crate) fn problem(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            status: status.as_u16(),
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: message.to_owned(),
        }),
    )
        .into_response()
}

pub(crate) async fn require_token(
    State(sandbox): State<SimLocalSandbox>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let valid = {
        let mut state = sandbox.lock();
        let valid = token.is_some_and(|t| {
            state
                .tokens
                .get(&t)
                .is_some_and(|expiry| Instant::now() < *expiry)
        });
        if !valid {
            state.tokens_rejected += 1;
        }
        valid
    };
    if !valid {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Full authentication is required to access this resource",
        );
    }
    next.run(request).await
}
