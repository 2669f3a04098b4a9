"""The pipeline: recipients -> route -> authenticate -> render -> post, one decision each."""

from __future__ import annotations

import copy
import json

import pytest

from handler.github import GitHubError, PostedComment
from handler.pipeline import Decision, deliver, plan
from handler.routes import parse_routes
from tests.conftest import TESTS
from tests.sesmail import ses_block, ses_mail

ROUTES = parse_routes(
    """
routes:
  - domain: issues.example.com
    repo: example-org/app
    allowed_senders: [example.com]
  - domain: issues.example.com
    prefix: web-
    repo: example-org/website
    allowed_senders: [example.com, "*.example.org"]
  - domain: alias.example.com
    repo: example-org/app
    allowed_senders: [example.com]
""",
    "routes.yaml",
)


def decisions(raw: bytes, **kwargs) -> list[tuple[str, str, str, str | None, int | None]]:
    return [
        (d.recipient, d.action, d.reason, d.repo, d.issue)
        for d in plan(raw, ROUTES, **kwargs).decisions
    ]


def test_authenticated_allowed_mail_becomes_a_comment():
    """The happy path: one recipient, one comment decision with the rendered body."""
    [decision] = plan(ses_mail(), ROUTES).decisions
    assert (decision.action, decision.reason, decision.repo, decision.issue) == (
        "comment",
        "accepted",
        "example-org/app",
        7,
    )
    assert decision.body is not None
    assert "The build fails on ARM." in decision.body


def test_ses_received_recipient_wins_over_to_header():
    """SES's "for <addr>" is the envelope recipient; the To header may name anything."""
    raw = ses_mail(to="someone@elsewhere.example.net", recipient="web-45@issues.example.com")
    assert decisions(raw) == [
        ("web-45@issues.example.com", "comment", "accepted", "example-org/website", 45)
    ]


def test_to_and_cc_are_used_when_ses_names_no_recipient():
    """Without SES's "for" clause, every To and Cc address is a recipient, judged on its own."""
    raw = ses_mail(
        to="7@issues.example.com, friend@gmail.com",
        cc="web-45@ISSUES.example.com",
        recipient=None,
    )
    assert decisions(raw) == [
        ("7@issues.example.com", "comment", "accepted", "example-org/app", 7),
        ("friend@gmail.com", "reject", "no-route", None, None),
        ("web-45@issues.example.com", "comment", "accepted", "example-org/website", 45),
    ]


def test_explicit_recipients_win_for_bcc():
    """--recipient names envelope recipients the headers do not show (Bcc)."""
    raw = ses_mail(to="list@example.com", recipient=None)
    assert decisions(raw, recipients=["WEB-9@issues.example.com"]) == [
        ("web-9@issues.example.com", "comment", "accepted", "example-org/website", 9)
    ]


def test_each_route_checks_the_sender_on_its_own():
    """One mail to two projects: allowed on one, not on the other."""
    raw = ses_mail(
        from_="Erin <erin@lab.example.org>",
        to="web-45@issues.example.com, 7@issues.example.com",
        recipient=None,
        envelope_from="erin@lab.example.org",
        dkim_domain="lab.example.org",
        from_domain="lab.example.org",
    )
    result = plan(raw, ROUTES).decisions
    assert [(d.recipient, d.action, d.reason) for d in result] == [
        ("web-45@issues.example.com", "comment", "accepted"),
        ("7@issues.example.com", "reject", "sender-not-allowed"),
    ]
    assert result[1].detail == (
        "lab.example.org is not among the sender domains allowed for "
        "route 0 (issues.example.com): example.com"
    )


def test_same_issue_addressed_twice_gets_one_comment():
    """The same address twice is one recipient; two addresses for one issue give one comment."""
    raw = ses_mail(
        to="7@issues.example.com, 7@Issues.Example.com",
        cc="7@alias.example.com",
        recipient=None,
    )
    assert decisions(raw) == [
        ("7@issues.example.com", "comment", "accepted", "example-org/app", 7),
        ("7@alias.example.com", "reject", "duplicate-recipient", "example-org/app", 7),
    ]


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ({"spam": "FAIL"}, "spam"),
        ({"virus": "FAIL"}, "virus"),
        ({"dmarc": "fail", "dkim": "fail", "spf": "fail"}, "not-authenticated"),
    ],
)
def test_mail_level_rejections_apply_to_every_routed_recipient(block, reason):
    """Verdicts are about the mail: each routed recipient is rejected with the same reason."""
    raw = ses_mail(to="7@issues.example.com, web-1@issues.example.com", recipient=None, **block)
    assert [d[2] for d in decisions(raw)] == [reason, reason]


def test_auto_reply_is_dropped():
    """Auto-Submitted mail is never posted."""
    raw = ses_mail(extra="Auto-Submitted: auto-replied\r\n")
    assert decisions(raw) == [
        ("7@issues.example.com", "reject", "auto-reply", "example-org/app", 7)
    ]


def test_address_that_is_not_prefix_and_number_is_refused():
    """A local part that is not <prefix><number> is refused, not guessed."""
    assert decisions(ses_mail(recipient="help@issues.example.com")) == [
        ("help@issues.example.com", "reject", "invalid-issue-number", None, None)
    ]


def test_quoted_only_mail_is_rejected_as_empty():
    """A reply with nothing new is not posted."""
    raw = ses_mail("> I agree with the above\r\n> and more\r\n")
    assert decisions(raw) == [
        ("7@issues.example.com", "reject", "empty-body", "example-org/app", 7)
    ]


def test_mail_the_parser_cannot_read_is_refused_with_its_own_reason():
    """Thousands of nested parts: a decision naming the problem, not a crash or MIME soup."""
    nesting = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(1000)
    )
    raw = (
        ses_block() + "From: Alice <alice@example.com>\r\nTo: 7@issues.example.com\r\n" + nesting
    ).encode()
    [decision] = plan(raw, ROUTES).decisions
    assert (decision.action, decision.reason, decision.detail) == (
        "reject",
        "unparseable-mail",
        "the mail's MIME structure could not be read (RecursionError)",
    )


def test_mail_without_any_recipient_gets_a_decision():
    """No envelope recipient, To or Cc: one rejection saying so."""
    raw = ses_mail(to="undisclosed-recipients:;", recipient=None)
    assert decisions(raw) == [("", "reject", "no-recipient", None, None)]


def test_ses_event_verdicts_and_recipients_win():
    """In Lambda the event's verdicts and recipients are authoritative."""
    event = json.loads((TESTS / "events" / "sesEvent.json").read_text())
    record = copy.deepcopy(event["Records"][0])
    record["ses"]["receipt"]["recipients"] = ["web-3@issues.example.com"]
    record["ses"]["receipt"]["spamVerdict"]["status"] = "FAIL"
    assert decisions(ses_mail(), ses_record=record) == [
        ("web-3@issues.example.com", "reject", "spam", "example-org/website", 3)
    ]


class FakeGitHub:
    def __init__(self, errors: dict[int, GitHubError] | None = None) -> None:
        self.posted: list[tuple[str, int, str]] = []
        self.errors = errors or {}

    def create_comment(self, repo: str, issue: int, body: str, *, since=None) -> PostedComment:
        if issue in self.errors:
            raise self.errors[issue]
        self.posted.append((repo, issue, body))
        return PostedComment(id=len(self.posted), url=f"https://github.com/{repo}/issues/{issue}#c")


def accepted(issue: int) -> Decision:
    return Decision(f"{issue}@x", "comment", "accepted", "", "o/r", issue, body=f"b{issue}")


def test_deliver_posts_accepted_decisions_and_keeps_rejections():
    """Accepted decisions are posted with their body; rejections pass through untouched."""
    rejected = Decision("x@y", "reject", "no-route", "nothing")
    github = FakeGitHub()
    result = deliver([accepted(1), rejected], github)
    assert github.posted == [("o/r", 1, "b1")]
    assert result[0].reason == "posted"
    assert result[0].url == "https://github.com/o/r/issues/1#c"
    assert result[1] is rejected


def test_deliver_records_github_failures_with_their_reason():
    """A permanent GitHub failure is a rejection; a transient one is marked retryable."""
    github = FakeGitHub(
        {
            1: GitHubError("issue-not-found", "no issue 1", transient=False, status=404),
            2: GitHubError("github-unavailable", "502 three times", transient=True, status=502),
        }
    )
    result = deliver([accepted(1), accepted(2), accepted(3)], github)
    assert [(d.action, d.reason, d.retryable) for d in result] == [
        ("reject", "issue-not-found", False),
        ("reject", "github-unavailable", True),
        ("comment", "posted", False),
    ]
