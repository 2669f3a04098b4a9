"""The GitHub client against a real HTTP server on 127.0.0.1, checked against GitHub's OpenAPI.

Comments first, then new issues (the same loop, worded and looked up for issues)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from functools import partial

import pytest
from jsonschema import Draft202012Validator
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handler import __version__
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.errors import GitHubError
from handler.github.posts import PostedComment, PostedIssue, marker
from handler.github.rate_limit import MemoryPostLimit
from handler.reasons import Reason, TicketRouterError
from tests.conftest import TESTS
from tests.fakegithub import FakeGitHub, Issue, silent

TOKEN = "ghp_testToken0123456789abcdef"
PATH = "/repos/example-org/app/issues/7/comments"
SPEC = json.loads((TESTS / "github" / "issues-create-comment.openapi.json").read_text())
CREATED = SPEC["response201"]["example"]
DOCS = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
# What GitHub answers for a comment on a locked issue or pull request (seen by probot/stale,
# renovate and semantic-release/github).
LOCKED = {
    "message": "Unable to create comment because issue is locked.",
    "documentation_url": "https://help.github.com/articles/locking-conversations/",
}


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def left(seconds: float) -> Deadline:
    """A deadline ``seconds`` away on a clock that stands still."""
    return Deadline.within(seconds, clock=lambda: 0.0)


def client(server: HTTPServer, sleeps: Sleeps | None = None, **kwargs) -> GitHubClient:
    return GitHubClient(
        TOKEN,
        api_url=server.url_for("/"),
        sleep=sleeps or Sleeps(),
        **{"timeout": 2.0, "deadline": Deadline.never(), **kwargs},
    )


def requests_seen(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log]


def test_request_is_exactly_what_github_documents(httpserver: HTTPServer):
    """POST to the documented path with the JSON body and every header GitHub asks for."""
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    posted = client(httpserver).create_comment("example-org/app", 7, "Hello **world**")
    assert posted == PostedComment(
        id=1, url="https://github.com/octocat/Hello-World/issues/1347#issuecomment-1"
    )
    [request] = requests_seen(httpserver)
    assert request.get_json() == {"body": "Hello **world**"}
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert request.headers["User-Agent"] == f"ticket-router/{__version__}"


def test_request_matches_the_openapi_description(httpserver: HTTPServer):
    """Path template, path parameter types and body schema come from @octokit/openapi."""
    httpserver.expect_oneshot_request(re.compile(".*"), method="POST").respond_with_json(
        CREATED, status=201
    )
    client(httpserver).create_comment("Octo-Org/my.repo_1", 2147483647, "x")
    [request] = requests_seen(httpserver)
    template = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", SPEC["path"]) + "$"
    found = re.match(template, request.path)
    assert found is not None
    assert found.groupdict() == {
        "owner": "Octo-Org",
        "repo": "my.repo_1",
        "issue_number": "2147483647",
    }
    declared = {p["name"]: (p["in"], p["schema"]["type"]) for p in SPEC["parameters"]}
    # The operation declares no header parameters: Accept and X-GitHub-Api-Version are
    # documented once for the whole API (media types, API versions), not per operation.
    assert declared == {
        "owner": ("path", "string"),
        "repo": ("path", "string"),
        "issue_number": ("path", "integer"),
    }
    Draft202012Validator(SPEC["requestBody"]).validate(request.get_json())
    assert SPEC["method"] == "post"


def nullable_to_json_schema(schema: object) -> object:
    """OpenAPI 3.0's ``nullable: true`` is JSON Schema's ``type: [..., "null"]``."""
    if isinstance(schema, list):
        return [nullable_to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: nullable_to_json_schema(value) for key, value in schema.items()}
    if converted.pop("nullable", False) and isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
    return converted


def test_the_example_response_we_serve_is_a_documented_201():
    """The fake server's answer is GitHub's own example, valid against the response schema."""
    Draft202012Validator(nullable_to_json_schema(SPEC["response201"]["schema"])).validate(CREATED)


def test_failure_classes_we_name_are_the_documented_responses():
    """Every status GitHub documents for this operation has its own reason in the client.

    Handled but not in the operation's description: 401 (bad token), 429 and 403 rate limits,
    5xx and 301/302/307 redirects, which GitHub documents once for the whole REST API. The locked
    issue is one of the documented 403s, told apart by its message.
    """
    assert sorted(SPEC["responses"]) == ["201", "403", "404", "410", "422"]


def test_enterprise_base_path_is_kept(httpserver: HTTPServer):
    """GitHub Enterprise Server serves the API under /api/v3, as its OpenAPI server URL says."""
    assert SPEC["servers"]["ghes-3.19"]["url"].endswith("/api/v3")
    httpserver.expect_oneshot_request("/api/v3" + PATH, method="POST").respond_with_json(
        CREATED, status=201
    )
    GitHubClient(
        TOKEN, deadline=Deadline.never(), api_url=httpserver.url_for("/api/v3/"), sleep=Sleeps()
    ).create_comment("example-org/app", 7, "x")
    assert [r.path for r in requests_seen(httpserver)] == ["/api/v3" + PATH]


def test_owner_and_name_cannot_escape_the_path(httpserver: HTTPServer):
    """Path segments are percent-encoded, so a strange repo string cannot reach another URL."""
    httpserver.expect_oneshot_request(re.compile(".*"), method="POST").respond_with_json(
        CREATED, status=201
    )
    client(httpserver).create_comment("a?b/c#d", 1, "x")
    [request] = requests_seen(httpserver)
    assert request.environ["RAW_URI"] == "/repos/a%3Fb/c%23d/issues/1/comments"


@pytest.mark.parametrize(
    ("status", "payload", "reason"),
    [
        (
            410,
            {"message": "Issues are disabled for this repo", "documentation_url": DOCS},
            "issue-gone",
        ),
        (403, LOCKED, "issue-locked"),
        (
            403,
            {"message": "Resource not accessible by integration", "documentation_url": DOCS},
            "github-forbidden",
        ),
        (
            422,
            {
                "message": "Validation Failed",
                "errors": [{"resource": "IssueComment", "field": "body", "code": "too_long"}],
                "documentation_url": DOCS,
            },
            "validation-failed",
        ),
        (400, {"message": "Problems parsing JSON", "documentation_url": DOCS}, "github-rejected"),
    ],
)
def test_permanent_failures_have_their_reason_and_are_not_retried(
    httpserver: HTTPServer, status, payload, reason
):
    """410, 403, 422: one request, a permanent error with a clear reason (a 404 asks about
    the repository first: below)."""
    documented = SPEC["responses"].get(str(status), {}).get("schema")
    if documented is not None:
        Draft202012Validator(nullable_to_json_schema(documented)).validate(payload)
    httpserver.expect_request(PATH, method="POST").respond_with_json(payload, status=status)
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(httpserver, sleeps).create_comment("example-org/app", 7, "x")
    error = caught.value
    assert (error.reason, error.transient, error.status) == (reason, False, status)
    assert payload["message"] in error.detail
    assert "example-org/app#7" in error.detail
    assert TOKEN not in str(error)
    assert len(httpserver.log) == 1
    assert sleeps.calls == []


@pytest.mark.parametrize("opens", [False, True])
def test_a_rejected_token_is_transient_and_forgotten(httpserver: HTTPServer, opens: bool):
    """401: a rotated or revoked token. The mail waits (Lambda's retries, the failure queue)
    and the hook drops the cached credential, so that the retry reads the new one."""
    path = "/repos/example-org/app/issues" if opens else PATH
    httpserver.expect_request(path, method="POST").respond_with_json(
        {"message": "Bad credentials", "documentation_url": DOCS}, status=401
    )
    told: list[str] = []
    github = client(httpserver, Sleeps(), on_unauthorized=lambda: told.append("forget"))
    post = (
        partial(github.create_issue, "example-org/app", "t", "b")
        if opens
        else partial(github.create_comment, "example-org/app", 7, "x")
    )
    with pytest.raises(GitHubError) as caught:
        post()
    error = caught.value
    assert (error.reason, error.transient, error.status, error.detail) == (
        "github-auth-failed",
        True,
        401,
        "GitHub rejected the token (expired or revoked?): Bad credentials",
    )
    assert told == ["forget"]
    assert len(httpserver.log) == 1


# A comment's 404: GitHub answers it for a missing issue and for a repository the credential
# cannot see alike; GET /repos/{owner}/{repo} with the same credential tells them apart.

REPO = "/repos/example-org/app"
NOT_FOUND = {"message": "Not Found", "documentation_url": DOCS, "status": "404"}


def comment_404(server: HTTPServer, probe_status: int, probe: object, **headers: str) -> None:
    """The comment answered 404; the probe of the repository ``probe_status`` with ``probe``."""
    Draft202012Validator(nullable_to_json_schema(SPEC["responses"]["404"]["schema"])).validate(
        NOT_FOUND
    )
    server.expect_request(PATH, method="POST").respond_with_json(NOT_FOUND, status=404)
    server.expect_request(REPO, method="GET").respond_with_json(
        probe, status=probe_status, headers=headers
    )


def probed_comment(server: HTTPServer, **kwargs) -> GitHubError:
    with pytest.raises(GitHubError) as caught:
        client(server, **kwargs).create_comment("example-org/app", 7, "x")
    assert [(r.method, r.path) for r in requests_seen(server)] == [("POST", PATH), ("GET", REPO)]
    return caught.value


def test_a_404_in_a_visible_repository_is_a_missing_issue(httpserver: HTTPServer):
    """The credential sees the repository: issue-not-found stands, permanent, after one POST
    and one GET of the repository with the same token and headers, nothing slept."""
    comment_404(httpserver, 200, {"full_name": "example-org/app"})
    sleeps = Sleeps()
    error = probed_comment(httpserver, sleeps=sleeps)
    assert (error.reason, error.transient, error.status, error.detail) == (
        "issue-not-found",
        False,
        404,
        "example-org/app#7 does not exist: Not Found (the credential can see example-org/app)",
    )
    probe = requests_seen(httpserver)[1]
    assert probe.headers["Authorization"] == f"Bearer {TOKEN}"
    assert probe.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert probe.headers["Accept"] == "application/vnd.github+json"
    assert sleeps.calls == []


def test_a_renamed_repository_is_visible(httpserver: HTTPServer):
    """GitHub redirects a renamed repository's GET (301): it exists and the credential sees it,
    so the issue is what is missing; the redirect is not followed."""
    comment_404(httpserver, 301, {"message": "Moved Permanently", "url": "/repositories/1"})
    assert probed_comment(httpserver).reason == "issue-not-found"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "Not Found"),
        (
            403,
            "Resource protected by organization SAML enforcement. You must grant your Personal "
            "Access token access to this organization.",
        ),
    ],
)
def test_a_repository_the_credential_cannot_see_is_not_a_missing_issue(
    httpserver: HTTPServer, status, message
):
    """404 or 403 for the repository too: repo-not-visible, transient (the mail waits in the
    queue for an operator), never issue-not-found; GitHub's words in the detail."""
    comment_404(httpserver, status, {"message": message})
    error = probed_comment(httpserver)
    assert (error.reason, error.transient, error.status, error.detail) == (
        "repo-not-visible",
        True,
        status,
        f"GitHub answered 404 for example-org/app#7, and {status} for the repository: the "
        "credential cannot see example-org/app (it lost access, or the route names a wrong "
        f"repository): {message}",
    )


def test_a_token_rejected_by_the_probe_is_forgotten(httpserver: HTTPServer):
    """401 for the repository: the token was revoked meanwhile: github-auth-failed, and the
    cached credential dropped for the retry."""
    comment_404(httpserver, 401, {"message": "Bad credentials"})
    told: list[str] = []
    error = probed_comment(httpserver, on_unauthorized=lambda: told.append("forget"))
    assert (error.reason, error.transient, error.status, error.detail) == (
        "github-auth-failed",
        True,
        401,
        "GitHub rejected the token (expired or revoked?): Bad credentials",
    )
    assert told == ["forget"]


def test_a_failing_probe_tells_nobody_of_a_missing_issue(httpserver: HTTPServer):
    """500 for the repository: nobody knows whether the issue exists: github-unavailable,
    transient, so no sender is told "no such issue"."""
    comment_404(httpserver, 500, {"message": "Server Error"})
    error = probed_comment(httpserver)
    assert (error.reason, error.transient, error.status, error.detail) == (
        "github-unavailable",
        True,
        500,
        "GitHub answered 404 for example-org/app#7, and 500 when asked whether the credential "
        "can see example-org/app: Server Error",
    )


def test_a_rate_limited_probe_holds_the_token(httpserver: HTTPServer):
    """A rate limit on the probe: rate-limited with GitHub's wait, and the credential's shared
    limit held that long, so that no container posts before it lifts."""
    comment_404(httpserver, 429, {"message": "slow down"}, **{"retry-after": "120"})
    gate = MemoryPostLimit()
    error = probed_comment(httpserver, limit=gate, clock=lambda: 1000.0)
    assert (error.reason, error.transient, error.status, error.retry_after, error.detail) == (
        "rate-limited",
        True,
        429,
        120.0,
        "GitHub rate-limited the question whether the credential can see example-org/app",
    )
    assert gate.held_until() == 1120.0


def test_a_probe_that_gets_no_answer_is_transient(httpserver: HTTPServer):
    """The probe times out: github-timeout, tried again later, never a missing issue."""
    httpserver.expect_request(PATH, method="POST").respond_with_json(NOT_FOUND, status=404)
    released = threading.Event()

    def hang(request: Request) -> Response:
        released.wait(2.0)
        return Response("{}", status=200)

    httpserver.expect_request(REPO, method="GET").respond_with_handler(hang)
    try:
        with pytest.raises(GitHubError) as caught:
            client(httpserver, timeout=0.3).create_comment("example-org/app", 7, "x")
    finally:
        released.set()
        # The held GET answered and logged here, not in the next test's log.
        until = time.monotonic() + 3.0
        while len(httpserver.log) < 2 and time.monotonic() < until:
            time.sleep(0.01)
    error = caught.value
    assert (error.reason, error.transient, error.detail) == (
        "github-timeout",
        True,
        "GitHub answered 404 for example-org/app#7, and did not answer in time whether the "
        "credential can see example-org/app",
    )


def test_no_probe_is_sent_without_time_for_it(httpserver: HTTPServer):
    """The POST's answer came with too little time left for another request: the 404 is not
    taken for a missing issue: github-timeout, and no GET."""
    now = [0.0]

    def late_404(request: Request) -> Response:
        now[0] = 10.0
        return Response(json.dumps(NOT_FOUND), status=404, content_type="application/json")

    httpserver.expect_request(PATH, method="POST").respond_with_handler(late_404)
    deadline = Deadline.within(12.0, clock=lambda: now[0])
    with pytest.raises(GitHubError) as caught:
        client(httpserver, deadline=deadline).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient, caught.value.detail) == (
        "github-timeout",
        True,
        "GitHub answered 404 for example-org/app#7, and no time is left to ask whether the "
        "credential can see example-org/app",
    )
    assert [(r.method, r.path) for r in requests_seen(httpserver)] == [("POST", PATH)]


def test_the_fake_github_hides_a_repository_as_github_does(github, httpserver: HTTPServer):
    """The fake answers 404 to the comment and to the repository the credential cannot see."""
    github.missing_repos.add("example-org/app")
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("repo-not-visible", True)
    assert [(r.method, r.path) for r in requests_seen(httpserver)] == [
        ("POST", PATH),
        ("GET", REPO),
    ]
    assert github.comments == []


def test_the_fake_github_tells_a_missing_issue_in_a_visible_repository(github, httpserver):
    """A missing issue in a repository the fake shows: issue-not-found after the probe."""
    github.missing_issues.add(7)
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("issue-not-found", False)
    assert github.requests == Counter({"POST": 1, "GET repo": 1})


def test_a_404_while_looking_for_an_earlier_copy_is_probed_too(github, httpserver):
    """The comment list answers 404 before anything is posted: the same probe decides, and
    nothing is posted to a repository the credential cannot see."""
    github.missing_repos.add("example-org/app")
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment("example-org/app", 7, MARKED, since=time.time() - 60)
    assert caught.value.reason == "repo-not-visible"
    assert [(r.method, r.path) for r in requests_seen(httpserver)] == [("GET", PATH), ("GET", REPO)]


def test_validation_errors_name_the_field(httpserver: HTTPServer):
    """A 422's error list reaches the detail, so the operator sees what GitHub refused."""
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"message": "Validation Failed", "errors": [{"field": "body", "code": "too_long"}]},
        status=422,
    )
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment("example-org/app", 7, "x")
    assert caught.value.detail == (
        "GitHub refused the comment for example-org/app#7: Validation Failed (body too_long)"
    )


def test_server_errors_are_retried_with_backoff(httpserver: HTTPServer):
    """502 then 503 then 201: three requests, two growing waits, one comment."""
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data("bad", status=502)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data("bad", status=503)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    sleeps = Sleeps()
    posted = client(httpserver, sleeps).create_comment("example-org/app", 7, "x")
    assert posted.id == 1
    assert len(httpserver.log) == 3
    assert [int(s) for s in sleeps.calls] == [1, 2]
    assert all(0 <= s % 1 <= 0.5 for s in sleeps.calls)


def test_a_retry_is_not_logged_on_its_own(httpserver: HTTPServer, caplog):
    """The outcome reports what failed; stamina's own warning per retry is switched off."""
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data("bad", status=502)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    with caplog.at_level(logging.DEBUG):
        assert client(httpserver).create_comment("example-org/app", 7, "x").id == 1
    assert [record for record in caplog.records if record.name.startswith("stamina")] == []


def test_server_errors_give_up_after_max_attempts(httpserver: HTTPServer):
    """Persistent 500s end in a transient github-unavailable after max_attempts requests."""
    httpserver.expect_request(PATH, method="POST").respond_with_data("oops", status=500)
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(httpserver, sleeps, max_attempts=3).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient, caught.value.status) == (
        "github-unavailable",
        True,
        500,
    )
    assert caught.value.detail == "GitHub answered 500 for example-org/app#7 (after 3 attempts)"
    assert len(httpserver.log) == 3
    assert len(sleeps.calls) == 2


def test_a_slow_server_times_out_and_is_retried(httpserver: HTTPServer):
    """A real read timeout: the first request hangs past the client timeout, the retry posts."""
    served: list[str] = []
    released = threading.Event()

    def handler(request: Request) -> Response:
        # The first answer is held until the client has given up on it (its backoff began).
        if not served:
            released.wait(30.0)
        served.append(request.path)
        return Response(json.dumps(CREATED), status=201, content_type="application/json")

    def backoff(seconds: float) -> None:
        waited.append(seconds)
        released.set()
        # The test server answers one request at a time: let the held answer go out first.
        while not served:
            time.sleep(0.01)

    httpserver.expect_request(PATH, method="POST").respond_with_handler(handler)
    waited: list[float] = []
    github = GitHubClient(
        TOKEN,
        deadline=Deadline.never(),
        api_url=httpserver.url_for("/"),
        timeout=1.0,
        sleep=backoff,
    )
    assert github.create_comment("example-org/app", 7, "x").id == 1
    assert len(served) == 2
    assert len(waited) == 1


def test_timeouts_end_in_a_transient_error(httpserver: HTTPServer):
    """When every attempt times out the error is github-timeout, worth a later retry."""

    with silent(httpserver, PATH, requests=2), pytest.raises(GitHubError) as caught:
        client(httpserver, timeout=0.1, max_attempts=2).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("github-timeout", True)
    assert caught.value.detail == (
        "GitHub did not answer within 0.1 s for example-org/app#7 (after 2 attempts)"
    )


def test_connection_refused_is_transient():
    """Nothing listening: github-unavailable after the retries, naming the failure class."""
    sleeps = Sleeps()
    github = GitHubClient(
        TOKEN, deadline=Deadline.never(), api_url="http://127.0.0.1:9", sleep=sleeps, max_attempts=2
    )
    with pytest.raises(GitHubError) as caught:
        github.create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("github-unavailable", True)
    assert "ConnectionError" in caught.value.detail
    assert TOKEN not in repr(caught.value)
    assert TOKEN not in repr(caught.value.__cause__)
    assert caught.value.__context__ is None or TOKEN not in repr(caught.value.__context__)


def test_retry_after_is_obeyed(httpserver: HTTPServer):
    """A secondary rate limit with retry-after: wait exactly that long, then post."""
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."},
        status=403,
        headers={"retry-after": "7"},
    )
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    sleeps = Sleeps()
    client(httpserver, sleeps).create_comment("example-org/app", 7, "x")
    assert sleeps.calls == [7.0]


def test_primary_rate_limit_waits_until_the_reset(httpserver: HTTPServer):
    """x-ratelimit-remaining 0: wait until x-ratelimit-reset (plus a second), then post."""
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(
        {"message": "API rate limit exceeded"},
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1795424060"},
    )
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    sleeps = Sleeps()
    client(httpserver, sleeps, clock=lambda: 1795424040.0).create_comment("example-org/app", 7, "x")
    assert sleeps.calls == [21.0]


def test_a_429_without_headers_waits_a_minute(httpserver: HTTPServer):
    """A secondary limit that names no time: GitHub says wait at least one minute."""
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data("", status=429)
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    sleeps = Sleeps()
    client(httpserver, sleeps).create_comment("example-org/app", 7, "x")
    assert sleeps.calls == [60.0]


def test_a_long_rate_limit_is_left_to_a_later_retry(httpserver: HTTPServer):
    """A reset an hour away is not slept through: transient rate-limited with the reset time."""
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"message": "API rate limit exceeded"},
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1795427640"},
    )
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(httpserver, sleeps, clock=lambda: 1795424040.0).create_comment(
            "example-org/app", 7, "x"
        )
    assert (caught.value.reason, caught.value.transient) == ("rate-limited", True)
    assert caught.value.detail == (
        "GitHub's rate limit for this token resets at 2026-11-23T09:54:00Z; example-org/app#7 "
        "not posted (after 1 attempt)"
    )
    assert sleeps.calls == []


def test_waits_never_outlast_the_lambda(httpserver: HTTPServer):
    """With 10 s left, a 30 s retry-after fails now instead of being killed mid-sleep."""
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"message": "secondary rate limit"}, status=403, headers={"retry-after": "30"}
    )
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(httpserver, sleeps, deadline=left(10.0)).create_comment("example-org/app", 7, "x")
    assert caught.value.reason == "rate-limited"
    assert sleeps.calls == []


def test_no_request_is_started_without_time_to_finish_it(httpserver: HTTPServer):
    """Under the safety margin, nothing is sent: a transient error lets Lambda retry later."""
    with pytest.raises(GitHubError) as caught:
        client(httpserver, deadline=left(2.0)).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("github-timeout", True)
    assert httpserver.log == []


def test_a_created_comment_with_an_unreadable_body_counts_as_posted(httpserver: HTTPServer):
    """201 means GitHub has the comment: posting again would duplicate it."""
    httpserver.expect_request(PATH, method="POST").respond_with_data("not json", status=201)
    assert client(httpserver).create_comment("example-org/app", 7, "x") == PostedComment(0, "")
    assert len(httpserver.log) == 1


def test_a_renamed_repository_redirect_is_followed_as_a_post(httpserver: HTTPServer):
    """A 307 on the same host is repeated as a POST with the same body."""
    moved = "/repositories/42/issues/7/comments"
    httpserver.expect_request(PATH, method="POST").respond_with_data(
        "", status=307, headers={"Location": httpserver.url_for(moved)}
    )
    httpserver.expect_request(moved, method="POST").respond_with_json(CREATED, status=201)
    client(httpserver).create_comment("example-org/app", 7, "hello")
    assert [(r.method, r.path, r.get_json()) for r in requests_seen(httpserver)] == [
        ("POST", PATH, {"body": "hello"}),
        ("POST", moved, {"body": "hello"}),
    ]


def test_a_redirect_to_another_host_is_refused(httpserver: HTTPServer):
    """The token is never sent to a host other than the configured API."""
    httpserver.expect_request(PATH, method="POST").respond_with_data(
        "", status=301, headers={"Location": "https://evil.example.net/steal"}
    )
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("github-redirect", False)
    assert len(httpserver.log) == 1


def test_a_locked_issue_is_recognised_by_its_documentation_link(httpserver: HTTPServer):
    """A 403 linking GitHub's locking-conversations article is a locked issue, whatever it says."""
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"message": "Forbidden", "documentation_url": LOCKED["documentation_url"]}, status=403
    )
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("issue-locked", False)
    assert caught.value.detail == (
        "example-org/app#7 is locked: only collaborators may comment: Forbidden"
    )


def test_a_persistent_secondary_limit_backs_off_then_gives_up(httpserver: HTTPServer):
    """Without headers: wait a minute, then twice and four times that, each slept through while
    the invocation has time; after the last attempt, fail transient."""
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."}, status=403
    )
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        client(httpserver, sleeps).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient, caught.value.status) == (
        "rate-limited",
        True,
        403,
    )
    assert caught.value.detail == (
        "GitHub rate-limited the comment for example-org/app#7 (after 4 attempts)"
    )
    assert sleeps.calls == [60.0, 120.0, 240.0]
    assert len(httpserver.log) == 4


def test_retry_after_as_an_http_date_is_obeyed(httpserver: HTTPServer):
    """RFC 9110 allows retry-after as a date: wait until then by the injected clock."""
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_data(
        "", status=429, headers={"retry-after": "Mon, 23 Nov 2026 08:00:12 GMT"}
    )
    httpserver.expect_ordered_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    sleeps = Sleeps()
    client(httpserver, sleeps, clock=lambda: 1795420800.0).create_comment("example-org/app", 7, "x")
    assert sleeps.calls == [12.0]


def test_a_relative_redirect_is_followed_on_the_same_host(httpserver: HTTPServer):
    """A Location without a host resolves against the request URL, as HTTP says."""
    moved = "/repositories/42/issues/7/comments"
    httpserver.expect_request(PATH, method="POST").respond_with_data(
        "", status=301, headers={"Location": moved}
    )
    httpserver.expect_request(moved, method="POST").respond_with_json(CREATED, status=201)
    assert client(httpserver).create_comment("example-org/app", 7, "x").id == 1
    assert [r.path for r in requests_seen(httpserver)] == [PATH, moved]


@pytest.mark.parametrize(
    ("location", "where"),
    [
        ("", "nowhere (no Location header)"),
        ("https://{host}/x", "https://{host}; the token is not sent there"),
    ],
)
def test_a_redirect_without_a_target_or_to_another_scheme_is_refused(
    httpserver: HTTPServer, location, where
):
    """No Location, or the same host over another scheme: permanent github-redirect, no request."""
    host = f"{httpserver.host}:{httpserver.port}"
    httpserver.expect_request(PATH, method="POST").respond_with_data(
        "", status=307, headers={"Location": location.format(host=host)}
    )
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient, caught.value.status) == (
        "github-redirect",
        False,
        307,
    )
    assert caught.value.detail == (
        f"GitHub answered 307 for example-org/app#7, redirecting to {where.format(host=host)}"
    )
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("repo", ["app", "example-org/", "/app", "example-org/app/x", "o/.."])
def test_a_malformed_repository_is_refused_without_a_request(httpserver: HTTPServer, repo):
    """Only owner/name reaches GitHub; anything else is the route's wrong repository:
    repo-not-visible, never a missing issue."""
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment(repo, 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("repo-not-visible", True)
    assert caught.value.detail == f"{repo!r} is not an owner/name repository"
    assert httpserver.log == []


def test_a_netrc_entry_does_not_replace_the_token(httpserver: HTTPServer, tmp_path, monkeypatch):
    """requests would send ~/.netrc credentials instead; the bearer token must win."""
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {httpserver.host} login someone password other\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    httpserver.expect_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    client(httpserver).create_comment("example-org/app", 7, "x")
    [request] = requests_seen(httpserver)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_rate_limit_holds_every_client_sharing_the_gate(httpserver: HTTPServer):
    """Once GitHub says wait, the next mail's client does not ask before then."""
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."},
        status=403,
        headers={"retry-after": "30"},
    )
    limit = MemoryPostLimit()
    now = [1795424040.0]
    first = client(httpserver, deadline=left(10.0), clock=lambda: now[0], limit=limit)
    with pytest.raises(GitHubError) as caught:
        first.create_comment("example-org/app", 7, "x")
    assert caught.value.reason == "rate-limited"
    second = client(httpserver, deadline=left(10.0), clock=lambda: now[0], limit=limit)
    with pytest.raises(GitHubError) as caught:
        second.create_comment("example-org/app", 8, "y")
    assert caught.value.detail.endswith("not posted (no request made)")
    assert len(httpserver.log) == 1


def test_a_short_shared_wait_is_slept_then_posted(httpserver: HTTPServer):
    """A gate that lifts within the remaining time is waited for, then the post goes out."""
    httpserver.expect_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    limit = MemoryPostLimit()
    limit.hold(1795424045.0)
    sleeps = Sleeps()
    github = client(httpserver, sleeps, clock=lambda: 1795424040.0, limit=limit)
    assert github.create_comment("example-org/app", 7, "x").id == 1
    assert sleeps.calls == [5.0]


# --- Opening issues: POST /repos/{owner}/{repo}/issues, and the issues list searched for a copy.

ISSUES = "/repos/example-org/app/issues"
ISSUE_SPEC = json.loads((TESTS / "github" / "issues-create.openapi.json").read_text())
# GitHub's example issue is also a pull request's; an issue just opened is not one.
OPENED = {k: v for k, v in ISSUE_SPEC["example201"].items() if k != "pull_request"}
ISSUE_DOCS = "https://docs.github.com/rest/issues/issues#create-an-issue"
MAIL = "0123456789abcdef0123456789abcdef"
MARKED = f"The printer is on fire.\n\n{marker(MAIL)}"


@pytest.fixture
def github(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver).install()


def open_issue(server: HTTPServer, body: str = MARKED, labels=(), **kwargs) -> PostedIssue:
    since = kwargs.pop("since", None)
    sleeps = kwargs.pop("sleeps", None)
    return client(server, sleeps, **kwargs).create_issue(
        "example-org/app", "Printer on fire", body, labels, since=since
    )


def query(request: Request) -> dict[str, str]:
    return dict(request.args.items())


def assert_valid_issue_body(sent: dict[str, object]) -> None:
    """Valid against GitHub's schema, which allows unknown keys: so each key must be declared."""
    schema = ISSUE_SPEC["post"]["requestBody"]
    Draft202012Validator(nullable_to_json_schema(schema)).validate(sent)
    assert set(sent) <= set(schema["properties"])
    assert schema["required"] == ["title"]


def test_new_issue_request_is_exactly_what_github_documents(httpserver: HTTPServer):
    """POST to the repository's issues with title and body only, and the headers GitHub asks."""
    httpserver.expect_oneshot_request(ISSUES, method="POST").respond_with_json(OPENED, status=201)
    posted = open_issue(httpserver, "Hello **world**")
    # GitHub's own example answer: its labels are read back (GitHub drops some silently).
    assert posted == PostedIssue(
        1347, "https://github.com/octocat/Hello-World/issues/1347", ("bug",)
    )
    [request] = requests_seen(httpserver)
    assert request.get_json() == {"title": "Printer on fire", "body": "Hello **world**"}
    assert_valid_issue_body(request.get_json())
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert request.headers["User-Agent"] == f"ticket-router/{__version__}"


def test_labels_are_sent_only_when_there_are_some(httpserver: HTTPServer):
    """With labels the body gains a "labels" array of names, in order, and stays documented."""
    httpserver.expect_oneshot_request(ISSUES, method="POST").respond_with_json(OPENED, status=201)
    open_issue(httpserver, "x", ("bug", "from mail"))
    [request] = requests_seen(httpserver)
    assert request.get_json() == {
        "title": "Printer on fire",
        "body": "x",
        "labels": ["bug", "from mail"],
    }
    assert_valid_issue_body(request.get_json())


def test_new_issue_request_matches_the_openapi_description(httpserver: HTTPServer):
    """Path template and path parameters of issues/create come from @octokit/openapi."""
    httpserver.expect_oneshot_request(re.compile(".*"), method="POST").respond_with_json(
        OPENED, status=201
    )
    client(httpserver).create_issue("Octo-Org/my.repo_1", "t", "b")
    [request] = requests_seen(httpserver)
    template = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", ISSUE_SPEC["path"]) + "$"
    found = re.match(template, request.path)
    assert found is not None
    assert found.groupdict() == {"owner": "Octo-Org", "repo": "my.repo_1"}
    declared = {p["name"]: (p["in"], p["schema"]["type"]) for p in ISSUE_SPEC["post"]["parameters"]}
    assert declared == {"owner": ("path", "string"), "repo": ("path", "string")}
    assert ISSUE_SPEC["post"]["operationId"] == "issues/create"
    assert ISSUE_SPEC["enterprise_has_path"] is True


def test_the_example_issue_we_serve_is_documented():
    """The answers served here are GitHub's examples, valid against the fields the client reads."""
    Draft202012Validator(nullable_to_json_schema(ISSUE_SPEC["issue"])).validate(OPENED)
    for item in ISSUE_SPEC["example200"]:
        Draft202012Validator(nullable_to_json_schema(ISSUE_SPEC["list_item"])).validate(item)
    assert ISSUE_SPEC["issue"]["required"] == ["html_url", "number"]


def test_the_lookup_asks_for_what_the_openapi_documents(httpserver: HTTPServer):
    """state=all, since as a date-time and per_page=100 are documented issues/list-for-repo query
    parameters, with values in their schema."""
    httpserver.expect_request(ISSUES, method="GET").respond_with_json([])
    httpserver.expect_request(ISSUES, method="POST").respond_with_json(OPENED, status=201)
    open_issue(httpserver, since=1795424040.0)
    lookup, post = requests_seen(httpserver)
    assert (lookup.method, post.method) == ("GET", "POST")
    assert query(lookup) == {"state": "all", "since": "2026-11-23T08:54:00Z", "per_page": "100"}
    declared = {p["name"]: p for p in ISSUE_SPEC["get"]["parameters"]}
    assert ISSUE_SPEC["get"]["operationId"] == "issues/list-for-repo"
    for name, value in query(lookup).items():
        assert declared[name]["in"] == "query"
        schema = declared[name]["schema"]
        if schema["type"] == "integer":
            Draft202012Validator(schema).validate(int(value))
        else:
            Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            ).validate(value)
    assert declared["state"]["schema"]["default"] == "open"


def test_a_fake_github_issue_gets_the_number_after_the_existing_ones(github, httpserver):
    """Issues and pull requests share numbers: a new issue follows the highest of them."""
    github.seed("example-org/app", issues=5, pull_requests=(5,))
    posted = open_issue(httpserver, "x", ("bug",))
    assert (posted.number, posted.url) == (6, "https://github.com/example-org/app/issues/6")
    [issue] = github.opened()
    assert (issue.number, issue.title, issue.body, issue.labels) == (
        6,
        "Printer on fire",
        "x",
        ["bug"],
    )


def test_an_issue_whose_answer_is_lost_in_a_5xx_is_found_not_reopened(github, httpserver):
    """GitHub opened it but answered 502: the retry finds the marker at once, opens nothing
    more, and reports the issue as found (an earlier attempt's)."""
    github.seed("example-org/app", issues=3)
    github.lost_next.append(502)
    sleeps = Sleeps()
    posted = open_issue(httpserver, sleeps=sleeps)
    assert posted == PostedIssue(4, "https://github.com/example-org/app/issues/4", found=True)
    assert [i.number for i in github.opened()] == [4]
    assert (github.requests["POST issues"], github.requests["GET issues"]) == (1, 1)
    assert len(sleeps.calls) == 1


def test_a_5xx_that_opened_nothing_is_retried_once_looked_for(github, httpserver):
    """A 503 before creating: the lookup at once and the one after the late-POST window find
    nothing, and the retry opens the one issue."""
    github.fail_next.append(503)
    sleeps = Sleeps()
    posted = open_issue(httpserver, sleeps=sleeps, clock=lambda: 1795424040.0)
    assert (posted.number, posted.found) == (1, False)
    assert len(github.opened()) == 1
    assert (github.requests["POST issues"], github.requests["GET issues"]) == (2, 2)
    # The backoff, then the rest of the minute after the first POST.
    assert len(sleeps.calls) == 2
    assert sum(sleeps.calls) == pytest.approx(60.0)


def test_an_issue_opened_after_the_client_timed_out_is_found_not_reopened(github, httpserver):
    """The answer came too late: the retry looks, finds the marker, and opens no second issue."""
    # The answer is held until the client has given up on it (its backoff began).
    gave_up = threading.Event()
    github.held_next.append(gave_up)
    github_client = GitHubClient(
        TOKEN,
        deadline=Deadline.never(),
        api_url=httpserver.url_for("/"),
        timeout=1.0,
        sleep=lambda seconds: gave_up.set(),
    )
    posted = github_client.create_issue("example-org/app", "Printer on fire", MARKED)
    assert posted == PostedIssue(1, "https://github.com/example-org/app/issues/1", found=True)
    assert len(github.opened()) == 1
    assert (github.requests["POST issues"], github.requests["GET issues"]) == (1, 1)


def test_a_mail_that_is_not_fresh_is_looked_for_before_opening(github, httpserver):
    """With since, an issue already carrying the marker is returned and nothing is posted."""
    github.seed("example-org/app", issues=2)
    github.issues.append(
        Issue(number=3, repo="example-org/app", title="t", body=MARKED, created_at=time.time())
    )
    posted = open_issue(httpserver, since=time.time() - 60)
    assert posted == PostedIssue(3, "https://github.com/example-org/app/issues/3", found=True)
    assert (github.requests["POST issues"], github.requests["GET issues"]) == (0, 1)


def test_a_closed_issue_carrying_the_marker_still_counts(github, httpserver):
    """The lookup asks for every state: an issue closed since it was opened is not reopened."""
    github.issues.append(
        Issue(
            number=1,
            repo="example-org/app",
            title="t",
            body=MARKED,
            created_at=time.time(),
            state="closed",
        )
    )
    assert open_issue(httpserver, since=time.time() - 60).number == 1
    assert github.requests["POST issues"] == 0


def test_a_mail_that_is_not_fresh_and_not_found_is_opened(github, httpserver):
    """With since and no copy: one lookup, then one POST."""
    github.seed("example-org/app", issues=2)
    assert open_issue(httpserver, since=time.time() - 60).number == 3
    assert [r.method for r in requests_seen(httpserver)] == ["GET", "POST"]


def test_pull_requests_carrying_the_marker_are_not_the_issue(github, httpserver):
    """The issues list mixes in pull requests; one quoting the mail's marker is skipped."""
    github.issues.append(
        Issue(
            number=1,
            repo="example-org/app",
            title="Fix the printer",
            body=MARKED,
            created_at=time.time(),
            pull_request=True,
        )
    )
    posted = open_issue(httpserver, since=time.time() - 60)
    assert (posted.number, posted.url) == (2, "https://github.com/example-org/app/issues/2")
    assert (github.requests["POST issues"], github.requests["GET issues"]) == (1, 1)


def test_the_pull_request_example_of_github_is_skipped(httpserver: HTTPServer):
    """GitHub's own list example is a pull request: given the marker, it is still not a match."""
    pull = {**ISSUE_SPEC["example200"][0], "body": MARKED}
    assert "pull_request" in pull
    httpserver.expect_request(ISSUES, method="GET").respond_with_json([pull])
    httpserver.expect_request(ISSUES, method="POST").respond_with_json(OPENED, status=201)
    assert open_issue(httpserver, since=1795424040.0).number == 1347
    assert [r.method for r in requests_seen(httpserver)] == ["GET", "POST"]


def test_the_lookup_follows_the_next_pages(github, httpserver):
    """Newest first, 100 a page: the marked issue, older than 150 others, is on page two."""
    now = time.time()
    github.issues.append(
        Issue(number=1, repo="example-org/app", title="t", body=MARKED, created_at=now - 30)
    )
    for number in range(2, 152):
        github.issues.append(
            Issue(number=number, repo="example-org/app", title="t", body="x", created_at=now)
        )
    assert open_issue(httpserver, since=now - 60).number == 1
    pages = [query(r) for r in requests_seen(httpserver)]
    assert [p.get("page") for p in pages] == [None, "2"]
    assert github.requests["POST issues"] == 0


def test_the_lookup_stops_after_ten_pages(github, httpserver):
    """Past the page cap the copy is taken as absent: the issue is opened."""
    now = time.time()
    github.issues.append(
        Issue(number=1, repo="example-org/app", title="t", body=MARKED, created_at=now - 30)
    )
    for number in range(2, 1002):
        github.issues.append(
            Issue(number=number, repo="example-org/app", title="t", body="x", created_at=now)
        )
    assert open_issue(httpserver, since=now - 60).number == 1002
    assert (github.requests["GET issues"], github.requests["POST issues"]) == (10, 1)


def test_without_a_marker_nothing_is_looked_for(github, httpserver):
    """A body that carries no marker cannot be found again: it is posted straight away."""
    assert open_issue(httpserver, "no marker here", since=time.time() - 60).number == 1
    assert [r.method for r in requests_seen(httpserver)] == ["POST"]


@pytest.mark.parametrize(
    ("status", "payload", "reason", "detail"),
    [
        (
            410,
            {"message": "Issues are disabled for this repo", "documentation_url": ISSUE_DOCS},
            "issues-disabled",
            "issues are disabled for example-org/app: Issues are disabled for this repo",
        ),
        (
            403,
            {"message": "Resource not accessible by integration", "documentation_url": ISSUE_DOCS},
            "github-forbidden",
            "the token may not open issues in example-org/app (it needs Issues: write, or the "
            "repo scope): Resource not accessible by integration",
        ),
        (
            422,
            {
                "message": "Validation Failed",
                "errors": [
                    {"resource": "Issue", "field": "title", "code": "missing_field"},
                    {"resource": "Label", "field": "name", "code": "invalid"},
                ],
                "documentation_url": ISSUE_DOCS,
            },
            "validation-failed",
            "GitHub refused the new issue for example-org/app: Validation Failed "
            "(title missing_field; name invalid)",
        ),
        (
            400,
            {"message": "Problems parsing JSON", "documentation_url": ISSUE_DOCS},
            "github-rejected",
            "GitHub answered 400 for a new issue in example-org/app: Problems parsing JSON",
        ),
    ],
)
def test_new_issue_failures_have_their_reason_and_are_not_retried(
    httpserver: HTTPServer, status, payload, reason, detail
):
    """Each documented refusal: one request, a permanent error with a reason worded for issues."""
    documented = ISSUE_SPEC["post"]["responses"].get(str(status), {}).get("schema")
    if documented is not None:
        Draft202012Validator(nullable_to_json_schema(documented)).validate(payload)
    httpserver.expect_request(ISSUES, method="POST").respond_with_json(payload, status=status)
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver, sleeps=sleeps)
    error = caught.value
    assert (error.reason, error.transient, error.status, error.detail) == (
        reason,
        False,
        status,
        detail,
    )
    assert TOKEN not in str(error)
    assert len(httpserver.log) == 1
    assert sleeps.calls == []


def test_the_failures_we_name_cover_the_documented_responses():
    """Every status documented for issues/create has a reason; 503 is retried as any 5xx."""
    assert sorted(ISSUE_SPEC["post"]["responses"]) == [
        "201",
        "400",
        "403",
        "404",
        "410",
        "422",
        "503",
    ]


def test_a_repository_out_of_sight_found_while_looking_is_retried(github, httpserver):
    """A 404 on the issues list is the same repo-not-visible, before anything is posted."""
    github.missing_repos.add("example-org/app")
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver, since=time.time() - 60)
    assert (caught.value.reason, caught.value.transient) == ("repo-not-visible", True)
    assert [(r.method, r.path) for r in requests_seen(httpserver)] == [("GET", ISSUES)]


def test_a_new_issue_in_a_repository_out_of_sight_is_retried(github, httpserver):
    """404 for a new issue: the repository is out of the credential's sight (GitHub has no
    other reason to answer 404 there), retried and alarmed; one request."""
    github.missing_repos.add("example-org/app")
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver)
    error = caught.value
    assert (error.reason, error.transient, error.status, error.detail) == (
        "repo-not-visible",
        True,
        404,
        "GitHub answered 404 for a new issue in example-org/app: the credential cannot see "
        "example-org/app (it lost access, or the route names a wrong repository): Not Found",
    )
    assert [(r.method, r.path) for r in requests_seen(httpserver)] == [("POST", ISSUES)]


def test_a_failed_lookup_is_transient_and_posts_nothing(httpserver: HTTPServer):
    """A 500 while looking: posting without knowing could open the issue twice."""
    httpserver.expect_request(ISSUES, method="GET").respond_with_data("oops", status=500)
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver, since=1795424040.0)
    assert (caught.value.reason, caught.value.transient, caught.value.detail) == (
        "github-unavailable",
        True,
        "GitHub answered 500 when checking example-org/app's issues for an earlier copy",
    )
    assert [r.method for r in requests_seen(httpserver)] == ["GET"]


@pytest.mark.parametrize("repo", ["app", "example-org/", "/app", "example-org/app/x", "o/.."])
def test_a_malformed_repository_opens_nothing(httpserver: HTTPServer, repo):
    """Only owner/name reaches GitHub; anything else is repo-not-visible."""
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_issue(repo, "t", "b")
    assert (caught.value.reason, caught.value.transient) == ("repo-not-visible", True)
    assert caught.value.detail == f"{repo!r} is not an owner/name repository"
    assert httpserver.log == []


def test_persistent_server_errors_on_a_new_issue_give_up_worded_for_it(httpserver: HTTPServer):
    """After max_attempts 500s (each followed by a lookup at once and one after the late-POST
    window): transient github-unavailable."""
    httpserver.expect_request(ISSUES, method="POST").respond_with_data("oops", status=500)
    httpserver.expect_request(ISSUES, method="GET").respond_with_json([])
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver, sleeps=sleeps, max_attempts=3)
    assert (caught.value.reason, caught.value.transient, caught.value.detail) == (
        "github-unavailable",
        True,
        "GitHub answered 500 for a new issue in example-org/app (after 3 attempts)",
    )
    assert [r.method for r in requests_seen(httpserver)] == [
        *("POST", "GET", "GET"),
        *("POST", "GET", "GET"),
        "POST",
    ]


def test_an_unreadable_answer_is_resolved_by_the_marker(httpserver: HTTPServer):
    """A 201 without a number: one lookup from just before the POST finds the issue's number."""
    found = {**OPENED, "number": 12, "html_url": "https://github.com/example-org/app/issues/12"}
    httpserver.expect_request(ISSUES, method="POST").respond_with_data("not json", status=201)
    httpserver.expect_request(ISSUES, method="GET").respond_with_json(
        [{**OPENED, "number": 11, "body": "other"}, {**found, "body": MARKED}]
    )
    posted = open_issue(httpserver, clock=lambda: 1795424340.0)
    assert posted == PostedIssue(12, "https://github.com/example-org/app/issues/12")
    post, lookup = requests_seen(httpserver)
    assert (post.method, lookup.method) == ("POST", "GET")
    # The moment before posting, less the five minutes of clock skew.
    assert query(lookup)["since"] == "2026-11-23T08:54:00Z"


@pytest.mark.parametrize(
    ("answer", "listed"),
    [
        ({"id": 5}, []),
        ({"number": "12"}, []),
        ({"number": 0}, [{**OPENED, "body": "other"}]),
    ],
)
def test_an_issue_opened_without_a_readable_number_and_no_copy_found_is_number_0(
    httpserver: HTTPServer, answer, listed
):
    """GitHub took it but nothing says which: number 0 for the caller, and no second POST."""
    httpserver.expect_request(ISSUES, method="POST").respond_with_json(answer, status=201)
    httpserver.expect_request(ISSUES, method="GET").respond_with_json(listed)
    assert open_issue(httpserver) == PostedIssue(0, "")
    assert [r.method for r in requests_seen(httpserver)] == ["POST", "GET"]


def test_a_failed_lookup_after_an_unreadable_answer_is_still_opened(httpserver: HTTPServer):
    """The issue exists whatever the lookup says: a failing lookup gives number 0, not an error."""
    httpserver.expect_request(ISSUES, method="POST").respond_with_data("", status=201)
    httpserver.expect_request(ISSUES, method="GET").respond_with_data("oops", status=502)
    assert open_issue(httpserver) == PostedIssue(0, "")
    assert [r.method for r in requests_seen(httpserver)] == ["POST", "GET"]


def test_an_unreadable_answer_for_a_body_without_marker_is_number_0(httpserver: HTTPServer):
    """Without a marker there is nothing to look for: number 0 straight away."""
    httpserver.expect_request(ISSUES, method="POST").respond_with_data("", status=201)
    assert open_issue(httpserver, "plain") == PostedIssue(0, "")
    assert len(httpserver.log) == 1


def test_a_rate_limit_on_a_new_issue_is_obeyed(httpserver: HTTPServer):
    """retry-after on the POST: wait exactly that long, then open the issue once."""
    httpserver.expect_ordered_request(ISSUES, method="POST").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."},
        status=403,
        headers={"retry-after": "7"},
    )
    httpserver.expect_ordered_request(ISSUES, method="POST").respond_with_json(OPENED, status=201)
    sleeps = Sleeps()
    assert open_issue(httpserver, sleeps=sleeps).number == 1347
    assert sleeps.calls == [7.0]
    assert len(httpserver.log) == 2


def test_a_persistent_secondary_limit_on_a_new_issue_gives_up_worded_for_it(
    httpserver: HTTPServer,
):
    """No headers: waits of one, two and four minutes, then transient."""
    httpserver.expect_request(ISSUES, method="POST").respond_with_json(
        {"message": "You have exceeded a secondary rate limit."}, status=403
    )
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver, sleeps=sleeps)
    assert (caught.value.reason, caught.value.transient, caught.value.detail) == (
        "rate-limited",
        True,
        "GitHub rate-limited opening a new issue in example-org/app (after 4 attempts)",
    )
    assert sleeps.calls == [60.0, 120.0, 240.0]


def test_a_comment_rate_limit_holds_the_next_new_issue(httpserver: HTTPServer):
    """The gate is the token's: after a comment was rate-limited, no issue is opened before then."""
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_json(
        {"message": "API rate limit exceeded"},
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1795427640"},
    )
    limit = MemoryPostLimit()
    now = lambda: 1795424040.0  # noqa: E731
    with pytest.raises(GitHubError):
        client(httpserver, clock=now, limit=limit).create_comment("example-org/app", 7, "x")
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver, clock=now, limit=limit)
    assert (caught.value.reason, caught.value.detail) == (
        "rate-limited",
        "GitHub's rate limit holds until 2026-11-23T09:54:01Z; a new issue in example-org/app "
        "not posted (no request made)",
    )
    assert len(httpserver.log) == 1


def test_a_renamed_repository_redirect_is_followed_as_a_post_for_issues(httpserver: HTTPServer):
    """A 307 on the API host is repeated as a POST with the same title, body and labels."""
    moved = "/repositories/42/issues"
    httpserver.expect_request(ISSUES, method="POST").respond_with_data(
        "", status=307, headers={"Location": httpserver.url_for(moved)}
    )
    httpserver.expect_request(moved, method="POST").respond_with_json(OPENED, status=201)
    open_issue(httpserver, "b", ("bug",))
    sent = {"title": "Printer on fire", "body": "b", "labels": ["bug"]}
    assert [(r.method, r.path, r.get_json()) for r in requests_seen(httpserver)] == [
        ("POST", ISSUES, sent),
        ("POST", moved, sent),
    ]


def test_a_redirect_of_a_new_issue_to_another_host_is_refused(httpserver: HTTPServer):
    """The token never follows a redirect off the API host."""
    httpserver.expect_request(ISSUES, method="POST").respond_with_data(
        "", status=301, headers={"Location": "https://evil.example.net/steal"}
    )
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver)
    assert (caught.value.reason, caught.value.transient, caught.value.detail) == (
        "github-redirect",
        False,
        "GitHub answered 301 for a new issue in example-org/app, redirecting to "
        "https://evil.example.net; the token is not sent there",
    )


def test_no_issue_is_opened_without_time_to_finish(httpserver: HTTPServer):
    """Under the safety margin nothing is sent, and the detail says what was not done."""
    with pytest.raises(GitHubError) as caught:
        open_issue(httpserver, deadline=left(2.0))
    assert (caught.value.reason, caught.value.transient, caught.value.detail) == (
        "github-timeout",
        True,
        "no time left in this invocation to open a new issue in example-org/app",
    )
    assert httpserver.log == []


def test_a_github_error_is_a_ticket_router_error():
    """GitHubError carries a Reason, is transient as the reason is, and its text is the detail."""
    locked = "example-org/app#7 is locked"
    error = GitHubError(Reason.ISSUE_LOCKED, locked, status=403)
    assert isinstance(error, TicketRouterError)
    assert (str(error), error.transient, error.status) == (locked, False, 403)
    later = error.after(2)
    assert (later.reason, later.detail, later.status) == (
        Reason.ISSUE_LOCKED,
        f"{locked} (after 2 attempts)",
        403,
    )


# A body made once no earlier copy is found (a mail's files stored there).


def test_the_finished_body_is_posted_and_made_once_across_retries(github: FakeGitHub):
    """``finish`` makes the body actually posted (same marker), once, however many attempts:
    a 502 is retried with the body already made."""
    made: list[str] = []

    def finish() -> str:
        made.append("made")
        return f"The printer is on fire. ![photo](https://example.test/p.png)\n\n{marker(MAIL)}"

    github.fail_next = [502]
    posted = client(github.server).create_comment("example-org/app", 7, MARKED, finish=finish)
    assert made == ["made"]
    assert posted.found is False
    assert [c.body for c in github.comments] == [
        f"The printer is on fire. ![photo](https://example.test/p.png)\n\n{marker(MAIL)}"
    ]


@pytest.mark.parametrize("kind", ["comment", "issue"])
def test_a_copy_found_by_the_search_makes_no_body(github: FakeGitHub, kind: str):
    """A retry or replay (``since``) that finds the mail's earlier copy returns it, and never
    calls ``finish``: a replay of a posted mail stores none of its files again."""
    github.seed("example-org/app", issues=7)
    gh = client(github.server)
    since = time.time() - 3600
    if kind == "comment":
        gh.create_comment("example-org/app", 7, MARKED)
    else:
        gh.create_issue("example-org/app", "Printer on fire", MARKED)

    def finish() -> str:
        raise AssertionError("an earlier copy was found: nothing to make")

    if kind == "comment":
        again = gh.create_comment("example-org/app", 7, MARKED, since=since, finish=finish)
    else:
        again = gh.create_issue("example-org/app", "Printer", MARKED, since=since, finish=finish)
    assert again.found is True
    assert (len(github.comments), len(github.opened())) == ((1, 0) if kind == "comment" else (0, 1))


# --- Reactions: POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions.

REACTION_PATH = "/repos/example-org/app/issues/comments/4242/reactions"
# GitHub's answer: https://docs.github.com/en/rest/reactions/reactions#create-reaction-for-an-issue-comment
REACTION = {"id": 1, "content": "rocket", "user": {"login": "ticket-router[bot]"}}


@pytest.mark.parametrize(("status", "made"), [(201, True), (200, False)], ids=["made", "there"])
def test_a_reaction_is_exactly_what_github_documents(httpserver: HTTPServer, status, made):
    """One POST of {"content": ...} with the headers every request carries; 201 made it, 200
    says the credential had set it already."""
    httpserver.expect_oneshot_request(REACTION_PATH, method="POST").respond_with_json(
        REACTION, status=status
    )
    assert client(httpserver).react("example-org/app", 4242, "rocket") is made
    [request] = requests_seen(httpserver)
    assert request.get_json() == {"content": "rocket"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_the_fake_github_keeps_one_reaction_per_comment_and_content(github, httpserver):
    """The stand-in answers as GitHub does: made once, there already after."""
    reacting = client(httpserver)
    assert reacting.react("example-org/app", 4242, "rocket") is True
    assert reacting.react("example-org/app", 4242, "rocket") is False
    assert reacting.react("example-org/app", 4242, "confused") is True
    assert [(r.comment_id, r.content, r.sent) for r in github.reactions] == [
        (4242, "rocket", {"content": "rocket"}),
        (4242, "confused", {"content": "confused"}),
    ]


@pytest.mark.parametrize(
    ("status", "answer", "reason", "detail"),
    [
        (
            403,
            {"message": "Resource not accessible by integration"},
            Reason.GITHUB_FORBIDDEN,
            "the credential may not react in example-org/app (it needs Issues: write, or the "
            "repo scope; or the issue is locked): Resource not accessible by integration",
        ),
        (
            404,
            {"message": "Not Found"},
            Reason.GITHUB_REJECTED,
            "GitHub answered 404 for the rocket reaction on comment 4242 in example-org/app: the "
            "comment was deleted, or the credential cannot see example-org/app: Not Found",
        ),
        (
            410,
            {"message": "Gone"},
            Reason.GITHUB_REJECTED,
            "GitHub answered 410 for the rocket reaction on comment 4242 in example-org/app: the "
            "comment was deleted, or the credential cannot see example-org/app: Gone",
        ),
        (
            422,
            {"message": "Validation Failed"},
            Reason.VALIDATION_FAILED,
            "GitHub refused the rocket reaction on comment 4242 in example-org/app: "
            "Validation Failed",
        ),
        (
            400,
            {"message": "Problems parsing JSON"},
            Reason.GITHUB_REJECTED,
            "GitHub answered 400 for the rocket reaction on comment 4242 in example-org/app: "
            "Problems parsing JSON",
        ),
    ],
    ids=["403", "404", "410", "422", "400"],
)
def test_a_refused_reaction_is_permanent_and_asked_once(
    httpserver: HTTPServer, status, answer, reason, detail
):
    """No retry changes a refusal: one request, a permanent error saying what GitHub said."""
    httpserver.expect_request(REACTION_PATH, method="POST").respond_with_json(answer, status=status)
    with pytest.raises(GitHubError) as caught:
        client(httpserver).react("example-org/app", 4242, "rocket")
    assert (caught.value.reason, caught.value.detail) == (reason, detail)
    assert (caught.value.transient, caught.value.status) == (False, status)
    assert len(httpserver.log) == 1


def test_a_failing_github_is_retried_then_transient(httpserver: HTTPServer):
    """5xx answers are retried (a repeat only finds the reaction there); each attempt takes its
    turn under the credential's limit, and the last failure is transient."""
    httpserver.expect_request(REACTION_PATH, method="POST").respond_with_data("no", status=502)
    limit = MemoryPostLimit()
    turns = []
    reserve = limit.reserve

    def counted(now: float, latest: float) -> float:
        turns.append(now)
        return reserve(now, latest)

    limit.reserve = counted  # type: ignore[method-assign]
    with pytest.raises(GitHubError) as caught:
        client(httpserver, limit=limit).react("example-org/app", 4242, "rocket")
    assert caught.value.reason == Reason.GITHUB_UNAVAILABLE
    assert caught.value.transient
    assert len(httpserver.log) == len(turns) == 4


def test_a_reaction_after_a_failure_for_now_is_made_once(httpserver: HTTPServer):
    """A 502, then GitHub makes it: True, two requests."""
    httpserver.expect_ordered_request(REACTION_PATH, method="POST").respond_with_data(
        "no", status=502
    )
    httpserver.expect_ordered_request(REACTION_PATH, method="POST").respond_with_json(
        REACTION, status=201
    )
    assert client(httpserver).react("example-org/app", 4242, "rocket") is True
    assert len(httpserver.log) == 2
