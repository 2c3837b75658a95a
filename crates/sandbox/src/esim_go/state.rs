//! The eSIM Go simulator's state: configuration, the in-memory store
//! behind one mutex, the generated catalogue, and the router over it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simgate_connectors::esim_go::types::*;
use simgate_domain::{CountryCode, Iccid};

use crate::esim_go::routes::admin::*;
use crate::esim_go::routes::catalogue::*;
use crate::esim_go::routes::esims::*;
use crate::esim_go::routes::inventory::*;
use crate::esim_go::routes::orders::*;
use crate::esim_go::routes::organisation::*;
use crate::esim_go::routes::*;
use crate::esim_go::sized::generate_sized_catalogue;
use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, SimulatorHandle, purchases_path, serve, with_faults,
};

/// The SM-DP+ address of every sandbox eSIM.
pub const SANDBOX_SMDP: &str = "smdp.sandbox.esim-go.simgate.test";

/// Orders assigning more eSIMs than this are processed asynchronously, as
/// eSIM Go documents: their eSIMs appear only after [`ASYNC_DELAY_MS`].
pub(crate) const ASYNC_THRESHOLD: usize = 5;
/// How long an asynchronous order stays `processing`.
pub(crate) const ASYNC_DELAY_MS: i64 = 300;

/// Largest catalogue page the sandbox serves.
pub(crate) const MAX_PER_PAGE: u32 = 1000;

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
    /// Number of bundles in the catalogue, for benchmarks of a larger (or
    /// smaller) one; `None`: the default catalogue of ~6,000.
    pub catalogue_size: Option<usize>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            api_key: "sandbox-esim-go-key".to_owned(),
            currency: "USD".to_owned(),
            initial_balance: 1_000_000.0,
            seed: 1,
            catalogue_size: None,
        }
    }
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("api_key", &"[REDACTED]")
            .field("currency", &self.currency)
            .field("seed", &self.seed)
            .field("catalogue_size", &self.catalogue_size)
            .finish_non_exhaustive()
    }
}

/// One bundle assignment on a simulated eSIM.
#[derive(Debug, Clone)]
pub(crate) struct SimAssignment {
    pub(crate) id: u64,
    pub(crate) bundle: String,
    pub(crate) initial_bytes: i64,
    pub(crate) remaining_bytes: i64,
    pub(crate) unlimited: bool,
    pub(crate) duration_days: i64,
    pub(crate) price: f64,
    pub(crate) assigned_at: DateTime<Utc>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) revoked: bool,
    pub(crate) reference: String,
}

impl SimAssignment {
    pub(crate) fn state(&self, now: DateTime<Utc>) -> &'static str {
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

    pub(crate) fn wire(&self, now: DateTime<Utc>) -> Assignment {
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
pub(crate) struct SimEsim {
    pub(crate) iccid: String,
    pub(crate) matching_id: String,
    pub(crate) pin: String,
    pub(crate) puk: String,
    pub(crate) customer_ref: Option<String>,
    pub(crate) assigned_at: DateTime<Utc>,
    pub(crate) assignments: Vec<SimAssignment>,
    pub(crate) history: Vec<HistoryEntry>,
}

/// An order as the sandbox keeps it: complete from the start, but shown as
/// `processing`, without its eSIMs, until it is ready.
#[derive(Debug, Clone)]
pub(crate) struct SimOrder {
    pub(crate) response: OrderResponse,
    pub(crate) ready_at: DateTime<Utc>,
}

impl SimOrder {
    pub(crate) fn view(&self, now: DateTime<Utc>) -> OrderResponse {
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
pub(crate) struct Lot {
    pub(crate) id: i64,
    pub(crate) bundle: String,
    pub(crate) total: i64,
    pub(crate) remaining: i64,
    pub(crate) price: f64,
}

pub(crate) struct SandboxState {
    pub(crate) config: SandboxConfig,
    pub(crate) bundles: Vec<Bundle>,
    pub(crate) by_name: BTreeMap<String, usize>,
    pub(crate) balance: f64,
    pub(crate) orders: Vec<SimOrder>,
    pub(crate) esims: BTreeMap<String, SimEsim>,
    pub(crate) inventory: Vec<Lot>,
    pub(crate) applies: BTreeMap<String, Vec<String>>,
    pub(crate) purchases: usize,
    pub(crate) sold: Vec<Purchase>,
    pub(crate) rng: StdRng,
    pub(crate) next_serial: u64,
    pub(crate) next_id: u64,
    pub(crate) callback_url: Option<String>,
    pub(crate) callbacks_delivered: usize,
}

/// The eSIM Go simulator; clones share one state.
#[derive(Clone)]
pub struct EsimGoSandbox {
    pub(crate) state: Arc<Mutex<SandboxState>>,
    pub(crate) faults: Arc<FaultInjector>,
}

impl EsimGoSandbox {
    /// A simulator with a freshly generated catalogue.
    pub fn new(config: SandboxConfig) -> Self {
        let bundles = match config.catalogue_size {
            Some(size) => generate_sized_catalogue(config.seed, size),
            None => generate_catalogue(config.seed),
        };
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
            .route("/", get(api_details))
            .route("/esims/qr/{reference}", get(deprecated_qr))
            .route("/esims/csv/{reference}", get(deprecated_csv))
            .route(
                "/esims/{iccid}/bundles",
                get(esim_bundles).post(apply_deprecated),
            )
            .route(
                "/esims/{iccid}/bundles/{name}/applications/{id}",
                delete(revoke_application),
            )
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

    /// Sets the prepaid balance, as a top-up or spending elsewhere would:
    /// for tests of what simgate does with a balance running low.
    pub fn set_balance(&self, balance: f64) {
        self.lock().balance = balance;
    }

    /// Transaction orders that bought something: proof of "never bought twice".
    pub fn purchases(&self) -> usize {
        self.lock().purchases
    }

    /// Every transaction order, oldest first: what `GET /__admin/purchases` lists.
    pub fn sold(&self) -> Vec<Purchase> {
        self.lock().sold.clone()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SandboxState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Regions (name, bundle-name tag, member ISO 3166-1 alpha-2 codes).
pub(crate) const REGIONS: &[(&str, &str, &str)] = &[
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
pub(crate) const SIZES_GB: [Option<i64>; 8] = [
    Some(1),
    Some(2),
    Some(3),
    Some(5),
    Some(10),
    Some(20),
    Some(50),
    None,
];
pub(crate) const DURATIONS: [i64; 4] = [1, 7, 15, 30];

pub(crate) fn countries_by_region() -> Vec<Country> {
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

pub(crate) fn bundle(
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

pub(crate) fn price(gb: Option<i64>, days: i64, tier: f64) -> f64 {
    let data = gb.map_or(60.0, |gb| 1.2 + gb as f64 * 0.85);
    let raw = (data + days as f64 * 0.12) * tier;
    (raw * 100.0).round() / 100.0
}

/// Generates ~6,000 bundles over ~190 countries plus regional ones.
/// One country's bundle of `gb` (`None`: unlimited) for `days`, named and
/// described as eSIM Go does (`esim_1GB_7D_JP_V2`), priced at `tier`.
pub(crate) fn country_bundle(
    country: &Country,
    gb: Option<i64>,
    days: i64,
    version: u32,
    tier: f64,
) -> Bundle {
    let code = &country.iso;
    let size = gb.map_or("UL".to_owned(), |gb| format!("{gb}GB"));
    let data = gb.map_or("Unlimited".to_owned(), |gb| format!("{gb}GB"));
    bundle(
        format!("esim_{size}_{days}D_{code}_V{version}"),
        format!("eSIM, {data}, {days} Days, {}, V{version}", country.name),
        vec![country.clone()],
        gb,
        days,
        price(gb, days, tier),
    )
}

pub(crate) fn generate_catalogue(seed: u64) -> Vec<Bundle> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bundles = Vec::new();
    let countries = countries_by_region();
    for country in &countries {
        let tier = [0.8, 1.0, 1.3, 1.7][rng.random_range(0..4)];
        for gb in SIZES_GB {
            for days in DURATIONS {
                bundles.push(country_bundle(country, gb, days, 2, tier));
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

impl SandboxState {
    pub(crate) fn mint_esim(&mut self, now: DateTime<Utc>) -> Result<String, Refusal> {
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

    pub(crate) fn assign(
        &mut self,
        iccid: &str,
        bundle: &Bundle,
        reference: &str,
        now: DateTime<Utc>,
    ) {
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

    pub(crate) fn order_esim(&self, iccid: &str) -> Option<OrderEsim> {
        self.esims.get(iccid).map(|e| OrderEsim {
            iccid: e.iccid.clone(),
            matching_id: e.matching_id.clone(),
            smdp_address: SANDBOX_SMDP.to_owned(),
        })
    }

    pub(crate) fn bundle(&self, name: &str) -> Option<Bundle> {
        self.by_name.get(name).map(|&i| self.bundles[i].clone())
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
