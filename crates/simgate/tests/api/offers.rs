//! `GET /v1/offers`: equivalent products of several providers under one id,
//! with the tenant's sell prices, filters, price sorts and bad input.

use std::collections::BTreeSet;
use std::str::FromStr;

use reqwest::{Method, StatusCode};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, assert_problem};

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap()).unwrap()
}

async fn page(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/v1/offers?{query}")).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

/// The providers of an offer's candidates.
fn providers(offer: &Value) -> BTreeSet<String> {
    offer["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["provider"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn offers_group_providers_with_the_tenants_prices() {
    let app = TestApp::spawn_with(Options::without_fx()).await;
    let japan = page(&app, "country=JP&limit=500").await;
    let offers = japan["data"].as_array().unwrap();
    assert_eq!(japan["total"].as_u64().unwrap(), offers.len() as u64);
    let ids: Vec<&str> = offers.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "the default order is by id");
    for offer in offers {
        assert!(offer["id"].as_str().unwrap().starts_with("off_"));
        assert!(
            offer["countries"]
                .as_array()
                .unwrap()
                .contains(&json!("JP"))
        );
        // Without pricing rules the price is the lowest cost, unconverted.
        let candidates = offer["candidates"].as_array().unwrap();
        assert!(!candidates.is_empty());
        assert!(candidates.iter().all(|c| {
            c["price"] == c["cost"]
                && c["product_id"]
                    .as_str()
                    .unwrap()
                    .starts_with(c["provider"].as_str().unwrap())
        }));
        assert!(candidates.iter().any(|c| c["price"] == offer["price"]));
        // Each candidate shows its provider's circuit: all healthy here.
        assert!(
            candidates
                .iter()
                .all(|c| c["health"]["circuit"] == "closed"),
            "{candidates:?}"
        );
    }
    let shared = offers
        .iter()
        .find(|o| providers(o).len() >= 2)
        .expect("a Japan offer sold by two providers");

    // One offer by id is the same offer.
    let id = shared["id"].as_str().unwrap();
    let one = app.get_json(&format!("/v1/offers/{id}")).await;
    assert_eq!(&one, shared);

    // Filters.
    for offer in page(&app, "country=JP&validity_days=7&limit=500").await["data"]
        .as_array()
        .unwrap()
    {
        assert_eq!(offer["validity_days"], 7);
    }
    let big = page(&app, "country=JP&min_data_mb=3000&limit=500").await;
    assert!(big["total"].as_u64().unwrap() > 0);
    for offer in big["data"].as_array().unwrap() {
        assert!(
            offer["data"]["unlimited"] == true || offer["data"]["mb"].as_u64().unwrap() >= 3000
        );
    }
    let cheap = page(&app, "country=JP&max_price=5&currency=USD&limit=500").await;
    assert!(cheap["total"].as_u64().unwrap() > 0);
    for offer in cheap["data"].as_array().unwrap() {
        assert_eq!(offer["price"]["currency"], "USD");
        assert!(dec(&offer["price"]["amount"]) <= Decimal::from(5));
    }
    let limited = page(&app, "country=JP&limit=2&offset=1").await;
    assert_eq!(limited["data"].as_array().unwrap().len(), 2);
    assert_eq!(limited["data"][0]["id"], offers[1]["id"]);
    assert_eq!(limited["total"], japan["total"]);

    // Sorted by converted price, both ways; unconvertible prices last.
    for (sort, ascending) in [("price", true), ("-price", false)] {
        let sorted = page(&app, &format!("country=JP&limit=500&sort={sort}")).await;
        let usd: Vec<Decimal> = sorted["data"]
            .as_array()
            .unwrap()
            .iter()
            .take_while(|o| o["converted"] == true)
            .map(|o| dec(&o["price"]["amount"]))
            .collect();
        assert!(!usd.is_empty());
        assert!(
            usd.windows(2).all(|w| if ascending {
                w[0] <= w[1]
            } else {
                w[0] >= w[1]
            }),
            "{sort}: {usd:?}"
        );
        assert!(
            sorted["data"].as_array().unwrap()[usd.len()..]
                .iter()
                .all(|o| o["converted"] == false)
        );
    }

    // With pricing rules the tenant's sell price shows beside the cost.
    let rules = json!({"currency": "USD", "markup_percent": "10"});
    let put = app.send(Method::PUT, "/v1/pricing", &rules).await;
    assert_eq!(put.status(), StatusCode::OK);
    let priced = app.get_json(&format!("/v1/offers/{id}")).await;
    for candidate in priced["candidates"].as_array().unwrap() {
        if candidate["cost"]["currency"] == "USD" {
            let expected = (dec(&candidate["cost"]["amount"]) * Decimal::from_str("1.1").unwrap())
                .round_dp_with_strategy(2, RoundingStrategy::ToPositiveInfinity);
            assert_eq!(dec(&candidate["price"]["amount"]), expected, "{candidate}");
            assert_eq!(candidate["converted"], true);
        } else {
            // No FX rate into USD: shown at cost, marked.
            assert_eq!(candidate["converted"], false, "{candidate}");
        }
    }
}

#[tokio::test]
async fn bad_offer_queries_are_client_errors_with_codes() {
    let app = TestApp::spawn_with(Options::without_fx()).await;
    for (query, code) in [
        ("sort=cheapest", "invalid_query"),
        ("limit=0", "invalid_query"),
        ("limit=501", "invalid_query"),
        ("max_price=lots", "invalid_amount"),
        ("max_price=-1", "invalid_amount"),
        ("country=XX", "invalid_country"),
        ("currency=XYZ", "invalid_currency"),
        ("validity_days=week", "invalid_query"),
        ("colour=red", "invalid_query"),
    ] {
        assert_problem(
            app.get(&format!("/v1/offers?{query}")).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    assert_problem(
        app.get("/v1/offers/off_0000000000000000").await,
        StatusCode::NOT_FOUND,
        "offer_not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/offers/esim-go:esim_1GB_7D_JP_V2").await,
        StatusCode::NOT_FOUND,
        "offer_not_found",
    )
    .await;
    let anonymous = reqwest::get(format!("{}/v1/offers", app.address))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
