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

It also keeps repositories' branches and files for the contents adapter (handler.github.contents):
Git objects (blobs, trees, commits) and refs behind the Git Data API, and the Contents API's
folder listings and uploads over them; private, empty and read-only repositories; failures per
kind of request (answered instead, or after doing it), hooks run just before one (another
writer's race), truncated recursive tree listings, and the secondary rate limit on every
content-creating request.
"""

from __future__ import annotations

import base64
import hashlib
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
_REACTIONS = re.compile(r"^(?:/api/v3)?/repos/([^/]+)/([^/]+)/issues/comments/(\d+)/reactions$")
_GIT = r"^(?:/api/v3)?/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
_REF = re.compile(_GIT + r"/git/ref/heads/(?P<branch>.+)$")
_REFS = re.compile(_GIT + r"/git/refs$")
_REF_UPDATE = re.compile(_GIT + r"/git/refs/heads/(?P<branch>.+)$")
_TREES = re.compile(_GIT + r"/git/trees$")
_TREE = re.compile(_GIT + r"/git/trees/(?P<sha>[^/]+)$")
_COMMITS = re.compile(_GIT + r"/git/commits$")
_COMMIT = re.compile(_GIT + r"/git/commits/(?P<sha>[^/]+)$")
_CONTENTS = re.compile(_GIT + r"/contents(?:/(?P<path>.*))?$")
# The content-creating requests among the files' (GitHub's secondary limit counts them).
WRITES = ("POST trees", "POST commits", "POST refs", "PATCH ref", "PUT contents")
# https://docs.github.com/en/rest/reactions/reactions#about-reactions
REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
# GitHub's answers to a credential that can read a repository but not write it, and to the Git
# Data API of a repository without commits.
READ_ONLY = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/repos/contents#create-or-update-file-contents",
    "status": "403",
}
EMPTY = {
    "message": "Git Repository is empty.",
    "documentation_url": "https://docs.github.com/rest/git/refs#get-a-reference",
    "status": "409",
}
# GitHub's answer to a Contents upload of a path that exists, without the blob's sha.
NO_SHA = {
    "message": 'Invalid request.\n\n"sha" wasn\'t supplied.',
    "documentation_url": "https://docs.github.com/rest/repos/contents#create-or-update-file-contents",
    "status": "422",
}
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


@dataclass(frozen=True)
class Reaction:
    """A reaction set on an issue comment, and the JSON body of the request that set it."""

    repo: str
    comment_id: int
    content: str
    sent: dict[str, object]


@dataclass(frozen=True)
class Commit:
    tree: str
    parents: tuple[str, ...]
    message: str


def blob_sha(content: bytes) -> str:
    """Git's object name of a blob, as GitHub gives it."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


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
    # Repositories whose visibility is private (the others are public).
    private_repos: set[str] = field(default_factory=set)
    # Repositories without a commit: the Git Data API answers 409 for them.
    empty_repos: set[str] = field(default_factory=set)
    # Repositories the credential can read but not write: 403 to every content-creating request.
    read_only_repos: set[str] = field(default_factory=set)
    # Git objects by sha: a blob's bytes, a tree (path -> blob sha, every file below it), a Commit.
    objects: dict[str, bytes | dict[str, str] | Commit] = field(default_factory=dict)
    # Each repository's branches: name -> commit sha.
    refs: dict[str, dict[str, str]] = field(default_factory=dict)
    # Per kind of files request ("PUT contents", "POST trees", "GET ref", ...): statuses (or
    # statuses and answers) to answer the next ones with, doing nothing; statuses to answer them
    # with after doing it (the answer lost); functions to run just before handling them (another
    # writer first).
    fail_kinds: dict[str, list[int | tuple[int, dict[str, object]]]] = field(default_factory=dict)
    lost_kinds: dict[str, list[int]] = field(default_factory=dict)
    before_kinds: dict[str, list[Callable[[], None]]] = field(default_factory=dict)
    # Events to wait for (30 s at most) after doing the next requests of a kind, before
    # answering: the answer comes after the client gave up.
    held_kinds: dict[str, list[threading.Event]] = field(default_factory=dict)
    # A recursive tree listing with more entries than this is truncated, as GitHub's past 100,000.
    tree_limit: int | None = None
    # The reactions set on issue comments (one per comment and content, as GitHub keeps one per
    # user), and statuses to answer the next reaction requests with, setting nothing.
    reactions: list[Reaction] = field(default_factory=list)
    fail_reactions: list[int] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
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
        self.server.expect_request(_REACTIONS, method="POST").respond_with_handler(self._react)
        for pattern, method, kind, handler in (
            (_REF, "GET", "GET ref", self._get_ref),
            (_REFS, "POST", "POST refs", self._create_ref),
            (_REF_UPDATE, "PATCH", "PATCH ref", self._update_ref),
            (_TREES, "POST", "POST trees", self._create_tree),
            (_TREE, "GET", "GET tree", self._get_tree),
            (_COMMITS, "POST", "POST commits", self._create_commit),
            (_COMMIT, "GET", "GET commit", self._get_commit),
            (_CONTENTS, "GET", "GET contents", self._get_contents),
            (_CONTENTS, "PUT", "PUT contents", self._put_contents),
        ):
            self.server.expect_request(pattern, method=method).respond_with_handler(
                self._files_request(pattern, kind, handler)
            )
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

    def _react(self, request: Request) -> Response:
        """GitHub's create-reaction-for-an-issue-comment: 201 when made, 200 when the credential
        had set that content on the comment already."""
        found = _REACTIONS.match(request.path)
        assert found is not None
        repo, comment_id = f"{found.group(1)}/{found.group(2)}", int(found.group(3))
        with self._lock:
            self.requests["POST reactions"] += 1
            self.log.append((self.clock(), "POST", request.path))
            if repo in self.missing_repos:
                return _json(NOT_FOUND, 404)
            if self.fail_reactions:
                status = self.fail_reactions.pop(0)
                return _json({"message": f"injected {status}"}, status)
            sent = request.get_json()
            content = sent.get("content")
            if content not in REACTION_CONTENTS:
                return _json({"message": "Validation Failed"}, 422)
            made = [
                r
                for r in self.reactions
                if (r.repo, r.comment_id, r.content) == (repo, comment_id, content)
            ]
            if not made:
                self.reactions.append(Reaction(repo, comment_id, content, sent))
            payload = {
                "id": len(self.reactions),
                "content": content,
                "user": {"login": "ticket-router[bot]"},
                "created_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            }
        return _json(payload, 200 if made else 201)

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
        private = repo in self.private_repos
        return _json(
            {
                "id": 1296269,
                "name": name,
                "full_name": repo,
                "owner": {"login": owner},
                "private": private,
                "visibility": "private" if private else "public",
                "html_url": f"https://github.com/{repo}",
                "has_issues": True,
                "permissions": {"admin": False, "push": False, "pull": True},
            },
            200,
        )

    # --- Branches and files (handler.github.contents).

    def branch_files(self, repo: str, branch: str) -> dict[str, bytes]:
        """Every file on ``branch`` of ``repo``: path -> content; {} without the branch."""
        with self._lock:
            head = self.refs.get(repo, {}).get(branch)
            if head is None:
                return {}
            return {path: self._blob(sha) for path, sha in self._tree_of(head).items()}

    def history(self, repo: str, branch: str) -> list[str]:
        """The messages of the commits on ``branch``, newest first (first parents)."""
        with self._lock:
            messages, sha = [], self.refs.get(repo, {}).get(branch)
            while sha is not None:
                commit = self._commit(sha)
                messages.append(commit.message)
                sha = commit.parents[0] if commit.parents else None
            return messages

    def commit_files(self, repo: str, branch: str, files: dict[str, bytes], message: str) -> str:
        """One commit on ``branch`` (made, as an orphan, when missing) adding ``files``: what
        another writer does; its sha."""
        with self._lock:
            head = self.refs.get(repo, {}).get(branch)
            tree = dict(self._tree_of(head)) if head is not None else {}
            for path, content in files.items():
                tree[path] = self._store_blob(content)
            sha = self._store_commit(tree, (head,) if head else (), message)
            self.refs.setdefault(repo, {})[branch] = sha
            return sha

    def _files_request(
        self, pattern: re.Pattern[str], kind: str, handle: Callable[[Request, str], Response]
    ) -> Callable[[Request], Response]:
        """The handler of one kind of files request: logged and counted, then what GitHub
        answers a hidden, empty or read-only repository, an injected failure or the secondary
        limit, else ``handle`` (with the repository) under the lock."""

        def respond(request: Request) -> Response:
            found = pattern.match(request.path)
            assert found is not None
            repo = f"{found.group('owner')}/{found.group('name')}"
            with self._lock:
                self.requests[kind] += 1
                self.log.append((self.clock(), request.method, request.path))
                hooks = self.before_kinds.get(kind)
                hook = hooks.pop(0) if hooks else None
            if hook is not None:
                hook()
            with self._lock:
                response = answer(request, repo)
                holds = self.held_kinds.get(kind)
                held = holds.pop(0) if holds else None
            if held is not None:
                held.wait(30.0)
            return response

        def answer(request: Request, repo: str) -> Response:
            with self._lock:
                if repo in self.missing_repos:
                    return _json(NOT_FOUND, 404)
                if kind in WRITES and repo in self.read_only_repos:
                    return _json(READ_ONLY, 403)
                if repo in self.empty_repos and kind != "GET contents":
                    return _json(EMPTY, 409)
                failures = self.fail_kinds.get(kind)
                if failures:
                    failure = failures.pop(0)
                    if isinstance(failure, tuple):
                        return _json(failure[1], failure[0])
                    return _json({"message": f"injected {failure}"}, failure)
                if kind in WRITES:
                    limited = self._limited()
                    if limited is not None:
                        return limited
                response = handle(request, repo)
                lost = self.lost_kinds.get(kind)
                if lost and response.status_code < 300:
                    return Response("upstream error", status=lost.pop(0))
                return response

        return respond

    def _get_ref(self, request: Request, repo: str) -> Response:
        found = _REF.match(request.path)
        assert found is not None
        branch = found.group("branch")
        sha = self.refs.get(repo, {}).get(branch)
        if sha is None:
            return _json(NOT_FOUND, 404)
        return _json(self._ref_payload(request, repo, branch, sha), 200)

    def _create_ref(self, request: Request, repo: str) -> Response:
        sent = request.get_json()
        ref, sha = sent["ref"], sent["sha"]
        if not ref.startswith("refs/heads/") or not isinstance(self.objects.get(sha), Commit):
            return _json({"message": "Reference update failed"}, 422)
        branch = ref.removeprefix("refs/heads/")
        branches = self.refs.setdefault(repo, {})
        if branch in branches:
            return _json({"message": "Reference already exists"}, 422)
        branches[branch] = sha
        return _json(self._ref_payload(request, repo, branch, sha), 201)

    def _update_ref(self, request: Request, repo: str) -> Response:
        found = _REF_UPDATE.match(request.path)
        assert found is not None
        branch = found.group("branch")
        sent = request.get_json()
        branches = self.refs.get(repo, {})
        if branch not in branches:
            return _json({"message": "Reference does not exist"}, 422)
        if not isinstance(self.objects.get(sent["sha"]), Commit):
            return _json({"message": "Object does not exist"}, 422)
        if not sent.get("force") and not self._descends(sent["sha"], branches[branch]):
            return _json({"message": "Update is not a fast forward"}, 422)
        branches[branch] = sent["sha"]
        return _json(self._ref_payload(request, repo, branch, sent["sha"]), 200)

    def _create_tree(self, request: Request, repo: str) -> Response:
        sent = request.get_json()
        base = sent.get("base_tree")
        if base is not None and not isinstance(self.objects.get(base), dict):
            return _json({"message": "base_tree is not a valid tree oid"}, 422)
        tree = dict(self._tree(base)) if base is not None else {}
        for entry in sent["tree"]:
            path = entry["path"]
            if (entry["mode"], entry["type"]) != ("100644", "blob"):
                return _json({"message": f"unexpected entry for {path}"}, 422)
            if "content" in entry:
                tree[path] = self._store_blob(entry["content"].encode())
            elif entry.get("sha") is None:
                # GitHub: "Returns an error if you try to delete a file that does not exist."
                if path not in tree:
                    return _json({"message": "GitHub::Tree::Invalid", "path": path}, 422)
                del tree[path]
            elif isinstance(self.objects.get(entry["sha"]), bytes):
                tree[path] = entry["sha"]
            else:
                return _json({"message": f"tree.sha {entry['sha']} is not a blob"}, 422)
        sha = self._store_tree(tree)
        return _json({"sha": sha, "url": f"{request.host_url}git/trees/{sha}"}, 201)

    def _get_tree(self, request: Request, repo: str) -> Response:
        found = _TREE.match(request.path)
        assert found is not None
        sha = found.group("sha")
        if not isinstance(self.objects.get(sha), dict):
            return _json(NOT_FOUND, 404)
        tree = self._tree(sha)
        entries: list[dict[str, object]] = []
        if "recursive" in request.args:
            folders = {
                path.rsplit("/", i)[0] for path in tree for i in range(1, path.count("/") + 1)
            }
            for folder in folders:
                sub = {
                    p[len(folder) + 1 :]: b for p, b in tree.items() if p.startswith(folder + "/")
                }
                entries.append(
                    {"path": folder, "mode": "040000", "type": "tree", "sha": self._store_tree(sub)}
                )
            entries += [self._blob_entry(path, blob) for path, blob in tree.items()]
        else:
            below: dict[str, dict[str, str]] = {}
            for path, blob in tree.items():
                first, slash, rest = path.partition("/")
                if slash:
                    below.setdefault(first, {})[rest] = blob
                else:
                    entries.append(self._blob_entry(path, blob))
            for folder, sub in below.items():
                entries.append(
                    {"path": folder, "mode": "040000", "type": "tree", "sha": self._store_tree(sub)}
                )
        entries.sort(key=lambda e: str(e["path"]))
        truncated = (
            "recursive" in request.args
            and self.tree_limit is not None
            and len(entries) > self.tree_limit
        )
        if truncated:
            entries = entries[: self.tree_limit]
        return _json(
            {"sha": sha, "url": request.base_url, "tree": entries, "truncated": truncated}, 200
        )

    def _create_commit(self, request: Request, repo: str) -> Response:
        sent = request.get_json()
        parents = tuple(sent.get("parents", []))
        if not isinstance(self.objects.get(sent["tree"]), dict) or not all(
            isinstance(self.objects.get(p), Commit) for p in parents
        ):
            return _json({"message": "Tree SHA does not exist"}, 422)
        sha = self._store_commit(self._tree(sent["tree"]), parents, sent["message"])
        return _json(self._commit_payload(sha), 201)

    def _get_commit(self, request: Request, repo: str) -> Response:
        found = _COMMIT.match(request.path)
        assert found is not None
        if not isinstance(self.objects.get(found.group("sha")), Commit):
            return _json(NOT_FOUND, 404)
        return _json(self._commit_payload(found.group("sha")), 200)

    def _get_contents(self, request: Request, repo: str) -> Response:
        found = _CONTENTS.match(request.path)
        assert found is not None
        path = (found.group("path") or "").strip("/")
        ref = request.args.get("ref", "main")
        head = self.refs.get(repo, {}).get(ref)
        if head is None:
            return _json({"message": f"No commit found for the ref {ref}"}, 404)
        tree = self._tree_of(head)
        if path in tree:
            entry = self._content_entry(path, tree[path], "file")
            entry["content"] = base64.b64encode(self._blob(tree[path])).decode()
            entry["encoding"] = "base64"
            return _json(entry, 200)
        prefix = f"{path}/" if path else ""
        children: dict[str, dict[str, object]] = {}
        for each, blob in tree.items():
            if each.startswith(prefix):
                name, slash, _ = each[len(prefix) :].partition("/")
                kind = "dir" if slash else "file"
                children[name] = self._content_entry(prefix + name, blob, kind)
        if not children and path:
            return _json(NOT_FOUND, 404)
        return _json([children[name] for name in sorted(children)], 200)

    def _put_contents(self, request: Request, repo: str) -> Response:
        found = _CONTENTS.match(request.path)
        assert found is not None
        path = found.group("path") or ""
        sent = request.get_json()
        branch = sent.get("branch", "main")
        head = self.refs.get(repo, {}).get(branch)
        if head is None:
            return _json({"message": f"Branch {branch} not found"}, 404)
        tree = dict(self._tree_of(head))
        if path in tree and sent.get("sha") != tree[path]:
            return _json(NO_SHA, 422)
        tree[path] = self._store_blob(base64.b64decode(sent["content"], validate=True))
        sha = self._store_commit(tree, (head,), sent["message"])
        self.refs[repo][branch] = sha
        content = self._content_entry(path, tree[path], "file")
        return _json({"content": content, "commit": self._commit_payload(sha)}, 201)

    def _descends(self, sha: str, ancestor: str) -> bool:
        """``sha`` is ``ancestor`` or has it among its parents' ancestry."""
        seen, todo = set(), [sha]
        while todo:
            each = todo.pop()
            if each == ancestor:
                return True
            if each not in seen:
                seen.add(each)
                todo += self._commit(each).parents
        return False

    def _store_blob(self, content: bytes) -> str:
        sha = blob_sha(content)
        self.objects[sha] = content
        return sha

    def _store_tree(self, tree: dict[str, str]) -> str:
        text = json.dumps(sorted(tree.items())).encode()
        sha = hashlib.sha1(b"tree " + text, usedforsecurity=False).hexdigest()
        self.objects[sha] = dict(tree)
        return sha

    def _store_commit(self, tree: dict[str, str], parents: tuple[str, ...], message: str) -> str:
        # Each commit is new, as a real one is by its time: a count stands for the time.
        made = sum(isinstance(o, Commit) for o in self.objects.values())
        commit = Commit(self._store_tree(tree), parents, message)
        text = json.dumps([commit.tree, parents, message, made]).encode()
        sha = hashlib.sha1(b"commit " + text, usedforsecurity=False).hexdigest()
        self.objects[sha] = commit
        return sha

    def _blob(self, sha: str) -> bytes:
        blob = self.objects[sha]
        assert isinstance(blob, bytes)
        return blob

    def _tree(self, sha: str) -> dict[str, str]:
        tree = self.objects[sha]
        assert isinstance(tree, dict)
        return tree

    def _commit(self, sha: str) -> Commit:
        commit = self.objects[sha]
        assert isinstance(commit, Commit)
        return commit

    def _tree_of(self, commit: str) -> dict[str, str]:
        return self._tree(self._commit(commit).tree)

    def _blob_entry(self, path: str, blob: str) -> dict[str, object]:
        return {
            "path": path,
            "mode": "100644",
            "type": "blob",
            "sha": blob,
            "size": len(self._blob(blob)),
        }

    def _content_entry(self, path: str, blob: str, kind: str) -> dict[str, object]:
        return {
            "type": kind,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": blob,
            "size": len(self._blob(blob)) if kind == "file" else 0,
        }

    def _commit_payload(self, sha: str) -> dict[str, object]:
        commit = self._commit(sha)
        return {
            "sha": sha,
            "message": commit.message,
            "tree": {"sha": commit.tree},
            "parents": [{"sha": parent} for parent in commit.parents],
        }

    def _ref_payload(self, request: Request, repo: str, branch: str, sha: str) -> dict[str, object]:
        return {
            "ref": f"refs/heads/{branch}",
            "url": f"{request.host_url}repos/{repo}/git/refs/heads/{branch}",
            "object": {"type": "commit", "sha": sha},
        }

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
