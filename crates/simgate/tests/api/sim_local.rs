//! Sim Local through the unified API: asynchronous orders completed by the
//! fulfilment webhook or, with webhooks off, by polling.

use reqwest::StatusCode;
use serde_json::{Value, json};

use std::time::Duration;

use simgate_domain::ProviderId;

use crate::helpers::{Options, TestApp, assert_problem, eventually};

#[tokio::test]
async fn an_order_completes_by_webhook_with_its_install_details() {
    let app = TestApp::spawn().await;
    let product = app.cheapest_from("sim-local", "GB").await;
    let placed = app.order(&product, "sl-1").await;
    assert_eq!(placed["status"], "fulfilling");
    assert_eq!(placed["provider_status"], "CREATED");
    let done = app
        .wait_for_order(placed["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(done["provider_status"], "COMPLETED");
    let iccid = done["esims"][0].as_str().unwrap();
    let esim = app.get_json(&format!("/v1/esims/{iccid}")).await;
    assert!(
        esim["activation_code"]
            .as_str()
            .unwrap()
            .starts_with("LPA:1$smdp.sandbox.sim-local")
    );
    assert_eq!(app.sim_local.purchases(), 1);
    assert_eq!(
        app.sim_local.tokens_issued(),
        1,
        "one token serves every call"
    );
}

#[tokio::test]
async fn with_webhooks_off_orders_complete_by_polling_and_failures_surface() {
    let app = TestApp::spawn().await;
    app.sim_local.set_webhook_url(None);
    let product = app.cheapest_from("sim-local", "JP").await;
    let placed = app.order(&product, "sl-poll").await;
    let done = app
        .wait_for_order(placed["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(done["esims"].as_array().unwrap().len(), 1);
    assert_eq!(app.sim_local.webhooks_delivered(), 0);

    let failing = app.order("sim-local:sl-fail-0000", "sl-fail").await;
    let failed = app
        .wait_for_order(failing["id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(failed["provider_status"], "FAILED");

    let two = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product, "quantity": 2 }),
            Some("sl-two"),
        )
        .await;
    assert_problem(two, StatusCode::BAD_GATEWAY, "upstream_rejected").await;
}

#[tokio::test]
async fn an_unverified_webhook_prompts_a_poll_of_the_provider() {
    // No scheduled polling after start and no genuine webhooks: only the
    // forged webhook can make simgate look at the order again.
    let app = TestApp::spawn_with(Options {
        reconcile_every_secs: 3600,
        ..Options::default()
    })
    .await;
    app.sim_local.set_webhook_url(None);
    let product = app.cheapest_from("sim-local", "DE").await;
    let placed = app.order(&product, "sl-forged").await;
    assert_eq!(placed["status"], "fulfilling");
    let id = placed["id"].as_str().unwrap();
    let upstream = placed["upstream_reference"].as_str().unwrap();
    // Let the provider finish first, seen through the connector itself.
    let connector = app
        .app
        .services()
        .connectors
        .get(ProviderId::SimLocal)
        .unwrap();
    eventually(Duration::from_secs(30), || async {
        let upstream_order = connector.fetch_order(upstream).await.ok()?;
        (upstream_order.provider_status == "COMPLETED").then_some(())
    })
    .await;
    assert_eq!(
        app.get_json(&format!("/v1/orders/{id}")).await["status"],
        "fulfilling"
    );
    let forged = app
        .client
        .post(format!("{}/v1/webhooks/sim-local", app.address))
        .header("X-API-Key", "forged")
        .json(&json!({"order_id": upstream, "status": "FAILED"}))
        .send()
        .await
        .unwrap();
    assert_problem(forged, StatusCode::UNAUTHORIZED, "webhook_unverified").await;
    // The payload said FAILED; the provider, asked, says COMPLETED.
    let done = app.wait_for_order(id, "completed").await;
    assert_eq!(done["provider_status"], "COMPLETED");
}

#[tokio::test]
async fn webhooks_are_verified_and_only_prompt_a_fetch() {
    let app = TestApp::spawn().await;
    let product = app.cheapest_from("sim-local", "FR").await;
    let placed = app.order(&product, "sl-hook").await;
    let done = app
        .wait_for_order(placed["id"].as_str().unwrap(), "completed")
        .await;
    let upstream = done["upstream_reference"].as_str().unwrap().to_owned();
    let url = format!("{}/v1/webhooks/sim-local", app.address);
    let send = |key: Option<&'static str>, body: Value| {
        let mut request = app.client.post(&url).json(&body);
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        request.send()
    };
    // A forged webhook claiming failure: refused, and the order unchanged.
    let forged = send(
        Some("guess"),
        json!({"order_id": upstream, "status": "FAILED"}),
    )
    .await
    .unwrap();
    assert_problem(forged, StatusCode::UNAUTHORIZED, "webhook_unverified").await;
    let missing = send(None, json!({"order_id": upstream, "status": "FAILED"}))
        .await
        .unwrap();
    assert_problem(missing, StatusCode::UNAUTHORIZED, "webhook_unverified").await;
    // A genuine key with a lying payload: simgate asks the provider, which says COMPLETED.
    let key = "sandbox-sim-local-webhook-key";
    let lying = send(
        Some(key),
        json!({"order_id": upstream, "status": "REFUNDED"}),
    )
    .await
    .unwrap();
    assert_eq!(lying.status(), StatusCode::OK);
    assert_eq!(
        app.get_json(&format!("/v1/orders/{}", done["id"].as_str().unwrap()))
            .await["status"],
        "completed"
    );
    let again = send(
        Some(key),
        json!({"order_id": upstream, "status": "REFUNDED"}),
    )
    .await
    .unwrap();
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");
    let unknown = send(
        Some(key),
        json!({"order_id": "nope", "status": "COMPLETED"}),
    )
    .await
    .unwrap();
    assert_problem(unknown, StatusCode::NOT_FOUND, "order_not_found").await;
    let garbage = app
        .client
        .post(&url)
        .header("X-API-Key", key)
        .body("[1,2]")
        .send()
        .await
        .unwrap();
    assert_problem(garbage, StatusCode::BAD_REQUEST, "invalid_webhook").await;
}

#[tokio::test]
async fn a_lost_answer_is_found_by_our_reference_and_not_bought_again() {
    let app = TestApp::spawn_with(Options {
        upstream_timeout_secs: 1,
        reconcile_after_secs: 2,
        ..Options::default()
    })
    .await;
    let fault = json!({"kind": "timeout", "ms": 60000, "path": "/orders", "method": "POST"});
    let armed = app
        .client
        .post(format!(
            "{}/__admin/faults",
            app.sim_local_handle.base_url()
        ))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), StatusCode::CREATED);
    let product = app.cheapest_from("sim-local", "ES").await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("sl-lost"),
        )
        .await;
    let problem = assert_problem(response, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
    let done = app
        .wait_for_order(problem["order_id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(done["esims"].as_array().unwrap().len(), 1);
    assert_eq!(app.sim_local.purchases(), 1);
}

#[tokio::test]
async fn a_caller_may_wait_for_an_asynchronous_order_to_finish() {
    let app = TestApp::spawn().await;
    let product = app.cheapest_from("sim-local", "IT").await;
    let waited = app
        .post(
            "/v1/orders?wait=20s",
            &json!({ "product_id": product }),
            Some("sl-wait"),
        )
        .await;
    assert_eq!(waited.status(), StatusCode::CREATED);
    let order: Value = waited.json().await.unwrap();
    assert_eq!(order["status"], "completed");
    assert_eq!(order["esims"].as_array().unwrap().len(), 1);

    let at_once = app
        .post(
            "/v1/orders?wait=0",
            &json!({ "product_id": product }),
            Some("sl-now"),
        )
        .await;
    let order: Value = at_once.json().await.unwrap();
    assert_eq!(order["status"], "fulfilling");

    for wait in ["forever", "61s", "2h", "-1s", "1.5s"] {
        let response = app
            .post(
                &format!("/v1/orders?wait={wait}"),
                &json!({ "product_id": product }),
                None,
            )
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    assert_eq!(app.sim_local.purchases(), 2);
}
