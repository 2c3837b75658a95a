//! Provider operations on an eSIM through the unified API.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn revoke_location_and_sms() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    let sku = product.strip_prefix("esim-go:").unwrap().to_owned();
    let order = app.order(&product, "ops").await;
    let iccid = order["esims"][0].as_str().unwrap().to_owned();

    let location = app.get_json(&format!("/v1/esims/{iccid}/location")).await;
    assert_eq!(location["country"], "JP");
    assert!(!location["network_name"].as_str().unwrap().is_empty());

    let sms = app
        .post(
            &format!("/v1/esims/{iccid}/sms"),
            &json!({ "message": "Welcome to Japan" }),
            None,
        )
        .await;
    assert_eq!(sms.status(), StatusCode::ACCEPTED);
    let long = app
        .post(
            &format!("/v1/esims/{iccid}/sms"),
            &json!({ "message": "x".repeat(161) }),
            None,
        )
        .await;
    assert_problem(long, StatusCode::UNPROCESSABLE_ENTITY, "invalid_sms").await;

    // A used bundle cannot be refunded, and a refused refund revokes nothing.
    app.sandbox.consume(&iccid, 1_000).await;
    let bundle = format!("/v1/esims/{iccid}/bundles/{sku}");
    let refused = app.delete(&format!("{bundle}?refund=true")).await;
    assert_problem(refused, StatusCode::CONFLICT, "refused_by_provider").await;
    let revoked = app.delete(&bundle).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let revoked: Value = revoked.json().await.unwrap();
    assert_eq!(revoked, json!({ "bundle": sku, "refunded": false }));
    let usage = app.get_json(&format!("/v1/esims/{iccid}/usage")).await;
    assert_eq!(usage["bundles"][0]["state"], "revoked");
    let again = app.delete(&bundle).await;
    assert_problem(again, StatusCode::NOT_FOUND, "bundle_not_found").await;
    let bad_query = app.delete(&format!("{bundle}?refund=maybe")).await;
    assert_problem(bad_query, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn an_unused_bundle_is_refunded() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("KR").await;
    let sku = product.strip_prefix("esim-go:").unwrap();
    let order = app.order(&product, "refund").await;
    let iccid = order["esims"][0].as_str().unwrap();
    let response = app
        .delete(&format!("/v1/esims/{iccid}/bundles/{sku}?refund=true"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["refunded"], true);
}

/// eSIMs and their QR codes are answered from memory once read; the owner
/// check still holds for another tenant asking after the owner, and a QR
/// carries a strong `ETag` that a conditional request is answered 304 to.
#[tokio::test]
async fn a_remembered_esim_stays_its_owners_and_its_qr_revalidates_by_etag() {
    let app = TestApp::spawn().await;
    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;
    let product = app.cheapest("JP").await;
    let order = app.order(&product, "qr-etag").await;
    let iccid = order["esims"][0].as_str().unwrap().to_owned();

    let url = |path: &str| format!("{}/v1/esims/{iccid}{path}", app.address);
    for path in ["", "/usage", "/qr.png", "/qr.svg"] {
        assert_eq!(
            app.get(&format!("/v1/esims/{iccid}{path}")).await.status(),
            StatusCode::OK
        );
        let foreign = app
            .client
            .get(url(path))
            .bearer_auth(&other_key)
            .send()
            .await
            .unwrap();
        assert_problem(foreign, StatusCode::NOT_FOUND, "esim_not_found").await;
    }

    for format in ["png", "svg"] {
        let path = format!("/v1/esims/{iccid}/qr.{format}");
        let first = app.get(&path).await;
        assert_eq!(first.headers()["cache-control"], "private, max-age=3600");
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        let body = first.bytes().await.unwrap();
        let again = app.get(&path).await;
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert_eq!(again.bytes().await.unwrap(), body);

        let conditional = |tag: String| {
            app.client
                .get(url(&format!("/qr.{format}")))
                .bearer_auth(&app.api_key)
                .header("If-None-Match", tag)
                .send()
        };
        let current = conditional(format!("\"old\", {etag}")).await.unwrap();
        assert_eq!(current.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(current.headers()["etag"], etag.as_str());
        assert!(current.bytes().await.unwrap().is_empty());
        let stale = conditional("\"old\"".to_owned()).await.unwrap();
        assert_eq!(stale.status(), StatusCode::OK);
        assert_eq!(stale.bytes().await.unwrap(), body);
    }
}
