//! Inbound provider webhooks: stored raw once verified, deduplicated by the
//! provider's own delivery key, then applied to the order they concern.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use simgate_domain::entities::{DueWebhook, Moved, RepositoryError};
use simgate_domain::repository::{OrderRepository, WebhookRepository};
use simgate_domain::{Iccid, InstallDetails, OrderId, OrderStatus, ProviderId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::accounts::{Held, capture_hold_in};
use crate::events::record_order_event_in;
use crate::orders::{link_esim, order_row};
use crate::purchases::{PurchaseEntry, claim_purchase};
use crate::{OrderRecord, Store, StoreError, StoredWebhook, millis, new_id};

#[async_trait]
impl WebhookRepository for Store {
    async fn store_webhook(
        &self,
        provider: ProviderId,
        dedupe_key: &str,
        body: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<StoredWebhook, RepositoryError> {
        let id = new_id("whk");
        let inserted = sqlx::query(
            "INSERT INTO inbound_webhooks (id, provider, dedupe_key, body, received_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, dedupe_key) DO NOTHING",
        )
        .bind(id.clone())
        .bind(provider.as_str())
        .bind(dedupe_key.to_owned())
        .bind(body.to_owned())
        .bind(millis(Utc::now()))
        .bind(millis(retry_at))
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        if inserted.rows_affected() == 1 {
            return Ok(StoredWebhook {
                id,
                duplicate: false,
                pending: true,
                attempts: 0,
            });
        }
        let row = sqlx::query(
            "SELECT id, outcome, attempts FROM inbound_webhooks WHERE provider = $1 AND dedupe_key = $2",
        )
        .bind(provider.as_str())
        .bind(dedupe_key.to_owned())
        .fetch_one(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(StoredWebhook {
            id: row.try_get("id").map_err(StoreError::from)?,
            duplicate: true,
            pending: row
                .try_get::<Option<String>, _>("outcome")
                .map_err(StoreError::from)?
                .is_none(),
            attempts: attempts(&row)?,
        })
    }

    async fn finish_webhook(&self, id: &str, outcome: &str) -> Result<(), RepositoryError> {
        sqlx::query("UPDATE inbound_webhooks SET outcome = $2, processed_at = $3 WHERE id = $1")
            .bind(id.to_owned())
            .bind(outcome.to_owned())
            .bind(millis(Utc::now()))
            .execute(self.writer())
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn postpone_webhook(
        &self,
        id: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        sqlx::query(
            "UPDATE inbound_webhooks SET attempts = attempts + 1, next_attempt_at = $2 \
             WHERE id = $1 AND outcome IS NULL",
        )
        .bind(id.to_owned())
        .bind(millis(retry_at))
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    async fn take_due_webhooks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueWebhook>, RepositoryError> {
        let sql = self.take_batch_sql(
            "inbound_webhooks",
            "next_attempt_at = $2",
            "outcome IS NULL AND next_attempt_at <= $1",
            "next_attempt_at ASC",
            limit,
            "id, provider, body, attempts",
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(millis(now))
            .bind(millis(lease_until))
            .fetch_all(self.writer())
            .await
            .map_err(StoreError::from)?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let provider: String = row.try_get("provider").map_err(StoreError::from)?;
            due.push(DueWebhook {
                id: row.try_get("id").map_err(StoreError::from)?,
                provider: provider.parse().map_err(StoreError::corrupt)?,
                body: row.try_get("body").map_err(StoreError::from)?,
                attempts: attempts(&row)?,
            });
        }
        Ok(due)
    }

    async fn order_for_provider_reference(
        &self,
        provider: ProviderId,
        reference: &str,
    ) -> Result<Option<OrderRecord>, RepositoryError> {
        let row = sqlx::query(
            "SELECT id FROM orders WHERE provider = $1 AND (upstream_ref = $2 OR id = $2) LIMIT 1",
        )
        .bind(provider.as_str())
        .bind(reference.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        match row {
            Some(row) => {
                self.order_by_id(&OrderId(row.try_get("id").map_err(StoreError::from)?))
                    .await
            }
            None => Ok(None),
        }
    }

    async fn esim_tenant(
        &self,
        provider: ProviderId,
        iccid: &Iccid,
    ) -> Result<Option<String>, RepositoryError> {
        let row = sqlx::query("SELECT tenant_id FROM esims WHERE provider = $1 AND iccid = $2")
            .bind(provider.as_str())
            .bind(iccid.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(row
            .map(|r| r.try_get("tenant_id").map_err(StoreError::from))
            .transpose()?)
    }

    async fn deliver_esim(
        &self,
        order: &OrderRecord,
        reference: &str,
        esim: &InstallDetails,
    ) -> Result<Moved, RepositoryError> {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let purchase = order.upstream_ref.as_deref().unwrap_or(reference);
        let entry = PurchaseEntry {
            provider: order.provider(),
            upstream_ref: purchase,
            local_kind: "order",
            local_id: &order.id.0,
            tenant_id: &order.tenant_id,
            linked: true,
            detail: String::new(),
        };
        if !claim_purchase(&mut tx, &entry, now).await? {
            tx.rollback().await.map_err(StoreError::from)?;
            return Err(StoreError::Conflict(format!(
                "{}: purchase {purchase} belongs to another order",
                order.id
            ))
            .into());
        }
        link_esim(&mut tx, order, esim, now).await?;
        let delivered: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM order_esims WHERE order_id = $1")
                .bind(order.id.0.clone())
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)?
                .try_get("n")
                .map_err(StoreError::from)?;
        let status = if delivered >= i64::from(order.quantity) {
            OrderStatus::Completed
        } else {
            OrderStatus::Fulfilling
        };
        let moved = sqlx::query(
            "UPDATE orders SET status = $2, upstream_ref = COALESCE(upstream_ref, $3), updated_at = $4, \
             fence = fence + 1, lease_owner = NULL, lease_until = NULL, \
             next_attempt_at = 0, retry_delay_ms = 0 WHERE id = $1 AND (status IN ('submitted', 'fulfilling') \
             OR (upstream_ref IS NULL AND status IN ('pending', 'failed')))",
        )
        .bind(order.id.0.clone())
        .bind(status.as_str())
        .bind(reference.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await.map_err(StoreError::from)?;
        let completed_now = moved.rows_affected() == 1 && status == OrderStatus::Completed;
        if completed_now {
            capture_hold_in(&mut tx, Held::Order, &order.id.0, now).await?;
        }
        let delivered = order_row(&mut tx, &order.id)
            .await?
            .ok_or_else(|| StoreError::Conflict(order.id.0.clone()))?;
        // The outbox: the `order.completed` event commits with the move.
        let event = if completed_now {
            record_order_event_in(&mut tx, &delivered, now).await?
        } else {
            None
        };
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Moved {
            order: delivered,
            event,
        })
    }
}

/// A stored webhook's failed attempts.
fn attempts(row: &AnyRow) -> Result<u32, StoreError> {
    let attempts: i64 = row.try_get("attempts")?;
    Ok(u32::try_from(attempts).unwrap_or(u32::MAX))
}
