//! `GET /destinations` and `GET /product-offerings`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use simgate_connectors::sim_local::types::*;
use simgate_domain::{CountryCode, Iccid};

use crate::sim_local::routes::*;
use crate::sim_local::state::*;

pub(crate) async fn destinations(
    State(sandbox): State<SimLocalSandbox>,
    headers: HeaderMap,
) -> Json<Vec<Destination>> {
    let language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("en")
        .to_ascii_lowercase();
    let state = sandbox.lock();
    let mut aliases: Vec<&str> = state
        .offerings
        .iter()
        .flat_map(|o| o.destinations.iter().map(String::as_str))
        .collect();
    aliases.sort_unstable();
    aliases.dedup();
    Json(
        aliases
            .into_iter()
            .enumerate()
            .map(|(i, alias)| {
                let name = CountryCode::parse(alias).map_or(alias, |c| c.name());
                Destination {
                    alias: alias.to_owned(),
                    description: if language.starts_with("fr") {
                        format!("{name} (fr)")
                    } else {
                        name.to_owned()
                    },
                    display_order: i as i64,
                }
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct OfferingQuery {
    pub(crate) ssn: Option<String>,
    pub(crate) destination: Option<String>,
}

pub(crate) async fn offerings(
    State(sandbox): State<SimLocalSandbox>,
    Query(query): Query<OfferingQuery>,
) -> Response {
    if let Some(ssn) = &query.ssn
        && Iccid::parse(ssn).is_err()
    {
        return problem(StatusCode::BAD_REQUEST, "Unknown SIM");
    }
    let state = sandbox.lock();
    let list: Vec<ProductOffering> = state
        .offerings
        .iter()
        .filter(|o| {
            query
                .destination
                .as_ref()
                .is_none_or(|d| o.destinations.iter().any(|x| x.eq_ignore_ascii_case(d)))
        })
        // Physical SIMs take the fixed-data offerings only.
        .filter(|o| query.ssn.is_none() || o.data > 0.0)
        .cloned()
        .collect();
    Json(list).into_response()
}
