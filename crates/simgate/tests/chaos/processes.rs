//! The processes of a run: simulators, databases and simgate instances.

use super::*;

/// A free port on loopback (released for the process that will use it).
pub(super) fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `probe` until it yields, failing after `limit`.
pub(super) async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
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
pub(super) struct Process(Child);

impl Process {
    /// SIGKILL: no shutdown hook, no flush, like a power cut.
    pub(super) fn kill(&mut self) {
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
pub(super) struct Simulator {
    pub(super) _process: Process,
    pub(super) url: String,
    pub(super) http: reqwest::Client,
}

impl Simulator {
    pub(super) async fn start(provider: Provider, webhook_url: Option<String>, log: &Path) -> Self {
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

    pub(super) async fn arm(&self, fault: &Value) {
        let armed = self
            .http
            .post(format!("{}/__admin/faults", self.url))
            .json(fault)
            .send()
            .await
            .unwrap();
        assert_eq!(armed.status(), StatusCode::CREATED, "arming {fault}");
    }

    pub(super) async fn clear_faults(&self) {
        let cleared = self
            .http
            .delete(format!("{}/__admin/faults", self.url))
            .send()
            .await
            .unwrap();
        assert!(cleared.status().is_success());
    }

    pub(super) async fn try_purchases(&self) -> Option<Vec<Purchase>> {
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
pub(super) enum Database {
    Postgres,
    Sqlite,
}

impl Database {
    pub(super) async fn url(&self, dir: &Path) -> String {
        match self {
            Self::Postgres => fresh_postgres().await,
            Self::Sqlite => format!("sqlite://{}", dir.join("chaos.db").display()),
        }
    }
}

/// A fresh, empty PostgreSQL database for one run.
pub(super) async fn fresh_postgres() -> String {
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

/// The key (base64 of 32 bytes) the runs seal endpoint secrets with.
const CHAOS_SECRET_KEY: &str = "Y2hhb3Mta2V5LXNlYWxpbmctZW5kcG9pbnQtc2VjciE=";

/// How every instance is configured: environment only.
pub(super) struct Config {
    pub(super) env: Vec<(String, String)>,
    pub(super) dir: PathBuf,
}

impl Config {
    pub(super) fn command(&self) -> Command {
        // Environment only: an empty file, so no stray simgate.toml counts.
        let empty = self.dir.join("empty.toml");
        std::fs::write(&empty, "").unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_simgate"));
        command
            .env("SIMGATE_CONFIG", empty)
            .env("SIMGATE_JOBS__RECONCILE_EVERY_SECS", "1")
            .env("SIMGATE_JOBS__RECONCILE_BACKOFF_MAX_SECS", "2")
            .env("SIMGATE_JOBS__RECONCILE_AFTER_SECS", "3")
            .env("SIMGATE_JOBS__DELIVERY_BACKOFF_MS", "200")
            .env("SIMGATE_JOBS__DELIVERY_SWEEP_AFTER_SECS", "5")
            .env("SIMGATE_JOBS__WEBHOOK_RETRY_AFTER_SECS", "2")
            // The receiver listens on loopback; endpoint secrets need a key.
            .env("SIMGATE_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")
            .env("SIMGATE_WEBHOOKS__SECRET_KEYS__chaos", CHAOS_SECRET_KEY)
            .env("SIMGATE_WEBHOOKS__SECRET_KEY_ID", "chaos")
            .env("RUST_LOG", "info,sqlx=warn,tower_http=warn,apalis=warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null());
        command
    }

    /// `simgate tenants create`, which also creates the schema, and the FX
    /// rate Sim Local's GBP prices need (the account is kept in USD).
    /// Returns the tenant's id and API key.
    pub(super) fn create_tenant(&self) -> (String, String) {
        let created = self
            .command()
            .args(["tenants", "create", "--name", "chaos reseller"])
            .output()
            .unwrap();
        assert!(created.status.success(), "{created:?}");
        let stdout = String::from_utf8(created.stdout).unwrap();
        let printed = |prefix: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .expect("printed")
                .to_owned()
        };
        let rate = self
            .command()
            .args(["fx", "set", "GBP", "USD", "1.25"])
            .output()
            .unwrap();
        assert!(rate.status.success(), "{rate:?}");
        (printed("tenant: "), printed("api key: "))
    }

    /// `simgate tenants fund`, once per run.
    pub(super) fn fund(&self, tenant_id: &str, amount: &str) {
        let funded = self
            .command()
            .args(["tenants", "fund", "--id", tenant_id])
            .args(["--amount", amount, "--reference", "chaos-funds"])
            .output()
            .unwrap();
        assert!(funded.status.success(), "{funded:?}");
    }
}

/// One `simgate serve` process on a fixed port, restartable.
pub(super) struct Instance {
    pub(super) process: Option<Process>,
    pub(super) port: u16,
    pub(super) name: String,
    pub(super) lives: usize,
}

impl Instance {
    pub(super) fn new(index: usize) -> Self {
        Self {
            process: None,
            port: free_port(),
            name: format!("instance-{index}"),
            lives: 0,
        }
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(super) fn log(&self, dir: &Path, life: usize) -> PathBuf {
        dir.join(format!("{}.{life}.log", self.name))
    }

    pub(super) fn start(&mut self, config: &Config) {
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

    pub(super) async fn wait_healthy(&self) {
        let url = format!("{}/healthz", self.url());
        eventually(Duration::from_secs(60), &self.name, || async {
            let response = reqwest::get(&url).await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await;
    }

    pub(super) fn crash(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}
