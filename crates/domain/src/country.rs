//! ISO 3166-1 countries, the one way simgate names a place.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A validated ISO 3166-1 alpha-2 country code, upper case (`JP`, `GB`).
///
/// Providers spell countries as names, alpha-2 or alpha-3; connectors turn
/// each into this so that a search for `JP` finds every provider's Japan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

/// Schema of a non-empty list of alpha-2 codes, each one
/// [`CountryCode::parse`] accepts, for the API's document.
pub fn alpha2_list_schema() -> utoipa::openapi::schema::Array {
    let mut code =
        utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::String);
    code.enum_values = Some(CountryCode::all_codes().map(Into::into).collect());
    let mut list = utoipa::openapi::schema::Array::new(code);
    list.min_items = Some(1);
    list
}

impl CountryCode {
    /// Parses an alpha-2 code, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let upper = raw.trim().to_ascii_uppercase();
        if upper.len() != 2 || celes::Country::from_alpha2(&upper).is_err() {
            return Err(DomainError::UnknownCountry(raw.to_owned()));
        }
        let bytes = upper.as_bytes();
        Ok(Self([bytes[0], bytes[1]]))
    }

    /// Every alpha-2 code [`CountryCode::parse`] accepts, upper case, so
    /// the API's schema can list exactly what it takes.
    pub fn all_codes() -> impl Iterator<Item = &'static str> {
        celes::Country::get_countries()
            .into_iter()
            .map(|country| country.alpha2)
    }

    /// Parses an alpha-3 code (as some providers use) into the alpha-2 form.
    pub fn from_alpha3(raw: &str) -> Result<Self, DomainError> {
        let country = celes::Country::from_alpha3(raw.trim().to_ascii_uppercase())
            .map_err(|_| DomainError::UnknownCountry(raw.to_owned()))?;
        Self::parse(country.alpha2)
    }

    /// The alpha-2 code.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The alpha-3 code, for providers that speak it.
    pub fn alpha3(&self) -> &'static str {
        self.country().alpha3
    }

    /// The English short name.
    pub fn name(&self) -> &'static str {
        self.country().long_name
    }

    fn country(self) -> celes::Country {
        celes::Country::from_alpha2(self.as_str()).expect("validated on construction")
    }

    /// Every ISO 3166-1 country, for catalogues and simulators.
    pub fn all() -> impl Iterator<Item = CountryCode> {
        celes::Country::get_countries()
            .into_iter()
            .filter_map(|c| CountryCode::parse(c.alpha2).ok())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_rejects_unknown() {
        assert_eq!(CountryCode::parse("jp").unwrap().as_str(), "JP");
        assert_eq!(CountryCode::parse("JP").unwrap().alpha3(), "JPN");
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("JPN").is_err());
        assert!(CountryCode::parse("").is_err());
        assert_eq!(CountryCode::from_alpha3("gbr").unwrap().as_str(), "GB");
    }

    #[test]
    fn lists_all_countries() {
        assert!(CountryCode::all().count() >= 240);
    }
}
