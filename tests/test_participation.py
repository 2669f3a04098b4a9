"""Who becomes a mail participant of an issue, and leaving by mail: the pipeline's last step."""

from __future__ import annotations

from dataclasses import replace

import pytest

from handler.inbound.mail import parse_mail
from handler.inbound.plan import Decision, plan
from handler.outbound.participants import (
    Conversation,
    Participant,
    ParticipantStoreError,
    address_digest,
)
from handler.routing import parse_routes
from handler.service.delivery import received_time, update_participants
from tests.sesmail import ses_mail

ROUTES = parse_routes(
    """
routes:
  - domain: issues.example.com
    prefix: web-
    repo: example-org/website
    allowed_senders: [example.com]
    new_issue_address: new
    notify_participants: true
  - domain: issues.example.com
    prefix: docs-
    repo: example-org/docs
    allowed_senders: [example.com]
""",
    "routes.yaml",
)

AT = 1_790_000_000.0
ALICE = Participant(
    "alice@example.com", "issues.example.com", "web-", "m1@example.com", "Build failure"
)


class Memory:
    """Participants in a dict; ``fail`` makes every call raise that error."""

    def __init__(self, fail: ParticipantStoreError | None = None) -> None:
        self.issues: dict[tuple[str, int], dict[str, Participant]] = {}
        self.times: list[float] = []
        self.fail = fail

    def add(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        if self.fail:
            raise self.fail
        self.times.append(at)
        self.issues.setdefault((repo, issue), {})[address_digest(participant.address)] = participant
        return True

    def of(self, repo: str, issue: int) -> Conversation:
        return Conversation(tuple(self.issues.get((repo, issue), {}).values()))

    def remove(self, repo: str, issue: int, digest: str, at: float) -> bool:
        if self.fail:
            raise self.fail
        return self.issues.get((repo, issue), {}).pop(digest, None) is not None


def done(raw: bytes, reason: str = "posted", issue: int | None = None) -> tuple:
    """The plan of ``raw`` and its decisions as deliver would return them."""
    planned = plan(raw, ROUTES)
    decisions = tuple(
        replace(d, reason=reason, issue=issue or d.issue) if d.action in {"comment", "open"} else d
        for d in planned.decisions
    )
    return planned, decisions


def test_a_posted_mail_makes_its_sender_a_participant():
    """The authenticated sender is recorded with the address they wrote to, their Message-ID
    and subject; the decision is unchanged."""
    planned, decisions = done(ses_mail(recipient="web-45@issues.example.com"))
    store = Memory()
    assert update_participants(planned, decisions, ROUTES, store, received_at=AT) == decisions
    assert store.of("example-org/website", 45).participants == (ALICE,)
    assert store.times == [AT]


def test_the_opener_of_an_issue_is_its_first_participant():
    """A mail that opened #57 makes its sender a participant of #57."""
    planned, decisions = done(ses_mail(recipient="web-new@issues.example.com"), "opened", issue=57)
    store = Memory()
    update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert store.of("example-org/website", 57).participants == (ALICE,)


def test_routes_that_do_not_mail_participants_record_nobody():
    """A route without notify_participants keeps no address, and rejected mail none at all."""
    store = Memory()
    planned, decisions = done(ses_mail(recipient="docs-3@issues.example.com"))
    update_participants(planned, decisions, ROUTES, store, received_at=AT)
    stranger = ses_mail(
        recipient="web-45@issues.example.com",
        from_="Eve <eve@elsewhere.example.net>",
        envelope_from="eve@elsewhere.example.net",
        dkim_domain="elsewhere.example.net",
        from_domain="elsewhere.example.net",
    )
    planned, decisions = done(stranger)
    assert [d.reason for d in decisions] == ["sender-not-allowed"]
    update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert store.issues == {}


def test_a_store_that_is_down_fails_the_decision_for_a_retry():
    """The comment exists but its sender is not recorded: retried, the claim says
    already-posted and the participant is recorded then."""
    planned, decisions = done(ses_mail(recipient="web-45@issues.example.com"))
    decisions = (replace(decisions[0], url="https://github.com/example-org/website/issues/45#c1"),)
    down = Memory(ParticipantStoreError("cannot record the participant (Throttling)"))
    [failed] = update_participants(planned, decisions, ROUTES, down, received_at=AT)
    assert (failed.action, failed.reason, failed.retryable) == (
        "reject",
        "participant-store-unavailable",
        True,
    )
    assert failed.detail == "cannot record the participant (Throttling)"
    assert failed.url == "https://github.com/example-org/website/issues/45#c1"
    planned, again = done(ses_mail(recipient="web-45@issues.example.com"), "already-posted")
    store = Memory()
    assert update_participants(planned, again, ROUTES, store, received_at=AT) == again
    assert store.of("example-org/website", 45).participants == (ALICE,)


def test_an_issue_with_too_many_participants_still_counts_the_comment():
    """A permanent store failure is named in the detail; the comment stays posted."""
    planned, decisions = done(ses_mail(recipient="web-45@issues.example.com"))
    full = Memory(ParticipantStoreError("item too large", transient=False))
    [decision] = update_participants(planned, decisions, ROUTES, full, received_at=AT)
    assert (decision.action, decision.reason, decision.retryable) == ("comment", "posted", False)
    assert decision.detail.endswith("; not recorded as a participant: item too large")


def test_the_unsubscribe_address_removes_the_sender_from_that_issue():
    """Mail to web-45+unsubscribe@ takes the authenticated sender off #45, and only them."""
    store = Memory()
    store.add("example-org/website", 45, ALICE, AT)
    store.add("example-org/website", 45, replace(ALICE, address="bob@example.com"), AT)
    planned = plan(
        ses_mail("", recipient="web-45+Unsubscribe@issues.example.com", subject="unsubscribe"),
        ROUTES,
    )
    assert [(d.action, d.reason, d.repo, d.issue) for d in planned.decisions] == [
        ("unsubscribe", "accepted", "example-org/website", 45)
    ]
    [decision] = update_participants(planned, planned.decisions, ROUTES, store, received_at=AT)
    assert (decision.action, decision.reason) == ("unsubscribe", "unsubscribed")
    assert decision.detail == "the sender will no longer get mail about example-org/website#45"
    assert [p.address for p in store.of("example-org/website", 45).participants] == [
        "bob@example.com"
    ]
    [again] = update_participants(planned, planned.decisions, ROUTES, store, received_at=AT)
    assert (again.reason, again.detail) == (
        "not-a-participant",
        "the sender was not getting mail about example-org/website#45",
    )


def test_unsubscribing_needs_an_authenticated_sender_but_not_an_allowed_one():
    """A forged From cannot unsubscribe someone; an authenticated sender whose domain is no
    longer allowed still can."""
    forged = plan(
        ses_mail(
            "",
            recipient="web-45+unsubscribe@issues.example.com",
            dkim="fail",
            spf="fail",
            dmarc="fail",
        ),
        ROUTES,
    )
    assert [(d.action, d.reason) for d in forged.decisions] == [("reject", "not-authenticated")]
    outsider = plan(
        ses_mail(
            "",
            recipient="web-45+unsubscribe@issues.example.com",
            from_="Olga <olga@former.example.net>",
            envelope_from="olga@former.example.net",
            dkim_domain="former.example.net",
            from_domain="former.example.net",
        ),
        ROUTES,
    )
    assert [(d.action, d.reason) for d in outsider.decisions] == [("unsubscribe", "accepted")]


def test_unsubscribe_addresses_that_name_no_issue_are_refused():
    """+unsubscribe on the new-issue address or on a bad number is an invalid address."""
    refused = plan(
        ses_mail(
            "",
            to="web-new+unsubscribe@issues.example.com, web-x+unsubscribe@issues.example.com",
            recipient=None,
        ),
        ROUTES,
        recipients=[
            "web-new+unsubscribe@issues.example.com",
            "web-x+unsubscribe@issues.example.com",
        ],
    )
    assert [(d.action, d.reason) for d in refused.decisions] == [
        ("reject", "invalid-issue-number"),
        ("reject", "invalid-issue-number"),
    ]
    assert "not a new-issue address" in refused.decisions[0].detail


def test_a_failed_unsubscribe_is_retried():
    """The store being down fails the unsubscribe for a retry: it must not be lost."""
    planned = plan(ses_mail("", recipient="web-45+unsubscribe@issues.example.com"), ROUTES)
    down = Memory(ParticipantStoreError("cannot remove the participant (Throttling)"))
    [decision] = update_participants(planned, planned.decisions, ROUTES, down, received_at=AT)
    assert (decision.reason, decision.retryable) == ("participant-store-unavailable", True)


def test_decisions_without_an_issue_pass_through():
    """A rejection without a route, or a decision of no issue, is returned as it came."""
    planned = plan(ses_mail(recipient="nobody@elsewhere.example.net"), ROUTES)
    assert (
        update_participants(planned, planned.decisions, ROUTES, Memory(), received_at=AT)
        == planned.decisions
    )
    assert isinstance(planned.decisions[0], Decision)


@pytest.mark.parametrize(
    ("received_at", "date", "expected"),
    [
        (AT - 5, "Mon, 23 Nov 2026 09:13:51 +0000", AT - 5),
        (None, "Mon, 23 Nov 2026 09:13:51 +0000", 1795425231.0),
        (0.0, "Mon, 23 Nov 2026 09:13:51 +0000", 1795425231.0),
        (None, "Mon, 23 Nov 2099 09:13:51 +0000", 1800000000.0),
        (None, "", 1800000000.0),
    ],
    ids=["ses-or-s3-time", "file-date", "replayed-key-date", "future-date", "no-date"],
)
def test_a_mail_is_ordered_by_when_it_arrived(received_at, date, expected):
    """SES's or S3's time first; a file or a key replayed by hand (0.0) by its Date, never
    later than now; else now."""
    header = f"Date: {date}\r\n" if date else ""
    raw = f"From: a@example.com\r\n{header}Subject: x\r\n\r\nhi\r\n".encode()
    message = parse_mail(raw)
    assert received_time(received_at, message, 1_800_000_000.0) == expected
