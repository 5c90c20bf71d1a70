"""Deleting frees disk: DeleteLogGroup removes the group's files at once
(other groups' files and storedBytes untouched); DeleteLogStream hides the
stream's events at once and `POST /_argus/compact` rewrites the group's
files without them, so the files and storedBytes shrink while every event
of the other streams stays."""

import random

from support import (DAY, all_backward, all_forward, group_files, group_id, now_ms, put, segment_files,
                     stored_bytes, unique, utc_day)


def triples(events):
    return [(event["timestamp"], event["logStreamName"], event["message"]) for event in events]


def pairs(events):
    return [(event["timestamp"], event["message"]) for event in events]


def disk_bytes(server, group):
    return sum(group_files(server, group).values())


def fill(logs, group, streams, count=200, days=(1, 0), seed=0):
    """`count` events per stream on each listed day back from now, with
    incompressible payloads; returns them as (timestamp, stream, message)."""
    rng = random.Random(seed)
    now = now_ms()
    events = []
    for stream in streams:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        for days_ago in days:
            start = now - days_ago * DAY - 60 * 60 * 1000
            batch = [(start + index * 1000, f"{stream} {index} ERROR {rng.randbytes(40).hex()}")
                     for index in range(count)]
            put(logs, group, stream, batch)
            events += [(t, stream, m) for t, m in batch]
    return sorted(events)


def filtered(logs, group, **kwargs):
    response = logs.filter_log_events(logGroupName=group, **kwargs)
    assert "nextToken" not in response
    return triples(response["events"])


def test_delete_log_group_removes_its_files_and_leaves_others_alone(server, logs):
    doomed, other, memory_only = unique(), unique(), unique()
    for group in (doomed, other, memory_only):
        logs.create_log_group(logGroupName=group)
    fill(logs, doomed, ["a", "b"], seed=1)
    other_events = fill(logs, other, ["a"], seed=2)
    server.flush()
    server.compact()
    fill(logs, doomed, ["c"], seed=3)  # still in memory when the group goes
    fill(logs, memory_only, ["a"], seed=4)
    doomed_id, memory_only_id = group_id(server, doomed), group_id(server, memory_only)
    assert segment_files(group_files(server, doomed_id))
    assert segment_files(group_files(server, memory_only_id)) == []
    other_files = group_files(server, other)
    other_bytes = stored_bytes(logs, other)
    assert other_bytes == sum(other_files.values()) > 0

    logs.delete_log_group(logGroupName=doomed)
    logs.delete_log_group(logGroupName=memory_only)
    assert group_files(server, doomed_id) == {}
    server.flush()
    server.compact()
    assert group_files(server, doomed_id) == {}
    assert group_files(server, memory_only_id) == {}
    assert group_files(server, other) == other_files
    assert stored_bytes(logs, other) == other_bytes
    assert filtered(logs, other) == other_events

    logs.create_log_group(logGroupName=doomed)
    logs.create_log_stream(logGroupName=doomed, logStreamName="a")
    assert filtered(logs, doomed) == []
    assert logs.get_log_events(logGroupName=doomed, logStreamName="a")["events"] == []
    assert stored_bytes(logs, doomed) == 0


def test_delete_log_stream_then_compaction_shrinks_the_files(server, logs):
    group = unique()
    logs.create_log_group(logGroupName=group)
    events = fill(logs, group, ["a", "b", "c"], seed=5)
    server.flush()
    server.compact()
    files_before = group_files(server, group)
    bytes_before = stored_bytes(logs, group)
    assert bytes_before == sum(files_before.values()) > 0
    days = len({utc_day(event[0]) for event in events})
    assert len(segment_files(files_before)) == days, "one file per UTC day"
    kept = [event for event in events if event[1] != "b"]

    logs.delete_log_stream(logGroupName=group, logStreamName="b")
    assert filtered(logs, group) == kept, "a deleted stream's events are hidden at once"
    assert filtered(logs, group, filterPattern="ERROR") == kept
    # A stream of the same name, created before the space is reclaimed,
    # starts empty and keeps its own events through the compaction.
    logs.create_log_stream(logGroupName=group, logStreamName="b")
    assert all_forward(logs, group, "b") == []
    newcomer = (kept[-1][0] + 1, "b", "b reborn ERROR")
    put(logs, group, "b", [newcomer[::2]])
    server.flush()
    kept = sorted(kept + [newcomer])
    assert filtered(logs, group) == kept

    server.compact()
    files_after = group_files(server, group)
    assert set(segment_files(files_after)).isdisjoint(segment_files(files_before)), "every file was rewritten"
    assert len(segment_files(files_after)) == days
    assert sum(files_after.values()) < sum(files_before.values())
    assert stored_bytes(logs, group) == sum(files_after.values())
    assert stored_bytes(logs, group) < bytes_before
    assert filtered(logs, group) == kept
    assert filtered(logs, group, filterPattern="ERROR") == kept
    for stream in ("a", "c"):
        mine = [(t, m) for t, s, m in events if s == stream]
        assert pairs(all_forward(logs, group, stream, limit=70)) == mine
        assert pairs(all_backward(logs, group, stream, limit=70)) == mine

    assert pairs(all_forward(logs, group, "b")) == [newcomer[::2]]
    assert filtered(logs, group, logStreamNames=["b"]) == [newcomer]


def test_deleting_every_stream_leaves_no_files(server, logs):
    group = unique()
    logs.create_log_group(logGroupName=group)
    fill(logs, group, ["a", "b"], count=50, seed=6)
    server.flush()
    assert segment_files(group_files(server, group))
    for stream in ("a", "b"):
        logs.delete_log_stream(logGroupName=group, logStreamName=stream)
    server.compact()
    assert group_files(server, group) == {}
    assert stored_bytes(logs, group) == 0
