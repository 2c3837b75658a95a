//! Issue 21 item 1: a console session lives only while the key it was
//! opened with does. Disabling a tenant, rotating its key, or starting the
//! app with another `admin_api_key` ends the sessions opened with the old
//! credential, which before went on for up to `session_hours`.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::Value;
use simgate::Application;

use crate::console::{Visitor, sign_in, sign_in_at};
use crate::helpers::{OPERATOR_KEY, Options, Sandbox, TestApp, funded_tenant, settings_for};

/// Whether the visitor's session still shows a page; an ended one is sent
/// to the sign-in form.
async fn signed_in(visitor: &Visitor, path: &str) -> bool {
    let page = visitor.get(path).await;
    match page.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER if page.headers()[LOCATION] == "/console/login" => false,
        other => panic!("{path}: unexpected {other}"),
    }
}

/// An operator call to `/admin/v1/tenants/{id}/{action}`.
async fn admin(app: &TestApp, id: &str, action: &str) -> Value {
    let response = app
        .client
        .post(format!("{}/admin/v1/tenants/{id}/{action}", app.address))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{action}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn disabling_a_tenant_or_rotating_its_key_ends_its_console_sessions() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant_id().await;
    let (other_id, other_key) = funded_tenant(app.app.store(), "other reseller").await;
    let other = sign_in(&app, &other_key).await;

    // Rotation: the session opened with the old key ends; one opened with
    // the new key lives.
    let before = sign_in(&app, &app.api_key).await;
    assert!(signed_in(&before, "/console/orders").await);
    let rotated = admin(&app, tenant.as_str(), "rotate-key").await;
    let new_key = rotated["api_key"].as_str().unwrap();
    assert!(!signed_in(&before, "/console/orders").await);
    let after = sign_in(&app, new_key).await;
    assert!(signed_in(&after, "/console/orders").await);

    // Disabling: the API refuses the key, and the console its session.
    admin(&app, tenant.as_str(), "disable").await;
    let api = app
        .client
        .get(format!("{}/v1/orders", app.address))
        .bearer_auth(new_key)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(!signed_in(&after, "/console/orders").await);

    // Another tenant's session is not touched.
    assert!(signed_in(&other, "/console/orders").await, "{other_id}");
}

/// The app on the SQLite file `database_url` with `admin_api_key`.
async fn start(
    sandbox: &Sandbox,
    dir: &tempfile::TempDir,
    database_url: &str,
    admin_api_key: &str,
) -> (Application, String) {
    let options = Options {
        database_url: Some(database_url.to_owned()),
        ..Options::default()
    };
    let mut settings = settings_for(sandbox, dir, &options);
    settings.admin_api_key = Some(admin_api_key.into());
    let app = Application::start(&settings).await.expect("simgate starts");
    let address = format!("http://{}", app.addr());
    (app, address)
}

#[tokio::test]
async fn another_admin_api_key_ends_the_operators_console_sessions() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("shared.db").display());

    let (app, address) = start(&sandbox, &dir, &database_url, OPERATOR_KEY).await;
    let operator = sign_in_at(&address, OPERATOR_KEY).await;
    assert!(signed_in(&operator, "/console/").await);
    app.stop().await;

    // Started again with the same key, the session goes on.
    let (app, address) = start(&sandbox, &dir, &database_url, OPERATOR_KEY).await;
    let operator = operator.visiting(&address);
    assert!(signed_in(&operator, "/console/").await);
    app.stop().await;

    // With another key, it ends; the new key signs in.
    let new_key = "op_test_rotated_9a8b7c6d5e4f3a2b1c0d";
    let (app, address) = start(&sandbox, &dir, &database_url, new_key).await;
    let operator = operator.visiting(&address);
    assert!(!signed_in(&operator, "/console/").await);
    assert!(signed_in(&sign_in_at(&address, new_key).await, "/console/").await);
    app.stop().await;
}
