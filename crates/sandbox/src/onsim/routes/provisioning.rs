//! The catalogue and line provisioning, on the reseller's own UC or on
//! ONSIM's.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use simgate_connectors::onsim::types::{
    Catalogue, HOME_LOCATIONS, MOBILE_DATA, ProvisionOnsimUc, ProvisionOwnUc,
};

use crate::onsim::routes::*;
use crate::onsim::state::*;

pub(crate) async fn list_catalogue(State(sandbox): State<OnsimSandbox>) -> Json<Catalogue> {
    Json(Catalogue {
        catalogue: sandbox.lock().catalogue.clone(),
    })
}

pub(crate) async fn provision_own_uc(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
    let request: ProvisionOwnUc = parse(&body)?;
    let provisioned = sandbox.lock().provision(
        &request.mpn,
        request.iccid.as_deref(),
        NewAccount {
            pbx_user: request.pbx_user,
            pbx_password: request.pbx_password,
            first_name: None,
            last_name: None,
            email: None,
            group: None,
            bundle: OWN_UC_BUNDLE.to_owned(),
        },
    )?;
    Ok((StatusCode::CREATED, Json(provisioned)).into_response())
}

pub(crate) async fn provision_onsim_uc(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
    let request: ProvisionOnsimUc = parse(&body)?;
    for (field, value) in [
        ("first_name", &request.first_name),
        ("last_name", &request.last_name),
        ("email", &request.email),
        ("group_name", &request.group_name),
    ] {
        if value.trim().is_empty() {
            return Err(bad_request(
                "MISSING_FIELD",
                &format!("{field} is required"),
            ));
        }
    }
    if !HOME_LOCATIONS.contains(&request.home_location.as_str()) {
        return Err(bad_request(
            "INVALID_HOME_LOCATION",
            "home_location must be one of GBR, USA, FRA",
        ));
    }
    if !MOBILE_DATA.contains(&request.mobile_data.as_str()) {
        return Err(bad_request(
            "INVALID_MOBILE_DATA",
            "mobile_data must be one of BACKGROUND-ONLY, 2GB, 4GB, 10GB, 20GB, UNLIMITED",
        ));
    }
    let mut state = sandbox.lock();
    if !state
        .catalogue
        .products
        .iter()
        .any(|p| p.id == request.product)
    {
        return Err(bad_request(
            "INVALID_PRODUCT",
            &format!("Unknown product {}", request.product),
        ));
    }
    if !state.groups.iter().any(|g| g.name == request.group_name) {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "GROUP_NOT_FOUND",
            &format!("No group {}", request.group_name),
        ));
    }
    let provisioned = state.provision(
        &request.mpn,
        request.iccid.as_deref(),
        NewAccount {
            pbx_user: None,
            pbx_password: None,
            first_name: Some(request.first_name),
            last_name: Some(request.last_name),
            email: Some(request.email),
            group: Some(request.group_name),
            bundle: request.mobile_data,
        },
    )?;
    Ok((StatusCode::CREATED, Json(provisioned)).into_response())
}
