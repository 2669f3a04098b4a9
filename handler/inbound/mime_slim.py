"""Large base64 attachments cut out of raw MIME before the stdlib parser reads it.

The rules, and why: docs/inbound.md#mime_slim.
"""

from __future__ import annotations

import email
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message as EmailMessage
from email.policy import compat32

from handler.inbound.headers import MimePart

SIZE_FIELD = f"X-Cut-Size-{secrets.token_hex(16)}"
# Smaller bodies cost the parser little; cutting them would only add work.
MIN_CUT = 32 * 1024

# Fields (a name the parser's headerRE accepts, a colon) with their continuation lines, then
# the blank line; anything else in a header block the parser reads in its own way.
_HEADER_BLOCK = re.compile(rb"(?:[\041-\071\073-\176]+:[^\n]*\n(?:[ \t][^\n]*\n)*)*\r?\n")
_DELIMITER_END = re.compile(rb"(--)?[ \t]*(?:\r\n|\r|\n)?$")
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/\r\n]*")
_PADDING = re.compile(rb"(?:=[\r\n]*){1,2}")


@dataclass(frozen=True)
class _Cut:
    part: int  # where the part's header block starts: the size field goes there
    body: int
    end: int
    size: int


@dataclass(frozen=True)
class _Delimiter:
    start: int
    end: int
    close: bool


@dataclass(frozen=True)
class _Scan:
    raw: bytes
    measured: Callable[[EmailMessage], bool]
    threshold: int
    max_depth: int


def slim(
    raw: bytes,
    measured: Callable[[EmailMessage], bool],
    *,
    threshold: int = MIN_CUT,
    max_depth: int,
) -> bytes:
    """``raw`` without the bodies of base64 parts of at least ``threshold`` encoded bytes that
    ``measured`` says are only measured, each such part carrying its decoded size in
    ``SIZE_FIELD``; ``raw`` itself when nothing is cut.

    ``measured`` is asked with the part's header fields only. Multiparts nested ``max_depth``
    deep or more are not entered.
    """
    if len(raw) < threshold or raw.count(b"\r") != raw.count(b"\r\n"):
        return raw
    cuts = _entity(_Scan(raw, measured, threshold, max_depth), 0, len(raw), 0)
    if not cuts:
        return raw
    view = memoryview(raw)
    pieces: list[bytes | memoryview] = []
    done = 0
    for cut in cuts:
        field = f"{SIZE_FIELD}: {cut.size}\r\n".encode("ascii")
        pieces += [view[done : cut.part], field, view[cut.part : cut.body]]
        done = cut.end
    pieces.append(view[done:])
    return b"".join(pieces)


def header_end(raw: bytes) -> int | None:
    """Where the body of ``raw`` starts, when its header block is fields, continuation lines and
    the blank line, without a lone CR: the lines the stdlib parser reads as this module does.
    None for any other header block."""
    block = _HEADER_BLOCK.match(raw)
    if block is None:
        return None
    end = block.end()
    return end if raw.count(b"\r", 0, end) == raw.count(b"\r\n", 0, end) else None


def _entity(scan: _Scan, start: int, end: int, depth: int) -> list[_Cut]:
    """The cuts within the part written in ``raw[start:end]``."""
    # A part smaller than the threshold holds no body to cut: not even its header is read.
    if end - start < scan.threshold:
        return []
    block = _HEADER_BLOCK.match(scan.raw, start, end)
    if block is None or end - block.end() < scan.threshold:
        return []
    body = block.end()
    headers = email.message_from_bytes(scan.raw[start:body], MimePart, policy=compat32)
    maintype = headers.get_content_maintype()
    if maintype == "multipart":
        boundary = headers.get_boundary()
        if (
            boundary is None
            or depth >= scan.max_depth
            or headers.get_content_type() == "multipart/digest"
        ):
            return []
        try:
            # The parser compares lines decoded as ASCII with 8-bit bytes as surrogates.
            separator = ("--" + boundary).encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            return []  # no line can match it: the parser finds no parts
        return _multipart(scan, separator, body, end, depth) or []
    if (
        maintype == "message"
        # The expression email.message.Message.get_payload decides by.
        or str(headers.get("content-transfer-encoding", "")).lower() != "base64"
        or not scan.measured(headers)
    ):
        return []
    size = _base64_size(scan.raw, body, end)
    return [] if size is None else [_Cut(start, body, end, size)]


def _multipart(
    scan: _Scan, separator: bytes, start: int, end: int, depth: int
) -> list[_Cut] | None:
    """The cuts within the parts of a multipart body, or None when its structure is not one
    this module reads exactly as the parser does.

    ``raw[start:end]`` holds no delimiter line of an enclosing multipart (the caller ended the
    part at the first one), so only this multipart's own delimiters divide it.
    """
    delimiter = _next_delimiter(scan.raw, separator, start, end)
    if delimiter is None or delimiter.close:
        return None
    cuts: list[_Cut] = []
    while not delimiter.close:
        following = _next_delimiter(scan.raw, separator, delimiter.end, end)
        if following is None or following.start == delimiter.end:
            return None
        cuts += _entity(scan, delimiter.end, following.start, depth + 1)
        delimiter = following
    return cuts


def _next_delimiter(raw: bytes, separator: bytes, start: int, end: int) -> _Delimiter | None:
    position = start
    while (found := raw.find(separator, position, end)) >= 0:
        newline = raw.find(b"\n", found, end)
        line_end = end if newline < 0 else newline + 1
        if found == 0 or raw[found - 1] == ord("\n"):
            tail = _DELIMITER_END.match(raw, found + len(separator), line_end)
            if tail:
                return _Delimiter(found, line_end, tail.group(1) is not None)
        position = line_end
    return None


def _base64_size(raw: bytes, start: int, end: int) -> int | None:
    """The decoded length of the base64 in ``raw[start:end]``, or None unless it decodes as
    the stdlib's strict pass does, which records no defect."""
    run = _BASE64_RUN.match(raw, start, end)
    padding = run.end() if run else start
    pads = 0
    if padding < end:
        if not _PADDING.fullmatch(raw, padding, end):
            return None
        pads = raw.count(b"=", padding, end)
    characters = end - start - raw.count(b"\n", start, end) - raw.count(b"\r", start, end)
    if characters % 4:
        return None
    return characters // 4 * 3 - pads
