//! Settings a tenant keeps as one validated JSON document (pricing rules,
//! routing policy, limit overrides): always read whole and replaced whole,
//! so one table per kind with the tenant as key, and one pair of queries
//! for all of them.

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use simgate_domain::TenantId;
use simgate_domain::entities::RepositoryError;
use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError, millis};

/// Which document: names its table and column (constants, never input).
#[derive(Debug, Clone, Copy)]
pub(crate) enum TenantDocument {
    /// `tenant_pricing.rules`.
    Pricing,
    /// `tenant_routing.policy`.
    Routing,
    /// `tenant_limits.limits`.
    Limits,
}

impl TenantDocument {
    fn table_and_column(self) -> (&'static str, &'static str) {
        match self {
            Self::Pricing => ("tenant_pricing", "rules"),
            Self::Routing => ("tenant_routing", "policy"),
            Self::Limits => ("tenant_limits", "limits"),
        }
    }
}

impl Store {
    /// The tenant's document of this kind, or `None` when it has set none.
    pub(crate) async fn tenant_document<T: DeserializeOwned>(
        &self,
        kind: TenantDocument,
        tenant: &TenantId,
    ) -> Result<Option<T>, RepositoryError> {
        let (table, column) = kind.table_and_column();
        let result: Result<Option<T>, StoreError> = async {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {column} FROM {table} WHERE tenant_id = $1"
            )))
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
            row.map(|row| {
                let json: String = row.try_get(column)?;
                serde_json::from_str(&json).map_err(StoreError::corrupt)
            })
            .transpose()
        }
        .await;
        Ok(result?)
    }

    /// Replaces the tenant's (already validated) document of this kind.
    pub(crate) async fn put_tenant_document<T: Serialize + Sync>(
        &self,
        kind: TenantDocument,
        tenant: &TenantId,
        document: &T,
    ) -> Result<(), RepositoryError> {
        let (table, column) = kind.table_and_column();
        let result: Result<(), StoreError> = async {
            let json = serde_json::to_string(document).map_err(StoreError::corrupt)?;
            let mut tx = self.writer().begin().await?;
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE tenant_id = $1"
            )))
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await?;
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {table} (tenant_id, {column}, updated_at) VALUES ($1, $2, $3)"
            )))
            .bind(tenant.as_str())
            .bind(json)
            .bind(millis(Utc::now()))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        Ok(result?)
    }
}
