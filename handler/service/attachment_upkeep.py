"""Removing a mail's stored files (``ticket-router attachments remove``) and the daily sweep of
files past their route's retention (the schedule, ``ticket-router attachments sweep``), over the
stores' protocols (handler.attachments.stores). Each place is handled once, whatever the number
of routes storing there; one place failing never stops the others, and every outcome is a value.

Where files are: GitHub storage ``YYYY/MM/DD/<mail>/<name>`` (``undated/<mail>/<name>`` when
SES's receipt time is unknown) on the route's branch of its repository or companion; S3
``<mail>/<token>/<name>``. S3's retention is the bucket's lifecycle rule, not the sweep's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from handler.attachments.layout import s3_prefix, stored_path, web_host
from handler.attachments.model import Deployment, GitHubPlace, Place, S3Place
from handler.attachments.stores import Stores
from handler.reasons import Reason, RetryLater, TicketRouterError
from handler.routing import Route, Routes

logger = logging.getLogger("ticket_router")

# handler.inbound.identity.mail_key: 32 hex digits. Anything else could widen a prefix.
MAIL_KEY = re.compile(r"[0-9a-f]{32}")

# The places of a route's files, made for it (its credential, the deployment's bucket).
RouteStores = Callable[[Route], Stores]


@dataclass(frozen=True)
class Removed:
    """A stored file deleted, and where it was."""

    place: Place

    @property
    def where(self) -> str:
        """``owner/name branch:path`` or ``s3:key``, as the CLI and the logs say it."""
        if isinstance(self.place, GitHubPlace):
            return f"{self.place.repo} {self.place.branch}:{self.place.path}"
        return f"s3:{self.place.key}"

    @property
    def url(self) -> str | None:
        """The address the comment linked it at; None for an object of a bucket served nowhere
        known (no ATTACHMENTS_URL)."""
        if isinstance(self.place, S3Place) and not self.place.base:
            return None
        return self.place.url


@dataclass(frozen=True)
class Failed:
    """A place whose files could not be listed or deleted: nothing of it was removed."""

    # ``owner/name branch`` or ``the attachments bucket``.
    where: str
    reason: Reason
    detail: str
    transient: bool


@dataclass(frozen=True)
class Upkeep:
    """What a removal or a sweep did: the files removed, the places that failed, and every
    place looked in (how the CLI says that nothing was stored)."""

    removed: tuple[Removed, ...] = ()
    failed: tuple[Failed, ...] = ()
    searched: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Branch:
    """A branch files are committed to: one place for every route storing there."""

    api_url: str | None
    repo: str
    branch: str

    @property
    def where(self) -> str:
        return f"{self.repo} {self.branch}"


def remove(
    mail: str,
    repos: Sequence[str],
    routes: Routes,
    stores: RouteStores,
    *,
    deployment: Deployment,
) -> Upkeep:
    """Delete every stored file of the mail ``mail`` (its key) that the linking routes posting
    to ``repos`` may have stored: its paths on their branches, one commit per branch, and its
    objects in the bucket. Raises ValueError for a ``mail`` that is not a mail key."""
    if not MAIL_KEY.fullmatch(mail):
        raise ValueError(f"{mail!r} is not a mail key (32 hexadecimal digits)")
    wanted = {repo.lower() for repo in repos}
    linking = [
        route
        for route in routes.routes
        if route.attachments.mode == "link" and route.repo.lower() in wanted
    ]
    removed: list[Removed] = []
    failed: list[Failed] = []
    searched: list[str] = []
    for place, sharing in _branches(linking):
        searched.append(place.where)
        try:
            files = stores(sharing[0]).repository
            found = [
                path
                for path in files.paths(place.repo, place.branch)
                if (stored := stored_path(path)) is not None and stored.mail == mail
            ]
            if found:
                files.delete(place.repo, place.branch, found, f"Remove the files of mail {mail}")
        except TicketRouterError as error:
            failed.append(_failure(place.where, error))
            continue
        web = web_host(place.api_url, deployment.github_web)
        removed += [Removed(GitHubPlace(web, place.repo, place.branch, path)) for path in found]
    in_bucket = next((route for route in linking if route.attachments.storage == "s3"), None)
    if in_bucket is not None:
        where = "the attachments bucket"
        searched.append(where)
        try:
            keys = _bucket_keys(stores(in_bucket), mail, in_bucket)
        except TicketRouterError as error:
            failed.append(_failure(where, error))
        else:
            removed += [Removed(S3Place(deployment.s3_base, key)) for key in keys]
    return Upkeep(tuple(removed), tuple(failed), tuple(searched))


def sweep(routes: Routes, stores: RouteStores, now: float, *, deployment: Deployment) -> Upkeep:
    """Delete, on each branch a route with ``retention_days`` commits to, the files of the days
    more than that many days before ``now`` (UTC), one commit per branch. Routes sharing a
    branch: the longest retention wins, and one keeping its files as long as the issue keeps
    the branch whole. Undated files are kept: only removing their mail deletes them."""
    today = datetime.fromtimestamp(now, UTC).date()
    linking = [route for route in routes.routes if route.attachments.mode == "link"]
    removed: list[Removed] = []
    failed: list[Failed] = []
    searched: list[str] = []
    for place, sharing in _branches(linking):
        kept = [route.attachments.retention_days for route in sharing]
        if None in kept:
            continue
        days = max(days for days in kept if days is not None)
        searched.append(place.where)
        oldest_kept = today - timedelta(days=days)
        try:
            files = stores(sharing[0]).repository
            expired = [
                path
                for path in files.paths(place.repo, place.branch)
                if (stored := stored_path(path)) is not None
                and stored.day is not None
                and stored.day < oldest_kept
            ]
            if expired:
                age = "1 day" if days == 1 else f"{days} days"
                message = f"Remove the files stored more than {age} ago"
                files.delete(place.repo, place.branch, expired, message)
        except TicketRouterError as error:
            failed.append(_failure(place.where, error))
            continue
        web = web_host(place.api_url, deployment.github_web)
        removed += [Removed(GitHubPlace(web, place.repo, place.branch, path)) for path in expired]
    return Upkeep(tuple(removed), tuple(failed), tuple(searched))


def is_schedule(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` is EventBridge's Scheduled Event (the daily rule Terraform makes).

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
    """
    return event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event"


def scheduled_sweep(
    routes: Routes, stores: RouteStores, now: float, *, deployment: Deployment
) -> dict[str, Any]:
    """The schedule's invocation: the sweep, each removal and failure logged. Raises RetryLater
    (Lambda tries the event again) only when every branch swept failed for now: a branch that
    failed beside others is swept again tomorrow."""
    done = sweep(routes, stores, now, deployment=deployment)
    for file in done.removed:
        _log(logging.INFO, "attachment removed", {"action": "sweep", **_fields(file)})
    for failure in done.failed:
        _log(
            logging.ERROR,
            "attachment sweep failed",
            {
                "action": "sweep",
                "place": failure.where,
                "reason": failure.reason,
                "detail": failure.detail,
                "retryable": failure.transient,
            },
        )
    outcome = {
        "removed": len(done.removed),
        "failed": len(done.failed),
        "swept": len(done.searched),
    }
    _log(logging.INFO, "attachment sweep", outcome)
    failed_for_now = all(failure.transient for failure in done.failed)
    if done.failed and len(done.failed) == len(done.searched) and failed_for_now:
        raise RetryLater(
            "will be retried: "
            + "; ".join(f"{failure.where}: {failure.reason}" for failure in done.failed)
        )
    return outcome


def _branches(routes: Iterable[Route]) -> list[tuple[_Branch, list[Route]]]:
    """The branches the GitHub-storing ``routes`` commit to, each with its routes, in order."""
    found: dict[tuple[str | None, str, str], tuple[_Branch, list[Route]]] = {}
    for route in routes:
        settings = route.attachments
        if settings.storage != "github":
            continue
        repo = settings.repository or route.repo
        api_url = route.api_url.rstrip("/") if route.api_url else None
        # GitHub's names are case-insensitive: Org/Repo and org/repo are one repository.
        key = (api_url, repo.lower(), settings.branch)
        found.setdefault(key, (_Branch(api_url, repo, settings.branch), []))[1].append(route)
    return list(found.values())


def _bucket_keys(stores: Stores, mail: str, route: Route) -> list[str]:
    """Delete the objects of ``mail`` from the bucket; the keys deleted."""
    bucket = stores.bucket
    if bucket is None:
        raise TicketRouterError(
            Reason.ATTACHMENT_STORE_UNAVAILABLE,
            f"{route.label} stores files in S3 and no attachments bucket is given "
            "(ATTACHMENTS_BUCKET)",
            transient=False,
        )
    keys = bucket.keys(s3_prefix(mail))
    if keys:
        bucket.delete(keys)
    return keys


def _failure(where: str, error: TicketRouterError) -> Failed:
    return Failed(where, error.reason, error.detail, error.transient)


def _fields(file: Removed) -> dict[str, Any]:
    place = file.place
    if isinstance(place, GitHubPlace):
        return {"repo": place.repo, "branch": place.branch, "path": place.path, "url": file.url}
    return {"key": place.key, "url": file.url}


def _log(level: int, message: str, fields: Mapping[str, Any]) -> None:
    logger.log(level, message, extra=dict(fields))
