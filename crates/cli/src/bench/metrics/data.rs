//! The metrics the benchmark publishes: series identities, their values,
//! and PutMetricData bodies in the awsJson1.0 shape botocore sends
//! (`Timestamp` as epoch seconds, `Value` a JSON number, no
//! `StorageResolution`, so 1-minute data).
//!
//! Values are pure functions of (series, minute), so bodies can be built in
//! any order on any connection and the raw-stream references rebuilt from
//! the same numbers.

use clap::ValueEnum;
use serde::Serialize;

use super::super::workload::SplitMix64;

/// AWS's PutMetricData request-size limit (1 MB for HTTP POST).
pub const MAX_REQUEST_BYTES: usize = 1_048_576;
/// AWS's limit of MetricData entries per request.
pub const MAX_DATA_PER_REQUEST: usize = 1_000;
pub const MINUTE_S: i64 = 60;
pub const DAY_MINUTES: i64 = 1_440;

/// Metric names of the ingest workload, with the unit an exporter would give each.
const INGEST_METRICS: [(&str, &str); 10] = [
    ("RequestLatency", "Milliseconds"),
    ("RequestCount", "Count"),
    ("ErrorCount", "Count"),
    ("CPUUtilization", "Percent"),
    ("MemoryUtilization", "Percent"),
    ("DiskReadBytes", "Bytes"),
    ("DiskWriteBytes", "Bytes"),
    ("NetworkIn", "Bytes"),
    ("NetworkOut", "Bytes"),
    ("QueueDepth", "Count"),
];
const SERVICES: usize = 20;

/// How the values of the storage benchmark's series behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Gauge with two decimals (a latency in ms, a percentage): daily cycle plus Gaussian noise
    Gauge,
    /// Integer count per minute (requests): daily cycle plus Poisson-like noise
    Count,
    /// Constant-ish counter: an integer total that goes up by one every 30–70 minutes
    Constant,
    /// Full-precision gauge, as an agent computing a ratio sends it (worst case)
    Float,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Count => "count",
            Self::Constant => "constant",
            Self::Float => "float",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Gauge => {
                "gauge, 2 decimals: base·(1 + 0.3·sin(day phase)) + N(0, (0.05·base)²), base 20–200"
            }
            Self::Count => {
                "integer count per minute: rate·(1 + 0.5·sin(day phase)) + N(0, rate), rate 50–500"
            }
            Self::Constant => "constant-ish counter: integer total, +1 every 30–70 minutes",
            Self::Float => {
                "full-precision gauge: like `gauge` without rounding (all 52 mantissa bits vary)"
            }
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Self::Gauge => "Milliseconds",
            Self::Float => "Percent",
            Self::Count | Self::Constant => "Count",
        }
    }

    fn metric_name(self) -> &'static str {
        match self {
            Self::Gauge => "Latency",
            Self::Count => "Requests",
            Self::Constant => "Restarts",
            Self::Float => "Utilization",
        }
    }

    /// The value of `series` at minute `minute` (minutes since the Unix epoch).
    pub fn value(self, series: usize, minute: i64) -> f64 {
        let mut random = SplitMix64::new(mix(series as u64, minute as u64, self as u64));
        let per_series = mix(series as u64, 0, 0x5e71e5);
        let phase = (per_series % 1_440) as f64;
        let cycle = (std::f64::consts::TAU * ((minute as f64 + phase) / DAY_MINUTES as f64)).sin();
        match self {
            Self::Gauge | Self::Float => {
                let base = 20.0 + (per_series % 181) as f64;
                let value = (base * (1.0 + 0.3 * cycle) + 0.05 * base * random.gaussian()).max(0.0);
                if self == Self::Gauge {
                    (value * 100.0).round() / 100.0
                } else {
                    value
                }
            }
            Self::Count => {
                let rate = (50 + per_series % 451) as f64 * (1.0 + 0.5 * cycle);
                (rate + rate.sqrt() * random.gaussian()).round().max(0.0)
            }
            Self::Constant => {
                let every = 30 + (per_series % 41) as i64;
                ((per_series % 1_000) as i64 + minute.div_euclid(every)) as f64
            }
        }
    }

    /// The identity of series `index` of this kind: one metric name, two dimensions.
    pub fn series(self, index: usize) -> Series {
        Series {
            metric_name: self.metric_name(),
            unit: self.unit(),
            dimensions: vec![
                ("Service", format!("service-{:02}", index % 10)),
                ("InstanceId", instance_id(index / 10)),
            ],
        }
    }
}

/// A metric: name, unit and dimensions.
#[derive(Debug, Clone)]
pub struct Series {
    pub metric_name: &'static str,
    pub unit: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
}

impl Series {
    /// The `Metric` structure of GetMetricData / the fields of GetMetricStatistics.
    pub fn metric_json(&self, namespace: &str) -> serde_json::Value {
        serde_json::json!({
            "Namespace": namespace,
            "MetricName": self.metric_name,
            "Dimensions": self.dimensions_json(),
        })
    }

    pub fn dimensions_json(&self) -> serde_json::Value {
        self.dimensions
            .iter()
            .map(|(name, value)| serde_json::json!({ "Name": name, "Value": value }))
            .collect()
    }
}

/// Series `index` of the ingest workload: ten metric names × 20 services ×
/// instances, three dimensions each.
pub fn ingest_series(index: usize) -> Series {
    let (metric_name, unit) = INGEST_METRICS
        .get(index % INGEST_METRICS.len())
        .copied()
        .unwrap_or(("RequestLatency", "Milliseconds"));
    let service = (index / INGEST_METRICS.len()) % SERVICES;
    let instance = index / (INGEST_METRICS.len() * SERVICES);
    Series {
        metric_name,
        unit,
        dimensions: vec![
            ("Environment", "production".to_owned()),
            ("Service", format!("service-{service:02}")),
            ("InstanceId", instance_id(instance)),
        ],
    }
}

/// A value like the ingest series' metric would have: two decimals.
pub fn ingest_value(series: usize, minute: i64) -> f64 {
    Kind::Gauge.value(series, minute)
}

fn instance_id(instance: usize) -> String {
    format!("i-{:017x}", mix(instance as u64, 0x1d, 0))
}

fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut random = SplitMix64::new(
        a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b.wrapping_mul(0xc2b2_ae3d_27d4_eb4f) ^ c,
    );
    random.next()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PutMetricDataBody<'a> {
    namespace: &'a str,
    metric_data: Vec<Datum<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Datum<'a> {
    metric_name: &'a str,
    dimensions: Vec<Dimension<'a>>,
    timestamp: i64,
    value: f64,
    unit: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Dimension<'a> {
    name: &'a str,
    value: &'a str,
}

/// One PutMetricData body of `(series, timestamp in seconds, value)` entries.
pub fn put_metric_data_body(
    namespace: &str,
    entries: &[(&Series, i64, f64)],
) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(
        entries.len() <= MAX_DATA_PER_REQUEST,
        "{} entries exceed PutMetricData's {MAX_DATA_PER_REQUEST}",
        entries.len()
    );
    let metric_data = entries
        .iter()
        .map(|(series, timestamp, value)| Datum {
            metric_name: series.metric_name,
            dimensions: series
                .dimensions
                .iter()
                .map(|(name, value)| Dimension { name, value })
                .collect(),
            timestamp: *timestamp,
            value: *value,
            unit: series.unit,
        })
        .collect();
    let body = serde_json::to_vec(&PutMetricDataBody {
        namespace,
        metric_data,
    })?;
    anyhow::ensure!(
        body.len() <= MAX_REQUEST_BYTES,
        "a PutMetricData body of {} bytes exceeds AWS's {MAX_REQUEST_BYTES}-byte limit",
        body.len()
    );
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_deterministic_and_shaped_per_kind() {
        for kind in [Kind::Gauge, Kind::Count, Kind::Constant, Kind::Float] {
            assert_eq!(kind.value(7, 1_000), kind.value(7, 1_000));
        }
        let gauge = Kind::Gauge.value(3, 29_000_000);
        assert!(gauge >= 0.0 && ((gauge * 100.0).round() - gauge * 100.0).abs() < 1e-6);
        let count = Kind::Count.value(3, 29_000_000);
        assert_eq!(count, count.round());
        let constant: Vec<f64> = (0..120)
            .map(|minute| Kind::Constant.value(5, 29_000_000 + minute))
            .collect();
        let changes = constant
            .windows(2)
            .filter(|pair| pair[0] != pair[1])
            .count();
        assert!((1..=4).contains(&changes), "{changes} changes in two hours");
    }

    #[test]
    fn ingest_series_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for index in 0..10_000 {
            let series = ingest_series(index);
            assert!(seen.insert((series.metric_name, series.dimensions)));
        }
    }

    #[test]
    fn a_thousand_entries_fit_in_aws_request_limit() {
        let series: Vec<Series> = (0..1_000).map(ingest_series).collect();
        let entries: Vec<(&Series, i64, f64)> = series
            .iter()
            .enumerate()
            .map(|(index, series)| (series, 1_763_800_000, ingest_value(index, 29_000_000)))
            .collect();
        let body = put_metric_data_body("Argus/Bench", &entries).expect("fits");
        let parsed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(parsed["MetricData"].as_array().map(Vec::len), Some(1_000));
        assert_eq!(
            parsed["MetricData"][0]["Dimensions"][0]["Name"],
            "Environment"
        );
    }
}
