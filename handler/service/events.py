"""Lambda events -> the stored mails they point at.

Two event shapes reach us (see tests/events/): the SES receipt-rule Lambda action, which carries
SES's verdicts but not the mail (SES's S3 action stored it first, under ``<prefix><messageId>``),
and the S3 ObjectCreated notification, which names the object but carries no verdicts (the stored
mail's own SES header block has them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from handler.inbound.received import event_time
from handler.reasons import Reason, TicketRouterError

# SES writes this object when a receipt rule with an S3 action is created, to test its access.
SES_SETUP_OBJECT = "AMAZON_SES_SETUP_NOTIFICATION"


@dataclass(frozen=True)
class MailRef:
    bucket: str
    key: str
    message_id: str | None = None
    # The "aws:ses" record, when SES invoked us directly: its verdicts are authoritative.
    ses_record: Mapping[str, Any] | None = None
    # When SES received the mail (epoch seconds), if the event says.
    received_at: float | None = None


@dataclass(frozen=True)
class Skipped:
    reason: Reason
    detail: str


class EventError(TicketRouterError):
    """An event this function was not built for; retrying it cannot help."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.UNSUPPORTED_EVENT, detail)


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


def _from_s3(record: Mapping[str, Any], number: int) -> MailRef | Skipped:
    s3 = _mapping(record, "s3")
    bucket, raw_key = _mapping(s3, "bucket").get("name"), _mapping(s3, "object").get("key")
    if not isinstance(bucket, str) or not isinstance(raw_key, str) or not bucket or not raw_key:
        raise EventError(f"S3 record {number} has no bucket name or object key")
    # S3 notifications URL-encode keys, with "+" for spaces.
    key = unquote_plus(raw_key)
    if key.rsplit("/", 1)[-1] == SES_SETUP_OBJECT:
        return Skipped(
            Reason.SES_SETUP_NOTIFICATION, f"s3://{bucket}/{key} is SES's setup test object"
        )
    return MailRef(bucket=bucket, key=key, received_at=event_time(record.get("eventTime")))


def _mapping(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}
