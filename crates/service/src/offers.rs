//! Offers: equivalent products of several providers under one stable id
//! (`simgate_domain::orchestration::offer`), and the order in which an
//! offer's candidates are tried (`orchestration::routing`).

use simgate_domain::entities::{ProductFilter, ProductSort};
use simgate_domain::orchestration::{
    Offer, OfferId, RouteCandidate, RoutingPolicy, group_offers, plan,
};
use simgate_domain::{CountryCode, ProductId};

use crate::{ServiceError, Services};

/// Enough to read a country's whole catalogue (or all of it) in one page:
/// offers group across providers, so grouping a partial page would split
/// them.
const WHOLE_CATALOGUE: u32 = 1_000_000;

impl Services {
    /// The offers of the active catalogue, optionally of one country,
    /// sorted by id.
    pub async fn offers(&self, country: Option<CountryCode>) -> Result<Vec<Offer>, ServiceError> {
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

    /// The offer's products in the order they are to be tried now, for a
    /// tenant: the default policy (cheapest first, compared in the first
    /// candidate's currency), configured providers only.
    pub async fn route_offer(&self, id: &OfferId) -> Result<Vec<ProductId>, ServiceError> {
        let offer = self.offer(id).await?;
        let usable: Vec<_> = offer
            .candidates
            .iter()
            .filter(|c| self.connectors.get(c.provider).is_some())
            .collect();
        let route: Vec<RouteCandidate> = usable
            .iter()
            .map(|c| RouteCandidate {
                provider: c.provider,
                cost: c.cost,
                circuit: self.circuit(c.provider),
            })
            .collect();
        let Some(first) = route.first() else {
            return Err(ServiceError::UnknownOffer(id.as_str().to_owned()));
        };
        // Costs in different currencies compare after conversion with the
        // operator's FX table.
        let fx = self.current_fx().await?;
        let decided = plan(
            &RoutingPolicy::default(),
            &offer.key.countries,
            &route,
            &fx,
            first.cost.currency,
            0,
        );
        Ok(decided
            .order
            .iter()
            .filter_map(|&index| usable.get(index).map(|c| c.product_id.clone()))
            .collect())
    }
}
