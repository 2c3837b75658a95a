//! Conformance test (b): every simulator answers every endpoint of its
//! provider's document with the field names and JSON types of the fixtures
//! transcribed by hand from that document (`tests/fixtures/<provider>/`).
//!
//! The fixtures never come from our types, so a field misnamed on both sides
//! of the shared `types.rs` shows up here. The comparison is structural:
//! every documented field must be present with the same JSON type,
//! recursively (into the first element of arrays); a field the document lacks
//! is allowed only where the provider's `index.json` lists it under
//! `extra_fields` with a reason. A `null` in a fixture (no type published) and
//! an empty object (collapsed by the document's renderer) match anything of
//! their kind; a `null` from the simulator is a value not known yet (an
//! unstarted bundle's `endTime`, an unshipped order's `tracking_url`) and
//! matches any type, and an empty list cannot be compared further. Endpoints without a JSON answer are checked for status and
//! content type. Each simulator is driven over real HTTP with its documented
//! auth.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{Value, json};
use simgate_connectors::esim_story::client::{
    ACCESS_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature,
};
use simgate_domain::SimKind;
use simgate_sandbox::esim_go::{EsimGoSandbox, SandboxConfig};
use simgate_sandbox::esim_story::{EsimStorySandbox, ORDERS_PATH, StorySandboxConfig};
use simgate_sandbox::onsim::{DEFAULT_API_KEY as ONSIM_KEY, OnsimSandbox, OnsimSandboxConfig};
use simgate_sandbox::sim_local::{SimLocalSandbox, SimLocalSandboxConfig, TOKEN_PATH};
use simgate_sandbox::simulator::SimulatorHandle;
use simgate_sandbox::telnyx::{DEFAULT_API_KEY as TELNYX_KEY, TelnyxSandbox, TelnyxSandboxConfig};
use tokio::net::TcpListener;

/// A provider's `index.json`.
#[derive(Debug, Deserialize)]
struct Index {
    endpoints: Vec<Endpoint>,
}

/// One documented endpoint (or a variant of one) of an `index.json`.
#[derive(Debug, Deserialize)]
struct Endpoint {
    method: String,
    path: String,
    summary: String,
    status: u16,
    response: Option<String>,
    #[serde(default)]
    variant: bool,
    /// Fields the simulator sends beyond the document's example, by path
    /// (`a.b`, `list[].c`), each with the reason it is kept.
    #[serde(default)]
    extra_fields: BTreeMap<String, String>,
}

impl Endpoint {
    /// Webhooks the provider sends us and the catch-all error row are not
    /// endpoints a simulator serves.
    fn served(&self) -> bool {
        self.path.starts_with('/') && !self.summary.contains("provider to us")
    }
}

fn fixtures(provider: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(provider)
}

fn load(provider: &str, file: &str) -> Value {
    let path = fixtures(provider).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn index(provider: &str) -> Vec<Endpoint> {
    let index: Index = serde_json::from_value(load(provider, "index.json")).unwrap();
    index.endpoints
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The structural comparison; every difference is pushed to `out`.
fn compare(
    doc: &Value,
    got: &Value,
    at: &str,
    extras: &BTreeMap<String, String>,
    out: &mut Vec<String>,
) {
    let name = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match (doc, got) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(doc), Value::Object(got)) => {
            if doc.is_empty() {
                return;
            }
            for (key, documented) in doc {
                match got.get(key) {
                    Some(value) => compare(documented, value, &name(key), extras, out),
                    None => out.push(format!("missing `{}`", name(key))),
                }
            }
            for key in got.keys().filter(|k| !doc.contains_key(*k)) {
                if !extras.contains_key(&name(key)) {
                    out.push(format!("undocumented `{}`", name(key)));
                }
            }
        }
        (Value::Array(doc), Value::Array(got)) => {
            if let (Some(first), Some(value)) = (doc.first(), got.first()) {
                compare(first, value, &format!("{at}[]"), extras, out);
            }
        }
        _ if kind(doc) == kind(got) => {}
        _ => out.push(format!(
            "`{at}` is {} ({got}), the document has {}",
            kind(got),
            kind(doc)
        )),
    }
}

/// How a simulator wants to be called.
enum Auth {
    Header(&'static str, String),
    Bearer(String),
    Story { access: String, secret: String },
}

/// One request of a conformance run; `summary` names the `index.json` entry
/// it checks (`None` for a step that only prepares state).
struct Call {
    summary: Option<&'static str>,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    raw_body: Option<&'static str>,
    accept: Option<&'static str>,
    /// The content type expected when the endpoint has no JSON fixture.
    content_type: Option<&'static str>,
    auth: bool,
}

fn call(summary: &'static str, method: &str, path: impl Into<String>) -> Call {
    Call {
        summary: Some(summary),
        method: method.parse().unwrap(),
        path: path.into(),
        body: None,
        raw_body: None,
        accept: None,
        content_type: None,
        auth: true,
    }
}

fn setup(method: &str, path: impl Into<String>, body: Value) -> Call {
    Call {
        summary: None,
        body: Some(body),
        ..call("", method, path)
    }
}

impl Call {
    fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    fn raw(mut self, body: &'static str) -> Self {
        self.raw_body = Some(body);
        self
    }
    fn accept(mut self, accept: &'static str) -> Self {
        self.accept = Some(accept);
        self
    }
    fn answers(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }
    fn unauthenticated(mut self) -> Self {
        self.auth = false;
        self
    }
}

/// Drives one simulator through its calls and checks each answer against
/// the provider's index and fixtures.
struct Run {
    provider: &'static str,
    base: String,
    auth: Auth,
    http: reqwest::Client,
    endpoints: Vec<Endpoint>,
    covered: BTreeSet<String>,
    problems: Vec<String>,
}

impl Run {
    fn new(provider: &'static str, handle: &SimulatorHandle, auth: Auth) -> Self {
        Self {
            provider,
            base: handle.base_url(),
            auth,
            http: reqwest::Client::new(),
            endpoints: index(provider),
            covered: BTreeSet::new(),
            problems: Vec::new(),
        }
    }

    /// Sends a call, checks it if it names an endpoint, and answers its body
    /// (JSON, or `Null` when it is not JSON).
    async fn send(&mut self, call: Call) -> Value {
        let mut request = self
            .http
            .request(call.method.clone(), format!("{}{}", self.base, call.path));
        if call.auth {
            request = match &self.auth {
                Auth::Header(name, value) => request.header(*name, value),
                Auth::Bearer(token) => request.bearer_auth(token),
                Auth::Story { access, secret } => {
                    let now = chrono::Utc::now().timestamp();
                    let path = call.path.split('?').next().unwrap_or_default();
                    let signed =
                        signature(call.method.as_str(), path, now, access, secret).unwrap();
                    request
                        .header(ACCESS_KEY_HEADER, access)
                        .header(SIGNATURE_HEADER, signed)
                        .header(TIMESTAMP_HEADER, now.to_string())
                }
            };
        }
        if let Some(accept) = call.accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        if let Some(raw) = call.raw_body {
            request = request.header(CONTENT_TYPE, "application/json").body(raw);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let Some(summary) = call.summary else {
            assert!(
                (200..300).contains(&status),
                "{} setup {} {}: {status} {}",
                self.provider,
                call.method,
                call.path,
                String::from_utf8_lossy(&bytes)
            );
            return body;
        };
        let Some(endpoint) = self.endpoints.iter().find(|e| e.summary == summary) else {
            panic!("{}: no index entry `{summary}`", self.provider);
        };
        self.covered.insert(summary.to_owned());
        let label = format!("{} {} `{summary}`", self.provider, call.method);
        if status != endpoint.status {
            self.problems.push(format!(
                "{label}: status {status}, documented {} ({})",
                endpoint.status,
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ));
            return body;
        }
        if let Some(file) = &endpoint.response {
            if !content_type.starts_with("application/json") {
                self.problems
                    .push(format!("{label}: content type `{content_type}`, not JSON"));
            }
            let documented = load(self.provider, file);
            let mut out = Vec::new();
            compare(&documented, &body, "", &endpoint.extra_fields, &mut out);
            self.problems
                .extend(out.into_iter().map(|p| format!("{label}: {p}")));
        } else if let Some(expected) = call.content_type
            && !content_type.starts_with(expected)
        {
            self.problems.push(format!(
                "{label}: content type `{content_type}`, documented `{expected}`"
            ));
        }
        body
    }

    /// Every served endpoint of the document was called (a variant of the
    /// same method and path stands for its main entry) and every answer
    /// matched.
    fn finish(self) {
        let mut problems = self.problems;
        for endpoint in self.endpoints.iter().filter(|e| e.served() && !e.variant) {
            let by_variant = self.endpoints.iter().any(|v| {
                v.variant
                    && v.method == endpoint.method
                    && v.path == endpoint.path
                    && v.status == endpoint.status
                    && self.covered.contains(&v.summary)
            });
            if !self.covered.contains(&endpoint.summary) && !by_variant {
                problems.push(format!(
                    "{}: `{}` ({} {}) never called",
                    self.provider, endpoint.summary, endpoint.method, endpoint.path
                ));
            }
        }
        assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
    }
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

const JP_1GB: &str = "esim_1GB_7D_JP_V2";

#[tokio::test]
async fn esim_go_serves_every_documented_endpoint() {
    let config = SandboxConfig::default();
    let key = config.api_key.clone();
    let sandbox = EsimGoSandbox::new(config);
    let handle = sandbox.spawn(listener().await).unwrap();
    let mut run = Run::new("esim-go", &handle, Auth::Header("x-api-key", key));

    run.send(call("Get API details", "GET", "/")).await;
    run.send(call(
        "Get Bundle catalogue (live shape)",
        "GET",
        "/catalogue",
    ))
    .await;
    run.send(call(
        "Get Bundle details from catalogue",
        "GET",
        format!("/catalogue/bundle/{JP_1GB}"),
    ))
    .await;
    run.send(call("Get Country Network Data", "GET", "/networks?isos=JP"))
        .await;

    let order = json!({"type": "transaction", "assign": true, "Order": [
        {"type": "bundle", "quantity": 1, "item": JP_1GB, "allowReassign": false}]});
    let created = run
        .send(call("Create orders", "POST", "/orders").json(order))
        .await;
    let reference = created["orderReference"].as_str().unwrap().to_owned();
    let iccid = created["order"][0]["esims"][0]["iccid"]
        .as_str()
        .unwrap()
        .to_owned();
    run.send(call("List orders", "GET", "/orders")).await;
    run.send(call(
        "Get order detail",
        "GET",
        format!("/orders/{reference}"),
    ))
    .await;

    let stock = json!({"type": "transaction", "assign": false, "Order": [
        {"type": "bundle", "quantity": 3, "item": JP_1GB, "allowReassign": false}]});
    run.send(setup("POST", "/orders", stock)).await;
    let inventory = run
        .send(call("Get bundle inventory", "GET", "/inventory"))
        .await;
    let lot = inventory["bundles"][0]["available"][0]["id"].clone();
    run.send(
        call("Refund bundle from inventory", "POST", "/inventory/refund")
            .json(json!({"usageId": lot, "quantity": 1})),
    )
    .await;
    run.send(
        call("Apply Bundle to an eSIM", "POST", "/esims/apply")
            .json(json!({"iccid": iccid, "bundle": JP_1GB})),
    )
    .await;
    run.send(
        call(
            "Apply a Bundle to an eSIM (Deprecated)",
            "POST",
            format!("/esims/{iccid}/bundles"),
        )
        .json(json!({"name": JP_1GB, "repeat": 1})),
    )
    .await;

    let listed = run.send(call("List eSIMs", "GET", "/esims")).await;
    let filtered = run
        .send(call(
            "List eSIMs",
            "GET",
            format!("/esims?filterBy=iccid&filter={iccid}&direction=asc&orderBy=iccid"),
        ))
        .await;
    assert!(listed["esims"].as_array().is_some_and(|l| !l.is_empty()));
    let matched = filtered["esims"].as_array().unwrap();
    assert_eq!(matched.len(), 1, "{filtered}");
    assert_eq!(matched[0]["iccid"], iccid.as_str());
    run.send(
        call("Update eSIM Details", "PUT", "/esims")
            .json(json!({"iccid": iccid, "customerRef": "customer-1"})),
    )
    .await;
    run.send(
        call(
            "Get eSIM Install Details",
            "GET",
            format!("/esims/assignments?reference={reference}"),
        )
        .answers("text/csv"),
    )
    .await;
    run.send(
        call(
            "Get eSIM Install Details",
            "GET",
            format!("/esims/assignments?reference={reference}"),
        )
        .accept("application/zip")
        .answers("application/zip"),
    )
    .await;
    run.send(
        call(
            "Get QR codes (Deprecated)",
            "GET",
            format!("/esims/qr/{reference}"),
        )
        .answers("application/zip"),
    )
    .await;
    run.send(
        call(
            "Get CSV of eSIMs (Deprecated)",
            "GET",
            format!("/esims/csv/{reference}"),
        )
        .answers("text/csv"),
    )
    .await;

    run.send(call("Get eSIM details", "GET", format!("/esims/{iccid}")))
        .await;
    run.send(call(
        "Get eSIM history",
        "GET",
        format!("/esims/{iccid}/history"),
    ))
    .await;
    run.send(call(
        "Refresh eSIM",
        "GET",
        format!("/esims/{iccid}/refresh"),
    ))
    .await;
    run.send(call(
        "Get eSIM Location",
        "GET",
        format!("/esims/{iccid}/location"),
    ))
    .await;
    run.send(call(
        "Check eSIM and Bundle Compatibility",
        "GET",
        format!("/esims/{iccid}/compatible/{JP_1GB}"),
    ))
    .await;
    run.send(
        call("Send SMS to eSIM", "POST", format!("/esims/{iccid}/sms"))
            .json(json!({"message": "message", "from": "eSIM"})),
    )
    .await;
    run.send(call(
        "Get applied Bundle status",
        "GET",
        format!("/esims/{iccid}/bundles/{JP_1GB}"),
    ))
    .await;
    let applied = run
        .send(call(
            "List Bundles applied to eSIM",
            "GET",
            format!("/esims/{iccid}/bundles"),
        ))
        .await;
    let assignments = applied["bundles"][0]["assignments"].as_array().unwrap();
    let ids: Vec<String> = assignments
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 3, "{applied}");
    run.send(call(
        "Revoke specific Bundle",
        "DELETE",
        format!(
            "/esims/{iccid}/bundles/{JP_1GB}/assignments/{}",
            ids[ids.len() - 1]
        ),
    ))
    .await;
    run.send(call(
        "Revoke a specific Bundle Assignment (Deprecated)",
        "DELETE",
        format!(
            "/esims/{iccid}/bundles/{JP_1GB}/applications/{}",
            ids[ids.len() - 2]
        ),
    ))
    .await;
    run.send(call(
        "Revoke applied Bundle",
        "DELETE",
        format!("/esims/{iccid}/bundles/{JP_1GB}"),
    ))
    .await;

    run.send(call(
        "Get Current Organisation Details",
        "GET",
        "/organisation",
    ))
    .await;
    run.send(call(
        "Topup Organisation Balance",
        "POST",
        "/organisation/balance?amount=100",
    ))
    .await;
    run.send(call("Get Bundle Groups", "GET", "/organisation/groups"))
        .await;
    run.finish();
    handle.shutdown().await;
}

#[tokio::test]
async fn sim_local_serves_every_documented_endpoint() {
    let config = SimLocalSandboxConfig::default();
    let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
    let sandbox = SimLocalSandbox::new(config);
    let handle = sandbox.spawn(listener().await).unwrap();
    let token: Value = reqwest::Client::new()
        .post(format!("{}{TOKEN_PATH}", handle.base_url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let mut run = Run::new("sim-local", &handle, Auth::Bearer(token));

    run.send(call("Get destinations", "GET", "/destinations"))
        .await;
    let offerings = run
        .send(call("Get product offerings", "GET", "/product-offerings"))
        .await;
    run.send(call("Get faulty reasons", "GET", "/faulty-reasons"))
        .await;
    let mut order = load("sim-local", "POST_orders_request.json");
    order["item"] = json!({"product_offering_id": offerings[0]["id"]});
    order["payment_details"] = json!({"method": "invoice"});
    order["kyc_details"] = json!({"verified": true});
    let created = run
        .send(call("Create order", "POST", "/orders?synchronous=true").json(order.clone()))
        .await;
    for kept in [
        "payment_details",
        "kyc_details",
        "contact_name",
        "contact_email",
    ] {
        assert_eq!(created[kept], order[kept], "{kept}");
    }
    let id = created["id"].as_str().unwrap().to_owned();
    let reference = order["external_reference"].as_str().unwrap();
    run.send(call(
        "Search order(s) by external reference",
        "GET",
        format!("/orders?external_reference={reference}"),
    ))
    .await;
    run.send(call("Get order by ID", "GET", format!("/orders/{id}")))
        .await;
    let reasons: Value = load("sim-local", "GET_faulty-reasons_200.json");
    let reason = reasons[0].as_str().unwrap_or("OTHER");
    run.send(call(
        "Report faulty order",
        "POST",
        format!("/orders/{id}/faulty?reason={reason}&note=conformance"),
    ))
    .await;
    run.finish();
    handle.shutdown().await;
}

#[tokio::test]
async fn esim_story_serves_every_documented_endpoint() {
    let config = StorySandboxConfig::default();
    let auth = Auth::Story {
        access: config.access_key.clone(),
        secret: config.secret_key.clone(),
    };
    let sandbox = EsimStorySandbox::new(config);
    let options = sandbox.options();
    let handle = sandbox.spawn(listener().await).unwrap();
    let mut run = Run::new("esim-story", &handle, auth);
    let order = json!({"external_order_id": "ORDER-123456", "products": [
        {"option_id": options[0].option_id, "qty": 1},
        {"option_id": options[1].option_id, "qty": 2}]});
    run.send(call("Create order", "POST", ORDERS_PATH).json(order.clone()))
        .await;
    run.send(
        call("Create order: qty 2 example", "POST", ORDERS_PATH).json(json!({
            "external_order_id": "ORDER-123457",
            "products": [{"option_id": options[0].option_id, "qty": 2}]})),
    )
    .await;
    run.send(call("Create order: bad JSON", "POST", ORDERS_PATH).raw("{not json"))
        .await;
    run.send(
        call("Create order: unauthorized", "POST", ORDERS_PATH)
            .json(order.clone())
            .unauthenticated(),
    )
    .await;
    run.send(call("Create order: validation", "POST", ORDERS_PATH).json(order))
        .await;
    run.send(
        call("Create order: validation", "POST", ORDERS_PATH)
            .json(json!({"products": [{"option_id": options[0].option_id, "qty": 1}]})),
    )
    .await;
    run.send(
        call("Create order: validation", "POST", ORDERS_PATH).json(json!({
            "external_order_id": "ORDER-123458",
            "products": [{"option_id": options[0].option_id, "qty": -1}]})),
    )
    .await;
    run.finish();
    handle.shutdown().await;
}

#[tokio::test]
async fn telnyx_serves_every_documented_endpoint() {
    let sandbox = TelnyxSandbox::new(TelnyxSandboxConfig::default());
    let handle = sandbox.spawn(listener().await).unwrap();
    let mut run = Run::new("telnyx", &handle, Auth::Bearer(TELNYX_KEY.to_owned()));
    let address = run
        .send(setup(
            "POST",
            "/addresses",
            json!({"first_name": "Jane", "last_name": "Doe", "business_name": "Acme",
                   "street_address": "311 W Superior St", "locality": "Chicago",
                   "administrative_area": "IL", "postal_code": "60654", "country_code": "US"}),
        ))
        .await;
    let address_id = address["data"]["id"].clone();
    let mut body = load("telnyx", "POST_sim_card_order_preview_request.json");
    body["address_id"] = address_id.clone();
    run.send(call("Preview SIM card orders", "POST", "/sim_card_order_preview").json(body))
        .await;
    let mut body = load("telnyx", "POST_sim_card_orders_request.json");
    body["address_id"] = address_id;
    let created = run
        .send(call("Create a SIM card order", "POST", "/sim_card_orders").json(body))
        .await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    run.send(call("Get all SIM card orders", "GET", "/sim_card_orders"))
        .await;
    run.send(call(
        "Get a single SIM card order",
        "GET",
        format!("/sim_card_orders/{id}"),
    ))
    .await;
    run.send(call(
        "Get a single SIM card order: not found",
        "GET",
        "/sim_card_orders/6a09cdc3-8948-47f0-aa62-74ac943d6c58",
    ))
    .await;
    run.finish();
    handle.shutdown().await;
}

#[tokio::test]
async fn onsim_serves_every_documented_endpoint() {
    let sandbox = OnsimSandbox::new(OnsimSandboxConfig::default());
    let numbers = sandbox.reserved_numbers();
    let esims = sandbox.reserved_sims(SimKind::Esim);
    let handle = sandbox.spawn(listener().await).unwrap();
    let mut run = Run::new("onsim", &handle, Auth::Bearer(ONSIM_KEY.to_owned()));
    let short = |iccid: &simgate_domain::Iccid| iccid.as_str()[..19].to_owned();

    run.send(call(
        "Reseller - List Product Catalogue",
        "GET",
        "/reseller/catalogue",
    ))
    .await;
    let mut body = load("onsim", "POST_reseller_groups_request.json");
    body["name"] = json!("CUSTOMERA");
    run.send(call("Reseller - Add Group", "POST", "/reseller/groups").json(body))
        .await;
    run.send(call("Reseller - List Groups", "GET", "/reseller/groups").answers("application/json"))
        .await;

    let (own, onsim) = (
        numbers[0].as_str().to_owned(),
        numbers[1].as_str().to_owned(),
    );
    let mut body = load("onsim", "POST_reseller_provision_request.json");
    body["mpn"] = json!(own);
    body["iccid"] = json!(short(&esims[0]));
    run.send(
        call(
            "Reseller - Provision Account (own UC)",
            "POST",
            "/reseller/provision",
        )
        .json(body),
    )
    .await;
    let mut body = load("onsim", "POST_reseller_provision-onsim_request.json");
    body["mpn"] = json!(onsim);
    body["iccid"] = json!(short(&esims[1]));
    body["group_name"] = json!("CUSTOMERA");
    run.send(
        call(
            "Reseller - Provision Account (ONSIM UC)",
            "POST",
            "/reseller/provision-onsim",
        )
        .json(body),
    )
    .await;

    run.send(call(
        "Account - Get Info (object form)",
        "GET",
        format!("/account/{own}"),
    ))
    .await;
    run.send(call(
        "Account - Update Bundle",
        "POST",
        format!("/account/{own}/bundle/2GB"),
    ))
    .await;
    run.send(
        call(
            "Manage Account Recording",
            "POST",
            format!("/account/{own}/recording"),
        )
        .json(load("onsim", "POST_account_mpn_recording_request.json")),
    )
    .await;
    let mut body = load("onsim", "POST_account_pbxinfo_mpn_request.json");
    body["mpn"] = json!(own);
    run.send(
        call(
            "Account - Update Mobile Settings",
            "POST",
            format!("/account/pbxinfo/{own}"),
        )
        .json(body),
    )
    .await;
    let esim = run
        .send(
            call("Account - eSIM", "POST", "/account/esim")
                .json(json!({"mpn": own, "refresh_code": 0})),
        )
        .await;
    let code = esim["esim_code"]
        .as_str()
        .unwrap_or("LPA:1$smdp$code")
        .to_owned();
    run.send(
        call("Account - Generate QR", "POST", "/account/esim/generate")
            .json(json!({"esim_code": code})),
    )
    .await;
    run.send(
        call(
            "Reseller - List Subscribers",
            "POST",
            "/reseller/subscribers",
        )
        .json(json!({"state": "PROVISIONED"}))
        .answers("application/json"),
    )
    .await;
    run.send(
        call("Numbers - List all numbers", "GET", "/numbers/RESERVED").answers("application/json"),
    )
    .await;
    run.send(call(
        "Numbers - Add a number",
        "POST",
        "/numbers/447700955501",
    ))
    .await;
    run.send(call("SIMs - List all sims", "GET", "/sims/RESERVED/ALL").answers("application/json"))
        .await;
    run.send(call("Porting - Lookup Port", "GET", "/port/1001"))
        .await;
    run.send(call("Porting - List All Ports", "GET", "/port/all/ALL"))
        .await;
    run.send(
        call("Account - Cease Account", "DELETE", "/account")
            .json(json!({"iccid": short(&esims[0])})),
    )
    .await;
    run.finish();
    handle.shutdown().await;
}
