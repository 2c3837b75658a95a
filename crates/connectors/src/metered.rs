//! Upstream call metrics: every connector the registry hands out is wrapped
//! in [`Metered`], so each call to a provider is counted and timed by
//! provider, operation and outcome, whichever use case made it.
//!
//! Each call's outcome and latency also feed the provider's health
//! ([`crate::health`]), whichever use case made it; whether an order may be
//! placed at all is asked of that health by the order flow, before it
//! claims the order.
//!
//! Measured here, at the trait boundary, rather than in [`crate::http`]: the
//! trait method names the operation (`place_order`, `fetch_catalogue`, …)
//! with a bounded set of values, where a URL would carry ids, and it covers a
//! whole operation (retries and token refreshes included) as callers see it.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use simgate_domain::{
    ActivationCode, BundleUsage, Capability, EsimLocation, Group, Iccid, InventoryState, Line,
    LineEsim, LineOffer, LineRef, LineSettings, Msisdn, NewAddress, PageRequest, PhoneNumber, Port,
    PortState, Product, ProviderId, ProvisionLine, ProvisionedLine, Recording, RevokeOutcome,
    ShippingAddress, SimCard, SimKind, SimOrder, SimOrderFilter, SimOrderPage, SimOrderPreview,
    Subscriber, SubscriberFilter,
};

use crate::health::{HealthRegistry, call_outcome};
use crate::{
    CatalogueProgress, Connector, ConnectorError, InboundEvent, PlaceOrder, PlacedOrder,
    ReconcileStrategy, SimCardOrders, SubscriberLines, WebhookError,
};

/// Counter of upstream calls, by `provider`, `operation` and `outcome`.
pub const UPSTREAM_CALLS: &str = "simgate_upstream_calls_total";
/// Histogram of upstream call durations, same labels.
pub const UPSTREAM_DURATION: &str = "simgate_upstream_call_duration_seconds";

/// Registers the HELP text of the upstream metrics with the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        UPSTREAM_CALLS,
        "Calls to providers, by provider, operation and outcome (ok, or the error class)"
    );
    metrics::describe_histogram!(
        UPSTREAM_DURATION,
        metrics::Unit::Seconds,
        "Duration of calls to providers, retries included, by provider, operation and outcome"
    );
}

/// The `outcome` label of a call's result: `ok`, or the class of error,
/// which says whether the provider may have acted (see
/// [`ConnectorError::nothing_was_processed`]).
pub fn outcome_label<T>(result: &Result<T, ConnectorError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => match error {
            ConnectorError::Unsupported(_) => "unsupported",
            ConnectorError::Rejected { .. } => "rejected",
            ConnectorError::Provider { .. } => "provider_error",
            ConnectorError::NotFound(_) => "not_found",
            ConnectorError::Unauthorized { .. } => "unauthorized",
            ConnectorError::RateLimited { .. } => "rate_limited",
            ConnectorError::Unavailable { .. } => "unavailable",
            ConnectorError::Config { .. } => "config_error",
            ConnectorError::CircuitOpen => "circuit_open",
            ConnectorError::Connect(_) => "connect_error",
            ConnectorError::Timeout => "timeout",
            ConnectorError::ServerError { .. } => "server_error",
            ConnectorError::InvalidResponse(_) | ConnectorError::Transport(_) => "invalid_response",
        },
    }
}

/// A provider interface whose every upstream call is measured and feeds
/// the provider's health.
pub struct Metered<T: ?Sized> {
    inner: Arc<T>,
    provider: ProviderId,
    health: Arc<HealthRegistry>,
}

impl<T: ?Sized> Metered<T> {
    /// Wraps `inner`, labelling its calls with `provider` and recording
    /// their outcomes in `health`.
    pub fn new(provider: ProviderId, inner: Arc<T>, health: Arc<HealthRegistry>) -> Self {
        Self {
            inner,
            provider,
            health,
        }
    }

    /// Runs one call and records it (see [`measured`]).
    async fn measure<R>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<R, ConnectorError>>,
    ) -> Result<R, ConnectorError> {
        measured(&self.health, self.provider, operation, call).await
    }
}

/// Runs one call to `provider`, records its count and duration, and feeds
/// its outcome to the provider's health (the circuit breaker): what
/// [`Metered`] does for trait methods, and what a provider's own operations
/// reached through [`Connector::extras`] must do too, so that every call to
/// a provider counts for its circuit. An operation the provider does not
/// offer never left simgate, so it is not recorded.
pub async fn measured<R>(
    health: &HealthRegistry,
    provider: ProviderId,
    operation: &'static str,
    call: impl Future<Output = Result<R, ConnectorError>>,
) -> Result<R, ConnectorError> {
    let started = Instant::now();
    let result = call.await;
    if !matches!(result, Err(ConnectorError::Unsupported(_))) {
        let labels = [
            ("provider", provider.as_str()),
            ("operation", operation),
            ("outcome", outcome_label(&result)),
        ];
        metrics::counter!(UPSTREAM_CALLS, &labels).increment(1);
        metrics::histogram!(UPSTREAM_DURATION, &labels).record(started.elapsed().as_secs_f64());
    }
    if let Some(outcome) = call_outcome(&result) {
        health.record(provider, outcome, started.elapsed());
    }
    result
}

#[async_trait]
impl Connector for Metered<dyn Connector> {
    fn provider(&self) -> ProviderId {
        self.inner.provider()
    }

    fn capabilities(&self) -> &'static [Capability] {
        self.inner.capabilities()
    }

    fn reconcile_strategy(&self) -> ReconcileStrategy {
        self.inner.reconcile_strategy()
    }

    /// The wrapped client's: its own calls measure themselves ([`measured`]).
    fn extras(&self) -> &(dyn std::any::Any + Send + Sync) {
        self.inner.extras()
    }

    async fn fetch_catalogue(
        &self,
        progress: &(dyn Fn(CatalogueProgress) + Send + Sync),
    ) -> Result<Vec<Product>, ConnectorError> {
        self.measure("fetch_catalogue", self.inner.fetch_catalogue(progress))
            .await
    }

    async fn place_order(&self, order: &PlaceOrder) -> Result<PlacedOrder, ConnectorError> {
        self.measure("place_order", self.inner.place_order(order))
            .await
    }

    async fn orders_since(&self, since: DateTime<Utc>) -> Result<Vec<PlacedOrder>, ConnectorError> {
        self.measure("orders_since", self.inner.orders_since(since))
            .await
    }

    async fn order_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<PlacedOrder>, ConnectorError> {
        self.measure(
            "order_by_reference",
            self.inner.order_by_reference(reference),
        )
        .await
    }

    async fn fetch_order(&self, reference: &str) -> Result<PlacedOrder, ConnectorError> {
        self.measure("fetch_order", self.inner.fetch_order(reference))
            .await
    }

    /// Local work (a signature check), not an upstream call: not measured.
    fn verify_webhook(
        &self,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<InboundEvent, WebhookError> {
        self.inner.verify_webhook(headers, body)
    }

    fn read_webhook(&self, body: &[u8]) -> Result<InboundEvent, WebhookError> {
        self.inner.read_webhook(body)
    }

    async fn usage(&self, iccid: &Iccid) -> Result<Vec<BundleUsage>, ConnectorError> {
        self.measure("usage", self.inner.usage(iccid)).await
    }

    async fn revoke(
        &self,
        iccid: &Iccid,
        sku: &str,
        refund: bool,
    ) -> Result<RevokeOutcome, ConnectorError> {
        self.measure("revoke", self.inner.revoke(iccid, sku, refund))
            .await
    }

    async fn location(&self, iccid: &Iccid) -> Result<EsimLocation, ConnectorError> {
        self.measure("location", self.inner.location(iccid)).await
    }

    async fn send_sms(&self, iccid: &Iccid, message: &str) -> Result<(), ConnectorError> {
        self.measure("send_sms", self.inner.send_sms(iccid, message))
            .await
    }

    async fn faulty_reasons(&self) -> Result<Vec<String>, ConnectorError> {
        self.measure("faulty_reasons", self.inner.faulty_reasons())
            .await
    }

    async fn report_faulty(
        &self,
        reference: &str,
        reason: &str,
        description: Option<&str>,
    ) -> Result<(), ConnectorError> {
        self.measure(
            "report_faulty",
            self.inner.report_faulty(reference, reason, description),
        )
        .await
    }
}

#[async_trait]
impl SimCardOrders for Metered<dyn SimCardOrders> {
    fn provider(&self) -> ProviderId {
        self.inner.provider()
    }

    async fn create_address(
        &self,
        address: &NewAddress,
    ) -> Result<ShippingAddress, ConnectorError> {
        self.measure("create_address", self.inner.create_address(address))
            .await
    }

    async fn preview_sim_order(
        &self,
        address_id: &str,
        quantity: u32,
    ) -> Result<SimOrderPreview, ConnectorError> {
        self.measure(
            "preview_sim_order",
            self.inner.preview_sim_order(address_id, quantity),
        )
        .await
    }

    async fn create_sim_order(
        &self,
        address_id: &str,
        quantity: u32,
    ) -> Result<SimOrder, ConnectorError> {
        self.measure(
            "create_sim_order",
            self.inner.create_sim_order(address_id, quantity),
        )
        .await
    }

    async fn sim_order(&self, id: &str) -> Result<SimOrder, ConnectorError> {
        self.measure("sim_order", self.inner.sim_order(id)).await
    }

    async fn list_sim_orders(
        &self,
        filter: &SimOrderFilter,
        page: PageRequest,
    ) -> Result<SimOrderPage, ConnectorError> {
        self.measure("list_sim_orders", self.inner.list_sim_orders(filter, page))
            .await
    }
}

#[async_trait]
impl SubscriberLines for Metered<dyn SubscriberLines> {
    fn provider(&self) -> ProviderId {
        self.inner.provider()
    }

    async fn line_catalogue(&self) -> Result<Vec<LineOffer>, ConnectorError> {
        self.measure("line_catalogue", self.inner.line_catalogue())
            .await
    }

    async fn provision_line(
        &self,
        request: &ProvisionLine,
    ) -> Result<ProvisionedLine, ConnectorError> {
        self.measure("provision_line", self.inner.provision_line(request))
            .await
    }

    async fn line(&self, mpn: &Msisdn) -> Result<Line, ConnectorError> {
        self.measure("line", self.inner.line(mpn)).await
    }

    async fn line_esim(&self, line: &LineRef, refresh: bool) -> Result<LineEsim, ConnectorError> {
        self.measure("line_esim", self.inner.line_esim(line, refresh))
            .await
    }

    async fn provider_qr_url(&self, code: &ActivationCode) -> Result<String, ConnectorError> {
        self.measure("provider_qr_url", self.inner.provider_qr_url(code))
            .await
    }

    async fn change_bundle(&self, mpn: &Msisdn, sku: &str) -> Result<(), ConnectorError> {
        self.measure("change_bundle", self.inner.change_bundle(mpn, sku))
            .await
    }

    async fn update_settings(
        &self,
        mpn: &Msisdn,
        settings: &LineSettings,
    ) -> Result<(), ConnectorError> {
        self.measure("update_settings", self.inner.update_settings(mpn, settings))
            .await
    }

    async fn set_recording(
        &self,
        mpn: &Msisdn,
        recording: Recording,
    ) -> Result<(), ConnectorError> {
        self.measure("set_recording", self.inner.set_recording(mpn, recording))
            .await
    }

    async fn cease(&self, iccid: &Iccid) -> Result<(), ConnectorError> {
        self.measure("cease", self.inner.cease(iccid)).await
    }

    async fn numbers(&self, state: InventoryState) -> Result<Vec<PhoneNumber>, ConnectorError> {
        self.measure("numbers", self.inner.numbers(state)).await
    }

    async fn add_number(&self, mpn: &Msisdn) -> Result<(), ConnectorError> {
        self.measure("add_number", self.inner.add_number(mpn)).await
    }

    async fn sims(
        &self,
        state: InventoryState,
        kind: SimKind,
    ) -> Result<Vec<SimCard>, ConnectorError> {
        self.measure("sims", self.inner.sims(state, kind)).await
    }

    async fn ports(&self, state: PortState) -> Result<Vec<Port>, ConnectorError> {
        self.measure("ports", self.inner.ports(state)).await
    }

    async fn port(&self, id: &str) -> Result<Port, ConnectorError> {
        self.measure("port", self.inner.port(id)).await
    }

    async fn groups(&self) -> Result<Vec<Group>, ConnectorError> {
        self.measure("groups", self.inner.groups()).await
    }

    async fn add_group(&self, group: &Group) -> Result<(), ConnectorError> {
        self.measure("add_group", self.inner.add_group(group)).await
    }

    async fn subscribers(
        &self,
        filter: &SubscriberFilter,
    ) -> Result<Vec<Subscriber>, ConnectorError> {
        self.measure("subscribers", self.inner.subscribers(filter))
            .await
    }
}
