//! The service layer's Prometheus metrics: what orders became, how event
//! deliveries went, what is waiting (backlogs), how fresh catalogues are and
//! which inbound webhooks were refused. Names live here, once, with their
//! HELP text; the use cases call the small recorders below.

use chrono::Utc;
use simgate_domain::{Capability, OrderStatus, ProviderId};

use crate::{ServiceError, Services};

const ORDERS_CREATED: &str = "simgate_orders_created_total";
const ORDERS_FINISHED: &str = "simgate_orders_finished_total";
const DELIVERIES: &str = "simgate_webhook_deliveries_total";
const DELIVERY_BACKLOG: &str = "simgate_webhook_delivery_backlog";
const RECONCILE_BACKLOG: &str = "simgate_reconcile_backlog";
const CATALOGUE_PRODUCTS: &str = "simgate_catalogue_products";
const CATALOGUE_AGE: &str = "simgate_catalogue_age_seconds";
const CATALOGUE_SYNC_FAILURES: &str = "simgate_catalogue_sync_failures_total";
const WEBHOOKS_REJECTED: &str = "simgate_inbound_webhooks_rejected_total";
const PROVIDER_BALANCE: &str = "simgate_provider_balance";

/// Registers the HELP text of every service metric with the installed
/// recorder (call once, after installing it).
pub fn describe() {
    metrics::describe_counter!(ORDERS_CREATED, "eSIM orders written, by provider");
    metrics::describe_counter!(
        ORDERS_FINISHED,
        "eSIM orders that reached a final status (completed, failed, refunded), by provider and status"
    );
    metrics::describe_counter!(
        DELIVERIES,
        "Attempts to deliver events to resellers' endpoints, by outcome (delivered, retrying, failed, disabled)"
    );
    metrics::describe_gauge!(
        DELIVERY_BACKLOG,
        "Event deliveries still pending, across tenants (refreshed by the periodic jobs)"
    );
    metrics::describe_gauge!(
        RECONCILE_BACKLOG,
        "Orders the last reconcile pass found unsettled: answer lost, never sent, or still fulfilling"
    );
    metrics::describe_gauge!(
        CATALOGUE_PRODUCTS,
        "Products in the local catalogue, by provider"
    );
    metrics::describe_gauge!(
        CATALOGUE_AGE,
        metrics::Unit::Seconds,
        "Time since a provider's catalogue was last synced (refreshed by the periodic jobs)"
    );
    metrics::describe_counter!(
        CATALOGUE_SYNC_FAILURES,
        "Catalogue syncs that failed, by provider"
    );
    metrics::describe_counter!(
        WEBHOOKS_REJECTED,
        "Inbound provider webhooks refused, by provider and reason (unverified, malformed, unsupported)"
    );
    metrics::describe_gauge!(
        PROVIDER_BALANCE,
        "The prepaid balance last read from a provider, by provider and currency (shared through the database)"
    );
}

/// The balance last read from a provider.
pub(crate) fn provider_balance(provider: ProviderId, balance: &simgate_domain::Money) {
    metrics::gauge!(PROVIDER_BALANCE, "provider" => provider.as_str(), "currency" => balance.currency.code())
        .set(crate::balances::gauge_value(balance));
}

/// An order was written (before its provider is called).
pub(crate) fn order_created(provider: ProviderId) {
    metrics::counter!(ORDERS_CREATED, "provider" => provider.as_str()).increment(1);
}

/// An order reached a final status; called once per fact (the caller's
/// event is deduplicated), so a retried order counts its failure and its
/// later completion each once.
pub(crate) fn order_finished(provider: ProviderId, status: OrderStatus) {
    metrics::counter!(ORDERS_FINISHED, "provider" => provider.as_str(), "status" => status.as_str())
        .increment(1);
}

/// How one event delivery attempt ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DeliveryOutcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// It failed; another attempt is scheduled.
    Retrying,
    /// It failed for the last time.
    Failed,
    /// The endpoint is disabled (or just answered 410 Gone).
    Disabled,
}

/// One event delivery attempt ended.
pub(crate) fn delivery_attempt(outcome: DeliveryOutcome) {
    let outcome = match outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::Retrying => "retrying",
        DeliveryOutcome::Failed => "failed",
        DeliveryOutcome::Disabled => "disabled",
    };
    metrics::counter!(DELIVERIES, "outcome" => outcome).increment(1);
}

/// A reconcile pass of this instance leased `orders` unsettled orders (up
/// to a batch; with several instances each reports the share it took).
pub(crate) fn reconcile_backlog(orders: usize) {
    metrics::gauge!(RECONCILE_BACKLOG).set(orders as f64);
}

/// A provider's catalogue was replaced with `products` products just now.
pub(crate) fn catalogue_synced(provider: ProviderId, products: usize) {
    metrics::gauge!(CATALOGUE_PRODUCTS, "provider" => provider.as_str()).set(products as f64);
    metrics::gauge!(CATALOGUE_AGE, "provider" => provider.as_str()).set(0.0);
}

/// A provider's catalogue sync failed.
pub(crate) fn catalogue_sync_failed(provider: ProviderId) {
    metrics::counter!(CATALOGUE_SYNC_FAILURES, "provider" => provider.as_str()).increment(1);
}

/// An inbound webhook was refused, for `reason`.
pub(crate) fn webhook_rejected(provider: ProviderId, reason: &'static str) {
    metrics::counter!(WEBHOOKS_REJECTED, "provider" => provider.as_str(), "reason" => reason)
        .increment(1);
}

impl Services {
    /// Refreshes the gauges read from the database: the event delivery
    /// backlog and each catalogue's age. Run by the periodic jobs, so that
    /// every instance reports the shared state without a scrape touching
    /// the database.
    pub async fn refresh_gauges(&self) -> Result<(), ServiceError> {
        let pending = self.store.pending_deliveries().await?;
        metrics::gauge!(DELIVERY_BACKLOG).set(pending as f64);
        let now = Utc::now();
        for connector in self.connectors.all() {
            if !connector.capabilities().contains(&Capability::Catalogue) {
                continue;
            }
            let provider = connector.provider();
            if let Some((synced_at, _)) = self.store.last_catalogue_sync(provider).await? {
                let age = (now - synced_at).num_milliseconds().max(0) as f64 / 1000.0;
                metrics::gauge!(CATALOGUE_AGE, "provider" => provider.as_str()).set(age);
            }
        }
        Ok(())
    }
}
