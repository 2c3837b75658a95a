//! `simgate reconcile`: the provider's own list of purchases against
//! simgate's purchase ledger (`upstream_purchases`) over a period, each
//! difference named: bought upstream but linked to no order, linked but
//! unknown upstream, or a different cost.
//!
//! A purchase near the period's edges may be dated a little differently by
//! each side (the provider's order time, our ledger's recording time), so
//! both sides are read over the period widened by [`EDGE`], and only what
//! one side dates inside the period is reported when the other lacks it.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use simgate_domain::entities::LedgerPurchase;
use simgate_domain::{Money, ProviderId};

use crate::{ServiceError, Services};

/// How far around the period each side is read, for clock differences.
const EDGE: Duration = Duration::minutes(5);

/// One purchase as the provider lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPurchase {
    /// The provider's reference (what the ledger stores).
    pub reference: String,
    /// What the provider charged, where its list says.
    pub cost: Option<Money>,
    /// When the provider took it, where its list says.
    pub created_at: Option<DateTime<Utc>>,
}

/// One difference between the provider's list and the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The provider sold it; no order of ours holds it (or only as an extra
    /// purchase of a superseded attempt, to refund).
    Unlinked {
        reference: String,
        /// The local row it is an extra purchase of, if any.
        extra_of: Option<String>,
    },
    /// Our ledger links it to a row; the provider does not list it.
    UnknownUpstream { reference: String, local_id: String },
    /// Both know it, at different costs.
    CostDiffers {
        reference: String,
        local_id: String,
        ours: Money,
        theirs: Money,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unlinked {
                reference,
                extra_of: None,
            } => write!(
                f,
                "unlinked {reference}: bought upstream, linked to no order"
            ),
            Self::Unlinked {
                reference,
                extra_of: Some(local),
            } => write!(
                f,
                "unlinked {reference}: bought upstream, an extra purchase of {local} (refund it)"
            ),
            Self::UnknownUpstream {
                reference,
                local_id,
            } => write!(
                f,
                "unknown {reference}: linked to {local_id}, not listed by the provider"
            ),
            Self::CostDiffers {
                reference,
                local_id,
                ours,
                theirs,
            } => write!(
                f,
                "cost {reference}: {local_id} cost {ours}, the provider charged {theirs}"
            ),
        }
    }
}

/// What comparing the two lists found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurchaseAudit {
    /// Purchases both sides agree on.
    pub matched: usize,
    pub mismatches: Vec<Mismatch>,
}

impl Services {
    /// The provider's own list of orders from `from` on (widened by the
    /// edge), where the connector lists orders (eSIM Go's `GET /orders`).
    pub async fn provider_purchases(
        &self,
        provider: ProviderId,
        from: DateTime<Utc>,
    ) -> Result<Vec<ProviderPurchase>, ServiceError> {
        let connector = self
            .connectors
            .get(provider)
            .ok_or(ServiceError::ProviderNotConfigured(provider))?;
        let orders = connector
            .orders_since(from - EDGE)
            .await
            .map_err(ServiceError::upstream)?;
        Ok(orders
            .into_iter()
            .map(|order| ProviderPurchase {
                reference: order.reference,
                cost: order.total,
                created_at: order.created_at,
            })
            .collect())
    }

    /// Compares `upstream` (the provider's purchases) with the ledger's
    /// purchases from `provider` in `[from, to)`.
    pub async fn audit_purchases(
        &self,
        provider: ProviderId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        upstream: &[ProviderPurchase],
    ) -> Result<PurchaseAudit, ServiceError> {
        let ledger = self
            .store
            .ledger_between(provider, from - EDGE, to + EDGE)
            .await?;
        Ok(compare(&ledger, upstream, from, to))
    }
}

/// The comparison itself, over both sides' widened lists.
fn compare(
    ledger: &[LedgerPurchase],
    upstream: &[ProviderPurchase],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> PurchaseAudit {
    let inside = |at: DateTime<Utc>| at >= from && at < to;
    let ours: BTreeMap<&str, &LedgerPurchase> = ledger
        .iter()
        .map(|p| (p.upstream_ref.as_str(), p))
        .collect();
    let theirs: BTreeMap<&str, &ProviderPurchase> =
        upstream.iter().map(|p| (p.reference.as_str(), p)).collect();
    let mut audit = PurchaseAudit::default();
    for purchase in upstream {
        let in_period = purchase.created_at.is_none_or(inside);
        match ours.get(purchase.reference.as_str()) {
            None if in_period => audit.mismatches.push(Mismatch::Unlinked {
                reference: purchase.reference.clone(),
                extra_of: None,
            }),
            None => {}
            Some(local) if !inside(local.recorded_at) && !in_period => {}
            Some(local) if !local.linked => audit.mismatches.push(Mismatch::Unlinked {
                reference: purchase.reference.clone(),
                extra_of: Some(local.local_id.clone()),
            }),
            Some(local) => match (local.cost, purchase.cost) {
                (Some(ours), Some(theirs)) if ours != theirs => {
                    audit.mismatches.push(Mismatch::CostDiffers {
                        reference: purchase.reference.clone(),
                        local_id: local.local_id.clone(),
                        ours,
                        theirs,
                    });
                }
                _ => audit.matched += 1,
            },
        }
    }
    for local in ledger {
        if inside(local.recorded_at) && !theirs.contains_key(local.upstream_ref.as_str()) {
            audit.mismatches.push(Mismatch::UnknownUpstream {
                reference: local.upstream_ref.clone(),
                local_id: local.local_id.clone(),
            });
        }
    }
    audit
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use simgate_domain::Currency;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, minute, 0).unwrap()
    }

    fn usd(amount: &str) -> Money {
        Money::new(amount.parse().unwrap(), Currency::USD).unwrap()
    }

    fn ours(reference: &str, minute: u32, cost: &str, linked: bool) -> LedgerPurchase {
        LedgerPurchase {
            upstream_ref: reference.into(),
            local_kind: "order".into(),
            local_id: format!("ord_{reference}"),
            linked,
            cost: Some(usd(cost)),
            recorded_at: at(minute),
        }
    }

    fn theirs(reference: &str, minute: u32, cost: &str) -> ProviderPurchase {
        ProviderPurchase {
            reference: reference.into(),
            cost: Some(usd(cost)),
            created_at: Some(at(minute)),
        }
    }

    #[test]
    fn each_kind_of_difference_is_named_and_agreement_counted() {
        let ledger = [
            ours("same", 10, "1.5", true),
            ours("gone", 11, "2", true),
            ours("dear", 12, "3", true),
            ours("extra", 13, "4", false),
            // Recorded just after the period, sold just before its end.
            ours("edge", 31, "5", true),
        ];
        let upstream = [
            theirs("same", 10, "1.50"),
            theirs("dear", 12, "3.10"),
            theirs("extra", 13, "4"),
            theirs("outside", 12, "6"),
            theirs("edge", 29, "5"),
            // Sold after the period: not this period's concern.
            theirs("later", 45, "7"),
        ];
        let audit = compare(&ledger, &upstream, at(0), at(30));
        assert_eq!(audit.matched, 2, "{audit:?}");
        let lines: Vec<String> = audit.mismatches.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "cost dear: ord_dear cost 3 USD, the provider charged 3.10 USD",
                "unlinked extra: bought upstream, an extra purchase of ord_extra (refund it)",
                "unlinked outside: bought upstream, linked to no order",
                "unknown gone: linked to ord_gone, not listed by the provider",
            ]
        );
    }
}
