"""HTML-only mail -> readable Markdown: structure kept, markup, scripts and trackers gone."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import pytest

from handler.inbound.html_markdown import html_to_markdown
from handler.inbound.trim import trim_reply
from tests.conftest import ROOT


def test_structure_is_kept_as_markdown():
    """Paragraphs, emphasis, lists, links and tables survive as Markdown."""
    html = (
        "<p>Steps <b>to</b> <i>reproduce</i>:</p><ol><li>Open <a href='https://example.com/a'>"
        "the page</a></li><li>Click</li></ol><table><tr><th>OS</th><th>Result</th></tr>"
        "<tr><td>Linux</td><td>ok</td></tr></table>"
    )
    assert html_to_markdown(html) == (
        "Steps **to** *reproduce*:\n\n1. Open [the page](https://example.com/a)\n2. Click\n\n"
        "| OS | Result |\n| --- | --- |\n| Linux | ok |"
    )


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>a</p><script>alert(1)</script><p>b</p>", "a\n\nb"),
        ("<style>p { color: red }</style><p>text</p>", "text"),
        ("<head><title>T</title><meta charset=utf-8></head><body>x</body>", "x"),
        ("<p>x<!-- hidden --></p>", "x"),
        ("<!--[if mso]><p>only outlook</p><![endif]--><p>all</p>", "all"),
        ('<p>logo <img src="https://t.example/p.gif" alt="ACME"> here</p>', "logo [ACME] here"),
        ('<p>pixel<img src="https://t.example/p.gif" width=1 height=1></p>', "pixel"),
        ("<p><a href='javascript:alert(1)'>click</a></p>", "click"),
        ("<p><a href='data:text/html,x'>data</a></p>", "data"),
        ("<p><a href='mailto:a@example.com'>a@example.com</a></p>", "a@example.com"),
        ("<p><a href='https://e.com/x)y'>link</a></p>", "[link](https://e.com/x%29y)"),
        ("<p>a&nbsp;b&amp;c</p>", "a b&c"),
        ("<p>one<br>two</p>", "one\ntwo"),
        ("<p>a</p><p></p><p></p><p></p><p>b</p>", "a\n\nb"),
        ("<iframe src='https://e.com'></iframe><form><input value=x></form>ok", "ok"),
        ("<p>**bold** and snake_case</p>", "**bold** and snake_case"),
        ("<o:p></o:p><p class=MsoNormal>Office<o:p></o:p></p>", "Office"),
        ("<table><tr><th>a|b</th></tr><tr><td>c</td></tr></table>", "| a\\|b |\n| --- |\n| c |"),
    ],
)
def test_markup_is_dropped(html, expected):
    """Scripts, styles, comments, images, unsafe links and Office markup leave only text."""
    assert html_to_markdown(html) == expected


def test_no_tag_survives_hostile_html():
    """Unclosed and malformed tags do not come through as HTML."""
    html = "<div><p>x<b>y<i>z</div><span onclick=evil()>s</span><![CDATA[c]]><?php x ?>"
    markdown = html_to_markdown(html)
    assert not re.search(r"<[a-z!?/]", markdown)
    assert "evil" not in markdown


def test_deep_nesting_does_not_exhaust_the_stack():
    """Ten thousand nested divs (a hostile mail) still give the text."""
    assert html_to_markdown("<div>" * 10_000 + "deep" + "</div>" * 10_000) == "deep"


def test_blockquote_becomes_a_quote_the_trimmer_cuts():
    """Gmail's HTML reply: the attribution and the blockquote come out as trimmable text."""
    html = (
        '<div dir="ltr">Fixed in 2.4.2.</div><br><div class="gmail_quote"><div dir="ltr" '
        'class="gmail_attr">On Sun, Nov 22, 2026 at 6:02 PM Sam Lee &lt;<a href="mailto:sam@'
        'example.com">sam@example.com</a>&gt; wrote:<br></div><blockquote class="gmail_quote" '
        'style="margin:0px 0px 0px 0.8ex">Does it happen on 2.4.1?<br>Thanks</blockquote></div>'
    )
    markdown = html_to_markdown(html)
    assert markdown == (
        "Fixed in 2.4.2.\n\nOn Sun, Nov 22, 2026 at 6:02 PM Sam Lee <sam@example.com> wrote:\n\n"
        "> Does it happen on 2.4.1?\n> Thanks"
    )
    assert trim_reply(markdown).body == "Fixed in 2.4.2."


@pytest.mark.parametrize(
    "header",
    [
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri" style="font-size:11pt">'
        "<b>From:</b> Sam Lee &lt;sam@example.com&gt;<br><b>Sent:</b> Friday, November 20, "
        "2026 4:40 PM<br><b>To:</b> Bob &lt;bob@example.com&gt;<br><b>Subject:</b> Broken "
        "link</font><div>&nbsp;</div></div>",
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        '<p class="MsoNormal"><b><span lang="EN-US">From:</span></b><span lang="EN-US"> Sam '
        "Lee &lt;sam@example.com&gt;<br><b>Sent:</b> Friday, November 20, 2026 4:40 PM<br>"
        "<b>To:</b> Bob<br><b>Subject:</b> Broken link</span></p></div>",
    ],
    ids=["outlook-web", "outlook-desktop"],
)
def test_outlook_reply_headers_become_plain_lines_the_trimmer_cuts(header):
    """Outlook's bold From:/Sent: block comes out as plain header lines and is trimmed."""
    html = f"<p>The link works now.</p><hr>{header}<p>The download link is broken.</p>"
    markdown = html_to_markdown(html)
    assert "From: Sam Lee <sam@example.com>" in markdown
    assert "**" not in markdown
    assert trim_reply(markdown).body == "The link works now."


def test_text_mail_never_imports_the_html_libraries():
    """Importing the renderer leaves BeautifulSoup and markdownify for the first HTML mail."""
    code = (
        "import sys, handler.inbound.render, handler.inbound.html_markdown\n"
        "assert not {'bs4', 'markdownify'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)  # noqa: S603 - our own interpreter


def test_preformatted_text_keeps_its_line_breaks():
    """Inside <pre>, even under inline tags, newlines are the author's and stay."""
    html = "<p>Log:</p><pre><b>line 1</b>\n<i>line 2\n\nline 4</i></pre><p>after</p>"
    assert html_to_markdown(html) == "Log:\n\n```\nline 1\nline 2\n\nline 4\n```\n\nafter"


def test_table_cells_under_inline_markup_and_nested_tables():
    """Rows find their cells however deep; a "|" is escaped once in nested cells too."""
    html = (
        "<table><tr><td><b>a|b</b></td><td colspan=2>c</td></tr>"
        "<tr><td><table><tr><td>x|y</td></tr></table></td></tr></table>"
    )
    assert html_to_markdown(html) == (
        "| **a\\|b** | c | |\n| --- | --- | --- |\n| | x\\|y | | --- | |"
    )


def test_depth_is_measured_after_outlook_headers_are_flattened():
    """Spans that would be too deep are unwrapped first, so the header keeps its structure."""
    html = (
        '<div id="divRplyFwdMsg">'
        + "<span>" * 160
        + "<b>From:</b> Sam<ul><li>one</li></ul>"
        + "</span>" * 160
        + "</div>"
    )
    assert html_to_markdown(html) == "From: Sam\n\n- one"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>x</p><!DOCTYPE html><?xml version='1.0'?><p>y</p>", "x\n\ny"),
        ("<div><script><!-- a --></script><p>kept</p></div>", "kept"),
        ('<div style="border-top:solid 1px"><span>no bold</span> here</div>', "no bold here"),
    ],
)
def test_one_walk_strips_what_is_not_text(html, expected):
    """Declarations, processing instructions and dropped tags go in the same pass."""
    assert html_to_markdown(html) == expected


def test_html_that_looks_like_a_url_is_text_and_warns_nothing():
    """A whole HTML part that is a URL (or a file name) is its text; bs4's hint is not logged."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert html_to_markdown("https://example.com/a.html") == "https://example.com/a.html"
        assert html_to_markdown("report.html") == "report.html"
