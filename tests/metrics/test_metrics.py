"""PutMetricData, ListMetrics, GetMetricStatistics and GetMetricData through
boto3 over each protocol (rpc-v2-cbor, awsJson1.0, awsQuery) and the aws CLI:
statistics of known data checked against plain Python computations."""

import datetime as dt
import math
import random
import uuid

import pytest
from botocore.exceptions import ClientError

from cloudwatch_clients import cloudwatch_client


def now():
    return dt.datetime.now(dt.timezone.utc)


def minute_floor(moment):
    return moment.replace(second=0, microsecond=0)


def namespace():
    return f"Argus/Test/{uuid.uuid4().hex[:10]}"


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def nearest_rank(values, p):
    ordered = sorted(values)
    if p == 0:
        return ordered[0]
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[rank - 1]


def test_statistics_of_known_values(cw):
    ns = namespace()
    start = minute_floor(now() - dt.timedelta(minutes=30))
    rng = random.Random(7)
    per_minute = {}
    for minute in range(5):
        stamp = start + dt.timedelta(minutes=minute)
        values = [round(rng.uniform(1, 500), 3) for _ in range(40)]
        per_minute[stamp] = values
        for batch in range(0, 40, 20):
            cw.put_metric_data(
                Namespace=ns,
                MetricData=[
                    {
                        "MetricName": "Latency",
                        "Dimensions": [{"Name": "Service", "Value": "api"}],
                        "Timestamp": stamp + dt.timedelta(seconds=i),
                        "Value": v,
                        "Unit": "Milliseconds",
                    }
                    for i, v in enumerate(values[batch : batch + 20])
                ],
            )
    got = cw.get_metric_statistics(
        Namespace=ns,
        MetricName="Latency",
        Dimensions=[{"Name": "Service", "Value": "api"}],
        StartTime=start,
        EndTime=start + dt.timedelta(minutes=5),
        Period=60,
        Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"],
    )
    assert got["Label"] == "Latency"
    points = sorted(got["Datapoints"], key=lambda p: p["Timestamp"])
    assert len(points) == 5
    for point, (stamp, values) in zip(points, sorted(per_minute.items())):
        assert point["Timestamp"] == stamp
        assert point["SampleCount"] == 40
        assert point["Sum"] == pytest.approx(sum(values))
        assert point["Average"] == pytest.approx(sum(values) / 40)
        assert point["Minimum"] == min(values)
        assert point["Maximum"] == max(values)
        assert point["Unit"] == "Milliseconds"

    # One 5-minute period; percentiles against a sorted-array oracle.
    everything = [v for values in per_minute.values() for v in values]
    got = cw.get_metric_statistics(
        Namespace=ns,
        MetricName="Latency",
        Dimensions=[{"Name": "Service", "Value": "api"}],
        StartTime=start,
        EndTime=start + dt.timedelta(minutes=5),
        Period=300,
        ExtendedStatistics=["p50", "p90", "p99", "p99.9"],
    )
    (point,) = got["Datapoints"]
    for name, p in [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)]:
        exact = nearest_rank(everything, p)
        assert point["ExtendedStatistics"][name] == pytest.approx(exact, rel=0.01), name


def test_values_counts_and_statistic_sets(cw):
    ns = namespace()
    stamp = minute_floor(now() - dt.timedelta(minutes=10))
    cw.put_metric_data(
        Namespace=ns,
        MetricData=[
            {"MetricName": "Size", "Timestamp": stamp, "Values": [1, 2, 3], "Counts": [1, 1, 8], "Unit": "Bytes"},
            {
                "MetricName": "Size",
                "Timestamp": stamp + dt.timedelta(seconds=5),
                "StatisticValues": {"SampleCount": 10, "Sum": 100, "Minimum": 2, "Maximum": 30},
                "Unit": "Bytes",
            },
        ],
    )
    got = cw.get_metric_statistics(
        Namespace=ns,
        MetricName="Size",
        StartTime=stamp,
        EndTime=stamp + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"],
    )
    (point,) = got["Datapoints"]
    assert point["SampleCount"] == 20
    assert point["Sum"] == 1 + 2 + 24 + 100
    assert point["Minimum"] == 1
    assert point["Maximum"] == 30
    assert point["Average"] == pytest.approx(127 / 20)
    # Percentiles are not available once a statistic set with a spread is in the period.
    got = cw.get_metric_statistics(
        Namespace=ns,
        MetricName="Size",
        StartTime=stamp,
        EndTime=stamp + dt.timedelta(minutes=1),
        Period=60,
        ExtendedStatistics=["p50"],
    )
    (point,) = got["Datapoints"]
    assert "p50" not in point.get("ExtendedStatistics", {})


def test_unit_filter_and_dimension_order(cw):
    ns = namespace()
    stamp = minute_floor(now() - dt.timedelta(minutes=5))
    dims_a = [{"Name": "B", "Value": "2"}, {"Name": "A", "Value": "1"}]
    dims_b = [{"Name": "A", "Value": "1"}, {"Name": "B", "Value": "2"}]
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "M", "Dimensions": dims_a, "Timestamp": stamp, "Value": 5, "Unit": "Count"}])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "M", "Dimensions": dims_b, "Timestamp": stamp, "Value": 7, "Unit": "Seconds"}])
    base = dict(Namespace=ns, MetricName="M", Dimensions=dims_b, StartTime=stamp, EndTime=stamp + dt.timedelta(minutes=1), Period=60, Statistics=["Sum"])
    assert cw.get_metric_statistics(**base)["Datapoints"][0]["Sum"] == 12
    counted = cw.get_metric_statistics(**base, Unit="Count")["Datapoints"]
    assert [p["Sum"] for p in counted] == [5]
    assert counted[0]["Unit"] == "Count"
    assert cw.get_metric_statistics(**base, Unit="Bytes")["Datapoints"] == []
    listed = cw.list_metrics(Namespace=ns)["Metrics"]
    assert len(listed) == 1
    assert listed[0]["Dimensions"] == [{"Name": "A", "Value": "1"}, {"Name": "B", "Value": "2"}]


def test_list_metrics_filters(cw):
    ns = namespace()
    stamp = now() - dt.timedelta(minutes=1)
    data = [
        {"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": h}, {"Name": "Env", "Value": "prod"}], "Value": 1, "Timestamp": stamp}
        for h in ("a", "b", "c")
    ] + [{"MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "a"}], "Value": 1, "Timestamp": stamp}]
    cw.put_metric_data(Namespace=ns, MetricData=data)
    assert len(cw.list_metrics(Namespace=ns)["Metrics"]) == 4
    assert len(cw.list_metrics(Namespace=ns, MetricName="Requests")["Metrics"]) == 3
    host_a = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "a"}])["Metrics"]
    assert sorted(m["MetricName"] for m in host_a) == ["Errors", "Requests"]
    env = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Env"}])["Metrics"]
    assert len(env) == 3
    assert len(cw.list_metrics(Namespace=ns, RecentlyActive="PT3H")["Metrics"]) == 4
    assert cw.list_metrics(Namespace=namespace())["Metrics"] == []


def test_list_metrics_pages(cw):
    ns = namespace()
    stamp = now() - dt.timedelta(minutes=1)
    for chunk in range(0, 620, 155):
        cw.put_metric_data(
            Namespace=ns,
            MetricData=[{"MetricName": f"m{i:04d}", "Value": i, "Timestamp": stamp} for i in range(chunk, min(chunk + 155, 620))],
        )
    first = cw.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500 and "NextToken" in first
    second = cw.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    assert "NextToken" not in second
    names = [m["MetricName"] for m in first["Metrics"] + second["Metrics"]]
    assert names == [f"m{i:04d}" for i in range(620)]


def test_get_metric_data_metric_stat(cw):
    ns = namespace()
    start = minute_floor(now() - dt.timedelta(minutes=20))
    for minute in range(10):
        cw.put_metric_data(
            Namespace=ns,
            MetricData=[{"MetricName": "Queue", "Timestamp": start + dt.timedelta(minutes=minute, seconds=s), "Value": minute * 10 + s} for s in range(3)],
        )
    stat = {"Metric": {"Namespace": ns, "MetricName": "Queue"}, "Period": 60}
    got = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "total", "MetricStat": {**stat, "Stat": "Sum"}},
            {"Id": "top", "MetricStat": {**stat, "Stat": "Maximum"}, "Label": "highest"},
            {"Id": "hidden", "MetricStat": {**stat, "Stat": "Minimum"}, "ReturnData": False},
        ],
        StartTime=start,
        EndTime=start + dt.timedelta(minutes=10),
    )
    results = {r["Id"]: r for r in got["MetricDataResults"]}
    assert set(results) == {"total", "top"}
    total = results["total"]
    assert total["StatusCode"] == "Complete"
    assert total["Label"] == "Queue"
    # Newest first by default.
    assert total["Timestamps"] == sorted(total["Timestamps"], reverse=True)
    assert total["Values"] == [float(m * 30 + 3) for m in reversed(range(10))]
    assert results["top"]["Label"] == "highest"
    ascending = cw.get_metric_data(
        MetricDataQueries=[{"Id": "p", "MetricStat": {**stat, "Stat": "p50"}}],
        StartTime=start,
        EndTime=start + dt.timedelta(minutes=10),
        ScanBy="TimestampAscending",
    )["MetricDataResults"][0]
    assert ascending["Values"] == [float(m * 10 + 1) for m in range(10)]


def test_put_metric_data_rejections(cw_unchecked):
    cw = cw_unchecked
    ns = namespace()
    stamp = now()
    cases = [
        (dict(Namespace="AWS/EC2", MetricData=[{"MetricName": "x", "Value": 1}]), "InvalidParameterValue", "AWS/"),
        (
            dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Values": [1, 2]}]),
            "InvalidParameterCombination",
            "The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you have specified both.",
        ),
        (
            dict(Namespace=ns, MetricData=[{"MetricName": "x", "Values": [1, 2], "Counts": [1]}]),
            "InvalidParameterValue",
            "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size.",
        ),
        (
            dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}]),
            "InvalidParameterCombination",
            "The parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues are mutually exclusive and you have specified both.",
        ),
        (
            dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Timestamp": stamp - dt.timedelta(days=15)}]),
            "InvalidParameterValue",
            "two weeks",
        ),
        (
            dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Timestamp": stamp + dt.timedelta(hours=3)}]),
            "InvalidParameterValue",
            "two hours",
        ),
        (dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "StorageResolution": 30}]), "InvalidParameterValue", "StorageResolution"),
        (dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1e200}]), "InvalidParameterValue", "MetricData.member.1.Value"),
        (
            dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(31)]}]),
            None,
            "",
        ),
        (
            dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Dimensions": [{"Name": "d", "Value": "v"}, {"Name": "d", "Value": "w"}]}]),
            "InvalidParameterValue",
            "duplicate",
        ),
        (
            dict(Namespace=ns, MetricData=[{"MetricName": "x", "StatisticValues": {"SampleCount": 2, "Sum": 1, "Minimum": 5, "Maximum": 1}}]),
            "InvalidParameterValue",
            "Minimum",
        ),
        # The model's own constraints (lengths, enums, minimums), which
        # awsJson's shortcut for PutMetricData must leave to the model.
        (dict(Namespace=ns, MetricData=[{"MetricName": "m" * 256, "Value": 1}]), None, "metricName' failed to satisfy constraint"),
        (dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Dimensions": [{"Name": "d", "Value": "v" * 1025}]}]), None, "dimensions.1.member.value' failed to satisfy constraint"),
        (dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Dimensions": [{"Name": "n" * 256, "Value": "v"}]}]), None, "dimensions.1.member.name' failed to satisfy constraint"),
        (dict(Namespace=":" + ns, MetricData=[{"MetricName": "x", "Value": 1}]), None, "namespace' failed to satisfy constraint"),
        (dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "Unit": "Furlongs"}]), None, "unit' failed to satisfy constraint"),
        (dict(Namespace=ns, MetricData=[{"MetricName": "x", "Value": 1, "StorageResolution": 0}]), None, "storageResolution' failed to satisfy constraint"),
    ]
    for request, code, fragment in cases:
        error = error_of(cw.put_metric_data, **request)
        if code is not None:
            assert error["Code"] == code, (request, error)
        else:
            assert error["Code"] in ("InvalidParameterValue", "ValidationError", "ValidationException"), error
        assert fragment in error.get("Message", ""), (request, error)
    assert cw.list_metrics(Namespace=ns)["Metrics"] == []


def test_get_metric_statistics_rejections(cw_unchecked):
    cw = cw_unchecked
    stamp = now()
    base = dict(Namespace="N", MetricName="M", StartTime=stamp - dt.timedelta(hours=1), EndTime=stamp, Period=60)
    error = error_of(cw.get_metric_statistics, **{**base, "StartTime": stamp, "EndTime": stamp - dt.timedelta(hours=1)}, Statistics=["Sum"])
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == "The parameter StartTime must be less than the parameter EndTime."
    error = error_of(cw.get_metric_statistics, **{**base, "Period": 1, "StartTime": stamp - dt.timedelta(days=1)}, Statistics=["Sum"])
    assert error["Code"] == "InvalidParameterCombination"
    assert error["Message"].startswith("You have requested up to 86400 datapoints, which exceeds the limit of 1440.")
    error = error_of(cw.get_metric_statistics, **{**base, "Period": 45}, Statistics=["Sum"])
    assert error["Code"] == "InvalidParameterValue" and "Period" in error["Message"]
    error = error_of(cw.get_metric_statistics, **base, ExtendedStatistics=["p100.5"])
    assert error["Code"] == "InvalidParameterValue" and "p100.5" in error["Message"]
    error = error_of(cw.get_metric_statistics, **base, Statistics=["Sum"], ExtendedStatistics=["p99"])
    assert error["Code"] == "InvalidParameterCombination"
    assert cw.get_metric_statistics(**base, Statistics=["Sum"])["Datapoints"] == []


def test_data_survives_restart_and_flush(server_factory, tmp_path):
    server = server_factory()
    cw = cloudwatch_client(server, "json", tmp_path)
    ns = namespace()
    stamp = minute_floor(now() - dt.timedelta(minutes=3))
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Before", "Timestamp": stamp, "Values": [1, 2, 3]}])
    server.flush()
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Before", "Timestamp": stamp, "Value": 4}])
    server.kill()  # the second put lives only in the WAL
    server.start()
    cw = cloudwatch_client(server, "query", tmp_path)
    got = cw.get_metric_statistics(
        Namespace=ns, MetricName="Before", StartTime=stamp, EndTime=stamp + dt.timedelta(minutes=1), Period=60, Statistics=["Sum", "SampleCount"]
    )
    (point,) = got["Datapoints"]
    assert point["Sum"] == 10 and point["SampleCount"] == 4
    assert [m["MetricName"] for m in cw.list_metrics(Namespace=ns)["Metrics"]] == ["Before"]


def test_aws_cli_put_and_read(aws):
    ns = namespace()
    stamp = minute_floor(now() - dt.timedelta(minutes=2))
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    aws.run("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Hits", "--value", "3", "--timestamp", iso, "--unit", "Count")
    aws.run("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Hits", "--value", "4", "--timestamp", iso, "--unit", "Count")
    listed = aws.json("cloudwatch", "list-metrics", "--namespace", ns)
    assert [m["MetricName"] for m in listed["Metrics"]] == ["Hits"]
    end = (stamp + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stats = aws.json(
        "cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Hits",
        "--start-time", iso, "--end-time", end, "--period", "60", "--statistics", "Sum", "Maximum",
    )
    assert stats["Datapoints"][0]["Sum"] == 7.0
    assert stats["Datapoints"][0]["Maximum"] == 4.0
    stderr = aws.error("cloudwatch", "put-metric-data", "--namespace", "AWS/Foo", "--metric-name", "x", "--value", "1")
    assert "InvalidParameterValue" in stderr


def test_get_metric_data_metric_math(cw):
    ns = namespace()
    start = minute_floor(now() - dt.timedelta(minutes=15))
    for minute in range(6):
        stamp = start + dt.timedelta(minutes=minute)
        cw.put_metric_data(
            Namespace=ns,
            MetricData=[
                {"MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": stamp, "Value": minute},
                {"MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "b"}], "Timestamp": stamp, "Value": 10},
                {"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": stamp, "Value": 100},
            ],
        )
    stat = lambda host, name: {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": [{"Name": "Host", "Value": host}]}, "Period": 60, "Stat": "Sum"}
    got = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "errors", "MetricStat": stat("a", "Errors"), "ReturnData": False},
            {"Id": "requests", "MetricStat": stat("a", "Requests"), "ReturnData": False},
            {"Id": "rate", "Expression": "100 * errors / requests", "Label": "error rate"},
            {"Id": "doubled", "Expression": "rate * 2"},
            {"Id": "all", "Expression": f"SUM(SEARCH('{{{ns},Host}} MetricName=\"Errors\"', 'Sum', 60))", "Label": "all errors", "Period": 60},
        ],
        StartTime=start,
        EndTime=start + dt.timedelta(minutes=6),
        ScanBy="TimestampAscending",
    )
    results = {r["Id"]: r for r in got["MetricDataResults"]}
    assert set(results) == {"rate", "doubled", "all"}
    assert results["rate"]["Label"] == "error rate"
    assert results["rate"]["Values"] == [float(m) for m in range(6)]
    assert results["doubled"]["Values"] == [2.0 * m for m in range(6)]
    assert results["all"]["Values"] == [float(m + 10) for m in range(6)]
    assert len(results["all"]["Timestamps"]) == 6

    bad = lambda expression: error_of(
        cw.get_metric_data,
        MetricDataQueries=[{"Id": "e1", "Expression": expression}],
        StartTime=start,
        EndTime=start + dt.timedelta(minutes=6),
    )
    error = bad("100 * (")
    assert error["Code"] in ("InvalidParameterValue", "ValidationError")
    assert "character" in error["Message"]
    error = bad("ANOMALY_DETECTION_BAND(m1)")
    assert "not supported" in error["Message"]


def test_get_metric_data_pages_at_max_datapoints(cw):
    ns = namespace()
    start = minute_floor(now() - dt.timedelta(minutes=30))
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": name, "Timestamp": start + dt.timedelta(minutes=m), "Value": float(m + offset)}
        for name, offset in (("A", 0), ("B", 100)) for m in range(7)])
    stat = lambda name: {"Metric": {"Namespace": ns, "MetricName": name}, "Period": 60, "Stat": "Sum"}
    request = dict(
        MetricDataQueries=[{"Id": "a", "MetricStat": stat("A")}, {"Id": "b", "MetricStat": stat("B")},
                           {"Id": "none", "MetricStat": stat("Missing")}],
        StartTime=start, EndTime=start + dt.timedelta(minutes=7), ScanBy="TimestampAscending", MaxDatapoints=5)
    pages, token = [], None
    while True:
        page = cw.get_metric_data(**request, **({"NextToken": token} if token else {}))
        pages.append([(r["Id"], r["StatusCode"], r["Values"]) for r in page["MetricDataResults"]])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [
        [("a", "PartialData", [0.0, 1.0, 2.0, 3.0, 4.0]), ("none", "Complete", [])],
        [("a", "Complete", [5.0, 6.0]), ("b", "PartialData", [100.0, 101.0, 102.0])],
        [("b", "Complete", [103.0, 104.0, 105.0, 106.0])],
    ]
    # The boto3 paginator walks the same pages.
    merged = {}
    for page in cw.get_paginator("get_metric_data").paginate(**request):
        for result in page["MetricDataResults"]:
            merged.setdefault(result["Id"], []).extend(result["Values"])
    assert merged == {"a": [float(m) for m in range(7)], "b": [float(m + 100) for m in range(7)], "none": []}
    # A token belongs to its request.
    first = cw.get_metric_data(**request)
    other = {**request, "StartTime": start - dt.timedelta(minutes=1)}
    assert error_of(cw.get_metric_data, **other, NextToken=first["NextToken"])["Code"] == "InvalidNextToken"
    assert error_of(cw.get_metric_data, **request, NextToken="garbage")["Code"] == "InvalidNextToken"


def test_get_metric_data_dynamic_labels_and_timezone(cw):
    ns = namespace()
    start = minute_floor(now() - dt.timedelta(minutes=30))
    values = [4.0, 10.0, 1.0]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": host}],
         "Timestamp": start + dt.timedelta(minutes=m), "Value": value + (0 if host == "a" else 1)}
        for host in ("a", "b") for m, value in enumerate(values)])
    metric = {"Namespace": ns, "MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}]}
    got = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "m1", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Maximum"},
             "Label": "${LABEL} on ${PROP('Dim.Host')}: max ${MAX} at ${MAX_TIME}, n=${DATAPOINT_COUNT}, sum ${SUM}"},
            {"Id": "s1", "Expression": f"SEARCH('{{{ns},Host}} MetricName=\"Latency\"', 'Average', 60)",
             "Label": "host ${PROP('Dim.Host')} avg ${AVG}", "Period": 60},
        ],
        StartTime=start, EndTime=start + dt.timedelta(minutes=5), LabelOptions={"Timezone": "+0130"})
    labels = sorted(r["Label"] for r in got["MetricDataResults"])
    max_time = (start + dt.timedelta(minutes=1)).astimezone(dt.timezone(dt.timedelta(hours=1, minutes=30)))
    assert labels == sorted([
        f"Latency on a: max 10 at {max_time.strftime('%Y-%m-%dT%H:%M:%S%z')}, n=3, sum 15",
        "host a avg 5", "host b avg 6",
    ])
    assert error_of(cw.get_metric_data, MetricDataQueries=[{"Id": "m1", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}}],
                    StartTime=start, EndTime=start + dt.timedelta(minutes=5),
                    LabelOptions={"Timezone": "CET"})["Code"] in ("InvalidParameterValue", "InvalidParameterValueException")


def test_roll_ups_and_two_week_listing_follow_the_clock(server_factory, tmp_path):
    """High-resolution data keeps its seconds for 3 hours, then lives on as
    minutes (same statistics); a metric with nothing published for two
    weeks leaves ListMetrics but its rolled-up data can still be read."""
    server = server_factory("--test-clock")
    cw = cloudwatch_client(server, "json", tmp_path)
    ns = namespace()
    minute = minute_floor(now() - dt.timedelta(minutes=5))
    values = [float(v) for v in (5, 1, 9, 3, 7, 2)]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Fast", "Timestamp": minute + dt.timedelta(seconds=10 * i), "Value": value, "StorageResolution": 1}
        for i, value in enumerate(values)])
    read = lambda period: cw.get_metric_statistics(
        Namespace=ns, MetricName="Fast", StartTime=minute, EndTime=minute + dt.timedelta(minutes=1), Period=period,
        Statistics=["Sum", "SampleCount", "Minimum", "Maximum"])["Datapoints"]
    assert len(read(1)) == len(values)
    server.flush()
    server.advance_clock(4 * 3600 * 1000)
    server.compact()
    (point,) = read(60)
    assert (point["Sum"], point["SampleCount"], point["Minimum"], point["Maximum"]) == (sum(values), 6.0, 1.0, 9.0)
    error = error_of(cw.get_metric_statistics, Namespace=ns, MetricName="Fast", StartTime=minute,
                     EndTime=minute + dt.timedelta(minutes=1), Period=1, Statistics=["Sum"])
    assert error["Code"] == "InvalidParameterValue"
    blocks = list((server.data_dir / "objects" / "metrics").rglob("*.block"))
    assert len(blocks) == 1, blocks
    assert [m["MetricName"] for m in cw.list_metrics(Namespace=ns)["Metrics"]] == ["Fast"]

    server.advance_clock(15 * 86_400 * 1000)
    assert cw.list_metrics(Namespace=ns)["Metrics"] == []
    server.compact()
    five = cw.get_metric_statistics(Namespace=ns, MetricName="Fast", StartTime=minute - dt.timedelta(minutes=5),
                                    EndTime=minute + dt.timedelta(minutes=5), Period=300, Statistics=["Sum"])["Datapoints"]
    assert sum(p["Sum"] for p in five) == sum(values)
