//! Physical SIM orders.

use super::*;

pub(super) fn shipped(id: &str, status: Option<SimOrderStatus>) -> SimOrder {
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

pub(super) async fn sim_orders_are_written_first_keyed_and_paged(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let insert = |tenant: &str, key: Option<&str>| SimOrderInsert {
        tenant_id: tenant.to_owned(),
        provider: ProviderId::Telnyx,
        address_id: "1293384261075731499".into(),
        quantity: 2,
        idempotency_key: key.map(str::to_owned),
        request_hash: "h".into(),
        hold: None,
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
