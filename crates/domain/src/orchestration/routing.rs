//! Routing: which of an offer's candidates to try, in which order, and why.
//!
//! A tenant's policy picks a strategy:
//! - `cheapest` (the default): by cost converted to the tenant currency;
//!   costs with no FX rate go after every convertible one. Ties follow the
//!   `providers` list, then the provider id.
//! - `priority`: listed providers in list order, then unlisted providers
//!   (still useful fallbacks) by converted cost.
//! - `weighted`: one provider is drawn with probability proportional to its
//!   weight (the draw is passed in, so tests and the CLI are reproducible);
//!   the other weighted providers follow by weight, highest first, then the
//!   providers without weight by cost.
//!
//! Whatever the strategy: excluded providers and providers whose circuit is
//! open are skipped; half-open providers go after every closed one, so a
//! probe never delays a sale a healthy provider could make. A per-country
//! override applies to offers whose countries are exactly that country,
//! field by field over the tenant's base policy.
//!
//! [`plan`] is the hot path (under 50 µs at p99 is the budget): it
//! allocates the three vectors of its answer and nothing else, and sorts
//! candidate indices on precomputed keys.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CountryCode, Currency, Money, ProviderId};

use super::fx::{Converted, FxTable, compare_converted};
use super::health::CircuitState;

/// How candidates are ordered; see the module documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoutingStrategy {
    /// Lowest converted cost first.
    #[default]
    Cheapest,
    /// The `providers` list order.
    Priority,
    /// A weighted random split of volume.
    Weighted,
}

impl fmt::Display for RoutingStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cheapest => "cheapest",
            Self::Priority => "priority",
            Self::Weighted => "weighted",
        })
    }
}

/// A per-country override: each field, when set, replaces the base field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountryRouting {
    /// Replaces the strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<RoutingStrategy>,
    /// Replaces the provider order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub providers: Option<Vec<ProviderId>>,
    /// Replaces the weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = nullable_weights_schema)]
    pub weights: Option<BTreeMap<ProviderId, u32>>,
    /// Replaces the exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<ProviderId>>,
}

/// A tenant's routing policy, as `GET`/`PUT /v1/routing` carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingPolicy {
    /// The strategy; `cheapest` when absent.
    #[serde(default)]
    pub strategy: RoutingStrategy,
    /// Priority order (and the tie-break for the other strategies).
    #[serde(default)]
    pub providers: Vec<ProviderId>,
    /// Relative weights for `weighted`; missing providers weigh 0.
    #[serde(default)]
    #[schema(schema_with = weights_schema)]
    pub weights: BTreeMap<ProviderId, u32>,
    /// Providers never used.
    #[serde(default)]
    pub exclude: Vec<ProviderId>,
    /// Overrides for single-country offers, keyed by ISO 3166-1 alpha-2 code.
    #[serde(default)]
    #[schema(schema_with = country_overrides_schema)]
    pub countries: BTreeMap<CountryCode, CountryRouting>,
}

/// The schema of `countries`: an override per ISO 3166-1 alpha-2 code, the
/// keys listed so that the API's document says exactly what it takes.
fn country_overrides_schema() -> utoipa::openapi::schema::Object {
    use utoipa::PartialSchema;
    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
    let mut code = Object::with_type(Type::String);
    code.enum_values = Some(CountryCode::all_codes().map(Into::into).collect());
    ObjectBuilder::new()
        .property_names(Some(code))
        .additional_properties(Some(CountryRouting::schema()))
        .build()
}

/// The schema of `weights`: a provider id to a weight, 0 to `u32::MAX`
/// (more than utoipa's int32 for a `u32`).
fn weights_schema() -> utoipa::openapi::schema::Object {
    weights_schema_of(utoipa::openapi::schema::Type::Object.into())
}

/// [`weights_schema`], or `null` (an override that keeps the base weights).
fn nullable_weights_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    weights_schema_of(SchemaType::from_iter([Type::Object, Type::Null]))
}

fn weights_schema_of(
    schema_type: utoipa::openapi::schema::SchemaType,
) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
    let mut provider = Object::with_type(Type::String);
    provider.enum_values = Some(ProviderId::ALL.iter().map(|p| p.as_str().into()).collect());
    let weight = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(u32::MAX));
    ObjectBuilder::new()
        .schema_type(schema_type)
        .property_names(Some(provider))
        .additional_properties(Some(weight))
        .build()
}

/// Why a routing policy was refused. `scope` is empty for the base policy
/// and `countries.JP.` for an override, so the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// A provider twice in a list makes its position ambiguous.
    #[error("{scope}{field} lists {provider} twice")]
    DuplicateProvider {
        scope: String,
        field: &'static str,
        provider: ProviderId,
    },
    /// Listing and excluding one provider contradicts itself.
    #[error("{scope}providers lists {provider}, which {scope}exclude excludes")]
    ExcludedListed { scope: String, provider: ProviderId },
    /// Priority routing without a list has no order to follow.
    #[error("{scope}strategy priority needs a non-empty providers list")]
    PriorityWithoutProviders { scope: String },
    /// Weighted routing with nothing to draw from could never split volume.
    #[error("{scope}strategy weighted needs a positive weight for a provider that is not excluded")]
    WeightedWithoutWeights { scope: String },
    /// An override that changes nothing is almost surely a mistake.
    #[error("countries.{0} sets none of strategy, providers, weights, exclude")]
    EmptyCountryOverride(CountryCode),
}

impl RoutingError {
    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DuplicateProvider { .. } => "duplicate_routing_provider",
            Self::ExcludedListed { .. } => "conflicting_routing_provider",
            Self::PriorityWithoutProviders { .. } => "priority_needs_providers",
            Self::WeightedWithoutWeights { .. } => "weighted_needs_weights",
            Self::EmptyCountryOverride(_) => "empty_routing_override",
        }
    }
}

/// The policy in force for one offer: the base with an override applied.
#[derive(Debug, Clone, Copy)]
struct Effective<'a> {
    strategy: RoutingStrategy,
    providers: &'a [ProviderId],
    weights: &'a BTreeMap<ProviderId, u32>,
    exclude: &'a [ProviderId],
}

impl Effective<'_> {
    fn validate(&self, scope: &str) -> Result<(), RoutingError> {
        for (field, list) in [("providers", self.providers), ("exclude", self.exclude)] {
            if let Some(provider) = first_duplicate(list) {
                return Err(RoutingError::DuplicateProvider {
                    scope: scope.to_owned(),
                    field,
                    provider,
                });
            }
        }
        if let Some(provider) = self.providers.iter().find(|p| self.exclude.contains(p)) {
            return Err(RoutingError::ExcludedListed {
                scope: scope.to_owned(),
                provider: *provider,
            });
        }
        match self.strategy {
            RoutingStrategy::Priority if self.providers.is_empty() => {
                Err(RoutingError::PriorityWithoutProviders {
                    scope: scope.to_owned(),
                })
            }
            RoutingStrategy::Weighted
                if !self
                    .weights
                    .iter()
                    .any(|(p, w)| *w > 0 && !self.exclude.contains(p)) =>
            {
                Err(RoutingError::WeightedWithoutWeights {
                    scope: scope.to_owned(),
                })
            }
            _ => Ok(()),
        }
    }

    fn weight(&self, provider: ProviderId) -> u32 {
        self.weights.get(&provider).copied().unwrap_or(0)
    }

    fn position(&self, provider: ProviderId) -> Option<usize> {
        self.providers.iter().position(|p| *p == provider)
    }
}

fn first_duplicate(list: &[ProviderId]) -> Option<ProviderId> {
    list.iter()
        .enumerate()
        .find(|(i, p)| list[..*i].contains(p))
        .map(|(_, p)| *p)
}

impl RoutingPolicy {
    /// Checks the base policy and every country override as it would apply.
    pub fn validate(&self) -> Result<(), RoutingError> {
        self.base().validate("")?;
        for (country, routing) in &self.countries {
            if routing == &CountryRouting::default() {
                return Err(RoutingError::EmptyCountryOverride(*country));
            }
            self.merged(routing)
                .validate(&format!("countries.{country}."))?;
        }
        Ok(())
    }

    fn base(&self) -> Effective<'_> {
        Effective {
            strategy: self.strategy,
            providers: &self.providers,
            weights: &self.weights,
            exclude: &self.exclude,
        }
    }

    fn merged<'a>(&'a self, routing: &'a CountryRouting) -> Effective<'a> {
        Effective {
            strategy: routing.strategy.unwrap_or(self.strategy),
            providers: routing.providers.as_deref().unwrap_or(&self.providers),
            weights: routing.weights.as_ref().unwrap_or(&self.weights),
            exclude: routing.exclude.as_deref().unwrap_or(&self.exclude),
        }
    }

    /// The override for an offer's countries: only a single-country offer
    /// has one.
    fn country_override(
        &self,
        countries: &[CountryCode],
    ) -> Option<(CountryCode, &CountryRouting)> {
        match countries {
            [country] => self.countries.get(country).map(|r| (*country, r)),
            _ => None,
        }
    }
}

/// One candidate as routing sees it. Its index in the slice given to
/// [`plan`] is how the plan refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteCandidate {
    /// Who sells it.
    pub provider: ProviderId,
    /// The wholesale cost, in the provider's currency.
    pub cost: Money,
    /// The provider's circuit at the time of the decision.
    pub circuit: CircuitState,
}

/// Why a candidate has its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Ordered by converted cost (the `cheapest` strategy, or the fallback
    /// order of unlisted or unweighted providers).
    Cost,
    /// Position in the `providers` list, from 0.
    Listed(usize),
    /// Drawn by the weighted split: `weight` out of `total`.
    Drawn { weight: u32, total: u64 },
    /// A weighted provider not drawn this time.
    Weight(u32),
}

/// Why a candidate is not tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The policy excludes its provider.
    Excluded,
    /// Its provider's circuit is open.
    CircuitOpen,
}

/// The decision about one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Tried at `rank` (0 = first).
    Ranked {
        rank: usize,
        basis: Basis,
        /// Tried after closed providers because its circuit is half-open.
        half_open: bool,
    },
    /// Not tried.
    Skipped(Skip),
}

/// The decision about one candidate, with what it was based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteExplanation {
    /// Index into the candidates given to [`plan`].
    pub candidate: usize,
    /// The candidate's provider.
    pub provider: ProviderId,
    /// The cost as compared: converted, or marked as not convertible.
    pub cost: Converted,
    /// Tried, and why there; or skipped, and why.
    pub verdict: Verdict,
}

impl fmt::Display for RouteExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cost = match self.cost {
            Converted::Known(money) => money.to_string(),
            Converted::NoRate(money) => format!("{money} (no FX rate)"),
        };
        match self.verdict {
            Verdict::Skipped(Skip::Excluded) => {
                write!(f, "skip {}: excluded by policy", self.provider)
            }
            Verdict::Skipped(Skip::CircuitOpen) => {
                write!(f, "skip {}: circuit open", self.provider)
            }
            Verdict::Ranked {
                rank,
                basis,
                half_open,
            } => {
                write!(f, "#{} {} at {cost}: ", rank + 1, self.provider)?;
                match basis {
                    Basis::Cost => f.write_str("by cost")?,
                    Basis::Listed(position) => write!(f, "priority {}", position + 1)?,
                    Basis::Drawn { weight, total } => {
                        write!(f, "drawn with weight {weight} of {total}")?;
                    }
                    Basis::Weight(weight) => write!(f, "weight {weight}, not drawn")?,
                }
                if half_open {
                    f.write_str(" (circuit half-open: after healthy providers)")?;
                }
                Ok(())
            }
        }
    }
}

/// The ordered candidates to try and the reasoning, for the order flow and
/// for `simgate routing show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    /// The strategy in force.
    pub strategy: RoutingStrategy,
    /// The country whose override applied, if any.
    pub country_override: Option<CountryCode>,
    /// Candidate indices in the order to try them.
    pub order: Vec<usize>,
    /// One entry per candidate, in input order.
    pub explanations: Vec<RouteExplanation>,
}

impl fmt::Display for RoutePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "strategy {}", self.strategy)?;
        if let Some(country) = self.country_override {
            write!(f, " (override for {country})")?;
        }
        for &index in &self.order {
            if let Some(explanation) = self.explanations.get(index) {
                write!(f, "\n{explanation}")?;
            }
        }
        for explanation in &self.explanations {
            if matches!(explanation.verdict, Verdict::Skipped(_)) {
                write!(f, "\n{explanation}")?;
            }
        }
        Ok(())
    }
}

/// Orders an offer's candidates under `policy`.
///
/// `countries` are the offer's countries (for the per-country override),
/// `currency` the one costs are compared in (the tenant's), and `draw` a
/// uniformly random number used only by `weighted`. The policy is assumed
/// validated; an unvalidated `weighted` policy with no usable weight falls
/// back to cost order.
pub fn plan(
    policy: &RoutingPolicy,
    countries: &[CountryCode],
    candidates: &[RouteCandidate],
    fx: &FxTable,
    currency: Currency,
    draw: u64,
) -> RoutePlan {
    let country_override = policy.country_override(countries);
    let effective = match country_override {
        Some((_, routing)) => policy.merged(routing),
        None => policy.base(),
    };
    let mut explanations: Vec<RouteExplanation> = candidates
        .iter()
        .enumerate()
        .map(|(index, candidate)| RouteExplanation {
            candidate: index,
            provider: candidate.provider,
            cost: fx.convert(candidate.cost, currency),
            verdict: if effective.exclude.contains(&candidate.provider) {
                Verdict::Skipped(Skip::Excluded)
            } else if candidate.circuit == CircuitState::Open {
                Verdict::Skipped(Skip::CircuitOpen)
            } else {
                Verdict::Ranked {
                    rank: 0,
                    basis: Basis::Cost,
                    half_open: candidate.circuit == CircuitState::HalfOpen,
                }
            },
        })
        .collect();
    let drawn = match effective.strategy {
        RoutingStrategy::Weighted => draw_provider(&effective, &explanations, draw),
        RoutingStrategy::Cheapest | RoutingStrategy::Priority => None,
    };
    // Fill in each ranked candidate's basis, which is also its sort group.
    for explanation in &mut explanations {
        if let Verdict::Ranked { basis, .. } = &mut explanation.verdict {
            *basis = match effective.strategy {
                RoutingStrategy::Cheapest => Basis::Cost,
                RoutingStrategy::Priority => effective
                    .position(explanation.provider)
                    .map_or(Basis::Cost, Basis::Listed),
                RoutingStrategy::Weighted => match drawn {
                    Some((provider, weight, total)) if provider == explanation.provider => {
                        Basis::Drawn { weight, total }
                    }
                    _ => match effective.weight(explanation.provider) {
                        0 => Basis::Cost,
                        weight => Basis::Weight(weight),
                    },
                },
            };
        }
    }
    let mut order: Vec<usize> = explanations
        .iter()
        .filter(|e| matches!(e.verdict, Verdict::Ranked { .. }))
        .map(|e| e.candidate)
        .collect();
    order.sort_by(|&a, &b| compare(&effective, &explanations[a], &explanations[b]));
    for (rank, &index) in order.iter().enumerate() {
        if let Verdict::Ranked { rank: slot, .. } = &mut explanations[index].verdict {
            *slot = rank;
        }
    }
    RoutePlan {
        strategy: effective.strategy,
        country_override: country_override.map(|(country, _)| country),
        order,
        explanations,
    }
}

/// Draws one provider among the ranked candidates' providers with positive
/// weight, preferring closed circuits (half-open ones are drawn only when no
/// closed one has weight). Providers are walked in their fixed order so the
/// same draw always picks the same provider. Returns the provider, its
/// weight and the total.
fn draw_provider(
    effective: &Effective<'_>,
    explanations: &[RouteExplanation],
    draw: u64,
) -> Option<(ProviderId, u32, u64)> {
    let eligible = |provider: ProviderId, half_open_ok: bool| {
        explanations.iter().any(|e| {
            e.provider == provider
                && matches!(e.verdict, Verdict::Ranked { half_open, .. } if half_open_ok || !half_open)
        })
    };
    [false, true].into_iter().find_map(|half_open_ok| {
        let weighted = || {
            ProviderId::ALL
                .into_iter()
                .filter(move |p| eligible(*p, half_open_ok))
                .map(|p| (p, effective.weight(p)))
                .filter(|(_, w)| *w > 0)
        };
        let total: u64 = weighted().map(|(_, w)| u64::from(w)).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = draw % total;
        weighted().find_map(|(provider, weight)| {
            if ticket < u64::from(weight) {
                Some((provider, weight, total))
            } else {
                ticket -= u64::from(weight);
                None
            }
        })
    })
}

fn compare(effective: &Effective<'_>, a: &RouteExplanation, b: &RouteExplanation) -> Ordering {
    let (
        Verdict::Ranked {
            basis: basis_a,
            half_open: half_a,
            ..
        },
        Verdict::Ranked {
            basis: basis_b,
            half_open: half_b,
            ..
        },
    ) = (a.verdict, b.verdict)
    else {
        return Ordering::Equal;
    };
    // Group and in-group primary key: smaller goes first.
    let key = |basis: Basis| -> (u8, u64) {
        match basis {
            Basis::Drawn { .. } => (0, 0),
            Basis::Listed(position) => (1, position as u64),
            Basis::Weight(weight) => (2, u64::from(u32::MAX - weight)),
            Basis::Cost => (3, 0),
        }
    };
    let tie_break = |provider: ProviderId| effective.position(provider).unwrap_or(usize::MAX);
    half_a
        .cmp(&half_b)
        .then_with(|| key(basis_a).cmp(&key(basis_b)))
        .then_with(|| compare_converted(a.cost, b.cost))
        .then_with(|| tie_break(a.provider).cmp(&tie_break(b.provider)))
        .then_with(|| a.provider.cmp(&b.provider))
        .then_with(|| a.candidate.cmp(&b.candidate))
}

#[cfg(test)]
mod tests;
