//! Rate limits: a tenant over its budget gets 429 `rate_limited` with the
//! IETF headers while another tenant goes on; provider webhooks are limited
//! per client address.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use simgate::settings::LimitSettings;
use simgate_service::limits::Rate;

use crate::helpers::{OPERATOR_KEY, Options, TestApp, assert_problem, eventually};

#[tokio::test]
async fn a_tenant_over_its_budget_is_refused_while_another_goes_on() {
    let app = TestApp::spawn_with(Options {
        limits: LimitSettings {
            requests: Rate::new(40, 3600),
            webhooks_per_ip: Rate::new(3, 3600),
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;
    // The harness spent some of the first tenant's budget waiting for the catalogue.
    let (_, other_key) = simgate::create_tenant(app.app.store(), "other reseller")
        .await
        .unwrap();
    let other = |path: &str| {
        app.client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&other_key)
            .send()
    };
    // The other tenant's latency alone, as a baseline.
    let mut alone = Vec::new();
    for _ in 0..10 {
        let started = std::time::Instant::now();
        assert_eq!(
            other("/v1/products?limit=1").await.unwrap().status(),
            StatusCode::OK
        );
        alone.push(started.elapsed());
    }
    let mut refused = None;
    for _ in 0..60 {
        let response = app.get("/v1/products?limit=1").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    let refused = refused.expect("the first tenant meets its limit");
    let headers = refused.headers().clone();
    assert_eq!(headers["ratelimit-policy"], "\"tenant\";q=40;w=3600");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=90).contains(&retry), "one unit every 90 s: {retry}");
    assert_eq!(
        headers["ratelimit"].to_str().unwrap(),
        format!("\"tenant\";r=0;t={retry}")
    );
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Still refused, while the other tenant's calls succeed at their usual pace.
    let mut during = Vec::new();
    for _ in 0..10 {
        assert_eq!(
            app.get("/v1/products?limit=1").await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        let started = std::time::Instant::now();
        assert_eq!(
            other("/v1/products?limit=1").await.unwrap().status(),
            StatusCode::OK
        );
        during.push(started.elapsed());
    }
    alone.sort();
    during.sort();
    assert!(
        during[5] <= alone[5] * 4 + Duration::from_millis(20),
        "median {:?} while the other tenant is refused, {:?} alone",
        during[5],
        alone[5]
    );

    // Provider webhooks, keyless, are counted per client address.
    let url = format!("{}/v1/webhooks/sim-local", app.address);
    for _ in 0..3 {
        let forged = app
            .client
            .post(&url)
            .header("X-API-Key", "forged")
            .json(&json!({"order_id": "x", "status": "FAILED"}))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    }
    let flooded = app.client.post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(
        flooded.headers()["ratelimit-policy"],
        "\"webhooks-per-ip\";q=3;w=3600"
    );
    assert_problem(flooded, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

/// The operator's limits of one tenant, read or replaced with `key`.
async fn tenant_limits(
    app: &TestApp,
    method: reqwest::Method,
    tenant: &str,
    key: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(
            method,
            format!("{}/admin/v1/tenants/{tenant}/limits", app.address),
        )
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn an_operator_override_limits_one_tenant_and_the_others_keep_the_default() {
    let app = TestApp::spawn().await;
    let (limited, limited_key) = simgate::create_tenant(app.app.store(), "limited reseller")
        .await
        .unwrap();
    let get = reqwest::Method::GET;
    let put = reqwest::Method::PUT;

    // Operator only, and the defaults until set.
    let refused = tenant_limits(&app, get.clone(), &limited, &limited_key, None).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "operator_only").await;
    let body = json!({"requests": {"quota": 5, "window_secs": 3600}});
    let refused = tenant_limits(&app, put.clone(), &limited, &app.api_key, Some(body)).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "operator_only").await;
    let shown: serde_json::Value = tenant_limits(&app, get.clone(), &limited, OPERATOR_KEY, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown,
        json!({"requests": null, "order_creations": null, "sms_sends": null, "sim_order_reads": null})
    );

    // Rates that cannot be enforced are refused, naming the field.
    for (body, field) in [
        (
            json!({"requests": {"quota": 0, "window_secs": 1}}),
            "requests.quota",
        ),
        (
            json!({"sms_sends": {"quota": 1, "window_secs": 86_401}}),
            "sms_sends.window_secs",
        ),
        (
            json!({"order_creations": {"quota": 1, "window_secs": 0}}),
            "order_creations.window_secs",
        ),
    ] {
        let refused = tenant_limits(&app, put.clone(), &limited, OPERATOR_KEY, Some(body)).await;
        let problem =
            assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_limits").await;
        assert_eq!(problem["field"], field);
    }
    let unknown = "ten_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b";
    let body = json!({"requests": {"quota": 5, "window_secs": 3600}});
    let missing = tenant_limits(&app, put.clone(), unknown, OPERATOR_KEY, Some(body)).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Lowered for one tenant: it meets the override's quota at once.
    let body = json!({"requests": {"quota": 5, "window_secs": 3600}, "sms_sends": null});
    let set = tenant_limits(&app, put.clone(), &limited, OPERATOR_KEY, Some(body)).await;
    assert_eq!(set.status(), StatusCode::OK);
    let shown: serde_json::Value = tenant_limits(&app, get.clone(), &limited, OPERATOR_KEY, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["requests"], json!({"quota": 5, "window_secs": 3600}));
    assert_eq!(shown["order_creations"], serde_json::Value::Null);
    let as_limited = || {
        app.client
            .get(format!("{}/v1/products?limit=1", app.address))
            .bearer_auth(&limited_key)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(as_limited().await.unwrap().status(), StatusCode::OK);
    }
    let refused = as_limited().await.unwrap();
    assert_eq!(
        refused.headers()["ratelimit-policy"],
        "\"tenant\";q=5;w=3600"
    );
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The tenant with the defaults goes on.
    for _ in 0..20 {
        assert_eq!(
            app.get("/v1/products?limit=1").await.status(),
            StatusCode::OK
        );
    }

    // Back to the default: the tenant's own bucket no longer applies.
    let body = json!({"requests": null});
    let reset = tenant_limits(&app, put, &limited, OPERATOR_KEY, Some(body)).await;
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(as_limited().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wait_beyond_the_tenants_limit_is_refused_while_the_others_wait() {
    let app = TestApp::spawn_with(Options {
        limits: LimitSettings {
            max_waiting_requests: 2,
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;
    let product = app.cheapest("FR").await;
    // eSIM Go answers slowly: orders stay unfinished while their requests wait.
    app.sandbox
        .arm(json!({"kind": "latency", "ms": 3000, "method": "POST", "times": 100}))
        .await;
    let waiting = |key: &'static str| {
        let (client, url, api_key, product) = (
            app.client.clone(),
            format!("{}/v1/orders?wait=30s", app.address),
            app.api_key.clone(),
            product.clone(),
        );
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(api_key)
                .header("Idempotency-Key", key)
                .json(&json!({ "product_id": product }))
                .send()
                .await
                .unwrap()
        })
    };
    let first = waiting("wait-1");
    let second = waiting("wait-2");
    // Both hold their place once their orders are stored.
    eventually(Duration::from_secs(20), || async {
        let orders = app.get_json("/v1/orders").await;
        (orders["data"].as_array()?.len() == 2).then_some(())
    })
    .await;
    let third = app
        .post(
            "/v1/orders?wait=30s",
            &json!({ "product_id": product }),
            Some("wait-3"),
        )
        .await;
    assert_eq!(third.headers()["retry-after"], "1");
    assert_problem(third, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        !first.is_finished() && !second.is_finished(),
        "the first two still wait"
    );
    let orders = app.get_json("/v1/orders").await;
    assert_eq!(
        orders["data"].as_array().unwrap().len(),
        2,
        "the refused wait placed nothing"
    );

    // Once they are answered, their places are free again.
    let cleared = app
        .client
        .delete(format!("{}/__admin/faults", app.sandbox.handle.base_url()))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());
    for waited in [first, second] {
        assert_eq!(waited.await.unwrap().status(), StatusCode::CREATED);
    }
    let again = app
        .post(
            "/v1/orders?wait=30s",
            &json!({ "product_id": product }),
            Some("wait-4"),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn console_sign_ins_are_limited_per_address_and_endpoints_and_replays_are_capped() {
    let app = TestApp::spawn_with(Options {
        limits: LimitSettings {
            console_sign_ins_per_ip: Rate::new(3, 3600),
            max_webhook_endpoints: 2,
            max_replays_per_event: 2,
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;

    // Sign-in attempts from one address, whatever their keys.
    for _ in 0..3 {
        let wrong = crate::console::post_login(&app, "sk_live_wrong", &[]).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = crate::console::post_login(&app, "sk_live_wrong", &[]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=1200).contains(&retry),
        "one attempt every 1200 s: {retry}"
    );
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "the console's own error page"
    );
    let page = refused.text().await.unwrap();
    assert!(page.contains("rate_limited"), "{page}");

    // Webhook endpoints: at most two enabled; removing one frees its place.
    let app = &app;
    let register = |n: u32| async move {
        app.post(
            "/v1/webhook-endpoints",
            &json!({ "url": format!("http://127.0.0.1:9/hook-{n}") }),
            None,
        )
        .await
    };
    let first: serde_json::Value = register(1).await.json().await.unwrap();
    assert_eq!(register(2).await.status(), StatusCode::CREATED);
    assert_problem(
        register(3).await,
        StatusCode::CONFLICT,
        "too_many_endpoints",
    )
    .await;
    let id = first["id"].as_str().unwrap();
    let removed = app.delete(&format!("/v1/webhook-endpoints/{id}")).await;
    assert!(removed.status().is_success());
    assert_eq!(register(4).await.status(), StatusCode::CREATED);

    // Replays: at most two of one event.
    crate::events::complete_an_order(app, "caps-1").await;
    let event = eventually(Duration::from_secs(30), || async {
        let events = app.get_json("/v1/events?limit=1").await;
        events["data"][0]["id"].as_str().map(str::to_owned)
    })
    .await;
    let path = &format!("/v1/events/{event}/replay");
    let replay = || async move { app.post(path, &json!({}), None).await };
    for _ in 0..2 {
        assert_eq!(replay().await.status(), StatusCode::ACCEPTED);
    }
    assert_problem(replay().await, StatusCode::CONFLICT, "too_many_replays").await;
}
