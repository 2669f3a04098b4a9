"""The outbox: what happens on GitHub, mailed to the people who wrote to the issue by mail; and
SES's bounce and complaint feedback, recorded so that nobody is mailed after it.

Work reaches the outbox function through one SQS queue: GitHub events the webhook function
queued (handler.outbound.github_events) and SES feedback (handler.outbound.feedback). ``handle``
turns a message
into ``Outgoing`` decisions, one per participant, each logged:

- ``own_comment`` and ``recipients`` (pure) decide who gets a mail: nobody when the comment
  is our own (its body carries our marker, or it was made through a route's GitHub App:
  mailing it would echo the sender's own mail back to them and start a loop), decided before
  anything is read; else, of the participants, only those whose route still mails its
  participants and still allows their domain, and whose address never bounced or complained.
- each mail is rendered (handler.outbound.update_mail) from the address the participant wrote to, so
  that their reply becomes the next comment, answering their latest mail, and sent through SES
  under a claim (handler.service.claims) keyed by the event and the participant: a redelivered
  message, or the same event from a second webhook, mails nobody twice.

A transient failure (DynamoDB, SES throttling) fails the message after every participant was
tried; SQS delivers it again and the claims let only the missing mails go out. After the
queue's last retry it lands in the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import StoreError
from handler.deadline import Deadline
from handler.github.posts import PostedComment, marker_in
from handler.inbound.titles import REPLY_SUBJECT_LIMIT, reply_subject
from handler.outbound.feedback import Feedback, FeedbackError, read_feedback
from handler.outbound.github_events import WorkItem
from handler.outbound.participants import (
    Participant,
    Participants,
    ParticipantStoreError,
    Suppressions,
    address_digest,
)
from handler.outbound.unsubscribe import unsubscribe_mailto
from handler.outbound.update_mail import Update, render_update, update_message_id
from handler.routing import GitHubApp, Route, Routes, Target, sender_allowed
from handler.service.claims import ClaimInProgress, Claims, ClaimStoreError

logger = logging.getLogger("ticket_router")

# SES answers these for a message it will never send, whatever the retry.
_PERMANENT_SES = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException"})


@dataclass(frozen=True)
class Outgoing:
    """What happened (or would happen) to one event for one participant."""

    action: Literal["mail", "skip"]
    # "mailed", "already-mailed", or why not: a stable code.
    reason: str
    detail: str
    # The participant's address digest (handler.outbound.participants): logs never hold an address.
    participant: str = ""
    retryable: bool = False


@dataclass(frozen=True)
class Recipient:
    participant: Participant
    route: Route


class RetryLater(RuntimeError):
    """The message must come again: something failed that may not fail next time."""


class UnreadableMessage(ValueError):
    """A queue message that is neither a work item nor SES feedback: left to the DLQ."""


def own_comment(item: WorkItem, routes: Routes) -> bool:
    """True for a comment our dispatcher posted: it carries a mail's marker, or it was made by
    the GitHub App a route of the repository posts as."""
    if item.event != "issue_comment":
        return False
    if item.comment_body is not None and marker_in(item.comment_body) is not None:
        return True
    apps = {str(item.actor.app_id)} if item.actor.app_id is not None else set()
    apps |= {item.actor.app_client_id} if item.actor.app_client_id else set()
    return any(
        isinstance(route.credential, GitHubApp) and route.credential.issuer in apps
        for route in routes.routes
        if route.repo.lower() == item.repo.lower()
    )


def recipients(
    item: WorkItem,
    routes: Routes,
    participants: tuple[Participant, ...],
    suppressed: set[str],
) -> tuple[list[Recipient], list[Outgoing]]:
    """Who gets a mail about ``item`` (not our own comment: see ``own_comment``), and the
    decisions about those who do not."""
    if not participants:
        return [], [Outgoing("skip", "no-participants", f"nobody wrote to {_ref(item)} by mail")]
    chosen: list[Recipient] = []
    skipped: list[Outgoing] = []
    for participant in participants:
        digest = address_digest(participant.address)
        target = routes.lookup(participant.issue_address(item.issue))
        if (
            not isinstance(target, Target)
            or target.route.repo.lower() != item.repo.lower()
            or not target.route.notify_participants
        ):
            detail = f"the route they wrote to no longer mails participants of {_ref(item)}"
            skipped.append(Outgoing("skip", "route-not-notifying", detail, digest))
        elif not sender_allowed(target.route, participant.address.rpartition("@")[2].lower()):
            # Their domain was taken off the route: what it may no longer write, it no longer
            # reads either (the repository may be private).
            detail = f"their domain may no longer write to {target.route.label}"
            skipped.append(Outgoing("skip", "sender-not-allowed", detail, digest))
        elif participant.address.lower() in suppressed:
            detail = "their address bounced or complained: nothing is mailed to it"
            skipped.append(Outgoing("skip", "suppressed", detail, digest))
        else:
            chosen.append(Recipient(participant, target.route))
    return chosen, skipped


def update_of(item: WorkItem) -> Update:
    """What the mail tells, the same for every participant."""
    if item.event == "issue_comment":
        return Update(
            kind="comment",
            repo=item.repo,
            issue=item.issue,
            title=item.title,
            issue_url=item.issue_url,
            author=item.actor.login,
            text=item.comment_body or "",
            url=item.comment_url or item.issue_url,
        )
    return Update(
        kind=item.action,
        repo=item.repo,
        issue=item.issue,
        title=item.title,
        issue_url=item.issue_url,
        author=item.actor.login,
        url=item.issue_url,
        state_reason=item.state_reason,
    )


def event_key(item: WorkItem) -> str:
    """One event, however many deliveries and webhooks bring it: a comment by its id, a change
    of state by the issue's updated_at (the same in every delivery of that change)."""
    what = f"comment#{item.comment_id}" if item.event == "issue_comment" else item.action
    at = "" if item.event == "issue_comment" else f"#{item.updated_at}"
    return f"{item.repo.lower()}#{item.issue}#{what}{at}"


class Outbox:
    """Mails a work item's participants and records SES feedback, through small interfaces."""

    def __init__(
        self,
        routes: Routes,
        participants: Participants,
        suppressions: Suppressions,
        claims: Callable[[Callable[[], float]], Claims],
        ses: Any,  # noqa: ANN401 - an untyped boto3 SES client
        *,
        unsubscribe_url: Callable[[str, int, str], str | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._routes = routes
        self._participants = participants
        self._suppressions = suppressions
        self._claims = claims
        self._ses = ses
        self._unsubscribe_url = unsubscribe_url
        self._clock = clock

    def handle(self, body: str, remaining_time: Callable[[], float]) -> list[Outgoing]:
        """The decisions for one queue message. Raises RetryLater when any is retryable, after
        logging them all, and UnreadableMessage for a message that is neither kind.
        ``remaining_time`` is the invocation's: a claim held by a crashed one expires then."""
        item = _work_item(body)
        if item is not None:
            decisions = self.mail(item, remaining_time)
            context = {"delivery": item.delivery, "repo": item.repo, "issue": item.issue}
        else:
            decisions = self.record_feedback(_feedback(body))
            context = {}
        for decision in decisions:
            _log(decision, context)
        failed = [decision.reason for decision in decisions if decision.retryable]
        if failed:
            raise RetryLater("will be retried: " + ", ".join(sorted(set(failed))))
        return decisions

    def mail(self, item: WorkItem, remaining_time: Callable[[], float]) -> list[Outgoing]:
        if own_comment(item, self._routes):
            # Decided before any read: our own comments need no store, not even a working one.
            detail = f"comment {item.comment_id} on {_ref(item)} was posted from mail"
            return [Outgoing("skip", "own-comment", detail)]
        try:
            known = self._participants.of(item.repo, item.issue)
            addresses = [participant.address for participant in known]
            suppressed = self._suppressions.suppressed(addresses) if addresses else set()
        except ParticipantStoreError as error:
            return [Outgoing("skip", "participant-store-unavailable", str(error), retryable=True)]
        chosen, decisions = recipients(item, self._routes, known, suppressed)
        if not chosen:
            return decisions
        update = update_of(item)
        claims = self._claims(remaining_time)
        deadline = Deadline.within(remaining_time())
        for recipient in chosen:
            decisions.append(self._send(item, update, recipient, claims, deadline))
        return decisions

    def record_feedback(self, feedback: Feedback) -> list[Outgoing]:
        if feedback.nothing_to_do:
            return [Outgoing("skip", "feedback-no-action", feedback.detail)]
        decisions = []
        for address in feedback.addresses:
            digest = address_digest(address)
            try:
                self._suppressions.suppress(address, feedback.kind)
            except ParticipantStoreError as error:
                decisions.append(
                    Outgoing("skip", "suppression-store-unavailable", str(error), digest, True)
                )
                continue
            decisions.append(Outgoing("skip", "suppressed", feedback.detail, digest))
        return decisions

    def _send(
        self,
        item: WorkItem,
        update: Update,
        recipient: Recipient,
        claims: Claims,
        deadline: Deadline,
    ) -> Outgoing:
        participant = recipient.participant
        digest = address_digest(participant.address)
        from_address = participant.issue_address(item.issue)
        key = event_key(item)
        try:
            link = self._unsubscribe_url(item.repo, item.issue, participant.address)
        except StoreError as error:
            return Outgoing("skip", error.reason, error.detail, digest, error.transient)
        try:
            raw = render_update(
                update,
                to=participant.address,
                from_address=from_address,
                project=recipient.route.name or recipient.route.repo,
                in_reply_to=participant.last_message_id,
                # Their latest mail's subject, so that ours joins their thread; else the title.
                subject=reply_subject(
                    participant.subject or item.title,
                    otherwise=f"Re: {item.title}"[:REPLY_SUBJECT_LIMIT],
                ),
                message_id=update_message_id(key, participant.address, participant.domain),
                unsubscribe_url=link,
                unsubscribe_mailto=unsubscribe_mailto(
                    participant.prefix, item.issue, participant.domain
                ),
                now=self._clock(),
            )
        except ValueError:
            # An address SES cannot take without SMTPUTF8, or a value no header may hold. The
            # error's text quotes the address: the log says what, not whom.
            detail = "the address or the event cannot be written into a mail"
            return Outgoing("skip", "unmailable", detail, digest)

        def send() -> PostedComment:
            answer = self._ses.send_raw_email(
                Source=from_address, Destinations=[participant.address], RawMessage={"Data": raw}
            )
            # The claim records a post as (id, url): here SES's message id.
            return PostedComment(id=0, url=str(answer.get("MessageId", "")))

        try:
            claimed = claims.once(f"mailed#{key}#{digest}", send, deadline)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _PERMANENT_SES:
                return Outgoing("skip", "ses-rejected", f"SES refused the mail ({code})", digest)
            return Outgoing("skip", "ses-unavailable", f"SES failed ({code})", digest, True)
        except BotoCoreError as error:
            detail = f"SES failed ({type(error).__name__})"
            return Outgoing("skip", "ses-unavailable", detail, digest, True)
        except ClaimInProgress as error:
            return Outgoing("skip", "in-progress", str(error), digest, True)
        except ClaimStoreError as error:
            return Outgoing("skip", "claim-store-unavailable", str(error), digest, True)
        if claimed.fresh:
            return Outgoing("mail", "mailed", f"mailed from {from_address}", digest)
        return Outgoing("mail", "already-mailed", f"already mailed from {from_address}", digest)


def _work_item(body: str) -> WorkItem | None:
    """The GitHub work item in ``body``, None when it is something else."""
    try:
        data = json.loads(body)
    except ValueError:
        raise UnreadableMessage("the message body is not JSON") from None
    if not isinstance(data, dict) or data.get("kind") != "github":
        return None
    try:
        return WorkItem.from_json(data)
    except ValueError as error:
        raise UnreadableMessage(f"a malformed work item: {error}") from None


def _feedback(body: str) -> Feedback:
    try:
        feedback = read_feedback(body)
    except FeedbackError as error:
        raise UnreadableMessage(f"malformed SES feedback: {error}") from None
    if feedback is None:
        raise UnreadableMessage("neither a GitHub work item nor SES feedback")
    return feedback


def _ref(item: WorkItem) -> str:
    return f"{item.repo}#{item.issue}"


def _log(decision: Outgoing, context: dict[str, Any]) -> None:
    fields = {
        **context,
        "action": decision.action,
        "reason": decision.reason,
        "detail": decision.detail,
        "participant": decision.participant or None,
        "retryable": decision.retryable,
    }
    logger.log(logging.WARNING if decision.retryable else logging.INFO, "update", extra=fields)
