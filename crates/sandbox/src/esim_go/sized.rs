//! A catalogue of a chosen size, for benchmarks that need more (or fewer)
//! bundles than the default ~6,000: the default catalogue first, then
//! further country bundles with other sizes, durations and price revisions,
//! all derived from the seed so that two runs sell the same catalogue.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use simgate_connectors::esim_go::types::Bundle;

use crate::esim_go::state::{countries_by_region, country_bundle, generate_catalogue};

/// Data sizes in GB sold beside the default ones in a larger catalogue.
const EXTRA_SIZES_GB: [i64; 8] = [4, 7, 15, 25, 30, 40, 75, 100];
/// Durations in days sold beside the default ones in a larger catalogue.
const EXTRA_DURATIONS: [i64; 9] = [3, 5, 10, 14, 21, 45, 60, 90, 180];
/// Every size of a revision bundle (`None`: unlimited).
const ALL_SIZES_GB: [Option<i64>; 12] = [
    Some(1),
    Some(2),
    Some(3),
    Some(5),
    Some(10),
    Some(20),
    Some(50),
    Some(4),
    Some(15),
    Some(30),
    Some(100),
    None,
];
/// Every duration of a revision bundle.
const ALL_DURATIONS: [i64; 8] = [1, 3, 7, 10, 15, 30, 60, 90];

/// The catalogue of `size` bundles for `seed`: the default catalogue
/// truncated when `size` is smaller, else extended with country bundles of
/// further sizes and durations (`_V2`), then with price revisions (`_V3`,
/// `_V4`, …) of every size and duration, until `size` is reached.
pub(crate) fn generate_sized_catalogue(seed: u64, size: usize) -> Vec<Bundle> {
    let mut bundles = generate_catalogue(seed);
    if bundles.len() >= size {
        bundles.truncate(size);
        return bundles;
    }
    // A separate stream, so that the default part stays what it always was.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_CA7A_1061_0E5A);
    let countries = countries_by_region();
    let tiers: Vec<f64> = countries
        .iter()
        .map(|_| [0.8, 1.0, 1.3, 1.7][rng.random_range(0..4)])
        .collect();
    let mut combinations: Vec<(u32, Option<i64>, i64)> = Vec::new();
    for gb in EXTRA_SIZES_GB {
        for days in EXTRA_DURATIONS {
            combinations.push((2, Some(gb), days));
        }
    }
    let mut revision = 3;
    while bundles.len() < size {
        if combinations.is_empty() {
            for gb in ALL_SIZES_GB {
                for days in ALL_DURATIONS {
                    combinations.push((revision, gb, days));
                }
            }
            revision += 1;
        }
        for (country, tier) in countries.iter().zip(&tiers) {
            for &(version, gb, days) in &combinations {
                if bundles.len() >= size {
                    return bundles;
                }
                // Revisions move prices by up to ±15 %, in whole cents.
                let factor = if version == 2 {
                    1.0
                } else {
                    f64::from(rng.random_range(85_u32..=115)) / 100.0
                };
                bundles.push(country_bundle(country, gb, days, version, tier * factor));
            }
        }
        combinations.clear();
    }
    bundles
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_sized_catalogue_has_that_size_unique_names_and_is_deterministic() {
        for size in [10, 25_000, 60_000] {
            let bundles = generate_sized_catalogue(7, size);
            assert_eq!(bundles.len(), size);
            let names: HashSet<&str> = bundles.iter().map(|b| b.name.as_str()).collect();
            assert_eq!(names.len(), size, "bundle names are unique");
            assert!(bundles.iter().all(|b| b.price > 0.0));
            assert_eq!(generate_sized_catalogue(7, size), bundles);
        }
        let default = generate_catalogue(7);
        assert_eq!(
            generate_sized_catalogue(7, 25_000)[..default.len()],
            default[..]
        );
    }
}
