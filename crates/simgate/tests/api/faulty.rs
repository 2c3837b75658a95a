//! Faulty reports on an order: taken by Sim Local, 501 elsewhere, and only
//! on the tenant's own completed orders.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn a_completed_sim_local_order_is_reported_faulty_and_other_providers_say_unsupported() {
    let app = TestApp::spawn().await;
    let product = app.cheapest_from("sim-local", "GB").await;
    let order = app.order(&product, "faulty-1").await;
    let id = order["id"].as_str().unwrap();
    let done = app.wait_for_order(id, "completed").await;
    let upstream = done["upstream_reference"].as_str().unwrap();

    let reasons = app
        .get_json(&format!("/v1/orders/{id}/faulty-reasons"))
        .await;
    let reasons: Vec<&str> = reasons["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"NO_SERVICE"), "{reasons:?}");

    let report = format!("/v1/orders/{id}/faulty");
    let wrong = app
        .post(&report, &json!({ "reason": "BAD_LUCK" }), None)
        .await;
    assert_problem(
        wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_faulty_report",
    )
    .await;
    let missing = app.post(&report, &json!({}), None).await;
    assert_problem(missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let blank = app.post(&report, &json!({ "reason": " " }), None).await;
    assert_problem(blank, StatusCode::BAD_REQUEST, "missing_field").await;
    let long = app
        .post(
            &report,
            &json!({ "reason": "NO_SERVICE", "description": "x".repeat(501) }),
            None,
        )
        .await;
    assert_problem(
        long,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_faulty_report",
    )
    .await;
    assert_eq!(
        app.sim_local.faulty_report(upstream),
        None,
        "nothing reported yet"
    );

    let taken = app
        .post(
            &report,
            &json!({ "reason": "NO_SERVICE", "description": "no bars in London" }),
            None,
        )
        .await;
    assert_eq!(taken.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.sim_local.faulty_report(upstream),
        Some((
            "NO_SERVICE".to_owned(),
            Some("no bars in London".to_owned())
        ))
    );

    // Another tenant's order is not found.
    let (_, other) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;
    let theirs = app
        .client
        .post(format!("{}{report}", app.address))
        .bearer_auth(&other)
        .json(&json!({ "reason": "NO_SERVICE" }))
        .send()
        .await
        .unwrap();
    assert_problem(theirs, StatusCode::NOT_FOUND, "order_not_found").await;
    let unknown = app.get("/v1/orders/ord_missing/faulty-reasons").await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "order_not_found").await;

    // A failed order delivered nothing to report.
    let failed = app.order("sim-local:sl-fail-0000", "faulty-2").await;
    let failed_id = failed["id"].as_str().unwrap();
    app.wait_for_order(failed_id, "failed").await;
    let refused = app
        .post(
            &format!("/v1/orders/{failed_id}/faulty"),
            &json!({ "reason": "NO_SERVICE" }),
            None,
        )
        .await;
    assert_problem(refused, StatusCode::CONFLICT, "order_not_completed").await;

    // eSIM Go takes no faulty reports, and says so.
    let go = app.order(&app.cheapest("JP").await, "faulty-3").await;
    let go_id = go["id"].as_str().unwrap();
    let no_reasons = app.get(&format!("/v1/orders/{go_id}/faulty-reasons")).await;
    assert_problem(
        no_reasons,
        StatusCode::NOT_IMPLEMENTED,
        "unsupported_by_provider",
    )
    .await;
    let no_report = app
        .post(
            &format!("/v1/orders/{go_id}/faulty"),
            &json!({ "reason": "NO_SERVICE" }),
            None,
        )
        .await;
    assert_problem(
        no_report,
        StatusCode::NOT_IMPLEMENTED,
        "unsupported_by_provider",
    )
    .await;

    let providers = app.get_json("/v1/providers").await;
    let capable: Vec<&str> = providers["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["capabilities"]
                .as_array()
                .unwrap()
                .contains(&json!("faulty_reports"))
        })
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(capable, vec!["sim-local"]);
}
