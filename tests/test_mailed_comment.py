"""The text mailed of a comment posted from a mail: every rendered golden comment without our
attribution, footer and marker, and nothing else taken."""

from __future__ import annotations

import re

import pytest

from handler.github.posts import marker
from handler.outbound.mailed_comment import mailed_text
from tests.complexity import MAX_GROWTH, growth
from tests.conftest import TESTS

GOLDENS = sorted((TESTS / "render").glob("*.md"))
MARKER = marker("0123456789abcdef" * 2)
FOOTER = "<sub>Sent by email to 7@x.example · posted by ticket-router</sub>"


def posted(name: str) -> str:
    """The comment as handler.inbound.render posts it: the golden, then the mail's marker."""
    return (TESTS / "render" / name).read_text() + "\n" + MARKER


def middle(markdown: str) -> str:
    """The golden between its first paragraph (attribution) and its last (footer)."""
    paragraphs = markdown.split("\n\n")
    return "\n\n".join(paragraphs[1:-1])


def test_there_are_goldens_to_read():
    """The goldens below are the renderer's: a missing folder would pass every case."""
    assert len(GOLDENS) >= 10


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda path: path.stem)
def test_each_golden_keeps_exactly_what_is_between_attribution_and_footer(golden):
    """The attribution and the footer go, with the marker; every other paragraph stays as is."""
    markdown = golden.read_text()
    text = mailed_text(posted(golden.name))
    assert text == middle(markdown)
    first, last = markdown.split("\n\n")[0], markdown.split("\n\n")[-1]
    assert first.endswith("**") or first.endswith("wrote by email:")
    assert first not in text
    assert last not in text
    assert not re.search(r"wrote by email:|<sub>Sent by email to|ticket-router:mail=", text)


@pytest.mark.parametrize("golden", GOLDENS, ids=lambda path: path.stem)
def test_github_line_ends_change_nothing(golden):
    """A body GitHub hands back with CRLF line ends gives the same text."""
    crlf = posted(golden.name).replace("\n", "\r\n")
    assert mailed_text(crlf) == middle(golden.read_text())


def test_a_comment_without_a_marker_loses_its_footer_too():
    """The footer goes whether or not the marker follows it."""
    body = f"**Ann** wrote by email: **Hi**\n\nText.\n\n{FOOTER}"
    assert mailed_text(body) == "Text."


def test_an_attribution_without_a_subject_goes_too():
    """A mail without a subject is attributed without one."""
    body = f"**Ann** wrote by email:\n\nText.\n\n{FOOTER}\n{MARKER}"
    assert mailed_text(body) == "Text."


def test_an_address_shown_in_the_attribution_is_not_mailed():
    """A route that shows senders' addresses puts one in the attribution: it goes with it."""
    body = (
        r"**Ann Lee \<ann@example.com\>** wrote by email: **Re: Export**"
        f"\n\nStill broken.\n\n{FOOTER}\n{MARKER}"
    )
    assert mailed_text(body) == "Still broken."


@pytest.mark.parametrize(
    "body",
    [
        "Our team wrote by email: see below.\n\nText.",
        "**Ann** wrote by email: **Hi**\nand a second line\n\nText.",
        "Text.\n\n<sub>Sent by email to 7@x.example</sub>",
        "Text.\n\n<sub>Sent by email to 7@x.example · posted by ticket-router</sub> and more",
    ],
    ids=["plain-words", "longer-first-paragraph", "other-footer", "footer-with-more"],
)
def test_what_only_resembles_ours_is_kept(body: str):
    """A paragraph that is not exactly our attribution or footer (a comment edited on GitHub,
    a person's own words) is the comment's text."""
    assert mailed_text(body) == body


def test_only_our_wrapping_is_left_empty():
    """A comment that is nothing but attribution, footer and marker mails no text."""
    body = f"**Ann** wrote by email: **Hi**\n\n{FOOTER}\n{MARKER}"
    assert mailed_text(body) == ""


@pytest.mark.parametrize(
    "hostile",
    [
        lambda n: "**" + "\\*" * n + " wrote by email: **" + "a" * n,
        lambda n: "**a** wrote by email: **" + "\\" * n + "x",
        lambda n: "Text.\n\n<sub>Sent by email to " + "·" * n + " posted by ticket-route</sub>",
        lambda n: "\n\n".join(["**a** wrote by email:"] * n),
    ],
    ids=["unclosed-name", "backslashes", "almost-a-footer", "many-paragraphs"],
)
def test_the_text_takes_time_linear_in_the_comment(hostile):
    """A comment GitHub lets anyone write (65,536 characters) made to look almost like our
    attribution or footer costs time in proportion to its length."""
    assert growth(lambda n: mailed_text(hostile(n)), 4000) < MAX_GROWTH
