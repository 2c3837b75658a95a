//! `simgate reconcile` (issue 22, item 6), run as the real binary against
//! the eSIM Go simulator: one purchase made through simgate and one made
//! behind its back (straight at the simulator) show exactly one mismatch,
//! from the simulator's purchase list and from eSIM Go's own order list.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Sandbox, eventually};
use crate::recovery::{Binary, run_simgate};

// Multi-threaded: the binary's blocking run must not starve the in-process sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_made_outside_simgate_is_the_one_mismatch() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");
    let key = crate::recovery::create_funded_tenant(&sandbox, &db, "audit");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();

    // One order through simgate.
    let server = Binary::serve(&sandbox, &db, 5).await;
    let product = server.first_product(&key, "JP").await;
    let client = reqwest::Client::new();
    let order: Value = client
        .post(format!("{}/v1/orders", server.address))
        .bearer_auth(&key)
        .header("Idempotency-Key", "audit-1")
        .json(&json!({ "product_id": product }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "completed", "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(5), || async {
        (sandbox.state.purchases() == 1).then_some(())
    })
    .await;
    drop(server);

    // Nothing is amiss yet, by either list.
    let from = ["reconcile", "--provider", "esim-go", "--from", &today];
    let admin = sandbox.handle.base_url();
    let with_admin = [&from[..], &["--sandbox-admin", &admin]].concat();
    let (clean, stdout, stderr) = run_simgate(&sandbox, &db, &with_admin);
    assert!(clean, "{stdout}{stderr}");
    assert_eq!(stdout, "1 matched, 0 mismatches\n");

    // One purchase straight at the simulator, with simgate's own key.
    let sku = product.strip_prefix("esim-go:").unwrap();
    let direct: Value = client
        .post(format!("{}/orders", sandbox.handle.base_url()))
        .header("X-API-Key", &sandbox.api_key)
        .json(&json!({
            "type": "transaction",
            "assign": true,
            "order": [{"type": "bundle", "item": sku, "quantity": 1}],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reference = direct["orderReference"].as_str().unwrap();

    for args in [&with_admin[..], &from[..]] {
        let (clean, stdout, stderr) = run_simgate(&sandbox, &db, args);
        assert!(!clean, "a mismatch fails the command: {stdout}");
        assert!(stderr.contains("1 mismatches"), "{stderr}");
        assert_eq!(
            stdout,
            format!(
                "unlinked {reference}: bought upstream, linked to no order\n\
                 1 matched, 1 mismatches\n"
            ),
            "{args:?} (order {id})"
        );
    }

    let (ok, _, stderr) = run_simgate(
        &sandbox,
        &db,
        &["reconcile", "--provider", "esim-go", "--from", "yesterday"],
    );
    assert!(!ok);
    assert!(stderr.contains("--from"), "{stderr}");
}
