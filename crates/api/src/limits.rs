//! Per-request limits enforced before routing, and the guarantee that every
//! error leaves as an RFC 9457 problem.
//!
//! The transport (hyper) bounds how long a client may take to send its
//! headers; everything that can still be answered is answered here, as a
//! problem with a stable code: a target or headers too large, a path that
//! does not decode, a body over the limit (refused from its
//! `Content-Length` before a byte of it is read), or a body that does not
//! arrive in time. The body is read whole under one deadline, so a client
//! trickling a byte at a time cannot hold a connection open.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::problem::ApiError;

/// What one request may weigh and how long its body may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Longest request target (path and query); hyper's own limit is
    /// ~64 KiB and answers with an empty body, so ours is lower.
    pub max_uri_bytes: usize,
    /// Largest total of header names and values.
    pub max_header_bytes: usize,
    /// Largest body; every v1 body is a small JSON object.
    pub max_body_bytes: usize,
    /// Time the whole body has to arrive, counted once the headers are in
    /// (not per chunk: a trickle must not reset it).
    pub body_timeout: Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            body_timeout: Duration::from_secs(5),
        }
    }
}

/// Wraps the application in the request limits and in the net that turns
/// any plain-text or empty error answer (axum's own rejections) into a problem.
pub fn apply(app: Router, limits: RequestLimits) -> Router {
    app.layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(limits, enforce))
        .layer(middleware::map_response(problem_for_plain_errors))
}

async fn enforce(State(limits): State<RequestLimits>, request: Request, next: Next) -> Response {
    if let Err(refusal) = check_head(&limits, &request) {
        return closing(refusal);
    }
    let (parts, body) = request.into_parts();
    match read_body(&limits, &parts.headers, body).await {
        Ok(body) => next.run(Request::from_parts(parts, body)).await,
        Err(refusal) => closing(refusal),
    }
}

/// Checks what is already in memory: the target and the headers.
fn check_head(limits: &RequestLimits, request: &Request) -> Result<(), ApiError> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > limits.max_uri_bytes {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "the request target is {target} bytes; at most {} are accepted",
                limits.max_uri_bytes
            ),
        ));
    }
    let headers = header_bytes(request.headers());
    if headers > limits.max_header_bytes {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "the request headers are {headers} bytes; at most {} are accepted",
                limits.max_header_bytes
            ),
        ));
    }
    // Every path parameter is text: a path that does not decode to UTF-8
    // can name nothing, whichever route it would reach.
    if percent_encoding::percent_decode_str(request.uri().path())
        .decode_utf8()
        .is_err()
    {
        return Err(ApiError::bad_request(
            "invalid_path",
            "the path is not valid percent-encoded UTF-8",
        ));
    }
    Ok(())
}

/// Size of the headers as sent: `name: value\r\n` each.
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// Reads the whole body within the limits, before any handler runs.
async fn read_body(
    limits: &RequestLimits,
    headers: &HeaderMap,
    body: Body,
) -> Result<Body, ApiError> {
    let too_large = |declared: Option<u64>| {
        let size = declared.map_or_else(|| "longer".to_owned(), |bytes| format!("{bytes} bytes"));
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the body is {size}; at most {} bytes are accepted",
                limits.max_body_bytes
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(declared) = declared
        && declared > limits.max_body_bytes as u64
    {
        return Err(too_large(Some(declared)));
    }
    if HttpBody::is_end_stream(&body) {
        return Ok(body);
    }
    let collected = tokio::time::timeout(
        limits.body_timeout,
        Limited::new(body, limits.max_body_bytes).collect(),
    )
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the body did not arrive within {} ms",
                limits.body_timeout.as_millis()
            ),
        )
    })?;
    match collected {
        Ok(collected) => Ok(Body::from(collected.to_bytes())),
        Err(error) if error.is::<LengthLimitError>() => Err(too_large(None)),
        Err(error) => Err(ApiError::bad_request(
            "body_unreadable",
            format!("the body could not be read: {error}"),
        )),
    }
}

/// A refusal, after which the connection is closed: the rest of a body
/// may be unread, and a client over a limit is not worth keeping.
fn closing(refusal: ApiError) -> Response {
    let mut response = refusal.into_response();
    let status = response.status();
    tracing::debug!(%status, "request refused by a limit");
    metrics::counter!("simgate_http_refused_total", "status" => status.as_u16().to_string())
        .increment(1);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Turns an error answer that is not a problem (axum's plain-text
/// rejections, empty bodies) into one, keeping its status and headers.
async fn problem_for_plain_errors(response: Response) -> Response {
    let status = response.status();
    let is_plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|kind| kind.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !is_plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, PLAIN_DETAIL_MAX)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let text = String::from_utf8_lossy(&text);
    let detail = if status.is_server_error() {
        tracing::error!(%status, detail = %text, "plain error answer replaced by a problem");
        "simgate failed to handle the request; it has been logged".to_owned()
    } else if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.trim().to_owned()
    };
    let mut problem = ApiError::new(status, code_for(status), detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().append(name, value.clone());
        }
    }
    problem
}

/// Longest plain-text body kept as a problem's detail.
const PLAIN_DETAIL_MAX: usize = 4096;

/// The stable code of an error answer known only by its status.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::NOT_IMPLEMENTED => "not_implemented",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        status if status.is_client_error() => "invalid_request",
        _ => "internal_error",
    }
}

#[cfg(test)]
mod tests {
    use axum::Json;
    use axum::routing::get;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::*;

    /// Answers `path` through [`apply`] over a router of plain answers.
    async fn answer(path: &str) -> (StatusCode, HeaderMap, Value) {
        let app = Router::new()
            .route(
                "/plain",
                get(|| async { (StatusCode::BAD_REQUEST, "Invalid URL: bad") }),
            )
            .route("/empty", get(|| async { StatusCode::METHOD_NOT_ALLOWED }))
            .route(
                "/crash",
                get(|| async {
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Missing request extension: Secret",
                    )
                }),
            )
            .route(
                "/health",
                get(|| async {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({ "status": "degraded" })),
                    )
                }),
            )
            .route("/ok", get(|| async { "fine" }));
        let response = apply(app, RequestLimits::default())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        let body =
            serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
        (parts.status, parts.headers, body)
    }

    fn is_problem(headers: &HeaderMap) -> bool {
        headers[header::CONTENT_TYPE] == "application/problem+json"
    }

    #[tokio::test]
    async fn plain_text_rejections_become_problems_with_their_detail() {
        let (status, headers, body) = answer("/plain").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(is_problem(&headers));
        assert_eq!(body["code"], "invalid_request");
        assert_eq!(body["detail"], "Invalid URL: bad");
    }

    #[tokio::test]
    async fn empty_error_answers_become_problems() {
        let (status, headers, body) = answer("/empty").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(is_problem(&headers));
        assert_eq!(body["code"], "method_not_allowed");
        assert_eq!(body["status"], 405);
    }

    #[tokio::test]
    async fn server_errors_keep_their_text_out_of_the_answer() {
        let (status, headers, body) = answer("/crash").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(is_problem(&headers));
        assert_eq!(body["code"], "internal_error");
        assert!(!body.to_string().contains("Secret"), "{body}");
    }

    #[tokio::test]
    async fn json_and_successful_answers_are_left_alone() {
        let (status, headers, body) = answer("/health").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(body["status"], "degraded");
        let (status, _, body) = answer("/ok").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "fine");
    }
}
