"""A stateful stand-in for GitHub's issue-comment API, served by pytest-httpserver on 127.0.0.1.

It keeps the comments it accepts, lists them back (``since``, pagination) as GitHub does, and can
be told to misbehave: answer 5xx, answer only after the client gave up (the comment is created
all the same), or enforce a secondary rate limit in scaled time.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handler.github import marker_in

_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$")


@dataclass
class Comment:
    id: int
    repo: str
    issue: int
    body: str
    created_at: float


@dataclass
class FakeGitHub:
    server: HTTPServer
    comments: list[Comment] = field(default_factory=list)
    # Statuses to answer the next POSTs with instead of creating the comment.
    fail_next: list[int] = field(default_factory=list)
    # Seconds to hold the answer to the next POSTs after creating the comment.
    slow_next: list[float] = field(default_factory=list)
    # Secondary rate limit: at most `limit` comments per `window` seconds (real time).
    limit: int | None = None
    window: float = 1.0
    # How many GitHub seconds one real second is, for the retry-after it announces.
    scale: float = 1.0
    missing_issues: set[int] = field(default_factory=set)
    # Issues whose POSTs always fail with 502 (a persistent outage for one repository path).
    broken_issues: set[int] = field(default_factory=set)
    requests: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _window_start: float = 0.0
    _window_count: int = 0

    def install(self) -> FakeGitHub:
        self.server.expect_request(_PATH, method="POST").respond_with_handler(self._post)
        self.server.expect_request(_PATH, method="GET").respond_with_handler(self._list)
        return self

    def marked(self) -> Counter[str]:
        """How many comments carry each mail marker."""
        return Counter(marker_in(c.body) or "" for c in self.comments)

    def _post(self, request: Request) -> Response:
        found = _PATH.match(request.path)
        assert found is not None
        repo, issue = f"{found.group(1)}/{found.group(2)}", int(found.group(3))
        with self._lock:
            self.requests["POST"] += 1
            if issue in self.missing_issues:
                return _json({"message": "Not Found"}, 404)
            if self.fail_next:
                return Response("upstream error", status=self.fail_next.pop(0))
            if issue in self.broken_issues:
                return Response("upstream error", status=502)
            limited = self._limited()
            if limited is not None:
                return limited
            comment = Comment(
                id=len(self.comments) + 1,
                repo=repo,
                issue=issue,
                body=request.get_json()["body"],
                created_at=time.time(),
            )
            self.comments.append(comment)
            delay = self.slow_next.pop(0) if self.slow_next else 0.0
        if delay:
            time.sleep(delay)
        return _json(_payload(comment), 201)

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
            if issue in self.missing_issues:
                return _json({"message": "Not Found"}, 404)
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

    def _limited(self) -> Response | None:
        if self.limit is None:
            return None
        now = time.monotonic()
        if now - self._window_start >= self.window:
            self._window_start, self._window_count = now, 0
        if self._window_count < self.limit:
            self._window_count += 1
            return None
        wait = (self._window_start + self.window - now) * self.scale
        return _json(
            {"message": "You have exceeded a secondary rate limit."},
            403,
            headers={"retry-after": str(max(1, math.ceil(wait)))},
        )


def _payload(comment: Comment) -> dict[str, object]:
    return {
        "id": comment.id,
        "html_url": f"https://github.com/{comment.repo}/issues/{comment.issue}"
        f"#issuecomment-{comment.id}",
        "body": comment.body,
        "created_at": datetime.fromtimestamp(comment.created_at, UTC).isoformat(),
    }


def _json(payload: object, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload), status=status, content_type="application/json", headers=headers
    )
