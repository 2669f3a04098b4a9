# Subjects in other scripts are meant to hold Cyrillic, Greek and full-width letters.
# ruff: noqa: RUF001
"""Issue titles from mail subjects: clean-up, reply markers, list tags, fallbacks, length."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from handler.inbound.titles import (
    BODY_TITLE_LIMIT,
    NO_SUBJECT,
    TITLE_LIMIT,
    is_forward_subject,
    issue_title,
    reply_subject,
)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- clean-up -------------------------------------------------------------------------------------

CLEANING = [
    (
        "folded header",
        "Printer on floor 3\r\n is out\r\n\tof toner",
        "Printer on floor 3 is out of toner",
    ),
    ("tabs and runs", "\t  Build\t\tfails  on   main \t", "Build fails on main"),
    ("no-break and ideographic spaces", "Build\u00a0fails\u3000today", "Build fails today"),
    ("line and paragraph separators", "one\u2028two\u2029three", "one two three"),
    ("vertical tab, form feed, NEL", "a\x0bb\x0cc\x85d", "a b c d"),
    ("C0 controls", "a\x00b\x07c\x1bd", "abcd"),
    ("DEL and C1 controls", "a\x7fb\x80c\x9fd", "abcd"),
    ("bidi override", "invoice \u202egpj.exe", "invoice gpj.exe"),
    ("bidi embeddings", "\u202aleft\u202c \u202bright\u202c \u202dlro\u202c", "left right lro"),
    ("bidi isolates", "\u2066a\u2069 \u2067b\u2069 \u2068c\u2069", "a b c"),
    ("bidi marks", "\u200fשלום\u200e ok \u061c", "שלום ok"),
    ("zero-width space and word joiner", "zero\u200bwidth\u2060join", "zerowidthjoin"),
    ("byte order mark", "\ufeffHello", "Hello"),
    ("soft hyphen", "Instal\u00adlation", "Installation"),
    ("joiners at the ends", "\u200d\u200cHello\u200d", "Hello"),
    ("lone surrogate", "broken \udce9 byte", "broken byte"),
    ("CJK kept", "打印机坏了 プリンター 프린터", "打印机坏了 プリンター 프린터"),
    ("emoji kept", "🔥 Server down 🚒", "🔥 Server down 🚒"),
    ("emoji sequences kept", "👩\u200d💻 team 🇩🇪 👍🏽", "👩\u200d💻 team 🇩🇪 👍🏽"),
    ("Persian non-joiner kept", "می\u200cخواهم", "می\u200cخواهم"),
    ("decomposed accents composed", "Cafe\u0301 ferme\u0301", "Café fermé"),
]


@pytest.mark.parametrize(
    ("subject", "title"), [c[1:] for c in CLEANING], ids=[c[0] for c in CLEANING]
)
def test_cleaning(subject: str, title: str):
    """Whitespace collapses to single spaces and invisible control characters disappear."""
    assert issue_title(subject) == title


# --- reply and forward markers ------------------------------------------------------------------

MARKERS = [
    ("en Re", "Re: Printer jam", "Printer jam"),
    ("en RE", "RE: Printer jam", "Printer jam"),
    ("en re", "re: Printer jam", "Printer jam"),
    ("en Fwd", "Fwd: Printer jam", "Printer jam"),
    ("en FWD", "FWD: Printer jam", "Printer jam"),
    ("en Fw", "Fw: Printer jam", "Printer jam"),
    ("en FW", "FW: Printer jam", "Printer jam"),
    ("de AW WG", "AW: WG: Angebot", "Angebot"),
    ("de Aw", "Aw: Rechnung März", "Rechnung März"),
    ("de WG", "WG: Protokoll", "Protokoll"),
    ("sv SV", "SV: Möte på fredag", "Möte på fredag"),
    ("da VS", "VS: Faktura", "Faktura"),
    ("sv VB", "VB: Mötesanteckningar", "Mötesanteckningar"),
    ("fi VL", "VL: Kokous", "Kokous"),
    ("nl Antw", "Antw: Vergadering", "Vergadering"),
    ("nl Doorst", "Doorst: Offerte", "Offerte"),
    ("fr TR", "TR: Compte rendu", "Compte rendu"),
    ("fr RE space", "RE : Compte rendu", "Compte rendu"),
    ("fr Réf", "Réf : Dossier 12", "Dossier 12"),
    ("fr Réf decomposed", "Re\u0301f: Dossier 12", "Dossier 12"),
    ("fr no-break space", "Re\u00a0: Question", "Question"),
    ("es RV", "RV: Presupuesto", "Presupuesto"),
    ("es REF", "REF: Pedido", "Pedido"),
    ("it R", "R: Riunione", "Riunione"),
    ("it I", "I: Verbale", "Verbale"),
    ("pt RES", "RES: Orçamento", "Orçamento"),
    ("pt ENC", "ENC: Relatório", "Relatório"),
    ("pl Odp", "Odp: Spotkanie", "Spotkanie"),
    ("pl PD", "PD: Faktura", "Faktura"),
    ("tr YNT", "YNT: Toplantı", "Toplantı"),
    ("tr İLT", "İLT: Rapor", "Rapor"),
    ("tr ilt", "ilt: Rapor", "Rapor"),
    ("ru Ответ", "Ответ: Вопрос", "Вопрос"),
    ("ru Отв", "Отв: Вопрос", "Вопрос"),
    ("ru Пересл", "Пересл: Счёт", "Счёт"),
    ("ru ОТВЕТ", "ОТВЕТ: Вопрос", "Вопрос"),
    ("uk Відп", "Відп: Питання", "Питання"),
    ("zh 回复 full-width colon", "回复：问题", "问题"),
    ("zh 回复 ASCII colon", "回复: 问题", "问题"),
    ("zh 回覆", "回覆：問題", "問題"),
    ("zh 答复", "答复：申请", "申请"),
    ("zh 转发", "转发：通知", "通知"),
    ("zh 轉寄", "轉寄：通知", "通知"),
    ("zh 轉發", "轉發：通知", "通知"),
    ("ja Re full-width", "ＲＥ：会議の件", "会議の件"),
    ("ja Fw", "Fw: 会議の件", "会議の件"),
    ("ko 회신", "회신: 회의", "회의"),
    ("ko 전달", "전달: 회의", "회의"),
    ("el ΑΠ", "ΑΠ: Συνάντηση", "Συνάντηση"),
    ("el Σχετ", "Σχετ: Συνάντηση", "Συνάντηση"),
    ("el ΠΡΘ", "ΠΡΘ: Συνάντηση", "Συνάντηση"),
    ("he השב", "השב: פגישה", "פגישה"),
    ("he הועבר", "הועבר: פגישה", "פגישה"),
    ("ar رد", "رد: اجتماع", "اجتماع"),
]


@pytest.mark.parametrize(
    ("subject", "title"), [c[1:] for c in MARKERS], ids=[c[0] for c in MARKERS]
)
def test_localised_marker_is_removed(subject: str, title: str):
    """Each client's reply or forward marker, followed by a colon, is removed."""
    assert issue_title(subject) == title


CHAINS = [
    ("repeated", "RE: RE: Re: Budget", "Budget"),
    ("no spaces", "Re:Re:Fwd:Budget", "Budget"),
    ("mixed languages", "AW: RE: SV: Fwd: Budget", "Budget"),
    ("square counter", "Re[2]: Budget", "Budget"),
    ("round counter", "Re(3): Budget", "Budget"),
    ("caret counter", "Re^2: Budget", "Budget"),
    ("counter after space", "RE [4]: Budget", "Budget"),
    ("counters mixed", "Re[2]: AW(3): Fw^4: Budget", "Budget"),
    ("space before colon", "Re : Fwd : Budget", "Budget"),
    ("full-width colon chain", "回复：转发：Re：预算", "预算"),
    ("full-width letters", "ＦＷ： Ｒｅ： Budget", "Budget"),
    ("tab after colon", "Re:\tBudget", "Budget"),
    ("marker in the middle stays", "Budget Re: Q3", "Budget Re: Q3"),
    ("colon kept in the text", "Re: Agenda: Q3 review", "Agenda: Q3 review"),
]


@pytest.mark.parametrize(("subject", "title"), [c[1:] for c in CHAINS], ids=[c[0] for c in CHAINS])
def test_marker_chain_is_removed(subject: str, title: str):
    """Markers are removed repeatedly, with counters, full-width colons and spaces before them."""
    assert issue_title(subject) == title


KEPT = [
    "Reply needed",
    "Re-open the issue",
    "Fwd-looking statement",
    "AW 2024 plan",
    "Report: disk full",
    "Regression: login fails",
    "Fwd looking: statements",
    "I want a dark mode",
    "RFC: new API",
    "Refactor the parser",
    "Resolution: 4K",
    "SVG export broken",
    "Vs Code extension",
    "回复速度太慢",
    "Отвертка: заказ",
]


@pytest.mark.parametrize("subject", KEPT)
def test_word_without_colon_is_kept(subject: str):
    """A subject that starts like a marker but is not one stays as written."""
    assert issue_title(subject) == subject


FORWARD_NOTES = [
    ("round", "Printer jam (fwd)", "Printer jam"),
    ("square", "Printer jam [fwd]", "Printer jam"),
    ("upper case", "Printer jam (FWD)", "Printer jam"),
    ("fw", "Printer jam (fw)", "Printer jam"),
    ("several", "Printer jam (fwd) [fwd]", "Printer jam"),
    ("with a marker", "Fwd: Printer jam (fwd)", "Printer jam"),
    ("not at the end", "(fwd) Printer jam", "(fwd) Printer jam"),
    ("part of a word", "Printer jam (fwdx)", "Printer jam (fwdx)"),
]


@pytest.mark.parametrize(
    ("subject", "title"), [c[1:] for c in FORWARD_NOTES], ids=[c[0] for c in FORWARD_NOTES]
)
def test_trailing_forward_note_is_removed(subject: str, title: str):
    """A "(fwd)" or "[fwd]" at the end of the subject is removed."""
    assert issue_title(subject) == title


# --- list tags ------------------------------------------------------------------------------------

LIST_TAGS = [
    ("author's tag", "[BUG] crash on save", False, "[BUG] crash on save"),
    ("author's tags", "[RFC] [API] new endpoint", False, "[RFC] [API] new endpoint"),
    ("list tag", "[dev] crash on save", True, "crash on save"),
    ("list tag then author's", "[dev] [BUG] crash on save", True, "[BUG] crash on save"),
    ("list tag repeated", "[dev] [dev] crash", True, "crash"),
    ("list tag on a reply", "[dev] Re: crash", False, "crash"),
    ("gateway tags on a reply", "[EXT] [dev] Re: crash", False, "crash"),
    ("list tag after marker", "Re: [dev] crash", True, "crash"),
    ("author's tag after marker", "Re: [BUG] crash", False, "[BUG] crash"),
    ("list and author's after marker", "Re: [dev] [BUG] crash", True, "[BUG] crash"),
    ("tags in the chain from a list", "Re: [users] Re: [users] x", True, "x"),
    ("tags in the chain", "Re: [users] Re: [users] x", False, "x"),
    ("list retagged reply", "[users] Re: [users] x", False, "x"),
    ("other tag after chain", "[users] Re: [BUG] x", False, "[BUG] x"),
    ("chain with tags and counters", "[dev] AW[2]: [dev] WG: [dev] Angebot", True, "Angebot"),
    ("full-width brackets", "［dev］ Re: crash", False, "crash"),
    ("tag case folded", "[Dev] Re: [DEV] crash", False, "crash"),
    ("tag with number", "[dev:1234] crash", True, "crash"),
    ("checkbox is no tag", "[ ] write docs", True, "[ ] write docs"),
    ("tag too long", "[" + "t" * 41 + "] x", True, "[" + "t" * 41 + "] x"),
    ("longest tag", "[" + "t" * 40 + "] x", True, "x"),
    ("nested brackets", "[[dev]] x", True, "[[dev]] x"),
    ("tag in the middle", "crash [dev] on save", True, "crash [dev] on save"),
]


@pytest.mark.parametrize(
    ("subject", "from_list", "title"),
    [c[1:] for c in LIST_TAGS],
    ids=[c[0] for c in LIST_TAGS],
)
def test_list_tag(subject: str, from_list: bool, title: str):
    """List tags are removed; a bracketed word the author wrote stays."""
    assert issue_title(subject, from_list=from_list) == title


# --- nothing left ---------------------------------------------------------------------------------

FALLBACKS = [
    ("empty", "", "", NO_SUBJECT),
    ("whitespace", " \t\r\n ", "", NO_SUBJECT),
    ("only invisible", "\u200b\u202e\ufeff\x00", "", NO_SUBJECT),
    ("only markers", "Re: Fwd: AW:", "", NO_SUBJECT),
    ("only a note", "Fwd: (fwd)", "", NO_SUBJECT),
    ("placeholder", "Re: (no subject)", "Toner is out.", "Toner is out."),
    ("placeholder any case", "(No Subject)", "Toner is out.", "Toner is out."),
    ("localised placeholder", "AW: (kein Betreff)", "Toner ist leer.", "Toner ist leer."),
    ("placeholder without body", "Re: (no subject)", "", NO_SUBJECT),
    ("placeholder with more", "Re: (no subject) again", "", "(no subject) again"),
    (
        "empty subject, body line",
        "",
        "Printer is out of toner.\nThanks",
        "Printer is out of toner.",
    ),
    ("markers, body line", "Re:", "\n\n  The   VPN\tdrops  \nevery hour", "The VPN drops"),
    ("list tag and marker", "[dev] Re:", "Build broken", "Build broken"),
    ("blank body lines", "", " \n\u200b\n\t\nHello", "Hello"),
    ("body of blanks", "", " \n\t\n", NO_SUBJECT),
    ("body line cut at a word", "", "word " * 30, ("word " * 15).strip() + " word…"),
    ("CJK body line cut hard", "", "问" * 100, "问" * 79 + "…"),
    ("body line of 80", "", "b" * 80, "b" * 80),
    ("Windows line breaks", "", "\r\nFirst line\r\nsecond", "First line"),
]


@pytest.mark.parametrize(
    ("subject", "body", "title"),
    [c[1:] for c in FALLBACKS],
    ids=[c[0] for c in FALLBACKS],
)
def test_fallback(subject: str, body: str, title: str):
    """An empty subject falls back to the body's first line, then to "(no subject)"."""
    assert issue_title(subject, body=body) == title


@pytest.mark.parametrize(
    ("subject", "title"),
    [
        ("Ask @octocat", "Ask @\u200boctocat"),
        ("é@octocat and ü@org/team", "é@\u200boctocat and ü@\u200borg/team"),
        ("mail alice@example.com", "mail alice@example.com"),
        ("&#64;octocat", "&#64;octocat"),
    ],
)
def test_title_mentions_are_broken(subject: str, title: str):
    """A title notifies nobody on GitHub; an "@" that could start a mention gets a zero-width
    space all the same, an address's "@" none, and an entity is plain text in a title."""
    assert issue_title(subject) == title


def test_body_is_ignored_when_the_subject_gives_a_title():
    """The body only matters when nothing is left of the subject."""
    assert issue_title("Re: Printer", body="Something else") == "Printer"


def test_body_title_is_no_longer_than_its_limit():
    """A title taken from the body is at most 80 characters, ellipsis included."""
    title = issue_title("", body="x" * 79 + " " + "y" * 30)
    assert title == "x" * 79 + "…"
    assert len(title) == BODY_TITLE_LIMIT


# --- length ---------------------------------------------------------------------------------------

Q_DOT = "q\u0307"  # no precomposed form: stays two code points under NFC
FAMILY = "👨\u200d👩\u200d👧"
LONG = [
    ("exactly the limit", "a" * 256, "a" * 256),
    ("one over, cut hard", "a" * 257, "a" * 255 + "…"),
    ("no space at all", "x" * 1000, "x" * 255 + "…"),
    ("cut at a word", "a" * 250 + " " + "b" * 10, "a" * 250 + "…"),
    ("space right after the room", "a" * 255 + " " + "b" * 5, "a" * 255 + "…"),
    ("space 40 back", "a" * 215 + " " + "b" * 50, "a" * 215 + "…"),
    ("space 41 back, cut hard", "a" * 214 + " " + "b" * 50, "a" * 214 + " " + "b" * 40 + "…"),
    ("words", ("lorem " * 60).strip(), ("lorem " * 42).strip() + "…"),
    ("combining mark kept with its letter", "a" * 254 + Q_DOT + "b", "a" * 254 + "…"),
    ("emoji counted as two units", "😀" * 200, "😀" * 127 + "…"),
    ("flag not split", "a" * 253 + "🇩🇪" * 5, "a" * 253 + "…"),
    ("emoji sequence not split", "a" * 250 + FAMILY, "a" * 250 + "…"),
    ("skin tone not split", "a" * 253 + "👍🏽" * 3, "a" * 253 + "…"),
    ("markers do not count", "Re: " * 10 + "a" * 256, "a" * 256),
]


@pytest.mark.parametrize(("subject", "title"), [c[1:] for c in LONG], ids=[c[0] for c in LONG])
def test_long_title_is_cut(subject: str, title: str):
    """Titles over 256 UTF-16 units are cut at a word or whole character, with an ellipsis."""
    result = issue_title(subject)
    assert result == title
    assert utf16_len(result) <= TITLE_LIMIT


# --- properties -----------------------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        "Re:",
        "RE :",
        "Fwd: ",
        "AW:",
        "回复：",
        "Re[2]:",
        "[dev] ",
        "[BUG]",
        "(fwd)",
        " ",
        "\t",
        "\r\n ",
        "\u202e",
        "\u200b",
        "\u200d",
        "\u0301",
        "🇩🇪",
        "👍🏽",
        "word ",
        "x" * 60,
    ]
)
SUBJECTS = st.one_of(st.text(), st.lists(st.one_of(PIECES, st.text(max_size=5))).map("".join))
INVISIBLE = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0), 0x200B, 0x202E, 0x2066, 0xFEFF]}


@given(subject=SUBJECTS, body=st.text(), from_list=st.booleans())
@example(subject="", body="", from_list=False)
@example(subject="Re: " * 300, body="\n" * 5, from_list=True)
def test_title_is_never_empty_nor_too_long(subject: str, body: str, from_list: bool):
    """Any subject and body give a non-empty single-line title within GitHub's limit."""
    title = issue_title(subject, body=body, from_list=from_list)
    assert title.strip()
    assert title == title.strip()
    assert utf16_len(title) <= TITLE_LIMIT
    assert title.splitlines() == [title]
    # The one invisible character a title may hold is the one that breaks a mention.
    assert not INVISIBLE & set(title.replace("@\u200b", "@"))
    assert unicodedata.is_normalized("NFC", title)


@given(subject=SUBJECTS)
@example(subject="Re: " + "lorem " * 60)
@example(subject="[users] Re: [users] x (fwd)")
def test_title_is_idempotent(subject: str):
    """A title made from a subject comes back unchanged as a subject."""
    title = issue_title(subject)
    assert issue_title(title) == title


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Printer  on\tfloor 3", "Re: Printer on floor 3"),
        ("RE: Printer", "RE: Printer"),
        ("   ", "Re: your mail"),
        ("x" * 300, "Re: " + "x" * 200),
    ],
)
def test_the_subject_of_a_reply(subject, expected):
    """Re: before the collapsed subject unless it has one; at most 200 characters of it; the
    fallback for an empty one."""
    assert reply_subject(subject, otherwise="Re: your mail") == expected


@pytest.mark.parametrize(
    ("subject", "forward"),
    [
        ("Fwd: Sample 42 damaged", True),
        ("FW: Sample 42 damaged", True),
        ("WG: Probe 42 beschädigt", True),
        ("TR : Échantillon 42", True),
        ("I: Campione 42", True),
        ("Doorst: Monster 42", True),
        ("转发：样品42", True),
        ("[lab] Fwd: Sample 42", True),
        ("Fwd: Re: Sample 42", True),
        ("Sample 42 damaged (fwd)", True),
        ("RE: Sample 42 damaged", False),
        ("AW: WG: Probe 42", False),
        ("VS: Näyte 42", False),
        ("Forwarding plans for Q3", False),
        ("", False),
    ],
)
def test_forward_subject(subject, forward):
    """A subject forwards when its first marker is a forward's, or a forward note ends it; "VS:"
    is a Finnish reply as often as a Danish forward, so it is not taken for one."""
    assert is_forward_subject(subject) is forward
