//! Products: what a reseller can buy, normalised across providers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{CountryCode, DomainError, Money};

/// The upstream providers simgate speaks. A new provider adds a variant here
/// and a module under `crates/connectors/src/`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum ProviderId {
    /// eSIM Go, API v2.4.
    #[serde(rename = "esim-go")]
    EsimGo,
    /// eSIM Story partner API (HMAC-signed, fulfilled by webhook).
    #[serde(rename = "esim-story")]
    EsimStory,
    /// Sim Local UNITE Partner API (OAuth2, asynchronous orders).
    #[serde(rename = "sim-local")]
    SimLocal,
    /// Telnyx SIM card orders: physical SIMs shipped to an address.
    #[serde(rename = "telnyx")]
    Telnyx,
    /// ONSIM reseller API: subscriber lines with numbers, SIP and porting.
    #[serde(rename = "onsim")]
    Onsim,
}

impl ProviderId {
    /// Every provider, in a stable order.
    pub const ALL: [ProviderId; 5] = [
        ProviderId::EsimGo,
        ProviderId::EsimStory,
        ProviderId::SimLocal,
        ProviderId::Telnyx,
        ProviderId::Onsim,
    ];

    /// The slug used in URLs, ids and configuration.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::EsimGo => "esim-go",
            Self::EsimStory => "esim-story",
            Self::SimLocal => "sim-local",
            Self::Telnyx => "telnyx",
            Self::Onsim => "onsim",
        }
    }
}

impl FromStr for ProviderId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| DomainError::UnknownProvider(s.to_owned()))
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A product's id in the unified API: `<provider>:<provider sku>`, so that the
/// id alone tells which connector sells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductId {
    pub provider: ProviderId,
    pub sku: String,
}

impl ProductId {
    /// Builds an id from its parts.
    pub fn new(provider: ProviderId, sku: impl Into<String>) -> Self {
        Self {
            provider,
            sku: sku.into(),
        }
    }

    /// Parses `<provider>:<sku>`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let (provider, sku) = raw
            .split_once(':')
            .filter(|(_, sku)| !sku.is_empty() && sku.len() <= 200)
            .ok_or_else(|| DomainError::InvalidProductId(raw.to_owned()))?;
        Ok(Self {
            provider: provider.parse()?,
            sku: sku.to_owned(),
        })
    }
}

impl TryFrom<String> for ProductId {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ProductId> for String {
    fn from(value: ProductId) -> Self {
        value.to_string()
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.sku)
    }
}

/// How much data a product carries, in megabytes (1 GB = 1000 MB, as providers count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataAllowance {
    /// A fixed amount of data.
    Limited { mb: u64 },
    /// No data cap (possibly with a fair-use policy upstream).
    Unlimited,
}

impl DataAllowance {
    /// The cap in MB, or `None` when unlimited.
    pub fn mb(&self) -> Option<u64> {
        match self {
            Self::Limited { mb } => Some(*mb),
            Self::Unlimited => None,
        }
    }
}

/// One purchasable product from one provider, in unified units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    /// Human description as the provider wrote it.
    pub name: String,
    /// Countries where the product works (base countries first).
    pub countries: Vec<CountryCode>,
    pub data: DataAllowance,
    /// Validity in days from activation.
    pub validity_days: u32,
    /// Wholesale price charged by the provider.
    pub price: Money,
}
