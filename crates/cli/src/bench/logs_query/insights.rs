//! The Logs Insights queries of `argus bench logs-query` (issue 6's
//! performance targets): StartQuery over the whole corpus, then
//! GetQueryResults until the query is `Complete`.
//!
//! Each query's expected rows come from a plain single-threaded evaluation
//! of the same query over the corpus in memory (`expect`), written
//! independently of the server's engine; its time is reported as the
//! per-query in-memory reference next to the memmem scan.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use memchr::memmem::Finder;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::client::Connection;
use super::super::corpus::{Corpus, SPAN_MS};
use super::queries::QueryName;

/// Between two GetQueryResults calls.
const POLL_EVERY: Duration = Duration::from_millis(5);
/// Rows of the newest-events query.
const NEWEST_LIMIT: usize = 100;
const BIN_5M_MS: i64 = 300_000;

/// One result row as GetQueryResults gives it, without `@ptr`.
pub type Row = BTreeMap<String, String>;

/// What an Insights query must return.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub rows: Vec<Row>,
    /// The rows must come in this order (else any order).
    pub ordered: bool,
    /// Events the query's filters pass (GetQueryResults' recordsMatched);
    /// `None` where the engine may rightly skip events it need not read
    /// (`sort … | limit` reads only the newest units).
    pub records_matched: Option<u64>,
}

/// An Insights query and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct InsightsSpec {
    pub query_string: String,
    pub expected_rows: usize,
    pub expected_records_matched: Option<u64>,
    /// Time of the single-threaded in-memory evaluation that produced the
    /// expected rows, milliseconds.
    pub reference_ms: f64,
    #[serde(skip)]
    pub expected: Expected,
}

impl InsightsSpec {
    /// The query string of `name` and its expected answer over `corpus`.
    pub fn new(name: QueryName, corpus: &Corpus) -> Option<InsightsSpec> {
        let query_string = match name {
            QueryName::InsightsCountByBin => "stats count(*) by bin(5m)",
            QueryName::InsightsErrorsByService => {
                "filter @message like /ERROR/ | stats count(*) by service"
            }
            QueryName::InsightsParseAvg => {
                "fields @timestamp, @message | filter @message like /Request completed/ | parse @message /duration=(?<duration>\\d+)/ | stats avg(duration) by bin(5m)"
            }
            QueryName::InsightsNewest => {
                "fields @timestamp, @message | sort @timestamp desc | limit 100"
            }
            QueryName::Needle | QueryName::FirstPage | QueryName::Count => return None,
        };
        let started = Instant::now();
        let expected = std::hint::black_box(expect(name, corpus));
        let reference_ms = started.elapsed().as_secs_f64() * 1_000.0;
        Some(InsightsSpec {
            query_string: query_string.to_owned(),
            expected_rows: expected.rows.len(),
            expected_records_matched: expected.records_matched,
            reference_ms,
            expected,
        })
    }
}

/// The expected answer, computed on one thread over the corpus in memory.
fn expect(name: QueryName, corpus: &Corpus) -> Expected {
    let events = (0..corpus.len()).filter_map(|index| corpus.event(index));
    match name {
        QueryName::InsightsCountByBin => {
            let mut bins: BTreeMap<i64, u64> = BTreeMap::new();
            for event in events {
                *bins.entry(floor_to(event.timestamp_ms, BIN_5M_MS)).or_default() += 1;
            }
            Expected {
                rows: bins
                    .into_iter()
                    .map(|(bin, count)| row([("bin(5m)", timestamp(bin)), ("count(*)", count.to_string())]))
                    .collect(),
                ordered: false,
                records_matched: Some(corpus.len()),
            }
        }
        QueryName::InsightsErrorsByService => {
            let finder = Finder::new("ERROR");
            let mut by_service: BTreeMap<Option<String>, u64> = BTreeMap::new();
            let mut matched = 0;
            for event in events.filter(|event| finder.find(event.message.as_bytes()).is_some()) {
                matched += 1;
                *by_service.entry(json_string_field(event.message, "service")).or_default() += 1;
            }
            Expected {
                rows: by_service
                    .into_iter()
                    .map(|(service, count)| {
                        let mut row = row([("count(*)", count.to_string())]);
                        if let Some(service) = service {
                            row.insert("service".to_owned(), service);
                        }
                        row
                    })
                    .collect(),
                ordered: false,
                records_matched: Some(matched),
            }
        }
        QueryName::InsightsParseAvg => {
            let finder = Finder::new("Request completed");
            let duration = regex::Regex::new(r"duration=(\d+)").expect("a valid regex");
            // bin → (sum, values)
            let mut bins: BTreeMap<i64, (f64, u64)> = BTreeMap::new();
            let mut matched = 0;
            for event in events.filter(|event| finder.find(event.message.as_bytes()).is_some()) {
                matched += 1;
                let slot = bins.entry(floor_to(event.timestamp_ms, BIN_5M_MS)).or_default();
                let value = duration
                    .captures(event.message)
                    .and_then(|captures| captures.get(1))
                    .and_then(|digits| digits.as_str().parse::<f64>().ok());
                if let Some(value) = value {
                    slot.0 += value;
                    slot.1 += 1;
                }
            }
            Expected {
                rows: bins
                    .into_iter()
                    .map(|(bin, (sum, values))| {
                        let mut row = row([("bin(5m)", timestamp(bin))]);
                        if values > 0 {
                            row.insert("avg(duration)".to_owned(), (sum / values as f64).to_string());
                        }
                        row
                    })
                    .collect(),
                ordered: false,
                records_matched: Some(matched),
            }
        }
        QueryName::InsightsNewest => {
            // Timestamps grow with the event index: the newest events are the last.
            let first = corpus.len().saturating_sub(NEWEST_LIMIT as u64);
            let mut newest: Vec<_> = (first..corpus.len()).filter_map(|index| corpus.event(index)).collect();
            newest.sort_by_key(|event| std::cmp::Reverse(event.timestamp_ms));
            Expected {
                rows: newest
                    .into_iter()
                    .map(|event| row([("@timestamp", timestamp(event.timestamp_ms)), ("@message", event.message.to_owned())]))
                    .collect(),
                ordered: true,
                records_matched: None,
            }
        }
        QueryName::Needle | QueryName::FirstPage | QueryName::Count => Expected::default(),
    }
}

fn row<const N: usize>(fields: [(&str, String); N]) -> Row {
    fields.into_iter().map(|(field, value)| (field.to_owned(), value)).collect()
}

fn floor_to(millis: i64, unit: i64) -> i64 {
    millis - millis.rem_euclid(unit)
}

/// `2026-12-02 15:14:00.000`, as GetQueryResults shows a timestamp (UTC).
fn timestamp(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .map(|instant| instant.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

/// A top-level string (or number) field of a message that is one JSON
/// object, as Insights discovers it.
fn json_string_field(message: &str, field: &str) -> Option<String> {
    if !message.trim_start().starts_with('{') {
        return None;
    }
    let serde_json::Value::Object(object) = serde_json::from_str(message).ok()? else {
        return None;
    };
    match object.get(field)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// GetQueryResults' statistics.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    #[serde(default)]
    pub records_matched: f64,
    #[serde(default)]
    pub records_scanned: f64,
    #[serde(default)]
    pub bytes_scanned: f64,
}

/// What one run received.
#[derive(Debug, Default)]
pub struct Fetched {
    pub rows: Vec<Row>,
    pub statistics: Statistics,
    /// GetQueryResults calls until the query was complete.
    pub polls: u64,
    pub response_bytes: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartQueryResponse {
    query_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetQueryResultsResponse {
    status: String,
    #[serde(default)]
    results: Vec<Vec<ResultField>>,
    #[serde(default)]
    statistics: Statistics,
}

#[derive(Deserialize)]
struct ResultField {
    field: String,
    value: String,
}

/// StartQuery over the corpus's whole time range, then GetQueryResults
/// every [`POLL_EVERY`] until the query ends.
pub async fn fetch(
    connection: &mut Connection,
    spec: &InsightsSpec,
    group: &str,
    corpus: &Corpus,
) -> anyhow::Result<Fetched> {
    let end_ms = corpus.spec.end_ms;
    let body = json!({
        "logGroupName": group,
        "startTime": (end_ms - SPAN_MS).div_euclid(1_000) - 1,
        "endTime": end_ms.div_euclid(1_000) + 1,
        "queryString": spec.query_string,
    });
    let reply = connection.call("StartQuery", &body).await?;
    anyhow::ensure!(reply.status.is_success(), "StartQuery failed: {}", reply.describe());
    let mut fetched = Fetched {
        response_bytes: reply.body.len() as u64,
        ..Fetched::default()
    };
    let query_id = serde_json::from_slice::<StartQueryResponse>(&reply.body)?.query_id;
    let poll = json!({ "queryId": query_id });
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        let reply = connection.call("GetQueryResults", &poll).await?;
        anyhow::ensure!(reply.status.is_success(), "GetQueryResults failed: {}", reply.describe());
        fetched.polls += 1;
        fetched.response_bytes += reply.body.len() as u64;
        let page: GetQueryResultsResponse = serde_json::from_slice(&reply.body)?;
        match page.status.as_str() {
            "Scheduled" | "Running" => continue,
            "Complete" => {
                fetched.statistics = page.statistics;
                fetched.rows = page
                    .results
                    .into_iter()
                    .map(|fields| {
                        fields
                            .into_iter()
                            .filter(|field| field.field != "@ptr")
                            .map(|field| (field.field, field.value))
                            .collect()
                    })
                    .collect();
                return Ok(fetched);
            }
            other => anyhow::bail!("the query ended with status {other}"),
        }
    }
}

/// Whether the rows are the expected ones (numbers compared to 1e-9
/// relative, since sums may be added up in another order).
pub fn check(spec: &InsightsSpec, fetched: &Fetched) -> Result<(), String> {
    let expected = &spec.expected;
    if fetched.rows.len() != expected.rows.len() {
        return Err(format!("{} rows, expected {}", fetched.rows.len(), expected.rows.len()));
    }
    let matched = fetched.statistics.records_matched;
    if let Some(expected_matched) = expected.records_matched
        && matched != expected_matched as f64
    {
        return Err(format!("recordsMatched {matched}, expected {expected_matched}"));
    }
    let mut got: Vec<&Row> = fetched.rows.iter().collect();
    let mut want: Vec<&Row> = expected.rows.iter().collect();
    if !expected.ordered {
        got.sort();
        want.sort();
    }
    for (position, (got, want)) in got.iter().zip(&want).enumerate() {
        if !same_row(got, want) {
            return Err(format!("row {position}: got {got:?}, expected {want:?}"));
        }
    }
    Ok(())
}

fn same_row(got: &Row, want: &Row) -> bool {
    got.len() == want.len()
        && got.iter().zip(want).all(|((got_field, got_value), (want_field, want_value))| {
            got_field == want_field && (got_value == want_value || close(got_value, want_value))
        })
}

fn close(got: &str, want: &str) -> bool {
    match (got.parse::<f64>(), want.parse::<f64>()) {
        (Ok(got), Ok(want)) => (got - want).abs() <= 1e-9 * got.abs().max(want.abs()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_like_insights_results() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00.000");
        assert_eq!(timestamp(1_764_688_440_123), "2025-12-02 15:14:00.123");
    }

    #[test]
    fn service_comes_from_json_objects_only() {
        assert_eq!(json_string_field(r#"{"level":"ERROR","service":"a"}"#, "service").as_deref(), Some("a"));
        assert_eq!(json_string_field(r#"ERROR service=a"#, "service"), None);
        assert_eq!(json_string_field(r#"{"service":{"name":"a"}}"#, "service"), None);
    }

    #[test]
    fn rows_compare_numbers_loosely_and_text_exactly() {
        let want = row([("avg(duration)", "0.30000000000000004".to_owned()), ("bin(5m)", "x".to_owned())]);
        assert!(same_row(&row([("avg(duration)", "0.3".to_owned()), ("bin(5m)", "x".to_owned())]), &want));
        assert!(!same_row(&row([("avg(duration)", "0.31".to_owned()), ("bin(5m)", "x".to_owned())]), &want));
        assert!(!same_row(&row([("avg(duration)", "0.3".to_owned()), ("bin(5m)", "y".to_owned())]), &want));
        assert!(!same_row(&row([("avg(duration)", "0.3".to_owned())]), &want));
    }
}
