//! `/console/sim-orders`: the tenant's physical SIM card orders, newest
//! first, with the provider's status and tracking link (read-only; they
//! are placed through `POST /v1/sim-orders`).

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use simgate_domain::PageRequest;

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::session::Console;

/// Orders shown per page.
const PAGE_SIZE: u32 = 50;

/// The page asked for, from 1.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SimOrdersQuery {
    #[serde(default)]
    page: Option<u32>,
}

/// `GET /console/sim-orders`.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    console: Console,
    Query(query): Query<SimOrdersQuery>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let number = query.page.unwrap_or(1);
    let page = PageRequest::new(number, PAGE_SIZE)?;
    let (orders, total) = state.services.sim_orders(tenant, None, page).await?;
    let content = html! {
        p.muted { (total) " SIM card orders" }
        @if orders.is_empty() {
            p.notice { "No SIM card orders yet." }
        } @else {
            table id="sim-orders" {
                thead { tr { th { "Order" } th { "State" } th { "Provider status" } th { "Quantity" } th { "Cost" } th { "Tracking" } th { "Placed" } } }
                tbody {
                    @for order in &orders {
                        @let snapshot = order.snapshot.as_ref();
                        tr data-sim-order=(order.id) {
                            td { code { (order.id) } }
                            td { (order.state.as_str()) }
                            td { (snapshot.map_or("–", |s| s.provider_status.as_str())) }
                            td { (order.quantity) }
                            td { (snapshot.map_or_else(|| "–".to_owned(), |s| s.cost.to_string())) }
                            td {
                                @match snapshot.and_then(|s| s.tracking_url.as_deref()) {
                                    Some(url) if is_web_url(url) => a href=(url) rel="noreferrer" { "track" },
                                    Some(url) => (url),
                                    None => "–",
                                }
                            }
                            td { (order.created_at.format("%Y-%m-%d %H:%M UTC")) }
                        }
                    }
                }
            }
            nav aria-label="Pages" {
                @if number > 1 { a href=(format!("/console/sim-orders?page={}", number - 1)) { "Newer" } " " }
                @if u64::from(number) * u64::from(PAGE_SIZE) < total { a href=(format!("/console/sim-orders?page={}", number + 1)) { "Older" } }
            }
        }
    };
    layout::page(&state, &console, Nav::SimOrders, "SIM orders", content).await
}

/// Whether a provider's tracking URL may be a link: only an absolute http
/// or https URL, never `javascript:` or `data:` (it comes from upstream).
fn is_web_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}
