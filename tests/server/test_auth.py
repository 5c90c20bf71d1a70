"""SigV4 authentication: the header and presigned forms, payload hashes,
the 15-minute clock skew, and the AWS error for each failure. No request
without a valid signature reaches a handler."""

import datetime
import subprocess

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import AwsCli, make_client
from harness import ACCESS_KEY, SECRET_KEY
from support import RawClient, client_error, unique, utc_now

SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                      "for details.")


@pytest.fixture(autouse=True)
def still_serving(server, logs):
    yield
    assert server.alive()
    logs.describe_log_groups(limit=1)


def assert_error(response, code, status, message=None, starts_with=None):
    assert (response.status, response.error_type) == (status, code), (response.status, response.body[:400])
    body = response.json()
    assert body["__type"] == code
    if message is not None:
        assert body["message"] == message, body
    if starts_with is not None:
        assert body["message"].startswith(starts_with), body
    return body


def group_exists(logs, name):
    return bool(logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"])


class TestThroughBoto3:
    def test_unknown_access_key(self, server, logs):
        stranger = make_client(server, "logs", access_key="AKIAUNKNOWNKEY000000", secret_key="whatever")
        name = unique()
        assert client_error(stranger.create_log_group, logGroupName=name) == (
            "UnrecognizedClientException", "The security token included in the request is invalid.", 400)
        assert not group_exists(logs, name)

    def test_wrong_secret(self, server, logs):
        wrong = make_client(server, "logs", secret_key="not-the-secret")
        name = unique()
        assert client_error(wrong.create_log_group, logGroupName=name) == (
            "InvalidSignatureException", SIGNATURE_MISMATCH, 400)
        assert not group_exists(logs, name)

    def test_the_cli_with_bad_credentials(self, server):
        cli = AwsCli(server)
        env = cli.env()
        env["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWNKEY000000"
        result = subprocess.run(["aws", "--endpoint-url", server.endpoint, "logs", "describe-log-groups"],
                                capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode != 0
        assert "(UnrecognizedClientException)" in result.stderr
        assert "The security token included in the request is invalid." in result.stderr


class TestHeaderForm:
    def test_a_valid_signature_works(self, raw):
        assert raw.signed("DescribeLogGroups", {"limit": 1}).status == 200

    def test_body_changed_after_signing(self, raw, logs):
        name = unique()
        response = raw.signed("CreateLogGroup", {"logGroupName": "/signed/original"},
                              tamper=lambda body: body.replace(b"/signed/original", name.encode()))
        assert_error(response, "InvalidSignatureException", 400, message=SIGNATURE_MISMATCH)
        assert not group_exists(logs, name)

    def test_signed_header_changed_after_signing(self, server, raw):
        response = raw.signed("DescribeLogGroups", {})
        assert response.status == 200
        request = AWSRequest(method="POST", url=server.endpoint + "/", data=b"{}",
                             headers={"Content-Type": "application/x-amz-json-1.1",
                                      "X-Amz-Target": "Logs_20140328.DescribeLogGroups"})
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "logs", "us-east-1").add_auth(request)
        prepared = request.prepare()
        headers = dict(prepared.headers)
        headers["X-Amz-Target"] = "Logs_20140328.DescribeLogStreams"
        answer = requests.post(prepared.url, data=prepared.body, headers=headers, timeout=30)
        assert (answer.status_code, answer.headers["x-amzn-ErrorType"]) == (400, "InvalidSignatureException")

    def test_missing_authorization(self, raw):
        assert_error(raw.unsigned("DescribeLogGroups", {}), "MissingAuthenticationTokenException", 403,
                     message="Request is missing Authentication Token")

    def test_incomplete_authorization_header(self, raw):
        response = raw.unsigned("DescribeLogGroups", {}, headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAARGUSTESTKEY0001/20240101/us-east-1/logs/aws4_request",
            "X-Amz-Date": "20240101T000000Z"})
        assert_error(response, "IncompleteSignatureException", 400,
                     starts_with="Authorization header requires 'Signature' parameter. "
                                 "Authorization header requires 'SignedHeaders' parameter.")

    def test_garbage_authorization_header(self, raw):
        response = raw.unsigned("DescribeLogGroups", {}, headers={"Authorization": "Bearer abc",
                                                                  "X-Amz-Date": "20240101T000000Z"})
        assert response.status in (400, 403) and response.error_type in (
            "IncompleteSignatureException", "MissingAuthenticationTokenException"), response.body

    def test_signature_twenty_minutes_old_is_expired(self, raw):
        response = raw.signed("DescribeLogGroups", {}, signed_at=utc_now() - datetime.timedelta(minutes=20))
        assert_error(response, "InvalidSignatureException", 400, starts_with="Signature expired: ")

    def test_signature_twenty_minutes_ahead_is_not_yet_current(self, raw):
        response = raw.signed("DescribeLogGroups", {}, signed_at=utc_now() + datetime.timedelta(minutes=20))
        assert_error(response, "InvalidSignatureException", 400, starts_with="Signature not yet current: ")

    @pytest.mark.parametrize("minutes", [-14, 14])
    def test_less_than_fifteen_minutes_of_skew_is_accepted(self, raw, minutes):
        response = raw.signed("DescribeLogGroups", {}, signed_at=utc_now() + datetime.timedelta(minutes=minutes))
        assert response.status == 200, response.body

    def test_unknown_access_key_raw(self, raw):
        assert_error(raw.signed("DescribeLogGroups", {}, access_key="AKIANOBODY0000000000"),
                     "UnrecognizedClientException", 400,
                     message="The security token included in the request is invalid.")

    def test_unsigned_payload(self, raw):
        response = raw.signed("DescribeLogGroups", {"limit": 1}, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        assert response.status == 200, response.body

    def test_payload_hash_that_does_not_match_the_body(self, raw):
        wrong = "0" * 64
        response = raw.signed("DescribeLogGroups", {}, headers={"X-Amz-Content-SHA256": wrong})
        assert_error(response, "InvalidSignatureException", 400,
                     message="The provided 'x-amz-content-sha256' header does not match what was computed.")

    def test_any_region_in_the_scope_is_accepted(self, raw):
        assert raw.signed("DescribeLogGroups", {}, region="ap-southeast-2").status == 200


class TestPresignedForm:
    def test_a_presigned_request_works(self, raw, logs):
        name = unique()
        response = raw.presigned("CreateLogGroup", {"logGroupName": name})
        assert response.status == 200, response.body
        assert group_exists(logs, name)

    def test_an_expired_presigned_request(self, raw, logs):
        name = unique()
        response = raw.presigned("CreateLogGroup", {"logGroupName": name}, expires=60,
                                 signed_at=utc_now() - datetime.timedelta(minutes=5))
        assert_error(response, "RequestExpired", 400, message="Request has expired.")
        assert not group_exists(logs, name)

    def test_a_presigned_request_with_the_wrong_secret(self, raw):
        response = raw.presigned("DescribeLogGroups", {}, secret_key="wrong")
        assert_error(response, "InvalidSignatureException", 400, message=SIGNATURE_MISMATCH)


def test_every_failure_in_a_row_leaves_the_server_serving(server, raw):
    for _ in range(10):
        assert raw.unsigned("DescribeLogGroups", {}).status == 403
        assert raw.signed("DescribeLogGroups", {}, secret_key="x").status == 400
        assert raw.signed("DescribeLogGroups", {}, access_key="AKIAX").status == 400
    assert RawClient(server).signed("DescribeLogGroups", {}).status == 200
