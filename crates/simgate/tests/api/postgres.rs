//! The same flows on PostgreSQL, the back-end for several instances.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::events::{Receiver, register, signature_is_valid};
use crate::helpers::{Options, TestApp};

/// Server of this machine and CI (`.ci/run` starts it when it is down).
fn server_url() -> String {
    std::env::var("SIMGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh, empty database for one test.
pub async fn fresh_database() -> String {
    sqlx::any::install_default_drivers();
    let name = format!("simgate_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .expect("PostgreSQL must be running for the test suite (see .ci/run)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    format!("{}/{name}", server_url())
}

#[tokio::test]
async fn orders_work_the_same_on_postgres() {
    let app = TestApp::spawn_with(Options {
        database_url: Some(fresh_database().await),
        ..Options::default()
    })
    .await;
    let japan = app.get_json("/v1/products?country=JP&limit=5").await;
    assert_eq!(japan["data"].as_array().unwrap().len(), 5);

    let receiver = Receiver::start(&[(503, None)]).await;
    let endpoint = register(&app, &receiver.url).await;

    let product = app.cheapest("JP").await;
    let order = app.order(&product, "pg-1").await;
    assert_eq!(order["status"], "completed");
    let replay = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product }),
            Some("pg-1"),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::OK);
    let conflict = app
        .post(
            "/v1/orders",
            &json!({ "product_id": product, "quantity": 2 }),
            Some("pg-1"),
        )
        .await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);

    let iccid = order["esims"][0].as_str().unwrap();
    let esim = app.get_json(&format!("/v1/esims/{iccid}")).await;
    assert!(
        esim["activation_code"]
            .as_str()
            .unwrap()
            .starts_with("LPA:1$")
    );
    let listed = app.get_json("/v1/orders?status=completed&limit=5").await;
    assert_eq!(listed["data"][0]["id"], order["id"]);
    assert_eq!(app.sandbox.state.purchases(), 1);

    // The event went through the PostgreSQL-backed queue, retried once.
    let received = receiver.wait_for(2).await;
    assert_eq!(received[0].id, received[1].id);
    let secret = endpoint["secret"].as_str().unwrap();
    assert!(signature_is_valid(secret, &received[1]));
    let payload: serde_json::Value = serde_json::from_str(&received[1].body).unwrap();
    assert_eq!(payload["data"]["id"], order["id"]);
}
