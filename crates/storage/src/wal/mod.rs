//! The write-ahead log: every acknowledged write is in here, on disk, before
//! the caller is told it succeeded ("acknowledged means on disk").
//!
//! Records are opaque byte strings numbered with strictly increasing log
//! sequence numbers ([`Lsn`], from 1, never reused across restarts). They go
//! to segment files in one directory, written by one dedicated thread that
//! commits appends in groups: one write and one `fdatasync` for everything
//! queued, so fsyncs per second stay far below appends per second under load
//! (see `writer.rs`); a background thread preallocates the next segment so
//! fsyncs need no metadata commit (`prealloc.rs`). [`Wal::open`] replays the
//! log and repairs a torn tail left by a crash (see `recovery.rs`); the byte
//! layout is in `format.rs`, and `README.md` beside this file explains the
//! design.
//!
//! The WAL must never acknowledge a record before it is durable per the
//! [`FsyncPolicy`], never replay a record twice or out of order, never panic
//! or refuse to start on damaged file content, and never write again after a
//! failed fsync.

mod format;
mod prealloc;
mod recovery;
mod writer;

#[cfg(test)]
mod tests;

use bytes::Bytes;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tracing::{error, info};

pub use format::MAX_PAYLOAD_BYTES;
use recovery::{SegmentInfo, remove_file_if_exists, sync_dir};
use writer::{ActiveSegment, Queue, Reply, Request, Writer};

/// Log sequence number: strictly increasing from 1, never reused, even
/// across restarts.
pub type Lsn = u64;

/// When appended records are forced to stable storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Group commit: the record is written and fdatasync'ed before `append`
    /// resolves. The default.
    #[default]
    Always,
    /// `append` resolves once written to the OS; a background fsync runs at
    /// this interval (a power loss can lose up to one interval; a process
    /// crash loses nothing).
    Interval(Duration),
    /// Never fsync (tests and benchmarks only).
    Never,
}

/// The interval `"interval"` alone means.
pub const DEFAULT_FSYNC_INTERVAL: Duration = Duration::from_millis(100);

/// Segment size at which the writer starts a new segment, unless configured.
/// Bytes a record takes on disk beyond its payload (its header).
pub const RECORD_OVERHEAD: u64 = format::RECORD_HEADER_LEN as u64;

pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// A fsync policy string that is not `always`, `interval`,
/// `interval:<duration>` or `never`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid fsync policy `{0}`: expected `always`, `interval`, `interval:<duration>` (like `interval:250ms` or `interval:1s`) or `never`"
)]
pub struct ParseFsyncPolicyError(String);

impl FromStr for FsyncPolicy {
    type Err = ParseFsyncPolicyError;

    /// Parses `always`, `interval` (100 ms), `interval:250ms`, `interval:2s`,
    /// `interval:500us` or `never` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseFsyncPolicyError(s.to_string());
        let normalized = s.trim().to_ascii_lowercase();
        match normalized.as_str() {
            "always" => return Ok(FsyncPolicy::Always),
            "never" => return Ok(FsyncPolicy::Never),
            "interval" => return Ok(FsyncPolicy::Interval(DEFAULT_FSYNC_INTERVAL)),
            _ => {}
        }
        let duration_text = normalized
            .strip_prefix("interval:")
            .ok_or_else(invalid)?
            .trim();
        let duration = parse_duration(duration_text).ok_or_else(invalid)?;
        if duration.is_zero() {
            return Err(invalid());
        }
        Ok(FsyncPolicy::Interval(duration))
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let number = |digits: &str| digits.trim().parse::<u64>().ok();
    if let Some(digits) = text.strip_suffix("ms") {
        return number(digits).map(Duration::from_millis);
    }
    if let Some(digits) = text.strip_suffix("us") {
        return number(digits).map(Duration::from_micros);
    }
    if let Some(digits) = text.strip_suffix('s') {
        return number(digits).map(Duration::from_secs);
    }
    None
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncPolicy::Always => f.write_str("always"),
            FsyncPolicy::Never => f.write_str("never"),
            FsyncPolicy::Interval(every) if every.subsec_nanos() % 1_000_000 == 0 => {
                write!(f, "interval:{}ms", every.as_millis())
            }
            FsyncPolicy::Interval(every) => write!(f, "interval:{}us", every.as_micros()),
        }
    }
}

/// Where the log lives and how it writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// Directory holding the segment files (created if missing). One `Wal`
    /// owns it at a time.
    pub dir: PathBuf,
    pub fsync: FsyncPolicy,
    /// Rotate segments at about this size (a segment holds at least one
    /// record, so a larger record makes a larger segment).
    pub segment_bytes: u64,
}

impl WalOptions {
    /// Options with the default policy ([`FsyncPolicy::Always`]) and segment
    /// size ([`DEFAULT_SEGMENT_BYTES`]).
    pub fn new(dir: impl Into<PathBuf>) -> WalOptions {
        WalOptions {
            dir: dir.into(),
            fsync: FsyncPolicy::Always,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
        }
    }
}

/// WAL failures. Corrupt file content is never one of them: it is repaired or
/// skipped with a log line.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WalError {
    #[error("write-ahead log i/o failed while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: Arc<io::Error>,
    },
    #[error(
        "write-ahead log directory `{}` is in use by another process; stop it or configure a different data directory",
        dir.display()
    )]
    Locked { dir: PathBuf },
    #[error(
        "write-ahead log segment `{}` has format version {version} but this build reads version {supported}; run a newer argus",
        path.display()
    )]
    UnsupportedVersion {
        path: PathBuf,
        version: u32,
        supported: u32,
    },
    #[error(
        "record of {size} bytes exceeds the write-ahead log limit of {max} bytes; send smaller batches"
    )]
    PayloadTooLarge { size: usize, max: usize },
    #[error("writing to the write-ahead log failed: {0}")]
    Write(#[source] Arc<io::Error>),
    #[error("the write-ahead log failed to fsync earlier and refuses appends; restart the server")]
    Failed,
    #[error("the write-ahead log is closed")]
    Closed,
    #[error("the write-ahead log writer thread stopped unexpectedly")]
    WriterGone,
}

impl WalError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> WalError {
        WalError::Io {
            context: context.into(),
            source: Arc::new(source),
        }
    }
}

impl From<WalError> for argus_core::ApiError {
    fn from(e: WalError) -> Self {
        use argus_core::{ApiError, ErrorCode};
        match e {
            WalError::PayloadTooLarge { .. } => {
                ApiError::new(ErrorCode::RequestEntityTooLarge, e.to_string())
            }
            WalError::Failed | WalError::Closed | WalError::WriterGone => {
                ApiError::service_unavailable(
                    "the server cannot accept writes right now; retry later",
                )
            }
            WalError::Io { .. }
            | WalError::Locked { .. }
            | WalError::UnsupportedVersion { .. }
            | WalError::Write(_) => ApiError::internal(),
        }
    }
}

/// Counters since open, for metrics and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records appended successfully.
    pub appends: u64,
    /// Write batches (one write call each).
    pub groups: u64,
    /// fdatasync calls on segment files.
    pub fsyncs: u64,
    /// Record bytes written (headers included).
    pub bytes_written: u64,
}

#[derive(Default)]
struct Counters {
    appends: AtomicU64,
    groups: AtomicU64,
    fsyncs: AtomicU64,
    bytes: AtomicU64,
}

/// State shared by the handles and the writer thread.
struct Shared {
    queue: Mutex<Queue>,
    wake_writer: Condvar,
    failed: AtomicBool,
    last_lsn: AtomicU64,
    disk_bytes: AtomicU64,
    /// Live segments in LSN order; the last one is the active segment.
    segments: Mutex<Vec<SegmentInfo>>,
    /// The preallocated next segment, handed from the preallocator thread
    /// to the writer.
    spare: Mutex<prealloc::SpareSlot>,
    spare_wake: Condvar,
    stats: Counters,
    #[cfg(test)]
    faults: tests::Faults,
}

impl Shared {
    fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }
}

/// A handle to the write-ahead log. Cheap to clone; the log closes when
/// [`Wal::close`] is called or the last handle is dropped.
#[derive(Clone)]
pub struct Wal {
    inner: Arc<WalInner>,
}

struct WalInner {
    shared: Arc<Shared>,
    dir: PathBuf,
    writer: Mutex<Option<JoinHandle<Result<(), WalError>>>>,
    preallocator: Mutex<Option<JoinHandle<()>>>,
    /// Held until close so no second process (or second `Wal`) writes the
    /// same directory.
    dir_lock: Mutex<Option<File>>,
}

impl Wal {
    /// Opens (creating the dir if needed) and replays: calls
    /// `replay(lsn, payload)` for every intact record with `lsn >= from_lsn`,
    /// in LSN order, before returning. A torn or corrupt tail in the last
    /// segment is truncated with a warning; corruption inside an older
    /// segment is logged at error level and the rest of that segment skipped.
    /// Errors only for real I/O failures, a directory locked by another
    /// process, or a segment written by a newer format.
    ///
    /// This blocks on file I/O; async callers should run it on a blocking
    /// thread.
    pub fn open(
        opts: WalOptions,
        from_lsn: Lsn,
        mut replay: impl FnMut(Lsn, &[u8]),
    ) -> Result<Wal, WalError> {
        let sync = opts.fsync != FsyncPolicy::Never;
        let dir = opts.dir.clone();
        create_dir(&dir, sync)?;
        let dir_lock = lock_dir(&dir)?;

        let recovered = recovery::recover(&dir, from_lsn, sync, &mut replay)?;
        prealloc::remove_leftover_spares(&dir)?;
        let mut segments = recovered.segments;
        let active = match recovered.tail {
            Some(tail) => ActiveSegment {
                file: tail.file,
                first_lsn: tail.first_lsn,
                len: tail.len,
                file_len: tail.len,
                preallocated: false,
            },
            None => {
                let active = writer::create_segment(&dir, recovered.next_lsn, sync)?;
                segments.push(SegmentInfo {
                    first_lsn: active.first_lsn,
                    path: dir.join(format::segment_file_name(active.first_lsn)),
                    len: active.len,
                });
                active
            }
        };
        let disk_bytes = segments.iter().map(|s| s.len).sum();

        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake_writer: Condvar::new(),
            failed: AtomicBool::new(false),
            last_lsn: AtomicU64::new(recovered.next_lsn - 1),
            disk_bytes: AtomicU64::new(disk_bytes),
            segments: Mutex::new(segments),
            spare: Mutex::new(prealloc::SpareSlot::default()),
            spare_wake: Condvar::new(),
            stats: Counters::default(),
            #[cfg(test)]
            faults: tests::Faults::default(),
        });
        let writer = Writer {
            shared: Arc::clone(&shared),
            dir: dir.clone(),
            policy: opts.fsync,
            segment_bytes: opts.segment_bytes,
            active,
            next_lsn: recovered.next_lsn,
            dirty_since: None,
            buf: Vec::new(),
        };
        // Segments are preallocated only where fsync latency matters.
        let preallocated_len = prealloc::preallocated_len(opts.segment_bytes);
        let preallocator = if opts.fsync == FsyncPolicy::Never || preallocated_len == 0 {
            None
        } else {
            let shared = Arc::clone(&shared);
            let dir = dir.clone();
            let handle = std::thread::Builder::new()
                .name("argus-wal-prealloc".to_string())
                .spawn(move || prealloc::run(shared, dir, preallocated_len))
                .map_err(|e| WalError::io("starting the wal preallocation thread", e))?;
            Some(handle)
        };
        let handle = std::thread::Builder::new()
            .name("argus-wal-writer".to_string())
            .spawn(move || writer::run_guarded(writer))
            .map_err(|e| WalError::io("starting the wal writer thread", e))?;
        info!(dir = %dir.display(), fsync = %opts.fsync, next_lsn = recovered.next_lsn, replayed = recovered.replayed, "write-ahead log open");
        Ok(Wal {
            inner: Arc::new(WalInner {
                shared,
                dir,
                writer: Mutex::new(Some(handle)),
                preallocator: Mutex::new(preallocator),
                dir_lock: Mutex::new(Some(dir_lock)),
            }),
        })
    }

    /// Appends one record (opaque bytes, up to [`MAX_PAYLOAD_BYTES`]). The
    /// payload is shared, not copied: a caller may keep a clone of the
    /// `Bytes` it passes (the log store keeps it as memtable storage).
    ///
    /// `on_durable(lsn)` runs on the writer thread strictly in LSN order,
    /// after the record is durable per the policy and before this future
    /// resolves; keep it short (it delays every later append). On a write or
    /// fsync failure it is not called and the future resolves to an error;
    /// after a failed fsync every later append fails with
    /// [`WalError::Failed`]. Dropping the future does not cancel the append.
    pub async fn append(
        &self,
        payload: impl Into<Bytes>,
        on_durable: impl FnOnce(Lsn) + Send + 'static,
    ) -> Result<Lsn, WalError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(payload.into(), Box::new(on_durable), Reply::Async(tx))?;
        rx.await.map_err(|_| WalError::WriterGone)?
    }

    /// Blocking variant of [`Wal::append`] for non-async callers (same
    /// semantics). Do not call it from an async task.
    pub fn append_blocking(
        &self,
        payload: impl Into<Bytes>,
        on_durable: impl FnOnce(Lsn) + Send + 'static,
    ) -> Result<Lsn, WalError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(payload.into(), Box::new(on_durable), Reply::Blocking(tx))?;
        rx.recv().map_err(|_| WalError::WriterGone)?
    }

    fn submit(
        &self,
        payload: Bytes,
        on_durable: writer::DurableCallback,
        reply: Reply,
    ) -> Result<(), WalError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(WalError::PayloadTooLarge {
                size: payload.len(),
                max: MAX_PAYLOAD_BYTES,
            });
        }
        let shared = &self.inner.shared;
        if shared.is_failed() {
            return Err(WalError::Failed);
        }
        let mut queue = shared.queue.lock();
        if queue.closing {
            return Err(WalError::Closed);
        }
        queue.pending.push_back(Request {
            payload,
            on_durable,
            reply,
        });
        drop(queue);
        shared.wake_writer.notify_one();
        Ok(())
    }

    /// Everything below `lsn` is persisted elsewhere: deletes the segments
    /// whose records are all below `lsn`, never the active one.
    pub fn release_before(&self, lsn: Lsn) -> Result<(), WalError> {
        let shared = &self.inner.shared;
        let mut segments = shared.segments.lock();
        // A segment's records all lie below the next segment's first LSN.
        let mut releasable = 0;
        for pair in segments.windows(2) {
            match pair {
                [_, next] if next.first_lsn <= lsn => releasable += 1,
                _ => break,
            }
        }
        let mut released = 0;
        let mut outcome = Ok(());
        for segment in segments.iter().take(releasable) {
            if let Err(e) = remove_file_if_exists(&segment.path) {
                outcome = Err(e);
                break;
            }
            shared.disk_bytes.fetch_sub(segment.len, Ordering::Relaxed);
            released += 1;
        }
        segments.drain(..released);
        drop(segments);
        if released > 0 {
            tracing::debug!(dir = %self.inner.dir.display(), released, before_lsn = lsn, "released wal segments");
        }
        outcome
    }

    /// Highest LSN appended successfully (or recovered at open); 0 if none.
    pub fn last_lsn(&self) -> Lsn {
        self.inner.shared.last_lsn.load(Ordering::Acquire)
    }

    /// Total size of the live segment files in bytes.
    pub fn disk_bytes(&self) -> u64 {
        self.inner.shared.disk_bytes.load(Ordering::Relaxed)
    }

    /// Whether an fsync failed, after which the log refuses appends.
    pub fn is_failed(&self) -> bool {
        self.inner.shared.is_failed()
    }

    /// Counters since open.
    pub fn stats(&self) -> WalStats {
        let counters = &self.inner.shared.stats;
        WalStats {
            appends: counters.appends.load(Ordering::Relaxed),
            groups: counters.groups.load(Ordering::Relaxed),
            fsyncs: counters.fsyncs.load(Ordering::Relaxed),
            bytes_written: counters.bytes.load(Ordering::Relaxed),
        }
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Writes and fsyncs everything queued and stops the writer thread.
    /// Appends after close fail with [`WalError::Closed`]. Closing twice is
    /// harmless.
    pub fn close(&self) -> Result<(), WalError> {
        self.inner.close()
    }
}

impl WalInner {
    fn close(&self) -> Result<(), WalError> {
        self.shared.queue.lock().closing = true;
        self.shared.wake_writer.notify_all();
        let Some(handle) = self.writer.lock().take() else {
            return Ok(());
        };
        let outcome = handle.join().unwrap_or(Err(WalError::WriterGone));
        self.shared.spare.lock().closing = true;
        self.shared.spare_wake.notify_all();
        if let Some(preallocator) = self.preallocator.lock().take()
            && preallocator.join().is_err()
        {
            error!(dir = %self.dir.display(), "the wal preallocation thread panicked");
        }
        // The writer is gone: another `Wal` may take the directory now.
        self.dir_lock.lock().take();
        outcome
    }
}

impl Drop for WalInner {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            error!(dir = %self.dir.display(), error = %e, "closing the write-ahead log failed");
        }
    }
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.inner.dir)
            .field("last_lsn", &self.last_lsn())
            .field("failed", &self.is_failed())
            .finish_non_exhaustive()
    }
}

/// Creates the WAL directory; if it is new and `sync`, makes its directory
/// entry durable too.
fn create_dir(dir: &Path, sync: bool) -> Result<(), WalError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)
        .map_err(|e| WalError::io(format!("creating wal directory `{}`", dir.display()), e))?;
    if sync && let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Takes the directory's `LOCK` file (an advisory lock the OS releases when
/// the process dies, however it dies).
fn lock_dir(dir: &Path) -> Result<File, WalError> {
    let path = dir.join("LOCK");
    let lock_file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| WalError::io(format!("opening `{}`", path.display()), e))?;
    // A child process forked by this process at the wrong moment holds a copy
    // of the lock until it execs, so a lock just released can look busy for a
    // few milliseconds: retry briefly before calling the directory taken.
    let give_up_at = Instant::now() + LOCK_WAIT;
    loop {
        match lock_file.try_lock() {
            Ok(()) => return Ok(lock_file),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < give_up_at => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(WalError::Locked {
                    dir: dir.to_path_buf(),
                });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(WalError::io(format!("locking `{}`", path.display()), e));
            }
        }
    }
}

/// How long `open` waits for a busy directory lock.
const LOCK_WAIT: Duration = Duration::from_millis(500);
