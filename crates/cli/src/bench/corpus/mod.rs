//! A seeded generator of realistic log events for the query benchmark: ALB
//! access logs, nginx JSON access logs, application JSON, plain-text lines
//! and Java stack traces over ten streams (`formats.rs`), spread evenly over
//! the 13 days before an end time.
//!
//! The corpus is a pure function of (seed, number of events, end time):
//! events are generated in chunks of [`CHUNK_EVENTS`], each with its own
//! random source derived from the seed and the chunk number, so chunks are
//! built in parallel and the result does not depend on the thread count or
//! the machine. The end time only moves the timestamps (written with a fixed
//! width), so sizes and match counts depend on the seed and the number of
//! events alone.
//!
//! Requests are correlated as in a real deployment: a request line (ALB,
//! nginx, application, PACS backend) is, more often than not, about a
//! request another tier logged a moment before, with the same request id,
//! trace id, user, path and outcome.
//!
//! Exactly one event holds the *needle*: a request id (a UUID drawn from the
//! seed) that occurs nowhere else, at an event between 35% and 65% of the
//! time range. The generator counts, by construction or by searching each
//! message once, what the benchmark's queries must find.

mod formats;
mod text;

use memchr::memmem::Finder;
use serde::Serialize;

pub use formats::Kind;
use formats::{Facts, Line, MIX_PER_MILLION, RecentRequests, STREAMS, Source, streams_of};
use text::{Civil, Rng, push_uuid_from};

/// Events per independently seeded chunk.
pub const CHUNK_EVENTS: usize = 1 << 16;
/// The corpus covers this much time before its end (inside CloudWatch's
/// 14-day PutLogEvents window).
pub const SPAN_MS: i64 = 13 * 24 * 3_600_000;
/// The term of the "first page" query.
pub const COMMON_TERM: &str = "ERROR";
/// The JSON pattern of the "full count" query.
pub const JSON_PATTERN: &str = "{ $.status >= 500 && $.latency > 1000 }";

/// What to generate.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CorpusSpec {
    pub seed: u64,
    pub events: u64,
    /// Unix milliseconds of the newest event's time range end.
    pub end_ms: i64,
}

/// One generated event.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub timestamp_ms: i64,
    pub message: &'a str,
}

/// Events of one chunk: their messages back to back in one string.
#[derive(Debug)]
struct Chunk {
    text: String,
    /// End offset of each message in `text`.
    ends: Vec<u32>,
    streams: Vec<u8>,
}

/// Counts for one kind of message.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct KindStats {
    pub events: u64,
    pub bytes: u64,
}

/// What the corpus holds and what the queries must find in it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CorpusStats {
    pub events: u64,
    /// UTF-8 message bytes (what CloudWatch counts as raw log data).
    pub message_bytes: u64,
    pub largest_message_bytes: u64,
    /// Per kind, in the order of [`Kind::ALL`].
    pub by_kind: Vec<(Kind, KindStats)>,
    /// Events per stream, in the order of [`Corpus::stream_names`].
    pub by_stream: Vec<(String, u64)>,
    /// Events whose message contains [`COMMON_TERM`].
    pub term_events: u64,
    /// Events that satisfy [`JSON_PATTERN`].
    pub json_pattern_events: u64,
}

/// The generated corpus, held in memory.
#[derive(Debug)]
pub struct Corpus {
    pub spec: CorpusSpec,
    chunks: Vec<Chunk>,
    pub stats: CorpusStats,
    /// The request id that occurs in exactly one event.
    pub needle: String,
    pub needle_index: u64,
}

impl Corpus {
    /// Generates the corpus on `threads` threads (the result is the same for
    /// any thread count).
    pub fn generate(spec: CorpusSpec, threads: usize) -> Self {
        let needle_index = needle_index(spec.seed, spec.events);
        let needle = needle_request_id(spec.seed);
        let chunk_count =
            usize::try_from(spec.events.div_ceil(CHUNK_EVENTS as u64)).unwrap_or(usize::MAX);
        let threads = threads.clamp(1, chunk_count.max(1));
        let mut slots: Vec<Option<(Chunk, CorpusStats)>> = (0..chunk_count).map(|_| None).collect();
        std::thread::scope(|scope| {
            let per_thread = chunk_count.div_ceil(threads).max(1);
            for (thread, slice) in slots.chunks_mut(per_thread).enumerate() {
                let needle = needle.as_str();
                scope.spawn(move || {
                    for (offset, slot) in slice.iter_mut().enumerate() {
                        let chunk_number = (thread * per_thread + offset) as u64;
                        *slot = Some(generate_chunk(spec, chunk_number, needle_index, needle));
                    }
                });
            }
        });
        let mut chunks = Vec::with_capacity(chunk_count);
        let mut stats = CorpusStats {
            by_kind: Kind::ALL
                .iter()
                .map(|&kind| (kind, KindStats::default()))
                .collect(),
            by_stream: STREAMS
                .iter()
                .map(|(name, _)| ((*name).to_owned(), 0))
                .collect(),
            ..CorpusStats::default()
        };
        for (chunk, chunk_stats) in slots.into_iter().flatten() {
            stats.add(&chunk_stats);
            chunks.push(chunk);
        }
        Self {
            spec,
            chunks,
            stats,
            needle,
            needle_index,
        }
    }

    pub fn len(&self) -> u64 {
        self.spec.events
    }

    pub fn stream_names() -> Vec<&'static str> {
        STREAMS.iter().map(|(name, _)| *name).collect()
    }

    /// The timestamp of event `index`: evenly spread over the span, so
    /// chronological overall and within each stream.
    pub fn timestamp_of(&self, index: u64) -> i64 {
        timestamp_of(self.spec, index)
    }

    pub fn event(&self, index: u64) -> Option<Event<'_>> {
        let chunk = self
            .chunks
            .get(usize::try_from(index / CHUNK_EVENTS as u64).ok()?)?;
        let local = usize::try_from(index % CHUNK_EVENTS as u64).ok()?;
        let start = match local.checked_sub(1) {
            Some(previous) => *chunk.ends.get(previous)? as usize,
            None => 0,
        };
        let end = *chunk.ends.get(local)? as usize;
        Some(Event {
            timestamp_ms: self.timestamp_of(index),
            message: chunk.text.get(start..end)?,
        })
    }

    /// The raw text: every message back to back, in pieces of one chunk.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.chunks.iter().map(|chunk| chunk.text.as_str())
    }

    /// Event indexes of each stream, in order.
    pub fn events_by_stream(&self) -> Vec<Vec<u32>> {
        let mut by_stream: Vec<Vec<u32>> = STREAMS.iter().map(|_| Vec::new()).collect();
        let mut index = 0_u32;
        for chunk in &self.chunks {
            for &stream in &chunk.streams {
                if let Some(list) = by_stream.get_mut(usize::from(stream)) {
                    list.push(index);
                }
                index += 1;
            }
        }
        by_stream
    }
}

impl CorpusStats {
    fn add(&mut self, other: &CorpusStats) {
        self.events += other.events;
        self.message_bytes += other.message_bytes;
        self.largest_message_bytes = self.largest_message_bytes.max(other.largest_message_bytes);
        self.term_events += other.term_events;
        self.json_pattern_events += other.json_pattern_events;
        for ((_, mine), (_, theirs)) in self.by_kind.iter_mut().zip(&other.by_kind) {
            mine.events += theirs.events;
            mine.bytes += theirs.bytes;
        }
        for ((_, mine), (_, theirs)) in self.by_stream.iter_mut().zip(&other.by_stream) {
            *mine += theirs;
        }
    }
}

fn timestamp_of(spec: CorpusSpec, index: u64) -> i64 {
    let start = spec.end_ms - SPAN_MS;
    let offset = i128::from(index) * i128::from(SPAN_MS) / i128::from(spec.events.max(1));
    start + i64::try_from(offset).unwrap_or(SPAN_MS)
}

/// Where the needle goes: between 35% and 65% of the events (and so of the
/// time range), decided by the seed.
fn needle_index(seed: u64, events: u64) -> u64 {
    let mut rng = Rng::derive(seed, u64::MAX);
    let low = events * 35 / 100;
    let high = (events * 65 / 100).max(low);
    rng.between(low, high).min(events.saturating_sub(1))
}

/// The needle request id: a UUID drawn from the seed on its own stream.
fn needle_request_id(seed: u64) -> String {
    let mut rng = Rng::derive(seed, u64::MAX - 1);
    let mut out = Vec::with_capacity(36);
    push_uuid_from(&mut out, rng.next_u64(), rng.next_u64());
    String::from_utf8(out).unwrap_or_default()
}

fn generate_chunk(
    spec: CorpusSpec,
    chunk_number: u64,
    needle_index: u64,
    needle: &str,
) -> (Chunk, CorpusStats) {
    let first = chunk_number * CHUNK_EVENTS as u64;
    let last = (first + CHUNK_EVENTS as u64).min(spec.events);
    let count = usize::try_from(last.saturating_sub(first)).unwrap_or(0);
    let mut rng = Rng::derive(spec.seed, chunk_number);
    // Room for a chunk of a little above average size, so it rarely grows.
    let mut out = Vec::with_capacity(count * 240);
    let mut ends = Vec::with_capacity(count);
    let mut streams = Vec::with_capacity(count);
    let mut stats = CorpusStats {
        by_kind: Kind::ALL
            .iter()
            .map(|&kind| (kind, KindStats::default()))
            .collect(),
        by_stream: STREAMS
            .iter()
            .map(|(name, _)| ((*name).to_owned(), 0))
            .collect(),
        ..CorpusStats::default()
    };
    let term = Finder::new(COMMON_TERM);
    let mut requests = RecentRequests::default();
    for index in first..last {
        let timestamp_ms = timestamp_of(spec, index);
        let is_needle = index == needle_index;
        let kind = if is_needle {
            Kind::NginxJson
        } else {
            rng.weighted(&MIX_PER_MILLION)
        };
        let stream = rng.weighted(streams_of(kind));
        let source = STREAMS
            .get(stream)
            .map_or(Source::Nginx, |(_, source)| *source);
        let start = out.len();
        let mut line = Line {
            out: &mut out,
            rng: &mut rng,
            requests: &mut requests,
            timestamp_ms,
            civil: Civil::from_unix_millis(timestamp_ms),
        };
        let facts: Facts = formats::write(kind, source, &mut line, is_needle.then_some(needle));
        let message = out.get(start..).unwrap_or_default();
        let length = message.len() as u64;
        stats.events += 1;
        stats.message_bytes += length;
        stats.largest_message_bytes = stats.largest_message_bytes.max(length);
        stats.term_events += u64::from(term.find(message).is_some());
        stats.json_pattern_events += u64::from(facts.json_pattern_match);
        if let Some((_, kind_stats)) = stats.by_kind.get_mut(kind.index()) {
            kind_stats.events += 1;
            kind_stats.bytes += length;
        }
        if let Some((_, events)) = stats.by_stream.get_mut(stream) {
            *events += 1;
        }
        ends.push(u32::try_from(out.len()).unwrap_or(u32::MAX));
        streams.push(u8::try_from(stream).unwrap_or_default());
    }
    // Every writer emits ASCII, so this never fails; an empty chunk would
    // only hide a bug, which the tests would catch.
    let text = String::from_utf8(out).unwrap_or_default();
    (
        Chunk {
            text,
            ends,
            streams,
        },
        stats,
    )
}

#[cfg(test)]
mod tests;
