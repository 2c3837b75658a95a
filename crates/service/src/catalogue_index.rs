//! The active catalogue in memory: built by one full read after each sync
//! (and at start), swapped in whole, and searched without a database round
//! trip. It answers exactly as the SQL search of the store does: the same
//! filters, the same order (ties broken by price, then id, byte-wise), the
//! same total.

use std::cmp::Ordering;
use std::collections::HashMap;

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};
use simgate_domain::entities::{ProductFilter, ProductSort};
use simgate_domain::orchestration::{Offer, group_offers};
use simgate_domain::{CountryCode, DataAllowance, Product, ProductId, ProviderId};

use crate::{ServiceError, Services};

/// This instance's catalogue index and what keeps it current.
#[derive(Debug, Default)]
pub(crate) struct CatalogueCache {
    /// The current snapshot; `None` until the first build, when searches
    /// go to the store. Readers load it without waiting on a rebuild.
    current: ArcSwapOption<CatalogueIndex>,
    /// Held while a snapshot is rebuilt: two rebuilds one after the other
    /// read the catalogue in that order, so an older read never replaces
    /// a newer one.
    rebuilding: tokio::sync::Mutex<()>,
}

impl Services {
    /// The in-memory catalogue, once built.
    pub(crate) fn catalogue_index(&self) -> Option<Arc<CatalogueIndex>> {
        self.catalogue.current.load_full()
    }

    /// Rebuilds the in-memory catalogue when the stored one changed since
    /// it was read (a sync on this instance or another): one cheap read of
    /// the sync times, and one full read of the catalogue only when they
    /// moved. Returns whether it rebuilt.
    pub async fn refresh_catalogue_index(&self) -> Result<bool, ServiceError> {
        let _turn = self.catalogue.rebuilding.lock().await;
        // The version is read first: a sync committed in between makes the
        // snapshot newer than its version, and the next check reads again.
        let version = self.store.catalogue_version().await?;
        let current = self.catalogue.current.load();
        if current
            .as_ref()
            .is_some_and(|index| index.version == version)
        {
            return Ok(false);
        }
        let everything = ProductFilter {
            limit: u32::MAX,
            ..ProductFilter::default()
        };
        let (products, _) = self.store.search_products(&everything).await?;
        let index = CatalogueIndex::build(version, products);
        self.catalogue.current.store(Some(Arc::new(index)));
        Ok(true)
    }
}

/// What a catalogue was read at: each provider's last sync time and size.
/// Another instance's sync changes it.
pub(crate) type CatalogueVersion = Vec<(ProviderId, DateTime<Utc>, u64)>;

/// Every sort a search can ask for.
const SORTS: [ProductSort; 4] = [
    ProductSort::PriceAsc,
    ProductSort::PriceDesc,
    ProductSort::DataDesc,
    ProductSort::ValidityDesc,
];

/// One product with what its searches compare, computed once.
#[derive(Debug)]
struct Entry {
    product: Product,
    id: String,
    /// Its countries, each once.
    countries: Vec<CountryCode>,
    price_micros: i64,
    /// `None`: unlimited.
    data_mb: Option<u64>,
}

/// Positions in [`CatalogueIndex::entries`], in the order of each sort.
#[derive(Debug, Default)]
struct Sorted {
    price_asc: Vec<u32>,
    price_desc: Vec<u32>,
    data_desc: Vec<u32>,
    validity_desc: Vec<u32>,
}

impl Sorted {
    fn get(&self, sort: ProductSort) -> &[u32] {
        match sort {
            ProductSort::PriceAsc => &self.price_asc,
            ProductSort::PriceDesc => &self.price_desc,
            ProductSort::DataDesc => &self.data_desc,
            ProductSort::ValidityDesc => &self.validity_desc,
        }
    }

    fn get_mut(&mut self, sort: ProductSort) -> &mut Vec<u32> {
        match sort {
            ProductSort::PriceAsc => &mut self.price_asc,
            ProductSort::PriceDesc => &mut self.price_desc,
            ProductSort::DataDesc => &mut self.data_desc,
            ProductSort::ValidityDesc => &mut self.validity_desc,
        }
    }
}

/// An immutable snapshot of the active catalogue, indexed by id, country
/// and provider, with each sort order precomputed per index.
#[derive(Debug)]
pub(crate) struct CatalogueIndex {
    /// The stored catalogue's version this snapshot was read at.
    pub(crate) version: CatalogueVersion,
    entries: Vec<Entry>,
    by_id: HashMap<String, u32>,
    all: Sorted,
    by_country: HashMap<CountryCode, Sorted>,
    by_provider: HashMap<ProviderId, Sorted>,
    /// The catalogue grouped into offers, sorted by id: grouped once per
    /// snapshot rather than on every offer search and offer order.
    offers: Vec<Offer>,
}

impl CatalogueIndex {
    /// Indexes `products` (the whole active catalogue) read at `version`.
    /// Products whose price has no exact micro amount cannot have been
    /// stored, so none is lost in practice; one would be left out.
    pub(crate) fn build(version: CatalogueVersion, products: Vec<Product>) -> Self {
        let entries: Vec<Entry> = products
            .into_iter()
            .filter_map(|product| {
                let price_micros = product.price.to_micros().ok()?;
                let data_mb = match product.data {
                    DataAllowance::Limited { mb } => Some(mb),
                    DataAllowance::Unlimited => None,
                };
                let mut countries = product.countries.clone();
                countries.sort_unstable();
                countries.dedup();
                Some(Entry {
                    id: product.id.to_string(),
                    countries,
                    product,
                    price_micros,
                    data_mb,
                })
            })
            .collect();
        let positions = 0..u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let sorted_by = |compare: fn(&Entry, &Entry) -> Ordering| {
            let mut list: Vec<u32> = positions.clone().collect();
            list.sort_unstable_by(|&a, &b| compare(&entries[a as usize], &entries[b as usize]));
            list
        };
        let all = Sorted {
            price_asc: sorted_by(|a, b| (a.price_micros, &a.id).cmp(&(b.price_micros, &b.id))),
            price_desc: sorted_by(|a, b| {
                b.price_micros
                    .cmp(&a.price_micros)
                    .then_with(|| a.id.cmp(&b.id))
            }),
            // Unlimited first, then most data; ties cheapest first.
            data_desc: sorted_by(|a, b| {
                let data = match (a.data_mb, b.data_mb) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => y.cmp(&x),
                };
                data.then_with(|| (a.price_micros, &a.id).cmp(&(b.price_micros, &b.id)))
            }),
            validity_desc: sorted_by(|a, b| {
                b.product
                    .validity_days
                    .cmp(&a.product.validity_days)
                    .then_with(|| (a.price_micros, &a.id).cmp(&(b.price_micros, &b.id)))
            }),
        };
        // Walking each global order once keeps every narrower list in it.
        let mut by_country: HashMap<CountryCode, Sorted> = HashMap::new();
        let mut by_provider: HashMap<ProviderId, Sorted> = HashMap::new();
        for sort in SORTS {
            for &i in all.get(sort) {
                let entry = &entries[i as usize];
                for country in &entry.countries {
                    by_country
                        .entry(*country)
                        .or_default()
                        .get_mut(sort)
                        .push(i);
                }
                by_provider
                    .entry(entry.product.id.provider)
                    .or_default()
                    .get_mut(sort)
                    .push(i);
            }
        }
        let by_id = entries
            .iter()
            .zip(positions)
            .map(|(entry, i)| (entry.id.clone(), i))
            .collect();
        let offers = group_offers(entries.iter().map(|entry| &entry.product));
        Self {
            version,
            entries,
            by_id,
            all,
            by_country,
            by_provider,
            offers,
        }
    }

    /// Every product matching `filter` with its id as text, in the sort
    /// order (limit and offset aside).
    pub(crate) fn matching<'a>(
        &'a self,
        filter: &'a ProductFilter,
    ) -> impl Iterator<Item = (&'a str, &'a Product)> + 'a {
        // Start from the narrowest list: a country has dozens of products,
        // a provider thousands.
        let base = match (filter.country, filter.provider) {
            (Some(country), _) => self.by_country.get(&country),
            (None, Some(provider)) => self.by_provider.get(&provider),
            (None, None) => Some(&self.all),
        };
        base.map_or(&[][..], |sorted| sorted.get(filter.sort))
            .iter()
            .map(|&i| &self.entries[i as usize])
            .filter(move |entry| accepts(entry, filter))
            .map(|entry| (entry.id.as_str(), &entry.product))
    }

    /// One page of the products matching `filter`, and how many match.
    pub(crate) fn search(&self, filter: &ProductFilter) -> (Vec<Product>, u64) {
        let offset = usize::try_from(filter.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
        let mut page = Vec::with_capacity(limit.min(100));
        let mut total: u64 = 0;
        for (n, (_, product)) in self.matching(filter).enumerate() {
            if n >= offset && page.len() < limit {
                page.push(product.clone());
            }
            total += 1;
        }
        (page, total)
    }

    /// When a provider's catalogue in this snapshot was synced, and how
    /// many products it had then.
    pub(crate) fn last_sync(&self, provider: ProviderId) -> Option<(DateTime<Utc>, u64)> {
        self.version
            .iter()
            .find(|(synced, _, _)| *synced == provider)
            .map(|&(_, at, products)| (at, products))
    }

    /// The offers, sorted by id; with a country, those whose products
    /// cover it (every product of an offer covers the same countries).
    pub(crate) fn offers(&self, country: Option<CountryCode>) -> Vec<Offer> {
        self.offers
            .iter()
            .filter(|offer| country.is_none_or(|c| offer.key.countries.contains(&c)))
            .cloned()
            .collect()
    }

    /// An active product by id.
    pub(crate) fn product(&self, id: &ProductId) -> Option<Product> {
        self.by_id
            .get(&id.to_string())
            .map(|&i| self.entries[i as usize].product.clone())
    }
}

/// Whether `entry` passes the filters other than the list it was taken from
/// (checking that one again is cheap and keeps this the whole predicate).
fn accepts(entry: &Entry, filter: &ProductFilter) -> bool {
    filter
        .provider
        .is_none_or(|provider| entry.product.id.provider == provider)
        && filter
            .country
            .is_none_or(|country| entry.countries.contains(&country))
        && filter
            .currency
            .is_none_or(|currency| entry.product.price.currency == currency)
        && filter
            .min_data_mb
            .is_none_or(|min| entry.data_mb.is_none_or(|mb| mb >= min))
        && filter
            .max_price_micros
            .is_none_or(|max| entry.price_micros <= max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use simgate_domain::{Currency, Money};

    fn product(sku: &str, countries: &[&str], mb: Option<u64>, days: u32, micros: i64) -> Product {
        Product {
            id: ProductId::parse(&format!("esim-go:{sku}")).unwrap(),
            name: sku.to_owned(),
            countries: countries
                .iter()
                .map(|c| CountryCode::parse(c).unwrap())
                .collect(),
            data: mb.map_or(DataAllowance::Unlimited, |mb| DataAllowance::Limited { mb }),
            validity_days: days,
            price: Money::from_micros(micros, Currency::parse("USD").unwrap()),
        }
    }

    fn skus(products: &[Product]) -> Vec<&str> {
        products.iter().map(|p| p.id.sku.as_str()).collect()
    }

    #[test]
    fn sorts_break_ties_like_the_sql_and_pages_keep_the_total() {
        let index = CatalogueIndex::build(
            Vec::new(),
            vec![
                product("b", &["JP"], Some(1000), 7, 5_000_000),
                product("a", &["JP", "FR"], Some(1000), 7, 5_000_000),
                product("u", &["JP"], None, 30, 9_000_000),
                product("c", &["FR"], Some(5000), 30, 1_000_000),
            ],
        );
        let filter = |sort, country: Option<&str>| ProductFilter {
            country: country.map(|c| CountryCode::parse(c).unwrap()),
            sort,
            limit: 10,
            ..ProductFilter::default()
        };
        let search = |f: &ProductFilter| index.search(f);
        assert_eq!(
            skus(&search(&filter(ProductSort::PriceAsc, None)).0),
            ["c", "a", "b", "u"]
        );
        assert_eq!(
            skus(&search(&filter(ProductSort::PriceDesc, None)).0),
            ["u", "a", "b", "c"]
        );
        assert_eq!(
            skus(&search(&filter(ProductSort::DataDesc, None)).0),
            ["u", "c", "a", "b"]
        );
        assert_eq!(
            skus(&search(&filter(ProductSort::ValidityDesc, Some("JP"))).0),
            ["u", "a", "b"]
        );
        let page = search(&ProductFilter {
            offset: 1,
            limit: 1,
            min_data_mb: Some(2000),
            ..filter(ProductSort::PriceAsc, None)
        });
        assert_eq!((skus(&page.0), page.1), (vec!["u"], 2));
        assert!(
            index
                .product(&ProductId::parse("esim-go:zz").unwrap())
                .is_none()
        );
        assert_eq!(
            index
                .product(&ProductId::parse("esim-go:a").unwrap())
                .map(|p| p.name),
            Some("a".to_owned())
        );
    }
}
