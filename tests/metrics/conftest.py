"""Fixtures: a boto3 CloudWatch client per wire protocol (see
`cloudwatch_clients.py`)."""

import pytest

from cloudwatch_clients import PROTOCOLS, cloudwatch_client


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw(request, server, tmp_path_factory):
    """A boto3 CloudWatch client, once per protocol."""
    return cloudwatch_client(server, request.param, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw_unchecked(request, server, tmp_path_factory):
    return cloudwatch_client(server, request.param, tmp_path_factory.mktemp("models"), parameter_validation=False)
