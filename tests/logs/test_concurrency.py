"""Concurrent clients: creation races have one winner, deleting a group
under writers never yields a server error nor leaks old events into a
group recreated under the same name."""

import collections
import concurrent.futures
import threading

from botocore.exceptions import ClientError

from conftest import make_client
from support import all_forward, create_group, now_ms, unique


def outcome(call, **kwargs):
    try:
        call(**kwargs)
        return "ok"
    except ClientError as error:
        return error.response["Error"]["Code"]


def test_concurrent_creates_of_one_group_have_exactly_one_winner(server):
    name = unique()
    clients = [make_client(server, "logs") for _ in range(8)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda c: outcome(c.create_log_group, logGroupName=name), clients * 2))
    assert collections.Counter(results) == {"ok": 1, "ResourceAlreadyExistsException": 15}


def test_concurrent_creates_of_one_stream_have_exactly_one_winner(server, logs):
    group = create_group(logs)
    clients = [make_client(server, "logs") for _ in range(8)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(
            lambda c: outcome(c.create_log_stream, logGroupName=group, logStreamName="race"), clients * 2))
    assert collections.Counter(results) == {"ok": 1, "ResourceAlreadyExistsException": 15}
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]] == ["race"]


def test_deleting_a_group_under_writers(server, logs):
    group = create_group(logs)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    acknowledged = threading.Semaphore(0)
    deleted = threading.Event()

    def write(writer):
        client = make_client(server, "logs")
        results = []
        for batch in range(2000):
            code = outcome(client.put_log_events, logGroupName=group, logStreamName="s",
                           logEvents=[{"timestamp": now, "message": f"w{writer}-b{batch}-{i}"} for i in range(50)])
            results.append(code)
            if code == "ok":
                acknowledged.release()
            elif deleted.is_set() and len(results) > 5 and results[-5:] == [code] * 5:
                break  # the group is gone and stays gone
        return results

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(write, writer) for writer in range(4)]
        for _ in range(20):  # let the writers get going
            assert acknowledged.acquire(timeout=60)
        logs.delete_log_group(logGroupName=group)
        deleted.set()
        results = [code for future in futures for code in future.result()]

    counts = collections.Counter(results)
    assert set(counts) <= {"ok", "ResourceNotFoundException"}, counts
    assert counts["ResourceNotFoundException"] > 0
    assert server.alive()
    # The same name again: a new group with none of the old events.
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    assert all_forward(logs, group, "s") == []
    assert logs.filter_log_events(logGroupName=group)["events"] == []
