//! Webhook endpoint secrets: shown only when made, sealed at rest under
//! the operator's keys, rotated with an overlap during which deliveries
//! carry both signatures, and still readable after the key changes.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use simgate::Application;
use simgate::settings::WebhookSettings;
use sqlx::{Connection, Row};

use crate::events::{Received, Receiver, register};
use crate::helpers::{
    Options, Sandbox, TEST_SECRET_KEY, TestApp, assert_problem, eventually, settings_for,
};
use crate::recovery::run_simgate;

/// The `v1,` signature a receiver expects from `secret`, computed from the
/// Standard Webhooks specification, not with simgate's code.
fn expected_signature(secret: &str, received: &Received) -> String {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The signatures of a delivery, as a receiver splits the header.
fn signatures(received: &Received) -> Vec<&str> {
    received.signature.split(' ').collect()
}

/// Every stored secret column of every endpoint, as the database holds it.
async fn stored_secret_columns(database_url: &str) -> Vec<(String, Option<String>, String)> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let rows = sqlx::query(
        "SELECT secret, COALESCE(previous_secret, '') AS previous_secret, secret_key_id, \
         COALESCE(previous_secret_key_id, '') AS previous_key FROM webhook_endpoints ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.iter()
        .map(|row| {
            (
                format!(
                    "{} {}",
                    row.get::<String, _>("secret"),
                    row.get::<String, _>("previous_secret")
                ),
                row.get::<Option<String>, _>("secret_key_id"),
                row.get::<String, _>("previous_key"),
            )
        })
        .collect()
}

async fn rotate(app: &TestApp, id: &str) -> reqwest::Response {
    app.post(
        &format!("/v1/webhook-endpoints/{id}/rotate-secret"),
        &json!({}),
        None,
    )
    .await
}

#[tokio::test]
async fn a_secret_is_shown_only_when_made_and_is_sealed_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("sealed.db").display());
    let app = TestApp::spawn_with(Options {
        database_url: Some(database_url.clone()),
        ..Options::default()
    })
    .await;
    let created = register(&app, "http://127.0.0.1:9/hooks").await;
    let id = created["id"].as_str().unwrap();
    let first = created["secret"].as_str().unwrap().to_owned();
    assert!(first.starts_with("whsec_"), "{created}");

    let listed = app.get("/v1/webhook-endpoints").await.text().await.unwrap();
    let list: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(list["data"][0]["id"], id);
    assert!(list["data"][0].get("secret").is_none(), "{listed}");
    assert!(!listed.contains(&first[6..]), "{listed}");

    let rotated = rotate(&app, id).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert!(second.starts_with("whsec_"));
    assert_ne!(second, first);
    assert_eq!(rotated["id"], id);
    assert!(
        rotated["previous_secret_expires_at"].is_string(),
        "{rotated}"
    );
    let listed = app.get("/v1/webhook-endpoints").await.text().await.unwrap();
    assert!(!listed.contains(&first[6..]) && !listed.contains(&second[6..]));
    let list: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        list["data"][0]["previous_secret_expires_at"],
        rotated["previous_secret_expires_at"]
    );

    let rows = stored_secret_columns(&database_url).await;
    assert_eq!(rows.len(), 1);
    let (text, key_id, previous_key) = &rows[0];
    for secret in [&first, &second] {
        assert!(!text.contains(&secret[6..]), "plain text stored: {text}");
    }
    assert_eq!(key_id.as_deref(), Some("test"));
    assert_eq!(previous_key, "test");

    let unknown = rotate(&app, "whe_nothing").await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "endpoint_not_found").await;
    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other").await;
    let theirs = app
        .client
        .post(format!(
            "{}/v1/webhook-endpoints/{id}/rotate-secret",
            app.address
        ))
        .bearer_auth(other_key)
        .send()
        .await
        .unwrap();
    assert_problem(theirs, StatusCode::NOT_FOUND, "endpoint_not_found").await;
}

/// Completes an order of the cheapest French product, for its event.
async fn complete_an_order(app: &TestApp, key: &str) {
    let product = app.cheapest("FR").await;
    let order = app.order(&product, key).await;
    app.wait_for_order(order["id"].as_str().unwrap(), "completed")
        .await;
}

#[tokio::test]
async fn during_the_overlap_deliveries_carry_both_signatures_then_only_the_new() {
    let app = TestApp::spawn_with(Options {
        webhooks: WebhookSettings {
            secret_overlap_secs: 10,
            ..crate::helpers::test_webhook_settings()
        },
        ..Options::default()
    })
    .await;
    let receiver = Receiver::start(&[]).await;
    let endpoint = register(&app, &receiver.url).await;
    let id = endpoint["id"].as_str().unwrap();
    let old = endpoint["secret"].as_str().unwrap().to_owned();
    complete_an_order(&app, "secrets-overlap").await;
    let before = receiver.wait_for(1).await;
    assert_eq!(
        signatures(&before[0]),
        [expected_signature(&old, &before[0])]
    );

    let rotated: Value = rotate(&app, id).await.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    let expires_at: chrono::DateTime<chrono::Utc> = rotated["previous_secret_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let replay_path = format!("/v1/events/{}/replay", before[0].id);
    let body = json!({});
    let replay = || app.post(&replay_path, &body, None);
    assert_eq!(replay().await.status(), StatusCode::ACCEPTED);
    let during = receiver.wait_for(2).await;
    assert!(
        chrono::Utc::now() < expires_at,
        "the delivery came after the overlap: the test machine is too slow"
    );
    let both = signatures(&during[1]);
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0], expected_signature(&old, &during[1]));
    assert_eq!(both[1], expected_signature(&new, &during[1]));

    // The overlap is a point in time: wait for it to pass.
    let left = (expires_at - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(100)).await;
    let listed = app.get_json("/v1/webhook-endpoints").await;
    assert_eq!(listed["data"][0]["previous_secret_expires_at"], Value::Null);
    assert_eq!(replay().await.status(), StatusCode::ACCEPTED);
    let after = receiver.wait_for(3).await;
    assert_eq!(signatures(&after[2]), [expected_signature(&new, &after[2])]);
    assert!(
        !after[2]
            .signature
            .contains(&expected_signature(&old, &after[2]))
    );
}

/// `[webhooks]` with these keys (id → one repeated byte), `current` sealing.
fn keyring(current: &str, keys: &[(&str, u8)]) -> WebhookSettings {
    let secret_keys: BTreeMap<_, _> = keys
        .iter()
        .map(|(id, byte)| ((*id).to_owned(), BASE64.encode([*byte; 32]).into()))
        .collect();
    WebhookSettings {
        secret_keys,
        secret_key_id: Some(current.to_owned()),
        ..WebhookSettings::default()
    }
}

async fn start(sandbox: &Sandbox, database_url: &str, webhooks: WebhookSettings) -> Application {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        database_url: Some(database_url.to_owned()),
        webhooks,
        ..Options::default()
    };
    try_start(sandbox, &dir, &options)
        .await
        .expect("simgate starts")
}

async fn try_start(
    sandbox: &Sandbox,
    dir: &tempfile::TempDir,
    options: &Options,
) -> Result<Application, simgate::StartError> {
    Application::start(&settings_for(sandbox, dir, options)).await
}

#[tokio::test]
async fn a_new_current_key_still_opens_older_rows_and_reseals_them_at_start() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("keys.db").display());
    let client = reqwest::Client::new();
    let first = start(&sandbox, &database_url, keyring("k1", &[("k1", 1)])).await;
    let (_, key) = crate::helpers::funded_tenant(first.store(), "key change").await;
    let sealed_receiver = Receiver::start(&[]).await;
    let created: Value = client
        .post(format!("http://{}/v1/webhook-endpoints", first.addr()))
        .bearer_auth(&key)
        .json(&json!({ "url": sealed_receiver.url }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sealed_secret = created["secret"].as_str().unwrap().to_owned();
    let tenant_id: String = {
        let mut conn = sqlx::AnyConnection::connect(&database_url).await.unwrap();
        let row = sqlx::query("SELECT tenant_id FROM webhook_endpoints")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        row.get("tenant_id")
    };
    // A row as simgate wrote it before secrets were sealed: plain text.
    let legacy_receiver = Receiver::start(&[]).await;
    let legacy_secret = format!("whsec_{}", BASE64.encode([7u8; 32]));
    {
        let mut conn = sqlx::AnyConnection::connect(&database_url).await.unwrap();
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, enabled, created_at) \
             VALUES ('whe_legacy', $1, $2, $3, 1, 0)",
        )
        .bind(tenant_id)
        .bind(legacy_receiver.url.clone())
        .bind(legacy_secret.clone())
        .execute(&mut conn)
        .await
        .unwrap();
    }
    first.stop().await;

    // k2 becomes current, k1 stays listed: both rows are re-sealed under k2.
    let second = start(
        &sandbox,
        &database_url,
        keyring("k2", &[("k1", 1), ("k2", 2)]),
    )
    .await;
    let rows = stored_secret_columns(&database_url).await;
    assert_eq!(rows.len(), 2);
    for (text, key_id, _) in &rows {
        assert_eq!(key_id.as_deref(), Some("k2"));
        assert!(!text.contains(&sealed_secret[6..]) && !text.contains(&legacy_secret[6..]));
    }
    second.stop().await;

    // Only k2 now: the rows open, and deliveries are signed as before.
    let third = start(&sandbox, &database_url, keyring("k2", &[("k2", 2)])).await;
    third.ready().await;
    let address = format!("http://{}", third.addr());
    let product = eventually(Duration::from_secs(60), || async {
        let page: Value = client
            .get(format!("{address}/v1/products?country=FR&limit=1"))
            .bearer_auth(&key)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        page["data"][0]["id"].as_str().map(str::to_owned)
    })
    .await;
    let ordered = client
        .post(format!("{address}/v1/orders"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "key-change")
        .json(&json!({ "product_id": product }))
        .send()
        .await
        .unwrap();
    assert!(ordered.status().is_success(), "{}", ordered.status());
    for (receiver, secret) in [
        (&sealed_receiver, &sealed_secret),
        (&legacy_receiver, &legacy_secret),
    ] {
        let received = receiver.wait_for(1).await;
        assert_eq!(
            signatures(&received[0]),
            [expected_signature(secret, &received[0])]
        );
    }
    third.stop().await;

    // Removing the key that seals them stops the start, naming the key.
    let refused = try_start(
        &sandbox,
        &tempfile::tempdir().unwrap(),
        &Options {
            database_url: Some(database_url.clone()),
            webhooks: keyring("k1", &[("k1", 1)]),
            ..Options::default()
        },
    )
    .await
    .err()
    .expect("simgate refuses to start");
    assert!(refused.to_string().contains("\"k2\""), "{refused}");
    let keyless = try_start(
        &sandbox,
        &tempfile::tempdir().unwrap(),
        &Options {
            database_url: Some(database_url),
            webhooks: WebhookSettings::default(),
            ..Options::default()
        },
    )
    .await
    .err()
    .expect("simgate refuses to start without keys while endpoints are stored");
    assert!(keyless.to_string().contains("secret_keys"), "{keyless}");
}

#[tokio::test]
async fn config_check_shows_key_ids_and_redacts_the_keys() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) =
        run_simgate(&sandbox, &dir.path().join("check.db"), &["config", "check"]);
    assert!(ok, "{stderr}");
    assert!(!stdout.contains(TEST_SECRET_KEY), "{stdout}");
    assert!(stdout.contains("[webhooks.secret_keys]"), "{stdout}");
    assert!(stdout.contains("test = \"[REDACTED]\""), "{stdout}");
    assert!(stdout.contains("secret_key_id = \"test\""), "{stdout}");
}
