"""PutLogEvents through boto3: every AWS rule (batch count and size,
order, span, too old / too new / expired) and what gets stored."""

import concurrent.futures

import pytest

from conftest import make_client
from support import (DAY, EVENT_OVERHEAD, HOUR, MAX_BATCH_BYTES, MINUTE, all_forward, client_error, create_group,
                     create_stream, now_ms, put)


@pytest.fixture
def stream(logs):
    group = create_group(logs)
    return group, create_stream(logs, group)


def stored(logs, group, stream):
    return [(event["timestamp"], event["message"]) for event in all_forward(logs, group, stream)]


def test_events_are_stored_with_ingestion_time_and_a_sequence_token(logs, stream):
    group, name = stream
    now = now_ms()
    before = now
    response = put(logs, group, name, [(now - 2000, "first"), (now - 1000, "second"), (now - 1000, "same ms")])
    assert isinstance(response["nextSequenceToken"], str) and response["nextSequenceToken"]
    assert "rejectedLogEventsInfo" not in response
    events = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)["events"]
    assert [(e["timestamp"], e["message"]) for e in events] == [
        (now - 2000, "first"), (now - 1000, "second"), (now - 1000, "same ms")]
    for event in events:
        assert before - 1000 <= event["ingestionTime"] <= now_ms() + 1000


def test_messages_round_trip_byte_for_byte(logs, stream):
    group, name = stream
    now = now_ms()
    messages = [
        "tab\tnew\nline\r\nend",
        '{"json": [1, 2, {"k": "v"}], "quote": "\\""}',
        "ünïcödé — 中文 — emoji 😀🚀 — \u200b zero width",
        "control \u0001\u001f chars",
        " leading and trailing spaces ",
        "x" * 10_000,
    ]
    put(logs, group, name, [(now, message) for message in messages])
    assert [message for _, message in stored(logs, group, name)] == messages


def test_sequence_token_is_accepted_and_ignored(logs, stream):
    group, name = stream
    now = now_ms()
    first = put(logs, group, name, [(now, "one")])
    put(logs, group, name, [(now, "two")], sequenceToken="not-a-real-token")
    put(logs, group, name, [(now, "three")], sequenceToken=first["nextSequenceToken"])  # stale
    put(logs, group, name, [(now, "four")], sequenceToken=first["nextSequenceToken"])  # stale again
    assert [message for _, message in stored(logs, group, name)] == ["one", "two", "three", "four"]


def test_concurrent_writers_to_one_stream_all_land(logs, stream):
    group, name = stream
    now = now_ms()

    def write(writer):
        put(logs, group, name, [(now + index, f"w{writer}-{index}") for index in range(50)])

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(8)))
    messages = [message for _, message in stored(logs, group, name)]
    assert sorted(messages) == sorted(f"w{w}-{i}" for w in range(8) for i in range(50))
    timestamps = [timestamp for timestamp, _ in stored(logs, group, name)]
    assert timestamps == sorted(timestamps)


class TestBatchCount:
    def test_ten_thousand_events_are_accepted(self, logs, stream):
        group, name = stream
        now = now_ms()
        put(logs, group, name, [(now, f"e{index}") for index in range(10_000)])
        events = stored(logs, group, name)
        assert len(events) == 10_000
        assert [message for _, message in events] == [f"e{index}" for index in range(10_000)]

    def test_ten_thousand_and_one_events_are_refused(self, logs_unchecked, stream):
        group, name = stream
        now = now_ms()
        code, message, status = client_error(put, logs=logs_unchecked, group=group, stream=name,
                                             events=[(now, "e")] * 10_001)
        assert (code, status) == ("InvalidParameterException", 400)
        assert message.startswith("1 validation error detected: Value '[")
        assert message.endswith("at 'logEvents' failed to satisfy constraint: "
                                "Member must have length less than or equal to 10000")
        assert stored(logs_unchecked, group, name) == []

    def test_empty_batch_and_empty_message_are_refused(self, logs_unchecked, stream):
        group, name = stream
        code, message, _ = client_error(logs_unchecked.put_log_events, logGroupName=group, logStreamName=name,
                                        logEvents=[])
        assert code == "InvalidParameterException" and "'logEvents'" in message
        code, message, _ = client_error(logs_unchecked.put_log_events, logGroupName=group, logStreamName=name,
                                        logEvents=[{"timestamp": now_ms(), "message": ""}])
        assert code == "InvalidParameterException" and "'logEvents.1.member.message'" in message


class TestBatchSize:
    """1,048,576 bytes: each message's UTF-8 bytes plus 26."""

    def test_one_multibyte_event_exactly_at_the_limit(self, logs, stream):
        group, name = stream
        message = "é" * ((MAX_BATCH_BYTES - EVENT_OVERHEAD) // 2)  # 2 bytes each
        assert len(message.encode()) + EVENT_OVERHEAD == MAX_BATCH_BYTES
        put(logs, group, name, [(now_ms(), message)])
        assert [m for _, m in stored(logs, group, name)] == [message]

    def test_one_multibyte_event_one_byte_over_the_limit(self, logs, stream):
        group, name = stream
        message = "é" * ((MAX_BATCH_BYTES - EVENT_OVERHEAD) // 2) + "a"
        assert len(message.encode()) + EVENT_OVERHEAD == MAX_BATCH_BYTES + 1
        # Counted in characters it would be far below the limit.
        assert len(message) < MAX_BATCH_BYTES // 2
        code, text, status = client_error(put, logs=logs, group=group, stream=name, events=[(now_ms(), message)])
        assert (code, status) == ("InvalidParameterException", 400)
        assert "1048577" in text and "1048576" in text, text
        assert stored(logs, group, name) == []

    def test_four_byte_characters_in_two_events_at_the_limit_and_over(self, logs, stream):
        group, name = stream
        half = MAX_BATCH_BYTES // 2 - EVENT_OVERHEAD  # each event's share
        message = "😀" * (half // 4) + "é" * ((half % 4) // 2)
        assert len(message.encode()) == half
        now = now_ms()
        code, _, _ = client_error(put, logs=logs, group=group, stream=name,
                                  events=[(now, message), (now, message + "!")])
        assert code == "InvalidParameterException"
        put(logs, group, name, [(now, message), (now, message)])
        assert [m for _, m in stored(logs, group, name)] == [message, message]

    def test_26_bytes_of_overhead_per_event(self, logs, stream):
        group, name = stream
        count = 4096
        body = MAX_BATCH_BYTES // count - EVENT_OVERHEAD  # 230 bytes: 4096 * (230 + 26) == 1 MiB
        now = now_ms()
        events = [(now, f"{index:06}" + "x" * (body - 6)) for index in range(count)]
        assert sum(len(m.encode()) + EVENT_OVERHEAD for _, m in events) == MAX_BATCH_BYTES
        over = events[:-1] + [(now, events[-1][1] + "y")]
        code, text, _ = client_error(put, logs=logs, group=group, stream=name, events=over)
        assert code == "InvalidParameterException" and "1048577" in text
        put(logs, group, name, events)
        assert len(stored(logs, group, name)) == count


class TestOrderAndSpan:
    def test_out_of_order_events_are_refused(self, logs, stream):
        group, name = stream
        now = now_ms()
        assert client_error(put, logs=logs, group=group, stream=name,
                            events=[(now, "a"), (now + 1, "b"), (now - 1, "c")]) == (
            "InvalidParameterException",
            "Log events in a single PutLogEvents request must be in chronological order.",
            400,
        )
        assert stored(logs, group, name) == []

    def test_a_batch_may_span_exactly_24_hours(self, logs, stream):
        group, name = stream
        now = now_ms()
        put(logs, group, name, [(now - DAY, "oldest"), (now, "newest")])
        assert [m for _, m in stored(logs, group, name)] == ["oldest", "newest"]

    def test_a_batch_spanning_24_hours_and_1_ms_is_refused(self, logs, stream):
        group, name = stream
        now = now_ms()
        assert client_error(put, logs=logs, group=group, stream=name,
                            events=[(now - DAY - 1, "a"), (now - HOUR, "b"), (now, "c")]) == (
            "InvalidParameterException",
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            400,
        )
        assert stored(logs, group, name) == []

    def test_the_span_rule_counts_only_events_that_are_kept(self, logs, stream):
        """The AWS model's PutLogEvents documentation: "For valid events
        (within 14 days in the past to 2 hours in future), the time span in a
        single batch cannot exceed 24 hours." A too-old event is skipped and
        reported, not a reason to refuse the batch."""
        group, name = stream
        now = now_ms()
        response = put(logs, group, name, [(now - 20 * DAY, "too old"), (now - HOUR, "kept")])
        assert response["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
        assert [m for _, m in stored(logs, group, name)] == ["kept"]

    def test_batches_need_not_be_ordered_with_each_other(self, logs, stream):
        group, name = stream
        now = now_ms()
        put(logs, group, name, [(now - 1000, "late batch")])
        put(logs, group, name, [(now - 5000, "early batch")])
        assert stored(logs, group, name) == [(now - 5000, "early batch"), (now - 1000, "late batch")]


class TestRejectedEvents:
    def test_too_old_events_are_skipped_and_reported(self, logs, stream):
        group, name = stream
        now = now_ms()
        events = [(now - 14 * DAY - 3 * HOUR, "old-0"), (now - 14 * DAY - 2 * HOUR, "old-1"),
                  (now - 14 * DAY + 2 * HOUR, "ok-2"), (now - 14 * DAY + 3 * HOUR, "ok-3")]
        response = put(logs, group, name, events)
        assert response["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
        assert [m for _, m in stored(logs, group, name)] == ["ok-2", "ok-3"]

    def test_too_new_events_are_skipped_and_reported(self, logs, stream):
        group, name = stream
        now = now_ms()
        events = [(now, "ok-0"), (now + HOUR, "ok-1"), (now + 2 * HOUR + 10 * MINUTE, "new-2"),
                  (now + 3 * HOUR, "new-3")]
        response = put(logs, group, name, events)
        assert response["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 2}
        assert [m for _, m in stored(logs, group, name)] == ["ok-0", "ok-1"]

    def test_a_batch_entirely_rejected_still_succeeds(self, logs, stream):
        group, name = stream
        now = now_ms()
        response = put(logs, group, name, [(now + 3 * HOUR, "new-0"), (now + 4 * HOUR, "new-1")])
        assert response["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 0}
        response = put(logs, group, name, [(now - 20 * DAY, "old-0")])
        assert response["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
        assert response["nextSequenceToken"]
        assert stored(logs, group, name) == []

    def test_events_older_than_the_retention_are_expired(self, logs, stream):
        group, name = stream
        logs.put_retention_policy(logGroupName=group, retentionInDays=1)
        now = now_ms()
        events = [(now - DAY - 2 * HOUR, "expired-0"), (now - DAY - HOUR, "expired-1"), (now - 3 * HOUR, "ok-2")]
        response = put(logs, group, name, events)
        assert response["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 2}
        assert [m for _, m in stored(logs, group, name)] == ["ok-2"]

    def test_too_old_and_expired_reported_together(self, logs, stream):
        group, name = stream
        logs.put_retention_policy(logGroupName=group, retentionInDays=1)
        now = now_ms()
        events = [(now - 14 * DAY - 2 * HOUR, "old-and-expired"), (now - 13 * DAY - 6 * HOUR, "expired")]
        response = put(logs, group, name, events)
        assert response["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "expiredLogEventEndIndex": 2}
        assert stored(logs, group, name) == []

    def test_a_longer_retention_does_not_expire_recent_events(self, logs, stream):
        group, name = stream
        logs.put_retention_policy(logGroupName=group, retentionInDays=30)
        now = now_ms()
        response = put(logs, group, name, [(now - 13 * DAY, "kept")])
        assert "rejectedLogEventsInfo" not in response
        assert [m for _, m in stored(logs, group, name)] == ["kept"]


def test_missing_group_and_stream(logs, name):
    group = create_group(logs)
    event = [(now_ms(), "x")]
    assert client_error(put, logs=logs, group=name, stream="s", events=event) == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)
    assert client_error(put, logs=logs, group=group, stream="s", events=event) == (
        "ResourceNotFoundException", "The specified log stream does not exist.", 400)


def test_the_server_clock_decides_what_is_too_old(server_factory):
    """With --test-clock, moving Argus's clock 15 days ahead makes events
    stamped with the real time too old, and accepts events stamped with the
    moved clock."""
    server = server_factory("--test-clock")
    logs = make_client(server, "logs")
    group = create_group(logs)
    name = create_stream(logs, group)
    real_now = now_ms()
    assert "rejectedLogEventsInfo" not in put(logs, group, name, [(real_now, "accepted at first")])
    offset = server.advance_clock(15 * DAY)["offset_ms"]
    assert offset == 15 * DAY
    response = put(logs, group, name, [(real_now, "too old now")])
    assert response["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    moved_now = now_ms() + 15 * DAY
    response = put(logs, group, name, [(moved_now, "stamped with the moved clock")])
    assert "rejectedLogEventsInfo" not in response
    [info] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert info["lastIngestionTime"] >= real_now + 15 * DAY - MINUTE
    assert [m for _, m in stored(logs, group, name)] == ["accepted at first", "stamped with the moved clock"]
