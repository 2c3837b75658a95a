//! Subscriber lines and who holds them.

use super::*;

pub(super) async fn a_number_is_one_tenants_line_until_ceased(store: Store) {
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

/// What a tenant's view of the shared line inventory is filtered by.
pub(super) async fn a_tenant_holds_its_live_lines_only(store: Store) {
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
