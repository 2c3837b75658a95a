//! Provider health and its circuit breaker (issue 9), against the real
//! simulators with armed faults: consecutive 503s open a provider's
//! circuit, which `GET /v1/providers` and the metrics show; orders then
//! skip that provider without calling it; after the cool-down one probe
//! decides, and its success closes the circuit.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate::HealthSettings;
use simgate_domain::ProviderId;

use crate::failover::{
    Route, all_purchases, arm, disarm, lasting_503, order_offer, purchases, quick, route,
};
use crate::helpers::{Options, TestApp, assert_problem, eventually};
use crate::observability::{scrape, value};

/// Quick timeouts, and a breaker that opens after `failures` certain
/// failures in a row and stays open `cool_down_seconds`.
fn options(database_url: Option<String>, failures: u32, cool_down_seconds: u64) -> Options {
    Options {
        health: HealthSettings {
            consecutive_failures: failures,
            cool_down_seconds,
            ..HealthSettings::default()
        },
        ..quick(database_url)
    }
}

/// A provider's entry of `GET /v1/providers`.
async fn provider_health(app: &TestApp, provider: ProviderId) -> Value {
    let providers = app.get_json("/v1/providers").await;
    providers["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == provider.as_str())
        .unwrap()["health"]
        .clone()
}

/// The provider's circuit gauge as this app reports it.
async fn circuit_gauge(app: &TestApp, provider: ProviderId) -> Option<f64> {
    value(
        &scrape(app).await,
        "simgate_provider_circuit_state",
        &[("provider", provider.as_str())],
    )
}

async fn order_product(app: &TestApp, route: &Route, index: usize, key: &str) -> reqwest::Response {
    app.post(
        "/v1/orders",
        &json!({ "product_id": route.products[index].to_string() }),
        Some(key),
    )
    .await
}

#[tokio::test]
async fn consecutive_503s_open_the_circuit_orders_skip_it_and_a_probe_closes_it() {
    let app = TestApp::spawn_with(options(None, 3, 5)).await;
    let route = route(&app).await;
    let (down, next) = (route.first(), route.second());
    arm(&app, down, lasting_503()).await;

    // Three offer orders: each 503 from the first candidate fails over.
    for n in 0..3 {
        let response = order_offer(&app, &route.offer, &format!("health-{n}")).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let order: Value = response.json().await.unwrap();
        assert_eq!(order["attempts"][0]["error_code"], "upstream_unavailable");
    }
    let health = provider_health(&app, down).await;
    assert_eq!(health["circuit"], "open", "{health}");
    assert!(health["calls"].as_u64().unwrap() >= 3, "{health}");
    assert!(health["success_rate"].as_f64().unwrap() < 1.0, "{health}");
    assert!(health["p95_ms"].is_u64(), "{health}");
    assert_eq!(provider_health(&app, next).await["circuit"], "closed");
    assert_eq!(circuit_gauge(&app, down).await, Some(2.0));

    // The provider is healthy again, so any call to it would buy: only
    // the circuit keeps orders away from it now.
    disarm(&app, down).await;
    let response = order_offer(&app, &route.offer, "health-skipped").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let skipped: Value = response.json().await.unwrap();
    let skipped = app
        .wait_for_order(skipped["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(skipped["provider"], next.as_str());
    assert_eq!(skipped["attempts"], json!([]), "routing skipped it");
    let pinned = order_product(&app, &route, 0, "health-pinned").await;
    let problem = assert_problem(pinned, StatusCode::SERVICE_UNAVAILABLE, "circuit_open").await;
    assert_eq!(problem["order_status"], "pending", "kept, not failed");
    assert_eq!(purchases(&app, down).await, 0, "never called while open");

    // After the cool-down the reconciler submits the waiting order as the
    // half-open circuit's probe; it succeeds and closes the circuit.
    let order = app
        .wait_for_order(problem["order_id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(order["provider"], down.as_str());
    assert_eq!(provider_health(&app, down).await["circuit"], "closed");
    eventually(Duration::from_secs(5), || async {
        (circuit_gauge(&app, down).await == Some(0.0)).then_some(())
    })
    .await;
    assert_eq!(purchases(&app, down).await, 1);
    assert_eq!(all_purchases(&app).await, 5, "one purchase per order");
}

/// An order retried into a provider whose circuit opened meanwhile: the
/// attempt is skipped without a call, logged as `circuit_open`, and the
/// next candidate buys.
async fn a_retry_skips_an_open_circuit_and_logs_it(database_url: Option<String>) {
    let app = TestApp::spawn_with(options(database_url, 2, 60)).await;
    let route = route(&app).await;
    for provider in &route.providers {
        arm(&app, *provider, lasting_503()).await;
    }
    let response = order_offer(&app, &route.offer, "health-retry").await;
    let problem = assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    let id = problem["order_id"].as_str().unwrap().to_owned();
    // A second certain failure in a row opens the first provider's circuit.
    let pinned = order_product(&app, &route, 0, "health-second-503").await;
    assert_problem(
        pinned,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    assert_eq!(
        provider_health(&app, route.first()).await["circuit"],
        "open"
    );
    for provider in &route.providers {
        disarm(&app, *provider).await;
    }

    let response = order_offer(&app, &route.offer, "health-retry").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order = app.wait_for_order(&id, "completed").await;
    assert_eq!(order["provider"], route.second().as_str());
    let attempts = order["attempts"].as_array().unwrap();
    let skipped = attempts.last().unwrap();
    assert_eq!(skipped["provider"], route.first().as_str());
    assert_eq!(skipped["outcome"], "nothing_bought");
    assert_eq!(skipped["error_code"], "circuit_open");
    assert_eq!(purchases(&app, route.first()).await, 0);
    assert_eq!(all_purchases(&app).await, 1);
}

mod on_sqlite {
    #[tokio::test]
    async fn a_retry_skips_an_open_circuit_and_logs_it() {
        super::a_retry_skips_an_open_circuit_and_logs_it(None).await;
    }
}

mod on_postgres {
    #[tokio::test]
    async fn a_retry_skips_an_open_circuit_and_logs_it() {
        super::a_retry_skips_an_open_circuit_and_logs_it(Some(
            crate::postgres::fresh_database().await,
        ))
        .await;
    }
}

/// Issue 20: eSIM Go's own operations (here the operator's inventory)
/// were measured but never reached the circuit breaker. Now every call to
/// the provider counts: consecutive 503s on its inventory open its circuit,
/// which routing then honours for orders too.
#[tokio::test]
async fn failures_of_a_providers_own_operations_open_its_circuit() {
    let app = TestApp::spawn_with(options(None, 3, 60)).await;
    arm(
        &app,
        ProviderId::EsimGo,
        json!({"kind": "status", "status": 503, "retry_after_secs": 0, "times": 20,
               "path": "/inventory", "method": "GET"}),
    )
    .await;
    assert_eq!(
        provider_health(&app, ProviderId::EsimGo).await["circuit"],
        "closed"
    );
    for _ in 0..3 {
        let response = app
            .client
            .get(format!("{}/v1/providers/esim-go/inventory", app.address))
            .bearer_auth(crate::helpers::OPERATOR_KEY)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_server_error(), "{}", response.status());
    }
    let health = provider_health(&app, ProviderId::EsimGo).await;
    assert_eq!(health["circuit"], "open", "{health}");
    assert_eq!(circuit_gauge(&app, ProviderId::EsimGo).await, Some(2.0));
}
