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
//! Each run places [`ORDERS`] orders: distinct Idempotency-Keys, keys sent
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

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate_sandbox::esim_go::SandboxConfig;
use simgate_sandbox::sim_local::SimLocalSandboxConfig;
use simgate_sandbox::sim_local::TOKEN_PATH;
use simgate_sandbox::simulator::{Purchase, PurchaseList};
use sqlx::Connection;
use tokio::sync::Mutex;

/// Orders per run, across the instances.
const ORDERS: usize = 300;
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

/// A free port on loopback (released for the process that will use it).
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `probe` until it yields, failing after `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child process killed when dropped, so a failed test leaves none behind.
struct Process(Child);

impl Process {
    /// SIGKILL: no shutdown hook, no flush, like a power cut.
    fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The provider simulator, in its own process.
struct Simulator {
    _process: Process,
    url: String,
    http: reqwest::Client,
}

impl Simulator {
    async fn start(provider: Provider, webhook_url: Option<String>, log: &Path) -> Self {
        let port = free_port();
        // An empty configuration file of its own, so no stray simgate.toml counts.
        let config = log.with_extension("toml");
        std::fs::write(&config, "").unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_simgate"));
        command
            .args(["sandbox", "--provider", provider.slug()])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("SIMGATE_CONFIG", config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(log).unwrap());
        if let Some(url) = webhook_url {
            command.args(["--webhook-url", &url]);
        }
        let process = Process(command.spawn().expect("the simulator starts"));
        let simulator = Self {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        eventually(Duration::from_secs(30), "the simulator", || async {
            simulator.try_purchases().await.map(|_| ())
        })
        .await;
        simulator
    }

    async fn arm(&self, fault: &Value) {
        let armed = self
            .http
            .post(format!("{}/__admin/faults", self.url))
            .json(fault)
            .send()
            .await
            .unwrap();
        assert_eq!(armed.status(), StatusCode::CREATED, "arming {fault}");
    }

    async fn clear_faults(&self) {
        let cleared = self
            .http
            .delete(format!("{}/__admin/faults", self.url))
            .send()
            .await
            .unwrap();
        assert!(cleared.status().is_success());
    }

    async fn try_purchases(&self) -> Option<Vec<Purchase>> {
        let response = self
            .http
            .get(format!("{}/__admin/purchases", self.url))
            .send()
            .await
            .ok()?;
        let list: PurchaseList = response.json().await.ok()?;
        Some(list.purchases)
    }
}

/// Where the instances keep their data.
enum Database {
    Postgres,
    Sqlite,
}

impl Database {
    async fn url(&self, dir: &Path) -> String {
        match self {
            Self::Postgres => fresh_postgres().await,
            Self::Sqlite => format!("sqlite://{}", dir.join("chaos.db").display()),
        }
    }
}

/// A fresh, empty PostgreSQL database for one run.
async fn fresh_postgres() -> String {
    let server = std::env::var("SIMGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    sqlx::any::install_default_drivers();
    let name = format!("simgate_chaos_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL must be running for the test suite (see .ci/run)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    format!("{server}/{name}")
}

/// How every instance is configured: environment only.
struct Config {
    env: Vec<(String, String)>,
    dir: PathBuf,
}

impl Config {
    fn command(&self) -> Command {
        // Environment only: an empty file, so no stray simgate.toml counts.
        let empty = self.dir.join("empty.toml");
        std::fs::write(&empty, "").unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_simgate"));
        command
            .env("SIMGATE_CONFIG", empty)
            .env("SIMGATE_JOBS__RECONCILE_EVERY_SECS", "1")
            .env("SIMGATE_JOBS__RECONCILE_AFTER_SECS", "3")
            .env("SIMGATE_JOBS__DELIVERY_BACKOFF_MS", "200")
            .env("RUST_LOG", "info,sqlx=warn,tower_http=warn,apalis=warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        command
    }

    /// `simgate tenants create`, which also creates the schema.
    fn create_tenant(&self) -> String {
        let created = self
            .command()
            .args(["tenants", "create", "--name", "chaos reseller"])
            .output()
            .unwrap();
        assert!(created.status.success(), "{created:?}");
        String::from_utf8(created.stdout)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("api key: "))
            .expect("the key is printed")
            .to_owned()
    }
}

/// One `simgate serve` process on a fixed port, restartable.
struct Instance {
    process: Option<Process>,
    port: u16,
    name: String,
    lives: usize,
}

impl Instance {
    fn new(index: usize) -> Self {
        Self {
            process: None,
            port: free_port(),
            name: format!("instance-{index}"),
            lives: 0,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self, dir: &Path, life: usize) -> PathBuf {
        dir.join(format!("{}.{life}.log", self.name))
    }

    fn start(&mut self, config: &Config) {
        let log = File::create(self.log(&config.dir, self.lives)).unwrap();
        self.lives += 1;
        let child = config
            .command()
            .env("SIMGATE_LISTEN", format!("127.0.0.1:{}", self.port))
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("simgate starts");
        self.process = Some(Process(child));
    }

    async fn wait_healthy(&self) {
        let url = format!("{}/healthz", self.url());
        eventually(Duration::from_secs(60), &self.name, || async {
            let response = reqwest::get(&url).await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await;
    }

    fn crash(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

/// What the clients learnt: each order id an answer named, by plan item.
#[derive(Default)]
struct Ledger {
    /// Order ids the API returned (201, 200 or a problem's `order_id`).
    ids: BTreeSet<String>,
    requests: usize,
    /// Answers that are no part of the contract (e.g. a 500, or two ids
    /// for one key).
    anomalies: Vec<String>,
}

/// One planned order: how it is sent.
#[derive(Clone, Copy)]
enum Sending {
    /// A fresh key, once.
    Once,
    /// A key sent, then sent again to the next instance.
    Again,
    /// A key sent to two instances at the same time.
    Together,
    /// No key (only to instances that are never killed).
    Keyless,
}

fn plan(item: usize) -> Sending {
    match item % 10 {
        0..=4 => Sending::Once,
        5 | 6 => Sending::Again,
        7 | 8 => Sending::Together,
        _ => Sending::Keyless,
    }
}

/// The outcome of one POST /v1/orders.
enum Answer {
    Order(String),
    /// The instance could not be reached or dropped the connection.
    Unreachable,
    Unexpected(String),
}

struct Clients {
    http: reqwest::Client,
    key: String,
    urls: Vec<String>,
    products: Vec<String>,
    max_quantity: usize,
}

impl Clients {
    async fn post(&self, instance: usize, item: usize, key: Option<&str>) -> Answer {
        let product = &self.products[item % self.products.len()];
        let mut request = self
            .http
            .post(format!("{}/v1/orders", self.urls[instance]))
            .bearer_auth(&self.key)
            .json(&json!({"product_id": product, "quantity": 1 + item % self.max_quantity}));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let Ok(response) = request.send().await else {
            return Answer::Unreachable;
        };
        let status = response.status();
        let Ok(body) = response.json::<Value>().await else {
            return Answer::Unreachable;
        };
        let id = match status.as_u16() {
            200 | 201 => body["id"].as_str(),
            502..=504 => body["order_id"].as_str(),
            _ => None,
        };
        match id {
            Some(id) => Answer::Order(id.to_owned()),
            None => Answer::Unexpected(format!("{status} from {instance}: {body}")),
        }
    }

    /// Sends with a key until an instance answers, moving on to the next
    /// instance when one is down, as a careful client would.
    async fn post_until_answered(
        &self,
        first: usize,
        item: usize,
        key: &str,
        ledger: &Mutex<Ledger>,
    ) -> Option<String> {
        for attempt in 0..20 {
            let instance = (first + attempt) % self.urls.len();
            ledger.lock().await.requests += 1;
            match self.post(instance, item, Some(key)).await {
                Answer::Order(id) => return Some(id),
                Answer::Unreachable => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Answer::Unexpected(what) => {
                    ledger
                        .lock()
                        .await
                        .anomalies
                        .push(format!("key {key}: {what}"));
                    return None;
                }
            }
        }
        ledger
            .lock()
            .await
            .anomalies
            .push(format!("key {key}: no instance answered"));
        None
    }

    async fn place(&self, item: usize, run: &str, ledger: &Mutex<Ledger>) {
        let instances = self.urls.len();
        let first = item % instances;
        let key = format!("{run}-{item}");
        let mut ids = Vec::new();
        match plan(item) {
            Sending::Once => ids.extend(self.post_until_answered(first, item, &key, ledger).await),
            Sending::Again => {
                ids.extend(self.post_until_answered(first, item, &key, ledger).await);
                ids.extend(
                    self.post_until_answered(first + 1, item, &key, ledger)
                        .await,
                );
            }
            Sending::Together => {
                let (a, b) = tokio::join!(
                    self.post_until_answered(first, item, &key, ledger),
                    self.post_until_answered(first + 1, item, &key, ledger)
                );
                ids.extend(a);
                ids.extend(b);
            }
            Sending::Keyless => {
                let instance = (item / 10) % instances;
                let instance = if instance == VICTIM { 0 } else { instance };
                ledger.lock().await.requests += 1;
                match self.post(instance, item, None).await {
                    Answer::Order(id) => ids.push(id),
                    Answer::Unreachable => ledger.lock().await.anomalies.push(format!(
                        "keyless order {item}: instance {instance} unreachable"
                    )),
                    Answer::Unexpected(what) => ledger
                        .lock()
                        .await
                        .anomalies
                        .push(format!("keyless order {item}: {what}")),
                }
            }
        }
        let mut ledger = ledger.lock().await;
        if ids.windows(2).any(|pair| pair[0] != pair[1]) {
            ledger
                .anomalies
                .push(format!("key {key} named several orders: {ids:?}"));
        }
        ledger.ids.extend(ids);
    }
}

/// Reads every order of the tenant, newest first, page by page.
async fn all_orders(http: &reqwest::Client, url: &str, key: &str) -> Option<Vec<Value>> {
    let mut orders = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut request = http
            .get(format!("{url}/v1/orders"))
            .bearer_auth(key)
            .query(&[("limit", "100")]);
        if let Some(before) = &before {
            request = request.query(&[("before", before)]);
        }
        let page: Value = request.send().await.ok()?.json().await.ok()?;
        orders.extend(page["data"].as_array()?.iter().cloned());
        match page["next_before"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => return Some(orders),
        }
    }
}

fn is_final(order: &Value) -> bool {
    matches!(order["status"].as_str(), Some("completed" | "failed"))
}

/// What a run found; empty `failures` means every promise held.
struct Verdict {
    summary: String,
    failures: Vec<String>,
    /// Order ids and upstream references worth a look in the logs.
    suspects: Vec<String>,
}

fn judge(
    provider: Provider,
    ledger: &Ledger,
    orders: &[Value],
    purchases: &[Purchase],
    stuck: usize,
) -> Verdict {
    let mut failures: Vec<String> = ledger.anomalies.clone();
    let mut suspects = Vec::new();
    let by_id: BTreeMap<&str, &Value> = orders
        .iter()
        .filter_map(|o| Some((o["id"].as_str()?, o)))
        .collect();
    let lost: Vec<&String> = ledger
        .ids
        .iter()
        .filter(|id| !by_id.contains_key(id.as_str()))
        .collect();
    if !lost.is_empty() {
        failures.push(format!("{} orders lost: {lost:?}", lost.len()));
    }
    let unknown: Vec<&&str> = by_id
        .keys()
        .filter(|id| !ledger.ids.contains(**id))
        .collect();
    if !unknown.is_empty() {
        failures.push(format!(
            "{} orders no client heard of: {unknown:?}",
            unknown.len()
        ));
    }
    let not_final: Vec<String> = orders
        .iter()
        .filter(|o| !is_final(o))
        .map(|o| format!("{} {}", o["id"], o["status"]))
        .collect();
    if stuck > 0 {
        failures.push(format!(
            "{} orders not final in time: {not_final:?}",
            not_final.len()
        ));
    }
    let completed: Vec<&Value> = orders
        .iter()
        .filter(|o| o["status"] == "completed")
        .collect();
    let mut failed: BTreeMap<String, usize> = BTreeMap::new();
    for order in orders.iter().filter(|o| o["status"] == "failed") {
        let code = order["failure"]["code"].as_str().unwrap_or("unknown");
        *failed.entry(code.to_owned()).or_default() += 1;
    }
    // Upstream reference → local orders holding it.
    let mut linked: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for order in orders {
        if let Some(reference) = order["upstream_reference"].as_str() {
            linked.entry(reference).or_default().push(order);
        }
    }
    let mut sold: BTreeMap<&str, Vec<&Purchase>> = BTreeMap::new();
    for purchase in purchases {
        sold.entry(purchase.reference.as_str())
            .or_default()
            .push(purchase);
    }
    for order in &completed {
        match order["upstream_reference"].as_str() {
            None => {
                failures.push(format!(
                    "completed order {} has no upstream reference",
                    order["id"]
                ));
            }
            Some(reference) if !sold.contains_key(reference) => {
                failures.push(format!(
                    "completed order {} names {reference}, which the provider never sold",
                    order["id"]
                ));
            }
            Some(_) => {}
        }
    }
    let mut unlinked = 0;
    for purchase in purchases {
        let holders = linked
            .get(purchase.reference.as_str())
            .cloned()
            .unwrap_or_default();
        let detail = format!(
            "{} ({} x{}, {}, caller {:?})",
            purchase.reference,
            purchase.sku,
            purchase.quantity,
            purchase.created_at,
            purchase.caller_reference
        );
        match holders.as_slice() {
            [] => {
                unlinked += 1;
                failures.push(format!(
                    "purchase {detail} is no order's upstream reference"
                ));
                suspects.push(purchase.reference.clone());
                suspects.extend(purchase.caller_reference.clone());
            }
            [order] if order["status"] != "completed" => {
                failures.push(format!(
                    "purchase {detail} is linked to {} order {}",
                    order["status"], order["id"]
                ));
                suspects.extend(order["id"].as_str().map(str::to_owned));
            }
            [order] => {
                if let (Provider::SimLocal, Some(caller)) = (provider, &purchase.caller_reference)
                    && order["id"].as_str() != Some(caller.as_str())
                {
                    failures.push(format!(
                        "purchase {detail} made for {caller} is linked to order {}",
                        order["id"]
                    ));
                    suspects.push(caller.clone());
                }
            }
            many => {
                failures.push(format!(
                    "purchase {detail} is linked to {} orders",
                    many.len()
                ));
            }
        }
    }
    for (reference, copies) in &sold {
        if copies.len() > 1 {
            failures.push(format!(
                "the provider sold {reference} {} times",
                copies.len()
            ));
        }
    }
    if purchases.len() != completed.len() {
        failures.push(format!(
            "{} purchases for {} completed orders",
            purchases.len(),
            completed.len()
        ));
    }
    let summary = format!(
        "{} orders from {} requests: {} completed, {} failed {failed:?}, {stuck} not final; \
         {} purchases, {unlinked} unlinked; {} lost",
        orders.len(),
        ledger.requests,
        completed.len(),
        failed.values().sum::<usize>(),
        purchases.len(),
        lost.len()
    );
    Verdict {
        summary,
        failures,
        suspects,
    }
}

/// Log lines that mention a suspect, then also those that mention an order
/// id the first lines named: the story of each broken promise.
fn suspect_lines(dir: &Path, suspects: &[String]) -> Vec<String> {
    let first = log_lines(dir, suspects);
    let mut needles = suspects.to_vec();
    for line in &first {
        for word in line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
            if word.starts_with("ord_") && !needles.iter().any(|n| n == word) {
                needles.push(word.to_owned());
            }
        }
    }
    log_lines(dir, &needles)
}

/// Log lines of every instance's lives that mention one of `needles`.
fn log_lines(dir: &Path, needles: &[String]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        lines.extend(
            text.lines()
                .filter(|line| needles.iter().any(|n| line.contains(n.as_str())))
                .map(|line| format!("{name}: {line}")),
        );
    }
    lines.truncate(200);
    lines
}

/// One chaos run; panics with the verdict when a promise is broken.
async fn chaos(provider: Provider, database: Database, instance_count: usize) {
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
    env.push((
        "SIMGATE_DATABASE_URL".to_owned(),
        database.url(dir.path()).await,
    ));
    let config = Config {
        env,
        dir: dir.path().to_owned(),
    };
    let key = config.create_tenant();
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
            .take(4)
            .map(str::to_owned)
            .collect();
        (ids.len() == 4).then_some(ids)
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
        max_quantity: provider.max_quantity(),
    });
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
                    if item >= ORDERS {
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
    eventually(Duration::from_secs(60), "a third of the orders", || async {
        (issued() >= ORDERS / 3).then_some(())
    })
    .await;
    instances[VICTIM].crash();
    let killed_at = issued();
    eventually(
        Duration::from_secs(60),
        "orders while one is down",
        || async { (issued() >= (killed_at + 40).min(ORDERS)).then_some(()) },
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
        "[{run}] {ORDERS} orders placed after {:?}",
        started.elapsed()
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
    let purchases = simulator.try_purchases().await.expect("the purchase list");
    let ledger = ledger.lock().await;
    let verdict = judge(provider, &ledger, &orders, &purchases, stuck);
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
    assert_eq!(ledger.ids.len(), ORDERS, "one order per planned item");
    assert!(
        started.elapsed() < RUN_LIMIT,
        "the run took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esim_go_three_instances_on_postgres() {
    chaos(Provider::EsimGo, Database::Postgres, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_local_three_instances_on_postgres() {
    chaos(Provider::SimLocal, Database::Postgres, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esim_go_three_processes_sharing_one_sqlite_file() {
    chaos(Provider::EsimGo, Database::Sqlite, 3).await;
}
