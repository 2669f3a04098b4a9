"""What each invocation counts, published as CloudWatch metrics in the embedded metric format
(EMF lines on stdout, which CloudWatch turns into metrics without an API call). The metrics and
their dimensions are listed in docs (operations, Metrics); the per-reason dimension values are
the members of handler.reasons.Reason, the per-route ones each route's ``Route.key``. Two feed
alarms that need a human (terraform/modules/alarms): PermanentRejections by route, and
CredentialLostAccess.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from handler import SERVICE
from handler.inbound.plan import route_of
from handler.reasons import Reason

if TYPE_CHECKING:
    from handler.inbound.plan import Decision
    from handler.routing import Routes

NAMESPACE = "TicketRouter"
NAMESPACE_VARIABLE = "POWERTOOLS_METRICS_NAMESPACE"

MAILS_RECEIVED = "MailsReceived"
COMMENTS_POSTED = "CommentsPosted"
ALREADY_POSTED = "AlreadyPosted"
ISSUES_OPENED = "IssuesOpened"
ALREADY_OPENED = "AlreadyOpened"
REJECTED = "Rejected"
FAILED = "Failed"
RETRIED = "Retried"
# A routed recipient's rejection that no retry changes, less the internet's noise (NOISE) and
# the credential's lost access (its own alarm); also published per route, which the
# rejection-spike alarm watches.
PERMANENT_REJECTIONS = "PermanentRejections"
# GitHub said the credential cannot reach the repository any more (LOST_ACCESS).
CREDENTIAL_LOST_ACCESS = "CredentialLostAccess"
PROCESSING_LATENCY = "ProcessingLatency"

# Published on every flush that saw a mail, in this order.
COUNTERS = (
    MAILS_RECEIVED,
    COMMENTS_POSTED,
    ALREADY_POSTED,
    ISSUES_OPENED,
    ALREADY_OPENED,
    REJECTED,
    FAILED,
    RETRIED,
    PERMANENT_REJECTIONS,
    CREDENTIAL_LOST_ACCESS,
)

# GitHub's answers that mean the credential lost access to a route's repository, or never had
# it: no retry helps until someone grants it again (or fixes the route), whether the mail waits
# (transient) or was rejected. A token that cannot be read (token-unavailable, the App's key)
# is the AWS side, which the Failed alarms watch.
LOST_ACCESS = frozenset(
    {
        Reason.REPO_NOT_VISIBLE,
        Reason.GITHUB_FORBIDDEN,
        Reason.GITHUB_AUTH_FAILED,
        Reason.GITHUB_APP_AUTH_FAILED,
        Reason.GITHUB_APP_NOT_INSTALLED,
        Reason.GITHUB_APP_REPO_NOT_INSTALLED,
    }
)

# Rejections that say nothing about a route's health: mail nobody wrote to the tracker (spam,
# viruses, bounces, auto-replies, bulk and list mail, which arrive in waves of their own) and
# decisions that refuse nothing (another recipient of the mail took it; an unsubscribe from
# someone not subscribed). Every other permanent rejection of a routed recipient counts.
NOISE = frozenset(
    {
        Reason.SPAM,
        Reason.VIRUS,
        Reason.BOUNCE,
        Reason.AUTO_REPLY,
        Reason.BULK_MAIL,
        Reason.LIST_MAIL,
        Reason.DUPLICATE_RECIPIENT,
        Reason.NOT_A_PARTICIPANT,
    }
)

Unit = Literal["Count", "Milliseconds"]


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float
    unit: Unit = "Count"
    # Set for Rejected and Failed: published both in the total and under this reason.
    reason: Reason | None = None
    # Set for PermanentRejections: published both in the total and under this route.
    route: str | None = None


# What an invocation failed for a retry counts for.
RETRY = Measurement(RETRIED, 1)


def measure(
    decisions: Iterable[Decision], latency_ms: float, routes: Routes
) -> tuple[Measurement, ...]:
    """What one mail counts for: received once, each recipient decision by its outcome, and
    what an alarm watches (a route's permanent rejection, a credential that lost access)."""
    counted = [Measurement(MAILS_RECEIVED, 1)]
    for decision in decisions:
        outcome = _outcome(decision)
        if outcome is not None:
            counted.append(outcome)
        counted.extend(_alarming(decision, routes))
    counted.append(Measurement(PROCESSING_LATENCY, latency_ms, "Milliseconds"))
    return tuple(counted)


def _alarming(decision: Decision, routes: Routes) -> tuple[Measurement, ...]:
    """What ``decision`` counts for an alarm: CredentialLostAccess, PermanentRejections of its
    route, or nothing."""
    reason = decision.reason
    if reason in LOST_ACCESS:
        return (Measurement(CREDENTIAL_LOST_ACCESS, 1),)
    if decision.action != "reject" or decision.retryable or reason in NOISE:
        return ()
    route = route_of(routes, decision)
    # An unrouted recipient has no route to be in trouble: Rejected by its reason counts it.
    return () if route is None else (Measurement(PERMANENT_REJECTIONS, 1, route=route.key),)


_DONE = {
    Reason.POSTED: COMMENTS_POSTED,
    Reason.ALREADY_POSTED: ALREADY_POSTED,
    Reason.OPENED: ISSUES_OPENED,
    Reason.ALREADY_OPENED: ALREADY_OPENED,
}


def _outcome(decision: Decision) -> Measurement | None:
    reason = decision.reason
    if reason in _DONE and not decision.retryable:
        return Measurement(_DONE[reason], 1)
    if decision.retryable:
        return Measurement(FAILED, 1, reason=reason)
    if decision.action == "reject":
        return Measurement(REJECTED, 1, reason=reason)
    # A comment or issue planned but not made only happens in a dry run, which publishes none.
    return None


class Metrics(Protocol):
    def record(self, measurements: Iterable[Measurement]) -> None: ...

    def flush(self) -> None: ...


class NoMetrics:
    """Counts nothing: for the CLI and tests, whose stdout is not a metrics channel."""

    def record(self, measurements: Iterable[Measurement]) -> None:
        pass

    def flush(self) -> None:
        pass


class EmbeddedMetrics:
    """Sums an invocation's measurements; ``flush`` prints them as EMF and starts afresh.

    Built once per container and flushed once per invocation. Powertools does the EMF
    serialisation (and honours POWERTOOLS_METRICS_DISABLED); its ``EphemeralMetrics`` keeps no
    state shared with other instances, so nothing leaks from one flush into the next.
    """

    def __init__(self, namespace: str | None = None, service: str = SERVICE) -> None:
        # Powertools' own variable, read as its utilities read it, with our default.
        self._namespace = namespace or os.environ.get(NAMESPACE_VARIABLE) or NAMESPACE
        self._service = service
        self._totals: dict[str, float] = {}
        self._by_reason: dict[tuple[str, Reason], float] = {}
        self._by_route: dict[tuple[str, str], float] = {}
        self._latencies: list[float] = []

    def record(self, measurements: Iterable[Measurement]) -> None:
        for measurement in measurements:
            if measurement.unit == "Milliseconds":
                self._latencies.append(measurement.value)
                continue
            self._totals[measurement.name] = (
                self._totals.get(measurement.name, 0) + measurement.value
            )
            if measurement.reason is not None:
                key = (measurement.name, measurement.reason)
                self._by_reason[key] = self._by_reason.get(key, 0) + measurement.value
            if measurement.route is not None:
                at = (measurement.name, measurement.route)
                self._by_route[at] = self._by_route.get(at, 0) + measurement.value

    def flush(self) -> None:
        if not self._totals and not self._latencies:
            return
        try:
            totals = self._blob()
            for name in dict.fromkeys((*COUNTERS, *self._totals)):
                totals.add_metric(name=name, unit=MetricUnit.Count, value=self._totals.get(name, 0))
            for latency in self._latencies:
                totals.add_metric(
                    name=PROCESSING_LATENCY, unit=MetricUnit.Milliseconds, value=latency
                )
            totals.flush_metrics()
            for (name, reason), value in sorted(self._by_reason.items()):
                self._flush_one(name, "reason", reason.value, value)
            for (name, route), value in sorted(self._by_route.items()):
                self._flush_one(name, "route", route, value)
        finally:
            self._totals.clear()
            self._by_reason.clear()
            self._by_route.clear()
            self._latencies.clear()

    def _flush_one(self, name: str, dimension: str, value: str, count: float) -> None:
        """One count under the service and one more dimension."""
        blob = self._blob()
        blob.add_dimension(name=dimension, value=value)
        blob.add_metric(name=name, unit=MetricUnit.Count, value=count)
        blob.flush_metrics()

    def _blob(self) -> EphemeralMetrics:
        return EphemeralMetrics(namespace=self._namespace, service=self._service)
