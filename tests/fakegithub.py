"""A stateful stand-in for GitHub's issue-comment and issue API, served by pytest-httpserver on
127.0.0.1.

It keeps the comments and issues it accepts and lists them back as GitHub does: comments of an
issue oldest first, a repository's issues newest first with pull requests among them (``state``,
``since``, pagination). A new issue takes the number after the highest one the repository has
(seeded issues and pull requests, and issues that have comments). It can be told to misbehave,
for comments and new issues alike: answer 5xx, create and then answer 5xx, answer only after the
client gave up (created all the same, or only then: applied late), answer 429 with retry-after,
fail a search, or enforce a secondary rate limit in scaled time. It logs each request at the
time of its ``clock``, a test's injected one.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handler.github.posts import marker_in

# A GitHub Enterprise Server serves the same paths below /api/v3.
_PATH = re.compile(r"^(?:/api/v3)?/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$")
_ISSUES = re.compile(r"^(?:/api/v3)?/repos/([^/]+)/([^/]+)/issues$")
_REPO = re.compile(r"^(?:/api/v3)?/repos/([^/]+)/([^/]+)$")
# GitHub's answer to any request about a repository the credential cannot see, whether it
# exists or not: https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
NOT_FOUND = {
    "message": "Not Found",
    "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository",
    "status": "404",
}


@dataclass
class Comment:
    id: int
    repo: str
    issue: int
    body: str
    created_at: float


@dataclass
class Issue:
    number: int
    repo: str
    title: str
    body: str
    created_at: float
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    # Issues and pull requests share numbers, and the issues list shows both.
    pull_request: bool = False


@dataclass
class FakeGitHub:
    server: HTTPServer
    comments: list[Comment] = field(default_factory=list)
    # Seeded ones and those opened through the API.
    issues: list[Issue] = field(default_factory=list)
    # Statuses to answer the next POSTs with instead of creating the comment or issue.
    fail_next: list[int] = field(default_factory=list)
    # Statuses to answer the next POSTs with after creating it: the answer is lost.
    lost_next: list[int] = field(default_factory=list)
    # Events to wait for (30 s at most) before answering the next POSTs, after creating.
    held_next: list[threading.Event] = field(default_factory=list)
    # Events to wait for (30 s at most) before creating the comments the next POSTs ask for,
    # long after their client gave up (a threaded server answers the others meanwhile).
    late_next: list[threading.Event] = field(default_factory=list)
    # Seconds of retry-after in a 429 to answer the next POSTs with, creating nothing.
    limited_next: list[int] = field(default_factory=list)
    # Statuses to answer the next searches (comment and issue lists) with.
    fail_lists: list[int] = field(default_factory=list)
    # What "now" is: each comment's and issue's created_at, and the time of each logged request.
    clock: Callable[[], float] = time.time
    # (clock time, method, path) of every request, in the order they came.
    log: list[tuple[float, str, str]] = field(default_factory=list)
    # Secondary rate limit: at most `limit` comments and issues per `window` seconds (real time).
    limit: int | None = None
    window: float = 1.0
    # How many GitHub seconds one real second is, for the retry-after it announces.
    scale: float = 1.0
    missing_issues: set[int] = field(default_factory=set)
    # Repositories (owner/name) the credential cannot see: 404 to every request about them,
    # the repository itself included.
    missing_repos: set[str] = field(default_factory=set)
    # Issues whose POSTs always fail with 502 (a persistent outage for one repository path).
    broken_issues: set[int] = field(default_factory=set)
    # "POST" and "GET" count comment requests; "POST issues" and "GET issues" issue requests;
    # "GET repo" the requests for a repository itself.
    requests: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _window_start: float = 0.0
    _window_count: int = 0
    # The highest seeded issue number of each repository.
    _seeded: dict[str, int] = field(default_factory=dict)

    def install(self) -> FakeGitHub:
        self.server.expect_request(_PATH, method="POST").respond_with_handler(self._post)
        self.server.expect_request(_PATH, method="GET").respond_with_handler(self._list)
        self.server.expect_request(_ISSUES, method="POST").respond_with_handler(self._open)
        self.server.expect_request(_ISSUES, method="GET").respond_with_handler(self._list_issues)
        self.server.expect_request(_REPO, method="GET").respond_with_handler(self._repository)
        return self

    def marked(self) -> Counter[str]:
        """How many comments carry each mail marker."""
        return Counter(marker_in(c.body) or "" for c in self.comments)

    def opened(self) -> list[Issue]:
        """The issues opened through the API, oldest first (not the seeded ones)."""
        return [i for i in self.issues if i.number > self._seeded.get(i.repo, 0)]

    def seed(self, repo: str, *, issues: int, pull_requests: tuple[int, ...] = ()) -> None:
        """Issues 1..``issues`` of ``repo``, the numbers in ``pull_requests`` being pull requests;
        each an hour older than the next, all long before now."""
        old = self.clock() - 86400
        for number in range(1, issues + 1):
            self.issues.append(
                Issue(
                    number=number,
                    repo=repo,
                    title=f"Seeded {number}",
                    body=f"seeded {number}",
                    created_at=old - 3600 * (issues - number),
                    pull_request=number in pull_requests,
                )
            )
        self._seeded[repo] = max(self._seeded.get(repo, 0), issues)

    def _post(self, request: Request) -> Response:
        found = _PATH.match(request.path)
        assert found is not None
        repo, issue = f"{found.group(1)}/{found.group(2)}", int(found.group(3))
        with self._lock:
            self.requests["POST"] += 1
            self.log.append((self.clock(), "POST", request.path))
            if issue in self.missing_issues or repo in self.missing_repos:
                return _json({"message": "Not Found"}, 404)
            if self.fail_next:
                return Response("upstream error", status=self.fail_next.pop(0))
            if issue in self.broken_issues:
                return Response("upstream error", status=502)
            limited = self._limited()
            if limited is not None:
                return limited
            late = self.late_next.pop(0) if self.late_next else None
        if late is not None:
            late.wait(30.0)
        with self._lock:
            comment = Comment(
                id=len(self.comments) + 1,
                repo=repo,
                issue=issue,
                body=request.get_json()["body"],
                created_at=self.clock(),
            )
            self.comments.append(comment)
        return self._created(_payload(comment))

    def _open(self, request: Request) -> Response:
        found = _ISSUES.match(request.path)
        assert found is not None
        repo = f"{found.group(1)}/{found.group(2)}"
        with self._lock:
            self.requests["POST issues"] += 1
            self.log.append((self.clock(), "POST", request.path))
            if repo in self.missing_repos:
                return _json({"message": "Not Found"}, 404)
            if self.fail_next:
                return Response("upstream error", status=self.fail_next.pop(0))
            limited = self._limited()
            if limited is not None:
                return limited
            sent = request.get_json()
            taken = [i.number for i in self.issues if i.repo == repo]
            taken += [c.issue for c in self.comments if c.repo == repo]
            issue = Issue(
                number=max(taken, default=0) + 1,
                repo=repo,
                title=sent["title"],
                body=sent.get("body") or "",
                labels=list(sent.get("labels", [])),
                created_at=self.clock(),
            )
            self.issues.append(issue)
        return self._created(_issue_payload(issue))

    def _created(self, payload: dict[str, object]) -> Response:
        """201 with ``payload``, unless told to lose the answer or to answer late."""
        with self._lock:
            lost = self.lost_next.pop(0) if self.lost_next else None
            held = self.held_next.pop(0) if self.held_next else None
        if held is not None:
            held.wait(30.0)
        if lost is not None:
            return Response("upstream error", status=lost)
        return _json(payload, 201)

    def _list_issues(self, request: Request) -> Response:
        found = _ISSUES.match(request.path)
        assert found is not None
        repo = f"{found.group(1)}/{found.group(2)}"
        since = request.args.get("since")
        after = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() if since else 0
        after /= self.scale
        state = request.args.get("state", "open")
        per_page = int(request.args.get("per_page", "30"))
        page = int(request.args.get("page", "1"))
        with self._lock:
            self.requests["GET issues"] += 1
            self.log.append((self.clock(), "GET", request.path))
            if repo in self.missing_repos:
                return _json({"message": "Not Found"}, 404)
            if self.fail_lists:
                return Response("upstream error", status=self.fail_lists.pop(0))
            # GitHub's defaults: sort=created, direction=desc; since filters on updated_at,
            # which is created_at here (nothing is edited).
            matching = sorted(
                (
                    i
                    for i in self.issues
                    if i.repo == repo
                    and state in {"all", i.state}
                    and i.created_at >= math.floor(after)
                ),
                key=lambda i: (i.created_at, i.number),
                reverse=True,
            )
        chunk = matching[(page - 1) * per_page : page * per_page]
        response = _json([_issue_payload(i) for i in chunk], 200)
        if page * per_page < len(matching):
            response.headers["Link"] = (
                f"<{request.base_url}?state={state}&since={since}&per_page={per_page}"
                f'&page={page + 1}>; rel="next"'
            )
        return response

    def _list(self, request: Request) -> Response:
        found = _PATH.match(request.path)
        assert found is not None
        repo, issue = f"{found.group(1)}/{found.group(2)}", int(found.group(3))
        since = request.args.get("since")
        after = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() if since else 0
        # A client running in scaled time asks in scaled time.
        after /= self.scale
        per_page = int(request.args.get("per_page", "30"))
        page = int(request.args.get("page", "1"))
        with self._lock:
            self.requests["GET"] += 1
            self.log.append((self.clock(), "GET", request.path))
            if issue in self.missing_issues or repo in self.missing_repos:
                return _json({"message": "Not Found"}, 404)
            if self.fail_lists:
                return Response("upstream error", status=self.fail_lists.pop(0))
            matching = [
                c
                for c in self.comments
                if (c.repo, c.issue) == (repo, issue) and c.created_at >= math.floor(after)
            ]
        chunk = matching[(page - 1) * per_page : page * per_page]
        response = _json([_payload(c) for c in chunk], 200)
        if page * per_page < len(matching):
            base = request.base_url
            response.headers["Link"] = (
                f'<{base}?since={since}&per_page={per_page}&page={page + 1}>; rel="next"'
            )
        return response

    def _repository(self, request: Request) -> Response:
        """``GET /repos/{owner}/{repo}``: the repository, or 404 when the credential cannot see
        it; any repository not hidden exists here."""
        found = _REPO.match(request.path)
        assert found is not None
        repo = f"{found.group(1)}/{found.group(2)}"
        with self._lock:
            self.requests["GET repo"] += 1
            self.log.append((self.clock(), "GET", request.path))
            if repo in self.missing_repos:
                return _json(NOT_FOUND, 404)
        owner, name = repo.split("/")
        return _json(
            {
                "id": 1296269,
                "name": name,
                "full_name": repo,
                "owner": {"login": owner},
                "private": False,
                "html_url": f"https://github.com/{repo}",
                "has_issues": True,
                "permissions": {"admin": False, "push": False, "pull": True},
            },
            200,
        )

    def _limited(self) -> Response | None:
        if self.limited_next:
            return rate_limited(429, self.limited_next.pop(0))
        if self.limit is None:
            return None
        now = time.monotonic()
        if now - self._window_start >= self.window:
            self._window_start, self._window_count = now, 0
        if self._window_count < self.limit:
            self._window_count += 1
            return None
        wait = (self._window_start + self.window - now) * self.scale
        return rate_limited(403, max(1, math.ceil(wait)))


def _payload(comment: Comment) -> dict[str, object]:
    return {
        "id": comment.id,
        "html_url": f"https://github.com/{comment.repo}/issues/{comment.issue}"
        f"#issuecomment-{comment.id}",
        "body": comment.body,
        "created_at": datetime.fromtimestamp(comment.created_at, UTC).isoformat(),
    }


def _issue_payload(issue: Issue) -> dict[str, object]:
    kind = "pull" if issue.pull_request else "issues"
    payload: dict[str, object] = {
        "id": 1000 + issue.number,
        "number": issue.number,
        "html_url": f"https://github.com/{issue.repo}/{kind}/{issue.number}",
        "title": issue.title,
        "body": issue.body,
        "state": issue.state,
        "labels": [{"name": name} for name in issue.labels],
        "created_at": datetime.fromtimestamp(issue.created_at, UTC).isoformat(),
        "updated_at": datetime.fromtimestamp(issue.created_at, UTC).isoformat(),
    }
    if issue.pull_request:
        payload["pull_request"] = {
            "url": f"https://api.github.com/repos/{issue.repo}/pulls/{issue.number}"
        }
    return payload


def rate_limited(status: int, seconds: int) -> Response:
    """GitHub's secondary rate limit: ``status`` (403 or 429) with a retry-after."""
    return _json(
        {"message": "You have exceeded a secondary rate limit."},
        status,
        headers={"retry-after": str(seconds)},
    )


def _json(payload: object, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload), status=status, content_type="application/json", headers=headers
    )


@contextmanager
def silent(server: HTTPServer, path: str, *, requests: int) -> Iterator[None]:
    """POSTs to ``path`` are answered only once the block is done (every attempt times out);
    then the ``requests`` held ones are answered and waited for, so that the single-threaded
    server answers none of them with the next test's expectations."""
    released = threading.Event()

    def hold(request: Request) -> Response:
        released.wait(2.0)
        return Response("{}", status=201)

    server.expect_request(path, method="POST").respond_with_handler(hold)
    try:
        yield
    finally:
        released.set()
        deadline = time.monotonic() + 3.0
        while len(server.log) < requests and time.monotonic() < deadline:
            time.sleep(0.01)
