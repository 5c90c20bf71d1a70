//! Tags on log groups: the legacy TagLogGroup / UntagLogGroup /
//! ListTagsLogGroup (by name) and TagResource / UntagResource /
//! ListTagsForResource (by ARN).

use argus_core::{ApiError, ErrorCode, RequestContext};
use argus_storage::catalog::Tags;
use serde::{Deserialize, Serialize};

use crate::Empty;
use super::{LogsService, group_name_from_identifier, messages, scope, store_error};

const MAX_TAGS: usize = 50;

#[derive(Debug, Serialize)]
pub struct TagsResponse {
    tags: Tags,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagLogGroupRequest {
    log_group_name: String,
    tags: Tags,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagLogGroupRequest {
    log_group_name: String,
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupNameRequest {
    log_group_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceRequest {
    resource_arn: String,
    tags: Tags,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceRequest {
    resource_arn: String,
    tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequest {
    resource_arn: String,
}

fn current_tags(service: &LogsService, ctx: &RequestContext, group_name: &str) -> Result<Tags, ApiError> {
    service
        .store
        .group(&scope(ctx), group_name)
        .map(|group| group.tags)
        .ok_or_else(|| ApiError::not_found(messages::GROUP_NOT_FOUND))
}

/// Adds or overwrites tags; `too_many` is the error for exceeding 50.
async fn add_tags(
    service: &LogsService,
    ctx: &RequestContext,
    group_name: &str,
    added: Tags,
    too_many: ErrorCode,
) -> Result<(), ApiError> {
    let mut tags = current_tags(service, ctx, group_name)?;
    tags.extend(added);
    if tags.len() > MAX_TAGS {
        return Err(ApiError::new(too_many, format!("A resource can have no more than {MAX_TAGS} tags.")));
    }
    service.store.set_tags(&scope(ctx), group_name, tags).await.map_err(store_error)
}

async fn remove_tags(service: &LogsService, ctx: &RequestContext, group_name: &str, keys: &[String]) -> Result<(), ApiError> {
    let mut tags = current_tags(service, ctx, group_name)?;
    for key in keys {
        tags.remove(key);
    }
    service.store.set_tags(&scope(ctx), group_name, tags).await.map_err(store_error)
}

/// The log group a resource ARN names; other resource types do not exist
/// in Argus yet.
fn group_from_arn<'a>(ctx: &RequestContext, resource_arn: &'a str) -> Result<&'a str, ApiError> {
    if !resource_arn.contains(":log-group:") {
        return Err(ApiError::not_found(format!("The specified resource {resource_arn} does not exist.")));
    }
    group_name_from_identifier(ctx, resource_arn)
}

pub async fn tag_log_group(service: &LogsService, ctx: &RequestContext, request: TagLogGroupRequest) -> Result<Empty, ApiError> {
    add_tags(service, ctx, &request.log_group_name, request.tags, ErrorCode::InvalidParameter).await?;
    Ok(Empty {})
}

pub async fn untag_log_group(service: &LogsService, ctx: &RequestContext, request: UntagLogGroupRequest) -> Result<Empty, ApiError> {
    remove_tags(service, ctx, &request.log_group_name, &request.tags).await?;
    Ok(Empty {})
}

pub fn list_tags_log_group(service: &LogsService, ctx: &RequestContext, request: LogGroupNameRequest) -> Result<TagsResponse, ApiError> {
    Ok(TagsResponse { tags: current_tags(service, ctx, &request.log_group_name)? })
}

pub async fn tag_resource(service: &LogsService, ctx: &RequestContext, request: TagResourceRequest) -> Result<Empty, ApiError> {
    let group_name = group_from_arn(ctx, &request.resource_arn)?;
    add_tags(service, ctx, group_name, request.tags, ErrorCode::TooManyTags).await?;
    Ok(Empty {})
}

pub async fn untag_resource(service: &LogsService, ctx: &RequestContext, request: UntagResourceRequest) -> Result<Empty, ApiError> {
    let group_name = group_from_arn(ctx, &request.resource_arn)?;
    remove_tags(service, ctx, group_name, &request.tag_keys).await?;
    Ok(Empty {})
}

pub fn list_tags_for_resource(service: &LogsService, ctx: &RequestContext, request: ResourceRequest) -> Result<TagsResponse, ApiError> {
    let group_name = group_from_arn(ctx, &request.resource_arn)?;
    Ok(TagsResponse { tags: current_tags(service, ctx, group_name)? })
}
