//! Telnyx's own SIM card order list, with every filter of the Telnyx
//! document, for the operator.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{OPERATOR_KEY, TestApp, assert_problem};
use crate::sim_orders;

const LIST: &str = "/v1/providers/telnyx/sim-orders";

async fn address(app: &TestApp, locality: &str, country: &str) -> String {
    let mut body = sim_orders::address();
    body["locality"] = locality.into();
    body["country_code"] = country.into();
    let response = app.post("/v1/addresses", &body, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// A SIM card order's id at Telnyx.
async fn order(app: &TestApp, address_id: &str, quantity: u32, key: &str) -> String {
    sim_orders::order(app, address_id, quantity, key).await["upstream_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn list(app: &TestApp, query: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{LIST}?{query}", app.address))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap()
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let response = list(app, query).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let page: Value = response.json().await.unwrap();
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_operator_lists_telnyx_orders_by_every_documented_filter() {
    let app = TestApp::spawn().await;
    let chicago = address(&app, "Chicago", "US").await;
    let toronto = address(&app, "Toronto", "CA").await;
    let three = order(&app, &chicago, 3, "tl-1").await;
    let five = order(&app, &toronto, 5, "tl-2").await;

    let all = ids(&app, "page_size=250").await;
    assert!(all.contains(&three) && all.contains(&five));
    assert_eq!(ids(&app, "quantity=5").await, vec![five.clone()]);
    assert_eq!(
        ids(&app, &format!("address_id={chicago}")).await,
        vec![three.clone()]
    );
    assert_eq!(
        ids(&app, "address_locality=Toronto").await,
        vec![five.clone()]
    );
    assert_eq!(
        ids(&app, "address_country_code=CA").await,
        vec![five.clone()]
    );
    let both = ids(&app, "address_street_address=311%20W%20Superior%20St&address_extended_address=Suite%20504&address_administrative_area=IL&address_postal_code=60654").await;
    assert!(both.contains(&three) && both.contains(&five));
    assert_eq!(
        ids(&app, "quantity=5&address_country_code=US").await,
        Vec::<String>::new()
    );

    // Cost and times: read one order, find it again by its own values.
    let page: Value = list(&app, "quantity=3").await.json().await.unwrap();
    let listed = &page["data"][0];
    assert_eq!(page["total_results"], 1);
    let cost = listed["cost"]["amount"].as_str().unwrap();
    let currency = listed["cost"]["currency"].as_str().unwrap();
    let by_cost = ids(
        &app,
        &format!("cost_amount={cost}&cost_currency={currency}&quantity=3"),
    )
    .await;
    assert_eq!(by_cost, vec![three.clone()]);
    let created = listed["created_at"].as_str().unwrap();
    let by_time = ids(&app, &format!("created_at={}", created.replace('+', "%2B"))).await;
    assert!(by_time.contains(&three), "{created}");

    for query in [
        "created_at=yesterday",
        "updated_at=2024-13-01",
        "quantity=0",
        "cost_amount=cheap",
        "cost_currency=XYZ",
        "address_country_code=ZZ",
        "filter[quantity]=3",
    ] {
        assert_problem(
            list(&app, query).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
    }
    for query in ["page=0", "page_size=251"] {
        assert_problem(
            list(&app, query).await,
            StatusCode::BAD_REQUEST,
            "invalid_page",
        )
        .await;
    }
    let tenant = app.get(LIST).await;
    assert_problem(tenant, StatusCode::FORBIDDEN, "operator_only").await;
}
