//! Inbound provider webhooks: verified by the provider's connector before
//! anything in them is trusted, stored raw, then applied idempotently.

use simgate_connectors::{Connector, HeaderMap, InboundEvent, WebhookError};
use simgate_domain::entities::Moved;
use simgate_domain::{ProviderId, TenantId};

use crate::{ServiceError, Services};

/// What receiving a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// It changed an order.
    Applied,
    /// The same delivery came before; nothing changed.
    Duplicate,
}

impl Services {
    /// Asks the provider about its in-flight orders now. A webhook we could
    /// not verify may be a genuine one mangled on the way: its payload is
    /// not trusted, but the news it may carry is fetched from the source.
    /// At most once per `repoll_interval` per provider, decided before
    /// anything is spawned: a flood of forged webhooks costs one poll per
    /// interval, not one per webhook.
    fn repoll_in_background(&self, provider: ProviderId) {
        if !self.repoll_due(provider) {
            tracing::debug!(%provider, "re-poll skipped: one ran within the interval");
            return;
        }
        let services = self.clone();
        tokio::spawn(async move {
            let Ok(_only_one) = services.repolling.try_lock() else {
                return;
            };
            match services.poll_fulfilling(provider).await {
                Ok(settled) => {
                    tracing::info!(%provider, settled, "re-polled orders after an unverified webhook");
                }
                Err(error) => {
                    tracing::warn!(%provider, %error, "re-poll after an unverified webhook failed");
                }
            }
        });
    }

    /// Receives a provider webhook: verify, store raw, apply once.
    pub async fn receive_webhook(
        &self,
        provider: ProviderId,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookOutcome, ServiceError> {
        let connector = self
            .connectors
            .get(provider)
            .ok_or(ServiceError::ProviderNotConfigured(provider))?;
        let event = connector.verify_webhook(headers, body).map_err(|error| {
            tracing::warn!(%provider, %error, "refused a webhook");
            match error {
                WebhookError::Unverified(reason) => {
                    crate::telemetry::webhook_rejected(provider, "unverified");
                    self.repoll_in_background(provider);
                    ServiceError::WebhookUnverified(reason)
                }
                WebhookError::Malformed(reason) => {
                    crate::telemetry::webhook_rejected(provider, "malformed");
                    ServiceError::WebhookMalformed(reason)
                }
                WebhookError::Unsupported => {
                    crate::telemetry::webhook_rejected(provider, "unsupported");
                    ServiceError::WebhooksUnsupported(provider)
                }
            }
        })?;
        let delivery_id = match &event {
            InboundEvent::EsimReady { unit_id, .. } => unit_id.clone(),
            InboundEvent::UsageReported { delivery_id, .. }
            | InboundEvent::OrderChanged { delivery_id, .. } => delivery_id.clone(),
        };
        let stored = self
            .store
            .store_webhook(provider, &delivery_id, &String::from_utf8_lossy(body))
            .await?;
        if stored.duplicate {
            tracing::info!(%provider, delivery = %delivery_id, "duplicate webhook ignored");
            return Ok(WebhookOutcome::Duplicate);
        }
        match self.apply(provider, connector.as_ref(), event).await {
            Ok(outcome) => {
                self.store.finish_webhook(&stored.id, outcome).await?;
                Ok(WebhookOutcome::Applied)
            }
            Err(error @ (ServiceError::OrderNotFound(_) | ServiceError::EsimNotFound(_))) => {
                self.store.finish_webhook(&stored.id, "unmatched").await?;
                Err(error)
            }
            Err(error) => {
                // Not applied: forget it, so the provider's redelivery is applied.
                self.store.forget_webhook(&stored.id).await?;
                Err(error)
            }
        }
    }

    /// Applies a verified event; returns what it did, for the stored record.
    async fn apply(
        &self,
        provider: ProviderId,
        connector: &dyn Connector,
        event: InboundEvent,
    ) -> Result<&'static str, ServiceError> {
        match event {
            InboundEvent::EsimReady {
                order_reference,
                install,
                ..
            } => {
                let order = self.order_named(provider, &order_reference).await?;
                let Moved { order, event } = self
                    .store
                    .deliver_esim(&order, &order_reference, &install)
                    .await?;
                tracing::info!(order = %order.id, iccid = %install.iccid, status = %order.status, "eSIM delivered by webhook");
                self.announced(&order, event).await;
                Ok("applied")
            }
            InboundEvent::UsageReported {
                iccid,
                alert,
                usage,
                ..
            } => {
                let tenant_id = self
                    .store
                    .esim_tenant(provider, &iccid)
                    .await?
                    .ok_or_else(|| ServiceError::EsimNotFound(iccid.to_string()))?;
                tracing::info!(
                    %provider, tenant = %tenant_id, %iccid, %alert, bundle = %usage.bundle,
                    remaining_bytes = ?usage.remaining_bytes, "usage reported"
                );
                self.usage_event(&TenantId::from_stored(tenant_id), &iccid, &usage)
                    .await?;
                Ok("recorded")
            }
            InboundEvent::OrderChanged {
                order_reference, ..
            } => {
                let order = self.order_named(provider, &order_reference).await?;
                // The webhook only says something changed: ask the provider what.
                let placed = connector
                    .fetch_order(&order_reference)
                    .await
                    .map_err(ServiceError::upstream)?;
                if placed.status == order.status || !order.status.can_become(placed.status) {
                    return Ok("unchanged");
                }
                self.adopt(&order, order.fence, &placed).await?;
                Ok("applied")
            }
        }
    }

    async fn order_named(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<simgate_domain::entities::OrderRecord, ServiceError> {
        self.store
            .order_for_provider_reference(provider, reference)
            .await?
            .ok_or_else(|| ServiceError::OrderNotFound(reference.to_owned()))
    }
}
