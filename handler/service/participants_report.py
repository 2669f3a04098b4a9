"""Who an issue's mail conversation reaches: ``ticket-router participants owner/repo#45``.

Each participant with their state (subscribed, suppressed, unsubscribed), how they joined and
their latest mail. Addresses are shown masked (handler.inbound.masking) and by digest, as the
table and the unsubscribe links name them: the output may end up in a ticket or a chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from handler.inbound.masking import masked, masked_words
from handler.outbound.participants import (
    Participant,
    Participants,
    Suppressions,
    address_digest,
)

# A display name is the sender's to choose: shown on one line, at most this long.
_NAME_LIMIT = 80


class State(StrEnum):
    SUBSCRIBED = "subscribed"
    # A participant whose address bounced for good or complained: never mailed again.
    SUPPRESSED = "suppressed"
    # Left by the link or the +unsubscribe address: the store keeps their digest only.
    UNSUBSCRIBED = "unsubscribed"
    # What --address says of an address the issue does not know.
    NOT_A_PARTICIPANT = "not-a-participant"


@dataclass(frozen=True)
class Row:
    """One person of the conversation, as far as it may be shown."""

    state: State
    digest: str
    # The masked address; "" for one who unsubscribed (the store kept no address).
    address: str = ""
    # Who copied them in, while their first update has not yet told them why; else "".
    copied_by: str = ""
    # Epoch seconds: their latest mail, and when they unsubscribed.
    latest: float | None = None
    left: float | None = None
    # Bounced for good or complained, for every issue: the state of a participant, and what
    # --address adds for an address that is none.
    suppressed: bool = False

    @property
    def joined(self) -> str:
        """How they came to get the issue's mail."""
        if self.state is State.NOT_A_PARTICIPANT:
            return ""
        if self.copied_by:
            return f"copied by {self.copied_by}, not yet told"
        # The store forgets who copied them once told: both then get the mail as writers do.
        return "wrote or told" if self.state is not State.UNSUBSCRIBED else ""

    def line(self) -> str:
        """One line of text: state, masked address, digest, how they joined, the time."""
        fields = [f"{self.state:<12}", self.address or "-", self.digest]
        if self.state is State.UNSUBSCRIBED:
            fields.append(f"left {iso(self.left)}")
        elif self.state is State.NOT_A_PARTICIPANT:
            fields.append("suppressed for every issue" if self.suppressed else "")
        else:
            fields += [self.joined, f"latest mail {iso(self.latest)}"]
        return "  ".join(fields).rstrip()

    def as_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "address": self.address or None,
            "digest": self.digest,
            "copied_by": self.copied_by or None,
            "latest_mail": iso(self.latest) if self.latest is not None else None,
            "left": iso(self.left) if self.left is not None else None,
            "suppressed": self.suppressed,
        }


def conversation_rows(
    participants: Participants, suppressions: Suppressions, repo: str, issue: int
) -> tuple[Row, ...]:
    """Everyone the store knows for ``repo#issue``: those who get (or would get) its mail in the
    store's order, then those who left, earliest first. Raises ParticipantStoreError."""
    conversation = participants.of(repo, issue)
    found = conversation.participants
    suppressed = suppressions.suppressed([p.address for p in found]) if found else set()
    rows = [_row(p, p.address.lower() in suppressed) for p in found]
    rows += [
        Row(State.UNSUBSCRIBED, departure.digest, left=departure.at)
        for departure in sorted(conversation.left, key=lambda departure: departure.at)
    ]
    return tuple(rows)


def address_row(rows: tuple[Row, ...], suppressions: Suppressions, address: str) -> Row:
    """What ``rows`` (an issue's) say of ``address``, or that it is none of theirs and whether
    it is suppressed all the same. Raises ParticipantStoreError."""
    digest = address_digest(address)
    for row in rows:
        if row.digest == digest:
            return row
    suppressed = bool(suppressions.suppressed([address]))
    return Row(State.NOT_A_PARTICIPANT, digest, masked(address), suppressed=suppressed)


def iso(at: float | None) -> str:
    """``2026-11-23T09:13:51Z``, or ``-`` when unknown."""
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(participant: Participant, suppressed: bool) -> Row:
    return Row(
        State.SUPPRESSED if suppressed else State.SUBSCRIBED,
        address_digest(participant.address),
        masked(participant.address),
        copied_by=_name(participant.copied_by),
        latest=participant.latest,
        suppressed=suppressed,
    )


def _name(name: str) -> str:
    """A display name on one line, printable, any address in it masked."""
    printable = "".join(c if c.isprintable() else " " for c in name)
    return masked_words(printable)[:_NAME_LIMIT]
