#!/usr/bin/env python3
"""Generate the wire fixtures from botocore itself.

* `fixtures/requests/<name>.json`: a request exactly as botocore's own
  serializer writes it (headers, path, body), plus the canonical input Argus
  must decode it to. Proves Argus reads what real clients send.
* `fixtures/responses/<name>.json`: a canonical handler output (or an error)
  to encode, and what botocore's parser must read back from Argus's bytes.
  `cargo test -p argus-wire` encodes each case and compares with the golden
  `<name>.encoded.json` (rewrite with ARGUS_BLESS=1); `botocore_check.py` feeds
  the golden bytes to botocore's parsers.

Run from anywhere: python3 crates/wire/tests/gen_fixtures.py
"""

import base64
import calendar
import datetime
import json
import math
import os
import shutil

from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
REQUESTS = os.path.join(HERE, "fixtures", "requests")
RESPONSES = os.path.join(HERE, "fixtures", "responses")

LOADER = Loader()
MODELS = {}

SIGNING = {"logs": "logs", "cloudwatch": "monitoring", "sns": "sns", "cloudtrail": "cloudtrail", "events": "events"}
VERSIONS = {"events": "2015-10-07"}


def model(service):
    if service not in MODELS:
        data = LOADER.load_service_model(service, "service-2", api_version=VERSIONS.get(service))
        MODELS[service] = ServiceModel(data, service_name=service)
    return MODELS[service]


def ts(*args, micro=0):
    return datetime.datetime(*args, microsecond=micro, tzinfo=datetime.timezone.utc)


def canonical(shape, value, protocol):
    """The canonical value Argus hands handlers for `value` of `shape`."""
    kind = shape.type_name
    if kind == "structure":
        return {name: canonical(shape.members[name], v, protocol) for name, v in value.items() if v is not None}
    if kind == "list":
        return [canonical(shape.member, v, protocol) for v in value]
    if kind == "map":
        return {k: canonical(shape.value, v, protocol) for k, v in value.items()}
    if kind == "timestamp":
        seconds = calendar.timegm(value.timetuple())
        if protocol == "query":
            millis = value.microsecond // 1000
            return seconds + millis / 1000 if millis else seconds
        # botocore's JSON and CBOR serializers send whole seconds.
        return seconds
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else value
        return base64.b64encode(raw).decode()
    if kind in ("double", "float"):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    return value


def serialize(service, protocol, operation, params):
    m = model(service)
    op = m.operation_model(operation)
    request = create_serializer(protocol).serialize_to_request(params, op)
    body = request["body"]
    if isinstance(body, dict):
        body = percent_encode_sequence(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return request, body


REQUEST_CASES = [
    # CloudWatch Logs, awsJson 1.1.
    ("logs", "json", "PutLogEvents", {
        "logGroupName": "/app/api",
        "logStreamName": "i-0123/main",
        "logEvents": [
            {"timestamp": 1704164645123, "message": "GET /health 200"},
            {"timestamp": 1704164646000, "message": "unicode: h\u00e9llo \u2603 \U0001F600, \"quoted\"\n"},
        ],
        "sequenceToken": "495",
    }),
    ("logs", "json", "DescribeLogGroups", {"logGroupNamePrefix": "/app", "limit": 5, "includeLinkedAccounts": False}),
    ("logs", "json", "DescribeLogGroups", {}),
    ("logs", "json", "CreateLogGroup", {"logGroupName": "/app/worker", "tags": {"team": "core", "env": "prod"}}),
    ("logs", "json", "FilterLogEvents", {
        "logGroupName": "/app/api", "logStreamNames": ["a", "b"], "startTime": 1704067200000,
        "endTime": 1704153600000, "filterPattern": "[ip, user, status=5*]", "limit": 100, "interleaved": True,
    }),
    ("logs", "json", "GetLogEvents", {"logGroupName": "/g", "logStreamName": "s", "startFromHead": True, "limit": 10000}),
    # CloudWatch metrics over its three protocols.
    *[
        ("cloudwatch", protocol, operation, params)
        for protocol in ("json", "smithy-rpc-v2-cbor", "query")
        for operation, params in [
            ("PutMetricData", {
                "Namespace": "App/Web",
                "MetricData": [
                    {
                        "MetricName": "Latency",
                        "Dimensions": [{"Name": "Host", "Value": "web-1"}, {"Name": "Az", "Value": "us-east-1a"}],
                        "Timestamp": ts(2024, 1, 2, 3, 4, 5),
                        "Value": 12.5,
                        "Unit": "Milliseconds",
                        "StorageResolution": 1,
                    },
                    {"MetricName": "Sizes", "Values": [1.0, 2.5, 1e300], "Counts": [3.0, 1.0, 1.0], "Unit": "Bytes"},
                    {"MetricName": "Stats", "StatisticValues": {"SampleCount": 4.0, "Sum": 10.0, "Minimum": -1.5, "Maximum": 7.25}},
                ],
            }),
            ("PutMetricData", {
                "Namespace": "App/Special",
                "MetricData": [{"MetricName": "Odd", "Value": float("nan"), "Values": [float("inf"), float("-inf")]}],
            }),
            ("GetMetricData", {
                "MetricDataQueries": [
                    {
                        "Id": "m1",
                        "MetricStat": {
                            "Metric": {"Namespace": "App/Web", "MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "web-1"}]},
                            "Period": 60,
                            "Stat": "p99",
                        },
                        "ReturnData": True,
                    },
                    {"Id": "e1", "Expression": "m1 * 2", "Label": "doubled", "ReturnData": False},
                ],
                "StartTime": ts(2024, 1, 2, 0, 0, 0),
                "EndTime": ts(2024, 1, 2, 1, 0, 0),
                "ScanBy": "TimestampDescending",
                "MaxDatapoints": 1000,
                "LabelOptions": {"Timezone": "+0130"},
            }),
            ("DescribeAlarms", {
                "AlarmNames": ["high-cpu", "low-disk"],
                "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
                "StateValue": "ALARM",
                "MaxRecords": 50,
            }),
            ("DescribeAlarms", {}),
            ("PutMetricAlarm", {
                "AlarmName": "high-cpu",
                "ActionsEnabled": True,
                "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"],
                "MetricName": "CPUUtilization",
                "Namespace": "AWS/EC2",
                "Statistic": "Average",
                "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}],
                "Period": 300,
                "EvaluationPeriods": 2,
                "Threshold": 80.0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "Tags": [{"Key": "team", "Value": "core"}],
            }),
            ("SetAlarmState", {"AlarmName": "high-cpu", "StateValue": "OK", "StateReason": "manual <reset> & \"test\""}),
        ]
    ],
    ("cloudwatch", "query", "GetMetricStatistics", {
        "Namespace": "App/Web", "MetricName": "Latency",
        "StartTime": ts(2024, 1, 2, 0, 0, 0, micro=250000), "EndTime": ts(2024, 1, 2, 1, 0, 0),
        "Period": 60, "Statistics": ["Average", "Maximum"], "ExtendedStatistics": ["p99"],
    }),
    # SNS, awsQuery.
    ("sns", "query", "Publish", {
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ops",
        "Message": "disk full on web-1 & web-2 = bad +100%",
        "Subject": "alert",
        "MessageAttributes": {
            "severity": {"DataType": "String", "StringValue": "high"},
            "payload": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
        },
    }),
    ("sns", "query", "ListTopics", {"NextToken": "abc=="}),
    ("sns", "query", "ListTopics", {}),
    ("sns", "query", "Subscribe", {
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ops",
        "Protocol": "https",
        "Endpoint": "https://example.com/hook?a=1&b=2",
        "Attributes": {"RawMessageDelivery": "true", "FilterPolicy": "{\"severity\": [\"high\"]}"},
        "ReturnSubscriptionArn": True,
    }),
    ("sns", "query", "CreateTopic", {
        "Name": "ops",
        "Attributes": {"DisplayName": "Ops"},
        "Tags": [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "prod"}],
    }),
    ("sns", "query", "PublishBatch", {
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ops",
        "PublishBatchRequestEntries": [
            {"Id": "1", "Message": "one", "MessageAttributes": {"k": {"DataType": "Number", "StringValue": "1"}}},
            {"Id": "2", "Message": "two"},
        ],
    }),
    # EventBridge and CloudTrail, awsJson 1.1.
    ("events", "json", "PutEvents", {
        "Entries": [{"Time": ts(2024, 1, 2, 3, 4, 5), "Source": "app", "DetailType": "thing", "Detail": "{\"a\": 1}", "Resources": ["r1"]}],
    }),
    ("cloudtrail", "json", "LookupEvents", {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}],
        "StartTime": ts(2024, 1, 1), "EndTime": ts(2024, 1, 2), "MaxResults": 10,
    }),
]


# Requests captured from real boto3 clients (the whole pipeline: protocol
# choice, customizations, headers, request compression), with the canonical
# input expected from the same parameters.
CLIENT_CASES = [
    ("logs", "PutLogEvents", {
        "logGroupName": "/app/api", "logStreamName": "main",
        "logEvents": [{"timestamp": 1704164645123, "message": "hello"}],
    }),
    ("logs", "DescribeLogGroups", {"limit": 50}),
    ("cloudwatch", "PutMetricData", {
        "Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1.0, "Timestamp": ts(2024, 1, 2, 3, 4, 5)}],
    }),
    ("cloudwatch", "DescribeAlarms", {"StateValue": "ALARM"}),
    ("sns", "Publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:ops", "Message": "hi"}),
    ("sns", "ListTopics", {}),
    ("events", "PutEvents", {"Entries": [{"Source": "app", "DetailType": "t", "Detail": "{}"}]}),
    # Over botocore's 10 KiB threshold: sent gzip-compressed.
    ("cloudwatch", "PutMetricData", {
        "Namespace": "App",
        "MetricData": [{"MetricName": f"metric-{i}", "Value": float(i)} for i in range(400)],
    }),
]

PROTOCOL_HEADERS = {"content-type", "x-amz-target", "x-amzn-query-mode", "smithy-protocol", "content-encoding"}


def capture_client_request(service, operation, params):
    import boto3
    from botocore.awsrequest import AWSResponse

    captured = {}

    def before_send(request, **kwargs):
        captured["request"] = request
        return AWSResponse(request.url, 500, {}, None)

    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1")
    client = session.client(
        service, endpoint_url="http://localhost:4566",
        config=__import__("botocore.config").config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    client.meta.events.register("before-send", before_send)
    method = getattr(client, __import__("botocore").xform_name(operation))
    try:
        method(**params)
    except Exception:
        pass  # the fake 500 answer; only the request matters
    request = captured["request"]
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    from urllib.parse import urlsplit
    url = urlsplit(request.url)
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items() if k.lower() in PROTOCOL_HEADERS}
    return request.method, url.path or "/", url.query, headers, bytes(body), client.meta.service_model.resolved_protocol


def write_client_requests():
    seen = {}
    for service, operation, params in CLIENT_CASES:
        base = f"client-{service}-{operation}"
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}-{seen[base]}"
        method, path, query, headers, body, protocol = capture_client_request(service, operation, params)
        op = model(service).operation_model(operation)
        compressed = any(k.lower() == "content-encoding" and "gzip" in v for k, v in headers.items())
        if compressed:
            # Same bytes botocore sent, but with a fixed gzip mtime so the
            # fixture does not change on every run.
            import gzip
            body = gzip.compress(gzip.decompress(body), mtime=0)
        fixture = {
            "service": service, "signing_name": SIGNING[service], "operation": operation, "protocol": protocol,
            "method": method, "path": path, "query": query, "headers": headers,
            "body_base64": base64.b64encode(body).decode(),
            "expected": canonical(op.input_shape, params, protocol),
            "compressed": compressed,
        }
        if not compressed and protocol != "smithy-rpc-v2-cbor":
            fixture["body_text"] = body.decode()
        with open(os.path.join(REQUESTS, f"{name}.json"), "w") as f:
            json.dump(fixture, f, indent=1, ensure_ascii=False, sort_keys=True)
            f.write("\n")


def protocol_tag(protocol):
    return {"json": "json", "smithy-rpc-v2-cbor": "cbor", "query": "query"}[protocol]


def write_requests():
    shutil.rmtree(REQUESTS, ignore_errors=True)
    os.makedirs(REQUESTS)
    seen = {}
    for service, protocol, operation, params in REQUEST_CASES:
        base = f"{service}-{protocol_tag(protocol)}-{operation}"
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}-{seen[base]}"
        request, body = serialize(service, protocol, operation, params)
        op = model(service).operation_model(operation)
        expected = canonical(op.input_shape, params, protocol) if op.input_shape is not None else {}
        fixture = {
            "service": service,
            "signing_name": SIGNING[service],
            "operation": operation,
            "protocol": protocol,
            "method": request["method"],
            "path": request["url_path"],
            "query": request["query_string"] or "",
            "headers": {k: v for k, v in request["headers"].items()},
            "body_base64": base64.b64encode(body).decode(),
            "expected": expected,
        }
        if protocol != "smithy-rpc-v2-cbor":
            fixture["body_text"] = body.decode()  # for readers; tests use body_base64
        fixture = {
            **fixture,
        }
        with open(os.path.join(REQUESTS, f"{name}.json"), "w") as f:
            json.dump(fixture, f, indent=1, ensure_ascii=False, sort_keys=True)
            f.write("\n")


# Outputs: canonical values as handlers return them (timestamps as epoch
# seconds, blobs base64). `expected` defaults to the output itself.
OUTPUT_CASES = [
    ("logs", "json", "DescribeLogGroups", {
        "logGroups": [
            {"logGroupName": "/app/api", "creationTime": 1704164645123, "retentionInDays": 30, "metricFilterCount": 0,
             "arn": "arn:aws:logs:us-east-1:123456789012:log-group:/app/api:*", "storedBytes": 0, "logGroupClass": "STANDARD"},
        ],
        "nextToken": "next/1",
    }),
    ("logs", "json", "GetLogEvents", {
        "events": [{"timestamp": 1704164645123, "message": "hello \u2603", "ingestionTime": 1704164646000}],
        "nextForwardToken": "f/1", "nextBackwardToken": "b/1",
    }),
    ("logs", "json", "CreateLogGroup", {}),
    *[
        ("cloudwatch", protocol, operation, output)
        for protocol in ("json", "smithy-rpc-v2-cbor", "query")
        for operation, output in [
            ("GetMetricData", {
                "MetricDataResults": [
                    {"Id": "some", "Label": "Latency", "Timestamps": [1704164640, 1704164580.5], "Values": [41.0, 23.25],
                     "StatusCode": "Complete"},
                    {"Id": "part", "Label": "Odd", "Timestamps": [], "Values": [], "StatusCode": "PartialData",
                     "Messages": [{"Code": "c", "Value": "v < w"}]},
                ],
                "Messages": [],
                "NextToken": "t",
            }),
            ("DescribeAlarms", {
                "MetricAlarms": [{
                    "AlarmName": "high-cpu", "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:high-cpu",
                    "ActionsEnabled": True, "OKActions": [], "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"],
                    "StateValue": "ALARM", "StateReason": "Threshold Crossed: 1 datapoint [90.0 (02/01/24 03:04:00)]",
                    "StateUpdatedTimestamp": 1704164645.5, "MetricName": "CPUUtilization", "Namespace": "AWS/EC2",
                    "Statistic": "Average", "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}], "Period": 300,
                    "EvaluationPeriods": 2, "Threshold": 80.0, "ComparisonOperator": "GreaterThanThreshold",
                }],
                "CompositeAlarms": [],
            }),
            ("PutMetricData", {}),
            ("ListTagsForResource", {"Tags": [{"Key": "team", "Value": "core"}]}),
            ("GetMetricWidgetImage", {"MetricWidgetImage": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff").decode()}),
            ("GetMetricStatistics", {
                "Label": "Latency",
                "Datapoints": [{"Timestamp": 1704164640, "Average": 1.5, "Maximum": 3.0, "Unit": "Seconds",
                                "ExtendedStatistics": {"p99": 2.75}}],
            }),
        ]
    ],
    ("sns", "query", "Publish", {"MessageId": "0f6e2c4e-9d3a-4b7e-8f00-000000000001"}),
    ("sns", "query", "ListTopics", {"Topics": [{"TopicArn": "arn:aws:sns:us-east-1:123456789012:ops"},
                                                {"TopicArn": "arn:aws:sns:us-east-1:123456789012:dev"}], "NextToken": "n"}),
    ("sns", "query", "Subscribe", {"SubscriptionArn": "arn:aws:sns:us-east-1:123456789012:ops:1234"}),
    ("sns", "query", "GetTopicAttributes", {"Attributes": {"DisplayName": "Ops & <Dev>", "Policy": "{\"a\": \"b\"}"}}),
    ("sns", "query", "DeleteTopic", {}),
    ("sns", "query", "ListTopics", {"Topics": []}),
    ("events", "json", "PutEvents", {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}),
    ("cloudtrail", "json", "LookupEvents", {
        "Events": [{"EventId": "1", "EventName": "ConsoleLogin", "EventTime": 1704164645, "CloudTrailEvent": "{}",
                    "Resources": [{"ResourceType": "t", "ResourceName": "n"}]}],
    }),
]

# Errors: (name, protocol, service or None, query_mode, code shape name,
# message, expected botocore view). Expected values for CloudWatch come from
# the AWS recordings in /work/shared/conformance/localstack-snapshots.
ERROR_CASES = [
    ("logs-not-found", "json", "logs", False, "ResourceNotFoundException", "The specified log group does not exist.",
     {"Code": "ResourceNotFoundException", "Message": "The specified log group does not exist.", "status": 400}),
    ("logs-validation", "json", "logs", False, "InvalidParameterException",
     "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000",
     {"Code": "InvalidParameterException", "status": 400,
      "Message": "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"}),
    ("logs-unknown-operation", "json", None, False, "UnknownOperationException", "operation `Logs_20140328.Nope` does not exist",
     {"Code": "UnknownOperationException", "status": 400, "Message": "operation `Logs_20140328.Nope` does not exist"}),
    ("logs-internal", "json", "logs", False, "InternalFailure", "the server failed to process the request; it is safe to retry",
     {"Code": "InternalFailure", "status": 500, "Message": "the server failed to process the request; it is safe to retry"}),
    *[
        case
        for protocol, tag in (("json", "json"), ("smithy-rpc-v2-cbor", "cbor"))
        for case in [
            (f"cloudwatch-{tag}-invalid-parameter-value", protocol, "cloudwatch", True, "InvalidParameterValueException",
             "The parameter StartTime must be less than the parameter EndTime.",
             {"Code": "InvalidParameterValue", "QueryErrorCode": "InvalidParameterValueException", "Type": "Sender",
              "Message": "The parameter StartTime must be less than the parameter EndTime.", "status": 400}),
            (f"cloudwatch-{tag}-validation", protocol, "cloudwatch", True, "ValidationException",
             "1 validation error detected: Value 'INVALID' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]",
             {"Code": "ValidationError", "QueryErrorCode": "ValidationException", "Type": "Sender", "status": 400,
              "Message": "1 validation error detected: Value 'INVALID' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"}),
            (f"cloudwatch-{tag}-not-found", protocol, "cloudwatch", True, "ResourceNotFound", "",
             {"Code": "ResourceNotFound", "QueryErrorCode": "ResourceNotFound", "Type": "Sender", "Message": "", "status": 404}),
            (f"cloudwatch-{tag}-combination-no-query-mode", protocol, "cloudwatch", False, "InvalidParameterCombinationException",
             "The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you have specified both.",
             {"Code": "InvalidParameterCombinationException", "status": 400,
              "Message": "The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you have specified both."}),
        ]
    ],
    ("cloudwatch-cbor-serialization", "smithy-rpc-v2-cbor", "cloudwatch", True, "SerializationException",
     "the request body is not valid CBOR",
     {"Code": "SerializationException", "QueryErrorCode": "SerializationException", "Type": "Sender", "status": 400,
      "Message": "the request body is not valid CBOR"}),
    ("cloudwatch-query-invalid-parameter-value", "query", "cloudwatch", False, "InvalidParameterValueException",
     "The parameter StartTime must be less than the parameter EndTime.",
     {"Code": "InvalidParameterValue", "Type": "Sender", "status": 400,
      "Message": "The parameter StartTime must be less than the parameter EndTime."}),
    ("cloudwatch-query-validation", "query", "cloudwatch", False, "ValidationException",
     "1 validation error detected: Value 'INVALID' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]",
     {"Code": "ValidationError", "Type": "Sender", "status": 400,
      "Message": "1 validation error detected: Value 'INVALID' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"}),
    ("cloudwatch-query-not-found", "query", "cloudwatch", False, "ResourceNotFound", "",
     {"Code": "ResourceNotFound", "Type": "Sender", "status": 404}),
    ("sns-not-found", "query", "sns", False, "NotFoundException", "Topic does not exist",
     {"Code": "NotFound", "Type": "Sender", "Message": "Topic does not exist", "status": 404}),
    ("sns-invalid-parameter", "query", "sns", False, "InvalidParameterException", "Invalid parameter: TopicArn",
     {"Code": "InvalidParameter", "Type": "Sender", "Message": "Invalid parameter: TopicArn", "status": 400}),
    ("sns-validation", "query", "sns", False, "ValidationError",
     "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
     {"Code": "ValidationError", "Type": "Sender", "status": 400,
      "Message": "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null"}),
    ("sns-authorization", "query", "sns", False, "AuthorizationErrorException", "not <allowed> & denied",
     {"Code": "AuthorizationError", "Type": "Sender", "Message": "not <allowed> & denied", "status": 403}),
    ("query-invalid-action", "query", "sns", False, "InvalidAction", "The action Nope is not valid for this web service.",
     {"Code": "InvalidAction", "Type": "Sender", "Message": "The action Nope is not valid for this web service.", "status": 400}),
    ("query-unknown-service-internal", "query", None, False, "InternalFailure", "boom",
     {"Code": "InternalFailure", "Type": "Receiver", "Message": "boom", "status": 500}),
]


def write_responses():
    # Golden encodings (`*.encoded.json`) are Argus's output: keep them.
    os.makedirs(RESPONSES, exist_ok=True)
    for name in os.listdir(RESPONSES):
        if not name.endswith(".encoded.json"):
            os.remove(os.path.join(RESPONSES, name))
    seen = {}
    for service, protocol, operation, output in OUTPUT_CASES:
        base = f"output-{service}-{protocol_tag(protocol)}-{operation}"
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}-{seen[base]}"
        case = {"kind": "output", "service": service, "protocol": protocol, "operation": operation, "output": output,
                "request_id": f"req-{name}"}
        with open(os.path.join(RESPONSES, f"{name}.json"), "w") as f:
            json.dump(case, f, indent=1, ensure_ascii=False, sort_keys=True)
            f.write("\n")
    for name, protocol, service, query_mode, code, message, expected in ERROR_CASES:
        case = {"kind": "error", "service": service, "protocol": protocol, "query_mode": query_mode, "code": code,
                "message": message, "expected": expected, "request_id": f"req-{name}",
                # botocore parses an error against some operation's output shape.
                "operation": {"logs": "DescribeLogGroups", "cloudwatch": "DescribeAlarms", "sns": "Publish", None: None}[service]}
        with open(os.path.join(RESPONSES, f"error-{name}.json"), "w") as f:
            json.dump(case, f, indent=1, ensure_ascii=False, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    write_requests()
    write_client_requests()
    write_responses()
    print(f"wrote {len(os.listdir(REQUESTS))} request fixtures, {len(OUTPUT_CASES) + len(ERROR_CASES)} response cases")
