//! Events for resellers: recorded once per fact, delivered to each of the
//! tenant's endpoints as Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`),
//! retried with exponential backoff and jitter, honouring `Retry-After`;
//! a `410 Gone` disables the endpoint.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use simgate_domain::entities::{
    DeliveryStatus, Endpoint, OrderRecord, PreviousSecret, RecordedEvent, StoredEvent,
};
use simgate_domain::{
    BundleUsage, DeliveryId, EndpointId, EventBody, EventId, Iccid, OutboundEvent, TenantId,
};

use crate::secret_keys::{OpenError, SecretKeys, open_stored};
use crate::telemetry::{self, DeliveryOutcome};
use crate::webhook_targets::{self, NOT_PUBLIC_CODE, TargetRefused};
use crate::{ServiceError, Services};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between attempts, whatever the endpoint asks.
const MAX_DELAY: Duration = Duration::from_secs(3600);
/// Most overdue deliveries one sweep queues again.
const SWEEP_BATCH: u32 = 500;
/// Prefix of Standard Webhooks secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh `whsec_` secret: 32 random bytes, base64.
pub fn new_secret() -> SecretString {
    let bytes: [u8; 32] = rand::rng().random();
    SecretString::from(format!("{SECRET_PREFIX}{}", BASE64.encode(bytes)))
}

/// An endpoint with its secret in clear: what creating or rotating answers,
/// the only times the secret is shown.
#[derive(Debug)]
pub struct EndpointWithSecret {
    pub endpoint: Endpoint,
    /// `whsec_…`; redacted from `Debug`.
    pub secret: SecretString,
}

/// Why a message could not be signed. Nothing is sent unsigned: an
/// endpoint would reject it, and an empty signature hides the cause.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The endpoint's secret is not `whsec_` and base64 (a damaged row).
    #[error("the endpoint's signing secret is not valid base64")]
    SecretNotBase64(#[source] base64::DecodeError),
    /// The secret was refused as an HMAC key.
    #[error("the endpoint's signing secret is not a usable HMAC key")]
    InvalidKey(#[source] hmac::digest::InvalidLength),
    /// The sealed secret could not be opened with the configured keys.
    #[error("the endpoint's signing secret cannot be opened: {0}")]
    Unopened(#[from] OpenError),
}

/// The Standard Webhooks signature of a message, `v1,<base64>`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, SignError> {
    let key = BASE64
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(SignError::SecretNotBase64)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(SignError::InvalidKey)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

impl Services {
    /// Registers a webhook endpoint for the tenant, once its URL is known to
    /// be a public `http(s)` target (unless the operator allows private ones).
    pub async fn create_endpoint(
        &self,
        tenant_id: &TenantId,
        url: &str,
    ) -> Result<EndpointWithSecret, ServiceError> {
        let keys = self.sealing_keys()?;
        webhook_targets::check_registration(url, self.config.allow_private_webhook_targets).await?;
        let secret = new_secret();
        let max = self.config.limits.max_webhook_endpoints;
        let endpoint = self
            .store
            .create_endpoint(tenant_id.as_str(), url, &keys.seal(&secret), max)
            .await?
            .ok_or(ServiceError::TooManyEndpoints { max })?;
        Ok(EndpointWithSecret { endpoint, secret })
    }

    /// Gives a tenant's endpoint a new secret. The old one keeps signing
    /// beside it for `config.secret_overlap` (a rotation within that time
    /// ends the oldest one at once), so the receiver can switch over
    /// without refusing a delivery.
    pub async fn rotate_endpoint_secret(
        &self,
        tenant_id: &TenantId,
        id: &EndpointId,
    ) -> Result<EndpointWithSecret, ServiceError> {
        let keys = self.sealing_keys()?;
        let not_found = || ServiceError::EndpointNotFound(id.to_string());
        let endpoint = self
            .store
            .endpoint(id.as_str())
            .await?
            .filter(|e| e.tenant_id == tenant_id.as_str())
            .ok_or_else(not_found)?;
        let old = open_stored(Some(keys), &endpoint.secret)
            .map_err(|reason| ServiceError::EndpointSecretsUnreadable { count: 1, reason })?;
        let expires_at = crate::later(Utc::now(), self.config.secret_overlap);
        let previous = (!self.config.secret_overlap.is_zero()).then(|| PreviousSecret {
            secret: keys.seal(&old),
            expires_at,
        });
        let secret = new_secret();
        let replaced = self
            .store
            .replace_endpoint_secrets(
                id.as_str(),
                &endpoint.secret,
                &keys.seal(&secret),
                previous.as_ref(),
            )
            .await?;
        if !replaced {
            return Err(ServiceError::SecretRotationConflict(id.to_string()));
        }
        let endpoint = self
            .store
            .endpoint(id.as_str())
            .await?
            .ok_or_else(not_found)?;
        tracing::info!(endpoint = %endpoint.id, "endpoint secret rotated");
        Ok(EndpointWithSecret { endpoint, secret })
    }

    /// Seals, under the current key, every endpoint secret that is plain
    /// text (from before secrets were sealed) or sealed under another key,
    /// so an old key can be removed once every instance has restarted.
    /// Run at start: an error means some secret could not be read (no key
    /// configured, or its key was removed), and simgate does not start,
    /// rather than stop signing those endpoints' deliveries unnoticed.
    /// Returns how many endpoints were re-sealed.
    pub async fn reseal_endpoint_secrets(&self) -> Result<usize, ServiceError> {
        let keys = self.secret_keys.as_deref();
        let pending = self
            .store
            .endpoints_not_sealed_under(keys.map(SecretKeys::current_id))
            .await?;
        let Some(keys) = keys else {
            return if pending.is_empty() {
                Ok(0)
            } else {
                Err(ServiceError::EndpointSecretsUnreadable {
                    count: pending.len(),
                    reason: OpenError::NoKeys,
                })
            };
        };
        let now = Utc::now();
        let (mut resealed, mut unreadable) = (0, Vec::new());
        for endpoint in &pending {
            match reseal(keys, endpoint, now) {
                Ok((secret, previous)) => {
                    if self
                        .store
                        .replace_endpoint_secrets(
                            &endpoint.id,
                            &endpoint.secret,
                            &secret,
                            previous.as_ref(),
                        )
                        .await?
                    {
                        resealed += 1;
                    }
                    // Otherwise it was rotated meanwhile, under a current key.
                }
                Err(reason) => unreadable.push(reason),
            }
        }
        if let Some(reason) = unreadable.first() {
            return Err(ServiceError::EndpointSecretsUnreadable {
                count: unreadable.len(),
                reason: reason.clone(),
            });
        }
        if resealed > 0 {
            tracing::info!(
                resealed,
                key_id = keys.current_id(),
                "endpoint secrets sealed under the current key"
            );
        }
        Ok(resealed)
    }

    /// The keys that seal new secrets; without them no secret is made.
    fn sealing_keys(&self) -> Result<&SecretKeys, ServiceError> {
        self.secret_keys
            .as_deref()
            .ok_or(ServiceError::SecretKeysMissing)
    }

    /// Every signature a delivery carries, space-separated as Standard
    /// Webhooks allows: the previous secret's while it has not expired,
    /// then the current one's.
    fn signatures(
        &self,
        endpoint: &Endpoint,
        id: &str,
        timestamp: i64,
        body: &str,
    ) -> Result<String, SignError> {
        let keys = self.secret_keys.as_deref();
        let mut signatures = Vec::with_capacity(2);
        if let Some(previous) = &endpoint.previous_secret
            && previous.expires_at > Utc::now()
        {
            let old = keys.ok_or(OpenError::NoKeys)?.open(&previous.secret)?;
            signatures.push(sign(old.expose_secret(), id, timestamp, body)?);
        }
        let current = open_stored(keys, &endpoint.secret)?;
        signatures.push(sign(current.expose_secret(), id, timestamp, body)?);
        Ok(signatures.join(" "))
    }

    /// Records an event once per fact (its dedupe key) and schedules its
    /// deliveries; true when it was new (false: already recorded).
    pub(crate) async fn emit(
        &self,
        tenant_id: &TenantId,
        event: OutboundEvent,
    ) -> Result<bool, ServiceError> {
        let event_type = event.event_type();
        let dedupe_key = event.dedupe_key();
        let order_id = event.order_id().cloned();
        let payload = serde_json::to_value(EventBody::new(event, Utc::now()))
            .map_err(ServiceError::EventEncoding)?
            .to_string();
        let Some((event_id, deliveries)) = self
            .store
            .record_event(
                tenant_id.as_str(),
                event_type,
                &dedupe_key,
                order_id.as_ref(),
                &payload,
            )
            .await?
        else {
            return Ok(false);
        };
        tracing::info!(event = %event_id, event_type, deliveries = deliveries.len(), "event recorded");
        self.schedule(deliveries.into_iter().map(DeliveryId::from_stored))
            .await;
        Ok(true)
    }

    pub(crate) async fn schedule(&self, deliveries: impl Iterator<Item = DeliveryId>) {
        for delivery in deliveries {
            if let Err(error) = self.queue.enqueue(&delivery, Duration::ZERO).await {
                // The delivery stays pending in the store, due now: the
                // sweeper queues it again once it is overdue.
                tracing::error!(%error, %delivery, "could not schedule a delivery");
            }
        }
    }

    /// Queues again the pending deliveries that are long past due: their
    /// job was never queued (the enqueue after the commit failed, or the
    /// process died between the two) or was lost. "Long" is the configured
    /// sweep delay, beyond the queue's own takeover of a dead worker's jobs
    /// and a delivery's timeout, so a delivery still queued or in flight is
    /// not queued twice. Returns how many were queued again.
    pub async fn sweep_deliveries(&self) -> Result<usize, ServiceError> {
        let now = Utc::now();
        let overdue_before = crate::earlier(now, self.config.delivery_sweep_after);
        let overdue = self
            .store
            .take_overdue_deliveries(overdue_before, now, SWEEP_BATCH)
            .await?;
        let count = overdue.len();
        for delivery in overdue {
            let delivery = DeliveryId::from_stored(delivery);
            tracing::warn!(%delivery, "a pending delivery had no job; queued again");
            // A failure here leaves it overdue again after one more delay.
            self.queue
                .enqueue(&delivery, Duration::ZERO)
                .await
                .map_err(|e| ServiceError::Queue(e.to_string()))?;
        }
        Ok(count)
    }

    /// After an order's event was recorded in the transaction that made the
    /// order final: counts the order and schedules the deliveries.
    pub(crate) async fn announced(&self, order: &OrderRecord, event: Option<RecordedEvent>) {
        let Some(event) = event else { return };
        crate::telemetry::order_finished(order.provider(), order.status);
        tracing::info!(event = %event.id, order = %order.id, deliveries = event.deliveries.len(), "event recorded");
        self.schedule(event.deliveries.into_iter().map(DeliveryId::from_stored))
            .await;
    }

    /// `esim.usage.low` (10 % or less left) or `esim.usage.depleted`.
    pub(crate) async fn usage_event(
        &self,
        tenant_id: &TenantId,
        iccid: &Iccid,
        usage: &BundleUsage,
    ) -> Result<(), ServiceError> {
        if let Some(event) = OutboundEvent::for_usage(iccid, usage) {
            self.emit(tenant_id, event).await?;
        }
        Ok(())
    }

    /// Sends an event again to every enabled endpoint (new deliveries, same
    /// `webhook-id`), at most `max_replays_per_event` times.
    pub async fn replay_event(
        &self,
        tenant_id: &TenantId,
        event_id: &EventId,
    ) -> Result<usize, ServiceError> {
        let event = self.event(tenant_id, event_id).await?;
        let max = self.config.limits.max_replays_per_event;
        let deliveries = self
            .store
            .redeliver_event(&event, max)
            .await?
            .ok_or_else(|| ServiceError::TooManyReplays {
                event: event.id.clone(),
                max,
            })?;
        let count = deliveries.len();
        self.schedule(deliveries.into_iter().map(DeliveryId::from_stored))
            .await;
        Ok(count)
    }

    /// A tenant's event.
    pub async fn event(
        &self,
        tenant_id: &TenantId,
        event_id: &EventId,
    ) -> Result<StoredEvent, ServiceError> {
        self.store
            .event_for_tenant(tenant_id.as_str(), event_id.as_str())
            .await?
            .ok_or_else(|| ServiceError::EventNotFound(event_id.to_string()))
    }

    /// One attempt of one delivery; schedules the next one when it fails.
    pub async fn deliver(&self, id: &DeliveryId) -> Result<(), ServiceError> {
        let delivery_id = id.as_str();
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
                    None,
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
        let sent = if let Some(refused) = refused_literal {
            Err(Failure::Refusal(refused))
        } else {
            let timestamp = Utc::now().timestamp();
            match self.signatures(&endpoint, &event.id, timestamp, &event.payload) {
                Err(error) => Err(Failure::Unsigned(error)),
                Ok(signature) => self
                    .http
                    .post(&endpoint.url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &event.id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature)
                    .body(event.payload.clone())
                    .send()
                    .await
                    .map_err(Failure::from_send),
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
                        None,
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
            Err(Failure::Unsigned(error)) => {
                tracing::error!(endpoint = %endpoint.id, error = &error as &dyn std::error::Error, "could not sign a delivery; nothing was sent");
                (None, None, format!("not sent: {error}"))
            }
            Err(Failure::Unsent(error)) => (None, None, error.without_url().to_string()),
        };
        if attempt >= MAX_ATTEMPTS {
            self.store
                .record_attempt(
                    delivery_id,
                    DeliveryStatus::Failed,
                    status,
                    Some(&error),
                    None,
                )
                .await?;
            telemetry::delivery_attempt(DeliveryOutcome::Failed);
            tracing::warn!(delivery = delivery_id, attempt, %error, "giving up on a delivery");
            return Ok(());
        }
        let delay = retry_after
            .unwrap_or_else(|| self.backoff(attempt))
            .min(MAX_DELAY);
        let retry_at = Some(crate::later(Utc::now(), delay));
        self.store
            .record_attempt(
                delivery_id,
                DeliveryStatus::Pending,
                status,
                Some(&error),
                retry_at,
            )
            .await?;
        telemetry::delivery_attempt(DeliveryOutcome::Retrying);
        tracing::info!(delivery = delivery_id, attempt, ?delay, %error, "delivery failed; retrying later");
        self.queue
            .enqueue(id, delay)
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

/// An endpoint's secrets sealed under the current key; a previous secret
/// that has expired is dropped unopened (its key may be gone).
fn reseal(
    keys: &SecretKeys,
    endpoint: &Endpoint,
    now: DateTime<Utc>,
) -> Result<
    (
        simgate_domain::entities::SealedSecret,
        Option<PreviousSecret>,
    ),
    OpenError,
> {
    let secret = keys.seal(&open_stored(Some(keys), &endpoint.secret)?);
    let previous = match &endpoint.previous_secret {
        Some(previous) if previous.expires_at > now => Some(PreviousSecret {
            secret: keys.seal(&keys.open(&previous.secret)?),
            expires_at: previous.expires_at,
        }),
        _ => None,
    };
    Ok((secret, previous))
}

/// Why an attempt got no answer.
enum Failure {
    /// The target is not a public address: nothing was sent.
    Refusal(TargetRefused),
    /// The message could not be signed: nothing was sent.
    Unsigned(SignError),
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
            signature.unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_damaged_secret_is_an_error_not_an_empty_signature() {
        let error = sign("whsec_not base64!", "msg_1", 1614265330, "{}").unwrap_err();
        assert!(matches!(error, SignError::SecretNotBase64(_)), "{error}");
    }

    #[test]
    fn secrets_are_fresh_and_prefixed() {
        let a = new_secret();
        let a = a.expose_secret();
        assert!(a.starts_with(SECRET_PREFIX));
        assert_ne!(a, new_secret().expose_secret());
        assert_eq!(BASE64.decode(&a[SECRET_PREFIX.len()..]).unwrap().len(), 32);
    }
}
