//! `argus bench logs-ingest`: PutLogEvents throughput, batch latency and
//! server memory.
//!
//! N connections (HTTP/1.1 keep-alive) send pre-built batches
//! (`workload.rs`) until `--events` are sent (`driver.rs`). Connection `c`
//! sends its `j`-th batch to stream `(c + j·N) mod streams`: with the
//! default of one stream per connection, each connection owns its stream.
//!
//! Without `--rate` every connection sends its next batch as soon as the
//! previous one is acknowledged (closed loop: the maximum sustained rate).
//! With `--rate R`, batch `k` is due at `start + k·batch/R` (open loop), and
//! its latency is counted from that due time, so time spent waiting for a
//! free connection behind a slow server counts too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use clap::{Args, ValueEnum};

use super::client::{Connection, Endpoint};
use super::driver::{self, Plan};
use super::report::{IngestReport, Percentiles, command_line, machine_description};
use super::server::{RssSampler, SpawnedServer, disk_usage};
use super::sign::Credentials;
use super::workload::Workload;

/// CloudWatch's PutLogEvents limits.
const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_BATCH_BYTES: usize = 1_048_576;
const PER_EVENT_OVERHEAD_BYTES: usize = 26;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fsync {
    Always,
    Interval,
    Never,
}

impl Fsync {
    pub(super) fn as_flag(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Interval => "interval",
            Self::Never => "never",
        }
    }
}

#[derive(Debug, Args)]
pub struct LogsIngestArgs {
    /// Concurrent HTTP/1.1 keep-alive connections
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Total events to send (a multiple of --batch)
    #[arg(long, default_value_t = 2_000_000)]
    events: u64,
    /// Events per PutLogEvents request
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Average message size in bytes (each message is within ±20%)
    #[arg(long, default_value_t = 200)]
    event_bytes: usize,
    /// Open-loop pacing in events per second, for latency at a given load [default: as fast as possible]
    #[arg(long)]
    rate: Option<f64>,
    /// Log streams to spread the batches over [default: one per connection]
    #[arg(long)]
    streams: Option<usize>,
    /// The spawned server's --fsync policy
    #[arg(long, value_enum, default_value_t = Fsync::Always)]
    fsync: Fsync,
    /// Drive an already-running server (e.g. http://127.0.0.1:5000) instead of spawning one
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
    /// With --endpoint: the server's process id, to report its memory
    #[arg(long)]
    server_pid: Option<u32>,
    /// Where the spawned server's temporary data dir is created [default: the system temp dir]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Log group to create and write to [default: /argus/bench/<unix-ms>]
    #[arg(long)]
    log_group: Option<String>,
    /// Threads of the client's async runtime
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// Write one CSV line per acknowledged batch (when it was sent and how long it took), to see stalls over time
    #[arg(long)]
    latency_log: Option<PathBuf>,
}

/// The server a run drives.
enum Target {
    Spawned(SpawnedServer),
    External {
        url: String,
        sampler: Option<RssSampler>,
    },
}

pub fn run(args: LogsIngestArgs) -> anyhow::Result<()> {
    validate(&args)?;
    let mut runtime = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(args.client_threads);
        builder
    };
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the client runtime")?;
    let report = runtime.block_on(run_async(&args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if report.errors > 0 {
        bail!(
            "{} of {} requests failed",
            report.errors,
            report.errors + report.batches_acknowledged
        );
    }
    Ok(())
}

fn validate(args: &LogsIngestArgs) -> anyhow::Result<()> {
    ensure!(args.connections > 0, "--connections must be at least 1");
    ensure!(
        (1..=MAX_BATCH_EVENTS).contains(&args.batch),
        "--batch must be between 1 and {MAX_BATCH_EVENTS} (the PutLogEvents limit)"
    );
    ensure!(args.events > 0, "--events must be at least 1");
    ensure!(
        args.events.is_multiple_of(args.batch as u64),
        "--events ({}) must be a multiple of --batch ({})",
        args.events,
        args.batch
    );
    ensure!(args.event_bytes >= 10, "--event-bytes must be at least 10");
    let largest_batch_bytes =
        args.batch * (args.event_bytes + args.event_bytes / 5 + PER_EVENT_OVERHEAD_BYTES);
    ensure!(
        largest_batch_bytes <= MAX_BATCH_BYTES,
        "--batch {} of --event-bytes {} can exceed PutLogEvents' {MAX_BATCH_BYTES}-byte limit; use fewer or smaller events",
        args.batch,
        args.event_bytes
    );
    if let Some(rate) = args.rate {
        ensure!(
            rate.is_finite() && rate > 0.0,
            "--rate must be a positive number of events per second"
        );
    }
    ensure!(
        args.streams.is_none_or(|streams| streams > 0),
        "--streams must be at least 1"
    );
    if args.endpoint.is_none() && args.server_pid.is_some() {
        bail!("--server-pid only applies with --endpoint (a spawned server is sampled anyway)");
    }
    Ok(())
}

async fn run_async(args: &LogsIngestArgs) -> anyhow::Result<IngestReport> {
    let (mut target, endpoint, credentials) = start_target(args).await?;

    let group = match &args.log_group {
        Some(group) => group.clone(),
        None => format!(
            "/argus/bench/{}",
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis()
        ),
    };
    let stream_count = args.streams.unwrap_or(args.connections);
    let streams: Vec<String> = (0..stream_count)
        .map(|index| format!("bench-{index:04}"))
        .collect();
    create_group_and_streams(&endpoint, &credentials, &group, &streams).await?;

    let total_batches = args.events / args.batch as u64;
    let batches_per_stream = usize::try_from(total_batches.div_ceil(stream_count as u64))?;
    let workload = Workload::build(
        &group,
        &streams,
        batches_per_stream,
        args.batch,
        args.event_bytes,
    )?;
    let batch_pool_per_stream = workload.pool_len();
    let plan = Arc::new(Plan::new(
        Arc::new(workload),
        "PutLogEvents",
        total_batches,
        args.connections,
        args.rate
            .map(|rate| Duration::from_secs_f64(args.batch as f64 / rate)),
        args.latency_log.is_some(),
    ));

    // Connect before the clock starts: the timed phase is requests only.
    let mut connections = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        connections.push(Connection::open(&endpoint, &credentials).await?);
    }
    let server_pid = match &target {
        Target::Spawned(server) => Some(server.pid()),
        Target::External { .. } => args.server_pid,
    };
    let phase = driver::run(connections, plan, server_pid).await?;
    let elapsed = phase.elapsed;
    let mut totals = phase.totals;
    if let (Some(path), Some(timeline)) = (&args.latency_log, &mut totals.timeline) {
        driver::write_latency_log(path, timeline)?;
    }

    let (
        fsync,
        server_memory,
        server_rss_after_load_bytes,
        server_shutdown_seconds,
        data_dir_bytes,
        target_name,
    ) = match &mut target {
        Target::Spawned(server) => {
            let after_load = server.sampler.snapshot().last_rss_bytes;
            let stopped = server.stop()?;
            let memory = server.sampler.finish();
            if !stopped.exit.success() {
                totals.record_error(format!(
                    "argus serve exited with {} after SIGTERM",
                    stopped.exit
                ));
            }
            let on_disk = disk_usage(server.data_dir.path());
            (
                Some(args.fsync.as_flag().to_owned()),
                Some(memory),
                Some(after_load),
                Some(stopped.shutdown.as_secs_f64()),
                Some(on_disk),
                "spawned argus".to_owned(),
            )
        }
        Target::External { url, sampler } => {
            let memory = sampler.as_mut().map(RssSampler::finish);
            let after_load = memory.map(|memory| memory.last_rss_bytes);
            (None, memory, after_load, None, None, url.clone())
        }
    };

    let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
    Ok(IngestReport {
        benchmark: "logs-ingest",
        command: command_line(),
        machine: machine_description(),
        target: target_name,
        fsync,
        connections: args.connections,
        streams: stream_count,
        batch_events: args.batch,
        event_bytes_target: args.event_bytes,
        rate_limit: args.rate,
        batch_pool_per_stream,
        events_acknowledged: totals.items,
        batches_acknowledged: totals.batches,
        errors: totals.errors,
        reconnects: totals.reconnects,
        error_samples: totals.error_samples,
        elapsed_seconds: seconds,
        events_per_second: totals.items as f64 / seconds,
        message_mb_per_second: totals.message_bytes as f64 / 1e6 / seconds,
        request_mb_per_second: totals.request_bytes as f64 / 1e6 / seconds,
        batches_per_second: totals.batches as f64 / seconds,
        batch_latency_ms: Percentiles::from_micros(&totals.latency_micros),
        service_latency_ms: Percentiles::from_micros(&totals.service_micros),
        server_memory,
        server_rss_after_load_bytes,
        server_cpu_seconds: phase.server_cpu_seconds,
        client_cpu_seconds: phase.client_cpu_seconds,
        server_shutdown_seconds,
        data_dir_bytes,
    })
}

/// Spawns the server, or checks the `--endpoint` settings.
async fn start_target(args: &LogsIngestArgs) -> anyhow::Result<(Target, Endpoint, Credentials)> {
    let Some(url) = &args.endpoint else {
        let data_parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
        let mut server = SpawnedServer::spawn(args.fsync.as_flag(), &data_parent)?;
        server.wait_ready().await?;
        let endpoint = server.endpoint.clone();
        return Ok((
            Target::Spawned(server),
            endpoint,
            SpawnedServer::credentials(&args.region),
        ));
    };
    let endpoint = Endpoint::parse(url)?;
    let (Some(access_key_id), Some(secret_access_key)) = (&args.access_key, &args.secret_key)
    else {
        bail!(
            "--endpoint needs --access-key and --secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        );
    };
    let credentials = Credentials {
        access_key_id: access_key_id.clone(),
        secret_access_key: secret_access_key.clone(),
        region: args.region.clone(),
        service: "logs".to_owned(),
    };
    let sampler = args.server_pid.map(RssSampler::start);
    Ok((
        Target::External {
            url: url.clone(),
            sampler,
        },
        endpoint,
        credentials,
    ))
}

pub(super) async fn create_group_and_streams(
    endpoint: &Endpoint,
    credentials: &Credentials,
    group: &str,
    streams: &[String],
) -> anyhow::Result<()> {
    let mut connection = Connection::open(endpoint, credentials).await?;
    let reply = connection
        .call(
            "CreateLogGroup",
            &serde_json::json!({ "logGroupName": group }),
        )
        .await?;
    ensure!(
        reply.status.is_success(),
        "CreateLogGroup `{group}` failed: {}",
        reply.describe()
    );
    for stream in streams {
        let body = serde_json::json!({ "logGroupName": group, "logStreamName": stream });
        let reply = connection.call("CreateLogStream", &body).await?;
        ensure!(
            reply.status.is_success(),
            "CreateLogStream `{stream}` failed: {}",
            reply.describe()
        );
    }
    Ok(())
}
