"""Exactly one comment per (mail, issue), and one new issue per (mail, repository), however often
a mail is delivered, retried or replayed: the claim interface the service posts under, and the
record of the POSTs sent under a claim.

The design (a claim in DynamoDB, a marker in the posted body for what a claim cannot see, and
the posting record that says when to look for it) is in docs/architecture.md.
"""

from __future__ import annotations

import threading
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


class Postings(Protocol):
    """When the latest POST under each claim key was sent, kept for as long as the claim: a
    later attempt that finds one does not post before a late-applied POST would show, and
    searches for its marker first (handler.github.client)."""

    def sent_at(self, key: str) -> float | None:
        """The moment (epoch seconds) recorded for ``key``, if any."""
        ...

    def sending(self, key: str, at: float) -> None:
        """Records ``at`` for ``key`` before the POST is sent; ClaimStoreError when it cannot
        be (nothing is posted then)."""
        ...

    def settled(self, key: str) -> None:
        """Forgets ``key``'s record: GitHub refused the POST, so nothing was created."""
        ...


class MemoryPostings:
    """Posting records of this process only (no table: the CLI, tests)."""

    def __init__(self) -> None:
        self._sent: dict[str, float] = {}
        self._lock = threading.Lock()

    def sent_at(self, key: str) -> float | None:
        return self._sent.get(key)

    def sending(self, key: str, at: float) -> None:
        with self._lock:
            self._sent[key] = at

    def settled(self, key: str) -> None:
        with self._lock:
            self._sent.pop(key, None)


@dataclass(frozen=True)
class PostingOf:
    """The posting record of one claim key, as the GitHub client takes it
    (handler.github.posts.Posting)."""

    postings: Postings
    key: str

    def sent_at(self) -> float | None:
        return self.postings.sent_at(self.key)

    def sending(self, at: float) -> None:
        self.postings.sending(self.key, at)

    def settled(self) -> None:
        self.postings.settled(self.key)
