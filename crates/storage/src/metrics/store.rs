//! [`MetricStore`]: put, read, flush. Writes go WAL first (durable before
//! the call returns), then into the in-memory head; a flush turns the head
//! into one block file per UTC day, commits them with the new flushed LSN in
//! the catalog, and releases the WAL. Reads merge the head, a head being
//! flushed, and the block files. Roll-ups, retention and merging of block
//! files are the maintenance pass (`maintain.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use argus_core::SharedClock;
use parking_lot::{Mutex, RwLock};
use tracing::{info, warn};

use super::block::{self, BuiltBlock, LoadedBlock};
use super::head::{Head, SeriesPoints};
use super::record::{self, Sample, SampleValue};
use super::series::{MetricIdentity, MetricScope, SeriesIndex};
use super::stats::Summary;
use super::unit::Unit;
use crate::logs::day_label;
use crate::catalog::{BlockRecord, CatalogError, MetricCatalog, SeriesRecord};
use crate::background::BackgroundPool;
use crate::objects::{ObjectError, ObjectStorage};
use crate::wal::{Wal, WalError, WalOptions};

#[derive(Debug, thiserror::Error)]
pub enum MetricStoreError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error("block file {path}: {reason}")]
    Block { path: String, reason: String },
    #[error("background task failed: {0}")]
    Task(String),
}

/// When the head is flushed and block files are maintained.
#[derive(Debug, Clone)]
pub struct MetricStoreOptions {
    /// Flush at least this often, so the WAL stays short.
    pub flush_interval: Duration,
    /// Flush early once the head holds this many points.
    pub flush_points: usize,
    /// Time between maintenance passes (roll-ups, retention, merging; the
    /// first runs at start-up). Roll-ups are due by the hour at the finest,
    /// so more often buys little.
    pub maintenance_interval: Duration,
    pub clock: SharedClock,
}

impl MetricStoreOptions {
    pub fn new(clock: SharedClock) -> MetricStoreOptions {
        MetricStoreOptions {
            flush_interval: Duration::from_secs(600),
            flush_points: 2_000_000,
            maintenance_interval: Duration::from_secs(3600),
            clock,
        }
    }
}

/// One datum to store, as PutMetricData described it (validated).
#[derive(Debug, Clone)]
pub struct NewDatum {
    pub identity: MetricIdentity,
    pub unit: Unit,
    /// 1 (high resolution) or 60.
    pub resolution_s: u8,
    pub timestamp_ms: i64,
    pub value: SampleValue,
}

impl NewDatum {
    fn into_sample(self, series_id: u64) -> Sample {
        Sample { series_id, unit: self.unit, resolution_s: self.resolution_s, timestamp_ms: self.timestamp_ms, value: self.value }
    }
}

/// What a read asks for: one metric's points in `[start_ms, end_ms)`,
/// merged into periods of `period_s` starting at `start_ms`.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub scope: MetricScope,
    pub identity: MetricIdentity,
    /// Only datapoints published with this unit.
    pub unit: Option<Unit>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub period_s: u32,
}

/// One period's merged samples.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodPoint {
    pub start_ms: i64,
    pub summary: Summary,
    /// The unit of its datapoints when they all share one.
    pub unit: Unit,
}

/// A metric as ListMetrics shows it.
#[derive(Debug, Clone)]
pub struct ListedMetric {
    pub series_id: u64,
    pub identity: Arc<MetricIdentity>,
    /// Newest time data arrived for it (put time; for data from before a
    /// restart, the newest datapoint timestamp).
    pub last_seen_ms: Option<i64>,
}

/// What readers see besides the live head, swapped atomically.
#[derive(Debug, Default, Clone)]
pub(super) struct View {
    pub(super) flushing: Option<Arc<Head>>,
    pub(super) blocks: Vec<Arc<LoadedBlock>>,
}

pub struct MetricStore {
    pub(super) catalog: Arc<dyn MetricCatalog>,
    pub(super) objects: ObjectStorage,
    wal: Wal,
    pub(super) options: MetricStoreOptions,
    series: RwLock<SeriesIndex>,
    /// Serialises series creation, so one identity gets one id.
    series_creation: tokio::sync::Mutex<()>,
    head: Arc<Mutex<Head>>,
    pub(super) view: RwLock<View>,
    last_seen: Mutex<HashMap<u64, i64>>,
    flush_lock: tokio::sync::Mutex<()>,
    /// One maintenance pass at a time (the periodic one and
    /// `/_argus/compact`). Flushes need not wait for it: see `maintain.rs`.
    pub(super) maintain_lock: tokio::sync::Mutex<()>,
    /// Blocks a pass replaced whose files some reader may still be reading;
    /// their files are deleted once nothing else holds them.
    pub(super) obsolete: Mutex<Vec<Arc<LoadedBlock>>>,
    /// Low-priority threads for rewriting block files.
    pub(super) background: BackgroundPool,
}

impl MetricStore {
    /// Opens the catalog's series and blocks and replays the WAL.
    pub async fn open(
        catalog: Arc<dyn MetricCatalog>,
        objects: ObjectStorage,
        wal_options: WalOptions,
        options: MetricStoreOptions,
    ) -> Result<Arc<MetricStore>, MetricStoreError> {
        let loading = Arc::clone(&catalog);
        let (records, blocks, flushed_lsn) = blocking(move || {
            Ok::<_, MetricStoreError>((loading.load_series()?, loading.load_blocks()?, loading.metrics_flushed_lsn()?))
        })
        .await?;
        let series = SeriesIndex::from_records(&records);

        let mut loaded = Vec::with_capacity(blocks.len());
        let mut last_seen: HashMap<u64, i64> = HashMap::new();
        let known_paths: std::collections::HashSet<String> = blocks.iter().map(|record| record.path.clone()).collect();
        for record in blocks {
            let bytes = objects.get_range(&record.path, 0..record.file_bytes).await?;
            let chunks = block::read_index(&bytes)
                .map_err(|error| MetricStoreError::Block { path: record.path.clone(), reason: error.to_string() })?;
            let block = block::load(record, chunks);
            for (series_id, last) in block.last_points() {
                let seen = last_seen.entry(series_id).or_insert(last);
                *seen = (*seen).max(last);
            }
            loaded.push(Arc::new(block));
        }

        let mut head = Head::default();
        let wal = blocking(move || {
            let mut replayed = 0u64;
            let wal = Wal::open(wal_options, flushed_lsn + 1, |lsn, payload| match record::decode(payload) {
                Ok(samples) => {
                    for sample in &samples {
                        head.apply(sample);
                    }
                    head.applied_lsn = lsn;
                    replayed += 1;
                }
                Err(error) => warn!(lsn, %error, "skipping a metrics WAL record that does not decode"),
            })?;
            if head.applied_lsn == 0 {
                head.applied_lsn = flushed_lsn;
            }
            Ok::<_, MetricStoreError>((wal, head, replayed))
        })
        .await?;
        let (wal, head, replayed) = wal;
        for (series_id, tracks) in &head.series {
            if let Some(last) = tracks.values().filter_map(|points| points.last_key_value()).map(|(ts, _)| *ts).max() {
                let seen = last_seen.entry(*series_id).or_insert(last);
                *seen = (*seen).max(last);
            }
        }
        info!(series = series.len(), blocks = loaded.len(), replayed, "metrics store open");
        let store = Arc::new(MetricStore {
            catalog,
            objects,
            wal,
            options,
            series: RwLock::new(series),
            series_creation: tokio::sync::Mutex::new(()),
            head: Arc::new(Mutex::new(head)),
            view: RwLock::new(View { flushing: None, blocks: loaded }),
            last_seen: Mutex::new(last_seen),
            flush_lock: tokio::sync::Mutex::new(()),
            maintain_lock: tokio::sync::Mutex::new(()),
            obsolete: Mutex::new(Vec::new()),
            background: BackgroundPool::new("argus-metrics", 1),
        });
        store.remove_orphan_files(&known_paths).await;
        Ok(store)
    }

    /// Deletes block files that no catalog row names: a crash between
    /// writing a block and committing it, or between a maintenance commit
    /// and the deletion of the blocks it replaced, leaves some behind.
    async fn remove_orphan_files(&self, known: &std::collections::HashSet<String>) {
        let listed = match self.objects.list("metrics").await {
            Ok(listed) => listed,
            Err(error) => {
                warn!(%error, "could not list metric block files to remove orphans");
                return;
            }
        };
        for (path, _) in listed {
            if known.contains(&path) {
                continue;
            }
            warn!(%path, "removing a metric block file that the catalog does not know");
            if let Err(error) = self.objects.delete(&path).await {
                warn!(%path, %error, "could not remove an orphan metric block file");
            }
        }
    }

    /// Starts the periodic flush and the periodic maintenance pass (one
    /// right away, then every `maintenance_interval`); both stop when the
    /// store is dropped.
    pub fn spawn_background(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let every = self.options.maintenance_interval;
        tokio::spawn(async move {
            loop {
                {
                    let Some(store) = weak.upgrade() else { return };
                    if let Err(error) = store.maintain().await {
                        warn!(%error, "metrics maintenance failed; the next pass retries");
                    }
                }
                tokio::time::sleep(every).await;
            }
        });

        let weak = Arc::downgrade(self);
        let interval = self.options.flush_interval;
        tokio::spawn(async move {
            let check = Duration::from_secs(5).min(interval);
            let mut since_flush = Duration::ZERO;
            loop {
                tokio::time::sleep(check).await;
                since_flush += check;
                let Some(store) = weak.upgrade() else { return };
                let due = since_flush >= interval || store.head.lock().points() >= store.options.flush_points;
                if due {
                    since_flush = Duration::ZERO;
                    if let Err(error) = store.flush().await {
                        warn!(%error, "metrics flush failed; the WAL keeps the data and the next flush retries");
                    }
                }
            }
        });
    }

    /// Stores data durably: new series go to the catalog, the samples to
    /// the WAL; returns once the WAL record is durable and in the head.
    pub async fn put(&self, scope: &MetricScope, data: Vec<NewDatum>) -> Result<(), MetricStoreError> {
        let now = self.options.clock.now_millis();
        // One pass over the index; only series it does not know yet are
        // created (in the catalog) and then resolved.
        let mut resolved: Vec<Sample> = Vec::with_capacity(data.len());
        let mut unknown: Vec<NewDatum> = Vec::new();
        {
            let index = self.series.read();
            for datum in data {
                match index.get(scope, &datum.identity) {
                    Some(series_id) => resolved.push(datum.into_sample(series_id)),
                    None => unknown.push(datum),
                }
            }
        }
        if !unknown.is_empty() {
            self.create_series(scope, unknown.iter().map(|datum| datum.identity.clone()).collect(), now).await?;
            let index = self.series.read();
            // Every identity has an id once create_series returned.
            resolved.extend(unknown.into_iter().filter_map(|datum| {
                let series_id = index.get(scope, &datum.identity)?;
                Some(datum.into_sample(series_id))
            }));
        }
        if resolved.is_empty() {
            return Ok(());
        }
        let payload = record::encode(&resolved);
        let head = Arc::clone(&self.head);
        {
            let mut seen = self.last_seen.lock();
            for sample in &resolved {
                seen.insert(sample.series_id, now);
            }
        }
        self.wal
            .append(payload, move |lsn| {
                let mut head = head.lock();
                for sample in &resolved {
                    head.apply(sample);
                }
                head.applied_lsn = lsn;
            })
            .await?;
        Ok(())
    }

    async fn create_series(&self, scope: &MetricScope, identities: Vec<MetricIdentity>, now: i64) -> Result<(), MetricStoreError> {
        let _creating = self.series_creation.lock().await;
        let fresh: Vec<MetricIdentity> = {
            let index = self.series.read();
            let mut seen = std::collections::HashSet::new();
            identities.into_iter().filter(|identity| index.get(scope, identity).is_none() && seen.insert(identity.clone())).collect()
        };
        if fresh.is_empty() {
            return Ok(());
        }
        let catalog = Arc::clone(&self.catalog);
        let owned_scope = scope.clone();
        let created = blocking(move || {
            let mut created = Vec::with_capacity(fresh.len());
            for identity in fresh {
                let id = catalog.insert_series(&SeriesRecord {
                    id: 0,
                    account: owned_scope.account.clone(),
                    region: owned_scope.region.clone(),
                    namespace: identity.namespace.clone(),
                    metric_name: identity.metric_name.clone(),
                    dimensions: identity.dimensions_json(),
                    created_ms: now,
                })?;
                created.push((id, identity));
            }
            Ok::<_, MetricStoreError>(created)
        })
        .await?;
        let mut index = self.series.write();
        for (id, identity) in created {
            index.insert(id, scope, identity);
        }
        Ok(())
    }

    /// Every metric of a scope.
    pub fn list(&self, scope: &MetricScope) -> Vec<ListedMetric> {
        let seen = self.last_seen.lock();
        let index = self.series.read();
        index
            .in_scope(scope)
            .map(|entry| ListedMetric {
                series_id: entry.id,
                identity: Arc::clone(&entry.identity),
                last_seen_ms: seen.get(&entry.id).copied(),
            })
            .collect()
    }

    /// The series id of a metric, if it was ever written.
    pub fn series_id(&self, scope: &MetricScope, identity: &MetricIdentity) -> Option<u64> {
        self.series.read().get(scope, identity)
    }

    /// One metric's datapoints merged into periods, oldest first.
    pub async fn read(&self, request: &ReadRequest) -> Result<Vec<PeriodPoint>, MetricStoreError> {
        let Some(series_id) = self.series_id(&request.scope, &request.identity) else {
            return Ok(Vec::new());
        };
        self.read_series(series_id, request.unit, request.start_ms, request.end_ms, request.period_s).await
    }

    /// Like [`MetricStore::read`], by series id.
    pub async fn read_series(
        &self,
        series_id: u64,
        unit: Option<Unit>,
        start_ms: i64,
        end_ms: i64,
        period_s: u32,
    ) -> Result<Vec<PeriodPoint>, MetricStoreError> {
        let mut periods = Periods::new(start_ms, end_ms, period_s);
        let view = {
            let head = self.head.lock();
            if let Some(points) = head.series.get(&series_id) {
                periods.add_series(points, unit);
            }
            self.view.read().clone()
        };
        if let Some(flushing) = &view.flushing
            && let Some(points) = flushing.series.get(&series_id)
        {
            periods.add_series(points, unit);
        }
        for block in &view.blocks {
            if block.record.max_ts < start_ms || block.record.min_ts >= end_ms {
                continue;
            }
            for chunk in block.chunks_of(series_id, start_ms, end_ms) {
                if unit.is_some_and(|wanted| wanted != chunk.track.unit) {
                    continue;
                }
                let bytes = self.objects.get_range(&block.record.path, chunk.offset..chunk.offset + chunk.len).await?;
                let points = block::decode_chunk(&bytes, chunk.track).map_err(|error| MetricStoreError::Block {
                    path: block.record.path.clone(),
                    reason: error.to_string(),
                })?;
                for (start, summary) in &points {
                    periods.add(*start, summary, chunk.track.unit);
                }
            }
        }
        Ok(periods.finish())
    }

    /// Writes the head to block files and releases the WAL behind them.
    pub async fn flush(&self) -> Result<(), MetricStoreError> {
        let _flushing = self.flush_lock.lock().await;
        let old = {
            let mut head = self.head.lock();
            if head.is_empty() {
                return Ok(());
            }
            let applied = head.applied_lsn;
            let old = Arc::new(std::mem::take(&mut *head));
            head.applied_lsn = applied;
            self.view.write().flushing = Some(Arc::clone(&old));
            old
        };
        let result = self.write_blocks(&old).await;
        if result.is_err() {
            // Put the points back so reads and the next flush see them.
            let mut head = self.head.lock();
            for (series_id, tracks) in &old.series {
                let series = head.series.entry(*series_id).or_default();
                for (key, points) in tracks {
                    let target = series.entry(*key).or_default();
                    for (start, summary) in points {
                        target.entry(*start).or_default().merge(summary);
                    }
                }
            }
            self.view.write().flushing = None;
        }
        result
    }

    async fn write_blocks(&self, old: &Arc<Head>) -> Result<(), MetricStoreError> {
        let flushed_lsn = old.applied_lsn;
        let building = Arc::clone(old);
        let built = blocking(move || Ok::<_, MetricStoreError>(building.by_day().into_iter().map(|(day, tracks)| (day, block::build(&tracks))).collect::<Vec<_>>())).await?;
        let mut records = Vec::with_capacity(built.len());
        let mut loaded = Vec::with_capacity(built.len());
        for (day_start, built) in built {
            let block = self.persist_block(day_label(day_start), built, 0).await?;
            records.push(block.record.clone());
            loaded.push(Arc::new(block));
        }
        let catalog = Arc::clone(&self.catalog);
        let committing = records.clone();
        blocking(move || catalog.commit_blocks(&committing, &[], Some(flushed_lsn)).map_err(MetricStoreError::from)).await?;
        {
            let mut view = self.view.write();
            view.blocks.extend(loaded);
            view.flushing = None;
        }
        self.wal.release_before(flushed_lsn + 1)?;
        info!(blocks = records.len(), points = old.points(), flushed_lsn, "metrics flushed");
        Ok(())
    }

    /// Writes a built block file durably under a fresh id and describes it
    /// (not yet committed to the catalog).
    pub(super) async fn persist_block(&self, day: String, built: BuiltBlock, level: u32) -> Result<LoadedBlock, MetricStoreError> {
        let catalog = Arc::clone(&self.catalog);
        let id = blocking(move || catalog.next_block_id().map_err(MetricStoreError::from)).await?;
        let path = format!("metrics/dt={day}/{id:016}.block");
        let file_bytes = self.objects.put_durable(&path, built.bytes).await?;
        let record =
            BlockRecord { id, path, day, min_ts: built.min_ts, max_ts: built.max_ts, points: built.points, file_bytes, level };
        Ok(block::load(record, built.chunks))
    }

    /// Flushes and closes the WAL (shutdown).
    pub async fn close(&self) -> Result<(), MetricStoreError> {
        self.flush().await?;
        self.wal.close()?;
        Ok(())
    }

    pub fn is_healthy(&self) -> bool {
        !self.wal.is_failed()
    }

    /// Bytes in block files, and points in them (for benchmarks).
    pub fn block_usage(&self) -> (u64, u64) {
        let view = self.view.read();
        view.blocks.iter().fold((0, 0), |(bytes, points), block| (bytes + block.record.file_bytes, points + block.record.points))
    }
}

/// Merges bucket summaries into periods.
struct Periods {
    start_ms: i64,
    end_ms: i64,
    period_ms: i64,
    /// period start → (merged summary, unit of its first bucket, units differ)
    merged: BTreeMap<i64, (Summary, Unit, bool)>,
}

impl Periods {
    fn new(start_ms: i64, end_ms: i64, period_s: u32) -> Periods {
        Periods { start_ms, end_ms, period_ms: i64::from(period_s.max(1)) * 1000, merged: BTreeMap::new() }
    }

    fn add_series(&mut self, points: &SeriesPoints, unit: Option<Unit>) {
        for ((point_unit, _), buckets) in points {
            if unit.is_some_and(|wanted| wanted != *point_unit) {
                continue;
            }
            for (start, summary) in buckets.range(self.start_ms..self.end_ms) {
                self.add(*start, summary, *point_unit);
            }
        }
    }

    fn add(&mut self, bucket_start: i64, summary: &Summary, unit: Unit) {
        if bucket_start < self.start_ms || bucket_start >= self.end_ms {
            return;
        }
        let period = self.start_ms + (bucket_start - self.start_ms) / self.period_ms * self.period_ms;
        let entry = self.merged.entry(period).or_insert_with(|| (Summary::new(), unit, false));
        entry.0.merge(summary);
        if entry.1 != unit {
            entry.2 = true;
        }
    }

    fn finish(self) -> Vec<PeriodPoint> {
        self.merged
            .into_iter()
            .filter(|(_, (summary, _, _))| !summary.is_empty())
            .map(|(start_ms, (summary, unit, mixed))| PeriodPoint {
                start_ms,
                summary,
                unit: if mixed { Unit::NONE } else { unit },
            })
            .collect()
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, MetricStoreError> + Send + 'static,
) -> Result<T, MetricStoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| MetricStoreError::Task(error.to_string()))?
}

