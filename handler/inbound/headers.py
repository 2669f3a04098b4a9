"""A mail's top-level header fields as written, and the addresses and Message-ID they hold.

Pure: no I/O. The fields are read from the bytes, not from the stdlib's parse, which replaces
what it cannot decode: SES's own block is judged on the raw text. Address fields are
length-capped and depth-checked before the stdlib parses them (docs/inbound.md#limits)."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import decode_params, getaddresses
from urllib.parse import unquote_to_bytes

from handler.inbound.charsets import decode_bytes, decode_header_value, without_controls
from handler.routing.domains import normalize_domain

_HEADER_LINE = re.compile(rb"[!-9;-~]+:")
# What the stdlib's feedparser keeps in a header block (its headerRE): a field, a continuation,
# an mbox "From " line.
_PARSED_FIELD = re.compile(rb"From |[!-9;-~]*:|[ \t]")
_FIELD_NAME = re.compile(rb"([A-Za-z][A-Za-z0-9-]{0,76}):")
# Fields whose presence after a stray line shows the header block goes on past it: those every
# mailer writes, and the families of the rest.
_KNOWN_FIELDS = frozenset(
    [
        "accept-language",
        "autocrypt",
        "auto-submitted",
        "bcc",
        "cc",
        "comments",
        "date",
        "delivered-to",
        "disposition-notification-to",
        "errors-to",
        "feedback-id",
        "from",
        "importance",
        "in-reply-to",
        "keywords",
        "message-id",
        "mime-version",
        "organization",
        "precedence",
        "priority",
        "received",
        "references",
        "reply-to",
        "return-path",
        "sender",
        "subject",
        "thread-index",
        "thread-topic",
        "to",
        "user-agent",
    ]
)
# The fields a broken line is joined to in raw_headers: what authentication never reads.
_BROKEN_FIELDS = frozenset(
    {"subject", "to", "cc", "bcc", "references", "in-reply-to", "thread-topic", "keywords"}
)
_KNOWN_PREFIXES = (b"arc-", b"content-", b"dkim-", b"list-", b"resent-", b"x-")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_MESSAGE_ID = re.compile(r"<([^<>]*)>")
# What splits a parameter list: an escaped quote, a quote, a semicolon.
_PARAMETER_TOKEN = re.compile(r'\\"|"|;')
# What follows a parameter's name in RFC 2231: "*" alone (encoded), or a section number and an
# optional "*" (encoded).
_SECTION = re.compile(r"\*(?:([0-9]{1,4})(\*?))?")
# getaddresses() gained a strict mode, on by default, in 3.11.10 and 3.12.6 (CVE-2023-27043):
# it drops a whole header when one entry is odd ("a@example.com, " loses a@example.com).
# The lenient parse is what every release does without it; odd entries are handled below.
_LENIENT: dict[str, bool] = (
    {"strict": False} if "strict" in inspect.signature(getaddresses).parameters else {}
)
# The longest address field parsed, in characters: hundreds of recipients. A longer one is cut
# at its last comma within the cap; what was cut stands as one unreadable entry.
MAX_ADDRESS_FIELD = 16 * 1024
# The deepest nesting of comments parsed. The stdlib parses a comment within a comment by
# recursion, so a few hundred "(" exhaust the stack; real mail nests one or two.
MAX_COMMENT_DEPTH = 32


@dataclass(frozen=True)
class Address:
    """One mailbox. ``domain`` is lowercased ASCII (IDN domains in their xn-- form)."""

    name: str
    local: str
    domain: str

    @property
    def addr(self) -> str:
        return f"{self.local}@{self.domain}" if self.domain else self.local


# An entry that could not be read (past the cap, nested too deep). It has no address: a From
# field holding one never reads as one mailbox, and no recipient is found in it.
UNREADABLE = Address("(unreadable)", "", "")


def from_first_field(raw: bytes) -> bytes:
    """``raw`` without the blank lines some tools save before a mail's header, which would make
    the parser read the whole mail as body; unchanged when no header field follows them."""
    stripped = raw.lstrip(b"\r\n")
    if stripped is not raw and _HEADER_LINE.match(stripped):
        return stripped
    return raw


def repair_folds(raw: bytes) -> bytes:
    """``raw`` with the header lines a mailer broke without folding them (a long Subject or To
    cut, its rest at the start of the next line) made continuations of the field above, so that
    the parser does not take them for the body's first line; unchanged when there are none.

    The stdlib ends the header block at the first line that is neither a field nor a
    continuation. Such lines are joined only when the block they are in still has a field after
    them (one named like a real header, not "Error:"), or each closes an address the line above
    left open, and a blank line ends it. Text right after the header, with no blank line or no
    field after it, is a body whose separating line is missing, and stays one.
    """
    end = _HEADER_END.search(raw)
    if end is None:
        return raw
    lines = raw[: end.start()].split(b"\n")
    stray = _stray_lines(lines, into=None)
    if not stray:
        return raw
    for number in stray:
        lines[number] = b" " + lines[number]
    return b"\n".join(lines) + raw[end.start() :]


def _stray_lines(lines: list[bytes], *, into: frozenset[str] | None) -> set[int]:
    """The numbers of the header block's lines (``lines``, up to the blank line) that a mailer
    broke off the field above, as ``repair_folds`` says; none when the block must be read as
    written. ``into``: the only fields such lines may belong to, with no From or Sender after
    the first of them (see ``raw_headers``)."""
    stray = [number for number, line in enumerate(lines) if not _PARSED_FIELD.match(line)]
    if not stray or stray[0] == 0:
        return set()
    if not any(_is_header_field(line) for line in lines[stray[-1] + 1 :]) and not all(
        _closes_address(lines[number - 1], lines[number]) for number in stray
    ):
        return set()
    if into is not None:
        name = ""
        for number, line in enumerate(lines):
            found = _HEADER_LINE.match(line)
            if found:
                name = line[: found.end() - 1].decode("ascii").lower()
                if number > stray[0] and name in {"from", "sender"}:
                    return set()
            elif number in stray and name not in into:
                return set()
    return set(stray)


def _closes_address(above: bytes, line: bytes) -> bool:
    """Whether ``line`` ends an address that the line above left open ("B <" and then
    "b@example.com>"): the rest of a wrapped recipient, even as the block's last line."""
    return above.count(b"<") > above.count(b">") and b">" in line and b":" not in line


def _is_header_field(line: bytes) -> bool:
    found = _FIELD_NAME.match(line)
    if found is None:
        return False
    name = found.group(1).lower()
    return name.decode("ascii") in _KNOWN_FIELDS or name.startswith(_KNOWN_PREFIXES)


def body_bytes(raw: bytes) -> bytes:
    """What follows the header block (the first empty line), as stored; empty without one."""
    end = _HEADER_END.search(raw)
    return raw[end.end() :] if end else b""


def raw_headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The top-level header fields as written: unfolded, 8-bit values read as UTF-8 (RFC 6532).

    A line a mailer broke off a Subject, To, Cc, Bcc, References or In-Reply-To field without
    folding it is joined to that field (``repair_folds``), so that the fields after it are
    read; never to another field,
    and not when a From or Sender comes after it, which SES may not have read as a field: the
    sender authentication vouches for is the one SES saw.
    """
    end = _HEADER_END.search(raw)
    lines = _LINE_END.split(raw[: end.start()] if end else raw)
    broken = _stray_lines(lines, into=_BROKEN_FIELDS) if end else set()
    # Each field's name and the pieces of its value, joined once at the end: adding each folded
    # line to the value so far would copy it again for every line.
    fields: list[tuple[str, list[str]]] = []
    for number, line in enumerate(lines):
        if not line.strip(b"\r"):
            break
        if (line[:1] in {b" ", b"\t"} or number in broken) and fields:
            fields[-1][1].append(" " * (number in broken) + _header_text(line.rstrip(b"\r")))
            continue
        if line.startswith(b"From ") and not fields:
            continue  # an mbox separator line
        found = _HEADER_LINE.match(line)
        if not found:
            break
        name = line[: found.end() - 1].decode("ascii")
        fields.append((name, [_header_text(line[found.end() :].rstrip(b"\r")).lstrip(" \t")]))
    return tuple((name, "".join(pieces).rstrip()) for name, pieces in fields)


def addresses(values: list[str], defects: list[str]) -> tuple[Address, ...]:
    """Parse address headers on their raw text, then decode display names.

    Decoding RFC 2047 first would let an encoded display name smuggle in a comma or an
    ``<addr>`` of its own. An entry with a name but no address ("Bob <") is kept with an empty
    address, so that a From header that says more than one mailbox never reads as one; so is
    whatever of a field is past ``MAX_ADDRESS_FIELD`` or nested past ``MAX_COMMENT_DEPTH``,
    as ``UNREADABLE``.
    """
    found: list[Address] = []
    for value in values:
        found += _field_addresses(value, defects)
    return tuple(found)


def _field_addresses(value: str, defects: list[str]) -> list[Address]:
    rest: list[Address] = []
    if len(value) > MAX_ADDRESS_FIELD:
        defects.append("address-field-too-long")
        value = value[: max(value.rfind(",", 0, MAX_ADDRESS_FIELD), 0)]
        rest = [UNREADABLE]
    if value.count("(") > MAX_COMMENT_DEPTH and _comment_depth(value) > MAX_COMMENT_DEPTH:
        defects.append("malformed-address")
        return [UNREADABLE]
    try:
        pairs = getaddresses([value], **_LENIENT)
    # The depth check keeps the parser's recursion shallow; should any other shape still
    # exhaust the stack, the field is unreadable, not the mail.
    except RecursionError:
        defects.append("malformed-address")
        return [UNREADABLE]
    found = []
    for name, addr in pairs:
        display = decode_header_value(name)
        local, at, domain = addr.rpartition("@")
        if not addr:
            if display:
                defects.append("malformed-address")
                found.append(Address(display, "", ""))
        elif not at:
            # A bare local part ("root"): kept, so that the From check can say what is wrong.
            found.append(Address(display, addr, ""))
        else:
            found.append(Address(display, local, normalize_domain(domain) or domain.lower()))
    return found + rest


def _comment_depth(value: str) -> int:
    """How deep comments nest in an address field, as the stdlib's parser reads it: parentheses
    inside a quoted string and escaped ones nest nothing."""
    depth = deepest = 0
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"' and not depth:
            quoted = True
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")" and depth:
            depth -= 1
    return deepest


def message_id(value: str) -> str | None:
    """The id a Message-ID field holds, without its angle brackets and any whitespace."""
    found = _MESSAGE_ID.search(value)
    text = "".join((found.group(1) if found else value).split())
    return text or None


def _header_text(data: bytes) -> str:
    return decode_bytes(data, None)[0]


class MimePart(Message):
    """A part of the stdlib's parse (compat32) whose parameter lists ("; charset=...") are split
    in one pass.

    The stdlib's own split counts the quotes before each ";" from the start of the parameter, so
    a Content-Type of many ";" after an open quote costs time quadratic in its length (80,000 of
    them: 10 s) before anything is authenticated. The split is the stdlib's, quote for quote.
    """

    def _get_params_preserve(self, failobj: object, header: str) -> object:
        missing = object()
        value = self.get(header, missing)
        if value is missing:
            return failobj
        params = []
        for parameter in parameters(str(value)):
            name, equals, text = parameter.partition("=")
            params.append((name.strip(), text.strip()) if equals else (parameter.strip(), ""))
        return decode_params(params)


def parameters(value: str) -> list[str]:
    """``value`` split at each ";" outside quotes, each piece stripped and its name lowercased:
    what email.message._parseparam makes of it, in time linear in its length."""
    pieces: list[str] = []
    start = 0
    quoted = False
    for token in _PARAMETER_TOKEN.finditer(value):
        if token.group() == '"':
            quoted = not quoted
        elif token.group() == ";" and not (quoted and token.start() > start):
            pieces.append(_parameter(value[start : token.start()]))
            start, quoted = token.end(), False
    pieces.append(_parameter(value[start:]))
    return pieces


def parameter(value: str, name: str) -> str | None:
    """The parameter ``name`` (lowercase) of a header field's raw value, as text; None when the
    field has none.

    ``value`` is as the stdlib's compat32 parse keeps it: 8-bit bytes as surrogates, which its
    own ``get_param`` turns into U+FFFD. RFC 2231's form (``name*=charset'lang'%XX``, and
    ``name*0*``, ``name*1``... continuations) wins over the plain one, as RFC 2231 says; the
    bytes of either are read UTF-8 first, then in the charset named (decode_bytes); a plain
    value's RFC 2047 words are decoded, as mailers write them in file names.
    """
    plain: str | None = None
    sections: dict[int, tuple[bool, str]] = {}
    unfolded = value.replace("\r", "").replace("\n", "")
    for piece in parameters(unfolded)[1:]:
        key, equals, text = piece.partition("=")
        if not equals:
            continue
        if key == name:
            plain = _unquoted(text) if plain is None else plain
            continue
        section = _SECTION.fullmatch(key[len(name) :]) if key.startswith(name) else None
        if section is not None:
            number = int(section.group(1) or 0)
            sections.setdefault(number, (bool(section.group(2)) or not section.group(1), text))
    if sections:
        return _rfc2231(sections)
    return None if plain is None else decode_header_value(plain)


def _rfc2231(sections: dict[int, tuple[bool, str]]) -> str:
    """RFC 2231 sections in order as text: an encoded one's %XX escapes are bytes, and the first
    one's charset (before its ``'language'``) names theirs."""
    chunks = []
    charset = None
    first = min(sections)
    for number in sorted(sections):
        encoded, text = sections[number]
        text = _unquoted(text)
        if encoded and number == first and text.count("'") >= 2:
            charset, _, rest = text.split("'", 2)
            text = rest
        data = text.encode("utf-8", "surrogateescape")
        chunks.append(unquote_to_bytes(data) if encoded else data)
    return " ".join(without_controls(decode_bytes(b"".join(chunks), charset)[0]).split())


def _unquoted(text: str) -> str:
    """A parameter value without its quotes, as email.utils.unquote reads one."""
    text = text.strip()
    if len(text) > 1 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace("\\\\", "\\").replace('\\"', '"')
    return text


def _parameter(piece: str) -> str:
    name, equals, text = piece.partition("=")
    return f"{name.strip().lower()}={text.strip()}" if equals else piece.strip()
