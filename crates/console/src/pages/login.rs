//! `/console/login`, sign-out and the operator's tenant switch.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::ExposeSecret;
use serde::Deserialize;
use simgate_service::console::ConsoleRole;

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout;
use crate::session::{
    LOGIN_CSRF_COOKIE, Posted, SESSION_COOKIE, cookie, new_login_token, over_tls, set_cookie,
    tokens_match,
};

/// How long the sign-in form's double-submit token lasts.
const LOGIN_TOKEN_SECS: u64 = 3600;

/// The sign-in form as posted.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    csrf_token: String,
}

/// The sign-in page with a fresh double-submit token, and `error` above
/// the key field when the last try failed.
fn login_page(
    state: &ConsoleState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let token = new_login_token();
    let body: Markup = layout::bare(
        "Sign in",
        &html! {
            main.login {
                h1 { "simgate console" }
                form.card method="post" action="/console/login" {
                    input type="hidden" name="csrf_token" value=(token);
                    label for="api_key" { "API key (a tenant's key or the operator key)" }
                    input id="api_key" name="api_key" type="password" autocomplete="current-password"
                        required autofocus aria-describedby=[error.map(|_| "api_key-error")];
                    @if let Some(error) = error {
                        span.field-error id="api_key-error" role="alert" { (error) }
                    }
                    p { button type="submit" { "Sign in" } }
                }
            }
        },
    );
    let secure = over_tls(headers, state);
    (
        status,
        [
            (
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, &token, LOGIN_TOKEN_SECS, secure),
            ),
            (
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /console/login`.
pub(crate) async fn form(State(state): State<ConsoleState>, headers: HeaderMap) -> Response {
    login_page(&state, &headers, StatusCode::OK, None)
}

/// `POST /console/login`: spends one of the client address's sign-in
/// attempts (each may be a guess at a key), checks the double-submit
/// token, then the key the way the API does (operator key first, then a
/// tenant's), and opens a session.
pub(crate) async fn submit(
    State(state): State<ConsoleState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    if let Some(Extension(ConnectInfo(peer))) = peer {
        state.services.admit_console_sign_in_from(peer.ip())?;
    }
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !tokens_match(expected, &form.csrf_token) {
        return Err(ConsoleError::Csrf);
    }
    let key = form.api_key.trim();
    let role = if key.is_empty() {
        None
    } else if let Some(fingerprint) = state
        .operator
        .fingerprint()
        .filter(|_| state.operator.matches(key))
    {
        Some(ConsoleRole::Operator { fingerprint })
    } else {
        state
            .services
            .authenticate(key)
            .await?
            .map(|tenant| ConsoleRole::tenant(tenant.id, key))
    };
    let Some(role) = role else {
        return Ok(login_page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("This key is not valid: use a tenant's API key or the operator key."),
        ));
    };
    let lifetime = state.settings.session_lifetime;
    let grant = state.services.open_console_session(role, lifetime).await?;
    let secure = over_tls(&headers, &state);
    Ok((
        // Appended: an array of headers would keep only the last cookie.
        AppendHeaders([
            (
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    grant.token.expose_secret(),
                    lifetime.as_secs(),
                    secure,
                ),
            ),
            (
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, "", 0, secure),
            ),
        ]),
        Redirect::to("/console/"),
    )
        .into_response())
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub(crate) struct Empty {}

/// `POST /console/logout`: ends the session everywhere.
pub(crate) async fn logout(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    posted: Posted<Empty>,
) -> Result<Response, ConsoleError> {
    state
        .services
        .close_console_session(&posted.console.session)
        .await?;
    let secure = over_tls(&headers, &state);
    Ok((
        [(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, "", 0, secure),
        )],
        Redirect::to("/console/login"),
    )
        .into_response())
}

/// The operator's tenant switch.
#[derive(Deserialize)]
pub(crate) struct SwitchForm {
    tenant_id: String,
}

/// `POST /console/tenant`: the operator views another tenant.
pub(crate) async fn switch_tenant(
    State(state): State<ConsoleState>,
    posted: Posted<SwitchForm>,
) -> Result<Redirect, ConsoleError> {
    state
        .services
        .switch_console_tenant(&posted.console.session, &posted.form.tenant_id)
        .await?;
    Ok(Redirect::to("/console/"))
}
