//! Endpoint secrets: sealed ones stored as given, plain text rows of older
//! databases read as legacy, and replacement as a compare-and-set.

use chrono::{Duration, Utc};
use simgate_domain::entities::{PreviousSecret, SealedSecret, StoredSecret};
use sqlx::Row;

use super::*;

fn sealed(key_id: &str, text: &str) -> SealedSecret {
    SealedSecret {
        key_id: key_id.to_owned(),
        nonce: format!("nonce-{text}"),
        ciphertext: format!("ciphertext-{text}"),
    }
}

pub(super) async fn legacy_secrets_are_read_as_such_and_replaced_once(store: Store, url: String) {
    store.create_tenant("t1", "one").await.unwrap();
    let created = store
        .create_endpoint("t1", "https://hooks.example/a", &sealed("k1", "a"), 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.secret, StoredSecret::Sealed(sealed("k1", "a")));
    assert_eq!(created.previous_secret, None);
    // A row as a database from before migration 0017 holds it.
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, enabled, disabled_reason, created_at) \
         VALUES ('whe_legacy', 't1', 'https://hooks.example/b', 'whsec_plain', 1, NULL, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let legacy = store.endpoint("whe_legacy").await.unwrap().unwrap();
    assert_eq!(legacy.secret, StoredSecret::Legacy("whsec_plain".into()));

    let ids = |endpoints: Vec<simgate_store::Endpoint>| {
        endpoints.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    let under_k1 = store.endpoints_not_sealed_under(Some("k1")).await.unwrap();
    assert_eq!(ids(under_k1), ["whe_legacy"]);
    let under_k2 = store.endpoints_not_sealed_under(Some("k2")).await.unwrap();
    assert_eq!(ids(under_k2).len(), 2);
    assert_eq!(
        store.endpoints_not_sealed_under(None).await.unwrap().len(),
        2
    );

    assert!(
        store
            .replace_endpoint_secrets("whe_legacy", &legacy.secret, &sealed("k1", "b"), None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .replace_endpoint_secrets("whe_legacy", &legacy.secret, &sealed("k1", "c"), None)
            .await
            .unwrap(),
        "a stale read replaces nothing"
    );
    let row = sqlx::query("SELECT secret FROM webhook_endpoints WHERE id = 'whe_legacy'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("secret"), "ciphertext-b");
    assert!(
        store
            .endpoints_not_sealed_under(Some("k1"))
            .await
            .unwrap()
            .is_empty()
    );

    let expires_at = Utc::now() + Duration::hours(1);
    let previous = PreviousSecret {
        secret: sealed("k1", "a-again"),
        expires_at,
    };
    assert!(
        store
            .replace_endpoint_secrets(
                &created.id,
                &created.secret,
                &sealed("k2", "d"),
                Some(&previous)
            )
            .await
            .unwrap()
    );
    let rotated = store.endpoint(&created.id).await.unwrap().unwrap();
    assert_eq!(rotated.secret, StoredSecret::Sealed(sealed("k2", "d")));
    let kept = rotated.previous_secret.unwrap();
    assert_eq!(kept.secret, previous.secret);
    assert_eq!(
        kept.expires_at.timestamp_millis(),
        expires_at.timestamp_millis()
    );
    // Its previous secret is under k1 still: it counts as not sealed under k2.
    let under_k2 = store.endpoints_not_sealed_under(Some("k2")).await.unwrap();
    assert_eq!(ids(under_k2), [created.id.clone(), "whe_legacy".to_owned()]);
}

#[tokio::test]
async fn legacy_secrets_on_sqlite() {
    let (store, url, _dir) = sqlite_at().await;
    legacy_secrets_are_read_as_such_and_replaced_once(store, url).await;
}

#[tokio::test]
async fn legacy_secrets_on_postgres() {
    let (store, url) = postgres_at().await;
    legacy_secrets_are_read_as_such_and_replaced_once(store, url).await;
}
