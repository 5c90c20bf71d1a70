"""Crash safety: `kill -9` while several writers stream PutLogEvents;
after a restart every acknowledged event is there exactly once, and nothing
appears that was never sent. Also a torn WAL tail."""

import struct
from pathlib import Path

from conftest import make_client
from support import HOUR, all_forward, now_ms, put, unique
from writers import (ACKED_BATCHES_BEFORE_KILL, EVENTS_PER_BATCH, STREAMS, WRITERS, Writers, check_exactly_once,
                     stored_ids)


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


def records(data: bytes):
    """(start, end) offsets of each record of a segment (see end_of_records)."""
    found, offset = [], 24
    while offset + 16 <= len(data):
        crc, length, lsn = struct.unpack_from("<IIQ", data, offset)
        if crc == 0 and length == 0 and lsn == 0:
            break
        found.append((offset, offset + 16 + length))
        offset += 16 + length
    return found


def crash_with_batches(server_factory, name):
    server = server_factory()
    logs = make_client(server, "logs")
    group = unique(name)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    for batch in range(5):
        put(logs, group, "s", [(now - 1000 + batch * 10 + i, f"b{batch}-e{i}") for i in range(10)])
    server.kill()
    return server, group, now


def test_a_corrupt_last_record_is_cut_and_the_rest_survives(server_factory):
    server, group, now = crash_with_batches(server_factory, "/corrupt")
    segment = wal_segments(server.data_dir)[-1]
    data = bytearray(segment.read_bytes())
    start, end = records(bytes(data))[-1]
    data[(start + 16 + end) // 2] ^= 0xFF  # one flipped bit pattern inside the last payload
    segment.write_bytes(bytes(data))

    server.start()
    logs = make_client(server, "logs")
    messages = [e["message"] for e in all_forward(logs, group, "s")]
    # The damaged record (the last batch) is gone; nothing else is.
    assert messages == [f"b{batch}-e{i}" for batch in range(4) for i in range(10)]
    assert "truncating torn or corrupt tail" in server.log()
    put(logs, group, "s", [(now, "after repair")])
    server.kill()
    server.start()
    logs = make_client(server, "logs")
    assert [e["message"] for e in all_forward(logs, group, "s")][-1] == "after repair"


def test_a_junk_file_named_like_a_segment_does_not_stop_the_server(server_factory):
    server, group, now = crash_with_batches(server_factory, "/junk")
    last = wal_segments(server.data_dir)[-1]
    junk = last.with_name(f"{int(last.stem) + 1_000_000:020}.wal")
    junk.write_bytes(b"this is not a wal segment" * 100)

    server.start()
    logs = make_client(server, "logs")
    assert [e["message"] for e in all_forward(logs, group, "s")] == [
        f"b{batch}-e{i}" for batch in range(5) for i in range(10)]
    put(logs, group, "s", [(now, "still writable")])
    server.kill()
    server.start()
    logs = make_client(server, "logs")
    assert [e["message"] for e in all_forward(logs, group, "s")][-1] == "still writable"
    assert len(all_forward(logs, group, "s")) == 51
