//! Tenants and their API keys (stored hashed; the key itself is never kept).

use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, Tenant, millis};

/// SHA-256 of an API key, hex. Keys are long random strings, so a fast hash
/// is enough; the plain key is shown once and never stored.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Store {
    /// Creates a tenant.
    pub async fn create_tenant(&self, id: &str, name: &str) -> Result<Tenant, StoreError> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(millis(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(Tenant {
            id: id.to_owned(),
            name: name.to_owned(),
        })
    }

    /// A tenant by id.
    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query("SELECT id, name FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    /// Stores an API key (hashed) for a tenant. Adding the same key twice is a no-op.
    pub async fn add_api_key(&self, tenant_id: &str, key: &str) -> Result<(), StoreError> {
        let prefix: String = key.chars().take(8).collect();
        sqlx::query(
            "INSERT INTO api_keys (key_hash, tenant_id, key_prefix, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key_hash) DO NOTHING",
        )
        .bind(hash_api_key(key))
        .bind(tenant_id)
        .bind(prefix)
        .bind(millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The tenant an API key belongs to, if any.
    pub async fn tenant_by_api_key(&self, key: &str) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.name FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1",
        )
        .bind(hash_api_key(key))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(tenant_from_row).transpose()
    }
}

fn tenant_from_row(row: &AnyRow) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
    })
}
