"""Paging FilterLogEvents to the end: the CLI's auto-pagination, the CLI's
own `--max-items` / `--starting-token`, boto3's paginator, and a property
test (hypothesis): for any page size and any pattern of a fixed list,
the pages put together are exactly one unpaged call, in order. The group's
events sit partly in segment files and partly in memory, with timestamps
shared across streams, so every page boundary has a merge to resume."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import filter_all, now_ms, put

STREAMS = ["svc-a", "svc-b", "svc-c", "svc-d"]
PATTERNS = [
    "",
    "ERROR",
    "?WARN ?ERROR",
    "-INFO",
    'ERROR -"svc-a"',
    '"req-1"',
    "{ $.latency > 500 }",
    '{ $.level = "ERROR" || $.latency < 100 }',
    "[level = ERROR || level = WARN, ...]",
    "[level, service, request, latency > 700]",
    "%req-[0-9]*7%",
    "nothing-has-this",
]
EVENTS_PER_STREAM = 60


def message(stream, index):
    level = ["INFO", "WARN", "ERROR", "INFO", "DEBUG"][index % 5]
    latency = (index * 37 + len(stream) * 11) % 1000
    if index % 3 == 0:
        return f'{{"level":"{level}","service":"{stream}","request":"req-{index}","latency":{latency}}}'
    return f"{level} {stream} req-{index} {latency}"


def triples(events):
    return [(event["timestamp"], event["logStreamName"], event["message"]) for event in events]


@pytest.fixture(scope="module")
def group(server, logs):
    """Four streams; event i of every stream at base + 10 * (i // 2), so
    pairs of events and all four streams share timestamps. The first half
    of each stream is flushed to a segment file, the second stays in memory;
    their timestamps interleave."""
    name = f"/argus-test/paging/{now_ms()}"
    logs.create_log_group(logGroupName=name)
    base = now_ms() - 30 * 60 * 1000
    by_stream = {stream: [(base + 10 * (i // 2), message(stream, i)) for i in range(EVENTS_PER_STREAM)]
                 for stream in STREAMS}
    for stream in STREAMS:
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
        put(logs, name, stream, by_stream[stream][0::2])
    server.flush()
    for stream in STREAMS:
        put(logs, name, stream, by_stream[stream][1::2])
    return name, base


def unpaged(logs, **request):
    response = logs.filter_log_events(**request)
    assert "nextToken" not in response
    return triples(response["events"])


def test_the_fixture_events_are_all_there(logs, group):
    name, _ = group
    everything = unpaged(logs, logGroupName=name)
    assert len(everything) == len(STREAMS) * EVENTS_PER_STREAM
    assert everything == sorted(everything, key=lambda event: event[0])
    for pattern in PATTERNS[1:-1]:
        matched = unpaged(logs, logGroupName=name, filterPattern=pattern)
        assert 0 < len(matched) < len(everything), pattern
    assert unpaged(logs, logGroupName=name, filterPattern="nothing-has-this") == []


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    limit=st.integers(min_value=1, max_value=50),
    pattern=st.sampled_from(PATTERNS),
    streams=st.one_of(st.none(), st.lists(st.sampled_from(STREAMS), min_size=1, max_size=3, unique=True)),
    window=st.one_of(st.none(), st.tuples(st.integers(0, 300), st.integers(0, 300))),
)
def test_pages_put_together_are_one_unpaged_call(logs, group, limit, pattern, streams, window):
    name, base = group
    request = {"logGroupName": name, "filterPattern": pattern}
    if streams is not None:
        request["logStreamNames"] = streams
    if window is not None:
        request["startTime"], request["endTime"] = base + min(window), base + max(window)
    expected = unpaged(logs, **request)
    paged, pages = filter_all(logs, limit=limit, **request)
    assert triples(paged) == expected
    assert len({event["eventId"] for event in paged}) == len(paged)
    assert pages >= -(-len(expected) // limit)


@pytest.mark.parametrize("pattern", ["ERROR", "{ $.latency > 500 }", "[level = ERROR || level = WARN, ...]"])
def test_boto3_paginator_returns_every_match_once(logs, group, pattern):
    name, _ = group
    expected = unpaged(logs, logGroupName=name, filterPattern=pattern)
    paginator = logs.get_paginator("filter_log_events")
    pages = list(paginator.paginate(logGroupName=name, filterPattern=pattern, PaginationConfig={"PageSize": 7}))
    assert len(pages) >= len(expected) // 7
    assert triples([event for page in pages for event in page["events"]]) == expected


def test_cli_auto_pagination_returns_every_match_once(aws, logs, group):
    name, _ = group
    expected = unpaged(logs, logGroupName=name, filterPattern="?WARN ?ERROR")
    output = aws.json("logs", "filter-log-events", "--log-group-name", name, "--filter-pattern=?WARN ?ERROR",
                      "--page-size", "9")
    assert triples(output["events"]) == expected
    assert "nextToken" not in output and "NextToken" not in output


def test_cli_max_items_and_starting_token_walk_to_the_end(aws, logs, group):
    name, _ = group
    expected = unpaged(logs, logGroupName=name, filterPattern="{ $.latency > 500 }")
    walked, token, calls = [], None, 0
    while True:
        args = ["logs", "filter-log-events", "--log-group-name", name, "--filter-pattern={ $.latency > 500 }",
                "--page-size", "4", "--max-items", "11"]
        if token:
            args += ["--starting-token", token]
        output = aws.json(*args)
        calls += 1
        walked += output["events"]
        token = output.get("NextToken")
        if not token:
            break
    assert triples(walked) == expected
    assert calls == -(-len(expected) // 11)


def test_a_token_resumes_exactly_after_a_flush_and_a_compaction(server, logs, group):
    """Tokens are positions, not handles to files: pages taken before and
    after the files under them were rewritten fit together exactly."""
    name, _ = group
    expected = unpaged(logs, logGroupName=name, filterPattern="-INFO")
    first = logs.filter_log_events(logGroupName=name, filterPattern="-INFO", limit=13)
    server.flush()
    second = logs.filter_log_events(logGroupName=name, filterPattern="-INFO", limit=13, nextToken=first["nextToken"])
    server.compact()
    rest, _ = filter_all(logs, logGroupName=name, filterPattern="-INFO", limit=13, nextToken=second["nextToken"])
    assert triples(first["events"] + second["events"] + rest) == expected
    assert unpaged(logs, logGroupName=name, filterPattern="-INFO") == expected
