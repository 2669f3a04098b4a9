"""Lambda events -> the stored mails they name."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from handler.service.events import EventError, MailRef, Skipped, mail_refs
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
