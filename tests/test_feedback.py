"""SES feedback notifications: who is suppressed, who is not, and what is not feedback at all."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from handler.outbound.feedback import Feedback, FeedbackError, read_feedback
from tests.conftest import TESTS


def sample(name: str) -> dict[str, Any]:
    return json.loads((TESTS / "events" / name).read_text())


def sns(notification: dict[str, Any]) -> str:
    """``notification`` as SNS delivers it without raw message delivery."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ticket-router-feedback",
            "Message": json.dumps(notification),
            "Timestamp": "2026-09-21T14:13:22.500Z",
            "SignatureVersion": "1",
        }
    )


# mail.messageId of each sample: the id SendRawEmail answered with.
BOUNCED = "0100019212aa2bc4-93c245fe-e333-46ae-8fed-96160d20cfab-000000"
TRANSIENT = "0100019212aa2bc4-0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011-000000"
COMPLAINED = "0100019212aa2bc4-8e2c0f6a-58d4-4c0e-9d2e-1f0a3b4c5d6e-000000"
EVENT_BOUNCED = "0100019212aa2bc4-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
PERMANENT = Feedback(
    "bounce", ("jane@allowed.org", "richard@allowed.org"), "Permanent/General bounce", BOUNCED
)


def test_a_permanent_bounce_suppresses_every_bounced_recipient():
    """Each bounced address, lowercased and freed of its display name, in the order given."""
    feedback = read_feedback(json.dumps(sample("sesBouncePermanent.json")))
    assert feedback == PERMANENT
    assert not feedback.nothing_to_do


def test_the_sns_envelope_is_read_like_raw_delivery():
    """The notification inside SNS's envelope gives the same feedback as the raw one."""
    assert read_feedback(sns(sample("sesBouncePermanent.json"))) == PERMANENT


def test_a_transient_bounce_suppresses_no_one():
    """A full mailbox is a bounce with nothing to do, and the detail says why."""
    feedback = read_feedback(json.dumps(sample("sesBounceTransient.json")))
    assert feedback == Feedback(
        "bounce", (), "Transient/MailboxFull bounce: not permanent, no one suppressed", TRANSIENT
    )
    assert feedback.nothing_to_do


def test_an_undetermined_bounce_suppresses_no_one():
    """SES could not tell why the mail bounced: no one is suppressed on a guess."""
    notification = sample("sesBouncePermanent.json")
    notification["bounce"] |= {"bounceType": "Undetermined", "bounceSubType": "Undetermined"}
    assert read_feedback(json.dumps(notification)) == Feedback(
        "bounce", (), "Undetermined/Undetermined bounce: not permanent, no one suppressed", BOUNCED
    )


def test_a_bounce_for_an_address_on_the_suppression_list_suppresses_it():
    """SES did not even try (the account suppresses the address): ours suppresses it too."""
    notification = sample("sesBouncePermanent.json")
    notification["bounce"]["bounceSubType"] = "OnAccountSuppressionList"
    assert read_feedback(sns(notification)) == Feedback(
        "bounce", PERMANENT.addresses, "Permanent/OnAccountSuppressionList bounce", BOUNCED
    )


def test_a_complaint_suppresses_the_complainant():
    """Whoever marked our mail as spam gets none again."""
    feedback = read_feedback(json.dumps(sample("sesComplaint.json")))
    assert feedback == Feedback(
        "complaint", ("richard@allowed.org",), "complaint (abuse)", COMPLAINED
    )


def test_a_complaint_without_a_feedback_type_still_suppresses():
    """Many feedback loops send no type; it is a complaint all the same."""
    notification = sample("sesComplaint.json")
    del notification["complaint"]["complaintFeedbackType"]
    assert read_feedback(sns(notification)) == Feedback(
        "complaint", ("richard@allowed.org",), "complaint (no feedback type)", COMPLAINED
    )


def test_a_not_spam_report_suppresses_no_one():
    """RFC 5965's not-spam is the opposite of a complaint."""
    notification = sample("sesComplaint.json")
    notification["complaint"]["complaintFeedbackType"] = "not-spam"
    assert read_feedback(json.dumps(notification)) == Feedback(
        "complaint", (), "complaint (not-spam): no one suppressed", COMPLAINED
    )


def test_event_publishing_names_the_type_event_type():
    """A configuration set's event (eventType, not notificationType) is read the same way."""
    notification = sample("sesComplaint.json")
    notification["eventType"] = notification.pop("notificationType")
    assert read_feedback(json.dumps(notification)) == Feedback(
        "complaint", ("richard@allowed.org",), "complaint (abuse)", COMPLAINED
    )


@pytest.mark.parametrize("wrap", [json.dumps, sns], ids=["raw", "sns-envelope"])
def test_a_configuration_sets_bounce_event_suppresses_every_bounced_recipient(wrap):
    """The deployment's configuration set publishes a permanent bounce as an event
    (eventType Bounce, the mail's tags): each recipient suppressed, lowercased, in order."""
    assert read_feedback(wrap(sample("sesEventBounce.json"))) == Feedback(
        "bounce",
        ("jane@allowed.org", "omar@allowed.org"),
        "Permanent/General bounce",
        EVENT_BOUNCED,
    )


@pytest.mark.parametrize("wrap", [json.dumps, sns], ids=["raw", "sns-envelope"])
def test_a_configuration_sets_complaint_event_suppresses_the_complainant(wrap):
    """A complaint event (complaintSubType null, as SES writes it) suppresses the complainant."""
    assert read_feedback(wrap(sample("sesEventComplaint.json"))) == Feedback(
        "complaint", ("richard@allowed.org",), "complaint (abuse)", COMPLAINED
    )


def test_a_configuration_sets_transient_bounce_event_suppresses_no_one():
    """An event-published transient bounce is read like the notification: nothing to do."""
    event = sample("sesEventBounce.json")
    event["bounce"] |= {"bounceType": "Transient", "bounceSubType": "MailboxFull"}
    assert read_feedback(json.dumps(event)) == Feedback(
        "bounce",
        (),
        "Transient/MailboxFull bounce: not permanent, no one suppressed",
        EVENT_BOUNCED,
    )


def test_a_configuration_sets_other_events_do_nothing():
    """The set publishes only bounces and complaints; any other event type is understood and
    does nothing (the event destination could be widened by hand)."""
    event = {"eventType": "Delivery", "mail": sample("sesEventBounce.json")["mail"]}
    event["delivery"] = {"timestamp": "2026-09-21T14:13:21.000Z", "recipients": ["x@allowed.org"]}
    assert read_feedback(json.dumps(event)) == Feedback(
        "other", (), "Delivery notification: nothing to do"
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (json.dumps(sample("sesDelivery.json")), "Delivery notification: nothing to do"),
        (sns(sample("sesDelivery.json")), "Delivery notification: nothing to do"),
        (
            json.dumps({"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}),
            "AmazonSnsSubscriptionSucceeded notification: nothing to do",
        ),
        (
            json.dumps(
                {
                    "Type": "SubscriptionConfirmation",
                    "Token": "2336412f37",
                    "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
                }
            ),
            "SNS SubscriptionConfirmation: nothing to do",
        ),
    ],
    ids=["delivery", "delivery-in-envelope", "ses-subscription-test", "sns-confirmation"],
)
def test_notifications_that_ask_nothing_are_understood_and_do_nothing(body: str, detail: str):
    """A delivery or a subscription message is feedback of kind "other" with no addresses."""
    feedback = read_feedback(body)
    assert feedback == Feedback("other", (), detail)
    assert feedback.nothing_to_do


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[1, 2]",
        '"Bounce"',
        json.dumps({"kind": "github", "event": "issues"}),
        json.dumps({"Type": "Notification", "Message": "plain text, not JSON"}),
        json.dumps({"Type": "Notification", "Message": json.dumps({"alarm": "x"})}),
    ],
    ids=["empty", "text", "list", "string", "work-item", "sns-text", "sns-other-json"],
)
def test_what_is_not_an_ses_notification_is_none(body: str):
    """Bodies that are not SES notifications (not JSON, a GitHub work item, other SNS) are None."""
    assert read_feedback(body) is None


def broken(change: str) -> dict[str, Any]:
    bounce = sample("sesBouncePermanent.json")
    if change == "type-not-text":
        bounce["notificationType"] = 7
    elif change == "no-bounce":
        del bounce["bounce"]
    elif change == "no-bounce-type":
        del bounce["bounce"]["bounceType"]
    elif change == "no-recipients":
        bounce["bounce"]["bouncedRecipients"] = []
    elif change == "recipient-without-address":
        bounce["bounce"]["bouncedRecipients"].append({"status": "5.1.1"})
    elif change == "address-not-an-address":
        bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] = "jane"
    return bounce


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("type-not-text", "notificationType is not a string"),
        ("no-bounce", "bounce object is missing"),
        ("no-bounce-type", "bounce.bounceType is missing"),
        ("no-recipients", "bouncedRecipients is missing or empty"),
        ("recipient-without-address", "bouncedRecipients: a recipient without emailAddress"),
        ("address-not-an-address", "bouncedRecipients: emailAddress is not an address"),
    ],
)
def test_malformed_bounces_are_errors(change: str, message: str):
    """SES-shaped feedback that cannot say whom to suppress raises FeedbackError, raw or in SNS."""
    with pytest.raises(FeedbackError, match=f"^{re.escape(message)}$"):
        read_feedback(json.dumps(broken(change)))
    with pytest.raises(FeedbackError, match=f"^{re.escape(message)}$"):
        read_feedback(sns(broken(change)))


def test_a_complaint_without_recipients_is_an_error():
    """A complaint must name who complained."""
    complaint = sample("sesComplaint.json")
    del complaint["complaint"]["complainedRecipients"]
    with pytest.raises(FeedbackError, match=r"^complainedRecipients is missing or empty$"):
        read_feedback(json.dumps(complaint))


def test_the_detail_carries_no_more_than_type_names():
    """A sub-type that is not a short word is shown as "?": the logged detail stays small."""
    notification = sample("sesBouncePermanent.json")
    notification["bounce"]["bounceSubType"] = "General\nInjected: jane@allowed.org"
    feedback = read_feedback(json.dumps(notification))
    assert feedback == Feedback("bounce", PERMANENT.addresses, "Permanent/? bounce", BOUNCED)


@pytest.mark.parametrize(
    "message_id",
    [None, 7, "", "a" * 101, "0100019212aa2bc4-93c2\nInjected", "<id@example.com>"],
    ids=["missing", "number", "empty", "too-long", "newline", "not-an-ses-id"],
)
def test_a_message_id_that_is_not_sess_is_left_out_and_the_bounce_still_suppresses(message_id):
    """mail.messageId names the comment to mark; without a usable one the addresses are still
    suppressed, and nothing from the field reaches the feedback."""
    notification = sample("sesBouncePermanent.json")
    if message_id is None:
        del notification["mail"]["messageId"]
    else:
        notification["mail"]["messageId"] = message_id
    assert read_feedback(sns(notification)) == replace(PERMANENT, message_id="")


def test_a_bounce_without_its_mail_object_still_suppresses():
    """The message id is not required of SES: a notification without ``mail`` suppresses."""
    notification = sample("sesBouncePermanent.json")
    del notification["mail"]
    assert read_feedback(json.dumps(notification)) == replace(PERMANENT, message_id="")
