//! Rate limits: a tenant over its budget gets 429 `rate_limited` with the
//! IETF headers while another tenant goes on; provider webhooks are limited
//! per client address.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use simgate::settings::LimitSettings;
use simgate_service::limits::Rate;

use crate::helpers::{Options, TestApp, assert_problem};

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
