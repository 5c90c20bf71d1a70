//! `argus bench logs-query`: FilterLogEvents over a realistic 13-day
//! corpus (issue 3's performance targets).
//!
//! 1. Generates the corpus (`bench/corpus/`) in memory: 10 million events,
//!    about 2 GB of messages, from a seed.
//! 2. Spawns `argus serve` (or uses `--endpoint`), creates the group and its
//!    ten streams and loads the corpus through PutLogEvents (`load.rs`).
//! 3. Asks the server to write every memtable to segment files
//!    (`POST /_argus/flush`; a server without that endpoint is restarted,
//!    since SIGTERM flushes), then to merge each day's files into their final
//!    form (`POST /_argus/compact`, what the server does by itself once a day
//!    has had no new file for a while), waiting after each until the server's
//!    CPU is idle so background work does not overlap the measurements.
//! 4. Measures the size of the data dir's `objects/` tree (segment files and
//!    their token indexes) against the raw message bytes, after the flush and
//!    after compaction.
//! 5. Times one thread running `memmem` for the needle over the corpus in
//!    memory: the physical reference.
//! 6. Runs each query `--runs` times over HTTP, checks every answer against
//!    the generator's counts, and reports all runs and the median
//!    (`queries.rs`). The Logs Insights queries (`--queries insights-…`,
//!    issue 6's targets) run through StartQuery and GetQueryResults and are
//!    checked against a single-threaded evaluation over the corpus in
//!    memory (`insights.rs`).
//!
//! Like every `argus bench` command it reports and never asserts on times;
//! it exits non-zero when a request fails or an answer is wrong.

mod insights;
mod load;
mod queries;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use clap::Args;

use super::client::{Endpoint, post_unsigned};
use super::corpus::{Corpus, CorpusSpec};
use super::logs_ingest::{Fsync, create_group_and_streams};
use super::report::{command_line, machine_description};
use super::server::{SpawnedServer, cpu_seconds, disk_usage};
use super::sign::Credentials;
use queries::{QueryName, QuerySpec, Session};
use report::{DiskReport, FileUsage, PrepareReport, QueryReport, Step};

/// The server counts as idle once it uses less than this share of one core.
const IDLE_CPU_SHARE: f64 = 0.05;
const IDLE_WINDOW: Duration = Duration::from_secs(2);

#[derive(Debug, Args)]
pub struct LogsQueryArgs {
    /// Events in the corpus
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Seed of the corpus generator (same seed and --events: same corpus)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// End of the corpus's 13-day time range, Unix milliseconds [default: now]; only the timestamps depend on it
    #[arg(long)]
    end_time_ms: Option<i64>,
    /// Queries to run, comma-separated
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [QueryName::Needle, QueryName::FirstPage, QueryName::Count])]
    queries: Vec<QueryName>,
    /// Timed runs of each query
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds after which a query run is abandoned (its remaining runs are skipped)
    #[arg(long, default_value_t = 600)]
    query_timeout: u64,
    /// Concurrent keep-alive connections while loading
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// The spawned server's --fsync policy
    #[arg(long, value_enum, default_value_t = Fsync::Always)]
    fsync: Fsync,
    /// Drive an already-running server (e.g. http://127.0.0.1:4566) instead of spawning one
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
    /// With --endpoint: the server's process id, to wait for it to go idle and report its CPU time
    #[arg(long)]
    server_pid: Option<u32>,
    /// With --endpoint: the server's data dir, to report bytes on disk
    #[arg(long)]
    server_data_dir: Option<PathBuf>,
    /// Log group to create and load [default: /argus/bench/query-<seed>-<unix-ms>]
    #[arg(long)]
    log_group: Option<String>,
    /// Skip creating and loading the group: it already holds this corpus (same --seed and --events)
    #[arg(long, requires = "log_group")]
    no_load: bool,
    /// Where the spawned server's temporary data dir is created [default: the system temp dir]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Leave the spawned server's data dir in place (its path is printed) instead of deleting it
    #[arg(long)]
    keep_data: bool,
    /// Skip `POST /_argus/compact` after the flush (measure the freshly flushed files)
    #[arg(long)]
    no_compact: bool,
    /// Longest wait for the server to go idle after the flush and after compaction, in seconds
    #[arg(long, default_value_t = 600)]
    settle_timeout: u64,
    /// Threads that generate the corpus [default: one per core]
    #[arg(long)]
    generator_threads: Option<usize>,
    /// Only generate the corpus and time the memmem reference: no server, no queries
    #[arg(long, conflicts_with_all = ["endpoint", "no_load", "keep_data"])]
    corpus_only: bool,
    /// Also write the corpus to this file as JSON lines (`timestamp`, `stream`, `message`), for other tools
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

/// The server a run drives.
enum Target {
    Spawned(SpawnedServer),
    External,
}

pub fn run(args: LogsQueryArgs) -> anyhow::Result<()> {
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
    let failures = report.failures();
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    Ok(())
}

fn validate(args: &LogsQueryArgs) -> anyhow::Result<()> {
    ensure!(args.events > 0, "--events must be at least 1");
    ensure!(
        args.events < u64::from(u32::MAX),
        "--events must be below {}",
        u32::MAX
    );
    ensure!(args.runs > 0, "--runs must be at least 1");
    ensure!(args.connections > 0, "--connections must be at least 1");
    ensure!(
        args.query_timeout > 0,
        "--query-timeout must be at least 1 second"
    );
    if args.endpoint.is_none() {
        ensure!(
            !args.no_load,
            "--no-load needs --endpoint: a spawned server starts empty"
        );
        ensure!(
            args.server_pid.is_none() && args.server_data_dir.is_none(),
            "--server-pid and --server-data-dir only apply with --endpoint"
        );
    }
    Ok(())
}

async fn run_async(args: &LogsQueryArgs) -> anyhow::Result<QueryReport> {
    let end_ms = match args.end_time_ms {
        Some(end_ms) => end_ms,
        None => i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?,
    };
    let spec = CorpusSpec {
        seed: args.seed,
        events: args.events,
        end_ms,
    };
    let threads = args
        .generator_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |count| count.get()));
    eprintln!(
        "generating {} events (seed {}, end {end_ms}) on {threads} threads",
        spec.events, spec.seed
    );
    let started = Instant::now();
    let corpus = Arc::new(Corpus::generate(spec, threads));
    let generate_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "  {:.2} s, {:.0} events/s, {:.1} MB of messages",
        generate_seconds,
        corpus.len() as f64 / generate_seconds.max(f64::EPSILON),
        corpus.stats.message_bytes as f64 / 1e6
    );

    if let Some(path) = &args.dump {
        eprintln!("writing the corpus to {}", path.display());
        dump(&corpus, path)?;
    }

    if args.corpus_only {
        eprintln!(
            "memmem reference over {:.1} MB",
            corpus.stats.message_bytes as f64 / 1e6
        );
        let reference = queries::memmem_reference(&corpus, args.runs);
        return Ok(QueryReport::new(report::Parts {
            command: command_line(),
            machine: machine_description(),
            target: "none (--corpus-only)".to_owned(),
            log_group: String::new(),
            corpus: &corpus,
            generate_seconds,
            load: None,
            prepare: None,
            disk_after_flush: None,
            disk: None,
            reference,
            queries: Vec::new(),
            server_exit: None,
        }));
    }

    let (mut target, credentials) = start_target(args).await?;
    let group = match &args.log_group {
        Some(group) => group.clone(),
        None => format!("/argus/bench/query-{}-{end_ms}", args.seed),
    };

    let load = if args.no_load {
        None
    } else {
        let endpoint = endpoint_of(&target, args)?;
        create_group_and_streams(&endpoint, &credentials, &group, &streams()).await?;
        eprintln!("loading into {group} over {} connections", args.connections);
        let server_pid = pid_of(&target, args);
        let load = load::load(
            Arc::clone(&corpus),
            &endpoint,
            &credentials,
            &group,
            args.connections,
            server_pid,
        )
        .await?;
        eprintln!(
            "  {:.1} s, {:.0} events/s, {:.1} MB/s, {} errors",
            load.elapsed_seconds, load.events_per_second, load.message_mb_per_second, load.errors
        );
        Some(load)
    };

    let prepared = prepare(&mut target, args, corpus.stats.message_bytes).await?;

    eprintln!(
        "memmem reference over {:.1} MB",
        corpus.stats.message_bytes as f64 / 1e6
    );
    let reference = queries::memmem_reference(&corpus, args.runs);

    let endpoint = endpoint_of(&target, args)?;
    let session = Session {
        endpoint: &endpoint,
        credentials: &credentials,
        group: &group,
        runs: args.runs,
        timeout: Duration::from_secs(args.query_timeout),
        server_pid: pid_of(&target, args),
    };
    let mut results = Vec::with_capacity(args.queries.len());
    for &name in &args.queries {
        eprintln!("query {}", name.label());
        let mut result = queries::measure(QuerySpec::new(name, &corpus), &corpus, &session).await?;
        result.ratio_to_memmem = result
            .median_ms
            .map(|median| median / reference.median_ms.max(f64::EPSILON));
        // Only a query that reads to the end scans the whole corpus.
        if result.query.all_pages {
            result.raw_mb_per_second = result.median_ms.map(|median| {
                corpus.stats.message_bytes as f64 / 1e6 / (median / 1_000.0).max(f64::EPSILON)
            });
        }
        results.push(result);
    }

    let (target_name, server_exit) = match &mut target {
        Target::Spawned(server) => {
            let stopped = server.stop()?;
            server.sampler.finish();
            let exit = (!stopped.exit.success())
                .then(|| format!("argus serve exited with {} after SIGTERM", stopped.exit));
            if args.keep_data {
                // Swap in an empty TempDir so that dropping the server deletes nothing.
                let placeholder = tempfile::tempdir()?;
                let kept = std::mem::replace(&mut server.data_dir, placeholder).keep();
                eprintln!("kept the data dir {}", kept.display());
            }
            ("spawned argus".to_owned(), exit)
        }
        Target::External => (args.endpoint.clone().unwrap_or_default(), None),
    };

    Ok(QueryReport::new(report::Parts {
        command: command_line(),
        machine: machine_description(),
        target: target_name,
        log_group: group,
        corpus: &corpus,
        generate_seconds,
        load,
        prepare: Some(prepared.report),
        disk_after_flush: prepared.disk_after_flush,
        disk: prepared.disk,
        reference,
        queries: results,
        server_exit,
    }))
}

/// The corpus as JSON lines, in event order.
fn dump(corpus: &Corpus, path: &Path) -> anyhow::Result<()> {
    use std::io::Write as _;

    #[derive(serde::Serialize)]
    struct Line<'a> {
        timestamp: i64,
        stream: &'a str,
        message: &'a str,
    }

    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let names = Corpus::stream_names();
    let mut streams = vec![""; usize::try_from(corpus.len())?];
    for (name, indexes) in names.iter().zip(corpus.events_by_stream()) {
        for index in indexes {
            if let Some(slot) = streams.get_mut(index as usize) {
                *slot = name;
            }
        }
    }
    for (index, stream) in (0..corpus.len()).zip(streams) {
        let event = corpus.event(index).context("event outside the corpus")?;
        serde_json::to_writer(
            &mut out,
            &Line {
                timestamp: event.timestamp_ms,
                stream,
                message: event.message,
            },
        )?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn streams() -> Vec<String> {
    Corpus::stream_names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Spawns the server, or checks the `--endpoint` settings.
async fn start_target(args: &LogsQueryArgs) -> anyhow::Result<(Target, Credentials)> {
    let Some(url) = &args.endpoint else {
        let data_parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
        let mut server = SpawnedServer::spawn(args.fsync.as_flag(), &data_parent)?;
        server.wait_ready().await?;
        eprintln!(
            "spawned argus serve (pid {}) with data dir {}",
            server.pid(),
            server.data_dir.path().display()
        );
        return Ok((
            Target::Spawned(server),
            SpawnedServer::credentials(&args.region),
        ));
    };
    Endpoint::parse(url)?;
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
    Ok((Target::External, credentials))
}

/// The server's process, when known (a restart changes it).
fn pid_of(target: &Target, args: &LogsQueryArgs) -> Option<u32> {
    match target {
        Target::Spawned(server) => Some(server.pid()),
        Target::External => args.server_pid,
    }
}

/// The data after preparation, and its size on disk along the way.
struct Prepared {
    report: PrepareReport,
    disk_after_flush: Option<DiskReport>,
    disk: Option<DiskReport>,
}

/// Flush, wait for idle, measure the disk, compact, wait for idle, measure
/// the disk again.
async fn prepare(
    target: &mut Target,
    args: &LogsQueryArgs,
    raw_bytes: u64,
) -> anyhow::Result<Prepared> {
    let flushed = flush(target, args).await?;
    let data_dir = match &*target {
        Target::Spawned(server) => Some(server.data_dir.path().to_path_buf()),
        Target::External => args.server_data_dir.clone(),
    };
    let (flush_settle_seconds, _) = settle(pid_of(target, args), args).await;
    let disk_after_flush = data_dir.as_deref().map(|dir| measure_disk(dir, raw_bytes));
    let compacted = if args.no_compact {
        None
    } else {
        Some(compact(target, args).await?)
    };
    let (settle_seconds, idle_reached) = settle(pid_of(target, args), args).await;
    let disk = data_dir.as_deref().map(|dir| measure_disk(dir, raw_bytes));
    Ok(Prepared {
        report: PrepareReport {
            flush: flushed,
            flush_settle_seconds,
            compact: compacted,
            settle_seconds,
            idle_reached,
        },
        disk_after_flush,
        disk,
    })
}

/// The current endpoint (a restarted server listens on a new port).
fn endpoint_of(target: &Target, args: &LogsQueryArgs) -> anyhow::Result<Endpoint> {
    match target {
        Target::Spawned(server) => Ok(server.endpoint.clone()),
        Target::External => Endpoint::parse(args.endpoint.as_deref().unwrap_or_default()),
    }
}

/// Writes every memtable to segment files: `POST /_argus/flush`, or a
/// restart where the server has no such endpoint (SIGTERM flushes).
async fn flush(target: &mut Target, args: &LogsQueryArgs) -> anyhow::Result<Step> {
    let endpoint = endpoint_of(target, args)?;
    eprintln!("flushing memtables to segment files");
    let started = Instant::now();
    let reply = post_unsigned(&endpoint, "/_argus/flush").await?;
    let method = if reply.status.is_success() {
        "POST /_argus/flush".to_owned()
    } else if is_missing_endpoint(reply.status) {
        match target {
            Target::Spawned(server) => {
                server.restart().await?;
                "restart (SIGTERM flushes; the server has no /_argus/flush)".to_owned()
            }
            Target::External => "none (the server has no /_argus/flush)".to_owned(),
        }
    } else {
        bail!("POST /_argus/flush failed: {}", reply.describe());
    };
    let step = Step {
        method,
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!("  {}: {:.1} s", step.method, step.seconds);
    Ok(step)
}

/// One maintenance pass that merges every day's files into their final
/// form (`POST /_argus/compact`), as the server does by itself once a day
/// has settled.
async fn compact(target: &Target, args: &LogsQueryArgs) -> anyhow::Result<Step> {
    let endpoint = endpoint_of(target, args)?;
    eprintln!("compacting");
    let started = Instant::now();
    let reply = post_unsigned(&endpoint, "/_argus/compact").await?;
    let method = if reply.status.is_success() {
        "POST /_argus/compact".to_owned()
    } else if is_missing_endpoint(reply.status) {
        "none (the server has no /_argus/compact)".to_owned()
    } else {
        bail!("POST /_argus/compact failed: {}", reply.describe());
    };
    let step = Step {
        method,
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!("  {}: {:.1} s", step.method, step.seconds);
    Ok(step)
}

fn is_missing_endpoint(status: http::StatusCode) -> bool {
    status == http::StatusCode::NOT_FOUND || status == http::StatusCode::METHOD_NOT_ALLOWED
}

/// Waits until the server is idle (when its pid is known), so background
/// work does not overlap the measurements.
async fn settle(server_pid: Option<u32>, args: &LogsQueryArgs) -> (f64, bool) {
    let started = Instant::now();
    let idle = match server_pid {
        Some(pid) => wait_idle(pid, Duration::from_secs(args.settle_timeout)).await,
        None => {
            tokio::time::sleep(IDLE_WINDOW).await;
            false
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "  server {} after {seconds:.1} s",
        if idle { "idle" } else { "not known to be idle" }
    );
    (seconds, idle)
}

/// Waits until the process uses less than [`IDLE_CPU_SHARE`] of a core over
/// [`IDLE_WINDOW`]; false when `timeout` passes first or it cannot be read.
async fn wait_idle(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let Some(mut previous) = cpu_seconds(pid) else {
        return false;
    };
    while Instant::now() < deadline {
        tokio::time::sleep(IDLE_WINDOW).await;
        let Some(now) = cpu_seconds(pid) else {
            return false;
        };
        if (now - previous) / IDLE_WINDOW.as_secs_f64() < IDLE_CPU_SHARE {
            return true;
        }
        previous = now;
    }
    false
}

fn measure_disk(data_dir: &Path, raw_bytes: u64) -> DiskReport {
    let objects = data_dir.join("objects");
    let mut by_kind = BTreeMap::new();
    tally_files(&objects, &mut by_kind);
    let objects_bytes = by_kind.values().map(|usage: &FileUsage| usage.bytes).sum();
    let objects_files = by_kind.values().map(|usage| usage.files).sum();
    let data_dir_bytes = disk_usage(data_dir);
    let percent = |bytes: u64| 100.0 * bytes as f64 / raw_bytes.max(1) as f64;
    DiskReport {
        data_dir: data_dir.display().to_string(),
        objects_bytes,
        objects_files,
        objects_by_extension: by_kind
            .into_iter()
            .map(|(extension, usage)| FileUsage {
                percent_of_raw: percent(usage.bytes),
                extension,
                ..usage
            })
            .collect(),
        data_dir_bytes,
        raw_bytes,
        objects_percent_of_raw: percent(objects_bytes),
        data_dir_percent_of_raw: percent(data_dir_bytes),
    }
}

/// Files and bytes under `dir` by file extension (`parquet`, `tokens`, …).
fn tally_files(dir: &Path, by_kind: &mut BTreeMap<String, FileUsage>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let path = entry.path();
        if metadata.is_dir() {
            tally_files(&path, by_kind);
            continue;
        }
        let extension = path.extension().map_or_else(String::new, |extension| {
            extension.to_string_lossy().into_owned()
        });
        let usage = by_kind
            .entry(extension.clone())
            .or_insert_with(|| FileUsage {
                extension,
                ..FileUsage::default()
            });
        usage.files += 1;
        usage.bytes += metadata.len();
    }
}
