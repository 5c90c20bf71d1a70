//! Bytes per stored datapoint for regular 1-minute data.
//!
//! Per kind of values (`data.rs`), a fresh server gets `--storage-series`
//! series × `--days` days of one value a minute, published in time order
//! (every series at minute 0, then minute 1, …, 1,000 entries a request) as
//! an exporter backfilling a week would; then `POST /_argus/flush`, `POST
//! /_argus/compact`, and the block files under `objects/metrics/` are
//! measured (a delta, so `--endpoint` works too). The physical references:
//! the raw stream of 16 bytes a point (i64 milliseconds + f64, series after
//! series, time order) and zstd over it.
//!
//! A live server does not see a week at once: it flushes its head every 10
//! minutes. The "live layout" publishes `--live-days` of gauge data 10
//! minutes at a time with a flush after each, and measures the same way.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::super::report::thousands;
use super::data::{
    DAY_MINUTES, Kind, MAX_DATA_PER_REQUEST, MINUTE_S, Series, put_metric_data_body,
};
use super::report::Step;
use super::{MetricsArgs, Target, now_seconds, publish};

/// A live server flushes its metrics head every 10 minutes.
const LIVE_FLUSH_MINUTES: i64 = 10;

#[derive(Debug, Serialize)]
pub struct StorageSection {
    pub series_per_kind: usize,
    pub days: i64,
    pub kinds: Vec<KindResult>,
    pub live: Option<LiveResult>,
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct KindResult {
    pub kind: Kind,
    pub description: &'static str,
    pub datapoints: u64,
    pub publish_seconds: f64,
    pub flush: Step,
    pub compact: Step,
    pub idle_after: bool,
    /// Block files and bytes under `objects/metrics/` this kind added; `None` without a data dir.
    pub blocks: Option<BlockUsage>,
    pub bytes_per_datapoint: Option<f64>,
    /// Raw stream, 16 bytes a point.
    pub raw_bytes: u64,
    pub zstd: Vec<ZstdReference>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct BlockUsage {
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct ZstdReference {
    pub level: i32,
    pub bytes: u64,
    pub bytes_per_datapoint: f64,
}

#[derive(Debug, Serialize)]
pub struct LiveResult {
    pub days: i64,
    pub series: usize,
    pub datapoints: u64,
    pub flushes: u64,
    pub seconds: f64,
    pub flush_seconds: f64,
    pub after_flushes: Option<BlockUsage>,
    pub after_compact: Option<BlockUsage>,
    pub compact: Step,
    pub bytes_per_datapoint_after_flushes: Option<f64>,
    pub bytes_per_datapoint_after_compact: Option<f64>,
}

/// The storage section's report, and the server holding the gauge data
/// for the read sections.
pub struct StorageOutcome {
    pub report: StorageSection,
    pub gauge: Option<GaugeData>,
}

/// A server holding the gauge series of one value a minute over
/// `[start_s, end_s)`, flushed to block files.
pub struct GaugeData {
    pub target: Target,
    pub namespace: String,
    pub start_s: i64,
    pub end_s: i64,
}

/// Every series at minute 0, then every series at minute 1, …; entry `e`
/// is series `e mod series` at minute `e / series` from `start_s`.
#[derive(Clone)]
struct TimeOrder {
    kind: Kind,
    namespace: String,
    series: Arc<Vec<Series>>,
    start_s: i64,
    entries: usize,
}

impl TimeOrder {
    fn requests(&self) -> usize {
        self.entries.div_ceil(MAX_DATA_PER_REQUEST)
    }

    fn body(&self, number: usize) -> anyhow::Result<(Vec<u8>, u64)> {
        let count = self.series.len();
        let first = number * MAX_DATA_PER_REQUEST;
        let last = (first + MAX_DATA_PER_REQUEST).min(self.entries);
        let mut entries = Vec::with_capacity(last.saturating_sub(first));
        for entry in first..last {
            let index = entry % count;
            let timestamp = self.start_s + i64::try_from(entry / count)? * MINUTE_S;
            let Some(series) = self.series.get(index) else {
                anyhow::bail!("series {index} out of range");
            };
            entries.push((
                series,
                timestamp,
                self.kind.value(index, timestamp / MINUTE_S),
            ));
        }
        let datapoints = entries.len() as u64;
        Ok((put_metric_data_body(&self.namespace, &entries)?, datapoints))
    }
}

pub async fn run(args: &MetricsArgs, run_id: u128) -> anyhow::Result<StorageOutcome> {
    let now_s = now_seconds()?;
    // Whole hours, all in the past: the read sections ask for aligned periods.
    let end_s = now_s - now_s.rem_euclid(3_600);
    let start_s = end_s - args.days * DAY_MINUTES * MINUTE_S;
    let minutes = usize::try_from(args.days * DAY_MINUTES)?;
    let mut section = StorageSection {
        series_per_kind: args.storage_series,
        days: args.days,
        kinds: Vec::new(),
        live: None,
        errors: Vec::new(),
    };
    let mut gauge = None;
    for (position, &kind) in args.kinds.iter().enumerate() {
        let target = Target::open(args).await?;
        let namespace = format!("Argus/Bench/{run_id}/Storage/{}", kind.label());
        let order = TimeOrder {
            kind,
            namespace: namespace.clone(),
            series: Arc::new(
                (0..args.storage_series)
                    .map(|index| kind.series(index))
                    .collect(),
            ),
            start_s,
            entries: args.storage_series * minutes,
        };
        let before = target.data_dir().map(metric_blocks);
        eprintln!(
            "  {}: {} datapoints in {} requests",
            kind.label(),
            thousands(order.entries as f64),
            order.requests()
        );
        let requests = order.requests();
        let publishing = order.clone();
        let published = publish(&target, args.connections, requests, move |number| {
            publishing.body(number)
        })
        .await?;
        section.errors.extend(published.errors.iter().cloned());
        let flush = target.admin("flush").await?;
        target.settle().await;
        let compact = target.admin("compact").await?;
        let idle_after = target.settle().await;
        let blocks = target
            .data_dir()
            .map(metric_blocks)
            .zip(before)
            .map(|(after, before)| BlockUsage {
                files: after.files.saturating_sub(before.files),
                bytes: after.bytes.saturating_sub(before.bytes),
            });
        let datapoints = published.datapoints;
        let raw = raw_stream(kind, args.storage_series, start_s, minutes);
        let mut zstd = Vec::with_capacity(args.zstd_levels.len());
        for &level in &args.zstd_levels {
            let compressed = zstd::bulk::compress(&raw, level)?;
            zstd.push(ZstdReference {
                level,
                bytes: compressed.len() as u64,
                bytes_per_datapoint: compressed.len() as f64 / datapoints.max(1) as f64,
            });
        }
        let result = KindResult {
            kind,
            description: kind.description(),
            datapoints,
            publish_seconds: published.seconds,
            flush,
            compact,
            idle_after,
            bytes_per_datapoint: blocks.map(|usage| usage.bytes as f64 / datapoints.max(1) as f64),
            blocks,
            raw_bytes: raw.len() as u64,
            zstd,
        };
        eprintln!(
            "    published in {:.1} s ({} datapoints/s); {}",
            result.publish_seconds,
            thousands(datapoints as f64 / result.publish_seconds.max(f64::EPSILON)),
            result
                .bytes_per_datapoint
                .map_or("no data dir to measure".to_owned(), |bytes| format!(
                    "{bytes:.3} B/datapoint in block files"
                )),
        );
        section.kinds.push(result);
        if position == 0 && kind == Kind::Gauge {
            gauge = Some(GaugeData {
                target,
                namespace,
                start_s,
                end_s,
            });
        } else {
            let mut target = target;
            section.errors.extend(target.close()?);
        }
    }
    if args.live_days > 0 {
        section.live = Some(live_layout(args, run_id, end_s, &mut section.errors).await?);
    }
    Ok(StorageOutcome {
        report: section,
        gauge,
    })
}

/// Gauge data as a live server receives it: 10 minutes of every series,
/// then a flush, over `--live-days` days ending at `end_s`.
async fn live_layout(
    args: &MetricsArgs,
    run_id: u128,
    end_s: i64,
    errors: &mut Vec<String>,
) -> anyhow::Result<LiveResult> {
    let mut target = Target::open(args).await?;
    let kind = Kind::Gauge;
    let series = Arc::new(
        (0..args.storage_series)
            .map(|index| kind.series(index))
            .collect::<Vec<_>>(),
    );
    let namespace = format!("Argus/Bench/{run_id}/Live");
    let start_s = end_s - args.live_days * DAY_MINUTES * MINUTE_S;
    let slices = args.live_days * DAY_MINUTES / LIVE_FLUSH_MINUTES;
    eprintln!(
        "  live layout: {} days of {} gauge series, a flush after every {LIVE_FLUSH_MINUTES} minutes of data ({slices} flushes)",
        args.live_days, args.storage_series
    );
    let before = target.data_dir().map(metric_blocks);
    let started = Instant::now();
    let mut flush_seconds = 0.0;
    let mut datapoints = 0;
    for slice in 0..slices {
        let order = TimeOrder {
            kind,
            namespace: namespace.clone(),
            series: Arc::clone(&series),
            start_s: start_s + slice * LIVE_FLUSH_MINUTES * MINUTE_S,
            entries: args.storage_series * usize::try_from(LIVE_FLUSH_MINUTES)?,
        };
        let requests = order.requests();
        let published = publish(&target, args.connections, requests, move |number| {
            order.body(number)
        })
        .await?;
        datapoints += published.datapoints;
        if !published.errors.is_empty() {
            errors.extend(published.errors);
            break;
        }
        flush_seconds += target.admin("flush").await?.seconds;
    }
    let seconds = started.elapsed().as_secs_f64();
    target.settle().await;
    let delta = |before: Option<BlockUsage>, after: Option<BlockUsage>| {
        after.zip(before).map(|(after, before)| BlockUsage {
            files: after.files.saturating_sub(before.files),
            bytes: after.bytes.saturating_sub(before.bytes),
        })
    };
    let after_flushes = delta(before, target.data_dir().map(metric_blocks));
    let compact = target.admin("compact").await?;
    target.settle().await;
    let after_compact = delta(before, target.data_dir().map(metric_blocks));
    errors.extend(target.close()?);
    let per_point = |usage: Option<BlockUsage>| {
        usage.map(|usage| usage.bytes as f64 / datapoints.max(1) as f64)
    };
    let result = LiveResult {
        days: args.live_days,
        series: args.storage_series,
        datapoints,
        flushes: u64::try_from(slices)?,
        seconds,
        flush_seconds,
        bytes_per_datapoint_after_flushes: per_point(after_flushes),
        bytes_per_datapoint_after_compact: per_point(after_compact),
        after_flushes,
        after_compact,
        compact,
    };
    eprintln!(
        "    {:.1} s ({:.1} s in flushes); {} B/datapoint after the flushes, {} after compaction",
        result.seconds,
        result.flush_seconds,
        result
            .bytes_per_datapoint_after_flushes
            .map_or("?".to_owned(), |bytes| format!("{bytes:.3}")),
        result
            .bytes_per_datapoint_after_compact
            .map_or("?".to_owned(), |bytes| format!("{bytes:.3}")),
    );
    Ok(result)
}

/// The raw stream of a kind's points: per series, in time order, i64
/// milliseconds then f64, little-endian.
fn raw_stream(kind: Kind, series: usize, start_s: i64, minutes: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity(series * minutes * 16);
    for index in 0..series {
        for minute in 0..minutes {
            let timestamp_s = start_s + minute as i64 * MINUTE_S;
            raw.extend_from_slice(&(timestamp_s * 1_000).to_le_bytes());
            raw.extend_from_slice(&kind.value(index, timestamp_s / MINUTE_S).to_le_bytes());
        }
    }
    raw
}

/// Files and bytes under `<data dir>/objects/metrics/`.
fn metric_blocks(data_dir: &Path) -> BlockUsage {
    let mut usage = BlockUsage::default();
    tally(&data_dir.join("objects").join("metrics"), &mut usage);
    usage
}

fn tally(dir: &Path, usage: &mut BlockUsage) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_dir() {
            tally(&entry.path(), usage);
        } else {
            usage.files += 1;
            usage.bytes += metadata.len();
        }
    }
}

impl StorageSection {
    pub fn to_text(&self, text: &mut String) {
        let _ = writeln!(
            text,
            "Bytes per stored datapoint — {} series × {} days of 1-minute data per kind (target ≤ 2 B)",
            self.series_per_kind, self.days
        );
        for kind in &self.kinds {
            let blocks = match (kind.blocks, kind.bytes_per_datapoint) {
                (Some(blocks), Some(per_point)) => format!(
                    "{per_point:.3} B/datapoint ({} bytes in {} block files)",
                    thousands(blocks.bytes as f64),
                    blocks.files
                ),
                _ => "block files not measured (no data dir)".to_owned(),
            };
            let references: Vec<String> = kind
                .zstd
                .iter()
                .map(|reference| {
                    format!(
                        "zstd -{} {:.3} B",
                        reference.level, reference.bytes_per_datapoint
                    )
                })
                .collect();
            let _ = writeln!(text, "  {:<9} {blocks}", kind.kind.label());
            let _ = writeln!(
                text,
                "            raw 16 B/datapoint; {}; {} datapoints published in {:.1} s; {} {:.2} s, {} {:.2} s{}",
                references.join(", "),
                thousands(kind.datapoints as f64),
                kind.publish_seconds,
                kind.flush.method,
                kind.flush.seconds,
                kind.compact.method,
                kind.compact.seconds,
                if kind.idle_after {
                    ""
                } else {
                    " (server not idle after)"
                }
            );
            let _ = writeln!(text, "            values: {}", kind.description);
        }
        if let Some(live) = &self.live {
            let show = |usage: Option<BlockUsage>, per_point: Option<f64>| match (usage, per_point)
            {
                (Some(usage), Some(per_point)) => {
                    format!("{per_point:.3} B/datapoint ({} files)", usage.files)
                }
                _ => "not measured".to_owned(),
            };
            let _ = writeln!(
                text,
                "  live layout, {} day(s) of {} gauge series with {} flushes ({:.1} s, {:.1} s of them flushing): {} after the flushes, {} after {}",
                live.days,
                live.series,
                live.flushes,
                live.seconds,
                live.flush_seconds,
                show(live.after_flushes, live.bytes_per_datapoint_after_flushes),
                show(live.after_compact, live.bytes_per_datapoint_after_compact),
                live.compact.method
            );
        }
    }
}
