"""API compatibility scenarios as data (tests/compat/logs/*.yaml).

Each scenario is a list of steps run in order through boto3 (client-side
parameter validation off, so Argus's own validation answers):

    - op: CreateLogGroup                  # the API operation name
      params: {logGroupName: "${group}"}  # its input
      region: eu-west-1                   # optional: sign for another region
      response: {...}                     # optional: expected subset of the output
      keys: {logGroups.0: [arn, ...]}     # optional: exact key set at a path
      error: {code: ..., message: ..., status: 400}   # or: the expected error
      save: {token: nextToken}            # optional: remember values for later steps
      aws: <snapshot file> <test name> <recorded key>  # the recorded AWS response

Strings may hold `${python expression}` over: group, group2, stream (fresh
names per scenario), now (ms), DAY, HOUR, MINUTE, region, account,
arn(name), ev(timestamp, message) and saved values; a string that is one
whole `${…}` keeps the expression's type. In expected values, "<absent>"
means the key must be missing, "<any>" any value, "<non-empty>" a
non-empty value, and a "message" starting with "~" a substring.

`aws:` ties a step to a response real AWS gave (the LocalStack-recorded
snapshots in ../shared/conformance/localstack-snapshots); a separate test
checks every such step's expectations against the recording, so the YAML
cannot drift from AWS unnoticed. A scenario with `xfail: <reason>` is a
known deviation of Argus from AWS.
"""

import json
import os
import re
import uuid
from pathlib import Path

import pytest
import yaml
from botocore import xform_name
from botocore.exceptions import ClientError

from conftest import make_client
from harness import REGION
from support import DAY, HOUR, MINUTE, now_ms

ACCOUNT = "000000000000"
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "compat" / "logs"
SNAPSHOT_DIR = Path(os.environ.get(
    "ARGUS_SNAPSHOT_DIR",
    Path(__file__).resolve().parents[3] / "shared" / "conformance" / "localstack-snapshots"))
EXPRESSION = re.compile(r"\$\{(.+?)\}")


def load_scenarios():
    scenarios = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        for scenario in document["scenarios"]:
            marks = [pytest.mark.xfail(strict=True, reason=scenario["xfail"])] if "xfail" in scenario else []
            scenarios.append(pytest.param(scenario, id=f"{path.stem}: {scenario['name']}", marks=marks))
    return scenarios


SCENARIOS = load_scenarios()


class Context:
    def __init__(self):
        token = uuid.uuid4().hex[:10]
        self.values = {
            "group": f"/argus-compat/{token}",
            "group2": f"/argus-compat/{token}-2",
            "stream": f"stream-{token}",
            "unique": token,
            "now": now_ms(),
            "DAY": DAY,
            "HOUR": HOUR,
            "MINUTE": MINUTE,
            "region": REGION,
            "account": ACCOUNT,
            "arn": lambda name, region=REGION, account=ACCOUNT: f"arn:aws:logs:{region}:{account}:log-group:{name}",
            "ev": lambda timestamp, message: {"timestamp": timestamp, "message": message},
        }

    def evaluate(self, expression):
        return eval(expression, {"__builtins__": {"range": range, "len": len, "str": str, "dict": dict,
                                                  "list": list}}, self.values)

    def render(self, value):
        if isinstance(value, str):
            whole = EXPRESSION.fullmatch(value)
            if whole:
                return self.evaluate(whole.group(1))
            return EXPRESSION.sub(lambda match: str(self.evaluate(match.group(1))), value)
        if isinstance(value, list):
            return [self.render(item) for item in value]
        if isinstance(value, dict):
            return {self.render(key): self.render(item) for key, item in value.items()}
        return value


def at_path(value, path):
    for part in str(path).split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def assert_subset(expected, actual, where="response"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, item in expected.items():
            if item == "<absent>":
                assert key not in actual, f"{where}.{key} should be absent, got {actual[key]!r}"
                continue
            assert key in actual, f"{where}.{key} is missing from {actual!r}"
            assert_subset(item, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), \
            f"{where}: expected {len(expected)} items, got {actual!r}"
        for index, (item, got) in enumerate(zip(expected, actual)):
            assert_subset(item, got, f"{where}.{index}")
    elif expected == "<any>":
        pass
    elif expected == "<non-empty>":
        assert actual not in (None, "", [], {}), f"{where} should not be empty"
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


def run_step(clients, context, step):
    client = clients(step.get("region", REGION))
    params = context.render(step.get("params", {}))
    operation = step["op"]
    try:
        output = getattr(client, xform_name(operation))(**params)
        outcome = ("ok", output, 200)
    except ClientError as error:
        outcome = ("error", error.response, error.response["ResponseMetadata"]["HTTPStatusCode"])

    kind, body, status = outcome
    if "error" in step:
        expected = context.render(step["error"])
        assert kind == "error", f"{operation}: expected {expected['code']}, got success {body}"
        assert body["Error"]["Code"] == expected["code"], f"{operation}: {body['Error']}"
        message = expected.get("message")
        if message is not None:
            actual = body["Error"].get("Message", "")
            if message.startswith("~"):
                assert message[1:] in actual, f"{operation}: {actual!r} lacks {message[1:]!r}"
            else:
                assert actual == message, f"{operation}: message {actual!r}"
        assert status == expected.get("status", 400), f"{operation}: HTTP {status}"
        return
    assert kind == "ok", f"{operation} failed: {body.get('Error')} (HTTP {status})"
    if "response" in step:
        assert_subset(context.render(step["response"]), body, operation)
    for path, keys in (step.get("keys") or {}).items():
        assert sorted(at_path(body, path)) == sorted(keys), f"{operation}: keys at {path}"
    for name, path in (step.get("save") or {}).items():
        context.values[name] = at_path(body, path)


@pytest.fixture(scope="module")
def clients(server):
    made = {}

    def client(region):
        if region not in made:
            made[region] = make_client(server, "logs", region=region, parameter_validation=False)
        return made[region]

    return client


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(clients, scenario):
    context = Context()
    for index, step in enumerate(scenario["steps"]):
        try:
            run_step(clients, context, step)
        except AssertionError as failure:
            raise AssertionError(f"step {index + 1} ({step['op']}): {failure}") from None


# The recorded AWS responses the steps cite.

def recorded(reference):
    file_name, test_name, key = reference.split()
    path = SNAPSHOT_DIR / file_name
    if not path.exists():
        pytest.skip(f"recorded AWS responses not found at {SNAPSHOT_DIR}")
    snapshot = json.loads(path.read_text())
    matches = [entry for test_id, entry in snapshot.items() if test_id.endswith("::" + test_name)]
    assert len(matches) == 1, f"{reference}: test {test_name} not in {file_name}"
    return matches[0]["recorded-content"][key]


def is_placeholder(value):
    return isinstance(value, str) and (value.startswith("<") or value == "timestamp" or value.endswith("-index"))


def assert_matches_recording(expected, recording, where):
    """The scenario's literal expectations equal what AWS returned
    (templated or placeholder values are not compared)."""
    if isinstance(expected, dict):
        for key, item in expected.items():
            if item == "<absent>":
                assert key not in recording, f"{where}.{key}: AWS returned it"
                continue
            assert key in recording, f"{where}.{key}: AWS did not return it"
            assert_matches_recording(item, recording[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(expected) == len(recording), f"{where}: AWS returned {len(recording)} items"
        for index, (item, got) in enumerate(zip(expected, recording)):
            assert_matches_recording(item, got, f"{where}.{index}")
    elif isinstance(expected, str) and ("${" in expected or expected.startswith("<")):
        pass
    elif is_placeholder(recording):
        pass
    else:
        assert expected == recording, f"{where}: AWS returned {recording!r}, the scenario expects {expected!r}"


CITED = [pytest.param(step, id=f"{scenario.values[0]['name']}: {step['aws'].split()[-1]}")
         for scenario in SCENARIOS for step in scenario.values[0]["steps"] if "aws" in step]


def test_scenarios_cite_recordings():
    assert len(CITED) >= 20, "the scenarios should keep citing the recorded AWS responses"


@pytest.mark.parametrize("step", CITED)
def test_expectations_match_the_aws_recording(step):
    recording = recorded(step["aws"])
    if "error" in step:
        expected = step["error"]
        assert recording["Error"]["Code"] == expected["code"]
        if "message" in expected and not expected["message"].startswith("~") and "${" not in expected["message"]:
            assert recording["Error"]["Message"] == expected["message"]
        assert recording["ResponseMetadata"]["HTTPStatusCode"] == expected.get("status", 400)
    else:
        assert "error" not in recording and "Error" not in recording
        if "response" in step:
            assert_matches_recording(step["response"], recording, step["op"])
        for path, keys in (step.get("keys") or {}).items():
            assert sorted(at_path(recording, path)) == sorted(keys), f"keys at {path}"
