//! `simgate reconcile --provider P --from … [--to …] [--sandbox-admin URL]`:
//! what the provider says it sold against simgate's purchase ledger.
//!
//! The provider's side comes from its own order list (`orders_since` on the
//! connector: eSIM Go's `GET /orders`, with each order's total), or, with
//! `--sandbox-admin`, from a simulator's `GET /__admin/purchases` (every
//! simulator has it; it lists no costs, so costs are not compared then).
//! An explicit flag rather than a guess from `base_url`: a real provider's
//! URL never answers `/__admin`, and a probe would send the provider's
//! credentials nowhere useful.

use chrono::{DateTime, Days, NaiveDate, Utc};
use simgate_domain::ProviderId;
use simgate_sandbox::simulator::PurchaseList;
use simgate_service::Services;
use simgate_service::purchase_audit::{ProviderPurchase, PurchaseAudit};

/// Why a reconciliation could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{flag}: {value:?} is neither RFC 3339 nor YYYY-MM-DD")]
    InvalidDate { flag: &'static str, value: String },
    #[error("--from {from} is not before --to {to}")]
    EmptyPeriod {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    #[error("the simulator's purchase list at {url}: {source}")]
    Simulator {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the simulator listed a purchase dated {0:?}, not RFC 3339")]
    SimulatorDate(String),
    #[error(transparent)]
    Service(#[from] simgate_service::ServiceError),
}

/// Which end of the period a date names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `--from`: a day starts at its midnight (UTC).
    Start,
    /// `--to` (exclusive): a day counts whole, up to the next midnight.
    End,
}

/// An instant from RFC 3339 or a `YYYY-MM-DD` day (UTC).
pub fn parse_instant(
    flag: &'static str,
    value: &str,
    bound: Bound,
) -> Result<DateTime<Utc>, ReconcileError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    let invalid = || ReconcileError::InvalidDate {
        flag,
        value: value.to_owned(),
    };
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid())?;
    let day = match bound {
        Bound::Start => day,
        Bound::End => day.checked_add_days(Days::new(1)).ok_or_else(invalid)?,
    };
    Ok(day.and_hms_opt(0, 0, 0).ok_or_else(invalid)?.and_utc())
}

/// A simulator's purchases, from its `GET /__admin/purchases`.
pub async fn simulator_purchases(base_url: &str) -> Result<Vec<ProviderPurchase>, ReconcileError> {
    let url = format!("{}/__admin/purchases", base_url.trim_end_matches('/'));
    let failed = |source| ReconcileError::Simulator {
        url: url.clone(),
        source,
    };
    let list: PurchaseList = reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(failed)?
        .json()
        .await
        .map_err(failed)?;
    list.purchases
        .into_iter()
        .map(|purchase| {
            let created_at = DateTime::parse_from_rfc3339(&purchase.created_at)
                .map_err(|_| ReconcileError::SimulatorDate(purchase.created_at.clone()))?
                .with_timezone(&Utc);
            Ok(ProviderPurchase {
                reference: purchase.reference,
                cost: None,
                created_at: Some(created_at),
            })
        })
        .collect()
}

/// Compares the provider's purchases in `[from, to)` with the ledger.
pub async fn reconcile(
    services: &Services,
    provider: ProviderId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    sandbox_admin: Option<&str>,
) -> Result<PurchaseAudit, ReconcileError> {
    if from >= to {
        return Err(ReconcileError::EmptyPeriod { from, to });
    }
    let upstream = match sandbox_admin {
        Some(url) => simulator_purchases(url).await?,
        None => services.provider_purchases(provider, from).await?,
    };
    Ok(services
        .audit_purchases(provider, from, to, &upstream)
        .await?)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn dates_are_rfc3339_or_whole_days() {
        let day = |d| Utc.with_ymd_and_hms(2026, 12, d, 0, 0, 0).unwrap();
        assert_eq!(
            parse_instant("--from", "2026-12-07", Bound::Start).unwrap(),
            day(7)
        );
        assert_eq!(
            parse_instant("--to", "2026-12-07", Bound::End).unwrap(),
            day(8)
        );
        assert_eq!(
            parse_instant("--to", "2026-12-07T01:00:00+01:00", Bound::End).unwrap(),
            day(7)
        );
        let error = parse_instant("--from", "07/12/2026", Bound::Start).unwrap_err();
        assert!(error.to_string().contains("--from"), "{error}");
    }
}
