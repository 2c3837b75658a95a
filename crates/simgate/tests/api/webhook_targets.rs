//! Webhook targets must be public: private targets are refused when an
//! endpoint is registered and again when simgate connects, redirects are
//! not followed, and only the operator setting lifts the guard.

use std::net::TcpListener as StdListener;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{StatusCode as AxumStatus, header};
use axum::response::IntoResponse;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate::Application;
use simgate::settings::Settings;
use tempfile::TempDir;
use tokio::net::TcpListener;

use crate::events::Receiver;
use crate::helpers::{Options, Sandbox, assert_problem, eventually, settings_for};
use crate::recovery::simgate_command;

const NOT_PUBLIC: &str = "webhook_target_not_public";

/// simgate in process against the eSIM Go sandbox, with one tenant; the
/// database outlives the app so that it can be restarted on it.
struct Lab {
    _sandbox: Sandbox,
    _dir: TempDir,
    settings: Settings,
}

/// A running app and the key of a tenant on it.
struct Running {
    app: Application,
    address: String,
    key: String,
    client: reqwest::Client,
}

impl Lab {
    /// The test harness's settings: private targets allowed.
    async fn new() -> Self {
        let sandbox = Sandbox::start().await;
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_for(&sandbox, &dir, &Options::default());
        assert!(settings.webhooks.allow_private_targets);
        Self {
            _sandbox: sandbox,
            _dir: dir,
            settings,
        }
    }

    fn allow_private_targets(&mut self, allow: bool) {
        self.settings.webhooks.allow_private_targets = allow;
    }

    /// Starts simgate; `key` reuses a tenant made by an earlier start.
    async fn start(&self, key: Option<String>) -> Running {
        let app = Application::start(&self.settings).await.unwrap();
        let key = match key {
            Some(key) => key,
            None => {
                crate::helpers::funded_tenant(app.store(), "webhook targets")
                    .await
                    .1
            }
        };
        Running {
            address: format!("http://{}", app.addr()),
            app,
            key,
            client: reqwest::Client::new(),
        }
    }
}

impl Running {
    async fn register(&self, url: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/webhook-endpoints", self.address))
            .bearer_auth(&self.key)
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap()
    }

    async fn get_json(&self, path: &str) -> Option<Value> {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(&self.key)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()
    }

    /// Orders an eSIM once the catalogue has one; its `order.completed`
    /// event goes to every endpoint of the tenant.
    async fn complete_an_order(&self, key: &str) -> Value {
        let product = eventually(Duration::from_secs(120), || async {
            let page = self.get_json("/v1/products?country=FR&limit=1").await?;
            page["data"][0]["id"].as_str().map(str::to_owned)
        })
        .await;
        let response = self
            .client
            .post(format!("{}/v1/orders", self.address))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", key)
            .json(&json!({ "product_id": product }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let order: Value = response.json().await.unwrap();
        assert_eq!(order["status"], "completed", "{order}");
        order
    }

    /// The latest event once each of its `deliveries` has been attempted.
    async fn attempted_event(&self, deliveries: usize) -> Value {
        eventually(Duration::from_secs(30), || async {
            let events = self.get_json("/v1/events?limit=1").await?;
            let event = events["data"][0].clone();
            let list = event["deliveries"].as_array()?;
            let attempted =
                list.len() == deliveries && list.iter().all(|d| d["attempts"].as_u64() >= Some(1));
            attempted.then_some(event)
        })
        .await
    }
}

#[tokio::test]
async fn every_kind_of_private_target_is_refused_at_registration() {
    let mut lab = Lab::new().await;
    lab.allow_private_targets(false);
    let running = lab.start(None).await;

    let refused = [
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://127.0.0.1:5432/", "loopback"),
        ("http://[::1]:22/", "loopback"),
        ("http://127.1:8080/hooks", "loopback"),
        ("http://2130706433/hooks", "loopback"),
        ("http://0x7f.0.0.1/hooks", "loopback"),
        ("http://10.0.0.1/hooks", "private"),
        ("http://172.16.5.4/hooks", "private"),
        ("https://192.168.1.1/hooks", "private"),
        ("http://100.64.0.1/hooks", "carrier-grade NAT"),
        ("http://[fc00::1]/hooks", "unique-local"),
        ("http://[fd12:3456::1]/hooks", "unique-local"),
        ("http://[fe80::1]/hooks", "link-local"),
        ("http://0.0.0.0:8080/hooks", "unspecified"),
        ("http://[::]/hooks", "unspecified"),
        ("http://224.0.0.1/hooks", "multicast"),
        ("http://[ff02::1]/hooks", "multicast"),
        ("http://255.255.255.255/hooks", "broadcast"),
        ("http://[::ffff:127.0.0.1]:5432/", "loopback"),
        ("http://[::ffff:169.254.169.254]/latest", "link-local"),
        ("http://[::ffff:10.0.0.1]/hooks", "private"),
        ("http://[::127.0.0.1]/hooks", "loopback"),
        ("http://localhost:8080/hooks", "loopback"),
    ];
    for (url, why) in refused {
        let problem = assert_problem(
            running.register(url).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            NOT_PUBLIC,
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(why), "{url}: {detail}");
    }
    let named = running.register("http://localhost:9/hooks").await;
    let problem = assert_problem(named, StatusCode::UNPROCESSABLE_ENTITY, NOT_PUBLIC).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("webhook target localhost resolves to "),
        "{problem}"
    );

    let unknown = running.register("https://simgate-test.invalid/hooks").await;
    assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "webhook_target_unresolvable",
    )
    .await;

    // Public addresses are accepted (no event is sent to them here).
    for url in [
        "https://93.184.215.14/hooks",
        "https://[2606:4700:4700::1111]/",
    ] {
        assert_eq!(
            running.register(url).await.status(),
            StatusCode::CREATED,
            "{url}"
        );
    }
    let listed = running.get_json("/v1/webhook-endpoints").await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "{listed}");
    running.app.stop().await;
}

#[tokio::test]
async fn a_target_registered_while_allowed_is_refused_when_connecting() {
    let mut lab = Lab::new().await;
    let receiver = Receiver::start(&[]).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let first = lab.start(None).await;
    for url in [&receiver.url, &by_name] {
        assert_eq!(first.register(url).await.status(), StatusCode::CREATED);
    }
    let key = first.key.clone();
    first.app.stop().await;

    // The same database, now with the guard on: the stored endpoints stay,
    // but neither the literal address nor the name that resolves to
    // loopback is connected to.
    lab.allow_private_targets(false);
    let second = lab.start(Some(key)).await;
    second.complete_an_order("guarded-1").await;
    let event = second.attempted_event(2).await;
    for delivery in event["deliveries"].as_array().unwrap() {
        let error = delivery["last_error"].as_str().unwrap();
        assert!(error.starts_with(&format!("{NOT_PUBLIC}: ")), "{delivery}");
        assert!(error.contains("loopback"), "{delivery}");
        assert_eq!(delivery["last_response"], Value::Null, "{delivery}");
        assert_eq!(delivery["status"], "pending", "{delivery}");
    }
    assert!(
        receiver.received().is_empty(),
        "nothing reaches the receiver"
    );
    second.app.stop().await;
    assert!(receiver.received().is_empty(), "nor any retry");
}

/// A receiver that answers every POST with `302 Found` to `location`.
async fn redirector(location: String) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let location = location.clone();
            async move { (AxumStatus::FOUND, [(header::LOCATION, location)]).into_response() }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, hits)
}

#[tokio::test]
async fn a_redirect_is_a_failed_attempt_and_is_not_followed() {
    let lab = Lab::new().await;
    let target = Receiver::start(&[]).await;
    let (redirecting, hits) = redirector(target.url.clone()).await;
    let running = lab.start(None).await;
    assert_eq!(
        running.register(&redirecting).await.status(),
        StatusCode::CREATED
    );
    running.complete_an_order("redirected-1").await;
    let event = running.attempted_event(1).await;
    let delivery = &event["deliveries"][0];
    assert_eq!(delivery["last_response"], 302, "{delivery}");
    assert_eq!(delivery["status"], "pending", "{delivery}");
    assert!(
        delivery["last_error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed"),
        "{delivery}"
    );
    assert!(hits.load(Ordering::SeqCst) >= 1);
    running.app.stop().await;
    assert!(
        target.received().is_empty(),
        "the redirect was not followed"
    );
}

/// `simgate serve --sandbox` as the binary on a free port, with its
/// database in `dir`, after `configure` adjusts the command.
pub(crate) fn serve_sandbox(
    sandbox: &Sandbox,
    dir: &tempfile::TempDir,
    configure: impl FnOnce(&mut std::process::Command),
) -> (KillOnDrop, u16) {
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = simgate_command(sandbox, &dir.path().join("simgate.db"), 5);
    configure(&mut command);
    let child = command
        .env("SIMGATE_LISTEN", format!("127.0.0.1:{port}"))
        .args(["serve", "--sandbox"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (KillOnDrop(child), port)
}

/// The `simgate` process of a test, killed however the test ends.
pub(crate) struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// Multi-threaded: the binary's blocking run must not starve the in-process sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sandbox_does_not_allow_private_targets() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (_serving, port) = serve_sandbox(&sandbox, &dir, |command| {
        command.env_remove("SIMGATE_WEBHOOKS__ALLOW_PRIVATE_TARGETS");
    });
    let client = reqwest::Client::new();
    // The demo tenant exists once the sandboxes are up: until then, 401 or
    // no connection.
    let refused = eventually(Duration::from_secs(60), || async {
        let response = client
            .post(format!("http://127.0.0.1:{port}/v1/webhook-endpoints"))
            .bearer_auth("sk_sandbox_simgate")
            .json(&json!({ "url": "http://127.0.0.1:5432/" }))
            .send()
            .await
            .ok()?;
        (response.status() != StatusCode::UNAUTHORIZED).then_some(response)
    })
    .await;
    assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, NOT_PUBLIC).await;
}
