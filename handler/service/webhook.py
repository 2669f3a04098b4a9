"""The webhook function: one Function URL request -> one answer and its log line.

POST / is a GitHub delivery, read as named steps: verify the signature, read the event, skip what
is not ours, then remember the event once while its work item is queued. GET or POST
/unsubscribe is the link in every update mail. GitHub waits 10 seconds for an answer: the real
work happens behind the queue, in the outbox."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from handler import SERVICE
from handler.outbound.errors import OutboundError
from handler.outbound.github_events import WorkItem
from handler.outbound.http import (
    About,
    Outcome,
    Request,
    answer,
    function_url_response,
    request_of,
    shown,
    too_large,
)
from handler.outbound.participants import Participants, ParticipantStoreError
from handler.outbound.signatures import Secret, verify
from handler.outbound.unsubscribe import (
    confirmation_page,
    invalid_link_page,
    read_link,
    try_later_page,
    unsubscribed_page,
)
from handler.outbound.webhook import Deliveries, Delivery, Queue, our_work, read_delivery
from handler.reasons import Reason
from handler.routing import Routes

# The function's own Powertools logger (handler.aws.lambda_runtime.json_logger) is the stdlib
# logger named after the service: its lines carry the invocation's context.
logger = logging.getLogger(SERVICE)


@dataclass(frozen=True)
class Webhook:
    """What the webhook needs from the outside, built once per container."""

    routes: Routes
    secret: Secret
    deliveries: Deliveries
    queue: Queue
    participants: Participants
    clock: Callable[[], float] = field(default=time.time)


def handle(event: Mapping[str, Any], webhook: Webhook) -> dict[str, Any]:
    """The Function URL's answer to one event (payload format 2.0), logged on one line: a
    warning when it asks GitHub or the reader to try again."""
    request = request_of(event)
    outcome = request if isinstance(request, Outcome) else receive(request, webhook)
    level = logging.WARNING if outcome.response.status >= 500 else logging.INFO
    logger.log(level, "webhook", extra=outcome.log)
    return function_url_response(outcome.response)


def receive(request: Request, webhook: Webhook) -> Outcome:
    """The answer to ``request`` and why: never a 5xx for what the client sent, only for what
    failed here (a secret, the store, the queue)."""
    path = request.path or "/"
    method = shown(request.method)
    if path == "/":
        if request.method != "POST":
            return answer(405, Reason.METHOD_NOT_ALLOWED, f"{method} /", allow="POST")
        return too_large(request) or _delivery(request, webhook)
    if path == "/unsubscribe":
        if request.method not in {"GET", "POST"}:
            return answer(
                405, Reason.METHOD_NOT_ALLOWED, f"{method} /unsubscribe", allow="GET, POST"
            )
        return too_large(request) or _unsubscribe(request, webhook)
    return answer(404, Reason.NOT_FOUND, "no such path")


def _delivery(request: Request, webhook: Webhook) -> Outcome:
    """A GitHub delivery: verify the signature, read the event, skip what is not ours, then
    queue its work item once."""
    signed = verify(request, webhook.secret)
    if isinstance(signed, Outcome):
        return signed
    delivery = read_delivery(request, signed)
    if isinstance(delivery, Outcome):
        return delivery
    item = our_work(delivery, signed, webhook.routes, webhook.clock())
    if isinstance(item, Outcome):
        return item
    return _queue_once(delivery, item, webhook.deliveries, webhook.queue)


def _queue_once(
    delivery: Delivery, item: WorkItem, deliveries: Deliveries, queue: Queue
) -> Outcome:
    """Queue the work item unless its event was queued before (GitHub redelivers, a second
    webhook delivers the same event, an attacker may replay a signed body under a new delivery
    id). Anything that fails is 503: GitHub shows the delivery as failed, and its redelivery is
    taken."""
    about = About(delivery.id, delivery.event, item.repo, item.issue)
    try:
        remembered = deliveries.once(item.key, lambda: queue.send(item.to_json()))
    except OutboundError as error:
        return answer(503, error.reason, error.detail, about=about)
    if not remembered.fresh:
        return answer(202, Reason.DUPLICATE_DELIVERY, "this event was received before", about=about)
    queued = f"{delivery.event}/{item.action} of {item.repo}#{item.issue}"
    if remembered.unconfirmed:
        # The work is queued: answering 503 would only invite a redelivery.
        queued += f"; {remembered.unconfirmed}"
    return answer(202, Reason.QUEUED, queued, about=about)


def _unsubscribe(request: Request, webhook: Webhook) -> Outcome:
    """GET shows a page with a button; POST (that button, or a mail client's RFC 8058
    one-click) takes the participant off the issue."""
    try:
        link = read_link(request.query, webhook.secret)
    except OutboundError as error:
        return try_later_page(error.reason, error.detail)
    if link is None:
        return invalid_link_page()
    if request.method == "GET":
        return confirmation_page(request, link)
    try:
        removed = webhook.participants.remove(link.repo, link.issue, link.digest, webhook.clock())
    except ParticipantStoreError as error:
        return try_later_page(Reason.STORE_UNAVAILABLE, error.detail, link.about)
    return unsubscribed_page(link, removed=removed)
