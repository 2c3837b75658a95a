//! The eSIM Go client against the eSIM Go sandbox, over real HTTP: every
//! operation of the reference, auth failures and injected faults.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};
use simgate_connectors::esim_go::types::{
    ApplyBundle, CatalogueQuery, InventoryRefund, OrderItemRequest, OrderRequest, UpdateEsim,
};
use simgate_connectors::esim_go::{EsimGoClient, EsimGoConfig, RevokeMode};
use simgate_connectors::http::RetryPolicy;
use simgate_connectors::{Connector, ConnectorError, PlaceOrder};
use simgate_domain::{BundleState, Iccid, OrderKind, OrderStatus};
use simgate_sandbox::esim_go::{EsimGoSandbox, SandboxConfig};
use simgate_sandbox::simulator::SimulatorHandle;
use tokio::net::TcpListener;

struct Fixture {
    sandbox: EsimGoSandbox,
    handle: SimulatorHandle,
    client: EsimGoClient,
}

async fn fixture_with(timeout: Duration) -> Fixture {
    let config = SandboxConfig::default();
    let key = config.api_key.clone();
    let sandbox = EsimGoSandbox::new(config);
    let handle = sandbox
        .spawn(TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let client = client(&handle, &key, timeout);
    Fixture {
        sandbox,
        handle,
        client,
    }
}

async fn fixture() -> Fixture {
    fixture_with(Duration::from_secs(5)).await
}

fn client(handle: &SimulatorHandle, key: &str, timeout: Duration) -> EsimGoClient {
    EsimGoClient::new(EsimGoConfig {
        base_url: handle.base_url(),
        api_key: SecretString::from(key.to_owned()),
        timeout,
        retry: RetryPolicy {
            default_wait: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        accept_unsigned_callbacks: false,
    })
    .unwrap()
}

async fn admin(handle: &SimulatorHandle, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/__admin/{path}", handle.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

fn one_bundle(item: &str, assign: bool, iccids: Vec<String>, kind: &str) -> OrderRequest {
    OrderRequest {
        kind: kind.to_owned(),
        assign,
        order: vec![OrderItemRequest {
            kind: "bundle".to_owned(),
            item: item.to_owned(),
            quantity: iccids.len().max(1) as u32,
            iccids,
            allow_reassign: false,
        }],
    }
}

const JP_1GB: &str = "esim_1GB_7D_JP_V2";

#[tokio::test]
async fn catalogue_pages_filters_and_details() {
    let f = fixture().await;
    let mut seen = 0;
    for page in 1.. {
        let batch = f
            .client
            .catalogue_page(&CatalogueQuery {
                page: Some(page),
                per_page: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        seen += batch.bundles.len();
        if page >= batch.page_count {
            break;
        }
    }
    assert_eq!(seen, f.sandbox.catalogue_len());
    assert!(seen >= 5000);

    let japan = f
        .client
        .catalogue_page(&CatalogueQuery {
            countries: Some("JP".into()),
            per_page: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        japan
            .bundles
            .iter()
            .all(|b| b.countries.iter().any(|c| c.iso == "JP"))
    );
    let europe = f
        .client
        .catalogue_page(&CatalogueQuery {
            region: Some("europe".into()),
            order_by: Some("price".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(europe.bundles.windows(2).all(|w| w[0].price <= w[1].price));
    let too_big = f
        .client
        .catalogue_page(&CatalogueQuery {
            per_page: Some(1001),
            ..Default::default()
        })
        .await;
    assert!(matches!(
        too_big,
        Err(ConnectorError::Rejected { status: 400, .. })
    ));

    let bundle = f.client.bundle(JP_1GB).await.unwrap();
    assert_eq!(bundle.data_amount, 1000);
    assert_eq!(bundle.duration, 7);
    assert!(matches!(
        f.client.bundle("esim_1gb_7d_jp_v2").await,
        Err(ConnectorError::NotFound(_))
    ));

    let networks = f.client.networks(&["GB", "US"], false).await.unwrap();
    assert_eq!(networks.country_networks.len(), 2);
    assert!(
        networks
            .country_networks
            .iter()
            .all(|c| !c.networks.is_empty())
    );

    let products = f.client.fetch_catalogue(&|_| {}).await.unwrap();
    assert_eq!(products.len(), seen);
}

#[tokio::test]
async fn orders_esims_usage_and_revokes() {
    let f = fixture().await;
    let dry = f
        .client
        .create_order(&one_bundle(JP_1GB, true, vec![], "validate"))
        .await
        .unwrap();
    assert_eq!(dry.valid, Some(true));
    assert_eq!(f.sandbox.purchases(), 0);

    let since = Utc::now() - chrono::Duration::seconds(1);
    let placed = f
        .client
        .place_order(&PlaceOrder {
            reference: "ord_test".into(),
            sku: JP_1GB.into(),
            quantity: 1,
            kind: OrderKind::NewEsim,
        })
        .await
        .unwrap();
    assert_eq!(placed.status, OrderStatus::Completed);
    let iccid = placed.esims[0].iccid.clone();
    assert!(Iccid::parse(iccid.as_str()).is_ok());

    let topup = f
        .client
        .place_order(&PlaceOrder {
            reference: "ord_test".into(),
            sku: JP_1GB.into(),
            quantity: 1,
            kind: OrderKind::TopUp {
                iccid: iccid.clone(),
            },
        })
        .await
        .unwrap();
    assert_eq!(topup.esims[0].iccid, iccid);
    let listed = f.client.orders_since(since).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        f.client
            .orders_since(Utc::now() + chrono::Duration::minutes(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.client
            .order(&placed.reference)
            .await
            .unwrap()
            .order_reference,
        placed.reference
    );

    let details = f.client.esim(&iccid).await.unwrap();
    assert_eq!(details.profile_status, "Released");
    assert!(details.apple_install_url.unwrap().contains("LPA%3A1%24"));
    f.client
        .update_esim(&UpdateEsim {
            iccid: iccid.to_string(),
            customer_ref: "traveller-7".into(),
        })
        .await
        .unwrap();
    let list = f.client.esims(1, 50).await.unwrap();
    assert_eq!(list.esims[0].customer_ref.as_deref(), Some("traveller-7"));

    admin(
        &f.handle,
        &format!("esims/{iccid}/usage"),
        json!({ "bytes": 400_000_000 }),
    )
    .await;
    let usage = f.client.usage(&iccid).await.unwrap();
    assert_eq!(usage.len(), 2);
    assert_eq!(usage[0].state, BundleState::Active);
    assert_eq!(usage[0].remaining_bytes, Some(600_000_000));
    assert_eq!(usage[1].state, BundleState::Queued);
    assert_eq!(
        f.client
            .bundle_status(&iccid, JP_1GB)
            .await
            .unwrap()
            .assignments
            .len(),
        2
    );

    // The latest assignment (the unused top-up) can be refunded.
    let refund_unused = f
        .client
        .revoke_bundle(&iccid, JP_1GB, RevokeMode::Validate, true)
        .await;
    assert_eq!(
        f.client
            .revoke_bundle(&iccid, JP_1GB, RevokeMode::Validate, false)
            .await
            .unwrap()
            .status,
        "validated"
    );
    assert!(
        refund_unused.is_ok(),
        "the latest assignment is the unused top-up"
    );
    assert_eq!(
        f.client
            .revoke_bundle(&iccid, JP_1GB, RevokeMode::Transaction, true)
            .await
            .unwrap()
            .status,
        "revoked"
    );
    let first = &f
        .client
        .bundle_status(&iccid, JP_1GB)
        .await
        .unwrap()
        .assignments[0];
    let refund = f
        .client
        .revoke_assignment(&iccid, JP_1GB, &first.id, RevokeMode::Transaction)
        .await;
    assert_eq!(refund.unwrap().status, "revoked");
    let history = f.client.history(&iccid).await.unwrap();
    assert!(history.iter().any(|h| h.bundle_state == "revoked"));

    let location = f.client.location(&iccid).await.unwrap();
    assert_eq!(location.country, "JP");
    assert_eq!(
        f.client.refresh(&iccid).await.unwrap().message,
        "Refresh requested"
    );
    // The document's answer is a message, not a boolean.
    let compatible = f.client.compatible(&iccid, JP_1GB).await.unwrap();
    assert_eq!(compatible.compatible, None);
    assert!(
        compatible
            .message
            .is_some_and(|m| m.contains("is compatible"))
    );
    assert_eq!(
        f.client
            .send_sms(&iccid, "Welcome to Japan")
            .await
            .unwrap()
            .message,
        "sent"
    );
    let too_long = f.client.send_sms(&iccid, &"x".repeat(161)).await;
    assert!(matches!(
        too_long,
        Err(ConnectorError::Rejected { status: 400, .. })
    ));

    let json = f.client.install_details(&placed.reference).await.unwrap();
    assert_eq!(json[0].iccid, iccid.as_str());
    let csv = f
        .client
        .install_details_csv(&placed.reference)
        .await
        .unwrap();
    assert!(csv.starts_with("ICCID,") && csv.contains(iccid.as_str()));

    let stranger = Iccid::with_check_digit("894400000999999999").unwrap();
    assert!(matches!(
        f.client.esim(&stranger).await,
        Err(ConnectorError::Rejected { status: 403, .. })
    ));
    assert_eq!(f.sandbox.purchases(), 2);
}

#[tokio::test]
async fn inventory_apply_refund_and_organisation() {
    let f = fixture().await;
    let balance = |org: &simgate_connectors::esim_go::types::OrganisationResponse| {
        org.organisations[0].balance
    };
    let before = balance(&f.client.organisation().await.unwrap());
    f.client
        .create_order(&OrderRequest {
            kind: "transaction".into(),
            assign: false,
            order: vec![OrderItemRequest {
                kind: "bundle".into(),
                item: JP_1GB.into(),
                quantity: 3,
                iccids: vec![],
                allow_reassign: false,
            }],
        })
        .await
        .unwrap();
    let inventory = f.client.inventory().await.unwrap();
    let lot = &inventory.bundles[0].available[0];
    assert_eq!((lot.total, lot.remaining), (3, 3));

    let applied = f
        .client
        .apply_bundle(&ApplyBundle {
            bundle: Some(JP_1GB.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(applied.esims.len(), 1);
    let refunded = f
        .client
        .refund_inventory(&InventoryRefund {
            usage_id: lot.id,
            quantity: 2,
        })
        .await;
    assert!(refunded.is_ok());
    let over = f
        .client
        .refund_inventory(&InventoryRefund {
            usage_id: lot.id,
            quantity: 1,
        })
        .await;
    assert!(matches!(
        over,
        Err(ConnectorError::Rejected { status: 400, .. })
    ));
    let empty = f
        .client
        .apply_bundle(&ApplyBundle {
            bundle: Some(JP_1GB.into()),
            ..Default::default()
        })
        .await;
    assert!(matches!(
        empty,
        Err(ConnectorError::Rejected { status: 403, .. })
    ));

    let org = f.client.organisation().await.unwrap();
    let price = f.client.bundle(JP_1GB).await.unwrap().price;
    assert!(
        (balance(&org) - (before - price)).abs() < 0.01,
        "one unit used, two refunded"
    );
    assert_eq!(org.organisations[0].currency, "USD");
    assert!(
        !format!("{:?}", org.organisations[0]).contains("sandbox-esim-go-key"),
        "Debug redacts the key"
    );
    f.client.top_up_balance(100).await.unwrap();
    assert!(balance(&f.client.organisation().await.unwrap()) > balance(&org));
    assert!(!f.client.groups().await.unwrap().groups.is_empty());
}

#[tokio::test]
async fn wrong_keys_are_refused_with_esim_go_statuses() {
    let f = fixture().await;
    let stranger = client(&f.handle, "not-the-key", Duration::from_secs(5));
    assert!(matches!(
        stranger.organisation().await,
        Err(ConnectorError::Rejected { status: 403, .. })
    ));
    let order = stranger
        .create_order(&one_bundle(JP_1GB, true, vec![], "transaction"))
        .await;
    assert!(matches!(
        order,
        Err(ConnectorError::Unauthorized { status: 401 })
    ));
    assert_eq!(f.sandbox.purchases(), 0);
    assert!(!format!("{stranger:?}").contains("not-the-key"));
}

#[tokio::test]
async fn injected_faults_map_to_error_classes() {
    let f = fixture_with(Duration::from_millis(500)).await;
    let fault = |spec: Value| admin(&f.handle, "faults", spec);

    fault(json!({"kind": "status", "status": 503, "retry_after_secs": 0, "times": 2})).await;
    assert!(
        f.client.organisation().await.is_ok(),
        "two 503s are retried"
    );
    fault(json!({"kind": "status", "status": 429, "retry_after_secs": 60})).await;
    let limited = f.client.organisation().await;
    assert!(
        matches!(limited, Err(ConnectorError::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(60))
    );
    fault(json!({"kind": "status", "status": 500})).await;
    assert!(matches!(
        f.client.organisation().await,
        Err(ConnectorError::ServerError { status: 500 })
    ));
    fault(json!({"kind": "malformed"})).await;
    assert!(matches!(
        f.client.organisation().await,
        Err(ConnectorError::InvalidResponse(_))
    ));
    fault(json!({"kind": "timeout", "ms": 3000})).await;
    assert!(matches!(
        f.client.organisation().await,
        Err(ConnectorError::Timeout)
    ));
    fault(json!({"kind": "latency", "ms": 100})).await;
    assert!(f.client.organisation().await.is_ok());

    // A timed-out order was still bought: its outcome is unknown, not failed.
    fault(json!({"kind": "timeout", "ms": 3000, "path": "/orders", "method": "POST"})).await;
    let lost = f
        .client
        .place_order(&PlaceOrder {
            reference: "ord_test".into(),
            sku: JP_1GB.into(),
            quantity: 1,
            kind: OrderKind::NewEsim,
        })
        .await
        .unwrap_err();
    assert!(!lost.nothing_was_processed());
    assert_eq!(f.sandbox.purchases(), 1);

    let gone = {
        let handle = f.handle;
        let base = handle.base_url();
        handle.shutdown().await;
        client_for_url(&base).organisation().await
    };
    assert!(matches!(gone, Err(ConnectorError::Connect(_))));
}

fn client_for_url(base: &str) -> EsimGoClient {
    EsimGoClient::new(EsimGoConfig {
        base_url: base.to_owned(),
        api_key: SecretString::from("k".to_owned()),
        timeout: Duration::from_secs(2),
        retry: RetryPolicy::default(),
        accept_unsigned_callbacks: true,
    })
    .unwrap()
}

#[tokio::test]
async fn the_purchase_list_holds_every_order_that_bought_something() {
    let f = fixture_with(Duration::from_millis(500)).await;
    assert!(common::listed(&f.handle).await.is_empty());
    let order = |reference: &str, sku: &str, quantity: u32| PlaceOrder {
        reference: reference.into(),
        sku: sku.into(),
        quantity,
        kind: OrderKind::NewEsim,
    };
    let placed = f
        .client
        .place_order(&order("ord_a", JP_1GB, 2))
        .await
        .unwrap();
    // A validation and a refusal buy nothing.
    f.client
        .create_order(&one_bundle(JP_1GB, true, Vec::new(), "validate"))
        .await
        .unwrap();
    assert!(
        f.client
            .place_order(&order("ord_b", "no_such_bundle", 1))
            .await
            .is_err()
    );
    // An answer withheld after the purchase: bought all the same.
    admin(
        &f.handle,
        "faults",
        json!({"kind": "timeout", "ms": 3000, "path": "/orders", "method": "POST"}),
    )
    .await;
    assert!(
        f.client
            .place_order(&order("ord_c", JP_1GB, 1))
            .await
            .is_err()
    );

    let purchases = common::listed(&f.handle).await;
    assert_eq!(purchases.len(), 2, "{purchases:?}");
    assert_eq!(purchases[0].reference, placed.reference);
    assert_eq!(
        purchases[0].caller_reference, None,
        "eSIM Go keeps no caller reference"
    );
    assert_eq!(
        (purchases[0].sku.as_str(), purchases[0].quantity),
        (JP_1GB, 2)
    );
    assert_eq!(
        (purchases[1].sku.as_str(), purchases[1].quantity),
        (JP_1GB, 1)
    );
    assert_ne!(purchases[1].reference, placed.reference);
    assert_eq!(purchases, f.sandbox.sold());
}
