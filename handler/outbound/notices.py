"""Telling the sender, when a route asks for it, why a mail was not posted (or that it was):
which decision deserves a notice, and the notice written as a mail.

Who gets one, and why: docs/outbound.md#notices."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Literal, Protocol

from handler.inbound.authenticity import Assessment
from handler.inbound.autoreply import detect_automated
from handler.inbound.mail import Message
from handler.inbound.plan import Decision
from handler.inbound.threads import confirmation_id
from handler.inbound.titles import reply_subject
from handler.reasons import Reason
from handler.routing import Route
from handler.routing.domains import is_subdomain

# Reasons a sender can act on, and what to tell them. Each text is complete without the mail.
_REJECTED = {
    Reason.SENDER_NOT_ALLOWED: (
        "Your mail to {recipient} was not posted: mail from {domain} is not accepted at this "
        "address. If you should be able to write here, ask the project's maintainers to add "
        "your domain."
    ),
    Reason.ISSUE_NOT_FOUND: (
        "Your mail to {recipient} was not posted: there is no issue {issue} to comment on. "
        "Check the issue number in the address."
    ),
    Reason.ISSUE_LOCKED: (
        "Your mail to {recipient} was not posted: issue {issue} is locked, so new comments "
        "are not accepted."
    ),
    Reason.ENCRYPTED_MAIL: (
        "Your mail to {recipient} was not posted: it was encrypted, and encrypted mail cannot "
        "be read here. Send it again unencrypted (a signature is fine)."
    ),
    Reason.EMPTY_BODY: (
        "Your mail to {recipient} was not posted: it had no text and no attachment. Write your "
        "reply in the mail's body."
    ),
}
_CONFIRMED = Reason.POSTED
# A retry finds the issue already opened: confirmed all the same, the key keeps it to one.
_OPENED = frozenset({Reason.OPENED, Reason.ALREADY_OPENED})
# A mail to a new-issue address with nothing in it: there was no reply to write above.
_EMPTY_NEW_ISSUE = (
    "Your mail to {recipient} did not open an issue: it has no subject, no text and no attachment."
)
_FOOTER = "This is an automatic message."

_KEY_PREFIX = "notice"
# Plain ASCII addresses only: SES needs SMTPUTF8 for anything else, and a header value must not
# hide a line break or a second address.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[a-z0-9.-]{1,253}")
_MESSAGE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,250}")
# What a notice about a mail without a subject is called.
_NO_SUBJECT = "Re: your mail"

# What became of a notice: not a reason, as a notice never changes what happened to the mail.
NoticeOutcome = Literal["sent", "rate-limited", "suppressed", "failed"]


@dataclass(frozen=True)
class Notice:
    """One plain-text mail to the sender of a mail we received."""

    reason: Reason
    to: str
    # The address the sender wrote to: a route domain, so SES can send from it.
    from_: str
    subject: str
    # The Message-ID of the mail answered (without <>), None when it had no usable one.
    in_reply_to: str | None
    text: str
    # The notice's own Message-ID (without <>) when it must be known in advance.
    message_id: str | None = None
    # Narrows the daily limit: a confirmation of a new issue is once per issue.
    scope: str = ""


class Notifier(Protocol):
    def send(self, notice: Notice) -> str:
        """Sends ``notice`` at most once per ``notice_key``; a NoticeOutcome: ``sent``,
        ``rate-limited`` (already told), ``suppressed`` (the address bounced or complained) or
        ``failed`` (logged). A notice never changes what happened to the mail."""
        ...


def notice_for(
    decision: Decision,
    message: Message,
    assessment: Assessment,
    route: Route | None,
    *,
    own_domains: Collection[str] = (),
) -> Notice | None:
    """The notice ``decision`` deserves under ``route``, or None.

    ``own_domains`` are every route's domains (normal form); the route's own is always one.
    """
    if route is None or decision.retryable:
        return None
    reason = decision.reason
    if reason == _CONFIRMED:
        if not route.confirm or decision.action != "comment" or not decision.url:
            return None
    elif reason in _OPENED:
        if not route.confirm or decision.action != "open" or not decision.url:
            return None
    elif reason not in _REJECTED or not route.notify or decision.action != "reject":
        return None
    sender = assessment.sender
    if not assessment.ok or sender is None or len(message.from_) != 1:
        return None
    if detect_automated(message, None) is not None:
        return None
    ours = {route.domain, *own_domains}
    if any(sender.domain == own or is_subdomain(sender.domain, own) for own in ours):
        return None
    to, from_ = sender.addr, decision.recipient.strip().strip("<>").strip().lower()
    if not _PLAIN_ADDRESS.fullmatch(to) or not _PLAIN_ADDRESS.fullmatch(from_):
        return None
    message_id = message.message_id
    in_reply_to = message_id if message_id and _MESSAGE_ID.fullmatch(message_id) else None
    if reason in _OPENED:
        return _opened(decision, route, to, in_reply_to, message.subject)
    if reason == _CONFIRMED:
        text = (
            f"Your mail to {from_} was posted as a comment: {decision.url}\n\n"
            "Reply to this mail to add another comment."
        )
    elif reason == Reason.EMPTY_BODY and decision.issue is None:
        text = _EMPTY_NEW_ISSUE.format(recipient=from_)
    else:
        text = _REJECTED[reason].format(recipient=from_, domain=sender.domain, issue=decision.issue)
    return Notice(
        reason=reason,
        to=to,
        from_=from_,
        subject=reply_subject(message.subject, otherwise=_NO_SUBJECT),
        in_reply_to=in_reply_to,
        text=f"{text}\n\n-- \n{_FOOTER}\n",
    )


def _opened(
    decision: Decision, route: Route, to: str, in_reply_to: str | None, subject: str
) -> Notice:
    """The confirmation of a new issue, from the address that comments on it."""
    reply_to = f"{route.prefix}{decision.issue}@{route.domain}"
    text = (
        f"Your mail opened issue #{decision.issue} in {decision.repo}: {decision.url}\n\n"
        f"Reply to this mail, or write to {reply_to}, to add a comment to it."
    )
    return Notice(
        reason=Reason.OPENED,
        to=to,
        from_=reply_to,
        subject=reply_subject(subject, otherwise=_NO_SUBJECT),
        in_reply_to=in_reply_to,
        text=f"{text}\n\n-- \n{_FOOTER}\n",
        message_id=confirmation_id(decision.mail or "", route.domain),
        scope=f"{(decision.repo or '').lower()}#{decision.issue}",
    )


def notice_key(notice: Notice, now: float) -> str:
    """The rate-limit key: sender (hashed, so the table holds no address), reason, UTC day;
    for a scoped notice (the confirmation of one issue) the scope instead of the day: once."""
    digest = hashlib.sha256(notice.to.lower().encode()).hexdigest()
    if notice.scope:
        return f"{_KEY_PREFIX}#{digest}#{notice.reason}#{notice.scope}"
    day = datetime.fromtimestamp(now, UTC).date().isoformat()
    return f"{_KEY_PREFIX}#{digest}#{notice.reason}#{day}"


def render_notice(notice: Notice, *, now: float, domain: str) -> bytes:
    """The notice as a MIME message: plain text, marked as an automatic reply (RFC 3834)."""
    mime = EmailMessage(policy=SMTP)
    mime["From"] = notice.from_
    mime["To"] = notice.to
    mime["Subject"] = notice.subject
    mime["Date"] = formatdate(now, usegmt=True)
    mime["Message-ID"] = (
        f"<{notice.message_id}>" if notice.message_id else make_msgid(domain=domain)
    )
    if notice.in_reply_to is not None:
        mime["In-Reply-To"] = f"<{notice.in_reply_to}>"
        mime["References"] = f"<{notice.in_reply_to}>"
    mime["Auto-Submitted"] = "auto-replied"
    # Asks Exchange and others not to answer with their own auto-replies.
    mime["X-Auto-Response-Suppress"] = "All"
    mime.set_content(notice.text)
    return mime.as_bytes()
