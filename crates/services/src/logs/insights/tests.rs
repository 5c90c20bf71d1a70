//! The table over a real store: memtables and segment files, hidden events,
//! pruning by time, tokens and a TopK's dynamic filter.

use std::sync::Arc;

use argus_core::{ManualClock, SharedClock};
use argus_query::insights::{self, exec};
use argus_storage::SqliteCatalog;
use argus_storage::logs::{GroupSpec, LogStore, LogStoreOptions, NewEvent, Scope};
use argus_storage::objects::ObjectStorage;
use argus_storage::wal::{FsyncPolicy, WalOptions};

use super::table::{EventsTable, GroupSource};

struct Fixture {
    store: Arc<LogStore>,
    group: u64,
    _dir: tempfile::TempDir,
}

const BASE: i64 = 1_764_000_000_000;
/// Flushed: 70,000 events (three row groups), one a second; then 10 in the memtable.
const FLUSHED: i64 = 70_000;

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Arc::new(SqliteCatalog::open(&dir.path().join("catalog.sqlite")).expect("catalog"));
    let objects = ObjectStorage::local(&dir.path().join("objects")).expect("objects");
    let mut wal = WalOptions::new(dir.path().join("wal"));
    wal.fsync = FsyncPolicy::Never;
    let clock: SharedClock = Arc::new(ManualClock::new());
    let mut options = LogStoreOptions::new(clock);
    options.check_interval = std::time::Duration::from_secs(3600);
    let store = LogStore::open(catalog, objects, wal, options).await.expect("store");
    let scope = Scope::new("000000000000", "us-east-1");
    let group = store.create_group(&scope, "/app", GroupSpec::default(), BASE).await.expect("group").id;
    let stream = store.create_stream(group, "a", BASE).await.expect("stream").id;
    let gone = store.create_stream(group, "gone", BASE).await.expect("stream").id;
    for chunk in (0..FLUSHED).collect::<Vec<_>>().chunks(10_000) {
        let events = chunk
            .iter()
            .map(|&i| NewEvent { timestamp: BASE + i * 1000, message: if i == 40_000 { format!("needlessly complicated {i}") } else { format!("hay {i}") } })
            .collect();
        store.append(group, stream, events, BASE).await.expect("append");
    }
    store.append(group, gone, vec![NewEvent { timestamp: BASE + 5, message: "needlessly complicated, of a deleted stream".into() }], BASE).await.expect("append");
    store.flush_all().await.expect("flush");
    store.delete_stream(group, "gone").await.expect("delete stream");
    let events = (0..10).map(|i| NewEvent { timestamp: BASE + (FLUSHED + i) * 1000, message: format!("fresh {i}") }).collect();
    store.append(group, stream, events, BASE).await.expect("append");
    Fixture { store, group, _dir: dir }
}

async fn query(fixture: &Fixture, text: &str) -> (Vec<String>, exec::Statistics, u64) {
    let snapshot = fixture.store.snapshot(fixture.group).expect("snapshot");
    let table = Arc::new(EventsTable::new(vec![GroupSource { snapshot: Arc::new(snapshot), log: Arc::from("000000000000:/app") }]));
    let counters = Arc::clone(&table.counters);
    let parsed = insights::parse(text).expect("parse");
    let options = exec::RunOptions::new(BASE - 1_000_000, BASE + 100_000_000);
    let output = exec::run(&parsed, table, &options).await.expect("run");
    let rows = output.rows.iter().map(|row| row.iter().filter(|(field, _)| field != "@ptr").map(|(field, value)| format!("{field}={value}")).collect::<Vec<_>>().join(" ")).collect();
    (rows, output.statistics, counters.message_bytes.load(std::sync::atomic::Ordering::Relaxed))
}

fn hay_bytes(range: std::ops::Range<i64>) -> u64 {
    range.map(|i| format!("hay {i}").len() as u64).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_flushed_and_fresh_events_without_hidden_ones() {
    let fixture = fixture().await;
    let (rows, statistics, bytes) = query(&fixture, "stats count(*) as n").await;
    assert_eq!(rows, vec![format!("n={}", FLUSHED + 10)]);
    assert_eq!(statistics.records_scanned, u64::try_from(FLUSHED + 10).unwrap_or(0));
    // Messages are not read; their bytes come from the row-group statistics
    // (pro rata where the deleted stream's event is left out).
    let fresh: u64 = (0..10).map(|i| format!("fresh {i}").len() as u64).sum();
    let needle = "needlessly complicated 40000".len() as u64 - "hay 40000".len() as u64;
    let exact = hay_bytes(0..FLUSHED) + needle + fresh;
    assert!(bytes.abs_diff(exact) < 64, "{bytes} vs {exact}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_index_skips_row_groups() {
    let fixture = fixture().await;
    let (rows, statistics, _) = query(&fixture, "filter @message like /needlessly complicated/ | fields @message").await;
    assert_eq!(rows, vec!["@message=needlessly complicated 40000".to_string()]);
    // The second day's last row group (8,432 rows) has no needle: skipped.
    // (A one-word literal gives nothing to prune with: `like` matches
    // inside longer words, and the index holds whole tokens.)
    assert!(statistics.records_scanned < u64::try_from(FLUSHED - 8_000).unwrap_or(0), "{statistics:?}");
    assert_eq!(statistics.records_matched, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newest_first_reads_stop_early_for_a_top_k() {
    let fixture = fixture().await;
    let (rows, statistics, _) = query(&fixture, "fields @message | sort @timestamp desc | limit 3").await;
    assert_eq!(rows, vec!["@message=fresh 9", "@message=fresh 8", "@message=fresh 7"]);
    assert!(statistics.records_scanned < u64::try_from(FLUSHED).unwrap_or(0), "{statistics:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_ranges_prune_and_cut() {
    let fixture = fixture().await;
    let snapshot = fixture.store.snapshot(fixture.group).expect("snapshot");
    let table = Arc::new(EventsTable::new(vec![GroupSource { snapshot: Arc::new(snapshot), log: Arc::from("000000000000:/app") }]));
    let parsed = insights::parse("stats count(*) as n").expect("parse");
    let options = exec::RunOptions::new(BASE + 100_000, BASE + 109_999);
    let output = exec::run(&parsed, table, &options).await.expect("run");
    assert_eq!(output.rows, vec![vec![("n".to_string(), "10".to_string())]]);
    assert!(output.statistics.records_scanned == 10);
}
