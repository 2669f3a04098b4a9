"""Message -> Markdown comment: attribution, trimming, attachments, neutralising, size limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from handler.inbound.attachments import Attachment
from handler.inbound.headers import Address
from handler.inbound.mail import Message, parse_mail
from handler.inbound.render import GITHUB_COMMENT_LIMIT, render_comment, sanitize_markdown
from tests.conftest import TESTS

ZWSP = "\u200b"
FOOTER = "<sub>Sent by email to 7@issues.example.com · posted by ticket-router</sub>"


def message(
    text: str | None = "Hello",
    *,
    html: str | None = None,
    subject: str = "Report",
    name: str = "Alice Moreau",
    attachments: tuple[Attachment, ...] = (),
) -> Message:
    return Message(
        headers=(),
        message_id="<m1@example.com>",
        subject=subject,
        from_=(Address(name, "alice", "example.com"),),
        sender=None,
        content_type="text/plain",
        text=text,
        html=html,
        attachments=attachments,
    )


def test_plain_mail_renders_attribution_body_and_footer():
    """The whole comment for a simple mail, exactly."""
    comment = render_comment(message("The build fails on ARM.\n"), "7@issues.example.com")
    assert comment.markdown == (
        "**Alice Moreau** wrote by email: **Report**\n\nThe build fails on ARM.\n\n" + FOOTER
    )
    assert not comment.empty
    assert not comment.truncated


@pytest.mark.parametrize(
    ("name", "show_address", "expected"),
    [
        ("Alice Moreau", False, "Alice Moreau"),
        ("", False, "Someone at example.com"),
        ("   ", False, "Someone at example.com"),
        ("alice@example.com", False, "Someone at example.com"),
        ("'alice@example.com'", False, "Someone at example.com"),
        ("Alice Moreau (alice@example.com)", False, "Alice Moreau"),
        ("Alice Moreau <alice@example.com>", False, "Alice Moreau"),
        ("mailto:bob@example.com - Bob", False, "Bob"),
        ("bob@example.com", False, "Someone at example.com"),
        ("Alice Moreau", True, "Alice Moreau \\<alice@example.com\\>"),
        ("", True, "alice@example.com"),
        ("bob@example.com", True, "alice@example.com"),
    ],
)
def test_attribution_publishes_no_address_unless_the_route_opts_in(name, show_address, expected):
    """The display name, stripped of address-like text, else the domain; the address on opt-in."""
    comment = render_comment(
        message(name=name), "7@issues.example.com", show_sender_address=show_address
    )
    assert comment.markdown.split("\n")[0] == f"**{expected}** wrote by email: **Report**"
    if not show_address:
        assert "alice@" not in comment.markdown
        assert "bob@" not in comment.markdown


def test_name_and_subject_are_escaped_and_cannot_mention():
    """Markdown and @mentions in the name or subject show literally."""
    comment = render_comment(
        message(subject="*urgent* <b>ping</b> @octo-org/core", name="[Eve](http://x)"),
        "7@issues.example.com",
    )
    first = comment.markdown.split("\n")[0]
    assert first == (
        "**\\[Eve\\](http://x)** wrote by email: "
        f"**\\*urgent\\* \\<b\\>ping\\</b\\> @{ZWSP}octo-org/core**"
    )


@pytest.mark.parametrize(
    ("name", "subject", "first"),
    [
        (
            "Zoë (@octocat)",
            "é@octo-org/core and _x_@hubot",
            f"**Zoë (@{ZWSP}octocat)** wrote by email: "
            f"**é@{ZWSP}octo-org/core and \\_x\\_@{ZWSP}hubot**",
        ),
        (
            "&#64;octocat",
            "&#x40;octo-org/core &commat;hubot",
            "**\\&#64;octocat** wrote by email: **\\&#x40;octo-org/core \\&commat;hubot**",
        ),
    ],
    ids=["non-ascii", "entities"],
)
def test_attribution_cannot_mention_in_any_spelling(name, subject, first):
    """Mentions after non-ASCII characters or "_" are broken in the name and subject too; an
    entity shows as written (its "&" escaped), so GitHub never decodes it to "@"."""
    comment = render_comment(message(name=name, subject=subject), "7@issues.example.com")
    assert comment.markdown.split("\n")[0] == first


def test_quoted_history_is_folded_as_literal_code():
    """The trimmed part goes into <details> inside a fence longer than any backtick run in it."""
    text = (
        "Fixed for me.\n\nOn Mon, 2 Nov 2026 at 10:00, Bob <b@example.com> wrote:\n> see ```x```\n"
    )
    markdown = render_comment(message(text), "7@issues.example.com").markdown
    assert markdown == (
        "**Alice Moreau** wrote by email: **Report**\n\n"
        "Fixed for me.\n\n"
        "<details>\n<summary>Quoted text and signature (2 lines)</summary>\n\n"
        "````text\n"
        "On Mon, 2 Nov 2026 at 10:00, Bob <b@example.com> wrote:\n> see ```x```\n"
        "````\n\n</details>\n\n" + FOOTER
    )


def test_route_can_drop_the_quoted_history():
    """keep_quoted=False leaves no <details> block."""
    text = "Fixed.\n\nOn Mon, 2 Nov 2026 at 10:00, Bob <b@example.com> wrote:\n> old\n"
    markdown = render_comment(message(text), "7@issues.example.com", keep_quoted=False).markdown
    assert "<details>" not in markdown
    assert "old" not in markdown


def test_attachments_are_listed_not_inlined():
    """Each attachment: name, type and human size, escaped."""
    files = (
        Attachment("spectrum_v2.png", "image/png", 125_952),
        Attachment("log.txt", "text/plain", 1),
        Attachment("data.h5", "application/x-hdf5", 3 * 1024 * 1024),
    )
    markdown = render_comment(message("See files.", attachments=files), "7@issues.example.com")
    assert markdown.markdown.endswith(
        "**Attachments** (not posted, 3):\n"
        "- spectrum\\_v2.png (image/png, 123.0 KB)\n"
        "- log.txt (text/plain, 1 byte)\n"
        "- data.h5 (application/x-hdf5, 3.0 MB)\n\n" + FOOTER
    )


def test_only_quotes_is_empty():
    """A mail with nothing new is empty, so the pipeline can reject it."""
    assert render_comment(message("> just a quote\n"), "7@issues.example.com").empty


def test_attachment_only_mail_is_not_empty():
    """A mail that only carries an attachment still tells the maintainer something arrived."""
    files = (Attachment("photo.jpg", "image/jpeg", 2048),)
    assert not render_comment(message("", attachments=files), "7@issues.example.com").empty


def test_html_only_mail_is_converted():
    """With no text/plain part, the HTML part is converted to Markdown."""
    html = "<p>Steps:</p><ol><li>Open <a href='https://example.com/a'>page</a></li></ol>"
    markdown = render_comment(message(None, html=html), "7@issues.example.com").markdown
    assert "1. Open [page](https://example.com/a)" in markdown
    assert "<p>" not in markdown
    assert "<ol>" not in markdown


def test_oversized_mail_is_cut_with_a_note_under_the_limit():
    """A body over GitHub's limit is cut at a line, with a note, and the footer survives."""
    text = "\n".join(f"line {n} " + "é" * 60 for n in range(5000))
    comment = render_comment(message(text), "7@issues.example.com")
    assert comment.truncated
    assert len(comment.markdown.encode("utf-16-le")) // 2 <= GITHUB_COMMENT_LIMIT
    assert "too long for a GitHub comment" in comment.markdown
    assert comment.markdown.endswith(FOOTER)
    assert "line 0 " in comment.markdown


def test_astral_characters_count_double_against_the_limit():
    """Emoji are two UTF-16 units each, as GitHub counts them."""
    comment = render_comment(message("😀" * 40_000), "7@issues.example.com")
    assert comment.truncated
    assert len(comment.markdown.encode("utf-16-le")) // 2 <= GITHUB_COMMENT_LIMIT


def test_cut_inside_an_open_fence_closes_it():
    """A cut inside a code block closes the fence, so the note and footer render outside it."""
    text = "Log:\n\n```\n" + "\n".join(f"{n} <tag>" for n in range(20_000)) + "\n```\n"
    markdown = render_comment(message(text), "7@issues.example.com").markdown
    body = markdown.split("\n\n*[The mail was too long")[0]
    assert body.endswith("\n```")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thanks @octocat!", f"thanks @{ZWSP}octocat!"),
        ("cc @org/team", f"cc @{ZWSP}org/team"),
        ("mail alice@example.com", "mail alice@example.com"),
        (
            "@start, (@paren), x_@under, a@b, `@code`, 1@2, @@twice, .@dot",
            f"@{ZWSP}start, (@{ZWSP}paren), x_@{ZWSP}under, a@b, `@code`, 1@2, @@{ZWSP}twice, "
            f".@{ZWSP}dot",
        ),
        # GitHub's mention filter is ASCII: any other character before "@" leaves it live.
        ("é@octocat ü@org/team 日@x", f"é@{ZWSP}octocat ü@{ZWSP}org/team 日@{ZWSP}x"),
        ("\u00a0@octocat \u200d@x", f"\u00a0@{ZWSP}octocat \u200d@{ZWSP}x"),
        # An emphasis closed by "_" ends a text node: "@" starts the next one.
        ("_x_@octocat", f"_x_@{ZWSP}octocat"),
        # Outside a code span a backtick is a character like any other.
        ("unclosed `@octocat", f"unclosed `@{ZWSP}octocat"),
        ("`\n`@octocat`", f"`\n`@{ZWSP}octocat`"),
        # GitHub decodes entities first: each spelling of "@" is shown as written.
        ("&#64;octocat", "&amp;#64;octocat"),
        ("&#064;octocat &#0000064;octocat", "&amp;#064;octocat &amp;#0000064;octocat"),
        (
            "&#x40;octocat &#X40;o &#x0040;org/team",
            "&amp;#x40;octocat &amp;#X40;o &amp;#x0040;org/team",
        ),
        ("&commat;octocat", "&amp;commat;octocat"),
        ("&#64octocat &#x40octocat", "&amp;#64octocat &amp;#x40octocat"),
        ("a&#64;b.example", "a&amp;#64;b.example"),
        # ... and may spell the name: "@" before an entity is broken too.
        ("@&#111;ctocat", f"@{ZWSP}&#111;ctocat"),
        # Entities that are not "@" stay.
        ("&#640; &#x40a; &amp; &commat &#65;", "&#640; &#x40a; &amp; &commat &#65;"),
        ("`&#64;code`", "`&#64;code`"),
        ("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
        ("</details> escape", "&lt;/details> escape"),
        ("![pixel](https://t.example/p.gif)", "!\\[pixel](https://t.example/p.gif)"),
        ("use `<div>` and `@decorator`", "use `<div>` and `@decorator`"),
        ("unclosed `<b> tick", "unclosed `&lt;b> tick"),
        (
            "a\n\n    <indented code>\n    @x\nprose <b>",
            "a\n\n    <indented code>\n    @x\nprose &lt;b>",
        ),
        ("```html\n<b>@x</b>\n```\n<i>", "```html\n<b>@x</b>\n```\n&lt;i>"),
        ("```\nnever closed <b>", "```\nnever closed <b>\n```"),
        # CommonMark pairs backticks across a paragraph's lines: no span is trusted after an
        # unpaired run, and an escaped backtick opens none.
        ("`\n`code <b>`", "`\n`code &lt;b>`"),
        ("\\`<b>`", "\\`&lt;b>`"),
        # Indented text under a list item is the item's text, even after a lazy line.
        ("- item\n\n    <img src=x>", "- item\n\n    &lt;img src=x>"),
        ("- item\nlazy\n\n    <img src=x>", "- item\nlazy\n\n    &lt;img src=x>"),
        ("- item\n\nout\n\n    <code>", "- item\n\nout\n\n    <code>"),
        # Links that would run code or embed content keep their text only.
        ("[x](javascript:alert(1)) [ok](https://e.com)", "x [ok](https://e.com)"),
        ("[x](JaVa&#115;cript:alert(1))", "x"),
        ("[y](data:text/html;base64,PHNjcmlwdD4=)", "y"),
        ("[r]: javascript:alert(1)", "\\[r]: javascript:alert(1)"),
        ("`[x](javascript:alert(1))`", "`[x](javascript:alert(1))`"),
        ('```"><img src=x>\ncode\n```', "```img\ncode\n```"),
    ],
)
def test_sanitize_markdown(text, expected):
    """HTML escaped, mentions broken, images defused, code left as is, open fences closed."""
    assert sanitize_markdown(text) == expected


GOLDEN = sorted((TESTS / "render").glob("*.eml"))


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_comments(path: Path):
    """Real-looking mails render to exactly the reviewed comment beside them (.md)."""
    comment = render_comment(parse_mail(path.read_bytes()), "7@issues.example.com")
    assert comment.markdown == path.with_suffix(".md").read_text(encoding="utf-8")


@pytest.mark.parametrize("separator", ["\x1f", "\x0c", "\u00a0", "\u2003", "\x0b"])
def test_a_line_of_control_or_unicode_spaces_is_not_blank(separator):
    """CommonMark's blank line holds spaces and tabs only: after any other line, an indented
    line continues the paragraph and its HTML is live, so it must be escaped (found by
    hypothesis: a \\x1f line let <img onerror> through)."""
    text = f"Hi\n{separator}\n    <img src=x onerror=alert(1)>"
    assert sanitize_markdown(text) == f"Hi\n{separator}\n    &lt;img src=x onerror=alert(1)>"


def test_after_a_real_blank_line_an_indented_line_stays_code():
    assert sanitize_markdown("Hi\n \t\n    <img src=x>") == "Hi\n \t\n    <img src=x>"
