"""The webhook endpoint: one HTTP request -> one response and the reason for it.

``receive`` takes a plain ``Request`` and returns an ``Outcome`` (the response, a stable reason
code and the fields its log line needs). It reaches the outside only through small interfaces:
the webhook secret, the delivery ids seen, the work queue and the participants.

POST ``/``, a GitHub webhook delivery, in this order:

1. ``X-Hub-Signature-256`` is ``sha256=<hex>`` of HMAC-SHA256(key, raw body), compared in
   constant time (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
   The secret in Secrets Manager, the master, signs deliveries about any repository: enough
   for a deployment whose webhooks one operator sets up. It is tried first, on the raw body.
   With several owners, each gets a secret derived from the master (``owner_secret``; a GitHub
   App's webhook ``app_secret``) and the master stays out of GitHub, so that an admin of one
   owner's repositories, who knows that owner's secret, cannot sign a delivery naming another
   owner's repository (and have text mailed from its issue addresses). Only when the master
   does not match is the body parsed, for the derived key: the owner of
   ``repository.full_name``, the very repository the work item is about
   (``organization.login`` when there is none: an organization's ping), and, when
   ``X-GitHub-Hook-Installation-Target-Type`` is ``integration``, the app
   ``X-GitHub-Hook-Installation-Target-ID``, which signs for the repositories of the routes
   that post as that app (named by its app id: the app's owner may be another organization).
   Missing: 401 ``signature-missing``; not ``sha256=<hex>``, matching neither the master nor
   the derived key, or an app's key for a repository none of its routes names: 401
   ``signature-invalid``, after reading the master again (it may have been rotated) at most
   once a minute. Unreadable: 503 ``secret-unavailable``.
2. ``X-GitHub-Event``, ``X-GitHub-Delivery`` and a JSON object as the body (the
   application/json content type, or application/x-www-form-urlencoded with ``payload=``):
   else 400 ``bad-request``. A ``ping`` is answered 200 ``pong``.
3. What handler.outbound.github_events makes of it: an event or action that is not mailed is 202
with
   that reason; a payload without the fields a work item needs is 400 ``malformed-payload``.
4. A repository no route names (case-insensitive): 202 ``unknown-repository``; named only by
   routes without ``notify_participants``: 202 ``not-notifying``.
5. An event older than 72 hours: 202 ``stale-event``. GitHub delivers within seconds and
   redelivers within days; an old signed request is a replay of a captured one, whose delivery
   id may have expired from the table.
6. The delivery id is claimed in the claims table, for a minute while its work item is queued
   and for seven days once it is: queued before, 202 ``duplicate-delivery`` (GitHub redelivers,
   an attacker may replay); being queued, 503 ``delivery-in-progress`` (a redelivery after the
   minute is queued, should its holder have died). The store failing: 503
   ``store-unavailable``.
7. The work item goes to the SQS work queue: 202 ``queued``, and the claim is confirmed for
   seven days. SQS failing: the claim is released, so that GitHub's redelivery is not taken for
   a duplicate, and 503 ``queue-unavailable``. A function that dies between the claim and the
   queue (its timeout) leaves a pending claim, which lapses after the minute: a later
   redelivery is queued, not lost. The confirmation failing: still 202 ``queued``, the detail
   says so; a redelivery after the minute queues the item again, and the outbox's claim per
   (event, participant) mails nobody twice.

GitHub waits 10 seconds for an answer; the real work happens behind the queue.

GET ``/unsubscribe?...``, the List-Unsubscribe link (handler.outbound.unsubscribe): a page naming
the
issue with a button that POSTs the same link, so that the link scanners of mail providers, which
GET every link, unsubscribe nobody. POST ``/unsubscribe?...`` (that button, or a mail client's
RFC 8058 one-click ``List-Unsubscribe=One-Click``) removes the participant. A forged or damaged
link: 400.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.secrets import Secrets, SecretSource
from handler.aws.store import StoreError, error_code
from handler.outbound.github_events import Ignored, occurred_at, work_item
from handler.outbound.participants import ParticipantStoreError
from handler.outbound.unsubscribe import read_unsubscribe, unsubscribe_key
from handler.routing import GITHUB_LOGIN, GitHubApp, Route, Routes

# Older than this, a signed delivery is a replay: GitHub retries no further than three days back.
STALE_AFTER_SECONDS = 72 * 3600
# How long a delivery id is remembered: longer than any stale event, so that none gets through.
DELIVERY_TTL_SECONDS = 7 * 86400
# How long a delivery id is held before its work item is queued: far beyond the function's 5 s
# timeout (terraform/modules/replies), so that a live invocation never loses it, and short, so
# that a redelivery of a delivery whose invocation died is not taken for a duplicate for long.
PENDING_SECONDS = 60
# A failed signature re-reads the secret at most this often, so that unsigned floods do not
# become Secrets Manager calls.
SECRET_REREAD_SECONDS = 60.0
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Domain separation: an owner's secret, an app's secret and the unsubscribe links' key
# (handler.outbound.unsubscribe) are HMACs of the master under different labels, so none gives
# another.
# The NUL ends the label: no owner or app id can extend it into another label.
_OWNER_LABEL = b"ticket-router webhook owner\0"
_APP_LABEL = b"ticket-router webhook app\0"
# A GitHub App's id, in decimal.
_APP_ID = re.compile(r"[1-9][0-9]{0,18}")
# GitHub's delivery ids are GUIDs and its event names snake_case words.
_DELIVERY = re.compile(r"[A-Za-z0-9-]{1,100}")
_EVENT = re.compile(r"[a-z_]{1,64}")
_KEY_PREFIX = "delivery"
_TEXT = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
_PAGE = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    # The page runs no script and loads nothing; its form posts back here. The link's mac must
    # not travel on in a Referer.
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    # The raw query string, without "?".
    query: str
    # Names lowercased.
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: str


@dataclass(frozen=True)
class About:
    """What a request was about, as far as it was read: the fields of its log line."""

    delivery: str | None = None
    event: str | None = None
    repo: str | None = None
    issue: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What a request got and why: the response, and what its one log line says."""

    response: Response
    reason: str
    detail: str
    about: About

    @property
    def log(self) -> dict[str, Any]:
        """The log line's fields: never the body, the signature or the link's mac."""
        return {
            "status": self.response.status,
            "reason": self.reason,
            "detail": self.detail,
            **asdict(self.about),
        }


class Secret(Protocol):
    def get(self) -> bytes: ...

    def refreshed(self) -> bytes | None: ...


# What a claim of a delivery id finds: nobody had it, another invocation is queueing it, or its
# work item was queued.
Claim = Literal["new", "pending", "seen"]


class Deliveries(Protocol):
    def claim(self, delivery: str) -> Claim: ...

    def confirm(self, delivery: str) -> None: ...

    def release(self, delivery: str) -> None: ...


class Queue(Protocol):
    def send(self, body: str) -> None: ...


class Remover(Protocol):
    def remove(self, repo: str, issue: int, digest: str, at: float) -> bool: ...


class DeliveryStoreError(Exception):
    """The delivery ids cannot be read or written."""


class QueueError(Exception):
    """The work queue refused the message or could not be reached."""


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


def receive(
    request: Request,
    *,
    secret: Secret,
    routes: Routes,
    deliveries: Deliveries,
    queue: Queue,
    participants: Remover,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    """The response to ``request`` and why."""
    path = request.path or "/"
    if path == "/":
        if request.method != "POST":
            return _text(405, "method-not-allowed", f"{request.method} /", allow="POST")
        return _webhook(
            request,
            secret=secret,
            routes=routes,
            deliveries=deliveries,
            queue=queue,
            clock=clock,
        )
    if path == "/unsubscribe":
        if request.method not in {"GET", "POST"}:
            return _text(
                405, "method-not-allowed", f"{request.method} /unsubscribe", allow="GET, POST"
            )
        return _unsubscribe(request, secret, participants, clock)
    return _text(404, "not-found", "no such path")


def _webhook(
    request: Request,
    *,
    secret: Secret,
    routes: Routes,
    deliveries: Deliveries,
    queue: Queue,
    clock: Callable[[], float],
) -> Outcome:
    signature = request.headers.get("x-hub-signature-256")
    if signature is None:
        return _text(401, "signature-missing", "no X-Hub-Signature-256 header")
    # Parsed at most once: for the owner's key when the master does not match, then for the rest.
    read = functools.cache(lambda: _payload(request))
    given = _SIGNATURE.fullmatch(signature.strip())
    if given is None:
        return _text(401, "signature-invalid", "X-Hub-Signature-256 is not sha256=<64 hex digits>")
    try:
        signer, signers = _signer(request, read, given.group(1).lower().encode(), secret)
    except StoreError as error:
        return _text(503, "secret-unavailable", error.detail)
    if signer is None:
        return _text(
            401,
            "signature-invalid",
            f"X-Hub-Signature-256 does not match the body under {signers}",
        )
    payload = read()

    event = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery", "")
    if not _EVENT.fullmatch(event):
        return _text(400, "bad-request", "X-GitHub-Event is missing or malformed")
    if not _DELIVERY.fullmatch(delivery):
        return _text(
            400,
            "bad-request",
            "X-GitHub-Delivery is missing or malformed",
            about=About(event=event),
        )
    seen = About(delivery=delivery, event=event)
    if isinstance(payload, str):
        return _text(400, "bad-request", payload, about=seen)
    if event == "ping":
        return _text(200, "pong", "", about=seen)

    item = work_item(event, delivery, payload)
    if isinstance(item, Ignored):
        status = 400 if item.reason == "malformed-payload" else 202
        return _text(status, item.reason, item.detail, about=seen)
    seen = replace(seen, repo=item.repo, issue=item.issue)
    named = [route for route in routes.routes if route.repo.lower() == item.repo.lower()]
    if signer == "app" and not any(_posts_as(route, signers.app_id) for route in named):
        # An app's secret is its owner's, who may be another organization: it signs for the
        # repositories that app posts to, not for every repository of the deployment.
        detail = f"app {signers.app_id} is not the app of a route of {item.repo}"
        return _text(401, "signature-invalid", detail, about=seen)
    if not named:
        return _text(202, "unknown-repository", f"no route names {item.repo}", about=seen)
    if not any(route.notify_participants for route in named):
        return _text(
            202, "not-notifying", f"no route of {item.repo} has notify_participants", about=seen
        )
    age = clock() - occurred_at(event, payload)
    if age > STALE_AFTER_SECONDS:
        return _text(202, "stale-event", f"the event is {int(age // 3600)} hours old", about=seen)

    try:
        claimed = deliveries.claim(delivery)
        if claimed == "seen":
            return _text(202, "duplicate-delivery", "this delivery was received before", about=seen)
        if claimed == "pending":
            # Not a duplicate yet: if its holder died before queueing, a redelivery after the
            # claim lapses must be taken, so GitHub has to show this one as failed.
            detail = f"this delivery is being queued; redeliver it after {PENDING_SECONDS} s"
            return _text(503, "delivery-in-progress", detail, about=seen)
    except DeliveryStoreError as error:
        return _text(503, "store-unavailable", str(error), about=seen)
    try:
        queue.send(item.to_json())
    except QueueError as error:
        detail = str(error)
        try:
            deliveries.release(delivery)
        except DeliveryStoreError as release_error:
            # GitHub's redelivery will be taken for a duplicate: the log must say so.
            detail += f"; the delivery id stays claimed: {release_error}"
        return _text(503, "queue-unavailable", detail, about=seen)
    queued = f"{event}/{item.action} of {item.repo}#{item.issue}"
    try:
        deliveries.confirm(delivery)
    except DeliveryStoreError as error:
        # The work is queued: answering 503 would only invite a redelivery.
        queued += f"; the delivery id is held for {PENDING_SECONDS} s only: {error}"
    return _text(202, "queued", queued, about=seen)


@dataclass(frozen=True)
class _Signers:
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


def _signers(payload: dict[str, Any] | str, headers: Mapping[str, str]) -> _Signers:
    target = headers.get("x-github-hook-installation-target-type")
    app = headers.get("x-github-hook-installation-target-id", "")
    app_id = int(app) if target == "integration" and _APP_ID.fullmatch(app) else None
    return _Signers(None if isinstance(payload, str) else _owner(payload), app_id)


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


def _signer(
    request: Request,
    read: Callable[[], dict[str, Any] | str],
    given: bytes,
    secret: Secret,
) -> tuple[Literal["master", "owner", "app"] | None, _Signers]:
    """Whose key made ``given``: the master's (tried on the raw body before anything is
    parsed), else the owner's or the app's the delivery names; after a mismatch, once more
    with the master read again (it may have been rotated)."""
    signers = _Signers(None, None)
    for master in (secret.get(), None):
        key = master if master is not None else secret.refreshed()
        if key is None:
            break
        if _matches(request.body, given, [key]):
            return "master", signers
        signers = _signers(read(), request.headers)
        owner, app = signers.derived(key)
        # Both compared, so that the time taken does not tell which one matched.
        owner_ok = owner is not None and _matches(request.body, given, [owner])
        app_ok = app is not None and _matches(request.body, given, [app])
        if owner_ok:
            return "owner", signers
        if app_ok:
            return "app", signers
    return None, signers


def _posts_as(route: Route, app_id: int | None) -> bool:
    """Whether ``route`` posts as the app ``app_id``. Only a route that names the app by its
    id can tell: a client id names no number, and the installation a delivery names is the
    signer's to choose."""
    return isinstance(route.credential, GitHubApp) and route.credential.issuer == str(app_id)


def _matches(body: bytes, given: bytes, keys: list[bytes]) -> bool:
    matched = False
    for key in keys:
        # Every key is compared, so that the time taken does not tell which one matched.
        matched |= hmac.compare_digest(_hex_mac(key, body), given)
    return matched


def _hex_mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode()


def _payload(request: Request) -> dict[str, Any] | str:
    """The delivery's JSON object, or what is wrong with the body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(text, keep_blank_values=True, strict_parsing=True, max_num_fields=10)
        except ValueError:
            return "the form body is malformed"
        found = form.get("payload", [])
        if len(found) != 1:
            return "the form body has no single payload field"
        text = found[0]
    elif content_type != "application/json":
        return f"the content type {content_type or '(none)'} is not JSON or a form"
    try:
        payload = json.loads(text)
    except ValueError:
        return "the payload is not JSON"
    if not isinstance(payload, dict):
        return "the payload is not a JSON object"
    return payload


def _unsubscribe(
    request: Request, secret: Secret, participants: Remover, clock: Callable[[], float]
) -> Outcome:
    try:
        link = read_unsubscribe(request.query, unsubscribe_key(secret.get()))
        if link is None:
            fresh = secret.refreshed()
            if fresh is not None:
                link = read_unsubscribe(request.query, unsubscribe_key(fresh))
    except StoreError as error:
        return _page(
            503, "secret-unavailable", error.detail, "Not now", "Please try again in a while."
        )
    if link is None:
        return _page(
            400,
            "unsubscribe-invalid",
            "the link is malformed or not signed by us",
            "Link not valid",
            "This unsubscribe link is not valid: it may have been cut short or changed. "
            "Open the whole link from the mail again.",
        )
    issue = f"{link.repo}#{link.issue}"
    seen = About(repo=link.repo, issue=link.issue)
    if request.method == "GET":
        return _page(
            200,
            "unsubscribe-page",
            "",
            f"Unsubscribe from {issue}",
            f"Stop getting mail about {issue}?",
            action=f"/unsubscribe?{request.query}",
            about=seen,
        )
    try:
        removed = participants.remove(link.repo, link.issue, link.digest, clock())
    except ParticipantStoreError as error:
        return _page(
            503,
            "store-unavailable",
            str(error),
            "Not now",
            "Please try again in a while.",
            about=seen,
        )
    return _page(
        200,
        "unsubscribed" if removed else "already-unsubscribed",
        "",
        "Unsubscribed",
        f"You will no longer get mail about {issue}.",
        about=seen,
    )


def _text(
    status: int,
    reason: str,
    detail: str,
    *,
    allow: str | None = None,
    about: About | None = None,
) -> Outcome:
    headers = dict(_TEXT) if allow is None else {**_TEXT, "Allow": allow}
    body = f"{reason}: {detail}\n" if detail else f"{reason}\n"
    return Outcome(Response(status, headers, body), reason, detail, about or About())


def _page(
    status: int,
    reason: str,
    detail: str,
    title: str,
    text: str,
    *,
    action: str | None = None,
    about: About | None = None,
) -> Outcome:
    form = (
        ""
        if action is None
        else (
            f'<form method="post" action="{html.escape(action)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )
    )
    body = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>\n"
    )
    return Outcome(Response(status, _PAGE, body), reason, detail, about or About())


class WebhookSecret:
    """The master webhook secret from Secrets Manager (the bare secret, or JSON
    ``{"secret": ...}``): GitHub gets only secrets derived from it (``owner_secret``,
    ``app_secret``).

    Cached for a bounded time like the GitHub token (handler.aws.secrets); ``refreshed``
    reads it again early, when a signature did not match, but at most once a minute. The outbox
    function derives the unsubscribe links' key from it as well.
    """

    def __init__(
        self,
        client: Any,  # noqa: ANN401 - an untyped boto3 Secrets Manager client
        secret_id: str,
        *,
        ttl_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = SecretSource(
            Secrets(client, max_age=int(ttl_seconds), clock=clock),
            secret_id,
            field="secret",
            reason="secret-unavailable",
            description="the webhook secret",
            variable="WEBHOOK_SECRET_ARN",
        )

    def get(self) -> bytes:
        return self._source.get().encode()

    def refreshed(self) -> bytes | None:
        """The secret read again, or None when it was read less than a minute ago."""
        age = self._source.age()
        if age is not None and age < SECRET_REREAD_SECONDS:
            return None
        self._source.forget()
        return self.get()


class DynamoDeliveries:
    """Delivery ids seen, as items ``delivery#<id>`` of the claims table (TTL ``expiration``):
    pending for ``pending_seconds`` once claimed, then for ``expires_after_seconds`` once
    confirmed."""

    def __init__(
        self,
        client: Any,  # noqa: ANN401 - an untyped boto3 DynamoDB client
        table: str,
        *,
        expires_after_seconds: int = DELIVERY_TTL_SECONDS,
        pending_seconds: int = PENDING_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = expires_after_seconds
        self._pending = pending_seconds
        self._clock = clock

    def claim(self, delivery: str) -> Claim:
        """``new`` for a delivery not seen before, or whose claim lapsed (now pending here);
        ``pending`` while another invocation queues it; ``seen`` once it was queued."""
        now = int(self._clock())
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": f"{_KEY_PREFIX}#{delivery}"},
                    "expiration": {"N": str(now + self._pending)},
                    "queued": {"BOOL": False},
                },
                # DynamoDB deletes expired items up to days late: an expired one is free again.
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                # The stubs' error response has no key for what the condition check returns.
                held: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
                # A record without the flag was written before it existed: queued.
                return "pending" if held.get("queued") == {"BOOL": False} else "seen"
            raise DeliveryStoreError(f"cannot record the delivery ({error_code(error)})") from None
        except BotoCoreError as error:
            raise DeliveryStoreError(f"cannot record the delivery ({error_code(error)})") from None
        return "new"

    def confirm(self, delivery: str) -> None:
        """Remember the claimed delivery for the full time: its work item is queued."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": f"{_KEY_PREFIX}#{delivery}"}},
                UpdateExpression="SET expiration = :expiration, queued = :queued",
                ExpressionAttributeValues={
                    ":expiration": {"N": str(int(self._clock()) + self._ttl)},
                    ":queued": {"BOOL": True},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise DeliveryStoreError(f"cannot confirm the delivery ({error_code(error)})") from None

    def release(self, delivery: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table, Key={"id": {"S": f"{_KEY_PREFIX}#{delivery}"}}
            )
        except (ClientError, BotoCoreError) as error:
            raise DeliveryStoreError(f"cannot forget the delivery ({error_code(error)})") from None


class SqsQueue:
    """The work queue."""

    def __init__(self, client: Any, url: str) -> None:  # noqa: ANN401 - an untyped boto3 client
        self._client = client
        self._url = url

    def send(self, body: str) -> None:
        try:
            self._client.send_message(QueueUrl=self._url, MessageBody=body)
        except (ClientError, BotoCoreError) as error:
            raise QueueError(f"cannot queue the work item ({error_code(error)})") from None
