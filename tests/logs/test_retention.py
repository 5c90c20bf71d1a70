"""Retention that deletes: PutRetentionPolicy, then the product clock moves
past it (`--test-clock`, `POST /_argus/clock`). Expired events vanish from
GetLogEvents and FilterLogEvents at once; `POST /_argus/compact` then
deletes the files that hold only expired events and rewrites the one that
straddles the boundary, so storedBytes goes down and equals the group's
bytes on disk. Expired events never come back: not after a restart, not
when the retention policy is removed."""

from conftest import make_client
from support import (DAY, HOUR, MINUTE, all_backward, all_forward, filter_all, group_files, now_ms, put,
                     segment_files, stored_bytes, unique, utc_day)

RETENTION_DAYS = 5


def pairs(events):
    return [(event["timestamp"], event["message"]) for event in events]


def triples(events):
    return [(event["timestamp"], event["logStreamName"], event["message"]) for event in events]


def disk_bytes(server, group):
    return sum(group_files(server, group).values())


def put_days(logs, group, midnight, now):
    """Streams a and b, four events on each of the four UTC days before
    today (at 02:00, 08:00, 14:00 and 20:00; b a minute after a) and two
    from today (a few minutes ago, never before midnight). Returns every
    event as (timestamp, stream, message)."""
    events = []
    for stream, shift in (("a", 0), ("b", MINUTE)):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        for days_ago in (4, 3, 2, 1):
            day = [(midnight - days_ago * DAY + hour * HOUR + shift, f"{stream} day-{days_ago} {hour:02}h ERROR")
                   for hour in (2, 8, 14, 20)]
            put(logs, group, stream, day)
            events += [(timestamp, stream, text) for timestamp, text in day]
        today = [(max(now - 3 * MINUTE, midnight) + shift, f"{stream} today INFO")]
        put(logs, group, stream, today)
        events += [(timestamp, stream, text) for timestamp, text in today]
    return sorted(events)


def visible(logs, group):
    """What every read returns, checked to agree: FilterLogEvents (whole,
    paged, with a pattern) and GetLogEvents per stream in both directions."""
    everything = triples(logs.filter_log_events(logGroupName=group)["events"])
    paged, _ = filter_all(logs, logGroupName=group, limit=3)
    assert triples(paged) == everything
    errors = triples(logs.filter_log_events(logGroupName=group, filterPattern="ERROR")["events"])
    assert errors == [event for event in everything if "ERROR" in event[2]]
    for stream in ("a", "b"):
        forward = pairs(all_forward(logs, group, stream, limit=4))
        assert forward == [(t, m) for t, s, m in everything if s == stream]
        assert pairs(all_backward(logs, group, stream, limit=4)) == forward
    return everything


def test_retention_hides_expired_events_then_compaction_deletes_them_for_good(server_factory):
    server = server_factory("--test-clock")
    logs = make_client(server, "logs")
    now = now_ms()
    midnight = now - now % DAY
    expiring, kept = unique(), unique()
    for group in (expiring, kept):
        logs.create_log_group(logGroupName=group)
        events = put_days(logs, group, midnight, now)
    server.flush()
    server.compact()
    days = sorted({utc_day(t) for t, _, _ in events})
    assert len(days) == 5
    files_before = group_files(server, expiring)
    assert sorted(path.split("/")[0] for path in segment_files(files_before)) == [f"dt={day}" for day in days]
    bytes_before = stored_bytes(logs, expiring)
    assert bytes_before == disk_bytes(server, expiring) > 0
    kept_bytes = stored_bytes(logs, kept)
    assert kept_bytes == disk_bytes(server, kept) > 0

    logs.put_retention_policy(logGroupName=expiring, retentionInDays=RETENTION_DAYS)
    assert visible(logs, expiring) == events, "nothing is older than 5 days yet"

    # Move to 11:00 two days from now: the cutoff (now - 5 days) falls on
    # 11:00 of the day three days ago, between its 08:00 and 14:00 events.
    server.advance_clock(midnight + 2 * DAY + 11 * HOUR - now_ms())
    cutoff = midnight - 3 * DAY + 11 * HOUR
    inside = [event for event in events if event[0] >= cutoff]
    assert len(inside) == 2 * (2 + 4 + 4 + 1)
    assert visible(logs, expiring) == inside, "expired events are hidden at once"
    assert visible(logs, kept) == events, "a group without retention keeps everything"

    server.flush()
    server.compact()
    files_after = group_files(server, expiring)
    straddling_day, expired_day = utc_day(cutoff), utc_day(midnight - 4 * DAY)
    assert [path for path in files_after if path.startswith(f"dt={expired_day}/")] == []
    straddling = [path for path in segment_files(files_after) if path.startswith(f"dt={straddling_day}/")]
    assert len(straddling) == 1
    assert straddling[0] not in files_before, "the straddling file was rewritten"
    assert stored_bytes(logs, expiring) < bytes_before
    assert stored_bytes(logs, expiring) == disk_bytes(server, expiring)
    assert stored_bytes(logs, kept) == kept_bytes == disk_bytes(server, kept)
    assert visible(logs, expiring) == inside
    assert visible(logs, kept) == events

    # After a restart the product clock is the real one again, so the
    # cutoff is five days before today: every event put would be inside
    # it, and only what is on disk can come back.
    server.restart()
    logs = make_client(server, "logs")
    assert visible(logs, expiring) == inside
    logs.delete_retention_policy(logGroupName=expiring)
    assert visible(logs, expiring) == inside
    assert visible(logs, kept) == events
    assert stored_bytes(logs, expiring) == disk_bytes(server, expiring)


def test_a_group_whose_events_all_expired_holds_no_files(server_factory):
    server = server_factory("--test-clock")
    logs = make_client(server, "logs")
    group = unique()
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    put(logs, group, "s", [(now - HOUR + index * MINUTE, f"event {index}") for index in range(30)])
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    assert len(all_forward(logs, group, "s")) == 30

    server.advance_clock(2 * DAY)
    # Still in memory: hidden at once.
    assert logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)["events"] == []
    assert logs.filter_log_events(logGroupName=group)["events"] == []
    server.flush()
    assert logs.filter_log_events(logGroupName=group)["events"] == []
    server.compact()
    assert segment_files(group_files(server, group)) == []
    assert stored_bytes(logs, group) == disk_bytes(server, group) == 0
    assert logs.filter_log_events(logGroupName=group)["events"] == []

    # New events keep flowing in on the moved clock.
    later = now_ms() + 2 * DAY
    put(logs, group, "s", [(later, "after the expiry")])
    assert pairs(all_forward(logs, group, "s")) == [(later, "after the expiry")]
