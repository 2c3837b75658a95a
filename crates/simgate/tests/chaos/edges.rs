//! Nothing lost at the edges under chaos (issue 21 items 3 and 5): a
//! reseller's receiver is registered before the orders start, and
//! afterwards, within a bound:
//!
//! - every event recorded reached the receiver (its `webhook-id` seen at
//!   least once; Standard Webhooks is at least once) and has a delivered
//!   delivery; none is left pending or failed;
//! - no order was told the same thing twice (one event per type per order);
//! - every provider webhook stored was applied: none is left unapplied in
//!   the inbox, none gave up.

use std::collections::BTreeMap;
use std::sync::Mutex as SyncMutex;

use axum::http::HeaderMap;

use super::*;

/// How long, after every order is final, deliveries and the inbox have to
/// drain: a delivery the victim held is taken over after the queue's 15 s,
/// and the inbox retries with 5 s, 10 s, 20 s delays.
const DRAIN: Duration = Duration::from_secs(45);

/// The reseller's receiver: counts each `webhook-id` it is sent.
pub(super) struct Receiver {
    pub(super) url: String,
    seen: Arc<SyncMutex<BTreeMap<String, usize>>>,
}

impl Receiver {
    pub(super) async fn start() -> Self {
        let seen = Arc::new(SyncMutex::new(BTreeMap::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route(
                "/hooks",
                axum::routing::post(
                    |axum::extract::State(seen): axum::extract::State<
                        Arc<SyncMutex<BTreeMap<String, usize>>>,
                    >,
                     headers: HeaderMap| async move {
                        let id = headers
                            .get("webhook-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        *seen.lock().unwrap().entry(id).or_default() += 1;
                        StatusCode::OK
                    },
                ),
            )
            .with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, seen }
    }

    /// Registers the receiver as the tenant's endpoint.
    pub(super) async fn register(&self, http: &reqwest::Client, api: &str, key: &str) {
        let registered = http
            .post(format!("{api}/v1/webhook-endpoints"))
            .bearer_auth(key)
            .json(&json!({ "url": self.url }))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), StatusCode::CREATED);
    }
}

/// What is still moving: pending deliveries and unapplied webhooks.
async fn in_flight(db: &mut sqlx::AnyConnection, tenant_id: &str) -> (i64, i64) {
    let deliveries: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM event_deliveries d JOIN events e ON e.id = d.event_id \
         WHERE e.tenant_id = $1 AND d.status = 'pending'",
    )
    .bind(tenant_id.to_owned())
    .fetch_one(&mut *db)
    .await
    .unwrap();
    let webhooks: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM inbound_webhooks WHERE outcome IS NULL")
            .fetch_one(&mut *db)
            .await
            .unwrap();
    (deliveries.0, webhooks.0)
}

/// The failures of the edges, once deliveries and the inbox have drained
/// (or [`DRAIN`] has passed).
pub(super) async fn judge_edges(
    database_url: &str,
    tenant_id: &str,
    receiver: &Receiver,
) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let until = Instant::now() + DRAIN;
    let (pending, unapplied) = loop {
        let now = in_flight(&mut db, tenant_id).await;
        if now == (0, 0) || Instant::now() >= until {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut failures = Vec::new();
    if pending > 0 {
        failures.push(format!("{pending} deliveries still pending"));
    }
    if unapplied > 0 {
        failures.push(format!("{unapplied} provider webhooks left unapplied"));
    }
    let gave_up: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM inbound_webhooks WHERE outcome IN ('failed', 'unmatched', 'malformed')",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    if gave_up.0 > 0 {
        failures.push(format!("{} provider webhooks given up", gave_up.0));
    }
    let events: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT id, event_type, order_id FROM events WHERE tenant_id = $1")
            .bind(tenant_id.to_owned())
            .fetch_all(&mut db)
            .await
            .unwrap();
    let delivered: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT d.event_id FROM event_deliveries d JOIN events e ON e.id = d.event_id \
         WHERE e.tenant_id = $1 AND d.status = 'delivered'",
    )
    .bind(tenant_id.to_owned())
    .fetch_all(&mut db)
    .await
    .unwrap();
    let delivered: BTreeSet<String> = delivered.into_iter().map(|(id,)| id).collect();
    let seen = receiver.seen.lock().unwrap().clone();
    let undelivered = events.iter().filter(|e| !delivered.contains(&e.0)).count();
    let unseen = events.iter().filter(|e| !seen.contains_key(&e.0)).count();
    if undelivered > 0 || unseen > 0 {
        failures.push(format!(
            "of {} events, {undelivered} have no delivered delivery and {unseen} never reached the receiver",
            events.len()
        ));
    }
    let mut told: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (_, event_type, order) in &events {
        if let Some(order) = order {
            *told
                .entry((order.as_str(), event_type.as_str()))
                .or_default() += 1;
        }
    }
    let twice = told.values().filter(|n| **n > 1).count();
    if twice > 0 {
        failures.push(format!("{twice} orders were told the same thing twice"));
    }
    let resent = seen.values().filter(|n| **n > 1).count();
    eprintln!(
        "edges: {} events, all delivered: {}, {} sent more than once (at least once is the promise), {} webhooks inbound",
        events.len(),
        undelivered == 0,
        resent,
        {
            let inbound: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM inbound_webhooks")
                .fetch_one(&mut db)
                .await
                .unwrap();
            inbound.0
        }
    );
    failures
}
