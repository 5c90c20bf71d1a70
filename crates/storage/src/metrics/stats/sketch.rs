//! A DDSketch-style log-bucketed sketch (Masson, Rim, Lee: "DDSketch: a fast
//! and fully-mergeable quantile sketch with relative-error guarantees",
//! VLDB 2019, <https://arxiv.org/abs/1908.10693>).
//!
//! A positive value `x` goes to bucket `i = ceil(log_γ x)`, which holds
//! `(γ^(i-1), γ^i]`; a bucket answers with `2γ^i / (γ + 1)`, within
//! [`RELATIVE_ACCURACY`] of every value it holds. Negative values go to a
//! second store by `|x|`; zeros are a plain count. The mapping is monotonic,
//! so a value's rank among the samples is the rank of its bucket: the sketch
//! answers every rank-based question exactly, up to the relative error of the
//! value it returns. Stores are sparse (sorted `(index, count)` pairs) and
//! never collapse buckets, so the guarantee holds for every percentile; the
//! index of any finite `f64` is within ±[`MAX_INDEX`], which bounds memory.
//! See `README.md` beside this file.

use std::cmp::Ordering;

/// α: every value the sketch returns is within this relative error of a value
/// it was given. Half of the 1% Argus promises, for headroom.
pub const RELATIVE_ACCURACY: f64 = 0.005;

/// γ = (1 + α) / (1 - α).
const GAMMA: f64 = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);

/// Bucket indexes of finite non-zero `f64`s: `ln(f64::MAX) / ln γ ≈ 70 981`,
/// `ln(5e-324) / ln γ ≈ -74 443`. Decoding rejects anything outside.
pub(super) const MAX_INDEX: i32 = 80_000;

fn ln_gamma() -> f64 {
    GAMMA.ln()
}

/// The bucket holding `magnitude` (> 0, finite).
fn bucket_index(magnitude: f64) -> i32 {
    debug_assert!(magnitude > 0.0 && magnitude.is_finite());
    let index = (magnitude.ln() / ln_gamma()).ceil();
    // Finite non-zero doubles map inside ±MAX_INDEX; the clamp only guards the cast.
    index.clamp(f64::from(-MAX_INDEX), f64::from(MAX_INDEX)) as i32
}

/// The value a bucket answers with: the point of least relative error.
fn bucket_value(index: i32) -> f64 {
    // γ^i · 2/(γ+1), in log space so buckets near f64::MAX do not overflow.
    (f64::from(index) * ln_gamma() + (2.0 / (GAMMA + 1.0)).ln()).exp()
}

/// Counts per bucket index, sorted by index, no zero counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Store {
    buckets: Vec<(i32, f64)>,
}

impl Store {
    pub(super) fn from_sorted(buckets: Vec<(i32, f64)>) -> Self {
        debug_assert!(buckets.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)));
        Self { buckets }
    }

    pub(super) fn buckets(&self) -> &[(i32, f64)] {
        &self.buckets
    }

    fn add(&mut self, index: i32, count: f64) {
        match self.buckets.binary_search_by_key(&index, |&(i, _)| i) {
            Ok(at) => {
                if let Some(bucket) = self.buckets.get_mut(at) {
                    bucket.1 += count;
                }
            }
            Err(at) => self.buckets.insert(at, (index, count)),
        }
    }

    fn merge(&mut self, other: &Store) {
        if other.buckets.is_empty() {
            return;
        }
        let mut merged = Vec::with_capacity(self.buckets.len() + other.buckets.len());
        let mut mine = self.buckets.iter().copied().peekable();
        let mut theirs = other.buckets.iter().copied().peekable();
        loop {
            let next = match (mine.peek().copied(), theirs.peek().copied()) {
                (None, None) => break,
                (Some(a), None) => {
                    mine.next();
                    a
                }
                (None, Some(b)) => {
                    theirs.next();
                    b
                }
                (Some(a), Some(b)) => match a.0.cmp(&b.0) {
                    Ordering::Less => {
                        mine.next();
                        a
                    }
                    Ordering::Greater => {
                        theirs.next();
                        b
                    }
                    Ordering::Equal => {
                        mine.next();
                        theirs.next();
                        (a.0, a.1 + b.1)
                    }
                },
            };
            merged.push(next);
        }
        self.buckets = merged;
    }

    fn total(&self) -> f64 {
        self.buckets.iter().map(|&(_, count)| count).sum()
    }
}

/// The sketch: negative store (by `|x|`), zero count, positive store, and the
/// exact extremes so answers never leave `[min, max]`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sketch {
    pub(super) negative: Store,
    pub(super) zero: f64,
    pub(super) positive: Store,
    pub(super) min: f64,
    pub(super) max: f64,
}

impl Sketch {
    pub(super) fn new() -> Self {
        Self {
            negative: Store::default(),
            zero: 0.0,
            positive: Store::default(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// `value` finite, `count` > 0 (checked by the caller).
    pub(super) fn add(&mut self, value: f64, count: f64) {
        if value > 0.0 {
            self.positive.add(bucket_index(value), count);
        } else if value < 0.0 {
            self.negative.add(bucket_index(-value), count);
        } else {
            self.zero += count;
        }
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    pub(super) fn merge(&mut self, other: &Sketch) {
        self.negative.merge(&other.negative);
        self.positive.merge(&other.positive);
        self.zero += other.zero;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub(super) fn total(&self) -> f64 {
        self.negative.total() + self.zero + self.positive.total()
    }

    pub(super) fn bucket_count(&self) -> usize {
        self.negative.buckets.len() + self.positive.buckets.len() + usize::from(self.zero > 0.0)
    }

    /// `(value, count)` in ascending value order, each value clamped to the
    /// exact `[min, max]` (clamping is monotonic and only moves a value closer
    /// to every sample of its bucket).
    pub(super) fn ascending(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let (min, max) = (self.min, self.max);
        let clamp = move |v: f64| if min <= max { v.clamp(min, max) } else { v };
        let negatives = self
            .negative
            .buckets
            .iter()
            .rev()
            .map(move |&(i, count)| (clamp(-bucket_value(i)), count));
        let zeros = (self.zero > 0.0).then_some((0.0, self.zero));
        let positives = self
            .positive
            .buckets
            .iter()
            .map(move |&(i, count)| (clamp(bucket_value(i)), count));
        negatives.chain(zeros).chain(positives)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bucket_answers_within_alpha_of_its_values() {
        let mut x = f64::MIN_POSITIVE / 1e10;
        while x < f64::MAX / 1.3 {
            let answer = bucket_value(bucket_index(x));
            let error = (answer - x).abs() / x;
            assert!(
                error <= RELATIVE_ACCURACY * (1.0 + 1e-9),
                "{x}: {answer} ({error})"
            );
            x *= 1.37;
        }
    }

    #[test]
    fn extreme_doubles_stay_inside_max_index() {
        for x in [f64::MAX, f64::MIN_POSITIVE, 5e-324, 1.0] {
            let index = bucket_index(x);
            assert!(index.abs() < MAX_INDEX, "{x}: {index}");
        }
    }

    #[test]
    fn merge_adds_counts_of_shared_buckets() {
        let mut a = Store::from_sorted(vec![(1, 1.0), (3, 2.0), (9, 1.0)]);
        let b = Store::from_sorted(vec![(0, 5.0), (3, 1.0), (10, 1.0)]);
        a.merge(&b);
        assert_eq!(
            a.buckets(),
            &[(0, 5.0), (1, 1.0), (3, 3.0), (9, 1.0), (10, 1.0)]
        );
    }

    #[test]
    fn ascending_orders_negatives_zero_positives() {
        let mut sketch = Sketch::new();
        for v in [5.0, -3.0, 0.0, -100.0, 2.0, 0.0] {
            sketch.add(v, 1.0);
        }
        let values: Vec<f64> = sketch.ascending().map(|(v, _)| v).collect();
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
        let first = values.first().copied().unwrap();
        assert!(
            (first + 100.0).abs() <= 100.0 * RELATIVE_ACCURACY,
            "{first}"
        );
        let last = values.last().copied().unwrap();
        assert!((last - 5.0).abs() <= 5.0 * RELATIVE_ACCURACY, "{last}");
        assert_eq!(sketch.total(), 6.0);
    }
}
