//! Price orders of a catalogue snapshot: the whole catalogue ordered by one
//! pricing's sell price (rules and FX table), computed once per snapshot
//! and pricing, and the searches that walk it. Sell prices depend on the
//! tenant, so unlike the other sorts they cannot be precomputed at build.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use simgate_domain::Product;
use simgate_domain::entities::{ProductFilter, ProductSort};
use simgate_domain::orchestration::{FxTable, PricingRules};

use super::{CatalogueIndex, Narrowing, Sorted, accepts};
use crate::pricing::{compare_prices, price_of};

/// Most price orders one snapshot keeps (each two `u32` per product, about
/// 200 KB at 25,000 products). Tenants with equal rules share one; past the
/// bound the least recently used goes.
const MAX_PRICE_ORDERS: usize = 16;

/// The whole snapshot ordered by one pricing's sell price, as a price sort
/// orders it (converted prices first, then unconvertible ones grouped by
/// currency; ties by id), computed once for that pricing.
#[derive(Debug)]
pub(crate) struct PriceOrder {
    rules: Option<PricingRules>,
    fx: Arc<FxTable>,
    descending: bool,
    /// Filled by the first search that needs it; others wait for it rather
    /// than sorting the catalogue again.
    sorted: OnceLock<Ranked>,
}

#[derive(Debug)]
struct Ranked {
    /// Positions in [`CatalogueIndex::entries`], in price order.
    order: Vec<u32>,
    /// Each entry's place in `order`.
    rank: Vec<u32>,
    /// Each country's and provider's entries in price order, filled by the
    /// first search narrowed to it: later ones walk that list instead of
    /// ranking and sorting it again on every request.
    narrowed: HashMap<Narrowing, OnceLock<Vec<u32>>>,
}

impl Ranked {
    /// The entries of `narrowing` (`sorted`, its lists in the index) in
    /// this price order, computed once; empty when the index has no such
    /// country or provider.
    fn narrowed<'r>(&'r self, narrowing: Narrowing, sorted: Option<&Sorted>) -> &'r [u32] {
        if narrowing == Narrowing::All {
            return &self.order;
        }
        let (Some(cached), Some(sorted)) = (self.narrowed.get(&narrowing), sorted) else {
            return &[];
        };
        cached.get_or_init(|| {
            let mut places: Vec<u32> = sorted
                .get(ProductSort::PriceAsc)
                .iter()
                .map(|&i| self.rank[i as usize])
                .collect();
            places.sort_unstable();
            places
                .into_iter()
                .map(|place| self.order[place as usize])
                .collect()
        })
    }
}

impl PriceOrder {
    /// Whether this order is the one of `rules` under `fx`.
    fn is_for(&self, rules: Option<&PricingRules>, fx: &Arc<FxTable>, descending: bool) -> bool {
        self.descending == descending
            && self.rules.as_ref() == rules
            && (Arc::ptr_eq(&self.fx, fx) || *self.fx == **fx)
    }
}

impl CatalogueIndex {
    /// The snapshot's order by sell price under `rules` (`None`: at cost,
    /// compared in USD) and `fx`, computed on first use. Orders computed
    /// under another FX table are dropped here.
    pub(crate) fn price_order(
        &self,
        rules: Option<&PricingRules>,
        fx: &Arc<FxTable>,
        descending: bool,
    ) -> Arc<PriceOrder> {
        let order = {
            let mut orders = self
                .price_orders
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(at) = orders
                .iter()
                .position(|order| order.is_for(rules, fx, descending))
            {
                let order = orders.remove(at);
                orders.push(order.clone());
                order
            } else {
                orders.retain(|order| Arc::ptr_eq(&order.fx, fx) || *order.fx == **fx);
                if orders.len() >= MAX_PRICE_ORDERS {
                    orders.remove(0);
                }
                let order = Arc::new(PriceOrder {
                    rules: rules.cloned(),
                    fx: fx.clone(),
                    descending,
                    sorted: OnceLock::new(),
                });
                orders.push(order.clone());
                order
            }
        };
        order.sorted.get_or_init(|| self.rank(&order));
        order
    }

    /// Sorts the whole snapshot by `order`'s sell price: each price
    /// computed once, ties by id as the store's search breaks them.
    fn rank(&self, order: &PriceOrder) -> Ranked {
        let keys: Vec<_> = self
            .entries
            .iter()
            .map(|entry| price_of(&entry.product, order.rules.as_ref(), &order.fx).sort_key)
            .collect();
        let mut sorted: Vec<u32> =
            (0..u32::try_from(self.entries.len()).unwrap_or(u32::MAX)).collect();
        sorted.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            compare_prices(keys[a], keys[b], order.descending)
                .then_with(|| self.entries[a].id.cmp(&self.entries[b].id))
        });
        let mut rank = vec![0; sorted.len()];
        for (place, &i) in (0..).zip(&sorted) {
            rank[i as usize] = place;
        }
        Ranked {
            order: sorted,
            rank,
            narrowed: self
                .by_country
                .keys()
                .map(|&c| Narrowing::Country(c))
                .chain(self.by_provider.keys().map(|&p| Narrowing::Provider(p)))
                .map(|narrowing| (narrowing, OnceLock::new()))
                .collect(),
        }
    }

    /// One page of the products matching `filter` in `order` (its sort
    /// field aside), and how many match. Without a country or provider the
    /// precomputed order is walked; with one, that country's or provider's
    /// products in this order (computed on its first search) are.
    pub(crate) fn search_by_price<'a>(
        &'a self,
        order: &PriceOrder,
        filter: &ProductFilter,
    ) -> (Vec<&'a Product>, u64) {
        let ranked = order.sorted.get_or_init(|| self.rank(order));
        let narrowing = Narrowing::of(filter);
        let matches = ranked
            .narrowed(narrowing, self.lists(narrowing))
            .iter()
            .map(|&i| &self.entries[i as usize])
            .filter(|entry| accepts(entry, filter))
            .map(|entry| &entry.product);
        self.page_of(matches, filter)
    }
}
