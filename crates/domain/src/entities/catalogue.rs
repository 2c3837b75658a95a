//! How the local catalogue is searched.

use crate::{CountryCode, Currency, ProviderId};

/// How search results are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProductSort {
    /// Cheapest first.
    #[default]
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Most data first (unlimited first of all).
    DataDesc,
    /// Longest validity first.
    ValidityDesc,
}

/// A catalogue search.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub provider: Option<ProviderId>,
    pub country: Option<CountryCode>,
    /// Unlimited products satisfy any minimum.
    pub min_data_mb: Option<u64>,
    pub max_price_micros: Option<i64>,
    pub currency: Option<Currency>,
    pub sort: ProductSort,
    pub limit: u32,
    pub offset: u32,
}
