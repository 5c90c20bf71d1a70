"""Shared pytest fixtures: a running Argus server per test module, boto3
clients and an `aws` CLI runner pointed at it."""

import json
import os
import subprocess
import uuid

import boto3
import pytest
from botocore.config import Config

from harness import ACCESS_KEY, REGION, SECRET_KEY, ArgusServer
from cloudwatch_clients import PROTOCOLS, cloudwatch_client
from support import RawClient


@pytest.fixture(scope="module")
def server():
    with ArgusServer() as running:
        yield running


def make_client(server, service, region=REGION, access_key=ACCESS_KEY, secret_key=SECRET_KEY, **config):
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(scope="module")
def logs(server):
    return make_client(server, "logs")


@pytest.fixture(scope="module")
def logs_unchecked(server):
    """A boto3 client that sends what it is given: no client-side parameter
    validation, so the server's own validation answers."""
    return make_client(server, "logs", parameter_validation=False)


@pytest.fixture(scope="module")
def raw(server):
    """Hand-built SigV4-signed HTTP requests (see support.RawClient)."""
    return RawClient(server)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def server_factory(request):
    """Starts extra servers for one test (custom flags, environment, data
    dirs); all are killed and cleaned up afterwards. When the test fails,
    their logs are printed (shown under "Captured stdout teardown")."""
    started = []

    def start(*extra_args, start=True, **options):
        server = ArgusServer(extra_args=extra_args, **options)
        started.append(server)
        return server.start() if start else server

    yield start
    report = getattr(request.node, "report_call", None)
    for server in started:
        if report is not None and report.failed:
            print(f"--- argus log ({server.data_dir}) ---\n{server.log()[-8000:]}")
        server.close()


class AwsCli:
    """Runs the real `aws` CLI against the server; returns parsed JSON."""

    def __init__(self, server):
        self.server = server

    def env(self):
        env = dict(os.environ)
        env.update(
            {
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_MAX_ATTEMPTS": "1",
                "AWS_PAGER": "",
            }
        )
        env.pop("AWS_PROFILE", None)
        return env

    def run(self, *args, check=True):
        command = ["aws", "--endpoint-url", self.server.endpoint, "--output", "json", *args]
        result = subprocess.run(command, capture_output=True, text=True, env=self.env(), timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def json(self, *args):
        out = self.run(*args).stdout
        return json.loads(out) if out.strip() else {}

    def error(self, *args):
        """Runs a command expected to fail; returns its stderr."""
        result = self.run(*args, check=False)
        assert result.returncode != 0, f"{' '.join(args)} unexpectedly succeeded:\n{result.stdout}"
        return result.stderr


@pytest.fixture(scope="module")
def aws(server):
    return AwsCli(server)


@pytest.fixture
def name():
    """A unique resource name for one test."""
    return f"/argus-test/{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw(request, server, tmp_path_factory):
    """A boto3 CloudWatch client, once per protocol."""
    return cloudwatch_client(server, request.param, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw_unchecked(request, server, tmp_path_factory):
    return cloudwatch_client(server, request.param, tmp_path_factory.mktemp("models"), parameter_validation=False)
