//! Inbound provider webhooks: verified by the provider's connector before
//! anything in them is trusted, stored raw, then applied idempotently.

use simgate_connectors::{Connector, HeaderMap, InboundEvent, WebhookError};
use std::time::Duration;

use chrono::Utc;
use simgate_domain::entities::Moved;
use simgate_domain::{OrderId, ProviderId, TenantId};

use crate::{ServiceError, Services, later};

/// Failed attempts after which a stored webhook is given up (about six
/// hours of doubling delays): marked `unmatched` when it never found its
/// order or eSIM, `failed` otherwise, and logged.
pub const WEBHOOK_MAX_ATTEMPTS: u32 = 16;
/// Most stored webhooks one inbox pass applies.
const INBOX_BATCH: u32 = 100;
/// First wait after a failed attempt; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The wait after the `failed`th failed attempt.
fn webhook_backoff(failed: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << failed.saturating_sub(1).min(16))
        .min(MAX_BACKOFF)
}

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
            .store_webhook(
                provider,
                &delivery_id,
                &String::from_utf8_lossy(body),
                later(Utc::now(), self.config.webhook_retry_after),
            )
            .await?;
        if stored.duplicate && !stored.pending {
            tracing::info!(%provider, delivery = %delivery_id, "duplicate webhook ignored");
            return Ok(WebhookOutcome::Duplicate);
        }
        if stored.duplicate {
            tracing::info!(%provider, delivery = %delivery_id, "redelivery of a webhook not applied yet: applying it");
        }
        let attempt = self.apply(provider, connector.as_ref(), event).await;
        self.settle_webhook(&stored.id, stored.attempts, attempt)
            .await
            .map(|_| WebhookOutcome::Applied)
    }

    /// Applies again the stored webhooks whose attempt is due: those the
    /// process died before applying, whose attempt failed, or that named an
    /// order not known yet. Several instances share the work: each row is
    /// taken by one pass. Returns how many were applied.
    pub async fn apply_inbox(&self) -> Result<usize, ServiceError> {
        let now = Utc::now();
        let due = self
            .store
            .take_due_webhooks(
                now,
                later(now, self.config.webhook_retry_after),
                INBOX_BATCH,
            )
            .await?;
        let mut applied = 0;
        for webhook in due {
            let attempt = match self.connectors.get(webhook.provider) {
                None => Err(ServiceError::ProviderNotConfigured(webhook.provider)),
                Some(connector) => match connector.read_webhook(webhook.body.as_bytes()) {
                    Ok(event) => {
                        self.apply(webhook.provider, connector.as_ref(), event)
                            .await
                    }
                    Err(error) => {
                        tracing::error!(provider = %webhook.provider, webhook = %webhook.id, %error, "a stored webhook no longer reads; dropped");
                        self.store.finish_webhook(&webhook.id, "malformed").await?;
                        continue;
                    }
                },
            };
            if let Err(error) = self
                .settle_webhook(&webhook.id, webhook.attempts, attempt)
                .await
            {
                tracing::warn!(provider = %webhook.provider, webhook = %webhook.id, %error, "a stored webhook could not be applied yet");
            } else {
                applied += 1;
            }
        }
        Ok(applied)
    }

    /// Records how an attempt to apply a stored webhook went: done, or
    /// tried again later with a doubling delay, until
    /// [`WEBHOOK_MAX_ATTEMPTS`] have failed.
    async fn settle_webhook(
        &self,
        id: &str,
        attempts: u32,
        attempt: Result<&'static str, ServiceError>,
    ) -> Result<&'static str, ServiceError> {
        let error = match attempt {
            Ok(outcome) => {
                self.store.finish_webhook(id, outcome).await?;
                return Ok(outcome);
            }
            Err(error) => error,
        };
        let failed = attempts.saturating_add(1);
        if failed >= WEBHOOK_MAX_ATTEMPTS {
            let outcome = match error {
                ServiceError::OrderNotFound(_) | ServiceError::EsimNotFound(_) => "unmatched",
                _ => "failed",
            };
            tracing::error!(webhook = id, failed, %error, outcome, "gave up applying a webhook");
            self.store.finish_webhook(id, outcome).await?;
        } else {
            let retry_at = later(Utc::now(), webhook_backoff(failed));
            self.store.postpone_webhook(id, retry_at).await?;
        }
        Err(error)
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
                unit_id,
                install,
            } => {
                let order = match self.order_named(provider, &order_reference).await {
                    Err(ServiceError::OrderNotFound(_)) => {
                        return self
                            .late_purchase(provider, &order_reference, &unit_id, &install)
                            .await;
                    }
                    found => found?,
                };
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

    /// An eSIM a provider delivered for one of our orders that has moved
    /// on to another provider (a failover after this one's answer was
    /// lost): the order keeps what it has, and this purchase is recorded as
    /// an extra one of it, for an operator to refund. Not found when no
    /// order of ours has this id.
    async fn late_purchase(
        &self,
        provider: ProviderId,
        order_reference: &str,
        unit_id: &str,
        install: &simgate_domain::InstallDetails,
    ) -> Result<&'static str, ServiceError> {
        let not_found = || ServiceError::OrderNotFound(order_reference.to_owned());
        let order = self
            .store
            .order_by_id(&OrderId(order_reference.to_owned()))
            .await?
            .ok_or_else(not_found)?;
        let detail = serde_json::json!({
            "unit": unit_id,
            "iccid": install.iccid.as_str(),
            "order_provider": order.provider().as_str(),
        })
        .to_string();
        if self
            .store
            .record_late_purchase(provider, order_reference, &order, &detail)
            .await?
        {
            metrics::counter!("simgate_extra_purchases_total", "provider" => provider.as_str(), "kind" => "order")
                .increment(1);
            tracing::error!(order = %order.id, %provider, iccid = %install.iccid, "a provider delivered an eSIM for an order that moved on to another: extra purchase recorded, refund it");
        }
        Ok("extra_purchase")
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
