//! Console sign-in sessions: one row per signed-in browser, keyed by the
//! hash of its cookie token.

use chrono::{DateTime, Utc};
use simgate_domain::entities::{ConsoleSession, RepositoryError};
use simgate_domain::repository::SessionRepository;
use sqlx::Row;

use crate::{Store, StoreError, from_millis, millis};

#[async_trait::async_trait]
impl SessionRepository for Store {
    async fn insert_session(
        &self,
        session: &ConsoleSession,
        now: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let result: Result<(), StoreError> = async {
            let mut tx = self.writer().begin().await?;
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO console_sessions \
                 (token_hash, operator, tenant_id, csrf_token, created_at, expires_at, \
                 credential) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&session.token_hash)
            .bind(i64::from(session.operator))
            .bind(session.tenant_id.as_deref())
            .bind(&session.csrf_token)
            .bind(millis(now))
            .bind(millis(session.expires_at))
            .bind(&session.credential)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        Ok(result?)
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        operator_credential: Option<&str>,
    ) -> Result<Option<ConsoleSession>, RepositoryError> {
        let result: Result<Option<ConsoleSession>, StoreError> = async {
            // The credential is checked in the same read: a revoked key, a
            // disabled tenant or another operator key ends the session on
            // every instance at once.
            let row = sqlx::query(
                "SELECT s.token_hash, s.operator, s.tenant_id, s.csrf_token, s.expires_at, \
                 s.credential FROM console_sessions s \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.credential <> '' \
                 AND ((s.operator = 1 AND s.credential = $3) \
                 OR (s.operator = 0 AND EXISTS (SELECT 1 FROM api_keys k \
                 JOIN tenants t ON t.id = k.tenant_id \
                 WHERE k.key_hash = s.credential AND t.id = s.tenant_id \
                 AND t.disabled_at IS NULL)))",
            )
            .bind(token_hash)
            .bind(millis(now))
            .bind(operator_credential.unwrap_or_default())
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            Ok(Some(ConsoleSession {
                token_hash: row.try_get("token_hash")?,
                operator: row.try_get::<i64, _>("operator")? == 1,
                tenant_id: row.try_get("tenant_id")?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: from_millis(row.try_get("expires_at")?),
                credential: row.try_get("credential")?,
            }))
        }
        .await;
        Ok(result?)
    }

    async fn set_session_tenant(
        &self,
        token_hash: &str,
        tenant_id: &str,
    ) -> Result<(), RepositoryError> {
        let result: Result<(), StoreError> = async {
            sqlx::query("UPDATE console_sessions SET tenant_id = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(tenant_id)
                .execute(self.writer())
                .await?;
            Ok(())
        }
        .await;
        Ok(result?)
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), RepositoryError> {
        let result: Result<(), StoreError> = async {
            sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(self.writer())
                .await?;
            Ok(())
        }
        .await;
        Ok(result?)
    }
}
