//! Tenants and the operator: each tenant sees only its own part of the
//! provider account they share; operator routes take the operator key only;
//! `/metrics` needs that key, or its own listener.
//!
//! These apps configure only the ONSIM sandbox (the shared line account):
//! no catalogue to sync, so they start in a moment.

use std::collections::BTreeSet;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use simgate::Application;
use simgate::settings::Settings;
use simgate_sandbox::onsim::{OnsimSandbox, OnsimSandboxConfig};
use simgate_sandbox::simulator::SimulatorHandle;
use tempfile::TempDir;

use crate::helpers::{OPERATOR_KEY, assert_problem};

/// simgate in front of the ONSIM sandbox, with two tenants.
struct LineApp {
    address: String,
    client: reqwest::Client,
    tenant_a: String,
    tenant_b: String,
    onsim: OnsimSandbox,
    _onsim_handle: SimulatorHandle,
    app: Application,
    _dir: TempDir,
}

impl LineApp {
    /// Started with `admin_api_key` as given and, if asked, `metrics_listen`.
    async fn start(admin_api_key: Option<&str>, metrics_listen: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (onsim_handle, onsim, onsim_settings) =
            simgate::start_onsim_sandbox(([127, 0, 0, 1], 0).into(), OnsimSandboxConfig::default())
                .await
                .unwrap();
        let mut settings = Settings {
            listen: ([127, 0, 0, 1], 0).into(),
            database_url: format!("sqlite://{}", dir.path().join("simgate.db").display()),
            admin_api_key: admin_api_key.map(Into::into),
            metrics_listen: metrics_listen.then(|| ([127, 0, 0, 1], 0).into()),
            ..Settings::default()
        };
        settings.providers.onsim = Some(onsim_settings);
        let app = Application::start(&settings).await.expect("simgate starts");
        let store = app.store();
        let (_, tenant_a) = crate::helpers::funded_tenant(store, "tenant A").await;
        let (_, tenant_b) = crate::helpers::funded_tenant(store, "tenant B").await;
        Self {
            address: format!("http://{}", app.addr()),
            client: reqwest::Client::new(),
            tenant_a,
            tenant_b,
            onsim,
            _onsim_handle: onsim_handle,
            app,
            _dir: dir,
        }
    }

    /// A request presenting `key` (none: no key at all).
    async fn call(&self, key: Option<&str>, method: Method, path: &str, body: &Value) -> Response {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.address));
        if method != Method::GET {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.unwrap()
    }

    async fn get_json(&self, key: &str, path: &str) -> Value {
        let response = self.call(Some(key), Method::GET, path, &json!({})).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// Provisions a line for the tenant holding `key`.
    async fn provision(&self, key: &str, line: Value) {
        let response = self.call(Some(key), Method::POST, "/v1/lines", &line).await;
        assert_eq!(response.status(), StatusCode::CREATED, "provision {line}");
    }
}

/// The values of `field` in a list answer.
fn field_of(list: &Value, field: &str) -> BTreeSet<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item[field].as_str().map(str::to_owned))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A group the provider's UC lines can join.
fn group(name: &str) -> Value {
    json!({
        "name": name, "home_locations": ["GB"], "address_line_1": "1 Example Street",
        "address_line_2": null, "city": "London", "country": "United Kingdom",
        "post_code": "SW1A 0AA", "description": "tenancy test"
    })
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_sims_numbers_ports_or_subscribers() {
    let app = LineApp::start(Some(OPERATOR_KEY), false).await;
    let (a, b) = (app.tenant_a.as_str(), app.tenant_b.as_str());

    // A port the operator's account already has, on a number the operator
    // then adds: whoever provisions that number owns the port.
    let port = app.get_json(OPERATOR_KEY, "/v1/ports/1001").await;
    let ported = port["number"].as_str().unwrap().to_owned();
    let added = app
        .call(
            Some(OPERATOR_KEY),
            Method::POST,
            "/v1/numbers",
            &json!({ "mpn": ported }),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);

    // Tenants pick from the numbers free to provision; the operator hands
    // out physical SIMs, whose free stock only it lists.
    let free = field_of(&app.get_json(a, "/v1/numbers?state=reserved").await, "mpn");
    assert_eq!(
        free,
        field_of(&app.get_json(b, "/v1/numbers?state=reserved").await, "mpn"),
        "free numbers are offered to every tenant"
    );
    assert!(free.contains(&ported));
    let free_psims = app
        .get_json(OPERATOR_KEY, "/v1/sims?state=reserved&kind=psim")
        .await;
    let psim = free_psims["data"][0]["iccid"].as_str().unwrap().to_owned();
    let a_esim_mpn = app.onsim.reserved_numbers()[0].to_string();
    let a_psim_mpn = app.onsim.reserved_numbers()[1].to_string();
    let b_mpn = app.onsim.reserved_numbers()[2].to_string();

    app.create_group_as_operator("TENANT_A_CUSTOMERS").await;
    app.provision(
        a,
        json!({
            "mpn": a_esim_mpn, "uc": "provider", "group_name": "TENANT_A_CUSTOMERS",
            "home_location": "GB", "first_name": "Ada", "last_name": "Lovelace",
            "email": "ada@example.com", "product": 18, "mobile_data": "2GB"
        }),
    )
    .await;
    app.provision(a, json!({ "mpn": a_psim_mpn, "iccid": psim, "uc": "own" }))
        .await;
    app.provision(a, json!({ "mpn": ported, "uc": "own" }))
        .await;
    app.provision(b, json!({ "mpn": b_mpn, "uc": "own" })).await;

    let a_lines = field_of(&app.get_json(a, "/v1/lines").await, "mpn");
    let b_lines = field_of(&app.get_json(b, "/v1/lines").await, "mpn");
    assert_eq!(
        a_lines,
        set(&[&a_esim_mpn, &a_psim_mpn, &ported]),
        "A's lines"
    );
    assert_eq!(b_lines, set(&[&b_mpn]), "B's lines");
    let a_iccids = field_of(&app.get_json(a, "/v1/lines").await, "iccid");
    let b_iccids = field_of(&app.get_json(b, "/v1/lines").await, "iccid");
    assert_eq!(a_iccids.len(), 3);
    assert!(a_iccids.contains(&psim));
    assert_eq!(b_iccids.len(), 1);

    // Numbers in use: each tenant its own; the operator all of them.
    assert_eq!(app.numbers_in_use(a).await, a_lines);
    assert_eq!(app.numbers_in_use(b).await, b_lines);
    let all_in_use = app.numbers_in_use(OPERATOR_KEY).await;
    assert!(all_in_use.is_superset(&a_lines) && all_in_use.is_superset(&b_lines));
    let free_now = field_of(&app.get_json(b, "/v1/numbers?state=reserved").await, "mpn");
    assert!(free_now.is_disjoint(&a_lines), "A's numbers are not free");

    // SIMs and eSIMs: only those behind the tenant's own lines, whatever
    // the filter; free SIMs belong to no tenant.
    for query in [
        "/v1/sims",
        "/v1/sims?state=active",
        "/v1/sims?state=active&kind=esim",
        "/v1/sims?state=active&kind=psim",
        "/v1/sims?state=reserved",
    ] {
        let b_sims = app.get_json(b, query).await;
        assert!(
            field_of(&b_sims, "iccid").is_subset(&b_iccids),
            "B sees only its SIMs at {query}: {b_sims}"
        );
        assert!(
            field_of(&b_sims, "mpn").is_subset(&b_lines),
            "{query}: {b_sims}"
        );
        let a_sims = app.get_json(a, query).await;
        assert!(field_of(&a_sims, "iccid").is_subset(&a_iccids), "{query}");
    }
    assert_eq!(
        field_of(&app.get_json(a, "/v1/sims?state=active").await, "iccid"),
        a_iccids
    );
    assert_eq!(
        field_of(&app.get_json(b, "/v1/sims?state=active").await, "iccid"),
        b_iccids
    );
    let all_sims = field_of(
        &app.get_json(OPERATOR_KEY, "/v1/sims?state=active").await,
        "iccid",
    );
    assert!(all_sims.is_superset(&a_iccids) && all_sims.is_superset(&b_iccids));
    assert!(
        !app.get_json(OPERATOR_KEY, "/v1/sims?state=reserved").await["data"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the operator sees the free stock"
    );

    // Subscribers, with and without filters.
    for query in [
        "/v1/subscribers",
        "/v1/subscribers?group=TENANT_A_CUSTOMERS",
        "/v1/subscribers?is_recorded=false",
    ] {
        let b_subscribers = app.get_json(b, query).await;
        assert!(
            field_of(&b_subscribers, "mpn").is_subset(&b_lines),
            "{query}: {b_subscribers}"
        );
        assert!(field_of(&b_subscribers, "iccid").is_disjoint(&a_iccids));
    }
    assert_eq!(
        field_of(&app.get_json(a, "/v1/subscribers").await, "mpn"),
        a_lines
    );
    assert_eq!(
        field_of(&app.get_json(b, "/v1/subscribers").await, "mpn"),
        b_lines
    );
    let everyone = field_of(&app.get_json(OPERATOR_KEY, "/v1/subscribers").await, "mpn");
    assert!(everyone.is_superset(&a_lines) && everyone.is_superset(&b_lines));

    // Ports: A's number's port is A's alone; the rest are the operator's.
    assert_eq!(
        field_of(&app.get_json(a, "/v1/ports").await, "id"),
        set(&["1001"])
    );
    assert_eq!(
        field_of(&app.get_json(b, "/v1/ports").await, "id"),
        set(&[])
    );
    assert_eq!(app.get_json(a, "/v1/ports/1001").await["id"], "1001");
    let hidden = app
        .call(Some(b), Method::GET, "/v1/ports/1001", &json!({}))
        .await;
    assert_problem(hidden, StatusCode::NOT_FOUND, "port_not_found").await;
    let others = app
        .call(Some(a), Method::GET, "/v1/ports/1002", &json!({}))
        .await;
    assert_problem(others, StatusCode::NOT_FOUND, "port_not_found").await;
    assert!(field_of(&app.get_json(OPERATOR_KEY, "/v1/ports").await, "id").len() > 1);

    app.app.stop().await;
}

impl LineApp {
    async fn numbers_in_use(&self, key: &str) -> BTreeSet<String> {
        field_of(&self.get_json(key, "/v1/numbers?state=active").await, "mpn")
    }

    async fn create_group_as_operator(&self, name: &str) {
        let created = self
            .call(Some(OPERATOR_KEY), Method::POST, "/v1/groups", &group(name))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED, "group {name}");
    }
}

/// Every route only the operator may use, with a body it would accept.
fn operator_routes() -> Vec<(Method, &'static str, Value, StatusCode)> {
    vec![
        (
            Method::POST,
            "/v1/numbers",
            json!({ "mpn": "447700900888" }),
            StatusCode::CREATED,
        ),
        (Method::GET, "/v1/groups", json!({}), StatusCode::OK),
        (
            Method::POST,
            "/v1/groups",
            group("OPERATOR_GROUP"),
            StatusCode::CREATED,
        ),
        (Method::GET, "/metrics", json!({}), StatusCode::OK),
    ]
}

#[tokio::test]
async fn operator_routes_refuse_tenant_keys_and_take_only_the_operator_key() {
    let app = LineApp::start(Some(OPERATOR_KEY), false).await;
    let wrong_operator_key = format!("{OPERATOR_KEY}x");
    let near_miss = &OPERATOR_KEY[..OPERATOR_KEY.len() - 1];
    for (method, path, body, _) in operator_routes() {
        for tenant in [&app.tenant_a, &app.tenant_b] {
            let refused = app.call(Some(tenant), method.clone(), path, &body).await;
            assert_problem(refused, StatusCode::FORBIDDEN, "operator_only").await;
        }
        let anonymous = app.call(None, method.clone(), path, &body).await;
        assert_problem(anonymous, StatusCode::UNAUTHORIZED, "missing_api_key").await;
        for wrong in [wrong_operator_key.as_str(), near_miss, "sk_live_guess"] {
            let refused = app.call(Some(wrong), method.clone(), path, &body).await;
            assert_problem(refused, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
        }
    }
    assert_eq!(
        app.onsim.reserved_numbers().len(),
        20,
        "no refused call reached the provider account"
    );
    for (method, path, body, accepted) in operator_routes() {
        let response = app
            .call(Some(OPERATOR_KEY), method.clone(), path, &body)
            .await;
        assert_eq!(response.status(), accepted, "{method} {path}");
    }
    assert_eq!(
        app.onsim.reserved_numbers().len(),
        21,
        "the number was added"
    );
    let groups = app.get_json(OPERATOR_KEY, "/v1/groups").await;
    assert_eq!(field_of(&groups, "name"), set(&["OPERATOR_GROUP"]));

    // The header form does not matter, nor surrounding whitespace.
    let by_header = app
        .client
        .get(format!("{}/metrics", app.address))
        .header("X-API-Key", format!(" {OPERATOR_KEY} "))
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);

    // The operator is no tenant: tenant routes tell it so.
    for path in ["/v1/lines", "/v1/orders", "/v1/events"] {
        let response = app
            .call(Some(OPERATOR_KEY), Method::GET, path, &json!({}))
            .await;
        assert_problem(response, StatusCode::FORBIDDEN, "tenant_only").await;
    }
    app.app.stop().await;
}

#[tokio::test]
async fn without_an_operator_key_operator_routes_stay_closed() {
    let app = LineApp::start(None, false).await;
    for (method, path, body, _) in operator_routes() {
        let tenant = app
            .call(Some(&app.tenant_a), method.clone(), path, &body)
            .await;
        assert_problem(tenant, StatusCode::FORBIDDEN, "operator_only").await;
        let anonymous = app.call(None, method.clone(), path, &body).await;
        assert_problem(anonymous, StatusCode::UNAUTHORIZED, "missing_api_key").await;
        for guess in [OPERATOR_KEY, "", " "] {
            let refused = app.call(Some(guess), method.clone(), path, &body).await;
            assert_eq!(
                refused.status(),
                StatusCode::UNAUTHORIZED,
                "{path} {guess:?}"
            );
        }
    }
    assert_eq!(app.onsim.reserved_numbers().len(), 20);
    // Tenants keep their own view meanwhile.
    let free = app
        .get_json(&app.tenant_a, "/v1/numbers?state=reserved")
        .await;
    assert_eq!(free["data"].as_array().unwrap().len(), 20);
    app.app.stop().await;
}

#[tokio::test]
async fn metrics_need_the_operator_key_on_the_api_and_none_on_their_own_listener() {
    let app = LineApp::start(Some(OPERATOR_KEY), true).await;
    app.get_json(&app.tenant_a, "/v1/lines").await;
    let refused = app.call(None, Method::GET, "/metrics", &json!({})).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "missing_api_key").await;
    let served = app
        .call(Some(OPERATOR_KEY), Method::GET, "/metrics", &json!({}))
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    assert!(
        served.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = served.text().await.unwrap();
    assert!(text.contains("simgate_http_requests_total"), "{text}");

    let metrics_addr = app.app.metrics_addr().expect("metrics_listen is served");
    assert_ne!(metrics_addr, app.app.addr());
    let open = app
        .client
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    assert!(
        open.text()
            .await
            .unwrap()
            .contains("simgate_http_requests_total")
    );
    // That listener serves the metrics and nothing else.
    for path in ["/v1/lines", "/v1/numbers?state=reserved", "/healthz"] {
        let other = app
            .client
            .get(format!("http://{metrics_addr}{path}"))
            .bearer_auth(&app.tenant_a)
            .send()
            .await
            .unwrap();
        assert_problem(other, StatusCode::NOT_FOUND, "route_not_found").await;
    }
    app.app.stop().await;
}

#[tokio::test]
async fn a_weak_operator_key_stops_the_start_and_a_configured_one_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let weak = Settings {
        listen: ([127, 0, 0, 1], 0).into(),
        database_url: format!("sqlite://{}", dir.path().join("simgate.db").display()),
        admin_api_key: Some("short-key".into()),
        ..Settings::default()
    };
    let error = Application::start(&weak)
        .await
        .err()
        .expect("a short operator key is refused");
    assert!(error.to_string().contains("admin_api_key"), "{error}");
    assert!(!error.to_string().contains("short-key"));

    let configured = Settings {
        admin_api_key: Some(OPERATOR_KEY.into()),
        ..weak
    };
    assert!(!format!("{configured:?}").contains(OPERATOR_KEY));
    let serialized = serde_json::to_string(&configured).unwrap();
    assert!(!serialized.contains(OPERATOR_KEY), "{serialized}");
}
