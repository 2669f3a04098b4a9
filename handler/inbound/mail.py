"""MIME bytes -> a typed, fully decoded Message.

Pure: no I/O. Every input, however broken, yields a Message; problems are recorded in
``Message.defects`` rather than raised, so that every mail still gets a decision.
"""

from __future__ import annotations

import email
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from email.message import Message as EmailMessage
from email.policy import compat32
from email.utils import parsedate_to_datetime
from functools import cached_property, partial

from handler.inbound.attachments import (
    Attachment,
    attachment,
    content,
    is_attachment,
    nameless,
    parts_in_order,
)
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
from handler.inbound.html_markdown import html_to_markdown
from handler.inbound.mime_slim import MIN_CUT, header_end, slim
from handler.inbound.protocol import (
    CALENDAR_TYPES,
    MAX_EVENTS,
    MAX_FORWARDED,
    MAX_TEXT,
    CalendarEvent,
    Forwarded,
    Tnef,
    calendar_events,
    encryption_kind,
    is_calendar,
    is_smime_signed_data,
    is_tnef,
    needs_content,
    pgp_encrypted_text,
    signature_kind,
    tnef_contents,
    without_pgp_signature,
)
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
# A mail inside a delivery report is the returned mail, inside a digest one of many: files.
_NOT_FORWARDS = frozenset({"multipart/report", "multipart/digest"})
_FORWARD_TYPES = frozenset({"message/rfc822", "message/global"})
# Text an alternative is read as; its other text parts (text/enriched, text/richtext, Apple
# Watch's text/watch-html, AMP's text/x-amp-html) are the same body again, except invitations.
_READ_TEXT = frozenset({"text/plain", "text/html", *CALENDAR_TYPES})
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
        parsed = _parsed(_slim(repair_folds(raw), min_cut))
        body.counts.root = parsed
        content_type = parsed.get_content_type()
        _walk(parsed, 0, body)
        _settle_calendars(body)
    # Every mail must get a decision: a parser failure becomes a defect, not a crash.
    except Exception as error:  # noqa: BLE001
        body = _Body(_Counts())
        body.defects.append(f"unparseable: {type(error).__name__}")
    return _message(headers, content_type, body)


def attachment_contents(raw: bytes, attachments: Sequence[Attachment]) -> dict[int, bytes]:
    """The decoded content of each of ``attachments`` (``parse_mail(raw).attachments``) by its
    index; a file whose part is not found (one inside a winmail.dat) is missing.

    One full parse of ``raw``, prepared as parse_mail prepares it but with nothing cut out: the
    same tree, so a file's part is where its ``part`` ordinal says. For a mail whose files are
    stored only; never raises.
    """
    wanted = {index: item for index, item in enumerate(attachments) if item.part >= 0}
    if not wanted:
        return {}
    try:
        order = parts_in_order(_parsed(repair_folds(from_first_field(raw))))
    # parse_mail read this mail: a failure here can only leave files unread, never fail it.
    except Exception:  # noqa: BLE001
        return {}
    found: dict[int, bytes] = {}
    for index, item in wanted.items():
        part = order[item.part] if item.part < len(order) else None
        # A part of another type is not the file's: its tree was not the one measured.
        if part is None or part.get_content_type() != item.content_type:
            continue
        try:
            data = content(part)
        # One part the stdlib cannot decode is one file unread.
        except Exception:  # noqa: BLE001
            data = None
        if data is not None:
            found[index] = data
    return found


def _parsed(raw: bytes) -> EmailMessage:
    """The stdlib's parse (compat32) of ``raw``.

    A mail of one part that is neither multipart nor message/* (most HTML-only and plain-text
    mail) has its header block parsed alone and the rest set as its payload: what the parser
    makes of it (the rest, as ASCII with 8-bit bytes as surrogates), without its reading the
    body a line at a time (4 ms of a 200 KB mail).
    """
    end = header_end(raw)
    if end is not None:
        head = email.message_from_bytes(raw[:end], MimePart, policy=compat32)
        if head.get_content_maintype() not in ("multipart", "message"):
            head.set_payload(raw[end:].decode("ascii", "surrogateescape"))
            return head
    return email.message_from_bytes(raw, MimePart, policy=compat32)


def _slim(raw: bytes, min_cut: int | None) -> bytes:
    if min_cut is None:
        return raw
    try:
        return slim(raw, _measured, threshold=min_cut, max_depth=MAX_DEPTH)
    # Slimming only saves time and memory: whatever trips it, the parser reads the whole mail.
    except Exception:  # noqa: BLE001
        return raw


def _measured(part: EmailMessage) -> bool:
    # A calendar or a winmail.dat is read, not only measured.
    return is_attachment(part) and not needs_content(part)


class _Counts:
    """Tallies shared by every branch of one walk: parts seen, nameless attachments numbered,
    forwarded mails read, the nameless calendar parts listed (each as "invite.ics"), and each
    part's ordinal in the tree walked."""

    def __init__(self) -> None:
        self.parts = 0
        self.unnamed = 0
        self.forwarded = 0
        self.calendars: list[Attachment] = []
        self.root: EmailMessage | None = None
        self._ordinals: dict[int, int] | None = None

    def ordinal(self, part: EmailMessage) -> int:
        """``part``'s place in ``parts_in_order`` of the tree; counted for the first file only,
        so a mail without files walks its tree once."""
        if self._ordinals is None:
            order = parts_in_order(self.root) if self.root is not None else []
            self._ordinals = {id(item): number for number, item in enumerate(order)}
        return self._ordinals.get(id(part), -1)


class _Body:
    """What a walk over (a branch of) the MIME tree collected."""

    def __init__(self, counts: _Counts) -> None:
        self.counts = counts
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.events: list[CalendarEvent] = []
        self.signatures: list[str] = []
        self.encryption: str | None = None
        self.forwarded: list[Forwarded] = []
        self.tnef: list[Tnef] = []

    def add(self, branch: _Body) -> None:
        """Takes in ``branch``'s protocol parts (not its text, files or defects)."""
        self.events += branch.events
        self.signatures += branch.signatures
        self.encryption = self.encryption or branch.encryption
        self.forwarded += branch.forwarded
        self.tnef += branch.tnef

    def body(self) -> tuple[str | None, str | None]:
        """The text and the HTML: the MIME's own, else a winmail.dat's."""
        texts, htmls = self.texts, self.htmls
        if not any(t.strip() for t in texts) and not any(h.strip() for h in htmls):
            texts = texts + [t.text for t in self.tnef if t.text.strip()]
            htmls = htmls + [t.html for t in self.tnef if t.html.strip()]
        text = clean_text("\n\n".join(texts)) if texts else None
        return text, "\n".join(htmls) if htmls else None


def _message(headers: tuple[tuple[str, str], ...], content_type: str, body: _Body) -> Message:
    def every(name: str) -> list[str]:
        return [value for field, value in headers if field.lower() == name]

    defects = list(body.defects)
    sender = addresses(every("sender"), defects)
    text, html = body.body()
    return Message(
        headers=headers,
        message_id=message_id(next(iter(every("message-id")), "")),
        subject=decode_header_value(next(iter(every("subject")), "")),
        from_=addresses(every("from"), defects),
        sender=sender[0] if sender else None,
        content_type=content_type,
        text=text,
        html=html,
        attachments=tuple(body.attachments),
        events=tuple(dict.fromkeys(body.events))[:MAX_EVENTS],
        signatures=tuple(dict.fromkeys(body.signatures)),
        encryption=body.encryption,
        forwarded=tuple(body.forwarded),
        defects=tuple(dict.fromkeys(defects)),
    )


def _walk(part: EmailMessage, depth: int, body: _Body, *, forwards: bool = True) -> None:
    body.counts.parts += 1
    if body.counts.parts > MAX_PARTS:
        if "too-many-parts" not in body.defects:
            body.defects.append("too-many-parts")
        return
    content_type = part.get_content_type()
    if part.get_content_maintype() == "message":
        forward = forwards and content_type in _FORWARD_TYPES and depth < MAX_DEPTH
        if forward and body.counts.forwarded < MAX_FORWARDED:
            _guarded(partial(_forward, depth=depth), part, body, content_type)
        else:
            # A returned mail, a delivery status: the sender's attachment, not their text.
            _guarded(_attach, part, body, content_type)
    elif part.is_multipart():
        if depth >= MAX_DEPTH:
            body.defects.append("nested-too-deep")
            return
        encryption = encryption_kind(part)
        if encryption is not None:
            # Its control part ("Version: 1") and its cipher text are nobody's files.
            body.encryption = body.encryption or encryption
            return
        children = [c for c in part.get_payload() if isinstance(c, EmailMessage)]
        if content_type == "multipart/alternative":
            _alternative(children, depth, body)
        else:
            for child in children:
                _walk(child, depth + 1, body, forwards=content_type not in _NOT_FORWARDS)
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
        _text(part, body, content_type)
        return
    signature = signature_kind(content_type)
    if signature is not None:
        body.signatures.append(signature)
        return
    encryption = encryption_kind(part)
    if encryption is not None:
        body.encryption = body.encryption or encryption
        return
    if is_smime_signed_data(part):
        # The text is inside the signature (DER), which is not read here: listed, and said.
        body.signatures.append("S/MIME")
        body.defects.append("smime-opaque-signed")
    elif is_calendar(part, content_type):
        _calendar(part, body, content_type)
        return
    elif is_tnef(part, content_type):
        _tnef(part, body, content_type)
        return
    _attach(part, body, content_type)


def _text(part: EmailMessage, body: _Body, content_type: str) -> None:
    text, defect = text_of(part, content_type)
    if defect:
        body.defects.append(defect)
    if not text:
        return
    if pgp_encrypted_text(text):
        body.encryption = body.encryption or "PGP"
    if content_type == "text/html":
        body.htmls.append(text)
        return
    text, signed = without_pgp_signature(text)
    if signed:
        body.signatures.append("PGP")
    body.texts.append(unflowed(text, part))


def _calendar(part: EmailMessage, body: _Body, content_type: str) -> None:
    """Its events summarised; a named .ics listed as sent, a nameless part as "invite.ics"
    (kept only when the mail has no named one: ``_settle_calendars``)."""
    payload = part.get_payload(decode=True)
    events = calendar_events(payload) if isinstance(payload, bytes) else None
    if events is None:
        body.defects.append("unreadable-calendar")
    else:
        body.events += events
    if part.get_filename():
        _attach(part, body, content_type)
        return
    found = replace(
        attachment(part, content_type, ordinal=body.counts.ordinal(part)), filename="invite.ics"
    )
    body.counts.calendars.append(found)
    body.attachments.append(found)


def _settle_calendars(body: _Body) -> None:
    """The calendar listed once: the named .ics files if any, else the first nameless part."""
    nameless_ones = {id(item) for item in body.counts.calendars}
    if not nameless_ones:
        return
    named = any(
        (item.content_type in CALENDAR_TYPES or item.filename.lower().endswith(".ics"))
        and id(item) not in nameless_ones
        for item in body.attachments
    )
    kept = (
        None
        if named
        else next((item for item in body.attachments if id(item) in nameless_ones), None)
    )
    body.attachments = [
        item for item in body.attachments if id(item) not in nameless_ones or item is kept
    ]


def _tnef(part: EmailMessage, body: _Body, content_type: str) -> None:
    """Outlook's winmail.dat: its files listed in its place, its body kept for a mail whose
    MIME has no text; listed as it is when it cannot be read."""
    payload = part.get_payload(decode=True)
    contents = tnef_contents(payload) if isinstance(payload, bytes) and payload else None
    if contents is None:
        body.defects.append("unreadable-tnef")
        _attach(part, body, content_type)
        return
    for item in contents.files:
        name = item.filename
        if not name:
            body.counts.unnamed += 1
            name = nameless(body.counts.unnamed, item.content_type)
        body.attachments.append(replace(item, filename=name))
    body.tnef.append(contents)


def _forward(part: EmailMessage, body: _Body, content_type: str, *, depth: int) -> None:
    """A mail forwarded as a part: its text kept as a Forwarded entry, its files listed."""
    inner = next((p for p in part.get_payload() if isinstance(p, EmailMessage)), None)
    if inner is None:
        _attach(part, body, content_type)
        return
    body.counts.forwarded += 1
    branch = _Body(body.counts)
    _walk(inner, depth + 1, branch)
    text, html = branch.body()
    if not (text and text.strip()):
        text = html_to_markdown(html) if html else ""
    found = addresses([str(inner.get("From") or "")], [])
    body.forwarded.append(
        Forwarded(
            sender=found[0] if found else None,
            date=" ".join(str(inner.get("Date") or "").split()),
            subject=decode_header_value(str(inner.get("Subject") or "")),
            text=text[:MAX_TEXT],
        )
    )
    # Its calendars and forwards too; how it was signed or encrypted is not this mail's.
    body.events += branch.events
    body.forwarded += branch.forwarded
    body.attachments += branch.attachments
    body.defects += branch.defects


def _alternative(children: list[EmailMessage], depth: int, body: _Body) -> None:
    """The plain-text alternative if it says anything, else the richest (last) HTML one.

    Attachments of every alternative are kept: the images an HTML alternative shows inline
    are files the sender sent, whichever alternative is read.
    """
    walked = []
    versions = []
    for child in children:
        if _other_version(child):
            versions.append(child)
            continue
        branch = _Body(body.counts)
        _walk(child, depth + 1, branch)
        walked.append(branch)
    if versions and not any(b.texts or b.htmls for b in walked):
        # Only a format we do not convert: its text, markup and all, beats nothing.
        branch = _Body(body.counts)
        _guarded(_text, versions[0], branch, "text/plain")
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
        body.add(branch)


def _other_version(part: EmailMessage) -> bool:
    """Whether an alternative is the body again in a text format we do not read (not a file)."""
    return (
        not part.is_multipart()
        and part.get_content_maintype() == "text"
        and part.get_content_type() not in _READ_TEXT
        and not part.get_filename()
        and part.get_content_disposition() != "attachment"
    )


def _attach(part: EmailMessage, body: _Body, content_type: str) -> None:
    found = attachment(part, content_type, ordinal=body.counts.ordinal(part))
    if not found.filename:
        # Numbered across the whole mail, in the order the walk meets them.
        body.counts.unnamed += 1
        found = replace(found, filename=nameless(body.counts.unnamed, content_type))
    body.attachments.append(found)


def _defect_name(class_name: str) -> str:
    """The stdlib's defect class as a short stable label: ``InvalidBase64PaddingDefect`` ->
    ``invalid-base64-padding``."""
    return _DEFECT_WORD.sub("-", class_name.removesuffix("Defect")).lower()
