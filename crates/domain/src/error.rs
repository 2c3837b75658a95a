//! Validation errors of domain values, each with a stable machine-readable code.

/// Why a value could not become a domain type.
///
/// Every variant carries a stable `code()` that the API exposes to clients so
/// they can branch on it without parsing messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("ICCID must contain only digits")]
    IccidNotDigits,
    #[error("ICCID must be 19 or 20 digits long, got {0}")]
    IccidLength(usize),
    #[error("ICCID must start with the telecom prefix 89")]
    IccidPrefix,
    #[error("ICCID check digit (Luhn) is wrong")]
    IccidChecksum,
    #[error("'{0}' is not an ISO 3166-1 alpha-2 country code")]
    UnknownCountry(String),
    #[error("'{0}' is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error("amount '{0}' has more precision than simgate stores (6 decimal places)")]
    AmountPrecision(String),
    #[error("amount '{0}' is out of range")]
    AmountRange(String),
    #[error("activation code is not of the form LPA:1$<SM-DP+>$<matching id>: {0}")]
    InvalidActivationCode(String),
    #[error("'{0}' is not a known provider")]
    UnknownProvider(String),
    #[error("'{0}' is not a product id of the form <provider>:<sku>")]
    InvalidProductId(String),
    #[error("'{0}' is required")]
    MissingField(&'static str),
    #[error("page numbers start at 1")]
    PageNumber,
    #[error("page size must be between 1 and 250, got {0}")]
    PageSize(u32),
    #[error("'{0}' is not a mobile number in E.164 (country code then number, 8 to 15 digits)")]
    InvalidMsisdn(String),
    #[error(
        "group name '{0}' must be 3-45 of a-z A-Z 0-9 _ -, start with a letter or digit and contain a letter"
    )]
    InvalidGroupName(String),
    #[error("'{raw}' is not a {kind}")]
    InvalidId { kind: &'static str, raw: String },
    /// A field of an account's terms or a ledger request is unusable.
    #[error("{field}: {reason}")]
    InvalidAccount { field: &'static str, reason: String },
    #[error("order cannot move from {from} to {to}")]
    InvalidTransition {
        from: crate::OrderStatus,
        to: crate::OrderStatus,
    },
}

impl DomainError {
    /// The stable code clients see in problem responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IccidNotDigits | Self::IccidLength(_) | Self::IccidPrefix => "invalid_iccid",
            Self::IccidChecksum => "invalid_iccid_checksum",
            Self::UnknownCountry(_) => "invalid_country",
            Self::UnknownCurrency(_) => "invalid_currency",
            Self::AmountPrecision(_) | Self::AmountRange(_) => "invalid_amount",
            Self::InvalidActivationCode(_) => "invalid_activation_code",
            Self::UnknownProvider(_) => "unknown_provider",
            Self::InvalidProductId(_) => "invalid_product_id",
            Self::InvalidTransition { .. } => "invalid_order_transition",
            Self::MissingField(_) => "missing_field",
            Self::PageNumber | Self::PageSize(_) => "invalid_page",
            Self::InvalidMsisdn(_) => "invalid_msisdn",
            Self::InvalidGroupName(_) => "invalid_group_name",
            Self::InvalidId { .. } => "invalid_id",
            Self::InvalidAccount { .. } => "invalid_account",
        }
    }
}
