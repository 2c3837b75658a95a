//! Retention: the purge job's bounded deletes and redactions. Every
//! statement touches at most `batch` rows, picked oldest first through an
//! index, so that a pass never holds a long lock on either backend.

use chrono::{DateTime, Utc};
use simgate_domain::entities::RepositoryError;
use simgate_domain::repository::{RetentionRepository, UnredactedWebhook};
use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError, millis};

/// An applied inbound webhook: finished with an outcome other than
/// `unmatched` (which a later retry may still apply).
const APPLIED: &str = "outcome IS NOT NULL AND outcome <> 'unmatched' AND processed_at IS NOT NULL";

impl Store {
    /// Runs one bounded statement taking the cutoff and the batch size.
    async fn bounded(
        &self,
        sql: &'static str,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError> {
        let done = sqlx::query(sql)
            .bind(millis(before))
            .bind(i64::from(batch))
            .execute(self.writer())
            .await
            .map_err(StoreError::from)?;
        Ok(done.rows_affected())
    }
}

#[async_trait::async_trait]
impl RetentionRepository for Store {
    async fn purge_deliveries(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError> {
        self.bounded(
            "DELETE FROM event_deliveries WHERE id IN (SELECT id FROM event_deliveries \
             WHERE updated_at < $1 AND status <> 'pending' ORDER BY updated_at LIMIT $2)",
            before,
            batch,
        )
        .await
    }

    async fn purge_events(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError> {
        let result: Result<u64, StoreError> = async {
            let mut tx = self.writer().begin().await?;
            // The finished deliveries of up to `batch` old events without a
            // pending one go first, then old events left without any.
            sqlx::query(
                "DELETE FROM event_deliveries WHERE status <> 'pending' AND event_id IN \
                 (SELECT e.id FROM events e WHERE e.created_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM event_deliveries p WHERE p.event_id = e.id \
                 AND p.status = 'pending') ORDER BY e.created_at LIMIT $2)",
            )
            .bind(millis(before))
            .bind(i64::from(batch))
            .execute(&mut *tx)
            .await?;
            let deleted = sqlx::query(
                "DELETE FROM events WHERE id IN (SELECT e.id FROM events e \
                 WHERE e.created_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id) \
                 ORDER BY e.created_at LIMIT $2)",
            )
            .bind(millis(before))
            .bind(i64::from(batch))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(deleted)
        }
        .await;
        Ok(result?)
    }

    async fn purge_expired_sessions(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError> {
        self.bounded(
            "DELETE FROM console_sessions WHERE token_hash IN (SELECT token_hash \
             FROM console_sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
            before,
            batch,
        )
        .await
    }

    async fn clear_idempotency_keys(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError> {
        // Finished only: an order still moving keeps its key, so a retry
        // of its request still finds it.
        let orders = self
            .bounded(
                "UPDATE orders SET idempotency_key = NULL WHERE id IN (SELECT id FROM orders \
                 WHERE idempotency_key IS NOT NULL AND created_at < $1 \
                 AND status IN ('completed', 'failed', 'refunded') \
                 ORDER BY created_at LIMIT $2)",
                before,
                batch,
            )
            .await?;
        let sim_orders = self
            .bounded(
                "UPDATE sim_orders SET idempotency_key = NULL WHERE id IN (SELECT id \
                 FROM sim_orders WHERE idempotency_key IS NOT NULL AND created_at < $1 \
                 AND status IN ('delivered', 'canceled') ORDER BY created_at LIMIT $2)",
                before,
                batch,
            )
            .await?;
        Ok(orders.max(sim_orders))
    }

    async fn unredacted_webhooks(
        &self,
        batch: u32,
    ) -> Result<Vec<UnredactedWebhook>, RepositoryError> {
        // APPLIED is a constant of this file.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, body FROM inbound_webhooks WHERE redacted_at IS NULL AND {APPLIED} \
             ORDER BY received_at LIMIT $1"
        )))
        .bind(i64::from(batch))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        rows.iter()
            .map(|row| {
                Ok(UnredactedWebhook {
                    id: row.try_get("id").map_err(StoreError::from)?,
                    body: row.try_get("body").map_err(StoreError::from)?,
                })
            })
            .collect()
    }

    async fn redact_webhook(&self, id: &str, body: &str) -> Result<bool, RepositoryError> {
        let done = sqlx::query(AssertSqlSafe(format!(
            "UPDATE inbound_webhooks SET body = $2, redacted_at = $3 \
             WHERE id = $1 AND redacted_at IS NULL AND {APPLIED}"
        )))
        .bind(id)
        .bind(body)
        .bind(millis(Utc::now()))
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_inbound_webhooks(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, RepositoryError> {
        self.bounded(
            "DELETE FROM inbound_webhooks WHERE id IN (SELECT id FROM inbound_webhooks \
             WHERE received_at < $1 AND outcome IS NOT NULL AND processed_at IS NOT NULL \
             ORDER BY received_at LIMIT $2)",
            before,
            batch,
        )
        .await
    }
}
