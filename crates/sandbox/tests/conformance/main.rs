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

mod esim_go;
mod others;
