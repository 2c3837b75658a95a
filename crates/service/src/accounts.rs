//! Tenant accounts: what each tenant owes the operator.
//!
//! The operator sets an account's terms (prepaid or on credit, its
//! currency, its limit) and funds it; every sale holds its price before any
//! upstream call and is captured or released with the order's own move
//! (see `crate::orders` and the store's `accounts` module); refunds of
//! sales flow back under the operator's [`RefundPolicy`]. Statements and
//! the margin report read the same journal.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use simgate_domain::account::signed_micros;
use simgate_domain::entities::{
    AccountTerms, MarginRow, NewCredit, NewRefund, OrderRecord, Posted, RefundOutcome,
    RefundRecord, SalePrice, Statement, TermsRefused,
};
use simgate_domain::money::MONEY_SCALE;
use simgate_domain::{
    Account, AccountMode, Currency, Hold, HoldState, Iccid, LedgerEntry, Money, TenantId,
};

use crate::{ServiceError, Services};

/// Longest operator reference of a credit.
const MAX_REFERENCE_CHARS: usize = 100;

/// Longest note of a credit.
const MAX_NOTE_CHARS: usize = 500;

/// What funding an account did.
#[derive(Debug, Clone)]
pub struct Funded {
    pub entry: LedgerEntry,
    pub account: Account,
    /// False when the reference was posted before (this is that entry).
    pub created: bool,
}

impl Services {
    /// A tenant's account (the default one until the operator sets it).
    pub async fn account(&self, tenant: &TenantId) -> Result<Account, ServiceError> {
        Ok(self.store.account(tenant.as_str()).await?)
    }

    /// The operator's view of a tenant's account: the tenant must exist.
    pub async fn tenant_account_of(&self, tenant: &TenantId) -> Result<Account, ServiceError> {
        self.tenant(tenant.as_str()).await?;
        self.account(tenant).await
    }

    /// Sets a tenant's account terms. A `credit` account needs a limit in
    /// the account's currency; a `prepaid` one takes none (or zero). The
    /// currency changes only while the account is empty.
    pub async fn set_account_terms(
        &self,
        tenant: &TenantId,
        mode: AccountMode,
        currency: Currency,
        credit_limit: Option<Money>,
    ) -> Result<Account, ServiceError> {
        self.tenant(tenant.as_str()).await?;
        let limit = match (mode, credit_limit) {
            (AccountMode::Credit, None) => {
                return Err(ServiceError::InvalidAccount {
                    field: "credit_limit",
                    reason: "a credit account needs a credit limit".to_owned(),
                });
            }
            (_, Some(limit)) if limit.currency != currency => {
                return Err(ServiceError::InvalidAccount {
                    field: "credit_limit.currency",
                    reason: format!("the limit must be in the account's currency, {currency}"),
                });
            }
            (AccountMode::Prepaid, Some(limit)) if !limit.amount.is_zero() => {
                return Err(ServiceError::InvalidAccount {
                    field: "credit_limit",
                    reason: "a prepaid account has no credit limit".to_owned(),
                });
            }
            (_, Some(limit)) => limit.to_micros()?,
            (AccountMode::Prepaid, None) => 0,
        };
        let terms = AccountTerms {
            mode,
            currency,
            credit_limit_micros: limit,
        };
        match self
            .store
            .put_account_terms(tenant.as_str(), &terms)
            .await?
        {
            Ok(account) => {
                tracing::info!(tenant = %tenant, mode = mode.as_str(), %currency, "account terms set");
                Ok(account)
            }
            Err(TermsRefused::CurrencyInUse {
                balance_micros,
                held_micros,
            }) => Err(ServiceError::AccountCurrencyInUse {
                balance_micros,
                held_micros,
            }),
        }
    }

    /// Funds (a positive amount) or corrects (a negative one) a tenant's
    /// account, once per `reference`: repeating it answers the first entry.
    pub async fn fund_account(
        &self,
        tenant: &TenantId,
        amount: Decimal,
        currency: Currency,
        reference: &str,
        note: Option<&str>,
    ) -> Result<Funded, ServiceError> {
        self.tenant(tenant.as_str()).await?;
        let reference = reference.trim();
        if reference.is_empty() || reference.chars().count() > MAX_REFERENCE_CHARS {
            return Err(ServiceError::InvalidAccount {
                field: "reference",
                reason: format!("must be 1 to {MAX_REFERENCE_CHARS} characters"),
            });
        }
        if reference.contains('#') || reference.starts_with("refund:") {
            return Err(ServiceError::InvalidAccount {
                field: "reference",
                reason: "may not contain '#' or start with 'refund:' (simgate's own references)"
                    .to_owned(),
            });
        }
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            return Err(ServiceError::InvalidAccount {
                field: "note",
                reason: format!("at most {MAX_NOTE_CHARS} characters"),
            });
        }
        let micros = signed_micros(amount)?;
        if micros == 0 {
            return Err(ServiceError::InvalidAccount {
                field: "amount.amount",
                reason: "must not be zero".to_owned(),
            });
        }
        let credit = NewCredit {
            micros,
            currency,
            reference: reference.to_owned(),
            note: note.map(str::to_owned),
        };
        let funded = match self.store.post_credit(tenant.as_str(), &credit).await? {
            Posted::Created(entry, account) => {
                tracing::info!(tenant = %tenant, reference, kind = %entry.kind, "account credited");
                Funded {
                    entry,
                    account,
                    created: true,
                }
            }
            Posted::Existing(entry, account) => Funded {
                entry,
                account,
                created: false,
            },
            Posted::ReferenceConflict(_) => {
                return Err(ServiceError::CreditReferenceConflict(reference.to_owned()));
            }
            Posted::WrongCurrency(account_currency) => {
                return Err(ServiceError::InvalidAccount {
                    field: "amount.currency",
                    reason: format!("the account is kept in {account_currency}"),
                });
            }
        };
        // A correction may take the account below its threshold at once.
        self.alert_low_balances().await;
        Ok(funded)
    }

    /// Sets (or clears) the tenant's own `balance.low` threshold, in the
    /// account's currency.
    pub async fn set_low_balance_threshold(
        &self,
        tenant: &TenantId,
        threshold: Option<Money>,
    ) -> Result<Account, ServiceError> {
        let account = self.account(tenant).await?;
        let micros = match threshold {
            Some(threshold) if threshold.currency != account.currency => {
                return Err(ServiceError::InvalidAccount {
                    field: "low_balance_threshold.currency",
                    reason: format!("the account is kept in {}", account.currency),
                });
            }
            Some(threshold) => Some(threshold.to_micros()?),
            None => None,
        };
        let account = self
            .store
            .set_low_threshold(tenant.as_str(), micros)
            .await?;
        self.alert_low_balances().await;
        Ok(account)
    }

    /// A tenant's statement over `[from, to)`.
    pub async fn statement(
        &self,
        tenant: &TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Statement, ServiceError> {
        if from >= to {
            return Err(ServiceError::InvalidPeriod);
        }
        Ok(self.store.statement(tenant.as_str(), from, to).await?)
    }

    /// Revenue, cost and margin of completed sales in `[from, to)`.
    pub async fn margin_report(
        &self,
        tenant: Option<&TenantId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<MarginRow>, ServiceError> {
        if from >= to {
            return Err(ServiceError::InvalidPeriod);
        }
        Ok(self
            .store
            .margin_report(tenant.map(TenantId::as_str), from, to)
            .await?)
    }

    /// What an order of `quantity` units at `sale` holds on the tenant's
    /// account: the sale price times the quantity, converted into the
    /// account's currency with the FX table (rounded up to the millionth,
    /// so a hold never falls short of the sale).
    pub(crate) async fn hold_for(
        &self,
        tenant_id: &str,
        sale: &SalePrice,
        quantity: u32,
    ) -> Result<Hold, ServiceError> {
        let total = sale
            .price
            .amount
            .checked_mul(Decimal::from(quantity))
            .ok_or_else(|| {
                ServiceError::Invalid(simgate_domain::DomainError::AmountRange(
                    sale.price.amount.to_string(),
                ))
            })?;
        self.hold_of(tenant_id, Money::new(total, sale.price.currency)?)
            .await
    }

    /// What holding `total` takes from the tenant's account: `total` in the
    /// account's currency (converted with the FX table, rounded up to the
    /// millionth) and the rate used. A SIM card order holds its previewed
    /// cost this way.
    pub(crate) async fn hold_of(
        &self,
        tenant_id: &str,
        total: Money,
    ) -> Result<Hold, ServiceError> {
        let account = self.store.account(tenant_id).await?;
        let (total, currency) = (total.amount, total.currency);
        let (amount, fx_rate) = if currency == account.currency {
            (total, None)
        } else {
            let fx = self.current_fx().await?;
            let rate = fx
                .rate(currency, account.currency)
                .ok_or(ServiceError::NoAccountRate {
                    from: currency,
                    to: account.currency,
                })?;
            let converted = total
                .checked_mul(rate)
                .ok_or_else(|| {
                    ServiceError::Invalid(simgate_domain::DomainError::AmountRange(
                        total.to_string(),
                    ))
                })?
                .round_dp_with_strategy(MONEY_SCALE, RoundingStrategy::AwayFromZero);
            (converted, Some(rate))
        };
        Ok(Hold {
            micros: simgate_domain::money::micros(amount)?,
            currency: account.currency,
            fx_rate,
        })
    }

    /// Records the refund of a sale (one eSIM's bundle, or what is left of
    /// the whole order), crediting the tenant as the operator's refund
    /// policy says, and announces `order.refunded` when the order is now
    /// wholly refunded. Idempotent: the same refund again is `None`.
    pub(crate) async fn refund_sale(
        &self,
        order: &OrderRecord,
        iccid: Option<&Iccid>,
        provider_refunded: bool,
        reason: &str,
    ) -> Result<Option<RefundRecord>, ServiceError> {
        let refund = NewRefund {
            order_id: order.id.clone(),
            iccid: iccid.cloned(),
            provider_refunded,
            credit_tenant: self.config.refund_policy.credits_tenant(provider_refunded),
            reason: reason.to_owned(),
        };
        match self.store.record_refund(&refund).await? {
            RefundOutcome::Recorded {
                refund,
                order_refunded,
                event,
            } => {
                tracing::info!(order = %order.id, refund = %refund.id, credited = refund.micros, order_refunded, "sale refunded");
                if order_refunded {
                    self.announced(&self.reload(&order.id).await?, event).await;
                }
                Ok(Some(refund))
            }
            RefundOutcome::Existing(_) | RefundOutcome::NothingToRefund => Ok(None),
        }
    }

    /// Settles orders a provider reported refunded whose refund is not
    /// recorded yet (the answer was recorded, then the process stopped).
    pub(crate) async fn settle_provider_refund(&self, order: &OrderRecord) {
        let captured = order.hold.is_some_and(|h| h.state == HoldState::Captured);
        if order.status != simgate_domain::OrderStatus::Refunded || !captured {
            return;
        }
        if let Err(error) = self
            .refund_sale(order, None, true, "provider_refunded")
            .await
        {
            tracing::error!(order = %order.id, %error, "could not record the provider's refund");
        }
    }

    /// Sends `balance.low` to every tenant whose available amount fell
    /// below its threshold since it was last told (once per crossing,
    /// whichever instance gets there first). Returns how many were told.
    pub async fn alert_low_balances(&self) -> usize {
        match self.store.claim_low_balances().await {
            Ok(low) => {
                let told = low.len();
                for account in low {
                    if let Some(event) = account.event {
                        tracing::info!(tenant = %account.account.tenant_id, event = %event.id, "balance low");
                        self.schedule(
                            event
                                .deliveries
                                .into_iter()
                                .map(simgate_domain::DeliveryId::from_stored),
                        )
                        .await;
                    }
                }
                told
            }
            Err(error) => {
                tracing::error!(%error, "could not check accounts for low balances");
                0
            }
        }
    }

    /// The reconcile pass's share of the money: `balance.low` alerts, and
    /// provider refunds whose recording a crash interrupted. Returns how
    /// many of each were handled.
    pub async fn settle_accounts(&self) -> (usize, usize) {
        let alerted = self.alert_low_balances().await;
        let pending = match self.store.refunded_orders_to_settle(100).await {
            Ok(orders) => orders,
            Err(error) => {
                tracing::error!(%error, "could not list refunded orders to settle");
                return (alerted, 0);
            }
        };
        let refunds = pending.len();
        for order in pending {
            self.settle_provider_refund(&order).await;
        }
        (alerted, refunds)
    }

    /// The journal's sums for a tenant beside its account, and how many of
    /// its final orders still hold money: what an audit checks.
    pub async fn ledger_check(
        &self,
        tenant: &TenantId,
    ) -> Result<(Account, (i64, i64), u64), ServiceError> {
        let account = self.account(tenant).await?;
        let totals = self.store.ledger_totals(tenant.as_str()).await?;
        let open = self
            .store
            .open_holds_on_final_orders(tenant.as_str())
            .await?;
        Ok((account, totals, open))
    }
}
