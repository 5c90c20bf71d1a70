//! The alarm operations, with CloudWatch's rules. Inputs are the canonical
//! values the wire layer decoded and checked against the model (lengths,
//! enums, required members); what the model cannot say is checked here.

use argus_core::{ApiError, ErrorCode, RequestContext};
use argus_query::alarm_rule;
use argus_storage::catalog::{AlarmHistoryQuery, AlarmHistoryRecord, AlarmStateRecord};
use argus_storage::metrics::stats::Statistic;
use base64::Engine;
use serde_json::{Map, Value, json};

use super::evaluate::{Comparison, StateValue};
use super::evaluator::{self, rule_children};
use super::{Alarm, COMPOSITE_ALARM, METRIC_ALARM, dimension_pairs, seconds, strings};
use crate::monitoring::CloudWatchService;

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ValidationError, message)
}

fn combination(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterCombination, message)
}

fn object(input: Value) -> Map<String, Value> {
    match input {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn text<'a>(input: &'a Map<String, Value>, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str)
}

fn name_of(input: &Map<String, Value>) -> Result<String, ApiError> {
    let name = text(input, "AlarmName").unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::new(
            ErrorCode::MissingRequiredParameter,
            "The parameter AlarmName is required.",
        ));
    }
    if !name.is_ascii() {
        return Err(validation(format!(
            "The value {name} for parameter AlarmName is invalid: alarm names must contain only ASCII characters."
        )));
    }
    Ok(name.to_string())
}

/// Action ARNs: SNS topics of this region, and the other action kinds
/// CloudWatch knows (stored, reported as not supported when they run).
fn check_actions(input: &Map<String, Value>, ctx: &RequestContext) -> Result<(), ApiError> {
    for member in ["AlarmActions", "OKActions", "InsufficientDataActions"] {
        for action in strings(input.get(member)) {
            let parts: Vec<&str> = action.splitn(6, ':').collect();
            let well_formed = parts.len() == 6
                && parts.first() == Some(&"arn")
                && parts.get(2).is_some_and(|s| !s.is_empty());
            if !well_formed {
                return Err(validation(format!("Invalid arn syntax: {action}")));
            }
            let service = parts.get(2).copied().unwrap_or_default();
            if !matches!(
                service,
                "sns"
                    | "automate"
                    | "autoscaling"
                    | "ssm"
                    | "ssm-incidents"
                    | "lambda"
                    | "ec2"
                    | "swf"
            ) {
                return Err(validation(format!(
                    "Invalid action {action} in {member}: the action must be an SNS topic, an Auto Scaling policy, an EC2 or Systems Manager action, or a Lambda function."
                )));
            }
            if service == "sns" && parts.get(3).is_some_and(|region| *region != ctx.region) {
                return Err(validation(format!(
                    "Invalid region {} specified. Only {} is supported.",
                    parts.get(3).copied().unwrap_or_default(),
                    ctx.region
                )));
            }
        }
    }
    Ok(())
}

fn check_period(period: i64, member: &str) -> Result<(), ApiError> {
    if period == 10 || period == 30 || (period >= 60 && period % 60 == 0) {
        Ok(())
    } else {
        Err(validation(format!(
            "The value {period} for parameter {member} is invalid: the period must be 10, 30 or a multiple of 60."
        )))
    }
}

fn history_item(
    alarm: &Alarm,
    now: i64,
    created: bool,
    original: Option<&Alarm>,
) -> AlarmHistoryRecord {
    let (summary, data) = if created {
        (
            format!("Alarm \"{}\" created", alarm.name),
            json!({"version": "1.0", "type": "Create", "createdAlarm": alarm.describe()}),
        )
    } else {
        (
            format!("Alarm \"{}\" updated", alarm.name),
            json!({"version": "1.0", "type": "Update", "updatedAlarm": alarm.describe(), "originalAlarm": original.map(Alarm::describe)}),
        )
    };
    AlarmHistoryRecord {
        alarm_name: alarm.name.clone(),
        alarm_kind: alarm.kind.to_string(),
        timestamp_ms: now,
        item_type: "ConfigurationUpdate".into(),
        summary,
        data: data.to_string(),
    }
}

/// Creates or replaces an alarm: a new one starts in INSUFFICIENT_DATA, an
/// updated one keeps its state (and its tags) but gets the new configuration.
async fn save(
    service: &CloudWatchService,
    ctx: &RequestContext,
    name: String,
    kind: &'static str,
    config: Map<String, Value>,
    tags: Vec<Value>,
) -> Result<(), ApiError> {
    let now = service.now_ms();
    let alarms = &service.alarms;
    let _guard = alarms.write.lock().await;
    let existing = alarms.get(&ctx.account_id, &ctx.region, &name);
    if let Some(existing) = &existing
        && existing.kind != kind
    {
        return Err(validation(format!(
            "The alarm {name} is a {}; it cannot be replaced by a {kind}.",
            existing.kind
        )));
    }
    let state = match &existing {
        Some(existing) => existing.state.clone(),
        None => AlarmStateRecord {
            value: StateValue::InsufficientData.as_str().into(),
            reason: "Unchecked: Initial alarm creation".into(),
            reason_data: None,
            updated_ms: now,
            transitioned_ms: now,
        },
    };
    let alarm = Alarm {
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
        name,
        kind,
        config,
        tags: match &existing {
            Some(existing) => existing.tags.clone(),
            None => tags,
        },
        config_updated_ms: now,
        state,
    };
    let item = history_item(&alarm, now, existing.is_none(), existing.as_ref());
    alarms.store(alarm, &[item])
}

pub(crate) async fn put_metric_alarm(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let mut input = object(input);
    let name = name_of(&input)?;
    check_actions(&input, ctx)?;
    let comparison = text(&input, "ComparisonOperator").ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingRequiredParameter,
            "The parameter ComparisonOperator is required.",
        )
    })?;
    if Comparison::parse(comparison).is_none() {
        return Err(validation(format!(
            "The comparison operator {comparison} needs an anomaly detection band (ThresholdMetricId), which this server does not support; use GreaterThanThreshold, GreaterThanOrEqualToThreshold, LessThanThreshold or LessThanOrEqualToThreshold."
        )));
    }
    if input.contains_key("ThresholdMetricId") {
        return Err(validation(
            "ThresholdMetricId (anomaly detection bands) is not supported by this server; set Threshold.",
        ));
    }
    if input.contains_key("EvaluationCriteria") || input.contains_key("EvaluationInterval") {
        return Err(validation(
            "EvaluationCriteria (PromQL alarms) is not supported by this server.",
        ));
    }
    let evaluation_periods = input
        .get("EvaluationPeriods")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::MissingRequiredParameter,
                "The parameter EvaluationPeriods is required.",
            )
        })?;
    if !input.contains_key("Threshold") {
        return Err(ApiError::new(
            ErrorCode::MissingRequiredParameter,
            "The parameter Threshold is required.",
        ));
    }
    if let Some(m) = input.get("DatapointsToAlarm").and_then(Value::as_i64)
        && m > evaluation_periods
    {
        return Err(validation(format!(
            "DatapointsToAlarm ({m}) must be less than or equal to EvaluationPeriods ({evaluation_periods})."
        )));
    }
    if let Some(mode) = text(&input, "TreatMissingData")
        && !matches!(mode, "breaching" | "notBreaching" | "ignore" | "missing")
    {
        return Err(validation(format!(
            "The value {mode} for parameter TreatMissingData is invalid: use breaching, notBreaching, ignore or missing."
        )));
    }
    let period = if let Some(metrics) = input.get("Metrics").and_then(Value::as_array) {
        for member in [
            "MetricName",
            "Namespace",
            "Statistic",
            "ExtendedStatistic",
            "Dimensions",
            "Period",
            "Unit",
        ] {
            if input.contains_key(member) {
                return Err(combination(format!(
                    "The parameters Metrics and {member} are mutually exclusive and you have specified both."
                )));
            }
        }
        check_metrics(metrics)?
    } else {
        let (Some(_), Some(namespace)) = (text(&input, "MetricName"), text(&input, "Namespace"))
        else {
            return Err(ApiError::new(
                ErrorCode::MissingRequiredParameter,
                "The parameters MetricName and Namespace are required unless you specify Metrics.",
            ));
        };
        if namespace.is_empty() {
            return Err(validation("The parameter Namespace must not be empty."));
        }
        match (text(&input, "Statistic"), text(&input, "ExtendedStatistic")) {
            (Some(_), Some(_)) => {
                return Err(combination(
                    "The parameters Statistic and ExtendedStatistic are mutually exclusive and you have specified both.",
                ));
            }
            (None, None) => {
                return Err(ApiError::new(
                    ErrorCode::MissingRequiredParameter,
                    "One of the parameters Statistic or ExtendedStatistic is required.",
                ));
            }
            (None, Some(extended)) => {
                let parsed: Statistic = extended.parse().map_err(|error| {
                    validation(format!(
                        "The value {extended} for parameter ExtendedStatistic is invalid: {error}"
                    ))
                })?;
                if parsed.is_basic() {
                    return Err(validation(format!(
                        "The value {extended} for parameter ExtendedStatistic is invalid: use Statistic for it."
                    )));
                }
            }
            (Some(_), None) => {}
        }
        if input.contains_key("EvaluateLowSampleCountPercentile") {
            let percentile =
                text(&input, "ExtendedStatistic").and_then(|s| s.parse::<Statistic>().ok());
            if !matches!(percentile, Some(Statistic::Percentile(_))) {
                return Err(combination(
                    "EvaluateLowSampleCountPercentile can only be used with a percentile ExtendedStatistic.",
                ));
            }
        }
        if let Some(mode) = text(&input, "EvaluateLowSampleCountPercentile")
            && !matches!(mode, "evaluate" | "ignore")
        {
            return Err(validation(format!(
                "The value {mode} for parameter EvaluateLowSampleCountPercentile is invalid: use evaluate or ignore."
            )));
        }
        let period = input.get("Period").and_then(Value::as_i64).ok_or_else(|| {
            ApiError::new(
                ErrorCode::MissingRequiredParameter,
                "The parameter Period is required.",
            )
        })?;
        check_period(period, "Period")?;
        if input
            .get("Dimensions")
            .and_then(Value::as_array)
            .is_some_and(|dims| dims.len() > 30)
        {
            return Err(validation(
                "The collection Dimensions must not have a size greater than 30.",
            ));
        }
        period
    };
    let limit = if period >= 3600 { 7 * 86_400 } else { 86_400 };
    if period.saturating_mul(evaluation_periods) > limit {
        return Err(validation(format!(
            "The evaluation period (Period × EvaluationPeriods = {} seconds) must not exceed {} seconds.",
            period.saturating_mul(evaluation_periods),
            limit
        )));
    }
    let tags = input
        .remove("Tags")
        .and_then(|tags| tags.as_array().cloned())
        .unwrap_or_default();
    input.remove("AlarmName");
    save(service, ctx, name, METRIC_ALARM, input, tags).await?;
    Ok(json!({}))
}

/// A metric-math alarm's queries: one returns data, at most 10 metrics, one
/// period. Returns that period.
fn check_metrics(metrics: &[Value]) -> Result<i64, ApiError> {
    if metrics.is_empty() {
        return Err(validation(
            "The parameter Metrics must contain at least one metric or expression.",
        ));
    }
    let returning = metrics
        .iter()
        .filter(|query| {
            query
                .get("ReturnData")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        })
        .count();
    if returning != 1 {
        return Err(validation(
            "Exactly one element of the metrics list should return data.",
        ));
    }
    let stats: Vec<&Value> = metrics
        .iter()
        .filter_map(|query| query.get("MetricStat"))
        .collect();
    if stats.len() > 10 {
        return Err(validation(
            "An alarm's metric math can use at most 10 metrics.",
        ));
    }
    let mut period = None;
    for (index, query) in metrics.iter().enumerate() {
        let path = format!("Metrics.member.{}", index + 1);
        let has_stat = query.get("MetricStat").is_some();
        let has_expression = query.get("Expression").is_some();
        if has_stat == has_expression {
            return Err(combination(format!(
                "The parameter {path} must contain exactly one of MetricStat or Expression."
            )));
        }
        if let Some(stat) = query.get("MetricStat") {
            let this = stat.get("Period").and_then(Value::as_i64).unwrap_or(60);
            check_period(this, &format!("{path}.MetricStat.Period"))?;
            if let Some(name) = stat.get("Stat").and_then(Value::as_str) {
                name.parse::<Statistic>().map_err(|error| {
                    validation(format!(
                        "The value {name} for parameter {path}.MetricStat.Stat is invalid: {error}"
                    ))
                })?;
            }
            if period.is_some_and(|p| p != this) {
                return Err(validation(
                    "All metrics in an alarm's metric math must use the same period.",
                ));
            }
            period = Some(this);
        }
        if let Some(expression) = query.get("Expression").and_then(Value::as_str) {
            argus_query::metric_math::Expression::parse(expression).map_err(|error| {
                validation(format!(
                    "The parameter {path}.Expression is invalid: {error}"
                ))
            })?;
            if let Some(this) = query.get("Period").and_then(Value::as_i64) {
                period.get_or_insert(this);
            }
        }
    }
    Ok(period.unwrap_or(60))
}

pub(crate) async fn put_composite_alarm(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let mut input = object(input);
    let name = name_of(&input)?;
    check_actions(&input, ctx)?;
    let rule_text = text(&input, "AlarmRule").unwrap_or_default();
    let rule = alarm_rule::parse(rule_text)
        .map_err(|error| validation(format!("Error in alarm rule: {error}")))?;
    let prefix = format!(
        "arn:aws:cloudwatch:{}:{}:alarm:",
        ctx.region, ctx.account_id
    );
    let mut missing = Vec::new();
    for reference in rule.references() {
        let child = reference.strip_prefix(&prefix).unwrap_or(reference);
        if child == name {
            return Err(validation(format!(
                "The alarm rule of {name} cannot refer to the alarm itself."
            )));
        }
        if reference.starts_with("arn:") && !reference.starts_with(&prefix) {
            return Err(validation(format!(
                "The alarm rule refers to {reference}, an alarm of another account or region."
            )));
        }
        if service
            .alarms
            .get(&ctx.account_id, &ctx.region, child)
            .is_none()
        {
            missing.push(child.to_string());
        }
    }
    if !missing.is_empty() {
        return Err(validation(format!(
            "Could not save the composite alarm as alarms [{}] in the alarm rule do not exist",
            missing.join(", ")
        )));
    }
    if let Some(suppressor) = text(&input, "ActionsSuppressor") {
        let suppressor_name = suppressor.strip_prefix(&prefix).unwrap_or(suppressor);
        if service
            .alarms
            .get(&ctx.account_id, &ctx.region, suppressor_name)
            .is_none()
        {
            return Err(validation(format!(
                "The ActionsSuppressor {suppressor} does not exist."
            )));
        }
    } else if input.contains_key("ActionsSuppressorWaitPeriod")
        || input.contains_key("ActionsSuppressorExtensionPeriod")
    {
        return Err(combination(
            "ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod need an ActionsSuppressor.",
        ));
    }
    let tags = input
        .remove("Tags")
        .and_then(|tags| tags.as_array().cloned())
        .unwrap_or_default();
    input.remove("AlarmName");
    save(service, ctx, name, COMPOSITE_ALARM, input, tags).await?;
    evaluator::evaluate_composites(service, service.now_ms()).await;
    evaluator::dispatch_due(service).await;
    Ok(json!({}))
}

fn alarm_types(input: &Map<String, Value>) -> Vec<String> {
    let types = strings(input.get("AlarmTypes"));
    if types.is_empty() {
        vec![METRIC_ALARM.to_string()]
    } else {
        types
    }
}

fn decode_token(token: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidNextToken,
                "The service couldn't process the NextToken: it is not one this server returned.",
            )
        })
}

fn encode_token(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub(crate) fn describe_alarms(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let input = object(input);
    let names = strings(input.get("AlarmNames"));
    let prefix = text(&input, "AlarmNamePrefix");
    if !names.is_empty() && prefix.is_some() {
        return Err(combination(
            "The parameters AlarmNames and AlarmNamePrefix are mutually exclusive and you have specified both.",
        ));
    }
    let children_of = text(&input, "ChildrenOfAlarmName");
    let parents_of = text(&input, "ParentsOfAlarmName");
    if children_of.is_some() || parents_of.is_some() {
        let others = [
            "AlarmNames",
            "AlarmNamePrefix",
            "StateValue",
            "ActionPrefix",
            "AlarmTypes",
        ];
        if (children_of.is_some() && parents_of.is_some())
            || others.iter().any(|member| input.contains_key(*member))
        {
            return Err(combination(
                "With ChildrenOfAlarmName or ParentsOfAlarmName you can specify only MaxRecords and NextToken.",
            ));
        }
    }
    let max = input
        .get("MaxRecords")
        .and_then(Value::as_i64)
        .unwrap_or(50)
        .clamp(1, 100) as usize;
    let after = input
        .get("NextToken")
        .and_then(Value::as_str)
        .map(decode_token)
        .transpose()?;
    let all = service.alarms.list(&ctx.account_id, &ctx.region);
    let types = alarm_types(&input);
    let selected: Vec<&Alarm> = if let Some(parent) = children_of {
        let children = all
            .iter()
            .find(|alarm| alarm.name == parent && alarm.kind == COMPOSITE_ALARM)
            .map(rule_children)
            .unwrap_or_default();
        all.iter()
            .filter(|alarm| children.contains(&alarm.name))
            .collect()
    } else if let Some(child) = parents_of {
        all.iter()
            .filter(|alarm| {
                alarm.kind == COMPOSITE_ALARM
                    && rule_children(alarm).iter().any(|name| name == child)
            })
            .collect()
    } else {
        let state = text(&input, "StateValue");
        let action_prefix = text(&input, "ActionPrefix");
        all.iter()
            .filter(|alarm| types.iter().any(|kind| kind == alarm.kind))
            .filter(|alarm| names.is_empty() || names.contains(&alarm.name))
            .filter(|alarm| prefix.is_none_or(|prefix| alarm.name.starts_with(prefix)))
            .filter(|alarm| state.is_none_or(|state| alarm.state.value == state))
            .filter(|alarm| {
                action_prefix.is_none_or(|p| {
                    ["AlarmActions", "OKActions", "InsufficientDataActions"]
                        .iter()
                        .any(|member| {
                            strings(alarm.config.get(*member))
                                .iter()
                                .any(|action| action.starts_with(p))
                        })
                })
            })
            .collect()
    };
    let mut page: Vec<&Alarm> = selected
        .into_iter()
        .filter(|alarm| after.as_ref().is_none_or(|after| alarm.name > *after))
        .collect();
    let next = (page.len() > max)
        .then(|| page.get(max - 1).map(|alarm| encode_token(&alarm.name)))
        .flatten();
    page.truncate(max);
    let metric: Vec<Value> = page
        .iter()
        .filter(|alarm| alarm.kind == METRIC_ALARM)
        .map(|alarm| alarm.describe())
        .collect();
    let composite: Vec<Value> = page
        .iter()
        .filter(|alarm| alarm.kind == COMPOSITE_ALARM)
        .map(|alarm| alarm.describe())
        .collect();
    let mut out = Map::new();
    out.insert("MetricAlarms".into(), Value::Array(metric));
    out.insert("CompositeAlarms".into(), Value::Array(composite));
    if let Some(next) = next {
        out.insert("NextToken".into(), json!(next));
    }
    Ok(Value::Object(out))
}

pub(crate) fn describe_alarms_for_metric(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let input = object(input);
    let mut dimensions = dimension_pairs(input.get("Dimensions"));
    dimensions.sort();
    let matches = |alarm: &Alarm| {
        let same = |member: &str| {
            input
                .get(member)
                .is_none_or(|wanted| alarm.config.get(member) == Some(wanted))
        };
        let mut own = dimension_pairs(alarm.config.get("Dimensions"));
        own.sort();
        alarm.kind == METRIC_ALARM
            && alarm.config.get("MetricName") == input.get("MetricName")
            && alarm.config.get("Namespace") == input.get("Namespace")
            && ["Statistic", "ExtendedStatistic", "Period", "Unit"]
                .iter()
                .all(|member| same(member))
            && (!input.contains_key("Dimensions") || own == dimensions)
    };
    let alarms: Vec<Value> = service
        .alarms
        .list(&ctx.account_id, &ctx.region)
        .iter()
        .filter(|alarm| matches(alarm))
        .map(Alarm::describe)
        .collect();
    Ok(json!({"MetricAlarms": alarms}))
}

pub(crate) async fn delete_alarms(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let input = object(input);
    let names = strings(input.get("AlarmNames"));
    if names.len() > 100 {
        return Err(validation(
            "The collection AlarmNames must not have a size greater than 100.",
        ));
    }
    let alarms = &service.alarms;
    let _guard = alarms.write.lock().await;
    // A metric alarm that a composite alarm (not deleted with it) refers to stays.
    for alarm in alarms.list(&ctx.account_id, &ctx.region) {
        if alarm.kind != COMPOSITE_ALARM || names.contains(&alarm.name) {
            continue;
        }
        if let Some(child) = rule_children(&alarm)
            .into_iter()
            .find(|child| names.contains(child))
        {
            return Err(validation(format!(
                "The alarm {child} cannot be deleted: the composite alarm {} refers to it in its alarm rule.",
                alarm.name
            )));
        }
    }
    let existing = names
        .iter()
        .filter(|name| alarms.get(&ctx.account_id, &ctx.region, name).is_some())
        .count();
    if existing < names.len() && existing == 0 && !names.is_empty() {
        return Err(ApiError::new(ErrorCode::CloudWatchResourceNotFound, ""));
    }
    alarms.remove(&ctx.account_id, &ctx.region, &names)?;
    Ok(json!({}))
}

pub(crate) async fn set_alarm_state(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let input = object(input);
    let name = text(&input, "AlarmName").unwrap_or_default();
    let Some(alarm) = service.alarms.get(&ctx.account_id, &ctx.region, name) else {
        return Err(ApiError::new(ErrorCode::CloudWatchResourceNotFound, ""));
    };
    let value = text(&input, "StateValue").and_then(StateValue::parse).ok_or_else(|| {
        validation("1 validation error detected: Value at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]")
    })?;
    let reason_data = match text(&input, "StateReasonData") {
        Some(data) => {
            serde_json::from_str::<Value>(data).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidFormatFault,
                    "StateReasonData must be a JSON document.",
                )
            })?;
            Some(data.to_string())
        }
        None => None,
    };
    let now = service.now_ms();
    let state = AlarmStateRecord {
        value: value.as_str().into(),
        reason: text(&input, "StateReason").unwrap_or_default().to_string(),
        reason_data,
        updated_ms: now,
        transitioned_ms: now,
    };
    evaluator::set_state(service, &alarm, state, now).await?;
    Ok(json!({}))
}

pub(crate) async fn set_actions_enabled(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
    enabled: bool,
) -> Result<Value, ApiError> {
    let input = object(input);
    let names = strings(input.get("AlarmNames"));
    let alarms = &service.alarms;
    let _guard = alarms.write.lock().await;
    for name in names {
        if let Some(mut alarm) = alarms.get(&ctx.account_id, &ctx.region, &name) {
            alarm
                .config
                .insert("ActionsEnabled".into(), Value::Bool(enabled));
            alarms.store(alarm, &[])?;
        }
    }
    Ok(json!({}))
}

pub(crate) fn describe_alarm_history(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let input = object(input);
    let kinds = alarm_types(&input);
    let newest_first = match text(&input, "ScanBy") {
        None | Some("TimestampDescending") => true,
        Some("TimestampAscending") => false,
        Some(other) => {
            return Err(validation(format!(
                "The value {other} for parameter ScanBy is invalid."
            )));
        }
    };
    let ms = |member: &str| {
        input
            .get(member)
            .and_then(Value::as_f64)
            .map(|s| (s * 1000.0).round() as i64)
    };
    let query = AlarmHistoryQuery {
        alarm_name: text(&input, "AlarmName"),
        kinds: &kinds,
        item_type: text(&input, "HistoryItemType"),
        start_ms: ms("StartDate"),
        end_ms: ms("EndDate"),
        newest_first,
    };
    let items = service
        .alarms
        .catalog
        .alarm_history(&ctx.account_id, &ctx.region, &query)
        .map_err(super::catalog_error)?;
    let max = input
        .get("MaxRecords")
        .and_then(Value::as_i64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let skip = match input.get("NextToken").and_then(Value::as_str) {
        Some(token) => decode_token(token)?.parse::<usize>().map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidNextToken,
                "The service couldn't process the NextToken.",
            )
        })?,
        None => 0,
    };
    let page: Vec<Value> = items
        .iter()
        .skip(skip)
        .take(max)
        .map(|item| {
            json!({
                "AlarmName": item.alarm_name,
                "AlarmType": item.alarm_kind,
                "Timestamp": seconds(item.timestamp_ms),
                "HistoryItemType": item.item_type,
                "HistorySummary": item.summary,
                "HistoryData": item.data,
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("AlarmHistoryItems".into(), Value::Array(page));
    if items.len() > skip + max {
        out.insert(
            "NextToken".into(),
            json!(encode_token(&(skip + max).to_string())),
        );
    }
    Ok(Value::Object(out))
}

/// The alarm an ARN names, or an error saying what is wrong with it.
fn alarm_of_arn(
    service: &CloudWatchService,
    ctx: &RequestContext,
    arn: &str,
) -> Result<Option<Alarm>, ApiError> {
    let prefix = format!("arn:aws:cloudwatch:{}:{}:", ctx.region, ctx.account_id);
    let Some(rest) = arn.strip_prefix(&prefix) else {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!(
                "Invalid ARN {arn}: expected a CloudWatch alarm ARN of this account and region."
            ),
        ));
    };
    let Some(name) = rest.strip_prefix("alarm:") else {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!("Invalid ARN {arn}: only alarms can be tagged on this server."),
        ));
    };
    Ok(service.alarms.get(&ctx.account_id, &ctx.region, name))
}

/// The alarm an ARN names, or CloudWatch's ResourceNotFound.
fn existing_alarm_of_arn(service: &CloudWatchService, ctx: &RequestContext, arn: &str) -> Result<Alarm, ApiError> {
    alarm_of_arn(service, ctx, arn)?.ok_or_else(|| ApiError::new(ErrorCode::ResourceNotFound, format!("{arn} not found")))
}

pub(crate) fn list_tags(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let input = object(input);
    let alarm = alarm_of_arn(
        service,
        ctx,
        text(&input, "ResourceARN").unwrap_or_default(),
    )?;
    Ok(json!({"Tags": alarm.map(|alarm| alarm.tags).unwrap_or_default()}))
}

pub(crate) async fn tag_resource(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let input = object(input);
    let arn = text(&input, "ResourceARN").unwrap_or_default();
    let alarms = &service.alarms;
    let _guard = alarms.write.lock().await;
    let mut alarm = existing_alarm_of_arn(service, ctx, arn)?;
    for tag in input
        .get("Tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = tag.get("Key").cloned();
        alarm
            .tags
            .retain(|existing| existing.get("Key") != key.as_ref());
        alarm.tags.push(tag.clone());
    }
    if alarm.tags.len() > 50 {
        return Err(ApiError::new(
            ErrorCode::LimitExceededFault,
            "An alarm can have at most 50 tags.",
        ));
    }
    alarms.store(alarm, &[])?;
    Ok(json!({}))
}

pub(crate) async fn untag_resource(
    service: &CloudWatchService,
    ctx: &RequestContext,
    input: Value,
) -> Result<Value, ApiError> {
    let input = object(input);
    let arn = text(&input, "ResourceARN").unwrap_or_default();
    let alarms = &service.alarms;
    let _guard = alarms.write.lock().await;
    let mut alarm = existing_alarm_of_arn(service, ctx, arn)?;
    let keys = strings(input.get("TagKeys"));
    alarm.tags.retain(|tag| {
        tag.get("Key")
            .and_then(Value::as_str)
            .is_none_or(|key| !keys.iter().any(|k| k == key))
    });
    alarms.store(alarm, &[])?;
    Ok(json!({}))
}
