//! GetLogRecord (one event from a result row's `@ptr`) and
//! GetLogGroupFields (the fields of a group's recent events).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use argus_core::{ApiError, RequestContext};
use argus_query::insights::exec::{self, ptr};
use argus_storage::logs::{Direction, EventKey, PageLimits, ScanFilter, StoredEvent, StreamFilter, TokenQuery};
use serde::{Deserialize, Serialize};

use super::super::{LogsService, resolve_group, scope, store_error};

/// Events GetLogGroupFields samples.
const SAMPLE: usize = 1000;
/// It samples events of the 15 minutes before `time` (AWS), or, when
/// there are none, the newest events before it.
const WINDOW_MS: i64 = 15 * 60 * 1000;

const SYSTEM_FIELDS: [&str; 5] = ["@ingestionTime", "@log", "@logStream", "@message", "@timestamp"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogRecordRequest {
    log_record_pointer: String,
    #[allow(dead_code)]
    unmask: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogRecordResponse {
    log_record: BTreeMap<String, String>,
}

fn bad_pointer() -> ApiError {
    ApiError::invalid_parameter("The specified logRecordPointer is not valid: pass the @ptr value of a query result row.")
}

fn record_not_found() -> ApiError {
    ApiError::not_found("The log record does not exist (its log group, stream or event was deleted or has expired).")
}

pub async fn get_log_record(service: &LogsService, ctx: &RequestContext, request: GetLogRecordRequest) -> Result<GetLogRecordResponse, ApiError> {
    let pointer = ptr::decode(&request.log_record_pointer).ok_or_else(bad_pointer)?;
    let (account, group_name) = pointer.log.split_once(':').ok_or_else(bad_pointer)?;
    if account != ctx.account_id {
        return Err(record_not_found());
    }
    let group = service.store.group(&scope(ctx), group_name).ok_or_else(record_not_found)?;
    let streams: HashMap<u64, String> =
        service.store.list_streams(group.id).map_err(store_error)?.into_iter().map(|stream| (stream.id, stream.name)).collect();
    let filter = ScanFilter {
        streams: StreamFilter::Set(Arc::new(streams.keys().copied().collect::<HashSet<u64>>())),
        start_ts: pointer.timestamp,
        end_ts: pointer.timestamp,
        predicate: None,
        tokens: TokenQuery::default(),
    };
    let after = pointer.event_id.checked_sub(1).map(|event_id| EventKey { timestamp: pointer.timestamp, event_id });
    let limits = PageLimits { max_events: 1, max_bytes: usize::MAX };
    let page = service.store.read(group.id, filter, Direction::Forward, after, limits, |_| 0).await.map_err(store_error)?;
    let event = page.events.into_iter().find(|event| event.key.event_id == pointer.event_id).ok_or_else(record_not_found)?;
    let stream = streams.get(&event.stream_id).cloned().unwrap_or_default();
    let mut record: BTreeMap<String, String> = BTreeMap::new();
    for (field, value) in exec::discovered_fields(&event.message) {
        record.entry(field).or_insert(value);
    }
    record.insert("@timestamp".into(), event.key.timestamp.to_string());
    record.insert("@ingestionTime".into(), event.ingestion_ms.to_string());
    record.insert("@logStream".into(), stream);
    record.insert("@log".into(), pointer.log.clone());
    record.insert("@message".into(), event.message);
    Ok(GetLogRecordResponse { log_record: record })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogGroupFieldsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    time: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct LogGroupField {
    name: String,
    percent: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogGroupFieldsResponse {
    log_group_fields: Vec<LogGroupField>,
}

pub async fn get_log_group_fields(service: &LogsService, ctx: &RequestContext, request: GetLogGroupFieldsRequest) -> Result<GetLogGroupFieldsResponse, ApiError> {
    let group = resolve_group(&service.store, ctx, request.log_group_name.as_deref(), request.log_group_identifier.as_deref())?;
    // `time` is in seconds; the sample ends at the end of that second.
    let end = request.time.map_or_else(|| service.now(), |seconds| seconds.saturating_mul(1000).saturating_add(999));
    let streams: HashSet<u64> = service.store.list_streams(group.id).map_err(store_error)?.into_iter().map(|stream| stream.id).collect();
    let streams = Arc::new(streams);
    let sample = |start_ts: i64| {
        let filter = ScanFilter { streams: StreamFilter::Set(Arc::clone(&streams)), start_ts, end_ts: end, predicate: None, tokens: TokenQuery::default() };
        let limits = PageLimits { max_events: SAMPLE, max_bytes: 64 << 20 };
        service.store.read(group.id, filter, Direction::Backward, None, limits, |event: &StoredEvent| event.message.len())
    };
    let mut events = sample(end.saturating_sub(WINDOW_MS)).await.map_err(store_error)?.events;
    if events.is_empty() {
        events = sample(i64::MIN).await.map_err(store_error)?.events;
    }
    if events.is_empty() {
        return Ok(GetLogGroupFieldsResponse { log_group_fields: Vec::new() });
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for event in &events {
        let mut seen: HashSet<String> = HashSet::new();
        for (field, _) in exec::discovered_fields(&event.message) {
            if seen.insert(field.clone()) {
                *counts.entry(field).or_default() += 1;
            }
        }
    }
    for field in SYSTEM_FIELDS {
        counts.insert(field.to_string(), events.len());
    }
    let total = events.len();
    let log_group_fields = counts
        .into_iter()
        .map(|(name, count)| LogGroupField { name, percent: i64::try_from((count * 100 + total / 2) / total).unwrap_or(100) })
        .collect();
    Ok(GetLogGroupFieldsResponse { log_group_fields })
}
