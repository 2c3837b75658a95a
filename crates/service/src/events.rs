//! Events for resellers: recorded once per fact, delivered to each of the
//! tenant's endpoints as Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`),
//! retried with exponential backoff and jitter, honouring `Retry-After`;
//! a `410 Gone` disables the endpoint.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use serde_json::{Value, json};
use sha2::Sha256;
use simgate_domain::{BundleUsage, Iccid, OrderStatus};
use simgate_store::{DeliveryStatus, Endpoint, OrderRecord, StoredEvent};

use crate::telemetry::{self, DeliveryOutcome};
use crate::webhook_targets::{self, NOT_PUBLIC_CODE, TargetRefused};
use crate::{ServiceError, Services};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between attempts, whatever the endpoint asks.
const MAX_DELAY: Duration = Duration::from_secs(3600);
/// Prefix of Standard Webhooks secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh `whsec_` secret: 32 random bytes, base64.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{SECRET_PREFIX}{}", BASE64.encode(bytes))
}

/// The Standard Webhooks signature of a message, `v1,<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = BASE64
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

impl Services {
    /// Registers a webhook endpoint for the tenant, once its URL is known to
    /// be a public `http(s)` target (unless the operator allows private ones).
    pub async fn create_endpoint(
        &self,
        tenant_id: &str,
        url: &str,
    ) -> Result<Endpoint, ServiceError> {
        webhook_targets::check_registration(url, self.config.allow_private_webhook_targets).await?;
        Ok(self
            .store
            .create_endpoint(tenant_id, url, &new_secret())
            .await?)
    }

    /// Records an event once per `dedupe_key` and schedules its deliveries;
    /// true when it was new (false: that fact was already recorded).
    pub(crate) async fn emit(
        &self,
        tenant_id: &str,
        event_type: &str,
        dedupe_key: &str,
        data: Value,
    ) -> Result<bool, ServiceError> {
        let payload = json!({
            "type": event_type,
            "timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": data,
        })
        .to_string();
        let Some((event_id, deliveries)) = self
            .store
            .record_event(tenant_id, event_type, dedupe_key, &payload)
            .await?
        else {
            return Ok(false);
        };
        tracing::info!(event = %event_id, event_type, deliveries = deliveries.len(), "event recorded");
        self.schedule(&deliveries).await;
        Ok(true)
    }

    async fn schedule(&self, deliveries: &[String]) {
        for delivery in deliveries {
            if let Err(error) = self.queue.enqueue(delivery, Duration::ZERO).await {
                // The delivery stays pending in the store; a replay sends it.
                tracing::error!(%error, delivery, "could not schedule a delivery");
            }
        }
    }

    /// Tells the tenant about an order that became final. An event that
    /// cannot be recorded is logged, never allowed to undo the order.
    pub(crate) async fn announce(&self, order: &OrderRecord) {
        if let Err(error) = self.order_event(order).await {
            tracing::error!(order = %order.id, %error, "could not record the order's event");
        }
    }

    async fn order_event(&self, order: &OrderRecord) -> Result<(), ServiceError> {
        let event_type = match order.status {
            OrderStatus::Completed => "order.completed",
            OrderStatus::Failed => "order.failed",
            OrderStatus::Refunded => "order.refunded",
            _ => return Ok(()),
        };
        let data = json!({
            "id": order.id.to_string(),
            "status": order.status,
            "product_id": order.product_id.to_string(),
            "quantity": order.quantity,
            "esims": order.iccids.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            "upstream_reference": order.upstream_ref,
            "failure": order.failure.as_ref().map(|f| json!({"code": f.code, "message": f.message, "retryable": f.retryable})),
        });
        // A retryable failure can be retried into success: key failures by attempt.
        let key = format!("{event_type}:{}:{}", order.id, order.attempts);
        // Counted with the event, which is recorded once per fact.
        if self.emit(&order.tenant_id, event_type, &key, data).await? {
            crate::telemetry::order_finished(order.provider(), order.status);
        }
        Ok(())
    }

    /// `esim.usage.low` (10 % or less left) or `esim.usage.depleted`.
    pub(crate) async fn usage_event(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        usage: &BundleUsage,
    ) -> Result<(), ServiceError> {
        let (Some(initial), Some(remaining)) = (usage.initial_bytes, usage.remaining_bytes) else {
            return Ok(());
        };
        let event_type = if remaining == 0 {
            "esim.usage.depleted"
        } else if remaining.saturating_mul(10) <= initial {
            "esim.usage.low"
        } else {
            return Ok(());
        };
        let started = usage.started_at.map(|t| t.timestamp()).unwrap_or_default();
        let key = format!("{event_type}:{iccid}:{}:{started}", usage.bundle);
        let data = json!({
            "iccid": iccid.to_string(),
            "bundle": usage.bundle,
            "initial_bytes": initial,
            "remaining_bytes": remaining,
        });
        self.emit(tenant_id, event_type, &key, data).await?;
        Ok(())
    }

    /// Sends an event again to every enabled endpoint (new deliveries, same `webhook-id`).
    pub async fn replay_event(
        &self,
        tenant_id: &str,
        event_id: &str,
    ) -> Result<usize, ServiceError> {
        let event = self.event(tenant_id, event_id).await?;
        let deliveries = self.store.redeliver_event(&event).await?;
        self.schedule(&deliveries).await;
        Ok(deliveries.len())
    }

    /// A tenant's event.
    pub async fn event(
        &self,
        tenant_id: &str,
        event_id: &str,
    ) -> Result<StoredEvent, ServiceError> {
        self.store
            .event_for_tenant(tenant_id, event_id)
            .await?
            .ok_or_else(|| ServiceError::EventNotFound(event_id.to_owned()))
    }

    /// One attempt of one delivery; schedules the next one when it fails.
    pub async fn deliver(&self, delivery_id: &str) -> Result<(), ServiceError> {
        let Some((delivery, event, endpoint)) = self.store.delivery(delivery_id).await? else {
            return Ok(());
        };
        if delivery.status != DeliveryStatus::Pending {
            return Ok(());
        }
        if !endpoint.enabled {
            self.store
                .record_attempt(
                    delivery_id,
                    DeliveryStatus::Disabled,
                    None,
                    Some("endpoint disabled"),
                )
                .await?;
            telemetry::delivery_attempt(DeliveryOutcome::Disabled);
            return Ok(());
        }
        let attempt = delivery.attempts + 1;
        // A literal address never reaches the resolver's check: judge it here.
        let refused_literal = if self.config.allow_private_webhook_targets {
            None
        } else {
            webhook_targets::refusal_before_sending(&endpoint.url)
        };
        let sent = match refused_literal {
            Some(refused) => Err(Failure::Refusal(refused)),
            None => {
                let timestamp = Utc::now().timestamp();
                let signature = sign(&endpoint.secret, &event.id, timestamp, &event.payload)
                    .unwrap_or_default();
                self.http
                    .post(&endpoint.url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &event.id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature)
                    .body(event.payload.clone())
                    .send()
                    .await
                    .map_err(Failure::from_send)
            }
        };
        let (status, retry_after, error) = match sent {
            Ok(response) if response.status().is_success() => {
                self.store
                    .record_attempt(
                        delivery_id,
                        DeliveryStatus::Delivered,
                        Some(response.status().as_u16()),
                        None,
                    )
                    .await?;
                telemetry::delivery_attempt(DeliveryOutcome::Delivered);
                tracing::info!(delivery = delivery_id, event = %event.id, attempt, "event delivered");
                return Ok(());
            }
            Ok(response) if response.status() == reqwest::StatusCode::GONE => {
                self.store
                    .disable_endpoint(&endpoint.id, "answered 410 Gone")
                    .await?;
                self.store
                    .record_attempt(
                        delivery_id,
                        DeliveryStatus::Disabled,
                        Some(410),
                        Some("410 Gone"),
                    )
                    .await?;
                telemetry::delivery_attempt(DeliveryOutcome::Disabled);
                tracing::warn!(endpoint = %endpoint.id, "endpoint answered 410 Gone and was disabled");
                return Ok(());
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = simgate_connectors::http::retry_after(response.headers());
                let error = if response.status().is_redirection() {
                    format!("answered {status}; redirects are not followed")
                } else {
                    format!("answered {status}")
                };
                (Some(status), retry_after, error)
            }
            Err(Failure::Refusal(refused)) => {
                tracing::warn!(endpoint = %endpoint.id, %refused, "webhook target refused: not a public address");
                (None, None, format!("{NOT_PUBLIC_CODE}: {refused}"))
            }
            Err(Failure::Unsent(error)) => (None, None, error.without_url().to_string()),
        };
        if attempt >= MAX_ATTEMPTS {
            self.store
                .record_attempt(delivery_id, DeliveryStatus::Failed, status, Some(&error))
                .await?;
            telemetry::delivery_attempt(DeliveryOutcome::Failed);
            tracing::warn!(delivery = delivery_id, attempt, %error, "giving up on a delivery");
            return Ok(());
        }
        self.store
            .record_attempt(delivery_id, DeliveryStatus::Pending, status, Some(&error))
            .await?;
        telemetry::delivery_attempt(DeliveryOutcome::Retrying);
        let delay = retry_after
            .unwrap_or_else(|| self.backoff(attempt))
            .min(MAX_DELAY);
        tracing::info!(delivery = delivery_id, attempt, ?delay, %error, "delivery failed; retrying later");
        self.queue
            .enqueue(delivery_id, delay)
            .await
            .map_err(|e| ServiceError::Queue(e.to_string()))
    }

    /// Exponential backoff from the configured base, with up to 25 % jitter
    /// so that endpoints coming back are not hit by every retry at once.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .config
            .delivery_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let jitter = rand::rng().random_range(0.0..0.25);
        base.mul_f64(1.0 + jitter).min(MAX_DELAY)
    }
}

/// Why an attempt got no answer.
enum Failure {
    /// The target is not a public address: nothing was sent.
    Refusal(TargetRefused),
    /// The request failed on its way (connection, timeout, …).
    Unsent(reqwest::Error),
}

impl Failure {
    fn from_send(error: reqwest::Error) -> Self {
        match webhook_targets::refusal_in(&error) {
            Some(refused) => Self::Refusal(refused.clone()),
            None => Self::Unsent(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification's reference tests.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn secrets_are_fresh_and_prefixed() {
        let a = new_secret();
        assert!(a.starts_with(SECRET_PREFIX));
        assert_ne!(a, new_secret());
        assert_eq!(BASE64.decode(&a[SECRET_PREFIX.len()..]).unwrap().len(), 32);
    }
}
