"""The server process: health, settings from flags / environment / TOML
file, generated root credentials, regions and accounts."""

import json
import os
import re
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import make_client
from harness import ACCESS_KEY, SECRET_KEY, binary, free_port
from support import client_error, now_ms, unique


def run_argus(*args, env=None, timeout=30):
    base = {key: value for key, value in os.environ.items() if not key.startswith("ARGUS_")}
    base.update(env or {})
    return subprocess.run([binary(), *args], capture_output=True, text=True, env=base, timeout=timeout)


def test_health_is_200_when_ready(server):
    status, body = server.health()
    assert (status, body) == (200, {"status": "ok"})


def test_the_test_clock_is_off_by_default(server):
    request = urllib.request.Request(f"{server.endpoint}/_argus/clock?advance_ms=1000", method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 404


def test_version():
    result = run_argus("--version")
    assert result.returncode == 0 and result.stdout.startswith("argus ")


class TestSettings:
    def test_listen_and_data_dir_from_the_environment(self, server_factory):
        server = server_factory(start=False, location_flags=False)
        server.extra_env = {"ARGUS_LISTEN": f"127.0.0.1:{server.port}", "ARGUS_DATA_DIR": str(server.data_dir)}
        server.start()
        logs = make_client(server, "logs")
        group = unique()
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "m"}])
        assert (server.data_dir / "catalog.sqlite").exists()
        assert list((server.data_dir / "wal" / "logs").glob("*.wal"))

    def test_flags_win_over_the_environment(self, server_factory):
        # The harness passes --listen with its port; the environment names a
        # port nothing answers on.
        server = server_factory(env={"ARGUS_LISTEN": f"127.0.0.1:{free_port()}"})
        assert server.health()[0] == 200

    def test_config_file(self, server_factory, tmp_path):
        server = server_factory(start=False, location_flags=False, root_credentials=False)
        config = tmp_path / "argus.toml"
        config.write_text(
            f'listen = "127.0.0.1:{server.port}"\n'
            f'data_dir = "{server.data_dir}"\n'
            'account_id = "123456789012"\n'
            "max_body_bytes = 2048\n"
            'fsync = "always"\n'
            "[root_credentials]\n"
            'access_key_id = "AKIACONFIGFILEKEY001"\n'
            'secret_access_key = "from/the/config/file/secret0123456789ab"\n')
        server.extra_args = ["--config", str(config)]
        server.start()
        logs = make_client(server, "logs", access_key="AKIACONFIGFILEKEY001",
                           secret_key="from/the/config/file/secret0123456789ab")
        group = unique()
        logs.create_log_group(logGroupName=group)
        [info] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert info["logGroupArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"
        assert (server.data_dir / "catalog.sqlite").exists()
        assert not (server.data_dir / "credentials.json").exists()
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        code, _, status = client_error(logs.put_log_events, logGroupName=group, logStreamName="s",
                                       logEvents=[{"timestamp": now_ms(), "message": "x" * 4000}])
        assert (code, status) == ("RequestEntityTooLargeException", 413)
        # The harness's fixed pair is not configured here.
        assert client_error(make_client(server, "logs").describe_log_groups)[0] == "UnrecognizedClientException"

    def test_environment_wins_over_the_config_file(self, server_factory, tmp_path):
        server = server_factory(start=False, location_flags=False)
        config = tmp_path / "argus.toml"
        config.write_text(f'listen = "127.0.0.1:{free_port()}"\ndata_dir = "{server.data_dir}"\n'
                          'account_id = "111111111111"\n')
        server.extra_env = {"ARGUS_LISTEN": f"127.0.0.1:{server.port}", "ARGUS_ACCOUNT_ID": "222222222222"}
        server.extra_args = ["--config", str(config)]
        server.start()
        logs = make_client(server, "logs")
        group = unique()
        logs.create_log_group(logGroupName=group)
        assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"].startswith(
            "arn:aws:logs:us-east-1:222222222222:")

    @pytest.mark.parametrize("args, env, complaint", [
        (["--account-id", "12345"], {}, "12 digits"),
        (["--fsync", "sometimes"], {}, "fsync"),
        ([], {"ARGUS_ROOT_ACCESS_KEY_ID": "AKIAONLYTHEKEY000000"}, "ARGUS_ROOT_SECRET_ACCESS_KEY"),
        (["--log", "foo=bar=baz"], {}, "invalid --log filter"),
    ], ids=["short-account", "bad-fsync", "key-without-secret", "bad-log-filter"])
    def test_invalid_settings_stop_the_server_with_a_message(self, tmp_path, args, env, complaint):
        result = run_argus("serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path / "d"),
                           *args, env=env)
        assert result.returncode != 0
        assert complaint in result.stderr, result.stderr

    def test_unknown_config_key_is_refused(self, tmp_path):
        config = tmp_path / "argus.toml"
        config.write_text('listne = "127.0.0.1:1"\n')
        result = run_argus("serve", "--config", str(config), "--data-dir", str(tmp_path / "d"))
        assert result.returncode != 0
        assert "listne" in result.stderr, result.stderr

    def test_port_in_use(self, server, tmp_path):
        result = run_argus("serve", "--listen", f"127.0.0.1:{server.port}", "--data-dir", str(tmp_path / "d"),
                           env={"ARGUS_ROOT_ACCESS_KEY_ID": ACCESS_KEY, "ARGUS_ROOT_SECRET_ACCESS_KEY": SECRET_KEY})
        assert result.returncode != 0
        assert f"127.0.0.1:{server.port}" in result.stderr, result.stderr

    @pytest.mark.parametrize("policy", ["interval", "interval:20ms", "never"])
    def test_other_fsync_policies_serve_and_keep_data_across_a_graceful_restart(self, server_factory, policy):
        server = server_factory("--fsync", policy)
        logs = make_client(server, "logs")
        group = unique()
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "m"}])
        assert server.stop() == 0
        server.start()
        logs = make_client(server, "logs")
        assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s")["events"]] == ["m"]


class TestGeneratedCredentials:
    EXPORT = re.compile(r"export AWS_ACCESS_KEY_ID=(\S+)\nexport AWS_SECRET_ACCESS_KEY=(\S+)\n")

    def test_first_start_generates_a_private_pair_and_prints_it(self, server_factory):
        server = server_factory(root_credentials=False)
        path = server.data_dir / "credentials.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        stored = json.loads(path.read_text())
        key, secret = stored["access_key_id"], stored["secret_access_key"]
        assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key)
        assert len(secret) == 40

        printed = self.EXPORT.findall(server.log())
        assert printed == [(key, secret)]

        result = run_argus("credentials", "--data-dir", str(server.data_dir))
        assert result.returncode == 0, result.stderr
        assert self.EXPORT.findall(result.stdout) == [(key, secret)]
        result = run_argus("credentials", env={"ARGUS_DATA_DIR": str(server.data_dir)})
        assert self.EXPORT.findall(result.stdout) == [(key, secret)]

        logs = make_client(server, "logs", access_key=key, secret_key=secret)
        group = unique()
        logs.create_log_group(logGroupName=group)
        assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        # No accept-anything default: other keys are refused.
        assert client_error(make_client(server, "logs").describe_log_groups) == (
            "UnrecognizedClientException", "The security token included in the request is invalid.", 400)

        # A restart reuses the pair and does not print it again.
        assert server.stop() == 0
        server.start()
        assert self.EXPORT.findall(server.log()) == [(key, secret)]
        assert json.loads(path.read_text()) == stored
        logs = make_client(server, "logs", access_key=key, secret_key=secret)
        assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]

    def test_each_data_dir_gets_its_own_pair(self, server_factory):
        first = server_factory(root_credentials=False)
        second = server_factory(root_credentials=False)
        pair = lambda server: json.loads((server.data_dir / "credentials.json").read_text())  # noqa: E731
        assert pair(first)["access_key_id"] != pair(second)["access_key_id"]
        assert pair(first)["secret_access_key"] != pair(second)["secret_access_key"]


class TestRegionsAndAccounts:
    def test_resources_are_scoped_per_region(self, server):
        east = make_client(server, "logs", region="us-east-1")
        west = make_client(server, "logs", region="eu-west-1")
        group = unique()
        east.create_log_group(logGroupName=group, tags={"where": "east"})
        east.create_log_stream(logGroupName=group, logStreamName="s")
        east.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "e"}])

        assert west.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
        assert client_error(west.describe_log_streams, logGroupName=group)[0] == "ResourceNotFoundException"
        assert client_error(west.get_log_events, logGroupName=group, logStreamName="s")[0] == \
            "ResourceNotFoundException"
        # The same name in another region is another group.
        west.create_log_group(logGroupName=group)
        [west_group] = west.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        [east_group] = east.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert west_group["arn"] == f"arn:aws:logs:eu-west-1:000000000000:log-group:{group}:*"
        assert east_group["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
        assert west.list_tags_log_group(logGroupName=group)["tags"] == {}
        assert west.describe_log_streams(logGroupName=group)["logStreams"] == []
        west.delete_log_group(logGroupName=group)
        assert east.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["logGroupName"] == group

    def test_account_id_appears_in_every_arn(self, server_factory):
        server = server_factory("--account-id", "123456789012")
        logs = make_client(server, "logs", region="ap-northeast-1")
        group = unique()
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        [info] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert info["arn"] == f"arn:aws:logs:ap-northeast-1:123456789012:log-group:{group}:*"
        assert info["logGroupArn"] == f"arn:aws:logs:ap-northeast-1:123456789012:log-group:{group}"
        [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
        assert stream["arn"] == f"arn:aws:logs:ap-northeast-1:123456789012:log-group:{group}:log-stream:s"
        assert logs.list_tags_for_resource(resourceArn=info["logGroupArn"])["tags"] == {}
        default_account = f"arn:aws:logs:ap-northeast-1:000000000000:log-group:{group}"
        assert client_error(logs.list_tags_for_resource, resourceArn=default_account)[0] == \
            "ResourceNotFoundException"


def test_health_and_api_while_recovering_are_503_never_500(server_factory):
    """After a crash with a large WAL the server binds its port before
    replaying; until ready, health says "starting" and API calls get
    ServiceUnavailableException. (Whether the window is seen at all depends
    on timing; what is seen must be one of these.)"""
    from support import RawClient

    server = server_factory("--fsync", "never")
    logs = make_client(server, "logs")
    group = unique("/recovering")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = now_ms()
    message = "r" * 1000
    for batch in range(40):
        logs.put_log_events(logGroupName=group, logStreamName="s",
                            logEvents=[{"timestamp": now - 1000 + batch, "message": message}] * 1000)
    server.kill()
    server.start(wait=False)
    raw = RawClient(server)
    seen = set()
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline, "not ready after 60 s"
        status, body = server.health()
        if status is None:
            assert server.alive(), server.log()
            continue
        if status == 200:
            assert body == {"status": "ok"}
            break
        assert (status, body) == (503, {"status": "starting"})
        response = raw.signed("DescribeLogGroups", {})
        assert response.status in (200, 503), response.body
        if response.status == 503:
            assert response.error_type == "ServiceUnavailableException"
        seen.add(status)
    print(f"health answers seen while recovering: {sorted(seen) or 'none'}")
    logs = make_client(server, "logs")
    [info] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert info["lastEventTimestamp"] == now - 1000 + 39
