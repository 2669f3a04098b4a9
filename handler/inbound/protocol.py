"""Protocol parts of a mail, which are not the author's files: calendar invitations, signatures,
encryption, Outlook's TNEF (winmail.dat), and mails forwarded as message/rfc822 parts.

Pure: no I/O. The rules, and why: docs/inbound.md#protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from handler.inbound.headers import Address


@dataclass(frozen=True)
class CalendarEvent:
    """One event of a text/calendar part, as a comment shows it."""

    # iTIP's METHOD of the calendar ("REQUEST", "CANCEL", "REPLY", "PUBLISH"; "" if none).
    method: str
    summary: str
    # As shown: "2025-01-20 14:00 (Europe/Berlin)", "2025-01-20" for an all-day event; "" if none.
    start: str
    end: str
    location: str
    organizer: Address | None


@dataclass(frozen=True)
class Forwarded:
    """A mail forwarded inside this one (a message/rfc822 part), as a comment shows it."""

    sender: Address | None
    # The Date field as written ("" if none).
    date: str
    subject: str
    # Its text (a plain-text part, else its HTML as Markdown), untrimmed: the forward is the report.
    text: str
