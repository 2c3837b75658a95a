//! What the limits keep in the database: a tenant's overrides, and the
//! counts behind the caps, which concurrent writers cannot pass.

use simgate_domain::TenantId;
use simgate_domain::entities::SealedSecret;
use simgate_domain::limits::{Rate, TenantLimits};

use super::*;

fn secret() -> SealedSecret {
    SealedSecret {
        key_id: "k1".into(),
        nonce: "bm9uY2U=".into(),
        ciphertext: "c2VhbGVk".into(),
    }
}

pub(super) async fn limit_overrides_are_kept_per_tenant(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    store.create_tenant("t2", "two").await.unwrap();
    let (one, two) = (TenantId::from_stored("t1"), TenantId::from_stored("t2"));
    assert_eq!(store.tenant_limits(&one).await.unwrap(), None);
    let limits = TenantLimits {
        requests: Some(Rate::new(5, 60)),
        sms_sends: Some(Rate::new(1, 86_400)),
        ..TenantLimits::default()
    };
    store.put_tenant_limits(&one, &limits).await.unwrap();
    assert_eq!(store.tenant_limits(&one).await.unwrap(), Some(limits));
    assert_eq!(store.tenant_limits(&two).await.unwrap(), None);
    let back = TenantLimits::default();
    store.put_tenant_limits(&one, &back).await.unwrap();
    assert_eq!(store.tenant_limits(&one).await.unwrap(), Some(back));
}

/// Concurrent registrations and replays stop exactly at their caps.
pub(super) async fn caps_hold_under_concurrent_writers(store: Store) {
    store.create_tenant("t1", "one").await.unwrap();
    let registrations = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .create_endpoint("t1", &format!("https://hooks.example/{n}"), &secret(), 3)
                .await
                .unwrap()
        })
    });
    let created = futures_util::future::join_all(registrations).await;
    let created = created
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_some());
    assert_eq!(created.count(), 3);
    assert_eq!(store.endpoints_for_tenant("t1").await.unwrap().len(), 3);
    // A disabled endpoint frees its place.
    let first = &store.endpoints_for_tenant("t1").await.unwrap()[0];
    assert!(store.disable_endpoint(&first.id, "removed").await.unwrap());
    let again = store
        .create_endpoint("t1", "https://hooks.example/again", &secret(), 3)
        .await
        .unwrap();
    assert!(again.is_some());

    let (event_id, _) = store
        .record_event("t1", "order.completed", "once", None, "{}")
        .await
        .unwrap()
        .unwrap();
    let event = store
        .event_for_tenant("t1", &event_id)
        .await
        .unwrap()
        .unwrap();
    let replays = (0..8).map(|_| {
        let (store, event) = (store.clone(), event.clone());
        tokio::spawn(async move { store.redeliver_event(&event, 5).await.unwrap() })
    });
    let replays = futures_util::future::join_all(replays).await;
    let done: Vec<Vec<String>> = replays.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(done.len(), 5);
    assert!(done.iter().all(|deliveries| deliveries.len() == 3));
    assert_eq!(store.redeliver_event(&event, 5).await.unwrap(), None);
}
