//! Tenant accounts over the real API: a sale is held before any upstream
//! call and captured or released with the order; funding is idempotent;
//! statements and the journal agree with the balance; refunds flow back.

use reqwest::{Method, Response, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use simgate_domain::repository::AccountRepository;

use crate::failover::all_purchases;
use crate::helpers::{OPERATOR_KEY, TEST_FUNDS, TestApp, assert_problem, eventually};

/// A tenant made by the operator, with its key: unfunded, like any new one.
struct Reseller {
    id: String,
    key: String,
}

async fn as_key(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// A GET with `key`, its JSON body whatever the status.
async fn get_as(app: &TestApp, key: &str, path: &str) -> Value {
    as_key(app, key, Method::GET, path, None)
        .await
        .json()
        .await
        .unwrap()
}

async fn new_reseller(app: &TestApp, name: &str) -> Reseller {
    let response = as_key(
        app,
        OPERATOR_KEY,
        Method::POST,
        "/admin/v1/tenants",
        Some(&json!({ "name": name })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    Reseller {
        id: body["tenant"]["id"].as_str().unwrap().to_owned(),
        key: body["api_key"].as_str().unwrap().to_owned(),
    }
}

async fn fund(app: &TestApp, tenant: &str, amount: &str, reference: &str) -> Response {
    as_key(
        app,
        OPERATOR_KEY,
        Method::POST,
        &format!("/admin/v1/tenants/{tenant}/account/credits"),
        Some(&json!({"amount": {"amount": amount, "currency": "USD"}, "reference": reference})),
    )
    .await
}

async fn account(app: &TestApp, key: &str) -> Value {
    let response = as_key(app, key, Method::GET, "/v1/account", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn dec(value: &Value) -> Decimal {
    value.as_str().unwrap().parse().unwrap()
}

async fn order_as(app: &TestApp, key: &str, product: &str, idempotency: &str) -> Response {
    app.client
        .post(format!("{}/v1/orders", app.address))
        .bearer_auth(key)
        .header("Idempotency-Key", idempotency)
        .json(&json!({ "product_id": product }))
        .send()
        .await
        .unwrap()
}

/// The price an order was sold at, times its quantity.
fn sale_total(order: &Value) -> Decimal {
    dec(&order["price"]["amount"]) * Decimal::from(order["quantity"].as_u64().unwrap())
}

/// The journal's sums equal the account's projection, and no final order
/// of the tenant still holds money.
async fn assert_ledger_balances(app: &TestApp, tenant: &str) {
    let store = app.app.store();
    let account = store.account(tenant).await.unwrap();
    let (balance, held) = store.ledger_totals(tenant).await.unwrap();
    assert_eq!(
        (balance, held),
        (account.balance_micros, account.held_micros),
        "journal sums vs projection"
    );
    assert_eq!(store.open_holds_on_final_orders(tenant).await.unwrap(), 0);
}

#[tokio::test]
async fn an_unfunded_tenant_is_refused_before_anything_is_sent_upstream() {
    let app = TestApp::spawn().await;
    let reseller = new_reseller(&app, "Unfunded Travel").await;
    let product = app.cheapest("JP").await;
    let before = all_purchases(&app).await;

    let body = assert_problem(
        order_as(&app, &reseller.key, &product, "unfunded-1").await,
        StatusCode::PAYMENT_REQUIRED,
        "insufficient_funds",
    )
    .await;
    assert_eq!(body["available"]["amount"], "0");
    assert_eq!(body["available"]["currency"], "USD");
    assert!(dec(&body["required"]["amount"]) > Decimal::ZERO, "{body}");
    assert_eq!(all_purchases(&app).await, before, "nothing bought");
    let orders = get_as(&app, &reseller.key, "/v1/orders").await;
    assert_eq!(
        orders["data"].as_array().unwrap().len(),
        0,
        "no order written"
    );
    let account = account(&app, &reseller.key).await;
    assert_eq!(account["mode"], "prepaid");
    assert_eq!(account["balance"]["amount"], "0");
}

#[tokio::test]
async fn funding_is_idempotent_and_a_sale_is_held_then_captured() {
    let app = TestApp::spawn().await;
    let reseller = new_reseller(&app, "Funded Travel").await;

    let first = fund(&app, &reseller.id, "25", "wire-2026-12-001").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["entry"]["kind"], "credit");
    let again = fund(&app, &reseller.id, "25", "wire-2026-12-001").await;
    assert_eq!(again.status(), StatusCode::OK, "the same reference again");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["entry"]["id"], first["entry"]["id"]);
    assert_problem(
        fund(&app, &reseller.id, "30", "wire-2026-12-001").await,
        StatusCode::CONFLICT,
        "reference_conflict",
    )
    .await;
    assert_eq!(
        dec(&account(&app, &reseller.key).await["balance"]["amount"]),
        Decimal::from(25)
    );

    let product = app.cheapest("JP").await;
    let response = order_as(&app, &reseller.key, &product, "funded-1").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let placed: Value = response.json().await.unwrap();
    let order = app
        .client
        .get(format!(
            "{}/v1/orders/{}",
            app.address,
            placed["id"].as_str().unwrap()
        ))
        .bearer_auth(&reseller.key)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(order["status"], "completed", "{order}");
    let price = sale_total(&order);

    let after = account(&app, &reseller.key).await;
    assert_eq!(dec(&after["balance"]["amount"]), Decimal::from(25) - price);
    assert_eq!(dec(&after["held"]["amount"]), Decimal::ZERO);
    assert_eq!(
        dec(&after["available"]["amount"]),
        Decimal::from(25) - price
    );

    // The statement: credit, then the order's hold and capture, adding up.
    let statement = get_as(&app, &reseller.key, "/v1/account/statement").await;
    let kinds: Vec<&str> = statement["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["credit", "hold", "capture"], "{statement}");
    assert_eq!(statement["data"][2]["order_id"], order["id"]);
    assert_eq!(dec(&statement["opening_balance"]["amount"]), Decimal::ZERO);
    assert_eq!(
        dec(&statement["closing_balance"]["amount"]),
        dec(&after["balance"]["amount"])
    );

    let csv = app
        .client
        .get(format!("{}/v1/account/statement", app.address))
        .bearer_auth(&reseller.key)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        6,
        "header, opening, three entries, closing:\n{csv}"
    );
    assert!(lines[1].contains(",opening,"), "{csv}");
    assert!(lines[5].contains(",closing,"), "{csv}");
    assert!(lines[4].contains(",capture,"), "{csv}");

    assert_ledger_balances(&app, &reseller.id).await;

    // The operator sees the same statement and the sale in the margin report.
    let operator_view = get_as(
        &app,
        OPERATOR_KEY,
        &format!("/admin/v1/tenants/{}/account/statement", reseller.id),
    )
    .await;
    assert_eq!(operator_view["data"], statement["data"]);
    let report = get_as(
        &app,
        OPERATOR_KEY,
        &format!("/admin/v1/reports/margin?tenant_id={}", reseller.id),
    )
    .await;
    assert_eq!(report["data"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["data"][0]["orders"], 1);
    assert_eq!(dec(&report["data"][0]["revenue"]["amount"]), price);
}

#[tokio::test]
async fn a_failed_order_releases_its_hold_and_a_retry_holds_again() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    app.sandbox
        .arm(json!({"kind": "status", "status": 503, "retry_after_secs": 0, "times": 10, "path": "/orders", "method": "POST"}))
        .await;
    let response = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("fails-then-buys"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let tenant = app.tenant_id().await;
    let account = app.app.store().account(tenant.as_str()).await.unwrap();
    assert_eq!(
        account.held_micros, 0,
        "the failed order's hold is released"
    );
    assert_eq!(account.balance_micros, TEST_FUNDS * 1_000_000);
    assert_ledger_balances(&app, tenant.as_str()).await;

    reqwest::Client::new()
        .delete(format!("{}/__admin/faults", app.sandbox.handle.base_url()))
        .send()
        .await
        .unwrap();
    let retried = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("fails-then-buys"),
        )
        .await;
    assert_eq!(retried.status(), StatusCode::CREATED);
    let order: Value = retried.json().await.unwrap();
    assert_eq!(order["status"], "completed");
    let account = app.app.store().account(tenant.as_str()).await.unwrap();
    let price_micros = (sale_total(&order) * Decimal::from(1_000_000))
        .trunc()
        .to_string()
        .parse::<i64>()
        .unwrap();
    assert_eq!(
        account.balance_micros,
        TEST_FUNDS * 1_000_000 - price_micros
    );
    assert_eq!(account.held_micros, 0);
    let statement: Value = app.get_json("/v1/account/statement").await;
    let kinds: Vec<&str> = statement["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["credit", "hold", "release", "hold", "capture"],
        "{statement}"
    );
    let references: Vec<&str> = statement["data"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|e| e["reference"].as_str().unwrap())
        .collect();
    let id = order["id"].as_str().unwrap();
    assert_eq!(
        references,
        [
            format!("{id}#1"),
            format!("{id}#1"),
            format!("{id}#2"),
            format!("{id}#2")
        ]
    );
    assert_ledger_balances(&app, tenant.as_str()).await;
}

#[tokio::test]
async fn a_credit_account_may_go_below_zero_down_to_its_limit() {
    let app = TestApp::spawn().await;
    let reseller = new_reseller(&app, "Credit Travel").await;
    let product = app.cheapest("JP").await;
    let terms = |limit: &str| json!({"mode": "credit", "currency": "USD", "credit_limit": {"amount": limit, "currency": "USD"}});

    // The price of one sale, read off the catalogue at this tenant's prices.
    let listed = get_as(&app, &reseller.key, &format!("/v1/products/{product}")).await;
    let price = dec(&listed["price"]["amount"]);
    let limit = price * Decimal::from(2);
    let set = as_key(
        &app,
        OPERATOR_KEY,
        Method::PUT,
        &format!("/admin/v1/tenants/{}/account", reseller.id),
        Some(&terms(&limit.to_string())),
    )
    .await;
    assert_eq!(set.status(), StatusCode::OK);
    let set: Value = set.json().await.unwrap();
    assert_eq!(set["mode"], "credit");
    assert_eq!(dec(&set["available"]["amount"]), limit);

    for n in 0..2 {
        let response = order_as(&app, &reseller.key, &product, &format!("credit-{n}")).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "sale {n} within the limit"
        );
    }
    assert_problem(
        order_as(&app, &reseller.key, &product, "credit-2").await,
        StatusCode::PAYMENT_REQUIRED,
        "insufficient_funds",
    )
    .await;
    let after = account(&app, &reseller.key).await;
    assert_eq!(dec(&after["balance"]["amount"]), -limit);
    assert_eq!(dec(&after["available"]["amount"]), Decimal::ZERO);

    // A prepaid account takes no limit; a currency change needs an empty
    // account; only the operator manages accounts.
    let path = format!("/admin/v1/tenants/{}/account", reseller.id);
    let refusals = [
        (
            OPERATOR_KEY,
            json!({"mode": "prepaid", "currency": "USD", "credit_limit": {"amount": "5", "currency": "USD"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_account",
        ),
        (
            OPERATOR_KEY,
            json!({"mode": "credit", "currency": "EUR", "credit_limit": {"amount": "5", "currency": "EUR"}}),
            StatusCode::CONFLICT,
            "account_currency_in_use",
        ),
        (
            reseller.key.as_str(),
            terms("1000"),
            StatusCode::FORBIDDEN,
            "operator_only",
        ),
    ];
    for (key, body, status, code) in refusals {
        assert_problem(
            as_key(&app, key, Method::PUT, &path, Some(&body)).await,
            status,
            code,
        )
        .await;
    }
    assert_ledger_balances(&app, &reseller.id).await;
}

#[tokio::test]
async fn a_revoke_with_refund_credits_the_tenant_and_refunds_the_order() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    let order = app.order(&product, "to-refund").await;
    assert_eq!(order["status"], "completed");
    let iccid = order["esims"][0].as_str().unwrap();
    let sku = product.split_once(':').unwrap().1;
    let tenant = app.tenant_id().await;
    let before = app.app.store().account(tenant.as_str()).await.unwrap();

    let revoked = app
        .delete(&format!("/v1/esims/{iccid}/bundles/{sku}?refund=true"))
        .await;
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let after = app.app.store().account(tenant.as_str()).await.unwrap();
    let price_micros = (sale_total(&order) * Decimal::from(1_000_000))
        .trunc()
        .to_string()
        .parse::<i64>()
        .unwrap();
    assert_eq!(after.balance_micros, before.balance_micros + price_micros);
    let refunded = app
        .wait_for_order(order["id"].as_str().unwrap(), "refunded")
        .await;
    assert_eq!(refunded["status"], "refunded");
    let events = eventually(std::time::Duration::from_secs(10), || async {
        let events = app.get_json("/v1/events").await;
        events["data"]
            .as_array()?
            .iter()
            .any(|e| e["type"] == "order.refunded")
            .then_some(events)
    })
    .await;
    assert!(events["data"].as_array().unwrap().len() >= 2);
    // Revoking again refunds nothing twice.
    let again = app
        .delete(&format!("/v1/esims/{iccid}/bundles/{sku}?refund=true"))
        .await;
    assert!(!again.status().is_success());
    let last = app.app.store().account(tenant.as_str()).await.unwrap();
    assert_eq!(last.balance_micros, after.balance_micros);
    assert_ledger_balances(&app, tenant.as_str()).await;
}

#[tokio::test]
async fn balance_low_is_sent_once_per_crossing_of_the_tenants_threshold() {
    let app = TestApp::spawn().await;
    let tenant = app.tenant_id().await;
    let threshold = TEST_FUNDS + 1;
    let set = app
        .send(
            Method::PUT,
            "/v1/account/alerts",
            &json!({"low_balance_threshold": {"amount": threshold.to_string(), "currency": "USD"}}),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let low = |events: &Value| {
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "balance.low")
            .count()
    };
    let events = eventually(std::time::Duration::from_secs(10), || async {
        let events = app.get_json("/v1/events").await;
        (low(&events) == 1).then_some(events)
    })
    .await;
    let event = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "balance.low")
        .unwrap();
    assert_eq!(
        dec(&event["payload"]["data"]["threshold"]["amount"]),
        Decimal::from(threshold)
    );
    // Further passes and sales below the threshold tell nothing new ...
    let sale = app
        .order(&app.cheapest("JP").await, "below-threshold")
        .await;
    let price = sale_total(&sale);
    assert_eq!(app.app.services().alert_low_balances().await, 0);
    assert_eq!(low(&app.get_json("/v1/events").await), 1);
    // ... until the account went back above it (by half a sale) and fell again.
    let available = dec(&app.get_json("/v1/account").await["available"]["amount"]);
    let back_above = (Decimal::from(threshold) - available + price / Decimal::from(2)).round_dp(6);
    simgate::fund_tenant(app.app.store(), tenant.as_str(), back_above, "top-up-1")
        .await
        .unwrap();
    assert_eq!(
        app.app.services().alert_low_balances().await,
        0,
        "back above"
    );
    app.order(&app.cheapest("JP").await, "below-again").await;
    // Told by this call or by the reconcile job's own pass, once.
    app.app.services().alert_low_balances().await;
    eventually(std::time::Duration::from_secs(10), || async {
        (low(&app.get_json("/v1/events").await) == 2).then_some(())
    })
    .await;
    assert_eq!(app.app.services().alert_low_balances().await, 0);
    assert_eq!(low(&app.get_json("/v1/events").await), 2);
}

#[tokio::test]
async fn the_operator_funds_and_sets_terms_in_the_console_and_the_tenant_reads_its_statement() {
    use crate::console::{csrf_in, sign_in};
    let app = TestApp::spawn().await;
    let reseller = new_reseller(&app, "console reseller").await;
    let operator = sign_in(&app, OPERATOR_KEY).await;
    let csrf = csrf_in(&operator.get("/console/").await.text().await.unwrap());
    let switched = operator
        .post(
            "/console/tenant",
            &[("csrf_token", &csrf), ("tenant_id", &reseller.id)],
        )
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);

    // A refusal is shown beside its field, and nothing is posted.
    let page = operator.get("/console/account").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"id="fund-account""#), "{html}");
    for (form, shown) in [
        (
            [("amount", "lots"), ("reference", "wire-1")],
            [r#"id="amount-error""#, "'lots' is not a number"],
        ),
        (
            [("amount", "10"), ("reference", "a#b")],
            [r#"id="reference-error""#, "may not contain '#'"],
        ),
    ] {
        let mut fields = vec![("csrf_token", csrf.as_str())];
        fields.extend(form);
        let refused = operator.post("/console/account/credits", &fields).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = refused.text().await.unwrap();
        assert!(shown.iter().all(|s| html.contains(s)), "{html}");
    }
    assert_eq!(
        dec(&account(&app, &reseller.key).await["balance"]["amount"]),
        Decimal::ZERO
    );

    // Funded once, however often the form is sent.
    for _ in 0..2 {
        let funded = operator
            .post(
                "/console/account/credits",
                &[
                    ("csrf_token", &csrf),
                    ("amount", "25.50"),
                    ("reference", "wire-1"),
                    ("note", "first deposit"),
                ],
            )
            .await;
        assert_eq!(funded.status(), StatusCode::SEE_OTHER);
    }
    let now = account(&app, &reseller.key).await;
    assert_eq!(
        dec(&now["balance"]["amount"]),
        Decimal::new(2550, 2),
        "{now}"
    );

    // Terms: credit needs a limit; then it is set.
    let refused = operator
        .post(
            "/console/account/terms",
            &[
                ("csrf_token", &csrf),
                ("mode", "credit"),
                ("currency", "USD"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("a credit account needs a credit limit")
    );
    let saved = operator
        .post(
            "/console/account/terms",
            &[
                ("csrf_token", &csrf),
                ("mode", "credit"),
                ("currency", "USD"),
                ("credit_limit", "100"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let now = account(&app, &reseller.key).await;
    assert_eq!(now["mode"], "credit");
    assert_eq!(
        dec(&now["available"]["amount"]),
        Decimal::new(12550, 2),
        "{now}"
    );

    // The tenant reads its account and statement, and cannot fund itself.
    let tenant = sign_in(&app, &reseller.key).await;
    let page = tenant.get("/console/account").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"data-balance="25.5""#)
            && html.contains(r#"data-kind="credit""#)
            && html.contains("wire-1")
            && html.contains("first deposit")
            && !html.contains(r#"id="fund-account""#),
        "{html}"
    );
    let csrf = csrf_in(&html);
    let refused = tenant
        .post(
            "/console/account/credits",
            &[
                ("csrf_token", &csrf),
                ("amount", "1000"),
                ("reference", "self"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        dec(&account(&app, &reseller.key).await["balance"]["amount"]),
        Decimal::new(2550, 2)
    );
    assert_ledger_balances(&app, &reseller.id).await;
}

/// Issue 22: a SIM card order holds the cost Telnyx previews, before the
/// order is sent. Short of it, the answer is 402 and Telnyx is not asked to
/// ship anything; with it, the hold is captured once Telnyx takes the
/// order; an order Telnyx certainly refused gives its hold back.
#[tokio::test]
async fn a_sim_card_order_holds_its_previewed_cost_and_is_charged_once_taken() {
    let app = TestApp::spawn().await;
    let reseller = new_reseller(&app, "sim card reseller").await;
    let created = as_key(
        &app,
        &reseller.key,
        Method::POST,
        "/v1/addresses",
        Some(&crate::sim_orders::address()),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let address_id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({ "address_id": address_id, "quantity": 2 });
    let preview = as_key(
        &app,
        &reseller.key,
        Method::POST,
        "/v1/sim-orders/preview",
        Some(&body),
    )
    .await;
    assert_eq!(preview.status(), StatusCode::OK);
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(preview["total_cost"]["currency"], "USD");
    let cost = dec(&preview["total_cost"]["amount"]);
    let place = |key: &'static str| {
        app.client
            .post(format!("{}/v1/sim-orders", app.address))
            .bearer_auth(&reseller.key)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };

    // A cent short: refused, nothing sent to Telnyx.
    let short = cost - Decimal::new(1, 2);
    let funded = fund(&app, &reseller.id, &short.to_string(), "sim-wire-1").await;
    assert_eq!(funded.status(), StatusCode::CREATED);
    let refused = assert_problem(
        place("sim-short").await.unwrap(),
        StatusCode::PAYMENT_REQUIRED,
        "insufficient_funds",
    )
    .await;
    assert_eq!(dec(&refused["required"]["amount"]), cost, "{refused}");
    assert_eq!(app.telnyx.orders_created(), 0);

    // Enough: held, sent, and charged once Telnyx has the order.
    let topped = fund(&app, &reseller.id, "0.01", "sim-wire-2").await;
    assert_eq!(topped.status(), StatusCode::CREATED);
    let placed = place("sim-ok").await.unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    let placed: Value = placed.json().await.unwrap();
    assert_eq!(app.telnyx.orders_created(), 1);
    let after = account(&app, &reseller.key).await;
    assert_eq!(dec(&after["balance"]["amount"]), Decimal::ZERO, "{after}");
    assert_eq!(dec(&after["held"]["amount"]), Decimal::ZERO);
    let statement = get_as(&app, &reseller.key, "/v1/account/statement").await;
    let entries: Vec<(&str, &str)> = statement["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["order_id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let id = placed["id"].as_str().unwrap();
    assert_eq!(
        entries,
        [
            ("credit", ""),
            ("credit", ""),
            ("hold", id),
            ("capture", id)
        ],
        "{statement}"
    );
    // The same key again: the same order, nothing held or charged again.
    let replayed = place("sim-ok").await.unwrap();
    assert_eq!(replayed.status(), StatusCode::OK);
    assert_eq!(app.telnyx.orders_created(), 1);

    // Telnyx refuses the next one outright: its hold comes back.
    fund(&app, &reseller.id, &cost.to_string(), "sim-wire-3").await;
    let armed = app
        .client
        .post(format!("{}/__admin/faults", app.telnyx_handle.base_url()))
        .json(&json!({ "kind": "status", "status": 422, "path": "/sim_card_orders", "method": "POST" }))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), StatusCode::CREATED);
    let failed = place("sim-refused").await.unwrap();
    assert!(failed.status().is_client_error() || failed.status().is_server_error());
    let after = account(&app, &reseller.key).await;
    assert_eq!(dec(&after["balance"]["amount"]), cost, "{after}");
    assert_eq!(dec(&after["held"]["amount"]), Decimal::ZERO);
    assert_eq!(dec(&after["available"]["amount"]), cost);
    let kinds: Vec<String> = get_as(&app, &reseller.key, "/v1/account/statement").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds[kinds.len() - 2..],
        ["hold".to_owned(), "release".to_owned()]
    );
    assert_ledger_balances(&app, &reseller.id).await;
}
