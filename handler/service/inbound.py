"""One Lambda invocation: event -> stored mails -> decisions, each logged and counted.

A mail that is not posted for a permanent reason is logged and the invocation succeeds. A
transient failure (S3, GitHub or the claim store unavailable, rate limited, another invocation
posting the same mail) fails the invocation after every mail in it was tried, so that Lambda
retries it and, after its last retry, sends it to the dead-letter queue: the raw mail stays in
S3 either way, and the claims make the retry post only what is still missing.

Every recipient decision is one record of the ``ticket_router`` logger, its fields passed as
``extra`` so that a JSON formatter (Powertools', in Lambda) writes them as top-level keys: the
mail (S3 key, SES message id, identity), the recipient and its route, the outcome (action,
reason, detail, repo, issue, comment URL, retryable), how long the mail took and how old it was.
Never the mail's body and never the token: logs are read by more people than the issue
tracker. Transient failures are warnings, an unsupported event an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from handler.aws.store import StoreError
from handler.deadline import Deadline
from handler.inbound.plan import (
    Commenter,
    Decision,
    Plan,
    deliver,
    plan,
    received_time,
    route_of,
    update_participants,
)
from handler.inbound.threads import NoThreads, Threads
from handler.outbound.notices import Notifier, notice_for
from handler.outbound.participants import NoParticipants, Participants
from handler.routing import Route, Routes
from handler.service.claims import Claims, NoClaims
from handler.service.events import EventError, MailRef, Skipped, mail_refs
from handler.service.metrics import RETRY, Metrics, NoMetrics, measure

logger = logging.getLogger("ticket_router")
# Silent unless whoever runs us configures logging (the Lambda entry point does; the CLI prints
# its own output): without a handler, Python would print warnings as bare messages on stderr.
logger.addHandler(logging.NullHandler())

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
    # Builds a route's GitHub client (its credential, its API) only when there is something to
    # post: a mail that is rejected costs no Secrets Manager call. Takes the route and the
    # invocation's deadline.
    commenter: Callable[[Route, Deadline], Commenter]
    bucket: str
    prefix: str
    # The claim store, given the remaining-time callback (a crashed holder's claim expires then).
    claims: Callable[[Callable[[], float]], Claims] = field(default=lambda _: NoClaims())
    clock: Callable[[], float] = time.time
    # Where the invocation's counts go: CloudWatch in Lambda, nowhere by default.
    metrics: Metrics = field(default_factory=NoMetrics)
    # Times each mail; monotonic, since the wall clock may jump.
    timer: Callable[[], float] = time.perf_counter
    # Tells senders about their mail when a route asks for it; None (the CLI) tells nobody.
    notifier: Notifier | None = None
    # Which issue a reply to a mail that opened one belongs to (handler.inbound.threads).
    threads: Threads = field(default_factory=NoThreads)
    # Who wrote to an issue by mail, for the routes that mail them GitHub's replies.
    participants: Participants = field(default_factory=NoParticipants)


class RetryLater(RuntimeError):
    """Raised so that Lambda retries the event; the message says what failed, never a secret."""


def handle_event(
    event: Mapping[str, Any], runtime: Runtime, remaining_time: Callable[[], float]
) -> dict[str, Any]:
    try:
        return _handle(event, runtime, remaining_time)
    finally:
        # Also when the invocation fails for a retry: those are the counts an alarm watches.
        runtime.metrics.flush()


def _handle(
    event: Mapping[str, Any], runtime: Runtime, remaining_time: Callable[[], float]
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    try:
        refs = mail_refs(event, bucket=runtime.bucket, prefix=runtime.prefix)
    except EventError as error:
        # Not ours to drop silently: failing sends the event to the dead-letter queue.
        _log(logging.ERROR, "unsupported event", _outcome("error", "unsupported-event", str(error)))
        raise
    for ref in refs:
        if isinstance(ref, Skipped):
            _log(logging.INFO, "skipped", _outcome("skip", ref.reason, ref.detail))
            continue
        started = runtime.timer()
        decisions = process_mail(ref, runtime, remaining_time)
        latency_ms = round((runtime.timer() - started) * 1000, 1)
        runtime.metrics.record(measure(decisions, latency_ms))
        for decision in decisions:
            result = _result(ref, decision)
            results.append(result)
            fields = _log_fields(ref, decision, runtime, latency_ms)
            _log(logging.WARNING if decision.retryable else logging.INFO, "decision", fields)
            if decision.retryable:
                failures.append(f"{ref.key}: {decision.reason}")
    if failures:
        runtime.metrics.record([RETRY])
        raise RetryLater("will be retried: " + "; ".join(failures))
    return {"decisions": results}


def process_mail(
    ref: MailRef, runtime: Runtime, remaining_time: Callable[[], float]
) -> list[Decision]:
    try:
        raw = runtime.store.fetch(ref.bucket, ref.key)
    except StoreError as error:
        return [Decision("", "reject", error.reason, error.detail, retryable=error.transient)]
    planned = plan(raw, runtime.routes, ses_record=ref.ses_record)
    posted = _post(planned.decisions, ref, runtime, remaining_time)
    received = received_time(ref.received_at, planned.message, runtime.clock())
    decisions = list(
        update_participants(
            planned, posted, runtime.routes, runtime.participants, received_at=received
        )
    )
    if runtime.notifier is not None:
        _notify(planned, ref, decisions, runtime.routes, runtime.notifier)
    return decisions


def _post(
    planned: tuple[Decision, ...],
    ref: MailRef,
    runtime: Runtime,
    remaining_time: Callable[[], float],
) -> list[Decision]:
    if not any(decision.action in {"comment", "open"} for decision in planned):
        return list(planned)
    done = deliver(
        planned,
        runtime.routes,
        lambda route: runtime.commenter(route, Deadline.within(remaining_time())),
        claims=runtime.claims(remaining_time),
        threads=runtime.threads,
        since=_since(ref, runtime.clock()),
    )
    return list(done)


def _notify(
    planned: Plan,
    ref: MailRef,
    decisions: list[Decision],
    routes: Routes,
    notifier: Notifier,
) -> None:
    """Send the notices the decisions deserve; whatever happens, the decisions stand."""
    for decision in decisions:
        route = route_of(routes, decision)
        notice = notice_for(
            decision, planned.message, planned.assessment, route, own_domains=routes.domains
        )
        if notice is None:
            continue
        try:
            outcome = notifier.send(notice)
        # A notice is a courtesy: no failure of it may fail the invocation and repost the mail.
        except Exception as error:  # noqa: BLE001
            outcome = f"failed ({type(error).__name__})"
        fields = {
            "s3_key": ref.key,
            "ses_message_id": ref.message_id,
            "mail": decision.mail,
            "recipient": decision.recipient,
            "notice_reason": notice.reason,
            "notice": outcome,
        }
        _log(logging.WARNING if outcome.startswith("failed") else logging.INFO, "notice", fields)


def _since(ref: MailRef, now: float) -> float | None:
    """None for a fresh mail; for a retry or a redelivery, when to look for an earlier copy from.

    A first delivery reaches us seconds after SES received the mail; anything older has been
    tried before, and GitHub may hold its comment although no claim records it.
    """
    received = ref.received_at if ref.received_at is not None else now - _UNKNOWN_AGE
    return None if now - received < _FRESH_SECONDS else received - _CLOCK_SKEW


def _result(ref: MailRef, decision: Decision) -> dict[str, Any]:
    # Never the mail's words: the result travels on (Lambda destinations, the replay command's
    # output).
    entry = decision.to_dict()
    for words in ("body", "title", "message_id", "thread"):
        del entry[words]
    return {"s3_key": ref.key, "ses_message_id": ref.message_id, **entry}


def _log_fields(
    ref: MailRef, decision: Decision, runtime: Runtime, latency_ms: float
) -> dict[str, Any]:
    """One decision's log fields, the same keys every time (Powertools leaves out the None)."""
    route = route_of(runtime.routes, decision)
    age = None if ref.received_at is None else round(runtime.clock() - ref.received_at, 1)
    return {
        "s3_bucket": ref.bucket,
        "s3_key": ref.key,
        "ses_message_id": ref.message_id,
        # The mail's identity: the key of its claims and the marker in its comment.
        "mail": decision.mail,
        "recipient": decision.recipient or None,
        "route": route.label if route is not None else None,
        "route_name": route.name if route is not None else None,
        **_outcome(decision.action, decision.reason, decision.detail),
        "repo": decision.repo,
        "issue": decision.issue,
        "url": decision.url,
        "retryable": decision.retryable,
        "latency_ms": latency_ms,
        # A first delivery is seconds old; Lambda's retries come a minute or more later.
        "mail_age_s": age,
    }


def _outcome(action: str, reason: str, detail: str) -> dict[str, Any]:
    return {"action": action, "reason": reason, "detail": detail}


def _log(level: int, message: str, fields: Mapping[str, Any]) -> None:
    logger.log(level, message, extra=dict(fields))
