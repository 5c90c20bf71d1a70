//! Write-ahead log benchmark: N concurrent async appenders, each appending
//! records of a fixed size, closed-loop (as fast as acknowledged) or paced to
//! a total target rate. Prints appends/s, MB/s, fsyncs/s, records per fsync,
//! the process's CPU use, and append latency percentiles.
//!
//! ```text
//! cargo run --release -p argus-storage --example wal_bench -- \
//!     [--appenders 32] [--size 250000] [--seconds 10] [--rate 0] \
//!     [--fsync always|interval|interval:250ms|never] [--segment-mb 64] [--dir PATH]
//! ```
//!
//! `--rate 0` means closed loop (throughput); `--rate 150` paces the total
//! to 150 appends/s (latency at a given load). `--dir` defaults to a temporary
//! directory beside the current one (not /tmp, which may be tmpfs).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argus_storage::wal::{FsyncPolicy, Wal, WalOptions};

struct Args {
    appenders: usize,
    size: usize,
    seconds: f64,
    rate: f64,
    fsync: FsyncPolicy,
    segment_mb: u64,
    dir: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        appenders: 32,
        size: 250_000,
        seconds: 10.0,
        rate: 0.0,
        fsync: FsyncPolicy::Always,
        segment_mb: 64,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("bad value for {flag}: {e}");
        match flag.as_str() {
            "--appenders" => args.appenders = value.parse().map_err(|e| bad(&e))?,
            "--size" => args.size = value.parse().map_err(|e| bad(&e))?,
            "--seconds" => args.seconds = value.parse().map_err(|e| bad(&e))?,
            "--rate" => args.rate = value.parse().map_err(|e| bad(&e))?,
            "--fsync" => args.fsync = value.parse().map_err(|e| bad(&e))?,
            "--segment-mb" => args.segment_mb = value.parse().map_err(|e| bad(&e))?,
            "--dir" => args.dir = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.appenders == 0 {
        return Err("--appenders must be at least 1".to_string());
    }
    Ok(args)
}

/// User + system CPU seconds this process has used (Linux only; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which is in parentheses): utime is the
    // 12th, stime the 13th, in clock ticks (100 per second on Linux).
    let Some(after_name) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return 0.0 };
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or(Duration::ZERO)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let tmp = tempfile::Builder::new().prefix("wal-bench-").tempdir_in(".")?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let opts = WalOptions { dir, fsync: args.fsync, segment_bytes: args.segment_mb * 1024 * 1024 };
    let wal = Wal::open(opts, 1, |_, _| {})?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let payload: Arc<Vec<u8>> = Arc::new((0..args.size).map(|i| (i * 7 + i / 251) as u8).collect());

    let duration = Duration::from_secs_f64(args.seconds);
    let per_appender_interval =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(args.appenders as f64 / args.rate));
    let stats_before = wal.stats();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for appender in 0..args.appenders {
            let wal = wal.clone();
            let payload = Arc::clone(&payload);
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                // Stagger paced appenders evenly over one interval.
                let offset = per_appender_interval
                    .map(|every| every.mul_f64(appender as f64 / args.appenders as f64))
                    .unwrap_or_default();
                let mut next_send = started + offset;
                while started.elapsed() < duration {
                    if let Some(every) = per_appender_interval {
                        tokio::time::sleep_until(next_send.into()).await;
                        next_send += every;
                    }
                    let sent = Instant::now();
                    wal.append(payload.as_ref().clone(), |_| {}).await.expect("append");
                    latencies.push(sent.elapsed());
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("appender task"));
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let stats = wal.stats();
    wal.close()?;

    latencies.sort();
    let appends = (stats.appends - stats_before.appends) as f64;
    let fsyncs = (stats.fsyncs - stats_before.fsyncs) as f64;
    let bytes = (stats.bytes_written - stats_before.bytes_written) as f64;
    println!(
        "fsync={} appenders={} size={} rate={} seconds={:.1}",
        args.fsync,
        args.appenders,
        args.size,
        if args.rate > 0.0 { args.rate.to_string() } else { "unlimited".to_string() },
        elapsed
    );
    println!(
        "appends/s {:.0}  MB/s {:.1}  fsyncs/s {:.0}  records/fsync {:.1}  cpu {:.0}% of one core",
        appends / elapsed,
        bytes / elapsed / 1e6,
        fsyncs / elapsed,
        if fsyncs > 0.0 { appends / fsyncs } else { 0.0 },
        cpu / elapsed * 100.0
    );
    println!(
        "latency p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        percentile(&latencies, 0.999).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    Ok(())
}
