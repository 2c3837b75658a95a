//! Tenants and their API keys (stored hashed; the key itself is never kept).

use async_trait::async_trait;
use simgate_domain::TenantId;
use simgate_domain::entities::{OPERATOR_OWNER, RepositoryError};
use simgate_domain::limits::TenantLimits;
use simgate_domain::repository::TenantRepository;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::tenant_documents::TenantDocument;
use crate::{Store, StoreError, Tenant, TenantAccount, from_millis, millis};

/// SHA-256 of an API key, hex. Keys are long random strings, so a fast hash
/// is enough; the plain key is shown once and never stored.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[async_trait]
impl TenantRepository for Store {
    async fn create_tenant(&self, id: &str, name: &str) -> Result<Tenant, RepositoryError> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(millis(Utc::now()))
            .execute(self.writer())
            .await
            .map_err(|e| taken_or(e, || format!("tenant name {name:?}")))?;
        Ok(Tenant {
            id: id.to_owned(),
            name: name.to_owned(),
        })
    }

    async fn tenant(&self, id: &str) -> Result<Option<Tenant>, RepositoryError> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from)?;
        Ok(row.as_ref().map(tenant_from_row).transpose()?)
    }

    async fn tenant_accounts(&self) -> Result<Vec<TenantAccount>, RepositoryError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, disabled_at FROM tenants WHERE id <> $1 \
             ORDER BY created_at, id",
        )
        // The operator's reserved owner row is no tenant.
        .bind(OPERATOR_OWNER)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let keys = sqlx::query("SELECT tenant_id, key_prefix FROM api_keys ORDER BY created_at")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from)?;
        let mut prefixes: HashMap<String, Vec<String>> = HashMap::new();
        for key in &keys {
            prefixes
                .entry(key.try_get("tenant_id").map_err(StoreError::from)?)
                .or_default()
                .push(key.try_get("key_prefix").map_err(StoreError::from)?);
        }
        rows.iter()
            .map(|row| {
                let mut account = account_from_row(row)?;
                account.key_prefixes = prefixes.remove(&account.id).unwrap_or_default();
                Ok(account)
            })
            .collect()
    }

    async fn tenant_account(&self, id: &str) -> Result<Option<TenantAccount>, RepositoryError> {
        let row =
            sqlx::query("SELECT id, name, created_at, disabled_at FROM tenants WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::from)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut account = account_from_row(&row)?;
        account.key_prefixes =
            sqlx::query("SELECT key_prefix FROM api_keys WHERE tenant_id = $1 ORDER BY created_at")
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from)?
                .iter()
                .map(|r| r.try_get("key_prefix"))
                .collect::<Result<_, _>>()
                .map_err(StoreError::from)?;
        Ok(Some(account))
    }

    async fn add_api_key(&self, tenant_id: &str, key: &str) -> Result<(), RepositoryError> {
        sqlx::query(
            "INSERT INTO api_keys (key_hash, tenant_id, key_prefix, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key_hash) DO NOTHING",
        )
        .bind(hash_api_key(key))
        .bind(tenant_id)
        .bind(key_prefix(key))
        .bind(millis(Utc::now()))
        .execute(self.writer())
        .await.map_err(StoreError::from)?;
        Ok(())
    }

    async fn replace_api_keys(&self, tenant_id: &str, key: &str) -> Result<bool, RepositoryError> {
        // Writes first: a SQLite transaction that reads before writing
        // fails at once if another connection wrote meanwhile.
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        sqlx::query("DELETE FROM api_keys WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let inserted = sqlx::query(
            "INSERT INTO api_keys (key_hash, tenant_id, key_prefix, created_at) \
             SELECT $1, id, $3, $4 FROM tenants WHERE id = $2",
        )
        .bind(hash_api_key(key))
        .bind(tenant_id)
        .bind(key_prefix(key))
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        end_tenant_sessions(&mut tx, tenant_id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    }

    async fn disable_tenant(&self, id: &str, at: DateTime<Utc>) -> Result<bool, RepositoryError> {
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        sqlx::query("UPDATE tenants SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL")
            .bind(id)
            .bind(millis(at))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        end_tenant_sessions(&mut tx, id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(self.tenant(id).await?.is_some())
    }

    async fn tenant_by_api_key(&self, key: &str) -> Result<Option<Tenant>, RepositoryError> {
        let row = sqlx::query(
            "SELECT t.id, t.name FROM api_keys k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.key_hash = $1 AND t.disabled_at IS NULL",
        )
        .bind(hash_api_key(key))
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(row.as_ref().map(tenant_from_row).transpose()?)
    }

    async fn tenant_limits(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<TenantLimits>, RepositoryError> {
        self.tenant_document(TenantDocument::Limits, tenant).await
    }

    async fn put_tenant_limits(
        &self,
        tenant: &TenantId,
        limits: &TenantLimits,
    ) -> Result<(), RepositoryError> {
        self.put_tenant_document(TenantDocument::Limits, tenant, limits)
            .await
    }
}

/// Deletes the console sessions opened with a tenant's keys (not the
/// operator's sessions that merely show the tenant). Reading a session
/// already checks its key; deleting them as well leaves no revoked session
/// behind in the table.
async fn end_tenant_sessions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM console_sessions WHERE operator = 0 AND tenant_id = $1")
        .bind(tenant_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What is kept of a key in clear: enough to recognise it (`sk_live_` and
/// four random characters), too little to use it.
fn key_prefix(key: &str) -> String {
    key.chars().take(12).collect()
}

/// A unique-constraint violation as [`StoreError::Taken`] naming `what`;
/// any other failure as it is.
fn taken_or(error: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Taken(what()),
        _ => StoreError::Database(error),
    }
}

fn tenant_from_row(row: &AnyRow) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
    })
}

fn account_from_row(row: &AnyRow) -> Result<TenantAccount, StoreError> {
    Ok(TenantAccount {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: from_millis(row.try_get("created_at")?),
        disabled_at: row
            .try_get::<Option<i64>, _>("disabled_at")?
            .map(from_millis),
        key_prefixes: Vec::new(),
    })
}
