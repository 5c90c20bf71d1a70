"""The main user flows through the real `aws logs …` CLI (the README
walkthrough): create, put, get, filter, describe, retention, tags, delete;
CLI pagination; errors as the CLI prints them."""

import json

from harness import REGION
from support import now_ms

ACCOUNT = "000000000000"


def test_readme_walkthrough(aws, name):
    group, stream = name, "web-1"
    aws.json("logs", "create-log-group", "--log-group-name", group, "--tags", "team=obs,env=dev")
    aws.json("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", stream)

    now = now_ms()
    events = [{"timestamp": now - 3000, "message": "GET /users 200"},
              {"timestamp": now - 2000, "message": "ERROR database timeout"},
              {"timestamp": now - 1000, "message": "GET /orders 200 ünïcode"}]
    put = aws.json("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", stream,
                   "--log-events", json.dumps(events))
    assert put["nextSequenceToken"]
    assert "rejectedLogEventsInfo" not in put

    got = aws.json("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream,
                   "--start-from-head")
    assert [(e["timestamp"], e["message"]) for e in got["events"]] == [
        (e["timestamp"], e["message"]) for e in events]
    assert got["nextForwardToken"].startswith("f/") and got["nextBackwardToken"].startswith("b/")

    filtered = aws.json("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "ERROR")
    assert [(e["logStreamName"], e["message"]) for e in filtered["events"]] == [(stream, "ERROR database timeout")]

    groups = aws.json("logs", "describe-log-groups", "--log-group-name-prefix", group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    assert groups[0]["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
    assert groups[0]["storedBytes"] > 0

    streams = aws.json("logs", "describe-log-streams", "--log-group-name", group, "--order-by", "LastEventTime",
                       "--descending")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [stream]
    assert streams[0]["firstEventTimestamp"] == now - 3000
    assert streams[0]["lastEventTimestamp"] == now - 1000
    assert streams[0]["storedBytes"] > 0

    aws.json("logs", "put-retention-policy", "--log-group-name", group, "--retention-in-days", "30")
    groups = aws.json("logs", "describe-log-groups", "--log-group-name-prefix", group)["logGroups"]
    assert groups[0]["retentionInDays"] == 30

    aws.json("logs", "tag-log-group", "--log-group-name", group, "--tags", "cost=42")
    assert aws.json("logs", "list-tags-log-group", "--log-group-name", group)["tags"] == {
        "team": "obs", "env": "dev", "cost": "42"}
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    aws.json("logs", "tag-resource", "--resource-arn", arn, "--tags", "owner=me")
    aws.json("logs", "untag-resource", "--resource-arn", arn, "--tag-keys", "env", "cost")
    assert aws.json("logs", "list-tags-for-resource", "--resource-arn", arn)["tags"] == {"team": "obs", "owner": "me"}
    aws.json("logs", "untag-log-group", "--log-group-name", group, "--tags", "owner")
    assert aws.json("logs", "list-tags-log-group", "--log-group-name", group)["tags"] == {"team": "obs"}

    aws.json("logs", "delete-retention-policy", "--log-group-name", group)
    groups = aws.json("logs", "describe-log-groups", "--log-group-name-prefix", group)["logGroups"]
    assert "retentionInDays" not in groups[0]

    aws.json("logs", "delete-log-stream", "--log-group-name", group, "--log-stream-name", stream)
    assert aws.json("logs", "describe-log-streams", "--log-group-name", group)["logStreams"] == []
    aws.json("logs", "delete-log-group", "--log-group-name", group)
    assert aws.json("logs", "describe-log-groups", "--log-group-name-prefix", group)["logGroups"] == []


def test_errors_as_the_cli_prints_them(aws, name):
    aws.json("logs", "create-log-group", "--log-group-name", name)
    stderr = aws.error("logs", "create-log-group", "--log-group-name", name)
    assert ("An error occurred (ResourceAlreadyExistsException) when calling the CreateLogGroup operation: "
            "The specified log group already exists") in stderr
    stderr = aws.error("logs", "put-log-events", "--log-group-name", name, "--log-stream-name", "missing",
                       "--log-events", f"timestamp={now_ms()},message=hi")
    assert ("An error occurred (ResourceNotFoundException) when calling the PutLogEvents operation: "
            "The specified log stream does not exist.") in stderr
    stderr = aws.error("logs", "put-retention-policy", "--log-group-name", name, "--retention-in-days", "2")
    assert "(InvalidParameterException)" in stderr and "retentionInDays" in stderr
    stderr = aws.error("logs", "describe-log-groups", "--log-group-name-prefix", "/a", "--log-group-name-pattern", "b")
    assert ("(InvalidParameterException) when calling the DescribeLogGroups operation: "
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.") in stderr


def test_cli_pagination_walks_every_page(aws, logs, name):
    """The CLI follows nextToken itself; --page-size makes it take many
    pages. (Set-up through boto3: the CLI costs half a second a call.)"""
    groups = [f"{name}/g{index}" for index in range(5)]
    for group in groups:
        logs.create_log_group(logGroupName=group)
    listed = aws.json("logs", "describe-log-groups", "--log-group-name-prefix", name, "--page-size", "2")
    assert [g["logGroupName"] for g in listed["logGroups"]] == groups

    first = aws.json("logs", "describe-log-groups", "--log-group-name-prefix", name, "--max-items", "3")
    assert [g["logGroupName"] for g in first["logGroups"]] == groups[:3]
    rest = aws.json("logs", "describe-log-groups", "--log-group-name-prefix", name, "--starting-token",
                    first["NextToken"])
    assert [g["logGroupName"] for g in rest["logGroups"]] == groups[3:]

    group = groups[0]
    now = now_ms()
    for stream in ("s1", "s2", "s3"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now + i, "message": f"{stream}-{i}"} for i in range(4)])
    streams = aws.json("logs", "describe-log-streams", "--log-group-name", group, "--page-size", "1")
    assert [s["logStreamName"] for s in streams["logStreams"]] == ["s1", "s2", "s3"]
    filtered = aws.json("logs", "filter-log-events", "--log-group-name", group, "--page-size", "5")
    assert sorted(e["message"] for e in filtered["events"]) == sorted(f"{s}-{i}" for s in ("s1", "s2", "s3")
                                                                      for i in range(4))
    assert [e["timestamp"] for e in filtered["events"]] == sorted(e["timestamp"] for e in filtered["events"])


def test_cli_get_log_events_tokens_and_sequence_token(aws, logs, name):
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    now = now_ms()
    first = aws.json("logs", "put-log-events", "--log-group-name", name, "--log-stream-name", "s",
                     "--log-events", f"timestamp={now},message=one")
    aws.json("logs", "put-log-events", "--log-group-name", name, "--log-stream-name", "s",
             "--sequence-token", first["nextSequenceToken"], "--log-events", f"timestamp={now + 1},message=two")
    head = aws.json("logs", "get-log-events", "--log-group-name", name, "--log-stream-name", "s",
                    "--start-from-head", "--limit", "1")
    assert [e["message"] for e in head["events"]] == ["one"]
    nxt = aws.json("logs", "get-log-events", "--log-group-name", name, "--log-stream-name", "s",
                   "--next-token", head["nextForwardToken"], "--start-from-head", "--limit", "1")
    assert [e["message"] for e in nxt["events"]] == ["two"]
