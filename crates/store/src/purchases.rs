//! What fenced claims share: leases on rows, the one statement that takes a
//! batch of rows under a lease, and the ledger of upstream purchases that
//! keeps every purchase linked to exactly one local row.

use async_trait::async_trait;
use chrono::Utc;
use simgate_domain::ProviderId;
use simgate_domain::entities::{Lease, OrderRecord, RepositoryError};
use simgate_domain::repository::PurchaseRepository;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Backend, Store, StoreError, UpstreamPurchase, from_millis, millis};

/// Where an answer about a purchase came from: what it proves decides
/// whether a late one is kept (orders and SIM orders alike).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The answer to our own call, or a lookup by our own reference: the
    /// purchase is certainly this row's.
    OurCall,
    /// A provider order matched by content: possibly another row's.
    Matched,
}

/// A purchase about to be written to the ledger.
pub(crate) struct PurchaseEntry<'a> {
    pub provider: ProviderId,
    pub upstream_ref: &'a str,
    pub local_kind: &'static str,
    pub local_id: &'a str,
    pub tenant_id: &'a str,
    pub linked: bool,
    pub detail: String,
}

/// Writes a purchase to the ledger unless it is there already; returns
/// whether the ledger now gives it to this entry's row (with the same role).
/// Never fails on a duplicate, so it is safe inside a PostgreSQL transaction.
pub(crate) async fn claim_purchase(
    conn: &mut AnyConnection,
    entry: &PurchaseEntry<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO upstream_purchases (provider, upstream_ref, local_kind, local_id, tenant_id, \
         linked, detail, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (provider, upstream_ref) DO NOTHING",
    )
    .bind(entry.provider.as_str())
    .bind(entry.upstream_ref.to_owned())
    .bind(entry.local_kind)
    .bind(entry.local_id.to_owned())
    .bind(entry.tenant_id.to_owned())
    .bind(i64::from(entry.linked))
    .bind(entry.detail.clone())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        // Written just now, as this entry: no need to read it back.
        return Ok(true);
    }
    let owner = sqlx::query(
        "SELECT local_kind, local_id, linked FROM upstream_purchases \
         WHERE provider = $1 AND upstream_ref = $2",
    )
    .bind(entry.provider.as_str())
    .bind(entry.upstream_ref.to_owned())
    .fetch_one(&mut *conn)
    .await?;
    Ok(
        owner.try_get::<String, _>("local_kind")? == entry.local_kind
            && owner.try_get::<String, _>("local_id")? == entry.local_id
            && (owner.try_get::<i64, _>("linked")? == 1) == entry.linked,
    )
}

fn purchase(row: &AnyRow) -> Result<UpstreamPurchase, StoreError> {
    let provider: String = row.try_get("provider")?;
    Ok(UpstreamPurchase {
        provider: provider.parse().map_err(StoreError::corrupt)?,
        upstream_ref: row.try_get("upstream_ref")?,
        local_kind: row.try_get("local_kind")?,
        local_id: row.try_get("local_id")?,
        tenant_id: row.try_get("tenant_id")?,
        linked: row.try_get::<i64, _>("linked")? == 1,
        detail: row.try_get("detail")?,
        recorded_at: from_millis(row.try_get("recorded_at")?),
    })
}

#[async_trait]
impl PurchaseRepository for Store {
    async fn upstream_purchases(
        &self,
        linked: Option<bool>,
    ) -> Result<Vec<UpstreamPurchase>, RepositoryError> {
        let rows = sqlx::query(
            "SELECT provider, upstream_ref, local_kind, local_id, tenant_id, linked, detail, \
             recorded_at FROM upstream_purchases WHERE ($1 < 0 OR linked = $1) \
             ORDER BY recorded_at ASC, upstream_ref ASC",
        )
        .bind(linked.map_or(-1, i64::from))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(purchase)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn purchase_taken(
        &self,
        provider: ProviderId,
        upstream_ref: &str,
    ) -> Result<bool, RepositoryError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM upstream_purchases WHERE provider = $1 AND upstream_ref = $2",
        )
        .bind(provider.as_str())
        .bind(upstream_ref.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(row.is_some())
    }

    async fn record_late_purchase(
        &self,
        provider: ProviderId,
        upstream_ref: &str,
        order: &OrderRecord,
        detail: &str,
    ) -> Result<bool, RepositoryError> {
        Ok(self
            .record_extra_purchase(&PurchaseEntry {
                provider,
                upstream_ref,
                local_kind: "order",
                local_id: &order.id.0,
                tenant_id: &order.tenant_id,
                linked: false,
                detail: detail.to_owned(),
            })
            .await?)
    }
}

impl Store {
    /// The statement that takes up to `limit` rows of `table` matching
    /// `eligible` whose lease is free or expired and whose next attempt is
    /// due, leases them and bumps their fence, returning `columns`. The
    /// rows due longest come first, then by `order_by`; each taken row's
    /// next attempt moves out by its doubled retry delay (capped by the
    /// lease's `retry_max`), which a move of the row resets. So rows that
    /// come back unmoved pass after pass wait longer and longer, and a
    /// fresh row is never starved by a batch full of them. Binds: `$1`
    /// lease owner, `$2` lease end, `$3` now (Unix ms), then the parameters
    /// of `eligible` from `$4`. PostgreSQL skips rows another claim is
    /// locking; SQLite has one writer at a time, so the single statement is
    /// atomic there as it stands.
    pub(crate) fn lease_batch_sql(
        &self,
        rows: &LeasedRows,
        eligible: &str,
        lease: &Lease,
        limit: u32,
    ) -> String {
        let LeasedRows {
            table,
            key,
            columns,
            order_by,
        } = rows;
        let lock = self.skip_locked();
        let least = match self.backend {
            Backend::Postgres => "LEAST",
            Backend::Sqlite => "MIN",
        };
        let first = duration_ms(Lease::FIRST_RETRY);
        let max = duration_ms(lease.retry_max).max(first);
        let delay = format!("{least}(retry_delay_ms * 2 + {first}, {max})");
        let free = "(lease_until IS NULL OR lease_until < $3)";
        format!(
            "UPDATE {table} SET lease_owner = $1, lease_until = $2, fence = fence + 1, \
             retry_delay_ms = {delay}, next_attempt_at = $3 + {delay} \
             WHERE ({key}) IN (SELECT {key} FROM {table} WHERE ({eligible}) AND {free} \
             AND next_attempt_at <= $3 ORDER BY next_attempt_at ASC, {order_by} LIMIT {limit}{lock}) \
             AND {free} RETURNING {columns}"
        )
    }

    /// What a batch claim's subquery ends with so that concurrent claims
    /// get disjoint rows: PostgreSQL skips rows another claim is locking;
    /// SQLite has one writer at a time, so the single statement is atomic
    /// there as it stands.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    /// The statement that takes up to `limit` rows of `table` matching
    /// `eligible` (their `id`s, oldest by `order_by` first), applies `set`
    /// to them and returns `returning`, checking `eligible` again in the
    /// update: a compare-and-set, so that one claim of several takes each
    /// row. For claims without a lease (overdue deliveries, due webhooks).
    pub(crate) fn take_batch_sql(
        &self,
        table: &str,
        set: &str,
        eligible: &str,
        order_by: &str,
        limit: u32,
        returning: &str,
    ) -> String {
        let lock = self.skip_locked();
        format!(
            "UPDATE {table} SET {set} WHERE id IN (SELECT id FROM {table} WHERE {eligible} \
             ORDER BY {order_by} LIMIT {limit}{lock}) AND {eligible} RETURNING {returning}"
        )
    }

    /// Records an extra purchase of a row; returns false when the purchase
    /// was already in the ledger (this row's, or another's).
    pub(crate) async fn record_extra_purchase(
        &self,
        entry: &PurchaseEntry<'_>,
    ) -> Result<bool, StoreError> {
        debug_assert!(!entry.linked);
        let done = sqlx::query(
            "INSERT INTO upstream_purchases (provider, upstream_ref, local_kind, local_id, tenant_id, \
             linked, detail, recorded_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7) \
             ON CONFLICT (provider, upstream_ref) DO NOTHING",
        )
        .bind(entry.provider.as_str())
        .bind(entry.upstream_ref.to_owned())
        .bind(entry.local_kind)
        .bind(entry.local_id.to_owned())
        .bind(entry.tenant_id.to_owned())
        .bind(entry.detail.clone())
        .bind(millis(Utc::now()))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Which rows a reconciler leases: the table, its key, the columns a
/// claim returns and the order among rows due at once.
pub(crate) struct LeasedRows {
    pub table: &'static str,
    pub key: &'static str,
    pub columns: &'static str,
    pub order_by: &'static str,
}

/// Whole milliseconds of a duration, saturating: a delay in a statement.
fn duration_ms(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
