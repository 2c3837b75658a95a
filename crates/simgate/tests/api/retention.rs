//! Issue 21 item 6: the purge job runs on its schedule. Old events with
//! their finished deliveries, expired console sessions and old idempotency
//! keys go (the order stays); an applied inbound webhook keeps only a
//! redacted body.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::Value;
use simgate_domain::ProviderId;
use simgate_domain::entities::ConsoleSession;
use simgate_domain::repository::{SessionRepository, WebhookRepository};
use sqlx::{Connection, Row};

use crate::events::{Receiver, complete_an_order, register};
use crate::helpers::{Options, TestApp, eventually};

#[tokio::test]
async fn the_purge_job_deletes_old_rows_and_redacts_applied_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("retention.db").display());
    let app = TestApp::spawn_with(Options {
        database_url: Some(database_url.clone()),
        retention: simgate::settings::RetentionSettings {
            purge_every_secs: 1,
            ..simgate::settings::RetentionSettings::default()
        },
        ..Options::default()
    })
    .await;
    let receiver = Receiver::start(&[]).await;
    register(&app, &receiver.url).await;
    let order = complete_an_order(&app, "retention-key").await;
    receiver.wait_for(1).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let store = app.app.store();

    // An applied provider webhook carrying an activation code, and a
    // console session that expired days ago.
    let body = r#"{"event":"esim.ready","reference":"ref-1","activation_code":"LPA:1$smdp.example$SECRET"}"#;
    let stored = store
        .store_webhook(
            ProviderId::SimLocal,
            "retention-delivery",
            body,
            Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    store
        .finish_webhook(&stored.id, "esim ready")
        .await
        .unwrap();
    let session = ConsoleSession {
        token_hash: "retention-expired".to_owned(),
        operator: true,
        tenant_id: None,
        csrf_token: "c".to_owned(),
        expires_at: Utc::now() - chrono::Duration::days(3),
        credential: "fp".to_owned(),
    };
    store
        .insert_session(&session, Utc::now() - chrono::Duration::days(4))
        .await
        .unwrap();

    // The order's event and deliveries, and the order, as if long past.
    let mut db = sqlx::SqliteConnection::connect(&database_url)
        .await
        .unwrap();
    for sql in [
        "UPDATE events SET created_at = 0",
        "UPDATE event_deliveries SET updated_at = 0 WHERE status <> 'pending'",
        "UPDATE orders SET created_at = 0",
    ] {
        sqlx::query(sql).execute(&mut db).await.unwrap();
    }

    let redacted: String = eventually(Duration::from_secs(30), || async {
        let mut db = sqlx::SqliteConnection::connect(&database_url).await.ok()?;
        let count = |sql: &'static str| sqlx::query(sql);
        let events: i64 = count("SELECT COUNT(*) FROM events")
            .fetch_one(&mut db)
            .await
            .ok()?
            .get(0);
        let sessions: i64 =
            count("SELECT COUNT(*) FROM console_sessions WHERE token_hash = 'retention-expired'")
                .fetch_one(&mut db)
                .await
                .ok()?
                .get(0);
        let keys: i64 = count("SELECT COUNT(*) FROM orders WHERE idempotency_key IS NOT NULL")
            .fetch_one(&mut db)
            .await
            .ok()?
            .get(0);
        let body: String =
            count("SELECT body FROM inbound_webhooks WHERE dedupe_key = 'retention-delivery'")
                .fetch_one(&mut db)
                .await
                .ok()?
                .get(0);
        (events == 0 && sessions == 0 && keys == 0 && !body.contains("SECRET")).then_some(body)
    })
    .await;
    let redacted: Value = serde_json::from_str(&redacted).unwrap();
    assert_eq!(redacted["redacted"], true);
    assert_eq!(redacted["body"]["reference"], "ref-1");
    assert_eq!(redacted["body"]["event"], "esim.ready");
    assert_eq!(redacted["bytes"], body.len());

    // The order stays, its events are gone from the API too.
    let order = app.get(&format!("/v1/orders/{id}")).await;
    assert_eq!(order.status(), StatusCode::OK);
    let events = app.get_json("/v1/events?limit=100").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 0, "{events}");
}
