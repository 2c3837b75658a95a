//! The active catalogue in memory: built by one full read after each sync
//! (and at start), swapped in whole, and searched without a database round
//! trip. It answers exactly as the SQL search of the store does: the same
//! filters, the same order (ties broken by price, then id, byte-wise), the
//! same total.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};
use simgate_domain::entities::{ProductFilter, ProductSort};
use simgate_domain::orchestration::{Offer, group_offers};
use simgate_domain::{CountryCode, DataAllowance, Product, ProductId, ProviderId};

use crate::{ServiceError, Services};

mod price_order;

use price_order::PriceOrder;

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

/// The list a search starts from, the narrowest its filter allows: a
/// country has dozens of products, a provider thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Narrowing {
    Country(CountryCode),
    Provider(ProviderId),
    All,
}

impl Narrowing {
    fn of(filter: &ProductFilter) -> Self {
        match (filter.country, filter.provider) {
            (Some(country), _) => Self::Country(country),
            (None, Some(provider)) => Self::Provider(provider),
            (None, None) => Self::All,
        }
    }
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
    /// The orders by sell price computed on this snapshot, most recently
    /// used last; they go with the snapshot.
    price_orders: Mutex<Vec<Arc<PriceOrder>>>,
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
            price_orders: Mutex::default(),
        }
    }

    /// The index's lists of `narrowing`; `None` for a country or provider
    /// it has no product of.
    fn lists(&self, narrowing: Narrowing) -> Option<&Sorted> {
        match narrowing {
            Narrowing::Country(country) => self.by_country.get(&country),
            Narrowing::Provider(provider) => self.by_provider.get(&provider),
            Narrowing::All => Some(&self.all),
        }
    }

    /// The page `filter` asks for out of `matches` (every match, in order),
    /// and the total. When the total can be read off the index, the walk
    /// stops once the page is full: a broad search no longer visits every
    /// product to count them.
    fn page_of<'a>(
        &self,
        matches: impl Iterator<Item = &'a Product>,
        filter: &ProductFilter,
    ) -> (Vec<&'a Product>, u64) {
        let offset = usize::try_from(filter.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
        let known_total = self.counted(filter);
        let mut page = Vec::with_capacity(limit.min(100));
        let mut walked: u64 = 0;
        for (n, product) in matches.enumerate() {
            if page.len() >= limit && known_total.is_some() {
                break;
            }
            if n >= offset && page.len() < limit {
                page.push(product);
            }
            walked += 1;
        }
        (page, known_total.unwrap_or(walked))
    }

    /// How many products `filter` matches, read off the sorted lists when
    /// it filters on data at most (besides one country or provider): the
    /// most-data-first order puts every product with at least so much data
    /// (or unlimited) before the rest, so a binary search counts them.
    /// `None` when other filters need the walk.
    fn counted(&self, filter: &ProductFilter) -> Option<u64> {
        let both_places = filter.country.is_some() && filter.provider.is_some();
        if both_places || filter.currency.is_some() || filter.max_price_micros.is_some() {
            return None;
        }
        let by_data = self
            .lists(Narrowing::of(filter))
            .map_or(&[][..], |sorted| sorted.get(ProductSort::DataDesc));
        let count = match filter.min_data_mb {
            None => by_data.len(),
            Some(min) => by_data
                .partition_point(|&i| self.entries[i as usize].data_mb.is_none_or(|mb| mb >= min)),
        };
        u64::try_from(count).ok()
    }

    /// Every product matching `filter` with its id as text, in the sort
    /// order (limit and offset aside).
    pub(crate) fn matching<'a>(
        &'a self,
        filter: &'a ProductFilter,
    ) -> impl Iterator<Item = (&'a str, &'a Product)> + 'a {
        self.lists(Narrowing::of(filter))
            .map_or(&[][..], |sorted| sorted.get(filter.sort))
            .iter()
            .map(|&i| &self.entries[i as usize])
            .filter(move |entry| accepts(entry, filter))
            .map(|entry| (entry.id.as_str(), &entry.product))
    }

    /// One page of the products matching `filter`, and how many match.
    pub(crate) fn search(&self, filter: &ProductFilter) -> (Vec<Product>, u64) {
        let (page, total) = self.page_of(self.matching(filter).map(|(_, p)| p), filter);
        (page.into_iter().cloned().collect(), total)
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
    use simgate_domain::orchestration::{
        FxRate, FxTable, OverrideTarget, PricingOverride, PricingRules,
    };
    use simgate_domain::{Currency, Money};

    use crate::pricing::{PricedCost, compare_prices, price_of};

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

    /// A catalogue over three providers and four currencies, one of which
    /// no rate converts, with equal prices across providers.
    fn mixed_catalogue() -> Vec<Product> {
        let providers = ["esim-go", "sim-local", "telnyx"];
        let currencies = ["USD", "GBP", "EUR", "JPY"];
        let countries = [&["JP"][..], &["FR"], &["JP", "KR"], &["US"]];
        (0..240_i64)
            .map(|n| {
                let provider = providers[(n % 3) as usize];
                let currency = currencies[(n / 3 % 4) as usize];
                Product {
                    id: ProductId::parse(&format!("{provider}:p{:03}", 239 - n)).unwrap(),
                    name: format!("p{n}"),
                    countries: countries[(n / 12 % 4) as usize]
                        .iter()
                        .map(|c| CountryCode::parse(c).unwrap())
                        .collect(),
                    data: DataAllowance::Limited {
                        mb: (n % 7 + 1) as u64 * 1000,
                    },
                    validity_days: 7,
                    // Few distinct amounts, so ties are common.
                    price: Money::from_micros(
                        (n % 9 + 1) * 1_000_000,
                        Currency::parse(currency).unwrap(),
                    ),
                }
            })
            .collect()
    }

    /// The price sort as computed per request before orders were cached:
    /// every match priced, then sorted by converted price and id.
    fn sorted_per_request(
        index: &CatalogueIndex,
        filter: &ProductFilter,
        rules: Option<&PricingRules>,
        fx: &FxTable,
        descending: bool,
    ) -> (Vec<String>, u64) {
        let everything = ProductFilter {
            limit: u32::MAX,
            offset: 0,
            ..filter.clone()
        };
        let mut keyed: Vec<(PricedCost, String)> = index
            .search(&everything)
            .0
            .iter()
            .map(|p| (price_of(p, rules, fx), p.id.to_string()))
            .collect();
        let total = keyed.len() as u64;
        keyed.sort_by(|(a, a_id), (b, b_id)| {
            compare_prices(a.sort_key, b.sort_key, descending).then_with(|| a_id.cmp(b_id))
        });
        let page = keyed
            .into_iter()
            .skip(filter.offset as usize)
            .take(filter.limit as usize)
            .map(|(_, id)| id)
            .collect();
        (page, total)
    }

    #[test]
    fn totals_read_off_the_index_equal_the_matches_walked() {
        let index = CatalogueIndex::build(Vec::new(), mixed_catalogue());
        let countries = [None, Some("JP"), Some("KR"), Some("DE")];
        let providers = [None, Some(ProviderId::SimLocal)];
        let minimums = [None, Some(0), Some(3000), Some(7000), Some(8000)];
        let currencies = [None, Some("GBP")];
        let mut checked = 0;
        for country in countries {
            for provider in providers {
                for min_data_mb in minimums {
                    for currency in currencies {
                        for sort in SORTS {
                            let filter = ProductFilter {
                                country: country.map(|c| CountryCode::parse(c).unwrap()),
                                provider,
                                min_data_mb,
                                currency: currency.map(|c| Currency::parse(c).unwrap()),
                                sort,
                                limit: 2,
                                offset: 1,
                                ..ProductFilter::default()
                            };
                            let walked = index.matching(&filter).count();
                            let (page, total) = index.search(&filter);
                            assert_eq!(total, walked as u64, "{filter:?}");
                            assert_eq!(page.len(), walked.saturating_sub(1).min(2), "{filter:?}");
                            checked += usize::from(walked > 3);
                        }
                    }
                }
            }
        }
        assert!(
            checked > 50,
            "too few filters matched more than a page: {checked}"
        );
    }

    #[test]
    fn cached_price_orders_page_exactly_like_sorting_each_request() {
        let index = CatalogueIndex::build(Vec::new(), mixed_catalogue());
        // Decimals from millionths: the service has no decimal crate itself.
        let decimal = |micros: i64| Money::from_micros(micros, Currency::USD).amount;
        let mut fx = FxTable::new();
        for (base, quote, rate) in [("GBP", "USD", 1_250_000), ("USD", "EUR", 920_000)] {
            fx.set(FxRate {
                base: Currency::parse(base).unwrap(),
                quote: Currency::parse(quote).unwrap(),
                rate: decimal(rate),
            })
            .unwrap();
        }
        let fx = Arc::new(fx);
        let markup = |target, percent: i64| PricingOverride {
            target,
            markup_percent: Some(decimal(percent * 1_000_000)),
            markup_fixed: None,
            round_to: None,
        };
        let in_eur = PricingRules {
            currency: Currency::parse("EUR").unwrap(),
            markup_percent: decimal(10_000_000),
            markup_fixed: decimal(500_000),
            round_to: None,
            overrides: vec![
                markup(OverrideTarget::Provider(ProviderId::SimLocal), 40),
                markup(
                    OverrideTarget::Country(CountryCode::parse("JP").unwrap()),
                    25,
                ),
            ],
        };
        let in_usd = PricingRules {
            currency: Currency::USD,
            ..in_eur.clone()
        };
        let filters = [
            ProductFilter::default(),
            ProductFilter {
                country: Some(CountryCode::parse("JP").unwrap()),
                ..ProductFilter::default()
            },
            ProductFilter {
                provider: Some(ProviderId::SimLocal),
                min_data_mb: Some(3000),
                ..ProductFilter::default()
            },
            ProductFilter {
                min_data_mb: Some(4000),
                offset: 7,
                limit: 20,
                ..ProductFilter::default()
            },
            ProductFilter {
                country: Some(CountryCode::parse("KR").unwrap()),
                currency: Some(Currency::parse("GBP").unwrap()),
                max_price_micros: Some(6_000_000),
                ..ProductFilter::default()
            },
            ProductFilter {
                offset: 1000,
                ..ProductFilter::default()
            },
        ];
        for rules in [None, Some(&in_eur), Some(&in_usd)] {
            for descending in [false, true] {
                let order = index.price_order(rules, &fx, descending);
                for filter in &filters {
                    let filter = ProductFilter {
                        sort: if descending {
                            ProductSort::PriceDesc
                        } else {
                            ProductSort::PriceAsc
                        },
                        // Every page, unless the filter sets one.
                        limit: if filter.limit == 0 { 500 } else { filter.limit },
                        ..filter.clone()
                    };
                    let (page, total) = index.search_by_price(&order, &filter);
                    let page: Vec<String> = page.iter().map(|p| p.id.to_string()).collect();
                    assert_eq!(
                        (page, total),
                        sorted_per_request(&index, &filter, rules, &fx, descending),
                        "{rules:?} {filter:?}"
                    );
                }
            }
        }
        // Equal rules share an order; a new FX table drops the old ones.
        let again = index.price_order(Some(&in_eur.clone()), &fx, false);
        assert!(Arc::ptr_eq(
            &again,
            &index.price_order(Some(&in_eur), &fx, false)
        ));
        assert_eq!(index.price_orders.lock().unwrap().len(), 6);
        let moved = Arc::new(FxTable::new());
        let fresh = index.price_order(Some(&in_eur), &moved, false);
        assert!(!Arc::ptr_eq(&again, &fresh));
        assert_eq!(index.price_orders.lock().unwrap().len(), 1);
    }
}
