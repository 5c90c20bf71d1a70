"""GetLogEvents through boto3: time range, direction, limit, forward and
backward tokens, the 1 MB response cap."""

import pytest

from harness import REGION
from support import (DAY, EVENT_OVERHEAD, MAX_BATCH_BYTES, client_error, create_group, create_stream, filter_all,
                     now_ms, put)

ACCOUNT = "000000000000"


def messages(page):
    return [event["message"] for event in page["events"]]


@pytest.fixture(scope="module")
def ten(logs):
    """A stream of ten events m0..m9, one millisecond apart."""
    group = create_group(logs)
    stream = create_stream(logs, group)
    base = now_ms() - 60_000
    put(logs, group, stream, [(base + index, f"m{index}") for index in range(10)])
    return group, stream, base


def get(logs, ten, **request):
    group, stream, _ = ten
    return logs.get_log_events(logGroupName=group, logStreamName=stream, **request)


def test_without_token_the_latest_events_come_back(logs, ten):
    assert messages(get(logs, ten)) == [f"m{i}" for i in range(10)]
    assert messages(get(logs, ten, limit=3)) == ["m7", "m8", "m9"]
    assert messages(get(logs, ten, limit=3, startFromHead=False)) == ["m7", "m8", "m9"]


def test_start_from_head(logs, ten):
    assert messages(get(logs, ten, limit=3, startFromHead=True)) == ["m0", "m1", "m2"]


def test_event_fields(logs, ten):
    _, _, base = ten
    [event] = get(logs, ten, limit=1, startFromHead=True)["events"]
    assert set(event) == {"timestamp", "message", "ingestionTime"}
    assert event["timestamp"] == base and event["message"] == "m0"
    assert event["ingestionTime"] >= base


def test_start_time_is_inclusive_and_end_time_exclusive(logs, ten):
    _, _, base = ten
    assert messages(get(logs, ten, startTime=base + 2, endTime=base + 5, startFromHead=True)) == ["m2", "m3", "m4"]
    assert messages(get(logs, ten, startTime=base + 2, endTime=base + 5)) == ["m2", "m3", "m4"]
    assert messages(get(logs, ten, startTime=base + 2, endTime=base + 5, limit=1)) == ["m4"]
    assert messages(get(logs, ten, startTime=base + 2, endTime=base + 5, limit=1, startFromHead=True)) == ["m2"]
    assert messages(get(logs, ten, startTime=base + 9)) == ["m9"]
    assert messages(get(logs, ten, endTime=base + 1)) == ["m0"]
    assert messages(get(logs, ten, startTime=base + 5, endTime=base + 5)) == []
    assert messages(get(logs, ten, startTime=base + 100)) == []


def test_time_range_holds_while_paging(logs, ten):
    _, _, base = ten
    seen, token = [], None
    while True:
        page = get(logs, ten, startTime=base + 3, endTime=base + 8, limit=2, startFromHead=True,
                   **({"nextToken": token} if token else {}))
        seen += messages(page)
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert seen == ["m3", "m4", "m5", "m6", "m7"]


@pytest.mark.parametrize("limit", [1, 3, 4, 10, 10000])
def test_walking_forward_from_the_head_reaches_every_event_once(logs, ten, limit):
    page = get(logs, ten, limit=limit, startFromHead=True)
    seen = messages(page)
    token = page["nextForwardToken"]
    while True:
        # AWS: "If you are using a previous nextForwardToken value as the
        # nextToken in this operation, you must specify true for startFromHead."
        page = get(logs, ten, limit=limit, nextToken=token, startFromHead=True)
        seen += messages(page)
        if page["nextForwardToken"] == token:
            assert page["events"] == []
            break
        token = page["nextForwardToken"]
    assert seen == [f"m{i}" for i in range(10)]
    # At the end, the same token keeps coming back.
    assert get(logs, ten, limit=limit, nextToken=token, startFromHead=True)["nextForwardToken"] == token


@pytest.mark.parametrize("limit", [1, 3, 4, 10])
def test_walking_backward_from_the_tail_reaches_every_event_once(logs, ten, limit):
    page = get(logs, ten, limit=limit)
    pages = [messages(page)]
    token = page["nextBackwardToken"]
    while True:
        page = get(logs, ten, limit=limit, nextToken=token)
        if page["nextBackwardToken"] == token:
            assert page["events"] == []
            break
        pages.append(messages(page))
        token = page["nextBackwardToken"]
    # Each page is in ascending order; pages come newest first.
    seen = [message for page in reversed(pages) for message in page]
    assert seen == [f"m{i}" for i in range(10)]
    assert get(logs, ten, limit=limit, nextToken=token)["nextBackwardToken"] == token


def test_tokens_turn_around(logs, ten):
    first = get(logs, ten, limit=3, startFromHead=True)
    second = get(logs, ten, limit=3, nextToken=first["nextForwardToken"], startFromHead=True)
    assert messages(second) == ["m3", "m4", "m5"]
    back = get(logs, ten, limit=3, nextToken=second["nextBackwardToken"])
    assert messages(back) == ["m0", "m1", "m2"]
    forward_again = get(logs, ten, limit=3, nextToken=back["nextForwardToken"], startFromHead=True)
    assert messages(forward_again) == ["m3", "m4", "m5"]


def test_before_the_head_there_is_nothing(logs, ten):
    first = get(logs, ten, limit=3, startFromHead=True)
    before = get(logs, ten, limit=3, nextToken=first["nextBackwardToken"])
    assert before["events"] == []
    assert before["nextBackwardToken"] == first["nextBackwardToken"]
    assert messages(get(logs, ten, limit=3, nextToken=before["nextForwardToken"], startFromHead=True)) == [
        "m0", "m1", "m2"]


def test_tailing_with_the_forward_token_sees_new_events(logs):
    group = create_group(logs)
    stream = create_stream(logs, group)
    now = now_ms()
    put(logs, group, stream, [(now - 10, "old")])
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    token = page["nextForwardToken"]
    idle = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=token, startFromHead=True)
    assert idle["events"] == [] and idle["nextForwardToken"] == token
    put(logs, group, stream, [(now, "new-1"), (now + 1, "new-2")])
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=token, startFromHead=True)
    assert messages(page) == ["new-1", "new-2"]


def test_empty_stream(logs):
    group = create_group(logs)
    stream = create_stream(logs, group)
    page = logs.get_log_events(logGroupName=group, logStreamName=stream)
    assert page["events"] == []
    again = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=page["nextForwardToken"],
                                startFromHead=True)
    assert again["events"] == [] and again["nextForwardToken"] == page["nextForwardToken"]
    put(logs, group, stream, [(now_ms(), "first ever")])
    later = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=page["nextForwardToken"],
                                startFromHead=True)
    assert messages(later) == ["first ever"]


def test_same_timestamp_events_page_without_loss_or_repeat(logs):
    group = create_group(logs)
    stream = create_stream(logs, group)
    now = now_ms()
    put(logs, group, stream, [(now, f"a{index:02}") for index in range(25)])
    put(logs, group, stream, [(now, f"b{index:02}") for index in range(25)])
    for limit in (1, 7, 24):
        seen, token = [], None
        while True:
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=limit, startFromHead=True,
                                       **({"nextToken": token} if token else {}))
            seen += messages(page)
            if page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
        assert seen == [f"a{i:02}" for i in range(25)] + [f"b{i:02}" for i in range(25)], limit


def test_default_page_holds_ten_thousand_events(logs):
    group = create_group(logs)
    stream = create_stream(logs, group)
    now = now_ms()
    put(logs, group, stream, [(now - 1, "first")])
    put(logs, group, stream, [(now, f"e{index}") for index in range(10_000)])
    head = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert len(head["events"]) == 10_000
    assert head["events"][0]["message"] == "first"
    rest = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=head["nextForwardToken"],
                               startFromHead=True)
    assert messages(rest) == ["e9999"]


class TestResponseCap:
    """A page holds at most 1 MB: UTF-8 message bytes + 26 per event."""

    @pytest.fixture(scope="class")
    def big(self, logs):
        group = create_group(logs)
        stream = create_stream(logs, group)
        now = now_ms() - 60_000
        # 30 events of 100,000 bytes, written as "é" (2 bytes each): 3 MB.
        events = [(now + index, f"{index:04}" + "é" * 49_998) for index in range(30)]
        for start in range(0, 30, 10):
            put(logs, group, stream, events[start:start + 10])
        return group, stream, [message for _, message in events]

    @staticmethod
    def cost(page):
        return sum(len(event["message"].encode()) + EVENT_OVERHEAD for event in page["events"])

    def test_forward_pages_stay_under_1_mb_and_cover_the_stream(self, logs, big):
        group, stream, expected = big
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
        seen, sizes = [], []
        while True:
            assert self.cost(page) <= MAX_BATCH_BYTES
            sizes.append(len(page["events"]))
            seen += messages(page)
            token = page["nextForwardToken"]
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=token, startFromHead=True)
            if page["nextForwardToken"] == token:
                break
        assert seen == expected
        # 10 events of 100,026 bytes fit in 1 MiB, 11 do not; a server
        # counting characters (50,004 each) would return 20.
        assert sizes[0] == 10, sizes

    def test_backward_pages_stay_under_1_mb(self, logs, big):
        group, stream, expected = big
        page = logs.get_log_events(logGroupName=group, logStreamName=stream)
        assert self.cost(page) <= MAX_BATCH_BYTES
        assert messages(page) == expected[-10:]
        previous = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=page["nextBackwardToken"])
        assert messages(previous) == expected[10:20]

    def test_an_event_of_the_largest_size_comes_back_alone(self, logs):
        group = create_group(logs)
        stream = create_stream(logs, group)
        now = now_ms()
        largest = "ß" * ((MAX_BATCH_BYTES - EVENT_OVERHEAD) // 2)
        put(logs, group, stream, [(now - 2, "small before")])
        put(logs, group, stream, [(now - 1, largest)])
        put(logs, group, stream, [(now, "small after")])
        seen, token = [], None
        for _ in range(10):
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True,
                                       **({"nextToken": token} if token else {}))
            assert self.cost(page) <= MAX_BATCH_BYTES
            seen += messages(page)
            if page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
        assert seen == ["small before", largest, "small after"]
        filtered, _ = filter_all(logs, logGroupName=group)
        assert [e["message"] for e in filtered] == ["small before", largest, "small after"]

    def test_limit_below_the_cap_wins(self, logs, big):
        group, stream, expected = big
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=3)
        assert messages(page) == expected[:3]


class TestErrors:
    def test_invalid_tokens(self, logs, ten):
        invalid = ("InvalidParameterException", "The specified nextToken is invalid.", 400)
        for token in ["garbage", "f/123", "x/" + "0" * 56, "f/" + "a" * 56]:
            assert client_error(get, logs=logs, ten=ten, nextToken=token) == invalid, token

    def test_token_of_another_stream_is_refused(self, logs, ten):
        group, _, _ = ten
        other = create_stream(logs, group)
        put(logs, group, other, [(now_ms(), "other")])
        token = logs.get_log_events(logGroupName=group, logStreamName=other)["nextForwardToken"]
        assert client_error(get, logs=logs, ten=ten, nextToken=token) == (
            "InvalidParameterException", "The specified nextToken is invalid.", 400)

    @pytest.mark.parametrize("limit", [0, 10001])
    def test_limit_out_of_range(self, logs_unchecked, ten, limit):
        code, message, status = client_error(get, logs=logs_unchecked, ten=ten, limit=limit)
        assert (code, status) == ("InvalidParameterException", 400)
        assert f"Value '{limit}' at 'limit' failed to satisfy constraint" in message

    def test_limit_10001_matches_aws_wording(self, logs_unchecked, ten):
        assert client_error(get, logs=logs_unchecked, ten=ten, limit=10001) == (
            "InvalidParameterException",
            "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
            "Member must have value less than or equal to 10000",
            400,
        )

    def test_missing_stream_and_group(self, logs, ten, name):
        group, _, _ = ten
        assert client_error(logs.get_log_events, logGroupName=group, logStreamName="missing") == (
            "ResourceNotFoundException", "The specified log stream does not exist.", 400)
        assert client_error(logs.get_log_events, logGroupName=name, logStreamName="missing") == (
            "ResourceNotFoundException", "The specified log group does not exist.", 400)

    def test_group_by_identifier(self, logs, ten):
        group, stream, _ = ten
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
        by_arn = logs.get_log_events(logGroupIdentifier=arn, logStreamName=stream)
        assert messages(by_arn) == [f"m{i}" for i in range(10)]
        assert messages(logs.get_log_events(logGroupIdentifier=group, logStreamName=stream, limit=1)) == ["m9"]
        assert client_error(logs.get_log_events, logGroupName=group, logGroupIdentifier=arn,
                            logStreamName=stream) == (
            "ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.", 400)
        code, _, status = client_error(logs.get_log_events, logStreamName=stream)
        assert (code, status) == ("InvalidParameterException", 400)

    def test_old_events_within_fourteen_days_are_readable(self, logs):
        group = create_group(logs)
        stream = create_stream(logs, group)
        old = now_ms() - 13 * DAY
        put(logs, group, stream, [(old, "two weeks ago, almost")])
        assert messages(logs.get_log_events(logGroupName=group, logStreamName=stream)) == ["two weeks ago, almost"]


def test_same_timestamp_events_page_backward_without_loss_or_repeat(logs):
    group = create_group(logs)
    stream = create_stream(logs, group)
    now = now_ms()
    put(logs, group, stream, [(now, f"a{index:02}") for index in range(30)])
    put(logs, group, stream, [(now, f"b{index:02}") for index in range(30)])
    expected = [f"a{i:02}" for i in range(30)] + [f"b{i:02}" for i in range(30)]
    for limit in (1, 7, 29):
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=limit)
        pages = [messages(page)]
        token = page["nextBackwardToken"]
        while True:
            page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=limit, nextToken=token)
            if page["nextBackwardToken"] == token:
                break
            pages.append(messages(page))
            token = page["nextBackwardToken"]
        assert [m for page in reversed(pages) for m in page] == expected, limit
