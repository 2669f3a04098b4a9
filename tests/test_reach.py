"""Reach: maintainers see on GitHub whether a comment reached the mail participants. The reaction a
comment's decisions call for, set by the route's credential on the loopback GitHub; the SES ids
of its mails kept, so that a bounce or a complaint marks it later; every outcome logged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pytest_httpserver import HTTPServer

from handler.aws.reach import SENT_TTL_SECONDS, DynamoSentMail
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.credentials import Credentials, GitHubClients
from handler.github.posts import PostedComment, marker
from handler.github.reactions import RouteReactions
from handler.outbound.errors import OutboundError
from handler.outbound.feedback import Feedback
from handler.outbound.outbox import Outgoing
from handler.outbound.participants import Conversation, NoAuthors, Participant, address_digest
from handler.outbound.reach import (
    SentComment,
    SentMailError,
    reach_summary,
    reacting_route,
    reaction_for,
)
from handler.reasons import Reason, RetryLater
from handler.routing import Route, parse_routes
from handler.service.claims import Claimed
from handler.service.outbox import Outbox
from tests.conftest import TESTS
from tests.dynamo import CLAIMS_TABLE
from tests.fakegithub import FakeGitHub, Reaction
from tests.test_outbox import LEFT, NOW, closed, item
from tests.test_replies import REPO as WEBSITE
from tests.test_replies import (  # noqa: F401 - the fixture
    comment_on_github,
    deployment,
    mail_in,
    run_outbox,
)

ROUTES = parse_routes(
    """
routes:
  - domain: hello.example.com
    prefix: quiet-
    repo: Codertocat/Hello-World
    allowed_senders: [example.com]
  - domain: hello.example.com
    prefix: hw-
    repo: Codertocat/Hello-World
    name: Hello World
    allowed_senders: [example.com, allowed.org]
    notify_participants: true
""",
    "routes.yaml",
)
REPO = "Codertocat/Hello-World"
COMMENT = 492700400
REACTIONS = f"/repos/{REPO}/issues/comments/{COMMENT}/reactions"
ALICE = Participant("alice@example.com", "hello.example.com", "hw-", "a1@example.com", "Typo")
BOB = Participant("bob@example.com", "hello.example.com", "hw-", None)
CAROL = Participant("carol@allowed.org", "hello.example.com", "hw-", "c1@allowed.org")
THE_COMMENT = SentComment(REPO, 1, COMMENT)


# --- The reaction a comment's decisions call for (pure).


def decided(reason: Reason, *, retryable: bool = False) -> Outgoing:
    action = "mail" if reason in {Reason.MAILED, Reason.ALREADY_MAILED} else "skip"
    return Outgoing(action, reason, "", "d", retryable)


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        ([Reason.MAILED, Reason.MAILED], "rocket"),
        ([Reason.MAILED, Reason.ALREADY_MAILED, Reason.MAIL_OUTCOME_UNKNOWN], "rocket"),
        ([Reason.ALREADY_MAILED, Reason.AUTHOR, Reason.COPIED_ON_MAIL], "rocket"),
        ([Reason.MAILED, Reason.ROUTE_NOT_NOTIFYING, Reason.SENDER_NOT_ALLOWED], "rocket"),
        ([Reason.MAILED, Reason.SUPPRESSED], "confused"),
        ([Reason.UNMAILABLE, Reason.MAILED], "confused"),
        ([Reason.MAILED, Reason.SES_REJECTED], "confused"),
        ([Reason.SUPPRESSED], "confused"),
        ([Reason.AUTHOR, Reason.COPIED_ON_MAIL], None),
        ([Reason.OWN_COMMENT], None),
        ([Reason.NO_PARTICIPANTS], None),
        ([Reason.ROUTE_NOT_NOTIFYING], None),
        ([], None),
    ],
    ids=[
        "all-mailed",
        "mailed-already-or-unknown",
        "others-had-it",
        "others-not-for-it",
        "one-suppressed",
        "one-unmailable",
        "one-ses-rejected",
        "only-suppressed",
        "only-the-author-and-a-copy",
        "own-comment",
        "nobody",
        "route-not-notifying",
        "no-decision",
    ],
)
def test_the_reaction_follows_who_was_reached(reasons: list[Reason], expected: str | None):
    """rocket: at least one reached and none missed; confused: one missed; none: nobody was
    for it."""
    assert reaction_for([decided(reason) for reason in reasons]) == expected


def test_a_send_still_to_be_retried_leaves_the_reaction_to_the_redelivery():
    """A participant whose mail waits for a retry may still be reached: no rocket yet; one
    missed for good is confused whatever the retry brings."""
    waiting = decided(Reason.SES_UNAVAILABLE, retryable=True)
    assert reaction_for([decided(Reason.MAILED), waiting]) is None
    assert reaction_for([decided(Reason.SUPPRESSED), waiting]) == "confused"


def test_an_unforeseen_refusal_for_good_counts_as_not_reached():
    """A reason outside the known ones (a link that cannot be signed, for good) is confused."""
    assert reaction_for([decided(Reason.MAILED), decided(Reason.SECRET_UNAVAILABLE)]) == (
        "confused"
    )


def test_the_reactions_own_decisions_do_not_count():
    """A reaction logged among the decisions (reaction-failed) is not a participant."""
    failed = Outgoing("react", Reason.REACTION_FAILED, "no")
    assert reaction_for([decided(Reason.MAILED), failed]) == "rocket"


def test_the_summary_counts_participants_and_names_why_not():
    """Those the comment was not for are left out; the others' reasons, each once."""
    decisions = [
        decided(reason)
        for reason in (
            Reason.MAILED,
            Reason.AUTHOR,
            Reason.SUPPRESSED,
            Reason.ALREADY_MAILED,
            Reason.SUPPRESSED,
            Reason.UNMAILABLE,
        )
    ]
    assert reach_summary(decisions) == ("2 of 5 participants reached; not: suppressed, unmailable")
    assert reach_summary([decided(Reason.MAILED)]) == "1 of 1 participants reached"


def test_the_reacting_route_is_the_repositorys_first_that_mails_participants():
    """Not the quiet route of the same repository, whatever the case of the name."""
    route = reacting_route(ROUTES, "codertocat/hello-world")
    assert route is not None
    assert route.prefix == "hw-"
    assert reacting_route(ROUTES, "octo-org/other") is None


# --- The records of sent mail, on moto.


def test_a_sent_mail_names_its_comment_for_thirty_days(dynamodb):
    """One item per SES message id, ``sent#<id>``, expiring 30 days on."""
    store = DynamoSentMail(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    store.record(["ses-1", "ses-2"], THE_COMMENT)
    assert store.of("ses-1") == THE_COMMENT
    assert store.of("ses-2") == THE_COMMENT
    assert store.of("ses-3") is None
    item = dynamodb.get_item(TableName=CLAIMS_TABLE, Key={"id": {"S": "sent#ses-1"}})["Item"]
    assert item == {
        "id": {"S": "sent#ses-1"},
        "repo": {"S": REPO},
        "issue": {"N": "1"},
        "comment": {"N": str(COMMENT)},
        "expiration": {"N": str(int(NOW) + 30 * 86400)},
    }
    assert SENT_TTL_SECONDS == 30 * 86400


def test_an_expired_record_not_yet_deleted_names_no_comment(dynamodb):
    """DynamoDB deletes an expired item late: it is read as gone."""
    DynamoSentMail(dynamodb, CLAIMS_TABLE, clock=lambda: NOW).record(["ses-1"], THE_COMMENT)
    later = DynamoSentMail(dynamodb, CLAIMS_TABLE, clock=lambda: NOW + SENT_TTL_SECONDS + 1)
    assert later.of("ses-1") is None


class Failing:
    def __getattr__(self, name: str) -> Callable[..., Any]:
        def fail(**_: Any) -> Any:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, name)

        return fail


def test_a_failing_table_is_a_sent_mail_error_naming_the_code_only():
    """The detail names DynamoDB's code, transient: claim-store-unavailable."""
    store = DynamoSentMail(Failing(), CLAIMS_TABLE)  # type: ignore[arg-type]
    with pytest.raises(
        SentMailError, match=r"^cannot record the sent mail \(InternalServerError\)$"
    ):
        store.record(["ses-1"], THE_COMMENT)
    with pytest.raises(SentMailError, match=r"^cannot read the sent mail \(InternalServerError\)$"):
        store.of("ses-1")
    assert SentMailError("x").reason == Reason.CLAIM_STORE_UNAVAILABLE
    assert SentMailError("x").transient


# --- The outbox's reach step, against the loopback GitHub.


class People:
    """The issue's participants (handler.outbound.participants.Participants, as far as the
    outbox reads them)."""

    def __init__(self, *people: Participant) -> None:
        self.people = people

    def of(self, repo: str, issue: int) -> Conversation:
        return Conversation(self.people, "a1@example.com")

    def introduced(self, repo: str, issue: int, digest: str) -> None:
        return None


class Suppressed:
    def __init__(self, *addresses: str) -> None:
        self.addresses = set(addresses)

    def suppress(self, address: str, kind: str) -> None:
        self.addresses.add(address)

    def suppressed(self, addresses: Any) -> set[str]:
        return {address.lower() for address in addresses} & self.addresses


class Once:
    """Claims in memory: each key runs once."""

    def __init__(self) -> None:
        self.done: dict[str, PostedComment] = {}

    def once(self, key: str, post: Callable[[], PostedComment], deadline: Deadline) -> Claimed:
        if key in self.done:
            return Claimed(self.done[key], fresh=False)
        self.done[key] = post()
        return Claimed(self.done[key], fresh=True)


class Ses:
    """SES answering each mail with the next message id; ``fail`` refuses the next sends."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail: list[OutboundError] = []

    def send(self, source: str, to: str, raw: bytes) -> str:
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append(to)
        return f"ses-{len(self.sent)}"


class Sent:
    """The records of sent mail in memory; ``broken`` fails every call."""

    def __init__(self) -> None:
        self.records: dict[str, SentComment] = {}
        self.broken = False

    def record(self, message_ids: Any, comment: SentComment) -> None:
        if self.broken:
            raise SentMailError("cannot record the sent mail (InternalServerError)")
        self.records.update(dict.fromkeys(message_ids, comment))

    def of(self, message_id: str) -> SentComment | None:
        if self.broken:
            raise SentMailError("cannot read the sent mail (InternalServerError)")
        return self.records.get(message_id)


@pytest.fixture
def github(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver).install()


def reactions(server: HTTPServer) -> RouteReactions:
    """The route's login (here the deployment's token) against the loopback GitHub, its
    retries' waits not slept."""
    credentials = Credentials(
        None, lambda: "ghp_reach", default_api_url=server.url_for("/").rstrip("/")
    )

    def client(route: Route, deadline: Deadline) -> GitHubClient:
        login = credentials.login(route, deadline)
        return GitHubClient(
            login.token, deadline=deadline, api_url=login.api_url, sleep=lambda seconds: None
        )

    return RouteReactions(client)


def outbox(
    server: HTTPServer,
    people: People,
    *,
    ses: Ses | None = None,
    sent: Sent | None = None,
    claims: Once | None = None,
    suppressed: Suppressed | None = None,
    reach: bool = True,
) -> Outbox:
    return Outbox(
        ROUTES,
        people,  # type: ignore[arg-type]
        suppressed or Suppressed(),
        claims or Once(),
        ses or Ses(),
        unsubscribe_url=lambda repo, issue, address: "https://hook.example/unsubscribe?x=1",
        clock=lambda: NOW,
        authors=NoAuthors(),
        reactions=reactions(server) if reach else None,
        sent=sent if reach else None,
    )


def reacted(content: str) -> Reaction:
    return Reaction(REPO, COMMENT, content, {"content": content})


def test_a_comment_mailed_to_every_participant_gets_a_rocket(github, httpserver):
    """One POST with exactly {"content": "rocket"}, after both mails; the reaction logged."""
    decisions = outbox(httpserver, People(ALICE, BOB)).handle(item().to_json(), LEFT)
    assert [(d.action, d.reason) for d in decisions] == [
        ("mail", Reason.MAILED),
        ("mail", Reason.MAILED),
        ("react", Reason.REACTED),
    ]
    assert decisions[-1] == Outgoing(
        "react",
        Reason.REACTED,
        f"rocket on comment {COMMENT} on {REPO}#1: 2 of 2 participants reached",
    )
    assert github.reactions == [reacted("rocket")]
    [request] = [r for r, _ in httpserver.log if r.path.endswith("/reactions")]
    assert request.path == REACTIONS
    assert request.get_json() == {"content": "rocket"}
    assert request.headers["Authorization"] == "Bearer ghp_reach"


def test_a_suppressed_participant_makes_it_confused(github, httpserver):
    """One of them bounced earlier and is not mailed: maintainers see it."""
    box = outbox(httpserver, People(ALICE, BOB), suppressed=Suppressed("bob@example.com"))
    decisions = box.handle(item().to_json(), LEFT)
    assert decisions[-1] == Outgoing(
        "react",
        Reason.REACTED,
        f"confused on comment {COMMENT} on {REPO}#1: 1 of 2 participants reached; not: suppressed",
    )
    assert github.reactions == [reacted("confused")]


def test_a_redelivered_comment_mails_nobody_again_and_finds_its_reaction_there(github, httpserver):
    """GitHub answers 200 for the reaction the credential set already: logged as such, once
    on GitHub."""
    ses, claims = Ses(), Once()
    box = outbox(httpserver, People(ALICE, BOB), ses=ses, claims=claims)
    box.handle(item().to_json(), LEFT)
    again = box.handle(item().to_json(), LEFT)
    assert [d.reason for d in again] == [
        Reason.ALREADY_MAILED,
        Reason.ALREADY_MAILED,
        Reason.REACTED,
    ]
    assert again[-1].detail == (
        f"rocket on comment {COMMENT} on {REPO}#1 (it was there already): "
        "2 of 2 participants reached"
    )
    assert ses.sent == ["alice@example.com", "bob@example.com"]
    assert github.reactions == [reacted("rocket")]
    assert github.requests["POST reactions"] == 2


@pytest.mark.parametrize(
    "people",
    [People(), People(ALICE)],
    ids=["nobody-wrote", "own-comment"],
)
def test_a_comment_nobody_was_mailed_gets_no_reaction(github, httpserver, people):
    """Nobody wrote by mail, or the comment is our own posted mail (its marker, no record of
    who sent it): nothing is asked of GitHub."""
    body = "Thanks\n\n" + marker("0123456789abcdef0123456789abcdef")
    work = item() if not people.people else item(comment__body=body)
    decisions = outbox(httpserver, people).handle(work.to_json(), LEFT)
    assert [d.action for d in decisions] == ["skip"]
    assert github.requests["POST reactions"] == 0


def test_a_change_of_state_gets_no_reaction(github, httpserver):
    """Closing the issue is mailed, but there is no comment to react on, and nothing is
    recorded for its mails' bounces."""
    sent = Sent()
    decisions = outbox(httpserver, People(ALICE), sent=sent).handle(closed().to_json(), LEFT)
    assert [d.reason for d in decisions] == [Reason.MAILED]
    assert github.requests["POST reactions"] == 0
    assert sent.records == {}


def test_a_send_to_retry_waits_for_the_redelivery_to_react(github, httpserver):
    """SES throttles Alice's mail: no reaction yet, the message comes again, Alice alone is
    mailed and the rocket is set."""
    ses = Ses()
    box = outbox(httpserver, People(ALICE, BOB), ses=ses)
    ses.fail = [OutboundError(Reason.SES_UNAVAILABLE, "SES failed (Throttling)")]
    with pytest.raises(RetryLater):
        box.handle(item().to_json(), LEFT)
    assert github.requests["POST reactions"] == 0
    decisions = box.handle(item().to_json(), LEFT)
    assert [d.reason for d in decisions] == [
        Reason.MAILED,
        Reason.ALREADY_MAILED,
        Reason.REACTED,
    ]
    assert ses.sent == ["bob@example.com", "alice@example.com"]
    assert github.reactions == [reacted("rocket")]


def test_github_unavailable_retries_the_message_and_mails_nobody_twice(github, httpserver):
    """The reaction is reaction-unavailable and retryable: the redelivery finds every mail
    claimed and sets the reaction."""
    ses = Ses()
    box = outbox(httpserver, People(ALICE, BOB), ses=ses)
    github.fail_reactions = [502] * 4
    with pytest.raises(RetryLater, match="reaction-unavailable"):
        box.handle(item().to_json(), LEFT)
    decisions = box.handle(item().to_json(), LEFT)
    assert [d.reason for d in decisions][-1] == Reason.REACTED
    assert ses.sent == ["alice@example.com", "bob@example.com"]
    assert github.reactions == [reacted("rocket")]


def test_a_reaction_github_refuses_is_logged_and_not_retried(github, httpserver):
    """403 (the credential may not react): reaction-failed, the message done."""
    github.fail_reactions = [403]
    decisions = outbox(httpserver, People(ALICE)).handle(item().to_json(), LEFT)
    last = decisions[-1]
    assert (last.action, last.reason, last.retryable) == ("react", Reason.REACTION_FAILED, False)
    assert last.detail.startswith(
        f"rocket on comment {COMMENT} on {REPO}#1 refused: the credential may not react in "
        f"{REPO} (it needs Issues: write"
    )
    assert github.reactions == []


def test_without_reach_nothing_is_asked_of_github(github, httpserver):
    """An outbox built without reactions mails as before and sets none."""
    decisions = outbox(httpserver, People(ALICE), reach=False).handle(item().to_json(), LEFT)
    assert [d.reason for d in decisions] == [Reason.MAILED]
    assert github.requests["POST reactions"] == 0


# --- A bounce or a complaint, later.


def test_each_fresh_mail_is_recorded_under_its_ses_id(github, httpserver):
    """Alice's and Bob's mails name the comment; a redelivery records nothing more."""
    sent = Sent()
    box = outbox(httpserver, People(ALICE, BOB), sent=sent)
    box.handle(item().to_json(), LEFT)
    assert sent.records == {"ses-1": THE_COMMENT, "ses-2": THE_COMMENT}
    sent.records.clear()
    box.handle(item().to_json(), LEFT)
    assert sent.records == {}


def bounce(message_id: str, *addresses: str) -> str:
    """SES's permanent bounce of the mail ``message_id``, as the configuration set publishes it."""
    return json.dumps(
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": address} for address in addresses],
            },
            "mail": {"messageId": message_id},
        }
    )


def test_a_bounce_of_a_mailed_comment_marks_it_confused(github, httpserver):
    """Bob's mail bounced: he is suppressed and the comment gets confused beside its rocket."""
    sent = Sent()
    suppressed = Suppressed()
    box = outbox(httpserver, People(ALICE, BOB), sent=sent, suppressed=suppressed)
    box.handle(item().to_json(), LEFT)
    decisions = box.handle(bounce("ses-2", "bob@example.com"), LEFT)
    assert decisions == [
        Outgoing(
            "skip", Reason.SUPPRESSED, "Permanent/General bounce", address_digest("bob@example.com")
        ),
        Outgoing(
            "react",
            Reason.REACTED,
            f"confused on comment {COMMENT} on {REPO}#1: Permanent/General bounce",
        ),
    ]
    assert suppressed.addresses == {"bob@example.com"}
    assert github.reactions == [reacted("rocket"), reacted("confused")]


def test_a_bounce_of_mail_about_no_comment_only_suppresses(github, httpserver):
    """A sender's notice, or a mail whose record expired: suppressed, nothing asked of GitHub."""
    box = outbox(httpserver, People(ALICE), sent=Sent())
    decisions = box.handle(bounce("ses-77", "alice@example.com"), LEFT)
    assert [d.reason for d in decisions] == [Reason.SUPPRESSED]
    assert github.requests["POST reactions"] == 0


def test_a_bounce_that_suppresses_nobody_marks_nothing(github, httpserver):
    """A transient bounce is not a participant lost."""
    sent = Sent()
    sent.records["ses-1"] = THE_COMMENT
    box = outbox(httpserver, People(ALICE), sent=sent)
    transient = Feedback("bounce", (), "Transient/MailboxFull bounce: …", "ses-1")
    assert [d.reason for d in box.record_feedback(transient, LEFT)] == [Reason.FEEDBACK_NO_ACTION]
    assert github.requests["POST reactions"] == 0


def test_records_that_cannot_be_written_are_logged_and_the_reaction_still_set(github, httpserver):
    """A redelivery would send nothing afresh, so it could record nothing: not retried."""
    sent = Sent()
    sent.broken = True
    decisions = outbox(httpserver, People(ALICE), sent=sent).handle(item().to_json(), LEFT)
    assert decisions[1:] == [
        Outgoing(
            "react",
            Reason.CLAIM_STORE_UNAVAILABLE,
            "cannot record the sent mail (InternalServerError): a bounce of the 1 mail(s) "
            f"about comment {COMMENT} will not mark it",
        ),
        Outgoing(
            "react",
            Reason.REACTED,
            f"rocket on comment {COMMENT} on {REPO}#1: 1 of 1 participants reached",
        ),
    ]


def test_records_that_cannot_be_read_retry_the_feedback(github, httpserver):
    """Suppressing again is harmless: the feedback comes again until its comment is known."""
    sent = Sent()
    sent.broken = True
    box = outbox(httpserver, People(ALICE), sent=sent)
    with pytest.raises(RetryLater, match="claim-store-unavailable"):
        box.handle(bounce("ses-1", "alice@example.com"), LEFT)


def test_the_reaction_on_a_bounce_goes_through_the_claims_table_on_moto(
    dynamodb, github, httpserver
):
    """DynamoSentMail in the claims table: the mail recorded, its bounce found; the reactions
    through the route's clients as the outbox function makes them (GitHubClients)."""
    store = DynamoSentMail(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    api_url = httpserver.url_for("/").rstrip("/")
    github_clients = GitHubClients(Credentials(None, lambda: "ghp_reach", default_api_url=api_url))
    box = Outbox(
        ROUTES,
        People(ALICE),  # type: ignore[arg-type]
        Suppressed(),
        Once(),
        Ses(),
        unsubscribe_url=lambda repo, issue, address: None,
        clock=lambda: NOW,
        authors=NoAuthors(),
        reactions=RouteReactions(github_clients),
        sent=store,
    )
    box.handle(item().to_json(), LEFT)
    assert store.of("ses-1") == THE_COMMENT
    box.handle(bounce("ses-1", "alice@example.com"), LEFT)
    assert github.reactions == [reacted("rocket"), reacted("confused")]


# --- Through the outbox function, as Terraform deploys it (moto, the loopback GitHub).


def test_the_outbox_function_marks_a_bounced_comment_with_the_routes_credential(
    deployment,  # noqa: F811 - test_replies' fixture
    dynamodb,
):
    """A bounce of a mail recorded as about comment 9001 on #45: the outbox function logs in
    with the deployment's token secret, takes its turn under the shared rate limit in the claims
    table, and sets exactly {"content": "confused"} on that comment."""
    github, sqs, queue_url = deployment
    DynamoSentMail(dynamodb, CLAIMS_TABLE).record(["ses-bounced"], SentComment(WEBSITE, 45, 9001))
    notification = json.loads((TESTS / "events" / "sesEventBounce.json").read_text())
    notification["mail"]["messageId"] = "ses-bounced"
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(notification))
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    assert github.reactions == [Reaction(WEBSITE, 9001, "confused", {"content": "confused"})]
    [request] = [r for r, _ in github.server.log if r.path.endswith("/reactions")]
    assert request.path == f"/repos/{WEBSITE}/issues/comments/9001/reactions"
    assert request.headers["Authorization"] == "Bearer ghp_test"
    limits = dynamodb.scan(TableName=CLAIMS_TABLE)["Items"]
    assert [item["id"]["S"].partition("#")[0] for item in limits].count("ratelimit") == 1


def test_a_maintainers_comment_mailed_gets_a_rocket_and_its_bounce_a_confused(
    deployment,  # noqa: F811 - test_replies' fixture
    dynamodb,
):
    """Through the three functions: Alice writes to #45, a maintainer answers on GitHub, the
    outbox mails her and sets rocket on that comment (our own posted comment gets none); her
    mailbox then bounces that mail (SES names it by the id SendRawEmail gave), and the comment
    gets confused."""
    github, sqs, queue_url = deployment
    assert mail_in("ses-in-1", "a1@mail.example.com", "The printer jams.\r\n")["reason"] == "posted"
    [ours] = github.comments
    comment_on_github("d-ours", ours.id, ours.body, login="router-bot")
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    assert github.reactions == []

    comment_on_github("d-answer", 9001, "Fixed in **2.1**.")
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    assert github.reactions == [Reaction(WEBSITE, 9001, "rocket", {"content": "rocket"})]
    [sent] = [
        item
        for item in dynamodb.scan(TableName=CLAIMS_TABLE)["Items"]
        if item["id"]["S"].startswith("sent#")
    ]
    assert (sent["repo"]["S"], sent["issue"]["N"], sent["comment"]["N"]) == (WEBSITE, "45", "9001")
    message_id = sent["id"]["S"].removeprefix("sent#")

    notification = json.loads((TESTS / "events" / "sesEventBounce.json").read_text())
    notification["mail"]["messageId"] = message_id
    notification["bounce"]["bouncedRecipients"] = [{"emailAddress": "alice@example.com"}]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(notification))
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    assert github.reactions == [
        Reaction(WEBSITE, 9001, "rocket", {"content": "rocket"}),
        Reaction(WEBSITE, 9001, "confused", {"content": "confused"}),
    ]
    assert [r.path for r, _ in github.server.log if r.path.endswith("/reactions")] == [
        f"/repos/{WEBSITE}/issues/comments/9001/reactions"
    ] * 2
