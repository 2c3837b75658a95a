//! A bare axum JSON handler: the ceiling `bench/run.sh` measures beside
//! simgate in the same run, so that simgate's figures read as a share of
//! what axum and hyper alone reach on the same machine at the same moment.
//!
//! It serves `GET /json` with a small fixed object, and `GET /json/page`
//! with a page of 50 product-shaped objects (about the bytes of simgate's
//! catalogue page of 50), serialised on each request, through the same
//! hyper HTTP/1 connection driver and timer as simgate's server, so the
//! difference is simgate's own work. The listen address is the first
//! argument, else `SIMGATE_BENCH_BASELINE_LISTEN`, else
//! `127.0.0.1:18090`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::Listener;
use axum::{Json, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Where the baseline listens when neither argument nor variable says.
const DEFAULT_LISTEN: &str = "127.0.0.1:18090";

/// The variable naming the listen address when no argument is given.
const LISTEN_VAR: &str = "SIMGATE_BENCH_BASELINE_LISTEN";

/// Why the baseline could not start.
#[derive(Debug, thiserror::Error)]
enum Error {
    /// The listen address does not parse as `host:port`.
    #[error("invalid listen address {address:?}: {source}")]
    Address {
        address: String,
        source: std::net::AddrParseError,
    },
    /// The address is taken or not ours to bind.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let address = std::env::args()
        .nth(1)
        .or_else(|| std::env::var(LISTEN_VAR).ok())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let address: SocketAddr = address
        .parse()
        .map_err(|source| Error::Address { address, source })?;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| Error::Bind { address, source })?;
    let app = Router::new()
        .route("/json", get(json_answer))
        .route("/json/page", get(page_answer))
        .with_state(Arc::new(page()));
    serve(listener, app).await;
    Ok(())
}

/// The fixed answer: about the size of a short simgate JSON body.
async fn json_answer() -> Json<Value> {
    Json(json!({ "message": "Hello, World!", "status": "ok", "count": 1 }))
}

/// Products on the page, as simgate's default page size.
const PAGE_PRODUCTS: usize = 50;

/// A page shaped like simgate's `GET /v1/products?country=JP&limit=50`:
/// the same fields, similar names and country lists, about the same bytes.
fn page() -> Value {
    let products: Vec<Value> = (0..PAGE_PRODUCTS)
        .map(|n| {
            let countries: Vec<&str> = ["JP", "KR", "TW", "HK", "SG", "TH", "MY", "VN"]
                .into_iter()
                .take(1 + n % 8)
                .collect();
            json!({
                "id": format!("esim-go:esim_{n}GB_7D_JP_V2"),
                "provider": "esim-go",
                "name": format!("eSIM, {n}GB, 7 Days, Japan, V2"),
                "countries": countries,
                "data": { "unlimited": false, "mb": 1000 * n },
                "validity_days": 7,
                "price": { "amount": format!("{n}.99"), "currency": "USD" },
                "cost": { "amount": format!("{n}.49"), "currency": "USD" },
                "cost_converted": { "amount": format!("{n}.49"), "currency": "USD" },
                "converted": true
            })
        })
        .collect();
    json!({ "data": products, "total": 413, "limit": PAGE_PRODUCTS, "offset": 0 })
}

/// The page, serialised anew on each request as a handler would.
async fn page_answer(State(page): State<Arc<Value>>) -> impl IntoResponse {
    let body = serde_json::to_vec(&*page).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// Serves `app` for ever with the connection driver simgate's server
/// uses: hyper HTTP/1 with a tokio timer and a header read timeout.
async fn serve(mut listener: TcpListener, app: Router) {
    let mut http1 = http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(5));
    loop {
        // axum's `Listener` retries failed accepts instead of giving up.
        let (stream, _peer) = Listener::accept(&mut listener).await;
        let connection =
            http1.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        tokio::spawn(connection);
    }
}
