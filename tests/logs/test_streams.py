"""Log streams through boto3: CreateLogStream, DeleteLogStream,
DescribeLogStreams (prefix, order, paging, statistics)."""

import pytest

from harness import REGION
from support import client_error, create_group, create_stream, now_ms, put

ACCOUNT = "000000000000"


def stream_names(response):
    return [stream["logStreamName"] for stream in response["logStreams"]]


def describe_all(logs, **request):
    """DescribeLogStreams followed to the end; returns (streams, pages)."""
    streams, token, pages = [], None, 0
    while True:
        page = logs.describe_log_streams(**request, **({"nextToken": token} if token else {}))
        assert len(page["logStreams"]) <= request.get("limit", 50)
        streams.extend(page["logStreams"])
        pages += 1
        token = page.get("nextToken")
        if not token:
            return streams, pages


def test_create_log_stream_and_describe_it(logs):
    group = create_group(logs)
    before = now_ms()
    logs.create_log_stream(logGroupName=group, logStreamName="web-1")
    [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["logStreamName"] == "web-1"
    assert stream["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:web-1"
    assert before - 1000 <= stream["creationTime"] <= now_ms() + 1000
    assert stream["storedBytes"] == 0
    for absent in ("firstEventTimestamp", "lastEventTimestamp", "lastIngestionTime"):
        assert absent not in stream, stream


def test_duplicate_stream_is_refused(logs):
    group = create_group(logs)
    create_stream(logs, group, "s")
    assert client_error(logs.create_log_stream, logGroupName=group, logStreamName="s") == (
        "ResourceAlreadyExistsException", "The specified log stream already exists", 400)


def test_same_stream_name_in_two_groups(logs):
    first, second = create_group(logs), create_group(logs)
    create_stream(logs, first, "shared")
    create_stream(logs, second, "shared")
    put(logs, first, "shared", [(now_ms(), "in first")])
    assert logs.get_log_events(logGroupName=second, logStreamName="shared")["events"] == []


def test_stream_in_missing_group(logs, name):
    assert client_error(logs.create_log_stream, logGroupName=name, logStreamName="s") == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)


@pytest.mark.parametrize("bad", ["a:b", "a*b"])
def test_colon_and_star_are_refused_in_stream_names(logs, bad):
    group = create_group(logs)
    code, message, status = client_error(logs.create_log_stream, logGroupName=group, logStreamName=bad)
    assert (code, status) == ("InvalidParameterException", 400)
    assert "'logStreamName'" in message


def test_stream_names_allow_spaces_slashes_and_unicode(logs):
    group = create_group(logs)
    name = "2024/01/02/[$LATEST] ünï cødé"
    create_stream(logs, group, name)
    put(logs, group, name, [(now_ms(), "hello")])
    assert stream_names(logs.describe_log_streams(logGroupName=group)) == [name]
    assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=name)["events"]] == ["hello"]


def test_stream_name_of_512_characters_is_accepted_and_513_refused(logs_unchecked):
    group = create_group(logs_unchecked)
    create_stream(logs_unchecked, group, "s" * 512)
    assert client_error(logs_unchecked.create_log_stream, logGroupName=group, logStreamName="s" * 513) == (
        "InvalidParameterException",
        "Invalid LogGroup or LogStream, both must have length less than or equal to 512.",
        400,
    )


def test_delete_log_stream_removes_it_and_its_events(logs):
    group = create_group(logs)
    create_stream(logs, group, "keep")
    create_stream(logs, group, "drop")
    now = now_ms()
    put(logs, group, "keep", [(now, "kept")])
    put(logs, group, "drop", [(now, "dropped")])
    logs.delete_log_stream(logGroupName=group, logStreamName="drop")
    assert stream_names(logs.describe_log_streams(logGroupName=group)) == ["keep"]
    assert client_error(logs.get_log_events, logGroupName=group, logStreamName="drop") == (
        "ResourceNotFoundException", "The specified log stream does not exist.", 400)
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]] == ["kept"]
    # The name can be reused; the new stream starts empty.
    create_stream(logs, group, "drop")
    assert logs.get_log_events(logGroupName=group, logStreamName="drop")["events"] == []
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]] == ["kept"]


def test_delete_missing_stream_and_missing_group(logs, name):
    group = create_group(logs)
    assert client_error(logs.delete_log_stream, logGroupName=group, logStreamName="nope") == (
        "ResourceNotFoundException", "The specified log stream does not exist.", 400)
    assert client_error(logs.delete_log_stream, logGroupName=name, logStreamName="nope") == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)


def test_statistics_are_filled_in_after_events(logs):
    group = create_group(logs)
    stream = create_stream(logs, group)
    now = now_ms()
    before = now
    put(logs, group, stream, [(now - 5000, "b"), (now - 4000, "c")])
    put(logs, group, stream, [(now - 9000, "a")])  # earlier than the first batch
    put(logs, group, stream, [(now - 1000, "d" * 500)])
    [info] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert info["firstEventTimestamp"] == now - 9000
    assert info["lastEventTimestamp"] == now - 1000
    assert before - 1000 <= info["lastIngestionTime"] <= now_ms() + 1000
    assert info["storedBytes"] > 0
    group_info = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert group_info["storedBytes"] > 0


def test_log_group_identifier_by_name_and_arn(logs):
    group = create_group(logs)
    create_stream(logs, group, "one")
    by_name = logs.describe_log_streams(logGroupIdentifier=group)
    by_arn = logs.describe_log_streams(logGroupIdentifier=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}")
    assert stream_names(by_name) == stream_names(by_arn) == ["one"]
    # The model's pattern for logGroupIdentifier has no `*`: the `arn` form
    # with the trailing `:*` is not an identifier.
    code, message, _ = client_error(logs.describe_log_streams,
                                    logGroupIdentifier=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*")
    assert code == "InvalidParameterException" and "'logGroupIdentifier'" in message
    assert client_error(logs.describe_log_streams, logGroupName=group, logGroupIdentifier=group) == (
        "ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.", 400)


def test_describe_log_streams_of_missing_group(logs, name):
    assert client_error(logs.describe_log_streams, logGroupName=name) == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)


class TestOrderingAndPaging:
    NAMES = ["api-1", "api-10", "api-2", "batch", "web-a", "web-b", "web-c"]

    @pytest.fixture(scope="class")
    def group(self, logs):
        """Streams whose last event times are not in name order, two of
        them tied, and one without events."""
        group = create_group(logs)
        now = now_ms()
        last_event = {"api-1": now - 500, "api-10": now - 100, "api-2": now - 900, "batch": None,
                      "web-a": now - 300, "web-b": now - 300, "web-c": now - 700}
        for name in self.NAMES:
            create_stream(logs, group, name)
            if last_event[name] is not None:
                put(logs, group, name, [(last_event[name] - 50, "first"), (last_event[name], "last")])
        return group, last_event

    def by_time(self, last_event):
        return sorted(self.NAMES, key=lambda n: (last_event[n] or 0, n))

    def test_default_order_is_by_name(self, logs, group):
        group, _ = group
        assert stream_names(logs.describe_log_streams(logGroupName=group)) == sorted(self.NAMES)

    def test_descending_by_name(self, logs, group):
        group, _ = group
        found = stream_names(logs.describe_log_streams(logGroupName=group, orderBy="LogStreamName", descending=True))
        assert found == sorted(self.NAMES, reverse=True)

    def test_prefix(self, logs, group):
        group, _ = group
        assert stream_names(logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="api-1")) == [
            "api-1", "api-10"]
        assert stream_names(logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="web-")) == [
            "web-a", "web-b", "web-c"]
        assert stream_names(logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="zzz")) == []

    def test_order_by_last_event_time(self, logs, group):
        group, last_event = group
        found = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime")["logStreams"]
        with_events = [s for s in found if "lastEventTimestamp" in s]
        stamps = [s["lastEventTimestamp"] for s in with_events]
        assert stamps == sorted(stamps)
        assert sorted(s["logStreamName"] for s in found) == sorted(self.NAMES)
        assert [s["logStreamName"] for s in with_events][-1] == "api-10"

    def test_order_by_last_event_time_descending(self, logs, group):
        group, last_event = group
        found = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
        with_events = [s for s in found if "lastEventTimestamp" in s]
        stamps = [s["lastEventTimestamp"] for s in with_events]
        assert stamps == sorted(stamps, reverse=True)
        assert with_events[0]["logStreamName"] == "api-10"
        assert sorted(s["logStreamName"] for s in found) == sorted(self.NAMES)

    @pytest.mark.parametrize("order", [{}, {"orderBy": "LogStreamName"},
                                       {"orderBy": "LogStreamName", "descending": True},
                                       {"orderBy": "LastEventTime"},
                                       {"orderBy": "LastEventTime", "descending": True}])
    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_paging_returns_the_unpaged_order(self, logs, group, order, limit):
        group, _ = group
        unpaged = stream_names(logs.describe_log_streams(logGroupName=group, **order))
        paged, pages = describe_all(logs, logGroupName=group, limit=limit, **order)
        assert [s["logStreamName"] for s in paged] == unpaged
        assert len(unpaged) == len(self.NAMES)
        assert pages >= -(-len(self.NAMES) // limit)

    def test_paging_with_prefix(self, logs, group):
        group, _ = group
        paged, _ = describe_all(logs, logGroupName=group, logStreamNamePrefix="web-", limit=1)
        assert [s["logStreamName"] for s in paged] == ["web-a", "web-b", "web-c"]

    def test_order_by_last_event_time_with_prefix_is_refused(self, logs, group):
        group, _ = group
        assert client_error(logs.describe_log_streams, logGroupName=group, orderBy="LastEventTime",
                            logStreamNamePrefix="api") == (
            "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.", 400)

    def test_unknown_order_is_refused(self, logs_unchecked, group):
        group, _ = group
        code, message, status = client_error(logs_unchecked.describe_log_streams, logGroupName=group, orderBy="Size")
        assert (code, status) == ("InvalidParameterException", 400)
        assert "'orderBy'" in message

    def test_token_for_another_order_is_refused(self, logs, group):
        group, _ = group
        token = logs.describe_log_streams(logGroupName=group, limit=1)["nextToken"]
        assert client_error(logs.describe_log_streams, logGroupName=group, limit=1, orderBy="LastEventTime",
                            nextToken=token) == (
            "InvalidParameterException", "The specified nextToken is invalid.", 400)

    def test_garbage_token_is_refused(self, logs, group):
        group, _ = group
        assert client_error(logs.describe_log_streams, logGroupName=group, nextToken="%%%") == (
            "InvalidParameterException", "The specified nextToken is invalid.", 400)

    @pytest.mark.parametrize("limit", [0, 51])
    def test_limit_out_of_range(self, logs_unchecked, group, limit):
        group, _ = group
        code, message, status = client_error(logs_unchecked.describe_log_streams, logGroupName=group, limit=limit)
        assert (code, status) == ("InvalidParameterException", 400)
        assert "'limit'" in message


def test_many_streams_default_page_of_fifty(logs):
    group = create_group(logs)
    for index in range(55):
        create_stream(logs, group, f"s{index:03}")
    first = logs.describe_log_streams(logGroupName=group)
    assert len(first["logStreams"]) == 50
    rest = logs.describe_log_streams(logGroupName=group, nextToken=first["nextToken"])
    assert stream_names(rest) == [f"s{index:03}" for index in range(50, 55)]
    assert "nextToken" not in rest
