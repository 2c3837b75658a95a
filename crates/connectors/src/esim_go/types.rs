//! eSIM Go v2.4 wire types, exactly as the API sends and accepts them.
//!
//! Shared by the client (which sends and parses them) and the sandbox (which
//! parses and sends them), so the two cannot drift apart.

use serde::{Deserialize, Serialize};

/// Every error answer: `{"message": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
}

/// A country as the catalogue names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Country {
    pub name: String,
    #[serde(default)]
    pub region: String,
    pub iso: String,
}

/// One allowance inside a bundle (data, voice, SMS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allowance {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub unlimited: bool,
}

/// A catalogue bundle. `dataAmount` is MB (1000 = 1 GB), `duration` days,
/// `price` a float in the organisation's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub countries: Vec<Country>,
    #[serde(default)]
    pub roaming_enabled: Vec<Country>,
    #[serde(default)]
    pub data_amount: i64,
    #[serde(default)]
    pub duration: i64,
    #[serde(default)]
    pub speed: Vec<String>,
    #[serde(default)]
    pub autostart: bool,
    #[serde(default)]
    pub unlimited: bool,
    #[serde(default)]
    pub image_url: Option<String>,
    pub price: f64,
    #[serde(default)]
    pub billing_type: Option<String>,
    #[serde(default)]
    pub allowances: Vec<Allowance>,
}

/// `GET /catalogue` answer. The live API wraps the list; the v2.4 reference
/// shows a bare list of bundles, which is read as a single page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "CatalogueWire")]
pub struct CataloguePage {
    pub bundles: Vec<Bundle>,
    #[serde(default)]
    pub page_count: u32,
    #[serde(default)]
    pub rows: u32,
    #[serde(default)]
    pub page_size: u32,
}

/// Either shape of a catalogue answer, as it arrives.
#[derive(Deserialize)]
#[serde(untagged)]
enum CatalogueWire {
    Bare(Vec<Bundle>),
    Wrapped(CataloguePageFields),
}

/// The wrapped catalogue answer's fields.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CataloguePageFields {
    bundles: Vec<Bundle>,
    #[serde(default)]
    page_count: u32,
    #[serde(default)]
    rows: u32,
    #[serde(default)]
    page_size: u32,
}

impl From<CatalogueWire> for CataloguePage {
    fn from(wire: CatalogueWire) -> Self {
        match wire {
            CatalogueWire::Bare(bundles) => {
                let count = u32::try_from(bundles.len()).unwrap_or(u32::MAX);
                Self {
                    bundles,
                    page_count: 1,
                    rows: count,
                    page_size: count,
                }
            }
            CatalogueWire::Wrapped(page) => Self {
                bundles: page.bundles,
                page_count: page.page_count,
                rows: page.rows,
                page_size: page.page_size,
            },
        }
    }
}

/// `GET /catalogue` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Comma-separated ISO codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub countries: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// One network in a country (`GET /networks`). The answer's shape is not
/// published (the reference shows `null`); this one is assumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    pub name: String,
    #[serde(default)]
    pub brand_name: String,
    #[serde(default)]
    pub mcc: String,
    #[serde(default)]
    pub mnc: String,
    #[serde(default)]
    pub speed: Vec<String>,
}

/// The networks of one country.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountryNetworks {
    pub name: String,
    pub iso: String,
    pub networks: Vec<Network>,
}

/// `GET /networks` answer (assumed shape, see [`Network`]). The reference's
/// only example is `null`, which is read as no networks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "Option<NetworksFields>")]
pub struct NetworksResponse {
    pub country_networks: Vec<CountryNetworks>,
}

/// The fields of a non-null networks answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworksFields {
    country_networks: Vec<CountryNetworks>,
}

impl From<Option<NetworksFields>> for NetworksResponse {
    fn from(wire: Option<NetworksFields>) -> Self {
        Self {
            country_networks: wire.map(|w| w.country_networks).unwrap_or_default(),
        }
    }
}

/// One line of `POST /orders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItemRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub item: String,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iccids: Vec<String>,
    #[serde(default)]
    pub allow_reassign: bool,
}

/// `POST /orders` body. The reference spells the list `Order`, the live API `order`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// `validate` (dry run) or `transaction`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub assign: bool,
    #[serde(alias = "Order")]
    pub order: Vec<OrderItemRequest>,
}

/// An eSIM delivered by an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderEsim {
    pub iccid: String,
    pub matching_id: String,
    pub smdp_address: String,
}

/// One line of an order answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    #[serde(default)]
    pub esims: Vec<OrderEsim>,
    #[serde(rename = "type")]
    pub kind: String,
    pub item: String,
    #[serde(default)]
    pub iccids: Vec<String>,
    pub quantity: u32,
    #[serde(default)]
    pub sub_total: f64,
    #[serde(default)]
    pub price_per_unit: f64,
    #[serde(default)]
    pub allow_reassign: bool,
}

/// An order, as `POST /orders`, `GET /orders` and `GET /orders/{ref}` send it.
/// The creation date is `createdDate` on creation and `createDate` elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderResponse {
    #[serde(default)]
    pub order: Vec<OrderLine>,
    #[serde(default)]
    pub total: f64,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_message: String,
    #[serde(default)]
    pub order_reference: String,
    #[serde(default, alias = "createDate")]
    pub created_date: Option<String>,
    #[serde(default)]
    pub assigned: bool,
    /// Present only on `validate` answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
}

/// `GET /orders` answer: the reference shows a bare list; accept a wrapped one too.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OrderList {
    Bare(Vec<OrderResponse>),
    Wrapped {
        orders: Vec<OrderResponse>,
        #[serde(default, rename = "pageCount")]
        page_count: Option<u32>,
    },
}

impl OrderList {
    /// The orders, whichever shape they came in.
    pub fn into_orders(self) -> Vec<OrderResponse> {
        match self {
            Self::Bare(orders) | Self::Wrapped { orders, .. } => orders,
        }
    }
}

/// `GET /esims/{iccid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EsimDetails {
    pub iccid: String,
    #[serde(default)]
    pub pin: String,
    #[serde(default)]
    pub puk: String,
    pub matching_id: String,
    pub smdp_address: String,
    #[serde(default)]
    pub profile_status: String,
    #[serde(default)]
    pub first_installed_date_time: Option<String>,
    #[serde(default)]
    pub customer_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple_install_url: Option<String>,
}

/// One row of `GET /esims`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EsimSummary {
    pub iccid: String,
    #[serde(default)]
    pub customer_ref: Option<String>,
    #[serde(default)]
    pub last_action: String,
    #[serde(default)]
    pub action_date: Option<String>,
    #[serde(default)]
    pub physical: bool,
    #[serde(default)]
    pub assigned_date: Option<String>,
}

/// `GET /esims` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EsimList {
    pub esims: Vec<EsimSummary>,
    #[serde(default)]
    pub page_count: u32,
    #[serde(default)]
    pub rows: u32,
}

/// `PUT /esims` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateEsim {
    pub iccid: String,
    pub customer_ref: String,
}

/// One assignment of a bundle on an eSIM; quantities are **bytes**.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub id: String,
    #[serde(default)]
    pub call_type_group: String,
    #[serde(default)]
    pub initial_quantity: i64,
    #[serde(default)]
    pub remaining_quantity: i64,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub bundle_state: String,
    #[serde(default)]
    pub assignment_date_time: Option<String>,
    #[serde(default)]
    pub assignment_reference: String,
    #[serde(default)]
    pub unlimited: bool,
}

/// A bundle on an eSIM with its assignments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsimBundle {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub assignments: Vec<Assignment>,
}

/// `GET /esims/{iccid}/bundles` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EsimBundles {
    pub bundles: Vec<EsimBundle>,
}

/// `GET /esims/{iccid}/bundles/{name}` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BundleStatus {
    pub assignments: Vec<Assignment>,
}

/// `POST /esims/apply` body; sources disagree on the field names, so both
/// `bundle`/`bundles` and the older `name` are accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyBundle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    #[serde(default, alias = "name", skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    #[serde(default)]
    pub allow_reassign: bool,
}

/// One eSIM in an apply answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedEsim {
    pub iccid: String,
    pub status: String,
    #[serde(default)]
    pub bundle: String,
}

/// `POST /esims/apply` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyResponse {
    pub esims: Vec<AppliedEsim>,
    pub apply_reference: String,
}

/// One event of `GET /esims/{iccid}/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub name: String,
    pub bundle: String,
    pub date: String,
    pub bundle_state: String,
    #[serde(default)]
    pub alert_type: Option<String>,
}

/// `GET /esims/{iccid}/location`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub mobile_network_code: String,
    pub network_name: String,
    pub country: String,
    pub last_seen: String,
}

/// `GET /esims/{iccid}/compatible/{bundle}` as the simulator sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compatibility {
    pub compatible: bool,
}

/// `GET /esims/{iccid}/compatible/{bundle}` as the client reads it: the
/// v2.4 reference answers `{"message": "..."}`, other public sources
/// `{"compatible": bool}`; whichever came is kept, neither is guessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompatibilityAnswer {
    /// The verdict, when the provider sends it as a boolean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatible: Option<bool>,
    /// The verdict as text, the reference's documented shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `POST /esims/{iccid}/sms` body: 1–160 UTF-8 characters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsRequest {
    pub message: String,
    #[serde(default = "default_sender")]
    pub from: String,
}

fn default_sender() -> String {
    "eSIM".to_owned()
}

/// Answers that carry only a message (`refresh`, `sms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageResponse {
    pub message: String,
}

/// `POST /organisation/balance` answer: the reference documents
/// `{amount, balance, ref}`; a bare `{"message": "..."}` is read too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceTopUp {
    /// The amount added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// The balance after the top-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<f64>,
    /// The provider's reference of the top-up, an integer in the
    /// reference; kept as text so a string one is read too.
    #[serde(
        default,
        rename = "ref",
        deserialize_with = "number_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference: Option<String>,
    /// A free-text answer, when the provider sends one instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Reads an optional value sent either as a JSON number or as a string.
fn number_or_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(serde_json::Number),
        Text(String),
    }
    Ok(
        Option::<Either>::deserialize(deserializer)?.map(|value| match value {
            Either::Number(n) => n.to_string(),
            Either::Text(t) => t,
        }),
    )
}

/// Answers that carry only a status (revokes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusResponse {
    pub status: String,
}

/// One row of `GET /esims/assignments` with `Accept: application/json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallAssignment {
    pub iccid: String,
    pub matching_id: String,
    pub smdp_address: String,
    #[serde(default)]
    pub profile_status: String,
    #[serde(default)]
    pub pin: String,
    #[serde(default)]
    pub puk: String,
    #[serde(default)]
    pub first_installed_date_time: Option<String>,
}

/// One purchase lot in the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryLot {
    pub id: i64,
    pub total: i64,
    pub remaining: i64,
    #[serde(default)]
    pub expiry: Option<String>,
}

/// One bundle in the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryBundle {
    pub name: String,
    #[serde(default)]
    pub desc: String,
    pub available: Vec<InventoryLot>,
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub data: i64,
    #[serde(default)]
    pub duration: i64,
    #[serde(default)]
    pub duration_unit: String,
    #[serde(default)]
    pub autostart: bool,
    #[serde(default)]
    pub unlimited: bool,
    #[serde(default)]
    pub speed: Vec<String>,
}

/// `GET /inventory`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inventory {
    pub bundles: Vec<InventoryBundle>,
}

/// `POST /inventory/refund` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryRefund {
    pub usage_id: i64,
    pub quantity: i64,
}

/// A user of an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganisationUser {
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub email_address: String,
    #[serde(default)]
    pub phone_number: String,
    #[serde(default)]
    pub time_zone: String,
}

/// An organisation. Its `apiKey` is a secret and is never logged by simgate.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    pub name: String,
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub tax_liable: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub callback_url: String,
    #[serde(default)]
    pub groups: Vec<String>,
    pub currency: String,
    pub balance: f64,
    #[serde(default)]
    pub users: Vec<OrganisationUser>,
}

impl std::fmt::Debug for Organisation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Organisation")
            .field("name", &self.name)
            .field("api_key", &"[REDACTED]")
            .field("currency", &self.currency)
            .field("balance", &self.balance)
            .finish_non_exhaustive()
    }
}

/// `GET /organisation`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrganisationResponse {
    pub organisations: Vec<Organisation>,
}

/// `GET /organisation/groups`. The reference shows a bare list of groups;
/// a list wrapped in `{"groups": [...]}` is read too.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "GroupsWire")]
pub struct BundleGroups {
    pub groups: Vec<BundleGroup>,
}

/// Either shape of a groups answer, as it arrives.
#[derive(Deserialize)]
#[serde(untagged)]
enum GroupsWire {
    Bare(Vec<BundleGroup>),
    Wrapped { groups: Vec<BundleGroup> },
}

impl From<GroupsWire> for BundleGroups {
    fn from(wire: GroupsWire) -> Self {
        match wire {
            GroupsWire::Bare(groups) | GroupsWire::Wrapped { groups } => Self { groups },
        }
    }
}

/// A bundle group name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleGroup {
    pub name: String,
}

/// The bundle part of a usage callback; quantities in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackBundle {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub initial_quantity: i64,
    #[serde(default)]
    pub remaining_quantity: i64,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub unlimited: bool,
}

/// A usage callback (V3 shape; V2 has the same fields without a signature).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageCallback {
    pub iccid: String,
    #[serde(default)]
    pub alert_type: String,
    pub bundle: CallbackBundle,
}
