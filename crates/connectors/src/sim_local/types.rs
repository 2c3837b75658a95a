//! Sim Local UNITE Partner API wire types, shared by client and sandbox.

use serde::{Deserialize, Serialize};

/// A destination (`GET /destinations`); the alias is an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub alias: String,
    pub description: String,
    #[serde(default)]
    pub display_order: i64,
}

/// One price of an offering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    pub price: f64,
    #[serde(default)]
    pub recommended_retail_price: Option<f64>,
    #[serde(default)]
    pub vat_percentage: Option<f64>,
    pub currency: String,
}

/// A product offering: `data` in GB (`-1` unlimited), `bundle_validity` in days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductOffering {
    pub id: String,
    pub destinations: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub operator_logo: Option<String>,
    #[serde(default)]
    pub network_operator: Option<String>,
    pub name: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    pub data: f64,
    #[serde(default)]
    pub call_local: bool,
    #[serde(default)]
    pub call_local_minutes: i64,
    #[serde(default)]
    pub call_international: bool,
    #[serde(default)]
    pub call_international_minutes: i64,
    #[serde(default)]
    pub sms: i64,
    pub bundle_validity: u32,
    #[serde(default)]
    pub featured: bool,
    pub pricings: Vec<Pricing>,
}

/// The item of an order request (shape not published: assumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemRequest {
    pub product_offering_id: String,
    /// A physical SIM to apply the offering to; absent for a new eSIM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssn: Option<String>,
}

/// `POST /orders` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrder {
    pub item: OrderItemRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
    pub locale: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
}

/// The item of an order answer, with the eSIM once it is known (assumed shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    /// Absent from the reference's examples (their `item` is shown empty),
    /// so an answer without it is still read.
    #[serde(default)]
    pub product_offering_id: String,
    #[serde(default)]
    pub iccid: Option<String>,
    #[serde(default)]
    pub smdp_address: Option<String>,
    #[serde(default)]
    pub matching_id: Option<String>,
    /// The full `LPA:1$…` string, when given instead of its parts.
    #[serde(default)]
    pub activation_code: Option<String>,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    #[serde(default)]
    pub order_no: String,
    #[serde(default)]
    pub external_reference: Option<String>,
    pub status: String,
    pub item: OrderItem,
    #[serde(default)]
    pub locale: String,
}

/// A Spring-style page (`GET /orders?external_reference=`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    pub content: Vec<Order>,
    pub total_pages: u32,
    pub total_elements: u64,
    #[serde(default)]
    pub last: bool,
    #[serde(default)]
    pub first: bool,
    #[serde(default)]
    pub empty: bool,
}

/// The fulfilment webhook: only an id and a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentWebhook {
    pub order_id: String,
    pub status: String,
}

/// Error body (not published; Spring Boot's default shape is assumed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub message: String,
}

/// OAuth2 token answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}
