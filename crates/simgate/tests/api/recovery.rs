//! Crashes: an order written down must end with exactly one purchase
//! whatever moment the process dies at.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate_domain::entities::SalePrice;
use simgate_domain::repository::{CatalogueRepository, OrderRepository, TenantRepository};
use simgate_domain::{Hold, Money, OrderKind, ProductId};
use simgate_store::{InsertOutcome, NewOrder};

use crate::helpers::{Options, Sandbox, TEST_SECRET_KEY, TEST_SECRET_KEY_ID, TestApp, eventually};

/// The real `simgate` binary, configured by environment only.
pub struct Binary {
    child: Child,
    pub address: String,
}

/// Runs one `simgate` command to its end against `db`: whether it
/// succeeded, and what it printed on stdout and stderr.
pub fn run_simgate(sandbox: &Sandbox, db: &Path, args: &[&str]) -> (bool, String, String) {
    let output = simgate_command(sandbox, db, 5).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// `simgate tenants create` through the binary, then `simgate tenants fund`
/// with the harness's funds; returns the printed API key.
pub fn create_funded_tenant(sandbox: &Sandbox, db: &Path, name: &str) -> String {
    let created = simgate_command(sandbox, db, 30)
        .args(["tenants", "create", "--name", name])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let stdout = String::from_utf8(created.stdout).unwrap();
    let printed = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap()
            .to_owned()
    };
    let funded = simgate_command(sandbox, db, 30)
        .args(["tenants", "fund", "--id", &printed("tenant: "), "--amount"])
        .arg(crate::helpers::TEST_FUNDS.to_string())
        .args(["--reference", "test-funds"])
        .output()
        .unwrap();
    assert!(funded.status.success(), "{funded:?}");
    printed("api key: ")
}

pub fn simgate_command(sandbox: &Sandbox, db: &Path, timeout_secs: u64) -> Command {
    // An explicit configuration file must exist: an empty one, so that the
    // environment alone configures the binary.
    let config = db.with_extension("toml");
    if !config.exists() {
        std::fs::write(&config, "").unwrap();
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_simgate"));
    command
        .env("SIMGATE_CONFIG", config)
        .env("SIMGATE_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env(
            "SIMGATE_PROVIDERS__ESIM_GO__BASE_URL",
            sandbox.handle.base_url(),
        )
        .env("SIMGATE_PROVIDERS__ESIM_GO__API_KEY", &sandbox.api_key)
        .env(
            "SIMGATE_PROVIDERS__ESIM_GO__TIMEOUT_SECS",
            timeout_secs.to_string(),
        )
        .env("SIMGATE_JOBS__RECONCILE_EVERY_SECS", "1")
        .env("SIMGATE_JOBS__RECONCILE_BACKOFF_MAX_SECS", "2")
        .env("SIMGATE_JOBS__RECONCILE_AFTER_SECS", "1")
        // Test receivers listen on 127.0.0.1, which production refuses.
        .env("SIMGATE_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")
        .env(
            format!("SIMGATE_WEBHOOKS__SECRET_KEYS__{TEST_SECRET_KEY_ID}"),
            TEST_SECRET_KEY,
        )
        .env("SIMGATE_WEBHOOKS__SECRET_KEY_ID", TEST_SECRET_KEY_ID)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

impl Binary {
    pub(crate) async fn serve(sandbox: &Sandbox, db: &Path, timeout_secs: u64) -> Self {
        Self::serve_with_log(sandbox, db, timeout_secs, Stdio::inherit(), "warn").await
    }

    /// Serves with its log (stderr) at `level` sent to `log`.
    pub async fn serve_with_log(
        sandbox: &Sandbox,
        db: &Path,
        timeout_secs: u64,
        log: Stdio,
        level: &str,
    ) -> Self {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = simgate_command(sandbox, db, timeout_secs)
            .env("SIMGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", level)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("simgate binary starts");
        let address = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        eventually(Duration::from_secs(60), || async {
            let response = client.get(format!("{address}/healthz")).send().await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await;
        Self { child, address }
    }

    /// A GET as the tenant holding `key`, read as JSON; `None` when it
    /// failed, so it can be awaited with `eventually`.
    pub async fn get_json(&self, key: &str, path: &str) -> Option<Value> {
        reqwest::Client::new()
            .get(format!("{}{path}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()
    }

    /// The id of a product sold in `country`, once the catalogue has one.
    pub async fn first_product(&self, key: &str, country: &str) -> String {
        let path = format!("/v1/products?country={country}&limit=1");
        eventually(Duration::from_secs(120), || async {
            let page = self.get_json(key, &path).await?;
            page["data"][0]["id"].as_str().map(str::to_owned)
        })
        .await
    }

    /// SIGKILL: no shutdown hook, no flush, like a power cut.
    pub fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_crash_while_the_provider_answers_ends_with_exactly_one_purchase() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");

    let key = create_funded_tenant(&sandbox, &db, "crash test");

    let first = Binary::serve(&sandbox, &db, 30).await;
    let client = reqwest::Client::new();
    let product = first.first_product(&key, "JP").await;

    // The provider will buy, then never answer.
    sandbox
        .arm(json!({"kind": "timeout", "ms": 600000, "path": "/orders", "method": "POST"}))
        .await;
    let order_body = json!({ "product_id": product });
    let in_flight = {
        let (client, url, key, body) = (
            client.clone(),
            format!("{}/v1/orders", first.address),
            key.clone(),
            order_body.clone(),
        );
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .header("Idempotency-Key", "crash-1")
                .json(&body)
                .send()
                .await
        })
    };
    eventually(Duration::from_secs(30), || async {
        (sandbox.state.purchases() == 1).then_some(())
    })
    .await;
    first.crash();
    assert!(
        in_flight.await.unwrap().is_err(),
        "the caller saw the crash"
    );

    let second = Binary::serve(&sandbox, &db, 2).await;
    let retried = client
        .post(format!("{}/v1/orders", second.address))
        .bearer_auth(&key)
        .header("Idempotency-Key", "crash-1")
        .json(&order_body)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::OK, "same key, same order");
    let retried: Value = retried.json().await.unwrap();
    let id = retried["id"].as_str().unwrap().to_owned();
    let order = eventually(Duration::from_secs(60), || async {
        let order: Value = client
            .get(format!("{}/v1/orders/{id}", second.address))
            .bearer_auth(&key)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (order["status"] == "completed").then_some(order)
    })
    .await;
    assert_eq!(order["esims"].as_array().unwrap().len(), 1);
    assert_eq!(sandbox.state.purchases(), 1);
}

#[tokio::test]
async fn an_order_written_but_never_sent_is_submitted_once() {
    let app = TestApp::spawn_with(Options {
        upstream_timeout_secs: 2,
        reconcile_after_secs: 3,
        ..Options::default()
    })
    .await;
    let product = ProductId::parse(&app.cheapest("IT").await).unwrap();
    let store = app.app.store();
    let price = store.product(&product).await.unwrap().unwrap().price;
    let tenant = store
        .tenant_by_api_key(&app.api_key)
        .await
        .unwrap()
        .unwrap();
    // What a crash right after the write leaves behind.
    let InsertOutcome::Created(order) = store
        .insert_order(&written_order(&tenant.id, "orphan", &product, price, None))
        .await
        .unwrap()
    else {
        panic!("order should be new");
    };
    assert!(order.created_at <= Utc::now());
    let completed = app.wait_for_order(&order.id.to_string(), "completed").await;
    assert_eq!(completed["esims"].as_array().unwrap().len(), 1);
    assert_eq!(app.sandbox.state.purchases(), 1);
}

/// Issue 21 item 4, end to end: 150 Sim Local orders whose answer was lost
/// and whose provider now fails every call can never be settled, and each
/// pass used to lease the oldest 100 of them again, so an order written
/// after them was never reached. With the per-row backoff, the order
/// written and never sent is bought within a pass or two of being written.
#[tokio::test]
async fn orders_that_cannot_progress_do_not_starve_a_fresh_one() {
    let app = TestApp::spawn().await;
    let store = app.app.store();
    let tenant = store
        .tenant_by_api_key(&app.api_key)
        .await
        .unwrap()
        .unwrap();
    // Sim Local answers every call 500 from now on: lookups of the lost
    // answers fail, pass after pass.
    let faults = reqwest::Client::new()
        .post(format!(
            "{}/__admin/faults",
            app.sim_local_handle.base_url()
        ))
        .json(&json!({ "kind": "status", "status": 500, "times": 1_000_000 }))
        .send()
        .await
        .unwrap();
    assert_eq!(faults.status(), StatusCode::CREATED);
    let stuck_product = ProductId::parse(&app.cheapest_from("sim-local", "GB").await).unwrap();
    let stuck_price = store.product(&stuck_product).await.unwrap().unwrap().price;
    let long_ago = Utc::now() - chrono::Duration::hours(1);
    for n in 0..150 {
        // Sent an hour ago, the answer lost: due for a lookup. No money
        // moves for them.
        let order = NewOrder {
            hold: None,
            ..written_order(
                &tenant.id,
                &format!("stuck-{n}"),
                &stuck_product,
                stuck_price,
                Some(long_ago),
            )
        };
        assert!(matches!(
            store.insert_order(&order).await.unwrap(),
            InsertOutcome::Created(_)
        ));
    }
    let product = ProductId::parse(&app.cheapest("IT").await).unwrap();
    let price = store.product(&product).await.unwrap().unwrap().price;
    // What a crash right after the write leaves behind, behind them.
    let InsertOutcome::Created(fresh) = store
        .insert_order(&written_order(&tenant.id, "fresh", &product, price, None))
        .await
        .unwrap()
    else {
        panic!("order should be new");
    };
    let completed = app.wait_for_order(&fresh.id.to_string(), "completed").await;
    assert_eq!(completed["esims"].as_array().unwrap().len(), 1);
    assert_eq!(app.sandbox.state.purchases(), 1);
}

/// An order of one unit of `product` at `price` as the API writes it,
/// holding its price: `submitted_at` set when it was sent, `None` when it
/// was written and never sent.
fn written_order(
    tenant: &str,
    key: &str,
    product: &ProductId,
    price: Money,
    submitted_at: Option<chrono::DateTime<Utc>>,
) -> NewOrder {
    NewOrder {
        tenant_id: tenant.to_owned(),
        idempotency_key: Some(key.to_owned()),
        request_hash: key.to_owned(),
        product_id: product.clone(),
        kind: OrderKind::NewEsim,
        quantity: 1,
        unit_price: price,
        sale: SalePrice {
            price,
            margin: Money::from_micros(0, price.currency),
        },
        offer_id: None,
        candidates: Vec::new(),
        submitted_at,
        hold: Some(Hold {
            micros: price.to_micros().unwrap(),
            currency: price.currency,
            fx_rate: None,
        }),
    }
}
