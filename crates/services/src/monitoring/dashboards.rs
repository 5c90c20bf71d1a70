//! PutDashboard, GetDashboard, ListDashboards, DeleteDashboards. Bodies are
//! checked by `dashboard_body.rs` and stored verbatim in the catalog.

use std::sync::Arc;

use argus_core::{ApiError, ErrorCode, RequestContext};
use argus_storage::MetricCatalog;
use argus_storage::catalog::{CatalogError, DashboardRecord};
use serde::{Deserialize, Serialize};

use super::dashboard_body::{self, ValidationMessage};
use super::{CloudWatchService, scope};
use crate::Empty;

const MAX_BODY_BYTES: usize = 1024 * 1024;
const LIST_PAGE: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutDashboardRequest {
    dashboard_name: String,
    dashboard_body: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutDashboardResponse {
    dashboard_validation_messages: Vec<ValidationMessage>,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 255 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).\n",
        ));
    }
    Ok(())
}

fn dashboard_arn(ctx: &RequestContext, name: &str) -> String {
    format!("arn:aws:cloudwatch::{}:dashboard/{name}", ctx.account_id)
}

async fn catalog_call<T: Send + 'static>(
    service: &CloudWatchService,
    work: impl FnOnce(&dyn MetricCatalog) -> Result<T, CatalogError> + Send + 'static,
) -> Result<T, ApiError> {
    let catalog: Arc<dyn MetricCatalog> = Arc::clone(&service.catalog);
    tokio::task::spawn_blocking(move || work(catalog.as_ref()))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| {
            tracing::error!(%error, "catalog failure");
            ApiError::service_unavailable("the catalog failed to process the request; retry the request")
        })
}

pub async fn put(service: &CloudWatchService, ctx: &RequestContext, request: PutDashboardRequest) -> Result<PutDashboardResponse, ApiError> {
    check_name(&request.dashboard_name)?;
    if request.dashboard_body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::DashboardInvalidInputError,
            format!("The field DashboardBody must be at most {MAX_BODY_BYTES} bytes long."),
        ));
    }
    let warnings = dashboard_body::validate(&request.dashboard_body)?;
    let scope = scope(ctx);
    let record = DashboardRecord { name: request.dashboard_name, body: request.dashboard_body, modified_ms: service.now_ms() };
    catalog_call(service, move |catalog| catalog.put_dashboard(&scope.account, &scope.region, &record)).await?;
    Ok(PutDashboardResponse { dashboard_validation_messages: warnings })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDashboardRequest {
    dashboard_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDashboardResponse {
    dashboard_arn: String,
    dashboard_body: String,
    dashboard_name: String,
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(ErrorCode::CloudWatchResourceNotFound, format!("Dashboard {name} does not exist"))
}

pub async fn get(service: &CloudWatchService, ctx: &RequestContext, request: GetDashboardRequest) -> Result<GetDashboardResponse, ApiError> {
    let scope = scope(ctx);
    let name = request.dashboard_name.clone();
    let found = catalog_call(service, move |catalog| catalog.get_dashboard(&scope.account, &scope.region, &name)).await?;
    let dashboard = found.ok_or_else(|| not_found(&request.dashboard_name))?;
    Ok(GetDashboardResponse {
        dashboard_arn: dashboard_arn(ctx, &dashboard.name),
        dashboard_body: dashboard.body,
        dashboard_name: dashboard.name,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDashboardsRequest {
    dashboard_name_prefix: Option<String>,
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DashboardEntry {
    dashboard_name: String,
    dashboard_arn: String,
    last_modified: f64,
    size: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDashboardsResponse {
    dashboard_entries: Vec<DashboardEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn list(service: &CloudWatchService, ctx: &RequestContext, request: ListDashboardsRequest) -> Result<ListDashboardsResponse, ApiError> {
    let prefix = request.dashboard_name_prefix.unwrap_or_default();
    if !prefix.is_empty() {
        check_name(&prefix)?;
    }
    let scope = scope(ctx);
    let all = catalog_call(service, move |catalog| catalog.list_dashboards(&scope.account, &scope.region, &prefix)).await?;
    let after = request.next_token;
    let mut entries: Vec<DashboardEntry> = all
        .into_iter()
        .filter(|dashboard| after.as_ref().is_none_or(|after| dashboard.name > *after))
        .map(|dashboard| DashboardEntry {
            dashboard_arn: dashboard_arn(ctx, &dashboard.name),
            last_modified: dashboard.modified_ms as f64 / 1000.0,
            size: dashboard.body.len() as u64,
            dashboard_name: dashboard.name,
        })
        .collect();
    let next_token = (entries.len() > LIST_PAGE).then(|| entries.get(LIST_PAGE - 1).map(|last| last.dashboard_name.clone())).flatten();
    entries.truncate(LIST_PAGE);
    Ok(ListDashboardsResponse { dashboard_entries: entries, next_token })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteDashboardsRequest {
    dashboard_names: Vec<String>,
}

pub async fn delete(service: &CloudWatchService, ctx: &RequestContext, request: DeleteDashboardsRequest) -> Result<Empty, ApiError> {
    let scope = scope(ctx);
    let names = request.dashboard_names;
    // CloudWatch deletes nothing when any name does not exist.
    let missing = catalog_call(service, move |catalog| {
        for name in &names {
            if catalog.get_dashboard(&scope.account, &scope.region, name)?.is_none() {
                return Ok(Some(name.clone()));
            }
        }
        catalog.delete_dashboards(&scope.account, &scope.region, &names)?;
        Ok(None)
    })
    .await?;
    if let Some(name) = missing {
        return Err(not_found(&name));
    }
    Ok(Empty {})
}
