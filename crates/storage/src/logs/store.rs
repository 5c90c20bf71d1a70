//! [`LogStore`]: the registry of groups and streams and the write and read
//! entry points. Flushing lives in `flush.rs`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use argus_core::SharedClock;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tracing::{info, warn};

use super::memtable::{Memtable, SharedMemtable};
use super::scan::{self, PageLimits};
use super::segment::{self, Segment};
use super::record::{self, BatchIndex};
use super::{Direction, EventKey, GroupInfo, NewEvent, ScanFilter, ScanPage, Scope, StoreError, StoredEvent, StreamInfo};
use crate::background::BackgroundPool;
use crate::catalog::{Catalog, CatalogError, GroupRecord, NewGroup, StreamStats, Tags};
use crate::objects::ObjectStorage;
use crate::wal::{Wal, WalOptions};

/// When memtables are flushed to segment files.
#[derive(Debug, Clone)]
pub struct LogStoreOptions {
    /// Flush a group once its active memtable holds about this many bytes.
    pub group_flush_bytes: usize,
    /// Flush the largest groups while all memtables together hold more.
    pub total_flush_bytes: usize,
    /// Appends wait while memtables hold more than this (flush is behind).
    pub total_hard_limit_bytes: usize,
    /// Flush a memtable once it is this old, so the WAL can be released.
    pub flush_age: Duration,
    /// Flush the groups holding the oldest records once the WAL is this big.
    pub wal_flush_bytes: u64,
    /// How often the flusher looks, besides being woken by appends.
    pub check_interval: Duration,
    /// How often retention, deleted-stream cleanup and compaction run.
    pub maintenance_interval: Duration,
    /// A day's files are merged into their final form once it has had no
    /// new file for this long.
    pub compact_settle: Duration,
    /// Merge a day's files of one level once there are this many.
    pub compact_fanout: usize,
    /// Rows per file at most after compaction.
    pub max_segment_rows: u64,
    pub clock: SharedClock,
}

impl LogStoreOptions {
    pub fn new(clock: SharedClock) -> LogStoreOptions {
        LogStoreOptions {
            group_flush_bytes: 64 << 20,
            total_flush_bytes: 192 << 20,
            total_hard_limit_bytes: 320 << 20,
            flush_age: Duration::from_secs(300),
            wal_flush_bytes: 1 << 30,
            check_interval: Duration::from_secs(1),
            maintenance_interval: Duration::from_secs(10),
            compact_settle: Duration::from_secs(600),
            compact_fanout: 8,
            max_segment_rows: 4 * 1024 * 1024,
            clock,
        }
    }
}

/// Settings of a new log group.
#[derive(Debug, Clone, Default)]
pub struct GroupSpec {
    pub retention_days: Option<i32>,
    pub class: String,
    pub kms_key_id: Option<String>,
    pub deletion_protection: bool,
    pub tags: Tags,
}

#[derive(Debug, Clone)]
pub(super) struct GroupMeta {
    pub retention_days: Option<i32>,
    pub class: String,
    pub kms_key_id: Option<String>,
    pub deletion_protection: bool,
    pub tags: Tags,
}

#[derive(Debug, Default)]
pub(super) struct StreamRuntime {
    pub stats: StreamStats,
    pub flushed_bytes: u64,
    pub unflushed_bytes: u64,
}

#[derive(Debug)]
pub(super) struct Stream {
    pub id: u64,
    pub name: Arc<str>,
    pub created_ms: i64,
    pub runtime: Mutex<StreamRuntime>,
}

#[derive(Debug, Default)]
pub(super) struct Streams {
    pub by_name: BTreeMap<String, Arc<Stream>>,
    pub by_id: HashMap<u64, Arc<Stream>>,
}

#[derive(Debug)]
pub(super) struct GroupData {
    pub active: SharedMemtable,
    /// Memtables being flushed, oldest first; still readable.
    pub frozen: Vec<SharedMemtable>,
    pub segments: Vec<Arc<Segment>>,
    pub segment_bytes: u64,
}

impl GroupData {
    pub fn memtables(&self) -> Vec<SharedMemtable> {
        let mut all = self.frozen.clone();
        all.push(Arc::clone(&self.active));
        all
    }
}

#[derive(Debug)]
pub(super) struct Group {
    pub id: u64,
    pub scope: Scope,
    pub name: String,
    pub created_ms: i64,
    pub meta: RwLock<GroupMeta>,
    pub streams: RwLock<Streams>,
    pub data: RwLock<GroupData>,
    pub deleted: AtomicBool,
    /// Every WAL record of this group up to here is in segment files.
    pub flushed_lsn: AtomicU64,
    /// One flush of this group at a time.
    pub flush_lock: tokio::sync::Mutex<()>,
    /// One maintenance pass (retention, compaction) of this group at a time.
    pub maintain_lock: tokio::sync::Mutex<()>,
}

impl Group {
    fn from_record(record: GroupRecord) -> Group {
        Group {
            id: record.id,
            scope: Scope::new(record.account, record.region),
            name: record.name,
            created_ms: record.created_ms,
            meta: RwLock::new(GroupMeta {
                retention_days: record.retention_days,
                class: record.class,
                kms_key_id: record.kms_key_id,
                deletion_protection: record.deletion_protection,
                tags: record.tags,
            }),
            streams: RwLock::new(Streams::default()),
            data: RwLock::new(GroupData {
                active: Arc::new(RwLock::new(Memtable::new())),
                frozen: Vec::new(),
                segments: Vec::new(),
                segment_bytes: 0,
            }),
            deleted: AtomicBool::new(false),
            flushed_lsn: AtomicU64::new(record.flushed_lsn),
            flush_lock: tokio::sync::Mutex::new(()),
            maintain_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn info(&self) -> GroupInfo {
        let meta = self.meta.read().clone();
        let stored_bytes = {
            let data = self.data.read();
            data.segment_bytes + data.memtables().iter().map(|table| table.read().wal_bytes()).sum::<u64>()
        };
        GroupInfo {
            id: self.id,
            name: self.name.clone(),
            created_ms: self.created_ms,
            retention_days: meta.retention_days,
            class: meta.class,
            kms_key_id: meta.kms_key_id,
            deletion_protection: meta.deletion_protection,
            tags: meta.tags,
            stored_bytes,
        }
    }

    pub fn stream_name(&self, stream_id: u64) -> Option<Arc<str>> {
        self.streams.read().by_id.get(&stream_id).map(|stream| Arc::clone(&stream.name))
    }

    /// Inserts a durable WAL record's events; runs on the WAL writer thread
    /// in LSN order. Returns the memory the memtable grew by.
    fn apply(&self, lsn: u64, stream: &Stream, batch: &BatchIndex, payload: Bytes) -> usize {
        if self.deleted.load(Ordering::Acquire) {
            return 0;
        }
        let wal_bytes = payload.len() as u64 + crate::wal::RECORD_OVERHEAD;
        let data = self.data.read();
        let mut active = data.active.write();
        let before = active.memory_bytes();
        active.insert(lsn, batch, payload, wal_bytes);
        let added = active.memory_bytes() - before;
        drop(active);
        drop(data);
        let mut runtime = stream.runtime.lock();
        runtime.unflushed_bytes += wal_bytes;
        if let (Some(first), Some(last)) = (batch.events.first(), batch.events.last()) {
            runtime.stats.merge(&StreamStats {
                first_event_ms: Some(first.timestamp),
                last_event_ms: Some(last.timestamp),
                last_ingestion_ms: Some(batch.ingestion_ms),
            });
        }
        added
    }
}

impl Stream {
    fn info(&self, group_id: u64) -> StreamInfo {
        let runtime = self.runtime.lock();
        StreamInfo {
            id: self.id,
            group_id,
            name: self.name.to_string(),
            created_ms: self.created_ms,
            first_event_ms: runtime.stats.first_event_ms,
            last_event_ms: runtime.stats.last_event_ms,
            last_ingestion_ms: runtime.stats.last_ingestion_ms,
            stored_bytes: runtime.flushed_bytes + runtime.unflushed_bytes,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Registry {
    pub by_id: HashMap<u64, Arc<Group>>,
    pub by_name: BTreeMap<Scope, BTreeMap<String, Arc<Group>>>,
}

impl Registry {
    fn insert(&mut self, group: Arc<Group>) {
        self.by_name.entry(group.scope.clone()).or_default().insert(group.name.clone(), Arc::clone(&group));
        self.by_id.insert(group.id, group);
    }
}

/// The log event store. Cheap to share: wrap it in an `Arc`.
pub struct LogStore {
    pub(super) catalog: Arc<dyn Catalog>,
    pub(super) objects: ObjectStorage,
    pub(super) wal: Wal,
    pub(super) registry: RwLock<Registry>,
    pub(super) options: LogStoreOptions,
    /// Bytes held by all memtables.
    pub(super) memtable_bytes: Arc<AtomicUsize>,
    /// Every WAL record up to here is in a memtable or a segment (or was
    /// dropped because its group or stream is gone). The WAL is never
    /// released past it: a record between fsync and memtable insert is only
    /// in the WAL.
    pub(super) applied_lsn: Arc<AtomicU64>,
    pub(super) flush_wanted: Arc<Notify>,
    pub(super) flushed: Notify,
    pub(super) closing: AtomicBool,
    pub(super) flusher: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Low-priority threads for building segment files.
    pub(super) background: BackgroundPool,
    /// Replaced segments whose files are deleted once no reader holds them.
    pub(super) obsolete: Mutex<Vec<Arc<Segment>>>,
    pub(super) maintainer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CatalogError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join| StoreError::Unavailable(format!("catalog task failed: {join}")))?
        .map_err(StoreError::from)
}

impl LogStore {
    /// Loads the catalog, replays the WAL into memtables and starts the
    /// flusher. Must run inside a tokio runtime.
    pub async fn open(
        catalog: Arc<dyn Catalog>,
        objects: ObjectStorage,
        wal_options: WalOptions,
        options: LogStoreOptions,
    ) -> Result<Arc<LogStore>, StoreError> {
        let (groups, streams, segments) = {
            let catalog = Arc::clone(&catalog);
            blocking(move || Ok((catalog.load_groups()?, catalog.load_streams()?, catalog.load_segments()?))).await?
        };
        let mut registry = Registry::default();
        for record in groups {
            registry.insert(Arc::new(Group::from_record(record)));
        }
        for record in streams {
            let Some(group) = registry.by_id.get(&record.group_id) else { continue };
            let stream = Arc::new(Stream {
                id: record.id,
                name: Arc::from(record.name.as_str()),
                created_ms: record.created_ms,
                runtime: Mutex::new(StreamRuntime { stats: record.stats, flushed_bytes: 0, unflushed_bytes: 0 }),
            });
            let mut group_streams = group.streams.write();
            group_streams.by_id.insert(stream.id, Arc::clone(&stream));
            group_streams.by_name.insert(record.name, stream);
        }
        let mut known_paths = std::collections::HashSet::new();
        for record in segments {
            let Some(group) = registry.by_id.get(&record.group_id) else { continue };
            known_paths.insert(segment::tokens_path(&record.path));
            known_paths.insert(record.path.clone());
            {
                let streams = group.streams.read();
                for share in &record.streams {
                    if let Some(stream) = streams.by_id.get(&share.stream_id) {
                        stream.runtime.lock().flushed_bytes += share.bytes;
                    }
                }
            }
            let mut data = group.data.write();
            data.segment_bytes += record.file_bytes + record.index_bytes;
            data.segments.push(Arc::new(Segment::new(record, objects.clone())));
        }

        let registry = Arc::new(RwLock::new(registry));
        let memtable_bytes = Arc::new(AtomicUsize::new(0));
        let from_lsn = registry.read().by_id.values().map(|group| group.flushed_lsn.load(Ordering::Acquire)).min().unwrap_or(0) + 1;
        let wal = {
            let registry = Arc::clone(&registry);
            let memtable_bytes = Arc::clone(&memtable_bytes);
            tokio::task::spawn_blocking(move || {
                let mut replayed = 0u64;
                let wal = Wal::open(wal_options, from_lsn, |lsn, payload| {
                    match replay_record(&registry.read(), lsn, payload) {
                        Ok(added) => {
                            memtable_bytes.fetch_add(added, Ordering::AcqRel);
                            replayed += 1;
                        }
                        Err(reason) => warn!(lsn, %reason, "skipping WAL record"),
                    }
                });
                if replayed > 0 {
                    info!(records = replayed, "replayed write-ahead log");
                }
                wal
            })
            .await
            .map_err(|join| StoreError::Unavailable(format!("WAL replay failed: {join}")))??
        };
        let registry = Arc::try_unwrap(registry).map_err(|_| StoreError::Unavailable("registry still shared".into()))?;

        let applied_lsn = Arc::new(AtomicU64::new(wal.last_lsn()));
        let store = Arc::new(LogStore {
            catalog,
            objects,
            wal,
            registry,
            options,
            memtable_bytes,
            applied_lsn,
            flush_wanted: Arc::new(Notify::new()),
            flushed: Notify::new(),
            closing: AtomicBool::new(false),
            flusher: Mutex::new(None),
            background: BackgroundPool::new("argus-flush", 1),
            obsolete: Mutex::new(Vec::new()),
            maintainer: Mutex::new(None),
        });
        store.remove_orphan_files(&known_paths).await;
        let flusher = tokio::spawn(LogStore::flusher_loop(
            Arc::downgrade(&store),
            Arc::clone(&store.flush_wanted),
            store.options.check_interval,
        ));
        *store.flusher.lock() = Some(flusher);
        let maintainer =
            tokio::spawn(LogStore::maintenance_loop(Arc::downgrade(&store), store.options.maintenance_interval));
        *store.maintainer.lock() = Some(maintainer);
        Ok(store)
    }

    /// Deletes a segment file and its token index. A failure is logged:
    /// files the catalog no longer names are removed at the next start.
    pub(super) async fn delete_segment_files(&self, path: &str) {
        for file in [segment::tokens_path(path), path.to_string()] {
            if let Err(error) = self.objects.delete(&file).await {
                warn!(path = %file, %error, "could not delete a segment file; it is removed at next start");
            }
        }
    }

    /// Deletes segment files that no catalog row names (a crash between
    /// writing a file and committing it leaves one behind).
    async fn remove_orphan_files(&self, known: &std::collections::HashSet<String>) {
        let listed = match self.objects.list("logs").await {
            Ok(listed) => listed,
            Err(error) => {
                warn!(%error, "could not list segment files to remove orphans");
                return;
            }
        };
        for (path, _) in listed {
            if !known.contains(&path) {
                warn!(%path, "removing segment file that the catalog does not know");
                if let Err(error) = self.objects.delete(&path).await {
                    warn!(%path, %error, "could not remove orphan segment file");
                }
            }
        }
    }

    pub(super) fn group_by_id(&self, group_id: u64) -> Result<Arc<Group>, StoreError> {
        self.registry.read().by_id.get(&group_id).cloned().ok_or(StoreError::GroupNotFound)
    }

    fn group_by_name(&self, scope: &Scope, name: &str) -> Result<Arc<Group>, StoreError> {
        self.registry.read().by_name.get(scope).and_then(|groups| groups.get(name)).cloned().ok_or(StoreError::GroupNotFound)
    }

    pub fn group(&self, scope: &Scope, name: &str) -> Option<GroupInfo> {
        self.group_by_name(scope, name).ok().map(|group| group.info())
    }

    /// Groups of a scope in name order, starting after `after`, keeping
    /// those `keep(name, class)` accepts, at most `limit`. The flag says
    /// whether more accepted groups follow.
    pub fn list_groups(
        &self,
        scope: &Scope,
        after: Option<&str>,
        keep: impl Fn(&str, &str) -> bool,
        limit: usize,
    ) -> (Vec<GroupInfo>, bool) {
        let registry = self.registry.read();
        let Some(groups) = registry.by_name.get(scope) else {
            return (Vec::new(), false);
        };
        let start = match after {
            Some(name) => Bound::Excluded(name.to_string()),
            None => Bound::Unbounded,
        };
        let mut out = Vec::new();
        for (name, group) in groups.range((start, Bound::Unbounded)) {
            if !keep(name, &group.meta.read().class) {
                continue;
            }
            if out.len() == limit {
                return (out, true);
            }
            out.push(group.info());
        }
        (out, false)
    }

    pub async fn create_group(&self, scope: &Scope, name: &str, spec: GroupSpec, created_ms: i64) -> Result<GroupInfo, StoreError> {
        let id = {
            let catalog = Arc::clone(&self.catalog);
            let (scope, name, spec) = (scope.clone(), name.to_string(), spec.clone());
            blocking(move || {
                catalog.insert_group(&NewGroup {
                    account: &scope.account,
                    region: &scope.region,
                    name: &name,
                    created_ms,
                    retention_days: spec.retention_days,
                    class: &spec.class,
                    kms_key_id: spec.kms_key_id.as_deref(),
                    deletion_protection: spec.deletion_protection,
                    tags: &spec.tags,
                })
            })
            .await
            .map_err(|error| match error {
                StoreError::Catalog(CatalogError::AlreadyExists) => StoreError::GroupExists,
                other => other,
            })?
        };
        let group = Arc::new(Group::from_record(GroupRecord {
            id,
            account: scope.account.clone(),
            region: scope.region.clone(),
            name: name.to_string(),
            created_ms,
            retention_days: spec.retention_days,
            class: spec.class,
            kms_key_id: spec.kms_key_id,
            deletion_protection: spec.deletion_protection,
            tags: spec.tags,
            flushed_lsn: 0,
        }));
        let info = group.info();
        self.registry.write().insert(group);
        Ok(info)
    }

    /// Deletes a group, its streams and its events, and frees their disk
    /// space.
    pub async fn delete_group(&self, scope: &Scope, name: &str) -> Result<(), StoreError> {
        let group = self.group_by_name(scope, name)?;
        let paths = {
            let catalog = Arc::clone(&self.catalog);
            let id = group.id;
            blocking(move || catalog.delete_group(id)).await?
        };
        group.deleted.store(true, Ordering::Release);
        {
            let mut registry = self.registry.write();
            registry.by_id.remove(&group.id);
            if let Some(groups) = registry.by_name.get_mut(scope) {
                groups.remove(name);
            }
        }
        let released: usize = group.data.read().memtables().iter().map(|table| table.read().memory_bytes()).sum();
        self.memtable_bytes.fetch_sub(released.min(self.memtable_bytes.load(Ordering::Acquire)), Ordering::AcqRel);
        {
            let mut data = group.data.write();
            data.active = Arc::new(RwLock::new(Memtable::new()));
            data.frozen.clear();
            data.segments.clear();
            data.segment_bytes = 0;
        }
        for path in paths {
            self.delete_segment_files(&path).await;
        }
        self.release_wal();
        Ok(())
    }

    pub async fn set_retention(&self, scope: &Scope, name: &str, days: Option<i32>) -> Result<(), StoreError> {
        let group = self.group_by_name(scope, name)?;
        let catalog = Arc::clone(&self.catalog);
        let id = group.id;
        blocking(move || catalog.set_retention(id, days)).await?;
        group.meta.write().retention_days = days;
        Ok(())
    }

    /// Replaces a group's tags with `tags`.
    pub async fn set_tags(&self, scope: &Scope, name: &str, tags: Tags) -> Result<(), StoreError> {
        let group = self.group_by_name(scope, name)?;
        let catalog = Arc::clone(&self.catalog);
        let id = group.id;
        let stored = tags.clone();
        blocking(move || catalog.set_tags(id, &stored)).await?;
        group.meta.write().tags = tags;
        Ok(())
    }

    pub async fn create_stream(&self, group_id: u64, name: &str, created_ms: i64) -> Result<StreamInfo, StoreError> {
        let group = self.group_by_id(group_id)?;
        let id = {
            let catalog = Arc::clone(&self.catalog);
            let name = name.to_string();
            blocking(move || catalog.insert_stream(group_id, &name, created_ms)).await.map_err(|error| match error {
                StoreError::Catalog(CatalogError::AlreadyExists) => StoreError::StreamExists,
                other => other,
            })?
        };
        let stream = Arc::new(Stream {
            id,
            name: Arc::from(name),
            created_ms,
            runtime: Mutex::new(StreamRuntime::default()),
        });
        let info = stream.info(group_id);
        let mut streams = group.streams.write();
        streams.by_id.insert(id, Arc::clone(&stream));
        streams.by_name.insert(name.to_string(), stream);
        Ok(info)
    }

    pub async fn delete_stream(&self, group_id: u64, name: &str) -> Result<(), StoreError> {
        let group = self.group_by_id(group_id)?;
        let stream = group.streams.read().by_name.get(name).cloned().ok_or(StoreError::StreamNotFound)?;
        let catalog = Arc::clone(&self.catalog);
        let id = stream.id;
        blocking(move || catalog.delete_stream(id)).await?;
        let mut streams = group.streams.write();
        streams.by_name.remove(name);
        streams.by_id.remove(&stream.id);
        Ok(())
    }

    pub fn stream(&self, group_id: u64, name: &str) -> Option<StreamInfo> {
        let group = self.group_by_id(group_id).ok()?;
        let stream = group.streams.read().by_name.get(name).cloned()?;
        Some(stream.info(group_id))
    }

    /// Every stream of a group, in name order.
    pub fn list_streams(&self, group_id: u64) -> Result<Vec<StreamInfo>, StoreError> {
        let group = self.group_by_id(group_id)?;
        let streams = group.streams.read();
        Ok(streams.by_name.values().map(|stream| stream.info(group_id)).collect())
    }

    /// Appends events (chronological, already validated) to a stream and
    /// returns once they are durable.
    pub async fn append(&self, group_id: u64, stream_id: u64, events: Vec<NewEvent>, ingestion_ms: i64) -> Result<(), StoreError> {
        if self.closing.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the server is shutting down".into()));
        }
        let group = self.group_by_id(group_id)?;
        let stream = group.streams.read().by_id.get(&stream_id).cloned().ok_or(StoreError::StreamNotFound)?;
        self.wait_for_memtable_room().await;
        let payload = Bytes::from(record::encode(group_id, stream_id, ingestion_ms, &events));
        drop(events);
        let batch = record::index(&payload).map_err(|error| StoreError::Unavailable(format!("encoding a batch: {error}")))?;
        let kept = payload.clone();
        let memtable_bytes = Arc::clone(&self.memtable_bytes);
        let applied_lsn = Arc::clone(&self.applied_lsn);
        let flush_wanted = Arc::clone(&self.flush_wanted);
        let group_flush_bytes = self.options.group_flush_bytes;
        self.wal
            .append(payload, move |lsn| {
                let added = group.apply(lsn, &stream, &batch, kept);
                memtable_bytes.fetch_add(added, Ordering::AcqRel);
                applied_lsn.fetch_max(lsn, Ordering::AcqRel);
                let group_bytes = group.data.read().active.read().memory_bytes();
                if group_bytes >= group_flush_bytes {
                    flush_wanted.notify_one();
                }
            })
            .await?;
        Ok(())
    }

    async fn wait_for_memtable_room(&self) {
        while self.memtable_bytes.load(Ordering::Acquire) > self.options.total_hard_limit_bytes {
            self.flush_wanted.notify_one();
            let flushed = self.flushed.notified();
            if tokio::time::timeout(Duration::from_millis(100), flushed).await.is_err() {
                warn!("appends are waiting for memtable flushes to catch up");
            }
        }
    }

    /// One page of a group's events matching `filter`, in `direction`
    /// order, starting after `after`. `cost` prices an event against
    /// `limits.max_bytes`.
    pub async fn read(
        &self,
        group_id: u64,
        filter: ScanFilter,
        direction: Direction,
        after: Option<EventKey>,
        limits: PageLimits,
        cost: impl Fn(&StoredEvent) -> usize,
    ) -> Result<ScanPage, StoreError> {
        let group = self.group_by_id(group_id)?;
        let mut filter = filter;
        // Expired events are never returned, even before maintenance
        // deletes them.
        filter.start_ts = filter.start_ts.max(self.retention_cutoff(&group));
        let (memtables, segments) = {
            let data = group.data.read();
            (data.memtables(), data.segments.clone())
        };
        Ok(scan::scan(memtables, segments, Arc::new(filter), direction, after, limits, cost).await?)
    }

    /// Bytes of WAL segment files on disk.
    pub fn wal_disk_bytes(&self) -> u64 {
        self.wal.disk_bytes()
    }

    /// Whether writes can be accepted (false after a failed fsync).
    pub fn is_healthy(&self) -> bool {
        !self.wal.is_failed()
    }
}

fn replay_record(registry: &Registry, lsn: u64, payload: &[u8]) -> Result<usize, String> {
    let batch = record::index(payload).map_err(|error| error.to_string())?;
    let Some(group) = registry.by_id.get(&batch.group_id) else {
        return Ok(0); // group deleted after this record was written
    };
    if lsn <= group.flushed_lsn.load(Ordering::Acquire) {
        return Ok(0); // already in a segment file
    }
    let Some(stream) = group.streams.read().by_id.get(&batch.stream_id).cloned() else {
        return Ok(0); // stream deleted after this record was written
    };
    Ok(group.apply(lsn, &stream, &batch, Bytes::copy_from_slice(payload)))
}
