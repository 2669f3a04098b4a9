"""The GitHub client against a real HTTP server on 127.0.0.1, checked against GitHub's OpenAPI."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from jsonschema import Draft202012Validator
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handler import __version__
from handler.github import GitHubClient, GitHubError, PostedComment, RateGate
from tests.conftest import TESTS

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


def client(server: HTTPServer, sleeps: Sleeps | None = None, **kwargs) -> GitHubClient:
    return GitHubClient(
        TOKEN, api_url=server.url_for("/"), sleep=sleeps or Sleeps(), **{"timeout": 2.0, **kwargs}
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
    GitHubClient(TOKEN, api_url=httpserver.url_for("/api/v3/"), sleep=Sleeps()).create_comment(
        "example-org/app", 7, "x"
    )
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
            404,
            {"message": "Not Found", "documentation_url": DOCS, "status": "404"},
            "issue-not-found",
        ),
        (
            410,
            {"message": "Issues are disabled for this repo", "documentation_url": DOCS},
            "issue-gone",
        ),
        (401, {"message": "Bad credentials", "documentation_url": DOCS}, "github-auth-failed"),
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
    """404, 410, 401, 403, 422: one request, a permanent error with a clear reason."""
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
    assert "example-org/app#7" in error.detail or reason == "github-auth-failed"
    assert TOKEN not in str(error)
    assert len(httpserver.log) == 1
    assert sleeps.calls == []


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
    served: list[float] = []

    def handler(request: Request) -> Response:
        if not served:
            time.sleep(0.5)
        served.append(time.monotonic())
        return Response(json.dumps(CREATED), status=201, content_type="application/json")

    httpserver.expect_request(PATH, method="POST").respond_with_handler(handler)
    # The test server answers one request at a time: the backoff must really wait until the
    # slow answer is out of the way.
    waited: list[float] = []
    github = GitHubClient(
        TOKEN,
        api_url=httpserver.url_for("/"),
        timeout=0.2,
        sleep=lambda seconds: (waited.append(seconds), time.sleep(0.5)),
    )
    assert github.create_comment("example-org/app", 7, "x").id == 1
    assert len(served) == 2
    assert len(waited) == 1


def test_timeouts_end_in_a_transient_error(httpserver: HTTPServer):
    """When every attempt times out the error is github-timeout, worth a later retry."""

    released = threading.Event()

    def handler(request: Request) -> Response:
        released.wait(2.0)
        return Response("{}", status=201)

    httpserver.expect_request(PATH, method="POST").respond_with_handler(handler)
    try:
        with pytest.raises(GitHubError) as caught:
            client(httpserver, timeout=0.1, max_attempts=2).create_comment(
                "example-org/app", 7, "x"
            )
    finally:
        # Let the single-threaded server finish both abandoned requests, so that none of them
        # is answered by the next test's expectations.
        released.set()
        deadline = time.monotonic() + 3.0
        while len(httpserver.log) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert (caught.value.reason, caught.value.transient) == ("github-timeout", True)
    assert caught.value.detail == (
        "GitHub did not answer within 0.1 s for example-org/app#7 (after 2 attempts)"
    )


def test_connection_refused_is_transient():
    """Nothing listening: github-unavailable after the retries, naming the failure class."""
    sleeps = Sleeps()
    github = GitHubClient(TOKEN, api_url="http://127.0.0.1:9", sleep=sleeps, max_attempts=2)
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
        client(httpserver, sleeps, remaining_time=lambda: 10.0).create_comment(
            "example-org/app", 7, "x"
        )
    assert caught.value.reason == "rate-limited"
    assert sleeps.calls == []


def test_no_request_is_started_without_time_to_finish_it(httpserver: HTTPServer):
    """Under the safety margin, nothing is sent: a transient error lets Lambda retry later."""
    with pytest.raises(GitHubError) as caught:
        client(httpserver, remaining_time=lambda: 2.0).create_comment("example-org/app", 7, "x")
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
    """Without headers: wait a minute, then the doubled wait is over the cap: fail transient."""
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
        "GitHub rate-limited the comment for example-org/app#7 (after 2 attempts)"
    )
    assert sleeps.calls == [60.0]
    assert len(httpserver.log) == 2


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
    """Only owner/name reaches GitHub; anything else is a permanent issue-not-found."""
    with pytest.raises(GitHubError) as caught:
        client(httpserver).create_comment(repo, 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("issue-not-found", False)
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
    gate = RateGate()
    now = [1795424040.0]
    first = client(httpserver, remaining_time=lambda: 10.0, clock=lambda: now[0], gate=gate)
    with pytest.raises(GitHubError) as caught:
        first.create_comment("example-org/app", 7, "x")
    assert caught.value.reason == "rate-limited"
    second = client(httpserver, remaining_time=lambda: 10.0, clock=lambda: now[0], gate=gate)
    with pytest.raises(GitHubError) as caught:
        second.create_comment("example-org/app", 8, "y")
    assert caught.value.detail.endswith("not posted (no request made)")
    assert len(httpserver.log) == 1


def test_a_short_shared_wait_is_slept_then_posted(httpserver: HTTPServer):
    """A gate that lifts within the remaining time is waited for, then the post goes out."""
    httpserver.expect_request(PATH, method="POST").respond_with_json(CREATED, status=201)
    gate = RateGate()
    gate.hold_until(1795424045.0)
    sleeps = Sleeps()
    github = client(httpserver, sleeps, clock=lambda: 1795424040.0, gate=gate)
    assert github.create_comment("example-org/app", 7, "x").id == 1
    assert sleeps.calls == [5.0]
