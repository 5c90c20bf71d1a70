//! [`Summary`]: what Argus keeps for one series over one period, and
//! [`Distribution`]: the values behind the percentile-family statistics.

use super::sketch::Sketch;
use super::statistic::{Bounds, Statistic, ValueRange};

/// Distinct values kept exactly before a distribution becomes a sketch. Up to
/// this every statistic is exact (small test data sets give AWS's exact
/// answers); past it the sketch is also much the smaller encoding (2 to 3
/// bytes a bucket against 9 a value).
pub const EXACT_LIMIT: usize = 16;

/// Relative slack when comparing cumulative counts and when accepting a
/// statistic set as raw values: float sums of counts may be off in the last
/// bits, and a client's `Sum` may be `Min × SampleCount` rounded differently.
const TOLERANCE: f64 = 1e-9;

/// Count, sum, minimum and maximum of the samples of one period, plus their
/// distribution when AWS would have one.
///
/// AWS computes the percentile family (`p`, `TM`, `WM`, `TC`, `TS`, `PR`,
/// `IQM`) only from raw values. A statistic set (`StatisticValues`) counts as
/// raw values when `Minimum == Maximum` and `Sum == Minimum × SampleCount`
/// (AWS: "Requirements to use percentiles, trimmed mean, and some other
/// statistics"); any other statistic set makes the distribution unavailable
/// for the period and for every roll-up containing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub(super) count: f64,
    pub(super) sum: f64,
    /// `+∞` while empty.
    pub(super) min: f64,
    /// `-∞` while empty.
    pub(super) max: f64,
    /// `None` once a statistic set that is not raw values was added.
    pub(super) distribution: Option<Distribution>,
}

/// The values of a summary: exact while there are at most [`EXACT_LIMIT`]
/// distinct values, a sketch with relative accuracy
/// [`RELATIVE_ACCURACY`](super::RELATIVE_ACCURACY) after.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub(super) repr: Repr,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Repr {
    /// `(value, count)`, strictly ascending values, counts > 0.
    Exact(Vec<(f64, f64)>),
    Sketch(Sketch),
}

/// Why a value or statistic set was not added. Callers map these to
/// `InvalidParameterValue`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SummaryError {
    #[error("value {0} is not a finite number")]
    NonFiniteValue(f64),
    #[error("count {0} must be a finite number, zero or more")]
    BadCount(f64),
    #[error("statistic set: {0}")]
    BadStatisticSet(&'static str),
}

impl Default for Summary {
    fn default() -> Self {
        Self::new()
    }
}

impl Summary {
    /// No samples.
    pub fn new() -> Self {
        Self {
            count: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            distribution: Some(Distribution::empty()),
        }
    }

    /// A summary of `(value, count)` pairs, as in PutMetricData `Values` and
    /// `Counts`.
    pub fn from_values(values: &[(f64, f64)]) -> Result<Self, SummaryError> {
        let mut summary = Self::new();
        for &(value, count) in values {
            summary.add_value(value, count)?;
        }
        Ok(summary)
    }

    /// Adds `count` samples of `value`. A zero count adds nothing.
    pub fn add_value(&mut self, value: f64, count: f64) -> Result<(), SummaryError> {
        if !value.is_finite() {
            return Err(SummaryError::NonFiniteValue(value));
        }
        if !count.is_finite() || count < 0.0 {
            return Err(SummaryError::BadCount(count));
        }
        if count == 0.0 {
            return Ok(());
        }
        // -0.0 and 0.0 are one value.
        let value = if value == 0.0 { 0.0 } else { value };
        self.count += count;
        self.sum += value * count;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if let Some(distribution) = &mut self.distribution {
            distribution.add(value, count);
        }
        Ok(())
    }

    /// Adds a PutMetricData `StatisticValues` set.
    pub fn add_statistic_set(
        &mut self,
        count: f64,
        sum: f64,
        min: f64,
        max: f64,
    ) -> Result<(), SummaryError> {
        if !(count.is_finite() && sum.is_finite() && min.is_finite() && max.is_finite()) {
            return Err(SummaryError::BadStatisticSet(
                "every field must be a finite number",
            ));
        }
        if count <= 0.0 {
            return Err(SummaryError::BadStatisticSet(
                "SampleCount must be greater than 0",
            ));
        }
        if min > max {
            return Err(SummaryError::BadStatisticSet(
                "Minimum must not exceed Maximum",
            ));
        }
        let all_one_value = min == max && close(sum, min * count);
        if all_one_value {
            return self.add_value(min, count);
        }
        self.count += count;
        self.sum += sum;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        self.distribution = None;
        Ok(())
    }

    /// Adds every sample of `other` (sub-periods into a period, 1 s → 1 min →
    /// 5 min → 1 h roll-ups).
    pub fn merge(&mut self, other: &Summary) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other.clone();
            return;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.distribution = match (self.distribution.take(), &other.distribution) {
            (Some(mut mine), Some(theirs)) => {
                mine.merge(theirs);
                Some(mine)
            }
            _ => None,
        };
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0.0
    }

    pub fn sample_count(&self) -> f64 {
        self.count
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    pub fn minimum(&self) -> Option<f64> {
        (!self.is_empty()).then_some(self.min)
    }

    pub fn maximum(&self) -> Option<f64> {
        (!self.is_empty()).then_some(self.max)
    }

    /// The value distribution, `None` when a statistic set made it unavailable.
    pub fn distribution(&self) -> Option<&Distribution> {
        self.distribution.as_ref()
    }

    /// The statistic as CloudWatch would report it for this period, `None`
    /// where CloudWatch reports no value:
    ///
    /// * an empty summary has no statistics;
    /// * the percentile family needs the distribution (see [`Summary`]);
    /// * the percentile family is "not available for metrics when any of the
    ///   metric values are negative numbers" (AWS, GetMetricStatistics and the
    ///   statistics definitions), so a period whose minimum is negative has
    ///   none. [`Distribution::evaluate`] computes them anyway.
    ///
    /// Basic statistics are exact; see [`Distribution::evaluate`] for the rest.
    pub fn compute(&self, stat: &Statistic) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        match stat {
            Statistic::SampleCount => Some(self.count),
            Statistic::Sum => Some(self.sum),
            Statistic::Average => Some(self.sum / self.count),
            Statistic::Minimum => Some(self.min),
            Statistic::Maximum => Some(self.max),
            _ => {
                let distribution = self.distribution.as_ref()?;
                if self.min < 0.0 {
                    return None;
                }
                distribution.evaluate(stat)
            }
        }
    }
}

impl Distribution {
    fn empty() -> Self {
        Self {
            repr: Repr::Exact(Vec::new()),
        }
    }

    /// True while every value is kept as given (no sketch yet).
    pub fn is_exact(&self) -> bool {
        matches!(self.repr, Repr::Exact(_))
    }

    /// Number of samples.
    pub fn total_count(&self) -> f64 {
        match &self.repr {
            Repr::Exact(values) => values.iter().map(|&(_, count)| count).sum(),
            Repr::Sketch(sketch) => sketch.total(),
        }
    }

    /// Distinct values (exact) or non-empty buckets (sketch).
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Exact(values) => values.len(),
            Repr::Sketch(sketch) => sketch.bucket_count(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn add(&mut self, value: f64, count: f64) {
        match &mut self.repr {
            Repr::Exact(values) => {
                match values.binary_search_by(|(v, _)| v.total_cmp(&value)) {
                    Ok(at) => {
                        if let Some(entry) = values.get_mut(at) {
                            entry.1 += count;
                        }
                    }
                    Err(at) => values.insert(at, (value, count)),
                }
                if values.len() > EXACT_LIMIT {
                    self.become_sketch();
                }
            }
            Repr::Sketch(sketch) => sketch.add(value, count),
        }
    }

    fn merge(&mut self, other: &Distribution) {
        match (&mut self.repr, &other.repr) {
            (Repr::Exact(mine), Repr::Exact(theirs)) => {
                *mine = merge_exact(mine, theirs);
                if mine.len() > EXACT_LIMIT {
                    self.become_sketch();
                }
            }
            (Repr::Sketch(mine), Repr::Exact(theirs)) => {
                for &(value, count) in theirs {
                    mine.add(value, count);
                }
            }
            (Repr::Exact(mine), Repr::Sketch(theirs)) => {
                let mut sketch = theirs.clone();
                for &(value, count) in mine.iter() {
                    sketch.add(value, count);
                }
                self.repr = Repr::Sketch(sketch);
            }
            (Repr::Sketch(mine), Repr::Sketch(theirs)) => mine.merge(theirs),
        }
    }

    fn become_sketch(&mut self) {
        if let Repr::Exact(values) = &self.repr {
            let mut sketch = Sketch::new();
            for &(value, count) in values {
                sketch.add(value, count);
            }
            self.repr = Repr::Sketch(sketch);
        }
    }

    /// `(value, count)` in ascending value order; for a sketch, one entry per
    /// bucket at the bucket's value.
    pub fn ascending(&self) -> Box<dyn Iterator<Item = (f64, f64)> + '_> {
        match &self.repr {
            Repr::Exact(values) => Box::new(values.iter().copied()),
            Repr::Sketch(sketch) => Box::new(sketch.ascending()),
        }
    }

    /// Computes any statistic from the values alone (negative values allowed).
    /// `None` when there are no values, or for a trimmed mean whose bounds
    /// keep no value.
    ///
    /// Definitions, on the values sorted ascending `x₁ ≤ … ≤ xₙ` (counts
    /// repeat a value):
    ///
    /// * `pP` is nearest-rank: `x_k` with `k = ⌈P·n/100⌉` (`p0` is the
    ///   minimum). CloudWatch does not document its method; nearest-rank
    ///   always answers with a value that was published.
    /// * percentage bounds `(a%:b%)` drop the `⌊a·n/100⌋` lowest and the
    ///   `⌊(100-b)·n/100⌋` highest samples (ranks `⌊a·n/100⌋ < k ≤ ⌈b·n/100⌉`):
    ///   symmetric, never empty, and `tm90` keeps exactly the ranks up to
    ///   `p90`'s;
    /// * value bounds `(lo:hi)` keep values `lo < x ≤ hi` (AWS: lower
    ///   exclusive, upper inclusive);
    /// * `TC` is the kept count (0 if none), `TS` the kept sum (0 if none),
    ///   `TM` = `TS / TC` (none if nothing is kept);
    /// * `WM` averages all `n` samples after clamping them into the kept
    ///   range: with percentages the dropped samples take the value of the
    ///   nearest kept one (standard winsorizing); with value bounds they take
    ///   the bound;
    /// * `PR(lo:hi)` is `100 ×` (count with `lo < x ≤ hi`) `/ n`;
    /// * `IQM` is `TM(25%:75%)`.
    ///
    /// On a sketch the ranks are exact (the bucket mapping is monotonic) and
    /// each kept value is within α relative of the true one, so percentiles,
    /// `TC` and rank-trimmed `TM`/`TS`/`WM` are within α relative (of the sum
    /// of magnitudes when signs are mixed). Value bounds can only misplace
    /// samples within α of a bound.
    pub fn evaluate(&self, stat: &Statistic) -> Option<f64> {
        let n = self.total_count();
        if n <= 0.0 {
            return None;
        }
        match stat {
            Statistic::SampleCount => Some(n),
            Statistic::Sum => Some(self.ascending().map(|(v, c)| v * c).sum()),
            Statistic::Average => Some(self.ascending().map(|(v, c)| v * c).sum::<f64>() / n),
            Statistic::Minimum => self.min(),
            Statistic::Maximum => self.max(),
            Statistic::Percentile(p) => self.percentile(*p, n),
            Statistic::TrimmedMean(bounds) => {
                let window = self.window(bounds, n);
                (window.count > 0.0).then(|| window.sum / window.count)
            }
            Statistic::TrimmedCount(bounds) => Some(self.window(bounds, n).count),
            Statistic::TrimmedSum(bounds) => Some(self.window(bounds, n).sum),
            Statistic::InterquartileMean => {
                let middle = Bounds::Percent {
                    lower: Some(25.0),
                    upper: Some(75.0),
                };
                self.evaluate(&Statistic::TrimmedMean(middle))
            }
            Statistic::WinsorizedMean(bounds) => self.winsorized_mean(bounds, n),
            Statistic::PercentileRank(range) => Some(100.0 * self.value_window(range).count / n),
        }
    }

    /// The smallest value (exact, also for a sketch).
    pub fn min(&self) -> Option<f64> {
        match &self.repr {
            Repr::Exact(values) => values.first().map(|&(v, _)| v),
            Repr::Sketch(sketch) => (sketch.min <= sketch.max).then_some(sketch.min),
        }
    }

    /// The largest value (exact, also for a sketch).
    pub fn max(&self) -> Option<f64> {
        match &self.repr {
            Repr::Exact(values) => values.last().map(|&(v, _)| v),
            Repr::Sketch(sketch) => (sketch.min <= sketch.max).then_some(sketch.max),
        }
    }

    /// Nearest rank: `x_k` with `k = ⌈P·n/100⌉`, the minimum for `k ≤ 1`.
    fn percentile(&self, percent: f64, n: f64) -> Option<f64> {
        self.value_at_rank(ceil_tolerant(percent * n / 100.0), n)
    }

    /// `x_rank` (1-based) among the samples in ascending order.
    fn value_at_rank(&self, rank: f64, n: f64) -> Option<f64> {
        // The first and last ranks are the exact extremes, even in a sketch.
        if rank <= 1.0 {
            return self.min();
        }
        if rank >= n {
            return self.max();
        }
        let mut cumulative = 0.0;
        let mut last = None;
        for (value, count) in self.ascending() {
            cumulative += count;
            last = Some(value);
            if cumulative >= rank - TOLERANCE * n {
                return Some(value);
            }
        }
        last
    }

    /// The ranks percentage bounds keep: `(⌊a·n/100⌋, ⌈b·n/100⌉]`, i.e. drop
    /// the `⌊a·n/100⌋` lowest and the `⌊(100-b)·n/100⌋` highest samples.
    /// Never empty when `a < b` and counts are whole.
    fn kept_ranks(lower: Option<f64>, upper: Option<f64>, n: f64) -> (f64, f64) {
        let dropped_below = lower.map_or(0.0, |a| floor_tolerant(a * n / 100.0));
        let last_kept = upper.map_or(n, |b| ceil_tolerant(b * n / 100.0)).min(n);
        (dropped_below, last_kept)
    }

    fn window(&self, bounds: &Bounds, n: f64) -> Window {
        match bounds {
            Bounds::Percent { lower, upper } => self.rank_window(*lower, *upper, n),
            Bounds::Value(range) => self.value_window(range),
        }
    }

    /// Samples of the ranks [`Self::kept_ranks`]; with fractional counts a
    /// value contributes the part of its count inside the window.
    fn rank_window(&self, lower: Option<f64>, upper: Option<f64>, n: f64) -> Window {
        let (dropped_below, last_kept) = Self::kept_ranks(lower, upper, n);
        let mut window = Window::default();
        let mut cumulative = 0.0;
        for (value, count) in self.ascending() {
            let start = cumulative;
            cumulative += count;
            let inside = (cumulative.min(last_kept) - start.max(dropped_below)).max(0.0);
            if inside > 0.0 {
                window.count += inside;
                window.sum += inside * value;
            }
        }
        window
    }

    fn value_window(&self, range: &ValueRange) -> Window {
        let mut window = Window::default();
        for (value, count) in self.ascending() {
            let above_lower = range.lower.is_none_or(|lo| value > lo);
            let within_upper = range.upper.is_none_or(|hi| value <= hi);
            if above_lower && within_upper {
                window.count += count;
                window.sum += count * value;
            }
        }
        window
    }

    fn winsorized_mean(&self, bounds: &Bounds, n: f64) -> Option<f64> {
        let (low, high) = match bounds {
            Bounds::Percent { lower, upper } => {
                // Dropped samples take the value of the nearest kept one.
                let (dropped_below, last_kept) = Self::kept_ranks(*lower, *upper, n);
                (
                    lower.and_then(|_| self.value_at_rank(dropped_below + 1.0, n)),
                    upper.and_then(|_| self.value_at_rank(last_kept, n)),
                )
            }
            Bounds::Value(range) => (range.lower, range.upper),
        };
        let low = low.unwrap_or(f64::NEG_INFINITY);
        let high = high.unwrap_or(f64::INFINITY);
        if low > high {
            return None;
        }
        let clamped_sum: f64 = self
            .ascending()
            .map(|(value, count)| value.clamp(low, high) * count)
            .sum();
        Some(clamped_sum / n)
    }
}

#[derive(Debug, Default)]
struct Window {
    count: f64,
    sum: f64,
}

/// Merges two ascending, deduplicated value lists.
fn merge_exact(a: &[(f64, f64)], b: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(a.len() + b.len());
    let mut all: Vec<(f64, f64)> = a.iter().chain(b).copied().collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    for (value, count) in all {
        match merged.last_mut() {
            Some(last) if last.0 == value => last.1 += count,
            _ => merged.push((value, count)),
        }
    }
    merged
}

/// `⌈x⌉`, except that `x` within float noise of an integer is that integer:
/// `99.9 × 1000 / 100` must be rank 999, not 1000.
fn ceil_tolerant(x: f64) -> f64 {
    let nearest = x.round();
    if (x - nearest).abs() <= TOLERANCE * nearest.abs().max(1.0) {
        nearest
    } else {
        x.ceil()
    }
}

/// `⌊x⌋`, with the same tolerance as [`ceil_tolerant`].
fn floor_tolerant(x: f64) -> f64 {
    let nearest = x.round();
    if (x - nearest).abs() <= TOLERANCE * nearest.abs().max(1.0) {
        nearest
    } else {
        x.floor()
    }
}

/// Equal up to [`TOLERANCE`] relative.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
}
