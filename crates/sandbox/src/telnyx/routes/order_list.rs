//! `GET /sim_card_orders`: every `filter[...]` of the reference, and paging.

use std::str::FromStr;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use simgate_connectors::telnyx::types::{ListOf, PaginationMeta, SimCardOrder};

use crate::telnyx::routes::*;
use crate::telnyx::state::*;

/// Reads one text field of an order's wire form.
pub(crate) type Field = fn(&SimCardOrder) -> Option<&str>;

/// One `filter[...]` of the list, as a test on an order's wire form.
pub(crate) enum Filter {
    /// Exact match; codes (currency, country) ignore case.
    Text {
        field: Field,
        wanted: String,
        ignore_case: bool,
    },
    Time {
        created: bool,
        at: DateTime<Utc>,
    },
    Quantity(u32),
    Amount(Decimal),
}

impl Filter {
    /// The filter a query parameter names; `None` for other parameters.
    pub(crate) fn parse(name: &str, value: &str) -> Result<Option<Filter>, Refusal> {
        let bad = |what: &str| bad_parameter(name, format!("'{value}' is not {what}."));
        let time = |created: bool| {
            DateTime::parse_from_rfc3339(value)
                .map(|t| {
                    Some(Filter::Time {
                        created,
                        at: t.with_timezone(&Utc),
                    })
                })
                .map_err(|_| bad("an ISO 8601 date-time"))
        };
        let text = |field: Field, ignore_case: bool| {
            Ok(Some(Filter::Text {
                field,
                wanted: value.to_owned(),
                ignore_case,
            }))
        };
        match name {
            "filter[created_at]" => time(true),
            "filter[updated_at]" => time(false),
            "filter[quantity]" => value
                .parse()
                .map(|q| Some(Filter::Quantity(q)))
                .map_err(|_| bad("an integer")),
            "filter[cost.amount]" => Decimal::from_str(value)
                .map(|a| Some(Filter::Amount(a)))
                .map_err(|_| bad("an amount")),
            "filter[cost.currency]" => text(|o| Some(o.cost.currency.as_str()), true),
            "filter[address.id]" => text(|o| Some(o.order_address.id.as_str()), false),
            "filter[address.street_address]" => {
                text(|o| o.order_address.street_address.as_deref(), false)
            }
            "filter[address.extended_address]" => {
                text(|o| o.order_address.extended_address.as_deref(), false)
            }
            "filter[address.locality]" => text(|o| o.order_address.locality.as_deref(), false),
            "filter[address.administrative_area]" => {
                text(|o| o.order_address.administrative_area.as_deref(), false)
            }
            "filter[address.country_code]" => {
                text(|o| o.order_address.country_code.as_deref(), true)
            }
            "filter[address.postal_code]" => {
                text(|o| o.order_address.postal_code.as_deref(), false)
            }
            _ => Ok(None),
        }
    }

    pub(crate) fn matches(&self, order: &SimCardOrder) -> bool {
        match self {
            Filter::Quantity(q) => order.quantity == *q,
            Filter::Amount(a) => Decimal::from_str(&order.cost.amount).is_ok_and(|x| x == *a),
            Filter::Time { created, at } => {
                let raw = if *created {
                    &order.created_at
                } else {
                    &order.updated_at
                };
                DateTime::parse_from_rfc3339(raw).is_ok_and(|t| t == *at)
            }
            Filter::Text {
                field,
                wanted,
                ignore_case,
            } => field(order).is_some_and(|value| {
                if *ignore_case {
                    value.eq_ignore_ascii_case(wanted)
                } else {
                    value == wanted
                }
            }),
        }
    }
}

pub(crate) fn page_parameter(
    name: &str,
    value: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, Refusal> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            bad_parameter(
                name,
                format!(
                    "{name} must be an integer from {} to {}, not '{value}'.",
                    range.start(),
                    range.end()
                ),
            )
        })
}

pub(crate) async fn list_orders(
    State(sandbox): State<TelnyxSandbox>,
    RawQuery(query): RawQuery,
) -> Answer {
    let mut filters = Vec::new();
    let mut page_number = 1;
    let mut page_size = DEFAULT_PAGE_SIZE;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "page[number]" => page_number = page_parameter(&name, &value, 1..=u32::MAX)?,
            "page[size]" => page_size = page_parameter(&name, &value, 1..=MAX_PAGE_SIZE)?,
            _ => filters.extend(Filter::parse(&name, &value)?),
        }
    }
    let state = sandbox.lock();
    let now = now();
    let matching: Vec<SimCardOrder> = state
        .orders
        .iter()
        .rev()
        .map(|order| order.wire(now, state.config.step))
        .filter(|order| filters.iter().all(|f| f.matches(order)))
        .collect();
    let total_results = matching.len() as u64;
    let total_pages =
        u32::try_from(total_results.div_ceil(u64::from(page_size))).unwrap_or(u32::MAX);
    let skip =
        usize::try_from((u64::from(page_number) - 1) * u64::from(page_size)).unwrap_or(usize::MAX);
    let data = matching
        .into_iter()
        .skip(skip)
        .take(page_size as usize)
        .collect();
    Ok(Json(ListOf {
        data,
        meta: PaginationMeta {
            page_number,
            page_size,
            total_pages,
            total_results,
        },
    })
    .into_response())
}
