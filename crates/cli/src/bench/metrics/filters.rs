//! Metric-filter overhead on log ingest: the logs-ingest workload
//! (`workload.rs`, sent by `driver.rs`) into a group without metric filters
//! and into one with ten, in alternating runs on one server, so drift of a
//! shared machine hits both alike.
//!
//! The ten filters resemble what people put on such logs: terms (with a
//! default value, so every event yields a datapoint), an alternative, quoted
//! phrases, a regex, JSON conditions with values and dimensions taken from
//! the event, and space-delimited access-log fields.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::super::client::Connection;
use super::super::driver::{self, Plan};
use super::super::logs_ingest::create_group_and_streams;
use super::super::report::{Percentiles, thousands};
use super::super::workload::Workload;
use super::report::median;
use super::{MetricsArgs, Target};

const BATCH_EVENTS: usize = 1_000;
const EVENT_BYTES: usize = 200;

/// (name, pattern, metric name, metric value, default value, dimensions, unit)
type FilterSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<f64>,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
);

const FILTERS: [FilterSpec; 10] = [
    (
        "error-lines",
        "ERROR",
        "ErrorLines",
        "1",
        Some(0.0),
        &[],
        None,
    ),
    ("problems", "?WARN ?ERROR", "Problems", "1", None, &[], None),
    (
        "payment-updates",
        "\"[payments]\" \"action=update\"",
        "PaymentUpdates",
        "1",
        None,
        &[],
        None,
    ),
    (
        "retries",
        "%retries=[1-3]%",
        "Retries",
        "1",
        None,
        &[],
        None,
    ),
    (
        "json-errors",
        "{ $.level = \"error\" }",
        "JsonErrors",
        "1",
        None,
        &[],
        None,
    ),
    (
        "json-5xx",
        "{ $.status >= 500 }",
        "ServerErrors",
        "1",
        None,
        &[],
        None,
    ),
    (
        "json-latency",
        "{ $.latency_ms >= 0 }",
        "Latency",
        "$.latency_ms",
        None,
        &[],
        Some("Milliseconds"),
    ),
    (
        "json-amount-by-service",
        "{ $.amount_cents > 0 && $.level != \"error\" }",
        "OrderAmount",
        "$.amount_cents",
        None,
        &[("Service", "$.service")],
        None,
    ),
    (
        "access-5xx",
        "[ip, identity, user, request, status = 5*, bytes, latency, ...]",
        "AccessServerErrors",
        "1",
        None,
        &[],
        None,
    ),
    (
        "access-bytes-by-status",
        "[ip, identity = \"-\", user, request, status, bytes, latency, ...]",
        "BytesSent",
        "$bytes",
        None,
        &[("Status", "$status")],
        Some("Bytes"),
    ),
];

#[derive(Debug, Serialize)]
pub struct FilterSection {
    /// `measured`, or why not.
    pub status: String,
    pub filters: Vec<FilterDescription>,
    pub connections: usize,
    pub events_per_run: u64,
    pub runs: Vec<FilterRun>,
    pub median_events_per_second_without: Option<f64>,
    pub median_events_per_second_with: Option<f64>,
    /// Events/s with filters ÷ without.
    pub ratio: Option<f64>,
    /// 1 − ratio, in percent (target < 20).
    pub overhead_percent: Option<f64>,
    pub median_server_cpu_us_per_event_without: Option<f64>,
    pub median_server_cpu_us_per_event_with: Option<f64>,
    /// Metrics the filters created (ListMetrics of their namespace).
    pub metrics_created: Option<usize>,
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct FilterDescription {
    pub name: &'static str,
    pub pattern: &'static str,
    pub metric_value: &'static str,
}

#[derive(Debug, Serialize)]
pub struct FilterRun {
    pub with_filters: bool,
    pub events_per_second: f64,
    pub seconds: f64,
    pub latency_ms: Percentiles,
    pub server_cpu_seconds: Option<f64>,
    pub server_cpu_us_per_event: Option<f64>,
}

pub async fn run(
    args: &MetricsArgs,
    target: &mut Target,
    run_id: u128,
) -> anyhow::Result<FilterSection> {
    let streams: Vec<String> = (0..args.connections)
        .map(|index| format!("bench-{index:04}"))
        .collect();
    let plain_group = format!("/argus/bench/filters-{run_id}/without");
    let filtered_group = format!("/argus/bench/filters-{run_id}/with");
    let namespace = format!("Argus/Bench/{run_id}/LogMetrics");
    let mut section = FilterSection {
        status: "measured".to_owned(),
        filters: FILTERS
            .iter()
            .map(|(name, pattern, _, metric_value, ..)| FilterDescription {
                name,
                pattern,
                metric_value,
            })
            .collect(),
        connections: args.connections,
        events_per_run: args.filter_events,
        runs: Vec::new(),
        median_events_per_second_without: None,
        median_events_per_second_with: None,
        ratio: None,
        overhead_percent: None,
        median_server_cpu_us_per_event_without: None,
        median_server_cpu_us_per_event_with: None,
        metrics_created: None,
        errors: Vec::new(),
    };
    for group in [&plain_group, &filtered_group] {
        create_group_and_streams(&target.endpoint, &target.credentials, group, &streams).await?;
    }
    let mut logs = Connection::open(&target.endpoint, &target.credentials).await?;
    for (name, pattern, metric_name, metric_value, default_value, dimensions, unit) in FILTERS {
        let mut transformation = serde_json::Map::new();
        transformation.insert("metricName".to_owned(), json!(metric_name));
        transformation.insert("metricNamespace".to_owned(), json!(namespace));
        transformation.insert("metricValue".to_owned(), json!(metric_value));
        if let Some(default_value) = default_value {
            transformation.insert("defaultValue".to_owned(), json!(default_value));
        }
        if !dimensions.is_empty() {
            let fields: serde_json::Map<String, serde_json::Value> = dimensions
                .iter()
                .map(|(key, value)| ((*key).to_owned(), json!(value)))
                .collect();
            transformation.insert("dimensions".to_owned(), fields.into());
        }
        if let Some(unit) = unit {
            transformation.insert("unit".to_owned(), json!(unit));
        }
        let body = json!({
            "logGroupName": filtered_group,
            "filterName": name,
            "filterPattern": pattern,
            "metricTransformations": [transformation],
        });
        let reply = logs.call("PutMetricFilter", &body).await?;
        if !reply.status.is_success() {
            section.status = format!(
                "not measured: PutMetricFilter `{name}` answered {}",
                reply.describe()
            );
            eprintln!("  {}", section.status);
            return Ok(section);
        }
    }

    let total_batches = args.filter_events / BATCH_EVENTS as u64;
    let batches_per_stream = usize::try_from(total_batches.div_ceil(streams.len() as u64))?;
    let plain = Arc::new(Workload::build(
        &plain_group,
        &streams,
        batches_per_stream,
        BATCH_EVENTS,
        EVENT_BYTES,
    )?);
    let filtered = Arc::new(Workload::build(
        &filtered_group,
        &streams,
        batches_per_stream,
        BATCH_EVENTS,
        EVENT_BYTES,
    )?);
    for round in 0..args.filter_runs {
        // Alternate which group goes first, so a trend over the session
        // favours neither.
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with_filters in order {
            let workload = if with_filters { &filtered } else { &plain };
            let mut connections = Vec::with_capacity(args.connections);
            for _ in 0..args.connections {
                connections.push(Connection::open(&target.endpoint, &target.credentials).await?);
            }
            let plan = Arc::new(Plan::new(
                Arc::clone(workload),
                "PutLogEvents",
                total_batches,
                args.connections,
                None,
                false,
            ));
            let phase = driver::run(connections, plan, target.pid()).await?;
            let totals = &phase.totals;
            section.errors.extend(totals.error_samples.iter().cloned());
            let run = FilterRun {
                with_filters,
                events_per_second: phase.items_per_second(),
                seconds: phase.elapsed.as_secs_f64(),
                latency_ms: Percentiles::from_micros(&totals.latency_micros),
                server_cpu_seconds: phase.server_cpu_seconds,
                server_cpu_us_per_event: phase
                    .server_cpu_seconds
                    .map(|seconds| seconds * 1e6 / totals.items.max(1) as f64),
            };
            eprintln!(
                "  {} filters: {} events/s, p99 {:.1} ms",
                if with_filters { "with   " } else { "without" },
                thousands(run.events_per_second),
                run.latency_ms.p99
            );
            section.runs.push(run);
        }
    }

    let of = |with_filters: bool| {
        section
            .runs
            .iter()
            .filter(move |run| run.with_filters == with_filters)
    };
    let without = median(of(false).map(|run| run.events_per_second));
    let with = median(of(true).map(|run| run.events_per_second));
    section.median_events_per_second_without = Some(without);
    section.median_events_per_second_with = Some(with);
    let ratio = with / without.max(f64::EPSILON);
    section.ratio = Some(ratio);
    section.overhead_percent = Some(100.0 * (1.0 - ratio));
    if target.pid().is_some() {
        section.median_server_cpu_us_per_event_without = Some(median(
            of(false).filter_map(|run| run.server_cpu_us_per_event),
        ));
        section.median_server_cpu_us_per_event_with = Some(median(
            of(true).filter_map(|run| run.server_cpu_us_per_event),
        ));
    }

    let mut cloudwatch = target.cloudwatch().await?;
    let reply = cloudwatch
        .call("ListMetrics", &json!({ "Namespace": namespace }))
        .await?;
    if reply.status.is_success() {
        let listed: serde_json::Value = serde_json::from_slice(&reply.body)?;
        let count = listed
            .get("Metrics")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        if count == 0 {
            section.errors.push(format!(
                "the metric filters produced no metrics in {namespace}"
            ));
        }
        section.metrics_created = Some(count);
    } else {
        section
            .errors
            .push(format!("ListMetrics: {}", reply.describe()));
    }
    Ok(section)
}

impl FilterSection {
    pub fn to_text(&self, text: &mut String) {
        let _ = writeln!(
            text,
            "Metric filters on PutLogEvents — {} connections, {} events per run, batches of {BATCH_EVENTS} events of ~{EVENT_BYTES} B",
            self.connections,
            thousands(self.events_per_run as f64)
        );
        for filter in &self.filters {
            let _ = writeln!(
                text,
                "  filter {:<24} {}  → {}",
                filter.name, filter.pattern, filter.metric_value
            );
        }
        if self.status != "measured" {
            let _ = writeln!(text, "  {}", self.status);
            return;
        }
        for run in &self.runs {
            let _ = writeln!(
                text,
                "  {} filters  {} events/s, p50 {:.1} ms, p99 {:.1} ms, server {}",
                if run.with_filters {
                    "with   "
                } else {
                    "without"
                },
                thousands(run.events_per_second),
                run.latency_ms.p50,
                run.latency_ms.p99,
                run.server_cpu_us_per_event
                    .map_or("CPU unknown".to_owned(), |micros| format!(
                        "{micros:.2} µs CPU per event"
                    )),
            );
        }
        if let (Some(without), Some(with), Some(overhead)) = (
            self.median_events_per_second_without,
            self.median_events_per_second_with,
            self.overhead_percent,
        ) {
            let _ = writeln!(
                text,
                "  median           {} events/s without, {} with: overhead {overhead:.1}% (target < 20%)",
                thousands(without),
                thousands(with)
            );
        }
        if let (Some(without), Some(with)) = (
            self.median_server_cpu_us_per_event_without,
            self.median_server_cpu_us_per_event_with,
        ) {
            let _ = writeln!(
                text,
                "  server CPU       {without:.2} µs per event without, {with:.2} with (+{:.1}%)",
                100.0 * (with / without.max(f64::EPSILON) - 1.0)
            );
        }
        if let Some(count) = self.metrics_created {
            let _ = writeln!(
                text,
                "  metrics created  {count} (ListMetrics of the filters' namespace)"
            );
        }
    }
}
