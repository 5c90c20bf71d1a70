//! The measured queries, each a SigV4-signed FilterLogEvents call (or
//! chain of calls) or a Logs Insights query (`insights.rs`) over the whole
//! group and all time, and the physical reference they are compared with:
//! one thread running `memmem` over the raw corpus in memory.
//!
//! Every run's answer is checked against what the generator put in the
//! corpus; a wrong answer is reported as an error, never timed as a success.

use std::time::{Duration, Instant};

use clap::ValueEnum;
use memchr::memmem::Finder;
use serde::{Deserialize, Serialize};

use super::super::client::{Connection, Endpoint};
use super::super::corpus::{COMMON_TERM, Corpus, JSON_PATTERN};
use super::super::server::{cpu_seconds, machine_busy_seconds, peak_rss, reset_peak_rss};
use super::super::sign::Credentials;
use super::insights::{self, InsightsSpec};

/// FilterLogEvents' largest page.
const MAX_LIMIT: usize = 10_000;
const FIRST_PAGE_LIMIT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueryName {
    /// One request id that occurs once, over every event (all pages)
    Needle,
    /// The first 100 events containing ERROR (one page)
    FirstPage,
    /// Every event matching { $.status >= 500 && $.latency > 1000 } (all pages)
    Count,
    /// Logs Insights: `stats count(*) by bin(5m)`
    InsightsCountByBin,
    /// Logs Insights: `filter @message like /ERROR/ | stats count(*) by service`
    InsightsErrorsByService,
    /// Logs Insights: the PACS query `filter … like /Request completed/ | parse … | stats avg(duration) by bin(5m)`
    InsightsParseAvg,
    /// Logs Insights: `fields @timestamp, @message | sort @timestamp desc | limit 100`
    InsightsNewest,
}

impl QueryName {
    pub fn label(self) -> &'static str {
        match self {
            QueryName::Needle => "needle",
            QueryName::FirstPage => "first page",
            QueryName::Count => "full count",
            QueryName::InsightsCountByBin => "ins. by bin",
            QueryName::InsightsErrorsByService => "ins. errors",
            QueryName::InsightsParseAvg => "ins. parse",
            QueryName::InsightsNewest => "ins. newest",
        }
    }

    pub fn is_insights(self) -> bool {
        !matches!(self, QueryName::Needle | QueryName::FirstPage | QueryName::Count)
    }
}

/// What one query asks for.
#[derive(Debug, Clone, Serialize)]
pub struct QuerySpec {
    pub name: QueryName,
    pub filter_pattern: String,
    pub limit: Option<usize>,
    /// Follow `nextToken` until it is absent (else: the first response only).
    pub all_pages: bool,
    /// Events (Insights: rows) the answer must hold.
    pub expected_events: u64,
    /// The Logs Insights query, for the `Insights…` names.
    pub insights: Option<InsightsSpec>,
}

impl QuerySpec {
    pub fn new(name: QueryName, corpus: &Corpus) -> Self {
        match name {
            QueryName::Needle => Self {
                name,
                filter_pattern: format!("\"{}\"", corpus.needle),
                limit: None,
                all_pages: true,
                expected_events: 1,
                insights: None,
            },
            QueryName::FirstPage => Self {
                name,
                filter_pattern: COMMON_TERM.to_owned(),
                limit: Some(FIRST_PAGE_LIMIT),
                all_pages: false,
                expected_events: corpus.stats.term_events.min(FIRST_PAGE_LIMIT as u64),
                insights: None,
            },
            QueryName::Count => Self {
                name,
                filter_pattern: JSON_PATTERN.to_owned(),
                limit: Some(MAX_LIMIT),
                all_pages: true,
                expected_events: corpus.stats.json_pattern_events,
                insights: None,
            },
            QueryName::InsightsCountByBin
            | QueryName::InsightsErrorsByService
            | QueryName::InsightsParseAvg
            | QueryName::InsightsNewest => {
                let insights = InsightsSpec::new(name, corpus);
                Self {
                    name,
                    filter_pattern: String::new(),
                    limit: None,
                    all_pages: true,
                    expected_events: insights.as_ref().map_or(0, |spec| spec.expected_rows as u64),
                    insights,
                }
            }
        }
    }
}

/// One timed run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// `None` when the run timed out.
    pub elapsed_ms: Option<f64>,
    pub pages: u64,
    pub events: u64,
    /// Response bytes received.
    pub response_bytes: u64,
    /// Server CPU time during the run (user + system), when its pid is known.
    pub server_cpu_seconds: Option<f64>,
    /// CPU time of the whole machine during the run: more than the server's
    /// (plus this client's small share) means something else competed.
    pub machine_cpu_seconds: Option<f64>,
    /// Why the answer is wrong, if it is.
    pub error: Option<String>,
    /// Logs Insights: GetQueryResults' statistics.
    pub statistics: Option<insights::Statistics>,
    /// The server's peak resident memory during the run (its high-water
    /// mark is reset before the run), when its pid is known.
    pub server_peak_rss_bytes: Option<u64>,
}

/// All runs of one query.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub query: QuerySpec,
    pub runs: Vec<RunRecord>,
    /// Median of the runs that completed with a correct answer.
    pub median_ms: Option<f64>,
    /// `median_ms` / the memmem reference's median.
    pub ratio_to_memmem: Option<f64>,
    /// For queries that read to the end: raw message bytes of the whole
    /// corpus / median time, MB/s (10^6).
    pub raw_mb_per_second: Option<f64>,
    /// Logs Insights: `bytesScanned` / median time, MB/s (10^6).
    pub bytes_scanned_mb_per_second: Option<f64>,
    /// Logs Insights: `median_ms` / the single-threaded in-memory
    /// evaluation's time.
    pub ratio_to_reference: Option<f64>,
    /// The largest of the runs' server peaks.
    pub server_peak_rss_bytes: Option<u64>,
}

/// A FilterLogEvents request over the whole group and all time.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FilterRequest<'a> {
    log_group_name: &'a str,
    filter_pattern: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterResponse {
    #[serde(default)]
    events: Vec<FilteredEvent>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilteredEvent {
    message: String,
    timestamp: i64,
}

/// Where and how often the queries run.
pub struct Session<'a> {
    pub endpoint: &'a Endpoint,
    pub credentials: &'a Credentials,
    pub group: &'a str,
    pub runs: usize,
    /// A run that takes longer ends its query: the server may still be busy
    /// with it, so later runs would measure the leftover work.
    pub timeout: Duration,
    /// The server's process, to read its CPU time.
    pub server_pid: Option<u32>,
}

/// Runs `query` `session.runs` times on one connection.
pub async fn measure(
    query: QuerySpec,
    corpus: &Corpus,
    session: &Session<'_>,
) -> anyhow::Result<QueryResult> {
    let Session {
        endpoint,
        credentials,
        group,
        runs,
        timeout,
        server_pid,
    } = *session;
    let mut connection = Connection::open(endpoint, credentials).await?;
    let mut records = Vec::with_capacity(runs);
    for run in 0..runs {
        if let Some(pid) = server_pid {
            reset_peak_rss(pid);
        }
        let cpu_before = server_pid.and_then(cpu_seconds);
        let machine_before = machine_busy_seconds();
        let started = Instant::now();
        let outcome =
            tokio::time::timeout(timeout, fetch(&mut connection, &query, group, corpus)).await;
        let elapsed = started.elapsed();
        let server_peak_rss_bytes = server_pid.and_then(peak_rss);
        let server_cpu_seconds = match (server_pid.and_then(cpu_seconds), cpu_before) {
            (Some(after), Some(before)) => Some(after - before),
            _ => None,
        };
        let machine_cpu_seconds = match (machine_busy_seconds(), machine_before) {
            (Some(after), Some(before)) => Some(after - before),
            _ => None,
        };
        let record = match outcome {
            Err(_) => RunRecord {
                elapsed_ms: None,
                pages: 0,
                events: 0,
                response_bytes: 0,
                server_cpu_seconds,
                machine_cpu_seconds,
                error: Some(format!("timed out after {} s", timeout.as_secs())),
                statistics: None,
                server_peak_rss_bytes,
            },
            Ok(Err(error)) => RunRecord {
                elapsed_ms: Some(millis(elapsed)),
                pages: 0,
                events: 0,
                response_bytes: 0,
                server_cpu_seconds,
                machine_cpu_seconds,
                error: Some(format!("{error:#}")),
                statistics: None,
                server_peak_rss_bytes,
            },
            Ok(Ok(Answer::Events(fetched))) => RunRecord {
                elapsed_ms: Some(millis(elapsed)),
                pages: fetched.pages,
                events: fetched.events.len() as u64,
                response_bytes: fetched.response_bytes,
                server_cpu_seconds,
                machine_cpu_seconds,
                error: check(&query, corpus, &fetched.events).err(),
                statistics: None,
                server_peak_rss_bytes,
            },
            Ok(Ok(Answer::Rows(fetched))) => RunRecord {
                elapsed_ms: Some(millis(elapsed)),
                pages: fetched.polls,
                events: fetched.rows.len() as u64,
                response_bytes: fetched.response_bytes,
                server_cpu_seconds,
                machine_cpu_seconds,
                error: query
                    .insights
                    .as_ref()
                    .and_then(|spec| insights::check(spec, &fetched).err()),
                statistics: Some(fetched.statistics),
                server_peak_rss_bytes,
            },
        };
        eprintln!(
            "  {} run {}: {} ({} events, {} pages){}",
            query.name.label(),
            run + 1,
            record
                .elapsed_ms
                .map_or_else(|| "timed out".to_owned(), |ms| format!("{ms:.1} ms")),
            record.events,
            record.pages,
            record
                .error
                .as_deref()
                .map(|error| format!(" — {error}"))
                .unwrap_or_default()
        );
        let timed_out = record.elapsed_ms.is_none();
        records.push(record);
        if timed_out {
            break;
        }
    }
    let mut good: Vec<f64> = records
        .iter()
        .filter(|record| record.error.is_none())
        .filter_map(|record| record.elapsed_ms)
        .collect();
    let median_ms = median(&mut good);
    let bytes_scanned_mb_per_second = median_ms.and_then(|median| {
        let bytes = records.iter().find_map(|record| record.statistics)?.bytes_scanned;
        Some(bytes / 1e6 / (median / 1_000.0).max(f64::EPSILON))
    });
    let ratio_to_reference = median_ms.and_then(|median| {
        let reference = query.insights.as_ref()?.reference_ms;
        Some(median / reference.max(f64::EPSILON))
    });
    let server_peak_rss_bytes = records.iter().filter_map(|record| record.server_peak_rss_bytes).max();
    Ok(QueryResult {
        query,
        runs: records,
        median_ms,
        ratio_to_memmem: None,
        raw_mb_per_second: None,
        bytes_scanned_mb_per_second,
        ratio_to_reference,
        server_peak_rss_bytes,
    })
}

/// A run's answer: FilterLogEvents events or Logs Insights rows.
enum Answer {
    Events(Fetched),
    Rows(insights::Fetched),
}

struct Fetched {
    events: Vec<FilteredEvent>,
    pages: u64,
    response_bytes: u64,
}

/// The calls of one run.
async fn fetch(
    connection: &mut Connection,
    query: &QuerySpec,
    group: &str,
    corpus: &Corpus,
) -> anyhow::Result<Answer> {
    match &query.insights {
        Some(spec) => Ok(Answer::Rows(insights::fetch(connection, spec, group, corpus).await?)),
        None => Ok(Answer::Events(filter_log_events(connection, query, group).await?)),
    }
}

/// The FilterLogEvents calls of one run.
async fn filter_log_events(
    connection: &mut Connection,
    query: &QuerySpec,
    group: &str,
) -> anyhow::Result<Fetched> {
    let mut fetched = Fetched {
        events: Vec::new(),
        pages: 0,
        response_bytes: 0,
    };
    let mut next_token: Option<String> = None;
    loop {
        let body = serde_json::to_value(FilterRequest {
            log_group_name: group,
            filter_pattern: &query.filter_pattern,
            limit: query.limit,
            next_token: next_token.as_deref(),
        })?;
        let reply = connection.call("FilterLogEvents", &body).await?;
        anyhow::ensure!(
            reply.status.is_success(),
            "FilterLogEvents failed: {}",
            reply.describe()
        );
        fetched.pages += 1;
        fetched.response_bytes += reply.body.len() as u64;
        let page: FilterResponse = serde_json::from_slice(&reply.body)?;
        fetched.events.extend(page.events);
        next_token = page.next_token;
        if !query.all_pages || next_token.is_none() {
            return Ok(fetched);
        }
    }
}

/// Whether the answer is what the corpus holds.
fn check(query: &QuerySpec, corpus: &Corpus, events: &[FilteredEvent]) -> Result<(), String> {
    if events.len() as u64 != query.expected_events {
        return Err(format!(
            "{} events, expected {}",
            events.len(),
            query.expected_events
        ));
    }
    if events
        .windows(2)
        .any(|pair| matches!(pair, [earlier, later] if later.timestamp < earlier.timestamp))
    {
        return Err("events are not in timestamp order".to_owned());
    }
    for event in events {
        let matches = match query.name {
            QueryName::Needle => event.message.contains(corpus.needle.as_str()),
            QueryName::FirstPage => event.message.contains(COMMON_TERM),
            QueryName::Count => satisfies_json_pattern(&event.message),
            QueryName::InsightsCountByBin
            | QueryName::InsightsErrorsByService
            | QueryName::InsightsParseAvg
            | QueryName::InsightsNewest => false,
        };
        if !matches {
            let start: String = event.message.chars().take(160).collect();
            return Err(format!("returned an event that does not match: {start}"));
        }
    }
    Ok(())
}

/// An independent oracle for [`JSON_PATTERN`]: a JSON object whose `status`
/// is a number ≥ 500 and `latency` a number > 1000.
fn satisfies_json_pattern(message: &str) -> bool {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(message)
    else {
        return false;
    };
    let number = |key: &str| object.get(key).and_then(serde_json::Value::as_f64);
    number("status").is_some_and(|status| status >= 500.0)
        && number("latency").is_some_and(|latency| latency > 1000.0)
}

/// The physical reference: one thread, `memchr::memmem` over every message
/// held in memory, looking for the needle.
#[derive(Debug, Clone, Serialize)]
pub struct MemmemReference {
    pub needle: String,
    pub bytes: u64,
    /// Occurrences found (must be 1).
    pub occurrences: u64,
    pub runs_ms: Vec<f64>,
    pub median_ms: f64,
    pub gb_per_second: f64,
}

pub fn memmem_reference(corpus: &Corpus, runs: usize) -> MemmemReference {
    let finder = Finder::new(corpus.needle.as_bytes());
    let bytes: u64 = corpus.texts().map(|text| text.len() as u64).sum();
    let mut runs_ms = Vec::with_capacity(runs);
    let mut occurrences = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let mut found = 0_u64;
        for text in corpus.texts() {
            found += finder
                .find_iter(std::hint::black_box(text.as_bytes()))
                .count() as u64;
        }
        runs_ms.push(millis(started.elapsed()));
        occurrences = std::hint::black_box(found);
    }
    let mut sorted = runs_ms.clone();
    let median_ms = median(&mut sorted).unwrap_or_default();
    MemmemReference {
        needle: corpus.needle.clone(),
        bytes,
        occurrences,
        runs_ms,
        median_ms,
        gb_per_second: bytes as f64 / 1e9 / (median_ms / 1_000.0).max(f64::EPSILON),
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// The median (mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        length if length % 2 == 1 => values.get(middle).copied(),
        _ => Some((values.get(middle - 1)? + values.get(middle)?) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_follows_the_pattern() {
        assert!(satisfies_json_pattern(r#"{"status":503,"latency":1001}"#));
        assert!(!satisfies_json_pattern(r#"{"status":503,"latency":1000}"#));
        assert!(!satisfies_json_pattern(r#"{"status":499,"latency":5000}"#));
        assert!(!satisfies_json_pattern(
            r#"{"status":503,"request_time":5.0}"#
        ));
        assert!(!satisfies_json_pattern(r#"status=503 latency=5000"#));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
