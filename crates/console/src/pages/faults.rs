//! `/console/faults`, under `serve --sandbox` only: each simulator's armed
//! faults, a form to arm one (what the simulators' `FaultSpec` takes) and
//! a button to clear them, so an operator can make a provider fail and
//! watch an order fail over. Faults hit every tenant's orders, so only the
//! operator's session may use the panel; outside the sandbox it is a 404.

use std::collections::HashMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use simgate_api::problem::ApiError;
use simgate_domain::ProviderId;
use simgate_sandbox::simulator::{FaultKind, FaultSpec};

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::pages::pricing::text_field;
use crate::pages::providers::health_table;
use crate::session::{Console, Posted};
use crate::simulators::{Simulator, SimulatorError, Simulators};

/// The methods a fault may be limited to.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The kinds of fault, as `FaultSpec` names them, with what each does.
const KINDS: [(&str, &str); 4] = [
    ("status", "answer an error status without acting"),
    ("latency", "answer normally, but late"),
    ("timeout", "act, then hold the answer back"),
    ("malformed", "act, then answer a body that is not JSON"),
];

/// Statuses a fault may answer: the errors a provider (or its proxy) sends.
const STATUSES: RangeInclusive<u16> = 400..=599;
/// The longest `Retry-After` worth sending, in seconds.
const RETRY_AFTER_SECS: RangeInclusive<u64> = 0..=3600;
/// The longest delay, in milliseconds: ten minutes.
const LATENCY_MS: RangeInclusive<u64> = 1..=600_000;
/// The longest withheld answer, in milliseconds: an hour (the default).
const TIMEOUT_MS: RangeInclusive<u64> = 1..=3_600_000;
/// How many requests one fault may hit.
const TIMES: RangeInclusive<u32> = 1..=1000;
/// The longest path prefix accepted.
const PATH_CHARS: usize = 200;

/// Refusals by field name.
type FieldErrors = HashMap<&'static str, String>;

/// The arming form as posted (and shown again after a refusal).
#[derive(Debug, Deserialize)]
pub(crate) struct ArmForm {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    retry_after_secs: String,
    #[serde(default)]
    ms: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    times: String,
}

impl Default for ArmForm {
    /// A lasting 503 on order placement: the usual way to see a fail-over.
    fn default() -> Self {
        Self {
            provider: String::new(),
            kind: "status".to_owned(),
            status: "503".to_owned(),
            retry_after_secs: "0".to_owned(),
            ms: String::new(),
            path: String::new(),
            method: "POST".to_owned(),
            times: "1".to_owned(),
        }
    }
}

/// `raw` as a number in `range`; `None` (with the refusal recorded) when
/// it is not one, and `None` silently when it is empty.
fn number_in<T>(
    raw: &str,
    field: &'static str,
    range: &RangeInclusive<T>,
    errors: &mut FieldErrors,
) -> Option<T>
where
    T: FromStr + PartialOrd + Display,
{
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<T>() {
        Ok(value) if range.contains(&value) => Some(value),
        _ => {
            errors.insert(
                field,
                format!(
                    "'{raw}' is not a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

impl ArmForm {
    /// The simulator the fault is for, or the refusal.
    fn provider(&self, simulators: &Simulators) -> Result<ProviderId, String> {
        simulator_named(simulators, &self.provider)
            .map(|s| s.provider)
            .ok_or_else(|| "choose one of the sandbox's simulators".to_owned())
    }

    /// The fault the fields describe, or the refusal of each field that
    /// does not fit. Fields the chosen kind does not use are ignored.
    fn spec(&self) -> Result<FaultSpec, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = match self.kind.as_str() {
            "status" => {
                let status = number_in(&self.status, "status", &STATUSES, &mut errors);
                if self.status.trim().is_empty() {
                    errors.insert("status", "give the status to answer, e.g. 503".to_owned());
                }
                let retry_after_secs = number_in(
                    &self.retry_after_secs,
                    "retry_after_secs",
                    &RETRY_AFTER_SECS,
                    &mut errors,
                );
                status.map(|status| FaultKind::Status {
                    status,
                    retry_after_secs,
                })
            }
            "latency" => {
                let ms = number_in(&self.ms, "ms", &LATENCY_MS, &mut errors);
                if self.ms.trim().is_empty() {
                    errors.insert("ms", "give the delay in milliseconds".to_owned());
                }
                ms.map(|ms| FaultKind::Latency { ms })
            }
            "timeout" => Some(FaultKind::Timeout {
                ms: number_in(&self.ms, "ms", &TIMEOUT_MS, &mut errors),
            }),
            "malformed" => Some(FaultKind::Malformed),
            _ => {
                errors.insert("kind", "choose one of the kinds listed".to_owned());
                None
            }
        };
        let path = Some(self.path.trim()).filter(|p| !p.is_empty());
        if let Some(path) = path
            && (!path.starts_with('/')
                || path.chars().count() > PATH_CHARS
                || path.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            errors.insert(
                "path",
                format!("a path starts with / and has no spaces (at most {PATH_CHARS} characters)"),
            );
        }
        let method = Some(self.method.trim()).filter(|m| !m.is_empty());
        if let Some(method) = method
            && !METHODS.contains(&method)
        {
            errors.insert("method", "choose a method listed, or any".to_owned());
        }
        let times = if self.times.trim().is_empty() {
            Some(1)
        } else {
            number_in(&self.times, "times", &TIMES, &mut errors)
        };
        match (kind, times) {
            (Some(kind), Some(times)) if errors.is_empty() => Ok(FaultSpec {
                kind,
                path: path.map(str::to_owned),
                method: method.map(str::to_owned),
                times,
            }),
            _ => Err(errors),
        }
    }
}

/// One armed fault, in words.
fn describe(fault: &FaultSpec) -> String {
    let what = match &fault.kind {
        FaultKind::Status {
            status,
            retry_after_secs: Some(secs),
        } => format!("answers {status} (Retry-After {secs} s)"),
        FaultKind::Status {
            status,
            retry_after_secs: None,
        } => format!("answers {status}"),
        FaultKind::Latency { ms } => format!("answers after {ms} ms"),
        FaultKind::Timeout { ms: Some(ms) } => format!("acts, then holds the answer {ms} ms"),
        FaultKind::Timeout { ms: None } => "acts, then holds the answer an hour".to_owned(),
        FaultKind::Malformed => "acts, then answers a body that is not JSON".to_owned(),
    };
    let method = fault.method.as_deref().unwrap_or("any method");
    let path = fault
        .path
        .as_deref()
        .map_or_else(|| "any path".to_owned(), |p| format!("{p}…"));
    let times = fault.times;
    format!("{what} · {method} {path} · {times} more")
}

fn kind_name(kind: &FaultKind) -> &'static str {
    match kind {
        FaultKind::Status { .. } => "status",
        FaultKind::Latency { .. } => "latency",
        FaultKind::Timeout { .. } => "timeout",
        FaultKind::Malformed => "malformed",
    }
}

/// The panel, or a 404 outside the sandbox.
fn simulators(state: &ConsoleState) -> Result<&Simulators, ConsoleError> {
    state.simulators.as_ref().ok_or_else(|| {
        ApiError::not_found("route_not_found", "There is no page at this address.").into()
    })
}

/// The visitor, when it is the operator: faults hit every tenant.
fn operator_only(console: Console) -> Result<Console, ConsoleError> {
    if console.session.operator {
        Ok(console)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "operator_only",
            "The faults panel affects every tenant: sign in with the operator key to use it.",
        )
        .into())
    }
}

/// What the last action did, shown above the panel.
enum Notice {
    Armed(ProviderId),
    Cleared(ProviderId),
    Failed(SimulatorError),
}

/// Every simulator with its armed faults (or why it did not answer).
async fn simulator_table(console: &Console, simulators: &Simulators) -> Markup {
    let mut rows = Vec::new();
    for simulator in simulators.all() {
        rows.push((simulator.provider, simulators.armed(simulator).await));
    }
    html! {
        div.table-wrap {
            table id="simulators" {
                caption { "The sandbox's simulators and the faults armed on each, first matched first" }
                thead { tr { th scope="col" { "Simulator" } th scope="col" { "Armed faults" } th scope="col" { "Clear" } } }
                tbody {
                    @for (provider, armed) in &rows {
                        tr data-provider=(provider.as_str()) {
                            td { (provider.as_str()) }
                            td {
                                @match armed {
                                    Ok(faults) if faults.is_empty() => span.muted { "none" },
                                    Ok(faults) => ul.faults {
                                        @for fault in faults {
                                            li data-kind=(kind_name(&fault.kind)) { (describe(fault)) }
                                        }
                                    },
                                    Err(error) => span.error { (error) },
                                }
                            }
                            td {
                                form method="post" action="/console/faults/clear" {
                                    (layout::csrf_field(console))
                                    input type="hidden" name="provider" value=(provider.as_str());
                                    button.secondary type="submit" aria-label=(format!("Clear the faults of {provider}")) { "Clear" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn panel(
    state: &ConsoleState,
    console: &Console,
    simulators: &Simulators,
    form: &ArmForm,
    errors: &FieldErrors,
    notice: Option<Notice>,
) -> Result<Markup, ConsoleError> {
    let table = simulator_table(console, simulators).await;
    let health = health_table(state).await?;
    let kind_error = errors.get("kind");
    let provider_error = errors.get("provider");
    let method_error = errors.get("method");
    let content = html! {
        @match &notice {
            Some(Notice::Armed(provider)) => p.notice role="status" { "Fault armed on " (provider) "." },
            Some(Notice::Cleared(provider)) => p.notice role="status" { "Faults of " (provider) " cleared." },
            Some(Notice::Failed(error)) => p.notice.bad role="alert" { (error) },
            None => {},
        }
        @if !errors.is_empty() { p.notice.bad role="alert" { "No fault was armed: fix the fields marked below." } }
        p.muted {
            "Faults make a simulator fail the next matching requests, for every tenant. "
            "Arm one on the provider routing tries first, then order the offer from "
            a href="/console/routing" { "Routing" }
            " and open the order: its attempts show the fail-over."
        }
        section.card aria-labelledby="simulators-title" {
            h2 id="simulators-title" { "Simulators" }
            (table)
        }
        form.card id="arm-fault" method="post" action="/console/faults" novalidate {
            h2 { "Arm a fault" }
            (layout::csrf_field(console))
            label for="provider" { "Simulator" }
            select id="provider" name="provider"
                aria-invalid=[provider_error.map(|_| "true")] aria-describedby=[provider_error.map(|_| "provider-error")] {
                @for simulator in simulators.all() {
                    @let id = simulator.provider.as_str();
                    option value=(id) selected[form.provider == id] { (id) }
                }
            }
            @if let Some(error) = provider_error { span.field-error id="provider-error" role="alert" { (error) } }
            label for="kind" { "Fault" }
            select id="kind" name="kind"
                aria-invalid=[kind_error.map(|_| "true")] aria-describedby=[kind_error.map(|_| "kind-error")] {
                @for (kind, what) in KINDS {
                    option value=(kind) selected[form.kind == kind] { (kind) ": " (what) }
                }
            }
            @if let Some(error) = kind_error { span.field-error id="kind-error" role="alert" { (error) } }
            (text_field("status", "Status to answer (fault status, 400 to 599)", &form.status, errors))
            (text_field("retry_after_secs", "Retry-After in seconds (fault status, optional)", &form.retry_after_secs, errors))
            (text_field("ms", "Milliseconds (latency: the delay; timeout: how long the answer is held, an hour if empty)", &form.ms, errors))
            (text_field("path", "Only requests whose path starts with (optional, e.g. /orders)", &form.path, errors))
            label for="method" { "Only requests with the method" }
            select id="method" name="method"
                aria-invalid=[method_error.map(|_| "true")] aria-describedby=[method_error.map(|_| "method-error")] {
                option value="" selected[form.method.is_empty()] { "any method" }
                @for method in METHODS {
                    option value=(method) selected[form.method == method] { (method) }
                }
            }
            @if let Some(error) = method_error { span.field-error id="method-error" role="alert" { (error) } }
            (text_field("times", "How many matching requests fail (1 to 1000)", &form.times, errors))
            p { button id="arm" type="submit" { "Arm fault" } }
        }
        section.card aria-labelledby="health-title" {
            h2 id="health-title" { "Provider health" }
            p.muted { "Repeated failures open a provider's circuit: routing then skips it until its cool-down ends." }
            div.table-wrap { (health) }
        }
    };
    layout::page(state, console, Nav::Faults, "Faults", content).await
}

/// After an action: which simulator was armed or cleared.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    armed: Option<String>,
    #[serde(default)]
    cleared: Option<String>,
}

/// `GET /console/faults`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Result<Console, ConsoleError>,
    Query(query): Query<DoneQuery>,
) -> Result<Markup, ConsoleError> {
    let simulators = simulators(&state)?;
    let console = operator_only(console?)?;
    let provider = |raw: Option<&String>| raw.and_then(|p| p.parse::<ProviderId>().ok());
    let notice = provider(query.armed.as_ref())
        .map(Notice::Armed)
        .or_else(|| provider(query.cleared.as_ref()).map(Notice::Cleared));
    panel(
        &state,
        &console,
        simulators,
        &ArmForm::default(),
        &FieldErrors::new(),
        notice,
    )
    .await
}

/// `POST /console/faults`: arms the fault, or shows the form again (422)
/// with each refusal beside its field, or (502) why the simulator did not
/// take it.
pub(crate) async fn arm(
    State(state): State<ConsoleState>,
    posted: Result<Posted<ArmForm>, ConsoleError>,
) -> Result<Response, ConsoleError> {
    let simulators = simulators(&state)?;
    let Posted { console, form } = posted?;
    let console = operator_only(console)?;
    let provider = form.provider(simulators);
    let spec = form.spec();
    let (provider, spec) = match (provider, spec) {
        (Ok(provider), Ok(spec)) => (provider, spec),
        (provider, spec) => {
            let mut errors = spec.err().unwrap_or_default();
            if let Err(error) = provider {
                errors.insert("provider", error);
            }
            let page = panel(&state, &console, simulators, &form, &errors, None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let Some(simulator) = simulators.find(provider) else {
        return Err(ConsoleError::BadForm(
            "no simulator runs for this provider".to_owned(),
        ));
    };
    match simulators.arm(simulator, &spec).await {
        Ok(()) => {
            tracing::info!(%provider, fault = %describe(&spec), "fault armed from the console");
            Ok(Redirect::to(&format!("/console/faults?armed={provider}")).into_response())
        }
        Err(error) => {
            let notice = Some(Notice::Failed(error));
            let page = panel(
                &state,
                &console,
                simulators,
                &form,
                &FieldErrors::new(),
                notice,
            )
            .await?;
            Ok((StatusCode::BAD_GATEWAY, page).into_response())
        }
    }
}

/// The clear button's form.
#[derive(Debug, Deserialize)]
pub(crate) struct ClearForm {
    #[serde(default)]
    provider: String,
}

/// The simulator a form's `provider` field names, when one runs.
fn simulator_named<'a>(simulators: &'a Simulators, field: &str) -> Option<&'a Simulator> {
    field
        .trim()
        .parse::<ProviderId>()
        .ok()
        .and_then(|p| simulators.find(p))
}

/// `POST /console/faults/clear`: disarms every fault of one simulator.
pub(crate) async fn clear(
    State(state): State<ConsoleState>,
    posted: Result<Posted<ClearForm>, ConsoleError>,
) -> Result<Response, ConsoleError> {
    let simulators = simulators(&state)?;
    let Posted { console, form } = posted?;
    let console = operator_only(console)?;
    let simulator = simulator_named(simulators, &form.provider)
        .ok_or_else(|| ConsoleError::BadForm("no simulator runs for this provider".to_owned()))?;
    match simulators.clear(simulator).await {
        Ok(()) => {
            tracing::info!(provider = %simulator.provider, "faults cleared from the console");
            Ok(
                Redirect::to(&format!("/console/faults?cleared={}", simulator.provider))
                    .into_response(),
            )
        }
        Err(error) => {
            let notice = Some(Notice::Failed(error));
            let page = panel(
                &state,
                &console,
                simulators,
                &ArmForm::default(),
                &FieldErrors::new(),
                notice,
            )
            .await?;
            Ok((StatusCode::BAD_GATEWAY, page).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> ArmForm {
        serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap()).unwrap()
    }

    #[test]
    fn a_lasting_503_on_orders_is_the_fault_the_simulators_take() {
        let spec = form(&[
            ("kind", "status"),
            ("status", "503"),
            ("retry_after_secs", "0"),
            ("path", "/orders"),
            ("method", "POST"),
            ("times", "20"),
        ])
        .spec();
        assert_eq!(
            spec,
            Ok(FaultSpec {
                kind: FaultKind::Status {
                    status: 503,
                    retry_after_secs: Some(0)
                },
                path: Some("/orders".to_owned()),
                method: Some("POST".to_owned()),
                times: 20,
            })
        );
    }

    #[test]
    fn each_bad_field_is_refused_by_name_and_unused_ones_are_ignored() {
        let errors = form(&[
            ("kind", "status"),
            ("status", "200"),
            ("ms", "not used"),
            ("path", "orders"),
            ("method", "TRACE"),
            ("times", "0"),
        ])
        .spec()
        .unwrap_err();
        let mut fields: Vec<_> = errors.keys().copied().collect();
        fields.sort_unstable();
        assert_eq!(fields, ["method", "path", "status", "times"]);

        let latency = form(&[("kind", "latency"), ("status", "x")]).spec();
        assert!(latency.is_err_and(|e| e.contains_key("ms") && e.len() == 1));
        let timeout = form(&[("kind", "timeout"), ("status", "x"), ("times", "")]).spec();
        assert!(timeout.is_ok_and(|s| s.kind == FaultKind::Timeout { ms: None } && s.times == 1));
        let unknown = form(&[("kind", "explode")]).spec();
        assert!(unknown.is_err_and(|e| e.contains_key("kind")));
    }
}
