//! The catalogue, API keys and tenants.

use super::*;

pub(super) async fn catalogue_replacement_and_search(store: Store) {
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
    // The version an in-memory catalogue compares: every provider's last sync.
    assert_eq!(
        store.catalogue_version().await.unwrap(),
        vec![(ProviderId::EsimGo, synced, 3)]
    );
}

pub(super) async fn api_keys_are_stored_hashed(store: Store) {
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

pub(super) async fn tenant_names_are_unique_and_keys_can_be_replaced_or_disabled(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let taken = store.create_tenant("t2", "one").await.unwrap_err();
    assert!(
        matches!(&taken, RepositoryError::Taken(what) if what.contains("one")),
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
