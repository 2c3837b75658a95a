//! Events for resellers and their deliveries to each tenant's endpoints.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use simgate_domain::entities::RepositoryError;
use simgate_domain::entities::{OrderRecord, RecordedEvent};
use simgate_domain::repository::EventRepository;
use simgate_domain::{EventBody, OrderId, OutboundEvent};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use simgate_domain::entities::{PreviousSecret, SealedSecret, StoredSecret};

use crate::{
    Delivery, DeliveryStatus, Endpoint, Store, StoreError, StoredEvent, from_millis, millis, new_id,
};

const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, secret, secret_key_id, secret_nonce, \
     previous_secret, previous_secret_key_id, previous_secret_nonce, previous_secret_expires_at, \
     enabled, disabled_reason, created_at";
const EVENT_COLUMNS: &str = "id, tenant_id, event_type, payload, created_at";
const DELIVERY_COLUMNS: &str =
    "id, event_id, endpoint_id, status, attempts, last_response, last_error, updated_at";

#[async_trait]
impl EventRepository for Store {
    async fn create_endpoint(
        &self,
        tenant_id: &str,
        url: &str,
        secret: &SealedSecret,
        max_enabled: u32,
    ) -> Result<Option<Endpoint>, RepositoryError> {
        let id = new_id("whe");
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        // Registrations of one tenant queue on its row (a no-op update), so
        // the count below is not stale when the insert commits.
        sqlx::query("UPDATE tenants SET name = name WHERE id = $1")
            .bind(tenant_id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let inserted = sqlx::query(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, secret_key_id, secret_nonce, enabled, disabled_reason, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, 1, NULL, $7 \
             WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $2 AND enabled = 1) < $8",
        )
        .bind(id.clone())
        .bind(tenant_id.to_owned())
        .bind(url.to_owned())
        .bind(secret.ciphertext.clone())
        .bind(secret.key_id.clone())
        .bind(secret.nonce.clone())
        .bind(millis(Utc::now()))
        .bind(i64::from(max_enabled))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(
            self.endpoint(&id)
                .await?
                .ok_or_else(|| StoreError::corrupt("endpoint vanished"))?,
        ))
    }

    async fn replace_endpoint_secrets(
        &self,
        id: &str,
        expected: &StoredSecret,
        secret: &SealedSecret,
        previous: Option<&PreviousSecret>,
    ) -> Result<bool, RepositoryError> {
        // Every sealing has a fresh nonce, so the stored text (ciphertext,
        // or a legacy row's plain text) names the version that was read.
        let (expected_text, expected_key) = match expected {
            StoredSecret::Sealed(sealed) => (sealed.ciphertext.clone(), sealed.key_id.clone()),
            StoredSecret::Legacy(plain) => (plain.clone(), String::new()),
        };
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET secret = $2, secret_key_id = $3, secret_nonce = $4, \
             previous_secret = $5, previous_secret_key_id = $6, previous_secret_nonce = $7, \
             previous_secret_expires_at = $8 \
             WHERE id = $1 AND secret = $9 AND COALESCE(secret_key_id, '') = $10",
        )
        .bind(id.to_owned())
        .bind(secret.ciphertext.clone())
        .bind(secret.key_id.clone())
        .bind(secret.nonce.clone())
        .bind(previous.map(|p| p.secret.ciphertext.clone()))
        .bind(previous.map(|p| p.secret.key_id.clone()))
        .bind(previous.map(|p| p.secret.nonce.clone()))
        .bind(previous.map(|p| millis(p.expires_at)))
        .bind(expected_text)
        .bind(expected_key)
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(done.rows_affected() == 1)
    }

    async fn endpoints_not_sealed_under(
        &self,
        key_id: Option<&str>,
    ) -> Result<Vec<Endpoint>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
             WHERE $1 = '' OR secret_key_id IS NULL OR secret_key_id <> $1 \
             OR (previous_secret_key_id IS NOT NULL AND previous_secret_key_id <> $1) ORDER BY id"
        )))
        .bind(key_id.unwrap_or_default().to_owned())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(endpoint_from_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn endpoint(&self, id: &str) -> Result<Option<Endpoint>, RepositoryError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
        )))
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(row.as_ref().map(endpoint_from_row).transpose()?)
    }

    async fn endpoints_for_tenant(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<Endpoint>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id"
        )))
        .bind(tenant_id.to_owned())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(endpoint_from_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn disable_endpoint(&self, id: &str, reason: &str) -> Result<bool, RepositoryError> {
        let done = sqlx::query("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = $2 WHERE id = $1 AND enabled = 1")
            .bind(id.to_owned())
            .bind(reason.to_owned())
            .execute(self.writer())
            .await.map_err(StoreError::from)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_event(
        &self,
        tenant_id: &str,
        event_type: &str,
        dedupe_key: &str,
        order_id: Option<&OrderId>,
        payload: &str,
    ) -> Result<Option<(String, Vec<String>)>, RepositoryError> {
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let recorded = record_event_in(
            &mut tx,
            tenant_id,
            event_type,
            dedupe_key,
            order_id,
            payload,
            millis(Utc::now()),
        )
        .await?;
        if recorded.is_some() {
            tx.commit().await.map_err(StoreError::from)?;
        }
        Ok(recorded)
    }

    async fn redeliver_event(
        &self,
        event: &StoredEvent,
        max_replays: u32,
    ) -> Result<Option<Vec<String>>, RepositoryError> {
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let counted =
            sqlx::query("UPDATE events SET replays = replays + 1 WHERE id = $1 AND replays < $2")
                .bind(event.id.clone())
                .bind(i64::from(max_replays))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        if counted.rows_affected() == 0 {
            return Ok(None);
        }
        let deliveries =
            insert_deliveries(&mut tx, &event.id, &event.tenant_id, millis(Utc::now())).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(deliveries))
    }

    async fn event_for_tenant(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<StoredEvent>, RepositoryError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id = $1 AND tenant_id = $2"
        )))
        .bind(id.to_owned())
        .bind(tenant_id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(row.as_ref().map(event_from_row).transpose()?)
    }

    async fn events_for_tenant(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT {limit}"
        )))
        .bind(tenant_id.to_owned())
        .bind(before.unwrap_or_default().to_owned())
        .fetch_all(&self.pool)
        .await.map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(event_from_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn events_for_order(
        &self,
        tenant_id: &str,
        order_id: &OrderId,
    ) -> Result<Vec<StoredEvent>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND order_id = $2 ORDER BY id"
        )))
        .bind(tenant_id.to_owned())
        .bind(order_id.0.clone())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(event_from_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn deliveries_of(&self, event_id: &str) -> Result<Vec<Delivery>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM event_deliveries WHERE event_id = $1 ORDER BY id"
        )))
        .bind(event_id.to_owned())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn delivery(
        &self,
        id: &str,
    ) -> Result<Option<(Delivery, StoredEvent, Endpoint)>, RepositoryError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM event_deliveries WHERE id = $1"
        )))
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let Some(delivery) = row.as_ref().map(delivery_from_row).transpose()? else {
            return Ok(None);
        };
        let event = sqlx::query(AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id = $1"
        )))
        .bind(delivery.event_id.clone())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let Some(endpoint) = self.endpoint(&delivery.endpoint_id).await? else {
            return Ok(None);
        };
        Ok(Some((delivery, event_from_row(&event)?, endpoint)))
    }

    async fn record_attempt(
        &self,
        id: &str,
        status: DeliveryStatus,
        response: Option<u16>,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), RepositoryError> {
        let now = Utc::now();
        sqlx::query(
            "UPDATE event_deliveries SET status = $2, attempts = attempts + 1, last_response = $3, \
             last_error = $4, updated_at = $5, due_at = $6 WHERE id = $1",
        )
        .bind(id.to_owned())
        .bind(status.as_str())
        .bind(response.map(i64::from))
        .bind(error.map(str::to_owned))
        .bind(millis(now))
        .bind(millis(retry_at.unwrap_or(now)))
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    async fn take_overdue_deliveries(
        &self,
        overdue_before: DateTime<Utc>,
        due_again: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, RepositoryError> {
        let sql = self.take_batch_sql(
            "event_deliveries",
            "due_at = $2",
            "status = 'pending' AND due_at < $1",
            "due_at ASC",
            limit,
            "id",
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(millis(overdue_before))
            .bind(millis(due_again))
            .fetch_all(self.writer())
            .await
            .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)?)
    }

    async fn pending_deliveries(&self) -> Result<u64, RepositoryError> {
        let row = sqlx::query("SELECT COUNT(*) AS pending FROM event_deliveries WHERE status = $1")
            .bind(DeliveryStatus::Pending.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(row
            .try_get::<i64, _>("pending")
            .map_err(StoreError::from)?
            .max(0) as u64)
    }
}

/// Records an event once per `dedupe_key` inside `tx`, with a pending
/// delivery to each of the tenant's enabled endpoints, so that the event
/// commits with the write that caused it (the outbox) or not at all.
/// Returns the event's id and deliveries, or `None` when it was recorded
/// before.
pub(crate) async fn record_event_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    event_type: &str,
    dedupe_key: &str,
    order_id: Option<&OrderId>,
    payload: &str,
    now: i64,
) -> Result<Option<(String, Vec<String>)>, StoreError> {
    let id = new_id("evt");
    let inserted = sqlx::query(
        "INSERT INTO events (id, tenant_id, event_type, dedupe_key, payload, created_at, order_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(id.clone())
    .bind(tenant_id.to_owned())
    .bind(event_type.to_owned())
    .bind(dedupe_key.to_owned())
    .bind(payload.to_owned())
    .bind(now)
    .bind(order_id.map(|o| o.0.clone()))
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    let deliveries = insert_deliveries(tx, &id, tenant_id, now).await?;
    Ok(Some((id, deliveries)))
}

/// Records `event` (its type, dedupe key, order and body, all from the
/// one [`OutboundEvent`]) with its deliveries inside `tx`, as
/// [`record_event_in`] does: for the events the store tells itself, in the
/// transaction of the change they report.
pub(crate) async fn record_outbound_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    event: &OutboundEvent,
    now: i64,
) -> Result<Option<RecordedEvent>, StoreError> {
    let payload = serde_json::to_string(&EventBody::new(event.clone(), from_millis(now)))
        .map_err(StoreError::corrupt)?;
    Ok(record_event_in(
        tx,
        tenant_id,
        event.event_type(),
        &event.dedupe_key(),
        event.order_id(),
        &payload,
        now,
    )
    .await?
    .map(|(id, deliveries)| RecordedEvent { id, deliveries }))
}

/// Records the `order.*` event of an order that just became final, in the
/// transaction that made it so (the outbox); nothing for an order that is
/// not final.
pub(crate) async fn record_order_event_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    order: &OrderRecord,
    now: i64,
) -> Result<Option<RecordedEvent>, StoreError> {
    match OutboundEvent::of_order(order) {
        Some(event) => record_outbound_in(tx, &order.tenant_id, &event, now).await,
        None => Ok(None),
    }
}

async fn insert_deliveries(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    event_id: &str,
    tenant_id: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let endpoints = sqlx::query(
        "SELECT id FROM webhook_endpoints WHERE tenant_id = $1 AND enabled = 1 ORDER BY id",
    )
    .bind(tenant_id.to_owned())
    .fetch_all(&mut **tx)
    .await?;
    let mut ids = Vec::new();
    for endpoint in endpoints {
        let endpoint_id: String = endpoint.try_get("id")?;
        let id = new_id("dlv");
        sqlx::query(
            "INSERT INTO event_deliveries (id, event_id, endpoint_id, status, attempts, last_response, last_error, updated_at, due_at) \
             VALUES ($1, $2, $3, 'pending', 0, NULL, NULL, $4, $4)",
        )
        .bind(id.clone())
        .bind(event_id.to_owned())
        .bind(endpoint_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

fn endpoint_from_row(row: &AnyRow) -> Result<Endpoint, StoreError> {
    let secret: String = row.try_get("secret")?;
    let secret = match row.try_get::<Option<String>, _>("secret_key_id")? {
        Some(key_id) => StoredSecret::Sealed(SealedSecret {
            key_id,
            nonce: row
                .try_get::<Option<String>, _>("secret_nonce")?
                .ok_or_else(|| StoreError::corrupt("sealed endpoint secret without a nonce"))?,
            ciphertext: secret,
        }),
        None => StoredSecret::Legacy(secret),
    };
    let previous_secret = match (
        row.try_get::<Option<String>, _>("previous_secret")?,
        row.try_get::<Option<String>, _>("previous_secret_key_id")?,
        row.try_get::<Option<String>, _>("previous_secret_nonce")?,
        row.try_get::<Option<i64>, _>("previous_secret_expires_at")?,
    ) {
        (Some(ciphertext), Some(key_id), Some(nonce), Some(expires_at)) => Some(PreviousSecret {
            secret: SealedSecret {
                key_id,
                nonce,
                ciphertext,
            },
            expires_at: from_millis(expires_at),
        }),
        (None, None, None, None) => None,
        _ => {
            return Err(StoreError::corrupt(
                "endpoint's previous secret is incomplete",
            ));
        }
    };
    Ok(Endpoint {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        url: row.try_get("url")?,
        secret,
        previous_secret,
        enabled: row.try_get::<i64, _>("enabled")? == 1,
        disabled_reason: row.try_get("disabled_reason")?,
        created_at: from_millis(row.try_get("created_at")?),
    })
}

fn event_from_row(row: &AnyRow) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        created_at: from_millis(row.try_get("created_at")?),
    })
}

fn delivery_from_row(row: &AnyRow) -> Result<Delivery, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt(format!("delivery status {status}")))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        last_response: row
            .try_get::<Option<i64>, _>("last_response")?
            .map(|r| r as u16),
        last_error: row.try_get("last_error")?,
        updated_at: from_millis(row.try_get("updated_at")?),
    })
}
