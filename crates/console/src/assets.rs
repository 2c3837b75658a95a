//! The console's static files, compiled into the binary so that it serves
//! every asset itself and works offline.

use axum::http::header;
use axum::response::IntoResponse;

/// htmx 2.0.4 (see `assets/README.md`).
const HTMX: &[u8] = include_bytes!("../assets/htmx.min.js");
/// The console's stylesheet.
const CSS: &[u8] = include_bytes!("../assets/console.css");

/// Assets change only with the binary, so browsers may keep them a day.
const CACHE: &str = "public, max-age=86400";

pub(crate) async fn htmx() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        HTMX,
    )
}

pub(crate) async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        CSS,
    )
}
