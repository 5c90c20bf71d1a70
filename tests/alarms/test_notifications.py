"""The alerting loop end to end with real processes: log lines → metric
filter → alarm → SNS topic → an SNS-style webhook, a Slack-format webhook
and a mailbox on a real SMTP server — driven by the real aws CLI. Also:
a restart in the middle of an ALARM episode neither repeats nor loses a
notification."""

import json
import re
import time
import urllib.request

import pytest

from conftest import AwsCli, make_client
from harness import ArgusServer
from receivers import Mailbox, Receiver, body_text, confirm_via_link, envelope_of, verify_signature

ALARM = "pacs-backend-error-rate"
SUBJECT_ALARM = f'ALARM: "{ALARM}" in US East (N. Virginia)'
SUBJECT_OK = f'OK: "{ALARM}" in US East (N. Virginia)'


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def mailbox():
    running = Mailbox()
    yield running
    running.close()


def server_now_ms(server):
    return int(time.time() * 1000) + server.advance_clock(0)["offset_ms"]


def alarm_notifications(receiver, path, state):
    found = []
    for request in receiver.received(path, status=200):
        if request["headers"].get("x-amz-sns-message-type") != "Notification":
            continue
        message = json.loads(envelope_of(request)["Message"])
        if message.get("NewStateValue") == state:
            found.append(message)
    return found


def slack_posts(receiver, state):
    return [json.loads(r["body"]) for r in receiver.received("/slack", status=200) if json.loads(r["body"])["text"].startswith(f"{state}: {ALARM}")]


def mails(mailbox, subject):
    return [m for m in mailbox.messages if m["message"]["subject"] == subject]


def subscribe_all(aws, receiver, mailbox, topic_arn):
    """The PACS setup: an https-style webhook, a Slack webhook and an email
    address, each confirmed the way its owner would confirm it."""
    aws.json("sns", "subscribe", "--topic-arn", topic_arn, "--protocol", "http", "--notification-endpoint", receiver.url("/pacs-webhook"))
    envelope = envelope_of(receiver.wait_for("/pacs-webhook")[0])
    verify_signature(envelope)
    assert confirm_via_link(envelope["SubscribeURL"])[0] == 200

    aws.json(
        "sns", "subscribe", "--topic-arn", topic_arn, "--protocol", "http", "--notification-endpoint", receiver.url("/slack"),
        "--attributes", json.dumps({"WebhookFormat": "slack"}),
    )
    slack_text = json.loads(receiver.wait_for("/slack")[0]["body"])["text"]
    assert confirm_via_link(re.search(r"<([^|>]+)\|Confirm subscription>", slack_text).group(1))[0] == 200

    aws.json("sns", "subscribe", "--topic-arn", topic_arn, "--protocol", "email", "--notification-endpoint", "oncall@hospital.example")
    link = re.search(r"Confirm subscription: (\S+)", body_text(mailbox.wait_for()[0])).group(1)
    assert confirm_via_link(link)[0] == 200

    subscriptions = aws.json("sns", "list-subscriptions-by-topic", "--topic-arn", topic_arn)["Subscriptions"]
    assert len(subscriptions) == 3 and all(s["SubscriptionArn"].startswith(topic_arn + ":") for s in subscriptions), subscriptions


def put_errors(aws, group, stream, at_ms, count):
    events = [{"timestamp": at_ms + i, "message": f'ts=2026-12-02 level="ERROR" msg="DICOM store failed" attempt={i}'} for i in range(count)]
    events.append({"timestamp": at_ms + count, "message": 'level="INFO" Request completed duration=123'})
    aws.json("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", stream, "--log-events", json.dumps(events))


def test_metric_filter_alarm_topic_webhook_slack_and_email(receiver, mailbox, server_factory):
    server = server_factory("--test-clock", "--smtp-url", mailbox.url)
    if True:
        aws = AwsCli(server)
        group, stream = "/aws/ecs/pacs-backend", "backend/1"
        aws.json("logs", "create-log-group", "--log-group-name", group)
        aws.json("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", stream)
        aws.json(
            "logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "PACSBackendErrors",
            "--filter-pattern", "ERROR",
            "--metric-transformations", "metricName=PACSBackendErrors,metricNamespace=PACS/Backend,metricValue=1",
        )
        topic = aws.json("sns", "create-topic", "--name", "pacs-alerts")["TopicArn"]
        subscribe_all(aws, receiver, mailbox, topic)
        aws.json(
            "cloudwatch", "put-metric-alarm", "--alarm-name", ALARM, "--alarm-description", "Backend errors above 10 a minute",
            "--namespace", "PACS/Backend", "--metric-name", "PACSBackendErrors", "--statistic", "Sum",
            "--period", "60", "--evaluation-periods", "2", "--threshold", "10", "--comparison-operator", "GreaterThanThreshold",
            "--treat-missing-data", "notBreaching", "--alarm-actions", topic, "--ok-actions", topic,
        )

        # Two minutes with 12 ERROR lines each; the alarm fires once both are complete.
        now = server_now_ms(server)
        minute = now - now % 60_000
        put_errors(aws, group, stream, minute + 1_000, 12)
        server.advance_clock(minute + 61_000 - now)
        put_errors(aws, group, stream, minute + 61_000, 12)
        server.advance_clock(60_000 + 4_000)

        receiver.wait_for("/pacs-webhook", where=lambda r: '\\"NewStateValue\\":\\"ALARM\\"' in r["body"])
        receiver.wait_for("/slack", where=lambda r: json.loads(r["body"])["text"].startswith("ALARM: "))
        mailbox.wait_for(where=lambda m: m["message"]["subject"] == SUBJECT_ALARM)
        time.sleep(1.5)  # anything extra would arrive now
        [webhook] = alarm_notifications(receiver, "/pacs-webhook", "ALARM")
        assert webhook["AlarmName"] == ALARM and webhook["OldStateValue"] == "OK"
        assert webhook["NewStateReason"].startswith("Threshold Crossed: 2 datapoints [12.0 (")
        assert webhook["NewStateReason"].endswith("were greater than the threshold (10.0).")
        assert webhook["Trigger"]["MetricName"] == "PACSBackendErrors" and webhook["Trigger"]["Threshold"] == 10.0
        assert webhook["AlarmActions"] == [topic]
        [request] = [r for r in receiver.received("/pacs-webhook") if '\\"NewStateValue\\":\\"ALARM\\"' in r["body"]]
        assert envelope_of(request)["Subject"] == SUBJECT_ALARM
        verify_signature(envelope_of(request))
        [slack] = slack_posts(receiver, "ALARM")
        card = json.dumps(slack)
        assert "Threshold Crossed" in card and "View alarm" in card
        link = re.search(r"<(http[^|>]+/_argus/alarms/[^|>]+)\|View alarm", card).group(1)
        with urllib.request.urlopen(link, timeout=5) as response:
            assert json.loads(response.read())["Alarm"]["StateValue"] == "ALARM"
        [mail] = mails(mailbox, SUBJECT_ALARM)
        text = body_text(mail)
        assert f'"{ALARM}" in the US East (N. Virginia) region has entered the ALARM state' in text
        assert "for at least 2 of the last 2 period(s) of 60 seconds" in text

        # The errors stop. CloudWatch keeps evaluating the most recent real
        # datapoints while the evaluation range still holds two of them, so
        # the alarm returns to OK a few quiet minutes later — and says so once.
        def back_to_ok():
            return [m for m in alarm_notifications(receiver, "/pacs-webhook", "OK") if m["OldStateValue"] == "ALARM"]

        for _ in range(5):
            server.advance_clock(60_000)
            time.sleep(1.2)
            if back_to_ok():
                break
        mailbox.wait_for(count=2, where=lambda m: m["message"]["subject"] == SUBJECT_OK)
        receiver.wait_for("/slack", count=2, where=lambda r: json.loads(r["body"])["text"].startswith("OK: "))
        time.sleep(1.5)
        [ok] = back_to_ok()
        assert ok["NewStateReason"].startswith("Threshold Crossed:") and "[NonBreaching]" in ok["NewStateReason"], ok
        # INSUFFICIENT_DATA → OK at creation, then ALARM → OK: one notification each, everywhere.
        assert len(alarm_notifications(receiver, "/pacs-webhook", "OK")) == 2
        assert len(slack_posts(receiver, "OK")) == 2 and len(mails(mailbox, SUBJECT_OK)) == 2
        assert len(alarm_notifications(receiver, "/pacs-webhook", "ALARM")) == 1

        # The PACS notification test script: set-alarm-state to ALARM and back.
        aws.run("cloudwatch", "set-alarm-state", "--alarm-name", ALARM, "--state-value", "ALARM", "--state-reason", "Testing PACS alerting")
        aws.run("cloudwatch", "set-alarm-state", "--alarm-name", ALARM, "--state-value", "OK", "--state-reason", "Testing PACS alerting done")
        receiver.wait_for("/pacs-webhook", where=lambda r: "Testing PACS alerting done" in r["body"])
        mailbox.wait_for(count=2, where=lambda m: m["message"]["subject"] == SUBJECT_ALARM)
        mailbox.wait_for(count=3, where=lambda m: m["message"]["subject"] == SUBJECT_OK)
        receiver.wait_for("/slack", where=lambda r: "Testing PACS alerting done" in r["body"])
        tested = [m for m in alarm_notifications(receiver, "/pacs-webhook", "ALARM") if m["NewStateReason"] == "Testing PACS alerting"]
        assert len(tested) == 1

        history = aws.json("cloudwatch", "describe-alarm-history", "--alarm-name", ALARM, "--history-item-type", "Action")["AlarmHistoryItems"]
        assert history and all(item["HistorySummary"].startswith("Successfully executed action " + topic) for item in history), history

        metrics = urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=5).read().decode()
        assert re.search(r"^argus_alarm_state_transitions_total [4-9]", metrics, re.M), metrics
        assert re.search(r"^argus_sns_deliveries_succeeded_total \d\d", metrics, re.M), metrics


def test_a_restart_during_an_alarm_episode_neither_repeats_nor_loses_a_notification(receiver):
    """Real time, 10-second periods. The webhook is down when the alarm
    fires; Argus is killed (-9) while the notification waits for its retry;
    after the restart it is delivered exactly once, and the return to OK is
    notified exactly once."""
    server = ArgusServer()
    server.start()
    try:
        sns, cw = make_client(server, "sns"), make_client(server, "cloudwatch")
        topic = sns.create_topic(
            Name="restart-alerts",
            Attributes={"DeliveryPolicy": json.dumps({"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 20}}})},
        )["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.url("/restart-hook"))
        confirm_via_link(envelope_of(receiver.wait_for("/restart-hook")[0])["SubscribeURL"])
        cw.put_metric_alarm(
            AlarmName="restart-alarm", Namespace="Restart", MetricName="Errors", Statistic="Sum", Period=10, EvaluationPeriods=1,
            Threshold=10, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
            AlarmActions=[topic], OKActions=[topic],
        )
        receiver.statuses["/restart-hook"] = 503
        cw.put_metric_data(Namespace="Restart", MetricData=[{"MetricName": "Errors", "Value": 12, "StorageResolution": 1}])

        receiver.wait_for("/restart-hook", status=503, timeout=40, where=lambda r: '\\"NewStateValue\\":\\"ALARM\\"' in r["body"])
        server.kill()
        receiver.statuses["/restart-hook"] = 200
        server.start()

        receiver.wait_for("/restart-hook", status=200, timeout=30, where=lambda r: '\\"NewStateValue\\":\\"ALARM\\"' in r["body"])
        receiver.wait_for("/restart-hook", status=200, timeout=40, where=lambda r: '\\"NewStateValue\\":\\"OK\\"' in r["body"])
        time.sleep(3)
        assert len(alarm_notifications(receiver, "/restart-hook", "ALARM")) == 1
        assert len(alarm_notifications(receiver, "/restart-hook", "OK")) == 1
        history = cw.describe_alarm_history(AlarmName="restart-alarm", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
        to_alarm = [item for item in history if json.loads(item["HistoryData"])["newState"]["stateValue"] == "ALARM"]
        assert len(to_alarm) == 1, history
    finally:
        server.close()
