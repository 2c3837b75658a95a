//! eSIM Go usage callbacks: signed with the API key (hex or base64),
//! deduplicated, and refused when forged or unsigned.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simgate_connectors::esim_go::client::callback_signature;

use crate::helpers::{TestApp, assert_problem};

fn callback(iccid: &str, remaining: u64) -> String {
    json!({
        "iccid": iccid,
        "alertType": "Utilisation",
        "bundle": {
            "id": "215009266", "reference": "ref", "name": "esim_1GB_7D_JP_V2", "description": "1GB",
            "initialQuantity": 1_000_000_000u64, "remainingQuantity": remaining,
            "startTime": "2026-11-20T10:00:00Z", "endTime": "2026-11-27T10:00:00Z", "unlimited": false
        }
    })
    .to_string()
}

async fn send(app: &TestApp, signature: Option<String>, body: &str) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/v1/webhooks/esim-go", app.address))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("X-Signature-SHA256", signature);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn signed_callbacks_are_accepted_once_in_either_encoding() {
    let app = TestApp::spawn().await;
    let order = app.order(&app.cheapest("JP").await, "usage-cb").await;
    let iccid = order["esims"][0].as_str().unwrap();
    let key = &app.sandbox.api_key;

    let first = callback(iccid, 900_000_000);
    let hex_signature = hex::encode(callback_signature(key, first.as_bytes()));
    let applied = send(&app, Some(hex_signature.clone()), &first).await;
    assert_eq!(applied.status(), StatusCode::OK);
    assert_eq!(applied.json::<Value>().await.unwrap()["status"], "applied");
    let again = send(&app, Some(hex_signature), &first).await;
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");

    let second = callback(iccid, 0);
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(callback_signature(key, second.as_bytes()));
    assert_eq!(
        send(&app, Some(b64.clone()), &second).await.status(),
        StatusCode::OK
    );
    send(&app, Some(b64), &second).await;

    // 90 % left says nothing; 10 % left would be "low"; nothing left is "depleted", once.
    let low = callback(iccid, 100_000_000);
    let low_signature = hex::encode(callback_signature(key, low.as_bytes()));
    send(&app, Some(low_signature), &low).await;
    let events = app.get_json("/v1/events?limit=100").await;
    let mut types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        ["esim.usage.depleted", "esim.usage.low", "order.completed"]
    );
    let depleted = &events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "esim.usage.depleted")
        .unwrap()["payload"]["data"];
    assert_eq!(depleted["iccid"], iccid);
    assert_eq!(depleted["remaining_bytes"], 0);
}

#[tokio::test]
async fn the_sandbox_reports_usage_by_signed_callback() {
    let app = TestApp::spawn().await;
    let order = app.order(&app.cheapest("TH").await, "usage-sandbox").await;
    let iccid = order["esims"][0].as_str().unwrap();
    app.sandbox.consume(iccid, 5_000_000).await;
    app.sandbox.consume(iccid, 5_000_000).await;
    // The sandbox sends each callback before answering the consume call.
    assert_eq!(app.sandbox.state.callbacks_delivered(), 2);
}

#[tokio::test]
async fn forged_unsigned_and_unknown_callbacks_are_refused() {
    let app = TestApp::spawn().await;
    let key = &app.sandbox.api_key;
    let body = callback("8943108167001960542", 10);
    let signed_elsewhere = hex::encode(callback_signature("another-key", body.as_bytes()));
    assert_problem(
        send(&app, Some(signed_elsewhere), &body).await,
        StatusCode::UNAUTHORIZED,
        "webhook_unverified",
    )
    .await;
    assert_problem(
        send(&app, None, &body).await,
        StatusCode::UNAUTHORIZED,
        "webhook_unverified",
    )
    .await;
    assert_problem(
        send(&app, Some("zz-not-hex".into()), &body).await,
        StatusCode::UNAUTHORIZED,
        "webhook_unverified",
    )
    .await;
    // Signed, but a body altered after signing.
    let original = hex::encode(callback_signature(key, body.as_bytes()));
    let altered = body.replace("\"remainingQuantity\":10", "\"remainingQuantity\":999");
    assert_problem(
        send(&app, Some(original.clone()), &altered).await,
        StatusCode::UNAUTHORIZED,
        "webhook_unverified",
    )
    .await;
    // Genuine but about an eSIM simgate never issued.
    assert_problem(
        send(&app, Some(original), &body).await,
        StatusCode::NOT_FOUND,
        "esim_not_found",
    )
    .await;
    let garbage = "{\"iccid\": 5}";
    let signed = hex::encode(callback_signature(key, garbage.as_bytes()));
    assert_problem(
        send(&app, Some(signed), garbage).await,
        StatusCode::BAD_REQUEST,
        "invalid_webhook",
    )
    .await;
}
