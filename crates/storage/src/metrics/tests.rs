//! Metric store tests: flushes, the maintenance pass (roll-ups, retention,
//! merging) and restarts, on a temporary directory with a manual clock.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use argus_core::{Clock, ManualClock, SharedClock};

use super::head::bucket_start;
use super::stats::Statistic;
use super::*;
use crate::catalog::SqliteCatalog;
use crate::objects::ObjectStorage;
use crate::wal::{FsyncPolicy, WalOptions};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

async fn open_store(dir: &Path, clock: &Arc<ManualClock>) -> Arc<MetricStore> {
    let catalog = Arc::new(SqliteCatalog::open(&dir.join("catalog.sqlite")).expect("catalog"));
    let objects = ObjectStorage::local(&dir.join("objects")).expect("objects");
    let mut wal = WalOptions::new(dir.join("wal"));
    wal.fsync = FsyncPolicy::Never;
    let shared: SharedClock = Arc::clone(clock) as SharedClock;
    MetricStore::open(catalog, objects, wal, MetricStoreOptions::new(shared)).await.expect("open store")
}

fn scope() -> MetricScope {
    MetricScope { account: "000000000000".into(), region: "us-east-1".into() }
}

fn identity(name: &str) -> MetricIdentity {
    MetricIdentity::new("App", name, vec![("Host".to_string(), "a".to_string())])
}

fn unit(name: &str) -> Unit {
    Unit::parse(name).expect("unit")
}

async fn put(store: &MetricStore, name: &str, unit: Unit, resolution_s: u8, points: Vec<(i64, SampleValue)>) {
    let data = points
        .into_iter()
        .map(|(timestamp_ms, value)| NewDatum { identity: identity(name), unit, resolution_s, timestamp_ms, value })
        .collect();
    store.put(&scope(), data).await.expect("put");
}

async fn read(store: &MetricStore, name: &str, unit: Option<Unit>, start_ms: i64, end_ms: i64, period_s: u32) -> Vec<PeriodPoint> {
    let request = ReadRequest { scope: scope(), identity: identity(name), unit, start_ms, end_ms, period_s };
    store.read(&request).await.expect("read")
}

/// What roll-ups must keep exactly: per period start, SampleCount, Sum,
/// Minimum, Maximum and the unit.
type Basics = Vec<(i64, f64, f64, Option<f64>, Option<f64>, Unit)>;

fn basics(points: &[PeriodPoint]) -> Basics {
    points
        .iter()
        .map(|point| {
            let summary = &point.summary;
            (point.start_ms, summary.sample_count(), summary.sum(), summary.minimum(), summary.maximum(), point.unit)
        })
        .collect()
}

fn levels(store: &MetricStore) -> Vec<(String, u32)> {
    let mut levels: Vec<(String, u32)> =
        store.view.read().blocks.iter().map(|block| (block.record.day.clone(), block.record.level)).collect();
    levels.sort();
    levels
}

async fn files_on_disk(store: &MetricStore) -> Vec<String> {
    let mut paths: Vec<String> = store.objects.list("metrics").await.expect("list").into_iter().map(|(path, _)| path).collect();
    paths.sort();
    paths
}

fn paths_in_view(store: &MetricStore) -> Vec<String> {
    let mut paths: Vec<String> = store.view.read().blocks.iter().map(|block| block.record.path.clone()).collect();
    paths.sort();
    paths
}

/// Deterministic whole numbers spread over three decades (latency-like).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let uniform = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        (10f64.powf(1.0 + 3.0 * uniform)).round()
    }
}

/// Nearest rank, as `stats/README.md` defines percentiles.
fn oracle_percentile(sorted: &[f64], percent: f64) -> f64 {
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

fn assert_percentiles(point: &PeriodPoint, values: &[f64]) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    for percent in [50.0, 99.0] {
        let stat: Statistic = format!("p{percent}").parse().expect("statistic");
        let expected = oracle_percentile(&sorted, percent);
        let got = point.summary.compute(&stat).expect("a percentile");
        let error = (got - expected).abs() / expected;
        assert!(error <= 0.01, "p{percent} at {}: {got} vs exact {expected}", point.start_ms);
    }
}

#[tokio::test]
async fn high_resolution_buckets_roll_up_into_minutes_after_three_hours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new());
    let store = open_store(dir.path(), &clock).await;
    let (millis, count) = (unit("Milliseconds"), unit("Count"));
    let start = bucket_start(clock.now_millis(), HOUR) - 2 * HOUR;
    let end = start + 10 * MINUTE;

    let mut numbers = Numbers(7);
    let mut per_minute: Vec<Vec<f64>> = vec![Vec::new(); 10];
    let mut high_res = Vec::new();
    for second in 0..600 {
        let values: Vec<(f64, f64)> = (0..5).map(|_| (numbers.next(), 1.0)).collect();
        per_minute[(second / 60) as usize].extend(values.iter().map(|(value, _)| *value));
        high_res.push((start + second * SECOND + 250, SampleValue::Values(values)));
    }
    put(&store, "Latency", millis, 1, high_res).await;
    // The same metric in another unit at standard resolution.
    let standard = (0..10).map(|minute| (start + minute * MINUTE, SampleValue::Single(minute as f64))).collect();
    put(&store, "Latency", count, 60, standard).await;
    store.flush().await.expect("flush");
    assert_eq!(levels(&store).iter().map(|(_, level)| *level).collect::<Vec<_>>(), vec![0]);

    let by_second = read(&store, "Latency", Some(millis), start, end, 1).await;
    assert_eq!(by_second.len(), 600);
    let by_minute_ms = read(&store, "Latency", Some(millis), start, end, 60).await;
    let by_minute_count = read(&store, "Latency", Some(count), start, end, 60).await;
    let by_minute_all = read(&store, "Latency", None, start, end, 60).await;

    // Not yet 3 hours old: nothing is due, the single block stays.
    let report = store.maintain().await.expect("maintain");
    assert_eq!(report.blocks_removed, 0);

    clock.advance(3 * HOUR + 10 * MINUTE);
    let report = store.maintain().await.expect("maintain");
    assert_eq!((report.days_rewritten, report.blocks_removed, report.blocks_written), (1, 1, 1));
    assert_eq!(levels(&store).iter().map(|(_, level)| *level).collect::<Vec<_>>(), vec![2], "finest width is now 1 minute");

    let after = read(&store, "Latency", Some(millis), start, end, 1).await;
    assert_eq!(after.len(), 10, "one bucket a minute is left");
    assert!(after.iter().all(|point| point.start_ms % MINUTE == 0));
    assert_eq!(basics(&read(&store, "Latency", Some(millis), start, end, 60).await), basics(&by_minute_ms));
    assert_eq!(basics(&read(&store, "Latency", Some(count), start, end, 60).await), basics(&by_minute_count));
    assert_eq!(basics(&read(&store, "Latency", None, start, end, 60).await), basics(&by_minute_all));
    for (point, values) in after.iter().zip(&per_minute) {
        assert_eq!(point.unit, millis);
        assert_percentiles(point, values);
    }
    assert_eq!(files_on_disk(&store).await, paths_in_view(&store), "the replaced block file is deleted");
}

#[tokio::test]
async fn standard_data_rolls_up_to_five_minutes_then_hours_then_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new());
    let store = open_store(dir.path(), &clock).await;
    let bytes = unit("Bytes");
    // Yesterday 06:00–09:00 UTC, one datum of 20 values a minute.
    let start = bucket_start(clock.now_millis(), DAY) - DAY + 6 * HOUR;
    let end = start + 3 * HOUR;
    let mut numbers = Numbers(11);
    let mut per_hour: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut data = Vec::new();
    for minute in 0..180 {
        let values: Vec<(f64, f64)> = (0..20).map(|_| (numbers.next(), 1.0)).collect();
        per_hour[(minute / 60) as usize].extend(values.iter().map(|(value, _)| *value));
        data.push((start + minute * MINUTE + 30 * SECOND, SampleValue::Values(values)));
    }
    put(&store, "Payload", bytes, 60, data).await;
    store.flush().await.expect("flush");
    let by_five_minutes = basics(&read(&store, "Payload", None, start, end, 300).await);
    let by_hour = basics(&read(&store, "Payload", None, start, end, 3600).await);
    let all: Vec<f64> = per_hour.concat();

    clock.advance(16 * DAY);
    let report = store.maintain().await.expect("maintain");
    assert_eq!(report.days_rewritten, 1);
    assert_eq!(levels(&store).iter().map(|(_, level)| *level).collect::<Vec<_>>(), vec![3]);
    let finest = read(&store, "Payload", None, start, end, 60).await;
    assert_eq!(finest.len(), 36);
    assert!(finest.iter().all(|point| point.start_ms % (5 * MINUTE) == 0));
    assert_eq!(basics(&read(&store, "Payload", None, start, end, 300).await), by_five_minutes);
    let hours = read(&store, "Payload", None, start, end, 3600).await;
    assert_eq!(basics(&hours), by_hour);
    for (point, values) in hours.iter().zip(&per_hour) {
        assert_percentiles(point, values);
    }
    assert_percentiles(&read(&store, "Payload", None, start, end, 3 * 3600).await[0], &all);

    // Nothing more is due until 63 days: the pass leaves the block alone.
    let report = store.maintain().await.expect("maintain");
    assert_eq!(report.blocks_removed, 0);

    clock.advance(48 * DAY);
    store.maintain().await.expect("maintain");
    assert_eq!(levels(&store).iter().map(|(_, level)| *level).collect::<Vec<_>>(), vec![4]);
    let finest = read(&store, "Payload", None, start, end, 300).await;
    assert_eq!(finest.iter().map(|point| point.start_ms).collect::<Vec<_>>(), vec![start, start + HOUR, start + 2 * HOUR]);
    let hours = read(&store, "Payload", None, start, end, 3600).await;
    assert_eq!(basics(&hours), by_hour);
    for (point, values) in hours.iter().zip(&per_hour) {
        assert_eq!(point.unit, bytes);
        assert_percentiles(point, values);
    }
    assert_percentiles(&read(&store, "Payload", None, start, end, 3 * 3600).await[0], &all);

    // Past 455 days: gone from reads, the catalog and the disk.
    clock.advance(392 * DAY);
    let report = store.maintain().await.expect("maintain");
    assert_eq!((report.days_expired, report.blocks_removed, report.files_deleted), (1, 1, 1));
    assert!(read(&store, "Payload", None, start, end, 3600).await.is_empty());
    assert!(store.view.read().blocks.is_empty());
    assert!(store.catalog.load_blocks().expect("blocks").is_empty());
    assert!(files_on_disk(&store).await.is_empty());
}

#[tokio::test]
async fn a_days_flushes_merge_into_one_block_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new());
    let store = open_store(dir.path(), &clock).await;
    let (count, seconds) = (unit("Count"), unit("Seconds"));
    let older = bucket_start(clock.now_millis(), DAY) - 3 * DAY;
    let newer = older + DAY;

    // Four flushes into one day, two into the day before; the same minutes
    // get data in several flushes, so buckets are split across blocks.
    for flush in 0..4i64 {
        let data = (0..90).map(|minute| (newer + minute * MINUTE, SampleValue::Single((flush * 7 + minute % 5) as f64))).collect();
        put(&store, "Requests", count, 60, data).await;
        let other = (0..30).map(|minute| (newer + (flush * 30 + minute) * MINUTE, SampleValue::Single(0.5))).collect();
        put(&store, "Requests", seconds, 60, other).await;
        if flush < 2 {
            let data = (0..60).map(|minute| (older + minute * MINUTE, SampleValue::Single((flush + minute) as f64))).collect();
            put(&store, "Requests", count, 60, data).await;
        }
        store.flush().await.expect("flush");
    }
    assert_eq!(levels(&store).len(), 6);
    let range = (older, newer + DAY);
    let mut before = Vec::new();
    for (unit, period) in [(None, 60), (Some(count), 60), (Some(seconds), 300), (None, 86_400)] {
        before.push(read(&store, "Requests", unit, range.0, range.1, period).await);
    }
    let old_files = files_on_disk(&store).await;

    let report = store.maintain().await.expect("maintain");
    assert_eq!(
        (report.days_rewritten, report.blocks_removed, report.blocks_written, report.files_deleted, report.files_pending),
        (2, 6, 2, 6, 0)
    );
    assert_eq!(report.points_read, 4 * (90 + 30) + 2 * 60);
    assert_eq!(report.points_written, 90 + 120 + 60);
    let days: Vec<String> = levels(&store).into_iter().map(|(day, level)| format!("{day}@{level}")).collect();
    assert_eq!(days.len(), 2);
    assert!(days.iter().all(|day| day.ends_with("@2")), "{days:?}");
    let new_files = files_on_disk(&store).await;
    assert_eq!(new_files, paths_in_view(&store));
    assert!(new_files.iter().all(|path| !old_files.contains(path)));

    let mut after = Vec::new();
    for (unit, period) in [(None, 60), (Some(count), 60), (Some(seconds), 300), (None, 86_400)] {
        after.push(read(&store, "Requests", unit, range.0, range.1, period).await);
    }
    assert_eq!(after, before);

    // A merged day with one block is not rewritten again for nothing.
    let report = store.maintain().await.expect("maintain");
    assert_eq!(report, MaintenanceReport::default());

    // A late flush into a merged day: merged again on the next pass.
    put(&store, "Requests", count, 60, vec![(newer + 5 * HOUR, SampleValue::Single(3.0))]).await;
    store.flush().await.expect("flush");
    let report = store.maintain().await.expect("maintain");
    assert_eq!((report.days_rewritten, report.blocks_removed), (1, 2));
    let late = read(&store, "Requests", None, range.0, range.1, 86_400).await;
    assert_eq!(late[1].summary.sample_count(), before[3][1].summary.sample_count() + 1.0);
    let reference: Vec<Vec<PeriodPoint>> = {
        let mut reads = Vec::new();
        for (unit, period) in [(None, 60), (Some(count), 300), (None, 86_400)] {
            reads.push(read(&store, "Requests", unit, range.0, range.1, period).await);
        }
        reads
    };
    let paths = paths_in_view(&store);

    store.close().await.expect("close");
    drop(store);
    let store = open_store(dir.path(), &clock).await;
    assert_eq!(paths_in_view(&store), paths);
    assert_eq!(files_on_disk(&store).await, paths);
    let mut reopened = Vec::new();
    for (unit, period) in [(None, 60), (Some(count), 300), (None, 86_400)] {
        reopened.push(read(&store, "Requests", unit, range.0, range.1, period).await);
    }
    assert_eq!(reopened, reference);
}

#[tokio::test]
async fn a_replaced_block_file_stays_until_no_reader_holds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new());
    let store = open_store(dir.path(), &clock).await;
    let day = bucket_start(clock.now_millis(), DAY) - DAY;
    for flush in 0..2 {
        put(&store, "Held", Unit::NONE, 60, vec![(day + flush * MINUTE, SampleValue::Single(1.0))]).await;
        store.flush().await.expect("flush");
    }
    let old_paths = paths_in_view(&store);
    // What a read in progress holds.
    let held = store.view.read().blocks.clone();

    let report = store.maintain().await.expect("maintain");
    assert_eq!((report.blocks_removed, report.files_deleted, report.files_pending), (2, 0, 2));
    for block in &held {
        let file = store.objects.get_range(&block.record.path, 0..block.record.file_bytes).await;
        assert!(file.is_ok(), "a held block's file is still readable");
    }
    drop(held);
    let report = store.maintain().await.expect("maintain");
    assert_eq!((report.files_deleted, report.files_pending), (2, 0));
    let on_disk = files_on_disk(&store).await;
    assert!(old_paths.iter().all(|path| !on_disk.contains(path)));
    assert_eq!(on_disk, paths_in_view(&store));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_during_maintenance_never_fail_and_see_all_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new());
    let store = open_store(dir.path(), &clock).await;
    let start = bucket_start(clock.now_millis(), DAY) - 2 * DAY;
    let end = start + 2 * DAY;
    for flush in 0..6i64 {
        let data = (0..400).map(|step| (start + (flush * 400 + step) * MINUTE, SampleValue::Single((step % 11) as f64))).collect();
        put(&store, "Busy", Unit::NONE, 60, data).await;
        store.flush().await.expect("flush");
    }
    // Hourly periods come out the same whatever the roll-ups did.
    let expected = basics(&read(&store, "Busy", None, start, end, 3600).await);
    assert!(!expected.is_empty());

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, stop, expected) = (Arc::clone(&store), Arc::clone(&stop), expected.clone());
        tokio::spawn(async move {
            let mut reads = 0u64;
            while !stop.load(Ordering::Acquire) || reads == 0 {
                let request = ReadRequest { scope: scope(), identity: identity("Busy"), unit: None, start_ms: start, end_ms: end, period_s: 3600 };
                let points = store.read(&request).await.expect("a read during maintenance");
                assert_eq!(basics(&points), expected);
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        })
    };
    for advance in [0, 16 * DAY, 48 * DAY] {
        clock.advance(advance);
        store.maintain().await.expect("maintain");
    }
    stop.store(true, Ordering::Release);
    let reads = reader.await.expect("reader");
    assert!(reads > 0);
    // Whatever readers held is deleted by a later pass.
    store.maintain().await.expect("maintain");
    assert_eq!(files_on_disk(&store).await, paths_in_view(&store));
    assert_eq!(levels(&store).iter().map(|(_, level)| *level).collect::<Vec<_>>(), vec![4, 4]);
}

#[tokio::test]
async fn block_files_the_catalog_does_not_know_are_removed_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new());
    let store = open_store(dir.path(), &clock).await;
    put(&store, "Kept", Unit::NONE, 60, vec![(clock.now_millis() - HOUR, SampleValue::Single(1.0))]).await;
    store.close().await.expect("close");
    let kept = paths_in_view(&store);
    store.objects.put_durable("metrics/dt=2020-01-01/0000000000009999.block", bytes::Bytes::from_static(b"orphan")).await.expect("put");
    drop(store);
    let store = open_store(dir.path(), &clock).await;
    assert_eq!(files_on_disk(&store).await, kept);
}
