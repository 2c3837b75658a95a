use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn order_gives_install_details_and_a_qr_that_decodes_to_the_lpa() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    let order = app.order(&product, "order-1").await;
    assert_eq!(order["status"], "completed");
    assert_eq!(order["product_id"], product);
    let iccid = order["esims"][0].as_str().unwrap().to_owned();

    let fetched = app
        .get_json(&format!("/v1/orders/{}", order["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched["esims"][0], iccid.as_str());

    let esim = app.get_json(&format!("/v1/esims/{iccid}")).await;
    let lpa = esim["activation_code"].as_str().unwrap();
    assert_eq!(
        lpa,
        format!(
            "LPA:1${}${}",
            esim["smdp_address"].as_str().unwrap(),
            esim["matching_id"].as_str().unwrap()
        )
    );
    let apple = esim["apple_install_url"].as_str().unwrap();
    assert!(
        apple.starts_with(
            "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=LPA%3A1%24"
        )
    );

    let png = app.get(&format!("/v1/esims/{iccid}/qr.png")).await;
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    let image = image::load_from_memory(&bytes).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, decoded) = grids[0].decode().unwrap();
    assert_eq!(decoded, lpa);

    let svg = app.get(&format!("/v1/esims/{iccid}/qr.svg")).await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));
}

#[tokio::test]
async fn same_key_same_body_is_the_same_order_and_another_body_conflicts() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("GB").await;
    let first = app.order(&product, "idem-1").await;

    let again = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("idem-1"),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["esims"], first["esims"]);

    let other = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product, "quantity": 2 }),
            Some("idem-1"),
        )
        .await;
    assert_problem(other, StatusCode::CONFLICT, "idempotency_key_reused").await;
    assert_eq!(app.sandbox.state.purchases(), 1);

    // Without a key every request is a new order.
    let a = app
        .post("/v1/orders", &json!({ "product_id": product }), None)
        .await;
    let b = app
        .post("/v1/orders", &json!({ "product_id": product }), None)
        .await;
    assert_eq!(a.status(), StatusCode::CREATED);
    assert_eq!(b.status(), StatusCode::CREATED);
    assert_eq!(app.sandbox.state.purchases(), 3);
}

#[tokio::test]
async fn several_esims_in_one_order() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("DE").await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product, "quantity": 3 }),
            Some("multi"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["quantity"], 3);
    assert_eq!(order["esims"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn usage_and_top_up() {
    let app = TestApp::spawn().await;
    let products = app
        .get_json("/v1/products?country=TH&min_data_mb=1000&limit=1")
        .await;
    let product = products["data"][0]["id"].as_str().unwrap().to_owned();
    let initial_mb = products["data"][0]["data"]["mb"].as_u64().unwrap();
    let order = app.order(&product, "usage-1").await;
    let iccid = order["esims"][0].as_str().unwrap().to_owned();

    app.sandbox.consume(&iccid, 250_000_000).await;
    let usage = app.get_json(&format!("/v1/esims/{iccid}/usage")).await;
    let bundle = &usage["bundles"][0];
    assert_eq!(bundle["state"], "active");
    assert_eq!(bundle["initial_mb"].as_u64().unwrap(), initial_mb);
    assert_eq!(
        bundle["remaining_bytes"].as_u64().unwrap(),
        initial_mb * 1_000_000 - 250_000_000
    );

    let topup = app
        .post(
            &format!("/v1/esims/{iccid}/topups"),
            &json!({ "product_id": product }),
            Some("topup-1"),
        )
        .await;
    assert_eq!(topup.status(), StatusCode::CREATED);
    let topup: Value = topup.json().await.unwrap();
    assert_eq!(topup["kind"], "top_up");
    assert_eq!(topup["status"], "completed");
    assert_eq!(topup["target_iccid"], iccid.as_str());
    assert_eq!(topup["esims"][0], iccid.as_str());

    let usage = app.get_json(&format!("/v1/esims/{iccid}/usage")).await;
    assert_eq!(usage["bundles"].as_array().unwrap().len(), 2);
    assert_eq!(app.sandbox.state.purchases(), 2);

    let replay = app
        .post(
            &format!("/v1/esims/{iccid}/topups"),
            &json!({ "product_id": product }),
            Some("topup-1"),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(app.sandbox.state.purchases(), 2);
}

#[tokio::test]
async fn a_large_order_is_fulfilled_asynchronously() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("DE").await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product, "quantity": 6 }),
            Some("large"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "fulfilling");
    assert_eq!(order["provider_status"], "processing");
    assert!(order["esims"].as_array().unwrap().is_empty());
    let done = app
        .wait_for_order(order["id"].as_str().unwrap(), "completed")
        .await;
    assert_eq!(done["esims"].as_array().unwrap().len(), 6);
    assert_eq!(app.sandbox.state.purchases(), 1);
}

#[tokio::test]
async fn orders_are_listed_newest_first_in_pages() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("PT").await;
    let mut ids = Vec::new();
    for key in ["list-1", "list-2", "list-3"] {
        ids.push(
            app.order(&product, key).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    app.sandbox
        .arm(json!({"kind": "status", "status": 400, "path": "/orders", "method": "POST"}))
        .await;
    let refused = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("list-4"),
        )
        .await;
    let refused = assert_problem(refused, StatusCode::BAD_GATEWAY, "upstream_rejected").await;
    assert_eq!(refused["order_status"], "failed");

    let first = app.get_json("/v1/orders?limit=2&status=completed").await;
    let page: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[2].as_str(), ids[1].as_str()]);
    let before = first["next_before"].as_str().unwrap();
    let second = app
        .get_json(&format!(
            "/v1/orders?limit=2&status=completed&before={before}"
        ))
        .await;
    assert_eq!(second["data"][0]["id"], ids[0].as_str());
    assert!(second["next_before"].is_null());

    let failed = app.get_json("/v1/orders?status=failed").await;
    assert_eq!(failed["data"][0]["failure"]["code"], "upstream_rejected");
    assert_eq!(failed["data"][0]["failure"]["retryable"], false);
    assert_eq!(
        app.get_json("/v1/orders").await["data"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    for query in ["status=lost", "limit=0", "limit=101"] {
        let response = app.get(&format!("/v1/orders?{query}")).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
}
