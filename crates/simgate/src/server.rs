//! The HTTP server: hyper's HTTP/1 connection driver with the transport
//! limits `axum::serve` cannot set (it runs hyper without a timer, so a
//! client that never finishes its headers is held open for ever).
//!
//! A connection must deliver a request's headers within the header read
//! timeout, which also closes idle keep-alive connections; the body has
//! its own deadline and the sizes their limits in
//! [`simgate_api::limits`]. Shutdown stops accepting, closes idle
//! connections and lets requests in flight finish.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use simgate_api::limits::RequestLimits;
use tokio::net::TcpListener;

/// How long clients may take and how much they may send (`[server]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Time a client has to send a request's headers, from the moment the
    /// connection is ready for one: it is also how long an idle keep-alive
    /// connection stays open.
    pub header_read_timeout_secs: u64,
    /// Time the whole request body has to arrive once the headers are in.
    pub body_timeout_secs: u64,
    /// Largest request body; larger ones are refused (413) from their
    /// `Content-Length`, before they are read.
    pub max_body_bytes: usize,
    /// Longest request target, path and query (414 above it).
    pub max_uri_bytes: usize,
    /// Largest total of request headers (431 above it).
    pub max_header_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        let request = RequestLimits::default();
        Self {
            header_read_timeout_secs: 5,
            body_timeout_secs: request.body_timeout.as_secs(),
            max_body_bytes: request.max_body_bytes,
            max_uri_bytes: request.max_uri_bytes,
            max_header_bytes: request.max_header_bytes,
        }
    }
}

impl ServerSettings {
    /// The per-request limits the application enforces.
    pub fn request_limits(&self) -> RequestLimits {
        RequestLimits {
            max_uri_bytes: self.max_uri_bytes,
            max_header_bytes: self.max_header_bytes,
            max_body_bytes: self.max_body_bytes,
            body_timeout: Duration::from_secs(self.body_timeout_secs.max(1)),
        }
    }

    /// hyper's read buffer, and so its hard cap on a request head: twice
    /// what our own limits let through, so that a head over them still
    /// reaches the application and is answered with a problem. Heads over
    /// this cap get hyper's own bare 431 and the connection is closed.
    fn read_buffer_bytes(&self) -> usize {
        (2 * (self.max_uri_bytes + self.max_header_bytes)).max(MIN_READ_BUFFER)
    }

    fn http1(&self) -> http1::Builder {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(self.header_read_timeout_secs.max(1)))
            .max_buf_size(self.read_buffer_bytes());
        builder
    }
}

/// hyper panics on a smaller read buffer.
const MIN_READ_BUFFER: usize = 8192;

/// Serves `app` on `listener` until `shutdown` completes, then drains: no
/// new connections, idle ones closed, requests in flight finished.
pub async fn serve(
    mut listener: TcpListener,
    app: Router,
    settings: &ServerSettings,
    shutdown: impl Future<Output = ()>,
) {
    let http1 = settings.http1();
    let connections = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // axum's `Listener` retries failed accepts (backing off when out
        // of file descriptors) instead of ending the server.
        let (stream, peer) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        // The peer's address, for the limits kept per client address.
        let app = tower::ServiceExt::map_request(
            app.clone(),
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let connection =
            http1.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::Settings;

    #[test]
    fn a_partial_server_section_keeps_the_other_defaults() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "[server]\nheader_read_timeout_secs = 2\nmax_body_bytes = 1024"
        )
        .unwrap();
        let settings = Settings::load(Some(file.path())).unwrap();
        assert_eq!(
            settings.server,
            ServerSettings {
                header_read_timeout_secs: 2,
                max_body_bytes: 1024,
                ..ServerSettings::default()
            }
        );
        assert_eq!(settings.server.request_limits().max_body_bytes, 1024);
    }

    #[test]
    fn the_read_buffer_covers_our_limits_and_never_goes_below_hyper_minimum() {
        let settings = ServerSettings::default();
        assert_eq!(
            settings.read_buffer_bytes(),
            2 * (settings.max_uri_bytes + settings.max_header_bytes)
        );
        let tiny = ServerSettings {
            max_uri_bytes: 10,
            max_header_bytes: 10,
            ..ServerSettings::default()
        };
        assert_eq!(tiny.read_buffer_bytes(), MIN_READ_BUFFER);
    }
}
