//! The timed phase of the write benchmarks (`logs-ingest`, `metrics`): N
//! keep-alive connections send pre-built request bodies of one operation
//! and record each request's latency.
//!
//! The connections (one task each) take batch numbers from a shared counter
//! until the plan's total is sent, so faster connections do more and the
//! total is exact. Connection `c` sends its `j`-th batch from pool
//! `(c + j·N) mod pools`: with one pool per connection, each connection owns
//! its pool (for PutLogEvents, its stream).
//!
//! Without a batch interval every connection sends its next batch as soon as
//! the previous one is acknowledged (closed loop: the maximum sustained
//! rate). With one, batch `k` is due at `start + k·interval` (open loop) and
//! its latency is counted from that due time, so time spent waiting for a
//! free connection behind a slow server counts too (no coordinated omission).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use hdrhistogram::Histogram;

use super::client::{Connection, Reply};
use super::server::{cpu_seconds, cpu_used};
use super::workload::Workload;

/// How many failed requests are kept for the report.
const ERROR_SAMPLES: usize = 5;

/// Latencies are recorded in microseconds up to ten minutes.
const MAX_LATENCY_MICROS: u64 = 600_000_000;

/// What the connections share during the timed phase: the bodies and the
/// counter they take batch numbers from.
pub struct Plan {
    workload: Arc<Workload>,
    /// `PutLogEvents`, `PutMetricData`, …
    operation: &'static str,
    next_batch: AtomicU64,
    total_batches: u64,
    connections: usize,
    /// Time between two batches' due times (open loop); `None` is closed loop.
    batch_interval: Option<Duration>,
    keep_timeline: bool,
}

impl Plan {
    pub fn new(
        workload: Arc<Workload>,
        operation: &'static str,
        total_batches: u64,
        connections: usize,
        batch_interval: Option<Duration>,
        keep_timeline: bool,
    ) -> Self {
        Self {
            workload,
            operation,
            next_batch: AtomicU64::new(0),
            total_batches,
            connections,
            batch_interval,
            keep_timeline,
        }
    }
}

/// What the connections measured, merged.
pub struct ConnectionStats {
    pub latency_micros: Histogram<u64>,
    pub service_micros: Histogram<u64>,
    pub batches: u64,
    /// Log events or metric datapoints acknowledged.
    pub items: u64,
    pub message_bytes: u64,
    pub request_bytes: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
    pub reconnects: u64,
    /// Per-batch timings, kept only when the plan asks for them.
    pub timeline: Option<Vec<BatchTiming>>,
}

/// When one batch was sent and how long it took.
pub struct BatchTiming {
    batch_number: u64,
    connection: usize,
    due: Duration,
    sent: Duration,
    finished: Duration,
}

impl ConnectionStats {
    pub fn new(keep_timeline: bool) -> anyhow::Result<Self> {
        Ok(Self {
            latency_micros: Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)?,
            service_micros: Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)?,
            batches: 0,
            items: 0,
            message_bytes: 0,
            request_bytes: 0,
            errors: 0,
            error_samples: Vec::new(),
            reconnects: 0,
            timeline: keep_timeline.then(Vec::new),
        })
    }

    pub fn record_error(&mut self, description: String) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(description);
        }
    }

    fn merge(&mut self, other: Self) -> anyhow::Result<()> {
        self.latency_micros.add(&other.latency_micros)?;
        self.service_micros.add(&other.service_micros)?;
        self.batches += other.batches;
        self.items += other.items;
        self.message_bytes += other.message_bytes;
        self.request_bytes += other.request_bytes;
        self.errors += other.errors;
        self.reconnects += other.reconnects;
        if let (Some(timeline), Some(other_timeline)) = (&mut self.timeline, other.timeline) {
            timeline.extend(other_timeline);
        }
        for sample in other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES {
                self.error_samples.push(sample);
            }
        }
        Ok(())
    }
}

/// The outcome of one timed phase.
pub struct Phase {
    pub totals: ConnectionStats,
    pub elapsed: Duration,
    /// CPU time (user + system) the server used during the phase.
    pub server_cpu_seconds: Option<f64>,
    /// CPU time this client used during the phase.
    pub client_cpu_seconds: Option<f64>,
}

impl Phase {
    /// Acknowledged items (events, datapoints) per second.
    pub fn items_per_second(&self) -> f64 {
        self.totals.items as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Sends every batch of `plan` over `connections` (opened beforehand, so
/// the timed phase is requests only) and measures.
pub async fn run(
    connections: Vec<Connection>,
    plan: Arc<Plan>,
    server_pid: Option<u32>,
) -> anyhow::Result<Phase> {
    let client_pid = std::process::id();
    let server_cpu_before = server_pid.and_then(cpu_seconds);
    let client_cpu_before = cpu_seconds(client_pid);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(connections.len());
    for (index, connection) in connections.into_iter().enumerate() {
        tasks.push(tokio::spawn(drive(
            index,
            connection,
            Arc::clone(&plan),
            start,
        )));
    }
    let mut totals = ConnectionStats::new(plan.keep_timeline)?;
    for task in tasks {
        totals.merge(task.await.context("a client connection task panicked")??)?;
    }
    let elapsed = start.elapsed();
    Ok(Phase {
        totals,
        elapsed,
        server_cpu_seconds: cpu_used(server_pid.and_then(cpu_seconds), server_cpu_before),
        client_cpu_seconds: cpu_used(cpu_seconds(client_pid), client_cpu_before),
    })
}

/// One connection's loop: claim a batch number, wait for its slot in open
/// loop, send, record.
async fn drive(
    index: usize,
    mut connection: Connection,
    plan: Arc<Plan>,
    start: tokio::time::Instant,
) -> anyhow::Result<ConnectionStats> {
    let mut stats = ConnectionStats::new(plan.keep_timeline)?;
    let pools = plan.workload.pools().max(1);
    let mut sent_by_this_connection = 0_usize;
    loop {
        let batch_number = plan.next_batch.fetch_add(1, Ordering::Relaxed);
        if batch_number >= plan.total_batches {
            stats.reconnects = connection.reconnects;
            return Ok(stats);
        }
        let due = match plan.batch_interval {
            Some(interval) => {
                let due = start + interval.mul_f64(batch_number as f64);
                tokio::time::sleep_until(due).await;
                Some(due)
            }
            None => None,
        };
        let pool = (index + sent_by_this_connection * plan.connections) % pools;
        // Connections sharing a pool start at different entries.
        let round = sent_by_this_connection + index;
        sent_by_this_connection += 1;
        let Some(batch) = plan.workload.batch(pool, round) else {
            bail!("no pre-built batch in pool {pool}");
        };

        let sent_at = tokio::time::Instant::now();
        let outcome = connection
            .call_prehashed(plan.operation, batch.body.clone(), &batch.payload_sha256)
            .await;
        let finished = tokio::time::Instant::now();
        match outcome {
            Ok(reply) if is_fully_accepted(&reply) => {
                let latency = finished - due.unwrap_or(sent_at);
                stats.latency_micros.saturating_record(micros(latency));
                stats
                    .service_micros
                    .saturating_record(micros(finished - sent_at));
                stats.batches += 1;
                stats.items += batch.events;
                stats.message_bytes += batch.message_bytes;
                stats.request_bytes += batch.body.len() as u64;
                if let Some(timeline) = &mut stats.timeline {
                    timeline.push(BatchTiming {
                        batch_number,
                        connection: index,
                        due: due.unwrap_or(sent_at) - start,
                        sent: sent_at - start,
                        finished: finished - start,
                    });
                }
            }
            Ok(reply) => stats.record_error(format!(
                "{} batch {batch_number}: {}",
                plan.operation,
                reply.describe()
            )),
            Err(error) => {
                stats.record_error(format!(
                    "{} batch {batch_number}: {error:#}",
                    plan.operation
                ));
                if let Err(error) = connection.reopen().await {
                    stats
                        .record_error(format!("connection {index} could not reconnect: {error:#}"));
                    stats.reconnects = connection.reconnects;
                    return Ok(stats);
                }
            }
        }
    }
}

/// `batch,connection,due_ms,sent_ms,finished_ms,latency_ms,service_ms`, in batch order.
pub fn write_latency_log(path: &Path, timeline: &mut [BatchTiming]) -> anyhow::Result<()> {
    use std::io::Write as _;
    timeline.sort_by_key(|timing| timing.batch_number);
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(
        out,
        "batch,connection,due_ms,sent_ms,finished_ms,latency_ms,service_ms"
    )?;
    let millis = |duration: Duration| duration.as_secs_f64() * 1_000.0;
    for timing in timeline.iter() {
        writeln!(
            out,
            "{},{},{:.3},{:.3},{:.3},{:.3},{:.3}",
            timing.batch_number,
            timing.connection,
            millis(timing.due),
            millis(timing.sent),
            millis(timing.finished),
            millis(timing.finished.saturating_sub(timing.due)),
            millis(timing.finished.saturating_sub(timing.sent)),
        )?;
    }
    out.flush()?;
    Ok(())
}

/// 200 and no `rejectedLogEventsInfo`: every event (or datapoint) of the
/// batch was stored.
pub fn is_fully_accepted(reply: &Reply) -> bool {
    reply.status == http::StatusCode::OK
        && memchr::memmem::find(&reply.body, b"rejectedLogEventsInfo").is_none()
}

pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_events_are_not_an_acknowledgement() {
        let accepted = Reply {
            status: http::StatusCode::OK,
            body: bytes::Bytes::from_static(br#"{"nextSequenceToken":"1"}"#),
        };
        assert!(is_fully_accepted(&accepted));
        let rejected = Reply {
            status: http::StatusCode::OK,
            body: bytes::Bytes::from_static(br#"{"nextSequenceToken":"1","rejectedLogEventsInfo":{"tooOldLogEventEndIndex":3}}"#),
        };
        assert!(!is_fully_accepted(&rejected));
        let throttled = Reply {
            status: http::StatusCode::BAD_REQUEST,
            body: bytes::Bytes::new(),
        };
        assert!(!is_fully_accepted(&throttled));
    }
}
