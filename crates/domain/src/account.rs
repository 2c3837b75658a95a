//! Tenant accounts and their ledger: what each tenant owes the operator.
//!
//! An account has a balance (what was funded, less what was spent, plus
//! refunds) and a held amount (sales accepted but not yet settled). Every
//! movement is one [`LedgerEntry`]; the balance and the held amount are the
//! sums of the entries' two columns, so they can always be checked against
//! the journal. Amounts are exact millionths of the account's currency.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Currency, DomainError, Money, OrderId};

/// Whether a tenant pays before or after it sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountMode {
    /// The balance must cover every sale: available never goes below zero.
    Prepaid,
    /// The balance may go down to minus the credit limit.
    Credit,
}

impl AccountMode {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prepaid => "prepaid",
            Self::Credit => "credit",
        }
    }
}

impl FromStr for AccountMode {
    type Err = DomainError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "prepaid" => Ok(Self::Prepaid),
            "credit" => Ok(Self::Credit),
            other => Err(DomainError::InvalidAccount {
                field: "mode",
                reason: format!("{other:?} is not prepaid or credit"),
            }),
        }
    }
}

/// A tenant's account as it stands: its terms and the projection of its
/// ledger. A tenant the operator never configured has the default account
/// ([`Account::unfunded`]): prepaid, in USD, at zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub tenant_id: String,
    pub mode: AccountMode,
    pub currency: Currency,
    /// Millionths of `currency` the balance may go below zero (`credit`
    /// only; always 0 for `prepaid`).
    pub credit_limit_micros: i64,
    /// Sum of the ledger's amounts: funded, less captured, plus refunded.
    pub balance_micros: i64,
    /// Sum of the ledger's held amounts: accepted sales not yet settled.
    pub held_micros: i64,
    /// The tenant's `balance.low` threshold on the available amount.
    pub low_threshold_micros: Option<i64>,
}

impl Account {
    /// The account of a tenant nobody configured or funded yet.
    pub fn unfunded(tenant_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            mode: AccountMode::Prepaid,
            currency: Currency::USD,
            credit_limit_micros: 0,
            balance_micros: 0,
            held_micros: 0,
            low_threshold_micros: None,
        }
    }

    /// What a new hold may use: the balance less what is held, plus the
    /// credit limit.
    pub fn available_micros(&self) -> i64 {
        self.balance_micros - self.held_micros
            + match self.mode {
                AccountMode::Prepaid => 0,
                AccountMode::Credit => self.credit_limit_micros,
            }
    }
}

/// The kinds of movement, each with a fixed effect on the two sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// The operator funded the account: + balance.
    Credit,
    /// The operator corrected the balance: ± balance.
    Adjustment,
    /// A sale was accepted before any upstream call: + held.
    Hold,
    /// A held sale failed or moved to another price: - held.
    Release,
    /// A held sale completed: - balance and - held.
    Capture,
    /// A sale was refunded: + balance.
    Refund,
}

impl LedgerKind {
    /// Every kind, for validating stored values and documenting them.
    pub const ALL: [Self; 6] = [
        Self::Credit,
        Self::Adjustment,
        Self::Hold,
        Self::Release,
        Self::Capture,
        Self::Refund,
    ];

    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credit => "credit",
            Self::Adjustment => "adjustment",
            Self::Hold => "hold",
            Self::Release => "release",
            Self::Capture => "capture",
            Self::Refund => "refund",
        }
    }
}

impl fmt::Display for LedgerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LedgerKind {
    type Err = DomainError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw)
            .ok_or_else(|| DomainError::InvalidAccount {
                field: "kind",
                reason: format!("{raw:?} is not a ledger entry kind"),
            })
    }
}

/// One movement on an account, never changed once written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: String,
    pub tenant_id: String,
    pub kind: LedgerKind,
    /// Effect on the balance, in millionths of `currency` (signed).
    pub amount_micros: i64,
    /// Effect on the held amount, in millionths of `currency` (signed).
    pub held_micros: i64,
    pub currency: Currency,
    /// What the movement is for (`ord_…#1` for an order's first hold, the
    /// operator's reference for a credit): unique per tenant and kind, so a retry
    /// cannot post twice.
    pub reference: String,
    pub order_id: Option<OrderId>,
    /// The FX rate from the sale's currency into the account's, when they
    /// differ.
    pub fx_rate: Option<Decimal>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a new order holds on its tenant's account: its sale price times its
/// quantity, converted into the account's currency at `fx_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub micros: i64,
    pub currency: Currency,
    /// The rate from the sale's currency into `currency`, when they differ.
    pub fx_rate: Option<Decimal>,
}

/// Why a hold could not be placed: what was available and what was needed,
/// in the account's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall {
    pub available_micros: i64,
    pub required_micros: i64,
    pub currency: Currency,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} available, {} required",
            signed_money(self.available_micros, self.currency),
            signed_money(self.required_micros, self.currency)
        )
    }
}

/// A signed amount of millionths as money (negative amounts allowed: a
/// balance on credit, a correction).
pub fn signed_money(micros: i64, currency: Currency) -> Money {
    Money::from_micros(micros, currency)
}

/// A signed decimal amount in millionths, refusing amounts finer than
/// [`crate::money::MONEY_SCALE`] places or too large to store: credits and corrections
/// may be negative, unlike prices.
pub fn signed_micros(amount: Decimal) -> Result<i64, DomainError> {
    let micros = crate::money::micros(amount.abs())?;
    Ok(if amount.is_sign_negative() {
        -micros
    } else {
        micros
    })
}

/// Who pays back a sale when an eSIM is revoked or refunded: the
/// operator's rule for crediting tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundPolicy {
    /// Every refund of a sale credits the tenant with its sale price.
    Full,
    /// Refunds never credit the tenant (the operator settles by hand).
    None,
    /// The tenant is credited only when the provider refunded the operator.
    #[default]
    ProviderRefundedOnly,
}

impl RefundPolicy {
    /// Whether a refund the provider did (or did not) pay back credits the
    /// tenant.
    pub fn credits_tenant(self, provider_refunded: bool) -> bool {
        match self {
            Self::Full => true,
            Self::None => false,
            Self::ProviderRefundedOnly => provider_refunded,
        }
    }
}

/// Where an order's hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    /// Held: the order is not settled yet.
    Open,
    /// The order completed: the hold became a debit.
    Captured,
    /// The order failed or moved to another price: the hold was given back.
    Released,
    /// The order completed and every unit's refund is recorded.
    Refunded,
}

impl HoldState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Captured => "captured",
            Self::Released => "released",
            Self::Refunded => "refunded",
        }
    }
}

impl FromStr for HoldState {
    type Err = DomainError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "open" => Ok(Self::Open),
            "captured" => Ok(Self::Captured),
            "released" => Ok(Self::Released),
            "refunded" => Ok(Self::Refunded),
            other => Err(DomainError::InvalidAccount {
                field: "hold_state",
                reason: format!("{other:?} is not a hold state"),
            }),
        }
    }
}

/// An order's current hold on its tenant's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderHold {
    /// Millionths of `currency` held (or captured).
    pub micros: i64,
    pub currency: Currency,
    pub state: HoldState,
    /// The hold's number: a retried or failed-over order holds anew.
    pub seq: i64,
    pub fx_rate: Option<Decimal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_counts_the_credit_limit_only_on_credit() {
        let mut account = Account::unfunded("ten_a");
        account.balance_micros = 5_000_000;
        account.held_micros = 2_000_000;
        account.credit_limit_micros = 10_000_000;
        assert_eq!(account.available_micros(), 3_000_000);
        account.mode = AccountMode::Credit;
        assert_eq!(account.available_micros(), 13_000_000);
    }

    #[test]
    fn signed_amounts_keep_their_sign_and_precision_rules() {
        assert_eq!(signed_micros(Decimal::new(-1_5, 1)).unwrap(), -1_500_000);
        assert_eq!(signed_micros(Decimal::new(25, 0)).unwrap(), 25_000_000);
        assert!(signed_micros(Decimal::new(1, 7)).is_err());
    }

    #[test]
    fn kinds_round_trip() {
        for kind in LedgerKind::ALL {
            assert_eq!(kind.as_str().parse::<LedgerKind>().unwrap(), kind);
        }
        assert!("debit".parse::<LedgerKind>().is_err());
    }

    #[test]
    fn refund_policy_decides_the_credit() {
        assert!(RefundPolicy::Full.credits_tenant(false));
        assert!(!RefundPolicy::None.credits_tenant(true));
        assert!(RefundPolicy::ProviderRefundedOnly.credits_tenant(true));
        assert!(!RefundPolicy::ProviderRefundedOnly.credits_tenant(false));
    }
}
