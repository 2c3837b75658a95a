//! A stateful simulator of the eSIM Go v2.4 API: same paths, bodies, error
//! shapes and auth check as the real one, a generated catalogue of thousands
//! of bundles, eSIMs with valid ICCIDs, data usage, and fault injection.
//!
//! State lives in memory behind one mutex that is never held across an
//! `.await`. Test hooks live under [`ADMIN_PREFIX`]: `GET /__admin/stats`,
//! `GET /__admin/purchases` (every transaction order, see
//! [`crate::simulator::PurchaseList`]; eSIM Go keeps no caller reference)
//! and `POST /__admin/esims/{iccid}/usage {"bytes": n}` (which also sends
//! the signed V3 usage callback, when a callback URL is set), beside the
//! shared `/__admin/faults`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use simgate_domain::{ActivationCode, CountryCode, Iccid};

use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, PurchaseList, SimulatorHandle, purchases_path, serve,
    with_faults,
};
use simgate_connectors::esim_go::types::*;

/// The SM-DP+ address of every sandbox eSIM.
pub const SANDBOX_SMDP: &str = "smdp.sandbox.esim-go.simgate.test";

/// Orders assigning more eSIMs than this are processed asynchronously, as
/// eSIM Go documents: their eSIMs appear only after [`ASYNC_DELAY_MS`].
const ASYNC_THRESHOLD: usize = 5;
/// How long an asynchronous order stays `processing`.
const ASYNC_DELAY_MS: i64 = 300;

/// Largest catalogue page the sandbox serves.
const MAX_PER_PAGE: u32 = 1000;

/// Configuration of the simulator.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The only `X-API-Key` accepted.
    pub api_key: String,
    /// The organisation's currency, in which prices are quoted.
    pub currency: String,
    /// Prepaid balance at start.
    pub initial_balance: f64,
    /// Seed of the generated catalogue, prices and matching IDs.
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            api_key: "sandbox-esim-go-key".to_owned(),
            currency: "USD".to_owned(),
            initial_balance: 1_000_000.0,
            seed: 1,
        }
    }
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("api_key", &"[REDACTED]")
            .field("currency", &self.currency)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// One bundle assignment on a simulated eSIM.
#[derive(Debug, Clone)]
struct SimAssignment {
    id: u64,
    bundle: String,
    initial_bytes: i64,
    remaining_bytes: i64,
    unlimited: bool,
    duration_days: i64,
    price: f64,
    assigned_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    revoked: bool,
    reference: String,
}

impl SimAssignment {
    fn state(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked {
            "revoked"
        } else if let Some(start) = self.started_at {
            if now > start + Duration::days(self.duration_days) {
                "expired"
            } else if !self.unlimited && self.remaining_bytes <= 0 {
                "depleted"
            } else {
                "active"
            }
        } else {
            "queued"
        }
    }

    fn wire(&self, now: DateTime<Utc>) -> Assignment {
        Assignment {
            id: self.id.to_string(),
            call_type_group: "data".to_owned(),
            initial_quantity: self.initial_bytes,
            remaining_quantity: self.remaining_bytes,
            start_time: self.started_at.map(rfc3339),
            end_time: self
                .started_at
                .map(|s| rfc3339(s + Duration::days(self.duration_days))),
            bundle_state: self.state(now).to_owned(),
            assignment_date_time: Some(rfc3339(self.assigned_at)),
            assignment_reference: self.reference.clone(),
            unlimited: self.unlimited,
        }
    }
}

/// A simulated eSIM.
#[derive(Debug, Clone)]
struct SimEsim {
    iccid: String,
    matching_id: String,
    pin: String,
    puk: String,
    customer_ref: Option<String>,
    assigned_at: DateTime<Utc>,
    assignments: Vec<SimAssignment>,
    history: Vec<HistoryEntry>,
}

/// An order as the sandbox keeps it: complete from the start, but shown as
/// `processing`, without its eSIMs, until it is ready.
#[derive(Debug, Clone)]
struct SimOrder {
    response: OrderResponse,
    ready_at: DateTime<Utc>,
}

impl SimOrder {
    fn view(&self, now: DateTime<Utc>) -> OrderResponse {
        if now >= self.ready_at {
            return self.response.clone();
        }
        let mut pending = self.response.clone();
        pending.status = "processing".to_owned();
        pending.status_message = "Order is being processed".to_owned();
        for line in &mut pending.order {
            line.esims.clear();
            line.iccids.clear();
        }
        pending
    }
}

/// One purchase lot of inventory.
#[derive(Debug, Clone)]
struct Lot {
    id: i64,
    bundle: String,
    total: i64,
    remaining: i64,
    price: f64,
}

struct SandboxState {
    config: SandboxConfig,
    bundles: Vec<Bundle>,
    by_name: BTreeMap<String, usize>,
    balance: f64,
    orders: Vec<SimOrder>,
    esims: BTreeMap<String, SimEsim>,
    inventory: Vec<Lot>,
    applies: BTreeMap<String, Vec<String>>,
    purchases: usize,
    sold: Vec<Purchase>,
    rng: StdRng,
    next_serial: u64,
    next_id: u64,
    callback_url: Option<String>,
    callbacks_delivered: usize,
}

/// The eSIM Go simulator; clones share one state.
#[derive(Clone)]
pub struct EsimGoSandbox {
    state: Arc<Mutex<SandboxState>>,
    faults: Arc<FaultInjector>,
}

impl EsimGoSandbox {
    /// A simulator with a freshly generated catalogue.
    pub fn new(config: SandboxConfig) -> Self {
        let bundles = generate_catalogue(config.seed);
        let by_name = bundles
            .iter()
            .enumerate()
            .map(|(i, b)| (b.name.clone(), i))
            .collect();
        let state = SandboxState {
            balance: config.initial_balance,
            rng: StdRng::seed_from_u64(config.seed),
            // Serials start from the clock so that a restarted sandbox never
            // reissues an ICCID a gateway already stored.
            next_serial: (Utc::now().timestamp_millis().unsigned_abs() % 100_000_000_000) * 1000,
            config,
            bundles,
            by_name,
            orders: Vec::new(),
            esims: BTreeMap::new(),
            inventory: Vec::new(),
            applies: BTreeMap::new(),
            purchases: 0,
            sold: Vec::new(),
            next_id: 1,
            callback_url: None,
            callbacks_delivered: 0,
        };
        Self {
            state: Arc::new(Mutex::new(state)),
            faults: Arc::new(FaultInjector::default()),
        }
    }

    /// The full router: provider API, fault injection and admin routes.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/catalogue", get(catalogue))
            .route("/catalogue/bundle/{name}", get(catalogue_bundle))
            .route("/networks", get(networks))
            .route("/orders", post(create_order).get(list_orders))
            .route("/orders/{reference}", get(get_order))
            .route("/inventory", get(inventory))
            .route("/inventory/refund", post(refund_inventory))
            .route("/esims", get(list_esims).put(update_esim))
            .route("/esims/apply", post(apply_bundle))
            .route("/esims/assignments", get(assignments))
            .route("/esims/{iccid}", get(esim_details))
            .route("/esims/{iccid}/bundles", get(esim_bundles))
            .route(
                "/esims/{iccid}/bundles/{name}",
                get(bundle_status).delete(revoke_bundle),
            )
            .route(
                "/esims/{iccid}/bundles/{name}/assignments/{id}",
                delete(revoke_assignment),
            )
            .route("/esims/{iccid}/history", get(history))
            .route("/esims/{iccid}/location", get(location))
            .route("/esims/{iccid}/refresh", get(refresh))
            .route("/esims/{iccid}/compatible/{bundle}", get(compatible))
            .route("/esims/{iccid}/sms", post(sms))
            .route("/organisation", get(organisation))
            .route("/organisation/balance", post(top_up_balance))
            .route("/organisation/groups", get(groups))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "Not found") })
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                require_api_key,
            ))
            .with_state(self.clone());
        let admin = Router::new()
            .route(&format!("{ADMIN_PREFIX}/stats"), get(stats))
            .route(&purchases_path(), get(list_purchases))
            .route(
                &format!("{ADMIN_PREFIX}/esims/{{iccid}}/usage"),
                post(consume),
            )
            .with_state(self.clone());
        with_faults(api, self.faults.clone(), error).merge(admin)
    }

    /// Serves on the listener in the background.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> std::io::Result<SimulatorHandle> {
        serve(listener, self.router())
    }

    /// Number of bundles in the generated catalogue.
    pub fn catalogue_len(&self) -> usize {
        self.lock().bundles.len()
    }

    /// Usage callbacks the receiver acknowledged with a 2xx.
    pub fn callbacks_delivered(&self) -> usize {
        self.lock().callbacks_delivered
    }

    /// Where V3 usage callbacks go after each use of data (`None`: off).
    pub fn set_callback_url(&self, url: Option<String>) {
        self.lock().callback_url = url;
    }

    /// Transaction orders that bought something: proof of "never bought twice".
    pub fn purchases(&self) -> usize {
        self.lock().purchases
    }

    /// Every transaction order, oldest first: what `GET /__admin/purchases` lists.
    pub fn sold(&self) -> Vec<Purchase> {
        self.lock().sold.clone()
    }

    fn lock(&self) -> MutexGuard<'_, SandboxState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// eSIM Go's error body.
fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            message: message.to_owned(),
        }),
    )
        .into_response()
}

/// A refusal in eSIM Go's words, turned into its error body when answered.
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal(status, message.to_owned())
}

type Answer<T> = Result<Json<T>, Refusal>;

fn bad_request(message: impl AsRef<str>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, message.as_ref())
}

fn not_yours() -> Refusal {
    refuse(StatusCode::FORBIDDEN, "ICCID not found or not yours")
}

/// Parses a JSON body into eSIM Go's 400 on failure.
fn body<T: DeserializeOwned>(parsed: Result<Json<T>, JsonRejection>) -> Result<T, Refusal> {
    parsed.map(|Json(value)| value).map_err(|rejection| {
        bad_request(format!("Invalid request body: {}", rejection.body_text()))
    })
}

async fn require_api_key(
    State(sandbox): State<EsimGoSandbox>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let expected = sandbox.lock().config.api_key.clone();
    let given = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok());
    if given == Some(expected.as_str()) {
        return next.run(request).await;
    }
    let status = if request.uri().path().starts_with("/orders") {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    };
    error(status, "Unauthorised: invalid API key")
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

// ---------------------------------------------------------------- catalogue

/// Regions (name, bundle-name tag, member ISO 3166-1 alpha-2 codes).
const REGIONS: &[(&str, &str, &str)] = &[
    (
        "Europe",
        "EU",
        "AD AL AT BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS SE SI SK SM UA VA GG AX",
    ),
    (
        "Asia",
        "AS",
        "AF BD BN BT CN HK ID IN JP KG KH KR KZ LA LK MM MN MO MV MY NP PH PK SG TH TJ TL TM TW UZ VN",
    ),
    (
        "Middle East",
        "ME",
        "AE AM AZ BH GE IL IQ IR JO KW LB OM PS QA SA SY TR YE",
    ),
    (
        "Africa",
        "AF",
        "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RW SC SD SL SN SO SS ST SZ TD TG TN TZ UG ZA ZM ZW",
    ),
    (
        "Americas",
        "AM",
        "AG AI AR AW BB BO BR BS BZ CA CL CO CR CU DM DO EC GD GT GY HN HT JM KN KY LC MX NI PA PE PR PY SR SV TC TT US UY VC VE VG VI",
    ),
    (
        "Oceania",
        "OC",
        "AU FJ FM GU KI MH NC NR NZ PF PG PW SB TO TV VU WS",
    ),
];

/// Sizes in GB (`None`: unlimited) and durations in days of every country's bundles.
const SIZES_GB: [Option<i64>; 8] = [
    Some(1),
    Some(2),
    Some(3),
    Some(5),
    Some(10),
    Some(20),
    Some(50),
    None,
];
const DURATIONS: [i64; 4] = [1, 7, 15, 30];

fn countries_by_region() -> Vec<Country> {
    REGIONS
        .iter()
        .flat_map(|(region, _, codes)| {
            codes.split_whitespace().filter_map(move |code| {
                let country = CountryCode::parse(code).ok()?;
                Some(Country {
                    name: country.name().to_owned(),
                    region: (*region).to_owned(),
                    iso: code.to_owned(),
                })
            })
        })
        .collect()
}

fn bundle(
    name: String,
    description: String,
    countries: Vec<Country>,
    gb: Option<i64>,
    days: i64,
    price: f64,
) -> Bundle {
    let mb = gb.map_or(-1, |gb| gb * 1000);
    Bundle {
        name,
        description,
        groups: vec![
            if gb.is_some() {
                "Standard Fixed"
            } else {
                "Standard Unlimited Essential"
            }
            .to_owned(),
        ],
        countries,
        roaming_enabled: Vec::new(),
        data_amount: mb,
        duration: days,
        speed: vec!["4G".to_owned(), "5G".to_owned()],
        autostart: true,
        unlimited: gb.is_none(),
        image_url: None,
        price,
        billing_type: Some("FixedCost".to_owned()),
        allowances: vec![Allowance {
            kind: "DATA".to_owned(),
            service: "ROAMING".to_owned(),
            description: "Data allowance".to_owned(),
            amount: mb.max(0),
            unit: "MB".to_owned(),
            unlimited: gb.is_none(),
        }],
    }
}

fn price(gb: Option<i64>, days: i64, tier: f64) -> f64 {
    let data = gb.map_or(60.0, |gb| 1.2 + gb as f64 * 0.85);
    let raw = (data + days as f64 * 0.12) * tier;
    (raw * 100.0).round() / 100.0
}

/// Generates ~6,000 bundles over ~190 countries plus regional ones.
fn generate_catalogue(seed: u64) -> Vec<Bundle> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bundles = Vec::new();
    let countries = countries_by_region();
    for country in &countries {
        let code = &country.iso;
        let tier = [0.8, 1.0, 1.3, 1.7][rng.random_range(0..4)];
        for gb in SIZES_GB {
            for days in DURATIONS {
                let size = gb.map_or("UL".to_owned(), |gb| format!("{gb}GB"));
                let data = gb.map_or("Unlimited".to_owned(), |gb| format!("{gb}GB"));
                bundles.push(bundle(
                    format!("esim_{size}_{days}D_{code}_V2"),
                    format!("eSIM, {data}, {days} Days, {}, V2", country.name),
                    vec![country.clone()],
                    gb,
                    days,
                    price(gb, days, tier),
                ));
            }
        }
    }
    for (region, tag, _) in REGIONS {
        let members: Vec<Country> = countries
            .iter()
            .filter(|c| c.region == *region)
            .cloned()
            .collect();
        for size in [5, 10, 20] {
            for days in [15, 30] {
                bundles.push(bundle(
                    format!("esim_{size}GB_{days}D_R{tag}_V2"),
                    format!("eSIM, {size}GB, {days} Days, {region}, V2"),
                    members.clone(),
                    Some(size),
                    days,
                    price(Some(size), days, 1.5),
                ));
            }
        }
    }
    bundles
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogueParams {
    page: Option<String>,
    per_page: Option<String>,
    direction: Option<String>,
    order_by: Option<String>,
    description: Option<String>,
    group: Option<String>,
    countries: Option<String>,
    region: Option<String>,
}

fn number(raw: Option<&str>, name: &str, default: u32) -> Result<u32, Refusal> {
    match raw {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| bad_request(format!("{name} must be a positive integer"))),
    }
}

async fn catalogue(
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

async fn catalogue_bundle(
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
struct NetworkParams {
    countries: Option<String>,
    isos: Option<String>,
    return_all: Option<String>,
}

const OPERATORS: [&str; 6] = [
    "Telekom", "Vodafone", "Orange", "Movistar", "Mobile", "Telecom",
];

fn networks_of(country: &Country) -> CountryNetworks {
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

async fn networks(Query(params): Query<NetworkParams>) -> Answer<NetworksResponse> {
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

// ------------------------------------------------------------------- orders

impl SandboxState {
    fn mint_esim(&mut self, now: DateTime<Utc>) -> Result<String, Refusal> {
        self.next_serial += 1;
        let body = format!("8944{:014}", self.next_serial);
        let iccid = Iccid::with_check_digit(&body)
            .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .to_string();
        let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let matching_id = (0..4)
            .map(|_| {
                (0..5)
                    .map(|_| char::from(alphabet[self.rng.random_range(0..alphabet.len())]))
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("-");
        let esim = SimEsim {
            iccid: iccid.clone(),
            matching_id,
            pin: format!("{:04}", self.rng.random_range(0..10_000)),
            puk: format!("{:08}", self.rng.random_range(0..100_000_000)),
            customer_ref: None,
            assigned_at: now,
            assignments: Vec::new(),
            history: Vec::new(),
        };
        self.esims.insert(iccid.clone(), esim);
        Ok(iccid)
    }

    fn assign(&mut self, iccid: &str, bundle: &Bundle, reference: &str, now: DateTime<Utc>) {
        let id = self.next_id;
        self.next_id += 1;
        if let Some(esim) = self.esims.get_mut(iccid) {
            let unlimited = bundle.unlimited;
            let bytes = if unlimited {
                0
            } else {
                bundle.data_amount.max(0) * 1_000_000
            };
            esim.assignments.push(SimAssignment {
                id,
                bundle: bundle.name.clone(),
                initial_bytes: bytes,
                remaining_bytes: bytes,
                unlimited,
                duration_days: bundle.duration,
                price: bundle.price,
                assigned_at: now,
                started_at: None,
                revoked: false,
                reference: reference.to_owned(),
            });
            esim.history.push(HistoryEntry {
                name: bundle.description.clone(),
                bundle: bundle.name.clone(),
                date: rfc3339(now),
                bundle_state: "queued".to_owned(),
                alert_type: Some("BundleAssigned".to_owned()),
            });
        }
    }

    fn order_esim(&self, iccid: &str) -> Option<OrderEsim> {
        self.esims.get(iccid).map(|e| OrderEsim {
            iccid: e.iccid.clone(),
            matching_id: e.matching_id.clone(),
            smdp_address: SANDBOX_SMDP.to_owned(),
        })
    }

    fn bundle(&self, name: &str) -> Option<Bundle> {
        self.by_name.get(name).map(|&i| self.bundles[i].clone())
    }
}

async fn create_order(
    State(sandbox): State<EsimGoSandbox>,
    request: Result<Json<OrderRequest>, JsonRejection>,
) -> Answer<OrderResponse> {
    let request = body(request)?;
    let validate = match request.kind.as_str() {
        "validate" => true,
        "transaction" => false,
        other => return Err(bad_request(format!("Unknown order type {other}"))),
    };
    if request.order.is_empty() {
        return Err(bad_request("Order must contain at least one item"));
    }
    let mut state = sandbox.lock();
    let mut total = 0.0;
    let mut lines = Vec::new();
    for item in &request.order {
        let bundle = state
            .bundle(&item.item)
            .ok_or_else(|| bad_request(format!("Bundle {} not found", item.item)))?;
        if item.kind != "bundle" {
            return Err(bad_request(format!("Unknown item type {}", item.kind)));
        }
        if !(1..=1000).contains(&item.quantity) {
            return Err(bad_request("Quantity must be between 1 and 1000"));
        }
        if !item.iccids.is_empty() {
            if !request.assign {
                return Err(bad_request("ICCIDs can only be given with assign: true"));
            }
            if item.iccids.len() != item.quantity as usize {
                return Err(bad_request("Quantity must match the number of ICCIDs"));
            }
            if item.iccids.iter().any(|i| !state.esims.contains_key(i)) {
                return Err(not_yours());
            }
        }
        total += bundle.price * f64::from(item.quantity);
        lines.push((item.clone(), bundle));
    }
    let total = (total * 100.0).round() / 100.0;
    if total > state.balance {
        return Err(refuse(StatusCode::FORBIDDEN, "Insufficient balance"));
    }
    let now = Utc::now();
    let reference = uuid::Uuid::new_v4().to_string();
    let currency = state.config.currency.clone();
    let mut answer_lines = Vec::new();
    let mut assigned = 0;
    for (item, bundle) in lines {
        let mut esims = Vec::new();
        if !validate {
            if request.assign {
                let iccids = if item.iccids.is_empty() {
                    (0..item.quantity)
                        .map(|_| state.mint_esim(now))
                        .collect::<Result<Vec<_>, _>>()?
                } else {
                    item.iccids.clone()
                };
                for iccid in &iccids {
                    state.assign(iccid, &bundle, &reference, now);
                    esims.extend(state.order_esim(iccid));
                }
                assigned += iccids.len();
            } else {
                let id = state.next_id as i64;
                state.next_id += 1;
                state.inventory.push(Lot {
                    id,
                    bundle: bundle.name.clone(),
                    total: i64::from(item.quantity),
                    remaining: i64::from(item.quantity),
                    price: bundle.price,
                });
            }
        }
        answer_lines.push(OrderLine {
            iccids: esims.iter().map(|e| e.iccid.clone()).collect(),
            esims,
            kind: "bundle".to_owned(),
            item: bundle.name.clone(),
            quantity: item.quantity,
            sub_total: bundle.price * f64::from(item.quantity),
            price_per_unit: bundle.price,
            allow_reassign: item.allow_reassign,
        });
    }
    let response = OrderResponse {
        order: answer_lines,
        total,
        currency,
        status: if validate { "validated" } else { "completed" }.to_owned(),
        status_message: if validate {
            "Order is valid".to_owned()
        } else {
            format!("Order completed: {assigned} eSIMs assigned")
        },
        order_reference: if validate { String::new() } else { reference },
        created_date: Some(rfc3339(now)),
        assigned: request.assign && !validate,
        valid: validate.then_some(true),
    };
    if validate {
        return Ok(Json(response));
    }
    state.balance -= total;
    state.purchases += 1;
    let skus: Vec<&str> = response.order.iter().map(|l| l.item.as_str()).collect();
    let purchase = Purchase::now(
        response.order_reference.clone(),
        None,
        skus.join("+"),
        response.order.iter().map(|l| l.quantity).sum(),
    );
    state.sold.push(purchase);
    let ready_at = if assigned > ASYNC_THRESHOLD {
        now + Duration::milliseconds(ASYNC_DELAY_MS)
    } else {
        now
    };
    let order = SimOrder { response, ready_at };
    let view = order.view(now);
    state.orders.push(order);
    Ok(Json(view))
}

/// Optional lower and upper bounds of a creation time.
type TimeWindow = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `createdAt=gte:…` / `createdAt=lte:…` bounds.
fn created_bounds(pairs: &[(String, String)]) -> Result<TimeWindow, Refusal> {
    let mut from = None;
    let mut to = None;
    for (key, value) in pairs.iter().filter(|(k, _)| k == "createdAt") {
        let (op, at) = value
            .split_once(':')
            .ok_or_else(|| bad_request(format!("Bad createdAt {value}")))?;
        let at = DateTime::parse_from_rfc3339(at)
            .map_err(|_| bad_request(format!("Bad createdAt {key}={value}")))?
            .with_timezone(&Utc);
        match op {
            "gte" => from = Some(at),
            "lte" => to = Some(at),
            _ => return Err(bad_request(format!("Bad createdAt operator {op}"))),
        }
    }
    Ok((from, to))
}

async fn list_orders(
    State(sandbox): State<EsimGoSandbox>,
    RawQuery(query): RawQuery,
) -> Answer<Vec<OrderResponse>> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let page = number(get("page"), "page", 1)?.max(1) as usize;
    let limit = number(get("limit"), "limit", 10)?.clamp(1, 1000) as usize;
    let (from, to) = created_bounds(&pairs)?;
    let state = sandbox.lock();
    let now = Utc::now();
    let orders = state
        .orders
        .iter()
        .map(|o| o.view(now))
        .filter(|o| {
            let at = o
                .created_date
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                .map(|d| d.with_timezone(&Utc));
            from.is_none_or(|f| at.is_some_and(|a| a >= f))
                && to.is_none_or(|t| at.is_some_and(|a| a <= t))
        })
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    Ok(Json(orders))
}

async fn get_order(
    State(sandbox): State<EsimGoSandbox>,
    Path(reference): Path<String>,
) -> Answer<OrderResponse> {
    let state = sandbox.lock();
    state
        .orders
        .iter()
        .find(|o| o.response.order_reference == reference)
        .map(|o| Json(o.view(Utc::now())))
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Order not found"))
}

// ---------------------------------------------------------------- inventory

async fn inventory(State(sandbox): State<EsimGoSandbox>) -> Answer<Inventory> {
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

async fn refund_inventory(
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

async fn apply_bundle(
    State(sandbox): State<EsimGoSandbox>,
    request: Result<Json<ApplyBundle>, JsonRejection>,
) -> Answer<ApplyResponse> {
    let apply = body(request)?;
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

// -------------------------------------------------------------------- eSIMs

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageParams {
    page: Option<String>,
    per_page: Option<String>,
}

async fn list_esims(
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

async fn update_esim(
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
fn with_esim<T>(
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
struct DetailParams {
    additional_fields: Option<String>,
}

async fn esim_details(
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
struct BundleParams {
    include_used: Option<String>,
    limit: Option<String>,
}

fn bundles_of(esim: &SimEsim, include_used: bool, limit: usize) -> EsimBundles {
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

async fn esim_bundles(
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

async fn bundle_status(
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
struct RevokeParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    refund_to_balance: Option<String>,
}

fn revoke(
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

async fn revoke_bundle(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, name)): Path<(String, String)>,
    Query(params): Query<RevokeParams>,
) -> Answer<StatusResponse> {
    revoke(&sandbox, &iccid, &name, None, &params)
}

async fn revoke_assignment(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, name, id)): Path<(String, String, String)>,
    Query(params): Query<RevokeParams>,
) -> Answer<StatusResponse> {
    revoke(&sandbox, &iccid, &name, Some(&id), &params)
}

async fn history(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
) -> Answer<Vec<HistoryEntry>> {
    with_esim(&sandbox, &iccid, |e| Ok(Json(e.history.clone())))
}

async fn location(
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

async fn refresh(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
) -> Answer<MessageResponse> {
    with_esim(&sandbox, &iccid, |_| {
        Ok(Json(MessageResponse {
            message: "Refresh requested".to_owned(),
        }))
    })
}

async fn compatible(
    State(sandbox): State<EsimGoSandbox>,
    Path((iccid, bundle)): Path<(String, String)>,
) -> Answer<Compatibility> {
    with_esim(&sandbox, &iccid, |_| Ok(()))?;
    if sandbox.lock().bundle(&bundle).is_none() {
        return Err(refuse(StatusCode::NOT_FOUND, "Bundle not found"));
    }
    Ok(Json(Compatibility { compatible: true }))
}

async fn sms(
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
struct AssignmentParams {
    reference: Option<String>,
}

async fn assignments(
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

// -------------------------------------------------------------- organisation

async fn organisation(State(sandbox): State<EsimGoSandbox>) -> Answer<OrganisationResponse> {
    let state = sandbox.lock();
    Ok(Json(OrganisationResponse {
        organisations: vec![Organisation {
            name: "simgate sandbox".to_owned(),
            api_key: state.config.api_key.clone(),
            tax_liable: "false".to_owned(),
            country: "GB".to_owned(),
            callback_url: String::new(),
            groups: vec![
                "Standard Fixed".to_owned(),
                "Standard Unlimited Essential".to_owned(),
            ],
            currency: state.config.currency.clone(),
            balance: (state.balance * 100.0).round() / 100.0,
            users: vec![OrganisationUser {
                first_name: "Sandbox".to_owned(),
                last_name: "User".to_owned(),
                role: "admin".to_owned(),
                email_address: "sandbox@simgate.test".to_owned(),
                phone_number: String::new(),
                time_zone: "UTC".to_owned(),
            }],
        }],
    }))
}

#[derive(Debug, Deserialize)]
struct BalanceParams {
    amount: Option<String>,
}

async fn top_up_balance(
    State(sandbox): State<EsimGoSandbox>,
    Query(params): Query<BalanceParams>,
) -> Answer<MessageResponse> {
    let amount: u64 = params
        .amount
        .as_deref()
        .and_then(|a| a.parse().ok())
        .filter(|a| *a > 0)
        .ok_or_else(|| bad_request("amount must be a positive integer"))?;
    sandbox.lock().balance += amount as f64;
    Ok(Json(MessageResponse {
        message: format!("Balance topped up by {amount}"),
    }))
}

async fn groups() -> Answer<BundleGroups> {
    Ok(Json(BundleGroups {
        groups: ["Standard Fixed", "Standard Unlimited Essential"]
            .into_iter()
            .map(|name| BundleGroup {
                name: name.to_owned(),
            })
            .collect(),
    }))
}

// --------------------------------------------------------------------- admin

async fn stats(State(sandbox): State<EsimGoSandbox>) -> Json<serde_json::Value> {
    let state = sandbox.lock();
    Json(serde_json::json!({
        "purchases": state.purchases,
        "orders": state.orders.len(),
        "esims": state.esims.len(),
        "balance": state.balance,
    }))
}

async fn list_purchases(State(sandbox): State<EsimGoSandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

#[derive(Debug, Deserialize)]
struct Consume {
    bytes: i64,
}

/// Consumes data as a device would: from the oldest live assignment.
async fn consume(
    State(sandbox): State<EsimGoSandbox>,
    Path(iccid): Path<String>,
    request: Result<Json<Consume>, JsonRejection>,
) -> Answer<EsimBundles> {
    let Consume { bytes } = body(request)?;
    if bytes < 0 {
        return Err(bad_request("bytes must not be negative"));
    }
    let (answer, callback, target) = {
        let mut state = sandbox.lock();
        let target = state
            .callback_url
            .clone()
            .map(|url| (url, state.config.api_key.clone()));
        let esim = state
            .esims
            .get_mut(&iccid)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Unknown ICCID"))?;
        let now = Utc::now();
        let assignment = esim
            .assignments
            .iter_mut()
            .find(|a| matches!(a.state(now), "queued" | "active"))
            .ok_or_else(|| bad_request("No live bundle on this eSIM"))?;
        assignment.started_at.get_or_insert(now);
        if !assignment.unlimited {
            assignment.remaining_bytes = (assignment.remaining_bytes - bytes).max(0);
        }
        let callback = UsageCallback {
            iccid: iccid.clone(),
            alert_type: "Utilisation".to_owned(),
            bundle: CallbackBundle {
                id: Some(assignment.id.to_string()),
                reference: Some(assignment.reference.clone()),
                name: assignment.bundle.clone(),
                description: String::new(),
                initial_quantity: assignment.initial_bytes,
                remaining_quantity: assignment.remaining_bytes,
                start_time: assignment.started_at.map(rfc3339),
                end_time: assignment
                    .started_at
                    .map(|s| rfc3339(s + Duration::days(assignment.duration_days))),
                unlimited: assignment.unlimited,
            },
        };
        (bundles_of(esim, true, 200), callback, target)
    };
    if let Some((url, api_key)) = target {
        send_callback(&sandbox, &url, &api_key, &callback).await;
    }
    Ok(Json(answer))
}

/// Sends a V3 usage callback, signed as eSIM Go signs them.
async fn send_callback(
    sandbox: &EsimGoSandbox,
    url: &str,
    api_key: &str,
    callback: &UsageCallback,
) {
    let Ok(body) = serde_json::to_vec(callback) else {
        return;
    };
    let signature = hex::encode(simgate_connectors::esim_go::client::callback_signature(
        api_key, &body,
    ));
    let sent = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header(
            simgate_connectors::esim_go::client::SIGNATURE_HEADER,
            signature,
        )
        .body(body)
        .send()
        .await;
    if sent.is_ok_and(|r| r.status().is_success()) {
        sandbox.lock().callbacks_delivered += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_catalogue_is_large_unique_and_deterministic() {
        let bundles = generate_catalogue(1);
        assert!(bundles.len() >= 5000, "{}", bundles.len());
        let names: HashSet<&str> = bundles.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names.len(), bundles.len(), "bundle names are unique");
        let countries: HashSet<&str> = bundles
            .iter()
            .flat_map(|b| b.countries.iter().map(|c| c.iso.as_str()))
            .collect();
        assert!(countries.len() >= 180, "{}", countries.len());
        assert_eq!(generate_catalogue(1), bundles);
    }
}
