//! PutMetricData, ListMetrics, GetMetricStatistics, GetMetricData.
//!
//! Parameter paths in messages use CloudWatch's query form
//! (`MetricData.member.1.Value`) whatever protocol the client spoke, as
//! CloudWatch itself does.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use argus_core::{ApiError, ErrorCode, RequestContext};
use argus_storage::metrics::stats::Statistic;
use argus_storage::metrics::{MetricIdentity, NewDatum, PeriodPoint, SampleValue, Unit};
use argus_query::metric_math::{
    Expression, MathContext, MathError, Metric as MathMetric, MetricIdentity as MathIdentity, SearchQuery,
    Series as MathSeries, Value as MathValue,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{CloudWatchService, labels, scope, store_error};
use crate::Empty;

const MAX_DATA_PER_REQUEST: usize = 1000;
const MAX_DIMENSIONS: usize = 30;
const MAX_VALUES: usize = 150;
const MAX_STATISTICS_DATAPOINTS: i64 = 1440;
const LIST_PAGE: usize = 500;
const TWO_WEEKS_MS: i64 = 14 * 86_400_000;
const TWO_HOURS_MS: i64 = 2 * 3_600_000;
const THREE_HOURS_MS: i64 = 3 * 3_600_000;
const FIFTEEN_DAYS_MS: i64 = 15 * 86_400_000;
const SIXTY_THREE_DAYS_MS: i64 = 63 * 86_400_000;
/// CloudWatch rejects magnitudes above 2^360 and non-zero ones below 2^-260.
const MAX_MAGNITUDE: f64 = 2.348_542_582_773_833_2e108;
const MIN_MAGNITUDE: f64 = 5.397_605_346_934_028e-79;

fn invalid_value(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValue, message)
}

fn invalid_combination(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterCombination, message)
}

fn missing(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::MissingRequiredParameter, message)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatisticSet {
    sample_count: f64,
    sum: f64,
    minimum: f64,
    maximum: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDatum {
    metric_name: String,
    dimensions: Option<Vec<Dimension>>,
    timestamp: Option<f64>,
    value: Option<f64>,
    statistic_values: Option<StatisticSet>,
    values: Option<Vec<f64>>,
    counts: Option<Vec<f64>>,
    unit: Option<String>,
    storage_resolution: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutMetricDataRequest {
    namespace: String,
    metric_data: Option<Vec<MetricDatum>>,
    entity_metric_data: Option<Vec<serde_json::Value>>,
}

/// `MetricData.member.N` for messages, formatted only when one is needed.
struct DatumPath(usize);

impl fmt::Display for DatumPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MetricData.member.{}", self.0)
    }
}

fn check_number(value: f64, path: &dyn fmt::Display) -> Result<(), ApiError> {
    let magnitude = value.abs();
    if !value.is_finite() || magnitude > MAX_MAGNITUDE || (magnitude != 0.0 && magnitude < MIN_MAGNITUDE) {
        return Err(invalid_value(format!("The value {value} for parameter {path} is invalid.")));
    }
    Ok(())
}

pub(crate) fn check_namespace(namespace: &str) -> Result<(), ApiError> {
    if namespace.starts_with("AWS/") {
        return Err(invalid_value(format!(
            "The value {namespace} for parameter Namespace is invalid: namespaces starting with AWS/ are reserved for AWS services."
        )));
    }
    if namespace.is_empty() || namespace.starts_with(':') || !namespace.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return Err(invalid_value(format!("The value {namespace} for parameter Namespace is invalid.")));
    }
    Ok(())
}

fn dimensions(list: Option<Vec<Dimension>>, path: &dyn fmt::Display) -> Result<Vec<(String, String)>, ApiError> {
    let list = list.unwrap_or_default();
    if list.len() > MAX_DIMENSIONS {
        return Err(invalid_value(format!(
            "The collection {path} must not have a size greater than {MAX_DIMENSIONS}."
        )));
    }
    let mut pairs = Vec::with_capacity(list.len());
    for (index, dimension) in list.into_iter().enumerate() {
        if dimension.name.is_empty() {
            return Err(invalid_value(format!("The parameter {path}.member.{}.Name must not be empty.", index + 1)));
        }
        if dimension.value.is_empty() {
            return Err(invalid_value(format!("The parameter {path}.member.{}.Value must not be empty.", index + 1)));
        }
        if pairs.iter().any(|(name, _): &(String, String)| *name == dimension.name) {
            return Err(invalid_value(format!(
                "No metric may have duplicate dimension names: {path} repeats the dimension name {}.",
                dimension.name
            )));
        }
        pairs.push((dimension.name, dimension.value));
    }
    Ok(pairs)
}

fn parse_unit(unit: Option<&str>, path: &dyn fmt::Display) -> Result<Option<Unit>, ApiError> {
    match unit {
        None => Ok(None),
        Some(name) => Unit::parse(name)
            .map(Some)
            .ok_or_else(|| invalid_value(format!("The value {name} for parameter {path} is invalid."))),
    }
}

fn datum(datum: MetricDatum, index: usize, namespace: &str, now_ms: i64) -> Result<NewDatum, ApiError> {
    let path = DatumPath(index);
    if datum.metric_name.is_empty() {
        return Err(invalid_value(format!("The parameter {path}.MetricName must not be empty.")));
    }
    let has_counts = datum.counts.is_some();
    let value = match (datum.value, datum.statistic_values, datum.values) {
        (Some(_), _, Some(_)) => {
            return Err(invalid_combination(format!(
                "The parameters {path}.Value and {path}.Values are mutually exclusive and you have specified both."
            )));
        }
        (Some(_), Some(_), None) => {
            return Err(invalid_combination(format!(
                "The parameters {path}.Value and {path}.StatisticValues are mutually exclusive and you have specified both."
            )));
        }
        (None, Some(_), Some(_)) => {
            return Err(invalid_combination(format!(
                "The parameters {path}.StatisticValues and {path}.Values are mutually exclusive and you have specified both."
            )));
        }
        (Some(value), None, None) => {
            check_number(value, &format_args!("{path}.Value"))?;
            SampleValue::Single(value)
        }
        (None, Some(set), None) => statistic_set(&set, &path)?,
        (None, None, Some(values)) => value_list(values, datum.counts, &path)?,
        (None, None, None) => {
            return Err(missing(format!(
                "The parameter {path} must contain one of Value, Values or StatisticValues."
            )));
        }
    };
    if has_counts && !matches!(value, SampleValue::Values(_)) {
        return Err(invalid_combination(format!("The parameter {path}.Counts may only be specified with {path}.Values.")));
    }
    let timestamp_ms = match datum.timestamp {
        Some(seconds) => (seconds * 1000.0).round() as i64,
        None => now_ms,
    };
    if timestamp_ms < now_ms - TWO_WEEKS_MS {
        return Err(invalid_value(format!(
            "The parameter {path}.Timestamp must specify a time no more than two weeks in the past."
        )));
    }
    if timestamp_ms > now_ms + TWO_HOURS_MS {
        return Err(invalid_value(format!(
            "The parameter {path}.Timestamp must specify a time no more than two hours in the future."
        )));
    }
    let resolution_s = match datum.storage_resolution {
        None | Some(60) => 60,
        Some(1) => 1,
        Some(other) => {
            return Err(invalid_value(format!(
                "The value {other} for parameter {path}.StorageResolution is invalid: it must be 1 (high resolution) or 60."
            )));
        }
    };
    let unit = parse_unit(datum.unit.as_deref(), &format_args!("{path}.Unit"))?.unwrap_or(Unit::NONE);
    let identity = MetricIdentity::new(namespace, datum.metric_name, dimensions(datum.dimensions, &format_args!("{path}.Dimensions"))?);
    Ok(NewDatum { identity, unit, resolution_s, timestamp_ms, value })
}

fn statistic_set(set: &StatisticSet, path: &dyn fmt::Display) -> Result<SampleValue, ApiError> {
    for (name, value) in [("SampleCount", set.sample_count), ("Sum", set.sum), ("Minimum", set.minimum), ("Maximum", set.maximum)] {
        check_number(value, &format_args!("{path}.StatisticValues.{name}"))?;
    }
    if set.sample_count <= 0.0 {
        return Err(invalid_value(format!("The parameter {path}.StatisticValues.SampleCount must be greater than 0.")));
    }
    if set.minimum > set.maximum {
        return Err(invalid_value(format!(
            "The parameter {path}.StatisticValues.Minimum must be less than or equal to {path}.StatisticValues.Maximum."
        )));
    }
    Ok(SampleValue::StatisticSet { count: set.sample_count, sum: set.sum, min: set.minimum, max: set.maximum })
}

fn value_list(values: Vec<f64>, counts: Option<Vec<f64>>, path: &dyn fmt::Display) -> Result<SampleValue, ApiError> {
    if values.len() > MAX_VALUES {
        return Err(invalid_value(format!("The collection {path}.Values must not have a size greater than {MAX_VALUES}.")));
    }
    if let Some(counts) = &counts
        && counts.len() != values.len()
    {
        return Err(invalid_value(format!("The parameters {path}.Values and {path}.Counts must be of the same size.")));
    }
    let mut pairs = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        check_number(*value, &format_args!("{path}.Values.member.{}", index + 1))?;
        let count = counts.as_ref().and_then(|counts| counts.get(index)).copied().unwrap_or(1.0);
        if !count.is_finite() || count < 0.0 {
            return Err(invalid_value(format!("The value {count} for parameter {path}.Counts.member.{} is invalid.", index + 1)));
        }
        pairs.push((*value, count));
    }
    Ok(SampleValue::Values(pairs))
}

/// PutMetricData's awsJson body decoded straight into its request, when it
/// is well-formed and within every constraint of the model (`None` at the
/// least doubt: the general path then decides and words the error). Lengths
/// are checked in bytes, which are never fewer than the characters the
/// model counts.
pub(crate) fn put_metric_data_shortcut(body: &[u8]) -> Option<PutMetricDataRequest> {
    let request: PutMetricDataRequest = serde_json::from_slice(body).ok()?;
    let text_within = |text: &str, max: usize| !text.is_empty() && text.len() <= max;
    let namespace_ok = text_within(&request.namespace, 255)
        && !request.namespace.starts_with(':')
        && request.namespace.bytes().all(|byte| byte.is_ascii() && !byte.is_ascii_control());
    if !namespace_ok || request.entity_metric_data.is_some() {
        return None;
    }
    for datum in request.metric_data.iter().flatten() {
        let dimensions = datum.dimensions.as_deref().unwrap_or_default();
        let ok = text_within(&datum.metric_name, 255)
            && dimensions.len() <= MAX_DIMENSIONS
            && dimensions.iter().all(|dimension| text_within(&dimension.name, 255) && text_within(&dimension.value, 1024))
            && datum.unit.as_deref().is_none_or(|unit| Unit::parse(unit).is_some())
            && datum.storage_resolution.is_none_or(|resolution| resolution >= 1);
        if !ok {
            return None;
        }
    }
    Some(request)
}

pub async fn put_metric_data(service: &CloudWatchService, ctx: &RequestContext, request: PutMetricDataRequest) -> Result<Empty, ApiError> {
    check_namespace(&request.namespace)?;
    if request.entity_metric_data.as_ref().is_some_and(|list| !list.is_empty()) {
        return Err(invalid_value("EntityMetricData is not supported by this Argus server; send MetricData."));
    }
    let data = request.metric_data.unwrap_or_default();
    if data.is_empty() {
        return Err(missing("The parameter MetricData is required."));
    }
    if data.len() > MAX_DATA_PER_REQUEST {
        return Err(invalid_value(format!(
            "The collection MetricData must not have a size greater than {MAX_DATA_PER_REQUEST}."
        )));
    }
    let now = service.now_ms();
    let mut accepted = Vec::with_capacity(data.len());
    for (index, item) in data.into_iter().enumerate() {
        accepted.push(datum(item, index + 1, &request.namespace, now)?);
    }
    service.store.put(&scope(ctx), accepted).await.map_err(store_error)?;
    Ok(Empty {})
}

// ------------------------------------------------------------ ListMetrics

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DimensionFilter {
    name: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMetricsRequest {
    namespace: Option<String>,
    metric_name: Option<String>,
    dimensions: Option<Vec<DimensionFilter>>,
    next_token: Option<String>,
    recently_active: Option<String>,
    include_linked_accounts: Option<bool>,
    owning_account: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metric {
    namespace: String,
    metric_name: String,
    dimensions: Vec<Dimension>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMetricsResponse {
    metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owning_accounts: Option<Vec<String>>,
}

fn metric_of(identity: &MetricIdentity) -> Metric {
    Metric {
        namespace: identity.namespace.clone(),
        metric_name: identity.metric_name.clone(),
        dimensions: identity.dimensions.iter().map(|(name, value)| Dimension { name: name.clone(), value: value.clone() }).collect(),
    }
}

fn list_token(identity: &MetricIdentity) -> String {
    let key = serde_json::json!([identity.namespace, identity.metric_name, identity.dimensions]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_string())
}

fn parse_list_token(token: &str) -> Result<MetricIdentity, ApiError> {
    let invalid = || ApiError::new(ErrorCode::InvalidNextToken, "The service couldn't process the NextToken: it is not one this server returned.");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let (namespace, metric_name, dimensions): (String, String, Vec<(String, String)>) =
        serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    Ok(MetricIdentity::new(namespace, metric_name, dimensions))
}

pub fn list_metrics(service: &CloudWatchService, ctx: &RequestContext, request: ListMetricsRequest) -> Result<ListMetricsResponse, ApiError> {
    // CloudWatch lists metrics with data published in the last two weeks
    // (the last three hours with RecentlyActive).
    let listed_since = match request.recently_active.as_deref() {
        None => service.now_ms() - TWO_WEEKS_MS,
        Some("PT3H") => service.now_ms() - THREE_HOURS_MS,
        Some(other) => return Err(invalid_value(format!("The value {other} for parameter RecentlyActive is invalid: the only value is PT3H."))),
    };
    let filters = request.dimensions.unwrap_or_default();
    if filters.len() > 10 {
        return Err(invalid_value("The collection Dimensions must not have a size greater than 10."));
    }
    let after = request.next_token.as_deref().map(parse_list_token).transpose()?;
    let mut matching: Vec<_> = service
        .store
        .list(&scope(ctx))
        .into_iter()
        .filter(|metric| {
            let identity = &metric.identity;
            request.namespace.as_ref().is_none_or(|namespace| *namespace == identity.namespace)
                && request.metric_name.as_ref().is_none_or(|name| *name == identity.metric_name)
                && filters.iter().all(|filter| {
                    identity.dimensions.iter().any(|(name, value)| {
                        *name == filter.name && filter.value.as_ref().is_none_or(|wanted| wanted == value)
                    })
                })
                && metric.last_seen_ms.is_some_and(|seen| seen >= listed_since)
                && after.as_ref().is_none_or(|after| **identity > *after)
        })
        .map(|metric| metric.identity)
        .collect();
    matching.sort();
    let next_token = (matching.len() > LIST_PAGE).then(|| matching.get(LIST_PAGE - 1).map(|last| list_token(last))).flatten();
    matching.truncate(LIST_PAGE);
    let owning_accounts = request
        .include_linked_accounts
        .unwrap_or(false)
        .then(|| vec![request.owning_account.clone().unwrap_or_else(|| ctx.account_id.clone()); matching.len()]);
    Ok(ListMetricsResponse { metrics: matching.iter().map(|identity| metric_of(identity)).collect(), next_token, owning_accounts })
}

// ------------------------------------------------------- GetMetricStatistics

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricStatisticsRequest {
    namespace: String,
    metric_name: String,
    dimensions: Option<Vec<Dimension>>,
    start_time: f64,
    end_time: f64,
    period: i64,
    statistics: Option<Vec<String>>,
    extended_statistics: Option<Vec<String>>,
    unit: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Datapoint {
    timestamp: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_count: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    average: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    minimum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum: Option<f64>,
    unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    extended_statistics: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricStatisticsResponse {
    label: String,
    datapoints: Vec<Datapoint>,
}

/// A period CloudWatch accepts for data starting at `start_ms`: 1, 5, 10,
/// 30 or a multiple of 60, coarser for older data.
pub(crate) fn check_period(period: i64, start_ms: i64, now_ms: i64, path: &str) -> Result<(), ApiError> {
    if period < 1 {
        return Err(invalid_value(format!("The parameter {path} must be greater than 0.")));
    }
    if ![1, 5, 10, 30].contains(&period) && period % 60 != 0 {
        return Err(invalid_value(format!(
            "The parameter {path} must be 1, 5, 10, 30 or a multiple of 60."
        )));
    }
    let required = finest_period_s(now_ms - start_ms);
    if period % required != 0 {
        return Err(invalid_value(format!(
            "The parameter {path} must be a multiple of {required} for data that starts more than {} ago.",
            match required {
                3600 => "63 days",
                300 => "15 days",
                _ => "3 hours",
            }
        )));
    }
    Ok(())
}

/// The finest period CloudWatch keeps for data this old: 1 s for 3 hours,
/// 1 minute for 15 days, 5 minutes for 63 days, then an hour.
fn finest_period_s(age_ms: i64) -> i64 {
    if age_ms > SIXTY_THREE_DAYS_MS {
        3600
    } else if age_ms > FIFTEEN_DAYS_MS {
        300
    } else if age_ms > THREE_HOURS_MS {
        60
    } else {
        1
    }
}

/// CloudWatch rounds a start time down: to the period (at most a minute)
/// for data of the last 15 days, to 5 minutes past 15 days, to the hour
/// past 63 days.
pub(crate) fn round_start(start_ms: i64, period_s: i64, now_ms: i64) -> i64 {
    let step_s = match finest_period_s(now_ms - start_ms) {
        finest @ (300 | 3600) => finest,
        _ => period_s.clamp(1, 60),
    };
    start_ms - start_ms.rem_euclid(step_s * 1000)
}

pub async fn get_metric_statistics(
    service: &CloudWatchService,
    ctx: &RequestContext,
    request: GetMetricStatisticsRequest,
) -> Result<GetMetricStatisticsResponse, ApiError> {
    let basic = request.statistics.clone().unwrap_or_default();
    let extended = request.extended_statistics.clone().unwrap_or_default();
    if basic.is_empty() && extended.is_empty() {
        return Err(missing("Must specify either Statistics or ExtendedStatistics."));
    }
    if !basic.is_empty() && !extended.is_empty() {
        return Err(invalid_combination(
            "The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.",
        ));
    }
    if extended.len() > 10 {
        return Err(invalid_value("The collection ExtendedStatistics must not have a size greater than 10."));
    }
    let mut basic_parsed = Vec::with_capacity(basic.len());
    for (index, name) in basic.iter().enumerate() {
        let statistic: Statistic = name.parse().ok().filter(Statistic::is_basic).ok_or_else(|| {
            invalid_value(format!("The value {name} for parameter Statistics.member.{} is invalid.", index + 1))
        })?;
        basic_parsed.push(statistic);
    }
    let mut extended_parsed = Vec::with_capacity(extended.len());
    for (index, text) in extended.iter().enumerate() {
        let statistic: Statistic = text.parse().map_err(|error| {
            invalid_value(format!("The value {text} for parameter ExtendedStatistics.member.{} is invalid: {error}", index + 1))
        })?;
        if statistic.is_basic() {
            return Err(invalid_value(format!(
                "The value {text} for parameter ExtendedStatistics.member.{} is invalid: use Statistics for it.",
                index + 1
            )));
        }
        extended_parsed.push((text.clone(), statistic));
    }
    let start_ms = (request.start_time * 1000.0).round() as i64;
    let end_ms = (request.end_time * 1000.0).round() as i64;
    if start_ms >= end_ms {
        return Err(invalid_value("The parameter StartTime must be less than the parameter EndTime."));
    }
    let now = service.now_ms();
    if request.period >= 1 {
        let period_ms = request.period * 1000;
        let requested = (end_ms - start_ms + period_ms - 1) / period_ms;
        if requested > MAX_STATISTICS_DATAPOINTS {
            return Err(invalid_combination(format!(
                "You have requested up to {requested} datapoints, which exceeds the limit of {MAX_STATISTICS_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            )));
        }
    }
    check_period(request.period, start_ms, now, "Period")?;
    let start_ms = round_start(start_ms, request.period, now);
    check_namespace_for_read(&request.namespace)?;
    let unit = parse_unit(request.unit.as_deref(), &"Unit")?;
    let identity = MetricIdentity::new(request.namespace, request.metric_name.clone(), dimensions(request.dimensions, &"Dimensions")?);
    let points = service
        .store
        .read(&argus_storage::metrics::ReadRequest {
            scope: scope(ctx),
            identity,
            unit,
            start_ms,
            end_ms,
            period_s: u32::try_from(request.period).unwrap_or(u32::MAX),
        })
        .await
        .map_err(store_error)?;
    let datapoints = points.iter().map(|point| datapoint(point, &basic_parsed, &extended_parsed)).collect();
    Ok(GetMetricStatisticsResponse { label: request.metric_name, datapoints })
}

fn check_namespace_for_read(namespace: &str) -> Result<(), ApiError> {
    if namespace.is_empty() {
        return Err(invalid_value("The parameter Namespace must not be empty."));
    }
    Ok(())
}

fn datapoint(point: &PeriodPoint, basic: &[Statistic], extended: &[(String, Statistic)]) -> Datapoint {
    let summary = &point.summary;
    let mut datapoint = Datapoint {
        timestamp: point.start_ms as f64 / 1000.0,
        sample_count: None,
        average: None,
        sum: None,
        minimum: None,
        maximum: None,
        unit: point.unit.name().to_string(),
        extended_statistics: None,
    };
    for statistic in basic {
        let value = summary.compute(statistic);
        match statistic {
            Statistic::SampleCount => datapoint.sample_count = value,
            Statistic::Average => datapoint.average = value,
            Statistic::Sum => datapoint.sum = value,
            Statistic::Minimum => datapoint.minimum = value,
            Statistic::Maximum => datapoint.maximum = value,
            _ => {}
        }
    }
    if !extended.is_empty() {
        let mut values = BTreeMap::new();
        for (name, statistic) in extended {
            if let Some(value) = summary.compute(statistic) {
                values.insert(name.clone(), value);
            }
        }
        datapoint.extended_statistics = Some(values);
    }
    datapoint
}

// ------------------------------------------------------------ GetMetricData

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricSpec {
    namespace: Option<String>,
    metric_name: Option<String>,
    dimensions: Option<Vec<Dimension>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    metric: MetricSpec,
    period: i64,
    stat: String,
    unit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQuery {
    id: String,
    metric_stat: Option<MetricStat>,
    expression: Option<String>,
    label: Option<String>,
    return_data: Option<bool>,
    /// The period of an expression's SEARCH results (metric math).
    period: Option<i64>,
    account_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelOptions {
    timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricDataRequest {
    metric_data_queries: Vec<MetricDataQuery>,
    start_time: f64,
    end_time: f64,
    next_token: Option<String>,
    scan_by: Option<String>,
    max_datapoints: Option<i64>,
    label_options: Option<LabelOptions>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageData {
    code: String,
    value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataResult {
    id: String,
    label: String,
    timestamps: Vec<f64>,
    values: Vec<f64>,
    status_code: String,
    messages: Vec<MessageData>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricDataResponse {
    metric_data_results: Vec<MetricDataResult>,
    messages: Vec<MessageData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// One query's answer: (timestamp ms, value) oldest first.
pub(crate) type Series = Vec<(i64, f64)>;

pub async fn get_metric_data(
    service: &CloudWatchService,
    ctx: &RequestContext,
    request: GetMetricDataRequest,
) -> Result<GetMetricDataResponse, ApiError> {
    let queries = &request.metric_data_queries;
    if queries.is_empty() {
        return Err(missing("The parameter MetricDataQueries is required."));
    }
    if queries.len() > 500 {
        return Err(invalid_value("The collection MetricDataQueries must not have a size greater than 500."));
    }
    let start_ms = (request.start_time * 1000.0).round() as i64;
    let end_ms = (request.end_time * 1000.0).round() as i64;
    if start_ms >= end_ms {
        return Err(invalid_value("The parameter StartTime must be less than the parameter EndTime."));
    }
    let descending = match request.scan_by.as_deref() {
        None | Some("TimestampDescending") => true,
        Some("TimestampAscending") => false,
        Some(other) => return Err(invalid_value(format!("The value {other} for parameter ScanBy is invalid."))),
    };
    if let Some(timezone) = request.label_options.as_ref().and_then(|options| options.timezone.as_deref()) {
        check_timezone(timezone)?;
    }
    let now = service.now_ms();
    let mut ids = HashSet::new();
    for (index, query) in queries.iter().enumerate() {
        let path = format!("MetricDataQueries.member.{}", index + 1);
        check_id(&query.id, &path)?;
        if !ids.insert(query.id.as_str()) {
            return Err(invalid_value(format!("The value {} for parameter {path}.Id is not unique.", query.id)));
        }
        match (&query.metric_stat, &query.expression) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(invalid_combination(format!(
                    "The parameter {path} must contain exactly one of MetricStat or Expression."
                )));
            }
            _ => {}
        }
        if query.account_id.as_ref().is_some_and(|account| *account != ctx.account_id) {
            return Err(invalid_value(format!("The parameter {path}.AccountId names another account; cross-account queries are not supported by this server.")));
        }
    }
    let max_datapoints = request.max_datapoints.unwrap_or(100_800);
    if max_datapoints < 1 {
        return Err(invalid_value("The parameter MaxDatapoints must be greater than 0."));
    }

    // Expressions are parsed before any data is read.
    let mut expressions = BTreeMap::new();
    for (index, query) in queries.iter().enumerate() {
        if let Some(text) = &query.expression {
            let expression = Expression::parse(text).map_err(|error| {
                invalid_value(format!("The parameter MetricDataQueries.member.{}.Expression is invalid: {error}", index + 1))
            })?;
            expressions.insert(query.id.clone(), expression);
        }
    }
    let mut computed: BTreeMap<String, Vec<Answer>> = BTreeMap::new();
    let mut metric_series = Vec::new();
    for (index, query) in queries.iter().enumerate() {
        let path = format!("MetricDataQueries.member.{}", index + 1);
        let Some(stat) = &query.metric_stat else {
            continue;
        };
        let points = metric_stat_series(service, ctx, stat, start_ms, end_ms, now, &path).await?;
        let default_label = stat.metric.metric_name.clone().unwrap_or_else(|| query.id.clone());
        let label = query.label.clone().filter(|label| !label.is_empty()).unwrap_or_else(|| default_label.clone());
        metric_series.push(MathSeries::from_points(
            query.id.clone(),
            label.clone(),
            stat.period,
            points.iter().map(|(ts, value)| (ts.div_euclid(1000), *value)),
        ));
        let metric = MathMetric {
            namespace: stat.metric.namespace.clone().unwrap_or_default(),
            metric_name: stat.metric.metric_name.clone().unwrap_or_default(),
            dimensions: stat.metric.dimensions.iter().flatten().map(|d| (d.name.clone(), d.value.clone())).collect(),
        };
        computed.insert(
            query.id.clone(),
            vec![Answer {
                points,
                label,
                default_label,
                metric: Some(metric),
                period_s: Some(stat.period),
                stat: Some(stat.stat.clone()),
            }],
        );
    }
    // Expressions in dependency order: each pass evaluates those whose
    // references are all known; a pass with no progress is a cycle or an
    // unknown id.
    let mut evaluated: BTreeMap<String, MathValue> = BTreeMap::new();
    for series in &metric_series {
        evaluated.insert(series.id.clone(), MathValue::Series(series.clone()));
    }
    let mut pending: Vec<&MetricDataQuery> = queries.iter().filter(|query| query.expression.is_some()).collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for query in pending {
            let Some(expression) = expressions.get(&query.id) else { continue };
            let ready = expression.referenced_ids().iter().all(|id| evaluated.contains_key(id) || !ids.contains(id.as_str()));
            if !ready {
                waiting.push(query);
                continue;
            }
            let context = Context {
                service,
                scope: scope(ctx),
                values: &evaluated,
                metrics: &metric_series,
                period: query.period.unwrap_or(60),
                range: (start_ms.div_euclid(1000), end_ms.div_euclid(1000)),
            };
            let value = tokio::task::block_in_place(|| expression.evaluate(&context)).map_err(ApiError::from)?;
            // A label with placeholders is filled in per series below, from
            // each series' own default label.
            let static_label = query.label.as_deref().filter(|label| !labels::has_placeholders(label));
            let series = value.clone().into_results(static_label, &query.id).map_err(ApiError::from)?;
            computed.insert(
                query.id.clone(),
                series
                    .into_iter()
                    .map(|series| Answer {
                        points: series.points().map(|(ts, value)| (ts * 1000, value)).collect(),
                        default_label: series.label.clone(),
                        label: series.label,
                        period_s: Some(series.period),
                        metric: series.metric,
                        stat: None,
                    })
                    .collect(),
            );
            evaluated.insert(query.id.clone(), value);
        }
        if waiting.len() == before {
            let ids: Vec<&str> = waiting.iter().map(|query| query.id.as_str()).collect();
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("Circular dependency between the expressions of {}.", ids.join(", ")),
            ));
        }
        pending = waiting;
    }

    let offset_s = match request.label_options.as_ref().and_then(|options| options.timezone.as_deref()) {
        Some(timezone) => labels::parse_timezone(timezone).unwrap_or(0),
        None => 0,
    };
    let mut answers: Vec<(&str, Answer)> = Vec::new();
    for query in queries {
        if query.return_data == Some(false) {
            continue;
        }
        for mut answer in computed.remove(&query.id).unwrap_or_default() {
            if let Some(label) = query.label.as_deref().filter(|label| labels::has_placeholders(label)) {
                answer.label = labels::render(
                    label,
                    &labels::LabelContext {
                        default_label: &answer.default_label,
                        metric: answer.metric.as_ref(),
                        period_s: answer.period_s,
                        stat: answer.stat.as_deref(),
                        region: &ctx.region,
                        account: &ctx.account_id,
                        points: &answer.points,
                        now_ms: now,
                        offset_s,
                    },
                );
            }
            if descending {
                answer.points.reverse();
            }
            answers.push((query.id.as_str(), answer));
        }
    }
    let (metric_data_results, next_token) = page_of(answers, &request, max_datapoints)?;
    Ok(GetMetricDataResponse { metric_data_results, messages: Vec::new(), next_token })
}

/// One result series before paging.
struct Answer {
    /// (epoch ms, value) in the order they are returned.
    points: Series,
    label: String,
    /// What `${LABEL}` stands for.
    default_label: String,
    metric: Option<MathMetric>,
    period_s: Option<i64>,
    stat: Option<String>,
}

/// Where a GetMetricData page ended: datapoints already returned, and a
/// fingerprint of the request the token was issued for.
#[derive(Debug, Serialize, Deserialize)]
struct DataPosition {
    returned: i64,
    request: u64,
}

fn fingerprint(request: &GetMetricDataRequest) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    format!("{:?}", request.metric_data_queries).hash(&mut hasher);
    request.start_time.to_bits().hash(&mut hasher);
    request.end_time.to_bits().hash(&mut hasher);
    request.scan_by.hash(&mut hasher);
    hasher.finish()
}

/// Cuts the results to MaxDatapoints, as CloudWatch pages them: the
/// datapoints of all results in order, `MaxDatapoints` per page; a result
/// with more datapoints on later pages is `PartialData`, and later pages
/// carry only the results that still have datapoints.
fn page_of(
    answers: Vec<(&str, Answer)>,
    request: &GetMetricDataRequest,
    max_datapoints: i64,
) -> Result<(Vec<MetricDataResult>, Option<String>), ApiError> {
    let invalid = || ApiError::new(ErrorCode::InvalidNextToken, "The service couldn't process the NextToken: it is not one this server returned for this request.");
    let request_hash = fingerprint(request);
    let skip = match &request.next_token {
        Some(token) => {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
            let position: DataPosition = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
            if position.request != request_hash || position.returned < 0 {
                return Err(invalid());
            }
            position.returned
        }
        None => 0,
    };
    let page_end = skip.saturating_add(max_datapoints);
    let mut seen = 0i64;
    let mut results = Vec::new();
    for (id, answer) in answers {
        let len = answer.points.len() as i64;
        let from = (skip - seen).clamp(0, len);
        let to = (page_end - seen).clamp(0, len);
        seen += len;
        // An empty result is reported once, on the first page.
        if from == to && !(len == 0 && skip == 0) {
            continue;
        }
        let slice = answer.points.get(from as usize..to as usize).unwrap_or_default();
        results.push(MetricDataResult {
            id: id.to_string(),
            label: answer.label,
            timestamps: slice.iter().map(|(ts, _)| *ts as f64 / 1000.0).collect(),
            values: slice.iter().map(|(_, value)| *value).collect(),
            status_code: if to < len { "PartialData" } else { "Complete" }.to_string(),
            messages: Vec::new(),
        });
    }
    if skip > 0 && skip >= seen && seen > 0 {
        return Err(invalid());
    }
    let next_token = (seen > page_end).then(|| {
        let position = DataPosition { returned: page_end, request: request_hash };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&position).unwrap_or_default())
    });
    Ok((results, next_token))
}

fn check_id(id: &str, path: &str) -> Result<(), ApiError> {
    let mut chars = id.chars();
    let starts_lower = chars.next().is_some_and(|first| first.is_ascii_lowercase());
    if !starts_lower || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || id.len() > 255 {
        return Err(invalid_value(format!(
            "The value {id} for parameter {path}.Id is invalid: it must start with a lowercase letter and contain only letters, numbers and underscores."
        )));
    }
    Ok(())
}

fn check_timezone(timezone: &str) -> Result<(), ApiError> {
    if labels::parse_timezone(timezone).is_none() {
        return Err(invalid_value(format!("The value {timezone} for parameter LabelOptions.Timezone is invalid: use the form +HHMM or -HHMM.")));
    }
    Ok(())
}

async fn metric_stat_series(
    service: &CloudWatchService,
    ctx: &RequestContext,
    stat: &MetricStat,
    start_ms: i64,
    end_ms: i64,
    now: i64,
    path: &str,
) -> Result<Series, ApiError> {
    let statistic: Statistic = stat
        .stat
        .parse()
        .map_err(|error| invalid_value(format!("The value {} for parameter {path}.MetricStat.Stat is invalid: {error}", stat.stat)))?;
    check_period(stat.period, start_ms, now, &format!("{path}.MetricStat.Period"))?;
    let (Some(namespace), Some(metric_name)) = (&stat.metric.namespace, &stat.metric.metric_name) else {
        return Err(missing(format!("The parameter {path}.MetricStat.Metric must name a Namespace and a MetricName.")));
    };
    let unit = parse_unit(stat.unit.as_deref(), &format!("{path}.MetricStat.Unit"))?;
    let identity = MetricIdentity::new(
        namespace.clone(),
        metric_name.clone(),
        dimensions(stat.metric.dimensions.clone(), &format!("{path}.MetricStat.Metric.Dimensions"))?,
    );
    let start_ms = round_start(start_ms, stat.period, now);
    let points = service
        .store
        .read(&argus_storage::metrics::ReadRequest {
            scope: scope(ctx),
            identity,
            unit,
            start_ms,
            end_ms,
            period_s: u32::try_from(stat.period).unwrap_or(u32::MAX),
        })
        .await
        .map_err(store_error)?;
    Ok(points.iter().filter_map(|point| point.summary.compute(&statistic).map(|value| (point.start_ms, value))).collect())
}

/// What metric math sees of a GetMetricData request.
struct Context<'a> {
    service: &'a CloudWatchService,
    scope: argus_storage::metrics::MetricScope,
    values: &'a BTreeMap<String, MathValue>,
    metrics: &'a [MathSeries],
    period: i64,
    range: (i64, i64),
}

/// SEARCH reads at most this many metrics.
const MAX_SEARCH_METRICS: usize = 500;

impl MathContext for Context<'_> {
    fn lookup(&self, id: &str) -> Option<MathValue> {
        self.values.get(id).cloned()
    }

    fn metrics(&self) -> Vec<MathSeries> {
        self.metrics.to_vec()
    }

    fn search(&self, query: &SearchQuery, statistic: &str, period: i64) -> Result<Vec<MathSeries>, MathError> {
        let parsed: Statistic =
            statistic.parse().map_err(|error| MathError::context(format!("SEARCH statistic {statistic} is invalid: {error}")))?;
        let period_s = u32::try_from(period).map_err(|_| MathError::context("SEARCH period is out of range"))?;
        let mut found: Vec<_> = self
            .service
            .store
            .list(&self.scope)
            .into_iter()
            .filter(|listed| {
                let identity = &listed.identity;
                query.matches(&MathIdentity {
                    namespace: &identity.namespace,
                    metric_name: &identity.metric_name,
                    dimensions: &identity.dimensions,
                })
            })
            .collect();
        if found.len() > MAX_SEARCH_METRICS {
            return Err(MathError::context(format!(
                "SEARCH matched {} metrics, more than the {MAX_SEARCH_METRICS} this server reads; narrow the search",
                found.len()
            )));
        }
        found.sort_by(|a, b| a.identity.cmp(&b.identity));
        let (start, end) = self.range;
        let mut series = Vec::with_capacity(found.len());
        for listed in found {
            let read = self.service.store.read_series(listed.series_id, None, start * 1000, end * 1000, period_s);
            let points = tokio::runtime::Handle::current()
                .block_on(read)
                .map_err(|error| MathError::context(format!("reading a metric for SEARCH failed: {error}")))?;
            let identity = &listed.identity;
            let mut one = MathSeries::from_points(
                String::new(),
                String::new(),
                period,
                points.iter().filter_map(|point| point.summary.compute(&parsed).map(|value| (point.start_ms / 1000, value))),
            );
            one.metric = Some(MathMetric {
                namespace: identity.namespace.clone(),
                metric_name: identity.metric_name.clone(),
                dimensions: identity.dimensions.clone(),
            });
            series.push(one);
        }
        Ok(series)
    }

    fn period(&self) -> i64 {
        self.period
    }

    fn time_range(&self) -> (i64, i64) {
        self.range
    }
}
