//! The console's faults panel (`/console/faults`) of `serve --sandbox`:
//! operator only, bad input refused beside its field, and in a real
//! browser a 503 armed on the provider routing picks first, an offer
//! ordered from the console and the fail-over seen in the order's attempts.

use std::time::Duration;

use fantoccini::Locator;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::Value;
use simgate_domain::ProviderId;

use crate::console::{
    BROWSER_LIMIT, Driver, csrf_in, fill_and_click, final_order_status, open_browser, screenshots,
    sign_in, wait_for_title,
};
use crate::failover::{purchases, quick, route};
use crate::helpers::{OPERATOR_KEY, Options, TestApp, eventually};

fn sandbox() -> Options {
    Options {
        sandbox_mode: true,
        ..quick(None)
    }
}

/// The faults the simulator standing in for `provider` has armed, from
/// its own admin API.
async fn armed(app: &TestApp, provider: ProviderId) -> Vec<Value> {
    let base = match provider {
        ProviderId::EsimGo => app.sandbox.handle.base_url(),
        ProviderId::Telnyx => app.telnyx_handle.base_url(),
        other => panic!("{other} is not used here"),
    };
    let list: Value = reqwest::get(format!("{base}/__admin/faults"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["faults"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_faults_panel_is_the_operators_and_refuses_bad_input_beside_its_field() {
    let app = TestApp::spawn_with(sandbox()).await;

    // A tenant has no faults panel, neither link nor page.
    let tenant = sign_in(&app, &app.api_key).await;
    let home = tenant.get("/console/").await.text().await.unwrap();
    assert!(!home.contains(r#"href="/console/faults""#), "{home}");
    let refused = tenant.get("/console/faults").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("operator_only"));
    let csrf = csrf_in(&home);
    let refused = tenant
        .post(
            "/console/faults",
            &[
                ("csrf_token", &csrf),
                ("provider", "telnyx"),
                ("kind", "malformed"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(armed(&app, ProviderId::Telnyx).await.is_empty());

    let operator = sign_in(&app, OPERATOR_KEY).await;
    let page = operator.get("/console/faults").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"href="/console/faults" aria-current="page""#),
        "{html}"
    );
    for provider in ProviderId::ALL {
        assert!(
            html.contains(&format!(r#"<tr data-provider="{provider}">"#)),
            "{provider}"
        );
    }
    let csrf = csrf_in(&html);

    // Each field that does not fit is named beside it; nothing is armed.
    let refused = operator
        .post(
            "/console/faults",
            &[
                ("csrf_token", &csrf),
                ("provider", "nowhere"),
                ("kind", "status"),
                ("status", "200"),
                ("path", "orders"),
                ("method", "TRACE"),
                ("times", "many"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    for field in ["provider", "status", "path", "method", "times"] {
        assert!(
            html.contains(&format!(r#"id="{field}-error""#)),
            "{field}: {html}"
        );
    }
    assert!(
        html.contains(r#"value="orders""#),
        "the fields are kept: {html}"
    );
    let latency = operator
        .post(
            "/console/faults",
            &[
                ("csrf_token", &csrf),
                ("provider", "esim-go"),
                ("kind", "latency"),
            ],
        )
        .await;
    assert_eq!(latency.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(latency.text().await.unwrap().contains(r#"id="ms-error""#));
    assert!(armed(&app, ProviderId::EsimGo).await.is_empty());

    // A good fault reaches the simulator, is listed, and is cleared (a
    // method nothing sends, so no request uses it up meanwhile).
    let armed_now = operator
        .post(
            "/console/faults",
            &[
                ("csrf_token", &csrf),
                ("provider", "esim-go"),
                ("kind", "latency"),
                ("ms", "250"),
                ("path", "/orders"),
                ("method", "PATCH"),
                ("times", "3"),
            ],
        )
        .await;
    assert_eq!(armed_now.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        armed_now.headers()[LOCATION],
        "/console/faults?armed=esim-go"
    );
    let faults = armed(&app, ProviderId::EsimGo).await;
    assert_eq!(
        faults,
        [
            serde_json::json!({"kind": "latency", "ms": 250, "path": "/orders", "method": "PATCH", "times": 3})
        ]
    );
    let html = operator
        .get("/console/faults?armed=esim-go")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Fault armed on esim-go")
            && html.contains("answers after 250 ms · PATCH /orders… · 3 more"),
        "{html}"
    );
    let cleared = operator
        .post(
            "/console/faults/clear",
            &[("csrf_token", &csrf), ("provider", "esim-go")],
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    assert!(armed(&app, ProviderId::EsimGo).await.is_empty());
    let unknown = operator
        .post(
            "/console/faults/clear",
            &[("csrf_token", &csrf), ("provider", "nowhere")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);

    // A simulator that stopped answering is a notice (502) and its row
    // says so; the page still works.
    app.telnyx_handle.shutdown().await;
    let gone = operator
        .post(
            "/console/faults",
            &[
                ("csrf_token", &csrf),
                ("provider", "telnyx"),
                ("kind", "malformed"),
            ],
        )
        .await;
    assert_eq!(gone.status(), StatusCode::BAD_GATEWAY);
    let html = gone.text().await.unwrap();
    assert!(
        html.contains(r#"role="alert">the telnyx simulator did not answer (connection refused)"#),
        "{html}"
    );
    let page = operator.get("/console/faults").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("the telnyx simulator did not answer")
    );
}

#[tokio::test]
async fn an_operator_arms_a_503_and_sees_the_order_fail_over_in_a_browser() {
    let app = TestApp::spawn_with(sandbox()).await;
    let route = route(&app).await;
    let driver = Driver::start().await;
    let browser = open_browser(&driver).await;
    let scenario =
        tokio::time::timeout(BROWSER_LIMIT, failover_scenario(&app, &browser, &route)).await;
    let _ = browser.close().await;
    scenario.expect("the browser scenario finishes within its limit");
}

/// The text of every row of the first table after the `Attempts` heading.
async fn attempt_rows(browser: &fantoccini::Client) -> Vec<String> {
    let mut rows = Vec::new();
    for row in browser
        .find_all(Locator::XPath(
            "//h2[text()='Attempts']/following-sibling::div[1]//tbody/tr",
        ))
        .await
        .unwrap()
    {
        rows.push(row.text().await.unwrap());
    }
    rows
}

async fn failover_scenario(
    app: &TestApp,
    browser: &fantoccini::Client,
    route: &crate::failover::Route,
) {
    let base = &app.address;
    let (first, second) = (route.first().as_str(), route.second().as_str());
    // The operator signs in and views the test tenant.
    browser
        .goto(&format!("{base}/console/login"))
        .await
        .unwrap();
    let key = browser.find(Locator::Id("api_key")).await.unwrap();
    key.send_keys(&format!("{OPERATOR_KEY}\u{E007}"))
        .await
        .unwrap();
    wait_for_title(browser, "Dashboard").await;
    browser
        .find(Locator::Id("tenant-switch"))
        .await
        .unwrap()
        .select_by_label("test reseller")
        .await
        .unwrap();
    browser
        .find(Locator::Css(r#"form[action="/console/tenant"] button"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_title(browser, "Dashboard").await;

    // A lasting 503 on the provider routing tries first, from the panel.
    browser
        .find(Locator::Css(r#"nav a[href="/console/faults"]"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_title(browser, "Faults").await;
    screenshots(browser, "faults").await;
    let select = |id: &'static str, value: &'static str| async move {
        browser
            .find(Locator::Id(id))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    };
    select("provider", first).await;
    select("kind", "status").await;
    select("method", "POST").await;
    let fields = [
        ("status", "503"),
        ("retry_after_secs", "0"),
        ("path", "/orders"),
        ("times", "20"),
    ];
    fill_and_click(browser, &fields, "arm").await;
    let notice = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("p.notice[role=status]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(notice, format!("Fault armed on {first}."));
    let listed = browser
        .find(Locator::Css(&format!(
            r#"tr[data-provider="{first}"] li[data-kind="status"]"#
        )))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.starts_with("answers 503"), "{listed}");
    screenshots(browser, "faults-armed").await;

    // The offer, ordered from the routing page: the first candidate is
    // the faulty provider.
    browser
        .goto(&format!("{base}/console/routing?offer={}", route.offer))
        .await
        .unwrap();
    let planned = browser
        .find(Locator::Css("#route-plan tbody tr"))
        .await
        .unwrap()
        .attr("data-provider")
        .await
        .unwrap();
    assert_eq!(planned.as_deref(), Some(first));
    screenshots(browser, "routing").await;
    browser
        .find(Locator::Css("#order-offer button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = final_order_status(browser).await;
    assert_eq!(status, "completed");

    // Its attempts: the first provider answered 503 and bought nothing,
    // the second sold it.
    browser.refresh().await.unwrap();
    let rows = attempt_rows(browser).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows[0].contains(first)
            && rows[0].contains("failed over: nothing bought")
            && rows[0].contains("upstream_unavailable"),
        "{rows:?}"
    );
    assert!(
        rows[1].contains(second) && rows[1].contains("current: completed"),
        "{rows:?}"
    );
    assert_eq!(purchases(app, route.first()).await, 0);
    assert_eq!(purchases(app, route.second()).await, 1);
    screenshots(browser, "order-failover").await;

    // The panel clears the fault.
    browser
        .goto(&format!("{base}/console/faults"))
        .await
        .unwrap();
    browser
        .find(Locator::Css(&format!(
            r#"tr[data-provider="{first}"] button[type=submit]"#
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let cleared = format!("Faults of {first} cleared.");
    eventually(Duration::from_secs(10), || async {
        let notice = browser
            .find(Locator::Css("p.notice[role=status]"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (notice == cleared).then_some(())
    })
    .await;
    let row = browser
        .find(Locator::Css(&format!(r#"tr[data-provider="{first}"]"#)))
        .await
        .unwrap();
    assert!(row.text().await.unwrap().contains("none"));

    // The other newer pages, for their screenshots.
    for (path, name) in [
        ("/console/providers", "providers"),
        ("/console/pricing", "pricing"),
        ("/console/sim-orders", "sim-orders"),
        ("/console/webhooks", "webhooks"),
    ] {
        browser.goto(&format!("{base}{path}")).await.unwrap();
        screenshots(browser, name).await;
    }
}
