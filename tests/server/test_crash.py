"""Crash safety: `kill -9` while several writers stream PutLogEvents;
after a restart every acknowledged event is there exactly once, and nothing
appears that was never sent. Also a torn WAL tail."""

import collections
import struct
import threading
from pathlib import Path

from botocore.config import Config
import boto3

from harness import ACCESS_KEY, REGION, SECRET_KEY
from conftest import make_client
from support import HOUR, all_forward, now_ms, put, unique

WRITERS = 6
STREAMS = ["shared-0", "shared-1", "own-4", "own-5"]
EVENTS_PER_BATCH = 200
ACKED_BATCHES_BEFORE_KILL = 60


def stream_of(writer):
    return f"shared-{writer % 2}" if writer < 4 else f"own-{writer}"


def writer_client(server):
    return boto3.client("logs", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30))


class Writers:
    """Writer threads each sending batches of uniquely numbered events until
    a call fails. `acked` holds the ids of events whose call succeeded,
    `unsure` those whose call got no answer."""

    def __init__(self, server, group, base_ts):
        self.server, self.group, self.base_ts = server, group, base_ts
        self.acked, self.unsure = set(), set()
        self.acked_batches = 0
        self.failures = []
        self.condition = threading.Condition()
        self.threads = [threading.Thread(target=self.run, args=(w,), daemon=True) for w in range(WRITERS)]

    def run(self, writer):
        client = writer_client(self.server)
        stream = stream_of(writer)
        batch = 0
        while True:
            ids = [f"w{writer}-b{batch:05}-e{i:03}" for i in range(EVENTS_PER_BATCH)]
            # Timestamps: chronological inside the batch, spread over the hour.
            start = self.base_ts + (batch * EVENTS_PER_BATCH) % HOUR
            events = [(start + i, f"{event_id} " + "p" * (20 + (i * 37) % 300)) for i, event_id in enumerate(ids)]
            try:
                put(client, self.group, stream, events)
            except Exception as error:  # the crash: connection refused or reset
                with self.condition:
                    self.unsure.update(ids)
                    self.failures.append(type(error).__name__)
                    self.condition.notify_all()
                return
            with self.condition:
                self.acked.update(ids)
                self.acked_batches += 1
                self.condition.notify_all()
            batch += 1

    def start(self):
        for thread in self.threads:
            thread.start()

    def wait_for(self, batches, timeout=120):
        with self.condition:
            assert self.condition.wait_for(lambda: self.acked_batches >= batches or self.failures, timeout=timeout), \
                "the writers did not make progress"
            assert not self.failures, f"a writer failed before the crash: {self.failures}"

    def join(self):
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive()


def stored_ids(logs, group):
    """Event id → how many times it is stored, over every stream; also
    checks each stored event's message and stream are intact."""
    counts = collections.Counter()
    for stream in STREAMS:
        for event in all_forward(logs, group, stream):
            event_id, _, padding = event["message"].partition(" ")
            writer = int(event_id[1:event_id.index("-")])
            assert stream_of(writer) == stream, f"{event_id} found in {stream}"
            index = int(event_id.rsplit("-e", 1)[1])
            assert padding == "p" * (20 + (index * 37) % 300), f"{event_id} has a damaged message"
            counts[event_id] += 1
    return counts


def check_exactly_once(counts, writers):
    duplicated = {event_id: n for event_id, n in counts.items() if n > 1}
    assert not duplicated, f"{len(duplicated)} events stored more than once, e.g. {list(duplicated.items())[:5]}"
    missing = writers.acked - set(counts)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    phantom = set(counts) - writers.acked - writers.unsure
    assert not phantom, f"{len(phantom)} events stored that were never sent, e.g. {sorted(phantom)[:5]}"


def test_kill_9_during_concurrent_puts_keeps_every_acknowledged_event_exactly_once(server_factory):
    server = server_factory()
    logs = make_client(server, "logs")
    group = unique("/crash")
    logs.create_log_group(logGroupName=group)
    for stream in STREAMS:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)

    writers = Writers(server, group, base_ts=now_ms() - 2 * HOUR)
    writers.start()
    writers.wait_for(ACKED_BATCHES_BEFORE_KILL)
    server.kill()
    writers.join()
    # Every writer was stopped by the crash, not by running out of work.
    assert len(writers.failures) == WRITERS
    assert len(writers.acked) >= ACKED_BATCHES_BEFORE_KILL * EVENTS_PER_BATCH

    server.start()
    logs = make_client(server, "logs")
    counts = stored_ids(logs, group)
    check_exactly_once(counts, writers)
    # Statistics agree with what came back.
    for info in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        assert info["storedBytes"] > 0

    # A second crash with nothing in flight, and a restart: recovery replays
    # nothing twice.
    server.kill()
    server.start()
    logs = make_client(server, "logs")
    assert stored_ids(logs, group) == counts

    # And the recovered server takes writes again.
    put(logs, group, "own-4", [(now_ms(), "after the crash")])
    assert all_forward(logs, group, "own-4")[-1]["message"] == "after the crash"


def wal_segments(data_dir: Path):
    return sorted((data_dir / "wal" / "logs").glob("*.wal"))


def end_of_records(data: bytes) -> int:
    """The offset after the last record of a segment (see the storage
    crate's wal/format.rs: a 24-byte header, then crc u32 | length u32 |
    lsn u64 | payload, little-endian; zeroes end the log)."""
    offset = 24
    while offset + 16 <= len(data):
        crc, length, lsn = struct.unpack_from("<IIQ", data, offset)
        if crc == 0 and length == 0 and lsn == 0:
            break
        offset += 16 + length
    return offset


def test_a_torn_wal_tail_is_truncated_and_acknowledged_events_survive(server_factory):
    server = server_factory()
    logs = make_client(server, "logs")
    group = unique("/torn")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    for batch in range(5):
        put(logs, group, "s", [(now - 1000 + batch * 10 + i, f"b{batch}-e{i}") for i in range(10)])
    server.kill()

    segment = wal_segments(server.data_dir)[-1]
    data = segment.read_bytes()
    end = end_of_records(data)
    assert end > 24, "the events should be in the WAL after a crash"
    # A record whose write was cut short: a header promising 4096 bytes,
    # a wrong checksum, and only part of the payload.
    torn = struct.pack("<IIQ", 0xDEADBEEF, 4096, 999_999) + b"\x7f" * 1000
    with open(segment, "r+b") as file:
        file.seek(end)
        file.write(torn)

    server.start()
    logs = make_client(server, "logs")
    assert [e["message"] for e in all_forward(logs, group, "s")] == [
        f"b{batch}-e{i}" for batch in range(5) for i in range(10)]
    assert "truncating torn or corrupt tail" in server.log()
    put(logs, group, "s", [(now, "after repair")])
    server.kill()
    server.start()
    logs = make_client(server, "logs")
    messages = [e["message"] for e in all_forward(logs, group, "s")]
    assert messages[-1] == "after repair" and len(messages) == 51


def test_deleted_streams_and_groups_stay_deleted_after_a_crash(server_factory):
    """WAL replay must not bring back the events of a stream or group
    deleted (and recreated under the same name) before the crash."""
    server = server_factory()
    logs = make_client(server, "logs")
    group, other = unique("/crash-del"), unique("/crash-del")
    for name, stream in ((group, "x"), (other, "y")):
        logs.create_log_group(logGroupName=name)
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
    now = now_ms()
    put(logs, group, "x", [(now, "old x")])
    put(logs, other, "y", [(now, "old y")])
    logs.delete_log_stream(logGroupName=group, logStreamName="x")
    logs.create_log_stream(logGroupName=group, logStreamName="x")
    logs.delete_log_group(logGroupName=other)
    logs.create_log_group(logGroupName=other)
    logs.create_log_stream(logGroupName=other, logStreamName="y")
    put(logs, group, "x", [(now, "new x")])
    server.kill()
    server.start()
    logs = make_client(server, "logs")
    assert [e["message"] for e in all_forward(logs, group, "x")] == ["new x"]
    assert all_forward(logs, other, "y") == []
    assert [e["message"] for e in logs.filter_log_events(logGroupName=other)["events"]] == []
    assert "firstEventTimestamp" not in logs.describe_log_streams(logGroupName=other)["logStreams"][0]


def test_crash_after_a_graceful_restart_replays_only_what_is_not_stored_yet(server_factory):
    server = server_factory()
    logs = make_client(server, "logs")
    group = unique("/crash-mix")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    put(logs, group, "s", [(now - 100 + i, f"before-stop-{i}") for i in range(50)])
    assert server.stop() == 0
    server.start()
    logs = make_client(server, "logs")
    put(logs, group, "s", [(now - 75 + i, f"after-start-{i}") for i in range(50)])
    server.kill()
    server.start()
    logs = make_client(server, "logs")
    messages = [e["message"] for e in all_forward(logs, group, "s")]
    assert sorted(messages) == sorted([f"before-stop-{i}" for i in range(50)] + [f"after-start-{i}" for i in range(50)])
    timestamps = [e["timestamp"] for e in all_forward(logs, group, "s")]
    assert timestamps == sorted(timestamps)
    [info] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert (info["firstEventTimestamp"], info["lastEventTimestamp"]) == (now - 100, now - 26)
