"""Compaction keeps every event: many small flushes (PutLogEvents, then
`POST /_argus/flush`, in a loop) leave many overlapping files per UTC day;
after `POST /_argus/compact` there is one file per day, and every read —
GetLogEvents in both directions, FilterLogEvents with several patterns,
paged and unpaged — returns exactly what it returned before, which is
exactly what was put."""

import pytest

from support import (DAY, HOUR, all_backward, all_forward, filter_all, group_files, now_ms, put, segment_files, unique,
                     utc_day)

STREAMS = ["a", "b", "c"]
ROUNDS = 13
PER_BATCH = 5
PATTERNS = ["", "ERROR", "?WARN ?ERROR -b", '{ $.n >= 3 && $.level = "ERROR" }',
            "[stream = a || stream = c, round = r1*, ...]", "%e-1[0-9]%"]


def message(stream, round_, index):
    level = ["INFO", "WARN", "ERROR"][(round_ + index) % 3]
    if index % 2:
        return f'{{"stream":"{stream}","round":{round_},"n":{index},"level":"{level}"}}'
    return f"{stream} r{round_} e-{round_}{index} {level}"


def triples(events):
    return [(event["timestamp"], event["logStreamName"], event["message"]) for event in events]


def pairs(events):
    return [(event["timestamp"], event["message"]) for event in events]


def reads(logs, group):
    """Everything a client can read, per read path."""
    seen = {}
    for stream in STREAMS:
        seen[f"forward {stream}"] = pairs(all_forward(logs, group, stream, limit=40))
        seen[f"backward {stream}"] = pairs(all_backward(logs, group, stream, limit=40))
    for pattern in PATTERNS:
        response = logs.filter_log_events(logGroupName=group, filterPattern=pattern)
        assert "nextToken" not in response
        seen[f"filter {pattern}"] = triples(response["events"])
        paged, _ = filter_all(logs, logGroupName=group, filterPattern=pattern, limit=17)
        seen[f"filter paged {pattern}"] = triples(paged)
    return seen


@pytest.fixture(scope="module")
def group(server, logs):
    """Thirteen rounds; each puts five events per stream on each of three
    UTC days and flushes. Round r's events sit between the other rounds'
    (event i of round r at day start + (13 i + r) s), so every file of a
    day overlaps every other."""
    name = unique()
    logs.create_log_group(logGroupName=name)
    for stream in STREAMS:
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
    now = now_ms()
    starts = [now - days_ago * DAY - 2 * HOUR for days_ago in (2, 1, 0)]
    events = []
    for round_ in range(ROUNDS):
        for stream in STREAMS:
            for start in starts:
                batch = [(start + (ROUNDS * index + round_) * 1000, message(stream, round_, index))
                         for index in range(PER_BATCH)]
                put(logs, name, stream, batch)
                events += [(t, stream, m) for t, m in batch]
        server.flush()
    return name, sorted(events)


def test_compaction_leaves_one_file_per_day_and_every_read_unchanged(server, logs, group):
    name, events = group
    days = sorted({utc_day(t) for t, _, _ in events})
    before_files = segment_files(group_files(server, name))
    for day in days:
        assert len([path for path in before_files if path.startswith(f"dt={day}/")]) > 1, before_files

    before = reads(logs, name)
    for stream in STREAMS:
        assert before[f"forward {stream}"] == [(t, m) for t, s, m in events if s == stream]
    assert before["filter "] == events
    assert before["filter ERROR"] == [e for e in events if "ERROR" in e[2]]
    assert before['filter { $.n >= 3 && $.level = "ERROR" }'] == [
        e for e in events if e[2].startswith("{") and '"n":3' in e[2] and "ERROR" in e[2]]
    rounds_1x = [e for e in events if not e[2].startswith("{") and e[2].split()[1] in ("r1", "r10", "r11", "r12")]
    assert before["filter [stream = a || stream = c, round = r1*, ...]"] == [e for e in rounds_1x if e[1] != "b"]
    assert before["filter %e-1[0-9]%"] == rounds_1x

    server.compact()
    after_files = group_files(server, name)
    assert sorted(path.split("/")[0] for path in segment_files(after_files)) == [f"dt={day}" for day in days]
    for path in segment_files(after_files):
        assert f"{path}.tokens" in after_files
    after = reads(logs, name)
    for read in before:
        assert after[read] == before[read], read
