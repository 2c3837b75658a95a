//! Issue 21 item 5: a delivery whose job never reached the queue is still
//! sent, once. Outbound deliveries are committed with their event, then
//! queued; a failed enqueue used to be only logged, and a crash between the
//! commit and the enqueue left the same thing behind: a delivery `pending`
//! for ever. The sweeper queues again whatever is long past due.

use std::time::Duration;

use serde_json::Value;
use simgate_domain::repository::{EventRepository, TenantRepository};
use sqlx::{Connection, Executor};

use crate::events::{Receiver, complete_an_order, register};
use crate::helpers::{Options, TestApp, eventually};

/// A test app on its own SQLite file, sweeping deliveries 5 s past due:
/// longer than a queued delivery waits for its worker on a loaded machine,
/// so a sweep never re-queues one that is about to go.
async fn app_on(dir: &tempfile::TempDir) -> (TestApp, String) {
    let database_url = format!("sqlite://{}", dir.path().join("lost.db").display());
    let app = TestApp::spawn_with(Options {
        database_url: Some(database_url.clone()),
        delivery_sweep_after_secs: 5,
        ..Options::default()
    })
    .await;
    (app, database_url)
}

/// The deliveries of the receiver's events, by event type, once every one
/// of them is no longer pending.
async fn settled_deliveries(app: &TestApp, event_type: &str) -> Vec<Value> {
    eventually(Duration::from_secs(30), || async {
        let events = app.get_json("/v1/events?limit=100").await;
        let deliveries: Vec<Value> = events["data"]
            .as_array()?
            .iter()
            .filter(|event| event["type"] == event_type)
            .flat_map(|event| event["deliveries"].as_array().cloned().unwrap_or_default())
            .collect();
        (!deliveries.is_empty() && deliveries.iter().all(|d| d["status"] != "pending"))
            .then_some(deliveries)
    })
    .await
}

#[tokio::test]
async fn a_delivery_whose_enqueue_failed_is_sent_once_by_the_sweeper() {
    let dir = tempfile::tempdir().unwrap();
    let (app, database_url) = app_on(&dir).await;
    let receiver = Receiver::start(&[]).await;
    register(&app, &receiver.url).await;
    // The queue refuses every new job, as a full disk or a dropped
    // connection to it would: the event commits, its enqueue fails.
    let mut db = sqlx::SqliteConnection::connect(&database_url)
        .await
        .unwrap();
    db.execute(
        "CREATE TRIGGER queue_down BEFORE INSERT ON Jobs \
         BEGIN SELECT RAISE(ABORT, 'queue down'); END",
    )
    .await
    .unwrap();
    let order = complete_an_order(&app, &app.api_key).await;
    let events = app.get_json("/v1/events?limit=100").await;
    let completed = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["type"] == "order.completed")
        .unwrap();
    assert_eq!(
        completed["payload"]["data"]["id"], order["id"],
        "{completed}"
    );
    assert_eq!(completed["deliveries"][0]["status"], "pending");
    assert!(receiver.received().is_empty());
    db.execute("DROP TRIGGER queue_down").await.unwrap();

    let received = receiver.wait_for(1).await;
    assert!(received[0].body.contains(order["id"].as_str().unwrap()));
    let deliveries = settled_deliveries(&app, "order.completed").await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(receiver.received().len(), 1, "sent once");
}

#[tokio::test]
async fn a_delivery_committed_just_before_a_crash_is_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = app_on(&dir).await;
    let receiver = Receiver::start(&[]).await;
    register(&app, &receiver.url).await;
    let store = app.app.store();
    let tenant = store
        .tenant_by_api_key(&app.api_key)
        .await
        .unwrap()
        .unwrap();
    // What a SIGKILL between the commit and the enqueue leaves behind: the
    // event and its pending delivery, and no job.
    let payload = serde_json::json!({
        "type": "order.completed",
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "data": { "id": "ord_crashed" },
    })
    .to_string();
    let (_, deliveries) = store
        .record_event(&tenant.id, "order.completed", "crash-1", None, &payload)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deliveries.len(), 1);

    let received = receiver.wait_for(1).await;
    assert!(received[0].body.contains("ord_crashed"));
    let deliveries = settled_deliveries(&app, "order.completed").await;
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(receiver.received().len(), 1, "sent once");
}
