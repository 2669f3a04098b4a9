"""Protocol parts of a mail, which are not the author's files: calendar invitations, signatures,
encryption, Outlook's TNEF (winmail.dat), and mails forwarded as message/rfc822 parts.

Pure: no I/O. The rules, and why: docs/inbound.md#protocol.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import Message as EmailMessage
from email.utils import formataddr
from typing import Any

from handler.inbound.attachments import Attachment
from handler.inbound.charsets import decode_bytes
from handler.inbound.headers import Address, addresses

# A mail carries one invitation; a hostile one need not be summarised past a few.
MAX_EVENTS = 20
MAX_FORWARDED = 10
MAX_TNEF_FILES = 100
# Real calendars are kilobytes (a VTIMEZONE, a few hundred attendees); one past this is listed.
MAX_CALENDAR_BYTES = 1_000_000
# A forwarded mail's text and a TNEF body are capped like a mail's own body.
MAX_TEXT = 1_000_000
# Past this a TNEF body in RTF is not worth the time of reading it as text.
MAX_RTF_BYTES = 2_000_000

CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_SIGNATURES = {
    "application/pgp-signature": "PGP",
    "application/pkcs7-signature": "S/MIME",
    "application/x-pkcs7-signature": "S/MIME",
}
_SMIME = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})
_SMIME_ENCRYPTED = frozenset({"enveloped-data", "authenveloped-data"})
_PGP_MESSAGE = re.compile(r"^-----BEGIN PGP MESSAGE-----[ \t\r]*$", re.MULTILINE)
_PGP_ARMOUR = "-----BEGIN PGP MESSAGE-----"
_PGP_SIGNED = "-----BEGIN PGP SIGNED MESSAGE-----"
_PGP_SIGNATURE = "-----BEGIN PGP SIGNATURE-----"
_PGP_SIGNATURE_END = "-----END PGP SIGNATURE-----"
_METHODS = ("REQUEST", "CANCEL", "REPLY", "PUBLISH", "ADD", "COUNTER", "DECLINECOUNTER", "REFRESH")
# The types of files found inside a TNEF, which has no MIME types of its own (a fixed table
# rather than the mimetypes module, whose answers depend on the host).
_TNEF_FILE_TYPES = {
    "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "gif": "image/gif",
    "htm": "text/html",
    "html": "text/html",
    "ics": "text/calendar",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "log": "text/plain",
    "pdf": "application/pdf",
    "png": "image/png",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xml": "application/xml",
    "zip": "application/zip",
}


@dataclass(frozen=True)
class CalendarEvent:
    """One event of a text/calendar part, as a comment shows it."""

    # iTIP's METHOD of the calendar ("REQUEST", "CANCEL", "REPLY", "PUBLISH"; "" if none).
    method: str
    summary: str
    # As shown: "2025-01-20 14:00 (Europe/Berlin)", "2025-01-20" for an all-day event; "" if none.
    start: str
    end: str
    location: str
    organizer: Address | None


@dataclass(frozen=True)
class Forwarded:
    """A mail forwarded inside this one (a message/rfc822 part), as a comment shows it."""

    sender: Address | None
    # The Date field as written ("" if none).
    date: str
    subject: str
    # Its text (a plain-text part, else its HTML as Markdown), untrimmed: the forward is the report.
    text: str


@dataclass(frozen=True)
class Tnef:
    """What a winmail.dat holds: its body (at most one of text and HTML) and its files."""

    text: str
    html: str
    files: tuple[Attachment, ...]


def signature_kind(content_type: str) -> str | None:
    """ "PGP" or "S/MIME" for a detached signature part (RFC 3156, RFC 8551), else None."""
    return _SIGNATURES.get(content_type)


def encryption_kind(part: EmailMessage) -> str | None:
    """ "PGP" for a PGP/MIME encrypted multipart, "S/MIME" for S/MIME enveloped data, else None."""
    content_type = part.get_content_type()
    if content_type == "multipart/encrypted":
        protocol = str(part.get_param("protocol", "", header="content-type")).lower()
        return "S/MIME" if "pkcs7" in protocol else "PGP"
    if content_type in _SMIME:
        # Without smime-type (older clients), an smime.p7m is nearly always encrypted.
        kind = str(part.get_param("smime-type", "", header="content-type")).lower()
        return "S/MIME" if kind in _SMIME_ENCRYPTED or not kind else None
    return None


def is_smime_signed_data(part: EmailMessage) -> bool:
    """An opaque S/MIME signature (smime-type=signed-data): the text is inside the signature."""
    kind = str(part.get_param("smime-type", "", header="content-type")).lower()
    return part.get_content_type() in _SMIME and kind == "signed-data"


def is_tnef(part: EmailMessage, content_type: str) -> bool:
    """A TNEF part: by its type, or by Outlook's name for it under a generic type."""
    name = str(part.get_filename() or "").strip().lower()
    return content_type in TNEF_TYPES or name == "winmail.dat"


def is_calendar(part: EmailMessage, content_type: str) -> bool:
    """An iCalendar part (RFC 5545): text/calendar, application/ics, or a file named *.ics."""
    name = str(part.get_filename() or "").strip().lower()
    return content_type in CALENDAR_TYPES or name.endswith(".ics")


def needs_content(part: EmailMessage) -> bool:
    """Whether the walk reads a part that is a file (so it must not be cut out unread)."""
    content_type = part.get_content_type()
    return is_calendar(part, content_type) or is_tnef(part, content_type)


def pgp_encrypted_text(text: str) -> bool:
    """Whether ``text`` holds an inline PGP message (armour at a line's start, not quoted)."""
    # The armour's words first: a string search, where the pattern steps through every line.
    return _PGP_ARMOUR in text and _PGP_MESSAGE.search(text) is not None


def without_pgp_signature(text: str) -> tuple[str, bool]:
    """``text`` without the armour of its inline PGP signatures (RFC 4880 7: the armour header,
    the signature block, the dash-escaping of the signed lines), and whether it had any."""
    if _PGP_SIGNED not in text:
        return text, False
    kept: list[str] = []
    state = "text"
    signed = False
    for line in text.split("\n"):
        bare = line.rstrip(" \t\r")
        if state == "text":
            if bare == _PGP_SIGNED:
                state, signed = "armour", True
            else:
                kept.append(line)
        elif state == "armour":
            # "Hash: SHA256" lines up to the blank line that starts the signed text.
            if not bare:
                state = "signed"
        elif state == "signed":
            if bare == _PGP_SIGNATURE:
                state = "signature"
            else:
                kept.append(line[2:] if line.startswith("- ") else line)
        elif bare == _PGP_SIGNATURE_END:
            state = "text"
    return "\n".join(kept), signed


def calendar_events(data: bytes) -> tuple[CalendarEvent, ...] | None:
    """The VEVENTs of an iCalendar part (at most MAX_EVENTS), None when it cannot be read."""
    if len(data) > MAX_CALENDAR_BYTES:
        return None
    try:
        # Imported here: most mails carry no calendar, and icalendar is slow to import.
        from icalendar import Calendar  # noqa: PLC0415

        calendars = Calendar.from_ical(data, multiple=True)
        events: list[CalendarEvent] = []
        for calendar in calendars:
            method = str(calendar.get("METHOD", "")).strip().upper()
            for component in calendar.walk("VEVENT"):
                if len(events) >= MAX_EVENTS:
                    break
                events.append(_event(component, method))
        return tuple(events)
    # icalendar raises what it likes on a broken calendar; the part is then listed unread.
    except Exception:  # noqa: BLE001
        return None


def _event(component: Any, method: str) -> CalendarEvent:  # noqa: ANN401 - icalendar's
    start = component.get("DTSTART")
    end = component.get("DTEND")
    shown_end = _when(end)
    if end is None and start is not None and component.get("DURATION") is not None:
        duration = component.get("DURATION").dt
        if isinstance(duration, timedelta):
            shown_end = _moment(start.dt + duration, start.params.get("TZID"))
    return CalendarEvent(
        method=method if method in _METHODS else method[:20],
        summary=_text(component.get("SUMMARY")),
        start=_when(start),
        end=shown_end,
        location=_text(component.get("LOCATION")),
        organizer=_organizer(component.get("ORGANIZER")),
    )


def _text(value: Any) -> str:  # noqa: ANN401 - an icalendar value
    return " ".join(str(value).split()) if value is not None else ""


def _when(value: Any) -> str:  # noqa: ANN401 - an icalendar value
    if value is None:
        return ""
    return _moment(value.dt, value.params.get("TZID"))


def _moment(moment: object, zone: object) -> str:
    """A DTSTART or DTEND as shown: its wall time, and the zone it is in as the sender named it."""
    if isinstance(moment, datetime):
        shown = f"{moment:%Y-%m-%d %H:%M}"
        if zone:
            return f"{shown} ({zone})"
        if moment.tzinfo is not None and moment.utcoffset() == timedelta(0):
            return f"{shown} UTC"
        return shown
    if isinstance(moment, date):
        return f"{moment:%Y-%m-%d}"
    return ""


def _organizer(value: Any) -> Address | None:  # noqa: ANN401 - an icalendar value
    if value is None:
        return None
    address = str(value).strip()
    if address.lower().startswith("mailto:"):
        address = address[7:]
    name = str(value.params.get("CN", "")).strip().strip('"') if hasattr(value, "params") else ""
    found = addresses([formataddr((name, address))], []) if address else ()
    return found[0] if found else None


def tnef_contents(data: bytes) -> Tnef | None:
    """The body and files of a TNEF stream (MS-OXTNEF), None when it cannot be read.

    tnefparse loops as often as a stream's counts say and copies what follows each object, so
    the stream's structure is checked first (``_TnefCheck``): one too complex is unread.
    """
    try:
        _TnefCheck(data).message(memoryview(data), 0)
        # Imported here: few mails carry a winmail.dat.
        from tnefparse import TNEF  # type: ignore[import-untyped]  # noqa: PLC0415

        tnef = TNEF(data, do_checksum=False)
        files = tuple(_tnef_file(item) for item in tnef.attachments[:MAX_TNEF_FILES])
        text = _tnef_text(tnef.body)
        html = "" if text.strip() else _tnef_text(tnef.htmlbody)
        if not text.strip() and not html.strip():
            text = _rtf_text(tnef)
        # A stream cut short decodes to nothing: listed as sent rather than lost.
        if not files and not text.strip() and not html.strip():
            return None
        return Tnef(text[:MAX_TEXT], html[:MAX_TEXT], files)
    # A broken stream fails in tnefparse in any way (struct.error, IndexError...): listed unread.
    except Exception:  # noqa: BLE001
        return None


def _tnef_file(item: Any) -> Attachment:  # noqa: ANN401 - tnefparse is untyped
    name = str(item.long_filename() or item.name or "").strip().strip("\x00")
    name = re.split(r"[\\/]", name)[-1].strip()
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    content_type = _TNEF_FILE_TYPES.get(extension, "application/octet-stream")
    data = item.data if isinstance(item.data, bytes) else b""
    return Attachment(name, content_type, len(data))


def _tnef_text(value: object) -> str:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, bytes):
        return decode_bytes(value.rstrip(b"\x00"), "cp1252")[0]
    return ""


def _rtf_text(tnef: Any) -> str:  # noqa: ANN401 - tnefparse is untyped
    """The text of a TNEF body that is only compressed RTF (Outlook's rich text)."""
    rtf = tnef.rtfbody
    if not isinstance(rtf, bytes) or not rtf or len(rtf) > MAX_RTF_BYTES:
        return ""
    from striprtf.striprtf import rtf_to_text  # noqa: PLC0415 - only for an RTF-only body

    text = rtf.decode("cp1252", errors="replace")
    # striprtf's hyperlink pattern backtracks over a whole line at each "{\field": a line per
    # group keeps it linear. A line break in RTF is no text (except after a backslash).
    text = re.sub(r"(?<!\\)\{", "\n{", text)
    # striprtf is typed but its function is not annotated.
    return str(rtf_to_text(text, errors="ignore")).strip("\n")  # type: ignore[no-untyped-call]


# MS-OXTNEF attribute ids (the low word) that tnefparse decodes as MAPI property lists.
_ATT_MAPI_PROPS = 0x9003
_ATT_RECIPIENTS = 0x9004
_ATT_ATTACHMENT = 0x9005
_LEVEL_ATTACHMENT = 0x02
_IMESSAGE = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
_MULTI_VALUE = 0x1000
_NAMED = 0x8000
_FIXED_SIZES = {0x0002: 2, 0x000B: 2, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x0005: 8, 0x0006: 8}
_FIXED_SIZES |= {0x0007: 8, 0x0014: 8, 0x0040: 8, 0x0048: 16}
_VARIABLE = frozenset({0x001E, 0x001F, 0x000D, 0x0102, 0x0000})
_MAX_EMBEDDED_DEPTH = 3
# tnefparse copies the rest of the stream for each object: what that may cost, in bytes per
# byte of the stream. Real streams (a body, a few attachments) copy a few times their size.
_COPY_FACTOR = 64


class _TooComplex(Exception):
    """A TNEF stream whose counts would make tnefparse loop or copy past all proportion."""


class _End(Exception):
    """The walk of a property list reached where tnefparse stops reading it."""


class _TnefCheck:
    """Walks a TNEF stream as tnefparse 1.4 does, without decoding it, and raises _TooComplex
    where tnefparse would loop on a count the stream cannot hold, or copy too much."""

    def __init__(self, data: bytes) -> None:
        self.copy_left = _COPY_FACTOR * len(data) + (1 << 20)

    def message(self, data: memoryview, depth: int) -> None:
        if depth > _MAX_EMBEDDED_DEPTH:
            raise _TooComplex
        offset, size = 6, len(data)
        while offset + 12 < size:
            self.copy_left -= size - offset
            if self.copy_left < 0:
                raise _TooComplex
            level, name = data[offset], _u16(data, offset + 1)
            length = min(size - offset, _u32(data, offset + 5) + 11)
            body = data[offset + 9 : offset + length - 2]
            attachment = level == _LEVEL_ATTACHMENT
            if name == (_ATT_ATTACHMENT if attachment else _ATT_MAPI_PROPS):
                self.properties(body, 0, depth)
            elif not attachment and name == _ATT_RECIPIENTS:
                self.recipients(body, depth)
            offset += length

    def recipients(self, data: memoryview, depth: int) -> None:
        rows, offset = _u32(data, 0), 4
        if rows * 4 > len(data):
            raise _TooComplex
        for _ in range(rows):
            offset = self.properties(data, offset, depth)

    def properties(self, data: memoryview, offset: int, depth: int) -> int:
        size = len(data)
        count = _u32(data, offset)
        offset += 4
        # tnefparse goes through every count, reading or not: each property takes 4 bytes.
        if count * 4 > size - offset:
            raise _TooComplex
        try:
            for _ in range(count):
                if offset >= size:
                    break
                offset = self.property(data, offset, depth)
        except (_End, struct.error):
            pass
        return offset

    def property(self, data: memoryview, offset: int, depth: int) -> int:
        kind, name = _u16(data, offset), _u16(data, offset + 2)
        offset += 4
        if name >= _NAMED:
            offset += 16
            named_kind = _u32(data, offset)
            offset += 4
            if named_kind == 0:
                offset += 4
            else:
                offset += 4 + _padded(_u32(data, offset))
        values = None
        if kind & _MULTI_VALUE:
            kind ^= _MULTI_VALUE
            values = _u32(data, offset)
            offset += 4
            if values * 2 > len(data) - offset:
                raise _TooComplex
        for _ in range(values or 1):
            offset = self.value(data, offset, kind, multi=values is not None, depth=depth)
        if (values or 1) % 2 and kind in {0x0002, 0x000B}:
            offset += 2
        return offset

    def value(self, data: memoryview, offset: int, kind: int, *, multi: bool, depth: int) -> int:
        if kind in _FIXED_SIZES:
            return offset + _FIXED_SIZES[kind]
        if kind not in _VARIABLE:
            raise _End
        count = 1
        if not multi:
            count = _u32(data, offset)
            offset += 4
        for _ in range(count):
            length = _padded(_u32(data, offset))
            offset += 4
            item = data[offset : offset + length]
            if kind in {0x000D, 0x0102} and item[: len(_IMESSAGE)] == _IMESSAGE:
                self.message(item[len(_IMESSAGE) :], depth + 1)
            offset += length
        return offset


def _u16(data: memoryview, offset: int) -> int:
    return int(struct.unpack_from("<H", data, offset)[0])


def _u32(data: memoryview, offset: int) -> int:
    return int(struct.unpack_from("<I", data, offset)[0])


def _padded(length: int) -> int:
    return length + (-length % 4)
