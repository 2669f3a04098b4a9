# Reply markers in other scripts are meant to hold Cyrillic, Greek and full-width letters.
# ruff: noqa: RUF001, RUF003
"""Issue titles from mail subjects: what the sender wrote, without what mail software added.

The rules, and why: docs/inbound.md#titles.
"""

from __future__ import annotations

import re
import unicodedata

# GitHub rejects a longer issue title with 422 "title is too long"; the REST documentation does
# not state the limit, the API's error message does ("maximum is 256 characters").
TITLE_LIMIT = 256
# A title taken from the body is a stop-gap: a sentence fragment, not a paragraph.
BODY_TITLE_LIMIT = 80
NO_SUBJECT = "(no subject)"
# Of the subject our notices and updates answer: a subject, not a payload.
REPLY_SUBJECT_LIMIT = 200
# What clients show, and put after "Re:", for a mail without a subject: no title either.
_PLACEHOLDERS = frozenset(
    {
        "(no subject)",
        "no subject",
        "(kein betreff)",
        "(sans objet)",
        "(sin asunto)",
        "(senza oggetto)",
        "(sem assunto)",
        "(geen onderwerp)",
        "(без темы)",
        "(无主题)",
        "(無主旨)",
        "(件名なし)",
        "(제목 없음)",
    }
)

# A word boundary further back than this loses too much: cut hard instead.
_WORD_SLACK = 40
_ELLIPSIS = "…"

# Whitespace controls (tab, CR, LF, VT, FF, FS-US, NEL) are caught by \s before this runs.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_WHITESPACE = re.compile(r"\s+")
# Kept inside the text, never at its ends: alone they join nothing.
_JOINERS = "\u200c\u200d"
_STRIP = " " + _JOINERS

# Full-width ASCII (U+FF01-U+FF5E) as ASCII, one character for one, so that offsets found in the
# folded copy are offsets in the original.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0xFE55: ord(":")}

# Each only before a colon. Outlook's, Thunderbird's, Gmail's and Apple Mail's localisations.
# Forward markers first: "vs" (da, no: videresendt) is left out of them, because Finnish Outlook
# writes it for a reply (vastaus), and a reply's history shown as a forward is the worse mistake.
_FORWARD_WORDS = (
    "fwd",
    "fw",
    "wg",  # de: Weitergeleitet
    "vb",  # no, sv: videresendt, vidarebefordrat
    "vl",  # fi: välitetty
    "doorst",  # nl: doorgestuurd
    "tr",  # fr: transféré
    "rv",  # es: reenviado
    "i",  # it: inoltrato
    "enc",  # pt: encaminhado
    "pd",  # pl: przekazanie dalej
    "[iİı]lt",  # tr: iletilen (İ has no one-letter lower case, so no IGNORECASE for it)
    "пересл",  # ru, uk
    "转发",  # zh-Hans
    "轉發",  # zh-Hant
    "转寄",  # zh-Hans
    "轉寄",  # zh-Hant
    "전달",  # ko
    "πρθ",  # el: προώθηση
    "העבר",  # he
    "הועבר",  # he
    "إعادة توجيه",  # ar
)
_MARKER_WORDS = (
    *_FORWARD_WORDS,
    "re",
    "aw",  # de: Antwort
    "sv",  # da, no, sv, is: svar
    "vs",  # da, no: videresendt; fi: vastaus
    "antw",  # nl: antwoord
    "réf",  # fr
    "ref",  # es, fr
    "r",  # it: risposta
    "res",  # pt: resposta
    "odp",  # pl, cs, sk: odpowiedź, odpověď
    "ynt",  # tr: yanıt
    "ответ",  # ru
    "отв",  # ru
    "відп",  # uk
    "回复",  # zh-Hans
    "回覆",  # zh-Hant
    "答复",  # zh-Hans
    "答覆",  # zh-Hant
    "회신",  # ko
    "답장",  # ko
    "απ",  # el: απάντηση
    "σχετ",  # el: σχετικά
    "השב",  # he
    "رد",  # ar
)
# What may separate a marker or tag from what follows: joiners too, which would be left at the
# start of the title and stripped, exposing a marker there.
_GAP = f"[\\s{_JOINERS}]*"
_COUNT = r"(?:\s*(?:\[\d+\]|\(\d+\)|\^\d+))?"
_MARKER = re.compile(rf"(?:{'|'.join(_MARKER_WORDS)}){_COUNT}\s*:{_GAP}", re.IGNORECASE)
_FORWARD_MARKER = re.compile(rf"(?:{'|'.join(_FORWARD_WORDS)}){_COUNT}\s*:", re.IGNORECASE)
# Some text, not only spaces: "[ ]" is a checkbox, not a tag.
_TAG = re.compile(rf"\[(?=[^\]]*[^\]\s])[^\[\]]{{1,40}}\]{_GAP}")
_TAG_RUN = re.compile(rf"(?:{_TAG.pattern})+")
_FORWARD_NOTES = ("(fwd)", "[fwd]", "(fw)", "[fw]")

# A title is plain text on GitHub (no Markdown, no entities) and a mention in it notifies nobody;
# should that change, an "@" where a mention could start has a zero-width space after it all the
# same (handler.inbound.render says where: GitHub's \W is ASCII).
_MENTION = re.compile(r"@(?<![A-Za-z0-9]@)(?=[A-Za-z0-9])")

_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
_TAG_CHARACTERS = range(0xE0020, 0xE0080)


def issue_title(subject: str, *, body: str = "", from_list: bool = False) -> str:
    """The title of an issue opened by a mail: its cleaned subject, else its body's first line.

    ``subject`` is the decoded Subject header, ``body`` the mail's text after reply trimming,
    ``from_list`` whether the mail came through a mailing list (List-Id or List-Post present).
    The result is one line, never empty, at most ``TITLE_LIMIT`` UTF-16 code units.
    """
    title = _strip_added(_clean(subject), from_list=from_list)
    if not title or title.casefold() in _PLACEHOLDERS:
        title = shorten(_first_line(body), BODY_TITLE_LIMIT)
    return shorten(title, TITLE_LIMIT) or NO_SUBJECT


def is_forward_subject(subject: str) -> bool:
    """Whether ``subject`` says the mail forwards another: its first marker (after any list
    tags) is a forward's ("Fwd:", "WG:", "TR:"), or it ends with a forward note ("(fwd)").

    Only the first marker counts: "AW: WG: ..." answers a forward, "Fwd: Re: ..." forwards.
    """
    folded = _clean(subject).translate(_FOLD)
    run = _TAG_RUN.match(folded)
    start = run.end() if run and _MARKER.match(folded, run.end()) else 0
    if _FORWARD_MARKER.match(folded, start):
        return True
    return _before_forward_note(folded, start, len(folded)) < len(folded.rstrip(_STRIP))


def _clean(text: str) -> str:
    text = _WHITESPACE.sub(" ", _INVISIBLE.sub("", text))
    # Mentions are broken here, before a title is cut to its limit: it is cut with the spaces
    # counted, and cleaning it again removes them and puts them back where they were.
    return _MENTION.sub("@\u200b", unicodedata.normalize("NFC", text).strip(_STRIP))


def _strip_added(text: str, *, from_list: bool) -> str:
    """``text`` without the markers, list tags and forward notes that mail software added."""
    folded = text.translate(_FOLD)
    start, end = 0, len(text)
    removed: set[str] = set()
    while marker := _MARKER.match(folded, start) or _tags_before_marker(folded, start, removed):
        start = marker.end()
    run = _TAG_RUN.match(folded, start)
    if run:
        start = _drop_list_tags(folded, start, run.end(), removed, from_list=from_list)
    while (shorter := _before_forward_note(folded, start, end)) < end:
        end = shorter
    return text[start:end].strip(_STRIP)


def _tags_before_marker(folded: str, start: int, removed: set[str]) -> re.Match[str] | None:
    """The run of tags at ``start`` if a marker follows it, noting them in ``removed``."""
    run = _TAG_RUN.match(folded, start)
    if run is None or not _MARKER.match(folded, run.end()):
        return None
    removed.update(_tag_key(tag) for tag in _TAG.findall(folded, start, run.end()))
    return run


def _before_forward_note(folded: str, start: int, end: int) -> int:
    """Where ``folded[start:end]`` ends without a forward note such as "(fwd)" at its end."""
    while end > start and folded[end - 1] in _STRIP:
        end -= 1
    for note in _FORWARD_NOTES:
        if folded[max(start, end - len(note)) : end].lower() == note:
            return end - len(note)
    return end


def _drop_list_tags(
    folded: str, start: int, stop: int, removed: set[str], *, from_list: bool
) -> int:
    """Where the text starts once the list's tags are dropped from the tags in ``start:stop``."""
    text_start = start
    for tag in _TAG.finditer(folded, start, stop):
        key = _tag_key(tag.group())
        if not (key in removed or (from_list and tag.start() == start)):
            break
        removed.add(key)
        text_start = tag.end()
    return text_start


def _tag_key(tag: str) -> str:
    return tag.strip().casefold()


def _first_line(body: str) -> str:
    return next((line for line in map(_clean, body.splitlines()) if line), "")


def shorten(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` UTF-16 units, else cut with "…" to fit."""
    if _utf16_len(text) <= limit:
        return text
    room = limit - _utf16_len(_ELLIPSIS)
    fits = room
    while _utf16_len(text[:fits]) > room:
        fits -= 1
    # A space right after the part that fits ends a whole word too.
    space = text.rfind(" ", 0, fits + 1)
    if space > 0 and fits - space <= _WORD_SLACK:
        return text[:space].rstrip(_STRIP) + _ELLIPSIS
    cut = _cluster_start(text, fits) or fits
    return text[:cut].rstrip(_STRIP) + _ELLIPSIS


def _cluster_start(text: str, index: int) -> int:
    """``index``, moved back to the start of the character sequence it falls into."""
    while 0 < index < len(text) and _continues_cluster(text, index):
        index -= 1
    return index


def _continues_cluster(text: str, index: int) -> bool:
    char = ord(text[index])
    if char in _REGIONAL_INDICATORS:
        # Flags are pairs: the second of a pair continues it.
        before = index
        while before > 0 and ord(text[before - 1]) in _REGIONAL_INDICATORS:
            before -= 1
        return (index - before) % 2 == 1
    return (
        unicodedata.category(text[index]) in ("Mn", "Mc", "Me")
        or text[index] in _JOINERS
        or text[index - 1] == "\u200d"
        or char in _EMOJI_MODIFIERS
        or char in _TAG_CHARACTERS
    )


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def reply_subject(subject: str, *, otherwise: str) -> str:
    """The subject of our mail answering one whose subject was ``subject``: "Re: " before it
    (whitespace collapsed, at most 200 characters) unless it has one, so that the reader's
    client threads the two (Gmail compares subjects too); ``otherwise`` when it is empty."""
    text = " ".join(subject.split())[:REPLY_SUBJECT_LIMIT]
    if not text:
        return otherwise
    return text if text.lower().startswith("re:") else f"Re: {text}"
