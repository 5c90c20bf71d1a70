//! Flushing: memtables become segment files.
//!
//! Order matters for recovery. For one group, memtables are flushed oldest
//! first, and a group's flushed LSN only moves past a memtable once its
//! files are durable and committed to the catalog; the WAL is released only
//! below the oldest LSN still held by any memtable. A crash at any point
//! therefore leaves every acknowledged event either in a committed file or
//! in the WAL (replay skips what the catalog says is flushed).

use std::sync::{Arc, Weak};
use std::time::Duration;
use std::sync::atomic::Ordering;

use parking_lot::RwLock;
use tokio::sync::Notify;
use tracing::{debug, error};

use super::memtable::{Memtable, SharedMemtable};
use super::segment::{self, Segment};
use super::store::{Group, LogStore};
use super::StoreError;
use crate::catalog::{FlushCommit, StreamStats};

impl LogStore {
    /// Runs until the store closes or is dropped (it holds only a weak
    /// reference, so dropping the last `Arc<LogStore>` ends it).
    pub(super) async fn flusher_loop(store: Weak<LogStore>, flush_wanted: Arc<Notify>, check_interval: Duration) {
        loop {
            let woken = flush_wanted.notified();
            let _ = tokio::time::timeout(check_interval, woken).await;
            let Some(this) = store.upgrade() else { return };
            if this.closing.load(Ordering::Acquire) {
                return;
            }
            this.flush_due().await;
        }
    }

    async fn flush_due(&self) {
        for group in self.groups_to_flush() {
            if let Err(error) = self.flush_group(&group).await {
                error!(group = %group.name, %error, "flushing log events to a segment file failed; will retry");
            }
        }
    }

    /// Groups whose active memtable should be flushed now.
    fn groups_to_flush(&self) -> Vec<Arc<Group>> {
        let groups: Vec<Arc<Group>> = self.registry.read().by_id.values().cloned().collect();
        let mut sized: Vec<(usize, u64, bool, Arc<Group>)> = Vec::new();
        for group in groups {
            let data = group.data.read();
            let active = data.active.read();
            let retry_frozen = !data.frozen.is_empty();
            if active.max_lsn() == 0 && !retry_frozen {
                continue;
            }
            let due = retry_frozen
                || active.memory_bytes() >= self.options.group_flush_bytes
                || active.age() >= self.options.flush_age;
            let oldest_lsn = data.frozen.first().map(|table| table.read().min_lsn()).unwrap_or(active.min_lsn());
            let bytes = active.memory_bytes();
            drop(active);
            drop(data);
            sized.push((bytes, oldest_lsn, due, group));
        }
        let mut chosen: Vec<Arc<Group>> = Vec::new();
        let mut remaining = self.memtable_bytes.load(Ordering::Acquire);
        // Largest first while over the total budget.
        sized.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        for (bytes, _, due, group) in &sized {
            if *due || remaining > self.options.total_flush_bytes {
                remaining = remaining.saturating_sub(*bytes);
                chosen.push(Arc::clone(group));
            }
        }
        // The WAL is too big: flush whoever holds its oldest records.
        if self.wal.disk_bytes() > self.options.wal_flush_bytes
            && let Some((_, _, _, group)) = sized.iter().min_by_key(|entry| entry.1)
            && !chosen.iter().any(|chosen| Arc::ptr_eq(chosen, group))
        {
            chosen.push(Arc::clone(group));
        }
        chosen
    }

    /// Flushes every group's memtables (shutdown, tests).
    pub async fn flush_all(&self) -> Result<(), StoreError> {
        let groups: Vec<Arc<Group>> = self.registry.read().by_id.values().cloned().collect();
        for group in groups {
            self.flush_group(&group).await?;
        }
        Ok(())
    }

    /// Stops the flusher, flushes everything and closes the WAL.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.closing.store(true, Ordering::Release);
        self.flush_wanted.notify_one();
        let flusher = self.flusher.lock().take();
        if let Some(flusher) = flusher {
            let _ = flusher.await;
        }
        let maintainer = self.maintainer.lock().take();
        if let Some(maintainer) = maintainer {
            maintainer.abort();
            let _ = maintainer.await;
        }
        let flushed = self.flush_all().await;
        let wal = self.wal.clone();
        tokio::task::spawn_blocking(move || wal.close())
            .await
            .map_err(|join| StoreError::Unavailable(format!("closing the WAL failed: {join}")))??;
        flushed
    }

    pub(super) async fn flush_group(&self, group: &Arc<Group>) -> Result<(), StoreError> {
        let _one_at_a_time = group.flush_lock.lock().await;
        {
            let mut data = group.data.write();
            let has_records = data.active.read().max_lsn() > 0;
            if has_records {
                let full = std::mem::replace(&mut data.active, Arc::new(RwLock::new(Memtable::new())));
                data.frozen.push(full);
            }
        }
        loop {
            let oldest = group.data.read().frozen.first().cloned();
            let Some(memtable) = oldest else { break };
            self.flush_memtable(group, &memtable).await?;
        }
        self.release_wal();
        self.flushed.notify_waiters();
        Ok(())
    }

    async fn flush_memtable(&self, group: &Arc<Group>, memtable: &SharedMemtable) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        // Events already past the group's retention are not written.
        let oldest = self.retention_cutoff(group);
        let built = {
            let group = Arc::clone(group);
            let memtable = Arc::clone(memtable);
            self.background
                .run(move || segment::build(&memtable.read(), |stream_id| group.stream_name(stream_id), oldest))
                .await
                .map_err(|closed| StoreError::Unavailable(closed.to_string()))??
        };
        let built_ms = started.elapsed().as_millis() as u64;
        let mut records = Vec::new();
        for file in built {
            records.push(self.persist_segment(group, file, 0).await?);
        }
        let written_ms = started.elapsed().as_millis() as u64;
        let (flushed_lsn, deltas, memory) = {
            let table = memtable.read();
            (table.max_lsn(), table.streams().clone(), table.memory_bytes())
        };
        let commit = FlushCommit {
            group_id: group.id,
            flushed_lsn,
            segments: records.clone(),
            stream_stats: deltas
                .iter()
                .filter(|(_, delta)| delta.rows > 0)
                .map(|(stream_id, delta)| (*stream_id, delta.stats))
                .collect::<Vec<(u64, StreamStats)>>(),
        };
        if group.deleted.load(Ordering::Acquire) {
            for record in &records {
                self.delete_segment_files(&record.path).await;
            }
            group.data.write().frozen.retain(|table| !Arc::ptr_eq(table, memtable));
            return Ok(());
        }
        {
            let catalog = Arc::clone(&self.catalog);
            tokio::task::spawn_blocking(move || catalog.commit_flush(&commit))
                .await
                .map_err(|join| StoreError::Unavailable(join.to_string()))??;
        }

        {
            let streams = group.streams.read();
            for (stream_id, delta) in &deltas {
                let Some(stream) = streams.by_id.get(stream_id) else { continue };
                let flushed_share: u64 = records
                    .iter()
                    .flat_map(|record| record.streams.iter())
                    .filter(|share| share.stream_id == *stream_id)
                    .map(|share| share.bytes)
                    .sum();
                let mut runtime = stream.runtime.lock();
                runtime.unflushed_bytes = runtime.unflushed_bytes.saturating_sub(delta.wal_bytes);
                runtime.flushed_bytes += flushed_share;
            }
        }
        {
            let mut data = group.data.write();
            data.frozen.retain(|table| !Arc::ptr_eq(table, memtable));
            for record in records {
                data.segment_bytes += record.file_bytes + record.index_bytes;
                data.segments.push(Arc::new(Segment::new(record, self.objects.clone())));
            }
        }
        group.flushed_lsn.fetch_max(flushed_lsn, Ordering::AcqRel);
        let held = self.memtable_bytes.load(Ordering::Acquire);
        self.memtable_bytes.fetch_sub(memory.min(held), Ordering::AcqRel);
        debug!(
            group = %group.name,
            flushed_lsn,
            built_ms,
            written_ms,
            committed_ms = started.elapsed().as_millis() as u64,
            "flushed memtable"
        );
        Ok(())
    }

    /// Releases WAL segments below the oldest LSN any memtable still holds.
    pub(super) fn release_wal(&self) {
        // Read before looking at memtables: every record up to here is
        // already in one of them or flushed.
        let applied = self.applied_lsn.load(Ordering::Acquire);
        let groups: Vec<Arc<Group>> = self.registry.read().by_id.values().cloned().collect();
        let mut oldest_held: Option<u64> = None;
        for group in groups {
            for table in group.data.read().memtables() {
                let table = table.read();
                if table.max_lsn() > 0 {
                    oldest_held = Some(oldest_held.map_or(table.min_lsn(), |lsn| lsn.min(table.min_lsn())));
                }
            }
        }
        let release_below = oldest_held.unwrap_or(applied + 1).min(applied + 1);
        if let Err(error) = self.wal.release_before(release_below) {
            error!(%error, "could not release WAL segments");
        } else {
            debug!(release_below, "released WAL");
        }
    }
}
