//! eSIMs: how to install one, and how much of its bundles is left.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ActivationCode, CountryCode, Iccid};

/// Everything a device needs to download a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallDetails {
    pub iccid: Iccid,
    pub activation: ActivationCode,
    /// Confirmation code, when the provider issues one; never inside the LPA string.
    pub confirmation_code: Option<String>,
}

/// The state of one bundle on an eSIM, common to providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BundleState {
    Processing,
    Queued,
    Active,
    Depleted,
    Expired,
    Revoked,
    /// A state the provider reported that simgate does not know yet.
    Unknown,
}

/// Usage of one bundle assignment on an eSIM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleUsage {
    /// Provider SKU of the bundle.
    pub bundle: String,
    pub state: BundleState,
    /// Initial allowance in bytes (`None` when unlimited).
    pub initial_bytes: Option<u64>,
    /// Remaining allowance in bytes (`None` when unlimited).
    pub remaining_bytes: Option<u64>,
    pub unlimited: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// Where an eSIM was last seen on a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EsimLocation {
    pub network_name: String,
    /// MCC + MNC of the network.
    pub mobile_network_code: String,
    #[schema(value_type = Option<String>, example = "JP")]
    pub country: Option<CountryCode>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// What revoking a bundle from an eSIM did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RevokeOutcome {
    /// The bundle that was revoked.
    pub bundle: String,
    /// Whether its price went back to the reseller's balance with the provider.
    pub refunded: bool,
}
