//! Routing policy validation and planning.

use super::*;
use crate::orchestration::fx::FxRate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

fn cur(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn money(amount: &str, code: &str) -> Money {
    Money::new(Decimal::from_str(amount).unwrap(), cur(code)).unwrap()
}

fn jp() -> Vec<CountryCode> {
    vec![CountryCode::parse("JP").unwrap()]
}

fn fx() -> FxTable {
    let mut fx = FxTable::new();
    fx.set(FxRate {
        base: cur("GBP"),
        quote: cur("USD"),
        rate: Decimal::from_str("1.25").unwrap(),
    })
    .unwrap();
    fx
}

fn candidate(provider: ProviderId, cost: Money, circuit: CircuitState) -> RouteCandidate {
    RouteCandidate {
        provider,
        cost,
        circuit,
    }
}

fn policy(json: &str) -> RoutingPolicy {
    let policy: RoutingPolicy = serde_json::from_str(json).unwrap();
    policy.validate().unwrap();
    policy
}

use CircuitState::{Closed, HalfOpen, Open};
use ProviderId::{EsimGo, EsimStory, SimLocal};

fn three() -> Vec<RouteCandidate> {
    vec![
        candidate(EsimGo, money("5", "USD"), Closed),
        candidate(EsimStory, money("3.5", "GBP"), Closed), // 4.375 USD
        candidate(SimLocal, money("4", "USD"), Closed),
    ]
}

#[test]
fn cheapest_compares_after_conversion_and_puts_unconvertible_last() {
    let mut candidates = three();
    candidates.push(candidate(ProviderId::Onsim, money("1", "JPY"), Closed));
    let plan = plan(
        &RoutingPolicy::default(),
        &jp(),
        &candidates,
        &fx(),
        cur("USD"),
        0,
    );
    assert_eq!(plan.order, [2, 1, 0, 3]);
    assert_eq!(
        plan.explanations[1].cost,
        Converted::Known(money("4.375", "USD"))
    );
    assert_eq!(
        plan.explanations[3].cost,
        Converted::NoRate(money("1", "JPY"))
    );
    let text = plan.to_string();
    assert!(
        text.starts_with("strategy cheapest\n#1 sim-local at 4 USD: by cost"),
        "{text}"
    );
    assert!(
        text.contains("#4 onsim at 1 JPY (no FX rate): by cost"),
        "{text}"
    );
}

#[test]
fn priority_follows_the_list_then_cost_for_the_unlisted() {
    let policy = policy(r#"{"strategy": "priority", "providers": ["esim-go", "esim-story"]}"#);
    let plan = plan(&policy, &jp(), &three(), &fx(), cur("USD"), 0);
    assert_eq!(plan.order, [0, 1, 2]);
    assert_eq!(
        plan.explanations[2].verdict,
        Verdict::Ranked {
            rank: 2,
            basis: Basis::Cost,
            half_open: false
        }
    );
}

#[test]
fn skips_excluded_and_open_and_defers_half_open() {
    let policy = policy(r#"{"exclude": ["esim-go"]}"#);
    let mut candidates = three();
    candidates[2].circuit = HalfOpen;
    candidates.push(candidate(ProviderId::Onsim, money("0.1", "USD"), Open));
    let plan = plan(&policy, &jp(), &candidates, &fx(), cur("USD"), 0);
    assert_eq!(plan.order, [1, 2]);
    assert_eq!(
        plan.explanations[0].verdict,
        Verdict::Skipped(Skip::Excluded)
    );
    assert_eq!(
        plan.explanations[3].verdict,
        Verdict::Skipped(Skip::CircuitOpen)
    );
    let text = plan.to_string();
    assert!(
        text.contains("(circuit half-open: after healthy providers)"),
        "{text}"
    );
    assert!(
        text.ends_with("skip esim-go: excluded by policy\nskip onsim: circuit open"),
        "{text}"
    );
}

#[test]
fn weighted_draw_splits_by_weight_and_is_reproducible() {
    let policy = policy(r#"{"strategy": "weighted", "weights": {"esim-go": 3, "sim-local": 1}}"#);
    let firsts: Vec<usize> = (0..8)
        .map(|draw| plan(&policy, &jp(), &three(), &fx(), cur("USD"), draw).order[0])
        .collect();
    // esim-go owns tickets 0..3, sim-local ticket 3, cyclically.
    assert_eq!(firsts, [0, 0, 0, 2, 0, 0, 0, 2]);
    let drawn = plan(&policy, &jp(), &three(), &fx(), cur("USD"), 3);
    assert_eq!(drawn.order, [2, 0, 1]);
    assert_eq!(
        drawn.explanations[2].verdict,
        Verdict::Ranked {
            rank: 0,
            basis: Basis::Drawn {
                weight: 1,
                total: 4
            },
            half_open: false
        }
    );
    assert_eq!(
        drawn.explanations[0].verdict,
        Verdict::Ranked {
            rank: 1,
            basis: Basis::Weight(3),
            half_open: false
        }
    );
    // An open circuit takes its provider out of the draw.
    let mut candidates = three();
    candidates[0].circuit = Open;
    assert_eq!(
        plan(&policy, &jp(), &candidates, &fx(), cur("USD"), 0).order,
        [2, 1]
    );
}

#[test]
fn country_override_applies_to_single_country_offers_only() {
    let policy =
        policy(r#"{"countries": {"JP": {"strategy": "priority", "providers": ["esim-go"]}}}"#);
    let japan = plan(&policy, &jp(), &three(), &fx(), cur("USD"), 0);
    assert_eq!(
        japan.country_override,
        Some(CountryCode::parse("JP").unwrap())
    );
    assert_eq!(japan.order, [0, 2, 1]);
    let region = [
        CountryCode::parse("JP").unwrap(),
        CountryCode::parse("KR").unwrap(),
    ];
    let asia = plan(&policy, &region, &three(), &fx(), cur("USD"), 0);
    assert_eq!(asia.country_override, None);
    assert_eq!(asia.order, [2, 1, 0]);
}

#[test]
fn validation_has_stable_codes() {
    let cases = [
        (r#"{"strategy": "priority"}"#, "priority_needs_providers"),
        (
            r#"{"strategy": "weighted", "weights": {"esim-go": 0}}"#,
            "weighted_needs_weights",
        ),
        (
            r#"{"strategy": "weighted", "weights": {"esim-go": 2}, "exclude": ["esim-go"]}"#,
            "weighted_needs_weights",
        ),
        (
            r#"{"providers": ["esim-go", "esim-go"]}"#,
            "duplicate_routing_provider",
        ),
        (
            r#"{"providers": ["esim-go"], "exclude": ["esim-go"]}"#,
            "conflicting_routing_provider",
        ),
        (r#"{"countries": {"JP": {}}}"#, "empty_routing_override"),
        (
            r#"{"countries": {"JP": {"strategy": "priority"}}}"#,
            "priority_needs_providers",
        ),
    ];
    for (json, code) in cases {
        let policy: RoutingPolicy = serde_json::from_str(json).unwrap();
        let err = policy.validate().unwrap_err();
        assert_eq!(err.code(), code, "{json}: {err}");
    }
    let err =
        serde_json::from_str::<RoutingPolicy>(r#"{"countries": {"JP": {"strategy": "priority"}}}"#)
            .unwrap()
            .validate()
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "countries.JP.strategy priority needs a non-empty providers list"
    );
}

#[test]
fn policy_round_trips_through_json() {
    let policy = policy(
        r#"{"strategy": "weighted", "providers": ["sim-local"], "weights": {"esim-go": 2}, "exclude": ["onsim"], "countries": {"JP": {"exclude": []}}}"#,
    );
    let json = serde_json::to_string(&policy).unwrap();
    assert_eq!(
        serde_json::from_str::<RoutingPolicy>(&json).unwrap(),
        policy
    );
}

fn arb_candidate() -> impl Strategy<Value = RouteCandidate> {
    (
        prop::sample::select(ProviderId::ALL.to_vec()),
        0i64..100_000,
        prop::sample::select(vec!["USD", "GBP", "JPY"]),
        prop::sample::select(vec![Closed, Open, HalfOpen]),
    )
        .prop_map(|(provider, cents, code, circuit)| {
            candidate(
                provider,
                Money::new(Decimal::new(cents, 2), cur(code)).unwrap(),
                circuit,
            )
        })
}

fn arb_policy() -> impl Strategy<Value = RoutingPolicy> {
    let strategy = prop::sample::select(vec![
        RoutingStrategy::Cheapest,
        RoutingStrategy::Priority,
        RoutingStrategy::Weighted,
    ]);
    (
        strategy,
        prop::sample::subsequence(ProviderId::ALL.to_vec(), 0..=5),
        prop::collection::vec(0u32..5, 5),
        any::<bool>(),
    )
        .prop_map(|(strategy, mut providers, weights, exclude_last)| {
            let exclude = if exclude_last {
                providers.pop().into_iter().collect()
            } else {
                Vec::new()
            };
            RoutingPolicy {
                strategy,
                providers,
                weights: ProviderId::ALL.into_iter().zip(weights).collect(),
                exclude,
                countries: BTreeMap::new(),
            }
        })
}

proptest! {
    #[test]
    fn plan_is_a_consistent_ordering(policy in arb_policy(), candidates in prop::collection::vec(arb_candidate(), 0..6), draw in any::<u64>()) {
        let plan = plan(&policy, &jp(), &candidates, &fx(), cur("USD"), draw);
        prop_assert_eq!(plan.explanations.len(), candidates.len());
        // Every candidate is either ranked exactly once or skipped.
        let mut seen = plan.order.clone();
        seen.sort_unstable();
        seen.dedup();
        prop_assert_eq!(seen.len(), plan.order.len());
        for (index, candidate) in candidates.iter().enumerate() {
            let ranked = plan.order.contains(&index);
            let skipped = candidate.circuit == Open || policy.exclude.contains(&candidate.provider);
            prop_assert_eq!(ranked, !skipped);
        }
        // Ranks match positions; half-open never before closed.
        for (rank, &index) in plan.order.iter().enumerate() {
            let Verdict::Ranked { rank: recorded, .. } = plan.explanations[index].verdict else {
                return Err(TestCaseError::fail("ordered candidate not ranked"));
            };
            prop_assert_eq!(recorded, rank);
        }
        for pair in plan.order.windows(2) {
            prop_assert!(!(candidates[pair[0]].circuit == HalfOpen && candidates[pair[1]].circuit == Closed));
        }
        // Cheapest: converted costs never decrease among closed candidates.
        if policy.strategy == RoutingStrategy::Cheapest {
            let closed: Vec<Converted> = plan.order.iter().filter(|&&i| candidates[i].circuit == Closed).map(|&i| plan.explanations[i].cost).collect();
            for pair in closed.windows(2) {
                prop_assert_ne!(compare_converted(pair[0], pair[1]), Ordering::Greater);
            }
        }
    }
}

/// Measures the routing decision's latency percentiles. Run with
/// `cargo test -p simgate-domain --release -- --ignored routing_latency --nocapture`
/// (debug numbers are an upper bound); the budget is 50 µs at p99.
#[test]
#[ignore = "a measurement, not a check: timing depends on the machine"]
fn routing_latency() {
    let policy = policy(
        r#"{"strategy": "cheapest", "providers": ["esim-go", "sim-local"], "countries": {"JP": {"exclude": ["onsim"]}}}"#,
    );
    let mut candidates = three();
    candidates.push(candidate(ProviderId::Onsim, money("2", "JPY"), Closed));
    candidates.push(candidate(ProviderId::Telnyx, money("6", "GBP"), HalfOpen));
    let fx = fx();
    let countries = jp();
    let mut samples: Vec<std::time::Duration> = (0..20_000u64)
        .map(|draw| {
            let start = std::time::Instant::now();
            let plan = plan(&policy, &countries, &candidates, &fx, cur("USD"), draw);
            let elapsed = start.elapsed();
            assert_eq!(plan.order.len(), 4);
            elapsed
        })
        .collect();
    samples.sort_unstable();
    let at = |p: usize| samples[samples.len() * p / 100];
    println!(
        "routing plan over 5 candidates: p50 {:?}, p99 {:?}, max {:?}",
        at(50),
        at(99),
        samples[samples.len() - 1]
    );
}
