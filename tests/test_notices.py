"""Notices to senders: who gets one, what it says, how often, and that failures stay quiet."""

from __future__ import annotations

import email
import json
from email.policy import default
from typing import Any, cast

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws

from handler import lambda_function
from handler.aws.notices import SesNotifier
from handler.aws.participants import DynamoSuppressions
from handler.deadline import Deadline
from handler.github.credentials import Credentials
from handler.github.errors import GitHubError, comment_refused
from handler.inbound.authenticity import Assessment
from handler.inbound.headers import Address
from handler.inbound.mail import Message, parse_mail
from handler.inbound.plan import Decision, IssueDraft
from handler.outbound.notices import Notice, notice_for, notice_key, render_notice
from handler.reasons import Reason
from handler.routing import Miss, Route, Routes, parse_routes
from handler.service.events import MailRef
from handler.service.inbound import Fetcher, Receiver, Runtime
from handler.wiring import Tables, inbound_runtime
from tests.conftest import TESTS
from tests.dynamo import create_claims_table
from tests.sesmail import ses_mail

RECIPIENT = "42@issues.example.com"
ALICE = Address("Alice", "alice", "allowed.org")
OK = Assessment(True, "authenticated", "DKIM pass for allowed.org", ALICE)
NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z
# How long a confirmation's key lives: as long as a claim (IDEMPOTENCY_TTL_SECONDS).
TTL = 91 * 86400


def route(**keys: Any) -> Route:
    values: dict[str, Any] = {
        "index": 0,
        "domain": "issues.example.com",
        "prefix": "",
        "repo": "example-org/site",
        "allowed_senders": ("allowed.org",),
    }
    return Route(**(values | keys))


def notice_under(
    decision: Decision,
    *routes: Route,
    message: Message | None = None,
    assessment: Assessment = OK,
) -> Notice | None:
    """The notice ``decision`` deserves under ``routes`` (a default route when none)."""
    under = Routes(routes or (route(),), "routes.yaml")
    return notice_for(decision, message or mail(), assessment, under)


def mail(*headers: str, sender: str = "Alice <alice@allowed.org>") -> Message:
    lines = [
        f"From: {sender}",
        f"To: {RECIPIENT}",
        "Subject: Broken link on the site",
        "Message-ID: <abc.123@mail.allowed.org>",
        *headers,
        "",
        "Secret body text that must never be echoed.",
    ]
    return parse_mail("\r\n".join(lines).encode())


def rejected(reason: str) -> Decision:
    return Decision(RECIPIENT, "reject", reason, "detail", "example-org/site", 42)


POSTED = Decision(
    RECIPIENT,
    "comment",
    "posted",
    "posted to example-org/site#42",
    "example-org/site",
    42,
    url="https://github.com/example-org/site/issues/42#issuecomment-1",
)


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("sender-not-allowed", "mail from allowed.org is not accepted at this address"),
        ("issue-not-found", "there is no issue 42 to comment on"),
        ("issue-locked", "issue 42 is locked"),
        ("empty-body", "it had no text and no attachment. Write your message in the mail's body"),
        ("encrypted-mail", "it was encrypted, and encrypted mail cannot be read here. Send it "),
    ],
)
def test_fixable_rejections_get_a_notice(reason: str, says: str):
    """Each reason a sender can fix yields a notice from the issue address to the sender."""
    notice = notice_under(rejected(reason))
    assert notice is not None
    assert (notice.reason, notice.to, notice.from_) == (reason, "alice@allowed.org", RECIPIENT)
    assert notice.subject == "Re: Broken link on the site"
    assert notice.in_reply_to == "abc.123@mail.allowed.org"
    assert says in notice.text
    assert "Secret body" not in notice.text


@pytest.mark.parametrize(
    "reason",
    [
        "not-authenticated",
        "spam",
        "virus",
        "auto-reply",
        "bounce",
        "list-mail",
        "bulk-mail",
        "invalid-from",
        "sender-mismatch",
        "invalid-address",
        "duplicate-recipient",
        "not-a-participant",
        "repo-not-visible",
        "validation-failed",
        "unparseable-mail",
        "github-forbidden",
    ],
)
def test_other_rejections_get_none(reason: str):
    """Reasons the sender cannot fix, or that doubt who the sender is, never yield a notice."""
    assert notice_under(rejected(reason)) is None


def test_unauthenticated_sender_gets_none_even_for_a_fixable_reason():
    """A failed assessment means the From may be forged: nothing is sent to it."""
    forged = Assessment(False, "not-authenticated", "no pass", ALICE)
    assert notice_under(rejected("issue-not-found"), assessment=forged) is None


def test_route_without_notify_sends_nothing():
    """notify: false turns a route's notices off."""
    assert notice_under(rejected("issue-locked"), route(notify=False)) is None


def test_retryable_decisions_get_none():
    """A decision that will be retried is not final, so it is not announced."""
    decision = Decision(RECIPIENT, "reject", "issue-locked", "d", retryable=True)
    assert notice_under(decision) is None


def test_confirmation_carries_the_comment_link_only_when_asked():
    """A posted mail yields a confirmation with the URL when the route sets confirm."""
    assert notice_under(POSTED) is None
    notice = notice_under(POSTED, route(notify=False, confirm=True))
    assert notice is not None
    assert notice.reason == "posted"
    assert notice.text.startswith(
        f"Your mail to {RECIPIENT} was posted as a comment: {POSTED.url}\n"
    )


def test_already_posted_is_not_confirmed_again():
    """A redelivered mail does not produce a second confirmation."""
    decision = Decision(RECIPIENT, "comment", "already-posted", "d", url="https://x/1")
    assert notice_under(decision, route(confirm=True)) is None


@pytest.mark.parametrize(
    "header",
    ["Auto-Submitted: auto-replied", "Precedence: bulk", "List-Id: <l.example.net>"],
)
def test_machine_mail_gets_none_even_if_it_passed(header: str):
    """Headers of machine mail stop a notice even on a fixable reason (no mail loops)."""
    assert notice_under(rejected("empty-body"), message=mail(header)) is None


@pytest.mark.parametrize(
    ("domain", "own"),
    [("issues.example.com", ()), ("bot.issues.example.com", ()), ("other.net", ("other.net",))],
)
def test_our_own_domains_get_none(domain: str, own: tuple[str, ...]):
    """Mail from a route domain (or below one), any route's, is ours: never answered."""
    sender = Address("", "x", domain)
    assessment = Assessment(True, "authenticated", "pass", sender)
    message = mail(sender=f"x@{domain}")
    others = [route(index=1, domain=each) for each in own]
    decision = rejected("empty-body")
    assert notice_under(decision, route(), *others, message=message, assessment=assessment) is None


def test_several_from_addresses_get_none():
    """A mail with two authors names no single sender to answer."""
    message = mail(sender="alice@allowed.org, bob@allowed.org")
    assert notice_under(rejected("empty-body"), message=message) is None


def test_non_ascii_sender_gets_none():
    """A sender address SES could not send to without SMTPUTF8 is skipped."""
    sender = Address("", "jörg", "allowed.org")
    assessment = Assessment(True, "authenticated", "pass", sender)
    assert notice_under(rejected("empty-body"), assessment=assessment) is None


def test_long_or_folded_subject_is_one_line_and_bounded():
    """The subject is unfolded and cut, and an existing Re: is not doubled."""
    message = mail()
    long = Message(**{**message.__dict__, "subject": "Re: a\r\n b " + "x" * 500})
    notice = notice_under(rejected("empty-body"), message=long)
    assert notice is not None
    assert notice.subject == ("Re: a b " + "x" * 500)[:200]
    empty = Message(**{**message.__dict__, "subject": "", "message_id": None})
    notice = notice_under(rejected("empty-body"), message=empty)
    assert notice is not None
    assert (notice.subject, notice.in_reply_to) == ("Re: your mail", None)


NOTICE = Notice(
    reason="issue-locked",
    to="alice@allowed.org",
    from_=RECIPIENT,
    subject="Re: Broken link",
    in_reply_to="abc.123@mail.allowed.org",
    text="Your mail was not posted.\n",
)


def test_rendered_notice_has_loop_stopping_headers():
    """The MIME notice is plain text, an RFC 3834 auto-reply, threaded under the original."""
    parsed = email.message_from_bytes(
        render_notice(NOTICE, now=NOW, domain="issues.example.com"), policy=default
    )
    assert parsed["From"] == RECIPIENT
    assert parsed["To"] == "alice@allowed.org"
    assert parsed["Subject"] == "Re: Broken link"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["In-Reply-To"] == "<abc.123@mail.allowed.org>"
    assert parsed["References"] == "<abc.123@mail.allowed.org>"
    assert parsed["Message-ID"].endswith("@issues.example.com>")
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == "Your mail was not posted.\r\n"


def test_key_is_per_sender_reason_and_utc_day():
    """The key hashes the address case-insensitively and changes with reason and UTC day."""
    key = notice_key(NOTICE, NOW)
    assert key.startswith("notice#")
    assert key.endswith("#issue-locked#2026-09-21")
    assert "alice" not in key
    upper = Notice(**{**NOTICE.__dict__, "to": "Alice@allowed.org"})
    assert notice_key(upper, NOW) == key
    assert notice_key(NOTICE, NOW + 86400).endswith("#2026-09-22")


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        create_claims_table(dynamodb)
        ses = boto3.client("ses")
        ses.verify_domain_identity(Domain="issues.example.com")
        yield ses, dynamodb


class Recording:
    """The SES client, remembering what was sent through it."""

    def __init__(self, ses) -> None:
        self.ses = ses
        self.sent: list[dict[str, Any]] = []

    def send_raw_email(self, **request: Any) -> Any:
        answer = self.ses.send_raw_email(**request)
        self.sent.append(request)
        return answer


def notifier_on(ses: Any, dynamodb: Any, table: str = "claims", **options: Any) -> SesNotifier:
    """A notifier keeping its keys in ``table``, at NOW with the test TTL unless ``options``
    say otherwise."""
    return SesNotifier(
        ses, dynamodb, table, **{"scoped_ttl_seconds": TTL, "clock": lambda: NOW, **options}
    )


def test_notifier_sends_once_per_sender_reason_and_day(aws):
    """The second notice of a day is rate-limited; another reason or day is sent."""
    ses, dynamodb = aws
    ses = Recording(ses)
    clock = [NOW]
    notifier = notifier_on(ses, dynamodb, clock=lambda: clock[0])
    assert notifier.send(NOTICE) == "sent"
    assert notifier.send(NOTICE) == "rate-limited"
    other = Notice(**{**NOTICE.__dict__, "reason": "empty-body"})
    assert notifier.send(other) == "sent"
    clock[0] = NOW + 86400
    assert notifier.send(NOTICE) == "sent"
    assert [(r["Source"], r["Destinations"]) for r in ses.sent] == [
        (RECIPIENT, ["alice@allowed.org"])
    ] * 3
    assert b"Auto-Submitted: auto-replied" in ses.sent[0]["RawMessage"]["Data"]
    item = dynamodb.get_item(TableName="claims", Key={"id": {"S": notice_key(NOTICE, NOW)}})
    assert item["Item"]["expiration"] == {"N": str(int(NOW) + 2 * 86400)}


@pytest.mark.parametrize(
    ("configuration_set", "named"),
    [("tr-mail", {"ConfigurationSetName": "tr-mail"}), ("", {})],
    ids=["configuration-set", "none"],
)
def test_notifier_sends_through_the_configuration_set(aws, configuration_set, named):
    """A notice names the configuration set (whose events report its bounce or complaint) when
    there is one, and nothing else is asked of SES."""
    ses, dynamodb = aws
    ses = Recording(ses)
    notifier = notifier_on(ses, dynamodb, configuration_set=configuration_set)
    assert notifier.send(NOTICE) == "sent"
    [request] = ses.sent
    assert request == {
        "Source": RECIPIENT,
        "Destinations": ["alice@allowed.org"],
        "RawMessage": {"Data": request["RawMessage"]["Data"]},
        **named,
    }
    assert b"\r\nSubject: Re: Broken link\r\n" in request["RawMessage"]["Data"]


NOTIFYING_ROUTES = parse_routes(
    "routes:\n- {domain: issues.example.com, repo: o/r, allowed_senders: [allowed.org],"
    " notify: true}\n",
    "routes.yaml",
)


def test_the_inbound_runtime_notifies_through_the_configuration_set(aws):
    """What the Lambda and the CLI build: its notifier sends through ses_configuration_set."""
    ses, dynamodb = aws
    ses = Recording(ses)
    built = inbound_runtime(
        NOTIFYING_ROUTES,
        store=cast("Fetcher", None),
        credentials=Credentials(None, lambda: "token"),
        tables=Tables(dynamodb, "claims"),
        ses=ses,
        ses_configuration_set="tr-mail",
    )
    assert built.notifier is not None
    assert built.notifier.send(NOTICE) == "sent"
    assert [request["ConfigurationSetName"] for request in ses.sent] == ["tr-mail"]


def test_the_lambda_passes_its_configuration_set_to_the_notices(monkeypatch):
    """SES_CONFIGURATION_SET (Terraform's) reaches the notices; unset, none is named."""
    passed: list[str] = []

    def capture(*args: Any, **kwargs: Any) -> Runtime:
        passed.append(kwargs["ses_configuration_set"])
        raise _Built

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setattr(lambda_function, "inbound_runtime", capture)
    monkeypatch.setenv("ROUTES_FILE", str(TESTS / "lambda" / "routes.yaml"))
    for value in ("tr-mail", None):
        if value is None:
            monkeypatch.delenv("SES_CONFIGURATION_SET")
        else:
            monkeypatch.setenv("SES_CONFIGURATION_SET", value)
        lambda_function.runtime.cache_clear()
        with pytest.raises(_Built):
            lambda_function.runtime()
    lambda_function.runtime.cache_clear()
    assert passed == ["tr-mail", ""]


class _Built(Exception):
    """Raised in place of building the runtime, once its arguments are seen."""


def test_notifier_reports_an_ses_failure_without_raising(aws, caplog):
    """An unverified From makes SES refuse; the notifier logs it and returns failed."""
    ses, dynamodb = aws
    notice = Notice(**{**NOTICE.__dict__, "from_": "42@unverified.example.net"})
    assert notifier_on(ses, dynamodb).send(notice) == "failed"
    [record] = [r for r in caplog.records if r.message == "notice not sent"]
    assert record.notice_failure == "SES: MessageRejected"
    assert "alice" not in str(record.__dict__)


def test_notifier_reports_a_store_failure_without_sending(aws):
    """Without the table, nothing is sent (no rate limit, no notice) and nothing raises."""
    ses, dynamodb = aws
    ses = Recording(ses)
    assert notifier_on(ses, dynamodb, "missing").send(NOTICE) == "failed"
    assert ses.sent == []


def test_notifier_never_mails_a_suppressed_address(aws):
    """An address that bounced or complained gets no notice, and no rate-limit key is spent."""
    ses, dynamodb = aws
    ses = Recording(ses)
    suppressions = DynamoSuppressions(dynamodb, "claims", clock=lambda: NOW)
    suppressions.suppress("Alice@Allowed.org", "complaint")
    notifier = notifier_on(ses, dynamodb, suppressions=suppressions)
    assert notifier.send(NOTICE) == "suppressed"
    assert ses.sent == []
    assert [
        item["id"]["S"].split("#")[0] for item in dynamodb.scan(TableName="claims")["Items"]
    ] == ["suppressed"]


class _Refusing:
    def put_item(self, **_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")


def test_notifier_store_errors_are_failures_not_rate_limits(aws):
    """Only a failed condition means already told; any other store error is a failure."""
    ses, _ = aws
    assert notifier_on(ses, _Refusing()).send(NOTICE) == "failed"


ROUTES = parse_routes(
    "routes:\n"
    "  - {domain: issues.example.com, repo: o/site, allowed_senders: [example.com],"
    " notify: true}\n"
    "  - {domain: quiet.example.com, repo: o/quiet, allowed_senders: [example.com],"
    " notify: false}\n",
    "routes.yaml",
)


class OneMail:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def fetch(self, bucket: str, key: str) -> bytes:
        return self.raw


class LockedIssue:
    def create_comment(self, repo, issue, body, *, since=None, posting=None, finish=None):
        raise GitHubError(Reason.ISSUE_LOCKED, f"{repo}#{issue} is locked")


class Told:
    """A notifier that records what it was asked to send, or fails as told."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.notices: list[Notice] = []
        self.failure = failure

    def send(self, notice: Notice) -> str:
        self.notices.append(notice)
        if self.failure is not None:
            raise self.failure
        return "sent"


def run(raw: bytes, notifier: Told) -> list[Decision]:
    runtime = Runtime(
        routes=ROUTES,
        store=OneMail(raw),
        github=lambda route, deadline: LockedIssue(),
        bucket="mail",
        prefix="",
        notifier=notifier,  # type: ignore[arg-type]
    )
    return list(Receiver(runtime).receive(MailRef("mail", "k"), Deadline.within(60.0)))


def test_invocation_notifies_after_github_refuses():
    """A locked issue, known only after posting, yields one notice from the issue address."""
    told = Told()
    [decision] = run(ses_mail(), told)
    assert decision.reason == "issue-locked"
    [notice] = told.notices
    assert (notice.reason, notice.to, notice.from_) == (
        "issue-locked",
        "alice@example.com",
        "7@issues.example.com",
    )
    assert notice.in_reply_to == "m1@example.com"


def test_invocation_sends_nothing_for_a_forged_sender():
    """A mail whose From SES did not authenticate gets no notice, whatever the reason."""
    told = Told()
    raw = ses_mail("", dkim="fail", dmarc="fail", spf="fail")
    [decision] = run(raw, told)
    assert decision.reason == "not-authenticated"
    assert told.notices == []


def test_invocation_skips_routes_without_notify():
    """The same rejection on a route with notify: false sends nothing."""
    told = Told()
    [decision] = run(ses_mail("", to="7@quiet.example.com", recipient="7@quiet.example.com"), told)
    assert decision.reason == "empty-body"
    assert told.notices == []


def test_a_failing_notifier_changes_no_decision(caplog):
    """A notifier that raises is logged as a failed notice; the decision stands as it was."""
    told = Told(RuntimeError("boom"))
    [decision] = run(ses_mail(""), told)
    assert (decision.reason, decision.retryable) == ("empty-body", False)
    [record] = [r for r in caplog.records if r.message == "notice"]
    assert record.notice == "failed (RuntimeError)"
    assert record.levelname == "WARNING"


# --- confirming a new issue -----------------------------------------------------------------

MAIL_KEY = "a" * 32
OPENED = Decision(
    "web-new@issues.example.com",
    "open",
    "opened",
    "opened example-org/site#57",
    "example-org/site",
    57,
    url="https://github.com/example-org/site/issues/57",
    mail=MAIL_KEY,
    draft=IssueDraft("Broken link on the site", "body"),
)


def opener(**keys: Any) -> Route:
    """The route of web-<n>@ and web-new@issues.example.com."""
    return route(prefix="web-", new_issue_address="web-new", **keys)


def test_a_new_issue_is_confirmed_from_its_own_address():
    """The confirmation comes from <prefix><number>@domain, so that a reply comments on it."""
    notice = notice_under(OPENED, opener(notify=False, confirm=True))
    assert notice == Notice(
        reason="opened",
        to="alice@allowed.org",
        from_="web-57@issues.example.com",
        subject="Re: Broken link on the site",
        in_reply_to="abc.123@mail.allowed.org",
        text=(
            "Your mail opened issue #57 in example-org/site: "
            "https://github.com/example-org/site/issues/57\n\n"
            "Reply to this mail, or write to web-57@issues.example.com, to add a comment to it."
            "\n\n-- \nThis is an automatic message.\n"
        ),
        message_id=f"opened.{MAIL_KEY}@issues.example.com",
        scope="example-org/site#57",
    )


def test_a_new_issue_is_confirmed_only_when_the_route_asks():
    assert notice_under(OPENED, opener(notify=True, confirm=False)) is None


def test_a_retry_that_finds_the_issue_opened_confirms_it_under_the_same_key():
    """A retry (already-opened) still confirms: the first attempt may have failed before it;
    the key, per issue, keeps it to one confirmation."""
    again = Decision(**{**OPENED.__dict__, "reason": "already-opened"})
    first = notice_under(OPENED, opener(confirm=True))
    second = notice_under(again, opener(confirm=True))
    assert first is not None
    assert first == second
    # Once per issue, not per day: a replay on a later day confirms nothing again.
    assert notice_key(first, NOW).endswith("#opened#example-org/site#57")
    assert notice_key(first, NOW + 30 * 86400) == notice_key(first, NOW)


def test_a_new_issue_is_not_confirmed_to_machines_or_forgers():
    assert (
        notice_under(OPENED, opener(confirm=True), message=mail("Auto-Submitted: auto-replied"))
        is None
    )
    forged = Assessment(False, "dmarc-fail", "DMARC fail", ALICE)
    assert notice_under(OPENED, opener(confirm=True), assessment=forged) is None


def test_the_confirmation_threads_under_the_mail_with_the_known_message_id():
    notice = notice_under(OPENED, opener(confirm=True))
    assert notice is not None
    parsed = email.message_from_bytes(
        render_notice(notice, now=NOW, domain="issues.example.com"), policy=default
    )
    assert parsed["From"] == "web-57@issues.example.com"
    assert parsed["In-Reply-To"] == "<abc.123@mail.allowed.org>"
    assert parsed["References"] == "<abc.123@mail.allowed.org>"
    assert parsed["Message-ID"] == f"<opened.{MAIL_KEY}@issues.example.com>"
    assert parsed["Auto-Submitted"] == "auto-replied"


def test_an_empty_mail_to_a_new_issue_address_is_told_so():
    """An empty mail to the new-issue address gets the empty-body notice from that address."""
    decision = Decision("web-new@issues.example.com", "reject", "empty-body", "d", "o/site")
    notice = notice_under(decision, opener())
    assert notice is not None
    assert (notice.from_, notice.text) == (
        "web-new@issues.example.com",
        "Your mail to web-new@issues.example.com was not posted: it had no text and no "
        "attachment. Write your message in the mail's body.\n\n-- \n"
        "This is an automatic message.\n",
    )


def test_a_confirmation_key_lives_as_long_as_the_claims(aws):
    ses, dynamodb = aws
    notice = notice_under(OPENED, opener(confirm=True))
    assert notice is not None
    notifier = SesNotifier(ses, dynamodb, "claims", scoped_ttl_seconds=1000, clock=lambda: NOW)
    assert notifier.send(notice) == "sent"
    later = SesNotifier(
        ses, dynamodb, "claims", scoped_ttl_seconds=TTL, clock=lambda: NOW + 40 * 86400
    )
    assert later.send(notice) == "rate-limited"
    [item] = dynamodb.scan(TableName="claims")["Items"]
    assert item["expiration"] == {"N": str(int(NOW) + 1000)}


# --- mail that names no issue, who to ask, a route's own texts ------------------------------

DOMAIN_ROUTES = parse_routes(
    """
routes:
  - domain: issues.example.com
    prefix: web-
    repo: example-org/website
    allowed_senders: [allowed.org]
    name: Example website
    new_issue_address: new
  - {domain: issues.example.com, prefix: docs-, repo: example-org/docs, allowed_senders: [a.org]}
  - {domain: other.example.net, repo: example-org/other, allowed_senders: [allowed.org]}
""",
    "routes.yaml",
)
FOOTER = "\n\n-- \nThis is an automatic message.\n"


def missed(address: str, routes: Routes = DOMAIN_ROUTES) -> Decision:
    """The decision for a recipient the routes cannot place, as the plan makes it."""
    miss = routes.lookup(address)
    assert isinstance(miss, Miss)
    return Decision(address, "reject", miss.reason, miss.detail)


def test_a_mistyped_address_is_told_the_valid_addresses_of_its_domain():
    """invalid-issue-number lists every address form of the recipient's domain, and only its."""
    decision = missed("wbe-7@Issues.Example.com")
    assert decision.reason == "invalid-issue-number"
    notice = notice_for(decision, mail(), OK, DOMAIN_ROUTES)
    assert notice is not None
    assert (notice.reason, notice.to, notice.from_) == (
        "invalid-issue-number",
        "alice@allowed.org",
        "wbe-7@issues.example.com",
    )
    assert notice.text == (
        "Your mail to wbe-7@issues.example.com was not posted: that address names no issue. "
        "The addresses here are:\n"
        "- web-<issue number>@issues.example.com: comment on that issue (Example website)\n"
        "- web-new@issues.example.com: open a new issue (Example website)\n"
        "- docs-<issue number>@issues.example.com: comment on that issue\n\n"
        "Send it again to one of them, with the issue's number in place of <issue number>." + FOOTER
    )


def test_no_route_on_a_domain_with_routes_is_told_its_addresses():
    """A local part that no route of the domain takes is told so, with the domain's forms."""
    decision = Decision("help@other.example.net", "reject", "no-route", "no route for help@")
    notice = notice_for(decision, mail(), OK, DOMAIN_ROUTES)
    assert notice is not None
    assert notice.text == (
        "Your mail to help@other.example.net was not posted: nothing receives mail at that "
        "address. The addresses here are:\n"
        "- <issue number>@other.example.net: comment on that issue\n\n"
        "Send it again to one of them, with the issue's number in place of <issue number>." + FOOTER
    )


def test_mail_to_a_domain_without_routes_gets_none():
    """No route of ours speaks for a domain we do not receive: nothing is sent."""
    assert notice_for(missed("7@elsewhere.example.org"), mail(), OK, DOMAIN_ROUTES) is None


def test_unrouted_mail_is_silent_when_any_route_of_its_domain_says_notify_false():
    """One route of the domain with notify: false keeps the whole domain's unrouted mail quiet;
    another domain's setting does not count."""
    quiet = parse_routes(
        "routes:\n"
        "  - {domain: issues.example.com, prefix: web-, repo: o/web, allowed_senders: [a.org]}\n"
        "  - {domain: issues.example.com, prefix: docs-, repo: o/docs, allowed_senders: [a.org],"
        " notify: false}\n"
        "  - {domain: other.example.net, repo: o/other, allowed_senders: [a.org], notify: false}\n"
        "  - {domain: third.example.net, repo: o/third, allowed_senders: [a.org]}\n",
        "routes.yaml",
    )
    assert notice_for(missed("wbe-7@issues.example.com", quiet), mail(), OK, quiet) is None
    assert notice_for(missed("x@third.example.net", quiet), mail(), OK, quiet) is not None


def test_unrouted_mail_is_told_in_the_words_of_the_domains_first_route():
    """The first route of the domain (file order) gives the text and its {repo}."""
    routes = parse_routes(
        "routes:\n"
        "  - {domain: issues.example.com, prefix: web-, repo: o/web, allowed_senders: [a.org],"
        ' notices: {invalid-issue-number: "No issue at {recipient} ({repo}):\\n{addresses}"}}\n'
        "  - {domain: issues.example.com, prefix: docs-, repo: o/docs, allowed_senders: [a.org],"
        " notices: {invalid-issue-number: 'Second route speaking'}}\n",
        "routes.yaml",
    )
    notice = notice_for(missed("web-x@issues.example.com", routes), mail(), OK, routes)
    assert notice is not None
    assert notice.text == (
        "No issue at web-x@issues.example.com (o/web):\n"
        "- web-<issue number>@issues.example.com: comment on that issue\n"
        "- docs-<issue number>@issues.example.com: comment on that issue" + FOOTER
    )


def test_a_long_list_of_addresses_is_cut():
    """A domain with many routes lists the first eleven forms and how many more there are."""
    routes = tuple(route(index=n, prefix=f"p{n}-") for n in range(15))
    notice = notice_under(Decision("x@issues.example.com", "reject", "no-route", "d"), *routes)
    assert notice is not None
    lines = notice.text.split("\n")
    listed = [line for line in lines if line.startswith("- ")]
    assert listed == [
        *(f"- p{n}-<issue number>@issues.example.com: comment on that issue" for n in range(11)),
        "- and 4 more",
    ]


@pytest.mark.parametrize(
    ("contact", "ask"),
    [
        (None, "the maintainers of example-org/site"),
        ("help@example.org", "the maintainers at help@example.org"),
        ("https://example.org/support", "the maintainers at https://example.org/support"),
    ],
)
def test_a_sender_not_allowed_is_told_who_to_ask(contact: str | None, ask: str):
    """The route's contact, else the maintainers of its repository."""
    notice = notice_under(rejected("sender-not-allowed"), route(contact=contact))
    assert notice is not None
    assert notice.text == (
        f"Your mail to {RECIPIENT} was not posted: mail from allowed.org is not accepted at this "
        f"address. If you should be able to write here, ask {ask} to add your domain." + FOOTER
    )


def test_a_routes_own_text_replaces_the_built_in_one_with_every_placeholder():
    """Each placeholder is filled; doubled braces are literal; other notices keep theirs."""
    template = "{recipient}|{issue}|{domain}|{repo}|{contact}|{{literal}}\n{addresses}"
    own = route(notices=((Reason.ISSUE_LOCKED, template),), contact="help@example.org")
    notice = notice_under(rejected("issue-locked"), own)
    assert notice is not None
    assert notice.text == (
        f"{RECIPIENT}|42|allowed.org|example-org/site|the maintainers at help@example.org|"
        "{literal}\n- <issue number>@issues.example.com: comment on that issue" + FOOTER
    )
    other = notice_under(rejected("empty-body"), own)
    assert other is not None
    assert other.text.startswith(f"Your mail to {RECIPIENT} was not posted: it had no text")


def test_a_routes_own_confirmations_name_the_link_and_the_reply_address():
    """posted and opened texts may use {url}, and opened {reply_to}."""
    posted = route(confirm=True, notices=((Reason.POSTED, "Now at {url}"),))
    notice = notice_under(POSTED, posted)
    assert notice is not None
    assert notice.text == f"Now at {POSTED.url}" + FOOTER
    opened = opener(confirm=True, notices=((Reason.OPENED, "#{issue} {url} via {reply_to}"),))
    notice = notice_under(OPENED, opened)
    assert notice is not None
    assert notice.text == (
        "#57 https://github.com/example-org/site/issues/57 via web-57@issues.example.com" + FOOTER
    )


def _answer(status: int, payload: dict[str, Any]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(payload).encode()
    return response


def test_github_refusing_the_mail_as_too_long_is_told():
    """GitHub's 422 "body is too long" is a notice; any other validation failure is none."""
    too_long = comment_refused(
        _answer(
            422,
            {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "IssueComment",
                        "code": "custom",
                        "field": "body",
                        "message": "body is too long (maximum is 65536 characters)",
                    }
                ],
            },
        ),
        "example-org/site#42",
    )
    decision = Decision(RECIPIENT, "reject", too_long.reason, too_long.detail, "o/site", 42)
    notice = notice_under(decision)
    assert notice is not None
    assert notice.text == (
        f"Your mail to {RECIPIENT} was not posted: GitHub refused it as too long. Send it "
        "again shorter, or split it over several mails." + FOOTER
    )
    other = comment_refused(
        _answer(422, {"message": "Validation Failed", "errors": [{"code": "invalid"}]}),
        "example-org/site#42",
    )
    decision = Decision(RECIPIENT, "reject", other.reason, other.detail, "o/site", 42)
    assert other.reason == too_long.reason == "validation-failed"
    assert notice_under(decision) is None


def test_a_repository_the_credential_cannot_see_is_never_told():
    """repo-not-visible is retried and alarmed, never reported to the sender as a missing issue."""
    for retryable in (True, False):
        decision = Decision(RECIPIENT, "reject", "repo-not-visible", "d", retryable=retryable)
        assert notice_under(decision) is None


def test_a_mistyped_address_is_answered_through_ses_once_a_day(aws):
    """End to end (moto SES and DynamoDB): an authenticated sender's mail to an address that
    names no issue is answered from that address, once per day however often they retry."""
    ses, dynamodb = aws
    recording = Recording(ses)
    raw = ses_mail(
        from_="Alice <alice@allowed.org>",
        envelope_from="alice@allowed.org",
        dkim_domain="allowed.org",
        from_domain="allowed.org",
        recipient="web-7a@issues.example.com",
    )
    runtime = Runtime(
        routes=DOMAIN_ROUTES,
        store=OneMail(raw),
        notifier=notifier_on(recording, dynamodb),
    )
    for _ in range(2):
        [decision] = Receiver(runtime).receive(MailRef("mail", "k"), Deadline.within(60.0))
        assert (decision.reason, decision.retryable) == ("invalid-issue-number", False)
    [request] = recording.sent
    assert (request["Source"], request["Destinations"]) == (
        "web-7a@issues.example.com",
        ["alice@allowed.org"],
    )
    sent = email.message_from_bytes(request["RawMessage"]["Data"], policy=default)
    assert (sent["Subject"], sent["In-Reply-To"]) == ("Re: Build failure", "<m1@example.com>")
    assert sent.get_content() == (
        "Your mail to web-7a@issues.example.com was not posted: that address names no issue. "
        "The addresses here are:\r\n"
        "- web-<issue number>@issues.example.com: comment on that issue (Example website)\r\n"
        "- web-new@issues.example.com: open a new issue (Example website)\r\n"
        "- docs-<issue number>@issues.example.com: comment on that issue\r\n\r\n"
        "Send it again to one of them, with the issue's number in place of <issue number>."
        "\r\n\r\n-- \r\nThis is an automatic message.\r\n"
    )


@pytest.mark.parametrize(
    ("keys", "built"),
    [("", True), (" notify: false,", False), (" notify: false, confirm: true,", True)],
)
def test_the_runtime_has_a_notifier_unless_every_route_is_silent(aws, keys: str, built: bool):
    """Routes that do not mention notify are told by default; only notify: false everywhere
    (and no confirm) leaves the runtime without a notifier."""
    ses, dynamodb = aws
    routes = parse_routes(
        f"routes:\n- {{domain: issues.example.com,{keys} repo: o/r, allowed_senders: [a.org]}}\n",
        "routes.yaml",
    )
    runtime = inbound_runtime(
        routes,
        store=cast("Fetcher", None),
        credentials=Credentials(None, lambda: "token"),
        tables=Tables(dynamodb, "claims"),
        ses=ses,
    )
    assert (runtime.notifier is not None) == built


@pytest.mark.parametrize(
    "block",
    [{"spam": "FAIL"}, {"virus": "FAIL"}, {"dkim": "fail", "dmarc": "fail", "spf": "fail"}],
    ids=["spam", "virus", "forged"],
)
def test_spam_or_forged_mail_to_a_mistyped_address_gets_none(block: dict[str, str]):
    """The address is judged before the sender, but a notice still needs a sender SES vouched
    for and a mail it did not call spam or a virus."""
    told = Told()
    raw = ses_mail(recipient="7x@issues.example.com", **block)
    [decision] = run(raw, told)
    assert decision.reason == "invalid-issue-number"
    assert told.notices == []
    [decision] = run(ses_mail(recipient="7x@issues.example.com"), told)
    assert [notice.reason for notice in told.notices] == ["invalid-issue-number"]
