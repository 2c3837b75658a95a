//! Headers for the pages a browser renders, the console and `/docs`: they
//! load only what simgate serves, and no other site may frame them (a
//! framed console could be clicked through by a page the operator visits).

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// Scripts, styles, images and requests from simgate only. Inline styles
/// are allowed, not inline scripts: the console sets widths with `style`
/// attributes, htmx and Swagger UI add styles, Swagger UI's icons are
/// `data:` images; every script is a file simgate serves.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Adds the content security policy, `X-Frame-Options: DENY` (for browsers
/// without `frame-ancestors`) and `Referrer-Policy: same-origin` (a link
/// out does not carry the console's URLs) to every route of `router`.
pub(crate) fn secured<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
}
