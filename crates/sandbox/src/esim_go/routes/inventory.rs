//! `GET /inventory`, `POST /inventory/refund` and `POST /esims/apply`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use simgate_connectors::esim_go::types::*;

use crate::esim_go::routes::*;
use crate::esim_go::state::*;

pub(crate) async fn inventory(State(sandbox): State<EsimGoSandbox>) -> Answer<Inventory> {
    let state = sandbox.lock();
    let mut bundles: BTreeMap<String, InventoryBundle> = BTreeMap::new();
    for lot in state.inventory.iter().filter(|l| l.remaining > 0) {
        let Some(bundle) = state.bundle(&lot.bundle) else {
            continue;
        };
        bundles
            .entry(lot.bundle.clone())
            .or_insert_with(|| InventoryBundle {
                name: bundle.name.clone(),
                desc: bundle.description.clone(),
                available: Vec::new(),
                countries: bundle.countries.iter().map(|c| c.iso.clone()).collect(),
                data: bundle.data_amount,
                duration: bundle.duration,
                duration_unit: "day".to_owned(),
                autostart: bundle.autostart,
                unlimited: bundle.unlimited,
                speed: bundle.speed.clone(),
            })
            .available
            .push(InventoryLot {
                id: lot.id,
                total: lot.total,
                remaining: lot.remaining,
                expiry: None,
            });
    }
    Ok(Json(Inventory {
        bundles: bundles.into_values().collect(),
    }))
}

pub(crate) async fn refund_inventory(
    State(sandbox): State<EsimGoSandbox>,
    request: Result<Json<InventoryRefund>, JsonRejection>,
) -> Answer<MessageResponse> {
    let refund = body(request)?;
    let mut state = sandbox.lock();
    let lot = state
        .inventory
        .iter_mut()
        .find(|l| l.id == refund.usage_id)
        .ok_or_else(|| bad_request("Unknown usageId"))?;
    if refund.quantity < 1 || refund.quantity > lot.remaining {
        return Err(bad_request("Quantity exceeds the remaining quantity"));
    }
    lot.remaining -= refund.quantity;
    let credit = lot.price * refund.quantity as f64;
    state.balance += credit;
    Ok(Json(MessageResponse {
        message: format!("Refunded {} bundle(s)", refund.quantity),
    }))
}

pub(crate) async fn apply_bundle(
    State(sandbox): State<EsimGoSandbox>,
    request: Result<Json<ApplyBundle>, JsonRejection>,
) -> Answer<ApplyResponse> {
    apply(&sandbox, &body(request)?)
}

/// `POST /esims/{iccid}/bundles` (deprecated): applies one bundle (`name`)
/// from inventory to the eSIM of the path, answering `{"status"}`. Its
/// documented `repeat: 1` means once, so it is read as no repeat.
pub(crate) async fn apply_deprecated(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
    request: Result<Json<ApplyBundle>, JsonRejection>,
) -> Answer<StatusResponse> {
    let request = body(request)?;
    if request.repeat.is_some_and(|r| r > 1) {
        return Err(bad_request(
            "repeat is not supported on this deprecated operation",
        ));
    }
    let one = ApplyBundle {
        iccid: Some(iccid),
        repeat: None,
        ..request
    };
    let Json(applied) = apply(&sandbox, &one)?;
    let status = applied
        .esims
        .first()
        .map_or_else(|| "Successfully Assigned".to_owned(), |e| e.status.clone());
    Ok(Json(StatusResponse { status }))
}

/// Applies bundles from inventory, as `POST /esims/apply` documents.
fn apply(sandbox: &EsimGoSandbox, apply: &ApplyBundle) -> Answer<ApplyResponse> {
    let names: Vec<String> = match (&apply.bundle, apply.bundles.is_empty()) {
        (Some(one), true) => vec![one.clone(); apply.repeat.unwrap_or(1).max(1) as usize],
        (None, false) => apply.bundles.clone(),
        _ => return Err(bad_request("Provide either bundle or bundles")),
    };
    if apply.iccid.is_some() && (apply.repeat.is_some() || names.len() > 1) {
        return Err(bad_request(
            "An ICCID cannot be combined with repeat or several bundles",
        ));
    }
    let mut state = sandbox.lock();
    if let Some(iccid) = &apply.iccid
        && !state.esims.contains_key(iccid)
    {
        return Err(not_yours());
    }
    for name in &names {
        let available: i64 = state
            .inventory
            .iter()
            .filter(|l| &l.bundle == name)
            .map(|l| l.remaining)
            .sum();
        let needed = names.iter().filter(|n| *n == name).count() as i64;
        if available < needed {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "No bundles left in inventory",
            ));
        }
    }
    let now = Utc::now();
    let reference = uuid::Uuid::new_v4().to_string();
    let mut applied = Vec::new();
    for name in &names {
        let bundle = state
            .bundle(name)
            .ok_or_else(|| bad_request(format!("Bundle {name} not found")))?;
        if let Some(lot) = state
            .inventory
            .iter_mut()
            .find(|l| &l.bundle == name && l.remaining > 0)
        {
            lot.remaining -= 1;
        }
        let iccid = match &apply.iccid {
            Some(iccid) => iccid.clone(),
            None => state.mint_esim(now)?,
        };
        state.assign(&iccid, &bundle, &reference, now);
        applied.push(AppliedEsim {
            iccid,
            status: "Successfully Assigned".to_owned(),
            bundle: name.clone(),
        });
    }
    state.applies.insert(
        reference.clone(),
        applied.iter().map(|a| a.iccid.clone()).collect(),
    );
    Ok(Json(ApplyResponse {
        esims: applied,
        apply_reference: reference,
    }))
}
