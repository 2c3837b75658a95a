//! Everything under `/account`: details, bundle, recording and mobile
//! settings, eSIM codes and QR images, and ceasing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use simgate_connectors::onsim::types::{
    AccountInfo, Cease, EsimQuery, EsimStatus, GenerateQr, OneOrMany, PbxInfo, RecordingUpdate,
};
use simgate_domain::{InventoryState, SimKind};

use crate::onsim::routes::*;
use crate::onsim::state::*;

pub(crate) async fn account_info(
    State(sandbox): State<OnsimSandbox>,
    Path(mpn): Path<String>,
) -> Answer {
    let state = sandbox.lock();
    let account = state
        .accounts
        .get(&mpn)
        .ok_or_else(|| account_not_found(&mpn))?;
    let wire = state.wire_account(&mpn, account);
    let account = if account.i_account % 2 == 0 {
        OneOrMany::Many(vec![wire])
    } else {
        OneOrMany::One(wire)
    };
    Ok(Json(AccountInfo { account }).into_response())
}

pub(crate) async fn change_bundle(
    State(sandbox): State<OnsimSandbox>,
    Path((mpn, sku)): Path<(String, String)>,
) -> Answer {
    let mut state = sandbox.lock();
    if !state.accounts.contains_key(&mpn) {
        return Err(account_not_found(&mpn));
    }
    let bundle = state
        .bundle(&sku)
        .ok_or_else(|| bad_request("INVALID_BUNDLE", &format!("Unknown bundle {sku}")))?;
    if let Some(account) = state.accounts.get_mut(&mpn) {
        account.bundle = bundle;
    }
    ok("Bundle Successfully Updated")
}

pub(crate) async fn set_recording(
    State(sandbox): State<OnsimSandbox>,
    Path(mpn): Path<String>,
    body: Bytes,
) -> Answer {
    let request: RecordingUpdate = parse(&body)?;
    let voice = switch("voice_recording", request.voice_recording.as_deref())?;
    let sms = switch("sms_recording", request.sms_recording.as_deref())?;
    let mut state = sandbox.lock();
    let account = state
        .accounts
        .get_mut(&mpn)
        .ok_or_else(|| account_not_found(&mpn))?;
    if let Some(voice) = voice {
        account.voice_recording = voice;
    }
    if let Some(sms) = sms {
        account.sms_recording = sms;
    }
    ok("Recording Successfully Updated")
}

pub(crate) async fn update_settings(
    State(sandbox): State<OnsimSandbox>,
    Path(mpn): Path<String>,
    body: Bytes,
) -> Answer {
    let request: PbxInfo = parse(&body)?;
    let data = switch("mobile_data", request.mobile_data.as_deref())?;
    let voice = switch("mobile_voice", request.mobile_voice.as_deref())?;
    let sms = switch("mobile_sms", request.mobile_sms.as_deref())?;
    let hotspot = switch("mobile_hotspot", request.mobile_hotspot.as_deref())?;
    let mut state = sandbox.lock();
    if !state.accounts.contains_key(&mpn) {
        return Err(account_not_found(&mpn));
    }
    let new_mpn = request.mpn.as_deref().filter(|new| *new != mpn);
    if let Some(new) = new_mpn
        && state.numbers.get(new) != Some(&InventoryState::Reserved)
    {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "NUMBER_NOT_AVAILABLE",
            &format!("MPN {new} is not a reserved number of this reseller"),
        ));
    }
    let mut account = state
        .accounts
        .remove(&mpn)
        .ok_or_else(|| account_not_found(&mpn))?;
    let switches = &mut account.services;
    switches.data = data.unwrap_or(switches.data);
    switches.voice = voice.unwrap_or(switches.voice);
    switches.messaging = sms.unwrap_or(switches.messaging);
    switches.hotspot = hotspot.unwrap_or(switches.hotspot);
    if let Some(user) = request.pbx_user.filter(|u| !u.is_empty()) {
        account.pbx_user = user;
    }
    account.first_name = request.first_name.or(account.first_name);
    account.last_name = request.last_name.or(account.last_name);
    account.email = request.email.or(account.email);
    let key = match new_mpn {
        Some(new) => {
            state.numbers.insert(mpn.clone(), InventoryState::Reserved);
            state.numbers.insert(new.to_owned(), InventoryState::Active);
            if let Some(sim) = state.sims.get_mut(&account.sim) {
                sim.mpn = Some(new.to_owned());
            }
            new.to_owned()
        }
        None => mpn,
    };
    state.accounts.insert(key, account);
    ok("Mobile Settings Successfully Updated")
}

pub(crate) async fn esim(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
    let query: EsimQuery = parse(&body)?;
    if query.i_account.is_none() && query.mpn.is_none() && query.iccid.is_none() {
        return Err(bad_request(
            "MISSING_IDENTIFIER",
            "One of i_account, mpn or iccid is required",
        ));
    }
    if query.refresh_code > 1 {
        return Err(bad_request("INVALID_VALUE", "refresh_code must be 0 or 1"));
    }
    let iccid = query.iccid.as_deref().map(short_iccid).transpose()?;
    let mut state = sandbox.lock();
    let (mpn, short) = state
        .accounts
        .iter()
        .find(|(mpn, account)| {
            query
                .i_account
                .as_ref()
                .is_none_or(|id| *id == account.i_account.to_string())
                && query.mpn.as_ref().is_none_or(|m| m == *mpn)
                && iccid.as_ref().is_none_or(|i| *i == account.sim)
        })
        .map(|(mpn, account)| (mpn.clone(), account.sim.clone()))
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "ACCOUNT_NOT_FOUND",
                "No account matches the given i_account, mpn and iccid",
            )
        })?;
    let installed = match state.sims.get(&short) {
        Some(sim) if sim.kind == SimKind::Esim => sim.installed,
        _ => {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "NOT_AN_ESIM",
                &format!("The SIM of {mpn} is a physical SIM"),
            ));
        }
    };
    let refresh = match (query.refresh_code, installed) {
        (0, _) => None,
        (_, true) => Some("error".to_owned()),
        (_, false) => {
            let fresh = state.matching_id();
            if let Some(sim) = state.sims.get_mut(&short) {
                sim.matching_id = Some(fresh);
            }
            Some("esim code refreshed".to_owned())
        }
    };
    let matching_id = state
        .sims
        .get(&short)
        .and_then(|sim| sim.matching_id.clone())
        .unwrap_or_default();
    Ok(Json(EsimStatus {
        esim_code: state.activation_code(&matching_id),
        esim_status: if installed {
            "installed"
        } else {
            "ready to install"
        }
        .to_owned(),
        enabled_on_device: Some(if installed { "Y" } else { "N" }.to_owned()),
        refresh_code: refresh,
    })
    .into_response())
}

/// Answers a link to a QR image, as ONSIM's generator links to a
/// pre-signed image; the image is served at that link without auth.
pub(crate) async fn generate_qr(
    State(sandbox): State<OnsimSandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let request: GenerateQr = parse(&body)?;
    if !request.esim_code.starts_with("LPA:1") {
        return Err(bad_request(
            "INVALID_ESIM_CODE",
            "esim_code must start with LPA:1",
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let file = format!("{}.png", uuid::Uuid::new_v4());
    let url = format!("http://{host}{QR_PREFIX}/{file}?X-Amz-Expires=86400");
    sandbox.lock().qr_images.insert(file, request.esim_code);
    Ok(Json(url).into_response())
}

/// A generated QR image, as PNG.
pub(crate) async fn qr_image(
    State(sandbox): State<OnsimSandbox>,
    Path(file): Path<String>,
) -> Answer {
    let code = sandbox
        .lock()
        .qr_images
        .get(&file)
        .cloned()
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such image"))?;
    let qr = qrcode::QrCode::new(code.as_bytes()).map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "QR_FAILED",
            &e.to_string(),
        )
    })?;
    let image = qr.render::<image::Luma<u8>>().build();
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "QR_FAILED",
                &e.to_string(),
            )
        })?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png.into_inner()).into_response())
}

pub(crate) async fn cease(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
    let request: Cease = parse(&body)?;
    let short = short_iccid(&request.iccid)?;
    let mut state = sandbox.lock();
    let mpn = match state.sims.get(&short) {
        None => {
            return Err(error(
                StatusCode::NOT_FOUND,
                "SIM_NOT_FOUND",
                &format!("No SIM {short}"),
            ));
        }
        Some(sim) => sim.mpn.clone().ok_or_else(|| {
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "SIM_NOT_ACTIVE",
                &format!("SIM {short} has no account to cease"),
            )
        })?,
    };
    state.accounts.remove(&mpn);
    state.sims.remove(&short);
    state.numbers.remove(&mpn);
    state.quarantined.insert(mpn);
    ok("Account Successfully Ceased")
}
