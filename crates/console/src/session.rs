//! Who is signed in, and the proof that a form came from the console.
//!
//! The session cookie holds a random token (the store keeps its hash). It
//! is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//! page sends it), scoped to `/console`, and `Secure` when the request came
//! over TLS. Each session has its own CSRF token, which every form carries
//! in a hidden `csrf_token` field: a POST whose token does not match is a
//! 403. Before sign-in there is no session, so the sign-in form uses a
//! double-submit token: the same random value in a cookie and in the form.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use rand::Rng;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use simgate_domain::entities::ConsoleSession;
use subtle::ConstantTimeEq;

use crate::ConsoleState;
use crate::error::ConsoleError;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "simgate_session";
/// The sign-in form's double-submit cookie.
pub(crate) const LOGIN_CSRF_COOKIE: &str = "simgate_login_csrf";

/// A signed-in visitor: the session, and the tenant the pages show.
#[derive(Debug, Clone)]
pub(crate) struct Console {
    pub session: ConsoleSession,
}

impl Console {
    /// The tenant whose data the page shows; an operator who has not picked
    /// one yet gets a page asking to.
    pub fn tenant(&self) -> Result<&str, ConsoleError> {
        self.session
            .tenant_id
            .as_deref()
            .ok_or(ConsoleError::NoTenantChosen)
    }

    /// The token the session's forms carry.
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

/// The value of one cookie of the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the request came over TLS (as a proxy in front says, or as
/// configured), so cookies must be `Secure`.
pub(crate) fn over_tls(headers: &HeaderMap, state: &ConsoleState) -> bool {
    state.settings.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value with the console's flags; `max_age` zero deletes.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    );
    // Names and values are ours (hex tokens), always a valid header.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A fresh random token for the sign-in form's double submit.
pub(crate) fn new_login_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// Whether two tokens are equal, in constant time; empty never matches.
pub(crate) fn tokens_match(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

impl FromRequestParts<ConsoleState> for Console {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::NotSignedIn)?;
        let session = state
            .services
            .console_session(
                &SecretString::from(token.to_owned()),
                state.operator.fingerprint().as_deref(),
            )
            .await?
            .ok_or(ConsoleError::NotSignedIn)?;
        Ok(Self { session })
    }
}

/// Only the CSRF field of a posted form.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf_token: String,
}

/// A form posted by a signed-in visitor, with its CSRF token checked
/// before anything else is read from it.
pub(crate) struct Posted<T> {
    pub console: Console,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<ConsoleState> for Posted<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let console = Console::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ConsoleError::BadForm("the form could not be read".to_owned()))?;
        let field: CsrfField =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| ConsoleError::Csrf)?;
        if !tokens_match(console.csrf(), &field.csrf_token) {
            return Err(ConsoleError::Csrf);
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ConsoleError::BadForm(e.to_string()))?;
        Ok(Self { console, form })
    }
}
