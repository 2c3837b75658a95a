//! Which tenant owns which subscriber line. The line itself lives at the
//! provider; this row is what keeps one tenant out of another's lines and
//! what makes provisioning recoverable (written before the call).

use chrono::{DateTime, Utc};
use simgate_domain::{Iccid, Msisdn, ProviderId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError, from_millis, millis};

/// Where a line is in its life, as simgate knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// Written down; the provider's answer to provisioning is not known yet.
    Provisioning,
    Active,
    /// Ceased at the provider: gone for good.
    Ceased,
}

impl LineStatus {
    /// The lower-case name used in storage and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Ceased => "ceased",
        }
    }

    fn parse(raw: &str) -> Result<Self, StoreError> {
        Ok(match raw {
            "provisioning" => Self::Provisioning,
            "active" => Self::Active,
            "ceased" => Self::Ceased,
            other => return Err(StoreError::corrupt(format!("line status {other}"))),
        })
    }
}

/// A tenant's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    pub provider: ProviderId,
    pub mpn: Msisdn,
    pub tenant_id: String,
    pub iccid: Option<Iccid>,
    pub status: LineStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "provider, mpn, tenant_id, iccid, status, created_at, updated_at";

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
        status: LineStatus::parse(&status)?,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
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
            "INSERT INTO lines (provider, mpn, tenant_id, iccid, status, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, 'provisioning', $4, $4)",
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

    /// Forgets a claim whose provisioning certainly did not happen.
    pub async fn release_line(&self, provider: ProviderId, mpn: &Msisdn) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM lines WHERE provider = $1 AND mpn = $2 AND status = 'provisioning'",
        )
        .bind(provider.as_str())
        .bind(mpn.as_str().to_owned())
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

    /// Lines whose provisioning outcome is unknown, oldest first.
    pub async fn lines_provisioning(&self) -> Result<Vec<LineRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM lines WHERE status = 'provisioning' ORDER BY updated_at ASC LIMIT 100"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }
}
