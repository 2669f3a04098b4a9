"""The outbox: one queue message -> a mail to each participant of an issue about what happened on
GitHub, or SES's bounce and complaint feedback recorded; each decision logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from handler.deadline import Deadline
from handler.github.posts import PostedComment
from handler.outbound.errors import MailOutcomeUnknown, OutboundError
from handler.outbound.feedback import Feedback
from handler.outbound.github_events import WorkItem
from handler.outbound.outbox import (
    GITHUB_API_URL,
    Mailer,
    Outgoing,
    Recipient,
    compose,
    forged_marker,
    own_comment,
    posted_key,
    posted_mail,
    read_message,
    recipients,
    ref,
    sent_key,
    update_of,
    web_url,
)
from handler.outbound.participants import (
    Authors,
    Authorship,
    Conversation,
    Participants,
    ParticipantStoreError,
    Suppressions,
    address_digest,
)
from handler.outbound.reach import (
    ReactionContent,
    Reactions,
    SentComment,
    SentMail,
    SentMailError,
    reach_summary,
    reacting_route,
    reaction_for,
)
from handler.outbound.update_mail import Update
from handler.reasons import Reason, RetryLater, TicketRouterError
from handler.routing import Routes
from handler.service.claims import Claims

logger = logging.getLogger("ticket_router")

# How long a send's claim is held when CLAIM_HOLD_SECONDS is unset: longer than the work queue
# delivers a message, Terraform's defaults (terraform/modules/replies): a visibility timeout of
# 6 x the outbox's 60 s timeout, 5 receives, plus one invocation. A holder that died after
# sending thus blocks every redelivery until the message is dead-lettered.
DEFAULT_CLAIM_HOLD = 6 * 60 * 5 + 60

# Logged at WARNING although not retried: a participant may have missed an update.
_WARNED = frozenset({Reason.MAIL_OUTCOME_UNKNOWN})


class Outbox:
    """Mails a work item's participants and records SES feedback, through small interfaces."""

    def __init__(
        self,
        routes: Routes,
        participants: Participants,
        suppressions: Suppressions,
        claims: Claims,
        mailer: Mailer,
        *,
        unsubscribe_url: Callable[[str, int, str], str | None],
        # Who each mail posted as a comment came from (handler.outbound.participants.Authors).
        authors: Authors,
        # The deployment's API, for the routes that name none: its web site is where the
        # mails' links go.
        github_api_url: str = GITHUB_API_URL,
        # Seconds a send's claim is held (CLAIM_HOLD_SECONDS): see DEFAULT_CLAIM_HOLD.
        claim_hold: float = DEFAULT_CLAIM_HOLD,
        clock: Callable[[], float] = time.time,
        # Reach (docs/replies.md#reach): the reaction on each mailed comment, and the records
        # of which comment each mail was about, for its bounces; None: no reach.
        reactions: Reactions | None = None,
        sent: SentMail | None = None,
    ) -> None:
        self._routes = routes
        self._participants = participants
        self._suppressions = suppressions
        self._claims = claims
        self._mailer = mailer
        self._unsubscribe_url = unsubscribe_url
        self._authors = authors
        self._github_api_url = github_api_url
        self._claim_hold = claim_hold
        self._clock = clock
        self._reactions = reactions
        self._sent = sent

    def handle(self, body: str, deadline: Deadline) -> list[Outgoing]:
        """The decisions for one queue message. Raises RetryLater when any is retryable, after
        logging them all, and UnreadableMessage for a message that is neither kind.
        No send starts after ``deadline``: the invocation's end, less the time a send takes."""
        message = read_message(body)
        if isinstance(message, WorkItem):
            decisions = self.mail(message, deadline)
            context = {"delivery": message.delivery, "repo": message.repo, "issue": message.issue}
        else:
            decisions = self.record_feedback(message, deadline)
            context = {}
        for decision in decisions:
            _log(decision, context)
        failed = [decision.reason for decision in decisions if decision.retryable]
        if failed:
            raise RetryLater("will be retried: " + ", ".join(sorted(set(failed))))
        return decisions

    def mail(self, item: WorkItem, deadline: Deadline) -> list[Outgoing]:
        """Who gets a mail about ``item``, then each mail composed and sent once."""
        try:
            authorship = self._authorship(item)
            conversation, suppressed = self._conversation(item)
        except _Settled as settled:
            return [settled.decision]
        chosen, decisions = recipients(
            item, self._routes, conversation.participants, suppressed, authorship
        )
        decisions += self._send_each(item, chosen, conversation.root, authorship, deadline)
        return decisions + self._reach(item, decisions, deadline)

    def record_feedback(
        self, feedback: Feedback, deadline: Deadline | None = None
    ) -> list[Outgoing]:
        """Suppresses the addresses that bounced for good or complained; with reach, marks the
        comment the mail was about ``confused`` (no request made after ``deadline``)."""
        if feedback.nothing_to_do:
            return [Outgoing("skip", Reason.FEEDBACK_NO_ACTION, feedback.detail)]
        decisions = []
        for address in feedback.addresses:
            digest = address_digest(address)
            try:
                self._suppressions.suppress(address, feedback.kind)
            except ParticipantStoreError as error:
                decisions.append(
                    Outgoing(
                        "skip", Reason.SUPPRESSION_STORE_UNAVAILABLE, error.detail, digest, True
                    )
                )
                continue
            decisions.append(Outgoing("skip", Reason.SUPPRESSED, feedback.detail, digest))
        return decisions + self._mark_bounced(feedback, deadline or Deadline.never())

    def _reach(
        self, item: WorkItem, decisions: list[Outgoing], deadline: Deadline
    ) -> list[Outgoing]:
        """Reach, the last step: the SES ids of the comment's fresh mails recorded, so that
        their bounces find it, then the reaction its decisions call for (reach.reaction_for).
        A reaction GitHub may take later is retried: the claims mail nobody twice."""
        if self._reactions is None or item.event != "issue_comment" or item.comment_id is None:
            return []
        comment = SentComment(item.repo, item.issue, item.comment_id)
        outcomes = []
        fresh = [decision.ses_id for decision in decisions if decision.ses_id]
        if fresh and self._sent is not None:
            try:
                self._sent.record(fresh, comment)
            except SentMailError as error:
                # Not retried: the redelivery sends nothing afresh, so it records nothing.
                detail = (
                    f"{error.detail}: a bounce of the {len(fresh)} mail(s) about comment "
                    f"{comment.comment_id} will not mark it"
                )
                outcomes.append(Outgoing("react", error.reason, detail))
        content = reaction_for(decisions)
        if content is None:
            return outcomes
        return [*outcomes, self._react(comment, content, reach_summary(decisions), deadline)]

    def _mark_bounced(self, feedback: Feedback, deadline: Deadline) -> list[Outgoing]:
        """``confused`` on the comment a bounced or complained-of mail was about, when the
        outbox sent it (a sender's notice is about none)."""
        if self._reactions is None or self._sent is None or not feedback.message_id:
            return []
        try:
            comment = self._sent.of(feedback.message_id)
        except SentMailError as error:
            return [Outgoing("react", error.reason, error.detail, retryable=True)]
        if comment is None:
            return []
        return [self._react(comment, "confused", feedback.detail, deadline)]

    def _react(
        self, comment: SentComment, content: ReactionContent, why: str, deadline: Deadline
    ) -> Outgoing:
        """The reaction set with the credential of the repository's route that mails its
        participants."""
        where = f"comment {comment.comment_id} on {comment.repo}#{comment.issue}"
        route = reacting_route(self._routes, comment.repo)
        if route is None or self._reactions is None:
            detail = (
                f"no route of {comment.repo} mails participants now: {where} not marked {content}"
            )
            return Outgoing("react", Reason.REACTION_FAILED, detail)
        try:
            made = self._reactions.react(route, comment.repo, comment.comment_id, content, deadline)
        except TicketRouterError as error:
            if error.transient:
                detail = f"{content} on {where} not set yet: {error.detail}"
                return Outgoing("react", Reason.REACTION_UNAVAILABLE, detail, retryable=True)
            detail = f"{content} on {where} refused: {error.detail}"
            return Outgoing("react", Reason.REACTION_FAILED, detail)
        there = "" if made else " (it was there already)"
        return Outgoing("react", Reason.REACTED, f"{content} on {where}{there}: {why}")

    def _authorship(self, item: WorkItem) -> Authorship | None:
        """Whom a comment posted from a mail came from, None for anything else; _Settled for
        a comment we posted that mails nobody. Decided before the participants are read: our
        own comments need no participant store, not even a working one."""
        mail = posted_mail(item)
        if mail is None:
            if own_comment(item, self._routes):
                detail = f"comment {item.comment_id} on {ref(item)} was made by a route's App"
                raise _Settled(Outgoing("skip", Reason.OWN_COMMENT, detail))
            return None
        if forged_marker(item, self._routes):
            detail = (
                f"comment {item.comment_id} on {ref(item)} carries a mail's marker, "
                "but no route's App made it"
            )
            raise _Settled(Outgoing("skip", Reason.OWN_COMMENT, detail))
        try:
            authorship = self._authors.of(mail)
        except ParticipantStoreError as error:
            raise _Settled(_unavailable(error)) from None
        if authorship is None:
            # Posted before senders were recorded, or its record expired.
            detail = (
                f"comment {item.comment_id} on {ref(item)} was posted from a mail "
                "whose sender is not recorded"
            )
            raise _Settled(Outgoing("skip", Reason.OWN_COMMENT, detail))
        self._first_with(mail, item)
        return authorship

    def _first_with(self, mail: str, item: WorkItem) -> None:
        """_Settled unless ``item`` is the first comment seen on its issue carrying ``mail``'s
        marker: a mail is posted once on each issue (its marker is searched for first), so a
        later one there copied the marker from it, which anyone who reads the comment's
        Markdown can. Where every route posts as a GitHub App, ``forged_marker`` already tells;
        a token posts as a person."""
        comment = PostedComment(id=item.comment_id or 0, url="")
        try:
            claimed = self._claims.once(
                posted_key(mail, item.repo, item.issue),
                lambda: comment,
                Deadline.within(self._claim_hold),
            )
        except TicketRouterError as error:
            decision = Outgoing("skip", error.reason, error.detail, retryable=error.transient)
            raise _Settled(decision) from None
        if claimed.comment.id != comment.id:
            detail = (
                f"comment {item.comment_id} on {ref(item)} carries the marker of the mail "
                f"posted as comment {claimed.comment.id}"
            )
            raise _Settled(Outgoing("skip", Reason.OWN_COMMENT, detail))

    def _conversation(self, item: WorkItem) -> tuple[Conversation, set[str]]:
        """The issue's conversation and which of its participants' addresses are suppressed."""
        try:
            conversation = self._participants.of(item.repo, item.issue)
            addresses = [participant.address for participant in conversation.participants]
            suppressed = self._suppressions.suppressed(addresses) if addresses else set()
        except ParticipantStoreError as error:
            raise _Settled(_unavailable(error)) from None
        return conversation, suppressed

    def _send_each(
        self,
        item: WorkItem,
        chosen: list[Recipient],
        root: str | None,
        authorship: Authorship | None,
        deadline: Deadline,
    ) -> list[Outgoing]:
        """Each recipient's mail, on the GitHub of the route they wrote to."""
        decisions = []
        for recipient in chosen:
            update = update_of(item, web_url(recipient.route, self._github_api_url), authorship)
            decision = self._send(item, update, recipient, root, deadline)
            decisions.append(self._introduced(item, recipient, decision))
        return decisions

    def _introduced(self, item: WorkItem, recipient: Recipient, decision: Outgoing) -> Outgoing:
        """A copied colleague's mail, freshly sent, said why they get it: recorded so that the
        next one does not. Not recorded, the next one says it again: a detail, not a retry."""
        if not recipient.participant.copied_by or decision.reason != Reason.MAILED:
            return decision
        try:
            self._participants.introduced(item.repo, item.issue, decision.participant)
        except ParticipantStoreError as error:
            detail = f"{decision.detail}; not recorded as told why they get it: {error.detail}"
            return replace(decision, detail=detail)
        return decision

    def _send(
        self,
        item: WorkItem,
        update: Update,
        recipient: Recipient,
        root: str | None,
        deadline: Deadline,
    ) -> Outgoing:
        """Compose the participant's mail, then send it under a claim on the event and the
        participant: a redelivered message, or the same event from a second webhook, mails
        nobody twice. The claim is held for ``claim_hold``, not the invocation's time, so that
        no redelivery takes over from a holder that died while sending; a send whose outcome is
        unknown completes it: never twice, at the risk of never (docs/outbound.md#never-twice)."""
        participant = recipient.participant
        digest = address_digest(participant.address)
        from_address = participant.issue_address(item.issue)
        try:
            link = self._unsubscribe_url(item.repo, item.issue, participant.address)
        except OutboundError as error:
            return Outgoing("skip", error.reason, error.detail, digest, error.transient)
        try:
            raw = compose(
                item, update, recipient, root=root, unsubscribe_url=link, now=self._clock()
            )
        except ValueError:
            # The error's text quotes the address: the log says what, not whom.
            detail = "the address or the event cannot be written into a mail"
            return Outgoing("skip", Reason.UNMAILABLE, detail, digest)
        if deadline.remaining() <= 0:
            # Cut short by the timeout, the send would hold its claim for claim_hold.
            detail = "too little time left to send the mail and record it"
            return Outgoing("skip", Reason.OUT_OF_TIME, detail, digest, retryable=True)
        lost: list[MailOutcomeUnknown] = []

        def send() -> PostedComment:
            # A claim records a post as (id, url): here SES's message id, none when unknown.
            try:
                message_id = self._mailer.send(from_address, participant.address, raw)
            except MailOutcomeUnknown as error:
                lost.append(error)
                return PostedComment(id=0, url="")
            return PostedComment(id=0, url=message_id)

        try:
            claimed = self._claims.once(
                sent_key(item, recipient), send, Deadline.within(self._claim_hold)
            )
        except TicketRouterError as error:
            # SES failed, or the claim is another invocation's or out of reach.
            return Outgoing("skip", error.reason, error.detail, digest, error.transient)
        if lost:
            detail = f"{lost[0].detail}: recorded as mailed from {from_address}, not sent again"
            return Outgoing("mail", Reason.MAIL_OUTCOME_UNKNOWN, detail, digest)
        if claimed.fresh:
            # The claim's url is the id SES gave the mail just sent.
            detail = f"mailed from {from_address}"
            return Outgoing("mail", Reason.MAILED, detail, digest, ses_id=claimed.comment.url)
        return Outgoing(
            "mail", Reason.ALREADY_MAILED, f"already mailed from {from_address}", digest
        )


class _Settled(Exception):
    """Ends ``Outbox.mail`` early with its one decision."""

    def __init__(self, decision: Outgoing) -> None:
        super().__init__(decision.detail)
        self.decision = decision


def _unavailable(error: ParticipantStoreError) -> Outgoing:
    return Outgoing("skip", Reason.PARTICIPANT_STORE_UNAVAILABLE, error.detail, retryable=True)


def handle_batch(event: Mapping[str, Any], outbox: Outbox, deadline: Deadline) -> dict[str, Any]:
    """An SQS batch: ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}``, the
    messages SQS must deliver again (ReportBatchItemFailures); a message whose handling raised
    is one of them, and after the queue's last retry it goes to the dead-letter queue.

    Written out rather than Powertools' batch utility, whose import brings asyncio and every
    event type's data classes (a tenth of the outbox's cold start) for this loop.
    """
    failed: list[dict[str, str]] = []
    for record in event.get("Records") or ():
        try:
            outbox.handle(record.get("body") or "", deadline)
        # A message that cannot be handled must not cost the others theirs, nor fail the batch.
        except RetryLater:
            # Its decisions, each with its reason, are logged.
            failed.append({"itemIdentifier": record.get("messageId", "")})
        except Exception as error:  # noqa: BLE001
            logger.warning(
                "message not handled",
                extra={"message_id": record.get("messageId"), "error": type(error).__name__},
            )
            # An empty identifier makes Lambda deliver the whole batch again: nothing is lost.
            failed.append({"itemIdentifier": record.get("messageId", "")})
    return {"batchItemFailures": failed}


def _log(decision: Outgoing, context: dict[str, Any]) -> None:
    fields = {
        **context,
        "action": decision.action,
        "reason": decision.reason,
        "detail": decision.detail,
        "participant": decision.participant or None,
        "retryable": decision.retryable,
    }
    warned = decision.retryable or decision.reason in _WARNED
    logger.log(logging.WARNING if warned else logging.INFO, "update", extra=fields)
