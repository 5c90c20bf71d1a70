//! The metric math functions, per AWS's "Metric math syntax and functions"
//! table (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>).
//!
//! Argument kinds are checked as AWS lists them (S = number, TS = series,
//! TS[] = array); a wrong kind is a [`MathError::Argument`] naming the
//! function and what it takes. Functions that need another AWS service are
//! refused with [`MathError::Unsupported`].

use std::collections::BTreeMap;

use super::error::MathError;
use super::eval::{Evaluator, map_values};
use super::parser::{Expr, Node};
use super::search::SearchQuery;
use super::time::{date_part, grid};
use super::value::{Series, Value};

/// Every function this server evaluates.
const FUNCTIONS: &[&str] = &[
    "ABS",
    "AVG",
    "CEIL",
    "DATAPOINT_COUNT",
    "DATE",
    "DAY",
    "DIFF",
    "DIFF_TIME",
    "EPOCH",
    "FILL",
    "FIRST",
    "FLOOR",
    "HOUR",
    "IF",
    "LAST",
    "LOG",
    "LOG10",
    "MAX",
    "METRIC_COUNT",
    "METRICS",
    "MIN",
    "MINUTE",
    "MONTH",
    "PERIOD",
    "RATE",
    "REMOVE_EMPTY",
    "RUNNING_SUM",
    "SEARCH",
    "SLICE",
    "SORT",
    "STDDEV",
    "SUM",
    "TIME_SERIES",
    "YEAR",
];

/// AWS functions that need a service or feature Argus does not have, with why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("ANOMALY_DETECTION_BAND", "it needs CloudWatch anomaly detection models"),
    ("INSIGHT_RULE_METRIC", "it needs Contributor Insights rules"),
    ("SERVICE_QUOTA", "it needs AWS Service Quotas"),
    ("LAMBDA", "it calls an AWS Lambda function"),
    ("DB_PERF_INSIGHTS", "it needs Amazon RDS Performance Insights"),
];

pub(crate) fn is_known(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

/// Checks at parse time that `name` is a function this server evaluates.
pub(crate) fn check_name(name: &str, position: usize) -> Result<(), MathError> {
    if is_known(name) {
        return Ok(());
    }
    if let Some((_, reason)) = UNSUPPORTED.iter().find(|(unsupported, _)| *unsupported == name) {
        return Err(MathError::Unsupported { name: name.to_string(), position, reason: (*reason).to_string() });
    }
    let upper = name.to_ascii_uppercase();
    let hint = if upper != name && is_known(&upper) { format!("; function names are uppercase (`{upper}`)") } else { String::new() };
    Err(MathError::UnknownFunction { name: name.to_string(), position, hint })
}

pub(crate) fn call(evaluator: &Evaluator<'_>, name: &str, args: &[Expr], position: usize) -> Result<Value, MathError> {
    check_name(name, position)?;
    match name {
        "METRICS" => return metrics(evaluator, args, position),
        "SEARCH" => return search(evaluator, args, position),
        "FILL" => return fill(evaluator, args, position),
        "SORT" => return sort(evaluator, args, position),
        "IF" => return if_function(evaluator, args, position),
        _ => {}
    }
    let mut values = Vec::with_capacity(args.len());
    for arg in args {
        values.push(evaluator.eval(arg)?);
    }
    let context = evaluator.context;
    match name {
        "ABS" => element_wise(name, values, position, f64::abs),
        "CEIL" => element_wise(name, values, position, f64::ceil),
        "FLOOR" => element_wise(name, values, position, f64::floor),
        "LOG" => element_wise(name, values, position, f64::ln),
        "LOG10" => element_wise(name, values, position, f64::log10),
        "AVG" | "MAX" | "MIN" | "SUM" | "STDDEV" | "DATAPOINT_COUNT" => reduce(name, values, position),
        "DIFF" | "DIFF_TIME" | "RATE" | "RUNNING_SUM" => {
            let input = one_series_or_array(name, values, position)?;
            Ok(for_each_series(input, |series| consecutive(name, series)))
        }
        "FIRST" | "LAST" => {
            let array = one_array(name, values, position)?;
            let picked = if name == "FIRST" { array.into_iter().next() } else { array.into_iter().next_back() };
            Ok(Value::Series(picked.unwrap_or_default()))
        }
        "METRIC_COUNT" => Ok(Value::Scalar(one_array(name, values, position)?.len() as f64)),
        "REMOVE_EMPTY" => Ok(Value::Array(one_array(name, values, position)?.into_iter().filter(|series| !series.is_empty()).collect())),
        "PERIOD" => match single(name, values, position)? {
            Value::Series(series) => Ok(Value::Scalar(series.period as f64)),
            other => Err(MathError::argument(position, format!("PERIOD takes a metric's time series, not {}", other.kind()))),
        },
        "SLICE" => slice(values, position),
        "TIME_SERIES" => match single(name, values, position)? {
            Value::Scalar(number) => {
                let period = context.period();
                let timestamps = grid(period, context.time_range(), position)?;
                Ok(Value::Series(Series::from_points("", "", period, timestamps.into_iter().map(|t| (t, number)))))
            }
            other => Err(MathError::argument(position, format!("TIME_SERIES takes a number, not {}", other.kind()))),
        },
        _ => {
            let Some(part) = date_part(name) else {
                return Err(MathError::UnknownFunction { name: name.to_string(), position, hint: String::new() });
            };
            let input = one_series_or_array(name, values, position)?;
            let mut error = None;
            let result = for_each_series(input, |series| {
                let period = if series.period > 0 { series.period } else { context.period() };
                match grid(period, context.time_range(), position) {
                    Ok(timestamps) => Series { period, ..series.derived(timestamps.into_iter().map(|t| (t, part(t)))) },
                    Err(problem) => {
                        error = Some(problem);
                        Series::default()
                    }
                }
            });
            error.map_or(Ok(result), Err)
        }
    }
}

fn arity(name: &str, args: usize, allowed: std::ops::RangeInclusive<usize>, position: usize) -> Result<(), MathError> {
    if allowed.contains(&args) {
        return Ok(());
    }
    let (low, high) = (*allowed.start(), *allowed.end());
    let wanted = match (low, high) {
        (0, 1) => "no argument or one".to_string(),
        (low, high) if low == high => format!("{low} argument{}", if low == 1 { "" } else { "s" }),
        (low, high) if high == low + 1 => format!("{low} or {high} arguments"),
        (low, high) => format!("{low} to {high} arguments"),
    };
    Err(MathError::argument(position, format!("{name} takes {wanted}, not {args}")))
}

fn single(name: &str, values: Vec<Value>, position: usize) -> Result<Value, MathError> {
    arity(name, values.len(), 1..=1, position)?;
    values.into_iter().next().ok_or_else(|| MathError::argument(position, format!("{name} takes 1 argument")))
}

fn one_series_or_array(name: &str, values: Vec<Value>, position: usize) -> Result<Value, MathError> {
    match single(name, values, position)? {
        Value::Scalar(_) => Err(MathError::argument(position, format!("{name} takes a time series or an array of time series, not a number"))),
        other => Ok(other),
    }
}

fn one_array(name: &str, values: Vec<Value>, position: usize) -> Result<Vec<Series>, MathError> {
    expect_array(name, single(name, values, position)?, position)
}

fn expect_array(name: &str, value: Value, position: usize) -> Result<Vec<Series>, MathError> {
    match value {
        Value::Array(array) => Ok(array),
        Value::Series(_) => Err(MathError::argument(position, format!("{name} takes an array of time series, not a single time series; write [m1] for an array of one"))),
        Value::Scalar(_) => Err(MathError::argument(position, format!("{name} takes an array of time series, not a number"))),
    }
}

fn for_each_series(value: Value, mut f: impl FnMut(Series) -> Series) -> Value {
    match value {
        Value::Series(series) => Value::Series(f(series)),
        Value::Array(array) => Value::Array(array.into_iter().map(f).collect()),
        scalar => scalar,
    }
}

/// ABS, CEIL, FLOOR, LOG, LOG10: per datapoint (a number is accepted too).
fn element_wise(name: &str, values: Vec<Value>, position: usize, f: fn(f64) -> f64) -> Result<Value, MathError> {
    Ok(map_values(single(name, values, position)?, f))
}

/// One statistic of a list of values; NaN where it is undefined.
fn statistic(name: &str, values: &[f64]) -> f64 {
    let count = values.len() as f64;
    let sum: f64 = values.iter().sum();
    match name {
        "SUM" => sum,
        "DATAPOINT_COUNT" => count,
        _ if values.is_empty() => f64::NAN,
        "AVG" => sum / count,
        "MAX" => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "MIN" => values.iter().copied().fold(f64::INFINITY, f64::min),
        // Population standard deviation: AWS does not say which; with the
        // sample formula one datapoint would have no deviation at all.
        "STDDEV" => {
            let mean = sum / count;
            (values.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / count).sqrt()
        }
        _ => f64::NAN,
    }
}

/// AVG, MAX, MIN, SUM, STDDEV, DATAPOINT_COUNT: of one series, a number over
/// all its datapoints; of an array, a series over the array per timestamp.
fn reduce(name: &str, values: Vec<Value>, position: usize) -> Result<Value, MathError> {
    match one_series_or_array(name, values, position)? {
        Value::Series(series) => Ok(Value::Scalar(statistic(name, &series.values))),
        Value::Array(array) => {
            let mut by_timestamp: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
            for series in &array {
                for (timestamp, value) in series.points() {
                    by_timestamp.entry(timestamp).or_default().push(value);
                }
            }
            let period = array.iter().map(|series| series.period).max().unwrap_or(0);
            let points = by_timestamp.into_iter().map(|(timestamp, present)| {
                // AWS: "The AVG of an array of time series returns a single
                // time series. Missing values are treated as 0."
                let value = if name == "AVG" { present.iter().sum::<f64>() / array.len() as f64 } else { statistic(name, &present) };
                (timestamp, value)
            });
            Ok(Value::Series(Series::from_points("", "", period, points)))
        }
        Value::Scalar(_) => Err(MathError::argument(position, format!("{name} takes a time series or an array of time series, not a number"))),
    }
}

/// DIFF, DIFF_TIME, RATE, RUNNING_SUM: over consecutive datapoints (the
/// "preceding value" is the previous datapoint, however far back).
fn consecutive(name: &str, series: Series) -> Series {
    let points: Vec<(i64, f64)> = series.points().collect();
    let mut out = Vec::with_capacity(points.len());
    if name == "RUNNING_SUM" {
        let mut total = 0.0;
        for (timestamp, value) in &points {
            total += value;
            out.push((*timestamp, total));
        }
        return series.derived(out);
    }
    for pair in points.windows(2) {
        let [(t0, v0), (t1, v1)] = pair else { continue };
        let seconds = (t1 - t0) as f64;
        let value = match name {
            "DIFF" => v1 - v0,
            "DIFF_TIME" => seconds,
            _ => (v1 - v0) / seconds,
        };
        out.push((*t1, value));
    }
    series.derived(out)
}

fn slice(values: Vec<Value>, position: usize) -> Result<Value, MathError> {
    arity("SLICE", values.len(), 2..=3, position)?;
    let mut values = values.into_iter();
    let array = expect_array("SLICE", values.next().unwrap_or(Value::Array(Vec::new())), position)?;
    let mut bound = |what: &str| -> Result<Option<usize>, MathError> {
        match values.next() {
            None => Ok(None),
            Some(Value::Scalar(number)) if number.is_finite() && number >= 0.0 => Ok(Some(number.floor().min(usize::MAX as f64) as usize)),
            Some(Value::Scalar(number)) => Err(MathError::argument(position, format!("the {what} index of SLICE must be a number ≥ 0, not {number}"))),
            Some(other) => Err(MathError::argument(position, format!("the {what} index of SLICE must be a number, not {}", other.kind()))),
        }
    };
    let start = bound("start")?.unwrap_or(0);
    let end = bound("end")?.unwrap_or(usize::MAX);
    Ok(Value::Array(array.into_iter().skip(start).take(end.saturating_sub(start)).collect()))
}

fn keyword(arg: &Expr) -> Option<&str> {
    match &arg.node {
        Node::Keyword(word) => Some(word),
        _ => None,
    }
}

fn string(arg: &Expr) -> Option<&str> {
    match &arg.node {
        Node::Str(text) => Some(text),
        _ => None,
    }
}

/// `METRICS()` / `METRICS("filter")`: the request's metrics whose id
/// contains the filter.
fn metrics(evaluator: &Evaluator<'_>, args: &[Expr], position: usize) -> Result<Value, MathError> {
    arity("METRICS", args.len(), 0..=1, position)?;
    let filter = match args.first() {
        None => None,
        Some(arg) => Some(string(arg).ok_or_else(|| MathError::argument(arg.position, "METRICS takes a string to match metric ids, e.g. METRICS(\"errors\")"))?),
    };
    let all = evaluator.context.metrics().into_iter().map(Series::normalized);
    Ok(Value::Array(all.filter(|series| filter.is_none_or(|filter| series.id.contains(filter))).collect()))
}

/// `SEARCH('search string', 'Statistic', Period)`.
fn search(evaluator: &Evaluator<'_>, args: &[Expr], position: usize) -> Result<Value, MathError> {
    let (query, statistic, period) = search_arguments(args, position)?;
    let period = match period {
        Some(period) => period,
        None => match args.get(2).map(|arg| (arg, evaluator.eval(arg))) {
            Some((arg, Ok(Value::Scalar(number)))) => search_period(number, arg.position)?,
            Some((arg, Ok(other))) => return Err(MathError::argument(arg.position, format!("the period of SEARCH must be a number of seconds, not {}", other.kind()))),
            Some((_, Err(error))) => return Err(error),
            None => return Err(MathError::argument(position, "SEARCH takes 3 arguments")),
        },
    };
    let mut found: Vec<Series> = evaluator.context.search(&query, statistic, period)?.into_iter().map(Series::normalized).collect();
    found.sort_by(|a, b| a.metric.cmp(&b.metric));
    label_search_results(&query, &mut found);
    Ok(Value::Array(found))
}

/// Checks SEARCH's arguments; the period is returned when it is a literal.
pub(crate) fn search_arguments(args: &[Expr], position: usize) -> Result<(SearchQuery, &str, Option<i64>), MathError> {
    arity("SEARCH", args.len(), 3..=3, position)?;
    let [text, statistic, period] = args else {
        return Err(MathError::argument(position, "SEARCH takes 3 arguments"));
    };
    let query_text = string(text).ok_or_else(|| {
        MathError::argument(text.position, "the first argument of SEARCH is the search string in quotes, e.g. SEARCH('{AWS/EC2,InstanceId} CPUUtilization', 'Average', 300)")
    })?;
    let query = SearchQuery::parse(query_text, text.position + 1)?;
    let statistic_text = string(statistic).ok_or_else(|| MathError::argument(statistic.position, "the second argument of SEARCH is a statistic in quotes, e.g. 'Average'"))?;
    if statistic_text.trim().is_empty() {
        return Err(MathError::argument(statistic.position, "the statistic of SEARCH is empty"));
    }
    let literal_period = match period.node {
        Node::Number(number) => Some(search_period(number, period.position)?),
        _ => None,
    };
    Ok((query, statistic_text, literal_period))
}

/// A period as GetMetricData accepts it: 1, 5, 10, 20, 30 or a multiple of 60 seconds.
fn search_period(number: f64, position: usize) -> Result<i64, MathError> {
    let valid = number.fract() == 0.0 && number > 0.0 && number <= 1e12;
    let seconds = number as i64;
    if valid && (matches!(seconds, 1 | 5 | 10 | 20 | 30) || seconds % 60 == 0) {
        return Ok(seconds);
    }
    Err(MathError::argument(position, format!("the period of SEARCH must be 1, 5, 10, 20, 30 or a multiple of 60 seconds, not {number}")))
}

/// Default labels of SEARCH results: the values of the dimensions (those of
/// the schema, in its order, when it has one), preceded by the metric name
/// when the results hold more than one metric name; the metric name alone
/// for a metric without dimensions. A label set by the context is kept.
fn label_search_results(query: &SearchQuery, found: &mut [Series]) {
    let mut names: Vec<&str> = found.iter().filter_map(|series| series.metric.as_ref().map(|metric| metric.metric_name.as_str())).collect();
    names.sort_unstable();
    names.dedup();
    let several_names = names.len() > 1;
    for series in found.iter_mut() {
        let Some(metric) = &series.metric else { continue };
        if !series.label.is_empty() {
            continue;
        }
        let values: Vec<&str> = match &query.schema {
            Some(schema) if !schema.dimension_names.is_empty() => schema
                .dimension_names
                .iter()
                .filter_map(|wanted| metric.dimensions.iter().find(|(name, _)| name == wanted).map(|(_, value)| value.as_str()))
                .collect(),
            _ => metric.dimensions.iter().map(|(_, value)| value.as_str()).collect(),
        };
        let mut parts = Vec::new();
        if several_names || values.is_empty() {
            parts.push(metric.metric_name.as_str());
        }
        parts.extend(values);
        series.label = parts.join(" ");
    }
}

/// `FILL(TS | TS[], S | TS | REPEAT | LINEAR)`.
fn fill(evaluator: &Evaluator<'_>, args: &[Expr], position: usize) -> Result<Value, MathError> {
    arity("FILL", args.len(), 2..=2, position)?;
    let [target, filler] = args else {
        return Err(MathError::argument(position, "FILL takes 2 arguments"));
    };
    let input = match evaluator.eval(target)? {
        Value::Scalar(_) => return Err(MathError::argument(target.position, "FILL fills a time series or an array of time series, not a number")),
        other => other,
    };
    let how = match keyword(filler) {
        Some("REPEAT") => Filler::Repeat,
        Some("LINEAR") => Filler::Linear,
        Some(other) => {
            return Err(MathError::argument(filler.position, format!("FILL fills with a number, a time series, REPEAT or LINEAR, not `{other}`")));
        }
        None => match evaluator.eval(filler)? {
            Value::Scalar(number) => Filler::Number(number),
            Value::Series(series) => Filler::Series(series),
            Value::Array(_) => return Err(MathError::argument(filler.position, "FILL cannot fill with an array of time series; use a number, one time series, REPEAT or LINEAR")),
        },
    };
    let context = evaluator.context;
    let mut error = None;
    let result = for_each_series(input, |series| {
        let period = if series.period > 0 { series.period } else { context.period() };
        match grid(period, context.time_range(), position) {
            Ok(timestamps) => Series { period, ..fill_series(&series, &timestamps, &how) },
            Err(problem) => {
                error = Some(problem);
                Series::default()
            }
        }
    });
    error.map_or(Ok(result), Err)
}

enum Filler {
    Number(f64),
    Series(Series),
    Repeat,
    Linear,
}

fn fill_series(series: &Series, timestamps: &[i64], how: &Filler) -> Series {
    let mut points: Vec<(i64, f64)> = series.points().collect();
    for &timestamp in timestamps {
        if series.value_at(timestamp).is_some() {
            continue;
        }
        let filled = match how {
            Filler::Number(number) => Some(*number),
            Filler::Series(other) => other.value_at(timestamp),
            // The most recent actual value before the gap; none before the first.
            Filler::Repeat => {
                let before = series.timestamps.partition_point(|&t| t < timestamp);
                before.checked_sub(1).and_then(|last| series.values.get(last)).copied()
            }
            // A straight line between the values at both ends of the gap;
            // gaps before the first or after the last datapoint stay empty.
            Filler::Linear => {
                let after = series.timestamps.partition_point(|&t| t < timestamp);
                let previous = after.checked_sub(1).and_then(|i| Some((*series.timestamps.get(i)?, *series.values.get(i)?)));
                let next = series.timestamps.get(after).copied().zip(series.values.get(after).copied());
                match (previous, next) {
                    (Some((t0, v0)), Some((t1, v1))) => Some(v0 + (v1 - v0) * (timestamp - t0) as f64 / (t1 - t0) as f64),
                    _ => None,
                }
            }
        };
        if let Some(value) = filled {
            points.push((timestamp, value));
        }
    }
    series.with_points(points)
}

/// `SORT(TS[], AVG | MIN | MAX | SUM, ASC | DESC [, limit])`.
fn sort(evaluator: &Evaluator<'_>, args: &[Expr], position: usize) -> Result<Value, MathError> {
    arity("SORT", args.len(), 3..=4, position)?;
    let (Some(target), Some(by), Some(order)) = (args.first(), args.get(1), args.get(2)) else {
        return Err(MathError::argument(position, "SORT takes 3 or 4 arguments"));
    };
    let array = expect_array("SORT", evaluator.eval(target)?, target.position)?;
    let statistic_name = match keyword(by) {
        Some(name @ ("AVG" | "MIN" | "MAX" | "SUM")) => name,
        _ => return Err(MathError::argument(by.position, "SORT sorts by AVG, MIN, MAX or SUM")),
    };
    let descending = match keyword(order) {
        Some("ASC") => false,
        Some("DESC") => true,
        _ => return Err(MathError::argument(order.position, "the sort order of SORT is ASC or DESC")),
    };
    let limit = match args.get(3) {
        None => usize::MAX,
        Some(arg) => match evaluator.eval(arg)? {
            Value::Scalar(number) if number.is_finite() && number >= 0.0 => number.floor().min(usize::MAX as f64) as usize,
            Value::Scalar(number) => return Err(MathError::argument(arg.position, format!("the limit of SORT must be a number ≥ 0, not {number}"))),
            other => return Err(MathError::argument(arg.position, format!("the limit of SORT must be a number, not {}", other.kind()))),
        },
    };
    let mut keyed: Vec<(f64, Series)> = array.into_iter().map(|series| (statistic(statistic_name, &series.values), series)).collect();
    // Stable; series without datapoints (NaN) go last in either order.
    keyed.sort_by(|(a, _), (b, _)| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        (false, false) if descending => b.total_cmp(a),
        (false, false) => a.total_cmp(b),
    });
    Ok(Value::Array(keyed.into_iter().map(|(_, series)| series).take(limit).collect()))
}

/// `IF(condition, true value [, false value])`, per "Using IF expressions".
fn if_function(evaluator: &Evaluator<'_>, args: &[Expr], position: usize) -> Result<Value, MathError> {
    arity("IF", args.len(), 2..=3, position)?;
    let mut values = Vec::with_capacity(3);
    for arg in args {
        match evaluator.eval(arg)? {
            Value::Array(_) => return Err(MathError::argument(arg.position, "IF works on numbers and single time series, not arrays of time series")),
            value => values.push(value),
        }
    }
    let mut values = values.into_iter();
    let condition = values.next().unwrap_or(Value::Scalar(0.0));
    let when_true = values.next().unwrap_or(Value::Scalar(0.0));
    let when_false = values.next();
    match condition {
        Value::Scalar(flag) => {
            let truthy = flag != 0.0 && !flag.is_nan();
            let chosen = if truthy { Some(when_true) } else { when_false };
            Ok(match chosen {
                Some(value) => value,
                // AWS: "is an empty time series, if metric3 is omitted".
                None => Value::Series(Series::default()),
            })
        }
        Value::Series(condition) => {
            let mut points = Vec::with_capacity(condition.len());
            for (timestamp, flag) in condition.points() {
                let value = if flag != 0.0 {
                    match &when_true {
                        Value::Scalar(number) => Some(*number),
                        // True with no datapoint in the true series: 0.
                        Value::Series(series) => Some(series.value_at(timestamp).unwrap_or(0.0)),
                        Value::Array(_) => None,
                    }
                } else {
                    match &when_false {
                        Some(Value::Scalar(number)) => Some(*number),
                        // False with no datapoint (or no false series): dropped.
                        Some(Value::Series(series)) => series.value_at(timestamp),
                        _ => None,
                    }
                };
                if let Some(value) = value {
                    points.push((timestamp, value));
                }
            }
            Ok(Value::Series(Series::from_points("", "", condition.period, points)))
        }
        Value::Array(_) => Err(MathError::argument(position, "IF works on numbers and single time series, not arrays of time series")),
    }
}
