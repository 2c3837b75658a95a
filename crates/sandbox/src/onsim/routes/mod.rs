//! The ONSIM simulator's routes, one file per resource, and what they
//! share: ONSIM's error body, input checks and its bearer-key check.

pub(crate) mod accounts;
pub(crate) mod admin;
pub(crate) mod inventory;
pub(crate) mod provisioning;
pub(crate) mod reseller;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use simgate_connectors::onsim::types::{ErrorBody, ErrorDetail, Message};

use crate::onsim::state::*;
use crate::simulator::bearer_matches;

/// An error answer, in the shape this module assumes for ONSIM.
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code,
                    message: self.message,
                },
            }),
        )
            .into_response()
    }
}

pub(crate) type Answer = Result<Response, Refusal>;

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Refusal {
    Refusal {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// The error body of an injected fault, its code taken from the status.
pub(crate) fn fault_body(status: StatusCode, message: &str) -> Response {
    let code = status
        .canonical_reason()
        .unwrap_or("ERROR")
        .to_ascii_uppercase()
        .replace(' ', "_");
    error(status, &code, message).into_response()
}

pub(crate) fn bad_request(code: &str, message: &str) -> Refusal {
    error(StatusCode::BAD_REQUEST, code, message)
}

pub(crate) fn account_not_found(mpn: &str) -> Refusal {
    error(
        StatusCode::NOT_FOUND,
        "ACCOUNT_NOT_FOUND",
        &format!("No account with MPN {mpn}"),
    )
}

pub(crate) fn ok(message: &str) -> Answer {
    Ok(Json(Message {
        message: message.to_owned(),
    })
    .into_response())
}

/// Reads a JSON body without echoing any of its values (a password may be
/// among them).
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        bad_request(
            "INVALID_REQUEST",
            &format!(
                "Malformed request body at line {} column {}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// An `ON`/`OFF` switch of a request; `None` leaves it as it is.
pub(crate) fn switch(field: &str, value: Option<&str>) -> Result<Option<bool>, Refusal> {
    match value {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("ON") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("OFF") => Ok(Some(false)),
        Some(_) => Err(bad_request(
            "INVALID_VALUE",
            &format!("{field} must be ON or OFF"),
        )),
    }
}

/// The 19 digits ONSIM takes; a printed 20-digit ICCID is refused.
pub(crate) fn short_iccid(raw: &str) -> Result<String, Refusal> {
    let raw = raw.trim();
    if raw.len() == 19 && raw.bytes().all(|b| b.is_ascii_digit()) {
        Ok(raw.to_owned())
    } else {
        Err(bad_request(
            "INVALID_ICCID",
            "iccid must be the 19 digit ICCID (remove the final digit from the printed version)",
        ))
    }
}

/// ONSIM's group name rule: 3–45 of `a-z A-Z 0-9 _ -`, starting
/// alphanumeric, with at least one letter.
pub(crate) fn valid_group_name(name: &str) -> bool {
    (3..=45).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().any(|b| b.is_ascii_alphabetic())
}

pub(crate) async fn require_key(
    State(sandbox): State<OnsimSandbox>,
    request: Request,
    next: Next,
) -> Response {
    let expected = sandbox.lock().config.api_key.clone();
    if !bearer_matches(request.headers(), &expected) {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "A valid API key is required: Authorization: Bearer YOUR_KEY_HERE",
        )
        .into_response();
    }
    next.run(request).await
}
