//! `GET /organisation`, its balance top-up and its bundle groups, and the
//! API details at `GET /`.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::esim_go::routes::*;
use crate::esim_go::state::*;

/// All 19 fields of the document's organisation, written out here rather
/// than through the client's `Organisation` (which reads only what simgate
/// uses), so a name wrong in the client cannot hide here too.
pub(crate) async fn organisation(State(sandbox): State<EsimGoSandbox>) -> Json<Value> {
    let state = sandbox.lock();
    Json(json!({"organisations": [{
        "name": "simgate sandbox",
        "apiKey": state.config.api_key,
        "taxLiable": "false",
        "addr1": "1 Sandbox Street",
        "addr2": "",
        "city": "London",
        "country": "GB",
        "postcode": "SW1A 0AA",
        "callbackUrl": "",
        "notes": "",
        "groups": GROUPS,
        "currency": state.config.currency,
        "balance": (state.balance * 100.0).round() / 100.0,
        "testCredit": 0,
        "testCreditExpiry": "",
        "businessType": "Reseller",
        "website": "https://simgate.test",
        "productDescription": "simgate sandbox",
        "users": [{
            "firstName": "Sandbox",
            "lastName": "User",
            "role": "admin",
            "emailAddress": "sandbox@simgate.test",
            "phoneNumber": "",
            "timeZone": "UTC",
        }],
    }]}))
}

/// The bundle groups every sandbox organisation has.
const GROUPS: [&str; 2] = ["Standard Fixed", "Standard Unlimited Essential"];

#[derive(Debug, Deserialize)]
pub(crate) struct BalanceParams {
    pub(crate) amount: Option<String>,
}

/// Answers the document's `{amount, balance, ref}`, `ref` an integer.
pub(crate) async fn top_up_balance(
    State(sandbox): State<EsimGoSandbox>,
    Query(params): Query<BalanceParams>,
) -> Result<Json<Value>, Refusal> {
    let amount: u64 = params
        .amount
        .as_deref()
        .and_then(|a| a.parse().ok())
        .filter(|a| *a > 0)
        .ok_or_else(|| bad_request("amount must be a positive integer"))?;
    let mut state = sandbox.lock();
    state.balance += amount as f64;
    let reference = state.next_id;
    state.next_id += 1;
    Ok(Json(json!({
        "amount": amount,
        "balance": (state.balance * 100.0).round() / 100.0,
        "ref": reference,
    })))
}

/// The document's bare list of `{"name"}`.
pub(crate) async fn groups() -> Json<Value> {
    Json(Value::Array(
        GROUPS.iter().map(|name| json!({"name": name})).collect(),
    ))
}

/// `GET /`: the document's list of the API's endpoints, as strings.
pub(crate) async fn api_details() -> Json<Value> {
    Json(json!([
        "/catalogue",
        "/esims",
        "/inventory",
        "/networks",
        "/orders",
        "/organisation"
    ]))
}
