//! The one interface every provider implements.

use std::any::Any;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use simgate_domain::{
    BundleUsage, Capability, EsimLocation, Iccid, InstallDetails, Money, OrderKind, OrderStatus,
    Product, ProviderId, RevokeOutcome,
};

use crate::ConnectorError;

/// Progress of a catalogue download, reported page by page so a CLI can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueProgress {
    /// Products received so far.
    pub fetched: usize,
    /// Products the provider says it has, once known.
    pub total: Option<usize>,
}

/// An order as simgate asks a provider to place it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// simgate's order id, sent where the provider keeps a caller reference.
    pub reference: String,
    /// The provider's SKU of the product.
    pub sku: String,
    pub quantity: u32,
    pub kind: OrderKind,
}

/// An order as the provider reports it, after placing or when listed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedOrder {
    /// The provider's reference for the order.
    pub reference: String,
    pub sku: String,
    pub quantity: u32,
    /// The provider's status mapped into the unified state machine.
    pub status: OrderStatus,
    /// The provider's status as it sent it, kept for diagnosis.
    pub provider_status: String,
    /// eSIMs delivered by the order (new ones, or the topped-up one).
    pub esims: Vec<InstallDetails>,
    pub total: Option<Money>,
    pub created_at: Option<DateTime<Utc>>,
}

/// What a verified provider webhook says, in unified terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundEvent {
    /// One eSIM of an order is ready.
    EsimReady {
        /// The order's reference as the provider knows it.
        order_reference: String,
        /// The provider's id of the unit, unique per delivery.
        unit_id: String,
        install: InstallDetails,
    },
    /// The provider reported the data left on an eSIM's bundle.
    UsageReported {
        iccid: Iccid,
        /// The provider's alert word (eSIM Go: `Utilisation`, …).
        alert: String,
        usage: BundleUsage,
        /// Unique per delivery, to recognise a redelivery.
        delivery_id: String,
    },
    /// An order changed; what it became must be fetched from the provider.
    OrderChanged {
        order_reference: String,
        /// Unique per delivery, to recognise a redelivery.
        delivery_id: String,
    },
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The signature or secret does not match: the body cannot be trusted.
    #[error("webhook could not be verified: {0}")]
    Unverified(String),
    /// Verified, but not a body this provider sends.
    #[error("webhook body is invalid: {0}")]
    Malformed(String),
    /// This provider sends no webhooks simgate understands.
    #[error("the provider sends no webhooks")]
    Unsupported,
}

/// How the outcome of an order whose answer was lost is recovered: each
/// provider offers exactly one way, declared by
/// [`Connector::reconcile_strategy`], so the order flow dispatches on it
/// rather than probing capabilities and catching `Unsupported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileStrategy {
    /// The provider keeps simgate's order id: ask for the order carrying it
    /// ([`Connector::order_by_reference`]); none found means it was never
    /// placed, so it is placed again.
    LookupByReference,
    /// Placing the same order again buys nothing twice (the provider refuses
    /// a repeated caller reference), so the order is simply placed again.
    IdempotentResubmission,
    /// The provider keeps no caller reference: list its orders since we
    /// submitted ([`Connector::orders_since`]) and adopt an unclaimed one of
    /// the same content; none found means it is submitted again.
    ListAndMatch,
}

/// A provider, as the rest of simgate sees it.
///
/// Only the operations that exist across providers live here; each defaults
/// to [`ConnectorError::Unsupported`] so that a provider implements what it
/// has and declares it in [`Connector::capabilities`].
#[async_trait]
pub trait Connector: Send + Sync {
    /// Which provider this is.
    fn provider(&self) -> ProviderId;

    /// What this provider can do.
    fn capabilities(&self) -> &'static [Capability];

    /// How a lost order answer is recovered at this provider. Required, so
    /// that a new provider has to decide rather than inherit a default.
    fn reconcile_strategy(&self) -> ReconcileStrategy;

    /// The provider's own client, for its operations that no other provider
    /// shares (eSIM Go's inventory, …): callers downcast it to the client
    /// type they know (`crates/service/src/provider_ops/`). A provider with
    /// no extras keeps the default, which downcasts to nothing.
    fn extras(&self) -> &(dyn Any + Send + Sync) {
        &()
    }

    /// Downloads the whole catalogue, all pages.
    async fn fetch_catalogue(
        &self,
        _progress: &(dyn Fn(CatalogueProgress) + Send + Sync),
    ) -> Result<Vec<Product>, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::Catalogue))
    }

    /// Places an order (new eSIMs or a top-up).
    async fn place_order(&self, _order: &PlaceOrder) -> Result<PlacedOrder, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::EsimOrders))
    }

    /// Orders the provider created since a moment, to recover the outcome of
    /// a call whose answer was lost.
    async fn orders_since(
        &self,
        _since: DateTime<Utc>,
    ) -> Result<Vec<PlacedOrder>, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::OrderLookup))
    }

    /// The provider's order carrying simgate's order id as its reference,
    /// if there is one: how a lost answer is recovered where the provider
    /// keeps a caller reference.
    async fn order_by_reference(
        &self,
        _reference: &str,
    ) -> Result<Option<PlacedOrder>, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::OrderLookup))
    }

    /// One order by the provider's reference, to follow an order the
    /// provider is still fulfilling.
    async fn fetch_order(&self, _reference: &str) -> Result<PlacedOrder, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::OrderLookup))
    }

    /// Verifies a webhook from the provider (before anything in it is
    /// trusted) and reads it. Pure: the caller stores and applies it.
    fn verify_webhook(
        &self,
        _headers: &reqwest::header::HeaderMap,
        _body: &[u8],
    ) -> Result<InboundEvent, WebhookError> {
        Err(WebhookError::Unsupported)
    }

    /// Reads a webhook body [`Connector::verify_webhook`] verified before,
    /// from where it was stored: the inbox applies it again after a crash
    /// or a failed attempt, when the request's headers are long gone.
    fn read_webhook(&self, _body: &[u8]) -> Result<InboundEvent, WebhookError> {
        Err(WebhookError::Unsupported)
    }

    /// Data usage of every bundle on an eSIM.
    async fn usage(&self, _iccid: &Iccid) -> Result<Vec<BundleUsage>, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::Usage))
    }

    /// Revokes the latest assignment of a bundle from an eSIM, refunding it
    /// to the reseller's balance when asked and the provider allows it.
    async fn revoke(
        &self,
        _iccid: &Iccid,
        _sku: &str,
        _refund: bool,
    ) -> Result<RevokeOutcome, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::Revoke))
    }

    /// The network an eSIM was last seen on.
    async fn location(&self, _iccid: &Iccid) -> Result<EsimLocation, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::Location))
    }

    /// Sends a text message to an eSIM.
    async fn send_sms(&self, _iccid: &Iccid, _message: &str) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::Sms))
    }

    /// The reasons the provider accepts when an order is reported faulty.
    async fn faulty_reasons(&self) -> Result<Vec<String>, ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::FaultyReports))
    }

    /// Reports the provider's order `reference` as faulty: it was delivered
    /// but does not work, for `reason` (one of [`Connector::faulty_reasons`]).
    async fn report_faulty(
        &self,
        _reference: &str,
        _reason: &str,
        _description: Option<&str>,
    ) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported(Capability::FaultyReports))
    }
}
