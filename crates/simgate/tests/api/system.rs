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

/// The console and `/docs` tell browsers to load only simgate's own files
/// and never to frame them, and keep the referrer on simgate.
#[tokio::test]
async fn console_and_docs_pages_carry_the_browser_security_headers() {
    let app = TestApp::spawn().await;
    let owner = crate::console::sign_in(&app, &app.api_key).await;
    let signed_in = owner.get("/console/sim-orders").await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let mut pages = vec![("/console/sim-orders", signed_in)];
    for path in ["/console/login", "/docs"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        pages.push((path, response));
    }
    for (path, response) in &pages {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let policy = header("content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
    }
}
