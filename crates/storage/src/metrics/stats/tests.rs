//! Summaries against a sorted-array oracle: exact definitions on the expanded
//! samples, property tests for the sketch's accuracy, merging, the trimmed
//! family, and the encoding.

use proptest::prelude::*;

use super::*;

/// The accuracy the tests hold the sketch to: α, plus float noise.
const ALPHA: f64 = RELATIVE_ACCURACY * (1.0 + 1e-6);

fn stat(s: &str) -> Statistic {
    s.parse().unwrap()
}

/// The samples one by one, ascending.
fn expand(values: &[(f64, f64)]) -> Vec<f64> {
    let mut samples = Vec::new();
    for &(value, count) in values {
        for _ in 0..(count as usize) {
            samples.push(value);
        }
    }
    samples.sort_by(f64::total_cmp);
    samples
}

/// Textbook nearest rank: `x[⌈p·n/100⌉ - 1]`, `x[0]` for p0.
fn oracle_percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64 - 1e-9).ceil().max(1.0) as usize;
    sorted[rank.min(n) - 1]
}

/// What percentage bounds keep: drop the `⌊a·n/100⌋` lowest and the
/// `⌊(100-b)·n/100⌋` highest samples.
fn oracle_kept(sorted: &[f64], lower: Option<f64>, upper: Option<f64>) -> &[f64] {
    let n = sorted.len() as f64;
    let from = lower.map_or(0, |a| ((a / 100.0) * n + 1e-9).floor() as usize);
    let dropped_above = upper.map_or(0, |b| (((100.0 - b) / 100.0) * n + 1e-9).floor() as usize);
    let to = sorted.len() - dropped_above.min(sorted.len());
    if from >= to { &[] } else { &sorted[from..to] }
}

fn within(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance + 1e-12 * expected.abs()
}

// ---------------------------------------------------------------- examples

#[test]
fn nearest_rank_and_trimmed_definitions_on_one_to_ten() {
    let summary =
        Summary::from_values(&(1..=10).map(|v| (f64::from(v), 1.0)).collect::<Vec<_>>()).unwrap();
    let cases = [
        ("p0", 1.0),
        ("p10", 1.0),
        ("p50", 5.0),
        ("p90", 9.0),
        ("p91", 10.0),
        ("p100", 10.0),
        ("tm90", 5.0),
        ("TM(10%:90%)", 5.5),
        ("TC(10%:90%)", 8.0),
        ("TS(10%:90%)", 44.0),
        ("tc95", 10.0),
        ("wm90", 5.4),
        ("WM(20%:80%)", 5.5),
        ("WM(3:7)", 5.2),
        ("PR(:3)", 30.0),
        ("PR(3:7)", 40.0),
        ("PR(10:)", 0.0),
        ("TC(3:7)", 4.0),
        ("TS(3:7)", 22.0),
        ("TM(3:7)", 5.5),
        ("TS(80%:)", 19.0),
        ("IQM", 5.5),
        ("SampleCount", 10.0),
        ("Average", 5.5),
    ];
    for (name, expected) in cases {
        let actual = summary.compute(&stat(name));
        assert_eq!(actual, Some(expected), "{name}");
    }
    assert_eq!(summary.compute(&stat("TM(100:200)")), None, "no value kept");
    assert_eq!(summary.compute(&stat("TC(100:200)")), Some(0.0));
    assert_eq!(summary.compute(&stat("TS(100:200)")), Some(0.0));
}

#[test]
fn iqm_is_the_middle_half() {
    let summary =
        Summary::from_values(&(1..=8).map(|v| (f64::from(v), 1.0)).collect::<Vec<_>>()).unwrap();
    assert_eq!(summary.compute(&stat("IQM")), Some(4.5));
}

#[test]
fn percentile_rank_bounds_are_lower_exclusive_upper_inclusive() {
    let summary = Summary::from_values(&[(100.0, 1.0), (300.0, 1.0), (2000.0, 2.0)]).unwrap();
    assert_eq!(summary.compute(&stat("PR(:300)")), Some(50.0));
    assert_eq!(summary.compute(&stat("PR(100:2000)")), Some(75.0));
    assert_eq!(summary.compute(&stat("PR(300:)")), Some(50.0));
}

#[test]
fn statistic_set_of_one_value_counts_as_raw_values() {
    let mut summary = Summary::new();
    summary.add_statistic_set(4.0, 40.0, 10.0, 10.0).unwrap();
    summary.add_value(30.0, 1.0).unwrap();
    assert_eq!(summary.compute(&stat("p50")), Some(10.0));
    assert_eq!(summary.compute(&stat("p100")), Some(30.0));
    assert_eq!(summary.compute(&stat("TC(:20)")), Some(4.0));
}

#[test]
fn statistic_set_with_a_spread_makes_percentiles_unavailable_for_good() {
    let mut summary = Summary::from_values(&[(1.0, 1.0)]).unwrap();
    summary.add_statistic_set(3.0, 9.0, 2.0, 4.0).unwrap();
    assert_eq!(summary.compute(&stat("p50")), None);
    assert_eq!(summary.compute(&stat("tm99")), None);
    assert_eq!(summary.compute(&stat("SampleCount")), Some(4.0));
    assert_eq!(summary.compute(&stat("Sum")), Some(10.0));
    assert_eq!(summary.compute(&stat("Minimum")), Some(1.0));
    assert_eq!(summary.compute(&stat("Maximum")), Some(4.0));

    let mut hour = Summary::from_values(&[(5.0, 1.0)]).unwrap();
    hour.merge(&summary);
    assert_eq!(
        hour.compute(&stat("p50")),
        None,
        "a roll-up keeps it unavailable"
    );
    // Min = Max but Sum disagrees: not raw values either (AWS requires Sum = Min × SampleCount).
    let mut odd = Summary::new();
    odd.add_statistic_set(2.0, 5.0, 2.0, 2.0).unwrap();
    assert_eq!(odd.compute(&stat("p50")), None);
}

#[test]
fn bad_samples_are_errors() {
    let mut summary = Summary::new();
    assert!(summary.add_value(f64::NAN, 1.0).is_err());
    assert!(summary.add_value(f64::INFINITY, 1.0).is_err());
    assert!(summary.add_value(1.0, -1.0).is_err());
    assert!(summary.add_statistic_set(1.0, 1.0, 2.0, 1.0).is_err());
    assert!(summary.add_statistic_set(0.0, 0.0, 0.0, 0.0).is_err());
    summary.add_value(1.0, 0.0).unwrap();
    assert!(summary.is_empty());
    assert_eq!(summary.compute(&Statistic::SampleCount), None);
}

#[test]
fn negative_values_hide_the_percentile_family_but_not_the_distribution() {
    let summary = Summary::from_values(&[(-5.0, 1.0), (0.0, 1.0), (5.0, 2.0)]).unwrap();
    assert_eq!(summary.compute(&stat("p50")), None);
    assert_eq!(summary.compute(&stat("Minimum")), Some(-5.0));
    let distribution = summary.distribution().unwrap();
    assert_eq!(distribution.evaluate(&stat("p50")), Some(0.0));
    assert_eq!(distribution.evaluate(&stat("p25")), Some(-5.0));
    assert_eq!(distribution.evaluate(&stat("PR(:0)")), Some(50.0));
}

#[test]
fn distribution_becomes_a_sketch_past_the_exact_limit() {
    let mut summary = Summary::new();
    for v in 0..EXACT_LIMIT {
        summary.add_value(v as f64, 1.0).unwrap();
    }
    assert!(summary.distribution().unwrap().is_exact());
    summary.add_value(1000.0, 1.0).unwrap();
    assert!(!summary.distribution().unwrap().is_exact());
    assert_eq!(
        summary.compute(&stat("p100")),
        Some(1000.0),
        "extremes stay exact"
    );
    assert_eq!(summary.compute(&stat("p0")), Some(0.0));
}

// ---------------------------------------------------------------- sizes

/// xorshift64*, so size measurements are repeatable without a rand crate.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-normal latency in milliseconds, median ~40 ms.
    fn latency_ms(&mut self) -> f64 {
        let (u1, u2) = (self.next_f64().max(1e-12), self.next_f64());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (3.7 + 0.8 * normal).exp()
    }
}

fn minute_of(samples: usize, rounded_to_ms: bool) -> Summary {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut summary = Summary::new();
    for _ in 0..samples {
        let latency = rng.latency_ms();
        let value = if rounded_to_ms {
            latency.round()
        } else {
            latency
        };
        summary.add_value(value, 1.0).unwrap();
    }
    summary
}

#[test]
fn encoded_sizes_stay_small() {
    let sizes: Vec<(usize, bool, usize)> = [1, 60, 10_000]
        .into_iter()
        .flat_map(|n| [(n, false), (n, true)])
        .map(|(n, rounded)| (n, rounded, minute_of(n, rounded).encode().len()))
        .collect();
    for (n, rounded, bytes) in &sizes {
        let kind = if *rounded { "whole ms" } else { "continuous" };
        println!("1-minute summary of {n:>6} samples ({kind}): {bytes} bytes");
    }
    let size = |n: usize, rounded: bool| {
        sizes
            .iter()
            .find(|s| s.0 == n && s.1 == rounded)
            .map(|s| s.2)
            .unwrap()
    };
    assert!(size(1, false) <= 12);
    assert!(size(60, false) <= 220);
    assert!(size(10_000, false) <= 2_000);
    let statistic_set = {
        let mut s = Summary::new();
        s.add_statistic_set(60.0, 1234.5, 3.0, 90.0).unwrap();
        s.encode().len()
    };
    println!("statistic set: {statistic_set} bytes");
    assert!(statistic_set <= 27);
}

// ---------------------------------------------------------------- properties

/// A value of any sign and magnitude: zero, tiny, huge, or ordinary.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => Just(0.0),
        6 => (-12i32..12, 1.0f64..10.0, any::<bool>())
            .prop_map(|(e, m, neg)| if neg { -m * 10f64.powi(e) } else { m * 10f64.powi(e) }),
        1 => (-300i32..300, 1.0f64..10.0).prop_map(|(e, m)| m * 10f64.powi(e)),
        2 => (1u32..20).prop_map(f64::from),
    ]
}

/// `(value, count)` pairs, with duplicates and counts above one.
fn any_values(max_len: usize) -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec((any_value(), 1u32..5), 1..max_len).prop_map(|pairs| {
        let mut values: Vec<(f64, f64)> =
            pairs.into_iter().map(|(v, c)| (v, f64::from(c))).collect();
        // Repeat a few values exactly so duplicates are common.
        let repeats: Vec<(f64, f64)> = values.iter().step_by(7).copied().collect();
        values.extend(repeats);
        values
    })
}

fn positive_values(max_len: usize) -> impl Strategy<Value = Vec<(f64, f64)>> {
    any_values(max_len).prop_map(|values| {
        values
            .into_iter()
            .map(|(v, c)| (v.abs().max(1e-9), c))
            .collect()
    })
}

fn percent() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(50.0),
        Just(99.0),
        Just(99.9),
        Just(100.0),
        (0u32..=1000).prop_map(|p| f64::from(p) / 10.0),
    ]
}

fn percent_bounds() -> impl Strategy<Value = (Option<f64>, Option<f64>)> {
    (prop::option::of(percent()), prop::option::of(percent())).prop_filter(
        "one bound, lower < upper",
        |(lower, upper)| match (lower, upper) {
            (None, None) => false,
            (Some(l), Some(u)) => l < u,
            _ => true,
        },
    )
}

fn percentiles() -> Vec<f64> {
    vec![
        0.0, 0.1, 1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_percentile_is_within_alpha_of_the_oracle(
        values in any_values(600),
        extra in prop::collection::vec(percent(), 4),
    ) {
        let summary = Summary::from_values(&values).unwrap();
        let sorted = expand(&values);
        let distribution = summary.distribution().unwrap();
        for p in percentiles().into_iter().chain(extra) {
            let exact = oracle_percentile(&sorted, p);
            let estimate = distribution.evaluate(&Statistic::Percentile(p)).unwrap();
            prop_assert!(
                (estimate - exact).abs() <= ALPHA * exact.abs(),
                "p{} = {} against {} (exact: {})", p, estimate, exact, distribution.is_exact()
            );
            prop_assert!((estimate - exact).abs() <= 0.01 * exact.abs());
        }
        prop_assert_eq!(summary.sample_count(), sorted.len() as f64);
        prop_assert_eq!(summary.minimum(), sorted.first().copied());
        prop_assert_eq!(summary.maximum(), sorted.last().copied());
    }

    #[test]
    fn merging_parts_equals_summarizing_the_union(
        values in any_values(600),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut cut_points: Vec<usize> = cuts.iter().map(|i| i.index(values.len())).collect();
        cut_points.sort_unstable();
        let mut parts = Vec::new();
        let mut start = 0;
        for cut in cut_points.into_iter().chain([values.len()]) {
            parts.push(Summary::from_values(&values[start..cut]).unwrap());
            start = cut;
        }
        // Roll up as storage does: pairs first, then the pairs together.
        let mut merged = Summary::new();
        for pair in parts.chunks(2) {
            let mut rolled = Summary::new();
            for part in pair {
                rolled.merge(part);
            }
            merged.merge(&rolled);
        }
        let union = Summary::from_values(&values).unwrap();
        prop_assert_eq!(merged.distribution(), union.distribution());
        prop_assert_eq!(merged.sample_count(), union.sample_count());
        prop_assert_eq!(merged.minimum(), union.minimum());
        prop_assert_eq!(merged.maximum(), union.maximum());
        let magnitude: f64 = values.iter().map(|(v, c)| v.abs() * c).sum();
        prop_assert!(within(merged.sum(), union.sum(), 1e-12 * magnitude));
        let sorted = expand(&values);
        let distribution = merged.distribution().unwrap();
        for p in percentiles() {
            let exact = oracle_percentile(&sorted, p);
            let estimate = distribution.evaluate(&Statistic::Percentile(p)).unwrap();
            prop_assert!((estimate - exact).abs() <= ALPHA * exact.abs());
        }
    }

    #[test]
    fn trimmed_family_with_percent_bounds_matches_the_oracle(
        values in any_values(600),
        (lower, upper) in percent_bounds(),
    ) {
        let summary = Summary::from_values(&values).unwrap();
        let distribution = summary.distribution().unwrap();
        let sorted = expand(&values);
        let bounds = Bounds::Percent { lower, upper };
        let kept = oracle_kept(&sorted, lower, upper);
        let kept_magnitude: f64 = kept.iter().map(|v| v.abs()).sum();

        let count = distribution.evaluate(&Statistic::TrimmedCount(bounds)).unwrap();
        prop_assert_eq!(count, kept.len() as f64);

        let sum = distribution.evaluate(&Statistic::TrimmedSum(bounds)).unwrap();
        prop_assert!(within(sum, kept.iter().sum(), ALPHA * kept_magnitude));

        let mean = distribution.evaluate(&Statistic::TrimmedMean(bounds));
        if kept.is_empty() {
            prop_assert_eq!(mean, None);
        } else {
            let n = kept.len() as f64;
            let exact = kept.iter().sum::<f64>() / n;
            prop_assert!(within(mean.unwrap(), exact, ALPHA * kept_magnitude / n));
        }

        // Only `tm0` / `TM(100%:)` keep nothing; WM is then the one extreme.
        let keeps_some = lower.unwrap_or(0.0) < upper.unwrap_or(100.0);
        prop_assert_eq!(!kept.is_empty(), keeps_some);
        prop_assume!(keeps_some);
        let low = lower.map_or(f64::NEG_INFINITY, |_| kept[0]);
        let high = upper.map_or(f64::INFINITY, |_| kept[kept.len() - 1]);
        let n = sorted.len() as f64;
        let winsorized = sorted.iter().map(|v| v.clamp(low, high)).sum::<f64>() / n;
        let scale = sorted
            .iter()
            .map(|v| v.abs().max(if low.is_finite() { low.abs() } else { 0.0 })
                .max(if high.is_finite() { high.abs() } else { 0.0 }))
            .sum::<f64>() / n;
        let estimate = distribution.evaluate(&Statistic::WinsorizedMean(bounds)).unwrap();
        prop_assert!(within(estimate, winsorized, ALPHA * scale), "{} vs {}", estimate, winsorized);
    }

    #[test]
    fn trimmed_family_with_value_bounds_matches_the_oracle_away_from_the_bounds(
        values in positive_values(600),
        lower in prop::option::of(0.0f64..50.0),
        width in 0.5f64..1e6,
    ) {
        let upper = lower.unwrap_or(0.0) + width;
        // A sketch may misplace samples within α of a bound: keep samples away.
        let clear = |v: f64, b: f64| (v - b).abs() > 2.0 * ALPHA * b.abs();
        let values: Vec<(f64, f64)> = values
            .into_iter()
            .filter(|&(v, _)| lower.is_none_or(|lo| clear(v, lo)) && clear(v, upper))
            .collect();
        prop_assume!(!values.is_empty());
        let summary = Summary::from_values(&values).unwrap();
        let sorted = expand(&values);
        let kept: Vec<f64> = sorted
            .iter()
            .copied()
            .filter(|&v| lower.is_none_or(|lo| v > lo) && v <= upper)
            .collect();
        let range = ValueRange { lower, upper: Some(upper) };
        let bounds = Bounds::Value(range);
        let n = sorted.len() as f64;
        let kept_sum: f64 = kept.iter().sum();

        prop_assert_eq!(summary.compute(&Statistic::TrimmedCount(bounds)), Some(kept.len() as f64));
        prop_assert_eq!(
            summary.compute(&Statistic::PercentileRank(range)),
            Some(100.0 * kept.len() as f64 / n)
        );
        let sum = summary.compute(&Statistic::TrimmedSum(bounds)).unwrap();
        prop_assert!(within(sum, kept_sum, ALPHA * kept_sum));
        let mean = summary.compute(&Statistic::TrimmedMean(bounds));
        if kept.is_empty() {
            prop_assert_eq!(mean, None);
        } else {
            let exact = kept_sum / kept.len() as f64;
            prop_assert!(within(mean.unwrap(), exact, ALPHA * exact));
        }
        let low = lower.unwrap_or(f64::NEG_INFINITY);
        let winsorized = sorted.iter().map(|v| v.clamp(low, upper)).sum::<f64>() / n;
        let estimate = summary.compute(&Statistic::WinsorizedMean(bounds)).unwrap();
        prop_assert!(within(estimate, winsorized, ALPHA * winsorized));
    }

    #[test]
    fn encode_decode_round_trips(
        values in any_values(300),
        statistic_set in prop::option::of((1u32..100, 0.0f64..100.0, 0.0f64..10.0)),
        fractional_count in any::<bool>(),
    ) {
        let mut summary = Summary::from_values(&values).unwrap();
        if fractional_count {
            summary.add_value(3.0, 0.25).unwrap();
        }
        if let Some((count, low, spread)) = statistic_set {
            let count = f64::from(count);
            let sum = (low + spread / 2.0) * count;
            summary.add_statistic_set(count, sum, low, low + spread).unwrap();
        }
        let bytes = summary.encode();
        prop_assert_eq!(Summary::decode(&bytes), Ok(summary.clone()));
        for cut in 0..bytes.len() {
            prop_assert!(Summary::decode(&bytes[..cut]).is_err(), "a prefix of {} bytes decoded", cut);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_decode_never_panics(&bytes);
    }

    #[test]
    fn decoding_damaged_summaries_never_panics(
        values in any_values(200),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = Summary::from_values(&values).unwrap().encode();
        for (at, byte) in damage {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        check_decode_never_panics(&bytes);
    }

    #[test]
    fn statistic_display_parses_back(
        p in percent(),
        (lower, upper) in percent_bounds(),
        value_lower in prop::option::of(0u32..100_000),
        value_width in 1u32..100_000,
    ) {
        let values = ValueRange {
            lower: value_lower.map(|v| f64::from(v) / 1000.0),
            upper: Some(f64::from(value_lower.unwrap_or(0) + value_width) / 1000.0),
        };
        let percent_bounds = Bounds::Percent { lower, upper };
        for statistic in [
            Statistic::Percentile(p),
            Statistic::TrimmedMean(percent_bounds),
            Statistic::WinsorizedMean(Bounds::Value(values)),
            Statistic::TrimmedCount(percent_bounds),
            Statistic::TrimmedSum(Bounds::Value(values)),
            Statistic::PercentileRank(values),
        ] {
            let shown = statistic.to_string();
            prop_assert_eq!(shown.parse::<Statistic>(), Ok(statistic), "{}", shown);
        }
    }
}

fn check_decode_never_panics(bytes: &[u8]) {
    let Ok(summary) = Summary::decode(bytes) else {
        return;
    };
    for name in [
        "SampleCount",
        "Average",
        "Sum",
        "Minimum",
        "Maximum",
        "p0",
        "p50",
        "p100",
        "tm99",
        "TM(10%:90%)",
        "WM(5%:95%)",
        "TC(1:100)",
        "TS(:5)",
        "PR(1:2)",
        "IQM",
    ] {
        let statistic = stat(name);
        let _ = summary.compute(&statistic);
        if let Some(distribution) = summary.distribution() {
            let _ = distribution.evaluate(&statistic);
        }
    }
    let mut merged = summary.clone();
    merged.merge(&summary);
    assert_eq!(
        Summary::decode(&summary.encode()).map(|s| s.sample_count()),
        Ok(summary.sample_count())
    );
}
