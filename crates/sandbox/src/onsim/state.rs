//! The ONSIM simulator's state: configuration, the in-memory store of
//! numbers, SIMs, accounts, groups and ports, and the router over it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::{self};
use axum::routing::{delete, get, post};
use chrono::{Months, NaiveDateTime, Timelike, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simgate_connectors::onsim::transform;
use simgate_domain::{Iccid, InventoryState, Msisdn, SimKind};

use crate::onsim::routes::accounts::*;
use crate::onsim::routes::admin::*;
use crate::onsim::routes::inventory::*;
use crate::onsim::routes::provisioning::*;
use crate::onsim::routes::reseller::*;
use crate::onsim::routes::*;
use crate::simulator::{
    ADMIN_PREFIX, FaultInjector, Purchase, SimulatorHandle, purchases_path, serve, with_faults,
};
use simgate_connectors::onsim::types::{
    Account, Bundles, CatalogueBody, CatalogueBundle, CatalogueProduct, DataBundle, GroupRecord,
    PortRecord, Provisioned, Services,
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
pub(crate) const RESERVED_NUMBERS: u64 = 20;
pub(crate) const RESERVED_ESIMS: u64 = 20;
pub(crate) const RESERVED_PSIMS: u64 = 10;
/// The first `i_account` handed out.
pub(crate) const FIRST_ACCOUNT: u64 = 100_001;
/// Where generated QR images are served (outside the API: no auth).
pub(crate) const QR_PREFIX: &str = "/__qr";
pub(crate) const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
pub(crate) const PASSWORD_ALPHABET: &[u8] =
    b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

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

pub(crate) struct SimRecord {
    pub(crate) kind: SimKind,
    pub(crate) state: InventoryState,
    pub(crate) mpn: Option<String>,
    /// The current matching id of an eSIM; `None` for a pSIM.
    pub(crate) matching_id: Option<String>,
    pub(crate) installed: bool,
}

#[derive(Clone, Copy)]
pub(crate) struct Switches {
    pub(crate) data: bool,
    pub(crate) voice: bool,
    pub(crate) messaging: bool,
    pub(crate) hotspot: bool,
}

pub(crate) struct BundleRecord {
    pub(crate) sku: String,
    pub(crate) allowance: Option<u64>,
    pub(crate) used: u64,
    pub(crate) from: NaiveDateTime,
    pub(crate) to: NaiveDateTime,
}

pub(crate) struct AccountRecord {
    pub(crate) i_account: u64,
    /// The SIM's 19-digit short form.
    pub(crate) sim: String,
    /// The SIP username. SIP passwords are handed out once and never read
    /// back through the API, so the sandbox keeps none.
    pub(crate) pbx_user: String,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) services: Switches,
    pub(crate) bundle: BundleRecord,
    pub(crate) voice_recording: bool,
    pub(crate) sms_recording: bool,
}

/// What a provisioning call adds to the common steps.
pub(crate) struct NewAccount {
    pub(crate) pbx_user: Option<String>,
    pub(crate) pbx_password: Option<String>,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) bundle: String,
}

pub(crate) struct OnsimState {
    pub(crate) config: OnsimSandboxConfig,
    pub(crate) numbers: BTreeMap<String, InventoryState>,
    /// Numbers of ceased lines: never listed or reused.
    pub(crate) quarantined: BTreeSet<String>,
    /// SIMs by 19-digit short form.
    pub(crate) sims: BTreeMap<String, SimRecord>,
    /// Accounts by number.
    pub(crate) accounts: BTreeMap<String, AccountRecord>,
    pub(crate) catalogue: CatalogueBody,
    pub(crate) groups: Vec<GroupRecord>,
    pub(crate) ports: BTreeMap<String, PortRecord>,
    /// Activation codes of generated QR images, by image file name.
    pub(crate) qr_images: BTreeMap<String, String>,
    /// Every line provisioned, oldest first.
    pub(crate) sold: Vec<Purchase>,
    pub(crate) next_account: u64,
    pub(crate) rng: StdRng,
}

/// The ONSIM simulator; clones share one state.
#[derive(Clone)]
pub struct OnsimSandbox {
    pub(crate) state: Arc<Mutex<OnsimState>>,
    pub(crate) faults: Arc<FaultInjector>,
}

pub(crate) fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(0).unwrap_or(now)
}

pub(crate) fn catalogue() -> CatalogueBody {
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

pub(crate) fn ports() -> BTreeMap<String, PortRecord> {
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

    pub(crate) fn lock(&self) -> MutexGuard<'_, OnsimState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl OnsimState {
    pub(crate) fn random(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.rng.random_range(0..alphabet.len())]))
            .collect()
    }

    pub(crate) fn matching_id(&mut self) -> String {
        (0..4)
            .map(|_| self.random(CODE_ALPHABET, 5))
            .collect::<Vec<_>>()
            .join("-")
    }

    pub(crate) fn activation_code(&self, matching_id: &str) -> String {
        format!("LPA:1${}${matching_id}", self.config.smdp)
    }

    pub(crate) fn bundle(&self, sku: &str) -> Option<BundleRecord> {
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
    pub(crate) fn provision(
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

    pub(crate) fn wire_account(&self, mpn: &str, account: &AccountRecord) -> Account {
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
