//! The eSIM Story simulator's routes, one file per resource, and what they
//! share: its error answers and the HMAC request-signature check.

pub(crate) mod admin;
pub(crate) mod orders;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use simgate_connectors::esim_story::client::{
    ACCESS_KEY_HEADER, SIGNATURE_HEADER, SIGNATURE_WINDOW_SECS, TIMESTAMP_HEADER, signature,
};

use crate::esim_story::state::*;
use simgate_connectors::esim_story::types::*;
use simgate_connectors::http::secrets_match;

/// eSIM Story's plain error body.
pub(crate) fn plain(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(PlainErrorBody {
            error: message.to_owned(),
        }),
    )
        .into_response()
}

pub(crate) fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(AuthErrorBody {
            error: AuthError {
                code: "unauthorized".to_owned(),
                message: message.to_owned(),
            },
        }),
    )
        .into_response()
}

pub(crate) fn unprocessable(message: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(ValidationErrorBody {
            errors: vec![message.to_owned()],
        }),
    )
        .into_response()
}

/// Checks the documented request signature; the error is the documented 401 message.
pub(crate) fn authenticate(state: &StoryState, headers: &HeaderMap) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(access_key), Some(signed), Some(timestamp)) = (
        header(ACCESS_KEY_HEADER),
        header(SIGNATURE_HEADER),
        header(TIMESTAMP_HEADER),
    ) else {
        return Err("Missing required authentication headers.");
    };
    if !secrets_match(access_key, &state.config.access_key) {
        return Err(
            "Invalid or missing access key. Please provide a valid X-Esim-Story-Access-Key header.",
        );
    }
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| "Request timestamp is too old or invalid.")?;
    if (Utc::now().timestamp() - timestamp).abs() > SIGNATURE_WINDOW_SECS {
        return Err("Request timestamp is too old or invalid.");
    }
    let expected = signature(
        "POST",
        ORDERS_PATH,
        timestamp,
        access_key,
        &state.config.secret_key,
    )
    .map_err(|_| "Missing secret key in partner record.")?;
    if !secrets_match(&signed.to_ascii_lowercase(), &expected) {
        return Err("Invalid signature.");
    }
    Ok(())
}
