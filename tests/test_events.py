"""Lambda events and mail-queue messages -> the stored mails they name."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handler.service.events import (
    EventError,
    MailRef,
    QueuedMessage,
    Skipped,
    mail_refs,
    queued_messages,
)
from tests.conftest import TESTS


def load_event(name: str) -> dict[str, Any]:
    return json.loads((TESTS / "events" / name).read_text())


def test_ses_event_names_the_object_under_the_prefix():
    """An SES action event points at <prefix><messageId> in the configured bucket."""
    event = load_event("sesEvent.json")
    [ref] = mail_refs(event, bucket="mail-bucket", prefix="inbound/")
    assert isinstance(ref, MailRef)
    assert (ref.bucket, ref.key, ref.message_id) == (
        "mail-bucket",
        "inbound/o3vrnil0e2ic28tr",
        "o3vrnil0e2ic28tr",
    )
    assert ref.ses_record is event["Records"][0]


def test_ses_event_without_configured_bucket_is_an_error():
    """Without MAIL_BUCKET an SES event cannot be served, and says so."""
    with pytest.raises(EventError, match="MAIL_BUCKET"):
        mail_refs(load_event("sesEvent.json"), bucket="", prefix="")


def test_ses_event_message_id_cannot_escape_the_prefix():
    """A messageId with a slash is refused rather than read from another folder."""
    event = load_event("sesEvent.json")
    event["Records"][0]["ses"]["mail"]["messageId"] = "../secrets"
    with pytest.raises(EventError, match="messageId"):
        mail_refs(event, bucket="b", prefix="inbound/")


def test_s3_event_key_is_url_decoded():
    """S3 notifications encode keys ("+" for space, %XX); we read the decoded key."""
    event = load_event("s3Event.json")
    event["Records"][0]["s3"]["object"]["key"] = "inbound/a+b%2Bc%C3%A9"
    [ref] = mail_refs(event, bucket="", prefix="")
    assert ref == MailRef(
        bucket="lambda-artifacts-deafc19498e3f2df",
        key="inbound/a b+cé",
        received_at=1567539447.192,
    )


def test_events_say_when_the_mail_arrived():
    """SES's mail.timestamp and S3's eventTime become epoch seconds; junk becomes None."""
    event = load_event("sesEvent.json")
    event["Records"][0]["ses"]["mail"]["timestamp"] = "2026-11-23T09:14:03.500Z"
    [ref] = mail_refs(event, bucket="b", prefix="inbound/")
    assert isinstance(ref, MailRef)
    assert ref.received_at == 1795425243.5
    event["Records"][0]["ses"]["mail"]["timestamp"] = "yesterday"
    [ref] = mail_refs(event, bucket="b", prefix="inbound/")
    assert isinstance(ref, MailRef)
    assert ref.received_at is None


def test_s3_event_for_ses_setup_object_is_skipped():
    """SES's AMAZON_SES_SETUP_NOTIFICATION test object is not a mail."""
    event = load_event("s3Event.json")
    event["Records"][0]["s3"]["object"]["key"] = "inbound/AMAZON_SES_SETUP_NOTIFICATION"
    [ref] = mail_refs(event, bucket="", prefix="")
    assert isinstance(ref, Skipped)
    assert ref.reason == "ses-setup-notification"


def test_several_records_give_several_refs_in_order():
    """Every record of a batch is processed, in order."""
    event = load_event("s3Event.json")
    second = copy.deepcopy(event["Records"][0])
    second["s3"]["object"]["key"] = "second"
    event["Records"].append(second)
    refs = mail_refs(event, bucket="", prefix="")
    assert [ref.key for ref in refs if isinstance(ref, MailRef)] == [
        "b21b84d653bb07b05b1e6b33684dc11b",
        "second",
    ]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "no Records"),
        ({"Records": []}, "no Records"),
        ({"Records": [{"eventSource": "aws:sqs"}]}, "aws:sqs"),
        ({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, "no bucket name"),
        (
            {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": "b", "object": []}}]},
            "no bucket",
        ),
        ({"Records": [{"eventSource": "aws:s3", "s3": ["b"]}]}, "no bucket name"),
        ({"Records": [{"eventSource": "aws:ses", "ses": {"mail": {}}}]}, "messageId"),
    ],
)
def test_unsupported_events_are_refused_with_a_reason(event, message):
    """Events of other shapes raise an EventError that says what is missing."""
    with pytest.raises(EventError, match=message):
        mail_refs(event, bucket="b", prefix="")


# The mail queue: SQS batches whose bodies name the mails.


def queue_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch like the sample, one record per body (message ids m0, m1 ...)."""
    event = load_event("sqsSesNotificationRawEvent.json")
    template = event["Records"][0]
    event["Records"] = [
        {**copy.deepcopy(template), "messageId": f"m{number}", "body": body}
        for number, body in enumerate(bodies)
    ]
    return event


def raw_notification() -> dict[str, Any]:
    return json.loads(load_event("sqsSesNotificationRawEvent.json")["Records"][0]["body"])


def sns(message: dict[str, Any]) -> str:
    return json.dumps({"Type": "Notification", "Message": json.dumps(message)})


def only_ref(event: dict[str, Any]) -> MailRef | Skipped:
    [message] = queued_messages(event, bucket="", prefix="") or []
    assert message.error is None, message.error
    [ref] = message.refs
    return ref


@pytest.mark.parametrize(
    "name", ["sqsSesNotificationEvent.json", "sqsSesNotificationRawEvent.json"]
)
def test_ses_notification_names_the_object_its_s3_action_stored(name):
    """SES's S3-action notification, in SNS's envelope or raw: the bucket and key of its action,
    its verdicts as the Lambda action's record, its mail.timestamp as the arrival."""
    event = load_event(name)
    [message] = queued_messages(event, bucket="", prefix="") or []
    notification = raw_notification()
    assert message == QueuedMessage(
        message_id=event["Records"][0]["messageId"],
        receipt_handle="AQEBz3kUeZ0EXAMPLE1x4cE2q0VZy4Xw0Gm6dQ0Yb7yPqRk9sLnA8f...",
        queue_arn="arn:aws:sqs:eu-west-1:123456789012:ticket-router-mail",
        receive_count=1,
        refs=(
            MailRef(
                bucket="mail",
                key="inbound/o3vrnil0e2ic28tr",
                message_id="o3vrnil0e2ic28tr",
                ses_record={
                    "eventSource": "aws:ses",
                    "ses": {"mail": notification["mail"], "receipt": notification["receipt"]},
                },
                received_at=1795425243.0,
            ),
        ),
    )


def test_s3_event_in_a_queue_message_is_read_bare_or_in_sns():
    """S3 -> SQS and S3 -> SNS -> SQS: the object of the S3 event, its key decoded."""
    s3 = load_event("s3Event.json")
    s3["Records"][0]["s3"]["object"]["key"] = "inbound/a+b"
    expected = MailRef(
        bucket="lambda-artifacts-deafc19498e3f2df", key="inbound/a b", received_at=1567539447.192
    )
    assert only_ref(queue_event(json.dumps(s3))) == expected
    assert only_ref(queue_event(sns(s3))) == expected


def test_receive_count_comes_from_the_attributes():
    """ApproximateReceiveCount as SQS writes it; 1 when it is missing or not a number."""
    event = queue_event("{}", "{}", "{}")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "7"
    event["Records"][1]["attributes"]["ApproximateReceiveCount"] = "\u00b2"
    del event["Records"][2]["attributes"]
    messages = queued_messages(event, bucket="", prefix="") or []
    assert [message.receive_count for message in messages] == [7, 1, 1]


def _setup_notification() -> dict[str, Any]:
    notification = raw_notification()
    notification["mail"]["messageId"] = "AMAZON_SES_SETUP_NOTIFICATION"
    return notification


def _with_action(action: dict[str, Any] | None) -> dict[str, Any]:
    notification = raw_notification()
    if action is None:
        del notification["receipt"]["action"]
    else:
        notification["receipt"]["action"] = action
    return notification


@pytest.mark.parametrize(
    ("body", "reason", "detail"),
    [
        (
            {"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:eu-west-1:1:t"},
            "sns-confirmation",
            "SNS's SubscriptionConfirmation for the topic arn:aws:sns:eu-west-1:1:t",
        ),
        (
            {"Type": "UnsubscribeConfirmation", "TopicArn": "arn:aws:sns:eu-west-1:1:t"},
            "sns-confirmation",
            "SNS's UnsubscribeConfirmation for the topic arn:aws:sns:eu-west-1:1:t",
        ),
        (
            {"Type": "Notification", "Message": json.dumps(_setup_notification())},
            "ses-setup-notification",
            "SES's notification of its setup test",
        ),
        (
            _with_action(
                {
                    "type": "S3",
                    "bucketName": "mail",
                    "objectKey": "inbound/AMAZON_SES_SETUP_NOTIFICATION",
                }
            ),
            "ses-setup-notification",
            "s3://mail/inbound/AMAZON_SES_SETUP_NOTIFICATION is SES's setup test object",
        ),
        (
            _with_action(
                {"type": "Lambda", "functionArn": "arn:aws:lambda:eu-west-1:1:function:f"}
            ),
            "not-an-s3-action",
            "SES's notification of its 'Lambda' action for 'o3vrnil0e2ic28tr': no stored mail",
        ),
        (
            _with_action(None),
            "not-an-s3-action",
            "SES's notification of its None action for 'o3vrnil0e2ic28tr': no stored mail",
        ),
        (
            {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "mail"},
            "s3-test-event",
            "S3's test event for the bucket mail",
        ),
    ],
    ids=[
        "sns-subscribe",
        "sns-unsubscribe",
        "ses-setup",
        "ses-setup-object",
        "lambda-action",
        "no-action",
        "s3-test",
    ],
)
def test_queue_messages_that_name_no_mail_are_skipped(body, reason, detail):
    """Notifications of set-ups and of other actions are skipped, each with its own reason."""
    assert only_ref(queue_event(json.dumps(body))) == Skipped(reason, detail)


def _without(key: str) -> dict[str, Any]:
    notification = raw_notification()
    del notification["receipt"]["action"][key]
    return notification


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("not json", "the SQS message's body is not JSON"),
        ("[1]", "the SQS message's body is not a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "the SQS message's body is nested too deep"),
        ("{}", "neither an SES notification nor an S3 event, bare or in SNS's envelope"),
        ('{"Type": "Notification"}', "the SNS notification has no Message"),
        (
            '{"Type": "Notification", "Message": "x"}',
            "the SNS notification's Message is not JSON",
        ),
        ('{"Type": "Surprise"}', "an SNS message of Type 'Surprise', not a Notification"),
        (
            json.dumps({"notificationType": "Bounce", "bounce": {}}),
            "an SES notification of type 'Bounce', not Received",
        ),
        (
            json.dumps(_without("objectKey")),
            "SES's S3-action notification has no bucketName or objectKey",
        ),
        (
            json.dumps(_without("bucketName")),
            "SES's S3-action notification has no bucketName or objectKey",
        ),
        (
            json.dumps({"Records": [{"eventSource": "aws:sqs"}]}),
            "record 0 has eventSource 'aws:sqs'; expected aws:ses or aws:s3",
        ),
    ],
    ids=[
        "not-json",
        "not-object",
        "too-deep",
        "empty",
        "sns-no-message",
        "sns-message-not-json",
        "sns-other-type",
        "ses-bounce",
        "no-object-key",
        "no-bucket",
        "sqs-in-sqs",
    ],
)
def test_unreadable_queue_messages_say_why(body, detail):
    """A body that names nothing readable is an unsupported-event error saying what is wrong,
    never an exception out of the batch."""
    [message] = queued_messages(queue_event(body), bucket="", prefix="") or []
    assert message.refs == ()
    assert message.error is not None
    assert (message.error.reason, message.error.detail) == ("unsupported-event", detail)


def test_a_record_without_a_body_or_from_elsewhere_is_unreadable():
    """A record with no body, or a batch that mixes in a record of another source."""
    event = queue_event("{}", "{}")
    del event["Records"][0]["body"]
    event["Records"][1]["eventSource"] = "aws:s3"
    details = [
        m.error.detail for m in queued_messages(event, bucket="", prefix="") or [] if m.error
    ]
    assert details == ["the SQS message has no body", "an SQS batch holds a record from 'aws:s3'"]


@pytest.mark.parametrize(
    "event",
    [
        load_event("sesEvent.json"),
        load_event("s3Event.json"),
        {},
        {"Records": []},
        {"Records": [1]},
    ],
    ids=["ses", "s3", "empty", "no-records", "not-a-record"],
)
def test_other_events_are_not_queue_batches(event):
    """Only a batch whose first record comes from aws:sqs is read as the mail queue's."""
    assert queued_messages(event, bucket="b", prefix="") is None


_KEYS = st.sampled_from(
    [
        "Type",
        "Message",
        "TopicArn",
        "Records",
        "eventSource",
        "notificationType",
        "mail",
        "receipt",
        "action",
        "type",
        "bucketName",
        "objectKey",
        "messageId",
        "timestamp",
        "Event",
        "Bucket",
        "s3",
        "bucket",
        "object",
        "name",
        "key",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | _KEYS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(_JSON, st.booleans())
def test_no_body_makes_reading_a_batch_raise(document, enveloped):
    """Whatever JSON a message holds (bare or as SNS's Message), reading the batch gives refs or
    an error for it, never an exception."""
    body = json.dumps(document)
    if enveloped:
        body = json.dumps({"Type": "Notification", "Message": body})
    [message] = queued_messages(queue_event(body), bucket="b", prefix="p/") or []
    assert message.error is None or message.refs == ()
