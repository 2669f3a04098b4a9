"""Bytes and header words -> text: declared charsets, the labels senders really use, RFC 2047."""

from __future__ import annotations

import pytest

from handler.inbound.charsets import decode_bytes, decode_header_value


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        (b"caf\xc3\xa9", None, ("café", None)),
        (b"caf\xe9", None, ("café", None)),
        (b"caf\xe9", "us-ascii", ("café", None)),
        (b"\x93q\x94", "iso-8859-1", ("\u201cq\u201d", None)),
        (b"\xb1\xe6", "ISO-8859-2", ("ąć", None)),
        (b"\xc7\xd1\xb1\xdb", "ks_c_5601-1987", ("한글", None)),
        (b"\xd6\xd0\xce\xc4", "gb2312", ("中文", None)),
        (b"+AOk-", "unicode-1-1-utf-7", ("é", None)),
        (b"ok", "x-klingon", ("ok", "unknown-charset:x-klingon")),
        (b"ok", "rot13", ("ok", "unknown-charset:rot13")),
    ],
)
def test_decode_bytes(data, charset, expected):
    """Declared charsets, the labels senders really use, and unknown ones."""
    assert decode_bytes(data, charset) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?q?Re=3A_caf=C3=A9?=", "Re: café"),
        ("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "éé"),
        ("=?x-unknown?q?caf=C3=A9?=", "café"),
        ("=?utf-8?q?broken", "=?utf-8?q?broken"),
        ("plain   text\twith  spaces", "plain text with spaces"),
        ("=?ISO-2022-JP?B?GyRCJEgbKEI=?=", "と"),
        ("=?utf-8?q?=E2=82?= =?utf-8?q?=AC?=", "€"),
        ("=?utf-8?b?4oI=?=\r\n =?UTF-8?B?rA==?= rate", "€ rate"),
        ("=?utf-8?q?a?= =?iso-8859-1?q?=E9?= b", "aé b"),
        ("=?utf-8?b?w6k?=", "é"),
        ("=?utf-8*en?q?hi?=", "hi"),
        ("=?utf-8?q?a?= C:\\users\\u0041", "a C:\\users\\u0041"),
        ("tab\there\x00", "tab here"),
    ],
)
def test_decode_header_value(value, expected):
    """RFC 2047 words in any charset, malformed ones left as written, whitespace collapsed."""
    assert decode_header_value(value) == expected


def test_data_that_is_mostly_not_utf8_is_read_as_windows_1252():
    """Past a thousand stray bytes the whole text is windows-1252, in one fast pass."""
    assert decode_bytes(b"caf\xe9 " * 2000, None) == ("café " * 2000, None)
