//! Physical SIM card orders through the unified API against the Telnyx
//! sandbox: addresses, previews, the whole shipping lifecycle with events,
//! paging, and every bad input.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::events::{Receiver, register};
use crate::helpers::{Options, TestApp, assert_problem, eventually};

/// The Telnyx document's sample shipping address.
pub(crate) fn address() -> Value {
    json!({
        "first_name": "Ada",
        "last_name": "Lovelace",
        "business_name": "Analytical Engines Ltd",
        "street_address": "311 W Superior St",
        "extended_address": "Suite 504",
        "locality": "Chicago",
        "administrative_area": "IL",
        "postal_code": "60654",
        "country_code": "US"
    })
}

/// Creates the sample address, returning its id.
pub(crate) async fn create_address(app: &TestApp) -> String {
    let response = app.post("/v1/addresses", &address(), None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["provider"], "telnyx");
    assert_eq!(body["locality"], "Chicago");
    body["id"].as_str().unwrap().to_owned()
}

/// Places a SIM card order with an `Idempotency-Key`, answered 201.
pub(crate) async fn order(app: &TestApp, address_id: &str, quantity: u32, key: &str) -> Value {
    let response = app
        .post(
            "/v1/sim-orders",
            &json!({ "address_id": address_id, "quantity": quantity }),
            Some(key),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

pub(crate) async fn wait_for_status(app: &TestApp, id: &str, status: &str) -> Value {
    eventually(Duration::from_secs(60), || async {
        let order = app.get_json(&format!("/v1/sim-orders/{id}")).await;
        (order["status"] == status).then_some(order)
    })
    .await
}

#[tokio::test]
async fn an_order_ships_and_is_delivered_with_an_event_per_step() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&[]).await;
    register(&app, &receiver.url).await;
    let providers = app.get_json("/v1/providers").await;
    let telnyx = providers["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "telnyx")
        .unwrap();
    assert_eq!(telnyx["capabilities"], json!(["sim_card_orders"]));

    let address_id = create_address(&app).await;
    let preview = app
        .post(
            "/v1/sim-orders/preview",
            &json!({ "address_id": address_id, "quantity": 3 }),
            None,
        )
        .await;
    assert_eq!(preview.status(), StatusCode::OK);
    let preview: Value = preview.json().await.unwrap();
    let amount =
        |v: &Value| -> rust_decimal::Decimal { v["amount"].as_str().unwrap().parse().unwrap() };
    assert_eq!(
        amount(&preview["total_cost"]),
        amount(&preview["sim_cards_cost"]) + amount(&preview["shipping_cost"]),
        "exact: {preview}"
    );

    let placed = order(&app, &address_id, 3, "sim-1").await;
    assert_eq!(placed["quantity"], 3);
    assert_eq!(placed["provider"], "telnyx");
    assert!(placed["upstream_id"].is_string());
    assert_eq!(
        placed["cost"], preview["total_cost"],
        "the preview was the price"
    );
    let id = placed["id"].as_str().unwrap();

    // Same key, same body: the same order. Same key, other body: refused.
    let again = app
        .post(
            "/v1/sim-orders",
            &json!({ "address_id": address_id, "quantity": 3 }),
            Some("sim-1"),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], id);
    let other = app
        .post(
            "/v1/sim-orders",
            &json!({ "address_id": address_id, "quantity": 4 }),
            Some("sim-1"),
        )
        .await;
    assert_problem(other, StatusCode::CONFLICT, "idempotency_key_reused").await;

    let delivered = wait_for_status(&app, id, "delivered").await;
    assert!(
        delivered["tracking_url"]
            .as_str()
            .unwrap()
            .starts_with("http")
    );
    assert_eq!(app.telnyx.orders_created(), 1);

    let received = eventually(Duration::from_secs(30), || async {
        let types: BTreeSet<String> = receiver
            .received()
            .iter()
            .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
            .filter(|e| e["data"]["id"] == id)
            .filter_map(|e| e["type"].as_str().map(str::to_owned))
            .collect();
        types.contains("sim_order.delivered").then_some(types)
    })
    .await;
    // Each step once; polling may skip a step that was shorter than a pass.
    assert!(received.contains("sim_order.shipped") || received.contains("sim_order.delivered"));
    assert!(received.iter().all(|t| t.starts_with("sim_order.")));
    let events = app.get_json("/v1/events?limit=100").await;
    let delivered_events = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "sim_order.delivered")
        .count();
    assert_eq!(delivered_events, 1);
}

#[tokio::test]
async fn a_canceled_order_says_so() {
    let app = TestApp::spawn_with(Options {
        telnyx_step: Duration::from_secs(3600),
        ..Options::default()
    })
    .await;
    let address_id = create_address(&app).await;
    let placed = order(&app, &address_id, 1, "sim-cancel").await;
    assert_eq!(placed["status"], "pending");
    let upstream = placed["upstream_id"].as_str().unwrap();
    let canceled = reqwest::Client::new()
        .post(format!(
            "{}/__admin/sim_card_orders/{upstream}/cancel",
            app.telnyx_handle.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert!(canceled.status().is_success(), "{}", canceled.status());
    let id = placed["id"].as_str().unwrap();
    let order = wait_for_status(&app, id, "canceled").await;
    assert_eq!(order["provider_status"], "canceled");
    eventually(Duration::from_secs(30), || async {
        let events = app.get_json("/v1/events?limit=10").await;
        events["data"]
            .as_array()?
            .iter()
            .any(|e| e["type"] == "sim_order.canceled" && e["payload"]["data"]["id"] == id)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn hundreds_of_orders_page_by_number_with_a_status_filter() {
    let app = TestApp::spawn_with(Options {
        telnyx_step: Duration::from_secs(3600),
        ..Options::default()
    })
    .await;
    let address_id = create_address(&app).await;
    for i in 0..510u32 {
        order(&app, &address_id, 1 + i % 5, &format!("page-{i}")).await;
    }
    let mut seen = BTreeSet::new();
    for (page, expected) in [(1, 250), (2, 250), (3, 10), (4, 0)] {
        let body = app
            .get_json(&format!("/v1/sim-orders?page={page}&page_size=250"))
            .await;
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), expected, "page {page}");
        assert_eq!(body["total_results"], 510);
        assert_eq!(body["total_pages"], 3);
        assert_eq!(body["page"], page);
        seen.extend(data.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(seen.len(), 510, "no order twice, none missing");

    let pending = app
        .get_json("/v1/sim-orders?status=pending&page_size=1")
        .await;
    assert_eq!(pending["total_results"], 510);
    let shipped = app.get_json("/v1/sim-orders?status=shipped").await;
    assert_eq!(shipped["total_results"], 0);
    let first = app.get_json("/v1/sim-orders").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 20, "default size");
    assert_eq!(first["page_size"], 20);
    assert_eq!(app.telnyx.orders_created(), 510);

    for bad in [
        "page_size=0",
        "page_size=251",
        "page=0",
        "page=-1",
        "status=shipping",
        "sort=asc",
    ] {
        let response = app.get(&format!("/v1/sim-orders?{bad}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(
            ["invalid_page", "invalid_query"].contains(&body["code"].as_str().unwrap()),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn bad_sim_orders_are_refused_before_and_by_the_provider() {
    let app = TestApp::spawn_with(Options {
        telnyx_step: Duration::from_secs(3600),
        ..Options::default()
    })
    .await;
    for field in [
        "first_name",
        "last_name",
        "business_name",
        "street_address",
        "locality",
        "country_code",
    ] {
        let mut body = address();
        body.as_object_mut().unwrap().remove(field);
        let response = app.post("/v1/addresses", &body, None).await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "missing_field").await;
        assert!(problem["detail"].as_str().unwrap().contains(field));
    }
    let mut blank = address();
    blank["locality"] = json!("  ");
    let response = app.post("/v1/addresses", &blank, None).await;
    assert_problem(response, StatusCode::BAD_REQUEST, "missing_field").await;
    let mut bad_country = address();
    bad_country["country_code"] = json!("XX");
    let response = app.post("/v1/addresses", &bad_country, None).await;
    assert_problem(response, StatusCode::BAD_REQUEST, "invalid_country").await;

    let address_id = create_address(&app).await;
    for quantity in [0, 1001] {
        let body = json!({ "address_id": address_id, "quantity": quantity });
        let response = app.post("/v1/sim-orders", &body, None).await;
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        )
        .await;
        let response = app.post("/v1/sim-orders/preview", &body, None).await;
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        )
        .await;
    }
    let negative = app
        .post(
            "/v1/sim-orders",
            &json!({ "address_id": address_id, "quantity": -1 }),
            None,
        )
        .await;
    assert_problem(negative, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    // Someone else's address, or one never created, is not this tenant's.
    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other").await;
    let theirs = app
        .client
        .post(format!("{}/v1/sim-orders", app.address))
        .bearer_auth(&other_key)
        .json(&json!({ "address_id": address_id, "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_problem(theirs, StatusCode::NOT_FOUND, "address_not_found").await;
    let unknown = app
        .post(
            "/v1/sim-orders",
            &json!({ "address_id": "1293384261075731400", "quantity": 1 }),
            None,
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "address_not_found").await;

    let placed = order(&app, &address_id, 2, "mine").await;
    let id = placed["id"].as_str().unwrap();
    let theirs = app
        .client
        .get(format!("{}/v1/sim-orders/{id}", app.address))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    assert_problem(theirs, StatusCode::NOT_FOUND, "sim_order_not_found").await;
    let missing = app.get("/v1/sim-orders/so_nothing").await;
    assert_problem(missing, StatusCode::NOT_FOUND, "sim_order_not_found").await;

    // The provider's own refusal comes through with its code and detail:
    // the sandbox, like Telnyx, does not ship to embargoed countries.
    let mut embargoed = address();
    embargoed["country_code"] = json!("KP");
    let refused = app.post("/v1/addresses", &embargoed, None).await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "provider_rejected",
    )
    .await;
    assert_eq!(problem["provider_code"], "10015", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("KP"),
        "{problem}"
    );
}

#[tokio::test]
async fn an_order_whose_answer_was_lost_is_found_and_not_bought_twice() {
    let app = TestApp::spawn_with(Options {
        telnyx_step: Duration::from_secs(3600),
        reconcile_after_secs: 1,
        ..Options::default()
    })
    .await;
    let address_id = create_address(&app).await;
    let armed = app
        .client
        .post(format!("{}/__admin/faults", app.telnyx_handle.base_url()))
        .json(&json!({ "kind": "malformed", "path": "/sim_card_orders", "method": "POST" }))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), StatusCode::CREATED);

    let body = json!({ "address_id": address_id, "quantity": 7 });
    let lost = app.post("/v1/sim-orders", &body, Some("lost-1")).await;
    assert_eq!(lost.status(), StatusCode::ACCEPTED, "kept, to be settled");
    let lost: Value = lost.json().await.unwrap();
    assert_eq!(lost["status"], "submitting");
    let id = lost["id"].as_str().unwrap().to_owned();
    assert_eq!(app.telnyx.orders_created(), 1, "Telnyx did take it");

    // Retrying with the same key returns the same order, never a second purchase.
    let retried = app.post("/v1/sim-orders", &body, Some("lost-1")).await;
    assert_eq!(retried.status(), StatusCode::OK);
    assert_eq!(retried.json::<Value>().await.unwrap()["id"], id.as_str());

    let found = wait_for_status(&app, &id, "pending").await;
    assert!(found["upstream_id"].is_string(), "{found}");
    assert_eq!(found["quantity"], 7);
    assert_eq!(app.telnyx.orders_created(), 1);
}
