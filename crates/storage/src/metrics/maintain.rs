//! The maintenance pass over metric block files: roll-ups, retention and
//! merging, as CloudWatch keeps data
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#metrics-retention>):
//!
//! | bucket width | kept for | then                |
//! | ------------ | -------- | ------------------- |
//! | 1 s          | 3 hours  | rolled into 1 min   |
//! | 1 min        | 15 days  | rolled into 5 min   |
//! | 5 min        | 63 days  | rolled into 1 hour  |
//! | 1 hour       | 455 days | deleted (retention) |
//!
//! A roll-up merges the `Summary`s of fine buckets into the epoch-aligned
//! coarse bucket holding them (same series, same unit). A fine bucket rolls
//! up once the whole coarse bucket it falls in is past the fine width's
//! age limit (ages run from bucket starts, against the injected clock), so
//! a coarse bucket is built once from all its parts and data is never
//! coarser than CloudWatch would have it. Buckets whose start is 455 days
//! old are dropped.
//!
//! Block files are per UTC day. A pass rewrites a day into one block when
//! the day has two or more blocks, or when something in it is due for a
//! roll-up or retention; a day whose blocks are all past retention is
//! dropped without rewriting. Today is merged like any other day: with the
//! hourly pass and 10-minute flushes it is rewritten at most once an hour
//! and never holds more than about seven blocks, which keeps reads cheap.
//!
//! Reads put a bucket into the period holding its start. For data old
//! enough to be rolled up, CloudWatch (and our API layer) only allows
//! periods that are multiples of the coarser width and rounds start times
//! down to it, so a rolled-up bucket never straddles two periods. Data
//! still in the memory head is rolled up only once flushed.
//!
//! A rewrite reads the day's files whole but decodes, rolls up and encodes
//! one series at a time on the low-priority background pool. It commits
//! the new block and removes the old ones in one catalog transaction, then
//! swaps the readers' view, and deletes the old files only once no reader
//! holds them (at the end of this pass or a later one). A crash between
//! commit and deletion leaves orphan files, which the store removes when it
//! next opens.
//!
//! Flushes run while a pass does: a flush only adds blocks and a pass only
//! replaces the blocks it read (both committed and swapped in by id), so a
//! block a flush adds to a day mid-pass simply stays beside the merged one
//! until the next pass. Reads merge a bucket found in several blocks, so
//! that is correct in between.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use tracing::{debug, info, warn};

use super::block::{self, BlockBuilder, BuiltBlock, ChunkRef, LoadedBlock};
use super::head::{Track, bucket_start};
use super::stats::Summary;
use super::store::{MetricStore, MetricStoreError, blocking};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Bucket widths from finest to coarsest, and how long a bucket of that
/// width is kept before it rolls up into the next width (or, for the last,
/// is deleted).
const TIERS: [(u32, i64); 4] = [
    (1, 3 * HOUR_MS),
    (60, 15 * DAY_MS),
    (300, 63 * DAY_MS),
    (3600, 455 * DAY_MS),
];

/// How long any metric data is kept.
pub const RETENTION_MS: i64 = 455 * DAY_MS;

// Block levels (the catalog's `level` column):
//
// * 0 — written by a flush: what one flush held for that day, buckets as
//   they were put (1 s or 1 min), never merged.
// * n ≥ 1 — written by a maintenance pass: the merge of every block its day
//   had then, with the roll-ups due then applied; its finest bucket width is
//   at least `TIERS[n - 1]`'s: 1 = may still hold 1-s buckets, 2 = nothing
//   finer than 1 min, 3 = nothing finer than 5 min, 4 = hourly buckets only.
//
// A pass uses the level to skip a block without looking at its index: if
// not even its oldest bucket would be due for a roll-up at the finest width
// the level allows, nothing in it is (coarser widths are kept longer).

/// The level of a maintained block whose finest bucket width is `finest_s`.
fn level_for(finest_s: u32) -> u32 {
    let tier = TIERS.iter().rposition(|(width_s, _)| *width_s <= finest_s).unwrap_or(0);
    tier as u32 + 1
}

/// The finest bucket width a block of `level` may hold, when the level says.
fn finest_width(level: u32) -> Option<u32> {
    let tier = usize::try_from(level.checked_sub(1)?).ok()?;
    TIERS.get(tier).map(|(width_s, _)| *width_s)
}

/// The width a bucket of `width_s` starting at `start_ms` rolls up into at
/// `now_ms`, if it is due: once the whole coarse bucket is past the age
/// limit of `width_s`.
fn due_roll_up(width_s: u32, start_ms: i64, now_ms: i64) -> Option<u32> {
    let (_, kept_ms) = TIERS.iter().find(|(tier_width_s, _)| *tier_width_s == width_s)?;
    let (coarse_s, _) = TIERS.iter().find(|(tier_width_s, _)| *tier_width_s > width_s)?;
    let coarse_ms = i64::from(*coarse_s) * 1000;
    let coarse_end = bucket_start(start_ms, coarse_ms).saturating_add(coarse_ms);
    (coarse_end <= now_ms.saturating_sub(*kept_ms)).then_some(*coarse_s)
}

/// Where a bucket belongs at `now_ms`: its (width, start) after every
/// roll-up due, or `None` once it is past retention.
fn settle(width_s: u32, start_ms: i64, now_ms: i64) -> Option<(u32, i64)> {
    let (mut width_s, mut start_ms) = (width_s, start_ms);
    while let Some(coarse_s) = due_roll_up(width_s, start_ms, now_ms) {
        start_ms = bucket_start(start_ms, i64::from(coarse_s) * 1000);
        width_s = coarse_s;
    }
    (start_ms >= now_ms.saturating_sub(RETENTION_MS)).then_some((width_s, start_ms))
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Days rewritten into one block.
    pub days_rewritten: usize,
    /// Days whose blocks were all past retention, removed outright.
    pub days_expired: usize,
    /// Blocks taken out of the catalog (rewritten or expired).
    pub blocks_removed: usize,
    pub blocks_written: usize,
    /// Buckets in the blocks read, and in the blocks written.
    pub points_read: u64,
    pub points_written: u64,
    /// Files of removed blocks deleted in this pass, and those left for a
    /// later pass because a reader still held them.
    pub files_deleted: usize,
    pub files_pending: usize,
}

/// What a day needs.
enum DayPlan {
    Keep,
    Expire,
    Rewrite,
}

fn plan_day(blocks: &[Arc<LoadedBlock>], now_ms: i64) -> DayPlan {
    let retention_cutoff = now_ms.saturating_sub(RETENTION_MS);
    if blocks.iter().all(|block| block.record.max_ts < retention_cutoff) {
        return DayPlan::Expire;
    }
    if blocks.len() >= 2 || blocks.iter().any(|block| has_due_buckets(block, now_ms)) {
        return DayPlan::Rewrite;
    }
    DayPlan::Keep
}

/// Whether a block holds a bucket due for a roll-up or past retention.
fn has_due_buckets(block: &LoadedBlock, now_ms: i64) -> bool {
    if block.record.min_ts < now_ms.saturating_sub(RETENTION_MS) {
        return true;
    }
    if let Some(finest_s) = finest_width(block.record.level)
        && due_roll_up(finest_s, block.record.min_ts, now_ms).is_none()
    {
        return false;
    }
    block.chunks.values().flatten().any(|chunk| due_roll_up(chunk.track.width_s, chunk.min_ts, now_ms).is_some())
}

/// One input block of a rewrite: its path, index and whole file.
struct Source {
    path: String,
    chunks: Vec<ChunkRef>,
    file: Bytes,
}

/// Merges a day's blocks into one, rolling up and dropping what is due at
/// `now_ms`; `None` when nothing is left. Works one series at a time, so
/// memory holds one series' buckets besides the files. Runs on a
/// background thread.
fn merge_day(sources: &[Source], now_ms: i64) -> Result<Option<(BuiltBlock, u32)>, MetricStoreError> {
    let mut by_series: BTreeMap<u64, Vec<(&Source, &ChunkRef)>> = BTreeMap::new();
    for source in sources {
        for chunk in &source.chunks {
            by_series.entry(chunk.track.series_id).or_default().push((source, chunk));
        }
    }
    let mut builder = BlockBuilder::new();
    let mut finest_s = u32::MAX;
    for chunks in by_series.values() {
        let mut tracks: BTreeMap<Track, BTreeMap<i64, Summary>> = BTreeMap::new();
        for (source, chunk) in chunks {
            let corrupt = |reason: String| MetricStoreError::Block { path: source.path.clone(), reason };
            let range = usize::try_from(chunk.offset).ok().zip(usize::try_from(chunk.offset.saturating_add(chunk.len)).ok());
            let bytes = range
                .and_then(|(from, to)| source.file.get(from..to))
                .ok_or_else(|| corrupt("a chunk lies outside the file".to_string()))?;
            let points = block::decode_chunk(bytes, chunk.track).map_err(|error| corrupt(error.to_string()))?;
            for (start_ms, summary) in &points {
                let Some((width_s, settled_start)) = settle(chunk.track.width_s, *start_ms, now_ms) else {
                    continue;
                };
                let track = Track { width_s, ..chunk.track };
                tracks.entry(track).or_default().entry(settled_start).or_default().merge(summary);
            }
        }
        for (track, points) in &tracks {
            finest_s = finest_s.min(track.width_s);
            builder.add(*track, points);
        }
    }
    if builder.is_empty() {
        return Ok(None);
    }
    Ok(Some((builder.finish(), level_for(finest_s))))
}

impl MetricStore {
    /// One maintenance pass over every day's block files (see the module
    /// documentation). A day that fails is logged and left as it was; the
    /// pass goes on and returns the first error.
    pub async fn maintain(&self) -> Result<MaintenanceReport, MetricStoreError> {
        let _one_pass = self.maintain_lock.lock().await;
        let now_ms = self.options.clock.now_millis();
        let mut report = MaintenanceReport::default();
        let mut days: BTreeMap<String, Vec<Arc<LoadedBlock>>> = BTreeMap::new();
        for block in self.view.read().blocks.iter() {
            days.entry(block.record.day.clone()).or_default().push(Arc::clone(block));
        }
        let mut first_error = None;
        for (day, blocks) in days {
            let result = match plan_day(&blocks, now_ms) {
                DayPlan::Keep => continue,
                DayPlan::Expire => {
                    info!(%day, blocks = blocks.len(), "deleting metric blocks past retention");
                    report.days_expired += 1;
                    self.replace(blocks, None, &mut report).await
                }
                DayPlan::Rewrite => self.rewrite_day(&day, blocks, now_ms, &mut report).await,
            };
            if let Err(error) = result {
                warn!(%day, %error, "maintenance of a day's metric blocks failed");
                first_error.get_or_insert(error);
            }
        }
        self.sweep_obsolete(&mut report).await;
        if report.blocks_removed > 0 {
            info!(
                days_rewritten = report.days_rewritten,
                days_expired = report.days_expired,
                blocks_removed = report.blocks_removed,
                blocks_written = report.blocks_written,
                points_read = report.points_read,
                points_written = report.points_written,
                files_pending = report.files_pending,
                "metrics maintenance pass"
            );
        }
        first_error.map_or(Ok(report), Err)
    }

    /// Rewrites one day's blocks into one and swaps it in.
    async fn rewrite_day(
        &self,
        day: &str,
        blocks: Vec<Arc<LoadedBlock>>,
        now_ms: i64,
        report: &mut MaintenanceReport,
    ) -> Result<(), MetricStoreError> {
        let mut sources = Vec::with_capacity(blocks.len());
        for block in &blocks {
            let file = self.objects.get_range(&block.record.path, 0..block.record.file_bytes).await?;
            let chunks = block.chunks.values().flatten().copied().collect();
            sources.push(Source { path: block.record.path.clone(), chunks, file });
        }
        let merged = self
            .background
            .run(move || merge_day(&sources, now_ms))
            .await
            .map_err(|closed| MetricStoreError::Task(closed.to_string()))??;
        let added = match merged {
            Some((built, level)) => Some(self.persist_block(day.to_string(), built, level).await?),
            None => None,
        };
        let points_read: u64 = blocks.iter().map(|block| block.record.points).sum();
        let points_written = added.as_ref().map_or(0, |block| block.record.points);
        let level = added.as_ref().map(|block| block.record.level);
        debug!(day, blocks = blocks.len(), points_read, points_written, ?level, "merged a day's metric blocks");
        self.replace(blocks, added, report).await?;
        report.days_rewritten += 1;
        report.points_read += points_read;
        report.points_written += points_written;
        Ok(())
    }

    /// Replaces `removed` with `added` in the catalog (one transaction) and
    /// then in the readers' view; the removed files go to the obsolete list.
    async fn replace(
        &self,
        removed: Vec<Arc<LoadedBlock>>,
        added: Option<LoadedBlock>,
        report: &mut MaintenanceReport,
    ) -> Result<(), MetricStoreError> {
        let removed_ids: Vec<u64> = removed.iter().map(|block| block.record.id).collect();
        let added_records: Vec<_> = added.iter().map(|block| block.record.clone()).collect();
        let catalog = Arc::clone(&self.catalog);
        let (ids, records) = (removed_ids.clone(), added_records.clone());
        let committed = blocking(move || catalog.commit_blocks(&records, &ids, None).map_err(MetricStoreError::from)).await;
        if let Err(error) = committed {
            // Only a catalog refusal is sure to have committed nothing; then
            // the new file is garbage and the old blocks stay as they were.
            if matches!(error, MetricStoreError::Catalog(_)) {
                for record in &added_records {
                    if let Err(delete_error) = self.objects.delete(&record.path).await {
                        warn!(
                            path = %record.path,
                            %delete_error,
                            "could not delete an uncommitted block file; it is removed at next start"
                        );
                    }
                }
            }
            return Err(error);
        }
        {
            let mut view = self.view.write();
            view.blocks.retain(|block| !removed_ids.contains(&block.record.id));
            view.blocks.extend(added.map(Arc::new));
        }
        report.blocks_removed += removed.len();
        report.blocks_written += added_records.len();
        self.obsolete.lock().extend(removed);
        Ok(())
    }

    /// Deletes the files of replaced blocks that no reader holds any more:
    /// a read clones the view's `Arc`s before it starts, and nothing can
    /// clone a block out of the view once it was swapped out, so a count of
    /// one (the obsolete list's own) means no read can reach the file.
    async fn sweep_obsolete(&self, report: &mut MaintenanceReport) {
        let unused: Vec<Arc<LoadedBlock>> = {
            let mut obsolete = self.obsolete.lock();
            let (unused, held): (Vec<_>, Vec<_>) = obsolete.drain(..).partition(|block| Arc::strong_count(block) == 1);
            *obsolete = held;
            report.files_pending = obsolete.len();
            unused
        };
        for block in unused {
            match self.objects.delete(&block.record.path).await {
                Ok(()) => report.files_deleted += 1,
                Err(error) => {
                    warn!(path = %block.record.path, %error, "could not delete a replaced block file; it is removed at next start");
                }
            }
        }
    }
}

#[cfg(test)]
mod tier_tests {
    use super::*;

    #[test]
    fn buckets_roll_up_once_their_whole_coarse_bucket_is_old_enough() {
        let minute_start = 1_700_000_040_000i64;
        let second = minute_start + 59_000;
        // The 1-minute bucket ends 60 s after it starts: due 3 h after that.
        assert_eq!(due_roll_up(1, second, minute_start + 60_000 + 3 * HOUR_MS - 1), None);
        assert_eq!(due_roll_up(1, second, minute_start + 60_000 + 3 * HOUR_MS), Some(60));
        assert_eq!(settle(1, second, minute_start + 60_000 + 3 * HOUR_MS), Some((60, minute_start)));
        // Old enough for every tier at once: straight to the hour.
        let hour_start = bucket_start(second, HOUR_MS);
        assert_eq!(settle(1, second, hour_start + HOUR_MS + 63 * DAY_MS), Some((3600, hour_start)));
        assert_eq!(settle(60, second, hour_start + 455 * DAY_MS + 1), None);
        assert_eq!(due_roll_up(3600, second, i64::MAX), None);
        assert_eq!(due_roll_up(7, second, i64::MAX), None, "unknown widths are left alone");
    }

    #[test]
    fn levels_name_the_finest_width() {
        assert_eq!([1, 60, 300, 3600].map(level_for), [1, 2, 3, 4]);
        assert_eq!([0, 1, 2, 3, 4, 5].map(finest_width), [None, Some(1), Some(60), Some(300), Some(3600), None]);
    }
}
