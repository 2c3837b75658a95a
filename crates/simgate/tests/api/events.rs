//! Outbound events: Standard Webhooks deliveries to a reseller's receiver
//! that fails, asks to wait, goes away, or comes back after a restart.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response as AxumResponse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;

use crate::helpers::{Sandbox, TestApp, assert_problem, eventually};
use crate::recovery::Binary;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    at: Instant,
}

/// What the receiver answers next: a status and an optional `Retry-After`.
type Answer = (u16, Option<&'static str>);

#[derive(Default)]
struct ReceiverState {
    script: VecDeque<Answer>,
    received: Vec<Received>,
}

/// A reseller's webhook receiver on loopback, answering from a script
/// (then 200 once the script is used up).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    pub async fn start(script: &[Answer]) -> Self {
        let state = Arc::new(Mutex::new(ReceiverState {
            script: script.iter().copied().collect(),
            received: Vec::new(),
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, state }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    fn answer_next(&self, answers: &[Answer]) {
        self.state.lock().unwrap().script = answers.iter().copied().collect();
    }

    /// Waits for `count` requests.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        eventually(Duration::from_secs(60), || async {
            let received = self.received();
            (received.len() >= count).then_some(received)
        })
        .await
    }
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    headers: HeaderMap,
    body: String,
) -> AxumResponse {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut state = state.lock().unwrap();
    state.received.push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        at: Instant::now(),
    });
    let (status, retry_after) = state.script.pop_front().unwrap_or((200, None));
    let mut response = AxumStatus::from_u16(status).unwrap().into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", seconds.parse().unwrap());
    }
    response
}

/// Verifies a Standard Webhooks signature the way a receiver would, from
/// the specification, not from simgate's code.
pub fn signature_is_valid(secret: &str, received: &Received) -> bool {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").expect("whsec_ secret"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    let sent_at: i64 = received.timestamp.parse().unwrap();
    let fresh = (chrono::Utc::now().timestamp() - sent_at).abs() < 300;
    fresh
        && received
            .signature
            .split(' ')
            .any(|candidate| candidate == expected)
}

pub async fn register(app: &TestApp, url: &str) -> Value {
    let response = app
        .post("/v1/webhook-endpoints", &json!({ "url": url }), None)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// Orders one eSIM Go eSIM and waits for its completion.
pub(crate) async fn complete_an_order(app: &TestApp, key: &str) -> Value {
    let product = app.cheapest("FR").await;
    let order = app.order(&product, key).await;
    app.wait_for_order(order["id"].as_str().unwrap(), "completed")
        .await
}

#[tokio::test]
async fn a_receiver_that_fails_then_succeeds_gets_one_signed_event() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&[(500, None), (503, None)]).await;
    let endpoint = register(&app, &receiver.url).await;
    let secret = endpoint["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));

    let order = complete_an_order(&app, "events-1").await;
    let received = receiver.wait_for(3).await;

    assert!(
        received.iter().all(|r| r.id == received[0].id),
        "one webhook-id"
    );
    for attempt in &received {
        assert!(signature_is_valid(secret, attempt), "{attempt:?}");
    }
    let payload: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(payload["type"], "order.completed");
    assert_eq!(payload["data"]["id"], order["id"]);
    assert_eq!(payload["data"]["esims"], order["esims"]);

    let event = eventually(Duration::from_secs(30), || async {
        let event = app
            .get_json(&format!("/v1/events/{}", received[0].id))
            .await;
        (event["deliveries"][0]["status"] == "delivered").then_some(event)
    })
    .await;
    assert_eq!(event["type"], "order.completed");
    assert_eq!(event["deliveries"][0]["attempts"], 3);
    assert_eq!(event["deliveries"][0]["last_response"], 200);
    let listed = app.get_json("/v1/events?limit=10").await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, [received[0].id.as_str()], "the event is recorded once");
    assert_eq!(receiver.received().len(), 3, "nothing after the success");

    // A replay sends the same logical event again.
    let replay = app
        .post(
            &format!("/v1/events/{}/replay", received[0].id),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(replay.status(), StatusCode::ACCEPTED);
    let again = receiver.wait_for(4).await;
    assert_eq!(again[3].id, received[0].id);
    assert_eq!(again[3].body, received[0].body);
    assert!(signature_is_valid(secret, &again[3]));
}

#[tokio::test]
async fn retry_after_is_honoured_and_410_disables_the_endpoint() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&[(429, Some("2"))]).await;
    let endpoint = register(&app, &receiver.url).await;

    complete_an_order(&app, "events-2").await;
    let received = receiver.wait_for(2).await;
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(1900),
        "retried after {waited:?}, before Retry-After: 2"
    );

    receiver.answer_next(&[(410, None)]);
    complete_an_order(&app, "events-3").await;
    receiver.wait_for(3).await;
    let disabled = eventually(Duration::from_secs(30), || async {
        let list = app.get_json("/v1/webhook-endpoints").await;
        let found = list["data"]
            .as_array()?
            .iter()
            .find(|e| e["id"] == endpoint["id"])?
            .clone();
        (found["enabled"] == false).then_some(found)
    })
    .await;
    assert!(
        disabled["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );

    // Later events are recorded but not sent to a disabled endpoint.
    let order = complete_an_order(&app, "events-4").await;
    let event = eventually(Duration::from_secs(30), || async {
        let events = app.get_json("/v1/events?limit=1").await;
        let latest = events["data"][0].clone();
        (latest["payload"]["data"]["id"] == order["id"]).then_some(latest)
    })
    .await;
    assert!(event["deliveries"].as_array().unwrap().is_empty());
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn endpoints_and_events_reject_bad_input() {
    let app = TestApp::spawn().await;
    for url in ["not a url", "ftp://example.com/hook", "/relative"] {
        let response = app
            .post("/v1/webhook-endpoints", &json!({ "url": url }), None)
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_url").await;
    }
    let missing = app.post("/v1/webhook-endpoints", &json!({}), None).await;
    assert_problem(missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let unknown = app.delete("/v1/webhook-endpoints/we_nothing").await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "endpoint_not_found").await;
    let no_event = app.get("/v1/events/msg_nothing").await;
    assert_problem(no_event, StatusCode::NOT_FOUND, "event_not_found").await;
    let no_replay = app
        .post("/v1/events/msg_nothing/replay", &json!({}), None)
        .await;
    assert_problem(no_replay, StatusCode::NOT_FOUND, "event_not_found").await;
    let bad_limit = app.get("/v1/events?limit=0").await;
    assert_problem(bad_limit, StatusCode::BAD_REQUEST, "invalid_query").await;

    // Another tenant sees none of this tenant's events or endpoints.
    let receiver = Receiver::start(&[]).await;
    let endpoint = register(&app, &receiver.url).await;
    complete_an_order(&app, "events-5").await;
    let event_id = receiver.wait_for(1).await[0].id.clone();
    let (_, other_key) = crate::helpers::funded_tenant(app.app.store(), "other").await;
    let other = |path: String| {
        app.client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&other_key)
            .send()
    };
    let theirs = other(format!("/v1/events/{event_id}")).await.unwrap();
    assert_problem(theirs, StatusCode::NOT_FOUND, "event_not_found").await;
    let list: Value = other("/v1/webhook-endpoints".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"], json!([]));
    let deleted = app
        .delete(&format!(
            "/v1/webhook-endpoints/{}",
            endpoint["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_restart_mid_retry_still_delivers_the_event() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");
    let key = crate::recovery::create_funded_tenant(&sandbox, &db, "restart");
    // The first attempt is told to come back in 3 s; simgate dies meanwhile.
    let receiver = Receiver::start(&[(503, Some("3"))]).await;

    let first = Binary::serve_with_log(&sandbox, &db, 10, Stdio::inherit(), "warn").await;
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{}/v1/webhook-endpoints", first.address))
        .bearer_auth(&key)
        .json(&json!({ "url": receiver.url }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let secret = registered.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = first.first_product(&key, "DE").await;
    let ordered = client
        .post(format!("{}/v1/orders", first.address))
        .bearer_auth(&key)
        .header("Idempotency-Key", "restart-1")
        .json(&json!({ "product_id": product }))
        .send()
        .await
        .unwrap();
    assert_eq!(ordered.status(), StatusCode::CREATED);
    receiver.wait_for(1).await;
    // Dies once the failed attempt is written down and the retry waits.
    eventually(Duration::from_secs(30), || async {
        let events = first.get_json(&key, "/v1/events?limit=1").await?;
        (events["data"][0]["deliveries"][0]["attempts"] == 1).then_some(())
    })
    .await;
    first.crash();

    let _second = Binary::serve_with_log(&sandbox, &db, 10, Stdio::inherit(), "warn").await;
    let received = receiver.wait_for(2).await;
    assert_eq!(received[1].id, received[0].id);
    assert!(signature_is_valid(&secret, &received[1]));
    assert!(received[1].at - received[0].at >= Duration::from_millis(2900));
}
