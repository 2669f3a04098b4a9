"""Bounded resources: hostile mails at SES's limits end in a clear decision, within memory.

Each test builds its mail in memory, runs ``plan`` on it and prints the wall time and the peak
memory Python allocated (tracemalloc) for the run. Memory is asserted (a Lambda's); time is
only printed, since a shared machine makes any bound on it flaky: pytest-timeout's limit catches
a hang, and tests/test_trim.py guards the growth of the costly patterns.
"""

from __future__ import annotations

import base64
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from handler.inbound.plan import Decision, plan
from handler.inbound.render import GITHUB_COMMENT_LIMIT
from tests.conftest import SES_ROUTES
from tests.sesmail import ses_block

RECIPIENT = "7@issues.example.com"
MB = 1024 * 1024
# SES refuses mail over 40 MB, headers included.
SES_MAX = 40 * MB
MAX_PEAK = 1024 * MB


def mail(body: bytes, *, content_type: str = "text/plain; charset=utf-8", extra: str = "") -> bytes:
    head = (
        f"From: Alice <alice@example.com>\r\nTo: {RECIPIENT}\r\nSubject: Bounds\r\n"
        f"Message-ID: <bounds@example.com>\r\nMIME-Version: 1.0\r\n{extra}"
        f"Content-Type: {content_type}\r\n\r\n"
    )
    return ses_block(recipient=RECIPIENT).encode() + head.encode() + body


@contextmanager
def measured(label: str, size: int, capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        with capsys.disabled():
            print(
                f"\n[bounds] {label}: {size / MB:.1f} MB in, {seconds:.2f} s, "
                f"peak {peak / MB:.0f} MB",
                end="",
            )
        assert peak < MAX_PEAK


def judged(label: str, raw: bytes, capsys: pytest.CaptureFixture[str]) -> Decision:
    with measured(label, len(raw), capsys):
        decisions = plan(raw, SES_ROUTES).decisions
    [decision] = decisions
    if decision.draft is not None:
        assert len(decision.draft.body.encode("utf-16-le")) // 2 <= GITHUB_COMMENT_LIMIT
    return decision


def test_forty_megabyte_mail(capsys):
    """A mail at SES's 40 MB limit (big text part, big base64 attachment) becomes a cut comment."""
    text = ("The build fails on ARM again. " * 34 + "\r\n") * 10_000
    head = (
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + text.encode()
        + b"\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="core.bin"\r\n\r\n'
    )
    tail = b"\r\n--b--\r\n"
    room = SES_MAX - len(mail(head + tail, content_type='multipart/mixed; boundary="b"'))
    # encodebytes writes 77 bytes (76 and a newline) for every 57 bytes of data.
    attachment = base64.encodebytes(bytes(range(256)) * (room * 57 // 77 // 256))
    raw = mail(head + attachment + tail, content_type='multipart/mixed; boundary="b"')
    assert 39 * MB < len(raw) <= SES_MAX
    decision = judged("40 MB mail", raw, capsys)
    assert (decision.action, decision.reason) == ("comment", "accepted")
    assert decision.draft is not None
    assert "The mail was too long for a GitHub comment" in decision.draft.body
    assert "core.bin (application/octet-stream, " in decision.draft.body


def test_mime_nested_hundreds_deep(capsys):
    """500 nested multiparts: the walk stops at its depth limit and the mail says nothing."""
    depth = 500
    opening = b"".join(
        f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n'.encode()
        for i in range(depth)
    )
    leaf = f"--n{depth}\r\nContent-Type: text/plain\r\n\r\nhello\r\n--n{depth}--\r\n".encode()
    closing = b"".join(f"--n{i}--\r\n".encode() for i in reversed(range(depth)))
    raw = mail(opening + leaf + closing, content_type='multipart/mixed; boundary="n0"')
    decision = judged("MIME nested 500 deep", raw, capsys)
    assert (decision.action, decision.reason) == ("reject", "empty-body")


def test_thousands_of_parts(capsys):
    """5,000 parts: the first ones are read, the rest are counted out, the comment is cut."""
    parts = b"".join(
        f"--p\r\nContent-Type: text/plain\r\n\r\nPart {i} says hello.\r\n".encode()
        for i in range(5000)
    )
    raw = mail(parts + b"--p--\r\n", content_type='multipart/mixed; boundary="p"')
    decision = judged("5,000 parts", raw, capsys)
    assert (decision.action, decision.reason) == ("comment", "accepted")
    assert decision.draft is not None
    assert "Part 0 says hello." in decision.draft.body
    assert "Part 4999 says hello." not in decision.draft.body


def test_header_flood(capsys):
    """100,000 header lines above a short body: the mail is still read and posted."""
    flood = "".join(f"X-Flood-{i}: {'v' * 40}\r\n" for i in range(100_000))
    raw = mail(b"Short and sweet.\r\n", extra=flood)
    decision = judged("100k header lines", raw, capsys)
    assert (decision.action, decision.reason) == ("comment", "accepted")
    assert decision.draft is not None
    assert "Short and sweet." in decision.draft.body


def test_single_thirty_megabyte_line(capsys):
    """One 30 MB line of text is cut to fit a comment, not rejected and not left whole."""
    raw = mail(b"ab<c@d " * (30 * MB // 7) + b"\r\n")
    decision = judged("30 MB single line", raw, capsys)
    assert (decision.action, decision.reason) == ("comment", "accepted")
    assert decision.draft is not None
    assert "The mail was too long for a GitHub comment" in decision.draft.body
    assert "<c" not in decision.draft.body.split("\n\n")[1]


def test_invalid_charsets_and_broken_encodings(capsys):
    """Unknown charsets, bad base64 and bad quoted-printable: the readable text is posted."""
    parts = [
        ("text/plain; charset=x-no-such-charset", "8bit", b"Unknown charset, plain bytes."),
        ("text/plain; charset=utf-8", "base64", b"QnJva2VuIGJhc2U2NC4=!!!*&^\r\nQQ"),
        ("text/plain; charset=iso-8859-1", "quoted-printable", b"Broken QP =ZZ =\r\n=E9t=E9 ="),
        ("text/plain; charset=utf-7", "8bit", b"+AGEAYgBj- utf7 +broken"),
        ("text/plain; charset=utf-16", "8bit", b"\xff\xfeA\x00\x00\xd8"),
        ('text/plain; charset="\x00\xff"', "base64", b"\xff\xfe"),
        ("text/html; charset=zlib", "x-unknown", b"<p>not zlib at all</p>"),
    ]
    body = b"".join(
        f"--c\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode(
            "latin-1"
        )
        + payload
        + b"\r\n"
        for ctype, cte, payload in parts
    )
    raw = mail(body + b"--c--\r\n", content_type='multipart/mixed; boundary="c"')
    decision = judged("invalid charsets and encodings", raw, capsys)
    assert (decision.action, decision.reason) == ("comment", "accepted")
    assert decision.draft is not None
    assert "Unknown charset, plain bytes." in decision.draft.body
    assert "Broken base64." in decision.draft.body
    assert "t\u00e9" in decision.draft.body


def test_forty_megabytes_of_garbage(capsys):
    """40 MB of bytes that are not a mail at all: said to be binary data, not a mail."""
    raw = bytes(range(256)) * (SES_MAX // 256)
    decision = judged("40 MB of garbage", raw, capsys)
    assert (decision.action, decision.reason, decision.detail) == (
        "reject",
        "not-a-mail",
        "it holds binary data: a NUL byte at offset 0",
    )
