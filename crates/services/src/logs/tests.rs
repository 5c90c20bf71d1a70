//! Handler-level tests of the logs service over a real store in a temp dir
//! (the protocol-level tests run the real binary under the aws CLI and
//! boto3; see tests/ at the repository root).

use std::sync::Arc;

use argus_core::{ErrorCode, ManualClock, RequestContext, SharedClock};
use argus_storage::SqliteCatalog;
use argus_storage::logs::{LogStore, LogStoreOptions};
use argus_storage::metrics::{MetricStore, MetricStoreOptions};
use argus_storage::objects::ObjectStorage;
use argus_storage::wal::{FsyncPolicy, WalOptions};
use serde_json::{Value, json};

use super::LogsService;
use crate::AwsService;

struct Harness {
    service: LogsService,
    ctx: RequestContext,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Arc::new(SqliteCatalog::open(&dir.path().join("catalog.sqlite")).expect("catalog"));
    let objects = ObjectStorage::local(&dir.path().join("objects")).expect("objects");
    let mut wal = WalOptions::new(dir.path().join("wal"));
    wal.fsync = FsyncPolicy::Never;
    let clock = Arc::new(ManualClock::new());
    let shared: SharedClock = clock.clone();
    let store = LogStore::open(catalog.clone(), objects.clone(), wal, LogStoreOptions::new(shared.clone())).await.expect("store");
    let mut metrics_wal = WalOptions::new(dir.path().join("metrics-wal"));
    metrics_wal.fsync = FsyncPolicy::Never;
    let metric_store =
        MetricStore::open(catalog.clone(), objects, metrics_wal, MetricStoreOptions::new(shared.clone())).await.expect("metrics");
    Harness {
        service: LogsService::new(store, metric_store, catalog.clone(), catalog, Default::default(), shared).expect("service"),
        ctx: RequestContext::new("000000000000", "us-east-1"),
        clock,
        _dir: dir,
    }
}

impl Harness {
    async fn call(&self, operation: &str, input: Value) -> Result<Value, argus_core::ApiError> {
        self.service.call(&self.ctx, operation, input).await
    }

    async fn ok(&self, operation: &str, input: Value) -> Value {
        self.call(operation, input).await.unwrap_or_else(|error| panic!("{operation} failed: {error}"))
    }

    fn now(&self) -> i64 {
        use argus_core::Clock;
        self.clock.now_millis()
    }
}

#[tokio::test]
async fn group_and_stream_lifecycle_with_aws_errors() {
    let h = harness().await;
    h.ok("CreateLogGroup", json!({"logGroupName": "/app/api", "tags": {"env": "test"}})).await;
    let duplicate = h.call("CreateLogGroup", json!({"logGroupName": "/app/api"})).await.expect_err("duplicate");
    assert_eq!(duplicate.code, ErrorCode::ResourceAlreadyExists);
    assert_eq!(duplicate.message, "The specified log group already exists");

    let groups = h.ok("DescribeLogGroups", json!({})).await;
    let group = &groups["logGroups"][0];
    assert_eq!(group["logGroupName"], "/app/api");
    assert_eq!(group["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:/app/api:*");
    assert_eq!(group["logGroupArn"], "arn:aws:logs:us-east-1:000000000000:log-group:/app/api");
    assert_eq!(group["logGroupClass"], "STANDARD");
    assert_eq!(group["storedBytes"], 0);

    let missing = h.call("CreateLogStream", json!({"logGroupName": "/nope", "logStreamName": "s"})).await.expect_err("no group");
    assert_eq!((missing.code, missing.message.as_str()), (ErrorCode::ResourceNotFound, "The specified log group does not exist."));
    h.ok("CreateLogStream", json!({"logGroupName": "/app/api", "logStreamName": "s1"})).await;
    let again = h.call("CreateLogStream", json!({"logGroupName": "/app/api", "logStreamName": "s1"})).await.expect_err("dup");
    assert_eq!(again.message, "The specified log stream already exists");

    let retention = h.call("PutRetentionPolicy", json!({"logGroupName": "/app/api", "retentionInDays": 2})).await.expect_err("bad days");
    assert_eq!(retention.code, ErrorCode::InvalidParameter);
    assert!(retention.message.contains("Member must satisfy enum value set: [1, 3, 5, 7, 14"), "{}", retention.message);
    h.ok("PutRetentionPolicy", json!({"logGroupName": "/app/api", "retentionInDays": 30})).await;
    assert_eq!(h.ok("DescribeLogGroups", json!({})).await["logGroups"][0]["retentionInDays"], 30);
    h.ok("DeleteRetentionPolicy", json!({"logGroupName": "/app/api"})).await;
    assert!(h.ok("DescribeLogGroups", json!({})).await["logGroups"][0].get("retentionInDays").is_none());

    h.ok("DeleteLogStream", json!({"logGroupName": "/app/api", "logStreamName": "s1"})).await;
    let gone = h.call("DeleteLogStream", json!({"logGroupName": "/app/api", "logStreamName": "s1"})).await.expect_err("gone");
    assert_eq!(gone.message, "The specified log stream does not exist.");
    h.ok("DeleteLogGroup", json!({"logGroupName": "/app/api"})).await;
    let gone = h.call("DeleteLogGroup", json!({"logGroupName": "/app/api"})).await.expect_err("gone");
    assert_eq!(gone.code, ErrorCode::ResourceNotFound);
}

#[tokio::test]
async fn describe_log_groups_filters_and_pages() {
    let h = harness().await;
    for name in ["/aws/ecs/a", "/aws/ecs/b", "/aws/lambda/c", "/other/DataLogs"] {
        h.ok("CreateLogGroup", json!({"logGroupName": name})).await;
    }
    let names = |value: &Value| -> Vec<String> {
        value["logGroups"].as_array().expect("array").iter().map(|g| g["logGroupName"].as_str().expect("name").to_string()).collect()
    };
    assert_eq!(names(&h.ok("DescribeLogGroups", json!({"logGroupNamePrefix": "/aws/ecs"})).await), ["/aws/ecs/a", "/aws/ecs/b"]);
    assert_eq!(names(&h.ok("DescribeLogGroups", json!({"logGroupNamePattern": "DataLogs"})).await), ["/other/DataLogs"]);
    assert!(names(&h.ok("DescribeLogGroups", json!({"logGroupNamePattern": "datalogs"})).await).is_empty());
    let both = h.call("DescribeLogGroups", json!({"logGroupNamePrefix": "/a", "logGroupNamePattern": "b"})).await.expect_err("exclusive");
    assert_eq!(both.message, "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"limit": 3});
        if let Some(token) = &token {
            input["nextToken"] = json!(token);
        }
        let page = h.ok("DescribeLogGroups", input).await;
        seen.extend(names(&page));
        match page.get("nextToken").and_then(Value::as_str) {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["/aws/ecs/a", "/aws/ecs/b", "/aws/lambda/c", "/other/DataLogs"]);
    let bad = h.call("DescribeLogGroups", json!({"nextToken": "garbage"})).await.expect_err("bad token");
    assert_eq!(bad.message, "The specified nextToken is invalid.");
}

#[tokio::test]
async fn put_log_events_enforces_order_span_size_and_age_rules() {
    let h = harness().await;
    h.ok("CreateLogGroup", json!({"logGroupName": "g"})).await;
    h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "s"})).await;
    let now = h.now();
    let put = |events: Value| json!({"logGroupName": "g", "logStreamName": "s", "logEvents": events});

    let unordered = h.call("PutLogEvents", put(json!([{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}]))).await.expect_err("order");
    assert_eq!(unordered.message, "Log events in a single PutLogEvents request must be in chronological order.");
    let span = h.call("PutLogEvents", put(json!([{"timestamp": now - 25 * 3_600_000, "message": "a"}, {"timestamp": now, "message": "b"}]))).await.expect_err("span");
    assert_eq!(span.message, "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
    let big = "x".repeat(600_000);
    let too_big = h.call("PutLogEvents", put(json!([{"timestamp": now, "message": big}, {"timestamp": now, "message": big}]))).await.expect_err("size");
    assert_eq!(too_big.message, "Upload too large: 1200052 bytes exceeds limit of 1048576");

    // The 24-hour span rule means too-old and accepted events cannot share a batch.
    let ancient = now - 15 * 86_400_000;
    let response = h.ok("PutLogEvents", put(json!([{"timestamp": ancient, "message": "a"}, {"timestamp": ancient + 1, "message": "b"}]))).await;
    assert_eq!(response["rejectedLogEventsInfo"], json!({"tooOldLogEventEndIndex": 2}));
    let response = h
        .ok("PutLogEvents", put(json!([{"timestamp": now, "message": "kept"}, {"timestamp": now + 3 * 3_600_000, "message": "future"}])))
        .await;
    assert_eq!(response["rejectedLogEventsInfo"], json!({"tooNewLogEventStartIndex": 1}));
    assert!(response["nextSequenceToken"].as_str().is_some_and(|token| token.len() == 56));
    let events = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s"})).await;
    let messages: Vec<&str> = events["events"].as_array().expect("events").iter().map(|e| e["message"].as_str().expect("m")).collect();
    assert_eq!(messages, ["kept"]);
}

#[tokio::test]
async fn get_log_events_tokens_follow_aws_semantics() {
    let h = harness().await;
    h.ok("CreateLogGroup", json!({"logGroupName": "g"})).await;
    h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "s"})).await;
    let now = h.now();
    let batch: Vec<Value> = (0..10).map(|i| json!({"timestamp": now + i, "message": format!("m{i}")})).collect();
    h.ok("PutLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "logEvents": batch})).await;
    let messages = |value: &Value| -> Vec<String> {
        value["events"].as_array().expect("events").iter().map(|e| e["message"].as_str().expect("m").to_string()).collect()
    };

    // Without a token and startFromHead=false: the newest events.
    let tail = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "limit": 3})).await;
    assert_eq!(messages(&tail), ["m7", "m8", "m9"]);
    // Walking backward from there reaches the start, then the same token comes back.
    let mut backward = tail["nextBackwardToken"].as_str().expect("token").to_string();
    let mut older = Vec::new();
    loop {
        let page = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "limit": 3, "nextToken": backward})).await;
        let next = page["nextBackwardToken"].as_str().expect("token").to_string();
        if next == backward {
            assert!(messages(&page).is_empty());
            break;
        }
        let mut chunk = messages(&page);
        chunk.extend(older);
        older = chunk;
        backward = next;
    }
    assert_eq!(older, ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);

    // From the head, forward: pages in order, then the same token at the end.
    let mut forward: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let mut input = json!({"logGroupName": "g", "logStreamName": "s", "limit": 4, "startFromHead": true});
        if let Some(token) = &forward {
            input["nextToken"] = json!(token);
        }
        let page = h.ok("GetLogEvents", input).await;
        let next = page["nextForwardToken"].as_str().expect("token").to_string();
        all.extend(messages(&page));
        if forward.as_deref() == Some(next.as_str()) {
            break;
        }
        forward = Some(next);
    }
    assert_eq!(all.len(), 10);
    assert_eq!(all.first().map(String::as_str), Some("m0"));

    // New events show up for a client tailing with the forward token.
    h.ok("PutLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": now + 20, "message": "late"}]})).await;
    let page = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "nextToken": forward})).await;
    assert_eq!(messages(&page), ["late"]);

    // Time bounds: startTime inclusive, endTime exclusive.
    let bounded = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "startTime": now + 2, "endTime": now + 5, "startFromHead": true})).await;
    assert_eq!(messages(&bounded), ["m2", "m3", "m4"]);
    let bad = h.call("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "nextToken": "f/123"})).await.expect_err("bad token");
    assert_eq!(bad.message, "The specified nextToken is invalid.");
}

#[tokio::test]
async fn filter_log_events_merges_streams_and_pages_exactly() {
    let h = harness().await;
    h.ok("CreateLogGroup", json!({"logGroupName": "g"})).await;
    let now = h.now();
    for (stream, offset) in [("web-1", 0), ("web-2", 1), ("worker", 2)] {
        h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": stream})).await;
        let batch: Vec<Value> = (0..20)
            .map(|i| json!({"timestamp": now + i * 3 + offset, "message": format!("{stream} {} item {i}", if i % 4 == 0 { "ERROR" } else { "INFO" })}))
            .collect();
        h.ok("PutLogEvents", json!({"logGroupName": "g", "logStreamName": stream, "logEvents": batch})).await;
    }
    let whole = h.ok("FilterLogEvents", json!({"logGroupName": "g", "filterPattern": "ERROR"})).await;
    let events = whole["events"].as_array().expect("events");
    assert_eq!(events.len(), 15);
    let stamps: Vec<i64> = events.iter().map(|e| e["timestamp"].as_i64().expect("ts")).collect();
    assert!(stamps.windows(2).all(|pair| pair[0] <= pair[1]), "timestamp order across streams");
    assert!(whole.get("nextToken").is_none());

    let web = h.ok("FilterLogEvents", json!({"logGroupName": "g", "logStreamNamePrefix": "web", "filterPattern": "ERROR -\"web-2\""})).await;
    let web_events = web["events"].as_array().expect("events");
    assert_eq!(web_events.len(), 5);
    assert!(web_events.iter().all(|e| e["logStreamName"] == "web-1"));

    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"logGroupName": "g", "filterPattern": "ERROR", "limit": 4});
        if let Some(token) = &token {
            input["nextToken"] = json!(token);
        }
        let page = h.ok("FilterLogEvents", input).await;
        paged.extend(page["events"].as_array().expect("events").iter().map(|e| e["eventId"].clone()));
        match page.get("nextToken").and_then(Value::as_str) {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    let unpaged: Vec<Value> = events.iter().map(|e| e["eventId"].clone()).collect();
    assert_eq!(paged, unpaged);

    let json = h.ok("FilterLogEvents", json!({"logGroupName": "g", "filterPattern": "{ $.a = 1 }"})).await;
    assert!(json["events"].as_array().expect("events").is_empty(), "no event is JSON");
    let invalid = h.call("FilterLogEvents", json!({"logGroupName": "g", "filterPattern": "{ $.a = }"})).await.expect_err("invalid");
    assert_eq!(invalid.code, ErrorCode::InvalidParameter);
}

#[tokio::test]
async fn tags_by_name_and_by_arn_are_one_set() {
    let h = harness().await;
    h.ok("CreateLogGroup", json!({"logGroupName": "g", "tags": {"env": "testing1"}})).await;
    let arn = "arn:aws:logs:us-east-1:000000000000:log-group:g";
    h.ok("TagResource", json!({"resourceArn": arn, "tags": {"test1": "val1", "test2": "val2"}})).await;
    h.ok("TagLogGroup", json!({"logGroupName": "g", "tags": {"test3": "val3"}})).await;
    let expected = json!({"env": "testing1", "test1": "val1", "test2": "val2", "test3": "val3"});
    assert_eq!(h.ok("ListTagsLogGroup", json!({"logGroupName": "g"})).await["tags"], expected);
    assert_eq!(h.ok("ListTagsForResource", json!({"resourceArn": format!("{arn}:*")})).await["tags"], expected);
    h.ok("UntagResource", json!({"resourceArn": arn, "tagKeys": ["env", "test1"]})).await;
    h.ok("UntagLogGroup", json!({"logGroupName": "g", "tags": ["test3"]})).await;
    assert_eq!(h.ok("ListTagsForResource", json!({"resourceArn": arn})).await["tags"], json!({"test2": "val2"}));
    let many: serde_json::Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let too_many = h.call("TagResource", json!({"resourceArn": arn, "tags": many})).await.expect_err("51 tags");
    assert_eq!(too_many.code, ErrorCode::TooManyTags);
    let other_region = h.call("ListTagsForResource", json!({"resourceArn": "arn:aws:logs:eu-west-1:000000000000:log-group:g"})).await.expect_err("region");
    assert_eq!(other_region.code, ErrorCode::ResourceNotFound);
}
