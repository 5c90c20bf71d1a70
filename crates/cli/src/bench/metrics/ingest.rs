//! PutMetricData ingest: what an exporter fleet sends.
//!
//! The workload is `--series` metrics (ten names × 20 services × instances,
//! three dimensions each, a unit each) publishing one value a minute over
//! the last hour: request `b` holds entries `b·1000 .. b·1000+999` of the
//! sequence "every series at minute 0, every series at minute 1, …", so a
//! request is 1,000 distinct series at one or two timestamps, as a batching
//! exporter sends them. Bodies are built and hashed before the clock starts
//! (at most [`POOL_BYTES`] of them, one pool per connection, cycled), so
//! over a long run a series gets several values per minute, as from an
//! agent collecting every few seconds.
//!
//! One untimed pass first publishes every series once, so the timed runs
//! measure the steady state (series known) and the pass measures how fast
//! new series are registered.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::super::driver::{self, Plan};
use super::super::report::{Percentiles, thousands};
use super::super::server::fsync_write_rate;
use super::super::workload::{Batch, Workload};
use super::data::{MINUTE_S, Series, ingest_series, ingest_value, put_metric_data_body};
use super::report::{median, mib};
use super::{MetricsArgs, Target, now_seconds, publish};

/// Upper bound on the pre-built bodies held by the client.
const POOL_BYTES: usize = 64 * 1024 * 1024;
/// The workload's timestamps cover this many minutes before now.
const WINDOW_MINUTES: i64 = 60;
/// The disk reference: appends of this size, each made durable.
const FSYNC_BLOCK_BYTES: usize = 256 * 1024;
const FSYNC_REFERENCE: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize)]
pub struct IngestSection {
    pub series: usize,
    pub connections: usize,
    pub batch_datapoints: usize,
    pub datapoints_per_run: u64,
    /// Distinct pre-built bodies the connections cycle through, all pools together.
    pub distinct_bodies: usize,
    pub mean_request_bytes: f64,
    pub first_pass: FirstPass,
    pub runs: Vec<IngestRun>,
    pub median_datapoints_per_second: f64,
    pub median_p50_ms: f64,
    pub median_p99_ms: f64,
    pub server_peak_rss_bytes: Option<u64>,
    pub server_rss_after_bytes: Option<u64>,
    /// The disk under the data dir: `FSYNC_BLOCK_BYTES` appends, each followed by fdatasync.
    pub disk_fsync_mb_per_second: Option<f64>,
    pub disk_fsyncs_per_second: Option<f64>,
    pub errors: Vec<String>,
}

/// The untimed pass that registers every series.
#[derive(Debug, Serialize)]
pub struct FirstPass {
    pub requests: u64,
    pub new_series: u64,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct IngestRun {
    pub datapoints: u64,
    pub seconds: f64,
    pub datapoints_per_second: f64,
    /// Request bodies on the wire, MB (10^6) per second.
    pub request_mb_per_second: f64,
    pub latency_ms: Percentiles,
    pub server_cpu_seconds: Option<f64>,
    pub client_cpu_seconds: Option<f64>,
    pub errors: u64,
}

/// The ingest workload: request `number`'s entries, timestamps from `window_start_s`.
struct Generator {
    series: Vec<Series>,
    namespace: String,
    batch: usize,
    window_start_s: i64,
}

impl Generator {
    fn body(&self, number: usize) -> anyhow::Result<Vec<u8>> {
        let count = self.series.len();
        let window = usize::try_from(WINDOW_MINUTES)?;
        let mut entries = Vec::with_capacity(self.batch);
        for entry in number * self.batch..(number + 1) * self.batch {
            let index = entry % count;
            let minute = i64::try_from((entry / count) % window)?;
            let timestamp = self.window_start_s + minute * MINUTE_S;
            let Some(series) = self.series.get(index) else {
                anyhow::bail!("series {index} out of range");
            };
            entries.push((series, timestamp, ingest_value(index, timestamp / MINUTE_S)));
        }
        put_metric_data_body(&self.namespace, &entries)
    }
}

pub async fn run(
    args: &MetricsArgs,
    target: &mut Target,
    namespace: &str,
) -> anyhow::Result<IngestSection> {
    let now_s = now_seconds()?;
    let generator = Arc::new(Generator {
        series: (0..args.series).map(ingest_series).collect(),
        namespace: namespace.to_owned(),
        batch: args.batch,
        window_start_s: now_s - now_s.rem_euclid(MINUTE_S) - WINDOW_MINUTES * MINUTE_S,
    });
    let mut errors = Vec::new();

    let first_requests = args.series.div_ceil(args.batch);
    eprintln!(
        "  first pass: {first_requests} requests register {} series",
        args.series
    );
    let first = {
        let generator = Arc::clone(&generator);
        let batch = args.batch as u64;
        publish(target, args.connections, first_requests, move |number| {
            Ok((generator.body(number)?, batch))
        })
        .await?
    };
    errors.extend(first.errors.iter().cloned());
    let first_pass = FirstPass {
        requests: first.requests,
        new_series: args.series as u64,
        seconds: first.seconds,
    };

    let (workload, distinct_bodies, mean_request_bytes) = build_pools(&generator, args)?;
    let workload = Arc::new(workload);
    let total_batches = args.datapoints / args.batch as u64;
    let mut runs = Vec::with_capacity(args.runs);
    for run in 0..args.runs {
        let mut connections = Vec::with_capacity(args.connections);
        for _ in 0..args.connections {
            connections.push(target.cloudwatch().await?);
        }
        let plan = Arc::new(Plan::new(
            Arc::clone(&workload),
            "PutMetricData",
            total_batches,
            args.connections,
            None,
            false,
        ));
        let phase = driver::run(connections, plan, target.pid()).await?;
        let seconds = phase.elapsed.as_secs_f64().max(f64::EPSILON);
        let totals = &phase.totals;
        errors.extend(totals.error_samples.iter().cloned());
        let result = IngestRun {
            datapoints: totals.items,
            seconds,
            datapoints_per_second: phase.items_per_second(),
            request_mb_per_second: totals.request_bytes as f64 / 1e6 / seconds,
            latency_ms: Percentiles::from_micros(&totals.latency_micros),
            server_cpu_seconds: phase.server_cpu_seconds,
            client_cpu_seconds: phase.client_cpu_seconds,
            errors: totals.errors,
        };
        eprintln!(
            "  run {}: {} datapoints/s, p50 {:.1} ms, p99 {:.1} ms, server CPU {}",
            run + 1,
            thousands(result.datapoints_per_second),
            result.latency_ms.p50,
            result.latency_ms.p99,
            result
                .server_cpu_seconds
                .map_or("unknown".to_owned(), |cpu| format!("{cpu:.1} s")),
        );
        runs.push(result);
    }
    let memory = target.memory();
    let disk = match target.data_dir() {
        Some(dir) => Some(fsync_write_rate(dir, FSYNC_BLOCK_BYTES, FSYNC_REFERENCE)?),
        None => None,
    };
    Ok(IngestSection {
        series: args.series,
        connections: args.connections,
        batch_datapoints: args.batch,
        datapoints_per_run: args.datapoints,
        distinct_bodies,
        mean_request_bytes,
        first_pass,
        median_datapoints_per_second: median(runs.iter().map(|run| run.datapoints_per_second)),
        median_p50_ms: median(runs.iter().map(|run| run.latency_ms.p50)),
        median_p99_ms: median(runs.iter().map(|run| run.latency_ms.p99)),
        runs,
        server_peak_rss_bytes: memory.map(|memory| memory.peak_hwm_bytes),
        server_rss_after_bytes: memory.map(|memory| memory.last_rss_bytes),
        disk_fsync_mb_per_second: disk.map(|(rate, _)| rate),
        disk_fsyncs_per_second: disk.map(|(_, syncs)| syncs),
        errors,
    })
}

/// The pre-built bodies, request `b` in pool `b mod connections`; as many
/// as one window of minutes needs or [`POOL_BYTES`] allows.
fn build_pools(
    generator: &Generator,
    args: &MetricsArgs,
) -> anyhow::Result<(Workload, usize, f64)> {
    let first = generator.body(0)?;
    let window_requests = (args.series * usize::try_from(WINDOW_MINUTES)?).div_ceil(args.batch);
    let budget = (POOL_BYTES / first.len().max(1)).max(args.connections);
    let distinct = window_requests.max(args.connections).min(budget);
    let mut pools: Vec<Vec<Batch>> = (0..args.connections).map(|_| Vec::new()).collect();
    let mut total_bytes = 0_usize;
    for number in 0..distinct {
        let body = generator.body(number)?;
        total_bytes += body.len();
        if let Some(pool) = pools.get_mut(number % args.connections) {
            pool.push(Batch::new(body, args.batch as u64));
        }
    }
    eprintln!(
        "  {distinct} distinct bodies of {:.0} KB on average, {:.1} MiB in all",
        total_bytes as f64 / distinct as f64 / 1e3,
        mib(total_bytes as u64)
    );
    Ok((
        Workload::from_pools(pools)?,
        distinct,
        total_bytes as f64 / distinct as f64,
    ))
}

impl IngestSection {
    pub fn to_text(&self, text: &mut String) {
        let _ = writeln!(
            text,
            "PutMetricData ingest — {} connections, {} entries per request (~{:.0} KB), {} series, {} distinct bodies",
            self.connections,
            self.batch_datapoints,
            self.mean_request_bytes / 1e3,
            thousands(self.series as f64),
            self.distinct_bodies
        );
        let _ = writeln!(
            text,
            "  first pass     {} requests registering {} new series: {:.2} s",
            self.first_pass.requests,
            thousands(self.first_pass.new_series as f64),
            self.first_pass.seconds
        );
        for (index, run) in self.runs.iter().enumerate() {
            let cpu = run.server_cpu_seconds.map_or("unknown".to_owned(), |cpu| {
                format!("{cpu:.1} s ({:.0}% of a core)", 100.0 * cpu / run.seconds)
            });
            let _ = writeln!(
                text,
                "  run {}          {} datapoints/s, {:.1} MB/s on the wire, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server CPU {cpu}, client CPU {:.1} s",
                index + 1,
                thousands(run.datapoints_per_second),
                run.request_mb_per_second,
                run.latency_ms.p50,
                run.latency_ms.p90,
                run.latency_ms.p99,
                run.latency_ms.max,
                run.client_cpu_seconds.unwrap_or_default(),
            );
        }
        let _ = writeln!(
            text,
            "  median         {} datapoints/s (target ≥ 500,000), p50 {:.1} ms, p99 {:.1} ms",
            thousands(self.median_datapoints_per_second),
            self.median_p50_ms,
            self.median_p99_ms
        );
        if let Some(peak) = self.server_peak_rss_bytes {
            let _ = writeln!(
                text,
                "  server RSS     peak {:.1} MiB, {:.1} MiB after the runs",
                mib(peak),
                mib(self.server_rss_after_bytes.unwrap_or_default())
            );
        }
        if let (Some(rate), Some(syncs)) =
            (self.disk_fsync_mb_per_second, self.disk_fsyncs_per_second)
        {
            let _ = writeln!(
                text,
                "  disk reference {rate:.1} MB/s in {} KiB appends each made durable ({syncs:.0} fdatasync/s)",
                FSYNC_BLOCK_BYTES / 1024
            );
        }
    }
}
