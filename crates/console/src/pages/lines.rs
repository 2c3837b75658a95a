//! `/console/lines`: the tenant's subscriber lines, and one line with its
//! live settings, its number and its ports; the settings are edited as
//! `PATCH /v1/lines/{mpn}` edits them, with refusals shown beside their field.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simgate_domain::entities::{LineRecord, LineStatus};
use simgate_domain::{InventoryState, Line, LineSettings, Msisdn, PortState};
use simgate_service::{InventoryScope, ServiceError};

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::pages::pricing::typed_field;
use crate::session::{Console, Posted};

/// Lines per page.
const PAGE_SIZE: usize = 25;

const STATUSES: [LineStatus; 3] = [
    LineStatus::Provisioning,
    LineStatus::Active,
    LineStatus::Ceased,
];

/// The list's query string; an empty status does not filter.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: String,
    /// The page asked for, from 1.
    #[serde(default)]
    page: Option<usize>,
}

/// `GET /console/lines`: the tenant's lines, newest first, by page.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    console: Console,
    Query(query): Query<ListQuery>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let status = match query.status.trim() {
        "" => None,
        raw => Some(LineStatus::parse(raw).ok_or_else(|| {
            ConsoleError::BadForm(format!(
                "'{raw}' is not a line status (provisioning, active or ceased)"
            ))
        })?),
    };
    let number = query.page.unwrap_or(1).max(1);
    let lines: Vec<LineRecord> = state
        .services
        .lines(tenant)
        .await?
        .into_iter()
        .filter(|line| status.is_none_or(|s| line.status == s))
        .collect();
    let total = lines.len();
    let shown = lines
        .iter()
        .skip((number - 1).saturating_mul(PAGE_SIZE))
        .take(PAGE_SIZE);
    let link = |page: usize| {
        let query = serde_urlencoded::to_string([
            ("status", query.status.as_str()),
            ("page", page.to_string().as_str()),
        ])
        .unwrap_or_default();
        format!("/console/lines?{query}")
    };
    let content = html! {
        form.card.filters method="get" action="/console/lines" role="search" {
            div {
                label for="line-status" { "Status" }
                select id="line-status" name="status" {
                    option value="" { "any" }
                    @for s in STATUSES {
                        option value=(s.as_str()) selected[status == Some(s)] { (s.as_str()) }
                    }
                }
            }
            div { button type="submit" { "Filter" } }
        }
        p.muted id="lines-total" { (total) @if total == 1 { " line" } @else { " lines" } }
        @if total == 0 {
            p.notice { "No lines match. Lines are provisioned through " code { "POST /v1/lines" } "." }
        } @else {
            div.table-wrap { table id="lines" {
                thead { tr {
                    th scope="col" { "Number" } th scope="col" { "Status" } th scope="col" { "Provider" }
                    th scope="col" { "ICCID" } th scope="col" { "Since" }
                } }
                tbody {
                    @for line in shown {
                        tr data-line=(line.mpn) {
                            td { a href=(format!("/console/lines/{}", line.mpn)) { "+" (line.mpn) } }
                            td { (line.status.as_str()) }
                            td { (line.provider.as_str()) }
                            td { (line.iccid.as_ref().map_or("–", |i| i.as_str())) }
                            td { (line.created_at.format("%Y-%m-%d %H:%M UTC")) }
                        }
                    }
                }
            } }
            nav aria-label="Pages" {
                @if number > 1 { a.button.secondary href=(link(number - 1)) { "Newer lines" } " " }
                @if number.saturating_mul(PAGE_SIZE) < total { a.button.secondary href=(link(number + 1)) { "Older lines" } }
            }
        }
    };
    layout::page(&state, &console, Nav::Lines, "Lines", content).await
}

/// The settings form as posted (and shown again after a refusal). Unset
/// checkboxes are not posted: a service left unticked is turned off.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SettingsForm {
    #[serde(default)]
    new_mpn: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    mobile_data: Option<String>,
    #[serde(default)]
    mobile_voice: Option<String>,
    #[serde(default)]
    mobile_sms: Option<String>,
    #[serde(default)]
    mobile_hotspot: Option<String>,
}

impl SettingsForm {
    /// The form for a line as the provider has it now.
    fn from_line(line: &Line) -> Self {
        let on = |b: bool| b.then(|| "on".to_owned());
        Self {
            mobile_data: on(line.services.mobile_data),
            mobile_voice: on(line.services.mobile_voice),
            mobile_sms: on(line.services.mobile_messaging),
            mobile_hotspot: on(line.services.mobile_hotspot),
            ..Self::default()
        }
    }

    /// The change the fields describe (empty text fields change nothing),
    /// or the message for each field that does not parse.
    fn settings(&self) -> Result<LineSettings, HashMap<&'static str, String>> {
        let text = |raw: &str| Some(raw.trim().to_owned()).filter(|s| !s.is_empty());
        let mpn = match text(&self.new_mpn) {
            None => None,
            Some(raw) => match Msisdn::parse(&raw) {
                Ok(mpn) => Some(mpn),
                Err(error) => return Err(HashMap::from([("new_mpn", error.to_string())])),
            },
        };
        Ok(LineSettings {
            mpn,
            first_name: text(&self.first_name),
            last_name: text(&self.last_name),
            email: text(&self.email),
            mobile_data: Some(self.mobile_data.is_some()),
            mobile_voice: Some(self.mobile_voice.is_some()),
            mobile_sms: Some(self.mobile_sms.is_some()),
            mobile_hotspot: Some(self.mobile_hotspot.is_some()),
            ..LineSettings::default()
        })
    }
}

/// After a save: `?saved=1` shows the confirmation.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// The tenant's record of the line with number `raw`, or the API's 400/404.
async fn record(state: &ConsoleState, tenant: &str, raw: &str) -> Result<LineRecord, ConsoleError> {
    let mpn = Msisdn::parse(raw)?;
    state
        .services
        .lines(tenant)
        .await?
        .into_iter()
        .find(|line| line.mpn == mpn)
        .ok_or_else(|| ServiceError::LineNotFound(mpn.to_string()).into())
}

/// `GET /console/lines/{mpn}`: another tenant's line is a 404.
pub(crate) async fn detail(
    State(state): State<ConsoleState>,
    console: Console,
    Path(mpn): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let record = record(&state, tenant, &mpn).await?;
    let live = if record.status == LineStatus::Active {
        Some(state.services.line(tenant, &record.mpn).await?)
    } else {
        None
    };
    let form = live.as_ref().map(SettingsForm::from_line);
    let notice = query
        .saved
        .is_some()
        .then_some("Settings saved at the provider.");
    line_page(
        &state,
        &console,
        &record,
        live.as_ref(),
        form.as_ref(),
        &HashMap::new(),
        notice,
    )
    .await
}

/// `POST /console/lines/{mpn}`: changes the settings, or shows the page
/// again (422) with each refusal beside its field.
pub(crate) async fn save(
    State(state): State<ConsoleState>,
    Path(mpn): Path<String>,
    posted: Posted<SettingsForm>,
) -> Result<Response, ConsoleError> {
    let Posted { console, form } = posted;
    let tenant = console.tenant()?;
    let record = record(&state, tenant, &mpn).await?;
    let errors = match form.settings() {
        Err(errors) => errors,
        Ok(settings) => {
            match state
                .services
                .update_line_settings(tenant, &record.mpn, &settings)
                .await
            {
                Ok(()) => {
                    let mpn = settings.mpn.as_ref().unwrap_or(&record.mpn);
                    return Ok(
                        Redirect::to(&format!("/console/lines/{mpn}?saved=1")).into_response()
                    );
                }
                Err(error) => {
                    let error = simgate_api::problem::ApiError::from(error);
                    // Refused values go beside their field; anything else
                    // (a line gone meanwhile, the provider down) is a page.
                    if !matches!(
                        error.status(),
                        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
                    ) {
                        return Err(error.into());
                    }
                    let slot = match error.field() {
                        Some("mpn") => "new_mpn",
                        Some("email") => "email",
                        Some("first_name") => "first_name",
                        Some("last_name") => "last_name",
                        _ => "settings",
                    };
                    HashMap::from([(slot, error.detail().to_owned())])
                }
            }
        }
    };
    let live = state.services.line(tenant, &record.mpn).await?;
    let page = line_page(
        &state,
        &console,
        &record,
        Some(&live),
        Some(&form),
        &errors,
        None,
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// One labelled checkbox.
fn checkbox(id: &'static str, label: &str, checked: bool) -> Markup {
    html! {
        div.check {
            input id=(id) name=(id) type="checkbox" checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// Whether a number the provider wrote is the line's number.
fn is_number(raw: Option<&str>, mpn: &Msisdn) -> bool {
    raw.and_then(|raw| Msisdn::parse(raw).ok())
        .is_some_and(|number| &number == mpn)
}

async fn line_page(
    state: &ConsoleState,
    console: &Console,
    record: &LineRecord,
    live: Option<&Line>,
    form: Option<&SettingsForm>,
    errors: &HashMap<&'static str, String>,
    notice: Option<&str>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let scope = InventoryScope::Tenant(tenant);
    let (numbers, ports) = if record.status == LineStatus::Active {
        let numbers = state
            .services
            .numbers(scope, InventoryState::Active)
            .await?
            .into_iter()
            .filter(|n| n.mpn == record.mpn)
            .collect::<Vec<_>>();
        let ports = state
            .services
            .ports(scope, PortState::All)
            .await?
            .into_iter()
            .filter(|p| {
                is_number(Some(&p.number), &record.mpn)
                    || is_number(p.port_in_number.as_deref(), &record.mpn)
            })
            .collect::<Vec<_>>();
        (numbers, ports)
    } else {
        (Vec::new(), Vec::new())
    };
    let action = format!("/console/lines/{}", record.mpn);
    let content = html! {
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        dl.facts.card {
            dt { "Status" } dd id="line-status-value" { (record.status.as_str()) }
            dt { "Provider" } dd { (record.provider.as_str()) }
            dt { "ICCID" } dd { (record.iccid.as_ref().map_or("–", |i| i.as_str())) }
            dt { "Since" } dd { (record.created_at.format("%Y-%m-%d %H:%M UTC")) }
            @if let Some(line) = live {
                @if let Some(account) = &line.account_id { dt { "Account" } dd { (account) } }
                @if let Some(sip) = &line.sip_address { dt { "SIP address" } dd { (sip) } }
                @if let Some(bundle) = &line.bundle {
                    dt { "Bundle" }
                    dd {
                        (bundle.name)
                        @if let (Some(used), Some(allowance)) = (bundle.used_mb, bundle.allowance_mb) {
                            " · " (used) " of " (allowance) " MB used"
                        }
                    }
                }
            }
        }
        h2 { "Numbers" }
        @if numbers.is_empty() {
            p.muted { "+" (record.mpn) " (not in the provider's active numbers)" }
        } @else {
            ul id="line-numbers" {
                @for number in &numbers {
                    li { "+" (number.mpn) " · " (match number.state { InventoryState::Active => "active", InventoryState::Reserved => "reserved" }) }
                }
            }
        }
        h2 { "Porting" }
        @if ports.is_empty() {
            p.muted id="line-ports" { "No ports for this number." }
        } @else {
            div.table-wrap { table id="line-ports" {
                thead { tr {
                    th scope="col" { "Port" } th scope="col" { "Direction" } th scope="col" { "State" }
                    th scope="col" { "Ordered" } th scope="col" { "Port date" }
                } }
                tbody {
                    @for port in &ports {
                        tr {
                            td { (port.id) }
                            td { (port.direction) }
                            td { (port.provider_status) }
                            td { (port.order_date.as_deref().unwrap_or("–")) }
                            td { (port.port_date.as_deref().unwrap_or("–")) }
                        }
                    }
                }
            } }
        }
        h2 { "Settings" }
        @match form {
            None => p.muted { "Only an active line's settings can be changed." },
            Some(form) => {
                @if !errors.is_empty() { p.notice.bad role="alert" { "Nothing was changed: fix the fields marked below." } }
                @if let Some(error) = errors.get("settings") { p.field-error role="alert" { (error) } }
                form.card method="post" action=(action) novalidate {
                    (layout::csrf_field(console))
                    fieldset {
                        legend { "Services" }
                        (checkbox("mobile_data", "Mobile data", form.mobile_data.is_some()))
                        (checkbox("mobile_voice", "Voice calls", form.mobile_voice.is_some()))
                        (checkbox("mobile_sms", "SMS", form.mobile_sms.is_some()))
                        (checkbox("mobile_hotspot", "Hotspot", form.mobile_hotspot.is_some()))
                    }
                    (typed_field("first_name", "Subscriber first name (empty: unchanged)", &form.first_name, "text", errors))
                    (typed_field("last_name", "Subscriber last name (empty: unchanged)", &form.last_name, "text", errors))
                    (typed_field("email", "Subscriber email (empty: unchanged)", &form.email, "email", errors))
                    (typed_field("new_mpn", "New primary number, E.164 (empty: unchanged)", &form.new_mpn, "tel", errors))
                    p { button id="save-line" type="submit" { "Save settings" } }
                }
            }
        }
    };
    layout::page(
        state,
        console,
        Nav::Lines,
        &format!("Line +{}", record.mpn),
        content,
    )
    .await
}
