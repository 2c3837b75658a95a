//! Request observability: one request id per request, one log line per
//! request, and the HTTP metrics.
//!
//! The id is the caller's `X-Request-Id` when it is a plausible one (1–128
//! visible ASCII characters), else a fresh UUID v7 (time-ordered, so ids
//! sort like the log). It is echoed in the response, put in every problem
//! body (`request_id`), and carried by the `request` span that every log line
//! of the request is emitted in. The tenant id joins that span once the key
//! is authenticated ([`record_tenant`]).

use std::time::Instant;

use axum::body::{Body, HttpBody};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header a request id travels in, both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller-supplied request id kept; a longer one is replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Largest problem body the request id is added to (problems are small
/// JSON objects; anything larger is passed on untouched).
const MAX_PROBLEM_BYTES: u64 = 64 * 1024;

const HTTP_REQUESTS: &str = "simgate_http_requests_total";
const HTTP_DURATION: &str = "simgate_http_request_duration_seconds";

/// The id of the request being handled, as a request extension for
/// handlers that want to quote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Registers the HELP text of the HTTP metrics with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route (the matched path template) and status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer HTTP requests, by method, route and status"
    );
}

/// Records the authenticated tenant into the current request's span, so
/// the request line and every later line of the request name it.
pub fn record_tenant(tenant_id: &str) {
    tracing::Span::current().record("tenant_id", tenant_id);
}

/// The caller's request id, if it is one we keep: bounded, visible ASCII
/// (no spaces or control characters that could forge log lines).
fn accepted(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let plausible = !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes.iter().all(u8::is_ascii_graphic);
    plausible.then(|| value.to_str().ok()).flatten()
}

/// The middleware: request id, span, request line, metrics.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(accepted)
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    // Visible ASCII by construction (accepted, or a UUID), so always a valid value.
    let header_value = HeaderValue::from_str(&request_id).ok();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().to_string();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        request_id = %request_id,
        tenant_id = tracing::field::Empty,
    );
    if let Some(value) = &header_value {
        request
            .headers_mut()
            .insert(REQUEST_ID_HEADER, value.clone());
    }
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));

    let response = next.run(request).instrument(span.clone()).await;
    let mut response = with_request_id_in_problem(response, &request_id).await;
    if let Some(value) = header_value {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }

    let took = started.elapsed();
    let status = response.status().as_u16();
    let labels = [
        ("method", method),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(took.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = took.as_secs_f64() * 1000.0,
            "request answered"
        );
    });
    response
}

/// Adds `request_id` to a problem body (`application/problem+json`), so a
/// client reporting an error can quote the id the logs carry.
async fn with_request_id_in_problem(response: Response, request_id: &str) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|len| len <= MAX_PROBLEM_BYTES);
    if !is_problem || !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_PROBLEM_BYTES as usize).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "could not read a problem body to add its request id");
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(parts, Body::empty());
        }
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut problem)) => {
            problem.insert("request_id".to_owned(), request_id.into());
            serde_json::to_vec(&problem).map_or(bytes, Into::into)
        }
        _ => bytes,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_bounded_visible_ascii_ids() {
        let keep = |s: &str| accepted(&HeaderValue::from_str(s).unwrap()).is_some();
        assert!(keep("req-123_ABC.x:y/z"));
        assert!(keep(&"a".repeat(MAX_REQUEST_ID_LEN)));
        assert!(!keep(&"a".repeat(MAX_REQUEST_ID_LEN + 1)));
        assert!(!keep("has space"));
        assert!(!keep("tab\there"));
        assert!(!keep(""));
        let non_ascii = HeaderValue::from_bytes("é".as_bytes()).unwrap();
        assert!(accepted(&non_ascii).is_none());
    }
}
