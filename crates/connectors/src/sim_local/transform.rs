//! Mapping between Sim Local's wire types and the unified domain.

use simgate_domain::{
    ActivationCode, CountryCode, Currency, DataAllowance, Iccid, InstallDetails, Money,
    OrderStatus, Product, ProductId, ProviderId,
};

use super::types::{Order, ProductOffering};
use crate::{ConnectorError, PlacedOrder};

/// An offering as a product, priced by its first pricing. `data` is GB
/// (so 1 GB = 1000 MB, as elsewhere); `-1` means unlimited.
pub fn product(offering: &ProductOffering) -> Result<Product, String> {
    let countries = offering
        .destinations
        .iter()
        .filter_map(|alias| CountryCode::parse(alias).ok())
        .collect::<Vec<_>>();
    if countries.is_empty() {
        return Err(format!("offering {} has no ISO destination", offering.id));
    }
    let pricing = offering
        .pricings
        .first()
        .ok_or_else(|| format!("offering {} has no price", offering.id))?;
    let currency = Currency::parse(&pricing.currency).map_err(|e| e.to_string())?;
    let price = Money::from_provider_float(pricing.price, currency).map_err(|e| e.to_string())?;
    let data = if offering.data < 0.0 {
        DataAllowance::Unlimited
    } else {
        DataAllowance::Limited {
            mb: (offering.data * 1000.0).round() as u64,
        }
    };
    Ok(Product {
        id: ProductId::new(ProviderId::SimLocal, offering.id.clone()),
        name: offering.name.clone(),
        countries,
        data,
        validity_days: offering.bundle_validity,
        price,
    })
}

/// Maps every status of every published copy; unknown ones count as in progress.
pub fn order_status(status: &str) -> OrderStatus {
    match status.to_ascii_uppercase().as_str() {
        "COMPLETED" => OrderStatus::Completed,
        "FAILED" | "TIMED_OUT" | "CANCELLED" => OrderStatus::Failed,
        "REFUNDED" => OrderStatus::Refunded,
        _ => OrderStatus::Fulfilling,
    }
}

/// An order as a [`PlacedOrder`]; its eSIM once the provider has it.
pub fn placed_order(order: &Order) -> Result<PlacedOrder, ConnectorError> {
    let mut esims = Vec::new();
    if let Some(iccid) = &order.item.iccid {
        let iccid = Iccid::parse(iccid).map_err(|e| {
            ConnectorError::InvalidResponse(format!("Sim Local ICCID '{iccid}': {e}"))
        })?;
        let activation = match (&order.item.activation_code, &order.item.smdp_address) {
            (Some(code), _) => ActivationCode::parse(code)
                .map_err(|e| ConnectorError::InvalidResponse(e.to_string()))?,
            (None, Some(smdp)) => ActivationCode::new(
                smdp.clone(),
                order.item.matching_id.clone().unwrap_or_default(),
            ),
            (None, None) => {
                return Err(ConnectorError::InvalidResponse(
                    "Sim Local order has an ICCID but no activation code".into(),
                ));
            }
        };
        esims.push(InstallDetails {
            iccid,
            activation,
            confirmation_code: None,
        });
    }
    Ok(PlacedOrder {
        reference: order.id.clone(),
        sku: order.item.product_offering_id.clone(),
        quantity: 1,
        status: order_status(&order.status),
        provider_status: order.status.clone(),
        esims,
        total: None,
        created_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_local::types::ProductOffering;

    #[test]
    fn maps_the_documented_offering() {
        let offering: ProductOffering = serde_json::from_str(
            r#"{"id":"a41c79e5-5b15-4805-8ea9-21766d277921","destinations":["GB","GE"],
            "description":"Unlimited Local Call Mins, Unlimited Texts, 10GB Data","operator_logo":"Truphone",
            "network_operator":"EE","name":"EE15 25T","sku":"44-91-1-004-SLR","version":"2","data":10,
            "call_local":false,"call_local_minutes":-1,"call_international":false,"call_international_minutes":0,
            "sms":-1,"bundle_validity":30,"featured":false,
            "pricings":[{"price":100.1,"recommended_retail_price":200.2,"vat_percentage":25.05,"currency":"GBP"}]}"#,
        )
        .unwrap();
        let product = product(&offering).unwrap();
        assert_eq!(product.data, DataAllowance::Limited { mb: 10_000 });
        assert_eq!(product.validity_days, 30);
        assert_eq!(product.price.to_micros().unwrap(), 100_100_000);
        assert_eq!(product.countries.len(), 2);
    }

    #[test]
    fn every_status_maps_and_unknown_ones_do_not_fail() {
        for (status, expected) in [
            ("CREATED", OrderStatus::Fulfilling),
            ("PURCHASED", OrderStatus::Fulfilling),
            ("CONFIRMED", OrderStatus::Fulfilling),
            ("PROCESSING_APPLYING_TOP_UP", OrderStatus::Fulfilling),
            ("COMPLETED", OrderStatus::Completed),
            ("FAILED", OrderStatus::Failed),
            ("TIMED_OUT", OrderStatus::Failed),
            ("CANCELLED", OrderStatus::Failed),
            ("REFUNDED", OrderStatus::Refunded),
            ("SOMETHING_NEW", OrderStatus::Fulfilling),
        ] {
            assert_eq!(order_status(status), expected, "{status}");
        }
    }
}
