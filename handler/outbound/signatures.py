"""Whose key signed a GitHub webhook delivery: the master secret's, or an owner's or an app's
secret derived from it (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).

The derived secrets, and why: docs/outbound.md#signatures."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from handler.outbound.errors import OutboundError
from handler.outbound.http import Outcome, Request, answer, read_payload
from handler.reasons import Reason
from handler.routing import GITHUB_LOGIN, GitHubApp, Route

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Domain separation: an owner's secret, an app's secret and the unsubscribe links' key
# (handler.outbound.unsubscribe) are HMACs of the master under different labels, so none gives
# another. The NUL ends the label: no owner or app id can extend it into another label.
_OWNER_LABEL = b"ticket-router webhook owner\0"
_APP_LABEL = b"ticket-router webhook app\0"
# A GitHub App's id, in decimal.
_APP_ID = re.compile(r"[1-9][0-9]{0,18}")


class Secret(Protocol):
    """The master webhook secret. Both raise OutboundError when it cannot be read."""

    def get(self) -> bytes: ...

    def refreshed(self) -> bytes | None:
        """The secret read again (it may have been rotated), or None when it was read too
        recently for that."""
        ...


def owner_secret(master: bytes, owner: str) -> str:
    """The webhook secret to give GitHub for the repository or organization webhooks of
    ``owner`` (a user or organization login; case does not matter).

    hex(HMAC-SHA256(master, b"ticket-router webhook owner\\0" + lowercased owner)): it signs
    deliveries about that owner's repositories only, and does not reveal ``master``."""
    return hmac.new(master, _OWNER_LABEL + owner.lower().encode(), hashlib.sha256).hexdigest()


def app_secret(master: bytes, app_id: int) -> str:
    """The webhook secret to give GitHub for the webhook of the GitHub App ``app_id``.

    hex(HMAC-SHA256(master, b"ticket-router webhook app\\0" + the id in decimal)): it signs
    deliveries about any repository, as an app is installed on many owners."""
    return hmac.new(master, _APP_LABEL + str(app_id).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Signers:
    """Whose secret may have signed a delivery: the master's, and the owner's or the app's
    derived secret when the delivery names one."""

    owner: str | None
    app_id: int | None

    def derived(self, master: bytes) -> tuple[bytes | None, bytes | None]:
        """The owner's and the app's keys, None for what the delivery does not name."""
        owner = None if self.owner is None else owner_secret(master, self.owner).encode()
        app = None if self.app_id is None else app_secret(master, self.app_id).encode()
        return owner, app

    def __str__(self) -> str:
        names = [] if self.owner is None else [f"owner {self.owner}"]
        if self.app_id is not None:
            names.append(f"app {self.app_id}")
        derived = f" or the secret of {' or '.join(names)}" if names else ""
        return f"the master secret{derived}"


@dataclass(frozen=True)
class Signed:
    """A delivery whose signature matched: whose key made it, and its body as read."""

    by: Literal["master", "owner", "app"]
    signers: Signers
    # The JSON object, or what is wrong with the body.
    payload: dict[str, Any] | str

    def may_sign_for(self, routes: Iterable[Route]) -> bool:
        """Whether the signer may sign about the repository of ``routes`` (those naming it).
        An app's secret is its owner's, who may be another organization: it signs for the
        repositories that app posts to, not for every repository of the deployment."""
        return self.by != "app" or any(_posts_as(route, self.signers.app_id) for route in routes)


def verify(request: Request, secret: Secret) -> Signed | Outcome:
    """The signer of ``request``, or the answer refusing it.

    The master and the app's key (the app is named by a header) are tried on the raw body,
    before anything parses it; only when neither matches is the body parsed for the owner's
    key, and a body that cannot be parsed is refused (400) then. After a mismatch the master is
    read again (it may have been rotated), as often as ``secret.refreshed`` allows."""
    signature = request.headers.get("x-hub-signature-256")
    if signature is None:
        return answer(401, Reason.SIGNATURE_MISSING, "no X-Hub-Signature-256 header")
    given = _SIGNATURE.fullmatch(signature.strip())
    if given is None:
        return answer(
            401, Reason.SIGNATURE_INVALID, "X-Hub-Signature-256 is not sha256=<64 hex digits>"
        )
    # Parsed at most once: for the owner's key when no other matches, then for the rest.
    read = functools.cache(lambda: read_payload(request))
    try:
        signer, signers = _signer(request, read, given.group(1).lower().encode(), secret)
    except OutboundError as error:
        return answer(503, error.reason, error.detail)
    if signer is None:
        body = read()
        if isinstance(body, str):
            return answer(400, Reason.UNREADABLE_BODY, body)
        return answer(
            401,
            Reason.SIGNATURE_INVALID,
            f"X-Hub-Signature-256 does not match the body under {signers}",
        )
    return Signed(signer, signers, read())


def _signer(
    request: Request,
    read: Callable[[], dict[str, Any] | str],
    given: bytes,
    secret: Secret,
) -> tuple[Literal["master", "owner", "app"] | None, Signers]:
    """Whose key made ``given``: the master's or the app's the headers name, else the owner's
    the body names; after a mismatch, once more with the master read again."""
    app_id = _app_id(request.headers)
    signers = Signers(None, app_id)
    for master in (secret.get(), None):
        key = master if master is not None else secret.refreshed()
        if key is None:
            break
        if _matches(request.body, given, key):
            return "master", Signers(None, None)
        _, app = signers.derived(key)
        if app is not None and _matches(request.body, given, app):
            return "app", signers
        payload = read()
        signers = Signers(None if isinstance(payload, str) else _owner(payload), app_id)
        owner, _ = signers.derived(key)
        if owner is not None and _matches(request.body, given, owner):
            return "owner", signers
    return None, signers


def _app_id(headers: Mapping[str, str]) -> int | None:
    """The app's id when the delivery comes from an app's webhook (target type
    ``integration``)."""
    target = headers.get("x-github-hook-installation-target-type")
    app = headers.get("x-github-hook-installation-target-id", "")
    return int(app) if target == "integration" and _APP_ID.fullmatch(app) else None


def _owner(payload: Mapping[str, Any]) -> str | None:
    """The owner whose secret must sign the payload, or None when it names none.

    The owner part of ``repository.full_name`` (GitHub writes ``repository.owner.login`` the
    same), as it is full_name that the work item and the routes go by: a delivery naming
    another owner's repository cannot match the signer's secret. A payload without a repository
    is an organization's (its webhook's ping)."""
    repository = payload.get("repository")
    if repository is not None:
        name = repository.get("full_name") if isinstance(repository, dict) else None
        owner = name.partition("/")[0] if isinstance(name, str) and "/" in name else None
    else:
        organization = payload.get("organization")
        owner = organization.get("login") if isinstance(organization, dict) else None
    return owner if isinstance(owner, str) and GITHUB_LOGIN.fullmatch(owner) else None


def _posts_as(route: Route, app_id: int | None) -> bool:
    """Whether ``route`` posts as the app ``app_id``. Only a route that names the app by its
    id can tell: a client id names no number, and the installation a delivery names is the
    signer's to choose."""
    return isinstance(route.credential, GitHubApp) and route.credential.issuer == str(app_id)


def _matches(body: bytes, given: bytes, key: bytes) -> bool:
    mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(mac, given)
