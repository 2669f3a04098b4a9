"""The comment of a linking route: stored images shown at their cid: place (or after the text),
every file listed linked or with why not, nothing a sender writes turned into an image, within
GitHub's limit; without a plan, the comment of old."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handler.attachments.model import (
    FilePlan,
    FileReason,
    GitHubPlace,
    ListedFile,
    S3Place,
    StoredFile,
)
from handler.inbound.attachments import Attachment
from handler.inbound.mail import Message, parse_mail
from handler.inbound.render import GITHUB_COMMENT_LIMIT, render_comment
from handler.inbound.render import _utf16_len as utf16_len
from tests.complexity import MAX_GROWTH, growth
from tests.conftest import TESTS
from tests.test_render import FOOTER, message

MAIL = "5f2b7c0e9a8d4b61a3c2e1f0d9b8a7c6"
RECIPIENT = "7@issues.example.com"
RAW = "https://github.com/example-org/app/raw/ticket-router-attachments/2026/11/23"
BLOB = "https://github.com/example-org/app/blob/ticket-router-attachments/2026/11/23"
SCREENSHOT = Attachment("Screenshot.png", "image/png", 2048, "shot@example.com")


def stored(
    index: int, name: str, content_type: str = "image/png", *, inline: bool = True
) -> StoredFile:
    """The ``index``-th file stored under ``name`` in the route's repository."""
    place = GitHubPlace(
        "https://github.com",
        "example-org/app",
        "ticket-router-attachments",
        f"2026/11/23/{MAIL}/{name}",
    )
    return StoredFile(index, name, content_type, inline, place, b"")


def listed(index: int, reason: FileReason, detail: str = "") -> ListedFile:
    return ListedFile(index, reason, detail)


def render(mail: Message, files: tuple[FilePlan, ...] = (), **options: bool) -> str:
    return render_comment(mail, RECIPIENT, files=files, **options).markdown  # type: ignore[arg-type]


# --- goldens: the fixtures' comments with a plan each --------------------------------------------

PLANS: dict[str, tuple[FilePlan, ...]] = {
    "outlook-inline-screenshot": (stored(0, "image001.png"),),
    "apple-inline-screenshot": (stored(0, "Screenshot.png"),),
    "gmail-inline-screenshot": (
        stored(0, "error.png"),
        stored(1, "photo.jpg", "image/jpeg"),
    ),
    "log-octet-stream": (stored(0, "build.log", "text/plain", inline=False),),
    "executable": (
        listed(0, FileReason.EXECUTABLE, "a program (its content is a Windows executable)"),
        listed(1, FileReason.EXECUTABLE, "a program (its content is a Windows executable)"),
    ),
    "oversize": (
        listed(0, FileReason.FILE_TOO_LARGE, "150.0 KB; the route stores files up to 100.0 KB"),
        stored(1, "chart.png"),
    ),
    "outlook-winmail": (
        listed(0, FileReason.UNREADABLE),
        listed(1, FileReason.UNREADABLE),
    ),
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_golden_comments_with_files(name: str):
    """Each fixture with its plan renders to exactly the reviewed comment beside it (.md)."""
    path = TESTS / "attachments" / f"{name}.eml"
    comment = render_comment(parse_mail(path.read_bytes()), RECIPIENT, files=PLANS[name])
    assert comment.markdown == path.with_suffix(".md").read_text(encoding="utf-8")
    assert not comment.empty


@pytest.mark.parametrize(
    "path", sorted((TESTS / "attachments").glob("*.eml")), ids=lambda p: p.stem
)
def test_without_a_plan_files_are_listed_as_ever(path: Path):
    """No plan (a listing route): the files are listed as not posted, their images named."""
    markdown = render(parse_mail(path.read_bytes()))
    assert "**Attachments** (not posted, " in markdown
    assert "](" not in markdown.split("**Attachments**")[1]
    assert "![" not in markdown


# --- images at their place ------------------------------------------------------------------------


def test_an_outlook_cid_marker_becomes_the_image_in_place():
    """Plain text's "[cid:...]" is the stored image, between the lines around it."""
    mail = message("Before\n\n[cid:shot@example.com]\n\nAfter", attachments=(SCREENSHOT,))
    markdown = render(mail, (stored(0, "Screenshot.png"),))
    assert f"Before\n\n![Screenshot.png]({RAW}/{MAIL}/Screenshot.png)\n\nAfter\n\n" in markdown


def test_an_html_cid_image_becomes_the_image_in_place():
    """HTML's <img src="cid:..."> is the stored image at its place, inside a link too."""
    html = (
        '<p>Before</p><p><img src="cid:shot@example.com"></p>'
        '<p><a href="https://example.com/x"><img src="cid:shot@example.com"></a></p><p>After</p>'
    )
    markdown = render(
        message(None, html=html, attachments=(SCREENSHOT,)), (stored(0, "Screenshot.png"),)
    )
    image = f"![Screenshot.png]({RAW}/{MAIL}/Screenshot.png)"
    assert f"Before\n\n{image}\n\n[{image}](https://example.com/x)\n\nAfter" in markdown


def test_an_image_without_a_reference_follows_the_text():
    """A stored image the text does not place is shown after the text, before a forward."""
    forward = parse_mail((TESTS / "attachments" / "forwarded-eml.eml").read_bytes())
    plans = (stored(0, "crash.png"),)
    markdown = render(forward, plans)
    text = markdown.index("Forwarding Sam's report.")
    image = markdown.index(f"![crash.png]({RAW}/{MAIL}/crash.png)")
    assert text < image < markdown.index("**Forwarded message**")


def test_an_image_in_a_forward_shows_in_its_quote_and_is_named_in_its_head():
    """A forward in the text shows its image inside the quote; its head, plain text, names it
    as the comment of old does."""
    text = (
        "FYI\n\n---------- Forwarded message ---------\n"
        "From: Bob [cid:shot@example.com] <bob@example.com>\nDate: Mon\nSubject: s\n"
        "To: x@example.org\n\nbody [cid:shot@example.com] end"
    )
    mail = message(text, attachments=(SCREENSHOT,))
    markdown = render(mail, (stored(0, "Screenshot.png"),))
    head = "**Forwarded message** from Bob \\[image: Screenshot.png · Mon · s"
    assert head in render(mail)
    assert head in markdown
    assert f"> body ![Screenshot.png]({RAW}/{MAIL}/Screenshot.png) end" in markdown


def test_an_image_referenced_in_a_quote_is_named_there_and_not_shown():
    """The quoted history is literal text: its image is named there, and only linked below."""
    text = "Thanks, fixed.\n\nOn Mon, Bob wrote:\n> See [cid:shot@example.com]\n> here"
    markdown = render(message(text, attachments=(SCREENSHOT,)), (stored(0, "Screenshot.png"),))
    assert "![" not in markdown
    assert "> See [image: Screenshot.png]" in markdown
    assert f"- [Screenshot.png]({BLOB}/{MAIL}/Screenshot.png) (image/png, 2.0 KB)" in markdown


def test_an_image_that_is_not_stored_stays_named():
    """An inline image the plan lists is named in the text as today, and listed with why."""
    mail = message("See [cid:shot@example.com] here", attachments=(SCREENSHOT,))
    markdown = render(mail, (listed(0, FileReason.NOT_SCANNED, "SES did not scan the mail"),))
    assert "See [image: Screenshot.png] here" in markdown
    assert "- Screenshot.png (image/png, 2.0 KB): not linked, SES did not scan the mail" in markdown


def test_a_stored_file_that_is_not_an_image_is_only_linked():
    """A stored PDF with a Content-ID is named in the text and linked in the list, not shown."""
    pdf = Attachment("report.pdf", "application/pdf", 10, "r@x")
    plans = (stored(0, "report.pdf", "application/pdf", inline=False),)
    markdown = render(message("See [cid:r@x]", attachments=(pdf,)), plans)
    assert "See [image: report.pdf]" in markdown
    assert "![" not in markdown


def test_the_issue_text_names_images_rather_than_standing_in_for_them():
    """Comment.text (a new issue's title falls back on it) says "[image: name]", as before."""
    mail = message("[cid:shot@example.com] broken", attachments=(SCREENSHOT,))
    comment = render_comment(mail, RECIPIENT, files=(stored(0, "Screenshot.png"),))
    assert comment.text == "[image: Screenshot.png] broken"


def test_an_s3_image_shows_from_the_bucket():
    """An image stored in S3 is shown and linked at its CloudFront URL."""
    place = S3Place("https://d1.cloudfront.net", f"{MAIL}/0123abcd/Screenshot.png")
    plans = (StoredFile(0, "Screenshot.png", "image/png", True, place, b""),)
    markdown = render(message("Hi", attachments=(SCREENSHOT,)), plans)
    url = f"https://d1.cloudfront.net/{MAIL}/0123abcd/Screenshot.png"
    assert f"![Screenshot.png]({url})" in markdown
    assert f"- [Screenshot.png]({url}) (image/png, 2.0 KB)" in markdown


# --- nothing the sender writes becomes an image or a mention --------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[image: \ufffc0\ufffc]",
        "\ufffc0\ufffc",
        "[image: \ufffc1\ufffc]",
        "![x](https://evil.example/track.png)",
    ],
)
def test_the_senders_own_tokens_and_images_stay_text(text: str):
    """A sender's U+FFFC tokens are dropped and their image syntax defused: one image only."""
    mail = message(f"{text}\n\n[cid:shot@example.com]", attachments=(SCREENSHOT,))
    markdown = render(mail, (stored(0, "Screenshot.png"),))
    assert "\ufffc" not in markdown
    assert markdown.count("![") == 1


def test_without_a_plan_the_senders_tokens_are_left_as_ever():
    """No plan: the text is not touched for tokens (the comment of old, byte for byte)."""
    mail = message("[image: \ufffc0\ufffc] and \ufffc", attachments=(SCREENSHOT,))
    assert "[image: \ufffc0\ufffc] and \ufffc" in render(mail)


def test_names_are_escaped_in_images_and_links():
    """A file name cannot end the link, inject HTML or mention anyone; the URL is the place's."""
    hostile = Attachment("a](javascript:x) <b>@octocat.png", "image/png", 5, "h@x")
    plans = (stored(0, "a-javascript-x-b-octocat.png"),)
    markdown = render(message("[cid:h@x]", attachments=(hostile,)), plans)
    name = "a\\](javascript:x) \\<b\\>@\u200boctocat.png"
    assert f"![{name}]({RAW}/{MAIL}/a-javascript-x-b-octocat.png)" in markdown
    assert (
        f"- [{name}]({BLOB}/{MAIL}/a-javascript-x-b-octocat.png) (image/png, 5 bytes)" in markdown
    )
    assert "<b>" not in markdown


# --- the list ---------------------------------------------------------------------------------


def test_the_list_links_stored_files_and_says_why_others_are_not():
    """Each file in the mail's order: linked with its stored type, or its declared type and why."""
    files = (
        Attachment("build.log", "application/octet-stream", 2048),
        Attachment("setup.exe", "application/octet-stream", 10),
        Attachment("icon.svg", "image/svg+xml", 300),
    )
    plans = (
        stored(0, "build.log", "text/plain", inline=False),
        listed(1, FileReason.EXECUTABLE, "a program"),
        listed(2, FileReason.TYPE_NOT_ALLOWED),
    )
    markdown = render(message("Logs", attachments=files), plans)
    assert markdown == (
        "**Alice Moreau** wrote by email: **Report**\n\nLogs\n\n**Attachments** (3):\n"
        f"- [build.log]({BLOB}/{MAIL}/build.log) (text/plain, 2.0 KB)\n"
        "- setup.exe (application/octet-stream, 10 bytes): not linked, a program\n"
        "- icon.svg (image/svg+xml, 300 bytes): not linked, its type is not among the route's "
        "types\n\n" + FOOTER
    )


def test_every_file_listed_still_says_how_many():
    """A plan that stores nothing lists every file under the same head, with its reason."""
    files = (Attachment("a.txt", "text/plain", 1),)
    markdown = render(message("Hi", attachments=files), (listed(0, FileReason.NOT_SCANNED, "x"),))
    assert "**Attachments** (1):\n- a.txt (text/plain, 1 byte): not linked, x\n\n" in markdown


# --- GitHub's limit ------------------------------------------------------------------------


def long_named(count: int) -> tuple[tuple[Attachment, ...], tuple[FilePlan, ...]]:
    """``count`` stored images with the longest names and URLs a plan can make."""
    name = "\U0001f600" * 300 + ".png"
    safe = "\U0001f600" * 80 + ".png"
    files = tuple(Attachment(name, "image/png", 10**6, f"c{i}@x") for i in range(count))
    plans = tuple(stored(i, f"{i}-{safe}") for i in range(count))
    return files, plans


@pytest.mark.parametrize("count", [1, 20, 60, 500])
def test_many_long_named_files_stay_within_the_limit(count: int):
    """Images after the text and the list: whatever their number and names, within 65,536."""
    files, plans = long_named(count)
    comment = render_comment(message("Hi", attachments=files), RECIPIENT, files=plans)
    assert utf16_len(comment.markdown) <= GITHUB_COMMENT_LIMIT
    assert comment.markdown.endswith(FOOTER)
    if count > 50:
        assert "\n- and " in comment.markdown


def test_a_long_text_with_images_in_place_is_cut_within_the_limit():
    """Text with images placed through it is cut with the note, the list and footer kept."""
    files, plans = long_named(20)
    text = "\n\n".join(f"line {n} " + "x" * 2000 + f" [cid:c{n % 20}@x]" for n in range(40))
    comment = render_comment(message(text, attachments=files), RECIPIENT, files=plans)
    assert comment.truncated
    assert utf16_len(comment.markdown) <= GITHUB_COMMENT_LIMIT
    assert "**Attachments** (20):" in comment.markdown
    assert comment.markdown.endswith(FOOTER)


# Pieces of text that come near a stand-in: the token character, our marker's words, cid
# references that name the stored image and ones that name nothing, image and link syntax, code.
_PIECES = st.sampled_from(
    [
        "\ufffc",
        "0",
        "1",
        "[image: ",
        "]",
        "[cid:shot@example.com]",
        "[cid:other@x]",
        "![a](https://evil.example/a.png)",
        "`",
        "\n",
        "\n\n",
        "> ",
        "    ",
        "On Mon, Bob wrote:\n",
        "text ",
    ]
)


@given(st.lists(_PIECES, max_size=30).map("".join))
def test_only_the_plans_images_are_shown_whatever_the_text(text: str):
    """No text leaves a stand-in behind or shows the stored image more often than it refers to
    it; an image the text does not refer to is shown once, after it."""
    mail = message(text, attachments=(SCREENSHOT,))
    markdown = render(mail, (stored(0, "Screenshot.png"),))
    image = f"![Screenshot.png]({RAW}/{MAIL}/Screenshot.png)"
    assert "\ufffc" not in markdown
    references = text.count("[cid:shot@example.com]")
    assert markdown.count(image) <= max(1, references)
    if not references:
        assert markdown.count(image) == 1


def test_rendering_grows_linearly_with_images_and_references():
    """n stored images each referred to in the text cost linear time (n against 8n)."""

    def work(n: int) -> object:
        files = tuple(Attachment(f"{i}.png", "image/png", 10, f"c{i}@x") for i in range(n))
        plans = tuple(stored(i, f"{i}.png") for i in range(n))
        text = "".join(f"see [cid:c{i}@x] and \ufffc{i}\ufffc\n" for i in range(n))
        return render_comment(message(text, attachments=files), RECIPIENT, files=plans)

    assert growth(work, 150) < MAX_GROWTH
