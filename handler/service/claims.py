"""Exactly one comment per (mail, issue), and one new issue per (mail, repository), however often
a mail is delivered, retried or replayed: the claim interface the service posts under.

The design (a claim in DynamoDB, and a marker in the posted body for what a claim cannot see)
is in docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from handler.deadline import Deadline
from handler.github.posts import PostedComment
from handler.reasons import Reason, TicketRouterError

# How long a claim is remembered when IDEMPOTENCY_TTL_SECONDS is unset: longer than the mail
# bucket keeps a mail (90 days by default), so any replay is recognised.
DEFAULT_CLAIM_TTL = 91 * 86400


@dataclass(frozen=True)
class Claimed:
    comment: PostedComment
    # False when the comment was posted earlier (a redelivery or a replay).
    fresh: bool


class ClaimInProgress(TicketRouterError):
    """Another invocation holds the claim right now; trying again later resolves it."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.IN_PROGRESS, detail)


class ClaimStoreError(TicketRouterError):
    """The claim store cannot be reached; nothing was posted."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.CLAIM_STORE_UNAVAILABLE, detail)


class Claims(Protocol):
    def once(self, key: str, post: Callable[[], PostedComment], deadline: Deadline) -> Claimed:
        """Run ``post`` unless a claim on ``key`` says it ran; a holder that dies releases the
        claim at ``deadline``, so that a retry takes it over."""
        ...


class NoClaims:
    """No claim store (the CLI without --table): every accepted decision is posted."""

    def once(self, key: str, post: Callable[[], PostedComment], deadline: Deadline) -> Claimed:
        return Claimed(post(), fresh=True)
