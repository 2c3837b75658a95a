//! Chaos across instances: several real `simgate serve` processes on one
//! database, against one simulator running as its own process
//! (`simgate sandbox --provider …`), with faults armed on the simulator
//! while orders pour in, and one instance killed with SIGKILL and restarted
//! mid-run. Then, after a bounded wait:
//!
//! - every order reaches a final state (`completed` or `failed`);
//! - the simulator's purchases (`GET /__admin/purchases`) equal the
//!   completed orders, one for one by upstream reference;
//! - no purchase is unlinked (the upstream reference of no order; an
//!   "extra purchase" a gateway merely records counts as one: it was bought
//!   twice), none is linked to a failed order;
//! - no order is lost: every order id an API call returned exists, and the
//!   database holds no order the clients never heard of.
//!
//! Every run also registers a reseller's receiver: every event reaches it
//! and every provider webhook stored is applied (the `edges` module).
//!
//! The eSIM Go runs fund their tenant for exactly [`PAID_FOR`] orders of one
//! product and send three times as many (the `money` module): exactly that
//! many complete, the balance ends at zero and never went below it, every
//! completed order was captured once and every other hold released.
//!
//! Each amply funded run places [`ORDERS`] orders: distinct Idempotency-Keys, keys sent
//! again to another instance, keys sent to two instances at the same time,
//! and orders without a key. Faults (500, timeout, malformed answer,
//! latency) hit order creation and the provider's order lookups.
//!
//! Runs: eSIM Go (synchronous; lost answers recovered by listing) and Sim
//! Local (asynchronous: fulfilment webhooks to the instance that is killed,
//! lookup by our reference) on PostgreSQL with three instances (a fresh
//! database per run), and eSIM Go on SQLite with three processes sharing
//! one database file (WAL, busy timeout). Runs take the [`ONE_RUN_AT_A_TIME`]
//! lock: on two cores, concurrent runs would turn timeouts into noise.
//!
//! A run takes 25–50 s on two cores and is cut at [`RUN_LIMIT`]; the
//! three take about 1.5 min (`cargo test -p simgate --test chaos`). A failed
//! run prints what it found (orders without a purchase, purchases without an
//! order, orders stuck, and every log line of the orders involved) for
//! diagnosis.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use simgate_sandbox::esim_go::SandboxConfig;
use simgate_sandbox::sim_local::SimLocalSandboxConfig;
use simgate_sandbox::sim_local::TOKEN_PATH;
use simgate_sandbox::simulator::{Purchase, PurchaseList};
use sqlx::Connection;
use tokio::sync::Mutex;

mod clients;
mod edges;
mod money;
mod processes;
mod verdict;

use clients::*;
use edges::*;
use money::*;
use processes::*;
use verdict::*;

/// Orders per amply funded run, across the instances.
const ORDERS: usize = 300;
/// Orders an exactly funded run's account pays for (it is sent three times
/// as many).
const PAID_FOR: usize = 100;
/// Clients sending orders at once.
const CLIENTS: usize = 8;
/// The instance that is killed and restarted (never sent key-less orders,
/// whose answer a crash would lose for good).
const VICTIM: usize = 2;
/// How long faults stay armed after the last order is placed: the first
/// reconciliation passes of the last lost answers run under fire too.
const FAULTS_AFTER: Duration = Duration::from_secs(6);
/// Time between two faults armed.
const FAULT_EVERY: Duration = Duration::from_millis(60);
/// Longest wait for everything to settle once the orders are in.
const SETTLE: Duration = Duration::from_secs(60);
/// Longest run, start to verdict.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// One chaos run at a time in this binary.
static ONE_RUN_AT_A_TIME: Mutex<()> = Mutex::const_new(());

#[derive(Clone, Copy, Debug)]
enum Provider {
    EsimGo,
    SimLocal,
}

impl Provider {
    fn slug(self) -> &'static str {
        match self {
            Self::EsimGo => "esim-go",
            Self::SimLocal => "sim-local",
        }
    }

    /// The `SIMGATE_*` variables that point an instance at the simulator.
    fn settings(self, simulator: &str) -> Vec<(String, String)> {
        let vars: Vec<(&str, String)> = match self {
            Self::EsimGo => vec![
                ("ESIM_GO__BASE_URL", simulator.to_owned()),
                ("ESIM_GO__API_KEY", SandboxConfig::default().api_key),
                ("ESIM_GO__TIMEOUT_SECS", "2".to_owned()),
            ],
            Self::SimLocal => {
                let config = SimLocalSandboxConfig::default();
                vec![
                    ("SIM_LOCAL__BASE_URL", simulator.to_owned()),
                    ("SIM_LOCAL__TOKEN_URL", format!("{simulator}{TOKEN_PATH}")),
                    ("SIM_LOCAL__CLIENT_ID", config.client_id),
                    ("SIM_LOCAL__CLIENT_SECRET", config.client_secret),
                    ("SIM_LOCAL__WEBHOOK_API_KEY", config.webhook_api_key),
                    ("SIM_LOCAL__TIMEOUT_SECS", "2".to_owned()),
                ]
            }
        };
        vars.into_iter()
            .map(|(key, value)| (format!("SIMGATE_PROVIDERS__{key}"), value))
            .collect()
    }

    /// Units per order: Sim Local orders hold exactly one eSIM.
    fn max_quantity(self) -> usize {
        match self {
            Self::EsimGo => 2,
            Self::SimLocal => 1,
        }
    }

    /// Faults armed in turn while orders are placed: every kind, on order
    /// creation and on the lookups reconciliation makes.
    fn faults(self) -> Vec<Value> {
        let create = |mut fault: Value| {
            fault["path"] = json!("/orders");
            fault["method"] = json!("POST");
            fault
        };
        let lookup = |mut fault: Value| {
            fault["path"] = json!("/orders");
            fault["method"] = json!("GET");
            fault
        };
        vec![
            create(json!({"kind": "status", "status": 500, "times": 2})),
            create(json!({"kind": "timeout", "ms": 2500})),
            create(json!({"kind": "malformed"})),
            create(json!({"kind": "latency", "ms": 500, "times": 3})),
            lookup(json!({"kind": "status", "status": 500})),
            create(json!({"kind": "status", "status": 500})),
            create(json!({"kind": "latency", "ms": 300, "times": 3})),
            lookup(json!({"kind": "malformed"})),
            lookup(json!({"kind": "latency", "ms": 300, "times": 2})),
        ]
    }
}

/// One chaos run; panics with the verdict when a promise is broken.
async fn chaos(provider: Provider, database: Database, instance_count: usize, funding: Funding) {
    let _one_at_a_time = ONE_RUN_AT_A_TIME.lock().await;
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let run = format!(
        "{}-{}",
        provider.slug(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut instances: Vec<Instance> = (0..instance_count).map(Instance::new).collect();
    // Webhooks go to the instance that will be killed: while it is down
    // they are lost, and polling must make up for them.
    let webhook_url = matches!(provider, Provider::SimLocal).then(|| {
        format!(
            "{}/v1/webhooks/{}",
            instances[VICTIM].url(),
            provider.slug()
        )
    });
    let simulator =
        Simulator::start(provider, webhook_url, &dir.path().join("simulator.log")).await;
    let mut env = provider.settings(&simulator.url);
    let database_url = database.url(dir.path()).await;
    env.push(("SIMGATE_DATABASE_URL".to_owned(), database_url.clone()));
    let config = Config {
        env,
        dir: dir.path().to_owned(),
    };
    let (tenant_id, key) = config.create_tenant();
    if let Funding::Ample = funding {
        config.fund(&tenant_id, "10000000");
    }
    for instance in &mut instances {
        instance.start(&config);
    }
    for instance in &instances {
        instance.wait_healthy().await;
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let first = instances[0].url();
    let receiver = Receiver::start().await;
    receiver.register(&http, &first, &key).await;
    // An exactly funded run buys one product, one unit at a time, so every
    // order costs the same.
    let (wanted, max_quantity) = match funding {
        Funding::Ample => (4, provider.max_quantity()),
        Funding::Exactly(_) => (1, 1),
    };
    let products: Vec<String> = eventually(Duration::from_secs(60), "the catalogue", || async {
        let page: Value = http
            .get(format!("{first}/v1/products"))
            .bearer_auth(&key)
            .query(&[("provider", provider.slug()), ("limit", "10")])
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let ids: Vec<String> = page["data"]
            .as_array()?
            .iter()
            .filter_map(|p| p["id"].as_str())
            .filter(|id| !id.contains("fail"))
            .take(wanted)
            .map(str::to_owned)
            .collect();
        (ids.len() == wanted).then_some(ids)
    })
    .await;
    eprintln!(
        "[{run}] {instance_count} instances up after {:?}",
        started.elapsed()
    );

    let clients = Arc::new(Clients {
        http: http.clone(),
        key: key.clone(),
        urls: instances.iter().map(Instance::url).collect(),
        products,
        max_quantity,
    });
    let price = match funding {
        Funding::Ample => None,
        Funding::Exactly(n) => {
            let path = format!("{first}/v1/products/{}", clients.products[0]);
            let product = get_json(&http, &path, &key).await.expect("the product");
            let price = amount(&product["price"]);
            let funds = price * Decimal::from(n);
            config.fund(&tenant_id, &funds.to_string());
            eprintln!("[{run}] funded {funds} for {n} orders at {price}");
            Some(price)
        }
    };
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(sample(
        http.clone(),
        first.clone(),
        key.clone(),
        sampling.clone(),
    ));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let placing = Arc::new(AtomicBool::new(true));
    let simulator = Arc::new(simulator);

    let faults = {
        let (simulator, placing) = (simulator.clone(), placing.clone());
        tokio::spawn(async move {
            let kinds = provider.faults();
            let mut armed = 0;
            let mut placed_at = None;
            while placed_at.is_none_or(|at: Instant| at.elapsed() < FAULTS_AFTER) {
                if placed_at.is_none() && !placing.load(Ordering::SeqCst) {
                    placed_at = Some(Instant::now());
                }
                simulator.arm(&kinds[armed % kinds.len()]).await;
                armed += 1;
                tokio::time::sleep(FAULT_EVERY).await;
            }
            simulator.clear_faults().await;
            armed
        })
    };
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (clients, ledger, next, run) =
                (clients.clone(), ledger.clone(), next.clone(), run.clone());
            tokio::spawn(async move {
                loop {
                    let item = next.fetch_add(1, Ordering::SeqCst);
                    if item >= funding.orders() {
                        break;
                    }
                    clients.place(item, &run, &ledger).await;
                }
            })
        })
        .collect();

    // Kill one instance a third of the way in, and bring it back once the
    // others have taken a few dozen orders without it.
    let issued = || next.load(Ordering::SeqCst);
    eventually(Duration::from_secs(60), "the kill point", || async {
        (issued() >= funding.kill_at()).then_some(())
    })
    .await;
    instances[VICTIM].crash();
    let killed_at = issued();
    eventually(
        Duration::from_secs(60),
        "orders while one is down",
        || async { (issued() >= (killed_at + 40).min(funding.orders())).then_some(()) },
    )
    .await;
    instances[VICTIM].start(&config);
    instances[VICTIM].wait_healthy().await;
    eprintln!(
        "[{run}] instance {VICTIM} killed at order {killed_at}, back at order {}",
        issued()
    );
    for worker in workers {
        worker.await.unwrap();
    }
    placing.store(false, Ordering::SeqCst);
    eprintln!(
        "[{run}] {} orders placed after {:?} ({} refused for funds)",
        funding.orders(),
        started.elapsed(),
        ledger.lock().await.refused
    );
    let armed = faults.await.unwrap();
    eprintln!(
        "[{run}] {armed} faults armed, the last {FAULTS_AFTER:?} after placing; cleared at {:?}",
        started.elapsed()
    );

    // Everything final, within a bound.
    let settle_until = (Instant::now() + SETTLE).min(started + RUN_LIMIT);
    let orders = loop {
        let orders = all_orders(&http, &first, &key).await.unwrap_or_default();
        let settled = !orders.is_empty() && orders.iter().all(is_final);
        if settled || Instant::now() >= settle_until {
            break orders;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let stuck = orders.iter().filter(|o| !is_final(o)).count();
    let mut money_failures = Vec::new();
    let orders = match (funding, price) {
        (Funding::Exactly(n), Some(price)) if stuck == 0 => {
            let rest = spend_the_rest(&clients, &run, price, n, &ledger).await;
            eprintln!(
                "[{run}] {} more orders spent what released holds gave back",
                rest.len()
            );
            sampling.store(false, Ordering::SeqCst);
            let lowest = sampler.await.unwrap();
            let orders = all_orders(&http, &first, &key).await.unwrap_or_default();
            money_failures = judge_money(&database_url, &tenant_id, &orders, n, &lowest).await;
            orders
        }
        _ => orders,
    };
    let purchases = simulator.try_purchases().await.expect("the purchase list");
    let ledger = ledger.lock().await;
    let mut verdict = judge(provider, &ledger, &orders, &purchases, stuck);
    verdict.failures.extend(money_failures);
    verdict
        .failures
        .extend(judge_edges(&database_url, &tenant_id, &receiver).await);
    eprintln!(
        "[{run}] {} (after {:?})",
        verdict.summary,
        started.elapsed()
    );
    if !verdict.failures.is_empty() {
        let logs = suspect_lines(dir.path(), &verdict.suspects);
        panic!(
            "chaos run {run} broke its promises: {}\n{}\nlog lines of suspects:\n{}",
            verdict.summary,
            verdict.failures.join("\n"),
            logs.join("\n")
        );
    }
    if let Funding::Ample = funding {
        assert_eq!(ledger.ids.len(), ORDERS, "one order per planned item");
    }
    assert!(
        started.elapsed() < RUN_LIMIT,
        "the run took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esim_go_three_instances_on_postgres_funded_for_exactly_a_third() {
    chaos(
        Provider::EsimGo,
        Database::Postgres,
        3,
        Funding::Exactly(PAID_FOR),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_local_three_instances_on_postgres() {
    chaos(Provider::SimLocal, Database::Postgres, 3, Funding::Ample).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esim_go_three_processes_sharing_one_sqlite_file_funded_for_exactly_a_third() {
    chaos(
        Provider::EsimGo,
        Database::Sqlite,
        3,
        Funding::Exactly(PAID_FOR),
    )
    .await;
}
