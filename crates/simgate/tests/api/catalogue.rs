use reqwest::StatusCode;

use crate::helpers::{Options, TestApp, assert_problem};

#[tokio::test]
async fn full_catalogue_is_synced_and_searchable() {
    let app = TestApp::spawn_with(Options::without_fx()).await;
    let providers = app.get_json("/v1/providers").await;
    let esim_go = &providers["data"][0];
    assert_eq!(esim_go["id"], "esim-go");
    assert_eq!(
        esim_go["catalogue_products"].as_u64().unwrap() as usize,
        app.sandbox.state.catalogue_len()
    );
    assert!(
        esim_go["capabilities"]
            .as_array()
            .unwrap()
            .contains(&"top_ups".into())
    );

    let all = app.get_json("/v1/products?limit=1").await;
    assert!(all["total"].as_u64().unwrap() >= 5000);

    let japan = app.get_json("/v1/products?country=jp&limit=500").await;
    let products = japan["data"].as_array().unwrap();
    assert!(!products.is_empty());
    // Without FX rates, prices in other currencies than USD cannot be
    // compared: they follow every USD price, so only those are one sequence.
    let prices: Vec<f64> = products
        .iter()
        .filter(|p| {
            assert!(
                p["countries"].as_array().unwrap().contains(&"JP".into()),
                "{p}"
            );
            p["converted"] == true
        })
        .map(|p| p["price"]["amount"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(!prices.is_empty());
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "sorted by price");
    assert!(
        products[prices.len()..]
            .iter()
            .all(|p| p["converted"] == false)
    );
    assert_eq!(products[0]["price"]["currency"], "USD");
}

#[tokio::test]
async fn filters_and_sorts_combine() {
    let app = TestApp::spawn_with(Options::without_fx()).await;
    let big = app.get_json("/v1/products?country=FR&min_data_mb=10000&max_price=100&currency=USD&sort=-price&limit=500").await;
    let products = big["data"].as_array().unwrap();
    assert!(!products.is_empty());
    let mut last = f64::MAX;
    for p in products {
        let price: f64 = p["price"]["amount"].as_str().unwrap().parse().unwrap();
        assert!(price <= 100.0 && price <= last, "{p}");
        last = price;
        let data = &p["data"];
        assert!(
            data["unlimited"] == true || data["mb"].as_u64().unwrap() >= 10_000,
            "{p}"
        );
    }
    assert_eq!(big["total"].as_u64().unwrap() as usize, products.len());

    let id = products[0]["id"].as_str().unwrap();
    let one = app.get_json(&format!("/v1/products/{id}")).await;
    assert_eq!(one["id"], id);
    assert_problem(
        app.get("/v1/products/esim-go:nope").await,
        StatusCode::NOT_FOUND,
        "product_not_found",
    )
    .await;
}

#[tokio::test]
async fn bad_catalogue_queries_are_problems() {
    let app = TestApp::spawn_with(Options::without_fx()).await;
    for (query, code) in [
        ("country=XX", "invalid_country"),
        ("country=JPN", "invalid_country"),
        ("currency=ABC", "invalid_currency"),
        ("max_price=ten", "invalid_amount"),
        ("max_price=0.0000001", "invalid_amount"),
        ("sort=cheapest", "invalid_query"),
        ("limit=0", "invalid_query"),
        ("limit=501", "invalid_query"),
        ("min_data_mb=-5", "invalid_query"),
        ("provider=acme", "unknown_provider"),
        ("colour=blue", "invalid_query"),
    ] {
        let response = app.get(&format!("/v1/products?{query}")).await;
        assert_problem(response, StatusCode::BAD_REQUEST, code).await;
    }
}
