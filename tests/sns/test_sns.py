"""SNS through boto3 and the aws CLI: topics, subscriptions confirmed the
way real endpoints confirm them (an HTTP receiver fetching the
SubscribeURL, a mail with a link), signed notifications, raw delivery,
filter policies, per-protocol messages, retries, and SNS's errors."""

import json
import re
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

from conftest import make_client
from receivers import Mailbox, Receiver, body_text, confirm_via_link, envelope_of, verify_signature


def unique(prefix="topic"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code_of(caught):
    return caught.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture(scope="module")
def mailbox():
    running = Mailbox()
    yield running
    running.close()


@pytest.fixture(scope="module")
def argus(mailbox):
    from harness import ArgusServer

    with ArgusServer(extra_args=["--test-clock", "--smtp-url", mailbox.url, "--smtp-from", "alerts@pacs.example"]) as running:
        yield running


@pytest.fixture(scope="module")
def sns(argus):
    return make_client(argus, "sns")


@pytest.fixture(scope="module")
def sns_unchecked(argus):
    return make_client(argus, "sns", parameter_validation=False)


def confirmed_http(sns, receiver, topic_arn, path, attributes=None):
    """Subscribes an HTTP endpoint and confirms it as a receiver does: by
    fetching the SubscribeURL of the signed SubscriptionConfirmation."""
    params = {"Attributes": attributes} if attributes else {}
    pending = sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=receiver.url(path), **params)
    assert pending["SubscriptionArn"] == "pending confirmation"
    request = receiver.wait_for(path, where=lambda r: r["headers"].get("x-amz-sns-message-type") == "SubscriptionConfirmation")[0]
    envelope = envelope_of(request)
    verify_signature(envelope)
    assert envelope["TopicArn"] == topic_arn and envelope["Token"]
    status, xml = confirm_via_link(envelope["SubscribeURL"])
    assert status == 200
    arn = ET.fromstring(xml).find(".//{http://sns.amazonaws.com/doc/2010-03-31/}SubscriptionArn").text
    assert arn.startswith(topic_arn + ":")
    return arn


def notifications(receiver, path):
    return [r for r in receiver.received(path) if r["headers"].get("x-amz-sns-message-type") == "Notification"]


def test_topics_are_created_idempotently_with_attributes_and_tags(sns):
    name = unique()
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "PACS alerts"}, Tags=[{"Key": "team", "Value": "pacs"}])["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:000000000000:{name}"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    with pytest.raises(ClientError) as caught:
        sns.create_topic(Name=name, Attributes={"DisplayName": "something else"})
    assert code_of(caught) == "InvalidParameter"

    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "PACS alerts"
    assert attributes["Owner"] == "000000000000"
    assert attributes["SubscriptionsConfirmed"] == "0"
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == arn
    assert json.loads(attributes["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3

    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SignatureVersion"] == "2"
    with pytest.raises(ClientError) as caught:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="NoSuchAttribute", AttributeValue="x")
    assert code_of(caught) == "InvalidParameter"

    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]

    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as caught:
        sns.get_topic_attributes(TopicArn=arn)
    assert code_of(caught) == "NotFound"
    with pytest.raises(ClientError) as caught:
        sns.list_tags_for_resource(ResourceArn=arn)
    assert code_of(caught) == "ResourceNotFound"


def test_list_topics_pages_through_every_topic(sns):
    prefix = unique("page")
    made = {sns.create_topic(Name=f"{prefix}-{i:03d}")["TopicArn"] for i in range(105)}
    seen, pages = set(), 0
    for page in sns.get_paginator("list_topics").paginate():
        pages += 1
        seen |= {topic["TopicArn"] for topic in page["Topics"]}
    assert made <= seen and pages >= 2


def test_http_subscription_is_confirmed_by_its_link_and_receives_signed_notifications(sns, receiver):
    arn = sns.create_topic(Name=unique())["TopicArn"]
    subscription = confirmed_http(sns, receiver, arn, "/hook-signed")
    listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert listed == [
        {"SubscriptionArn": subscription, "Owner": "000000000000", "Protocol": "http", "Endpoint": receiver.url("/hook-signed"), "TopicArn": arn}
    ]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert attributes["PendingConfirmation"] == "false" and attributes["RawMessageDelivery"] == "false"

    message_id = sns.publish(
        TopicArn=arn,
        Subject="Disk almost full",
        Message="92% used on /data",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}, "percent": {"DataType": "Number", "StringValue": "92"}},
    )["MessageId"]
    request = receiver.wait_for("/hook-signed", where=lambda r: r["headers"].get("x-amz-sns-message-type") == "Notification")[0]
    headers = request["headers"]
    assert headers["x-amz-sns-message-id"] == message_id
    assert headers["x-amz-sns-topic-arn"] == arn
    assert headers["x-amz-sns-subscription-arn"] == subscription
    assert headers["content-type"].startswith("text/plain")
    envelope = envelope_of(request)
    assert (envelope["Type"], envelope["MessageId"], envelope["Subject"], envelope["Message"]) == (
        "Notification", message_id, "Disk almost full", "92% used on /data",
    )
    assert envelope["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}, "percent": {"Type": "Number", "Value": "92"}}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", envelope["Timestamp"])
    assert envelope["SignatureVersion"] == "1"
    verify_signature(envelope)
    tampered = dict(envelope, Message="0% used")
    with pytest.raises(Exception):
        verify_signature(tampered)

    # SignatureVersion 2 signs with SHA256.
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    sns.publish(TopicArn=arn, Message="second")
    second = receiver.wait_for("/hook-signed", where=lambda r: envelope_of(r).get("Message") == "second")[0]
    assert envelope_of(second)["SignatureVersion"] == "2"
    verify_signature(envelope_of(second))

    # The UnsubscribeURL in every notification ends the subscription.
    status, _ = confirm_via_link(envelope["UnsubscribeURL"])
    assert status == 200
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []


def test_an_unconfirmed_subscription_receives_nothing_and_a_bad_token_is_refused(sns, receiver):
    arn = sns.create_topic(Name=unique())["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=receiver.url("/hook-pending"))
    receiver.wait_for("/hook-pending")
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"][0]["SubscriptionArn"] == "PendingConfirmation"
    sns.publish(TopicArn=arn, Message="not for you")
    time.sleep(1.0)
    assert notifications(receiver, "/hook-pending") == []
    with pytest.raises(ClientError) as caught:
        sns.confirm_subscription(TopicArn=arn, Token="not-the-token")
    assert code_of(caught) == "InvalidParameter"
    # ConfirmSubscription with the real token works through the API too.
    token = envelope_of(receiver.received("/hook-pending")[0])["Token"]
    confirmed = sns.confirm_subscription(TopicArn=arn, Token=token)["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=confirmed)["Attributes"]["PendingConfirmation"] == "false"


def test_raw_delivery_filter_policies_and_per_protocol_messages(sns, receiver):
    arn = sns.create_topic(Name=unique())["TopicArn"]
    raw = confirmed_http(sns, receiver, arn, "/hook-raw", {"RawMessageDelivery": "true"})
    errors_only = confirmed_http(sns, receiver, arn, "/hook-filtered")
    sns.set_subscription_attributes(
        SubscriptionArn=errors_only, AttributeName="FilterPolicy", AttributeValue=json.dumps({"level": ["ERROR"], "code": [{"numeric": [">=", 500]}]})
    )
    assert sns.get_subscription_attributes(SubscriptionArn=raw)["Attributes"]["RawMessageDelivery"] == "true"

    def attrs(level, code):
        return {"level": {"DataType": "String", "StringValue": level}, "code": {"DataType": "Number", "StringValue": str(code)}}

    sns.publish(TopicArn=arn, Message="m-info", MessageAttributes=attrs("INFO", 200))
    sns.publish(TopicArn=arn, Message="m-client", MessageAttributes=attrs("ERROR", 404))
    sns.publish(TopicArn=arn, Message="m-server", MessageAttributes=attrs("ERROR", 503))
    sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"default": "m-default", "http": "m-for-http"}))

    raw_bodies = [r["body"] for r in receiver.wait_for("/hook-raw", count=4, where=lambda r: r["headers"].get("x-amz-sns-message-type") == "Notification")]
    assert sorted(raw_bodies) == sorted(["m-info", "m-client", "m-server", "m-for-http"])
    assert all(r["headers"].get("x-amz-sns-rawdelivery") == "true" for r in notifications(receiver, "/hook-raw"))
    receiver.wait_for("/hook-filtered", where=lambda r: "m-server" in r["body"])
    time.sleep(1.0)
    filtered = [envelope_of(r)["Message"] for r in notifications(receiver, "/hook-filtered")]
    assert filtered == ["m-server"]

    with pytest.raises(ClientError) as caught:
        sns.set_subscription_attributes(SubscriptionArn=raw, AttributeName="FilterPolicy", AttributeValue='{"level": "ERROR"}')
    assert code_of(caught) == "InvalidParameter"


def test_email_subscriptions_confirm_by_mail_and_receive_readable_mail(sns, mailbox):
    arn = sns.create_topic(Name=unique(), Attributes={"DisplayName": "PACS"})["TopicArn"]
    address = f"{uuid.uuid4().hex[:8]}@hospital.example"
    assert sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=address)["SubscriptionArn"] == "pending confirmation"
    mail = mailbox.wait_for(where=lambda m: address in m["to"])[0]
    assert mail["message"]["subject"] == "AWS Notification - Subscription Confirmation"
    link = re.search(r"Confirm subscription: (\S+)", body_text(mail)).group(1)
    assert confirm_via_link(link)[0] == 200

    sns.publish(TopicArn=arn, Subject="Backup finished", Message="The nightly backup finished in 42 minutes.")
    mail = mailbox.wait_for(where=lambda m: address in m["to"] and m["message"]["subject"] == "Backup finished")[0]
    assert mail["message"]["from"].startswith("PACS <alerts@pacs.example>") or "alerts@pacs.example" in mail["message"]["from"]
    text = body_text(mail)
    assert "The nightly backup finished in 42 minutes." in text
    assert "Action=Unsubscribe" in text

    json_address = f"{uuid.uuid4().hex[:8]}@hospital.example"
    sns.subscribe(TopicArn=arn, Protocol="email-json", Endpoint=json_address)
    link = re.search(r"Confirm subscription: (\S+)", body_text(mailbox.wait_for(where=lambda m: json_address in m["to"])[0])).group(1)
    confirm_via_link(link)
    sns.publish(TopicArn=arn, Message="as json")
    mail = mailbox.wait_for(where=lambda m: json_address in m["to"] and "as json" in body_text(m))[0]
    envelope = json.loads(body_text(mail))
    assert envelope["Type"] == "Notification" and envelope["Message"] == "as json"
    verify_signature(envelope)


def test_failed_deliveries_are_retried_on_the_policy_and_never_hold_up_others(sns, receiver, argus):
    arn = sns.create_topic(Name=unique())["TopicArn"]
    flaky = confirmed_http(sns, receiver, arn, "/hook-flaky")
    healthy = confirmed_http(sns, receiver, arn, "/hook-healthy")
    # An endpoint that goes away after confirming: connections are refused.
    gone = Receiver()
    confirmed_http(sns, gone, arn, "/hook-gone")
    gone.close()
    receiver.statuses["/hook-flaky"] = [500, 503]
    sns.publish(TopicArn=arn, Message="retry me")
    receiver.wait_for("/hook-healthy", where=lambda r: "retry me" in r["body"], timeout=5)
    receiver.wait_for("/hook-flaky", where=lambda r: "retry me" in r["body"], status=500, timeout=5)
    time.sleep(0.5)
    assert len([r for r in receiver.received("/hook-flaky") if "retry me" in r["body"]]) == 1, "retried before its delay"
    argus.advance_clock(20_000)
    receiver.wait_for("/hook-flaky", where=lambda r: "retry me" in r["body"], status=503, timeout=5)
    argus.advance_clock(20_000)
    delivered = receiver.wait_for("/hook-flaky", where=lambda r: "retry me" in r["body"], status=200, timeout=5)
    assert len(delivered) == 1
    assert envelope_of(delivered[0])["MessageId"] == envelope_of(receiver.received("/hook-healthy")[-1])["MessageId"]
    assert flaky != healthy
    # The unreachable endpoint was tried and is waiting for its retries;
    # it held up neither of the others.

    metrics = __import__("urllib.request").request.urlopen(f"{argus.endpoint}/metrics", timeout=5).read().decode()
    assert re.search(r"^argus_sns_delivery_attempts_failed_total [1-9]", metrics, re.M), metrics


def test_an_endpoint_that_keeps_failing_is_given_up_after_its_retries(sns, receiver, argus):
    arn = sns.create_topic(Name=unique())["TopicArn"]
    confirmed_http(sns, receiver, arn, "/hook-down")
    receiver.statuses["/hook-down"] = 502
    sns.publish(TopicArn=arn, Message="never lands")
    receiver.wait_for("/hook-down", where=lambda r: "never lands" in r["body"], timeout=5)
    for attempt in range(2, 5):
        argus.advance_clock(20_000)
        receiver.wait_for("/hook-down", count=attempt, where=lambda r: "never lands" in r["body"], timeout=5)
    argus.advance_clock(60_000)
    time.sleep(1.0)
    assert len([r for r in receiver.received("/hook-down") if "never lands" in r["body"]]) == 4, "one try and three retries"
    metrics = __import__("urllib.request").request.urlopen(f"{argus.endpoint}/metrics", timeout=5).read().decode()
    assert re.search(r"^argus_sns_deliveries_failed_total [1-9]", metrics, re.M), metrics


def test_publish_batch(sns, receiver):
    arn = sns.create_topic(Name=unique())["TopicArn"]
    confirmed_http(sns, receiver, arn, "/hook-batch")
    result = sns.publish_batch(
        TopicArn=arn,
        PublishBatchRequestEntries=[
            {"Id": "one", "Message": "batch one"},
            {"Id": "two", "Message": "batch two", "Subject": "second"},
            {"Id": "bad", "Message": "x", "MessageStructure": "json"},
        ],
    )
    assert sorted(entry["Id"] for entry in result["Successful"]) == ["one", "two"]
    assert [(entry["Id"], entry["Code"], entry["SenderFault"]) for entry in result["Failed"]] == [("bad", "InvalidParameter", True)]
    bodies = [envelope_of(r)["Message"] for r in receiver.wait_for("/hook-batch", count=2, where=lambda r: "batch" in r["body"])]
    assert sorted(bodies) == ["batch one", "batch two"]


@pytest.mark.parametrize(
    "call, code",
    [
        (lambda sns, arn: sns.publish(TopicArn=arn + "-missing", Message="x"), "NotFound"),
        (lambda sns, arn: sns.publish(TopicArn=arn, Message=""), "InvalidParameter"),
        (lambda sns, arn: sns.publish(TopicArn=arn, Message="x", Subject="two\nlines"), "InvalidParameter"),
        (lambda sns, arn: sns.publish(TopicArn=arn, Message="x" * 262_145), "InvalidParameter"),
        (lambda sns, arn: sns.publish(TopicArn=arn, Message='{"email": "no default"}', MessageStructure="json"), "InvalidParameter"),
        (lambda sns, arn: sns.publish(TopicArn=arn, Message="x", MessageAttributes={"n": {"DataType": "Number", "StringValue": "ten"}}), "ParameterValueInvalid"),
        (lambda sns, arn: sns.publish(TopicArn=arn, Message="x", MessageAttributes={"n": {"DataType": "Decimal", "StringValue": "1"}}), "ParameterValueInvalid"),
        (lambda sns, arn: sns.publish(TopicArn="not-an-arn", Message="x"), "InvalidParameter"),
        (lambda sns, arn: sns.subscribe(TopicArn=arn, Protocol="carrier-pigeon", Endpoint="x"), "InvalidParameter"),
        (lambda sns, arn: sns.subscribe(TopicArn=arn, Protocol="https", Endpoint="http://plain.example/"), "InvalidParameter"),
        (lambda sns, arn: sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="not-an-address"), "InvalidParameter"),
        (lambda sns, arn: sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="http://x.example/", Attributes={"Bogus": "1"}), "InvalidParameter"),
        (lambda sns, arn: sns.unsubscribe(SubscriptionArn=arn + ":0f1e2d3c-0000-0000-0000-000000000000"), "NotFound"),
        (lambda sns, arn: sns.create_topic(Name="has spaces"), "InvalidParameter"),
        (lambda sns, arn: sns.create_topic(Name="x" * 257), "InvalidParameter"),
        (lambda sns, arn: sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[]), "EmptyBatchRequest"),
        (lambda sns, arn: sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": str(i), "Message": "m"} for i in range(11)]), "TooManyEntriesInBatchRequest"),
        (lambda sns, arn: sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "n"}]), "BatchEntryIdsNotDistinct"),
    ],
)
def test_bad_input_gets_the_sns_error(sns_unchecked, call, code):
    arn = sns_unchecked.create_topic(Name="errors-topic")["TopicArn"]
    with pytest.raises(ClientError) as caught:
        call(sns_unchecked, arn)
    assert code_of(caught) == code, caught.value.response
    assert caught.value.response["Error"]["Message"]


def test_the_aws_cli_drives_sns(argus, receiver):
    from conftest import AwsCli

    aws = AwsCli(argus)
    arn = aws.json("sns", "create-topic", "--name", "pacs-cli-alerts")["TopicArn"]
    aws.json("sns", "subscribe", "--topic-arn", arn, "--protocol", "http", "--notification-endpoint", receiver.url("/hook-cli"))
    token = envelope_of(receiver.wait_for("/hook-cli")[0])["Token"]
    aws.json("sns", "confirm-subscription", "--topic-arn", arn, "--token", token)
    message_id = aws.json("sns", "publish", "--topic-arn", arn, "--subject", "From the CLI", "--message", "hello from aws sns publish")["MessageId"]
    request = receiver.wait_for("/hook-cli", where=lambda r: r["headers"].get("x-amz-sns-message-type") == "Notification")[0]
    assert envelope_of(request)["MessageId"] == message_id
    topics = aws.json("sns", "list-topics")["Topics"]
    assert {"TopicArn": arn} in topics
    assert "NotFound" in aws.error("sns", "get-topic-attributes", "--topic-arn", arn + "-nope")


def test_list_subscriptions_and_unsubscribe_through_the_api(sns, receiver):
    arn = sns.create_topic(Name=unique())["TopicArn"]
    subscription = confirmed_http(sns, receiver, arn, "/hook-list")
    address = f"{uuid.uuid4().hex[:8]}@hospital.example"
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=address)
    everything = [s for page in sns.get_paginator("list_subscriptions").paginate() for s in page["Subscriptions"]]
    mine = sorted((s["Protocol"], s["SubscriptionArn"]) for s in everything if s["TopicArn"] == arn)
    assert mine == [("email", "PendingConfirmation"), ("http", subscription)]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsPending"] == "1"
    sns.unsubscribe(SubscriptionArn=subscription)
    with pytest.raises(ClientError) as caught:
        sns.get_subscription_attributes(SubscriptionArn=subscription)
    assert code_of(caught) == "NotFound"
    sns.publish(TopicArn=arn, Message="after unsubscribe")
    time.sleep(1.0)
    assert not [r for r in receiver.received("/hook-list") if "after unsubscribe" in r["body"]]


def test_a_teams_webhook_gets_an_adaptive_card(sns, receiver):
    arn = sns.create_topic(Name=unique())["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=receiver.url("/teams"), Attributes={"WebhookFormat": "teams"})
    card = json.loads(receiver.wait_for("/teams")[0]["body"])["attachments"][0]["content"]
    confirm = [action["url"] for action in card["actions"] if action["title"] == "Confirm subscription"][0]
    assert confirm_via_link(confirm)[0] == 200
    alarm = {"AlarmName": "pacs-db-cpu", "NewStateValue": "ALARM", "OldStateValue": "OK", "NewStateReason": "Threshold Crossed: 1 datapoint [97.0]",
             "Region": "US East (N. Virginia)", "AWSAccountId": "000000000000", "StateChangeTime": "2026-12-02T10:00:00.000+0000"}
    sns.publish(TopicArn=arn, Subject='ALARM: "pacs-db-cpu"', Message=json.dumps(alarm))
    posted = receiver.wait_for("/teams", count=2)[1]
    assert posted["headers"]["content-type"] == "application/json"
    message = json.loads(posted["body"])
    assert message["type"] == "message"
    content = message["attachments"][0]["content"]
    assert content["type"] == "AdaptiveCard"
    texts = json.dumps(content, ensure_ascii=False)
    assert "ALARM: pacs-db-cpu" in texts and "Threshold Crossed: 1 datapoint [97.0]" in texts and "OK → ALARM" in texts


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_mail_goes_through_a_relay_that_requires_auth(server_factory):
    """`--smtp-url smtp://user:pass@host:port`: Argus logs in to the relay."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from harness import free_port

    sessions = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            sessions.append(session.authenticated)
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"argus", b"s3cret")
        return AuthResult(success=good)

    port = free_port()
    relay = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticate, auth_required=True, auth_require_tls=False)
    relay.start()
    try:
        argus = server_factory("--smtp-url", f"smtp://argus:s3cret@127.0.0.1:{port}")
        sns = make_client(argus, "sns")
        arn = sns.create_topic(Name=unique())["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="oncall@hospital.example")
        deadline = time.time() + 15
        while not sessions and time.time() < deadline:
            time.sleep(0.1)
        assert sessions == [True]
    finally:
        relay.stop()
