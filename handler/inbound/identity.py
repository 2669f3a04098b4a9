"""A mail's identity, and the claim keys derived from it: one comment per (mail, issue), one
new issue per (mail, repository), however often the mail is delivered, retried or replayed."""

from __future__ import annotations

import hashlib
import re

from handler.inbound.authenticity import SES_FIELDS
from handler.inbound.mail import Message


def mail_key(message: Message, raw: bytes) -> str:
    """The mail's identity: Message-ID and From, or, without a Message-ID, the mail's bytes."""
    sender = message.from_[0].addr.lower() if message.from_ else ""
    if message.message_id:
        identity = f"{message.message_id}\n{sender}".encode()
    else:
        # The sender's part only: SES's block differs between two stored copies.
        identity = raw[_ses_block_length(message, raw) :]
    return hashlib.sha256(identity).hexdigest()[:32]


def claim_key(repo: str, issue: int, mail: str) -> str:
    return f"{repo.lower()}#{issue}#{mail}"


def open_key(repo: str, mail: str) -> str:
    """The claim of the issue ``mail`` opens in ``repo``: one issue per mail and repository."""
    return f"{repo.lower()}#new#{mail}"


def _ses_block_length(message: Message, raw: bytes) -> int:
    """Where the sender's own header starts: after SES's block of prepended fields."""
    first_own = next((name for name, _ in message.headers if name.lower() not in SES_FIELDS), None)
    if first_own is None:
        return 0
    found = re.search(rb"(?m)^" + re.escape(first_own.encode()) + rb":", raw)
    return found.start() if found else 0
