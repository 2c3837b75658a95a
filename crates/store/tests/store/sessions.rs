//! Console sessions: found by their token hash until they expire, moved
//! between tenants, ended; expired ones purged.

use chrono::Duration;
use simgate_domain::entities::ConsoleSession;

use super::*;

/// The operator key's fingerprint the sessions of these tests carry.
const OPERATOR: &str = "fp-operator";

/// A session of tenant `tenant` opened with its key `sk_{tenant}`, or an
/// operator session.
fn session(hash: &str, tenant: Option<&str>, expires_in: Duration) -> ConsoleSession {
    ConsoleSession {
        token_hash: hash.to_owned(),
        operator: tenant.is_none(),
        tenant_id: tenant.map(str::to_owned),
        csrf_token: format!("csrf-{hash}"),
        expires_at: Utc::now() + expires_in,
        credential: tenant.map_or_else(
            || OPERATOR.to_owned(),
            |id| hash_api_key(&format!("sk_{id}")),
        ),
    }
}

/// Tenants `ten_a` and `ten_b`, each with its key `sk_{id}`.
async fn two_tenants(store: &Store) {
    for id in ["ten_a", "ten_b"] {
        store.create_tenant(id, id).await.unwrap();
        store.add_api_key(id, &format!("sk_{id}")).await.unwrap();
    }
}

async fn found(store: &Store, hash: &str) -> bool {
    store
        .session(hash, Utc::now(), Some(OPERATOR))
        .await
        .unwrap()
        .is_some()
}

pub(super) async fn sessions_expire_switch_and_end(store: Store) {
    two_tenants(&store).await;
    let now = Utc::now();
    let tenant = session("h-tenant", Some("ten_a"), Duration::hours(12));
    store.insert_session(&tenant, now).await.unwrap();
    let found = store
        .session("h-tenant", now, Some(OPERATOR))
        .await
        .unwrap()
        .unwrap();
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
            .session("h-tenant", now + Duration::hours(13), Some(OPERATOR))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session("h-unknown", now, Some(OPERATOR))
            .await
            .unwrap()
            .is_none()
    );

    let operator = session("h-operator", None, Duration::hours(1));
    store.insert_session(&operator, now).await.unwrap();
    let found = store
        .session("h-operator", now, Some(OPERATOR))
        .await
        .unwrap()
        .unwrap();
    assert!(found.operator && found.tenant_id.is_none());
    store
        .set_session_tenant("h-operator", "ten_b")
        .await
        .unwrap();
    let found = store
        .session("h-operator", now, Some(OPERATOR))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.tenant_id.as_deref(), Some("ten_b"));

    store.delete_session("h-operator").await.unwrap();
    assert!(
        store
            .session("h-operator", now, Some(OPERATOR))
            .await
            .unwrap()
            .is_none()
    );
    store.delete_session("h-operator").await.unwrap();

    // Opening a session later purges the expired ones.
    let later = now + Duration::hours(13);
    let fresh = ConsoleSession {
        expires_at: later + Duration::hours(1),
        ..session("h-fresh", Some("ten_a"), Duration::zero())
    };
    store.insert_session(&fresh, later).await.unwrap();
    assert!(
        store
            .session("h-tenant", now, Some(OPERATOR))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session("h-fresh", later, Some(OPERATOR))
            .await
            .unwrap()
            .is_some()
    );
}

pub(super) async fn a_revoked_credential_ends_its_sessions(store: Store) {
    two_tenants(&store).await;
    let now = Utc::now();
    for (hash, tenant) in [
        ("h-a", Some("ten_a")),
        ("h-b", Some("ten_b")),
        ("h-op", None),
    ] {
        store
            .insert_session(&session(hash, tenant, Duration::hours(1)), now)
            .await
            .unwrap();
    }
    // An operator looking at ten_a is no session of ten_a's key.
    store.set_session_tenant("h-op", "ten_a").await.unwrap();
    assert!(found(&store, "h-a").await && found(&store, "h-b").await);

    // Another operator key, or none, does not open the operator's session.
    for other in [Some("fp-other"), None] {
        assert!(store.session("h-op", now, other).await.unwrap().is_none());
    }
    assert!(found(&store, "h-op").await);

    // A session whose key is not (or no longer) the tenant's is refused
    // even while its row is still there.
    let foreign = ConsoleSession {
        credential: hash_api_key("sk_ten_b"),
        ..session("h-foreign", Some("ten_a"), Duration::hours(1))
    };
    store.insert_session(&foreign, now).await.unwrap();
    assert!(!found(&store, "h-foreign").await);

    // Rotating ten_a's key ends its sessions, not ten_b's nor the
    // operator's.
    assert!(store.replace_api_keys("ten_a", "sk_new").await.unwrap());
    assert!(!found(&store, "h-a").await);
    assert!(found(&store, "h-b").await && found(&store, "h-op").await);
    let renewed = ConsoleSession {
        credential: hash_api_key("sk_new"),
        ..session("h-a2", Some("ten_a"), Duration::hours(1))
    };
    store.insert_session(&renewed, now).await.unwrap();
    assert!(found(&store, "h-a2").await);

    // Disabling ten_a ends the session opened with its new key.
    assert!(store.disable_tenant("ten_a", now).await.unwrap());
    assert!(!found(&store, "h-a2").await);
    assert!(found(&store, "h-b").await && found(&store, "h-op").await);
}
