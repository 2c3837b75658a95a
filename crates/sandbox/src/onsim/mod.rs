//! A stateful simulator of the ONSIM reseller API: numbers and SIMs held in
//! reserve, lines provisioned on them (own UC or ONSIM UC), services,
//! bundles with usage, recording, eSIM codes that refresh until installed,
//! groups, ports and subscribers, and cease.
//!
//! It starts with RESERVED numbers, eSIMs and pSIMs (valid printed ICCIDs;
//! the API speaks their 19-digit short forms), a catalogue, and ports in
//! every documented state plus one undocumented (`ON HOLD`).
//! `GET /account/{mpn}` answers `account` as an array for accounts with an
//! even `i_account` and as an object for odd ones: both documented forms.
//!
//! Every route but the admin ones needs `Authorization: Bearer <api_key>`.
//! Admin hooks under [`ADMIN_PREFIX`]: `POST /__admin/accounts/{mpn}/install`
//! (the line's eSIM is installed and enabled on a device) and
//! `POST /__admin/accounts/{mpn}/usage` (`{"mb": n}`: data used) and
//! `GET /__admin/purchases` (every line provisioned, by number, with its
//! bundle; ceased lines stay listed; see [`crate::simulator::PurchaseList`]),
//! besides the shared `/__admin/faults`. QR images the generator links to are
//! served, without auth, under `/__qr/`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{Months, NaiveDateTime, Timelike, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use simgate_domain::{Iccid, InventoryState, Msisdn, SimKind};

use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, PurchaseList, SimulatorHandle, bearer_matches,
    purchases_path, serve, with_faults,
};
use simgate_connectors::onsim::transform;
use simgate_connectors::onsim::types::{
    Account, AccountInfo, Bundles, Catalogue, CatalogueBody, CatalogueBundle, CatalogueProduct,
    Cease, DataBundle, ErrorBody, ErrorDetail, EsimQuery, EsimStatus, GROUP_HOME_LOCATIONS,
    GenerateQr, GroupList, GroupRecord, HOME_LOCATIONS, MOBILE_DATA, Message, NumberEntry,
    NumberList, OneOrMany, PROVISIONED, PbxInfo, PortList, PortRecord, ProvisionOnsimUc,
    ProvisionOwnUc, Provisioned, RecordingUpdate, Services, SimEntry, SimList, SubscriberEntry,
    SubscriberList, SubscriberQuery,
};

/// The API key the sandbox accepts unless configured otherwise.
pub const DEFAULT_API_KEY: &str = "sandbox-onsim-key";
/// The SM-DP+ address of sandbox eSIMs unless configured otherwise.
pub const SANDBOX_SMDP: &str = "smdp.sandbox.onsim.simgate.test";
/// The domain of sandbox SIP addresses.
pub const SIP_DOMAIN: &str = "sip.sandbox.onsim.simgate.test";
/// The bundle of lines provisioned on their own UC.
pub const OWN_UC_BUNDLE: &str = "BASE";
/// How many numbers, eSIMs and pSIMs the sandbox starts with in reserve.
const RESERVED_NUMBERS: u64 = 20;
const RESERVED_ESIMS: u64 = 20;
const RESERVED_PSIMS: u64 = 10;
/// The first `i_account` handed out.
const FIRST_ACCOUNT: u64 = 100_001;
/// Where generated QR images are served (outside the API: no auth).
const QR_PREFIX: &str = "/__qr";
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Configuration of the simulator.
#[derive(Clone)]
pub struct OnsimSandboxConfig {
    /// The bearer key every API call must carry (default [`DEFAULT_API_KEY`]).
    pub api_key: String,
    /// The SM-DP+ host in activation codes (default [`SANDBOX_SMDP`]).
    pub smdp: String,
}

impl Default for OnsimSandboxConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.to_owned(),
            smdp: SANDBOX_SMDP.to_owned(),
        }
    }
}

impl std::fmt::Debug for OnsimSandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnsimSandboxConfig")
            .field("smdp", &self.smdp)
            .finish_non_exhaustive()
    }
}

struct SimRecord {
    kind: SimKind,
    state: InventoryState,
    mpn: Option<String>,
    /// The current matching id of an eSIM; `None` for a pSIM.
    matching_id: Option<String>,
    installed: bool,
}

#[derive(Clone, Copy)]
struct Switches {
    data: bool,
    voice: bool,
    messaging: bool,
    hotspot: bool,
}

struct BundleRecord {
    sku: String,
    allowance: Option<u64>,
    used: u64,
    from: NaiveDateTime,
    to: NaiveDateTime,
}

struct AccountRecord {
    i_account: u64,
    /// The SIM's 19-digit short form.
    sim: String,
    /// The SIP username. SIP passwords are handed out once and never read
    /// back through the API, so the sandbox keeps none.
    pbx_user: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    group: Option<String>,
    services: Switches,
    bundle: BundleRecord,
    voice_recording: bool,
    sms_recording: bool,
}

/// What a provisioning call adds to the common steps.
struct NewAccount {
    pbx_user: Option<String>,
    pbx_password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    group: Option<String>,
    bundle: String,
}

struct OnsimState {
    config: OnsimSandboxConfig,
    numbers: BTreeMap<String, InventoryState>,
    /// Numbers of ceased lines: never listed or reused.
    quarantined: BTreeSet<String>,
    /// SIMs by 19-digit short form.
    sims: BTreeMap<String, SimRecord>,
    /// Accounts by number.
    accounts: BTreeMap<String, AccountRecord>,
    catalogue: CatalogueBody,
    groups: Vec<GroupRecord>,
    ports: BTreeMap<String, PortRecord>,
    /// Activation codes of generated QR images, by image file name.
    qr_images: BTreeMap<String, String>,
    /// Every line provisioned, oldest first.
    sold: Vec<Purchase>,
    next_account: u64,
    rng: StdRng,
}

/// The ONSIM simulator; clones share one state.
#[derive(Clone)]
pub struct OnsimSandbox {
    state: Arc<Mutex<OnsimState>>,
    faults: Arc<FaultInjector>,
}

/// An error answer, in the shape this module assumes for ONSIM.
struct Refusal {
    status: StatusCode,
    code: String,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code,
                    message: self.message,
                },
            }),
        )
            .into_response()
    }
}

type Answer = Result<Response, Refusal>;

fn error(status: StatusCode, code: &str, message: &str) -> Refusal {
    Refusal {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// The error body of an injected fault, its code taken from the status.
fn fault_body(status: StatusCode, message: &str) -> Response {
    let code = status
        .canonical_reason()
        .unwrap_or("ERROR")
        .to_ascii_uppercase()
        .replace(' ', "_");
    error(status, &code, message).into_response()
}

fn bad_request(code: &str, message: &str) -> Refusal {
    error(StatusCode::BAD_REQUEST, code, message)
}

fn account_not_found(mpn: &str) -> Refusal {
    error(
        StatusCode::NOT_FOUND,
        "ACCOUNT_NOT_FOUND",
        &format!("No account with MPN {mpn}"),
    )
}

fn ok(message: &str) -> Answer {
    Ok(Json(Message {
        message: message.to_owned(),
    })
    .into_response())
}

/// Reads a JSON body without echoing any of its values (a password may be
/// among them).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        bad_request(
            "INVALID_REQUEST",
            &format!(
                "Malformed request body at line {} column {}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// An `ON`/`OFF` switch of a request; `None` leaves it as it is.
fn switch(field: &str, value: Option<&str>) -> Result<Option<bool>, Refusal> {
    match value {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("ON") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("OFF") => Ok(Some(false)),
        Some(_) => Err(bad_request(
            "INVALID_VALUE",
            &format!("{field} must be ON or OFF"),
        )),
    }
}

/// The 19 digits ONSIM takes; a printed 20-digit ICCID is refused.
fn short_iccid(raw: &str) -> Result<String, Refusal> {
    let raw = raw.trim();
    if raw.len() == 19 && raw.bytes().all(|b| b.is_ascii_digit()) {
        Ok(raw.to_owned())
    } else {
        Err(bad_request(
            "INVALID_ICCID",
            "iccid must be the 19 digit ICCID (remove the final digit from the printed version)",
        ))
    }
}

/// ONSIM's group name rule: 3–45 of `a-z A-Z 0-9 _ -`, starting
/// alphanumeric, with at least one letter.
fn valid_group_name(name: &str) -> bool {
    (3..=45).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().any(|b| b.is_ascii_alphabetic())
}

fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(0).unwrap_or(now)
}

fn catalogue() -> CatalogueBody {
    let product = |id: u32, name: &str, description: &str| CatalogueProduct {
        id,
        name: name.to_owned(),
        description: Some(description.to_owned()),
    };
    let bundle = |sku: &str, name: &str, allowance: Option<u64>| CatalogueBundle {
        sku: sku.to_owned(),
        name: name.to_owned(),
        allowance,
        unit: Some("megabyte".to_owned()),
    };
    CatalogueBody {
        products: vec![
            product(18, "ONSIM Mobile", "Mobile number with ONSIM UC"),
            product(19, "ONSIM Mobile + Landline", "Mobile and landline numbers"),
            product(21, "ONSIM Data Only", "Data SIM without calls"),
        ],
        bundles: vec![
            bundle("BASE", "Base (no data)", Some(0)),
            bundle("BACKGROUND-ONLY", "Background data only", Some(500)),
            bundle("2GB", "2GB data", Some(2048)),
            bundle("4GB", "4GB data", Some(4096)),
            bundle("10GB", "10GB data", Some(10_240)),
            bundle("20GB", "20GB data", Some(20_480)),
            bundle("UNLIMITED", "Unlimited data", None),
        ],
    }
}

fn ports() -> BTreeMap<String, PortRecord> {
    let seeds = [
        ("1001", "447700900301", "COMPLETE", "PORT-IN"),
        ("1002", "447700900302", "IN PROGRESS", "PORT-IN"),
        ("1003", "447700900303", "IN PROGRESS", "PORT-OUT"),
        ("1004", "447700900304", "INITIAL", "PORT-IN"),
        ("1005", "447700900305", "FAILED", "PORT-IN"),
        ("1006", "447700900306", "CLOSED", "PORT-OUT"),
        ("1007", "447700900307", "ON HOLD", "PORT-IN"),
    ];
    seeds
        .iter()
        .map(|(id, number, status, kind)| {
            let port = PortRecord {
                tr_id: (*id).to_owned(),
                number: (*number).to_owned(),
                order_date: Some("2025-01-01".to_owned()),
                pac: Some(format!("PAC{id}")),
                portin_date: Some("2025-01-02".to_owned()),
                portin_number: Some(format!("4477009004{}", &id[2..])),
                reseller_id: Some("1".to_owned()),
                status: (*status).to_owned(),
                kind: Some((*kind).to_owned()),
                updated_date: Some("Jan 2, 2025 1:20:30 PM".to_owned()),
                valid_until: Some("2025-01-30".to_owned()),
            };
            ((*id).to_owned(), port)
        })
        .collect()
}

impl OnsimSandbox {
    /// A simulator with its reserve of numbers and SIMs, catalogue and ports.
    pub fn new(config: OnsimSandboxConfig) -> Self {
        let mut state = OnsimState {
            config,
            numbers: (0..RESERVED_NUMBERS)
                .map(|i| (format!("4477009001{i:02}"), InventoryState::Reserved))
                .collect(),
            quarantined: BTreeSet::new(),
            sims: BTreeMap::new(),
            accounts: BTreeMap::new(),
            catalogue: catalogue(),
            groups: Vec::new(),
            ports: ports(),
            qr_images: BTreeMap::new(),
            sold: Vec::new(),
            next_account: FIRST_ACCOUNT,
            rng: StdRng::seed_from_u64(3),
        };
        for (kind, base, count) in [
            (SimKind::Esim, 10_000, RESERVED_ESIMS),
            (SimKind::Psim, 20_000, RESERVED_PSIMS),
        ] {
            for i in 0..count {
                let matching_id = (kind == SimKind::Esim).then(|| state.matching_id());
                state.sims.insert(
                    format!("89445300000000{:05}", base + i),
                    SimRecord {
                        kind,
                        state: InventoryState::Reserved,
                        mpn: None,
                        matching_id,
                        installed: false,
                    },
                );
            }
        }
        Self {
            state: Arc::new(Mutex::new(state)),
            faults: Arc::new(FaultInjector::default()),
        }
    }

    /// The full router: the API behind bearer auth and faults, plus admin hooks.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/account", delete(cease))
            .route("/account/esim", post(esim))
            .route("/account/esim/generate", post(generate_qr))
            .route("/account/pbxinfo/{mpn}", post(update_settings))
            .route("/account/{mpn}", get(account_info))
            .route("/account/{mpn}/bundle/{sku}", post(change_bundle))
            .route("/account/{mpn}/recording", post(set_recording))
            .route("/reseller/catalogue", get(list_catalogue))
            .route("/reseller/provision", post(provision_own_uc))
            .route("/reseller/provision-onsim", post(provision_onsim_uc))
            .route("/reseller/subscribers", post(subscribers))
            .route("/reseller/groups", get(groups).post(add_group))
            .route("/numbers/{key}", get(numbers).post(add_number))
            .route("/sims/{state}/{kind}", get(sims))
            .route("/port/all/{state}", get(list_ports))
            .route("/port/{id}", get(port))
            .route_layer(middleware::from_fn_with_state(self.clone(), require_key))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "NOT_FOUND", "No such endpoint") })
            .with_state(self.clone());
        let admin = Router::new()
            .route(
                &format!("{ADMIN_PREFIX}/accounts/{{mpn}}/install"),
                post(admin_install),
            )
            .route(
                &format!("{ADMIN_PREFIX}/accounts/{{mpn}}/usage"),
                post(admin_usage),
            )
            .route(&purchases_path(), get(list_purchases))
            .route(&format!("{QR_PREFIX}/{{file}}"), get(qr_image))
            .with_state(self.clone());
        with_faults(api, self.faults.clone(), fault_body).merge(admin)
    }

    /// Serves on the listener in the background.
    pub fn spawn(&self, listener: tokio::net::TcpListener) -> std::io::Result<SimulatorHandle> {
        serve(listener, self.router())
    }

    /// Every line provisioned, oldest first: what `GET /__admin/purchases` lists.
    pub fn sold(&self) -> Vec<Purchase> {
        self.lock().sold.clone()
    }

    /// The numbers free to provision, in order: what tests provision with.
    pub fn reserved_numbers(&self) -> Vec<Msisdn> {
        self.lock()
            .numbers
            .iter()
            .filter(|(_, state)| **state == InventoryState::Reserved)
            .filter_map(|(mpn, _)| Msisdn::parse(mpn).ok())
            .collect()
    }

    /// The SIMs of a kind free to provision, as printed (20 digits with the
    /// check digit); the API takes their first 19 digits.
    pub fn reserved_sims(&self, kind: SimKind) -> Vec<Iccid> {
        self.lock()
            .sims
            .iter()
            .filter(|(_, sim)| {
                sim.state == InventoryState::Reserved && (kind == SimKind::All || sim.kind == kind)
            })
            .filter_map(|(short, _)| Iccid::with_check_digit(short).ok())
            .collect()
    }

    /// Marks the eSIM of a line installed and enabled, as a device would;
    /// false when the number has no eSIM line.
    pub fn install(&self, mpn: &Msisdn) -> bool {
        let mut state = self.lock();
        let Some(short) = state.accounts.get(mpn.as_str()).map(|a| a.sim.clone()) else {
            return false;
        };
        match state.sims.get_mut(&short) {
            Some(sim) if sim.kind == SimKind::Esim => {
                sim.installed = true;
                true
            }
            _ => false,
        }
    }

    /// Consumes data of a line's bundle; false when there is no such line.
    pub fn use_data(&self, mpn: &Msisdn, mb: u64) -> bool {
        match self.lock().accounts.get_mut(mpn.as_str()) {
            Some(account) => {
                account.bundle.used = account.bundle.used.saturating_add(mb);
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, OnsimState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl OnsimState {
    fn random(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.rng.random_range(0..alphabet.len())]))
            .collect()
    }

    fn matching_id(&mut self) -> String {
        (0..4)
            .map(|_| self.random(CODE_ALPHABET, 5))
            .collect::<Vec<_>>()
            .join("-")
    }

    fn activation_code(&self, matching_id: &str) -> String {
        format!("LPA:1${}${matching_id}", self.config.smdp)
    }

    fn bundle(&self, sku: &str) -> Option<BundleRecord> {
        let bundle = self
            .catalogue
            .bundles
            .iter()
            .find(|b| b.sku.eq_ignore_ascii_case(sku))?;
        let from = now();
        Some(BundleRecord {
            sku: bundle.sku.clone(),
            allowance: bundle.allowance,
            used: 0,
            from,
            to: from.checked_add_months(Months::new(1)).unwrap_or(from),
        })
    }

    /// The steps both provisioning calls share: the number must be held in
    /// reserve, the SIM too (the next free eSIM when none is named).
    fn provision(
        &mut self,
        mpn: &str,
        iccid: Option<&str>,
        details: NewAccount,
    ) -> Result<Provisioned, Refusal> {
        match self.numbers.get(mpn) {
            Some(InventoryState::Reserved) => {}
            Some(InventoryState::Active) => {
                return Err(error(
                    StatusCode::CONFLICT,
                    "NUMBER_IN_USE",
                    &format!("MPN {mpn} is already active"),
                ));
            }
            None => {
                return Err(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "NUMBER_NOT_IN_INVENTORY",
                    &format!("MPN {mpn} is not a reserved number of this reseller"),
                ));
            }
        }
        let short = match iccid {
            Some(raw) => {
                let short = short_iccid(raw)?;
                match self.sims.get(&short).map(|sim| sim.state) {
                    Some(InventoryState::Reserved) => short,
                    Some(InventoryState::Active) => {
                        return Err(error(
                            StatusCode::CONFLICT,
                            "SIM_IN_USE",
                            &format!("SIM {short} is already active"),
                        ));
                    }
                    None => {
                        return Err(error(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "SIM_NOT_IN_INVENTORY",
                            &format!("SIM {short} is not a SIM of this reseller"),
                        ));
                    }
                }
            }
            None => self
                .sims
                .iter()
                .find(|(_, sim)| sim.kind == SimKind::Esim && sim.state == InventoryState::Reserved)
                .map(|(short, _)| short.clone())
                .ok_or_else(|| {
                    error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "NO_ESIM_AVAILABLE",
                        "No eSIM is available",
                    )
                })?,
        };
        let bundle = self.bundle(&details.bundle).ok_or_else(|| {
            bad_request(
                "INVALID_BUNDLE",
                &format!("Unknown bundle {}", details.bundle),
            )
        })?;
        let pbx_password = match details.pbx_password.filter(|p| !p.is_empty()) {
            Some(password) => password,
            None => self.random(PASSWORD_ALPHABET, 10),
        };
        let i_account = self.next_account;
        self.next_account += 1;
        self.accounts.insert(
            mpn.to_owned(),
            AccountRecord {
                i_account,
                sim: short.clone(),
                pbx_user: details
                    .pbx_user
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| format!("ONSIM{short}")),
                first_name: details.first_name,
                last_name: details.last_name,
                email: details.email,
                group: details.group,
                services: Switches {
                    data: true,
                    voice: true,
                    messaging: true,
                    hotspot: false,
                },
                bundle,
                voice_recording: false,
                sms_recording: false,
            },
        );
        self.numbers.insert(mpn.to_owned(), InventoryState::Active);
        self.sold.push(Purchase::now(mpn, None, details.bundle, 1));
        let code = self.sims.get_mut(&short).and_then(|sim| {
            sim.state = InventoryState::Active;
            sim.mpn = Some(mpn.to_owned());
            sim.matching_id.clone()
        });
        Ok(Provisioned {
            esim_code: code.map(|id| self.activation_code(&id)),
            iccid: format!("ONSIM{short}"),
            pbx_password: Some(pbx_password),
        })
    }

    fn wire_account(&self, mpn: &str, account: &AccountRecord) -> Account {
        let on = |flag: bool| Some(transform::on_off(flag).to_owned());
        let bundle = &account.bundle;
        Account {
            sim: Some(account.sim.clone()),
            i_account: Some(account.i_account.to_string()),
            mpn: mpn.to_owned(),
            sip_address: Some(format!("{}@{SIP_DOMAIN}", account.pbx_user)),
            services: Services {
                mobile_data: on(account.services.data),
                mobile_hotspot: on(account.services.hotspot),
                mobile_messaging: on(account.services.messaging),
                mobile_voice: on(account.services.voice),
            },
            bundles: Bundles {
                data: Some(DataBundle {
                    bundle_name: bundle.sku.clone(),
                    allowance: bundle.allowance,
                    used: Some(bundle.used),
                    remaining: bundle.allowance.map(|a| a.saturating_sub(bundle.used)),
                    unit: Some("megabyte".to_owned()),
                    period_from: Some(transform::format_time(bundle.from)),
                    period_to: Some(transform::format_time(bundle.to)),
                }),
            },
        }
    }
}

async fn require_key(
    State(sandbox): State<OnsimSandbox>,
    request: Request,
    next: Next,
) -> Response {
    let expected = sandbox.lock().config.api_key.clone();
    if !bearer_matches(request.headers(), &expected) {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "A valid API key is required: Authorization: Bearer YOUR_KEY_HERE",
        )
        .into_response();
    }
    next.run(request).await
}

async fn account_info(State(sandbox): State<OnsimSandbox>, Path(mpn): Path<String>) -> Answer {
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

async fn change_bundle(
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

async fn set_recording(
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

async fn update_settings(
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

async fn esim(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
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
async fn generate_qr(
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
async fn qr_image(State(sandbox): State<OnsimSandbox>, Path(file): Path<String>) -> Answer {
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

async fn cease(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
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

async fn list_catalogue(State(sandbox): State<OnsimSandbox>) -> Json<Catalogue> {
    Json(Catalogue {
        catalogue: sandbox.lock().catalogue.clone(),
    })
}

async fn provision_own_uc(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
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

async fn provision_onsim_uc(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
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

async fn subscribers(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
    let query: SubscriberQuery = if body.is_empty() {
        SubscriberQuery::default()
    } else {
        parse(&body)?
    };
    let provisioned = query
        .state
        .as_deref()
        .is_none_or(|s| s.eq_ignore_ascii_case(PROVISIONED));
    let state = sandbox.lock();
    let subscribers = state
        .accounts
        .iter()
        .filter(|_| provisioned)
        .map(|(mpn, account)| SubscriberEntry {
            mpn: mpn.clone(),
            iccid: Some(account.sim.clone()),
            i_account: Some(account.i_account.to_string()),
            state: PROVISIONED.to_owned(),
            group: account.group.clone(),
            is_recorded: account.voice_recording || account.sms_recording,
            first_name: account.first_name.clone(),
            last_name: account.last_name.clone(),
            email: account.email.clone(),
        })
        .filter(|s| query.is_recorded.is_none_or(|r| r == s.is_recorded))
        .filter(|s| query.group.is_none() || s.group == query.group)
        .collect();
    Ok(Json(SubscriberList { subscribers }).into_response())
}

async fn groups(State(sandbox): State<OnsimSandbox>) -> Json<GroupList> {
    Json(GroupList {
        groups: sandbox.lock().groups.clone(),
    })
}

async fn add_group(State(sandbox): State<OnsimSandbox>, body: Bytes) -> Answer {
    let mut group: GroupRecord = parse(&body)?;
    if !valid_group_name(&group.name) {
        return Err(bad_request(
            "INVALID_GROUP_NAME",
            "name must be 3-45 characters of a-z A-Z 0-9 _ -, start with an alphanumeric \
             character and contain a letter",
        ));
    }
    if group
        .address_line_1
        .as_deref()
        .is_none_or(|line| line.trim().is_empty())
    {
        return Err(bad_request("MISSING_FIELD", "address_line_1 is required"));
    }
    let locations: Vec<String> = group
        .home_location
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|code| code.trim().to_ascii_uppercase())
        .filter(|code| !code.is_empty())
        .collect();
    if locations.is_empty()
        || !locations
            .iter()
            .all(|code| GROUP_HOME_LOCATIONS.contains(&code.as_str()))
    {
        return Err(bad_request(
            "INVALID_HOME_LOCATION",
            "home_location must be GBR, USA or both, comma separated",
        ));
    }
    group.home_location = Some(locations.join(","));
    let mut state = sandbox.lock();
    if state
        .groups
        .iter()
        .any(|g| g.name.eq_ignore_ascii_case(&group.name))
    {
        return Err(error(
            StatusCode::CONFLICT,
            "GROUP_EXISTS",
            &format!("A group named {} already exists", group.name),
        ));
    }
    state.groups.push(group);
    ok("New Group Successfully Added")
}

async fn numbers(State(sandbox): State<OnsimSandbox>, Path(key): Path<String>) -> Answer {
    let wanted = transform::inventory_state(&key)
        .ok_or_else(|| bad_request("INVALID_STATE", "state must be ACTIVE or RESERVED"))?;
    let numbers = sandbox
        .lock()
        .numbers
        .iter()
        .filter(|(_, state)| **state == wanted)
        .map(|(mpn, state)| NumberEntry {
            mpn: mpn.clone(),
            state: Some(transform::inventory_segment(*state).to_owned()),
        })
        .collect();
    Ok(Json(NumberList { numbers }).into_response())
}

async fn add_number(State(sandbox): State<OnsimSandbox>, Path(key): Path<String>) -> Answer {
    if !key.bytes().all(|b| b.is_ascii_digit()) || Msisdn::parse(&key).is_err() {
        return Err(bad_request(
            "INVALID_MPN",
            "mpn must be an E.164 number without +",
        ));
    }
    let mut state = sandbox.lock();
    if state.numbers.contains_key(&key) || state.quarantined.contains(&key) {
        return Err(error(
            StatusCode::CONFLICT,
            "NUMBER_EXISTS",
            &format!("MPN {key} is already known"),
        ));
    }
    state.numbers.insert(key, InventoryState::Reserved);
    Ok((
        StatusCode::CREATED,
        Json(Message {
            message: "Number added".to_owned(),
        }),
    )
        .into_response())
}

async fn sims(
    State(sandbox): State<OnsimSandbox>,
    Path((state, kind)): Path<(String, String)>,
) -> Answer {
    let wanted = transform::inventory_state(&state)
        .ok_or_else(|| bad_request("INVALID_STATE", "state must be ACTIVE or RESERVED"))?;
    let kind = transform::sim_kind(&kind)
        .ok_or_else(|| bad_request("INVALID_TYPE", "type must be ALL, eSIM or pSIM"))?;
    let sims = sandbox
        .lock()
        .sims
        .iter()
        .filter(|(_, sim)| sim.state == wanted && (kind == SimKind::All || sim.kind == kind))
        .map(|(short, sim)| SimEntry {
            iccid: short.clone(),
            kind: transform::sim_kind_segment(sim.kind).to_owned(),
            state: Some(transform::inventory_segment(sim.state).to_owned()),
            mpn: sim.mpn.clone(),
        })
        .collect();
    Ok(Json(SimList { sims }).into_response())
}

async fn list_ports(State(sandbox): State<OnsimSandbox>, Path(state): Path<String>) -> Answer {
    let wanted = state.trim().to_ascii_uppercase();
    let valid = [
        "ALL",
        "INITIAL",
        "IN PROGRESS",
        "FAILED",
        "COMPLETE",
        "CLOSED",
    ];
    if !valid.contains(&wanted.as_str()) {
        return Err(bad_request(
            "INVALID_STATE",
            "state must be one of ALL, INITIAL, IN PROGRESS, FAILED, COMPLETE, CLOSED",
        ));
    }
    let ports = sandbox
        .lock()
        .ports
        .values()
        .filter(|p| wanted == "ALL" || p.status == wanted)
        .cloned()
        .collect();
    Ok(Json(PortList {
        port: OneOrMany::Many(ports),
    })
    .into_response())
}

async fn port(State(sandbox): State<OnsimSandbox>, Path(id): Path<String>) -> Answer {
    sandbox
        .lock()
        .ports
        .get(&id)
        .map(|port| Json(port.clone()).into_response())
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "PORT_NOT_FOUND",
                &format!("No port {id}"),
            )
        })
}

async fn list_purchases(State(sandbox): State<OnsimSandbox>) -> Json<PurchaseList> {
    Json(PurchaseList {
        purchases: sandbox.sold(),
    })
}

async fn admin_install(State(sandbox): State<OnsimSandbox>, Path(mpn): Path<String>) -> Response {
    match Msisdn::parse(&mpn) {
        Ok(mpn) if sandbox.install(&mpn) => StatusCode::NO_CONTENT.into_response(),
        _ => error(
            StatusCode::NOT_FOUND,
            "ACCOUNT_NOT_FOUND",
            &format!("No eSIM line with MPN {mpn}"),
        )
        .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct Usage {
    mb: u64,
}

async fn admin_usage(
    State(sandbox): State<OnsimSandbox>,
    Path(mpn): Path<String>,
    Json(usage): Json<Usage>,
) -> Response {
    match Msisdn::parse(&mpn) {
        Ok(mpn) if sandbox.use_data(&mpn, usage.mb) => StatusCode::NO_CONTENT.into_response(),
        _ => account_not_found(&mpn).into_response(),
    }
}
