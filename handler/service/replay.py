"""Replay: stored mails again, by S3 key or from a dead-letter queue (the mail queue's
notifications and S3 events; a directly invoked function's on-failure records and events),
through the Lambda's own Receiver, so a mail posted after all comes back ``already-posted``. A
queue message is deleted only once every mail it names got a final decision
(docs/architecture.md, "Replay")."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from handler.deadline import Deadline
from handler.inbound.plan import Decision
from handler.reasons import Reason
from handler.service.events import EventError, MailRef, Skipped, notification_refs
from handler.service.inbound import Receiver, internal_error

# Time one mail may take (GitHub retries, rate-limit waits). It is also how long the mail's claim
# stays "in progress" should this process die while posting, before another run may take it.
MAIL_BUDGET_SECONDS = 300.0
# The mail could not be read (or the message named none): nothing was decided about it. A wrong
# --bucket or --prefix looks exactly like a mail gone from S3, so its message is kept.
UNREAD = frozenset(
    {Reason.MAIL_NOT_FOUND, Reason.MAIL_UNREADABLE, Reason.MAIL_TOO_LARGE, Reason.UNSUPPORTED_EVENT}
)
# SQS's largest batch.
BATCH = 10
# When the mail arrived is unknown (a key named by hand, a file given to dispatch). The epoch
# makes the GitHub client search the whole history for an earlier copy: a replayed mail
# may be weeks old, and an object restored from an older version carries a new modification time.
# The sender's Date then orders their mails (handler.service.delivery.received_time).
ARRIVAL_UNKNOWN = 0.0


@dataclass(frozen=True)
class MailReplay:
    """The decisions for one mail; ``source`` names it (S3 key, or ``dlq:<id>/<key>``)."""

    source: str
    decisions: tuple[Decision, ...]


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str


class QueueError(Exception):
    """The dead-letter queue cannot be read."""


class FailureQueue(Protocol):
    """A dead-letter queue: the one failed invocations end up in, or the mail queue's
    (handler.aws.failure_queue)."""

    def receive(self, limit: int) -> list[QueueMessage]: ...

    def delete(self, message: QueueMessage) -> str | None:
        """Delete ``message``; the reason it could not be, or None."""
        ...

    def release(self, message: QueueMessage) -> None:
        """Make a kept message visible again at once, for the next run."""
        ...


@dataclass(frozen=True)
class MessageReplay:
    """One failure-queue message replayed: its mails' outcomes and what became of the message."""

    message_id: str
    outcomes: tuple[MailReplay, ...]
    fate: Literal["deleted", "kept"]
    why: str


def needs_attention(decision: Decision) -> bool:
    """True when the mail is not done with: a retry may succeed, or it was never read."""
    return decision.retryable or decision.reason in UNREAD


def key_ref(spec: str, *, bucket: str, prefix: str) -> MailRef:
    """The stored mail ``spec`` names: ``s3://BUCKET/KEY``, a key, or a bare SES message id.

    A spec without "/" is a message id, stored by SES under ``prefix``; anything else is a key in
    ``bucket``. Raises ValueError for a spec that names no object.
    """
    if spec.startswith("s3://"):
        named_bucket, _, key = spec.removeprefix("s3://").partition("/")
        if not named_bucket or not key or key.endswith("/"):
            raise ValueError(f"{spec!r} is not s3://BUCKET/KEY")
        return MailRef(bucket=named_bucket, key=key, received_at=ARRIVAL_UNKNOWN)
    if not spec.strip() or spec.endswith("/"):
        raise ValueError(f"{spec!r} names no stored mail")
    if not bucket:
        raise ValueError(
            f"no bucket for {spec!r}: give --bucket, set MAIL_BUCKET, or write s3://BUCKET/KEY"
        )
    if "/" in spec:
        return MailRef(bucket=bucket, key=spec, received_at=ARRIVAL_UNKNOWN)
    return MailRef(
        bucket=bucket, key=f"{prefix}{spec}", message_id=spec, received_at=ARRIVAL_UNKNOWN
    )


def queued_event(body: str) -> Mapping[str, Any]:
    """What a dead-lettered message holds: the event of an on-failure record, else the body
    itself (a bare event; the mail queue's SNS envelope, SES notification or S3 event).

    Raises EventError when the body is not a JSON object.
    """
    try:
        record = json.loads(body)
    except ValueError:
        raise EventError("the message body is not JSON") from None
    if not isinstance(record, dict):
        raise EventError("the message body is not a JSON object")
    if "requestPayload" not in record:
        return record
    payload = record["requestPayload"]
    if not isinstance(payload, dict):
        raise EventError("the on-failure record's requestPayload is not an event")
    return payload


def replay_keys(
    refs: Sequence[MailRef],
    receiver: Receiver,
    *,
    recipients: Sequence[str] = (),
    budget: float = MAIL_BUDGET_SECONDS,
) -> Iterator[MailReplay]:
    """Each stored mail received again, each within ``budget`` seconds; ``recipients``, when
    given, instead of those SES wrote into the mail."""
    for ref in refs:
        decisions = receiver.receive(ref, Deadline.within(budget), recipients=recipients)
        yield MailReplay(ref.key, decisions)


def replay_queue(
    queue: FailureQueue,
    receiver: Receiver,
    *,
    bucket: str,
    prefix: str,
    delete: bool,
    limit: int | None = None,
) -> Iterator[MessageReplay]:
    """Replay up to ``limit`` messages (all when None); with ``delete``, drop the settled ones.

    Kept messages are made visible again when the replay ends, so the queue holds what it held,
    less what was deleted.
    """
    read = 0
    kept: list[QueueMessage] = []
    seen: set[str] = set()
    try:
        while limit is None or read < limit:
            batch = queue.receive(BATCH if limit is None else limit - read)
            # A kept message shows again if a batch outlasted its visibility timeout: it was
            # replayed once in this run, and a queue with nothing new in it is done.
            fresh = [message for message in batch if message.message_id not in seen]
            kept.extend(message for message in batch if message.message_id in seen)
            if not fresh:
                return
            for message in fresh:
                seen.add(message.message_id)
                read += 1
                outcomes = _replay_message(message, receiver, bucket=bucket, prefix=prefix)
                fate, why = _settle(queue, message, outcomes, delete=delete)
                if fate == "kept":
                    kept.append(message)
                yield MessageReplay(message.message_id, outcomes, fate, why)
    finally:
        for message in kept:
            queue.release(message)


def _replay_message(
    message: QueueMessage, receiver: Receiver, *, bucket: str, prefix: str
) -> tuple[MailReplay, ...]:
    label = f"dlq:{message.message_id}"
    try:
        refs = notification_refs(queued_event(message.body), bucket=bucket, prefix=prefix)
    except EventError as error:
        return (MailReplay(label, (Decision("", "reject", error.reason, error.detail),)),)
    # A message shaped like no event we know of must not stop the replay of the others; it is
    # kept in the queue, and the log has the error.
    except Exception as error:  # noqa: BLE001
        decision = internal_error(error, {"dlq_message_id": message.message_id})
        return (MailReplay(label, (decision,)),)
    outcomes = []
    for ref in refs:
        if isinstance(ref, Skipped):
            outcomes.append(MailReplay(label, (Decision("", "reject", ref.reason, ref.detail),)))
        else:
            deadline = Deadline.within(MAIL_BUDGET_SECONDS)
            outcomes.append(MailReplay(f"{label}/{ref.key}", receiver.receive(ref, deadline)))
    return tuple(outcomes)


def _settle(
    queue: FailureQueue, message: QueueMessage, outcomes: Sequence[MailReplay], *, delete: bool
) -> tuple[Literal["deleted", "kept"], str]:
    pending = [d for o in outcomes for d in o.decisions if needs_attention(d)]
    if pending:
        return "kept", "not done: " + ", ".join(sorted({d.reason for d in pending}))
    if not delete:
        return "kept", "done (give --delete to remove it)"
    error = queue.delete(message)
    if error is not None:
        return "kept", f"done, but it could not be deleted: {error}"
    return "deleted", "done"
