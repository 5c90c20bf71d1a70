//! What metric math computes with: a number, one time series, or an array
//! of time series (AWS's S, TS and TS[]).
//!
//! Timestamps are **epoch seconds** (CloudWatch periods are whole seconds and
//! GetMetricData's timestamps carry no finer precision). A series holds only
//! the datapoints that exist: a missing datapoint is absent, never NaN.
//! Timestamps are strictly ascending; values are always finite (a computation
//! that would produce NaN or ±∞, such as a division by zero, drops the
//! datapoint, as AWS does for division by zero).

/// The identity of a stored metric: what a SEARCH matches against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricIdentity<'a> {
    pub namespace: &'a str,
    pub metric_name: &'a str,
    /// Dimension name → value pairs, in the metric's own order.
    pub dimensions: &'a [(String, String)],
}

/// An owned [`MetricIdentity`], carried by series that come straight from a
/// stored metric (so SEARCH results can be labelled by their dimensions).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Metric {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
}

impl Metric {
    pub fn identity(&self) -> MetricIdentity<'_> {
        MetricIdentity { namespace: &self.namespace, metric_name: &self.metric_name, dimensions: &self.dimensions }
    }
}

/// One time series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The id of the metric query this series comes from (what
    /// `METRICS("filter")` matches), kept through element-wise functions;
    /// empty for series computed from several inputs.
    pub id: String,
    /// The label shown to the client. Empty means "use the expression's
    /// label" (see [`Value::into_results`]).
    pub label: String,
    /// The aggregation period in seconds (what `PERIOD(m1)` returns and the
    /// step of non-sparse results such as `FILL`).
    pub period: i64,
    /// Set when the series is a stored metric's data (metric queries and
    /// SEARCH results); `None` for computed series.
    pub metric: Option<Metric>,
    /// Epoch seconds, strictly ascending.
    pub timestamps: Vec<i64>,
    /// One finite value per timestamp.
    pub values: Vec<f64>,
}

impl Series {
    /// A series from `(timestamp, value)` points in any order: sorts them,
    /// keeps the last of duplicate timestamps and drops non-finite values.
    pub fn from_points(id: impl Into<String>, label: impl Into<String>, period: i64, points: impl IntoIterator<Item = (i64, f64)>) -> Series {
        let mut points: Vec<(i64, f64)> = points.into_iter().collect();
        points.sort_by_key(|&(timestamp, _)| timestamp);
        let mut series = Series { id: id.into(), label: label.into(), period, ..Series::default() };
        for (timestamp, value) in points {
            if !value.is_finite() {
                continue;
            }
            if series.timestamps.last() == Some(&timestamp) {
                series.timestamps.pop();
                series.values.pop();
            }
            series.timestamps.push(timestamp);
            series.values.push(value);
        }
        series
    }

    /// The same series restored to the invariants (ascending unique
    /// timestamps, finite values), for data handed in by a caller.
    pub(crate) fn normalized(self) -> Series {
        let sorted = self.timestamps.windows(2).all(|pair| matches!(pair, [a, b] if a < b));
        let consistent = self.timestamps.len() == self.values.len();
        if sorted && consistent && self.values.iter().all(|value| value.is_finite()) {
            return self;
        }
        let points: Vec<(i64, f64)> = self.timestamps.iter().copied().zip(self.values.iter().copied()).collect();
        Series { timestamps: Vec::new(), values: Vec::new(), ..self }.with_points(points)
    }

    /// A copy of this series' metadata (id, label, period, metric) with other
    /// datapoints, sorted and cleaned as [`Series::from_points`] does.
    pub(crate) fn with_points(&self, points: impl IntoIterator<Item = (i64, f64)>) -> Series {
        let mut series = Series::from_points(self.id.clone(), self.label.clone(), self.period, points);
        series.metric = self.metric.clone();
        series
    }

    /// A computed series with metadata from `self` but no metric identity.
    pub(crate) fn derived(&self, points: impl IntoIterator<Item = (i64, f64)>) -> Series {
        Series::from_points(self.id.clone(), self.label.clone(), self.period, points)
    }

    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// The datapoints as `(timestamp, value)` pairs in time order.
    pub fn points(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.timestamps.iter().copied().zip(self.values.iter().copied())
    }

    /// The value at `timestamp`, if there is a datapoint there.
    pub fn value_at(&self, timestamp: i64) -> Option<f64> {
        let index = self.timestamps.binary_search(&timestamp).ok()?;
        self.values.get(index).copied()
    }
}

/// The result of (part of) an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (AWS's S). May be NaN when it has no defined value (the AVG
    /// of an empty series, a division by zero); a NaN applied to a series
    /// drops every datapoint.
    Scalar(f64),
    /// One time series (TS).
    Series(Series),
    /// An array of time series (TS[]), even when it holds one or none.
    Array(Vec<Series>),
}

impl Value {
    /// What AWS calls the kind of this value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "a number",
            Value::Series(_) => "a time series",
            Value::Array(_) => "an array of time series",
        }
    }

    /// The series GetMetricData returns for an expression whose value this
    /// is, labelled as AWS labels them: a single series takes the
    /// expression's label, else `fallback`; each series of an array is labelled `"<expression label> <series
    /// label>"` (AWS's "Expression-Label Metric-Label" legend rule), or keeps
    /// its own label when the expression has none. A series that still has
    /// no label gets `fallback` (GetMetricData uses the query's id).
    ///
    /// A number is not a valid final result ([`MathError::ScalarResult`]).
    ///
    /// [`MathError::ScalarResult`]: super::MathError::ScalarResult
    pub fn into_results(self, expression_label: Option<&str>, fallback: &str) -> Result<Vec<Series>, super::MathError> {
        let expression_label = expression_label.filter(|label| !label.is_empty());
        match self {
            Value::Scalar(_) => Err(super::MathError::ScalarResult),
            Value::Series(mut series) => {
                series.label = expression_label.unwrap_or(fallback).to_string();
                Ok(vec![series])
            }
            Value::Array(mut array) => {
                for series in &mut array {
                    series.label = match (expression_label, series.label.is_empty()) {
                        (Some(label), true) => label.to_string(),
                        (Some(label), false) => format!("{label} {}", series.label),
                        (None, true) => fallback.to_string(),
                        (None, false) => std::mem::take(&mut series.label),
                    };
                }
                Ok(array)
            }
        }
    }
}
