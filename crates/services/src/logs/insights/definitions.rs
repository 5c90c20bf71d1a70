//! Saved queries: PutQueryDefinition, DescribeQueryDefinitions,
//! DeleteQueryDefinition, kept in the catalog (`QueryDefinitionCatalog`).

use std::sync::Arc;

use argus_core::{ApiError, RequestContext};
use argus_storage::logs::StoreError;
use argus_storage::{QueryDefinitionCatalog, QueryDefinitionRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::{LogsService, store_error};
use super::check_language;

const NOT_FOUND: &str = "The query definition does not exist.";
const MAX_RESULTS: usize = 1000;

async fn blocking<T: Send + 'static>(
    catalog: &Arc<dyn QueryDefinitionCatalog>,
    work: impl FnOnce(&dyn QueryDefinitionCatalog) -> Result<T, argus_storage::catalog::CatalogError> + Send + 'static,
) -> Result<T, ApiError> {
    let catalog = Arc::clone(catalog);
    tokio::task::spawn_blocking(move || work(catalog.as_ref()))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| store_error(StoreError::from(error)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutQueryDefinitionRequest {
    query_language: Option<String>,
    name: String,
    query_definition_id: Option<String>,
    log_group_names: Option<Vec<String>>,
    query_string: String,
    parameters: Option<Vec<Value>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PutQueryDefinitionResponse {
    query_definition_id: String,
}

pub async fn put(service: &LogsService, ctx: &RequestContext, request: PutQueryDefinitionRequest) -> Result<PutQueryDefinitionResponse, ApiError> {
    let language = check_language(request.query_language.as_deref())?;
    let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
    let id = match request.query_definition_id {
        Some(id) => {
            let (account, region, wanted) = (account.clone(), region.clone(), id.clone());
            let existing = blocking(&service.query_definitions, move |catalog| catalog.query_definition(&account, &region, &wanted)).await?;
            if existing.is_none() {
                return Err(ApiError::not_found(NOT_FOUND));
            }
            id
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let record = QueryDefinitionRecord {
        account,
        region,
        id: id.clone(),
        name: request.name,
        query_string: request.query_string,
        query_language: language,
        log_group_names: serde_json::to_string(&request.log_group_names.unwrap_or_default()).map_err(|_| ApiError::internal())?,
        parameters: serde_json::to_string(&request.parameters.unwrap_or_default()).map_err(|_| ApiError::internal())?,
        last_modified_ms: service.now(),
    };
    blocking(&service.query_definitions, move |catalog| catalog.put_query_definition(&record)).await?;
    Ok(PutQueryDefinitionResponse { query_definition_id: id })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeQueryDefinitionsRequest {
    query_language: Option<String>,
    query_definition_name_prefix: Option<String>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryDefinition {
    query_language: String,
    query_definition_id: String,
    name: String,
    query_string: String,
    last_modified: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    log_group_names: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parameters: Vec<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeQueryDefinitionsResponse {
    query_definitions: Vec<QueryDefinition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn describe(
    service: &LogsService,
    ctx: &RequestContext,
    request: DescribeQueryDefinitionsRequest,
) -> Result<DescribeQueryDefinitionsResponse, ApiError> {
    let max = request.max_results.unwrap_or(MAX_RESULTS).clamp(1, MAX_RESULTS);
    let (account, region) = (ctx.account_id.clone(), ctx.region.clone());
    let all = blocking(&service.query_definitions, move |catalog| catalog.query_definitions(&account, &region)).await?;
    // The token is the (name, id) of the last definition of the previous page.
    let after: Option<(String, String)> = match &request.next_token {
        Some(token) => Some(
            serde_json::from_str::<(String, String)>(token)
                .map_err(|_| ApiError::invalid_parameter(super::super::messages::INVALID_TOKEN))?,
        ),
        None => None,
    };
    let matching: Vec<QueryDefinitionRecord> = all
        .into_iter()
        .filter(|record| request.query_definition_name_prefix.as_ref().is_none_or(|prefix| record.name.starts_with(prefix.as_str())))
        .filter(|record| request.query_language.as_ref().is_none_or(|language| *language == record.query_language))
        .filter(|record| after.as_ref().is_none_or(|(name, id)| (&record.name, &record.id) > (name, id)))
        .collect();
    let more = matching.len() > max;
    let page: Vec<QueryDefinitionRecord> = matching.into_iter().take(max).collect();
    let next_token = if more { page.last().and_then(|last| serde_json::to_string(&(&last.name, &last.id)).ok()) } else { None };
    let query_definitions = page
        .into_iter()
        .map(|record| QueryDefinition {
            query_language: record.query_language,
            query_definition_id: record.id,
            name: record.name,
            query_string: record.query_string,
            last_modified: record.last_modified_ms,
            log_group_names: serde_json::from_str(&record.log_group_names).unwrap_or_default(),
            parameters: serde_json::from_str(&record.parameters).unwrap_or_default(),
        })
        .collect();
    Ok(DescribeQueryDefinitionsResponse { query_definitions, next_token })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteQueryDefinitionRequest {
    query_definition_id: String,
}

#[derive(Debug, Serialize)]
pub struct DeleteQueryDefinitionResponse {
    success: bool,
}

pub async fn delete(service: &LogsService, ctx: &RequestContext, request: DeleteQueryDefinitionRequest) -> Result<DeleteQueryDefinitionResponse, ApiError> {
    let (account, region, id) = (ctx.account_id.clone(), ctx.region.clone(), request.query_definition_id);
    let deleted = blocking(&service.query_definitions, move |catalog| catalog.delete_query_definition(&account, &region, &id)).await?;
    if !deleted {
        return Err(ApiError::not_found(NOT_FOUND));
    }
    Ok(DeleteQueryDefinitionResponse { success: true })
}
