"""Observability: what each mail counts for, the EMF lines an invocation prints, its log fields."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from handler.deadline import Deadline
from handler.github.errors import GitHubError
from handler.github.posts import PostedComment
from handler.inbound.plan import Decision
from handler.reasons import Reason, RetryLater
from handler.routing import load_routes, parse_routes
from handler.service.claims import Claimed
from handler.service.inbound import Runtime, handle_event
from handler.service.metrics import (
    COUNTERS,
    LOST_ACCESS,
    NOISE,
    EmbeddedMetrics,
    Measurement,
    NoMetrics,
    measure,
)
from tests.conftest import TESTS
from tests.sesmail import ses_mail

ROUTES = load_routes(TESTS / "lambda" / "routes.yaml")
TWO_ROUTES = """\
routes:
  - domain: issues.example.com
    prefix: web-
    repo: example-org/web
    allowed_senders: [example.com]
  - domain: issues.example.com
    repo: example-org/app
    allowed_senders: [example.com]
"""
# 2026-11-23T09:14:03Z, when SES received every mail of these tests.
RECEIVED = 1795425243.0
URL = "https://github.com/example-org/app/issues/7#issuecomment-99"
BODY = "The build fails on ARM; my token is ghp_notARealToken0123456789abcdefghij.\r\n"


def s3_event(*keys: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventTime": "2026-11-23T09:14:03.000Z",
                "s3": {"bucket": {"name": "mail"}, "object": {"key": key}},
            }
            for key in keys
        ]
    }


class Store:
    def __init__(self, mails: dict[str, bytes]) -> None:
        self.mails = mails

    def fetch(self, bucket: str, key: str) -> bytes:
        return self.mails[key]


class Posting:
    def create_comment(
        self,
        repo: str,
        issue: int,
        body: str,
        *,
        since: float | None = None,
        posting: Any = None,
        finish: Any = None,
    ) -> PostedComment:
        return PostedComment(99, URL)


class Unavailable:
    def create_comment(
        self,
        repo: str,
        issue: int,
        body: str,
        *,
        since: float | None = None,
        posting: Any = None,
        finish: Any = None,
    ) -> PostedComment:
        raise GitHubError(Reason.GITHUB_UNAVAILABLE, "502 Bad Gateway", status=502)


class Raising:
    """A commenter whose every comment fails with ``error``."""

    def __init__(self, error: GitHubError) -> None:
        self.error = error

    def create_comment(
        self,
        repo: str,
        issue: int,
        body: str,
        *,
        since: float | None = None,
        posting: Any = None,
        finish: Any = None,
    ) -> PostedComment:
        raise self.error


class PostedBefore:
    """A claim store that has this mail's comment already: a redelivery."""

    def once(self, key: str, post: Callable[[], PostedComment], deadline: Deadline) -> Claimed:
        return Claimed(PostedComment(99, URL), fresh=False)


def ticking(*readings: float) -> Callable[[], float]:
    """A timer that reads ``readings`` in turn: each mail takes the time between two of them."""
    return iter(readings).__next__


def runtime(
    mails: dict[str, bytes],
    *,
    commenter: object = None,
    metrics: object = None,
    **extra: Any,
) -> Runtime:
    return Runtime(
        routes=ROUTES,
        store=Store(mails),
        github=lambda route, deadline: commenter or Posting(),  # type: ignore[return-value]
        bucket="mail",
        prefix="inbound/",
        clock=lambda: RECEIVED + 2.5,
        metrics=metrics or EmbeddedMetrics(),  # type: ignore[arg-type]
        timer=ticking(100.0, 100.0125, 200.0, 200.004),
        **extra,
    )


def emf(out: str) -> list[dict[str, Any]]:
    """The EMF documents printed, without the timestamp (the clock's, not ours)."""
    documents = [json.loads(line) for line in out.splitlines()]
    for document in documents:
        assert isinstance(document["_aws"].pop("Timestamp"), int)
    return documents


def totals(counts: dict[str, float], latencies: list[float]) -> dict[str, Any]:
    """The EMF document of an invocation's totals, dimension ``service`` only."""
    names = [
        "MailsReceived",
        "CommentsPosted",
        "AlreadyPosted",
        "IssuesOpened",
        "AlreadyOpened",
        "Rejected",
        "Failed",
        "Retried",
        "PermanentRejections",
        "CredentialLostAccess",
    ]
    return {
        "_aws": {
            "CloudWatchMetrics": [
                {
                    "Namespace": "TicketRouter",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in names]
                    + [{"Name": "ProcessingLatency", "Unit": "Milliseconds"}],
                }
            ]
        },
        "service": "ticket-router",
        **{name: [float(counts.get(name, 0))] for name in names},
        "ProcessingLatency": latencies,
    }


def by_reason(name: str, reason: str, value: float) -> dict[str, Any]:
    return {
        "_aws": {
            "CloudWatchMetrics": [
                {
                    "Namespace": "TicketRouter",
                    "Dimensions": [["reason", "service"]],
                    "Metrics": [{"Name": name, "Unit": "Count"}],
                }
            ]
        },
        "service": "ticket-router",
        "reason": reason,
        name: [value],
    }


def by_route(route: str, value: float) -> dict[str, Any]:
    return {
        "_aws": {
            "CloudWatchMetrics": [
                {
                    "Namespace": "TicketRouter",
                    "Dimensions": [["route", "service"]],
                    "Metrics": [{"Name": "PermanentRejections", "Unit": "Count"}],
                }
            ]
        },
        "service": "ticket-router",
        "route": route,
        "PermanentRejections": [value],
    }


def decision(
    reason: str,
    action: str = "reject",
    *,
    retryable: bool = False,
    recipient: str = "7@issues.example.com",
) -> Decision:
    return Decision(recipient, action, Reason(reason), "", retryable=retryable)  # type: ignore[arg-type]


# measure: what one mail counts for


def test_a_posted_mail_counts_received_posted_and_its_latency():
    """A mail posted to one issue: one received, one posted, its latency."""
    assert measure([decision("posted", "comment")], 12.5, ROUTES) == (
        Measurement("MailsReceived", 1),
        Measurement("CommentsPosted", 1),
        Measurement("ProcessingLatency", 12.5, "Milliseconds"),
    )


def test_issues_opened_and_opened_before_are_counted_apart_from_comments():
    decisions = [
        decision("opened", "open"),
        decision("already-opened", "open"),
        decision("thread-store-unavailable", retryable=True),
    ]
    assert measure(decisions, 4.0, ROUTES) == (
        Measurement("MailsReceived", 1),
        Measurement("IssuesOpened", 1),
        Measurement("AlreadyOpened", 1),
        Measurement("Failed", 1, reason="thread-store-unavailable"),
        Measurement("ProcessingLatency", 4.0, "Milliseconds"),
    )


def test_each_recipient_decision_counts_by_its_outcome():
    """One mail, four recipients: posted, already posted, rejected and failed, each counted."""
    decisions = [
        decision("posted", "comment"),
        decision("already-posted", "comment"),
        decision("sender-not-allowed"),
        decision("rate-limited", retryable=True),
    ]
    assert measure(decisions, 3.0, ROUTES) == (
        Measurement("MailsReceived", 1),
        Measurement("CommentsPosted", 1),
        Measurement("AlreadyPosted", 1),
        Measurement("Rejected", 1, reason="sender-not-allowed"),
        Measurement("PermanentRejections", 1, route="issues.example.com"),
        Measurement("Failed", 1, reason="rate-limited"),
        Measurement("ProcessingLatency", 3.0, "Milliseconds"),
    )


def test_a_mail_that_could_not_be_read_is_still_received():
    """A mail missing from S3 is received, and failed for mail-not-found (an alarm's metric)."""
    missing = Decision("", "reject", Reason.MAIL_NOT_FOUND, "", retryable=True)
    [received, failed, _] = measure([missing], 1.0, ROUTES)
    assert (received, failed) == (
        Measurement("MailsReceived", 1),
        Measurement("Failed", 1, reason="mail-not-found"),
    )


def test_a_planned_comment_is_neither_posted_nor_rejected():
    """A dry run's accepted decision counts only as a received mail."""
    assert measure([decision("accepted", "comment")], 0.0, ROUTES) == (
        Measurement("MailsReceived", 1),
        Measurement("ProcessingLatency", 0.0, "Milliseconds"),
    )


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_every_reason_counts_under_a_published_counter(reason):
    """Each reason, transient as it usually is, counts once under a counter every flush
    publishes; a rejection or a failure also under the reason itself."""
    counted = measure([decision(reason, retryable=reason.transient)], 1.0, ROUTES)[1]
    assert counted.name in COUNTERS
    if counted.name in {"Rejected", "Failed"}:
        assert counted == Measurement(
            "Failed" if reason.transient else "Rejected", 1, "Count", reason
        )
    else:
        assert counted.reason is None


@pytest.mark.parametrize("reason", sorted(LOST_ACCESS), ids=str)
def test_a_credential_that_lost_access_is_counted(reason):
    """Each of GitHub's answers that the credential lost access counts CredentialLostAccess
    once, as a retried mail or a rejected one, and not again as a route's rejection."""
    counted = measure([decision(reason, retryable=reason.transient)], 1.0, ROUTES)
    assert counted[2] == Measurement("CredentialLostAccess", 1)
    assert [m.name for m in counted].count("PermanentRejections") == 0


def test_lost_access_is_exactly_these_answers_of_github():
    """The set the alarm's metric counts, as docs/operations and the notes list it."""
    assert sorted(LOST_ACCESS) == [
        "github-app-auth-failed",
        "github-app-not-installed",
        "github-app-repo-not-installed",
        "github-auth-failed",
        "github-forbidden",
        "repo-not-visible",
    ]


def test_a_routed_permanent_rejection_counts_for_its_route():
    """A rejection no retry changes, of a routed recipient: PermanentRejections under the
    route's key, beside Rejected by reason."""
    assert measure([decision("issue-locked")], 1.0, ROUTES)[1:3] == (
        Measurement("Rejected", 1, reason="issue-locked"),
        Measurement("PermanentRejections", 1, route="issues.example.com"),
    )


@pytest.mark.parametrize("reason", sorted(NOISE), ids=str)
def test_noise_is_no_route_in_trouble(reason):
    """Spam, viruses, bounces, auto-replies, bulk and list mail, a duplicate recipient and a
    stray unsubscribe are counted Rejected by reason only."""
    counted = measure([decision(reason)], 1.0, ROUTES)
    assert [m.name for m in counted] == ["MailsReceived", "Rejected", "ProcessingLatency"]


def test_noise_is_exactly_these_reasons():
    """The rejections left out of a route's count, as the notes list them."""
    assert sorted(NOISE) == [
        "auto-reply",
        "bounce",
        "bulk-mail",
        "duplicate-recipient",
        "list-mail",
        "not-a-participant",
        "spam",
        "virus",
    ]


def test_an_unrouted_rejection_is_no_route_in_trouble():
    """A recipient no route knows (no-route) counts Rejected by reason, under no route."""
    unrouted = decision("no-route", recipient="7@elsewhere.example.net")
    assert [m.name for m in measure([unrouted], 1.0, ROUTES)] == [
        "MailsReceived",
        "Rejected",
        "ProcessingLatency",
    ]


def test_a_retried_failure_is_not_a_permanent_rejection():
    """GitHub down: Failed, and nothing for the rejection-spike alarm."""
    assert [
        m.name for m in measure([decision("github-unavailable", retryable=True)], 1, ROUTES)
    ] == [
        "MailsReceived",
        "Failed",
        "ProcessingLatency",
    ]


def test_each_route_counts_under_its_key(capsys):
    """Rejections on two routes of one domain: one line per route key (the prefix in it),
    summed, in key order, after the totals."""
    routes = parse_routes(TWO_ROUTES, "routes.yaml")
    metrics = EmbeddedMetrics()
    for recipient in (
        "web-7@issues.example.com",
        "7@issues.example.com",
        "web-8@issues.example.com",
    ):
        metrics.record(measure([decision("issue-locked", recipient=recipient)], 1.0, routes))
    metrics.flush()
    [_, _, bare, web] = emf(capsys.readouterr().out)
    assert (bare, web) == (
        by_route("issues.example.com", 1.0),
        by_route("web-@issues.example.com", 2.0),
    )


# EMF: what an invocation prints


def test_posted_mail_prints_one_emf_document_with_every_counter(capsys):
    """A posted mail: one EMF line, each counter under service, zeros included, and the latency."""
    result = handle_event(
        s3_event("inbound/a"), runtime({"inbound/a": ses_mail()}), Deadline.within(60.0)
    )
    assert [d["reason"] for d in result["decisions"]] == ["posted"]
    assert emf(capsys.readouterr().out) == [
        totals({"MailsReceived": 1, "CommentsPosted": 1}, [12.5])
    ]


def test_redelivered_mail_counts_as_already_posted(capsys):
    """A mail whose claim holds a comment counts AlreadyPosted, not CommentsPosted."""
    rt = runtime({"inbound/a": ses_mail()}, claims=PostedBefore())
    handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert emf(capsys.readouterr().out) == [
        totals({"MailsReceived": 1, "AlreadyPosted": 1}, [12.5])
    ]


def test_rejected_mail_is_counted_in_total_and_under_its_reason(capsys):
    """A rejection: Rejected in the totals and again with the dimension reason."""
    mails = {"inbound/a": ses_mail(dmarc="fail", dkim="fail", spf="fail")}
    result = handle_event(s3_event("inbound/a"), runtime(mails), Deadline.within(60.0))
    assert [d["reason"] for d in result["decisions"]] == ["not-authenticated"]
    assert emf(capsys.readouterr().out) == [
        totals({"MailsReceived": 1, "Rejected": 1, "PermanentRejections": 1}, [12.5]),
        by_reason("Rejected", "not-authenticated", 1.0),
        by_route("issues.example.com", 1.0),
    ]


def test_transient_failure_is_flushed_although_the_invocation_fails(capsys):
    """GitHub down: Failed by reason and Retried are printed before RetryLater reaches Lambda."""
    rt = runtime({"inbound/a": ses_mail()}, commenter=Unavailable())
    with pytest.raises(RetryLater):
        handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert emf(capsys.readouterr().out) == [
        totals({"MailsReceived": 1, "Failed": 1, "Retried": 1}, [12.5]),
        by_reason("Failed", "github-unavailable", 1.0),
    ]


def test_a_repository_out_of_sight_counts_a_credential_that_lost_access(capsys):
    """repo-not-visible: Failed by reason, Retried, and CredentialLostAccess in the totals,
    which the credential alarm watches."""
    lost = GitHubError(Reason.REPO_NOT_VISIBLE, "the credential cannot see example-org/app")
    rt = runtime({"inbound/a": ses_mail()}, commenter=Raising(lost))
    with pytest.raises(RetryLater):
        handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert emf(capsys.readouterr().out) == [
        totals({"MailsReceived": 1, "Failed": 1, "Retried": 1, "CredentialLostAccess": 1}, [12.5]),
        by_reason("Failed", "repo-not-visible", 1.0),
    ]


def test_rejections_are_summed_per_route_in_one_flush(capsys):
    """Two mails rejected on one route: one PermanentRejections line for the route, value 2."""
    mails = {
        "inbound/a": ses_mail(dmarc="fail", dkim="fail", spf="fail"),
        "inbound/b": ses_mail(dmarc="fail", dkim="fail", spf="fail"),
    }
    handle_event(s3_event("inbound/a", "inbound/b"), runtime(mails), Deadline.within(60.0))
    assert emf(capsys.readouterr().out) == [
        totals({"MailsReceived": 2, "Rejected": 2, "PermanentRejections": 2}, [12.5, 4.0]),
        by_reason("Rejected", "not-authenticated", 2.0),
        by_route("issues.example.com", 2.0),
    ]


def test_one_invocation_sums_its_mails_in_one_flush(capsys):
    """Two mails in one event: summed counts, one latency value per mail, one line per reason."""
    mails = {"inbound/a": ses_mail(spam="FAIL"), "inbound/b": ses_mail(spam="FAIL")}
    handle_event(s3_event("inbound/a", "inbound/b"), runtime(mails), Deadline.within(60.0))
    assert emf(capsys.readouterr().out) == [
        totals({"MailsReceived": 2, "Rejected": 2}, [12.5, 4.0]),
        by_reason("Rejected", "spam", 2.0),
    ]


def test_each_flush_starts_afresh(capsys):
    """The second invocation of a warm container reports only its own mail."""
    metrics = EmbeddedMetrics()
    mails = {"inbound/a": ses_mail(), "inbound/b": ses_mail(spam="FAIL")}
    handle_event(s3_event("inbound/a"), runtime(mails, metrics=metrics), Deadline.within(60.0))
    capsys.readouterr()
    handle_event(s3_event("inbound/b"), runtime(mails, metrics=metrics), Deadline.within(60.0))
    assert emf(capsys.readouterr().out) == [
        totals({"MailsReceived": 1, "Rejected": 1}, [12.5]),
        by_reason("Rejected", "spam", 1.0),
    ]


def test_an_invocation_without_mail_prints_no_metrics(capsys):
    """SES's setup object alone: nothing received, no EMF line (not even zeros)."""
    result = handle_event(
        s3_event("inbound/AMAZON_SES_SETUP_NOTIFICATION"), runtime({}), Deadline.within(1)
    )
    assert result == {"decisions": []}
    assert capsys.readouterr().out == ""


def test_the_namespace_can_be_chosen(capsys):
    """EmbeddedMetrics(namespace=...) publishes there instead of TicketRouter."""
    metrics = EmbeddedMetrics(namespace="Staging/TicketRouter")
    metrics.record([Measurement("MailsReceived", 1)])
    metrics.flush()
    [document] = emf(capsys.readouterr().out)
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Staging/TicketRouter"


def test_metrics_disabled_by_powertools_switch_print_nothing(capsys, monkeypatch):
    """POWERTOOLS_METRICS_DISABLED=true silences the EMF lines."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    handle_event(s3_event("inbound/a"), runtime({"inbound/a": ses_mail()}), Deadline.within(60.0))
    assert capsys.readouterr().out == ""


def test_runtime_without_metrics_keeps_stdout_clean(capsys):
    """The default Runtime (the CLI's) prints nothing: its stdout belongs to the command."""
    rt = Runtime(
        routes=ROUTES,
        store=Store({"inbound/a": ses_mail()}),
        github=lambda route, deadline: Posting(),
        bucket="mail",
        prefix="inbound/",
    )
    assert isinstance(rt.metrics, NoMetrics)
    handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert capsys.readouterr().out == ""


# Logs: one record per decision, its fields as top-level keys


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog for ticket_router, whether or not the Lambda's config stopped its propagation."""
    logger = logging.getLogger("ticket_router")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.INFO)
    # Each record once, although caplog also listens at the root.
    logger.propagate = False
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.setLevel(level)
    logger.propagate = propagate


_STANDARD = {*vars(logging.makeLogRecord({})), "message", "asctime"}


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record carries (what a JSON formatter writes beside its own)."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


def test_posted_decision_record_has_every_field(log):
    """A posted decision is logged at INFO as "decision" with exactly these fields."""
    handle_event(s3_event("inbound/a"), runtime({"inbound/a": ses_mail()}), Deadline.within(60.0))
    [record] = log.records
    assert (record.levelname, record.getMessage()) == ("INFO", "decision")
    assert fields(record) == {
        "s3_bucket": "mail",
        "s3_key": "inbound/a",
        "ses_message_id": None,
        "mail": fields(record)["mail"],
        "recipient": "7@issues.example.com",
        "route": "route 1 (issues.example.com)",
        "route_name": None,
        "action": "comment",
        "reason": "posted",
        "detail": "posted to example-org/app#7",
        "repo": "example-org/app",
        "issue": 7,
        "url": URL,
        "retryable": False,
        "sender_domain": "example.com",
        # SHA-256 of "m1@example.com", the mail's Message-ID.
        "message_id_digest": "15518b10f6c5d78571e376bba50af9a8",
        "latency_ms": 12.5,
        "mail_age_s": 2.5,
    }
    assert len(fields(record)["mail"]) == 32


def test_transient_failure_is_logged_as_a_warning(log):
    """A decision Lambda will retry is a WARNING, so LOG_LEVEL=WARNING keeps exactly those."""
    rt = runtime({"inbound/a": ses_mail()}, commenter=Unavailable())
    with pytest.raises(RetryLater):
        handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    [record] = log.records
    assert record.levelname == "WARNING"
    assert {key: fields(record)[key] for key in ("action", "reason", "retryable")} == {
        "action": "reject",
        "reason": "github-unavailable",
        "retryable": True,
    }


def test_unrouted_recipient_has_no_route_fields(log):
    """A recipient that no route knows is logged with route, repo and issue empty."""
    mails = {"inbound/a": ses_mail(recipient="7@elsewhere.example.net")}
    handle_event(s3_event("inbound/a"), runtime(mails), Deadline.within(60.0))
    [record] = log.records
    line = fields(record)
    assert (line["reason"], line["route"], line["repo"], line["issue"]) == (
        "no-route",
        None,
        None,
        None,
    )


def test_logs_hold_neither_the_body_nor_a_token_in_it(log):
    """The mail's text, and a token written in it, appear in no logged field."""
    handle_event(
        s3_event("inbound/a"), runtime({"inbound/a": ses_mail(BODY)}), Deadline.within(60.0)
    )
    [record] = log.records
    logged = json.dumps(vars(record), default=str)
    assert "ghp_notARealToken" not in logged
    assert "The build fails" not in logged
    assert fields(record)["reason"] == "posted"
