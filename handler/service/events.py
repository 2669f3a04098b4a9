"""Lambda events -> the stored mails they point at.

Three paths bring a mail (docs/inbound.md#events; samples in tests/events/):

- the mail queue (SQS), whose messages hold SES's notification of its S3 action, in SNS's
  envelope or raw, or an S3 event notification: the notification carries SES's verdicts and
  names the stored object;
- the SES receipt-rule Lambda action, which carries SES's verdicts but not the mail (SES's S3
  action stored it first, under ``<prefix><messageId>``);
- the S3 ObjectCreated notification, which names the object but carries no verdicts (the stored
  mail's own SES header block has them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote_plus

from handler.inbound.received import event_time
from handler.reasons import Reason, TicketRouterError

# SES writes this object when a receipt rule with an S3 action is created, to test its access,
# and names it as the messageId of the notification it sends about it.
SES_SETUP_OBJECT = "AMAZON_SES_SETUP_NOTIFICATION"
# What SNS sends a subscribed queue besides notifications.
_SNS_CONFIRMATIONS = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})


@dataclass(frozen=True)
class MailRef:
    bucket: str
    key: str
    message_id: str | None = None
    # The "aws:ses" record, when SES invoked us directly or notified the queue: its verdicts are
    # authoritative.
    ses_record: Mapping[str, Any] | None = None
    # When SES received the mail (epoch seconds), if the event says.
    received_at: float | None = None


@dataclass(frozen=True)
class Skipped:
    reason: Reason
    detail: str


class EventError(TicketRouterError):
    """An event (or queue message) this function was not built for; retrying cannot help."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.UNSUPPORTED_EVENT, detail)


@dataclass(frozen=True)
class QueuedMessage:
    """One message of an SQS batch from the mail queue, and what its body names."""

    # "" when the record has none: reporting it failed then fails the whole batch.
    message_id: str
    receipt_handle: str
    # The queue's ARN (eventSourceARN), where the message's visibility is changed.
    queue_arn: str
    # SQS's ApproximateReceiveCount: 1 on the first delivery.
    receive_count: int
    refs: tuple[MailRef | Skipped, ...] = ()
    # Why the body names nothing that can be read.
    error: EventError | None = None


def mail_refs(event: Mapping[str, Any], *, bucket: str, prefix: str) -> list[MailRef | Skipped]:
    """The mails named by ``event``; ``bucket``/``prefix`` locate SES-event mails in S3."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not records:
        raise EventError("the event has no Records: not an SES or S3 notification")
    refs: list[MailRef | Skipped] = []
    for number, record in enumerate(records):
        source = record.get("eventSource") if isinstance(record, Mapping) else None
        if source == "aws:ses":
            refs.append(_from_ses(record, number, bucket=bucket, prefix=prefix))
        elif source == "aws:s3":
            refs.append(_from_s3(record, number))
        else:
            raise EventError(
                f"record {number} has eventSource {source!r}; expected aws:ses or aws:s3"
            )
    return refs


def queued_messages(
    event: Mapping[str, Any], *, bucket: str, prefix: str
) -> list[QueuedMessage] | None:
    """The messages of ``event`` when it is an SQS batch (its records come from "aws:sqs"),
    each with the mails its body names or why it names none; None for any other event."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not records:
        return None
    first = records[0]
    if not isinstance(first, Mapping) or first.get("eventSource") != "aws:sqs":
        return None
    return [_queued(record, bucket=bucket, prefix=prefix) for record in records]


def notification_refs(
    document: Mapping[str, Any], *, bucket: str, prefix: str
) -> list[MailRef | Skipped]:
    """The mails one notification names: SES's "Received" notification of its S3 action, an S3
    event (or any event ``mail_refs`` takes), either in SNS's envelope or bare."""
    kind = document.get("Type")
    if isinstance(kind, str) and kind in _SNS_CONFIRMATIONS:
        topic = document.get("TopicArn")
        return [Skipped(Reason.SNS_CONFIRMATION, f"SNS's {kind} for the topic {topic}")]
    if kind == "Notification":
        message = document.get("Message")
        if not isinstance(message, str):
            raise EventError("the SNS notification has no Message")
        document = _json_object(message, "the SNS notification's Message")
    elif kind is not None:
        raise EventError(f"an SNS message of Type {kind!r}, not a Notification")
    if "Records" in document:
        return mail_refs(document, bucket=bucket, prefix=prefix)
    if "notificationType" in document:
        return [_from_ses_notification(document)]
    if document.get("Event") == "s3:TestEvent":
        bucket_name = _text(document.get("Bucket"))
        return [Skipped(Reason.S3_TEST_EVENT, f"S3's test event for the bucket {bucket_name}")]
    raise EventError("neither an SES notification nor an S3 event, bare or in SNS's envelope")


def _queued(record: object, *, bucket: str, prefix: str) -> QueuedMessage:
    fields = record if isinstance(record, Mapping) else {}
    message = QueuedMessage(
        message_id=_text(fields.get("messageId")),
        receipt_handle=_text(fields.get("receiptHandle")),
        queue_arn=_text(fields.get("eventSourceARN")),
        receive_count=_receive_count(fields.get("attributes")),
    )
    try:
        if fields.get("eventSource") != "aws:sqs":
            raise EventError(f"an SQS batch holds a record from {fields.get('eventSource')!r}")
        body = fields.get("body")
        if not isinstance(body, str):
            raise EventError("the SQS message has no body")
        document = _json_object(body, "the SQS message's body")
        refs = notification_refs(document, bucket=bucket, prefix=prefix)
    except EventError as error:
        return replace(message, error=error)
    return replace(message, refs=tuple(refs))


def _from_ses(record: Mapping[str, Any], number: int, *, bucket: str, prefix: str) -> MailRef:
    ses = record.get("ses")
    mail = ses.get("mail") if isinstance(ses, Mapping) else None
    message_id = mail.get("messageId") if isinstance(mail, Mapping) else None
    if not isinstance(message_id, str) or not message_id or "/" in message_id:
        raise EventError(f"SES record {number} has no usable mail.messageId")
    if not bucket:
        raise EventError("an SES event arrived but MAIL_BUCKET is not configured")
    return MailRef(
        bucket=bucket,
        key=f"{prefix}{message_id}",
        message_id=message_id,
        ses_record=record,
        received_at=event_time(mail.get("timestamp") if isinstance(mail, Mapping) else None),
    )


def _from_ses_notification(notification: Mapping[str, Any]) -> MailRef | Skipped:
    """SES's notification of a received mail: its S3 action names the stored object.

    https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html
    """
    kind = notification.get("notificationType")
    if kind != "Received":
        raise EventError(f"an SES notification of type {kind!r}, not Received")
    mail, receipt = _mapping(notification, "mail"), _mapping(notification, "receipt")
    message_id = mail.get("messageId")
    if message_id == SES_SETUP_OBJECT:
        return Skipped(Reason.SES_SETUP_NOTIFICATION, "SES's notification of its setup test")
    action = _mapping(receipt, "action")
    action_type = action.get("type")
    if action_type != "S3":
        return Skipped(
            Reason.NOT_AN_S3_ACTION,
            f"SES's notification of its {action_type!r} action for {message_id!r}: no stored mail",
        )
    bucket, key = action.get("bucketName"), action.get("objectKey")
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        raise EventError("SES's S3-action notification has no bucketName or objectKey")
    if key.rsplit("/", 1)[-1] == SES_SETUP_OBJECT:
        return _setup_object(bucket, key)
    # The notification holds what the SES Lambda action's record does: the same verdicts.
    record = {"eventSource": "aws:ses", "ses": {"mail": mail, "receipt": receipt}}
    return MailRef(
        bucket=bucket,
        key=key,
        message_id=message_id if isinstance(message_id, str) and message_id else None,
        ses_record=record,
        received_at=event_time(mail.get("timestamp")),
    )


def _from_s3(record: Mapping[str, Any], number: int) -> MailRef | Skipped:
    s3 = _mapping(record, "s3")
    bucket, raw_key = _mapping(s3, "bucket").get("name"), _mapping(s3, "object").get("key")
    if not isinstance(bucket, str) or not isinstance(raw_key, str) or not bucket or not raw_key:
        raise EventError(f"S3 record {number} has no bucket name or object key")
    # S3 notifications URL-encode keys, with "+" for spaces.
    key = unquote_plus(raw_key)
    if key.rsplit("/", 1)[-1] == SES_SETUP_OBJECT:
        return _setup_object(bucket, key)
    return MailRef(bucket=bucket, key=key, received_at=event_time(record.get("eventTime")))


def _setup_object(bucket: str, key: str) -> Skipped:
    return Skipped(Reason.SES_SETUP_NOTIFICATION, f"s3://{bucket}/{key} is SES's setup test object")


def _json_object(text: str, what: str) -> Mapping[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise EventError(f"{what} is not JSON") from None
    # Nested too deep for the parser: not anything AWS writes.
    except RecursionError:
        raise EventError(f"{what} is nested too deep") from None
    if not isinstance(document, dict):
        raise EventError(f"{what} is not a JSON object")
    return document


def _receive_count(attributes: object) -> int:
    count = attributes.get("ApproximateReceiveCount") if isinstance(attributes, Mapping) else None
    if not isinstance(count, str) or not count.isascii() or not count.isdigit():
        return 1
    return max(1, int(count))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _mapping(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}
