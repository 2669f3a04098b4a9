"""Reach: which reaction our credential sets on a mailed comment, so that maintainers see on
GitHub whether it reached the mail participants; and the interfaces it goes through.

Pure. Why these reactions, and when: docs/replies.md#reach."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from handler.reasons import Reason, TicketRouterError

if TYPE_CHECKING:
    from handler.deadline import Deadline
    from handler.outbound.outbox import Outgoing
    from handler.routing import Route, Routes

# GitHub's names (https://docs.github.com/en/rest/reactions/reactions#about-reactions).
ReactionContent = Literal["rocket", "confused"]

# The participant has the mail, or SES took it and its answer was lost (never sent again).
REACHED = frozenset({Reason.MAILED, Reason.ALREADY_MAILED, Reason.MAIL_OUTCOME_UNKNOWN})
# The comment was not for them: their own mail, a copy they have, or a route that no longer
# mails them. Not a failure to reach anyone.
NOT_FOR_THEM = frozenset(
    {
        Reason.AUTHOR,
        Reason.COPIED_ON_MAIL,
        Reason.OWN_COMMENT,
        Reason.NO_PARTICIPANTS,
        Reason.ROUTE_NOT_NOTIFYING,
        Reason.SENDER_NOT_ALLOWED,
    }
)


@dataclass(frozen=True)
class SentComment:
    """The comment a mail we sent was about."""

    repo: str
    issue: int
    comment_id: int


class SentMailError(TicketRouterError):
    """The records of sent mail cannot be read or written (the claims table)."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.CLAIM_STORE_UNAVAILABLE, detail)


class SentMail(Protocol):
    """Which comment each mail we sent was about, by its SES message id, for as long as SES
    may send feedback on it. Each raises SentMailError."""

    def record(self, message_ids: Sequence[str], comment: SentComment) -> None:
        """Keeps ``comment`` under each SES message id of ``message_ids``."""
        ...

    def of(self, message_id: str) -> SentComment | None:
        """The comment the mail ``message_id`` was about; None when it was about none (a
        notice, a state change) or the record expired."""
        ...


class Reactions(Protocol):
    """Reactions on issue comments, with a route's GitHub credential."""

    def react(
        self,
        route: Route,
        repo: str,
        comment_id: int,
        content: ReactionContent,
        deadline: Deadline,
    ) -> bool:
        """Sets ``content`` on the comment with ``route``'s credential: True when made, False
        when it was there already. Raises TicketRouterError (``transient`` when a later try
        may set it: GitHub unreachable, a secret unreadable)."""
        ...


def reaction_for(decisions: Iterable[Outgoing]) -> ReactionContent | None:
    """The reaction a comment's per-participant decisions call for: ``confused`` when one
    participant it was for was not reached (a failure no retry changes), else ``rocket`` when
    one was reached and none is still to be retried, else none: nobody was for it, or the
    redelivery that finishes the sends decides."""
    reached = pending = False
    for decision in decisions:
        if decision.action == "react":
            continue
        if decision.reason in REACHED:
            reached = True
        elif decision.retryable:
            pending = True
        elif decision.reason not in NOT_FOR_THEM:
            # Suppressed, unmailable, SES-rejected; any other refusal for good too (a link that
            # cannot be signed): maintainers had better look than be told that all went well.
            return "confused"
    return "rocket" if reached and not pending else None


def reach_summary(decisions: Iterable[Outgoing]) -> str:
    """How many participants the comment reached, and why the others were not ("2 of 3
    participants reached; not: suppressed"), for the reaction's log line."""
    reached = missed = 0
    why: dict[str, None] = {}
    for decision in decisions:
        if decision.action == "react" or decision.reason in NOT_FOR_THEM:
            continue
        if decision.reason in REACHED:
            reached += 1
        else:
            missed += 1
            why[decision.reason] = None
    summary = f"{reached} of {reached + missed} participants reached"
    return summary + (f"; not: {', '.join(why)}" if why else "")


def reacting_route(routes: Routes, repo: str) -> Route | None:
    """The route whose credential reacts on ``repo``'s comments: its first route that mails
    participants, the one whose GitHub the comments are on; None when no route does now."""
    for route in routes.routes:
        if route.repo.lower() == repo.lower() and route.notify_participants:
            return route
    return None
