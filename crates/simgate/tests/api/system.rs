use reqwest::StatusCode;

use crate::helpers::{OPERATOR_KEY, TestApp};

#[tokio::test]
async fn health_metrics_openapi_and_docs() {
    let app = TestApp::spawn().await;
    let health = app.get_json("/healthz").await;
    assert_eq!(health["status"], "ok");

    app.get("/v1/products?limit=1").await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("simgate_http_requests_total"), "{metrics}");

    let spec = app.get_json("/openapi.json").await;
    for path in [
        "/v1/orders",
        "/v1/products",
        "/v1/esims/{iccid}/qr.png",
        "/v1/esims/{iccid}/topups",
    ] {
        assert!(
            spec["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("<html"));
}
