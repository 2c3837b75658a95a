//! `GET /v1/esims`: the tenant's eSIMs from simgate's own records, paged
//! and filtered, never another tenant's.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

/// Orders one eSIM and waits until it is delivered; returns its ICCID.
async fn delivered(app: &TestApp, key: &str, product: &str, idempotency: &str) -> String {
    let response = app
        .client
        .post(format!("{}/v1/orders", app.address))
        .bearer_auth(key)
        .header("Idempotency-Key", idempotency)
        .json(&json!({ "product_id": product }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    let id = order["id"].as_str().unwrap();
    let done = if key == app.api_key {
        app.wait_for_order(id, "completed").await
    } else {
        order
    };
    done["esims"][0].as_str().unwrap().to_owned()
}

fn iccids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["iccid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_tenants_esims_are_paged_and_filtered_and_no_one_elses() {
    let app = TestApp::spawn().await;
    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;
    let go = app.cheapest("JP").await;
    let local = app.cheapest_from("sim-local", "GB").await;
    let first = delivered(&app, &app.api_key, &go, "l-1").await;
    let second = delivered(&app, &app.api_key, &go, "l-2").await;
    let from_sim_local = delivered(&app, &app.api_key, &local, "l-3").await;
    let foreign = delivered(&app, &other_key, &go, "l-4").await;

    let all = app.get_json("/v1/esims").await;
    assert_eq!(
        (all["total"].as_u64(), all["limit"].as_u64()),
        (Some(3), Some(20))
    );
    let listed = iccids(&all);
    assert_eq!(listed.len(), 3);
    for mine in [&first, &second, &from_sim_local] {
        assert!(listed.contains(mine), "{mine} listed");
    }
    assert!(
        !listed.contains(&foreign),
        "another tenant's eSIM never appears"
    );
    let one = &all["data"][0];
    assert_eq!(one["status"], "completed");
    assert!(
        one["activation_code"]
            .as_str()
            .unwrap()
            .starts_with("LPA:1$")
    );
    assert!(one["created_at"].is_string());

    let page_1 = app.get_json("/v1/esims?limit=2").await;
    let page_2 = app.get_json("/v1/esims?limit=2&offset=2").await;
    assert_eq!(
        (page_1["total"].as_u64(), page_2["total"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!([iccids(&page_1), iccids(&page_2)].concat(), listed);

    let by_provider = app.get_json("/v1/esims?provider=sim-local").await;
    assert_eq!(iccids(&by_provider), vec![from_sim_local.clone()]);
    assert_eq!(by_provider["data"][0]["provider"], "sim-local");
    let by_iccid = app.get_json(&format!("/v1/esims?iccid={second}")).await;
    assert_eq!(
        (iccids(&by_iccid), by_iccid["total"].as_u64()),
        (vec![second], Some(1))
    );
    let theirs = app.get_json(&format!("/v1/esims?iccid={foreign}")).await;
    assert_eq!(theirs["total"], 0);
    let completed = app.get_json("/v1/esims?status=completed").await;
    assert_eq!(completed["total"], 3);
    let failed = app
        .get_json("/v1/esims?status=failed&provider=esim-go")
        .await;
    assert_eq!(
        (failed["total"].as_u64(), iccids(&failed).len()),
        (Some(0), 0)
    );

    for (query, code) in [
        ("status=lost", "invalid_query"),
        ("provider=nowhere", "unknown_provider"),
        ("iccid=1234", "invalid_iccid"),
        ("limit=0", "invalid_query"),
        ("limit=101", "invalid_query"),
        ("offset=-1", "invalid_query"),
        ("colour=red", "invalid_query"),
    ] {
        let response = app.get(&format!("/v1/esims?{query}")).await;
        assert_problem(response, StatusCode::BAD_REQUEST, code).await;
    }
}
