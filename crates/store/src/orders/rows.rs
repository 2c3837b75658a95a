//! Stored rows read back into the domain's order, eSIM and dashboard
//! records.

use rust_decimal::Decimal;
use simgate_domain::entities::{HourlyOrders, SalePrice};
use simgate_domain::{
    ActivationCode, Currency, Iccid, InstallDetails, Money, OrderHold, OrderId, OrderKind,
    ProductId,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{EsimRecord, OrderFailure, OrderRecord, StoreError, from_millis};

/// One hour's order count and sums of one status and currency.
pub(super) fn hourly_from_row(row: &AnyRow) -> Result<HourlyOrders, StoreError> {
    const HOUR_MILLIS: i64 = 3_600_000;
    let currency = |code: String| Currency::parse(&code).map_err(StoreError::corrupt);
    let status: String = row.try_get("status")?;
    let margin = match (
        row.try_get::<Option<i64>, _>("margin")?,
        row.try_get::<Option<String>, _>("price_currency")?,
    ) {
        (Some(margin), Some(code)) => Some(Money::from_micros(margin, currency(code)?)),
        _ => None,
    };
    Ok(HourlyOrders {
        hour: from_millis(row.try_get::<i64, _>("hour")? * HOUR_MILLIS),
        status: status.parse().map_err(StoreError::corrupt)?,
        orders: u64::try_from(row.try_get::<i64, _>("orders")?).map_err(StoreError::corrupt)?,
        charged: Money::from_micros(row.try_get("charged")?, currency(row.try_get("currency")?)?),
        margin,
    })
}

/// An order row (of `ORDER_COLUMNS`), without its eSIM links.
pub(crate) fn order_from_row(row: &AnyRow) -> Result<OrderRecord, StoreError> {
    let product_id: String = row.try_get("product_id")?;
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "new_esim" => OrderKind::NewEsim,
        "top_up" => {
            let iccid: Option<String> = row.try_get("target_iccid")?;
            let iccid = iccid.ok_or_else(|| StoreError::corrupt("top-up without ICCID"))?;
            OrderKind::TopUp {
                iccid: Iccid::parse(&iccid).map_err(StoreError::corrupt)?,
            }
        }
        other => return Err(StoreError::corrupt(format!("order kind {other}"))),
    };
    let currency: String = row.try_get("currency")?;
    let sale = match (
        row.try_get::<Option<i64>, _>("price_micros")?,
        row.try_get::<Option<String>, _>("price_currency")?,
        row.try_get::<Option<i64>, _>("margin_micros")?,
    ) {
        (Some(price), Some(code), Some(margin)) => {
            let currency = Currency::parse(&code).map_err(StoreError::corrupt)?;
            Some(SalePrice {
                price: Money::from_micros(price, currency),
                margin: Money::from_micros(margin, currency),
            })
        }
        _ => None,
    };
    let status: String = row.try_get("status")?;
    let error_code: Option<String> = row.try_get("error_code")?;
    let failure = error_code
        .map(|code| -> Result<OrderFailure, StoreError> {
            Ok(OrderFailure {
                code,
                message: row
                    .try_get::<Option<String>, _>("error_message")?
                    .unwrap_or_default(),
                retryable: row.try_get::<i64, _>("retryable")? == 1,
            })
        })
        .transpose()?;
    Ok(OrderRecord {
        id: OrderId(row.try_get("id")?),
        tenant_id: row.try_get("tenant_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        product_id: ProductId::parse(&product_id).map_err(StoreError::corrupt)?,
        kind,
        quantity: row.try_get::<i64, _>("quantity")? as u32,
        unit_price: Money::from_micros(
            row.try_get("unit_price_micros")?,
            Currency::parse(&currency).map_err(StoreError::corrupt)?,
        ),
        sale,
        status: status.parse().map_err(StoreError::corrupt)?,
        upstream_ref: row.try_get("upstream_ref")?,
        provider_status: row.try_get("provider_status")?,
        failure,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        submitted_at: row
            .try_get::<Option<i64>, _>("submitted_at")?
            .map(from_millis),
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        fence: row.try_get("fence")?,
        iccids: Vec::new(),
        offer_id: row.try_get("offer_id")?,
        candidates: serde_json::from_str(&row.try_get::<String, _>("candidates")?)
            .map_err(StoreError::corrupt)?,
        attempt_log: serde_json::from_str(&row.try_get::<String, _>("attempt_log")?)
            .map_err(StoreError::corrupt)?,
        hold: hold_from_row(row)?,
        refunded_micros: row.try_get("refunded_micros")?,
    })
}

/// The order's hold (`hold_*` columns), if it has one.
pub(crate) fn hold_from_row(row: &AnyRow) -> Result<Option<OrderHold>, StoreError> {
    let (Some(micros), Some(currency), Some(state)) = (
        row.try_get::<Option<i64>, _>("hold_micros")?,
        row.try_get::<Option<String>, _>("hold_currency")?,
        row.try_get::<Option<String>, _>("hold_state")?,
    ) else {
        return Ok(None);
    };
    let fx_rate = row
        .try_get::<Option<String>, _>("hold_fx_rate")?
        .map(|rate| rate.parse::<Decimal>().map_err(StoreError::corrupt))
        .transpose()?;
    Ok(Some(OrderHold {
        micros,
        currency: Currency::parse(&currency).map_err(StoreError::corrupt)?,
        state: state.parse().map_err(StoreError::corrupt)?,
        seq: row.try_get("hold_seq")?,
        fx_rate,
    }))
}

/// An eSIM row with its install details.
pub(super) fn esim_from_row(row: &AnyRow) -> Result<EsimRecord, StoreError> {
    let iccid: String = row.try_get("iccid")?;
    let provider: String = row.try_get("provider")?;
    Ok(EsimRecord {
        tenant_id: row.try_get("tenant_id")?,
        provider: provider.parse().map_err(StoreError::corrupt)?,
        order_id: OrderId(row.try_get("order_id")?),
        install: InstallDetails {
            iccid: Iccid::parse(&iccid).map_err(StoreError::corrupt)?,
            activation: ActivationCode {
                smdp_address: row.try_get("smdp_address")?,
                matching_id: row.try_get("matching_id")?,
                smdp_oid: row.try_get("smdp_oid")?,
                confirmation_code_required: row.try_get::<i64, _>("confirmation_code_required")?
                    == 1,
            },
            confirmation_code: row.try_get("confirmation_code")?,
        },
        created_at: from_millis(row.try_get("created_at")?),
    })
}
