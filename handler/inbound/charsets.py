"""Bytes and header words -> text: MIME charsets as senders use them, RFC 2047 encoded-words,
and 8-bit header bytes read as UTF-8 (RFC 6532).

Pure: no I/O. A charset that cannot be honoured is read as UTF-8, stray bytes as windows-1252,
and said in a defect."""

from __future__ import annotations

import base64
import binascii
import codecs
import itertools
import re

_FILTERED_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHARSET_NAME = re.compile(r"[a-z0-9][a-z0-9._:+-]{0,39}")
# RFC 2047 encoded-word; spaces inside the encoded text are wrong but common, so allowed.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_QP_BYTE = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
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
# Text codecs that are no mail charset: they read Python or DNS syntax, refuse to replace what
# they cannot decode (idna, undefined), or take time quadratic in the data (punycode).
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"})
_STRAY_BYTES = re.compile("[\udc80-\udcff]+")
# Some codecs decode to lone surrogates (UTF-7's "+2D0-", unicode-escape's "\\ud800"), which no
# UTF-8 or UTF-16 encoder takes: a replacement character instead.
_SURROGATES = re.compile("[\ud800-\udfff]+")
# Past this many stray runs the data is not UTF-8 at all; one pass of windows-1252 is faster.
_MAX_STRAY_RUNS = 1000


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """``data`` as text in ``charset``, and a defect when the charset could not be honoured."""
    name = (charset or "").strip().strip("\"'").lower()
    if name in _UNDECLARED or name in _UTF8:
        return _utf8_or_cp1252(data), None
    codec = _CHARSET_ALIASES.get(name, name)
    if _CHARSET_NAME.fullmatch(codec) and _is_text_codec(codec):
        try:
            return _SURROGATES.sub("\ufffd", data.decode(codec, errors="replace")), None
        # A codec may refuse "replace" or fail in its own way: the data is read as undeclared.
        except (ValueError, LookupError):
            pass
    label = re.sub(r"[^a-z0-9._:+-]", "?", name[:40])
    return _utf8_or_cp1252(data), f"unknown-charset:{label}"


def decode_header_value(value: str) -> str:
    """An unstructured header (Subject, a display name) as text: RFC 2047 and RFC 6532.

    Adjacent encoded-words are joined before decoding, since some mailers split a multi-byte
    character across two; a malformed one is kept as written.
    """
    value = _unescape_raw(value)
    # Text as it is, or the bytes of a run of adjacent words in one charset, joined at the end:
    # adding each word's bytes to the run's so far would copy them again for every word.
    pieces: list[str | tuple[list[bytes], str]] = []
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
            pieces[-1][0].append(data)
        else:
            pieces.append(([data], charset))
    pieces.append(value[position:])
    text = "".join(
        p if isinstance(p, str) else decode_bytes(b"".join(p[0]), p[1])[0] for p in pieces
    )
    return " ".join(without_controls(text).split())


def without_controls(text: str) -> str:
    """``text`` without the C0 controls (but tab, LF and CR) and DEL, which no text we post
    keeps."""
    return _FILTERED_CONTROLS.sub("", text)


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
        info = codecs.lookup(name)
    except LookupError:
        return False
    return info._is_text_encoding and info.name not in _NOT_CHARSETS


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


def _unescape_raw(value: str) -> str:
    """compat32 keeps 8-bit header bytes as surrogates: read them as UTF-8 (RFC 6532)."""
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    raw = value.encode("ascii", errors="surrogateescape")
    return decode_bytes(raw, None)[0]
