//! RFC 9457 problem responses: the one shape every error of the API takes,
//! each with a stable `code` clients can branch on.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use simgate_connectors::ConnectorError;
use simgate_domain::DomainError;
use simgate_domain::entities::OrderRecord;
use simgate_domain::orchestration::{PricingError, RoutingError};
use simgate_service::ServiceError;
use simgate_service::limits::{RateLimited, retry_after_secs};
use simgate_service::webhook_targets::{NOT_PUBLIC_CODE, TargetError};

/// The body of every error answer (`application/problem+json`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:simgate:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// Stable machine-readable code.
    pub code: String,
    /// The order concerned, when a failure happened while placing one; it
    /// is kept and will be completed or failed by simgate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The status that order was left in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_status: Option<String>,
    /// The provider's own error code, when a provider refused the request
    /// (Telnyx `10015`, …): surfaced as given, never swallowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<String>,
    /// The request's id (`X-Request-Id`), to quote when reporting the
    /// error: every log line of the request carries it. Added on the way
    /// out by [`crate::observability`], so every problem has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The request field at fault, when one is (`overrides[1].markup_percent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What the tenant's account has available, on `insufficient_funds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<simgate_domain::Money>,
    /// What the sale needed, on `insufficient_funds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<simgate_domain::Money>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// Boxed: rarely set, and it would make every `Result<_, ApiError>` large.
    attached: Option<Box<Attached>>,
    retry_after: Option<Duration>,
    provider_code: Option<String>,
    field: Option<String>,
}

/// What a few errors carry besides their code: the order a failure left
/// (id and status), the policy that refused a 429 (for its headers), or
/// what an `insufficient_funds` lacked.
#[derive(Debug)]
enum Attached {
    Order(String, String),
    RateLimited(RateLimited),
    Funds(simgate_domain::Shortfall),
}

impl ApiError {
    /// An error with a status, a stable code and a detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            attached: None,
            retry_after: None,
            provider_code: None,
            field: None,
        }
    }

    /// 429 `rate_limited`: the refusing policy goes out in `Retry-After`,
    /// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
    pub fn rate_limited(refused: RateLimited) -> Self {
        let mut api = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            refused.to_string(),
        );
        api.retry_after = Some(refused.retry_after);
        api.attached = Some(Box::new(Attached::RateLimited(refused)));
        api
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 404 with a code.
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// The HTTP status: the console answers its pages with the same one.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code, shown by the console beside the message.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What went wrong, for people (never internals: 5xx details are generic).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// How long the client should wait before trying again, when known:
    /// the console sends it as `Retry-After` too.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The request field at fault, when known: the console shows the
    /// message next to that field.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    fn with_order(mut self, order: Option<&OrderRecord>) -> Self {
        self.attached =
            order.map(|o| Box::new(Attached::Order(o.id.to_string(), o.status.to_string())));
        self
    }

    /// Logs the error with its whole `source()` chain (the cause is often
    /// only at the end of it), and answers without any of it.
    fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %error_chain(error), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "simgate failed to handle the request; it has been logged",
        )
    }
}

/// An error and each of its sources, outermost first, joined by `: `.
/// Errors carry no secrets in their messages (settings hold them as
/// `SecretString`), so the chain is safe to log.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self::bad_request(error.code(), error.to_string())
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        use StatusCode as S;
        let detail = error.to_string();
        match error {
            ServiceError::Invalid(e) => e.into(),
            ServiceError::UnknownProduct(_) => {
                Self::new(S::UNPROCESSABLE_ENTITY, "unknown_product", detail)
            }
            ServiceError::UnknownOffer(_) => {
                Self::new(S::UNPROCESSABLE_ENTITY, "unknown_offer", detail)
            }
            ServiceError::InvalidQuantity { .. } => {
                Self::new(S::UNPROCESSABLE_ENTITY, "invalid_quantity", detail)
            }
            ServiceError::EsimNotFound(_) => Self::not_found("esim_not_found", detail),
            ServiceError::OrderNotFound(_) => Self::not_found("order_not_found", detail),
            ServiceError::EventNotFound(_) => Self::not_found("event_not_found", detail),
            ServiceError::EndpointNotFound(_) => Self::not_found("endpoint_not_found", detail),
            ServiceError::SecretRotationConflict(_) => {
                Self::new(S::CONFLICT, "secret_rotation_conflict", detail)
            }
            ServiceError::SecretKeysMissing => {
                Self::new(S::SERVICE_UNAVAILABLE, "secret_keys_not_configured", detail)
            }
            // The operator's configuration, never the caller's doing.
            ServiceError::EndpointSecretsUnreadable { .. } => Self::internal(&error),
            ServiceError::WebhookTarget(e) => Self::new(
                S::UNPROCESSABLE_ENTITY,
                match e {
                    TargetError::InvalidUrl { .. } => "invalid_url",
                    TargetError::NotPublic(_) => NOT_PUBLIC_CODE,
                    TargetError::Unresolvable { .. } => "webhook_target_unresolvable",
                },
                detail,
            ),
            // The queue reports a message only: logged as an error of its own.
            ServiceError::Queue(e) => {
                Self::internal(Box::<dyn std::error::Error>::from(e).as_ref())
            }
            ServiceError::EventEncoding(e) => Self::internal(&e),
            ServiceError::WebhookUnverified(_) => {
                Self::new(S::UNAUTHORIZED, "webhook_unverified", detail)
            }
            ServiceError::WebhookMalformed(_) => Self::bad_request("invalid_webhook", detail),
            ServiceError::WebhooksUnsupported(_) => {
                Self::not_found("webhooks_not_supported", detail)
            }
            ServiceError::BundleNotFound { .. } => Self::not_found("bundle_not_found", detail),
            ServiceError::RefusedByProvider(_) => {
                Self::new(S::CONFLICT, "refused_by_provider", detail)
            }
            ServiceError::NotFoundAtProvider(_) => Self::not_found("not_found_at_provider", detail),
            ServiceError::InvalidSms(_) => {
                Self::new(S::UNPROCESSABLE_ENTITY, "invalid_sms", detail)
            }
            ServiceError::IdempotencyConflict => {
                Self::new(S::CONFLICT, "idempotency_key_reused", detail)
            }
            ServiceError::ProviderNotConfigured(_) => {
                Self::new(S::SERVICE_UNAVAILABLE, "provider_not_configured", detail)
            }
            ServiceError::ProviderNotFound(_) => Self::not_found("provider_not_found", detail),
            ServiceError::NoProviderBalance(_) => {
                Self::new(S::NOT_IMPLEMENTED, "unsupported_by_provider", detail)
            }
            ServiceError::ProviderBalanceLow { order, .. } => {
                Self::new(S::SERVICE_UNAVAILABLE, "provider_balance_low", detail)
                    .with_order(order.as_deref())
            }
            ServiceError::ProviderMismatch { .. } => {
                Self::new(S::UNPROCESSABLE_ENTITY, "provider_mismatch", detail)
            }
            ServiceError::OrderNotCompleted(_) => {
                Self::new(S::CONFLICT, "order_not_completed", detail)
            }
            ServiceError::InvalidFaultyReport(_) => {
                Self::new(S::UNPROCESSABLE_ENTITY, "invalid_faulty_report", detail)
            }
            ServiceError::NoProviderFor(_) => {
                Self::new(S::NOT_IMPLEMENTED, "capability_not_configured", detail)
            }
            ServiceError::AddressNotFound(_) => Self::not_found("address_not_found", detail),
            ServiceError::SimOrderNotFound(_) => Self::not_found("sim_order_not_found", detail),
            ServiceError::LineExists(_) => Self::new(S::CONFLICT, "line_exists", detail),
            ServiceError::LineNotFound(_) => Self::not_found("line_not_found", detail),
            ServiceError::PortNotFound(_) => Self::not_found("port_not_found", detail),
            ServiceError::ConfirmationRequired => {
                Self::new(S::UNPROCESSABLE_ENTITY, "confirmation_required", detail)
            }
            ServiceError::Upstream { order, source } => {
                upstream(&source).with_order(order.as_deref())
            }
            ServiceError::InvalidTenantName(_) => {
                Self::new(S::UNPROCESSABLE_ENTITY, "invalid_tenant_name", detail)
            }
            ServiceError::TenantNameTaken(_) => Self::new(S::CONFLICT, "tenant_name_taken", detail),
            ServiceError::TenantNotFound(_) => Self::not_found("tenant_not_found", detail),
            ServiceError::TenantDisabled(_) => Self::new(S::CONFLICT, "tenant_disabled", detail),
            ServiceError::Fx(e) => Self::new(S::UNPROCESSABLE_ENTITY, e.code(), detail),
            ServiceError::Pricing(e) => pricing(&e),
            ServiceError::Routing(e) => routing(&e),
            ServiceError::UnknownRoutingProvider { field, .. } => {
                let mut api =
                    Self::new(S::UNPROCESSABLE_ENTITY, "unknown_routing_provider", detail);
                api.field = Some(field);
                api
            }
            ServiceError::InsufficientFunds(shortfall) => {
                let mut api = Self::new(S::PAYMENT_REQUIRED, "insufficient_funds", detail);
                api.attached = Some(Box::new(Attached::Funds(shortfall)));
                api
            }
            ServiceError::InvalidAccount { field, .. } => {
                let mut api = Self::new(S::UNPROCESSABLE_ENTITY, "invalid_account", detail);
                api.field = Some(field.to_owned());
                api
            }
            ServiceError::AccountCurrencyInUse { .. } => {
                Self::new(S::CONFLICT, "account_currency_in_use", detail)
            }
            ServiceError::CreditReferenceConflict(_) => {
                Self::new(S::CONFLICT, "reference_conflict", detail)
            }
            ServiceError::NoAccountRate { .. } => {
                Self::new(S::UNPROCESSABLE_ENTITY, "no_account_fx_rate", detail)
            }
            ServiceError::InvalidPeriod => Self::bad_request("invalid_period", detail),
            ServiceError::RateLimited(refused) => Self::rate_limited(refused),
            ServiceError::InvalidLimits(e) => {
                let mut api = Self::new(S::UNPROCESSABLE_ENTITY, "invalid_limits", detail);
                api.field = Some(e.field());
                api
            }
            ServiceError::TooManyWaiting { .. } => {
                // A place frees up as soon as one wait ends: a second at most
                // is worth waiting, and no quota to announce.
                let mut api = Self::new(S::TOO_MANY_REQUESTS, "rate_limited", detail);
                api.retry_after = Some(Duration::from_secs(1));
                api
            }
            ServiceError::TooManyEndpoints { .. } => {
                Self::new(S::CONFLICT, "too_many_endpoints", detail)
            }
            ServiceError::TooManyReplays { .. } => {
                Self::new(S::CONFLICT, "too_many_replays", detail)
            }
            ServiceError::Repository(e) => Self::internal(&e),
        }
    }
}

/// Maps a provider failure: never a 500, and never blamed on the client.
/// Refused pricing rules: a 422 naming the field, so the client can fix it.
fn pricing(error: &PricingError) -> ApiError {
    let field = match error {
        PricingError::MarkupPercent { field, .. }
        | PricingError::MarkupFixed { field, .. }
        | PricingError::RoundTo { field, .. } => Some(field.clone()),
        PricingError::DuplicateOverride { index, .. } | PricingError::EmptyOverride { index } => {
            Some(format!("overrides[{index}]"))
        }
        PricingError::NoFxRate { .. } | PricingError::OutOfRange => None,
    };
    let mut api = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        error.code(),
        error.to_string(),
    );
    api.field = field;
    api
}

/// A refused routing policy: a 422 naming the field, so the client can fix it.
fn routing(error: &RoutingError) -> ApiError {
    let field = match error {
        RoutingError::DuplicateProvider { scope, field, .. } => format!("{scope}{field}"),
        RoutingError::ExcludedListed { scope, .. }
        | RoutingError::PriorityWithoutProviders { scope } => format!("{scope}providers"),
        RoutingError::WeightedWithoutWeights { scope } => format!("{scope}weights"),
        RoutingError::EmptyCountryOverride(country) => format!("countries.{country}"),
    };
    let mut api = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        error.code(),
        error.to_string(),
    );
    api.field = Some(field);
    api
}

fn upstream(error: &ConnectorError) -> ApiError {
    use StatusCode as S;
    let detail = format!("upstream provider: {error}");
    let (status, code) = match error {
        ConnectorError::Timeout => (S::GATEWAY_TIMEOUT, "upstream_timeout"),
        ConnectorError::Unavailable { .. } => (S::SERVICE_UNAVAILABLE, "upstream_unavailable"),
        ConnectorError::RateLimited { .. } => (S::SERVICE_UNAVAILABLE, "upstream_rate_limited"),
        ConnectorError::CircuitOpen => (S::SERVICE_UNAVAILABLE, "circuit_open"),
        ConnectorError::Connect(_) => (S::BAD_GATEWAY, "upstream_unreachable"),
        ConnectorError::ServerError { .. } => (S::BAD_GATEWAY, "upstream_error"),
        ConnectorError::InvalidResponse(_) | ConnectorError::Transport(_) => {
            (S::BAD_GATEWAY, "upstream_invalid_response")
        }
        ConnectorError::Config { .. } => (S::BAD_GATEWAY, "upstream_misconfigured"),
        ConnectorError::Rejected { .. } | ConnectorError::NotFound(_) => {
            (S::BAD_GATEWAY, "upstream_rejected")
        }
        ConnectorError::Unauthorized { .. } => (S::BAD_GATEWAY, "upstream_auth_failed"),
        ConnectorError::Unsupported(_) => (S::NOT_IMPLEMENTED, "unsupported_by_provider"),
        ConnectorError::Provider { status: 404, .. } => (S::NOT_FOUND, "upstream_not_found"),
        ConnectorError::Provider { .. } => (S::UNPROCESSABLE_ENTITY, "provider_rejected"),
    };
    let mut api = ApiError::new(status, code, detail);
    if let ConnectorError::Provider { code, .. } = error {
        api.provider_code = Some(code.clone());
    }
    api.retry_after = error.retry_after().or(match status {
        S::SERVICE_UNAVAILABLE => Some(Duration::from_secs(1)),
        _ => None,
    });
    api
}

fn title(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").to_owned()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (order, rate_limited, funds) = match self.attached.map(|attached| *attached) {
            Some(Attached::Order(id, status)) => (Some((id, status)), None, None),
            Some(Attached::RateLimited(refused)) => (None, Some(refused), None),
            Some(Attached::Funds(shortfall)) => (None, None, Some(shortfall)),
            None => (None, None, None),
        };
        let mut problem = Problem {
            kind: format!("urn:simgate:problem:{}", self.code),
            title: title(self.status),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_owned(),
            order_id: None,
            order_status: None,
            provider_code: self.provider_code,
            request_id: None,
            field: self.field,
            available: funds
                .as_ref()
                .map(|f| simgate_domain::account::signed_money(f.available_micros, f.currency)),
            required: funds
                .as_ref()
                .map(|f| simgate_domain::account::signed_money(f.required_micros, f.currency)),
        };
        if let Some((id, status)) = order {
            problem.order_id = Some(id);
            problem.order_status = Some(status);
        }
        let mut response = (self.status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(wait) = self.retry_after {
            let secs = if rate_limited.is_some() {
                retry_after_secs(wait)
            } else {
                wait.as_secs().max(1)
            };
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(refused) = rate_limited {
            let headers = response.headers_mut();
            let policy = format!(
                "\"{}\";q={};w={}",
                refused.policy, refused.quota, refused.window_secs
            );
            let state = format!(
                "\"{}\";r=0;t={}",
                refused.policy,
                retry_after_secs(refused.retry_after)
            );
            for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_logged_chain_names_every_cause() {
        let error = Outer(std::io::Error::other("connection reset"));
        assert_eq!(error_chain(&error), "outer: connection reset");
    }
}
