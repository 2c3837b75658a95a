//! Subscriber lines (ONSIM): a mobile number with a SIM, services, a data
//! bundle and, often, a UC/SIP account. Not a bundle sale: a line is
//! provisioned once, changed over its life, and ceased for good.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::{ActivationCode, CountryCode, DomainError, Iccid};

/// A mobile number in E.164, stored as its digits without `+`
/// (`447777777777`): country code first, 8 to 15 digits in all.
///
/// Every leading digit 1–9 opens an assigned E.164 zone, so "starts with a
/// country code" means "does not start with 0" (a national trunk prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Msisdn(String);

impl Msisdn {
    /// Accepts `+447777777777`, `447777777777` or `00447777777777`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let trimmed = raw.trim();
        let digits = trimmed
            .strip_prefix('+')
            .or_else(|| trimmed.strip_prefix("00"))
            .unwrap_or(trimmed);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::InvalidMsisdn(raw.to_owned()));
        }
        if digits.starts_with('0') || !(8..=15).contains(&digits.len()) {
            return Err(DomainError::InvalidMsisdn(raw.to_owned()));
        }
        Ok(Self(digits.to_owned()))
    }

    /// The digits, as ONSIM wants them.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Msisdn {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Msisdn> for String {
    fn from(value: Msisdn) -> Self {
        value.0
    }
}

impl FromStr for Msisdn {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads an ICCID as ONSIM sends or takes it: 19 digits with the printed
/// check digit dropped (the Luhn digit is restored), possibly prefixed
/// `ONSIM`; a full printed ICCID is accepted too.
pub fn iccid_from_short_form(raw: &str) -> Result<Iccid, DomainError> {
    let digits = raw.trim().trim_start_matches("ONSIM");
    match Iccid::parse(digits) {
        Ok(iccid) if digits.len() == 20 => Ok(iccid),
        _ if digits.len() == 19 => Iccid::with_check_digit(digits),
        other => other,
    }
}

/// The 19-digit form ONSIM takes: the printed 20-digit ICCID without its
/// check digit. A 19-digit printed ICCID is already short enough.
pub fn iccid_short_form(iccid: &Iccid) -> &str {
    let digits = iccid.as_str();
    if digits.len() == 20 {
        &digits[..19]
    } else {
        digits
    }
}

/// The services of a line, each on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineServices {
    pub mobile_data: bool,
    pub mobile_voice: bool,
    pub mobile_messaging: bool,
    pub mobile_hotspot: bool,
}

/// The data bundle on a line and what is left of it, in MB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineBundle {
    pub name: String,
    pub allowance_mb: Option<u64>,
    pub used_mb: Option<u64>,
    pub remaining_mb: Option<u64>,
    #[schema(value_type = Option<String>)]
    pub period_from: Option<NaiveDateTime>,
    #[schema(value_type = Option<String>)]
    pub period_to: Option<NaiveDateTime>,
}

/// A subscriber line as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub mpn: Msisdn,
    pub iccid: Option<Iccid>,
    /// The provider's account id (ONSIM `i_account`).
    pub account_id: Option<String>,
    pub sip_address: Option<String>,
    pub services: LineServices,
    pub bundle: Option<LineBundle>,
}

/// Whose unified-communications platform a new line joins.
#[derive(Clone, PartialEq, Eq)]
pub enum LineUc {
    /// The reseller's own PBX: optional SIP user and password.
    Own {
        pbx_user: Option<String>,
        pbx_password: Option<String>,
    },
    /// ONSIM's UC, with the subscriber's details and product.
    Onsim {
        group_name: String,
        /// Sent upstream as ISO 3166-1 alpha-3 (`GBR`).
        home_location: CountryCode,
        first_name: String,
        last_name: String,
        email: String,
        product: u32,
        /// `BACKGROUND-ONLY`, `2GB`, `4GB`, `10GB`, `20GB` or `UNLIMITED`.
        mobile_data: String,
    },
}

impl fmt::Debug for LineUc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Own { pbx_user, .. } => f
                .debug_struct("Own")
                .field("pbx_user", pbx_user)
                .field("pbx_password", &"[redacted]")
                .finish(),
            Self::Onsim {
                group_name,
                home_location,
                product,
                mobile_data,
                ..
            } => f
                .debug_struct("Onsim")
                .field("group_name", group_name)
                .field("home_location", home_location)
                .field("product", product)
                .field("mobile_data", mobile_data)
                .finish_non_exhaustive(),
        }
    }
}

/// A line to provision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionLine {
    pub mpn: Msisdn,
    /// A physical SIM to use; without one the provider picks its next eSIM.
    pub iccid: Option<Iccid>,
    pub uc: LineUc,
}

/// What provisioning returned. The SIP password is shown to the caller
/// once and never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedLine {
    pub iccid: Option<Iccid>,
    pub activation_code: Option<ActivationCode>,
    /// The SIP username (ONSIM: `ONSIM` + ICCID).
    pub sip_username: Option<String>,
    pub pbx_password: Option<String>,
}

impl fmt::Debug for ProvisionedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionedLine")
            .field("iccid", &self.iccid)
            .field("activation_code", &self.activation_code)
            .field("sip_username", &self.sip_username)
            .field(
                "pbx_password",
                &self.pbx_password.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Which line an eSIM request is about: ONSIM accepts any one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineRef {
    Mpn(Msisdn),
    Iccid(Iccid),
    Account(String),
}

/// The eSIM of a line: its activation code and installation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineEsim {
    pub activation_code: ActivationCode,
    /// `installed` or `ready to install`, as the provider says.
    pub status: String,
    pub enabled_on_device: Option<bool>,
    /// Whether a requested refresh was actioned, in the provider's words.
    pub refresh: Option<String>,
}

/// Changes to a line's settings; `None` leaves a field as it is.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineSettings {
    /// A new primary number.
    #[schema(value_type = Option<String>, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$")]
    pub mpn: Option<Msisdn>,
    pub pbx_user: Option<String>,
    pub pbx_password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile_data: Option<bool>,
    pub mobile_voice: Option<bool>,
    pub mobile_sms: Option<bool>,
    pub mobile_hotspot: Option<bool>,
}

impl fmt::Debug for LineSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineSettings")
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

/// Call and SMS recording of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recording {
    pub voice: bool,
    pub sms: bool,
}

/// Something a line can be provisioned with: a product or a data bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineOffer {
    /// Product id (for provisioning) or bundle SKU (for bundle changes).
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: LineOfferKind,
    /// Data of a bundle in MB; `None` for unlimited or non-data products.
    pub data_mb: Option<u64>,
}

/// What a [`LineOffer`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineOfferKind {
    Product,
    Bundle,
}

/// State of a number or SIM in the reseller's inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InventoryState {
    Active,
    Reserved,
}

/// A number of the reseller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhoneNumber {
    #[schema(value_type = String)]
    pub mpn: Msisdn,
    pub state: InventoryState,
}

/// Which SIMs to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimKind {
    All,
    Esim,
    Psim,
}

/// A SIM of the reseller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimCard {
    #[schema(value_type = String)]
    pub iccid: Iccid,
    /// `esim` or `psim`.
    pub kind: SimKind,
    pub state: InventoryState,
    #[schema(value_type = Option<String>, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$")]
    pub mpn: Option<Msisdn>,
}

/// Where a number port is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PortState {
    All,
    Initial,
    InProgress,
    Failed,
    Complete,
    Closed,
}

/// A number port (in or out), as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Port {
    pub id: String,
    pub number: String,
    /// `None` when the provider sent a state nobody documented.
    pub state: Option<PortState>,
    pub provider_status: String,
    /// `PORT-IN` or `PORT-OUT`.
    pub direction: String,
    pub pac: Option<String>,
    pub port_in_number: Option<String>,
    pub order_date: Option<String>,
    pub port_date: Option<String>,
    pub valid_until: Option<String>,
    pub updated: Option<String>,
}

/// A customer group of the reseller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    /// 3–45 of `a-z A-Z 0-9 _ -`, starting alphanumeric, with a letter.
    #[schema(
        pattern = r"^([A-Za-z]|[0-9][0-9_-]*[A-Za-z])[A-Za-z0-9_-]*$",
        min_length = 3,
        max_length = 45,
        example = "acme-travel"
    )]
    pub name: String,
    /// ISO 3166-1 alpha-2 (sent upstream as alpha-3); at least one.
    #[schema(schema_with = crate::country::alpha2_list_schema)]
    pub home_locations: Vec<CountryCode>,
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"\S")]
    pub address_line_1: Option<String>,
    pub address_line_2: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub post_code: Option<String>,
    pub description: Option<String>,
}

impl Group {
    /// ONSIM's name rule: 3–45 of `a-z A-Z 0-9 _ -`, starting alphanumeric,
    /// with at least one letter; and an address line and a home location.
    pub fn validate(&self) -> Result<(), DomainError> {
        let name = &self.name;
        let allowed = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let starts_alnum = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        let has_letter = name.bytes().any(|b| b.is_ascii_alphabetic());
        if !(3..=45).contains(&name.len()) || !allowed || !starts_alnum || !has_letter {
            return Err(DomainError::InvalidGroupName(name.clone()));
        }
        if self
            .address_line_1
            .as_deref()
            .is_none_or(|line| line.trim().is_empty())
        {
            return Err(DomainError::MissingField("address_line_1"));
        }
        if self.home_locations.is_empty() {
            return Err(DomainError::MissingField("home_locations"));
        }
        Ok(())
    }
}

/// Filters of a subscriber list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberFilter {
    pub state: Option<String>,
    pub is_recorded: Option<bool>,
    pub group: Option<String>,
}

/// A subscriber of the reseller, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscriber {
    #[schema(value_type = String)]
    pub mpn: Msisdn,
    #[schema(value_type = Option<String>)]
    pub iccid: Option<Iccid>,
    pub state: String,
    pub group: Option<String>,
    pub is_recorded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_e164_digits() {
        assert_eq!(
            Msisdn::parse("+447777777777").unwrap().as_str(),
            "447777777777"
        );
        assert_eq!(
            Msisdn::parse("00447777777777").unwrap().as_str(),
            "447777777777"
        );
        assert_eq!(
            Msisdn::parse("447777777777").unwrap().as_str(),
            "447777777777"
        );
        for bad in [
            "",
            "07777777777",
            "44-7777",
            "1234567",
            "4477777777777777",
            "+",
        ] {
            assert!(Msisdn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn iccids_convert_to_and_from_the_short_form() {
        let printed = Iccid::with_check_digit("8944530000000012345").unwrap();
        assert_eq!(printed.as_str().len(), 20);
        assert_eq!(iccid_short_form(&printed), "8944530000000012345");
        assert_eq!(
            iccid_from_short_form("8944530000000012345").unwrap(),
            printed
        );
        assert_eq!(
            iccid_from_short_form("ONSIM8944530000000012345").unwrap(),
            printed
        );
        assert_eq!(iccid_from_short_form(printed.as_str()).unwrap(), printed);
        assert!(iccid_from_short_form("12345").is_err());
    }

    #[test]
    fn group_names_follow_onsim_rules() {
        let group = |name: &str| Group {
            name: name.into(),
            home_locations: vec![CountryCode::parse("GB").unwrap()],
            address_line_1: Some("1 Street".into()),
            address_line_2: None,
            city: None,
            country: None,
            post_code: None,
            description: None,
        };
        assert!(group("CUSTOMER_A").validate().is_ok());
        for bad in ["ab", "_abc", "123", "has space", &"a".repeat(46)] {
            assert_eq!(
                group(bad).validate(),
                Err(DomainError::InvalidGroupName(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let uc = LineUc::Own {
            pbx_user: Some("u".into()),
            pbx_password: Some("hunter2".into()),
        };
        assert!(!format!("{uc:?}").contains("hunter2"));
        let settings = LineSettings {
            pbx_password: Some("hunter2".into()),
            ..LineSettings::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
