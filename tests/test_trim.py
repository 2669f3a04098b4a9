# Mail in other scripts is meant to hold Cyrillic, Greek and full-width letters.
# ruff: noqa: RUF001
"""Reply trimming: quoted history, quote headers, delimiters, signatures and mobile footers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from handler.inbound import markers
from handler.inbound.trim import (
    _FORWARD_LONGEST,
    _MAX_MARKER_LINE,
    Block,
    BlockKind,
    Reply,
    _is_blank,
    trim_reply,
)
from tests.complexity import MAX_GROWTH, MAX_LINE_GROWTH, SCALE, growth
from tests.conftest import TESTS

CASES = TESTS / "trim"
CASE_FILES = sorted(p for p in CASES.glob("*.txt") if not p.name.endswith(".expected.txt"))


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def nonblank(text: str) -> list[str]:
    return [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


QUOTE_MARKS = re.compile(r"^[\s>]*")


def readable(text: str) -> list[str]:
    """The lines of ``text`` that hold more than quote marks and blanks, quote marks aside."""
    lines = (QUOTE_MARKS.sub("", line) for line in re.split(r"\r\n|\r|\n", text))
    return [line.rstrip() for line in lines if not _is_blank(line)]


def held(reply: Reply) -> list[str]:
    """What the blocks hold, in order: each forward's marker and header lines, then its text."""
    return [line for block in reply.blocks for line in readable(block.head) + readable(block.text)]


def parts(reply: Reply) -> tuple[str, str]:
    return reply.body, reply.trimmed


# --- the golden table -----------------------------------------------------------------------------


def test_case_table_is_large_and_paired():
    """Every case has an expected body, and the table holds at least 40 cases."""
    assert len(CASE_FILES) >= 40
    for path in CASE_FILES:
        assert path.with_name(path.stem + ".expected.txt").is_file(), path.name


# The subject a case was sent with, where it matters: a forward prefix makes an Outlook header
# block a forward.
SUBJECTS = {
    "en_outlook_fw_with_note": "FW: Sample 42 damaged",
    "en_outlook_re_with_note": "RE: Sample 42 damaged",
    "en_outlook_fw_original_message": "FW: Sample 42 damaged",
    "de_outlook_wg_with_note": "WG: Probe 42 beschädigt",
}


def trim_case(path: Path) -> Reply:
    return trim_reply(read(path), subject=SUBJECTS.get(path.stem, ""))


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_keeps_exactly_the_expected_body(path: Path):
    """Each realistic reply keeps exactly the text its author wrote."""
    expected = read(path.with_name(path.stem + ".expected.txt")).removesuffix("\n")
    assert trim_case(path).body == expected


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_loses_no_line(path: Path):
    """The blocks together hold every line of the mail that has more than quote marks and
    blanks, in order: a forward's marker and header lines in its head, its text with one quote
    level less."""
    assert held(trim_case(path)) == readable(read(path))


# --- the Reply value ------------------------------------------------------------------------------


def test_reply_is_frozen():
    """A Reply cannot be changed after it is made."""
    reply = trim_reply("Hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.body = "changed"  # type: ignore[misc]


def test_empty_mail_gives_empty_reply():
    """An empty mail has neither body nor trimmed text nor blocks."""
    assert trim_reply("") == Reply(body="", trimmed="", blocks=())
    assert trim_reply(" \n\t\n") == Reply(body="", trimmed="", blocks=())


def test_mail_without_history_trims_nothing():
    """A mail with nothing to trim keeps everything and reports an empty trimmed part."""
    assert parts(trim_reply("Fixed in 2.4.2.\n\nThanks!\n")) == ("Fixed in 2.4.2.\n\nThanks!", "")


def test_trimmed_holds_header_quote_and_signature_in_order():
    """The trimmed part is the removed text in its original order, blank edges dropped."""
    text = (
        "Done.\n\n-- \nAnna\n\n"
        "On Mon, Jan 15, 2025 at 5:03 PM Ben Ng <ben@example.com> wrote:\n> Is it done?\n"
    )
    assert parts(trim_reply(text)) == (
        "Done.",
        (
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
    assert parts(trim_reply(text)) == (
        "Yes.",
        "On Mon, Jan 15, 2025 at 5:03 PM Ben <ben@example.com> wrote:\n> Q?",
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
    assert parts(reply) == ("New text.", f"{header}\n> old text")


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
    assert parts(trim_reply(text)) == ("Thanks.", text.removeprefix("Thanks.\n"))


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
    assert parts(reply) == ("Thanks", "> old\n> quote")


def test_header_block_behind_quote_marks_inside_history_is_ignored():
    """Header lines inside a leading quote do not cut the author's later answer: the quote is
    folded in place, the answer kept."""
    quote = "> From: Anna <anna@example.com>\n> Sent: Monday\n> Subject: Q\n>\n> Is it done?"
    reply = trim_reply(f"{quote}\n\nYes, since Friday.")
    assert reply.blocks == (
        Block(BlockKind.QUOTE, quote),
        Block(BlockKind.TEXT, "Yes, since Friday."),
    )
    assert parts(reply) == ("Yes, since Friday.", "")


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
    assert parts(trim_reply(f"Yes, go ahead.\n\n{footer}\n")) == ("Yes, go ahead.", footer)


def test_mobile_footer_words_mid_text_are_content():
    """A footer-like sentence followed by more of the author's text is kept."""
    text = "Sent from my iPhone\nbecause the laptop died; the log follows.\n\nline 1"
    assert trim_reply(text).body == text


def test_signature_delimiter_cuts_the_rest():
    """Everything from the '-- ' line on is signature."""
    assert parts(trim_reply("Thanks\n-- \nAnna\n+44 20 7946 0000\n")) == (
        "Thanks",
        "-- \nAnna\n+44 20 7946 0000",
    )


def test_escaped_signature_delimiter_from_markdown_cuts_the_rest():
    """A Markdown-escaped signature delimiter ('\\-\\-') counts as one."""
    assert trim_reply("Thanks\n\\-\\- \nAnna\n").body == "Thanks"


def test_rule_without_following_history_is_content():
    """A horizontal rule that ends the text is the author's, not a history separator."""
    text = "Thanks\n\n________________________________\n"
    assert trim_reply(text).body == "Thanks\n\n________________________________"


# --- blocks: quotes folded in place, forwards, never empty ---------------------------------------

BOTTOM_POSTED = [
    "On Mon, Jan 15, 2025 at 5:03 PM Anna Andersson <anna@example.com> wrote:",
    "Anna Andersson wrote:",
    "Am 15.01.2025 um 17:03 schrieb Anna Andersson:",
    "Anna de Vries schreef:",
    "Op 15-01-2025 om 17:03 schreef Anna de Vries:",
    "Le 15/01/2025 à 17:03, Anna Andersson a écrit :",
    "El 15/1/25 a las 17:03, Anna Andersson escribió:",
    "15.01.2025 17:03, Анна Андерссон пишет:",
    "在 2025/1/15 17:03, Anna Andersson 写道:",
]


@pytest.mark.parametrize("attribution", BOTTOM_POSTED)
@pytest.mark.parametrize("gap", ["\n", "\n\n"], ids=["no-blank", "blank"])
def test_leading_quote_is_folded_in_place_with_its_attribution(attribution: str, gap: str):
    """A bottom-posted reply: the attribution and the quote are one QUOTE block, the answer
    below it the body, with or without a blank line between."""
    reply = trim_reply(f"{attribution}\n> Does the export work again?\n>\n> Anna{gap}Yes, it does.")
    assert reply.blocks == (
        Block(BlockKind.QUOTE, f"{attribution}\n> Does the export work again?\n>\n> Anna"),
        Block(BlockKind.TEXT, "Yes, it does."),
    )
    assert parts(reply) == ("Yes, it does.", "")


def test_interleaved_quotes_are_folded_each_in_place():
    """Each quote the author answers is its own QUOTE block; the quote after the last answer is
    history."""
    text = (
        "Hi Anna,\n\n> Which version?\n\n2.4.1.\n\n> Small files too?\n> Or only large ones?\n"
        "No, only large ones.\n\n> Thanks\n"
    )
    assert trim_reply(text).blocks == (
        Block(BlockKind.TEXT, "Hi Anna,"),
        Block(BlockKind.QUOTE, "> Which version?"),
        Block(BlockKind.TEXT, "2.4.1."),
        Block(BlockKind.QUOTE, "> Small files too?\n> Or only large ones?"),
        Block(BlockKind.TEXT, "No, only large ones."),
        Block(BlockKind.HISTORY, "> Thanks"),
    )


LONG_QUOTED = "> Pitchfork occupy vegan pabst hammock. Wayfarers etsy pok pok, kale chips"
WRAPPED = f"{LONG_QUOTED}\nbrooklyn four dollar toast street art 3 wolf moon.\n"


def test_a_quoted_line_wrapped_without_its_mark_stays_in_the_quote():
    """Gmail on Android wraps a long quoted line and leaves its rest unquoted: the quote stays
    one, history as a whole."""
    quote = f"> Akeem Olajuwon 08:08 PM, Aug 28\n{WRAPPED}" * 2 + "> VIEW ALL MESSAGES"
    reply = trim_reply(
        f"This is a test\n\nOn Sep 21, 2016 3:18 PM, <n@example.com> wrote:\n{quote}"
    )
    assert reply.blocks == (
        Block(BlockKind.TEXT, "This is a test"),
        Block(BlockKind.HISTORY, f"On Sep 21, 2016 3:18 PM, <n@example.com> wrote:\n{quote}"),
    )


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        # Short quotes: answers, whatever their case.
        ("> Which version?\n2.4.1\n> Small files too?\nno.\n> Thanks", "2.4.1"),
        # A long quoted question that ends a sentence.
        (
            "> Did you try the latest release from the website, or the older one from the "
            "mirror?\nthe latest one\n> Thanks",
            "the latest one",
        ),
        # A capital: an answer, not the rest of the line.
        (
            f"{LONG_QUOTED}\nBrooklyn is where I live.\n> Thanks",
            "Brooklyn is where I live.",
        ),
        # The quote does not go on right below it.
        (f"{WRAPPED}\n> Thanks", "brooklyn four dollar toast street art 3 wolf moon."),
    ],
    ids=["short", "sentence", "capital", "blank-after"],
)
def test_answers_between_quotes_are_not_taken_for_wrapped_lines(text: str, answer: str):
    """Mutt-style interleaving keeps its answers: only the lower-case rest of a long quoted
    line that stops mid-sentence, with the quote going on right below, is the quote's."""
    reply = trim_reply(text)
    assert reply.blocks[0].kind is BlockKind.QUOTE
    assert reply.blocks[1] == Block(BlockKind.TEXT, answer)


@pytest.mark.parametrize(
    "text",
    [
        "> Can you send the log?\n>\n> Anna",
        "On Mon, Jan 15, 2025 at 5:03 PM Anna <anna@example.com> wrote:\n\n> Can you send the log?",
        "--\n> quote line 1\n> quote line 2",
        "-- \nAnna Andersson\n+44 20 7946 0000",
        "From: Anna <anna@example.com>\nSent: Monday\nSubject: Log\n\nCan you send the log?",
    ],
    ids=["quote", "attributed-quote", "dashes-then-quote", "signature", "header-block"],
)
def test_mail_that_would_be_emptied_is_kept_whole(text: str):
    """When nothing of the author's would be left, the whole mail is one TEXT block."""
    assert trim_reply(f"\n{text}\n") == Reply(
        body=text, trimmed="", blocks=(Block(BlockKind.TEXT, text),)
    )


@pytest.mark.parametrize(
    "line",
    ["Sent from my own domain's server.", "Sent from my iPhone", "Von meinem iPhone gesendet"],
)
def test_one_line_body_is_never_a_signature(line: str):
    """A mobile-footer-like line with no other text above it is the author's text, also above a
    quote."""
    assert parts(trim_reply(f"{line}\n")) == (line, "")
    assert parts(trim_reply(f"{line}\n\n> old\n")) == (line, "> old")


def test_attribution_opening_the_mail_keeps_the_unquoted_answers_below_it():
    """A client that does not quote: the answers below "On ... wrote:" are kept, and only the
    signature below them trimmed."""
    text = (
        "On Mon, Jan 15, 2025 at 5:03 PM Anna <anna@example.com> wrote:\n"
        "Which version?\n2.4.1\n\n-- \nBen"
    )
    assert parts(trim_reply(text)) == (text.removesuffix("\n\n-- \nBen"), "-- \nBen")


FORWARD_CASES = {
    "en_forward_only": ("", "Sample 42 arrived with a cracked lid."),
    "en_forward_with_note": ("FYI, this is the report from the lab.", None),
    "en_apple_begin_forwarded": ("See below.", None),
    "en_apple_forward_quoted": (
        "Forwarding the lab's report.",
        "Sample 42 arrived with a cracked lid.\n\n> Please confirm receipt.",
    ),
    "en_apple_forward_quoted_without_note": ("", None),
    "en_thunderbird_forward_with_note": (
        "See the lab's mail below.",
        "Sample 42 arrived with a cracked lid.\n\n-- \nLab Reception, building 3",
    ),
    "en_thunderbird_forward_without_note": ("", None),
    "en_outlook_fw_with_note": (
        "Please see below, this is the third damaged sample this month.\n\nBen",
        None,
    ),
    "en_quoted_forward_with_note": ("Here is what the lab sent.", None),
    "en_forward_after_signature": ("FYI, the lab's report.", None),
    "en_gmail_forward_html_markdown": (
        "FYI, see the report below.",
        "Sample 42 arrived with a **cracked** lid.\n\nLab Reception",
    ),
}
LAB = ("Lab Reception <reception@example.org>", "Sample 42 damaged")


@pytest.mark.parametrize(("name", "expected"), FORWARD_CASES.items(), ids=FORWARD_CASES.keys())
def test_forward_is_a_block_with_its_header_fields(name: str, expected: tuple[str, str | None]):
    """Gmail, Apple, Thunderbird and Outlook forwards, plain or quoted, note or not: one FORWARD
    block naming the sender, date and subject, its text without header lines, one quote level
    less."""
    note, content = expected
    reply = trim_case(CASES / f"{name}.txt")
    forward = next(block for block in reply.blocks if block.kind is BlockKind.FORWARD)
    notes = [block.text for block in reply.blocks if block.kind is BlockKind.TEXT]
    assert notes[:1] == ([note] if note else [])
    assert (forward.sender, forward.subject) == LAB
    assert forward.date in {
        "Mon, Jan 15, 2025 at 5:03 PM",
        "15 January 2025 at 17:03:00 CET",
        "Mon, 15 Jan 2025 17:03:00 +0100",
        "Monday, January 15, 2025 5:03 PM",
    }
    assert forward.text == (content or "Sample 42 arrived with a cracked lid.")
    assert "From:" in forward.head


def test_quoted_forward_ends_with_its_quote():
    """A "> "-quoted forward is the quote; the author's text below it is text again."""
    reply = trim_case(CASES / "en_quoted_forward_with_note.txt")
    assert [block.kind for block in reply.blocks] == [
        BlockKind.TEXT,
        BlockKind.FORWARD,
        BlockKind.TEXT,
    ]
    assert reply.blocks[1].head == (
        "> ---------- Forwarded message ---------\n"
        "> From: Lab Reception <reception@example.org>\n"
        "> Date: Mon, Jan 15, 2025 at 5:03 PM\n"
        "> Subject: Sample 42 damaged\n"
        "> To: Ben Ng <ben@example.com>"
    )


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("FW: Sample 42 damaged", BlockKind.FORWARD),
        ("WG: Sample 42 damaged", BlockKind.FORWARD),
        ("RE: Sample 42 damaged", BlockKind.HISTORY),
        ("Sample 42 damaged", BlockKind.HISTORY),
    ],
)
def test_outlook_header_block_is_a_forward_only_under_a_forward_subject(subject, kind):
    """Outlook marks a forward like a reply: the subject's prefix tells them apart."""
    reply = trim_reply(read(CASES / "en_outlook_fw_with_note.txt"), subject=subject)
    assert [block.kind for block in reply.blocks] == [BlockKind.TEXT, kind]


def test_outlook_forward_fields_in_any_order_and_language():
    """A localised header block is one unit whatever its first field (Objet/Date/De/À)."""
    reply = trim_case(CASES / "fr_thunderbird_forward_objet_first.txt")
    forward = reply.blocks[1]
    assert (forward.kind, forward.sender, forward.date, forward.subject) == (
        BlockKind.FORWARD,
        "Accueil du labo <accueil@example.org>",
        "Mon, 15 Jan 2025 17:03:00 +0100",
        "Échantillon 42 abîmé",
    )
    assert forward.text == "L'échantillon 42 est arrivé avec un couvercle fêlé."


FORWARD_MARKER = "---------- Forwarded message ---------\n"


@pytest.mark.parametrize(
    ("head", "sender"),
    [
        # Other header fields a client copied, before and among the ones we read.
        (
            "Date: Sat, 2 Oct 2021 21:52:36 -0400\nMessage-ID: <example2@mail.gmail.com>\n"
            "Subject: Crash report\nFrom: User <user@example.com>\n"
            "Reply-To: help@example.com\nX-Mailer: Foo 1.0\nTo: Group <group@example.com>\n",
            "User <user@example.com>",
        ),
        # A long Cc broken after an unclosed "<", its rest on an unindented line.
        (
            "From: User <user@example.com>\nDate: Sat, 2 Oct 2021 21:52:36 -0400\n"
            "Subject: Crash report\nCc: A <a@example.com>, B <\nb@example.com>\n",
            "User <user@example.com>",
        ),
        # A From broken the same way, then more fields.
        (
            "From: A Very Long Display Name <\nuser@example.com>\n"
            "Date: Sat, 2 Oct 2021 21:52:36 -0400\nSubject: Crash report\n",
            "A Very Long Display Name <user@example.com>",
        ),
        # A To list wrapped without "<", before the blank line that ends the head.
        (
            "From: User <user@example.com>\nDate: Sat, 2 Oct 2021 21:52:36 -0400\n"
            "Subject: Crash report\nTo: a@example.com, b@example.com,\nc@example.com\n",
            "User <user@example.com>",
        ),
    ],
)
def test_forward_head_holds_every_header_line_and_its_wrapped_rest(head: str, sender: str):
    """Any "Field: value" line after a forward marker, and the unindented rest of a wrapped one,
    is the head: the forward's text starts after it."""
    reply = trim_reply(f"See below.\n\n{FORWARD_MARKER}{head}\n\nHello world!\n")
    forward = reply.blocks[1]
    assert (forward.kind, forward.sender, forward.subject, forward.text) == (
        BlockKind.FORWARD,
        sender,
        "Crash report",
        "Hello world!",
    )
    assert forward.head == (FORWARD_MARKER + head).rstrip("\n")


def test_forward_text_that_only_looks_like_a_header_stays_text():
    """A "Note: ..." line right after a marker with no header fields is the forward's text."""
    reply = trim_reply(f"See below.\n\n{FORWARD_MARKER}Note: the lab is closed.\n\nBye")
    assert reply.blocks[1].text == "Note: the lab is closed.\n\nBye"


def test_forward_body_right_below_the_head_is_not_a_wrapped_field():
    """Without a blank line after the head, a paragraph of text is not taken for a field's rest:
    only a line followed by a header line or a blank line is."""
    reply = trim_reply(
        f"{FORWARD_MARKER}From: User <user@example.com>\nSubject: Crash report\n"
        "Hello world!\nIt crashes.\n"
    )
    assert reply.blocks[0].text == "Hello world!\nIt crashes."


def test_header_block_starting_with_date_is_history():
    """Hotmail's block (Date, Subject, From, To) is history as a unit, not from its From on."""
    text = (
        "Works now.\n\nDate: Mon, 15 Jan 2025 17:03:00 +0100\nSubject: Export\n"
        "From: anna@example.com\nTo: ben@example.com\n\nDoes it work?"
    )
    assert trim_reply(text).body == "Works now."


NOTICES = {
    "en": "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and may be "
    "privileged. If you are not the intended recipient, please notify the sender and delete it.",
    "en-information": "The information contained in this message is intended only for the use "
    "of the individual or entity named above.",
    "en-heading": "Disclaimer\n\nThis email has been scanned for viruses and malware.",
    "de": "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn "
    "Sie nicht der richtige Adressat sind, informieren Sie bitte sofort den Absender.",
    "fr": "Ce message et toutes les pièces jointes sont confidentiels et établis à l'intention "
    "exclusive de ses destinataires.",
    "es": "Este mensaje y sus anexos son confidenciales. Si usted ha recibido este mensaje por "
    "error, notifíquelo al remitente.",
    "it": "Questo messaggio e i suoi allegati sono riservati. Se avete ricevuto questo messaggio "
    "per errore, avvisate il mittente.",
    "nl": "Dit bericht is uitsluitend bestemd voor de geadresseerde. Heeft u dit bericht per "
    "vergissing ontvangen, meld het dan aan de afzender.",
    "pt": "Esta mensagem e seus anexos são confidenciais. Se recebeu esta mensagem por engano, "
    "avise o remetente.",
}
SIGNED = "The export fails again on sample 42.\n\nThanks,\nAnna"


@pytest.mark.parametrize("notice", NOTICES.values(), ids=NOTICES.keys())
def test_a_legal_notice_that_ends_the_mail_is_folded_with_the_history(notice: str):
    """A corporate disclaimer under the sign-off, in any of the main languages, is not the
    author's text: it goes with the history."""
    reply = trim_reply(f"{SIGNED}\n\n{notice}\n")
    assert parts(reply) == (SIGNED, notice)


def test_a_corporate_signature_between_rules_goes_with_the_notice_below_it():
    """Name, role and phones between long rules, then legal notices: all folded, the sign-off
    kept."""
    tail = (
        "___________________\nAnna Berg\nLab Operations\nDirect: +44 20 7946 0000\n"
        "___________________________________________\n\n"
        "To report an incident with the lab systems, write to the service desk; no other "
        "mailbox is monitored by the operations team.\n"
        "___________________________________________\n\n"
        "------------------------------------------\n"
        "This message w/attachments (message) is intended solely for the use of the intended "
        "recipient(s) and may contain information that is privileged.\n"
        "------------------------------------------"
    )
    reply = trim_reply(f"{SIGNED},\n{tail}\n")
    assert parts(reply) == (f"{SIGNED},", tail)


def test_a_short_signature_between_rules_is_folded_without_a_notice():
    """A carrier's or company's few short lines between long rules end the text."""
    tail = "----------------------------------\nSent via Bell Mobility's Text Messaging service.\n"
    tail += "----------------------------------"
    assert parts(trim_reply(f"{SIGNED}\n\n{tail}")) == (SIGNED, tail)


@pytest.mark.parametrize(
    "text",
    [
        # An author's last paragraph that only mentions confidentiality.
        f"{SIGNED}\n\nPlease keep the sample data confidential until the paper is out.",
        f"{SIGNED}\n\nDisclaimer: I work for the vendor of the scanner.",
        # A rule of the system the report is about, in the words notices also use.
        f"{SIGNED}\n\nWriting to /etc is strictly prohibited by our policy, so it fails.",
        f"{SIGNED}\n\nL'écriture dans /etc est strictement interdite, d'où l'erreur.",
        # A notice the author quotes, with their text after it.
        "Our mails now end with:\n\nCONFIDENTIALITY NOTICE: This e-mail is confidential.\n\n"
        "Can the tracker strip it?",
        # Text between rules whose lines are long: the author's sections.
        "Summary\n----------------------------------\nThe export of sample 42 fails at eighty "
        "percent every time it runs on the night shift.\n----------------------------------",
    ],
    ids=["mentions", "disclaimer-word", "prohibited", "interdite", "not-trailing", "long-section"],
)
def test_the_authors_own_paragraphs_are_not_notices(text: str):
    """Only trailing legal notices go: an author's paragraph that mentions confidentiality,
    a notice with the author's text after it, or long ruled sections stay."""
    assert parts(trim_reply(text)) == (text, "")


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
    # A writer's name looked for word by word before the verb; a footer's device after its verb.
    "names": lambda length: "On 1 Jan 2025 " + "Ab " * ((length - 21) // 3) + "wrote:\n",
    "cjk-names": lambda length: "在 2025/1/15 " + "王 " * ((length - 14) // 2) + "写道:\n",
    "footers": lambda length: "Gesendet von " + "DHL " * ((length - 14) // 4) + "\n",
}
# Each is (what a line or run holds, how many make about a megabyte).
HOSTILE = {
    "long-line": ("x", 1_000_000),
    "long-quote": (">", 1_000_000),
    **{name: (shape(LONGEST), LINES) for name, shape in SHAPES.items()},
    "blocks": ("From: a@b.example To: c Subject: d\n", 25_000),
    # Block shapes: many short lines, each a block of its own; a quarter megabyte is enough.
    "interleaved": ("> q\na\n", 40_000),
    "attributed": ("On 1 Jan 2025 Bob <b@example.com> wrote:\n> q\na\n", 5_000),
    "signatures": ("-- \n", 60_000),
    "quoted-forwards": ("> Begin forwarded message:\n> From: a\nb\n", 8_000),
    "forward-heads": ("Begin forwarded message:\n" + "From: a\n" * 20 + "> x\n", 1_500),
    "fields": ("Subject: x\nDate: y\n", 12_000),
    # Rules above a list word, each looked at for a link, an address or the list's name.
    "list-rules": ("----\nabmelden " + "a@b" * 40 + "\n", 6_000),
    "named-blocks": ("From: Anna Andersson\nSent: Monday\nx\n", 12_000),
    "notices": ("Text.\n\nThis email is confidential.\n\n", 20_000),
    "ruled-blocks": ("Name\n__________\n", 60_000),
    "wrapped-quotes": ("> " + "x " * 35 + "\nwrapped\n", 10_000),
}


@pytest.mark.parametrize(("unit", "count"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_megabyte_of_hostile_text_is_trimmed_whole(unit: str, count: int):
    """A megabyte crafted against the patterns is trimmed, and no line is lost or made up."""
    text = unit * count
    assert held(trim_reply(text)) == readable(text)


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
    """The mail's own text up to, not including, ``marker``; all of it when ``marker`` is None.
    ``without`` names a quote the author answers below it, folded away: from the first string
    up to the second, which a blank line then separates from the text above."""

    marker: str | None
    without: tuple[str, str] | None = None


WHOLE_MAIL = Before(None)


# Accepted bodies per file. One answer where a maintainer would not hesitate; two where the
# answer is a matter of taste (named in AMBIGUOUS).
SHARED_EXPECTED: dict[str, tuple[str | Before, ...]] = {
    "correct_sig.txt": ("this is an email with a correct -- signature.",),
    "email_1_1.txt": (
        Before("\n\n-Abhishek Kona"),
        Before("\n\n\n_______________________________________________"),
    ),
    "email_1_2.txt": (
        Before("\n\n> \n> -Abhishek Kona", without=("\nOn Tue, 2011-03-01", "\nYou can list")),
    ),
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
    "email_1_8.txt": ("I will reply under this one\n\nand under this.",),
    "email_2_1.txt": ("Outlook with a reply",),
    "email_2_2.txt": ("Outlook with a reply directly above line",),
    "email_2_3.txt": ("Outlook with a reply directly above line",),
    "email_BlackBerry.txt": ("Here is another email",),
    "email_bullets.txt": (Before("\n\n\nOn Fri, Feb 24, 2012"),),
    "email_iPhone.txt": ("Here is another email",),
    "email_long_quote.txt": (
        Before("\n\n-Abhishek Kona", without=("\n>>>", "\nasdf")),
        Before(
            "\n\n\n_______________________________________________", without=("\n>>>", "\nasdf")
        ),
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
    kept = text[: text.index(expected.marker)].rstrip()
    if expected.without is None:
        return kept
    start = kept.index(expected.without[0])
    end = kept.index(expected.without[1], start)
    return kept[:start] + "\n" + kept[end:]


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
        ("-- ", "--", ""),
        ("x:", "x:", ""),
        ("a\n-- ", "a", "--"),
        ("On 1 Jan 2025 Bob wrote:", "On 1 Jan 2025 Bob wrote:", ""),
    ],
)
def test_attribution_search_stays_inside_the_text(text: str, body: str, trimmed: str):
    """A one- or two-line mail ending in a colon or a delimiter is trimmed, not an IndexError;
    one that would leave nothing is kept whole."""
    assert parts(trim_reply(text)) == (
        body,
        trimmed,
    )


def test_no_forward_introduction_is_longer_than_the_lines_looked_at():
    """Lines longer than _FORWARD_LONGEST are not matched against the forward introductions: none
    of them, with a space and a colon after it, is that long."""
    # The width re's own parser gives the alternation: a case-insensitive match is as long.
    width = re._parser.parse(markers.FORWARD_INTRODUCTIONS, re.IGNORECASE).getwidth()[1]
    assert width + len(" :") <= _FORWARD_LONGEST
