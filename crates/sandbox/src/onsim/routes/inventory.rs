//! The reseller's numbers, SIMs and number ports.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use simgate_connectors::onsim::transform;
use simgate_domain::{InventoryState, Msisdn, SimKind};

use crate::onsim::routes::*;
use crate::onsim::state::*;
use simgate_connectors::onsim::types::{
    Message, NumberEntry, NumberList, OneOrMany, PortList, SimEntry, SimList,
};

pub(crate) async fn numbers(
    State(sandbox): State<OnsimSandbox>,
    Path(key): Path<String>,
) -> Answer {
    let wanted = transform::inventory_state(&key)
        .ok_or_else(|| bad_request("INVALID_STATE", "state must be ACTIVE or RESERVED"))?;
    let numbers = sandbox
        .lock()
        .numbers
        .iter()
        .filter(|(_, state)| **state == wanted)
        .map(|(mpn, state)| NumberEntry {
            mpn: mpn.clone(),
            state: Some(transform::inventory_segment(*state).to_owned()),
        })
        .collect();
    Ok(Json(NumberList { numbers }).into_response())
}

pub(crate) async fn add_number(
    State(sandbox): State<OnsimSandbox>,
    Path(key): Path<String>,
) -> Answer {
    if !key.bytes().all(|b| b.is_ascii_digit()) || Msisdn::parse(&key).is_err() {
        return Err(bad_request(
            "INVALID_MPN",
            "mpn must be an E.164 number without +",
        ));
    }
    let mut state = sandbox.lock();
    if state.numbers.contains_key(&key) || state.quarantined.contains(&key) {
        return Err(error(
            StatusCode::CONFLICT,
            "NUMBER_EXISTS",
            &format!("MPN {key} is already known"),
        ));
    }
    state.numbers.insert(key, InventoryState::Reserved);
    Ok((
        StatusCode::CREATED,
        Json(Message {
            message: "Number added".to_owned(),
        }),
    )
        .into_response())
}

pub(crate) async fn sims(
    State(sandbox): State<OnsimSandbox>,
    Path((state, kind)): Path<(String, String)>,
) -> Answer {
    let wanted = transform::inventory_state(&state)
        .ok_or_else(|| bad_request("INVALID_STATE", "state must be ACTIVE or RESERVED"))?;
    let kind = transform::sim_kind(&kind)
        .ok_or_else(|| bad_request("INVALID_TYPE", "type must be ALL, eSIM or pSIM"))?;
    let sims = sandbox
        .lock()
        .sims
        .iter()
        .filter(|(_, sim)| sim.state == wanted && (kind == SimKind::All || sim.kind == kind))
        .map(|(short, sim)| SimEntry {
            iccid: short.clone(),
            kind: transform::sim_kind_segment(sim.kind).to_owned(),
            state: Some(transform::inventory_segment(sim.state).to_owned()),
            mpn: sim.mpn.clone(),
        })
        .collect();
    Ok(Json(SimList { sims }).into_response())
}

pub(crate) async fn list_ports(
    State(sandbox): State<OnsimSandbox>,
    Path(state): Path<String>,
) -> Answer {
    let wanted = state.trim().to_ascii_uppercase();
    let valid = [
        "ALL",
        "INITIAL",
        "IN PROGRESS",
        "FAILED",
        "COMPLETE",
        "CLOSED",
    ];
    if !valid.contains(&wanted.as_str()) {
        return Err(bad_request(
            "INVALID_STATE",
            "state must be one of ALL, INITIAL, IN PROGRESS, FAILED, COMPLETE, CLOSED",
        ));
    }
    let ports = sandbox
        .lock()
        .ports
        .values()
        .filter(|p| wanted == "ALL" || p.status == wanted)
        .cloned()
        .collect();
    Ok(Json(PortList {
        port: OneOrMany::Many(ports),
    })
    .into_response())
}

pub(crate) async fn port(State(sandbox): State<OnsimSandbox>, Path(id): Path<String>) -> Answer {
    sandbox
        .lock()
        .ports
        .get(&id)
        .map(|port| Json(port.clone()).into_response())
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "PORT_NOT_FOUND",
                &format!("No port {id}"),
            )
        })
}
