#!/usr/bin/env python3
"""Feed Argus's golden response encodings to botocore's own parsers.

For every case in `fixtures/responses/` (made by gen_fixtures.py), reads the
bytes Argus produced (`<case>.encoded.json`, written by
`ARGUS_BLESS=1 cargo test -p argus-wire`) and parses them with the parser
botocore uses for that protocol:

* outputs must parse back to the canonical output the handler returned
  (timestamps compared as epoch seconds, blobs as base64);
* errors must give the expected Code / Message / QueryErrorCode / Type and
  HTTP status (for CloudWatch, the values AWS returned in the recorded
  conformance snapshots).

Cases in the protocol a boto3 client actually uses for the service are also
run through a whole boto3 client (answer injected at `before-send`): outputs
must come back as the client's result, errors as the modeled exception class
where the model declares one.

Exit status 0 when all pass. Run: python3 crates/wire/tests/botocore_check.py
"""

import base64
import datetime
import json
import math
import os
import sys

from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.parsers import create_parser

HERE = os.path.dirname(os.path.abspath(__file__))
RESPONSES = os.path.join(HERE, "fixtures", "responses")
VERSIONS = {"events": "2015-10-07"}
LOADER = Loader()
MODELS = {}


def model(service):
    if service not in MODELS:
        data = LOADER.load_service_model(service, "service-2", api_version=VERSIONS.get(service))
        MODELS[service] = ServiceModel(data, service_name=service)
    return MODELS[service]


def normalize(value):
    """botocore's parsed values in canonical form."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def same(expected, actual, path="$"):
    """Deep comparison treating 41 and 41.0 as equal; returns a difference or None."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(expected) != set(actual):
            return f"{path}: keys {sorted(expected)} != {sorted(actual)}"
        for key in expected:
            diff = same(expected[key], actual[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path}: {len(expected)} items != {len(actual)}"
        for index, (e, a) in enumerate(zip(expected, actual)):
            diff = same(e, a, f"{path}[{index}]")
            if diff:
                return diff
        return None
    numbers = (int, float)
    if isinstance(expected, numbers) and isinstance(actual, numbers) and not isinstance(expected, bool):
        return None if abs(expected - actual) <= 1e-9 * max(1.0, abs(expected)) else f"{path}: {expected!r} != {actual!r}"
    return None if expected == actual else f"{path}: {expected!r} != {actual!r}"


def parse(case, encoded):
    protocol = case["protocol"]
    service = case["service"]
    operation = case["operation"]
    shape = None
    if service is not None and operation is not None:
        shape = model(service).operation_model(operation).output_shape
    response = {
        "status_code": encoded["status"],
        "headers": encoded["headers"],
        "body": base64.b64decode(encoded["body_base64"]),
        "context": {"operation_name": operation},
    }
    return create_parser(protocol).parse(response, shape)


def check(name, case, encoded):
    parsed = parse(case, encoded)
    metadata = parsed.get("ResponseMetadata", {})
    # botocore's rpc-v2 parser skips metadata for operations without output.
    has_output = case["service"] and case["operation"] and model(case["service"]).operation_model(case["operation"]).output_shape
    skip_request_id = case["protocol"] == "smithy-rpc-v2-cbor" and case["kind"] == "output" and not has_output
    if not skip_request_id and metadata.get("RequestId") != case["request_id"]:
        return f"request id {metadata.get('RequestId')!r} != {case['request_id']!r}"
    if case["kind"] == "output":
        if encoded["status"] != 200:
            return f"status {encoded['status']}"
        return same(case["output"], normalize(parsed))
    expected = dict(case["expected"])
    status = expected.pop("status")
    if metadata.get("HTTPStatusCode") != status:
        return f"status {metadata.get('HTTPStatusCode')} != {status}"
    error = parsed.get("Error", {})
    for key in ("QueryErrorCode", "Type"):
        if key not in expected and key in error:
            return f"unexpected {key} {error[key]!r}"
    for key, value in expected.items():
        if error.get(key) != value:
            return f"Error.{key}: {error.get(key)!r} != {value!r} (parsed {error})"
    return None


class _Raw:
    """The slice of a urllib3 response botocore reads a body from."""

    def __init__(self, data):
        self._data = data

    def stream(self, *args, **kwargs):
        yield self._data


NOT_APPLICABLE = "n/a"


def client_check(case, encoded):
    """Runs the case through a real boto3 client: a problem, None, or NOT_APPLICABLE."""
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config
    from botocore.exceptions import ClientError

    service, operation = case["service"], case["operation"]
    if service is None or operation is None:
        return NOT_APPLICABLE
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1")
    config = Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"})
    client = session.client(service, endpoint_url="http://localhost:4566", config=config)
    if client.meta.service_model.resolved_protocol != case["protocol"]:
        return NOT_APPLICABLE
    # boto3 always asks a query-compatible service for query mode; an answer
    # to a client that did not ask is not something boto3 ever sees.
    if case["kind"] == "error" and client.meta.service_model.is_query_compatible and not case["query_mode"]:
        return NOT_APPLICABLE
    body = base64.b64decode(encoded["body_base64"])

    def answer(request, **kwargs):
        return AWSResponse(request.url, encoded["status"], encoded["headers"], _Raw(body))

    client.meta.events.register("before-send", answer)
    from botocore import xform_name
    call = getattr(client, xform_name(operation))
    if case["kind"] == "output":
        return same(case["output"], normalize(call()))
    try:
        call()
    except ClientError as error:
        expected = case["expected"]
        if error.response["Error"].get("Code") != expected["Code"]:
            return f"client Error.Code {error.response['Error'].get('Code')!r} != {expected['Code']!r}"
        if error.response["ResponseMetadata"]["HTTPStatusCode"] != expected["status"]:
            return "client status mismatch"
        shape = model(service).shape_for(case["code"]) if case["code"] in model(service).shape_names else None
        if shape is not None and shape.metadata.get("exception") and type(error).__name__ != case["code"]:
            return f"client raised {type(error).__name__}, expected the modeled {case['code']}"
        return None
    return "client call succeeded on an error response"


def main():
    failures = 0
    cases = sorted(n for n in os.listdir(RESPONSES) if n.endswith(".json") and not n.endswith(".encoded.json"))
    for name in cases:
        with open(os.path.join(RESPONSES, name)) as f:
            case = json.load(f)
        encoded_path = os.path.join(RESPONSES, name[: -len(".json")] + ".encoded.json")
        if not os.path.exists(encoded_path):
            print(f"MISSING {name}: run ARGUS_BLESS=1 cargo test -p argus-wire")
            failures += 1
            continue
        with open(encoded_path) as f:
            encoded = json.load(f)
        via_client = False
        try:
            problem = check(name, case, encoded)
            if not problem:
                problem = client_check(case, encoded)
                via_client = problem != NOT_APPLICABLE
                problem = None if problem == NOT_APPLICABLE else problem
        except Exception as exc:  # a parser crash is a failure too
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            failures += 1
            print(f"FAIL {name}: {problem}")
        else:
            print(f"ok   {name}{' (parser + boto3 client)' if via_client else ' (parser)'}")
    print(f"{len(cases) - failures}/{len(cases)} responses parsed by botocore as expected")
    return 1 if failures else 0


def test_responses_parse_with_botocore():
    """pytest entry point."""
    assert main() == 0


if __name__ == "__main__":
    sys.exit(main())
