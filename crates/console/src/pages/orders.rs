//! `/console/orders`: search, filters and pages; one order with its
//! attempts, events and eSIMs; placing an order from the catalogue.

use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use simgate_domain::entities::{AttemptResult, OrderRecord};
use simgate_domain::orchestration::OfferId;
use simgate_domain::{
    OrderId, OrderKind, OrderStatus, PageRequest, ProductId, ProviderId, TenantId,
};
use simgate_service::console::OrderSearch;
use simgate_service::{OrderRequest, OrderTarget};

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::session::{Console, Posted};

/// Orders per page.
const PAGE: u32 = 25;

const STATUSES: [OrderStatus; 6] = [
    OrderStatus::Pending,
    OrderStatus::Submitted,
    OrderStatus::Fulfilling,
    OrderStatus::Completed,
    OrderStatus::Failed,
    OrderStatus::Refunded,
];

/// The list's query string; empty fields do not filter.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    provider: String,
    /// The page asked for, from 1.
    #[serde(default)]
    page: Option<u32>,
}

fn non_empty(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|s| !s.is_empty())
}

/// `GET /console/orders`.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    console: Console,
    Query(query): Query<ListQuery>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let status = non_empty(&query.status)
        .map(|s| {
            s.parse::<OrderStatus>()
                .map_err(|e| ConsoleError::BadForm(e.clone()))
        })
        .transpose()?;
    let provider = non_empty(&query.provider)
        .map(str::parse::<ProviderId>)
        .transpose()?;
    let search = OrderSearch {
        status,
        provider,
        text: non_empty(&query.q).map(str::to_owned),
    };
    let number = query.page.unwrap_or(1);
    let (orders, total) = state
        .services
        .search_orders(tenant, &search, PageRequest::new(number, PAGE)?)
        .await?;
    let link = |page: u32| {
        let page = page.to_string();
        let query = serde_urlencoded::to_string([
            ("q", query.q.as_str()),
            ("status", query.status.as_str()),
            ("provider", query.provider.as_str()),
            ("page", page.as_str()),
        ])
        .unwrap_or_default();
        format!("/console/orders?{query}")
    };
    let newer = (number > 1).then(|| link(number - 1));
    let older = (u64::from(number) * u64::from(PAGE) < total).then(|| link(number + 1));
    let content = html! {
        form.card.filters method="get" action="/console/orders" role="search" {
            div {
                label for="q" { "Search (order id, idempotency key, ICCID, provider reference, product or offer)" }
                input id="q" name="q" type="search" value=(query.q);
            }
            div {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "any" }
                    @for s in STATUSES {
                        option value=(s.as_str()) selected[status == Some(s)] { (s.as_str()) }
                    }
                }
            }
            div {
                label for="provider" { "Provider" }
                select id="provider" name="provider" {
                    option value="" { "any" }
                    @for p in ProviderId::ALL {
                        option value=(p.as_str()) selected[provider == Some(p)] { (p.as_str()) }
                    }
                }
            }
            div { button type="submit" { "Filter" } }
        }
        @if orders.is_empty() {
            p.muted { "No orders match." }
        } @else {
            p.muted id="orders-total" { (total) @if total == 1 { " matching order" } @else { " matching orders" } }
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Order" } th scope="col" { "Status" } th scope="col" { "Provider" }
                        th scope="col" { "Product" } th.num scope="col" { "Qty" } th.num scope="col" { "Unit price" }
                        th scope="col" { "Created" }
                    } }
                    tbody {
                        @for order in &orders {
                            tr {
                                td { a href=(format!("/console/orders/{}", order.id)) { (order.id) } }
                                td { (layout::status(order.status)) }
                                td { (order.provider().as_str()) }
                                td { (order.product_id) }
                                td.num { (order.quantity) }
                                td.num { (order.unit_price) }
                                td { (order.created_at.format("%Y-%m-%d %H:%M")) }
                            }
                        }
                    }
                }
            }
        }
        @if newer.is_some() || older.is_some() {
            nav aria-label="Pages" {
                @if let Some(newer) = newer { a.button.secondary href=(newer) { "Newer orders" } " " }
                @if let Some(older) = older { a.button.secondary href=(older) { "Older orders" } }
            }
        }
    };
    layout::page(&state, &console, Nav::Orders, "Orders", content).await
}

/// The attempts of an order: earlier candidates that bought nothing, then
/// the current one.
fn attempts(order: &OrderRecord) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { th scope="col" { "#" } th scope="col" { "Provider" } th scope="col" { "Product" } th scope="col" { "Outcome" } th scope="col" { "When" } } }
            tbody {
                @for (i, attempt) in order.attempt_log.iter().enumerate() {
                    tr {
                        td { (i + 1) }
                        td { (attempt.provider.as_str()) }
                        td { (attempt.product_id) }
                        td {
                            (match attempt.outcome {
                                AttemptResult::NothingBought => "failed over: nothing bought",
                                AttemptResult::ProvedNothing => "failed over: proved nothing bought",
                                AttemptResult::Skipped => "skipped: never called",
                            })
                            @if let Some(code) = &attempt.error_code { " (" (code) ")" }
                        }
                        td { (attempt.at.format("%Y-%m-%d %H:%M:%S")) }
                    }
                }
                tr {
                    td { (order.attempt_log.len() + 1) }
                    td { (order.provider().as_str()) }
                    td { (order.product_id) }
                    td { "current: " (order.status.as_str()) }
                    td { (order.updated_at.format("%Y-%m-%d %H:%M:%S")) }
                }
            }
        } }
    }
}

/// The part of the detail page that changes while the order moves; htmx
/// reloads it every two seconds until the order is final.
fn live_status(order: &OrderRecord) -> Markup {
    let url = format!("/console/orders/{}", order.id);
    html! {
        @if order.status.is_final() {
            div id="order-live" {
                (facts(order))
            }
        } @else {
            div id="order-live" hx-get=(url) hx-trigger="every 2s" hx-select="#order-live" hx-swap="outerHTML" {
                (facts(order))
            }
        }
    }
}

fn facts(order: &OrderRecord) -> Markup {
    html! {
        dl.facts.card {
            dt { "Status" } dd id="order-status" { (layout::status(order.status)) }
            dt { "Product" } dd { (order.product_id) }
            dt { "Quantity" } dd { (order.quantity) }
            dt { "Unit price" } dd { (order.unit_price) }
            @if let Some(offer) = &order.offer_id { dt { "Offer" } dd { (offer) } }
            @if let Some(reference) = &order.upstream_ref { dt { "Provider reference" } dd { (reference) } }
            @if let Some(failure) = &order.failure {
                dt { "Failure" } dd.error { (failure.message) " (" (failure.code) ")" }
            }
            dt { "Created" } dd { (order.created_at.format("%Y-%m-%d %H:%M:%S UTC")) }
            dt { "eSIMs" }
            dd {
                @if order.iccids.is_empty() { span.muted { "none yet" } }
                ul {
                    @for iccid in &order.iccids {
                        li { a href=(format!("/console/esims/{iccid}")) { "eSIM " (iccid) } }
                    }
                }
            }
        }
    }
}

/// `GET /console/orders/{id}`: another tenant's order is a 404.
pub(crate) async fn detail(
    State(state): State<ConsoleState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let order = state.services.order(tenant, &OrderId(id)).await?;
    let id = order.id.to_string();
    let events = state
        .services
        .order_events(&TenantId::from_stored(tenant.to_owned()), &order.id)
        .await?;
    let content = html! {
        (live_status(&order))
        h2 { "Attempts" }
        (attempts(&order))
        h2 { "Events" }
        @if events.is_empty() {
            p.muted { "No events for this order yet." }
        } @else {
            ul {
                @for e in &events {
                    li {
                        (e.event.event_type) " · " (e.event.created_at.format("%Y-%m-%d %H:%M:%S"))
                        " · " (e.deliveries.len()) " deliveries"
                    }
                }
            }
        }
    };
    layout::page(
        &state,
        &console,
        Nav::Orders,
        &format!("Order {id}"),
        content,
    )
    .await
}

/// An order placed from the catalogue page (a product) or from the
/// routing page (an offer, which routing places with a candidate).
#[derive(Deserialize)]
pub(crate) struct PlaceForm {
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    offer_id: String,
    quantity: u32,
    /// Fresh per rendered form, so a form sent twice buys once.
    idempotency_key: String,
}

/// `POST /console/orders`: places the order and shows it.
pub(crate) async fn place(
    State(state): State<ConsoleState>,
    posted: Posted<PlaceForm>,
) -> Result<Redirect, ConsoleError> {
    let tenant = posted.console.tenant()?;
    let form = posted.form;
    let target = match (non_empty(&form.product_id), non_empty(&form.offer_id)) {
        (Some(product), None) => OrderTarget::Product(ProductId::parse(product)?),
        (None, Some(offer)) => OrderTarget::Offer(
            OfferId::parse(offer).map_err(|e| ConsoleError::BadForm(e.to_string()))?,
        ),
        _ => {
            return Err(ConsoleError::BadForm(
                "the form names neither one product nor one offer".to_owned(),
            ));
        }
    };
    let outcome = state
        .services
        .place_order(OrderRequest {
            tenant_id: tenant.to_owned(),
            target,
            quantity: form.quantity,
            kind: OrderKind::NewEsim,
            idempotency_key: non_empty(&form.idempotency_key).map(str::to_owned),
        })
        .await?;
    Ok(Redirect::to(&format!(
        "/console/orders/{}",
        outcome.order.id
    )))
}
