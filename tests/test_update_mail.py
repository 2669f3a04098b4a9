"""The update mailed to a participant: golden MIME, headers, both parts, and what never gets in."""

from __future__ import annotations

import email
import hashlib
import re
import subprocess
import sys
from dataclasses import replace
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

from handler.outbound.update_mail import Update, render_update, update_message_id
from tests.conftest import ROOT, TESTS

GOLDEN = TESTS / "update_mail"
NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z
ISSUE_URL = "https://github.com/example-org/site/issues/8"
COMMENT_URL = f"{ISSUE_URL}#issuecomment-2345678901"
UNSUBSCRIBE_URL = (
    "https://abcdefghij0123456789abcdefghij01.lambda-url.eu-west-1.on.aws/unsubscribe"
    "?r=example-org%2Fsite&i=8&p=5d41402abc4b2a76b9719d911017c592"
    "&s=Q2hhbmdlIHRoaXMgdG8gYSByZWFsIE1BQyBsYXRlci4uLi4"
)
MAILTO = "mailto:8+unsubscribe@issues.example.com?subject=unsubscribe"
# The issue's first mail, where every update's References start.
FIRST = "first.7f3a@mail.example.org"

MARKDOWN = (
    "Thanks for the report!\r\n"
    "The link is fixed in `main`:\r\n"
    "\r\n"
    "```python\r\n"
    'print("<b>fixed</b>")\r\n'
    "```\r\n"
    "\r\n"
    "- checked the [docs](https://example.org/docs)\r\n"
    "- ~~old page~~ gone\r\n"
    "\r\n"
    "![screenshot](https://github.com/user-attachments/assets/1f2e3d4c)\r\n"
    '<img src="https://tracker.example/pixel.gif"> <script>alert(1)</script>\r\n'
    "[click](javascript:alert(1))\r\n"
    "<!-- ticket-router: mail 0100019212aa2bc4 -->"
)
COMMENT = Update(
    kind="comment",
    repo="example-org/site",
    issue=8,
    title="Broken link on the site",
    issue_url=ISSUE_URL,
    author="octocat",
    text=MARKDOWN,
    url=COMMENT_URL,
)
NON_ASCII = replace(
    COMMENT,
    title="Fehler: Größe der Übersicht / 概览页面的大小不对",
    author="jürgen-m",
    text="Grüße! Die Übersicht ist jetzt **schmaler**.\n\n中文版概览页面已修复。",
)
CLOSED = Update(
    kind="closed",
    repo="example-org/site",
    issue=8,
    title="Broken link on the site",
    issue_url=ISSUE_URL,
    author="octocat",
    url=ISSUE_URL,
    state_reason="completed",
)
REOPENED = replace(CLOSED, kind="reopened", author="hubot", state_reason="reopened")
# A comment posted from Ann's mail, as the outbox hands it over (handler.outbound.mailed_comment).
BY_MAIL = replace(
    COMMENT,
    author="Ann Lee",
    text="Still broken on 2.4.1:\n\n> the link\n\nAnn",
    by_mail=True,
)


def render(update: Update, **overrides: Any) -> bytes:
    to = overrides.get("to", "alice@allowed.org")
    arguments: dict[str, Any] = {
        "to": to,
        "from_address": "8@issues.example.com",
        "project": "Example Site",
        "in_reply_to": "CAF3x=abc.123@mail.allowed.org",
        "subject": "Re: Broken link on the site",
        "message_id": update_message_id(f"{update.kind}#1", to, "issues.example.com"),
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "unsubscribe_mailto": MAILTO,
        "now": NOW,
        "references": (FIRST,),
    }
    return render_update(update, **(arguments | overrides))


CASES: dict[str, tuple[Update, dict[str, Any]]] = {
    "comment-markdown": (COMMENT, {}),
    "comment-non-ascii": (
        NON_ASCII,
        {"project": "Übersicht 概览", "subject": "Re: Größe der Übersicht"},
    ),
    "closed": (CLOSED, {}),
    "reopened": (REOPENED, {}),
    "mailto-only": (COMMENT, {"unsubscribe_url": None}),
    "no-in-reply-to": (
        CLOSED,
        {"in_reply_to": None, "subject": "Broken link on the site", "references": ()},
    ),
    # A colleague copied on Ann's mail: they never wrote, so their thread is the issue's.
    "copied-colleague": (
        BY_MAIL,
        {"to": "bob@allowed.org", "in_reply_to": None, "copied_by": "Ann Lee"},
    ),
}


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    """The decoded text/plain and text/html parts, in that order, and nothing else."""
    assert message.get_content_type() == "multipart/alternative"
    plain, page = message.iter_parts()
    assert isinstance(plain, EmailMessage)
    assert isinstance(page, EmailMessage)
    assert (plain.get_content_type(), page.get_content_type()) == ("text/plain", "text/html")
    # On the wire every line ends in CRLF; the text is compared as Python writes it.
    return plain.get_content().replace("\r\n", "\n"), page.get_content().replace("\r\n", "\n")


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_files_match_byte_for_byte(name: str):
    """Each case renders exactly its golden file (checked by eye once, regenerated never)."""
    update, overrides = CASES[name]
    assert render(update, **overrides) == (GOLDEN / f"{name}.eml").read_bytes()


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_files_are_plain_mime_with_crlf_and_no_base64(name: str):
    """Every line ends in CRLF within 998 octets, and no text is base64 (readable raw)."""
    raw = (GOLDEN / f"{name}.eml").read_bytes()
    lines = raw.split(b"\r\n")
    assert lines[-1] == b""
    assert not [line for line in lines if b"\n" in line or b"\r" in line or len(line) > 998]
    assert b"base64" not in raw.lower()
    assert raw.isascii()


def test_headers_of_a_comment():
    """From the issue address under the project's name, answering the participant's mail,
    marked automatic, a list per issue, one-click unsubscribe."""
    message = parsed((GOLDEN / "comment-markdown.eml").read_bytes())
    message_id = update_message_id("comment#1", "alice@allowed.org", "issues.example.com")
    boundary = hashlib.sha256(message_id.encode()).hexdigest()[:32]
    assert [(name, str(value)) for name, value in message.items()] == [
        ("From", "Example Site <8@issues.example.com>"),
        ("To", "alice@allowed.org"),
        ("Reply-To", "8@issues.example.com"),
        ("Subject", "Re: Broken link on the site"),
        ("Date", "Mon, 21 Sep 2026 14:13:20 +0000"),
        ("Message-ID", f"<{message_id}>"),
        ("In-Reply-To", "<CAF3x=abc.123@mail.allowed.org>"),
        ("References", f"<{FIRST}> <CAF3x=abc.123@mail.allowed.org>"),
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("Precedence", "list"),
        ("List-Id", '"Example Site" <issue-8.site.example-org.issues.example.com>'),
        ("List-Unsubscribe", f"<{UNSUBSCRIBE_URL}>, <{MAILTO}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="=_{boundary}"'),
    ]


def test_plain_text_of_a_comment_is_its_markdown_without_markers():
    """The Markdown as written (line ends normalised), our invisible marker gone, and the
    signature block with the issue, the comment's link and the unsubscribe link."""
    plain, _ = parts(parsed((GOLDEN / "comment-markdown.eml").read_bytes()))
    markdown = MARKDOWN.replace("\r\n", "\n").replace(
        "\n<!-- ticket-router: mail 0100019212aa2bc4 -->", ""
    )
    assert plain == (
        "octocat commented on example-org/site#8:\n"
        "\n"
        f"{markdown}\n"
        "\n"
        "-- \n"
        "example-org/site#8: Broken link on the site\n"
        f"Reply to this mail to comment, or view it on GitHub: {COMMENT_URL}\n"
        f"Unsubscribe from example-org/site#8: {UNSUBSCRIBE_URL}\n"
    )


def test_html_of_a_comment_renders_markdown_and_passes_no_html_through():
    """Code, lists, links and strikethrough render; raw HTML is shown as text; the image is
    a link, not loaded; a javascript: link is not a link."""
    _, page = parts(parsed((GOLDEN / "comment-markdown.eml").read_bytes()))
    assert (
        '<pre><code class="language-python">print(&quot;&lt;b&gt;fixed&lt;/b&gt;&quot;)\n' in page
    )
    assert '<li>checked the <a href="https://example.org/docs">docs</a></li>' in page
    assert "<li><s>old page</s> gone</li>" in page
    assert '<a href="https://github.com/user-attachments/assets/1f2e3d4c">screenshot</a>' in page
    assert (
        "&lt;img src=&quot;https://tracker.example/pixel.gif&quot;&gt; "
        "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    )
    assert "[click](javascript:alert(1))" in page
    assert not re.search(r"<(img|script)|javascript:alert\(1\)\"|ticket-router: mail", page)
    assert f'<a href="{UNSUBSCRIBE_URL.replace("&", "&amp;")}">Unsubscribe from' in page
    assert f'<a href="{COMMENT_URL}">view it on GitHub</a>' in page


def test_non_ascii_names_and_text_are_encoded_and_read_back():
    """Project, title, login and text in German and Chinese survive: RFC 2047 headers and
    quoted-printable parts decode to exactly what was given."""
    raw = (GOLDEN / "comment-non-ascii.eml").read_bytes()
    message = parsed(raw)
    assert message["From"].addresses[0].display_name == "Übersicht 概览"
    assert str(message["Subject"]) == "Re: Größe der Übersicht"
    assert str(message["List-Id"]) == "Übersicht 概览 <issue-8.site.example-org.issues.example.com>"
    plain, page = parts(message)
    assert plain.startswith(
        "jürgen-m commented on example-org/site#8:\n\n"
        "Grüße! Die Übersicht ist jetzt **schmaler**.\n\n中文版概览页面已修复。\n\n-- \n"
        "example-org/site#8: Fehler: Größe der Übersicht / 概览页面的大小不对\n"
    )
    assert "<p>Grüße! Die Übersicht ist jetzt <strong>schmaler</strong>.</p>" in page
    assert "<title>Fehler: Größe der Übersicht / 概览页面的大小不对</title>" in page
    assert raw.count(b"Content-Transfer-Encoding: quoted-printable") == 2


def test_closed_is_one_line_with_the_reason():
    """A closed issue: who closed it and why, then the signature with the issue's link."""
    message = parsed((GOLDEN / "closed.eml").read_bytes())
    plain, page = parts(message)
    assert plain == (
        "octocat closed example-org/site#8 (completed).\n"
        "\n"
        "-- \n"
        "example-org/site#8: Broken link on the site\n"
        f"Reply to this mail to comment, or view it on GitHub: {ISSUE_URL}\n"
        f"Unsubscribe from example-org/site#8: {UNSUBSCRIBE_URL}\n"
    )
    assert (
        f'<p>octocat closed <a href="{ISSUE_URL}">example-org/site#8</a> (completed).</p>' in page
    )


def test_reopened_is_one_line():
    """A reopened issue: who reopened it; its state reason is not repeated."""
    plain, page = parts(parsed((GOLDEN / "reopened.eml").read_bytes()))
    assert plain.splitlines()[:3] == ["hubot reopened example-org/site#8.", "", "-- "]
    assert f'<p>hubot reopened <a href="{ISSUE_URL}">example-org/site#8</a>.</p>' in page


@pytest.mark.parametrize(
    ("state_reason", "line"),
    [
        ("not_planned", "octocat closed example-org/site#8 (not planned)."),
        ("duplicate", "octocat closed example-org/site#8 (duplicate)."),
        (None, "octocat closed example-org/site#8."),
    ],
)
def test_closed_reasons_are_worded(state_reason: str | None, line: str):
    """GitHub's state reasons read as words; without one, the line just ends."""
    plain, _ = parts(parsed(render(replace(CLOSED, state_reason=state_reason))))
    assert plain.splitlines()[0] == line


def test_without_an_unsubscribe_url_the_mailto_is_the_way_out():
    """No https link: List-Unsubscribe holds the mailto alone, no one-click header, and the
    text names the unsubscribe address."""
    message = parsed((GOLDEN / "mailto-only.eml").read_bytes())
    assert str(message["List-Unsubscribe"]) == f"<{MAILTO}>"
    assert "List-Unsubscribe-Post" not in message
    plain, page = parts(message)
    assert plain.endswith("Unsubscribe from example-org/site#8: 8+unsubscribe@issues.example.com\n")
    assert f'<a href="{MAILTO}">Unsubscribe from example-org/site#8</a>' in page


def test_without_in_reply_to_there_is_no_thread_header():
    """A participant without a known Message-ID gets a mail that answers nothing."""
    message = parsed((GOLDEN / "no-in-reply-to.eml").read_bytes())
    assert "In-Reply-To" not in message
    assert "References" not in message
    assert str(message["Subject"]) == "Broken link on the site"


INVALID_IDS = ["", "two words@x", "a>b@x", "x\r\nBcc: y@z", "x\n y@z"]


@pytest.mark.parametrize("in_reply_to", INVALID_IDS)
def test_an_invalid_in_reply_to_is_left_out(in_reply_to: str):
    """A Message-ID that is not a msg-id is dropped rather than written into a header."""
    message = parsed(render(CLOSED, in_reply_to=in_reply_to, references=()))
    assert ("In-Reply-To" in message, "References" in message) == (False, False)
    root_only = parsed(render(CLOSED, in_reply_to=in_reply_to))
    assert ("In-Reply-To" in root_only, str(root_only["References"])) == (False, f"<{FIRST}>")


@pytest.mark.parametrize("root", INVALID_IDS)
def test_an_invalid_root_is_left_out(root: str):
    """The thread's root is checked like the latest id: an invalid one is not written."""
    raw = render(CLOSED, references=(root,))
    message = parsed(raw)
    assert str(message["References"]) == "<CAF3x=abc.123@mail.allowed.org>"
    assert str(message["In-Reply-To"]) == "<CAF3x=abc.123@mail.allowed.org>"
    assert b"Bcc" not in raw


def test_references_start_at_the_root_and_end_at_the_latest_each_once():
    """Root first, the participant's latest last, one folded line each; an id given twice
    (the participant's latest mail is the issue's first) is written once."""
    raw = render(CLOSED, references=(f"<{FIRST}>",), in_reply_to="<latest@x.example>")
    assert (
        b"In-Reply-To: <latest@x.example>\r\n"
        b"References: <first.7f3a@mail.example.org>\r\n <latest@x.example>\r\n"
    ) in raw
    same = parsed(render(CLOSED, references=("latest@x.example",), in_reply_to="latest@x.example"))
    assert str(same["References"]) == "<latest@x.example>"
    assert str(same["In-Reply-To"]) == "<latest@x.example>"


def test_the_longest_ids_fold_within_the_line_limit():
    """Two msg-ids of the longest length allowed still make lines within RFC 5322's 998."""
    root, latest = "r" * 240 + "@x.example", "l" * 240 + "@y.example"
    raw = render(CLOSED, references=(root,), in_reply_to=latest)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert str(parsed(raw)["References"]) == f"<{root}> <{latest}>"


def test_in_reply_to_given_with_angle_brackets_gets_one_pair():
    """<id> and id give the same header."""
    message = parsed(render(CLOSED, in_reply_to="<abc@x.example>"))
    assert str(message["In-Reply-To"]) == "<abc@x.example>"


def test_a_header_injection_in_the_title_and_names_stays_one_line():
    """CR, LF and Unicode line separators in title, login, project and subject become spaces:
    no header is added and the body does not start early."""
    hostile = replace(
        CLOSED,
        title="Broken\r\nBcc: victim@example.net\r\n\r\nfake body",
        author="evil\nX-Injected: 1",
    )
    raw = render(
        hostile,
        project="Site\r\nBcc: victim@example.net",
        subject="Re: Broken\u2028Bcc: victim@example.net\r\n",
    )
    message = parsed(raw)
    assert "Bcc" not in message
    assert "X-Injected" not in message
    assert str(message["Subject"]) == "Re: Broken Bcc: victim@example.net"
    assert message["From"].addresses[0].display_name == "Site Bcc: victim@example.net"
    plain, _ = parts(message)
    assert plain.splitlines()[0] == "evil X-Injected: 1 closed example-org/site#8 (completed)."
    assert "example-org/site#8: Broken Bcc: victim@example.net fake body\n" in plain
    assert b"\nBcc" not in raw


def test_html_escapes_title_login_and_urls():
    """Markup in a title or login, and a quote in a URL, are text in the HTML part."""
    update = replace(
        CLOSED,
        title='<img src="https://t.example/x.gif">',
        author="<b>bob</b>",
        issue_url='https://github.com/example-org/site/issues/8"><script>',
    )
    _, page = parts(parsed(render(update)))
    assert "<title>&lt;img src=&quot;https://t.example/x.gif&quot;&gt;</title>" in page
    assert "&lt;b&gt;bob&lt;/b&gt; closed" in page
    assert '<a href="https://github.com/example-org/site/issues/8&quot;&gt;&lt;script&gt;">' in page
    assert not re.search(r"<(img|script|b>)", page)


def test_links_that_are_not_web_or_mail_are_text():
    """An issue URL that is not http(s) is shown, not linked."""
    _, page = parts(parsed(render(replace(CLOSED, issue_url="javascript:alert(1)", url=""))))
    assert 'href="javascript' not in page
    assert "<p>octocat closed example-org/site#8 (completed).</p>" in page


@pytest.mark.parametrize("text", ["", "  \n", "<!-- ticket-router: mail 1 -->\n"])
def test_a_comment_empty_after_its_markers_is_still_a_mail(text: str):
    """Nothing to show: both parts say "(no text)"."""
    plain, page = parts(parsed(render(replace(COMMENT, text=text))))
    assert plain.startswith("octocat commented on example-org/site#8:\n\n(no text)\n\n-- \n")
    assert "<p><em>(no text)</em></p>" in page


def test_ascii_with_short_lines_goes_7bit_and_a_long_line_quoted_printable():
    """7bit while every line fits RFC 5322's 998 octets; a longer one is quoted-printable."""
    short = render(CLOSED)
    assert short.count(b"Content-Transfer-Encoding: 7bit") == 2
    long = render(replace(COMMENT, text="x" * 1200))
    message = parsed(long)
    assert long.count(b"Content-Transfer-Encoding: quoted-printable") == 2
    plain, _ = parts(message)
    assert "\n" + "x" * 1200 + "\n" in plain


def test_same_inputs_same_bytes_and_the_boundary_follows_the_message_id():
    """A resend is byte for byte the same mail; another recipient's has another boundary."""
    assert render(COMMENT) == render(COMMENT)
    alice = parsed(render(COMMENT)).get_boundary()
    bob = parsed(render(COMMENT, to="bob@allowed.org")).get_boundary()
    assert alice != bob
    assert alice is not None
    assert re.fullmatch(r"=_[0-9a-f]{32}", alice)


LONG_DOMAIN = f"{'d' * 63}.{'e' * 63}.example.com"


@pytest.mark.parametrize(
    ("repo", "domain", "list_id"),
    [
        ("Example-Org/.github", "issues.example.com", "issue-8.github.example-org"),
        ("example-org/my_site.v2", "issues.example.com", "issue-8.my-site-v2.example-org"),
        ("o" * 39 + "/" + "n" * 100, LONG_DOMAIN, "issue-8.DIGEST"),
    ],
    ids=["dot-name", "underscore-and-dot", "too-long"],
)
def test_list_id_is_a_valid_dot_atom(repo: str, domain: str, list_id: str):
    """Repository names become RFC 2919 labels; past 255 octets a digest stands in."""
    digest = hashlib.sha256(repo.lower().encode()).hexdigest()[:16]
    message = parsed(render(replace(CLOSED, repo=repo), project="", from_address=f"8@{domain}"))
    expected = f"{list_id.replace('DIGEST', digest)}.{domain}"
    assert str(message["List-Id"]) == f"<{expected}>"
    assert len(expected) <= 255
    assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", expected)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"to": "Alice <alice@allowed.org>"}, "to is not a plain address"),
        ({"to": "a@b.example, c@d.example"}, "to is not a plain address"),
        ({"to": "jürgen@allowed.org"}, "to is not a plain address"),
        ({"from_address": "8@issues.example.com\r\n"}, "from_address is not a plain address"),
        ({"message_id": "<id@x>"}, "invalid message_id"),
        ({"unsubscribe_url": "http://example.org/unsubscribe"}, "unsubscribe_url must be an https"),
        ({"unsubscribe_url": "https://x.example/u>, <https://evil.example"}, "must be an https"),
        ({"unsubscribe_url": "https://x.example/u\r\nBcc: a@b.example"}, "must be an https"),
        ({"unsubscribe_mailto": "8+unsubscribe@issues.example.com"}, "invalid unsubscribe_mailto"),
        ({"unsubscribe_mailto": "mailto:a@b.example>, <mailto:c@d"}, "invalid unsubscribe_mailto"),
    ],
)
def test_what_cannot_be_sent_is_refused(overrides: dict[str, Any], error: str):
    """Addresses, ids and unsubscribe targets that would make a broken or unsafe mail raise."""
    with pytest.raises(ValueError, match=re.escape(error)):
        render(CLOSED, **overrides)


def test_an_unknown_kind_is_refused():
    """Only comments, closings and reopenings are mailed."""
    with pytest.raises(ValueError, match="unknown update kind 'labeled'"):
        render(replace(CLOSED, kind="labeled"))


def test_update_message_id_is_per_event_and_person():
    """The same event to the same person (in any case) has the same id; anything else not."""
    one = update_message_id("issue_comment#2345678901", "Alice@Allowed.org", "Issues.Example.com")
    assert one == update_message_id(
        "issue_comment#2345678901", "alice@allowed.org", "issues.example.com"
    )
    assert re.fullmatch(r"update\.[0-9a-f]{24}@issues\.example\.com", one)
    assert one != update_message_id("issue_comment#2345678902", "alice@allowed.org", "x.example")
    assert (
        one.partition("@")[0]
        != update_message_id(
            "issue_comment#2345678901", "bob@allowed.org", "issues.example.com"
        ).partition("@")[0]
    )
    # The two are kept apart: shifting a character from one to the other changes the id.
    assert update_message_id("ab", "c@d", "x") != update_message_id("a", "bc@d", "x")


def test_control_characters_in_a_comment_are_dropped():
    """NUL, bare CR and other controls never reach the body; tabs and newlines stay."""
    update = replace(COMMENT, text="a\x00b\rc\td\x1be\x7f")
    raw = render(update)
    plain, _ = parts(parsed(raw))
    assert plain.startswith("octocat commented on example-org/site#8:\n\nab\nc\tde\n\n-- \n")
    assert not re.search(rb"[\x00\x1b\x7f]", raw)


def test_importing_the_module_leaves_markdown_it_for_the_first_comment():
    """markdown-it (about 55 ms) is imported by the first comment rendered, not by the import."""
    code = (
        "import sys, handler.outbound.update_mail as m\n"
        "assert 'markdown_it' not in sys.modules\n"
        "m._markdown()\n"
        "assert 'markdown_it' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)  # noqa: S603 - our own interpreter


def test_a_comment_posted_from_a_mail_names_its_sender_by_name():
    """ "<name> wrote by email on" opens both parts; the text follows as for any comment."""
    plain, page = parts(parsed(render(BY_MAIL)))
    assert plain.startswith(
        "Ann Lee wrote by email on example-org/site#8:\n\nStill broken on 2.4.1:\n\n> the link\n"
        "\nAnn\n\n-- \n"
    )
    assert page.count("Ann Lee wrote by email on <a href") == 1
    assert "commented on" not in plain + page


def test_a_copied_colleague_is_told_why_once_before_the_signature():
    """The golden for a copied colleague: who copied them on a mail to which address, how to
    take part and how to leave, in both parts, just before the signature; the thread is the
    issue's root alone, as they never wrote."""
    message = parsed((GOLDEN / "copied-colleague.eml").read_bytes())
    assert str(message["To"]) == "bob@allowed.org"
    assert "In-Reply-To" not in message
    assert str(message["References"]) == f"<{FIRST}>"
    plain, page = parts(message)
    why = (
        "You are getting this because Ann Lee copied you on a mail to 8@issues.example.com. "
        "Reply to take part, or unsubscribe: "
    )
    assert plain.endswith(
        f"\nAnn\n\n{why}{UNSUBSCRIBE_URL}\n\n-- \n"
        "example-org/site#8: Broken link on the site\n"
        f"Reply to this mail to comment, or view it on GitHub: {COMMENT_URL}\n"
        f"Unsubscribe from example-org/site#8: {UNSUBSCRIBE_URL}\n"
    )
    link = UNSUBSCRIBE_URL.replace("&", "&amp;")
    assert (
        "<p>Ann</p>\n"
        "<p>You are getting this because Ann Lee copied you on a mail to 8@issues.example.com. "
        f'Reply to take part, or <a href="{link}">unsubscribe</a>.</p>\n'
        "<hr>\n"
    ) in page


def test_without_an_unsubscribe_url_the_introduction_names_the_address():
    """A colleague copied in on a deployment without the Function URL is told the mailto."""
    plain, page = parts(parsed(render(CLOSED, copied_by="Ann Lee", unsubscribe_url=None)))
    assert "Reply to take part, or unsubscribe: 8+unsubscribe@issues.example.com\n\n-- \n" in plain
    assert f'Reply to take part, or <a href="{MAILTO}">unsubscribe</a>.</p>\n<hr>' in page


def test_the_introduction_keeps_the_name_to_one_line_of_text():
    """A name with line breaks or markup is one line in the text and text in the HTML."""
    hostile = "<b>Ann</b>\r\nBcc: victim@example.net"
    plain, page = parts(parsed(render(CLOSED, copied_by=hostile)))
    assert "because <b>Ann</b> Bcc: victim@example.net copied you on" in plain
    assert "because &lt;b&gt;Ann&lt;/b&gt; Bcc: victim@example.net copied you on" in page
    assert "<b>" not in page


def test_a_participant_who_was_told_or_wrote_gets_no_introduction():
    """Without ``copied_by`` nothing is added: the other goldens say so byte for byte."""
    plain, page = parts(parsed(render(BY_MAIL)))
    assert "You are getting this" not in plain + page
