"""Exactly one comment per (mail, issue): redelivery, races, crashes and lost answers, end to end.

The claim store is DynamoDB (moto) through Lambda Powertools; GitHub is a stateful fake on
127.0.0.1 that keeps the comments it accepts.
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from handler.aws.claims import DynamoClaims
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.posts import PostedComment
from handler.inbound.identity import claim_key, mail_key
from handler.inbound.mail import parse_mail
from handler.inbound.plan import plan
from handler.reasons import RetryLater
from handler.routing import load_routes, parse_routes
from handler.service.claims import Claimed, ClaimInProgress
from handler.service.inbound import Runtime, handle_event
from tests.conftest import TESTS
from tests.dynamo import Atomic
from tests.fakegithub import FakeGitHub
from tests.sesmail import ses_block, ses_mail

TABLE = "claims"
ROUTES = load_routes(TESTS / "lambda" / "routes.yaml")


class Crash(BaseException):
    """What Lambda's timeout does to an invocation: no except clause runs."""


class Store:
    def __init__(self, mails: dict[str, bytes]) -> None:
        self.mails = mails

    def fetch(self, bucket: str, key: str) -> bytes:
        return self.mails[key]


@pytest.fixture
def github(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver).install()


def runtime(
    dynamodb: Any,
    server: HTTPServer,
    mails: dict[str, bytes],
    *,
    remaining: float = 60.0,
    clock=time.time,
    timeout: float = 5.0,
    sleep=lambda seconds: None,
) -> Runtime:
    table = Atomic(dynamodb)
    return Runtime(
        routes=ROUTES,
        store=Store(mails),
        github=lambda route, deadline: GitHubClient(
            "t",
            deadline=Deadline.never(),
            api_url=server.url_for("/"),
            timeout=timeout,
            sleep=sleep,
        ),
        bucket="mail",
        prefix="inbound/",
        claims=DynamoClaims(TABLE, table, expires_after_seconds=3600),
        clock=clock,
    )


def s3_event(*keys: str, received: float | None = None) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(received or time.time(), UTC).isoformat()
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventTime": stamp,
                "s3": {"bucket": {"name": "mail"}, "object": {"key": key}},
            }
            for key in keys
        ]
    }


def ses_event(message_id: str, *recipients: str) -> dict[str, Any]:
    """SES's Lambda action for the mail stored as ``inbound/<message_id>``: all its recipients
    (SES's Received field names none when there are several); the verdicts are the stored block's.
    """
    stamp = datetime.fromtimestamp(time.time(), UTC).isoformat()
    mail = {"messageId": message_id, "timestamp": stamp}
    record = {
        "eventSource": "aws:ses",
        "ses": {"mail": mail, "receipt": {"recipients": list(recipients)}},
    }
    return {"Records": [record]}


def reasons(result: dict[str, Any]) -> list[str]:
    return [d["reason"] for d in result["decisions"]]


def test_the_same_event_twice_posts_once(dynamodb, github, httpserver):
    """A redelivered event finds the claim completed and reports the existing comment."""
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail()})
    first = handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    second = handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert (reasons(first), reasons(second)) == (["posted"], ["already-posted"])
    assert second["decisions"][0]["url"] == first["decisions"][0]["url"]
    assert len(github.comments) == 1


def test_the_same_mail_stored_under_two_keys_posts_once(dynamodb, github, httpserver):
    """Two copies (different SES blocks, same Message-ID and sender) are one mail."""
    copy = ses_mail().replace(b"abc123", b"xyz789")
    assert copy != ses_mail()
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail(), "inbound/b": copy})
    result = handle_event(s3_event("inbound/a", "inbound/b"), rt, Deadline.within(60.0))
    assert reasons(result) == ["posted", "already-posted"]
    assert len(github.comments) == 1


def test_one_mail_to_two_issues_posts_two_comments(dynamodb, github, httpserver):
    """The claim is per (mail, issue): one mail addressed to two issues gives two comments."""
    raw = ses_mail(to="7@issues.example.com, 8@issues.example.com", recipient=None)
    rt = runtime(dynamodb, httpserver, {"inbound/a": raw})
    event = ses_event("a", "7@issues.example.com", "8@issues.example.com")
    assert reasons(handle_event(event, rt, Deadline.within(60.0))) == [
        "posted",
        "posted",
    ]
    assert sorted(c.issue for c in github.comments) == [7, 8]


def test_two_invocations_racing_on_one_event_post_once(dynamodb, github, httpserver):
    """Concurrent invocations: one posts, the other fails for a retry that finds it done."""
    # The comment is created, but its answer waits until the other invocation has given up, so
    # the two overlap however the threads are scheduled.
    loser_done = threading.Event()
    github.held_next.append(loser_done)
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail()})
    outcomes: list[str] = []

    def invoke() -> None:
        try:
            outcomes.extend(reasons(handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))))
        except RetryLater as error:
            outcomes.append(f"retry: {error}")
            loser_done.set()

    threads = [threading.Thread(target=invoke) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["posted", "retry"]
    assert "in-progress" in next(o for o in outcomes if o.startswith("retry"))
    assert reasons(handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))) == [
        "already-posted"
    ]
    assert len(github.comments) == 1


def test_a_crash_after_the_claim_and_before_the_post_is_retried(dynamodb, github, httpserver):
    """The crashed holder's claim expires with its remaining time; the retry then posts."""
    raw = ses_mail()
    message = parse_mail(raw)
    key = claim_key("example-org/app", 7, mail_key(message, raw))
    holder = DynamoClaims(TABLE, dynamodb, expires_after_seconds=3600)

    def crash() -> PostedComment:
        raise Crash

    with pytest.raises(Crash):
        holder.once(key, crash, Deadline.within(1))
    rt = runtime(dynamodb, httpserver, {"inbound/a": raw})
    with pytest.raises(RetryLater, match="in-progress"):
        handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    time.sleep(1.2)
    assert reasons(handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))) == ["posted"]
    assert len(github.comments) == 1


def test_a_crash_after_the_post_is_found_by_the_retry(dynamodb, github, httpserver):
    """Posted, then killed before the claim completed: the retry finds the marked comment and
    reports it as posted before."""
    raw = ses_mail()
    message = parse_mail(raw)
    key = claim_key("example-org/app", 7, mail_key(message, raw))
    [decision] = plan(raw, ROUTES).decisions
    client = GitHubClient(
        "t", deadline=Deadline.never(), api_url=httpserver.url_for("/"), sleep=lambda s: None
    )
    holder = DynamoClaims(TABLE, dynamodb, expires_after_seconds=3600)

    def post_then_crash() -> PostedComment:
        client.create_comment("example-org/app", 7, decision.draft.body)
        raise Crash

    with pytest.raises(Crash):
        holder.once(key, post_then_crash, Deadline.within(1))
    time.sleep(1.2)
    # Lambda's retry comes a minute or more after SES received the mail.
    later = time.time() + 120
    rt = runtime(dynamodb, httpserver, {"inbound/a": raw}, clock=lambda: later)
    result = handle_event(
        s3_event("inbound/a", received=time.time() - 5), rt, Deadline.within(60.0)
    )
    assert reasons(result) == ["already-posted"]
    assert result["decisions"][0]["url"].endswith("#issuecomment-1")
    assert len(github.comments) == 1
    assert github.requests["GET"] == 1


def test_bad_gateway_twice_then_created_posts_once(dynamodb, github, httpserver):
    """502, 502, 201: one comment (the client looks for it before each re-post)."""
    github.fail_next.extend([502, 502])
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail()})
    assert reasons(handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))) == ["posted"]
    assert len(github.comments) == 1
    assert github.requests["POST"] == 3


def test_a_timed_out_post_that_github_applied_is_not_posted_again(dynamodb, github, httpserver):
    """GitHub created the comment but answered after the client gave up: the search right after
    finds it, so one comment, reported as posted before (the search found it)."""
    # The answer is held until the client has given up on it (its backoff began).
    gave_up = threading.Event()
    github.held_next.append(gave_up)
    rt = runtime(
        dynamodb, httpserver, {"inbound/a": ses_mail()}, timeout=1.0, sleep=lambda s: gave_up.set()
    )
    result = handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert reasons(result) == ["already-posted"]
    assert len(github.comments) == 1
    assert (github.requests["POST"], github.requests["GET"]) == (1, 1)


def test_a_secondary_rate_limit_is_waited_out(dynamodb, github, httpserver):
    """403 "secondary rate limit" with retry-after: wait, then exactly one comment."""
    github.limit, github.window = 0, 0.2
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail()})
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        github.limit = 1

    rt = Runtime(
        routes=ROUTES,
        store=Store({"inbound/a": ses_mail()}),
        github=lambda route, deadline: GitHubClient(
            "t", deadline=Deadline.never(), api_url=httpserver.url_for("/"), sleep=sleep
        ),
        bucket="mail",
        prefix="inbound/",
        claims=rt.claims,
    )
    assert reasons(handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))) == ["posted"]
    assert waits == [1.0]
    assert len(github.comments) == 1


def test_a_missing_issue_fails_permanently_after_one_request(dynamodb, github, httpserver):
    """404 in a repository the credential sees: issue-not-found, not retried, and the claim
    released for a later replay."""
    github.missing_issues.add(7)
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail()})
    result = handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert reasons(result) == ["issue-not-found"]
    assert (github.requests["POST"], github.requests["GET repo"]) == (1, 1)
    github.missing_issues.clear()
    assert reasons(handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))) == ["posted"]


def test_a_repository_out_of_sight_waits_for_its_access(dynamodb, github, httpserver):
    """The credential lost the repository: repo-not-visible, retried (never issue-not-found);
    once access is granted again, the retry posts the mail, once."""
    github.missing_repos.add("example-org/app")
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail()})
    with pytest.raises(RetryLater) as raised:
        handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert str(raised.value) == "will be retried: inbound/a: repo-not-visible"
    assert (github.requests["POST"], github.requests["GET repo"]) == (1, 1)
    github.missing_repos.clear()
    assert reasons(handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))) == ["posted"]
    assert len(github.comments) == 1


class Told:
    """A notifier that keeps the reasons of the notices it is given."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def send(self, notice: Any) -> str:
        self.reasons.append(str(notice.reason))
        return "sent"


NOTIFYING = parse_routes(
    """
routes:
  - domain: issues.example.com
    repo: example-org/app
    allowed_senders: [example.com]
    notify: true
""",
    "routes.yaml",
)


@pytest.mark.parametrize(
    ("hide", "told", "outcome"),
    [
        ("missing_issues", ["issue-not-found"], nullcontext()),
        ("missing_repos", [], pytest.raises(RetryLater)),
    ],
)
def test_only_a_missing_issue_is_told_to_the_sender(dynamodb, github, hide, told, outcome):
    """A route that notifies tells the sender of an issue that does not exist, and nothing
    when it is the credential that cannot see the repository (repo-not-visible)."""
    getattr(github, hide).add(7 if hide == "missing_issues" else "example-org/app")
    notifier = Told()
    rt = replace(
        runtime(dynamodb, github.server, {"inbound/a": ses_mail()}),
        routes=NOTIFYING,
        notifier=notifier,
    )
    with outcome:
        handle_event(s3_event("inbound/a"), rt, Deadline.within(60.0))
    assert notifier.reasons == told


def test_mail_without_message_id_is_identified_by_its_content():
    """No Message-ID: two stored copies (different SES blocks) still have one identity."""
    body = b"From: a@example.com\r\nTo: 7@issues.example.com\r\nSubject: x\r\n\r\nhello\r\n"
    one = ses_block().encode() + body
    two = ses_block(spam="GRAY").encode() + body
    other = ses_block().encode() + body.replace(b"hello", b"bye")
    keys = [mail_key(parse_mail(raw), raw) for raw in (one, two, other)]
    assert keys[0] == keys[1] != keys[2]


def test_a_reused_message_id_with_other_content_is_another_mail():
    """One Message-ID and sender, another body, subject or date: another identity."""
    mail = ses_mail()
    others = [
        ses_mail("The build fails on x86 too.\r\n"),
        ses_mail(subject="Build failure, again"),
        mail.replace(b"Date: Mon, 23 Nov 2026 09:13:51", b"Date: Tue, 24 Nov 2026 10:00:00"),
    ]
    keys = {mail_key(parse_mail(raw), raw) for raw in (mail, *others)}
    assert len(keys) == 4


def test_a_copy_stored_again_or_relayed_keeps_its_identity():
    """SES's block and Received field, LF instead of CRLF, a refolded Subject, a trailing line
    ending: one mail."""
    mail = ses_mail("Line one.\r\nLine two.\r\n")
    copies = [
        ses_mail("Line one.\r\nLine two.\r\n", spam="GRAY").replace(b"abc123", b"xyz789"),
        mail.replace(b"\r\n", b"\n"),
        mail.replace(b"Subject: Build failure", b"Subject: Build\r\n failure"),
        mail + b"\r\n",
    ]
    assert {mail_key(parse_mail(raw), raw) for raw in (mail, *copies)} == {
        mail_key(parse_mail(mail), mail)
    }


def test_two_mails_reusing_a_message_id_are_both_posted(dynamodb, github, httpserver):
    """A client that reuses its Message-ID: the second mail, with its own text, is posted too."""
    second = ses_mail("And it fails on x86.\r\n")
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail(), "inbound/b": second})
    result = handle_event(s3_event("inbound/a", "inbound/b"), rt, Deadline.within(60.0))
    assert reasons(result) == ["posted", "posted"]
    assert [comment.body.split("\n\n")[1] for comment in github.comments] == [
        "The build fails on ARM.",
        "And it fails on x86.",
    ]


def test_a_relayed_copy_with_another_ses_block_and_line_endings_posts_once(
    dynamodb, github, httpserver
):
    """The same mail stored again by SES (another Received field and verdicts) with LF line
    endings: one comment."""
    copy = ses_mail(spam="GRAY").replace(b"abc123", b"xyz789").replace(b"\r\n", b"\n")
    rt = runtime(dynamodb, httpserver, {"inbound/a": ses_mail(), "inbound/b": copy})
    result = handle_event(s3_event("inbound/a", "inbound/b"), rt, Deadline.within(60.0))
    assert reasons(result) == ["posted", "already-posted"]
    assert len(github.comments) == 1


def test_claim_in_progress_is_reported(dynamodb):
    """A claim held by a live invocation is ClaimInProgress for everyone else."""
    holder = DynamoClaims(TABLE, dynamodb, expires_after_seconds=3600)

    def crash() -> PostedComment:
        raise Crash

    with pytest.raises(Crash):
        holder.once("k", crash, Deadline.within(60))
    with pytest.raises(ClaimInProgress):
        holder.once("k", lambda: PostedComment(1, "u"), Deadline.within(60))


def test_claims_do_not_depend_on_the_lambda_function_name(dynamodb, monkeypatch):
    """A replay from the CLI (no AWS_LAMBDA_FUNCTION_NAME) sees the claims the Lambda made."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ticket-router")
    lambda_side = DynamoClaims(TABLE, dynamodb, expires_after_seconds=3600)
    assert lambda_side.once("k", lambda: PostedComment(5, "u5"), Deadline.within(60)).fresh
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    cli_side = DynamoClaims(TABLE, dynamodb, expires_after_seconds=3600)
    assert cli_side.once("k", lambda: PostedComment(6, "u6"), Deadline.within(900)) == Claimed(
        PostedComment(5, "u5"), fresh=False
    )
