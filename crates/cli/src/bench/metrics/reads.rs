//! Read latency on a warm server holding the storage section's gauge data
//! (flushed to block files): GetMetricStatistics over the whole week of one
//! metric, and GetMetricData of `--queries` MetricStat queries plus one
//! expression over them.
//!
//! Requests go one after another on one keep-alive connection, after a few
//! untimed ones (the first answer is checked against the generator); each
//! latency runs from writing the request to the end of the response.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use hdrhistogram::Histogram;
use serde::Serialize;

use super::super::client::Connection;
use super::super::driver::micros;
use super::super::report::Percentiles;
use super::super::server::{cpu_seconds, cpu_used};
use super::super::sign::sha256_hex;
use super::MetricsArgs;
use super::data::{Kind, MINUTE_S};
use super::storage::GaugeData;

const WARMUP_REQUESTS: usize = 10;
const STATISTICS_PERIOD_S: i64 = 3_600;
const STATISTICS: [&str; 5] = ["Sum", "Average", "Minimum", "Maximum", "SampleCount"];
/// The expression's id and text; it is the only query whose data is returned.
const EXPRESSION_ID: &str = "e1";
const EXPRESSION: &str = "SUM(METRICS())";

#[derive(Debug, Serialize)]
pub struct ReadSection {
    pub name: String,
    pub request: String,
    pub target_ms: f64,
    pub requests: usize,
    /// What the first answer held, checked against the generator.
    pub answer: String,
    pub latency_ms: Percentiles,
    pub server_cpu_ms_per_request: Option<f64>,
    /// The same request for a metric that does not exist: the cost of the
    /// request pipeline alone (HTTP, SigV4, decoding, encoding).
    pub floor_latency_ms: Option<Percentiles>,
    pub errors: Vec<String>,
}

/// The GetMetricData shapes measured.
#[derive(Debug, Clone, Copy)]
pub enum MetricDataShape {
    ThreeHoursAtMinute,
    DayAtFiveMinutes,
}

impl MetricDataShape {
    pub const ALL: [Self; 2] = [Self::ThreeHoursAtMinute, Self::DayAtFiveMinutes];

    pub fn label(self) -> &'static str {
        match self {
            Self::ThreeHoursAtMinute => "last 3 hours at period 60",
            Self::DayAtFiveMinutes => "last day at period 300",
        }
    }

    fn window_s(self) -> i64 {
        match self {
            Self::ThreeHoursAtMinute => 3 * 3_600,
            Self::DayAtFiveMinutes => 86_400,
        }
    }

    fn period_s(self) -> i64 {
        match self {
            Self::ThreeHoursAtMinute => 60,
            Self::DayAtFiveMinutes => 300,
        }
    }
}

/// GetMetricStatistics of gauge series 0 over the whole week, period one hour.
pub async fn statistics(args: &MetricsArgs, data: &GaugeData) -> anyhow::Result<ReadSection> {
    let series = Kind::Gauge.series(0);
    let request = |metric_name: &str| {
        serde_json::json!({
            "Namespace": data.namespace,
            "MetricName": metric_name,
            "Dimensions": series.dimensions_json(),
            "StartTime": data.start_s,
            "EndTime": data.end_s,
            "Period": STATISTICS_PERIOD_S,
            "Statistics": STATISTICS,
        })
    };
    let periods = (data.end_s - data.start_s) / STATISTICS_PERIOD_S;
    let per_period = STATISTICS_PERIOD_S / MINUTE_S;
    let check = |reply: &serde_json::Value| -> Result<String, String> {
        let points = reply
            .get("Datapoints")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| "no Datapoints in the answer".to_owned())?;
        let counts_right = points.iter().all(|point| {
            point.get("SampleCount").and_then(serde_json::Value::as_f64) == Some(per_period as f64)
        });
        if points.len() as i64 != periods || !counts_right {
            return Err(format!(
                "expected {periods} datapoints of SampleCount {per_period}, got {} ({})",
                points.len(),
                if counts_right {
                    "counts right"
                } else {
                    "counts wrong"
                }
            ));
        }
        Ok(format!(
            "{periods} datapoints of SampleCount {per_period} ({} samples)",
            periods * per_period
        ))
    };
    let mut connection = data.target.cloudwatch().await?;
    let body = Bytes::from(serde_json::to_vec(&request(series.metric_name))?);
    let mut section = measure(
        &mut connection,
        "GetMetricStatistics",
        body,
        args.requests,
        data.target.pid(),
        check,
    )
    .await?;
    section.name = "GetMetricStatistics".to_owned();
    section.request = format!(
        "one metric, {} days of 1-minute data, Period {STATISTICS_PERIOD_S}, Statistics {}",
        (data.end_s - data.start_s) / 86_400,
        STATISTICS.join("/")
    );
    section.target_ms = 5.0;
    let floor_body = Bytes::from(serde_json::to_vec(&request("NoSuchMetric"))?);
    let floor = measure(
        &mut connection,
        "GetMetricStatistics",
        floor_body,
        args.requests,
        None,
        |reply| match reply
            .get("Datapoints")
            .and_then(serde_json::Value::as_array)
        {
            Some(points) if points.is_empty() => Ok("no datapoints".to_owned()),
            _ => Err("an unknown metric has datapoints".to_owned()),
        },
    )
    .await?;
    section.errors.extend(floor.errors);
    section.floor_latency_ms = Some(floor.latency_ms);
    Ok(section)
}

/// GetMetricData: `--queries` MetricStat queries (Average, ReturnData
/// false) and `e1 = SUM(METRICS())`, the only result returned.
pub async fn metric_data(
    args: &MetricsArgs,
    data: &GaugeData,
    shape: MetricDataShape,
) -> anyhow::Result<ReadSection> {
    let period = shape.period_s();
    let start_s = data.end_s - shape.window_s();
    let mut queries = Vec::with_capacity(args.queries + 1);
    for index in 0..args.queries {
        queries.push(serde_json::json!({
            "Id": format!("m{index}"),
            "MetricStat": {
                "Metric": Kind::Gauge.series(index).metric_json(&data.namespace),
                "Period": period,
                "Stat": "Average",
            },
            "ReturnData": false,
        }));
    }
    queries.push(serde_json::json!({
        "Id": EXPRESSION_ID,
        "Expression": EXPRESSION,
        "Label": "sum of averages",
        "ReturnData": true,
    }));
    let body = serde_json::json!({
        "MetricDataQueries": queries,
        "StartTime": start_s,
        "EndTime": data.end_s,
        "ScanBy": "TimestampAscending",
    });
    let expected = expected_sums(args.queries, start_s, data.end_s, period);
    let check = |reply: &serde_json::Value| -> Result<String, String> {
        let results = reply
            .get("MetricDataResults")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| "no MetricDataResults in the answer".to_owned())?;
        let [result] = results.as_slice() else {
            return Err(format!(
                "expected only {EXPRESSION_ID}'s result, got {} results",
                results.len()
            ));
        };
        let values: Vec<f64> = result
            .get("Values")
            .and_then(serde_json::Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(serde_json::Value::as_f64)
                    .collect()
            })
            .unwrap_or_default();
        if values.len() != expected.len() {
            return Err(format!(
                "expected {} values, got {}",
                expected.len(),
                values.len()
            ));
        }
        for (position, (got, want)) in values.iter().zip(&expected).enumerate() {
            if (got - want).abs() > 1e-6 * want.abs().max(1.0) {
                return Err(format!("value {position} is {got}, expected {want}"));
            }
        }
        Ok(format!(
            "{} values of {EXPRESSION_ID}, each the sum of {} averages, as generated",
            values.len(),
            args.queries
        ))
    };
    let mut connection = data.target.cloudwatch().await?;
    let mut section = measure(
        &mut connection,
        "GetMetricData",
        Bytes::from(serde_json::to_vec(&body)?),
        args.requests,
        data.target.pid(),
        check,
    )
    .await?;
    section.name = format!("GetMetricData, {}", shape.label());
    section.request = format!(
        "{} MetricStat queries (Average, ReturnData false) + {EXPRESSION_ID} = {EXPRESSION} (returned), {} values per series",
        args.queries,
        shape.window_s() / period
    );
    section.target_ms = 50.0;
    Ok(section)
}

/// Per period of `[start_s, end_s)`, the sum over the first `queries` gauge
/// series of the average of their 1-minute values.
fn expected_sums(queries: usize, start_s: i64, end_s: i64, period_s: i64) -> Vec<f64> {
    let per_period = period_s / MINUTE_S;
    let mut sums = Vec::new();
    let mut period_start = start_s;
    while period_start < end_s {
        let first_minute = period_start / MINUTE_S;
        let mut sum = 0.0;
        for index in 0..queries {
            let total: f64 = (first_minute..first_minute + per_period)
                .map(|minute| Kind::Gauge.value(index, minute))
                .sum();
            sum += total / per_period as f64;
        }
        sums.push(sum);
        period_start += period_s;
    }
    sums
}

/// Sends `body` `WARMUP_REQUESTS + requests` times, checks the first
/// answer, times the last `requests`.
async fn measure<F>(
    connection: &mut Connection,
    operation: &str,
    body: Bytes,
    requests: usize,
    server_pid: Option<u32>,
    check: F,
) -> anyhow::Result<ReadSection>
where
    F: Fn(&serde_json::Value) -> Result<String, String>,
{
    let hash = sha256_hex(&body);
    let mut errors = Vec::new();
    let mut answer = String::new();
    for attempt in 0..WARMUP_REQUESTS {
        let reply = connection
            .call_prehashed(operation, body.clone(), &hash)
            .await?;
        if !reply.status.is_success() {
            errors.push(format!("{operation}: {}", reply.describe()));
            break;
        }
        if attempt == 0 {
            let parsed: serde_json::Value =
                serde_json::from_slice(&reply.body).context("the answer is not JSON")?;
            match check(&parsed) {
                Ok(description) => answer = description,
                Err(problem) => errors.push(format!("{operation}: wrong answer: {problem}")),
            }
        }
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let cpu_before = server_pid.and_then(cpu_seconds);
    let mut failed = 0;
    for _ in 0..requests {
        let sent = Instant::now();
        let reply = connection
            .call_prehashed(operation, body.clone(), &hash)
            .await?;
        histogram.saturating_record(micros(sent.elapsed()));
        if !reply.status.is_success() {
            failed += 1;
            if failed == 1 {
                errors.push(format!("{operation}: {}", reply.describe()));
            }
        }
    }
    let server_cpu = cpu_used(server_pid.and_then(cpu_seconds), cpu_before);
    Ok(ReadSection {
        name: operation.to_owned(),
        request: String::new(),
        target_ms: 0.0,
        requests,
        answer,
        latency_ms: Percentiles::from_micros(&histogram),
        server_cpu_ms_per_request: server_cpu
            .map(|seconds| seconds * 1_000.0 / requests.max(1) as f64),
        floor_latency_ms: None,
        errors,
    })
}

impl ReadSection {
    pub fn to_text(&self, text: &mut String) {
        let latency = self.latency_ms;
        let _ = writeln!(text, "{} — {}", self.name, self.request);
        let _ = writeln!(text, "  answer   {}", self.answer);
        let _ = writeln!(
            text,
            "  latency  p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} sequential requests (target < {} ms)",
            latency.p50, latency.p90, latency.p99, latency.max, self.requests, self.target_ms
        );
        if let Some(cpu) = self.server_cpu_ms_per_request {
            let _ = writeln!(text, "  server   {cpu:.2} ms of CPU per request");
        }
        if let Some(floor) = self.floor_latency_ms {
            let _ = writeln!(
                text,
                "  floor    p50 {:.2} ms, p99 {:.2} ms for the same request on a metric that does not exist",
                floor.p50, floor.p99
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_sums_average_each_period() {
        let start = 1_763_700_000 - 1_763_700_000 % 3_600;
        let sums = expected_sums(2, start, start + 600, 300);
        assert_eq!(sums.len(), 2);
        let first_minute = start / 60;
        let mean = |series| {
            (first_minute..first_minute + 5)
                .map(|minute| Kind::Gauge.value(series, minute))
                .sum::<f64>()
                / 5.0
        };
        assert!((sums[0] - (mean(0) + mean(1))).abs() < 1e-9);
    }
}
