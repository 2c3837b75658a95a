//! Refunds of sales: recorded once per reference, crediting the tenant as
//! the refund asks, and moving the order to `refunded` with its event when
//! its last unit is refunded.

use chrono::Utc;
use simgate_domain::entities::{NewRefund, RefundOutcome, RefundRecord, RepositoryError};
use simgate_domain::{Currency, HoldState, Iccid, LedgerKind, OrderId, OrderStatus};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Entry, post_in};
use crate::events::record_order_event_in;
use crate::orders::{ORDER_COLUMNS, order_from_stored_row, order_row};
use crate::{Store, StoreError, from_millis, millis, new_id};

impl Store {
    /// Records a refund of (part of) a captured sale once; see
    /// [`AccountRepository::record_refund`].
    pub(super) async fn refund(
        &self,
        refund: &NewRefund,
    ) -> Result<RefundOutcome, RepositoryError> {
        let now = millis(Utc::now());
        let target = refund
            .iccid
            .as_ref()
            .map_or_else(|| "order".to_owned(), |i| i.as_str().to_owned());
        let reference = format!("refund:{}:{target}", refund.order_id);
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let existing = sqlx::query(
            "SELECT id, order_id, iccid, units, provider_refunded, amount_micros, currency, reason, \
             created_at FROM refunds WHERE reference = $1",
        )
        .bind(reference.clone())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if let Some(row) = existing {
            let found = refund_from_row(&row)?;
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(RefundOutcome::Existing(found));
        }
        let Some(order) = order_row(&mut tx, &refund.order_id).await? else {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(RefundOutcome::NothingToRefund);
        };
        let captured = order.hold.filter(|h| h.state == HoldState::Captured);
        let refunded_units: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) AS units FROM refunds WHERE order_id = $1",
        )
        .bind(order.id.0.clone())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .try_get("units")
        .map_err(StoreError::from)?;
        let quantity = i64::from(order.quantity);
        let left = quantity - refunded_units;
        let refundable = matches!(order.status, OrderStatus::Completed | OrderStatus::Refunded);
        let (Some(hold), true, true) = (captured, left > 0, refundable) else {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(RefundOutcome::NothingToRefund);
        };
        let units = if refund.iccid.is_some() { 1 } else { left };
        // Each unit's share of what was captured; the last unit takes the
        // remainder, so the shares add up to the capture exactly.
        let share = hold.micros / quantity;
        let value = if refunded_units + units == quantity {
            hold.micros - share * refunded_units
        } else {
            share * units
        };
        let credited = if refund.credit_tenant { value } else { 0 };
        let id = new_id("rfd");
        sqlx::query(
            "INSERT INTO refunds (id, reference, order_id, tenant_id, iccid, units, provider_refunded, \
             amount_micros, currency, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.clone())
        .bind(reference.clone())
        .bind(order.id.0.clone())
        .bind(order.tenant_id.clone())
        .bind(refund.iccid.as_ref().map(|i| i.as_str().to_owned()))
        .bind(units)
        .bind(i64::from(refund.provider_refunded))
        .bind(credited)
        .bind(hold.currency.code())
        .bind(refund.reason.clone())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if credited > 0 {
            post_in(
                &mut tx,
                &Entry {
                    tenant_id: &order.tenant_id,
                    kind: LedgerKind::Refund,
                    amount_micros: credited,
                    held_micros: 0,
                    currency: hold.currency.code(),
                    reference: &reference,
                    order_id: Some(&order.id.0),
                    fx_rate: None,
                    note: Some(&refund.reason),
                },
                now,
            )
            .await?;
        }
        let all_refunded = refunded_units + units == quantity;
        let mut event = None;
        let moved = if all_refunded {
            let row = sqlx::query(AssertSqlSafe(format!(
                "UPDATE orders SET status = 'refunded', refunded_micros = refunded_micros + $2, \
                 hold_state = 'refunded', \
                 updated_at = $3, fence = fence + 1, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND status = 'completed' RETURNING {ORDER_COLUMNS}"
            )))
            .bind(order.id.0.clone())
            .bind(credited)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            match row {
                Some(row) => {
                    let mut moved = order_from_stored_row(&row)?;
                    moved.iccids = order.iccids.clone();
                    event = record_order_event_in(&mut tx, &moved, now).await?;
                    true
                }
                None => false,
            }
        } else {
            false
        };
        if !moved {
            sqlx::query(
                "UPDATE orders SET refunded_micros = refunded_micros + $2, updated_at = $3, \
                 hold_state = CASE WHEN $4 = 1 THEN 'refunded' ELSE hold_state END WHERE id = $1",
            )
            .bind(order.id.0.clone())
            .bind(credited)
            .bind(now)
            .bind(i64::from(all_refunded))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(RefundOutcome::Recorded {
            refund: RefundRecord {
                id,
                order_id: order.id.clone(),
                iccid: refund.iccid.clone(),
                units: u32::try_from(units).map_err(StoreError::corrupt)?,
                provider_refunded: refund.provider_refunded,
                micros: credited,
                currency: hold.currency,
                reason: refund.reason.clone(),
                created_at: from_millis(now),
            },
            order_refunded: moved,
            event,
        })
    }
}

fn refund_from_row(row: &AnyRow) -> Result<RefundRecord, StoreError> {
    let currency: String = row.try_get("currency")?;
    Ok(RefundRecord {
        id: row.try_get("id")?,
        order_id: OrderId(row.try_get("order_id")?),
        iccid: row
            .try_get::<Option<String>, _>("iccid")?
            .map(|i| Iccid::parse(&i).map_err(StoreError::corrupt))
            .transpose()?,
        units: u32::try_from(row.try_get::<i64, _>("units")?).map_err(StoreError::corrupt)?,
        provider_refunded: row.try_get::<i64, _>("provider_refunded")? == 1,
        micros: row.try_get("amount_micros")?,
        currency: Currency::parse(&currency).map_err(StoreError::corrupt)?,
        reason: row.try_get("reason")?,
        created_at: from_millis(row.try_get("created_at")?),
    })
}
