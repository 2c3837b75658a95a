//! Upstream answers matched and recorded against leases.

use super::*;

/// A provider order matched by content is a guess: a reconciler whose
/// attempt was superseded (or whose order meanwhile got its purchase) must
/// drop it, never keep it as an extra purchase, since it may be the
/// purchase of another order of the same content whose answer was lost.
pub(super) async fn a_stale_match_is_not_taken(store: Store) {
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
    // The row is due again one retry delay after the first took it.
    let second = claim_when_due(&store, "r2").await;
    assert!(second[0].fence > first[0].fence);
    // The stale one matches a provider order: not taken, nothing recorded.
    let stale = store
        .adopt_matched_order(
            &order,
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
            &order,
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
            &order,
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

pub(super) async fn a_superseded_answer_is_recorded(store: Store) {
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
        .reopen_order(&order.id, leased[0].fence, None)
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
            &order,
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
        ..
    } = late
    else {
        panic!("a superseded answer links an order without purchase: {late:?}")
    };
    assert_eq!(linked.upstream_ref.as_deref(), Some("ref-slow"));
    assert_eq!(linked.iccids, vec![esim.iccid.clone()]);
    // The re-sent attempt's answer is then an extra purchase, kept.
    let extra = store
        .record_upstream_order(
            &order,
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
            &order,
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
    seen.sort_unstable();
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
            .is_some()
    );
    let found = store
        .record_upstream_order(
            &gave_up,
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
            hold: None,
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
