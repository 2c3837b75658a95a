//! `/console/providers`: each configured provider's circuit, success rate,
//! latency and calls, from the same service data as `GET /v1/providers`
//! (and shown through the API's own view, so the two never disagree); to
//! the operator, also each provider's balance and what simgate spent there,
//! as `GET /admin/v1/providers/{id}/balance` shows them.

use axum::extract::State;
use maud::{Markup, html};
use simgate_api::views::ProviderHealthView;
use simgate_domain::orchestration::CircuitState;

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::session::Console;

fn circuit(state: CircuitState) -> &'static str {
    match state {
        CircuitState::Closed => "closed",
        CircuitState::Open => "open",
        CircuitState::HalfOpen => "half_open",
    }
}

fn millis(value: Option<u64>) -> String {
    value.map_or_else(|| "–".to_owned(), |ms| format!("{ms} ms"))
}

/// The health table of every configured provider, for this page and the
/// dashboard.
pub(crate) async fn health_table(state: &ConsoleState) -> Result<Markup, ConsoleError> {
    let providers = state.services.providers().await?;
    Ok(html! {
        table id="provider-health" {
            caption { "Provider health, as this instance saw its recent calls" }
            thead { tr { th { "Provider" } th { "Circuit" } th { "Success rate" } th { "p50" } th { "p95" } th { "Calls" } } }
            tbody {
                @for provider in providers {
                    @let view = ProviderHealthView::from(provider.health);
                    @let state = circuit(view.circuit);
                    tr data-provider=(provider.id.as_str()) {
                        td { (provider.id) }
                        td { span class=(format!("circuit circuit-{state}")) data-circuit=(state) { (state) } }
                        td { (view.success_rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1} %", r * 100.0))) }
                        td { (millis(view.p50_ms)) }
                        td { (millis(view.p95_ms)) }
                        td { (view.calls) }
                    }
                }
            }
        }
    })
}

/// The balance and spend of every configured provider: the operator's
/// accounts, so shown to the operator only.
async fn balance_table(state: &ConsoleState) -> Result<Markup, ConsoleError> {
    let reports = state.services.provider_balances().await?;
    Ok(html! {
        table id="provider-balances" {
            caption { "Provider balances, as last read, and simgate's spend from its purchase ledger" }
            thead { tr { th { "Provider" } th { "Balance" } th { "Read" } th { "Low below" } th { "Spent since read" } th { "Spent in total" } } }
            tbody {
                @for report in reports {
                    tr data-provider=(report.provider.as_str()) data-low=(report.low) {
                        td { (report.provider) }
                        td {
                            @match (&report.balance, report.reason) {
                                (Some(read), _) => span.balance data-balance=(read.balance.amount) { (read.balance) },
                                (None, reason) => span.muted { (reason.unwrap_or("–")) },
                            }
                        }
                        td { (report.balance.as_ref().map_or_else(|| "–".to_owned(), |read| read.read_at.format("%Y-%m-%d %H:%M:%S UTC").to_string())) }
                        td { (report.threshold.map_or_else(|| "–".to_owned(), |t| t.to_string())) }
                        td { @for spend in &report.spend { div { (spend.since_read) } } }
                        td { @for spend in &report.spend { div { (spend.total) " (" (spend.purchases) ")" } } }
                    }
                }
            }
        }
    })
}

/// `GET /console/providers`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
) -> Result<Markup, ConsoleError> {
    let table = health_table(&state).await?;
    let balances = if console.session.operator {
        Some(balance_table(&state).await?)
    } else {
        None
    };
    let content = html! {
        p.muted { "An open circuit is skipped by routing until its cool-down ends; a half-open one is tried after the healthy providers." }
        div.card { (table) }
        @if let Some(balances) = balances {
            p.muted { "A provider whose known balance cannot cover a sale is skipped by routing without being called." }
            div.card { (balances) }
        }
    };
    layout::page(&state, &console, Nav::Providers, "Providers", content).await
}
