//! Loading the corpus through PutLogEvents, as an agent shipping these logs
//! would: each stream's events in order, in batches within CloudWatch's
//! limits (10,000 events, 1,048,576 bytes counting 26 per event, 24 hours),
//! sent over several keep-alive connections in time order across streams.
//!
//! Bodies are serialized and hashed right before they are sent, so the
//! client holds the corpus once; that costs the client about one core-second
//! per GB, small next to the server's work.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use serde::Serialize;

use super::super::client::{Connection, Endpoint};
use super::super::corpus::Corpus;
use super::super::driver::is_fully_accepted;
use super::super::server::{cpu_seconds, cpu_used};
use super::super::sign::{Credentials, sha256_hex};

const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_BATCH_BYTES: u64 = 1_048_576;
const PER_EVENT_OVERHEAD_BYTES: u64 = 26;
/// A batch may not span 24 hours; stay a minute clear of it.
const MAX_BATCH_SPAN_MS: i64 = 24 * 3_600_000 - 60_000;
const ERROR_SAMPLES: usize = 5;

/// One PutLogEvents request: a run of one stream's events.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    pub stream: usize,
    /// Positions in that stream's event list.
    pub positions: Range<usize>,
    pub first_timestamp_ms: i64,
}

/// What the load phase measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub connections: usize,
    pub events: u64,
    pub batches: u64,
    pub message_bytes: u64,
    pub request_bytes: u64,
    pub elapsed_seconds: f64,
    pub events_per_second: f64,
    /// Message bytes per second, MB (10^6).
    pub message_mb_per_second: f64,
    pub server_cpu_seconds: Option<f64>,
    pub errors: u64,
    pub error_samples: Vec<String>,
}

/// Cuts every stream into batches and orders them by their first event's
/// time, so the streams advance together as live shippers would.
pub fn plan_batches(corpus: &Corpus, by_stream: &[Vec<u32>]) -> Vec<BatchPlan> {
    let mut plans = Vec::new();
    for (stream, indexes) in by_stream.iter().enumerate() {
        let mut start = 0;
        while start < indexes.len() {
            let mut end = start;
            let mut bytes = 0_u64;
            let mut first_timestamp_ms = None;
            while let Some(&index) = indexes.get(end) {
                let Some(event) = corpus.event(u64::from(index)) else {
                    break;
                };
                let cost = event.message.len() as u64 + PER_EVENT_OVERHEAD_BYTES;
                let first = *first_timestamp_ms.get_or_insert(event.timestamp_ms);
                let full = end - start >= MAX_BATCH_EVENTS
                    || bytes + cost > MAX_BATCH_BYTES
                    || event.timestamp_ms - first > MAX_BATCH_SPAN_MS;
                if full && end > start {
                    break;
                }
                bytes += cost;
                end += 1;
            }
            plans.push(BatchPlan {
                stream,
                positions: start..end,
                first_timestamp_ms: first_timestamp_ms.unwrap_or_default(),
            });
            start = end.max(start + 1);
        }
    }
    plans.sort_by_key(|plan| (plan.first_timestamp_ms, plan.stream));
    plans
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEventsBody<'a> {
    log_group_name: &'a str,
    log_stream_name: &'a str,
    log_events: Vec<InputLogEvent<'a>>,
}

#[derive(Serialize)]
struct InputLogEvent<'a> {
    timestamp: i64,
    message: &'a str,
}

/// Read-only state the connections share.
struct Shared {
    corpus: Arc<Corpus>,
    by_stream: Vec<Vec<u32>>,
    plans: Vec<BatchPlan>,
    next: AtomicUsize,
    group: String,
    streams: Vec<&'static str>,
}

#[derive(Default)]
struct Tally {
    events: u64,
    batches: u64,
    message_bytes: u64,
    request_bytes: u64,
    errors: u64,
    error_samples: Vec<String>,
}

impl Tally {
    fn record_error(&mut self, description: String) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(description);
        }
    }
}

/// Sends the whole corpus to `group` (whose streams exist) over
/// `connections` connections and reports the rate.
pub async fn load(
    corpus: Arc<Corpus>,
    endpoint: &Endpoint,
    credentials: &Credentials,
    group: &str,
    connections: usize,
    server_pid: Option<u32>,
) -> anyhow::Result<LoadReport> {
    let by_stream = corpus.events_by_stream();
    let plans = plan_batches(&corpus, &by_stream);
    let shared = Arc::new(Shared {
        corpus,
        by_stream,
        plans,
        next: AtomicUsize::new(0),
        group: group.to_owned(),
        streams: Corpus::stream_names(),
    });
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        opened.push(Connection::open(endpoint, credentials).await?);
    }
    let server_cpu_before = server_pid.and_then(cpu_seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for connection in opened {
        tasks.spawn(send_batches(connection, Arc::clone(&shared)));
    }
    let mut total = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        let tally = joined.context("a load connection task panicked")?;
        total.events += tally.events;
        total.batches += tally.batches;
        total.message_bytes += tally.message_bytes;
        total.request_bytes += tally.request_bytes;
        total.errors += tally.errors;
        for sample in tally.error_samples {
            if total.error_samples.len() < ERROR_SAMPLES {
                total.error_samples.push(sample);
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(f64::EPSILON);
    Ok(LoadReport {
        connections,
        events: total.events,
        batches: total.batches,
        message_bytes: total.message_bytes,
        request_bytes: total.request_bytes,
        elapsed_seconds: elapsed,
        events_per_second: total.events as f64 / elapsed,
        message_mb_per_second: total.message_bytes as f64 / 1e6 / elapsed,
        server_cpu_seconds: cpu_used(server_pid.and_then(cpu_seconds), server_cpu_before),
        errors: total.errors,
        error_samples: total.error_samples,
    })
}

/// One connection: take the next batch in time order, build it, send it.
async fn send_batches(mut connection: Connection, shared: Arc<Shared>) -> Tally {
    let mut tally = Tally::default();
    loop {
        let number = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(plan) = shared.plans.get(number) else {
            return tally;
        };
        let (body, events, message_bytes) = match build_body(&shared, plan) {
            Ok(built) => built,
            Err(error) => {
                tally.record_error(format!("building batch {number}: {error:#}"));
                continue;
            }
        };
        let payload_sha256 = sha256_hex(&body);
        let request_bytes = body.len() as u64;
        match connection
            .call_prehashed("PutLogEvents", body, &payload_sha256)
            .await
        {
            Ok(reply) if is_fully_accepted(&reply) => {
                tally.events += events;
                tally.batches += 1;
                tally.message_bytes += message_bytes;
                tally.request_bytes += request_bytes;
            }
            Ok(reply) => {
                tally.record_error(format!("PutLogEvents batch {number}: {}", reply.describe()))
            }
            Err(error) => {
                tally.record_error(format!("PutLogEvents batch {number}: {error:#}"));
                if let Err(error) = connection.reopen().await {
                    tally.record_error(format!("could not reconnect: {error:#}"));
                    return tally;
                }
            }
        }
    }
}

/// The JSON body of one batch, its event count and message bytes.
fn build_body(shared: &Shared, plan: &BatchPlan) -> anyhow::Result<(Bytes, u64, u64)> {
    let indexes = shared
        .by_stream
        .get(plan.stream)
        .and_then(|indexes| indexes.get(plan.positions.clone()))
        .context("batch outside its stream")?;
    let mut log_events = Vec::with_capacity(indexes.len());
    let mut message_bytes = 0_u64;
    for &index in indexes {
        let event = shared
            .corpus
            .event(u64::from(index))
            .context("event outside the corpus")?;
        message_bytes += event.message.len() as u64;
        log_events.push(InputLogEvent {
            timestamp: event.timestamp_ms,
            message: event.message,
        });
    }
    let stream = shared.streams.get(plan.stream).context("unknown stream")?;
    let body = serde_json::to_vec(&PutLogEventsBody {
        log_group_name: &shared.group,
        log_stream_name: stream,
        log_events,
    })?;
    Ok((Bytes::from(body), indexes.len() as u64, message_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::corpus::CorpusSpec;

    #[test]
    fn batches_respect_put_log_events_limits_and_cover_every_event_once() {
        // Few events over 13 days: the 24-hour rule is what cuts batches.
        let corpus = Corpus::generate(
            CorpusSpec {
                seed: 3,
                events: 50_000,
                end_ms: 1_800_000_000_000,
            },
            2,
        );
        let by_stream = corpus.events_by_stream();
        let plans = plan_batches(&corpus, &by_stream);
        let mut covered = 0_usize;
        let mut previous_first = i64::MIN;
        for plan in &plans {
            assert!(
                plan.first_timestamp_ms >= previous_first,
                "batches go in time order"
            );
            previous_first = plan.first_timestamp_ms;
            let indexes = &by_stream[plan.stream][plan.positions.clone()];
            assert!(!indexes.is_empty() && indexes.len() <= MAX_BATCH_EVENTS);
            let events: Vec<_> = indexes
                .iter()
                .map(|&index| corpus.event(u64::from(index)).expect("event"))
                .collect();
            let bytes: u64 = events
                .iter()
                .map(|event| event.message.len() as u64 + PER_EVENT_OVERHEAD_BYTES)
                .sum();
            assert!(bytes <= MAX_BATCH_BYTES);
            let span = events.last().expect("last").timestamp_ms - events[0].timestamp_ms;
            assert!(span < 24 * 3_600_000);
            assert!(
                events
                    .windows(2)
                    .all(|pair| pair[0].timestamp_ms <= pair[1].timestamp_ms)
            );
            covered += indexes.len();
        }
        assert_eq!(covered as u64, corpus.len());
    }
}
