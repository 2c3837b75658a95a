//! Money across currencies and per-tenant pricing: the operator's FX table
//! (cached per instance, reloaded when its version changes) and each
//! tenant's pricing rules, applied to catalogue costs.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use simgate_domain::entities::{ProductFilter, ProductSort};
use simgate_domain::orchestration::{
    Converted, FxRate, FxTable, PriceContext, PriceQuote, PricingRules, compare_converted,
};
use simgate_domain::{Currency, Money, Product, ProductId, TenantId};

use crate::{ServiceError, Services};

/// How long an instance trusts its cached FX table before asking the
/// database for the version: another instance's change shows within this.
pub(crate) const FX_RECHECK: Duration = Duration::from_secs(2);

/// The cached FX table and what is known about its freshness.
#[derive(Debug, Default)]
pub(crate) struct FxCache {
    state: RwLock<FxCached>,
}

#[derive(Debug, Default)]
struct FxCached {
    table: Arc<FxTable>,
    /// The stored version `table` was read at; `None` before the first read.
    version: Option<i64>,
    checked: Option<Instant>,
}

/// A catalogue product with the tenant's view of its money.
#[derive(Debug, Clone)]
pub struct PricedProduct {
    /// The product; its `price` is the provider's cost, in its own currency.
    pub product: Product,
    /// The cost in the tenant's pricing currency (USD without rules);
    /// `None` when no FX rate converts it.
    pub cost_converted: Option<Money>,
    /// The tenant's sell price: the cost unchanged when the tenant has no
    /// pricing rules, or when no rate converts the cost (then
    /// `converted` is false).
    pub price: Money,
    /// Whether `price` is in the comparison currency; unconverted prices
    /// are sorted after converted ones, never mixed with them.
    pub converted: bool,
}

impl Services {
    /// The current FX table, as cached by this instance (refreshed by the
    /// async use cases at most [`FX_RECHECK`] apart).
    pub fn fx(&self) -> Arc<FxTable> {
        self.fx.state.read().map_or_else(
            |poisoned| poisoned.into_inner().table.clone(),
            |s| s.table.clone(),
        )
    }

    /// The FX table, reloaded first when the stored version moved on since
    /// the last check (which happens at most every [`FX_RECHECK`]).
    pub async fn current_fx(&self) -> Result<Arc<FxTable>, ServiceError> {
        let fresh = {
            let state = self
                .fx
                .state
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.version.is_some() && state.checked.is_some_and(|at| at.elapsed() < FX_RECHECK)
        };
        if fresh {
            return Ok(self.fx());
        }
        let version = self.store.fx_version().await?;
        let current = {
            let mut state = self
                .fx
                .state
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.checked = Some(Instant::now());
            state.version == Some(version)
        };
        if current {
            return Ok(self.fx());
        }
        self.reload_fx().await
    }

    /// Reads every rate from the store into the cache.
    async fn reload_fx(&self) -> Result<Arc<FxTable>, ServiceError> {
        let (version, rates) = self.store.fx_rates().await?;
        let mut table = FxTable::new();
        for rate in rates {
            table.set(rate)?;
        }
        let table = Arc::new(table);
        let mut state = self
            .fx
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *state = FxCached {
            table: table.clone(),
            version: Some(version),
            checked: Some(Instant::now()),
        };
        Ok(table)
    }

    /// Every rate as the operator set it, freshly read.
    pub async fn fx_rates(&self) -> Result<Vec<FxRate>, ServiceError> {
        Ok(self.reload_fx().await?.rates())
    }

    /// Sets rates (each replacing its pair and the inverse pair); with
    /// `replace_all` the given rates become the whole table. Every rate is
    /// checked before any is stored. Returns the resulting table's rates.
    pub async fn set_fx_rates(
        &self,
        rates: &[FxRate],
        replace_all: bool,
    ) -> Result<Vec<FxRate>, ServiceError> {
        let mut check = FxTable::new();
        for rate in rates {
            check.set(*rate)?;
        }
        self.store.put_fx_rates(rates, replace_all).await?;
        self.fx_rates().await
    }

    /// A tenant's pricing rules, or `None` when it sells at cost. Cached
    /// per instance: another instance's change is seen within seconds, this
    /// instance's at once.
    pub async fn pricing(&self, tenant: &TenantId) -> Result<Option<PricingRules>, ServiceError> {
        Ok(self
            .cached_pricing(tenant)
            .await?
            .map(|rules| (*rules).clone()))
    }

    /// Validates and stores a tenant's pricing rules.
    pub async fn set_pricing(
        &self,
        tenant: &TenantId,
        rules: PricingRules,
    ) -> Result<PricingRules, ServiceError> {
        rules.validate()?;
        self.store.put_pricing_rules(tenant, &rules).await?;
        self.forget_pricing(tenant);
        Ok(rules)
    }

    /// The tenant's sell price for `cost` in `context`: its rules, or at
    /// cost in the cost's own currency when it has none. A cost no FX rate
    /// converts to the tenant's currency is refused, never priced as if it
    /// were in that currency.
    pub async fn sell_price(
        &self,
        tenant: &TenantId,
        cost: Money,
        context: PriceContext<'_>,
    ) -> Result<PriceQuote, ServiceError> {
        let rules = self.cached_pricing(tenant).await?;
        let fx = self.current_fx().await?;
        let quote = match rules.as_deref() {
            Some(rules) => rules.quote(&context, cost, &fx),
            None => PricingRules::at_cost(cost.currency).quote(&context, cost, &fx),
        };
        Ok(quote?)
    }

    /// Searches the catalogue with the tenant's prices. Price sorts compare
    /// prices converted to the tenant's currency (USD without rules), with
    /// prices no rate converts after all others, grouped by currency.
    pub async fn priced_products(
        &self,
        tenant: &TenantId,
        filter: &ProductFilter,
    ) -> Result<(Vec<PricedProduct>, u64), ServiceError> {
        let rules = self.cached_pricing(tenant).await?;
        let rules = rules.as_deref();
        let fx = self.current_fx().await?;
        let descending = match filter.sort {
            ProductSort::PriceAsc => false,
            ProductSort::PriceDesc => true,
            ProductSort::DataDesc | ProductSort::ValidityDesc => {
                let (products, total) = self.search_products(filter).await?;
                let priced = products
                    .into_iter()
                    .map(|p| price_product(p, rules, &fx))
                    .collect();
                return Ok((priced, total));
            }
        };
        // Converted order is not the stored order. The index keeps it
        // precomputed per pricing (rules and FX table): a search walks it.
        if let Some(index) = self.catalogue_index() {
            let order = index.price_order(rules, &fx, descending);
            let (page, total) = index.search_by_price(&order, filter);
            let priced = page
                .into_iter()
                .map(|p| price_product(p.clone(), rules, &fx))
                .collect();
            return Ok((priced, total));
        }
        // Before the index is built: sort every match here, by reference,
        // and copy out the page alone.
        let everything = ProductFilter {
            limit: u32::MAX,
            offset: 0,
            ..filter.clone()
        };
        let (stored, _) = self.store.search_products(&everything).await?;
        let total = stored.len() as u64;
        let mut keyed: Vec<(Converted, String, &Product)> = stored
            .iter()
            .map(|p| (price_of(p, rules, &fx).sort_key, p.id.to_string(), p))
            .collect();
        keyed.sort_by(|(a, a_id, _), (b, b_id, _)| {
            compare_prices(*a, *b, descending).then_with(|| a_id.cmp(b_id))
        });
        let page = keyed
            .into_iter()
            .skip(usize::try_from(filter.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(filter.limit).unwrap_or(usize::MAX))
            .map(|(_, _, p)| price_product(p.clone(), rules, &fx))
            .collect();
        Ok((page, total))
    }

    /// One product with the tenant's price.
    pub async fn priced_product(
        &self,
        tenant: &TenantId,
        id: &ProductId,
    ) -> Result<Option<PricedProduct>, ServiceError> {
        let Some(product) = self.product(id).await? else {
            return Ok(None);
        };
        let rules = self.cached_pricing(tenant).await?;
        let fx = self.current_fx().await?;
        Ok(Some(price_product(product, rules.as_deref(), &fx)))
    }
}

/// Prices one product; see [`PricedProduct`].
fn price_product(product: Product, rules: Option<&PricingRules>, fx: &FxTable) -> PricedProduct {
    let priced = price_of(&product, rules, fx);
    PricedProduct {
        cost_converted: priced.cost_converted,
        price: priced.price,
        converted: priced.converted,
        product,
    }
}

/// What the tenant's rules (or, without rules, the USD conversion) make of
/// one catalogue product's cost.
pub(crate) fn price_of(
    product: &Product,
    rules: Option<&PricingRules>,
    fx: &FxTable,
) -> PricedCost {
    let context = PriceContext {
        offer_id: None,
        provider: product.id.provider,
        countries: &product.countries,
    };
    price_cost(product.price, &context, rules, fx)
}

/// One cost as a tenant sees it (see [`PricedProduct`] for the fields).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PricedCost {
    pub(crate) cost_converted: Option<Money>,
    pub(crate) price: Money,
    pub(crate) converted: bool,
    pub(crate) sort_key: Converted,
}

/// The currency a tenant's prices are compared in: its pricing currency,
/// or USD without rules.
pub(crate) fn comparison_currency(rules: Option<&PricingRules>) -> Currency {
    rules.map_or(Currency::USD, |rules| rules.currency)
}

/// Prices one cost in `context` with the tenant's rules: at cost (and
/// compared in USD) without rules; unconverted and marked when no FX rate
/// converts it.
pub(crate) fn price_cost(
    cost: Money,
    context: &PriceContext<'_>,
    rules: Option<&PricingRules>,
    fx: &FxTable,
) -> PricedCost {
    let Some(rules) = rules else {
        let converted = fx.convert(cost, Currency::USD);
        return PricedCost {
            cost_converted: converted.known(),
            price: cost,
            converted: converted.known().is_some(),
            sort_key: converted,
        };
    };
    match rules.quote(context, cost, fx) {
        Ok(quote) => PricedCost {
            cost_converted: Some(quote.cost_converted),
            price: quote.price,
            converted: true,
            sort_key: Converted::Known(quote.price),
        },
        Err(_) => PricedCost {
            cost_converted: None,
            price: cost,
            converted: false,
            sort_key: Converted::NoRate(cost),
        },
    }
}

/// Orders by converted price (`descending` reverses it), unconvertible
/// prices after every converted one, grouped by currency: what price sorts
/// of products and offers share.
pub(crate) fn compare_prices(a: Converted, b: Converted, descending: bool) -> std::cmp::Ordering {
    match (a, b) {
        (Converted::Known(x), Converted::Known(y)) if descending => y.amount.cmp(&x.amount),
        (Converted::NoRate(x), Converted::NoRate(y)) if descending => {
            (x.currency.code(), y.amount).cmp(&(y.currency.code(), x.amount))
        }
        (x, y) => compare_converted(x, y),
    }
}
