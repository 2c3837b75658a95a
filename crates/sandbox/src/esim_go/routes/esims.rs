//! Everything under `/esims`: listing, details, bundles and their
//! revocation, history, location, SMS and assignments.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use simgate_connectors::esim_go::types::*;
use simgate_domain::ActivationCode;

use crate::esim_go::routes::catalogue::*;
use crate::esim_go::routes::*;
use crate::esim_go::state::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageParams {
    pub(crate) page: Option<String>,
    pub(crate) per_page: Option<String>,
}

pub(crate) async fn list_esims(
    State(sandbox): State<EsimGoSandbox>,
    Query(params): Query<PageParams>,
) -> Answer<EsimList> {
    let page = number(params.page.as_deref(), "page", 1)?.max(1) as usize;
    let per_page = number(params.per_page.as_deref(), "perPage", 50)?.clamp(1, 1000) as usize;
    let state = sandbox.lock();
    let rows = state.esims.len();
    let esims = state
        .esims
        .values()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|e| EsimSummary {
            iccid: e.iccid.clone(),
            customer_ref: e.customer_ref.clone(),
            last_action: e
                .history
                .last()
                .and_then(|h| h.alert_type.clone())
                .unwrap_or_default(),
            action_date: e.history.last().map(|h| h.date.clone()),
            physical: false,
            assigned_date: Some(rfc3339(e.assigned_at)),
        })
        .collect();
    Ok(Json(EsimList {
        esims,
        page_count: rows.div_ceil(per_page) as u32,
        rows: rows as u32,
    }))
}

pub(crate) async fn update_esim(
    State(sandbox): State<EsimGoSandbox>,
    request: Result<Json<UpdateEsim>, JsonRejection>,
) -> Answer<MessageResponse> {
    let update = body(request)?;
    let mut state = sandbox.lock();
    let esim = state.esims.get_mut(&update.iccid).ok_or_else(not_yours)?;
    esim.customer_ref = Some(update.customer_ref);
    Ok(Json(MessageResponse {
        message: "eSIM updated".to_owned(),
    }))
}

/// Runs `f` on an eSIM of the organisation, or answers eSIM Go's 403.
pub(crate) fn with_esim<T>(
    sandbox: &EsimGoSandbox,
    iccid: &str,
    f: impl FnOnce(&mut SimEsim) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let mut state = sandbox.lock();
    let esim = state.esims.get_mut(iccid).ok_or_else(not_yours)?;
    f(esim)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DetailParams {
    pub(crate) additional_fields: Option<String>,
}

pub(crate) async fn esim_details(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
    Query(params): Query<DetailParams>,
) -> Answer<EsimDetails> {
    with_esim(&sandbox, &iccid, |e| {
        let apple = params
            .additional_fields
            .as_deref()
            .is_some_and(|f| f.contains("appleInstallUrl"))
            .then(|| ActivationCode::new(SANDBOX_SMDP, e.matching_id.clone()).apple_install_url());
        let installed = e.assignments.iter().any(|a| a.started_at.is_some());
        Ok(Json(EsimDetails {
            iccid: e.iccid.clone(),
            pin: e.pin.clone(),
            puk: e.puk.clone(),
            matching_id: e.matching_id.clone(),
            smdp_address: SANDBOX_SMDP.to_owned(),
            profile_status: if installed { "Installed" } else { "Released" }.to_owned(),
            first_installed_date_time: e
                .assignments
                .iter()
                .filter_map(|a| a.started_at)
                .min()
                .map(rfc3339),
            customer_ref: e.customer_ref.clone(),
            apple_install_url: apple,
        }))
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BundleParams {
    pub(crate) include_used: Option<String>,
    pub(crate) limit: Option<String>,
}

pub(crate) fn bundles_of(esim: &SimEsim, include_used: bool, limit: usize) -> EsimBundles {
    let now = Utc::now();
    let mut grouped: Vec<EsimBundle> = Vec::new();
    for a in esim.assignments.iter().take(limit) {
        let state = a.state(now);
        if !include_used && matches!(state, "revoked" | "depleted" | "expired") {
            continue;
        }
        match grouped.iter_mut().find(|b| b.name == a.bundle) {
            Some(b) => b.assignments.push(a.wire(now)),
            None => grouped.push(EsimBundle {
                name: a.bundle.clone(),
                description: String::new(),
                assignments: vec![a.wire(now)],
            }),
        }
    }
    EsimBundles { bundles: grouped }
}

pub(crate) async fn esim_bundles(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
    Query(params): Query<BundleParams>,
) -> Answer<EsimBundles> {
    let limit = number(params.limit.as_deref(), "limit", 15)?;
    if !(1..=200).contains(&limit) {
        return Err(bad_request("limit must be between 1 and 200"));
    }
    let include_used = params.include_used.as_deref() == Some("true");
    with_esim(&sandbox, &iccid, |e| {
        Ok(Json(bundles_of(e, include_used, limit as usize)))
    })
}

pub(crate) async fn bundle_status(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, name)): Path<(String, String)>,
) -> Answer<BundleStatus> {
    with_esim(&sandbox, &iccid, |e| {
        let now = Utc::now();
        let assignments: Vec<Assignment> = e
            .assignments
            .iter()
            .filter(|a| a.bundle == name)
            .map(|a| a.wire(now))
            .collect();
        if assignments.is_empty() {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "Bundle not found on this eSIM",
            ));
        }
        Ok(Json(BundleStatus { assignments }))
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevokeParams {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) refund_to_balance: Option<String>,
}

pub(crate) fn revoke(
    sandbox: &EsimGoSandbox,
    iccid: &str,
    name: &str,
    id: Option<&str>,
    params: &RevokeParams,
) -> Answer<StatusResponse> {
    let validate = match params.kind.as_deref() {
        None | Some("transaction") => false,
        Some("validate") => true,
        Some(other) => return Err(bad_request(format!("Unknown type {other}"))),
    };
    let refund = params.refund_to_balance.as_deref() == Some("true");
    let mut state = sandbox.lock();
    let esim = state.esims.get_mut(iccid).ok_or_else(not_yours)?;
    let assignment = esim
        .assignments
        .iter_mut()
        .rev()
        .find(|a| a.bundle == name && !a.revoked && id.is_none_or(|id| a.id.to_string() == id))
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Bundle assignment not found"))?;
    let used = assignment.started_at.is_some();
    if refund && used {
        return Err(bad_request("Bundle has been used and cannot be refunded"));
    }
    if validate {
        return Ok(Json(StatusResponse {
            status: "validated".to_owned(),
        }));
    }
    assignment.revoked = true;
    let credit = if refund { assignment.price } else { 0.0 };
    esim.history.push(HistoryEntry {
        name: name.to_owned(),
        bundle: name.to_owned(),
        date: rfc3339(Utc::now()),
        bundle_state: "revoked".to_owned(),
        alert_type: Some("BundleRevoked".to_owned()),
    });
    state.balance += credit;
    Ok(Json(StatusResponse {
        status: "revoked".to_owned(),
    }))
}

pub(crate) async fn revoke_bundle(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, name)): Path<(String, String)>,
    Query(params): Query<RevokeParams>,
) -> Answer<StatusResponse> {
    revoke(&sandbox, &iccid, &name, None, &params)
}

pub(crate) async fn revoke_assignment(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, name, id)): Path<(String, String, String)>,
    Query(params): Query<RevokeParams>,
) -> Answer<StatusResponse> {
    revoke(&sandbox, &iccid, &name, Some(&id), &params)
}

pub(crate) async fn history(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
) -> Answer<Vec<HistoryEntry>> {
    with_esim(&sandbox, &iccid, |e| Ok(Json(e.history.clone())))
}

pub(crate) async fn location(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
) -> Answer<Location> {
    let bundle = with_esim(&sandbox, &iccid, |e| {
        Ok(e.assignments.last().map(|a| a.bundle.clone()))
    })?;
    let country = bundle
        .and_then(|b| sandbox.lock().bundle(&b))
        .and_then(|b| b.countries.first().cloned())
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "No location known for this eSIM"))?;
    let network = networks_of(&country).networks.remove(0);
    Ok(Json(Location {
        mobile_network_code: format!("{}{}", network.mcc, network.mnc),
        network_name: network.name,
        country: country.iso,
        last_seen: rfc3339(Utc::now()),
    }))
}

pub(crate) async fn refresh(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
) -> Answer<MessageResponse> {
    with_esim(&sandbox, &iccid, |_| {
        Ok(Json(MessageResponse {
            message: "Refresh requested".to_owned(),
        }))
    })
}

pub(crate) async fn compatible(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, bundle)): Path<(String, String)>,
) -> Answer<Compatibility> {
    with_esim(&sandbox, &iccid, |_| Ok(()))?;
    if sandbox.lock().bundle(&bundle).is_none() {
        return Err(refuse(StatusCode::NOT_FOUND, "Bundle not found"));
    }
    Ok(Json(Compatibility { compatible: true }))
}

pub(crate) async fn sms(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
    request: Result<Json<SmsRequest>, JsonRejection>,
) -> Answer<MessageResponse> {
    let sms = body(request)?;
    let length = sms.message.chars().count();
    if !(1..=160).contains(&length) {
        return Err(bad_request("Message must be between 1 and 160 characters"));
    }
    if sms.from != "eSIM" {
        return Err(bad_request("Only the sender eSIM is allowed"));
    }
    with_esim(&sandbox, &iccid, |_| {
        Ok(Json(MessageResponse {
            message: "sent".to_owned(),
        }))
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct AssignmentParams {
    pub(crate) reference: Option<String>,
}

pub(crate) async fn assignments(
    State(sandbox): State<EsimGoSandbox>,
    headers: HeaderMap,
    Query(params): Query<AssignmentParams>,
) -> Result<Response, Refusal> {
    let reference = params
        .reference
        .ok_or_else(|| bad_request("reference is required"))?;
    let state = sandbox.lock();
    let iccids: Vec<String> = if let Some(order) = state
        .orders
        .iter()
        .find(|o| o.response.order_reference == reference)
    {
        let view = order.view(Utc::now());
        view.order.iter().flat_map(|l| l.iccids.clone()).collect()
    } else if let Some(applied) = state.applies.get(&reference) {
        applied.clone()
    } else {
        return Err(bad_request(format!("Unknown reference {reference}")));
    };
    let rows: Vec<(InstallAssignment, String)> = iccids
        .iter()
        .filter_map(|i| state.esims.get(i))
        .map(|e| {
            let bundle = e
                .assignments
                .last()
                .map(|a| a.bundle.clone())
                .unwrap_or_default();
            (
                InstallAssignment {
                    iccid: e.iccid.clone(),
                    matching_id: e.matching_id.clone(),
                    smdp_address: SANDBOX_SMDP.to_owned(),
                    profile_status: "Released".to_owned(),
                    pin: e.pin.clone(),
                    puk: e.puk.clone(),
                    first_installed_date_time: None,
                },
                bundle,
            )
        })
        .collect();
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(Json(rows.into_iter().map(|(a, _)| a).collect::<Vec<_>>()).into_response());
    }
    let mut csv = String::from("ICCID,Matching ID,RSP URL,Bundle,Reference\n");
    for (a, bundle) in rows {
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            a.iccid, a.matching_id, a.smdp_address, bundle, reference
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/csv")], csv).into_response())
}
