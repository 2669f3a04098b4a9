"""A mail's identity, and the claim keys derived from it: one comment per (mail, issue), one
new issue per (mail, repository), however often the mail is delivered, retried or replayed."""

from __future__ import annotations

import hashlib
import re

from handler.inbound.authenticity import SES_FIELDS
from handler.inbound.headers import body_bytes, from_first_field
from handler.inbound.mail import Message


def mail_key(message: Message, raw: bytes) -> str:
    """The mail's identity: its Message-ID, From and content (Subject, Date, body), so that two
    mails reusing a Message-ID are two mails; without a Message-ID, the mail's bytes after
    SES's block. Either way a copy stored again (SES's block, its Received field) is the same
    mail."""
    sender = message.from_[0].addr.lower() if message.from_ else ""
    if message.message_id:
        identity = f"{message.message_id}\n{sender}\n".encode() + _content_digest(message, raw)
    else:
        # The sender's part only: SES's block differs between two stored copies.
        identity = raw[_ses_block_length(message, raw) :]
    return hashlib.sha256(identity).hexdigest()[:32]


def _content_digest(message: Message, raw: bytes) -> bytes:
    """SHA-256 of the Subject, the Date and the body as sent: whitespace in the two fields and
    line endings in the body normalised, so that a relay that refolded the header or stored
    the mail with LF instead of CRLF gives the same digest."""
    fields = "\n".join(
        " ".join((message.header(name) or "").split()) for name in ("Subject", "Date")
    )
    body = body_bytes(from_first_field(raw)).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    body = body.rstrip(b"\n")
    return hashlib.sha256(fields.encode("utf-8", "surrogatepass") + b"\n\n" + body).digest()


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
