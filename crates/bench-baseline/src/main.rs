//! A bare axum JSON handler: the ceiling `bench/run.sh` measures beside
//! simgate in the same run, so that simgate's figures read as a share of
//! what axum and hyper alone reach on the same machine at the same moment.
//!
//! It serves `GET /json` with a small fixed object, through the same
//! hyper HTTP/1 connection driver and timer as simgate's server, so the
//! difference is simgate's own work. The listen address is the first
//! argument, else `SIMGATE_BENCH_BASELINE_LISTEN`, else
//! `127.0.0.1:18090`.

use std::net::SocketAddr;
use std::time::Duration;

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
    serve(listener, Router::new().route("/json", get(json_answer))).await;
    Ok(())
}

/// The fixed answer: about the size of a short simgate JSON body.
async fn json_answer() -> Json<Value> {
    Json(json!({ "message": "Hello, World!", "status": "ok", "count": 1 }))
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
