//! QR codes of activation codes, as PNG or SVG responses.
//!
//! A QR code depends on its text alone, so each rendering is kept, by
//! format and text, in a bounded process-wide cache: drawing and
//! compressing a PNG costs milliseconds, a cached answer a map lookup.
//! Each rendering carries a strong `ETag` (a digest of its bytes), and a
//! request whose `If-None-Match` names it is answered `304 Not Modified`
//! without a body.

use std::io::Cursor;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, Luma};
use qrcode::QrCode;
use qrcode::render::svg;
use sha2::{Digest, Sha256};
use simgate_service::bounded::BoundedMap;

use crate::problem::ApiError;

/// Smallest QR side in pixels: comfortably scannable from a screen.
const QR_MIN_PIXELS: u32 = 320;

/// Most renderings kept: a PNG is about 1–3 KB and an SVG about 30 KB, so
/// the cache stays within a few tens of megabytes at worst.
const MAX_RENDERINGS: usize = 1024;

/// How a QR response may be kept by the client that fetched it. Both are
/// `private`: the answer is behind a tenant's key.
#[derive(Debug, Clone, Copy)]
pub enum Caching {
    /// An eSIM's activation code does not change once issued: keep it an
    /// hour, then revalidate with the `ETag`.
    Hour,
    /// A line's eSIM can be replaced (a refresh or a SIM swap): revalidate
    /// every time, which the `ETag` makes a body-less 304.
    Revalidate,
}

impl Caching {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Hour => "private, max-age=3600",
            Self::Revalidate => "private, no-cache",
        })
    }
}

/// The image formats a QR is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Format {
    Png,
    Svg,
}

impl Format {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
        })
    }
}

/// One drawn QR code and its entity tag.
struct Rendering {
    body: Bytes,
    etag: HeaderValue,
}

type Renderings = BoundedMap<(Format, String), Arc<Rendering>>;

static RENDERINGS: LazyLock<Mutex<Renderings>> =
    LazyLock::new(|| Mutex::new(BoundedMap::new(MAX_RENDERINGS)));

/// A PNG QR code of `text`, as a response.
pub fn png_response(
    text: &str,
    request: &HeaderMap,
    caching: Caching,
) -> Result<Response, ApiError> {
    respond(Format::Png, text, request, caching)
}

/// An SVG QR code of `text`, as a response.
pub fn svg_response(
    text: &str,
    request: &HeaderMap,
    caching: Caching,
) -> Result<Response, ApiError> {
    respond(Format::Svg, text, request, caching)
}

/// An SVG QR code of `text`: the API's `qr.svg` and the console's eSIM
/// page draw the same code.
pub fn svg_markup(text: &str) -> Result<String, ApiError> {
    Ok(qr_code(text)?
        .render::<svg::Color>()
        .min_dimensions(QR_MIN_PIXELS, QR_MIN_PIXELS)
        .build())
}

fn respond(
    format: Format,
    text: &str,
    request: &HeaderMap,
    caching: Caching,
) -> Result<Response, ApiError> {
    let rendering = rendering(format, text)?;
    let headers = [
        (header::ETAG, rendering.etag.clone()),
        (header::CACHE_CONTROL, caching.header()),
    ];
    if not_modified(request, &rendering.etag) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    Ok((
        headers,
        [(header::CONTENT_TYPE, format.content_type())],
        rendering.body.clone(),
    )
        .into_response())
}

/// Whether the request's `If-None-Match` names `etag` (or is `*`). The
/// comparison is weak, as RFC 9110 asks for `If-None-Match`.
fn not_modified(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.as_bytes();
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|tag| tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == ours)
}

fn lock() -> std::sync::MutexGuard<'static, Renderings> {
    RENDERINGS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The cached rendering of `text`, drawn on first use.
fn rendering(format: Format, text: &str) -> Result<Arc<Rendering>, ApiError> {
    let key = (format, text.to_owned());
    if let Some(rendering) = lock().get(&key) {
        return Ok(rendering.clone());
    }
    // Drawn outside the lock: two first requests for one text may both
    // draw it, which is cheaper than making every other text wait.
    let body = match format {
        Format::Png => png(text)?,
        Format::Svg => Bytes::from(svg_markup(text)?),
    };
    let digest = Sha256::digest(&body);
    let etag =
        HeaderValue::from_str(&format!("\"{}\"", hex(&digest[..16]))).map_err(|e| qr_failed(&e))?;
    let rendering = Arc::new(Rendering { body, etag });
    lock().insert(key, rendering.clone());
    Ok(rendering)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Draws the PNG. Every module row repeats over its pixel rows, so the
/// `Up` filter turns all but the first of them into zeros, which the fast
/// deflate setting compresses as well as the default one, in a fraction of
/// the time.
fn png(text: &str) -> Result<Bytes, ApiError> {
    let image = qr_code(text)?
        .render::<Luma<u8>>()
        .min_dimensions(QR_MIN_PIXELS, QR_MIN_PIXELS)
        .build();
    let mut png = Cursor::new(Vec::new());
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Up)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| qr_failed(&e))?;
    Ok(Bytes::from(png.into_inner()))
}

fn qr_code(text: &str) -> Result<QrCode, ApiError> {
    QrCode::new(text.as_bytes()).map_err(|e| qr_failed(&e))
}

fn qr_failed(error: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "qr_failed",
        error.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> String {
        let image = image::load_from_memory(png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn the_fast_png_decodes_to_its_text_and_is_drawn_once() {
        let text = "LPA:1$rsp.example.com$QR-CACHE-TEST-1";
        let first = rendering(Format::Png, text).unwrap();
        assert_eq!(decode(&first.body), text);
        let again = rendering(Format::Png, text).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second answer is the kept one"
        );
        let svg = rendering(Format::Svg, text).unwrap();
        assert_ne!(svg.etag, first.etag, "each format has its own tag");
    }

    #[test]
    fn if_none_match_is_compared_weakly_and_in_lists() {
        let etag = HeaderValue::from_static("\"abc\"");
        let asks = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static(value));
            not_modified(&headers, &etag)
        };
        assert!(asks("\"abc\""));
        assert!(asks("W/\"abc\""));
        assert!(asks("\"x\", \"abc\""));
        assert!(asks("*"));
        assert!(!asks("\"abcd\""));
        assert!(!asks("abc"));
        assert!(!not_modified(&HeaderMap::new(), &etag));
    }
}
