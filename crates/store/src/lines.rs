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

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use simgate_domain::entities::RepositoryError;
use simgate_domain::repository::LineRepository;
use simgate_domain::{Iccid, Msisdn, ProviderId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::purchases::{LeasedRows, PurchaseEntry};
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

#[async_trait]
impl LineRepository for Store {
    async fn claim_line(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        mpn: &Msisdn,
    ) -> Result<Option<LineRecord>, RepositoryError> {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        sqlx::query("DELETE FROM lines WHERE provider = $1 AND mpn = $2 AND status = 'ceased'")
            .bind(provider.as_str())
            .bind(mpn.as_str().to_owned())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
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
            Err(e) => return Err(StoreError::from(e).into()),
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.line(provider, mpn).await
    }

    async fn line(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
    ) -> Result<Option<LineRecord>, RepositoryError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM lines WHERE provider = $1 AND mpn = $2"
        )))
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(row.as_ref().map(record).transpose()?)
    }

    async fn set_line_status(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        status: LineStatus,
        iccid: Option<&Iccid>,
    ) -> Result<(), RepositoryError> {
        sqlx::query(
            "UPDATE lines SET status = $3, iccid = COALESCE($4, iccid), updated_at = $5, \
             next_attempt_at = CASE WHEN status = $3 THEN next_attempt_at ELSE 0 END, \
             retry_delay_ms = CASE WHEN status = $3 THEN retry_delay_ms ELSE 0 END \
             WHERE provider = $1 AND mpn = $2",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .bind(status.as_str())
        .bind(iccid.map(|i| i.as_str().to_owned()))
        .bind(millis(Utc::now()))
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    async fn renumber_line(
        &self,
        provider: ProviderId,
        from: &Msisdn,
        to: &Msisdn,
    ) -> Result<(), RepositoryError> {
        sqlx::query("UPDATE lines SET mpn = $3, updated_at = $4 WHERE provider = $1 AND mpn = $2")
            .bind(provider.as_str())
            .bind(from.as_str().to_owned())
            .bind(to.as_str().to_owned())
            .bind(millis(Utc::now()))
            .execute(self.writer())
            .await
            .map_err(StoreError::from)?;
        Ok(())
    }

    async fn release_line(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
    ) -> Result<bool, RepositoryError> {
        let done = sqlx::query(
            "DELETE FROM lines WHERE provider = $1 AND mpn = $2 AND status = 'provisioning' AND fence = $3",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .bind(fence)
        .execute(self.writer())
        .await.map_err(StoreError::from)?;
        Ok(done.rows_affected() == 1)
    }

    async fn activate_line(
        &self,
        tenant_id: &str,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
        iccid: Option<&Iccid>,
    ) -> Result<LineActivation, RepositoryError> {
        let now = millis(Utc::now());
        let set = "UPDATE lines SET status = 'active', iccid = COALESCE($4, iccid), updated_at = $5, \
             fence = fence + 1, lease_owner = NULL, lease_until = NULL, \
             next_attempt_at = 0, retry_delay_ms = 0 \
             WHERE provider = $1 AND mpn = $2 AND tenant_id = $3 AND status = 'provisioning'";
        let current = sqlx::query(AssertSqlSafe(format!("{set} AND fence = $6")))
            .bind(provider.as_str())
            .bind(mpn.as_str().to_owned())
            .bind(tenant_id.to_owned())
            .bind(iccid.map(|i| i.as_str().to_owned()))
            .bind(now)
            .bind(fence)
            .execute(self.writer())
            .await
            .map_err(StoreError::from)?;
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
            .execute(self.writer())
            .await
            .map_err(StoreError::from)?;
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
        .execute(self.writer())
        .await.map_err(StoreError::from)?;
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

    async fn claim_lines_to_settle(
        &self,
        lease: &Lease,
        updated_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LineRecord>, RepositoryError> {
        let rows = LeasedRows {
            table: "lines",
            key: "provider, mpn",
            columns: COLUMNS,
            order_by: "updated_at ASC, mpn ASC",
        };
        let sql = self.lease_batch_sql(
            &rows,
            "status = 'provisioning' AND updated_at < $4",
            lease,
            limit,
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(lease.owner.clone())
            .bind(millis(lease.until))
            .bind(millis(Utc::now()))
            .bind(millis(updated_before))
            .fetch_all(self.writer())
            .await
            .map_err(StoreError::from)?;
        let mut lines: Vec<LineRecord> = rows.iter().map(record).collect::<Result<_, _>>()?;
        lines.sort_by(|a, b| (a.updated_at, a.mpn.as_str()).cmp(&(b.updated_at, b.mpn.as_str())));
        Ok(lines)
    }

    async fn release_line_lease(
        &self,
        provider: ProviderId,
        mpn: &Msisdn,
        fence: i64,
    ) -> Result<(), RepositoryError> {
        sqlx::query(
            "UPDATE lines SET lease_owner = NULL, lease_until = NULL \
             WHERE provider = $1 AND mpn = $2 AND fence = $3",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
        .bind(fence)
        .execute(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    async fn lines_for_tenant(&self, tenant_id: &str) -> Result<Vec<LineRecord>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM lines WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 1000"
        )))
        .bind(tenant_id.to_owned())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows.iter().map(record).collect::<Result<_, StoreError>>()?)
    }

    async fn lines_held_by(
        &self,
        tenant_id: &str,
        provider: ProviderId,
    ) -> Result<Vec<LineRecord>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM lines WHERE tenant_id = $1 AND provider = $2 \
             AND status <> 'ceased'"
        )))
        .bind(tenant_id.to_owned())
        .bind(provider.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows.iter().map(record).collect::<Result<_, StoreError>>()?)
    }
}
