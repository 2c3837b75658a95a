//! The OAuth2 client-credentials token endpoint.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::Rng;
use simgate_connectors::sim_local::types::*;

use crate::sim_local::state::*;

pub(crate) async fn issue_token(
    State(sandbox): State<SimLocalSandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| BASE64.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            pair.split_once(':').map(|(id, secret)| {
                let decode = |s: &str| {
                    url::form_urlencoded::parse(format!("x={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (decode(id), decode(secret))
            })
        });
    let (id, secret) = basic.unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    let mut state = sandbox.lock();
    if id != state.config.client_id || secret != state.config.client_secret {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token: String = (0..40)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[state.rng.random_range(0..36)]))
        .collect();
    let lifetime = state.config.token_lifetime;
    state
        .tokens
        .insert(token.clone(), Instant::now() + lifetime);
    state.tokens_issued += 1;
    Json(TokenResponse {
        access_token: token,
        token_type: "bearer".to_owned(),
        expires_in: lifetime.as_secs().max(1),
    })
    .into_response()
}
