//! ONSIM reseller API wire types, shared by client and sandbox so they
//! cannot drift. Where the documentation contradicts itself (an `account`
//! array shown as an object, a port list named `portQueue` shown as `port`),
//! the types accept every documented form; see the module documentation for
//! the shapes simgate assumed where nothing is published.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// How ONSIM writes bundle periods (`2024-01-01 00:00:00`).
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// A service or recording switched on.
pub const ON: &str = "ON";
/// A service or recording switched off.
pub const OFF: &str = "OFF";
/// The home locations ONSIM UC provisioning takes (ISO 3166-1 alpha-3).
pub const HOME_LOCATIONS: [&str; 3] = ["GBR", "USA", "FRA"];
/// The home locations a group may have (ISO 3166-1 alpha-3).
pub const GROUP_HOME_LOCATIONS: [&str; 2] = ["GBR", "USA"];
/// The data bundles ONSIM UC provisioning takes as `mobile_data`.
pub const MOBILE_DATA: [&str; 6] = ["BACKGROUND-ONLY", "2GB", "4GB", "10GB", "20GB", "UNLIMITED"];
/// The only subscriber state ONSIM documents.
pub const PROVISIONED: &str = "PROVISIONED";

/// A value ONSIM documents as either one object or an array of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// Sent as an array (as documented).
    Many(Vec<T>),
    /// Sent as a single object (as shown in examples).
    One(T),
}

impl<T> OneOrMany<T> {
    /// The values, however they were sent.
    pub fn into_vec(self) -> Vec<T> {
        match self {
            Self::Many(values) => values,
            Self::One(value) => vec![value],
        }
    }
}

/// A scalar ONSIM may send as a string or a number (`i_account`, `trID`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Flag(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Number(number) => number.to_string(),
            Self::Flag(flag) => flag.to_string(),
        }
    }

    fn into_u64(self) -> Option<u64> {
        match self {
            Self::Text(text) => text.trim().parse().ok(),
            Self::Number(number) => number.as_u64().or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f.round() as u64)
            }),
            Self::Flag(_) => None,
        }
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Scalar::deserialize(deserializer).map(Scalar::into_string)
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(deserializer)?.map(Scalar::into_string))
}

/// An amount of data: a number, a numeric string, or anything else
/// (`null`, `"unlimited"`) read as no figure at all.
fn lenient_amount<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(deserializer)?
        .and_then(|value| serde_json::from_value::<Scalar>(value).ok())
        .and_then(Scalar::into_u64))
}

/// Every error answer (an assumption: ONSIM publishes no error format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The machine-readable code and human message of an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The acknowledgement of a write that returns no data (`Bundle Successfully Updated`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub message: String,
}

/// `GET /account/{mpn}`: documented as an array, shown as an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub account: OneOrMany<Account>,
}

/// One account: its SIM (19-digit ICCID), services and bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default)]
    pub sim: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub i_account: Option<String>,
    pub mpn: String,
    #[serde(default)]
    pub sip_address: Option<String>,
    #[serde(default)]
    pub services: Services,
    #[serde(default)]
    pub bundles: Bundles,
}

/// The services of an account, each `ON` or `OFF`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Services {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_hotspot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_messaging: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_voice: Option<String>,
}

/// The bundles of an account; only the data bundle is documented.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundles {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataBundle>,
}

/// The data bundle and its usage in `unit` (documented: `megabyte`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataBundle {
    pub bundle_name: String,
    /// `null` for an unlimited bundle (an assumption).
    #[serde(default, deserialize_with = "lenient_amount")]
    pub allowance: Option<u64>,
    #[serde(default, deserialize_with = "lenient_amount")]
    pub used: Option<u64>,
    #[serde(default, deserialize_with = "lenient_amount")]
    pub remaining: Option<u64>,
    #[serde(default)]
    pub unit: Option<String>,
    /// [`TIME_FORMAT`].
    #[serde(default)]
    pub period_from: Option<String>,
    #[serde(default)]
    pub period_to: Option<String>,
}

/// `POST /reseller/provision`: a line on the reseller's own PBX.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionOwnUc {
    pub mpn: String,
    /// 19 digits: the printed ICCID without its check digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbx_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbx_password: Option<String>,
}

impl fmt::Debug for ProvisionOwnUc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionOwnUc")
            .field("mpn", &self.mpn)
            .field("iccid", &self.iccid)
            .field("pbx_user", &self.pbx_user)
            .field(
                "pbx_password",
                &self.pbx_password.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// `POST /reseller/provision-onsim`: a line on ONSIM's UC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionOnsimUc {
    pub mpn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    pub group_name: String,
    /// One of [`HOME_LOCATIONS`].
    pub home_location: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// A product id of the catalogue, e.g. `18`.
    pub product: u32,
    /// One of [`MOBILE_DATA`].
    pub mobile_data: String,
}

/// The answer of both provisioning calls.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioned {
    /// `LPA:1$...`; `null` or empty for a physical SIM (an assumption).
    #[serde(default)]
    pub esim_code: Option<String>,
    /// `ONSIM` + the 19-digit ICCID: also the SIP username.
    pub iccid: String,
    #[serde(default)]
    pub pbx_password: Option<String>,
}

impl fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provisioned")
            .field("esim_code", &self.esim_code)
            .field("iccid", &self.iccid)
            .field(
                "pbx_password",
                &self.pbx_password.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// `POST /account/esim`: which line (any one key) and whether to refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsimQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub i_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    /// `0` or `1`.
    #[serde(default)]
    pub refresh_code: u8,
}

/// The eSIM of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsimStatus {
    pub esim_code: String,
    /// `installed` or `ready to install`.
    pub esim_status: String,
    /// `Y` or `N`.
    #[serde(default)]
    pub enabled_on_device: Option<String>,
    /// `esim code refreshed` or `error` when a refresh was asked; `null` otherwise.
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub refresh_code: Option<String>,
}

/// `POST /account/esim/generate`: the answer is a bare URL string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateQr {
    pub esim_code: String,
}

/// `POST /account/pbxinfo/{mpn}`: settings to change; absent ones stay.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbx_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbx_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_voice: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_sms: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_hotspot: Option<String>,
}

impl fmt::Debug for PbxInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PbxInfo")
            .field("mpn", &self.mpn)
            .field("pbx_user", &self.pbx_user)
            .field(
                "pbx_password",
                &self.pbx_password.as_ref().map(|_| "[redacted]"),
            )
            .field("mobile_data", &self.mobile_data)
            .field("mobile_voice", &self.mobile_voice)
            .field("mobile_sms", &self.mobile_sms)
            .field("mobile_hotspot", &self.mobile_hotspot)
            .finish_non_exhaustive()
    }
}

/// `POST /account/{mpn}/recording`, each `ON` or `OFF`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_recording: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_recording: Option<String>,
}

/// `DELETE /account`: the 19-digit ICCID of the SIM to cease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cease {
    pub iccid: String,
}

/// `GET /numbers/{state}` (shape assumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberList {
    pub numbers: Vec<NumberEntry>,
}

/// A number of the reseller: `ACTIVE` or `RESERVED`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberEntry {
    pub mpn: String,
    #[serde(default)]
    pub state: Option<String>,
}

/// `GET /sims/{state}/{type}` (shape assumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimList {
    pub sims: Vec<SimEntry>,
}

/// A SIM of the reseller, by its 19-digit ICCID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimEntry {
    pub iccid: String,
    /// `eSIM` or `pSIM`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
}

/// A number port, with ONSIM's own field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRecord {
    #[serde(rename = "trID", deserialize_with = "lenient_string")]
    pub tr_id: String,
    pub number: String,
    #[serde(rename = "orderDate", default)]
    pub order_date: Option<String>,
    #[serde(rename = "PAC", default)]
    pub pac: Option<String>,
    #[serde(rename = "portinDate", default)]
    pub portin_date: Option<String>,
    #[serde(rename = "portinNumber", default)]
    pub portin_number: Option<String>,
    #[serde(
        rename = "resellerId",
        default,
        deserialize_with = "lenient_opt_string"
    )]
    pub reseller_id: Option<String>,
    /// `INITIAL`, `IN PROGRESS`, `FAILED`, `COMPLETE`, `CLOSED`, or anything new.
    pub status: String,
    /// `PORT-IN` or `PORT-OUT`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(rename = "updatedDate", default)]
    pub updated_date: Option<String>,
    #[serde(rename = "validUntil", default)]
    pub valid_until: Option<String>,
}

/// `GET /port/all/{state}`: documented as `portQueue`, shown as `port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortList {
    #[serde(alias = "portQueue")]
    pub port: OneOrMany<PortRecord>,
}

/// `GET /port/{id}`: documented wrapped in `port`, shown bare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortLookup {
    /// `{"port": {...}}`, as documented.
    Wrapped { port: PortRecord },
    /// The record alone, as the example shows.
    Bare(PortRecord),
}

impl PortLookup {
    /// The port, however it was sent.
    pub fn into_record(self) -> PortRecord {
        match self {
            Self::Wrapped { port } | Self::Bare(port) => port,
        }
    }
}

/// `GET /reseller/catalogue` (inner shape assumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub catalogue: CatalogueBody,
}

/// Products to provision with and bundles to change to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueBody {
    #[serde(default)]
    pub products: Vec<CatalogueProduct>,
    #[serde(default)]
    pub bundles: Vec<CatalogueBundle>,
}

/// A product, by the integer id provisioning takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueProduct {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A data bundle, by the SKU a bundle change takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueBundle {
    pub sku: String,
    pub name: String,
    /// `null` when unlimited.
    #[serde(default, deserialize_with = "lenient_amount")]
    pub allowance: Option<u64>,
    #[serde(default)]
    pub unit: Option<String>,
}

/// `POST /reseller/subscribers`: filters, all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_recorded: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// The subscriber list (shape assumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberList {
    pub subscribers: Vec<SubscriberEntry>,
}

/// A subscriber of the reseller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberEntry {
    pub mpn: String,
    #[serde(default)]
    pub iccid: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub i_account: Option<String>,
    pub state: String,
    #[serde(default)]
    pub group: Option<String>,
    /// Voice or SMS recording is on.
    #[serde(default)]
    pub is_recorded: bool,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// `GET /reseller/groups` (shape assumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupList {
    pub groups: Vec<GroupRecord>,
}

/// A customer group, as added and as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub name: String,
    #[serde(default)]
    pub address_line_1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line_2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_code: Option<String>,
    /// Alpha-3 codes, comma-separated (`GBR,USA`).
    #[serde(default)]
    pub home_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
