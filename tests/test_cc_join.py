"""Colleagues copied on an accepted mail join the issue's conversation, safely; and who wrote
each mail is recorded before it is posted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from handler.aws.participants import DynamoAuthors, DynamoParticipants
from handler.deadline import Deadline
from handler.github.credentials import Credentials
from handler.github.posts import PostedComment
from handler.inbound.plan import Plan, plan
from handler.outbound.participants import (
    Authorship,
    Conversation,
    Departure,
    NoAuthors,
    Participant,
    ParticipantStoreError,
    address_digest,
)
from handler.routing import Routes, parse_routes
from handler.service.delivery import MAX_COPIED, copied, record_authors, update_participants
from handler.service.events import MailRef
from handler.service.inbound import Receiver, Runtime
from handler.wiring import Tables, inbound_runtime
from tests.conftest import TESTS
from tests.dynamo import CLAIMS_TABLE
from tests.sesmail import ses_mail

MAIL = TESTS / "conversation" / "inbound-alice-cc.eml"
WEBSITE = """
routes:
  - domain: issues.example.com
    prefix: web-
    repo: example-org/website
    # *.example.com also matches issues.example.com: only the rule about our own domains keeps
    # the route addresses copied on a mail out.
    allowed_senders: [example.com, "*.example.com"]
    new_issue_address: new
    notify_participants: true{cc}
  - domain: issues.example.com
    prefix: docs-
    repo: example-org/docs
    allowed_senders: [example.com]
  - domain: help.example.net
    repo: example-org/help
    allowed_senders: [example.net]
"""
ROUTES = parse_routes(WEBSITE.format(cc=""), "routes.yaml")
AT = 1_790_000_000.0
ISSUE = ("example-org/website", 45)
MESSAGE_ID = "CAK7a1ce-build@mail.example.com"
ALICE = Participant(
    "alice@example.com", "issues.example.com", "web-", MESSAGE_ID, "Build failure on ARM"
)
BOB = replace(ALICE, address="bob@example.com", copied_by="Alice Example")
CAROL = replace(BOB, address="carol@lab.example.org")
POSTED = "posted to example-org/website#45"


def routes_with(cc: str) -> Routes:
    """The website route with ``cc`` as its cc_participants."""
    return parse_routes(WEBSITE.format(cc=f"\n    cc_participants: {cc}"), "routes.yaml")


class Store:
    """Participants as the store keeps them: add_copied adds nobody who is one already or
    ever left; ``fail`` makes add_copied raise that error."""

    def __init__(self, fail: ParticipantStoreError | None = None) -> None:
        self.issues: dict[tuple[str, int], dict[str, Participant]] = {}
        self.left: dict[tuple[str, int], dict[str, float]] = {}
        self.fail = fail

    def add(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        self.issues.setdefault((repo, issue), {})[address_digest(participant.address)] = participant
        return True

    def add_copied(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        if self.fail is not None:
            raise self.fail
        digest = address_digest(participant.address)
        known = self.issues.setdefault((repo, issue), {})
        if digest in known or digest in self.left.get((repo, issue), {}):
            return False
        known[digest] = participant
        return True

    def of(self, repo: str, issue: int) -> Conversation:
        left = self.left.get((repo, issue), {})
        return Conversation(
            tuple(self.issues.get((repo, issue), {}).values()),
            None,
            tuple(Departure(digest, at) for digest, at in left.items()),
        )

    def remove(self, repo: str, issue: int, digest: str, at: float) -> bool:
        self.left.setdefault((repo, issue), {})[digest] = at
        return self.issues.get((repo, issue), {}).pop(digest, None) is not None

    def introduced(self, repo: str, issue: int, digest: str) -> None:
        return None


class Authors:
    """Authorships by mail key; ``fail`` makes record raise that error."""

    def __init__(self, fail: ParticipantStoreError | None = None) -> None:
        self.kept: dict[str, Authorship] = {}
        self.calls = 0
        self.fail = fail

    def record(self, mail: str, authorship: Authorship) -> None:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        self.kept[mail] = authorship

    def of(self, mail: str) -> Authorship | None:
        return self.kept.get(mail)


def posted(raw: bytes, routes: Routes = ROUTES, reason: str = "posted", issue: int = 45) -> tuple:
    """The plan of ``raw`` and its accepted decisions as deliver returns them once posted."""
    planned = plan(raw, routes)
    decisions = tuple(
        replace(
            d,
            reason=reason,
            issue=issue,
            detail=f"{'opened' if d.action == 'open' else 'posted to'} {d.repo}#{issue}",
        )
        if d.action in {"comment", "open"}
        else d
        for d in planned.decisions
    )
    return planned, decisions


def joined(store: Store, issue: tuple[str, int] = ISSUE) -> list[Participant]:
    return list(store.of(*issue).participants)


# --- who joins --------------------------------------------------------------------------


def test_colleagues_copied_from_allowed_domains_join_and_nobody_else():
    """Of Alice's To and Cc only Bob joins: not Eve (outside the allowed domains), not our own
    route addresses (docs-3@issues.example.com, relay@mx.issues.example.com, though the route
    allows *.example.com), not Jörg's non-ASCII address, not Alice herself, not Carol (her
    domain is not allowed), and Bob once although he is in To and Cc."""
    planned, decisions = posted(MAIL.read_bytes())
    store = Store()
    [decision] = update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert joined(store) == [ALICE, BOB]
    assert (decision.action, decision.reason, decision.retryable) == ("comment", "posted", False)
    assert decision.detail == f"{POSTED}; copied on the mail: 1 of 1 joined the participants"


def test_the_copied_are_chosen_by_a_pure_rule():
    """copied() gives the addresses that join, To first, and how many more were left out."""
    planned = plan(MAIL.read_bytes(), ROUTES)
    sender = planned.assessment.sender
    assert sender is not None
    [route] = [r for r in ROUTES.routes if r.prefix == "web-"]
    chosen, left_out = copied(planned.message, sender, route, ROUTES)
    assert ([a.addr for a in chosen], left_out) == (["bob@example.com"], 0)
    wide = replace(route, cc_domains=("lab.example.org", "*.example.net"))
    chosen, _ = copied(planned.message, sender, wide, ROUTES)
    assert [a.addr for a in chosen] == [
        "bob@example.com",
        "eve@outsider.example.net",
        "carol@lab.example.org",
    ]
    # Had the deployment a route at example.net, Eve's domain lies below it: never one of ours.
    own = parse_routes(
        WEBSITE.format(cc="") + "  - domain: example.net\n"
        "    repo: example-org/other\n"
        "    allowed_senders: [example.net]\n",
        "routes.yaml",
    )
    chosen, _ = copied(planned.message, sender, wide, own)
    assert [a.addr for a in chosen] == ["bob@example.com", "carol@lab.example.org"]


def test_widened_domains_join_too():
    """cc_participants listing lab.example.org lets Carol join beside Bob; Eve still never."""
    routes = routes_with("[lab.example.org]")
    planned, decisions = posted(MAIL.read_bytes(), routes)
    store = Store()
    [decision] = update_participants(planned, decisions, routes, store, received_at=AT)
    assert joined(store) == [ALICE, BOB, CAROL]
    assert decision.detail == f"{POSTED}; copied on the mail: 2 of 2 joined the participants"


def test_cc_participants_false_lets_only_the_sender_in():
    """With cc_participants: false nobody copied joins, and the detail is as it was."""
    routes = routes_with("false")
    planned, decisions = posted(MAIL.read_bytes(), routes)
    store = Store()
    assert update_participants(planned, decisions, routes, store, received_at=AT) == decisions
    assert joined(store) == [ALICE]


def test_an_outsider_copied_never_joins():
    """A mail copied only to an outsider's domain subscribes nobody but its sender."""
    raw = ses_mail(
        recipient="web-45@issues.example.com",
        cc="Eve <eve@outsider.example.net>, mallory@example.com.evil.example",
    )
    planned, decisions = posted(raw)
    store = Store()
    assert update_participants(planned, decisions, ROUTES, store, received_at=AT) == decisions
    assert [p.address for p in joined(store)] == ["alice@example.com"]


def test_our_own_addresses_copied_never_join():
    """Route addresses of the deployment, of any route domain or below one, never become
    participants, whatever the route allows: our mails would come back in."""
    routes = routes_with("['*.example.net']")
    raw = ses_mail(
        recipient="web-45@issues.example.com",
        to="web-45@issues.example.com, web-46@Issues.Example.com",
        cc="docs-3@issues.example.com, 12@help.example.net, x@deep.help.example.net",
    )
    planned, decisions = posted(raw, routes)
    store = Store()
    assert update_participants(planned, decisions, routes, store, received_at=AT) == decisions
    assert [p.address for p in joined(store)] == ["alice@example.com"]


def test_someone_who_unsubscribed_is_not_subscribed_again_by_a_copy():
    """Bob left #45; Alice copying him again changes nothing, and the detail says he did not
    join."""
    store = Store()
    store.add(*ISSUE, BOB, AT - 100)
    store.remove(*ISSUE, address_digest("bob@example.com"), AT - 50)
    planned, decisions = posted(MAIL.read_bytes())
    [decision] = update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert joined(store) == [ALICE]
    assert decision.detail == (
        f"{POSTED}; copied on the mail: 0 of 1 joined the participants, 1 did not (a "
        "participant already, or unsubscribed)"
    )


def test_a_participant_copied_again_keeps_what_the_store_has():
    """Bob who wrote himself stays as he was: copied_by is set for newcomers only."""
    store = Store()
    bob = replace(BOB, copied_by="", last_message_id="b1@example.com")
    store.add(*ISSUE, bob, AT - 100)
    planned, decisions = posted(MAIL.read_bytes())
    update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert joined(store) == [bob, ALICE]


def test_at_most_twenty_join_from_one_mail():
    """Of 23 colleagues copied, the first 20 join and the detail says 3 were left out."""
    colleagues = [f"c{n:02}@example.com" for n in range(23)]
    raw = ses_mail(recipient="web-45@issues.example.com", cc=", ".join(colleagues))
    planned, decisions = posted(raw)
    store = Store()
    [decision] = update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert MAX_COPIED == 20
    assert [p.address for p in joined(store)] == ["alice@example.com", *colleagues[:20]]
    assert {p.copied_by for p in joined(store)[1:]} == {"Alice"}
    assert decision.detail == (
        f"{POSTED}; copied on the mail: 20 of 20 joined the participants, 3 left out (at most "
        "20 join from one mail)"
    )


def test_the_copied_join_the_issue_a_mail_opened():
    """A mail that opened #57 brings its copied colleagues into #57."""
    raw = MAIL.read_bytes().replace(b"web-45@", b"web-new@")
    planned, decisions = posted(raw, reason="opened", issue=57)
    store = Store()
    [decision] = update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert joined(store, ("example-org/website", 57)) == [ALICE, BOB]
    assert decision.detail == (
        "opened example-org/website#57; copied on the mail: 1 of 1 joined the participants"
    )


@pytest.mark.parametrize("reason", ["already-posted", "already-opened"])
def test_a_redelivered_mail_adds_the_copied_it_did_not_before(reason):
    """A retry answered by the claim still records who the failed attempt did not."""
    planned, decisions = posted(MAIL.read_bytes(), reason=reason)
    store = Store()
    update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert joined(store) == [ALICE, BOB]


def test_nobody_joins_from_a_mail_that_was_not_posted_or_on_a_quiet_route():
    """A failed post, a retryable one, or a route without notify_participants adds nobody."""
    store = Store()
    planned, decisions = posted(MAIL.read_bytes(), reason="issue-locked")
    update_participants(planned, decisions, ROUTES, store, received_at=AT)
    planned, decisions = posted(MAIL.read_bytes())
    retried = (replace(decisions[0], retryable=True),)
    update_participants(planned, retried, ROUTES, store, received_at=AT)
    raw = MAIL.read_bytes().replace(b"for web-45@", b"for docs-3@")
    planned, decisions = posted(raw)
    assert [d.repo for d in decisions] == ["example-org/docs"]
    update_participants(planned, decisions, ROUTES, store, received_at=AT)
    assert store.issues == {}


def test_a_store_down_while_adding_the_copied_fails_the_decision_for_a_retry():
    """A transient failure is retried like the sender's record: the claim then answers
    already-posted and the copied join."""
    planned, decisions = posted(MAIL.read_bytes())
    down = Store(ParticipantStoreError("cannot record the participant (Throttling)"))
    [failed] = update_participants(planned, decisions, ROUTES, down, received_at=AT)
    assert (failed.action, failed.reason, failed.retryable, failed.detail) == (
        "reject",
        "participant-store-unavailable",
        True,
        "cannot record the participant (Throttling)",
    )


def test_a_full_issue_names_the_copied_it_could_not_add():
    """A permanent failure leaves the comment counted and says so in the detail."""
    planned, decisions = posted(MAIL.read_bytes())
    full = Store(ParticipantStoreError("item too large", transient=False))
    [decision] = update_participants(planned, decisions, ROUTES, full, received_at=AT)
    assert (decision.action, decision.reason, decision.retryable) == ("comment", "posted", False)
    assert decision.detail == (
        f"{POSTED}; those copied on the mail not recorded as participants: item too large"
    )
    assert joined(full) == [ALICE]


# --- who wrote it, recorded before posting -------------------------------------------------


def digests(*addresses: str) -> tuple[str, ...]:
    return tuple(address_digest(address) for address in addresses)


def test_who_wrote_a_mail_is_recorded_under_its_mail_key():
    """Alice by her address's digest and her display name; everyone in To and Cc by digest,
    once each, in the order written."""
    planned = plan(MAIL.read_bytes(), ROUTES)
    authors = Authors()
    assert record_authors(planned, ROUTES, authors) == planned.decisions
    [decision] = planned.decisions
    assert decision.mail is not None
    assert authors.kept == {
        decision.mail: Authorship(
            sender=address_digest("alice@example.com"),
            name="Alice Example",
            reached=digests(
                "web-45@issues.example.com",
                "bob@example.com",
                "eve@outsider.example.net",
                "docs-3@issues.example.com",
                "jörg@example.com",
                "alice@example.com",
                "carol@lab.example.org",
                "relay@mx.issues.example.com",
            ),
        )
    }
    assert f"ticket-router:mail={decision.mail}" in (decision.draft.body if decision.draft else "")


@pytest.mark.parametrize(
    ("from_", "name"),
    [
        ("alice@example.com", "Someone at example.com"),
        ('"alice@example.com" <alice@example.com>', "Someone at example.com"),
        ("Alice (alice@example.com) <alice@example.com>", "Alice"),
    ],
)
def test_the_name_recorded_is_never_an_address(from_, name):
    """Without a display name, or with an address in it, the name is what the comment shows."""
    planned = plan(ses_mail(recipient="web-45@issues.example.com", from_=from_), ROUTES)
    authors = Authors()
    record_authors(planned, ROUTES, authors)
    [kept] = authors.kept.values()
    assert kept == Authorship(
        address_digest("alice@example.com"), name, digests("web-45@issues.example.com")
    )


def test_a_new_issue_records_its_opener_too():
    """A mail that opens an issue on such a route is recorded like a comment."""
    planned = plan(MAIL.read_bytes().replace(b"web-45@", b"web-new@"), ROUTES)
    assert [d.action for d in planned.decisions] == ["open"]
    authors = Authors()
    record_authors(planned, ROUTES, authors)
    assert [a.name for a in authors.kept.values()] == ["Alice Example"]


def test_nothing_is_recorded_for_a_quiet_route_or_a_refused_mail():
    """No notify_participants, or nothing to post: no call to the store at all."""
    authors = Authors()
    quiet = plan(MAIL.read_bytes().replace(b"for web-45@", b"for docs-3@"), ROUTES)
    assert record_authors(quiet, ROUTES, authors) == quiet.decisions
    refused = plan(ses_mail(recipient="web-45@issues.example.com", dmarc="fail"), ROUTES)
    assert [d.reason for d in refused.decisions] == ["not-authenticated"]
    assert record_authors(refused, ROUTES, authors) == refused.decisions
    assert authors.calls == 0


def test_a_store_failure_fails_the_decision_before_anything_is_posted():
    """Unrecorded, the mail is not posted: the decision is a retryable rejection, the draft
    kept for the record."""
    planned = plan(MAIL.read_bytes(), ROUTES)
    down = Authors(ParticipantStoreError("cannot record the author (Throttling)"))
    [failed] = record_authors(planned, ROUTES, down)
    assert (failed.action, failed.reason, failed.retryable, failed.detail) == (
        "reject",
        "participant-store-unavailable",
        True,
        "not posted, since who wrote it could not be recorded first: cannot record the "
        "author (Throttling)",
    )
    assert failed.draft == planned.decisions[0].draft


def test_one_record_serves_every_issue_a_mail_reaches():
    """A mail to two issues of the route is one mail key: recorded once."""
    raw = ses_mail(
        to="web-45@issues.example.com, web-46@issues.example.com",
        recipient=None,
    )
    planned = plan(
        raw, ROUTES, recipients=["web-45@issues.example.com", "web-46@issues.example.com"]
    )
    assert [d.action for d in planned.decisions] == ["comment", "comment"]
    authors = Authors()
    record_authors(planned, ROUTES, authors)
    assert (authors.calls, len(authors.kept)) == (1, 1)


# --- the receiver's steps --------------------------------------------------------------------


class OneMail:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def fetch(self, bucket: str, key: str) -> bytes:
        return self.raw


class GitHub:
    """Posts, and says what it was asked when."""

    def __init__(self, authors: Authors) -> None:
        self.authors = authors
        self.recorded_before: list[bool] = []

    def create_comment(self, repo, issue, body, *, since=None, posting=None, finish=None):
        self.recorded_before.append(bool(self.authors.kept))
        return PostedComment(1, f"https://github.com/{repo}/issues/{issue}#issuecomment-1")


def receive(raw: bytes, authors: Authors, store: Store) -> tuple[list, GitHub]:
    github = GitHub(authors)
    runtime = Runtime(
        routes=ROUTES,
        store=OneMail(raw),
        github=lambda route, deadline: github,
        participants=store,
        authors=authors,
    )
    decisions = Receiver(runtime).receive(MailRef("mail", "k", received_at=AT), Deadline.within(60))
    return list(decisions), github


def test_the_receiver_records_the_author_before_it_posts():
    """Fetch, plan, record who wrote, post, record participants: by the time GitHub is asked,
    the authorship is kept; the copied colleague joined after."""
    authors, store = Authors(), Store()
    [decision], github = receive(MAIL.read_bytes(), authors, store)
    assert github.recorded_before == [True]
    assert (decision.reason, decision.detail) == (
        "posted",
        f"{POSTED}; copied on the mail: 1 of 1 joined the participants",
    )
    assert joined(store) == [ALICE, BOB]


def test_the_receiver_posts_nothing_when_the_author_cannot_be_recorded():
    """The store down: GitHub is never called, nobody joins, the mail is retried."""
    authors, store = (
        Authors(ParticipantStoreError("cannot record the author (Throttling)")),
        Store(),
    )
    [decision], github = receive(MAIL.read_bytes(), authors, store)
    assert github.recorded_before == []
    assert (decision.action, decision.reason, decision.retryable) == (
        "reject",
        "participant-store-unavailable",
        True,
    )
    assert store.issues == {}


def test_without_a_store_nobody_is_recorded():
    """The default runtime keeps no authorship (NoAuthors) and still posts."""
    assert NoAuthors().of("0" * 32) is None
    runtime = Runtime(routes=ROUTES, store=OneMail(b""))
    assert isinstance(runtime.authors, NoAuthors)


def test_the_plan_is_what_the_steps_start_from():
    """Sanity: the example mail is accepted for #45 from Alice, as the tests above assume."""
    planned: Plan = plan(MAIL.read_bytes(), ROUTES)
    assert [(d.action, d.reason, d.repo, d.issue) for d in planned.decisions] == [
        ("comment", "accepted", "example-org/website", 45)
    ]
    assert planned.assessment.sender is not None
    assert planned.assessment.sender.addr == "alice@example.com"


def test_the_deployed_runtime_keeps_authors_and_the_copied_in_the_table(dynamodb):
    """inbound_runtime wires DynamoAuthors beside DynamoParticipants: after Alice's mail the
    table holds her authorship under the mail key, and Bob as copied by her."""
    github = GitHub(Authors())
    runtime = replace(
        inbound_runtime(
            ROUTES,
            store=OneMail(MAIL.read_bytes()),
            credentials=Credentials(None, lambda: "token"),
            tables=Tables(dynamodb, CLAIMS_TABLE),
        ),
        github=lambda route, deadline: github,
    )
    assert isinstance(runtime.authors, DynamoAuthors)
    [decision] = Receiver(runtime).receive(
        MailRef("mail", "k", received_at=AT), Deadline.within(60)
    )
    assert decision.reason == "posted"
    assert DynamoAuthors(dynamodb, CLAIMS_TABLE).of(decision.mail or "") == Authorship(
        address_digest("alice@example.com"),
        "Alice Example",
        digests(
            "web-45@issues.example.com",
            "bob@example.com",
            "eve@outsider.example.net",
            "docs-3@issues.example.com",
            "jörg@example.com",
            "alice@example.com",
            "carol@lab.example.org",
            "relay@mx.issues.example.com",
        ),
    )
    conversation = DynamoParticipants(dynamodb, CLAIMS_TABLE).of(*ISSUE)
    # Both joined by the same mail: no order between them.
    assert sorted((p.address, p.copied_by) for p in conversation.participants) == [
        ("alice@example.com", ""),
        ("bob@example.com", "Alice Example"),
    ]
