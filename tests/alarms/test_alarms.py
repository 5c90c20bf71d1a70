"""CloudWatch alarms through boto3 on each protocol and the aws CLI: the
API, CloudWatch's validation errors, evaluation on the server's (test)
clock, composite alarms, history and tags."""

import json
import re
import time
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from cloudwatch_clients import cloudwatch_client


def unique(prefix="alarm"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_code(caught):
    return caught.value.response["Error"]["Code"]


def metric_alarm(cw, name, **overrides):
    params = dict(
        AlarmName=name,
        AlarmDescription="backend errors",
        MetricName="PACSBackendErrors",
        Namespace="PACS/Application",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=["arn:aws:sns:us-east-1:000000000000:pacs-alerts"],
    )
    params.update(overrides)
    cw.put_metric_alarm(**params)


def describe(cw, name, types=("MetricAlarm", "CompositeAlarm")):
    found = cw.describe_alarms(AlarmNames=[name], AlarmTypes=list(types))
    alarms = found["MetricAlarms"] + found["CompositeAlarms"]
    assert len(alarms) == 1, found
    return alarms[0]


def wait_state(cw, name, state, timeout=15.0):
    deadline = time.time() + timeout
    while True:
        alarm = describe(cw, name)
        if alarm["StateValue"] == state or time.time() > deadline:
            assert alarm["StateValue"] == state, alarm
            return alarm
        time.sleep(0.2)


def evaluations_so_far(server):
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=5) as response:
        text = response.read().decode()
    return float(re.search(r"^argus_alarm_evaluations_total (\S+)$", text, re.M).group(1))


def wait_for_evaluations_after(server, before, timeout=15.0):
    """Waits until the evaluator has run since `before` was read, plus one
    more wake (an evaluation pass that had already begun may not include
    the newest alarm)."""
    deadline = time.time() + timeout
    while evaluations_so_far(server) <= before:
        assert time.time() < deadline, "the evaluator did not run"
        time.sleep(0.1)
    time.sleep(0.6)


def test_put_describe_update_and_delete(cw):
    name = unique()
    metric_alarm(cw, name, Dimensions=[{"Name": "Service", "Value": "pacs-backend"}], Tags=[{"Key": "team", "Value": "pacs"}])
    alarm = describe(cw, name)
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"
    assert alarm["Dimensions"] == [{"Name": "Service", "Value": "pacs-backend"}]
    assert alarm["Threshold"] == 10.0 and alarm["EvaluationPeriods"] == 2 and alarm["Period"] == 60
    assert alarm["ActionsEnabled"] is True and alarm["OKActions"] == [] and alarm["InsufficientDataActions"] == []
    created = alarm["AlarmConfigurationUpdatedTimestamp"]

    # An update replaces the configuration and keeps the state.
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="testing")
    metric_alarm(cw, name, Threshold=20, TreatMissingData="notBreaching", DatapointsToAlarm=1)
    updated = describe(cw, name)
    assert updated["Threshold"] == 20.0 and updated["TreatMissingData"] == "notBreaching" and updated["DatapointsToAlarm"] == 1
    assert "Dimensions" in updated and updated["Dimensions"] == []
    assert updated["AlarmConfigurationUpdatedTimestamp"] >= created
    arn = updated["AlarmArn"]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "pacs"}]

    history = cw.describe_alarm_history(AlarmName=name)["AlarmHistoryItems"]
    summaries = [item["HistorySummary"] for item in history]
    assert summaries[-1] == f'Alarm "{name}" created'
    assert f'Alarm "{name}" updated' in summaries
    assert "Alarm updated from INSUFFICIENT_DATA to OK" in summaries
    state_items = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert len(state_items) == 1
    data = json.loads(state_items[0]["HistoryData"])
    assert data["oldState"]["stateValue"] == "INSUFFICIENT_DATA" and data["newState"]["stateReason"] == "testing"

    cw.delete_alarms(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == []


def test_describe_filters_and_paging(cw, server):
    prefix = unique("filter")
    evaluations = evaluations_so_far(server)
    for index in range(5):
        metric_alarm(cw, f"{prefix}-{index}", AlarmActions=[f"arn:aws:sns:us-east-1:000000000000:topic-{index % 2}"])
    wait_for_evaluations_after(server, evaluations)
    cw.set_alarm_state(AlarmName=f"{prefix}-3", StateValue="ALARM", StateReason="manual")
    names = lambda found: [alarm["AlarmName"] for alarm in found["MetricAlarms"]]  # noqa: E731
    assert names(cw.describe_alarms(AlarmNamePrefix=prefix)) == [f"{prefix}-{i}" for i in range(5)]
    assert names(cw.describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")) == [f"{prefix}-3"]
    odd = names(cw.describe_alarms(AlarmNamePrefix=prefix, ActionPrefix="arn:aws:sns:us-east-1:000000000000:topic-1"))
    assert odd == [f"{prefix}-1", f"{prefix}-3"]
    pages, token = [], None
    while True:
        kwargs = {"AlarmNamePrefix": prefix, "MaxRecords": 2}
        if token:
            kwargs["NextToken"] = token
        page = cw.describe_alarms(**kwargs)
        pages.append(names(page))
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [[f"{prefix}-0", f"{prefix}-1"], [f"{prefix}-2", f"{prefix}-3"], [f"{prefix}-4"]]
    for_metric = cw.describe_alarms_for_metric(MetricName="PACSBackendErrors", Namespace="PACS/Application", Statistic="Sum", Period=60)
    assert {f"{prefix}-{i}" for i in range(5)} <= {alarm["AlarmName"] for alarm in for_metric["MetricAlarms"]}
    assert cw.describe_alarms_for_metric(MetricName="PACSBackendErrors", Namespace="PACS/Application", Period=300)["MetricAlarms"] == []
    cw.disable_alarm_actions(AlarmNames=[f"{prefix}-0"])
    assert describe(cw, f"{prefix}-0")["ActionsEnabled"] is False
    cw.enable_alarm_actions(AlarmNames=[f"{prefix}-0"])
    assert describe(cw, f"{prefix}-0")["ActionsEnabled"] is True
    cw.delete_alarms(AlarmNames=[f"{prefix}-{i}" for i in range(5)])


@pytest.mark.parametrize(
    "overrides, code, words",
    [
        ({"Period": 45}, "ValidationError", "Period"),
        ({"DatapointsToAlarm": 3}, "ValidationError", "DatapointsToAlarm"),
        ({"ExtendedStatistic": "p99"}, "InvalidParameterCombination", "mutually exclusive"),
        ({"TreatMissingData": "sometimes"}, "ValidationError", "TreatMissingData"),
        ({"Period": 3600, "EvaluationPeriods": 200}, "ValidationError", "must not exceed"),
        ({"AlarmActions": ["not-an-arn"]}, "ValidationError", "Invalid arn"),
        ({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, "ValidationError", "anomaly detection"),
        ({"EvaluateLowSampleCountPercentile": "ignore"}, "InvalidParameterCombination", "percentile"),
        ({"ComparisonOperator": "GreaterThan"}, "ValidationError", "'comparisonOperator' failed to satisfy constraint"),
        ({"Period": 0}, "ValidationError", "'period' failed to satisfy constraint"),
    ],
)
def test_put_metric_alarm_rejects_what_cloudwatch_rejects(cw_unchecked, overrides, code, words):
    with pytest.raises(ClientError) as caught:
        metric_alarm(cw_unchecked, unique(), **overrides)
    assert error_code(caught) == code, caught.value.response
    assert words in caught.value.response["Error"]["Message"]


def test_set_alarm_state_errors(cw_unchecked):
    with pytest.raises(ClientError) as caught:
        cw_unchecked.set_alarm_state(AlarmName=unique(), StateValue="OK", StateReason="x")
    assert error_code(caught) == "ResourceNotFound"
    name = unique()
    metric_alarm(cw_unchecked, name)
    with pytest.raises(ClientError) as caught:
        cw_unchecked.set_alarm_state(AlarmName=name, StateValue="INVALID", StateReason="x")
    assert error_code(caught) == "ValidationError"
    with pytest.raises(ClientError) as caught:
        cw_unchecked.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="x", StateReasonData="{not json")
    assert error_code(caught) in ("InvalidFormat", "InvalidFormatFault")


def test_composite_alarm_follows_its_children(cw):
    a, b, composite = unique("child"), unique("child"), unique("composite")
    metric_alarm(cw, a)
    metric_alarm(cw, b)
    arn_a = describe(cw, a)["AlarmArn"]
    cw.put_composite_alarm(AlarmName=composite, AlarmRule=f'ALARM("{arn_a}") OR ALARM({b})', AlarmDescription="either child")
    assert wait_state(cw, composite, "OK")["AlarmRule"] == f'ALARM("{arn_a}") OR ALARM({b})'
    cw.set_alarm_state(AlarmName=b, StateValue="ALARM", StateReason="forced")
    alarm = wait_state(cw, composite, "ALARM")
    reason_data = json.loads(alarm["StateReasonData"])
    assert [child["arn"] for child in reason_data["triggeringAlarms"]] == [describe(cw, b)["AlarmArn"]]
    assert reason_data["triggeringAlarms"][0]["state"]["value"] == "ALARM"
    assert alarm["StateReason"].startswith(f"{describe(cw, b)['AlarmArn']} transitioned to ALARM at ")
    cw.set_alarm_state(AlarmName=b, StateValue="OK", StateReason="recovered")
    wait_state(cw, composite, "OK")

    children = cw.describe_alarms(ChildrenOfAlarmName=composite)
    assert sorted(alarm["AlarmName"] for alarm in children["MetricAlarms"]) == sorted([a, b])
    parents = cw.describe_alarms(ParentsOfAlarmName=a)
    assert [alarm["AlarmName"] for alarm in parents["CompositeAlarms"]] == [composite]
    assert cw.describe_alarms(AlarmNames=[composite])["CompositeAlarms"] == []  # MetricAlarm only by default

    with pytest.raises(ClientError) as caught:
        cw.delete_alarms(AlarmNames=[a])
    assert error_code(caught) == "ValidationError"
    with pytest.raises(ClientError) as caught:
        cw.put_composite_alarm(AlarmName=unique("composite"), AlarmRule="ALARM(a) AND")
    assert error_code(caught) == "ValidationError"
    with pytest.raises(ClientError) as caught:
        cw.put_composite_alarm(AlarmName=unique("composite"), AlarmRule=f"ALARM({unique('missing')})")
    assert error_code(caught) == "ValidationError" and "do not exist" in caught.value.response["Error"]["Message"]
    cw.delete_alarms(AlarmNames=[composite, a, b])


def test_tags(cw):
    name = unique()
    metric_alarm(cw, name, Tags=[{"Key": "Environment", "Value": "Production"}])
    arn = describe(cw, name)["AlarmArn"]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "tag1", "Value": "foo"}, {"Key": "tag2", "Value": "bar"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["tag1"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "Environment", "Value": "Production"}, {"Key": "tag2", "Value": "bar"}]
    with pytest.raises(ClientError) as caught:
        cw.tag_resource(ResourceARN=arn + "-missing", Tags=[{"Key": "a", "Value": "b"}])
    assert error_code(caught) == "ResourceNotFoundException"


def now_minute(offset_ms=0):
    return (int(time.time() * 1000) + offset_ms) // 60_000 * 60_000


def test_alarm_evaluates_on_the_clock(server_factory, tmp_path_factory):
    """Sum > 10 over two 1-minute periods: two breaching minutes move it to
    ALARM with CloudWatch's reason; two quiet minutes move it back to OK."""
    server = server_factory("--test-clock")
    cw = cloudwatch_client(server, "json", tmp_path_factory.mktemp("models"))
    minute = now_minute()
    def publish(start_ms, values):
        cw.put_metric_data(
            Namespace="PACS/Application",
            MetricData=[{"MetricName": "PACSBackendErrors", "Timestamp": (start_ms - (len(values) - i) * 60_000) / 1000 + 5, "Value": v} for i, v in enumerate(values)],
        )
    publish(minute, [12.0, 15.0])
    metric_alarm(cw, "pacs-backend-error-rate", AlarmActions=["arn:aws:sns:us-east-1:000000000000:no-such-topic"])
    alarm = wait_state(cw, "pacs-backend-error-rate", "ALARM")
    assert alarm["StateReason"].startswith("Threshold Crossed: 2 datapoints [15.0 (")
    assert alarm["StateReason"].endswith("were greater than the threshold (10.0).")
    data = json.loads(alarm["StateReasonData"])
    assert data["statistic"] == "Sum" and data["period"] == 60 and data["threshold"] == 10.0
    assert [point["value"] for point in data["evaluatedDatapoints"]] == [15.0, 12.0]

    # The action's topic does not exist: recorded as failed, not retried forever.
    deadline = time.time() + 10
    while True:
        actions = cw.describe_alarm_history(AlarmName="pacs-backend-error-rate", HistoryItemType="Action")["AlarmHistoryItems"]
        if actions or time.time() > deadline:
            break
        time.sleep(0.2)
    assert len(actions) == 1 and actions[0]["HistorySummary"].startswith("Failed to execute action arn:aws:sns:us-east-1:000000000000:no-such-topic")

    offset = server.advance_clock(120_000)["offset_ms"]
    publish(now_minute(offset), [2.0, 3.0])
    alarm = wait_state(cw, "pacs-backend-error-rate", "OK")
    assert "was not greater than the threshold (10.0)" in alarm["StateReason"] or "were not greater than the threshold (10.0)" in alarm["StateReason"]
    transitions = [item["HistorySummary"] for item in cw.describe_alarm_history(AlarmName="pacs-backend-error-rate", HistoryItemType="StateUpdate", ScanBy="TimestampAscending")["AlarmHistoryItems"]]
    assert transitions == ["Alarm updated from INSUFFICIENT_DATA to ALARM", "Alarm updated from ALARM to OK"]


def test_missing_data_modes_on_the_clock(server_factory, tmp_path_factory):
    """No data at all: `missing` stays INSUFFICIENT_DATA, `breaching` goes to
    ALARM with CloudWatch's wording, `notBreaching` goes to OK."""
    server = server_factory("--test-clock")
    cw = cloudwatch_client(server, "json", tmp_path_factory.mktemp("models"))
    for mode in ("missing", "breaching", "notBreaching"):
        metric_alarm(cw, f"quiet-{mode}", MetricName="NeverPublished", TreatMissingData=mode, Period=10, EvaluationPeriods=2, AlarmActions=[])
    assert wait_state(cw, "quiet-breaching", "ALARM")["StateReason"] == (
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching]."
    )
    wait_state(cw, "quiet-notBreaching", "OK")
    server.advance_clock(30_000)
    time.sleep(1.5)
    alarm = describe(cw, "quiet-missing")
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"


def test_metric_math_alarm(server_factory, tmp_path_factory):
    server = server_factory("--test-clock")
    cw = cloudwatch_client(server, "json", tmp_path_factory.mktemp("models"))
    minute = now_minute()
    data = []
    for back, (errors, requests) in enumerate([(5.0, 100.0), (30.0, 100.0)]):
        ts = (minute - (2 - back) * 60_000) / 1000 + 1
        data.append({"MetricName": "Errors", "Timestamp": ts, "Value": errors})
        data.append({"MetricName": "Requests", "Timestamp": ts, "Value": requests})
    cw.put_metric_data(Namespace="Shop", MetricData=data)
    stat = lambda metric: {"Metric": {"Namespace": "Shop", "MetricName": metric}, "Period": 60, "Stat": "Sum"}  # noqa: E731
    cw.put_metric_alarm(
        AlarmName="error-ratio",
        EvaluationPeriods=1,
        Threshold=20,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {"Id": "e", "MetricStat": stat("Errors"), "ReturnData": False},
            {"Id": "r", "MetricStat": stat("Requests"), "ReturnData": False},
            {"Id": "ratio", "Expression": "100 * e / r", "Label": "error %", "ReturnData": True},
        ],
    )
    alarm = wait_state(cw, "error-ratio", "ALARM")
    assert "[30.0 (" in alarm["StateReason"]
    assert [query["Id"] for query in alarm["Metrics"]] == ["e", "r", "ratio"]
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(
            AlarmName="two-returns", EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
            Metrics=[{"Id": "a", "MetricStat": stat("Errors")}, {"Id": "b", "Expression": "a * 2"}],
        )
    assert error_code(caught) == "ValidationError"
    assert "Exactly one element of the metrics list should return data." in caught.value.response["Error"]["Message"]


def test_the_pacs_notification_script_with_the_cli(aws):
    """The PACS test script: describe alarms by prefix, force an alarm to
    ALARM with set-alarm-state, then back to OK."""
    name = unique("pacs-backend-error-rate")
    evaluations = evaluations_so_far(aws.server)
    aws.run(
        "cloudwatch", "put-metric-alarm", "--alarm-name", name, "--metric-name", "PACSBackendErrors",
        "--namespace", "PACS/Application", "--statistic", "Sum", "--period", "300", "--evaluation-periods", "2",
        "--threshold", "10", "--comparison-operator", "GreaterThanThreshold",
        "--alarm-actions", "arn:aws:sns:us-east-1:000000000000:pacs-alerts",
    )
    listed = aws.json("cloudwatch", "describe-alarms", "--alarm-name-prefix", name)
    assert [alarm["AlarmName"] for alarm in listed["MetricAlarms"]] == [name]
    # A new alarm is evaluated at once; a state forced before that first
    # evaluation would be replaced by it (as on CloudWatch), so wait for it.
    wait_for_evaluations_after(aws.server, evaluations)
    aws.run("cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "ALARM", "--state-reason", "Testing notification")
    alarm = aws.json("cloudwatch", "describe-alarms", "--alarm-names", name)["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM" and alarm["StateReason"] == "Testing notification"
    aws.run("cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "OK", "--state-reason", "Reset after testing")
    alarm = aws.json("cloudwatch", "describe-alarms", "--alarm-names", name)["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"
    history = aws.json("cloudwatch", "describe-alarm-history", "--alarm-name", name, "--history-item-type", "StateUpdate")
    assert [item["HistorySummary"] for item in history["AlarmHistoryItems"]] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    stderr = aws.error("cloudwatch", "put-metric-alarm", "--alarm-name", name, "--metric-name", "m", "--namespace", "n",
                       "--statistic", "Sum", "--period", "45", "--evaluation-periods", "1", "--threshold", "1",
                       "--comparison-operator", "GreaterThanThreshold")
    assert "ValidationError" in stderr


def test_actions_of_other_services_are_kept_and_recorded_as_not_supported(cw):
    """EC2 and Auto Scaling actions are accepted and stored; when they run,
    the history says this server does not carry them out."""
    name = unique()
    actions = ["arn:aws:automate:us-east-1:ec2:stop", "arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:0a1b:autoScalingGroupName/web:policyName/up"]
    metric_alarm(cw, name, AlarmActions=actions)
    assert describe(cw, name)["AlarmActions"] == actions
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing actions")
    deadline = time.time() + 10
    while True:
        items = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
        if len(items) >= 2 or time.time() > deadline:
            break
        time.sleep(0.2)
    summaries = sorted(item["HistorySummary"] for item in items)
    assert len(summaries) == 2, items
    assert all(summary.startswith("Failed to execute action arn:aws:a") and "not supported by this server" in summary for summary in summaries), summaries
