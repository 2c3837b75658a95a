//! eSIM Story through the unified API: orders fulfilled by webhook,
//! webhooks verified, deduplicated and never trusted unverified.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, assert_problem, eventually};

const SECRET_HEADER: &str = "X-Esim-Story-Webhook-Secret";
const SECRET: &str = "sandbox-story-webhook-secret";

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Value) {
    let response = reqwest::Client::new()
        .request(
            method,
            format!("{}/__admin/{path}", app.story_handle.base_url()),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

async fn webhook(app: &TestApp, secret: Option<&str>, body: &str) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/v1/webhooks/esim-story", app.address))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(secret) = secret {
        request = request.header(SECRET_HEADER, secret);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn an_order_is_completed_by_its_webhooks_and_redeliveries_change_nothing() {
    let app = TestApp::spawn().await;
    let providers = app.get_json("/v1/providers").await;
    let story = &providers["data"][1];
    assert_eq!(story["id"], "esim-story");
    assert!(
        story["capabilities"]
            .as_array()
            .unwrap()
            .contains(&"webhooks".into())
    );

    let product = app.cheapest_from("esim-story", "KR").await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product, "quantity": 2 }),
            Some("story-1"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();
    let done = app.wait_for_order(&id, "completed").await;
    let esims = done["esims"].as_array().unwrap().clone();
    assert_eq!(esims.len(), 2);

    let esim = app
        .get_json(&format!("/v1/esims/{}", esims[0].as_str().unwrap()))
        .await;
    assert!(
        esim["activation_code"]
            .as_str()
            .unwrap()
            .starts_with("LPA:1$rsp.sandbox.esim-story")
    );
    assert_eq!(esim["provider"], "esim-story");

    // The provider sends both webhooks again: nothing changes.
    admin(
        &app,
        reqwest::Method::POST,
        "redeliver",
        json!({ "external_order_id": id }),
    )
    .await;
    eventually(Duration::from_secs(10), || async {
        (app.story.delivered() >= 4).then_some(())
    })
    .await;
    let again = app.get_json(&format!("/v1/orders/{id}")).await;
    assert_eq!(again["esims"], done["esims"]);
    assert_eq!(again["updated_at"], done["updated_at"]);
    assert_eq!(app.story.purchases(), 1);
}

#[tokio::test]
async fn unverifiable_and_unusable_webhooks_are_refused() {
    let app = TestApp::spawn().await;
    let body = json!({
        "topup_id": "forged-1", "option_id": "x", "iccid": "8943108167001960542",
        "smdp": "evil.example", "activate_code": "EVIL", "external_order_id": "ord_anything"
    })
    .to_string();
    assert_problem(
        webhook(&app, None, &body).await,
        StatusCode::UNAUTHORIZED,
        "webhook_unverified",
    )
    .await;
    assert_problem(
        webhook(&app, Some("guess"), &body).await,
        StatusCode::UNAUTHORIZED,
        "webhook_unverified",
    )
    .await;
    assert_problem(
        webhook(&app, Some(SECRET), "{not json").await,
        StatusCode::BAD_REQUEST,
        "invalid_webhook",
    )
    .await;
    let bad_iccid = body.replace("8943108167001960542", "8943108167001960543");
    assert_problem(
        webhook(&app, Some(SECRET), &bad_iccid).await,
        StatusCode::BAD_REQUEST,
        "invalid_webhook",
    )
    .await;
    assert_problem(
        webhook(&app, Some(SECRET), &body).await,
        StatusCode::NOT_FOUND,
        "order_not_found",
    )
    .await;
    // The same delivery again is tried again (an unmatched webhook stays in
    // the inbox until its order is known or it is given up), and still
    // finds no order.
    assert_problem(
        webhook(&app, Some(SECRET), &body).await,
        StatusCode::NOT_FOUND,
        "order_not_found",
    )
    .await;

    let unknown = app
        .client
        .post(format!("{}/v1/webhooks/acme", app.address))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(unknown, StatusCode::BAD_REQUEST, "unknown_provider").await;
}

#[tokio::test]
async fn a_lost_answer_is_placed_again_without_buying_twice() {
    let app = TestApp::spawn_with(Options {
        upstream_timeout_secs: 1,
        reconcile_after_secs: 2,
        ..Options::default()
    })
    .await;
    admin(&app, reqwest::Method::DELETE, "webhook", json!({})).await;
    admin(
        &app,
        reqwest::Method::POST,
        "faults",
        json!({"kind": "timeout", "ms": 60000, "path": "/api/v1/api_partner/orders"}),
    )
    .await;
    let product = app.cheapest_from("esim-story", "JP").await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("story-lost"),
        )
        .await;
    let problem = assert_problem(response, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
    let id = problem["order_id"].as_str().unwrap().to_owned();

    // Placed again by the reconciler: eSIM Story says "already taken".
    let fulfilling = app.wait_for_order(&id, "fulfilling").await;
    assert_eq!(fulfilling["upstream_reference"], id.as_str());
    assert_eq!(app.story.purchases(), 1);

    // Webhooks switched back on: the waiting eSIM arrives.
    let url = simgate::webhook_url(&app.app, simgate_domain::ProviderId::EsimStory);
    admin(
        &app,
        reqwest::Method::POST,
        "webhook",
        json!({ "url": url }),
    )
    .await;
    let done = app.wait_for_order(&id, "completed").await;
    assert_eq!(done["esims"].as_array().unwrap().len(), 1);
    assert_eq!(app.story.purchases(), 1);
}
