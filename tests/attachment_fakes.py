"""In-memory stand-ins for the places files are stored (handler.attachments.stores), each call
logged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handler.attachments.stores import Visibility
from handler.reasons import TicketRouterError

BRANCH = "ticket-router-attachments"


class FakeRepositoryFiles:
    """Branches of repositories as path -> content, each call logged; a repository in ``fail``
    answers every call with its error."""

    def __init__(self, visible: dict[str, Visibility] | None = None) -> None:
        self.branches: dict[tuple[str, str], dict[str, bytes]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.commits: list[tuple[str, str, tuple[str, ...], str]] = []
        self.fail: dict[str, TicketRouterError] = {}
        # Who can read each repository; those not named are private.
        self.visible = visible or {}
        self.asked: list[str] = []
        self.stored: list[tuple[str, str, list[tuple[str, bytes]], str]] = []

    def put(self, repo: str, branch: str, *paths: str) -> None:
        self.branches.setdefault((repo.lower(), branch), {}).update(dict.fromkeys(paths, b"x"))

    def files(self, repo: str, branch: str = BRANCH) -> list[str]:
        return sorted(self.branches.get((repo.lower(), branch), {}))

    def _call(self, kind: str, repo: str, branch: str) -> dict[str, bytes]:
        self.calls.append((kind, repo, branch))
        if repo in self.fail:
            raise self.fail[repo]
        return self.branches.get((repo.lower(), branch), {})

    def visibility(self, repo: str) -> Visibility:
        self.asked.append(repo)
        return self.visible.get(repo, "private")

    def store(
        self, repo: str, branch: str, files: Sequence[tuple[str, bytes]], message: str
    ) -> list[str]:
        branch_files = self._call("store", repo, branch)
        self.stored.append((repo, branch, list(files), message))
        self.branches[(repo.lower(), branch)] = {**branch_files, **dict(files)}
        return [path for path, _ in files]

    def paths(self, repo: str, branch: str) -> list[str]:
        return sorted(self._call("paths", repo, branch))

    def delete(self, repo: str, branch: str, paths: Sequence[str], message: str) -> None:
        files = self._call("delete", repo, branch)
        self.commits.append((repo, branch, tuple(paths), message))
        for path in paths:
            files.pop(path, None)


class FakeBucketFiles:
    """The attachments bucket as key -> content, each call logged."""

    def __init__(self, *keys: str) -> None:
        self.objects = dict.fromkeys(keys, b"x")
        self.calls: list[tuple[str, Any]] = []
        self.error: TicketRouterError | None = None
        # How each object was written: type, name, inline, retention.
        self.written: dict[str, tuple[str, str, bool, int | None]] = {}

    def store(
        self,
        key: str,
        content: bytes,
        *,
        content_type: str,
        filename: str,
        inline: bool,
        retention_days: int | None,
    ) -> bool:
        self.calls.append(("store", key))
        if self.error is not None:
            raise self.error
        self.objects[key] = content
        self.written[key] = (content_type, filename, inline, retention_days)
        return True

    def keys(self, prefix: str) -> list[str]:
        self.calls.append(("keys", prefix))
        if self.error is not None:
            raise self.error
        return sorted(key for key in self.objects if key.startswith(prefix))

    def delete(self, keys: Sequence[str]) -> None:
        self.calls.append(("delete", tuple(keys)))
        for key in keys:
            self.objects.pop(key, None)
