"""Helpers shared by the integration tests: time, resource set-up, raw
signed HTTP requests (for what boto3 refuses to send) and raw sockets (for
what no HTTP library sends)."""

import datetime
import json
import socket
import sqlite3
import time
import unittest.mock
import uuid
from dataclasses import dataclass

import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from harness import ACCESS_KEY, REGION, SECRET_KEY

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

TARGET_PREFIX = "Logs_20140328"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
EVENT_OVERHEAD = 26
MAX_BATCH_BYTES = 1_048_576


def now_ms() -> int:
    return int(time.time() * 1000)


def unique(prefix="/argus-test") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def create_group(logs, name=None, **kwargs) -> str:
    name = name or unique()
    logs.create_log_group(logGroupName=name, **kwargs)
    return name


def create_stream(logs, group, stream=None) -> str:
    stream = stream or f"stream-{uuid.uuid4().hex[:8]}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    return stream


def put(logs, group, stream, events, **kwargs):
    """PutLogEvents with `events` as (timestamp, message) pairs or dicts."""
    log_events = [event if isinstance(event, dict) else {"timestamp": event[0], "message": event[1]} for event in events]
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=log_events, **kwargs)


def client_error(call, **kwargs):
    """Runs a boto3 call expected to fail; returns (code, message, status)."""
    from botocore.exceptions import ClientError

    try:
        response = call(**kwargs)
    except ClientError as error:
        return (
            error.response["Error"]["Code"],
            error.response["Error"].get("Message"),
            error.response["ResponseMetadata"]["HTTPStatusCode"],
        )
    raise AssertionError(f"expected an error, got {response}")


def all_forward(logs, group, stream, **kwargs):
    """Every event of a stream, walking nextForwardToken from the head."""
    events = []
    token = None
    while True:
        request = dict(logGroupName=group, logStreamName=stream, startFromHead=True, **kwargs)
        if token:
            request["nextToken"] = token
        page = logs.get_log_events(**request)
        events.extend(page["events"])
        if page["nextForwardToken"] == token:
            return events
        token = page["nextForwardToken"]


def filter_all(logs, **kwargs):
    """FilterLogEvents followed to the last page; returns (events, pages)."""
    events, pages, token = [], 0, None
    while True:
        request = dict(kwargs)
        if token:
            request["nextToken"] = token
        page = logs.filter_log_events(**request)
        pages += 1
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events, pages


def all_backward(logs, group, stream, **kwargs):
    """Every event of a stream, newest page first, walking nextBackwardToken
    from the tail; returned in chronological order."""
    pages = []
    token = None
    while True:
        request = dict(logGroupName=group, logStreamName=stream, startFromHead=False, **kwargs)
        if token:
            request["nextToken"] = token
        page = logs.get_log_events(**request)
        pages.append(page["events"])
        if page["nextBackwardToken"] == token:
            return [event for events in reversed(pages) for event in events]
        token = page["nextBackwardToken"]


def utc_day(millis) -> str:
    """The `dt=` partition (UTC day) an event timestamp falls on."""
    return datetime.datetime.fromtimestamp(millis / 1000, datetime.timezone.utc).strftime("%Y-%m-%d")


def group_id(server, name) -> int:
    """A log group's internal id (its directory under objects/logs/), read
    from the catalog without writing to it."""
    connection = sqlite3.connect(f"file:{server.data_dir / 'catalog.sqlite'}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT id FROM log_groups WHERE name = ?", (name,)).fetchall()
    finally:
        connection.close()
    assert len(rows) == 1, f"log group {name} in the catalog: {rows}"
    return rows[0][0]


def group_files(server, group) -> dict:
    """The files under a log group's directory on disk, relative path ->
    size in bytes; `group` is a name or an id from `group_id`."""
    ident = group if isinstance(group, int) else group_id(server, group)
    root = server.data_dir / "objects" / "logs" / str(ident)
    if not root.exists():
        return {}
    return {str(path.relative_to(root)): path.stat().st_size for path in root.rglob("*") if path.is_file()}


def segment_files(files: dict) -> list:
    """The Parquet segment files (not their token indexes) of `group_files`."""
    return sorted(path for path in files if path.endswith(".parquet"))


def stored_bytes(logs, name) -> int:
    groups = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    assert len(groups) == 1, groups
    return groups[0]["storedBytes"]


@dataclass
class RawResponse:
    status: int
    headers: dict
    body: bytes

    @property
    def error_type(self):
        return self.headers.get("x-amzn-ErrorType") or self.headers.get("x-amzn-errortype")

    def json(self):
        return json.loads(self.body)


class RawClient:
    """Sends hand-built (optionally SigV4-signed) requests to a server."""

    def __init__(self, server, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION):
        self.server = server
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    def _headers(self, operation, headers):
        result = {"Content-Type": JSON_CONTENT_TYPE}
        if operation is not None:
            result["X-Amz-Target"] = f"{TARGET_PREFIX}.{operation}"
        result.update(headers or {})
        return result

    def signed(self, operation, body, headers=None, access_key=None, secret_key=None, region=None,
               service="logs", signed_at=None, tamper=None):
        """POSTs `body` (bytes, or an object sent as JSON) signed with SigV4
        in the Authorization header. `signed_at` signs as of that moment;
        `tamper(body)` changes the body after signing."""
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        request = AWSRequest(method="POST", url=self.server.endpoint + "/", data=body,
                             headers=self._headers(operation, headers))
        signer = SigV4Auth(Credentials(access_key or self.access_key, secret_key or self.secret_key),
                           service, region or self.region)
        with signing_time(signed_at):
            signer.add_auth(request)
        prepared = request.prepare()
        sent = tamper(prepared.body) if tamper else prepared.body
        return self._send(prepared.url, sent, dict(prepared.headers))

    def presigned(self, operation, body, expires=300, signed_at=None, secret_key=None):
        """POSTs `body` with SigV4 in the query string (a presigned URL); the
        payload is `UNSIGNED-PAYLOAD`."""
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        headers = self._headers(operation, {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        request = AWSRequest(method="POST", url=self.server.endpoint + "/", data=b"", headers=headers)
        signer = SigV4QueryAuth(Credentials(self.access_key, secret_key or self.secret_key), "logs", self.region,
                                expires=expires)
        with signing_time(signed_at):
            signer.add_auth(request)
        prepared = request.prepare()
        return self._send(prepared.url, body, dict(prepared.headers))

    def unsigned(self, operation, body, headers=None):
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        return self._send(self.server.endpoint + "/", body, self._headers(operation, headers))

    @staticmethod
    def _send(url, body, headers):
        response = requests.post(url, data=body, headers=headers, timeout=30)
        return RawResponse(response.status_code, dict(response.headers), response.content)


class signing_time:
    """Makes botocore sign as of `moment` (a timezone-aware datetime)."""

    def __init__(self, moment):
        self.patch = unittest.mock.patch("botocore.auth.get_current_datetime", return_value=moment) if moment else None

    def __enter__(self):
        if self.patch:
            self.patch.start()

    def __exit__(self, *exc):
        if self.patch:
            self.patch.stop()


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def raw_http(server, data: bytes, read_timeout=15.0) -> bytes:
    """Writes `data` on a fresh connection and reads one response (status
    line, headers and a Content-Length body). Returns what was read; raises
    TimeoutError when the server does not answer within `read_timeout`."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk
            head, separator, rest = received.partition(b"\r\n\r\n")
            if separator:
                lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                if lengths and len(rest) >= int(lengths[0].split(b":", 1)[1]):
                    return received


def parse_raw_response(raw: bytes):
    """(status, headers with lowercase names, body) of a raw HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body
