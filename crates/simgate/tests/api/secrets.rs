//! Secrets never reach the logs, even at debug level and on failures.

use std::fs::File;
use std::process::Stdio;

use serde_json::json;
use simgate_sandbox::esim_go::SandboxConfig;

use crate::helpers::Sandbox;
use crate::recovery::{Binary, simgate_command};

const PROVIDER_KEY: &str = "esimgo-live-7f3a9c1e5b2d4e6f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_and_tenant_keys_stay_out_of_the_log() {
    let sandbox = Sandbox::start_with(SandboxConfig {
        api_key: PROVIDER_KEY.to_owned(),
        ..SandboxConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");
    let created = simgate_command(&sandbox, &db, 5)
        .args(["tenants", "create", "--name", "secretive"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(created.stdout).unwrap();
    let tenant_key = stdout
        .lines()
        .find_map(|l| l.strip_prefix("api key: "))
        .unwrap()
        .to_owned();

    let log_path = dir.path().join("simgate.log");
    let log = File::create(&log_path).unwrap();
    let app = Binary::serve_with_log(&sandbox, &db, 5, Stdio::from(log), "debug").await;
    let client = reqwest::Client::new();
    let product = app.first_product(&tenant_key, "JP").await;
    // A success, a provider refusal, a provider failure and a bad key.
    for fault in [
        None,
        Some(json!({"kind": "status", "status": 403})),
        Some(json!({"kind": "status", "status": 500})),
    ] {
        if let Some(fault) = fault {
            sandbox.arm(fault).await;
        }
        client
            .post(format!("{}/v1/orders", app.address))
            .bearer_auth(&tenant_key)
            .json(&json!({ "product_id": product }))
            .send()
            .await
            .unwrap();
    }
    client
        .get(format!("{}/v1/products", app.address))
        .bearer_auth(format!("{tenant_key}x"))
        .send()
        .await
        .unwrap();
    app.crash();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("order"), "the log was written: {log}");
    assert!(!log.contains(PROVIDER_KEY), "provider key leaked");
    assert!(!log.contains(&tenant_key), "tenant key leaked");
}

const OPERATOR_KEY: &str = "op_live_9b8a7c6d5e4f3a2b1c0d9e8f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_key_stays_out_of_the_log() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");
    let log_path = dir.path().join("simgate.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = simgate_command(&sandbox, &db, 5)
        .env("SIMGATE_ADMIN_API_KEY", OPERATOR_KEY)
        .env("SIMGATE_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "debug")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::from(File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    crate::helpers::eventually(std::time::Duration::from_secs(60), || async {
        let response = client.get(format!("{address}/healthz")).send().await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    // Accepted, refused as a near miss, and used on a tenant route.
    let metrics = client
        .get(format!("{address}/metrics"))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), reqwest::StatusCode::OK);
    for key in [format!("{OPERATOR_KEY}0"), OPERATOR_KEY.to_owned()] {
        client
            .get(format!("{address}/v1/orders"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        client
            .get(format!("{address}/v1/groups"))
            .header("X-API-Key", &key)
            .send()
            .await
            .unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("accepting connections"),
        "the log was written: {log}"
    );
    assert!(!log.contains(OPERATOR_KEY), "operator key leaked");
}
