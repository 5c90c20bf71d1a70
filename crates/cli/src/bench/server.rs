//! The server under test: `argus serve` spawned as a child process (this
//! same executable) on a free port with a temporary data dir, and a sampler
//! that follows a server process's memory through `/proc/<pid>/status`.
//!
//! The server runs in its own process so the client's CPU and memory are not
//! counted as the server's. Its peak RSS is the kernel's high-water mark
//! (`VmHWM`), read until the process exits — the last reading before exit
//! includes the shutdown flush.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::client::{Endpoint, get_status};
use super::sign::Credentials;

const READY_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// Fixed root credentials for the spawned server.
pub const ACCESS_KEY_ID: &str = "AKIDARGUSBENCH";
pub const SECRET_ACCESS_KEY: &str = "argus-bench-secret";

/// A running `argus serve` child.
pub struct SpawnedServer {
    child: Child,
    pub endpoint: Endpoint,
    pub data_dir: tempfile::TempDir,
    pub sampler: RssSampler,
    fsync: String,
}

/// How the child ended.
#[derive(Debug)]
pub struct Stopped {
    pub exit: ExitStatus,
    pub shutdown: Duration,
}

impl SpawnedServer {
    /// Spawns `argus serve` with `--fsync <fsync>`, its data dir a new
    /// temporary directory under `data_parent`.
    pub fn spawn(fsync: &str, data_parent: &Path) -> anyhow::Result<Self> {
        let data_dir = tempfile::Builder::new()
            .prefix("argus-bench-")
            .tempdir_in(data_parent)
            .with_context(|| format!("creating a data dir under {}", data_parent.display()))?;
        let (child, endpoint) = start_child(fsync, data_dir.path())?;
        let sampler = RssSampler::start(child.id());
        Ok(Self {
            child,
            endpoint,
            data_dir,
            sampler,
            fsync: fsync.to_owned(),
        })
    }

    /// Stops the server (SIGTERM: it flushes its memtables first) and starts
    /// it again on the same data dir and a new port.
    pub async fn restart(&mut self) -> anyhow::Result<Stopped> {
        let stopped = self.stop()?;
        self.sampler.finish();
        let (child, endpoint) = start_child(&self.fsync, self.data_dir.path())?;
        self.sampler = RssSampler::start(child.id());
        self.child = child;
        self.endpoint = endpoint;
        self.wait_ready().await?;
        Ok(stopped)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn credentials(region: &str) -> Credentials {
        Credentials {
            access_key_id: ACCESS_KEY_ID.to_owned(),
            secret_access_key: SECRET_ACCESS_KEY.to_owned(),
            region: region.to_owned(),
            service: "logs".to_owned(),
        }
    }

    /// Waits until `GET /_argus/health` answers 200.
    pub async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(exit) = self.child.try_wait()? {
                bail!("argus serve exited before it was ready ({exit})");
            }
            if let Ok(status) = get_status(&self.endpoint, "/_argus/health").await
                && status == http::StatusCode::OK
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("argus serve was not ready after {READY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then waits for a graceful exit (the server flushes first).
    pub fn stop(&mut self) -> anyhow::Result<Stopped> {
        let started = Instant::now();
        // `kill(1)` rather than libc: the workspace forbids unsafe code.
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .context("running kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {} failed ({status})", self.child.id());
        }
        loop {
            if let Some(exit) = self.child.try_wait()? {
                return Ok(Stopped {
                    exit,
                    shutdown: started.elapsed(),
                });
            }
            if started.elapsed() > STOP_TIMEOUT {
                let _ = self.child.kill();
                bail!("argus serve did not exit within {STOP_TIMEOUT:?} of SIGTERM; killed it");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        // Never leave a server behind when the benchmark fails half-way.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `argus serve` on a free port with the benchmark's credentials.
fn start_child(fsync: &str, data_dir: &Path) -> anyhow::Result<(Child, Endpoint)> {
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let executable = std::env::current_exe().context("finding the argus executable")?;
    let child = Command::new(&executable)
        .args([
            "serve",
            "--listen",
            &listen,
            "--log",
            "warn",
            "--fsync",
            fsync,
            "--data-dir",
        ])
        .arg(data_dir)
        .env("ARGUS_ROOT_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("ARGUS_ROOT_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env_remove("ARGUS_CONFIG")
        .env_remove("ARGUS_LISTEN")
        .env_remove("ARGUS_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {} serve", executable.display()))?;
    let endpoint = Endpoint {
        connect_to: listen.clone(),
        host_header: listen,
    };
    Ok((child, endpoint))
}

/// A port the OS just handed out; free again once the listener is dropped.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Memory of a process, in bytes, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RssReport {
    /// `VmHWM`: the kernel's peak resident set size, last read before exit.
    pub peak_hwm_bytes: u64,
    /// The largest `VmRSS` sampled.
    pub max_sampled_rss_bytes: u64,
    /// `VmRSS` at the last sample taken.
    pub last_rss_bytes: u64,
    pub samples: u64,
}

/// Samples a process's memory every [`SAMPLE_EVERY`] on its own thread until
/// the process is gone or [`RssSampler::finish`] is called.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<RssReport>>,
    thread: Option<JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(RssReport::default()));
        let status_path = PathBuf::from(format!("/proc/{pid}/status"));
        let thread = {
            let stop = Arc::clone(&stop);
            let report = Arc::clone(&report);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some((rss, hwm)) = read_status(&status_path) else {
                        // Exited (a zombie has no Vm lines) or never existed.
                        break;
                    };
                    let mut report = report
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    report.peak_hwm_bytes = report.peak_hwm_bytes.max(hwm);
                    report.max_sampled_rss_bytes = report.max_sampled_rss_bytes.max(rss);
                    report.last_rss_bytes = rss;
                    report.samples += 1;
                    drop(report);
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Self {
            stop,
            report,
            thread: Some(thread),
        }
    }

    /// The figures so far.
    pub fn snapshot(&self) -> RssReport {
        *self
            .report
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stops sampling (the thread also stops by itself when the process exits).
    pub fn finish(&mut self) -> RssReport {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.snapshot()
    }
}

/// Resets a process's peak resident set size (`VmHWM`) to its current one
/// (Linux `clear_refs` code 5; needs permission over the process), so the
/// next [`peak_rss`] is the peak since now. False when it could not be reset.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// A process's peak resident set size (`VmHWM`) in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    read_status(Path::new(&format!("/proc/{pid}/status"))).map(|(_, hwm)| hwm)
}

/// (`VmRSS`, `VmHWM`) in bytes, `None` when the file or the lines are missing.
fn read_status(path: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut rss = None;
    let mut hwm = None;
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("VmRSS:") {
            rss = parse_kib(value);
        } else if let Some(value) = line.strip_prefix("VmHWM:") {
            hwm = parse_kib(value);
        }
    }
    Some((rss?, hwm?))
}

/// `"   123456 kB"` → bytes.
fn parse_kib(value: &str) -> Option<u64> {
    let kib: u64 = value.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// CPU time (user + system) a process has used so far, `None` once it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    // Linux reports these in USER_HZ, which is 100 on every architecture
    // Argus runs on.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it don't.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace();
    // After the name: state is field 3, utime field 14, stime field 15.
    let user_ticks: u64 = fields.nth(11)?.parse().ok()?;
    let system_ticks: u64 = fields.next()?.parse().ok()?;
    Some((user_ticks + system_ticks) as f64 / TICKS_PER_SECOND)
}

/// Sequential appends of `block_bytes` to a new file in `dir`, each followed
/// by `fdatasync`, for about `duration`: what a WAL's group commits can get
/// from this disk. Returns (MB/s, syncs/s); the file is removed.
pub fn fsync_write_rate(
    dir: &Path,
    block_bytes: usize,
    duration: Duration,
) -> anyhow::Result<(f64, f64)> {
    use std::io::Write as _;
    let file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let mut handle = file.as_file();
    let block = vec![0x5a_u8; block_bytes];
    let started = Instant::now();
    let mut syncs = 0_u64;
    while started.elapsed() < duration {
        handle.write_all(&block)?;
        handle.sync_data()?;
        syncs += 1;
    }
    let seconds = started.elapsed().as_secs_f64().max(f64::EPSILON);
    Ok((
        syncs as f64 * block_bytes as f64 / 1e6 / seconds,
        syncs as f64 / seconds,
    ))
}

/// CPU seconds used between two readings.
pub fn cpu_used(after: Option<f64>, before: Option<f64>) -> Option<f64> {
    Some(after? - before?)
}

/// CPU time every process on the machine has used so far (user, nice,
/// system, irq, softirq and steal from `/proc/stat`): compared with one
/// process's share, it shows whether anything else competed for the cores.
pub fn machine_busy_seconds() -> Option<f64> {
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let totals = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = totals
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&field| ticks.get(field))
        .sum();
    Some(busy as f64 / TICKS_PER_SECOND)
}

/// Bytes in the files under `dir`, recursively (what the run left on disk).
pub fn disk_usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            total += disk_usage(&entry.path());
        } else {
            total += metadata.len();
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_memory() {
        let status = PathBuf::from(format!("/proc/{}/status", std::process::id()));
        let (rss, hwm) = read_status(&status).expect("/proc/self/status has VmRSS and VmHWM");
        assert!(rss > 0 && hwm >= rss);
    }

    #[test]
    fn reads_this_process_cpu_time() {
        let mut spin = 0_u64;
        for value in 0..20_000_000_u64 {
            spin = spin.wrapping_add(value * value);
        }
        assert!(spin > 0);
        assert!(cpu_seconds(std::process::id()).is_some_and(|seconds| seconds >= 0.0));
    }

    #[test]
    fn reads_machine_cpu_time() {
        assert!(machine_busy_seconds().is_some_and(|seconds| seconds > 0.0));
    }

    #[test]
    fn parses_kib_values() {
        assert_eq!(parse_kib("    2048 kB"), Some(2 * 1024 * 1024));
        assert_eq!(parse_kib("2048"), None);
    }
}
