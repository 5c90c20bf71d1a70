//! CreateLogGroup, DeleteLogGroup, DescribeLogGroups, PutRetentionPolicy,
//! DeleteRetentionPolicy.

use argus_core::{ApiError, RequestContext, arn};
use argus_storage::catalog::Tags;
use argus_storage::logs::{GroupInfo, GroupSpec};
use serde::{Deserialize, Serialize};

use super::{LogsService, group_name_from_identifier, messages, scope, store_error, tokens};
use crate::Empty;

/// The retention values CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [i32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const DEFAULT_DESCRIBE_LIMIT: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLogGroupRequest {
    log_group_name: String,
    kms_key_id: Option<String>,
    tags: Option<Tags>,
    log_group_class: Option<String>,
    deletion_protection_enabled: Option<bool>,
}

pub async fn create(service: &LogsService, ctx: &RequestContext, request: CreateLogGroupRequest) -> Result<Empty, ApiError> {
    if request.log_group_name.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws/")) {
        return Err(ApiError::invalid_parameter("Log groups starting with AWS/ are reserved for AWS."));
    }
    let spec = GroupSpec {
        retention_days: None,
        class: request.log_group_class.unwrap_or_else(|| "STANDARD".to_string()),
        kms_key_id: request.kms_key_id,
        deletion_protection: request.deletion_protection_enabled.unwrap_or(false),
        tags: request.tags.unwrap_or_default(),
    };
    service
        .store
        .create_group(&scope(ctx), &request.log_group_name, spec, service.now())
        .await
        .map_err(store_error)?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteLogGroupRequest {
    log_group_name: String,
}

pub async fn delete(service: &LogsService, ctx: &RequestContext, request: DeleteLogGroupRequest) -> Result<Empty, ApiError> {
    let scope = scope(ctx);
    let group = service.store.group(&scope, &request.log_group_name).ok_or_else(|| ApiError::not_found(messages::GROUP_NOT_FOUND))?;
    if group.deletion_protection {
        return Err(ApiError::validation(
            "Cannot delete log group with deletion protection enabled. Disable deletion protection first.",
        ));
    }
    service.store.delete_group(&scope, &request.log_group_name).await.map_err(store_error)?;
    service.metric_filters.remove_group(group.id);
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsRequest {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<usize>,
    log_group_class: Option<String>,
    log_group_identifiers: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupView {
    log_group_name: String,
    creation_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention_in_days: Option<i32>,
    metric_filter_count: u32,
    arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stored_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kms_key_id: Option<String>,
    log_group_class: String,
    log_group_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_protection_enabled: Option<bool>,
}

impl LogGroupView {
    fn new(ctx: &RequestContext, group: GroupInfo, metric_filter_count: u32) -> LogGroupView {
        LogGroupView {
            arn: arn::log_group_wildcard(&ctx.region, &ctx.account_id, &group.name),
            log_group_arn: arn::log_group(&ctx.region, &ctx.account_id, &group.name),
            log_group_name: group.name,
            creation_time: group.created_ms,
            retention_in_days: group.retention_days,
            metric_filter_count,
            stored_bytes: Some(group.stored_bytes),
            kms_key_id: group.kms_key_id,
            log_group_class: group.class,
            deletion_protection_enabled: Some(group.deletion_protection),
        }
    }

    /// What a `logGroupNamePattern` search returns per group (recorded from
    /// AWS): no retention, stored bytes, key or deletion protection.
    fn pattern_result(ctx: &RequestContext, group: GroupInfo, metric_filter_count: u32) -> LogGroupView {
        LogGroupView {
            retention_in_days: None,
            stored_bytes: None,
            kms_key_id: None,
            deletion_protection_enabled: None,
            ..LogGroupView::new(ctx, group, metric_filter_count)
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsResponse {
    log_groups: Vec<LogGroupView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Where a DescribeLogGroups page ended.
#[derive(Debug, Serialize, Deserialize)]
struct GroupsPosition {
    after: String,
}

pub fn describe(service: &LogsService, ctx: &RequestContext, request: DescribeLogGroupsRequest) -> Result<DescribeLogGroupsResponse, ApiError> {
    if request.log_group_name_prefix.is_some() && request.log_group_name_pattern.is_some() {
        return Err(ApiError::invalid_parameter(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
        ));
    }
    let identifiers: Option<Vec<String>> = match &request.log_group_identifiers {
        Some(identifiers) => {
            if request.log_group_name_prefix.is_some() || request.log_group_name_pattern.is_some() {
                return Err(ApiError::invalid_parameter(
                    "logGroupIdentifiers cannot be combined with logGroupNamePrefix or logGroupNamePattern.",
                ));
            }
            let mut names = Vec::new();
            for identifier in identifiers {
                names.push(group_name_from_identifier(ctx, identifier)?.to_string());
            }
            Some(names)
        }
        None => None,
    };
    let after = match &request.next_token {
        Some(token) => Some(tokens::decode::<GroupsPosition>(token)?.after),
        None => None,
    };
    let prefix = request.log_group_name_prefix.as_deref().unwrap_or("");
    let pattern = request.log_group_name_pattern.as_deref().unwrap_or("");
    let class = request.log_group_class.as_deref();
    let limit = request.limit.unwrap_or(DEFAULT_DESCRIBE_LIMIT);
    let (page, more) = service.store.list_groups(
        &scope(ctx),
        after.as_deref(),
        |name, group_class| {
            name.starts_with(prefix)
                && name.contains(pattern)
                && class.is_none_or(|class| class == group_class)
                && identifiers.as_ref().is_none_or(|names| names.iter().any(|wanted| wanted == name))
        },
        limit,
    );
    let next_token = match page.last() {
        Some(last) if more => Some(tokens::encode(&GroupsPosition { after: last.name.clone() })),
        _ => None,
    };
    let view = if request.log_group_name_pattern.is_some() { LogGroupView::pattern_result } else { LogGroupView::new };
    let log_groups = page
        .into_iter()
        .map(|group| {
            let count = u32::try_from(service.metric_filters.count(group.id)).unwrap_or(u32::MAX);
            view(ctx, group, count)
        })
        .collect();
    Ok(DescribeLogGroupsResponse { log_groups, next_token })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutRetentionPolicyRequest {
    log_group_name: String,
    retention_in_days: i32,
}

pub async fn put_retention(service: &LogsService, ctx: &RequestContext, request: PutRetentionPolicyRequest) -> Result<Empty, ApiError> {
    if !RETENTION_DAYS.contains(&request.retention_in_days) {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(ToString::to_string).collect();
        return Err(ApiError::invalid_parameter(format!(
            "1 validation error detected: Value '{}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            request.retention_in_days,
            allowed.join(", ")
        )));
    }
    service
        .store
        .set_retention(&scope(ctx), &request.log_group_name, Some(request.retention_in_days))
        .await
        .map_err(store_error)?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRetentionPolicyRequest {
    log_group_name: String,
}

pub async fn delete_retention(service: &LogsService, ctx: &RequestContext, request: DeleteRetentionPolicyRequest) -> Result<Empty, ApiError> {
    service.store.set_retention(&scope(ctx), &request.log_group_name, None).await.map_err(store_error)?;
    Ok(Empty {})
}
