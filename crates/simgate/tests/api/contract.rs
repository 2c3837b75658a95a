//! The served OpenAPI document keeps the promises generators and fuzzers
//! rely on (CI also runs `openapi-spec-validator` and schemathesis on it:
//! `.ci/contract.sh`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use simgate_domain::OutboundEvent;

use crate::helpers::TestApp;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every operation of the document, as (method, path, operation).
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

/// Collects what breaks a promise, so one run names every offender.
#[derive(Default)]
struct Broken(Vec<String>);

impl Broken {
    fn check(&mut self, holds: bool, what: impl FnOnce() -> String) {
        if !holds {
            self.0.push(what());
        }
    }
}

#[tokio::test]
async fn the_openapi_document_keeps_its_promises() {
    let app = TestApp::spawn().await;
    let spec = app.get_json("/openapi.json").await;
    let mut broken = Broken::default();

    broken.check(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        || format!("openapi is {}, not 3.1.x", spec["openapi"]),
    );
    broken.check(
        spec["servers"].as_array().is_some_and(|s| !s.is_empty()),
        || "no servers".to_owned(),
    );
    let schemes = &spec["components"]["securitySchemes"];
    for scheme in ["tenantKey", "operatorKey"] {
        broken.check(schemes[scheme]["scheme"] == "bearer", || {
            format!("no bearer security scheme {scheme}")
        });
    }
    broken.check(
        spec["components"]["schemas"]["Problem"]["properties"]["request_id"].is_object(),
        || "Problem has no request_id".to_owned(),
    );
    broken.check(
        spec["components"]["schemas"]["Problem"]["examples"][0]["code"].is_string(),
        || "Problem has no example".to_owned(),
    );

    // Every event a reseller's endpoint can receive, with its payload.
    let webhooks = &spec["webhooks"];
    for event_type in OutboundEvent::TYPES {
        broken.check(
            webhooks[event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
                ["$ref"]
                == "#/components/schemas/EventBody",
            || format!("webhook {event_type} is not documented with EventBody"),
        );
        broken.check(
            spec["components"]["schemas"]
                .to_string()
                .contains(&format!("\"{event_type}\"")),
            || format!("no schema names the event type {event_type}"),
        );
    }

    let operations = operations(&spec);
    assert!(operations.len() > 40, "the document lists the operations");
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for (method, path, operation) in &operations {
        let at = format!("{} {path}", method.to_uppercase());
        let id = operation["operationId"].as_str().unwrap_or_default();
        *ids.entry(id.to_owned()).or_default() += 1;
        broken.check(
            id.len() > 4 && id.chars().next().is_some_and(|c| c.is_ascii_lowercase()),
            || format!("{at}: operationId {id:?} is not a descriptive camelCase name"),
        );

        // Path parameters are exactly the template's; the rest are query or header.
        let template: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        let mut declared = BTreeSet::new();
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().unwrap_or_default();
            match parameter["in"].as_str() {
                Some("path") => {
                    declared.insert(name);
                    broken.check(template.contains(name), || {
                        format!("{at}: {name} is declared in the path but is not in it")
                    });
                }
                Some("query" | "header") => {}
                other => broken.push(format!("{at}: {name} is in {other:?}")),
            }
        }
        broken.check(declared == template, || {
            format!("{at}: path parameters {declared:?}, template {template:?}")
        });

        // Who may call it.
        let security: Vec<String> = operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|requirement| requirement.as_object())
            .flat_map(|requirement| requirement.keys().cloned())
            .collect();
        let keyless = path == "/healthz" || path == "/readyz" || path.starts_with("/v1/webhooks/");
        broken.check(keyless || !security.is_empty(), || {
            format!("{at}: no security requirement")
        });
        broken.check(
            security
                .iter()
                .all(|scheme| scheme == "tenantKey" || scheme == "operatorKey"),
            || format!("{at}: unknown security scheme in {security:?}"),
        );

        // Every answer described; every error a problem.
        let responses = operation["responses"].as_object().expect("responses");
        for (status, response) in responses {
            broken.check(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.trim().is_empty()),
                || format!("{at} {status}: no description"),
            );
            let is_error = status.starts_with('4') || status.starts_with('5');
            let health = path == "/healthz" && status == "503";
            if is_error && !health {
                let problem = &response["content"]["application/problem+json"]["schema"]["$ref"];
                broken.check(problem == "#/components/schemas/Problem", || {
                    format!("{at} {status}: not an application/problem+json Problem")
                });
            }
        }
        let mut expected = vec!["400", "408", "413", "414", "431", "500"];
        if !security.is_empty() {
            expected.push("401");
        }
        if security == ["tenantKey"] || security == ["operatorKey"] {
            expected.push("403");
        }
        if !template.is_empty() {
            expected.push("404");
        }
        if operation.get("requestBody").is_some() {
            expected.extend(["415", "422"]);
        }
        for status in expected {
            broken.check(responses.contains_key(status), || {
                format!("{at}: {status} is not documented")
            });
        }
    }
    for (id, count) in ids {
        broken.check(count == 1, || {
            format!("operationId {id} is used {count} times")
        });
    }

    // Operator-only operations say so.
    for (method, path) in [
        ("get", "/metrics"),
        ("post", "/v1/numbers"),
        ("get", "/v1/groups"),
    ] {
        broken.check(
            spec["paths"][path][method]["security"] == serde_json::json!([{ "operatorKey": [] }]),
            || format!("{method} {path} is not operator-only"),
        );
    }

    // A created order leads to its eSIM.
    let created = &spec["paths"]["/v1/orders"]["post"]["responses"]["201"]["links"]["getEsim"];
    broken.check(
        created["operationId"] == "getEsim"
            && created["parameters"]["iccid"] == "$response.body#/esims/0",
        || format!("createOrder does not link to getEsim: {created}"),
    );

    // The README's flow has examples a reader (or a generated client's
    // docs) can follow.
    let schemas = &spec["components"]["schemas"];
    for (schema, property) in [
        ("CreateOrder", "product_id"),
        ("ProductView", "id"),
        ("OrderView", "id"),
        ("EsimView", "activation_code"),
    ] {
        broken.check(
            schemas[schema]["properties"][property]["example"].is_string()
                || schemas[schema]["example"].is_object(),
            || format!("{schema} has no example"),
        );
    }

    assert!(
        broken.0.is_empty(),
        "{} broken promises:\n{}",
        broken.0.len(),
        broken.0.join("\n")
    );
}

impl Broken {
    fn push(&mut self, what: String) {
        self.0.push(what);
    }
}
