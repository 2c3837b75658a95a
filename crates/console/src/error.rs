//! How the console answers what went wrong: the API's status and code
//! for the same service error (one mapping, `simgate_api::problem`), as a
//! page a person can read. A visitor's mistake is a 4xx page, never a 500.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use simgate_api::problem::ApiError;
use simgate_service::ServiceError;

use crate::layout;

/// Everything a console handler can fail with.
#[derive(Debug)]
pub(crate) enum ConsoleError {
    /// No live session: go and sign in.
    NotSignedIn,
    /// An operator has not picked a tenant yet: the home page asks.
    NoTenantChosen,
    /// A form without this session's CSRF token.
    Csrf,
    /// A form that does not parse.
    BadForm(String),
    /// What the service (or the request's values) refused, as the API
    /// would answer it.
    Api(ApiError),
}

impl From<ServiceError> for ConsoleError {
    fn from(error: ServiceError) -> Self {
        Self::Api(error.into())
    }
}

impl From<ApiError> for ConsoleError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<simgate_domain::DomainError> for ConsoleError {
    fn from(error: simgate_domain::DomainError) -> Self {
        Self::Api(error.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let mut retry_after = None;
        let (status, code, detail) = match self {
            Self::NotSignedIn => return Redirect::to("/console/login").into_response(),
            Self::NoTenantChosen => return Redirect::to("/console/").into_response(),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "csrf_token_invalid",
                "This form has expired or did not come from the console. Go back, reload the page and try again.".to_owned(),
            ),
            Self::BadForm(detail) => (StatusCode::BAD_REQUEST, "invalid_form", detail),
            Self::Api(error) => {
                retry_after = error.retry_after();
                (error.status(), error.code(), error.detail().to_owned())
            }
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let body = layout::bare(
            title,
            &html! {
                main {
                    h1 { (title) }
                    p.notice.bad role="alert" { (detail) " " span.muted { "(" (code) ")" } }
                    p { a href="/console/" { "Back to the console" } }
                }
            },
        );
        let mut response = (status, [(header::CACHE_CONTROL, "no-store")], body).into_response();
        // A refusal by a rate limit says when to come back, as the API does.
        if let Some(wait) = retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(simgate_service::limits::retry_after_secs(wait)),
            );
        }
        response
    }
}
