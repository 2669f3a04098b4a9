"""MIME bytes -> a typed, fully decoded Message.

Pure: no I/O. Every input, however broken, yields a Message; problems are recorded in
``Message.defects`` rather than raised, so that every mail still gets a decision.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import inspect
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.message import Message as EmailMessage
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from handler.inbound.mime_slim import MIN_CUT, SIZE_FIELD, slim
from handler.routing.domains import normalize_domain


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
_HEADER_LINE = re.compile(rb"[!-9;-~]+:")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FILTERED_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHARSET_NAME = re.compile(r"[a-z0-9][a-z0-9._:+-]{0,39}")
# An HTML part without a MIME charset often names its charset in a <meta> tag instead.
_META_CHARSET = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:+-]+)", re.I)
# RFC 2047 encoded-word; spaces inside the encoded text are wrong but common, so allowed.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_QP_BYTE = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_MESSAGE_ID = re.compile(r"<([^<>]*)>")
_DEFECT_WORD = re.compile(r"(?<!^)(?=[A-Z])")
# Labels senders put on charsets that Python names differently, or that are subsets of what
# senders actually use (WHATWG Encoding Standard: latin-1 labels mean windows-1252).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "iso8859-1": "cp1252",
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
# Declared charsets that promise nothing: read as UTF-8, with stray bytes as windows-1252.
_UNDECLARED = {"", "us-ascii", "ascii", "x-unknown", "unknown", "unknown-8bit", "x-user-defined"}
_UTF8 = {"utf-8", "utf8"}
_STRAY_BYTES = re.compile("[\udc80-\udcff]+")
# Past this many stray runs the data is not UTF-8 at all; one pass of windows-1252 is faster.
_MAX_STRAY_RUNS = 1000
# File name extensions for nameless attachments; a fixed table rather than the mimetypes
# module, whose answers depend on the host's /etc/mime.types.
_EXTENSIONS = {
    "application/gzip": ".gz",
    "application/json": ".json",
    "application/ms-tnef": ".dat",
    "application/msword": ".doc",
    "application/pdf": ".pdf",
    "application/pgp-encrypted": ".asc",
    "application/pgp-keys": ".asc",
    "application/pgp-signature": ".asc",
    "application/pkcs7-mime": ".p7m",
    "application/pkcs7-signature": ".p7s",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/x-pkcs7-mime": ".p7m",
    "application/x-pkcs7-signature": ".p7s",
    "application/xml": ".xml",
    "application/zip": ".zip",
    "audio/mpeg": ".mp3",
    "image/bmp": ".bmp",
    "image/gif": ".gif",
    "image/heic": ".heic",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/svg+xml": ".svg",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "message/rfc822": ".eml",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/html": ".html",
    "text/vcard": ".vcf",
    "text/x-diff": ".diff",
    "text/x-patch": ".patch",
    "text/x-vcard": ".vcf",
    "video/mp4": ".mp4",
}
# getaddresses() gained a strict mode, on by default, in 3.11.10 and 3.12.6 (CVE-2023-27043):
# it drops a whole header when one entry is odd ("a@example.com, " loses a@example.com).
# The lenient parse is what every release does without it; odd entries are handled below.
_LENIENT: dict[str, bool] = (
    {"strict": False} if "strict" in inspect.signature(getaddresses).parameters else {}
)


def parse_mail(raw: bytes, *, min_cut: int | None = MIN_CUT) -> Message:
    """Parse ``raw`` (RFC 5322 bytes, as SES stores them). Never raises.

    A mail whose MIME structure defeats the parser (thousands of nested parts) keeps its header
    fields but no body, with an ``unparseable`` defect: its raw MIME is not something to post.

    Base64 attachments of ``min_cut`` encoded bytes or more are measured without being
    decoded (handler.inbound.mime_slim); the result is the same with ``min_cut=None``, which turns
    that off.
    """
    # Some tools save a mail with blank lines before its header; the parser would read
    # the whole mail as body.
    stripped = raw.lstrip(b"\r\n")
    if stripped is not raw and _HEADER_LINE.match(stripped):
        raw = stripped
    headers = _raw_headers(raw)
    body = _Body(_Counts())
    content_type = "text/plain"
    try:
        parsed = email.message_from_bytes(_slim(raw, min_cut), policy=compat32)
        content_type = parsed.get_content_type()
        _walk(parsed, 0, body)
    # Every mail must get a decision: a parser failure becomes a defect, not a crash.
    except Exception as error:  # noqa: BLE001
        body = _Body(_Counts())
        body.defects.append(f"unparseable: {type(error).__name__}")
    return _message(headers, content_type, body)


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """``data`` as text in ``charset``, and a defect when the charset could not be honoured."""
    name = (charset or "").strip().strip("\"'").lower()
    if name in _UNDECLARED or name in _UTF8:
        return _utf8_or_cp1252(data), None
    codec = _CHARSET_ALIASES.get(name, name)
    if _CHARSET_NAME.fullmatch(codec) and _is_text_codec(codec):
        return data.decode(codec, errors="replace"), None
    label = re.sub(r"[^a-z0-9._:+-]", "?", name[:40])
    return _utf8_or_cp1252(data), f"unknown-charset:{label}"


def decode_header_value(value: str) -> str:
    """An unstructured header (Subject, a display name) as text: RFC 2047 and RFC 6532.

    Adjacent encoded-words are joined before decoding, since some mailers split a multi-byte
    character across two; a malformed one is kept as written.
    """
    value = _unescape_raw(value)
    pieces: list[str | tuple[bytes, str]] = []
    position = 0
    after_word = False
    for word in _ENCODED_WORD.finditer(value):
        between = value[position : word.start()]
        if between and not (after_word and between.isspace()):
            pieces.append(between)
        position = word.end()
        data = _decode_word(word.group(2), word.group(3))
        charset = word.group(1).partition("*")[0].lower()
        after_word = data is not None
        if data is None:
            pieces.append(word.group())
        elif pieces and isinstance(pieces[-1], tuple) and pieces[-1][1] == charset:
            pieces[-1] = (pieces[-1][0] + data, charset)
        else:
            pieces.append((data, charset))
    pieces.append(value[position:])
    text = "".join(p if isinstance(p, str) else decode_bytes(*p)[0] for p in pieces)
    return " ".join(_FILTERED_CONTROLS.sub("", text).split())


def is_attachment(part: EmailMessage) -> bool:
    """Whether a leaf part (of the stdlib's parse) is listed as a file rather than read as the
    mail's text."""
    return not (
        part.get_content_type() in {"text/plain", "text/html"}
        and not part.get_filename()
        and part.get_content_disposition() != "attachment"
    )


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
    sender = _addresses(every("sender"), defects)
    return Message(
        headers=headers,
        message_id=_message_id(next(iter(every("message-id")), "")),
        subject=decode_header_value(next(iter(every("subject")), "")),
        from_=_addresses(every("from"), defects),
        sender=sender[0] if sender else None,
        to=_addresses(every("to"), defects),
        cc=_addresses(every("cc"), defects),
        content_type=content_type,
        text=_clean_text("\n\n".join(body.texts)) if body.texts else None,
        html="\n".join(body.htmls) if body.htmls else None,
        attachments=tuple(body.attachments),
        defects=tuple(dict.fromkeys(defects)),
    )


def _raw_headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The top-level header fields as written: unfolded, 8-bit values read as UTF-8 (RFC 6532).

    Read from the bytes rather than from the parser, which replaces undecodable bytes.
    """
    end = _HEADER_END.search(raw)
    fields: list[tuple[str, str]] = []
    for line in re.split(rb"\r?\n", raw[: end.start()] if end else raw):
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
        body.texts.append(_part_text(part, "text/plain")[0])
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
        text, defect = _part_text(part, content_type)
        if defect:
            body.defects.append(defect)
        if not text:
            return
        if content_type == "text/html":
            body.htmls.append(text)
        else:
            body.texts.append(_unflow(text, part) if _is_flowed(part) else text)
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
    name = part.get_filename()
    filename = _basename(decode_header_value(name)) if name else ""
    if part.get_content_maintype() == "message":
        inner = [p for p in part.get_payload() if isinstance(p, EmailMessage)]
        size = sum(len(p.as_bytes()) for p in inner)
        if not filename and content_type in {"message/rfc822", "message/global"} and inner:
            subject = decode_header_value(str(inner[0].get("Subject") or ""))
            filename = f"{_basename(subject) or 'forwarded message'}.eml"
    elif (cut := part.get(SIZE_FIELD)) is not None:
        size = int(cut)
    else:
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
    if not filename:
        body.counts.unnamed += 1
        fallback = ".txt" if part.get_content_maintype() in {"text", "message"} else ".bin"
        filename = f"attachment-{body.counts.unnamed}{_EXTENSIONS.get(content_type, fallback)}"
    body.attachments.append(Attachment(filename, content_type, size))


def _basename(name: str) -> str:
    """A file name as sent, without the sender's folders ("C:\\Users\\me\\log.txt")."""
    return re.split(r"[\\/]", name)[-1].strip()


def _part_text(part: EmailMessage, content_type: str) -> tuple[str, str | None]:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return "", None
    charset = part.get_content_charset()
    if charset is None and content_type == "text/html":
        declared = _META_CHARSET.search(payload[:4096])
        charset = declared.group(1).decode("ascii") if declared else None
    return decode_bytes(payload, charset)


def _utf8_or_cp1252(data: bytes) -> str:
    """UTF-8, with stray bytes read as windows-1252: mail mixing the two is common."""
    text = data.decode("utf-8", errors="surrogateescape")
    runs = list(itertools.islice(_STRAY_BYTES.finditer(text), _MAX_STRAY_RUNS + 1))
    if not runs:
        return text
    if len(runs) > _MAX_STRAY_RUNS:
        return data.decode("cp1252", errors="replace")
    return _STRAY_BYTES.sub(
        lambda run: run.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"),
        text,
    )


def _is_text_codec(name: str) -> bool:
    try:
        return codecs.lookup(name)._is_text_encoding
    except LookupError:
        return False


def _decode_word(encoding: str, text: str) -> bytes | None:
    """The bytes of an encoded-word's text; None when it cannot be decoded at all."""
    data = text.encode("utf-8")
    if encoding in {"q", "Q"}:
        return _QP_BYTE.sub(lambda m: bytes([int(m.group(1), 16)]), data.replace(b"_", b" "))
    data = _NOT_BASE64.sub(b"", data.split(b"=")[0])
    # A base64 length of 4n+1 cannot be padded: its last character carries no whole byte.
    data = data[: len(data) - 1] if len(data) % 4 == 1 else data
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        return None


def _defect_name(class_name: str) -> str:
    """The stdlib's defect class as a short stable label: ``InvalidBase64PaddingDefect`` ->
    ``invalid-base64-padding``."""
    return _DEFECT_WORD.sub("-", class_name.removesuffix("Defect")).lower()


def _message_id(value: str) -> str | None:
    found = _MESSAGE_ID.search(value)
    text = "".join((found.group(1) if found else value).split())
    return text or None


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


def _addresses(values: list[str], defects: list[str]) -> tuple[Address, ...]:
    """Parse address headers on their raw text, then decode display names.

    Decoding RFC 2047 first would let an encoded display name smuggle in a comma or an
    ``<addr>`` of its own. An entry with a name but no address ("Bob <") is kept with an empty
    address, so that a From header that says more than one mailbox never reads as one.
    """
    found = []
    for name, addr in getaddresses(values, **_LENIENT):
        display = decode_header_value(name)
        local, at, domain = addr.rpartition("@")
        if not addr:
            if display:
                defects.append("malformed-address")
                found.append(Address(display, "", ""))
        elif not at:
            # A bare local part ("root"): kept, so that the From check can say what is wrong.
            found.append(Address(display, addr, ""))
        else:
            found.append(Address(display, local, normalize_domain(domain) or domain.lower()))
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
