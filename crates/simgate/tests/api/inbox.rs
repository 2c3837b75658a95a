//! Issue 21 item 3: inbound webhooks are never lost. A verified webhook is
//! stored, then applied; what a crash between the two leaves, an attempt
//! that failed, an event for an order not known yet and a late webhook from
//! a provider the order failed over from are all applied (or recorded)
//! in the end, once.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use simgate_connectors::esim_go::client::callback_signature;
use simgate_connectors::esim_story::client::WEBHOOK_SECRET_HEADER;
use simgate_domain::ProviderId;
use simgate_domain::repository::{PurchaseRepository, WebhookRepository};
use simgate_sandbox::esim_story::StorySandboxConfig;
use sqlx::{Connection, Row};

use crate::helpers::{Options, TestApp, eventually};

/// eSIM Go's usage callback saying 10 % is left: an `esim.usage.low` event.
fn low_usage(iccid: &str) -> String {
    json!({
        "iccid": iccid,
        "alertType": "Utilisation",
        "bundle": {
            "id": "215009266", "reference": "ref", "name": "esim_1GB_7D_JP_V2", "description": "1GB",
            "initialQuantity": 1_000_000_000u64, "remainingQuantity": 100_000_000u64,
            "startTime": "2026-11-20T10:00:00Z", "endTime": "2026-11-27T10:00:00Z", "unlimited": false
        }
    })
    .to_string()
}

/// eSIM Go delivering `body`, signed with the API key.
async fn send_signed(app: &TestApp, body: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/webhooks/esim-go", app.address))
        .header("content-type", "application/json")
        .header(
            "X-Signature-SHA256",
            hex::encode(callback_signature(&app.sandbox.api_key, body.as_bytes())),
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// The event types the harness's tenant was sent.
async fn event_types(app: &TestApp) -> Vec<String> {
    let events = app.get_json("/v1/events?limit=100").await;
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// An eSIM of a completed eSIM Go order.
async fn an_esim(app: &TestApp) -> String {
    let order = app.order(&app.cheapest("JP").await, "inbox").await;
    order["esims"][0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_webhook_stored_but_never_applied_is_applied_by_the_inbox() {
    let app = TestApp::spawn_with(Options {
        webhook_retry_after_secs: 1,
        ..Options::default()
    })
    .await;
    let iccid = an_esim(&app).await;
    let body = low_usage(&iccid);
    // What a crash right after the store leaves behind: the verified body,
    // stored under its dedupe key, never applied.
    let stored = app
        .app
        .store()
        .store_webhook(
            ProviderId::EsimGo,
            &hex::encode(Sha256::digest(body.as_bytes())),
            &body,
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(stored.pending && !stored.duplicate);
    eventually(Duration::from_secs(30), || async {
        event_types(&app)
            .await
            .contains(&"esim.usage.low".to_owned())
            .then_some(())
    })
    .await;
    // Applied once: the provider's redelivery now is a duplicate.
    let again = send_signed(&app, &body).await;
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");
    let lows = event_types(&app)
        .await
        .into_iter()
        .filter(|t| t == "esim.usage.low")
        .count();
    assert_eq!(lows, 1);
}

#[tokio::test]
async fn a_redelivery_of_a_webhook_never_applied_is_applied_not_ignored() {
    let app = TestApp::spawn().await;
    let iccid = an_esim(&app).await;
    let body = low_usage(&iccid);
    // Stored by a process that died before applying it; the inbox would
    // only take it in an hour.
    app.app
        .store()
        .store_webhook(
            ProviderId::EsimGo,
            &hex::encode(Sha256::digest(body.as_bytes())),
            &body,
            Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let redelivered = send_signed(&app, &body).await;
    assert_eq!(redelivered.status(), StatusCode::OK);
    assert_eq!(
        redelivered.json::<Value>().await.unwrap()["status"],
        "applied"
    );
    assert!(
        event_types(&app)
            .await
            .contains(&"esim.usage.low".to_owned())
    );
}

#[tokio::test]
async fn a_webhook_for_an_order_not_known_yet_is_applied_once_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let app = TestApp::spawn_with(Options {
        database_url: Some(database_url.clone()),
        ..Options::default()
    })
    .await;
    // Sim Local takes the order and sends its webhooks at once, but its
    // answer reaches simgate 3 s later: until then, no order of ours
    // carries the Sim Local order id the webhooks name.
    let armed = app
        .client
        .post(format!(
            "{}/__admin/faults",
            app.sim_local_handle.base_url()
        ))
        .json(&json!({ "kind": "timeout", "ms": 3000, "method": "POST", "path": "/orders" }))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), StatusCode::CREATED);
    let product = app.cheapest_from("sim-local", "GB").await;
    let order = app.order(&product, "not-known-yet").await;
    let id = order["id"].as_str().unwrap();
    let rows = || async {
        let mut db = sqlx::SqliteConnection::connect(&database_url)
            .await
            .unwrap();
        sqlx::query("SELECT outcome, attempts FROM inbound_webhooks WHERE provider = 'sim-local'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row.get::<Option<String>, _>("outcome"),
                    row.get::<i64, _>("attempts"),
                )
            })
            .collect::<Vec<_>>()
    };
    // Every webhook ends applied (or found nothing new): none is left
    // unmatched, and the early ones were tried more than once.
    let settled = eventually(Duration::from_secs(60), || async {
        let rows = rows().await;
        (!rows.is_empty()
            && rows
                .iter()
                .all(|(outcome, _)| matches!(outcome.as_deref(), Some("applied" | "unchanged"))))
        .then_some(rows)
    })
    .await;
    assert!(
        settled.iter().any(|(_, attempts)| *attempts >= 1),
        "a webhook came before the order was known: {settled:?}"
    );
    app.wait_for_order(id, "completed").await;
}

#[tokio::test]
async fn a_late_webhook_from_the_provider_failed_over_from_is_recorded_as_an_extra_purchase() {
    let app = TestApp::spawn().await;
    // The order went to eSIM Go (as it does after eSIM Story's answer was
    // lost and it was found to have bought nothing).
    let order = app.order(&app.cheapest("JP").await, "late").await;
    let id = order["id"].as_str().unwrap();
    // Then eSIM Story's webhook for it arrives after all.
    let webhook = json!({
        "topup_id": "tp-late-1",
        "option_id": "opt-late",
        "iccid": "8988247000100000018",
        "smdp": "smdp.example.com",
        "activate_code": "LATE-CODE-1",
        "external_order_id": id,
    });
    let answered = app
        .client
        .post(format!("{}/v1/webhooks/esim-story", app.address))
        .header(
            WEBHOOK_SECRET_HEADER,
            StorySandboxConfig::default().webhook_secret,
        )
        .json(&webhook)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answered.status(),
        StatusCode::OK,
        "{}",
        answered.text().await.unwrap()
    );
    let extra = app
        .app
        .store()
        .upstream_purchases(Some(false))
        .await
        .unwrap();
    assert_eq!(extra.len(), 1, "{extra:?}");
    assert_eq!(extra[0].provider, ProviderId::EsimStory);
    assert_eq!(extra[0].local_id, id);
    assert!(
        !extra[0].detail.contains("LATE-CODE-1"),
        "no activation code kept"
    );
    // The order keeps its own eSIM.
    let after = app.get_json(&format!("/v1/orders/{id}")).await;
    assert_eq!(after["esims"], order["esims"]);
}
