//! The command line, run as the real binary.

use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdListener;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use simgate_domain::entities::ProductFilter;
use simgate_domain::orchestration::{RoutingPolicy, group_offers};
use simgate_domain::repository::{CatalogueRepository, RoutingRepository};
use simgate_domain::{CountryCode, ProviderId, TenantId};

use crate::helpers::Sandbox;
use crate::recovery::{run_simgate, simgate_command};

// Multi-threaded: the binary's blocking run must not starve the in-process sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_sync_reports_what_it_stored_and_fails_loudly() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");

    let migrated = simgate_command(&sandbox, &db, 5)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");

    let synced = simgate_command(&sandbox, &db, 5)
        .args(["catalogue", "sync"])
        .output()
        .unwrap();
    assert!(synced.status.success(), "{synced:?}");
    let stdout = String::from_utf8(synced.stdout).unwrap();
    let expected = format!("esim-go: stored {} products", sandbox.state.catalogue_len());
    assert!(stdout.contains(&expected), "{stdout}");

    sandbox
        .arm(json!({"kind": "status", "status": 500, "path": "/catalogue", "times": 10}))
        .await;
    let failed = simgate_command(&sandbox, &db, 5)
        .args(["catalogue", "sync", "--provider", "esim-go"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8(failed.stderr).unwrap();
    assert!(stderr.contains("esim-go: failed"), "{stderr}");

    let unknown = simgate_command(&sandbox, &db, 5)
        .args(["catalogue", "sync", "--provider", "acme"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8(unknown.stderr).unwrap().contains("acme"));
}

/// `simgate sandbox --provider …`: each simulator alone in its own process,
/// announcing where it listens, with its purchase list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_simulator_runs_alone_and_lists_its_purchases() {
    let dir = tempfile::tempdir().unwrap();
    // An empty configuration file, so no stray simgate.toml counts.
    let config = dir.path().join("empty.toml");
    std::fs::write(&config, "").unwrap();
    let sandbox = |provider: &str, port: u16| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_simgate"));
        command
            .args(["sandbox", "--provider", provider])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("SIMGATE_CONFIG", &config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    for provider in ["esim-go", "sim-local", "esim-story", "telnyx", "onsim"] {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = sandbox(provider, port).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let banner = tokio::task::spawn_blocking(move || BufReader::new(stderr).lines().next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            banner.contains(&format!("sandbox on http://127.0.0.1:{port}")),
            "{provider}: {banner}"
        );
        let listed: Value = reqwest::get(format!("http://127.0.0.1:{port}/__admin/purchases"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(listed, json!({"purchases": []}), "{provider}");
    }
    let refused = sandbox("telnyx", 0)
        .args(["--webhook-url", "http://127.0.0.1:9/hook"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8(refused.stderr)
            .unwrap()
            .contains("sends no webhooks")
    );
}

/// `simgate routing show`: the offer's candidates in the order a tenant's
/// order would try them now, and why, from the same database as `serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_show_explains_the_order_of_candidates() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");
    let run = |args: &[&str]| run_simgate(&sandbox, &db, args);
    assert!(run(&["migrate"]).0);
    assert!(run(&["catalogue", "sync"]).0);
    let (created, stdout, _) = run(&["tenants", "create", "--name", "router"]);
    assert!(created, "{stdout}");
    let tenant = stdout
        .lines()
        .find_map(|line| line.strip_prefix("tenant: "))
        .unwrap()
        .to_owned();

    // An offer of the synced catalogue, as the API would list it.
    let store = simgate_store::Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let filter = ProductFilter {
        country: Some(CountryCode::parse("JP").unwrap()),
        limit: 1,
        ..ProductFilter::default()
    };
    let (products, _) = store.search_products(&filter).await.unwrap();
    let offer = group_offers(&products).remove(0);
    let product = &offer.candidates[0];

    let (shown, stdout, stderr) = run(&[
        "routing",
        "show",
        "--tenant",
        &tenant,
        "--offer",
        offer.id.as_str(),
    ]);
    assert!(shown, "{stderr}");
    assert!(stdout.contains(offer.id.as_str()), "{stdout}");
    assert!(stdout.contains("strategy cheapest"), "{stdout}");
    // The cheapest Japan product ranks first (or ties with an equal cost).
    assert!(
        stdout
            .lines()
            .nth(2)
            .unwrap()
            .starts_with(&format!("#1 esim-go at {}: by cost\t", product.cost)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "esim-go at {}: by cost\t{}",
            product.cost, product.product_id
        )),
        "{stdout}"
    );

    let excluding = RoutingPolicy {
        exclude: vec![ProviderId::EsimGo],
        ..RoutingPolicy::default()
    };
    store
        .put_routing_policy(&TenantId::from_stored(tenant.clone()), &excluding)
        .await
        .unwrap();
    let (shown, stdout, stderr) = run(&[
        "routing",
        "show",
        "--tenant",
        &tenant,
        "--offer",
        offer.id.as_str(),
    ]);
    assert!(shown, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "skip esim-go: excluded by policy\t{}",
            product.product_id
        )),
        "{stdout}"
    );
    assert!(stderr.contains("no candidate would be tried"), "{stderr}");

    let (shown, _, stderr) = run(&[
        "routing",
        "show",
        "--tenant",
        &tenant,
        "--offer",
        "off_0000000000000000",
    ]);
    assert!(!shown);
    assert!(stderr.contains("off_0000000000000000"), "{stderr}");
    store.close().await;
}

/// `serve --sandbox` on a fresh machine: the demo tenant (USD) can buy
/// Sim Local's GBP products at once, since the sandbox seeds a GBP → USD
/// rate when the operator set none (issue 22: it could not before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_demo_tenant_buys_a_gbp_product_out_of_the_box() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (_serving, port) = crate::webhook_targets::serve_sandbox(&sandbox, &dir, |_| {});
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let product = crate::helpers::eventually(std::time::Duration::from_secs(60), || async {
        let page: Value = client
            .get(format!("{base}/v1/products?provider=sim-local&limit=1"))
            .bearer_auth("sk_sandbox_simgate")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        page["data"][0]["id"].as_str().map(str::to_owned)
    })
    .await;
    let ordered = client
        .post(format!("{base}/v1/orders"))
        .bearer_auth("sk_sandbox_simgate")
        .header("Idempotency-Key", "demo-gbp")
        .json(&json!({ "product_id": product }))
        .send()
        .await
        .unwrap();
    let status = ordered.status();
    let body: Value = ordered.json().await.unwrap();
    assert!(
        status == reqwest::StatusCode::CREATED || status == reqwest::StatusCode::ACCEPTED,
        "{status}: {body}"
    );
}
