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
    InsertOutcome, LineStatus, NewOrder, ProductFilter, ProductSort, SimOrderInsert, SimOrderState,
    Store, StoreError,
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
            tokio::spawn(async move { store.claim_for_submission(&id, Utc::now()).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1);
    let claimed = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!(claimed.status, OrderStatus::Submitted);
    assert_eq!(claimed.attempts, 1);
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
        assert!(
            store
                .claim_for_submission(&order.id, Utc::now())
                .await
                .unwrap()
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
            "ref-1",
            "completed",
            OrderStatus::Completed,
            std::slice::from_ref(&esim),
        )
        .await
        .unwrap();
    assert_eq!(first.iccids, vec![esim.iccid.clone()]);
    assert!(
        store
            .upstream_ref_taken(ProviderId::EsimGo, "ref-1")
            .await
            .unwrap()
    );
    let second = store
        .record_upstream_order(&ids[1], "ref-1", "completed", OrderStatus::Completed, &[])
        .await;
    assert!(matches!(second, Err(StoreError::Database(_))), "{second:?}");
    let untouched = store.order_by_id(&ids[1]).await.unwrap().unwrap();
    assert_eq!(untouched.status, OrderStatus::Submitted);
    // A completed order cannot be completed again.
    let again = store
        .record_upstream_order(&ids[0], "ref-2", "completed", OrderStatus::Completed, &[])
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))));
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

    let previous = store
        .record_sim_order(&first.id, &shipped("up-1", Some(SimOrderStatus::Shipped)))
        .await
        .unwrap();
    assert_eq!(previous, SimOrderState::Submitting);
    let stored = store.sim_order(&first.id).await.unwrap().unwrap();
    assert_eq!(stored.state, SimOrderState::Placed(SimOrderStatus::Shipped));
    assert_eq!(stored.snapshot.unwrap().cost, usd("2.53"));
    assert!(
        store
            .sim_order_linked(ProviderId::Telnyx, "up-1")
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
    let follow = store.sim_orders_to_follow().await.unwrap();
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
    store
        .set_line_status(ProviderId::Onsim, &mpn, LineStatus::Active, Some(&iccid))
        .await
        .unwrap();
    assert!(store.lines_provisioning().await.unwrap().is_empty());
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
    store
        .release_line(ProviderId::Onsim, &renumbered)
        .await
        .unwrap();
    assert!(store.lines_for_tenant("t2").await.unwrap().is_empty());
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
);
