//! Recording a provider's answer to an order: the purchase ledger, the
//! order's compare-and-set on its fence, its eSIMs and its event, in one
//! transaction, and the answers that cannot be the order's purchase.

use chrono::Utc;
use simgate_domain::entities::RepositoryError;
use simgate_domain::repository::OrderRepository;
use simgate_domain::{Iccid, OrderId, OrderStatus};
use sqlx::{AssertSqlSafe, Row};

use super::{ORDER_COLUMNS, esim_links, link_esim, order_from_row, predecessors};
use crate::accounts::{Held, capture_hold_in, release_hold_in};
use crate::events::record_order_event_in;
use crate::purchases::{PurchaseEntry, Source, claim_purchase};
use crate::{OrderRecord, Recorded, Store, StoreError, UpstreamAnswer, millis};

impl Store {
    /// Records an answer in one transaction: the purchase ledger, the
    /// order's compare-and-set (returning the row, so nothing is read
    /// back), its eSIMs, and its event when it became final.
    pub(super) async fn record_answer(
        &self,
        order: &OrderRecord,
        fence: i64,
        answer: &UpstreamAnswer<'_>,
        source: Source,
    ) -> Result<Recorded, RepositoryError> {
        let UpstreamAnswer {
            upstream_ref,
            provider_status,
            status,
            esims,
        } = *answer;
        let id = &order.id;
        let detail = serde_json::json!({
            "provider_status": provider_status,
            "status": status.as_str(),
            "iccids": esims.iter().map(|e| e.iccid.as_str()).collect::<Vec<_>>(),
        })
        .to_string();
        let entry = PurchaseEntry {
            provider: order.provider(),
            upstream_ref,
            local_kind: "order",
            local_id: &id.0,
            tenant_id: &order.tenant_id,
            linked: true,
            detail,
        };
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        if !claim_purchase(&mut tx, &entry, now).await? {
            tx.rollback().await.map_err(StoreError::from)?;
            if source == Source::Matched {
                return Ok(Recorded::NotTaken(self.existing_order(id).await?));
            }
            return self.settle_unlinked_answer(id, entry).await;
        }
        let set = "UPDATE orders SET status = $2, upstream_ref = $3, provider_status = $4, \
             updated_at = $5, fence = fence + 1, lease_owner = NULL, lease_until = NULL, \
             next_attempt_at = 0, retry_delay_ms = 0, error_code = NULL, error_message = NULL, retryable = 0 WHERE id = $1 AND";
        let update = |condition: String| {
            sqlx::query(AssertSqlSafe(format!(
                "{set} {condition} RETURNING {ORDER_COLUMNS}"
            )))
            .bind(id.0.clone())
            .bind(status.as_str())
            .bind(upstream_ref.to_owned())
            .bind(provider_status.to_owned())
            .bind(now)
        };
        let allowed = predecessors(status);
        // The three cases are exclusive (no purchase at the fence, this
        // purchase, no purchase at another fence), so trying them in turn
        // is the compare-and-set it was as one statement; the first, an
        // answer to the current attempt, is nearly always the one.
        // The current attempt's answer.
        let mut row = update(format!(
            "status IN ({allowed}) AND upstream_ref IS NULL AND fence = $6"
        ))
        .bind(fence)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        // News of the purchase the order has (it may have eSIMs already).
        let mut news = false;
        if row.is_none() {
            row = update(format!("status IN ({allowed}) AND upstream_ref = $3"))
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            news = row.is_some();
        }
        let superseded = row.is_none();
        if superseded && source == Source::Matched {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(Recorded::NotTaken(self.existing_order(id).await?));
        }
        if superseded {
            // A superseded attempt's answer: still the purchase of an order
            // that has none yet. Bumping the fence fences off the attempt
            // that superseded it, whose own answer becomes an extra one.
            row = update(
                "upstream_ref IS NULL AND status IN ('pending', 'submitted', 'failed')".to_owned(),
            )
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        let Some(row) = row else {
            tx.rollback().await.map_err(StoreError::from)?;
            return self.settle_unlinked_answer(id, entry).await;
        };
        let mut recorded = order_from_row(&row)?;
        match recorded.status {
            OrderStatus::Completed => capture_hold_in(&mut tx, Held::Order, &id.0, now).await?,
            OrderStatus::Failed => release_hold_in(&mut tx, Held::Order, &id.0, now).await?,
            _ => {}
        }
        for esim in esims {
            link_esim(&mut tx, &recorded, esim, now).await?;
        }
        recorded.iccids = if news {
            esim_links(&mut tx, id).await?
        } else {
            // Every link is written with the purchase, so an order that had
            // none had no eSIMs: these are all of them.
            let mut iccids: Vec<Iccid> = esims.iter().map(|e| e.iccid.clone()).collect();
            iccids.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
            iccids.dedup();
            iccids
        };
        let event = record_order_event_in(&mut tx, &recorded, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Recorded::Linked {
            order: recorded,
            superseded,
            event,
        })
    }

    /// An answer that cannot be the order's purchase: news of a purchase
    /// already recorded, or an extra purchase to keep.
    async fn settle_unlinked_answer(
        &self,
        id: &OrderId,
        mut entry: PurchaseEntry<'_>,
    ) -> Result<Recorded, RepositoryError> {
        let current = self.existing_order(id).await?;
        if current.upstream_ref.as_deref() == Some(entry.upstream_ref) {
            return Ok(Recorded::Unchanged(current));
        }
        entry.linked = false;
        if self.record_extra_purchase(&entry).await? {
            return Ok(Recorded::Extra(current));
        }
        let owner = sqlx::query(
            "SELECT local_id FROM upstream_purchases WHERE provider = $1 AND upstream_ref = $2",
        )
        .bind(entry.provider.as_str())
        .bind(entry.upstream_ref.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let ours = match owner {
            Some(row) => {
                row.try_get::<String, _>("local_id")
                    .map_err(StoreError::from)?
                    == id.0
            }
            None => false,
        };
        Ok(if ours {
            Recorded::Unchanged(current)
        } else {
            Recorded::LinkedElsewhere(current)
        })
    }

    pub(super) async fn existing_order(
        &self,
        id: &OrderId,
    ) -> Result<OrderRecord, RepositoryError> {
        self.order_by_id(id)
            .await?
            .ok_or_else(|| StoreError::Conflict(id.0.clone()).into())
    }
}
