//! CloudWatch (`monitoring`; awsJson1.0 query-compatible, rpc-v2-cbor and
//! awsQuery — the wire layer makes them one canonical value): metrics
//! (`metrics.rs`: PutMetricData, ListMetrics, GetMetricStatistics,
//! GetMetricData), alarms (`alarms/`) and dashboards (`dashboards.rs`, bodies checked by
//! `dashboard_body.rs`), with CloudWatch's validation rules and messages
//! (API reference: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/>).

pub mod alarms;
pub mod dashboard_body;
mod dashboards;
mod labels;
mod metrics;

use std::sync::Arc;

use argus_core::{ApiError, RequestContext, SharedClock};
use argus_storage::MetricCatalog;
use argus_storage::catalog::{AlarmCatalog, CatalogError};
use argus_storage::metrics::{MetricScope, MetricStore, MetricStoreError};
use async_trait::async_trait;
use serde_json::Value;

use crate::{AwsService, not_implemented, parse, render};

pub struct CloudWatchService {
    store: Arc<MetricStore>,
    catalog: Arc<dyn MetricCatalog>,
    clock: SharedClock,
    pub alarms: Arc<alarms::Alarms>,
}

impl CloudWatchService {
    pub fn new(
        store: Arc<MetricStore>,
        catalog: Arc<dyn MetricCatalog>,
        alarm_catalog: Arc<dyn AlarmCatalog>,
        clock: SharedClock,
    ) -> Result<CloudWatchService, CatalogError> {
        let alarms = Arc::new(alarms::Alarms::open(alarm_catalog)?);
        Ok(CloudWatchService {
            store,
            catalog,
            clock,
            alarms,
        })
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_millis()
    }
}

pub(crate) fn scope(ctx: &RequestContext) -> MetricScope {
    MetricScope {
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
    }
}

/// Infrastructure failures: logged, reported as retryable.
pub(crate) fn store_error(error: MetricStoreError) -> ApiError {
    tracing::error!(%error, "metric store failure");
    ApiError::service_unavailable(
        "the metric store failed to process the request; retry the request",
    )
}

#[async_trait]
impl AwsService for CloudWatchService {
    async fn call(
        &self,
        ctx: &RequestContext,
        operation: &str,
        input: Value,
    ) -> Result<Value, ApiError> {
        match operation {
            "PutMetricData" => render(&metrics::put_metric_data(self, ctx, parse(input)?).await?),
            "ListMetrics" => render(&metrics::list_metrics(self, ctx, parse(input)?)?),
            "GetMetricStatistics" => {
                render(&metrics::get_metric_statistics(self, ctx, parse(input)?).await?)
            }
            "GetMetricData" => render(&metrics::get_metric_data(self, ctx, parse(input)?).await?),
            "PutDashboard" => render(&dashboards::put(self, ctx, parse(input)?).await?),
            "GetDashboard" => render(&dashboards::get(self, ctx, parse(input)?).await?),
            "ListDashboards" => render(&dashboards::list(self, ctx, parse(input)?).await?),
            "DeleteDashboards" => render(&dashboards::delete(self, ctx, parse(input)?).await?),
            "PutMetricAlarm" => alarms::put_metric_alarm(self, ctx, input).await,
            "PutCompositeAlarm" => alarms::put_composite_alarm(self, ctx, input).await,
            "DescribeAlarms" => alarms::describe_alarms(self, ctx, input),
            "DescribeAlarmsForMetric" => alarms::describe_alarms_for_metric(self, ctx, input),
            "DeleteAlarms" => alarms::delete_alarms(self, ctx, input).await,
            "SetAlarmState" => alarms::set_alarm_state(self, ctx, input).await,
            "EnableAlarmActions" => alarms::set_actions_enabled(self, ctx, input, true).await,
            "DisableAlarmActions" => alarms::set_actions_enabled(self, ctx, input, false).await,
            "DescribeAlarmHistory" => alarms::describe_alarm_history(self, ctx, input),
            "TagResource" => alarms::tag_resource(self, ctx, input).await,
            "UntagResource" => alarms::untag_resource(self, ctx, input).await,
            "ListTagsForResource" => alarms::list_tags(self, ctx, input),
            other => Err(not_implemented("CloudWatch", other)),
        }
    }

    async fn call_json(&self, ctx: &RequestContext, operation: &str, body: &[u8]) -> Option<Result<Value, ApiError>> {
        match operation {
            "PutMetricData" => {
                let request = metrics::put_metric_data_shortcut(body)?;
                Some(metrics::put_metric_data(self, ctx, request).await.and_then(|answer| render(&answer)))
            }
            _ => None,
        }
    }
}
