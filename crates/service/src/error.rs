//! Errors of the use cases, each naming what the client or operator can do.

use simgate_connectors::ConnectorError;
use simgate_domain::entities::{OrderRecord, RepositoryError};
use simgate_domain::{Capability, DomainError, ProviderId};

use crate::webhook_targets::TargetError;

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("no product {0} in the catalogue")]
    UnknownProduct(String),
    #[error("no offer {0} in the catalogue")]
    UnknownOffer(String),
    #[error("quantity must be between 1 and {max}, got {got}")]
    InvalidQuantity { got: u32, max: u32 },
    #[error("no eSIM {0} for this account")]
    EsimNotFound(String),
    #[error("bundle {bundle} is not on eSIM {iccid}, or was already revoked")]
    BundleNotFound { iccid: String, bundle: String },
    #[error("the provider refused: {0}")]
    RefusedByProvider(String),
    #[error("the provider has no such thing: {0}")]
    NotFoundAtProvider(String),
    #[error("SMS must be 1 to 160 characters, got {0}")]
    InvalidSms(usize),
    #[error("webhook could not be verified: {0}")]
    WebhookUnverified(String),
    #[error("webhook body is invalid: {0}")]
    WebhookMalformed(String),
    #[error("provider {0} sends no webhooks simgate understands")]
    WebhooksUnsupported(ProviderId),
    #[error("no event {0} for this account")]
    EventNotFound(String),
    /// An event could not be turned into JSON (a bug, never the caller's).
    #[error("could not encode an event: {0}")]
    EventEncoding(#[source] serde_json::Error),
    #[error("no webhook endpoint {0} for this account")]
    EndpointNotFound(String),
    /// Another rotation of the same endpoint won: its secret is in force.
    #[error(
        "the secret of endpoint {0} was rotated by another request meanwhile; rotate again for a secret of your own"
    )]
    SecretRotationConflict(String),
    /// The operator configured no key to seal endpoint secrets with.
    #[error(
        "webhook endpoint secrets cannot be sealed: the operator has configured no [webhooks] secret_keys"
    )]
    SecretKeysMissing,
    /// Stored endpoint secrets that the configured keys cannot open.
    #[error("{count} webhook endpoint secret(s) cannot be read: {reason}")]
    EndpointSecretsUnreadable {
        count: usize,
        reason: crate::secret_keys::OpenError,
    },
    /// A webhook endpoint's URL is malformed or not a public address.
    #[error(transparent)]
    WebhookTarget(#[from] TargetError),
    #[error("{0}")]
    Queue(String),
    #[error("no order {0} for this account")]
    OrderNotFound(String),
    #[error("order {0} is not completed: only a delivered order can be reported faulty")]
    OrderNotCompleted(String),
    #[error("invalid faulty report: {0}")]
    InvalidFaultyReport(String),
    #[error("no configured provider offers {0:?}")]
    NoProviderFor(Capability),
    #[error("no address {0} for this account; create it with POST /v1/addresses")]
    AddressNotFound(String),
    #[error("no SIM order {0} for this account")]
    SimOrderNotFound(String),
    #[error("number {0} is already a line")]
    LineExists(String),
    #[error("no line {0} for this account")]
    LineNotFound(String),
    #[error("no port {0}")]
    PortNotFound(String),
    #[error("ceasing a line cannot be undone: send {{\"confirm\": true}} to do it")]
    ConfirmationRequired,
    #[error("the Idempotency-Key was already used for a different request")]
    IdempotencyConflict,
    #[error("provider {0} is not configured")]
    ProviderNotConfigured(ProviderId),
    /// A provider slug that names no configured provider.
    #[error("no configured provider {0}")]
    ProviderNotFound(String),
    /// The provider documents no balance simgate could read.
    #[error("provider {0} documents no balance")]
    NoProviderBalance(ProviderId),
    /// The provider's known balance cannot cover the order's cost, so it was
    /// not called; `order` is the order as left (failed, retryable).
    #[error("the balance simgate has with {provider} ({balance}) cannot cover this order")]
    ProviderBalanceLow {
        order: Option<Box<OrderRecord>>,
        provider: ProviderId,
        balance: simgate_domain::Money,
    },
    #[error(
        "product {product} is sold by {product_provider}, but eSIM {iccid} belongs to {esim_provider}"
    )]
    ProviderMismatch {
        product: String,
        product_provider: ProviderId,
        iccid: String,
        esim_provider: ProviderId,
    },
    /// The provider failed; `order` is the order as left (recoverable) when
    /// the failure happened while placing one.
    #[error("{source}")]
    Upstream {
        order: Option<Box<OrderRecord>>,
        #[source]
        source: ConnectorError,
    },
    #[error("invalid tenant name: {0}")]
    InvalidTenantName(String),
    #[error("a tenant named {0:?} already exists")]
    TenantNameTaken(String),
    #[error("no tenant {0}")]
    TenantNotFound(String),
    #[error("tenant {0} is disabled; its keys cannot be rotated")]
    TenantDisabled(String),
    /// An FX rate the operator gave is unusable.
    #[error(transparent)]
    Fx(#[from] simgate_domain::orchestration::FxError),
    /// Pricing rules were refused, or a cost could not be priced.
    #[error(transparent)]
    Pricing(#[from] simgate_domain::orchestration::PricingError),
    /// A routing policy was refused by its own rules.
    #[error(transparent)]
    Routing(#[from] simgate_domain::orchestration::RoutingError),
    /// A routing policy names a provider that sells no eSIMs here.
    #[error("{field}: {provider} is not an eSIM provider configured here")]
    UnknownRoutingProvider { field: String, provider: ProviderId },
    /// The tenant's account cannot cover the sale's hold: nothing was sent
    /// upstream.
    #[error("insufficient funds: {0}")]
    InsufficientFunds(simgate_domain::Shortfall),
    /// An account's terms or a credit are unusable.
    #[error("{field}: {reason}")]
    InvalidAccount { field: &'static str, reason: String },
    /// The account's currency changes only while nothing is on it.
    #[error(
        "the account's currency cannot change while it has a balance ({balance_micros} millionths) or holds ({held_micros} millionths)"
    )]
    AccountCurrencyInUse {
        balance_micros: i64,
        held_micros: i64,
    },
    /// A credit's reference was posted before with another amount.
    #[error("reference {0:?} was already posted with another amount or currency")]
    CreditReferenceConflict(String),
    /// No FX rate turns the sale's currency into the account's.
    #[error("no FX rate from {from} into the account's currency {to}")]
    NoAccountRate {
        from: simgate_domain::Currency,
        to: simgate_domain::Currency,
    },
    /// A period whose start is not before its end.
    #[error("`from` must be before `to`")]
    InvalidPeriod,
    /// A rate limit refused the call: the caller should come back later.
    #[error(transparent)]
    RateLimited(#[from] crate::limits::RateLimited),
    /// Overrides of a tenant's budgets the operator cannot set.
    #[error(transparent)]
    InvalidLimits(#[from] simgate_domain::limits::LimitError),
    /// The tenant has its most `?wait=` requests in flight here already.
    #[error("{max} requests of this account are already waiting here; retry, or poll without wait")]
    TooManyWaiting { max: u32 },
    /// The tenant has its most enabled webhook endpoints already.
    #[error("at most {max} webhook endpoints are enabled per account; delete one first")]
    TooManyEndpoints { max: u32 },
    /// The event was replayed its most times already.
    #[error("event {event} was replayed {max} times already, the most allowed")]
    TooManyReplays { event: String, max: u32 },
    /// Storage failed: an internal error for the client.
    #[error(transparent)]
    Repository(RepositoryError),
}

impl From<RepositoryError> for ServiceError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::InsufficientFunds(shortfall) => Self::InsufficientFunds(shortfall),
            other => Self::Repository(other),
        }
    }
}

impl ServiceError {
    /// An upstream failure outside of order placement.
    pub fn upstream(source: ConnectorError) -> Self {
        Self::Upstream {
            order: None,
            source,
        }
    }
}
