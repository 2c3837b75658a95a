//! Orders: written down before any upstream call, then moved through the
//! state machine with compare-and-set updates on the order's `fence` (its
//! attempt number) so that two workers, two instances, or a worker holding
//! a stale read can never both submit the same order.
//!
//! ```text
//!            claim(f) -> f+1                 answer(f+1)
//!  pending ------------------> submitted --------------------> fulfilling | completed
//!     ^                          |    |                             (purchase linked)
//!     |  reopen(f) -> f+1        |    | fail(f) -> f+1  (nothing was processed)
//!     +--------------------------+    v
//!     +------------------------------ failed (retryable: reopen by the same key)
//! ```
//!
//! - Every move names the fence it read and bumps it; a stale fence moves
//!   nothing. Reconcilers lease their rows in one statement, which bumps the
//!   fence too ([`OrderRepository::claim_orders_to_reconcile`]).
//! - An answer for a superseded attempt still becomes the order's purchase
//!   when the order has none (even a failed order: the provider did sell
//!   it); otherwise it is kept in the purchase ledger as an extra purchase
//!   of that order ([`Recorded::Extra`]). Each purchase belongs to one row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use simgate_domain::entities::{
    EsimFilter, HourlyOrders, ListedEsim, Moved, OrderQuery, RepositoryError, SalePrice,
};
use simgate_domain::repository::OrderRepository;
use simgate_domain::{
    Hold, HoldState, Iccid, InstallDetails, OrderHold, OrderId, OrderKind, OrderStatus, Product,
    ProviderId,
};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

mod answer;
mod rows;

use rows::{esim_from_row, hourly_from_row, order_from_row};

pub(crate) use rows::order_from_row as order_from_stored_row;

use crate::accounts::{Held, insert_with_hold, rehold_in, release_hold_in};
use crate::events::record_order_event_in;
use crate::purchases::{LeasedRows, Source};
use crate::{
    EsimRecord, InsertOutcome, Lease, NewOrder, OrderAttempt, OrderFailure, OrderRecord, Recorded,
    Store, StoreError, UpstreamAnswer, from_millis, millis, new_id,
};

/// The statuses an order may be in to move to `next`, as an SQL list.
fn predecessors(next: OrderStatus) -> String {
    use OrderStatus::{Completed, Failed, Fulfilling, Pending, Refunded, Submitted};
    let from: Vec<String> = [Pending, Submitted, Fulfilling, Completed, Failed, Refunded]
        .into_iter()
        .filter(|s| s.can_become(next))
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    if from.is_empty() {
        "''".to_owned()
    } else {
        from.join(", ")
    }
}

/// Settles an insert keyed by a tenant's idempotency key. A unique
/// violation on a keyed insert means a concurrent request with the same
/// key won the race: its record is the answer. `existing` and `created`
/// are lazy lookups (by key, by the new id); only the one needed runs.
pub(crate) async fn settle_insert<T>(
    inserted: Result<sqlx::any::AnyQueryResult, sqlx::Error>,
    keyed: bool,
    existing: impl Future<Output = Result<Option<T>, StoreError>>,
    created: impl Future<Output = Result<Option<T>, RepositoryError>>,
    what: &str,
) -> Result<InsertOutcome<T>, RepositoryError> {
    match inserted {
        Ok(_) => created
            .await?
            .map(InsertOutcome::Created)
            .ok_or_else(|| StoreError::corrupt(format!("{what} vanished after insert")).into()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() && keyed => {
            match existing.await? {
                Some(existing) => Ok(InsertOutcome::Existing(existing)),
                None => Err(StoreError::Database(sqlx::Error::Database(e)).into()),
            }
        }
        Err(e) => Err(StoreError::from(e).into()),
    }
}

pub(crate) const ORDER_COLUMNS: &str = "id, tenant_id, idempotency_key, request_hash, provider, product_id, sku, kind, \
    target_iccid, quantity, unit_price_micros, currency, status, upstream_ref, provider_status, \
    error_code, error_message, retryable, attempts, submitted_at, created_at, updated_at, fence, \
    offer_id, candidates, attempt_log, price_micros, price_currency, margin_micros, \
    hold_micros, hold_currency, hold_state, hold_seq, hold_fx_rate, refunded_micros";

#[async_trait]
impl OrderRepository for Store {
    /// Moves an order without a purchase to another of its candidates
    /// (`pending` again, at the candidate's product and cost), logging the
    /// attempt that bought nothing. Only at `fence`, like every other move:
    /// a worker holding a stale read switches nothing. Returns the new
    /// fence, or `None` when someone else moved the order first.
    async fn switch_candidate(
        &self,
        id: &OrderId,
        fence: i64,
        product: &Product,
        sale: &SalePrice,
        attempts: &[OrderAttempt],
        hold: Option<&Hold>,
    ) -> Result<Option<i64>, RepositoryError> {
        let Some(order) = self.order_by_id(id).await? else {
            return Ok(None);
        };
        let mut log = order.attempt_log.clone();
        log.extend(attempts.iter().cloned());
        let micros = product.price.to_micros().map_err(StoreError::corrupt)?;
        let (price, margin) = sale_micros(sale)?;
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let done = sqlx::query(
            "UPDATE orders SET status = 'pending', provider = $2, product_id = $3, sku = $4, \
             unit_price_micros = $5, currency = $6, attempt_log = $7, updated_at = $8, \
             price_micros = $10, price_currency = $11, margin_micros = $12, \
             error_code = NULL, error_message = NULL, retryable = 0, fence = fence + 1, \
             next_attempt_at = 0, retry_delay_ms = 0 WHERE id = $1 AND fence = $9 AND upstream_ref IS NULL \
             AND (status IN ('pending', 'submitted') OR (status = 'failed' AND retryable = 1))",
        )
        .bind(id.0.clone())
        .bind(product.id.provider.as_str())
        .bind(product.id.to_string())
        .bind(product.id.sku.clone())
        .bind(micros)
        .bind(product.price.currency.code())
        .bind(serde_json::to_string(&log).map_err(StoreError::corrupt)?)
        .bind(now)
        .bind(fence)
        .bind(price)
        .bind(sale.price.currency.code())
        .bind(margin)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if done.rows_affected() != 1 {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(None);
        }
        if let Some(hold) = hold {
            // The old price's hold goes back and the new one is taken in
            // this transaction: a dearer candidate needs the difference.
            release_hold_in(&mut tx, Held::Order, &id.0, now).await?;
            if let Err(shortfall) = rehold_in(&mut tx, &order, hold, now).await? {
                tx.rollback().await.map_err(StoreError::from)?;
                return Err(RepositoryError::InsufficientFunds(shortfall));
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(fence + 1))
    }

    async fn insert_order(&self, order: &NewOrder) -> Result<InsertOutcome, RepositoryError> {
        // The common case first: a new order is one INSERT, and a reused
        // key shows as a unique violation, then read (settle_insert).
        let record = new_record(order);
        let (kind, target) = match &order.kind {
            OrderKind::NewEsim => ("new_esim", None),
            OrderKind::TopUp { iccid } => ("top_up", Some(iccid.as_str().to_owned())),
        };
        let micros = order.unit_price.to_micros().map_err(StoreError::corrupt)?;
        let (price, margin) = sale_micros(&order.sale)?;
        let insert = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO orders ({ORDER_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $19, NULL, NULL, NULL, NULL, 0, $20, $21, $13, $13, $20, $14, $15, '[]', $16, $17, $18, \
             $22, $23, $24, $25, $26, 0)"
        )))
        .bind(record.id.0.clone())
        .bind(order.tenant_id.clone())
        .bind(order.idempotency_key.clone())
        .bind(order.request_hash.clone())
        .bind(order.product_id.provider.as_str())
        .bind(order.product_id.to_string())
        .bind(order.product_id.sku.clone())
        .bind(kind)
        .bind(target)
        .bind(i64::from(order.quantity))
        .bind(micros)
        .bind(order.unit_price.currency.code())
        .bind(millis(record.created_at))
        .bind(order.offer_id.clone())
        .bind(serde_json::to_string(&order.candidates).map_err(StoreError::corrupt)?)
        .bind(price)
        .bind(order.sale.price.currency.code())
        .bind(margin)
        .bind(record.status.as_str())
        .bind(record.fence)
        .bind(record.submitted_at.map(millis))
        .bind(order.hold.map(|h| h.micros))
        .bind(order.hold.map(|h| h.currency.code()))
        .bind(order.hold.map(|_| HoldState::Open.as_str()))
        .bind(i64::from(order.hold.is_some()))
        .bind(order.hold.and_then(|h| h.fx_rate).map(|r| r.to_string()));
        let key = order.idempotency_key.as_deref().unwrap_or_default();
        let inserted = match &order.hold {
            None => insert.execute(self.writer()).await,
            Some(hold) => {
                let now = millis(record.created_at);
                insert_with_hold(
                    self.writer(),
                    insert,
                    &order.tenant_id,
                    &record.id.0,
                    hold,
                    now,
                )
                .await?
            }
        };
        settle_insert(
            inserted,
            order.idempotency_key.is_some(),
            self.order_by_idempotency_key(&order.tenant_id, key),
            std::future::ready(Ok(Some(record))),
            "order",
        )
        .await
    }

    async fn order_by_id(&self, id: &OrderId) -> Result<Option<OrderRecord>, RepositoryError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"
        )))
        .bind(id.0.clone())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(self.hydrate(row).await?)
    }

    async fn order_for_tenant(
        &self,
        tenant_id: &str,
        id: &OrderId,
    ) -> Result<Option<OrderRecord>, RepositoryError> {
        Ok(self
            .order_by_id(id)
            .await?
            .filter(|o| o.tenant_id == tenant_id))
    }

    async fn orders_for_tenant(
        &self,
        tenant_id: &str,
        status: Option<OrderStatus>,
        before: Option<&OrderId>,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = $1 \
             AND ($2 = '' OR status = $2) AND ($3 = '' OR id < $3) \
             ORDER BY id DESC LIMIT {limit}"
        )))
        .bind(tenant_id.to_owned())
        .bind(
            status
                .map(simgate_domain::OrderStatus::as_str)
                .unwrap_or_default(),
        )
        .bind(before.map(|b| b.0.clone()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(self.hydrate_all(rows).await?)
    }

    async fn search_orders(
        &self,
        tenant_id: &str,
        query: &OrderQuery,
    ) -> Result<(Vec<OrderRecord>, u64), RepositoryError> {
        // An empty parameter means "any": one statement for every filter.
        const MATCHING: &str = "FROM orders o WHERE o.tenant_id = $1 \
             AND ($2 = '' OR o.status = $2) AND ($3 = '' OR o.provider = $3) \
             AND ($4 = '' OR LOWER(o.id) LIKE $4 ESCAPE '\\' \
             OR LOWER(COALESCE(o.idempotency_key, '')) LIKE $4 ESCAPE '\\' \
             OR LOWER(COALESCE(o.upstream_ref, '')) LIKE $4 ESCAPE '\\' \
             OR LOWER(o.product_id) LIKE $4 ESCAPE '\\' \
             OR LOWER(COALESCE(o.offer_id, '')) LIKE $4 ESCAPE '\\' \
             OR EXISTS (SELECT 1 FROM order_esims e WHERE e.order_id = o.id \
             AND e.iccid LIKE $4 ESCAPE '\\'))";
        let params = [
            tenant_id.to_owned(),
            query
                .status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            query
                .provider
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            query
                .text
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(contains_pattern)
                .unwrap_or_default(),
        ];
        let mut count = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n {MATCHING}")));
        for param in &params {
            count = count.bind(param.clone());
        }
        let total: i64 = count
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)?
            .try_get("n")
            .map_err(StoreError::from)?;
        let columns = ORDER_COLUMNS
            .split(", ")
            .map(|c| format!("o.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut page = sqlx::query(AssertSqlSafe(format!(
            "SELECT {columns} {MATCHING} ORDER BY o.id DESC LIMIT {} OFFSET {}",
            query.limit, query.offset
        )));
        for param in params {
            page = page.bind(param);
        }
        let rows = page.fetch_all(&self.pool).await.map_err(StoreError::from)?;
        Ok((
            self.hydrate_all(rows).await?,
            u64::try_from(total).unwrap_or_default(),
        ))
    }

    async fn hourly_orders(
        &self,
        tenant_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<HourlyOrders>, RepositoryError> {
        // PostgreSQL sums BIGINTs as NUMERIC, which the Any driver cannot
        // carry: the casts keep both back-ends' answers integers.
        let rows = sqlx::query(
            "SELECT created_at / 3600000 AS hour, status, currency, price_currency, \
             COUNT(*) AS orders, CAST(SUM(unit_price_micros * quantity) AS BIGINT) AS charged, \
             CAST(SUM(margin_micros * quantity) AS BIGINT) AS margin \
             FROM orders WHERE tenant_id = $1 AND created_at >= $2 \
             GROUP BY created_at / 3600000, status, currency, price_currency \
             ORDER BY hour",
        )
        .bind(tenant_id.to_owned())
        .bind(millis(since))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(hourly_from_row)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn claim_for_submission(
        &self,
        id: &OrderId,
        fence: i64,
        at: DateTime<Utc>,
    ) -> Result<Option<i64>, RepositoryError> {
        let done = sqlx::query(
            "UPDATE orders SET status = 'submitted', submitted_at = $2, attempts = attempts + 1, \
             updated_at = $2, error_code = NULL, error_message = NULL, retryable = 0, \
             fence = fence + 1, lease_owner = NULL, lease_until = NULL, \
             next_attempt_at = 0, retry_delay_ms = 0 \
             WHERE id = $1 AND status = 'pending' AND fence = $3",
        )
        .bind(id.0.clone())
        .bind(millis(at))
        .bind(fence)
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok((done.rows_affected() == 1).then_some(fence + 1))
    }

    async fn reopen_order(
        &self,
        id: &OrderId,
        fence: i64,
        hold: Option<&Hold>,
    ) -> Result<Option<i64>, RepositoryError> {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE orders SET status = 'pending', updated_at = $2, fence = fence + 1 \
             WHERE id = $1 AND fence = $3 AND upstream_ref IS NULL \
             AND (status = 'submitted' OR (status = 'failed' AND retryable = 1)) \
             RETURNING {ORDER_COLUMNS}"
        )))
        .bind(id.0.clone())
        .bind(now)
        .bind(fence)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(None);
        };
        let order = order_from_row(&row)?;
        let holding = order.hold.is_some_and(|h| h.state == HoldState::Open);
        if let (Some(hold), false) = (hold, holding)
            && let Err(shortfall) = rehold_in(&mut tx, &order, hold, now).await?
        {
            tx.rollback().await.map_err(StoreError::from)?;
            return Err(RepositoryError::InsufficientFunds(shortfall));
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(fence + 1))
    }

    async fn record_upstream_order(
        &self,
        order: &OrderRecord,
        fence: i64,
        upstream_ref: &str,
        provider_status: &str,
        status: OrderStatus,
        esims: &[InstallDetails],
    ) -> Result<Recorded, RepositoryError> {
        let answer = UpstreamAnswer {
            upstream_ref,
            provider_status,
            status,
            esims,
        };
        self.record_answer(order, fence, &answer, Source::OurCall)
            .await
    }

    async fn adopt_matched_order(
        &self,
        order: &OrderRecord,
        fence: i64,
        answer: &UpstreamAnswer<'_>,
    ) -> Result<Recorded, RepositoryError> {
        self.record_answer(order, fence, answer, Source::Matched)
            .await
    }

    async fn fail_order(
        &self,
        id: &OrderId,
        fence: i64,
        failure: &OrderFailure,
    ) -> Result<Option<Moved>, RepositoryError> {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let done = sqlx::query(
            "UPDATE orders SET status = 'failed', error_code = $2, error_message = $3, retryable = $4, \
             updated_at = $5, fence = fence + 1, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND fence = $6 AND upstream_ref IS NULL AND status IN ('pending', 'submitted')",
        )
        .bind(id.0.clone())
        .bind(failure.code.clone())
        .bind(failure.message.clone())
        .bind(i64::from(failure.retryable))
        .bind(now)
        .bind(fence)
        .execute(&mut *tx)
        .await.map_err(StoreError::from)?;
        if done.rows_affected() != 1 {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(None);
        }
        release_hold_in(&mut tx, Held::Order, &id.0, now).await?;
        let order = order_row(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Conflict(id.0.clone()))?;
        // The outbox: the event commits with the failure or not at all.
        let event = record_order_event_in(&mut tx, &order, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(Moved { order, event }))
    }

    async fn claim_orders_to_reconcile(
        &self,
        lease: &Lease,
        submitted_before: DateTime<Utc>,
        idle_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, RepositoryError> {
        Ok(self
            .lease_orders(
                lease,
                "(status = 'submitted' AND upstream_ref IS NULL AND submitted_at < $4) \
             OR (status = 'pending' AND updated_at < $5)",
                &[millis(submitted_before), millis(idle_before)],
                limit,
            )
            .await?)
    }

    async fn claim_orders_fulfilling(
        &self,
        lease: &Lease,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, RepositoryError> {
        Ok(self
            .lease_orders(lease, "status = 'fulfilling'", &[], limit)
            .await?)
    }

    async fn release_order(&self, id: &OrderId, fence: i64) -> Result<(), RepositoryError> {
        sqlx::query(
            "UPDATE orders SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND fence = $2",
        )
        .bind(id.0.clone())
        .bind(fence)
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    async fn orders_fulfilling(
        &self,
        provider: Option<ProviderId>,
    ) -> Result<Vec<OrderRecord>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE status = 'fulfilling' \
             AND ($1 IS NULL OR provider = $1) ORDER BY updated_at ASC LIMIT 100"
        )))
        .bind(provider.map(|p| p.as_str()))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(self.hydrate_all(rows).await?)
    }

    async fn esim_for_tenant(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
    ) -> Result<Option<EsimRecord>, RepositoryError> {
        let row = sqlx::query(
            "SELECT iccid, tenant_id, provider, order_id, smdp_address, matching_id, smdp_oid, \
             confirmation_code_required, confirmation_code, created_at FROM esims WHERE iccid = $1 AND tenant_id = $2",
        )
        .bind(iccid.as_str().to_owned())
        .bind(tenant_id.to_owned())
        .fetch_optional(&self.pool)
        .await.map_err(StoreError::from)?;
        Ok(row.as_ref().map(esim_from_row).transpose()?)
    }

    async fn esims_for_tenant(
        &self,
        tenant_id: &str,
        filter: &EsimFilter,
    ) -> Result<(Vec<ListedEsim>, u64), RepositoryError> {
        // An empty parameter means "any": one statement for every filter.
        const MATCHING: &str = "FROM esims e JOIN orders o ON o.id = e.order_id \
             WHERE e.tenant_id = $1 AND ($2 = '' OR e.iccid = $2) \
             AND ($3 = '' OR e.provider = $3) AND ($4 = '' OR o.status = $4)";
        let params = [
            tenant_id.to_owned(),
            filter
                .iccid
                .as_ref()
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default(),
            filter
                .provider
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            filter
                .status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        ];
        let count = format!("SELECT COUNT(*) AS n {MATCHING}");
        let mut total = sqlx::query(AssertSqlSafe(count));
        for param in &params {
            total = total.bind(param.clone());
        }
        let total: i64 = total
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)?
            .try_get("n")
            .map_err(StoreError::from)?;
        let page = format!(
            "SELECT e.iccid, e.tenant_id, e.provider, e.order_id, e.smdp_address, e.matching_id, \
             e.smdp_oid, e.confirmation_code_required, e.confirmation_code, e.created_at, \
             o.status AS order_status {MATCHING} \
             ORDER BY e.created_at DESC, e.iccid LIMIT {} OFFSET {}",
            filter.limit, filter.offset
        );
        let mut rows = sqlx::query(AssertSqlSafe(page));
        for param in params {
            rows = rows.bind(param);
        }
        let rows = rows.fetch_all(&self.pool).await.map_err(StoreError::from)?;
        let esims = rows
            .iter()
            .map(|row| {
                let status: String = row.try_get("order_status")?;
                Ok(ListedEsim {
                    esim: esim_from_row(row)?,
                    order_status: status.parse().map_err(StoreError::corrupt)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((esims, u64::try_from(total).unwrap_or_default()))
    }
}

impl Store {
    async fn order_by_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<OrderRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = $1 AND idempotency_key = $2"
        )))
        .bind(tenant_id.to_owned())
        .bind(key.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        self.hydrate(row).await
    }

    async fn lease_orders(
        &self,
        lease: &Lease,
        eligible: &str,
        times: &[i64],
        limit: u32,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let rows = LeasedRows {
            table: "orders",
            key: "id",
            columns: ORDER_COLUMNS,
            order_by: "updated_at ASC, id ASC",
        };
        let sql = self.lease_batch_sql(&rows, eligible, lease, limit);
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(lease.owner.clone())
            .bind(millis(lease.until))
            .bind(millis(Utc::now()));
        for time in times {
            query = query.bind(*time);
        }
        let rows = query.fetch_all(self.writer()).await?;
        let mut orders = self.hydrate_all(rows).await?;
        orders.sort_by(|a, b| (a.updated_at, &a.id.0).cmp(&(b.updated_at, &b.id.0)));
        Ok(orders)
    }

    async fn hydrate_all(&self, rows: Vec<AnyRow>) -> Result<Vec<OrderRecord>, StoreError> {
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(order) = self.hydrate(Some(row)).await? {
                orders.push(order);
            }
        }
        Ok(orders)
    }

    async fn hydrate(&self, row: Option<AnyRow>) -> Result<Option<OrderRecord>, StoreError> {
        let Some(row) = row else { return Ok(None) };
        let mut order = order_from_row(&row)?;
        let mut conn = self.pool.acquire().await?;
        order.iccids = esim_links(&mut conn, &order.id).await?;
        Ok(Some(order))
    }
}

/// An order and its eSIM links, read on `conn` (inside a transaction, what
/// that transaction sees).
pub(crate) async fn order_row(
    conn: &mut AnyConnection,
    id: &OrderId,
) -> Result<Option<OrderRecord>, StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"
    )))
    .bind(id.0.clone())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut order = order_from_row(&row)?;
    order.iccids = esim_links(conn, id).await?;
    Ok(Some(order))
}

/// The ICCIDs of the eSIMs linked to an order, in ICCID order.
async fn esim_links(conn: &mut AnyConnection, id: &OrderId) -> Result<Vec<Iccid>, StoreError> {
    let links = sqlx::query("SELECT iccid FROM order_esims WHERE order_id = $1 ORDER BY iccid")
        .bind(id.0.clone())
        .fetch_all(&mut *conn)
        .await?;
    links
        .iter()
        .map(|r| {
            let iccid: String = r.try_get("iccid")?;
            Iccid::parse(&iccid).map_err(StoreError::corrupt)
        })
        .collect()
}

/// Stores an eSIM's install details (updating them if the provider sent
/// them again) and links the eSIM to its order.
pub(crate) async fn link_esim(
    conn: &mut AnyConnection,
    order: &OrderRecord,
    esim: &InstallDetails,
    now: i64,
) -> Result<(), StoreError> {
    let code = &esim.activation;
    sqlx::query(
        "INSERT INTO esims (iccid, tenant_id, provider, order_id, smdp_address, matching_id, smdp_oid, \
         confirmation_code_required, confirmation_code, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (iccid) DO UPDATE SET smdp_address = excluded.smdp_address, \
         matching_id = excluded.matching_id, smdp_oid = excluded.smdp_oid, \
         confirmation_code_required = excluded.confirmation_code_required, \
         confirmation_code = excluded.confirmation_code",
    )
    .bind(esim.iccid.as_str().to_owned())
    .bind(order.tenant_id.clone())
    .bind(order.provider().as_str())
    .bind(order.id.0.clone())
    .bind(code.smdp_address.clone())
    .bind(code.matching_id.clone())
    .bind(code.smdp_oid.clone())
    .bind(i64::from(code.confirmation_code_required))
    .bind(esim.confirmation_code.clone())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO order_esims (order_id, iccid) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(order.id.0.clone())
        .bind(esim.iccid.as_str().to_owned())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A `LIKE` pattern (escaped with a backslash) matching text that contains
/// `text`, lower-cased: a search for `50%` looks for those two characters.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A new order as `insert_order` writes it: the caller gets this record
/// back without a read. Times are cut to the stored milliseconds, so the
/// record equals a later read of the row.
fn new_record(order: &NewOrder) -> OrderRecord {
    let now = from_millis(millis(Utc::now()));
    let submitted_at = order.submitted_at.map(|at| from_millis(millis(at)));
    let claimed = submitted_at.is_some();
    OrderRecord {
        id: OrderId(new_id("ord")),
        tenant_id: order.tenant_id.clone(),
        idempotency_key: order.idempotency_key.clone(),
        request_hash: order.request_hash.clone(),
        product_id: order.product_id.clone(),
        kind: order.kind.clone(),
        quantity: order.quantity,
        unit_price: order.unit_price,
        sale: Some(order.sale),
        status: if claimed {
            OrderStatus::Submitted
        } else {
            OrderStatus::Pending
        },
        upstream_ref: None,
        provider_status: None,
        failure: None,
        attempts: u32::from(claimed),
        submitted_at,
        created_at: now,
        updated_at: now,
        fence: i64::from(claimed),
        iccids: Vec::new(),
        offer_id: order.offer_id.clone(),
        candidates: order.candidates.clone(),
        attempt_log: Vec::new(),
        hold: order.hold.map(|hold| OrderHold {
            micros: hold.micros,
            currency: hold.currency,
            state: HoldState::Open,
            seq: 1,
            fx_rate: hold.fx_rate,
        }),
        refunded_micros: 0,
    }
}

/// The price and margin of a sale as stored: millionths of its currency.
fn sale_micros(sale: &SalePrice) -> Result<(i64, i64), StoreError> {
    Ok((
        sale.price.to_micros().map_err(StoreError::corrupt)?,
        sale.margin.to_micros().map_err(StoreError::corrupt)?,
    ))
}
