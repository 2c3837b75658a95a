//! `/console/account`: the tenant's account (balance, held, available,
//! terms) and its statement for the last 30 days, from the same service
//! calls as `GET /v1/account` and `GET /v1/account/statement`. The operator,
//! viewing a tenant, also funds or corrects the account and sets its terms
//! here, as `POST /admin/v1/tenants/{id}/account/credits` and
//! `PUT /admin/v1/tenants/{id}/account` do.

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde::Deserialize;
use simgate_api::problem::ApiError;
use simgate_domain::account::signed_money;
use simgate_domain::{Account, AccountMode, Currency, Money, TenantId};

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::pages::pricing::text_field;
use crate::session::{Console, Posted};

/// How far back the page's statement reaches.
const STATEMENT_DAYS: i64 = 30;

/// The operator's funding form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CreditForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    note: String,
}

/// The operator's terms form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TermsForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    credit_limit: String,
}

/// After a change: `?done=credited` or `?done=terms` shows the confirmation.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// A refusal to show on the page again: the form it is about and the
/// message for each field.
struct Refusal {
    form: &'static str,
    errors: HashMap<&'static str, String>,
}

fn money(micros: i64, currency: Currency) -> String {
    signed_money(micros, currency).to_string()
}

fn summary(account: &Account) -> Markup {
    let currency = account.currency;
    let limit =
        (account.mode == AccountMode::Credit).then(|| money(account.credit_limit_micros, currency));
    html! {
        table id="account" data-mode=(account.mode.as_str()) data-currency=(currency.code()) {
            caption { "The account as it stands" }
            tbody {
                tr { th scope="row" { "Mode" } td { (account.mode.as_str()) } }
                tr { th scope="row" { "Balance" } td data-balance=(signed_money(account.balance_micros, currency).amount) { (money(account.balance_micros, currency)) } }
                tr { th scope="row" { "Held (sales not settled yet)" } td data-held=(signed_money(account.held_micros, currency).amount) { (money(account.held_micros, currency)) } }
                tr { th scope="row" { "Available for new orders" } td data-available=(signed_money(account.available_micros(), currency).amount) { (money(account.available_micros(), currency)) } }
                tr { th scope="row" { "Credit limit" } td { (limit.unwrap_or_else(|| "–".to_owned())) } }
                tr { th scope="row" { "balance.low below" } td { (account.low_threshold_micros.map_or_else(|| "–".to_owned(), |t| money(t, currency))) } }
            }
        }
    }
}

/// The statement table, and the account as the statement read it (one
/// read serves the summary too).
async fn statement(
    state: &ConsoleState,
    tenant: &TenantId,
) -> Result<(Markup, Account), ConsoleError> {
    let to = Utc::now();
    let from = to - Duration::days(STATEMENT_DAYS);
    let statement = state.services.statement(tenant, from, to).await?;
    let currency = statement.account.currency;
    let running: Vec<i64> = statement
        .entries
        .iter()
        .scan(statement.opening_balance_micros, |balance, entry| {
            *balance += entry.amount_micros;
            Some(*balance)
        })
        .collect();
    let table = html! {
        table id="statement" {
            caption { "Statement of the last " (STATEMENT_DAYS) " days (the API's GET /v1/account/statement gives any period, also as CSV)" }
            thead { tr { th { "When" } th { "Kind" } th { "Reference" } th { "Order" } th { "Amount" } th { "Held" } th { "Balance" } th { "Note" } } }
            tbody {
                tr.opening { td { (from.format("%Y-%m-%d %H:%M")) } td colspan="5" { "opening balance" } td { (money(statement.opening_balance_micros, currency)) } td {} }
                @for (entry, running) in statement.entries.iter().zip(running) {
                    tr data-kind=(entry.kind.as_str()) {
                        td { (entry.created_at.format("%Y-%m-%d %H:%M:%S")) }
                        td { (entry.kind.as_str()) }
                        td { code { (entry.reference) } }
                        td {
                            @if let Some(order) = &entry.order_id {
                                a href=(format!("/console/orders/{}", order.0)) { (order.0) }
                            }
                        }
                        td { (money(entry.amount_micros, currency)) }
                        td { (money(entry.held_micros, currency)) }
                        td { (money(running, currency)) }
                        td { (entry.note.clone().unwrap_or_default()) }
                    }
                }
                tr.closing { td { (to.format("%Y-%m-%d %H:%M")) } td colspan="5" { "closing balance" } td data-closing=(signed_money(statement.closing_balance_micros, currency).amount) { (money(statement.closing_balance_micros, currency)) } td {} }
            }
        }
    };
    Ok((table, statement.account))
}

fn operator_forms(
    console: &Console,
    account: &Account,
    refusal: Option<&Refusal>,
    credit: &CreditForm,
    terms: &TermsForm,
) -> Markup {
    let none = HashMap::new();
    let errors_of = |form: &str| {
        refusal
            .filter(|r| r.form == form)
            .map_or(&none, |r| &r.errors)
    };
    let mode = if terms.mode.is_empty() {
        account.mode.as_str()
    } else {
        terms.mode.as_str()
    };
    let currency = if terms.currency.is_empty() {
        account.currency.code().to_owned()
    } else {
        terms.currency.clone()
    };
    html! {
        form.card id="fund-account" method="post" action="/console/account/credits" novalidate {
            h2 { "Fund or correct" }
            p.muted { "A positive amount funds the account, a negative one corrects it. The same reference again does nothing: it is the entry's key." }
            (layout::csrf_field(console))
            (text_field("amount", &format!("Amount, in {}", account.currency), &credit.amount, errors_of("credit")))
            (text_field("reference", "Reference (your payment or invoice id)", &credit.reference, errors_of("credit")))
            (text_field("note", "Note (optional)", &credit.note, errors_of("credit")))
            p { button id="fund" type="submit" { "Post to the ledger" } }
        }
        form.card id="account-terms" method="post" action="/console/account/terms" novalidate {
            h2 { "Terms" }
            (layout::csrf_field(console))
            label for="mode" { "Mode" }
            select id="mode" name="mode" {
                option value="prepaid" selected[mode == "prepaid"] { "prepaid: the balance must cover every sale" }
                option value="credit" selected[mode == "credit"] { "credit: the balance may go down to minus the limit" }
            }
            (text_field("currency", "Currency (changes only while the account is empty)", &currency, errors_of("terms")))
            (text_field("credit_limit", "Credit limit (credit only)", &terms.credit_limit, errors_of("terms")))
            @if let Some(error) = errors_of("terms").get("mode") { span.field-error role="alert" { (error) } }
            p { button id="save-terms" type="submit" { "Save terms" } }
        }
    }
}

async fn render(
    state: &ConsoleState,
    console: &Console,
    done: Option<&str>,
    refusal: Option<&Refusal>,
    credit: &CreditForm,
    terms: &TermsForm,
) -> Result<Markup, ConsoleError> {
    let tenant = TenantId::from_stored(console.tenant()?.to_owned());
    let (statement, account) = statement(state, &tenant).await?;
    let content = html! {
        @match done {
            Some("credited") => p.notice role="status" { "Posted to the ledger." },
            Some("terms") => p.notice role="status" { "Terms saved." },
            _ => {},
        }
        @if refusal.is_some() { p.notice.bad role="alert" { "Nothing was posted: fix the fields marked below." } }
        div.card { (summary(&account)) }
        @if console.session.operator { (operator_forms(console, &account, refusal, credit, terms)) }
        div.card { (statement) }
    };
    layout::page(state, console, Nav::Account, "Account", content).await
}

/// `GET /console/account`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
    Query(query): Query<DoneQuery>,
) -> Result<Markup, ConsoleError> {
    render(
        &state,
        &console,
        query.done.as_deref(),
        None,
        &CreditForm::default(),
        &TermsForm::default(),
    )
    .await
}

/// A tenant's key may read its account, never fund it.
fn operator_only(console: &Console) -> Result<(), ConsoleError> {
    if console.session.operator {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "operator_only",
        "only the operator funds an account or sets its terms",
    )
    .into())
}

/// What a service refusal of a form becomes: the page again with the
/// message beside its field, or the error page for anything but a 4xx.
fn refused(
    form: &'static str,
    fallback: &'static str,
    error: ApiError,
) -> Result<Refusal, ConsoleError> {
    if !error.status().is_client_error() {
        return Err(error.into());
    }
    let field = match error.field() {
        Some(f) if f.starts_with("credit_limit") => "credit_limit",
        Some(f) if f.starts_with("amount") => "amount",
        Some("currency") => "currency",
        Some("reference") => "reference",
        Some("note") => "note",
        Some("mode") => "mode",
        _ => fallback,
    };
    Ok(Refusal {
        form,
        errors: HashMap::from([(field, error.detail().to_owned())]),
    })
}

async fn again(
    state: &ConsoleState,
    console: &Console,
    refusal: &Refusal,
    credit: &CreditForm,
    terms: &TermsForm,
) -> Result<Response, ConsoleError> {
    let page = render(state, console, None, Some(refusal), credit, terms).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// `POST /console/account/credits`: the operator funds or corrects the
/// tenant's account, in its currency.
pub(crate) async fn credit(
    State(state): State<ConsoleState>,
    posted: Posted<CreditForm>,
) -> Result<Response, ConsoleError> {
    let Posted { console, form } = posted;
    operator_only(&console)?;
    let tenant = TenantId::from_stored(console.tenant()?.to_owned());
    let account = state.services.account(&tenant).await?;
    let Ok(amount) = Decimal::from_str(form.amount.trim()) else {
        let refusal = Refusal {
            form: "credit",
            errors: HashMap::from([(
                "amount",
                format!("'{}' is not a number", form.amount.trim()),
            )]),
        };
        return again(&state, &console, &refusal, &form, &TermsForm::default()).await;
    };
    let note = Some(form.note.trim()).filter(|n| !n.is_empty());
    match state
        .services
        .fund_account(&tenant, amount, account.currency, &form.reference, note)
        .await
    {
        Ok(_) => Ok(Redirect::to("/console/account?done=credited").into_response()),
        Err(error) => {
            let refusal = refused("credit", "amount", error.into())?;
            again(&state, &console, &refusal, &form, &TermsForm::default()).await
        }
    }
}

/// `POST /console/account/terms`: the operator sets the mode, currency
/// and credit limit.
pub(crate) async fn terms(
    State(state): State<ConsoleState>,
    posted: Posted<TermsForm>,
) -> Result<Response, ConsoleError> {
    let Posted { console, form } = posted;
    operator_only(&console)?;
    let tenant = TenantId::from_stored(console.tenant()?.to_owned());
    let mut errors = HashMap::new();
    let mode = AccountMode::from_str(form.mode.trim())
        .map_err(|e| errors.insert("mode", e.to_string()))
        .ok();
    let currency = Currency::parse(form.currency.trim())
        .map_err(|e| errors.insert("currency", e.to_string()))
        .ok();
    let limit = match form.credit_limit.trim() {
        "" => None,
        raw => Decimal::from_str(raw)
            .map_err(|_| errors.insert("credit_limit", format!("'{raw}' is not a number")))
            .ok(),
    };
    let refusal = match (mode, currency) {
        (Some(mode), Some(currency)) if errors.is_empty() => {
            match limit.map(|amount| Money::new(amount, currency)).transpose() {
                Err(error) => refused("terms", "credit_limit", error.into())?,
                Ok(limit) => match state
                    .services
                    .set_account_terms(&tenant, mode, currency, limit)
                    .await
                {
                    Ok(_) => {
                        return Ok(Redirect::to("/console/account?done=terms").into_response());
                    }
                    Err(error) => refused("terms", "credit_limit", error.into())?,
                },
            }
        }
        _ => Refusal {
            form: "terms",
            errors,
        },
    };
    again(&state, &console, &refusal, &CreditForm::default(), &form).await
}
