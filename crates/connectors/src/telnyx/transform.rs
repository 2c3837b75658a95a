//! Mapping between Telnyx's wire types and the domain: string amounts to
//! exact [`Money`], statuses to [`SimOrderStatus`] (an undocumented one is
//! kept raw, never a panic), filters to `filter[...]` query pairs.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use simgate_domain::{
    CountryCode, Currency, Money, NewAddress, PageRequest, ShippingAddress, SimOrder,
    SimOrderFilter, SimOrderPage, SimOrderPreview, SimOrderStatus,
};

use super::types::{Address, AddressBody, Cost, ListOf, SimCardOrder, SimCardOrderPreview};
use crate::ConnectorError;

fn invalid(what: &str, detail: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::InvalidResponse(format!("Telnyx {what}: {detail}"))
}

/// The `POST /addresses` body for a checked address.
pub fn address_body(address: &NewAddress) -> AddressBody {
    AddressBody {
        first_name: Some(address.first_name.clone()),
        last_name: Some(address.last_name.clone()),
        business_name: Some(address.business_name.clone()),
        street_address: Some(address.street_address.clone()),
        extended_address: address.extended_address.clone(),
        locality: Some(address.locality.clone()),
        administrative_area: address.administrative_area.clone(),
        postal_code: address.postal_code.clone(),
        country_code: Some(address.country_code.as_str().to_owned()),
    }
}

/// An address as Telnyx returned it. Names Telnyx leaves out of an order's
/// copy of the address become empty strings rather than a failure.
pub fn shipping_address(address: &Address) -> Result<ShippingAddress, ConnectorError> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let country = address
        .country_code
        .as_deref()
        .ok_or_else(|| invalid("address", "no country_code"))?;
    Ok(ShippingAddress {
        id: address.id.clone(),
        address: NewAddress {
            first_name: text(&address.first_name),
            last_name: text(&address.last_name),
            business_name: text(&address.business_name),
            street_address: text(&address.street_address),
            extended_address: address.extended_address.clone(),
            locality: text(&address.locality),
            administrative_area: address.administrative_area.clone(),
            postal_code: address.postal_code.clone(),
            country_code: CountryCode::parse(country).map_err(|e| invalid("address", e))?,
        },
    })
}

/// `{"amount": "2.52", "currency": "USD"}` as exact money.
pub fn money(cost: &Cost) -> Result<Money, ConnectorError> {
    let amount = Decimal::from_str(cost.amount.trim()).map_err(|e| invalid("amount", e))?;
    let currency = Currency::parse(&cost.currency).map_err(|e| invalid("currency", e))?;
    Money::new(amount, currency).map_err(|e| invalid("amount", e))
}

fn timestamp(raw: &str) -> Result<DateTime<Utc>, ConnectorError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| invalid("timestamp", e))
}

/// A SIM card order in domain terms.
pub fn sim_order(order: &SimCardOrder) -> Result<SimOrder, ConnectorError> {
    let status = SimOrderStatus::parse(&order.status);
    if status.is_none() {
        tracing::warn!(provider = "telnyx", status = %order.status, "undocumented SIM card order status");
    }
    Ok(SimOrder {
        id: order.id.clone(),
        quantity: order.quantity,
        cost: money(&order.cost)?,
        status,
        provider_status: order.status.clone(),
        tracking_url: order.tracking_url.clone().filter(|url| !url.is_empty()),
        address: shipping_address(&order.order_address)?,
        created_at: timestamp(&order.created_at)?,
        updated_at: timestamp(&order.updated_at)?,
    })
}

/// A cost preview in domain terms.
pub fn preview(preview: &SimCardOrderPreview) -> Result<SimOrderPreview, ConnectorError> {
    Ok(SimOrderPreview {
        quantity: preview.quantity,
        total_cost: money(&preview.total_cost)?,
        shipping_cost: money(&preview.shipping_cost)?,
        sim_cards_cost: money(&preview.sim_cards_cost)?,
    })
}

/// One page of orders in domain terms.
pub fn page(list: &ListOf<SimCardOrder>) -> Result<SimOrderPage, ConnectorError> {
    Ok(SimOrderPage {
        orders: list.data.iter().map(sim_order).collect::<Result<_, _>>()?,
        page_number: list.meta.page_number,
        page_size: list.meta.page_size,
        total_pages: list.meta.total_pages,
        total_results: list.meta.total_results,
    })
}

/// The query of `GET /sim_card_orders`: every filter given, then the page.
pub fn list_query(filter: &SimOrderFilter, page: PageRequest) -> Vec<(&'static str, String)> {
    let text = [
        ("filter[created_at]", &filter.created_at),
        ("filter[updated_at]", &filter.updated_at),
        ("filter[cost.amount]", &filter.cost_amount),
        ("filter[cost.currency]", &filter.cost_currency),
        ("filter[address.id]", &filter.address_id),
        (
            "filter[address.street_address]",
            &filter.address_street_address,
        ),
        (
            "filter[address.extended_address]",
            &filter.address_extended_address,
        ),
        ("filter[address.locality]", &filter.address_locality),
        (
            "filter[address.administrative_area]",
            &filter.address_administrative_area,
        ),
        ("filter[address.country_code]", &filter.address_country_code),
        ("filter[address.postal_code]", &filter.address_postal_code),
    ];
    let mut query: Vec<(&'static str, String)> = text
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|value| (name, value)))
        .collect();
    if let Some(quantity) = filter.quantity {
        query.push(("filter[quantity]", quantity.to_string()));
    }
    query.push(("page[number]", page.number.to_string()));
    query.push(("page[size]", page.size.to_string()));
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: &str, amount: &str) -> SimCardOrder {
        serde_json::from_value(serde_json::json!({
            "id": "6a09cdc3-8948-47f0-aa62-74ac943d6c58",
            "record_type": "sim_card_order",
            "quantity": 21,
            "cost": { "amount": amount, "currency": "USD" },
            "order_address": {
                "id": "1293384261075731499",
                "street_address": "311 W Superior St",
                "extended_address": "Suite 504",
                "locality": "Chicago",
                "administrative_area": "IL",
                "country_code": "US",
                "postal_code": "60654"
            },
            "tracking_url": "http://www.example.com/",
            "status": status,
            "created_at": "2018-02-02T22:25:27.521Z",
            "updated_at": "2018-02-02T22:25:27.521Z"
        }))
        .unwrap()
    }

    #[test]
    fn the_documented_example_maps_with_its_exact_cost() {
        let mapped = sim_order(&order("pending", "2.52")).unwrap();
        assert_eq!(mapped.cost.amount, Decimal::new(252, 2));
        assert_eq!(mapped.status, Some(SimOrderStatus::Pending));
        assert_eq!(mapped.address.id, "1293384261075731499");
        assert_eq!(mapped.address.address.first_name, "");
        assert_eq!(mapped.address.address.country_code.as_str(), "US");
    }

    #[test]
    fn an_undocumented_status_is_kept_raw() {
        let mapped = sim_order(&order("lost_in_transit", "2.52")).unwrap();
        assert_eq!(mapped.status, None);
        assert_eq!(mapped.provider_status, "lost_in_transit");
    }

    #[test]
    fn an_amount_that_is_not_a_number_is_an_invalid_answer() {
        assert!(matches!(
            sim_order(&order("pending", "two")),
            Err(ConnectorError::InvalidResponse(_))
        ));
    }

    #[test]
    fn filters_become_telnyx_query_pairs() {
        let filter = SimOrderFilter {
            quantity: Some(21),
            address_id: Some("42".into()),
            cost_amount: Some("2.53".into()),
            ..SimOrderFilter::default()
        };
        let query = list_query(&filter, PageRequest::new(2, 25).unwrap());
        assert!(query.contains(&("filter[quantity]", "21".into())));
        assert!(query.contains(&("filter[address.id]", "42".into())));
        assert!(query.contains(&("filter[cost.amount]", "2.53".into())));
        assert!(query.contains(&("page[number]", "2".into())));
        assert!(query.contains(&("page[size]", "25".into())));
        assert_eq!(query.len(), 5);
    }
}
