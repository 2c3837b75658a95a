//! Routing policies per tenant, and the sell price frozen on orders.

use simgate_domain::TenantId;
use simgate_domain::orchestration::{CountryRouting, RoutingPolicy, RoutingStrategy};

use super::*;

pub(super) async fn routing_policies_are_kept_per_tenant(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let (one, two) = (TenantId::from_stored("t1"), TenantId::from_stored("t2"));
    assert_eq!(store.routing_policy(&one).await.unwrap(), None);
    let japan = CountryCode::parse("JP").unwrap();
    let policy = RoutingPolicy {
        strategy: RoutingStrategy::Weighted,
        weights: [(ProviderId::EsimGo, 3), (ProviderId::SimLocal, 1)].into(),
        exclude: vec![ProviderId::EsimStory],
        countries: [(
            japan,
            CountryRouting {
                strategy: Some(RoutingStrategy::Priority),
                providers: Some(vec![ProviderId::SimLocal]),
                ..CountryRouting::default()
            },
        )]
        .into(),
        ..RoutingPolicy::default()
    };
    store.put_routing_policy(&one, &policy).await.unwrap();
    assert_eq!(store.routing_policy(&one).await.unwrap(), Some(policy));
    assert_eq!(store.routing_policy(&two).await.unwrap(), None);
    let replaced = RoutingPolicy {
        strategy: RoutingStrategy::Priority,
        providers: vec![ProviderId::EsimGo],
        ..RoutingPolicy::default()
    };
    store.put_routing_policy(&one, &replaced).await.unwrap();
    assert_eq!(store.routing_policy(&one).await.unwrap(), Some(replaced));
}

pub(super) async fn the_sale_price_moves_only_with_its_candidate(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let InsertOutcome::Created(order) = store.insert_order(&new_order("t1", None)).await.unwrap()
    else {
        panic!("new order expected")
    };
    let sold = SalePrice {
        price: usd("1.99"),
        margin: usd("0.625"),
    };
    assert_eq!(order.sale, Some(sold));
    let next = product("esim_1GB_7D_JP_ALT", &["JP"], Some(1000), "1.5");
    let resold = SalePrice {
        price: usd("2.19"),
        margin: usd("0.69"),
    };
    assert_eq!(
        store
            .switch_candidate(&order.id, order.fence, &next, &resold, &[], None)
            .await
            .unwrap(),
        Some(order.fence + 1)
    );
    let switched = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!(
        (switched.unit_price, switched.sale),
        (usd("1.5"), Some(resold))
    );
    // A stale fence moves neither the candidate nor its price.
    assert_eq!(
        store
            .switch_candidate(&order.id, order.fence, &next, &sold, &[], None)
            .await
            .unwrap(),
        None
    );
    let kept = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!(kept.sale, Some(resold));
}
