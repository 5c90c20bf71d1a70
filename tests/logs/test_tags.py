"""Tags on log groups: TagLogGroup / UntagLogGroup / ListTagsLogGroup (by
name) and TagResource / UntagResource / ListTagsForResource (by ARN)."""

import pytest

from harness import REGION
from support import client_error, create_group

ACCOUNT = "000000000000"


def arn(name, region=REGION, account=ACCOUNT):
    return f"arn:aws:logs:{region}:{account}:log-group:{name}"


def tags_by_name(logs, name):
    return logs.list_tags_log_group(logGroupName=name)["tags"]


def tags_by_arn(logs, name):
    return logs.list_tags_for_resource(resourceArn=arn(name))["tags"]


def test_a_new_group_has_no_tags(logs):
    name = create_group(logs)
    assert tags_by_name(logs, name) == {}
    assert tags_by_arn(logs, name) == {}


def test_create_with_tags(logs):
    name = create_group(logs, tags={"env": "testing", "team": "obs"})
    assert tags_by_name(logs, name) == tags_by_arn(logs, name) == {"env": "testing", "team": "obs"}


def test_tag_and_untag_log_group_by_name(logs):
    name = create_group(logs, tags={"env": "testing"})
    logs.tag_log_group(logGroupName=name, tags={"tag_key_1": "tag_value_1", "tag_key_2": "tag_value_2"})
    assert tags_by_name(logs, name) == {"env": "testing", "tag_key_1": "tag_value_1", "tag_key_2": "tag_value_2"}
    logs.untag_log_group(logGroupName=name, tags=["tag_key_1", "env", "never-set"])
    assert tags_by_name(logs, name) == {"tag_key_2": "tag_value_2"}


def test_tag_resource_and_tag_log_group_see_each_other(logs):
    """The sequence of localstack's test_tag_resource_api, recorded on AWS."""
    name = create_group(logs, tags={"env": "testing1"})
    assert tags_by_name(logs, name) == {"env": "testing1"}
    logs.tag_resource(resourceArn=arn(name), tags={"test1": "val1", "test2": "val2"})
    expected = {"env": "testing1", "test1": "val1", "test2": "val2"}
    assert tags_by_name(logs, name) == tags_by_arn(logs, name) == expected
    logs.tag_log_group(logGroupName=name, tags={"test3": "val3"})
    expected["test3"] = "val3"
    assert tags_by_name(logs, name) == tags_by_arn(logs, name) == expected
    logs.untag_resource(resourceArn=arn(name), tagKeys=["env", "test1", "test3"])
    assert tags_by_name(logs, name) == tags_by_arn(logs, name) == {"test2": "val2"}


def test_tagging_overwrites_values(logs):
    name = create_group(logs, tags={"env": "dev"})
    logs.tag_resource(resourceArn=arn(name), tags={"env": "prod"})
    assert tags_by_arn(logs, name) == {"env": "prod"}
    logs.tag_log_group(logGroupName=name, tags={"env": "staging"})
    assert tags_by_name(logs, name) == {"env": "staging"}


def test_tag_values_may_be_empty_and_unicode(logs):
    name = create_group(logs)
    logs.tag_resource(resourceArn=arn(name), tags={"empty": "", "ünï": "cødé value", "a/b:c=d": "+-=._:/@"})
    assert tags_by_arn(logs, name) == {"empty": "", "ünï": "cødé value", "a/b:c=d": "+-=._:/@"}


class TestFiftyTags:
    def full(self, logs):
        return create_group(logs, tags={f"k{index:02}": "v" for index in range(50)})

    def test_fifty_tags_are_allowed(self, logs):
        name = self.full(logs)
        assert len(tags_by_name(logs, name)) == 50
        # Overwriting an existing key keeps the count at 50.
        logs.tag_resource(resourceArn=arn(name), tags={"k00": "changed"})
        assert tags_by_arn(logs, name)["k00"] == "changed"

    def test_tag_resource_beyond_fifty(self, logs):
        name = self.full(logs)
        code, _, status = client_error(logs.tag_resource, resourceArn=arn(name), tags={"one-more": "v"})
        assert (code, status) == ("TooManyTagsException", 400)
        assert len(tags_by_arn(logs, name)) == 50

    def test_tag_log_group_beyond_fifty(self, logs):
        name = self.full(logs)
        code, _, status = client_error(logs.tag_log_group, logGroupName=name, tags={"one-more": "v"})
        assert (code, status) == ("InvalidParameterException", 400)
        assert "one-more" not in tags_by_name(logs, name)

    def test_create_with_fifty_one_tags(self, logs_unchecked, name):
        code, message, status = client_error(logs_unchecked.create_log_group, logGroupName=name,
                                             tags={f"k{index:02}": "v" for index in range(51)})
        assert (code, status) == ("InvalidParameterException", 400)
        assert "'tags'" in message
        assert logs_unchecked.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []


def test_missing_group(logs, name):
    missing = ("ResourceNotFoundException", "The specified log group does not exist.", 400)
    assert client_error(logs.list_tags_log_group, logGroupName=name) == missing
    assert client_error(logs.tag_log_group, logGroupName=name, tags={"a": "b"}) == missing
    assert client_error(logs.untag_log_group, logGroupName=name, tags=["a"]) == missing
    assert client_error(logs.list_tags_for_resource, resourceArn=arn(name)) == missing
    assert client_error(logs.tag_resource, resourceArn=arn(name), tags={"a": "b"}) == missing
    assert client_error(logs.untag_resource, resourceArn=arn(name), tagKeys=["a"]) == missing


def test_arn_of_another_region_or_account_does_not_reach_the_group(logs):
    name = create_group(logs, tags={"a": "b"})
    for other in (arn(name, region="eu-west-1"), arn(name, account="111111111111")):
        assert client_error(logs.list_tags_for_resource, resourceArn=other)[0] == "ResourceNotFoundException"
        assert client_error(logs.tag_resource, resourceArn=other, tags={"x": "y"})[0] == "ResourceNotFoundException"
    assert tags_by_name(logs, name) == {"a": "b"}


@pytest.mark.parametrize("resource", [
    f"arn:aws:logs:{REGION}:{ACCOUNT}:destination:nothing-here",
    "not-an-arn",
])
def test_unknown_resource(logs, resource):
    code, message, status = client_error(logs.list_tags_for_resource, resourceArn=resource)
    assert (code, status) == ("ResourceNotFoundException", 400)


def test_untag_of_absent_keys_is_a_no_op(logs):
    name = create_group(logs, tags={"keep": "me"})
    logs.untag_resource(resourceArn=arn(name), tagKeys=["absent"])
    logs.untag_log_group(logGroupName=name, tags=["absent-too"])
    assert tags_by_name(logs, name) == {"keep": "me"}
