//! Mapping between eSIM Story's wire types and the unified domain.

use std::str::FromStr;

use rust_decimal::Decimal;
use simgate_domain::{
    ActivationCode, CountryCode, Currency, DataAllowance, Iccid, InstallDetails, Money,
    OrderStatus, Product, ProductId, ProviderId,
};

use super::types::{EsimReady, OptionConfig, OrderedUnit};
use crate::{InboundEvent, PlaceOrder, PlacedOrder};

/// An operator-configured option as a unified product.
pub fn product(option: &OptionConfig) -> Result<Product, String> {
    let countries = option
        .countries
        .iter()
        .map(|c| CountryCode::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("option {}: {e}", option.option_id))?;
    let amount = Decimal::from_str(option.price.trim())
        .map_err(|e| format!("option {}: price '{}': {e}", option.option_id, option.price))?;
    let currency = Currency::parse(&option.currency)
        .map_err(|e| format!("option {}: {e}", option.option_id))?;
    let price =
        Money::new(amount, currency).map_err(|e| format!("option {}: {e}", option.option_id))?;
    Ok(Product {
        id: ProductId::new(ProviderId::EsimStory, option.option_id.clone()),
        name: option.name.clone(),
        countries,
        data: option
            .data_mb
            .map_or(DataAllowance::Unlimited, |mb| DataAllowance::Limited { mb }),
        validity_days: option.validity_days,
        price,
    })
}

/// An accepted order: eSIM Story answers with one `topup_id` per unit and
/// delivers each eSIM later by webhook, so the order is `fulfilling`. Its
/// reference is our own order id, which eSIM Story keeps as
/// `external_order_id` and repeats in every webhook.
pub fn accepted(order: &PlaceOrder, units: &[OrderedUnit]) -> PlacedOrder {
    PlacedOrder {
        reference: order.reference.clone(),
        sku: order.sku.clone(),
        quantity: order.quantity,
        status: OrderStatus::Fulfilling,
        provider_status: format!(
            "accepted ({} units)",
            units.len().max(order.quantity as usize)
        ),
        esims: Vec::new(),
        total: None,
        created_at: None,
    }
}

/// A ready eSIM from a webhook. The activation code is read from
/// `download_link` when present, else built from `smdp` and `activate_code`.
pub fn esim_ready(ready: &EsimReady) -> Result<InboundEvent, String> {
    let iccid = Iccid::parse(&ready.iccid).map_err(|e| format!("iccid '{}': {e}", ready.iccid))?;
    let activation = match ready.download_link.as_deref().filter(|l| !l.is_empty()) {
        Some(link) => ActivationCode::parse(link).map_err(|e| e.to_string())?,
        None => ActivationCode::new(ready.smdp.clone(), ready.activate_code.clone()),
    };
    Ok(InboundEvent::EsimReady {
        order_reference: ready.external_order_id.clone(),
        unit_id: ready.topup_id.clone(),
        install: InstallDetails {
            iccid,
            activation,
            confirmation_code: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_documented_webhook_with_a_valid_iccid() {
        let ready: EsimReady = serde_json::from_str(
            r#"{"topup_id":"20250129123456123456789012","option_id":"a1b2","iccid":"8943108167001960542",
            "smdp":"rsp1.cmlink.com","activate_code":"A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6",
            "download_link":"LPA:1$rsp1.cmlink.com$A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6",
            "qrcode_img_url":"https://x","expired_date":"2026-07-28","external_order_id":"ORDER-123456"}"#,
        )
        .unwrap();
        let InboundEvent::EsimReady {
            order_reference,
            unit_id,
            install,
        } = esim_ready(&ready).unwrap()
        else {
            panic!("an eSIM Story webhook is an EsimReady event");
        };
        assert_eq!(order_reference, "ORDER-123456");
        assert_eq!(unit_id, "20250129123456123456789012");
        assert_eq!(
            install.activation.matching_id,
            "A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6"
        );
    }

    #[test]
    fn options_become_products_with_exact_prices() {
        let option = OptionConfig {
            option_id: "opt-1".into(),
            name: "Korea 3GB".into(),
            countries: vec!["KR".into()],
            data_mb: Some(3000),
            validity_days: 5,
            price: "4.125".into(),
            currency: "USD".into(),
        };
        let product = product(&option).unwrap();
        assert_eq!(product.id.to_string(), "esim-story:opt-1");
        assert_eq!(product.price.to_micros().unwrap(), 4_125_000);
        let bad = OptionConfig {
            countries: vec!["XX".into()],
            ..option
        };
        assert!(super::product(&bad).is_err());
    }
}
