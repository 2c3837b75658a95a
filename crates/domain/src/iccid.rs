//! ICCID (ITU-T E.118): the identity printed on, or provisioned into, a SIM.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A validated ICCID: `89` + country + issuer + serial + Luhn check digit.
///
/// simgate validates strictly at its own API so that a typo is caught before
/// an upstream call is spent on it; providers that want another form (ONSIM
/// drops the check digit) convert from this one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iccid(String);

impl Iccid {
    /// Validates digits, length (19–20), the `89` prefix and the Luhn digit.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let raw = raw.trim();
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::IccidNotDigits);
        }
        if !(19..=20).contains(&raw.len()) {
            return Err(DomainError::IccidLength(raw.len()));
        }
        if !raw.starts_with("89") {
            return Err(DomainError::IccidPrefix);
        }
        if !luhn_valid(raw) {
            return Err(DomainError::IccidChecksum);
        }
        Ok(Self(raw.to_owned()))
    }

    /// Appends the Luhn check digit to a body of digits, e.g. to mint ICCIDs
    /// in a sandbox or to restore one a provider stores without it.
    pub fn with_check_digit(body: &str) -> Result<Self, DomainError> {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::IccidNotDigits);
        }
        let digit = luhn_check_digit(body);
        Self::parse(&format!("{body}{digit}"))
    }

    /// The ICCID as its digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Luhn check digit for a string of ASCII digits.
fn luhn_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

fn luhn_valid(digits: &str) -> bool {
    let (body, check) = digits.split_at(digits.len() - 1);
    luhn_check_digit(body) == u32::from(check.as_bytes()[0] - b'0')
}

impl FromStr for Iccid {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Iccid {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Iccid> for String {
    fn from(value: Iccid) -> Self {
        value.0
    }
}

impl fmt::Display for Iccid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_real_esim_go_iccid() {
        // From a live eSIM Go order response.
        assert!(Iccid::parse("8943108167001960542").is_ok());
    }

    #[test]
    fn minted_iccids_validate() {
        let iccid = Iccid::with_check_digit("894400000000000001").unwrap();
        assert_eq!(iccid.as_str().len(), 19);
        assert_eq!(Iccid::parse(iccid.as_str()).unwrap(), iccid);
    }

    #[test]
    fn rejects_each_class_of_bad_iccid() {
        assert_eq!(Iccid::parse("89abc"), Err(DomainError::IccidNotDigits));
        assert_eq!(Iccid::parse(""), Err(DomainError::IccidNotDigits));
        assert_eq!(Iccid::parse("8944123"), Err(DomainError::IccidLength(7)));
        assert_eq!(
            Iccid::parse("8944000000000000000123"),
            Err(DomainError::IccidLength(22))
        );
        assert_eq!(
            Iccid::parse("1943108167001960542"),
            Err(DomainError::IccidPrefix)
        );
        assert_eq!(
            Iccid::parse("8943108167001960543"),
            Err(DomainError::IccidChecksum)
        );
    }
}
