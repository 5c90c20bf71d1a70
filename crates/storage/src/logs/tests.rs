//! Log store tests: writes and reads across memtables, segment files and
//! restarts.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use argus_core::{ManualClock, SharedClock};

use super::*;
use crate::catalog::SqliteCatalog;
use crate::objects::ObjectStorage;
use crate::wal::{FsyncPolicy, WalOptions};

async fn open_store(dir: &Path) -> Arc<LogStore> {
    let catalog = Arc::new(SqliteCatalog::open(&dir.join("catalog.sqlite")).expect("catalog"));
    let objects = ObjectStorage::local(&dir.join("objects")).expect("objects");
    let mut wal = WalOptions::new(dir.join("wal"));
    wal.fsync = FsyncPolicy::Never;
    let clock: SharedClock = Arc::new(ManualClock::new());
    let mut options = LogStoreOptions::new(clock);
    options.check_interval = std::time::Duration::from_secs(3600);
    LogStore::open(catalog, objects, wal, options).await.expect("open store")
}

fn scope() -> Scope {
    Scope::new("000000000000", "us-east-1")
}

fn events(range: std::ops::Range<i64>, tag: &str) -> Vec<NewEvent> {
    range.map(|ts| NewEvent { timestamp: ts, message: format!("{tag} event {ts}") }).collect()
}

fn everything(streams: &[u64]) -> ScanFilter {
    ScanFilter {
        streams: StreamFilter::Set(Arc::new(streams.iter().copied().collect::<HashSet<u64>>())),
        start_ts: i64::MIN,
        end_ts: i64::MAX,
        predicate: None,
        tokens: TokenQuery::default(),
    }
}

const ALL: PageLimits = PageLimits { max_events: usize::MAX, max_bytes: usize::MAX };

async fn read_all(store: &LogStore, group: u64, filter: ScanFilter, direction: Direction) -> Vec<StoredEvent> {
    store.read(group, filter, direction, None, ALL, |_| 0).await.expect("read").events
}

/// Pages through with `page` events per call and returns everything.
async fn read_paged(store: &LogStore, group: u64, filter: ScanFilter, direction: Direction, page: usize) -> Vec<StoredEvent> {
    let mut out: Vec<StoredEvent> = Vec::new();
    let mut after = None;
    loop {
        let limits = PageLimits { max_events: page, max_bytes: usize::MAX };
        let result = store.read(group, filter.clone(), direction, after, limits, |_| 0).await.expect("read");
        assert!(result.events.len() <= page);
        after = result.events.last().map(|event| event.key).or(after);
        out.extend(result.events);
        if !result.more {
            return out;
        }
    }
}

struct Fixture {
    group: u64,
    a: u64,
    b: u64,
}

async fn two_streams(store: &LogStore) -> Fixture {
    let group = store.create_group(&scope(), "/app/api", GroupSpec { class: "STANDARD".into(), ..Default::default() }, 1).await.expect("group");
    let a = store.create_stream(group.id, "a", 1).await.expect("a").id;
    let b = store.create_stream(group.id, "b", 1).await.expect("b").id;
    Fixture { group: group.id, a, b }
}

fn keys(events: &[StoredEvent]) -> Vec<(i64, u64)> {
    events.iter().map(|event| (event.key.timestamp, event.stream_id)).collect()
}

#[tokio::test]
async fn merges_streams_in_key_order_across_memtable_and_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    let f = two_streams(&store).await;
    store.append(f.group, f.a, events(0..50, "a"), 100).await.expect("append");
    store.append(f.group, f.b, events(25..75, "b"), 100).await.expect("append");
    store.flush_all().await.expect("flush");
    store.append(f.group, f.a, events(60..90, "a"), 200).await.expect("append");
    store.append(f.group, f.b, events(10..20, "b"), 200).await.expect("append");

    let forward = read_all(&store, f.group, everything(&[f.a, f.b]), Direction::Forward).await;
    assert_eq!(forward.len(), 140);
    assert!(forward.windows(2).all(|pair| pair[0].key < pair[1].key), "forward order");
    let mut backward = read_all(&store, f.group, everything(&[f.a, f.b]), Direction::Backward).await;
    backward.reverse();
    assert_eq!(keys(&backward), keys(&forward));

    let only_b = read_all(&store, f.group, everything(&[f.b]), Direction::Forward).await;
    assert_eq!(only_b.len(), 60);
    assert!(only_b.iter().all(|event| event.stream_id == f.b && event.message.starts_with('b')));
    let one = ScanFilter { streams: StreamFilter::One(f.a), ..everything(&[]) };
    assert_eq!(read_all(&store, f.group, one, Direction::Forward).await.len(), 80);
}

#[tokio::test]
async fn paging_in_any_page_size_equals_one_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    let f = two_streams(&store).await;
    for round in 0..6i64 {
        store.append(f.group, f.a, events(round * 7..round * 7 + 20, "a"), round).await.expect("append");
        store.append(f.group, f.b, events(round * 5..round * 5 + 9, "b"), round).await.expect("append");
        if round % 2 == 1 {
            store.flush_all().await.expect("flush");
        }
    }
    let filter = ScanFilter {
        start_ts: 3,
        end_ts: 40,
        predicate: Some(Arc::new(|message: &str| !message.ends_with('7'))),
        ..everything(&[f.a, f.b])
    };
    for direction in [Direction::Forward, Direction::Backward] {
        let whole = read_all(&store, f.group, filter.clone(), direction).await;
        assert!(!whole.is_empty());
        assert!(whole.iter().all(|event| (3..=40).contains(&event.key.timestamp) && !event.message.ends_with('7')));
        for page in [1, 2, 3, 7, 50, 1000] {
            let paged = read_paged(&store, f.group, filter.clone(), direction, page).await;
            assert_eq!(paged, whole, "page size {page} {direction:?}");
        }
    }
}

#[tokio::test]
async fn byte_limit_stops_a_page_but_always_returns_one_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    let f = two_streams(&store).await;
    store.append(f.group, f.a, events(0..10, "a"), 1).await.expect("append");
    let limits = PageLimits { max_events: 100, max_bytes: 25 };
    let page = store.read(f.group, everything(&[f.a]), Direction::Forward, None, limits, |event| event.message.len()).await.expect("read");
    assert_eq!(page.events.len(), 2, "\"a event 0\" is 9 bytes: two fit in 25");
    assert!(page.more);
    let tiny = PageLimits { max_events: 100, max_bytes: 1 };
    let page = store.read(f.group, everything(&[f.a]), Direction::Forward, None, tiny, |event| event.message.len()).await.expect("read");
    assert_eq!(page.events.len(), 1);
}

#[tokio::test]
async fn restart_replays_unflushed_events_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (group, a, b) = {
        let store = open_store(dir.path()).await;
        let f = two_streams(&store).await;
        store.append(f.group, f.a, events(0..10, "a"), 5).await.expect("append");
        store.flush_all().await.expect("flush");
        store.append(f.group, f.b, events(5..15, "b"), 6).await.expect("append");
        // No close: simulates a crash after acknowledgement (fsync policy
        // aside, the WAL file holds the records).
        (f.group, f.a, f.b)
    };
    let store = open_store(dir.path()).await;
    let all = read_all(&store, group, everything(&[a, b]), Direction::Forward).await;
    assert_eq!(all.len(), 20);
    let unique: HashSet<EventKey> = all.iter().map(|event| event.key).collect();
    assert_eq!(unique.len(), 20);
    let stream_b = store.stream(group, "b").expect("stream b");
    assert_eq!(stream_b.first_event_ms, Some(5));
    assert_eq!(stream_b.last_event_ms, Some(14));
    assert_eq!(stream_b.last_ingestion_ms, Some(6));
    assert!(stream_b.stored_bytes > 0);

    store.close().await.expect("close");
    drop(store);
    let store = open_store(dir.path()).await;
    assert_eq!(read_all(&store, group, everything(&[a, b]), Direction::Forward).await.len(), 20);
}

#[tokio::test]
async fn deleting_a_group_frees_its_files_and_a_recreated_stream_starts_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    let f = two_streams(&store).await;
    store.append(f.group, f.a, events(0..100, "a"), 1).await.expect("append");
    store.flush_all().await.expect("flush");
    let info = store.group(&scope(), "/app/api").expect("group");
    assert!(info.stored_bytes > 0);
    let files = store.objects.list("logs").await.expect("list");
    assert_eq!(files.len(), 2, "a segment and its token index: {files:?}");
    assert!(files.iter().any(|(path, _)| path.ends_with(".parquet")));
    assert!(files.iter().any(|(path, _)| path.ends_with(".parquet.tokens")));
    let on_disk: u64 = files.iter().map(|(_, size)| size).sum();
    assert_eq!(info.stored_bytes, on_disk, "flushed group bytes are its file sizes");

    store.delete_stream(f.group, "a").await.expect("delete stream");
    let again = store.create_stream(f.group, "a", 2).await.expect("recreate");
    assert_ne!(again.id, f.a);
    assert!(read_all(&store, f.group, everything(&[again.id]), Direction::Forward).await.is_empty());

    store.delete_group(&scope(), "/app/api").await.expect("delete group");
    assert!(store.objects.list("logs").await.expect("list").is_empty());
    assert!(store.group(&scope(), "/app/api").is_none());
    assert!(matches!(store.delete_group(&scope(), "/app/api").await, Err(StoreError::GroupNotFound)));
}

#[tokio::test]
async fn events_split_into_one_file_per_utc_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    let f = two_streams(&store).await;
    let day = 86_400_000;
    let batch = vec![
        NewEvent { timestamp: day - 1, message: "late".into() },
        NewEvent { timestamp: day, message: "midnight".into() },
        NewEvent { timestamp: 2 * day + 5, message: "later".into() },
    ];
    store.append(f.group, f.a, batch, 1).await.expect("append");
    store.flush_all().await.expect("flush");
    let mut files: Vec<String> = store
        .objects
        .list("logs")
        .await
        .expect("list")
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| path.ends_with(".parquet"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    assert!(files[0].contains("dt=1970-01-01"), "{files:?}");
    assert!(files[1].contains("dt=1970-01-02"));
    assert!(files[2].contains("dt=1970-01-03"));
    let read = read_all(&store, f.group, everything(&[f.a]), Direction::Forward).await;
    assert_eq!(read.iter().map(|event| event.message.as_str()).collect::<Vec<_>>(), ["late", "midnight", "later"]);
}

#[tokio::test]
async fn group_listing_pages_by_name_within_a_scope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    for name in ["/c", "/a", "/b", "/d"] {
        store.create_group(&scope(), name, GroupSpec::default(), 1).await.expect("group");
    }
    let other = Scope::new("000000000000", "eu-west-1");
    store.create_group(&other, "/a", GroupSpec::default(), 1).await.expect("same name, other region");
    assert!(matches!(store.create_group(&scope(), "/a", GroupSpec::default(), 1).await, Err(StoreError::GroupExists)));
    let (page, more) = store.list_groups(&scope(), None, |_, _| true, 2);
    assert_eq!(page.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["/a", "/b"]);
    assert!(more);
    let (page, more) = store.list_groups(&scope(), Some("/b"), |name, _| name != "/c", 2);
    assert_eq!(page.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["/d"]);
    assert!(!more);
}

#[tokio::test]
async fn token_index_pruning_never_changes_what_a_search_finds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    let f = two_streams(&store).await;
    // Three row groups' worth of events, one needle in the middle one.
    let total = 3 * 32 * 1024;
    for batch in 0..(total / 8192) {
        let events: Vec<NewEvent> = (0..8192)
            .map(|i| {
                let n = batch * 8192 + i;
                let id = if n == total / 2 { "req-1a2b3c4d-needle-9z8y7x".to_string() } else { format!("req-{n:08x}-hay-{n}") };
                NewEvent { timestamp: n as i64, message: format!("GET /items {id} ok") }
            })
            .collect();
        store.append(f.group, f.a, events, 1).await.expect("append");
    }
    store.flush_all().await.expect("flush");
    let predicate: MessagePredicate = Arc::new(|message: &str| message.contains("1a2b3c4d-needle-9z8y7x"));
    let pruned = ScanFilter {
        predicate: Some(Arc::clone(&predicate)),
        tokens: TokenQuery::from_literals([[("1a2b3c4d-needle-9z8y7x", false)]]),
        ..everything(&[f.a])
    };
    assert!(!pruned.tokens.is_empty(), "`needle` is an inner token of the literal");
    let unpruned = ScanFilter { predicate: Some(predicate), ..everything(&[f.a]) };
    let found = read_all(&store, f.group, pruned, Direction::Forward).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found, read_all(&store, f.group, unpruned, Direction::Forward).await);
    // A token that occurs nowhere: nothing found, nothing wrongly kept.
    let absent = ScanFilter {
        predicate: Some(Arc::new(|message: &str| message.contains("x-nowhere-y"))),
        tokens: TokenQuery::from_literals([[("x-nowhere-y", false)]]),
        ..everything(&[f.a])
    };
    assert!(read_all(&store, f.group, absent, Direction::Forward).await.is_empty());
}

/// Segment files (not token indexes) under the store's objects.
async fn segment_files(store: &LogStore) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> =
        store.objects.list("logs").await.expect("list").into_iter().filter(|(path, _)| path.ends_with(".parquet")).collect();
    files.sort();
    files
}

async fn disk_bytes(store: &LogStore) -> u64 {
    store.objects.list("logs").await.expect("list").iter().map(|(_, size)| size).sum()
}

async fn open_store_with_clock(dir: &Path, clock: Arc<ManualClock>) -> Arc<LogStore> {
    let catalog = Arc::new(SqliteCatalog::open(&dir.join("catalog.sqlite")).expect("catalog"));
    let objects = ObjectStorage::local(&dir.join("objects")).expect("objects");
    let mut wal = WalOptions::new(dir.join("wal"));
    wal.fsync = FsyncPolicy::Never;
    let mut options = LogStoreOptions::new(clock);
    options.check_interval = std::time::Duration::from_secs(3600);
    options.maintenance_interval = std::time::Duration::from_secs(3600);
    LogStore::open(catalog, objects, wal, options).await.expect("open store")
}

#[tokio::test]
async fn retention_hides_expired_events_at_once_and_maintenance_deletes_their_files() {
    use argus_core::Clock;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new());
    let store = open_store_with_clock(dir.path(), Arc::clone(&clock)).await;
    let f = two_streams(&store).await;
    let day = 86_400_000;
    let now = clock.now_millis();
    // Three days of events, one file per day; the middle day straddles nothing.
    for days_ago in [10, 5, 1] {
        let start = now - days_ago * day;
        store.append(f.group, f.a, events(start..start + 100, "a"), now).await.expect("append");
    }
    store.flush_all().await.expect("flush");
    assert_eq!(segment_files(&store).await.len(), 3);
    let before = store.group(&scope(), "/app/api").expect("group").stored_bytes;

    store.set_retention(&scope(), "/app/api", Some(7)).await.expect("retention");
    let visible = read_all(&store, f.group, everything(&[f.a, f.b]), Direction::Forward).await;
    assert_eq!(visible.len(), 200, "the 10-day-old events are hidden before any file is touched");
    assert!(visible.iter().all(|event| event.key.timestamp >= now - 7 * day));

    store.maintain(false).await.expect("maintain");
    assert_eq!(segment_files(&store).await.len(), 2, "the expired day's file is gone");
    let after = store.group(&scope(), "/app/api").expect("group").stored_bytes;
    assert!(after < before, "stored bytes went down: {before} -> {after}");
    assert_eq!(after, disk_bytes(&store).await);

    // Time passes: the 5-day-old file expires too.
    clock.advance(3 * day);
    assert_eq!(read_all(&store, f.group, everything(&[f.a]), Direction::Forward).await.len(), 100);
    store.maintain(false).await.expect("maintain");
    assert_eq!(segment_files(&store).await.len(), 1);
}

#[tokio::test]
async fn a_file_straddling_the_retention_boundary_is_rewritten_without_the_old_events() {
    use argus_core::Clock;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new());
    let store = open_store_with_clock(dir.path(), Arc::clone(&clock)).await;
    let f = two_streams(&store).await;
    let hour = 3_600_000;
    let now = clock.now_millis();
    // 48 events an hour apart, ending now: a retention of 1 day keeps about half.
    let batch: Vec<NewEvent> = (0..24).map(|i| NewEvent { timestamp: now - (47 - i) * hour, message: format!("old {i}") }).collect();
    store.append(f.group, f.a, batch, now).await.expect("append");
    let batch: Vec<NewEvent> = (24..48).map(|i| NewEvent { timestamp: now - (47 - i) * hour, message: format!("new {i}") }).collect();
    store.append(f.group, f.a, batch, now).await.expect("append");
    store.flush_all().await.expect("flush");
    store.set_retention(&scope(), "/app/api", Some(1)).await.expect("retention");
    store.maintain(false).await.expect("maintain");
    let cutoff = now - 24 * hour;
    // Reopen: what is on disk, not the read filter, must now hold only kept events.
    store.close().await.expect("close");
    drop(store);
    store_reopened_holds_only(dir.path(), f.group, f.a, cutoff).await;
}

async fn store_reopened_holds_only(dir: &Path, group: u64, stream: u64, oldest: i64) {
    let store = open_store(dir).await;
    store.set_retention(&scope(), "/app/api", None).await.expect("no retention");
    let all = read_all(&store, group, everything(&[stream]), Direction::Forward).await;
    assert!(!all.is_empty());
    assert!(all.iter().all(|event| event.key.timestamp >= oldest), "no expired event is left in any file");
}

#[tokio::test]
async fn deleted_streams_give_their_disk_space_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    let f = two_streams(&store).await;
    store.append(f.group, f.a, events(0..5000, "a-event with some padding to take space"), 1).await.expect("append");
    store.append(f.group, f.b, events(0..5000, "b"), 1).await.expect("append");
    store.flush_all().await.expect("flush");
    let before = disk_bytes(&store).await;
    store.delete_stream(f.group, "a").await.expect("delete");
    store.maintain(false).await.expect("maintain");
    let after = disk_bytes(&store).await;
    assert!(after < before, "the deleted stream's share is gone: {before} -> {after}");
    assert_eq!(store.group(&scope(), "/app/api").expect("group").stored_bytes, after);
    assert_eq!(store.stream(f.group, "b").expect("b").stored_bytes, after, "what is left is all b's");
    assert_eq!(read_all(&store, f.group, everything(&[f.b]), Direction::Forward).await.len(), 5000);
    store.delete_stream(f.group, "b").await.expect("delete");
    store.maintain(false).await.expect("maintain");
    assert_eq!(disk_bytes(&store).await, 0, "no live stream left: every file deleted");
}

#[tokio::test]
async fn compaction_bounds_the_file_count_and_keeps_every_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path()).await;
    let f = two_streams(&store).await;
    for round in 0..20i64 {
        store.append(f.group, f.a, events(round * 100..round * 100 + 100, "a"), round).await.expect("append");
        store.append(f.group, f.b, events(round * 100 + 50..round * 100 + 120, "b"), round).await.expect("append");
        store.flush_all().await.expect("flush");
        store.maintain(false).await.expect("maintain");
        // Size-tiered: never more than fanout - 1 files per level and day.
        assert!(segment_files(&store).await.len() < 8 * 2, "{} files", segment_files(&store).await.len());
    }
    let expected = read_all(&store, f.group, everything(&[f.a, f.b]), Direction::Forward).await;
    assert_eq!(expected.len(), 20 * 170);
    assert!(expected.windows(2).all(|pair| pair[0].key < pair[1].key));
    store.maintain(true).await.expect("settle");
    assert_eq!(segment_files(&store).await.len(), 1, "a settled day is one file");
    assert_eq!(read_all(&store, f.group, everything(&[f.a, f.b]), Direction::Forward).await, expected);
    store.close().await.expect("close");
    drop(store);
    let reopened = open_store(dir.path()).await;
    assert_eq!(read_all(&reopened, f.group, everything(&[f.a, f.b]), Direction::Forward).await, expected);
    assert_eq!(reopened.group(&scope(), "/app/api").expect("group").stored_bytes, disk_bytes(&reopened).await);
}
