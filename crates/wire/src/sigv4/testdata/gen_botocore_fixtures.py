#!/usr/bin/env python3
"""Regenerates botocore_fixtures.json: requests signed by botocore itself.

Each fixture is what goes on the wire (method, path+query, headers including
the Host header urllib3 adds, body) at a fixed signing time, so the Rust
verifier is tested against exactly what the aws CLI and boto3 send. Run from
anywhere: `python3 gen_botocore_fixtures.py` (needs botocore installed).

Fixtures are data: add new cases, do not edit existing ones by hand.
"""

import base64
import datetime
import json
import os
import sys
from unittest import mock
from urllib.parse import urlsplit

import botocore
import botocore.session
from botocore.auth import S3SigV4Auth, SigV4Auth, SigV4QueryAuth, _host_from_url
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence

ACCESS_KEY = "AKIAARGUSFIXTURE0001"
SECRET_KEY = "argus/fixture+Secret/Key0123456789EXAMPLE"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//session+token=="
SIGNED_AT = datetime.datetime(2024, 5, 1, 12, 34, 56)
NOW = int(SIGNED_AT.replace(tzinfo=datetime.timezone.utc).timestamp())

CREDS = Credentials(ACCESS_KEY, SECRET_KEY)
CREDS_WITH_TOKEN = Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)


def wire(name, method, url, headers, body, region, service, note):
    """Describes a request as the HTTP client puts it on the wire."""
    parts = urlsplit(url)
    path_and_query = parts.path or "/"
    if parts.query:
        path_and_query += "?" + parts.query
    header_list = []
    if not any(k.lower() == "host" for k, _ in headers):
        # urllib3 sends the Host header botocore signed (no default port).
        header_list.append(["Host", _host_from_url(url)])
    for key, value in headers:
        header_list.append([key, value])
    if isinstance(body, str):
        body = body.encode("utf-8")
    return {
        "name": name,
        "note": note,
        "method": method,
        "path_and_query": path_and_query,
        "headers": header_list,
        "body_base64": base64.b64encode(body or b"").decode("ascii"),
        "now_unix": NOW,
        "expect": {"access_key_id": ACCESS_KEY, "region": region, "service": service},
    }


def sign(auth, request):
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT):
        auth.add_auth(request)
    return request


def from_request(name, request, region, service, note):
    headers = [[k, v] for k, v in request.headers.items()]
    return wire(name, request.method, request.url, headers, request.body or request.data, region, service, note)


class Captured(Exception):
    pass


def from_client(name, service, region, operation, params, note):
    """Signs through the full botocore client pipeline (what boto3 / the CLI do)."""
    session = botocore.session.get_session()
    client = session.create_client(
        service,
        region_name=region,
        endpoint_url="http://localhost:4566",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    captured = {}

    def capture(request, **_):
        captured["request"] = request
        raise Captured()

    client.meta.events.register("before-send", capture)
    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT):
        try:
            getattr(client, operation)(**params)
        except Captured:
            pass
    prepared = captured["request"]
    headers = []
    for key, value in prepared.headers.items():
        value = value.decode() if isinstance(value, bytes) else value
        if key.lower() == "amz-sdk-invocation-id":
            value = "00000000-0000-4000-8000-000000000000"  # random per call, unsigned
        headers.append([key, value])
    body = prepared.body
    if hasattr(body, "read"):
        body = body.read()
    signing_service = client.meta.service_model.signing_name
    return wire(name, prepared.method, prepared.url, headers, body, region, signing_service, note)


def fixtures():
    out = []

    out.append(from_client(
        "client_logs_put_log_events", "logs", "us-east-1", "put_log_events",
        {
            "logGroupName": "/argus/app",
            "logStreamName": "stream-1",
            "logEvents": [{"timestamp": 1714566896000, "message": "hello \u00e9\u00e8 \u2713 \"quoted\""}],
        },
        "awsJson1.1 POST through the botocore client",
    ))
    out.append(from_client(
        "client_sns_publish", "sns", "eu-west-1", "publish",
        {"TopicArn": "arn:aws:sns:eu-west-1:000000000000:alerts", "Message": "disk 95% full & rising / now"},
        "awsQuery form POST through the botocore client",
    ))
    out.append(from_client(
        "client_cloudwatch_put_metric_data", "cloudwatch", "us-west-2", "put_metric_data",
        {"Namespace": "Argus/Test", "MetricData": [{"MetricName": "Latency", "Value": 12.5, "Unit": "Milliseconds"}]},
        "CloudWatch through the botocore client (whatever protocol this botocore picks)",
    ))

    request = AWSRequest(
        "POST", "https://logs.us-east-1.amazonaws.com/",
        headers={"X-Amz-Target": "Logs_20140328.PutLogEvents", "Content-Type": "application/x-amz-json-1.1"},
        data=json.dumps({"logGroupName": "g", "logStreamName": "s",
                         "logEvents": [{"timestamp": 1, "message": "m"}]}).encode(),
    )
    out.append(from_request("logs_put_log_events_json", sign(SigV4Auth(CREDS, "logs", "us-east-1"), request),
                            "us-east-1", "logs", "JSON POST signed with SigV4Auth"))

    form = percent_encode_sequence([("Action", "Publish"), ("Version", "2010-03-31"),
                                    ("TopicArn", "arn:aws:sns:us-east-1:000000000000:t"), ("Message", "a b+c=d&e")])
    request = AWSRequest("POST", "https://sns.us-east-1.amazonaws.com/",
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, data=form)
    out.append(from_request("sns_publish_form", sign(SigV4Auth(CREDS, "sns", "us-east-1"), request),
                            "us-east-1", "sns", "awsQuery form POST signed with SigV4Auth"))

    query = percent_encode_sequence([
        ("filter", "level = error and msg ~ \"x y\""),
        ("name", "caf\u00e9 \u2603 \U0001F600"),
        ("reserved", "!*'();:@&=+$,/?#[]"),
        ("tilde", "a~b-c_d.e"),
        ("empty", ""),
        ("dup", "2"),
        ("dup", "1"),
    ])
    request = AWSRequest("GET", "https://logs.us-east-1.amazonaws.com/?" + query)
    out.append(from_request("get_query_reserved_unicode", sign(SigV4Auth(CREDS, "logs", "us-east-1"), request),
                            "us-east-1", "logs", "GET with spaces, unicode, reserved characters and repeated keys"))

    request = AWSRequest("GET", "https://monitoring.us-east-1.amazonaws.com/",
                         params={"Action": "ListMetrics", "Version": "2010-08-01", "Namespace": "My App/Space"})
    signed = sign(SigV4Auth(CREDS, "monitoring", "us-east-1"), request)
    prepared = signed.prepare()  # params go on the wire with urlencode (spaces as '+')
    out.append(wire("get_params_plus_for_space", "GET", prepared.url, [[k, v] for k, v in prepared.headers.items()],
                    b"", "us-east-1", "monitoring", "AWSRequest params: signed as %20, sent as '+'"))

    request = AWSRequest("GET", "https://logs.us-east-1.amazonaws.com/foo%20bar/a%2Fb/%E2%9C%93/~t/$d/x=y;z")
    out.append(from_request("path_special_characters", sign(SigV4Auth(CREDS, "logs", "us-east-1"), request),
                            "us-east-1", "logs", "path double-encoded per SigV4 for non-S3 services"))

    request = AWSRequest("GET", "https://logs.us-east-1.amazonaws.com/a/./b/../c//d/")
    out.append(from_request("path_dot_segments", sign(SigV4Auth(CREDS, "logs", "us-east-1"), request),
                            "us-east-1", "logs", "botocore removes dot segments and empty segments before encoding"))

    request = AWSRequest("GET", "http://localhost:4566/", headers={
        "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
        "X-Argus-Spaces": "  a   b \t c  ",
    })
    request.headers["X-Argus-Multi"] = "first"
    request.headers["X-Argus-Multi"] = "second  value"
    out.append(from_request("header_spaces_and_repeats", sign(SigV4Auth(CREDS, "logs", "us-east-1"), request),
                            "us-east-1", "logs", "header values trimmed, spaces collapsed, repeats joined with commas; non-default port"))

    request = AWSRequest("POST", "https://logs.ap-southeast-2.amazonaws.com/",
                         headers={"X-Amz-Target": "Logs_20140328.DescribeLogGroups",
                                  "Content-Type": "application/x-amz-json-1.1"}, data=b"{}")
    out.append(from_request("session_token", sign(SigV4Auth(CREDS_WITH_TOKEN, "logs", "ap-southeast-2"), request),
                            "ap-southeast-2", "logs", "temporary credentials: X-Amz-Security-Token is signed"))

    request = AWSRequest("POST", "https://logs.us-east-1.amazonaws.com/",
                         headers={"Date": "placeholder", "Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": "Logs_20140328.DescribeLogGroups"}, data=b"{}")
    out.append(from_request("date_header_instead_of_x_amz_date", sign(SigV4Auth(CREDS, "logs", "us-east-1"), request),
                            "us-east-1", "logs", "Date (RFC 1123) header instead of X-Amz-Date"))

    request = AWSRequest("POST", "https://logs.us-east-1.amazonaws.com/",
                         headers={"Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": "Logs_20140328.DescribeLogGroups"}, data=b'{"limit": 5}')
    request.context["payload_signing_enabled"] = False
    out.append(from_request("unsigned_payload", sign(SigV4Auth(CREDS, "logs", "us-east-1"), request),
                            "us-east-1", "logs", "X-Amz-Content-SHA256: UNSIGNED-PAYLOAD"))

    request = AWSRequest("POST", "https://logs.us-east-1.amazonaws.com/",
                         headers={"Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": "Logs_20140328.DescribeLogGroups"}, data=b'{"limit": 7}')
    out.append(from_request("content_sha256_header", sign(S3SigV4Auth(CREDS, "logs", "us-east-1"), request),
                            "us-east-1", "logs", "X-Amz-Content-SHA256 carries the hex body hash"))

    request = AWSRequest("GET", "https://logs.us-east-1.amazonaws.com/?Action=Describe&Name=a%20b")
    out.append(from_request("presigned_get", sign(SigV4QueryAuth(CREDS, "logs", "us-east-1", expires=900), request),
                            "us-east-1", "logs", "presigned URL (query auth), expires in 900 s"))

    request = AWSRequest("POST", "https://sns.us-east-1.amazonaws.com/",
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                         data={"Action": "Publish", "Version": "2010-03-31", "Message": "hi there",
                               "TopicArn": "arn:aws:sns:us-east-1:000000000000:t"})
    out.append(from_request("presigned_sns_form_moved_to_query",
                            sign(SigV4QueryAuth(CREDS_WITH_TOKEN, "sns", "us-east-1", expires=3600), request),
                            "us-east-1", "sns", "presigned: the form body moves into the query; token in the query"))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    doc = {
        "generated_by": "gen_botocore_fixtures.py",
        "botocore_version": botocore.__version__,
        "secrets": {ACCESS_KEY: SECRET_KEY},
        "fixtures": fixtures(),
    }
    path = os.path.join(here, "botocore_fixtures.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(doc['fixtures'])} fixtures to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
