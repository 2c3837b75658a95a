//! eSIM Go's own operations under `/v1/providers/esim-go/…`, against the
//! eSIM Go simulator: the tenant's eSIMs for tenants, the account for the
//! operator, networks for anyone.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{OPERATOR_KEY, TestApp, assert_problem};

const BASE: &str = "/v1/providers/esim-go";

async fn call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.address))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn operator(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    ok_json(call(app, OPERATOR_KEY, method, &format!("{BASE}{path}"), body).await).await
}

async fn tenant(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    ok_json(call(app, &app.api_key, method, &format!("{BASE}{path}"), body).await).await
}

/// Buys `quantity` of a bundle into the account's inventory, as the
/// operator would in eSIM Go's portal.
async fn stock(app: &TestApp, sku: &str, quantity: u32) {
    let response = app
        .client
        .post(format!("{}/orders", app.sandbox.handle.base_url()))
        .header("X-API-Key", app.sandbox.api_key.as_str())
        .json(&json!({ "type": "transaction", "assign": false,
            "order": [{ "type": "bundle", "item": sku, "quantity": quantity }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// The remaining lots of a bundle in the inventory: `(usage_id, remaining)`.
async fn lots(app: &TestApp, sku: &str) -> Vec<(i64, i64)> {
    let inventory = operator(app, Method::GET, "/inventory", None).await;
    inventory["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["name"] == sku)
        .flat_map(|b| b["lots"].as_array().unwrap().clone())
        .map(|l| {
            (
                l["usage_id"].as_i64().unwrap(),
                l["remaining"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_tenant_works_on_its_own_esim_go_esim() {
    let app = TestApp::spawn().await;
    let product = app.cheapest("JP").await;
    let sku = product.strip_prefix("esim-go:").unwrap().to_owned();
    let order = app.order(&product, "go-ops").await;
    let iccid = order["esims"][0].as_str().unwrap().to_owned();
    let esim = format!("/esims/{iccid}");

    let history = tenant(&app, Method::GET, &format!("{esim}/history"), None).await;
    assert!(
        history["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["bundle"] == sku.as_str()),
        "{history}"
    );
    let refreshed = tenant(&app, Method::POST, &format!("{esim}/refresh"), None).await;
    assert!(!refreshed["message"].as_str().unwrap().is_empty());
    let compatible = tenant(
        &app,
        Method::GET,
        &format!("{esim}/compatibility/{sku}"),
        None,
    )
    .await;
    assert!(
        compatible["message"]
            .as_str()
            .unwrap()
            .contains("compatible"),
        "{compatible}"
    );
    let unknown = call(
        &app,
        &app.api_key,
        Method::GET,
        &format!("{BASE}{esim}/compatibility/no_such_bundle"),
        None,
    )
    .await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found_at_provider").await;

    // The customer reference is kept at eSIM Go, where the operator sees it.
    tenant(
        &app,
        Method::PUT,
        &format!("{esim}/customer-ref"),
        Some(json!({ "customer_ref": "cust-42" })),
    )
    .await;
    let listed = operator(&app, Method::GET, "/esims?per_page=100", None).await;
    let row = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["iccid"] == iccid.as_str())
        .unwrap();
    assert_eq!(row["customer_ref"], "cust-42");
    assert!(listed["rows"].as_u64().unwrap() >= 1);
    let blank = call(
        &app,
        &app.api_key,
        Method::PUT,
        &format!("{BASE}{esim}/customer-ref"),
        Some(json!({ "customer_ref": " " })),
    )
    .await;
    assert_problem(blank, StatusCode::BAD_REQUEST, "missing_field").await;

    // Inventory: bought by the operator, applied to the tenant's eSIM, the
    // rest refunded.
    stock(&app, &sku, 2).await;
    let stocked = lots(&app, &sku).await;
    assert_eq!(stocked.len(), 1);
    let (usage_id, remaining) = stocked[0];
    assert_eq!(remaining, 2);
    // Applying the operator's stock is the operator's: a tenant would get a
    // bundle no order or ledger entry accounts for.
    let by_tenant = call(
        &app,
        &app.api_key,
        Method::POST,
        &format!("{BASE}{esim}/apply"),
        Some(json!({ "bundle": sku })),
    )
    .await;
    assert_problem(by_tenant, StatusCode::FORBIDDEN, "operator_only").await;
    assert_eq!(lots(&app, &sku).await, vec![(usage_id, 2)]);
    let applied = operator(
        &app,
        Method::POST,
        &format!("{esim}/apply"),
        Some(json!({ "bundle": sku })),
    )
    .await;
    assert_eq!(applied["esims"][0]["iccid"], iccid.as_str());
    assert!(!applied["apply_reference"].as_str().unwrap().is_empty());
    assert_eq!(lots(&app, &sku).await, vec![(usage_id, 1)]);
    let refund = json!({ "usage_id": usage_id, "quantity": 5 });
    let too_many = call(
        &app,
        OPERATOR_KEY,
        Method::POST,
        &format!("{BASE}/inventory/refund"),
        Some(refund),
    )
    .await;
    assert_problem(too_many, StatusCode::CONFLICT, "refused_by_provider").await;
    operator(
        &app,
        Method::POST,
        "/inventory/refund",
        Some(json!({ "usage_id": usage_id, "quantity": 1 })),
    )
    .await;
    assert_eq!(lots(&app, &sku).await, Vec::new());
    let empty = call(
        &app,
        OPERATOR_KEY,
        Method::POST,
        &format!("{BASE}{esim}/apply"),
        Some(json!({ "bundle": sku })),
    )
    .await;
    assert_problem(empty, StatusCode::CONFLICT, "refused_by_provider").await;

    // Two assignments now (ordered, applied): the older one is revoked by id.
    let path = format!("{esim}/bundles/{sku}/assignments");
    let assignments = tenant(&app, Method::GET, &path, None).await;
    let ids: Vec<String> = assignments["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{assignments}");
    let revoked = tenant(&app, Method::DELETE, &format!("{path}/{}", ids[0]), None).await;
    assert_eq!(revoked["status"], "revoked");
    let again = call(
        &app,
        &app.api_key,
        Method::DELETE,
        &format!("{BASE}{path}/{}", ids[0]),
        None,
    )
    .await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found_at_provider").await;
    let after = tenant(&app, Method::GET, &path, None).await;
    let states: Vec<&str> = after["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["bundle_state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "revoked").count(),
        1,
        "{after}"
    );
    let history = tenant(&app, Method::GET, &format!("{esim}/history"), None).await;
    assert!(
        history["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["bundle_state"] == "revoked")
    );
}

#[tokio::test]
async fn the_account_is_the_operators_and_an_esim_is_its_tenants() {
    let app = TestApp::spawn().await;
    let order = app.order(&app.cheapest("JP").await, "go-rules").await;
    let iccid = order["esims"][0].as_str().unwrap().to_owned();
    let (_, other) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;

    // Someone else's eSIM, or one simgate never sold, is not found.
    for path in ["history", "refresh", "customer-ref"] {
        let method = match path {
            "history" => Method::GET,
            "customer-ref" => Method::PUT,
            _ => Method::POST,
        };
        let body = (path == "customer-ref").then(|| json!({ "customer_ref": "c" }));
        let theirs = call(
            &app,
            &other,
            method.clone(),
            &format!("{BASE}/esims/{iccid}/{path}"),
            body.clone(),
        )
        .await;
        assert_problem(theirs, StatusCode::NOT_FOUND, "esim_not_found").await;
        let as_operator = call(
            &app,
            OPERATOR_KEY,
            method,
            &format!("{BASE}/esims/{iccid}/{path}"),
            body,
        )
        .await;
        assert_problem(as_operator, StatusCode::FORBIDDEN, "tenant_only").await;
    }
    let unsold = call(
        &app,
        &app.api_key,
        Method::GET,
        &format!("{BASE}/esims/8944000000000000019/history"),
        None,
    )
    .await;
    assert_problem(unsold, StatusCode::NOT_FOUND, "esim_not_found").await;

    // The account's operations refuse tenant keys.
    for (method, path, body) in [
        (Method::GET, "/esims", None),
        (Method::GET, "/inventory", None),
        (
            Method::POST,
            "/inventory/refund",
            Some(json!({ "usage_id": 1, "quantity": 1 })),
        ),
        (Method::GET, "/organisation", None),
        (Method::POST, "/balance", Some(json!({ "amount": 10 }))),
        (Method::GET, "/groups", None),
        (
            Method::POST,
            format!("/esims/{iccid}/apply").as_str(),
            Some(json!({ "bundle": "b" })),
        ),
    ] {
        let refused = call(&app, &app.api_key, method, &format!("{BASE}{path}"), body).await;
        assert_problem(refused, StatusCode::FORBIDDEN, "operator_only").await;
    }

    let organisation = call(
        &app,
        OPERATOR_KEY,
        Method::GET,
        &format!("{BASE}/organisation"),
        None,
    )
    .await;
    let text = organisation.text().await.unwrap();
    assert!(
        !text.contains(app.sandbox.api_key.as_str()),
        "the account's API key is never shown"
    );
    let organisation: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(organisation["name"], "simgate sandbox");
    let before = organisation["balance"].as_f64().unwrap();
    let topped = operator(
        &app,
        Method::POST,
        "/balance",
        Some(json!({ "amount": 50 })),
    )
    .await;
    assert_eq!(topped["amount"], 50.0);
    assert!(
        (topped["balance"].as_f64().unwrap() - (before + 50.0)).abs() < 0.01,
        "{topped}"
    );
    assert!(!topped["reference"].as_str().unwrap().is_empty());
    let zero = call(
        &app,
        OPERATOR_KEY,
        Method::POST,
        &format!("{BASE}/balance"),
        Some(json!({ "amount": 0 })),
    )
    .await;
    assert_problem(zero, StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount").await;
    let groups = operator(&app, Method::GET, "/groups", None).await;
    assert!(!groups["data"].as_array().unwrap().is_empty());
    let bad_page = call(
        &app,
        OPERATOR_KEY,
        Method::GET,
        &format!("{BASE}/esims?per_page=0"),
        None,
    )
    .await;
    assert_problem(bad_page, StatusCode::BAD_REQUEST, "invalid_query").await;

    // Networks are public: any tenant, and the operator.
    for key in [app.api_key.as_str(), other.as_str(), OPERATOR_KEY] {
        let networks =
            ok_json(call(&app, key, Method::GET, &format!("{BASE}/networks/JP"), None).await).await;
        assert_eq!(networks["data"][0]["iso"], "JP");
        assert!(
            !networks["data"][0]["networks"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
    let nowhere = app.get(&format!("{BASE}/networks/QQ")).await;
    assert_eq!(nowhere.status(), StatusCode::BAD_REQUEST);
}
