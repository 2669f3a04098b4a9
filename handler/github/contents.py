"""A mail's files committed to a branch of a GitHub repository (the RepositoryFiles of
handler.attachments.stores), through the GitHub client: its session, token, deadline, retries
and the credential's limit on content-creating requests, which every upload, tree, commit and
ref change takes a turn under.

Nothing is stored twice: a path is listed before it is uploaded, and the Contents API refuses
(422) to create a path that exists without its blob's sha, which is never sent. A branch is made
as an orphan with a README; files are removed in one commit that fast-forwards the branch.

https://docs.github.com/en/rest/repos/contents#create-or-update-file-contents
https://docs.github.com/en/rest/git/trees
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from handler.attachments.stores import Visibility
from handler.github.errors import GitHubError, error_message, json_object
from handler.reasons import Reason

if TYPE_CHECKING:
    import requests

    from handler.github.client import GitHubClient

# What a branch made here holds before its first file: it says what the branch is.
README = """\
# Mail attachments

This branch holds the files of mails that ticket-router posted to this repository's issues
(or to the issues of a repository that stores its files here). Each is at
`YYYY/MM/DD/<mail key>/<name>`, the day the mail was received, and a comment links it.

The branch shares no history with the others and is never merged. A file removed here is gone
from the comment that shows it; `ticket-router attachments remove <mail>` removes a mail's files
in one commit. The files stay in the branch's history after that: to purge them, rewrite the
branch and ask GitHub Support to remove cached views.
"""
README_MESSAGE = "ticket-router: a branch for mail attachments"
# Rounds of delete's read, commit and fast-forward while other commits keep moving the branch.
_MOVES = 4
_CONTENTS_WRITE = (
    "it needs Contents: read and write on the repository (a GitHub App installed there, a "
    "fine-grained token granted it; a classic token the repo scope)"
)


class GitHubFiles:
    """Files on branches of the repositories a GitHub client's credential may write."""

    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def visibility(self, repo: str) -> Visibility:
        """GitHub's ``visibility`` of ``repo``; from ``private`` where an older Enterprise
        Server does not say, and private when neither is there (the narrowest).

        https://docs.github.com/en/rest/repos/repos#get-a-repository
        """
        target = f"the repository {repo}"
        response = self._client.exchange("GET", repo, "", target)
        if response.status_code != 200:
            raise _refused(response, repo, target)
        payload = json_object(response)
        visibility = payload.get("visibility")
        if visibility == "public":
            return "public"
        if visibility == "internal":
            return "internal"
        if visibility is None and payload.get("private") is False:
            return "public"
        return "private"

    def store(
        self, repo: str, branch: str, files: Sequence[tuple[str, bytes]], message: str
    ) -> list[str]:
        """Commit each (path, content) not on ``branch`` yet, one commit per file (the Contents
        API's), the branch made first when missing; the paths uploaded by this call, in order.

        A path already there (another delivery's, or an upload of this call whose answer was
        lost: its retry is refused with 422) is not uploaded again, nor counted.
        """
        if not files:
            return []
        if self._head(repo, branch) is None:
            self._make_branch(repo, branch)
        listed: dict[str, set[str]] = {}
        uploaded: list[str] = []
        for path, content in files:
            folder = _folder(path)
            if folder not in listed:
                listed[folder] = self._listed(repo, branch, folder)
            if path in listed[folder]:
                continue
            if self._upload(repo, branch, path, content, message):
                uploaded.append(path)
            listed[folder].add(path)
        return uploaded

    def paths(self, repo: str, branch: str) -> list[str]:
        """Every file path on ``branch``, sorted; [] when the branch does not exist."""
        head = self._head(repo, branch)
        if head is None:
            return []
        return self._files(repo, self._tree_of(repo, head))

    def delete(self, repo: str, branch: str, paths: Sequence[str], message: str) -> None:
        """Remove ``paths`` from ``branch`` in one commit on its head, the ref moved only as a
        fast-forward; when another commit moved the branch meanwhile, read and try again. Paths
        already gone are skipped (GitHub refuses a tree deleting a missing path); none left, no
        commit."""
        for _ in range(_MOVES):
            head = self._head(repo, branch)
            if head is None:
                return
            tree = self._tree_of(repo, head)
            present = set(self._files(repo, tree))
            gone = [path for path in dict.fromkeys(paths) if path in present]
            if not gone:
                return
            entries = [{"path": p, "mode": "100644", "type": "blob", "sha": None} for p in gone]
            what = f"{len(gone)} file{'s' if len(gone) != 1 else ''} removed from {branch}"
            trimmed = self._created(
                repo, "/git/trees", f"the tree of {what}", {"base_tree": tree, "tree": entries}
            )
            commit = self._created(
                repo,
                "/git/commits",
                f"the commit of {what}",
                {"message": message, "tree": trimmed, "parents": [head]},
            )
            if self._fast_forward(repo, branch, commit):
                return
        raise GitHubError(
            Reason.ATTACHMENT_STORE_UNAVAILABLE,
            f"{branch} of {repo} kept moving while files were removed from it ({_MOVES} "
            "attempts); nothing removed",
            transient=True,
        )

    def _head(self, repo: str, branch: str) -> str | None:
        """The commit ``branch`` points at; None when there is no such branch.

        https://docs.github.com/en/rest/git/refs#get-a-reference
        """
        target = f"the branch {branch} of {repo}"
        response = self._client.exchange("GET", repo, f"/git/ref/heads/{_segments(branch)}", target)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _refused(response, repo, target)
        return _sha(response, "object", target)

    def _make_branch(self, repo: str, branch: str) -> None:
        """``branch`` as an orphan: a root commit of the README alone. Made meanwhile by another
        delivery (GitHub: 422 "Reference already exists") is as good.

        https://docs.github.com/en/rest/git/refs#create-a-reference
        """
        readme = [{"path": "README.md", "mode": "100644", "type": "blob", "content": README}]
        tree = self._created(repo, "/git/trees", f"the first tree of {branch}", {"tree": readme})
        commit = self._created(
            repo,
            "/git/commits",
            f"the first commit of {branch}",
            {"message": README_MESSAGE, "tree": tree, "parents": []},
        )
        target = f"the branch {branch} of {repo}"
        payload = {"ref": f"refs/heads/{branch}", "sha": commit}
        response = self._client.exchange("POST", repo, "/git/refs", target, payload=payload)
        if response.status_code == 201:
            return
        if response.status_code == 422 and self._head(repo, branch) is not None:
            return
        raise _refused(response, repo, target)

    def _created(self, repo: str, path: str, target: str, payload: Mapping[str, object]) -> str:
        """POST a Git object (a tree, a commit): its sha. Repeating one is harmless: an object
        nothing points at is never seen."""
        response = self._client.exchange("POST", repo, path, target, payload=payload)
        if response.status_code != 201:
            raise _refused(response, repo, target)
        return _sha(response, None, target)

    def _fast_forward(self, repo: str, branch: str, commit: str) -> bool:
        """Move ``branch`` to ``commit`` unless that is not a fast-forward (another commit came
        first): False then. A retried PATCH whose first was applied moves it nowhere: fine.

        https://docs.github.com/en/rest/git/refs#update-a-reference
        """
        target = f"the branch {branch} of {repo}"
        response = self._client.exchange(
            "PATCH",
            repo,
            f"/git/refs/heads/{_segments(branch)}",
            target,
            payload={"sha": commit, "force": False},
        )
        if response.status_code == 200:
            return True
        if response.status_code == 422 and "fast forward" in error_message(response).lower():
            return False
        raise _refused(response, repo, target)

    def _tree_of(self, repo: str, commit: str) -> str:
        """The tree of ``commit``.

        https://docs.github.com/en/rest/git/commits#get-a-commit-object
        """
        target = f"the commit {commit} of {repo}"
        response = self._client.exchange("GET", repo, f"/git/commits/{commit}", target)
        if response.status_code != 200:
            raise _refused(response, repo, target)
        return _sha(response, "tree", target)

    def _files(self, repo: str, tree: str) -> list[str]:
        """Every blob's path under ``tree``, sorted: one recursive listing, or, when GitHub
        truncates it (over 100,000 entries or 7 MB), one listing per folder.

        https://docs.github.com/en/rest/git/trees#get-a-tree
        """
        listing = self._tree(repo, tree, recursive=True)
        if listing.get("truncated") is not True:
            return sorted(_blobs(listing, ""))
        found: list[str] = []
        folders = [("", tree)]
        while folders:
            prefix, sha = folders.pop()
            listing = self._tree(repo, sha, recursive=False)
            found += _blobs(listing, prefix)
            for entry in _entries(listing):
                if entry.get("type") == "tree" and isinstance(entry.get("sha"), str):
                    folders.append((f"{prefix}{entry.get('path')}/", entry["sha"]))
        return sorted(found)

    def _tree(self, repo: str, sha: str, *, recursive: bool) -> Mapping[str, Any]:
        target = f"the tree {sha} of {repo}"
        query = {"recursive": "1"} if recursive else None
        response = self._client.exchange("GET", repo, f"/git/trees/{sha}", target, query=query)
        if response.status_code != 200:
            raise _refused(response, repo, target)
        return json_object(response)

    def _listed(self, repo: str, branch: str, folder: str) -> set[str]:
        """The paths of the files in ``folder`` on ``branch``; none when it does not exist.
        GitHub lists up to 1,000 entries of a folder: a mail's folder holds max_files at most.

        https://docs.github.com/en/rest/repos/contents#get-repository-content
        """
        target = f"the folder {folder or '/'} on {branch} of {repo}"
        path = f"/contents/{_segments(folder)}" if folder else "/contents"
        response = self._client.exchange("GET", repo, path, target, query={"ref": branch})
        if response.status_code == 404:
            return set()
        if response.status_code != 200:
            raise _refused(response, repo, target)
        try:
            entries = response.json()
        except ValueError:
            entries = None
        if not isinstance(entries, list):
            return set()
        return {
            entry["path"]
            for entry in entries
            if isinstance(entry, Mapping)
            and entry.get("type") == "file"
            and isinstance(entry.get("path"), str)
        }

    def _upload(self, repo: str, branch: str, path: str, content: bytes, message: str) -> bool:
        """PUT ``path``: True when this request made it, False when it was there already."""
        target = f"the file {path} on {branch} of {repo}"
        payload = {
            "message": message,
            "content": base64.b64encode(content).decode("ascii"),
            "branch": branch,
        }
        response = self._client.exchange(
            "PUT", repo, f"/contents/{_segments(path)}", target, payload=payload, again=_moved
        )
        if response.status_code in {200, 201}:
            return True
        # GitHub: 422 'Invalid request. "sha" wasn't supplied.' for a path that exists; the same
        # status for other refusals, told apart by looking.
        if response.status_code == 422 and path in self._listed(repo, branch, _folder(path)):
            return False
        raise _refused(response, repo, target)


def _refused(response: requests.Response, repo: str, target: str) -> GitHubError:
    """The error for an answer about ``target`` that no retry changes; permanent, so that the
    mail's files are listed with it as the reason they were not linked."""
    status = response.status_code
    message = error_message(response)
    said = f": {message}" if message else ""
    if status in {403, 404}:
        # GitHub answers 404 for a repository the credential cannot see, and 403 ("Resource not
        # accessible by integration") when it can see it but not write.
        detail = (
            f"the credential cannot write files to {repo} ({_CONTENTS_WRITE}): GitHub answered "
            f"{status} for {target}{said}"
        )
        return GitHubError(Reason.GITHUB_FORBIDDEN, detail, transient=False, status=status)
    if status == 409 and _ruled(response):
        detail = (
            f"GitHub's rules for {repo} refused {target} (a repository ruleset, or push "
            f"protection finding a secret in the file){said}"
        )
        return GitHubError(Reason.GITHUB_REJECTED, detail, transient=False, status=status)
    if status == 409 and "empty" in message.lower():
        detail = (
            f"{repo} has no commits yet, and GitHub's Git Data API cannot make a branch in an "
            f"empty repository: give it a first commit (a README){said}"
        )
        return GitHubError(Reason.GITHUB_REJECTED, detail, transient=False, status=status)
    if status == 422:
        detail = f"GitHub refused {target}{said}"
        return GitHubError(Reason.VALIDATION_FAILED, detail, transient=False, status=status)
    detail = f"GitHub answered {status} for {target}{said}"
    return GitHubError(Reason.GITHUB_REJECTED, detail, transient=False, status=status)


def _moved(response: requests.Response) -> bool:
    """A 409 to an upload: the branch moved under it, and the same upload again is what GitHub
    asks; unless a rule refused it, which no retry changes."""
    return response.status_code == 409 and not _ruled(response)


def _ruled(response: requests.Response) -> bool:
    """A repository rule's refusal: GitHub's "Repository rule violations found", with
    ``metadata`` when push protection found a secret (a log file's token, say)."""
    return "metadata" in json_object(response) or "rule" in error_message(response).lower()


def _sha(response: requests.Response, within: str | None, target: str) -> str:
    """The ``sha`` of the answer's object (or of its ``within`` object): a 2xx without one is
    GitHub failing, for now."""
    payload: object = json_object(response)
    if within is not None and isinstance(payload, Mapping):
        payload = payload.get(within)
    sha = payload.get("sha") if isinstance(payload, Mapping) else None
    if not isinstance(sha, str) or not sha:
        raise GitHubError(
            Reason.GITHUB_UNAVAILABLE,
            f"GitHub answered {response.status_code} for {target} without a sha",
            status=response.status_code,
        )
    return sha


def _entries(listing: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tree = listing.get("tree")
    return [e for e in tree if isinstance(e, Mapping)] if isinstance(tree, list) else []


def _blobs(listing: Mapping[str, Any], prefix: str) -> list[str]:
    return [
        prefix + entry["path"]
        for entry in _entries(listing)
        if entry.get("type") == "blob" and isinstance(entry.get("path"), str)
    ]


def _folder(path: str) -> str:
    return path.rpartition("/")[0]


def _segments(path: str) -> str:
    """A path or branch name in a URL: each segment percent-encoded, the slashes kept."""
    return quote(path, safe="/")
