//! Retention: old rows go in bounded batches, newer ones and pending
//! deliveries stay, orders keep everything but their idempotency key, and
//! only applied inbound webhooks are redacted.

use chrono::Duration;
use simgate_domain::entities::ConsoleSession;
use sqlx::{AnyConnection, Row};

use super::*;

/// Milliseconds `days` ago.
fn days_ago(days: i64) -> i64 {
    (Utc::now() - Duration::days(days)).timestamp_millis()
}

async fn run(conn: &mut AnyConnection, sql: &str, args: &[&str]) {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for arg in args {
        query = query.bind((*arg).to_owned());
    }
    query.execute(conn).await.unwrap();
}

async fn count(conn: &mut AnyConnection, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(conn)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

/// An event created `age` days ago, with one delivery per status given.
async fn event(conn: &mut AnyConnection, id: &str, age: i64, deliveries: &[&str]) {
    let at = days_ago(age).to_string();
    run(
        conn,
        &format!(
            "INSERT INTO events (id, tenant_id, event_type, dedupe_key, payload, created_at) \
             VALUES ($1, 't1', 'order.completed', $1, '{{}}', {at})"
        ),
        &[id],
    )
    .await;
    for (n, status) in deliveries.iter().enumerate() {
        run(
            conn,
            &format!(
                "INSERT INTO event_deliveries (id, event_id, endpoint_id, status, attempts, \
                 updated_at, due_at) VALUES ($1, $2, 'we1', $3, 1, {at}, {at})"
            ),
            &[&format!("{id}-d{n}"), id, status],
        )
        .await;
    }
}

async fn retention_scenario(store: Store, url: String) {
    let mut conn = AnyConnection::connect(&url).await.unwrap();
    store.create_tenant("t1", "one").await.unwrap();
    run(
        &mut conn,
        "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, enabled, created_at) \
         VALUES ('we1', 't1', 'https://example.com/hook', 's', 1, 0)",
        &[],
    )
    .await;

    // Deliveries: five old finished ones go three at a time; the old
    // pending one and the new finished one stay.
    for n in 0..5 {
        event(&mut conn, &format!("old-{n}"), 200, &["delivered"]).await;
    }
    event(&mut conn, "old-pending", 200, &["failed", "pending"]).await;
    event(&mut conn, "new", 1, &["delivered"]).await;
    let before = Utc::now() - Duration::days(90);
    assert_eq!(store.purge_deliveries(before, 3).await.unwrap(), 3);
    assert_eq!(store.purge_deliveries(before, 3).await.unwrap(), 3);
    assert_eq!(store.purge_deliveries(before, 3).await.unwrap(), 0);
    let left = "SELECT COUNT(*) FROM event_deliveries";
    assert_eq!(count(&mut conn, left).await, 2);
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) FROM event_deliveries WHERE status = 'pending'"
        )
        .await,
        1
    );

    // Events: the old ones without a pending delivery go, two at a time;
    // the one with a pending delivery and the new one stay.
    event(&mut conn, "old-with-delivery", 200, &["failed"]).await;
    assert_eq!(store.purge_events(before, 2).await.unwrap(), 2);
    assert_eq!(store.purge_events(before, 2).await.unwrap(), 2);
    assert_eq!(store.purge_events(before, 2).await.unwrap(), 2);
    assert_eq!(store.purge_events(before, 2).await.unwrap(), 0);
    let mut events: Vec<String> = sqlx::query("SELECT id FROM events ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("id").unwrap())
        .collect();
    events.sort();
    assert_eq!(events, ["new", "old-pending"]);
    assert_eq!(
        count(&mut conn, left).await,
        2,
        "the pending event's deliveries stay"
    );

    // Expired sessions: one long expired goes, a live one stays.
    for (hash, expired_days) in [("gone", 3), ("live", -1)] {
        let session = ConsoleSession {
            token_hash: hash.to_owned(),
            operator: true,
            tenant_id: None,
            csrf_token: "c".to_owned(),
            expires_at: Utc::now() - Duration::days(expired_days),
            credential: "fp".to_owned(),
        };
        store
            .insert_session(&session, Utc::now() - Duration::days(10))
            .await
            .unwrap();
    }
    let a_day_ago = Utc::now() - Duration::days(1);
    assert_eq!(
        store.purge_expired_sessions(a_day_ago, 10).await.unwrap(),
        1
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) FROM console_sessions").await,
        1
    );

    // Idempotency keys: an old finished order loses its key (the order
    // stays); an old pending one and a new finished one keep theirs.
    for key in ["old-done", "old-moving", "new-done"] {
        let InsertOutcome::Created(order) = store
            .insert_order(&new_order("t1", Some(key)))
            .await
            .unwrap()
        else {
            panic!("new order expected")
        };
        let (status, age) = match key {
            "old-done" => ("completed", 60),
            "old-moving" => ("pending", 60),
            _ => ("completed", 1),
        };
        run(
            &mut conn,
            &format!(
                "UPDATE orders SET status = $2, created_at = {} WHERE id = $1",
                days_ago(age)
            ),
            &[order.id.to_string().as_str(), status],
        )
        .await;
    }
    let month_ago = Utc::now() - Duration::days(30);
    assert_eq!(
        store.clear_idempotency_keys(month_ago, 10).await.unwrap(),
        1
    );
    assert_eq!(
        store.clear_idempotency_keys(month_ago, 10).await.unwrap(),
        0
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) FROM orders").await,
        3,
        "orders stay"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) FROM orders WHERE idempotency_key IS NULL"
        )
        .await,
        1
    );
    // The cleared key makes a new order; a kept one still finds its order.
    let again = store.insert_order(&new_order("t1", Some("old-done"))).await;
    assert!(matches!(again.unwrap(), InsertOutcome::Created(_)));
    let again = store.insert_order(&new_order("t1", Some("new-done"))).await;
    assert!(matches!(again.unwrap(), InsertOutcome::Existing(_)));

    // Inbound webhooks: only the applied one is offered for redaction; the
    // unmatched and unfinished ones keep their bodies.
    let body = r#"{"activation_code":"LPA:1$x$SECRET"}"#;
    let mut ids = Vec::new();
    for key in ["applied", "unmatched", "unfinished"] {
        let stored = store
            .store_webhook(ProviderId::SimLocal, key, body, Utc::now())
            .await
            .unwrap();
        match key {
            "applied" => store
                .finish_webhook(&stored.id, "esim ready")
                .await
                .unwrap(),
            "unmatched" => store.finish_webhook(&stored.id, "unmatched").await.unwrap(),
            _ => {}
        }
        ids.push(stored.id);
    }
    let pending = store.unredacted_webhooks(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].id.as_str(), pending[0].body.as_str()),
        (ids[0].as_str(), body)
    );
    assert!(store.redact_webhook(&ids[0], "{}").await.unwrap());
    assert!(!store.redact_webhook(&ids[0], "{}").await.unwrap());
    assert!(
        !store.redact_webhook(&ids[2], "{}").await.unwrap(),
        "not applied"
    );
    assert!(store.unredacted_webhooks(10).await.unwrap().is_empty());
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) FROM inbound_webhooks WHERE body = '{}'"
        )
        .await,
        1
    );

    // Processed webhooks past their retention go; an unfinished one stays.
    run(
        &mut conn,
        "UPDATE inbound_webhooks SET received_at = 0",
        &[],
    )
    .await;
    assert_eq!(store.purge_inbound_webhooks(month_ago, 1).await.unwrap(), 1);
    assert_eq!(store.purge_inbound_webhooks(month_ago, 1).await.unwrap(), 1);
    assert_eq!(store.purge_inbound_webhooks(month_ago, 1).await.unwrap(), 0);
    let left: String = sqlx::query("SELECT id FROM inbound_webhooks")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    assert_eq!(left, ids[2]);
}

#[tokio::test]
async fn retention_purges_in_bounded_batches_on_sqlite() {
    let (store, url, _dir) = sqlite_at().await;
    retention_scenario(store, url).await;
}

#[tokio::test]
async fn retention_purges_in_bounded_batches_on_postgres() {
    let (store, url) = postgres_at().await;
    retention_scenario(store, url).await;
}
