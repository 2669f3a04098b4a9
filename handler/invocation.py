"""One Lambda invocation: event -> stored mails -> decisions, logged one JSON line each.

A mail that is not posted for a permanent reason is logged and the invocation succeeds. A
transient failure (S3, GitHub or the claim store unavailable, rate limited, another invocation
posting the same mail) fails the invocation after every mail in it was tried, so that Lambda
retries it and, after its last retry, sends it to the dead-letter queue: the raw mail stays in
S3 either way, and the claims make the retry post only what is still missing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from handler.events import EventError, MailRef, Skipped, mail_refs
from handler.idempotency import Claims, NoClaims
from handler.pipeline import Commenter, Decision, deliver, plan
from handler.routes import Routes
from handler.store import StoreError

logger = logging.getLogger("ticket_router")

# A mail this young is on its first delivery (Lambda retries come a minute later at the soonest).
_FRESH_SECONDS = 30.0
# Slack between our clock and SES's or GitHub's.
_CLOCK_SKEW = 300.0
# How far back to look when the event does not say when the mail arrived.
_UNKNOWN_AGE = 86400.0


class Fetcher(Protocol):
    def fetch(self, bucket: str, key: str) -> bytes: ...


@dataclass(frozen=True)
class Runtime:
    """What an invocation needs from the outside, built once per container."""

    routes: Routes
    store: Fetcher
    # Builds the GitHub client only when there is something to post: a mail that is rejected
    # costs no Secrets Manager call. Takes the function's remaining-time callback.
    commenter: Callable[[Callable[[], float]], Commenter]
    bucket: str
    prefix: str
    # The claim store, given the remaining-time callback (a crashed holder's claim expires then).
    claims: Callable[[Callable[[], float]], Claims] = field(default=lambda _: NoClaims())
    clock: Callable[[], float] = time.time


class RetryLater(RuntimeError):
    """Raised so that Lambda retries the event; the message says what failed, never a secret."""


def handle_event(
    event: Mapping[str, Any], runtime: Runtime, remaining_time: Callable[[], float]
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    try:
        refs = mail_refs(event, bucket=runtime.bucket, prefix=runtime.prefix)
    except EventError as error:
        # Not ours to drop silently: failing sends the event to the dead-letter queue.
        _log({"action": "error", "reason": "unsupported-event", "detail": str(error)})
        raise
    for ref in refs:
        if isinstance(ref, Skipped):
            _log({"action": "skip", "reason": ref.reason, "detail": ref.detail})
            continue
        for decision in _process(ref, runtime, remaining_time):
            entry = _log_entry(ref, decision)
            _log(entry)
            results.append(entry)
            if decision.retryable:
                failures.append(f"{ref.key}: {decision.reason}")
    if failures:
        raise RetryLater("will be retried: " + "; ".join(failures))
    return {"decisions": results}


def _process(ref: MailRef, runtime: Runtime, remaining_time: Callable[[], float]) -> list[Decision]:
    try:
        raw = runtime.store.fetch(ref.bucket, ref.key)
    except StoreError as error:
        return [Decision("", "reject", error.reason, error.detail, retryable=error.transient)]
    planned = plan(raw, runtime.routes, ses_record=ref.ses_record).decisions
    if not any(decision.action == "comment" for decision in planned):
        return list(planned)
    try:
        commenter = runtime.commenter(remaining_time)
    except StoreError as error:
        return [
            Decision(
                d.recipient,
                "reject",
                error.reason,
                error.detail,
                d.repo,
                d.issue,
                retryable=error.transient,
                mail=d.mail,
            )
            if d.action == "comment"
            else d
            for d in planned
        ]
    claims = runtime.claims(remaining_time)
    return list(deliver(planned, commenter, claims=claims, since=_since(ref, runtime.clock())))


def _since(ref: MailRef, now: float) -> float | None:
    """None for a fresh mail; for a retry or a redelivery, when to look for an earlier copy from.

    A first delivery reaches us seconds after SES received the mail; anything older has been
    tried before, and GitHub may hold its comment although no claim records it.
    """
    received = ref.received_at if ref.received_at is not None else now - _UNKNOWN_AGE
    return None if now - received < _FRESH_SECONDS else received - _CLOCK_SKEW


def _log_entry(ref: MailRef, decision: Decision) -> dict[str, Any]:
    # Never the body: logs are read by more people than the issue tracker.
    entry = decision.to_dict()
    del entry["body"]
    return {"s3_key": ref.key, "ses_message_id": ref.message_id, **entry}


def _log(entry: Mapping[str, Any]) -> None:
    logger.info(json.dumps(entry, ensure_ascii=False, sort_keys=True))
