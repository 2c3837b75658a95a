//! GSMA SGP.22 activation codes (`LPA:1$...`) and the install links built from them.

use std::fmt;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::DomainError;

/// The parts of an SGP.22 §4.1 activation code.
///
/// A QR code for an eSIM encodes exactly the formatted string; the optional
/// confirmation code never appears inside it (it travels separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCode {
    /// SM-DP+ address, e.g. `rsp-3104.idemia.io`.
    pub smdp_address: String,
    /// Matching ID; may be empty.
    pub matching_id: String,
    /// Optional SM-DP+ OID.
    pub smdp_oid: Option<String>,
    /// Whether the device must ask the user for a confirmation code.
    pub confirmation_code_required: bool,
}

impl ActivationCode {
    /// An activation code for an SM-DP+ address and matching ID.
    pub fn new(smdp_address: impl Into<String>, matching_id: impl Into<String>) -> Self {
        Self {
            smdp_address: smdp_address.into(),
            matching_id: matching_id.into(),
            smdp_oid: None,
            confirmation_code_required: false,
        }
    }

    /// Parses `LPA:1$<smdp>$<matching id>[$<oid>[$1]]`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::InvalidActivationCode(raw.to_owned());
        let rest = raw.trim().strip_prefix("LPA:").ok_or_else(bad)?;
        let mut parts = rest.split('$');
        if parts.next() != Some("1") {
            return Err(bad());
        }
        let smdp_address = parts.next().filter(|s| !s.is_empty()).ok_or_else(bad)?;
        let matching_id = parts.next().ok_or_else(bad)?;
        let smdp_oid = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
        let confirmation_code_required = match parts.next() {
            None => false,
            Some("1") => true,
            Some(_) => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self {
            smdp_address: smdp_address.to_owned(),
            matching_id: matching_id.to_owned(),
            smdp_oid,
            confirmation_code_required,
        })
    }

    /// Apple's one-tap install link (iOS 17.4+).
    pub fn apple_install_url(&self) -> String {
        format!(
            "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata={}",
            utf8_percent_encode(&self.to_string(), NON_ALPHANUMERIC)
        )
    }

    /// Android's de-facto install link; best effort, not officially documented.
    pub fn android_install_url(&self) -> String {
        format!(
            "https://esimsetup.android.com/esim_qrcode_provisioning?carddata={}",
            utf8_percent_encode(&self.to_string(), NON_ALPHANUMERIC)
        )
    }
}

impl fmt::Display for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LPA:1${}${}", self.smdp_address, self.matching_id)?;
        match (&self.smdp_oid, self.confirmation_code_required) {
            (Some(oid), true) => write!(f, "${oid}$1"),
            (None, true) => write!(f, "$$1"),
            (Some(oid), false) => write!(f, "${oid}"),
            (None, false) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_all_forms() {
        for raw in [
            "LPA:1$rsp-3104.idemia.io$BCCVJ-TMDA6-BWUDC-PMXUV",
            "LPA:1$smdp.example.com$$1.3.6.1.4.1.31746",
            "LPA:1$smdp.example.com$ABC$1.3.6.1.4.1.31746$1",
            "LPA:1$smdp.example.com$ABC$$1",
        ] {
            let code = ActivationCode::parse(raw).unwrap();
            assert_eq!(code.to_string(), raw);
        }
        let required = ActivationCode::parse("LPA:1$s.example$ABC$$1").unwrap();
        assert!(required.confirmation_code_required);
    }

    #[test]
    fn rejects_malformed_codes() {
        for raw in [
            "",
            "LPA:2$a$b",
            "LPA:1$$b",
            "LPA:1$a",
            "1$a$b",
            "LPA:1$a$b$c$2",
            "LPA:1$a$b$c$1$x",
        ] {
            assert!(ActivationCode::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn apple_link_percent_encodes_dollars() {
        let url = ActivationCode::new("rsp.example", "AB-CD").apple_install_url();
        assert_eq!(
            url,
            "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=LPA%3A1%24rsp%2Eexample%24AB%2DCD"
        );
    }
}
