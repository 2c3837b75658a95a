//! Money across currencies and per-tenant pricing: the operator's FX table
//! (API and CLI), tenants' pricing rules, and the catalogue's sell prices
//! and price sort.

use std::str::FromStr;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{
    OPERATOR_KEY, Options, Sandbox, TestApp, assert_problem, eventually, settings_for,
};
use crate::postgres::fresh_database;
use crate::recovery::run_simgate;

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap()).unwrap()
}

async fn call(
    app: &TestApp,
    key: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, format!("{}{path}", app.address));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn set_rates(app: &TestApp, rates: Value) -> Value {
    let response = call(
        app,
        Some(OPERATOR_KEY),
        Method::PUT,
        "/admin/v1/fx",
        Some(&json!({"rates": rates})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The Japan catalogue sorted by price, as `(price, converted, provider)`.
async fn japan(app: &TestApp, key: &str, sort: &str) -> Vec<Value> {
    let page: Value = call(
        app,
        Some(key),
        Method::GET,
        &format!("/v1/products?country=JP&limit=500&sort={sort}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    page["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn prices_sort_across_currencies_by_converted_value() {
    let app = TestApp::spawn_with(Options::without_fx()).await;
    let key = app.api_key.clone();

    // No rates: GBP (Sim Local) cannot be compared with USD, so it comes
    // after every USD price, unconverted and marked, never mixed in.
    let products = japan(&app, &key, "price").await;
    let currencies: Vec<&str> = products
        .iter()
        .map(|p| p["price"]["currency"].as_str().unwrap())
        .collect();
    let first_gbp = currencies
        .iter()
        .position(|c| *c == "GBP")
        .expect("Sim Local sells JP in GBP");
    assert!(
        currencies[first_gbp..].iter().all(|c| *c == "GBP"),
        "{currencies:?}"
    );
    let gbp = &products[first_gbp];
    assert_eq!(gbp["converted"], false, "{gbp}");
    assert!(gbp.get("cost_converted").is_none(), "{gbp}");
    assert_eq!(gbp["price"], gbp["cost"]);

    // With a GBP/USD rate every price is compared in USD: one ascending
    // sequence of converted costs (today's sort mixed 4.50 GBP among USD as if 4.50 USD).
    set_rates(
        &app,
        json!([{"base": "GBP", "quote": "USD", "rate": "1.25"}]),
    )
    .await;
    let products = japan(&app, &key, "price").await;
    let converted: Vec<Decimal> = products
        .iter()
        .map(|p| {
            assert_eq!(p["converted"], true, "{p}");
            assert_eq!(p["cost_converted"]["currency"], "USD");
            dec(&p["cost_converted"]["amount"])
        })
        .collect();
    assert!(converted.windows(2).all(|w| w[0] <= w[1]), "{converted:?}");
    let cheapest_gbp = products
        .iter()
        .find(|p| p["cost"]["currency"] == "GBP")
        .unwrap();
    assert_eq!(
        dec(&cheapest_gbp["cost"]["amount"]),
        Decimal::from_str("4.5").unwrap()
    );
    assert_eq!(
        dec(&cheapest_gbp["cost_converted"]["amount"]),
        Decimal::from_str("5.625").unwrap()
    );
    let descending = japan(&app, &key, "-price").await;
    let amounts: Vec<Decimal> = descending
        .iter()
        .map(|p| dec(&p["cost_converted"]["amount"]))
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");

    // A tenant pricing in EUR: USD and GBP both converted into EUR, sell
    // prices in EUR, ascending.
    set_rates(&app, json!([{"base": "USD", "quote": "EUR", "rate": "0.92"}, {"base": "GBP", "quote": "EUR", "rate": "1.15"}])).await;
    let rules = json!({"currency": "EUR", "markup_percent": "10"});
    let put = call(&app, Some(&key), Method::PUT, "/v1/pricing", Some(&rules)).await;
    assert_eq!(put.status(), StatusCode::OK);
    let products = japan(&app, &key, "price").await;
    let prices: Vec<Decimal> = products
        .iter()
        .map(|p| {
            assert_eq!(p["price"]["currency"], "EUR", "{p}");
            assert_eq!(p["converted"], true, "{p}");
            dec(&p["price"]["amount"])
        })
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    assert!(products.iter().any(|p| p["cost"]["currency"] == "GBP"));
    assert!(products.iter().any(|p| p["cost"]["currency"] == "USD"));

    // A currency no rate reaches: every price shown at cost, unconverted
    // and marked, grouped by currency.
    let put = call(
        &app,
        Some(&key),
        Method::PUT,
        "/v1/pricing",
        Some(&json!({"currency": "JPY"})),
    )
    .await;
    assert_eq!(put.status(), StatusCode::OK);
    let products = japan(&app, &key, "price").await;
    for p in &products {
        assert_eq!(p["converted"], false, "{p}");
        assert!(p.get("cost_converted").is_none(), "{p}");
        assert_eq!(p["price"], p["cost"], "{p}");
    }
    let currencies: Vec<&str> = products
        .iter()
        .map(|p| p["price"]["currency"].as_str().unwrap())
        .collect();
    let first_usd = currencies.iter().position(|c| *c == "USD").unwrap();
    assert!(
        currencies[..first_usd].iter().all(|c| *c == "GBP"),
        "{currencies:?}"
    );
    assert!(
        currencies[first_usd..].iter().all(|c| *c == "USD"),
        "{currencies:?}"
    );
}

/// Each instance caches the FX table (reloaded when the stored version
/// moves, checked at most every 2 s) and each tenant's pricing rules and
/// routing policy (read again after 2 s): a rate, rules or a policy set
/// through one instance of a shared PostgreSQL database reach the other
/// instance soon after, without a restart.
#[tokio::test]
async fn rates_rules_and_routing_set_on_one_instance_reach_the_other_on_postgres() {
    let options = Options {
        database_url: Some(fresh_database().await),
        ..Options::without_fx()
    };
    let first = TestApp::spawn_with(options.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let second = simgate::Application::start(&settings_for(&first.sandbox, &dir, &options))
        .await
        .expect("the second instance starts");
    let japan_on_second = || async {
        let page: Value = first
            .client
            .get(format!(
                "http://{}/v1/products?country=JP&limit=500&sort=price",
                second.addr()
            ))
            .bearer_auth(&first.api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["data"].as_array().unwrap().clone()
    };

    // The second instance has read (and cached) the empty table: GBP is
    // shown unconverted.
    let before = japan_on_second().await;
    assert!(
        before
            .iter()
            .any(|p| p["cost"]["currency"] == "GBP" && p["converted"] == false),
        "{before:?}"
    );

    set_rates(
        &first,
        json!([{"base": "GBP", "quote": "USD", "rate": "1.25"}]),
    )
    .await;
    let converted = eventually(Duration::from_secs(10), || async {
        let products = japan_on_second().await;
        products
            .iter()
            .all(|p| p["converted"] == true)
            .then_some(products)
    })
    .await;
    let gbp = converted
        .iter()
        .find(|p| p["cost"]["currency"] == "GBP")
        .unwrap();
    assert_eq!(
        dec(&gbp["cost_converted"]["amount"]),
        dec(&gbp["cost"]["amount"]) * Decimal::from_str("1.25").unwrap()
    );

    // The second instance has read (and cached) the tenant's lack of rules
    // and policy; the first now stores both.
    let (client, key, addr) = (&first.client, first.api_key.as_str(), second.addr());
    let routing_on_second = || async move {
        let response = client
            .get(format!("http://{addr}/v1/routing"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()
    };
    assert_eq!(routing_on_second().await["strategy"], "cheapest");
    let rules = json!({"currency": "USD", "markup_percent": "100"});
    let put = call(
        &first,
        Some(&first.api_key),
        Method::PUT,
        "/v1/pricing",
        Some(&rules),
    )
    .await;
    assert_eq!(put.status(), StatusCode::OK);
    let policy = json!({"strategy": "priority", "providers": ["sim-local"]});
    let put = call(
        &first,
        Some(&first.api_key),
        Method::PUT,
        "/v1/routing",
        Some(&policy),
    )
    .await;
    assert_eq!(put.status(), StatusCode::OK);
    let marked_up = eventually(Duration::from_secs(10), || async {
        let products = japan_on_second().await;
        products
            .iter()
            .all(|p| {
                p["price"]["currency"] == "USD"
                    && dec(&p["price"]["amount"])
                        >= dec(&p["cost_converted"]["amount"]) * Decimal::TWO
            })
            .then_some(products)
    })
    .await;
    assert!(!marked_up.is_empty());
    eventually(Duration::from_secs(10), || async {
        (routing_on_second().await["providers"] == json!(["sim-local"])).then_some(())
    })
    .await;
    second.stop().await;
    first.app.stop().await;
}

#[tokio::test]
async fn tenants_set_their_own_pricing_and_see_sell_prices() {
    let app = TestApp::spawn_with(Options::without_fx()).await;
    let key = app.api_key.clone();
    let (_, other) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;

    assert_problem(
        call(&app, Some(&key), Method::GET, "/v1/pricing", None).await,
        StatusCode::NOT_FOUND,
        "pricing_not_set",
    )
    .await;

    let rules = json!({
        "currency": "GBP",
        "markup_percent": "20",
        "markup_fixed": "0.10",
        "round_to": {"step": "0.05"},
        "overrides": [{"provider": "esim-go", "markup_percent": "50"}, {"country": "JP", "round_to": {"ending": "0.99"}}]
    });
    let put = call(&app, Some(&key), Method::PUT, "/v1/pricing", Some(&rules)).await;
    assert_eq!(put.status(), StatusCode::OK);
    let stored: Value = call(&app, Some(&key), Method::GET, "/v1/pricing", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["currency"], "GBP");
    assert_eq!(dec(&stored["markup_percent"]), Decimal::from(20));
    assert_eq!(
        dec(&stored["overrides"][0]["markup_percent"]),
        Decimal::from(50)
    );
    assert_eq!(stored["overrides"][1]["country"], "JP");

    // Sim Local's cheapest France product costs 4.50 GBP: 4.50 * 1.2 + 0.10 = 5.50.
    let fr: Value = call(
        &app,
        Some(&key),
        Method::GET,
        "/v1/products?country=FR&provider=sim-local&limit=1",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let product = &fr["data"][0];
    assert_eq!(
        dec(&product["cost"]["amount"]),
        Decimal::from_str("4.5").unwrap()
    );
    assert_eq!(product["price"]["currency"], "GBP");
    assert_eq!(
        dec(&product["price"]["amount"]),
        Decimal::from_str("5.5").unwrap()
    );
    // Japan: the country override rounds up to .99 instead.
    let jp: Value = call(
        &app,
        Some(&key),
        Method::GET,
        "/v1/products?country=JP&provider=sim-local&limit=1",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = jp["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        dec(&jp["data"][0]["price"]["amount"]),
        Decimal::from_str("5.99").unwrap()
    );
    let one: Value = call(
        &app,
        Some(&key),
        Method::GET,
        &format!("/v1/products/{id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        dec(&one["price"]["amount"]),
        Decimal::from_str("5.99").unwrap()
    );
    assert_eq!(
        dec(&one["cost"]["amount"]),
        Decimal::from_str("4.5").unwrap()
    );

    // The other tenant is untouched: no rules, prices at cost.
    assert_problem(
        call(&app, Some(&other), Method::GET, "/v1/pricing", None).await,
        StatusCode::NOT_FOUND,
        "pricing_not_set",
    )
    .await;
    let theirs: Value = call(
        &app,
        Some(&other),
        Method::GET,
        &format!("/v1/products/{id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(theirs["price"], theirs["cost"]);

    // Invalid rules: 422, the stable code and the field at fault.
    let cases = [
        (
            json!({"currency": "GBP", "markup_percent": "-1"}),
            "invalid_markup_percent",
            "markup_percent",
        ),
        (
            json!({"currency": "GBP", "round_to": {"ending": "1.5"}}),
            "invalid_round_to",
            "round_to",
        ),
        (
            json!({"currency": "GBP", "overrides": [{"country": "JP", "markup_percent": "2000"}]}),
            "invalid_markup_percent",
            "overrides[0].markup_percent",
        ),
        (
            json!({"currency": "GBP", "overrides": [{"country": "JP", "markup_percent": "5"}, {"country": "JP", "markup_fixed": "1"}]}),
            "duplicate_pricing_override",
            "overrides[1]",
        ),
        (
            json!({"currency": "GBP", "overrides": [{"provider": "esim-go"}]}),
            "empty_pricing_override",
            "overrides[0]",
        ),
    ];
    for (body, code, field) in cases {
        let problem = assert_problem(
            call(&app, Some(&key), Method::PUT, "/v1/pricing", Some(&body)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
        assert_eq!(problem["field"], field, "{problem}");
    }
    // The refused rules changed nothing.
    let still: Value = call(&app, Some(&key), Method::GET, "/v1/pricing", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still, stored);

    // Pricing is a tenant's; the operator key is refused.
    assert_problem(
        call(&app, Some(OPERATOR_KEY), Method::GET, "/v1/pricing", None).await,
        StatusCode::FORBIDDEN,
        "tenant_only",
    )
    .await;
}

#[tokio::test]
async fn fx_admin_is_operator_only_and_refuses_bad_rates() {
    let app = TestApp::spawn_with(Options::without_fx()).await;
    let key = app.api_key.clone();
    let body = json!({"rates": [{"base": "USD", "quote": "EUR", "rate": "0.92"}]});
    assert_problem(
        call(&app, Some(&key), Method::GET, "/admin/v1/fx", None).await,
        StatusCode::FORBIDDEN,
        "operator_only",
    )
    .await;
    assert_problem(
        call(&app, Some(&key), Method::PUT, "/admin/v1/fx", Some(&body)).await,
        StatusCode::FORBIDDEN,
        "operator_only",
    )
    .await;
    assert_problem(
        call(&app, None, Method::GET, "/admin/v1/fx", None).await,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
    )
    .await;

    let table = set_rates(&app, body["rates"].clone()).await;
    assert_eq!(
        table["data"],
        json!([{"base": "USD", "quote": "EUR", "rate": "0.92"}])
    );
    // The inverse pair replaces the rate rather than adding a second one.
    let table = set_rates(
        &app,
        json!([{"base": "EUR", "quote": "USD", "rate": "1.1"}]),
    )
    .await;
    assert_eq!(
        table["data"],
        json!([{"base": "EUR", "quote": "USD", "rate": "1.1"}])
    );

    for (rates, code) in [
        (
            json!([{"base": "USD", "quote": "EUR", "rate": "0"}]),
            "invalid_fx_rate",
        ),
        (
            json!([{"base": "USD", "quote": "USD", "rate": "1"}]),
            "invalid_fx_pair",
        ),
        (
            json!([{"base": "USD", "quote": "EUR", "rate": "abc"}]),
            "invalid_fx_rate",
        ),
    ] {
        let response = call(
            &app,
            Some(OPERATOR_KEY),
            Method::PUT,
            "/admin/v1/fx",
            Some(&json!({"rates": rates})),
        )
        .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    let listed: Value = call(&app, Some(OPERATOR_KEY), Method::GET, "/admin/v1/fx", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["data"],
        json!([{"base": "EUR", "quote": "USD", "rate": "1.1"}])
    );
}

// Multi-threaded: the binary's blocking run must not starve the in-process sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fx_cli_sets_loads_and_lists_exact_rates() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");
    let run = |args: &[&str]| run_simgate(&sandbox, &db, args);

    let (ok, stdout, stderr) = run(&["fx", "set", "USD", "EUR", "0.92"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "USD\tEUR\t0.92\n");

    let csv = dir.path().join("rates.csv");
    std::fs::write(
        &csv,
        "base,quote,rate\nGBP,USD,1.2500\nUSD,JPY,151.123456\n",
    )
    .unwrap();
    let (ok, _, stderr) = run(&["fx", "load", csv.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let (ok, stdout, _) = run(&["fx", "list"]);
    assert!(ok);
    assert_eq!(
        stdout,
        "GBP\tUSD\t1.25\nUSD\tEUR\t0.92\nUSD\tJPY\t151.123456\n"
    );

    let toml = dir.path().join("rates.toml");
    std::fs::write(
        &toml,
        "[[rate]]\nbase = \"CHF\"\nquote = \"EUR\"\nrate = \"1.05\"\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = run(&["fx", "load", "--replace", toml.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "CHF\tEUR\t1.05\n");

    let (ok, _, stderr) = run(&["fx", "set", "USD", "EUR", "0"]);
    assert!(!ok);
    assert!(stderr.contains("must be positive"), "{stderr}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "USD,EUR\n").unwrap();
    let (ok, _, stderr) = run(&["fx", "load", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("line 1"), "{stderr}");
    let (_, stdout, _) = run(&["fx", "list"]);
    assert_eq!(stdout, "CHF\tEUR\t1.05\n", "refused changes store nothing");
}
