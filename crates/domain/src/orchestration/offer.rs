//! Offers: equivalent products from different providers grouped under one id.
//!
//! Two products are equivalent when a traveller could not tell them apart:
//! the same set of countries, the same data and the same validity. The
//! equivalence key is canonical text, and the offer id is a short hash of it,
//! so the id is the same on every catalogue sync and on every instance.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{CountryCode, DataAllowance, Money, Product, ProductId, ProviderId};

/// The data amount, in MB, that one product states and the key compares.
///
/// Providers count a gigabyte either as 1000 MB or as 1024 MB, so "1 GB" is
/// sold as `1000` by one and `1024` by another. The tolerance rule: an amount
/// that is a multiple of 256 MB and *not* a whole number of decimal
/// gigabytes is read as binary and converted to its decimal equivalent
/// (`mb / 256 * 250`, exact). So 1024 → 1000, 512 → 500, 1536 → 1500,
/// 3072 → 3000, 51200 → 50000, while 1000, 2000, 32000 or 100 stay as they
/// are. Amounts that fit neither convention (say 1023) are kept exactly,
/// because guessing beyond the two conventions would merge different
/// products.
pub fn canonical_data_mb(mb: u64) -> u64 {
    if mb.is_multiple_of(256) && !mb.is_multiple_of(1000) {
        mb / 256 * 250
    } else {
        mb
    }
}

/// What makes products equivalent: the sorted set of countries, the
/// canonical data amount (see [`canonical_data_mb`]) or unlimited, and the
/// validity in days.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfferKey {
    /// Sorted and without duplicates, so the order a provider lists
    /// countries in does not matter.
    pub countries: Vec<CountryCode>,
    /// Canonical MB, or `None` for unlimited (never equal to any cap).
    pub data_mb: Option<u64>,
    /// Validity in days from activation.
    pub validity_days: u32,
}

impl OfferKey {
    /// The key of one product.
    pub fn of(product: &Product) -> Self {
        let mut countries = product.countries.clone();
        countries.sort_unstable();
        countries.dedup();
        Self {
            countries,
            data_mb: product.data.mb().map(canonical_data_mb),
            validity_days: product.validity_days,
        }
    }

    /// The data allowance the offer shows: the canonical amount.
    pub fn data(&self) -> DataAllowance {
        match self.data_mb {
            Some(mb) => DataAllowance::Limited { mb },
            None => DataAllowance::Unlimited,
        }
    }

    /// The canonical text the id is hashed from, e.g.
    /// `v1|c=JP,KR|d=1000|v=7` or `v1|c=FR|d=unlimited|v=30`. The `v1`
    /// prefix lets a future change of the rule mint new ids on purpose
    /// instead of silently.
    pub fn canonical(&self) -> String {
        let countries: Vec<&str> = self.countries.iter().map(CountryCode::as_str).collect();
        let data = match self.data_mb {
            Some(mb) => mb.to_string(),
            None => "unlimited".to_owned(),
        };
        format!(
            "v1|c={}|d={}|v={}",
            countries.join(","),
            data,
            self.validity_days
        )
    }

    /// The stable id: `off_` and the first 16 hex digits (64 bits) of the
    /// SHA-256 of [`OfferKey::canonical`]. 64 bits keep collisions out of
    /// reach for any catalogue size simgate will see while staying short
    /// enough to read in a URL.
    pub fn id(&self) -> OfferId {
        let digest = Sha256::digest(self.canonical().as_bytes());
        let mut id = String::with_capacity(4 + 16);
        id.push_str("off_");
        for byte in digest.iter().take(8) {
            id.push(hex_digit(byte >> 4));
            id.push(hex_digit(byte & 0x0f));
        }
        OfferId(id)
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from(if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + nibble - 10
    })
}

/// An offer id, `off_` followed by 16 lower-case hex digits. Derived, never
/// assigned, so it needs no storage to stay stable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OfferId(String);

impl OfferId {
    /// Parses an id a client sent, refusing anything not of the derived shape
    /// so a typo is a clear error rather than "offer not found".
    pub fn parse(raw: &str) -> Result<Self, InvalidOfferId> {
        let hex = raw
            .strip_prefix("off_")
            .ok_or_else(|| InvalidOfferId(raw.to_owned()))?;
        if hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidOfferId(raw.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A string that is not an offer id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an offer id of the form off_<16 hex digits>")]
pub struct InvalidOfferId(pub String);

impl InvalidOfferId {
    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        "invalid_offer_id"
    }
}

impl TryFrom<String> for OfferId {
    type Error = InvalidOfferId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<OfferId> for String {
    fn from(value: OfferId) -> Self {
        value.0
    }
}

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One provider's product that can fulfil an offer.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferCandidate {
    /// Who sells it.
    pub provider: ProviderId,
    /// The product to order from that provider.
    pub product_id: ProductId,
    /// The provider's wholesale price, in the provider's currency.
    pub cost: Money,
}

/// Equivalent products from any number of providers, under one stable id.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// Derived from `key`.
    pub id: OfferId,
    /// What every candidate has in common.
    pub key: OfferKey,
    /// Sorted by product id, so the list is the same on every sync.
    pub candidates: Vec<OfferCandidate>,
}

/// Groups products into offers. Offers come out sorted by id and candidates
/// by product id, so the result does not depend on the input order. A
/// product listed twice (same product id) appears once.
pub fn group_offers<'a>(products: impl IntoIterator<Item = &'a Product>) -> Vec<Offer> {
    let mut groups: BTreeMap<OfferKey, Vec<OfferCandidate>> = BTreeMap::new();
    for product in products {
        groups
            .entry(OfferKey::of(product))
            .or_default()
            .push(OfferCandidate {
                provider: product.id.provider,
                product_id: product.id.clone(),
                cost: product.price,
            });
    }
    let mut offers: Vec<Offer> = groups
        .into_iter()
        .map(|(key, mut candidates)| {
            // Cheapest first within one product id, so the dedup below keeps
            // the same entry whatever order the input had.
            candidates.sort_by(|a, b| {
                (a.product_id.to_string(), a.cost.amount)
                    .cmp(&(b.product_id.to_string(), b.cost.amount))
            });
            candidates.dedup_by(|later, kept| later.product_id == kept.product_id);
            Offer {
                id: key.id(),
                key,
                candidates,
            }
        })
        .collect();
    offers.sort_by(|a, b| a.id.cmp(&b.id));
    offers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn product(
        sku: &str,
        provider: ProviderId,
        countries: &[&str],
        data: DataAllowance,
        days: u32,
    ) -> Product {
        Product {
            id: ProductId::new(provider, sku),
            name: sku.to_owned(),
            countries: countries
                .iter()
                .map(|c| CountryCode::parse(c).unwrap())
                .collect(),
            data,
            validity_days: days,
            price: Money::new(Decimal::new(499, 2), Currency::parse("USD").unwrap()).unwrap(),
        }
    }

    fn mb(mb: u64) -> DataAllowance {
        DataAllowance::Limited { mb }
    }

    #[test]
    fn binary_and_decimal_gigabytes_meet() {
        for (binary, decimal) in [
            (1024, 1000),
            (512, 500),
            (1536, 1500),
            (3072, 3000),
            (5120, 5000),
            (10240, 10000),
            (20480, 20000),
            (51200, 50000),
            (256, 250),
        ] {
            assert_eq!(canonical_data_mb(binary), decimal, "{binary}");
            assert_eq!(canonical_data_mb(decimal), decimal, "{decimal}");
        }
        // Round decimal amounts that happen to be multiples of 256 stay.
        assert_eq!(canonical_data_mb(32000), 32000);
        assert_eq!(canonical_data_mb(128000), 128000);
        // Amounts of neither convention are not guessed at.
        assert_eq!(canonical_data_mb(1023), 1023);
        assert_eq!(canonical_data_mb(100), 100);
    }

    #[test]
    fn groups_equivalent_products_and_keeps_others_apart() {
        let products = [
            product("a", ProviderId::EsimGo, &["JP"], mb(1000), 7),
            product("b", ProviderId::EsimStory, &["jp"], mb(1024), 7),
            product("c", ProviderId::SimLocal, &["JP"], mb(1000), 30),
            product("d", ProviderId::SimLocal, &["JP", "KR"], mb(1000), 7),
            product("e", ProviderId::EsimGo, &["KR", "JP"], mb(1024), 7),
            product(
                "f",
                ProviderId::EsimGo,
                &["JP"],
                DataAllowance::Unlimited,
                7,
            ),
            product(
                "g",
                ProviderId::EsimStory,
                &["JP"],
                DataAllowance::Unlimited,
                7,
            ),
        ];
        let offers = group_offers(&products);
        assert_eq!(offers.len(), 4);
        let skus = |offer: &Offer| {
            offer
                .candidates
                .iter()
                .map(|c| c.product_id.sku.clone())
                .collect::<Vec<_>>()
        };
        let find = |sku: &str| {
            offers
                .iter()
                .find(|o| skus(o).contains(&sku.to_owned()))
                .unwrap()
        };
        assert_eq!(skus(find("a")), ["a", "b"]);
        assert_eq!(skus(find("c")), ["c"]);
        assert_eq!(skus(find("d")), ["e", "d"]);
        assert_eq!(skus(find("f")), ["f", "g"]);
        assert_eq!(find("a").key.data(), mb(1000));
        assert_eq!(find("f").key.data(), DataAllowance::Unlimited);
    }

    #[test]
    fn offer_id_is_pinned_and_parses() {
        let key = OfferKey::of(&product("a", ProviderId::EsimGo, &["JP"], mb(1024), 7));
        assert_eq!(key.canonical(), "v1|c=JP|d=1000|v=7");
        let id = key.id();
        // Pinned: changing the derivation would break every stored offer id.
        assert_eq!(id.as_str(), "off_58568aee5ebc815a");
        assert_eq!(OfferId::parse(id.as_str()).unwrap(), id);
        assert_eq!(
            id,
            OfferKey::of(&product("z", ProviderId::SimLocal, &["jp"], mb(1000), 7)).id()
        );
        for bad in [
            "off_",
            "off_XYZ",
            "offer_0123456789abcdef",
            "off_0123456789ABCDEF",
            "off_0123456789abcdef0",
        ] {
            assert_eq!(
                OfferId::parse(bad).unwrap_err().code(),
                "invalid_offer_id",
                "{bad}"
            );
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<OfferId>(&json).unwrap(), id);
    }

    fn arb_product() -> impl Strategy<Value = Product> {
        let providers = prop::sample::select(ProviderId::ALL.to_vec());
        let countries = prop::collection::vec(
            prop::sample::select(vec!["JP", "KR", "FR", "DE", "US"]),
            1..4,
        );
        let data = prop_oneof![
            Just(DataAllowance::Unlimited),
            prop::sample::select(vec![500u64, 512, 1000, 1024, 3000, 3072, 1023]).prop_map(mb),
        ];
        (
            0u32..1000,
            providers,
            countries,
            data,
            prop::sample::select(vec![7u32, 15, 30]),
        )
            .prop_map(|(sku, provider, countries, data, days)| {
                product(&sku.to_string(), provider, &countries, data, days)
            })
    }

    proptest! {
        #[test]
        fn grouping_ignores_input_order(mut products in prop::collection::vec(arb_product(), 0..20), seed in any::<u64>()) {
            let first = group_offers(&products);
            let len = products.len().max(1);
            products.rotate_left((seed as usize) % len);
            products.reverse();
            prop_assert_eq!(first, group_offers(&products));
        }

        #[test]
        fn every_candidate_shares_its_offer_key(products in prop::collection::vec(arb_product(), 0..20)) {
            let offers = group_offers(&products);
            let mut ids: Vec<&OfferId> = offers.iter().map(|o| &o.id).collect();
            ids.dedup();
            prop_assert_eq!(ids.len(), offers.len());
            for offer in &offers {
                prop_assert_eq!(&offer.id, &offer.key.id());
                for candidate in &offer.candidates {
                    prop_assert!(products
                        .iter()
                        .any(|p| p.id == candidate.product_id && OfferKey::of(p) == offer.key));
                }
            }
        }
    }
}
