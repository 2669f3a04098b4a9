"""A signed GitHub webhook delivery -> the work item to queue, or the answer refusing it; and the
interfaces through which the webhook remembers deliveries and queues their work.

The order of the checks, and why: docs/outbound.md#webhook."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from handler.outbound.github_events import Ignored, WorkItem, event_times, work_item
from handler.outbound.http import About, Outcome, Request, answer
from handler.outbound.signatures import Signed
from handler.reasons import Reason
from handler.routing import Routes

# Older than this, a signed delivery is a replay: GitHub retries no further than three days back.
# Events are remembered for longer (handler.aws.deliveries), so that none gets through.
STALE_AFTER_SECONDS = 72 * 3600
# How far GitHub's clock may run ahead of ours. An event later than that is refused: it would
# stay fresh for longer than it is remembered, and be queued again once forgotten.
CLOCK_SKEW_SECONDS = 5 * 60
# GitHub's delivery ids are GUIDs and its event names snake_case words.
_DELIVERY = re.compile(r"[A-Za-z0-9-]{1,100}")
_EVENT = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True)
class Delivery:
    """A signed delivery's headers and JSON object."""

    event: str
    id: str
    payload: dict[str, Any]

    @property
    def about(self) -> About:
        return About(delivery=self.id, event=self.event)


@dataclass(frozen=True)
class Remembered:
    """What remembering an event made of it: whether its work ran now (False: it ran for an
    earlier delivery of the same event), and, when it ran but the event could not be kept for
    the full time, why."""

    fresh: bool
    unconfirmed: str = ""


class Deliveries(Protocol):
    def once(self, event: str, work: Callable[[], None]) -> Remembered:
        """Runs ``work`` unless the event (``WorkItem.key``) was seen. Raises OutboundError:
        while another invocation runs it (``delivery-in-progress``), when the store fails
        before ``work`` (``store-unavailable``), and ``work``'s own, after releasing the event
        (or saying in its detail that it stays claimed)."""
        ...


class Queue(Protocol):
    def send(self, body: str) -> None:
        """Raises OutboundError (``queue-unavailable``)."""
        ...


def read_delivery(request: Request, signed: Signed) -> Delivery | Outcome:
    """The event, the delivery id and the JSON object of a signed request, or the answer: 400
    for what is missing or malformed, 200 ``pong`` for a ping."""
    event = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery", "")
    if not _EVENT.fullmatch(event):
        return answer(400, Reason.BAD_REQUEST, "X-GitHub-Event is missing or malformed")
    if not _DELIVERY.fullmatch(delivery):
        return answer(
            400,
            Reason.BAD_REQUEST,
            "X-GitHub-Delivery is missing or malformed",
            about=About(event=event),
        )
    seen = About(delivery=delivery, event=event)
    if isinstance(signed.payload, str):
        return answer(400, Reason.UNREADABLE_BODY, signed.payload, about=seen)
    if event == "ping":
        return answer(200, Reason.PONG, "", about=seen)
    return Delivery(event, delivery, signed.payload)


def our_work(delivery: Delivery, signed: Signed, routes: Routes, now: float) -> WorkItem | Outcome:
    """The work item of a delivery, or why there is none: an event that is not mailed, a
    repository the signer may not sign for, that no route names or whose routes do not mail
    their participants, an event dated after ``now`` beyond clock skew, or one too old to be
    anything but a replay."""
    item = work_item(delivery.event, delivery.id, delivery.payload)
    if isinstance(item, Ignored):
        status = 400 if item.reason == Reason.MALFORMED_PAYLOAD else 202
        return answer(status, item.reason, item.detail, about=delivery.about)
    about = About(delivery.id, delivery.event, item.repo, item.issue)
    named = [route for route in routes.routes if route.repo.lower() == item.repo.lower()]
    if not signed.may_sign_for(named):
        detail = f"app {signed.signers.app_id} is not the app of a route of {item.repo}"
        return answer(401, Reason.SIGNATURE_INVALID, detail, about=about)
    if not named:
        return answer(202, Reason.UNKNOWN_REPOSITORY, f"no route names {item.repo}", about=about)
    if not any(route.notify_participants for route in named):
        return answer(
            202,
            Reason.NOT_NOTIFYING,
            f"no route of {item.repo} has notify_participants",
            about=about,
        )
    occurred, latest = event_times(delivery.event, delivery.payload)
    if latest > now + CLOCK_SKEW_SECONDS:
        ahead = int(latest - now)
        return answer(
            400, Reason.FUTURE_EVENT, f"the event is dated {ahead} seconds from now", about=about
        )
    age = now - occurred
    if age > STALE_AFTER_SECONDS:
        return answer(
            202, Reason.STALE_EVENT, f"the event is {int(age // 3600)} hours old", about=about
        )
    return item
