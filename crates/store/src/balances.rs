//! Provider balances (migration 0018) and the spend per provider that the
//! purchase ledger shows, costed at the orders' frozen prices.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use simgate_domain::entities::{
    LedgerPurchase, ProviderBalance, ProviderSpend, RepositoryError, StoredBalance,
};
use simgate_domain::repository::BalanceRepository;
use simgate_domain::{Currency, Money, ProviderId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, from_millis, millis};

fn balance(row: &AnyRow) -> Result<ProviderBalance, StoreError> {
    let provider: String = row.try_get("provider")?;
    let currency: String = row.try_get("currency")?;
    Ok(ProviderBalance {
        provider: provider.parse().map_err(StoreError::corrupt)?,
        balance: Money::from_micros(
            row.try_get("amount_micros")?,
            Currency::parse(&currency).map_err(StoreError::corrupt)?,
        ),
        read_at: from_millis(row.try_get("read_at")?),
        read_id: row.try_get("read_id")?,
    })
}

#[async_trait]
impl BalanceRepository for Store {
    async fn put_balance(
        &self,
        read: &ProviderBalance,
        below_threshold: bool,
    ) -> Result<StoredBalance, RepositoryError> {
        let micros = read.balance.to_micros().map_err(StoreError::corrupt)?;
        // `excluded.low_read_id` is this read's id when it is below the
        // threshold: kept only when no earlier read of this crossing is.
        let row = sqlx::query(
            "INSERT INTO provider_balances (provider, amount_micros, currency, read_at, read_id, \
             low_read_id) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (provider) DO UPDATE SET amount_micros = excluded.amount_micros, \
             currency = excluded.currency, read_at = excluded.read_at, read_id = excluded.read_id, \
             low_read_id = CASE WHEN excluded.low_read_id IS NULL THEN NULL \
             ELSE COALESCE(provider_balances.low_read_id, excluded.low_read_id) END \
             WHERE provider_balances.read_at <= excluded.read_at \
             RETURNING low_read_id",
        )
        .bind(read.provider.as_str())
        .bind(micros)
        .bind(read.balance.currency.code())
        .bind(millis(read.read_at))
        .bind(read.read_id.clone())
        .bind(below_threshold.then(|| read.read_id.clone()))
        .fetch_optional(self.writer())
        .await
        .map_err(StoreError::from)?;
        Ok(match row {
            None => StoredBalance::Outdated,
            Some(row) => StoredBalance::Stored {
                low_read_id: row.try_get("low_read_id").map_err(StoreError::from)?,
            },
        })
    }

    async fn balances(&self) -> Result<Vec<ProviderBalance>, RepositoryError> {
        let rows = sqlx::query(
            "SELECT provider, amount_micros, currency, read_at, read_id FROM provider_balances \
             ORDER BY provider",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(balance)
            .collect::<Result<_, StoreError>>()?)
    }

    async fn provider_spend(
        &self,
        provider: ProviderId,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<ProviderSpend>, RepositoryError> {
        // Sums cast back to BIGINT: PostgreSQL sums BIGINTs as NUMERIC,
        // which the Any driver cannot read.
        let rows = sqlx::query(
            "SELECT o.currency AS currency, \
             CAST(SUM(o.unit_price_micros * o.quantity) AS BIGINT) AS total, \
             CAST(SUM(CASE WHEN p.recorded_at > $2 THEN o.unit_price_micros * o.quantity \
             ELSE 0 END) AS BIGINT) AS since_read, \
             COUNT(*) AS purchases \
             FROM upstream_purchases p JOIN orders o ON o.id = p.local_id \
             WHERE p.provider = $1 AND p.local_kind = 'order' \
             GROUP BY o.currency ORDER BY o.currency",
        )
        .bind(provider.as_str())
        .bind(since.map_or(i64::MIN, millis))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let mut spend = Vec::with_capacity(rows.len());
        for row in &rows {
            let code: String = row.try_get("currency").map_err(StoreError::from)?;
            let currency = Currency::parse(&code).map_err(StoreError::corrupt)?;
            let amount = |column: &str| -> Result<Money, StoreError> {
                Ok(Money::from_micros(row.try_get(column)?, currency))
            };
            spend.push(ProviderSpend {
                total: amount("total")?,
                since_read: amount("since_read")?,
                purchases: u64::try_from(
                    row.try_get::<i64, _>("purchases")
                        .map_err(StoreError::from)?,
                )
                .map_err(StoreError::corrupt)?,
            });
        }
        Ok(spend)
    }

    async fn ledger_between(
        &self,
        provider: ProviderId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LedgerPurchase>, RepositoryError> {
        let rows = sqlx::query(
            "SELECT p.upstream_ref AS upstream_ref, p.local_kind AS local_kind, \
             p.local_id AS local_id, p.linked AS linked, p.recorded_at AS recorded_at, \
             o.unit_price_micros AS unit_price_micros, o.quantity AS quantity, \
             o.currency AS currency \
             FROM upstream_purchases p LEFT JOIN orders o \
             ON p.local_kind = 'order' AND o.id = p.local_id \
             WHERE p.provider = $1 AND p.recorded_at >= $2 AND p.recorded_at < $3 \
             ORDER BY p.recorded_at, p.upstream_ref",
        )
        .bind(provider.as_str())
        .bind(millis(from))
        .bind(millis(to))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let mut ledger = Vec::with_capacity(rows.len());
        for row in &rows {
            let unit: Option<i64> = row.try_get("unit_price_micros").map_err(StoreError::from)?;
            let quantity: Option<i64> = row.try_get("quantity").map_err(StoreError::from)?;
            let code: Option<String> = row.try_get("currency").map_err(StoreError::from)?;
            let cost = match (unit, quantity, code) {
                (Some(unit), Some(quantity), Some(code)) => {
                    let currency = Currency::parse(&code).map_err(StoreError::corrupt)?;
                    let micros = unit
                        .checked_mul(quantity)
                        .ok_or_else(|| StoreError::corrupt("order cost out of range"))?;
                    Some(Money::from_micros(micros, currency))
                }
                _ => None,
            };
            ledger.push(LedgerPurchase {
                upstream_ref: row.try_get("upstream_ref").map_err(StoreError::from)?,
                local_kind: row.try_get("local_kind").map_err(StoreError::from)?,
                local_id: row.try_get("local_id").map_err(StoreError::from)?,
                linked: row.try_get::<i64, _>("linked").map_err(StoreError::from)? == 1,
                cost,
                recorded_at: from_millis(row.try_get("recorded_at").map_err(StoreError::from)?),
            });
        }
        Ok(ledger)
    }
}
