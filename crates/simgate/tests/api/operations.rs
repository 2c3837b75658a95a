//! Running simgate as an operator does: readiness, graceful shutdown on
//! SIGTERM, strict configuration and tenant administration (CLI and the
//! `/admin/v1/tenants` API).

use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate::Application;
use simgate::settings::Settings;
use tempfile::TempDir;

use crate::helpers::{OPERATOR_KEY, Options, Sandbox, assert_problem, eventually, settings_for};
use crate::recovery::simgate_command;

/// simgate with no provider (nothing to load: ready at once) and the
/// operator key, over a SQLite file the CLI can reach too.
struct AdminApp {
    address: String,
    client: reqwest::Client,
    app: Application,
    dir: TempDir,
}

impl AdminApp {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            listen: ([127, 0, 0, 1], 0).into(),
            database_url: format!("sqlite://{}", dir.path().join("simgate.db").display()),
            admin_api_key: Some(OPERATOR_KEY.into()),
            ..Settings::default()
        };
        let app = Application::start(&settings).await.unwrap();
        Self {
            address: format!("http://{}", app.addr()),
            client: reqwest::Client::new(),
            app,
            dir,
        }
    }

    async fn admin(&self, key: &str, path: &str, body: Option<Value>) -> reqwest::Response {
        let url = format!("{}{path}", self.address);
        let request = match body {
            Some(body) => self.client.post(url).json(&body),
            None => self.client.get(url),
        };
        request.bearer_auth(key).send().await.unwrap()
    }

    /// The status a tenant key gets on a tenant route.
    async fn status_with(&self, key: &str) -> StatusCode {
        self.client
            .get(format!("{}/v1/providers", self.address))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// The `simgate` binary on this app's database, with no configuration file.
    fn cli(&self) -> Command {
        let mut command = bare_simgate(self.dir.path());
        command.env(
            "SIMGATE_DATABASE_URL",
            format!("sqlite://{}", self.dir.path().join("simgate.db").display()),
        );
        command
    }
}

/// The binary run in `dir` (no `simgate.toml` there), logging warnings only.
fn bare_simgate(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_simgate"));
    command
        .current_dir(dir)
        .env_remove("SIMGATE_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `api key: …` line of `tenants create` or `rotate-key`.
fn printed_key(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    stdout(output)
        .lines()
        .find_map(|l| l.strip_prefix("api key: "))
        .unwrap()
        .to_owned()
}

/// A client that opens a connection per request. These tests wait for
/// readiness between requests, for longer than simgate keeps an idle
/// keep-alive connection (`header_read_timeout_secs`); a pooled connection
/// could be reused just as the server closes it (hyper's IncompleteMessage).
fn unpooled_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn readyz_answers_503_until_the_catalogue_is_loaded() {
    let sandbox = Sandbox::start().await;
    // The start-up sync waits on the provider long enough to be observed.
    sandbox
        .arm(json!({"kind": "latency", "ms": 1500, "path": "/catalogue", "times": 1}))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let app = Application::start(&settings_for(&sandbox, &dir, &Options::default()))
        .await
        .unwrap();
    let address = format!("http://{}", app.addr());
    let client = unpooled_client();

    let early = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(early, StatusCode::SERVICE_UNAVAILABLE, "not_ready").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("esim-go"),
        "{problem}"
    );
    // Liveness is another question: the process is fine.
    let health = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    tokio::time::timeout(Duration::from_secs(60), app.ready())
        .await
        .expect("ready within a minute");
    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
    app.stop().await;

    // A restart over the stored catalogue is ready before any new sync.
    sandbox
        .arm(json!({"kind": "latency", "ms": 3000, "path": "/catalogue", "times": 1}))
        .await;
    let app = Application::start(&settings_for(&sandbox, &dir, &Options::default()))
        .await
        .unwrap();
    let ready = client
        .get(format!("http://{}/readyz", app.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_catalogue_whose_first_sync_failed_is_retried_until_ready() {
    let sandbox = Sandbox::start().await;
    // More failures than one sync's retries: the start-up sync fails.
    sandbox
        .arm(json!({"kind": "status", "status": 500, "path": "/catalogue", "times": 12}))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_for(&sandbox, &dir, &Options::default());
    settings.jobs.catalogue_retry_secs = 1;
    let app = Application::start(&settings).await.unwrap();
    let readyz = format!("http://{}/readyz", app.addr());
    let client = unpooled_client();
    assert_problem(
        client.get(&readyz).send().await.unwrap(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
    )
    .await;

    tokio::time::timeout(Duration::from_secs(60), app.ready())
        .await
        .expect("ready once a retry loads the catalogue");
    let ready = client.get(&readyz).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.stop().await;
}

/// `simgate serve`, its log (stderr) read line by line on a thread.
struct Served {
    child: Child,
    address: String,
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(sandbox: &Sandbox, db: &Path, grace_secs: u64) -> Self {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = simgate_command(sandbox, db, 30)
            .env("SIMGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("SIMGATE_SHUTDOWN_GRACE_SECS", grace_secs.to_string())
            .env("RUST_LOG", "info")
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// The next log line containing `text`, within `limit`.
    fn log_line(&self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        // Blocking: let the runtime's other worker serve the sandbox meanwhile.
        tokio::task::block_in_place(|| {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let line = self
                    .log
                    .recv_timeout(left)
                    .unwrap_or_else(|_| panic!("no log line with {text:?} within {limit:?}"));
                if line.contains(text) {
                    return line;
                }
            }
        })
    }

    fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits for the process to exit, within `limit`.
    async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        eventually(limit, || {
            let exited = self.child.try_wait().unwrap();
            async move { exited }
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_request_in_flight_and_exits_zero() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");
    let key = crate::recovery::create_funded_tenant(&sandbox, &db, "drain test");

    let mut served = Served::start(&sandbox, &db, 20);
    let client = reqwest::Client::new();
    // The ready line comes only once /readyz says so, and the first search
    // then finds products.
    served.log_line("simgate is listening and ready", Duration::from_secs(120));
    let ready = client
        .get(format!("{}/readyz", served.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let products: Value = client
        .get(format!("{}/v1/products?country=JP&limit=1", served.address))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = products["data"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a ready simgate finds products: {products}"))
        .to_owned();

    sandbox
        .arm(json!({"kind": "latency", "ms": 3000, "path": "/orders", "method": "POST"}))
        .await;
    let order = tokio::spawn({
        let (client, address, key) = (client.clone(), served.address.clone(), key.clone());
        async move {
            client
                .post(format!("{address}/v1/orders"))
                .bearer_auth(&key)
                .header("Idempotency-Key", "drain-1")
                .json(&json!({ "product_id": product }))
                .send()
                .await
        }
    });
    // In flight: written down, waiting on the slow provider.
    eventually(Duration::from_secs(10), || async {
        let page: Value = client
            .get(format!("{}/v1/orders", served.address))
            .bearer_auth(&key)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (!page["data"].as_array()?.is_empty()).then_some(())
    })
    .await;

    let signalled = Instant::now();
    served.terminate();
    // No new connection is taken while the one in flight is finishing.
    eventually(Duration::from_secs(2), || async {
        // A fresh client: no pooled connection to reuse.
        let refused = reqwest::Client::new()
            .get(format!("{}/healthz", served.address))
            .send()
            .await
            .is_err();
        refused.then_some(())
    })
    .await;
    assert!(
        !order.is_finished(),
        "the slow order should still be in flight"
    );

    let answered = order.await.unwrap().expect("the order is answered");
    assert_eq!(answered.status(), StatusCode::CREATED);
    let body: Value = answered.json().await.unwrap();
    assert_eq!(body["status"], "completed", "{body}");

    let status = served.exit_within(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(20));
    served.log_line("simgate stopped", Duration::from_secs(5));
}

#[tokio::test]
async fn unknown_keys_and_a_missing_config_file_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let check = |toml: &str, env: &[(&str, &str)]| {
        let file = dir.path().join("simgate-test.toml");
        std::fs::write(&file, toml).unwrap();
        let mut command = bare_simgate(dir.path());
        command.arg("--config").arg(&file).args(["config", "check"]);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };

    let typo = check("listn = \"127.0.0.1:9000\"\n", &[]);
    assert!(!typo.status.success());
    assert!(stderr(&typo).contains("listn"), "{}", stderr(&typo));

    let section = check("[providers.esimgo]\napi_key = \"k\"\n", &[]);
    assert!(!section.status.success());
    assert!(stderr(&section).contains("esimgo"), "{}", stderr(&section));

    let nested = check("", &[("SIMGATE_JOBS__RECONCILE_EVRY_SECS", "5")]);
    assert!(!nested.status.success());
    assert!(
        stderr(&nested).contains("reconcile_evry_secs"),
        "{}",
        stderr(&nested)
    );

    // Variables that share the prefix but name no setting are someone
    // else's (SIMGATE_CONFIG is simgate's own); real overrides apply.
    let valid = check(
        "listen = \"127.0.0.1:9000\"\n",
        &[
            ("SIMGATE_SOMETHING_ELSE", "1"),
            ("SIMGATE_JOBS__RECONCILE_EVERY_SECS", "7"),
        ],
    );
    assert!(valid.status.success(), "{}", stderr(&valid));
    assert!(stdout(&valid).contains("listen = \"127.0.0.1:9000\""));
    assert!(stdout(&valid).contains("reconcile_every_secs = 7"));
    let via_env = bare_simgate(dir.path())
        .env("SIMGATE_CONFIG", dir.path().join("simgate-test.toml"))
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(via_env.status.success(), "{}", stderr(&via_env));

    let missing = dir.path().join("missing.toml");
    for explicit in [
        bare_simgate(dir.path())
            .arg("--config")
            .arg(&missing)
            .args(["config", "check"])
            .output()
            .unwrap(),
        bare_simgate(dir.path())
            .env("SIMGATE_CONFIG", &missing)
            .arg("migrate")
            .output()
            .unwrap(),
    ] {
        assert!(!explicit.status.success());
        assert!(
            stderr(&explicit).contains(&missing.display().to_string()),
            "{}",
            stderr(&explicit)
        );
    }

    // Without --config, an absent simgate.toml is fine.
    let defaults = bare_simgate(dir.path())
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(defaults.status.success(), "{}", stderr(&defaults));

    let short_key = check("admin_api_key = \"short\"\n", &[]);
    assert!(!short_key.status.success());
    assert!(stderr(&short_key).contains("admin_api_key"));
}

#[tokio::test]
async fn config_check_redacts_every_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = [
        "op_secret_0123456789abcdefghij",
        "esimgo_secret_key",
        "c3Rvcnlfc2VjcmV0X2tleQ==",
        "story_webhook_secret",
        "simlocal_client_secret",
        "simlocal_webhook_key",
        "telnyx_secret_key",
        "onsim_secret_key",
        "sandbox_tenant_secret",
        "pg_password_secret",
    ];
    let toml = format!(
        r#"
database_url = "postgres://simgate:{}@db.internal:5432/simgate"
admin_api_key = "{}"

[providers.esim_go]
api_key = "{}"

[providers.esim_story]
access_key = "story-access"
secret_key = "{}"
webhook_secret = "{}"

[providers.sim_local]
base_url = "https://unite.example"
token_url = "https://unite.example/token"
client_id = "simgate"
client_secret = "{}"
webhook_api_key = "{}"

[providers.telnyx]
api_key = "{}"

[providers.onsim]
api_key = "{}"

[sandbox]
tenant_api_key = "{}"
"#,
        secrets[9],
        secrets[0],
        secrets[1],
        secrets[2],
        secrets[3],
        secrets[4],
        secrets[5],
        secrets[6],
        secrets[7],
        secrets[8],
    );
    let file = dir.path().join("secrets.toml");
    std::fs::write(&file, toml).unwrap();
    let checked = bare_simgate(dir.path())
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(checked.status.success(), "{}", stderr(&checked));
    let shown = format!("{}{}", stdout(&checked), stderr(&checked));
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
    }
    let printed = stdout(&checked);
    assert_eq!(printed.matches("[REDACTED]").count(), 9, "{printed}");
    assert!(printed.contains("postgres://simgate:REDACTED@db.internal:5432/simgate"));
    assert!(printed.contains("client_id = \"simgate\""), "{printed}");
}

/// Awaits the refusal of `key`, which another process revoked: the auth
/// cache's TTL (3 s by default) bounds how long it may still be accepted;
/// the poll allows for a slow machine on top.
async fn refused_within_the_cache_ttl(app: &AdminApp, key: &str) {
    eventually(Duration::from_secs(8), || async {
        (app.status_with(key).await == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_administered_from_the_cli_and_keys_stop_within_the_auth_cache_ttl() {
    let app = AdminApp::start().await;

    let created = app
        .cli()
        .args(["tenants", "create", "--name", "Acme Travel"])
        .output()
        .unwrap();
    let first_key = printed_key(&created);
    let id = stdout(&created)
        .lines()
        .find_map(|l| l.strip_prefix("tenant: "))
        .unwrap()
        .to_owned();
    assert_eq!(app.status_with(&first_key).await, StatusCode::OK);

    for (name, why) in [("Acme Travel", "already exists"), ("   ", "empty")] {
        let refused = app
            .cli()
            .args(["tenants", "create", "--name", name])
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{name:?} accepted");
        assert!(stderr(&refused).contains(why), "{}", stderr(&refused));
    }

    let listed = app.cli().args(["tenants", "list"]).output().unwrap();
    assert!(listed.status.success());
    let line = stdout(&listed);
    assert!(
        line.contains(&id) && line.contains("Acme Travel") && line.contains("enabled"),
        "{line}"
    );
    assert!(line.contains(&first_key[..12]), "{line}");
    assert!(!line.contains(&first_key), "a key is never listed whole");

    // Another process rotates the key: this instance remembers a key's
    // tenant for `[auth] cache_seconds` (3 s by default), so it refuses the
    // old key within that, not necessarily on its very next request.
    let rotated = app
        .cli()
        .args(["tenants", "rotate-key", "--id", &id])
        .output()
        .unwrap();
    let second_key = printed_key(&rotated);
    assert_eq!(app.status_with(&second_key).await, StatusCode::OK);
    refused_within_the_cache_ttl(&app, &first_key).await;

    let disabled = app
        .cli()
        .args(["tenants", "disable", "--id", &id])
        .output()
        .unwrap();
    assert!(disabled.status.success(), "{disabled:?}");
    assert!(stdout(&disabled).contains("disabled"));
    refused_within_the_cache_ttl(&app, &second_key).await;

    let unknown = app
        .cli()
        .args(["tenants", "disable", "--id", "ten_nobody"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("ten_nobody"));

    let help = app
        .cli()
        .args(["tenants", "rotate-key", "--help"])
        .output()
        .unwrap();
    assert!(stdout(&help).contains("Tenant id"), "{}", stdout(&help));
    app.app.stop().await;
}

#[tokio::test]
async fn tenants_are_administered_over_the_admin_api_with_the_operator_key() {
    let app = AdminApp::start().await;
    let path = "/admin/v1/tenants";

    let created = app
        .admin(OPERATOR_KEY, path, Some(json!({"name": " Globetrotter "})))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["tenant"]["name"], "Globetrotter");
    let id = created["tenant"]["id"].as_str().unwrap().to_owned();
    let key = created["api_key"].as_str().unwrap().to_owned();
    assert_eq!(app.status_with(&key).await, StatusCode::OK);

    // A tenant's key opens no admin route.
    assert_problem(
        app.admin(&key, path, None).await,
        StatusCode::FORBIDDEN,
        "operator_only",
    )
    .await;
    assert_problem(
        app.admin(&key, &format!("{path}/{id}/disable"), Some(json!({})))
            .await,
        StatusCode::FORBIDDEN,
        "operator_only",
    )
    .await;
    assert_problem(
        app.admin("nope", path, None).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    )
    .await;

    for (body, status, code) in [
        (
            json!({"name": "Globetrotter"}),
            StatusCode::CONFLICT,
            "tenant_name_taken",
        ),
        (
            json!({"name": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_tenant_name",
        ),
        (
            json!({"name": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_tenant_name",
        ),
    ] {
        assert_problem(
            app.admin(OPERATOR_KEY, path, Some(body)).await,
            status,
            code,
        )
        .await;
    }

    let listed: Value = app
        .admin(OPERATOR_KEY, path, None)
        .await
        .json()
        .await
        .unwrap();
    let tenants = listed["data"].as_array().unwrap();
    assert_eq!(tenants.len(), 1, "{listed}");
    assert_eq!(tenants[0]["id"], id.as_str());
    assert_eq!(tenants[0]["disabled_at"], Value::Null);

    let rotated = app
        .admin(
            OPERATOR_KEY,
            &format!("{path}/{id}/rotate-key"),
            Some(json!({})),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let new_key = rotated.json::<Value>().await.unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.status_with(&key).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.status_with(&new_key).await, StatusCode::OK);

    let disabled = app
        .admin(
            OPERATOR_KEY,
            &format!("{path}/{id}/disable"),
            Some(json!({})),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    assert!(disabled.json::<Value>().await.unwrap()["disabled_at"].is_string());
    assert_eq!(app.status_with(&new_key).await, StatusCode::UNAUTHORIZED);
    assert_problem(
        app.admin(
            OPERATOR_KEY,
            &format!("{path}/{id}/rotate-key"),
            Some(json!({})),
        )
        .await,
        StatusCode::CONFLICT,
        "tenant_disabled",
    )
    .await;
    assert_problem(
        app.admin(
            OPERATOR_KEY,
            &format!("{path}/ten_nobody/disable"),
            Some(json!({})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "tenant_not_found",
    )
    .await;

    // With no provider there is nothing to load: ready at once.
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.app.stop().await;
}
