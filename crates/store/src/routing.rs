//! Each tenant's routing policy, stored as validated JSON.

use chrono::Utc;
use simgate_domain::TenantId;
use simgate_domain::entities::RepositoryError;
use simgate_domain::orchestration::RoutingPolicy;
use simgate_domain::repository::RoutingRepository;
use sqlx::Row;

use crate::{Store, StoreError, millis};

#[async_trait::async_trait]
impl RoutingRepository for Store {
    async fn routing_policy(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<RoutingPolicy>, RepositoryError> {
        let result: Result<Option<RoutingPolicy>, StoreError> = async {
            let row = sqlx::query("SELECT policy FROM tenant_routing WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await?;
            row.map(|row| {
                let policy: String = row.try_get("policy")?;
                serde_json::from_str(&policy).map_err(StoreError::corrupt)
            })
            .transpose()
        }
        .await;
        Ok(result?)
    }

    async fn put_routing_policy(
        &self,
        tenant: &TenantId,
        policy: &RoutingPolicy,
    ) -> Result<(), RepositoryError> {
        let result: Result<(), StoreError> = async {
            let json = serde_json::to_string(policy).map_err(StoreError::corrupt)?;
            let mut tx = self.pool.begin().await?;
            sqlx::query("DELETE FROM tenant_routing WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO tenant_routing (tenant_id, policy, updated_at) VALUES ($1, $2, $3)",
            )
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
