"""A conversation by mail, end to end through the three functions: Alice writes to #45 with her
colleague Bob, an outsider and another issue's address in Cc; Carol writes separately; a
maintainer answers on GitHub; Bob answers the update he got; Carol unsubscribes by the one-click
link; Bob's address bounces; GitHub and SQS deliver again; one of our own mails comes back in.

Each step says exactly who SES mailed, once each, with which headers, and what a maintainer sees
on GitHub (the reactions our credential sets). The mails people write are
tests/conversation/e2e-*.eml; the environment is tests/test_replies.py's: moto for S3, DynamoDB,
SQS, SES and Secrets Manager, tests/fakegithub.py for GitHub.
"""

from __future__ import annotations

import copy
import email
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from handler import lambda_function, outbox_function, webhook_function
from handler.aws.participants import DynamoParticipants
from handler.outbound.participants import Conversation, address_digest
from tests.conftest import TESTS
from tests.dynamo import CLAIMS_TABLE
from tests.fakegithub import Comment, FakeGitHub
from tests.sesmail import ses_block
from tests.test_lambda import Context
from tests.test_replies import (
    REGION,
    REPO,
    deployment,  # noqa: F401 - the fixture
    webhook,
)

TITLE = "Printer on floor 3"
MAILS = TESTS / "conversation"

WEB45 = "web-45@issues.example.com"
WEB46 = "web-46@issues.example.com"
ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
EVE = "eve@elsewhere.net"
# Follows #46 only.
DAVE = "dave@example.com"
# The Message-IDs of the mails in tests/conversation: Alice's first is the thread's root.
ROOT = "a1.alice@mail.example.com"
CAROLS = "c1.carol@mail.example.com"
ALICE_AGAIN = "a2.alice@mail.example.com"
BOBS = "b1.bob@mail.example.com"
# Everyone's address in the conversation: a mail to one names none of the others.
ADDRESSES = (ALICE, BOB, CAROL, DAVE, EVE)


@dataclass(frozen=True)
class Sent:
    """One mail SES sent: to whom (the request's Destinations with moto's reading of the
    mail's To, Cc and Bcc), about which comment, and as sent."""

    ses_id: str
    destinations: tuple[str, ...]
    raw: str
    message: EmailMessage

    @property
    def to(self) -> str:
        [address] = set(self.destinations)
        return address

    @property
    def comment(self) -> int:
        """The comment it is about: its link in the mail's footer."""
        return self._link[1]

    @property
    def issue(self) -> int:
        return self._link[0]

    @property
    def _link(self) -> tuple[int, int]:
        [(issue, comment)] = set(re.findall(r"/issues/(\d+)#issuecomment-(\d+)", self.text))
        return int(issue), int(comment)

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()  # type: ignore[union-attr]


@dataclass
class Story:
    """The deployment and the people in it; each step one thing a person or a service does."""

    github: FakeGitHub
    sqs: Any
    queue_url: str
    dynamodb: Any
    # How many of SES's sent mails the steps have handed out.
    seen: int = 0
    deliveries: int = 0
    mails: int = 0

    def alice_writes(self) -> list[dict[str, Any]]:
        """Alice's mail to #45, Bob, Eve and #46 in Cc: SES receives it for both issues."""
        return self.receive("e2e-alice.eml", ALICE, recipients=(WEB45, WEB46))

    def carol_writes(self) -> list[dict[str, Any]]:
        return self.receive("e2e-carol.eml", CAROL)

    def bob_replies(self, to: Sent) -> list[dict[str, Any]]:
        """Bob answers the update ``to``: his client threads on its Message-ID."""
        answered = to.message["Message-ID"]
        headers = f"In-Reply-To: {answered}\r\nReferences: <{ROOT}> {answered}\r\n"
        return self.receive("e2e-bob-reply.eml", BOB, headers=headers)

    def receive(
        self,
        name: str,
        sender: str,
        *,
        recipients: tuple[str, ...] = (WEB45,),
        headers: str = "",
    ) -> list[dict[str, Any]]:
        """The mail tests/conversation/``name`` from ``sender``, with ``headers`` on top."""
        raw = headers.encode() + (MAILS / name).read_bytes()
        return self.deliver(raw, sender, recipients)

    def deliver(
        self, raw: bytes, sender: str, recipients: tuple[str, ...] = (WEB45,)
    ) -> list[dict[str, Any]]:
        """A mail stored as SES stores it, through the mail function: its decisions."""
        self.mails += 1
        key = f"ses-{self.mails}"
        stored = ses_block(envelope_from=sender, recipient=recipients[0]).encode() + raw
        boto3.client("s3", region_name=REGION).put_object(
            Bucket="mail", Key=f"inbound/{key}", Body=stored
        )
        event = json.loads((TESTS / "events" / "sesEvent.json").read_text())
        record = event["Records"][0]["ses"]
        record["mail"]["messageId"] = key
        record["mail"]["destination"] = list(recipients)
        record["mail"]["timestamp"] = datetime.now(UTC).isoformat()
        record["receipt"]["recipients"] = list(recipients)
        decisions: list[dict[str, Any]] = lambda_function.lambda_handler(event, Context())[
            "decisions"
        ]
        return decisions

    def github_tells_of(self, comment: Comment, *, login: str = "router-bot") -> dict[str, Any]:
        """GitHub's delivery for a comment made on it (by our credential: posted from a mail)."""
        return self.comment_on_github(comment.id, comment.body, issue=comment.issue, login=login)

    def maintainer_comments(self, comment: int, body: str) -> dict[str, Any]:
        """A maintainer comments on #45 on GitHub; GitHub delivers the webhook."""
        now = self.github.clock()
        self.github.comments.append(Comment(comment, REPO, 45, body, now))
        return self.comment_on_github(comment, body, issue=45, login="maintainer")

    def comment_on_github(
        self, comment: int, body: str, *, issue: int, login: str, delivery: str | None = None
    ) -> dict[str, Any]:
        """GitHub's issue_comment/created delivery, signed with the owner's secret."""
        if delivery is None:
            self.deliveries += 1
            delivery = self.delivery
        payload = json.loads(
            (TESTS / "github" / "webhooks" / "issue_comment.created.1.json").read_text()
        )
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        payload["repository"]["full_name"] = REPO
        payload["issue"].update(
            number=issue,
            title=TITLE if issue == 45 else "Printer on floor 2",
            html_url=f"https://github.com/{REPO}/issues/{issue}",
            updated_at=now,
        )
        payload["comment"].update(
            id=comment,
            body=body,
            created_at=now,
            html_url=f"https://github.com/{REPO}/issues/{issue}#issuecomment-{comment}",
        )
        payload["comment"]["user"]["login"] = login
        return webhook(json.dumps(payload).encode(), delivery, "issue_comment")

    @property
    def delivery(self) -> str:
        """The latest delivery's id."""
        return f"d-{self.deliveries}"

    def outbox(self, *, delivered: int = 1) -> list[Sent]:
        """The event source mapping: the queue's messages as one SQS batch to the outbox,
        ``delivered`` times (more than once: SQS delivers the batch again, as it may); the
        mails SES sent meanwhile."""
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        messages = messages.get("Messages", [])
        sample = json.loads((TESTS / "events" / "sqsEvent.json").read_text())["Records"][0]
        records = [
            {**sample, "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"]}
            | {"body": m["Body"]}
            for m in messages
        ]
        for _ in range(delivered):
            result = outbox_function.lambda_handler({"Records": records}, Context())
            assert result == {"batchItemFailures": []}
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return self.new_mails()

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def new_mails(self) -> list[Sent]:
        """SES's mails since the last step asked, each checked for what every mail must be."""
        backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
        fresh = backend.sent_messages[self.seen :]
        self.seen = len(backend.sent_messages)
        sent = [
            Sent(
                m.id,
                tuple(m.destinations),
                m.raw_data,
                email.message_from_string(m.raw_data, policy=default),
            )
            for m in fresh
        ]
        for each in sent:
            alone_and_unexposed(each)
        return sent

    def reactions(self, comment: int) -> set[str]:
        """The reactions GitHub shows under a comment of the repository."""
        return {
            r.content for r in self.github.reactions if (r.repo, r.comment_id) == (REPO, comment)
        }

    def conversation(self, issue: int = 45) -> Conversation:
        return DynamoParticipants(self.dynamodb, CLAIMS_TABLE).of(REPO, issue)

    def participants(self, issue: int = 45) -> dict[str, tuple[str | None, str]]:
        """Each participant's address: (their latest Message-ID, who copied them in)."""
        return {
            p.address: (p.last_message_id, p.copied_by)
            for p in self.conversation(issue).participants
        }

    def comment_from(self, sender: str) -> Comment:
        """The latest comment on #45 posted from ``sender``'s mail (its attribution)."""
        names = {ALICE: "Alice Moreau", BOB: "Bob Lee", CAROL: "Carol Nguyen"}
        return [
            c
            for c in self.github.comments
            if c.issue == 45 and c.body.startswith(f"**{names[sender]}** wrote by email")
        ][-1]

    def unsubscribe(self, mail: Sent) -> dict[str, Any]:
        """What a mail client does for RFC 8058 one-click: POST the fixed body to the link."""
        found = re.search(r"<(https://[^>]+)>", mail.message["List-Unsubscribe"])
        assert found is not None
        parts = urlsplit(found.group(1))
        click = copy.deepcopy(json.loads((TESTS / "events" / "functionUrlEvent.json").read_text()))
        click["rawPath"] = click["requestContext"]["http"]["path"] = parts.path
        click["rawQueryString"] = parts.query
        click["requestContext"]["http"]["method"] = "POST"
        click["headers"] = {"content-type": "application/x-www-form-urlencoded"}
        click["body"] = "List-Unsubscribe=One-Click"
        answer: dict[str, Any] = webhook_function.lambda_handler(click, Context())
        return answer

    def bounces(self, mail: Sent) -> None:
        """SES's bounce for ``mail`` (its configuration set's event) on the work queue."""
        bounce = json.loads((TESTS / "events" / "sesEventBounce.json").read_text())
        [recipient] = bounce["bounce"]["bouncedRecipients"][:1]
        bounce["bounce"]["bouncedRecipients"] = [{**recipient, "emailAddress": mail.to}]
        bounce["mail"].update(
            messageId=mail.ses_id,
            source=mail.message["From"],
            destination=[mail.to],
            headers=[{"name": "Message-ID", "value": mail.message["Message-ID"]}],
            commonHeaders={"messageId": mail.message["Message-ID"], "to": [mail.to]},
        )
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(bounce))


def alone_and_unexposed(mail: Sent) -> None:
    """Every update: from the issue's address, to one recipient, whom the To names alone; no
    other address of the conversation anywhere in it, raw or decoded; one-click unsubscribe
    (RFC 8058)."""
    assert len(set(mail.destinations)) == 1
    assert [address for _, address in getaddresses(mail.message.get_all("To", []))] == [mail.to]
    assert mail.message["Cc"] is None
    assert mail.message["Bcc"] is None
    assert mail.message["From"] == f"Example website <web-{mail.issue}@issues.example.com>"
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    others = [a for a in ADDRESSES if a != mail.to]
    readable = (mail.raw + mail.text + mail.html).lower()
    assert [a for a in others if a in readable] == []
    # Nor the marker our comments carry (it names a stored mail).
    assert "ticket-router:mail=" not in readable


def threaded(mail: Sent) -> tuple[str | None, list[str]]:
    """The mail's In-Reply-To and the ids of its References, in order."""
    return mail.message["In-Reply-To"], str(mail.message["References"]).split()


def thread_of(latest: str) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References) as a mail to someone whose latest mail is ``latest`` must have
    them (a copied colleague's is the mail they were copied on): their latest answered, the
    thread's root first, each id once."""
    chain = [f"<{ROOT}>"] + ([f"<{latest}>"] if latest != ROOT else [])
    return f"<{latest}>", chain


def outbox_log(log: io.StringIO, delivery: str) -> list[tuple[str, str]]:
    """Each decision the outbox logged about the event GitHub's ``delivery`` brought: the
    participant's address ("" for none, the reaction) and the reason."""
    addresses = {address_digest(address): address for address in ADDRESSES}
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    return sorted(
        (addresses.get(line.get("participant") or "", ""), line["reason"])
        for line in lines
        if line.get("message") == "update" and line.get("delivery") == delivery
    )


def by_recipient(mails: list[Sent]) -> dict[str, Sent]:
    """The mails of a step by recipient, each recipient mailed once."""
    assert len({m.to for m in mails}) == len(mails), [m.to for m in mails]
    return {m.to: m for m in mails}


def introduction(mail: Sent) -> list[str]:
    """The paragraphs of the mail's text that say why a copied colleague gets it."""
    paragraphs = re.split(r"\n\s*\n", mail.text)
    return [p for p in paragraphs if "Alice Moreau" in p and WEB45 in p]


@pytest.fixture
def story(deployment, dynamodb) -> Story:  # noqa: F811 - test_replies' fixture
    """The people's conversation in test_replies' deployment (one route of #45's repository
    with notify_participants, on moto)."""
    github, sqs, queue_url = deployment
    return Story(github, sqs, queue_url, dynamodb)


def posted(decisions: list[dict[str, Any]]) -> dict[int, str]:
    return {decision["issue"]: decision["reason"] for decision in decisions}


def test_colleagues_in_cc_join_and_nobody_else_does(story: Story):
    """Bob, in Cc of Alice's mail and of an allowed domain, joins #45 and #46 as copied by
    Alice; the outsider Eve and our own web-46@ address join nothing."""
    assert posted(story.alice_writes()) == {45: "posted", 46: "posted"}
    for issue in (45, 46):
        assert story.participants(issue) == {ALICE: (ROOT, ""), BOB: (ROOT, "Alice Moreau")}
        assert story.conversation(issue).root == ROOT
    assert story.new_mails() == []


def test_a_comment_by_mail_reaches_everyone_but_its_author_and_whom_it_was_sent(
    story: Story, stdout_log: io.StringIO
):
    """Alice's comment goes to Carol only (Bob had her mail); Carol's to Alice and Bob, Bob's
    first mail saying once why he gets it; Alice's comment on #46 to nobody, and not reacted
    on; every mail threaded under Alice's first. The outbox logs why each was not mailed."""
    story.alice_writes()
    assert posted(story.carol_writes()) == {45: "posted"}
    alices, carols = story.comment_from(ALICE), story.comment_from(CAROL)
    [on_46] = [c for c in story.github.comments if c.issue == 46]

    deliveries = {}
    for comment in (alices, on_46, carols):
        assert story.github_tells_of(comment)["statusCode"] == 202
        deliveries[comment.id] = story.delivery
    mails = story.outbox()
    assert outbox_log(stdout_log, deliveries[alices.id]) == [
        ("", "reacted"),
        (ALICE, "author"),
        (BOB, "copied-on-mail"),
        (CAROL, "mailed"),
    ]
    assert outbox_log(stdout_log, deliveries[on_46.id]) == [
        (ALICE, "author"),
        (BOB, "copied-on-mail"),
    ]
    assert sorted((m.comment, m.to) for m in mails) == sorted(
        [(alices.id, CAROL), (carols.id, ALICE), (carols.id, BOB)]
    )

    [to_carol] = [m for m in mails if m.comment == alices.id]
    assert "Alice Moreau wrote by email on example-org/website#45:" in to_carol.text
    assert "every second page" in to_carol.text
    assert "Sent by email" not in to_carol.text
    assert "posted by ticket-router" not in to_carol.text
    assert threaded(to_carol) == thread_of(CAROLS)
    assert introduction(to_carol) == []

    about_carols = by_recipient([m for m in mails if m.comment == carols.id])
    assert "Carol Nguyen wrote by email on example-org/website#45:" in about_carols[ALICE].text
    assert threaded(about_carols[ALICE]) == thread_of(ROOT)
    assert introduction(about_carols[ALICE]) == []
    to_bob = about_carols[BOB]
    assert threaded(to_bob) == thread_of(ROOT)
    [why] = introduction(to_bob)
    assert WEB45 in why
    assert to_bob.html.count("Alice Moreau") == 1
    # Told once: the store says so.
    assert story.participants()[BOB] == (ROOT, "")

    assert story.reactions(alices.id) == {"rocket"}
    assert story.reactions(carols.id) == {"rocket"}
    assert story.reactions(on_46.id) == set()


def test_a_mail_to_two_issues_reaches_the_participants_of_each(story: Story):
    """Alice's mail is posted on #45 and, for its Cc, on #46: the comment on #46 goes to Dave,
    who follows #46 only, although the same mail's comment on #45 was mailed first."""
    assert posted(story.receive("e2e-dave.eml", DAVE, recipients=(WEB46,))) == {46: "posted"}
    story.alice_writes()
    on_45 = story.comment_from(ALICE)
    [on_46] = [c for c in story.github.comments if c.issue == 46 and "Alice" in c.body]

    story.github_tells_of(on_45)
    story.github_tells_of(on_46)
    assert [(m.to, m.comment) for m in story.outbox()] == [(DAVE, on_46.id)]
    assert story.reactions(on_45.id) == set()
    assert story.reactions(on_46.id) == {"rocket"}


def test_a_maintainers_comment_reaches_every_participant_once(story: Story):
    """A comment made on GitHub goes to Alice, Bob and Carol, each once, Bob's without the
    introduction now; GitHub's redelivery and SQS's second delivery of the batch mail nobody
    again and react nothing more."""
    story.alice_writes()
    story.carol_writes()
    for comment in [c for c in story.github.comments if c.issue == 45]:
        story.github_tells_of(comment)
    story.outbox()

    answer = story.maintainer_comments(9001, "Which model is it?")
    assert (answer["statusCode"], answer["body"].split(":")[0]) == (202, "queued")
    mails = by_recipient(story.outbox(delivered=2))
    assert sorted(mails) == [ALICE, BOB, CAROL]
    assert {m.comment for m in mails.values()} == {9001}
    for mail in mails.values():
        assert "maintainer commented on example-org/website#45:" in mail.text
        assert introduction(mail) == []
    assert threaded(mails[ALICE]) == thread_of(ROOT)
    assert threaded(mails[BOB]) == thread_of(ROOT)
    assert threaded(mails[CAROL]) == thread_of(CAROLS)
    assert story.reactions(9001) == {"rocket"}

    # GitHub delivers the same delivery again: acknowledged, not queued, nobody mailed.
    again = story.comment_on_github(
        9001, "Which model is it?", issue=45, login="maintainer", delivery=story.delivery
    )
    assert again["body"].split(":")[0] == "duplicate-delivery"
    assert story.queued() == 0
    # A redelivery under a new id (a second webhook, a replay) mails nobody twice either.
    story.comment_on_github(9001, "Which model is it?", issue=45, login="maintainer")
    assert story.outbox() == []
    assert story.reactions(9001) == {"rocket"}


def test_bobs_answer_reaches_alice_and_carol_and_not_bob(story: Story):
    """Bob answers the maintainer's mail: his comment goes to Alice and Carol; from then on his
    mails answer his own latest."""
    story.alice_writes()
    story.carol_writes()
    for comment in [c for c in story.github.comments if c.issue == 45]:
        story.github_tells_of(comment)
    story.outbox()
    story.maintainer_comments(9001, "Which model is it?")
    to_bob = by_recipient(story.outbox())[BOB]

    assert posted(story.bob_replies(to_bob)) == {45: "posted"}
    assert story.participants()[BOB] == (BOBS, "")
    bobs = story.comment_from(BOB)
    assert "LaserJet 4250" in bobs.body
    story.github_tells_of(bobs)
    mails = by_recipient(story.outbox())
    assert sorted(mails) == [ALICE, CAROL]
    assert {m.comment for m in mails.values()} == {bobs.id}
    assert "Bob Lee wrote by email on example-org/website#45:" in mails[ALICE].text
    assert threaded(mails[ALICE]) == thread_of(ROOT)
    assert threaded(mails[CAROL]) == thread_of(CAROLS)
    assert story.reactions(bobs.id) == {"rocket"}

    story.maintainer_comments(9002, "Ordered the roller.")
    mails = by_recipient(story.outbox())
    assert sorted(mails) == [ALICE, BOB, CAROL]
    assert threaded(mails[BOB]) == thread_of(BOBS)


def test_unsubscribed_and_bounced_participants_are_mailed_no_more(story: Story):
    """Carol's one-click unsubscribe takes her off, and Alice copying her on a mail does not
    subscribe her again; SES's bounce of Bob's mail about a comment sets confused on it; the
    next comment goes to Alice alone, and is confused too."""
    story.alice_writes()
    story.carol_writes()
    for comment in [c for c in story.github.comments if c.issue == 45]:
        story.github_tells_of(comment)
    story.outbox()
    story.maintainer_comments(9001, "Which model is it?")
    mails = by_recipient(story.outbox())

    assert story.unsubscribe(mails[CAROL])["statusCode"] == 200
    assert sorted(story.participants()) == [ALICE, BOB]
    assert posted(story.receive("e2e-alice-cc-carol.eml", ALICE)) == {45: "posted"}
    assert story.participants() == {ALICE: (ALICE_AGAIN, ""), BOB: (ROOT, "")}
    again = story.comment_from(ALICE)
    story.github_tells_of(again)
    assert [(m.to, m.comment) for m in story.outbox()] == [(BOB, again.id)]

    story.bounces(mails[BOB])
    assert story.outbox() == []
    assert story.reactions(9001) == {"rocket", "confused"}

    story.maintainer_comments(9003, "The roller is in: please try again.")
    [to_alice] = story.outbox()
    assert (to_alice.to, to_alice.comment) == (ALICE, 9003)
    assert threaded(to_alice) == thread_of(ALICE_AGAIN)
    assert story.reactions(9003) == {"confused"}


def test_our_own_update_coming_back_in_is_refused(story: Story):
    """One of our update mails fed back to the mail function (Alice's mailbox forwarding it to
    #45), as sent and stripped of every header that says it is automatic, is refused
    auto-reply by the same rule, its Message-ID, and posts nothing."""
    story.alice_writes()
    story.maintainer_comments(9001, "Which model is it?")
    update = by_recipient(story.outbox())[ALICE]
    comments = len(story.github.comments)

    [verbatim] = story.deliver(update.raw.encode(), ALICE)
    message = email.message_from_string(update.raw, policy=default)
    for name in ("Auto-Submitted", "X-Auto-Response-Suppress", "Precedence", "List-Id"):
        del message[name]
    [stripped] = story.deliver(message.as_bytes(), ALICE)
    assert (verbatim["reason"], stripped["reason"]) == ("auto-reply", "auto-reply")
    assert verbatim["detail"] == stripped["detail"]
    assert "Auto-Submitted" not in stripped["detail"]

    assert len(story.github.comments) == comments
    assert story.participants() == {ALICE: (ROOT, ""), BOB: (ROOT, "")}
    assert story.outbox() == []


def test_the_whole_conversation_mails_each_comment_once_to_each_participant(story: Story):
    """From Alice's first mail to the comment after the bounce: who got what, exactly once,
    and what GitHub shows under each comment."""
    story.alice_writes()
    story.carol_writes()
    sent: list[Sent] = []
    for comment in list(story.github.comments):
        story.github_tells_of(comment)
    sent += story.outbox(delivered=2)
    story.maintainer_comments(9001, "Which model is it?")
    sent += story.outbox(delivered=2)
    story.comment_on_github(9001, "Which model is it?", issue=45, login="maintainer")
    sent += story.outbox()
    story.bob_replies(next(m for m in sent if m.to == BOB and m.comment == 9001))
    bobs = story.comment_from(BOB)
    story.github_tells_of(bobs)
    sent += story.outbox(delivered=2)
    story.maintainer_comments(9002, "Ordered the roller.")
    sent += story.outbox()
    story.unsubscribe(next(m for m in sent if m.to == CAROL and m.comment == 9002))
    story.bounces(next(m for m in sent if m.to == BOB and m.comment == 9002))
    sent += story.outbox(delivered=2)
    story.maintainer_comments(9003, "The roller is in: please try again.")
    sent += story.outbox(delivered=2)

    alices, carols = story.comment_from(ALICE).id, story.comment_from(CAROL).id
    [on_46] = [c.id for c in story.github.comments if c.issue == 46]
    assert Counter((m.comment, m.to) for m in sent) == Counter(
        [
            (alices, CAROL),
            (carols, ALICE),
            (carols, BOB),
            (9001, ALICE),
            (9001, BOB),
            (9001, CAROL),
            (bobs.id, ALICE),
            (bobs.id, CAROL),
            (9002, ALICE),
            (9002, BOB),
            (9002, CAROL),
            (9003, ALICE),
        ]
    )
    assert [len(introduction(m)) for m in sent if m.to == BOB] == [1, 0, 0]
    assert {
        c.id: story.reactions(c.id) for c in story.github.comments if story.reactions(c.id)
    } == {
        alices: {"rocket"},
        carols: {"rocket"},
        9001: {"rocket"},
        bobs.id: {"rocket"},
        9002: {"rocket", "confused"},
        9003: {"confused"},
    }
    assert story.reactions(on_46) == set()
    for issue in (45, 46):
        assert not {EVE, WEB46} & set(story.participants(issue))
    assert story.participants() == {ALICE: (ROOT, ""), BOB: (BOBS, "")}
