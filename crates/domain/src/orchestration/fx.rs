//! Money across currencies: an operator-managed FX rate table.
//!
//! Rates are exact decimals set by the operator (`simgate fx set USD EUR
//! 0.92`); simgate never fetches them and never uses floats. An amount that
//! cannot be converted is returned as it was and marked, so a USD price is
//! never compared with a GBP price as if they were one currency.

use std::cmp::Ordering;
use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::MONEY_SCALE;
use crate::{Currency, Money};

/// One rate: one unit of `base` is worth `rate` units of `quote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FxRate {
    /// The currency converted from.
    pub base: Currency,
    /// The currency converted to.
    pub quote: Currency,
    /// Units of `quote` per unit of `base`; strictly positive.
    pub rate: Decimal,
}

/// Why a rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxError {
    /// Zero or negative rates would turn prices into nonsense.
    #[error("FX rate {base}/{quote} must be positive, got {rate}")]
    NonPositiveRate {
        base: Currency,
        quote: Currency,
        rate: Decimal,
    },
    /// A currency always converts to itself at 1.
    #[error("FX rate {0}/{0} cannot be set: a currency converts to itself at 1")]
    SameCurrency(Currency),
}

impl FxError {
    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NonPositiveRate { .. } => "invalid_fx_rate",
            Self::SameCurrency(_) => "invalid_fx_pair",
        }
    }
}

/// The result of a conversion: converted, or the original amount marked as
/// not convertible. Callers must show the second kind as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Converted {
    /// The amount in the target currency, rounded to [`MONEY_SCALE`] places.
    Known(Money),
    /// No rate leads from this amount's currency to the target: the amount
    /// unchanged, in its own currency.
    NoRate(Money),
}

impl Converted {
    /// The money to show: converted when known, the original otherwise.
    pub fn money(&self) -> Money {
        match self {
            Self::Known(money) | Self::NoRate(money) => *money,
        }
    }

    /// The converted money, or `None` when no rate was known.
    pub fn known(&self) -> Option<Money> {
        match self {
            Self::Known(money) => Some(*money),
            Self::NoRate(_) => None,
        }
    }
}

/// The operator's FX rates.
///
/// Conversion from A to B, in this order of preference:
/// 1. A == B: the amount unchanged;
/// 2. a rate A/B: `amount * rate`;
/// 3. a rate B/A: `amount / rate` (the inverse; operators set one direction
///    and expect the other to work);
/// 4. triangulation through exactly one intermediate currency C, each leg
///    direct or inverse as above. When several C fit, the one with the
///    lowest ISO code is used so the answer never depends on insertion or
///    hash order. Longer chains are refused: each leg compounds the
///    operator's rounding, and a table that needs them is better fixed by
///    setting the missing rate.
///
/// Setting a rate replaces the rate of the same pair, and also the inverse
/// pair, so the table never holds two disagreeing rates for one pair.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FxTable {
    rates: HashMap<(Currency, Currency), Decimal>,
}

impl FxTable {
    /// An empty table: only same-currency conversions succeed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) a rate.
    pub fn set(&mut self, rate: FxRate) -> Result<(), FxError> {
        if rate.base == rate.quote {
            return Err(FxError::SameCurrency(rate.base));
        }
        if rate.rate <= Decimal::ZERO {
            return Err(FxError::NonPositiveRate {
                base: rate.base,
                quote: rate.quote,
                rate: rate.rate,
            });
        }
        self.rates.remove(&(rate.quote, rate.base));
        self.rates.insert((rate.base, rate.quote), rate.rate);
        Ok(())
    }

    /// Every rate as set, sorted by pair, for listing and persisting.
    pub fn rates(&self) -> Vec<FxRate> {
        let mut rates: Vec<FxRate> = self
            .rates
            .iter()
            .map(|(&(base, quote), &rate)| FxRate { base, quote, rate })
            .collect();
        rates.sort_by(|a, b| (a.base.code(), a.quote.code()).cmp(&(b.base.code(), b.quote.code())));
        rates
    }

    /// The multiplier from `from` to `to`, following the rules above.
    pub fn rate(&self, from: Currency, to: Currency) -> Option<Decimal> {
        if from == to {
            return Some(Decimal::ONE);
        }
        if let Some(rate) = self.leg(from, to) {
            return Some(rate);
        }
        let mut best: Option<(Currency, Decimal)> = None;
        for &(base, quote) in self.rates.keys() {
            let pivot = if base == from {
                quote
            } else if quote == from {
                base
            } else {
                continue;
            };
            if pivot == to || best.is_some_and(|(current, _)| current.code() <= pivot.code()) {
                continue;
            }
            if let (Some(first), Some(second)) = (self.leg(from, pivot), self.leg(pivot, to))
                && let Some(rate) = first.checked_mul(second)
            {
                best = Some((pivot, rate));
            }
        }
        best.map(|(_, rate)| rate)
    }

    fn leg(&self, from: Currency, to: Currency) -> Option<Decimal> {
        if let Some(rate) = self.rates.get(&(from, to)) {
            return Some(*rate);
        }
        self.rates
            .get(&(to, from))
            .and_then(|rate| Decimal::ONE.checked_div(*rate))
    }

    /// Converts `money` into `to`, rounding half away from zero to
    /// [`MONEY_SCALE`] places, or marks it as not convertible.
    pub fn convert(&self, money: Money, to: Currency) -> Converted {
        if money.currency == to {
            return Converted::Known(money);
        }
        self.rate(money.currency, to)
            .and_then(|rate| money.amount.checked_mul(rate))
            .map_or(Converted::NoRate(money), |amount| {
                Converted::Known(Money {
                    amount: amount
                        .round_dp_with_strategy(MONEY_SCALE, RoundingStrategy::MidpointAwayFromZero)
                        .normalize(),
                    currency: to,
                })
            })
    }

    /// Orders two amounts by their value in `target`: convertible amounts
    /// first, cheapest first; amounts with no rate after them, grouped by
    /// currency code and then by amount, so they are never interleaved
    /// with converted values as if comparable.
    pub fn compare(&self, a: Money, b: Money, target: Currency) -> Ordering {
        compare_converted(self.convert(a, target), self.convert(b, target))
    }
}

/// The ordering of [`FxTable::compare`] on already converted amounts, so a
/// sort can convert each amount once instead of once per comparison.
pub fn compare_converted(a: Converted, b: Converted) -> Ordering {
    match (a, b) {
        (Converted::Known(a), Converted::Known(b)) => a.amount.cmp(&b.amount),
        (Converted::Known(_), Converted::NoRate(_)) => Ordering::Less,
        (Converted::NoRate(_), Converted::Known(_)) => Ordering::Greater,
        (Converted::NoRate(a), Converted::NoRate(b)) => {
            (a.currency.code(), a.amount).cmp(&(b.currency.code(), b.amount))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn money(amount: &str, code: &str) -> Money {
        Money::new(Decimal::from_str(amount).unwrap(), cur(code)).unwrap()
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn table(rates: &[(&str, &str, &str)]) -> FxTable {
        let mut table = FxTable::new();
        for (base, quote, rate) in rates {
            table
                .set(FxRate {
                    base: cur(base),
                    quote: cur(quote),
                    rate: dec(rate),
                })
                .unwrap();
        }
        table
    }

    #[test]
    fn converts_direct_inverse_and_through_one_pivot() {
        let fx = table(&[("USD", "EUR", "0.92"), ("GBP", "USD", "1.25")]);
        assert_eq!(
            fx.convert(money("10", "USD"), cur("EUR")),
            Converted::Known(money("9.2", "EUR"))
        );
        assert_eq!(
            fx.convert(money("9.2", "EUR"), cur("USD")),
            Converted::Known(money("10", "USD"))
        );
        // GBP -> USD -> EUR: 10 * 1.25 * 0.92.
        assert_eq!(
            fx.convert(money("10", "GBP"), cur("EUR")),
            Converted::Known(money("11.5", "EUR"))
        );
        assert_eq!(
            fx.convert(money("7", "JPY"), cur("JPY")),
            Converted::Known(money("7", "JPY"))
        );
        // Inverse of a rate with an infinite expansion is rounded to 6 places.
        let fx = table(&[("USD", "EUR", "3")]);
        assert_eq!(
            fx.convert(money("1", "EUR"), cur("USD")),
            Converted::Known(money("0.333333", "USD"))
        );
    }

    #[test]
    fn no_rate_is_marked_and_unchanged() {
        let fx = table(&[("USD", "EUR", "0.92")]);
        let yen = money("500", "JPY");
        assert_eq!(fx.convert(yen, cur("EUR")), Converted::NoRate(yen));
        assert_eq!(fx.convert(yen, cur("EUR")).known(), None);
        assert_eq!(fx.convert(yen, cur("EUR")).money(), yen);
        // Two hops away is not reached.
        let fx = table(&[
            ("USD", "EUR", "0.92"),
            ("EUR", "CHF", "0.95"),
            ("CHF", "JPY", "170"),
        ]);
        assert_eq!(fx.convert(yen, cur("USD")), Converted::NoRate(yen));
    }

    #[test]
    fn refuses_bad_rates_and_keeps_one_rate_per_pair() {
        let mut fx = FxTable::new();
        let bad = fx.set(FxRate {
            base: cur("USD"),
            quote: cur("EUR"),
            rate: Decimal::ZERO,
        });
        assert_eq!(bad.unwrap_err().code(), "invalid_fx_rate");
        let same = fx.set(FxRate {
            base: cur("USD"),
            quote: cur("USD"),
            rate: Decimal::ONE,
        });
        assert_eq!(same.unwrap_err().code(), "invalid_fx_pair");
        let fx = table(&[("USD", "EUR", "0.92"), ("EUR", "USD", "1.1")]);
        assert_eq!(fx.rates().len(), 1);
        assert_eq!(fx.rate(cur("EUR"), cur("USD")), Some(dec("1.1")));
    }

    #[test]
    fn pivot_choice_does_not_depend_on_insertion_order() {
        // Two routes from GBP to JPY: via CHF and via USD; CHF wins (lower code).
        let rates = [
            ("GBP", "USD", "1.25"),
            ("USD", "JPY", "150"),
            ("GBP", "CHF", "1.1"),
            ("CHF", "JPY", "160"),
        ];
        let forward = table(&rates);
        let mut reversed_rates = rates;
        reversed_rates.reverse();
        let reversed = table(&reversed_rates);
        assert_eq!(forward.rate(cur("GBP"), cur("JPY")), Some(dec("176")));
        assert_eq!(reversed.rate(cur("GBP"), cur("JPY")), Some(dec("176")));
    }

    #[test]
    fn mixed_currencies_sort_by_converted_value_with_unknowns_last() {
        let fx = table(&[("USD", "EUR", "0.92"), ("GBP", "EUR", "1.15")]);
        let mut prices = vec![
            money("5", "GBP"),
            money("3", "JPY"),
            money("6", "USD"),
            money("5.60", "EUR"),
            money("1", "AUD"),
        ];
        prices.sort_by(|a, b| fx.compare(*a, *b, cur("EUR")));
        // 6 USD = 5.52 EUR < 5.60 EUR < 5 GBP = 5.75 EUR; then AUD, JPY unconverted.
        assert_eq!(
            prices,
            vec![
                money("6", "USD"),
                money("5.60", "EUR"),
                money("5", "GBP"),
                money("1", "AUD"),
                money("3", "JPY")
            ]
        );
    }

    proptest! {
        #[test]
        fn inverse_round_trip_is_within_rounding(cents in 0u64..10_000_000, rate_milli in 1u64..100_000) {
            let fx = table(&[("USD", "EUR", &Decimal::new(rate_milli as i64, 3).to_string())]);
            let start = Money::new(Decimal::new(cents as i64, 2), cur("USD")).unwrap();
            let there = fx.convert(start, cur("EUR")).known().unwrap();
            let back = fx.convert(there, cur("USD")).known().unwrap();
            // One rounding to 6 places on the way there, amplified by 1/rate on the way back.
            let tolerance = Decimal::new(1, 6) * (Decimal::ONE + Decimal::ONE / Decimal::new(rate_milli as i64, 3));
            prop_assert!((back.amount - start.amount).abs() <= tolerance, "{start} -> {there} -> {back}");
        }

        #[test]
        fn compare_is_a_total_order(amounts in prop::collection::vec((0u64..100_000, 0usize..4), 0..12)) {
            let fx = table(&[("USD", "EUR", "0.92"), ("GBP", "USD", "1.25")]);
            let codes = ["USD", "EUR", "GBP", "JPY"];
            let mut prices: Vec<Money> = amounts
                .iter()
                .map(|(cents, code)| Money::new(Decimal::new(*cents as i64, 2), cur(codes[*code])).unwrap())
                .collect();
            prices.sort_by(|a, b| fx.compare(*a, *b, cur("EUR")));
            for pair in prices.windows(2) {
                prop_assert_ne!(fx.compare(pair[0], pair[1], cur("EUR")), Ordering::Greater);
            }
            let first_unknown = prices.iter().position(|p| p.currency == cur("JPY")).unwrap_or(prices.len());
            prop_assert!(prices[first_unknown..].iter().all(|p| p.currency == cur("JPY")));
        }
    }
}
