//! Evaluates a parsed expression against the caller's data.
//!
//! Alignment rules (see the README for the sources):
//! * number ∘ series, number ∘ array: the number applies to every datapoint;
//! * series ∘ series with an arithmetic operator (`+ - * / ^`): a datapoint
//!   only where both series have one;
//! * series ∘ series with a comparison or logical operator: a datapoint
//!   wherever either has one, the missing side counting as 0 (AWS's
//!   documented `metric1 < metric2` example);
//! * array ∘ series, series ∘ array: the rule above per element; array ∘
//!   array is refused (AWS lists no such form);
//! * a result that is NaN or ±∞ (division by zero, LOG of 0) is dropped.

use super::error::MathError;
use super::functions;
use super::parser::{BinaryOp, Expr, Node};
use super::search::SearchQuery;
use super::value::{Series, Value};

/// What an expression needs from the GetMetricData request it belongs to.
///
/// Every series handed in must hold the datapoints of one period each,
/// timestamped at the period's start (epoch seconds, aligned on multiples of
/// the period), with missing datapoints simply absent. Series that break
/// the invariants of [`Series`] are sorted and cleaned on the way in.
pub trait MathContext {
    /// The value of another query of the request, by its `Id`: a metric
    /// query's series, or the already-evaluated value of another expression
    /// (evaluate in the order of [`Expression::referenced_ids`]). `None` when
    /// no query of the request has this id.
    ///
    /// [`Expression::referenced_ids`]: super::Expression::referenced_ids
    fn lookup(&self, id: &str) -> Option<Value>;

    /// The series of every metric query (`MetricStat`) of the request, in
    /// request order, each with its query id in [`Series::id`]: what
    /// `METRICS()` returns. Expressions are not included.
    fn metrics(&self) -> Vec<Series>;

    /// The series of every stored metric that `query` matches
    /// ([`SearchQuery::matches`]), aggregated with `statistic` (as written:
    /// `Average`, `p99`, …; refuse what the store cannot compute) over
    /// `period` seconds within [`time_range`](Self::time_range). Set
    /// [`Series::metric`] so results can be labelled; leave
    /// [`Series::label`] empty for the default label. Refuse a search that
    /// would return too many series (AWS caps a graph at 500) with
    /// [`MathError::context`].
    fn search(&self, query: &SearchQuery, statistic: &str, period: i64) -> Result<Vec<Series>, MathError>;

    /// The period in seconds of the expression being evaluated (its query's
    /// `Period`, else the period of the metrics it uses): the step of
    /// `TIME_SERIES`, and of FILL and the date functions on a series
    /// without a period.
    fn period(&self) -> i64;

    /// The request's `[StartTime, EndTime)` in epoch seconds: the extent of
    /// non-sparse results.
    fn time_range(&self) -> (i64, i64);
}

pub(crate) struct Evaluator<'a> {
    pub context: &'a dyn MathContext,
}

impl Evaluator<'_> {
    pub(crate) fn eval(&self, expr: &Expr) -> Result<Value, MathError> {
        match &expr.node {
            Node::Number(number) => Ok(Value::Scalar(*number)),
            Node::Id(id) => {
                let value = self.context.lookup(id).ok_or_else(|| MathError::UnknownId { id: id.clone(), position: expr.position })?;
                Ok(normalized(value))
            }
            Node::Str(_) => Err(MathError::argument(expr.position, "a string is only allowed as an argument of SEARCH or METRICS")),
            Node::Keyword(word) => Err(keyword_out_of_place(word, expr.position)),
            Node::Negate(inner) => Ok(map_values(self.eval(inner)?, |value| -value)),
            Node::Binary { .. } => {
                // A chain `m1 + m2 + … + mN` nests to the left as deep as it
                // is long; fold it iteratively so no length exhausts the stack
                // (other nesting is capped by the parser).
                let mut spine = Vec::new();
                let mut leftmost = expr;
                while let Node::Binary { op, left, right } = &leftmost.node {
                    spine.push((*op, right.as_ref(), leftmost.position));
                    leftmost = left;
                }
                let mut value = self.eval(leftmost)?;
                for (op, right, position) in spine.into_iter().rev() {
                    let right = self.eval(right)?;
                    value = binary(op, value, right, position)?;
                }
                Ok(value)
            }
            Node::Array(items) => {
                let mut array = Vec::new();
                for item in items {
                    match self.eval(item)? {
                        Value::Series(series) => array.push(series),
                        Value::Array(nested) => array.extend(nested),
                        Value::Scalar(_) => {
                            return Err(MathError::argument(item.position, "an array holds time series, not numbers; use TIME_SERIES(…) for a constant series"));
                        }
                    }
                }
                Ok(Value::Array(array))
            }
            Node::Call { name, args } => functions::call(self, name, args, expr.position),
        }
    }
}

pub(crate) fn keyword_out_of_place(word: &str, position: usize) -> MathError {
    if functions::is_known(word) {
        return MathError::syntax(position, format!("{word} is a function; call it with parentheses, e.g. {word}(m1)"));
    }
    match word {
        "REPEAT" | "LINEAR" => MathError::syntax(position, format!("{word} is only allowed as the second argument of FILL")),
        "ASC" | "DESC" => MathError::syntax(position, format!("{word} is only allowed as the sort order of SORT")),
        _ => MathError::syntax(position, format!("unknown name `{word}`; ids start with a lowercase letter, function names are followed by `(`")),
    }
}

/// A value handed in by the caller, restored to the series invariants.
pub(crate) fn normalized(value: Value) -> Value {
    match value {
        Value::Series(series) => Value::Series(series.normalized()),
        Value::Array(array) => Value::Array(array.into_iter().map(Series::normalized).collect()),
        scalar => scalar,
    }
}

/// `f` applied to a number or to every datapoint; metadata is kept.
pub(crate) fn map_values(value: Value, f: impl Fn(f64) -> f64) -> Value {
    let map_series = |series: Series| series.derived(series.points().map(|(timestamp, value)| (timestamp, f(value))));
    match value {
        Value::Scalar(number) => Value::Scalar(f(number)),
        Value::Series(series) => Value::Series(map_series(series)),
        Value::Array(array) => Value::Array(array.into_iter().map(map_series).collect()),
    }
}

pub(crate) fn binary(op: BinaryOp, left: Value, right: Value, position: usize) -> Result<Value, MathError> {
    let value = match (left, right) {
        (Value::Scalar(a), Value::Scalar(b)) => Value::Scalar(op.apply(a, b)),
        (series_or_array @ (Value::Series(_) | Value::Array(_)), Value::Scalar(b)) => map_values(series_or_array, |a| op.apply(a, b)),
        (Value::Scalar(a), series_or_array @ (Value::Series(_) | Value::Array(_))) => map_values(series_or_array, |b| op.apply(a, b)),
        (Value::Series(a), Value::Series(b)) => {
            let mut combined = Series::from_points("", "", a.period, combine(op, &a, &b));
            combined.period = a.period.max(b.period);
            Value::Series(combined)
        }
        (Value::Array(array), Value::Series(b)) => Value::Array(array.iter().map(|a| a.derived(combine(op, a, &b))).collect()),
        (Value::Series(a), Value::Array(array)) => Value::Array(array.iter().map(|b| b.derived(combine(op, &a, b))).collect()),
        (Value::Array(_), Value::Array(_)) => {
            return Err(MathError::argument(
                position,
                "an operator cannot combine two arrays of time series; combine each array into one series first (e.g. SUM([m1, m2]))",
            ));
        }
    };
    Ok(value)
}

/// The datapoints of `a op b` per the alignment rules in the module doc.
fn combine(op: BinaryOp, a: &Series, b: &Series) -> Vec<(i64, f64)> {
    let union = op.is_comparison_or_logical();
    let mut points = Vec::with_capacity(a.len().max(b.len()));
    let mut left = a.points().peekable();
    let mut right = b.points().peekable();
    loop {
        let (timestamp, x, y) = match (left.peek().copied(), right.peek().copied()) {
            (None, None) => break,
            (Some((t, x)), Some((u, y))) if t == u => {
                left.next();
                right.next();
                (t, Some(x), Some(y))
            }
            (Some((t, x)), Some((u, _))) if t < u => {
                left.next();
                (t, Some(x), None)
            }
            (Some((t, x)), None) => {
                left.next();
                (t, Some(x), None)
            }
            (_, Some((u, y))) => {
                right.next();
                (u, None, Some(y))
            }
        };
        match (x, y) {
            (Some(x), Some(y)) => points.push((timestamp, op.apply(x, y))),
            (x, y) if union => points.push((timestamp, op.apply(x.unwrap_or(0.0), y.unwrap_or(0.0)))),
            _ => {}
        }
    }
    points
}
