//! Tenant accounts and their append-only ledger.
//!
//! Every movement is one `ledger_entries` row, unique per (tenant,
//! reference, kind), written in the same transaction as the `accounts` projection it
//! changes (balance += amount, held += held), so the projection always
//! equals the sums of the journal. Holds move with the orders' own fenced
//! transitions: [`place_hold_in`] with the insert (or a failover, or a
//! retry), [`capture_hold_in`] with the move to `completed`,
//! [`release_hold_in`] with the move to `failed`. The capture and release
//! are compare-and-sets on the order's `hold_state`, so whichever path
//! settles a hold first does it, once.

mod refunds;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use simgate_domain::account::signed_money;
use simgate_domain::entities::{
    AccountTerms, LowBalance, MarginRow, NewCredit, NewRefund, OrderRecord, Posted, RefundOutcome,
    RepositoryError, Statement, TermsRefused,
};
use simgate_domain::repository::AccountRepository;
use simgate_domain::{
    Account, AccountBalanceEventData, Currency, Hold, Iccid, LedgerEntry, LedgerKind, OrderId,
    OutboundEvent, Shortfall,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Row};

use crate::events::record_outbound_in;
use crate::orders::{ORDER_COLUMNS, order_row};
use crate::{Store, StoreError, from_millis, millis, new_id};

const ACCOUNT_COLUMNS: &str = "tenant_id, mode, currency, credit_limit_micros, balance_micros, \
    held_micros, low_threshold_micros";

const ENTRY_COLUMNS: &str = "id, tenant_id, kind, amount_micros, held_micros, currency, reference, \
    order_id, fx_rate, note, created_at";

/// What a new hold may use, as SQL over an `accounts` row.
const AVAILABLE: &str = "(balance_micros - held_micros + \
    CASE WHEN mode = 'credit' THEN credit_limit_micros ELSE 0 END)";

/// The ledger reference of an order's `seq`th hold (and of its release or
/// capture).
fn hold_reference(order_id: &str, seq: i64) -> String {
    format!("{order_id}#{seq}")
}

/// One journal entry, as written.
struct Entry<'a> {
    tenant_id: &'a str,
    kind: LedgerKind,
    amount_micros: i64,
    held_micros: i64,
    currency: &'a str,
    reference: &'a str,
    order_id: Option<&'a str>,
    fx_rate: Option<&'a str>,
    note: Option<&'a str>,
}

/// Writes an entry, unless one of its tenant, reference and kind exists
/// already (then false, and nothing written).
async fn insert_entry_in(
    conn: &mut AnyConnection,
    entry: &Entry<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO ledger_entries (id, tenant_id, kind, amount_micros, held_micros, currency, \
         reference, order_id, fx_rate, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, reference, kind) DO NOTHING",
    )
    .bind(new_id("led"))
    .bind(entry.tenant_id.to_owned())
    .bind(entry.kind.as_str())
    .bind(entry.amount_micros)
    .bind(entry.held_micros)
    .bind(entry.currency.to_owned())
    .bind(entry.reference.to_owned())
    .bind(entry.order_id.map(str::to_owned))
    .bind(entry.fx_rate.map(str::to_owned))
    .bind(entry.note.map(str::to_owned))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Writes an entry and moves the account's projection by it. False when
/// an entry of that reference and kind exists already (nothing written).
async fn post_in(
    conn: &mut AnyConnection,
    entry: &Entry<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    if !insert_entry_in(conn, entry, now).await? {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE accounts SET balance_micros = balance_micros + $2, held_micros = held_micros + $3, \
         updated_at = $4 WHERE tenant_id = $1",
    )
    .bind(entry.tenant_id.to_owned())
    .bind(entry.amount_micros)
    .bind(entry.held_micros)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Places an order's `seq`th hold: only when it fits in the account's
/// available amount, checked and taken in one conditional `UPDATE` (on
/// PostgreSQL the row lock makes concurrent holds queue and re-check), so
/// no interleaving of orders can overdraw.
pub(crate) async fn place_hold_in(
    conn: &mut AnyConnection,
    tenant_id: &str,
    order_id: &str,
    seq: i64,
    hold: &Hold,
    now: i64,
) -> Result<Result<(), Shortfall>, StoreError> {
    let taken = sqlx::query(AssertSqlSafe(format!(
        "UPDATE accounts SET held_micros = held_micros + $2, updated_at = $4 \
         WHERE tenant_id = $1 AND currency = $3 AND {AVAILABLE} - $2 >= 0"
    )))
    .bind(tenant_id.to_owned())
    .bind(hold.micros)
    .bind(hold.currency.code())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if taken.rows_affected() == 0 {
        let account = account_in(conn, tenant_id).await?;
        return Ok(Err(Shortfall {
            available_micros: account.available_micros(),
            required_micros: hold.micros,
            currency: account.currency,
        }));
    }
    // The account moved with the check above; the entry records it.
    let reference = hold_reference(order_id, seq);
    let rate = hold.fx_rate.map(|r| r.to_string());
    let written = insert_entry_in(
        conn,
        &Entry {
            tenant_id,
            kind: LedgerKind::Hold,
            amount_micros: 0,
            held_micros: hold.micros,
            currency: hold.currency.code(),
            reference: &reference,
            order_id: Some(order_id),
            fx_rate: rate.as_deref(),
            note: None,
        },
        now,
    )
    .await?;
    if !written {
        // A hold number is taken once: the account's move above must not
        // stand without its entry.
        return Err(StoreError::corrupt(format!(
            "hold {reference} was posted before"
        )));
    }
    Ok(Ok(()))
}

/// Runs `insert` (a new order or SIM order row) and places its first hold
/// in one transaction: both or neither. The row goes first, so a replayed
/// key waits (on PostgreSQL) for the transaction writing its row while
/// holding nothing, never while holding the account row that transaction
/// may need, which would deadlock. The outer result is the insert's own
/// (a unique violation is a replayed key); a hold that does not fit is
/// [`RepositoryError::InsufficientFunds`], with nothing written.
pub(crate) async fn insert_with_hold(
    writer: &AnyPool,
    insert: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    tenant_id: &str,
    row_id: &str,
    hold: &Hold,
    now: i64,
) -> Result<Result<sqlx::any::AnyQueryResult, sqlx::Error>, RepositoryError> {
    let mut tx = writer.begin().await.map_err(StoreError::from)?;
    match insert.execute(&mut *tx).await {
        Ok(done) => {
            let placed = place_hold_in(&mut tx, tenant_id, row_id, 1, hold, now).await?;
            if let Err(shortfall) = placed {
                tx.rollback().await.map_err(StoreError::from)?;
                return Err(RepositoryError::InsufficientFunds(shortfall));
            }
            Ok(tx.commit().await.map(|()| done))
        }
        Err(error) => {
            tx.rollback().await.map_err(StoreError::from)?;
            Ok(Err(error))
        }
    }
}

/// The hold columns an order's settlement reads back.
struct SettledHold {
    tenant_id: String,
    micros: i64,
    currency: String,
    seq: i64,
    fx_rate: Option<String>,
}

fn settled_hold(row: &AnyRow) -> Result<SettledHold, StoreError> {
    Ok(SettledHold {
        tenant_id: row.try_get("tenant_id")?,
        micros: row.try_get("hold_micros")?,
        currency: row.try_get("hold_currency")?,
        seq: row.try_get("hold_seq")?,
        fx_rate: row.try_get("hold_fx_rate")?,
    })
}

/// Which kind of row holds money: eSIM orders and SIM card orders keep
/// the same hold columns, each in its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    Order,
    SimOrder,
}

impl Held {
    fn table(self) -> &'static str {
        match self {
            Self::Order => "orders",
            Self::SimOrder => "sim_orders",
        }
    }
}

/// Moves a row's hold from `from` to `to`, returning it when this call
/// made the move (a compare-and-set: a second settlement finds nothing).
async fn move_hold(
    conn: &mut AnyConnection,
    held: Held,
    order_id: &str,
    from: &str,
    to: &str,
    bump_seq: bool,
) -> Result<Option<SettledHold>, StoreError> {
    let bump = if bump_seq {
        ", hold_seq = hold_seq + 1"
    } else {
        ""
    };
    let table = held.table();
    let row = sqlx::query(AssertSqlSafe(format!(
        "UPDATE {table} SET hold_state = $2{bump} WHERE id = $1 AND hold_state = $3 \
         RETURNING tenant_id, hold_micros, hold_currency, hold_seq, hold_fx_rate"
    )))
    .bind(order_id.to_owned())
    .bind(to.to_owned())
    .bind(from.to_owned())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(settled_hold).transpose()
}

/// Turns an order's open hold into a debit: the order completed. An order
/// that had failed (its hold released) and is completed after all, by the
/// late answer of a superseded attempt, is charged too: the provider did
/// sell it, so it is held and captured anew under the next number, even
/// where that takes the account below its limit (the entry's note says so).
pub(crate) async fn capture_hold_in(
    conn: &mut AnyConnection,
    held: Held,
    order_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let (hold, late) = match move_hold(conn, held, order_id, "open", "captured", false).await? {
        Some(hold) => (hold, false),
        None => match move_hold(conn, held, order_id, "released", "captured", true).await? {
            Some(hold) => (hold, true),
            None => return Ok(()),
        },
    };
    let reference = hold_reference(order_id, hold.seq);
    let late_note = "completed after it had failed: the provider sold a superseded attempt";
    if late {
        post_in(
            conn,
            &Entry {
                tenant_id: &hold.tenant_id,
                kind: LedgerKind::Hold,
                amount_micros: 0,
                held_micros: hold.micros,
                currency: &hold.currency,
                reference: &reference,
                order_id: Some(order_id),
                fx_rate: hold.fx_rate.as_deref(),
                note: Some(late_note),
            },
            now,
        )
        .await?;
    }
    post_in(
        conn,
        &Entry {
            tenant_id: &hold.tenant_id,
            kind: LedgerKind::Capture,
            amount_micros: -hold.micros,
            held_micros: -hold.micros,
            currency: &hold.currency,
            reference: &reference,
            order_id: Some(order_id),
            fx_rate: hold.fx_rate.as_deref(),
            note: late.then_some(late_note),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Gives an order's open hold back: the order failed, or moves to another
/// candidate's price.
pub(crate) async fn release_hold_in(
    conn: &mut AnyConnection,
    held: Held,
    order_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let Some(hold) = move_hold(conn, held, order_id, "open", "released", false).await? else {
        return Ok(());
    };
    post_in(
        conn,
        &Entry {
            tenant_id: &hold.tenant_id,
            kind: LedgerKind::Release,
            amount_micros: 0,
            held_micros: -hold.micros,
            currency: &hold.currency,
            reference: &hold_reference(order_id, hold.seq),
            order_id: Some(order_id),
            fx_rate: hold.fx_rate.as_deref(),
            note: None,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Holds anew for an order that has no open hold (its retry, or its move
/// to another candidate): the next hold number, the order's hold columns
/// and the account in one go.
pub(crate) async fn rehold_in(
    conn: &mut AnyConnection,
    order: &OrderRecord,
    hold: &Hold,
    now: i64,
) -> Result<Result<(), Shortfall>, StoreError> {
    let seq: i64 = sqlx::query("SELECT hold_seq FROM orders WHERE id = $1")
        .bind(order.id.0.clone())
        .fetch_one(&mut *conn)
        .await?
        .try_get("hold_seq")?;
    let next = seq + 1;
    if let Err(shortfall) =
        place_hold_in(conn, &order.tenant_id, &order.id.0, next, hold, now).await?
    {
        return Ok(Err(shortfall));
    }
    sqlx::query(
        "UPDATE orders SET hold_micros = $2, hold_currency = $3, hold_state = 'open', \
         hold_seq = $4, hold_fx_rate = $5 WHERE id = $1",
    )
    .bind(order.id.0.clone())
    .bind(hold.micros)
    .bind(hold.currency.code())
    .bind(next)
    .bind(hold.fx_rate.map(|r| r.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(Ok(()))
}

/// An account row, or the default account of a tenant without one.
async fn account_in(conn: &mut AnyConnection, tenant_id: &str) -> Result<Account, StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1"
    )))
    .bind(tenant_id.to_owned())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => account_from_row(&row),
        None => Ok(Account::unfunded(tenant_id)),
    }
}

/// Makes sure a tenant has an account row (the default terms) before a
/// movement or new terms are written to it.
async fn ensure_account_in(
    conn: &mut AnyConnection,
    tenant_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    // The terms a tenant without a row has all along.
    let unfunded = Account::unfunded(tenant_id);
    sqlx::query(
        "INSERT INTO accounts (tenant_id, mode, currency, credit_limit_micros, balance_micros, \
         held_micros, low_threshold_micros, low_alerted, updated_at) \
         VALUES ($1, $2, $3, $4, 0, 0, NULL, 0, $5) ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant_id.to_owned())
    .bind(unfunded.mode.as_str())
    .bind(unfunded.currency.code())
    .bind(unfunded.credit_limit_micros)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn account_from_row(row: &AnyRow) -> Result<Account, StoreError> {
    let mode: String = row.try_get("mode")?;
    let currency: String = row.try_get("currency")?;
    Ok(Account {
        tenant_id: row.try_get("tenant_id")?,
        mode: mode.parse().map_err(StoreError::corrupt)?,
        currency: Currency::parse(&currency).map_err(StoreError::corrupt)?,
        credit_limit_micros: row.try_get("credit_limit_micros")?,
        balance_micros: row.try_get("balance_micros")?,
        held_micros: row.try_get("held_micros")?,
        low_threshold_micros: row.try_get("low_threshold_micros")?,
    })
}

fn entry_from_row(row: &AnyRow) -> Result<LedgerEntry, StoreError> {
    let kind: String = row.try_get("kind")?;
    let currency: String = row.try_get("currency")?;
    Ok(LedgerEntry {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: kind.parse().map_err(StoreError::corrupt)?,
        amount_micros: row.try_get("amount_micros")?,
        held_micros: row.try_get("held_micros")?,
        currency: Currency::parse(&currency).map_err(StoreError::corrupt)?,
        reference: row.try_get("reference")?,
        order_id: row.try_get::<Option<String>, _>("order_id")?.map(OrderId),
        fx_rate: row
            .try_get::<Option<String>, _>("fx_rate")?
            .map(|r| r.parse::<Decimal>().map_err(StoreError::corrupt))
            .transpose()?,
        note: row.try_get("note")?,
        created_at: from_millis(row.try_get("created_at")?),
    })
}

/// Sums of an account's entries matching `filter` (with `$1` the tenant
/// and `$2` a time): (balance, held). PostgreSQL sums BIGINTs as NUMERIC,
/// which the Any driver cannot carry, hence the casts.
async fn sums(
    conn: &mut AnyConnection,
    tenant_id: &str,
    filter: &str,
    at: i64,
) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) AS amount, \
         CAST(COALESCE(SUM(held_micros), 0) AS BIGINT) AS held \
         FROM ledger_entries WHERE tenant_id = $1 AND {filter}"
    )))
    .bind(tenant_id.to_owned())
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.try_get("amount")?, row.try_get("held")?))
}

#[async_trait]
impl AccountRepository for Store {
    async fn account(&self, tenant_id: &str) -> Result<Account, RepositoryError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        Ok(account_in(&mut conn, tenant_id).await?)
    }

    async fn put_account_terms(
        &self,
        tenant_id: &str,
        terms: &AccountTerms,
    ) -> Result<Result<Account, TermsRefused>, RepositoryError> {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        ensure_account_in(&mut tx, tenant_id, now).await?;
        let current = account_in(&mut tx, tenant_id).await?;
        if current.currency != terms.currency
            && (current.balance_micros != 0 || current.held_micros != 0)
        {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(Err(TermsRefused::CurrencyInUse {
                balance_micros: current.balance_micros,
                held_micros: current.held_micros,
            }));
        }
        sqlx::query(
            "UPDATE accounts SET mode = $2, currency = $3, credit_limit_micros = $4, updated_at = $5 \
             WHERE tenant_id = $1",
        )
        .bind(tenant_id.to_owned())
        .bind(terms.mode.as_str())
        .bind(terms.currency.code())
        .bind(terms.credit_limit_micros)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let account = account_in(&mut tx, tenant_id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Ok(account))
    }

    async fn post_credit(
        &self,
        tenant_id: &str,
        credit: &NewCredit,
    ) -> Result<Posted, RepositoryError> {
        let now = millis(Utc::now());
        let kind = if credit.micros < 0 {
            LedgerKind::Adjustment
        } else {
            LedgerKind::Credit
        };
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        ensure_account_in(&mut tx, tenant_id, now).await?;
        let earlier = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE tenant_id = $2 AND reference = $1 \
             AND kind IN ('credit', 'adjustment')"
        )))
        .bind(credit.reference.clone())
        .bind(tenant_id.to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if let Some(row) = earlier {
            let entry = entry_from_row(&row)?;
            let account = account_in(&mut tx, tenant_id).await?;
            tx.rollback().await.map_err(StoreError::from)?;
            let same = entry.tenant_id == tenant_id
                && entry.amount_micros == credit.micros
                && entry.currency == credit.currency;
            return Ok(if same {
                Posted::Existing(entry, account)
            } else {
                Posted::ReferenceConflict(entry)
            });
        }
        let account = account_in(&mut tx, tenant_id).await?;
        if account.currency != credit.currency {
            tx.rollback().await.map_err(StoreError::from)?;
            return Ok(Posted::WrongCurrency(account.currency));
        }
        let written = post_in(
            &mut tx,
            &Entry {
                tenant_id,
                kind,
                amount_micros: credit.micros,
                held_micros: 0,
                currency: credit.currency.code(),
                reference: &credit.reference,
                order_id: None,
                fx_rate: None,
                note: credit.note.as_deref(),
            },
            now,
        )
        .await?;
        if !written {
            // A concurrent post of the same reference won: answer with it.
            tx.rollback().await.map_err(StoreError::from)?;
            return self.post_credit(tenant_id, credit).await;
        }
        let entry = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE reference = $1 AND kind = $2 \
             AND tenant_id = $3"
        )))
        .bind(credit.reference.clone())
        .bind(kind.as_str())
        .bind(tenant_id.to_owned())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let entry = entry_from_row(&entry)?;
        let account = account_in(&mut tx, tenant_id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Posted::Created(entry, account))
    }

    async fn set_low_threshold(
        &self,
        tenant_id: &str,
        micros: Option<i64>,
    ) -> Result<Account, RepositoryError> {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        ensure_account_in(&mut tx, tenant_id, now).await?;
        sqlx::query(
            "UPDATE accounts SET low_threshold_micros = $2, low_alerted = 0, updated_at = $3 \
             WHERE tenant_id = $1",
        )
        .bind(tenant_id.to_owned())
        .bind(micros)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let account = account_in(&mut tx, tenant_id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(account)
    }

    async fn statement(
        &self,
        tenant_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Statement, RepositoryError> {
        // One transaction, so the opening sums, the entries and the account
        // are read from the same state of the journal.
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let account = account_in(&mut tx, tenant_id).await?;
        let (opening_balance, opening_held) =
            sums(&mut tx, tenant_id, "created_at < $2", millis(from)).await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE tenant_id = $1 \
             AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id"
        )))
        .bind(tenant_id.to_owned())
        .bind(millis(from))
        .bind(millis(to))
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let closing_balance =
            opening_balance + entries.iter().map(|e| e.amount_micros).sum::<i64>();
        let closing_held = opening_held + entries.iter().map(|e| e.held_micros).sum::<i64>();
        Ok(Statement {
            account,
            from,
            to,
            opening_balance_micros: opening_balance,
            opening_held_micros: opening_held,
            entries,
            closing_balance_micros: closing_balance,
            closing_held_micros: closing_held,
        })
    }

    async fn ledger_totals(&self, tenant_id: &str) -> Result<(i64, i64), RepositoryError> {
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        Ok(sums(&mut conn, tenant_id, "created_at > $2", i64::MIN).await?)
    }

    async fn open_holds_on_final_orders(&self, tenant_id: &str) -> Result<u64, RepositoryError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND hold_state = 'open' \
             AND status IN ('completed', 'failed', 'refunded')) \
             + (SELECT COUNT(*) FROM sim_orders WHERE tenant_id = $1 AND hold_state = 'open' \
             AND (status = 'failed' OR upstream_id IS NOT NULL)) AS n",
        )
        .bind(tenant_id.to_owned())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let n: i64 = row.try_get("n").map_err(StoreError::from)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn record_refund(&self, refund: &NewRefund) -> Result<RefundOutcome, RepositoryError> {
        self.refund(refund).await
    }

    async fn refunded_orders_to_settle(
        &self,
        limit: u32,
    ) -> Result<Vec<OrderRecord>, RepositoryError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id FROM orders WHERE hold_state = 'captured' AND status = 'refunded' \
             ORDER BY updated_at LIMIT {limit}"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows {
            let id = OrderId(row.try_get("id").map_err(StoreError::from)?);
            orders.extend(order_row(&mut conn, &id).await?);
        }
        Ok(orders)
    }

    async fn order_for_bundle(
        &self,
        tenant_id: &str,
        iccid: &Iccid,
        sku: &str,
    ) -> Result<Option<OrderRecord>, RepositoryError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE tenant_id = $1 AND sku = $3 \
             AND status IN ('completed', 'refunded') \
             AND id IN (SELECT order_id FROM order_esims WHERE iccid = $2) \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        )))
        .bind(tenant_id.to_owned())
        .bind(iccid.as_str().to_owned())
        .bind(sku.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else { return Ok(None) };
        let mut conn = self.pool.acquire().await.map_err(StoreError::from)?;
        let id = OrderId(row.try_get("id").map_err(StoreError::from)?);
        Ok(order_row(&mut conn, &id).await?)
    }

    async fn margin_report(
        &self,
        tenant_id: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<MarginRow>, RepositoryError> {
        let rows = sqlx::query(
            "SELECT tenant_id, provider, price_currency, currency, COUNT(*) AS orders, \
             CAST(SUM(quantity) AS BIGINT) AS units, \
             CAST(SUM(price_micros * quantity) AS BIGINT) AS revenue, \
             CAST(SUM(unit_price_micros * quantity) AS BIGINT) AS cost, \
             CAST(SUM(margin_micros * quantity) AS BIGINT) AS margin \
             FROM orders WHERE status = 'completed' AND price_micros IS NOT NULL \
             AND created_at >= $1 AND created_at < $2 AND ($3 = '' OR tenant_id = $3) \
             GROUP BY tenant_id, provider, price_currency, currency \
             ORDER BY tenant_id, provider, price_currency, currency",
        )
        .bind(millis(from))
        .bind(millis(to))
        .bind(tenant_id.unwrap_or_default().to_owned())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let currency = |code: String| Currency::parse(&code).map_err(StoreError::corrupt);
        Ok(rows
            .iter()
            .map(|row| -> Result<MarginRow, StoreError> {
                let provider: String = row.try_get("provider")?;
                Ok(MarginRow {
                    tenant_id: row.try_get("tenant_id")?,
                    provider: provider.parse().map_err(StoreError::corrupt)?,
                    orders: u64::try_from(row.try_get::<i64, _>("orders")?)
                        .map_err(StoreError::corrupt)?,
                    units: u64::try_from(row.try_get::<i64, _>("units")?)
                        .map_err(StoreError::corrupt)?,
                    revenue_micros: row.try_get("revenue")?,
                    price_currency: currency(row.try_get("price_currency")?)?,
                    cost_micros: row.try_get("cost")?,
                    cost_currency: currency(row.try_get("currency")?)?,
                    margin_micros: row.try_get("margin")?,
                })
            })
            .collect::<Result<_, _>>()?)
    }

    async fn claim_low_balances(&self) -> Result<Vec<LowBalance>, RepositoryError> {
        let now = millis(Utc::now());
        let mut tx = self.writer().begin().await.map_err(StoreError::from)?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE accounts SET low_alerted = 1, updated_at = $1 \
             WHERE low_threshold_micros IS NOT NULL AND low_alerted = 0 \
             AND {AVAILABLE} < low_threshold_micros RETURNING {ACCOUNT_COLUMNS}"
        )))
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let mut low = Vec::with_capacity(rows.len());
        for row in rows {
            let account = account_from_row(&row)?;
            let currency = account.currency;
            let data = AccountBalanceEventData {
                available: signed_money(account.available_micros(), currency),
                threshold: signed_money(account.low_threshold_micros.unwrap_or_default(), currency),
                balance: signed_money(account.balance_micros, currency),
                held: signed_money(account.held_micros, currency),
                crossed_at: now,
                tenant_id: account.tenant_id.clone(),
            };
            let event = OutboundEvent::BalanceLow(data);
            let recorded = record_outbound_in(&mut tx, &account.tenant_id, &event, now).await?;
            low.push(LowBalance {
                account,
                event: recorded,
            });
        }
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE accounts SET low_alerted = 0, updated_at = $1 WHERE low_alerted = 1 \
             AND (low_threshold_micros IS NULL OR {AVAILABLE} >= low_threshold_micros)"
        )))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(low)
    }
}
