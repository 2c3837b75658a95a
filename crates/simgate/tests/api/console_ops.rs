//! The console's operations pages over plain HTTP: the routing editor
//! (refusals inline, the same rules as `PUT /v1/routing`, the decision for
//! an offer), provider health and margin, SIM orders, lines and the order
//! search, each tenant seeing only its own.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use crate::console::{csrf_in, sign_in};
use crate::helpers::{Options, TestApp, eventually};
use crate::lines::reserved_number;
use crate::routing::japan_offer;
use crate::sim_orders::{self, wait_for_status};

#[tokio::test]
async fn the_routing_editor_refuses_a_bad_policy_beside_its_field_and_saves_a_good_one() {
    let app = TestApp::spawn().await;
    let (offer, providers) = japan_offer(&app).await;
    let visitor = sign_in(&app, &app.api_key).await;
    let page = visitor.get("/console/routing").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_in(&page.text().await.unwrap());

    // The service's rule: priority needs a list. Nothing is stored.
    let refused = visitor
        .post(
            "/console/routing",
            &[
                ("csrf_token", &csrf),
                ("strategy", "priority"),
                ("providers", ""),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(r#"id="providers-error""#)
            && html.contains("strategy priority needs a non-empty providers list"),
        "{html}"
    );
    // A field that does not parse is refused beside it, the others kept.
    let refused = visitor
        .post(
            "/console/routing",
            &[
                ("csrf_token", &csrf),
                ("strategy", "weighted"),
                ("weights", "esim-go=lots"),
                ("exclude", "telnyx"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(r#"id="weights-error""#) && html.contains("'lots' is not a whole number"),
        "{html}"
    );
    assert!(html.contains(r#"value="telnyx""#), "{html}");
    assert_eq!(app.get_json("/v1/routing").await["strategy"], "cheapest");

    // A good policy is stored as the API stores it and drives the decision.
    let second = providers[1].as_str();
    let saved = visitor
        .post(
            "/console/routing",
            &[
                ("csrf_token", &csrf),
                ("strategy", "priority"),
                ("providers", second),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(saved.headers()[LOCATION], "/console/routing?saved=1");
    let policy = app.get_json("/v1/routing").await;
    assert_eq!(policy["strategy"], "priority");
    assert_eq!(policy["providers"], json!([second]));
    let explained = visitor
        .get(&format!("/console/routing?offer={offer}"))
        .await
        .text()
        .await
        .unwrap();
    let plan = &explained[explained.find(r#"id="route-plan""#).expect("the plan")..];
    let first_row = &plan[plan.find("<tbody>").unwrap()..];
    assert!(
        first_row.contains(&format!("#1 {second} at")) && first_row.contains("priority 1"),
        "{explained}"
    );
    // Offers of a country are listed to pick from.
    let listed = visitor
        .get("/console/routing?country=JP")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&format!("/console/routing?country=JP&amp;offer={offer}")),
        "{listed}"
    );
    let unknown = visitor.get("/console/routing?offer=nope").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_tenant_sees_its_own_routing_and_the_dashboard_shows_health_and_margin() {
    let app = TestApp::spawn().await;
    let (offer, providers) = japan_offer(&app).await;
    let owner = sign_in(&app, &app.api_key).await;
    let csrf = owner.csrf().await;
    let saved = owner
        .post(
            "/console/routing",
            &[
                ("csrf_token", &csrf),
                ("strategy", "cheapest"),
                ("exclude", providers[1].as_str()),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;
    let other = sign_in(&app, &other_key).await;
    let page = other.get("/console/routing").await.text().await.unwrap();
    assert!(
        page.contains(r#"id="exclude" name="exclude" value="""#),
        "{page}"
    );

    // An offer order's frozen margin is summed on the dashboard.
    let response = app
        .post("/v1/orders", &json!({"offer_id": offer}), Some("margin"))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: serde_json::Value = response.json().await.unwrap();
    let order = app
        .wait_for_order(order["id"].as_str().unwrap(), "completed")
        .await;
    let margin = order["margin"]["amount"].as_str().expect("a frozen margin");
    let home = owner.get("/console/").await.text().await.unwrap();
    let card = &home[home.find(r#"id="margin""#).expect("the margin card")..];
    let currency = order["margin"]["currency"].as_str().unwrap();
    let shown = rust_decimal::Decimal::from_str_exact(margin)
        .unwrap()
        .normalize();
    assert!(card.contains(&format!("{shown} {currency}")), "{home}");
    assert!(home.contains(r#"id="provider-health""#), "{home}");
    let other_home = other.get("/console/").await.text().await.unwrap();
    assert!(!other_home.contains(&format!("{shown} {currency}")) || shown.is_zero());

    // The providers page shows each provider's circuit, as the API does.
    let providers = owner.get("/console/providers").await;
    assert_eq!(providers.status(), StatusCode::OK);
    let html = providers.text().await.unwrap();
    let api = app.get_json("/v1/providers").await;
    for provider in api["data"].as_array().unwrap() {
        let id = provider["id"].as_str().unwrap();
        let circuit = provider["health"]["circuit"].as_str().unwrap();
        let row = &html[html
            .find(&format!(r#"data-provider="{id}""#))
            .expect("a row")..];
        assert!(
            row.contains(&format!(r#"data-circuit="{circuit}""#)),
            "{id}: {html}"
        );
    }
}

#[tokio::test]
async fn sim_orders_are_listed_with_their_tracking_for_their_tenant_only() {
    let app = TestApp::spawn().await;
    let address = sim_orders::create_address(&app).await;
    let order = sim_orders::order(&app, &address, 2, "console-sims").await;
    let id = order["id"].as_str().unwrap();
    // Once delivered the order has its tracking link, which the page shows.
    let delivered = wait_for_status(&app, id, "delivered").await;
    let tracking = delivered["tracking_url"].as_str().unwrap();

    let owner = sign_in(&app, &app.api_key).await;
    let page = owner.get("/console/sim-orders").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let row = &html[html
        .find(&format!(r#"data-sim-order="{id}""#))
        .expect("the order's row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td>2</td>"), "{row}");
    assert!(row.contains(tracking), "{row}");

    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;
    let other = sign_in(&app, &other_key).await;
    let html = other.get("/console/sim-orders").await.text().await.unwrap();
    assert!(
        !html.contains(id) && html.contains("No SIM card orders yet."),
        "{html}"
    );
}

/// A provider's tracking URL is a link only when it is http(s): one that is
/// `javascript:` is shown as text, never as an `href`.
#[tokio::test]
async fn a_tracking_url_that_is_not_http_is_shown_as_text_not_linked() {
    let app = TestApp::spawn_with(Options {
        telnyx_step: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let address = sim_orders::create_address(&app).await;
    let placed = sim_orders::order(&app, &address, 1, "console-hostile-tracking").await;
    let upstream = placed["upstream_id"].as_str().unwrap();
    let set = reqwest::Client::new()
        .post(format!(
            "{}/__admin/sim_card_orders/{upstream}/tracking_url",
            app.telnyx_handle.base_url()
        ))
        .json(&json!({ "tracking_url": "javascript:alert(1)" }))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success(), "{}", set.status());
    let id = placed["id"].as_str().unwrap();
    let delivered = wait_for_status(&app, id, "delivered").await;
    assert_eq!(delivered["tracking_url"], "javascript:alert(1)");

    let owner = sign_in(&app, &app.api_key).await;
    let html = owner.get("/console/sim-orders").await.text().await.unwrap();
    let row = &html[html
        .find(&format!(r#"data-sim-order="{id}""#))
        .expect("the order's row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(!html.contains(r#"href="javascript:"#), "{row}");
    assert!(row.contains("<td>javascript:alert(1)</td>"), "{row}");
}

#[tokio::test]
async fn lines_are_listed_and_edited_for_their_tenant_only_and_orders_are_searched_in_the_store() {
    let app = TestApp::spawn().await;
    let mpn = reserved_number(&app, 0).await;
    let created = app
        .post("/v1/lines", &json!({ "mpn": mpn, "uc": "own" }), None)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let owner = sign_in(&app, &app.api_key).await;
    let list = owner.get("/console/lines?status=active").await;
    assert_eq!(list.status(), StatusCode::OK);
    let html = list.text().await.unwrap();
    assert!(html.contains(&format!(r#"data-line="{mpn}""#)), "{html}");
    // A tenant's header names the tenant, not its id.
    assert!(
        html.contains(r#"<strong id="tenant-name">test reseller</strong>"#),
        "{html}"
    );
    let ceased = owner.get("/console/lines?status=ceased").await;
    assert!(!ceased.text().await.unwrap().contains(&mpn));
    let bad = owner.get("/console/lines?status=gone").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let line = format!("/console/lines/{mpn}");
    let page = owner.get(&line).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<label for="mobile_data">"#) && html.contains("No ports for this number."),
        "{html}"
    );
    let csrf = csrf_in(&html);
    // A number that does not parse is refused beside its field.
    let refused = owner
        .post(&line, &[("csrf_token", &csrf), ("new_mpn", "12ab")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains(r#"id="new_mpn-error""#), "{html}");
    assert!(
        html.contains(r#"value="12ab""#),
        "the entry is kept: {html}"
    );
    let forged = owner.post(&line, &[("mobile_data", "on")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Unticked services are turned off at the provider.
    let saved = owner
        .post(
            &line,
            &[
                ("csrf_token", &csrf),
                ("mobile_voice", "on"),
                ("mobile_sms", "on"),
                ("first_name", "Ada"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(saved.headers()[LOCATION], format!("{line}?saved=1"));
    let live = app.get_json(&format!("/v1/lines/{mpn}")).await;
    assert_eq!(live["services"]["mobile_data"], false, "{live}");
    assert_eq!(live["services"]["mobile_voice"], true, "{live}");

    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other reseller").await;
    let other = sign_in(&app, &other_key).await;
    assert_eq!(other.get(&line).await.status(), StatusCode::NOT_FOUND);
    let html = other.get("/console/lines").await.text().await.unwrap();
    assert!(!html.contains(&mpn) && html.contains("0 lines"), "{html}");

    // Orders are searched by idempotency key, and the detail shows the
    // order's own event.
    let product = app.cheapest("FR").await;
    let order = app.order(&product, "console-search-key").await;
    let id = order["id"].as_str().unwrap();
    app.wait_for_order(id, "completed").await;
    let found = owner
        .get("/console/orders?q=CONSOLE-search")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        found.contains(&format!("/console/orders/{id}")) && found.contains("1 matching order<"),
        "{found}"
    );
    let detail = eventually(Duration::from_secs(10), || async {
        let html = owner
            .get(&format!("/console/orders/{id}"))
            .await
            .text()
            .await
            .ok()?;
        html.contains("order.completed").then_some(html)
    })
    .await;
    assert!(!detail.contains("No events for this order yet."));
}
