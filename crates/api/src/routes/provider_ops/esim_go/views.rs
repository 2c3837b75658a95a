//! The JSON shapes of eSIM Go's own operations: simgate's snake_case names
//! over eSIM Go's wire types, so that the wire format can change without
//! changing the API, and so that nothing secret (the organisation's API
//! key) is passed on.

use serde::{Deserialize, Serialize};
use simgate_connectors::esim_go::types::{
    ApplyResponse, Assignment, BalanceTopUp, CompatibilityAnswer, CountryNetworks, EsimList,
    HistoryEntry, Inventory, Organisation,
};
use utoipa::ToSchema;

use crate::views::whole_number;

/// A message from eSIM Go, as it answered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderMessage {
    pub message: String,
}

/// One event in an eSIM's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntryView {
    /// What happened (`Bundle Assigned`, `Bundle Revoked`, …).
    pub name: String,
    pub bundle: String,
    /// When, as eSIM Go wrote it.
    pub date: String,
    pub bundle_state: String,
    pub alert_type: Option<String>,
}

/// An eSIM's history, oldest first as eSIM Go lists it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryView {
    pub data: Vec<HistoryEntryView>,
}

impl From<Vec<HistoryEntry>> for HistoryView {
    fn from(entries: Vec<HistoryEntry>) -> Self {
        Self {
            data: entries
                .into_iter()
                .map(|e| HistoryEntryView {
                    name: e.name,
                    bundle: e.bundle,
                    date: e.date,
                    bundle_state: e.bundle_state,
                    alert_type: e.alert_type,
                })
                .collect(),
        }
    }
}

/// Whether a bundle can go on an eSIM: eSIM Go answers a verdict, a
/// message, or both.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CompatibilityView {
    pub compatible: Option<bool>,
    pub message: Option<String>,
}

impl From<CompatibilityAnswer> for CompatibilityView {
    fn from(answer: CompatibilityAnswer) -> Self {
        Self {
            compatible: answer.compatible,
            message: answer.message,
        }
    }
}

/// `POST …/apply` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyFromInventory {
    /// A bundle name the account holds in inventory.
    #[schema(min_length = 1, pattern = r"\S", example = "esim_1GB_7D_JP_V2")]
    pub bundle: String,
}

/// One eSIM a bundle was applied to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AppliedView {
    pub iccid: String,
    pub status: String,
    pub bundle: String,
}

/// What applying from inventory did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplyView {
    /// eSIM Go's reference of the application.
    pub apply_reference: String,
    pub esims: Vec<AppliedView>,
}

impl From<ApplyResponse> for ApplyView {
    fn from(answer: ApplyResponse) -> Self {
        Self {
            apply_reference: answer.apply_reference,
            esims: answer
                .esims
                .into_iter()
                .map(|e| AppliedView {
                    iccid: e.iccid,
                    status: e.status,
                    bundle: e.bundle,
                })
                .collect(),
        }
    }
}

/// One assignment of a bundle on an eSIM; quantities in bytes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssignmentView {
    /// What `DELETE …/assignments/{id}` takes.
    pub id: String,
    pub bundle_state: String,
    pub unlimited: bool,
    pub initial_bytes: i64,
    pub remaining_bytes: i64,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub assigned_at: Option<String>,
    pub reference: String,
}

/// The assignments of a bundle on an eSIM.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssignmentsView {
    pub data: Vec<AssignmentView>,
}

impl From<Vec<Assignment>> for AssignmentsView {
    fn from(assignments: Vec<Assignment>) -> Self {
        Self {
            data: assignments
                .into_iter()
                .map(|a| AssignmentView {
                    id: a.id,
                    bundle_state: a.bundle_state,
                    unlimited: a.unlimited,
                    initial_bytes: a.initial_quantity,
                    remaining_bytes: a.remaining_quantity,
                    start_time: a.start_time,
                    end_time: a.end_time,
                    assigned_at: a.assignment_date_time,
                    reference: a.assignment_reference,
                })
                .collect(),
        }
    }
}

/// What revoking one assignment did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevokedAssignment {
    /// eSIM Go's status of the revoke.
    pub status: String,
}

/// `PUT …/customer-ref` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCustomerRef {
    /// The reseller's own reference of the eSIM's end customer.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"\S",
        example = "customer-4711"
    )]
    pub customer_ref: String,
}

/// One eSIM of the account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UpstreamEsimView {
    pub iccid: String,
    pub customer_ref: Option<String>,
    pub last_action: String,
    pub action_date: Option<String>,
    pub physical: bool,
    pub assigned_date: Option<String>,
}

/// A page of the account's eSIMs, as eSIM Go pages them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UpstreamEsimPage {
    pub data: Vec<UpstreamEsimView>,
    pub page: u32,
    pub page_count: u32,
    /// eSIMs on all pages.
    pub rows: u32,
}

impl UpstreamEsimPage {
    /// Page `page` of eSIM Go's answer.
    pub fn new(list: EsimList, page: u32) -> Self {
        Self {
            data: list
                .esims
                .into_iter()
                .map(|e| UpstreamEsimView {
                    iccid: e.iccid,
                    customer_ref: e.customer_ref,
                    last_action: e.last_action,
                    action_date: e.action_date,
                    physical: e.physical,
                    assigned_date: e.assigned_date,
                })
                .collect(),
            page,
            page_count: list.page_count,
            rows: list.rows,
        }
    }
}

/// One purchase lot of a bundle in inventory.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InventoryLotView {
    /// What `POST …/inventory/refund` takes as `usage_id`.
    pub usage_id: i64,
    pub total: i64,
    pub remaining: i64,
    pub expiry: Option<String>,
}

/// A bundle the account holds in inventory.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InventoryBundleView {
    pub name: String,
    pub description: String,
    pub countries: Vec<String>,
    pub data_mb: i64,
    pub duration: i64,
    pub duration_unit: String,
    pub unlimited: bool,
    pub lots: Vec<InventoryLotView>,
}

/// The account's inventory.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InventoryView {
    pub data: Vec<InventoryBundleView>,
}

impl From<Inventory> for InventoryView {
    fn from(inventory: Inventory) -> Self {
        Self {
            data: inventory
                .bundles
                .into_iter()
                .map(|b| InventoryBundleView {
                    name: b.name,
                    description: b.desc,
                    countries: b.countries,
                    data_mb: b.data,
                    duration: b.duration,
                    duration_unit: b.duration_unit,
                    unlimited: b.unlimited,
                    lots: b
                        .available
                        .into_iter()
                        .map(|l| InventoryLotView {
                            usage_id: l.id,
                            total: l.total,
                            remaining: l.remaining,
                            expiry: l.expiry,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// `POST …/inventory/refund` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInventory {
    /// A lot's `usage_id` from the inventory.
    #[serde(deserialize_with = "whole_number")]
    #[schema(minimum = 0, maximum = 4294967295_i64, value_type = i64)]
    pub usage_id: u32,
    /// How many of the lot's remaining bundles, at least 1.
    #[serde(deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 4294967295_i64, value_type = i64)]
    pub quantity: u32,
}

/// A user of the organisation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrganisationUserView {
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub email_address: String,
}

/// simgate's organisation at eSIM Go; its API key is never shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrganisationView {
    pub name: String,
    pub currency: String,
    pub balance: f64,
    pub country: String,
    pub tax_liable: String,
    pub callback_url: String,
    pub groups: Vec<String>,
    pub users: Vec<OrganisationUserView>,
}

impl From<Organisation> for OrganisationView {
    fn from(o: Organisation) -> Self {
        Self {
            name: o.name,
            currency: o.currency,
            balance: o.balance,
            country: o.country,
            tax_liable: o.tax_liable,
            callback_url: o.callback_url,
            groups: o.groups,
            users: o
                .users
                .into_iter()
                .map(|u| OrganisationUserView {
                    first_name: u.first_name,
                    last_name: u.last_name,
                    role: u.role,
                    email_address: u.email_address,
                })
                .collect(),
        }
    }
}

/// `POST …/balance` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpBalance {
    /// Whole units of the organisation's currency, 1–100000.
    #[serde(deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 100_000, example = 100)]
    pub amount: u32,
}

/// What a balance top-up did; eSIM Go documents `amount`, `balance` and
/// `reference`, and may answer a message instead.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceTopUpView {
    pub amount: Option<f64>,
    pub balance: Option<f64>,
    pub reference: Option<String>,
    pub message: Option<String>,
}

impl From<BalanceTopUp> for BalanceTopUpView {
    fn from(t: BalanceTopUp) -> Self {
        Self {
            amount: t.amount,
            balance: t.balance,
            reference: t.reference,
            message: t.message,
        }
    }
}

/// The bundle groups the organisation may sell.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GroupsView {
    #[schema(example = json!(["Standard eSIM Bundles"]))]
    pub data: Vec<String>,
}

/// One network in a country.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NetworkView {
    pub name: String,
    pub brand_name: String,
    pub mcc: String,
    pub mnc: String,
    /// `2G`, `3G`, `4G`, `5G`.
    pub speed: Vec<String>,
}

/// The networks of one country.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CountryNetworksView {
    pub name: String,
    pub iso: String,
    pub networks: Vec<NetworkView>,
}

/// The networks eSIM Go uses in a country.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NetworksView {
    pub data: Vec<CountryNetworksView>,
}

impl From<Vec<CountryNetworks>> for NetworksView {
    fn from(countries: Vec<CountryNetworks>) -> Self {
        Self {
            data: countries
                .into_iter()
                .map(|c| CountryNetworksView {
                    name: c.name,
                    iso: c.iso,
                    networks: c
                        .networks
                        .into_iter()
                        .map(|n| NetworkView {
                            name: n.name,
                            brand_name: n.brand_name,
                            mcc: n.mcc,
                            mnc: n.mnc,
                            speed: n.speed,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
