# Mail in other scripts is meant to hold Cyrillic, Greek and full-width letters.
# ruff: noqa: RUF001
"""Reply trimming: quoted history, quote headers, delimiters, signatures and mobile footers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from handler.inbound.trim import _MAX_MARKER_LINE, Reply, trim_reply
from tests.complexity import MAX_GROWTH, MAX_LINE_GROWTH, SCALE, growth
from tests.conftest import TESTS

CASES = TESTS / "trim"
CASE_FILES = sorted(p for p in CASES.glob("*.txt") if not p.name.endswith(".expected.txt"))


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def nonblank(text: str) -> list[str]:
    return [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


# --- the golden table -----------------------------------------------------------------------------


def test_case_table_is_large_and_paired():
    """Every case has an expected body, and the table holds at least 40 cases."""
    assert len(CASE_FILES) >= 40
    for path in CASE_FILES:
        assert path.with_name(path.stem + ".expected.txt").is_file(), path.name


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_keeps_exactly_the_expected_body(path: Path):
    """Each realistic reply keeps exactly the text its author wrote."""
    expected = read(path.with_name(path.stem + ".expected.txt")).removesuffix("\n")
    assert trim_reply(read(path)).body == expected


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_loses_no_line(path: Path):
    """Body and trimmed together hold every non-blank line of the mail, in order."""
    text = read(path)
    reply = trim_reply(text)
    assert nonblank(reply.body) + nonblank(reply.trimmed) == nonblank(text)


# --- the Reply value ------------------------------------------------------------------------------


def test_reply_is_frozen():
    """A Reply cannot be changed after it is made."""
    reply = trim_reply("Hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.body = "changed"  # type: ignore[misc]


def test_empty_mail_gives_empty_reply():
    """An empty mail has neither body nor trimmed text."""
    assert trim_reply("") == Reply(body="", trimmed="")


def test_mail_without_history_trims_nothing():
    """A mail with nothing to trim keeps everything and reports an empty trimmed part."""
    assert trim_reply("Fixed in 2.4.2.\n\nThanks!\n") == Reply(
        body="Fixed in 2.4.2.\n\nThanks!", trimmed=""
    )


def test_trimmed_holds_header_quote_and_signature_in_order():
    """The trimmed part is the removed text in its original order, blank edges dropped."""
    text = (
        "Done.\n\n-- \nAnna\n\n"
        "On Mon, Jan 15, 2025 at 5:03 PM Ben Ng <ben@example.com> wrote:\n> Is it done?\n"
    )
    assert trim_reply(text) == Reply(
        body="Done.",
        trimmed=(
            "-- \nAnna\n\n"
            "On Mon, Jan 15, 2025 at 5:03 PM Ben Ng <ben@example.com> wrote:\n> Is it done?"
        ),
    )


def test_body_keeps_inner_blank_lines_and_indentation_but_not_edges():
    """Leading blank lines and trailing whitespace go; inner blank lines and indentation stay."""
    text = "\n \n    indented code\n\n\nnext paragraph   \n\t\n"
    assert trim_reply(text).body == "    indented code\n\n\nnext paragraph"


def test_windows_line_endings_are_normalised():
    """CRLF mail is trimmed like LF mail and the body uses LF."""
    text = "Yes.\r\n\r\nOn Mon, Jan 15, 2025 at 5:03 PM Ben <ben@example.com> wrote:\r\n> Q?\r\n"
    assert trim_reply(text) == Reply(
        body="Yes.", trimmed="On Mon, Jan 15, 2025 at 5:03 PM Ben <ben@example.com> wrote:\n> Q?"
    )


# --- quote attributions across clients and languages ----------------------------------------------

STRONG_ATTRIBUTIONS = [
    "On Mon, Jan 15, 2025 at 5:03 PM Anna Andersson <anna@example.com> wrote:",
    "On 15/01/2025 17:03, Anna Andersson wrote:",
    "On 15 Jan 2025, at 17:03, Anna Andersson <anna@example.com> wrote:",
    "On Mon, 15 Jan 2025, 17:03 Anna Andersson, <anna@example.com> wrote:",
    "On Mon, Jan 15, 2025 at 05:03:00PM +0100, Anna Andersson wrote:",
    "* Anna Andersson <anna@example.com> [2025-01-15 17:03]:",
    "Am 15.01.2025 um 17:03 schrieb Anna Andersson <anna@example.com>:",
    "Am Mo., 15. Jan. 2025 um 17:03 Uhr schrieb Anna Andersson <anna@example.com>:",
    "Anna Andersson <anna@example.com> schrieb am Mo., 15. Jan. 2025, 17:03:",
    "Le 15/01/2025 à 17:03, Anna Andersson a écrit :",
    "El 15/1/25 a las 17:03, Anna Andersson escribió:",
    "Il 15/01/25 17:03, Anna Andersson ha scritto:",
    "Op 15-01-2025 om 17:03 schreef Anna Andersson:",
    "Em 15/01/2025 17:03, Anna Andersson escreveu:",
    "W dniu 15.01.2025 o 17:03, Anna Andersson pisze:",
    "Wiadomość napisana przez Anna Andersson <anna@example.com> w dniu 15.01.2025, o godz. 17:03:",
    "Dne 15. 1. 2025 v 17:03 Anna Andersson napsal(a):",
    "Den 15 jan. 2025 kl. 17:03 skrev Anna Andersson <anna@example.com>:",
    "mån 15 jan. 2025 kl. 17:03 skrev Anna Andersson <anna@example.com>:",
    "15.01.2025 17:03, Анна Андерссон пишет:",
    "пн, 15 янв. 2025 г. в 17:03, Anna Andersson <anna@example.com>:",
    "пн, 15 січ. 2025 р. о 17:03 Anna Andersson <anna@example.com> пише:",
    "在 2025/1/15 17:03, Anna Andersson 写道:",
    "Anna Andersson <anna@example.com> 于2025年1月15日周三 17:03写道：",
    "2025年1月15日(水) 17:03 Anna Andersson <anna@example.com>:",
    "2025/01/15 17:03、Anna Andersson <anna@example.com>のメッセージ:",
    "2025년 1월 15일 (수) 오후 5:03, Anna Andersson <anna@example.com>님이 작성:",
    "Anna Andersson <anna@example.com>, 15 Oca 2025 Çar, 17:03 tarihinde şunu yazdı:",
    "Anna Andersson <anna@example.com> ezt írta (időpont: 2025. jan. 15., Sze, 17:03):",
    "Στις Δευ 15 Ιαν 2025 στις 5:03 μ.μ., ο/η Anna Andersson <anna@example.com> έγραψε:",
    "---- On Mon, 15 Jan 2025 17:03:00 +0100 Anna Andersson <anna@example.com> wrote ----",
    "On Mon, Jan 15, 2025 at 5:03 PM **Anna Andersson** "
    "<[anna@example.com](mailto:anna@example.com)> wrote:",
]


@pytest.mark.parametrize("header", STRONG_ATTRIBUTIONS)
def test_attribution_before_trailing_quote_is_trimmed(header: str):
    """An attribution line and the quote it introduces are history."""
    reply = trim_reply(f"New text.\n\n{header}\n> old text\n")
    assert reply == Reply(body="New text.", trimmed=f"{header}\n> old text")


@pytest.mark.parametrize("header", STRONG_ATTRIBUTIONS)
def test_dated_attribution_starts_unquoted_history(header: str):
    """After an attribution with a date or address, unquoted text is history too (top posting)."""
    reply = trim_reply(f"New text.\n\n{header}\n\nold text\n")
    assert reply.body == "New text."


def test_wrapped_attribution_whose_continuation_opens_like_one_is_one_attribution():
    """A wrapped attribution stays whole even when its second line starts like one ('Le ...')."""
    text = (
        "Thanks.\nOn Monday, January 15,\n2025 at 5:03 PM Le Van Anh <le@example.com>\nwrote:\n> q"
    )
    assert trim_reply(text) == Reply(body="Thanks.", trimmed=text.removeprefix("Thanks.\n"))


@pytest.mark.parametrize(
    "above", ["On balance I agree.", "On the issue of speed: it is fine now.", "Am Ende."]
)
def test_sentence_right_above_an_attribution_is_content(above: str):
    """The author's last sentence, directly above a wrapped attribution, is kept."""
    text = f"{above}\nOn Mon, Jan 15, 2025 at 5:03 PM Anna\n<anna@example.com> wrote:\n> q"
    assert trim_reply(text).body == above


def test_attribution_ending_the_mail_is_trimmed_without_a_quote():
    """A dated attribution that ends the mail (its quote lost) is still history."""
    text = "Answer\n\nOn Mon, Jan 15, 2025 at 5:03 PM Anna <anna@example.com> wrote:\n"
    assert trim_reply(text).body == "Answer"


def test_french_spacing_before_colons_is_understood():
    """No-break spaces before ':' (French typography) do not hide headers or attributions."""
    outlook = "Oui\n\nDe\u00a0: Anna <a@example.com>\nEnvoyé\u00a0: lundi\nObjet\u00a0: x\n\nold"
    gmail = "Oui\n\nLe lun. 15 janv. 2025 à 17:03, Anna <a@example.com> a écrit\u202f:\n> q"
    assert trim_reply(outlook).body == "Oui"
    assert trim_reply(gmail).body == "Oui"


def test_weak_attribution_only_trims_a_trailing_quote():
    """'Bob wrote:' without date or address ends a reply only when a trailing quote follows it."""
    assert trim_reply("Agreed.\n\nBob wrote:\n> ship it\n").body == "Agreed."
    assert trim_reply("Agreed.\n\nBob wrote:\nship it on Monday\n").body == (
        "Agreed.\n\nBob wrote:\nship it on Monday"
    )


@pytest.mark.parametrize(
    "line",
    [
        "On your remote host you can run:",
        "On 2025-01-15 the deploy failed with this error:",
        "Am 15.01.2025 schrieb ich dem Hersteller folgendes:",
        "In 2023 Bob wrote the following to me:",
        "From: the log at 17:03 on 2025-01-15:",
        "The vendor (support@vendor.example) said on 2025-01-15 at 17:03 that:",
    ],
)
def test_prose_ending_in_a_colon_is_content(line: str):
    """A sentence that merely ends with a colon keeps the unquoted text after it."""
    text = f"Some context.\n\n{line}\n\n    make install\n\nThat fixed it."
    assert trim_reply(text).body == text


# --- Outlook header blocks ------------------------------------------------------------------------


def test_lone_from_line_is_content():
    """A single From: line in prose does not start history."""
    text = "From: the numbers below, the drift starts at 02:00.\n\nIt grows by 2 s a day."
    assert trim_reply(text).body == text


def test_from_and_to_without_address_is_content():
    """From: and To: lines without an address read as a memo, not as a header block."""
    text = "Note\n\nFrom: the lab team\nTo: the archive team\n\nPlease keep the tapes."
    assert trim_reply(text).body == text


def test_from_with_address_and_to_is_a_header_block():
    """From: with an address followed by To: is an Outlook-style header block."""
    text = "Done.\n\nFrom: Anna <anna@example.com>\nTo: Ben <ben@example.com>\n\nIs it done?"
    assert trim_reply(text).body == "Done."


@pytest.mark.parametrize(
    ("line", "is_block"),
    [
        ("From: Bob <b@example.com> Sent: Monday To: Ann Subject: Hi", True),
        ("From: Bob Sent: Monday", False),
    ],
)
def test_header_fields_run_into_one_line_count_from_three(line: str, is_block: bool):
    """A From line holding three or more fields (Outlook's, unwrapped) is a header block."""
    reply = trim_reply(f"Reply text\n\n{line}\nold text")
    assert reply.body == ("Reply text" if is_block else f"Reply text\n\n{line}\nold text")


def test_line_of_only_invisible_marks_is_blank():
    """Zero-width and direction marks alone make a blank line, which history is cut back over."""
    reply = trim_reply("Thanks\n\u200b\u200e\n> old\n> quote")
    assert reply == Reply(body="Thanks", trimmed="> old\n> quote")


def test_header_block_behind_quote_marks_inside_history_is_ignored():
    """Header lines inside an inline quote do not cut the author's later answer."""
    text = (
        "> From: Anna <anna@example.com>\n> Sent: Monday\n> Subject: Q\n>\n> Is it done?\n\n"
        "Yes, since Friday."
    )
    assert trim_reply(text).body == text


# --- signatures and footers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from my iPad",
        "Sent from my BlackBerry 10 smartphone.",
        "Sent from my Verizon Wireless BlackBerry",
        "Sent from my cell, please excuse any typos.",
        "Sent from Outlook<http://aka.ms/weboutlook>",
        "Sent from [Outlook](https://aka.ms/weboutlook)",
        "Sent from Mail<https://go.microsoft.com/fwlink/?LinkId=550986> for Windows 10",
        "Sent from Yahoo Mail on Android",
        "Get Outlook for Android<https://aka.ms/ghei36>",
        "(Sent from mobile device)",
        "Von meinem iPhone gesendet",
        "Gesendet von meinem Samsung Galaxy Smartphone.",
        "Envoyé de mon iPhone",
        "Envoyé depuis mon appareil Galaxy",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Inviato da iPhone",
        "Verzonden vanaf mijn iPhone",
        "Отправлено с iPhone",
        "Wysłane z iPhone'a",
        "Odesláno z iPhonu",
        "Skickat från min iPhone",
        "Sendt fra min iPhone",
        "Lähetetty iPhonesta",
        "发自我的iPhone",
        "從我的 iPhone 傳送",
        "iPhoneから送信",
        "내 iPhone에서 보냄",
    ],
)
def test_mobile_footer_that_ends_the_text_is_trimmed(footer: str):
    """A mobile client's footer after the author's last line is removed."""
    assert trim_reply(f"Yes, go ahead.\n\n{footer}\n") == Reply(
        body="Yes, go ahead.", trimmed=footer
    )


def test_mobile_footer_words_mid_text_are_content():
    """A footer-like sentence followed by more of the author's text is kept."""
    text = "Sent from my iPhone\nbecause the laptop died; the log follows.\n\nline 1"
    assert trim_reply(text).body == text


def test_signature_delimiter_cuts_the_rest():
    """Everything from the '-- ' line on is signature."""
    assert trim_reply("Thanks\n-- \nAnna\n+44 20 7946 0000\n") == Reply(
        body="Thanks", trimmed="-- \nAnna\n+44 20 7946 0000"
    )


def test_escaped_signature_delimiter_from_markdown_cuts_the_rest():
    """A Markdown-escaped signature delimiter ('\\-\\-') counts as one."""
    assert trim_reply("Thanks\n\\-\\- \nAnna\n").body == "Thanks"


def test_rule_without_following_history_is_content():
    """A horizontal rule that ends the text is the author's, not a history separator."""
    text = "Thanks\n\n________________________________\n"
    assert trim_reply(text).body == "Thanks\n\n________________________________"


# --- hostile input --------------------------------------------------------------------------------


# Lines crafted against the patterns, of a given length (with its newline). The patterns look
# only at lines up to trim's cap, so the longest of these are at most that long.
LONGEST = _MAX_MARKER_LINE
LINES = 2500
SHAPES = {
    "addresses": lambda length: "a" * (length - 3) + "@:\n",
    "brackets": lambda length: "[" * (length - 1) + "\n",
    "headers": lambda length: "On " + "x " * ((length - 21) // 2) + "2025 12:00 wrote:\n",
    "rules": lambda length: "- " * ((length - 2) // 2) + "x\n",
    "ruled": lambda length: "-" * (length - 2) + ":\n",
    "ruled-words": lambda length: "-- " + "x " * ((length - 7) // 2) + "--:\n",
    "angle-urls": lambda length: "<http://" * ((length - 1) // 8) + "\n",
}
# Each is (what a line or run holds, how many make about a megabyte).
HOSTILE = {
    "long-line": ("x", 1_000_000),
    "long-quote": (">", 1_000_000),
    **{name: (shape(LONGEST), LINES) for name, shape in SHAPES.items()},
    "blocks": ("From: a@b.example To: c Subject: d\n", 25_000),
}


@pytest.mark.parametrize(("unit", "count"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_megabyte_of_hostile_text_is_trimmed_whole(unit: str, count: int):
    """A megabyte crafted against the patterns is trimmed, and no line is lost or made up."""
    text = unit * count
    reply = trim_reply(text)
    assert nonblank(reply.body) + nonblank(reply.trimmed) == nonblank(text)


@pytest.mark.parametrize(("unit", "count"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_costs_time_linear_in_its_size(unit: str, count: int):
    """Eight times the hostile text costs well under 64 times the time: no pattern backtracks
    across lines (the megabyte's eighth against the megabyte, in one run)."""
    assert growth(lambda size: trim_reply(unit * size), count // SCALE) < MAX_GROWTH


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_hostile_lines_cost_time_linear_in_their_length(shape: Callable[[int], str]):
    """A quarter megabyte in lines eight times longer, up to the longest the patterns look at,
    costs no more: no pattern backtracks quadratically within a line."""
    size = LONGEST * LINES // 4
    assert growth(lambda length: trim_reply(shape(length) * (size // length)), LONGEST // SCALE) < (
        MAX_LINE_GROWTH
    )


# --- measurement over email_reply_parser's suite --------------------------------------------------


@dataclass(frozen=True)
class Before:
    """The mail's own text up to, not including, ``marker``; all of it when ``marker`` is None."""

    marker: str | None


WHOLE_MAIL = Before(None)


# Accepted bodies per file. One answer where a maintainer would not hesitate; two where the
# answer is a matter of taste (named in AMBIGUOUS).
SHARED_EXPECTED: dict[str, tuple[str | Before, ...]] = {
    "correct_sig.txt": ("this is an email with a correct -- signature.",),
    "email_1_1.txt": (
        Before("\n\n-Abhishek Kona"),
        Before("\n\n\n_______________________________________________"),
    ),
    "email_1_2.txt": (Before("\n\n> \n> -Abhishek Kona"),),
    "email_1_3.txt": (
        "Oh thanks.\n\nHaving the function would be great.",
        "Oh thanks.\n\nHaving the function would be great.\n\n-Abhishek Kona",
    ),
    "email_1_4.txt": ("Awesome! I haven't had another problem with it.",),
    "email_1_5.txt": (WHOLE_MAIL,),
    "email_1_6.txt": (
        "I get proper rendering as well.",
        "I get proper rendering as well.\n\nSent from a magnificent torch of pixels",
    ),
    "email_1_7.txt": (":+1:",),
    "email_1_8.txt": (Before("\n\n>\n> -- Tim"),),
    "email_2_1.txt": ("Outlook with a reply",),
    "email_2_2.txt": ("Outlook with a reply directly above line",),
    "email_2_3.txt": ("Outlook with a reply directly above line",),
    "email_BlackBerry.txt": ("Here is another email",),
    "email_bullets.txt": (Before("\n\n\nOn Fri, Feb 24, 2012"),),
    "email_iPhone.txt": ("Here is another email",),
    "email_long_quote.txt": (
        Before("\n\n-Abhishek Kona"),
        Before("\n\n\n_______________________________________________"),
    ),
    "email_multi_word_sent_from_my_mobile_device.txt": ("Here is another email",),
    "email_one_is_not_on.txt": (Before("\n\nOn Oct 1, 2012"),),
    "email_sent_from_my_not_signature.txt": (
        "Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
    ),
    "email_sig_delimiter_in_middle_of_line.txt": (
        "Hi there!\n\nStuff happened.\n\nAnd here is a fix -- this is not a signature.\n\nkthxbai",
    ),
    "greedy_on.txt": (Before("\n\nOn 9 Jan 2014"),),
    "pathological.txt": (Before("\nOn Dec 8, 2013"),),
}
AMBIGUOUS = {
    "email_1_1.txt": "'-Abhishek Kona' sign-off: the author's words or a signature",
    "email_1_3.txt": "'-Abhishek Kona' sign-off: the author's words or a signature",
    "email_1_6.txt": "'Sent from a magnificent torch of pixels': a custom mobile footer",
    "email_long_quote.txt": "'-Abhishek Kona' sign-off, after a stray '>>>...' line",
}


def resolve(expected: str | Before, text: str) -> str:
    if isinstance(expected, str):
        return expected
    if expected.marker is None:
        return text.rstrip()
    assert expected.marker in text, expected.marker
    return text[: text.index(expected.marker)].rstrip()


def test_email_reply_parser_suite(shared_emails: Path, capsys: pytest.CaptureFixture[str]):
    """On email_reply_parser's real mails every body is one a maintainer would accept."""
    folder = shared_emails / "email_reply_parser"
    files = sorted(folder.glob("*.txt"))
    assert {p.name for p in files} == set(SHARED_EXPECTED)
    rows, wrong = [], []
    for path in files:
        text = read(path).replace("\r\n", "\n")
        accepted = [resolve(e, text) for e in SHARED_EXPECTED[path.name]]
        body = trim_reply(text).body
        right = body in accepted
        note = f"  ({AMBIGUOUS[path.name]})" if path.name in AMBIGUOUS else ""
        rows.append(f"  {'ok  ' if right else 'MISS'} {path.name}{note}")
        if not right:
            wrong.append(path.name)
    with capsys.disabled():
        print(f"\nemail_reply_parser suite, {folder}:")
        print("\n".join(rows))
        print(
            f"  {len(files) - len(wrong)}/{len(files)} right "
            f"({len(files) - len(AMBIGUOUS)} unambiguous, {len(AMBIGUOUS)} with two answers)"
        )
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "body", "trimmed"),
    [
        ("-- ", "", "--"),
        ("x:", "x:", ""),
        ("a\n-- ", "a", "--"),
        ("On 1 Jan 2025 Bob wrote:", "", "On 1 Jan 2025 Bob wrote:"),
    ],
)
def test_attribution_search_stays_inside_the_text(text: str, body: str, trimmed: str):
    """A one- or two-line mail ending in a colon or a delimiter is trimmed, not an IndexError."""
    assert trim_reply(text) == Reply(body=body, trimmed=trimmed)
