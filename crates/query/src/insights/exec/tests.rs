//! Data-driven tests (`tests/*.txt`), the memory limit, cancellation, and
//! an ignored timing run over 1 M synthetic events.
//!
//! A case file holds blocks, each starting with a keyword line:
//!
//! ```text
//! events:                      # replaces the events of the cases below
//! 2026-12-02 15:14:00.000 stream-a {"level":"ERROR"}
//! === a case name
//! options: limit=2 start=2026-12-02 15:00:00.000 end=…
//! query:
//! fields @timestamp | …        # may span lines
//! expect:
//! @timestamp=2026-12-02 15:14:00.000 | @ptr=ok
//! ```
//!
//! An event line is `date time stream message`; events get `event_id`s
//! 1, 2, … in file order, `@log` `123456789012:test-group`, an ingestion
//! time one second after the timestamp. A result row prints as
//! `field=value | …`; `@ptr` prints `ok` when it decodes to the row's
//! event. `expect:` may hold `error: <text>` instead, and a last line
//! `stats: matched=N scanned=N bytes=N`. `ARGUS_BLESS=1` rewrites the
//! expectations (review the diff).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use arrow::array::{RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::MemTable;

use super::*;

const LOG: &str = "123456789012:test-group";

fn schema() -> SchemaRef {
    let time = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("timestamp", time.clone(), false),
        Field::new("ingestion_time", time, false),
        Field::new("event_id", DataType::UInt64, false),
        Field::new("stream_id", DataType::UInt64, false),
        Field::new("log_stream", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
        Field::new("log", DataType::Utf8, false),
    ]))
}

struct Event {
    timestamp: i64,
    stream: String,
    message: String,
}

fn batch(events: &[Event], first_id: u64) -> RecordBatch {
    let streams: Vec<u64> = events.iter().map(|e| e.stream.bytes().map(u64::from).sum()).collect();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(TimestampMillisecondArray::from(events.iter().map(|e| e.timestamp).collect::<Vec<_>>()).with_timezone("UTC")),
            Arc::new(TimestampMillisecondArray::from(events.iter().map(|e| e.timestamp + 1000).collect::<Vec<_>>()).with_timezone("UTC")),
            Arc::new(UInt64Array::from((0..events.len() as u64).map(|i| first_id + i).collect::<Vec<_>>())),
            Arc::new(UInt64Array::from(streams)),
            Arc::new(StringArray::from(events.iter().map(|e| e.stream.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(events.iter().map(|e| e.message.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(vec![LOG; events.len()])),
        ],
    )
    .unwrap()
}

/// Events split into two partitions of small batches, as a provider would
/// hand them over.
fn table(events: &[Event]) -> Arc<dyn TableProvider> {
    let mut partitions = vec![Vec::new(), Vec::new()];
    for (index, chunk) in events.chunks(3).enumerate() {
        partitions[index % 2].push(batch(chunk, 1 + (index * 3) as u64));
    }
    Arc::new(MemTable::try_new(schema(), partitions).unwrap())
}

fn parse_time(text: &str) -> i64 {
    // `YYYY-MM-DD HH:MM:SS.mmm`
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let days = format::days_from_civil(number(0..4), number(5..7), number(8..10));
    days * 86_400_000 + number(11..13) * 3_600_000 + number(14..16) * 60_000 + number(17..19) * 1000 + number(20..23)
}

fn parse_event(line: &str) -> Event {
    let timestamp = parse_time(&line[..23]);
    let rest = &line[24..];
    let (stream, message) = rest.split_once(' ').unwrap_or((rest, ""));
    Event { timestamp, stream: stream.to_string(), message: message.to_string() }
}

fn render(output: &Result<QueryOutput, ExecError>, with_stats: bool) -> String {
    match output {
        Err(error) => format!("error: {error}\n"),
        Ok(output) => {
            let mut text = String::new();
            for row in &output.rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|(field, value)| {
                        if field == "@ptr" {
                            let ok = ptr::decode(value).is_some_and(|p| p.log == LOG && row.iter().all(|(f, v)| f != "@timestamp" || *v == format::timestamp(p.timestamp)));
                            format!("@ptr={}", if ok { "ok" } else { "BAD" })
                        } else {
                            format!("{field}={}", value.replace('\n', "\\n"))
                        }
                    })
                    .collect();
                text.push_str(&cells.join(" | "));
                text.push('\n');
            }
            if output.rows.is_empty() {
                text.push_str("(no rows)\n");
            }
            if with_stats {
                let s = output.statistics;
                let _ = writeln!(text, "stats: matched={} scanned={} bytes={}", s.records_matched, s.records_scanned, s.bytes_scanned);
            }
            text
        }
    }
}

async fn run_text(query: &str, events: &[Event], options: &RunOptions) -> Result<QueryOutput, ExecError> {
    let query = crate::insights::parse(query).map_err(|error| ExecError::Invalid(error.to_string()))?;
    run(&query, table(events), options).await
}

fn default_options() -> RunOptions {
    let mut options = RunOptions::new(0, i64::MAX / 2);
    options.now_ms = 1_796_224_440_000;
    options
}

fn apply_options(line: &str, options: &mut RunOptions) {
    let mut rest = line.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').unwrap();
        let (value, next) = match key {
            "start" | "end" => (&after[..23], &after[23..]),
            _ => after.split_once(' ').unwrap_or((after, "")),
        };
        match key {
            "limit" => options.limit = value.parse().unwrap(),
            "memory" => options.memory_limit = value.parse().unwrap(),
            "start" => options.start_time = parse_time(value),
            "end" => options.end_time = parse_time(value),
            other => panic!("unknown option {other}"),
        }
        rest = next.trim();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_driven_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/insights/exec/tests");
    let bless = std::env::var_os("ARGUS_BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.extension().is_some_and(|e| e == "txt")).collect();
    paths.sort();
    for path in paths {
        let content = std::fs::read_to_string(&path).unwrap();
        let mut blessed = String::new();
        let mut events: Vec<Event> = Vec::new();
        let mut lines = content.lines().peekable();
        while let Some(line) = lines.next() {
            if line == "events:" {
                blessed.push_str(line);
                blessed.push('\n');
                events.clear();
                while let Some(next) = lines.peek() {
                    if next.is_empty() || next.starts_with("===") || next.starts_with('#') {
                        break;
                    }
                    events.push(parse_event(next));
                    blessed.push_str(next);
                    blessed.push('\n');
                    lines.next();
                }
                continue;
            }
            let Some(name) = line.strip_prefix("=== ") else {
                blessed.push_str(line);
                blessed.push('\n');
                continue;
            };
            blessed.push_str(line);
            blessed.push('\n');
            let mut options = default_options();
            let mut query = String::new();
            let mut expected = String::new();
            let mut section = "";
            while let Some(next) = lines.peek() {
                if next.starts_with("=== ") || *next == "events:" {
                    break;
                }
                let next = lines.next().unwrap();
                match next {
                    "query:" | "expect:" => {
                        section = next;
                        blessed.push_str(next);
                        blessed.push('\n');
                        continue;
                    }
                    _ => {}
                }
                if let Some(rest) = next.strip_prefix("options:") {
                    apply_options(rest, &mut options);
                    blessed.push_str(next);
                    blessed.push('\n');
                    continue;
                }
                match section {
                    "query:" => {
                        query.push_str(next);
                        query.push('\n');
                        blessed.push_str(next);
                        blessed.push('\n');
                    }
                    "expect:" if !next.is_empty() => {
                        expected.push_str(next);
                        expected.push('\n');
                    }
                    _ => {}
                }
            }
            count += 1;
            let with_stats = expected.lines().any(|line| line.starts_with("stats: "));
            let output = run_text(&query, &events, &options).await;
            let actual = render(&output, with_stats);
            blessed.push_str(&actual);
            blessed.push('\n');
            if actual != expected {
                failures.push(format!("{}: {name}\nquery: {query}--- expected\n{expected}--- actual\n{actual}", path.display()));
            }
        }
        if bless {
            std::fs::write(&path, blessed.trim_end().to_string() + "\n").unwrap();
        }
    }
    assert!(count > 0);
    assert!(failures.is_empty() || bless, "{} of {count} cases failed:\n\n{}", failures.len(), failures.join("\n"));
}

fn synthetic(count: usize) -> Vec<Event> {
    let services = ["api", "auth", "billing", "search", "dicom"];
    (0..count)
        .map(|i| {
            let timestamp = 1_796_224_440_000 + (i as i64) * 3;
            let service = services[i % services.len()];
            let message = match i % 4 {
                0 => format!("{{\"level\":\"ERROR\",\"service\":\"{service}\",\"latency\":{}}}", i % 1000),
                1 => format!("2026-12-02 INFO Request completed path=/v1/items duration={} service={service}", i % 700),
                2 => format!("{{\"level\":\"INFO\",\"service\":\"{service}\",\"msg\":\"DICOM processed study_uid=1.2.{i}\"}}"),
                _ => format!("WARN slow request service={service} took {}ms", i % 900),
            };
            Event { timestamp, stream: format!("stream-{}", i % 8), message }
        })
        .collect()
}

async fn explain(query: &crate::insights::Query, table: Arc<dyn TableProvider>) -> String {
    let ctx = datafusion::prelude::SessionContext::new_with_config(datafusion::prelude::SessionConfig::new().with_target_partitions(2));
    let df = ctx.read_table(table).unwrap();
    let options = default_options();
    let (df, _) = lower::Lowerer::new(df, &options).lower(query).unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    datafusion::physical_plan::displayable(plan.as_ref()).indent(true).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limit_is_an_error_not_an_oom() {
    let events = synthetic(50_000);
    let mut options = default_options();
    options.memory_limit = 64 * 1024;
    let result = run_text("fields @message | sort @message desc", &events, &options).await;
    assert!(matches!(result, Err(ExecError::TooMuchMemory { .. })), "{result:?}");
    assert!(result.unwrap_err().to_string().contains("too much memory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_the_query() {
    let events = synthetic(10_000);
    let mut options = default_options();
    options.cancel = Some(Arc::new(AtomicBool::new(true)));
    let result = run_text("stats count(*) by bin(5m)", &events, &options).await;
    assert!(matches!(result, Err(ExecError::Cancelled)), "{result:?}");
}

/// A provider that records what it is asked for.
#[derive(Debug)]
struct Recording {
    inner: MemTable,
    asked: std::sync::Mutex<Vec<(Vec<String>, Vec<String>)>>,
}

#[async_trait::async_trait]
impl TableProvider for Recording {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        filters: &[datafusion::logical_expr::Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let schema = self.schema();
        let columns = projection.map(|p| p.iter().map(|&i| schema.field(i).name().clone()).collect()).unwrap_or_default();
        self.asked.lock().unwrap().push((columns, filters.iter().map(ToString::to_string).collect()));
        self.inner.scan(state, projection, filters, limit).await
    }

    fn supports_filters_pushdown(&self, filters: &[&datafusion::logical_expr::Expr]) -> datafusion::common::Result<Vec<datafusion::logical_expr::TableProviderFilterPushDown>> {
        Ok(vec![datafusion::logical_expr::TableProviderFilterPushDown::Exact; filters.len()])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_is_asked_for_few_columns_and_offered_the_filters() {
    let events = synthetic(1000);
    let partitions = vec![vec![batch(&events, 1)]];
    let cases = [
        ("stats count(*) by bin(5m)", vec!["timestamp"], vec!["timestamp >="]),
        ("filter @message like /ERROR/ | stats count(*) by service", vec!["message", "timestamp"], vec!["message LIKE", "timestamp >="]),
    ];
    for (text, columns, filters) in cases {
        let recording = Arc::new(Recording { inner: MemTable::try_new(schema(), partitions.clone()).unwrap(), asked: Default::default() });
        let query = crate::insights::parse(text).unwrap();
        let output = run(&query, Arc::clone(&recording) as Arc<dyn TableProvider>, &default_options()).await.unwrap();
        assert!(!output.rows.is_empty());
        let asked = recording.asked.lock().unwrap();
        let (asked_columns, asked_filters) = asked.first().unwrap();
        assert_eq!(asked_columns, &columns, "{text}");
        for filter in filters {
            assert!(asked_filters.iter().any(|f| f.contains(filter)), "{text}: {asked_filters:?}");
        }
        // An exact provider is still checked: the filter is applied above it.
        assert_eq!(output.statistics.records_scanned, 1000);
    }
}

#[test]
fn plain_regexes_become_substring_searches() {
    assert_eq!(lower::literal_text("ERROR"), Some("ERROR".into()));
    assert_eq!(lower::literal_text(r"Request completed\."), Some("Request completed.".into()));
    assert_eq!(lower::literal_text(r"a\d"), None);
    assert_eq!(lower::literal_text("a.b"), None);
}

/// `cargo test --release -p argus-query insights::exec::tests::timings -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing run over 1 M events"]
async fn timings() {
    let count = 1_000_000;
    let events = synthetic(count);
    // One partition per core, batches of 8192 rows.
    let mut partitions = vec![Vec::new(), Vec::new()];
    for (index, chunk) in events.chunks(8192).enumerate() {
        partitions[index % 2].push(batch(chunk, 1 + (index * 8192) as u64));
    }
    let table: Arc<dyn TableProvider> = Arc::new(MemTable::try_new(schema(), partitions).unwrap());
    let queries = [
        "stats count(*) by bin(5m)",
        "filter @message like /ERROR/ | stats count(*) by service",
        "fields @timestamp, @message | filter @message like /Request completed/ | parse @message /duration=(?<duration>\\d+)/ | stats avg(duration) by bin(5m)",
        "fields @timestamp, @message | sort @timestamp desc | limit 100",
        "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 100",
        "fields @timestamp, @message | filter @message like /DICOM processed/ | parse @message /study_uid=(?<study_uid>\\S+)/ | stats count() by bin(1h)",
        "fields @timestamp | sort @timestamp desc | limit 100",
        "stats count(*) by level",
        "filter level = 'ERROR' | stats avg(latency) by service",
    ];
    for text in queries {
        let query = crate::insights::parse(text).unwrap();
        let started = Instant::now();
        let output = run(&query, Arc::clone(&table), &default_options()).await.unwrap();
        if std::env::var_os("ARGUS_EXPLAIN").is_some() {
            println!("{}", explain(&query, Arc::clone(&table)).await);
        }
        println!("{:>8.1} ms  {:>6} rows  matched {:>8}  {text}", started.elapsed().as_secs_f64() * 1000.0, output.rows.len(), output.statistics.records_matched);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "experiment"]
async fn topk_experiment() {
    let events = synthetic(1_000_000);
    let mut partitions = vec![Vec::new(), Vec::new()];
    for (index, chunk) in events.chunks(8192).enumerate() {
        partitions[index % 2].push(batch(chunk, 1 + (index * 8192) as u64));
    }
    let table: Arc<dyn TableProvider> = Arc::new(MemTable::try_new(schema(), partitions).unwrap());
    use datafusion::prelude::*;
    for keys in [1, 2] {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        let mut order = vec![col("timestamp").sort(false, false)];
        if keys == 2 {
            order.push(col("event_id").sort(false, false));
        }
        let df = ctx.read_table(Arc::clone(&table)).unwrap().select(vec![col("timestamp"), col("event_id"), col("message")]).unwrap().sort(order).unwrap().limit(0, Some(100)).unwrap();
        let started = Instant::now();
        let batches = df.collect().await.unwrap();
        println!("keys={keys}: {:.1} ms, {} batches", started.elapsed().as_secs_f64() * 1000.0, batches.len());
    }
}
