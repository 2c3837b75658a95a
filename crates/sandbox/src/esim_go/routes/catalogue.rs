//! `GET /catalogue`, `/catalogue/bundle/{name}` and `/networks`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use simgate_connectors::esim_go::types::*;

use crate::esim_go::routes::*;
use crate::esim_go::state::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CatalogueParams {
    pub(crate) page: Option<String>,
    pub(crate) per_page: Option<String>,
    pub(crate) direction: Option<String>,
    pub(crate) order_by: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) countries: Option<String>,
    pub(crate) region: Option<String>,
}

pub(crate) fn number(raw: Option<&str>, name: &str, default: u32) -> Result<u32, Refusal> {
    match raw {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| bad_request(format!("{name} must be a positive integer"))),
    }
}

pub(crate) async fn catalogue(
    State(sandbox): State<EsimGoSandbox>,
    Query(params): Query<CatalogueParams>,
) -> Answer<CataloguePage> {
    let page = number(params.page.as_deref(), "page", 1)?.max(1);
    let per_page = number(params.per_page.as_deref(), "perPage", 50)?;
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(bad_request(format!(
            "perPage must be between 1 and {MAX_PER_PAGE}"
        )));
    }
    let wanted: Vec<String> = params
        .countries
        .as_deref()
        .map(|c| {
            c.split(',')
                .map(|s| s.trim().to_ascii_uppercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let description = params.description.as_deref().map(str::to_lowercase);
    let state = sandbox.lock();
    let mut matching: Vec<&Bundle> = state
        .bundles
        .iter()
        .filter(|b| {
            description
                .as_ref()
                .is_none_or(|d| b.description.to_lowercase().contains(d))
        })
        .filter(|b| params.group.as_ref().is_none_or(|g| b.groups.contains(g)))
        .filter(|b| wanted.is_empty() || b.countries.iter().any(|c| wanted.contains(&c.iso)))
        .filter(|b| {
            params
                .region
                .as_ref()
                .is_none_or(|r| b.countries.iter().any(|c| c.region.eq_ignore_ascii_case(r)))
        })
        .collect();
    match params.order_by.as_deref() {
        None | Some("") => {}
        Some("name") => matching.sort_by(|a, b| a.name.cmp(&b.name)),
        Some("price") => matching.sort_by(|a, b| a.price.total_cmp(&b.price)),
        Some("duration") => matching.sort_by_key(|b| b.duration),
        Some("dataAmount") => matching.sort_by_key(|b| b.data_amount),
        Some(other) => return Err(bad_request(format!("Cannot order by {other}"))),
    }
    if params.direction.as_deref() == Some("desc") {
        matching.reverse();
    }
    let rows = matching.len() as u32;
    let start = ((page - 1) * per_page) as usize;
    let bundles = matching
        .into_iter()
        .skip(start)
        .take(per_page as usize)
        .cloned()
        .collect();
    Ok(Json(CataloguePage {
        bundles,
        page_count: rows.div_ceil(per_page),
        rows,
        page_size: per_page,
    }))
}

pub(crate) async fn catalogue_bundle(
    State(sandbox): State<EsimGoSandbox>,
    Path(name): Path<String>,
) -> Answer<Bundle> {
    let state = sandbox.lock();
    state
        .by_name
        .get(&name)
        .map(|&i| Json(state.bundles[i].clone()))
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Bundle not found"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NetworkParams {
    pub(crate) countries: Option<String>,
    pub(crate) isos: Option<String>,
    pub(crate) return_all: Option<String>,
}

pub(crate) const OPERATORS: [&str; 6] = [
    "Telekom", "Vodafone", "Orange", "Movistar", "Mobile", "Telecom",
];

pub(crate) fn networks_of(country: &Country) -> CountryNetworks {
    let hash = country
        .iso
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let count = 1 + (hash % 3) as usize;
    let networks = (0..count)
        .map(|i| {
            let brand = format!(
                "{} {}",
                country.iso,
                OPERATORS[(hash as usize + i) % OPERATORS.len()]
            );
            Network {
                name: brand.clone(),
                brand_name: brand,
                mcc: format!("{}", 200 + hash % 700),
                mnc: format!("{:02}", (i as u32 * 7 + hash) % 100),
                speed: vec!["4G".to_owned(), "5G".to_owned()],
            }
        })
        .collect();
    CountryNetworks {
        name: country.name.clone(),
        iso: country.iso.clone(),
        networks,
    }
}

pub(crate) async fn networks(Query(params): Query<NetworkParams>) -> Answer<NetworksResponse> {
    let isos: Vec<String> = params
        .isos
        .iter()
        .flat_map(|i| i.split(','))
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .collect();
    let names: Vec<String> = params
        .countries
        .iter()
        .flat_map(|c| c.split(','))
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let all = params.return_all.as_deref() == Some("true");
    if !all && isos.is_empty() && names.is_empty() {
        return Err(bad_request("Provide countries, isos or returnAll=true"));
    }
    let country_networks = countries_by_region()
        .into_iter()
        .filter(|c| all || isos.contains(&c.iso) || names.contains(&c.name.to_lowercase()))
        .map(|c| networks_of(&c))
        .collect();
    Ok(Json(NetworksResponse { country_networks }))
}
