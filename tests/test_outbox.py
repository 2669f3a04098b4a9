"""The outbox: GitHub events mailed to an issue's participants, SES feedback recorded; with moto's
DynamoDB and SES and GitHub's own webhook payloads."""

from __future__ import annotations

import copy
import email
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from email import policy
from typing import Any

import boto3
import hcl2
import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from handler import outbox_function
from handler.aws.claims import DynamoClaims
from handler.aws.lambda_runtime import LazyClient
from handler.aws.participants import DynamoParticipants, DynamoSuppressions
from handler.aws.ses import CLIENT_CONFIG, SesMailer
from handler.deadline import Deadline
from handler.github.posts import PostedComment, marker
from handler.outbound.errors import MailOutcomeUnknown, OutboundError
from handler.outbound.github_events import WorkItem, work_item
from handler.outbound.outbox import Outgoing, UnreadableMessage, recipients, web_url
from handler.outbound.participants import (
    Authorship,
    Participant,
    ParticipantStoreError,
    address_digest,
)
from handler.reasons import Reason, RetryLater
from handler.routing import Routes, parse_routes
from handler.service.claims import Claimed, ClaimStoreError
from handler.service.outbox import DEFAULT_CLAIM_HOLD, Outbox, handle_batch
from tests.claims_clock import claims_timed_by
from tests.conftest import ROOT, TESTS
from tests.dynamo import CLAIMS_TABLE

NOW = 1_790_000_000.0


# The invocation's end, a minute away.
LEFT = Deadline(60.0, clock=lambda: 0.0)


WEBHOOKS = TESTS / "github" / "webhooks"
EVENTS = TESTS / "events"

ROUTES = parse_routes(
    """
routes:
  - domain: hello.example.com
    prefix: hw-
    repo: Codertocat/Hello-World
    name: Hello World
    allowed_senders: [example.com, allowed.org]
    notify_participants: true
  - domain: hello.example.com
    prefix: quiet-
    repo: Codertocat/Hello-World
    allowed_senders: [example.com]
  - domain: app.example.com
    repo: octo-org/app
    allowed_senders: [example.com]
    notify_participants: true
    github_app: {app_id: 12345, installation_id: 7, private_key_secret: app-key}
  - domain: ghes.example.com
    repo: Codertocat/Hello-World
    allowed_senders: [example.com]
    notify_participants: true
    token_secret: ghes-token
    api_url: https://github.example.com/api/v3
""",
    "routes.yaml",
)

ALICE = Participant("alice@example.com", "hello.example.com", "hw-", "a1@example.com", "Typo")
BOB = Participant("bob@example.com", "hello.example.com", "hw-", None)


def payload(name: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / name).read_text())


def item(name: str = "issue_comment.created.1.json", **changes: Any) -> WorkItem:
    data = payload(name)
    event = name.split(".", maxsplit=1)[0]
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = data
        for parent in parents:
            node = node[parent]
        node[last] = value
    made = work_item(event, "d-1", data)
    assert isinstance(made, WorkItem)
    return made


def closed() -> WorkItem:
    """GitHub's examples have no issues "closed": the reopened one, closed."""
    data = copy.deepcopy(payload("issues.reopened.json"))
    data["action"] = "closed"
    data["issue"]["state"] = "closed"
    data["issue"]["state_reason"] = "completed"
    made = work_item("issues", "d-2", data)
    assert isinstance(made, WorkItem)
    return made


class Recording:
    """The SES client, remembering what was sent; ``fail`` raises that code instead, once."""

    def __init__(self, ses: Any) -> None:
        self.ses = ses
        self.sent: list[dict[str, Any]] = []
        self.fail: list[str] = []

    def send_raw_email(self, **request: Any) -> Any:
        if self.fail:
            code = self.fail.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": "no"}}, "SendRawEmail")
        answer = self.ses.send_raw_email(**request)
        self.sent.append(request)
        return answer


@pytest.fixture
def aws(dynamodb):
    ses = boto3.client("ses", region_name="eu-west-1")
    ses.verify_domain_identity(Domain="hello.example.com")
    ses.verify_domain_identity(Domain="app.example.com")
    ses.verify_domain_identity(Domain="ghes.example.com")
    return dynamodb, Recording(ses)


def outbox(
    dynamodb: Any,
    ses: Any,
    link: str | None = "https://hook.example/unsubscribe?x=1",
    api_url: str = "https://api.github.com",
    claim_hold: float = DEFAULT_CLAIM_HOLD,
    *,
    configuration_set: str = "",
    authors: Authors | None = None,
    participants: Any = None,
):
    return Outbox(
        ROUTES,
        participants or DynamoParticipants(dynamodb, CLAIMS_TABLE, clock=lambda: NOW),
        DynamoSuppressions(dynamodb, CLAIMS_TABLE, clock=lambda: NOW),
        DynamoClaims(CLAIMS_TABLE, dynamodb, expires_after_seconds=3600),
        SesMailer(ses, configuration_set),
        unsubscribe_url=lambda repo, issue, address: link,
        authors=authors or Authors(),
        github_api_url=api_url,
        claim_hold=claim_hold,
        clock=lambda: NOW,
    )


class Authors:
    """Who each posted mail came from, in memory; ``failing`` raises as a store out of reach."""

    def __init__(self, **records: Authorship) -> None:
        self.records = dict(records)
        self.failing = False
        self.asked: list[str] = []

    def record(self, mail: str, authorship: Authorship) -> None:
        self.records[mail] = authorship

    def of(self, mail: str) -> Authorship | None:
        self.asked.append(mail)
        if self.failing:
            raise ParticipantStoreError("the authors' table cannot be read")
        return self.records.get(mail)


def join(dynamodb: Any, *people: Participant, repo: str = "codertocat/hello-world") -> None:
    store = DynamoParticipants(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    for person in people:
        store.add(repo, 1, person, NOW)


def sent_mail(request: dict[str, Any]) -> email.message.EmailMessage:
    return email.message_from_bytes(request["RawMessage"]["Data"], policy=policy.default)


def test_a_comment_is_mailed_to_each_participant_from_the_issue_address(aws):
    """Each participant gets one mail from hw-1@, answering their own latest mail."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB)
    decisions = outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert decisions == [
        Outgoing("mail", "mailed", "mailed from hw-1@hello.example.com", address_digest(who))
        for who in ("alice@example.com", "bob@example.com")
    ]
    assert [(r["Source"], r["Destinations"]) for r in ses.sent] == [
        ("hw-1@hello.example.com", ["alice@example.com"]),
        ("hw-1@hello.example.com", ["bob@example.com"]),
    ]
    to_alice, to_bob = (sent_mail(request) for request in ses.sent)
    assert to_alice["From"] == "Hello World <hw-1@hello.example.com>"
    assert to_alice["Reply-To"] == "hw-1@hello.example.com"
    assert to_alice["Subject"] == "Re: Typo"
    assert to_alice["In-Reply-To"] == "<a1@example.com>"
    assert to_alice["References"] == "<a1@example.com>"
    assert to_alice["Auto-Submitted"] == "auto-generated"
    assert to_alice["List-Unsubscribe"] == (
        "<https://hook.example/unsubscribe?x=1>, "
        "<mailto:hw-1+unsubscribe@hello.example.com?subject=unsubscribe>"
    )
    plain = to_alice.get_body(("plain",)).get_content()
    assert "You are totally right! I'll get this fixed right away." in plain
    # Bob never wrote a subject or a Message-ID we know: the issue's title, no threading.
    assert to_bob["Subject"] == "Re: Spelling error in the README file"
    assert to_bob["In-Reply-To"] is None
    assert to_alice["Message-ID"] != to_bob["Message-ID"]


CAROL = Participant("carol@example.com", "ghes.example.com", "", None)


def links(request: dict[str, Any]) -> list[str]:
    """The links of a mail's HTML part, in order."""
    page = sent_mail(request).get_body(("html",)).get_content()
    return re.findall(r'href="([^"]*)"', page)


def test_links_are_built_on_the_github_of_each_participants_route(aws):
    """The issue and comment links come from the repository, the issue's number and the
    comment's id, on github.com for a route of the deployment's API and on the Enterprise
    Server a route's api_url names; the payload's html_url (a signer's to choose) is never
    used."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, CAROL)
    phishing = item(
        issue__html_url="https://evil.example/login",
        comment__html_url="https://evil.example/login#issuecomment-1",
    )
    outbox(dynamodb, ses).handle(phishing.to_json(), LEFT)
    to_alice, to_carol = ses.sent
    issue = "https://github.com/Codertocat/Hello-World/issues/1"
    assert links(to_alice) == [
        issue,
        issue,
        f"{issue}#issuecomment-492700400",
        "https://hook.example/unsubscribe?x=1",
    ]
    plain = sent_mail(to_alice).get_body(("plain",)).get_content()
    assert f"view it on GitHub: {issue}#issuecomment-492700400\r\n" in plain
    ghes = "https://github.example.com/Codertocat/Hello-World/issues/1"
    assert links(to_carol)[:3] == [ghes, ghes, f"{ghes}#issuecomment-492700400"]
    assert "evil.example" not in str(ses.sent)


def test_links_follow_the_deployments_api(aws):
    """A deployment whose GITHUB_API_URL is an Enterprise Server links its routes there."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    outbox(dynamodb, ses, api_url="https://ghe.example.org/api/v3").handle(closed().to_json(), LEFT)
    [mail] = ses.sent
    assert links(mail)[0] == "https://ghe.example.org/Codertocat/Hello-World/issues/1"


@pytest.mark.parametrize(
    ("api_url", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://api.octo-corp.ghe.com", "https://octo-corp.ghe.com"),
        ("https://github.example.com/api/v3", "https://github.example.com"),
        ("https://github.example.com:8443/api/v3", "https://github.example.com:8443"),
        ("https://api.example.com/api/v3", "https://api.example.com"),
    ],
)
def test_web_url_of_an_api(api_url, web):
    """GitHub's web site from its API's URL: github.com, GHE.com and GitHub Enterprise Server."""
    [route] = [r for r in ROUTES.routes if r.api_url is not None]
    assert web_url(route, api_url) == "https://github.example.com"
    assert web_url(ROUTES.routes[0], api_url) == web


def test_a_message_delivered_again_mails_nobody_twice(aws):
    """SQS's second delivery, or the same comment from a second webhook, finds the claims."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    other_delivery = WorkItem(**{**item().__dict__, "delivery": "d-9"})
    assert [d.reason for d in outbox(dynamodb, ses).handle(other_delivery.to_json(), LEFT)] == [
        "already-mailed"
    ]
    assert len(ses.sent) == 1


def test_a_posted_mail_whose_sender_is_not_recorded_is_mailed_to_nobody(aws):
    """A comment carrying a mail's marker without its Authorship (posted before senders were
    recorded, its record expired, or a marker made up): nobody can be told apart from its
    sender, so nobody is mailed, as before."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB)
    authors = Authors()
    own = item(comment__body="From the mail\n\n" + marker("0" * 32))
    assert outbox(dynamodb, ses, authors=authors).handle(own.to_json(), LEFT) == [
        Outgoing(
            "skip",
            "own-comment",
            "comment 492700400 on Codertocat/Hello-World#1 was posted from a mail "
            "whose sender is not recorded",
        )
    ]
    assert authors.asked == ["0" * 32]
    assert ses.sent == []


MAIL = "5e" * 16
ALICE_WROTE = (
    "**Alice Smith** wrote by email: **Re: Typo**\n"
    "\n"
    "Bob, can you check the *README* too?\n"
    "\n"
    "<sub>Sent by email to hw-1@hello.example.com · posted by ticket-router</sub>\n"
    f"{marker(MAIL)}"
)
DAN = Participant("dan@allowed.org", "hello.example.com", "hw-", "d1@allowed.org", "Re: Typo")
# Alice's mail, with Bob in Cc.
BY_ALICE = Authorship(
    sender=address_digest("Alice@Example.com"),
    name="Alice Smith",
    reached=(address_digest("bob@example.com"), address_digest("hw-1@hello.example.com")),
)


def test_a_posted_mail_goes_to_everyone_but_its_sender_and_those_it_reached(aws):
    """Alice's mail, posted as a comment: not back to Alice, not to Bob whom she had in Cc,
    and to Dan by her name, her words without our attribution and footer, threaded under the
    issue's first mail; nothing in it names Alice's or Bob's address."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB, DAN)
    box = outbox(dynamodb, ses, authors=Authors(**{MAIL: BY_ALICE}))
    decisions = box.handle(item(comment__body=ALICE_WROTE).to_json(), LEFT)
    assert decisions == [
        Outgoing(
            "skip",
            "author",
            "comment 492700400 on Codertocat/Hello-World#1 is their own mail",
            address_digest("alice@example.com"),
        ),
        Outgoing(
            "skip",
            "copied-on-mail",
            "they were in To or Cc of the mail posted as comment 492700400",
            address_digest("bob@example.com"),
        ),
        Outgoing(
            "mail", "mailed", "mailed from hw-1@hello.example.com", address_digest(DAN.address)
        ),
    ]
    [request] = ses.sent
    assert (request["Source"], request["Destinations"]) == (
        "hw-1@hello.example.com",
        ["dan@allowed.org"],
    )
    raw = request["RawMessage"]["Data"]
    assert not re.search(rb"alice@|bob@", raw, re.IGNORECASE)
    to_dan = sent_mail(request)
    assert [(name, str(value)) for name, value in to_dan.items()][:8] == [
        ("From", "Hello World <hw-1@hello.example.com>"),
        ("To", "dan@allowed.org"),
        ("Reply-To", "hw-1@hello.example.com"),
        ("Subject", "Re: Typo"),
        ("Date", "Mon, 21 Sep 2026 14:13:20 +0000"),
        ("Message-ID", to_dan["Message-ID"]),
        ("In-Reply-To", "<d1@allowed.org>"),
        ("References", "<a1@example.com> <d1@allowed.org>"),
    ]
    issue = "https://github.com/Codertocat/Hello-World/issues/1"
    plain = to_dan.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == (
        "Alice Smith wrote by email on Codertocat/Hello-World#1:\n"
        "\n"
        "Bob, can you check the *README* too?\n"
        "\n"
        "-- \n"
        "Codertocat/Hello-World#1: Spelling error in the README file\n"
        f"Reply to this mail to comment, or view it on GitHub: {issue}#issuecomment-492700400\n"
        "Unsubscribe from Codertocat/Hello-World#1: https://hook.example/unsubscribe?x=1\n"
    )
    page = to_dan.get_body(("html",)).get_content()
    assert f'<p>Alice Smith wrote by email on <a href="{issue}">' in page
    assert "<p>Bob, can you check the <em>README</em> too?</p>" in page
    assert not re.search(r"wrote by email:|Sent by email|ticket-router:mail", page)


def test_a_second_comment_carrying_the_same_marker_speaks_for_nobody(aws):
    """A token posts as a person, so who made a comment cannot tell: the first comment seen
    with a mail's marker is the posted mail; another one with it (the marker pasted by someone
    who read the first) mails nobody, while the first delivered again is still the mail."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, DAN)
    box = outbox(dynamodb, ses, authors=Authors(**{MAIL: BY_ALICE}))
    assert [d.reason for d in box.handle(item(comment__body=ALICE_WROTE).to_json(), LEFT)] == [
        "author",
        "mailed",
    ]
    pasted = item(comment__id=492700401, comment__body="Send me your password.\n" + marker(MAIL))
    assert box.handle(pasted.to_json(), LEFT) == [
        Outgoing(
            "skip",
            "own-comment",
            "comment 492700401 on Codertocat/Hello-World#1 carries the marker of the mail "
            "posted as comment 492700400",
        )
    ]
    again = WorkItem(**{**item(comment__body=ALICE_WROTE).__dict__, "delivery": "d-9"})
    assert [d.reason for d in box.handle(again.to_json(), LEFT)] == ["author", "already-mailed"]
    assert [r["Destinations"] for r in ses.sent] == [["dan@allowed.org"]]


def test_a_posted_mail_nobody_else_follows_mails_nobody(aws):
    """Only its sender and those it reached follow the issue: each is skipped, no mail."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB)
    box = outbox(dynamodb, ses, authors=Authors(**{MAIL: BY_ALICE}))
    decisions = box.handle(item(comment__body=ALICE_WROTE).to_json(), LEFT)
    assert [d.reason for d in decisions] == ["author", "copied-on-mail"]
    assert ses.sent == []


def test_the_sender_of_a_posted_mail_is_told_apart_by_address_not_name(aws):
    """A participant who shares the sender's display name but not her address is mailed."""
    dynamodb, ses = aws
    other_alice = Participant("alice@allowed.org", "hello.example.com", "hw-", None)
    join(dynamodb, ALICE, other_alice)
    box = outbox(dynamodb, ses, authors=Authors(**{MAIL: BY_ALICE}))
    decisions = box.handle(item(comment__body=ALICE_WROTE).to_json(), LEFT)
    assert [(d.reason, d.participant) for d in decisions] == [
        ("author", address_digest("alice@example.com")),
        ("mailed", address_digest("alice@allowed.org")),
    ]


def test_an_authors_store_out_of_reach_is_retried_before_anyone_is_mailed(aws):
    """Whom a posted mail came from cannot be read: one retryable decision, nothing sent."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, DAN)
    authors = Authors(**{MAIL: BY_ALICE})
    authors.failing = True
    box = outbox(dynamodb, ses, authors=authors)
    with pytest.raises(RetryLater, match="participant-store-unavailable"):
        box.handle(item(comment__body=ALICE_WROTE).to_json(), LEFT)
    assert box.mail(item(comment__body=ALICE_WROTE), LEFT) == [
        Outgoing(
            "skip",
            "participant-store-unavailable",
            "the authors' table cannot be read",
            retryable=True,
        )
    ]
    assert ses.sent == []


def test_a_comment_made_on_github_asks_no_author(aws):
    """A maintainer's comment has no marker: nobody's record is read, everyone is mailed."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB)
    authors = Authors(**{MAIL: BY_ALICE})
    decisions = outbox(dynamodb, ses, authors=authors).handle(item().to_json(), LEFT)
    assert [d.reason for d in decisions] == ["mailed", "mailed"]
    assert authors.asked == []


def test_a_comment_made_through_the_routes_github_app_is_our_own(aws):
    """The app a route posts as is our bot: without a mail's marker, nobody is mailed."""
    dynamodb, ses = aws
    join(dynamodb, replace_domain(ALICE, "app.example.com", ""), repo="octo-org/app")
    by_app = item(
        repository__full_name="octo-org/app",
        comment__performed_via_github_app={"id": 12345, "slug": "router", "client_id": "Iv1.x"},
    )
    assert [d.reason for d in outbox(dynamodb, ses).handle(by_app.to_json(), LEFT)] == [
        "own-comment"
    ]
    other_app = item(
        repository__full_name="octo-org/app",
        comment__performed_via_github_app={"id": 999, "slug": "ci", "client_id": "Iv1.y"},
    )
    assert [d.reason for d in outbox(dynamodb, ses).handle(other_app.to_json(), LEFT)] == ["mailed"]


def replace_domain(person: Participant, domain: str, prefix: str) -> Participant:
    return Participant(person.address, domain, prefix, person.last_message_id, person.subject)


APP = {"id": 12345, "slug": "router", "client_id": "Iv1.x"}


def test_a_posted_mail_is_mailed_on_when_the_routes_app_made_it(aws):
    """On a repository whose routes post as a GitHub App, a marked comment the App made is
    the posted mail: mailed to everyone but its sender."""
    dynamodb, ses = aws
    carol = Participant("carol@example.com", "app.example.com", "", None)
    join(dynamodb, replace_domain(ALICE, "app.example.com", ""), carol, repo="octo-org/app")
    box = outbox(dynamodb, ses, authors=Authors(**{MAIL: BY_ALICE}))
    posted = item(
        repository__full_name="octo-org/app",
        comment__body=ALICE_WROTE,
        comment__performed_via_github_app=APP,
    )
    assert [(d.reason, d.participant) for d in box.handle(posted.to_json(), LEFT)] == [
        ("author", address_digest("alice@example.com")),
        ("mailed", address_digest("carol@example.com")),
    ]
    [request] = ses.sent
    assert plain_of(request).startswith("Alice Smith wrote by email on octo-org/app#1:\n\n")


def test_a_marker_copied_into_a_comment_the_app_did_not_make_speaks_for_nobody(aws):
    """Anyone can read a comment's marker and paste it: on a repository whose routes all post
    as a GitHub App, a marked comment by anyone else is not mailed in the sender's name (nor
    at all), and nobody's record is read."""
    dynamodb, ses = aws
    join(dynamodb, replace_domain(BOB, "app.example.com", ""), repo="octo-org/app")
    authors = Authors(**{MAIL: BY_ALICE})
    forged = item(repository__full_name="octo-org/app", comment__body=ALICE_WROTE)
    assert outbox(dynamodb, ses, authors=authors).handle(forged.to_json(), LEFT) == [
        Outgoing(
            "skip",
            "own-comment",
            "comment 492700400 on octo-org/app#1 carries a mail's marker, "
            "but no route's App made it",
        )
    ]
    assert (authors.asked, ses.sent) == ([], [])


def test_every_update_is_threaded_under_the_issues_first_mail(aws):
    """References start at the issue's first mail (Alice's) and end at the participant's own
    latest; Bob, who never wrote a Message-ID we know, gets the root alone and no In-Reply-To;
    Alice's latest is the root, written once."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB, DAN)
    outbox(dynamodb, ses).handle(closed().to_json(), LEFT)
    threads = [
        (mail["To"], mail["In-Reply-To"], mail["References"]) for mail in map(sent_mail, ses.sent)
    ]
    assert threads == [
        ("alice@example.com", "<a1@example.com>", "<a1@example.com>"),
        ("bob@example.com", None, "<a1@example.com>"),
        ("dan@allowed.org", "<d1@allowed.org>", "<a1@example.com> <d1@allowed.org>"),
    ]
    assert (
        b"References: <a1@example.com>\r\n <d1@allowed.org>\r\n"
        in ses.sent[2]["RawMessage"]["Data"]
    )
    everyone = {"alice@example.com", "bob@example.com", "dan@allowed.org"}
    for request in ses.sent:
        [to] = request["Destinations"]
        raw = request["RawMessage"]["Data"].lower()
        assert [who for who in sorted(everyone - {to}) if who.encode() in raw] == []


ERIN = Participant("erin@allowed.org", "hello.example.com", "hw-", None, copied_by="Alice Smith")
WHY = (
    "You are getting this because Alice Smith copied you on a mail to hw-1@hello.example.com. "
    "Reply to take part, or unsubscribe: https://hook.example/unsubscribe?x=1"
)


def copied(dynamodb: Any, *people: Participant) -> None:
    store = DynamoParticipants(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    for person in people:
        assert store.add_copied("codertocat/hello-world", 1, person, NOW)


def plain_of(request: dict[str, Any]) -> str:
    return sent_mail(request).get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_a_copied_colleagues_first_mail_says_why_and_the_next_does_not(aws):
    """Erin, copied in by Alice, is told once why she gets the mail (before the signature);
    the store then knows she was, and her next mail says nothing of it; Alice is never told."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    copied(dynamodb, ERIN)
    first = outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [(d.reason, d.detail) for d in first] == [
        ("mailed", "mailed from hw-1@hello.example.com"),
        ("mailed", "mailed from hw-1@hello.example.com"),
    ]
    to_alice, to_erin = map(plain_of, ses.sent)
    assert "You are getting this" not in to_alice
    assert f"\n\n{WHY}\n\n-- \n" in to_erin
    assert b"alice@" not in ses.sent[1]["RawMessage"]["Data"].lower()
    store = DynamoParticipants(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    [erin] = [
        who
        for who in store.of("Codertocat/Hello-World", 1).participants
        if who == replace(ERIN, copied_by="")
    ]
    assert erin.copied_by == ""
    outbox(dynamodb, ses).handle(closed().to_json(), LEFT)
    assert [plain_of(r).count("You are getting this") for r in ses.sent] == [0, 1, 0, 0]


class IntroductionFails(DynamoParticipants):
    """The store reads, but cannot record that a colleague was told why."""

    def introduced(self, repo: str, issue: int, digest: str) -> None:
        raise ParticipantStoreError("the table cannot be written")


def test_a_colleague_not_recorded_as_told_is_mailed_and_told_again_next_time(aws):
    """Recording the introduction failed: the mail went, so the decision is "mailed" with the
    failure in its detail, not retried; the next mail says why once more."""
    dynamodb, ses = aws
    copied(dynamodb, ERIN)
    store = IntroductionFails(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    box = outbox(dynamodb, ses, participants=store)
    assert box.handle(item().to_json(), LEFT) == [
        Outgoing(
            "mail",
            "mailed",
            "mailed from hw-1@hello.example.com; "
            "not recorded as told why they get it: the table cannot be written",
            address_digest(ERIN.address),
        )
    ]
    box.handle(closed().to_json(), LEFT)
    assert [WHY in plain_of(r) for r in ses.sent] == [True, True]


def test_a_mail_sent_before_tells_nobody_and_records_nothing(aws):
    """A redelivered message finds the mail sent: no introduction is recorded for it (only a
    fresh send says why), so it cannot be marked told without a mail that said so."""
    dynamodb, ses = aws
    copied(dynamodb, ERIN)
    store = IntroductionFails(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    outbox(dynamodb, ses, participants=store).handle(item().to_json(), LEFT)
    again = outbox(dynamodb, ses, participants=store).handle(item().to_json(), LEFT)
    assert again == [
        Outgoing(
            "mail",
            "already-mailed",
            "already mailed from hw-1@hello.example.com",
            address_digest(ERIN.address),
        )
    ]


def test_a_copied_colleague_reads_while_their_domain_may_join():
    """A colleague at a domain the route's cc domains let join is mailed; with copying turned
    off on the route, what may no longer join no longer reads."""
    partner = Participant("fay@partner.example", "hello.example.com", "hw-", None, "", "Alice")
    widened = Routes(
        tuple(replace(route, cc_domains=("partner.example",)) for route in ROUTES.routes),
        "routes.yaml",
    )
    chosen, skipped = recipients(item(), widened, (partner,), set())
    assert ([r.participant for r in chosen], skipped) == ([partner], [])
    closed_off = Routes(
        tuple(replace(r, cc_participants=False) for r in widened.routes), "routes.yaml"
    )
    chosen, skipped = recipients(item(), closed_off, (partner,), set())
    assert [(d.reason, d.participant) for d in skipped] == [
        ("sender-not-allowed", address_digest("fay@partner.example"))
    ]
    assert chosen == []


def test_suppressed_and_no_longer_notifying_participants_are_skipped(aws):
    """A bounced address and one whose route stopped mailing participants get nothing."""
    dynamodb, ses = aws
    quiet = Participant("carol@example.com", "hello.example.com", "quiet-", None)
    join(dynamodb, ALICE, BOB, quiet)
    DynamoSuppressions(dynamodb, CLAIMS_TABLE).suppress("BOB@example.com", "bounce")
    decisions = outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [(d.reason, d.participant) for d in decisions] == [
        ("suppressed", address_digest("bob@example.com")),
        ("route-not-notifying", address_digest("carol@example.com")),
        ("mailed", address_digest("alice@example.com")),
    ]
    assert [r["Destinations"] for r in ses.sent] == [["alice@example.com"]]


def test_a_domain_taken_off_the_route_reads_no_more(aws):
    """A participant whose domain is no longer among the route's allowed senders is skipped."""
    dynamodb, ses = aws
    gone = Participant("dan@former.example.net", "hello.example.com", "hw-", None)
    join(dynamodb, gone, ALICE)
    decisions = outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [(d.reason, d.detail) for d in decisions] == [
        (
            "sender-not-allowed",
            "their domain may no longer write to route 1 (hw-@hello.example.com)",
        ),
        ("mailed", "mailed from hw-1@hello.example.com"),
    ]


def test_an_unreadable_secret_is_retried_for_every_participant(aws):
    """The unsubscribe link's key cannot be read: each mail is a retryable decision, logged,
    and the message comes again."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB)

    def unreadable(repo, issue, address):
        raise OutboundError(Reason.SECRET_UNAVAILABLE, "the webhook secret could not be read")

    box = Outbox(
        ROUTES,
        DynamoParticipants(dynamodb, CLAIMS_TABLE),
        DynamoSuppressions(dynamodb, CLAIMS_TABLE),
        DynamoClaims(CLAIMS_TABLE, dynamodb, expires_after_seconds=60),
        SesMailer(ses),
        unsubscribe_url=unreadable,
        authors=Authors(),
    )
    with pytest.raises(RetryLater, match="secret-unavailable"):
        box.handle(item().to_json(), LEFT)
    assert ses.sent == []


def test_an_issue_nobody_wrote_to_by_mail_mails_nobody(aws):
    """No participants: one decision saying so."""
    dynamodb, ses = aws
    assert [d.reason for d in outbox(dynamodb, ses).handle(item().to_json(), LEFT)] == [
        "no-participants"
    ]


def test_closing_and_reopening_send_a_one_line_notice(aws):
    """Closed and reopened are mailed, each once per change of state."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    reopened = item("issues.reopened.json")
    for event in (closed(), reopened, closed()):
        outbox(dynamodb, ses).handle(event.to_json(), LEFT)
    assert len(ses.sent) == 2
    texts = [sent_mail(r).get_body(("plain",)).get_content() for r in ses.sent]
    assert texts[0].splitlines()[0] == "Codertocat closed Codertocat/Hello-World#1 (completed)."
    assert texts[1].splitlines()[0] == "Codertocat reopened Codertocat/Hello-World#1."
    assert closed().key == "codertocat/hello-world#1#closed#2021-10-11T16:40:56Z"


def test_ses_throttling_is_retried_and_sends_only_what_is_missing(aws):
    """A transient SES failure fails the message; its next delivery sends the missing mail."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB)
    ses.fail = ["Throttling"]
    with pytest.raises(RetryLater, match="ses-unavailable"):
        outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [r["Destinations"] for r in ses.sent] == [["bob@example.com"]]
    again = outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [d.reason for d in again] == ["mailed", "already-mailed"]
    assert [r["Destinations"] for r in ses.sent] == [["bob@example.com"], ["alice@example.com"]]


@pytest.mark.parametrize(
    ("configuration_set", "named"),
    [("tr-mail", {"ConfigurationSetName": "tr-mail"}), ("", {})],
    ids=["configuration-set", "none"],
)
def test_each_mail_is_sent_through_the_configuration_set(aws, configuration_set, named):
    """SendRawEmail names the configuration set (whose events report bounces and complaints)
    when there is one, and nothing else is asked of SES."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    box = outbox(dynamodb, ses, configuration_set=configuration_set)
    assert [d.reason for d in box.handle(item().to_json(), LEFT)] == ["mailed"]
    [request] = ses.sent
    assert request == {
        "Source": "hw-1@hello.example.com",
        "Destinations": ["alice@example.com"],
        "RawMessage": {"Data": request["RawMessage"]["Data"]},
        **named,
    }
    assert sent_mail(request)["To"] == "alice@example.com"


def test_a_mail_ses_refuses_is_not_retried(aws):
    """MessageRejected is permanent: reported, not retried."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    ses.fail = ["MessageRejected"]
    assert [d.reason for d in outbox(dynamodb, ses).handle(item().to_json(), LEFT)] == [
        "ses-rejected"
    ]


def test_an_address_no_mail_can_carry_is_skipped_without_naming_it(aws, caplog):
    """A non-ASCII address cannot go out without SMTPUTF8: skipped, the log has no address."""
    dynamodb, ses = aws
    join(
        dynamodb,
        replace_domain(Participant("jörg@example.com", "", "", None), "hello.example.com", "hw-"),
    )
    decisions = outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [d.reason for d in decisions] == ["unmailable"]
    assert "jörg" not in caplog.text


def test_a_permanent_bounce_suppresses_and_later_mail_skips_the_address(aws):
    """SES's bounce notification suppresses its recipients; the next comment skips them."""
    dynamodb, ses = aws
    body = (EVENTS / "sesBouncePermanent.json").read_text()
    decisions = outbox(dynamodb, ses).handle(body, LEFT)
    assert [(d.reason, d.participant) for d in decisions] == [
        ("suppressed", address_digest("jane@allowed.org")),
        ("suppressed", address_digest("richard@allowed.org")),
    ]
    jane = Participant("jane@allowed.org", "hello.example.com", "hw-", None)
    join(dynamodb, jane)
    assert [d.reason for d in outbox(dynamodb, ses).handle(item().to_json(), LEFT)] == [
        "suppressed"
    ]
    assert ses.sent == []


def suppressions(dynamodb: Any) -> list[tuple[str, str, str]]:
    """(key, reason, at) of every suppression in the table, by key."""
    return sorted(
        (item["id"]["S"], item["reason"]["S"], item["at"]["N"])
        for item in dynamodb.scan(TableName=CLAIMS_TABLE)["Items"]
        if item["id"]["S"].startswith("suppressed#")
    )


def test_a_configuration_sets_bounce_event_suppresses_like_a_notification(aws):
    """The configuration set's bounce event (eventType Bounce) suppresses each recipient, kind
    bounce, and the next comment skips them without a send."""
    dynamodb, ses = aws
    body = (EVENTS / "sesEventBounce.json").read_text()
    decisions = outbox(dynamodb, ses).handle(body, LEFT)
    assert decisions == [
        Outgoing("skip", "suppressed", "Permanent/General bounce", address_digest(who))
        for who in ("jane@allowed.org", "omar@allowed.org")
    ]
    assert suppressions(dynamodb) == sorted(
        (f"suppressed#{address_digest(who)}", "bounce", str(int(NOW)))
        for who in ("jane@allowed.org", "omar@allowed.org")
    )
    omar = Participant("Omar@Allowed.org", "hello.example.com", "hw-", None)
    join(dynamodb, omar, BOB)
    decisions = outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [(d.reason, d.participant) for d in decisions] == [
        ("suppressed", address_digest("omar@allowed.org")),
        ("mailed", address_digest("bob@example.com")),
    ]
    assert [r["Destinations"] for r in ses.sent] == [["bob@example.com"]]


def test_a_configuration_sets_complaint_event_suppresses_the_complainant(aws):
    """The configuration set's complaint event suppresses its recipient, kind complaint."""
    dynamodb, ses = aws
    body = (EVENTS / "sesEventComplaint.json").read_text()
    assert outbox(dynamodb, ses).handle(body, LEFT) == [
        Outgoing("skip", "suppressed", "complaint (abuse)", address_digest("richard@allowed.org"))
    ]
    assert suppressions(dynamodb) == [
        (f"suppressed#{address_digest('richard@allowed.org')}", "complaint", str(int(NOW)))
    ]


def test_a_configuration_sets_transient_bounce_event_suppresses_nobody(aws):
    """A transient bounce event is understood and records nothing."""
    dynamodb, ses = aws
    event = json.loads((EVENTS / "sesEventBounce.json").read_text())
    event["bounce"] |= {"bounceType": "Transient", "bounceSubType": "MailboxFull"}
    assert outbox(dynamodb, ses).handle(json.dumps(event), LEFT) == [
        Outgoing(
            "skip",
            "feedback-no-action",
            "Transient/MailboxFull bounce: not permanent, no one suppressed",
        )
    ]
    assert dynamodb.scan(TableName=CLAIMS_TABLE)["Items"] == []


def test_a_bounce_event_without_recipients_goes_to_the_dead_letter_queue(aws):
    """A bounce event without bouncedRecipients cannot say whom to suppress: unreadable."""
    dynamodb, ses = aws
    event = json.loads((EVENTS / "sesEventBounce.json").read_text())
    del event["bounce"]["bouncedRecipients"]
    with pytest.raises(UnreadableMessage, match="bouncedRecipients is missing or empty"):
        outbox(dynamodb, ses).handle(json.dumps(event), LEFT)
    assert dynamodb.scan(TableName=CLAIMS_TABLE)["Items"] == []


def test_a_transient_bounce_suppresses_nobody(aws):
    """A full mailbox is not a reason to stop mailing."""
    dynamodb, ses = aws
    body = (EVENTS / "sesBounceTransient.json").read_text()
    assert [d.reason for d in outbox(dynamodb, ses).handle(body, LEFT)] == ["feedback-no-action"]
    assert dynamodb.scan(TableName=CLAIMS_TABLE)["Items"] == []


@pytest.mark.parametrize(
    "body", ["not json", '{"kind": "github", "event": "issues"}', '{"hello": "world"}']
)
def test_a_message_of_neither_kind_is_refused(aws, body):
    """Unreadable messages raise, so that they end in the dead-letter queue."""
    dynamodb, ses = aws
    with pytest.raises(UnreadableMessage):
        outbox(dynamodb, ses).handle(body, LEFT)


def test_a_send_in_progress_is_claimed_for_the_hold_not_the_invocation(aws, monkeypatch):
    """While SES is called, the claim is in progress for the hold (CLAIM_HOLD_SECONDS), however
    little time the invocation has left."""
    dynamodb, ses = aws
    claims_timed_by(lambda: NOW, monkeypatch)
    join(dynamodb, ALICE)
    seen: list[dict[str, Any]] = []

    class Watching(Recording):
        def send_raw_email(self, **request: Any) -> Any:
            seen.append(in_progress(dynamodb))
            return super().send_raw_email(**request)

    box = outbox(dynamodb, Watching(ses.ses), claim_hold=1234)
    box.handle(item().to_json(), Deadline(2.0, clock=lambda: 0.0))
    [claim] = seen
    expires = int(claim["in_progress_expiration"]["N"]) / 1000
    assert NOW + 1233 <= expires <= NOW + 1234
    assert DEFAULT_CLAIM_HOLD == 6 * 60 * 5 + 60


def in_progress(dynamodb: Any) -> dict[str, Any]:
    """The one claim in progress in the table."""
    [claim] = [
        entry
        for entry in dynamodb.scan(TableName=CLAIMS_TABLE)["Items"]
        if entry.get("status", {}).get("S") == "INPROGRESS"
    ]
    return claim


class Crash(BaseException):
    """What Lambda's timeout does to an invocation: no except clause runs."""


def test_a_holder_that_died_after_sending_blocks_every_redelivery(aws, monkeypatch):
    """SES sent the mail, then the invocation was killed before its claim completed: the
    redeliveries, long after that invocation's end and up to the hold, find the claim in
    progress and send nothing."""
    dynamodb, ses = aws
    now = [NOW]
    claims_timed_by(lambda: now[0], monkeypatch)
    join(dynamodb, ALICE)

    class SentThenKilled(Recording):
        def send_raw_email(self, **request: Any) -> Any:
            super().send_raw_email(**request)
            raise Crash

    killed = SentThenKilled(ses.ses)
    invocation = Deadline.within(60.0, clock=lambda: now[0])
    with pytest.raises(Crash):
        outbox(dynamodb, killed).handle(item().to_json(), invocation)
    assert len(killed.sent) == 1
    # SQS's redeliveries: after the visibility timeout (6 x 60 s), up to the fifth receive.
    for moment in (NOW + 61, NOW + 360, NOW + 4 * 360, NOW + DEFAULT_CLAIM_HOLD - 1):
        now[0] = moment
        assert invocation.remaining() == 0
        with pytest.raises(RetryLater, match="in-progress"):
            outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert ses.sent == []


def test_a_holder_that_died_before_sending_leaves_the_mail_to_a_replay_after_the_hold(
    aws, monkeypatch
):
    """Killed before SES was called: the message is dead-lettered while the claim is held, and
    its replay after the hold sends the mail, once."""
    dynamodb, ses = aws
    now = [NOW]
    claims_timed_by(lambda: now[0], monkeypatch)
    join(dynamodb, ALICE)

    class Killed(Recording):
        def send_raw_email(self, **request: Any) -> Any:
            raise Crash

    with pytest.raises(Crash):
        outbox(dynamodb, Killed(ses.ses)).handle(item().to_json(), LEFT)
    now[0] = NOW + DEFAULT_CLAIM_HOLD + 1
    assert [d.reason for d in outbox(dynamodb, ses).handle(item().to_json(), LEFT)] == ["mailed"]
    assert [r["Destinations"] for r in ses.sent] == [["alice@example.com"]]


class AnswerLost(Recording):
    """SES takes the mail; its answer never arrives (``error``, raised as botocore does)."""

    def __init__(self, ses: Any, error: Exception) -> None:
        super().__init__(ses)
        self.error = error

    def send_raw_email(self, **request: Any) -> Any:
        super().send_raw_email(**request)
        raise self.error


ENDPOINT = "https://email.eu-west-1.amazonaws.com/"


def test_a_mail_whose_answer_was_lost_is_recorded_and_never_sent_again(aws, caplog):
    """SES accepted the mail, the answer timed out: mail-outcome-unknown, logged at WARNING, not
    retried; the redelivered message finds the claim completed and mails nobody."""
    dynamodb, ses = aws
    join(dynamodb, ALICE, BOB)
    lost = AnswerLost(ses.ses, ReadTimeoutError(endpoint_url=ENDPOINT))
    caplog.set_level(logging.INFO, logger="ticket_router")
    decisions = outbox(dynamodb, lost).handle(item().to_json(), LEFT)
    assert decisions == [
        Outgoing(
            "mail",
            "mail-outcome-unknown",
            "SES's answer was lost (ReadTimeoutError): recorded as mailed from "
            "hw-1@hello.example.com, not sent again",
            address_digest(who),
        )
        for who in ("alice@example.com", "bob@example.com")
    ]
    assert [(r.levelname, r.reason) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("WARNING", "mail-outcome-unknown"),
        ("WARNING", "mail-outcome-unknown"),
    ]
    assert len(lost.sent) == 2
    again = outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [d.reason for d in again] == ["already-mailed", "already-mailed"]
    assert ses.sent == []


def test_a_connection_closed_before_the_answer_is_an_unknown_outcome(aws):
    """The connection dropped after the request went out: the same as a lost answer."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    closed_early = AnswerLost(ses.ses, ConnectionClosedError(endpoint_url=ENDPOINT))
    decisions = outbox(dynamodb, closed_early).handle(item().to_json(), LEFT)
    assert [(d.reason, d.retryable) for d in decisions] == [("mail-outcome-unknown", False)]
    assert [d.reason for d in outbox(dynamodb, ses).handle(item().to_json(), LEFT)] == [
        "already-mailed"
    ]
    assert len(closed_early.sent) == 1
    assert ses.sent == []


@pytest.fixture
def function_log() -> Iterator[io.StringIO]:
    """The JSON lines the outbox function writes to its log group: the handler of Powertools'
    Logger that json_logger gives the "ticket_router" logger when the function is imported (its
    stream is bound then, before capsys)."""
    assert outbox_function.logger.name == "ticket-router"
    [handler] = [
        handler
        for handler in logging.getLogger("ticket_router").handlers
        if isinstance(handler.formatter, LambdaPowertoolsFormatter)
    ]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def counted_as_unknown_outcome(line: dict[str, Any]) -> bool:
    """Whether the replies module's metric filter on the outbox's log group (MailOutcomeUnknown,
    which an alarm watches) counts ``line``: its pattern, one JSON equality, as CloudWatch reads
    it."""
    with (ROOT / "terraform" / "modules" / "replies" / "outbox.tf").open(encoding="utf-8") as tf:
        resources = hcl2.load(tf)["resource"]
    # python-hcl2 keeps the quotes of labels and strings.
    [found] = [
        kinds['"mail_outcome_unknown"']
        for resource in resources
        for kind, kinds in resource.items()
        if kind == '"aws_cloudwatch_log_metric_filter"'
    ]
    pattern = found["pattern"][1:-1].replace('\\"', '"')
    equality = re.fullmatch(r'\{ \$\.(\w+) = "([^"]*)" \}', pattern)
    assert equality is not None, pattern
    field, value = equality.groups()
    return line.get(field) == value


def test_each_lost_answer_is_a_log_line_the_deployment_counts(aws, function_log):
    """The function's JSON line of a mail-outcome-unknown decision is what the metric filter
    counts; the lines of a mail sent, or of one already sent, are not."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    join(dynamodb, BOB)
    lost = AnswerLost(ses.ses, ReadTimeoutError(endpoint_url=ENDPOINT))
    outbox(dynamodb, lost).handle(item().to_json(), LEFT)
    lines = [json.loads(line) for line in function_log.getvalue().splitlines()]
    assert [
        (line["message"], line["reason"], line["participant"], counted_as_unknown_outcome(line))
        for line in lines
    ] == [
        ("update", "mailed", address_digest("alice@example.com"), False),
        ("update", "already-mailed", address_digest("alice@example.com"), False),
        ("update", "mail-outcome-unknown", address_digest("bob@example.com"), True),
    ]


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url=ENDPOINT),
        ConnectTimeoutError(endpoint_url=ENDPOINT),
        NoCredentialsError(),
    ],
)
def test_a_request_that_never_left_is_retried(aws, error):
    """No connection to SES (or no credentials): nothing was sent, so the message comes again
    and its next delivery mails the participant."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)

    class Unreachable(Recording):
        def send_raw_email(self, **request: Any) -> Any:
            raise error

    with pytest.raises(RetryLater, match="ses-unavailable"):
        outbox(dynamodb, Unreachable(ses.ses)).handle(item().to_json(), LEFT)
    assert [d.reason for d in outbox(dynamodb, ses).handle(item().to_json(), LEFT)] == ["mailed"]
    assert [r["Destinations"] for r in ses.sent] == [["alice@example.com"]]


class UpdatesFail:
    """The claims table, but marking a claim done fails (UpdateItem): the work has run."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def update_item(self, **request: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "UpdateItem",
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class ConfirmFailureIsFresh:
    """DynamoClaims as it answers a failed confirm: the work ran, so its result comes back as
    fresh; the claim stays in progress in the table."""

    def __init__(self, claims: DynamoClaims) -> None:
        self._claims = claims

    def once(self, key: str, post: Any, deadline: Deadline) -> Claimed:
        ran: list[PostedComment] = []

        def recorded() -> PostedComment:
            ran.append(post())
            return ran[-1]

        try:
            return self._claims.once(key, recorded, deadline)
        except ClaimStoreError:
            if not ran:
                raise
            return Claimed(ran[0], fresh=True)


def test_a_claim_that_cannot_be_marked_done_after_sending_is_mailed_once(aws, monkeypatch):
    """SES accepted the mail, marking the claim done failed: reported mailed (not retried), and
    a redelivery of the message finds the claim held and mails nobody."""
    dynamodb, ses = aws
    now = [NOW]
    claims_timed_by(lambda: now[0], monkeypatch)
    join(dynamodb, ALICE)
    failing = ConfirmFailureIsFresh(
        DynamoClaims(CLAIMS_TABLE, UpdatesFail(dynamodb), expires_after_seconds=3600)
    )
    box = Outbox(
        ROUTES,
        DynamoParticipants(dynamodb, CLAIMS_TABLE, clock=lambda: NOW),
        DynamoSuppressions(dynamodb, CLAIMS_TABLE, clock=lambda: NOW),
        failing,
        SesMailer(ses),
        unsubscribe_url=lambda repo, issue, address: None,
        authors=Authors(),
        clock=lambda: NOW,
    )
    assert [d.reason for d in box.handle(item().to_json(), LEFT)] == ["mailed"]
    now[0] = NOW + 360
    with pytest.raises(RetryLater, match="in-progress"):
        outbox(dynamodb, ses).handle(item().to_json(), LEFT)
    assert [r["Destinations"] for r in ses.sent] == [["alice@example.com"]]


def test_no_send_starts_after_the_deadline(aws):
    """With no time left to send and record a mail, nothing is claimed or sent: the message
    comes again."""
    dynamodb, ses = aws
    join(dynamodb, ALICE)
    spent = Deadline(0.0, clock=lambda: 1.0)
    with pytest.raises(RetryLater, match="out-of-time"):
        outbox(dynamodb, ses).handle(item().to_json(), spent)
    assert ses.sent == []
    assert [d.reason for d in outbox(dynamodb, ses).handle(item().to_json(), LEFT)] == ["mailed"]


def test_the_outboxs_ses_client_sends_each_mail_once(monkeypatch):
    """botocore's own retries would send a mail again after a lost answer: the client the outbox
    function builds makes one attempt, and the lost answer is an unknown outcome."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = LazyClient("ses", CLIENT_CONFIG)
    attempts: list[Any] = []

    def answer_lost(request: Any, **kwargs: Any) -> None:
        attempts.append(request)
        raise ReadTimeoutError(endpoint_url=ENDPOINT)

    client.meta.events.register("before-send.ses.SendRawEmail", answer_lost)
    with pytest.raises(MailOutcomeUnknown, match=r"SES's answer was lost \(ReadTimeoutError\)"):
        SesMailer(client).send("hw-1@hello.example.com", "alice@example.com", b"Subject: x\r\n\r\n")
    assert len(attempts) == 1


class _Handles:
    """An outbox whose handling of each body is given: a result or an exception to raise."""

    def __init__(self, outcomes: dict[str, Exception | None]) -> None:
        self.outcomes = outcomes

    def handle(self, body: str, deadline: Deadline) -> list[Outgoing]:
        outcome = self.outcomes[body]
        if outcome is not None:
            raise outcome
        return []


def test_a_batch_reports_each_message_that_failed_and_only_those(caplog):
    """A retry, an unreadable message and a bug each fail their own message, logged, never the
    batch; a batch whose every message failed is reported the same way."""
    outcomes: dict[str, Exception | None] = {
        "ok": None,
        "later": RetryLater("will be retried: claim-store-unavailable"),
        "junk": UnreadableMessage("neither a work item nor SES feedback"),
        "bug": KeyError("x"),
    }
    event = {"Records": [{"messageId": f"m-{body}", "body": body} for body in outcomes]}
    with caplog.at_level(logging.WARNING, logger="ticket_router"):
        result = handle_batch(event, _Handles(outcomes), Deadline.never())  # type: ignore[arg-type]
    assert result == {
        "batchItemFailures": [{"itemIdentifier": f"m-{body}"} for body in ("later", "junk", "bug")]
    }
    assert [(r.message, r.error) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("message not handled", "UnreadableMessage"),
        ("message not handled", "KeyError"),
    ]
    failing = {"Records": event["Records"][1:]}
    remaining = handle_batch(failing, _Handles(outcomes), Deadline.never())  # type: ignore[arg-type]
    assert len(remaining["batchItemFailures"]) == 3
