//! Maintenance of a group's segment files, run by a background loop:
//!
//! * **Retention** — files whose events are all older than the group's
//!   retention are deleted; a file that straddles the boundary is rewritten
//!   without the expired events. (Reads already hide expired events.)
//! * **Deleted streams** — files holding events of deleted streams are
//!   rewritten without them (or deleted when nothing else is left), so
//!   DeleteLogStream frees its disk space.
//! * **Compaction** — per UTC day, size-tiered: once a day has
//!   `compact_fanout` files of one level they are merged into a file of the
//!   next level, so the file count stays bounded under steady ingest. When
//!   a day has had no new file for `compact_settle`, its small files are
//!   merged into their final form (files of up to `max_segment_rows`,
//!   stronger compression).
//!
//! A rewrite reads its inputs and writes its outputs on the low-priority
//! background pool, commits the swap to the catalog in one transaction,
//! swaps the group's read set, and only then deletes the old files — once
//! no reader still holds them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tracing::{debug, error, info};

use super::segment::{self, COMPACT_ZSTD_LEVEL, FRESH_ZSTD_LEVEL, ROW_GROUP_ROWS, RowRef, Segment, SegmentWriter};
use super::store::{Group, LogStore};
use super::{EventKey, ScanFilter, StoreError, StoredEvent, StreamFilter, TokenQuery};
use crate::catalog::{SegmentRecord, SegmentStream};

const DAY_MS: i64 = 86_400_000;

/// Zstd level of intermediate (tiered) compaction output: merges of a busy
/// day run again and again, so they stay cheap; settled days get
/// [`COMPACT_ZSTD_LEVEL`].
const TIER_ZSTD_LEVEL: i32 = 3;

/// What one rewrite produces.
struct RewritePlan {
    inputs: Vec<Arc<Segment>>,
    /// Events older than this are dropped.
    oldest: i64,
    live_streams: Arc<HashSet<u64>>,
    level: u32,
    zstd_level: i32,
}

impl LogStore {
    /// The oldest timestamp a group's retention keeps (`i64::MIN` without
    /// retention).
    pub(super) fn retention_cutoff(&self, group: &Group) -> i64 {
        match group.meta.read().retention_days {
            Some(days) => self.options.clock.now_millis().saturating_sub(i64::from(days) * DAY_MS),
            None => i64::MIN,
        }
    }

    /// Runs until the store closes or is dropped.
    pub(super) async fn maintenance_loop(store: Weak<LogStore>, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            let Some(this) = store.upgrade() else { return };
            if this.closing.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            if let Err(error) = this.maintain(false).await {
                error!(%error, "log maintenance failed; will retry");
            }
        }
    }

    /// One maintenance pass over every group. With `settle_now`, every day
    /// is compacted into its final form at once (operators, benchmarks,
    /// tests), instead of after `compact_settle` without new files.
    pub async fn maintain(&self, settle_now: bool) -> Result<(), StoreError> {
        let groups: Vec<Arc<Group>> = self.registry.read().by_id.values().cloned().collect();
        let mut first_error = None;
        for group in groups {
            if let Err(error) = self.maintain_group(&group, settle_now).await {
                error!(group = %group.name, %error, "maintenance of a log group failed");
                first_error.get_or_insert(error);
            }
        }
        self.sweep_obsolete().await;
        first_error.map_or(Ok(()), Err)
    }

    async fn maintain_group(&self, group: &Arc<Group>, settle_now: bool) -> Result<(), StoreError> {
        let _one_at_a_time = group.maintain_lock.lock().await;
        let cutoff = self.retention_cutoff(group);
        let live: Arc<HashSet<u64>> = Arc::new(group.streams.read().by_id.keys().copied().collect());
        let segments = group.data.read().segments.clone();

        // Retention and deleted streams.
        let mut dropped = Vec::new();
        let mut rewrites = Vec::new();
        for segment in segments {
            let record = &segment.record;
            let any_live = record.streams.iter().any(|share| live.contains(&share.stream_id));
            let any_dead = record.streams.iter().any(|share| !live.contains(&share.stream_id));
            if record.max_ts < cutoff || !any_live {
                dropped.push(segment);
            } else if record.min_ts < cutoff || any_dead {
                rewrites.push(segment);
            }
        }
        if !dropped.is_empty() {
            info!(group = %group.name, files = dropped.len(), "deleting expired or orphaned segment files");
            self.swap(group, &dropped, Vec::new()).await?;
        }
        for segment in rewrites {
            let level = segment.record.level;
            let zstd_level = if level == 0 { FRESH_ZSTD_LEVEL } else { COMPACT_ZSTD_LEVEL };
            let plan = RewritePlan { inputs: vec![segment], oldest: cutoff, live_streams: Arc::clone(&live), level, zstd_level };
            self.rewrite(group, plan).await?;
        }

        // Compaction, day by day.
        let segments = group.data.read().segments.clone();
        let mut by_day: BTreeMap<i64, Vec<Arc<Segment>>> = BTreeMap::new();
        for segment in segments {
            by_day.entry(segment::day_of(segment.record.min_ts)).or_default().push(segment);
        }
        for (_, day) in by_day {
            for plan in self.compaction_plans(&day, settle_now, cutoff, &live) {
                self.rewrite(group, plan).await?;
            }
        }
        Ok(())
    }

    /// The merges one day's files are due for.
    fn compaction_plans(
        &self,
        day: &[Arc<Segment>],
        settle_now: bool,
        cutoff: i64,
        live: &Arc<HashSet<u64>>,
    ) -> Vec<RewritePlan> {
        let max_rows = self.options.max_segment_rows;
        let settled = settle_now || day.iter().all(|segment| segment.known_since.elapsed() >= self.options.compact_settle);
        if settled {
            // Final form: merge what is not yet a full-size file.
            let small: Vec<Arc<Segment>> = day.iter().filter(|segment| segment.record.rows < max_rows).cloned().collect();
            let worth_it = small.len() >= 2 || small.iter().any(|segment| segment.record.level == 0);
            if !worth_it {
                return Vec::new();
            }
            let level = small.iter().map(|segment| segment.record.level).max().unwrap_or(0) + 1;
            return vec![RewritePlan {
                inputs: small,
                oldest: cutoff,
                live_streams: Arc::clone(live),
                level,
                zstd_level: COMPACT_ZSTD_LEVEL,
            }];
        }
        // Size-tiered while the day is busy.
        let mut by_level: BTreeMap<u32, Vec<Arc<Segment>>> = BTreeMap::new();
        for segment in day.iter().filter(|segment| segment.record.rows < max_rows) {
            by_level.entry(segment.record.level).or_default().push(Arc::clone(segment));
        }
        by_level
            .into_iter()
            .filter(|(_, segments)| segments.len() >= self.options.compact_fanout)
            .map(|(level, inputs)| RewritePlan {
                inputs,
                oldest: cutoff,
                live_streams: Arc::clone(live),
                level: level + 1,
                zstd_level: TIER_ZSTD_LEVEL,
            })
            .collect()
    }

    /// Rewrites `plan.inputs` into new files (merged in key order, expired
    /// events and deleted streams left out) and swaps them in.
    async fn rewrite(&self, group: &Arc<Group>, plan: RewritePlan) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let names: Arc<HashMap<u64, Arc<str>>> = Arc::new(
            group.streams.read().by_id.iter().map(|(id, stream)| (*id, Arc::clone(&stream.name))).collect(),
        );
        let filter = Arc::new(ScanFilter {
            streams: StreamFilter::Set(Arc::clone(&plan.live_streams)),
            start_ts: plan.oldest,
            end_ts: i64::MAX,
            predicate: None,
            tokens: TokenQuery::default(),
        });
        let inputs = plan.inputs.clone();
        let runtime = tokio::runtime::Handle::current();
        let max_rows = self.options.max_segment_rows;
        let zstd_level = plan.zstd_level;
        let built = self
            .background
            .run(move || merge_into_files(&runtime, &inputs, &filter, &names, zstd_level, max_rows))
            .await
            .map_err(|closed| StoreError::Unavailable(closed.to_string()))??;

        let mut records = Vec::new();
        for file in built {
            records.push(self.persist_segment(group, file, plan.level).await?);
        }
        let rows_in: u64 = plan.inputs.iter().map(|segment| segment.record.rows).sum();
        let rows_out: u64 = records.iter().map(|record| record.rows).sum();
        self.swap(group, &plan.inputs, records).await?;
        debug!(
            group = %group.name,
            files_in = plan.inputs.len(),
            rows_in,
            rows_out,
            level = plan.level,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "rewrote segment files"
        );
        Ok(())
    }

    /// Writes a built file and its token index durably and describes it
    /// for the catalog (not yet committed).
    pub(super) async fn persist_segment(
        &self,
        group: &Group,
        file: segment::BuiltSegment,
        level: u32,
    ) -> Result<SegmentRecord, StoreError> {
        let id = {
            let catalog = Arc::clone(&self.catalog);
            tokio::task::spawn_blocking(move || catalog.next_segment_id())
                .await
                .map_err(|join| StoreError::Unavailable(join.to_string()))??
        };
        let path = format!("logs/{}/dt={}/{id:016}.parquet", group.id, file.day);
        // The index first: a committed segment always has its sidecar.
        let index_bytes = self.objects.put_durable(&segment::tokens_path(&path), file.tokens).await?;
        let file_bytes = self.objects.put_durable(&path, file.bytes).await?;
        let disk_bytes = file_bytes + index_bytes;
        let message_total: u64 = file.streams.values().map(|(_, bytes)| bytes).sum();
        let mut streams = Vec::new();
        let mut assigned = 0u64;
        let count = file.streams.len();
        for (index, (stream_id, (rows, message_bytes))) in file.streams.iter().enumerate() {
            // The files' size split in proportion to message bytes; the
            // last stream takes the rounding remainder.
            let share = if index + 1 == count {
                disk_bytes - assigned
            } else if message_total == 0 {
                0
            } else {
                (u128::from(disk_bytes) * u128::from(*message_bytes) / u128::from(message_total)) as u64
            };
            assigned += share;
            streams.push(SegmentStream { stream_id: *stream_id, rows: *rows, bytes: share });
        }
        Ok(SegmentRecord {
            id,
            group_id: group.id,
            path,
            min_ts: file.min_ts,
            max_ts: file.max_ts,
            rows: file.rows,
            file_bytes,
            index_bytes,
            level,
            streams,
        })
    }

    /// Replaces `removed` with `added` in the catalog and in the group's
    /// read set; the old files are deleted once no reader holds them.
    async fn swap(&self, group: &Arc<Group>, removed: &[Arc<Segment>], added: Vec<SegmentRecord>) -> Result<(), StoreError> {
        let removed_ids: Vec<u64> = removed.iter().map(|segment| segment.record.id).collect();
        let committed = {
            let catalog = Arc::clone(&self.catalog);
            let (group_id, ids, records) = (group.id, removed_ids.clone(), added.clone());
            tokio::task::spawn_blocking(move || catalog.replace_segments(group_id, &ids, &records))
                .await
                .map_err(|join| StoreError::Unavailable(join.to_string()))?
        };
        if let Err(error) = committed {
            // The group is gone or the catalog refused: the new files are
            // garbage, the old ones stay as they were.
            for record in &added {
                self.delete_segment_files(&record.path).await;
            }
            return Err(error.into());
        }
        {
            let streams = group.streams.read();
            let adjust = |shares: &[SegmentStream], add: bool| {
                for share in shares {
                    if let Some(stream) = streams.by_id.get(&share.stream_id) {
                        let mut runtime = stream.runtime.lock();
                        runtime.flushed_bytes =
                            if add { runtime.flushed_bytes + share.bytes } else { runtime.flushed_bytes.saturating_sub(share.bytes) };
                    }
                }
            };
            for segment in removed {
                adjust(&segment.record.streams, false);
            }
            for record in &added {
                adjust(&record.streams, true);
            }
        }
        {
            let mut data = group.data.write();
            data.segments.retain(|segment| !removed_ids.contains(&segment.record.id));
            for segment in removed {
                data.segment_bytes = data.segment_bytes.saturating_sub(segment.record.file_bytes + segment.record.index_bytes);
            }
            for record in added {
                data.segment_bytes += record.file_bytes + record.index_bytes;
                data.segments.push(Arc::new(Segment::new(record, self.objects.clone())));
            }
        }
        self.obsolete.lock().extend(removed.iter().cloned());
        self.sweep_obsolete().await;
        Ok(())
    }

    /// Deletes the files of replaced segments that no reader holds any more.
    pub(super) async fn sweep_obsolete(&self) {
        let unused: Vec<Arc<Segment>> = {
            let mut obsolete = self.obsolete.lock();
            let (unused, held): (Vec<_>, Vec<_>) = obsolete.drain(..).partition(|segment| Arc::strong_count(segment) == 1);
            *obsolete = held;
            unused
        };
        for segment in unused {
            self.delete_segment_files(&segment.record.path).await;
        }
    }
}

/// One input of a merge: its row groups read one at a time.
struct InputRows<'a> {
    segment: &'a Arc<Segment>,
    row_groups: std::ops::Range<usize>,
    buffered: std::vec::IntoIter<StoredEvent>,
}

impl InputRows<'_> {
    fn next(&mut self, runtime: &tokio::runtime::Handle, filter: &Arc<ScanFilter>) -> Result<Option<StoredEvent>, StoreError> {
        loop {
            if let Some(event) = self.buffered.next() {
                return Ok(Some(event));
            }
            let Some(row_group) = self.row_groups.next() else {
                return Ok(None);
            };
            self.buffered = segment::read_row_group_blocking(runtime, self.segment, filter, row_group)?.into_iter();
        }
    }
}

/// Merges `inputs` (each sorted by key) into files of at most `max_rows`
/// rows, one UTC day per file. Runs on a background thread; holds one
/// decoded row group per input.
fn merge_into_files(
    runtime: &tokio::runtime::Handle,
    inputs: &[Arc<Segment>],
    filter: &Arc<ScanFilter>,
    names: &Arc<HashMap<u64, Arc<str>>>,
    zstd_level: i32,
    max_rows: u64,
) -> Result<Vec<segment::BuiltSegment>, StoreError> {
    let mut cursors = Vec::with_capacity(inputs.len());
    for segment in inputs {
        let row_groups = runtime.block_on(segment.row_group_count())?;
        cursors.push(InputRows { segment, row_groups: 0..row_groups, buffered: Vec::new().into_iter() });
    }
    // The next event of each input, ordered by key (smallest first).
    let mut heads: BinaryHeap<Reverse<(EventKey, usize)>> = BinaryHeap::new();
    let mut next_events: Vec<Option<StoredEvent>> = Vec::with_capacity(cursors.len());
    for (index, cursor) in cursors.iter_mut().enumerate() {
        let event = cursor.next(runtime, filter)?;
        if let Some(event) = &event {
            heads.push(Reverse((event.key, index)));
        }
        next_events.push(event);
    }

    let mut built = Vec::new();
    let mut output = Output { writer: None, pending: Vec::with_capacity(ROW_GROUP_ROWS), names, zstd_level };
    while let Some(Reverse((_, index))) = heads.pop() {
        let (Some(slot), Some(cursor)) = (next_events.get_mut(index), cursors.get_mut(index)) else { continue };
        let Some(event) = slot.take() else { continue };
        *slot = cursor.next(runtime, filter)?;
        if let Some(next) = slot {
            heads.push(Reverse((next.key, index)));
        }
        let day = segment::day_of(event.key.timestamp);
        if output.is_full(day, max_rows) {
            built.extend(output.finish()?);
        }
        output.push(day, event)?;
    }
    built.extend(output.finish()?);
    Ok(built)
}

/// The file a merge is writing, and the rows of its next row group.
struct Output<'a> {
    writer: Option<(i64, SegmentWriter)>,
    pending: Vec<StoredEvent>,
    names: &'a Arc<HashMap<u64, Arc<str>>>,
    zstd_level: i32,
}

impl Output<'_> {
    /// Whether an event of `day` must start a new file.
    fn is_full(&self, day: i64, max_rows: u64) -> bool {
        self.writer.as_ref().is_some_and(|(writer_day, writer)| {
            *writer_day != day || writer.rows() + self.pending.len() as u64 >= max_rows
        })
    }

    fn push(&mut self, day: i64, event: StoredEvent) -> Result<(), StoreError> {
        if self.pending.len() == ROW_GROUP_ROWS {
            self.write_pending()?;
        }
        if self.writer.is_none() {
            self.writer = Some((day, SegmentWriter::new(Arc::clone(self.names), self.zstd_level, 1 << 20)?));
        }
        self.pending.push(event);
        Ok(())
    }

    fn write_pending(&mut self) -> Result<(), StoreError> {
        if let Some((_, writer)) = self.writer.as_mut()
            && !self.pending.is_empty()
        {
            let rows: Vec<RowRef<'_>> = self.pending.iter().map(RowRef::of_event).collect();
            writer.write_row_group(&rows)?;
        }
        self.pending.clear();
        Ok(())
    }

    /// Closes the current file, if any.
    fn finish(&mut self) -> Result<Option<segment::BuiltSegment>, StoreError> {
        self.write_pending()?;
        match self.writer.take() {
            Some((_, writer)) => Ok(Some(writer.finish()?)),
            None => Ok(None),
        }
    }
}
