"""Everything survives a graceful restart (SIGTERM or SIGINT, then start
again on the same data dir): groups and their settings, streams and their
statistics, tags, retention, events, deletions — and paging tokens."""

import collections
import concurrent.futures
import time

import pytest

from conftest import make_client
from support import HOUR, all_forward, filter_all, now_ms, put, unique
from writers import ACKED_BATCHES_BEFORE_KILL, STREAMS, Writers, check_exactly_once, stored_ids

KMS = "arn:aws:kms:us-east-1:000000000000:key/persisted"


def state(logs, prefix):
    """Everything a client can see under `prefix`; storedBytes aside (a
    flush may change what is on disk)."""
    groups = logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]
    seen = {}
    for group in groups:
        name = group["logGroupName"]
        streams = logs.describe_log_streams(logGroupName=name)["logStreams"]
        seen[name] = {
            "group": {k: v for k, v in group.items() if k != "storedBytes"},
            "tags": logs.list_tags_log_group(logGroupName=name)["tags"],
            "streams": [{k: v for k, v in s.items() if k != "storedBytes"} for s in streams],
            "events": {s["logStreamName"]: all_forward(logs, name, s["logStreamName"]) for s in streams},
            "filtered": filter_all(logs, logGroupName=name, limit=7)[0],
        }
    return seen


def populate(logs, prefix):
    now = now_ms()
    logs.create_log_group(logGroupName=f"{prefix}/api", tags={"team": "obs", "env": "prod"},
                          logGroupClass="INFREQUENT_ACCESS", kmsKeyId=KMS)
    logs.put_retention_policy(logGroupName=f"{prefix}/api", retentionInDays=30)
    logs.create_log_group(logGroupName=f"{prefix}/web")
    logs.tag_resource(resourceArn=f"arn:aws:logs:us-east-1:000000000000:log-group:{prefix}/web", tags={"a": "b"})
    logs.create_log_group(logGroupName=f"{prefix}/deleted")
    logs.create_log_stream(logGroupName=f"{prefix}/deleted", logStreamName="s")
    put(logs, f"{prefix}/deleted", "s", [(now, "must not come back")])
    for group in ("api", "web"):
        for stream in ("one", "two", "gone"):
            logs.create_log_stream(logGroupName=f"{prefix}/{group}", logStreamName=stream)
        for batch in range(3):
            for stream in ("one", "two", "gone"):
                put(logs, f"{prefix}/{group}", stream,
                    [(now - 10_000 + batch * 100 + i, f"{group}/{stream} b{batch} e{i} ünï 😀") for i in range(40)])
        logs.delete_log_stream(logGroupName=f"{prefix}/{group}", logStreamName="gone")
    logs.delete_log_group(logGroupName=f"{prefix}/deleted")


@pytest.fixture
def restartable(server_factory):
    return server_factory()


def test_graceful_restart_keeps_everything(restartable):
    logs = make_client(restartable, "logs")
    prefix = unique("/persist")
    populate(logs, prefix)
    before = state(logs, prefix)
    assert set(before) == {f"{prefix}/api", f"{prefix}/web"}
    assert sum(len(events) for group in before.values() for events in group["events"].values()) == 2 * 2 * 3 * 40

    assert restartable.stop() == 0
    restartable.start()
    logs = make_client(restartable, "logs")

    after = state(logs, prefix)
    assert after == before
    api = logs.describe_log_groups(logGroupNamePrefix=f"{prefix}/api")["logGroups"][0]
    assert api["retentionInDays"] == 30 and api["logGroupClass"] == "INFREQUENT_ACCESS" and api["kmsKeyId"] == KMS
    assert api["storedBytes"] > 0
    assert all(s["storedBytes"] > 0 for s in logs.describe_log_streams(logGroupName=f"{prefix}/api")["logStreams"])
    assert logs.describe_log_groups(logGroupNamePrefix=f"{prefix}/deleted")["logGroups"] == []


def test_paging_tokens_keep_working_across_a_restart(restartable):
    logs = make_client(restartable, "logs")
    prefix = unique("/tokens")
    group = f"{prefix}/g"
    logs.create_log_group(logGroupName=group)
    for index in range(3):
        logs.create_log_group(logGroupName=f"{prefix}/other-{index}")
    for stream in ("a", "b", "c"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = now_ms()
    put(logs, group, "a", [(now - 100 + i, f"a{i}") for i in range(10)])
    put(logs, group, "b", [(now - 50 + i, f"b{i}") for i in range(10)])

    head = logs.get_log_events(logGroupName=group, logStreamName="a", startFromHead=True, limit=4)
    tail = logs.get_log_events(logGroupName=group, logStreamName="a", limit=4)
    filtered = logs.filter_log_events(logGroupName=group, limit=5)
    streams = logs.describe_log_streams(logGroupName=group, limit=1)
    groups = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=2)

    assert restartable.stop() == 0
    restartable.start()
    logs = make_client(restartable, "logs")

    forward = logs.get_log_events(logGroupName=group, logStreamName="a", nextToken=head["nextForwardToken"], limit=4,
                             startFromHead=True)
    assert [e["message"] for e in forward["events"]] == ["a4", "a5", "a6", "a7"]
    backward = logs.get_log_events(logGroupName=group, logStreamName="a", nextToken=tail["nextBackwardToken"],
                                   limit=4)
    assert [e["message"] for e in backward["events"]] == ["a2", "a3", "a4", "a5"]
    rest, _ = filter_all(logs, logGroupName=group, nextToken=filtered["nextToken"])
    assert [e["message"] for e in filtered["events"] + rest] == [f"a{i}" for i in range(10)] + [
        f"b{i}" for i in range(10)]
    more = logs.describe_log_streams(logGroupName=group, nextToken=streams["nextToken"])
    assert [s["logStreamName"] for s in more["logStreams"]] == ["b", "c"]
    more = logs.describe_log_groups(logGroupNamePrefix=prefix, nextToken=groups["nextToken"])
    assert [g["logGroupName"] for g in more["logGroups"]] == [f"{prefix}/other-1", f"{prefix}/other-2"]


def test_sigint_also_shuts_down_cleanly_and_keeps_data(restartable):
    logs = make_client(restartable, "logs")
    group = unique("/sigint")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    put(logs, group, "s", [(now, "before ctrl-c")])
    assert restartable.interrupt() == 0
    restartable.start()
    logs = make_client(restartable, "logs")
    assert [e["message"] for e in all_forward(logs, group, "s")] == ["before ctrl-c"]


def test_restarts_in_a_row_never_duplicate_or_lose_events(restartable):
    logs = make_client(restartable, "logs")
    group = unique("/again")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    expected = []
    for round_ in range(3):
        batch = [(now - 5000 + round_ * 1000 + i, f"round{round_}-{i}") for i in range(100)]
        put(logs, group, "s", batch)
        expected += [message for _, message in batch]
        assert restartable.stop() == 0
        restartable.start()
        logs = make_client(restartable, "logs")
        assert [e["message"] for e in all_forward(logs, group, "s")] == expected
    # New events written after the restarts merge with the old ones in time order.
    put(logs, group, "s", [(now - 4500, "in between")])
    messages = [e["message"] for e in all_forward(logs, group, "s")]
    assert messages.index("in between") == 100
    assert len(messages) == 301


def test_sigterm_under_load_exits_0_and_keeps_every_acknowledged_event(server_factory):
    """SIGTERM while writers stream PutLogEvents: in-flight requests finish,
    the process exits 0, and after a restart every acknowledged event is
    there exactly once."""
    server = server_factory()
    logs = make_client(server, "logs")
    group = unique("/sigterm-load")
    logs.create_log_group(logGroupName=group)
    for stream in STREAMS:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    writers = Writers(server, group, base_ts=now_ms() - 2 * HOUR)
    writers.start()
    writers.wait_for(ACKED_BATCHES_BEFORE_KILL)
    assert server.stop() == 0
    writers.join()
    server.start()
    logs = make_client(server, "logs")
    check_exactly_once(stored_ids(logs, group), writers)


def test_events_flushed_to_segment_files_while_serving(server_factory):
    """Past 64 MiB a group's events are flushed to columnar segment files
    while the server runs; reads merge those files with newer in-memory
    events, a crash replays only what was not flushed, and storedBytes is
    what is on disk."""
    server = server_factory()
    logs = make_client(server, "logs")
    group = unique("/flush")
    logs.create_log_group(logGroupName=group)
    for stream in ("a", "b"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    base = now_ms() - 3 * 3_600_000
    expected = collections.Counter()

    def event(tag, writer, batch, index):
        # Batches of different writers, and of both rounds, interleave in time.
        return (base + batch * 4_000 + writer * 1_000 + index, f"{tag}-w{writer}-b{batch}-e{index} " + "z" * 1000)

    def write(tag, writer, batches):
        client = make_client(server, "logs")
        for batch in batches:
            put(client, group, "ab"[writer % 2], [event(tag, writer, batch, i) for i in range(1000)])

    def round_(tag, batches):
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda writer: write(tag, writer, batches), range(4)))
        for writer in range(4):
            for batch in batches:
                for i in range(1000):
                    expected[("ab"[writer % 2], event(tag, writer, batch, i)[1].split(" ")[0])] += 1

    round_("first", range(18))  # 72 MB
    segments = lambda: list((server.data_dir / "objects").rglob("*.parquet"))  # noqa: E731
    deadline = time.monotonic() + 60
    while not segments():
        assert time.monotonic() < deadline, "no segment file after 72 MB"
        time.sleep(0.05)
    round_("late", [3, 11, 17])  # in memory, at the same times as flushed events

    def check_spot(logs):
        matched, _ = filter_all(logs, logGroupName=group, filterPattern='"-b11-e999 "', limit=3)
        assert sorted(e["message"].split(" ")[0] for e in matched) == sorted(
            f"{tag}-w{w}-b11-e999" for tag in ("first", "late") for w in range(4))

    def check_all(logs):
        for stream in "ab":
            events = all_forward(logs, group, stream)
            timestamps = [e["timestamp"] for e in events]
            assert timestamps == sorted(timestamps)
            found = collections.Counter((stream, e["message"].split(" ")[0]) for e in events)
            assert found == {key: n for key, n in expected.items() if key[0] == stream}
        check_spot(logs)

    check_all(logs)
    server.kill()
    server.start()
    logs = make_client(server, "logs")
    check_all(logs)
    assert server.stop() == 0
    server.start()
    logs = make_client(server, "logs")
    check_spot(logs)
    # Segment files and their token indexes (`.parquet.tokens`).
    on_disk = sum(path.stat().st_size for path in (server.data_dir / "objects").rglob("*") if path.is_file())
    [info] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert info["storedBytes"] == on_disk, (info["storedBytes"], on_disk)
    assert on_disk < 84 * 1_000_000 // 10, "1000 repeated bytes per event should compress"
