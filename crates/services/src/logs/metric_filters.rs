//! Metric filters: PutMetricFilter, DescribeMetricFilters,
//! DeleteMetricFilter, TestMetricFilter, and the filters themselves —
//! applied to each event of a group as PutLogEvents accepts it (never
//! retroactively, as on AWS), turning matches into CloudWatch datapoints.
//!
//! The filters of every group live compiled in memory ([`MetricFilters`]);
//! the catalog is their durable copy. A batch's matches are summed per
//! metric, dimension values and minute before they reach the metric store,
//! so 10,000 matching events cost one datapoint entry, not 10,000.

use std::collections::HashMap;
use std::sync::Arc;

use argus_core::{ApiError, ErrorCode, RequestContext};
use argus_query::filter::{FieldRef, FieldRefs, FieldValue, FilterPattern, GroupScratch, PatternGroup};
use argus_storage::catalog::CatalogError;
use argus_storage::logs::{NewEvent, StoreError};
use argus_storage::metrics::{MetricIdentity, NewDatum, SampleValue, Unit};
use argus_storage::{MetricFilterCatalog, MetricFilterRecord};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::{LogsService, named_group, scope, store_error, tokens};
use crate::Empty;

/// AWS's quotas: filters per log group, dimensions per filter.
const MAX_FILTERS_PER_GROUP: usize = 100;
const MAX_DIMENSIONS: usize = 3;
const DEFAULT_DESCRIBE_LIMIT: usize = 50;
const MINUTE_MS: i64 = 60_000;

/// Dimension (name, value) pairs of one datapoint.
type DimensionValues = Vec<(String, String)>;
/// (filter index, dimension values, minute) → the values seen (counted at the end).
type Sums = HashMap<(usize, DimensionValues, i64), Vec<f64>, foldhash::fast::RandomState>;

/// One metricTransformation, as the client sent it and as it is described back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricTransformation {
    metric_name: String,
    metric_namespace: String,
    metric_value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
}

/// Where a transformation's value comes from.
#[derive(Debug, Clone)]
enum MetricValue {
    Constant(f64),
    /// `$.path` of a JSON event or `$name` / `$N` of a space-delimited one.
    Field(FieldRef),
}

/// A filter ready to run over events.
#[derive(Debug)]
struct CompiledFilter {
    record: MetricFilterRecord,
    transformation: MetricTransformation,
    pattern: FilterPattern,
    value: MetricValue,
    unit: Unit,
    /// Dimension names, in the order of the stored map.
    dimension_names: Vec<String>,
    /// What a match reads: the dimensions' fields, then the value's field if any.
    fields: FieldRefs,
}

impl CompiledFilter {
    fn compile(record: MetricFilterRecord) -> Result<CompiledFilter, ApiError> {
        let pattern = FilterPattern::parse(&record.pattern).map_err(|error| ApiError::invalid_parameter(error.to_string()))?;
        let mut transformations: Vec<MetricTransformation> = serde_json::from_str(&record.transformations)
            .map_err(|error| ApiError::invalid_parameter(format!("metricTransformations: {error}")))?;
        let transformation = match transformations.len() {
            1 => transformations.remove(0),
            count => {
                return Err(ApiError::invalid_parameter(format!(
                    "a metric filter has exactly one metricTransformation, not {count}"
                )));
            }
        };
        let value = parse_metric_value(&transformation.metric_value)?;
        let unit = match &transformation.unit {
            Some(name) => Unit::parse(name)
                .ok_or_else(|| ApiError::invalid_parameter(format!("`{name}` is not a CloudWatch unit")))?,
            None => Unit::NONE,
        };
        let dimensions: Vec<(String, String)> =
            transformation.dimensions.iter().flatten().map(|(name, selector)| (name.clone(), selector.clone())).collect();
        if dimensions.len() > MAX_DIMENSIONS {
            return Err(ApiError::invalid_parameter(format!(
                "A metric filter can have at most {MAX_DIMENSIONS} dimensions; this one has {}.",
                dimensions.len()
            )));
        }
        let mut fields = Vec::with_capacity(dimensions.len() + 1);
        for (name, selector) in &dimensions {
            let field = FieldRef::parse(selector).ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "Dimension `{name}` must name a field of the event (`$.field` or `$field`), not `{selector}`."
                ))
            })?;
            fields.push(field);
        }
        if !dimensions.is_empty() && transformation.default_value.is_some() {
            return Err(ApiError::invalid_parameter(
                "A metric transformation with dimensions cannot have a defaultValue; remove one of them.",
            ));
        }
        if let MetricValue::Field(field) = &value {
            fields.push(field.clone());
        }
        let fields = FieldRefs::new(fields).ok_or_else(|| ApiError::invalid_parameter("too many field references"))?;
        let dimension_names = dimensions.into_iter().map(|(name, _)| name).collect();
        Ok(CompiledFilter { record, transformation, pattern, value, unit, dimension_names, fields })
    }

    /// The value and dimensions a matched event publishes, if it has them,
    /// from the values of its fields (dimensions first, then the value's).
    fn observe(&self, fields: &mut [Option<FieldValue<'_>>]) -> Option<(f64, DimensionValues)> {
        let value = match &self.value {
            MetricValue::Constant(value) => *value,
            MetricValue::Field(_) => fields.last()?.as_ref()?.as_number()?,
        };
        let mut dimensions = Vec::with_capacity(self.dimension_names.len());
        for (name, found) in self.dimension_names.iter().zip(fields.iter_mut()) {
            let text = match found.take()? {
                FieldValue::String(text) if !text.is_empty() => text.into_owned(),
                FieldValue::Number(number) => format_number(number),
                FieldValue::Bool(flag) => flag.to_string(),
                FieldValue::String(_) | FieldValue::Null => return None,
            };
            dimensions.push((name.clone(), text));
        }
        Some((value, dimensions))
    }
}

fn parse_metric_value(text: &str) -> Result<MetricValue, ApiError> {
    if let Some(field) = FieldRef::parse(text) {
        return Ok(MetricValue::Field(field));
    }
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(MetricValue::Constant(value)),
        _ => Err(ApiError::invalid_parameter(format!(
            "Invalid metricValue `{text}`: use a number, `$.field` for JSON events or `$field` for space-delimited events."
        ))),
    }
}

/// A JSON number as a dimension value: integers without a fraction.
fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 { format!("{}", number as i64) } else { number.to_string() }
}

/// One group's filters, sorted by name, and the same as one [`PatternGroup`]
/// (JSON filters share one scan of each event).
#[derive(Default)]
struct GroupFilters {
    filters: Vec<Arc<CompiledFilter>>,
    patterns: PatternGroup,
}

impl GroupFilters {
    fn new(mut filters: Vec<Arc<CompiledFilter>>) -> GroupFilters {
        filters.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        let patterns = PatternGroup::new(filters.iter().map(|filter| (filter.pattern.clone(), filter.fields.clone())).collect());
        GroupFilters { filters, patterns }
    }
}

/// Every group's filters, compiled.
#[derive(Default)]
pub struct MetricFilters {
    by_group: RwLock<HashMap<u64, Arc<GroupFilters>>>,
}

impl MetricFilters {
    /// Compiles what the catalog holds; a filter that no longer compiles
    /// (a stricter build) is skipped with a warning rather than failing start-up.
    pub fn load(catalog: &dyn MetricFilterCatalog) -> Result<MetricFilters, CatalogError> {
        let mut by_group: HashMap<u64, Vec<Arc<CompiledFilter>>> = HashMap::new();
        for record in catalog.load_metric_filters()? {
            let (group_id, name) = (record.group_id, record.name.clone());
            match CompiledFilter::compile(record) {
                Ok(filter) => by_group.entry(group_id).or_default().push(Arc::new(filter)),
                Err(error) => tracing::warn!(group_id, filter = %name, reason = %error.message, "skipping a stored metric filter"),
            }
        }
        let by_group = by_group.into_iter().map(|(group, filters)| (group, Arc::new(GroupFilters::new(filters)))).collect();
        Ok(MetricFilters { by_group: RwLock::new(by_group) })
    }

    fn group(&self, group_id: u64) -> Arc<GroupFilters> {
        self.by_group.read().get(&group_id).cloned().unwrap_or_default()
    }

    fn of_group(&self, group_id: u64) -> Vec<Arc<CompiledFilter>> {
        self.group(group_id).filters.clone()
    }

    pub fn count(&self, group_id: u64) -> usize {
        self.by_group.read().get(&group_id).map_or(0, |group| group.filters.len())
    }

    fn replace(&self, group_id: u64, filter: CompiledFilter) {
        let mut by_group = self.by_group.write();
        let mut filters: Vec<Arc<CompiledFilter>> = by_group.get(&group_id).map(|group| group.filters.clone()).unwrap_or_default();
        filters.retain(|existing| existing.record.name != filter.record.name);
        filters.push(Arc::new(filter));
        by_group.insert(group_id, Arc::new(GroupFilters::new(filters)));
    }

    fn remove(&self, group_id: u64, name: &str) {
        let mut by_group = self.by_group.write();
        if let Some(group) = by_group.get(&group_id) {
            let kept: Vec<Arc<CompiledFilter>> = group.filters.iter().filter(|f| f.record.name != name).cloned().collect();
            if kept.is_empty() {
                by_group.remove(&group_id);
            } else {
                by_group.insert(group_id, Arc::new(GroupFilters::new(kept)));
            }
        }
    }

    /// Forgets a deleted group's filters (the catalog deleted them with it).
    pub fn remove_group(&self, group_id: u64) {
        self.by_group.write().remove(&group_id);
    }

    /// The datapoints a batch of accepted events produces: per filter,
    /// dimension values and minute, the values with their counts.
    pub fn datapoints(&self, group_id: u64, events: &[NewEvent]) -> Vec<NewDatum> {
        let group = self.group(group_id);
        let filters = &group.filters;
        if filters.is_empty() {
            return Vec::new();
        }
        let mut sums = Sums::default();
        let mut scratch = GroupScratch::default();
        for event in events {
            let minute = event.timestamp - event.timestamp.rem_euclid(MINUTE_MS);
            group.patterns.evaluate(&event.message, &mut scratch, |index, fields| {
                let Some(filter) = filters.get(index) else { return };
                let observed = match fields {
                    Some(fields) => filter.observe(fields),
                    None => filter.transformation.default_value.map(|value| (value, Vec::new())),
                };
                if let Some((value, dimensions)) = observed {
                    sums.entry((index, dimensions, minute)).or_default().push(value);
                }
            });
        }
        sums.into_iter()
            .filter_map(|((index, dimensions, minute), mut values)| {
                let filter = filters.get(index)?;
                values.sort_unstable_by(f64::total_cmp);
                let mut counts: Vec<(f64, f64)> = Vec::new();
                for value in values {
                    match counts.last_mut() {
                        Some((seen, count)) if *seen == value => *count += 1.0,
                        _ => counts.push((value, 1.0)),
                    }
                }
                Some(NewDatum {
                    identity: MetricIdentity::new(
                        filter.transformation.metric_namespace.clone(),
                        filter.transformation.metric_name.clone(),
                        dimensions,
                    ),
                    unit: filter.unit,
                    resolution_s: 60,
                    timestamp_ms: minute,
                    value: SampleValue::Values(counts),
                })
            })
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutMetricFilterRequest {
    log_group_name: String,
    filter_name: String,
    filter_pattern: String,
    metric_transformations: Vec<MetricTransformation>,
    apply_on_transformed_logs: Option<bool>,
}

pub async fn put(service: &LogsService, ctx: &RequestContext, request: PutMetricFilterRequest) -> Result<Empty, ApiError> {
    let group = named_group(&service.store, ctx, &request.log_group_name)?;
    let record = MetricFilterRecord {
        group_id: group.id,
        name: request.filter_name,
        pattern: request.filter_pattern,
        transformations: serde_json::to_string(&request.metric_transformations).map_err(|_| ApiError::internal())?,
        created_ms: service.now(),
        apply_on_transformed_logs: request.apply_on_transformed_logs.unwrap_or(false),
    };
    let filter = CompiledFilter::compile(record.clone())?;
    let filters = service.metric_filters.of_group(group.id);
    let replacing = filters.iter().any(|existing| existing.record.name == record.name);
    if !replacing && filters.len() >= MAX_FILTERS_PER_GROUP {
        return Err(ApiError::new(ErrorCode::LimitExceeded, "Resource limit exceeded."));
    }
    let catalog = Arc::clone(&service.filter_catalog);
    tokio::task::spawn_blocking(move || catalog.put_metric_filter(&record))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| store_error(StoreError::from(error)))?;
    service.metric_filters.replace(group.id, filter);
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteMetricFilterRequest {
    log_group_name: String,
    filter_name: String,
}

pub async fn delete(service: &LogsService, ctx: &RequestContext, request: DeleteMetricFilterRequest) -> Result<Empty, ApiError> {
    let group = named_group(&service.store, ctx, &request.log_group_name)?;
    let catalog = Arc::clone(&service.filter_catalog);
    let name = request.filter_name.clone();
    let deleted = tokio::task::spawn_blocking(move || catalog.delete_metric_filter(group.id, &name))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| store_error(StoreError::from(error)))?;
    if !deleted {
        return Err(ApiError::not_found("The specified metric filter does not exist."));
    }
    service.metric_filters.remove(group.id, &request.filter_name);
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeMetricFiltersRequest {
    log_group_name: Option<String>,
    filter_name_prefix: Option<String>,
    next_token: Option<String>,
    limit: Option<usize>,
    metric_name: Option<String>,
    metric_namespace: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricFilterView {
    filter_name: String,
    filter_pattern: String,
    metric_transformations: Vec<MetricTransformation>,
    creation_time: i64,
    log_group_name: String,
    apply_on_transformed_logs: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeMetricFiltersResponse {
    metric_filters: Vec<MetricFilterView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Where a DescribeMetricFilters page ended: (filter name, group name).
#[derive(Debug, Serialize, Deserialize)]
struct FiltersPosition {
    name: String,
    group: String,
}

pub fn describe(
    service: &LogsService,
    ctx: &RequestContext,
    request: DescribeMetricFiltersRequest,
) -> Result<DescribeMetricFiltersResponse, ApiError> {
    match (&request.metric_name, &request.metric_namespace) {
        (Some(_), None) => {
            return Err(ApiError::invalid_parameter("If you specify metricName, you must also specify metricNamespace."));
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid_parameter("If you specify metricNamespace, you must also specify metricName."));
        }
        _ => {}
    }
    let scope = scope(ctx);
    let groups = match &request.log_group_name {
        Some(name) => vec![named_group(&service.store, ctx, name)?],
        None => service.store.list_groups(&scope, None, |_, _| true, usize::MAX).0,
    };
    // AWS applies the prefix only together with a log group name.
    let prefix = request.log_group_name.as_ref().and(request.filter_name_prefix.as_deref()).unwrap_or("");
    let after = match &request.next_token {
        Some(token) => Some(tokens::decode::<FiltersPosition>(token)?),
        None => None,
    };
    let mut matching: Vec<(Arc<CompiledFilter>, &str)> = Vec::new();
    for group in &groups {
        for filter in service.metric_filters.of_group(group.id).iter() {
            let transformation = &filter.transformation;
            let wanted = filter.record.name.starts_with(prefix)
                && request.metric_name.as_ref().is_none_or(|name| *name == transformation.metric_name)
                && request.metric_namespace.as_ref().is_none_or(|namespace| *namespace == transformation.metric_namespace);
            if wanted {
                matching.push((Arc::clone(filter), group.name.as_str()));
            }
        }
    }
    // ASCII order of filter names (then group names, for a stable page order).
    matching.sort_by(|(a, a_group), (b, b_group)| (&a.record.name, a_group).cmp(&(&b.record.name, b_group)));
    if let Some(after) = &after {
        matching.retain(|(filter, group)| (filter.record.name.as_str(), *group) > (after.name.as_str(), after.group.as_str()));
    }
    let limit = request.limit.unwrap_or(DEFAULT_DESCRIBE_LIMIT);
    let more = matching.len() > limit;
    matching.truncate(limit);
    let next_token = match matching.last() {
        Some((last, group)) if more => {
            Some(tokens::encode(&FiltersPosition { name: last.record.name.clone(), group: (*group).to_string() }))
        }
        _ => None,
    };
    let metric_filters = matching
        .into_iter()
        .map(|(filter, group)| MetricFilterView {
            filter_name: filter.record.name.clone(),
            filter_pattern: filter.record.pattern.clone(),
            metric_transformations: vec![filter.transformation.clone()],
            creation_time: filter.record.created_ms,
            log_group_name: group.to_string(),
            apply_on_transformed_logs: filter.record.apply_on_transformed_logs,
        })
        .collect();
    Ok(DescribeMetricFiltersResponse { metric_filters, next_token })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestMetricFilterRequest {
    filter_pattern: String,
    log_event_messages: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricFilterMatch {
    event_number: usize,
    event_message: String,
    extracted_values: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct TestMetricFilterResponse {
    matches: Vec<MetricFilterMatch>,
}

pub fn test(request: TestMetricFilterRequest) -> Result<TestMetricFilterResponse, ApiError> {
    let pattern = FilterPattern::parse(&request.filter_pattern).map_err(|error| ApiError::invalid_parameter(error.to_string()))?;
    let matches = request
        .log_event_messages
        .iter()
        .enumerate()
        .filter_map(|(index, message)| {
            let captures = pattern.evaluate(message)?;
            let extracted_values =
                captures.extracted_values().into_iter().map(|(name, text)| (name, text.to_string())).collect();
            Some(MetricFilterMatch { event_number: index + 1, event_message: message.clone(), extracted_values })
        })
        .collect();
    Ok(TestMetricFilterResponse { matches })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(pattern: &str, transformation: serde_json::Value) -> Result<CompiledFilter, ApiError> {
        CompiledFilter::compile(MetricFilterRecord {
            group_id: 1,
            name: "f".into(),
            pattern: pattern.into(),
            transformations: serde_json::Value::Array(vec![transformation]).to_string(),
            created_ms: 0,
            apply_on_transformed_logs: false,
        })
    }

    fn registry(filters: Vec<CompiledFilter>) -> MetricFilters {
        let registry = MetricFilters::default();
        for (index, mut filter) in filters.into_iter().enumerate() {
            filter.record.name = format!("f{index}");
            registry.replace(1, filter);
        }
        registry
    }

    fn event(timestamp: i64, message: &str) -> NewEvent {
        NewEvent { timestamp, message: message.into() }
    }

    fn counts(datum: &NewDatum) -> Vec<(f64, f64)> {
        let SampleValue::Values(mut counts) = datum.value.clone() else { panic!("expected values") };
        counts.sort_by(|a, b| a.0.total_cmp(&b.0));
        counts
    }

    #[test]
    fn matches_are_counted_per_minute_and_values_come_from_fields() {
        let errors = filter("ERROR", serde_json::json!({"metricName": "Errors", "metricNamespace": "App", "metricValue": "1"})).unwrap();
        let latency = filter(
            "{ $.latency > 0 }",
            serde_json::json!({"metricName": "Latency", "metricNamespace": "App", "metricValue": "$.latency",
                               "unit": "Milliseconds", "dimensions": {"Service": "$.service"}}),
        )
        .unwrap();
        let registry = registry(vec![errors, latency]);
        let events = [
            event(60_000, "ERROR one"),
            event(61_000, "ERROR two"),
            event(125_000, "ERROR three"),
            event(62_000, r#"{"latency": 20, "service": "api"}"#),
            event(63_000, r#"{"latency": 20, "service": "api"}"#),
            event(64_000, r#"{"latency": 35.5, "service": "web"}"#),
            event(65_000, r#"{"latency": 7}"#),
            event(66_000, "plain INFO line"),
        ];
        let mut data = registry.datapoints(1, &events);
        data.sort_by_key(|datum| (datum.identity.metric_name.clone(), datum.identity.dimensions.clone(), datum.timestamp_ms));
        type Row = (String, DimensionValues, i64, Vec<(f64, f64)>);
        let summary: Vec<Row> = data
            .iter()
            .map(|d| (d.identity.metric_name.clone(), d.identity.dimensions.clone(), d.timestamp_ms, counts(d)))
            .collect();
        let api = vec![("Service".to_string(), "api".to_string())];
        let web = vec![("Service".to_string(), "web".to_string())];
        assert_eq!(
            summary,
            vec![
                ("Errors".into(), vec![], 60_000, vec![(1.0, 2.0)]),
                ("Errors".into(), vec![], 120_000, vec![(1.0, 1.0)]),
                ("Latency".into(), api, 60_000, vec![(20.0, 2.0)]),
                ("Latency".into(), web, 60_000, vec![(35.5, 1.0)]),
            ]
        );
        assert!(data.iter().filter(|d| d.identity.metric_name == "Latency").all(|d| d.unit == Unit::parse("Milliseconds").unwrap()));
    }

    #[test]
    fn default_value_is_emitted_for_each_event_that_does_not_match() {
        let errors = filter(
            "ERROR",
            serde_json::json!({"metricName": "Errors", "metricNamespace": "App", "metricValue": "1", "defaultValue": 0}),
        )
        .unwrap();
        let registry = registry(vec![errors]);
        let data = registry.datapoints(1, &[event(0, "ERROR"), event(1, "INFO"), event(2, "INFO")]);
        assert_eq!(data.len(), 1);
        assert_eq!(counts(&data[0]), vec![(0.0, 2.0), (1.0, 1.0)]);
        assert!(registry.datapoints(2, &[event(0, "ERROR")]).is_empty(), "another group's events are not filtered");
    }

    #[test]
    fn space_delimited_fields_give_values_and_dimensions() {
        let bytes = filter(
            "[ip, user, status=5*, size]",
            serde_json::json!({"metricName": "Bytes", "metricNamespace": "Web", "metricValue": "$size",
                               "dimensions": {"Status": "$status"}}),
        )
        .unwrap();
        let registry = registry(vec![bytes]);
        let data = registry.datapoints(1, &[event(0, "10.0.0.1 alice 503 1200"), event(1, "10.0.0.2 bob 200 99")]);
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].identity.dimensions, vec![("Status".to_string(), "503".to_string())]);
        assert_eq!(counts(&data[0]), vec![(1200.0, 1.0)]);
    }

    #[test]
    fn bad_transformations_are_refused_with_a_reason() {
        let base = |extra: serde_json::Value| {
            let mut value = serde_json::json!({"metricName": "M", "metricNamespace": "N", "metricValue": "1"});
            value.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            value
        };
        for (pattern, extra, needle) in [
            ("ERROR", serde_json::json!({"metricValue": "one"}), "Invalid metricValue"),
            ("{ $.a = 1 }", serde_json::json!({"dimensions": {"A": "$.a"}, "defaultValue": 0}), "defaultValue"),
            ("{ $.a = 1 }", serde_json::json!({"dimensions": {"A": "$.a", "B": "$.b", "C": "$.c", "D": "$.d"}}), "at most 3"),
            ("{ $.a = 1 }", serde_json::json!({"dimensions": {"A": "constant"}}), "must name a field"),
            ("{ $.a = ", serde_json::json!({}), ""),
        ] {
            let error = filter(pattern, base(extra)).expect_err(pattern);
            assert_eq!(error.code, ErrorCode::InvalidParameter);
            assert!(error.message.contains(needle), "{}", error.message);
        }
    }
}
