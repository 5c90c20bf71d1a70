"""CloudWatch Logs Insights through boto3 and the aws CLI: StartQuery /
GetQueryResults (the PACS queries, exact rows), the status lifecycle,
StopQuery, timeouts, DescribeQueries, GetLogRecord, GetLogGroupFields,
several groups in one query, memtable and flushed events, saved query
definitions, and bad input."""

import datetime
import json
import time

import pytest

from harness import REGION
from support import client_error, create_group, create_stream, now_ms, put

ACCOUNT = "000000000000"
HOUR = 3_600_000
MINUTE = 60_000


def fmt(millis):
    return datetime.datetime.fromtimestamp(millis / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def wait(logs, query_id, timeout=20.0):
    """Polls GetQueryResults until the query is finished; returns the last
    response and every status seen."""
    seen = []
    deadline = time.time() + timeout
    while True:
        response = logs.get_query_results(queryId=query_id)
        if not seen or seen[-1] != response["status"]:
            seen.append(response["status"])
        if response["status"] not in ("Scheduled", "Running"):
            return response, seen
        assert time.time() < deadline, f"query {query_id} still {response['status']}"
        time.sleep(0.02)


def rows(response, ptr=False):
    out = []
    for row in response["results"]:
        fields = {item["field"]: item["value"] for item in row}
        if not ptr:
            fields.pop("@ptr", None)
        out.append(fields)
    return out


def run(logs, query, start, end, **kwargs):
    query_id = logs.start_query(queryString=query, startTime=start // 1000, endTime=end // 1000, **kwargs)["queryId"]
    response, _ = wait(logs, query_id)
    assert response["status"] == "Complete", response
    return response


@pytest.fixture(scope="module")
def pacs(logs):
    """The PACS events of the engine's pacs.txt, placed in the last hours:
    `base` is a whole hour."""
    group = create_group(logs)
    base = (now_ms() // HOUR) * HOUR - 3 * HOUR
    events = {
        "pacs-1": [
            (base - 2 * MINUTE, "INFO DICOM processed study_uid=1.2.840.1 modality=CT"),
            (base + 1 * MINUTE, "INFO Request completed duration=120 path=/studies"),
            (base + 6 * MINUTE, "INFO Request completed duration=200 path=/studies"),
            (base + 30 * MINUTE, "INFO DICOM processed study_uid=1.2.840.3 modality=MR"),
        ],
        "pacs-2": [
            (base + 2 * MINUTE, "ERROR Storage failed study_uid=1.2.840.2"),
            (base + 3 * MINUTE, "INFO Request completed duration=80 path=/series"),
            (base + 60 * MINUTE, "INFO DICOM processed study_uid=1.2.840.4 modality=CT"),
            (base + 65 * MINUTE, "ERROR Request completed with ERROR duration=900"),
        ],
    }
    for stream, batch in events.items():
        create_stream(logs, group, stream)
        put(logs, group, stream, batch)
    return group, base, base - HOUR, base + 2 * HOUR


def test_pacs_errors_newest_first(logs, pacs):
    group, base, start, end = pacs
    response = run(logs, "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 100",
                   start, end, logGroupName=group)
    assert rows(response) == [
        {"@timestamp": fmt(base + 65 * MINUTE), "@message": "ERROR Request completed with ERROR duration=900"},
        {"@timestamp": fmt(base + 2 * MINUTE), "@message": "ERROR Storage failed study_uid=1.2.840.2"},
    ]
    assert all(item["field"] != "@ptr" or item["value"] for row in response["results"] for item in row)
    assert all(any(item["field"] == "@ptr" for item in row) for row in response["results"])
    stats = response["statistics"]
    assert stats["recordsMatched"] == 2
    assert stats["recordsScanned"] == 8
    assert stats["bytesScanned"] == sum(len(m) for m in [
        "INFO DICOM processed study_uid=1.2.840.1 modality=CT", "INFO Request completed duration=120 path=/studies",
        "INFO Request completed duration=200 path=/studies", "INFO DICOM processed study_uid=1.2.840.3 modality=MR",
        "ERROR Storage failed study_uid=1.2.840.2", "INFO Request completed duration=80 path=/series",
        "INFO DICOM processed study_uid=1.2.840.4 modality=CT", "ERROR Request completed with ERROR duration=900"])
    assert "encryptionKey" not in response


def test_pacs_average_duration_per_5_minutes(logs, pacs):
    group, base, start, end = pacs
    query = ("fields @timestamp, @message | filter @message like /Request completed/ "
             "| parse @message /duration=(?<duration>\\d+)/ | stats avg(duration) by bin(5m)")
    response = run(logs, query, start, end, logGroupName=group)
    assert rows(response) == [
        {"bin(5m)": fmt(base), "avg(duration)": "100"},
        {"bin(5m)": fmt(base + 5 * MINUTE), "avg(duration)": "200"},
        {"bin(5m)": fmt(base + 65 * MINUTE), "avg(duration)": "900"},
    ]
    assert response["statistics"]["recordsMatched"] == 4


def test_pacs_studies_per_hour_with_the_cli(aws, pacs):
    group, base, start, end = pacs
    query = ("fields @timestamp, @message | filter @message like /DICOM processed/ "
             "| parse @message /study_uid=(?<study_uid>\\S+)/ | stats count() by bin(1h)")
    started = aws.json("logs", "start-query", "--log-group-name", group, "--start-time", str(start // 1000),
                       "--end-time", str(end // 1000), "--query-string", query)
    for _ in range(200):
        response = aws.json("logs", "get-query-results", "--query-id", started["queryId"])
        if response["status"] not in ("Scheduled", "Running"):
            break
        time.sleep(0.05)
    assert response["status"] == "Complete"
    assert rows(response) == [
        {"bin(1h)": fmt(base - HOUR), "count()": "1"},
        {"bin(1h)": fmt(base), "count()": "1"},
        {"bin(1h)": fmt(base + HOUR), "count()": "1"},
    ]


def test_time_range_is_in_seconds_and_inclusive(logs, pacs):
    group, base, _, _ = pacs
    # From base+2min to base+3min: both ends' events are in.
    response = run(logs, "fields @message | sort @timestamp asc", base + 2 * MINUTE, base + 3 * MINUTE, logGroupName=group)
    assert [row["@message"] for row in rows(response)] == [
        "ERROR Storage failed study_uid=1.2.840.2", "INFO Request completed duration=80 path=/series"]


def test_default_fields_and_limit(logs, pacs):
    group, base, start, end = pacs
    response = run(logs, "filter @message like 'DICOM'", start, end, logGroupName=group, limit=2)
    got = rows(response, ptr=True)
    assert len(got) == 2
    # Newest first, with the default fields.
    assert got[0]["@message"] == "INFO DICOM processed study_uid=1.2.840.4 modality=CT"
    assert got[0]["@logStream"] == "pacs-2"
    assert got[0]["@log"] == f"{ACCOUNT}:{group}"
    assert got[0]["@timestamp"] == fmt(base + 60 * MINUTE)
    assert "@ptr" in got[0]


def test_status_lifecycle_and_describe_queries(logs, pacs):
    group, _, start, end = pacs
    query_id = logs.start_query(logGroupName=group, startTime=start // 1000, endTime=end // 1000,
                                queryString="fields @message")["queryId"]
    response, seen = wait(logs, query_id)
    order = ["Scheduled", "Running", "Complete"]
    assert seen[-1] == "Complete"
    assert [order.index(status) for status in seen] == sorted(order.index(status) for status in seen)
    assert response["queryLanguage"] == "CWLI"
    described = logs.describe_queries(logGroupName=group)["queries"]
    mine = [query for query in described if query["queryId"] == query_id]
    assert len(mine) == 1
    info = mine[0]
    assert info["status"] == "Complete"
    assert info["logGroupName"] == group
    assert info["queryLanguage"] == "CWLI"
    assert info["queryString"] == f'SOURCE "{group}" START={start // 1000}000 END={end // 1000}999 | fields @message'
    assert abs(info["createTime"] - now_ms()) < 60_000
    complete = logs.describe_queries(logGroupName=group, status="Complete")["queries"]
    assert query_id in [query["queryId"] for query in complete]
    assert logs.describe_queries(logGroupName=group, status="Scheduled")["queries"] == []
    first = logs.describe_queries(maxResults=1)
    assert len(first["queries"]) == 1 and "nextToken" in first
    second = logs.describe_queries(maxResults=1, nextToken=first["nextToken"])
    assert second["queries"][0]["queryId"] != first["queries"][0]["queryId"]


def test_get_log_record_from_ptr(logs):
    group = create_group(logs)
    stream = create_stream(logs, group, "app")
    at = now_ms() - 5_000
    message = json.dumps({"level": "error", "user": {"id": 42, "name": "ann"}, "msg": "boom"})
    put(logs, group, stream, [(at - 1, "plain line"), (at, message)])
    response = run(logs, "fields @timestamp, level | filter level = 'error'", at - 60_000, at + 60_000, logGroupName=group)
    got = rows(response, ptr=True)
    assert len(got) == 1 and got[0]["level"] == "error"
    record = logs.get_log_record(logRecordPointer=got[0]["@ptr"])["logRecord"]
    assert record["@message"] == message
    assert record["@timestamp"] == str(at)
    assert record["@logStream"] == "app"
    assert record["@log"] == f"{ACCOUNT}:{group}"
    assert int(record["@ingestionTime"]) >= at
    assert record["level"] == "error"
    assert record["user.id"] == "42"
    assert record["user.name"] == "ann"
    code, _, _ = client_error(logs.get_log_record, logRecordPointer="not-a-pointer")
    assert code == "InvalidParameterException"


def test_get_log_group_fields(logs, aws):
    group = create_group(logs)
    stream = create_stream(logs, group)
    at = now_ms() - 10_000
    put(logs, group, stream, [
        (at, json.dumps({"level": "info", "http": {"status": 200}})),
        (at + 1, json.dumps({"level": "warn"})),
        (at + 2, "not json"),
        (at + 3, json.dumps({"level": "info", "http": {"status": 500}})),
    ])
    fields = {field["name"]: field["percent"] for field in logs.get_log_group_fields(logGroupName=group)["logGroupFields"]}
    for system in ("@timestamp", "@message", "@logStream", "@log", "@ingestionTime"):
        assert fields[system] == 100
    assert fields["level"] == 75
    assert fields["http.status"] == 50
    by_cli = aws.json("logs", "get-log-group-fields", "--log-group-identifier",
                      f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}")
    assert {field["name"]: field["percent"] for field in by_cli["logGroupFields"]} == fields
    code, _, _ = client_error(logs.get_log_group_fields, logGroupName=group + "-missing")
    assert code == "ResourceNotFoundException"


def test_several_groups_in_one_query(logs):
    first, second = create_group(logs), create_group(logs)
    at = now_ms() - 30_000
    for index, group in enumerate((first, second)):
        stream = create_stream(logs, group)
        put(logs, group, stream, [(at + index, f"hello from {index}")])
    for kwargs in ({"logGroupNames": [first, second]},
                   {"logGroupIdentifiers": [first, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{second}"]}):
        response = run(logs, "fields @message, @log | sort @timestamp asc", at - 60_000, at + 60_000, **kwargs)
        assert rows(response) == [
            {"@message": "hello from 0", "@log": f"{ACCOUNT}:{first}"},
            {"@message": "hello from 1", "@log": f"{ACCOUNT}:{second}"},
        ]
        assert response["statistics"]["logGroupsScanned"] == 2


def test_memtable_and_flushed_events_are_both_found(logs, server):
    group = create_group(logs)
    stream = create_stream(logs, group)
    at = now_ms() - 60_000
    put(logs, group, stream, [(at + i, f"old event {i} ERROR" if i % 2 else f"old event {i}") for i in range(100)])
    server.flush()
    put(logs, group, stream, [(at + 1000 + i, f"new event {i} ERROR" if i % 2 else f"new event {i}") for i in range(50)])
    response = run(logs, "stats count(*) as n", at - 60_000, at + 60_000, logGroupName=group)
    assert rows(response) == [{"n": "150"}]
    response = run(logs, "filter @message like /ERROR/ | stats count(*) as n", at - 60_000, at + 60_000, logGroupName=group)
    assert rows(response) == [{"n": "75"}]
    response = run(logs, "fields @message | sort @timestamp desc | limit 3", at - 60_000, at + 60_000, logGroupName=group)
    assert [row["@message"] for row in rows(response)] == ["new event 49 ERROR", "new event 48", "new event 47 ERROR"]
    response = run(logs, "fields @message | sort @timestamp asc | limit 2", at - 60_000, at + 60_000, logGroupName=group)
    assert [row["@message"] for row in rows(response)] == ["old event 0", "old event 1 ERROR"]


def test_deleted_stream_events_are_hidden(logs, server):
    group = create_group(logs)
    keep, gone = create_stream(logs, group, "keep"), create_stream(logs, group, "gone")
    at = now_ms() - 60_000
    put(logs, group, keep, [(at, "kept")])
    put(logs, group, gone, [(at + 1, "deleted")])
    server.flush()
    logs.delete_log_stream(logGroupName=group, logStreamName=gone)
    response = run(logs, "fields @message", at - 60_000, at + 60_000, logGroupName=group)
    assert rows(response) == [{"@message": "kept"}]


def test_query_definitions_crud_with_the_cli(aws):
    prefix = f"argus-test-{time.time_ns()}"
    created = aws.json("logs", "put-query-definition", "--name", f"{prefix}/errors",
                       "--query-string", "fields @message | filter @message like /ERROR/",
                       "--log-group-names", "/app/a", "/app/b")
    definition_id = created["queryDefinitionId"]
    assert len(definition_id) == 36
    other = aws.json("logs", "put-query-definition", "--name", f"{prefix}/slow", "--query-string", "stats count(*)")
    listed = aws.json("logs", "describe-query-definitions", "--query-definition-name-prefix", prefix)["queryDefinitions"]
    assert [item["name"] for item in listed] == [f"{prefix}/errors", f"{prefix}/slow"]
    first = listed[0]
    assert first["queryDefinitionId"] == definition_id
    assert first["logGroupNames"] == ["/app/a", "/app/b"]
    assert first["queryString"] == "fields @message | filter @message like /ERROR/"
    assert abs(first["lastModified"] - now_ms()) < 60_000
    # Update in place.
    updated = aws.json("logs", "put-query-definition", "--name", f"{prefix}/errors", "--query-definition-id",
                       definition_id, "--query-string", "fields @message | limit 5")
    assert updated["queryDefinitionId"] == definition_id
    listed = aws.json("logs", "describe-query-definitions", "--query-definition-name-prefix", f"{prefix}/err")
    assert [item["queryString"] for item in listed["queryDefinitions"]] == ["fields @message | limit 5"]
    # Paging.
    page = aws.json("logs", "describe-query-definitions", "--query-definition-name-prefix", prefix, "--max-results", "1",
                    "--no-paginate")
    assert len(page["queryDefinitions"]) == 1 and "nextToken" in page
    rest = aws.json("logs", "describe-query-definitions", "--query-definition-name-prefix", prefix, "--max-results", "1",
                    "--next-token", page["nextToken"], "--no-paginate")
    assert [item["name"] for item in rest["queryDefinitions"]] == [f"{prefix}/slow"]
    # Unknown ids.
    assert "ResourceNotFoundException" in aws.error("logs", "put-query-definition", "--name", "x", "--query-definition-id",
                                                    "00000000-0000-0000-0000-000000000000", "--query-string", "fields @message")
    assert aws.json("logs", "delete-query-definition", "--query-definition-id", definition_id) == {"success": True}
    assert aws.json("logs", "delete-query-definition", "--query-definition-id", other["queryDefinitionId"])["success"]
    assert "ResourceNotFoundException" in aws.error("logs", "delete-query-definition", "--query-definition-id", definition_id)
    assert aws.json("logs", "describe-query-definitions", "--query-definition-name-prefix", prefix)["queryDefinitions"] == []


def test_malformed_query(logs, pacs):
    group, _, start, end = pacs
    query = "fields @message | stats count( by bin(5m)"
    try:
        logs.start_query(logGroupName=group, startTime=start // 1000, endTime=end // 1000, queryString=query)
    except logs.exceptions.MalformedQueryException as error:
        compile_error = error.response["queryCompileError"]
        location = compile_error["location"]
        assert location["startCharOffset"] == query.index(" by") + 1
        assert location["endCharOffset"] > location["startCharOffset"]
        assert "line 1" in compile_error["message"]
    else:
        raise AssertionError("expected MalformedQueryException")


def test_malformed_query_with_the_cli(aws, pacs):
    group, _, start, end = pacs
    stderr = aws.error("logs", "start-query", "--log-group-name", group, "--start-time", str(start // 1000),
                       "--end-time", str(end // 1000), "--query-string", "fields @message | frobnicate")
    assert "MalformedQueryException" in stderr


def test_bad_requests(logs, pacs):
    group, _, start, end = pacs
    base = {"startTime": start // 1000, "endTime": end // 1000, "queryString": "fields @message"}
    code, message, status = client_error(logs.start_query, logGroupName=group + "-missing", **base)
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert message == f"Log group '{group}-missing' does not exist for account ID '{ACCOUNT}'"
    code, _, _ = client_error(logs.start_query, logGroupName=group, queryString="fields @message",
                              startTime=end // 1000, endTime=start // 1000)
    assert code == "InvalidParameterException"
    code, _, _ = client_error(logs.start_query, **base)
    assert code == "InvalidParameterException"
    code, _, _ = client_error(logs.start_query, logGroupName=group, logGroupNames=[group], **base)
    assert code == "InvalidParameterException"
    code, message, _ = client_error(logs.start_query, logGroupName=group, queryLanguage="SQL", **base)
    assert code == "InvalidParameterException" and "not supported" in message
    code, _, _ = client_error(logs.start_query, logGroupName=group,
                              **{**base, "queryString": "fields @message | diff previousDay"})
    assert code == "MalformedQueryException"
    for call in (logs.get_query_results, logs.stop_query):
        code, _, _ = client_error(call, queryId="00000000-0000-0000-0000-000000000000")
        assert code == "ResourceNotFoundException"


@pytest.fixture(scope="module")
def big(logs):
    """A group big enough that an expensive query runs for a while."""
    group = create_group(logs)
    stream = create_stream(logs, group)
    at = now_ms() - 10 * MINUTE
    filler = "abcdefghij klmnopqrst uvwxyz0123 " * 30
    for batch in range(40):
        put(logs, group, stream, [(at + batch * 1000 + i, f"{batch} {i} {filler} end") for i in range(1000)])
    return group, at - MINUTE, at + 10 * MINUTE


SLOW = r"parse @message /(?<a>\w+)\s+(?<b>[a-z]+?)(?<c>.*?)(?<d>\d+)\s*end$/ | stats count_distinct(c) by a, d"


def test_stop_query(logs, big):
    group, start, end = big
    query_id = logs.start_query(logGroupName=group, startTime=start // 1000, endTime=end // 1000, queryString=SLOW)["queryId"]
    assert logs.get_query_results(queryId=query_id)["status"] in ("Scheduled", "Running")
    assert logs.stop_query(queryId=query_id)["success"] is True
    response, _ = wait(logs, query_id)
    assert response["status"] == "Cancelled"
    assert response["results"] == []
    code, _, _ = client_error(logs.stop_query, queryId=query_id)
    assert code == "InvalidParameterException"


def test_concurrent_query_limit(logs, big):
    group, start, end = big
    started = [logs.start_query(logGroupName=group, startTime=start // 1000, endTime=end // 1000,
                                queryString=SLOW)["queryId"] for _ in range(30)]
    try:
        code, message, _ = client_error(logs.start_query, logGroupName=group, startTime=start // 1000,
                                        endTime=end // 1000, queryString=SLOW)
        assert code == "LimitExceededException"
        assert "30" in message
        running = {query["queryId"] for query in logs.describe_queries(logGroupName=group, status="Running")["queries"]}
        scheduled = {query["queryId"] for query in logs.describe_queries(logGroupName=group, status="Scheduled")["queries"]}
        assert 1 <= len(running) <= 2 and len(running | scheduled) >= 28 and running | scheduled <= set(started)
    finally:
        for query_id in started:
            try:
                logs.stop_query(queryId=query_id)
            except logs.exceptions.InvalidParameterException:
                pass  # finished already
    statuses = [wait(logs, query_id)[0]["status"] for query_id in started]
    assert statuses.count("Cancelled") >= 28 and set(statuses) <= {"Cancelled", "Complete"}


def test_timeout(server_factory):
    server = server_factory("--insights-query-timeout-secs", "0.2")
    from conftest import make_client
    logs = make_client(server, "logs")
    group = create_group(logs)
    stream = create_stream(logs, group)
    at = now_ms() - 10 * MINUTE
    filler = "abcdefghij klmnopqrst uvwxyz0123 " * 30
    for batch in range(40):
        put(logs, group, stream, [(at + batch * 1000 + i, f"{batch} {i} {filler} end") for i in range(1000)])
    query_id = logs.start_query(logGroupName=group, startTime=(at - MINUTE) // 1000, endTime=(at + 10 * MINUTE) // 1000,
                                queryString=SLOW)["queryId"]
    response, _ = wait(logs, query_id)
    assert response["status"] == "Timeout"
