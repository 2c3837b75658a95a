//! Provider balances (issue 22, item 5), against the eSIM Go simulator's
//! prepaid balance, which its purchases draw down: the balance is read,
//! shown to the operator and read again after purchases; a balance below
//! the operator's threshold is told once per crossing to the operator's
//! endpoints and never to a tenant's; and routing skips a provider whose
//! balance cannot cover a sale, without calling it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate_domain::{CountryCode, ProductId, ProviderId};

use crate::console::sign_in;
use crate::events::{Receiver, register};
use crate::failover::quick;
use crate::helpers::{OPERATOR_KEY, Options, TestApp, assert_problem, eventually};
use crate::observability::{scrape, value};

const BALANCE: &str = "/admin/v1/providers/esim-go/balance";

async fn operator_get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.address))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap()
}

async fn operator_json(app: &TestApp, path: &str) -> Value {
    let response = operator_get(app, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// The amount of a `Money` JSON value, as a number to compare with the
/// simulator's float balance.
fn amount(money: &Value) -> f64 {
    money["amount"].as_str().unwrap().parse().unwrap()
}

/// The simulator's own balance, as its organisation shows it (two places).
async fn simulator_balance(app: &TestApp) -> f64 {
    let stats: Value = reqwest::get(format!("{}/__admin/stats", app.sandbox.handle.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (stats["balance"].as_f64().unwrap() * 100.0).round() / 100.0
}

/// Waits until simgate shows the simulator's current balance.
async fn shown_balance_matches(app: &TestApp) -> Value {
    let expected = simulator_balance(app).await;
    eventually(Duration::from_secs(20), || async {
        let shown = operator_json(app, BALANCE).await;
        let matches =
            shown["balance"].is_object() && (amount(&shown["balance"]) - expected).abs() < 0.001;
        matches.then_some(shown)
    })
    .await
}

/// Orders the cheapest Japanese eSIM Go product and waits for it.
async fn buy(app: &TestApp, key: &str) -> Value {
    let product = app.cheapest("JP").await;
    let order = app.order(&product, key).await;
    app.wait_for_order(order["id"].as_str().unwrap(), "completed")
        .await
}

#[tokio::test]
async fn the_balance_is_read_shown_and_read_again_after_a_purchase() {
    let app = TestApp::spawn().await;
    let first = shown_balance_matches(&app).await;
    assert_eq!(first["provider"], "esim-go");
    assert_eq!(
        first["balance"],
        json!({"amount": "1000000", "currency": "USD"})
    );
    assert_eq!(first["reason"], Value::Null);
    assert_eq!(first["low"], false);
    assert_eq!(first["spend"], json!([]));

    let order = buy(&app, "balance-1").await;
    let cost = amount(&order["unit_price"]);
    // The purchase drew the simulator's balance down; simgate reads it
    // again within a tick or two, not at the next scheduled read (300 s).
    let after = shown_balance_matches(&app).await;
    assert!(
        (amount(&after["balance"]) - (1_000_000.0 - cost)).abs() < 0.01,
        "{after}"
    );
    let spend = &after["spend"][0];
    assert_eq!(spend["purchases"], 1, "{after}");
    assert!((amount(&spend["total"]) - cost).abs() < 1e-9, "{after}");
    assert_eq!(spend["since_balance_read"]["amount"], "0", "{after}");
    assert!(
        after["read_at"].as_str().unwrap() > first["read_at"].as_str().unwrap(),
        "{after}"
    );

    let metrics = scrape(&app).await;
    let gauge = value(
        &metrics,
        "simgate_provider_balance",
        &[("provider", "esim-go"), ("currency", "USD")],
    );
    assert!(gauge.is_some_and(|g| g > 0.0), "{metrics}");

    // The console shows the operator the same balance and spend; a tenant
    // sees provider health only.
    let operator = sign_in(&app, OPERATOR_KEY).await;
    let page = operator
        .get("/console/providers")
        .await
        .text()
        .await
        .unwrap();
    let table = &page[page
        .find(r#"id="provider-balances""#)
        .expect("a balance table")..];
    let row = &table[table
        .find(r#"data-provider="esim-go""#)
        .expect("an eSIM Go row")..];
    let shown = after["balance"]["amount"].as_str().unwrap();
    assert!(row.contains(&format!(r#"data-balance="{shown}""#)), "{row}");
    assert!(row.contains(&format!("{shown} USD")), "{row}");
    let reseller = sign_in(&app, &app.api_key).await;
    let page = reseller
        .get("/console/providers")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"id="provider-health""#));
    assert!(!page.contains("provider-balances"), "{page}");

    // A provider that documents no balance, an unknown one, a tenant.
    let telnyx = operator_json(&app, "/admin/v1/providers/telnyx/balance").await;
    assert_eq!(telnyx["balance"], Value::Null);
    assert!(
        telnyx["reason"].as_str().unwrap().contains("no balance"),
        "{telnyx}"
    );
    let unknown = operator_get(&app, "/admin/v1/providers/nobody/balance").await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "provider_not_found").await;
    let tenant = app.get(BALANCE).await;
    assert_problem(tenant, StatusCode::FORBIDDEN, "operator_only").await;
}

/// The `provider.balance.low` events a receiver got.
fn balance_events(receiver: &Receiver) -> Vec<Value> {
    receiver
        .received()
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap())
        .filter(|body| body["type"] == "provider.balance.low")
        .collect()
}

#[tokio::test]
async fn a_low_balance_is_told_once_per_crossing_to_the_operator_only() {
    low_balance_is_told_once_per_crossing(None).await;
}

#[tokio::test]
async fn on_postgres_a_low_balance_is_told_once_per_crossing_to_the_operator_only() {
    low_balance_is_told_once_per_crossing(Some(crate::postgres::fresh_database().await)).await;
}

async fn low_balance_is_told_once_per_crossing(database_url: Option<String>) {
    let app = TestApp::spawn_with(Options {
        esim_go_balance_low: Some("1000"),
        database_url,
        ..Options::default()
    })
    .await;
    let operator = Receiver::start(&[]).await;
    let tenant = Receiver::start(&[]).await;
    let created = app
        .client
        .post(format!("{}/admin/v1/webhook-endpoints", app.address))
        .bearer_auth(OPERATOR_KEY)
        .json(&json!({ "url": operator.url }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    register(&app, &tenant.url).await;
    // Each side sees its own endpoint only.
    let listed = operator_json(&app, "/admin/v1/webhook-endpoints").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["url"], operator.url);
    let tenants_own = app.get_json("/v1/webhook-endpoints").await;
    assert_eq!(tenants_own["data"].as_array().unwrap().len(), 1);
    assert_eq!(tenants_own["data"][0]["url"], tenant.url);
    shown_balance_matches(&app).await;

    // Below the threshold: one event for the crossing ...
    app.sandbox.state.set_balance(500.0);
    buy(&app, "low-1").await;
    let low = shown_balance_matches(&app).await;
    assert_eq!(low["low"], true, "{low}");
    assert_eq!(low["low_threshold"], "1000");
    let first = eventually(Duration::from_secs(20), || async {
        balance_events(&operator).into_iter().next()
    })
    .await;
    assert_eq!(first["data"]["provider"], "esim-go");
    assert_eq!(
        first["data"]["threshold"],
        json!({"amount": "1000", "currency": "USD"})
    );
    assert!(amount(&first["data"]["balance"]) < 500.0, "{first}");
    // ... and none for another read still below it.
    buy(&app, "low-2").await;
    shown_balance_matches(&app).await;

    // Back above, then below again: a new crossing, a new event.
    app.sandbox.state.set_balance(5000.0);
    buy(&app, "low-3").await;
    let above = shown_balance_matches(&app).await;
    assert_eq!(above["low"], false, "{above}");
    app.sandbox.state.set_balance(400.0);
    buy(&app, "low-4").await;
    shown_balance_matches(&app).await;
    let events = eventually(Duration::from_secs(20), || async {
        let events = balance_events(&operator);
        events
            .iter()
            .any(|e| amount(&e["data"]["balance"]) < 400.0)
            .then_some(events)
    })
    .await;
    let balances: Vec<f64> = events
        .iter()
        .map(|e| amount(&e["data"]["balance"]))
        .collect();
    assert_eq!(events.len(), 2, "one event per crossing: {balances:?}");
    let ids: Vec<String> = operator.received().iter().map(|r| r.id.clone()).collect();
    assert_ne!(ids[0], ids[1]);

    // The tenant heard of its four orders, and of no balance.
    let received = tenant.wait_for(4).await;
    assert!(balance_events(&tenant).is_empty(), "{received:?}");
    let events = app.get_json("/v1/events?limit=100").await;
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] != "provider.balance.low"),
        "{events}"
    );
}

/// A Japanese offer sold by eSIM Go and by another provider, routed with
/// eSIM Go first; its eSIM Go product and the other provider.
async fn offer_with_esim_go_first(app: &TestApp) -> (String, ProductId, ProviderId) {
    let policy = json!({"strategy": "priority", "providers": ["esim-go"]});
    let response = app.send(reqwest::Method::PUT, "/v1/routing", &policy).await;
    assert_eq!(response.status(), StatusCode::OK);
    let services = app.app.services();
    let tenant = app.tenant_id().await;
    let japan = CountryCode::parse("JP").unwrap();
    for offer in services.offers(Some(japan)).await.unwrap() {
        let products = services
            .route_offer(&tenant, &offer.id)
            .await
            .unwrap()
            .products();
        if products.len() >= 2
            && products[0].provider == ProviderId::EsimGo
            && products[1].provider != ProviderId::EsimGo
        {
            return (
                offer.id.as_str().to_owned(),
                products[0].clone(),
                products[1].provider,
            );
        }
    }
    panic!("the sandbox catalogue has no Japan offer of eSIM Go and another provider");
}

#[tokio::test]
async fn routing_skips_a_provider_whose_balance_cannot_cover_the_sale() {
    let app = TestApp::spawn_with(Options {
        provider_balance_secs: 1,
        ..quick(None)
    })
    .await;
    let (offer, esim_go_product, other) = offer_with_esim_go_first(&app).await;
    app.sandbox.state.set_balance(0.0);
    eventually(Duration::from_secs(20), || async {
        let shown = operator_json(&app, BALANCE).await;
        (shown["balance"]["amount"] == "0").then_some(())
    })
    .await;
    let bought_before = app.sandbox.state.purchases();

    let response = app
        .post(
            "/v1/orders",
            &json!({ "offer_id": offer }),
            Some("skip-low"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let placed: Value = response.json().await.unwrap();
    let order = app
        .wait_for_order(placed["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(order["provider"], other.as_str());
    let skipped = &order["attempts"][0];
    assert_eq!(skipped["provider"], "esim-go", "{order}");
    assert_eq!(skipped["error_code"], "provider_balance_low", "{order}");
    assert_eq!(skipped["outcome"], "nothing_bought");

    // Pinned to eSIM Go: refused without calling it, retryable.
    let pinned = app
        .post(
            "/v1/orders",
            &json!({ "product_id": esim_go_product.to_string() }),
            Some("pinned-low"),
        )
        .await;
    let problem = assert_problem(
        pinned,
        StatusCode::SERVICE_UNAVAILABLE,
        "provider_balance_low",
    )
    .await;
    let id = problem["order_id"].as_str().unwrap();
    let failed = app.get_json(&format!("/v1/orders/{id}")).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["failure"]["code"], "provider_balance_low",
        "{failed}"
    );
    assert_eq!(failed["failure"]["retryable"], true);
    assert_eq!(app.sandbox.state.purchases(), bought_before);
}
