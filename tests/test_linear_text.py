"""Linear text handling: each family of patterns that reads mail text costs time linear in the
text, on the input crafted against it (n against 8n in one run; tests/complexity.py).

Trimming's own families are in test_trim.py; header fields' in test_hostile.py.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from handler.inbound import render
from handler.inbound.charsets import decode_header_value
from handler.inbound.headers import Address, MimePart, addresses
from handler.inbound.html_markdown import html_to_markdown
from handler.inbound.mail import parse_mail
from handler.inbound.render import display_name, sanitize_markdown
from handler.inbound.titles import issue_title
from handler.outbound.update_mail import without_html_comments
from tests.complexity import MAX_GROWTH, growth


def mime_part(content_type: str) -> MimePart:
    part = MimePart()
    part["Content-Type"] = content_type
    return part


_WORD = "=?utf-8?b?" + base64.b64encode(b"x" * 45).decode() + "?= "

# (what is read, hostile text of size n, n): each line a family and the input that made it
# quadratic (or worse) before.
FAMILIES: dict[str, tuple[Callable[[str], object], Callable[[int], str], int]] = {
    # render: an inline link's "[^)]*" after its destination, when no ")" follows.
    "links-unclosed": (sanitize_markdown, lambda n: "[a](x " * n, 4_000),
    "link-long-destination": (sanitize_markdown, lambda n: "[a](" + "x" * n, 200_000),
    # render: code spans paired by scanning every later run.
    "code-spans": (sanitize_markdown, lambda n: "`a` " * n, 4_000),
    "code-unpaired": (
        sanitize_markdown,
        lambda n: "".join("`" * k + "a" for k in range(2, 40)) + "`a" * n,
        4_000,
    ),
    # render: an address-like run without "@" in a display name.
    "display-name": (
        lambda text: display_name(Address(text, "a", "b.example")),
        "x".__mul__,
        4_000,
    ),
    # render: Outlook's "[cid:...]" placeholders, unclosed; a forward's From line without an
    # address, or with a long local part; quotes set apart from the text after them.
    "cid-unclosed": (lambda text: render._CID_MARKER.sub("", text), lambda n: "[cid:a" * n, 4_000),
    "forward-sender": (render._forward_sender, lambda n: "a." * n + "@", 4_000),
    "forward-sender-addresses": (render._forward_sender, lambda n: "a@b.example " * n, 4_000),
    "quotes-apart": (render._apart_from_quotes, lambda n: "> q\nx\n" * n, 20_000),
    # render: plain text's patches, a run of header lines without a hunk read again from each;
    # dash rows under text; a hunk that claims more lines than there are.
    "patch-headers": (render._as_sent, lambda n: "diff x\n" * n, 20_000),
    "dash-rows": (render._as_sent, lambda n: "a\n---\n" * n, 20_000),
    "patch-hunk": (
        render._as_sent,
        lambda n: "--- a\n+++ b\n@@ -1,99999 +1 @@\n" + " x\n" * n,
        20_000,
    ),
    # html_markdown: runs of white space, in text and in <pre> (markdownify's patterns for
    # them were quadratic; the writer's must not be).
    "html-spaces": (html_to_markdown, lambda n: "<p>a" + " " * n + "b</p>", 10_000),
    "html-pre-spaces": (html_to_markdown, lambda n: "<pre>a" + " " * n + "b</pre>", 10_000),
    # html_markdown: what the stdlib's HTML parser rescanned to the end for, and what the
    # defusing pass before Lexbor still looks for.
    "html-comments": (html_to_markdown, lambda n: "<!--a>" * n, 2_000),
    "html-marked-sections": (html_to_markdown, lambda n: "<![CDATA[a>" * n, 2_000),
    "html-open-tags": (html_to_markdown, lambda n: "<a" * n, 2_000),
    "html-end-tags": (html_to_markdown, lambda n: "<title>" + "</ti" * n, 2_000),
    # charsets: adjacent encoded-words in one charset.
    "encoded-words": (decode_header_value, lambda n: _WORD * n, 2_000),
    # headers: MIME parameters after an open quote, and many of them.
    "parameters-open-quote": (
        lambda value: mime_part(value).get_content_charset(),
        lambda n: 'text/plain; a="x' + ";" * n,
        10_000,
    ),
    "parameters-many": (
        lambda value: mime_part(value).get_content_charset(),
        lambda n: "text/plain" + "; a=b" * n,
        4_000,
    ),
    # headers: the nesting of comments in an address field, past the cap.
    "address-comments": (lambda value: addresses([value], []), lambda n: "(" * n, 40_000),
    # mail: a folded Subject.
    "folded-subject": (
        lambda text: parse_mail(f"Subject: {text}\r\n\r\nhi\r\n".encode()),
        lambda n: "a\r\n b" * n,
        10_000,
    ),
    # titles: markers and list tags, run after run.
    "title-markers": (issue_title, lambda n: "[a] Re: " * n, 2_000),
    # update mails: HTML comments in a GitHub comment, none of them closed.
    "comment-html-comments": (without_html_comments, lambda n: "<!--" * n, 20_000),
}


@pytest.mark.parametrize(("read", "hostile", "size"), FAMILIES.values(), ids=FAMILIES.keys())
def test_hostile_text_costs_time_linear_in_its_size(
    read: Callable[[str], object], hostile: Callable[[int], str], size: int
):
    """Eight times the hostile text costs well under 64 times the time."""
    assert growth(lambda n: read(hostile(n)), size) < MAX_GROWTH


def test_open_quote_parameters_split_as_the_stdlib_does():
    """The one-pass split keeps a ";" inside quotes, as email.message's own does."""
    part = mime_part('text/plain; name="a;b"; charset=utf-8; a="x;;')
    assert part.get_params() == [
        ("text/plain", ""),
        ("name", "a;b"),
        ("charset", "utf-8"),
        ("a", '"x;;'),
    ]


def test_comments_marked_sections_and_unclosed_tags_are_not_text():
    """A comment, an Outlook marked section and a "<" no ">" follows leave no markup behind."""
    html = "<p>a<!-- hidden -->b<![if !supportLists]>-<![endif]> c</p><!-- open < d"
    assert html_to_markdown(html) == "ab- c"
    assert html_to_markdown("<p>x</p>y <b") == "x\n\ny <b"


def test_whitespace_and_preformatted_text_convert_as_markdownify_did():
    """Runs of whitespace collapse to one space or one line break; <pre> keeps its inside."""
    html = "<p>a \t  b\n \n  c</p><pre>\n  \n  x  y\n\n  </pre>"
    assert html_to_markdown(html) == "a b\nc\n\n```\n  x  y\n```"


def test_html_comments_are_dropped_and_an_unclosed_one_kept():
    """Every closed comment goes, markers included; from an unclosed one on, the text stays."""
    text = "a<!-- ticket-router:x -->b<!--\nc\n-->d<!-- open e"
    assert without_html_comments(text) == "abd<!-- open e"
    assert without_html_comments("<!---->x<!-- -- -->") == "x"
