"""Bytes and header words -> text: MIME charsets as senders use them, RFC 2047 encoded-words,
RFC 2231 parameters, and 8-bit header bytes read as UTF-8 (RFC 6532).

Pure: no I/O. A charset that cannot be honoured is read as UTF-8, stray bytes as windows-1252,
and said in a defect; so is one the data clearly is not in (docs/inbound.md#charsets)."""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
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
_HIGH_BYTES = bytes(range(0x80, 0x100))
# The charset each CJK superset extends: UTF-8 that the base set cannot read is not in the
# superset either, though the superset (GB 18030 reads almost any byte pair) may decode it.
_BASE_SETS = {
    "gb2312": "gb2312",
    "gbk": "gb2312",
    "gb18030": "gb2312",
    "big5": "big5",
    "big5hkscs": "big5",
    "cp950": "big5",
    "shift_jis": "shift_jis",
    "cp932": "shift_jis",
    "shift_jis_2004": "shift_jis",
    "shift_jisx0213": "shift_jis",
    "euc_jp": "euc_jp",
    "euc_jis_2004": "euc_jp",
    "euc_jisx0213": "euc_jp",
    "euc_kr": "euc_kr",
    "cp949": "euc_kr",
}
# charset-normalizer is asked only about this many 8-bit bytes or more (fewer after a label
# failed: a wrong guess then replaces a reading that is already wrong), and reads at most the
# first _DETECT_SAMPLE bytes; its guess counts when its mess ratio is this low, and replaces a
# windows-1252 reading only when that one's is this high (Western text reads 0.0 to 0.06,
# Cyrillic, Greek or CJK read as windows-1252 1.0 and more).
_MIN_DETECTED = 64
_MIN_DETECTED_LABELLED = 8
_DETECT_SAMPLE = 32 * 1024
_CONFIDENT_CHAOS = 0.1
_MESSY = 0.5
# Guesses never taken: data without a byte order mark is never UTF-16 or UTF-32 in mail, and
# UTF-7 reads any ASCII.
_NOT_GUESSED = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le", "utf_7"]


def decode_bytes(
    data: bytes, charset: str | None, *, hint: str | None = None
) -> tuple[str, str | None]:
    """``data`` as text in ``charset``, and a defect when the charset could not be honoured or
    was overridden.

    A declared charset the data is clearly not in is overridden: by UTF-8 when the data is
    UTF-8, else by ``hint`` (another charset the data names for itself: an HTML <meta>), else
    by what charset-normalizer is confident of; each only when it reads the data whole.
    """
    name = (charset or "").strip().strip("\"'").lower()
    if name in _UNDECLARED or name in _UTF8:
        text, guessed = _undeclared(data)
        return text, f"mislabelled-charset:{name}" if guessed and name in _UTF8 else None
    codec = _codec(name)
    label = re.sub(r"[^a-z0-9._:+-]", "?", name[:40])
    if codec is None:
        return _undeclared(data)[0], f"unknown-charset:{label}"
    try:
        text = _SURROGATES.sub("\ufffd", data.decode(codec, errors="replace"))
    # A codec may refuse "replace" or fail in its own way: the data is read as undeclared.
    except (ValueError, LookupError):
        return _undeclared(data)[0], f"unknown-charset:{label}"
    if data.isascii():
        return text, None
    replaced = "\ufffd" in text
    utf8 = _strict(data, "utf-8")
    if utf8 is not None and (replaced or _not_in_label(data, codec)):
        return utf8, f"mislabelled-charset:{label}"
    # A one-byte charset reads any bytes, as does the hint's: which is right cannot be told, and
    # the MIME label wins (HTML's rule too). A CJK label whose base set cannot read the data
    # (GB 2312 bytes labelled Big5, which Big5-HKSCS reads as other characters) yields to a hint
    # that reads it whole.
    other = _hinted(data, hint) if replaced or _not_in_cjk_base(data, codec) else None
    if other is None and replaced:
        other = _detected(data, least=_MIN_DETECTED_LABELLED)
    return (other, f"mislabelled-charset:{label}") if other is not None else (text, None)


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


def _undeclared(data: bytes) -> tuple[str, bool]:
    """Data in no named charset (or said to be UTF-8), and whether its charset was guessed:
    UTF-8, stray bytes read as windows-1252 (mail mixing the two is common); data that is not
    UTF-8 at all in the charset charset-normalizer is confident of, when windows-1252 makes a
    mess of it (Cyrillic or CJK sent without a label)."""
    try:
        # Valid UTF-8 (most mail) has no stray bytes: not looked for through the whole text.
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="surrogateescape")
    runs = list(itertools.islice(_STRAY_BYTES.finditer(text), _MAX_STRAY_RUNS + 1))
    if not runs:
        return text, False
    if _mostly_stray(data, text):
        windows = data.decode("cp1252", errors="replace")
        detected = _detected(data, instead_of=windows)
        if detected is not None:
            return detected, True
        if len(runs) > _MAX_STRAY_RUNS:
            return windows, False
    elif len(runs) > _MAX_STRAY_RUNS:
        return data.decode("cp1252", errors="replace"), False
    return _STRAY_BYTES.sub(
        lambda run: run.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"),
        text,
    ), False


def _mostly_stray(data: bytes, text: str) -> bool:
    """Whether many of ``data``'s 8-bit bytes are outside UTF-8 sequences: a legacy charset, not
    UTF-8 with a pasted line. (CJK and Thai bytes form a UTF-8 sequence by chance at every
    second or third character, so a third is many.)"""
    high = _high_count(data)
    stray = len(text) - len(_STRAY_BYTES.sub("", text))
    return high >= _MIN_DETECTED and stray * 3 >= high


def _high_count(data: bytes) -> int:
    """How many of ``data``'s bytes are 8-bit."""
    return len(data) - len(data.translate(None, _HIGH_BYTES))


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _not_in_label(data: bytes, codec: str) -> bool:
    """Whether UTF-8 ``data`` is clearly not in ``codec``: a one-byte charset reads any bytes,
    but real text in one is never valid non-ASCII UTF-8; for the CJK charsets, UTF-8 that the
    charset's base set (GB 2312, Big5, Shift_JIS, EUC) does not read whole."""
    return _single_byte(codec) or _not_in_cjk_base(data, codec)


def _not_in_cjk_base(data: bytes, codec: str) -> bool:
    base = _BASE_SETS.get(codecs.lookup(codec).name)
    return base is not None and _strict(data, base) is None


@functools.cache
def _single_byte(codec: str) -> bool:
    decoded = _HIGH_BYTES.decode(codec, errors="replace")
    return len(decoded) == 0x80 and decoded.count("\ufffd") < 0x40


def _codec(name: str) -> str | None:
    """The Python codec of the charset ``name`` (lower-case) names; None when it names none that
    reads mail."""
    codec = _CHARSET_ALIASES.get(name, name)
    return codec if _CHARSET_NAME.fullmatch(codec) and _is_text_codec(codec) else None


def _hinted(data: bytes, hint: str | None) -> str | None:
    codec = _codec((hint or "").strip().lower())
    if codec is None:
        return None
    text = _strict(data, codec)
    return text if text is not None and "\ufffd" not in text else None


def _detected(
    data: bytes, *, instead_of: str | None = None, least: int = _MIN_DETECTED
) -> str | None:
    """``data`` in the charset charset-normalizer is confident of, read whole without a
    replacement character; None when it is not confident, or (``instead_of`` given) when that
    reading is no mess to begin with.

    Its guesses on a few dozen bytes are often wrong (KOI8-R taken for Shift_JIS), so it is
    asked only about data with ``least`` 8-bit bytes or more, and about a sample cut at a line
    end: it reads the sample in bounded time, and the whole data is then decoded once.
    """
    if _high_count(data) < least:
        return None
    # Imported here: it costs a cold start 50 ms, and most mail names its charset right.
    import charset_normalizer  # noqa: PLC0415
    from charset_normalizer.md import mess_ratio  # noqa: PLC0415

    sample = data[:_DETECT_SAMPLE]
    if len(data) > _DETECT_SAMPLE:
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    if instead_of is not None and mess_ratio(instead_of[:_DETECT_SAMPLE], 1.0) < _MESSY:
        return None
    best = charset_normalizer.from_bytes(sample, cp_exclusion=_NOT_GUESSED).best()
    if best is None or best.chaos > _CONFIDENT_CHAOS:
        return None
    text = _strict(data, best.encoding)
    return text if text is not None and "\ufffd" not in text else None


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
    raw = value.encode("utf-8", errors="surrogateescape")
    return decode_bytes(raw, None)[0]
