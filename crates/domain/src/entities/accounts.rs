//! What the store keeps of tenant accounts beyond the account itself:
//! requests to move money, statements, refunds and the margin report.

use chrono::{DateTime, Utc};

use crate::{Account, AccountMode, Currency, Iccid, LedgerEntry, OrderId, ProviderId};

/// The terms the operator sets on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTerms {
    pub mode: AccountMode,
    pub currency: Currency,
    /// Millionths of `currency`; must be 0 for `prepaid`.
    pub credit_limit_micros: i64,
}

/// Why new terms were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermsRefused {
    /// The currency may change only while nothing is on the account.
    CurrencyInUse {
        balance_micros: i64,
        held_micros: i64,
    },
}

/// The operator funding or correcting an account, idempotent on
/// `reference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredit {
    /// Signed millionths: positive funds (a `credit`), negative corrects
    /// (an `adjustment`).
    pub micros: i64,
    pub currency: Currency,
    pub reference: String,
    pub note: Option<String>,
}

/// What posting a credit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// A new entry, and the account after it.
    Created(LedgerEntry, Account),
    /// The reference was posted before with the same amount: that entry.
    Existing(LedgerEntry, Account),
    /// The reference was posted before with another amount or currency.
    ReferenceConflict(LedgerEntry),
    /// The credit's currency is not the account's.
    WrongCurrency(Currency),
}

/// An account's movements over a period, with the balance before and
/// after: `closing = opening + Σ entries`, which the store reads from the
/// same journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub account: Account,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub opening_balance_micros: i64,
    pub opening_held_micros: i64,
    pub entries: Vec<LedgerEntry>,
    pub closing_balance_micros: i64,
    pub closing_held_micros: i64,
}

/// A refund of (part of) a sale, recorded once per reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub order_id: OrderId,
    /// The eSIM whose bundle was refunded; `None` refunds what is left of
    /// the whole order (a provider reporting the order refunded).
    pub iccid: Option<Iccid>,
    /// Whether the provider paid the operator back.
    pub provider_refunded: bool,
    /// Whether the tenant is credited (the operator's refund policy).
    pub credit_tenant: bool,
    /// Why: `revoked`, `provider_refunded`.
    pub reason: String,
}

/// A recorded refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub id: String,
    pub order_id: OrderId,
    pub iccid: Option<Iccid>,
    pub units: u32,
    pub provider_refunded: bool,
    /// Millionths of `currency` credited to the tenant (0 when the policy
    /// credits nothing).
    pub micros: i64,
    pub currency: Currency,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// What recording a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Recorded now; `order_refunded` when it refunded the last unit and
    /// moved the order to `refunded`.
    Recorded {
        refund: RefundRecord,
        order_refunded: bool,
        event: Option<super::RecordedEvent>,
    },
    /// The same refund was recorded before.
    Existing(RefundRecord),
    /// The order has nothing left to refund (or was never captured).
    NothingToRefund,
}

/// Revenue, cost and margin of completed sales for one tenant, provider
/// and pair of currencies over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginRow {
    pub tenant_id: String,
    pub provider: ProviderId,
    pub orders: u64,
    pub units: u64,
    /// Sale prices × quantity, in `price_currency`.
    pub revenue_micros: i64,
    pub price_currency: Currency,
    /// Costs × quantity, in `cost_currency`.
    pub cost_micros: i64,
    pub cost_currency: Currency,
    /// Frozen margins × quantity, in `price_currency`.
    pub margin_micros: i64,
}

/// A tenant whose available amount fell below its threshold, with the
/// `balance.low` event recorded for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowBalance {
    pub account: Account,
    pub event: Option<super::RecordedEvent>,
}
