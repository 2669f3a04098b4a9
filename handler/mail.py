"""MIME bytes -> a typed, fully decoded Message.

Pure: no I/O. Every input, however broken, yields a Message; problems are recorded in
``Message.defects`` rather than raised, so that every mail still gets a decision.
"""

from __future__ import annotations

import codecs
import email
import mimetypes
import re
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message as EmailMessage
from email.policy import compat32
from email.utils import getaddresses

from handler.domains import normalize_domain


@dataclass(frozen=True)
class Address:
    """One mailbox. ``domain`` is lowercased ASCII (IDN domains in their xn-- form)."""

    name: str
    local: str
    domain: str

    @property
    def addr(self) -> str:
        return f"{self.local}@{self.domain}" if self.domain else self.local


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Message:
    # Top-level header fields in their original order: name as written, value unfolded but
    # otherwise raw (no RFC 2047 decoding), because SES's own block is judged on raw text.
    headers: tuple[tuple[str, str], ...]
    message_id: str | None
    subject: str
    from_: tuple[Address, ...]
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    content_type: str
    text: str | None
    html: str | None
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        """The first header field called ``name`` (case-insensitive), raw."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self.headers if n.lower() == wanted]


# A mail nests a few levels (mixed > alternative > related); hostile ones nest thousands.
MAX_DEPTH = 20
MAX_PARTS = 500
_HEADER_LINE = re.compile(rb"[!-9;-~]+:")
_FILTERED_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Labels senders put on charsets that Python names differently, or that are subsets of what
# senders actually use (WHATWG Encoding Standard: latin-1 labels mean windows-1252).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "unicode-1-1-utf-7": "utf-7",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
}
# Declared charsets that promise nothing: try UTF-8, then windows-1252.
_UNDECLARED = {"", "us-ascii", "ascii", "x-unknown", "unknown", "unknown-8bit", "x-user-defined"}


def parse_mail(raw: bytes) -> Message:
    """Parse ``raw`` (RFC 5322 bytes, as SES stores them). Never raises.

    A mail whose MIME structure defeats the parser (thousands of nested parts) keeps its header
    fields but no body, with an ``unparseable`` defect: its raw MIME is not something to post.
    """
    # Some tools save a mail with blank lines before its header; the parser would read
    # the whole mail as body.
    stripped = raw.lstrip(b"\r\n")
    if stripped is not raw and _HEADER_LINE.match(stripped):
        raw = stripped
    headers = _raw_headers(raw)
    body = _Body()
    content_type = "text/plain"
    try:
        parsed = email.message_from_bytes(raw, policy=compat32)
        content_type = parsed.get_content_type()
        _walk(parsed, 0, body)
        body.defects += sorted({type(d).__name__ for d in parsed.defects})
    # Every mail must get a decision: a parser failure becomes a defect, not a crash.
    except Exception as error:  # noqa: BLE001
        body = _Body()
        body.defects.append(f"unparseable: {type(error).__name__}")
    return _message(headers, content_type, body)


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """``data`` as text in ``charset``, and a defect when the charset could not be honoured."""
    name = (charset or "").strip().strip('"').lower()
    if name in _UNDECLARED:
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace"), None
    codec = _CHARSET_ALIASES.get(name, name)
    try:
        if not codecs.lookup(codec)._is_text_encoding:
            raise LookupError(codec)
        return data.decode(codec, errors="replace"), None
    except LookupError:
        try:
            return data.decode("utf-8"), f"unknown-charset:{name}"
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace"), f"unknown-charset:{name}"


def decode_header_value(value: str) -> str:
    """An unstructured header (Subject, a display name) as text: RFC 2047 and RFC 6532."""
    value = _unescape_raw(value)
    try:
        chunks = decode_header(value)
    except (HeaderParseError, ValueError):
        return " ".join(value.split())
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
        elif charset is None:
            parts.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            parts.append(decode_bytes(chunk, charset)[0])
    return " ".join("".join(parts).split())


class _Body:
    """What a walk over the MIME tree collected."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.parts = 0


def _message(headers: tuple[tuple[str, str], ...], content_type: str, body: _Body) -> Message:
    def every(name: str) -> list[str]:
        return [value for field, value in headers if field.lower() == name]

    sender = _addresses(every("sender"))
    message_id = next(iter(every("message-id")), "").strip().strip("<>").strip()
    return Message(
        headers=headers,
        message_id=message_id or None,
        subject=decode_header_value(next(iter(every("subject")), "")),
        from_=_addresses(every("from")),
        sender=sender[0] if sender else None,
        to=_addresses(every("to")),
        cc=_addresses(every("cc")),
        content_type=content_type,
        text=_clean_text("\n\n".join(body.texts)) if body.texts else None,
        html="\n".join(body.htmls) if body.htmls else None,
        attachments=tuple(body.attachments),
        defects=tuple(dict.fromkeys(body.defects)),
    )


def _raw_headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The top-level header fields as written: unfolded, 8-bit values read as UTF-8 (RFC 6532).

    Read from the bytes rather than from the parser, which replaces undecodable bytes.
    """
    fields: list[tuple[str, str]] = []
    for line in re.split(rb"\r?\n", raw):
        if not line.strip(b"\r"):
            break
        if line[:1] in {b" ", b"\t"} and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + _header_text(line.rstrip(b"\r")))
            continue
        if line.startswith(b"From ") and not fields:
            continue  # an mbox separator line
        found = _HEADER_LINE.match(line)
        if not found:
            break
        name = line[: found.end() - 1].decode("ascii")
        fields.append((name, _header_text(line[found.end() :].rstrip(b"\r")).lstrip(" \t")))
    return tuple((name, value.rstrip()) for name, value in fields)


def _header_text(data: bytes) -> str:
    return decode_bytes(data, None)[0]


def _walk(part: EmailMessage, depth: int, body: _Body) -> None:
    body.parts += 1
    if body.parts > MAX_PARTS:
        if "too-many-parts" not in body.defects:
            body.defects.append("too-many-parts")
        return
    content_type = part.get_content_type()
    if content_type in {"message/rfc822", "message/global"}:
        _attach(part, body, content_type)
        return
    if part.is_multipart():
        if depth >= MAX_DEPTH:
            body.defects.append("nested-too-deep")
            return
        children = [c for c in part.get_payload() if isinstance(c, EmailMessage)]
        if content_type == "multipart/alternative":
            _alternative(children, depth, body)
        else:
            for child in children:
                _walk(child, depth + 1, body)
        return
    if part.get_content_maintype() == "multipart":
        # A multipart without its boundary lines: what is there is the text.
        body.defects.append("multipart-without-parts")
        body.texts.append(_part_text(part)[0])
        return
    filename = part.get_filename()
    if (
        content_type in {"text/plain", "text/html"}
        and not filename
        and (part.get_content_disposition() != "attachment")
    ):
        text, defect = _part_text(part)
        if defect:
            body.defects.append(defect)
        if content_type == "text/html":
            body.htmls.append(text)
        else:
            body.texts.append(_unflow(text, part) if _is_flowed(part) else text)
        return
    _attach(part, body, content_type)


def _alternative(children: list[EmailMessage], depth: int, body: _Body) -> None:
    """The plain-text alternative if there is one, else the richest (last) HTML one."""
    walked = []
    for child in children:
        branch = _Body()
        branch.parts = body.parts
        _walk(child, depth + 1, branch)
        body.parts = branch.parts
        walked.append(branch)
    chosen = next((b for b in walked if b.texts), None)
    if chosen is None:
        chosen = next((b for b in reversed(walked) if b.htmls), walked[-1] if walked else None)
    if chosen is None:
        return
    body.texts += chosen.texts
    body.htmls += chosen.htmls if not chosen.texts else []
    body.attachments += chosen.attachments
    body.defects += [d for branch in walked for d in branch.defects]


def _attach(part: EmailMessage, body: _Body, content_type: str) -> None:
    name = part.get_filename()
    if content_type.startswith("message/"):
        inner = part.get_payload()
        embedded = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(embedded, EmailMessage):
            embedded = None
        subject = decode_header_value(str(embedded.get("Subject") or "")) if embedded else ""
        size = len(embedded.as_bytes()) if embedded is not None else 0
        filename = decode_header_value(name) if name else f"{subject or 'forwarded message'}.eml"
    else:
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        extension = mimetypes.guess_extension(content_type) or ".bin"
        fallback = f"attachment-{len(body.attachments) + 1}{extension}"
        filename = decode_header_value(name) if name else fallback
    body.attachments.append(Attachment(filename or "attachment", content_type, size))


def _part_text(part: EmailMessage) -> tuple[str, str | None]:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return "", None
    return decode_bytes(payload, part.get_content_charset())


def _is_flowed(part: EmailMessage) -> bool:
    return str(part.get_param("format", "", header="content-type")).lower() == "flowed"


def _unflow(text: str, part: EmailMessage) -> str:
    """Join RFC 3676 soft line breaks and undo space-stuffing."""
    delsp = str(part.get_param("delsp", "", header="content-type")).lower() == "yes"
    lines: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        if pending is not None and depth == pending_depth:
            pending += content
        else:
            if pending is not None:
                lines.append(_quoted(pending, pending_depth))
            pending, pending_depth = content, depth
        if not soft:
            lines.append(_quoted(pending, depth))
            pending = None
    if pending is not None:
        lines.append(_quoted(pending, pending_depth))
    return "\n".join(lines)


def _quoted(text: str, depth: int) -> str:
    return f"{'>' * depth} {text}" if depth else text


def _addresses(values: list[str]) -> tuple[Address, ...]:
    """Parse address headers on their raw text, then decode display names.

    Decoding RFC 2047 first would let an encoded display name smuggle in a comma or an
    ``<addr>`` of its own.
    """
    found = []
    for name, addr in getaddresses(values):
        if not addr:
            continue
        local, at, domain = addr.rpartition("@")
        if not at:
            # A bare local part ("root"): kept, so that the From check can say what is wrong.
            found.append(Address(decode_header_value(name), addr, ""))
            continue
        found.append(
            Address(
                decode_header_value(name),
                local,
                normalize_domain(domain) or domain.strip().lower(),
            )
        )
    return tuple(found)


def _unescape_raw(value: str) -> str:
    """compat32 keeps 8-bit header bytes as surrogates: read them as UTF-8 (RFC 6532)."""
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    raw = value.encode("ascii", errors="surrogateescape")
    return decode_bytes(raw, None)[0]


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return _FILTERED_CONTROLS.sub("", text)
