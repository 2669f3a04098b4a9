"""Telling the sender why a mail was not posted, when they can fix it (or, when a route asks,
where it was): which decision deserves a notice, its text (built in, or the route's own) and
the notice written as a mail.

Who gets one, and why: docs/outbound.md#notices."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from types import MappingProxyType
from typing import Literal, Protocol

from handler.inbound.authenticity import Assessment
from handler.inbound.autoreply import detect_automated
from handler.inbound.mail import Message
from handler.inbound.plan import Decision, route_of
from handler.inbound.threads import confirmation_id
from handler.inbound.titles import reply_subject
from handler.reasons import Reason
from handler.routing import Route, Routes
from handler.routing.domains import normalize_domain
from handler.routing.templates import NOTICE_PLACEHOLDERS, template_parts

_TRY_AGAIN = "Send it again to one of them, with the issue's number in place of <issue number>."
# The built-in texts, each complete without the mail. A route's ``notices:`` replaces any of
# them; handler.routing.templates says which placeholders each may use.
TEXTS: Mapping[Reason, str] = MappingProxyType(
    {
        Reason.NO_ROUTE: (
            "Your mail to {recipient} was not posted: nothing receives mail at that address. "
            "The addresses here are:\n{addresses}\n\n" + _TRY_AGAIN
        ),
        Reason.INVALID_ISSUE_NUMBER: (
            "Your mail to {recipient} was not posted: that address names no issue. "
            "The addresses here are:\n{addresses}\n\n" + _TRY_AGAIN
        ),
        Reason.SENDER_NOT_ALLOWED: (
            "Your mail to {recipient} was not posted: mail from {domain} is not accepted at "
            "this address. If you should be able to write here, ask {contact} to add your "
            "domain."
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
            "Your mail to {recipient} was not posted: it was encrypted, and encrypted mail "
            "cannot be read here. Send it again unencrypted (a signature is fine)."
        ),
        Reason.EMPTY_BODY: (
            "Your mail to {recipient} was not posted: it had no text and no attachment. Write "
            "your message in the mail's body."
        ),
        Reason.VALIDATION_FAILED: (
            "Your mail to {recipient} was not posted: GitHub refused it as too long. Send it "
            "again shorter, or split it over several mails."
        ),
        Reason.POSTED: (
            "Your mail to {recipient} was posted as a comment: {url}\n\n"
            "Reply to this mail to add another comment."
        ),
        Reason.OPENED: (
            "Your mail opened issue #{issue} in {repo}: {url}\n\n"
            "Reply to this mail, or write to {reply_to}, to add a comment to it."
        ),
    }
)
# The recipient matched no route: the routes of its domain decide, and the first one speaks.
_UNROUTED = frozenset({Reason.NO_ROUTE, Reason.INVALID_ISSUE_NUMBER})
# A retry finds the issue already opened: confirmed all the same, the key keeps it to one.
_OPENED = frozenset({Reason.OPENED, Reason.ALREADY_OPENED})
# GitHub's 422 for a comment or issue over its limit says "body is too long (maximum is 65536
# characters)"; the rendering cuts a comment to fit, so this is the rare case it did not.
_TOO_LONG = re.compile(r"\bis too (?:long|large)\b", re.IGNORECASE)
# An address list longer than this is cut: a notice is not a directory.
_MAX_ADDRESSES = 12
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


def plain_address(address: str) -> bool:
    """True for one plain ASCII address with a lowercased domain (``Address.addr``): one our
    mails can go to, SES needing SMTPUTF8 for any other."""
    return _PLAIN_ADDRESS.fullmatch(address) is not None


def notice_for(
    decision: Decision, message: Message, assessment: Assessment, routes: Routes
) -> Notice | None:
    """The notice ``decision`` deserves, or None: never for a decision that will be retried,
    never to a sender SES did not authenticate, a machine, one of our own domains or an address
    that is not plain ASCII."""
    if decision.retryable:
        return None
    written = decision.recipient.strip().strip("<>").strip().lower()
    siblings = routes.of_domain(normalize_domain(written.rpartition("@")[2]) or "")
    route = _speaking_route(decision, route_of(routes, decision), siblings)
    sender = assessment.sender
    if route is None or not assessment.ok or sender is None or len(message.from_) != 1:
        return None
    if detect_automated(message, None) is not None:
        return None
    if routes.ours(sender.domain):
        return None
    if not plain_address(sender.addr) or not plain_address(written):
        return None
    reason = Reason.OPENED if decision.reason in _OPENED else decision.reason
    values = {
        "recipient": written,
        "issue": "" if decision.issue is None else str(decision.issue),
        "domain": sender.domain,
        "repo": route.repo,
        "addresses": valid_addresses(siblings),
        "contact": (
            f"the maintainers at {route.contact}"
            if route.contact
            else f"the maintainers of {route.repo}"
        ),
        "url": decision.url or "",
        "reply_to": (
            "" if decision.issue is None else f"{route.prefix}{decision.issue}@{route.domain}"
        ),
    }
    template = dict(route.notices).get(reason, TEXTS[reason])
    message_id = message.message_id
    notice = Notice(
        reason=reason,
        to=sender.addr,
        from_=written,
        subject=reply_subject(message.subject, otherwise=_NO_SUBJECT),
        in_reply_to=message_id if message_id and _MESSAGE_ID.fullmatch(message_id) else None,
        text=f"{render_text(template, reason, values)}\n\n-- \n{_FOOTER}\n",
    )
    if reason != Reason.OPENED:
        return notice
    # A new issue is confirmed from the address that comments on it, once per issue, with a
    # Message-ID the thread map knows, so that a reply to it comments there.
    return replace(
        notice,
        from_=values["reply_to"],
        message_id=confirmation_id(decision.mail or "", route.domain),
        scope=f"{(decision.repo or '').lower()}#{decision.issue}",
    )


def _speaking_route(
    decision: Decision, route: Route | None, siblings: Sequence[Route]
) -> Route | None:
    """The route whose settings and texts make the decision's notice, None when none is due.

    ``route`` is the one the recipient went through; ``siblings`` are the routes of the
    recipient's domain, which decide for a recipient that matched none of them: told only when
    none says ``notify: false``, in the words of the first (file order).
    """
    reason, action = decision.reason, decision.action
    if reason in _UNROUTED:
        told = action == "reject" and bool(siblings) and all(each.notify for each in siblings)
        return siblings[0] if told else None
    if route is None:
        return None
    if reason == Reason.POSTED:
        due = route.confirm and action == "comment" and bool(decision.url)
    elif reason in _OPENED:
        due = route.confirm and action == "open" and bool(decision.url)
    elif reason == Reason.VALIDATION_FAILED:
        due = route.notify and action == "reject" and _TOO_LONG.search(decision.detail) is not None
    else:
        due = route.notify and action == "reject" and reason in TEXTS
    return route if due else None


def valid_addresses(routes: Sequence[Route]) -> str:
    """The address forms of ``routes`` (one domain's), one per line: what ``{addresses}`` says."""
    lines: list[str] = []
    for route in routes:
        # A name is a label for people; one line of it, whatever the file held.
        label = f" ({' '.join(route.name.split())})" if route.name else ""
        lines.append(f"- {route.prefix}<issue number>@{route.domain}: comment on that issue{label}")
        if route.new_issue_address is not None:
            lines.append(f"- {route.new_issue_address}@{route.domain}: open a new issue{label}")
    if len(lines) > _MAX_ADDRESSES:
        more = len(lines) - _MAX_ADDRESSES + 1
        lines = [*lines[: _MAX_ADDRESSES - 1], f"- and {more} more"]
    return "\n".join(lines)


def render_text(template: str, reason: Reason, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders filled from ``values``; a template is checked when
    the routes are loaded, so this never fails for one that loaded."""
    parts = template_parts(template, NOTICE_PLACEHOLDERS[reason])
    return "".join(literal + (values[name] if name else "") for literal, name in parts)


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
