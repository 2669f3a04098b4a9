"""A mail's files committed to a branch (handler.github.contents) against the loopback GitHub:
stored once whatever is retried or replayed, the branch made once whoever races, removed in one
fast-forward commit, every write taking its turn under the credential's limit, and each refusal
told apart from a failure for now.

tests/github/<operation>.openapi.json are the operations the adapter calls, from
``@octokit/openapi`` 23.0.2 (``npm pack @octokit/openapi@23.0.2``, file
``generated/api.github.com.deref.json``), trimmed small: ``externalDocs`` is its URL,
``parameters`` lose their ``examples``, ``requestBody`` is the ``application/json`` schema,
``responses`` keep only each status's description, ``success`` is the answer the adapter reads
(its status, its schema keeping only the properties the adapter reads, nested, and ``required``
among those; the Contents API's directory listing alone of its variants; and GitHub's example cut
to the same properties), ``enterprise_has_path`` says whether ``ghes-3.19.deref.json`` has the
operation; written with ``json.dump(..., indent=1, sort_keys=True)``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable

import pytest
from jsonschema import Draft202012Validator
from pytest_httpserver import HTTPServer
from werkzeug import Request

from handler import __version__
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.contents import README, README_MESSAGE, GitHubFiles
from handler.github.errors import GitHubError
from handler.github.rate_limit import Limits, MemoryPostLimit
from handler.reasons import Reason
from tests.conftest import TESTS
from tests.fakegithub import WRITES, FakeGitHub, blob_sha

TOKEN = "ghp_testToken0123456789abcdef"
REPO = "example-org/files"
BRANCH = "ticket-router-attachments"
MAIL = "0123456789abcdef0123456789abcdef"
SHOT = f"2026/12/07/{MAIL}/screenshot.png"
LOG = f"2026/12/07/{MAIL}/server.log"
FILES = [(SHOT, b"\x89PNG\r\n\x1a\nshot"), (LOG, b"ERROR disk full\n")]
MESSAGE = f"Attachments of mail {MAIL}"
# GitHub's answer to an upload whose content holds a secret push protection knows (the 409's
# "Repository rule violation" variant in the OpenAPI description).
PUSH_PROTECTION = {
    "message": "Repository rule violations found\n\nPush cannot contain secrets\n",
    "documentation_url": "https://docs.github.com/code-security/secret-scanning",
    "status": "409",
    "metadata": {"secret_scanning": {"bypass_placeholders": []}},
}
OPERATIONS = {
    path.name.removesuffix(".openapi.json"): json.loads(path.read_text())
    for path in sorted((TESTS / "github").glob("*.openapi.json"))
    if path.name.startswith(("git-", "repos-"))
}


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class CountingLimit(MemoryPostLimit):
    """The credential's limit, counting the turns taken."""

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self.turns = 0

    def reserve(self, now: float, latest: float) -> float:
        moment = super().reserve(now, latest)
        self.turns += moment <= latest
        return moment


@pytest.fixture
def github(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver).install()


def files_of(server: HTTPServer, sleeps: Sleeps | None = None, **kwargs) -> GitHubFiles:
    client = GitHubClient(
        TOKEN,
        api_url=kwargs.pop("api_url", server.url_for("/")),
        sleep=kwargs.pop("sleep", sleeps or Sleeps()),
        **{"timeout": 2.0, "deadline": Deadline.never(), **kwargs},
    )
    return client.files()


def writes(github: FakeGitHub) -> int:
    return sum(github.requests[kind] for kind in WRITES)


def requests_seen(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log]


# --- Storing.


def test_a_first_store_makes_the_branch_as_an_orphan_with_a_readme(github, httpserver):
    """No branch yet: a root commit of a README saying what the branch is, then one commit per
    file, each file's bytes as sent."""
    stored = files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    assert stored == [SHOT, LOG]
    assert github.branch_files(REPO, BRANCH) == {"README.md": README.encode(), **dict(FILES)}
    assert github.history(REPO, BRANCH) == [MESSAGE, MESSAGE, README_MESSAGE]
    assert "ticket-router attachments remove" in README


def test_the_request_is_what_github_documents(github, httpserver):
    """The upload is the file's base64 on the named branch, with the client's headers."""
    files_of(httpserver).store(REPO, BRANCH, FILES[:1], MESSAGE)
    [put] = [r for r in requests_seen(httpserver) if r.method == "PUT"]
    assert put.path == f"/repos/{REPO}/contents/{SHOT}"
    content = base64.b64encode(FILES[0][1]).decode()
    assert put.get_json() == {"message": MESSAGE, "content": content, "branch": BRANCH}
    for request in requests_seen(httpserver):
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert request.headers["User-Agent"] == f"ticket-router/{__version__}"


def test_a_replayed_store_uploads_nothing(github, httpserver):
    """The same files again (a redelivered or replayed mail): listed, found, nothing written."""
    files = files_of(httpserver)
    files.store(REPO, BRANCH, FILES, MESSAGE)
    before = writes(github)
    assert files.store(REPO, BRANCH, FILES, MESSAGE) == []
    assert writes(github) == before
    assert len(github.history(REPO, BRANCH)) == 3


def test_a_retry_after_a_crash_stores_only_what_is_missing(github, httpserver):
    """One file made by an earlier attempt: only the other is uploaded."""
    github.commit_files(REPO, BRANCH, {SHOT: FILES[0][1]}, "an earlier attempt")
    assert files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE) == [LOG]
    assert github.requests["PUT contents"] == 1
    assert github.requests["POST refs"] == 0
    assert github.branch_files(REPO, BRANCH) == dict(FILES)


def test_one_folder_is_listed_once_for_all_its_files(github, httpserver):
    """A mail's files share a folder: one listing before the uploads, whatever their number."""
    files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    assert github.requests["GET contents"] == 1


def test_requests_grow_with_the_files_not_faster(github, httpserver):
    """n and 8n files of one mail: one listing, n uploads; a replay, one listing and none."""
    counts = []
    for n in (3, 24):
        github.requests.clear()
        files = [(f"2026/12/07/{n:032x}/f{i}.txt", b"%d" % i) for i in range(n)]
        files_of(httpserver).store(REPO, BRANCH, files, MESSAGE)
        files_of(httpserver).store(REPO, BRANCH, files, MESSAGE)
        counts.append((github.requests["GET contents"], github.requests["PUT contents"]))
    assert counts == [(2, 3), (2, 24)]


def test_an_empty_store_asks_nothing(github, httpserver):
    """No files, no request: not even the branch is looked at."""
    assert files_of(httpserver).store(REPO, BRANCH, [], MESSAGE) == []
    assert sum(github.requests.values()) == 0


def test_a_name_outside_ascii_is_one_path_segment_each(github, httpserver):
    """A sanitised name keeps Unicode letters: percent-encoded in the URL, stored as named."""
    path = f"2026/12/07/{MAIL}/Bildschirmfoto-ä-日本.png"
    files_of(httpserver).store(REPO, "mail/attachments", [(path, b"x")], MESSAGE)
    assert github.branch_files(REPO, "mail/attachments")[path] == b"x"
    [put] = [r for r in requests_seen(httpserver) if r.method == "PUT"]
    assert put.environ["RAW_URI"].endswith(f"/{MAIL}/Bildschirmfoto-%C3%A4-%E6%97%A5%E6%9C%AC.png")


def test_an_enterprise_server_is_asked_below_api_v3(github, httpserver):
    """GitHub Enterprise Server: the same operations below /api/v3 (its OpenAPI has them)."""
    files = files_of(httpserver, api_url=httpserver.url_for("/api/v3"))
    assert files.store(REPO, BRANCH, FILES, MESSAGE) == [SHOT, LOG]
    assert all(r.path.startswith("/api/v3/repos/") for r in requests_seen(httpserver))
    assert all(operation["enterprise_has_path"] for operation in OPERATIONS.values())


# --- Races and failures: never twice.


def test_a_branch_made_meanwhile_by_another_delivery_is_used(github, httpserver):
    """Both saw no branch; the other made it first: "Reference already exists" is fine, and the
    files go onto the other's branch (this delivery's orphan commit is left unreferenced)."""
    github.before_kinds["POST refs"] = [
        lambda: github.commit_files(REPO, BRANCH, {"README.md": b"theirs"}, "their branch")
    ]
    assert files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE) == [SHOT, LOG]
    assert github.history(REPO, BRANCH) == [MESSAGE, MESSAGE, "their branch"]
    assert github.branch_files(REPO, BRANCH)["README.md"] == b"theirs"


def test_a_file_uploaded_meanwhile_by_another_delivery_counts_as_present(github, httpserver):
    """Listed missing, then made by another delivery before this upload: GitHub refuses the
    upload (422, no sha), a second listing shows it, and it is not uploaded twice."""
    github.before_kinds["PUT contents"] = [
        lambda: github.commit_files(REPO, BRANCH, {SHOT: FILES[0][1]}, "the other delivery")
    ]
    assert files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE) == [LOG]
    assert github.history(REPO, BRANCH).count("the other delivery") == 1
    assert github.history(REPO, BRANCH).count(MESSAGE) == 1


def test_a_conflict_is_retried_as_github_asks(github, httpserver):
    """409: the branch moved under the upload; the same upload again stores it once."""
    github.fail_kinds["PUT contents"] = [409]
    sleeps = Sleeps()
    assert files_of(httpserver, sleeps).store(REPO, BRANCH, FILES, MESSAGE) == [SHOT, LOG]
    assert github.requests["PUT contents"] == 3
    assert len(sleeps.calls) == 1
    assert github.branch_files(REPO, BRANCH) == {"README.md": README.encode(), **dict(FILES)}


def test_a_conflict_that_persists_is_transient(github, httpserver):
    """409 at every attempt: the mail is failed for a retry, never its files listed."""
    github.fail_kinds["PUT contents"] = [409] * 4
    with pytest.raises(GitHubError) as raised:
        files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    assert raised.value.reason is Reason.ATTACHMENT_STORE_UNAVAILABLE
    assert raised.value.transient
    assert "409" in raised.value.detail
    assert "after 4 attempts" in raised.value.detail


def test_a_rule_refusing_an_upload_is_not_retried(github, httpserver):
    """409 from a repository rule (push protection found a secret in a log): permanent, so that
    the file is listed with GitHub's word instead of the mail being retried for ever."""
    github.fail_kinds["PUT contents"] = [(409, PUSH_PROTECTION)]
    with pytest.raises(GitHubError) as raised:
        files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    error = raised.value
    assert (error.reason, error.transient, error.status) == (Reason.GITHUB_REJECTED, False, 409)
    assert "push protection" in error.detail
    assert "Repository rule violations found" in error.detail
    assert github.requests["PUT contents"] == 1


def test_a_5xx_after_storing_never_stores_twice(github, httpserver):
    """GitHub made the file and answered 502: the retry is refused (422, it exists), a listing
    shows it, and it stays one file of one commit."""
    github.lost_kinds["PUT contents"] = [502]
    stored = files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    assert stored == [LOG]
    assert github.requests["PUT contents"] == 3
    assert github.history(REPO, BRANCH) == [MESSAGE, MESSAGE, README_MESSAGE]
    assert github.branch_files(REPO, BRANCH) == {"README.md": README.encode(), **dict(FILES)}


def test_an_upload_answered_after_the_client_gave_up_is_not_made_twice(github, httpserver):
    """GitHub made the file but answered after the timeout: the retry is refused (it exists),
    and the file stays one commit."""
    gave_up = threading.Event()
    github.held_kinds["PUT contents"] = [gave_up]
    files = files_of(httpserver, timeout=1.0, sleep=lambda seconds: gave_up.set())
    assert files.store(REPO, BRANCH, FILES[:1], MESSAGE) == []
    assert github.requests["PUT contents"] == 2
    assert github.history(REPO, BRANCH) == [MESSAGE, README_MESSAGE]


def test_a_5xx_that_persists_is_transient_and_the_next_attempt_lists_first(github, httpserver):
    """502 to every attempt at the second file: transient; the mail's retry lists the folder,
    finds the first file and uploads only the second, once."""
    github.before_kinds["PUT contents"] = [
        lambda: None,
        lambda: github.fail_kinds.update({"PUT contents": [502] * 4}),
    ]
    files = files_of(httpserver)
    with pytest.raises(GitHubError) as raised:
        files.store(REPO, BRANCH, FILES, MESSAGE)
    assert (raised.value.reason, raised.value.transient) == (Reason.GITHUB_UNAVAILABLE, True)
    assert set(github.branch_files(REPO, BRANCH)) == {"README.md", SHOT}
    assert files.store(REPO, BRANCH, FILES, MESSAGE) == [LOG]
    assert files.store(REPO, BRANCH, FILES, MESSAGE) == []
    assert github.history(REPO, BRANCH) == [MESSAGE, MESSAGE, README_MESSAGE]


def test_a_5xx_making_the_branch_is_retried_harmlessly(github, httpserver):
    """A lost answer to the ref's creation: the retry finds the ref made, and goes on."""
    github.lost_kinds["POST refs"] = [502]
    assert files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE) == [SHOT, LOG]
    assert github.requests["POST refs"] == 2
    assert github.history(REPO, BRANCH) == [MESSAGE, MESSAGE, README_MESSAGE]


def test_a_credential_without_contents_write_is_refused_for_good(github, httpserver):
    """403 to the upload: permanent (the files are listed), the detail naming the permission."""
    github.read_only_repos.add(REPO)
    with pytest.raises(GitHubError) as raised:
        files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    error = raised.value
    assert (error.reason, error.transient, error.status) == (Reason.GITHUB_FORBIDDEN, False, 403)
    assert "Contents: read and write" in error.detail
    assert "Resource not accessible by integration" in error.detail
    assert writes(github) == 1


def test_a_repository_the_credential_cannot_see_is_refused_for_good(github, httpserver):
    """404 (a companion repository the App is not installed on): permanent, same detail."""
    github.missing_repos.add(REPO)
    with pytest.raises(GitHubError) as raised:
        files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    error = raised.value
    assert (error.reason, error.transient, error.status) == (Reason.GITHUB_FORBIDDEN, False, 404)
    assert "Contents: read and write" in error.detail


def test_an_empty_repository_is_refused_with_what_to_do(github, httpserver):
    """GitHub's Git Data API cannot make a branch in a repository without commits (409)."""
    github.empty_repos.add(REPO)
    with pytest.raises(GitHubError) as raised:
        files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    assert raised.value.transient is False
    assert "give it a first commit" in raised.value.detail
    assert writes(github) == 0


def test_another_refusal_of_an_upload_is_permanent(github, httpserver):
    """A 422 for a path that is not there (too large, a name GitHub refuses): GitHub's word."""
    github.fail_kinds["PUT contents"] = [422]
    with pytest.raises(GitHubError) as raised:
        files_of(httpserver).store(REPO, BRANCH, FILES, MESSAGE)
    error = raised.value
    assert (error.reason, error.transient, error.status) == (Reason.VALIDATION_FAILED, False, 422)
    assert "injected 422" in error.detail


def test_a_rejected_token_is_transient_and_told(github, httpserver):
    """401: the credential is read again for the retry (on_unauthorized), as for a comment."""
    github.fail_kinds["GET ref"] = [401]
    told: list[bool] = []
    files = files_of(httpserver, on_unauthorized=lambda: told.append(True))
    with pytest.raises(GitHubError) as raised:
        files.store(REPO, BRANCH, FILES, MESSAGE)
    assert (raised.value.reason, raised.value.transient) == (Reason.GITHUB_AUTH_FAILED, True)
    assert told == [True]


# --- The credential's limit on content-creating requests.


def test_every_write_takes_a_turn_and_no_read_does(github, httpserver):
    """Trees, commits, refs and uploads are content-creating requests: one turn each."""
    limit = CountingLimit()
    files = files_of(httpserver, limit=limit)
    files.store(REPO, BRANCH, FILES, MESSAGE)
    files.delete(REPO, BRANCH, [SHOT], "removed")
    files.paths(REPO, BRANCH)
    files.visibility(REPO)
    # Branch: tree, commit, ref; two uploads; removal: tree, commit, ref.
    assert limit.turns == writes(github) == 8


def test_uploads_wait_their_turn_under_the_credential_limit(github, httpserver):
    """The minute's eighth allows 1 request per 7.5 s at 8 a minute: the writes are spread."""
    sleeps = Sleeps()
    limit = MemoryPostLimit(Limits(per_minute=8, per_hour=0))
    files_of(httpserver, sleeps, limit=limit, clock=lambda: 1_800_000_000.0).store(
        REPO, BRANCH, FILES, MESSAGE
    )
    # Five writes: four waits of 7.5 s.
    assert sleeps.calls == [pytest.approx(7.5)] * 4


def test_a_limit_that_does_not_fit_the_deadline_fails_before_any_write(github, httpserver):
    """No turn before the deadline: rate-limited at once, no upload made."""
    limit = MemoryPostLimit()
    limit.hold(1_800_000_000.0 + 600)
    files = files_of(
        httpserver,
        limit=limit,
        clock=lambda: 1_800_000_000.0,
        deadline=Deadline.within(30, clock=lambda: 0.0),
    )
    with pytest.raises(GitHubError) as raised:
        files.store(REPO, BRANCH, FILES, MESSAGE)
    assert (raised.value.reason, raised.value.transient) == (Reason.RATE_LIMITED, True)
    assert writes(github) == 0


def test_the_secondary_limit_is_waited_out_and_held_for_every_container(github, httpserver):
    """429 with retry-after to a write: the credential's hold, the wait, each write once."""
    github.limited_next.append(20)
    sleeps = Sleeps()
    limit = MemoryPostLimit()
    now = 1_800_000_000.0
    files_of(httpserver, sleeps, limit=limit, clock=lambda: now).store(REPO, BRANCH, FILES, MESSAGE)
    assert 20.0 in sleeps.calls
    assert limit.held_until() == now + 20
    assert github.branch_files(REPO, BRANCH) == {"README.md": README.encode(), **dict(FILES)}


# --- Visibility and paths.


def test_visibility_is_what_github_says(github, httpserver):
    """public, and private for a private repository."""
    github.private_repos.add("example-org/private")
    files = files_of(httpserver)
    assert files.visibility(REPO) == "public"
    assert files.visibility("example-org/private") == "private"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"private": True, "visibility": "internal"}, "internal"),
        ({"private": False}, "public"),
        ({"private": True}, "private"),
        ({}, "private"),
    ],
)
def test_visibility_without_the_field_is_read_from_private(httpserver, answer, expected):
    """An older Enterprise Server says only ``private``; saying neither is the narrowest."""
    httpserver.expect_request(f"/repos/{REPO}").respond_with_json(answer)
    assert files_of(httpserver).visibility(REPO) == expected


def test_visibility_of_a_repository_the_credential_cannot_see_is_refused(github, httpserver):
    """404: permanent, so that nothing is stored where the credential cannot look."""
    github.missing_repos.add(REPO)
    with pytest.raises(GitHubError) as raised:
        files_of(httpserver).visibility(REPO)
    assert (raised.value.reason, raised.value.transient) == (Reason.GITHUB_FORBIDDEN, False)


def test_paths_lists_every_file_of_the_branch(github, httpserver):
    """Every blob, the README too, sorted; [] without the branch."""
    files = files_of(httpserver)
    assert files.paths(REPO, BRANCH) == []
    files.store(REPO, BRANCH, FILES, MESSAGE)
    assert files.paths(REPO, BRANCH) == sorted([SHOT, LOG, "README.md"])


def test_a_truncated_listing_is_walked_folder_by_folder(github, httpserver):
    """Past GitHub's limit of a recursive listing, each folder is listed on its own."""
    many = {f"2026/12/{day:02}/{MAIL}/f{n}.txt": b"x" for day in range(1, 6) for n in range(3)}
    github.commit_files(REPO, BRANCH, many, "many")
    github.tree_limit = 4
    assert files_of(httpserver).paths(REPO, BRANCH) == sorted(many)
    assert github.requests["GET tree"] > 1


# --- Removal.


def test_delete_removes_the_paths_in_one_fast_forward_commit(github, httpserver):
    """One commit on the head, the others' files kept; paths already gone skipped."""
    files = files_of(httpserver)
    files.store(REPO, BRANCH, FILES, MESSAGE)
    other = f"2026/12/08/{'f' * 32}/other.txt"
    github.commit_files(REPO, BRANCH, {other: b"keep"}, "another mail")
    files.delete(REPO, BRANCH, [SHOT, LOG, f"2026/12/07/{MAIL}/gone.png"], "Remove mail files")
    assert github.branch_files(REPO, BRANCH) == {"README.md": README.encode(), other: b"keep"}
    history = github.history(REPO, BRANCH)
    assert history[:2] == ["Remove mail files", "another mail"]
    assert github.requests["PATCH ref"] == 1
    [patch] = [r for r in requests_seen(httpserver) if r.method == "PATCH"]
    assert patch.get_json()["force"] is False


def test_delete_of_nothing_present_commits_nothing(github, httpserver):
    """No branch, or none of the paths on it: no write at all."""
    files = files_of(httpserver)
    files.delete(REPO, BRANCH, [SHOT], "x")
    files.store(REPO, BRANCH, FILES[:1], MESSAGE)
    before = writes(github)
    files.delete(REPO, BRANCH, [LOG], "x")
    assert writes(github) == before


def test_delete_starts_again_when_another_commit_came_first(github, httpserver):
    """The branch moved between reading and the ref's update (not a fast-forward): read again;
    the other's commit kept, one removal commit on top."""
    files = files_of(httpserver)
    files.store(REPO, BRANCH, FILES, MESSAGE)
    late = f"2026/12/07/{'e' * 32}/late.txt"
    github.before_kinds["PATCH ref"] = [
        lambda: github.commit_files(REPO, BRANCH, {late: b"late"}, "late upload")
    ]
    files.delete(REPO, BRANCH, [SHOT, LOG], "Remove mail files")
    assert github.branch_files(REPO, BRANCH) == {"README.md": README.encode(), late: b"late"}
    assert github.history(REPO, BRANCH)[:2] == ["Remove mail files", "late upload"]
    assert github.requests["PATCH ref"] == 2


def test_delete_while_the_branch_keeps_moving_is_transient(github, httpserver):
    """Another commit before every update: given up after a bound, nothing removed."""
    files = files_of(httpserver)
    files.store(REPO, BRANCH, FILES, MESSAGE)

    def another(n: int) -> Callable[[], None]:
        return lambda: github.commit_files(REPO, BRANCH, {f"x/{n}": b"x"}, f"upload {n}")

    github.before_kinds["PATCH ref"] = [another(n) for n in range(4)]
    with pytest.raises(GitHubError) as raised:
        files.delete(REPO, BRANCH, [SHOT], "Remove mail files")
    assert (raised.value.reason, raised.value.transient) == (
        Reason.ATTACHMENT_STORE_UNAVAILABLE,
        True,
    )
    assert SHOT in github.branch_files(REPO, BRANCH)


def test_a_lost_answer_to_the_update_is_retried_harmlessly(github, httpserver):
    """GitHub moved the ref and answered 502: the same update again leaves it there."""
    files = files_of(httpserver)
    files.store(REPO, BRANCH, FILES, MESSAGE)
    github.lost_kinds["PATCH ref"] = [502]
    files.delete(REPO, BRANCH, [SHOT], "Remove mail files")
    assert github.requests["PATCH ref"] == 2
    assert github.history(REPO, BRANCH).count("Remove mail files") == 1
    assert SHOT not in github.branch_files(REPO, BRANCH)


# --- The requests and answers match GitHub's OpenAPI description.


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


def operation_of(request: Request) -> tuple[str, dict[str, str]]:
    """The documented operation a request is, and its path parameters."""
    matches = []
    for name, operation in OPERATIONS.items():
        template = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", operation["path"])
        # GitHub's ref and path parameters span slashes ("heads/a/b", "2026/12/07/x.png").
        template = template.replace("(?P<ref>[^/]+)", "(?P<ref>.+)")
        template = template.replace("(?P<path>[^/]+)", "(?P<path>.+)")
        found = re.fullmatch(template, request.path)
        if found and operation["method"] == request.method.lower():
            matches.append((name, found.groupdict()))
    assert len(matches) == 1, (request.method, request.path, matches)
    return matches[0]


def test_every_request_is_a_documented_operation_with_a_valid_body(github, httpserver):
    """Visibility, a first store, a replay, listing and removal: each request is one of the
    extracted operations, its path and query parameters declared, its body valid."""
    files = files_of(httpserver)
    files.visibility(REPO)
    files.store(REPO, "mail/files", FILES, MESSAGE)
    files.store(REPO, "mail/files", FILES, MESSAGE)
    files.paths(REPO, "mail/files")
    files.delete(REPO, "mail/files", [SHOT], "removed")
    seen = set()
    for request in requests_seen(httpserver):
        name, parameters = operation_of(request)
        seen.add(name)
        operation = OPERATIONS[name]
        declared = {p["name"]: p["in"] for p in operation["parameters"]}
        assert dict.fromkeys(parameters, "path") | dict.fromkeys(request.args, "query") == {
            key: declared[key] for key in (*parameters, *request.args)
        }
        if "ref" in parameters:
            assert parameters["ref"] == "heads/mail/files"
        if "requestBody" in operation:
            body = request.get_json()
            schema = nullable_to_json_schema(operation["requestBody"])
            Draft202012Validator(schema).validate(body)
            # Documented keys only: the schemas allow unknown ones.
            assert set(body) <= set(operation["requestBody"]["properties"])
        else:
            assert not request.get_data()
    assert seen == set(OPERATIONS)


def test_the_answers_served_are_documented(github, httpserver):
    """The loopback GitHub's successful answers, and GitHub's own examples, are valid against
    the part of each response schema the adapter reads."""
    for operation in OPERATIONS.values():
        success = operation["success"]
        validator = Draft202012Validator(nullable_to_json_schema(success["schema"]))
        validator.validate(success["example"])
    files = files_of(httpserver)
    files.visibility(REPO)
    files.store(REPO, BRANCH, FILES, MESSAGE)
    files.delete(REPO, BRANCH, [SHOT], "removed")
    for request, response in httpserver.log:
        name, _ = operation_of(request)
        success = OPERATIONS[name]["success"]
        if str(response.status_code) == success["status"]:
            validator = Draft202012Validator(nullable_to_json_schema(success["schema"]))
            validator.validate(response.get_json())


def test_the_statuses_read_are_documented_or_documented_for_the_whole_api():
    """Each status the adapter tells apart is in the operation's responses, except those GitHub
    documents once for the whole REST API (401; 403 and 429 rate limits; 403 "Resource not
    accessible by integration" to a credential without the permission; 5xx; redirects) and 409
    for an empty repository (github/docs#31951, github/rest-api-description#637)."""
    responses = {name: set(operation["responses"]) for name, operation in OPERATIONS.items()}
    assert {"404"} <= responses["git-get-ref"]
    assert {"201", "422"} <= responses["git-create-ref"]
    assert {"200", "422"} <= responses["git-update-ref"]
    assert {"201", "404", "409", "422"} <= responses["repos-create-or-update-file-contents"]
    assert {"200", "404"} <= responses["repos-get-content"]
    assert {"200", "403", "404"} <= responses["repos-get"]
    assert OPERATIONS["repos-create-or-update-file-contents"]["requestBody"]["required"] == [
        "message",
        "content",
    ]


def test_the_loopback_github_names_blobs_as_git_does():
    """Its blob names are Git's, as GitHub's are: the empty blob's is well known."""
    assert blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
