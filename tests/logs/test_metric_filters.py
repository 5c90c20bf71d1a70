"""Metric filters through boto3 and the aws CLI: the PACS setup's four
filters end to end (log lines in → CloudWatch statistics out), the API
(Put/Describe/Delete/TestMetricFilter, metricFilterCount), AWS's errors,
and durability across a kill -9."""

import datetime as dt
import json
import statistics
import uuid

import pytest

from conftest import make_client
from support import client_error, create_group, create_stream, now_ms, put


@pytest.fixture(scope="module")
def cloudwatch(server):
    return make_client(server, "cloudwatch")


def minute_start(millis):
    return millis - millis % 60_000


def stats(cloudwatch, namespace, name, start_ms, end_ms, statistics_=("Sum", "SampleCount", "Average", "Minimum", "Maximum"),
          dimensions=()):
    """One datapoint per call: the whole window as a single period."""
    period = 60 * ((end_ms - start_ms) // 60_000 + 1)
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=list(dimensions),
        StartTime=dt.datetime.fromtimestamp(start_ms / 1000, dt.timezone.utc),
        EndTime=dt.datetime.fromtimestamp((start_ms + period * 1000) / 1000, dt.timezone.utc),
        Period=period, Statistics=list(statistics_))["Datapoints"]
    assert len(points) <= 1, points
    return points[0] if points else None


def transformation(name, namespace, value="1", **extra):
    return [{"metricName": name, "metricNamespace": namespace, "metricValue": value, **extra}]


def test_pacs_metric_filters_turn_log_lines_into_statistics(logs, cloudwatch):
    """Setup 1 of the scenarios: the backend and Keycloak groups with the four
    filters; the lines they match become the metrics the dashboards and
    alarms read."""
    suffix = uuid.uuid4().hex[:8]
    backend = create_group(logs, f"/aws/ecs/pacs-backend-{suffix}")
    keycloak = create_group(logs, f"/aws/ecs/keycloak-{suffix}")
    app, business, security = (f"PACS/Application/{suffix}", f"PACS/Business/{suffix}", f"PACS/Security/{suffix}")
    logs.put_metric_filter(logGroupName=backend, filterName="PACSBackendErrors",
                           filterPattern='[timestamp, request_id, level="ERROR", ...]',
                           metricTransformations=transformation("PACSBackendErrors", app))
    # CloudWatch filter patterns cannot split `duration=123`, so the duration
    # is the backend line's own last field, which `$duration` reads.
    logs.put_metric_filter(logGroupName=backend, filterName="PACSBackendResponseTime",
                           filterPattern='[timestamp, request_id, level, message="Request completed", duration]',
                           metricTransformations=transformation("PACSBackendResponseTime", app, "$duration",
                                                                unit="Milliseconds"))
    logs.put_metric_filter(logGroupName=backend, filterName="DICOMProcessed", filterPattern='"DICOM processed"',
                           metricTransformations=transformation("DICOMProcessed", business))
    logs.put_metric_filter(logGroupName=keycloak, filterName="AuthenticationFailures",
                           filterPattern='"Authentication failed"',
                           metricTransformations=transformation("AuthenticationFailures", security))

    now = now_ms()
    start = minute_start(now - 10 * 60_000)
    durations = [123, 80, 310, 45, 155, 999]
    lines = []
    for i in range(12):
        lines.append(f"2026-11-22T10:00:{i:02d}Z req-{i} ERROR \"Database connection lost\" retry={i}")
    for i, duration in enumerate(durations):
        lines.append(f"2026-11-22T10:01:{i:02d}Z req-{100 + i} INFO \"Request completed\" {duration}")
    for i in range(7):
        lines.append(f"2026-11-22T10:02:{i:02d}Z req-{200 + i} INFO \"DICOM processed\" study_uid=1.2.840.{i}")
    lines += ["2026-11-22T10:03:00Z req-300 INFO \"Health check\" ok",
              "2026-11-22T10:03:01Z req-301 WARN \"Slow query ERROR budget\" 12"]  # level is WARN: not an error
    backend_stream = create_stream(logs, backend)
    # Spread over several minutes: the datapoints land in their events' minutes.
    put(logs, backend, backend_stream, [(start + i * 20_000, line) for i, line in enumerate(lines)])

    keycloak_stream = create_stream(logs, keycloak)
    keycloak_lines = [f"2026-11-22 10:00:0{i},123 WARN [org.keycloak.events] \"Authentication failed\" "
                      f"type=LOGIN_ERROR realmId=pacs username=user{i} error=invalid_user_credentials"
                      for i in range(3)]
    keycloak_lines.append("2026-11-22 10:00:09,000 ERROR [org.keycloak.services] req-9 ERROR x")  # other group's filter
    put(logs, keycloak, keycloak_stream, [(start + i * 1000, line) for i, line in enumerate(keycloak_lines)])

    listed = cloudwatch.list_metrics(Namespace=app)["Metrics"]
    assert sorted(m["MetricName"] for m in listed) == ["PACSBackendErrors", "PACSBackendResponseTime"]
    assert all(m["Dimensions"] == [] for m in listed)

    end = now + 60_000
    errors = stats(cloudwatch, app, "PACSBackendErrors", start, end)
    assert (errors["Sum"], errors["SampleCount"]) == (12.0, 12.0)
    response = stats(cloudwatch, app, "PACSBackendResponseTime", start, end)
    assert response["SampleCount"] == len(durations)
    assert response["Average"] == pytest.approx(statistics.mean(durations))
    assert (response["Minimum"], response["Maximum"]) == (45.0, 999.0)
    assert response["Unit"] == "Milliseconds"
    assert stats(cloudwatch, business, "DICOMProcessed", start, end)["Sum"] == 7.0
    assert stats(cloudwatch, security, "AuthenticationFailures", start, end)["Sum"] == 3.0

    # Per minute, as a dashboard reads them: each event counts in its own minute.
    per_minute = cloudwatch.get_metric_statistics(
        Namespace=app, MetricName="PACSBackendErrors", Period=60, Statistics=["Sum"],
        StartTime=dt.datetime.fromtimestamp(start / 1000, dt.timezone.utc),
        EndTime=dt.datetime.fromtimestamp(end / 1000, dt.timezone.utc))["Datapoints"]
    expected = {}
    for i in range(12):
        minute = minute_start(start + i * 20_000)
        expected[minute] = expected.get(minute, 0) + 1
    assert {int(p["Timestamp"].timestamp() * 1000): p["Sum"] for p in per_minute} == expected

    groups = {g["logGroupName"]: g["metricFilterCount"]
              for g in logs.describe_log_groups(logGroupNamePrefix="/aws/ecs/")["logGroups"]}
    assert groups[backend] == 3 and groups[keycloak] == 1


def test_filters_apply_to_events_ingested_after_them_only_and_to_their_own_group(logs, cloudwatch):
    group, other = create_group(logs), create_group(logs)
    stream, other_stream = create_stream(logs, group), create_stream(logs, other)
    namespace = f"Argus/Filters/{uuid.uuid4().hex[:8]}"
    now = now_ms()
    put(logs, group, stream, [(now - 5000, "ERROR before the filter existed")])
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=transformation("Errors", namespace))
    put(logs, group, stream, [(now - 4000, "ERROR one"), (now - 3000, "INFO fine"), (now - 2000, "ERROR two")])
    put(logs, other, other_stream, [(now - 1000, "ERROR in another group")])
    point = stats(cloudwatch, namespace, "Errors", now - 10 * 60_000, now + 60_000)
    assert point["Sum"] == 2.0

    # Deleted: later events publish nothing more.
    logs.delete_metric_filter(logGroupName=group, filterName="errors")
    put(logs, group, stream, [(now - 500, "ERROR after deletion")])
    assert stats(cloudwatch, namespace, "Errors", now - 10 * 60_000, now + 60_000)["Sum"] == 2.0


def test_json_values_dimensions_default_values_and_units(logs, cloudwatch):
    group = create_group(logs)
    stream = create_stream(logs, group)
    namespace = f"Argus/Filters/{uuid.uuid4().hex[:8]}"
    logs.put_metric_filter(
        logGroupName=group, filterName="latency", filterPattern="{ $.latency >= 0 }",
        metricTransformations=transformation("Latency", namespace, "$.latency", unit="Milliseconds",
                                             dimensions={"Service": "$.service"}))
    logs.put_metric_filter(
        logGroupName=group, filterName="server-errors", filterPattern="{ $.status >= 500 }",
        metricTransformations=transformation("ServerErrors", namespace, "1", defaultValue=0.0))
    now = now_ms()
    events = [
        {"service": "api", "latency": 20, "status": 200},
        {"service": "api", "latency": 40, "status": 503},
        {"service": "web", "latency": 7.5, "status": 200},
        {"service": "web", "latency": "fast", "status": 500},  # not a number: no latency datapoint
        {"latency": 3, "status": 200},  # no service field: no datapoint for a metric with that dimension
    ]
    put(logs, group, stream, [(now - 5000 + i, json.dumps(e)) for i, e in enumerate(events)] +
        [(now - 100, "not json at all")])

    metrics = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    assert sorted((m["MetricName"], json.dumps(m["Dimensions"])) for m in metrics) == sorted([
        ("Latency", json.dumps([{"Name": "Service", "Value": "api"}])),
        ("Latency", json.dumps([{"Name": "Service", "Value": "web"}])),
        ("ServerErrors", "[]"),
    ])
    window = (now - 10 * 60_000, now + 60_000)
    api = stats(cloudwatch, namespace, "Latency", *window, dimensions=[{"Name": "Service", "Value": "api"}])
    assert (api["SampleCount"], api["Sum"], api["Unit"]) == (2.0, 60.0, "Milliseconds")
    web = stats(cloudwatch, namespace, "Latency", *window, dimensions=[{"Name": "Service", "Value": "web"}])
    assert (web["SampleCount"], web["Sum"]) == (1.0, 7.5)
    # defaultValue 0 for each of the 4 events that did not match, 1 for each of the 2 that did.
    errors = stats(cloudwatch, namespace, "ServerErrors", *window)
    assert (errors["SampleCount"], errors["Sum"]) == (6.0, 2.0)


def test_describe_filters_by_group_prefix_and_metric_with_paging(aws, logs):
    first, second = create_group(logs), create_group(logs)
    namespace = f"Argus/Describe/{uuid.uuid4().hex[:8]}"
    for group, names in ((first, ["alpha", "beta", "Gamma"]), (second, ["alpha-2"])):
        for name in names:
            aws.json("logs", "put-metric-filter", "--log-group-name", group, "--filter-name", name,
                     "--filter-pattern", f"{name} ERROR", "--metric-transformations",
                     json.dumps(transformation(f"M-{name}", namespace, "2", defaultValue=0)))

    described = aws.json("logs", "describe-metric-filters", "--log-group-name", first)["metricFilters"]
    assert [f["filterName"] for f in described] == ["Gamma", "alpha", "beta"]  # ASCII order
    alpha = described[1]
    assert alpha["logGroupName"] == first and alpha["filterPattern"] == "alpha ERROR"
    assert alpha["metricTransformations"] == [{"metricName": "M-alpha", "metricNamespace": namespace,
                                               "metricValue": "2", "defaultValue": 0.0}]
    assert alpha["applyOnTransformedLogs"] is False
    assert abs(alpha["creationTime"] - now_ms()) < 120_000

    prefixed = aws.json("logs", "describe-metric-filters", "--log-group-name", first, "--filter-name-prefix", "al")
    assert [f["filterName"] for f in prefixed["metricFilters"]] == ["alpha"]
    by_metric = logs.describe_metric_filters(metricName="M-alpha-2", metricNamespace=namespace)["metricFilters"]
    assert [(f["logGroupName"], f["filterName"]) for f in by_metric] == [(second, "alpha-2")]

    pages, token = [], None
    while True:
        kwargs = {"logGroupName": first, "limit": 2, **({"nextToken": token} if token else {})}
        page = logs.describe_metric_filters(**kwargs)
        pages.append([f["filterName"] for f in page["metricFilters"]])
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [["Gamma", "alpha"], ["beta"]]
    # The CLI pages on its own.
    everything = aws.json("logs", "describe-metric-filters", "--log-group-name", first, "--page-size", "1")
    assert len(everything["metricFilters"]) == 3

    aws.json("logs", "delete-metric-filter", "--log-group-name", first, "--filter-name", "beta")
    left = aws.json("logs", "describe-metric-filters", "--log-group-name", first)["metricFilters"]
    assert [f["filterName"] for f in left] == ["Gamma", "alpha"]
    # Putting an existing name replaces that filter.
    logs.put_metric_filter(logGroupName=first, filterName="alpha", filterPattern="FATAL",
                           metricTransformations=transformation("M-alpha", namespace))
    replaced = logs.describe_metric_filters(logGroupName=first, filterNamePrefix="alpha")["metricFilters"]
    assert [(f["filterPattern"], f["metricTransformations"][0]["metricValue"]) for f in replaced] == [("FATAL", "1")]


def test_metric_filter_errors(logs, logs_unchecked, aws):
    group = create_group(logs)
    valid = transformation("M", "N")
    missing_group = client_error(logs.put_metric_filter, logGroupName=group + "-missing", filterName="f",
                                 filterPattern="ERROR", metricTransformations=valid)
    assert missing_group == ("ResourceNotFoundException", "The specified log group does not exist.", 400)
    assert client_error(logs.delete_metric_filter, logGroupName=group, filterName="never")[0] == \
        "ResourceNotFoundException"
    assert client_error(logs.describe_metric_filters, logGroupName=group + "-missing")[0] == "ResourceNotFoundException"

    code, message, status = client_error(logs.describe_metric_filters, metricName="M")
    assert (code, status) == ("InvalidParameterException", 400) and "metricNamespace" in message

    code, message, _ = client_error(logs_unchecked.put_metric_filter, logGroupName=group, filterName="f",
                                    filterPattern="ERROR", metricTransformations=valid + transformation("M2", "N"))
    assert code == "InvalidParameterException"
    assert "at 'metricTransformations' failed to satisfy constraint: Member must have length less than or equal to 1" \
        in message
    code, message, _ = client_error(logs_unchecked.put_metric_filter, logGroupName=group, filterName="x" * 513,
                                    filterPattern="ERROR", metricTransformations=valid)
    assert code == "InvalidParameterException" and "Member must have length less than or equal to 512" in message

    for pattern, metric in [
        ("{ $.status = ", valid),  # unbalanced JSON pattern
        ("ERROR", transformation("M", "N", "one")),  # not a number nor a field
        ("{ $.a = 1 }", transformation("M", "N", "1", defaultValue=0, dimensions={"A": "$.a"})),
        ("{ $.a = 1 }", transformation("M", "N", "1", dimensions={k: f"$.{k}" for k in "abcd"})),
    ]:
        code, message, status = client_error(logs.put_metric_filter, logGroupName=group, filterName="bad",
                                             filterPattern=pattern, metricTransformations=metric)
        assert (code, status) == ("InvalidParameterException", 400), (pattern, message)
        assert message
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"] == []

    # The CLI shows the same error.
    stderr = aws.error("logs", "put-metric-filter", "--log-group-name", group, "--filter-name", "f",
                       "--filter-pattern", "ERROR", "--metric-transformations",
                       json.dumps(transformation("M", "N", "$")))
    assert "InvalidParameterException" in stderr


def test_test_metric_filter_reports_matches_and_extracted_fields(aws):
    messages = ["127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] \"GET /index.html HTTP/1.0\" 404 1534",
                "127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] \"GET /index.html HTTP/1.0\" 200 2344",
                "not a web log"]
    result = aws.json("logs", "test-metric-filter", "--filter-pattern",
                      "[ip, id, user, timestamp, request, status_code=4*, size]",
                      "--log-event-messages", *messages)
    assert result["matches"] == [{
        "eventNumber": 1,
        "eventMessage": messages[0],
        "extractedValues": {"$ip": "127.0.0.1", "$id": "-", "$user": "frank",
                            "$timestamp": "10/Oct/2000:13:25:15 -0700", "$request": "GET /index.html HTTP/1.0",
                            "$status_code": "404", "$size": "1534"},
    }]
    terms = aws.json("logs", "test-metric-filter", "--filter-pattern", "GET 2344", "--log-event-messages", *messages)
    assert [(m["eventNumber"], m["extractedValues"]) for m in terms["matches"]] == [(2, {})]
    stderr = aws.error("logs", "test-metric-filter", "--filter-pattern", "{ $.a = ", "--log-event-messages", "x")
    assert "InvalidParameterException" in stderr


def test_filters_and_their_datapoints_survive_kill_9(server_factory):
    server = server_factory()
    logs, cloudwatch = make_client(server, "logs"), make_client(server, "cloudwatch")
    group = create_group(logs)
    stream = create_stream(logs, group)
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=transformation("Errors", "Argus/Durable"))
    now = now_ms()
    put(logs, group, stream, [(now - 3000, "ERROR a"), (now - 2000, "ERROR b")])
    server.kill()
    server.start()
    logs, cloudwatch = make_client(server, "logs"), make_client(server, "cloudwatch")
    window = (now - 10 * 60_000, now + 60_000)
    assert stats(cloudwatch, "Argus/Durable", "Errors", *window)["Sum"] == 2.0
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]] == ["errors"]
    put(logs, group, stream, [(now - 1000, "ERROR c")])
    assert stats(cloudwatch, "Argus/Durable", "Errors", *window)["Sum"] == 3.0

    # Deleting the group deletes its filters.
    logs.delete_log_group(logGroupName=group)
    logs.create_log_group(logGroupName=group)
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"] == []
