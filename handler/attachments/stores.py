"""What the service asks of the places files are stored in; the adapters implement these.
Every failure is a TicketRouterError: transient ones fail the mail for a retry, permanent ones
list the files with the store's reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

Visibility = Literal["public", "private", "internal"]


class RepositoryFiles(Protocol):
    """Files committed to a branch of a GitHub repository (handler.github.contents)."""

    def visibility(self, repo: str) -> Visibility:
        """Who can read ``repo``: GitHub's ``visibility`` of the repository."""
        ...

    def store(
        self, repo: str, branch: str, files: Sequence[tuple[str, bytes]], message: str
    ) -> list[str]:
        """Commit each (path, content) not on ``branch`` yet, the branch made (an orphan with a
        README) when missing; the paths committed by this call, in order."""
        ...

    def paths(self, repo: str, branch: str) -> list[str]:
        """Every file path on ``branch``; [] when the branch does not exist."""
        ...

    def delete(self, repo: str, branch: str, paths: Sequence[str], message: str) -> None:
        """Remove ``paths`` from ``branch`` in one commit (those already gone are skipped)."""
        ...


class BucketFiles(Protocol):
    """Objects of the deployment's attachments bucket (handler.aws.attachment_store)."""

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
        """Write the object unless ``key`` exists; True when written by this call."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix``."""
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Delete ``keys`` (every version)."""
        ...


class Stores:
    """The places a route's files may go: its GitHub credential's repositories, made on first
    use (a mail without files to store costs no login), and the deployment's bucket, if any."""

    def __init__(
        self, repository: Callable[[], RepositoryFiles], bucket: BucketFiles | None
    ) -> None:
        self._repository = repository
        self._made: RepositoryFiles | None = None
        self.bucket = bucket

    @property
    def repository(self) -> RepositoryFiles:
        if self._made is None:
            self._made = self._repository()
        return self._made
