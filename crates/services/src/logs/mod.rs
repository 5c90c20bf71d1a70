//! CloudWatch Logs (`logs`, awsJson1.1): log groups and streams, events,
//! retention settings and tags, with AWS's validation rules, limits and
//! error messages (API reference:
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/>).
//!
//! One file per resource: `groups.rs`, `streams.rs`, `events.rs`,
//! `tags.rs`, `metric_filters.rs` (which also turns accepted events into
//! CloudWatch datapoints); paging tokens in `tokens.rs`.

mod events;
mod groups;
pub mod insights;
mod metric_filters;
mod streams;
mod tags;
mod tokens;

use std::sync::Arc;

use argus_core::{ApiError, RequestContext, SharedClock};
use argus_storage::catalog::CatalogError;
use argus_storage::logs::{GroupInfo, LogStore, Scope, StoreError};
use argus_storage::metrics::MetricStore;
use argus_storage::{MetricFilterCatalog, QueryDefinitionCatalog};
use async_trait::async_trait;
use serde_json::Value;

use crate::{AwsService, not_implemented, parse, render};

/// AWS's messages, word for word: clients and tests match on them.
pub(crate) mod messages {
    pub const GROUP_NOT_FOUND: &str = "The specified log group does not exist.";
    pub const STREAM_NOT_FOUND: &str = "The specified log stream does not exist.";
    pub const GROUP_EXISTS: &str = "The specified log group already exists";
    pub const STREAM_EXISTS: &str = "The specified log stream already exists";
    pub const INVALID_TOKEN: &str = "The specified nextToken is invalid.";
    pub const NAME_AND_IDENTIFIER: &str = "LogGroup name and LogGroup ARN are mutually exclusive parameters.";
}

pub struct LogsService {
    store: Arc<LogStore>,
    /// Where metric filters publish.
    metric_store: Arc<MetricStore>,
    filter_catalog: Arc<dyn MetricFilterCatalog>,
    metric_filters: metric_filters::MetricFilters,
    clock: SharedClock,
    /// Saved Logs Insights queries.
    query_definitions: Arc<dyn QueryDefinitionCatalog>,
    /// Running and recent Logs Insights queries.
    insights: insights::Insights,
}

impl LogsService {
    /// Loads the metric filters from the catalog.
    pub fn new(
        store: Arc<LogStore>,
        metric_store: Arc<MetricStore>,
        filter_catalog: Arc<dyn MetricFilterCatalog>,
        query_definitions: Arc<dyn QueryDefinitionCatalog>,
        insights_options: insights::InsightsOptions,
        clock: SharedClock,
    ) -> Result<LogsService, CatalogError> {
        let metric_filters = metric_filters::MetricFilters::load(filter_catalog.as_ref())?;
        let insights = insights::Insights::new(insights_options);
        Ok(LogsService { store, metric_store, filter_catalog, metric_filters, clock, query_definitions, insights })
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}

pub(crate) fn scope(ctx: &RequestContext) -> Scope {
    Scope::new(ctx.account_id.clone(), ctx.region.clone())
}

/// Maps a storage error to what the client sees. Infrastructure failures
/// are logged here and reported as a retryable service error.
pub(crate) fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::GroupNotFound => ApiError::not_found(messages::GROUP_NOT_FOUND),
        StoreError::StreamNotFound => ApiError::not_found(messages::STREAM_NOT_FOUND),
        StoreError::GroupExists => ApiError::already_exists(messages::GROUP_EXISTS),
        StoreError::StreamExists => ApiError::already_exists(messages::STREAM_EXISTS),
        StoreError::Unavailable(reason) => {
            tracing::warn!(%reason, "log store unavailable");
            ApiError::service_unavailable("the log store is not available right now; retry the request")
        }
        other => {
            tracing::error!(error = %other, "log store failure");
            ApiError::service_unavailable("the log store failed to process the request; retry the request")
        }
    }
}

/// Resolves `logGroupName` / `logGroupIdentifier` (a name or an ARN, with
/// or without the trailing `:*`) to an existing group.
pub(crate) fn resolve_group(
    store: &LogStore,
    ctx: &RequestContext,
    name: Option<&str>,
    identifier: Option<&str>,
) -> Result<GroupInfo, ApiError> {
    let wanted = match (name, identifier) {
        (Some(_), Some(_)) => return Err(ApiError::validation(messages::NAME_AND_IDENTIFIER)),
        (Some(name), None) => name,
        (None, Some(identifier)) => group_name_from_identifier(ctx, identifier)?,
        (None, None) => {
            return Err(ApiError::invalid_parameter("Should provide either logGroupName or logGroupIdentifier."));
        }
    };
    named_group(store, ctx, wanted)
}

/// An existing group by name, or AWS's not-found error.
pub(crate) fn named_group(store: &LogStore, ctx: &RequestContext, name: &str) -> Result<GroupInfo, ApiError> {
    store.group(&scope(ctx), name).ok_or_else(|| ApiError::not_found(messages::GROUP_NOT_FOUND))
}

/// A log group name from a name or an ARN in the caller's account and
/// region.
pub(crate) fn group_name_from_identifier<'a>(ctx: &RequestContext, identifier: &'a str) -> Result<&'a str, ApiError> {
    if !identifier.starts_with("arn:") {
        return Ok(identifier);
    }
    let arn = argus_core::arn::Arn::parse(identifier)
        .filter(|arn| arn.service == "logs")
        .ok_or_else(|| ApiError::invalid_parameter(format!("`{identifier}` is not a CloudWatch Logs log group ARN")))?;
    let name = arn
        .log_group_name()
        .ok_or_else(|| ApiError::invalid_parameter(format!("`{identifier}` is not a log group ARN")))?;
    if arn.account != ctx.account_id || arn.region != ctx.region {
        return Err(ApiError::not_found(messages::GROUP_NOT_FOUND));
    }
    Ok(name)
}

#[async_trait]
impl AwsService for LogsService {
    async fn call(&self, ctx: &RequestContext, operation: &str, input: Value) -> Result<Value, ApiError> {
        match operation {
            "CreateLogGroup" => render(&groups::create(self, ctx, parse(input)?).await?),
            "DeleteLogGroup" => render(&groups::delete(self, ctx, parse(input)?).await?),
            "DescribeLogGroups" => render(&groups::describe(self, ctx, parse(input)?)?),
            "PutRetentionPolicy" => render(&groups::put_retention(self, ctx, parse(input)?).await?),
            "DeleteRetentionPolicy" => render(&groups::delete_retention(self, ctx, parse(input)?).await?),
            "CreateLogStream" => render(&streams::create(self, ctx, parse(input)?).await?),
            "DeleteLogStream" => render(&streams::delete(self, ctx, parse(input)?).await?),
            "DescribeLogStreams" => render(&streams::describe(self, ctx, parse(input)?)?),
            "PutLogEvents" => render(&events::put(self, ctx, parse(input)?).await?),
            "GetLogEvents" => render(&events::get(self, ctx, parse(input)?).await?),
            "FilterLogEvents" => render(&events::filter(self, ctx, parse(input)?).await?),
            "TagLogGroup" => render(&tags::tag_log_group(self, ctx, parse(input)?).await?),
            "UntagLogGroup" => render(&tags::untag_log_group(self, ctx, parse(input)?).await?),
            "ListTagsLogGroup" => render(&tags::list_tags_log_group(self, ctx, parse(input)?)?),
            "TagResource" => render(&tags::tag_resource(self, ctx, parse(input)?).await?),
            "UntagResource" => render(&tags::untag_resource(self, ctx, parse(input)?).await?),
            "ListTagsForResource" => render(&tags::list_tags_for_resource(self, ctx, parse(input)?)?),
            "PutMetricFilter" => render(&metric_filters::put(self, ctx, parse(input)?).await?),
            "DeleteMetricFilter" => render(&metric_filters::delete(self, ctx, parse(input)?).await?),
            "DescribeMetricFilters" => render(&metric_filters::describe(self, ctx, parse(input)?)?),
            "TestMetricFilter" => render(&metric_filters::test(parse(input)?)?),
            "StartQuery" => render(&insights::start(self, ctx, parse(input)?).await?),
            "GetQueryResults" => render(&insights::results(self, ctx, parse(input)?)?),
            "StopQuery" => render(&insights::stop(self, ctx, parse(input)?)?),
            "DescribeQueries" => render(&insights::describe(self, ctx, parse(input)?)?),
            "GetLogRecord" => render(&insights::records::get_log_record(self, ctx, parse(input)?).await?),
            "GetLogGroupFields" => render(&insights::records::get_log_group_fields(self, ctx, parse(input)?).await?),
            "PutQueryDefinition" => render(&insights::definitions::put(self, ctx, parse(input)?).await?),
            "DescribeQueryDefinitions" => render(&insights::definitions::describe(self, ctx, parse(input)?).await?),
            "DeleteQueryDefinition" => render(&insights::definitions::delete(self, ctx, parse(input)?).await?),
            other => Err(not_implemented("CloudWatch Logs", other)),
        }
    }

}

#[cfg(test)]
mod tests;
