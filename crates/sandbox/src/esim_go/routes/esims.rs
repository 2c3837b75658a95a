//! Everything under `/esims`: listing, details, bundles and their
//! revocation, history, location, SMS and assignments.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use simgate_connectors::esim_go::types::*;
use simgate_domain::ActivationCode;

use crate::esim_go::routes::catalogue::*;
use crate::esim_go::routes::*;
use crate::esim_go::state::*;
use crate::simulator::qr_png;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageParams {
    pub(crate) page: Option<String>,
    pub(crate) per_page: Option<String>,
    /// `asc` (default) or `desc`.
    pub(crate) direction: Option<String>,
    /// The column to order by (default `iccid`).
    pub(crate) order_by: Option<String>,
    /// The column to filter on: iccid, customerRef, lastAction, actionDate
    /// or assignedDate.
    pub(crate) filter_by: Option<String>,
    /// The value the filtered column must contain.
    pub(crate) filter: Option<String>,
}

/// The columns the document lets a caller filter and order by.
const COLUMNS: [&str; 5] = [
    "iccid",
    "customerRef",
    "lastAction",
    "actionDate",
    "assignedDate",
];

/// The value of a documented column of a listed eSIM (text, empty when
/// unset), for filtering and ordering.
fn column(row: &Value, name: &str) -> String {
    row[name].as_str().unwrap_or_default().to_owned()
}

/// Lists the organisation's eSIMs, filtered (`filterBy`/`filter`, a
/// case-insensitive substring match) and ordered (`orderBy`/`direction`)
/// before paging, as the document describes.
///
/// Rows are written out with the document's names and types (an unset
/// `customerRef` is `""`); `pageCount` and `rows` are kept beyond the
/// document's example (see `tests/fixtures/esim-go/index.json`).
pub(crate) async fn list_esims(
    State(sandbox): State<EsimGoSandbox>,
    Query(params): Query<PageParams>,
) -> Result<Json<Value>, Refusal> {
    let page = number(params.page.as_deref(), "page", 1)?.max(1) as usize;
    let per_page = number(params.per_page.as_deref(), "perPage", 50)?.clamp(1, 1000) as usize;
    let order_by = params.order_by.as_deref().unwrap_or("iccid");
    if !COLUMNS.contains(&order_by) {
        return Err(bad_request(format!("Invalid orderBy: {order_by}")));
    }
    let descending = match params.direction.as_deref().unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => return Err(bad_request(format!("Invalid direction: {other}"))),
    };
    let mut rows: Vec<Value> = sandbox
        .lock()
        .esims
        .values()
        .map(|e| {
            json!({
                "iccid": e.iccid,
                "customerRef": e.customer_ref.clone().unwrap_or_default(),
                "lastAction": e.history.last().and_then(|h| h.alert_type.clone()).unwrap_or_default(),
                "actionDate": e.history.last().map(|h| h.date.clone()).unwrap_or_default(),
                "physical": false,
                "assignedDate": rfc3339(e.assigned_at),
            })
        })
        .collect();
    if let (Some(by), Some(wanted)) = (params.filter_by.as_deref(), params.filter.as_deref()) {
        if !COLUMNS.contains(&by) {
            return Err(bad_request(format!("Invalid filterBy: {by}")));
        }
        let wanted = wanted.to_lowercase();
        rows.retain(|row| column(row, by).to_lowercase().contains(&wanted));
    }
    rows.sort_by_key(|row| column(row, order_by));
    if descending {
        rows.reverse();
    }
    let total = rows.len();
    let esims: Vec<Value> = rows
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    Ok(Json(json!({
        "esims": esims,
        "pageCount": total.div_ceil(per_page),
        "rows": total,
    })))
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

/// `DELETE /esims/{iccid}/bundles/{name}/applications/{id}` (deprecated):
/// the same as its successor under `assignments/`.
pub(crate) async fn revoke_application(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, name, id)): Path<(String, String, String)>,
    Query(params): Query<RevokeParams>,
) -> Answer<StatusResponse> {
    revoke(&sandbox, &iccid, &name, Some(&id), &params)
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

/// Answers the document's `{"message"}` (not the `{"compatible"}` the
/// client also reads).
pub(crate) async fn compatible(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, bundle)): Path<(String, String)>,
) -> Answer<MessageResponse> {
    with_esim(&sandbox, &iccid, |_| Ok(()))?;
    if sandbox.lock().bundle(&bundle).is_none() {
        return Err(refuse(StatusCode::NOT_FOUND, "Bundle not found"));
    }
    Ok(Json(MessageResponse {
        message: format!("Bundle {bundle} is compatible with eSIM {iccid}"),
    }))
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

/// The install details of every eSIM of an order (or of an apply), each
/// with the name of its latest bundle.
fn install_rows(
    sandbox: &EsimGoSandbox,
    reference: &str,
) -> Result<Vec<(InstallAssignment, String)>, Refusal> {
    let state = sandbox.lock();
    let iccids: Vec<String> = if let Some(order) = state
        .orders
        .iter()
        .find(|o| o.response.order_reference == reference)
    {
        let view = order.view(Utc::now());
        view.order.iter().flat_map(|l| l.iccids.clone()).collect()
    } else if let Some(applied) = state.applies.get(reference) {
        applied.clone()
    } else {
        return Err(bad_request(format!("Unknown reference {reference}")));
    };
    Ok(iccids
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
        .collect())
}

/// The documented default answer: one CSV line per eSIM.
fn install_csv(rows: Vec<(InstallAssignment, String)>, reference: &str) -> Response {
    let mut csv = String::from("ICCID,Matching ID,RSP URL,Bundle,Reference\n");
    for (a, bundle) in rows {
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            a.iccid, a.matching_id, a.smdp_address, bundle, reference
        ));
    }
    ([(header::CONTENT_TYPE, "text/csv")], csv).into_response()
}

/// The documented `application/zip` answer: one QR PNG per eSIM, named
/// after its ICCID, encoding its LPA activation code.
fn install_zip(rows: Vec<(InstallAssignment, String)>) -> Result<Response, Refusal> {
    let failed = |e: &dyn std::fmt::Display| {
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("ZIP failed: {e}"),
        )
    };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (a, _) in rows {
        let code = ActivationCode::new(&a.smdp_address, a.matching_id.clone());
        let png = qr_png(&code.to_string()).map_err(|e| failed(&e))?;
        zip.start_file(format!("{}.png", a.iccid), options)
            .map_err(|e| failed(&e))?;
        std::io::Write::write_all(&mut zip, &png).map_err(|e| failed(&e))?;
    }
    let bytes = zip.finish().map_err(|e| failed(&e))?.into_inner();
    Ok(([(header::CONTENT_TYPE, "application/zip")], bytes).into_response())
}

/// `GET /esims/assignments`: CSV by default, JSON or a ZIP of QR images by
/// `Accept`.
pub(crate) async fn assignments(
    State(sandbox): State<EsimGoSandbox>,
    headers: HeaderMap,
    Query(params): Query<AssignmentParams>,
) -> Result<Response, Refusal> {
    let reference = params
        .reference
        .ok_or_else(|| bad_request("reference is required"))?;
    let rows = install_rows(&sandbox, &reference)?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if accept.contains("application/json") {
        return Ok(Json(rows.into_iter().map(|(a, _)| a).collect::<Vec<_>>()).into_response());
    }
    if accept.contains("application/zip") {
        return install_zip(rows);
    }
    Ok(install_csv(rows, &reference))
}

/// `GET /esims/qr/{reference}` (deprecated): the ZIP of QR images.
pub(crate) async fn deprecated_qr(
    State(sandbox): State<EsimGoSandbox>,
    Path(reference): Path<String>,
) -> Result<Response, Refusal> {
    install_zip(install_rows(&sandbox, &reference)?)
}

/// `GET /esims/csv/{reference}` (deprecated): the CSV of install details.
pub(crate) async fn deprecated_csv(
    State(sandbox): State<EsimGoSandbox>,
    Path(reference): Path<String>,
) -> Result<Response, Refusal> {
    Ok(install_csv(install_rows(&sandbox, &reference)?, &reference))
}
