//! CloudWatch Logs Insights: StartQuery, GetQueryResults, StopQuery,
//! DescribeQueries, GetLogRecord, GetLogGroupFields, and saved query
//! definitions. See `README.md` beside this file.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the query operations and the registry of queries |
//! | `pool.rs` | the low-priority runtime queries run on |
//! | `table.rs` | the DataFusion table over the log store |
//! | `records.rs` | GetLogRecord, GetLogGroupFields |
//! | `definitions.rs` | PutQueryDefinition, DescribeQueryDefinitions, DeleteQueryDefinition |

pub(crate) mod definitions;
mod pool;
pub(crate) mod records;
pub mod table;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use argus_core::{ApiError, ErrorCode, RequestContext, SharedClock};
use argus_query::insights::{self, exec};
use argus_storage::logs::{GroupInfo, LogStore, Scope};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::{LogsService, group_name_from_identifier, scope};
use table::{EventsTable, GroupSource};

/// How queries run.
#[derive(Debug, Clone)]
pub struct InsightsOptions {
    /// A query still running after this long ends with status `Timeout`
    /// (AWS: 60 minutes).
    pub timeout: Duration,
    /// Queries of one account and region that may be scheduled or running
    /// at once (AWS: 30 for Logs Insights QL).
    pub max_concurrent: usize,
    /// Queries the pool runs at the same time; the others wait, `Scheduled`.
    pub running_at_once: usize,
    /// Worker threads of the query pool.
    pub threads: usize,
    /// How long a finished query's results are kept.
    pub keep_results: Duration,
    /// Finished queries kept at most (oldest dropped first).
    pub max_kept: usize,
    /// Memory a query's operators may hold.
    pub memory_limit: usize,
}

impl Default for InsightsOptions {
    fn default() -> InsightsOptions {
        InsightsOptions {
            timeout: Duration::from_secs(3600),
            max_concurrent: 30,
            running_at_once: 2,
            threads: 2,
            keep_results: Duration::from_secs(3600),
            max_kept: 1000,
            memory_limit: exec::DEFAULT_MEMORY_LIMIT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryStatus {
    Scheduled,
    Running,
    Complete,
    Failed,
    Cancelled,
    Timeout,
    Unknown,
}

impl QueryStatus {
    fn is_active(self) -> bool {
        matches!(self, QueryStatus::Scheduled | QueryStatus::Running)
    }
}

#[derive(Debug, Default)]
struct Outcome {
    rows: Vec<exec::ResultRow>,
    statistics: Option<exec::Statistics>,
}

struct QueryEntry {
    id: String,
    scope: Scope,
    /// As DescribeQueries shows it: `SOURCE "group" START=… END=… | query`.
    described: String,
    log_group_name: String,
    group_count: usize,
    language: String,
    create_ms: i64,
    status: Mutex<QueryStatus>,
    outcome: Mutex<Outcome>,
    cancel: Arc<AtomicBool>,
    started: Instant,
    finished: Mutex<Option<Instant>>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl QueryEntry {
    fn status(&self) -> QueryStatus {
        *self.status.lock()
    }

    /// Moves to a final status unless one was already set (StopQuery wins
    /// over a result arriving at the same time).
    fn finish(&self, status: QueryStatus, outcome: Outcome) {
        let mut current = self.status.lock();
        if !current.is_active() {
            return;
        }
        *current = status;
        *self.outcome.lock() = outcome;
        *self.finished.lock() = Some(Instant::now());
    }
}

/// The queries of this server, in memory (on AWS too they are ephemeral).
pub struct Insights {
    options: InsightsOptions,
    pool: pool::QueryPool,
    queries: Mutex<HashMap<String, Arc<QueryEntry>>>,
    running: Arc<tokio::sync::Semaphore>,
}

impl Insights {
    pub fn new(options: InsightsOptions) -> Insights {
        let pool = pool::QueryPool::new(options.threads);
        let running = Arc::new(tokio::sync::Semaphore::new(options.running_at_once.max(1)));
        Insights { options, pool, queries: Mutex::new(HashMap::new()), running }
    }

    fn get(&self, ctx: &RequestContext, id: &str) -> Result<Arc<QueryEntry>, ApiError> {
        let scope = scope(ctx);
        self.queries
            .lock()
            .get(id)
            .filter(|entry| entry.scope == scope)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Query {id} does not exist.")))
    }

    /// Drops finished queries past their keeping time, and the oldest
    /// finished ones beyond the count kept.
    fn prune(&self) {
        let mut queries = self.queries.lock();
        let keep = self.options.keep_results;
        queries.retain(|_, entry| entry.finished.lock().is_none_or(|at| at.elapsed() < keep));
        let finished = queries.values().filter(|entry| !entry.status().is_active()).count();
        if finished > self.options.max_kept {
            let mut done: Vec<(i64, String)> = queries
                .values()
                .filter(|entry| !entry.status().is_active())
                .map(|entry| (entry.create_ms, entry.id.clone()))
                .collect();
            done.sort();
            for (_, id) in done.into_iter().take(finished - self.options.max_kept) {
                queries.remove(&id);
            }
        }
    }
}

impl Drop for Insights {
    fn drop(&mut self) {
        for entry in self.queries.lock().values() {
            entry.cancel.store(true, Ordering::Relaxed);
        }
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid_parameter(message)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartQueryRequest {
    query_language: Option<String>,
    log_group_name: Option<String>,
    log_group_names: Option<Vec<String>>,
    log_group_identifiers: Option<Vec<String>>,
    start_time: i64,
    end_time: i64,
    query_string: String,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartQueryResponse {
    query_id: String,
}

/// Checks the query language: CWLI (the default) only.
fn check_language(language: Option<&str>) -> Result<String, ApiError> {
    match language.unwrap_or("CWLI") {
        "CWLI" => Ok("CWLI".to_string()),
        other => Err(invalid(format!(
            "queryLanguage {other} is not supported by this server; use CWLI (the Logs Insights query language)"
        ))),
    }
}

fn group_not_found(ctx: &RequestContext, name: &str) -> ApiError {
    ApiError::not_found(format!("Log group '{name}' does not exist for account ID '{}'", ctx.account_id))
}

/// The groups a StartQuery names: exactly one of `logGroupName`,
/// `logGroupNames`, `logGroupIdentifiers`.
fn query_groups(store: &LogStore, ctx: &RequestContext, request: &StartQueryRequest) -> Result<Vec<GroupInfo>, ApiError> {
    let given = [request.log_group_name.is_some(), request.log_group_names.is_some(), request.log_group_identifiers.is_some()];
    if given.iter().filter(|&&set| set).count() != 1 {
        return Err(invalid("Specify exactly one of logGroupName, logGroupNames and logGroupIdentifiers."));
    }
    let mut names: Vec<String> = Vec::new();
    if let Some(name) = &request.log_group_name {
        names.push(name.clone());
    }
    if let Some(list) = &request.log_group_names {
        names.extend(list.iter().cloned());
    }
    if let Some(identifiers) = &request.log_group_identifiers {
        for identifier in identifiers {
            let identifier = identifier.strip_suffix(":*").unwrap_or(identifier);
            names.push(group_name_from_identifier(ctx, identifier).map_err(|_| group_not_found(ctx, identifier))?.to_string());
        }
    }
    if names.is_empty() {
        return Err(invalid("Specify at least one log group."));
    }
    if names.len() > 50 {
        return Err(invalid("A query can search at most 50 log groups."));
    }
    let scope = scope(ctx);
    let mut groups: Vec<GroupInfo> = Vec::new();
    for name in names {
        let group = store.group(&scope, &name).ok_or_else(|| group_not_found(ctx, &name))?;
        if !groups.iter().any(|known| known.id == group.id) {
            groups.push(group);
        }
    }
    Ok(groups)
}

/// Runs the query's planning over an empty table, so a query the engine
/// cannot run is refused by StartQuery instead of failing later.
async fn check_runs(query: &insights::Query, limit: usize) -> Result<(), ApiError> {
    let mut options = exec::RunOptions::new(0, 0);
    options.limit = limit;
    match exec::run(query, Arc::new(EventsTable::new(Vec::new())), &options).await {
        Ok(_) => Ok(()),
        Err(exec::ExecError::Unsupported(what)) => Err(ApiError::new(ErrorCode::MalformedQuery, format!("not supported by this server: {what}"))),
        Err(exec::ExecError::Invalid(what)) => Err(ApiError::new(ErrorCode::MalformedQuery, what)),
        Err(_) => Ok(()),
    }
}

pub async fn start(service: &LogsService, ctx: &RequestContext, request: StartQueryRequest) -> Result<StartQueryResponse, ApiError> {
    let insights_state = &service.insights;
    let language = check_language(request.query_language.as_deref())?;
    let groups = query_groups(&service.store, ctx, &request)?;
    if request.end_time < request.start_time {
        return Err(invalid("endTime must be greater than or equal to startTime."));
    }
    let limit = match request.limit {
        None => exec::DEFAULT_LIMIT,
        Some(limit) => usize::try_from(limit).ok().filter(|&limit| (1..=exec::MAX_RESULT_LIMIT).contains(&limit)).ok_or_else(|| {
            invalid(format!("limit must be from 1 to {}.", exec::MAX_RESULT_LIMIT))
        })?,
    };
    let query = insights::parse(&request.query_string).map_err(ApiError::from)?;
    check_runs(&query, limit).await?;
    // Seconds, both ends included (END is the last millisecond of its second).
    let start_ms = request.start_time.saturating_mul(1000);
    let end_ms = request.end_time.saturating_mul(1000).saturating_add(999);

    insights_state.prune();
    let scope = scope(ctx);
    let id = uuid::Uuid::new_v4().to_string();
    let sources = groups.iter().map(|group| format!("\"{}\"", group.name)).collect::<Vec<_>>().join(" ");
    let entry = Arc::new(QueryEntry {
        id: id.clone(),
        scope: scope.clone(),
        described: format!("SOURCE {sources} START={start_ms} END={end_ms} | {}", request.query_string),
        log_group_name: groups.first().map(|group| group.name.clone()).unwrap_or_default(),
        group_count: groups.len(),
        language,
        create_ms: service.now(),
        status: Mutex::new(QueryStatus::Scheduled),
        outcome: Mutex::new(Outcome::default()),
        cancel: Arc::new(AtomicBool::new(false)),
        started: Instant::now(),
        finished: Mutex::new(None),
        task: Mutex::new(None),
    });
    {
        let mut queries = insights_state.queries.lock();
        let active = queries.values().filter(|entry| entry.scope == scope && entry.status().is_active()).count();
        if active >= insights_state.options.max_concurrent {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "Account maximum query concurrency limit of [{}] reached. Retry after your other queries complete.",
                    insights_state.options.max_concurrent
                ),
            ));
        }
        queries.insert(id.clone(), Arc::clone(&entry));
    }

    let job = Job {
        entry: Arc::clone(&entry),
        store: Arc::clone(&service.store),
        groups,
        account: ctx.account_id.clone(),
        query,
        start_ms,
        end_ms,
        limit,
        options: insights_state.options.clone(),
        running: Arc::clone(&insights_state.running),
        clock: service.clock.clone(),
    };
    let handle = insights_state.pool.spawn(job.run());
    *entry.task.lock() = Some(handle);
    Ok(StartQueryResponse { query_id: id })
}

/// One query's run on the pool.
struct Job {
    entry: Arc<QueryEntry>,
    store: Arc<LogStore>,
    groups: Vec<GroupInfo>,
    account: String,
    query: insights::Query,
    start_ms: i64,
    end_ms: i64,
    limit: usize,
    options: InsightsOptions,
    running: Arc<tokio::sync::Semaphore>,
    clock: SharedClock,
}

impl Job {
    async fn run(self) {
        let entry = Arc::clone(&self.entry);
        let deadline = tokio::time::Instant::from_std(entry.started + self.options.timeout);
        let (status, outcome) = match tokio::time::timeout_at(deadline, self.execute()).await {
            Ok(Ok((rows, statistics))) => (QueryStatus::Complete, Outcome { rows, statistics: Some(statistics) }),
            Ok(Err(exec::ExecError::Cancelled)) => (QueryStatus::Cancelled, Outcome::default()),
            Ok(Err(error)) => {
                warn!(query_id = %entry.id, %error, "Logs Insights query failed");
                (QueryStatus::Failed, Outcome::default())
            }
            Err(_) => {
                warn!(query_id = %entry.id, timeout = ?self.options.timeout, "Logs Insights query timed out");
                (QueryStatus::Timeout, Outcome::default())
            }
        };
        entry.finish(status, outcome);
    }

    async fn execute(&self) -> Result<(Vec<exec::ResultRow>, exec::Statistics), exec::ExecError> {
        let _permit = self.running.acquire().await.map_err(|_| exec::ExecError::Cancelled)?;
        {
            let mut status = self.entry.status.lock();
            if *status != QueryStatus::Scheduled {
                return Err(exec::ExecError::Cancelled);
            }
            *status = QueryStatus::Running;
        }
        let mut sources = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            // A group deleted since StartQuery has nothing left to read.
            if let Ok(snapshot) = self.store.snapshot(group.id) {
                sources.push(GroupSource { snapshot: Arc::new(snapshot), log: Arc::from(format!("{}:{}", self.account, group.name)) });
            }
        }
        let table = Arc::new(EventsTable::new(sources));
        let counters = Arc::clone(&table.counters);
        let mut options = exec::RunOptions::new(self.start_ms, self.end_ms);
        options.limit = self.limit;
        options.memory_limit = self.options.memory_limit;
        options.target_partitions = self.options.threads.max(1);
        options.cancel = Some(Arc::clone(&self.entry.cancel));
        options.now_ms = self.clock.now_millis();
        let output = exec::run(&self.query, table, &options).await?;
        let mut statistics = output.statistics;
        // The table counts message bytes even when the query does not read them.
        statistics.bytes_scanned = statistics.bytes_scanned.max(counters.message_bytes.load(Ordering::Relaxed));
        Ok((output.rows, statistics))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryIdRequest {
    query_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetQueryResultsRequest {
    query_id: String,
}

#[derive(Debug, Serialize)]
pub struct ResultField {
    field: String,
    value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStatistics {
    records_matched: f64,
    records_scanned: f64,
    bytes_scanned: f64,
    log_groups_scanned: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetQueryResultsResponse {
    query_language: String,
    results: Vec<Vec<ResultField>>,
    statistics: QueryStatistics,
    status: QueryStatus,
}

#[allow(clippy::cast_precision_loss)]
fn as_stat(value: u64) -> f64 {
    value as f64
}

pub fn results(service: &LogsService, ctx: &RequestContext, request: GetQueryResultsRequest) -> Result<GetQueryResultsResponse, ApiError> {
    let entry = service.insights.get(ctx, &request.query_id)?;
    let status = entry.status();
    let outcome = entry.outcome.lock();
    let results = if status == QueryStatus::Complete {
        outcome
            .rows
            .iter()
            .map(|row| row.iter().map(|(field, value)| ResultField { field: field.clone(), value: value.clone() }).collect())
            .collect()
    } else {
        Vec::new()
    };
    let stats = outcome.statistics.unwrap_or_default();
    Ok(GetQueryResultsResponse {
        query_language: entry.language.clone(),
        results,
        statistics: QueryStatistics {
            records_matched: as_stat(stats.records_matched),
            records_scanned: as_stat(stats.records_scanned),
            bytes_scanned: as_stat(stats.bytes_scanned),
            log_groups_scanned: as_stat(entry.group_count as u64),
        },
        status,
    })
}

#[derive(Debug, Serialize)]
pub struct StopQueryResponse {
    success: bool,
}

pub fn stop(service: &LogsService, ctx: &RequestContext, request: QueryIdRequest) -> Result<StopQueryResponse, ApiError> {
    let entry = service.insights.get(ctx, &request.query_id)?;
    if !entry.status().is_active() {
        return Err(invalid(format!("Query {} is not running; only a scheduled or running query can be stopped.", entry.id)));
    }
    entry.cancel.store(true, Ordering::Relaxed);
    entry.finish(QueryStatus::Cancelled, Outcome::default());
    if let Some(task) = entry.task.lock().take() {
        // Dropping the query's future stops DataFusion's work too.
        task.abort();
    }
    Ok(StopQueryResponse { success: true })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeQueriesRequest {
    log_group_name: Option<String>,
    status: Option<QueryStatus>,
    max_results: Option<usize>,
    next_token: Option<String>,
    query_language: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryInfo {
    query_language: String,
    query_id: String,
    query_string: String,
    status: QueryStatus,
    create_time: i64,
    log_group_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeQueriesResponse {
    queries: Vec<QueryInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe(service: &LogsService, ctx: &RequestContext, request: DescribeQueriesRequest) -> Result<DescribeQueriesResponse, ApiError> {
    service.insights.prune();
    let scope = scope(ctx);
    if let Some(name) = &request.log_group_name
        && service.store.group(&scope, name).is_none()
    {
        return Err(ApiError::not_found(super::messages::GROUP_NOT_FOUND));
    }
    let max = request.max_results.unwrap_or(1000).clamp(1, 1000);
    let skip = match &request.next_token {
        Some(token) => token.parse::<usize>().map_err(|_| invalid(super::messages::INVALID_TOKEN))?,
        None => 0,
    };
    let mut entries: Vec<Arc<QueryEntry>> = service
        .insights
        .queries
        .lock()
        .values()
        .filter(|entry| entry.scope == scope)
        .filter(|entry| request.log_group_name.as_ref().is_none_or(|name| *name == entry.log_group_name))
        .filter(|entry| request.status.is_none_or(|status| entry.status() == status))
        .filter(|entry| request.query_language.as_ref().is_none_or(|language| *language == entry.language))
        .cloned()
        .collect();
    // Newest first.
    entries.sort_by(|a, b| b.create_ms.cmp(&a.create_ms).then_with(|| b.started.cmp(&a.started)));
    let total = entries.len();
    let queries: Vec<QueryInfo> = entries
        .into_iter()
        .skip(skip)
        .take(max)
        .map(|entry| QueryInfo {
            query_language: entry.language.clone(),
            query_id: entry.id.clone(),
            query_string: entry.described.clone(),
            status: entry.status(),
            create_time: entry.create_ms,
            log_group_name: entry.log_group_name.clone(),
        })
        .collect();
    let next_token = (skip + queries.len() < total).then(|| (skip + queries.len()).to_string());
    Ok(DescribeQueriesResponse { queries, next_token })
}
