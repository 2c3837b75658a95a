//! Physical SIM cards shipped to an address (Telnyx SIM card orders).
//!
//! These are not bundles: a SIM order buys plastic, ships it, and is over
//! when it is delivered. It has its own state machine and its own money
//! (kept exact: providers send amounts as strings).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CountryCode, DomainError, Money};

/// Largest page a SIM order list may ask for (Telnyx: `page[size]` 1..250).
pub const MAX_PAGE_SIZE: u32 = 250;

/// A shipping address as the caller gives it, checked before any upstream call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewAddress {
    pub first_name: String,
    pub last_name: String,
    pub business_name: String,
    pub street_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_address: Option<String>,
    pub locality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administrative_area: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(value_type = String, example = "US")]
    pub country_code: CountryCode,
}

impl NewAddress {
    /// Every field Telnyx requires must be present and not blank; the first
    /// missing one is named so the caller can fix it.
    pub fn validate(&self) -> Result<(), DomainError> {
        let required = [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("business_name", &self.business_name),
            ("street_address", &self.street_address),
            ("locality", &self.locality),
        ];
        match required.iter().find(|(_, value)| value.trim().is_empty()) {
            Some((field, _)) => Err(DomainError::MissingField(field)),
            None => Ok(()),
        }
    }
}

/// A stored shipping address; its provider id is what SIM orders refer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingAddress {
    /// The provider's address id.
    pub id: String,
    #[serde(flatten)]
    pub address: NewAddress,
}

/// Where a SIM card order is, in the provider's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimOrderStatus {
    Pending,
    Processing,
    ReadyToShip,
    Shipped,
    Delivered,
    Canceled,
}

impl SimOrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [SimOrderStatus; 6] = [
        Self::Pending,
        Self::Processing,
        Self::ReadyToShip,
        Self::Shipped,
        Self::Delivered,
        Self::Canceled,
    ];

    /// The snake_case name used on the wire, in events and in storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::ReadyToShip => "ready_to_ship",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Canceled => "canceled",
        }
    }

    /// Parses the snake_case name; `None` for a status nobody documented.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Delivered and canceled orders change no more.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Delivered | Self::Canceled)
    }
}

/// A SIM card order as a provider reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimOrder {
    /// The provider's order id.
    pub id: String,
    pub quantity: u32,
    pub cost: Money,
    /// `None` when the provider sent a status nobody documented; the raw
    /// word is kept in `provider_status`.
    pub status: Option<SimOrderStatus>,
    pub provider_status: String,
    pub tracking_url: Option<String>,
    pub address: ShippingAddress,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a SIM card order would cost, before placing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimOrderPreview {
    pub quantity: u32,
    pub total_cost: Money,
    pub shipping_cost: Money,
    pub sim_cards_cost: Money,
}

/// A page request, 1-based, as SIM order lists take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub number: u32,
    pub size: u32,
}

impl PageRequest {
    /// Checks `number ≥ 1` and `1 ≤ size ≤ 250`.
    pub fn new(number: u32, size: u32) -> Result<Self, DomainError> {
        if number == 0 {
            return Err(DomainError::PageNumber);
        }
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(DomainError::PageSize(size));
        }
        Ok(Self { number, size })
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            number: 1,
            size: 20,
        }
    }
}

/// Filters of a SIM card order list: every `filter[...]` Telnyx documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimOrderFilter {
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub quantity: Option<u32>,
    pub cost_amount: Option<String>,
    pub cost_currency: Option<String>,
    pub address_id: Option<String>,
    pub address_street_address: Option<String>,
    pub address_extended_address: Option<String>,
    pub address_locality: Option<String>,
    pub address_administrative_area: Option<String>,
    pub address_country_code: Option<String>,
    pub address_postal_code: Option<String>,
}

/// One page of SIM card orders with the provider's paging facts.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOrderPage {
    pub orders: Vec<SimOrder>,
    pub page_number: u32,
    pub page_size: u32,
    pub total_pages: u32,
    pub total_results: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> NewAddress {
        NewAddress {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            business_name: "Analytical Ltd".into(),
            street_address: "311 W Superior St".into(),
            extended_address: None,
            locality: "Chicago".into(),
            administrative_area: Some("IL".into()),
            postal_code: Some("60654".into()),
            country_code: CountryCode::parse("US").unwrap(),
        }
    }

    #[test]
    fn an_address_names_its_first_missing_field() {
        assert_eq!(address().validate(), Ok(()));
        let mut blank = address();
        blank.business_name = "  ".into();
        assert_eq!(
            blank.validate(),
            Err(DomainError::MissingField("business_name"))
        );
    }

    #[test]
    fn pages_are_bounded_like_telnyx() {
        assert!(PageRequest::new(1, 1).is_ok());
        assert!(PageRequest::new(3, 250).is_ok());
        assert_eq!(PageRequest::new(1, 0), Err(DomainError::PageSize(0)));
        assert_eq!(PageRequest::new(1, 251), Err(DomainError::PageSize(251)));
        assert_eq!(PageRequest::new(0, 20), Err(DomainError::PageNumber));
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_none() {
        for status in SimOrderStatus::ALL {
            assert_eq!(SimOrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(SimOrderStatus::parse("cancelled"), None);
        assert!(SimOrderStatus::Delivered.is_final());
        assert!(!SimOrderStatus::Shipped.is_final());
    }
}
