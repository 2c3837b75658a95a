//! Observability over HTTP: request ids (echoed, generated, in problems),
//! one JSON log line per request from the real binary, and the Prometheus
//! metrics (histograms with HELP/TYPE, orders, upstream calls, backlogs).

use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate_domain::ProviderId;

use crate::events::{Receiver, register};
use crate::helpers::{OPERATOR_KEY, Sandbox, TestApp, assert_problem, eventually};
use crate::recovery::simgate_command;

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn is_uuid_v7(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|uuid| uuid.get_version_num() == 7)
}

#[tokio::test]
async fn request_ids_are_echoed_generated_and_quoted_in_problems() {
    let app = TestApp::spawn().await;
    let url = format!("{}/v1/providers", app.address);

    let echoed = app
        .client
        .get(&url)
        .bearer_auth(&app.api_key)
        .header("X-Request-Id", "client-req-0042")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), StatusCode::OK);
    assert_eq!(request_id(&echoed), "client-req-0042");

    let generated = app
        .client
        .get(&url)
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    let first = request_id(&generated);
    assert!(is_uuid_v7(&first), "{first}");
    let again = request_id(&app.get("/v1/providers").await);
    assert_ne!(first, again, "each request gets its own id");

    // Too long, or with characters that could forge log lines: replaced.
    for unusable in ["a".repeat(129), "two words".to_owned()] {
        let response = app
            .client
            .get(&url)
            .bearer_auth(&app.api_key)
            .header("X-Request-Id", &unusable)
            .send()
            .await
            .unwrap();
        let id = request_id(&response);
        assert!(is_uuid_v7(&id), "{unusable:?} was replaced by {id}");
    }

    // A handler's problem quotes the caller's id.
    let missing = app
        .client
        .get(format!("{}/v1/orders/ord_nothing", app.address))
        .bearer_auth(&app.api_key)
        .header("X-Request-Id", "client-req-0043")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&missing), "client-req-0043");
    let problem = assert_problem(missing, StatusCode::NOT_FOUND, "order_not_found").await;
    assert_eq!(problem["request_id"], "client-req-0043");

    // An authentication problem quotes the generated one.
    let refused = app.client.get(&url).send().await.unwrap();
    let id = request_id(&refused);
    let problem = assert_problem(refused, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    assert_eq!(problem["request_id"], id.as_str());

    // The problem schema documents the member.
    let spec = app.get_json("/openapi.json").await;
    assert!(
        spec["components"]["schemas"]["Problem"]["properties"]["request_id"].is_object(),
        "{}",
        spec["components"]["schemas"]["Problem"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_one_json_line_per_request_with_its_ids() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");
    let created = simgate_command(&sandbox, &db, 5)
        .args(["tenants", "create", "--name", "logged"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let stdout = String::from_utf8(created.stdout).unwrap();
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap()
            .to_owned()
    };
    let (tenant_id, key) = (field("tenant: "), field("api key: "));

    let log_path = dir.path().join("simgate.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = simgate_command(&sandbox, &db, 5)
        .env("SIMGATE_LISTEN", format!("127.0.0.1:{port}"))
        // The default filter: request lines are on without asking.
        .env_remove("RUST_LOG")
        .args(["--log-format", "json", "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually(Duration::from_secs(60), || async {
        let response = client.get(format!("{address}/healthz")).send().await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    let response = client
        .get(format!("{address}/v1/products?country=JP&limit=1"))
        .bearer_auth(&key)
        .header("X-Request-Id", "json-line-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The line is written once the answer is sent: wait for it to land.
    let lines = eventually(Duration::from_secs(10), || async {
        let log = std::fs::read_to_string(&log_path).ok()?;
        let lines: Vec<Value> = log
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["span"]["request_id"] == "json-line-1")
            .collect();
        (!lines.is_empty()).then_some(lines)
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();

    let log = std::fs::read_to_string(&log_path).unwrap();
    for line in log.lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|line| line["message"] == "request answered")
        .collect();
    assert_eq!(requests.len(), 1, "one request line: {lines:?}");
    let line = requests[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["status"], 200);
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    let span = &line["span"];
    assert_eq!(span["method"], "GET");
    assert_eq!(span["route"], "/v1/products");
    assert_eq!(span["request_id"], "json-line-1");
    assert_eq!(span["tenant_id"], tenant_id.as_str());
    assert!(!log.contains(&key), "the tenant key stays out of the log");
}

/// The lines of a metric with all the given labels.
pub(crate) fn series<'a>(metrics: &'a str, name: &str, labels: &[(&str, &str)]) -> Vec<&'a str> {
    metrics
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .collect()
}

/// A counter's value on its first series with those labels.
pub(crate) fn value(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    series(metrics, name, labels)
        .first()?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

/// How much a counter grew between two scrapes.
fn increase(before: &str, after: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(after, name, labels).unwrap_or(0.0) - value(before, name, labels).unwrap_or(0.0)
}

pub(crate) async fn scrape(app: &TestApp) -> String {
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_are_described_histograms_covering_orders_upstreams_and_backlogs() {
    let app = TestApp::spawn().await;
    app.wait_for_catalogue().await;
    let receiver = Receiver::start(&[(500, None)]).await;
    register(&app, &receiver.url).await;
    let product = app.cheapest("JP").await;
    // The recorder is the process's: other tests count too, so compare.
    let before = scrape(&app).await;

    // One order that completes, one the provider refuses with 503 throughout.
    app.order(&product, "metrics-ok").await;
    app.sandbox
        .arm(json!({"kind": "status", "status": 503, "retry_after_secs": 0, "times": 3, "path": "/orders", "method": "POST"}))
        .await;
    let failed = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("metrics-503"),
        )
        .await;
    let problem = assert_problem(
        failed,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    assert_eq!(problem["order_status"], "failed");
    // A forged provider webhook.
    let forged = app
        .client
        .post(format!("{}/v1/webhooks/esim-story", app.address))
        .header("content-type", "application/json")
        .body(r#"{"topup_id":"forged"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // A catalogue sync the provider fails (as the scheduled job would run it).
    app.sandbox
        .arm(json!({"kind": "status", "status": 500, "times": 1, "path": "/catalogue", "method": "GET"}))
        .await;
    let synced = app
        .app
        .services()
        .sync_catalogue(ProviderId::EsimGo, &|_| {})
        .await;
    assert!(synced.is_err(), "the armed fault fails the sync");
    // The failed order's event: refused once (500), then delivered.
    receiver.wait_for(2).await;

    let metrics = eventually(Duration::from_secs(30), || async {
        let metrics = scrape(&app).await;
        let delivered = value(
            &metrics,
            "simgate_webhook_deliveries_total",
            &[("outcome", "delivered")],
        );
        let gauges = [
            "simgate_webhook_delivery_backlog",
            "simgate_reconcile_backlog",
        ]
        .iter()
        .all(|name| !series(&metrics, name, &[]).is_empty());
        (delivered.is_some() && gauges).then_some(metrics)
    })
    .await;

    // Histograms with buckets, HELP and TYPE; no summaries.
    for histogram in [
        "simgate_http_request_duration_seconds",
        "simgate_upstream_call_duration_seconds",
    ] {
        assert!(
            metrics.contains(&format!("# TYPE {histogram} histogram")),
            "{histogram} is a histogram"
        );
        assert!(metrics.contains(&format!("# HELP {histogram} ")));
        assert!(
            !series(&metrics, &format!("{histogram}_bucket"), &[("le", "0.1")]).is_empty(),
            "{histogram} has buckets"
        );
    }
    assert!(!metrics.contains(" summary"), "no summaries left");
    for name in [
        "simgate_http_requests_total",
        "simgate_upstream_calls_total",
        "simgate_orders_finished_total",
        "simgate_webhook_deliveries_total",
        "simgate_webhook_delivery_backlog",
        "simgate_reconcile_backlog",
        "simgate_catalogue_age_seconds",
        "simgate_inbound_webhooks_rejected_total",
        "simgate_catalogue_sync_failures_total",
    ] {
        assert!(metrics.contains(&format!("# HELP {name} ")), "HELP {name}");
        assert!(metrics.contains(&format!("# TYPE {name} ")), "TYPE {name}");
    }

    // HTTP requests by route (the template, not the id) and status.
    assert!(
        !series(
            &metrics,
            "simgate_http_requests_total",
            &[("route", "/v1/orders"), ("status", "503")]
        )
        .is_empty()
    );
    // Orders by provider and final status, the 503-failed one included.
    for status in ["completed", "failed"] {
        let labels = [("provider", "esim-go"), ("status", status)];
        let counted = increase(&before, &metrics, "simgate_orders_finished_total", &labels);
        assert!(counted >= 1.0, "{status}: {counted}");
    }
    // Upstream calls per provider, operation and outcome.
    for provider in ["esim-go", "esim-story", "sim-local"] {
        let synced = value(
            &metrics,
            "simgate_upstream_calls_total",
            &[
                ("provider", provider),
                ("operation", "fetch_catalogue"),
                ("outcome", "ok"),
            ],
        );
        assert!(synced.is_some_and(|n| n >= 1.0), "{provider}: {synced:?}");
    }
    for outcome in ["ok", "unavailable"] {
        let labels = [
            ("provider", "esim-go"),
            ("operation", "place_order"),
            ("outcome", outcome),
        ];
        let calls = increase(&before, &metrics, "simgate_upstream_calls_total", &labels);
        assert!(calls >= 1.0, "place_order {outcome}: {calls}");
    }
    // Deliveries by outcome, rejected webhooks, catalogue age.
    assert!(
        value(
            &metrics,
            "simgate_webhook_deliveries_total",
            &[("outcome", "retrying")]
        )
        .is_some_and(|n| n >= 1.0)
    );
    assert!(
        value(
            &metrics,
            "simgate_inbound_webhooks_rejected_total",
            &[("provider", "esim-story"), ("reason", "unverified")]
        )
        .is_some_and(|n| n >= 1.0)
    );
    let sync_failures = increase(
        &before,
        &metrics,
        "simgate_catalogue_sync_failures_total",
        &[("provider", "esim-go")],
    );
    assert!(sync_failures >= 1.0, "{sync_failures}");
    let age = value(
        &metrics,
        "simgate_catalogue_age_seconds",
        &[("provider", "esim-go")],
    );
    assert!(age.is_some_and(|s| (0.0..600.0).contains(&s)), "{age:?}");
}
