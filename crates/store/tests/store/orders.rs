//! Orders: idempotency keys, claiming, and linking upstream orders.

use super::*;

pub(super) async fn concurrent_inserts_with_one_key_make_one_order(store: Store) {
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

pub(super) async fn only_one_worker_claims_an_order(store: Store) {
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

/// The write before the upstream call is one statement: the order comes
/// back as stored, already claimed for its first attempt, so nobody else
/// can claim it, and its answer is recorded at that attempt's fence with
/// the order's event in the same transaction.
pub(super) async fn an_order_written_claimed_is_sent_at_its_first_fence(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store
        .create_endpoint(
            "t1",
            "https://hooks.example/a",
            &simgate_domain::entities::SealedSecret {
                key_id: "k1".into(),
                nonce: "bm9uY2U=".into(),
                ciphertext: "c2VhbGVk".into(),
            },
            20,
        )
        .await
        .unwrap();
    let at = Utc::now();
    let mut new = new_order("t1", Some("k"));
    new.submitted_at = Some(at);
    let InsertOutcome::Created(order) = store.insert_order(&new).await.unwrap() else {
        panic!("new order expected")
    };
    assert_eq!(order.status, OrderStatus::Submitted);
    assert_eq!((order.attempts, order.fence), (1, 1));
    assert_eq!(
        order.submitted_at.map(|t| t.timestamp_millis()),
        Some(at.timestamp_millis())
    );
    let stored = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!(
        format!("{stored:?}"),
        format!("{order:?}"),
        "returned as stored"
    );
    assert_eq!(
        store
            .claim_for_submission(&order.id, 0, Utc::now())
            .await
            .unwrap(),
        None,
        "claimed already"
    );
    let InsertOutcome::Existing(replayed) = store.insert_order(&new).await.unwrap() else {
        panic!("the key was used")
    };
    assert_eq!(replayed.id, order.id);
    let esim = InstallDetails {
        iccid: Iccid::with_check_digit("894400000000000456").unwrap(),
        activation: ActivationCode::new("smdp.example", "XYZ"),
        confirmation_code: None,
    };
    let recorded = store
        .record_upstream_order(
            &order,
            order.fence,
            "ref-claimed",
            "completed",
            OrderStatus::Completed,
            std::slice::from_ref(&esim),
        )
        .await
        .unwrap();
    let Recorded::Linked {
        order: completed,
        superseded: false,
        event: Some(event),
    } = recorded
    else {
        panic!("the current attempt's answer is linked with its event: {recorded:?}")
    };
    assert_eq!(completed.iccids, vec![esim.iccid.clone()]);
    assert_eq!(
        format!("{completed:?}"),
        format!("{:?}", store.order_by_id(&order.id).await.unwrap().unwrap()),
        "returned as stored"
    );
    let events = store.events_for_tenant("t1", None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].id.as_str(), events[0].event_type.as_str()),
        (event.id.as_str(), "order.completed")
    );
    let deliveries = store.deliveries_of(&event.id).await.unwrap();
    assert_eq!(
        deliveries.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        event.deliveries
    );
    assert_eq!(deliveries.len(), 1, "one delivery per enabled endpoint");
    // Told again, the answer changes nothing and records no second event.
    let again = store
        .record_upstream_order(
            &order,
            order.fence,
            "ref-claimed",
            "completed",
            OrderStatus::Completed,
            std::slice::from_ref(&esim),
        )
        .await
        .unwrap();
    assert!(
        !matches!(again, Recorded::Linked { event: Some(_), .. }),
        "{again:?}"
    );
    assert_eq!(
        store.events_for_tenant("t1", None, 10).await.unwrap().len(),
        1
    );
}

pub(super) async fn one_upstream_order_links_to_one_local_order(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let mut orders = Vec::new();
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
        orders.push(order);
    }
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id.clone()).collect();
    let esim = InstallDetails {
        iccid: Iccid::with_check_digit("894400000000000123").unwrap(),
        activation: ActivationCode::new("smdp.example", "ABC"),
        confirmation_code: None,
    };
    let first = store
        .record_upstream_order(
            &orders[0],
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
        event,
    } = first
    else {
        panic!("the current attempt's answer is linked: {first:?}")
    };
    assert_eq!(first.iccids, vec![esim.iccid.clone()]);
    assert!(event.is_some(), "completing the order records its event");
    assert!(
        store
            .purchase_taken(ProviderId::EsimGo, "ref-1")
            .await
            .unwrap()
    );
    let second = store
        .record_upstream_order(
            &orders[1],
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
            &orders[0],
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

/// Writes an order of `tenant` at `provider`, answered with `status` and
/// one eSIM per ICCID body (18 digits, check digit added).
async fn delivered(
    store: &Store,
    tenant: &str,
    provider: ProviderId,
    status: OrderStatus,
    iccids: &[&str],
) -> Vec<Iccid> {
    let mut order = new_order(tenant, None);
    order.product_id = ProductId::new(provider, "sku_1GB");
    let InsertOutcome::Created(order) = store.insert_order(&order).await.unwrap() else {
        panic!("new order expected")
    };
    store
        .claim_for_submission(&order.id, 0, Utc::now())
        .await
        .unwrap()
        .unwrap();
    let esims: Vec<InstallDetails> = iccids
        .iter()
        .map(|body| InstallDetails {
            iccid: Iccid::with_check_digit(body).unwrap(),
            activation: ActivationCode::new("smdp.example", *body),
            confirmation_code: None,
        })
        .collect();
    store
        .record_upstream_order(
            &order,
            1,
            &format!("ref-{}", iccids[0]),
            status.as_str(),
            status,
            &esims,
        )
        .await
        .unwrap();
    esims.into_iter().map(|e| e.iccid).collect()
}

pub(super) async fn esims_are_listed_per_tenant_filtered_and_paged(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let go = delivered(
        &store,
        "t1",
        ProviderId::EsimGo,
        OrderStatus::Completed,
        &["894400000000000001", "894400000000000002"],
    )
    .await;
    let local = delivered(
        &store,
        "t1",
        ProviderId::SimLocal,
        OrderStatus::Fulfilling,
        &["894400000000000003"],
    )
    .await;
    let other = delivered(
        &store,
        "t2",
        ProviderId::EsimGo,
        OrderStatus::Completed,
        &["894400000000000004"],
    )
    .await;
    let list = |filter: EsimFilter| {
        let store = store.clone();
        async move {
            let (esims, total) = store.esims_for_tenant("t1", &filter).await.unwrap();
            let iccids: Vec<Iccid> = esims.iter().map(|e| e.esim.install.iccid.clone()).collect();
            assert!(esims.iter().all(|e| e.esim.tenant_id == "t1"));
            (iccids, total)
        }
    };
    let page = |limit, offset| EsimFilter {
        limit,
        offset,
        ..EsimFilter::default()
    };
    let (all, total) = list(page(10, 0)).await;
    assert_eq!(total, 3, "another tenant's eSIM is not counted");
    assert_eq!(all.len(), 3);
    assert!(!all.contains(&other[0]));
    let (first, total) = list(page(2, 0)).await;
    let (rest, _) = list(page(2, 2)).await;
    assert_eq!((first.len(), rest.len(), total), (2, 1, 3));
    assert_eq!([first, rest].concat(), all, "pages follow one order");
    let by_provider = list(EsimFilter {
        provider: Some(ProviderId::SimLocal),
        ..page(10, 0)
    })
    .await;
    assert_eq!(by_provider, (local.clone(), 1));
    let by_status = list(EsimFilter {
        status: Some(OrderStatus::Completed),
        ..page(10, 0)
    })
    .await;
    assert_eq!(by_status.1, 2);
    assert!(go.iter().all(|i| by_status.0.contains(i)));
    let by_iccid = list(EsimFilter {
        iccid: Some(go[1].clone()),
        ..page(10, 0)
    })
    .await;
    assert_eq!(by_iccid, (vec![go[1].clone()], 1));
    let not_mine = list(EsimFilter {
        iccid: Some(other[0].clone()),
        ..page(10, 0)
    })
    .await;
    assert_eq!(not_mine, (Vec::new(), 0));
}
