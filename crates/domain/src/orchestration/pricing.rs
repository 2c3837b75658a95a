//! Per-tenant pricing: the sell price a reseller shows, derived from cost.
//!
//! `price = round(cost_in_tenant_currency * (1 + markup_percent / 100) + markup_fixed)`
//!
//! Overrides adjust the markup for one offer, one provider or one country.
//! Precedence is **offer > provider > country > default**, field by field:
//! the most specific override that sets a field wins for that field, and
//! fields it leaves out come from the next level. The most specific wins
//! because an offer-level price is a deliberate decision about exactly that
//! product, while a country rule is a broad one. A country override applies
//! to offers whose countries are exactly that one country; a region offer
//! (several countries) is priced by the other levels, because "Japan costs
//! 30% more" says nothing about an Asia bundle.
//!
//! Rounding always goes *up*, so the rounded price never erodes the markup:
//! - `{"step": "0.05"}`: the next multiple of the step (5.21 → 5.25);
//! - `{"ending": "0.99"}`: the next price with that fractional part
//!   (5.20 → 5.99, 5.99 → 5.99, 6.00 → 6.99);
//! - none: the next whole minor unit of the tenant currency (5.2101 USD → 5.22).

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::money::MONEY_SCALE;
use crate::{CountryCode, Currency, Money, ProviderId};

use super::fx::FxTable;
use super::offer::OfferId;

/// The largest markup accepted: ten times the cost. Larger is almost
/// certainly a typo (`1000` meant as `10.00`).
const MAX_MARKUP_PERCENT: u32 = 1000;

/// How a raw price is rounded; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundTo {
    /// Round up to a multiple of this positive amount.
    Step(Decimal),
    /// Round up to the next price whose fractional part is this, in `[0, 1)`.
    Ending(Decimal),
}

impl RoundTo {
    /// Rounds `raw` up according to the rule.
    fn apply(self, raw: Decimal) -> Option<Decimal> {
        match self {
            Self::Step(step) => raw
                .checked_div(step)
                .map(|steps| steps.ceil())
                .and_then(|steps| steps.checked_mul(step)),
            Self::Ending(ending) => {
                let candidate = raw.floor().checked_add(ending)?;
                if candidate < raw {
                    candidate.checked_add(Decimal::ONE)
                } else {
                    Some(candidate)
                }
            }
        }
    }
}

/// What an override applies to: exactly one of `country`, `provider` or
/// `offer_id` (so the OpenAPI document says one is required).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverrideTarget {
    /// Offers whose countries are exactly this one country.
    #[schema(value_type = String, example = "JP")]
    Country(CountryCode),
    /// Every offer when bought from this provider.
    Provider(ProviderId),
    /// One offer.
    #[schema(value_type = String, example = "off_0123456789abcdef")]
    OfferId(OfferId),
}

impl OverrideTarget {
    fn rank(&self) -> u8 {
        match self {
            Self::OfferId(_) => 3,
            Self::Provider(_) => 2,
            Self::Country(_) => 1,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Country(country) => format!("country {country}"),
            Self::Provider(provider) => format!("provider {provider}"),
            Self::OfferId(offer) => format!("offer {offer}"),
        }
    }
}

/// One override: a target and the fields it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PricingOverride {
    /// `{"country": "JP"}`, `{"provider": "esim-go"}` or `{"offer_id": "off_…"}`.
    #[serde(flatten)]
    pub target: OverrideTarget,
    /// Replaces the markup percentage, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "20")]
    pub markup_percent: Option<Decimal>,
    /// Replaces the fixed markup, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "20")]
    pub markup_fixed: Option<Decimal>,
    /// Replaces the rounding rule, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_to: Option<RoundTo>,
}

/// A tenant's pricing rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PricingRules {
    /// The currency sell prices are shown and charged in.
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Percentage added to the converted cost, `0..=1000`.
    #[serde(default)]
    #[schema(value_type = String, example = "20")]
    pub markup_percent: Decimal,
    /// Amount in `currency` added after the percentage.
    #[serde(default)]
    #[schema(value_type = String, example = "0.50")]
    pub markup_fixed: Decimal,
    /// Rounding of the final price; `None` rounds up to the minor unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_to: Option<RoundTo>,
    /// More specific rules; see the module documentation for precedence.
    #[serde(default)]
    pub overrides: Vec<PricingOverride>,
}

/// Why pricing rules were refused or a price could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// Negative markups sell below cost; above 1000% is almost surely a typo.
    #[error("{field} must be between 0 and 1000 percent, got {value}")]
    MarkupPercent { field: String, value: Decimal },
    /// A fixed markup must be storable money and must not discount.
    #[error("{field} must be zero or more with at most 6 decimal places, got {value}")]
    MarkupFixed { field: String, value: Decimal },
    /// A rounding rule that cannot round up to a storable price.
    #[error(
        "{field}: a step must be positive, an ending in [0, 1), each with at most 6 decimal places; got {value}"
    )]
    RoundTo { field: String, value: Decimal },
    /// Two overrides for one target would make the price depend on list order.
    #[error("overrides[{index}] targets {target}, which overrides[{first}] already targets")]
    DuplicateOverride {
        index: usize,
        first: usize,
        target: String,
    },
    /// An override that changes nothing is almost surely a mistake.
    #[error("overrides[{index}] sets none of markup_percent, markup_fixed, round_to")]
    EmptyOverride { index: usize },
    /// Pricing a cost as if it were in another currency would be silently wrong.
    #[error("no FX rate converts {from} to {to}, so this cost cannot be priced")]
    NoFxRate { from: Currency, to: Currency },
    /// The computation overflowed or left the range [`Money`] stores.
    #[error("the price is out of the range simgate stores")]
    OutOfRange,
}

impl PricingError {
    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MarkupPercent { .. } => "invalid_markup_percent",
            Self::MarkupFixed { .. } => "invalid_markup_fixed",
            Self::RoundTo { .. } => "invalid_round_to",
            Self::DuplicateOverride { .. } => "duplicate_pricing_override",
            Self::EmptyOverride { .. } => "empty_pricing_override",
            Self::NoFxRate { .. } => "no_fx_rate",
            Self::OutOfRange => "price_out_of_range",
        }
    }
}

/// What is being priced: the offer (when known), the provider selling it and
/// the offer's countries.
#[derive(Debug, Clone, Copy)]
pub struct PriceContext<'a> {
    /// The offer, or `None` for a product priced outside any offer.
    pub offer_id: Option<&'a OfferId>,
    /// The provider whose cost is priced.
    pub provider: ProviderId,
    /// The offer's or product's countries.
    pub countries: &'a [CountryCode],
}

/// A priced cost: what the order freezes at purchase time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceQuote {
    /// The provider's cost as charged, in its own currency.
    pub cost: Money,
    /// The cost converted to the tenant currency.
    pub cost_converted: Money,
    /// The sell price, in the tenant currency.
    pub price: Money,
    /// `price - cost_converted`, never negative.
    pub margin: Money,
}

impl PricingRules {
    /// No markup, in `currency`: prices equal cost rounded up to the minor unit.
    pub fn at_cost(currency: Currency) -> Self {
        Self {
            currency,
            markup_percent: Decimal::ZERO,
            markup_fixed: Decimal::ZERO,
            round_to: None,
            overrides: Vec::new(),
        }
    }

    /// Checks every field; the first problem found is returned, naming the
    /// field (`overrides[2].markup_percent`) so the client can fix it.
    pub fn validate(&self) -> Result<(), PricingError> {
        check_fields(
            "",
            Some(self.markup_percent),
            Some(self.markup_fixed),
            self.round_to,
        )?;
        for (index, rule) in self.overrides.iter().enumerate() {
            if rule.markup_percent.is_none()
                && rule.markup_fixed.is_none()
                && rule.round_to.is_none()
            {
                return Err(PricingError::EmptyOverride { index });
            }
            check_fields(
                &format!("overrides[{index}]."),
                rule.markup_percent,
                rule.markup_fixed,
                rule.round_to,
            )?;
            if let Some(first) = self.overrides[..index]
                .iter()
                .position(|earlier| earlier.target == rule.target)
            {
                return Err(PricingError::DuplicateOverride {
                    index,
                    first,
                    target: rule.target.describe(),
                });
            }
        }
        Ok(())
    }

    /// The markup, fixed amount and rounding that apply in `context`.
    fn effective(&self, context: &PriceContext<'_>) -> (Decimal, Decimal, Option<RoundTo>) {
        let mut matching: Vec<&PricingOverride> = self
            .overrides
            .iter()
            .filter(|rule| match &rule.target {
                OverrideTarget::OfferId(id) => context.offer_id == Some(id),
                OverrideTarget::Provider(provider) => *provider == context.provider,
                OverrideTarget::Country(country) => context.countries == [*country],
            })
            .collect();
        matching.sort_by_key(|rule| std::cmp::Reverse(rule.target.rank()));
        let percent = matching
            .iter()
            .find_map(|rule| rule.markup_percent)
            .unwrap_or(self.markup_percent);
        let fixed = matching
            .iter()
            .find_map(|rule| rule.markup_fixed)
            .unwrap_or(self.markup_fixed);
        let round_to = matching
            .iter()
            .find_map(|rule| rule.round_to)
            .or(self.round_to);
        (percent, fixed, round_to)
    }

    /// Prices `cost` for `context`: converts it to the tenant currency
    /// through `fx`, applies the effective markup and rounding, and returns
    /// cost, price and margin. A cost with no FX rate is refused rather
    /// than priced as if it were in the tenant currency.
    pub fn quote(
        &self,
        context: &PriceContext<'_>,
        cost: Money,
        fx: &FxTable,
    ) -> Result<PriceQuote, PricingError> {
        let cost_converted =
            fx.convert(cost, self.currency)
                .known()
                .ok_or(PricingError::NoFxRate {
                    from: cost.currency,
                    to: self.currency,
                })?;
        let (percent, fixed, round_to) = self.effective(context);
        let factor = Decimal::ONE_HUNDRED
            .checked_add(percent)
            .and_then(|p| p.checked_div(Decimal::ONE_HUNDRED))
            .ok_or(PricingError::OutOfRange)?;
        let raw = cost_converted
            .amount
            .checked_mul(factor)
            .and_then(|amount| amount.checked_add(fixed))
            .ok_or(PricingError::OutOfRange)?;
        let rounded = match round_to {
            Some(rule) => rule.apply(raw),
            None => Some(raw.round_dp_with_strategy(
                minor_unit_places(self.currency),
                RoundingStrategy::ToPositiveInfinity,
            )),
        }
        .ok_or(PricingError::OutOfRange)?;
        // Rules are validated to at most MONEY_SCALE places; a raw price
        // finer than that (percent of a fine cost) is rounded up as well.
        let price = rounded
            .round_dp_with_strategy(MONEY_SCALE, RoundingStrategy::ToPositiveInfinity)
            .normalize();
        let margin = (price - cost_converted.amount).normalize();
        let money =
            |amount| Money::new(amount, self.currency).map_err(|_| PricingError::OutOfRange);
        Ok(PriceQuote {
            cost,
            cost_converted,
            price: money(price)?,
            margin: money(margin)?,
        })
    }
}

/// The currency's minor-unit places (2 for USD, 0 for JPY); 2 for the few
/// codes (like XAU) that have none defined.
fn minor_unit_places(currency: Currency) -> u32 {
    iso_currency::Currency::from_code(currency.code())
        .and_then(iso_currency::Currency::exponent)
        .map_or(2, u32::from)
}

fn check_fields(
    prefix: &str,
    percent: Option<Decimal>,
    fixed: Option<Decimal>,
    round_to: Option<RoundTo>,
) -> Result<(), PricingError> {
    let fine = |value: Decimal| value.normalize().scale() > MONEY_SCALE;
    if let Some(value) = percent
        && (value < Decimal::ZERO || value > Decimal::from(MAX_MARKUP_PERCENT) || fine(value))
    {
        return Err(PricingError::MarkupPercent {
            field: format!("{prefix}markup_percent"),
            value,
        });
    }
    if let Some(value) = fixed
        && (value < Decimal::ZERO || fine(value))
    {
        return Err(PricingError::MarkupFixed {
            field: format!("{prefix}markup_fixed"),
            value,
        });
    }
    let bad_round = match round_to {
        Some(RoundTo::Step(step)) => (step <= Decimal::ZERO || fine(step)).then_some(step),
        Some(RoundTo::Ending(ending)) => {
            (ending < Decimal::ZERO || ending >= Decimal::ONE || fine(ending)).then_some(ending)
        }
        None => None,
    };
    match bad_round {
        Some(value) => Err(PricingError::RoundTo {
            field: format!("{prefix}round_to"),
            value,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestration::fx::FxRate;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn money(amount: &str, code: &str) -> Money {
        Money::new(dec(amount), cur(code)).unwrap()
    }

    fn jp() -> Vec<CountryCode> {
        vec![CountryCode::parse("JP").unwrap()]
    }

    fn offer() -> OfferId {
        OfferId::parse("off_0123456789abcdef").unwrap()
    }

    fn context<'a>(
        offer: &'a OfferId,
        provider: ProviderId,
        countries: &'a [CountryCode],
    ) -> PriceContext<'a> {
        PriceContext {
            offer_id: Some(offer),
            provider,
            countries,
        }
    }

    fn rules(json: &str) -> PricingRules {
        let rules: PricingRules = serde_json::from_str(json).unwrap();
        rules.validate().unwrap();
        rules
    }

    #[test]
    fn markup_fixed_and_rounding_to_minor_unit() {
        let rules = rules(r#"{"currency": "USD", "markup_percent": "20", "markup_fixed": "0.5"}"#);
        let offer = offer();
        let countries = jp();
        let quote = rules
            .quote(
                &context(&offer, ProviderId::EsimGo, &countries),
                money("4.1234", "USD"),
                &FxTable::new(),
            )
            .unwrap();
        // 4.1234 * 1.2 + 0.5 = 5.44808 -> 5.45
        assert_eq!(quote.price, money("5.45", "USD"));
        assert_eq!(quote.cost_converted, money("4.1234", "USD"));
        assert_eq!(quote.margin, money("1.3266", "USD"));
        // JPY has no minor unit.
        let yen = PricingRules::at_cost(cur("JPY"));
        let quote = yen
            .quote(
                &context(&offer, ProviderId::EsimGo, &countries),
                money("500.2", "JPY"),
                &FxTable::new(),
            )
            .unwrap();
        assert_eq!(quote.price, money("501", "JPY"));
    }

    #[test]
    fn rounds_up_to_steps_and_endings() {
        let at = |rule: RoundTo, raw: &str| rule.apply(dec(raw)).unwrap();
        assert_eq!(at(RoundTo::Step(dec("0.05")), "5.21"), dec("5.25"));
        assert_eq!(at(RoundTo::Step(dec("0.05")), "5.25"), dec("5.25"));
        assert_eq!(at(RoundTo::Step(dec("1")), "5.01"), dec("6"));
        assert_eq!(at(RoundTo::Ending(dec("0.99")), "5.20"), dec("5.99"));
        assert_eq!(at(RoundTo::Ending(dec("0.99")), "5.99"), dec("5.99"));
        assert_eq!(at(RoundTo::Ending(dec("0.99")), "6.00"), dec("6.99"));
        assert_eq!(at(RoundTo::Ending(dec("0.49")), "5.50"), dec("6.49"));
    }

    #[test]
    fn converts_cost_to_tenant_currency_and_refuses_unknown_rates() {
        let mut fx = FxTable::new();
        fx.set(FxRate {
            base: cur("USD"),
            quote: cur("EUR"),
            rate: dec("0.92"),
        })
        .unwrap();
        let rules =
            rules(r#"{"currency": "EUR", "markup_percent": "10", "round_to": {"ending": "0.99"}}"#);
        let offer = offer();
        let countries = jp();
        let ctx = context(&offer, ProviderId::EsimGo, &countries);
        let quote = rules.quote(&ctx, money("10", "USD"), &fx).unwrap();
        assert_eq!(quote.cost, money("10", "USD"));
        assert_eq!(quote.cost_converted, money("9.2", "EUR"));
        // 9.2 * 1.1 = 10.12 -> 10.99
        assert_eq!(quote.price, money("10.99", "EUR"));
        assert_eq!(quote.margin, money("1.79", "EUR"));
        let err = rules.quote(&ctx, money("10", "GBP"), &fx).unwrap_err();
        assert_eq!(err.code(), "no_fx_rate");
    }

    #[test]
    fn offer_beats_provider_beats_country_beats_default_field_by_field() {
        let offer = offer();
        let rules = rules(&format!(
            r#"{{"currency": "USD", "markup_percent": "10", "markup_fixed": "1",
                "overrides": [
                  {{"country": "JP", "markup_percent": "30", "markup_fixed": "2"}},
                  {{"provider": "esim-go", "markup_percent": "20"}},
                  {{"offer_id": "{offer}", "markup_fixed": "0"}}
                ]}}"#
        ));
        let cost = money("10", "USD");
        let fx = FxTable::new();
        let countries = jp();
        let other = OfferId::parse("off_fedcba9876543210").unwrap();
        let region = vec![
            CountryCode::parse("JP").unwrap(),
            CountryCode::parse("KR").unwrap(),
        ];
        let price = |ctx: PriceContext<'_>| rules.quote(&ctx, cost, &fx).unwrap().price;
        // offer fixed 0, provider 20%: 12
        assert_eq!(
            price(context(&offer, ProviderId::EsimGo, &countries)),
            money("12", "USD")
        );
        // offer fixed 0, country 30%: 13
        assert_eq!(
            price(context(&offer, ProviderId::SimLocal, &countries)),
            money("13", "USD")
        );
        // provider 20%, country fixed 2: 14
        assert_eq!(
            price(context(&other, ProviderId::EsimGo, &countries)),
            money("14", "USD")
        );
        // country 30% + 2: 15
        assert_eq!(
            price(context(&other, ProviderId::SimLocal, &countries)),
            money("15", "USD")
        );
        // region offer: the JP rule does not apply; default 10% + 1: 12
        assert_eq!(
            price(context(&other, ProviderId::SimLocal, &region)),
            money("12", "USD")
        );
    }

    #[test]
    fn validation_names_the_field_with_a_stable_code() {
        let cases = [
            (
                r#"{"currency": "USD", "markup_percent": "-1"}"#,
                "invalid_markup_percent",
                "markup_percent",
            ),
            (
                r#"{"currency": "USD", "markup_percent": "1001"}"#,
                "invalid_markup_percent",
                "markup_percent",
            ),
            (
                r#"{"currency": "USD", "markup_fixed": "-0.01"}"#,
                "invalid_markup_fixed",
                "markup_fixed",
            ),
            (
                r#"{"currency": "USD", "markup_fixed": "0.0000001"}"#,
                "invalid_markup_fixed",
                "markup_fixed",
            ),
            (
                r#"{"currency": "USD", "round_to": {"step": "0"}}"#,
                "invalid_round_to",
                "round_to",
            ),
            (
                r#"{"currency": "USD", "round_to": {"ending": "1"}}"#,
                "invalid_round_to",
                "round_to",
            ),
            (
                r#"{"currency": "USD", "overrides": [{"provider": "onsim"}]}"#,
                "empty_pricing_override",
                "overrides[0]",
            ),
            (
                r#"{"currency": "USD", "overrides": [{"country": "JP", "markup_percent": "5"}, {"country": "jp", "markup_fixed": "1"}]}"#,
                "duplicate_pricing_override",
                "overrides[1]",
            ),
            (
                r#"{"currency": "USD", "overrides": [{"country": "JP", "markup_percent": "2000"}]}"#,
                "invalid_markup_percent",
                "overrides[0].markup_percent",
            ),
        ];
        for (json, code, field) in cases {
            let rules: PricingRules = serde_json::from_str(json).unwrap();
            let err = rules.validate().unwrap_err();
            assert_eq!(err.code(), code, "{json}");
            assert!(err.to_string().contains(field), "{err} should name {field}");
        }
    }

    #[test]
    fn serialises_round_trip() {
        let rules = rules(
            r#"{"currency": "EUR", "markup_percent": "12.5", "round_to": {"step": "0.05"}, "overrides": [{"offer_id": "off_0123456789abcdef", "round_to": {"ending": "0.99"}}]}"#,
        );
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(serde_json::from_str::<PricingRules>(&json).unwrap(), rules);
    }

    proptest! {
        #[test]
        fn price_never_below_cost_plus_markup(
            cost_micros in 0i64..1_000_000_000,
            percent_tenths in 0i64..10_000,
            fixed_cents in 0i64..1_000,
            rounding in prop_oneof![
                Just(None),
                (1i64..500).prop_map(|s| Some(RoundTo::Step(Decimal::new(s, 2)))),
                (0i64..100).prop_map(|e| Some(RoundTo::Ending(Decimal::new(e, 2)))),
            ],
        ) {
            let rules = PricingRules {
                currency: cur("USD"),
                markup_percent: Decimal::new(percent_tenths, 1),
                markup_fixed: Decimal::new(fixed_cents, 2),
                round_to: rounding,
                overrides: Vec::new(),
            };
            prop_assert!(rules.validate().is_ok());
            let offer = offer();
            let countries = jp();
            let cost = Money::from_micros(cost_micros, cur("USD"));
            let quote = rules.quote(&context(&offer, ProviderId::EsimGo, &countries), cost, &FxTable::new()).unwrap();
            let raw = cost.amount * (Decimal::ONE + rules.markup_percent / Decimal::ONE_HUNDRED) + rules.markup_fixed;
            prop_assert!(quote.price.amount >= raw);
            prop_assert_eq!(quote.price.amount - quote.cost_converted.amount, quote.margin.amount);
            // Rounding never adds more than one step (or one unit for endings, one cent otherwise).
            let slack = match rounding {
                Some(RoundTo::Step(step)) => step,
                Some(RoundTo::Ending(_)) => Decimal::ONE,
                None => Decimal::new(1, 2),
            };
            prop_assert!(quote.price.amount - raw <= slack, "{} vs {}", quote.price, raw);
        }
    }
}
