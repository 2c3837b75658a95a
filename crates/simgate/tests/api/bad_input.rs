use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn missing_and_wrong_api_keys_are_refused() {
    let app = TestApp::spawn().await;
    let url = format!("{}/v1/products", app.address);
    let none = app.client.get(&url).send().await.unwrap();
    assert_problem(none, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    let wrong = app
        .client
        .get(&url)
        .bearer_auth("sk_live_nope")
        .send()
        .await
        .unwrap();
    assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let header = app
        .client
        .get(&url)
        .header("X-API-Key", &app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_order_bodies_are_problems() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    let url = format!("{}/v1/orders", app.address);

    let not_json = app
        .client
        .post(&url)
        .bearer_auth(&app.api_key)
        .header("content-type", "application/json")
        .body("{\"product_id\": ")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, StatusCode::BAD_REQUEST, "malformed_json").await;

    let no_type = app
        .client
        .post(&url)
        .bearer_auth(&app.api_key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(
        no_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let huge = "x".repeat(100_000);
    let too_big = app
        .post("/v1/orders", &json!({ "product_id": huge }), None)
        .await;
    assert_problem(too_big, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;

    for (body, status, code) in [
        // Neither a product nor an offer: the order names nothing to buy.
        (
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "product_or_offer_required",
        ),
        (
            json!({ "product_id": 5 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({ "product_id": product, "colour": "red" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({ "product_id": product, "quantity": -1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({ "product_id": product, "quantity": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({ "product_id": product, "quantity": 101 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({ "product_id": "esim_1GB" }),
            StatusCode::BAD_REQUEST,
            "invalid_product_id",
        ),
        (
            json!({ "product_id": "acme:esim_1GB" }),
            StatusCode::BAD_REQUEST,
            "unknown_provider",
        ),
        (
            json!({ "product_id": "esim-go:esim_404GB_7D_JP_V2" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_product",
        ),
    ] {
        let response = app.post("/v1/orders", &body, None).await;
        assert_problem(response, status, code).await;
    }
    let bad_key = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("bad key with spaces"),
        )
        .await;
    assert_problem(bad_key, StatusCode::BAD_REQUEST, "invalid_idempotency_key").await;
    assert_eq!(app.sandbox.state.purchases(), 0);
}

#[tokio::test]
async fn bad_iccids_are_problems() {
    let app = TestApp::spawn().await;
    for (iccid, code) in [
        ("89441234", "invalid_iccid"),
        ("894400000000000000000001", "invalid_iccid"),
        ("8944abc0000000000001", "invalid_iccid"),
        ("1944000000000000001", "invalid_iccid"),
        ("8943108167001960543", "invalid_iccid_checksum"),
    ] {
        for suffix in ["", "/usage", "/qr.png", "/qr.svg"] {
            let response = app.get(&format!("/v1/esims/{iccid}{suffix}")).await;
            assert_problem(response, StatusCode::BAD_REQUEST, code).await;
        }
    }
    // Valid, but not one of this tenant's eSIMs.
    let unknown = app.get("/v1/esims/8943108167001960542").await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "esim_not_found").await;
    let topup = app
        .post(
            "/v1/esims/8943108167001960542/topups",
            &json!({ "product_id": app.cheapest("JP").await }),
            None,
        )
        .await;
    assert_problem(topup, StatusCode::NOT_FOUND, "esim_not_found").await;
}

#[tokio::test]
async fn another_tenants_orders_and_esims_are_invisible() {
    let app = TestApp::spawn().await;
    let order = app.order(&app.cheapest("ES").await, "mine").await;
    let iccid = order["esims"][0].as_str().unwrap();
    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other").await;
    for path in [
        format!("/v1/orders/{}", order["id"].as_str().unwrap()),
        format!("/v1/esims/{iccid}"),
        format!("/v1/esims/{iccid}/usage"),
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&other_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_problem(
        app.get("/v1/orders/ord_missing").await,
        StatusCode::NOT_FOUND,
        "order_not_found",
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::spawn().await;
    assert_problem(
        app.get("/v1/nothing").await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    )
    .await;
    let wrong_method = app
        .client
        .delete(format!("{}/v1/products", app.address))
        .send()
        .await
        .unwrap();
    assert_problem(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
