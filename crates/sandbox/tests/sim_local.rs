//! The Sim Local client against the Sim Local sandbox over real HTTP:
//! OAuth2 token caching, expiry and revocation, and every operation.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::SecretString;
use simgate_connectors::http::RetryPolicy;
use simgate_connectors::sim_local::{SimLocalClient, SimLocalConfig};
use simgate_connectors::{Connector, ConnectorError, InboundEvent, PlaceOrder, WebhookError};
use simgate_domain::{OrderKind, OrderStatus};
use simgate_sandbox::sim_local::{FAILING_OFFERING, TOKEN_PATH};
use simgate_sandbox::sim_local::{SimLocalSandbox, SimLocalSandboxConfig};
use simgate_sandbox::simulator::SimulatorHandle;
use tokio::net::TcpListener;

struct Fixture {
    sandbox: SimLocalSandbox,
    handle: SimulatorHandle,
}

async fn fixture(config: SimLocalSandboxConfig) -> Fixture {
    let sandbox = SimLocalSandbox::new(config);
    let handle = sandbox
        .spawn(TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    Fixture { sandbox, handle }
}

fn client(f: &Fixture, secret: &str, synchronous: bool) -> SimLocalClient {
    let base = f.handle.base_url();
    SimLocalClient::new(SimLocalConfig {
        token_url: format!("{base}{TOKEN_PATH}"),
        base_url: base,
        client_id: "sandbox-sim-local".into(),
        client_secret: SecretString::from(secret.to_owned()),
        webhook_api_key: SecretString::from("sandbox-sim-local-webhook-key".to_owned()),
        webhook_header: "x-api-key".into(),
        synchronous,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    })
    .unwrap()
}

const SECRET: &str = "sandbox-sim-local-secret";

fn order(reference: &str, sku: &str) -> PlaceOrder {
    PlaceOrder {
        reference: reference.into(),
        sku: sku.into(),
        quantity: 1,
        kind: OrderKind::NewEsim,
    }
}

#[tokio::test]
async fn one_token_serves_many_calls_and_a_revoked_one_is_replaced() {
    let f = fixture(SimLocalSandboxConfig::default()).await;
    let client = client(&f, SECRET, false);
    for _ in 0..5 {
        client.faulty_reasons().await.unwrap();
    }
    assert_eq!(f.sandbox.tokens_issued(), 1);
    let revoked = reqwest::Client::new()
        .post(format!("{}/__admin/revoke-tokens", f.handle.base_url()))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    assert_eq!(client.faulty_reasons().await.unwrap().len(), 7);
    assert_eq!(f.sandbox.tokens_issued(), 2);
    assert_eq!(
        f.sandbox.tokens_rejected(),
        1,
        "one 401, then a fresh token"
    );

    let wrong = self::client(&f, "wrong", false);
    assert!(matches!(
        wrong.faulty_reasons().await,
        Err(ConnectorError::Unauthorized { status: 401 })
    ));
    assert!(!format!("{wrong:?}").contains("wrong"));
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    let f = fixture(SimLocalSandboxConfig {
        token_lifetime: Duration::from_secs(2),
        ..SimLocalSandboxConfig::default()
    })
    .await;
    let client = client(&f, SECRET, false);
    // Calls spread over more than a lifetime: each one must find a valid token.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while f.sandbox.tokens_issued() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "tokens were not refreshed"
        );
        client
            .destinations(None)
            .await
            .expect("never a 401 on an expired token");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        f.sandbox.tokens_rejected(),
        0,
        "refreshed before expiry, not after a 401"
    );
}

#[tokio::test]
async fn catalogue_orders_search_and_faulty_reports() {
    let f = fixture(SimLocalSandboxConfig::default()).await;
    let client = client(&f, SECRET, true);
    let destinations = client.destinations(Some("fr")).await.unwrap();
    assert!(
        destinations
            .iter()
            .any(|d| d.alias == "GB" && d.description.ends_with("(fr)"))
    );
    let gb = client.product_offerings(None, Some("GB")).await.unwrap();
    assert!(gb.iter().all(|o| o.destinations.contains(&"GB".to_owned())));
    let physical = client
        .product_offerings(Some("8943108167001960542"), None)
        .await
        .unwrap();
    assert!(physical.iter().all(|o| o.data > 0.0));
    let products = client.fetch_catalogue(&|_| {}).await.unwrap();
    assert!(products.len() >= 40);

    // synchronous=true waits for the walk to finish.
    let sku = gb[0].id.clone();
    let placed = client.place_order(&order("ord_sync", &sku)).await.unwrap();
    assert_eq!(placed.status, OrderStatus::Completed);
    assert_eq!(placed.esims.len(), 1);
    let found = client
        .order_by_reference("ord_sync")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.reference, placed.reference);
    assert!(
        client
            .order_by_reference("ord_none")
            .await
            .unwrap()
            .is_none()
    );
    let page = client.search_orders("ord_sync").await.unwrap();
    assert_eq!((page.total_elements, page.total_pages), (1, 1));

    let faulty = client
        .report_faulty(&placed.reference, "NO_SERVICE", Some("no bars"))
        .await
        .unwrap();
    assert_eq!(faulty.status, "COMPLETED");
    let bad_reason = client.report_faulty(&placed.reference, "BORED", None).await;
    assert!(matches!(
        bad_reason,
        Err(ConnectorError::Rejected { status: 400, .. })
    ));

    let asynchronous = self::client(&f, SECRET, false);
    let pending = asynchronous
        .place_order(&order("ord_async", &sku))
        .await
        .unwrap();
    assert_eq!(pending.status, OrderStatus::Fulfilling);
    assert_eq!(pending.provider_status, "CREATED");
    let too_early = asynchronous
        .report_faulty(&pending.reference, "OTHER", None)
        .await;
    assert!(matches!(
        too_early,
        Err(ConnectorError::Rejected { status: 400, .. })
    ));
    let duplicate = asynchronous.place_order(&order("ord_async", &sku)).await;
    assert!(matches!(
        duplicate,
        Err(ConnectorError::Rejected { status: 409, .. })
    ));

    let failing = client
        .place_order(&order("ord_fail", FAILING_OFFERING))
        .await
        .unwrap();
    assert_eq!(failing.status, OrderStatus::Failed);
    assert!(matches!(
        client.fetch_order("missing").await,
        Err(ConnectorError::NotFound(_))
    ));
    assert_eq!(f.sandbox.purchases(), 3);
}

/// The lookup by reference keeps only the order carrying our reference: a
/// search that ignores its filter must not make another order ours.
#[tokio::test]
async fn the_lookup_by_reference_adopts_only_an_order_carrying_it() {
    let f = fixture(SimLocalSandboxConfig::default()).await;
    let client = client(&f, SECRET, true);
    let sku = client.product_offerings(None, Some("GB")).await.unwrap()[0]
        .id
        .clone();
    let others = client.place_order(&order("ord_other", &sku)).await.unwrap();
    let loose = reqwest::Client::new()
        .post(format!("{}/__admin/loose-search", f.handle.base_url()))
        .json(&serde_json::json!({ "enabled": true }))
        .send()
        .await
        .unwrap();
    assert!(loose.status().is_success(), "{}", loose.status());
    let page = client.search_orders("ord_lost").await.unwrap();
    assert_eq!(
        page.content[0].external_reference.as_deref(),
        Some("ord_other"),
        "the broken search answers the unrelated order first"
    );
    assert!(
        client
            .order_by_reference("ord_lost")
            .await
            .unwrap()
            .is_none(),
        "an order with another reference is not ours"
    );

    // Among unrelated orders, the one carrying our reference is found.
    let ours = client.place_order(&order("ord_ours", &sku)).await.unwrap();
    assert_ne!(ours.reference, others.reference);
    let found = client
        .order_by_reference("ord_ours")
        .await
        .unwrap()
        .expect("our order");
    assert_eq!(found.reference, ours.reference);
}

#[tokio::test]
async fn the_fulfilment_webhook_is_verified_by_its_api_key() {
    let f = fixture(SimLocalSandboxConfig::default()).await;
    let client = client(&f, SECRET, false);
    let body = br#"{"order_id":"00278971-4108-4e50-ac1b-dfd14cc194f4","status":"COMPLETED"}"#;
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-api-key",
        HeaderValue::from_static("sandbox-sim-local-webhook-key"),
    );
    let event = client.verify_webhook(&headers, body).unwrap();
    assert_eq!(
        event,
        InboundEvent::OrderChanged {
            order_reference: "00278971-4108-4e50-ac1b-dfd14cc194f4".into(),
            delivery_id: "00278971-4108-4e50-ac1b-dfd14cc194f4:COMPLETED".into(),
        }
    );
    headers.insert("x-api-key", HeaderValue::from_static("nope"));
    assert!(matches!(
        client.verify_webhook(&headers, body),
        Err(WebhookError::Unverified(_))
    ));
    assert!(matches!(
        client.verify_webhook(&HeaderMap::new(), body),
        Err(WebhookError::Unverified(_))
    ));
}

#[tokio::test]
async fn the_purchase_list_names_each_order_and_our_reference() {
    let f = fixture(SimLocalSandboxConfig {
        step: Duration::from_millis(10),
        ..SimLocalSandboxConfig::default()
    })
    .await;
    let client = client(&f, SECRET, false);
    assert!(common::listed(&f.handle).await.is_empty());
    let sku = client.product_offerings(None, Some("GB")).await.unwrap()[0]
        .id
        .clone();
    let placed = client.place_order(&order("ord_1", &sku)).await.unwrap();
    // Refused twice: an unknown offering, and our reference again.
    assert!(
        client
            .place_order(&order("ord_2", "sl-none"))
            .await
            .is_err()
    );
    assert!(client.place_order(&order("ord_1", &sku)).await.is_err());

    let purchases = common::listed(&f.handle).await;
    assert_eq!(purchases.len(), 1, "{purchases:?}");
    assert_eq!(purchases[0].reference, placed.reference);
    assert_eq!(purchases[0].caller_reference.as_deref(), Some("ord_1"));
    assert_eq!(
        (purchases[0].sku.as_str(), purchases[0].quantity),
        (sku.as_str(), 1)
    );
    assert_eq!(purchases, f.sandbox.sold());
}
