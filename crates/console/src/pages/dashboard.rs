//! `/console/`: orders per hour and per day as server-rendered SVG bar
//! charts, the success rate, revenue and margin of the tenant's last seven
//! days, and each provider's health.
//! An operator who has not picked a tenant is asked to pick one here.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Redirect;
use chrono::{DateTime, Duration, DurationRound, Utc};
use maud::{Markup, html};
use rust_decimal::Decimal;
use simgate_domain::OrderStatus;

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::session::Console;

/// `GET /console`: the home page lives at `/console/`.
pub(crate) async fn redirect_home() -> Redirect {
    Redirect::permanent("/console/")
}

/// A bar chart of `bars` (label, count), drawn as SVG on the server so it
/// needs no script; every `label_every`-th bar is labelled.
fn bar_chart(title: &str, bars: &[(String, u64)], label_every: usize) -> Markup {
    const WIDTH: usize = 600;
    const HEIGHT: u64 = 140;
    const AXIS: u64 = 16;
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let slot = WIDTH / bars.len().max(1);
    let bar_width = slot.saturating_sub(2).max(1);
    let total: u64 = bars.iter().map(|(_, n)| n).sum();
    html! {
        figure.card {
            figcaption { strong { (title) } " · " (total) " orders" }
            svg.chart viewBox=(format!("0 0 {WIDTH} {}", HEIGHT + AXIS)) role="img" aria-label=(format!("{title}: {total} orders")) {
                @for (i, (label, n)) in bars.iter().enumerate() {
                    @let h = n * (HEIGHT - 12) / max;
                    @let x = i * slot;
                    rect x=(x) y=(HEIGHT - h) width=(bar_width) height=(h) {
                        title { (label) ": " (n) }
                    }
                    @if *n > 0 {
                        text x=(x + bar_width / 2) y=(HEIGHT - h - 2) text-anchor="middle" { (n) }
                    }
                    @if i % label_every == 0 {
                        text x=(x) y=(HEIGHT + AXIS - 3) { (label) }
                    }
                }
            }
        }
    }
}

/// `GET /console/`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
) -> Result<Markup, ConsoleError> {
    let Some(tenant) = console.session.tenant_id.as_deref() else {
        let content = html! {
            p.notice { "You are signed in as the operator. Choose the tenant to view with the switch at the top of the page." }
        };
        return layout::page(&state, &console, Nav::Dashboard, "Dashboard", content).await;
    };
    let now = Utc::now();
    let this_hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let today = now.duration_trunc(Duration::days(1)).unwrap_or(now);
    let week_start = today - Duration::days(6);
    let hourly = state.services.hourly_orders(tenant, week_start).await?;
    let count_between = |start: DateTime<Utc>, end: DateTime<Utc>| -> u64 {
        hourly
            .iter()
            .filter(|h| h.hour >= start && h.hour < end)
            .map(|h| h.orders)
            .sum()
    };

    let day_start = this_hour - Duration::hours(23);
    let hours: Vec<(String, u64)> = (0..24)
        .map(|i| {
            let start = day_start + Duration::hours(i);
            let n = count_between(start, start + Duration::hours(1));
            (start.format("%H:00").to_string(), n)
        })
        .collect();
    let days: Vec<(String, u64)> = (0..7)
        .map(|i| {
            let start = week_start + Duration::days(i);
            let n = count_between(start, start + Duration::days(1));
            (start.format("%a %d").to_string(), n)
        })
        .collect();
    let total: u64 = hourly.iter().map(|h| h.orders).sum();
    let failed: u64 = hourly
        .iter()
        .filter(|h| h.status == OrderStatus::Failed)
        .map(|h| h.orders)
        .sum();
    let mut revenue: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut margin: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut done = 0u64;
    for hour in hourly.iter().filter(|h| h.status == OrderStatus::Completed) {
        done += hour.orders;
        *revenue
            .entry(hour.charged.currency.to_string())
            .or_default() += hour.charged.amount;
        if let Some(sum) = hour.margin {
            *margin.entry(sum.currency.to_string()).or_default() += sum.amount;
        }
    }
    let health = super::providers::health_table(&state).await?;
    let success = if done + failed == 0 {
        "no finished orders".to_owned()
    } else {
        format!("{:.1} %", done as f64 * 100.0 / (done + failed) as f64)
    };
    let content = html! {
        div.stats {
            div.card { div.muted { "Orders, 7 days" } div.value { (total) } }
            div.card { div.muted { "Success rate (completed of finished)" } div.value id="success-rate" { (success) } }
            div.card {
                div.muted { "Revenue, completed orders" }
                @if revenue.is_empty() { div.value { "–" } }
                @for (currency, amount) in &revenue { div.value { (amount.normalize()) " " (currency) } }
            }
            div.card id="margin" {
                div.muted { "Margin, completed orders (frozen at order time)" }
                @if margin.is_empty() { div.value { "–" } }
                @for (currency, amount) in &margin { div.value { (amount.normalize()) " " (currency) } }
            }
        }
        (bar_chart("Orders per hour, last 24 hours", &hours, 3))
        (bar_chart("Orders per day, last 7 days", &days, 1))
        div.card { (health) }
    };
    layout::page(&state, &console, Nav::Dashboard, "Dashboard", content).await
}
