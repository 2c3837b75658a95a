//! Every fault the sandbox can inject, seen through the unified API: a
//! clear problem, the order kept in a recoverable state, and in the end
//! exactly one purchase.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, assert_problem};

fn quick() -> Options {
    Options {
        upstream_timeout_secs: 2,
        reconcile_after_secs: 3,
        ..Options::default()
    }
}

#[tokio::test]
async fn a_brief_503_is_retried_transparently() {
    let app = TestApp::spawn().await;
    app.sandbox
        .arm(json!({"kind": "status", "status": 503, "retry_after_secs": 0, "path": "/orders", "method": "POST"}))
        .await;
    let order = app.order(&app.cheapest("JP").await, "retry-503").await;
    assert_eq!(order["status"], "completed");
    assert_eq!(app.sandbox.state.purchases(), 1);
}

#[tokio::test]
async fn a_lasting_503_fails_retryably_and_the_same_key_succeeds_later() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    app.sandbox
        .arm(json!({"kind": "status", "status": 503, "retry_after_secs": 0, "times": 3, "path": "/orders", "method": "POST"}))
        .await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("down"),
        )
        .await;
    assert!(response.headers().contains_key("retry-after"));
    let problem = assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    assert_eq!(problem["order_status"], "failed");
    let id = problem["order_id"].as_str().unwrap().to_owned();
    let failed = app.get_json(&format!("/v1/orders/{id}")).await;
    assert_eq!(failed["failure"]["retryable"], true);
    assert_eq!(app.sandbox.state.purchases(), 0);

    let retried = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("down"),
        )
        .await;
    assert_eq!(retried.status(), StatusCode::CREATED);
    let retried: Value = retried.json().await.unwrap();
    assert_eq!(retried["id"], id.as_str());
    assert_eq!(retried["status"], "completed");
    assert_eq!(app.sandbox.state.purchases(), 1);
}

#[tokio::test]
async fn a_lasting_429_is_reported_as_upstream_rate_limiting() {
    let app = TestApp::spawn().await;
    app.sandbox
        .arm(json!({"kind": "status", "status": 429, "retry_after_secs": 30, "path": "/orders", "method": "POST"}))
        .await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": app.cheapest("JP").await }),
            Some("limited"),
        )
        .await;
    assert_eq!(response.headers()["retry-after"], "30");
    let problem = assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_rate_limited",
    )
    .await;
    assert_eq!(problem["order_status"], "failed");
    assert_eq!(app.sandbox.state.purchases(), 0);
}

#[tokio::test]
async fn a_500_leaves_the_order_to_the_reconciler_which_buys_once() {
    let app = TestApp::spawn_with(quick()).await;
    app.sandbox
        .arm(json!({"kind": "status", "status": 500, "path": "/orders", "method": "POST"}))
        .await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": app.cheapest("JP").await }),
            Some("five-hundred"),
        )
        .await;
    let problem = assert_problem(response, StatusCode::BAD_GATEWAY, "upstream_error").await;
    assert_eq!(problem["order_status"], "submitted");
    let order = app
        .wait_for_order(problem["order_id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(order["esims"].as_array().unwrap().len(), 1);
    assert_eq!(app.sandbox.state.purchases(), 1);
}

#[tokio::test]
async fn a_garbled_answer_is_reconciled_without_buying_again() {
    let app = TestApp::spawn_with(quick()).await;
    app.sandbox
        .arm(json!({"kind": "malformed", "path": "/orders", "method": "POST"}))
        .await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": app.cheapest("JP").await }),
            Some("garbled"),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::BAD_GATEWAY,
        "upstream_invalid_response",
    )
    .await;
    assert_eq!(app.sandbox.state.purchases(), 1);
    let order = app
        .wait_for_order(problem["order_id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(order["esims"].as_array().unwrap().len(), 1);
    assert_eq!(app.sandbox.state.purchases(), 1);
}

#[tokio::test]
async fn an_upstream_timeout_is_reconciled_without_buying_again() {
    let app = TestApp::spawn_with(quick()).await;
    app.sandbox
        .arm(json!({"kind": "timeout", "ms": 60000, "path": "/orders", "method": "POST"}))
        .await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": app.cheapest("JP").await }),
            Some("slow"),
        )
        .await;
    let problem = assert_problem(response, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
    assert_eq!(problem["order_status"], "submitted");
    let order = app
        .wait_for_order(problem["order_id"].as_str().unwrap(), "completed")
        .await;
    let iccid = order["esims"][0].as_str().unwrap();
    let esim = app.get_json(&format!("/v1/esims/{iccid}")).await;
    assert!(
        esim["activation_code"]
            .as_str()
            .unwrap()
            .starts_with("LPA:1$")
    );
    assert_eq!(app.sandbox.state.purchases(), 1);
}

#[tokio::test]
async fn latency_below_the_timeout_is_just_slow() {
    let app = TestApp::spawn().await;
    app.sandbox
        .arm(json!({"kind": "latency", "ms": 300, "path": "/orders", "method": "POST"}))
        .await;
    let order = app.order(&app.cheapest("JP").await, "latency").await;
    assert_eq!(order["status"], "completed");
}

#[tokio::test]
async fn usage_reports_upstream_failures_as_problems() {
    let app = TestApp::spawn().await;
    let order = app.order(&app.cheapest("JP").await, "usage-fault").await;
    let iccid = order["esims"][0].as_str().unwrap();
    app.sandbox
        .arm(json!({"kind": "status", "status": 500, "path": "/esims/", "method": "GET"}))
        .await;
    let response = app.get(&format!("/v1/esims/{iccid}/usage")).await;
    assert_problem(response, StatusCode::BAD_GATEWAY, "upstream_error").await;
    app.sandbox
        .arm(json!({"kind": "malformed", "path": "/esims/"}))
        .await;
    let response = app.get(&format!("/v1/esims/{iccid}/usage")).await;
    assert_problem(
        response,
        StatusCode::BAD_GATEWAY,
        "upstream_invalid_response",
    )
    .await;
    let ok = app.get(&format!("/v1/esims/{iccid}/usage")).await;
    assert_eq!(ok.status(), StatusCode::OK);
}
