//! The Telnyx client against the Telnyx sandbox over real HTTP: addresses,
//! previews, orders through their whole walk, paging and every filter,
//! Telnyx's error codes, auth, the rate limit and injected faults.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use simgate_connectors::telnyx::{TelnyxClient, TelnyxConfig};
use simgate_connectors::{ConnectorError, SimCardOrders};
use simgate_domain::{
    CountryCode, NewAddress, PageRequest, ShippingAddress, SimOrder, SimOrderFilter, SimOrderStatus,
};
use simgate_sandbox::simulator::SimulatorHandle;
use simgate_sandbox::telnyx::{DEFAULT_API_KEY, SHIPPING_PRICE, SIM_CARD_PRICE};
use simgate_sandbox::telnyx::{TelnyxSandbox, TelnyxSandboxConfig};
use tokio::net::TcpListener;

struct Fixture {
    sandbox: TelnyxSandbox,
    handle: SimulatorHandle,
    client: TelnyxClient,
}

async fn fixture(config: TelnyxSandboxConfig) -> Fixture {
    let sandbox = TelnyxSandbox::new(config);
    let handle = sandbox
        .spawn(TcpListener::bind("127.0.0.1:0").await.unwrap())
        .unwrap();
    let client = client(&handle, DEFAULT_API_KEY);
    Fixture {
        sandbox,
        handle,
        client,
    }
}

impl Fixture {
    /// A shipping address in Chicago, created through the client.
    async fn chicago(&self) -> ShippingAddress {
        self.client
            .create_address(&address("Chicago", "US"))
            .await
            .unwrap()
    }
}

/// A sandbox whose orders stay `pending` for the length of a test.
async fn still() -> Fixture {
    fixture(TelnyxSandboxConfig {
        step: Duration::from_secs(3600),
        ..TelnyxSandboxConfig::default()
    })
    .await
}

fn client(handle: &SimulatorHandle, key: &str) -> TelnyxClient {
    TelnyxClient::new(TelnyxConfig {
        base_url: handle.base_url(),
        api_key: SecretString::from(key.to_owned()),
        timeout: Duration::from_secs(2),
    })
    .unwrap()
}

fn address(locality: &str, country: &str) -> NewAddress {
    NewAddress {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        business_name: "Analytical Engines Ltd".into(),
        street_address: "311 W Superior St".into(),
        extended_address: Some("Suite 504".into()),
        locality: locality.into(),
        administrative_area: Some("IL".into()),
        postal_code: Some("60654".into()),
        country_code: CountryCode::parse(country).unwrap(),
    }
}

fn provider_code(error: &ConnectorError) -> (u16, &str, &str) {
    match error {
        ConnectorError::Provider {
            status,
            code,
            detail,
        } => (*status, code.as_str(), detail.as_str()),
        other => panic!("expected a Telnyx refusal, got {other:?}"),
    }
}

async fn raw(handle: &SimulatorHandle, path: &str, body: Option<Value>) -> reqwest::Response {
    let request = match body {
        Some(body) => reqwest::Client::new()
            .post(format!("{}{path}", handle.base_url()))
            .json(&body),
        None => reqwest::Client::new().get(format!("{}{path}", handle.base_url())),
    };
    request.bearer_auth(DEFAULT_API_KEY).send().await.unwrap()
}

#[tokio::test]
async fn an_order_walks_to_delivered_at_the_previewed_price() {
    let f = fixture(TelnyxSandboxConfig {
        step: Duration::from_millis(50),
        ..TelnyxSandboxConfig::default()
    })
    .await;
    let shipping = f.chicago().await;
    assert!(shipping.id.parse::<i64>().is_ok(), "an int64 as a string");
    assert_eq!(shipping.address.business_name, "Analytical Engines Ltd");

    let preview = f.client.preview_sim_order(&shipping.id, 21).await.unwrap();
    assert_eq!(preview.quantity, 21);
    assert_eq!(
        preview.sim_cards_cost.amount,
        SIM_CARD_PRICE * Decimal::from(21)
    );
    assert_eq!(preview.sim_cards_cost.amount, Decimal::new(252, 2));
    assert_eq!(preview.shipping_cost.amount, SHIPPING_PRICE);
    assert_eq!(
        preview.total_cost.amount,
        preview.sim_cards_cost.amount + preview.shipping_cost.amount
    );
    assert_eq!(preview.total_cost.currency.code(), "USD");
    assert_eq!(f.sandbox.orders_created(), 0, "a preview buys nothing");

    let order = f.client.create_sim_order(&shipping.id, 21).await.unwrap();
    assert_eq!(order.status, Some(SimOrderStatus::Pending));
    assert_eq!(order.cost, preview.total_cost);
    assert_eq!(order.address.id, shipping.id);
    assert_eq!(order.tracking_url, None);

    let mut seen = vec![SimOrderStatus::Pending];
    let deadline = Instant::now() + Duration::from_secs(10);
    let delivered: SimOrder = loop {
        let now = f.client.sim_order(&order.id).await.unwrap();
        let status = now.status.unwrap();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        if status == SimOrderStatus::Delivered {
            break now;
        }
        assert!(Instant::now() < deadline, "stuck at {status:?}");
        tokio::task::yield_now().await;
    };
    let walk = [
        SimOrderStatus::Pending,
        SimOrderStatus::Processing,
        SimOrderStatus::ReadyToShip,
        SimOrderStatus::Shipped,
        SimOrderStatus::Delivered,
    ];
    assert!(
        seen.iter().all(|s| walk.contains(s))
            && seen.is_sorted_by_key(|s| walk.iter().position(|w| w == s)),
        "in order: {seen:?}"
    );
    assert!(delivered.tracking_url.unwrap().starts_with("https://"));
    assert!(delivered.updated_at > delivered.created_at);
}

#[tokio::test]
async fn an_order_canceled_before_shipping_stays_canceled() {
    let f = still().await;
    let shipping = f.chicago().await;
    let order = f.client.create_sim_order(&shipping.id, 1).await.unwrap();
    let cancel = reqwest::Client::new()
        .post(format!(
            "{}/__admin/sim_card_orders/{}/cancel",
            f.handle.base_url(),
            order.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::OK);
    let now = f.client.sim_order(&order.id).await.unwrap();
    assert_eq!(now.status, Some(SimOrderStatus::Canceled));
    assert_eq!(now.provider_status, "canceled");
}

#[tokio::test]
async fn hundreds_of_orders_page_and_filter_like_telnyx() {
    let f = still().await;
    let chicago = f.chicago().await;
    let toronto = f
        .client
        .create_address(&address("Toronto", "CA"))
        .await
        .unwrap();
    for i in 0..520u32 {
        let to = if i % 4 == 0 { &toronto } else { &chicago };
        f.client.create_sim_order(&to.id, 1 + i % 5).await.unwrap();
    }
    assert_eq!(f.sandbox.orders_created(), 520);

    let all = SimOrderFilter::default();
    let mut ids = std::collections::BTreeSet::new();
    for number in 1..=3 {
        let page = f
            .client
            .list_sim_orders(&all, PageRequest::new(number, 250).unwrap())
            .await
            .unwrap();
        assert_eq!(page.total_results, 520);
        assert_eq!(page.total_pages, 3);
        assert_eq!(page.page_number, number);
        assert_eq!(page.orders.len(), if number < 3 { 250 } else { 20 });
        ids.extend(page.orders.into_iter().map(|o| o.id));
    }
    assert_eq!(ids.len(), 520, "every order once");
    let default = f
        .client
        .list_sim_orders(&all, PageRequest::default())
        .await
        .unwrap();
    assert_eq!((default.page_size, default.orders.len()), (20, 20));
    assert_eq!(default.total_pages, 26);

    let count = |filter: SimOrderFilter| {
        let client = &f.client;
        async move {
            client
                .list_sim_orders(&filter, PageRequest::new(1, 1).unwrap())
                .await
                .unwrap()
                .total_results
        }
    };
    let toronto_only = count(SimOrderFilter {
        address_id: Some(toronto.id.clone()),
        ..SimOrderFilter::default()
    })
    .await;
    assert_eq!(toronto_only, 130);
    let by_locality = count(SimOrderFilter {
        address_locality: Some("Toronto".into()),
        address_country_code: Some("CA".into()),
        ..SimOrderFilter::default()
    })
    .await;
    assert_eq!(by_locality, 130);
    assert_eq!(
        count(SimOrderFilter {
            quantity: Some(3),
            ..SimOrderFilter::default()
        })
        .await,
        104
    );
    let three_cards = (SIM_CARD_PRICE * Decimal::from(3) + SHIPPING_PRICE).to_string();
    assert_eq!(
        count(SimOrderFilter {
            cost_amount: Some(three_cards),
            cost_currency: Some("usd".into()),
            ..SimOrderFilter::default()
        })
        .await,
        104
    );
    for (field, value) in [
        ("street", "311 W Superior St"),
        ("extended", "Suite 504"),
        ("area", "IL"),
        ("postal", "60654"),
    ] {
        let mut filter = SimOrderFilter::default();
        let slot = match field {
            "street" => &mut filter.address_street_address,
            "extended" => &mut filter.address_extended_address,
            "area" => &mut filter.address_administrative_area,
            _ => &mut filter.address_postal_code,
        };
        *slot = Some(value.into());
        assert_eq!(count(filter).await, 520, "{field}");
    }
    let newest = &default.orders[0];
    let at_instant = count(SimOrderFilter {
        created_at: Some(newest.created_at.to_rfc3339()),
        ..SimOrderFilter::default()
    })
    .await;
    assert!(at_instant >= 1, "the newest order's own instant");
    assert_eq!(
        count(SimOrderFilter {
            updated_at: Some("2018-02-02T22:25:27.521Z".into()),
            ..SimOrderFilter::default()
        })
        .await,
        0
    );
}

#[tokio::test]
async fn refusals_carry_telnyx_codes() {
    let f = still().await;

    let embargoed = f
        .client
        .create_address(&address("Pyongyang", "KP"))
        .await
        .unwrap_err();
    let (status, code, detail) = provider_code(&embargoed);
    assert_eq!((status, code), (422, "10015"));
    assert!(detail.contains("KP"));

    let missing = raw(
        &f.handle,
        "/addresses",
        Some(json!({ "first_name": "Ada", "country_code": "US" })),
    )
    .await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = missing.json().await.unwrap();
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|e| assert_eq!(e["code"], "10004"))
        .map(|e| e["source"]["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        [
            "/last_name",
            "/business_name",
            "/street_address",
            "/locality"
        ]
    );

    let shipping = f.chicago().await;
    let zero = f
        .client
        .create_sim_order(&shipping.id, 0)
        .await
        .unwrap_err();
    assert_eq!(provider_code(&zero).1, "10015");
    let unknown_address = f.client.preview_sim_order("42", 1).await.unwrap_err();
    assert_eq!(
        provider_code(&unknown_address),
        (422, "10005", "Address '42' was not found.")
    );
    let no_quantity = raw(
        &f.handle,
        "/sim_card_orders",
        Some(json!({ "address_id": shipping.id })),
    )
    .await;
    let body: Value = no_quantity.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "10004");
    assert_eq!(body["errors"][0]["source"]["pointer"], "/quantity");
    assert_eq!(f.sandbox.orders_created(), 0);

    let not_found = f
        .client
        .sim_order("6a09cdc3-8948-47f0-aa62-74ac943d6c58")
        .await
        .unwrap_err();
    assert!(
        matches!(not_found, ConnectorError::NotFound(_)),
        "{not_found:?}"
    );
    let invalid_id = f.client.sim_order("not-a-uuid").await.unwrap_err();
    assert_eq!(provider_code(&invalid_id).1, "10006");

    for (query, parameter) in [
        ("page[size]=0", "page[size]"),
        ("page[size]=251", "page[size]"),
        ("page[number]=0", "page[number]"),
        ("filter[quantity]=many", "filter[quantity]"),
        ("filter[created_at]=yesterday", "filter[created_at]"),
    ] {
        let response = raw(&f.handle, &format!("/sim_card_orders?{query}"), None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "10015", "{query}");
        assert_eq!(body["errors"][0]["source"]["parameter"], parameter);
    }
    let bad_filter = f
        .client
        .list_sim_orders(
            &SimOrderFilter {
                cost_amount: Some("cheap".into()),
                ..SimOrderFilter::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        provider_code(&bad_filter),
        (400, "10015", "'cheap' is not an amount.")
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_not_echoed() {
    let f = still().await;
    let stranger = client(&f.handle, "not-the-key");
    let error = stranger
        .create_address(&address("Chicago", "US"))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        ConnectorError::Unauthorized { status: 401 }
    ));
    assert!(!format!("{error} {error:?} {stranger:?}").contains("not-the-key"));
    let unauthenticated = reqwest::get(format!("{}/sim_card_orders", f.handle.base_url()))
        .await
        .unwrap();
    let body: Value = unauthenticated.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "10009");
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_its_headers_and_the_client_waits_it_out() {
    let f = fixture(TelnyxSandboxConfig {
        step: Duration::from_secs(3600),
        rate_limit: Some(2),
        ..TelnyxSandboxConfig::default()
    })
    .await;
    let first = raw(&f.handle, "/sim_card_orders", None).await;
    assert_eq!(first.headers()["x-ratelimit-limit"], "2");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "1");
    raw(&f.handle, "/sim_card_orders", None).await;
    let limited = raw(&f.handle, "/sim_card_orders", None).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    assert!(limited.headers().contains_key("x-ratelimit-reset"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "10011");

    // The window is spent: the client retries until it opens again.
    let page = f
        .client
        .list_sim_orders(&SimOrderFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.total_results, 0);
}

#[tokio::test]
async fn injected_faults_are_classified() {
    let f = still().await;
    let shipping = f.chicago().await;
    let arm = |spec: Value| {
        let url = format!("{}/__admin/faults", f.handle.base_url());
        async move {
            let armed = reqwest::Client::new()
                .post(url)
                .json(&spec)
                .send()
                .await
                .unwrap();
            assert_eq!(armed.status(), StatusCode::CREATED);
        }
    };

    arm(json!({ "kind": "status", "status": 500, "path": "/sim_card_orders" })).await;
    let error = f
        .client
        .create_sim_order(&shipping.id, 1)
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectorError::ServerError { status: 500 }));
    assert!(!error.nothing_was_processed(), "a 500 may have bought");

    arm(json!({ "kind": "status", "status": 429, "times": 3 })).await;
    let error = f
        .client
        .preview_sim_order(&shipping.id, 1)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConnectorError::RateLimited { .. }),
        "{error:?}"
    );
    assert!(error.nothing_was_processed());

    arm(json!({ "kind": "malformed", "path": "/sim_card_orders" })).await;
    let error = f
        .client
        .create_sim_order(&shipping.id, 1)
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectorError::InvalidResponse(_)));
    assert_eq!(f.sandbox.orders_created(), 1, "processed, answer lost");

    arm(json!({ "kind": "timeout", "ms": 5000, "path": "/sim_card_orders" })).await;
    let error = f
        .client
        .create_sim_order(&shipping.id, 1)
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectorError::Timeout));
    assert_eq!(f.sandbox.orders_created(), 2);
}

#[tokio::test]
async fn the_purchase_list_holds_every_order_created() {
    let f = still().await;
    let shipping = f.chicago().await;
    assert!(common::listed(&f.handle).await.is_empty());
    f.client.preview_sim_order(&shipping.id, 3).await.unwrap();
    let order = f.client.create_sim_order(&shipping.id, 3).await.unwrap();
    assert!(
        f.client.create_sim_order("1", 3).await.is_err(),
        "unknown address"
    );

    let purchases = common::listed(&f.handle).await;
    assert_eq!(purchases.len(), 1, "a preview and a refusal buy nothing");
    assert_eq!(purchases[0].reference, order.id);
    assert_eq!(purchases[0].caller_reference, None);
    assert_eq!(
        (purchases[0].sku.as_str(), purchases[0].quantity),
        ("sim_card", 3)
    );
    assert_eq!(purchases, f.sandbox.sold());
}
