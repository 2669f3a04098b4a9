"""MIME -> Message: every charset and encoding decoded, structure walked, nothing ever raised."""

from __future__ import annotations

import pytest

from handler.mail import Address, Attachment, decode_bytes, decode_header_value, parse_mail
from tests.conftest import TESTS

MAILS = TESTS / "mail"


def mail(name: str):
    return parse_mail((MAILS / name).read_bytes())


def test_base64_utf8_body_and_encoded_subject():
    """Base64 bodies and RFC 2047 B-encoded subjects are decoded."""
    message = mail("base64-utf8.eml")
    assert message.subject == "Grüße aus München"
    assert message.text == "Grüße aus München — the build is green ✓\n"
    assert message.from_ == (Address("Alice Example", "alice", "example.com"),)
    assert message.message_id == "base64-utf8@example.com"
    assert message.defects == ()


def test_quoted_printable_iso_8859_2():
    """Quoted-printable in a Central European charset, subject Q-encoded in the same."""
    message = mail("qp-iso-8859-2.eml")
    assert message.subject == "Zażółć gęślą jaźń"
    assert message.text is not None
    assert message.text.startswith("Zażółć gęślą jaźń: pomiar z czujnika nr 3 jest błędny")


def test_latin1_label_is_read_as_windows_1252():
    """Mail labelled ISO-8859-1 is windows-1252 in practice (smart quotes, the euro sign)."""
    assert mail("cp1252-declared-latin1.eml").text == (
        "The \u201cnightly\u201d job fails \u2013 costs 5 \u20ac per run.\n"
    )


def test_unknown_charset_still_decodes_and_is_recorded():
    """The stdlib raises on an unknown charset; we fall back to UTF-8 and note the defect."""
    message = mail("unknown-charset.eml")
    assert message.text == "Überprüft: läuft.\n"
    assert message.defects == ("unknown-charset:x-klingon",)


def test_broken_base64_decodes_what_it_can():
    """Garbage in a base64 body is a defect, not a crash; the readable start survives."""
    message = mail("broken-base64.eml")
    assert message.text is not None
    assert message.text.startswith("Hello world")
    assert "InvalidBase64CharactersDefect" in message.defects


def test_nested_multiparts_are_walked_completely():
    """mixed > mixed > alternative > related: the plain text is chosen, the PDF is listed."""
    message = mail("nested-four-deep.eml")
    assert message.text == "Reply in plain text with a logo."
    assert message.html is None
    assert message.attachments == (Attachment("report.pdf", "application/pdf", 130),)


def test_html_only_mail_keeps_its_html_for_conversion():
    """Without a text/plain part the HTML is handed on; the renderer converts it."""
    message = mail("html-only.eml")
    assert message.text is None
    assert message.html is not None
    assert message.html.startswith('<div dir="ltr"><p>The <a href="https://example.com/log">')


def test_format_flowed_with_delsp():
    """RFC 3676: soft breaks joined, DelSp spaces removed, space-stuffing undone, sig kept."""
    assert mail("flowed-delsp.eml").text == (
        "This is a long line that the client wrapped for transport, but it is one paragraph. "
        "And it goes on after a space.\nFrom a space-stuffed line.\n\n-- \nAlice\n"
    )


def test_format_flowed_keeps_quote_depth():
    """Flowed quoted lines join with each other, never with unquoted text."""
    assert mail("flowed.eml").text == (
        "First part of a paragraph continues here.\n> quoted and flowed too\nHard break.\n"
    )


def test_attachment_names_in_every_encoding():
    """RFC 2231 and RFC 2047 file names are decoded; a nameless part gets one from its type."""
    message = mail("rfc2231-filename.eml")
    assert message.text == "See attached."
    assert message.attachments == (
        Attachment("résumé \u2013 v2.pdf", "application/pdf", 8),
        Attachment("Messwerte_März.csv", "text/csv", 8),
        Attachment("attachment-3.bin", "application/octet-stream", 4),
    )


def test_forwarded_message_is_an_attachment_not_text():
    """A message/rfc822 part is listed by its subject; its text is not mixed into the reply."""
    message = mail("forwarded-rfc822.eml")
    assert message.text == "Forwarding the original report."
    assert message.attachments == (Attachment("Sensor 3 offline.eml", "message/rfc822", 63),)


def test_international_addresses_and_group_syntax():
    """UTF-8 headers (RFC 6532), IDN domains in xn-- form, groups with no members, quoted commas."""
    message = mail("idn-from-group-to.eml")
    assert message.from_ == (Address("Jörg", "jörg", "xn--bcher-kva.example"),)
    assert message.to == ()
    assert message.cc == (
        Address("Issues, Web", "web-45", "issues.example.com"),
        Address("", "7", "issues.example.com"),
    )
    assert message.subject == "Bücher"
    assert message.headers[0] == ("From", "=?utf-8?q?J=C3=B6rg?= <jörg@Bücher.Example>")


def test_encoded_display_name_cannot_inject_an_address():
    """Addresses are parsed before display names are decoded: the encoded "<...>" stays a name."""
    raw = (
        b"From: =?utf-8?q?admin=40example.com_=3Cadmin=40example.com=3E?= <x@evil.example.net>\r\n"
        b"\r\nhi\r\n"
    )
    assert parse_mail(raw).from_ == (
        Address("admin@example.com <admin@example.com>", "x", "evil.example.net"),
    )


def test_headers_keep_order_and_raw_values():
    """Header fields come back in order, unfolded, not decoded: SES's block is judged on them."""
    raw = (
        b"Received: from a\r\n by b; Mon, 1 Jan 2026 00:00:00 +0000\r\n"
        b"Subject: =?utf-8?q?caf=C3=A9?=\r\nX-Empty:\r\n\r\nbody\r\n"
    )
    message = parse_mail(raw)
    assert message.headers == (
        ("Received", "from a by b; Mon, 1 Jan 2026 00:00:00 +0000"),
        ("Subject", "=?utf-8?q?caf=C3=A9?="),
        ("X-Empty", ""),
    )
    assert message.header("subject") == "=?utf-8?q?caf=C3=A9?="
    assert message.subject == "café"


def test_two_from_headers_give_two_addresses():
    """A second From header is not hidden: the sender check then refuses the mail."""
    raw = b"From: a@example.com\r\nFrom: b@evil.example.net\r\n\r\nhi\r\n"
    assert [a.addr for a in parse_mail(raw).from_] == ["a@example.com", "b@evil.example.net"]


def test_control_characters_and_line_endings_are_normalised():
    """CRLF and CR become LF; NUL and other C0 controls are dropped; tabs stay."""
    raw = b"From: a@example.com\r\n\r\nline\x00one\r\nline\ttwo\rline\x1bthree\r\n"
    assert parse_mail(raw).text == "lineone\nline\ttwo\nlinethree\n"


def test_leading_blank_lines_before_the_header_are_ignored():
    """Some tools save a blank line first; the header is still read as a header."""
    message = parse_mail(b"\nFrom: a@example.com\nSubject: s\n\nbody\n")
    assert (message.subject, message.text) == ("s", "body\n")


def test_multipart_without_boundaries_is_read_as_text():
    """A multipart whose boundary never appears still yields its text."""
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/alternative; boundary=xyz\r\n\r\n"
        b"Just text.\r\n"
    )
    message = parse_mail(raw)
    assert message.text == "Just text.\n"
    assert "multipart-without-parts" in message.defects


def nested(depth: int) -> bytes:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(depth)
    )
    return ("From: a@example.com\r\n" + head + "Content-Type: text/plain\r\n\r\ndeep\r\n").encode()


def test_nesting_is_walked_to_a_bounded_depth():
    """Past 20 levels the walk stops with a defect instead of following the nesting."""
    assert parse_mail(nested(10)).text == "deep"
    shallow_enough = parse_mail(nested(30))
    assert (shallow_enough.text, shallow_enough.defects[:1]) == (None, ("nested-too-deep",))


def test_nesting_that_defeats_the_parser_keeps_the_header_but_no_body():
    """A thousand levels exhaust the stdlib parser: the sender is still known, no MIME is posted."""
    message = parse_mail(nested(1000))
    assert message.defects == ("unparseable: RecursionError",)
    assert [a.addr for a in message.from_] == ["a@example.com"]
    assert (message.text, message.html) == (None, None)


def test_many_parts_are_bounded():
    """Thousands of parts are cut at the part limit, with a defect."""
    parts = "".join(
        f"--b\r\nContent-Type: application/octet-stream\r\n\r\n{n}\r\n" for n in range(2000)
    )
    raw = (
        'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + parts
        + "--b--\r\n"
    ).encode()
    message = parse_mail(raw)
    assert "too-many-parts" in message.defects
    assert len(message.attachments) == 499


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe" * 100,
        b"not a mail at all",
        b"From: \r\n\r\n",
        b"Content-Type: text/plain; charset=\r\n\r\n\xff\xfe",
        b"Content-Type: text/plain; charset=rot13\r\n\r\nuryyb",
        b"Content-Type: text/plain; charset=base64\r\n\r\nhello",
        b"Content-Type: multipart/mixed\r\n\r\n--\r\n--\r\n",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n\r\n",
        b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 f\r\n#86)C\r\n`\r\nend\r\n",
        b"Subject: =?unknown-8bit?q?=FF?= =?utf-8?b?!!!?= =?x?q?a?=\r\n\r\n",
        b'From: <@>, <a@>, <@b>, "" <>, ,,, a@b@c\r\n\r\n',
        b"Content-Disposition: attachment; filename*=bogus''%ZZ\r\n"
        b"Content-Type: application/pdf\r\n\r\n",
        "Subject: caf\u00e9\r\nFrom: b\u00fccher@\u00fc.example\r\n\r\n\u00e9".encode("latin-1"),
    ],
)
def test_parse_mail_never_raises(raw):
    """Every input, however broken, gives a Message (and so a decision)."""
    message = parse_mail(raw)
    assert isinstance(message.subject, str)


def test_latin1_bytes_in_headers_fall_back_to_windows_1252():
    """8-bit header bytes that are not UTF-8 are read as windows-1252, not dropped."""
    raw = "Subject: caf\u00e9 \u20ac\r\n\r\n".encode("cp1252")
    assert parse_mail(raw).subject == "café €"


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
    ],
)
def test_decode_header_value(value, expected):
    """RFC 2047 words in any charset, malformed ones left as written, whitespace collapsed."""
    assert decode_header_value(value) == expected
