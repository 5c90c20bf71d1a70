//! The alarm evaluator: a background loop that evaluates each metric alarm
//! at its period's boundaries (10 s and 30 s alarms every period, the rest
//! every minute, as CloudWatch does), then the composite alarms, commits
//! state changes, and runs pending actions. Time comes from the service's
//! clock, so tests drive it with the test clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use argus_core::{ApiError, RequestContext};
use argus_query::alarm_rule::{self, State as RuleState};
use argus_storage::catalog::{AlarmActionRecord, AlarmHistoryRecord, AlarmStateRecord};
use argus_storage::metrics::stats::Statistic;
use argus_storage::metrics::{MetricIdentity, ReadRequest, Unit};
use serde_json::{Value, json};

use super::evaluate::{
    self, Comparison, Datapoint, MissingData, Range, Rule, StateValue, reason_data_time,
};
use super::{
    Alarm, AlarmKey, AlarmNotification, COMPOSITE_ALARM, METRIC_ALARM, catalog_error, dimension_pairs, message,
    state_update_item,
};
use crate::monitoring::{CloudWatchService, metrics, scope};

/// How often the loop looks for due alarms (real time).
const WAKE_EVERY: Duration = Duration::from_millis(500);

/// Runs until the service is dropped.
pub async fn run_evaluator(service: Arc<CloudWatchService>) {
    let mut last_evaluated: HashMap<AlarmKey, (i64, i64)> = HashMap::new();
    let mut last_prune_ms = 0;
    // (10-second slot, configuration version) of the last scan for due
    // metric alarms: every period is a multiple of 10 s, so nothing can
    // fall due between boundaries unless an alarm was stored.
    let mut scanned = None;
    // (configuration version, state version) composites were last settled at.
    let mut settled = None;
    // Actions left pending by a previous run go first.
    dispatch_due(&service).await;
    loop {
        tokio::time::sleep(WAKE_EVERY).await;
        let now = service.now_ms();
        let alarms = &service.alarms;
        let scan = Some((now.div_euclid(10_000), alarms.config_version.load(Ordering::Relaxed)));
        if scan != scanned {
            scanned = scan;
            evaluate_due(&service, now, &mut last_evaluated).await;
        }
        let versions = Some((alarms.config_version.load(Ordering::Relaxed), alarms.state_version.load(Ordering::Relaxed)));
        if versions != settled {
            settled = versions;
            evaluate_composites(&service, now).await;
        }
        dispatch_due(&service).await;
        if now - last_prune_ms > 3_600_000 {
            last_prune_ms = now;
            // CloudWatch keeps alarm history for two weeks.
            if let Err(error) = service
                .alarms
                .catalog
                .prune_alarm_history(now - 14 * 86_400_000)
            {
                tracing::warn!(%error, "could not prune alarm history");
            }
        }
    }
}

/// The evaluation interval of an alarm: its period below a minute, else a
/// minute.
fn interval_ms(alarm: &Alarm) -> i64 {
    let period = period_of(alarm);
    if period < 60 {
        period.max(10) * 1000
    } else {
        60_000
    }
}

fn period_of(alarm: &Alarm) -> i64 {
    if let Some(period) = alarm.config.get("Period").and_then(Value::as_i64) {
        return period;
    }
    // Metric math: the period of the returned expression's metrics.
    alarm
        .config
        .get("Metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|query| {
            query
                .pointer("/MetricStat/Period")
                .or_else(|| query.get("Period"))
                .and_then(Value::as_i64)
        })
        .next()
        .unwrap_or(60)
}

async fn evaluate_due(service: &Arc<CloudWatchService>, now: i64, last: &mut HashMap<AlarmKey, (i64, i64)>) {
    let started = std::time::Instant::now();
    let evaluated = evaluate_due_alarms(service, now, last).await;
    if evaluated > 0 {
        let counters = &service.alarms.counters;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        counters.evaluation_micros.fetch_add(micros, Ordering::Relaxed);
        counters.last_tick_micros.store(micros, Ordering::Relaxed);
        counters.last_tick_alarms.store(evaluated, Ordering::Relaxed);
    }
}

/// Evaluates the metric alarms whose period boundary has passed; returns how many.
async fn evaluate_due_alarms(service: &Arc<CloudWatchService>, now: i64, last: &mut HashMap<AlarmKey, (i64, i64)>) -> u64 {
    let mut evaluated = 0;
    if last.len() > service.alarms.count() {
        let live = service.alarms.keys();
        last.retain(|key, _| live.contains(key));
    }
    // A changed configuration is evaluated at once.
    let due = service.alarms.select(|key, alarm| {
        alarm.kind == METRIC_ALARM
            && match last.get(key) {
                Some((seen_slot, seen_config)) => {
                    *seen_slot < now.div_euclid(interval_ms(alarm)) || *seen_config != alarm.config_updated_ms
                }
                None => true,
            }
    });
    for alarm in due {
        let slot = now.div_euclid(interval_ms(&alarm));
        let key = alarm.key();
        last.insert(key, (slot, alarm.config_updated_ms));
        evaluated += 1;
        service
            .alarms
            .counters
            .evaluations
            .fetch_add(1, Ordering::Relaxed);
        match evaluate_metric_alarm(service, &alarm, now).await {
            Ok(Some(state)) => {
                if let Err(error) =
                    change_state(service, &alarm.key(), state, now, alarm.config_updated_ms).await
                {
                    tracing::warn!(alarm = %alarm.name, %error.message, "could not record an alarm state");
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(alarm = %alarm.name, %error.message, "alarm evaluation failed")
            }
        }
    }
    evaluated
}

/// The rule of a metric alarm, from its stored configuration.
fn rule_of(alarm: &Alarm) -> Option<Rule> {
    let config = &alarm.config;
    let comparison = Comparison::parse(config.get("ComparisonOperator")?.as_str()?)?;
    let evaluation_periods = config.get("EvaluationPeriods")?.as_u64()? as usize;
    let extended = config.get("ExtendedStatistic").and_then(Value::as_str);
    let min_samples = match (
        extended.and_then(|text| text.parse::<Statistic>().ok()),
        config.get("EvaluateLowSampleCountPercentile"),
    ) {
        (Some(Statistic::Percentile(p)), Some(Value::String(mode))) if mode == "ignore" => {
            Some(evaluate::significant_samples(p))
        }
        _ => None,
    };
    Some(Rule {
        comparison,
        threshold: config
            .get("Threshold")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        evaluation_periods,
        datapoints_to_alarm: config
            .get("DatapointsToAlarm")
            .and_then(Value::as_u64)
            .map_or(evaluation_periods, |m| m as usize),
        missing: config
            .get("TreatMissingData")
            .and_then(Value::as_str)
            .and_then(MissingData::parse)
            .unwrap_or(MissingData::Missing),
        period_s: period_of(alarm),
        min_samples,
        statistic: config
            .get("Statistic")
            .and_then(Value::as_str)
            .or(extended)
            .map(str::to_string),
        unit: config
            .get("Unit")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Evaluates one metric alarm; Some(new state) when it changes.
async fn evaluate_metric_alarm(
    service: &CloudWatchService,
    alarm: &Alarm,
    now: i64,
) -> Result<Option<AlarmStateRecord>, ApiError> {
    let Some(rule) = rule_of(alarm) else {
        return Ok(None);
    };
    let period_ms = rule.period_s.max(1) * 1000;
    let periods = evaluate::range_periods(rule.evaluation_periods);
    // Complete periods only: the newest is the one that ended at or before now.
    let end_ms = now.div_euclid(period_ms) * period_ms;
    let start_ms = end_ms - periods as i64 * period_ms;
    let points = if alarm.config.contains_key("Metrics") {
        math_points(service, alarm, start_ms, end_ms).await?
    } else {
        metric_points(service, alarm, start_ms, end_ms).await?
    };
    let mut slots = vec![None; periods];
    for (timestamp_ms, point) in points {
        let index = (timestamp_ms - start_ms).div_euclid(period_ms);
        if let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|index| slots.get_mut(index))
        {
            *slot = Some(point);
        }
    }
    let decision = evaluate::decide(&rule, &Range { start_ms, slots }, now);
    let Some(state) = decision.state else {
        return Ok(None);
    };
    if state == alarm.state_value() {
        return Ok(None);
    }
    Ok(Some(AlarmStateRecord {
        value: state.as_str().to_string(),
        reason: decision.reason,
        reason_data: Some(decision.reason_data.to_string()),
        updated_ms: now,
        transitioned_ms: now,
    }))
}

async fn metric_points(
    service: &CloudWatchService,
    alarm: &Alarm,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<(i64, Datapoint)>, ApiError> {
    let config = &alarm.config;
    let text = |member: &str| {
        config
            .get(member)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (Some(namespace), Some(metric_name)) = (text("Namespace"), text("MetricName")) else {
        return Ok(Vec::new());
    };
    let Some(statistic) = text("Statistic")
        .or_else(|| text("ExtendedStatistic"))
        .and_then(|s| s.parse::<Statistic>().ok())
    else {
        return Ok(Vec::new());
    };
    let dimensions = dimension_pairs(config.get("Dimensions"));
    let ctx = RequestContext::new(alarm.account.clone(), alarm.region.clone());
    let read = ReadRequest {
        scope: scope(&ctx),
        identity: MetricIdentity::new(namespace, metric_name, dimensions),
        unit: text("Unit").and_then(|unit| Unit::parse(&unit)),
        start_ms,
        end_ms,
        period_s: u32::try_from(period_of(alarm)).unwrap_or(60),
    };
    let points = service
        .store
        .read(&read)
        .await
        .map_err(crate::monitoring::store_error)?;
    Ok(points
        .iter()
        .filter_map(|point| {
            let value = point.summary.compute(&statistic)?;
            Some((
                point.start_ms,
                Datapoint {
                    value,
                    sample_count: Some(point.summary.sample_count()),
                },
            ))
        })
        .collect())
}

/// A metric-math alarm's returned expression, through GetMetricData.
async fn math_points(
    service: &CloudWatchService,
    alarm: &Alarm,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<(i64, Datapoint)>, ApiError> {
    let ctx = RequestContext::new(alarm.account.clone(), alarm.region.clone());
    let queries = alarm
        .config
        .get("Metrics")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    let returned = queries
        .as_array()
        .into_iter()
        .flatten()
        .find(|query| {
            query
                .get("ReturnData")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        })
        .and_then(|query| query.get("Id").and_then(Value::as_str))
        .map(str::to_string);
    let request = json!({
        "MetricDataQueries": queries,
        "StartTime": start_ms as f64 / 1000.0,
        "EndTime": end_ms as f64 / 1000.0,
        "ScanBy": "TimestampAscending",
    });
    let response = metrics::get_metric_data(service, &ctx, crate::parse(request)?).await?;
    let response = crate::render(&response)?;
    let result = response
        .get("MetricDataResults")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|result| result.get("Id").and_then(Value::as_str) == returned.as_deref());
    let Some(result) = result else {
        return Ok(Vec::new());
    };
    let timestamps = result
        .get("Timestamps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let values = result
        .get("Values")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(timestamps
        .iter()
        .zip(values.iter())
        .filter_map(|(ts, value)| {
            let (value, seconds) = (value.as_f64()?, ts.as_f64()?);
            value.is_finite().then(|| {
                (
                    (seconds * 1000.0).round() as i64,
                    Datapoint {
                        value,
                        sample_count: None,
                    },
                )
            })
        })
        .collect())
}

/// Composite alarms follow their children's current states.
pub(super) async fn evaluate_composites(service: &CloudWatchService, now: i64) {
    // A composite can name another composite: a few passes settle chains.
    for _ in 0..4 {
        let mut changed = false;
        for alarm in service.alarms.select(|_, alarm| alarm.kind == COMPOSITE_ALARM) {
            let Some(state) = composite_state(service, &alarm) else {
                continue;
            };
            if state.value == alarm.state.value {
                continue;
            }
            match change_state(
                service,
                &alarm.key(),
                AlarmStateRecord {
                    updated_ms: now,
                    transitioned_ms: now,
                    ..state
                },
                now,
                alarm.config_updated_ms,
            )
            .await
            {
                Ok(()) => changed = true,
                Err(error) => {
                    tracing::warn!(alarm = %alarm.name, %error.message, "could not record a composite alarm state")
                }
            }
        }
        if !changed {
            break;
        }
    }
}

fn rule_state(value: StateValue) -> RuleState {
    match value {
        StateValue::Ok => RuleState::Ok,
        StateValue::Alarm => RuleState::Alarm,
        StateValue::InsufficientData => RuleState::InsufficientData,
    }
}

/// The state a composite alarm's rule gives now, with CloudWatch's reason
/// ("<child arn> transitioned to ALARM at …") and reason data
/// (`triggeringAlarms`).
fn composite_state(service: &CloudWatchService, alarm: &Alarm) -> Option<AlarmStateRecord> {
    let text = alarm.config.get("AlarmRule").and_then(Value::as_str)?;
    let rule = alarm_rule::parse(text).ok()?;
    let resolve = |reference: &str| -> Option<Alarm> {
        let name = reference
            .strip_prefix(&format!(
                "arn:aws:cloudwatch:{}:{}:alarm:",
                alarm.region, alarm.account
            ))
            .unwrap_or(reference);
        service.alarms.get(&alarm.account, &alarm.region, name)
    };
    let evaluation =
        rule.evaluate(|reference| resolve(reference).map(|child| rule_state(child.state_value())));
    let value = if evaluation.result {
        StateValue::Alarm
    } else {
        StateValue::Ok
    };
    let mut triggering = Vec::new();
    let mut newest: Option<(i64, String, String)> = None;
    for reference in &evaluation.triggering {
        let Some(child) = resolve(reference) else {
            continue;
        };
        triggering.push(json!({
            "arn": child.arn(),
            "state": {"value": child.state.value, "timestamp": reason_data_time(child.state.transitioned_ms)},
        }));
        if newest
            .as_ref()
            .is_none_or(|(at, _, _)| child.state.transitioned_ms > *at)
        {
            newest = Some((
                child.state.transitioned_ms,
                child.arn(),
                child.state.value.clone(),
            ));
        }
    }
    let reason = match newest {
        Some((at, arn, state)) => format!(
            "{arn} transitioned to {state} at {}",
            message::long_time(at)
        ),
        None => format!(
            "The alarm rule evaluated to {}.",
            if evaluation.result { "TRUE" } else { "FALSE" }
        ),
    };
    Some(AlarmStateRecord {
        value: value.as_str().to_string(),
        reason,
        reason_data: Some(json!({"triggeringAlarms": triggering}).to_string()),
        updated_ms: 0,
        transitioned_ms: 0,
    })
}

/// Commits a new state: history, and (when the state value changed and
/// actions are enabled) the actions, in one catalog transaction. With
/// `expected_config_ms`, a state computed from an older configuration is
/// dropped.
pub(super) async fn change_state(
    service: &CloudWatchService,
    key: &AlarmKey,
    mut state: AlarmStateRecord,
    now: i64,
    expected_config_ms: i64,
) -> Result<(), ApiError> {
    let alarms = &service.alarms;
    let _guard = alarms.write.lock().await;
    let Some(alarm) = alarms.get(&key.0, &key.1, &key.2) else {
        return Ok(());
    };
    if alarm.config_updated_ms != expected_config_ms {
        return Ok(());
    }
    let transitioned = state.value != alarm.state.value;
    if !transitioned {
        state.transitioned_ms = alarm.state.transitioned_ms;
    }
    let history = [state_update_item(&alarm, &state, now)];
    let new_value = StateValue::parse(&state.value).unwrap_or(StateValue::InsufficientData);
    let mut actions = Vec::new();
    if transitioned && alarm.actions_enabled() {
        let (subject, body) = message::alarm_message(&alarm, &state, now);
        let due_ms = now + suppressor_wait_ms(&alarm, new_value);
        for action in alarm.actions(new_value) {
            actions.push(AlarmActionRecord {
                id: 0,
                account: alarm.account.clone(),
                region: alarm.region.clone(),
                alarm_name: alarm.name.clone(),
                alarm_kind: alarm.kind.to_string(),
                action,
                subject: subject.clone(),
                message: body.clone(),
                due_ms,
                state: state.value.clone(),
            });
        }
    }
    alarms
        .catalog
        .record_state(
            &alarm.account,
            &alarm.region,
            &alarm.name,
            &state,
            &history,
            &actions,
        )
        .map_err(catalog_error)?;
    if transitioned {
        alarms.counters.transitions.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(stored) = alarms.table.write().get_mut(key) {
        stored.state = state;
    }
    alarms.state_version.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// A composite alarm with an ActionsSuppressor waits this long after going
/// to ALARM before its actions run (to let the suppressor go to ALARM).
fn suppressor_wait_ms(alarm: &Alarm, state: StateValue) -> i64 {
    if alarm.kind != COMPOSITE_ALARM
        || state != StateValue::Alarm
        || !alarm.config.contains_key("ActionsSuppressor")
    {
        return 0;
    }
    alarm
        .config
        .get("ActionsSuppressorWaitPeriod")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        * 1000
}

/// Why a composite alarm's action does not run now, if it does not.
fn suppressed_by(
    service: &CloudWatchService,
    action: &AlarmActionRecord,
    now: i64,
) -> Option<String> {
    if action.alarm_kind != COMPOSITE_ALARM || action.state != "ALARM" {
        return None;
    }
    let alarm = service
        .alarms
        .get(&action.account, &action.region, &action.alarm_name)?;
    let suppressor_arn = alarm
        .config
        .get("ActionsSuppressor")
        .and_then(Value::as_str)?;
    let name = suppressor_arn
        .rsplit_once(":alarm:")
        .map_or(suppressor_arn, |(_, name)| name);
    let suppressor = service.alarms.get(&alarm.account, &alarm.region, name)?;
    let extension_ms = alarm
        .config
        .get("ActionsSuppressorExtensionPeriod")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        * 1000;
    if suppressor.state_value() == StateValue::Alarm {
        return Some(format!(
            "Alarm is in ALARM state, but its actions are suppressed by {suppressor_arn}, which is in ALARM state."
        ));
    }
    let left_alarm_recently = suppressor.state.transitioned_ms + extension_ms > now
        && suppressor.state.transitioned_ms <= now;
    (extension_ms > 0 && left_alarm_recently).then(|| {
        format!("Alarm is in ALARM state, but its actions are suppressed by {suppressor_arn} during its extension period.")
    })
}

/// Runs every pending action that is due.
pub(super) async fn dispatch_due(service: &CloudWatchService) {
    let _one_at_a_time = service.alarms.dispatching.lock().await;
    let pending = match service.alarms.catalog.pending_alarm_actions() {
        Ok(pending) => pending,
        Err(error) => {
            tracing::warn!(%error, "could not read pending alarm actions");
            return;
        }
    };
    let now = service.now_ms();
    for action in pending.into_iter().filter(|action| action.due_ms <= now) {
        let outcome = run_action(service, &action, now).await;
        if let Err(error) = service.alarms.catalog.finish_alarm_action(
            action.id,
            &action.account,
            &action.region,
            &outcome,
        ) {
            tracing::warn!(%error, "could not record an alarm action");
        }
    }
}

async fn run_action(
    service: &CloudWatchService,
    action: &AlarmActionRecord,
    now: i64,
) -> AlarmHistoryRecord {
    let counters = &service.alarms.counters;
    let item = |summary: String, data: Value| AlarmHistoryRecord {
        alarm_name: action.alarm_name.clone(),
        alarm_kind: action.alarm_kind.clone(),
        timestamp_ms: now,
        item_type: "Action".into(),
        summary,
        data: data.to_string(),
    };
    if let Some(reason) = suppressed_by(service, action, now) {
        return item(
            format!("Suppressed action {}: {reason}", action.action),
            json!({"actionState": "Suppressed", "notificationResource": action.action}),
        );
    }
    let service_name = action.action.split(':').nth(2).unwrap_or("");
    if service_name != "sns" {
        counters.actions_failed.fetch_add(1, Ordering::Relaxed);
        return item(
            format!(
                "Failed to execute action {}: actions on {service_name} resources are not supported by this server",
                action.action
            ),
            json!({"actionState": "Failed", "notificationResource": action.action, "error": "not supported by this server"}),
        );
    }
    let notifier = service.alarms.notifier.read().clone();
    let result = match notifier {
        Some(notifier) => {
            let notification = AlarmNotification {
                account: action.account.clone(),
                region: action.region.clone(),
                topic_arn: action.action.clone(),
                subject: action.subject.clone(),
                message: action.message.clone(),
                email: message::email_text(&action.message),
                dedup_key: format!(
                    "alarm-action:{}:{}:{}",
                    action.account, action.region, action.id
                ),
            };
            notifier.publish(&notification).await
        }
        None => Err("SNS is not available on this server".to_string()),
    };
    let published: Value = serde_json::from_str(&action.message).unwrap_or(Value::Null);
    match result {
        Ok(message_id) => {
            counters.actions_succeeded.fetch_add(1, Ordering::Relaxed);
            item(
                format!("Successfully executed action {}", action.action),
                json!({"actionState": "Succeeded", "notificationResource": action.action, "messageId": message_id, "publishedMessage": published}),
            )
        }
        Err(error) => {
            counters.actions_failed.fetch_add(1, Ordering::Relaxed);
            item(
                format!(
                    "Failed to execute action {}. Received error: \"{error}\"",
                    action.action
                ),
                json!({"actionState": "Failed", "notificationResource": action.action, "error": error}),
            )
        }
    }
}

/// SetAlarmState: the state is set as given (its actions run), until the
/// next evaluation.
pub(super) async fn set_state(
    service: &CloudWatchService,
    alarm: &Alarm,
    state: AlarmStateRecord,
    now: i64,
) -> Result<(), ApiError> {
    change_state(service, &alarm.key(), state, now, alarm.config_updated_ms).await?;
    evaluate_composites(service, now).await;
    dispatch_due(service).await;
    Ok(())
}

/// The names an alarm rule mentions, as alarm names of this account and region.
pub(super) fn rule_children(alarm: &Alarm) -> Vec<String> {
    let Some(rule) = alarm
        .config
        .get("AlarmRule")
        .and_then(Value::as_str)
        .and_then(|text| alarm_rule::parse(text).ok())
    else {
        return Vec::new();
    };
    let prefix = format!(
        "arn:aws:cloudwatch:{}:{}:alarm:",
        alarm.region, alarm.account
    );
    rule.references()
        .iter()
        .map(|reference| {
            reference
                .strip_prefix(&prefix)
                .unwrap_or(reference)
                .to_string()
        })
        .collect()
}
