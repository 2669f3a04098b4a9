"""The pipeline: recipients -> route -> authenticate -> render -> post, one decision each."""

from __future__ import annotations

import copy
import json

import pytest

from handler.aws.store import StoreError
from handler.deadline import Deadline
from handler.github.errors import GitHubError
from handler.github.posts import PostedComment, PostedIssue
from handler.inbound.plan import CommentDraft, Decision, plan
from handler.inbound.threads import ThreadStoreError
from handler.reasons import Reason
from handler.routing import parse_routes
from handler.service.claims import Claimed
from handler.service.delivery import deliver
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

NEVER = Deadline.never()


def envelope(*recipients: str) -> dict:
    """An SES event record naming ``recipients`` (all of a mail's, which SES's Received field
    does not list); its verdicts are the stored block's."""
    return {"eventSource": "aws:ses", "ses": {"receipt": {"recipients": list(recipients)}}}


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
    assert decision.draft is not None
    assert "The build fails on ARM." in decision.draft.body


def test_ses_received_recipient_wins_over_to_header():
    """SES's "for <addr>" is the envelope recipient; the other To and Cc addresses are not."""
    raw = ses_mail(
        to="someone@elsewhere.example.net, 7@issues.example.com",
        cc="web-45@issues.example.com",
        recipient="web-45@issues.example.com",
    )
    assert decisions(raw) == [
        ("web-45@issues.example.com", "comment", "accepted", "example-org/website", 45)
    ]


def test_to_and_cc_are_never_recipients():
    """Without SES's "for" clause or an event, To and Cc (which anyone writes) name nobody."""
    raw = ses_mail(to="7@issues.example.com", cc="web-45@ISSUES.example.com", recipient=None)
    [decision] = plan(raw, ROUTES).decisions
    assert (decision.recipient, decision.action, decision.reason, decision.detail) == (
        "",
        "reject",
        "no-recipient",
        "SES named no recipient: the event lists none, and SES's Received field has no for "
        "clause (it has none for a mail to several addresses); the mail's own To and Cc are "
        "not trusted (the CLI's --recipient names one)",
    )


def test_every_recipient_of_the_ses_event_is_judged_on_its_own():
    """The event lists a mail's recipients; one that no route knows is refused on its own."""
    raw = ses_mail(
        to="7@issues.example.com, friend@gmail.com",
        cc="web-45@ISSUES.example.com",
        recipient=None,
    )
    record = envelope("7@issues.example.com", "friend@gmail.com", "web-45@ISSUES.example.com")
    assert decisions(raw, ses_record=record) == [
        ("7@issues.example.com", "comment", "accepted", "example-org/app", 7),
        ("friend@gmail.com", "reject", "no-route", None, None),
        ("web-45@issues.example.com", "comment", "accepted", "example-org/website", 45),
    ]


def test_explicit_recipients_win():
    """--recipient names the envelope recipients, over SES's own."""
    raw = ses_mail(to="7@issues.example.com", cc="web-9@issues.example.com")
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
    record = envelope("web-45@issues.example.com", "7@issues.example.com")
    result = plan(raw, ROUTES, ses_record=record).decisions
    assert [(d.recipient, d.action, d.reason) for d in result] == [
        ("web-45@issues.example.com", "comment", "accepted"),
        ("7@issues.example.com", "reject", "sender-not-allowed"),
    ]
    assert result[1].detail == (
        "lab.example.org is not among the sender domains allowed for "
        "route 1 (issues.example.com): example.com"
    )


def test_same_issue_addressed_twice_gets_one_comment():
    """The same address twice is one recipient; two addresses for one issue give one comment."""
    raw = ses_mail(
        to="7@issues.example.com, 7@Issues.Example.com",
        cc="7@alias.example.com",
        recipient=None,
    )
    record = envelope("7@issues.example.com", "7@Issues.Example.com", "7@alias.example.com")
    assert decisions(raw, ses_record=record) == [
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
    record = envelope("7@issues.example.com", "web-1@issues.example.com")
    assert [d[2] for d in decisions(raw, ses_record=record)] == [reason, reason]


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


def test_quoted_only_mail_is_posted_whole():
    """A mail that is nothing but a quote had text: it is posted untrimmed, not refused."""
    raw = ses_mail("> I agree with the above\r\n> and more\r\n")
    assert decisions(raw) == [("7@issues.example.com", "comment", "accepted", "example-org/app", 7)]


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
    """No envelope recipient: one rejection saying so."""
    raw = ses_mail(to="undisclosed-recipients:;", recipient=None)
    assert decisions(raw) == [("", "reject", "no-recipient", None, None)]


def test_ses_event_verdicts_and_recipients_win():
    """In Lambda the event's verdicts and recipients are authoritative."""
    event = json.loads((TESTS / "events" / "sesEvent.json").read_text())
    record = copy.deepcopy(event["Records"][0])
    record["ses"]["receipt"]["recipients"] = ["web-3@issues.example.com"]
    record["ses"]["receipt"]["spamVerdict"]["status"] = "FAIL"
    raw = ses_mail(to="web-3@issues.example.com")
    assert decisions(raw, ses_record=record) == [
        ("web-3@issues.example.com", "reject", "spam", "example-org/website", 3)
    ]


class FakeGitHub:
    def __init__(self, errors: dict[int, GitHubError] | None = None) -> None:
        self.posted: list[tuple[str, int, str]] = []
        self.errors = errors or {}

    def create_comment(
        self, repo: str, issue: int, body: str, *, since=None, posting=None, finish=None
    ) -> PostedComment:
        if issue in self.errors:
            raise self.errors[issue]
        self.posted.append((repo, issue, body))
        return PostedComment(id=len(self.posted), url=f"https://github.com/{repo}/issues/{issue}#c")


def accepted(issue: int) -> Decision:
    return Decision(
        f"{issue}@issues.example.com",
        "comment",
        "accepted",
        "",
        "example-org/app",
        issue,
        draft=CommentDraft(f"b{issue}"),
    )


def test_deliver_posts_accepted_decisions_and_keeps_rejections():
    """Accepted decisions are posted with their body; rejections pass through untouched."""
    rejected = Decision("x@y", "reject", "no-route", "nothing")
    github = FakeGitHub()
    result = deliver([accepted(1), rejected], ROUTES, lambda route: github, deadline=NEVER)
    assert github.posted == [("example-org/app", 1, "b1")]
    assert result[0].reason == "posted"
    assert result[0].url == "https://github.com/example-org/app/issues/1#c"
    assert result[1] is rejected


def test_deliver_records_github_failures_with_their_reason():
    """A permanent GitHub failure is a rejection; a transient one is marked retryable."""
    github = FakeGitHub(
        {
            1: GitHubError(Reason.ISSUE_NOT_FOUND, "no issue 1", status=404),
            2: GitHubError(Reason.GITHUB_UNAVAILABLE, "502 three times", status=502),
        }
    )
    result = deliver(
        [accepted(1), accepted(2), accepted(3)], ROUTES, lambda route: github, deadline=NEVER
    )
    assert [(d.action, d.reason, d.retryable) for d in result] == [
        ("reject", "issue-not-found", False),
        ("reject", "github-unavailable", True),
        ("comment", "posted", False),
    ]


# --- new issues by mail ---------------------------------------------------------------------

OPENING = parse_routes(
    """
routes:
  - domain: issues.example.com
    prefix: web-
    repo: example-org/website
    allowed_senders: [example.com]
    new_issue_address: new
    labels: [from-mail, triage]
  - domain: issues.example.com
    prefix: docs-
    repo: example-org/docs
    allowed_senders: [example.com]
""",
    "routes.yaml",
)


def opening(raw: bytes) -> Decision:
    [decision] = plan(raw, OPENING).decisions
    return decision


def test_mail_to_the_new_issue_address_opens_an_issue():
    """Title from the cleaned subject, body rendered as for a comment, the route's labels."""
    raw = ses_mail(
        "The printer on floor 3 jams on every page.\r\n",
        recipient="web-new@issues.example.com",
        to="web-new@issues.example.com",
        subject="Fwd: RE: Printer jams",
    )
    decision = opening(raw)
    assert (decision.action, decision.reason, decision.repo, decision.issue) == (
        "open",
        "accepted",
        "example-org/website",
        None,
    )
    assert decision.draft.title == "Printer jams"
    assert decision.draft.labels == ("from-mail", "triage")
    assert decision.draft.message_id == "m1@example.com"
    assert decision.draft.thread == ()
    assert decision.draft is not None
    assert decision.draft.body.startswith("**Alice** wrote by email: **Fwd: RE: Printer jams**\n\n")
    assert "The printer on floor 3 jams on every page." in decision.draft.body
    assert "<!-- ticket-router:mail=" in decision.draft.body


def test_a_new_issue_needs_an_allowed_authenticated_sender():
    raw = ses_mail(
        recipient="web-new@issues.example.com",
        from_="Mallory <m@evil.example.net>",
        envelope_from="m@evil.example.net",
        dkim_domain="evil.example.net",
        from_domain="evil.example.net",
    )
    decision = opening(raw)
    assert (decision.action, decision.reason, decision.repo, decision.issue) == (
        "reject",
        "sender-not-allowed",
        "example-org/website",
        None,
    )
    forged = ses_mail(recipient="web-new@issues.example.com", dmarc="fail", spf="fail", dkim="fail")
    assert opening(forged).action == "reject"


def test_a_subject_alone_opens_an_issue_but_nothing_at_all_does_not():
    titled = opening(ses_mail("", recipient="web-new@issues.example.com", subject="Toner low"))
    assert (titled.action, titled.draft.title) == ("open", "Toner low")
    blank = opening(ses_mail("", recipient="web-new@issues.example.com", subject="Re:"))
    assert (blank.action, blank.reason) == ("reject", "empty-body")


def test_without_a_subject_the_title_is_the_first_line():
    decision = opening(
        ses_mail(
            "Kettle broken\r\nin room 2\r\n", recipient="web-new@issues.example.com", subject=""
        )
    )
    assert decision.draft.title == "Kettle broken"


def test_a_reply_names_the_thread_it_answers():
    raw = ses_mail(
        recipient="web-new@issues.example.com",
        extra="In-Reply-To: <conf@issues.example.com>\r\n"
        "References: <orig@example.com> <conf@issues.example.com>\r\n",
    )
    assert opening(raw).draft.thread == ("conf@issues.example.com", "orig@example.com")


def test_one_mail_to_two_new_issue_addresses_of_one_repository_opens_one_issue():
    """Two routes (two domains) open issues in one repository: a mail to both opens one."""
    routes = parse_routes(
        "routes:\n"
        "  - {domain: issues.example.com, repo: o/app, allowed_senders: [example.com],"
        " new_issue_address: new}\n"
        "  - {domain: alias.example.com, repo: O/App, allowed_senders: [example.com],"
        " new_issue_address: open}\n",
        "routes.yaml",
    )
    raw = ses_mail(
        recipient=None,
        to="new@issues.example.com",
        cc="open@alias.example.com, 12@issues.example.com",
    )
    record = envelope("new@issues.example.com", "open@alias.example.com", "12@issues.example.com")
    planned = plan(raw, routes, ses_record=record)
    assert [(d.action, d.reason, d.issue) for d in planned.decisions] == [
        ("open", "accepted", None),
        ("reject", "duplicate-recipient", None),
        ("comment", "accepted", 12),
    ]
    assert planned.decisions[1].detail == (
        "a new issue in O/App was already addressed by another recipient of this mail"
    )


class IssueTracker(FakeGitHub):
    """A GitHub that opens issues too, numbered from 100."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[tuple[str, str, str, tuple[str, ...]]] = []

    def create_issue(
        self, repo, title, body, labels=(), *, since=None, posting=None, finish=None
    ) -> PostedIssue:
        self.opened.append((repo, title, body, tuple(labels)))
        number = 99 + len(self.opened)
        return PostedIssue(number, f"https://github.com/{repo}/issues/{number}")


class MemoryClaims:
    """Claims as DynamoClaims keeps them, in a dict."""

    def __init__(self) -> None:
        self.done: dict[str, PostedComment] = {}

    def once(self, key, post, deadline) -> Claimed:
        if key in self.done:
            return Claimed(self.done[key], fresh=False)
        self.done[key] = post()
        return Claimed(self.done[key], fresh=True)


class MemoryThreads:
    def __init__(self) -> None:
        self.issues: dict[tuple[str, str], int] = {}

    def find(self, repo, message_ids):
        return next((self.issues[(repo, m)] for m in message_ids if (repo, m) in self.issues), None)

    def remember(self, repo, message_ids, issue):
        self.issues.update({(repo, m): issue for m in message_ids})


def run(raw: bytes, github, claims, threads) -> Decision:
    [done] = deliver(
        plan(raw, OPENING).decisions,
        OPENING,
        lambda route: github,
        claims=claims,
        threads=threads,
        deadline=NEVER,
    )
    return done


def test_opening_records_the_issue_and_its_thread():
    github, claims, threads = IssueTracker(), MemoryClaims(), MemoryThreads()
    raw = ses_mail(recipient="web-new@issues.example.com", subject="[BUG] Crash")
    done = run(raw, github, claims, threads)
    assert (done.action, done.reason, done.issue, done.url, done.detail) == (
        "open",
        "opened",
        100,
        "https://github.com/example-org/website/issues/100",
        "opened example-org/website#100",
    )
    [(repo, title, body, labels)] = github.opened
    assert (repo, title, labels) == ("example-org/website", "[BUG] Crash", ("from-mail", "triage"))
    assert body == plan(raw, OPENING).decisions[0].draft.body
    mail = done.mail
    assert threads.issues == {
        ("example-org/website", "m1@example.com"): 100,
        ("example-org/website", f"opened.{mail}@issues.example.com"): 100,
    }


def test_the_same_mail_again_opens_no_second_issue():
    """Same Message-ID twice -> one issue; the second is reported as already opened."""
    github, claims, threads = IssueTracker(), MemoryClaims(), MemoryThreads()
    raw = ses_mail(recipient="web-new@issues.example.com")
    run(raw, github, claims, threads)
    again = run(raw, github, claims, threads)
    assert (again.action, again.reason, again.issue, again.detail) == (
        "open",
        "already-opened",
        100,
        "this mail already opened example-org/website#100",
    )
    assert len(github.opened) == 1


def test_a_reply_that_kept_the_new_issue_address_comments_on_the_issue():
    github, claims, threads = IssueTracker(), MemoryClaims(), MemoryThreads()
    first = run(ses_mail(recipient="web-new@issues.example.com"), github, claims, threads)
    reply = ses_mail(
        "Also on floor 4.\r\n",
        recipient="web-new@issues.example.com",
        subject="Re: Build failure",
        extra=f"In-Reply-To: <opened.{first.mail}@issues.example.com>\r\n",
    ).replace(b"<m1@example.com>", b"<m2@example.com>")
    done = run(reply, github, claims, threads)
    assert (done.action, done.reason, done.repo, done.issue) == (
        "comment",
        "posted",
        "example-org/website",
        100,
    )
    assert isinstance(done.draft, CommentDraft)
    assert done.detail == "posted to example-org/website#100 (a reply in the thread that opened it)"
    assert len(github.opened) == 1
    [(repo, issue, body)] = github.posted
    assert (repo, issue) == ("example-org/website", 100)
    assert "Also on floor 4." in body


def test_opening_failures_keep_their_reason():
    class Gone(IssueTracker):
        def create_issue(
            self, repo, title, body, labels=(), *, since=None, posting=None, finish=None
        ):
            raise GitHubError(Reason.ISSUES_DISABLED, "issues are off", status=410)

    done = run(
        ses_mail(recipient="web-new@issues.example.com"), Gone(), MemoryClaims(), MemoryThreads()
    )
    assert (done.action, done.reason, done.retryable, done.repo) == (
        "reject",
        "issues-disabled",
        False,
        "example-org/website",
    )


def test_a_thread_map_that_cannot_be_written_retries_without_reopening():
    class Unwritable(MemoryThreads):
        def remember(self, repo, message_ids, issue):
            raise ThreadStoreError("cannot write the thread map (AccessDeniedException)")

    github, claims = IssueTracker(), MemoryClaims()
    raw = ses_mail(recipient="web-new@issues.example.com")
    failed = run(raw, github, claims, Unwritable())
    assert (failed.action, failed.reason, failed.retryable, failed.issue) == (
        "reject",
        "thread-store-unavailable",
        True,
        100,
    )
    assert failed.detail == (
        "opened example-org/website#100, but cannot write the thread map "
        "(AccessDeniedException): a reply could open another issue"
    )
    threads = MemoryThreads()
    retried = run(raw, github, claims, threads)
    assert (retried.reason, retried.issue) == ("already-opened", 100)
    assert len(github.opened) == 1
    assert threads.issues[("example-org/website", "m1@example.com")] == 100


def test_a_route_credential_failure_fails_only_its_decisions():
    def clients(route):
        raise StoreError(Reason.GITHUB_APP_KEY_UNAVAILABLE, "cannot read the key")

    [done] = deliver(
        plan(ses_mail(recipient="web-new@issues.example.com"), OPENING).decisions,
        OPENING,
        clients,
        deadline=NEVER,
    )
    assert (done.action, done.reason, done.retryable) == (
        "reject",
        "github-app-key-unavailable",
        True,
    )


def test_a_claimed_mail_needs_no_client():
    """A mail already posted is reported from its claim: no token is fetched for it."""
    claims = MemoryClaims()
    raw = ses_mail(recipient="web-new@issues.example.com")
    run(raw, IssueTracker(), claims, MemoryThreads())

    def clients(route):
        raise AssertionError("no client needed")

    [done] = deliver(plan(raw, OPENING).decisions, OPENING, clients, claims=claims, deadline=NEVER)
    assert done.reason == "already-opened"


def test_a_reply_all_that_opened_its_own_issue_stays_there_when_replayed():
    """Bob answered Alice's mail before her issue was known, and opened his own: replayed
    after hers is known, his mail is still his issue's, never also a comment on hers."""
    github, claims, threads = IssueTracker(), MemoryClaims(), MemoryThreads()
    bob = ses_mail(
        recipient="web-new@issues.example.com",
        extra="In-Reply-To: <alice@example.com>\r\n",
    )
    assert run(bob, github, claims, threads).issue == 100
    threads.remember("example-org/website", ["alice@example.com"], 7)
    replayed = run(bob, github, claims, threads)
    assert (replayed.action, replayed.reason, replayed.issue) == ("open", "already-opened", 100)
    assert github.posted == []


def test_a_reply_to_a_deleted_issue_opens_a_new_one():
    class Deleted(IssueTracker):
        def create_comment(self, repo, issue, body, *, since=None, posting=None, finish=None):
            raise GitHubError(Reason.ISSUE_GONE, "deleted", status=410)

    github, threads = Deleted(), MemoryThreads()
    threads.remember("example-org/website", ["orig@example.com"], 7)
    reply = ses_mail(
        recipient="web-new@issues.example.com",
        extra="References: <orig@example.com>\r\n",
    )
    done = run(reply, github, MemoryClaims(), threads)
    assert (done.action, done.reason, done.issue) == ("open", "opened", 100)
    assert len(github.opened) == 1


def test_an_issue_whose_number_is_unknown_is_not_counted_twice():
    class Unreadable(IssueTracker):
        def create_issue(
            self, repo, title, body, labels=(), *, since=None, posting=None, finish=None
        ):
            self.opened.append((repo, title, body, tuple(labels)))
            return PostedIssue(0, "")

    github, claims, threads = Unreadable(), MemoryClaims(), MemoryThreads()
    raw = ses_mail(recipient="web-new@issues.example.com")
    first = run(raw, github, claims, threads)
    again = run(raw, github, claims, threads)
    assert [(d.reason, d.issue, d.detail) for d in (first, again)] == [
        ("opened", None, "opened an issue in example-org/website (number not known)"),
        ("already-opened", None, "opened an issue in example-org/website (number not known)"),
    ]
    assert threads.issues == {}


def test_a_mail_without_message_id_still_threads_its_confirmation():
    github, threads = IssueTracker(), MemoryThreads()
    raw = ses_mail(recipient="web-new@issues.example.com").replace(
        b"Message-ID: <m1@example.com>\r\n", b""
    )
    done = run(raw, github, MemoryClaims(), threads)
    assert threads.issues == {
        ("example-org/website", f"opened.{done.mail}@issues.example.com"): 100,
    }


def test_labels_github_dropped_are_reported():
    """GitHub sets labels only for a credential that may push, and drops them silently."""

    class NoPush(IssueTracker):
        def create_issue(
            self, repo, title, body, labels=(), *, since=None, posting=None, finish=None
        ):
            opened = super().create_issue(repo, title, body, labels, since=since)
            return PostedIssue(opened.number, opened.url, ("Triage",))

    done = run(
        ses_mail(recipient="web-new@issues.example.com"), NoPush(), MemoryClaims(), MemoryThreads()
    )
    assert (done.reason, done.detail) == (
        "opened",
        "opened example-org/website#100; GitHub dropped the labels from-mail (the credential may "
        "not push there)",
    )
