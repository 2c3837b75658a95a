//! `/console/`: orders per hour and per day as server-rendered SVG bar
//! charts, the success rate, revenue and margin of the tenant's last seven
//! days, and each provider's health.
//! An operator who has not picked a tenant is asked to pick one here.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Redirect;
use chrono::{Duration, DurationRound, Utc};
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
fn bar_chart(title: &str, bars: &[(String, u32)], label_every: usize) -> Markup {
    const WIDTH: usize = 600;
    const HEIGHT: u32 = 140;
    const AXIS: u32 = 16;
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let slot = WIDTH / bars.len().max(1);
    let bar_width = slot.saturating_sub(2).max(1);
    let total: u32 = bars.iter().map(|(_, n)| n).sum();
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
    let orders = state.services.orders_since(tenant, week_start).await?;

    let day_start = this_hour - Duration::hours(23);
    let hours: Vec<(String, u32)> = (0..24)
        .map(|i| {
            let start = day_start + Duration::hours(i);
            let n = orders
                .iter()
                .filter(|o| o.created_at >= start && o.created_at < start + Duration::hours(1))
                .count() as u32;
            (start.format("%H:00").to_string(), n)
        })
        .collect();
    let days: Vec<(String, u32)> = (0..7)
        .map(|i| {
            let start = week_start + Duration::days(i);
            let n = orders
                .iter()
                .filter(|o| o.created_at >= start && o.created_at < start + Duration::days(1))
                .count() as u32;
            (start.format("%a %d").to_string(), n)
        })
        .collect();
    let completed = orders.iter().filter(|o| o.status == OrderStatus::Completed);
    let failed = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Failed)
        .count();
    let mut revenue: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut margin: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut done = 0usize;
    for order in completed {
        done += 1;
        *revenue
            .entry(order.unit_price.currency.to_string())
            .or_default() += order.unit_price.amount * Decimal::from(order.quantity);
        if let Some(sale) = order.sale {
            *margin.entry(sale.margin.currency.to_string()).or_default() +=
                sale.margin.amount * Decimal::from(order.quantity);
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
            div.card { div.muted { "Orders, 7 days" } div.value { (orders.len()) } }
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
