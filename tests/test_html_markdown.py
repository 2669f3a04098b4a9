"""HTML-only mail -> readable Markdown: structure kept, markup, scripts and trackers gone."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import pytest

from handler.inbound.html_markdown import html_to_markdown
from handler.inbound.trim import trim_reply
from tests.complexity import MAX_GROWTH, growth
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
    """Importing the renderer leaves the HTML parser for the first HTML mail."""
    code = (
        "import sys, handler.inbound.render, handler.inbound.html_markdown\n"
        "assert not {'selectolax', 'bs4', 'markdownify'} & set(sys.modules), sorted(sys.modules)"
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


def test_header_formatting_is_plain_however_deep():
    """Bold and spans in Outlook's header lose their formatting, nested however deep."""
    html = '<div id="divRplyFwdMsg">' + "<span>" * 100 + "<b>From:</b> Sam" + "</span>" * 100
    assert html_to_markdown(html + "</div><ul><li>one</li></ul>") == "From: Sam\n\n> - one"


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
    """A whole HTML part that is a URL (or a file name) is its text, and nothing is warned."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert html_to_markdown("https://example.com/a.html") == "https://example.com/a.html"
        assert html_to_markdown("report.html") == "report.html"


# --- the mail clients' reply, forward and signature markup -----------------------------------

HTML = ROOT / "tests" / "html"
CLIENT_MAILS = sorted(path.stem for path in HTML.glob("*.html"))
# Top-posted replies: after conversion, trimming leaves exactly what the author wrote.
AUTHORS_TEXT = {
    "apple-ios-reply": "Friday works for me.",
    "apple-mac-reply-german": "Ja, mit 2.4.2 geht es wieder.\n\nDanke!",
    "gmail-reply-french": "Oui, corrigé dans la 2.4.2.\n\nMerci !",
    "gmail-signature": "Thanks, that fixed it.",
    "hotmail-reply": "Thanks, that fixed it.\n\nRegards,\nAnna",
    "outlook-desktop-reply-german": "Das Dach ist repariert.\n\nViele Grüße\n\nJan",
    "outlook-mobile-reply": "Series is\n\nReviewed-by: Yang Wang <yang@example.com>",
    "outlook-mobile-typed-in-signature": "Hi,\n\nThank you for the clarification.",
    "outlook-web-reply": "The link works again.",
    "spark-reply": "Yes, the LAN interface is supported.",
    "thunderbird-reply-french": "C'est corrigé dans la version 2.4.2.",
    "yahoo-reply-german": "Ja, das Update hat geholfen.",
    "zimbra-reply": "The roof was repaired on Friday.",
}


@pytest.mark.parametrize("name", CLIENT_MAILS)
def test_client_markup_reads_like_a_plain_text_mail(name):
    """Each client's reply, forward and signature markup gives the Markdown in its .md file."""
    html = (HTML / f"{name}.html").read_text(encoding="utf-8")
    expected = (HTML / f"{name}.md").read_text(encoding="utf-8")
    assert html_to_markdown(html) + "\n" == expected


@pytest.mark.parametrize("name", sorted(AUTHORS_TEXT))
def test_top_posted_reply_trims_to_the_authors_text(name):
    """Quote, header block and signature all fold away: the body is what the author typed."""
    html = (HTML / f"{name}.html").read_text(encoding="utf-8")
    assert trim_reply(html_to_markdown(html)).body == AUTHORS_TEXT[name]


def test_every_client_mail_is_checked_for_the_authors_text_or_is_a_forward():
    """A new fixture is either a top-posted reply listed above or a forward."""
    assert {name for name in CLIENT_MAILS if "forward" not in name} == set(AUTHORS_TEXT)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # Gmail before 2017: the attribution is text in div.gmail_quote.
        (
            '<div>Yes.</div><div class="gmail_extra"><br><div class="gmail_quote">On Mon, Jan '
            "13, 2025 at 5:03 PM, Anna &lt;anna@example.com&gt; wrote:<br><blockquote "
            'class="gmail_quote">Fixed?</blockquote></div></div>',
            "Yes.\n\nOn Mon, Jan 13, 2025 at 5:03 PM, Anna <anna@example.com> wrote:\n\n> Fixed?",
        ),
        # Apple Mail on iOS: the forward's headers in a blockquote of their own.
        (
            '<div dir="ltr">FYI</div><div dir="ltr"><br>Begin forwarded message:<br><br></div>'
            '<blockquote type="cite"><b>From:</b> Anna &lt;anna@example.com&gt;<br><b>Date:</b>'
            " 13 January 2025 at 17:03:00 CET<br><b>To:</b> help@example.org<br><b>Subject:</b> "
            'Crash<br><br></blockquote><blockquote type="cite"><div dir="ltr">It crashes.</div>'
            "</blockquote>",
            "FYI\n\nBegin forwarded message:\n\nFrom: Anna <anna@example.com>\nDate: 13 January "
            "2025 at 17:03:00 CET\nTo: help@example.org\nSubject: Crash\n\n> It crashes.",
        ),
        # Yahoo's forward: a ruled marker, then the fields, in the quoted container.
        (
            '<div>See below.</div><div class="yahoo_quoted"><div>----- Forwarded Message -----'
            "</div><div><b>From:</b> Anna &lt;anna@example.com&gt;</div><div><b>To:</b> Help</div>"
            "<div><b>Sent:</b> Monday, January 13, 2025, 05:03:00 PM GMT+1</div><div><b>Subject:"
            "</b> Crash</div><div><br></div><div>It crashes.</div></div>",
            "See below.\n\n----- Forwarded Message -----\nFrom: Anna <anna@example.com>\nTo: Help\n"
            "Sent: Monday, January 13, 2025, 05:03:00 PM GMT+1\nSubject: Crash\n\n> It crashes.",
        ),
        # A quote in a quote keeps its own head, one level in.
        (
            '<p>Agreed.</p><blockquote type="cite"><div>On 13 Jan 2025, at 10:00, Bob '
            '&lt;bob@example.com&gt; wrote:</div><br><div>Me too.</div><blockquote type="cite">'
            "<div>On 12 Jan 2025, at 09:00, Anna &lt;anna@example.com&gt; wrote:</div><br><div>"
            "Ship it?</div></blockquote></blockquote>",
            "Agreed.\n\nOn 13 Jan 2025, at 10:00, Bob <bob@example.com> wrote:\n\n> Me too.\n>\n"
            "> On 12 Jan 2025, at 09:00, Anna <anna@example.com> wrote:\n>\n> > Ship it?",
        ),
        # Outlook's quote ends with its container: the text after the blockquote is the author's.
        (
            '<blockquote><div id="divRplyFwdMsg"><b>From:</b> Anna<br><b>Sent:</b> Monday</div>'
            "<div>Old text</div></blockquote><p>Inline answer.</p>",
            "> From: Anna\n> Sent: Monday\n>\n> > Old text\n\nInline answer.",
        ),
        # Outlook web's #appendonsend without a header: what follows is the quote.
        (
            '<div>New text.</div><div id="appendonsend"></div><div>Old text.</div>',
            "New text.\n\n> Old text.",
        ),
    ],
    ids=["gmail-old", "apple-ios-forward", "yahoo-forward", "nested", "outlook-scope", "append"],
)
def test_quote_and_forward_heads_stay_plain(html, expected):
    """Attribution, forward marker and header fields are plain lines; the mail after them is
    quoted, a blank line apart."""
    assert html_to_markdown(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # A signature container with nothing before it holds what the author typed.
        ('<div id="Signature"><div>Only this.</div></div>', "Only this."),
        # A quote's first line that merely ends with a colon is not its attribution.
        (
            '<p>Top</p><blockquote type="cite"><div>Here is the log:</div><div>x</div>'
            "</blockquote>",
            "Top\n\n> Here is the log:\n>\n> x",
        ),
        # A lone "Subject:" line in a quote is text, not a header block.
        (
            '<p>Top</p><blockquote type="cite"><div>Subject: foo is broken</div></blockquote>',
            "Top\n\n> Subject: foo is broken",
        ),
        # A bordered div or an Office paragraph without a From: label is no Outlook header.
        (
            '<div style="border-top:solid #E1E1E1 1.0pt"><b>Note:</b> x</div><p>y</p>',
            "**Note:** x\n\ny",
        ),
        (
            '<p class="MsoNormal">From: the start, <b>it</b> failed.</p><p>y</p>',
            "From: the start, **it** failed.\n\ny",
        ),
        # Gmail's prefix is dropped with its line: the signature's "-- " says it once.
        (
            '<div>Hi</div><span class="gmail_signature_prefix">-- </span><br><div '
            'class="gmail_signature">Anna</div>',
            "Hi\n\n-- \nAnna",
        ),
        # Thunderbird's plain-text signature keeps its lines, without a code block.
        (
            '<p>Hi</p><pre class="moz-signature" cols="72">-- \nAnna\nACME</pre>',
            "Hi\n\n-- \nAnna\nACME",
        ),
    ],
)
def test_markers_are_taken_only_where_they_mean_it(html, expected):
    """Look-alikes stay text; a signature is one only after the author's text."""
    assert html_to_markdown(html) == expected


@pytest.mark.parametrize(
    ("html", "images", "expected"),
    [
        (
            '<p>See <img src="cid:image001.png@01DB65F0.5A1B2C30" alt="x"> here</p>',
            {"image001.png@01DB65F0.5A1B2C30": "screenshot.png"},
            "See [image: screenshot.png] here",
        ),
        # Content-IDs compare without case, and by the part before "@" when that is all.
        ('<img src="CID:Logo@Example.COM">', {"logo@example.com": "logo.png"}, "[image: logo.png]"),
        ('<img src="cid:logo">', {"logo@abc.example": "logo.png"}, "[image: logo.png]"),
        ('<img src="cid:logo@abc.example">', {"logo": "logo.png"}, "[image: logo.png]"),
        # RFC 2392: the Content-ID in the URL is %-encoded.
        ('<img src="cid:a%20b@x">', {"a b@x": "a b.png"}, "[image: a b.png]"),
        ('<img src="cid:unknown@x" alt="Chart">', {}, "[image: Chart]"),
        ('<img src="cid:unknown@x">', {}, "[image]"),
        ('<p>a <img src="cid:y"> b</p>', None, "a [image] b"),
        # Other images keep their alt text only (a remote image is a tracking pixel).
        ('<img src="https://t.example/p.gif" alt="ACME">', {"p.gif": "p.gif"}, "[ACME]"),
    ],
)
def test_inline_images_leave_a_marker_at_their_place(html, images, expected):
    """A cid: image names the attached file it shows, else its alt text."""
    assert html_to_markdown(html, images) == expected


def test_no_mail_text_passes_for_a_token():
    """The markers _tidy reads are random per mail: text that looks like one stays text."""
    html = "<p>\ue000000000000000o</p><p>> not a quote</p>"
    assert html_to_markdown(html) == "\ue000000000000000o\n\n> not a quote"


_CITE = (
    '<blockquote type="cite"><div>On 1 Jan 2025, a@example.com wrote:</div><div>x</div>'
    "</blockquote>"
)
# (hostile HTML of size n, n): each a way to make the client markup's handling cost more per tag.
HOSTILE_MARKUP = {
    "formatting-in-a-header": (
        lambda n: '<div id="divRplyFwdMsg"><b>From:' + "<i>x</i>" * n + "</b></div>",
        2_000,
    ),
    "paragraphs-after-a-header": (
        lambda n: '<div id="divRplyFwdMsg"><b>From:</b> a</div>' + "<p>x</p>" * n,
        2_000,
    ),
    "cites": (_CITE.__mul__, 500),
    "nested-cites": (
        lambda n: (
            (
                "<p>x</p>"
                + '<blockquote type="cite">' * 100
                + "On x, a@b.example wrote:<br>y"
                + "</blockquote>" * 100
            )
            * (n // 100)
        ),
        1_000,
    ),
    "signatures": (lambda n: '<p>x</p><div class="moz-signature">-- <br>s</div>' * n, 1_000),
    "gmail-forwards": (
        lambda n: (
            '<div class="gmail_quote"><div class="gmail_attr">---------- Forwarded message'
            " ---------<br>From: a</div><div>x</div></div>" * n
        ),
        500,
    ),
    "headers-tables": (
        lambda n: (
            '<div class="moz-forward-container"><table class="moz-email-headers-table">'
            + "<tr><th>From: </th><td>a</td></tr>" * n
            + "</table>x</div>"
        ),
        2_000,
    ),
    "head-lines": (
        lambda n: '<div class="yahoo_quoted">' + "<div>From: a</div>" * n + "x</div>",
        2_000,
    ),
    "office-paragraphs": (lambda n: '<p class="MsoNormal"><b>From:</b> a</p>' * n, 1_000),
    # Each container looks up its ancestors: nested past the depth limit, it stops looking.
    "nested-containers": (
        lambda n: '<div class="gmail_quote">' * n + "x" + "</div>" * n,
        1_000,
    ),
    "nested-signatures": (
        lambda n: 'x<div class="moz-signature">' * n + "x" + "</div>" * n,
        1_000,
    ),
}


@pytest.mark.parametrize(("hostile", "size"), HOSTILE_MARKUP.values(), ids=HOSTILE_MARKUP.keys())
def test_client_markup_costs_time_linear_in_its_size(hostile, size):
    """Eight times the hostile markup costs well under 64 times the time."""
    assert growth(lambda n: html_to_markdown(hostile(n)), size) < MAX_GROWTH


# (mail of size n, n): each shape HTML mail comes in, from a newsletter's table to a long thread.
MAIL_SHAPES = {
    "prose": (
        lambda n: (
            "<div>"
            + "<p>Some <b>bold</b> and <i>italic</i> text with <a href='https://e.org/'>a link</a>"
            ".<br>A second line.</p>\n" * n + "</div>"
        ),
        300,
    ),
    "table": (
        lambda n: (
            "<table>"
            + "".join(
                f"<tr><td style='padding:4px'><a href='https://e.org/{i}'>Item {i}</a></td>"
                f"<td><b>{i}</b></td><td colspan=2>2026-11-01</td></tr>"
                for i in range(n)
            )
            + "</table>"
        ),
        300,
    ),
    "nested-blocks": (
        lambda n: (
            ("<div>" * 40 + "<span>x</span><ul><li>a<ul><li>b</li></ul></li></ul>" + "</div>" * 40)
            * (n // 40)
        ),
        800,
    ),
    "table-bodies": (
        lambda n: "<table>" + "<tbody><tr><td>x</td></tr></tbody>" * n + "</table>",
        500,
    ),
    "nested-tables": (
        lambda n: ("<table><tr><td>" * 10 + "cell" + "</td></tr></table>" * 10) * (n // 10),
        800,
    ),
    "quoted-thread": (
        lambda n: (
            "".join(
                "<div>" + "<div>Reply text.</div>" * (n // 10) + "</div><div class='gmail_quote'>"
                "<div class='gmail_attr'>On Mon, Jan 1, 2025 Anna &lt;a@e.org&gt; wrote:<br></div>"
                "<blockquote class='gmail_quote'>"
                for _ in range(10)
            )
            + "</blockquote></div>" * 10
        ),
        400,
    ),
    "deep-quotes": (
        lambda n: '<blockquote type="cite">' * 100 + "<div>line</div>" * n + "</blockquote>" * 100,
        400,
    ),
}


@pytest.mark.parametrize(("mail", "size"), MAIL_SHAPES.values(), ids=MAIL_SHAPES.keys())
def test_every_mail_shape_costs_time_linear_in_its_size(mail, size):
    """Eight times the mail costs well under 64 times the time, whatever its shape."""
    assert growth(lambda n: html_to_markdown(mail(n)), size) < MAX_GROWTH
