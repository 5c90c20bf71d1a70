//! The WAL's single writer thread: group commit.
//!
//! Appenders push requests onto a shared queue and wait. The writer drains
//! everything queued (up to [`MAX_GROUP_BYTES`]), assigns LSNs, encodes the
//! records into one contiguous buffer, writes it with one `pwrite`, makes it
//! durable with one `fdatasync` (under [`FsyncPolicy::Always`]), runs the
//! `on_durable` callbacks in LSN order and only then wakes the waiters. The
//! busier the log, the larger the groups and the fewer fsyncs per append.
//!
//! It must never acknowledge a record before it is durable per the policy,
//! never leave a partially written group in front of later records, and never
//! write again after a failed fsync (the kernel may have dropped the dirty
//! pages, so a retry could falsely succeed).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tracing::{error, warn};

use super::format::{self, SEGMENT_HEADER_LEN};
use super::prealloc::Spare;
use super::recovery::{SegmentInfo, sync_dir};
use super::{FsyncPolicy, Lsn, Shared, WalError};

/// Upper bound on the bytes one group writes, so a burst of appends does not
/// build one huge buffer (and the first appender of the burst waits less).
pub(crate) const MAX_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// Capacity of the encode buffer kept between groups.
const RETAINED_BUFFER_BYTES: usize = 2 * MAX_GROUP_BYTES;

pub(crate) type DurableCallback = Box<dyn FnOnce(Lsn) + Send + 'static>;

/// One queued append.
pub(crate) struct Request {
    pub payload: bytes::Bytes,
    pub on_durable: DurableCallback,
    pub reply: Reply,
}

/// Where the outcome of an append goes.
pub(crate) enum Reply {
    Async(tokio::sync::oneshot::Sender<Result<Lsn, WalError>>),
    Blocking(std::sync::mpsc::SyncSender<Result<Lsn, WalError>>),
}

impl Reply {
    fn send(self, outcome: Result<Lsn, WalError>) {
        // The appender may have stopped waiting (a dropped future); the record
        // was still handled, so there is nobody left to tell.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(outcome);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(outcome);
            }
        }
    }
}

/// Requests waiting for the writer.
#[derive(Default)]
pub(crate) struct Queue {
    pub pending: VecDeque<Request>,
    pub closing: bool,
}

/// The segment appends go to.
pub(crate) struct ActiveSegment {
    pub file: File,
    pub first_lsn: Lsn,
    /// End of the last record written.
    pub len: u64,
    /// Size of the file: larger than `len` while preallocated space remains.
    pub file_len: u64,
    /// Whether the file was a zero-filled spare (see `prealloc.rs`).
    pub preallocated: bool,
}

pub(crate) struct Writer {
    pub shared: Arc<Shared>,
    pub dir: PathBuf,
    pub policy: FsyncPolicy,
    pub segment_bytes: u64,
    pub active: ActiveSegment,
    pub next_lsn: Lsn,
    /// Bytes written to the active segment since its last fsync.
    pub dirty_since: Option<Instant>,
    pub buf: Vec<u8>,
}

enum Step {
    Group(Vec<Request>),
    IntervalSync,
    Close,
}

/// Runs the writer; if it panics (a bug), fails the log and answers every
/// queued append so that no appender waits forever.
pub(crate) fn run_guarded(writer: Writer) -> Result<(), WalError> {
    let shared = Arc::clone(&writer.shared);
    match catch_unwind(AssertUnwindSafe(|| writer.run())) {
        Ok(outcome) => outcome,
        Err(_) => {
            error!("the wal writer thread panicked; refusing further appends");
            shared.failed.store(true, Ordering::Release);
            let mut queue = shared.queue.lock();
            queue.closing = true;
            for request in queue.pending.drain(..) {
                request.reply.send(Err(WalError::WriterGone));
            }
            Err(WalError::WriterGone)
        }
    }
}

impl Writer {
    /// The writer thread's body. Returns once closing was requested and
    /// everything queued before it was handled; the result is the final
    /// fsync's.
    pub(crate) fn run(mut self) -> Result<(), WalError> {
        loop {
            match self.next_step() {
                Step::Group(requests) => self.commit_group(requests),
                Step::IntervalSync => self.sync_active(),
                Step::Close => return self.finish(),
            }
            if self.interval_sync_due(Instant::now()) {
                self.sync_active();
            }
        }
    }

    fn next_step(&self) -> Step {
        let mut queue = self.shared.queue.lock();
        loop {
            if !queue.pending.is_empty() {
                return Step::Group(take_group(&mut queue.pending));
            }
            if queue.closing {
                return Step::Close;
            }
            match self.interval_deadline() {
                Some(deadline) if Instant::now() >= deadline => return Step::IntervalSync,
                Some(deadline) => {
                    self.shared.wake_writer.wait_until(&mut queue, deadline);
                }
                None => self.shared.wake_writer.wait(&mut queue),
            }
        }
    }

    fn interval_deadline(&self) -> Option<Instant> {
        match self.policy {
            FsyncPolicy::Interval(every) if !self.shared.is_failed() => {
                self.dirty_since.map(|since| since + every)
            }
            _ => None,
        }
    }

    fn interval_sync_due(&self, now: Instant) -> bool {
        self.interval_deadline()
            .is_some_and(|deadline| now >= deadline)
    }

    /// Writes a drained group: as many records as fit in the active segment
    /// per write, rotating segments in between.
    fn commit_group(&mut self, requests: Vec<Request>) {
        let mut remaining: VecDeque<Request> = requests.into();
        while !remaining.is_empty() {
            if self.shared.is_failed() {
                for request in remaining.drain(..) {
                    request.reply.send(Err(WalError::Failed));
                }
                return;
            }
            if !self.active.preallocated && self.spare_ready() {
                // Leave a growing segment (the first after a restart, or a
                // fallback) as soon as a preallocated one is available.
                if let Err(e) = self.rotate() {
                    warn!(dir = %self.dir.display(), error = %e, "switching to a preallocated wal segment failed");
                }
                if self.shared.is_failed() {
                    continue;
                }
            }
            let batch = self.encode_batch(&mut remaining);
            if batch.is_empty() {
                // The next record does not fit in the active segment.
                if let Err(e) = self.rotate() {
                    error!(dir = %self.dir.display(), error = %e, "wal segment rotation failed; failing the queued appends");
                    for request in remaining.drain(..) {
                        request.reply.send(Err(e.clone()));
                    }
                    return;
                }
                continue;
            }
            self.write_batch(batch);
        }
    }

    /// Moves the requests that fit in the active segment from `remaining`
    /// into a batch, encoding them into `self.buf` with consecutive LSNs.
    fn encode_batch(&mut self, remaining: &mut VecDeque<Request>) -> Vec<(Lsn, Request)> {
        self.buf.clear();
        let mut batch = Vec::new();
        let mut lsn = self.next_lsn;
        while let Some(request) = remaining.front() {
            let used = self.active.len + self.buf.len() as u64;
            let segment_has_records = used > SEGMENT_HEADER_LEN as u64;
            if segment_has_records
                && used + format::record_len(request.payload.len()) > self.segment_bytes
            {
                break;
            }
            let Some(request) = remaining.pop_front() else {
                break;
            };
            format::encode_record(&mut self.buf, lsn, &request.payload);
            batch.push((lsn, request));
            lsn += 1;
        }
        batch
    }

    /// Writes `self.buf` (holding `batch`) at the end of the active segment,
    /// makes it durable per the policy, and completes the batch.
    fn write_batch(&mut self, batch: Vec<(Lsn, Request)>) {
        let write_offset = self.active.len;
        if let Err(write_error) = self.write_at(write_offset) {
            error!(segment_lsn = self.active.first_lsn, error = %write_error, "wal write failed");
            self.undo_partial_write(write_offset);
            let shared_error = Arc::new(write_error);
            for (_, request) in batch {
                request
                    .reply
                    .send(Err(WalError::Write(Arc::clone(&shared_error))));
            }
            self.shrink_buffer();
            return;
        }
        let written = self.buf.len() as u64;
        self.active.len += written;
        if self.active.len > self.active.file_len {
            self.shared
                .disk_bytes
                .fetch_add(self.active.len - self.active.file_len, Ordering::Relaxed);
            self.active.file_len = self.active.len;
        }
        self.shared
            .stats
            .bytes
            .fetch_add(written, Ordering::Relaxed);
        self.shrink_buffer();
        if self.dirty_since.is_none() {
            self.dirty_since = Some(Instant::now());
        }

        if self.policy == FsyncPolicy::Always {
            self.sync_active();
            if self.shared.is_failed() {
                for (_, request) in batch {
                    request.reply.send(Err(WalError::Failed));
                }
                return;
            }
        }

        let last_lsn = self.next_lsn + batch.len() as u64 - 1;
        self.next_lsn = last_lsn + 1;
        self.shared.last_lsn.store(last_lsn, Ordering::Release);
        self.shared
            .stats
            .appends
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.shared.stats.groups.fetch_add(1, Ordering::Relaxed);

        let mut replies = Vec::with_capacity(batch.len());
        for (lsn, request) in batch {
            let on_durable = request.on_durable;
            if catch_unwind(AssertUnwindSafe(|| on_durable(lsn))).is_err() {
                // The record is durable and will be replayed after a restart,
                // so the append itself succeeded.
                error!(lsn, "wal on_durable callback panicked");
            }
            replies.push((lsn, request.reply));
        }
        for (lsn, reply) in replies {
            reply.send(Ok(lsn));
        }
    }

    fn write_at(&self, offset: u64) -> std::io::Result<()> {
        #[cfg(test)]
        return self
            .shared
            .faults
            .write_all_at(&self.active.file, &self.buf, offset);
        #[cfg(not(test))]
        self.active.file.write_all_at(&self.buf, offset)
    }

    /// After a failed write, cuts the segment back so no partial group sits
    /// in front of later records. If even that fails the log is unusable.
    ///
    /// Truncating (rather than zeroing) also drops any preallocated space:
    /// the failed group's records reuse no bytes, so none of them can ever be
    /// read back after the retried LSNs.
    fn undo_partial_write(&mut self, good_len: u64) {
        if let Err(e) = self.active.file.set_len(good_len) {
            error!(segment_lsn = self.active.first_lsn, error = %e, "cannot truncate a failed wal write; refusing further appends");
            self.shared.failed.store(true, Ordering::Release);
            return;
        }
        if self.active.file_len > good_len {
            let dropped = self.active.file_len - good_len;
            self.shared.disk_bytes.fetch_sub(dropped, Ordering::Relaxed);
        }
        self.active.file_len = good_len;
        self.active.preallocated = false;
    }

    fn shrink_buffer(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > RETAINED_BUFFER_BYTES {
            self.buf.shrink_to(RETAINED_BUFFER_BYTES);
        }
    }

    /// fdatasyncs the active segment if it has unsynced bytes. A failure marks
    /// the log failed for good.
    fn sync_active(&mut self) {
        if self.dirty_since.is_none() || self.shared.is_failed() {
            return;
        }
        self.shared.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        #[cfg(test)]
        let synced = self.shared.faults.sync(&self.active.file);
        #[cfg(not(test))]
        let synced = self.active.file.sync_data();
        match synced {
            Ok(()) => self.dirty_since = None,
            Err(e) => {
                error!(segment_lsn = self.active.first_lsn, error = %e, "wal fsync failed; refusing further appends");
                self.shared.failed.store(true, Ordering::Release);
            }
        }
    }

    fn spare_ready(&self) -> bool {
        self.shared.spare.lock().spare.is_some()
    }

    /// Closes the active segment (durable unless the policy is `Never`) and
    /// starts a new one named after the next LSN: the preallocated spare if
    /// one is ready, else a new growing file. An active segment without
    /// records is replaced (the new one has the same name).
    fn rotate(&mut self) -> Result<(), WalError> {
        let sync = self.policy != FsyncPolicy::Never;
        let replaces_empty = self.active.len <= SEGMENT_HEADER_LEN as u64;
        if sync {
            self.sync_active();
            if self.shared.is_failed() {
                return Err(WalError::Failed);
            }
        }
        if !replaces_empty {
            self.trim_active(sync)?;
        }

        let spare = self.shared.spare.lock().spare.take();
        self.shared.spare_wake.notify_all();
        let new_active = match spare {
            Some(spare) => {
                let spare_len = spare.len;
                match adopt_spare(spare, &self.dir, self.next_lsn, sync) {
                    Ok(active) => active,
                    Err(e) => {
                        warn!(dir = %self.dir.display(), error = %e, "adopting the preallocated wal segment failed; creating a plain one");
                        self.shared
                            .disk_bytes
                            .fetch_sub(spare_len, Ordering::Relaxed);
                        let active = create_segment(&self.dir, self.next_lsn, sync)?;
                        self.shared
                            .disk_bytes
                            .fetch_add(active.file_len, Ordering::Relaxed);
                        active
                    }
                }
            }
            None => {
                let active = create_segment(&self.dir, self.next_lsn, sync)?;
                self.shared
                    .disk_bytes
                    .fetch_add(active.file_len, Ordering::Relaxed);
                active
            }
        };

        let mut segments = self.shared.segments.lock();
        if replaces_empty {
            // Its file was replaced by the new one of the same name.
            segments.pop();
            self.shared
                .disk_bytes
                .fetch_sub(self.active.file_len, Ordering::Relaxed);
        } else if let Some(closed) = segments.last_mut() {
            closed.len = self.active.file_len;
        }
        segments.push(SegmentInfo {
            first_lsn: new_active.first_lsn,
            path: self
                .dir
                .join(format::segment_file_name(new_active.first_lsn)),
            len: new_active.file_len,
        });
        drop(segments);
        self.active = new_active;
        self.dirty_since = None;
        Ok(())
    }

    /// Cuts unused preallocated space off the active segment, durably: an
    /// older segment must end exactly after its last record.
    fn trim_active(&mut self, sync: bool) -> Result<(), WalError> {
        if self.active.file_len <= self.active.len {
            return Ok(());
        }
        let context = || format!("trimming wal segment {}", self.active.first_lsn);
        self.active
            .file
            .set_len(self.active.len)
            .map_err(|e| WalError::io(context(), e))?;
        if sync && let Err(e) = self.active.file.sync_all() {
            error!(segment_lsn = self.active.first_lsn, error = %e, "wal fsync failed; refusing further appends");
            self.shared.failed.store(true, Ordering::Release);
            return Err(WalError::io(context(), e));
        }
        self.shared
            .disk_bytes
            .fetch_sub(self.active.file_len - self.active.len, Ordering::Relaxed);
        self.active.file_len = self.active.len;
        Ok(())
    }

    /// Final fsync on close.
    fn finish(mut self) -> Result<(), WalError> {
        if self.shared.is_failed() {
            return Err(WalError::Failed);
        }
        if self.policy != FsyncPolicy::Never {
            self.sync_active();
            if self.shared.is_failed() {
                return Err(WalError::Failed);
            }
        }
        Ok(())
    }
}

/// Takes queued requests up to [`MAX_GROUP_BYTES`] (at least one).
fn take_group(pending: &mut VecDeque<Request>) -> Vec<Request> {
    let mut group = Vec::new();
    let mut bytes = 0usize;
    while let Some(request) = pending.front() {
        let record_bytes = request.payload.len() + format::RECORD_HEADER_LEN;
        if !group.is_empty() && bytes + record_bytes > MAX_GROUP_BYTES {
            break;
        }
        let Some(request) = pending.pop_front() else {
            break;
        };
        bytes += record_bytes;
        group.push(request);
    }
    group
}

/// Creates (or replaces a leftover of) the segment whose first record will
/// be `first_lsn`, with its header written and, if `sync`, durable together
/// with its directory entry.
pub(crate) fn create_segment(
    dir: &Path,
    first_lsn: Lsn,
    sync: bool,
) -> Result<ActiveSegment, WalError> {
    let path = dir.join(format::segment_file_name(first_lsn));
    let context = || format!("creating wal segment `{}`", path.display());
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .map_err(|e| WalError::io(context(), e))?;
    let header = format::encode_segment_header(first_lsn);
    file.write_all_at(&header, 0)
        .map_err(|e| WalError::io(context(), e))?;
    if sync {
        file.sync_all().map_err(|e| WalError::io(context(), e))?;
        sync_dir(dir)?;
    }
    let len = SEGMENT_HEADER_LEN as u64;
    Ok(ActiveSegment {
        file,
        first_lsn,
        len,
        file_len: len,
        preallocated: false,
    })
}

/// Turns the zero-filled spare into the segment whose first record will be
/// `first_lsn`: header written, renamed, and (if `sync`) the rename durable.
/// The header itself becomes durable with the first records' fdatasync; a
/// crash before that leaves a segment without records, which recovery
/// deletes.
fn adopt_spare(
    spare: Spare,
    dir: &Path,
    first_lsn: Lsn,
    sync: bool,
) -> Result<ActiveSegment, WalError> {
    let path = dir.join(format::segment_file_name(first_lsn));
    let context = || {
        format!(
            "turning `{}` into wal segment `{}`",
            spare.path.display(),
            path.display()
        )
    };
    let header = format::encode_segment_header(first_lsn);
    spare
        .file
        .write_all_at(&header, 0)
        .map_err(|e| WalError::io(context(), e))?;
    fs::rename(&spare.path, &path).map_err(|e| WalError::io(context(), e))?;
    if sync {
        sync_dir(dir)?;
    }
    Ok(ActiveSegment {
        file: spare.file,
        first_lsn,
        len: SEGMENT_HEADER_LEN as u64,
        file_len: spare.len,
        preallocated: true,
    })
}
