//! `/console/catalogue`: the products of one country (or all), providers
//! side by side at their cost and at the tenant's price, each orderable.

use axum::extract::{Query, State};
use maud::{Markup, html};
use rand::Rng;
use serde::Deserialize;
use simgate_domain::entities::{ProductFilter, ProductSort};
use simgate_domain::{CountryCode, DataAllowance, TenantId};

use crate::ConsoleState;
use crate::error::ConsoleError;
use crate::layout::{self, Nav};
use crate::session::Console;

/// Products shown at once.
const SHOWN: u32 = 100;

/// A fresh idempotency key for an order form: sending the same form twice
/// (a double click, a reload) places one order.
pub(crate) fn new_idempotency_key() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    format!("console-{}", hex::encode(bytes))
}

/// The catalogue's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CatalogueQuery {
    #[serde(default)]
    country: String,
}

fn data(allowance: DataAllowance) -> String {
    match allowance {
        DataAllowance::Unlimited => "unlimited".to_owned(),
        DataAllowance::Limited { mb } if mb >= 1000 && mb % 1000 == 0 => {
            format!("{} GB", mb / 1000)
        }
        DataAllowance::Limited { mb } => format!("{mb} MB"),
    }
}

/// `GET /console/catalogue`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    console: Console,
    Query(query): Query<CatalogueQuery>,
) -> Result<Markup, ConsoleError> {
    let tenant = console.tenant()?;
    let country = Some(query.country.trim())
        .filter(|c| !c.is_empty())
        .map(CountryCode::parse)
        .transpose()?;
    let (products, total) = state
        .services
        .priced_products(
            &TenantId::from_stored(tenant.to_owned()),
            &ProductFilter {
                country,
                sort: ProductSort::PriceAsc,
                limit: SHOWN,
                ..ProductFilter::default()
            },
        )
        .await?;
    let content = html! {
        form.card.filters method="get" action="/console/catalogue" {
            div {
                label for="country" { "Country (ISO code, e.g. JP)" }
                input id="country" name="country" value=(query.country) maxlength="3" autocomplete="off";
            }
            div { button type="submit" { "Show" } }
        }
        p.muted { (products.len()) " of " (total) " products, cheapest first at your price." }
        div.table-wrap { table {
            thead { tr {
                th scope="col" { "Product" } th scope="col" { "Provider" } th scope="col" { "Data" }
                th.num scope="col" { "Days" } th.num scope="col" { "Cost" } th.num scope="col" { "Your price" }
                th scope="col" { "Order" }
            } }
            tbody {
                @for (i, p) in products.iter().enumerate() {
                    @let qty = format!("qty-{i}");
                    tr data-product=(p.product.id) {
                        td { (p.product.name) br; span.muted { (p.product.id) } }
                        td { (p.product.id.provider.as_str()) }
                        td { (data(p.product.data)) }
                        td.num { (p.product.validity_days) }
                        td.num { (p.product.price)
                            @if let Some(c) = p.cost_converted { @if c.currency != p.product.price.currency { br; span.muted { "≈ " (c) } } }
                        }
                        td.num.price { (p.price) @if !p.converted { br; span.muted { "no FX rate" } } }
                        td {
                            form method="post" action="/console/orders" {
                                (layout::csrf_field(&console))
                                input type="hidden" name="product_id" value=(p.product.id);
                                input type="hidden" name="idempotency_key" value=(new_idempotency_key());
                                label for=(qty) { "Quantity" }
                                input id=(qty) name="quantity" type="number" min="1" max="100" value="1" style="width: 4.5rem";
                                " "
                                button type="submit" aria-label=(format!("Order {}", p.product.name)) { "Order" }
                            }
                        }
                    }
                }
            }
        } }
    };
    layout::page(&state, &console, Nav::Catalogue, "Catalogue", content).await
}
