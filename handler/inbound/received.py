"""What SES's own Received field says: for whom SES accepted a mail, and when.

Pure. SES writes one Received field at the top of every stored mail (RFC 5321 4.4):
``from <helo> (<rdns> [<ip>]) by inbound-smtp... with SMTP id <id> for <rcpt>; <date-time>``.
Only the HELO name in it is the sender's, and it comes before SES's own clauses, so the ``for``
clause is read where SES writes it, right before the last ``;``, and the date after it.

The rules, and why: docs/inbound.md#received.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# The for clause (RFC 5321: "for" <mailbox>) that ends the clauses, angle brackets optional.
_FOR_RECIPIENT = re.compile(r"\sfor\s+<?([^\s<>;@]+@[^\s<>;@]+)>?\s*$", re.IGNORECASE)


def recipient(received: str) -> str | None:
    """The address of the ``for`` clause of SES's Received field ``received``, if it has one."""
    clauses, semicolon, _ = received.rpartition(";")
    found = _FOR_RECIPIENT.search(clauses if semicolon else received)
    return found.group(1) if found else None


def received_at(received: str) -> float | None:
    """When SES received the mail (epoch seconds): the date-time after the last ``;`` of its
    Received field ``received``, None when there is none that parses."""
    _, semicolon, stamp = received.rpartition(";")
    return _mail_date(stamp) if semicolon else None


def event_time(stamp: object) -> float | None:
    """An SES event's ``mail.timestamp`` (ISO 8601, "2026-11-23T09:14:03.000Z") as epoch
    seconds; None when it is missing or malformed."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _mail_date(text: str) -> float | None:
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # SES writes +0000; a date without a zone ("-0000", RFC 5322 3.3) is UTC all the same.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
