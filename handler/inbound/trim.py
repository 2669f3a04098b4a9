# Mail markers in other scripts are meant to hold Cyrillic, Greek and full-width letters.
# ruff: noqa: RUF001, RUF003
"""Reply trimming: keep what the author wrote in this mail, fold away history and signature.

The rules, and why: docs/inbound.md#trim.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from itertools import accumulate, repeat

from handler.inbound import disclaimers, markers
from handler.inbound.titles import is_forward_subject


class BlockKind(Enum):
    """What a stretch of a mail is, as a comment shows it."""

    # The author's own text.
    TEXT = "text"
    # A quote the author answers below (bottom posting, inline replies), with its attribution:
    # folded where it stands.
    QUOTE = "quote"
    # A mail the author passes on: shown, never folded.
    FORWARD = "forward"
    # What follows the author's last words: quoted history, signature, footers.
    HISTORY = "history"


@dataclass(frozen=True)
class Block:
    """One stretch of a mail, in order."""

    kind: BlockKind
    # The lines as written, without blank edges; a forward's: the forwarded mail's text without
    # its marker and header lines, one quote level removed when it was quoted.
    text: str
    # A forward's marker and header lines as written ("" for the other kinds), and what its
    # header lines name, as written ("" where none does).
    head: str = ""
    sender: str = ""
    date: str = ""
    subject: str = ""


@dataclass(frozen=True)
class Reply:
    """The author's own text of a mail, and what was trimmed from it."""

    # What the author wrote in this mail (text and forwards as written, without the quotes they
    # answer), its pieces separated by a blank line; no leading blank lines or trailing space.
    body: str
    # The trailing history and signature ("" if none).
    trimmed: str
    blocks: tuple[Block, ...] = ()


def trim_reply(text: str, *, subject: str = "") -> Reply:
    """Split a mail body into the author's text, the quotes it answers, the mails it forwards,
    and the trailing history and signature.

    ``subject`` is the mail's subject: a forward prefix ("Fwd:", "WG:") there tells a forwarded
    Outlook header block from a replied-to one.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    mail = _Mail(lines, forward=is_forward_subject(subject))
    mail.split()
    if not any(block.kind in _AUTHORS for block in mail.blocks):
        # Nothing of the author's would be left: the whole mail is theirs, as Discourse's
        # trimmer decides, rather than a refusal of a mail that had something to say.
        whole = _tidy(lines)
        blocks = (Block(BlockKind.TEXT, whole),) if whole else ()
        return Reply(body=whole, trimmed="", blocks=blocks)
    history = [block.text for block in mail.blocks if block.kind is BlockKind.HISTORY]
    return Reply(
        body="\n\n".join(mail.body), trimmed="\n\n".join(history), blocks=tuple(mail.blocks)
    )


_AUTHORS = (BlockKind.TEXT, BlockKind.FORWARD)


def _tidy(lines: list[str]) -> str:
    start = 0
    while start < len(lines) and _is_blank(lines[start]):
        start += 1
    return "\n".join(lines[start:]).rstrip()


class _Kind(Enum):
    BLANK = "blank"
    QUOTE = "quote"
    TEXT = "text"


class _Stop(Enum):
    """Why history starts where it does."""

    ATTRIBUTION = "attribution"
    BLOCK = "header block"
    DELIMITER = "original-message delimiter"
    FORWARD = "forward marker"
    SIGNATURE = "signature delimiter"
    LIST_FOOTER = "mailing-list footer"


# Headers, footers and delimiters are short; testing only short lines keeps a hostile megabyte
# line from costing more than one pass.
_MAX_MARKER_LINE = 400
# Zero-width and direction marks: Outlook sprinkles U+200E through its header dates.
# Gmail wraps right-to-left attributions in embeddings and isolates (U+202A-U+202E,
# U+2066-U+2069), so that a Hebrew one ends in ":\u202c".
_INVISIBLES = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069"
_INVISIBLE = re.compile(f"[{_INVISIBLES}]")
# A regular expression stops at the first visible character, where str.translate copies the
# whole line (5 ms of trimming a 100 KB newsletter). \s is the whitespace str.strip removes.
_BLANK = re.compile(rf"[\s{_INVISIBLES}]*")


def _is_blank(line: str) -> bool:
    return _BLANK.fullmatch(line) is not None


def _kind(line: str) -> _Kind:
    first = line[:1]
    if first.isascii() and first.isprintable() and first not in " >":
        # A visible ASCII character first (most lines): text, without a pattern's look.
        return _Kind.TEXT
    if _is_blank(line):
        return _Kind.BLANK
    if line.lstrip(" \t\u00a0").startswith(">"):
        return _Kind.QUOTE
    return _Kind.TEXT


# A quoted line a client wrapped without quoting its rest: the line above was long and did not
# end a sentence, the rest starts in lower case, and the quote goes on right below it.
_WRAP_LENGTH = 60
_QUOTE_MARKS = re.compile(r"[ \t\u00a0]*(?:>[ \t\u00a0]?)+")


def _join_wrapped_quotes(lines: list[str], kinds: list[_Kind]) -> None:
    """Make the unquoted rest of a wrapped quoted line part of the quote (in ``kinds``).

    Answers interleaved with short quotes ("> Which version?" / "2.4.1") stay text: only a long
    quoted line that stops mid-sentence wraps, and an answer starts with a capital more often
    than not.
    """
    for i in range(1, len(lines) - 1):
        if kinds[i] is not _Kind.TEXT or kinds[i - 1] is not _Kind.QUOTE:
            continue
        if kinds[i + 1] is not _Kind.QUOTE or not lines[i][:1].islower():
            continue
        above = lines[i - 1][:_MAX_MARKER_LINE].rstrip()
        marks = _QUOTE_MARKS.match(above)
        content = above[marks.end() if marks else 0 :]
        if len(content) >= _WRAP_LENGTH and not content.endswith(_SENTENCE_ENDS):
            kinds[i] = _Kind.QUOTE


_SENTENCE_ENDS = (".", "!", "?", ":", ";", "。", "！", "？")


# --- normalising a line for matching -----------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\[\]\n]{0,300})\]\([^()\s]{0,2000}\)")
# No "<" inside: a line of "<http://" would make each of them scan the rest of it.
_ANGLE_URL = re.compile(r"<(?:https?|ftp)://[^<>\s]{0,2000}>")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")
_SPACES = re.compile(r"\s+")


def _plain(line: str) -> str:
    """The line as a reader sees it: no Markdown links, escapes or emphasis, spaces collapsed."""
    # Each pattern runs only where the character it needs is in the line: it is called for every
    # line of a mail, and a search that finds nothing still costs a step per character.
    text = _MD_LINK.sub(_first_group, line) if "](" in line else line
    if "<" in text:
        text = _ANGLE_URL.sub("", text)
    if "\\" in text:
        text = _MD_ESCAPE.sub(_first_group, text)
    text = text.replace("*", "")
    if not text.isascii():
        text = _INVISIBLE.sub("", text.replace("\u2019", "'"))
    if "_" in text:
        text = _EMPHASIS_UNDERSCORE.sub("", text)
    # The same white space as the pattern \s (str.isspace), each run one space.
    return " ".join(text.split())


def _first_group(found: re.Match[str]) -> str:
    # A function, not the template r"\1": re expands a template in Python, per match.
    return found.group(1)


# --- quote attributions ("On <date>, <name> <addr> wrote:") -------------------------------------

# The look-behind lets a match start only where a local part starts: without it, a long run of
# word characters costs quadratic time.
_ADDRESS = re.compile(r"(?<![\w.+'=-])[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+")
_DATED = re.compile(
    r"(?:19|20)\d\d"  # a year
    r"|\d{1,2}[:.h]\d\d"  # a time
    r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"  # a numeric date
    r"|\d\s*[年月日년월일]"  # a CJK date
)
_LEAD = re.compile(markers.ATTRIBUTION_LEADS, re.IGNORECASE)
_VERB_AT_END = re.compile(
    rf"(?:(?<![^\W\d_])(?:{markers.ATTRIBUTION_VERBS})|(?P<cjk>{markers.ATTRIBUTION_VERBS_CJK}))"
    r"\s*$",
    re.IGNORECASE,
)
_VERB_MIDDLE = re.compile(
    rf"(?<![^\W\d_])(?:{markers.ATTRIBUTION_VERBS_BEFORE_NAME})(?![^\W\d_])", re.IGNORECASE
)
_VERB_BEFORE_UNCASED = re.compile(
    rf"(?:^|[\s،,])(?:{markers.ATTRIBUTION_VERBS_BEFORE_NAME_UNCASED})\s", re.IGNORECASE
)
_OBJECT_AT_END = re.compile(rf"\s+(?:{markers.ATTRIBUTION_OBJECTS})$", re.IGNORECASE)
_ADDRESS_AT_END = re.compile(r"(?<![\w.+'=-])[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+\s*[>)\]]?\s*$")
# Apple Mail in Polish: "Wiadomość napisana przez Anna <a@x> w dniu 15.01.2025, o godz. 17:03:"
_WRITTEN_BY = re.compile(r"wiadomość napisana przez\s", re.IGNORECASE)
# Mutt: "* Anna Andersson <anna@example.com> [2025-01-15 17:03]:"
_ADDRESS_THEN_DATE = re.compile(r"@[\w-]+(?:\.[\w-]+)+>?\s*\[[^\[\]]{4,60}\]$")
_SENTENCE_END = re.compile(r"[.!?。！？]$")


def _attribution(text: str) -> bool | None:
    """Whether ``text`` is a quote attribution: None if not, else whether it is a strong one.

    A strong attribution names an address, or is dated, opens like one and names its writer (a
    name with a capital, next to the verb); only a strong one may start unquoted history. A weak
    one ("Bob wrote:", "... the cron job wrote:", a name in a script without capitals) only
    counts when the quote it introduces is trailing history anyway.
    """
    zoho = _between_rules(text)
    if zoho is not None:
        text = zoho + ":"
    if not text.endswith((":", "：")):
        return None
    head = text[:-1].rstrip()
    dated = _DATED.search(text) is not None
    address = _ADDRESS.search(text)
    opens = _LEAD.match(text) is not None
    if ending := _VERB_AT_END.search(head):
        if address is not None:
            return True
        cjk = ending.group("cjk") is not None
        if not (dated and (opens or cjk)):
            return False
        # The writer's name stands right before the verb ("..., Anna Andersson wrote:"); Chinese,
        # Japanese and Korean clients may also open with it: "Anna Andersson 於 2025/1/15 寫道:".
        words = head[: ending.start()].split()
        return _names_writer(_name_run(reversed(words))[::-1]) or (
            cjk and _names_writer(_name_run(words))
        )
    verb = _VERB_MIDDLE.search(head)
    if verb and dated:
        if address and address.start() < verb.start():
            return True
        if opens and _names_someone(_OBJECT_AT_END.sub("", head[verb.end() :])):
            return True
        # Thunderbird's "author wrote on date": "Anna Andersson kirjoitti 15.1.2025 klo 17.03:".
        if _DATED.match(head[verb.end() :].lstrip()) and _names_someone(head[: verb.start()]):
            return True
    if dated and opens and _ADDRESS_AT_END.search(head):
        return True
    if dated and (_ADDRESS_THEN_DATE.search(head) or _WRITTEN_BY.match(head)):
        return True
    if (
        dated
        and opens
        and (uncased := _VERB_BEFORE_UNCASED.search(head))
        and len(head[uncased.end() :].split()) <= _MAX_NAME_WORDS
        and not _SENTENCE_END.search(head)
    ):
        # "على 15/01/2025 17:03، كتب سارة علي:": nothing tells a name from other words there.
        return False
    return None


def _between_rules(text: str) -> str | None:
    """The words of a line ruled on both sides, as Zoho writes its attribution ("---- On ...
    wrote ----"); None for any other line.

    String methods, not a pattern: "-{2,}\\s*(.*?)\\s*-{2,}$" tries every split of a long run of
    dashes against every other, which costs time cubic in the line.
    """
    inner = text.lstrip("-")
    if not inner:
        # Dashes only: two on each side, nothing between.
        return "" if len(text) >= 4 else None
    words = inner.rstrip("-")
    if len(text) - len(inner) < 2 or len(inner) - len(words) < 2:
        return None
    return words.strip()


_MAX_NAME_WORDS = 6


def _names_someone(text: str) -> bool:
    """Whether ``text`` reads like a name or an address rather than the rest of a sentence."""
    if _ADDRESS.search(text):
        return True
    words = text.split()
    if not 1 <= len(words) <= _MAX_NAME_WORDS:
        return False
    for number, word in enumerate(words):
        letters = [c for c in word if c.isalpha()]
        if letters and letters[0].islower() and (number == 0 or word not in _NAME_PARTICLES):
            return False
    return True


def _name_run(words: Iterable[str]) -> list[str]:
    """The words of ``words`` (in the order given) up to the first that cannot be part of a
    name: one with a digit, or one starting lower-case that is no name particle."""
    run: list[str] = []
    for word in words:
        letters = [c for c in word if c.isalpha()]
        if len(run) == _MAX_NAME_WORDS or any(c.isdigit() for c in word):
            break
        if letters and letters[0].islower() and word not in _NAME_PARTICLES | _ARTICLES:
            break
        run.append(word)
    return run


def _names_writer(words: list[str]) -> bool:
    """Whether ``words`` name an attribution's writer: a name, with a capital (in a script
    without capitals a name looks like any other words), that does not open with an article or
    particle ("the cron job", "der Kunde")."""
    text = " ".join(words)
    return _names_someone(text) and any(c.isupper() for c in text)


# Lower-case words inside a name: "Anna de Vries", "Jan van der Berg", "Maria dos Santos".
_NAME_PARTICLES = frozenset(
    {"de", "van", "der", "den", "von", "zu", "da", "di", "du", "del", "della", "dos", "das"}
    | {"ten", "ter", "te", "la", "le", "af", "y", "bin", "al"}
)
# Articles, which go on a run of name words but never open a name: "hat die Kundin geschrieben:".
_ARTICLES = frozenset({"the", "die", "das", "dem", "des", "el", "il", "lo", "los", "las", "les"})


# --- Outlook header blocks ---------------------------------------------------------------------


class _Field(Enum):
    FROM = "from"
    DATE = "date"
    TO = "to"
    CC = "cc"
    SUBJECT = "subject"
    REPLY_TO = "reply-to"


_FIELD_NAMES = {field: markers.HEADER_FIELDS[field.value] for field in _Field}
_FIELD_OF = {name: field for field, names in _FIELD_NAMES.items() for name in names.split("|")}
_FIELD_ALTERNATIVES = "|".join(sorted(map(re.escape, _FIELD_OF), key=len, reverse=True))
# One pattern for a field that starts the line and for the fields inside it, as each costs 0.7 ms
# to compile at import. A plain line never starts with a space, so a match at its start is a
# field at the start.
_FIELD = re.compile(rf"(?:^|\s)({_FIELD_ALTERNATIVES})\s?[:：]", re.IGNORECASE)
# How far into a line the colon of a field _FIELD matches at its start can be: the labels are
# literal (a case-insensitive match is as long as the label), with a white space before and
# after at most.
_COLON_WITHIN = 1 + max(map(len, _FIELD_OF)) + 1 + 1


def _field(plain: str) -> _Field | None:
    # A line without a colon where a field's can be is not looked at by the alternation of
    # every label (3 us a line).
    if plain.find(":", 0, _COLON_WITHIN) < 0 and plain.find("：", 0, _COLON_WITHIN) < 0:
        return None
    match = _FIELD.match(plain)
    return _FIELD_OF[match.group(1).lower()] if match else None


def header_field(text: str) -> str | None:
    """The header field ("from", "date", ...) whose label, in any language markers.py knows,
    opens ``text``; None if none does."""
    field = _field(text.lstrip())
    return field.value if field else None


def _label(plain: str) -> str:
    """The header label that starts ``plain``, lower-case ("" if none)."""
    match = _FIELD.match(plain)
    return match.group(1).lower() if match else ""


_SENT_LABELS = frozenset(_FIELD_NAMES[_Field.DATE].split("|")) - frozenset(
    markers.HEADER_PLAIN_DATES.split("|")
)


# --- delimiters, forwards, signatures, footers ---------------------------------------------------

_FORWARD = re.compile(rf"^(?:{markers.FORWARD_INTRODUCTIONS})\s*[:：]?$", re.IGNORECASE)
# The longest line, as a reader sees it (spaces collapsed), that _FORWARD can match: the longest
# introduction, a space and a colon (tests/test_trim.py holds the introductions to it).
_FORWARD_LONGEST = 40


@cache
def _ruled() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The original-message delimiter and the ruled forward marker ("----- X -----").

    Compiled on the first line that starts with "--", not at import: their alternations take
    0.7 ms to compile, and most mails have no such line.
    """
    return (
        # QQ Mail's English delimiter is the bare word, ruled long: "------ Original ------".
        re.compile(
            rf"^(?:-{{2,}}\s*(?:{markers.ORIGINAL_MESSAGE})\s*-{{2,}}"
            r"|-{10,}\s*original\s*-{10,})$",
            re.IGNORECASE,
        ),
        re.compile(rf"^-{{2,}}\s*(?:{markers.FORWARDED_MESSAGE})\s*-{{2,}}$", re.IGNORECASE),
    )


# RFC 3676 section 4.3 names "-- " as the signature separator; many clients drop the space.
_SIGNATURE = re.compile(r"^\\?-\\?-[ \t\u00a0]*$")
_RULE_MARKS = "-_=*~—–―─━"
_RULE = re.compile(rf"^\s*(?:\\?[{re.escape(_RULE_MARKS)}]\s*){{3,}}$")
# What a line _RULE matches starts with, unless with white space.
_RULE_OPENERS = "\\" + _RULE_MARKS
_LIST_FOOTER = re.compile(markers.LIST_FOOTERS, re.IGNORECASE)
_LIST_PLACE = re.compile(
    rf"(?:https?|ftp)://|mailto:|@[\w-]+\.|{markers.LIST_WORDS}", re.IGNORECASE
)
_BARE_URL = re.compile(r"(?:https?|ftp)://\S*")
_EXCUSE = r"(?:[,.!]\s*(?:please\s+)?(?:excuse|pardon|forgive|sorry)\b.{0,80})?"
_MOBILE_FOOTER = re.compile(
    "|".join(
        (rf"sent (?:from|via|with|using) [^,;:!?.]{{1,60}}{_EXCUSE}", *markers.MOBILE_FOOTERS)
    ),
    re.IGNORECASE,
)


_DEVICE = re.compile(
    rf"(?<!\w)(?:{markers.MOBILE_OWNERS})(?!\w)|{markers.MOBILE_DEVICES}", re.IGNORECASE
)

_CLAUSE_END = re.compile(r"[,;!?]|\.\s")


def _is_mobile_footer(line: str) -> bool:
    if len(line) > _MAX_MARKER_LINE:
        return False
    text = _BARE_URL.sub("", _plain(line)).strip("()<>[]{}«» ").rstrip(".")
    if _MOBILE_FOOTER.fullmatch(text) is None:
        return False
    # The device is named before any apology: "Sent via DHL. Sorry for my delay." is prose.
    clause = _CLAUSE_END.search(text)
    return _DEVICE.search(text[: clause.start()] if clause else text) is not None


# --- forwards ----------------------------------------------------------------------------------

# A forward's header lines: a few fields, each perhaps wrapped onto an indented line, perhaps a
# paragraph of its own (Outlook's HTML).
_MAX_HEAD_LINES = 16
_HEAD_GAP = 2
# Any header line a forward's head may copy ("Message-ID: <...>", "X-Mailer: ..."), the fields
# we read included: a name without spaces, a colon, a space or nothing.
_HEADER_SHAPED = re.compile(r"[^\W\d_][\w-]{0,39}\s?[:：](?:\s|$)")


def _unquote(line: str) -> str:
    """``line`` with one quote level ("> " or ">") removed; unchanged if it is not quoted."""
    stripped = line.lstrip(" \t\u00a0")
    if not stripped.startswith(">"):
        return line
    return stripped[2:] if stripped.startswith("> ") else stripped[1:]


def _forward_marker(plain: str) -> bool:
    """Whether a line, as a reader sees it, announces a forwarded mail."""
    if plain.startswith("--") and _ruled()[1].match(plain):
        return True
    # Most lines are too long to be an introduction: not looked at by the pattern.
    return len(plain) <= _FORWARD_LONGEST and _FORWARD.match(plain) is not None


def _head_plain(line: str) -> str:
    """A forward's header line as a reader sees it, quoted or not."""
    return _plain(_unquote(line)) if len(line) <= _MAX_MARKER_LINE else ""


# --- legal notices and ruled signature blocks ---------------------------------------------------

_NOTICE_HEADING = re.compile(rf"(?:{disclaimers.HEADINGS})\s*[:.]?", re.IGNORECASE)
_NOTICE = re.compile(
    rf"(?:(?:{disclaimers.HEADINGS})\s*[:.\-–]?\s*)?(?:{disclaimers.OPENERS})", re.IGNORECASE
)
_NOTICE_PHRASE = re.compile(disclaimers.PHRASES, re.IGNORECASE)
# A notice paragraph is read this far: legal phrases come early, and a megabyte of text costs
# no more than this.
_NOTICE_CHARS = 2000
_MAX_NOTICE_LINES = 40
# A corporate signature between rules: a few short lines under a rule this long.
_LONG_RULE = 10
_MAX_RULED_BLOCK = 16
_SHORT_LINE = 80


# --- the split ---------------------------------------------------------------------------------


class _Mail:
    def __init__(self, lines: list[str], *, forward: bool = False) -> None:
        self.lines = lines
        # Whether the subject says the mail forwards another: an Outlook header block then
        # introduces the forwarded mail, not history.
        self.forward = forward
        self.kinds = [_kind(line) for line in lines]
        if _Kind.QUOTE in self.kinds:
            _join_wrapped_quotes(lines, self.kinds)
        self.plains = [
            _plain(line) if kind is _Kind.TEXT and len(line) <= _MAX_MARKER_LINE else ""
            for line, kind in zip(lines, self.kinds, strict=True)
        ]
        # For each line inside a quote attribution: where the attribution starts.
        self.attribution_start: list[int | None] = [None] * len(lines)
        self.strong: dict[int, bool] = {}
        self._find_attributions()
        # How many text lines come before each line: a mail's only line is never a footer.
        self.text_before = list(
            accumulate(map(operator.is_, self.kinds, repeat(_Kind.TEXT)), initial=0)
        )
        self.blocks: list[Block] = []
        # The author's pieces (text and forwards as written), for Reply.body.
        self.body: list[str] = []

    def split(self) -> None:
        """Fill ``blocks`` and ``body``: stretches of the author's text (with the quotes they
        answer) end at a forward, which runs to the end of the mail or of its quote, or at the
        history that ends the mail.

        A signature above a forward (Gmail puts it there) does not end the mail: the forward
        after it is still the author's.
        """
        end = len(self.lines)
        position = 0
        while position < end:
            stop, why = self._history_start(position)
            if why is _Stop.SIGNATURE:
                forward, later = self._history_start(stop + 1, signatures=False)
                if later is _Stop.FORWARD:
                    self._stretch(position, stop, forward)
                    position = self._forward(forward)
                    continue
            if why is _Stop.FORWARD:
                self._stretch(position, stop, stop)
                position = self._forward(stop)
                continue
            self._stretch(position, stop, end)
            return

    def _add(self, kind: BlockKind, start: int, end: int) -> None:
        text = _tidy(self.lines[start:end])
        if text:
            self.blocks.append(Block(kind, text))
            if kind is BlockKind.TEXT:
                self.body.append(text)

    def _stretch(self, start: int, stop: int, end: int) -> None:
        """The author's text from ``start``, with the quotes it answers, up to the history
        that starts at ``stop`` and runs to ``end``."""
        cut = self._back_over_history(start, stop, end)
        text_start = i = start
        while i < cut:
            quote_end = self._quote_at(i, cut)
            if quote_end is None:
                i += 1
                continue
            self._add(BlockKind.TEXT, text_start, i)
            self._add(BlockKind.QUOTE, i, quote_end)
            text_start = i = quote_end
        self._add(BlockKind.TEXT, text_start, cut)
        self._add(BlockKind.HISTORY, cut, end)

    def _quote_at(self, start: int, end: int) -> int | None:
        """Where a quote starting at ``start`` (its attribution, or its first quoted line) ends;
        None if none starts there. Blank lines inside a quote belong to it."""
        i = start
        if self.attribution_start[i] == i and self.kinds[i] is _Kind.TEXT:
            while i < end and self.attribution_start[i] == start:
                i += 1
            while i < end and self.kinds[i] is _Kind.BLANK:
                i += 1
        if i >= end or self.kinds[i] is not _Kind.QUOTE:
            return None
        while True:
            while i < end and self.kinds[i] is _Kind.QUOTE:
                i += 1
            after = i
            while after < end and self.kinds[after] is _Kind.BLANK:
                after += 1
            if after == end or self.kinds[after] is not _Kind.QUOTE:
                return i
            i = after

    def _forward(self, start: int) -> int:
        """Add the forward whose marker (or first header line) is at ``start``; where it ends.

        A quoted marker makes the whole quote the forward; a plain one runs to the end of the
        mail, its header and text quoted or not.
        """
        end = len(self.lines)
        quoted = self.kinds[start] is _Kind.QUOTE
        if quoted:
            end = start
            while end < len(self.lines) and self.kinds[end] is not _Kind.TEXT:
                end += 1
            while self.kinds[end - 1] is _Kind.BLANK:
                end -= 1
        view = [_unquote(line) for line in self.lines[start:end]] if quoted else None
        lines = view if view is not None else self.lines[start:end]
        fields: dict[_Field, str] = {}
        head = self._forward_head(lines, fields)
        content = lines[head:]
        rest = self.kinds[start + head : end]
        if view is None and _Kind.QUOTE in rest and _Kind.TEXT not in rest:
            # Quoted as a whole (Apple Mail; an HTML forward made Markdown): one level off.
            content = [_unquote(line) for line in content]
        self.blocks.append(
            Block(
                BlockKind.FORWARD,
                _tidy(content),
                head=_tidy(self.lines[start : start + head]),
                sender=fields.get(_Field.FROM, ""),
                date=fields.get(_Field.DATE, ""),
                subject=fields.get(_Field.SUBJECT, ""),
            )
        )
        self.body.append(_tidy(self.lines[start:end]))
        return end

    def _forward_head(self, lines: list[str], fields: dict[_Field, str]) -> int:
        """How many of a forward's first ``lines`` are its marker and header lines, noting the
        fields they name."""
        i = marker = 0 if _field(_head_plain(lines[0])) is not None else 1
        head = i
        previous: _Field | None = None
        wrapped_other = False
        gap = 0
        while i < min(len(lines), _MAX_HEAD_LINES):
            line = lines[i]
            plain = _head_plain(line)
            if not plain:
                gap += 1
                if gap > _HEAD_GAP:
                    break
                i += 1
                continue
            field = _field(plain)
            if field is None and gap == 0 and _HEADER_SHAPED.match(plain):
                # Another header a client copied (Message-ID, Reply-To, X-Mailer): part of the
                # head, naming nothing we show; what wraps below it is its own.
                previous = None
                wrapped_other = True
            elif field is None and gap == 0 and (previous is not None or wrapped_other):
                if not self._continues(lines, i, fields.get(previous, "") if previous else ""):
                    break
                if previous is not None:
                    value = fields[previous]
                    joint = "" if value.endswith(("<", "@")) else " "
                    fields[previous] = f"{value}{joint}{plain}".strip()
            elif field is None:
                break
            else:
                found = _FIELD.match(plain)
                value = plain[found.end() :].strip() if found else ""
                fields.setdefault(field, value)
                previous = field
                wrapped_other = False
            i += 1
            head = i
            gap = 0
        # Header-shaped lines without a field we know ("Note: see below") are the mail's text.
        return head if fields else marker

    @staticmethod
    def _continues(lines: list[str], i: int, value: str) -> bool:
        """Whether the line at ``i``, right below a header line whose value so far is ``value``,
        wraps that value: indented, or (a mailer's unfolded wrap) after an unclosed "<", or
        followed by another header line or the blank line that ends the head."""
        if lines[i][:1] in " \t" or value.count("<") > value.count(">"):
            return True
        if i + 1 == len(lines):
            return True
        following = _head_plain(lines[i + 1])
        return not following or bool(_field(following) or _HEADER_SHAPED.match(following))

    def _find_attributions(self) -> None:
        floor = 0
        for end, plain in enumerate(self.plains):
            if not plain.endswith((":", "：", "-")):
                continue
            span = self._attribution_ending_at(end, floor)
            if span is None:
                continue
            start, strong = span
            for i in range(start, end + 1):
                self.attribution_start[i] = start
            self.strong[start] = strong
            floor = end + 1

    def _attribution_ending_at(self, end: int, floor: int) -> tuple[int, bool] | None:
        def reading(start: int) -> bool | None:
            if start < max(floor, end - 2) or any(
                not self.plains[i] for i in range(start, end + 1)
            ):
                return None
            return _attribution(" ".join(self.plains[start : end + 1]))

        def opens(i: int) -> bool:
            return i >= 0 and _LEAD.match(self.plains[i]) is not None

        # An attribution opens like one ("On ...", "Am ...", a date); wrapped, the rest ("<addr>",
        # "wrote:") continues it on up to two more lines. The shortest such reading wins, so that
        # text just above the attribution stays out of it...
        for shortest in (end, end - 1, end - 2):
            if opens(shortest) and (strong := reading(shortest)) is not None:
                # ...unless the line above opens one too without ending a sentence: "On Monday,
                # January 15," above "Le Van Anh <le@example.com> wrote:" is one attribution.
                start = shortest
                while (
                    opens(start - 1)
                    and not _SENTENCE_END.search(self.plains[start - 1])
                    and (wider := reading(start - 1)) is not None
                ):
                    start, strong = start - 1, wider
                return start, strong
        # One that does not open like one ("Anna <a@x> 于2025年1月15日 17:03写道：") is a single
        # line, or a paragraph of its own: wrapped, when its last line alone names no one
        # ("17:03写道：" below "Anna <a@x> 于2025年1月15日周三").
        line = reading(end)
        if not line:
            for start in range(end - 1, max(end - 3, -1), -1):
                paragraph = start == 0 or self.kinds[start - 1] is not _Kind.TEXT
                if paragraph and (wide := reading(start)) is not None and (line is None or wide):
                    return start, wide
        return None if line is None else (end, line)

    def _history_start(self, start: int, *, signatures: bool = True) -> tuple[int, _Stop | None]:
        """The first line from ``start`` after which everything is history or signature, and
        why; a forward stops the search too (``_Stop.FORWARD``: where its marker or header
        block starts). Without ``signatures``, signature delimiters are passed over."""
        previous = _Kind.BLANK
        written = False
        for i in range(start, len(self.lines)):
            kind = self.kinds[i]
            if kind is _Kind.QUOTE and previous is not _Kind.QUOTE and self._quoted_forward(i):
                return i, _Stop.FORWARD
            if kind is not _Kind.BLANK:
                previous = kind
            if kind is not _Kind.TEXT:
                continue
            line, plain = self.lines[i], self.plains[i]
            if signatures and _SIGNATURE.match(line):
                return i, _Stop.SIGNATURE
            # Top posting: only below the author's text. An attribution that opens the mail is
            # followed by the author's answers, written without quoting.
            if (
                written
                and self.attribution_start[i] == i
                and self.strong[i]
                and self._unquoted_after(i)
            ):
                return i, _Stop.ATTRIBUTION
            if plain.startswith("--") and _ruled()[0].match(plain):
                return (i, _Stop.FORWARD) if self.forward else (i, _Stop.DELIMITER)
            if _forward_marker(plain):
                return i, _Stop.FORWARD
            # The rule and the header block only where the line's first character or a colon
            # allows them: this runs for every line.
            if (
                (line[:1] in _RULE_OPENERS or line[:1].isspace())
                and _RULE.match(line)
                and self._list_footer_after(i)
            ):
                return i, _Stop.LIST_FOOTER
            if (":" in plain or "：" in plain) and self._header_block_at(i):
                return (
                    (self._rule_above(i, start), _Stop.FORWARD)
                    if self.forward
                    else (
                        i,
                        _Stop.BLOCK,
                    )
                )
            written = written or self.attribution_start[i] is None
        return len(self.lines), None

    def _quoted_forward(self, start: int) -> bool:
        """Whether the quote starting at ``start`` is a forward: its first line is a forward
        marker, and no attribution introduces it (which makes it a quoted forward, history)."""
        above = start - 1
        while above >= 0 and self.kinds[above] is _Kind.BLANK:
            above -= 1
        if above >= 0 and self.attribution_start[above] is not None:
            return False
        return _forward_marker(_head_plain(self.lines[start]))

    def _rule_above(self, block: int, start: int) -> int:
        """Where an Outlook header block at ``block`` starts: at the rule above it, if any."""
        above = block - 1
        while above >= start and self.kinds[above] is _Kind.BLANK:
            above -= 1
        return above if above >= start and _RULE.match(self.lines[above]) else block

    def _unquoted_after(self, start: int) -> bool:
        """Whether the attribution at ``start`` is followed by unquoted text (top posting)."""
        i = start
        while i < len(self.lines) and self.attribution_start[i] == start:
            i += 1
        while i < len(self.lines) and self.kinds[i] is _Kind.BLANK:
            i += 1
        return i < len(self.lines) and self.kinds[i] is _Kind.TEXT

    def _list_footer_after(self, rule: int) -> bool:
        """Whether a mailing list's footer follows the rule at ``rule``: a list word and, within
        the same two lines, a link, an address or the word "list" ("Wer sich abmelden möchte,
        bitte bis Donnerstag Bescheid geben." below "----" is the author's)."""
        following = [self.plains[i] for i in range(rule + 1, min(rule + 3, len(self.lines)))]
        return any(_LIST_FOOTER.search(plain) for plain in following) and any(
            _LIST_PLACE.search(line)
            for line in self.lines[rule + 1 : rule + 3]
            if len(line) <= _MAX_MARKER_LINE
        )

    def _header_block_at(self, start: int) -> bool:
        """Whether an Outlook-style header block (From:, Sent:, To:, Subject:... in any order,
        as localised clients and Hotmail write them) starts here.

        A lone "From:" or "To:" line is prose; it takes a From line, reached through header
        fields only, followed within a few lines by a date or subject, or by two more fields,
        or by To: when the From names an address. A block without any address takes a From
        that names someone and a Subject or "Sent:" (Windows Mail writes no Subject): "From:
        Berlin Hbf / To: München Hbf / Date: ..." and "Da: lunedì 20 gennaio / A: ... /
        Oggetto: ferie" are forms in the author's text.
        """
        first = _field(self.plains[start])
        if first is None or (start > 0 and _field(self.plains[start - 1]) is not None):
            return False
        inline = {_FIELD_OF[m.group(1).lower()] for m in _FIELD.finditer(self.plains[start])}
        if _Field.FROM in inline and len(inline) >= 3:
            return _Field.SUBJECT in inline or _ADDRESS.search(self.plains[start]) is not None
        fields = {first}
        address = _ADDRESS.search(self.plains[start]) is not None
        sent = _label(self.plains[start]) in _SENT_LABELS
        sender = start if first is _Field.FROM else None
        seen = 0
        for i in range(start + 1, min(start + 12, len(self.lines))):
            if self.kinds[i] is _Kind.BLANK:
                continue
            if self.kinds[i] is _Kind.QUOTE or seen == 5:
                break
            seen += 1
            field = _field(self.plains[i])
            if field is None and sender is None:
                # Prose before any From line: no block.
                return False
            if field is not None:
                fields.add(field)
                address = address or _ADDRESS.search(self.plains[i]) is not None
                sent = sent or (field is _Field.DATE and _label(self.plains[i]) in _SENT_LABELS)
            if field is _Field.FROM and sender is None:
                sender = i
        if sender is None:
            return False
        if not address:
            found = _FIELD.match(self.plains[sender])
            name = self.plains[sender][found.end() :].strip() if found else ""
            return (
                (sent or _Field.SUBJECT in fields)
                and _names_someone(name)
                and _SENTENCE_END.search(name) is None
            )
        return (
            _Field.DATE in fields
            or _Field.SUBJECT in fields
            or len(fields) >= 3
            or (_Field.TO in fields and _ADDRESS.search(self.plains[sender]) is not None)
        )

    def _back_over_history(self, start: int, stop: int, end: int) -> int:
        """Move the cut from ``stop`` back to ``start`` at most, over whatever only introduces
        the history from ``stop`` to ``end``."""
        cut = stop
        removed = any(kind is not _Kind.BLANK for kind in self.kinds[stop:end])
        while cut > start:
            i = cut - 1
            kind = self.kinds[i]
            if kind is _Kind.BLANK:
                cut = i
            elif kind is _Kind.QUOTE:
                cut, removed = i, True
            elif (first := self.attribution_start[i]) is not None and (
                removed or self.strong[first]
            ):
                cut, removed = max(first, start), True
            elif removed and _RULE.match(self.lines[i]):
                cut = i
            elif self.text_before[i] and _is_mobile_footer(self.lines[i]):
                # Only below other text: a mail's one line ("Sent from my own server.") is what
                # it says.
                cut, removed = i, True
            elif (notice := self._notices_above(start, cut)) is not None:
                cut, removed = notice, True
            else:
                break
        return cut

    def _notices_above(self, start: int, cut: int) -> int | None:
        """Where the legal notices and ruled signature blocks that end the text from ``start``
        to ``cut`` start; None if it does not end with one.

        Paragraphs are read from the last: a legal notice (its opening words or a legal phrase,
        disclaimers.py), a heading above one ("Disclaimer"), or a short block between two long
        rules (a corporate signature: name, role, phones) go, up to the first that is none of
        these. Each paragraph is read to a bounded length, and the scan stops at the first
        paragraph kept, so the whole costs one pass over the lines it removes.
        """
        found: int | None = None
        notice = ruled = False
        i = cut
        while True:
            while i > start and (self.kinds[i - 1] is _Kind.BLANK or self._long_rule(i - 1)):
                ruled = ruled or self.kinds[i - 1] is _Kind.TEXT
                i -= 1
            if i == start or self.kinds[i - 1] is not _Kind.TEXT:
                return found
            top = i - 1
            while (
                top > start
                and i - top < _MAX_NOTICE_LINES
                and self.kinds[top - 1] is _Kind.TEXT
                and not _RULE.match(self.lines[top - 1])
            ):
                top -= 1
            words = _plain(" ".join(line[:_NOTICE_CHARS] for line in self.lines[top:i]))
            if _NOTICE.match(words) or _NOTICE_PHRASE.search(words[:_NOTICE_CHARS]):
                notice = True
            elif not (notice and _NOTICE_HEADING.fullmatch(words)):
                block = self._ruled_block(start, i, short=not notice) if ruled else None
                if block is None:
                    return found
                top = block
            i = found = top
            # A block's top rule is the rule below the paragraph above it.
            ruled = self._long_rule(top)

    def _long_rule(self, i: int) -> bool:
        line = self.lines[i]
        return (
            self.kinds[i] is _Kind.TEXT
            and len(line.strip()) >= _LONG_RULE
            and bool(_RULE.match(line))
        )

    def _ruled_block(self, start: int, end: int, *, short: bool) -> int | None:
        """Where a signature block ending at ``end`` (below it, a long rule) starts: at the long
        rule above its few lines; None without one. ``short``: its lines must be short too, as
        a name, role and phone numbers are (no legal notice below vouches for it)."""
        i = end
        while i > start and end - i < _MAX_RULED_BLOCK:
            i -= 1
            if self._long_rule(i):
                return i
            if self.kinds[i] is _Kind.QUOTE or (short and len(self.lines[i]) > _SHORT_LINE):
                return None
        return None
