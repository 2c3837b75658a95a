//! Mapping between eSIM Go's wire types and the unified domain.

use chrono::{DateTime, Utc};
use simgate_domain::{
    ActivationCode, BundleState, BundleUsage, CountryCode, Currency, DataAllowance, EsimLocation,
    Iccid, InstallDetails, Money, OrderStatus, Product, ProductId, ProviderId,
};

use sha2::{Digest, Sha256};

use super::types::{
    Assignment, Bundle, EsimBundles, Location, OrderEsim, OrderResponse, UsageCallback,
};
use crate::{ConnectorError, InboundEvent, PlacedOrder};

/// A catalogue bundle as a unified product, priced in the organisation's
/// currency. Countries that are not ISO 3166 (eSIM Go lists a few regions as
/// pseudo-countries) are dropped rather than failing the whole bundle.
pub fn product_from_bundle(bundle: &Bundle, currency: Currency) -> Result<Product, String> {
    let countries: Vec<CountryCode> = bundle
        .countries
        .iter()
        .filter_map(|c| CountryCode::parse(&c.iso).ok())
        .collect();
    if countries.is_empty() {
        return Err(format!("bundle {} names no ISO country", bundle.name));
    }
    let data = if bundle.unlimited || bundle.data_amount < 0 {
        DataAllowance::Unlimited
    } else {
        DataAllowance::Limited {
            mb: bundle.data_amount as u64,
        }
    };
    let validity_days = u32::try_from(bundle.duration).map_err(|_| {
        format!(
            "bundle {} has a bad duration {}",
            bundle.name, bundle.duration
        )
    })?;
    let price = Money::from_provider_float(bundle.price, currency)
        .map_err(|e| format!("bundle {}: {e}", bundle.name))?;
    Ok(Product {
        id: ProductId::new(ProviderId::EsimGo, bundle.name.clone()),
        name: bundle.description.clone(),
        countries,
        data,
        validity_days,
        price,
    })
}

/// Maps eSIM Go's order status. Only `completed` is published; anything
/// else is taken as still in progress, never as a failure we cannot prove.
pub fn order_status(status: &str) -> OrderStatus {
    match status.to_ascii_lowercase().as_str() {
        "completed" | "complete" => OrderStatus::Completed,
        "failed" | "cancelled" | "canceled" | "rejected" => OrderStatus::Failed,
        "refunded" => OrderStatus::Refunded,
        _ => OrderStatus::Fulfilling,
    }
}

/// Install details of a delivered eSIM.
pub fn install_details(esim: &OrderEsim) -> Result<InstallDetails, ConnectorError> {
    let iccid = Iccid::parse(&esim.iccid).map_err(|e| {
        ConnectorError::InvalidResponse(format!("provider sent ICCID '{}': {e}", esim.iccid))
    })?;
    Ok(InstallDetails {
        iccid,
        activation: ActivationCode::new(esim.smdp_address.clone(), esim.matching_id.clone()),
        confirmation_code: None,
    })
}

/// An order answer as a [`PlacedOrder`]. eSIM Go orders carry one line per
/// bundle; simgate places one bundle per order, so the first line is it.
pub fn placed_order(response: &OrderResponse) -> Result<PlacedOrder, ConnectorError> {
    let line = response
        .order
        .first()
        .ok_or_else(|| ConnectorError::InvalidResponse("order has no lines".to_owned()))?;
    let esims = response
        .order
        .iter()
        .flat_map(|l| l.esims.iter())
        .map(install_details)
        .collect::<Result<Vec<_>, _>>()?;
    let total = Currency::parse(&response.currency)
        .ok()
        .and_then(|c| Money::from_provider_float(response.total, c).ok());
    Ok(PlacedOrder {
        reference: response.order_reference.clone(),
        sku: line.item.clone(),
        quantity: line.quantity,
        status: order_status(&response.status),
        provider_status: response.status.clone(),
        esims,
        total,
        created_at: response.created_date.as_deref().and_then(parse_time),
    })
}

/// Usage of every assignment on an eSIM, in bytes as the provider counts.
pub fn usage(bundles: &EsimBundles) -> Vec<BundleUsage> {
    bundles
        .bundles
        .iter()
        .flat_map(|b| b.assignments.iter().map(|a| assignment_usage(&b.name, a)))
        .collect()
}

fn assignment_usage(bundle: &str, a: &Assignment) -> BundleUsage {
    let bytes = |q: i64| (!a.unlimited).then(|| q.max(0) as u64);
    BundleUsage {
        bundle: bundle.to_owned(),
        state: bundle_state(&a.bundle_state),
        initial_bytes: bytes(a.initial_quantity),
        remaining_bytes: bytes(a.remaining_quantity),
        unlimited: a.unlimited,
        started_at: a.start_time.as_deref().and_then(parse_time),
        ends_at: a.end_time.as_deref().and_then(parse_time),
    }
}

/// Maps `bundleState`, whose case varies.
pub fn bundle_state(state: &str) -> BundleState {
    match state.to_ascii_lowercase().as_str() {
        "processing" => BundleState::Processing,
        "queued" => BundleState::Queued,
        "active" => BundleState::Active,
        "depleted" => BundleState::Depleted,
        "expired" | "lapsed" => BundleState::Expired,
        "revoked" => BundleState::Revoked,
        _ => BundleState::Unknown,
    }
}

/// The last known network of an eSIM.
pub fn location(location: &Location) -> EsimLocation {
    EsimLocation {
        network_name: location.network_name.clone(),
        mobile_network_code: location.mobile_network_code.clone(),
        country: CountryCode::parse(&location.country).ok(),
        last_seen: parse_time(&location.last_seen),
    }
}

/// A usage callback as an event. eSIM Go gives callbacks no id, so a hash of
/// the raw body tells a redelivery from a new report.
pub fn usage_callback(callback: &UsageCallback, raw: &[u8]) -> Result<InboundEvent, String> {
    let iccid =
        Iccid::parse(&callback.iccid).map_err(|e| format!("iccid '{}': {e}", callback.iccid))?;
    let b = &callback.bundle;
    let bytes = |q: i64| (!b.unlimited).then(|| q.max(0) as u64);
    let remaining = bytes(b.remaining_quantity);
    Ok(InboundEvent::UsageReported {
        delivery_id: hex::encode(Sha256::digest(raw)),
        iccid,
        alert: callback.alert_type.clone(),
        usage: BundleUsage {
            bundle: b.name.clone(),
            state: match remaining {
                Some(0) => BundleState::Depleted,
                _ => BundleState::Active,
            },
            initial_bytes: bytes(b.initial_quantity),
            remaining_bytes: remaining,
            unlimited: b.unlimited,
            started_at: b.start_time.as_deref().and_then(parse_time),
            ends_at: b.end_time.as_deref().and_then(parse_time),
        },
    })
}

/// Parses the RFC 3339 times eSIM Go sends (with up to nanoseconds).
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esim_go::types::CataloguePage;

    #[test]
    fn maps_the_live_catalogue_sample() {
        let page: CataloguePage = serde_json::from_str(
            r#"{"bundles":[{"name":"esim_1GB_7D_AD_V2","description":"eSIM, 1GB, 7 Days, Andorra, V2",
            "groups":["Standard Fixed"],"countries":[{"name":"Andorra","region":"Europe","iso":"AD"}],
            "roamingEnabled":[],"dataAmount":1000,"duration":7,"speed":["2G","3G","4G","5G"],
            "autostart":true,"unlimited":false,"imageUrl":"https://x","price":6.9,
            "billingType":"FixedCost","allowances":[{"type":"DATA","service":"ROAMING",
            "description":"x","amount":1000,"unit":"MB","unlimited":false}]}],
            "pageCount":5148,"rows":5148,"pageSize":1}"#,
        )
        .unwrap();
        let product =
            product_from_bundle(&page.bundles[0], Currency::parse("USD").unwrap()).unwrap();
        assert_eq!(product.id.to_string(), "esim-go:esim_1GB_7D_AD_V2");
        assert_eq!(product.data, DataAllowance::Limited { mb: 1000 });
        assert_eq!(product.validity_days, 7);
        assert_eq!(product.price.to_micros().unwrap(), 6_900_000);
        assert_eq!(product.countries[0].as_str(), "AD");
    }

    #[test]
    fn maps_the_live_order_sample() {
        let response: OrderResponse = serde_json::from_str(
            r#"{"order":[{"esims":[{"iccid":"8943108167001960542","matchingId":"BCCVJ-TMDA6-BWUDC-PMXUV","smdpAddress":"rsp-3104.idemia.io"}],
            "type":"bundle","item":"esim_1GB_7D_GB_V2","iccids":["8943108167001960542"],"quantity":1,
            "subTotal":1.36,"pricePerUnit":1.36,"allowReassign":false}],
            "total":1.36,"currency":"USD","status":"completed","statusMessage":"Order completed: 1 eSIMs assigned",
            "orderReference":"73028252-1f26-4f22-9517-4fc879dbb8fb","createdDate":"2026-01-04T13:15:43.785826016Z","assigned":true}"#,
        )
        .unwrap();
        let placed = placed_order(&response).unwrap();
        assert_eq!(placed.status, OrderStatus::Completed);
        assert_eq!(placed.esims.len(), 1);
        assert_eq!(
            placed.esims[0].activation.to_string(),
            "LPA:1$rsp-3104.idemia.io$BCCVJ-TMDA6-BWUDC-PMXUV"
        );
        assert_eq!(placed.total.unwrap().to_micros().unwrap(), 1_360_000);
        assert!(placed.created_at.is_some());
    }

    #[test]
    fn unknown_statuses_never_fail() {
        assert_eq!(order_status("Completed"), OrderStatus::Completed);
        assert_eq!(order_status("SOMETHING_NEW"), OrderStatus::Fulfilling);
        assert_eq!(bundle_state("ACTIVE"), BundleState::Active);
        assert_eq!(bundle_state("weird"), BundleState::Unknown);
    }
}
