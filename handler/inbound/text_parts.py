"""The text of a mail's text/plain and text/html parts: decoded in the charset the part declares
(an HTML part's <meta> when MIME names none, or names one the data is not in), RFC 3676
format=flowed undone, line ends and controls normalised.

Pure: no I/O."""

from __future__ import annotations

import re
from email.message import Message as EmailMessage

from handler.inbound.charsets import decode_bytes, without_controls

# An HTML part without a MIME charset often names its charset in a <meta> tag instead.
_META_CHARSET = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:+-]+)", re.I)


def text_of(part: EmailMessage, content_type: str) -> tuple[str, str | None]:
    """The part's decoded text ("" when it has no body), and a defect when its charset could
    not be honoured or was overridden (handler.inbound.charsets.decode_bytes)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return "", None
    charset = part.get_content_charset()
    meta = None
    if content_type == "text/html":
        declared = _META_CHARSET.search(payload[:4096])
        meta = declared.group(1).decode("ascii") if declared else None
    return decode_bytes(payload, charset or meta, hint=meta)


def unflowed(text: str, part: EmailMessage) -> str:
    """``text`` of a format=flowed part with its soft line breaks joined and space-stuffing
    undone (RFC 3676); any other part's as it is."""
    if str(part.get_param("format", "", header="content-type")).lower() != "flowed":
        return text
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


def clean_text(text: str) -> str:
    """The mail's plain text with LF line ends, no byte order mark and no stray controls."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return without_controls(text)


def _quoted(text: str, depth: int) -> str:
    return f"{'>' * depth} {text}" if depth else text
