//! Which tenant owns which subscriber line. The line itself lives at the
//! provider; this row is what keeps one tenant out of another's lines and
//! what makes provisioning recoverable (written before the call).
//!
//! Provisioning is a fenced claim like an order's (see the crate docs): the
//! claim is attempt 0, the settle pass leases rows (bumping the fence), and
//! activating or releasing a claim is compare-and-set on the fence. A
//! provisioning answer that arrives after its claim was superseded still
//! activates the tenant's line when the number is still (or again) theirs;
//! otherwise it is kept in the purchase ledger for an operator.

use chrono::{DateTime, Utc};
use simgate_domain::{Iccid, Msisdn, ProviderId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::purchases::PurchaseEntry;
use crate::{
    Lease, LineActivation, LineRecord, LineStatus, Store, StoreError, from_millis, millis,
};

const COLUMNS: &str = "provider, mpn, tenant_id, iccid, status, created_at, updated_at, fence";

fn record(row: &AnyRow) -> Result<LineRecord, StoreError> {
    let provider: String = row.try_get("provider")?;
    let mpn: String = row.try_get("mpn")?;
    let iccid: Option<String> = row.try_get("iccid")?;
    let status: String = row.try_get("status")?;
    Ok(LineRecord {
        provider: provider.parse().map_err(StoreError::corrupt)?,
        mpn: Msisdn::parse(&mpn).map_err(StoreError::corrupt)?,
        tenant_id: row.try_get("tenant_id")?,
        iccid: iccid
            .map(|i| Iccid::parse(&i))
            .transpose()
            .map_err(StoreError::corrupt)?,
        status: LineStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt(format!("line status {status}")))?,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        fence: row.try_get("fence")?,
    })
}

impl Store {
    /// Claims a number for a tenant before provisioning it. `None` when the
    /// number is already someone's line (ceased lines free their number).
    pub async fn claim_line(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        mpn: &Msisdn,
    ) -> Result<Option<LineRecord>, StoreError> {
        let now = millis(Utc::now());
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM lines WHERE provider = $1 AND mpn = $2 AND status = 'ceased'")
            .bind(provider.as_str())
            .bind(mpn.as_str().to_owned())
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO lines (provider, mpn, tenant_id, iccid, status, created_at, updated_at, fence) \
             VALUES ($1, $2, $3, NULL, 'provisioning', $4, $4, 0)",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .bind(tenant_id.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        self.line(provider, mpn).await
    }

    /// A line by number, whoever owns it.
    pub async fn line(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
    ) -> Result<Option<LineRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM lines WHERE provider = $1 AND mpn = $2"
        )))
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// Sets a line's status (and its ICCID once known).
    pub async fn set_line_status(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        status: LineStatus,
        iccid: Option<&Iccid>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE lines SET status = $3, iccid = COALESCE($4, iccid), updated_at = $5 \
             WHERE provider = $1 AND mpn = $2",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .bind(status.as_str())
        .bind(iccid.map(|i| i.as_str().to_owned()))
        .bind(millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Moves a line to its new primary number.
    pub async fn renumber_line(
        &self,
        provider: ProviderId,
        from: &Msisdn,
        to: &Msisdn,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE lines SET mpn = $3, updated_at = $4 WHERE provider = $1 AND mpn = $2")
            .bind(provider.as_str())
            .bind(from.as_str().to_owned())
            .bind(to.as_str().to_owned())
            .bind(millis(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the claim at `fence`, whose provisioning certainly did not
    /// happen; a claim moved on since is left alone.
    pub async fn release_line(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM lines WHERE provider = $1 AND mpn = $2 AND status = 'provisioning' AND fence = $3",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .bind(fence)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that the provider provisioned the tenant's number, for the
    /// attempt at `fence`. Never drops the answer (see [`LineActivation`]).
    pub async fn activate_line(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
        iccid: Option<&Iccid>,
    ) -> Result<LineActivation, StoreError> {
        let now = millis(Utc::now());
        let set = "UPDATE lines SET status = 'active', iccid = COALESCE($4, iccid), updated_at = $5, \
             fence = fence + 1, lease_owner = NULL, lease_until = NULL \
             WHERE provider = $1 AND mpn = $2 AND tenant_id = $3 AND status = 'provisioning'";
        let current = sqlx::query(AssertSqlSafe(format!("{set} AND fence = $6")))
            .bind(provider.as_str())
            .bind(mpn.as_str().to_owned())
            .bind(tenant_id.to_owned())
            .bind(iccid.map(|i| i.as_str().to_owned()))
            .bind(now)
            .bind(fence)
            .execute(&self.pool)
            .await?;
        if current.rows_affected() == 1 {
            return Ok(LineActivation::Activated { superseded: false });
        }
        // A superseded attempt: the claim is still the tenant's, or its
        // number was released meanwhile and is free to be theirs again.
        let late = sqlx::query(set)
            .bind(provider.as_str())
            .bind(mpn.as_str().to_owned())
            .bind(tenant_id.to_owned())
            .bind(iccid.map(|i| i.as_str().to_owned()))
            .bind(now)
            .execute(&self.pool)
            .await?;
        if late.rows_affected() == 1 {
            return Ok(LineActivation::Activated { superseded: true });
        }
        let readopted = sqlx::query(
            "INSERT INTO lines (provider, mpn, tenant_id, iccid, status, created_at, updated_at, fence) \
             VALUES ($1, $2, $3, $4, 'active', $5, $5, 0) ON CONFLICT (provider, mpn) DO NOTHING",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .bind(tenant_id.to_owned())
        .bind(iccid.map(|i| i.as_str().to_owned()))
        .bind(now)
        .execute(&self.pool)
        .await?;
        if readopted.rows_affected() == 1 {
            return Ok(LineActivation::Activated { superseded: true });
        }
        let line = self.line(provider, mpn).await?;
        if line.is_some_and(|l| l.tenant_id == tenant_id && l.status == LineStatus::Active) {
            return Ok(LineActivation::Unchanged);
        }
        let reference = format!("line:{mpn}:{tenant_id}:{now}");
        self.record_extra_purchase(&PurchaseEntry {
            provider,
            upstream_ref: &reference,
            local_kind: "line",
            local_id: mpn.as_str(),
            tenant_id,
            linked: false,
            detail: serde_json::json!({ "mpn": mpn.as_str(), "iccid": iccid.map(Iccid::as_str) })
                .to_string(),
        })
        .await?;
        Ok(LineActivation::Extra)
    }

    /// Takes, under `lease`, up to `limit` lines whose provisioning answer
    /// is unknown since before `updated_before`, oldest first. One
    /// statement, so two instances get disjoint sets; fences are bumped.
    pub async fn claim_lines_to_settle(
        &self,
        lease: &Lease,
        updated_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LineRecord>, StoreError> {
        let sql = self.lease_batch_sql(
            "lines",
            "provider, mpn",
            COLUMNS,
            "status = 'provisioning' AND updated_at < $4",
            "updated_at ASC, mpn ASC",
            limit,
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(lease.owner.clone())
            .bind(millis(lease.until))
            .bind(millis(Utc::now()))
            .bind(millis(updated_before))
            .fetch_all(&self.pool)
            .await?;
        let mut lines: Vec<LineRecord> = rows.iter().map(record).collect::<Result<_, _>>()?;
        lines.sort_by(|a, b| (a.updated_at, a.mpn.as_str()).cmp(&(b.updated_at, b.mpn.as_str())));
        Ok(lines)
    }

    /// Gives a leased line back, if nobody moved it since `fence`.
    pub async fn release_line_lease(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE lines SET lease_owner = NULL, lease_until = NULL \
             WHERE provider = $1 AND mpn = $2 AND fence = $3",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .bind(fence)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A tenant's lines, newest first.
    pub async fn lines_for_tenant(&self, tenant_id: &str) -> Result<Vec<LineRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM lines WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 1000"
        )))
        .bind(tenant_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    /// Every line a tenant holds at a provider (provisioning or active, not
    /// ceased), unbounded: what the provider account's inventory is
    /// filtered by, so a tenant sees only what sits behind its own lines.
    pub async fn lines_held_by(
        &self,
        tenant_id: &str,
        provider: ProviderId,
    ) -> Result<Vec<LineRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM lines WHERE tenant_id = $1 AND provider = $2 \
             AND status <> 'ceased'"
        )))
        .bind(tenant_id.to_owned())
        .bind(provider.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }
}
