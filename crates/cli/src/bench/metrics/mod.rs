//! `argus bench metrics`: CloudWatch metrics figures (issue 4's targets).
//!
//! Sections, each against a freshly spawned `argus serve` (or all against
//! `--endpoint`), all over signed awsJson1.0 in query mode as botocore
//! sends it (`X-Amz-Target: GraniteServiceVersion20100801.<Operation>`,
//! `x-amzn-query-mode: true`, SigV4 service `monitoring`):
//!
//! 1. `ingest` (`ingest.rs`): PutMetricData of 1,000 datapoints per request
//!    over N keep-alive connections: datapoints/s, request latency, server
//!    CPU, memory and disk writes.
//! 2. `storage` (`storage.rs`): N series × 7 days of 1-minute values of a
//!    few kinds, flushed (and compacted, when the server compacts metrics):
//!    bytes of block files per datapoint, with the raw 16-byte stream and
//!    zstd over it as references; and the layout a live server builds when
//!    it flushes every 10 minutes.
//! 3. `statistics` and `metric-data` (`reads.rs`): GetMetricStatistics over
//!    a week of one metric, GetMetricData of 100 MetricStat queries plus one
//!    expression; latency of sequential requests on a warm server.
//! 4. `filters` (`filters.rs`): PutLogEvents events/s on a group without
//!    metric filters and on one with ten, alternating in one run.
//!
//! It reports and never asserts on times; it exits non-zero when a request
//! fails or an answer is wrong.

mod data;
mod filters;
mod ingest;
mod reads;
mod report;
mod storage;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use clap::{Args, ValueEnum};

use super::client::{CLOUDWATCH, Connection, Endpoint, post_unsigned};
use super::driver::is_fully_accepted;
use super::logs_ingest::Fsync;
use super::report::{command_line, machine_description};
use super::server::{RssSampler, SpawnedServer};
use super::sign::Credentials;
pub use data::Kind;
use report::{MetricsReport, Step};

/// The server counts as idle once it uses less than this share of one core.
const IDLE_CPU_SHARE: f64 = 0.05;
const IDLE_WINDOW: Duration = Duration::from_secs(1);
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Section {
    /// PutMetricData throughput
    Ingest,
    /// Bytes per stored datapoint
    Storage,
    /// GetMetricStatistics latency (needs the gauge data of `storage`)
    Statistics,
    /// GetMetricData latency (needs the gauge data of `storage`)
    MetricData,
    /// Metric-filter overhead on PutLogEvents
    Filters,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Sections to run, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Section::Ingest, Section::Storage, Section::Statistics, Section::MetricData, Section::Filters])]
    sections: Vec<Section>,

    /// Concurrent keep-alive connections for ingest (metrics and logs)
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Ingest: datapoints per timed run (a multiple of --batch)
    #[arg(long, default_value_t = 1_000_000)]
    datapoints: u64,
    /// Ingest: timed runs (the median is the figure)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Ingest: distinct series the datapoints are spread over
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Ingest: MetricData entries per PutMetricData request (AWS allows 1,000)
    #[arg(long, default_value_t = 1_000)]
    batch: usize,

    /// Storage: series per kind
    #[arg(long, default_value_t = 100)]
    storage_series: usize,
    /// Storage: days of 1-minute data per series (at most 13: PutMetricData takes two weeks)
    #[arg(long, default_value_t = 7)]
    days: i64,
    /// Storage: kinds of values, comma-separated (the first must be gauge for the read sections)
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Kind::Gauge, Kind::Count, Kind::Constant, Kind::Float])]
    kinds: Vec<Kind>,
    /// Storage: days published as a live server receives them (a flush every 10 minutes of data); 0 skips it
    #[arg(long, default_value_t = 1)]
    live_days: i64,
    /// Storage: zstd levels of the raw-stream reference
    #[arg(long, value_delimiter = ',', default_values_t = [3, 19])]
    zstd_levels: Vec<i32>,

    /// Reads: timed requests per query shape
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Reads: MetricStat queries of the GetMetricData request (at most --storage-series)
    #[arg(long, default_value_t = 100)]
    queries: usize,

    /// Filters: events per timed PutLogEvents run (a multiple of 1,000)
    #[arg(long, default_value_t = 1_000_000)]
    filter_events: u64,
    /// Filters: timed runs per group, alternating between the groups
    #[arg(long, default_value_t = 3)]
    filter_runs: usize,

    /// The spawned servers' --fsync policy
    #[arg(long, value_enum, default_value_t = Fsync::Always)]
    fsync: Fsync,
    /// Drive an already-running server (e.g. http://127.0.0.1:4566) instead of spawning one per section
    #[arg(long)]
    endpoint: Option<String>,
    /// Access key for --endpoint
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    access_key: Option<String>,
    /// Secret key for --endpoint
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Region of the signature's credential scope
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// With --endpoint: the server's process id, to report its CPU and memory
    #[arg(long)]
    server_pid: Option<u32>,
    /// With --endpoint: the server's data dir, to report bytes on disk
    #[arg(long)]
    server_data_dir: Option<PathBuf>,
    /// Where the spawned servers' temporary data dirs are created [default: the system temp dir]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: MetricsArgs) -> anyhow::Result<()> {
    validate(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the client runtime")?;
    let report = runtime.block_on(run_async(&args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if !report.errors.is_empty() {
        bail!("{}", report.errors.join("; "));
    }
    Ok(())
}

fn validate(args: &MetricsArgs) -> anyhow::Result<()> {
    ensure!(args.connections > 0, "--connections must be at least 1");
    ensure!(
        args.runs > 0 && args.filter_runs > 0,
        "--runs and --filter-runs must be at least 1"
    );
    ensure!(
        (1..=data::MAX_DATA_PER_REQUEST).contains(&args.batch),
        "--batch must be between 1 and {} (the PutMetricData limit)",
        data::MAX_DATA_PER_REQUEST
    );
    ensure!(
        args.datapoints > 0 && args.datapoints.is_multiple_of(args.batch as u64),
        "--datapoints must be a positive multiple of --batch"
    );
    ensure!(args.series > 0, "--series must be at least 1");
    ensure!(
        args.storage_series > 0,
        "--storage-series must be at least 1"
    );
    ensure!(
        (1..=13).contains(&args.days),
        "--days must be between 1 and 13 (PutMetricData takes timestamps up to two weeks old)"
    );
    ensure!(
        (0..=args.days).contains(&args.live_days),
        "--live-days must be between 0 and --days"
    );
    ensure!(args.requests > 0, "--requests must be at least 1");
    ensure!(
        (1..=499).contains(&args.queries) && args.queries <= args.storage_series,
        "--queries must be between 1 and 499 and at most --storage-series"
    );
    ensure!(
        args.filter_events > 0 && args.filter_events.is_multiple_of(1_000),
        "--filter-events must be a positive multiple of 1,000"
    );
    let reads = args
        .sections
        .iter()
        .any(|section| matches!(section, Section::Statistics | Section::MetricData));
    if reads {
        ensure!(
            args.sections.contains(&Section::Storage) && args.kinds.first() == Some(&Kind::Gauge),
            "the statistics and metric-data sections read the gauge data of the storage section: include `storage` and make gauge the first of --kinds"
        );
    }
    if args.endpoint.is_none() {
        ensure!(
            args.server_pid.is_none() && args.server_data_dir.is_none(),
            "--server-pid and --server-data-dir only apply with --endpoint"
        );
    }
    Ok(())
}

async fn run_async(args: &MetricsArgs) -> anyhow::Result<MetricsReport> {
    let run_id = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let mut report = MetricsReport::new(
        command_line(),
        machine_description(),
        match &args.endpoint {
            Some(url) => url.clone(),
            None => "spawned argus (a fresh server per section)".to_owned(),
        },
        args.endpoint
            .is_none()
            .then(|| args.fsync.as_flag().to_owned()),
    );
    if args.sections.contains(&Section::Ingest) {
        eprintln!("== PutMetricData ingest");
        let mut target = Target::open(args).await?;
        let namespace = format!("Argus/Bench/{run_id}/Ingest");
        let section = ingest::run(args, &mut target, &namespace).await?;
        report.errors.extend(section.errors.iter().cloned());
        report.ingest = Some(section);
        report.errors.extend(target.close()?);
    }
    if args.sections.contains(&Section::Storage) {
        eprintln!("== bytes per stored datapoint");
        let outcome = storage::run(args, run_id).await?;
        report.errors.extend(outcome.report.errors.iter().cloned());
        report.storage = Some(outcome.report);
        if let Some(mut gauge) = outcome.gauge {
            if args.sections.contains(&Section::Statistics) {
                eprintln!("== GetMetricStatistics");
                let section = reads::statistics(args, &gauge).await?;
                report.errors.extend(section.errors.iter().cloned());
                report.reads.push(section);
            }
            if args.sections.contains(&Section::MetricData) {
                for shape in reads::MetricDataShape::ALL {
                    eprintln!("== GetMetricData, {}", shape.label());
                    let section = reads::metric_data(args, &gauge, shape).await?;
                    report.errors.extend(section.errors.iter().cloned());
                    report.reads.push(section);
                }
            }
            report.errors.extend(gauge.target.close()?);
        }
    }
    if args.sections.contains(&Section::Filters) {
        eprintln!("== metric filters on PutLogEvents");
        let mut target = Target::open(args).await?;
        let section = filters::run(args, &mut target, run_id).await?;
        report.errors.extend(section.errors.iter().cloned());
        report.filters = Some(section);
        report.errors.extend(target.close()?);
    }
    Ok(report)
}

/// The server one section drives.
pub(super) struct Target {
    spawned: Option<SpawnedServer>,
    sampler: Option<RssSampler>,
    pub endpoint: Endpoint,
    /// Credentials with any service; connections scope them to theirs.
    pub credentials: Credentials,
    pid: Option<u32>,
    data_dir: Option<PathBuf>,
}

impl Target {
    /// Spawns a fresh server, or connects the settings of `--endpoint`.
    async fn open(args: &MetricsArgs) -> anyhow::Result<Self> {
        let Some(url) = &args.endpoint else {
            let data_parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
            let mut server = SpawnedServer::spawn(args.fsync.as_flag(), &data_parent)?;
            server.wait_ready().await?;
            eprintln!(
                "  spawned argus serve (pid {}), data dir {}",
                server.pid(),
                server.data_dir.path().display()
            );
            return Ok(Self {
                endpoint: server.endpoint.clone(),
                credentials: SpawnedServer::credentials(&args.region),
                pid: Some(server.pid()),
                data_dir: Some(server.data_dir.path().to_path_buf()),
                sampler: None,
                spawned: Some(server),
            });
        };
        let endpoint = Endpoint::parse(url)?;
        let (Some(access_key_id), Some(secret_access_key)) = (&args.access_key, &args.secret_key)
        else {
            bail!(
                "--endpoint needs --access-key and --secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            );
        };
        Ok(Self {
            endpoint,
            credentials: Credentials {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                region: args.region.clone(),
                service: "monitoring".to_owned(),
            },
            pid: args.server_pid,
            data_dir: args.server_data_dir.clone(),
            sampler: args.server_pid.map(RssSampler::start),
            spawned: None,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// Peak and current memory so far.
    pub fn memory(&self) -> Option<super::server::RssReport> {
        match (&self.spawned, &self.sampler) {
            (Some(server), _) => Some(server.sampler.snapshot()),
            (None, Some(sampler)) => Some(sampler.snapshot()),
            (None, None) => None,
        }
    }

    pub async fn cloudwatch(&self) -> anyhow::Result<Connection> {
        Connection::open_api(&self.endpoint, &self.credentials, CLOUDWATCH).await
    }

    /// Stops a spawned server (SIGTERM, graceful); problems come back as errors to report.
    fn close(&mut self) -> anyhow::Result<Vec<String>> {
        let Some(server) = &mut self.spawned else {
            return Ok(Vec::new());
        };
        let stopped = server.stop()?;
        server.sampler.finish();
        Ok(if stopped.exit.success() {
            Vec::new()
        } else {
            vec![format!(
                "argus serve exited with {} after SIGTERM",
                stopped.exit
            )]
        })
    }

    /// `POST /_argus/<action>` (flush, compact); a server without the
    /// endpoint is reported, not an error.
    pub async fn admin(&self, action: &str) -> anyhow::Result<Step> {
        let started = Instant::now();
        let path = format!("/_argus/{action}");
        let reply = post_unsigned(&self.endpoint, &path).await?;
        let method = if reply.status.is_success() {
            format!("POST {path}")
        } else if reply.status == http::StatusCode::NOT_FOUND
            || reply.status == http::StatusCode::METHOD_NOT_ALLOWED
        {
            format!("none (the server has no {path})")
        } else {
            bail!("POST {path} failed: {}", reply.describe());
        };
        Ok(Step {
            method,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Waits until the server's CPU use drops (background work done); true
    /// when it did, false when unknown or the timeout passed.
    pub async fn settle(&self) -> bool {
        let Some(pid) = self.pid else {
            tokio::time::sleep(IDLE_WINDOW).await;
            return false;
        };
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        let Some(mut previous) = super::server::cpu_seconds(pid) else {
            return false;
        };
        while Instant::now() < deadline {
            tokio::time::sleep(IDLE_WINDOW).await;
            let Some(now) = super::server::cpu_seconds(pid) else {
                return false;
            };
            if (now - previous) / IDLE_WINDOW.as_secs_f64() < IDLE_CPU_SHARE {
                return true;
            }
            previous = now;
        }
        false
    }
}

/// What a [`publish`] did.
pub(super) struct Published {
    pub requests: u64,
    pub datapoints: u64,
    pub seconds: f64,
    pub errors: Vec<String>,
}

/// Sends `count` PutMetricData bodies, each exactly once, built by `body(k)`
/// right before it is sent, over `connections` connections.
pub(super) async fn publish<F>(
    target: &Target,
    connections: usize,
    count: usize,
    body: F,
) -> anyhow::Result<Published>
where
    F: Fn(usize) -> anyhow::Result<(Vec<u8>, u64)> + Send + Sync + 'static,
{
    let body = Arc::new(body);
    let next = Arc::new(AtomicUsize::new(0));
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections.min(count).max(1) {
        opened.push(target.cloudwatch().await?);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut connection in opened {
        let body = Arc::clone(&body);
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            let mut tally = (0_u64, 0_u64, Vec::new());
            loop {
                let number = next.fetch_add(1, Ordering::Relaxed);
                if number >= count {
                    return tally;
                }
                let (bytes, datapoints) = match body(number) {
                    Ok(built) => built,
                    Err(error) => {
                        tally
                            .2
                            .push(format!("building request {number}: {error:#}"));
                        return tally;
                    }
                };
                let hash = super::sign::sha256_hex(&bytes);
                match connection
                    .call_prehashed("PutMetricData", bytes.into(), &hash)
                    .await
                {
                    Ok(reply) if is_fully_accepted(&reply) => {
                        tally.0 += 1;
                        tally.1 += datapoints;
                    }
                    Ok(reply) => {
                        tally
                            .2
                            .push(format!("PutMetricData {number}: {}", reply.describe()));
                        return tally;
                    }
                    Err(error) => {
                        tally.2.push(format!("PutMetricData {number}: {error:#}"));
                        return tally;
                    }
                }
            }
        });
    }
    let mut published = Published {
        requests: 0,
        datapoints: 0,
        seconds: 0.0,
        errors: Vec::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        let (requests, datapoints, errors) = joined.context("a publishing task panicked")?;
        published.requests += requests;
        published.datapoints += datapoints;
        published.errors.extend(errors);
    }
    published.seconds = started.elapsed().as_secs_f64();
    Ok(published)
}

/// Now, in whole seconds since the Unix epoch.
pub(super) fn now_seconds() -> anyhow::Result<i64> {
    Ok(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    )?)
}
