//! `POST /addresses`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use simgate_connectors::telnyx::types::{ADDRESS, Address, AddressBody, Data, ErrorObject};
use simgate_domain::CountryCode;

use crate::telnyx::routes::*;
use crate::telnyx::state::*;

pub(crate) async fn create_address(State(sandbox): State<TelnyxSandbox>, body: Bytes) -> Answer {
    let body: AddressBody = parse_body(&body)?;
    let required = [
        ("first_name", &body.first_name),
        ("last_name", &body.last_name),
        ("business_name", &body.business_name),
        ("street_address", &body.street_address),
        ("locality", &body.locality),
        ("country_code", &body.country_code),
    ];
    let absent: Vec<ErrorObject> = required
        .iter()
        .filter(|(_, value)| value.as_deref().is_none_or(|v| v.trim().is_empty()))
        .map(|(field, _)| missing(field))
        .collect();
    if !absent.is_empty() {
        return Err(Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: absent,
        });
    }
    let country = body.country_code.clone().unwrap_or_default();
    if CountryCode::parse(&country).is_err() {
        return Err(bad_request(
            format!("'{country}' is not an ISO 3166-1 alpha-2 country code."),
            Source::Pointer("/country_code".to_owned()),
        ));
    }
    if EMBARGOED.contains(&country.as_str()) {
        return Err(bad_request(
            format!("SIM cards cannot be shipped to {country}."),
            Source::Pointer("/country_code".to_owned()),
        ));
    }
    let mut state = sandbox.lock();
    let id = state.next_address_id.to_string();
    state.next_address_id += 1;
    let address = Address {
        id: id.clone(),
        record_type: Some(ADDRESS.to_owned()),
        first_name: body.first_name,
        last_name: body.last_name,
        business_name: body.business_name,
        street_address: body.street_address,
        extended_address: body.extended_address,
        locality: body.locality,
        administrative_area: body.administrative_area,
        postal_code: body.postal_code,
        country_code: Some(country),
    };
    state.addresses.insert(id, address.clone());
    Ok(Json(Data { data: address }).into_response())
}
