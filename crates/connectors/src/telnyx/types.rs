//! Telnyx wire types for addresses and SIM card orders, shared by client and
//! sandbox so the two cannot drift. Amounts are strings upstream and stay
//! strings here; `transform.rs` turns them into exact decimals.

use serde::{Deserialize, Serialize};

/// `record_type` of a SIM card order.
pub const SIM_CARD_ORDER: &str = "sim_card_order";
/// `record_type` of a cost preview.
pub const SIM_CARD_ORDER_PREVIEW: &str = "sim_card_order_preview";
/// `record_type` of an address.
pub const ADDRESS: &str = "address";

/// Every Telnyx answer wraps its resource in `data`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// A list answer: resources and paging facts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListOf<T> {
    pub data: Vec<T>,
    pub meta: PaginationMeta,
}

/// `meta` of a list answer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PaginationMeta {
    pub page_number: u32,
    pub page_size: u32,
    pub total_pages: u32,
    pub total_results: u64,
}

/// `{"amount": "2.52", "currency": "USD"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub amount: String,
    pub currency: String,
}

/// `POST /addresses` body. Telnyx requires the first six named fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddressBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administrative_area: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// An address as Telnyx returns it, and as it is copied into an order's
/// `order_address`. Fields the documentation's examples leave out of
/// `order_address` (the names) are optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// An int64 written as a string.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub business_name: Option<String>,
    #[serde(default)]
    pub street_address: Option<String>,
    #[serde(default)]
    pub extended_address: Option<String>,
    #[serde(default)]
    pub locality: Option<String>,
    #[serde(default)]
    pub administrative_area: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
}

/// `POST /sim_card_orders` and `POST /sim_card_order_preview` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderBody {
    pub address_id: String,
    pub quantity: i64,
}

/// A SIM card order (`record_type: "sim_card_order"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimCardOrder {
    /// A UUID.
    pub id: String,
    pub record_type: String,
    pub quantity: u32,
    pub cost: Cost,
    pub order_address: Address,
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// `pending`, `processing`, `ready_to_ship`, `shipped`, `delivered` or
    /// `canceled`; kept as a string so an undocumented one is not fatal.
    pub status: String,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601.
    pub updated_at: String,
}

/// A cost preview (`record_type: "sim_card_order_preview"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimCardOrderPreview {
    pub total_cost: Cost,
    pub shipping_cost: Cost,
    pub sim_cards_cost: Cost,
    pub record_type: String,
    pub quantity: u32,
}

/// Telnyx's error body: `{"errors": [{code, title, detail, source, meta}]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<ErrorObject>,
}

/// One JSON:API error object. `code` is a number written as a string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
}

/// Which part of the request an error is about.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorSource {
    /// A JSON pointer into the body, e.g. `/first_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// A query parameter, e.g. `page[size]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}
