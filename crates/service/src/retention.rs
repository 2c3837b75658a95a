//! Retention: what the hourly purge job deletes or redacts, so that
//! events, deliveries, inbound provider webhooks, expired console sessions
//! and idempotency keys do not grow for ever.
//!
//! Each table is purged in bounded batches (one short statement each),
//! repeated until a batch comes back short or the pass's cap is reached:
//! what is left waits for the next pass, and no pass holds a long lock.
//! Only what is safe goes: a pending delivery never, an event only with its
//! finished deliveries, an order never (only its idempotency key, once the
//! order is finished), an inbound webhook only once processed. An applied
//! webhook's body is redacted at the first pass after it was applied: what
//! an audit needs stays, activation codes, matching ids and LPA strings go.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use simgate_domain::entities::RepositoryError;

use crate::{ServiceError, Services};

/// How long each kind of row is kept; `None` keeps it for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Events (with their finished deliveries), by creation time.
    pub events: Option<Duration>,
    /// Finished deliveries, by their last attempt.
    pub deliveries: Option<Duration>,
    /// Processed inbound provider webhooks, by reception time.
    pub inbound_webhooks: Option<Duration>,
    /// Console sessions, counted from their expiry.
    pub expired_sessions: Option<Duration>,
    /// Idempotency keys of finished orders, by the order's creation time.
    pub idempotency: Option<Duration>,
    /// Most rows one statement touches.
    pub batch: u32,
    /// Most batches per table in one pass.
    pub max_batches: u32,
}

impl Default for Retention {
    /// The documented defaults of `[retention]`.
    fn default() -> Self {
        let days = |n: u64| Some(Duration::from_secs(n * 86_400));
        Self {
            events: days(90),
            deliveries: days(90),
            inbound_webhooks: days(30),
            expired_sessions: days(1),
            idempotency: days(30),
            batch: 1000,
            max_batches: 100,
        }
    }
}

/// What one purge pass did, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub events: u64,
    pub deliveries: u64,
    pub inbound_webhooks: u64,
    pub redacted_webhooks: u64,
    pub sessions: u64,
    pub idempotency_keys: u64,
}

impl PurgeReport {
    /// Whether the pass changed nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Keys of a webhook body whose values are secrets of the eSIM holder:
/// compared lower-case without `_` and `-`, as substrings.
const SECRET_KEYS: [&str; 8] = [
    "activation",
    "matching",
    "lpa",
    "qr",
    "smdp",
    "confirmationcode",
    "puk",
    "pin",
];

/// Whether a body's key names a secret (see [`SECRET_KEYS`]); `pin` only
/// as the whole key, so that `shipping` stays.
fn secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_KEYS.iter().any(|secret| {
        if *secret == "pin" {
            key == "pin"
        } else {
            key.contains(secret)
        }
    })
}

/// `value` without its secrets: secret keys' values and any string that
/// is an LPA activation string become `"[redacted]"`.
fn without_secrets(value: Value) -> Value {
    const REDACTED: &str = "[redacted]";
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = if secret_key(&key) {
                        Value::from(REDACTED)
                    } else {
                        without_secrets(value)
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_secrets).collect()),
        Value::String(text) if text.trim_start().to_ascii_uppercase().starts_with("LPA:") => {
            Value::from(REDACTED)
        }
        other => other,
    }
}

/// What an applied inbound webhook keeps of its body: the SHA-256 and size
/// of the original (to match it against the provider's records), and the
/// body without its secrets (event type, references, statuses, times). A
/// body that is not JSON keeps only its digest and size.
pub fn redacted_webhook_body(body: &str) -> String {
    let kept = serde_json::from_str::<Value>(body).map_or(Value::Null, without_secrets);
    json!({
        "redacted": true,
        "sha256": hex::encode(Sha256::digest(body.as_bytes())),
        "bytes": body.len(),
        "body": kept,
    })
    .to_string()
}

impl Services {
    /// One purge pass under `retention`: see the module's documentation.
    pub async fn purge(&self, retention: &Retention) -> Result<PurgeReport, ServiceError> {
        let now = Utc::now();
        let cutoff = |keep: Option<Duration>| {
            keep.and_then(|keep| chrono::Duration::from_std(keep).ok())
                .and_then(|keep| now.checked_sub_signed(keep))
        };
        let batch = retention.batch.max(1);
        let max = retention.max_batches.max(1);
        let mut report = PurgeReport {
            redacted_webhooks: self.redact_applied_webhooks(batch, max).await?,
            ..PurgeReport::default()
        };
        if let Some(before) = cutoff(retention.deliveries) {
            report.deliveries =
                batches(batch, max, || self.store.purge_deliveries(before, batch)).await?;
        }
        if let Some(before) = cutoff(retention.events) {
            report.events = batches(batch, max, || self.store.purge_events(before, batch)).await?;
        }
        if let Some(before) = cutoff(retention.inbound_webhooks) {
            report.inbound_webhooks = batches(batch, max, || {
                self.store.purge_inbound_webhooks(before, batch)
            })
            .await?;
        }
        if let Some(before) = cutoff(retention.expired_sessions) {
            report.sessions = batches(batch, max, || {
                self.store.purge_expired_sessions(before, batch)
            })
            .await?;
        }
        if let Some(before) = cutoff(retention.idempotency) {
            report.idempotency_keys = batches(batch, max, || {
                self.store.clear_idempotency_keys(before, batch)
            })
            .await?;
        }
        Ok(report)
    }

    /// Redacts the bodies of applied inbound webhooks, `batch` at a time.
    async fn redact_applied_webhooks(&self, batch: u32, max: u32) -> Result<u64, ServiceError> {
        let mut redacted = 0;
        for _ in 0..max {
            let rows = self.store.unredacted_webhooks(batch).await?;
            for row in &rows {
                let body = redacted_webhook_body(&row.body);
                if self.store.redact_webhook(&row.id, &body).await? {
                    redacted += 1;
                }
            }
            if rows.len() < batch as usize {
                break;
            }
        }
        Ok(redacted)
    }
}

/// Runs `step` (one bounded statement) until it changes fewer than `batch`
/// rows or `max` times; returns the rows changed in all.
async fn batches<F, Fut>(batch: u32, max: u32, mut step: F) -> Result<u64, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, RepositoryError>>,
{
    let mut total = 0;
    for _ in 0..max {
        let changed = step().await?;
        total += changed;
        if changed < u64::from(batch) {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_body_keeps_references_and_drops_activation_secrets() {
        let body = r#"{"event":"esim.ready","order_ref":"ord-7","iccid":"8944000000000000001",
            "activation_code":"LPA:1$smdp.example$SECRET","matchingId":"SECRET",
            "esims":[{"qr_code":"data:image/png;base64,SECRET","note":"LPA:1$x$SECRET"}],
            "shipping":{"city":"London"},"pin":"1234"}"#;
        let redacted: Value = serde_json::from_str(&redacted_webhook_body(body)).unwrap();
        let text = redacted.to_string();
        assert!(!text.contains("SECRET") && !text.contains("1234"), "{text}");
        assert_eq!(redacted["body"]["event"], "esim.ready");
        assert_eq!(redacted["body"]["order_ref"], "ord-7");
        assert_eq!(redacted["body"]["iccid"], "8944000000000000001");
        assert_eq!(redacted["body"]["shipping"]["city"], "London");
        assert_eq!(
            redacted["sha256"],
            hex::encode(Sha256::digest(body.as_bytes()))
        );
        let opaque: Value = serde_json::from_str(&redacted_webhook_body("a=b")).unwrap();
        assert_eq!(opaque["body"], Value::Null);
    }
}
