//! Inbound provider webhooks: verified by the provider's connector before
//! anything in them is trusted, stored raw, then applied idempotently.

use simgate_connectors::{HeaderMap, InboundEvent, WebhookError};
use simgate_domain::ProviderId;

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
                WebhookError::Unverified(reason) => ServiceError::WebhookUnverified(reason),
                WebhookError::Malformed(reason) => ServiceError::WebhookMalformed(reason),
                WebhookError::Unsupported => ServiceError::WebhooksUnsupported(provider),
            }
        })?;
        let raw = String::from_utf8_lossy(body);
        match event {
            InboundEvent::EsimReady {
                order_reference,
                unit_id,
                install,
            } => {
                let stored = self.store.store_webhook(provider, &unit_id, &raw).await?;
                if stored.duplicate {
                    tracing::info!(%provider, unit = %unit_id, "duplicate webhook ignored");
                    return Ok(WebhookOutcome::Duplicate);
                }
                let Some(order) = self
                    .store
                    .order_for_provider_reference(provider, &order_reference)
                    .await?
                else {
                    self.store
                        .finish_webhook(&stored.id, "unknown_order")
                        .await?;
                    return Err(ServiceError::OrderNotFound(order_reference));
                };
                let order = self
                    .store
                    .deliver_esim(&order, &order_reference, &install)
                    .await?;
                self.store.finish_webhook(&stored.id, "applied").await?;
                tracing::info!(order = %order.id, iccid = %install.iccid, status = %order.status, "eSIM delivered by webhook");
                Ok(WebhookOutcome::Applied)
            }
            InboundEvent::UsageReported {
                iccid,
                alert,
                usage,
                delivery_id,
            } => {
                let stored = self
                    .store
                    .store_webhook(provider, &delivery_id, &raw)
                    .await?;
                if stored.duplicate {
                    return Ok(WebhookOutcome::Duplicate);
                }
                let Some(tenant_id) = self.store.esim_tenant(provider, &iccid).await? else {
                    self.store
                        .finish_webhook(&stored.id, "unknown_esim")
                        .await?;
                    return Err(ServiceError::EsimNotFound(iccid.to_string()));
                };
                self.store.finish_webhook(&stored.id, "recorded").await?;
                tracing::info!(
                    %provider, tenant = %tenant_id, %iccid, %alert, bundle = %usage.bundle,
                    remaining_bytes = ?usage.remaining_bytes, "usage reported"
                );
                Ok(WebhookOutcome::Applied)
            }
            InboundEvent::OrderChanged {
                order_reference,
                delivery_id,
            } => {
                let stored = self
                    .store
                    .store_webhook(provider, &delivery_id, &raw)
                    .await?;
                if stored.duplicate {
                    return Ok(WebhookOutcome::Duplicate);
                }
                let Some(order) = self
                    .store
                    .order_for_provider_reference(provider, &order_reference)
                    .await?
                else {
                    self.store
                        .finish_webhook(&stored.id, "unknown_order")
                        .await?;
                    return Err(ServiceError::OrderNotFound(order_reference));
                };
                // The webhook only says something changed: ask the provider what.
                let placed = connector
                    .fetch_order(&order_reference)
                    .await
                    .map_err(ServiceError::upstream)?;
                let changed =
                    placed.status != order.status && order.status.can_become(placed.status);
                if changed {
                    self.adopt(&order.id, &placed).await?;
                }
                self.store
                    .finish_webhook(&stored.id, if changed { "applied" } else { "unchanged" })
                    .await?;
                Ok(WebhookOutcome::Applied)
            }
        }
    }
}
