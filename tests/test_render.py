"""Message -> Markdown comment: attribution, trimming, attachments, neutralising, size limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from handler.inbound import render
from handler.inbound.attachments import Attachment
from handler.inbound.headers import Address
from handler.inbound.mail import Message, parse_mail
from handler.inbound.protocol import CalendarEvent, Forwarded
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
    **protocol: object,
) -> Message:
    return Message(  # type: ignore[arg-type]
        headers=(),
        message_id="<m1@example.com>",
        subject=subject,
        from_=(Address(name, "alice", "example.com"),),
        sender=None,
        content_type="text/plain",
        text=text,
        html=html,
        attachments=attachments,
        **protocol,
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


def test_mail_of_only_a_quote_is_posted_whole():
    """A mail that is nothing but a quote had something to say: it is posted as it is."""
    comment = render_comment(message("> just a quote\n"), "7@issues.example.com")
    assert not comment.empty
    assert comment.markdown == (
        "**Alice Moreau** wrote by email: **Report**\n\n> just a quote\n\n" + FOOTER
    )
    assert comment.text == "> just a quote"


@pytest.mark.parametrize("text", ["", " \n\t\n", None])
def test_mail_without_text_is_empty(text):
    """A mail without any text or file is empty, so the pipeline can reject it."""
    assert render_comment(message(text), "7@issues.example.com").empty


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


# --- blocks: quotes in place, forwards, protocol parts ------------------------------------------


def fold(label: str, text: str) -> str:
    lines = text.count("\n") + 1
    return (
        f"<details>\n<summary>{label} ({lines} line{'s' if lines != 1 else ''})</summary>\n\n"
        f"```text\n{text}\n```\n\n</details>"
    )


HEAD = "**Alice Moreau** wrote by email: **Report**\n\n"


def test_leading_quote_is_folded_in_place_and_kept_apart_from_the_answer():
    """A bottom-posted reply: attribution and quote folded above the answer, a blank line
    between, so "Hello" is never a lazy continuation of the quote."""
    quote = "Bob <bob@example.com> wrote:\n> Does it work?"
    comment = render_comment(message(f"{quote}\nHello,\nyes it does."), "7@issues.example.com")
    assert comment.markdown == (
        HEAD + fold("Quoted text", quote) + "\n\nHello,\nyes it does.\n\n" + FOOTER
    )
    assert comment.text == "Hello,\nyes it does."


def test_interleaved_quotes_fold_in_place_and_the_route_can_drop_them():
    """Each answered quote is folded where it stands; keep_quoted=False leaves the answers only."""
    text = "> Which version?\n\n2.4.1.\n\n> Small files too?\n\nNo.\n\n> Thanks\n"
    comment = render_comment(message(text), "7@issues.example.com")
    assert comment.markdown == HEAD + "\n\n".join(
        [
            fold("Quoted text", "> Which version?"),
            "2.4.1.",
            fold("Quoted text", "> Small files too?"),
            "No.",
            fold("Quoted text and signature", "> Thanks"),
            FOOTER,
        ]
    )
    dropped = render_comment(message(text), "7@issues.example.com", keep_quoted=False)
    assert dropped.markdown == HEAD + "2.4.1.\n\nNo.\n\n" + FOOTER


def test_text_that_follows_a_quote_directly_gets_a_blank_line():
    """In a mail kept whole and in a forward, a line right after a quote is set apart from it
    (no lazy continuation); lines in a code fence are left alone."""
    whole = render_comment(message("> q\n-- \nAnna"), "7@issues.example.com")
    assert whole.markdown == HEAD + "> q\n\n-- \nAnna\n\n" + FOOTER
    text = "Begin forwarded message:\n\n> q\nHello\n\n```\n> x\ny\n```"
    forward = render_comment(message(text), "7@issues.example.com")
    assert forward.markdown == HEAD + (
        "**Forwarded message**\n\n> > q\n>\n> Hello\n>\n> ```\n> > x\n> y\n> ```\n\n" + FOOTER
    )


FORWARD = (
    "FYI, the lab's report.\n\n"
    "---------- Forwarded message ---------\n"
    "From: Lab Reception <reception@example.org>\n"
    "Date: Mon, 23 Nov 2026 at 17:03\n"
    "Subject: Sample 42 damaged\n"
    "To: Ben Ng <ben@example.com>\n\n"
    "Sample 42 arrived with a cracked lid.\n\n> Please confirm receipt.\n"
)


@pytest.mark.parametrize(
    ("show_address", "who"),
    [(False, "Lab Reception"), (True, "Lab Reception \\<reception@example.org\\>")],
)
def test_forward_is_a_quoted_block_under_one_line(show_address, who):
    """A forward: "Forwarded message from ... · date · subject", then its text as a quote (its
    own quotes one level deeper); the sender's address only where the route shows addresses."""
    comment = render_comment(
        message(FORWARD, subject="Fwd: Sample 42 damaged"),
        "7@issues.example.com",
        show_sender_address=show_address,
    )
    sender = "Alice Moreau \\<alice@example.com\\>" if show_address else "Alice Moreau"
    assert comment.markdown == (
        f"**{sender}** wrote by email: **Fwd: Sample 42 damaged**\n\n"
        "FYI, the lab's report.\n\n"
        f"**Forwarded message** from {who} · Mon, 23 Nov 2026 at 17:03 · Sample 42 damaged\n\n"
        "> Sample 42 arrived with a cracked lid.\n>\n> > Please confirm receipt.\n\n" + FOOTER
    )


@pytest.mark.parametrize(
    ("from_line", "heading"),
    [
        ("From: Lab Reception [mailto:reception@example.org]", "from Lab Reception · "),
        ("From: Lab Reception", "from Lab Reception · "),
        ("From: reception@example.org", "from Someone at example.org · "),
    ],
)
def test_forward_sender_as_outlook_writes_it(from_line, heading):
    """Outlook's "[mailto:...]" and a bare name both name the forward's sender."""
    text = f"FYI\n\n-----Original Message-----\n{from_line}\nSent: Monday\nSubject: S42\n\nBody"
    markdown = render_comment(message(text, subject="FW: S42"), "7@issues.example.com").markdown
    assert f"**Forwarded message** {heading}Monday · S42\n\n> Body\n\n" in markdown


def test_forward_content_and_fields_are_sanitised():
    """HTML, mentions, images and a closing </details> in a forward stay inert, quote or not."""
    text = (
        "Begin forwarded message:\n\nFrom: <b>Eve</b> <eve@example.org>\n"
        "Subject: @octocat </details>\n\n<script>x</script>\n![p](https://t.example/p.gif)\n"
        "</details>\n@octo-org/core"
    )
    markdown = render_comment(message(text), "7@issues.example.com").markdown
    assert markdown == HEAD + (
        f"**Forwarded message** from Eve · @{ZWSP}octocat \\</details\\>\n\n"
        "> &lt;script>x&lt;/script>\n> !\\[p](https://t.example/p.gif)\n> &lt;/details>\n"
        f"> @{ZWSP}octo-org/core\n\n" + FOOTER
    )


def test_attached_forward_renders_like_an_inline_one():
    """A message/rfc822 part (Message.forwarded) is shown as a forward block after the text."""
    forwarded = Forwarded(
        sender=Address("Lab Reception", "reception", "example.org"),
        date="Mon, 23 Nov 2026 17:03:00 +0100",
        subject="Sample 42 damaged",
        text="Sample 42 arrived with a cracked lid.\n\n<b>Lab</b>",
    )
    comment = render_comment(message("See attached.", forwarded=(forwarded,)), "7@x.example")
    assert comment.markdown == HEAD + (
        "See attached.\n\n"
        "**Forwarded message** from Lab Reception · Mon, 23 Nov 2026 17:03:00 +0100 · "
        "Sample 42 damaged\n\n> Sample 42 arrived with a cracked lid.\n>\n> &lt;b>Lab&lt;/b>\n\n"
        "<sub>Sent by email to 7@x.example · posted by ticket-router</sub>"
    )
    unknown = Forwarded(sender=None, date="", subject="", text="")
    alone = render_comment(message("", forwarded=(unknown,)), "7@x.example")
    assert not alone.empty
    assert alone.markdown == HEAD + "**Forwarded message**\n\n" + (
        "<sub>Sent by email to 7@x.example · posted by ticket-router</sub>"
    )


def test_a_forwards_indented_code_stays_code_inside_its_quote():
    """Indented code is left raw as code; quoted, a tab after "> " reaches only column 4, which
    would make it text and its HTML live. Leading tabs become spaces to the same column."""
    forwarded = Forwarded(sender=None, date="", subject="", text="Log:\n\n\t<b>x</b>\n \t<i>")
    comment = render_comment(message("", forwarded=(forwarded,)), "7@x.example")
    assert comment.markdown == HEAD + (
        "**Forwarded message**\n\n> Log:\n>\n>     <b>x</b>\n>     &lt;i>\n\n"
        "<sub>Sent by email to 7@x.example · posted by ticket-router</sub>"
    )


INVITE = CalendarEvent(
    method="REQUEST",
    summary="Sample review *weekly*",
    start="2026-11-30 14:00 (Europe/Berlin)",
    end="2026-11-30 15:00 (Europe/Berlin)",
    location="Lab 3 <building B>",
    organizer=Address("Anna Andersson", "anna", "example.com"),
)


@pytest.mark.parametrize(
    ("event", "lines"),
    [
        (
            INVITE,
            "**Calendar invitation:** Sample review \\*weekly\\*\n"
            "- When: 2026-11-30 14:00 (Europe/Berlin) \u2013 2026-11-30 15:00 (Europe/Berlin)\n"
            "- Where: Lab 3 \\<building B\\>\n"
            "- Organiser: Anna Andersson",
        ),
        (
            CalendarEvent("CANCEL", "Review", "2026-11-30", "", "", None),
            "**Calendar cancellation:** Review\n- When: 2026-11-30",
        ),
        (CalendarEvent("REPLY", "Review", "", "", "", None), "**Calendar reply:** Review"),
        (CalendarEvent("PUBLISH", "Review", "", "", "", None), "**Calendar event:** Review"),
    ],
    ids=["request", "cancel", "reply", "publish"],
)
def test_calendar_event_is_summarised(event, lines):
    """An invitation: what, when, where, who organises; lines without a value are left out."""
    comment = render_comment(message("Agenda attached.", events=(event,)), "7@issues.example.com")
    assert comment.markdown == HEAD + "Agenda attached.\n\n" + lines + "\n\n" + FOOTER


@pytest.mark.parametrize(
    ("signatures", "note"),
    [
        (("S/MIME",), "signed: S/MIME (not verified)"),
        (("S/MIME", "PGP"), "signed: S/MIME, PGP (not verified)"),
    ],
)
def test_signed_mail_says_so_in_the_footer(signatures, note):
    """Signatures are noted in the footer, never verified, never listed as files."""
    comment = render_comment(message("Hi", signatures=signatures), "7@issues.example.com")
    assert comment.markdown.endswith(
        f"<sub>Sent by email to 7@issues.example.com · {note} · posted by ticket-router</sub>"
    )


def test_outlook_cid_placeholders_name_the_image():
    """A text body's "[cid:...]" becomes "[image: NAME]" for the attachment with that
    Content-ID (case aside, or by its part before "@"), else "[image]"."""
    files = (
        Attachment("screenshot.png", "image/png", 2048, "image001.png@01DB4E5F.2A3B4C50"),
        Attachment("logo.jpg", "image/jpeg", 1024, "logo@example.com"),
    )
    text = (
        "See [cid:IMAGE001.png@01DB4E5F.2A3B4C50] and [cid:logo@other.example] and [cid:missing@x]."
    )
    markdown = render_comment(message(text, attachments=files), "7@issues.example.com").markdown
    assert markdown.startswith(
        HEAD + "See [image: screenshot.png] and [image: logo.jpg] and [image].\n\n"
    )


def test_html_body_gets_the_images_by_content_id(monkeypatch):
    """html_to_markdown is told each inline image's file name by Content-ID."""
    seen = {}

    def convert(html, images=None):
        seen.update(images or {})
        return "converted"

    monkeypatch.setattr(render, "html_to_markdown", convert)
    files = (
        Attachment("screenshot.png", "image/png", 2048, "ii_abc"),
        Attachment("notes.txt", "text/plain", 10),
    )
    comment = render_comment(message(None, html="<p>x</p>", attachments=files), "7@x.example")
    assert seen == {"ii_abc": "screenshot.png"}
    assert comment.markdown.startswith(HEAD + "converted\n\n")


def test_oversized_forward_is_cut_and_folded_quotes_go_first():
    """Too long: folded quotes are left out, and what shows is cut within the limit."""
    content = "\n".join(f"line {n} <b>" for n in range(8000))
    text = (
        "> old question\n\nNote.\n\n---------- Forwarded message ---------\n"
        f"From: a@b.example\n\n{content}"
    )
    comment = render_comment(message(text), "7@issues.example.com")
    assert comment.truncated
    assert len(comment.markdown.encode("utf-16-le")) // 2 <= GITHUB_COMMENT_LIMIT
    assert "<details>" not in comment.markdown
    assert comment.markdown.startswith(
        HEAD + "Note.\n\n**Forwarded message** from Someone at b.example\n\n> line 0 &lt;b>\n"
    )
    assert comment.markdown.endswith(FOOTER)


def calendar_and_signed() -> dict[str, Message]:
    base = parse_mail((TESTS / "render" / "thunderbird-bottom-posted.eml").read_bytes())
    return {
        # The protocol parts are read by mail.parse_mail's own rules; here they are given.
        "calendar-invite": Message(
            headers=(),
            message_id="<invite@example.com>",
            subject="Invitation: Sample review @ Mon 30 Nov 2026 14:00 - 15:00 (CET)",
            from_=(Address("Anna Andersson", "anna", "example.com"),),
            sender=None,
            content_type="multipart/mixed",
            text="You have been invited to the following event.\n\nSample review\n",
            html=None,
            attachments=(Attachment("invite.ics", "application/ics", 1204),),
            events=(INVITE,),
        ),
        "smime-signed": Message(
            headers=base.headers,
            message_id=base.message_id,
            subject=base.subject,
            from_=base.from_,
            sender=base.sender,
            content_type="multipart/signed",
            text=base.text,
            html=None,
            signatures=("S/MIME",),
        ),
    }


@pytest.mark.parametrize("name", ["calendar-invite", "smime-signed"])
def test_golden_protocol_comments(name):
    """A calendar invitation and a signed mail render to exactly the reviewed comment."""
    comment = render_comment(calendar_and_signed()[name], "7@issues.example.com")
    assert comment.markdown == (TESTS / "render" / f"{name}.md").read_text(encoding="utf-8")


PATCH = (
    "diff --git a/export.py b/export.py\n"
    "index 246a167..9e77145 100644\n"
    "--- a/export.py\n"
    "+++ b/export.py\n"
    "@@ -10,4 +10,5 @@ def export(sample):\n"
    "     size = 0\n"
    "\n"
    "-    write(sample)\n"
    "+    # `write` stops at 4 GB\n"
    "+    write_chunked(sample)\n"
    "     return size"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A dash row under text is shown as a row, not as a heading of that text.
        (
            "Signed-off-by: Ben Ng\n---\n src/a.c | 1 +",
            "Signed-off-by: Ben Ng\n\\---\n src/a.c | 1 +",
        ),
        ("Sent via Example Mobile.\n-", "Sent via Example Mobile.\n\\-"),
        # After a blank line it is a rule already; an "=" row may stay a title's.
        ("Text\n\n----------", "Text\n\n----------"),
        ("Results\n=======", "Results\n======="),
        # The author's own code fence is theirs.
        ("```\nx\n---\n```", "```\nx\n---\n```"),
        # A patch, its blank context line included, in a fence longer than its backticks.
        (f"Fix below.\n\n{PATCH}\n\nThanks", f"Fix below.\n\n```diff\n{PATCH}\n```\n\nThanks"),
        # "diff -u" output without git's header line.
        (
            "--- old.txt\n+++ new.txt\n@@ -1 +1 @@\n-a\n+b\nDone.",
            "```diff\n--- old.txt\n+++ new.txt\n@@ -1 +1 @@\n-a\n+b\n```\nDone.",
        ),
        # Prose that opens like a patch but has no hunk is prose.
        ("diff between the runs:\n- one\n- two", "diff between the runs:\n- one\n- two"),
    ],
    ids=["signed-off", "one-dash", "after-blank", "equals", "own-fence", "git", "diff-u", "prose"],
)
def test_plain_text_shows_as_sent(text: str, expected: str):
    """Plain text's dash rows and patches keep the shape they were sent in."""
    assert render._as_sent(text) == expected


def test_a_patch_with_a_fence_inside_gets_a_longer_fence():
    """A patch holding a run of backticks is fenced by a longer run, so it cannot close early."""
    patch = "--- a.md\n+++ b.md\n@@ -1 +1 @@\n-````\n+```"
    assert render._as_sent(patch) == f"`````diff\n{patch}\n`````"


def test_dash_rows_and_patches_in_plain_mail_but_not_html():
    """Only a text/plain body is plain text; Markdown made from HTML is left as converted, and
    a forward's text is treated like the author's."""
    text = (
        "Note\n---\n\n---------- Forwarded message ---------\nFrom: Ann <ann@example.org>\n\nA\n-"
    )
    plain = render_comment(message(text, subject="Fwd: x"), "7@issues.example.com").markdown
    assert "Note\n\\---\n\n**Forwarded message** from Ann\n\n> A\n> \\-\n\n" in plain
    html = render_comment(message(None, html="<p>Note<br>---</p>"), "7@issues.example.com")
    assert "Note\n---" in html.markdown
