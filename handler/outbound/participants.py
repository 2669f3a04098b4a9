"""Who wrote to an issue by mail (its participants, mailed what happens on GitHub), and who must
never be mailed again (addresses that bounced or complained): the values and the interfaces.

How they are kept, and why: docs/outbound.md#participants."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from handler.reasons import Reason, TicketRouterError

if TYPE_CHECKING:
    from handler.outbound.feedback import FeedbackKind


@dataclass(frozen=True)
class Participant:
    # The authenticated From address, as written (compared lowercased).
    address: str
    # The route domain and prefix they wrote to: our mails come from <prefix><issue>@<domain>.
    domain: str
    prefix: str
    # The Message-ID (without <>) of their latest mail: our mails answer it.
    last_message_id: str | None
    # The subject of their latest mail: "Re: <subject>" keeps our mails in their thread.
    subject: str = ""
    # Who copied them in (the display name the comment shows), until their first update mail
    # has said why they get it; "" for one who wrote themselves, or who was told.
    copied_by: str = ""
    # When their latest mail was received (epoch seconds), as the store read it; None for one
    # not read from a store. Not part of who they are: two reads compare equal.
    latest: float | None = field(default=None, compare=False)

    def issue_address(self, issue: int) -> str:
        """The address they wrote to for ``issue``: where our mails come from, and where their
        replies go."""
        return f"{self.prefix}{issue}@{self.domain}"


@dataclass(frozen=True)
class Departure:
    """A participant who unsubscribed: the store keeps when, by their address's digest only."""

    digest: str
    at: float


@dataclass(frozen=True)
class Conversation:
    """What the store knows of an issue's mail conversation."""

    # The one whose latest mail is the oldest first.
    participants: tuple[Participant, ...] = ()
    # The Message-ID (without <>) of the first mail recorded for the issue: every update's
    # References start with it, so that all of them thread together; None before any.
    root: str | None = None
    left: tuple[Departure, ...] = ()


@dataclass(frozen=True)
class Authorship:
    """Who a mail posted to GitHub came from, recorded before it is posted under the mail key
    its comment's marker carries: the outbox mails the comment to everyone else."""

    # address_digest of the sender SES authenticated.
    sender: str
    # How the comment names them: a display name, never an address.
    name: str
    # address_digest of every address in the mail's To and Cc: they have the mail already.
    reached: tuple[str, ...] = ()


class ParticipantStoreError(TicketRouterError):
    """The participants or the suppressions cannot be read or written; transient unless
    retrying cannot help (an issue's item that is full)."""

    def __init__(self, detail: str, *, transient: bool | None = None) -> None:
        super().__init__(Reason.PARTICIPANT_STORE_UNAVAILABLE, detail, transient=transient)


class Participants(Protocol):
    """An issue's participants. Each raises ParticipantStoreError."""

    def add(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        """Adds or refreshes ``participant`` from their mail received at ``at`` (epoch
        seconds); False, and nothing changed, for a mail older than what is known of them
        (their latest mail, or their unsubscribing)."""
        ...

    def add_copied(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        """Adds ``participant``, whom an accepted mail received at ``at`` had in To or Cc
        (``copied_by`` set); False, and nothing changed, when they are a participant already
        or ever unsubscribed from the issue: nobody is subscribed again by someone else."""
        ...

    def of(self, repo: str, issue: int) -> Conversation:
        """The issue's participants, its thread's root and who left."""
        ...

    def remove(self, repo: str, issue: int, digest: str, at: float) -> bool:
        """Takes the participant with address digest ``digest`` off as of ``at``, so that none
        of their mails received before can add them again; False when they were none, or
        wrote again after ``at``."""
        ...

    def introduced(self, repo: str, issue: int, digest: str) -> None:
        """Their first update mail said why they get it: ``copied_by`` is cleared."""
        ...


class Authors(Protocol):
    """Who each mail posted to GitHub came from. Each raises ParticipantStoreError."""

    def record(self, mail: str, authorship: Authorship) -> None:
        """Keeps ``authorship`` under the mail key ``mail`` (before the mail is posted)."""
        ...

    def of(self, mail: str) -> Authorship | None:
        """What ``record`` kept for ``mail``, None when nothing was (or it expired)."""
        ...


class Suppressions(Protocol):
    """Addresses never to mail again. Each raises ParticipantStoreError."""

    def suppress(self, address: str, kind: FeedbackKind) -> None:
        """Never mail ``address`` again: it bounced for good, or complained (``kind``)."""
        ...

    def suppressed(self, addresses: Sequence[str]) -> set[str]:
        """The lowercased ``addresses`` that must not be mailed."""
        ...


def address_digest(address: str) -> str:
    """An address as the table and the unsubscribe links name it: never the address itself."""
    return hashlib.sha256(address.lower().encode("utf-8", "surrogateescape")).hexdigest()[:32]


class NoParticipants:
    """No store (the CLI without --table): nobody is remembered, nobody is mailed."""

    def add(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        return False

    def add_copied(self, repo: str, issue: int, participant: Participant, at: float) -> bool:
        return False

    def of(self, repo: str, issue: int) -> Conversation:
        return Conversation()

    def remove(self, repo: str, issue: int, digest: str, at: float) -> bool:
        return False

    def introduced(self, repo: str, issue: int, digest: str) -> None:
        return None


class NoAuthors:
    """No store (the CLI without --table): no mail's sender is kept, and a comment made from
    mail is mailed to nobody (``own-comment``)."""

    def record(self, mail: str, authorship: Authorship) -> None:
        return None

    def of(self, mail: str) -> Authorship | None:
        return None
