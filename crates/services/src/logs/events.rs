//! PutLogEvents, GetLogEvents, FilterLogEvents.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use argus_core::{ApiError, RequestContext};
use argus_query::filter::FilterPattern;
use argus_storage::logs::{
    Direction, EventKey, NewEvent, PageLimits, ScanFilter, StoredEvent, StreamFilter, StreamInfo, TokenQuery,
};
use serde::{Deserialize, Serialize};

use super::streams::sequence_token;
use super::tokens::{self, StreamPosition};
use super::{LogsService, messages, named_group, resolve_group, store_error};
use crate::monitoring::scope as metric_scope;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// PutLogEvents: a batch may hold this many bytes, counting each event's
/// UTF-8 message plus [`EVENT_OVERHEAD`].
pub const MAX_BATCH_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
/// GetLogEvents / FilterLogEvents answer with at most this many bytes.
const MAX_RESPONSE_BYTES: usize = 1_048_576;
const MAX_EVENTS_PER_PAGE: usize = 10_000;

fn response_cost(event: &StoredEvent) -> usize {
    event.message.len() + EVENT_OVERHEAD
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputLogEvent {
    timestamp: i64,
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogEventsRequest {
    log_group_name: String,
    log_stream_name: String,
    log_events: Vec<InputLogEvent>,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RejectedLogEventsInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    too_new_log_event_start_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    too_old_log_event_end_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expired_log_event_end_index: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLogEventsResponse {
    next_sequence_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected_log_events_info: Option<RejectedLogEventsInfo>,
}

/// Which events of a chronological batch are accepted: `accepted` is the
/// index range to store, `rejected` what to report.
#[derive(Debug, PartialEq, Eq)]
pub struct Admission {
    pub accepted: std::ops::Range<usize>,
    /// Events neither too old nor too new (expired ones included).
    pub valid: std::ops::Range<usize>,
    pub rejected: RejectedLogEventsInfo,
}

/// AWS's rules for a batch already known to be chronological: events more
/// than 14 days old or older than the group's retention are rejected from
/// the front, events more than 2 hours ahead from the back. The end
/// indexes are exclusive, the start index inclusive.
pub fn admit(timestamps: &[i64], now: i64, retention_days: Option<i32>) -> Admission {
    let too_old_before = now - 14 * DAY_MS;
    let too_new_after = now + 2 * HOUR_MS;
    let too_old = timestamps.partition_point(|&ts| ts < too_old_before);
    let expired = match retention_days {
        Some(days) => timestamps.partition_point(|&ts| ts < now - i64::from(days) * DAY_MS),
        None => 0,
    };
    let too_new = timestamps.partition_point(|&ts| ts <= too_new_after);
    let start = too_old.max(expired).min(too_new);
    Admission {
        accepted: start..too_new,
        valid: too_old.min(too_new)..too_new,
        rejected: RejectedLogEventsInfo {
            too_new_log_event_start_index: (too_new < timestamps.len()).then_some(too_new),
            too_old_log_event_end_index: (too_old > 0).then_some(too_old),
            expired_log_event_end_index: (expired > 0).then_some(expired),
        },
    }
}

pub async fn put(service: &LogsService, ctx: &RequestContext, request: PutLogEventsRequest) -> Result<PutLogEventsResponse, ApiError> {
    let group = named_group(&service.store, ctx, &request.log_group_name)?;
    let stream = service
        .store
        .stream(group.id, &request.log_stream_name)
        .ok_or_else(|| ApiError::not_found(messages::STREAM_NOT_FOUND))?;

    let batch_bytes: usize = request.log_events.iter().map(|event| event.message.len() + EVENT_OVERHEAD).sum();
    if batch_bytes > MAX_BATCH_BYTES {
        return Err(ApiError::invalid_parameter(format!(
            "Upload too large: {batch_bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    let timestamps: Vec<i64> = request.log_events.iter().map(|event| event.timestamp).collect();
    if timestamps.windows(2).any(|pair| matches!(pair, [earlier, later] if later < earlier)) {
        return Err(ApiError::invalid_parameter(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }
    let now = service.now();
    let admission = admit(&timestamps, now, group.retention_days);
    // The span rule counts the valid events only (within 14 days back and
    // 2 hours ahead); too-old and too-new events are reported, not refused.
    let valid = timestamps.get(admission.valid.clone()).unwrap_or_default();
    if let (Some(first), Some(last)) = (valid.first(), valid.last())
        && last - first > DAY_MS
    {
        return Err(ApiError::invalid_parameter(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
        ));
    }
    let accepted: Vec<NewEvent> = request
        .log_events
        .into_iter()
        .skip(admission.accepted.start)
        .take(admission.accepted.len())
        .map(|event| NewEvent { timestamp: event.timestamp, message: event.message })
        .collect();
    if !accepted.is_empty() {
        // Metric filters see exactly the accepted events. Their datapoints
        // go to the metrics WAL while the events go to the logs WAL, both
        // durable before the batch is acknowledged.
        let datapoints = service.metric_filters.datapoints(group.id, &accepted);
        let events = service.store.append(group.id, stream.id, accepted, now);
        if datapoints.is_empty() {
            events.await.map_err(store_error)?;
        } else {
            let metric_scope = metric_scope(ctx);
            let metrics = service.metric_store.put(&metric_scope, datapoints);
            let (events, metrics) = tokio::join!(events, metrics);
            events.map_err(store_error)?;
            metrics.map_err(crate::monitoring::store_error)?;
        }
    }
    let rejected = (admission.rejected != RejectedLogEventsInfo::default()).then_some(admission.rejected);
    if let Some(rejected) = &rejected {
        tracing::debug!(group = %group.name, stream = %stream.name, ?rejected, "rejected log events");
    }
    Ok(PutLogEventsResponse { next_sequence_token: sequence_token(stream.id, now), rejected_log_events_info: rejected })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<usize>,
    start_from_head: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputLogEvent {
    timestamp: i64,
    message: String,
    ingestion_time: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsResponse {
    events: Vec<OutputLogEvent>,
    next_forward_token: String,
    next_backward_token: String,
}

/// The key just before `key` in event order.
fn predecessor(key: EventKey) -> EventKey {
    match key.event_id.checked_sub(1) {
        Some(event_id) => EventKey { timestamp: key.timestamp, event_id },
        None => EventKey { timestamp: key.timestamp.saturating_sub(1), event_id: u64::MAX },
    }
}

/// The key just after `key` in event order.
fn successor(key: EventKey) -> EventKey {
    match key.event_id.checked_add(1) {
        Some(event_id) => EventKey { timestamp: key.timestamp, event_id },
        None => EventKey { timestamp: key.timestamp.saturating_add(1), event_id: 0 },
    }
}

pub async fn get(service: &LogsService, ctx: &RequestContext, request: GetLogEventsRequest) -> Result<GetLogEventsResponse, ApiError> {
    let group = resolve_group(&service.store, ctx, request.log_group_name.as_deref(), request.log_group_identifier.as_deref())?;
    let stream = service
        .store
        .stream(group.id, &request.log_stream_name)
        .ok_or_else(|| ApiError::not_found(messages::STREAM_NOT_FOUND))?;
    let position = match &request.next_token {
        Some(token) => Some(tokens::decode_stream_position(token, stream.id)?),
        None => None,
    };
    let start_ts = request.start_time.unwrap_or(i64::MIN);
    // GetLogEvents' endTime is exclusive.
    let end_ts = request.end_time.map_or(i64::MAX, |end| end.saturating_sub(1));
    let (direction, after) = match position {
        Some(StreamPosition::Forward(key)) => (Direction::Forward, Some(key)),
        Some(StreamPosition::Backward(key)) => (Direction::Backward, Some(key)),
        None if request.start_from_head.unwrap_or(false) => (Direction::Forward, None),
        None => (Direction::Backward, None),
    };
    let filter =
        ScanFilter { streams: StreamFilter::One(stream.id), start_ts, end_ts, predicate: None, tokens: TokenQuery::default() };
    let limits = PageLimits { max_events: request.limit.unwrap_or(MAX_EVENTS_PER_PAGE), max_bytes: MAX_RESPONSE_BYTES };
    let mut page = service
        .store
        .read(group.id, filter, direction, after, limits, response_cost)
        .await
        .map_err(store_error)?;
    if direction == Direction::Backward {
        page.events.reverse();
    }

    let (forward, backward) = match (page.events.first(), page.events.last()) {
        (Some(first), Some(last)) => (StreamPosition::Forward(last.key), StreamPosition::Backward(first.key)),
        // Nothing more this way: the token the client sent comes back, and
        // the opposite token starts from the same place.
        _ => match position {
            Some(StreamPosition::Forward(key)) => (StreamPosition::Forward(key), StreamPosition::Backward(successor(key))),
            Some(StreamPosition::Backward(key)) => (StreamPosition::Forward(predecessor(key)), StreamPosition::Backward(key)),
            None => {
                let start = EventKey { timestamp: start_ts, event_id: 0 };
                (StreamPosition::Forward(predecessor(start)), StreamPosition::Backward(start))
            }
        },
    };
    Ok(GetLogEventsResponse {
        events: page
            .events
            .into_iter()
            .map(|event| OutputLogEvent { timestamp: event.key.timestamp, message: event.message, ingestion_time: event.ingestion_ms })
            .collect(),
        next_forward_token: tokens::encode_stream_position(forward, stream.id),
        next_backward_token: tokens::encode_stream_position(backward, stream.id),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilteredLogEvent {
    log_stream_name: String,
    timestamp: i64,
    message: String,
    ingestion_time: i64,
    event_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsResponse {
    events: Vec<FilteredLogEvent>,
    /// Always empty, as on AWS since May 2020.
    searched_log_streams: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Where a FilterLogEvents page ended (the key of its last event), bound
/// to the group it came from.
#[derive(Debug, Serialize, Deserialize)]
struct FilterPosition {
    group: u64,
    ts: i64,
    id: u64,
}

/// The `eventId` FilterLogEvents reports: 56 digits, unique per event.
fn event_id_string(key: EventKey, stream_id: u64) -> String {
    let shifted = (i128::from(key.timestamp) + (1i128 << 63)) as u64;
    format!("{shifted:020}{:020}{:016}", key.event_id, stream_id % 10_000_000_000_000_000)
}

pub async fn filter(service: &LogsService, ctx: &RequestContext, request: FilterLogEventsRequest) -> Result<FilterLogEventsResponse, ApiError> {
    if request.log_stream_names.is_some() && request.log_stream_name_prefix.is_some() {
        return Err(ApiError::invalid_parameter(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
        ));
    }
    let group = resolve_group(&service.store, ctx, request.log_group_name.as_deref(), request.log_group_identifier.as_deref())?;
    let pattern = FilterPattern::parse(request.filter_pattern.as_deref().unwrap_or(""))
        .map_err(|error| ApiError::invalid_parameter(error.to_string()))?;
    let after = match &request.next_token {
        Some(token) => {
            let position: FilterPosition = tokens::decode(token)?;
            if position.group != group.id {
                return Err(tokens::invalid());
            }
            Some(EventKey { timestamp: position.ts, event_id: position.id })
        }
        None => None,
    };

    let all_streams = service.store.list_streams(group.id).map_err(store_error)?;
    let selected: Vec<StreamInfo> = match (&request.log_stream_names, &request.log_stream_name_prefix) {
        (Some(names), _) => {
            let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
            let found: Vec<StreamInfo> =
                all_streams.into_iter().filter(|stream| wanted.contains(stream.name.as_str())).collect();
            // AWS refuses the whole request when a named stream is missing.
            if found.len() < wanted.len() {
                return Err(ApiError::not_found(messages::STREAM_NOT_FOUND));
            }
            found
        }
        (None, Some(prefix)) => all_streams.into_iter().filter(|stream| stream.name.starts_with(prefix.as_str())).collect(),
        (None, None) => all_streams,
    };
    if selected.is_empty() {
        return Ok(FilterLogEventsResponse { events: Vec::new(), searched_log_streams: Vec::new(), next_token: None });
    }
    let names: HashMap<u64, String> = selected.iter().map(|stream| (stream.id, stream.name.clone())).collect();
    let literals = pattern.required_literals();
    let tokens = TokenQuery::from_literals(
        literals.iter().map(|alternatives| alternatives.iter().map(|literal| (literal.text.as_str(), literal.whole_word))),
    );
    let predicate: Option<argus_storage::logs::MessagePredicate> = if pattern.is_match_all() {
        None
    } else {
        let pattern = Arc::new(pattern);
        Some(Arc::new(move |message: &str| pattern.matches(message)))
    };
    let filter = ScanFilter {
        streams: StreamFilter::Set(Arc::new(names.keys().copied().collect())),
        start_ts: request.start_time.unwrap_or(i64::MIN),
        end_ts: request.end_time.unwrap_or(i64::MAX),
        predicate,
        tokens,
    };
    let limits = PageLimits { max_events: request.limit.unwrap_or(MAX_EVENTS_PER_PAGE), max_bytes: MAX_RESPONSE_BYTES };
    let page = service
        .store
        .read(group.id, filter, Direction::Forward, after, limits, response_cost)
        .await
        .map_err(store_error)?;
    let next_token = match page.events.last() {
        Some(last) if page.more => {
            Some(tokens::encode(&FilterPosition { group: group.id, ts: last.key.timestamp, id: last.key.event_id }))
        }
        _ => None,
    };
    let events = page
        .events
        .into_iter()
        .map(|event| FilteredLogEvent {
            log_stream_name: names.get(&event.stream_id).cloned().unwrap_or_default(),
            timestamp: event.key.timestamp,
            event_id: event_id_string(event.key, event.stream_id),
            message: event.message,
            ingestion_time: event.ingestion_ms,
        })
        .collect();
    // searchedLogStreams: AWS has returned an empty list since May 2020.
    Ok(FilterLogEventsResponse { events, searched_log_streams: Vec::new(), next_token })
}

#[cfg(test)]
mod admission_tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn accepts_everything_in_the_window() {
        let admission = admit(&[NOW - DAY_MS, NOW, NOW + HOUR_MS], NOW, None);
        assert_eq!(admission.accepted, 0..3);
        assert_eq!(admission.rejected, RejectedLogEventsInfo::default());
    }

    #[test]
    fn too_old_and_too_new_are_cut_from_the_ends_with_aws_index_rules() {
        let batch = [NOW - 15 * DAY_MS, NOW - 15 * DAY_MS + 1, NOW, NOW + 3 * HOUR_MS];
        let admission = admit(&batch, NOW, None);
        assert_eq!(admission.accepted, 2..3);
        assert_eq!(admission.rejected.too_old_log_event_end_index, Some(2), "end index is exclusive");
        assert_eq!(admission.rejected.too_new_log_event_start_index, Some(3), "start index is inclusive");
        assert_eq!(admission.rejected.expired_log_event_end_index, None);
    }

    #[test]
    fn retention_shorter_than_fourteen_days_expires_events() {
        let batch = [NOW - 5 * DAY_MS, NOW - 2 * DAY_MS, NOW];
        let admission = admit(&batch, NOW, Some(3));
        assert_eq!(admission.accepted, 1..3);
        assert_eq!(admission.rejected.expired_log_event_end_index, Some(1));
        assert_eq!(admission.rejected.too_old_log_event_end_index, None);
    }

    #[test]
    fn everything_rejected_leaves_an_empty_range() {
        let admission = admit(&[NOW - 20 * DAY_MS, NOW + 5 * HOUR_MS], NOW, None);
        assert!(admission.accepted.is_empty());
    }
}
