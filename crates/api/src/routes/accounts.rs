//! `/v1/account` (a tenant's own account and statement) and
//! `/admin/v1/tenants/{id}/account…`, `/admin/v1/reports/margin` (the
//! operator's side: terms, funding, any tenant's statement, margins).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use simgate_domain::account::signed_money;
use simgate_domain::entities::{MarginRow, Statement};
use simgate_domain::{Account, AccountMode, Currency, LedgerEntry, LedgerKind, Money, TenantId};
use simgate_service::tenants::tenant_id;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::{ApiJson, ApiQuery};
use crate::operator::Operator;
use crate::problem::{ApiError, Problem};
use crate::routes::required;

/// A tenant's account: its terms and where its money stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    pub tenant_id: TenantId,
    pub mode: AccountMode,
    /// The currency the account is kept in (ISO 4217).
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    /// Funded, less spent, plus refunded; negative on credit.
    pub balance: Money,
    /// Accepted sales not settled yet.
    pub held: Money,
    /// What new orders may use: balance less held, plus the credit limit.
    pub available: Money,
    /// How far below zero the balance may go (`credit` only).
    pub credit_limit: Option<Money>,
    /// `balance.low` is sent when `available` falls below this.
    pub low_balance_threshold: Option<Money>,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        let money = |micros| signed_money(micros, account.currency);
        Self {
            tenant_id: TenantId::from_stored(account.tenant_id.clone()),
            mode: account.mode,
            currency: account.currency,
            balance: money(account.balance_micros),
            held: money(account.held_micros),
            available: money(account.available_micros()),
            credit_limit: (account.mode == AccountMode::Credit)
                .then(|| money(account.credit_limit_micros)),
            low_balance_threshold: account.low_threshold_micros.map(money),
        }
    }
}

/// One movement on an account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntryView {
    pub id: String,
    pub kind: LedgerKind,
    /// Effect on the balance (signed).
    pub amount: Money,
    /// Effect on the held amount (signed).
    pub held: Money,
    /// What it is for: `ord_…#1` for an order's first hold, its release or
    /// capture; `refund:ord_…:<ICCID>`; the operator's reference of a credit.
    pub reference: String,
    pub order_id: Option<String>,
    /// The rate from the sale's currency into the account's, when they differ.
    pub fx_rate: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<LedgerEntry> for LedgerEntryView {
    fn from(entry: LedgerEntry) -> Self {
        Self {
            id: entry.id,
            kind: entry.kind,
            amount: signed_money(entry.amount_micros, entry.currency),
            held: signed_money(entry.held_micros, entry.currency),
            reference: entry.reference,
            order_id: entry.order_id.map(|o| o.to_string()),
            fx_rate: entry.fx_rate.map(|r| r.to_string()),
            note: entry.note,
            created_at: entry.created_at,
        }
    }
}

/// An account's movements over `[from, to)`:
/// `closing_balance = opening_balance + Σ amount`, and the same for held.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementView {
    pub account: AccountView,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub opening_balance: Money,
    pub opening_held: Money,
    pub data: Vec<LedgerEntryView>,
    pub closing_balance: Money,
    pub closing_held: Money,
}

/// The period of a statement or report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// Start, inclusive: RFC 3339 or `YYYY-MM-DD` (midnight UTC). Default:
    /// the first day of the current month.
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<String>,
    /// End, exclusive: RFC 3339 or `YYYY-MM-DD`. Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<String>,
    /// The margin report only: one tenant's sales.
    tenant_id: Option<String>,
}

/// A time from RFC 3339 or a calendar date (its midnight in UTC).
fn instant(raw: &str, field: &'static str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| Utc.from_utc_datetime(&midnight))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("{field}: {raw:?} is neither RFC 3339 nor YYYY-MM-DD"),
            )
        })
}

impl PeriodQuery {
    fn period(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        let now = Utc::now();
        let from = match &self.from {
            Some(raw) => instant(raw, "from")?,
            None => Utc
                .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
                .single()
                .unwrap_or(now),
        };
        let to = match &self.to {
            Some(raw) => instant(raw, "to")?,
            None => now + chrono::Duration::milliseconds(1),
        };
        Ok((from, to))
    }
}

/// `PUT /v1/account/alerts` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountAlerts {
    /// `balance.low` is sent once each time `available` falls below this
    /// (in the account's currency); `null` sends none.
    pub low_balance_threshold: Option<Money>,
}

/// `PUT /admin/v1/tenants/{id}/account` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountTermsBody {
    pub mode: Option<AccountMode>,
    /// ISO 4217; changes only while the account has no balance and no holds.
    #[schema(value_type = Option<String>, example = "USD")]
    pub currency: Option<Currency>,
    /// Required for `credit`, in the account's currency; none for `prepaid`.
    pub credit_limit: Option<Money>,
}

/// `POST /admin/v1/tenants/{id}/account/credits` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    /// Positive funds the account (`credit`); negative corrects it
    /// (`adjustment`). In the account's currency.
    pub amount: Option<Money>,
    /// Yours, unique: posting the same reference again changes nothing and
    /// answers the first entry (200 instead of 201).
    pub reference: Option<String>,
    pub note: Option<String>,
}

/// A posted credit and the account after it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreditView {
    pub entry: LedgerEntryView,
    pub account: AccountView,
}

/// Revenue, cost and margin of one tenant's completed sales at one provider.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MarginRowView {
    pub tenant_id: TenantId,
    #[schema(value_type = String, example = "esim-go")]
    pub provider: String,
    pub orders: u64,
    pub units: u64,
    /// Sale prices × quantities.
    pub revenue: Money,
    /// Provider costs × quantities, in the provider's currency.
    pub cost: Money,
    /// Frozen margins × quantities, in the sale's currency.
    pub margin: Money,
}

impl From<MarginRow> for MarginRowView {
    fn from(row: MarginRow) -> Self {
        Self {
            tenant_id: TenantId::from_stored(row.tenant_id),
            provider: row.provider.as_str().to_owned(),
            orders: row.orders,
            units: row.units,
            revenue: signed_money(row.revenue_micros, row.price_currency),
            cost: signed_money(row.cost_micros, row.cost_currency),
            margin: signed_money(row.margin_micros, row.price_currency),
        }
    }
}

/// The margin report of a period.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MarginReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub data: Vec<MarginRowView>,
}

/// The calling tenant's account.
#[utoipa::path(get, operation_id = "getAccount", path = "/v1/account", tag = "account",
    responses((status = 200, body = AccountView)))]
pub async fn get_account(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
) -> Result<Json<AccountView>, ApiError> {
    let tenant = TenantId::from_stored(tenant.id);
    Ok(Json(state.services.account(&tenant).await?.into()))
}

/// Sets the calling tenant's `balance.low` threshold.
#[utoipa::path(put, operation_id = "putAccountAlerts", path = "/v1/account/alerts",
    tag = "account", request_body = AccountAlerts,
    responses((status = 200, body = AccountView), (status = 422, body = Problem)))]
pub async fn put_alerts(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiJson(body): ApiJson<AccountAlerts>,
) -> Result<Json<AccountView>, ApiError> {
    let tenant = TenantId::from_stored(tenant.id);
    let account = state
        .services
        .set_low_balance_threshold(&tenant, body.low_balance_threshold)
        .await?;
    Ok(Json(account.into()))
}

/// The calling tenant's statement: opening balance, every entry with its
/// order, closing balance. JSON, or CSV with `Accept: text/csv`.
#[utoipa::path(get, operation_id = "getAccountStatement", path = "/v1/account/statement",
    tag = "account", params(PeriodQuery),
    responses((status = 200, description = "The statement: JSON, or CSV for `Accept: text/csv`",
            content((StatementView = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem)))]
pub async fn statement(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let tenant = TenantId::from_stored(tenant.id);
    let (from, to) = query.period()?;
    let statement = state.services.statement(&tenant, from, to).await?;
    statement_answer(statement, &headers)
}

/// A tenant's account. Operator key only.
#[utoipa::path(get, operation_id = "getTenantAccount", path = "/admin/v1/tenants/{id}/account",
    tag = "admin", security(("operatorKey" = [])),
    params(("id" = String, Path, description = "Tenant id (`ten_…`)")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem)))]
pub async fn get_tenant_account(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let id = tenant_id(&id)?;
    Ok(Json(state.services.tenant_account_of(&id).await?.into()))
}

/// Sets a tenant's account terms: prepaid or on credit (with a limit), and
/// its currency. Operator key only.
#[utoipa::path(put, operation_id = "putTenantAccount", path = "/admin/v1/tenants/{id}/account",
    tag = "admin", security(("operatorKey" = [])), request_body = AccountTermsBody,
    params(("id" = String, Path, description = "Tenant id (`ten_…`)")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_tenant_account(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AccountTermsBody>,
) -> Result<Json<AccountView>, ApiError> {
    let id = tenant_id(&id)?;
    let mode = required(body.mode, "mode")?;
    let currency = required(body.currency, "currency")?;
    let account = state
        .services
        .set_account_terms(&id, mode, currency, body.credit_limit)
        .await?;
    Ok(Json(account.into()))
}

/// Funds or corrects a tenant's account, idempotent on `reference`.
/// Operator key only.
#[utoipa::path(post, operation_id = "postTenantCredit",
    path = "/admin/v1/tenants/{id}/account/credits", tag = "admin",
    security(("operatorKey" = [])), request_body = CreditBody,
    params(("id" = String, Path, description = "Tenant id (`ten_…`)")),
    responses((status = 201, body = CreditView), (status = 200, body = CreditView),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn post_credit(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreditBody>,
) -> Result<(StatusCode, Json<CreditView>), ApiError> {
    let id = tenant_id(&id)?;
    let amount = required(body.amount, "amount")?;
    let reference = required(body.reference, "reference")?;
    let funded = state
        .services
        .fund_account(
            &id,
            amount.amount,
            amount.currency,
            &reference,
            body.note.as_deref(),
        )
        .await?;
    let status = if funded.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(CreditView {
            entry: funded.entry.into(),
            account: funded.account.into(),
        }),
    ))
}

/// Any tenant's statement, as `GET /v1/account/statement`. Operator key only.
#[utoipa::path(get, operation_id = "getTenantStatement",
    path = "/admin/v1/tenants/{id}/account/statement", tag = "admin",
    security(("operatorKey" = [])),
    params(("id" = String, Path, description = "Tenant id (`ten_…`)"), PeriodQuery),
    responses((status = 200, description = "The statement: JSON, or CSV for `Accept: text/csv`",
            content((StatementView = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn tenant_statement(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let id = tenant_id(&id)?;
    state.services.tenant(id.as_str()).await?;
    let (from, to) = query.period()?;
    let statement = state.services.statement(&id, from, to).await?;
    statement_answer(statement, &headers)
}

/// Revenue, cost and margin of the sales completed (placed) in the period,
/// by tenant, provider and currency; `tenant_id` narrows it to one tenant.
/// Refunded sales are left out. Operator key only.
#[utoipa::path(get, operation_id = "getMarginReport", path = "/admin/v1/reports/margin",
    tag = "admin", security(("operatorKey" = [])), params(PeriodQuery),
    responses((status = 200, body = MarginReport), (status = 400, body = Problem),
        (status = 404, body = Problem)))]
pub async fn margin_report(
    State(state): State<AppState>,
    _operator: Operator,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Json<MarginReport>, ApiError> {
    let tenant = query.tenant_id.as_deref().map(tenant_id).transpose()?;
    let (from, to) = query.period()?;
    let rows = state
        .services
        .margin_report(tenant.as_ref(), from, to)
        .await?;
    Ok(Json(MarginReport {
        from,
        to,
        data: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Whether the client asked for CSV rather than JSON.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|part| part.trim().starts_with("text/csv"))
        })
}

fn statement_answer(statement: Statement, headers: &HeaderMap) -> Result<Response, ApiError> {
    if wants_csv(headers) {
        let body = statement_csv(&statement).map_err(|error| {
            tracing::error!(%error, "could not write a statement as CSV");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "simgate failed to handle the request; it has been logged",
            )
        })?;
        let mut response = body.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        return Ok(response);
    }
    let currency = statement.account.currency;
    let money = |micros| signed_money(micros, currency);
    Ok(Json(StatementView {
        opening_balance: money(statement.opening_balance_micros),
        opening_held: money(statement.opening_held_micros),
        closing_balance: money(statement.closing_balance_micros),
        closing_held: money(statement.closing_held_micros),
        from: statement.from,
        to: statement.to,
        data: statement.entries.into_iter().map(Into::into).collect(),
        account: statement.account.into(),
    })
    .into_response())
}

/// The statement as CSV: an `opening` row, one row per entry with the
/// running balance and held amount, and a `closing` row.
fn statement_csv(statement: &Statement) -> Result<String, csv::Error> {
    let currency = statement.account.currency;
    let amount = |micros: i64| signed_money(micros, currency).amount.to_string();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "created_at",
        "kind",
        "amount",
        "held",
        "balance_after",
        "held_after",
        "currency",
        "reference",
        "order_id",
        "fx_rate",
        "note",
    ])?;
    let (mut balance, mut held) = (
        statement.opening_balance_micros,
        statement.opening_held_micros,
    );
    let from = statement.from.to_rfc3339();
    out.write_record([
        from.as_str(),
        "opening",
        "",
        "",
        &amount(balance),
        &amount(held),
        currency.code(),
        "",
        "",
        "",
        "",
    ])?;
    for entry in &statement.entries {
        balance += entry.amount_micros;
        held += entry.held_micros;
        out.write_record([
            entry.created_at.to_rfc3339().as_str(),
            entry.kind.as_str(),
            &amount(entry.amount_micros),
            &amount(entry.held_micros),
            &amount(balance),
            &amount(held),
            currency.code(),
            &entry.reference,
            entry.order_id.as_ref().map_or("", |o| o.0.as_str()),
            &entry.fx_rate.map(|r| r.to_string()).unwrap_or_default(),
            entry.note.as_deref().unwrap_or_default(),
        ])?;
    }
    let to = statement.to.to_rfc3339();
    out.write_record([
        to.as_str(),
        "closing",
        "",
        "",
        &amount(statement.closing_balance_micros),
        &amount(statement.closing_held_micros),
        currency.code(),
        "",
        "",
        "",
        "",
    ])?;
    let bytes = out
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
