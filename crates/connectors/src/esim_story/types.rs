//! eSIM Story partner API wire types, shared by the client and the sandbox.

use serde::{Deserialize, Serialize};

/// One line of an order: `qty` units of an option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderProduct {
    pub option_id: String,
    pub qty: u32,
}

/// `POST /v1/api_partner/orders` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// The caller's order id; the provider refuses a second order with it.
    pub external_order_id: String,
    pub products: Vec<OrderProduct>,
}

/// One ordered unit: each gets its own `topup_id` and, later, its own webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderedUnit {
    pub topup_id: String,
    pub option_id: String,
}

/// `POST /v1/api_partner/orders` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderResponse {
    pub products: Vec<OrderedUnit>,
}

/// 401 body: `{"error": {"code": "unauthorized", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthErrorBody {
    pub error: AuthError,
}

/// The inner error of a 401.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthError {
    pub code: String,
    pub message: String,
}

/// 400 and 500 body: `{"error": "Invalid JSON format"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlainErrorBody {
    pub error: String,
}

/// 422 body: `{"errors": ["External order id has already been taken"]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationErrorBody {
    pub errors: Vec<String>,
}

/// The webhook eSIM Story sends once per unit, when its eSIM is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EsimReady {
    pub topup_id: String,
    pub option_id: String,
    pub iccid: String,
    pub smdp: String,
    pub activate_code: String,
    /// `LPA:1$<smdp>$<activate_code>`.
    #[serde(default)]
    pub download_link: Option<String>,
    #[serde(default)]
    pub qrcode_img_url: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub expired_date: Option<String>,
    pub external_order_id: String,
}

/// One sellable option, as the operator configures it (eSIM Story publishes
/// no catalogue endpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionConfig {
    pub option_id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    /// Data in MB; absent for unlimited.
    #[serde(default)]
    pub data_mb: Option<u64>,
    pub validity_days: u32,
    /// Exact decimal price, e.g. `"4.20"`.
    pub price: String,
    pub currency: String,
}
