"""Replay: stored mails again, by S3 key or from the failure queue, judged as the Lambda judges.

A replayed mail goes through the Lambda's own per-mail step (handler.service.inbound), so it is
decided, posted and claimed exactly as on its first delivery; its claim, or its marker on the
issue, makes a mail that was posted after all come back ``already-posted`` instead of twice.

The failure queue holds Lambda's on-failure destination records (the original SES or S3 event
under ``requestPayload``; see tests/events/lambdaDestinationFailure.json) or, from a classic
dead-letter queue, the bare event. A message is deleted only once every mail it names got a
final decision; one whose replay failed again, or whose mail could not be read, stays.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import StoreError
from handler.inbound.plan import Decision, plan
from handler.routing import Routes
from handler.service.events import EventError, MailRef, Skipped, mail_refs
from handler.service.inbound import Fetcher, Runtime, process_mail

# Decides one stored mail: a decision per recipient.
Process = Callable[[MailRef], Sequence[Decision]]

# Time one mail may take (GitHub retries, rate-limit waits). It is also how long the mail's claim
# stays "in progress" should this process die while posting, before another run may take it.
MAIL_BUDGET_SECONDS = 300.0
# The mail could not be read (or the message named none): nothing was decided about it. A wrong
# --bucket or --prefix looks exactly like a mail gone from S3, so its message is kept.
UNREAD = frozenset({"mail-not-found", "mail-unreadable", "mail-too-large", "unsupported-event"})
# SQS's largest batch.
_BATCH = 10
# When the mail arrived is unknown for a key named by hand. The epoch makes the GitHub client
# search the whole history for an earlier copy: a replayed mail may be weeks old, and an
# object restored from an older version carries a new modification time.
_UNKNOWN = 0.0


@dataclass(frozen=True)
class Outcome:
    """The decisions for one mail; ``source`` names it (S3 key, or ``dlq:<id>/<key>``)."""

    source: str
    decisions: tuple[Decision, ...]


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str


@dataclass(frozen=True)
class MessageReplay:
    """One failure-queue message replayed: its mails' outcomes and what became of the message."""

    message_id: str
    outcomes: tuple[Outcome, ...]
    fate: Literal["deleted", "kept"]
    why: str


class QueueError(Exception):
    """The failure queue cannot be read."""


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
        return MailRef(bucket=named_bucket, key=key, received_at=_UNKNOWN)
    if not spec.strip() or spec.endswith("/"):
        raise ValueError(f"{spec!r} names no stored mail")
    if not bucket:
        raise ValueError(
            f"no bucket for {spec!r}: give --bucket, set MAIL_BUCKET, or write s3://BUCKET/KEY"
        )
    if "/" in spec:
        return MailRef(bucket=bucket, key=spec, received_at=_UNKNOWN)
    return MailRef(bucket=bucket, key=f"{prefix}{spec}", message_id=spec, received_at=_UNKNOWN)


def queued_event(body: str) -> Mapping[str, Any]:
    """The Lambda event inside a failure-queue message (an on-failure record, or a bare event).

    Raises EventError when the body is neither.
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


def planning(routes: Routes, store: Fetcher) -> Process:
    """Decide only (``--dry-run``): read and judge each mail, post nothing, claim nothing."""

    def process(ref: MailRef) -> Sequence[Decision]:
        try:
            raw = store.fetch(ref.bucket, ref.key)
        except StoreError as error:
            return (Decision("", "reject", error.reason, error.detail, retryable=error.transient),)
        return plan(raw, routes, ses_record=ref.ses_record).decisions

    return process


def posting(
    runtime: Runtime,
    *,
    budget: float = MAIL_BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Process:
    """Decide and post each mail exactly as the Lambda does, each within ``budget`` seconds."""

    def process(ref: MailRef) -> Sequence[Decision]:
        deadline = clock() + budget
        # The Lambda's own per-mail step, so that a replay cannot drift from it.
        return process_mail(ref, runtime, lambda: deadline - clock())

    return process


def replay_keys(refs: Sequence[MailRef], process: Process) -> Iterator[Outcome]:
    for ref in refs:
        yield Outcome(ref.key, tuple(process(ref)))


class FailureQueue:
    """The SQS queue that failed invocations end up in."""

    def __init__(
        self,
        sqs_client: Any,  # noqa: ANN401 - an untyped boto3 SQS client
        url: str,
        *,
        visibility_timeout: int = 900,
        wait_seconds: int = 1,
    ) -> None:
        self._sqs = sqs_client
        self._url = url
        # Long enough for a batch to be replayed before its messages show again, so that one run
        # reads each message once and stops when the rest of the queue is empty.
        self._visibility = visibility_timeout
        # Long polling asks every SQS server: an empty answer means an empty queue.
        self._wait = wait_seconds

    def receive(self, limit: int) -> list[QueueMessage]:
        try:
            response = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=max(1, min(_BATCH, limit)),
                VisibilityTimeout=self._visibility,
                WaitTimeSeconds=self._wait,
            )
        except (ClientError, BotoCoreError) as error:
            raise QueueError(f"cannot read {self._url}: {_describe(error)}") from None
        return [
            QueueMessage(str(m["MessageId"]), str(m["ReceiptHandle"]), str(m.get("Body", "")))
            for m in response.get("Messages", [])
        ]

    def delete(self, message: QueueMessage) -> str | None:
        """Delete ``message``; the reason it could not be, or None."""
        try:
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message.receipt_handle)
        except (ClientError, BotoCoreError) as error:
            return _describe(error)
        return None

    def release(self, message: QueueMessage) -> None:
        """Make a kept message visible again at once, for the next run."""
        try:
            self._sqs.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
            )
        except (ClientError, BotoCoreError):
            # Harmless: the message shows again when its visibility timeout ends.
            return


def replay_queue(
    queue: FailureQueue,
    process: Process,
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
            batch = queue.receive(_BATCH if limit is None else limit - read)
            # A kept message shows again if a batch outlasted its visibility timeout: it was
            # replayed once in this run, and a queue with nothing new in it is done.
            fresh = [message for message in batch if message.message_id not in seen]
            kept.extend(message for message in batch if message.message_id in seen)
            if not fresh:
                return
            for message in fresh:
                seen.add(message.message_id)
                read += 1
                outcomes = _replay_message(message, process, bucket=bucket, prefix=prefix)
                fate, why = _settle(queue, message, outcomes, delete=delete)
                if fate == "kept":
                    kept.append(message)
                yield MessageReplay(message.message_id, outcomes, fate, why)
    finally:
        for message in kept:
            queue.release(message)


def _replay_message(
    message: QueueMessage, process: Process, *, bucket: str, prefix: str
) -> tuple[Outcome, ...]:
    label = f"dlq:{message.message_id}"
    try:
        refs = mail_refs(queued_event(message.body), bucket=bucket, prefix=prefix)
    except EventError as error:
        return (Outcome(label, (Decision("", "reject", "unsupported-event", str(error)),)),)
    outcomes = []
    for ref in refs:
        if isinstance(ref, Skipped):
            outcomes.append(Outcome(label, (Decision("", "reject", ref.reason, ref.detail),)))
        else:
            outcomes.append(Outcome(f"{label}/{ref.key}", tuple(process(ref))))
    return tuple(outcomes)


def _settle(
    queue: FailureQueue, message: QueueMessage, outcomes: Sequence[Outcome], *, delete: bool
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


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__
