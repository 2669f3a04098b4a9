"""Never twice on GitHub's side after an unknown outcome: the posting record written before each
POST, the late-POST window, the marker searched whatever the mail's age, a copy found reported as
posted before, and a claim that cannot be marked done after its post.

Claims and posting records in DynamoDB (moto); GitHub the loopback fake on a threaded server (a
POST it holds does not stop the searches); time a test clock that only sleeps move, GitHub's
request log kept in it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pytest_httpserver import HTTPServer

from handler.aws.claims import DynamoClaims
from handler.aws.postings import DynamoPostings
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.rate_limit import MemoryPostLimit
from handler.inbound.plan import CommentDraft, IssueDraft, plan
from handler.reasons import RetryLater
from handler.routing import Routes, load_routes, parse_routes
from handler.service.inbound import Runtime, handle_event
from handler.service.metrics import Measurement
from tests.clock import Clock, T
from tests.conftest import TESTS
from tests.dynamo import CLAIMS_TABLE, Atomic
from tests.fakegithub import Comment, FakeGitHub, Issue
from tests.sesmail import ses_mail

ROUTES = load_routes(TESTS / "lambda" / "routes.yaml")
OPENING = parse_routes(
    "routes:\n"
    "  - {domain: issues.example.com, repo: example-org/app, allowed_senders: [example.com],\n"
    "     new_issue_address: new}\n",
    "routes.yaml",
)
COMMENTS = "/repos/example-org/app/issues/7/comments"
# When SES received the mail.
RECEIVED = T


class Store:
    def __init__(self, mails: dict[str, bytes]) -> None:
        self.mails = mails

    def fetch(self, bucket: str, key: str) -> bytes:
        return self.mails[key]


class Counted:
    """The metrics an invocation records, by name."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def record(self, measurements: Any) -> None:
        self.names += [m.name for m in measurements if isinstance(m, Measurement)]

    def flush(self) -> None:
        pass


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """The loopback GitHub, answering requests in parallel."""
    threaded = HTTPServer(threaded=True)
    threaded.start()
    yield threaded
    threaded.clear()
    threaded.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(RECEIVED)


@pytest.fixture
def github(server: HTTPServer, clock: Clock) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(server, clock=clock).install()
    yield fake
    # Whatever the fake still holds is let go, so that the server can stop.
    for event in [*fake.held_next, *fake.late_next]:
        event.set()


def runtime(
    table: Any,
    server: HTTPServer,
    clock: Clock,
    *,
    routes: Routes = ROUTES,
    raw: bytes | None = None,
    client_seconds: float | None = None,
    metrics: Counted | None = None,
) -> Runtime:
    """The Lambda's runtime on moto and the fake; the client's deadline is the invocation's
    unless ``client_seconds`` gives it its own."""

    def github(route: Any, deadline: Deadline) -> GitHubClient:
        if client_seconds is not None:
            deadline = Deadline.within(client_seconds, clock)
        return GitHubClient(
            "t",
            deadline=deadline,
            api_url=server.url_for("/"),
            timeout=0.5,
            clock=clock,
            sleep=clock.sleep,
            limit=MemoryPostLimit(),
        )

    return Runtime(
        routes=routes,
        store=Store({"inbound/a": raw if raw is not None else ses_mail()}),
        github=github,
        bucket="mail",
        prefix="inbound/",
        claims=DynamoClaims(CLAIMS_TABLE, table, expires_after_seconds=3600),
        postings=DynamoPostings(
            Atomic(table), CLAIMS_TABLE, expires_after_seconds=3600, clock=clock
        ),
        metrics=metrics or Counted(),
        clock=clock,
    )


def s3_event(received: float = RECEIVED) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventTime": datetime.fromtimestamp(received, UTC).isoformat(),
                "s3": {"bucket": {"name": "mail"}, "object": {"key": "inbound/a"}},
            }
        ]
    }


def reasons(result: dict[str, Any]) -> list[str]:
    return [d["reason"] for d in result["decisions"]]


def items(table: Any, prefix: str) -> list[dict[str, Any]]:
    found = table.scan(TableName=CLAIMS_TABLE)["Items"]
    return [item for item in found if item["id"]["S"].startswith(f"{prefix}#")]


def requests(github: FakeGitHub) -> list[tuple[float, str]]:
    return [(at, method) for at, method, _ in github.log]


def first_delivery_loses_its_answer(dynamodb: Any, server: HTTPServer, clock: Clock) -> float:
    """A second after SES received the mail: the POST creates the comment but its answer never
    comes (the client times out), the search right after fails too, and the invocation has no
    time to wait for a late POST: it fails, releasing its claim. When the POST was sent."""
    clock.now = RECEIVED + 1
    with pytest.raises(RetryLater, match="inbound/a: post-outcome-unknown"):
        handle_event(s3_event(), runtime(dynamodb, server, clock), Deadline.within(20.0, clock))
    return RECEIVED + 1


@pytest.mark.parametrize("listing", ["fails", "works"])
def test_a_lost_answer_is_found_by_a_fresh_redelivery(dynamodb, server, clock, github, listing):
    """The redelivery seconds later is fresh by its age, yet finds the posting record: it
    searches at once, and when GitHub's list still fails, waits until a minute after the POST
    and searches again. Either way the comment is found, reported as posted before, and GitHub
    has it once."""
    gave_up = threading.Event()
    github.held_next.append(gave_up)
    github.fail_lists.append(502)
    clock.after_sleep = gave_up.set
    sent = first_delivery_loses_its_answer(dynamodb, server, clock)
    assert items(dynamodb, "ticket-router") == []
    [record] = items(dynamodb, "posting")
    assert record["at"] == {"N": f"{sent:.3f}"}
    [(posted, _), (searched, _)] = requests(github)
    assert posted == sent
    assert sent < searched < sent + 2

    clock.now = RECEIVED + 6
    slept = len(clock.slept)
    if listing == "fails":
        github.fail_lists.append(502)
    result = handle_event(s3_event(), runtime(dynamodb, server, clock), Deadline.within(90, clock))

    assert reasons(result) == ["already-posted"]
    assert result["decisions"][0]["url"].endswith("#issuecomment-1")
    assert len(github.comments) == 1
    assert github.requests["POST"] == 1
    if listing == "fails":
        assert clock.slept[slept:] == [55.0]
        assert requests(github)[2:] == [(RECEIVED + 6, "GET"), (sent + 60, "GET")]
    else:
        assert clock.slept[slept:] == []
        assert requests(github)[2:] == [(RECEIVED + 6, "GET")]


def test_a_post_github_applies_late_is_found_after_the_window(
    dynamodb, server, clock, github, monkeypatch
):
    """GitHub applies the POST only after the client timed out and after the first search: the
    search a minute after the POST finds it, and nothing is posted again."""
    applied = threading.Event()
    github.late_next.append(applied)

    def late() -> None:
        # GitHub applies it once the client waits for the window, after its first search.
        if clock.now >= RECEIVED + 60 and not applied.is_set():
            applied.set()
            deadline = time.monotonic() + 5
            while not github.comments and time.monotonic() < deadline:
                time.sleep(0.01)

    clock.after_sleep = late
    clock.now = RECEIVED + 1
    result = handle_event(s3_event(), runtime(dynamodb, server, clock), Deadline.within(90, clock))

    assert reasons(result) == ["already-posted"]
    assert len(github.comments) == 1
    assert github.comments[0].created_at == RECEIVED + 61
    [(posted, post), (first, search), (second, again)] = requests(github)
    assert (post, search, again) == ("POST", "GET", "GET")
    assert posted == RECEIVED + 1
    assert first < RECEIVED + 61
    assert second == RECEIVED + 61


def test_a_found_comment_is_reported_and_counted_as_posted_before(dynamodb, server, clock, github):
    """A retry of a mail (two minutes old) whose comment GitHub has: found by the search, not
    posted, already-posted in the decision and in the metrics."""
    [decision] = plan(ses_mail(), ROUTES).decisions
    assert isinstance(decision.draft, CommentDraft)
    github.comments.append(Comment(5, "example-org/app", 7, decision.draft.body, RECEIVED + 2))
    clock.now = RECEIVED + 120
    counted = Counted()
    result = handle_event(
        s3_event(), runtime(dynamodb, server, clock, metrics=counted), Deadline.within(60, clock)
    )
    assert reasons(result) == ["already-posted"]
    assert result["decisions"][0]["url"].endswith("#issuecomment-5")
    assert github.requests["POST"] == 0
    assert counted.names.count("AlreadyPosted") == 1
    assert "CommentsPosted" not in counted.names


def test_a_found_issue_is_reported_and_counted_as_opened_before(dynamodb, server, clock, github):
    """The same for a mail to the new-issue address: the issue its marker is in is
    already-opened, and no second one is opened."""
    raw = ses_mail(to="new@issues.example.com", recipient="new@issues.example.com")
    [decision] = plan(raw, OPENING).decisions
    assert isinstance(decision.draft, IssueDraft)
    github.issues.append(
        Issue(3, "example-org/app", decision.draft.title, decision.draft.body, RECEIVED + 2)
    )
    clock.now = RECEIVED + 120
    counted = Counted()
    rt = runtime(dynamodb, server, clock, routes=OPENING, raw=raw, metrics=counted)
    result = handle_event(s3_event(), rt, Deadline.within(60, clock))
    assert reasons(result) == ["already-opened"]
    assert (result["decisions"][0]["issue"], result["decisions"][0]["detail"]) == (
        3,
        "this mail already opened example-org/app#3",
    )
    assert github.requests["POST issues"] == 0
    assert counted.names.count("AlreadyOpened") == 1
    assert "IssuesOpened" not in counted.names


class Unconfirmed:
    """The claims table, failing the first update that would mark a claim done."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **kwargs: Any) -> Any:
        if not self.failed and kwargs["Key"]["id"]["S"].startswith("ticket-router#"):
            self.failed += 1
            error = {"Error": {"Code": "ProvisionedThroughputExceededException"}}
            raise ClientError(error, "UpdateItem")
        return self._client.update_item(**kwargs)


def test_a_post_whose_claim_cannot_be_marked_done_stands(dynamodb, server, clock, github, logged):
    """The comment was posted, then the claim could not be confirmed: the decision is posted
    (a warning logged), and the redelivery that takes the lapsed claim over finds the posting
    record and the comment, and posts nothing."""
    table = Unconfirmed(dynamodb)
    clock.now = RECEIVED + 1
    # The claim lapses with the first invocation, whose end the redelivery comes after.
    over = Deadline(0.0, clock=lambda: 0.0)
    first = handle_event(s3_event(), runtime(table, server, clock, client_seconds=60), over)
    assert reasons(first) == ["posted"]
    assert table.failed == 1
    [warning] = [
        r for r in logged.records if r.levelname == "WARNING" and r.name != "ticket_router"
    ]
    assert (warning.name, warning.message, warning.error) == (
        "ticket_router.claims",
        "claim not marked done after its work ran",
        "ProvisionedThroughputExceededException",
    )

    clock.now = RECEIVED + 6
    again = handle_event(s3_event(), runtime(table, server, clock), Deadline.within(60, clock))
    assert reasons(again) == ["already-posted"]
    assert again["decisions"][0]["url"] == first["decisions"][0]["url"]
    assert len(github.comments) == 1
    assert requests(github) == [(RECEIVED + 1, "POST"), (RECEIVED + 6, "GET")]
