"""What each invocation counts, published as CloudWatch metrics in the embedded metric format
(EMF lines on stdout, which CloudWatch turns into metrics without an API call). The metrics and
their dimensions are listed in the README ("Lambda", Metrics); the per-reason dimension values
are the members of handler.reasons.Reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from handler import SERVICE
from handler.reasons import Reason

if TYPE_CHECKING:
    from handler.inbound.plan import Decision

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
)

Unit = Literal["Count", "Milliseconds"]


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float
    unit: Unit = "Count"
    # Set for Rejected and Failed: published both in the total and under this reason.
    reason: Reason | None = None


# What an invocation failed for a retry counts for.
RETRY = Measurement(RETRIED, 1)


def measure(decisions: Iterable[Decision], latency_ms: float) -> tuple[Measurement, ...]:
    """What one mail counts for: received once, each recipient decision by its outcome."""
    counted = [Measurement(MAILS_RECEIVED, 1)]
    for decision in decisions:
        outcome = _outcome(decision)
        if outcome is not None:
            counted.append(outcome)
    counted.append(Measurement(PROCESSING_LATENCY, latency_ms, "Milliseconds"))
    return tuple(counted)


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
                per_reason = self._blob()
                per_reason.add_dimension(name="reason", value=reason.value)
                per_reason.add_metric(name=name, unit=MetricUnit.Count, value=value)
                per_reason.flush_metrics()
        finally:
            self._totals.clear()
            self._by_reason.clear()
            self._latencies.clear()

    def _blob(self) -> EphemeralMetrics:
        return EphemeralMetrics(namespace=self._namespace, service=self._service)
