//! Dynamic labels of GetMetricData results: `${SUM}`, `${MAX_TIME}`,
//! `${PROP('Dim.InstanceId')}` … in a query's Label, filled in from the
//! result's datapoints over the whole requested range and from its metric.
//! Times are shown in `LabelOptions.Timezone` (`+HHMM` / `-HHMM`, UTC by
//! default). Text that is not a known placeholder is left as written.

use argus_query::metric_math::Metric;
use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

/// What a label can refer to.
pub(crate) struct LabelContext<'a> {
    /// The label the result would have without a Label (`${LABEL}`).
    pub default_label: &'a str,
    pub metric: Option<&'a Metric>,
    pub period_s: Option<i64>,
    pub stat: Option<&'a str>,
    pub region: &'a str,
    pub account: &'a str,
    /// (epoch ms, value), ascending.
    pub points: &'a [(i64, f64)],
    pub now_ms: i64,
    pub offset_s: i32,
}

pub(crate) fn has_placeholders(label: &str) -> bool {
    label.contains("${")
}

/// `+HHMM` / `-HHMM` as seconds east of UTC, if well formed.
pub(crate) fn parse_timezone(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    if bytes.len() != 5 || !bytes.iter().skip(1).all(u8::is_ascii_digit) {
        return None;
    }
    let sign = match bytes.first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    let hours: i32 = text.get(1..3)?.parse().ok()?;
    let minutes: i32 = text.get(3..5)?.parse().ok()?;
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3600 + minutes * 60))
}

pub(crate) fn render(label: &str, context: &LabelContext<'_>) -> String {
    let mut out = String::with_capacity(label.len());
    let mut rest = label;
    while let Some(open) = rest.find("${") {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        let Some(close) = after.find('}') else {
            out.push_str(after);
            return out;
        };
        let (placeholder, tail) = after.split_at(close + 1);
        let name = placeholder.get(2..placeholder.len() - 1).unwrap_or_default();
        match value_of(name, context) {
            Some(value) => out.push_str(&value),
            None => out.push_str(placeholder),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn value_of(name: &str, context: &LabelContext<'_>) -> Option<String> {
    let values = || context.points.iter().map(|(_, value)| *value);
    let first = context.points.first();
    let last = context.points.last();
    let extreme = |pick_max: bool| {
        context.points.iter().copied().reduce(|best, point| {
            let better = if pick_max { point.1 > best.1 } else { point.1 < best.1 };
            if better { point } else { best }
        })
    };
    // Statistics of an empty result are left empty, as the console shows them.
    let number = |value: Option<f64>| Some(value.map(format_number).unwrap_or_default());
    let time = |point: Option<&(i64, f64)>| Some(point.map(|(ts, _)| format_time(*ts, context.offset_s)).unwrap_or_default());
    match name {
        "LABEL" => Some(context.default_label.to_string()),
        "DATAPOINT_COUNT" => Some(context.points.len().to_string()),
        "SUM" => number((!context.points.is_empty()).then(|| values().sum())),
        "AVG" => number((!context.points.is_empty()).then(|| values().sum::<f64>() / context.points.len() as f64)),
        "MIN" => number(extreme(false).map(|(_, value)| value)),
        "MAX" => number(extreme(true).map(|(_, value)| value)),
        "FIRST" => number(first.map(|(_, value)| *value)),
        "LAST" => number(last.map(|(_, value)| *value)),
        "FIRST_LAST_RANGE" => number(first.zip(last).map(|(first, last)| last.1 - first.1)),
        "FIRST_TIME" => time(first),
        "LAST_TIME" => time(last),
        "MIN_TIME" => time(extreme(false).as_ref()),
        "MAX_TIME" => time(extreme(true).as_ref()),
        "FIRST_LAST_TIME_RANGE" => Some(first.zip(last).map(|(first, last)| format_duration(last.0 - first.0)).unwrap_or_default()),
        "FIRST_TIME_RELATIVE" => Some(first.map(|(ts, _)| format_duration(context.now_ms - ts)).unwrap_or_default()),
        "LAST_TIME_RELATIVE" => Some(last.map(|(ts, _)| format_duration(context.now_ms - ts)).unwrap_or_default()),
        _ => property(name, context),
    }
}

/// `PROP('…')`: a property of the result's metric and query.
fn property(name: &str, context: &LabelContext<'_>) -> Option<String> {
    let inner = name.strip_prefix("PROP(")?.strip_suffix(')')?.trim();
    let key = inner.strip_prefix('\'').and_then(|key| key.strip_suffix('\''))?;
    match key {
        "Namespace" => context.metric.map(|metric| metric.namespace.clone()),
        "MetricName" => context.metric.map(|metric| metric.metric_name.clone()),
        "Period" => context.period_s.map(|period| period.to_string()),
        "Stat" => context.stat.map(str::to_string),
        "Region" => Some(context.region.to_string()),
        "AccountId" => Some(context.account.to_string()),
        _ => {
            let dimension = key.strip_prefix("Dim.")?;
            let metric = context.metric?;
            metric.dimensions.iter().find(|(name, _)| name == dimension).map(|(_, value)| value.clone())
        }
    }
}

/// At most two decimals, without trailing zeros (`3.33`, `12`, `0.5`).
fn format_number(value: f64) -> String {
    let text = format!("{value:.2}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" { "0".to_string() } else { trimmed.to_string() }
}

/// ISO 8601 with the offset, e.g. `2026-11-22T11:05:00+0100`.
fn format_time(millis: i64, offset_s: i32) -> String {
    let Ok(timestamp) = Timestamp::from_millisecond(millis) else {
        return String::new();
    };
    let zone = Offset::from_seconds(offset_s).map(TimeZone::fixed).unwrap_or(TimeZone::UTC);
    timestamp.to_zoned(zone).strftime("%Y-%m-%dT%H:%M:%S%z").to_string()
}

/// A span as days, hours, minutes and seconds, largest first (`1d 2h 5m`, `45s`).
fn format_duration(millis: i64) -> String {
    let mut seconds = millis.max(0) / 1000;
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        let count = seconds / size;
        seconds %= size;
        if count > 0 {
            parts.push(format!("{count}{unit}"));
        }
    }
    if parts.is_empty() { "0s".to_string() } else { parts.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context<'a>(points: &'a [(i64, f64)], metric: &'a Metric) -> LabelContext<'a> {
        LabelContext {
            default_label: "CPUUtilization",
            metric: Some(metric),
            period_s: Some(300),
            stat: Some("Average"),
            region: "us-east-1",
            account: "000000000000",
            points,
            now_ms: 1_700_003_600_000,
            offset_s: 0,
        }
    }

    #[test]
    fn placeholders_are_filled_from_points_and_metric() {
        let metric = Metric {
            namespace: "AWS/EC2".into(),
            metric_name: "CPUUtilization".into(),
            dimensions: vec![("InstanceId".into(), "i-123".into())],
        };
        let points = [(1_700_000_000_000, 10.0), (1_700_000_300_000, 2.5), (1_700_000_600_000, 20.0 / 3.0)];
        let context = context(&points, &metric);
        let cases = [
            ("${LABEL} (${PROP('Dim.InstanceId')})", "CPUUtilization (i-123)"),
            ("sum ${SUM} avg ${AVG} n=${DATAPOINT_COUNT}", "sum 19.17 avg 6.39 n=3"),
            ("${MIN} at ${MIN_TIME}", "2.5 at 2023-11-14T22:18:20+0000"),
            ("${MAX} first ${FIRST} last ${LAST} range ${FIRST_LAST_RANGE}", "10 first 10 last 6.67 range -3.33"),
            ("${FIRST_LAST_TIME_RANGE} / ${LAST_TIME_RELATIVE}", "10m / 50m"),
            ("${PROP('Namespace')}/${PROP('MetricName')} ${PROP('Stat')}@${PROP('Period')} ${PROP('Region')}", "AWS/EC2/CPUUtilization Average@300 us-east-1"),
            ("${UNKNOWN} ${PROP('Dim.Missing')} ${unclosed", "${UNKNOWN} ${PROP('Dim.Missing')} ${unclosed"),
        ];
        for (label, expected) in cases {
            assert_eq!(render(label, &context), expected, "{label}");
        }
    }

    #[test]
    fn times_follow_the_timezone_and_empty_results_leave_blanks() {
        let metric = Metric::default();
        let points = [(1_700_000_000_000, 1.0)];
        let mut shifted = context(&points, &metric);
        shifted.offset_s = parse_timezone("-0530").unwrap();
        assert_eq!(render("${FIRST_TIME}", &shifted), "2023-11-14T16:43:20-0530");
        let empty = context(&[], &metric);
        assert_eq!(render("[${SUM}|${FIRST_TIME}|${DATAPOINT_COUNT}]", &empty), "[||0]");
        assert_eq!(parse_timezone("+2400"), None);
        assert_eq!(parse_timezone("0100"), None);
        assert_eq!(parse_timezone("+0100"), Some(3600));
    }
}
