//! The catalog: durable metadata (log groups, streams, tags, segment files,
//! flush checkpoints). Argus ships an embedded SQLite implementation; the
//! [`Catalog`] trait is the seam a shared PostgreSQL catalog will implement
//! when several nodes serve one data set (see the brief's scale-out plan).
//!
//! Every method commits before it returns: an acknowledged CreateLogGroup
//! survives a crash.

mod sqlite;

use std::collections::BTreeMap;

pub use sqlite::SqliteCatalog;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("catalog is unusable: {0}")]
    Corrupt(String),
    #[error("catalog entry already exists")]
    AlreadyExists,
}

pub type Tags = BTreeMap<String, String>;

/// A log group as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: u64,
    pub account: String,
    pub region: String,
    pub name: String,
    pub created_ms: i64,
    pub retention_days: Option<i32>,
    pub class: String,
    pub kms_key_id: Option<String>,
    pub deletion_protection: bool,
    pub tags: Tags,
    /// Every WAL record of this group with an LSN at or below this is in
    /// segment files.
    pub flushed_lsn: u64,
}

/// A log stream as stored; the event statistics are those of flushed
/// events (the log store adds what is still in memory).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    pub id: u64,
    pub group_id: u64,
    pub name: String,
    pub created_ms: i64,
    pub stats: StreamStats,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub first_event_ms: Option<i64>,
    pub last_event_ms: Option<i64>,
    pub last_ingestion_ms: Option<i64>,
}

impl StreamStats {
    pub fn merge(&mut self, other: &StreamStats) {
        self.first_event_ms = min_opt(self.first_event_ms, other.first_event_ms);
        self.last_event_ms = max_opt(self.last_event_ms, other.last_event_ms);
        self.last_ingestion_ms = max_opt(self.last_ingestion_ms, other.last_ingestion_ms);
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// One immutable segment file of a log group.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRecord {
    pub id: u64,
    pub group_id: u64,
    /// Object-store path of the file.
    pub path: String,
    pub min_ts: i64,
    pub max_ts: i64,
    pub rows: u64,
    /// Size of the Parquet file.
    pub file_bytes: u64,
    /// Size of its token index sidecar.
    pub index_bytes: u64,
    /// 0 for a file written by a flush; compaction writes level n + 1 from
    /// files of level n (size-tiered).
    pub level: u32,
    /// Per-stream share of the files: rows and bytes (file and index sizes
    /// split in proportion to each stream's message bytes).
    pub streams: Vec<SegmentStream>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentStream {
    pub stream_id: u64,
    pub rows: u64,
    pub bytes: u64,
}

/// What a flush commits atomically: new segment files, the group's new
/// flushed LSN, and the streams' statistics as of the flushed data.
#[derive(Debug, Clone)]
pub struct FlushCommit {
    pub group_id: u64,
    pub flushed_lsn: u64,
    pub segments: Vec<SegmentRecord>,
    pub stream_stats: Vec<(u64, StreamStats)>,
}

pub struct NewGroup<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub name: &'a str,
    pub created_ms: i64,
    pub retention_days: Option<i32>,
    pub class: &'a str,
    pub kms_key_id: Option<&'a str>,
    pub deletion_protection: bool,
    pub tags: &'a Tags,
}

/// Durable metadata operations. Implementations must be safe to call from
/// several threads; each call is its own transaction.
pub trait Catalog: Send + Sync {
    fn load_groups(&self) -> Result<Vec<GroupRecord>, CatalogError>;
    fn load_streams(&self) -> Result<Vec<StreamRecord>, CatalogError>;
    fn load_segments(&self) -> Result<Vec<SegmentRecord>, CatalogError>;

    /// Inserts a group; `AlreadyExists` if (account, region, name) is taken.
    fn insert_group(&self, group: &NewGroup<'_>) -> Result<u64, CatalogError>;
    /// Deletes a group with its streams, tags and segment rows; returns the
    /// paths of its segment files, which the caller then deletes.
    fn delete_group(&self, group_id: u64) -> Result<Vec<String>, CatalogError>;
    fn set_retention(&self, group_id: u64, days: Option<i32>) -> Result<(), CatalogError>;
    fn set_tags(&self, group_id: u64, tags: &Tags) -> Result<(), CatalogError>;

    fn insert_stream(
        &self,
        group_id: u64,
        name: &str,
        created_ms: i64,
    ) -> Result<u64, CatalogError>;
    fn delete_stream(&self, stream_id: u64) -> Result<(), CatalogError>;

    fn commit_flush(&self, commit: &FlushCommit) -> Result<(), CatalogError>;
    /// Replaces segments of a group with others in one transaction
    /// (compaction, retention rewrites).
    fn replace_segments(
        &self,
        group_id: u64,
        removed: &[u64],
        added: &[SegmentRecord],
    ) -> Result<(), CatalogError>;
    /// A fresh, never reused segment id.
    fn next_segment_id(&self) -> Result<u64, CatalogError>;
}

/// A metric filter of a log group as stored. The transformations are kept
/// as the JSON the client sent (after validation), so they describe back
/// exactly as given.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFilterRecord {
    pub group_id: u64,
    pub name: String,
    pub pattern: String,
    pub transformations: String,
    pub created_ms: i64,
    pub apply_on_transformed_logs: bool,
}

/// Durable metric filters; deleting a log group deletes its filters.
pub trait MetricFilterCatalog: Send + Sync {
    fn load_metric_filters(&self) -> Result<Vec<MetricFilterRecord>, CatalogError>;
    /// Creates the filter, or replaces the group's filter of that name.
    fn put_metric_filter(&self, filter: &MetricFilterRecord) -> Result<(), CatalogError>;
    /// False when the group has no filter of that name.
    fn delete_metric_filter(&self, group_id: u64, name: &str) -> Result<bool, CatalogError>;
}

/// A saved Logs Insights query (PutQueryDefinition), scoped by account and region.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryDefinitionRecord {
    pub account: String,
    pub region: String,
    pub id: String,
    pub name: String,
    pub query_string: String,
    pub query_language: String,
    /// JSON array of log group names.
    pub log_group_names: String,
    /// JSON array of `QueryParameter` objects, as the client sent them.
    pub parameters: String,
    pub last_modified_ms: i64,
}

/// Saved Logs Insights queries.
pub trait QueryDefinitionCatalog: Send + Sync {
    /// Creates the definition, or replaces the one with its id.
    fn put_query_definition(&self, definition: &QueryDefinitionRecord) -> Result<(), CatalogError>;
    fn query_definition(&self, account: &str, region: &str, id: &str) -> Result<Option<QueryDefinitionRecord>, CatalogError>;
    /// A scope's definitions sorted by name, then id.
    fn query_definitions(&self, account: &str, region: &str) -> Result<Vec<QueryDefinitionRecord>, CatalogError>;
    /// False when there was no such definition.
    fn delete_query_definition(&self, account: &str, region: &str, id: &str) -> Result<bool, CatalogError>;
}

/// A metric series as stored: its identity, scoped by account and region.
/// `dimensions` is the canonical JSON of the sorted `[name, value]` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRecord {
    pub id: u64,
    pub account: String,
    pub region: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: String,
    pub created_ms: i64,
}

/// One immutable metric block file (`storage/src/metrics/block.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord {
    pub id: u64,
    pub path: String,
    /// UTC day of its points, `YYYY-MM-DD`.
    pub day: String,
    pub min_ts: i64,
    pub max_ts: i64,
    pub points: u64,
    pub file_bytes: u64,
    /// 0 for a flush; n ≥ 1 for a day merged by the maintenance pass, whose
    /// finest bucket width is then 1 s, 1 min, 5 min or 1 h for n = 1..4
    /// (`storage/src/metrics/maintain.rs`).
    pub level: u32,
}

/// A CloudWatch dashboard as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardRecord {
    pub name: String,
    pub body: String,
    pub modified_ms: i64,
}

/// Durable metadata of the metrics store and the dashboards.
pub trait MetricCatalog: Send + Sync {
    fn load_series(&self) -> Result<Vec<SeriesRecord>, CatalogError>;
    /// Inserts a series (returns the id of an existing identical one).
    fn insert_series(&self, series: &SeriesRecord) -> Result<u64, CatalogError>;

    fn load_blocks(&self) -> Result<Vec<BlockRecord>, CatalogError>;
    /// Every metrics WAL record at or below this LSN is in block files.
    fn metrics_flushed_lsn(&self) -> Result<u64, CatalogError>;
    /// Adds and removes block files, and (when given) moves the flushed
    /// LSN, in one transaction.
    fn commit_blocks(
        &self,
        added: &[BlockRecord],
        removed: &[u64],
        flushed_lsn: Option<u64>,
    ) -> Result<(), CatalogError>;
    fn next_block_id(&self) -> Result<u64, CatalogError>;

    fn put_dashboard(
        &self,
        account: &str,
        region: &str,
        dashboard: &DashboardRecord,
    ) -> Result<(), CatalogError>;
    fn get_dashboard(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<DashboardRecord>, CatalogError>;
    /// Dashboards whose name starts with `prefix`, by name.
    fn list_dashboards(
        &self,
        account: &str,
        region: &str,
        prefix: &str,
    ) -> Result<Vec<DashboardRecord>, CatalogError>;
    /// Deletes the named dashboards; returns how many existed.
    fn delete_dashboards(
        &self,
        account: &str,
        region: &str,
        names: &[String],
    ) -> Result<usize, CatalogError>;
}

// ------------------------------------------------------------------ alarms

/// A CloudWatch alarm as stored: its configuration as the JSON of the
/// fields it describes back with, and its current state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRecord {
    pub account: String,
    pub region: String,
    pub name: String,
    /// `MetricAlarm` or `CompositeAlarm`.
    pub kind: String,
    pub config: String,
    /// JSON list of `{"Key", "Value"}`.
    pub tags: String,
    pub config_updated_ms: i64,
    pub state: AlarmStateRecord,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmStateRecord {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub value: String,
    pub reason: String,
    pub reason_data: Option<String>,
    pub updated_ms: i64,
    pub transitioned_ms: i64,
}

/// One alarm history item (kept two weeks, as CloudWatch does).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmHistoryRecord {
    pub alarm_name: String,
    pub alarm_kind: String,
    pub timestamp_ms: i64,
    /// `ConfigurationUpdate`, `StateUpdate` or `Action`.
    pub item_type: String,
    pub summary: String,
    pub data: String,
}

/// An alarm action waiting to run (the outbox): written in the same
/// transaction as the state change that caused it, removed when it has run,
/// so a restart neither loses nor repeats it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmActionRecord {
    pub id: u64,
    pub account: String,
    pub region: String,
    pub alarm_name: String,
    pub alarm_kind: String,
    /// The action's ARN.
    pub action: String,
    pub subject: String,
    pub message: String,
    /// Not before this time (a composite alarm's suppressor wait period).
    pub due_ms: i64,
    /// The state the alarm entered, for suppression checks at run time.
    pub state: String,
}

/// Filters of an alarm-history read.
#[derive(Debug, Clone, Default)]
pub struct AlarmHistoryQuery<'a> {
    pub alarm_name: Option<&'a str>,
    pub kinds: &'a [String],
    pub item_type: Option<&'a str>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub newest_first: bool,
}

/// Durable alarms, their history and pending actions.
pub trait AlarmCatalog: Send + Sync {
    fn load_alarms(&self) -> Result<Vec<AlarmRecord>, CatalogError>;
    /// Creates or replaces the alarm (configuration, tags and state) and
    /// appends the history items, in one transaction.
    fn put_alarm(
        &self,
        alarm: &AlarmRecord,
        history: &[AlarmHistoryRecord],
    ) -> Result<(), CatalogError>;
    /// A state change: the new state, its history items and the actions it
    /// runs, in one transaction. Returns the actions with their ids.
    fn record_state(
        &self,
        account: &str,
        region: &str,
        name: &str,
        state: &AlarmStateRecord,
        history: &[AlarmHistoryRecord],
        actions: &[AlarmActionRecord],
    ) -> Result<Vec<AlarmActionRecord>, CatalogError>;
    /// Deletes the alarms (and their pending actions); returns how many
    /// existed. Their history stays until it ages out, as on CloudWatch.
    fn delete_alarms(
        &self,
        account: &str,
        region: &str,
        names: &[String],
    ) -> Result<usize, CatalogError>;
    fn pending_alarm_actions(&self) -> Result<Vec<AlarmActionRecord>, CatalogError>;
    /// Removes a pending action that has run and records its outcome.
    fn finish_alarm_action(
        &self,
        id: u64,
        account: &str,
        region: &str,
        outcome: &AlarmHistoryRecord,
    ) -> Result<(), CatalogError>;
    fn alarm_history(
        &self,
        account: &str,
        region: &str,
        query: &AlarmHistoryQuery<'_>,
    ) -> Result<Vec<AlarmHistoryRecord>, CatalogError>;
    /// Drops history items older than `before_ms`.
    fn prune_alarm_history(&self, before_ms: i64) -> Result<usize, CatalogError>;
}

// --------------------------------------------------------------------- sns

/// An SNS topic as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRecord {
    pub arn: String,
    pub account: String,
    pub region: String,
    pub name: String,
    /// JSON object of the settable attributes (DisplayName, Policy, …).
    pub attributes: String,
    /// JSON list of `{"Key", "Value"}`.
    pub tags: String,
    pub created_ms: i64,
}

/// An SNS subscription as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRecord {
    pub arn: String,
    pub topic_arn: String,
    pub account: String,
    pub region: String,
    pub protocol: String,
    pub endpoint: String,
    /// JSON object of the settable attributes (RawMessageDelivery, FilterPolicy, …).
    pub attributes: String,
    pub confirmed: bool,
    /// The token a SubscribeURL or ConfirmSubscription must present.
    pub token: String,
    pub created_ms: i64,
}

/// One message to deliver to one subscription endpoint (the delivery
/// outbox). Written in the transaction that accepts the message, so an
/// acknowledged Publish is delivered even across a crash.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: u64,
    pub subscription_arn: String,
    pub message_id: String,
    /// What to send, prepared at publish time (JSON; its shape is the SNS
    /// service's business).
    pub payload: String,
    pub attempts: u32,
    pub due_ms: i64,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Try again at `due_ms`.
    Retry {
        due_ms: i64,
        error: String,
    },
    /// Gave up (retries exhausted, or the endpoint refused for good).
    Failed {
        error: String,
    },
}

/// Durable SNS topics, subscriptions and pending deliveries.
pub trait SnsCatalog: Send + Sync {
    fn load_topics(&self) -> Result<Vec<TopicRecord>, CatalogError>;
    fn put_topic(&self, topic: &TopicRecord) -> Result<(), CatalogError>;
    /// Deletes the topic with its subscriptions and their pending deliveries.
    fn delete_topic(&self, arn: &str) -> Result<(), CatalogError>;
    fn load_subscriptions(&self) -> Result<Vec<SubscriptionRecord>, CatalogError>;
    /// Creates or replaces the subscription and queues `deliveries` (a
    /// confirmation request) with it, in one transaction.
    fn put_subscription(
        &self,
        subscription: &SubscriptionRecord,
        deliveries: &[DeliveryRecord],
    ) -> Result<(), CatalogError>;
    /// Deletes the subscription and its pending deliveries.
    fn delete_subscription(&self, arn: &str) -> Result<(), CatalogError>;
    /// Accepts a published message: its deliveries, in one transaction.
    /// With a `dedup_key` seen before, nothing is queued and the message id
    /// it was first accepted under is returned instead.
    fn accept_message(
        &self,
        dedup_key: Option<&str>,
        message_id: &str,
        created_ms: i64,
        deliveries: &[DeliveryRecord],
    ) -> Result<String, CatalogError>;
    /// Pending deliveries due at `now_ms`, oldest first, at most `limit`.
    fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, CatalogError>;
    /// The earliest due time of a pending delivery.
    fn next_delivery_due(&self) -> Result<Option<i64>, CatalogError>;
    /// Records the outcomes of finished attempts, in one transaction.
    fn finish_deliveries(
        &self,
        outcomes: &[(u64, DeliveryOutcome)],
        now_ms: i64,
    ) -> Result<(), CatalogError>;
    /// Forgets finished deliveries and publish deduplication keys older than `before_ms`.
    fn prune_deliveries(&self, before_ms: i64) -> Result<usize, CatalogError>;
}
