"""MIME bytes -> a typed, fully decoded Message.

Pure: no I/O. Every input, however broken, yields a Message; problems are recorded in
``Message.defects`` rather than raised, so that every mail still gets a decision.
"""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC
from email.message import Message as EmailMessage
from email.policy import compat32
from email.utils import parsedate_to_datetime
from functools import cached_property

from handler.inbound.attachments import Attachment, attachment, is_attachment, nameless
from handler.inbound.charsets import decode_header_value
from handler.inbound.headers import (
    Address,
    MimePart,
    addresses,
    from_first_field,
    message_id,
    raw_headers,
    repair_folds,
)
from handler.inbound.mime_slim import MIN_CUT, slim
from handler.inbound.protocol import CalendarEvent, Forwarded
from handler.inbound.text_parts import clean_text, text_of, unflowed


@dataclass(frozen=True)
class Message:
    # Top-level header fields in their original order: name as written, value unfolded but
    # otherwise raw (no RFC 2047 decoding), because SES's own block is judged on raw text.
    headers: tuple[tuple[str, str], ...]
    message_id: str | None
    subject: str
    from_: tuple[Address, ...]
    sender: Address | None
    content_type: str
    text: str | None
    html: str | None
    attachments: tuple[Attachment, ...] = ()
    # Protocol parts (handler.inbound.protocol): calendar events; how the mail was signed
    # ("S/MIME", "PGP"; not verified) or encrypted (None: it was not); mails forwarded as parts.
    events: tuple[CalendarEvent, ...] = ()
    signatures: tuple[str, ...] = ()
    encryption: str | None = None
    forwarded: tuple[Forwarded, ...] = ()
    # From and Sender's problems; To and Cc are parsed only when read, and theirs are not here.
    defects: tuple[str, ...] = field(default=())

    # To and Cc are parsed when first read: a megabyte of Cc costs nothing to a mail whose
    # recipients come from SES. Cached in the instance, so each is parsed once.
    @cached_property
    def to(self) -> tuple[Address, ...]:
        return addresses(self.header_all("To"), [])

    @cached_property
    def cc(self) -> tuple[Address, ...]:
        return addresses(self.header_all("Cc"), [])

    def header(self, name: str) -> str | None:
        """The first header field called ``name`` (case-insensitive), raw."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)

    def date(self) -> float | None:
        """When the sender's client says it sent the mail (epoch seconds), if it says."""
        value = self.header("Date")
        if value is None:
            return None
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        # A date without a zone is taken as UTC: it only orders one sender's mails.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self.headers if n.lower() == wanted]


# A mail nests a few levels (mixed > alternative > related); hostile ones nest thousands.
MAX_DEPTH = 20
MAX_PARTS = 500
_DEFECT_WORD = re.compile(r"(?<!^)(?=[A-Z])")


def parse_mail(raw: bytes, *, min_cut: int | None = MIN_CUT) -> Message:
    """Parse ``raw`` (RFC 5322 bytes, as SES stores them). Never raises.

    A mail whose MIME structure defeats the parser (thousands of nested parts) keeps its header
    fields but no body, with an ``unparseable`` defect: its raw MIME is not something to post.

    Base64 attachments of ``min_cut`` encoded bytes or more are measured without being
    decoded (handler.inbound.mime_slim); the result is the same with ``min_cut=None``, which turns
    that off.
    """
    raw = from_first_field(raw)
    headers = raw_headers(raw)
    body = _Body(_Counts())
    content_type = "text/plain"
    try:
        parsed = email.message_from_bytes(
            _slim(repair_folds(raw), min_cut), MimePart, policy=compat32
        )
        content_type = parsed.get_content_type()
        _walk(parsed, 0, body)
    # Every mail must get a decision: a parser failure becomes a defect, not a crash.
    except Exception as error:  # noqa: BLE001
        body = _Body(_Counts())
        body.defects.append(f"unparseable: {type(error).__name__}")
    return _message(headers, content_type, body)


def _slim(raw: bytes, min_cut: int | None) -> bytes:
    if min_cut is None:
        return raw
    try:
        return slim(raw, is_attachment, threshold=min_cut, max_depth=MAX_DEPTH)
    # Slimming only saves time and memory: whatever trips it, the parser reads the whole mail.
    except Exception:  # noqa: BLE001
        return raw


class _Counts:
    """Tallies shared by every branch of one walk: parts seen, nameless attachments numbered."""

    def __init__(self) -> None:
        self.parts = 0
        self.unnamed = 0


class _Body:
    """What a walk over (a branch of) the MIME tree collected."""

    def __init__(self, counts: _Counts) -> None:
        self.counts = counts
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []


def _message(headers: tuple[tuple[str, str], ...], content_type: str, body: _Body) -> Message:
    def every(name: str) -> list[str]:
        return [value for field, value in headers if field.lower() == name]

    defects = list(body.defects)
    sender = addresses(every("sender"), defects)
    return Message(
        headers=headers,
        message_id=message_id(next(iter(every("message-id")), "")),
        subject=decode_header_value(next(iter(every("subject")), "")),
        from_=addresses(every("from"), defects),
        sender=sender[0] if sender else None,
        content_type=content_type,
        text=clean_text("\n\n".join(body.texts)) if body.texts else None,
        html="\n".join(body.htmls) if body.htmls else None,
        attachments=tuple(body.attachments),
        defects=tuple(dict.fromkeys(defects)),
    )


def _walk(part: EmailMessage, depth: int, body: _Body) -> None:
    body.counts.parts += 1
    if body.counts.parts > MAX_PARTS:
        if "too-many-parts" not in body.defects:
            body.defects.append("too-many-parts")
        return
    content_type = part.get_content_type()
    if part.get_content_maintype() == "message":
        # A forwarded mail, a delivery report: the sender's attachment, not their text.
        _guarded(_attach, part, body, content_type)
    elif part.is_multipart():
        if depth >= MAX_DEPTH:
            body.defects.append("nested-too-deep")
            return
        children = [c for c in part.get_payload() if isinstance(c, EmailMessage)]
        if content_type == "multipart/alternative":
            _alternative(children, depth, body)
        else:
            for child in children:
                _walk(child, depth + 1, body)
    elif part.get_content_maintype() == "multipart":
        # A multipart without its boundary lines: what is there is the text.
        body.defects.append("multipart-without-parts")
        body.texts.append(text_of(part, "text/plain")[0])
    else:
        _guarded(_leaf, part, body, content_type)
    body.defects += [_defect_name(type(d).__name__) for d in part.defects]


def _guarded(
    handle: Callable[[EmailMessage, _Body, str], None],
    part: EmailMessage,
    body: _Body,
    content_type: str,
) -> None:
    try:
        handle(part, body, content_type)
    # One part the stdlib cannot decode must not cost the rest of the mail.
    except Exception as error:  # noqa: BLE001
        body.defects.append(f"unreadable-part: {type(error).__name__}")


def _leaf(part: EmailMessage, body: _Body, content_type: str) -> None:
    if not is_attachment(part):
        text, defect = text_of(part, content_type)
        if defect:
            body.defects.append(defect)
        if not text:
            return
        if content_type == "text/html":
            body.htmls.append(text)
        else:
            body.texts.append(unflowed(text, part))
        return
    _attach(part, body, content_type)


def _alternative(children: list[EmailMessage], depth: int, body: _Body) -> None:
    """The plain-text alternative if it says anything, else the richest (last) HTML one.

    Attachments of every alternative are kept: the images an HTML alternative shows inline
    are files the sender sent, whichever alternative is read.
    """
    walked = []
    for child in children:
        branch = _Body(body.counts)
        _walk(child, depth + 1, branch)
        walked.append(branch)
    chosen = next((b for b in walked if any(t.strip() for t in b.texts)), None)
    if chosen is None:
        chosen = next((b for b in reversed(walked) if any(h.strip() for h in b.htmls)), None)
    if chosen is None:
        chosen = next((b for b in walked if b.texts or b.htmls), None)
    if chosen is not None:
        body.texts += chosen.texts
        body.htmls += chosen.htmls if not chosen.texts else []
    earlier: list[Attachment] = []
    for branch in walked:
        body.attachments += [item for item in branch.attachments if item not in earlier]
        earlier += branch.attachments
        body.defects += branch.defects


def _attach(part: EmailMessage, body: _Body, content_type: str) -> None:
    found = attachment(part, content_type)
    if not found.filename:
        # Numbered across the whole mail, in the order the walk meets them.
        body.counts.unnamed += 1
        found = replace(found, filename=nameless(body.counts.unnamed, content_type))
    body.attachments.append(found)


def _defect_name(class_name: str) -> str:
    """The stdlib's defect class as a short stable label: ``InvalidBase64PaddingDefect`` ->
    ``invalid-base64-padding``."""
    return _DEFECT_WORD.sub("-", class_name.removesuffix("Defect")).lower()
