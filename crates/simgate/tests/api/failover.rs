//! Safe failover between the candidates of an offer (issue 9), against the
//! real simulators with armed faults, on SQLite and on PostgreSQL: the next
//! provider is called only when the attempt certainly bought nothing, and
//! in the end exactly one purchase exists across every simulator.

use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate_domain::{CountryCode, ProductId, ProviderId};

use crate::helpers::{Options, TestApp, assert_problem};

/// An offer whose first two candidates, in routing order, are different
/// providers, the first one reconciling by lookup or by listing (so that
/// reconciliation can prove that nothing was bought).
pub(crate) struct Route {
    pub(crate) offer: String,
    pub(crate) providers: Vec<ProviderId>,
    /// The candidates' products, in routing order.
    pub(crate) products: Vec<ProductId>,
}

impl Route {
    pub(crate) fn first(&self) -> ProviderId {
        self.providers[0]
    }

    pub(crate) fn second(&self) -> ProviderId {
        self.providers[1]
    }
}

pub(crate) async fn route(app: &TestApp) -> Route {
    let services = app.app.services();
    let japan = CountryCode::parse("JP").unwrap();
    let tenant = app.tenant_id().await;
    for offer in services.offers(Some(japan)).await.unwrap() {
        if offer.candidates.len() < 2 {
            continue;
        }
        let products = services
            .route_offer(&tenant, &offer.id)
            .await
            .unwrap()
            .products();
        let providers: Vec<ProviderId> = products.iter().map(|p| p.provider).collect();
        if providers[0] != providers[1]
            && matches!(providers[0], ProviderId::EsimGo | ProviderId::SimLocal)
        {
            return Route {
                offer: offer.id.as_str().to_owned(),
                providers,
                products,
            };
        }
    }
    panic!("the sandbox catalogue has no Japan offer sold by two providers");
}

fn simulator(app: &TestApp, provider: ProviderId) -> String {
    match provider {
        ProviderId::EsimGo => app.sandbox.handle.base_url(),
        ProviderId::EsimStory => app.story_handle.base_url(),
        ProviderId::SimLocal => app.sim_local_handle.base_url(),
        other => panic!("{other} sells no eSIM offers"),
    }
}

pub(crate) async fn arm(app: &TestApp, provider: ProviderId, fault: Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/__admin/faults", simulator(app, provider)))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "arming {fault}");
}

pub(crate) async fn disarm(app: &TestApp, provider: ProviderId) {
    let response = reqwest::Client::new()
        .delete(format!("{}/__admin/faults", simulator(app, provider)))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

/// Purchases a simulator made, from its own ledger.
pub(crate) async fn purchases(app: &TestApp, provider: ProviderId) -> usize {
    let list: Value = reqwest::Client::new()
        .get(format!("{}/__admin/purchases", simulator(app, provider)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["purchases"].as_array().unwrap().len()
}

pub(crate) async fn all_purchases(app: &TestApp) -> usize {
    let mut total = 0;
    for provider in [
        ProviderId::EsimGo,
        ProviderId::EsimStory,
        ProviderId::SimLocal,
    ] {
        total += purchases(app, provider).await;
    }
    total
}

pub(crate) fn lasting_503() -> Value {
    json!({"kind": "status", "status": 503, "retry_after_secs": 0, "times": 20, "path": "/orders", "method": "POST"})
}

pub(crate) fn quick(database_url: Option<String>) -> Options {
    Options {
        upstream_timeout_secs: 2,
        reconcile_after_secs: 3,
        database_url,
        ..Options::default()
    }
}

pub(crate) async fn order_offer(app: &TestApp, offer: &str, key: &str) -> reqwest::Response {
    app.post("/v1/orders", &json!({ "offer_id": offer }), Some(key))
        .await
}

/// (a) A lasting 503 from the first candidate: the second one buys, once.
async fn unavailable_provider_fails_over(database_url: Option<String>) {
    let app = TestApp::spawn_with(quick(database_url)).await;
    let route = route(&app).await;
    arm(&app, route.first(), lasting_503()).await;

    let response = order_offer(&app, &route.offer, "failover-503").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let placed: Value = response.json().await.unwrap();
    let order = app
        .wait_for_order(placed["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(order["offer_id"], route.offer.as_str());
    assert_eq!(order["provider"], route.second().as_str());
    let attempts = order["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["provider"], route.first().as_str());
    assert_eq!(attempts[0]["outcome"], "nothing_bought");
    assert_eq!(attempts[0]["error_code"], "upstream_unavailable");
    assert_eq!(purchases(&app, route.first()).await, 0);
    assert_eq!(purchases(&app, route.second()).await, 1);
    assert_eq!(all_purchases(&app).await, 1);
}

/// (b) The first candidate sells, then its answer times out: the sale is
/// adopted by reconciliation and the second candidate is never called.
async fn timeout_after_a_sale_is_adopted(database_url: Option<String>) {
    let app = TestApp::spawn_with(quick(database_url)).await;
    let route = route(&app).await;
    arm(
        &app,
        route.first(),
        json!({"kind": "timeout", "path": "/orders", "method": "POST"}),
    )
    .await;

    let response = order_offer(&app, &route.offer, "failover-sold").await;
    let problem = assert_problem(response, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
    let order = app
        .wait_for_order(problem["order_id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(order["provider"], route.first().as_str());
    assert_eq!(order["attempts"], json!([]));
    assert_eq!(purchases(&app, route.first()).await, 1);
    assert_eq!(purchases(&app, route.second()).await, 0);
    assert_eq!(all_purchases(&app).await, 1);
}

/// (c) The first candidate times out without selling: only once
/// reconciliation proved that, the second candidate buys.
async fn timeout_without_a_sale_fails_over_after_reconciliation(database_url: Option<String>) {
    let app = TestApp::spawn_with(quick(database_url)).await;
    let route = route(&app).await;
    // The answer comes far later than the client waits; dropping the
    // request cancels it before the simulator processes it.
    arm(
        &app,
        route.first(),
        json!({"kind": "latency", "ms": 60000, "path": "/orders", "method": "POST"}),
    )
    .await;

    let response = order_offer(&app, &route.offer, "failover-unsold").await;
    let problem = assert_problem(response, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
    assert_eq!(problem["order_status"], "submitted");
    let order = app
        .wait_for_order(problem["order_id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(order["provider"], route.second().as_str());
    let attempts = order["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["provider"], route.first().as_str());
    assert_eq!(attempts[0]["outcome"], "proved_nothing");
    assert_eq!(purchases(&app, route.first()).await, 0);
    assert_eq!(purchases(&app, route.second()).await, 1);
    assert_eq!(all_purchases(&app).await, 1);
}

/// (d) Every candidate down: 503 with the order kept; once the providers
/// are back, the same request completes it, from the first candidate.
async fn every_candidate_down_keeps_the_order(database_url: Option<String>) {
    let app = TestApp::spawn_with(quick(database_url)).await;
    let route = route(&app).await;
    for provider in &route.providers {
        arm(&app, *provider, lasting_503()).await;
    }

    let response = order_offer(&app, &route.offer, "failover-down").await;
    let problem = assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    assert_eq!(problem["order_status"], "failed");
    let id = problem["order_id"].as_str().unwrap().to_owned();
    let kept = app.get_json(&format!("/v1/orders/{id}")).await;
    assert_eq!(kept["failure"]["retryable"], true);
    assert_eq!(
        kept["attempts"].as_array().unwrap().len(),
        route.providers.len() - 1
    );
    assert_eq!(all_purchases(&app).await, 0);

    for provider in &route.providers {
        disarm(&app, *provider).await;
    }
    let response = order_offer(&app, &route.offer, "failover-down").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let retried: Value = response.json().await.unwrap();
    assert_eq!(retried["id"], id.as_str());
    let order = app.wait_for_order(&id, "completed").await;
    assert_eq!(order["provider"], route.first().as_str());
    assert_eq!(purchases(&app, route.first()).await, 1);
    assert_eq!(all_purchases(&app).await, 1);
}

macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(None).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(Some(crate::postgres::fresh_database().await)).await;
                }
            )*
        }
    };
}

on_both_databases!(
    unavailable_provider_fails_over,
    timeout_after_a_sale_is_adopted,
    timeout_without_a_sale_fails_over_after_reconciliation,
    every_candidate_down_keeps_the_order,
);
