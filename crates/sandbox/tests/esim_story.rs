//! The eSIM Story client against the eSIM Story sandbox over real HTTP:
//! signing and its refusals, idempotent orders, webhooks per unit.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use reqwest::header::HeaderValue;
use secrecy::SecretString;
use serde_json::{Value, json};
use simgate_connectors::esim_story::client::{
    ACCESS_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBHOOK_SECRET_HEADER, signature,
};
use simgate_connectors::esim_story::{EsimStoryClient, EsimStoryConfig};
use simgate_connectors::http::RetryPolicy;
use simgate_connectors::{Connector, ConnectorError, InboundEvent, PlaceOrder, WebhookError};
use simgate_domain::{Iccid, OrderKind, OrderStatus};
use simgate_sandbox::esim_story::ORDERS_PATH;
use simgate_sandbox::esim_story::{EsimStorySandbox, StorySandboxConfig};
use simgate_sandbox::simulator::{SimulatorHandle, serve};
use tokio::net::TcpListener;

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

struct Fixture {
    sandbox: EsimStorySandbox,
    handle: SimulatorHandle,
    client: EsimStoryClient,
    received: Received,
    _receiver: SimulatorHandle,
}

fn client_for(
    base: &str,
    sandbox: &EsimStorySandbox,
    config: &StorySandboxConfig,
    secret: &str,
) -> EsimStoryClient {
    EsimStoryClient::new(EsimStoryConfig {
        base_url: format!("{base}/api"),
        access_key: config.access_key.clone(),
        secret_key: SecretString::from(secret.to_owned()),
        webhook_secret: SecretString::from(config.webhook_secret.clone()),
        options: sandbox.options(),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
    })
    .unwrap()
}

async fn fixture() -> Fixture {
    let config = StorySandboxConfig::default();
    let sandbox = EsimStorySandbox::new(config.clone());
    let handle = sandbox
        .spawn(TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let received: Received = Arc::default();
    let receiver = Router::new()
        .route(
            "/hook",
            post(
                |State(received): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    received.lock().unwrap().push((headers, body));
                    StatusCode::OK
                },
            ),
        )
        .with_state(received.clone());
    let receiver = serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), receiver).unwrap();
    sandbox.set_webhook_url(format!("{}/hook", receiver.base_url()));
    let client = client_for(&handle.base_url(), &sandbox, &config, &config.secret_key);
    Fixture {
        sandbox,
        handle,
        client,
        received,
        _receiver: receiver,
    }
}

async fn wait_for_webhooks(f: &Fixture, count: usize) -> Vec<(HeaderMap, Bytes)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let received = f.received.lock().unwrap().clone();
        if received.len() >= count {
            return received;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} webhooks",
            received.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn order(reference: &str, sku: &str, quantity: u32) -> PlaceOrder {
    PlaceOrder {
        reference: reference.into(),
        sku: sku.into(),
        quantity,
        kind: OrderKind::NewEsim,
    }
}

#[tokio::test]
async fn an_order_gives_one_webhook_per_unit_and_repeating_it_buys_nothing() {
    let f = fixture().await;
    let products = f.client.fetch_catalogue(&|_| {}).await.unwrap();
    assert_eq!(products.len(), f.sandbox.options().len());
    let sku = products[0].id.sku.clone();

    let placed = f
        .client
        .place_order(&order("ord_1", &sku, 2))
        .await
        .unwrap();
    assert_eq!(placed.status, OrderStatus::Fulfilling);
    assert_eq!(placed.reference, "ord_1");
    let webhooks = wait_for_webhooks(&f, 2).await;
    let mut units = Vec::new();
    for (headers, body) in &webhooks {
        let event = f.client.verify_webhook(headers, body).unwrap();
        let InboundEvent::EsimReady {
            order_reference,
            unit_id,
            install,
        } = event
        else {
            panic!("expected EsimReady")
        };
        assert_eq!(order_reference, "ord_1");
        assert!(Iccid::parse(install.iccid.as_str()).is_ok());
        assert!(
            install
                .activation
                .to_string()
                .starts_with("LPA:1$rsp.sandbox.esim-story")
        );
        units.push(unit_id);
    }
    units.dedup();
    assert_eq!(units.len(), 2);

    // The same order again (a lost answer, retried): accepted, not bought.
    let again = f
        .client
        .place_order(&order("ord_1", &sku, 2))
        .await
        .unwrap();
    assert_eq!(again.status, OrderStatus::Fulfilling);
    assert_eq!(f.sandbox.purchases(), 1);

    let unknown = f
        .client
        .place_order(&order("ord_2", "no-such-option", 1))
        .await;
    assert!(
        matches!(unknown, Err(ConnectorError::Rejected { status: 422, .. })),
        "{unknown:?}"
    );
    let topup = f
        .client
        .place_order(&PlaceOrder {
            kind: OrderKind::TopUp {
                iccid: Iccid::with_check_digit("898200000000000001").unwrap(),
            },
            ..order("ord_3", &sku, 1)
        })
        .await;
    assert!(matches!(topup, Err(ConnectorError::Unsupported(_))));
}

#[tokio::test]
async fn webhooks_are_verified_before_they_are_read() {
    let f = fixture().await;
    let sku = f.sandbox.options()[0].option_id.clone();
    f.client
        .place_order(&order("ord_w", &sku, 1))
        .await
        .unwrap();
    let (mut headers, body) = wait_for_webhooks(&f, 1).await.remove(0);
    assert!(f.client.verify_webhook(&headers, &body).is_ok());

    let forged_body = String::from_utf8(body.to_vec())
        .unwrap()
        .replace("ord_w", "ord_other");
    headers.insert(WEBHOOK_SECRET_HEADER, HeaderValue::from_static("guess"));
    let forged = f.client.verify_webhook(&headers, forged_body.as_bytes());
    assert!(matches!(forged, Err(WebhookError::Unverified(_))));
    headers.remove(WEBHOOK_SECRET_HEADER);
    assert!(matches!(
        f.client.verify_webhook(&headers, &body),
        Err(WebhookError::Unverified(_))
    ));

    let mut good = HeaderMap::new();
    good.insert(
        WEBHOOK_SECRET_HEADER,
        HeaderValue::from_static("sandbox-story-webhook-secret"),
    );
    assert!(matches!(
        f.client.verify_webhook(&good, b"not json"),
        Err(WebhookError::Malformed(_))
    ));
    let bad_iccid = json!({"topup_id": "1", "option_id": "o", "iccid": "123", "smdp": "s", "activate_code": "c", "external_order_id": "x"});
    let bad = f
        .client
        .verify_webhook(&good, bad_iccid.to_string().as_bytes());
    assert!(matches!(bad, Err(WebhookError::Malformed(_))));
}

/// Sends a raw order request with chosen auth headers.
async fn raw_order(f: &Fixture, headers: &[(&str, String)], body: &str) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{ORDERS_PATH}", f.handle.base_url()))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn signature_edge_cases_get_the_documented_refusals() {
    let f = fixture().await;
    let config = StorySandboxConfig::default();
    let now = chrono::Utc::now().timestamp();
    let signed =
        |ts: i64, key: &str| signature("POST", ORDERS_PATH, ts, key, &config.secret_key).unwrap();
    let body = json!({"external_order_id": "raw-1", "products": [{"option_id": f.sandbox.options()[0].option_id, "qty": 1}]}).to_string();
    let auth = |key: &str, sig: String, ts: i64| {
        vec![
            (ACCESS_KEY_HEADER, key.to_owned()),
            (SIGNATURE_HEADER, sig),
            (TIMESTAMP_HEADER, ts.to_string()),
        ]
    };
    let message = |v: &Value| v["error"]["message"].as_str().unwrap().to_owned();

    let (status, answer) = raw_order(&f, &[], &body).await;
    assert_eq!(
        (status, message(&answer).as_str()),
        (
            StatusCode::UNAUTHORIZED,
            "Missing required authentication headers."
        )
    );
    let (status, answer) = raw_order(&f, &auth("nobody", signed(now, "nobody"), now), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message(&answer).starts_with("Invalid or missing access key"));
    // Ten seconds clear of the 300 s window's edge, read afresh, so a slow
    // machine cannot carry a timestamp across it between signing and checking.
    let stale = chrono::Utc::now().timestamp() - 310;
    let (_, answer) = raw_order(
        &f,
        &auth(&config.access_key, signed(stale, &config.access_key), stale),
        &body,
    )
    .await;
    assert_eq!(message(&answer), "Request timestamp is too old or invalid.");
    let future = chrono::Utc::now().timestamp() + 310;
    let (_, answer) = raw_order(
        &f,
        &auth(
            &config.access_key,
            signed(future, &config.access_key),
            future,
        ),
        &body,
    )
    .await;
    assert_eq!(message(&answer), "Request timestamp is too old or invalid.");
    let (_, answer) = raw_order(
        &f,
        &auth(&config.access_key, signed(now - 1, &config.access_key), now),
        &body,
    )
    .await;
    assert_eq!(message(&answer), "Invalid signature.");
    assert_eq!(answer["error"]["code"], "unauthorized");

    // Within the window, upper-case hex, and a body that is not JSON.
    let edge = chrono::Utc::now().timestamp() - 290;
    let upper = signed(edge, &config.access_key).to_ascii_uppercase();
    let (status, _) = raw_order(&f, &auth(&config.access_key, upper, edge), &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = raw_order(
        &f,
        &auth(&config.access_key, signed(now, &config.access_key), now),
        "{",
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "Invalid JSON format"})
        )
    );
    let (status, answer) = raw_order(
        &f,
        &auth(&config.access_key, signed(now, &config.access_key), now),
        &body,
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"errors": ["External order id has already been taken"]})
        )
    );
    let blank = json!({"external_order_id": " ", "products": []}).to_string();
    let (_, answer) = raw_order(
        &f,
        &auth(&config.access_key, signed(now, &config.access_key), now),
        &blank,
    )
    .await;
    assert_eq!(
        answer,
        json!({"errors": ["External order id can't be blank"]})
    );

    // A client with the wrong secret is refused as unauthorised.
    let wrong = client_for(&f.handle.base_url(), &f.sandbox, &config, "d3Jvbmc=");
    let refused = wrong
        .place_order(&order("ord_x", &f.sandbox.options()[0].option_id, 1))
        .await;
    assert!(matches!(
        refused,
        Err(ConnectorError::Unauthorized { status: 401 })
    ));
    assert_eq!(f.sandbox.purchases(), 1);
}

#[tokio::test]
async fn the_purchase_list_holds_each_external_order_once() {
    let f = fixture().await;
    assert!(common::listed(&f.handle).await.is_empty());
    let sku = f.sandbox.options()[0].option_id.clone();
    f.client
        .place_order(&order("ord_1", &sku, 3))
        .await
        .unwrap();
    // The same external order again is accepted but buys nothing.
    f.client
        .place_order(&order("ord_1", &sku, 3))
        .await
        .unwrap();
    assert!(
        f.client
            .place_order(&order("ord_2", "no-such-option", 1))
            .await
            .is_err()
    );

    let purchases = common::listed(&f.handle).await;
    assert_eq!(purchases.len(), 1, "{purchases:?}");
    assert_eq!(purchases[0].reference, "ord_1");
    assert_eq!(purchases[0].caller_reference.as_deref(), Some("ord_1"));
    assert_eq!(
        (purchases[0].sku.as_str(), purchases[0].quantity),
        (sku.as_str(), 3)
    );
    assert_eq!(purchases, f.sandbox.sold());
}
