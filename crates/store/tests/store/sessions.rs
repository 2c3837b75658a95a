//! Console sessions: found by their token hash until they expire, moved
//! between tenants, ended; expired ones purged.

use chrono::Duration;
use simgate_domain::entities::ConsoleSession;

use super::*;

fn session(hash: &str, tenant: Option<&str>, expires_in: Duration) -> ConsoleSession {
    ConsoleSession {
        token_hash: hash.to_owned(),
        operator: tenant.is_none(),
        tenant_id: tenant.map(str::to_owned),
        csrf_token: format!("csrf-{hash}"),
        expires_at: Utc::now() + expires_in,
    }
}

pub(super) async fn sessions_expire_switch_and_end(store: Store) {
    let now = Utc::now();
    let tenant = session("h-tenant", Some("ten_a"), Duration::hours(12));
    store.insert_session(&tenant, now).await.unwrap();
    let found = store.session("h-tenant", now).await.unwrap().unwrap();
    assert_eq!(found.tenant_id.as_deref(), Some("ten_a"));
    assert!(!found.operator);
    assert_eq!(found.csrf_token, "csrf-h-tenant");
    assert_eq!(
        found.expires_at.timestamp_millis(),
        tenant.expires_at.timestamp_millis()
    );
    // Past its expiry it is not found, even before it is purged.
    assert!(
        store
            .session("h-tenant", now + Duration::hours(13))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.session("h-unknown", now).await.unwrap().is_none());

    let operator = session("h-operator", None, Duration::hours(1));
    store.insert_session(&operator, now).await.unwrap();
    let found = store.session("h-operator", now).await.unwrap().unwrap();
    assert!(found.operator && found.tenant_id.is_none());
    store
        .set_session_tenant("h-operator", "ten_b")
        .await
        .unwrap();
    let found = store.session("h-operator", now).await.unwrap().unwrap();
    assert_eq!(found.tenant_id.as_deref(), Some("ten_b"));

    store.delete_session("h-operator").await.unwrap();
    assert!(store.session("h-operator", now).await.unwrap().is_none());
    store.delete_session("h-operator").await.unwrap();

    // Opening a session later purges the expired ones.
    let later = now + Duration::hours(13);
    let fresh = ConsoleSession {
        expires_at: later + Duration::hours(1),
        ..session("h-fresh", Some("ten_a"), Duration::zero())
    };
    store.insert_session(&fresh, later).await.unwrap();
    assert!(store.session("h-tenant", now).await.unwrap().is_none());
    assert!(store.session("h-fresh", later).await.unwrap().is_some());
}
