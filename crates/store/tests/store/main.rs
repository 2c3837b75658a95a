//! The store's guarantees, on both back-ends: SQLite files and a real
//! PostgreSQL server (a fresh database per test).

use std::str::FromStr;

use chrono::Utc;
use rust_decimal::Decimal;
use simgate_domain::{
    ActivationCode, CountryCode, Currency, DataAllowance, Iccid, InstallDetails, Money, Msisdn,
    NewAddress, OrderKind, OrderStatus, Product, ProductId, ProviderId, ShippingAddress, SimOrder,
    SimOrderStatus,
};
use simgate_store::{
    InsertOutcome, Lease, LineActivation, LineStatus, NewOrder, ProductFilter, ProductSort,
    Recorded, SimOrderAnswer, SimOrderInsert, SimOrderState, Store, StoreError, UpstreamAnswer,
};
use sqlx::Connection;

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (Store::connect(&url).await.unwrap(), dir)
}

async fn postgres() -> Store {
    sqlx::any::install_default_drivers();
    let server = std::env::var("SIMGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("simgate_store_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL must be running for the test suite (see .ci/run)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    Store::connect(&format!("{server}/{name}")).await.unwrap()
}

fn usd(amount: &str) -> Money {
    Money::new(
        Decimal::from_str(amount).unwrap(),
        Currency::parse("USD").unwrap(),
    )
    .unwrap()
}

fn product(sku: &str, countries: &[&str], mb: Option<u64>, price: &str) -> Product {
    Product {
        id: ProductId::new(ProviderId::EsimGo, sku),
        name: sku.to_owned(),
        countries: countries
            .iter()
            .map(|c| CountryCode::parse(c).unwrap())
            .collect(),
        data: mb.map_or(DataAllowance::Unlimited, |mb| DataAllowance::Limited { mb }),
        validity_days: 7,
        price: usd(price),
    }
}

fn new_order(tenant: &str, key: Option<&str>) -> NewOrder {
    NewOrder {
        tenant_id: tenant.to_owned(),
        idempotency_key: key.map(str::to_owned),
        request_hash: "h".into(),
        product_id: ProductId::new(ProviderId::EsimGo, "esim_1GB_7D_JP_V2"),
        kind: OrderKind::NewEsim,
        quantity: 1,
        unit_price: usd("1.365"),
    }
}

async fn concurrent_inserts_with_one_key_make_one_order(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_order(&new_order("t1", Some("k")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut ids = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            InsertOutcome::Created(o) => {
                ids.push(o.id.clone());
                created.push(o);
            }
            InsertOutcome::Existing(o) => ids.push(o.id.clone()),
        }
    }
    assert_eq!(created.len(), 1);
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert_eq!(
        created[0].unit_price,
        usd("1.365"),
        "sub-cent prices are exact"
    );
}

async fn only_one_worker_claims_an_order(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let InsertOutcome::Created(order) = store.insert_order(&new_order("t1", None)).await.unwrap()
    else {
        panic!("new order expected")
    };
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, id) = (store.clone(), order.id.clone());
            tokio::spawn(async move {
                store
                    .claim_for_submission(&id, 0, Utc::now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap().is_some());
    }
    assert_eq!(winners, 1);
    let claimed = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!(claimed.status, OrderStatus::Submitted);
    assert_eq!((claimed.attempts, claimed.fence), (1, 1));
}

async fn one_upstream_order_links_to_one_local_order(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let InsertOutcome::Created(order) =
            store.insert_order(&new_order("t1", None)).await.unwrap()
        else {
            panic!("new order expected")
        };
        assert_eq!(
            store
                .claim_for_submission(&order.id, 0, Utc::now())
                .await
                .unwrap(),
            Some(1)
        );
        ids.push(order.id);
    }
    let esim = InstallDetails {
        iccid: Iccid::with_check_digit("894400000000000123").unwrap(),
        activation: ActivationCode::new("smdp.example", "ABC"),
        confirmation_code: None,
    };
    let first = store
        .record_upstream_order(
            &ids[0],
            1,
            "ref-1",
            "completed",
            OrderStatus::Completed,
            std::slice::from_ref(&esim),
        )
        .await
        .unwrap();
    let Recorded::Linked {
        order: first,
        superseded: false,
    } = first
    else {
        panic!("the current attempt's answer is linked: {first:?}")
    };
    assert_eq!(first.iccids, vec![esim.iccid.clone()]);
    assert!(
        store
            .purchase_taken(ProviderId::EsimGo, "ref-1")
            .await
            .unwrap()
    );
    let second = store
        .record_upstream_order(
            &ids[1],
            1,
            "ref-1",
            "completed",
            OrderStatus::Completed,
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(second, Recorded::LinkedElsewhere(_)), "{second:?}");
    let untouched = store.order_by_id(&ids[1]).await.unwrap().unwrap();
    assert_eq!(untouched.status, OrderStatus::Submitted);
    // A completed order is not completed again: a second purchase is kept
    // as an extra one of that order, never dropped.
    let again = store
        .record_upstream_order(
            &ids[0],
            first.fence,
            "ref-2",
            "completed",
            OrderStatus::Completed,
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(again, Recorded::Extra(_)), "{again:?}");
    let extras = store.upstream_purchases(Some(false)).await.unwrap();
    assert_eq!(extras.len(), 1);
    assert_eq!(
        (extras[0].upstream_ref.as_str(), extras[0].local_id.as_str()),
        ("ref-2", ids[0].0.as_str())
    );
    let completed = store.order_by_id(&ids[0]).await.unwrap().unwrap();
    assert_eq!(completed.upstream_ref.as_deref(), Some("ref-1"));
    let found = store
        .esim_for_tenant("t1", &esim.iccid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.install, esim);
    assert!(
        store
            .esim_for_tenant("t2", &esim.iccid)
            .await
            .unwrap()
            .is_none()
    );
}

async fn catalogue_replacement_and_search(store: Store) {
    let at = Utc::now();
    let first = vec![
        product("jp_small", &["JP"], Some(1000), "4.50"),
        product("jp_big", &["JP", "KR"], Some(20000), "19.99"),
        product("jp_unlimited", &["JP"], None, "29.00"),
        product("fr_small", &["FR"], Some(1000), "3.10"),
    ];
    assert_eq!(
        store
            .replace_catalogue(ProviderId::EsimGo, &first, at)
            .await
            .unwrap(),
        4
    );
    let japan = ProductFilter {
        country: Some(CountryCode::parse("JP").unwrap()),
        limit: 10,
        ..ProductFilter::default()
    };
    let (found, total) = store.search_products(&japan).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(found[0].id.sku, "jp_small");
    assert_eq!(found[1], first[1], "round trip is exact");

    let big = ProductFilter {
        min_data_mb: Some(5000),
        max_price_micros: Some(25_000_000),
        sort: ProductSort::PriceDesc,
        ..japan.clone()
    };
    let (found, _) = store.search_products(&big).await.unwrap();
    assert_eq!(
        found.iter().map(|p| p.id.sku.as_str()).collect::<Vec<_>>(),
        ["jp_big"]
    );

    // A product the provider no longer lists disappears from search.
    store
        .replace_catalogue(ProviderId::EsimGo, &first[1..], at)
        .await
        .unwrap();
    let (_, total) = store.search_products(&japan).await.unwrap();
    assert_eq!(total, 2);
    assert!(store.product(&first[0].id).await.unwrap().is_none());
    let (synced, count) = store
        .last_catalogue_sync(ProviderId::EsimGo)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count, 3);
    assert_eq!(synced.timestamp_millis(), at.timestamp_millis());
}

async fn api_keys_are_stored_hashed(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.add_api_key("t1", "sk_live_secret").await.unwrap();
    store.add_api_key("t1", "sk_live_secret").await.unwrap();
    assert_eq!(
        store
            .tenant_by_api_key("sk_live_secret")
            .await
            .unwrap()
            .unwrap()
            .id,
        "t1"
    );
    assert!(
        store
            .tenant_by_api_key("sk_live_other")
            .await
            .unwrap()
            .is_none()
    );
    assert_ne!(
        simgate_store::hash_api_key("sk_live_secret"),
        "sk_live_secret"
    );
}

async fn tenant_names_are_unique_and_keys_can_be_replaced_or_disabled(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let taken = store.create_tenant("t2", "one").await.unwrap_err();
    assert!(
        matches!(&taken, StoreError::Taken(what) if what.contains("one")),
        "{taken:?}"
    );
    store.create_tenant("t2", "two").await.unwrap();
    store.add_api_key("t1", "sk_live_first_key").await.unwrap();

    assert!(
        store
            .replace_api_keys("t1", "sk_live_second_key")
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_api_keys("t9", "sk_live_orphan")
            .await
            .unwrap()
    );
    assert!(
        store
            .tenant_by_api_key("sk_live_first_key")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .tenant_by_api_key("sk_live_second_key")
            .await
            .unwrap()
            .unwrap()
            .id,
        "t1"
    );

    let accounts = store.tenant_accounts().await.unwrap();
    let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    assert_eq!(accounts[0].key_prefixes, ["sk_live_seco"]);
    assert!(accounts.iter().all(|a| a.disabled_at.is_none()));

    let at = Utc::now();
    assert!(store.disable_tenant("t1", at).await.unwrap());
    assert!(
        store
            .disable_tenant("t1", at + chrono::Duration::hours(1))
            .await
            .unwrap()
    );
    assert!(!store.disable_tenant("t9", at).await.unwrap());
    assert!(
        store
            .tenant_by_api_key("sk_live_second_key")
            .await
            .unwrap()
            .is_none()
    );
    let disabled = store.tenant_account("t1").await.unwrap().unwrap();
    assert_eq!(
        disabled.disabled_at.map(|d| d.timestamp_millis()),
        Some(at.timestamp_millis()),
        "the first disabling time is kept"
    );
}

fn shipped(id: &str, status: Option<SimOrderStatus>) -> SimOrder {
    let at = Utc::now();
    SimOrder {
        id: id.to_owned(),
        quantity: 2,
        cost: usd("2.53"),
        status,
        provider_status: status.map_or("lost_in_transit", |s| s.as_str()).to_owned(),
        tracking_url: None,
        address: ShippingAddress {
            id: "1293384261075731499".into(),
            address: NewAddress {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                business_name: "Engines".into(),
                street_address: "311 W Superior St".into(),
                extended_address: None,
                locality: "Chicago".into(),
                administrative_area: None,
                postal_code: None,
                country_code: CountryCode::parse("US").unwrap(),
            },
        },
        created_at: at,
        updated_at: at,
    }
}

async fn sim_orders_are_written_first_keyed_and_paged(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let insert = |tenant: &str, key: Option<&str>| SimOrderInsert {
        tenant_id: tenant.to_owned(),
        provider: ProviderId::Telnyx,
        address_id: "1293384261075731499".into(),
        quantity: 2,
        idempotency_key: key.map(str::to_owned),
        request_hash: "h".into(),
    };
    let InsertOutcome::Created(first) = store
        .insert_sim_order(&insert("t1", Some("k")))
        .await
        .unwrap()
    else {
        panic!("first insert creates");
    };
    assert_eq!(first.state, SimOrderState::Submitting);
    let InsertOutcome::Existing(again) = store
        .insert_sim_order(&insert("t1", Some("k")))
        .await
        .unwrap()
    else {
        panic!("same key, same order");
    };
    assert_eq!(again.id, first.id);
    assert!(matches!(
        store
            .insert_sim_order(&insert("t2", Some("k")))
            .await
            .unwrap(),
        InsertOutcome::Created(_)
    ));

    let answer = store
        .record_sim_order_answer(
            &first.id,
            first.fence,
            &shipped("up-1", Some(SimOrderStatus::Shipped)),
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        SimOrderAnswer::Linked {
            previous: SimOrderState::Submitting,
            superseded: false
        }
    );
    let stored = store.sim_order(&first.id).await.unwrap().unwrap();
    assert_eq!(stored.state, SimOrderState::Placed(SimOrderStatus::Shipped));
    assert_eq!(stored.snapshot.unwrap().cost, usd("2.53"));
    assert!(
        store
            .purchase_taken(ProviderId::Telnyx, "up-1")
            .await
            .unwrap()
    );

    for _ in 0..4 {
        store.insert_sim_order(&insert("t1", None)).await.unwrap();
    }
    let (page, total) = store.sim_orders_for_tenant("t1", None, 2, 2).await.unwrap();
    assert_eq!((page.len(), total), (2, 5));
    let (shipped_only, total) = store
        .sim_orders_for_tenant("t1", Some("shipped"), 1, 10)
        .await
        .unwrap();
    assert_eq!((shipped_only.len(), total), (1, 1));
    let (_, submitting) = store
        .sim_orders_for_tenant("t1", Some("submitting"), 1, 10)
        .await
        .unwrap();
    assert_eq!(submitting, 4);
    let follow = store
        .claim_sim_orders_to_follow(&lease("a", 60_000), in_a_minute(), 100)
        .await
        .unwrap();
    assert_eq!(follow.len(), 6, "everything but nothing final");

    // A status nobody documented is kept, and the order keeps being followed.
    store
        .record_sim_order(&first.id, &shipped("up-1", None))
        .await
        .unwrap();
    let odd = store.sim_order(&first.id).await.unwrap().unwrap();
    assert_eq!(odd.state, SimOrderState::PlacedUnknown);
    assert_eq!(odd.snapshot.unwrap().provider_status, "lost_in_transit");
}

async fn a_number_is_one_tenants_line_until_ceased(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let mpn = Msisdn::parse("447700900001").unwrap();
    let claimed = store
        .claim_line("t1", ProviderId::Onsim, &mpn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.status, LineStatus::Provisioning);
    assert!(
        store
            .claim_line("t2", ProviderId::Onsim, &mpn)
            .await
            .unwrap()
            .is_none(),
        "one number, one line"
    );
    let iccid = Iccid::with_check_digit("8944530000000012345").unwrap();
    assert_eq!(
        store
            .activate_line("t1", ProviderId::Onsim, &mpn, claimed.fence, Some(&iccid))
            .await
            .unwrap(),
        LineActivation::Activated { superseded: false }
    );
    assert!(
        store
            .claim_lines_to_settle(&lease("a", 60_000), in_a_minute(), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let renumbered = Msisdn::parse("447700900002").unwrap();
    store
        .renumber_line(ProviderId::Onsim, &mpn, &renumbered)
        .await
        .unwrap();
    let line = store
        .line(ProviderId::Onsim, &renumbered)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((line.tenant_id.as_str(), line.iccid), ("t1", Some(iccid)));
    store
        .set_line_status(ProviderId::Onsim, &renumbered, LineStatus::Ceased, None)
        .await
        .unwrap();
    let reused = store
        .claim_line("t2", ProviderId::Onsim, &renumbered)
        .await
        .unwrap()
        .expect("a ceased line frees its number");
    assert_eq!(reused.tenant_id, "t2");
    assert!(
        store
            .release_line(ProviderId::Onsim, &renumbered, reused.fence)
            .await
            .unwrap()
    );
    assert!(store.lines_for_tenant("t2").await.unwrap().is_empty());
}

/// A lease held by `owner` for `ms` milliseconds from now.
fn lease(owner: &str, ms: i64) -> Lease {
    Lease {
        owner: owner.to_owned(),
        until: Utc::now() + chrono::Duration::milliseconds(ms),
    }
}

/// A cutoff every row written so far is older than.
fn in_a_minute() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(1)
}

async fn created_order(store: &Store) -> simgate_store::OrderRecord {
    let InsertOutcome::Created(order) = store.insert_order(&new_order("t1", None)).await.unwrap()
    else {
        panic!("new order expected")
    };
    order
}

/// The bug of issue 8: a reconciler that read an order before another one
/// re-sent it must not reopen and re-send it again. Without the fence,
/// `reopen_order` only checked `submitted AND upstream_ref IS NULL`, which
/// the re-sent order still is, so the stale reopen succeeded.
async fn a_stale_read_cannot_reopen_or_resend(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let order = created_order(&store).await;
    let first = store
        .claim_for_submission(&order.id, order.fence, Utc::now())
        .await
        .unwrap()
        .unwrap();
    // Two reconcilers read the order while its answer is lost.
    let stale = store.order_by_id(&order.id).await.unwrap().unwrap();
    let fresh = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!((stale.fence, fresh.fence), (first, first));
    // One of them re-sends it: reopen, then claim again.
    let reopened = store
        .reopen_order(&fresh.id, fresh.fence)
        .await
        .unwrap()
        .unwrap();
    let second = store
        .claim_for_submission(&fresh.id, reopened, Utc::now())
        .await
        .unwrap()
        .expect("the fresh reader re-sends");
    let resent = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!(
        (
            resent.status,
            resent.upstream_ref.as_deref(),
            resent.attempts
        ),
        (OrderStatus::Submitted, None, 2),
        "in flight again, exactly the state the old reopen accepted"
    );
    // The other one, holding its stale read, can move nothing.
    assert_eq!(
        store.reopen_order(&stale.id, stale.fence).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_for_submission(&stale.id, stale.fence, Utc::now())
            .await
            .unwrap(),
        None
    );
    let failure = simgate_store::OrderFailure {
        code: "upstream_rejected".into(),
        message: "stale".into(),
        retryable: true,
    };
    assert!(
        !store
            .fail_order(&stale.id, stale.fence, &failure)
            .await
            .unwrap()
    );
    let after = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!((after.attempts, after.fence), (2, second));
    // The current attempt still ends normally.
    let recorded = store
        .record_upstream_order(
            &order.id,
            second,
            "ref-1",
            "completed",
            OrderStatus::Completed,
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(
        recorded,
        Recorded::Linked {
            superseded: false,
            ..
        }
    ));
    // A retryable failure re-tried by the same key is re-claimed under a new fence.
    let retried = created_order(&store).await;
    let attempt = store
        .claim_for_submission(&retried.id, retried.fence, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .fail_order(&retried.id, attempt, &failure)
            .await
            .unwrap()
    );
    let failed = store.order_by_id(&retried.id).await.unwrap().unwrap();
    let reopened = store
        .reopen_order(&failed.id, failed.fence)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.reopen_order(&failed.id, failed.fence).await.unwrap(),
        None
    );
    assert!(
        store
            .claim_for_submission(&failed.id, reopened, Utc::now())
            .await
            .unwrap()
            .is_some()
    );
}

async fn concurrent_batch_claims_get_disjoint_sets(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let mut all = std::collections::BTreeSet::new();
    for _ in 0..40 {
        all.insert(created_order(&store).await.id.0);
    }
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_orders_to_reconcile(
                        &lease(&format!("instance-{n}"), 60_000),
                        in_a_minute(),
                        in_a_minute(),
                        10,
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claimed = std::collections::BTreeSet::new();
    let mut total = 0;
    for task in tasks {
        let batch = task.await.unwrap();
        assert!(batch.len() <= 10);
        for order in batch {
            assert_eq!(order.fence, 1, "leasing bumps the fence once");
            total += 1;
            assert!(claimed.insert(order.id.0), "an order was claimed twice");
        }
    }
    assert_eq!(total, claimed.len());
    // Whatever a claim skipped is still there for the next one; nothing
    // leased is handed out again while the lease runs.
    let rest = store
        .claim_orders_to_reconcile(&lease("late", 60_000), in_a_minute(), in_a_minute(), 100)
        .await
        .unwrap();
    for order in rest {
        assert!(
            claimed.insert(order.id.0),
            "a leased order was claimed again"
        );
    }
    assert_eq!(claimed, all);
    assert!(
        store
            .claim_orders_to_reconcile(&lease("late", 60_000), in_a_minute(), in_a_minute(), 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_expired_lease_is_taken_over(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let order = created_order(&store).await;
    // A reconciler takes the order, then is killed: its lease is never released.
    let killed = store
        .claim_orders_to_reconcile(&lease("killed", 300), in_a_minute(), in_a_minute(), 10)
        .await
        .unwrap();
    assert_eq!(killed.len(), 1);
    let taken_at = Utc::now();
    let takeover = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let batch = store
                .claim_orders_to_reconcile(
                    &lease("survivor", 60_000),
                    in_a_minute(),
                    in_a_minute(),
                    10,
                )
                .await
                .unwrap();
            if !batch.is_empty() {
                return batch;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the lease expires and the order is taken over");
    assert!(
        Utc::now() - taken_at >= chrono::Duration::milliseconds(250),
        "not before the lease ends"
    );
    assert_eq!(takeover[0].id, order.id);
    assert_eq!(takeover[0].fence, killed[0].fence + 1);
    // Had the first reconciler only paused, its moves are now fenced off.
    assert_eq!(
        store
            .claim_for_submission(&order.id, killed[0].fence, Utc::now())
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .claim_for_submission(&order.id, takeover[0].fence, Utc::now())
            .await
            .unwrap()
            .is_some()
    );
    // SIM orders and lines are leased the same way.
    store
        .insert_sim_order(&SimOrderInsert {
            tenant_id: "t1".into(),
            provider: ProviderId::Telnyx,
            address_id: "a".into(),
            quantity: 1,
            idempotency_key: None,
            request_hash: "h".into(),
        })
        .await
        .unwrap();
    let mpn = Msisdn::parse("447700900009").unwrap();
    store
        .claim_line("t1", ProviderId::Onsim, &mpn)
        .await
        .unwrap()
        .unwrap();
    let sims = store
        .claim_sim_orders_to_follow(&lease("killed", 60_000), in_a_minute(), 10)
        .await
        .unwrap();
    let lines = store
        .claim_lines_to_settle(&lease("killed", 60_000), in_a_minute(), 10)
        .await
        .unwrap();
    assert_eq!((sims.len(), lines.len()), (1, 1));
    assert!(
        store
            .claim_sim_orders_to_follow(&lease("other", 60_000), in_a_minute(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_lines_to_settle(&lease("other", 60_000), in_a_minute(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A provider order matched by content is a guess: a reconciler whose
/// attempt was superseded (or whose order meanwhile got its purchase) must
/// drop it, never keep it as an extra purchase, since it may be the
/// purchase of another order of the same content whose answer was lost.
async fn a_stale_match_is_not_taken(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let order = created_order(&store).await;
    store
        .claim_for_submission(&order.id, order.fence, Utc::now())
        .await
        .unwrap()
        .unwrap();
    // Two reconcilers: the first lease expires, the second takes over.
    let first = store
        .claim_orders_to_reconcile(&lease("r1", -1_000), in_a_minute(), in_a_minute(), 10)
        .await
        .unwrap();
    let second = store
        .claim_orders_to_reconcile(&lease("r2", 60_000), in_a_minute(), in_a_minute(), 10)
        .await
        .unwrap();
    assert!(second[0].fence > first[0].fence);
    // The stale one matches a provider order: not taken, nothing recorded.
    let stale = store
        .adopt_matched_order(
            &order.id,
            first[0].fence,
            &UpstreamAnswer {
                upstream_ref: "ref-someone-elses",
                provider_status: "completed",
                status: OrderStatus::Completed,
                esims: &[],
            },
        )
        .await
        .unwrap();
    assert!(matches!(stale, Recorded::NotTaken(_)), "{stale:?}");
    assert!(
        !store
            .purchase_taken(ProviderId::EsimGo, "ref-someone-elses")
            .await
            .unwrap()
    );
    // The current one takes its match.
    let current = store
        .adopt_matched_order(
            &order.id,
            second[0].fence,
            &UpstreamAnswer {
                upstream_ref: "ref-matched",
                provider_status: "completed",
                status: OrderStatus::Fulfilling,
                esims: &[],
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(
            &current,
            Recorded::Linked {
                superseded: false,
                ..
            }
        ),
        "{current:?}"
    );
    // Once the order has its purchase, a later match is dropped too.
    let late = store
        .adopt_matched_order(
            &order.id,
            current.order().fence,
            &UpstreamAnswer {
                upstream_ref: "ref-another",
                provider_status: "completed",
                status: OrderStatus::Completed,
                esims: &[],
            },
        )
        .await
        .unwrap();
    assert!(matches!(late, Recorded::NotTaken(_)), "{late:?}");
    let ledger = store.upstream_purchases(None).await.unwrap();
    let ours: Vec<&str> = ledger
        .iter()
        .filter(|p| p.local_id == order.id.0)
        .map(|p| p.upstream_ref.as_str())
        .collect();
    assert_eq!(ours, vec!["ref-matched"]);
}

async fn a_superseded_answer_is_recorded(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let order = created_order(&store).await;
    let slow = store
        .claim_for_submission(&order.id, order.fence, Utc::now())
        .await
        .unwrap()
        .unwrap();
    // The answer is late: a reconciler leases the order and re-sends it.
    let leased = store
        .claim_orders_to_reconcile(&lease("r", 60_000), in_a_minute(), in_a_minute(), 10)
        .await
        .unwrap();
    let reopened = store
        .reopen_order(&order.id, leased[0].fence)
        .await
        .unwrap()
        .unwrap();
    let resent = store
        .claim_for_submission(&order.id, reopened, Utc::now())
        .await
        .unwrap()
        .unwrap();
    // The slow attempt's answer arrives first: the order has no purchase,
    // so it is the order's purchase (the old code refused it: "cannot move
    // from pending to completed").
    let esim = InstallDetails {
        iccid: Iccid::with_check_digit("894400000000000777").unwrap(),
        activation: ActivationCode::new("smdp.example", "LATE"),
        confirmation_code: None,
    };
    let late = store
        .record_upstream_order(
            &order.id,
            slow,
            "ref-slow",
            "completed",
            OrderStatus::Completed,
            std::slice::from_ref(&esim),
        )
        .await
        .unwrap();
    let Recorded::Linked {
        order: linked,
        superseded: true,
    } = late
    else {
        panic!("a superseded answer links an order without purchase: {late:?}")
    };
    assert_eq!(linked.upstream_ref.as_deref(), Some("ref-slow"));
    assert_eq!(linked.iccids, vec![esim.iccid.clone()]);
    // The re-sent attempt's answer is then an extra purchase, kept.
    let extra = store
        .record_upstream_order(
            &order.id,
            resent,
            "ref-resent",
            "completed",
            OrderStatus::Completed,
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(extra, Recorded::Extra(_)), "{extra:?}");
    // Recorded once, however often it is told.
    let again = store
        .record_upstream_order(
            &order.id,
            resent,
            "ref-resent",
            "completed",
            OrderStatus::Completed,
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(again, Recorded::Unchanged(_)), "{again:?}");
    let ledger = store.upstream_purchases(None).await.unwrap();
    let mut seen: Vec<(&str, bool)> = ledger
        .iter()
        .filter(|p| p.local_id == order.id.0)
        .map(|p| (p.upstream_ref.as_str(), p.linked))
        .collect();
    seen.sort();
    assert_eq!(seen, vec![("ref-resent", false), ("ref-slow", true)]);
    // A failed order whose purchase turns up late gets it.
    let gave_up = created_order(&store).await;
    let attempt = store
        .claim_for_submission(&gave_up.id, gave_up.fence, Utc::now())
        .await
        .unwrap()
        .unwrap();
    let failure = simgate_store::OrderFailure {
        code: "upstream_unreachable".into(),
        message: "no answer".into(),
        retryable: true,
    };
    assert!(
        store
            .fail_order(&gave_up.id, attempt, &failure)
            .await
            .unwrap()
    );
    let found = store
        .record_upstream_order(
            &gave_up.id,
            attempt,
            "ref-found",
            "completed",
            OrderStatus::Completed,
            &[],
        )
        .await
        .unwrap();
    assert!(
        matches!(
            found,
            Recorded::Linked {
                superseded: true,
                ..
            }
        ),
        "{found:?}"
    );
    assert_eq!(found.order().status, OrderStatus::Completed);
    assert!(found.order().failure.is_none());

    // SIM orders: an answer after the order was failed is its purchase;
    // another one is an extra purchase.
    let InsertOutcome::Created(sim) = store
        .insert_sim_order(&SimOrderInsert {
            tenant_id: "t1".into(),
            provider: ProviderId::Telnyx,
            address_id: "a".into(),
            quantity: 1,
            idempotency_key: None,
            request_hash: "h".into(),
        })
        .await
        .unwrap()
    else {
        panic!("new SIM order")
    };
    let leased = store
        .claim_sim_orders_to_follow(&lease("r", 60_000), in_a_minute(), 10)
        .await
        .unwrap();
    assert!(
        !store
            .fail_sim_order(&sim.id, sim.fence, "stale")
            .await
            .unwrap()
    );
    assert!(
        store
            .fail_sim_order(&sim.id, leased[0].fence, "never created")
            .await
            .unwrap()
    );
    let late = store
        .record_sim_order_answer(
            &sim.id,
            sim.fence,
            &shipped("so-late", Some(SimOrderStatus::Pending)),
        )
        .await
        .unwrap();
    assert_eq!(
        late,
        SimOrderAnswer::Linked {
            previous: SimOrderState::Failed,
            superseded: true
        }
    );
    let extra = store
        .record_sim_order_answer(
            &sim.id,
            sim.fence,
            &shipped("so-extra", Some(SimOrderStatus::Pending)),
        )
        .await
        .unwrap();
    assert_eq!(extra, SimOrderAnswer::Extra);

    // Lines: a provisioning answer after the settle pass released the
    // claim makes the number the tenant's line again.
    let mpn = Msisdn::parse("447700900042").unwrap();
    let claim = store
        .claim_line("t1", ProviderId::Onsim, &mpn)
        .await
        .unwrap()
        .unwrap();
    let leased = store
        .claim_lines_to_settle(&lease("r", 60_000), in_a_minute(), 10)
        .await
        .unwrap();
    assert!(
        !store
            .release_line(ProviderId::Onsim, &mpn, claim.fence)
            .await
            .unwrap()
    );
    assert!(
        store
            .release_line(ProviderId::Onsim, &mpn, leased[0].fence)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .activate_line("t1", ProviderId::Onsim, &mpn, claim.fence, None)
            .await
            .unwrap(),
        LineActivation::Activated { superseded: true }
    );
    let line = store.line(ProviderId::Onsim, &mpn).await.unwrap().unwrap();
    assert_eq!(
        (line.tenant_id.as_str(), line.status),
        ("t1", LineStatus::Active)
    );
    // The same number provisioned for another tenant by a stale attempt is
    // kept for an operator, not given away.
    assert_eq!(
        store
            .activate_line("t2", ProviderId::Onsim, &mpn, 0, None)
            .await
            .unwrap(),
        LineActivation::Extra
    );
    let extras = store.upstream_purchases(Some(false)).await.unwrap();
    assert_eq!(extras.iter().filter(|p| p.local_kind == "line").count(), 1);
}

/// What a tenant's view of the shared line inventory is filtered by.
async fn a_tenant_holds_its_live_lines_only(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let number = |n: u32| Msisdn::parse(&format!("4477009002{n:02}")).unwrap();
    for (tenant, n) in [("t1", 1), ("t1", 2), ("t1", 3), ("t2", 4)] {
        store
            .claim_line(tenant, ProviderId::Onsim, &number(n))
            .await
            .unwrap()
            .unwrap();
    }
    store
        .set_line_status(ProviderId::Onsim, &number(2), LineStatus::Active, None)
        .await
        .unwrap();
    store
        .set_line_status(ProviderId::Onsim, &number(3), LineStatus::Ceased, None)
        .await
        .unwrap();
    let held = |tenant: &'static str| {
        let store = store.clone();
        async move {
            let mut numbers: Vec<String> = store
                .lines_held_by(tenant, ProviderId::Onsim)
                .await
                .unwrap()
                .into_iter()
                .map(|line| line.mpn.to_string())
                .collect();
            numbers.sort();
            numbers
        }
    };
    assert_eq!(
        held("t1").await,
        [number(1).to_string(), number(2).to_string()],
        "provisioning and active, not ceased"
    );
    assert_eq!(held("t2").await, [number(4).to_string()]);
    assert!(held("t3").await.is_empty());
}

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let (store, _dir) = super::sqlite().await;
                    super::$scenario(store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::postgres().await).await;
                }
            )*
        }
    };
}

on_both_backends!(
    concurrent_inserts_with_one_key_make_one_order,
    only_one_worker_claims_an_order,
    one_upstream_order_links_to_one_local_order,
    catalogue_replacement_and_search,
    api_keys_are_stored_hashed,
    tenant_names_are_unique_and_keys_can_be_replaced_or_disabled,
    sim_orders_are_written_first_keyed_and_paged,
    a_number_is_one_tenants_line_until_ceased,
    a_tenant_holds_its_live_lines_only,
    a_stale_read_cannot_reopen_or_resend,
    concurrent_batch_claims_get_disjoint_sets,
    an_expired_lease_is_taken_over,
    a_superseded_answer_is_recorded,
    a_stale_match_is_not_taken,
);
