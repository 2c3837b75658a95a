//! Exact money: a decimal amount with an ISO 4217 currency.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// How many decimal places simgate keeps. Wholesale prices are often finer
/// than a currency's minor unit (0.136 USD), so minor units are not enough.
pub const MONEY_SCALE: u32 = 6;

/// A validated ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// US dollars: the currency prices are compared in for a tenant without
    /// pricing rules.
    pub const USD: Self = Self(iso_currency::Currency::USD);

    /// Parses a three-letter code, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        iso_currency::Currency::from_code(&raw.trim().to_ascii_uppercase())
            .map(Self)
            .ok_or_else(|| DomainError::UnknownCurrency(raw.to_owned()))
    }

    /// Every code [`Currency::parse`] accepts, upper case, so the API's
    /// schema can list exactly what it takes. `iso_currency` offers no
    /// list without another dependency, so all 17,576 three-letter codes
    /// are tried; call it once.
    pub fn all_codes() -> Vec<&'static str> {
        let letters = b'A'..=b'Z';
        letters
            .clone()
            .flat_map(|a| letters.clone().map(move |b| [a, b]))
            .flat_map(|[a, b]| (b'A'..=b'Z').map(move |c| [a, b, c]))
            .filter_map(|code| {
                std::str::from_utf8(&code)
                    .ok()
                    .and_then(iso_currency::Currency::from_code)
            })
            .map(|currency| currency.code())
            .collect()
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }
}

impl TryFrom<String> for Currency {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An exact amount of money. Serialised with the amount as a JSON string so
/// that no client parses it through a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Decimal amount, e.g. `"6.90"`.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "6.90")]
    pub amount: Decimal,
    /// ISO 4217 code, e.g. `"USD"`.
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
}

impl Money {
    /// Builds money, refusing amounts finer than [`MONEY_SCALE`] places or negative.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, DomainError> {
        micros(amount)?;
        Ok(Self { amount, currency })
    }

    /// Builds money from a float a provider sent (eSIM Go sends `6.9`).
    ///
    /// The float's shortest round-trip text is parsed, so `6.9` becomes
    /// exactly 6.9 and not 6.9000000000000003552713678800500929355621337890625.
    pub fn from_provider_float(value: f64, currency: Currency) -> Result<Self, DomainError> {
        if !value.is_finite() {
            return Err(DomainError::AmountRange(value.to_string()));
        }
        let text = value.to_string();
        let amount =
            Decimal::from_str(&text).map_err(|_| DomainError::AmountRange(text.clone()))?;
        Self::new(amount, currency)
    }

    /// The amount in millionths of the currency unit: exact, and orderable in SQL.
    pub fn to_micros(&self) -> Result<i64, DomainError> {
        micros(self.amount)
    }

    /// The inverse of [`Money::to_micros`].
    pub fn from_micros(micros: i64, currency: Currency) -> Self {
        Self {
            amount: Decimal::new(micros, MONEY_SCALE).normalize(),
            currency,
        }
    }
}

/// An amount in millionths of its unit, refusing negative amounts, amounts
/// finer than [`MONEY_SCALE`] places and amounts too large to store.
pub fn micros(amount: Decimal) -> Result<i64, DomainError> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(DomainError::AmountRange(amount.to_string()));
    }
    if amount.normalize().scale() > MONEY_SCALE {
        return Err(DomainError::AmountPrecision(amount.to_string()));
    }
    amount
        .checked_mul(Decimal::from(1_000_000))
        .and_then(|m| m.trunc().to_i64())
        .ok_or_else(|| DomainError::AmountRange(amount.to_string()))
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    #[test]
    fn provider_floats_become_exact_decimals() {
        let m = Money::from_provider_float(6.9, usd()).unwrap();
        assert_eq!(m.amount, Decimal::from_str("6.9").unwrap());
        assert_eq!(m.to_micros().unwrap(), 6_900_000);
        assert_eq!(Money::from_micros(6_900_000, usd()), m);
        let fine = Money::from_provider_float(1.365, usd()).unwrap();
        assert_eq!(fine.to_micros().unwrap(), 1_365_000);
    }

    #[test]
    fn rejects_bad_currency_precision_and_sign() {
        assert!(Currency::parse("XYZ").is_err());
        assert!(Money::new(Decimal::from_str("0.0000001").unwrap(), usd()).is_err());
        assert!(Money::new(Decimal::from_str("-1").unwrap(), usd()).is_err());
        assert!(Money::from_provider_float(f64::NAN, usd()).is_err());
    }

    #[test]
    fn serialises_amount_as_string() {
        let m = Money::from_micros(6_900_000, usd());
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"6.9","currency":"USD"}"#);
    }
}
