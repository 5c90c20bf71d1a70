"""Bad input over raw HTTP: malformed and ill-typed bodies, missing members,
invalid UTF-8, unknown operations, oversized bodies. Each gets the AWS
error (`__type` and `x-amzn-ErrorType`, the right HTTP status), never a
500, and the server keeps serving."""

import collections
import json

import pytest

from conftest import make_client
from harness import ArgusServer
from support import (JSON_CONTENT_TYPE, RawClient, client_error, create_group, now_ms, parse_raw_response, raw_http,
                     unique)

DEFAULT_MAX_BODY = 8 * 1024 * 1024


@pytest.fixture(autouse=True)
def still_serving(server, logs):
    yield
    assert server.alive(), "the server died"
    logs.describe_log_groups(limit=1)


def assert_error(response, code, status=400, message=None, contains=()):
    assert response.status == status, (response.status, response.body[:500])
    assert response.error_type == code, response.headers
    body = response.json()
    assert body["__type"] == code, body
    if message is not None:
        assert body["message"] == message, body
    for part in contains:
        assert part in body["message"], body
    assert response.headers.get("x-amzn-RequestId") or response.headers.get("x-amzn-requestid")
    return body


class TestMalformedBodies:
    @pytest.mark.parametrize("body", [
        b'{"logGroupName": "abc',
        b'{"logGroupName": "abc"',
        b'{"logGroupName": }',
        b'{logGroupName: "abc"}',
        b"\x00\x01\x02",
        b'{"a": 1} trailing',
    ], ids=["unterminated-string", "unterminated-object", "missing-value", "unquoted-key", "binary", "trailing-data"])
    def test_not_json(self, raw, body):
        assert_error(raw.signed("CreateLogGroup", body), "SerializationException")

    @pytest.mark.parametrize("body", [b"[]", b'"a string"', b"42", b"null", b"true"])
    def test_json_but_not_an_object(self, raw, body):
        assert_error(raw.signed("DescribeLogGroups", body), "SerializationException")

    def test_invalid_utf8_inside_a_string(self, raw):
        body = b'{"logGroupName": "caf\xe9-latin1"}'
        assert_error(raw.signed("CreateLogGroup", body), "SerializationException")

    def test_truncated_utf8_sequence(self, raw):
        body = b'{"logGroupName": "x", "tags": {"k": "\xf0\x9f\x98"}}'
        assert_error(raw.signed("CreateLogGroup", body), "SerializationException")

    def test_lone_surrogate_escape(self, raw):
        group = unique()
        body = json.dumps({"logGroupName": group}).encode()
        assert raw.signed("CreateLogGroup", body).status == 200
        body = b'{"logGroupName": "%s", "logStreamName": "s\\ud800"}' % group.encode()
        response = raw.signed("CreateLogStream", body)
        assert response.status == 400 and response.error_type in ("SerializationException",
                                                                   "InvalidParameterException")

    def test_deeply_nested_json(self, raw):
        body = b'{"tags": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        assert_error(raw.signed("CreateLogGroup", body), "SerializationException")

    def test_empty_body_is_an_empty_input(self, raw):
        assert raw.signed("DescribeLogGroups", b"").status == 200
        assert_error(raw.signed("CreateLogGroup", b""), "InvalidParameterException",
                     message="1 validation error detected: Value null at 'logGroupName' failed to satisfy "
                             "constraint: Member must not be null")


class TestWrongTypes:
    def test_string_for_limit(self, raw):
        assert_error(raw.signed("DescribeLogGroups", {"limit": "five"}), "InvalidParameterException",
                     message="1 validation error detected: Value 'five' at 'limit' failed to satisfy constraint: "
                             "Member must be of type integer")

    @pytest.mark.parametrize("limit", [1.5, 1e30, 2 ** 70, True, [1], {"n": 1}])
    def test_other_non_integers_for_limit(self, raw, limit):
        assert_error(raw.signed("DescribeLogGroups", {"limit": limit}), "InvalidParameterException",
                     contains=["'limit'"])

    def test_number_for_log_group_name(self, raw):
        assert_error(raw.signed("CreateLogGroup", {"logGroupName": 42}), "InvalidParameterException",
                     message="1 validation error detected: Value '42' at 'logGroupName' failed to satisfy "
                             "constraint: Member must be of type string")

    def test_wrong_types_inside_log_events_are_all_named(self, raw):
        body = {"logGroupName": "g", "logStreamName": "s",
                "logEvents": [{"timestamp": now_ms(), "message": "fine"}, {"timestamp": "noon", "message": 7}]}
        error = assert_error(raw.signed("PutLogEvents", body), "InvalidParameterException")
        assert error["message"].startswith("2 validation errors detected: ")
        assert "'logEvents.2.member.timestamp'" in error["message"]
        assert "'logEvents.2.member.message'" in error["message"]

    def test_object_where_a_list_belongs(self, raw):
        body = {"logGroupName": "g", "logStreamName": "s", "logEvents": {"timestamp": 1, "message": "m"}}
        assert_error(raw.signed("PutLogEvents", body), "InvalidParameterException", contains=["'logEvents'"])

    def test_list_where_a_map_belongs(self, raw):
        assert_error(raw.signed("CreateLogGroup", {"logGroupName": unique(), "tags": ["a", "b"]}),
                     "InvalidParameterException", contains=["'tags'"])

    def test_string_for_a_boolean(self, raw):
        body = {"logGroupName": "g", "logStreamName": "s", "startFromHead": "yes"}
        assert_error(raw.signed("GetLogEvents", body), "InvalidParameterException", contains=["'startFromHead'"])

    def test_nothing_is_created_by_an_ill_typed_request(self, raw, logs):
        group = unique()
        assert_error(raw.signed("CreateLogGroup", {"logGroupName": group, "tags": {"k": 1}}),
                     "InvalidParameterException", contains=["'tags.k.member'"])
        assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []


class TestMissingMembers:
    def test_one_missing(self, raw):
        assert_error(raw.signed("CreateLogStream", {"logGroupName": "g"}), "InvalidParameterException",
                     message="1 validation error detected: Value null at 'logStreamName' failed to satisfy "
                             "constraint: Member must not be null")

    def test_several_missing_are_all_named(self, raw):
        error = assert_error(raw.signed("PutLogEvents", {}), "InvalidParameterException")
        assert error["message"].startswith("3 validation errors detected: ")
        for member in ("logGroupName", "logStreamName", "logEvents"):
            assert f"Value null at '{member}' failed to satisfy constraint: Member must not be null" in error["message"]

    def test_explicit_null(self, raw):
        assert_error(raw.signed("CreateLogGroup", {"logGroupName": None}), "InvalidParameterException",
                     contains=["Value null at 'logGroupName'"])

    def test_missing_inside_a_list_element(self, raw):
        body = {"logGroupName": "g", "logStreamName": "s", "logEvents": [{"message": "no timestamp"}]}
        assert_error(raw.signed("PutLogEvents", body), "InvalidParameterException",
                     contains=["Value null at 'logEvents.1.member.timestamp'"])


class TestRouting:
    def test_unknown_operation(self, raw):
        assert_error(raw.signed("DescribeEverything", {}), "UnknownOperationException")

    def test_unknown_service_prefix(self, raw):
        response = raw.signed(None, {}, headers={"X-Amz-Target": "NoSuchService_2020.DoThing"})
        assert_error(response, "UnknownOperationException")

    def test_missing_target(self, raw):
        assert_error(raw.signed(None, {}), "UnknownOperationException")

    def test_operation_of_the_model_not_implemented_yet(self, raw):
        # In the CloudWatch Logs model but not served by Argus yet: an AWS
        # error, not a 500 or an HTML page.
        response = raw.signed("DescribeDestinations", {})
        assert 400 <= response.status < 600 and response.status != 500
        assert response.json()["__type"] == response.error_type


class TestBodySizeCap:
    def test_declared_length_over_the_default_cap_is_refused_before_the_body(self, server):
        request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + JSON_CONTENT_TYPE.encode()
                   + b"\r\nX-Amz-Target: Logs_20140328.DescribeLogGroups\r\n"
                   + f"Content-Length: {DEFAULT_MAX_BODY + 1}\r\n\r\n".encode() + b'{"')
        status, headers, body = parse_raw_response(raw_http(server, request))
        assert status == 413
        assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
        assert json.loads(body)["__type"] == "RequestEntityTooLargeException"

    def test_a_body_of_exactly_the_cap_is_read(self, raw):
        body = b'{"limit": 1}'
        padded = body + b" " * (DEFAULT_MAX_BODY - len(body))
        assert len(padded) == DEFAULT_MAX_BODY
        response = raw.signed("DescribeLogGroups", padded)
        assert response.status == 200, response.body[:300]
        assert len(response.json()["logGroups"]) <= 1

    def test_one_byte_over_the_cap_is_refused(self, raw):
        body = b'{"limit": 1}'
        padded = body + b" " * (DEFAULT_MAX_BODY + 1 - len(body))
        assert_error(raw.signed("DescribeLogGroups", padded), "RequestEntityTooLargeException", status=413)


@pytest.fixture(scope="module")
def small_cap(request):
    server = ArgusServer(extra_args=["--max-body-bytes", "1024"]).start()
    request.addfinalizer(server.close)
    return server


class TestSmallCap:
    def test_huge_declared_length_is_answered_without_sending_the_body(self, small_cap):
        # Only the headers and a few bytes are sent; a server that waited for
        # 100 MB would never answer and raw_http would time out.
        request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + JSON_CONTENT_TYPE.encode()
                   + b"\r\nX-Amz-Target: Logs_20140328.PutLogEvents\r\nContent-Length: 104857600\r\n\r\n"
                   + b'{"logEvents": [')
        status, headers, body = parse_raw_response(raw_http(small_cap, request, read_timeout=20))
        assert status == 413
        assert json.loads(body) == {"__type": "RequestEntityTooLargeException",
                                    "message": "the request body is larger than the 1024-byte limit"}

    def test_chunked_body_over_the_cap(self, small_cap):
        chunk = b"x" * 4096
        request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + JSON_CONTENT_TYPE.encode()
                   + b"\r\nX-Amz-Target: Logs_20140328.DescribeLogGroups\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        status, headers, _ = parse_raw_response(raw_http(small_cap, request, read_timeout=20))
        assert status == 413
        assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException"

    def test_boto3_sees_the_error_and_small_requests_still_work(self, small_cap):
        logs = make_client(small_cap, "logs")
        group = create_group(logs)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        code, _, status = client_error(logs.put_log_events, logGroupName=group, logStreamName="s",
                                       logEvents=[{"timestamp": now_ms(), "message": "m" * 2000}])
        assert (code, status) == ("RequestEntityTooLargeException", 413)
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "ok"}])
        assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s")["events"]] == ["ok"]
        assert small_cap.alive()


def test_many_bad_requests_in_a_row_leave_the_server_healthy(server, raw, logs):
    bodies = [b"{", b"\xff\xfe", b"[]", b'{"limit": "x"}', b'{"logGroupName": 1}', b""]
    for _ in range(20):
        for body in bodies:
            response = raw.signed("CreateLogGroup", body)
            assert response.status == 400
    assert RawClient(server).signed("DescribeLogGroups", {"limit": 1}).status == 200
    assert server.health()[0] == 200


OPERATIONS = {
    "CreateLogGroup": ["logGroupName", "kmsKeyId", "tags", "logGroupClass", "deletionProtectionEnabled"],
    "DeleteLogGroup": ["logGroupName"],
    "DescribeLogGroups": ["logGroupNamePrefix", "logGroupNamePattern", "nextToken", "limit", "logGroupClass",
                          "logGroupIdentifiers"],
    "CreateLogStream": ["logGroupName", "logStreamName"],
    "DeleteLogStream": ["logGroupName", "logStreamName"],
    "DescribeLogStreams": ["logGroupName", "logGroupIdentifier", "logStreamNamePrefix", "orderBy", "descending",
                           "nextToken", "limit"],
    "PutLogEvents": ["logGroupName", "logStreamName", "logEvents", "sequenceToken"],
    "GetLogEvents": ["logGroupName", "logGroupIdentifier", "logStreamName", "startTime", "endTime", "nextToken",
                     "limit", "startFromHead"],
    "FilterLogEvents": ["logGroupName", "logGroupIdentifier", "logStreamNames", "logStreamNamePrefix", "startTime",
                        "endTime", "filterPattern", "nextToken", "limit"],
    "PutRetentionPolicy": ["logGroupName", "retentionInDays"],
    "DeleteRetentionPolicy": ["logGroupName"],
    "TagLogGroup": ["logGroupName", "tags"],
    "UntagLogGroup": ["logGroupName", "tags"],
    "ListTagsLogGroup": ["logGroupName"],
    "TagResource": ["resourceArn", "tags"],
    "UntagResource": ["resourceArn", "tagKeys"],
    "ListTagsForResource": ["resourceArn"],
}


def test_random_member_values_never_get_a_server_error(server, raw, logs):
    """A seeded fuzz: every operation with members of every JSON type and
    awkward values. Every answer is a 200 or a 4xx AWS error with matching
    __type and x-amzn-ErrorType."""
    import random

    group = create_group(logs, name=unique("/fuzz"))
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    rng = random.Random(20240601)
    values = [None, True, False, 0, -1, 1, 2 ** 31, -(2 ** 63), 2 ** 64, 1.5, float("1e308"), "", " ", "x" * 600,
              group, "s", "arn:aws:logs:us-east-1:000000000000:log-group:" + group, "arn:", "arn:aws:logs:::::",
              "f/" + "9" * 56, "b/" + "0" * 56, "\u0000", "ünï", "😀", "[", '"', "{ $.x = 1 }", "?a -b \"c d\"",
              [], [group], ["s", "t"], [{"timestamp": now, "message": "m"}], [{"timestamp": "x"}], [None],
              {}, {"k": "v"}, {"k": 1}, {"": ""}, {"a" * 200: "b"}]
    statuses = collections.Counter()
    for _ in range(400):
        operation = rng.choice(list(OPERATIONS))
        members = OPERATIONS[operation]
        body = {member: rng.choice(values) for member in rng.sample(members, rng.randint(0, len(members)))}
        response = raw.signed(operation, body)
        statuses[response.status] += 1
        assert response.status == 200 or 400 <= response.status < 500, (operation, body, response.body[:300])
        if response.status != 200:
            error = response.json()
            assert error["__type"] == response.error_type, (operation, body, error)
            assert isinstance(error.get("message"), str)
    assert statuses[200] > 0 and sum(n for status, n in statuses.items() if status != 200) > 0
    assert server.alive()
