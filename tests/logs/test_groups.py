"""Log groups through boto3: CreateLogGroup, DeleteLogGroup,
DescribeLogGroups, PutRetentionPolicy, DeleteRetentionPolicy."""

import uuid

import pytest

from harness import REGION
from support import create_group, create_stream, client_error, now_ms, put

ACCOUNT = "000000000000"
ALLOWED_RETENTION = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                     3288, 3653]


def describe_one(logs, name):
    groups = [group for group in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
              if group["logGroupName"] == name]
    assert len(groups) == 1, groups
    return groups[0]


def names(response):
    return [group["logGroupName"] for group in response["logGroups"]]


def test_create_log_group_shows_every_attribute_in_describe(logs, name):
    before = now_ms()
    kms = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    logs.create_log_group(logGroupName=name, tags={"team": "obs"}, logGroupClass="INFREQUENT_ACCESS", kmsKeyId=kms)
    group = describe_one(logs, name)
    assert group["logGroupName"] == name
    assert group["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
    assert group["logGroupArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
    assert group["logGroupClass"] == "INFREQUENT_ACCESS"
    assert group["kmsKeyId"] == kms
    assert group["storedBytes"] == 0
    assert group["metricFilterCount"] == 0
    assert "retentionInDays" not in group
    assert before - 1000 <= group["creationTime"] <= now_ms() + 1000
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "obs"}


def test_default_class_is_standard_and_no_kms_key(logs, name):
    logs.create_log_group(logGroupName=name)
    group = describe_one(logs, name)
    assert group["logGroupClass"] == "STANDARD"
    assert "kmsKeyId" not in group
    assert group["deletionProtectionEnabled"] is False


def test_duplicate_log_group_is_refused(logs, name):
    logs.create_log_group(logGroupName=name)
    assert client_error(logs.create_log_group, logGroupName=name) == (
        "ResourceAlreadyExistsException", "The specified log group already exists", 400)


def test_group_names_are_case_sensitive(logs, name):
    logs.create_log_group(logGroupName=name + "-abc")
    logs.create_log_group(logGroupName=name + "-ABC")
    assert names(logs.describe_log_groups(logGroupNamePrefix=name)) == [name + "-ABC", name + "-abc"]


def test_name_of_512_characters_is_accepted_and_513_refused(logs_unchecked):
    base = "/argus-test/" + uuid.uuid4().hex
    longest = base + "x" * (512 - len(base))
    logs_unchecked.create_log_group(logGroupName=longest)
    assert describe_one(logs_unchecked, longest)["logGroupName"] == longest
    assert client_error(logs_unchecked.create_log_group, logGroupName=longest + "y") == (
        "InvalidParameterException",
        "Invalid LogGroup or LogStream, both must have length less than or equal to 512.",
        400,
    )


@pytest.mark.parametrize("bad", ["has space", "colon:name", "star*", "ünïcode", ""])
def test_names_outside_the_allowed_characters_are_refused(logs_unchecked, bad):
    code, message, status = client_error(logs_unchecked.create_log_group, logGroupName=bad)
    assert (code, status) == ("InvalidParameterException", 400)
    assert "'logGroupName'" in message, message


def test_allowed_name_characters(logs):
    name = f"/argus-test/{uuid.uuid4().hex[:6]}/A-z_0.9#x"
    logs.create_log_group(logGroupName=name)
    assert describe_one(logs, name)["logGroupName"] == name


def test_unknown_log_group_class_is_refused(logs_unchecked, name):
    code, message, status = client_error(logs_unchecked.create_log_group, logGroupName=name, logGroupClass="COLD")
    assert (code, status) == ("InvalidParameterException", 400)
    assert "'logGroupClass'" in message and "STANDARD, INFREQUENT_ACCESS" in message


def test_delete_log_group_removes_it_with_its_streams_and_events(logs, name):
    logs.create_log_group(logGroupName=name, tags={"k": "v"})
    stream = create_stream(logs, name)
    put(logs, name, stream, [(now_ms(), "gone soon")])
    logs.put_retention_policy(logGroupName=name, retentionInDays=7)
    logs.delete_log_group(logGroupName=name)
    assert names(logs.describe_log_groups(logGroupNamePrefix=name)) == []
    assert client_error(logs.describe_log_streams, logGroupName=name)[0] == "ResourceNotFoundException"
    assert client_error(logs.get_log_events, logGroupName=name, logStreamName=stream)[0] == "ResourceNotFoundException"
    # Recreated under the same name: a new, empty group.
    logs.create_log_group(logGroupName=name)
    group = describe_one(logs, name)
    assert "retentionInDays" not in group and group["storedBytes"] == 0
    assert logs.describe_log_streams(logGroupName=name)["logStreams"] == []
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {}
    assert logs.filter_log_events(logGroupName=name)["events"] == []


def test_deletion_protection_keeps_the_group(logs, name):
    logs.create_log_group(logGroupName=name, deletionProtectionEnabled=True)
    assert describe_one(logs, name)["deletionProtectionEnabled"] is True
    code, _, status = client_error(logs.delete_log_group, logGroupName=name)
    assert (code, status) == ("ValidationException", 400)
    assert describe_one(logs, name)["logGroupName"] == name


def test_delete_missing_log_group(logs, name):
    assert client_error(logs.delete_log_group, logGroupName=name) == (
        "ResourceNotFoundException", "The specified log group does not exist.", 400)


class TestDescribeLogGroups:
    @pytest.fixture(scope="class")
    def family(self, logs):
        """Seven groups under one prefix, in a known order."""
        prefix = f"/argus-test/describe-{uuid.uuid4().hex[:8]}"
        members = [f"{prefix}/alpha", f"{prefix}/beta", f"{prefix}/gamma-Api", f"{prefix}/gamma-api",
                   f"{prefix}/gamma-web", f"{prefix}/zeta", f"{prefix}/zeta-archive"]
        for member in members:
            logs.create_log_group(logGroupName=member,
                                  logGroupClass="INFREQUENT_ACCESS" if member.endswith("archive") else "STANDARD")
        return prefix, sorted(members)

    def test_prefix_lists_matches_sorted_by_name(self, logs, family):
        prefix, members = family
        assert names(logs.describe_log_groups(logGroupNamePrefix=prefix)) == members
        assert names(logs.describe_log_groups(logGroupNamePrefix=prefix + "/gamma")) == [
            m for m in members if "/gamma" in m]
        assert names(logs.describe_log_groups(logGroupNamePrefix=prefix + "/nothing")) == []

    def test_pattern_is_a_case_sensitive_substring(self, logs, family):
        prefix, members = family
        unique_part = prefix.rsplit("-", 1)[1]
        found = names(logs.describe_log_groups(logGroupNamePattern=unique_part))
        assert found == members
        found = [n for n in names(logs.describe_log_groups(logGroupNamePattern="gamma-api")) if n.startswith(prefix)]
        assert found == [f"{prefix}/gamma-api"]

    def test_prefix_and_pattern_together_are_refused(self, logs, family):
        assert client_error(logs.describe_log_groups, logGroupNamePrefix="/a", logGroupNamePattern="b") == (
            "InvalidParameterException",
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
            400,
        )

    def test_class_filter(self, logs, family):
        prefix, members = family
        infrequent = names(logs.describe_log_groups(logGroupNamePrefix=prefix, logGroupClass="INFREQUENT_ACCESS"))
        assert infrequent == [f"{prefix}/zeta-archive"]
        standard = names(logs.describe_log_groups(logGroupNamePrefix=prefix, logGroupClass="STANDARD"))
        assert standard == [m for m in members if not m.endswith("archive")]

    def test_identifiers_take_names_and_arns(self, logs, family):
        prefix, members = family
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{members[2]}"
        found = names(logs.describe_log_groups(logGroupIdentifiers=[members[4], arn]))
        assert found == [members[2], members[4]]

    def test_limit_and_next_token_walk_every_group_once(self, logs, family):
        prefix, members = family
        for limit in (1, 2, 3, 7, 50):
            seen, token, pages = [], None, 0
            while True:
                request = dict(logGroupNamePrefix=prefix, limit=limit)
                if token:
                    request["nextToken"] = token
                page = logs.describe_log_groups(**request)
                assert len(page["logGroups"]) <= limit
                seen.extend(names(page))
                pages += 1
                token = page.get("nextToken")
                if not token:
                    break
            assert seen == members, limit
            full_pages = -(-len(members) // limit)
            assert pages in (full_pages, full_pages + 1), (limit, pages)

    def test_boto3_paginator_walks_to_the_end(self, logs, family):
        prefix, members = family
        paginator = logs.get_paginator("describe_log_groups")
        seen = [g["logGroupName"] for page in paginator.paginate(logGroupNamePrefix=prefix,
                                                                 PaginationConfig={"PageSize": 2})
                for g in page["logGroups"]]
        assert seen == members

    def test_default_page_is_fifty_groups(self, logs):
        prefix = f"/argus-test/fifty-{uuid.uuid4().hex[:8]}"
        for index in range(51):
            logs.create_log_group(logGroupName=f"{prefix}/{index:03}")
        first = logs.describe_log_groups(logGroupNamePrefix=prefix)
        assert len(first["logGroups"]) == 50
        rest = logs.describe_log_groups(logGroupNamePrefix=prefix, nextToken=first["nextToken"])
        assert names(rest) == [f"{prefix}/050"]
        assert "nextToken" not in rest

    @pytest.mark.parametrize("limit", [0, 51])
    def test_limit_out_of_range_is_refused(self, logs_unchecked, limit):
        code, message, status = client_error(logs_unchecked.describe_log_groups, limit=limit)
        assert (code, status) == ("InvalidParameterException", 400)
        assert f"Value '{limit}' at 'limit' failed to satisfy constraint" in message

    def test_garbage_token_is_refused(self, logs):
        assert client_error(logs.describe_log_groups, nextToken="not-a-token") == (
            "InvalidParameterException", "The specified nextToken is invalid.", 400)


class TestRetention:
    @pytest.mark.parametrize("days", ALLOWED_RETENTION)
    def test_every_allowed_value_is_accepted(self, logs, days):
        name = create_group(logs)
        logs.put_retention_policy(logGroupName=name, retentionInDays=days)
        assert describe_one(logs, name)["retentionInDays"] == days

    @pytest.mark.parametrize("days", [-1, 0, 2, 4, 6, 8, 10, 28, 31, 366, 3652, 3654, 10000])
    def test_other_values_are_refused(self, logs, days):
        name = create_group(logs)
        code, message, status = client_error(logs.put_retention_policy, logGroupName=name, retentionInDays=days)
        assert (code, status) == ("InvalidParameterException", 400)
        assert f"Value '{days}' at 'retentionInDays' failed to satisfy constraint" in message
        assert "retentionInDays" not in describe_one(logs, name)

    def test_delete_retention_policy_removes_it(self, logs):
        name = create_group(logs)
        logs.put_retention_policy(logGroupName=name, retentionInDays=30)
        logs.put_retention_policy(logGroupName=name, retentionInDays=90)
        assert describe_one(logs, name)["retentionInDays"] == 90
        logs.delete_retention_policy(logGroupName=name)
        assert "retentionInDays" not in describe_one(logs, name)

    def test_missing_group(self, logs, name):
        missing = ("ResourceNotFoundException", "The specified log group does not exist.", 400)
        assert client_error(logs.put_retention_policy, logGroupName=name, retentionInDays=1) == missing
        assert client_error(logs.delete_retention_policy, logGroupName=name) == missing


def test_stored_bytes_grow_after_events(logs, name):
    logs.create_log_group(logGroupName=name)
    stream = create_stream(logs, name)
    assert describe_one(logs, name)["storedBytes"] == 0
    put(logs, name, stream, [(now_ms(), "x" * 2000)])
    assert describe_one(logs, name)["storedBytes"] > 0


def test_paging_survives_changes_between_pages(logs):
    prefix = f"/argus-test/changing-{uuid.uuid4().hex[:8]}"
    for letter in "abcd":
        logs.create_log_group(logGroupName=f"{prefix}/{letter}")
    first = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=2)
    assert names(first) == [f"{prefix}/a", f"{prefix}/b"]
    # The page's last group disappears, a new one appears after it.
    logs.delete_log_group(logGroupName=f"{prefix}/b")
    logs.create_log_group(logGroupName=f"{prefix}/bb")
    rest = logs.describe_log_groups(logGroupNamePrefix=prefix, nextToken=first["nextToken"])
    assert names(rest) == [f"{prefix}/bb", f"{prefix}/c", f"{prefix}/d"]
