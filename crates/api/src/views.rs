//! The JSON shapes of the unified API, decoupled from storage rows so that
//! the wire contract changes only on purpose.

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize};
use simgate_domain::entities::{EsimRecord, ListedEsim, OrderRecord};
use simgate_domain::orchestration::{CircuitState, HealthSnapshot};
use simgate_domain::{
    BundleState, BundleUsage, Capability, DataAllowance, Money, OrderKind, OrderStatus,
};
use simgate_service::{PricedCandidate, PricedOffer, PricedProduct};
use utoipa::ToSchema;

/// A configured provider and what it can do.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderView {
    /// Slug used in product ids, e.g. `esim-go`.
    pub id: String,
    pub capabilities: Vec<Capability>,
    /// Products in the local catalogue from this provider.
    pub catalogue_products: u64,
    /// When its catalogue was last synced.
    pub catalogue_synced_at: Option<DateTime<Utc>>,
    /// How its recent upstream calls went, as this instance saw them.
    pub health: ProviderHealthView,
}

/// A provider's recent upstream calls and circuit breaker, as the instance
/// that answers saw them (health is judged per instance).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderHealthView {
    /// `open`: orders skip it without calling it; `half_open`: a probe
    /// call decides whether it closes again.
    pub circuit: CircuitState,
    /// Successful calls over calls in the window, 0 to 1; absent before
    /// the first call. A provider refusing a bad request counts as a success.
    #[schema(example = 0.98)]
    pub success_rate: Option<f64>,
    /// Median latency of the window's calls, in milliseconds.
    pub p50_ms: Option<u64>,
    /// 95th percentile latency of the window's calls, in milliseconds.
    pub p95_ms: Option<u64>,
    /// Calls in the window (the last `[health] window` calls).
    pub calls: usize,
}

impl From<HealthSnapshot> for ProviderHealthView {
    fn from(snapshot: HealthSnapshot) -> Self {
        let millis =
            |latency: std::time::Duration| u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        Self {
            circuit: snapshot.state,
            success_rate: snapshot
                .success_rate
                .and_then(|rate| rate.round_dp(4).to_f64()),
            p50_ms: snapshot.p50.map(millis),
            p95_ms: snapshot.p95.map(millis),
            calls: snapshot.calls,
        }
    }
}

/// Providers list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderList {
    pub data: Vec<ProviderView>,
}

/// Data allowance in MB (1 GB = 1000 MB).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DataView {
    pub unlimited: bool,
    /// Megabytes; absent when unlimited.
    pub mb: Option<u64>,
}

impl From<DataAllowance> for DataView {
    fn from(data: DataAllowance) -> Self {
        Self {
            unlimited: data.mb().is_none(),
            mb: data.mb(),
        }
    }
}

/// A product of the unified catalogue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    /// `<provider>:<sku>`.
    #[schema(example = "esim-go:esim_1GB_1D_JP_V2")]
    pub id: String,
    pub provider: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    pub data: DataView,
    pub validity_days: u32,
    /// The tenant's sell price: the cost itself without pricing rules, or
    /// when no FX rate converts the cost (then `converted` is false).
    pub price: Money,
    /// The provider's cost, in its own currency.
    pub cost: Money,
    /// The cost in the tenant's pricing currency (USD without rules);
    /// absent when no FX rate converts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_converted: Option<Money>,
    /// Whether the price is in the tenant's currency (USD without rules).
    /// Unconverted prices sort after every converted one, never among them.
    pub converted: bool,
}

/// A page of products.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductPage {
    pub data: Vec<ProductView>,
    /// Products matching the filters, across all pages.
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
}

/// A page of products as it goes on the wire: exactly the JSON of
/// [`ProductPage`] (whose schema the contract shows), written straight from
/// the priced products. Building an owned [`ProductView`] per product cost a
/// string per id, provider and country on every product of every page;
/// catalogue pages are the hottest answer simgate gives.
#[derive(Debug)]
pub struct ProductPageOut {
    pub data: Vec<PricedProduct>,
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
}

impl Serialize for ProductPageOut {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut page = serializer.serialize_struct("ProductPage", 4)?;
        page.serialize_field("data", &ProductsOut(&self.data))?;
        page.serialize_field("total", &self.total)?;
        page.serialize_field("limit", &self.limit)?;
        page.serialize_field("offset", &self.offset)?;
        page.end()
    }
}

/// The page's products, each as [`ProductView`] writes it.
struct ProductsOut<'a>(&'a [PricedProduct]);

impl Serialize for ProductsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ProductRef))
    }
}

/// One product as it goes on the wire: exactly the JSON of [`ProductView`]
/// (whose schema the contract shows), written the same way as each
/// product of a [`ProductPageOut`].
#[derive(Debug)]
pub struct ProductOut(pub PricedProduct);

impl Serialize for ProductOut {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ProductRef(&self.0).serialize(serializer)
    }
}

/// One product, field for field as [`ProductView`], borrowing its text.
struct ProductRef<'a>(&'a PricedProduct);

impl Serialize for ProductRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let priced = self.0;
        let product = &priced.product;
        let fields = if priced.cost_converted.is_some() {
            10
        } else {
            9
        };
        let mut view = serializer.serialize_struct("ProductView", fields)?;
        view.serialize_field("id", &Displayed(&product.id))?;
        view.serialize_field("provider", product.id.provider.as_str())?;
        view.serialize_field("name", &product.name)?;
        view.serialize_field("countries", &CountriesOut(&product.countries))?;
        view.serialize_field("data", &DataView::from(product.data))?;
        view.serialize_field("validity_days", &product.validity_days)?;
        view.serialize_field("price", &priced.price)?;
        view.serialize_field("cost", &product.price)?;
        if let Some(converted) = &priced.cost_converted {
            view.serialize_field("cost_converted", converted)?;
        }
        view.serialize_field("converted", &priced.converted)?;
        view.end()
    }
}

/// A value written as the string its `Display` gives, without an
/// intermediate `String`.
struct Displayed<'a, T>(&'a T);

impl<T: std::fmt::Display> Serialize for Displayed<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// Alpha-2 codes as a list of strings.
struct CountriesOut<'a>(&'a [simgate_domain::CountryCode]);

impl Serialize for CountriesOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(simgate_domain::CountryCode::as_str))
    }
}

/// One provider's product in an offer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferCandidateView {
    pub provider: String,
    /// `<provider>:<sku>`: order it to pin this provider.
    #[schema(example = "esim-go:esim_1GB_7D_JP_V2")]
    pub product_id: String,
    /// The provider's cost, in its own currency.
    pub cost: Money,
    /// The tenant's sell price when bought from this provider.
    pub price: Money,
    /// Whether `price` is in the tenant's currency (false: no FX rate).
    pub converted: bool,
    /// The provider's health on the answering instance; routing skips a
    /// candidate whose circuit is open.
    pub health: ProviderHealthView,
}

impl From<PricedCandidate> for OfferCandidateView {
    fn from(priced: PricedCandidate) -> Self {
        Self {
            provider: priced.candidate.provider.to_string(),
            product_id: priced.candidate.product_id.to_string(),
            cost: priced.candidate.cost,
            price: priced.price,
            converted: priced.converted,
            health: priced.health.into(),
        }
    }
}

/// Equivalent products of several providers under one stable id; ordering
/// it lets simgate choose the provider and fail over.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferView {
    /// Derived from countries, data and validity: the same on every sync.
    #[schema(example = "off_3f2a9c0d4e5b6a71")]
    pub id: String,
    /// ISO 3166-1 alpha-2 codes, sorted.
    pub countries: Vec<String>,
    /// The canonical allowance (1024 MB counts as 1000 MB).
    pub data: DataView,
    pub validity_days: u32,
    /// The lowest sell price among the candidates, in the tenant's
    /// currency when `converted`.
    pub price: Money,
    /// Whether `price` is in the tenant's currency (USD without rules).
    pub converted: bool,
    pub candidates: Vec<OfferCandidateView>,
}

impl From<PricedOffer> for OfferView {
    fn from(priced: PricedOffer) -> Self {
        let key = &priced.offer.key;
        Self {
            id: priced.offer.id.to_string(),
            countries: key
                .countries
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            data: key.data().into(),
            validity_days: key.validity_days,
            price: priced.price,
            converted: priced.converted,
            candidates: priced.candidates.into_iter().map(Into::into).collect(),
        }
    }
}

/// A page of offers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferPage {
    pub data: Vec<OfferView>,
    /// Offers matching the filters, across all pages.
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
}

/// `POST /v1/orders` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    /// A product id from `/v1/products`: pins its provider. Give this or
    /// `offer_id`, not both.
    #[schema(
        pattern = r"^(esim-go|esim-story|sim-local|telnyx|onsim):[\x21-\x7e]{1,200}$",
        example = "esim-go:esim_1GB_1D_JP_V2"
    )]
    pub product_id: Option<String>,
    /// An offer id: simgate chooses the provider and fails over to the
    /// next one only when the attempt certainly bought nothing.
    #[schema(pattern = r"^off_[0-9a-f]{16}$", example = "off_3f2a9c0d4e5b6a71")]
    pub offer_id: Option<String>,
    /// How many eSIMs (default 1; at most 100 unless configured lower).
    #[serde(default = "one", deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 100, default = 1)]
    pub quantity: u32,
}

fn one() -> u32 {
    1
}

/// A count in a body. JSON Schema counts `29.0` as an integer, and so may
/// clients generated from the document: a whole number is taken in either
/// form, a fraction or a negative one is refused.
pub(crate) fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .as_u64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|value| value.fract() == 0.0 && *value >= 0.0)
                .map(|value| value as u64)
        })
        .and_then(|value| u32::try_from(value).ok())
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{number} is not a whole number from 0 to {}",
                u32::MAX
            ))
        })
}

/// `POST /v1/esims/{iccid}/topups` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTopUp {
    /// A product id from `/v1/products`, of the eSIM's provider.
    #[schema(
        pattern = r"^(esim-go|esim-story|sim-local|telnyx|onsim):[\x21-\x7e]{1,200}$",
        example = "esim-go:esim_1GB_1D_JP_V2"
    )]
    pub product_id: String,
}

/// `POST /v1/esims/{iccid}/sms` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendSms {
    /// 1–160 characters.
    #[schema(min_length = 1, max_length = 160, example = "Welcome to Japan!")]
    pub message: String,
}

/// Why an order failed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FailureView {
    pub code: String,
    pub message: String,
    /// True when nothing was bought: repeating the request with the same
    /// `Idempotency-Key` tries the same order again.
    pub retryable: bool,
}

/// An order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    #[schema(example = "ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b")]
    pub id: String,
    pub status: OrderStatus,
    /// `new_esim` or `top_up`.
    pub kind: String,
    /// The topped-up eSIM, for top-ups.
    pub target_iccid: Option<String>,
    /// The product of the current (or buying) candidate.
    pub product_id: String,
    /// The provider of `product_id`: for an offer, the one that sold it.
    pub provider: String,
    /// The offer ordered, when simgate chose the provider.
    pub offer_id: Option<String>,
    pub quantity: u32,
    /// The cost of `product_id`, frozen when it was bought.
    pub unit_price: Money,
    /// The tenant's sell price of one unit, frozen with `unit_price` by
    /// its pricing rules then (at cost without rules); later rule or rate
    /// changes never touch it. Absent on orders from before prices were
    /// recorded.
    pub price: Option<Money>,
    /// `price` less the cost converted to its currency, frozen with it.
    pub margin: Option<Money>,
    /// Attempts at earlier candidates of an offer that bought nothing.
    #[schema(value_type = Vec<Object>)]
    pub attempts: Vec<simgate_domain::entities::OrderAttempt>,
    /// The provider's reference, once it has answered.
    pub upstream_reference: Option<String>,
    /// The provider's own status word.
    pub provider_status: Option<String>,
    /// eSIMs delivered (new ones, or the topped-up one).
    pub esims: Vec<String>,
    pub failure: Option<FailureView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrderRecord> for OrderView {
    fn from(o: OrderRecord) -> Self {
        let (kind, target) = match &o.kind {
            OrderKind::NewEsim => ("new_esim", None),
            OrderKind::TopUp { iccid } => ("top_up", Some(iccid.to_string())),
        };
        Self {
            id: o.id.to_string(),
            status: o.status,
            kind: kind.to_owned(),
            target_iccid: target,
            product_id: o.product_id.to_string(),
            provider: o.provider().as_str().to_owned(),
            offer_id: o.offer_id,
            quantity: o.quantity,
            attempts: o.attempt_log,
            unit_price: o.unit_price,
            price: o.sale.map(|sale| sale.price),
            margin: o.sale.map(|sale| sale.margin),
            upstream_reference: o.upstream_ref,
            provider_status: o.provider_status,
            esims: o
                .iccids
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            failure: o.failure.map(|f| FailureView {
                code: f.code,
                message: f.message,
                retryable: f.retryable,
            }),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// A page of orders, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    pub data: Vec<OrderView>,
    /// Pass as `before` to get the next (older) page; absent on the last one.
    pub next_before: Option<String>,
}

/// An eSIM with everything needed to install it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EsimView {
    #[schema(example = "8943108167001960542")]
    pub iccid: String,
    pub provider: String,
    pub order_id: String,
    pub smdp_address: String,
    pub matching_id: String,
    /// The SGP.22 activation code a QR encodes: `LPA:1$<SM-DP+>$<matching id>`.
    #[schema(example = "LPA:1$smdp.example.com$K2-1ABCD2-EFGH3I")]
    pub activation_code: String,
    /// Given separately, never inside the activation code.
    pub confirmation_code: Option<String>,
    pub confirmation_code_required: bool,
    /// One-tap install on iOS 17.4+.
    pub apple_install_url: String,
    /// Best-effort one-tap install on Android (not officially documented).
    pub android_install_url: String,
    pub qr_png_url: String,
    pub qr_svg_url: String,
}

impl From<EsimRecord> for EsimView {
    fn from(e: EsimRecord) -> Self {
        let code = &e.install.activation;
        let iccid = e.install.iccid.to_string();
        Self {
            qr_png_url: format!("/v1/esims/{iccid}/qr.png"),
            qr_svg_url: format!("/v1/esims/{iccid}/qr.svg"),
            provider: e.provider.to_string(),
            order_id: e.order_id.to_string(),
            smdp_address: code.smdp_address.clone(),
            matching_id: code.matching_id.clone(),
            activation_code: code.to_string(),
            confirmation_code: e.install.confirmation_code.clone(),
            confirmation_code_required: code.confirmation_code_required,
            apple_install_url: code.apple_install_url(),
            android_install_url: code.android_install_url(),
            iccid,
        }
    }
}

/// An eSIM in a list, with where its order stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListedEsimView {
    #[serde(flatten)]
    pub esim: EsimView,
    /// The status of the order that delivered it (simgate keeps no other).
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
}

impl From<ListedEsim> for ListedEsimView {
    fn from(listed: ListedEsim) -> Self {
        Self {
            created_at: listed.esim.created_at,
            esim: listed.esim.into(),
            status: listed.order_status,
        }
    }
}

/// A page of the tenant's eSIMs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EsimPage {
    pub data: Vec<ListedEsimView>,
    /// eSIMs matching the filters, across all pages.
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
}

/// The reasons an order's provider accepts in a faulty report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FaultyReasons {
    #[schema(example = json!(["FAULTY_SIM", "NO_SERVICE", "OTHER"]))]
    pub data: Vec<String>,
}

/// `POST /v1/orders/{id}/faulty` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportFaulty {
    /// One of `GET /v1/orders/{id}/faulty-reasons`.
    #[schema(min_length = 1, pattern = r"\S", example = "NO_SERVICE")]
    pub reason: String,
    /// What the customer saw, passed on to the provider (at most 500 characters).
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// Usage of one bundle on an eSIM.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BundleUsageView {
    pub bundle: String,
    pub state: BundleState,
    pub unlimited: bool,
    pub initial_bytes: Option<u64>,
    pub remaining_bytes: Option<u64>,
    /// Remaining data in MB (1 MB = 1,000,000 bytes), rounded down.
    pub remaining_mb: Option<u64>,
    pub initial_mb: Option<u64>,
    pub started_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl From<BundleUsage> for BundleUsageView {
    fn from(u: BundleUsage) -> Self {
        Self {
            initial_mb: u.initial_bytes.map(|b| b / 1_000_000),
            remaining_mb: u.remaining_bytes.map(|b| b / 1_000_000),
            bundle: u.bundle,
            state: u.state,
            unlimited: u.unlimited,
            initial_bytes: u.initial_bytes,
            remaining_bytes: u.remaining_bytes,
            started_at: u.started_at,
            ends_at: u.ends_at,
        }
    }
}

/// Usage of an eSIM, live from its provider.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageView {
    pub iccid: String,
    pub bundles: Vec<BundleUsageView>,
}

/// `/healthz` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub database: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use simgate_domain::{CountryCode, Currency, Product, ProductId};

    fn priced(
        sku: &str,
        countries: &[&str],
        data: DataAllowance,
        converted: bool,
    ) -> PricedProduct {
        let usd = Currency::parse("USD").unwrap();
        let gbp = Currency::parse("GBP").unwrap();
        PricedProduct {
            product: Product {
                id: ProductId::parse(&format!("esim-go:{sku}")).unwrap(),
                name: format!("eSIM \"{sku}\", 7 Days\n"),
                countries: countries
                    .iter()
                    .map(|c| CountryCode::parse(c).unwrap())
                    .collect(),
                data,
                validity_days: 7,
                price: Money::from_micros(4_490_000, gbp),
            },
            cost_converted: converted.then(|| Money::from_micros(5_612_500, usd)),
            price: Money::from_micros(if converted { 6_990_000 } else { 4_490_000 }, usd),
            converted,
        }
    }

    /// The owned view of a product, field by field from the domain types:
    /// what the written JSON is compared with.
    fn view_of(priced: &PricedProduct) -> ProductView {
        let p = &priced.product;
        ProductView {
            provider: p.id.provider.to_string(),
            id: p.id.to_string(),
            name: p.name.clone(),
            countries: p.countries.iter().map(ToString::to_string).collect(),
            data: p.data.into(),
            validity_days: p.validity_days,
            price: priced.price,
            cost: p.price,
            cost_converted: priced.cost_converted,
            converted: priced.converted,
        }
    }

    #[test]
    fn a_page_written_from_priced_products_is_the_product_page_json() {
        let products = vec![
            priced("a_1GB", &["JP"], DataAllowance::Limited { mb: 1000 }, true),
            priced(
                "b_unl",
                &["JP", "KR", "TW"],
                DataAllowance::Unlimited,
                false,
            ),
        ];
        let owned = ProductPage {
            data: products.iter().map(view_of).collect(),
            total: 413,
            limit: 2,
            offset: 4,
        };
        for product in &products {
            assert_eq!(
                serde_json::to_string(&ProductOut(product.clone())).unwrap(),
                serde_json::to_string(&view_of(product)).unwrap()
            );
        }
        let written = ProductPageOut {
            data: products,
            total: 413,
            limit: 2,
            offset: 4,
        };
        assert_eq!(
            serde_json::to_string(&written).unwrap(),
            serde_json::to_string(&owned).unwrap()
        );
    }
}
