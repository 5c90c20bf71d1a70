//! CreateLogStream, DeleteLogStream, DescribeLogStreams.

use std::cmp::Ordering;

use argus_core::{ApiError, RequestContext, arn};
use argus_storage::logs::StreamInfo;
use serde::{Deserialize, Serialize};

use crate::Empty;
use super::{LogsService, named_group, resolve_group, store_error, tokens};

const DEFAULT_DESCRIBE_LIMIT: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRequest {
    log_group_name: String,
    log_stream_name: String,
}

pub async fn create(service: &LogsService, ctx: &RequestContext, request: StreamRequest) -> Result<Empty, ApiError> {
    let group = named_group(&service.store, ctx, &request.log_group_name)?;
    service.store.create_stream(group.id, &request.log_stream_name, service.now()).await.map_err(store_error)?;
    Ok(Empty {})
}

pub async fn delete(service: &LogsService, ctx: &RequestContext, request: StreamRequest) -> Result<Empty, ApiError> {
    let group = named_group(&service.store, ctx, &request.log_group_name)?;
    service.store.delete_stream(group.id, &request.log_stream_name).await.map_err(store_error)?;
    Ok(Empty {})
}

/// The sequence token PutLogEvents and DescribeLogStreams report. AWS no
/// longer checks sequence tokens; old clients still read and send them.
pub fn sequence_token(stream_id: u64, last_ingestion_ms: i64) -> String {
    format!("{stream_id:020}{:036}", last_ingestion_ms.max(0))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStreamView {
    log_stream_name: String,
    creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_event_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_event_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_ingestion_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_sequence_token: Option<String>,
    arn: String,
    stored_bytes: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsResponse {
    log_streams: Vec<LogStreamView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Where a DescribeLogStreams page ended: the sort key of its last stream.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct StreamsPosition {
    /// `lastEventTimestamp` (LastEventTime order only).
    last_event: Option<i64>,
    name: String,
    by_time: bool,
    descending: bool,
}

pub fn describe(service: &LogsService, ctx: &RequestContext, request: DescribeLogStreamsRequest) -> Result<DescribeLogStreamsResponse, ApiError> {
    let by_time = match request.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            )));
        }
    };
    if by_time && request.log_stream_name_prefix.is_some() {
        return Err(ApiError::invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    let group = resolve_group(&service.store, ctx, request.log_group_name.as_deref(), request.log_group_identifier.as_deref())?;
    let descending = request.descending.unwrap_or(false);
    let after = match &request.next_token {
        Some(token) => {
            let position: StreamsPosition = tokens::decode(token)?;
            if position.by_time != by_time || position.descending != descending {
                return Err(tokens::invalid());
            }
            Some(position)
        }
        None => None,
    };

    let prefix = request.log_stream_name_prefix.as_deref().unwrap_or("");
    let mut streams: Vec<StreamInfo> = service
        .store
        .list_streams(group.id)
        .map_err(store_error)?
        .into_iter()
        .filter(|stream| stream.name.starts_with(prefix))
        .collect();
    let order = |a: &StreamInfo, b: &StreamInfo| -> Ordering {
        let ascending = if by_time {
            a.last_event_ms.unwrap_or(0).cmp(&b.last_event_ms.unwrap_or(0)).then_with(|| a.name.cmp(&b.name))
        } else {
            a.name.cmp(&b.name)
        };
        if descending { ascending.reverse() } else { ascending }
    };
    streams.sort_by(order);
    let start = match &after {
        None => 0,
        Some(position) => {
            let marker = StreamInfo {
                id: 0,
                group_id: group.id,
                name: position.name.clone(),
                created_ms: 0,
                first_event_ms: None,
                last_event_ms: position.last_event,
                last_ingestion_ms: None,
                stored_bytes: 0,
            };
            streams.partition_point(|stream| order(stream, &marker) != Ordering::Greater)
        }
    };
    let limit = request.limit.unwrap_or(DEFAULT_DESCRIBE_LIMIT);
    let remaining = streams.len().saturating_sub(start);
    let page: Vec<StreamInfo> = streams.into_iter().skip(start).take(limit).collect();
    let next_token = match page.last() {
        Some(last) if remaining > limit => Some(tokens::encode(&StreamsPosition {
            last_event: if by_time { Some(last.last_event_ms.unwrap_or(0)) } else { None },
            name: last.name.clone(),
            by_time,
            descending,
        })),
        _ => None,
    };
    let log_streams = page
        .into_iter()
        .map(|stream| LogStreamView {
            arn: arn::log_stream(&ctx.region, &ctx.account_id, &group.name, &stream.name),
            upload_sequence_token: stream.last_ingestion_ms.map(|ms| sequence_token(stream.id, ms)),
            log_stream_name: stream.name,
            creation_time: stream.created_ms,
            first_event_timestamp: stream.first_event_ms,
            last_event_timestamp: stream.last_event_ms,
            last_ingestion_time: stream.last_ingestion_ms,
            stored_bytes: stream.stored_bytes,
        })
        .collect();
    Ok(DescribeLogStreamsResponse { log_streams, next_token })
}
