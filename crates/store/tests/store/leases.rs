//! Leases on orders: stale reads, batch claims and takeovers.

use super::*;

/// A lease held by `owner` for `ms` milliseconds from now.
pub(super) fn lease(owner: &str, ms: i64) -> Lease {
    Lease {
        retry_max: std::time::Duration::from_secs(60),
        owner: owner.to_owned(),
        until: Utc::now() + chrono::Duration::milliseconds(ms),
    }
}

/// The first non-empty batch `owner` claims within 10 s: once a lease
/// expires and the row's retry delay has run.
pub(super) async fn claim_when_due(store: &Store, owner: &str) -> Vec<simgate_store::OrderRecord> {
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let batch = store
                .claim_orders_to_reconcile(&lease(owner, 60_000), in_a_minute(), in_a_minute(), 10)
                .await
                .unwrap();
            if !batch.is_empty() {
                return batch;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a row is taken over once its lease and its retry delay have run")
}

/// A cutoff every row written so far is older than.
pub(super) fn in_a_minute() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(1)
}

pub(super) async fn created_order(store: &Store) -> simgate_store::OrderRecord {
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
pub(super) async fn a_stale_read_cannot_reopen_or_resend(store: Store) {
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
        .reopen_order(&fresh.id, fresh.fence, None)
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
        store
            .reopen_order(&stale.id, stale.fence, None)
            .await
            .unwrap(),
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
        store
            .fail_order(&stale.id, stale.fence, &failure)
            .await
            .unwrap()
            .is_none()
    );
    let after = store.order_by_id(&order.id).await.unwrap().unwrap();
    assert_eq!((after.attempts, after.fence), (2, second));
    // The current attempt still ends normally.
    let recorded = store
        .record_upstream_order(
            &order,
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
            .is_some()
    );
    let failed = store.order_by_id(&retried.id).await.unwrap().unwrap();
    let reopened = store
        .reopen_order(&failed.id, failed.fence, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .reopen_order(&failed.id, failed.fence, None)
            .await
            .unwrap(),
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

pub(super) async fn concurrent_batch_claims_get_disjoint_sets(store: Store) {
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

pub(super) async fn an_expired_lease_is_taken_over(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let order = created_order(&store).await;
    // A reconciler takes the order, then is killed: its lease is never released.
    // The clock is read before the lease is made, so a slow claim (a loaded
    // machine) cannot make the lease look shorter than it is.
    let taken_at = Utc::now();
    let killed = store
        .claim_orders_to_reconcile(&lease("killed", 300), in_a_minute(), in_a_minute(), 10)
        .await
        .unwrap();
    assert_eq!(killed.len(), 1);
    let takeover = claim_when_due(&store, "survivor").await;
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
            hold: None,
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

/// Issue 21 item 4: once more rows than a batch holds come back unmoved
/// from every pass, leasing by age alone took the same oldest rows every
/// pass and no newer row was reconciled again. With the backoff, a row
/// taken and released unmoved is not due again for a while, so the next
/// pass reaches the rest, and a fresh row is in the first pass after it.
pub(super) async fn stuck_rows_cannot_starve_a_fresh_one(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let mut stuck = std::collections::BTreeSet::new();
    for _ in 0..150 {
        stuck.insert(created_order(&store).await.id.0);
    }
    let pass = || async {
        let batch = store
            .claim_orders_to_reconcile(
                &lease("reconciler", 60_000),
                in_a_minute(),
                in_a_minute(),
                100,
            )
            .await
            .unwrap();
        // Nothing moves them: each is given back as the reconciler does.
        for order in &batch {
            store.release_order(&order.id, order.fence).await.unwrap();
        }
        batch
            .into_iter()
            .map(|order| order.id.0)
            .collect::<std::collections::BTreeSet<_>>()
    };
    let first = pass().await;
    assert_eq!(first.len(), 100);
    let second = pass().await;
    // (On a slow machine the first 100 may be due again already; the 50
    // never tried are due longest, so they come first either way.)
    assert!(
        second.is_superset(&stuck.difference(&first).cloned().collect()),
        "the second pass takes the 50 the first one left, not the same 100 again"
    );
    let fresh = created_order(&store).await.id.0;
    let third = pass().await;
    assert!(
        third.contains(&fresh),
        "a fresh order is in the first pass after it, however many rows are stuck"
    );
    // Released unmoved, a row is due again once its delay has run.
    let due_again = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let batch = pass().await;
            if !batch.is_empty() {
                return batch;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("stuck rows are due again after their delay");
    assert!(due_again.is_subset(&stuck));
}
