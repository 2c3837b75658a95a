//! The Telnyx simulator's routes, one file per resource, and what they
//! share: Telnyx's error objects, its bearer-key check and its rate limit.

pub(crate) mod addresses;
pub(crate) mod admin;
pub(crate) mod order_list;
pub(crate) mod orders;

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use simgate_connectors::telnyx::types::{ErrorBody, ErrorObject, ErrorSource};

use crate::simulator::bearer_matches;
use crate::telnyx::state::*;

/// Where an error points: a body field or a query parameter.
pub(crate) enum Source {
    Pointer(String),
    Parameter(String),
}

/// A Telnyx error answer.
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) errors: Vec<ErrorObject>,
}

impl IntoResponse for Refusal {
    /// Every error object carries the document's five fields (`code`,
    /// `title`, `detail`, `source`, `meta`); `source` and `meta` are empty
    /// objects when there is nothing to say.
    fn into_response(self) -> Response {
        let mut body = serde_json::json!(ErrorBody {
            errors: self.errors,
        });
        if let Some(errors) = body["errors"].as_array_mut() {
            for error in errors
                .iter_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                for key in ["source", "meta"] {
                    error.entry(key).or_insert_with(|| serde_json::json!({}));
                }
            }
        }
        (self.status, Json(body)).into_response()
    }
}

pub(crate) fn error_object(
    code: &str,
    title: &str,
    detail: Option<String>,
    source: Option<Source>,
) -> ErrorObject {
    ErrorObject {
        code: code.to_owned(),
        title: title.to_owned(),
        detail,
        source: source.map(|source| match source {
            Source::Pointer(pointer) => ErrorSource {
                pointer: Some(pointer),
                parameter: None,
            },
            Source::Parameter(parameter) => ErrorSource {
                pointer: None,
                parameter: Some(parameter),
            },
        }),
    }
}

pub(crate) fn refusal(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: Option<String>,
) -> Refusal {
    Refusal {
        status,
        errors: vec![error_object(code, title, detail, None)],
    }
}

pub(crate) fn bad_request(detail: String, source: Source) -> Refusal {
    Refusal {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        errors: vec![error_object(
            "10015",
            "Bad Request",
            Some(detail),
            Some(source),
        )],
    }
}

pub(crate) fn bad_parameter(parameter: &str, detail: String) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        errors: vec![error_object(
            "10015",
            "Bad Request",
            Some(detail),
            Some(Source::Parameter(parameter.to_owned())),
        )],
    }
}

pub(crate) fn missing(field: &str) -> ErrorObject {
    error_object(
        "10004",
        "Missing required parameter",
        Some(format!("The '{field}' parameter is required.")),
        Some(Source::Pointer(format!("/{field}"))),
    )
}

/// The error body of an injected fault, its Telnyx code taken from the status.
pub(crate) fn fault_body(status: StatusCode, message: &str) -> Response {
    let (code, title) = match status {
        StatusCode::UNAUTHORIZED => ("10009", "Authentication failed"),
        StatusCode::FORBIDDEN => ("10010", "Authorization failed"),
        StatusCode::NOT_FOUND => ("10005", "Resource not found"),
        StatusCode::TOO_MANY_REQUESTS => ("10011", "Too many requests"),
        _ => ("10007", "Unexpected error"),
    };
    refusal(status, code, title, Some(message.to_owned())).into_response()
}

pub(crate) type Answer = Result<Response, Refusal>;

pub(crate) fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        refusal(
            StatusCode::BAD_REQUEST,
            "10015",
            "Bad Request",
            Some(format!("The request body is not valid JSON: {e}")),
        )
    })
}

pub(crate) async fn require_key(
    State(sandbox): State<TelnyxSandbox>,
    request: Request,
    next: Next,
) -> Response {
    let expected = sandbox.lock().config.api_key.clone();
    if !bearer_matches(request.headers(), &expected) {
        return refusal(
            StatusCode::UNAUTHORIZED,
            "10009",
            "Authentication failed",
            Some("Could not understand the provided credentials.".to_owned()),
        )
        .into_response();
    }
    next.run(request).await
}

/// A fixed one-second window; every answer says how much of it is left.
pub(crate) async fn rate_limit(
    State(sandbox): State<TelnyxSandbox>,
    request: Request,
    next: Next,
) -> Response {
    let verdict = {
        let mut state = sandbox.lock();
        state.config.rate_limit.map(|limit| {
            if state.window.started.elapsed() >= Duration::from_secs(1) {
                state.window = RateWindow {
                    started: Instant::now(),
                    used: 0,
                };
            }
            let allowed = state.window.used < limit;
            if allowed {
                state.window.used += 1;
            }
            (limit, limit - state.window.used, allowed)
        })
    };
    let Some((limit, remaining, allowed)) = verdict else {
        return next.run(request).await;
    };
    let mut response = if allowed {
        next.run(request).await
    } else {
        refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "10011",
            "Too many requests",
            Some(format!("More than {limit} requests in a second.")),
        )
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(1u32));
    response
}
