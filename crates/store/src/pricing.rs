//! FX rates and per-tenant pricing rules.

use std::str::FromStr;

use chrono::Utc;
use rust_decimal::Decimal;
use simgate_domain::orchestration::{FxRate, PricingRules};
use simgate_domain::{Currency, TenantId};
use sqlx::Row;

use crate::tenant_documents::TenantDocument;
use crate::{Store, StoreError, millis};
use simgate_domain::entities::RepositoryError;

/// FX rates and pricing rules.
#[async_trait::async_trait]
impl simgate_domain::repository::PricingRepository for Store {
    /// The FX table's change counter: equal counters mean equal tables, so
    /// an instance checks it instead of re-reading every rate.
    async fn fx_version(&self) -> Result<i64, RepositoryError> {
        let result: Result<i64, StoreError> = async {
            let row = sqlx::query("SELECT version FROM fx_version WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
            Ok(row.try_get("version")?)
        }
        .await;
        Ok(result?)
    }

    /// Every stored rate and the version they belong to, read in one
    /// transaction so the pair is consistent.
    async fn fx_rates(&self) -> Result<(i64, Vec<FxRate>), RepositoryError> {
        let result: Result<(i64, Vec<FxRate>), StoreError> = async {
            let mut tx = self.writer().begin().await?;
            let version: i64 = sqlx::query("SELECT version FROM fx_version WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?
                .try_get("version")?;
            let rows = sqlx::query("SELECT base, quote, rate FROM fx_rates ORDER BY base, quote")
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            let rates = rows
                .iter()
                .map(|row| {
                    let base: String = row.try_get("base")?;
                    let quote: String = row.try_get("quote")?;
                    let rate: String = row.try_get("rate")?;
                    Ok(FxRate {
                        base: Currency::parse(&base).map_err(StoreError::corrupt)?,
                        quote: Currency::parse(&quote).map_err(StoreError::corrupt)?,
                        rate: Decimal::from_str(&rate).map_err(StoreError::corrupt)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((version, rates))
        }
        .await;
        Ok(result?)
    }

    /// Stores `rates` (already validated), replacing the rate of each pair
    /// and of its inverse; with `replace_all`, every other rate goes too.
    /// Bumps the version so other instances reload.
    async fn put_fx_rates(
        &self,
        rates: &[FxRate],
        replace_all: bool,
    ) -> Result<(), RepositoryError> {
        let result: Result<(), StoreError> = async {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await?;
        if replace_all {
            sqlx::query("DELETE FROM fx_rates")
                .execute(&mut *tx)
                .await?;
        }
        for rate in rates {
            sqlx::query(
                "DELETE FROM fx_rates WHERE (base = $1 AND quote = $2) OR (base = $2 AND quote = $1)",
            )
            .bind(rate.base.code())
            .bind(rate.quote.code())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO fx_rates (base, quote, rate, updated_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(rate.base.code())
            .bind(rate.quote.code())
            .bind(rate.rate.normalize().to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE fx_version SET version = version + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
        .await;
        Ok(result?)
    }

    /// A tenant's pricing rules, or `None` when it has set none.
    async fn pricing_rules(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<PricingRules>, RepositoryError> {
        self.tenant_document(TenantDocument::Pricing, tenant).await
    }

    /// Replaces a tenant's (already validated) pricing rules.
    async fn put_pricing_rules(
        &self,
        tenant: &TenantId,
        rules: &PricingRules,
    ) -> Result<(), RepositoryError> {
        self.put_tenant_document(TenantDocument::Pricing, tenant, rules)
            .await
    }
}
