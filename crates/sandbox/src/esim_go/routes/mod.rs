//! The eSIM Go simulator's routes, one file per resource, and what they
//! share: eSIM Go's error body, its API-key check and its timestamps.

pub(crate) mod admin;
pub(crate) mod catalogue;
pub(crate) mod esims;
pub(crate) mod inventory;
pub(crate) mod orders;
pub(crate) mod organisation;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use simgate_connectors::esim_go::types::*;

use crate::esim_go::state::*;

/// eSIM Go's error body.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            message: message.to_owned(),
        }),
    )
        .into_response()
}

/// A refusal in eSIM Go's words, turned into its error body when answered.
#[derive(Debug)]
pub(crate) struct Refusal(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

pub(crate) fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal(status, message.to_owned())
}

pub(crate) type Answer<T> = Result<Json<T>, Refusal>;

pub(crate) fn bad_request(message: impl AsRef<str>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, message.as_ref())
}

pub(crate) fn not_yours() -> Refusal {
    refuse(StatusCode::FORBIDDEN, "ICCID not found or not yours")
}

/// Parses a JSON body into eSIM Go's 400 on failure.
pub(crate) fn body<T: DeserializeOwned>(
    parsed: Result<Json<T>, JsonRejection>,
) -> Result<T, Refusal> {
    parsed.map(|Json(value)| value).map_err(|rejection| {
        bad_request(format!("Invalid request body: {}", rejection.body_text()))
    })
}

pub(crate) async fn require_api_key(
    State(sandbox): State<EsimGoSandbox>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let expected = sandbox.lock().config.api_key.clone();
    let given = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok());
    if given == Some(expected.as_str()) {
        return next.run(request).await;
    }
    // The document answers 401 with an empty text body for exactly two
    // operations (`POST /orders`, `GET /networks`); every other one
    // documents 403 with eSIM Go's `{"message"}` body.
    let path = request.uri().path();
    let method = request.method();
    if (method == axum::http::Method::POST && path == "/orders")
        || (method == axum::http::Method::GET && path == "/networks")
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::CONTENT_TYPE, "text/plain")],
            "",
        )
            .into_response();
    }
    error(StatusCode::FORBIDDEN, "Unauthorised: invalid API key")
}

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
