//! Offers: equivalent products of several providers under one stable id
//! (`simgate_domain::orchestration::offer`), with the tenant's sell prices.

use simgate_domain::entities::{ProductFilter, ProductSort};
use simgate_domain::orchestration::{
    Converted, FxTable, HealthSnapshot, Offer, OfferCandidate, OfferId, PriceContext, PricingRules,
    group_offers,
};
use simgate_domain::{CountryCode, Currency, Money, ProviderId, TenantId};

use crate::pricing::{PricedCost, compare_prices, comparison_currency, price_cost};
use crate::{ServiceError, Services};

/// Enough to read a country's whole catalogue (or all of it) in one page:
/// offers group across providers, so grouping a partial page would split
/// them.
const WHOLE_CATALOGUE: u32 = 1_000_000;

/// How offers are listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OfferSort {
    /// By id: stable across catalogue syncs, so pages do not shift.
    #[default]
    Id,
    /// Cheapest sell price first, compared after conversion.
    PriceAsc,
    /// Dearest sell price first.
    PriceDesc,
}

/// An offer search.
#[derive(Debug, Clone, Default)]
pub struct OfferFilter {
    /// Offers that work in this country.
    pub country: Option<CountryCode>,
    /// At least this much data, in MB (unlimited always qualifies).
    pub min_data_mb: Option<u64>,
    /// Exactly this validity.
    pub validity_days: Option<u32>,
    /// Only offers priced in this currency.
    pub currency: Option<Currency>,
    /// Highest sell price in millionths: of `currency` when given, else of
    /// the tenant's comparison currency; prices are converted before
    /// comparing, and a price no rate converts never qualifies.
    pub max_price_micros: Option<i64>,
    /// The order of the page.
    pub sort: OfferSort,
    /// Page size.
    pub limit: u32,
    /// Offers to skip.
    pub offset: u32,
}

/// One candidate of an offer with the tenant's price for it.
#[derive(Debug, Clone)]
pub struct PricedCandidate {
    /// The provider's product and cost.
    pub candidate: OfferCandidate,
    /// The tenant's sell price of this candidate.
    pub price: Money,
    /// Whether `price` is in the tenant's currency (see `PricedProduct`).
    pub converted: bool,
    /// The provider's health as this instance sees it: an open circuit
    /// means routing skips this candidate now.
    pub health: HealthSnapshot,
}

/// An offer with the tenant's sell prices.
#[derive(Debug, Clone)]
pub struct PricedOffer {
    /// The offer: its key and candidates' costs.
    pub offer: Offer,
    /// The lowest sell price among the candidates: what the offer sells
    /// from (the provider routing picks may be dearer).
    pub price: Money,
    /// Whether `price` is in the tenant's currency.
    pub converted: bool,
    /// The candidates, in the offer's order, each with its price.
    pub candidates: Vec<PricedCandidate>,
    sort_key: Converted,
}

impl Services {
    /// The offers of the active catalogue, optionally of one country,
    /// sorted by id: from the in-memory index (grouped when it was built)
    /// once there is one.
    pub async fn offers(&self, country: Option<CountryCode>) -> Result<Vec<Offer>, ServiceError> {
        if let Some(index) = self.catalogue_index() {
            return Ok(index.offers(country));
        }
        let filter = ProductFilter {
            provider: None,
            country,
            min_data_mb: None,
            max_price_micros: None,
            currency: None,
            sort: ProductSort::PriceAsc,
            limit: WHOLE_CATALOGUE,
            offset: 0,
        };
        let (products, _) = self.search_products(&filter).await?;
        Ok(group_offers(&products))
    }

    /// One offer by id.
    pub async fn offer(&self, id: &OfferId) -> Result<Offer, ServiceError> {
        self.offers(None)
            .await?
            .into_iter()
            .find(|offer| &offer.id == id)
            .ok_or_else(|| ServiceError::UnknownOffer(id.as_str().to_owned()))
    }

    /// A page of offers with the tenant's prices, and how many match.
    pub async fn priced_offers(
        &self,
        tenant: &TenantId,
        filter: &OfferFilter,
    ) -> Result<(Vec<PricedOffer>, u64), ServiceError> {
        let rules = self.cached_pricing(tenant).await?;
        let fx = self.current_fx().await?;
        let offers = self.offers(filter.country).await?;
        let limit_currency = filter
            .currency
            .unwrap_or_else(|| comparison_currency(rules.as_deref()));
        let mut matching: Vec<PricedOffer> = offers
            .into_iter()
            .filter(|offer| {
                filter
                    .min_data_mb
                    .is_none_or(|min| offer.key.data_mb.is_none_or(|mb| mb >= min))
                    && filter
                        .validity_days
                        .is_none_or(|days| offer.key.validity_days == days)
            })
            .filter_map(|offer| {
                price_offer(offer, rules.as_deref(), &fx, |p| self.provider_health(p))
            })
            .filter(|priced| {
                filter.currency.is_none_or(|c| priced.price.currency == c)
                    && filter.max_price_micros.is_none_or(|max| {
                        fx.convert(priced.price, limit_currency)
                            .known()
                            .and_then(|price| price.to_micros().ok())
                            .is_some_and(|price| price <= max)
                    })
            })
            .collect();
        match filter.sort {
            OfferSort::Id => {}
            OfferSort::PriceAsc | OfferSort::PriceDesc => {
                let descending = filter.sort == OfferSort::PriceDesc;
                matching.sort_by(|a, b| {
                    compare_prices(a.sort_key, b.sort_key, descending)
                        .then_with(|| a.offer.id.cmp(&b.offer.id))
                });
            }
        }
        let total = matching.len() as u64;
        let page = matching
            .into_iter()
            .skip(usize::try_from(filter.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(filter.limit).unwrap_or(usize::MAX))
            .collect();
        Ok((page, total))
    }

    /// One offer with the tenant's prices; `None` when no active product
    /// has that key (any more).
    pub async fn priced_offer(
        &self,
        tenant: &TenantId,
        id: &OfferId,
    ) -> Result<Option<PricedOffer>, ServiceError> {
        let Some(offer) = self
            .offers(None)
            .await?
            .into_iter()
            .find(|offer| &offer.id == id)
        else {
            return Ok(None);
        };
        let rules = self.cached_pricing(tenant).await?;
        let fx = self.current_fx().await?;
        Ok(price_offer(offer, rules.as_deref(), &fx, |p| {
            self.provider_health(p)
        }))
    }
}

/// Prices every candidate of an offer; the offer's price is the lowest.
/// `None` for an offer without candidates, which `group_offers` never makes.
fn price_offer(
    offer: Offer,
    rules: Option<&PricingRules>,
    fx: &FxTable,
    health: impl Fn(ProviderId) -> HealthSnapshot,
) -> Option<PricedOffer> {
    let priced: Vec<(PricedCost, &OfferCandidate)> = offer
        .candidates
        .iter()
        .map(|candidate| {
            let context = PriceContext {
                offer_id: Some(&offer.id),
                provider: candidate.provider,
                countries: &offer.key.countries,
            };
            (price_cost(candidate.cost, &context, rules, fx), candidate)
        })
        .collect();
    let lowest = priced
        .iter()
        .map(|(cost, _)| *cost)
        .min_by(|a, b| compare_prices(a.sort_key, b.sort_key, false))?;
    let candidates = priced
        .iter()
        .map(|(cost, candidate)| PricedCandidate {
            candidate: (*candidate).clone(),
            price: cost.price,
            converted: cost.converted,
            health: health(candidate.provider),
        })
        .collect();
    Some(PricedOffer {
        offer,
        price: lowest.price,
        converted: lowest.converted,
        candidates,
        sort_key: lowest.sort_key,
    })
}
