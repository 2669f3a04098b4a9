"""The inbound path: a stored mail, from the event that names it to GitHub, in named steps.

``Receiver.receive`` is the one place the steps run; the Lambda (``handle_event``), the CLI's
``dispatch`` and ``replay`` all call it, and ``--dry-run`` is its mode that stops after the plan.
A mail that must wait (GitHub down, rate limited, the object missing) waits in the mail queue:
``handle_event`` hands its message back, out of sight for a while (docs/inbound.md#events).
"""

from __future__ import annotations

import logging
import math
import random
import secrets
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from handler.attachments.model import Deployment
from handler.attachments.stores import Stores
from handler.deadline import Deadline
from handler.inbound.plan import Decision, IssueDraft, Plan, plan, route_of
from handler.inbound.threads import NoThreads, Threads
from handler.outbound.notices import Notifier, notice_for
from handler.outbound.participants import Authors, NoAuthors, NoParticipants, Participants
from handler.reasons import Reason, RetryLater, TicketRouterError
from handler.routing import Route, Routes
from handler.service.claims import Claims, MemoryPostings, NoClaims, Postings
from handler.service.decision_log import (
    NO_FACTS,
    DecisionLog,
    DecisionLogError,
    MailFacts,
    Where,
    mail_facts,
    record_of,
)
from handler.service.delivery import (
    Commenter,
    deliver,
    received_time,
    record_authors,
    update_participants,
)
from handler.service.events import (
    EventError,
    MailRef,
    QueuedMessage,
    Skipped,
    mail_refs,
    queued_messages,
)
from handler.service.metrics import FAILED, RETRY, Measurement, Metrics, NoMetrics, measure

logger = logging.getLogger("ticket_router")
# Silent unless whoever runs us configures logging (the Lambda entry point does; the CLI prints
# its own output): without a handler, Python would print warnings as bare messages on stderr.
logger.addHandler(logging.NullHandler())

# A mail this young is taken for a first delivery and not searched for on GitHub, unless its
# posting record says that an earlier POST's outcome is unknown (handler.github.client).
_FRESH_SECONDS = 30.0
# Slack between our clock and SES's or GitHub's.
_CLOCK_SKEW = 300.0
# How far back to look when the event does not say when the mail arrived.
_UNKNOWN_AGE = 86400.0
# A failed mail-queue message is seen again after 1, 2, 4 ... 32 minutes, then hourly: with the
# queue's 30 receives, about a day before it is dead-lettered (docs/inbound.md#events).
FIRST_BACKOFF_SECONDS = 60
LONGEST_BACKOFF_SECONDS = 3600
# Up to this share is added to each wait, so that a burst that failed together comes back spread.
JITTER = 0.1
# SQS's longest visibility timeout, 12 hours.
MAX_VISIBILITY_SECONDS = 43200


class Fetcher(Protocol):
    def fetch(self, bucket: str, key: str) -> bytes:
        """The stored mail's bytes; a TicketRouterError says why they cannot be read."""
        ...


class Visibility(Protocol):
    def hide(self, queue_arn: str, receipt_handle: str, seconds: int) -> str | None:
        """Keep a received message of the queue ``queue_arn`` out of sight ``seconds`` from
        now; why that failed, or None."""
        ...


# A route's GitHub client (its credential, its API), made only when there is something to post:
# a rejected mail costs no Secrets Manager call.
GitHub = Callable[[Route, Deadline], Commenter]
# Where a route's files may be stored (its GitHub credential's repositories, the bucket).
FileStores = Callable[[Route, Deadline], Stores]


def _no_github(route: Route, deadline: Deadline) -> Commenter:
    raise RuntimeError("a dry run posts nothing")


@dataclass(frozen=True)
class Runtime:
    """What the inbound path needs from the outside, built once per container (or CLI run)."""

    routes: Routes
    store: Fetcher
    github: GitHub = _no_github
    claims: Claims = field(default_factory=NoClaims)
    # When the latest POST under each claim was sent: after one whose answer was lost, the next
    # attempt waits for a late-applied POST to show and searches for it first.
    postings: Postings = field(default_factory=MemoryPostings)
    # Which issue a reply to a mail that opened one belongs to (handler.inbound.threads).
    threads: Threads = field(default_factory=NoThreads)
    # Who wrote to an issue by mail, for the routes that mail them GitHub's replies.
    participants: Participants = field(default_factory=NoParticipants)
    # Who each mail posted on such a route came from, kept before it is posted: the outbox mails
    # the comment to every participant but them.
    authors: Authors = field(default_factory=NoAuthors)
    # Tells senders about their mail when a route asks for it; None tells nobody.
    notifier: Notifier | None = None
    # Where a linking route's files go; None lists them as not stored.
    stores: FileStores | None = None
    # What the plan must know of the deployment to say where a file goes.
    deployment: Deployment = field(default_factory=Deployment)
    # Where SES's S3 action stores mail, for events that name only the SES message id.
    bucket: str = ""
    prefix: str = ""
    # Where each decision is kept for `ticket-router why` and `decisions`; None keeps none.
    decision_log: DecisionLog | None = None
    # Where the invocation's counts go: CloudWatch in Lambda, nowhere by default.
    metrics: Metrics = field(default_factory=NoMetrics)
    # Sets how long a failed mail-queue message waits; None leaves it to the queue's own
    # visibility timeout.
    visibility: Visibility | None = None
    # A number in [0, 1) for each wait's jitter.
    jitter: Callable[[], float] = random.random
    # Look on GitHub for an earlier copy of a mail older than a first delivery, before posting
    # it. The Lambda with its table turns this off: the posting records say which claims ever
    # sent a POST, so mail that waited in the queue costs no search (an unknown outcome still
    # gets one). Replays keep it: whatever posted the mail before may have left no record.
    search_old_mail: bool = True
    clock: Callable[[], float] = time.time
    # Times each mail; monotonic, since the wall clock may jump.
    timer: Callable[[], float] = time.perf_counter


@dataclass(frozen=True)
class Received:
    """A mail's decisions, and what the decision log and the log lines keep of the mail."""

    decisions: tuple[Decision, ...]
    facts: MailFacts = NO_FACTS


class Receiver:
    """Receives one stored mail: fetch, plan, record who wrote it, claim and post, record the
    participants, notify, log the decisions."""

    def __init__(
        self, runtime: Runtime, *, dry_run: bool = False, assume_authenticated: bool = False
    ) -> None:
        if assume_authenticated and not dry_run:
            raise ValueError("authentication is assumed in a dry run only: nothing posts on it")
        self.runtime = runtime
        # Decide and render only: no GitHub, no claims, no records, no notices, no decision log.
        self.dry_run = dry_run
        # A mail without SES's block is judged as if SES had authenticated it (plan).
        self.assume_authenticated = assume_authenticated

    def receive(
        self,
        ref: MailRef,
        deadline: Deadline,
        *,
        raw: bytes | None = None,
        recipients: Sequence[str] = (),
    ) -> tuple[Decision, ...]:
        """Every recipient's decision about the mail ``ref`` names (or ``raw``, its bytes when
        the caller holds them); ``recipients`` overrides the envelope's (the CLI's).

        Never raises: whatever goes wrong unexpectedly becomes an ``internal-error`` decision,
        so that the other mails of an event, a dispatch or a replay still get theirs.
        """
        return self.receive_mail(ref, deadline, raw=raw, recipients=recipients).decisions

    def receive_mail(
        self,
        ref: MailRef,
        deadline: Deadline,
        *,
        raw: bytes | None = None,
        recipients: Sequence[str] = (),
    ) -> Received:
        """``receive``, with what is known of the mail's sender and Message-ID."""
        try:
            received = self._receive(ref, deadline, raw, recipients)
        # One mail must never cost the others their decisions; the traceback goes to the log.
        except Exception as error:  # noqa: BLE001
            where = {"s3_bucket": ref.bucket, "s3_key": ref.key, "ses_message_id": ref.message_id}
            received = Received((internal_error(error, where),))
        if not self.dry_run:
            self._log_decisions(received, ref)
        return received

    def _receive(
        self, ref: MailRef, deadline: Deadline, raw: bytes | None, recipients: Sequence[str]
    ) -> Received:
        try:
            mail = raw if raw is not None else self._fetch(ref)
        except TicketRouterError as error:
            failed = Decision("", "reject", error.reason, error.detail, retryable=error.transient)
            return Received((replace(failed, retry_after=error.retry_after),))
        planned = self._plan(mail, ref, recipients)
        if self.dry_run:
            return Received(planned.decisions, mail_facts(planned))
        authored = self._record_authors(planned)
        posted = self._claim_and_post(authored, ref, deadline)
        recorded = self._record(planned, posted, ref)
        self._notify(planned, recorded, ref)
        return Received(recorded, mail_facts(planned))

    def _fetch(self, ref: MailRef) -> bytes:
        return self.runtime.store.fetch(ref.bucket, ref.key)

    def _plan(self, raw: bytes, ref: MailRef, recipients: Sequence[str]) -> Plan:
        return plan(
            raw,
            self.runtime.routes,
            recipients=recipients,
            ses_record=ref.ses_record,
            assume_authenticated=self.assume_authenticated,
            deployment=self.runtime.deployment,
        )

    def _record_authors(self, planned: Plan) -> tuple[Decision, ...]:
        return record_authors(planned, self.runtime.routes, self.runtime.authors)

    def _claim_and_post(
        self, decisions: tuple[Decision, ...], ref: MailRef, deadline: Deadline
    ) -> tuple[Decision, ...]:
        github, stores = self.runtime.github, self.runtime.stores
        return deliver(
            decisions,
            self.runtime.routes,
            lambda route: github(route, deadline),
            claims=self.runtime.claims,
            postings=self.runtime.postings,
            threads=self.runtime.threads,
            stores=(lambda route: stores(route, deadline)) if stores is not None else None,
            since=_since(ref, self.runtime.clock()) if self.runtime.search_old_mail else None,
            deadline=deadline,
        )

    def _record(
        self, planned: Plan, decisions: tuple[Decision, ...], ref: MailRef
    ) -> tuple[Decision, ...]:
        received = received_time(ref.received_at, planned.message, self.runtime.clock())
        return update_participants(
            planned, decisions, self.runtime.routes, self.runtime.participants, received_at=received
        )

    def _notify(self, planned: Plan, decisions: Sequence[Decision], ref: MailRef) -> None:
        """Send the notices the decisions deserve; whatever happens, the decisions stand."""
        notifier = self.runtime.notifier
        if notifier is None:
            return
        for decision in decisions:
            notice = notice_for(decision, planned.message, planned.assessment, self.runtime.routes)
            if notice is None:
                continue
            try:
                outcome: str = notifier.send(notice)
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
            level = logging.WARNING if outcome.startswith("failed") else logging.INFO
            _log(level, "notice", fields)

    def _log_decisions(self, received: Received, ref: MailRef) -> None:
        """Keep each decision in the decision log; a failure to is logged, and the decisions
        stand (the log line of each decision still says what happened)."""
        log = self.runtime.decision_log
        if log is None:
            return
        routes = self.runtime.routes
        where = Where(ref.bucket, ref.key, ref.message_id)
        try:
            at = self.runtime.clock()
            records = [
                record_of(
                    decision,
                    route=_route_key(routes, decision),
                    facts=received.facts,
                    where=where,
                    at=at,
                    index=index,
                )
                for index, decision in enumerate(received.decisions)
            ]
            log.record(records)
        # The log is for operators: no failure of it may fail the invocation and repost the mail.
        except Exception as error:  # noqa: BLE001
            problem = error.detail if isinstance(error, DecisionLogError) else type(error).__name__
            fields = {"s3_key": ref.key, "ses_message_id": ref.message_id, "error": problem}
            _log(logging.WARNING, "decision log not written", fields)


def _route_key(routes: Routes, decision: Decision) -> str | None:
    """The name of the route ``decision`` went through (Route.key), None when it matched none."""
    route = route_of(routes, decision)
    return route.key if route is not None else None


def handle_event(event: Mapping[str, Any], runtime: Runtime, deadline: Deadline) -> dict[str, Any]:
    """One Lambda invocation: every mail the event names received, each decision logged and
    counted.

    An SQS batch from the mail queue never fails: the messages whose mails must be tried again
    (or that name nothing readable) come back as ``batchItemFailures``, each out of sight until
    its retry. Any other event (SES's Lambda action, S3's notification) raises RetryLater after
    every mail was tried, so that Lambda retries it (then dead-letters it). The raw mail stays
    in S3 either way.
    """
    try:
        receiver = Receiver(runtime)
        batch = queued_messages(event, bucket=runtime.bucket, prefix=runtime.prefix)
        if batch is not None:
            return _handle_batch(batch, receiver, deadline)
        return _handle(event, receiver, deadline)
    finally:
        # Also when the invocation fails for a retry: those are the counts an alarm watches.
        runtime.metrics.flush()


def _handle(event: Mapping[str, Any], receiver: Receiver, deadline: Deadline) -> dict[str, Any]:
    runtime = receiver.runtime
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    try:
        refs = mail_refs(event, bucket=runtime.bucket, prefix=runtime.prefix)
    except EventError as error:
        # Not ours to drop silently: failing sends the event to the dead-letter queue.
        _log(logging.ERROR, "unsupported event", _outcome("error", error.reason, error.detail))
        raise
    for ref in refs:
        for result in _receive(ref, receiver, deadline):
            results.append(result)
            if result["retryable"]:
                failures.append(f"{result['s3_key']}: {result['reason']}")
    if failures:
        runtime.metrics.record([RETRY])
        raise RetryLater("will be retried: " + "; ".join(failures))
    return {"decisions": results}


def _handle_batch(
    batch: Sequence[QueuedMessage], receiver: Receiver, deadline: Deadline
) -> dict[str, Any]:
    """Each message of the batch; the failed ones reported back, never an exception."""
    results: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    for message in batch:
        try:
            done = _handle_message(message, receiver, deadline, results)
        # A message that cannot be handled must not cost the others theirs, nor fail the batch.
        except Exception as error:  # noqa: BLE001
            where = _where(message)
            results.append({**_result(None, internal_error(error, where)), **where})
            done = False
        if not done:
            # An empty identifier makes Lambda deliver the whole batch again: nothing is lost.
            failed.append({"itemIdentifier": message.message_id})
    if failed:
        receiver.runtime.metrics.record([RETRY])
    return {"batchItemFailures": failed, "decisions": results}


def _handle_message(
    message: QueuedMessage, receiver: Receiver, deadline: Deadline, results: list[dict[str, Any]]
) -> bool:
    """Receive the mails ``message`` names, their results added to ``results``; False (the
    message out of sight until its retry) when one must be tried again or none could be read."""
    runtime = receiver.runtime
    error = message.error
    if error is not None:
        fields = {**_where(message), **_outcome("error", error.reason, error.detail)}
        _log(logging.ERROR, "unreadable message", fields)
        runtime.metrics.record([Measurement(FAILED, 1, reason=error.reason)])
        _retry_later(message, [error.reason], None, runtime)
        return False
    outcome = [r for ref in message.refs for r in _receive(ref, receiver, deadline, message)]
    results.extend(outcome)
    retryable = [result for result in outcome if result["retryable"]]
    if not retryable:
        return True
    waits = [r["retry_after"] for r in retryable if r["retry_after"] is not None]
    reasons = sorted({str(r["reason"]) for r in retryable})
    _retry_later(message, reasons, max(waits, default=None), runtime)
    return False


def _receive(
    ref: MailRef | Skipped,
    receiver: Receiver,
    deadline: Deadline,
    message: QueuedMessage | None = None,
) -> list[dict[str, Any]]:
    """The results of receiving the mail ``ref`` names (none when it is skipped), each logged
    and counted; ``message`` is the mail-queue message that named it."""
    runtime = receiver.runtime
    where = _where(message) if message is not None else {}
    if isinstance(ref, Skipped):
        _log(logging.INFO, "skipped", {**where, **_outcome("skip", ref.reason, ref.detail)})
        return []
    started = runtime.timer()
    received = receiver.receive_mail(ref, deadline)
    decisions = received.decisions
    latency_ms = round((runtime.timer() - started) * 1000, 1)
    runtime.metrics.record(measure(decisions, latency_ms, runtime.routes))
    results = []
    for decision in decisions:
        results.append({**_result(ref, decision), **where})
        fields = {**_log_fields(ref, decision, runtime, latency_ms, received.facts), **where}
        _log(logging.WARNING if decision.retryable else logging.INFO, "decision", fields)
    return results


def _retry_later(
    message: QueuedMessage, reasons: Sequence[str], retry_after: float | None, runtime: Runtime
) -> None:
    """Keep ``message`` out of sight until it is worth trying again; a failure to is logged
    and harmless (the queue's own visibility timeout then applies)."""
    seconds = retry_delay(message.receive_count, retry_after, runtime.jitter())
    problem = None
    if runtime.visibility is not None:
        problem = runtime.visibility.hide(message.queue_arn, message.receipt_handle, seconds)
    fields = {**_where(message), "reasons": list(reasons), "visibility_s": seconds}
    if problem is not None:
        _log(logging.WARNING, "visibility not changed", {**fields, "error": problem})
    else:
        _log(logging.INFO, "retry later", fields)


def retry_delay(receive_count: int, retry_after: float | None, jitter: float) -> int:
    """Seconds a failed mail-queue message stays out of sight: ``retry_after`` (the longest
    wait its decisions know of, a rate limit's window) if given, else the backoff after its
    ``receive_count``-th receive; plus up to 10 % (``jitter`` in [0, 1)); at most SQS's 12 h."""
    if retry_after is not None:
        base = max(1.0, retry_after)
    else:
        doublings = min(max(receive_count, 1) - 1, 16)
        base = min(FIRST_BACKOFF_SECONDS * 2**doublings, LONGEST_BACKOFF_SECONDS)
    return min(MAX_VISIBILITY_SECONDS, math.ceil(base * (1 + JITTER * jitter)))


def _where(message: QueuedMessage) -> dict[str, Any]:
    """Which mail-queue message: for its log lines and results."""
    return {"sqs_message_id": message.message_id, "receive_count": message.receive_count}


def internal_error(error: Exception, where: Mapping[str, Any]) -> Decision:
    """The decision for a mail whose handling raised ``error``, logged at ERROR with ``where``
    (which mail) and a fresh error id that the decision's detail repeats.

    The log line has the exception's type and frames but not its message, which may quote the
    mail. Transient: the mail is retried, then dead-lettered, and replay finds the mail.
    """
    error_id = secrets.token_hex(6)
    fields = {"error_id": error_id, "error": type(error).__name__, "traceback": _frames(error)}
    _log(logging.ERROR, "internal error", {**where, **fields})
    return Decision(
        "",
        "reject",
        Reason.INTERNAL_ERROR,
        f"unexpected {type(error).__name__} while handling the mail (error id {error_id})",
        retryable=True,
    )


def _frames(error: BaseException) -> str:
    """Where ``error`` and the exceptions it came from were raised: types and frames only."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return "\n".join(
        "".join(traceback.format_list(traceback.extract_tb(each.__traceback__)))
        + type(each).__qualname__
        for each in reversed(chain)
    )


def _since(ref: MailRef, now: float) -> float | None:
    """None for a fresh mail; for a retry or a redelivery, when to look for an earlier copy from.

    A first delivery reaches us seconds after SES received the mail; anything older may have
    been posted by a run that left no claim or posting record (Runtime.search_old_mail).
    """
    received = ref.received_at if ref.received_at is not None else now - _UNKNOWN_AGE
    return None if now - received < _FRESH_SECONDS else received - _CLOCK_SKEW


def _result(ref: MailRef | None, decision: Decision) -> dict[str, Any]:
    # Never the mail's words (the draft's body and title): the result travels on (Lambda
    # destinations, the replay command's output).
    draft = decision.draft
    return {
        "s3_key": ref.key if ref is not None else None,
        "ses_message_id": ref.message_id if ref is not None else None,
        "recipient": decision.recipient,
        "action": decision.action,
        "reason": decision.reason,
        "detail": decision.detail,
        "repo": decision.repo,
        "issue": decision.issue,
        "url": decision.url,
        "retryable": decision.retryable,
        "retry_after": decision.retry_after,
        "mail": decision.mail,
        "labels": draft.labels if isinstance(draft, IssueDraft) else (),
    }


def _log_fields(
    ref: MailRef, decision: Decision, runtime: Runtime, latency_ms: float, facts: MailFacts
) -> dict[str, Any]:
    """One decision's log fields, the same keys every time (Powertools leaves out the None).
    Never the mail's body and never a token: logs are read by more people than the tracker."""
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
        # Whose mail, and which: what `ticket-router decisions --domain` and `why` search by.
        "sender_domain": facts.sender_domain,
        "message_id_digest": facts.message_digest,
        "latency_ms": latency_ms,
        # A first delivery is seconds old; a retry comes a minute or more later.
        "mail_age_s": age,
    }


def _outcome(action: str, reason: Reason, detail: str) -> dict[str, Any]:
    return {"action": action, "reason": reason, "detail": detail}


def _log(level: int, message: str, fields: Mapping[str, Any]) -> None:
    logger.log(level, message, extra=dict(fields))
