//! Server limits against slow and oversized clients, over raw TCP sockets
//! against the real server, and the sweep proving every error is a problem.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use simgate::Application;
use simgate::server::ServerSettings;
use simgate::settings::Settings;
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The promise: a stalled client is gone within this.
const DISCONNECT_WITHIN: Duration = Duration::from_secs(10);

/// simgate with its default limits and no provider: limits act before any
/// provider could be reached.
struct LimitedApp {
    app: Application,
    api_key: String,
    _dir: TempDir,
}

impl LimitedApp {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            listen: ([127, 0, 0, 1], 0).into(),
            database_url: format!("sqlite://{}", dir.path().join("simgate.db").display()),
            ..Settings::default()
        };
        assert_eq!(settings.server, ServerSettings::default());
        let app = Application::start(&settings).await.expect("simgate starts");
        let (_, api_key) = crate::helpers::funded_tenant(app.store(), "limits").await;
        Self {
            app,
            api_key,
            _dir: dir,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.app.addr()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// Opens a connection and sends `bytes`, whatever the server does with them.
    async fn send_raw(&self, bytes: &[u8]) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr()).await.unwrap();
        // The server may answer and close before a large request is all
        // written: what it answered is what the test reads.
        let _ = stream.write_all(bytes).await;
        stream
    }
}

/// Reads until the server closes the connection; fails if it is still open
/// after `limit`. Returns what was read and when the connection closed.
async fn read_until_closed(
    stream: &mut (impl AsyncRead + Unpin),
    limit: Duration,
) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let deadline = started + limit;
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return (received, started.elapsed()),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Err(_) => panic!(
                "connection still open after {limit:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
}

/// A raw HTTP/1.1 answer: status, headers (lower-case names) and body.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn parse(bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete answer in {text:?}"));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_owned()))
            .collect();
        Self {
            status,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Asserts a problem with this status and code.
    fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let problem: Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(problem["code"], code, "{problem}");
        assert_eq!(problem["status"], status);
    }
}

const HALF_HEADERS: &[u8] = b"POST /v1/orders HTTP/1.1\r\nHost: simgate\r\nContent-Ty";

/// Headers declaring a 60 000-byte body, followed by 5 bytes of it.
fn short_body(api_key: &str) -> Vec<u8> {
    format!(
        "POST /v1/orders HTTP/1.1\r\nHost: simgate\r\nAuthorization: Bearer {api_key}\r\n\
         Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{{\"pro"
    )
    .into_bytes()
}

#[tokio::test]
async fn stalled_clients_are_disconnected_within_ten_seconds() {
    let app = LimitedApp::start().await;
    let silent = async {
        let mut stream = app.send_raw(b"").await;
        let (received, _) = read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
        assert!(received.is_empty(), "nothing was asked, nothing answered");
    };
    let half_headers = async {
        let mut stream = app.send_raw(HALF_HEADERS).await;
        read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
    };
    let cut_short = async {
        let mut stream = app.send_raw(&short_body(&app.api_key)).await;
        let (received, _) = read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
        let answer = RawResponse::parse(&received);
        answer.assert_problem(408, "request_timeout");
        assert_eq!(answer.header("connection"), Some("close"));
    };
    // A byte a second never lets the body deadline rest.
    let trickle = async {
        let stream = app.send_raw(&short_body(&app.api_key)).await;
        let (mut reader, mut writer) = stream.into_split();
        let writing = async {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if writer.write_all(b"x").await.is_err() {
                    return;
                }
            }
        };
        let reading = read_until_closed(&mut reader, DISCONNECT_WITHIN);
        tokio::pin!(reading);
        let (received, _) = tokio::select! {
            read = &mut reading => read,
            () = writing => reading.await,
        };
        RawResponse::parse(&received).assert_problem(408, "request_timeout");
    };
    // An idle keep-alive connection is closed too.
    let idle = async {
        let mut stream = app
            .send_raw(b"GET /healthz HTTP/1.1\r\nHost: simgate\r\n\r\n")
            .await;
        let (received, _) = read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
        assert_eq!(RawResponse::parse(&received).status, 200);
    };
    tokio::join!(silent, half_headers, cut_short, trickle, idle);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_it_is_read() {
    let app = LimitedApp::start().await;
    let limits = ServerSettings::default();
    for path in ["/v1/orders", "/v1/webhooks/esim-go"] {
        let mut stream = app
            .send_raw(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: simgate\r\nAuthorization: Bearer {}\r\n\
                     Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n",
                    app.api_key
                )
                .as_bytes(),
            )
            .await;
        let (received, closed_after) = read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
        let answer = RawResponse::parse(&received);
        answer.assert_problem(413, "body_too_large");
        assert_eq!(answer.header("connection"), Some("close"));
        // Not a body timeout: the refusal came without waiting for the body.
        assert!(
            closed_after < Duration::from_secs(limits.body_timeout_secs),
            "{path}: refused after {closed_after:?}"
        );
    }
    // Without a Content-Length, the body is cut off at the limit.
    let chunk = vec![b' '; limits.max_body_bytes + 1];
    let mut request = format!(
        "POST /v1/webhooks/esim-go HTTP/1.1\r\nHost: simgate\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        chunk.len()
    )
    .into_bytes();
    request.extend_from_slice(&chunk);
    let mut stream = app.send_raw(&request).await;
    let (received, _) = read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
    RawResponse::parse(&received).assert_problem(413, "body_too_large");
}

#[tokio::test]
async fn oversized_heads_are_refused_and_the_connection_closed() {
    let app = LimitedApp::start().await;
    let limits = ServerSettings::default();
    let padded_header = |bytes: usize| {
        format!(
            "GET /healthz HTTP/1.1\r\nHost: simgate\r\nX-Padding: {}\r\n\r\n",
            "a".repeat(bytes)
        )
    };
    // Over our limit: a problem.
    let mut stream = app
        .send_raw(padded_header(limits.max_header_bytes + 1).as_bytes())
        .await;
    let (received, _) = read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
    RawResponse::parse(&received).assert_problem(431, "headers_too_large");

    let mut stream = app
        .send_raw(
            format!(
                "GET /healthz?pad={} HTTP/1.1\r\nHost: simgate\r\n\r\n",
                "a".repeat(limits.max_uri_bytes)
            )
            .as_bytes(),
        )
        .await;
    let (received, _) = read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
    RawResponse::parse(&received).assert_problem(414, "uri_too_long");

    // Far over it, hyper refuses the head before it is parsed: the
    // connection is closed all the same, and at once.
    let mut stream = app.send_raw(padded_header(1024 * 1024).as_bytes()).await;
    let (received, closed_after) = read_until_closed(&mut stream, DISCONNECT_WITHIN).await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text}"
    );
    assert!(
        closed_after < Duration::from_secs(limits.header_read_timeout_secs),
        "{closed_after:?}"
    );
}

#[tokio::test]
async fn a_hundred_stalled_connections_do_not_stop_normal_requests() {
    let app = LimitedApp::start().await;
    let opened = Instant::now();
    let mut stalled = Vec::new();
    for i in 0..100 {
        let bytes = match i % 3 {
            0 => Vec::new(),
            1 => HALF_HEADERS.to_vec(),
            _ => short_body(&app.api_key),
        };
        stalled.push(app.send_raw(&bytes).await);
    }
    let client = reqwest::Client::new();
    for path in ["/healthz", "/v1/orders"] {
        let answer = tokio::time::timeout(
            Duration::from_secs(2),
            client.get(app.url(path)).bearer_auth(&app.api_key).send(),
        )
        .await
        .expect("served while 100 connections stall")
        .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
    for mut stream in stalled {
        let left = (opened + DISCONNECT_WITHIN).saturating_duration_since(Instant::now());
        read_until_closed(&mut stream, left).await;
    }
}

#[tokio::test]
async fn stop_finishes_requests_in_flight_and_is_not_held_by_stalled_clients() {
    let app = LimitedApp::start().await;
    // Accepted for sure (it was served), then stalled halfway through the
    // next request's headers.
    let mut stalled = app
        .send_raw(b"GET /healthz HTTP/1.1\r\nHost: simgate\r\n\r\n")
        .await;
    read_until(&mut stalled, b"\"database\":\"ok\"}").await;
    stalled.write_all(HALF_HEADERS).await.unwrap();
    // A request in flight: the server has its headers and has begun
    // reading its body, as its 100 Continue says.
    let body = br#"{"product_id": "esim-go:esim_1GB_7D_JP_V2"}"#;
    let mut in_flight = app
        .send_raw(
            format!(
                "POST /v1/orders HTTP/1.1\r\nHost: simgate\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\
                 Expect: 100-continue\r\n\r\n",
                app.api_key,
                body.len()
            )
            .as_bytes(),
        )
        .await;
    read_until(&mut in_flight, b"100 Continue\r\n\r\n").await;
    let url = app.url("/healthz");
    let stopping = tokio::spawn(async move {
        let started = Instant::now();
        app.app.stop().await;
        started.elapsed()
    });
    // Once new connections are refused, the server is draining.
    let client = reqwest::Client::new();
    crate::helpers::eventually(Duration::from_secs(5), || async {
        client.get(&url).send().await.is_err().then_some(())
    })
    .await;
    in_flight.write_all(body).await.unwrap();
    let (received, _) = read_until_closed(&mut in_flight, DISCONNECT_WITHIN).await;
    let received = String::from_utf8_lossy(&received);
    let answer = received
        .split_once("100 Continue\r\n\r\n")
        .map_or(received.as_ref(), |(_, rest)| rest);
    // No provider is configured: the order was read, validated and refused.
    RawResponse::parse(answer.as_bytes()).assert_problem(422, "unknown_product");
    read_until_closed(&mut stalled, DISCONNECT_WITHIN).await;
    let took = tokio::time::timeout(DISCONNECT_WITHIN, stopping)
        .await
        .expect("stop returns")
        .unwrap();
    assert!(took < DISCONNECT_WITHIN, "{took:?}");
}

/// Reads until `marker` has arrived.
async fn read_until(stream: &mut TcpStream, marker: &[u8]) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    while !received
        .windows(marker.len())
        .any(|window| window == marker)
    {
        let read = tokio::time::timeout(DISCONNECT_WITHIN, stream.read(&mut buffer))
            .await
            .expect("answered in time")
            .unwrap();
        assert!(
            read > 0,
            "closed before {:?}",
            String::from_utf8_lossy(marker)
        );
        received.extend_from_slice(&buffer[..read]);
    }
}

/// An expected status and problem code.
type Wanted = Option<(StatusCode, &'static str)>;

/// What the sweep saw: every error answer must be a problem.
#[derive(Default)]
struct Sweep {
    checked: usize,
    not_problems: Vec<String>,
    unexpected: Vec<String>,
    server_errors: Vec<String>,
}

impl Sweep {
    async fn check(&mut self, what: String, request: RequestBuilder, wanted: Wanted) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        self.checked += 1;
        if let Some((wanted_status, wanted_code)) = wanted
            && (status != wanted_status || body["code"] != wanted_code)
        {
            self.unexpected.push(format!(
                "{what}: {status} {body}, not {wanted_status} {wanted_code}"
            ));
        }
        if status.is_client_error() || status.is_server_error() {
            let is_problem = content_type.as_deref() == Some("application/problem+json")
                && body["code"].as_str().is_some_and(|code| !code.is_empty())
                && body["status"] == status.as_u16();
            if !is_problem {
                self.not_problems
                    .push(format!("{what}: {status} {content_type:?} {body}"));
            }
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                self.server_errors.push(format!("{what}: {body}"));
            }
        }
    }

    fn assert_clean(&self) {
        assert!(self.checked > 300, "only {} requests checked", self.checked);
        assert!(
            self.not_problems.is_empty(),
            "{} of {} answers are errors but not problems:\n{}",
            self.not_problems.len(),
            self.checked,
            self.not_problems.join("\n")
        );
        assert!(
            self.unexpected.is_empty(),
            "unexpected answers:\n{}",
            self.unexpected.join("\n")
        );
        assert!(
            self.server_errors.is_empty(),
            "bad requests answered 500:\n{}",
            self.server_errors.join("\n")
        );
    }
}

/// Sends every kind of bad request to every route of the OpenAPI document
/// (and the undocumented ones), and to unknown ones: each error answer
/// must be a problem with a code.
#[tokio::test]
async fn every_error_answer_is_a_problem() {
    let app = LimitedApp::start().await;
    let limits = ServerSettings::default();
    let client = reqwest::Client::new();
    let spec: Value = client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented = spec["paths"].as_object().unwrap();
    assert!(documented.len() > 30, "the document lists the routes");
    let methods = ["get", "post", "put", "patch", "delete"];
    let mut routes: Vec<(String, Vec<&str>)> = documented
        .iter()
        .map(|(template, operations)| {
            let taken = methods
                .into_iter()
                .filter(|method| operations.get(*method).is_some())
                .collect();
            (template.clone(), taken)
        })
        .collect();
    for undocumented in ["/openapi.json", "/docs"] {
        routes.push((undocumented.to_owned(), vec!["get"]));
    }

    let mut sweep = Sweep::default();
    for (template, taken) in &routes {
        let concrete = fill_params(template, "x1");
        for method in taken {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let request = |path: &str| {
                client
                    .request(method.clone(), app.url(path))
                    .bearer_auth(&app.api_key)
            };
            let mut variants: Vec<(&str, RequestBuilder, Wanted)> = vec![
                (
                    "no key",
                    client.request(method.clone(), app.url(&concrete)),
                    None,
                ),
                (
                    "malformed JSON",
                    request(&concrete)
                        .header("content-type", "application/json")
                        .body("{\"a\": "),
                    None,
                ),
                (
                    "wrong shape",
                    request(&concrete).json(&serde_json::json!({ "unexpected": [1, 2] })),
                    None,
                ),
                (
                    "not JSON",
                    request(&concrete)
                        .header("content-type", "text/plain")
                        .body("hello"),
                    None,
                ),
                (
                    "bad query",
                    request(&format!(
                        "{concrete}?limit=many&cursor=%FF&country=1&offset=-1"
                    )),
                    None,
                ),
                (
                    "body over the limit",
                    request(&concrete)
                        .header("content-type", "application/json")
                        .body(" ".repeat(limits.max_body_bytes + 1)),
                    Some((StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")),
                ),
                (
                    "target too long",
                    request(&format!(
                        "{concrete}?pad={}",
                        "a".repeat(limits.max_uri_bytes)
                    )),
                    Some((StatusCode::URI_TOO_LONG, "uri_too_long")),
                ),
                (
                    "headers too large",
                    request(&concrete).header("x-padding", "a".repeat(limits.max_header_bytes)),
                    Some((
                        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "headers_too_large",
                    )),
                ),
            ];
            if template.contains('{') {
                variants.push((
                    "undecodable path",
                    request(&fill_params(template, "%FF")),
                    Some((StatusCode::BAD_REQUEST, "invalid_path")),
                ));
            }
            for (variant, request, wanted) in variants {
                sweep
                    .check(format!("{method} {template} ({variant})"), request, wanted)
                    .await;
            }
        }
        if let Some(unused) = methods.into_iter().find(|method| !taken.contains(method)) {
            let method = Method::from_bytes(unused.to_uppercase().as_bytes()).unwrap();
            let request = client
                .request(method.clone(), app.url(&concrete))
                .bearer_auth(&app.api_key);
            let wanted = Some((StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
            sweep
                .check(format!("{method} {template}"), request, wanted)
                .await;
        }
    }
    for (path, wanted) in [
        ("/v1/nowhere", (StatusCode::NOT_FOUND, "route_not_found")),
        ("/v1/orders/%FF", (StatusCode::BAD_REQUEST, "invalid_path")),
        (
            "/v1/orders/%C0%AF",
            (StatusCode::BAD_REQUEST, "invalid_path"),
        ),
    ] {
        let request = client.get(app.url(path)).bearer_auth(&app.api_key);
        sweep.check(path.to_owned(), request, Some(wanted)).await;
    }
    sweep.assert_clean();
}

/// The template with each `{param}` replaced by `value`.
fn fill_params(template: &str, value: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                value
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
