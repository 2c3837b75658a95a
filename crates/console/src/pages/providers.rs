//! `/console/providers`: each configured provider's circuit, success rate,
//! latency and calls, from the same service data as `GET /v1/providers`
//! (and shown through the API's own view, so the two never disagree).

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

/// `GET /console/providers`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
) -> Result<Markup, ConsoleError> {
    let table = health_table(&state).await?;
    let content = html! {
        p.muted { "An open circuit is skipped by routing until its cool-down ends; a half-open one is tried after the healthy providers." }
        div.card { (table) }
    };
    layout::page(&state, &console, Nav::Providers, "Providers", content).await
}
