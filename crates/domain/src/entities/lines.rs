//! Which tenant owns which subscriber line, as simgate records it.

use chrono::{DateTime, Utc};

use crate::{Iccid, Msisdn, ProviderId};

/// What became of a provisioning answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineActivation {
    /// The tenant's line is active now; `superseded` says the answer came
    /// from an attempt that had been superseded.
    Activated { superseded: bool },
    /// The line was already active for this tenant.
    Unchanged,
    /// The number is someone else's line now: the provisioning was kept in
    /// the purchase ledger as an extra one of this tenant.
    Extra,
}

/// Where a line is in its life, as simgate knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// Written down; the provider's answer to provisioning is not known yet.
    Provisioning,
    Active,
    /// Ceased at the provider: gone for good.
    Ceased,
}

impl LineStatus {
    /// The lower-case name used in storage and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Ceased => "ceased",
        }
    }

    /// The status named by [`Self::as_str`]; `None` for any other name,
    /// which the caller reports as corrupt data.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "provisioning" => Self::Provisioning,
            "active" => Self::Active,
            "ceased" => Self::Ceased,
            _ => return None,
        })
    }
}

/// A tenant's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    pub provider: ProviderId,
    pub mpn: Msisdn,
    pub tenant_id: String,
    pub iccid: Option<Iccid>,
    pub status: LineStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The current attempt's number (see the module docs).
    pub fence: i64,
}
