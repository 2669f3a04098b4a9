"""A mail of one part is parsed by its header block alone, its body set as the payload: the
stdlib parser's own result, part for part, without its reading the body a line at a time."""

from __future__ import annotations

import email
from email.message import Message as EmailMessage
from email.policy import compat32

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bench.mails
from handler.inbound.headers import MimePart
from handler.inbound.mail import _parsed
from handler.inbound.mime_slim import header_end
from tests.conftest import ROOT, stored_mails


def state(part: EmailMessage) -> tuple[object, ...]:
    """Everything the parser sets on a part, its subparts' included."""
    payload = part._payload  # the parser's own fields are what is compared
    if isinstance(payload, list):
        payload = [state(child) for child in payload]
    return (
        type(part),
        part._headers,
        payload,
        [type(defect).__name__ for defect in part.defects],
        part.preamble,
        part.epilogue,
        part.get_unixfrom(),
        part.get_charset(),
        part.get_default_type(),
    )


def assert_as_the_parser(raw: bytes) -> None:
    expected = email.message_from_bytes(raw, MimePart, policy=compat32)
    assert state(_parsed(raw)) == state(expected)


@pytest.mark.parametrize("path", stored_mails(), ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_every_stored_mail_parses_as_the_parser_parses_it(path):
    """Every .eml of the tests, the fuzz corpus and the shared corpus parses as the stdlib's."""
    assert_as_the_parser(path.read_bytes())


def test_html_only_mail_takes_the_shortcut():
    """The benchmark's HTML-only mail has a header block the shortcut reads, and parses alike."""
    raw = bench.mails.newsletter()
    assert header_end(raw) is not None
    assert_as_the_parser(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: a\rb\r\nContent-Type: text/plain\r\n\r\nbody",
        b"From x@y Mon Jan 1\r\nSubject: a\r\n\r\nbody",
        b":empty name\r\n\r\nbody",
        b"Subject: a\r\n continued\r\n\tagain\r\n\r\n\xff\xfe body\r\nno end",
        b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ntext",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\npart\r\n--b--\r\n",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary",
        b"\r\nbody without fields",
        b"Subject: no blank line",
        b"",
    ],
)
def test_header_blocks_the_shortcut_must_not_misread(raw):
    """Lone CRs, envelope lines, empty names, multiparts and message/*: as the parser reads them."""
    assert_as_the_parser(raw)


LINES = st.sampled_from(
    [
        "Subject: x",
        " folded",
        "\tfolded",
        "From x",
        ":x",
        "X-Y: \udcff",
        "Content-Type: text/html",
        "Content-Type: multipart/alternative; boundary=b",
        "Content-Type: message/delivery-status",
        "--b",
        "--b--",
        "",
        "body \u00e9",
        "a\rb",
    ]
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINES, max_size=12), eol=st.sampled_from(["\r\n", "\n", "\r"]))
def test_generated_mails_parse_as_the_parser_parses_them(lines, eol):
    """Random header blocks and bodies, any line end, parse as the stdlib parses them."""
    assert_as_the_parser(eol.join(lines).encode("utf-8", "surrogateescape"))
