"""FilterLogEvents through boto3: group by name or identifier, stream
selection, time range, limit, paging, plain-term filter patterns, events
merged across streams."""

import pytest

from harness import REGION
from support import EVENT_OVERHEAD, MAX_BATCH_BYTES, client_error, create_group, create_stream, filter_all, now_ms, put

ACCOUNT = "000000000000"

MESSAGES = {
    "api-1": ["GET /users 200 12ms", "ERROR database timeout", "GET /orders 200 8ms",
              "WARN slow query", "POST /orders 500 ERROR"],
    "api-2": ["GET /health 200 1ms", "Request completed in 5ms", "ERROR: disk full",
              "Request was completed", "INFO shutdown"],
    "worker": ["job started id=7", "job failed ERROR retrying", "job done id=7",
               'said "hello world" loudly', "hello-world joined"],
}


@pytest.fixture(scope="module")
def group(logs):
    """Three streams with interleaved timestamps: event i of stream k is at
    base + 3*i + k, so merged order alternates between streams."""
    group = create_group(logs)
    base = now_ms() - 120_000
    expected = []
    for k, (stream, messages) in enumerate(MESSAGES.items()):
        create_stream(logs, group, stream)
        events = [(base + 3 * i + k, message) for i, message in enumerate(messages)]
        put(logs, group, stream, events)
        expected += [(timestamp, stream, message) for timestamp, message in events]
    create_stream(logs, group, "empty")
    return group, base, sorted(expected)


def triples(events):
    return [(event["timestamp"], event["logStreamName"], event["message"]) for event in events]


def test_all_events_merged_in_timestamp_order(logs, group):
    name, _, expected = group
    response = logs.filter_log_events(logGroupName=name)
    assert triples(response["events"]) == expected
    assert "nextToken" not in response
    for event in response["events"]:
        assert set(event) >= {"logStreamName", "timestamp", "message", "ingestionTime", "eventId"}
    assert len({event["eventId"] for event in response["events"]}) == len(expected)


def test_group_by_identifier_name_and_arn(logs, group):
    name, _, expected = group
    by_name = logs.filter_log_events(logGroupIdentifier=name)
    by_arn = logs.filter_log_events(logGroupIdentifier=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}")
    assert triples(by_name["events"]) == triples(by_arn["events"]) == expected


def test_name_and_identifier_together_or_neither(logs, group):
    name, _, _ = group
    assert client_error(logs.filter_log_events, logGroupName=name, logGroupIdentifier=name) == (
        "ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.", 400)
    code, _, status = client_error(logs.filter_log_events)
    assert (code, status) == ("InvalidParameterException", 400)


def test_missing_group(logs, name):
    assert client_error(logs.filter_log_events, logGroupName=name) == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)


def test_arn_of_another_account_or_region_is_not_found(logs, group):
    name, _, _ = group
    for arn in (f"arn:aws:logs:{REGION}:111111111111:log-group:{name}",
                f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:{name}"):
        assert client_error(logs.filter_log_events, logGroupIdentifier=arn)[0] == "ResourceNotFoundException"


def test_log_stream_names(logs, group):
    name, _, expected = group
    response = logs.filter_log_events(logGroupName=name, logStreamNames=["worker", "api-1"])
    assert triples(response["events"]) == [e for e in expected if e[1] in ("worker", "api-1")]


def test_log_stream_name_prefix(logs, group):
    name, _, expected = group
    response = logs.filter_log_events(logGroupName=name, logStreamNamePrefix="api-")
    assert triples(response["events"]) == [e for e in expected if e[1].startswith("api-")]
    assert logs.filter_log_events(logGroupName=name, logStreamNamePrefix="nothing")["events"] == []


def test_stream_names_and_prefix_together_are_refused(logs, group):
    name, _, _ = group
    code, message, status = client_error(logs.filter_log_events, logGroupName=name, logStreamNames=["api-1"],
                                         logStreamNamePrefix="api")
    assert (code, status) == ("InvalidParameterException", 400)
    assert "mutually exclusive" in message


def test_time_range_is_inclusive_at_both_ends(logs, group):
    name, base, expected = group
    response = logs.filter_log_events(logGroupName=name, startTime=base + 3, endTime=base + 7)
    assert triples(response["events"]) == [e for e in expected if base + 3 <= e[0] <= base + 7]
    assert [e[0] - base for e in triples(response["events"])] == [3, 4, 5, 6, 7]


@pytest.mark.parametrize("pattern, expected_messages", [
    ("ERROR", ["ERROR database timeout", "ERROR: disk full", "job failed ERROR retrying", "POST /orders 500 ERROR"]),
    ("error", []),
    ("GET 200", ["GET /users 200 12ms", "GET /health 200 1ms", "GET /orders 200 8ms"]),
    ('"Request completed"', ["Request completed in 5ms"]),
    ("Request completed", ["Request completed in 5ms", "Request was completed"]),
    ('"hello world"', ['said "hello world" loudly']),
    ("?WARN ?timeout", ["ERROR database timeout", "WARN slow query"]),
    ("ERROR -job", ["ERROR database timeout", "ERROR: disk full", "POST /orders 500 ERROR"]),
    ("ERROR -job -disk", ["ERROR database timeout", "POST /orders 500 ERROR"]),
    ("job -ERROR", ["job started id=7", "job done id=7"]),
    ('"id=7" ?started ?done', ["job started id=7", "job done id=7"]),
    ('"hello-world"', ["hello-world joined"]),
    ("", None),
    ('" "', None),
])
def test_plain_term_patterns(logs, group, pattern, expected_messages):
    name, _, expected = group
    response = logs.filter_log_events(logGroupName=name, filterPattern=pattern)
    found = [event["message"] for event in response["events"]]
    if expected_messages is None:
        assert found == [e[2] for e in expected]
    else:
        assert found == [e[2] for e in expected if e[2] in expected_messages]
        assert sorted(found) == sorted(expected_messages)


def test_unterminated_quote_is_refused(logs, group):
    name, _, _ = group
    code, _, status = client_error(logs.filter_log_events, logGroupName=name, filterPattern='"open')
    assert (code, status) == ("InvalidParameterException", 400)


def test_limit(logs, group):
    name, _, expected = group
    response = logs.filter_log_events(logGroupName=name, limit=4)
    assert triples(response["events"]) == expected[:4]
    assert response["nextToken"]


@pytest.mark.parametrize("limit", [1, 2, 4, 7, 14, 15, 100])
@pytest.mark.parametrize("request_filter", [
    {},
    {"filterPattern": "ERROR"},
    {"logStreamNamePrefix": "api"},
    {"logStreamNames": ["worker", "api-2"], "filterPattern": "?job ?Request"},
], ids=["all", "pattern", "prefix", "names+pattern"])
def test_paging_returns_exactly_the_unpaged_events(logs, group, limit, request_filter):
    name, base, _ = group
    unpaged = triples(logs.filter_log_events(logGroupName=name, **request_filter)["events"])
    assert unpaged
    paged, pages = filter_all(logs, logGroupName=name, limit=limit, **request_filter)
    assert triples(paged) == unpaged
    assert pages >= -(-len(unpaged) // limit)


def test_paging_keeps_the_time_range(logs, group):
    name, base, expected = group
    paged, _ = filter_all(logs, logGroupName=name, startTime=base + 2, endTime=base + 10, limit=2)
    assert triples(paged) == [e for e in expected if base + 2 <= e[0] <= base + 10]


def test_boto3_paginator(logs, group):
    name, _, expected = group
    paginator = logs.get_paginator("filter_log_events")
    pages = list(paginator.paginate(logGroupName=name, PaginationConfig={"PageSize": 4}))
    assert len(pages) >= 4
    assert triples([e for page in pages for e in page["events"]]) == expected


def test_token_of_another_group_is_refused(logs, group):
    name, _, _ = group
    other = create_group(logs)
    stream = create_stream(logs, other)
    now = now_ms()
    put(logs, other, stream, [(now, "a"), (now, "b")])
    token = logs.filter_log_events(logGroupName=other, limit=1)["nextToken"]
    assert client_error(logs.filter_log_events, logGroupName=name, nextToken=token) == (
        "InvalidParameterException", "The specified nextToken is invalid.", 400)


def test_garbage_token_is_refused(logs, group):
    name, _, _ = group
    assert client_error(logs.filter_log_events, logGroupName=name, nextToken="garbage") == (
        "InvalidParameterException", "The specified nextToken is invalid.", 400)


@pytest.mark.parametrize("limit", [0, 10001])
def test_limit_out_of_range(logs_unchecked, group, limit):
    name, _, _ = group
    code, message, status = client_error(logs_unchecked.filter_log_events, logGroupName=name, limit=limit)
    assert (code, status) == ("InvalidParameterException", 400)
    assert f"Value '{limit}' at 'limit' failed to satisfy constraint" in message


def test_many_events_with_one_timestamp_across_streams_page_exactly(logs):
    group = create_group(logs)
    now = now_ms()
    for stream in ("a", "b", "c"):
        create_stream(logs, group, stream)
        put(logs, group, stream, [(now, f"{stream}{index:02}") for index in range(30)])
    unpaged = triples(logs.filter_log_events(logGroupName=group)["events"])
    assert len(unpaged) == 90
    for limit in (1, 8, 29, 31):
        paged, _ = filter_all(logs, logGroupName=group, limit=limit)
        assert triples(paged) == unpaged, limit


def test_response_stays_under_1_mb(logs):
    group = create_group(logs)
    now = now_ms() - 60_000
    expected = []
    for k, stream in enumerate(("one", "two")):
        create_stream(logs, group, stream)
        events = [(now + 2 * index + k, f"{stream}-{index:03} " + "z" * 150_000) for index in range(12)]
        for start in range(0, 12, 6):
            put(logs, group, stream, events[start:start + 6])
        expected += [(t, stream, m) for t, m in events]
    first = logs.filter_log_events(logGroupName=group)
    assert sum(len(e["message"].encode()) + EVENT_OVERHEAD for e in first["events"]) <= MAX_BATCH_BYTES
    assert first["nextToken"] and 0 < len(first["events"]) < 24
    paged, _ = filter_all(logs, logGroupName=group)
    assert triples(paged) == sorted(expected)
