//! Routing offer orders: each tenant's routing policy (`GET`/`PUT
//! /v1/routing`) and the order in which an offer's candidates are tried for
//! it now (`orchestration::routing::plan`), which both the order flow and
//! `simgate routing show` use.

use std::fmt;

use simgate_domain::entities::SalePrice;
use simgate_domain::orchestration::{
    Offer, OfferCandidate, OfferId, PriceContext, RouteCandidate, RoutePlan, RoutingPolicy, plan,
};
use simgate_domain::{Currency, Product, ProductId, ProviderId, TenantId};

use crate::pricing::comparison_currency;
use crate::{ServiceError, Services};

/// Why a candidate of an offer is not routed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unroutable {
    /// Its provider is not configured on this instance.
    NotConfigured,
    /// The tenant prices in this currency and no FX rate converts the
    /// candidate's cost to it: it could not be sold at a known price.
    NoFxRate(Currency),
}

impl fmt::Display for Unroutable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConfigured => f.write_str("provider not configured"),
            Self::NoFxRate(currency) => write!(f, "no FX rate into {currency}"),
        }
    }
}

/// How an offer is routed for a tenant now.
#[derive(Debug, Clone)]
pub struct RouteDecision {
    /// The offer routed.
    pub offer: Offer,
    /// The candidates routing ranked; the plan's indices point into this.
    pub candidates: Vec<OfferCandidate>,
    /// The candidates left out before ranking, and why.
    pub unroutable: Vec<(OfferCandidate, Unroutable)>,
    /// The order to try them in, with the reason for each place.
    pub plan: RoutePlan,
}

impl RouteDecision {
    /// The products to try, in order.
    pub fn products(&self) -> Vec<ProductId> {
        self.plan
            .order
            .iter()
            .filter_map(|&index| self.candidates.get(index).map(|c| c.product_id.clone()))
            .collect()
    }
}

impl Services {
    /// The tenant's routing policy: the stored one, else the default
    /// (`cheapest`). Cached per instance: another instance's change is seen
    /// within seconds, this instance's at once.
    pub async fn routing_policy(&self, tenant: &TenantId) -> Result<RoutingPolicy, ServiceError> {
        Ok(self
            .cached_routing(tenant)
            .await?
            .map(|policy| (*policy).clone())
            .unwrap_or_default())
    }

    /// Validates and stores the tenant's routing policy. Every provider it
    /// names must be an eSIM provider configured here: a policy naming one
    /// that can never sell would silently do nothing.
    pub async fn set_routing_policy(
        &self,
        tenant: &TenantId,
        policy: RoutingPolicy,
    ) -> Result<RoutingPolicy, ServiceError> {
        policy.validate()?;
        let base = named_providers(
            "",
            &policy.providers,
            policy.weights.keys(),
            &policy.exclude,
        );
        let overrides = policy.countries.iter().flat_map(|(country, routing)| {
            named_providers(
                &format!("countries.{country}."),
                routing.providers.as_deref().unwrap_or_default(),
                routing.weights.iter().flat_map(|w| w.keys()),
                routing.exclude.as_deref().unwrap_or_default(),
            )
        });
        if let Some((field, provider)) = base
            .into_iter()
            .chain(overrides)
            .find(|(_, provider)| self.connectors.get(*provider).is_none())
        {
            return Err(ServiceError::UnknownRoutingProvider { field, provider });
        }
        self.store.put_routing_policy(tenant, &policy).await?;
        self.forget_routing(tenant);
        Ok(policy)
    }

    /// The offer's candidates in the order they are to be tried now for
    /// the tenant, under its policy (per-country overrides apply), costs
    /// compared in its pricing currency (USD without rules). Weighted
    /// policies draw a fresh random number each time.
    pub async fn route_offer(
        &self,
        tenant: &TenantId,
        id: &OfferId,
    ) -> Result<RouteDecision, ServiceError> {
        let offer = self.offer(id).await?;
        let policy = self.routing_policy(tenant).await?;
        let rules = self.cached_pricing(tenant).await?;
        let fx = self.current_fx().await?;
        let currency = comparison_currency(rules.as_deref());
        let mut candidates = Vec::new();
        let mut unroutable = Vec::new();
        for candidate in &offer.candidates {
            if self.connectors.get(candidate.provider).is_none() {
                unroutable.push((candidate.clone(), Unroutable::NotConfigured));
            } else if rules.is_some() && fx.convert(candidate.cost, currency).known().is_none() {
                unroutable.push((candidate.clone(), Unroutable::NoFxRate(currency)));
            } else {
                candidates.push(candidate.clone());
            }
        }
        let route: Vec<RouteCandidate> = candidates
            .iter()
            .map(|c| RouteCandidate {
                provider: c.provider,
                cost: c.cost,
                circuit: self.circuit(c.provider),
            })
            .collect();
        let plan = plan(
            &policy,
            &offer.key.countries,
            &route,
            &fx,
            currency,
            rand::random(),
        );
        Ok(RouteDecision {
            offer,
            candidates,
            unroutable,
            plan,
        })
    }

    /// The tenant's sell price of one unit of `product` (bought for the
    /// offer `offer_id`, if any) and its margin, to freeze on the order.
    pub(crate) async fn sale_price(
        &self,
        tenant: &str,
        offer_id: Option<&str>,
        product: &Product,
    ) -> Result<SalePrice, ServiceError> {
        let offer = offer_id.and_then(|id| OfferId::parse(id).ok());
        let mut countries = product.countries.clone();
        countries.sort_unstable();
        countries.dedup();
        let context = PriceContext {
            offer_id: offer.as_ref(),
            provider: product.id.provider,
            countries: &countries,
        };
        let quote = self
            .sell_price(
                &TenantId::from_stored(tenant.to_owned()),
                product.price,
                context,
            )
            .await?;
        Ok(SalePrice {
            price: quote.price,
            margin: quote.margin,
        })
    }
}

/// Every provider a policy (or one override, under `scope`) names, with the
/// field naming it.
fn named_providers<'a>(
    scope: &str,
    providers: &[ProviderId],
    weighted: impl Iterator<Item = &'a ProviderId>,
    exclude: &[ProviderId],
) -> Vec<(String, ProviderId)> {
    let listed = providers
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{scope}providers[{i}]"), *p));
    let weights = weighted.map(|p| (format!("{scope}weights.{p}"), *p));
    let excluded = exclude
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{scope}exclude[{i}]"), *p));
    listed.chain(weights).chain(excluded).collect()
}
