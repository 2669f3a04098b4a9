"""A mail's files stored where the issue's readers can open them, before its comment is posted:
never where more people could read them than can read the issue (docs/attachments.md)."""

from __future__ import annotations

from collections.abc import Sequence

from handler.attachments.model import FileReason, GitHubPlace, ListedFile, S3Place, StoredFile
from handler.attachments.stores import BucketFiles, Stores, Visibility
from handler.reasons import TicketRouterError
from handler.routing import Route

# Who can read a repository, from the fewest people to the most.
_REACH: dict[Visibility, int] = {"private": 0, "internal": 1, "public": 2}


def store_files(
    files: Sequence[StoredFile], route: Route, repo: str, stores: Stores, *, what: str
) -> dict[int, ListedFile]:
    """Store ``files`` for a mail posted to ``repo`` through ``route``; the ones that cannot be
    stored for good come back listed, with why, by their index. ``what`` names the mail in the
    commit message ("mail 3f2a… for owner/repo#7").

    A failure that may pass (GitHub or S3 down, rate limited) raises: the mail is tried again
    later, and what was stored meanwhile is found then, not stored twice.
    """
    if not files:
        return {}
    try:
        refused = _wider_access(files, repo, stores)
        if refused is not None:
            return _listed(files, FileReason.WIDER_ACCESS, refused)
        if isinstance(files[0].place, S3Place):
            if stores.bucket is None:
                detail = "the deployment has no attachments bucket (ATTACHMENTS_BUCKET is unset)"
                return _listed(files, FileReason.NO_STORAGE, detail)
            _in_bucket(files, route, stores.bucket)
        else:
            _in_repository(files, stores, what)
    except TicketRouterError as error:
        if error.transient:
            raise
        return _listed(files, FileReason.NOT_STORED, error.detail)
    return {}


def _wider_access(files: Sequence[StoredFile], repo: str, stores: Stores) -> str | None:
    """Why storing ``files`` would let more people read them than can read ``repo``, or None.

    A bucket serves anyone with the link: only a public repository's files go there. A companion
    repository must be no more visible than the issue's own.
    """
    place = files[0].place
    if isinstance(place, GitHubPlace) and place.repo.lower() == repo.lower():
        return None
    issue = stores.repository.visibility(repo)
    if isinstance(place, S3Place):
        if issue == "public":
            return None
        return (
            f"{repo} is {issue}, and the attachments bucket serves anyone who has a link: "
            "files of a non-public repository are stored on GitHub (storage: github)"
        )
    there = stores.repository.visibility(place.repo)
    if _REACH[there] <= _REACH[issue]:
        return None
    return f"{place.repo}, where the route stores files, is {there}; {repo} is {issue}"


def _in_bucket(files: Sequence[StoredFile], route: Route, bucket: BucketFiles) -> None:
    for file in files:
        if not isinstance(file.place, S3Place):
            continue
        bucket.store(
            file.place.key,
            file.content,
            content_type=file.content_type,
            filename=file.name,
            inline=file.inline,
            retention_days=route.attachments.retention_days,
        )


def _in_repository(files: Sequence[StoredFile], stores: Stores, what: str) -> None:
    by_place: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for file in files:
        place = file.place
        if isinstance(place, GitHubPlace):
            by_place.setdefault((place.repo, place.branch), []).append((place.path, file.content))
    for (repo, branch), contents in by_place.items():
        stores.repository.store(repo, branch, contents, f"Attachments of {what}")


def _listed(files: Sequence[StoredFile], reason: FileReason, detail: str) -> dict[int, ListedFile]:
    return {file.index: ListedFile(file.index, reason, detail) for file in files}
