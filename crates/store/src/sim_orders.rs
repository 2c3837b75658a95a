//! Physical SIM card orders and shipping addresses, per tenant.
//!
//! An order row is written (`submitting`) before the provider is called, so
//! that an order whose answer is lost is found and settled afterwards
//! instead of being forgotten or bought twice.
//!
//! The same fenced claim as orders (see the crate docs): the creation call
//! is attempt 0; the follow-up pass leases rows (bumping the fence) before
//! it adopts a lost answer or fails the order, and both are compare-and-set
//! on the fence. A creation answer that arrives after the pass failed the
//! order still becomes its purchase; one for an order that already has a
//! purchase is kept in the ledger as an extra purchase.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use simgate_domain::entities::RepositoryError;
use simgate_domain::repository::SimOrderRepository;
use simgate_domain::{HoldState, ProviderId, ShippingAddress, SimOrder};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::accounts::{Held, capture_hold_in, insert_with_hold, release_hold_in};
use crate::purchases::{LeasedRows, PurchaseEntry, Source, claim_purchase};
use crate::{
    InsertOutcome, Lease, SimOrderAnswer, SimOrderInsert, SimOrderRecord, SimOrderState, Store,
    StoreError, from_millis, millis, new_id,
};

const COLUMNS: &str = "id, tenant_id, provider, upstream_id, address_id, quantity, status, \
     failure, snapshot, idempotency_key, request_hash, created_at, updated_at, fence";

fn record(row: &AnyRow) -> Result<SimOrderRecord, StoreError> {
    let provider: String = row.try_get("provider")?;
    let snapshot: Option<String> = row.try_get("snapshot")?;
    let status: String = row.try_get("status")?;
    Ok(SimOrderRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        provider: provider.parse().map_err(StoreError::corrupt)?,
        upstream_id: row.try_get("upstream_id")?,
        address_id: row.try_get("address_id")?,
        quantity: u32::try_from(row.try_get::<i64, _>("quantity")?).map_err(StoreError::corrupt)?,
        state: SimOrderState::parse(&status),
        failure: row.try_get("failure")?,
        snapshot: snapshot
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(StoreError::corrupt)?,
        request_hash: row.try_get("request_hash")?,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        fence: row.try_get("fence")?,
    })
}

fn state_of(order: &SimOrder) -> SimOrderState {
    order
        .status
        .map_or(SimOrderState::PlacedUnknown, SimOrderState::Placed)
}

#[async_trait]
impl SimOrderRepository for Store {
    async fn insert_address(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        address: &ShippingAddress,
    ) -> Result<String, RepositoryError> {
        let id = new_id("adr");
        let snapshot = serde_json::to_string(address).map_err(StoreError::corrupt)?;
        sqlx::query(
            "INSERT INTO shipping_addresses (id, tenant_id, provider, upstream_id, snapshot, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.clone())
        .bind(tenant_id.to_owned())
        .bind(provider.as_str())
        .bind(address.id.clone())
        .bind(snapshot)
        .bind(millis(Utc::now()))
        .execute(self.writer())
        .await.map_err(StoreError::from)?;
        Ok(id)
    }

    async fn owns_address(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        upstream_id: &str,
    ) -> Result<bool, RepositoryError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM shipping_addresses \
             WHERE tenant_id = $1 AND provider = $2 AND upstream_id = $3",
        )
        .bind(tenant_id.to_owned())
        .bind(provider.as_str())
        .bind(upstream_id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(row.is_some())
    }

    async fn insert_sim_order(
        &self,
        order: &SimOrderInsert,
    ) -> Result<InsertOutcome<SimOrderRecord>, RepositoryError> {
        if let Some(key) = &order.idempotency_key
            && let Some(existing) = self.sim_order_by_key(&order.tenant_id, key).await?
        {
            return Ok(InsertOutcome::Existing(existing));
        }
        let id = new_id("so");
        let now = millis(Utc::now());
        let hold = order.hold.as_ref();
        let insert = sqlx::query(
            "INSERT INTO sim_orders (id, tenant_id, provider, upstream_id, address_id, quantity, \
             status, failure, snapshot, idempotency_key, request_hash, created_at, updated_at, fence, \
             hold_micros, hold_currency, hold_state, hold_seq, hold_fx_rate) VALUES \
             ($1, $2, $3, NULL, $4, $5, 'submitting', NULL, NULL, $6, $7, $8, $8, 0, $9, $10, $11, $12, $13)",
        )
        .bind(id.clone())
        .bind(order.tenant_id.clone())
        .bind(order.provider.as_str())
        .bind(order.address_id.clone())
        .bind(i64::from(order.quantity))
        .bind(order.idempotency_key.clone())
        .bind(order.request_hash.clone())
        .bind(now)
        .bind(hold.map(|h| h.micros))
        .bind(hold.map(|h| h.currency.code()))
        .bind(hold.map(|_| HoldState::Open.as_str()))
        .bind(i64::from(hold.is_some()))
        .bind(hold.and_then(|h| h.fx_rate).map(|r| r.to_string()));
        let inserted = match hold {
            None => insert.execute(self.writer()).await,
            Some(hold) => {
                insert_with_hold(self.writer(), insert, &order.tenant_id, &id, hold, now).await?
            }
        };
        let key = order.idempotency_key.as_deref().unwrap_or_default();
        crate::orders::settle_insert(
            inserted,
            order.idempotency_key.is_some(),
            self.sim_order_by_key(&order.tenant_id, key),
            self.sim_order(&id),
            "SIM order",
        )
        .await
    }

    async fn sim_order_with_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<SimOrderRecord>, RepositoryError> {
        Ok(self.sim_order_by_key(tenant_id, key).await?)
    }

    async fn sim_order(&self, id: &str) -> Result<Option<SimOrderRecord>, RepositoryError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sim_orders WHERE id = $1"
        )))
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(row.as_ref().map(record).transpose()?)
    }

    async fn record_sim_order_answer(
        &self,
        id: &str,
        fence: i64,
        upstream: &SimOrder,
    ) -> Result<SimOrderAnswer, RepositoryError> {
        self.record_sim_answer(id, fence, upstream, Source::OurCall)
            .await
    }

    async fn adopt_matched_sim_order(
        &self,
        id: &str,
        fence: i64,
        upstream: &SimOrder,
    ) -> Result<SimOrderAnswer, RepositoryError> {
        self.record_sim_answer(id, fence, upstream, Source::Matched)
            .await
    }

    async fn record_sim_order(
        &self,
        id: &str,
        upstream: &SimOrder,
    ) -> Result<SimOrderState, RepositoryError> {
        let previous = self.existing_sim_order(id).await?.state;
        let snapshot = serde_json::to_string(upstream).map_err(StoreError::corrupt)?;
        sqlx::query(
            "UPDATE sim_orders SET status = $3, snapshot = $4, failure = NULL, updated_at = $5, \
             next_attempt_at = CASE WHEN status = $3 THEN next_attempt_at ELSE 0 END, \
             retry_delay_ms = CASE WHEN status = $3 THEN retry_delay_ms ELSE 0 END \
             WHERE id = $1 AND upstream_id = $2",
        )
        .bind(id.to_owned())
        .bind(upstream.id.clone())
        .bind(state_of(upstream).as_str())
        .bind(snapshot)
        .bind(millis(Utc::now()))
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(previous)
    }

    async fn fail_sim_order(
        &self,
        id: &str,
        fence: i64,
        why: &str,
    ) -> Result<bool, RepositoryError> {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let done = sqlx::query(
            "UPDATE sim_orders SET status = 'failed', failure = $2, updated_at = $3, \
             fence = fence + 1, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND status = 'submitting' AND upstream_id IS NULL AND fence = $4",
        )
        .bind(id.to_owned())
        .bind(why.to_owned())
        .bind(now)
        .bind(fence)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let failed = done.rows_affected() == 1;
        if failed {
            // Nothing was bought: what the order held is given back with it.
            release_hold_in(&mut tx, Held::SimOrder, id, now).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(failed)
    }

    async fn release_sim_order(&self, id: &str, fence: i64) -> Result<(), RepositoryError> {
        sqlx::query(
            "UPDATE sim_orders SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND fence = $2",
        )
        .bind(id.to_owned())
        .bind(fence)
        .execute(self.writer())
        .await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn touch_sim_order(&self, id: &str) -> Result<(), RepositoryError> {
        sqlx::query("UPDATE sim_orders SET updated_at = $2 WHERE id = $1")
            .bind(id.to_owned())
            .bind(millis(Utc::now()))
            .execute(self.writer())
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn sim_orders_for_tenant(
        &self,
        tenant_id: &str,
        status: Option<&str>,
        page: u32,
        size: u32,
    ) -> Result<(Vec<SimOrderRecord>, u64), RepositoryError> {
        let offset = i64::from(page.saturating_sub(1)) * i64::from(size);
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sim_orders WHERE tenant_id = $1 AND ($2 IS NULL OR status = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        )))
        .bind(tenant_id.to_owned())
        .bind(status.map(str::to_owned))
        .bind(i64::from(size))
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM sim_orders WHERE tenant_id = $1 AND ($2 IS NULL OR status = $2)",
        )
        .bind(tenant_id.to_owned())
        .bind(status.map(str::to_owned))
        .fetch_one(&self.pool)
        .await.map_err(StoreError::from)?
        .try_get("n").map_err(StoreError::from)?;
        let orders = rows.iter().map(record).collect::<Result<_, _>>()?;
        Ok((orders, u64::try_from(total).unwrap_or_default()))
    }

    async fn claim_sim_orders_to_follow(
        &self,
        lease: &Lease,
        created_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<SimOrderRecord>, RepositoryError> {
        let rows = LeasedRows {
            table: "sim_orders",
            key: "id",
            columns: COLUMNS,
            order_by: "updated_at ASC, id ASC",
        };
        let sql = self.lease_batch_sql(
            &rows,
            "(upstream_id IS NOT NULL AND status NOT IN ('failed', 'delivered', 'canceled')) \
             OR (upstream_id IS NULL AND status = 'submitting' AND created_at < $4)",
            lease,
            limit,
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(lease.owner.clone())
            .bind(millis(lease.until))
            .bind(millis(Utc::now()))
            .bind(millis(created_before))
            .fetch_all(self.writer())
            .await
            .map_err(StoreError::from)?;
        let mut orders: Vec<SimOrderRecord> = rows.iter().map(record).collect::<Result<_, _>>()?;
        orders.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        Ok(orders)
    }
}

impl Store {
    async fn sim_order_by_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<SimOrderRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sim_orders WHERE tenant_id = $1 AND idempotency_key = $2"
        )))
        .bind(tenant_id.to_owned())
        .bind(key.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    async fn record_sim_answer(
        &self,
        id: &str,
        fence: i64,
        upstream: &SimOrder,
        source: Source,
    ) -> Result<SimOrderAnswer, RepositoryError> {
        let order = self.existing_sim_order(id).await?;
        let snapshot = serde_json::to_string(upstream).map_err(StoreError::corrupt)?;
        let mut entry = PurchaseEntry {
            provider: order.provider,
            upstream_ref: &upstream.id,
            local_kind: "sim_order",
            local_id: id,
            tenant_id: &order.tenant_id,
            linked: true,
            detail: snapshot.clone(),
        };
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let set = "UPDATE sim_orders SET upstream_id = $2, status = $3, snapshot = $4, failure = NULL, \
             updated_at = $5, fence = fence + 1, lease_owner = NULL, lease_until = NULL, \
             next_attempt_at = 0, retry_delay_ms = 0 WHERE id = $1 AND";
        let mut superseded = false;
        let mut linked = claim_purchase(&mut tx, &entry, now).await?;
        if linked {
            let current = sqlx::query(AssertSqlSafe(format!(
                "{set} ((upstream_id IS NULL AND status = 'submitting' AND fence = $6) OR upstream_id = $2)"
            )))
            .bind(id.to_owned())
            .bind(upstream.id.clone())
            .bind(state_of(upstream).as_str())
            .bind(snapshot.clone())
            .bind(now)
            .bind(fence)
            .execute(&mut *tx)
            .await.map_err(StoreError::from)?;
            if current.rows_affected() != 1 && source == Source::Matched {
                tx.rollback().await.map_err(StoreError::from)?;
                return Ok(SimOrderAnswer::NotTaken);
            }
            if current.rows_affected() != 1 {
                superseded = true;
                let late = sqlx::query(AssertSqlSafe(format!(
                    "{set} upstream_id IS NULL AND status IN ('submitting', 'failed')"
                )))
                .bind(id.to_owned())
                .bind(upstream.id.clone())
                .bind(state_of(upstream).as_str())
                .bind(snapshot.clone())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
                linked = late.rows_affected() == 1;
            }
        }
        if linked {
            // The provider took the order: what it held is charged, in the
            // move that records the purchase (a failed one's late answer
            // is held and charged anew, as for eSIM orders).
            capture_hold_in(&mut tx, Held::SimOrder, id, now).await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(SimOrderAnswer::Linked {
                previous: order.state,
                superseded,
            });
        }
        tx.rollback().await.map_err(StoreError::from)?;
        let current = self.existing_sim_order(id).await?;
        if current.upstream_id.as_deref() == Some(upstream.id.as_str()) {
            return Ok(SimOrderAnswer::Unchanged);
        }
        if source == Source::Matched {
            return Ok(SimOrderAnswer::NotTaken);
        }
        entry.linked = false;
        if self.record_extra_purchase(&entry).await? {
            return Ok(SimOrderAnswer::Extra);
        }
        Ok(SimOrderAnswer::LinkedElsewhere)
    }

    async fn existing_sim_order(&self, id: &str) -> Result<SimOrderRecord, RepositoryError> {
        self.sim_order(id)
            .await?
            .ok_or_else(|| StoreError::corrupt(format!("SIM order {id} vanished")).into())
    }
}
