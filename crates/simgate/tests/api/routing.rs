//! A tenant's routing policy (`GET`/`PUT /v1/routing`) drives where its
//! offer orders go, and orders freeze their sell price and margin.

use std::collections::BTreeSet;
use std::str::FromStr;

use reqwest::{Method, StatusCode};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use simgate_domain::orchestration::OfferId;
use simgate_domain::{CountryCode, ProviderId};

use crate::helpers::{Options, TestApp, assert_problem};

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap()).unwrap()
}

/// A Japan-only offer and its candidates' providers in the default routing
/// order, the first two different.
pub(crate) async fn japan_offer(app: &TestApp) -> (String, Vec<ProviderId>) {
    let services = app.app.services();
    let japan = CountryCode::parse("JP").unwrap();
    let tenant = app.tenant_id().await;
    for offer in services.offers(Some(japan)).await.unwrap() {
        if offer.key.countries != [japan] {
            continue;
        }
        let products = services
            .route_offer(&tenant, &offer.id)
            .await
            .unwrap()
            .products();
        let providers: Vec<ProviderId> = products.iter().map(|p| p.provider).collect();
        if providers.len() >= 2 && providers[0] != providers[1] {
            return (offer.id.as_str().to_owned(), providers);
        }
    }
    panic!("the sandbox catalogue has no Japan offer sold by two providers");
}

async fn put_routing(app: &TestApp, policy: &Value) -> reqwest::Response {
    app.send(Method::PUT, "/v1/routing", policy).await
}

/// Orders the offer and returns the completed order.
async fn order_offer(app: &TestApp, offer: &str, key: &str) -> Value {
    let response = app
        .post("/v1/orders", &json!({"offer_id": offer}), Some(key))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "{key}");
    let order: Value = response.json().await.unwrap();
    app.wait_for_order(order["id"].as_str().unwrap(), "completed")
        .await
}

#[tokio::test]
async fn the_tenants_policy_chooses_the_provider() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get_json("/v1/routing").await,
        json!({"strategy": "cheapest", "providers": [], "weights": {}, "exclude": [], "countries": {}})
    );
    let (offer, providers) = japan_offer(&app).await;
    let (first, second) = (providers[0].as_str(), providers[1].as_str());

    // Priority: the listed provider sells, though it is not the cheapest.
    let policy = json!({"strategy": "priority", "providers": [second]});
    assert_eq!(put_routing(&app, &policy).await.status(), StatusCode::OK);
    assert_eq!(
        app.get_json("/v1/routing").await["providers"],
        json!([second])
    );
    let order = order_offer(&app, &offer, "priority").await;
    assert_eq!(order["provider"], second, "{order}");
    assert_eq!(order["attempts"], json!([]));

    // Excluded: never used, even as the cheapest.
    let policy = json!({"exclude": [first]});
    assert_eq!(put_routing(&app, &policy).await.status(), StatusCode::OK);
    for key in ["excluded-1", "excluded-2"] {
        let order = order_offer(&app, &offer, key).await;
        assert_ne!(order["provider"], first, "{order}");
    }

    // A per-country override applies to a Japan-only offer.
    let policy = json!({"countries": {"JP": {"strategy": "priority", "providers": [second]}}});
    assert_eq!(put_routing(&app, &policy).await.status(), StatusCode::OK);
    let order = order_offer(&app, &offer, "override").await;
    assert_eq!(order["provider"], second, "{order}");

    // Weighted: each decision draws afresh, so both providers come first
    // (20 even draws all alike: odds of 2^-19). Few draws: each decision
    // reads the whole catalogue, about half a second in a debug build.
    let mut weights = serde_json::Map::new();
    weights.insert(first.to_owned(), json!(1));
    weights.insert(second.to_owned(), json!(1));
    let policy = json!({"strategy": "weighted", "weights": weights});
    assert_eq!(put_routing(&app, &policy).await.status(), StatusCode::OK);
    let (tenant, offer_id) = (app.tenant_id().await, OfferId::parse(&offer).unwrap());
    let mut drawn = BTreeSet::new();
    for _ in 0..20 {
        let decision = app
            .app
            .services()
            .route_offer(&tenant, &offer_id)
            .await
            .unwrap();
        drawn.insert(decision.products()[0].provider);
    }
    assert_eq!(drawn, BTreeSet::from([providers[0], providers[1]]));

    // Another tenant still routes by the default.
    let (_, other) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;
    let theirs: Value = app
        .client
        .get(format!("{}/v1/routing", app.address))
        .bearer_auth(other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["strategy"], "cheapest");
    assert_eq!(theirs["countries"], json!({}));
}

#[tokio::test]
async fn bad_policies_are_refused_with_their_code_and_field() {
    let app = TestApp::spawn().await;
    let kept = json!({"strategy": "priority", "providers": ["sim-local"]});
    assert_eq!(put_routing(&app, &kept).await.status(), StatusCode::OK);
    for (policy, code, field) in [
        (
            json!({"strategy": "priority"}),
            "priority_needs_providers",
            "providers",
        ),
        (
            json!({"strategy": "weighted", "weights": {"esim-go": 0}}),
            "weighted_needs_weights",
            "weights",
        ),
        (
            json!({"providers": ["esim-go", "esim-go"]}),
            "duplicate_routing_provider",
            "providers",
        ),
        (
            json!({"providers": ["esim-go"], "exclude": ["esim-go"]}),
            "conflicting_routing_provider",
            "providers",
        ),
        (
            json!({"countries": {"JP": {}}}),
            "empty_routing_override",
            "countries.JP",
        ),
        (
            json!({"countries": {"JP": {"strategy": "priority"}}}),
            "priority_needs_providers",
            "countries.JP.providers",
        ),
        (
            json!({"providers": ["esim-go", "telnyx"]}),
            "unknown_routing_provider",
            "providers[1]",
        ),
        (
            json!({"strategy": "weighted", "weights": {"onsim": 1}}),
            "unknown_routing_provider",
            "weights.onsim",
        ),
    ] {
        let body = assert_problem(
            put_routing(&app, &policy).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
        assert_eq!(body["field"], field, "{policy}: {body}");
    }
    for policy in [
        json!({"providers": ["acme"]}),
        json!({"strategy": "fastest"}),
        json!({"stratgy": "cheapest"}),
    ] {
        assert_problem(
            put_routing(&app, &policy).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .await;
    }
    assert_eq!(
        app.get_json("/v1/routing").await["providers"],
        json!(["sim-local"])
    );
}

#[tokio::test]
async fn orders_freeze_their_price_and_margin() {
    // Without a GBP rate, the offer's GBP candidates cannot be priced in the
    // tenant's USD and are left out: the sale is in one currency.
    let app = TestApp::spawn_with(Options::without_fx()).await;
    let rules = json!({"currency": "USD", "markup_percent": "10"});
    assert_eq!(
        app.send(Method::PUT, "/v1/pricing", &rules).await.status(),
        StatusCode::OK
    );
    let product = app.cheapest("JP").await;
    let placed = app.order(&product, "frozen").await;
    let order = app
        .wait_for_order(placed["id"].as_str().unwrap(), "completed")
        .await;
    let cost = dec(&order["unit_price"]["amount"]);
    let price = (cost * Decimal::from_str("1.1").unwrap())
        .round_dp_with_strategy(2, RoundingStrategy::ToPositiveInfinity);
    assert_eq!(order["price"]["currency"], "USD");
    assert_eq!(dec(&order["price"]["amount"]), price, "{order}");
    assert_eq!(order["margin"]["currency"], "USD");
    assert_eq!(dec(&order["margin"]["amount"]), price - cost);

    // New rules price new orders; the first keeps what it was sold at.
    let rules = json!({"currency": "USD", "markup_percent": "50"});
    assert_eq!(
        app.send(Method::PUT, "/v1/pricing", &rules).await.status(),
        StatusCode::OK
    );
    let later = app.order(&product, "later").await;
    assert!(dec(&later["price"]["amount"]) > price, "{later}");
    let again = app
        .get_json(&format!("/v1/orders/{}", order["id"].as_str().unwrap()))
        .await;
    assert_eq!(again["price"], order["price"]);
    assert_eq!(again["margin"], order["margin"]);
    let listed = app.get_json("/v1/orders").await;
    let listed = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == order["id"])
        .unwrap()
        .clone();
    assert_eq!(listed["price"], order["price"]);

    // An offer order is priced for the candidate that sells it.
    let (offer, _) = japan_offer(&app).await;
    let sold = order_offer(&app, &offer, "offer").await;
    let cost = dec(&sold["unit_price"]["amount"]);
    assert_eq!(sold["price"]["currency"], "USD");
    assert_eq!(
        dec(&sold["margin"]["amount"]),
        dec(&sold["price"]["amount"]) - cost,
        "{sold}"
    );
}
