//! What `argus bench logs-query` reports: the corpus, the load, bytes on
//! disk, the memmem reference, every query run, and issue 3's targets (and,
//! when Logs Insights queries ran, issue 6's) met or missed. Serializable for `--json`, and as a short text summary.

use std::fmt::Write as _;

use serde::Serialize;

use super::super::corpus::{COMMON_TERM, Corpus, JSON_PATTERN, Kind, SPAN_MS};
use super::super::report::thousands;
use super::load::LoadReport;
use super::queries::{MemmemReference, QueryName, QueryResult};

/// Issue 3's targets.
const NEEDLE_TARGET_MS: f64 = 300.0;
const FIRST_PAGE_TARGET_MS: f64 = 20.0;
const COUNT_TARGET_MB_PER_SECOND: f64 = 500.0;
const DISK_TARGET_PERCENT: f64 = 12.0;
/// Issue 6's targets.
const INSIGHTS_TARGETS_MS: [(QueryName, &str, f64); 4] = [
    (QueryName::InsightsCountByBin, "Insights count by bin(5m)", 1_000.0),
    (QueryName::InsightsErrorsByService, "Insights like /ERROR/ + count by service", 1_000.0),
    (QueryName::InsightsParseAvg, "Insights PACS parse + avg by bin(5m)", 2_000.0),
    (QueryName::InsightsNewest, "Insights sort desc + limit 100", 200.0),
];
const INSIGHTS_PEAK_RSS_TARGET_BYTES: u64 = 1 << 30;

/// One request that readies the data: what was done and how long it took.
#[derive(Debug, Serialize)]
pub struct Step {
    pub method: String,
    pub seconds: f64,
}

/// From loaded to measured: flush, compaction, and waiting for idle.
#[derive(Debug, Serialize)]
pub struct PrepareReport {
    pub flush: Step,
    /// Time until the server's CPU went idle after the flush.
    pub flush_settle_seconds: f64,
    /// `None` with `--no-compact`.
    pub compact: Option<Step>,
    /// Time until the server's CPU went idle after compaction.
    pub settle_seconds: f64,
    pub idle_reached: bool,
}

#[derive(Debug, Serialize)]
pub struct DiskReport {
    pub data_dir: String,
    /// Segment files and anything beside them under `objects/`.
    pub objects_bytes: u64,
    pub objects_files: u64,
    /// `objects/` by file extension: segment files (`parquet`), their token
    /// indexes (`tokens`), anything else.
    pub objects_by_extension: Vec<FileUsage>,
    /// Everything: objects, WAL, catalog.
    pub data_dir_bytes: u64,
    pub raw_bytes: u64,
    pub objects_percent_of_raw: f64,
    pub data_dir_percent_of_raw: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FileUsage {
    pub extension: String,
    pub files: u64,
    pub bytes: u64,
    pub percent_of_raw: f64,
}

#[derive(Debug, Serialize)]
pub struct KindReport {
    pub kind: Kind,
    pub description: &'static str,
    pub events: u64,
    pub share_of_events: f64,
    pub bytes: u64,
    pub mean_bytes: f64,
}

#[derive(Debug, Serialize)]
pub struct CorpusReport {
    pub seed: u64,
    pub events: u64,
    pub end_time_ms: i64,
    pub span_days: f64,
    pub message_bytes: u64,
    pub mean_message_bytes: f64,
    pub largest_message_bytes: u64,
    pub kinds: Vec<KindReport>,
    pub streams: Vec<(String, u64)>,
    pub needle: String,
    pub needle_event_index: u64,
    pub needle_timestamp_ms: i64,
    pub term: &'static str,
    pub term_events: u64,
    pub json_pattern: &'static str,
    pub json_pattern_events: u64,
    pub generate_seconds: f64,
    pub generate_events_per_second: f64,
}

/// One of issue 3's targets.
#[derive(Debug, Serialize)]
pub struct TargetCheck {
    pub figure: String,
    pub target: String,
    pub measured: Option<String>,
    /// `None` when not measured in this run.
    pub met: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct QueryReport {
    pub benchmark: &'static str,
    pub command: String,
    pub machine: String,
    pub date_utc: String,
    pub target: String,
    pub log_group: String,
    pub corpus: CorpusReport,
    pub load: Option<LoadReport>,
    pub prepare: Option<PrepareReport>,
    /// Bytes on disk right after the flush, before compaction.
    pub disk_after_flush: Option<DiskReport>,
    /// Bytes on disk when the queries ran (what the target is checked on).
    pub disk: Option<DiskReport>,
    pub memmem_reference: MemmemReference,
    pub queries: Vec<QueryResult>,
    pub targets: Vec<TargetCheck>,
    pub server_exit: Option<String>,
}

/// The pieces a report is made of.
pub struct Parts<'a> {
    pub command: String,
    pub machine: String,
    pub target: String,
    pub log_group: String,
    pub corpus: &'a Corpus,
    pub generate_seconds: f64,
    pub load: Option<LoadReport>,
    pub prepare: Option<PrepareReport>,
    pub disk_after_flush: Option<DiskReport>,
    pub disk: Option<DiskReport>,
    pub reference: MemmemReference,
    pub queries: Vec<QueryResult>,
    pub server_exit: Option<String>,
}

impl QueryReport {
    pub fn new(parts: Parts<'_>) -> Self {
        let corpus = parts.corpus;
        let stats = &corpus.stats;
        let events = stats.events.max(1) as f64;
        let kinds = stats
            .by_kind
            .iter()
            .map(|(kind, counts)| KindReport {
                kind: *kind,
                description: kind.description(),
                events: counts.events,
                share_of_events: counts.events as f64 / events,
                bytes: counts.bytes,
                mean_bytes: counts.bytes as f64 / counts.events.max(1) as f64,
            })
            .collect();
        let corpus_report = CorpusReport {
            seed: corpus.spec.seed,
            events: stats.events,
            end_time_ms: corpus.spec.end_ms,
            span_days: SPAN_MS as f64 / 86_400_000.0,
            message_bytes: stats.message_bytes,
            mean_message_bytes: stats.message_bytes as f64 / events,
            largest_message_bytes: stats.largest_message_bytes,
            kinds,
            streams: stats.by_stream.clone(),
            needle: corpus.needle.clone(),
            needle_event_index: corpus.needle_index,
            needle_timestamp_ms: corpus.timestamp_of(corpus.needle_index),
            term: COMMON_TERM,
            term_events: stats.term_events,
            json_pattern: JSON_PATTERN,
            json_pattern_events: stats.json_pattern_events,
            generate_seconds: parts.generate_seconds,
            generate_events_per_second: stats.events as f64
                / parts.generate_seconds.max(f64::EPSILON),
        };
        let targets = targets(&parts.queries, parts.disk.as_ref());
        Self {
            benchmark: "logs-query",
            command: parts.command,
            machine: parts.machine,
            date_utc: jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            target: parts.target,
            log_group: parts.log_group,
            corpus: corpus_report,
            load: parts.load,
            prepare: parts.prepare,
            disk_after_flush: parts.disk_after_flush,
            disk: parts.disk,
            memmem_reference: parts.reference,
            queries: parts.queries,
            targets,
            server_exit: parts.server_exit,
        }
    }

    /// Failed requests, wrong answers, a reference that did not find the
    /// needle exactly once: what makes the command exit non-zero. (Missed
    /// targets and timeouts are results, not failures.)
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if let Some(load) = &self.load
            && load.errors > 0
        {
            failures.push(format!("{} PutLogEvents requests failed", load.errors));
        }
        if self.memmem_reference.occurrences != 1 {
            failures.push(format!(
                "the needle occurs {} times in the corpus",
                self.memmem_reference.occurrences
            ));
        }
        for result in &self.queries {
            for (index, run) in result.runs.iter().enumerate() {
                if let Some(error) = &run.error
                    && run.elapsed_ms.is_some()
                {
                    failures.push(format!(
                        "{} run {}: {error}",
                        result.query.name.label(),
                        index + 1
                    ));
                }
            }
        }
        if let Some(exit) = &self.server_exit {
            failures.push(exit.clone());
        }
        failures
    }

    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let corpus = &self.corpus;
        let _ = writeln!(
            text,
            "argus bench logs-query — {} ({}), {}",
            self.target, self.machine, self.date_utc
        );
        let _ = writeln!(
            text,
            "  corpus        {} events, {:.1} MB of messages (mean {:.0} B, largest {} B), seed {}, {:.0} days to {}",
            thousands(corpus.events as f64),
            corpus.message_bytes as f64 / 1e6,
            corpus.mean_message_bytes,
            corpus.largest_message_bytes,
            corpus.seed,
            corpus.span_days,
            corpus.end_time_ms
        );
        for kind in &corpus.kinds {
            let _ = writeln!(
                text,
                "    {:<44} {:>6.2}% of events, {:>6.1} MB, mean {:.0} B",
                kind.description,
                100.0 * kind.share_of_events,
                kind.bytes as f64 / 1e6,
                kind.mean_bytes
            );
        }
        let _ = writeln!(
            text,
            "    `{}` in {} events ({:.2}%); `{}` matches {} events; needle {} at event {}",
            corpus.term,
            thousands(corpus.term_events as f64),
            100.0 * corpus.term_events as f64 / corpus.events.max(1) as f64,
            corpus.json_pattern,
            thousands(corpus.json_pattern_events as f64),
            corpus.needle,
            corpus.needle_event_index
        );
        let _ = writeln!(
            text,
            "    generated in {:.2} s ({} events/s)",
            corpus.generate_seconds,
            thousands(corpus.generate_events_per_second)
        );
        if let Some(load) = &self.load {
            let cpu = load
                .server_cpu_seconds
                .map(|seconds| format!(", server CPU {seconds:.1} s"))
                .unwrap_or_default();
            let _ = writeln!(
                text,
                "  load          {} events in {} batches over {} connections: {:.1} s, {} events/s, {:.1} MB/s{cpu}, {} errors",
                thousands(load.events as f64),
                thousands(load.batches as f64),
                load.connections,
                load.elapsed_seconds,
                thousands(load.events_per_second),
                load.message_mb_per_second,
                load.errors
            );
        }
        if let Some(prepare) = &self.prepare {
            let compact = match &prepare.compact {
                Some(step) => format!("{}: {:.1} s", step.method, step.seconds),
                None => "skipped (--no-compact)".to_owned(),
            };
            let _ = writeln!(
                text,
                "  prepare       {}: {:.1} s, idle after {:.1} s; {compact}, idle after {:.1} s{}",
                prepare.flush.method,
                prepare.flush.seconds,
                prepare.flush_settle_seconds,
                prepare.settle_seconds,
                if prepare.idle_reached {
                    ""
                } else {
                    " (idle not confirmed)"
                }
            );
        }
        for (label, disk) in [
            ("after flush", &self.disk_after_flush),
            ("measured", &self.disk),
        ] {
            if let Some(disk) = disk {
                let _ = writeln!(
                    text,
                    "  on disk       {label}: objects/ {:.1} MB in {} files = {:.2}% of raw; whole data dir {:.1} MB = {:.2}%",
                    disk.objects_bytes as f64 / 1e6,
                    disk.objects_files,
                    disk.objects_percent_of_raw,
                    disk.data_dir_bytes as f64 / 1e6,
                    disk.data_dir_percent_of_raw
                );
                let parts: Vec<String> = disk
                    .objects_by_extension
                    .iter()
                    .map(|usage| {
                        format!(
                            "*.{} {:.1} MB in {} files = {:.2}%",
                            usage.extension,
                            usage.bytes as f64 / 1e6,
                            usage.files,
                            usage.percent_of_raw
                        )
                    })
                    .collect();
                let _ = writeln!(text, "  {:<13} {}", "", parts.join("; "));
            }
        }
        let reference = &self.memmem_reference;
        let _ = writeln!(
            text,
            "  memmem        median {:.1} ms ({:.2} GB/s, one thread, {} occurrence(s)); runs {}",
            reference.median_ms,
            reference.gb_per_second,
            reference.occurrences,
            join_ms(reference.runs_ms.iter().copied().map(Some))
        );
        for result in &self.queries {
            let median = result
                .median_ms
                .map_or_else(|| "—".to_owned(), |ms| format!("{ms:.1} ms"));
            let ratio = result
                .ratio_to_memmem
                .map(|ratio| format!(", {ratio:.2}× memmem"))
                .unwrap_or_default();
            let rate = result
                .raw_mb_per_second
                .map(|rate| format!(", {rate:.0} MB/s of raw data"))
                .unwrap_or_default();
            let first = result.runs.first();
            let _ = writeln!(
                text,
                "  {:<13} median {median}{ratio}{rate}; {} events in {} pages; runs {}",
                result.query.name.label(),
                first.map_or(0, |run| run.events),
                first.map_or(0, |run| run.pages),
                join_ms(result.runs.iter().map(|run| run.elapsed_ms))
            );
            let cpu: Vec<String> = result
                .runs
                .iter()
                .map(|run| {
                    let seconds = |value: Option<f64>| {
                        value.map_or("?".to_owned(), |value| format!("{value:.2}"))
                    };
                    format!(
                        "{}/{}",
                        seconds(run.server_cpu_seconds),
                        seconds(run.machine_cpu_seconds)
                    )
                })
                .collect();
            let _ = writeln!(
                text,
                "  {:<13} CPU s per run, server/whole machine: {}",
                "",
                cpu.join(", ")
            );
            if let Some(spec) = &result.query.insights {
                let statistics = first.and_then(|run| run.statistics).unwrap_or_default();
                let _ = writeln!(
                    text,
                    "  {:<13} {}",
                    "",
                    spec.query_string
                );
                let _ = writeln!(
                    text,
                    "  {:<13} {} records scanned, {} matched, {:.1} MB scanned ({} MB/s); {} × the one-thread in-memory evaluation ({:.1} ms); server peak RSS {}",
                    "",
                    thousands(statistics.records_scanned),
                    thousands(statistics.records_matched),
                    statistics.bytes_scanned / 1e6,
                    result.bytes_scanned_mb_per_second.map_or_else(|| "—".to_owned(), |rate| format!("{rate:.0}")),
                    result.ratio_to_reference.map_or_else(|| "—".to_owned(), |ratio| format!("{ratio:.2}")),
                    spec.reference_ms,
                    result.server_peak_rss_bytes.map_or_else(|| "—".to_owned(), |bytes| format!("{:.0} MB", bytes as f64 / 1e6)),
                );
            }
            for (index, run) in result.runs.iter().enumerate() {
                if let Some(error) = &run.error {
                    let _ = writeln!(text, "  {:<13} run {}: {error}", "", index + 1);
                }
            }
        }
        let _ = writeln!(text, "  targets");
        for target in &self.targets {
            let verdict = match target.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not measured",
            };
            let _ = writeln!(
                text,
                "    {:<40} target {:<12} measured {:<14} {verdict}",
                target.figure,
                target.target,
                target.measured.as_deref().unwrap_or("—")
            );
        }
        text
    }
}

fn targets(queries: &[QueryResult], disk: Option<&DiskReport>) -> Vec<TargetCheck> {
    let find = |name: QueryName| queries.iter().find(|result| result.query.name == name);
    let millis_check = |name: QueryName, figure: &str, limit: f64| {
        let median = find(name).and_then(|result| result.median_ms);
        TargetCheck {
            figure: figure.to_owned(),
            target: format!("< {limit:.0} ms"),
            measured: median.map(|ms| format!("{ms:.1} ms")),
            met: median.map(|ms| ms < limit),
        }
    };
    let count_rate = find(QueryName::Count).and_then(|result| result.raw_mb_per_second);
    let disk_percent = disk.map(|disk| disk.objects_percent_of_raw);
    let mut checks = vec![
        millis_check(
            QueryName::Needle,
            "needle over all events",
            NEEDLE_TARGET_MS,
        ),
        millis_check(
            QueryName::FirstPage,
            "first page of 100 `ERROR` matches",
            FIRST_PAGE_TARGET_MS,
        ),
        TargetCheck {
            figure: "full count of the JSON pattern".to_owned(),
            target: format!("≥ {COUNT_TARGET_MB_PER_SECOND:.0} MB/s"),
            measured: count_rate.map(|rate| format!("{rate:.0} MB/s")),
            met: count_rate.map(|rate| rate >= COUNT_TARGET_MB_PER_SECOND),
        },
        TargetCheck {
            figure: "bytes on disk (objects/) vs raw".to_owned(),
            target: format!("≤ {DISK_TARGET_PERCENT:.0}%"),
            measured: disk_percent.map(|percent| format!("{percent:.2}%")),
            met: disk_percent.map(|percent| percent <= DISK_TARGET_PERCENT),
        },
    ];
    if queries.iter().any(|result| result.query.name.is_insights()) {
        for (name, figure, limit) in INSIGHTS_TARGETS_MS {
            checks.push(millis_check(name, figure, limit));
        }
        let peak = queries
            .iter()
            .filter(|result| result.query.name.is_insights())
            .filter_map(|result| result.server_peak_rss_bytes)
            .max();
        checks.push(TargetCheck {
            figure: "Insights server peak RSS".to_owned(),
            target: format!("< {} MB", INSIGHTS_PEAK_RSS_TARGET_BYTES >> 20),
            measured: peak.map(|bytes| format!("{} MB", bytes >> 20)),
            met: peak.map(|bytes| bytes < INSIGHTS_PEAK_RSS_TARGET_BYTES),
        });
    }
    checks
}

fn join_ms(values: impl Iterator<Item = Option<f64>>) -> String {
    let parts: Vec<String> = values
        .map(|value| value.map_or_else(|| "timeout".to_owned(), |ms| format!("{ms:.1}")))
        .collect();
    format!("{} ms", parts.join(" / "))
}
