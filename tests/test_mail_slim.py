"""Large base64 attachments are measured without being decoded, and the Message is unchanged.

handler.inbound.mime_slim cuts bodies out of the raw bytes before the stdlib parser reads them;
every
mail must parse exactly as it does without that step. Cut counts are asserted too, so that an
equivalence can never hold only because nothing was cut.
"""

from __future__ import annotations

import base64
import re
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bench.mails
from handler.inbound.attachments import Attachment, is_attachment
from handler.inbound.mail import MAX_DEPTH, parse_mail
from handler.inbound.mime_slim import SIZE_FIELD, slim
from handler.inbound.plan import plan
from handler.routing import parse_routes
from tests.conftest import ROOT, SHARED_EMAILS, stored_mails

DATA = bytes(range(256)) * 40
ENCODED = base64.encodebytes(DATA).decode()
MB = 1_000_000


def cuts(raw: bytes) -> int:
    """How many bodies the pre-pass cuts out of ``raw`` when every eligible one is cut."""
    return slim(raw, is_attachment, threshold=0, max_depth=MAX_DEPTH).count(SIZE_FIELD.encode())


def assert_same(raw: bytes) -> None:
    assert parse_mail(raw, min_cut=0) == parse_mail(raw, min_cut=None)


def mail(body: str, content_type: str, *, eol: str = "\r\n") -> bytes:
    """A mail with ``body`` (written with \\n line ends) under ``content_type``."""
    text = (
        "From: Alice <alice@example.com>\nTo: 7@issues.example.com\nSubject: slim\n"
        f"MIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}"
    )
    return text.replace("\n", eol).encode("utf-8", "surrogateescape")


def part(content_type: str, body: str = ENCODED, *, extra: str = "", cte: str = "base64") -> str:
    return f"Content-Type: {content_type}\n{extra}Content-Transfer-Encoding: {cte}\n\n{body}"


def multipart(boundary: str, *parts: str, close: bool = True) -> str:
    inner = "".join(f"--{boundary}\n{p}\n" for p in parts)
    return inner + (f"--{boundary}--\n" if close else "")


PDF = part("application/pdf", extra='Content-Disposition: attachment; filename="log.pdf"\n')
PNG = part("image/png; name=shot.png")
TEXT = "Content-Type: text/plain\n\nHello.\n"
HTML = "Content-Type: text/html\n\n<p>Hello.</p>\n"
MIXED = 'multipart/mixed; boundary="b"'


def nested(depth: int) -> bytes:
    """``depth`` multiparts, each the only part of the one above, an image at the bottom."""
    body = PNG
    for level in reversed(range(1, depth)):
        body = f'Content-Type: multipart/mixed; boundary="n{level}"\n\n' + multipart(
            f"n{level}", body
        )
    return mail(multipart("n0", body), 'multipart/mixed; boundary="n0"')


CASES = {
    "nested multiparts": (
        mail(
            multipart(
                "b",
                'Content-Type: multipart/alternative; boundary="alt"\n\n'
                + multipart(
                    "alt",
                    TEXT,
                    'Content-Type: multipart/related; boundary="rel"\n\n'
                    + multipart("rel", HTML, PNG),
                ),
                PDF,
            ),
            MIXED,
        ),
        2,
    ),
    "preamble and epilogue, with lines that only look like delimiters": (
        mail(
            "This is a multi-part message.\n--bx is not a delimiter\n--b- nor this\n"
            + multipart("b", TEXT, PDF)
            + "Epilogue.\n--b\n",
            MIXED,
        ),
        1,
    ),
    "delimiters with trailing spaces and tabs": (
        mail(f"--b \t\n{TEXT}\n--b\t\n{PDF}\n--b-- \n", MIXED),
        1,
    ),
    "boundary with spaces, quotes and regex characters": (
        mail(multipart("it's (a) b+.*", PDF), 'multipart/mixed; boundary="it\'s (a) b+.*"'),
        1,
    ),
    # compat32 reads 8-bit header bytes as U+FFFD, which no line read from bytes can hold.
    "boundary with 8-bit bytes no line can match": (
        mail(multipart("b\udce9", PDF), 'multipart/mixed; boundary="b\udce9"'),
        0,
    ),
    "RFC 2231 boundary no line can match": (
        mail(multipart("\u00e9b", PDF), "multipart/mixed; boundary*=utf-8''%C3%A9b"),
        0,
    ),
    "LF-only line ends": (mail(multipart("b", TEXT, PDF), MIXED, eol="\n"), 1),
    "lone CR line ends": (mail(multipart("b", TEXT, PDF), MIXED, eol="\r"), 0),
    "one lone CR in a text part": (
        mail(multipart("b", "Content-Type: text/plain\n\nA\rB\n", PDF), MIXED),
        0,
    ),
    "a delimiter after a lone CR": (
        mail(f"--b\n{TEXT}\r--b\n{PDF}\n--b--\n", MIXED),
        0,
    ),
    "missing close delimiter": (mail(multipart("b", TEXT, PDF, close=False), MIXED), 0),
    "close delimiter at the end without a line end": (
        mail(multipart("b", PDF).removesuffix("\n"), MIXED),
        1,
    ),
    "close delimiter first": (mail("--b--\n" + multipart("b", PDF), MIXED), 0),
    "two delimiter lines in a row": (mail(f"--b\n--b\n{PDF}\n--b--\n", MIXED), 0),
    "an outer delimiter ends an inner multipart without its close": (
        mail(
            multipart(
                "b",
                'Content-Type: multipart/mixed; boundary="in"\n\n'
                + multipart("in", PNG, close=False),
                PDF,
            ),
            MIXED,
        ),
        1,
    ),
    # The inner multipart ends before its first line, an outer delimiter: the image is outer.
    "the same boundary at two levels": (
        mail(
            multipart("b", 'Content-Type: multipart/mixed; boundary="b"\n\n' + multipart("b", PNG)),
            MIXED,
        ),
        1,
    ),
    "boundaries that are prefixes of each other": (
        mail(
            multipart(
                "a",
                'Content-Type: multipart/mixed; boundary="a--"\n\n' + multipart("a--", PNG),
                PDF,
            ),
            'multipart/mixed; boundary="a"',
        ),
        0,
    ),
    "multipart without a boundary": (mail(multipart("b", PDF), "multipart/mixed"), 0),
    "multipart/digest": (mail(multipart("b", PDF), 'multipart/digest; boundary="b"'), 0),
    f"nested {MAX_DEPTH} deep": (nested(MAX_DEPTH), 1),
    f"nested {MAX_DEPTH + 1} deep": (nested(MAX_DEPTH + 1), 0),
    "a character outside the alphabet": (
        mail(multipart("b", part("image/png", ENCODED[:300] + "!" + ENCODED[300:])), MIXED),
        0,
    ),
    "trailing spaces on base64 lines": (
        mail(multipart("b", part("image/png", ENCODED.replace("\n", " \n"))), MIXED),
        0,
    ),
    "a length that is not a multiple of four": (
        mail(multipart("b", part("image/png", ENCODED.rstrip("\n") + "AB\n")), MIXED),
        0,
    ),
    "too much padding": (mail(multipart("b", part("image/png", "QUI===\n")), MIXED), 0),
    "padding in the middle": (mail(multipart("b", part("image/png", "QQ==QUJD\n")), MIXED), 0),
    "padding split across lines": (mail(multipart("b", part("image/png", "QQ=\n=\n")), MIXED), 1),
    "one padding character": (mail(multipart("b", part("image/png", "QUI=\n")), MIXED), 1),
    "an empty base64 body": (mail(multipart("b", part("image/png", "")), MIXED), 1),
    "a text/plain attachment with a file name": (
        mail(multipart("b", TEXT, part('text/plain; name="notes.txt"')), MIXED),
        1,
    ),
    "a text/plain part marked as an attachment": (
        mail(multipart("b", part("text/plain", extra="Content-Disposition: attachment\n")), MIXED),
        1,
    ),
    "a base64 text/plain body": (mail(multipart("b", part("text/plain")), MIXED), 0),
    "uppercase BASE64": (mail(multipart("b", part("image/png", cte="BASE64")), MIXED), 1),
    "base64 with a trailing space the stdlib does not decode": (
        mail(multipart("b", part("image/png", cte="base64 ")), MIXED),
        0,
    ),
    "quoted-printable": (
        mail(multipart("b", part("image/png", "abc=3D\n", cte="quoted-printable")), MIXED),
        0,
    ),
    "two transfer encodings, 7bit first": (
        mail(multipart("b", part("image/png", extra="Content-Transfer-Encoding: 7bit\n")), MIXED),
        0,
    ),
    "a Content-Type without a subtype": (
        mail(multipart("b", part('application; name="x.bin"')), MIXED),
        1,
    ),
    "a header line that is no field": (
        mail(multipart("b", part("image/png", extra="not a field\n"), PDF), MIXED),
        1,
    ),
    "a header block opening with a continuation": (
        mail(multipart("b", " folded\n" + PNG, PDF), MIXED),
        1,
    ),
    "a From line among the part's fields": (
        mail(multipart("b", "From alice Mon Nov 23\n" + PNG, PDF), MIXED),
        1,
    ),
    "a part whose fields run into the next delimiter": (
        mail(
            multipart("b", "Content-Type: image/png\nContent-Transfer-Encoding: base64", PDF), MIXED
        ),
        1,
    ),
    "a forwarded mail's attachment stays whole": (
        mail(
            multipart(
                "b",
                "Content-Type: message/rfc822\n\n"
                + mail(multipart("f", PNG), 'multipart/mixed; boundary="f"', eol="\n").decode(),
                PDF,
            ),
            MIXED,
        ),
        1,
    ),
    "a single-part mail that is one attachment": (
        mail(ENCODED, "application/pdf\nContent-Transfer-Encoding: base64"),
        1,
    ),
    "the same attachment in both alternatives": (
        mail(
            multipart(
                "alt",
                'Content-Type: multipart/mixed; boundary="m1"\n\n' + multipart("m1", TEXT, PNG),
                'Content-Type: multipart/related; boundary="m2"\n\n' + multipart("m2", HTML, PNG),
            ),
            'multipart/alternative; boundary="alt"',
        ),
        2,
    ),
}


@pytest.mark.parametrize(("raw", "expected"), CASES.values(), ids=CASES.keys())
def test_edge_cases_parse_as_without_the_pre_pass(raw, expected):
    """Every hand-written case parses as without cutting, and is cut exactly where it is safe."""
    assert_same(raw)
    assert cuts(raw) == expected


@pytest.mark.parametrize("path", stored_mails(), ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_every_stored_mail_parses_as_without_the_pre_pass(path):
    """Every .eml of the tests, the fuzz corpus and the shared corpus parses as without cutting."""
    assert_same(path.read_bytes())


def test_shared_corpus_is_covered_when_present():
    """The shared mails are compared wherever that corpus is checked out."""
    if not SHARED_EMAILS.is_dir():
        pytest.skip("../shared/emails is not present in this checkout")
    assert any(SHARED_EMAILS in p.parents for p in stored_mails())


@pytest.mark.parametrize(
    "build", [bench.mails.reply, bench.mails.newsletter, bench.mails.attachments]
)
def test_bench_mails_parse_as_without_the_pre_pass(build):
    """The benchmark's mails parse alike, with every eligible body cut and with the default."""
    raw = build()
    unslimmed = parse_mail(raw, min_cut=None)
    assert parse_mail(raw, min_cut=0) == unslimmed
    assert parse_mail(raw) == unslimmed


def test_ten_megabyte_mail_is_measured_exactly_in_little_memory():
    """The 10 MB bench mail lists its attachments' exact sizes, planned in under 3x its size."""
    raw = bench.mails.attachments()
    routes = parse_routes(bench.mails.ROUTES, "bench")
    tracemalloc.start()
    try:
        planned = plan(raw, routes)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # bench.mails.attachments: int(10 MB * share * 3 / 4 * 0.99) bytes of data in each.
    assert planned.message.attachments == (
        Attachment("build-log.pdf", "application/pdf", 3_712_500),
        Attachment("screenshot.png", "image/png", 2_227_500),
        Attachment("core-dump.zip", "application/zip", 1_485_000),
    )
    assert cuts(raw) == 3
    assert peak < 30 * MB


def test_a_size_field_from_the_sender_is_ignored():
    """Size fields a sender writes, whatever token they guess, never replace the measured size."""
    forged = "".join(
        f"{name}: 999\n"
        for name in ("X-Cut-Size", f"X-Cut-Size-{'0' * 32}", re.sub(r"-\w+$", "-", SIZE_FIELD))
    )
    raw = mail(
        multipart(
            "b",
            part("image/png; name=a.png", extra=forged),
            part("image/png; name=b.png", "QQ==\n", extra=forged),
            part("image/png; name=c.png", "!!!!\n", extra=forged),
        ),
        MIXED,
    )
    assert cuts(raw) == 2
    sizes = [a.size for a in parse_mail(raw, min_cut=0).attachments]
    assert sizes == [len(DATA), 1, 0]
    assert parse_mail(raw, min_cut=0) == parse_mail(raw, min_cut=None)


BOUNDARIES = ["b", "b-", "b--", "c d", "c"]
BODIES = [
    ENCODED,
    ENCODED,
    ENCODED[:200],
    "QUI=\n",
    "QQ==\n",
    "QQ=\n=\n",
    "QUJD\nRA==\n",
    "QUJD RA==\n",
    "QUJDRA=\n",
    "QUJDRA\n",
    "QQ==QQ==\n",
    "",
    "Hello.\n--b\n",
    "--b-- \n",
    "Hello.\n--c d\t\n",
]


@st.composite
def leaves(draw: st.DrawFn) -> str:
    content_type = draw(
        st.sampled_from(["image/png", "image/png", "text/plain", "text/html", "message/rfc822"])
    )
    extra = draw(
        st.sampled_from(["", "", "", "Content-Disposition: attachment\n", "Not a field\n"])
    )
    cte = draw(st.sampled_from(["base64", "base64", "BASE64", "base64 ", "quoted-printable"]))
    return part(content_type, draw(st.sampled_from(BODIES)), extra=extra, cte=cte)


@st.composite
def multiparts(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    boundary = draw(st.sampled_from(BOUNDARIES))
    subtype = draw(st.sampled_from(["mixed", "alternative", "related", "digest"]))
    parts = draw(st.lists(children, min_size=1, max_size=3))
    body = multipart(boundary, *parts, close=draw(st.sampled_from([True, True, True, False])))
    # Repeated entries make the well-formed choices the likelier ones.
    preamble = draw(st.sampled_from(["", "", "", "Preamble.\n", "--b\n", "--c\n"]))
    epilogue = draw(st.sampled_from(["", "", "Epilogue.\n", "--b--\n"]))
    return f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n{preamble}{body}{epilogue}'


trees = st.one_of(
    leaves(),
    multiparts(st.recursive(leaves(), multiparts, max_leaves=6)),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    tree=trees,
    eol=st.sampled_from(["\r\n", "\r\n", "\r\n", "\n", "\r"]),
    stray=st.sampled_from(["", "", "", "", "", "\r"]),
)
def test_generated_mails_parse_as_without_the_pre_pass(tree, eol, stray):
    """Random trees of parts, delimiters and broken base64 parse alike with every body cut."""
    header, _, body = tree.partition("\n\n")
    raw = mail(body + stray, header.removeprefix("Content-Type: "), eol=eol)
    assert_same(raw)
