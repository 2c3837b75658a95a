//! Two simgate instances on one database (PostgreSQL, and one SQLite file)
//! against one eSIM Go sandbox answering with faults: every order is bought
//! exactly once.
//!
//! Issue 8: with reconcilers on both instances, one that read a stuck order
//! before the other re-sent it reopened and re-sent it again (100 orders,
//! 103 purchases). Fenced claims and leased reconciliation forbid that.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate::{Application, HealthSettings};
use simgate_connectors::esim_go::types::OrderResponse;
use simgate_domain::ProviderId;
use simgate_domain::repository::PurchaseRepository;
use simgate_sandbox::esim_go::SandboxConfig;

use crate::helpers::{Options, Sandbox, eventually, settings_for};
use crate::postgres::fresh_database;

/// Orders placed on each instance with their own keys.
const ORDERS_PER_INSTANCE: usize = 30;
/// Keys sent to both instances at the same moment.
const SHARED_KEYS: usize = 5;

/// One instance, seen over HTTP.
struct Instance {
    app: Application,
    address: String,
    _dir: tempfile::TempDir,
}

impl Instance {
    /// A client signed in as a new tenant of this instance's database.
    async fn tenant_client(&self) -> reqwest::Client {
        let (_, api_key) = crate::helpers::funded_tenant(self.app.store(), "reseller").await;
        reqwest::Client::builder()
            .default_headers(
                [(
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {api_key}").parse().unwrap(),
                )]
                .into_iter()
                .collect(),
            )
            .build()
            .unwrap()
    }

    async fn start(sandbox: &Sandbox, database_url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            upstream_timeout_secs: 1,
            reconcile_after_secs: 2,
            reconcile_every_secs: 1,
            database_url: Some(database_url.to_owned()),
            // The faults open the provider's circuit: orders then wait
            // pending for it, and are still bought once each.
            health: HealthSettings {
                cool_down_seconds: 1,
                ..HealthSettings::default()
            },
            ..Options::default()
        };
        let app = Application::start(&settings_for(sandbox, &dir, &options))
            .await
            .expect("simgate starts");
        Self {
            address: format!("http://{}", app.addr()),
            app,
            _dir: dir,
        }
    }
}

/// Places an order; returns its id whatever the answer (an outcome the
/// provider left unknown is a 502/504 naming the order, an open circuit a
/// 503 naming the order that waits for it).
async fn place(client: reqwest::Client, address: String, key: String, product: String) -> String {
    let response = client
        .post(format!("{address}/v1/orders"))
        .header("Idempotency-Key", key)
        .json(&json!({ "product_id": product }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(
        matches!(
            status,
            StatusCode::CREATED
                | StatusCode::OK
                | StatusCode::BAD_GATEWAY
                | StatusCode::GATEWAY_TIMEOUT
        ) || (status == StatusCode::SERVICE_UNAVAILABLE && body["code"] == "circuit_open"),
        "{status}: {body}"
    );
    body["id"]
        .as_str()
        .or_else(|| body["order_id"].as_str())
        .unwrap_or_else(|| panic!("no order id in {body}"))
        .to_owned()
}

/// The provider's own list of what it sold, over its API.
async fn sold(sandbox: &Sandbox) -> BTreeSet<String> {
    let orders: Vec<OrderResponse> = reqwest::Client::new()
        .get(format!("{}/orders?limit=1000", sandbox.handle.base_url()))
        .header("X-API-Key", &sandbox.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    orders.into_iter().map(|o| o.order_reference).collect()
}

#[tokio::test]
async fn two_instances_on_one_postgres_buy_each_order_once() {
    two_instances_buy_each_order_once(&fresh_database().await).await;
}

#[tokio::test]
async fn two_instances_on_one_sqlite_file_buy_each_order_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("shared.db").display());
    two_instances_buy_each_order_once(&database).await;
}

/// Orders on both instances sharing `database`, faults armed, reconcilers
/// running every second on both; then purchases are checked one for one.
async fn two_instances_buy_each_order_once(database: &str) {
    let sandbox = Sandbox::start().await;
    let first = Instance::start(&sandbox, database).await;
    let second = Instance::start(&sandbox, database).await;
    let client = first.tenant_client().await;
    let product = eventually(Duration::from_secs(60), || async {
        let body: Value = client
            .get(format!(
                "{}/v1/products?country=JP&provider=esim-go&limit=1",
                second.address
            ))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        body["data"][0]["id"].as_str().map(str::to_owned)
    })
    .await;

    // Faults on order creation, in this order: not processed (500), then
    // processed with the answer withheld past the client's timeout, then
    // processed with a garbled answer; then slow ones. Listing stays healthy.
    for fault in [
        json!({"kind": "status", "status": 500, "times": 30}),
        json!({"kind": "timeout", "ms": 1500, "times": 6}),
        json!({"kind": "malformed", "times": 6}),
        // Then slow answers: re-sent orders stay in flight for a while,
        // which is when a stale reconciler used to re-send them again.
        json!({"kind": "latency", "ms": 300, "times": 200}),
    ] {
        let mut fault = fault;
        fault["path"] = json!("/orders");
        fault["method"] = json!("POST");
        sandbox.arm(fault).await;
    }

    let instances = [&first, &second];
    let mut placing = tokio::task::JoinSet::new();
    for n in 0..ORDERS_PER_INSTANCE {
        for (i, instance) in instances.iter().enumerate() {
            let key = format!("own-{i}-{n}");
            placing.spawn(place(
                client.clone(),
                instance.address.clone(),
                key,
                product.clone(),
            ));
        }
    }
    for n in 0..SHARED_KEYS {
        for instance in instances {
            let key = format!("shared-{n}");
            placing.spawn(place(
                client.clone(),
                instance.address.clone(),
                key,
                product.clone(),
            ));
        }
    }
    let ids: BTreeSet<String> = placing.join_all().await.into_iter().collect();
    assert_eq!(
        ids.len(),
        2 * ORDERS_PER_INSTANCE + SHARED_KEYS,
        "one order per key, even sent to both instances at once"
    );

    // Both reconcilers settle what the faults left open.
    let orders: BTreeMap<String, Value> = eventually(Duration::from_secs(45), || async {
        let mut orders = BTreeMap::new();
        for (n, id) in ids.iter().enumerate() {
            let instance = instances[n % 2];
            let order: Value = client
                .get(format!("{}/v1/orders/{id}", instance.address))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            if order["status"] != "completed" {
                return None;
            }
            orders.insert(id.clone(), order);
        }
        Some(orders)
    })
    .await;

    // Purchases equal completed orders, one for one.
    let references: BTreeMap<String, String> = orders
        .iter()
        .map(|(id, order)| {
            let reference = order["upstream_reference"].as_str().unwrap().to_owned();
            (reference, id.clone())
        })
        .collect();
    assert_eq!(references.len(), orders.len(), "no purchase on two orders");
    assert_eq!(sandbox.state.purchases(), orders.len());
    let sold = sold(&sandbox).await;
    assert_eq!(
        sold,
        references.keys().cloned().collect::<BTreeSet<_>>(),
        "every purchase is linked to exactly one order"
    );
    let ledger = first.app.store().upstream_purchases(None).await.unwrap();
    assert!(
        ledger.iter().all(|p| p.linked),
        "no extra purchase: {ledger:?}"
    );
    assert_eq!(ledger.len(), orders.len());

    first.app.stop().await;
    second.app.stop().await;
}

/// The number of eSIM Go products a search on `address` reports.
async fn esim_go_total(client: &reqwest::Client, address: &str) -> u64 {
    let body: Value = client
        .get(format!("{address}/v1/products?provider=esim-go&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("no total in {body}"))
}

/// Each instance searches its own in-memory catalogue; a sync on one
/// reaches the other's through the version check (once a second), not on
/// the other's next request.
#[tokio::test]
async fn a_catalogue_sync_on_one_instance_reaches_searches_on_the_other() {
    let database = fresh_database().await;
    let full = Sandbox::start().await;
    let second = Instance::start(&full, &database).await;
    second.app.ready().await;
    let client = second.tenant_client().await;
    let before = esim_go_total(&client, &second.address).await;
    assert_eq!(before as usize, full.state.catalogue_len());

    // The first instance syncs a smaller eSIM Go catalogue into the database.
    let smaller = Sandbox::start_with(SandboxConfig {
        catalogue_size: Some(300),
        ..SandboxConfig::default()
    })
    .await;
    let first = Instance::start(&smaller, &database).await;
    first
        .app
        .services()
        .sync_catalogue(ProviderId::EsimGo, &|_| {})
        .await
        .unwrap();
    let synced = esim_go_total(&client, &first.address).await;
    assert_eq!(synced as usize, smaller.state.catalogue_len());
    assert_ne!(synced, before);

    eventually(Duration::from_secs(10), || async {
        (esim_go_total(&client, &second.address).await == synced).then_some(())
    })
    .await;
    first.app.stop().await;
    second.app.stop().await;
}
