//! CloudWatch alarms: metric alarms (one metric and statistic, or metric
//! math) and composite alarms (a rule over other alarms' states).
//!
//! - `api.rs` — the operations (PutMetricAlarm, PutCompositeAlarm,
//!   DescribeAlarms, SetAlarmState, DescribeAlarmHistory, tags …) with
//!   CloudWatch's validation rules.
//! - `evaluate.rs` — the evaluation semantics as a pure function.
//! - `evaluator.rs` — the background loop: each alarm is evaluated at its
//!   period's boundaries (10 s, 30 s, or every minute), state changes are
//!   committed with their history and actions, composite alarms follow
//!   their children, and actions run.
//! - `message.rs` — the JSON CloudWatch publishes to SNS, history data.
//!
//! Every alarm lives in memory (the evaluator reads it every tick) and in
//! the catalog; changes go to the catalog first. A state change, its history
//! items and its actions commit in one transaction (an outbox), and an
//! action leaves the outbox only after it ran — so a restart neither
//! repeats nor loses a notification.

mod api;
pub mod evaluate;
mod evaluator;
mod message;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argus_core::{ApiError, ErrorCode};
use argus_storage::catalog::{
    AlarmCatalog, AlarmHistoryRecord, AlarmRecord, AlarmStateRecord, CatalogError,
};
use async_trait::async_trait;
use parking_lot::RwLock;
use serde_json::{Map, Value};

pub(crate) use api::{
    delete_alarms, describe_alarm_history, describe_alarms, describe_alarms_for_metric, list_tags,
    put_composite_alarm, put_metric_alarm, set_actions_enabled, set_alarm_state, tag_resource,
    untag_resource,
};
pub use evaluator::run_evaluator;

use evaluate::StateValue;

pub const METRIC_ALARM: &str = "MetricAlarm";
pub const COMPOSITE_ALARM: &str = "CompositeAlarm";

/// One alarm notification for an SNS topic.
#[derive(Debug, Clone)]
pub struct AlarmNotification {
    pub account: String,
    pub region: String,
    pub topic_arn: String,
    pub subject: String,
    /// CloudWatch's alarm JSON (what every protocol but email receives).
    pub message: String,
    /// The same change as text for a person (what email receives).
    pub email: String,
    /// Identifies the action: publishing it twice (a retry after a crash)
    /// delivers it once.
    pub dedup_key: String,
}

/// Where alarm actions that name an SNS topic go (the SNS service).
#[async_trait]
pub trait AlarmNotifier: Send + Sync {
    /// Publishes to the topic; Ok(message id) once the topic has durably
    /// accepted it.
    async fn publish(&self, notification: &AlarmNotification) -> Result<String, String>;
}

/// Counters for Argus's own `/metrics`.
#[derive(Debug, Default)]
pub struct AlarmCounters {
    pub evaluations: AtomicU64,
    pub transitions: AtomicU64,
    pub actions_succeeded: AtomicU64,
    pub actions_failed: AtomicU64,
    /// Wall time spent evaluating metric alarms, in microseconds.
    pub evaluation_micros: AtomicU64,
    /// The last tick that evaluated any alarm: how many, and how long it took.
    pub last_tick_alarms: AtomicU64,
    pub last_tick_micros: AtomicU64,
}

impl AlarmCounters {
    pub fn snapshot(&self) -> [(&'static str, &'static str, f64); 7] {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed) as f64;
        [
            ("argus_alarm_evaluations_total", "counter", read(&self.evaluations)),
            ("argus_alarm_state_transitions_total", "counter", read(&self.transitions)),
            ("argus_alarm_actions_succeeded_total", "counter", read(&self.actions_succeeded)),
            ("argus_alarm_actions_failed_total", "counter", read(&self.actions_failed)),
            ("argus_alarm_evaluation_seconds_total", "counter", read(&self.evaluation_micros) / 1e6),
            ("argus_alarm_last_tick_alarms", "gauge", read(&self.last_tick_alarms)),
            ("argus_alarm_last_tick_seconds", "gauge", read(&self.last_tick_micros) / 1e6),
        ]
    }
}

/// (account, region, alarm name)
pub(crate) type AlarmKey = (String, String, String);

/// One alarm as the evaluator and the API see it.
#[derive(Debug, Clone)]
pub(crate) struct Alarm {
    pub account: String,
    pub region: String,
    pub name: String,
    pub kind: &'static str,
    /// The configuration members DescribeAlarms returns (AlarmDescription,
    /// MetricName, Period, AlarmRule, …), in canonical form.
    pub config: Map<String, Value>,
    pub tags: Vec<Value>,
    pub config_updated_ms: i64,
    pub state: AlarmStateRecord,
}

impl Alarm {
    pub fn key(&self) -> AlarmKey {
        (self.account.clone(), self.region.clone(), self.name.clone())
    }

    pub fn arn(&self) -> String {
        alarm_arn(&self.region, &self.account, &self.name)
    }

    pub fn state_value(&self) -> StateValue {
        StateValue::parse(&self.state.value).unwrap_or(StateValue::InsufficientData)
    }

    pub fn actions_enabled(&self) -> bool {
        self.config
            .get("ActionsEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    pub fn actions(&self, state: StateValue) -> Vec<String> {
        let member = match state {
            StateValue::Ok => "OKActions",
            StateValue::Alarm => "AlarmActions",
            StateValue::InsufficientData => "InsufficientDataActions",
        };
        strings(self.config.get(member))
    }

    fn record(&self) -> AlarmRecord {
        AlarmRecord {
            account: self.account.clone(),
            region: self.region.clone(),
            name: self.name.clone(),
            kind: self.kind.to_string(),
            config: Value::Object(self.config.clone()).to_string(),
            tags: Value::Array(self.tags.clone()).to_string(),
            config_updated_ms: self.config_updated_ms,
            state: self.state.clone(),
        }
    }

    fn from_record(record: AlarmRecord) -> Result<Alarm, CatalogError> {
        let config = match serde_json::from_str(&record.config) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(CatalogError::Corrupt(format!(
                    "alarm {} has an unreadable configuration",
                    record.name
                )));
            }
        };
        let tags = match serde_json::from_str(&record.tags) {
            Ok(Value::Array(tags)) => tags,
            _ => Vec::new(),
        };
        let kind = if record.kind == COMPOSITE_ALARM {
            COMPOSITE_ALARM
        } else {
            METRIC_ALARM
        };
        Ok(Alarm {
            account: record.account,
            region: record.region,
            name: record.name,
            kind,
            config,
            tags,
            config_updated_ms: record.config_updated_ms,
            state: record.state,
        })
    }

    /// The alarm as DescribeAlarms returns it.
    pub fn describe(&self) -> Value {
        let mut out = self.config.clone();
        out.insert("AlarmName".into(), Value::from(self.name.clone()));
        out.insert("AlarmArn".into(), Value::from(self.arn()));
        out.insert(
            "AlarmConfigurationUpdatedTimestamp".into(),
            seconds(self.config_updated_ms),
        );
        out.entry("ActionsEnabled").or_insert(Value::Bool(true));
        for member in ["OKActions", "AlarmActions", "InsufficientDataActions"] {
            out.entry(member)
                .or_insert_with(|| Value::Array(Vec::new()));
        }
        if self.kind == METRIC_ALARM && !out.contains_key("Metrics") {
            out.entry("Dimensions")
                .or_insert_with(|| Value::Array(Vec::new()));
        }
        out.insert("StateValue".into(), Value::from(self.state.value.clone()));
        out.insert("StateReason".into(), Value::from(self.state.reason.clone()));
        if let Some(data) = &self.state.reason_data {
            out.insert("StateReasonData".into(), Value::from(data.clone()));
        }
        out.insert(
            "StateUpdatedTimestamp".into(),
            seconds(self.state.updated_ms),
        );
        out.insert(
            "StateTransitionedTimestamp".into(),
            seconds(self.state.transitioned_ms),
        );
        Value::Object(out)
    }
}

pub(crate) fn alarm_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:{region}:{account}:alarm:{name}")
}

pub(crate) fn seconds(ms: i64) -> Value {
    Value::from(ms as f64 / 1000.0)
}

/// `[{"Name", "Value"}, …]` as (name, value) pairs, in the given order.
pub(crate) fn dimension_pairs(value: Option<&Value>) -> Vec<(String, String)> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| Some((d.get("Name")?.as_str()?.to_string(), d.get("Value")?.as_str()?.to_string())))
        .collect()
}

pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// All alarms, in memory and in the catalog.
pub struct Alarms {
    catalog: Arc<dyn AlarmCatalog>,
    table: RwLock<BTreeMap<AlarmKey, Alarm>>,
    /// Serializes changes (API calls and the evaluator) so that the catalog
    /// and the table change in the same order.
    write: tokio::sync::Mutex<()>,
    /// One dispatcher at a time, so a pending action runs once.
    dispatching: tokio::sync::Mutex<()>,
    notifier: RwLock<Option<Arc<dyn AlarmNotifier>>>,
    pub counters: AlarmCounters,
    /// Bumped when an alarm is stored or deleted, and when a state changes:
    /// the evaluator rescans only when these move or a period boundary
    /// passes.
    pub(crate) config_version: AtomicU64,
    pub(crate) state_version: AtomicU64,
}

impl Alarms {
    pub fn open(catalog: Arc<dyn AlarmCatalog>) -> Result<Alarms, CatalogError> {
        let mut table = BTreeMap::new();
        for record in catalog.load_alarms()? {
            let alarm = Alarm::from_record(record)?;
            table.insert(alarm.key(), alarm);
        }
        Ok(Alarms {
            catalog,
            table: RwLock::new(table),
            write: tokio::sync::Mutex::new(()),
            dispatching: tokio::sync::Mutex::new(()),
            notifier: RwLock::new(None),
            counters: AlarmCounters::default(),
            config_version: AtomicU64::new(0),
            state_version: AtomicU64::new(0),
        })
    }

    /// Sets where SNS actions go.
    pub fn set_notifier(&self, notifier: Arc<dyn AlarmNotifier>) {
        *self.notifier.write() = Some(notifier);
    }

    pub(crate) fn get(&self, account: &str, region: &str, name: &str) -> Option<Alarm> {
        self.table
            .read()
            .get(&(account.to_string(), region.to_string(), name.to_string()))
            .cloned()
    }

    /// Every alarm of an account and region, by name.
    pub(crate) fn list(&self, account: &str, region: &str) -> Vec<Alarm> {
        self.table
            .read()
            .values()
            .filter(|alarm| alarm.account == account && alarm.region == region)
            .cloned()
            .collect()
    }

    /// How many alarms exist (all accounts and regions).
    pub fn count(&self) -> usize {
        self.table.read().len()
    }

    /// Clones of the alarms `pick` selects, chosen under one read lock (the
    /// evaluator's tick looks at every alarm but clones only the due ones).
    pub(crate) fn select(&self, mut pick: impl FnMut(&AlarmKey, &Alarm) -> bool) -> Vec<Alarm> {
        self.table.read().iter().filter(|(key, alarm)| pick(key, alarm)).map(|(_, alarm)| alarm.clone()).collect()
    }

    pub(crate) fn keys(&self) -> std::collections::HashSet<AlarmKey> {
        self.table.read().keys().cloned().collect()
    }

    /// Stores an alarm (new or replaced) with its history items.
    pub(crate) fn store(
        &self,
        alarm: Alarm,
        history: &[AlarmHistoryRecord],
    ) -> Result<(), ApiError> {
        self.catalog
            .put_alarm(&alarm.record(), history)
            .map_err(catalog_error)?;
        self.table.write().insert(alarm.key(), alarm);
        self.config_version.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn remove(
        &self,
        account: &str,
        region: &str,
        names: &[String],
    ) -> Result<usize, ApiError> {
        let deleted = self
            .catalog
            .delete_alarms(account, region, names)
            .map_err(catalog_error)?;
        let mut table = self.table.write();
        for name in names {
            table.remove(&(account.to_string(), region.to_string(), name.clone()));
        }
        self.config_version.fetch_add(1, Ordering::Relaxed);
        Ok(deleted)
    }
}

pub(crate) fn catalog_error(error: CatalogError) -> ApiError {
    tracing::error!(%error, "alarm catalog failure");
    ApiError::new(
        ErrorCode::ServiceUnavailable,
        "the alarm catalog failed to process the request; retry the request",
    )
}

/// The history item of a state change.
pub(crate) fn state_update_item(
    alarm: &Alarm,
    new: &AlarmStateRecord,
    at_ms: i64,
) -> AlarmHistoryRecord {
    let describe = |state: &AlarmStateRecord| {
        let mut out = Map::new();
        out.insert("stateValue".into(), Value::from(state.value.clone()));
        out.insert("stateReason".into(), Value::from(state.reason.clone()));
        if let Some(data) = state
            .reason_data
            .as_deref()
            .and_then(|data| serde_json::from_str::<Value>(data).ok())
        {
            out.insert("stateReasonData".into(), data);
        }
        Value::Object(out)
    };
    let (old_state, new_state) = (describe(&alarm.state), describe(new));
    AlarmHistoryRecord {
        alarm_name: alarm.name.clone(),
        alarm_kind: alarm.kind.to_string(),
        timestamp_ms: at_ms,
        item_type: "StateUpdate".into(),
        summary: format!("Alarm updated from {} to {}", alarm.state.value, new.value),
        data: serde_json::json!({"version": "1.0", "oldState": old_state, "newState": new_state})
            .to_string(),
    }
}
