"""Mail written by machines: bounces, auto-replies, bulk and list mail. Never posted.

Pure. Each rule is a header that a machine sets and a person's mail client does not; dropping a
person's reply is a lost comment, so headers that ordinary clients also send are not used:
Outlook puts ``X-Auto-Response-Suppress`` on everyday mail, and newsletters are not the only
senders of ``List-Unsubscribe``.

- bounce: an empty envelope sender (``Return-Path: <>``, RFC 5321 4.5.5), MAILER-DAEMON as
  sender, a ``multipart/report`` delivery status (RFC 6522) or ``X-Failed-Recipients``;
- auto-reply: ``Auto-Submitted`` other than ``no`` (RFC 3834), ``X-Autoreply``,
  ``X-Autorespond``, ``Precedence: auto_reply``;
- bulk-mail: ``Precedence: bulk`` / ``junk`` / ``list`` (RFC 2076 usage);
- list-mail: ``List-Id`` (RFC 2919): a copy distributed by a mailing list.
"""

from __future__ import annotations

from handler.mail import Message

_DAEMONS = {"mailer-daemon", "postmaster"}


def detect_automated(message: Message, envelope_from: str | None) -> tuple[str, str] | None:
    """``(reason, detail)`` when ``message`` was sent by a machine, else None.

    ``envelope_from`` is the SMTP MAIL FROM as SES received it (None when unknown: the mail's
    own Return-Path is not trusted, a sender writes it).
    """
    if envelope_from is not None and not envelope_from.strip().strip("<>").strip():
        return "bounce", "the envelope sender is empty (<>), as for delivery status notifications"
    senders = [a.local for a in message.from_]
    if envelope_from:
        senders.append(envelope_from.strip().strip("<>").rpartition("@")[0])
    daemon = next((s for s in senders if s.lower() in _DAEMONS), None)
    if daemon is not None:
        return "bounce", f"sent by {daemon}"
    if message.content_type == "multipart/report":
        return "bounce", "a multipart/report delivery status notification"
    if message.header("X-Failed-Recipients") is not None:
        return "bounce", "X-Failed-Recipients names undeliverable addresses"

    auto_submitted = _keyword(message.header("Auto-Submitted"))
    if auto_submitted and auto_submitted != "no":
        return "auto-reply", f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = message.header(name)
        if value is not None and value.strip().lower() not in {"no", "false", "0"}:
            return "auto-reply", f"{name}: {value.strip()}"
    precedence = _keyword(message.header("Precedence"))
    if precedence == "auto_reply":
        return "auto-reply", "Precedence: auto_reply"
    if precedence in {"bulk", "junk", "list"}:
        return "bulk-mail", f"Precedence: {precedence}"
    list_id = message.header("List-Id")
    if list_id is not None and list_id.strip():
        return "list-mail", f"List-Id: {' '.join(list_id.split())[:200]}"
    return None


def _keyword(value: str | None) -> str:
    """The leading keyword of a structured field, without parameters or comments."""
    if value is None:
        return ""
    return value.split(";", 1)[0].split("(", 1)[0].strip().lower()
