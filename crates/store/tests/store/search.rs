//! The console's order search and order history, asked of the store: an
//! order is found however many newer ones there are (the console used to
//! scan the newest 5,000 and miss the rest), and an order's events are
//! found however many events came after them.

use simgate_domain::OrderId;
use simgate_domain::entities::OrderQuery;

use super::*;

/// Newer orders than the console's old scan limit read.
const NEWER: usize = 5_000;

/// Rows per `INSERT` of the bulk load (well under both back-ends'
/// statement limits).
const CHUNK: usize = 1_000;

/// The old order: keyed, delivered with one eSIM, completed at eSIM Go.
async fn old_order(store: &Store) -> (OrderId, Iccid) {
    let InsertOutcome::Created(order) = store
        .insert_order(&new_order("t1", Some("Checkout-Old-42")))
        .await
        .unwrap()
    else {
        panic!("new order expected")
    };
    let fence = store
        .claim_for_submission(&order.id, order.fence, Utc::now())
        .await
        .unwrap()
        .unwrap();
    let esim = InstallDetails {
        iccid: Iccid::with_check_digit("894400000000424242").unwrap(),
        activation: ActivationCode::new("smdp.example", "OLD"),
        confirmation_code: None,
    };
    store
        .record_upstream_order(
            &order,
            fence,
            "UP-old-ref",
            "completed",
            OrderStatus::Completed,
            std::slice::from_ref(&esim),
        )
        .await
        .unwrap();
    (order.id, esim.iccid)
}

/// Writes `NEWER` orders of tenant t1 (ids made after the old order's, so
/// newer) straight into the database in one transaction: 5,000 HTTP calls
/// would take minutes and test nothing more.
async fn load_newer_orders(url: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let now = Utc::now().timestamp_millis();
    let rows: Vec<String> = (0..NEWER)
        .map(|i| {
            let id = format!("ord_{}", uuid::Uuid::now_v7().simple());
            let status = if i % 2 == 0 { "completed" } else { "failed" };
            format!(
                "('{id}', 't1', 'h', 'esim-go', 'esim-go:esim_1GB_7D_JP_V2', 'esim_1GB_7D_JP_V2', \
                 'new_esim', 1, 1365000, 'USD', '{status}', 0, 1, {now}, {now})"
            )
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO orders (id, tenant_id, request_hash, provider, product_id, sku, kind, \
             quantity, unit_price_micros, currency, status, retryable, attempts, created_at, \
             updated_at) VALUES {}",
            chunk.join(", ")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

fn query(text: Option<&str>, status: Option<OrderStatus>, limit: u32, offset: u32) -> OrderQuery {
    OrderQuery {
        status,
        provider: None,
        text: text.map(str::to_owned),
        limit,
        offset,
    }
}

/// An order older than 5,000 newer ones is found by every field the
/// console searches, by its status on the last page, and only by its tenant.
async fn an_old_order_is_found_behind_newer_ones(store: Store, url: &str) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let (old, iccid) = old_order(&store).await;
    load_newer_orders(url).await;
    store.insert_order(&new_order("t2", None)).await.unwrap();

    let search = |q: OrderQuery| {
        let store = store.clone();
        async move { store.search_orders("t1", &q).await.unwrap() }
    };
    let (all, total) = search(query(None, None, 25, 0)).await;
    assert_eq!(total, NEWER as u64 + 1);
    assert_eq!(all.len(), 25);
    assert!(
        all.windows(2).all(|w| w[0].id.0 > w[1].id.0),
        "newest first"
    );

    // Any part of any searched field, in any case.
    let suffix = &old.0[old.0.len() - 12..];
    for text in [
        suffix.to_uppercase().as_str(),
        "checkout-old-42",
        "up-OLD-ref",
        &iccid.as_str()[6..16],
    ] {
        let (found, total) = search(query(Some(text), None, 25, 0)).await;
        assert_eq!(total, 1, "searching {text:?}");
        assert_eq!(found[0].id, old, "searching {text:?}");
        assert_eq!(found[0].iccids, vec![iccid.clone()]);
    }
    // The product matches every order; the page is bounded, the total not.
    let (found, total) = search(query(Some("esim_1gb"), None, 10, 0)).await;
    assert_eq!((found.len(), total), (10, NEWER as u64 + 1));

    // By status, the old order is the last one on the last page.
    let completed = NEWER as u64 / 2 + 1;
    let (_, total) = search(query(None, Some(OrderStatus::Completed), 1, 0)).await;
    assert_eq!(total, completed);
    let last = u32::try_from(completed - 1).unwrap();
    let (found, _) = search(query(None, Some(OrderStatus::Completed), 25, last)).await;
    assert_eq!(found.iter().map(|o| &o.id).collect::<Vec<_>>(), vec![&old]);
    let provider = OrderQuery {
        provider: Some(ProviderId::SimLocal),
        ..query(None, None, 25, 0)
    };
    assert_eq!(search(provider).await.1, 0);

    // The dashboard's per-hour sums cover every order too: 2,501 completed
    // (the old one among them) and 2,500 failed at 1.365 USD each.
    let hourly = store
        .hourly_orders("t1", Utc::now() - chrono::Duration::days(1))
        .await
        .unwrap();
    let with = |status: OrderStatus| hourly.iter().filter(move |h| h.status == status);
    let count = |status| with(status).map(|h| h.orders).sum::<u64>();
    assert_eq!(count(OrderStatus::Completed), completed);
    assert_eq!(count(OrderStatus::Failed), NEWER as u64 / 2);
    let failed_charged: Decimal = with(OrderStatus::Failed).map(|h| h.charged.amount).sum();
    assert_eq!(failed_charged, Decimal::from_str("3412.5").unwrap());
    assert!(with(OrderStatus::Failed).all(|h| h.margin.is_none()));
    let old_margin = with(OrderStatus::Completed).find_map(|h| h.margin);
    assert!(old_margin.is_some(), "the old order was sold with a margin");
    let theirs = store
        .hourly_orders("t2", Utc::now() - chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(theirs.iter().map(|h| h.orders).sum::<u64>(), 1);

    // LIKE's wildcards are searched for as characters.
    assert_eq!(search(query(Some("%"), None, 25, 0)).await.1, 0);
    assert_eq!(search(query(Some("e_im"), None, 25, 0)).await.1, 0);
    // Another tenant finds only its own order.
    let (theirs, total) = store
        .search_orders("t2", &query(Some(suffix), None, 25, 0))
        .await
        .unwrap();
    assert_eq!((theirs.len(), total), (0, 0));
}

#[tokio::test]
async fn an_old_order_is_found_behind_newer_ones_on_sqlite() {
    let (store, url, _dir) = sqlite_at().await;
    an_old_order_is_found_behind_newer_ones(store, &url).await;
}

#[tokio::test]
async fn an_old_order_is_found_behind_newer_ones_on_postgres() {
    let (store, url) = postgres_at().await;
    an_old_order_is_found_behind_newer_ones(store, &url).await;
}

/// An order's events are read by the order, oldest first, whatever came
/// after them, and never another tenant's.
pub(super) async fn an_orders_events_are_read_by_order_and_tenant(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let ours = OrderId("ord_ours".into());
    let other = OrderId("ord_other".into());
    let record = |tenant: &'static str, kind: &'static str, key: String, order: Option<OrderId>| {
        let store = store.clone();
        async move {
            store
                .record_event(tenant, kind, &key, order.as_ref(), "{}")
                .await
                .unwrap()
                .unwrap()
                .0
        }
    };
    let failed = record("t1", "order.failed", "f:1".into(), Some(ours.clone())).await;
    for i in 0..210 {
        record(
            "t1",
            "order.completed",
            format!("c:{i}"),
            Some(other.clone()),
        )
        .await;
    }
    record("t1", "esim.usage.low", "u:1".into(), None).await;
    let completed = record("t1", "order.completed", "c:ours".into(), Some(ours.clone())).await;
    record("t2", "order.completed", "c:t2".into(), Some(ours.clone())).await;

    let events = store.events_for_order("t1", &ours).await.unwrap();
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec![failed.as_str(), completed.as_str()]);
    assert!(events.iter().all(|e| e.tenant_id == "t1"));
    assert_eq!(store.events_for_order("t2", &ours).await.unwrap().len(), 1);
    assert!(
        store
            .events_for_order("t2", &other)
            .await
            .unwrap()
            .is_empty()
    );
}
