"""SES feedback on the mail we send -> the addresses never to mail again.

Pure. Reads SES's bounce and complaint notifications, raw or in SNS's envelope
(https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html). Whom they suppress, and
why: docs/outbound.md#feedback."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from email.utils import parseaddr
from typing import Any, Literal

FeedbackKind = Literal["bounce", "complaint", "other"]

_SNS_CONFIRMATIONS = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
# Words SES puts in bounce and complaint types; anything else is cut, so that the detail (which
# is logged) never carries more of the notification than a type name.
_WORD = re.compile(r"[A-Za-z0-9 _-]{1,40}")
# SES's message ids: "0100019212aa2bc4-93c245fe-e333-46ae-8fed-96160d20cfab-000000".
_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]{1,100}")


class FeedbackError(ValueError):
    """The body is SES feedback, but malformed: it cannot say whom to suppress."""


@dataclass(frozen=True)
class Feedback:
    """What one SES notification asks of us."""

    kind: FeedbackKind
    # Lowercased, each once: the addresses to suppress; empty when there is nothing to do.
    addresses: tuple[str, ...]
    # Why, in a few words ("Permanent/General bounce"); never an address or the notification.
    detail: str
    # The SES message id of the mail it is about (``mail.messageId``): the outbox knows which
    # comment that mail was about (handler.outbound.reach). "" when not a bounce or complaint,
    # or when SES gave none that looks like one.
    message_id: str = ""

    @property
    def nothing_to_do(self) -> bool:
        """Whether the notification was understood and suppresses no one."""
        return not self.addresses


def read_feedback(body: str) -> Feedback | None:
    """The feedback ``body`` (SES notification JSON, raw or in SNS's envelope) carries.

    None when ``body`` is not an SES or SNS notification; raises FeedbackError when it is SES
    feedback without what a bounce or complaint must hold.
    """
    data = _json_object(body)
    if data is None:
        return None
    sns_type = data.get("Type")
    if sns_type in _SNS_CONFIRMATIONS:
        return Feedback("other", (), f"SNS {sns_type}: nothing to do")
    if sns_type == "Notification" and "Message" in data:
        message = data["Message"]
        data = _json_object(message) if isinstance(message, str) else None
        if data is None:
            return None
    notification_type = data.get("notificationType", data.get("eventType"))
    if notification_type is None:
        return None
    if not isinstance(notification_type, str):
        raise FeedbackError("notificationType is not a string")
    if notification_type == "Bounce":
        return replace(_bounce(_member(data, "bounce")), message_id=_message_id(data))
    if notification_type == "Complaint":
        return replace(_complaint(_member(data, "complaint")), message_id=_message_id(data))
    return Feedback("other", (), f"{_word(notification_type)} notification: nothing to do")


def _bounce(bounce: dict[str, Any]) -> Feedback:
    bounce_type = bounce.get("bounceType")
    if not isinstance(bounce_type, str):
        raise FeedbackError("bounce.bounceType is missing")
    what = f"{_word(bounce_type)}/{_word(bounce.get('bounceSubType'))} bounce"
    addresses = _recipients(bounce, "bouncedRecipients")
    if bounce_type != "Permanent":
        # SES retried for hours before reporting it; a later mail may well get through.
        return Feedback("bounce", (), f"{what}: not permanent, no one suppressed")
    return Feedback("bounce", addresses, what)


def _complaint(complaint: dict[str, Any]) -> Feedback:
    feedback_type = complaint.get("complaintFeedbackType")
    addresses = _recipients(complaint, "complainedRecipients")
    what = f"complaint ({_word(feedback_type) if feedback_type else 'no feedback type'})"
    # RFC 5965 3.5: "not-spam" reports mail wrongly taken for spam: the opposite of a complaint.
    if feedback_type == "not-spam":
        return Feedback("complaint", (), f"{what}: no one suppressed")
    return Feedback("complaint", addresses, what)


def _recipients(feedback: dict[str, Any], key: str) -> tuple[str, ...]:
    recipients = feedback.get(key)
    if not isinstance(recipients, list) or not recipients:
        raise FeedbackError(f"{key} is missing or empty")
    found: dict[str, None] = {}
    for recipient in recipients:
        written = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        if not isinstance(written, str):
            raise FeedbackError(f"{key}: a recipient without emailAddress")
        # SES writes the address as the mail named it, which may be `Name <address>`.
        address = parseaddr(written)[1].lower()
        if "@" not in address:
            raise FeedbackError(f"{key}: emailAddress is not an address")
        found[address] = None
    return tuple(found)


def _message_id(data: dict[str, Any]) -> str:
    """``mail.messageId``: the id SendRawEmail answered with. Not required: without it the
    feedback still suppresses, only its comment cannot be told."""
    mail = data.get("mail")
    value = mail.get("messageId") if isinstance(mail, dict) else None
    return value if isinstance(value, str) and _MESSAGE_ID.fullmatch(value) else ""


def _member(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise FeedbackError(f"{key} object is missing")
    return value


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _word(value: object) -> str:
    """A type name from the notification, or "?" for anything that is not a short word."""
    return value if isinstance(value, str) and _WORD.fullmatch(value) else "?"
