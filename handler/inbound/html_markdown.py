# Mail markers hold full-width colons.
# ruff: noqa: RUF001
"""HTML-only mail -> Markdown a maintainer can read, with markdownify (on BeautifulSoup).

The big clients' reply, forward and signature markup is first rewritten into what their
plain-text mails say, so that trimming reads both alike. The rules, and why:
docs/inbound.md#html_markdown.
"""

from __future__ import annotations

import re
import secrets
import warnings
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from handler.inbound import markers
from handler.inbound.attachments import InlineImages
from handler.inbound.trim import header_field

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, ResultSet, Tag
    from bs4.element import NavigableString, PageElement
    from markdownify import MarkdownConverter

_DROPPED = frozenset(
    {
        "script",
        "style",
        "head",
        "title",
        "meta",
        "link",
        "noscript",
        "template",
        "iframe",
        "frame",
        "object",
        "embed",
        "svg",
        "math",
        "canvas",
        "audio",
        "video",
        "button",
        "select",
        "input",
        "textarea",
    }
)
_CELLS = frozenset({"td", "th"})
_SAFE_SCHEMES = {"http", "https", "mailto"}
_PIPE = re.compile(r"(?<!\\)\|")
# What the stdlib's HTML parser before Python 3.11.13 (CVE-2025-6069) scans for to the end of the
# document once per occurrence when nothing closes it: comments, marked sections ("<![if ...]>",
# CDATA). They are dropped before it parses, as its parse would drop them.
_DECLARATION_OPEN = re.compile(r"<!(?:--|\[)")
_COMMENT_CLOSE = re.compile(r"--\s*>")
_WHITESPACE_RUN = re.compile(r"[\t \r\n]+")
# Past this depth markdownify's recursion would exhaust the stack; such HTML is hostile anyway.
_MAX_DEPTH = 150


class _Mark(Enum):
    """What a tag is in a mail client's reply, forward or signature markup."""

    # Gmail's div.gmail_quote: its div.gmail_attr (attribution, or forward marker and headers),
    # then the quoted or forwarded mail.
    GMAIL = "gmail quote"
    # blockquote[type=cite] (Apple Mail, Thunderbird, Spark): Apple's holds its attribution, or
    # "Begin forwarded message:" and the header fields, on its first lines.
    CITE = "cite"
    # A container whose first lines are the attribution or the forward's headers, then the
    # quoted mail (Yahoo's div.yahoo_quoted, Spark's messageReplySection).
    LEADING = "leading head"
    # Thunderbird's div.moz-forward-container: marker, table.moz-email-headers-table, mail.
    FORWARD = "forward"
    # Zimbra's __QUOTED_TEXT__: the quoted mail alone.
    QUOTED = "quoted"
    # An attribution or header block of its own (gmail_attr, moz-cite-prefix, Zimbra's
    # __HEADERS__): plain lines.
    HEAD = "head"
    # Outlook's From/Sent/To/Subject block: the quoted mail is whatever follows it.
    OUTLOOK = "outlook header"
    # Outlook web's empty #appendonsend: the quoted mail follows (under a header, usually).
    APPEND = "append on send"
    SIGNATURE = "signature"
    # Markup that a plain-text mail has no line for: Gmail's "-- " span before div.gmail_signature
    # (the signature's own line says it), Zimbra's rule above the quoted mail's header.
    PREFIX = "dropped"


_CLASS_MARKS = {
    "gmail_quote": _Mark.GMAIL,
    "gmail_quote_container": _Mark.GMAIL,
    "gmail_attr": _Mark.HEAD,
    "gmail_signature": _Mark.SIGNATURE,
    "gmail_signature_prefix": _Mark.PREFIX,
    "moz-cite-prefix": _Mark.HEAD,
    "moz-forward-container": _Mark.FORWARD,
    "moz-signature": _Mark.SIGNATURE,
    "yahoo_quoted": _Mark.LEADING,
    "signature": _Mark.SIGNATURE,
}
# Lower-cased, without the "x_" that Outlook puts before the ids of a mail it quotes.
_ID_MARKS = {
    "divrplyfwdmsg": _Mark.OUTLOOK,
    "appendonsend": _Mark.APPEND,
    # Hotmail / Windows Live Mail's rule above the quoted mail's Date/Subject/From/To lines.
    "stopspelling": _Mark.APPEND,
    "signature": _Mark.SIGNATURE,
    "ms-outlook-mobile-signature": _Mark.SIGNATURE,
    "applemailsignature": _Mark.SIGNATURE,
}
_NAME_MARKS = {"messageReplySection": _Mark.LEADING, "messageSignatureSection": _Mark.SIGNATURE}
_ZIMBRA_MARKS = {
    "__DIVIDER__": _Mark.PREFIX,
    "__HEADERS__": _Mark.HEAD,
    "__QUOTED_TEXT__": _Mark.QUOTED,
    "__SIG_PRE__": _Mark.SIGNATURE,
    "__SIG_POST__": _Mark.SIGNATURE,
}
_CONTAINERS = frozenset({_Mark.GMAIL, _Mark.CITE, _Mark.LEADING, _Mark.FORWARD, _Mark.QUOTED})
# Desktop Outlook's header block: "border:none;border-top:solid #E1E1E1 1.0pt" (Windows),
# "BORDER-TOP: #b5c4df 1pt solid" (Mac).
_OUTLOOK_BORDER = re.compile(r"border-top:[^;]*\bsolid", re.IGNORECASE)
_BOLD_STYLE = re.compile(r"font-weight:\s*(?:bold|[6-9]00)", re.IGNORECASE)
# Formatting that a header line loses, as it has none in a plain-text mail.
_FORMATTING = frozenset({"a", "b", "strong", "i", "em", "u", "font", "span"})
_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
# How far a container's head (attribution, forward marker, header fields) is looked for: a few
# lines in a few dozen tags. Bounding it keeps each container's look constant, however large.
_HEAD_EVENTS = 200
_HEAD_LINE = 400
# A signature's own "-- " line, which its container repeats (Thunderbird) or not (the rest).
_SIGNATURE_DASHES = re.compile(r"^[ \t\n\u00a0]*--[ \t\u00a0]*(?:\n|$)")


def html_to_markdown(html: str, images: Mapping[str, str] | None = None) -> str:
    """Markdown for the HTML body of a mail.

    ``images`` names the files of the mail's inline images by Content-ID (without angle
    brackets): an ``<img src="cid:...">`` leaves ``[image: name]`` at its place.
    """
    soup = _parse(_defused(html))
    tokens = _Tokens()
    deep = _prepare(soup, tokens) > _MAX_DEPTH
    if deep:
        return _tidy(soup.get_text("\n"), None)
    converter = _converter_class()(InlineImages(images or {}), **_OPTIONS)
    return _tidy(converter.convert_soup(soup), tokens if tokens.used else None)


class _Token(Enum):
    """A place in the tree that _tidy marks in the Markdown once markdownify is done."""

    OPEN = "quote starts"
    CLOSE = "quote ends"
    SIGNATURE = "signature starts"
    # A head lifted out of a quote: its lines are one each, as in a plain-text mail, even where
    # the client put each in a <div> of its own.
    HEAD = "head starts"
    BODY = "head ends"


class _Tokens:
    """The text put at each such place: random per mail, so that no mail's own text can pass
    for one."""

    def __init__(self) -> None:
        nonce = secrets.token_hex(6)
        self.kinds = {f"\ue000{nonce}{i}": kind for i, kind in enumerate(_Token)}
        self._text = {kind: text for text, kind in self.kinds.items()}
        self.used = False

    def pattern(self) -> re.Pattern[str]:
        """Splits text at the tokens, keeping them."""
        return re.compile(f"({'|'.join(self.kinds)})")

    def __getitem__(self, kind: _Token) -> str:
        self.used = True
        return self._text[kind]


def _defused(html: str) -> str:
    """``html`` without comments and marked sections, and with any "<" after the last ">" as
    text: each costs the stdlib's parser a scan to the end of the document when nothing closes
    it, which makes a few hundred kilobytes of them take minutes.

    A comment left open runs to the end, as in HTML5; a marked section ends at the first ">",
    as HTML5 reads one outside SVG and MathML; a "<" that no ">" follows opens nothing.
    """
    pieces: list[str] = []
    position = 0
    while (opener := _DECLARATION_OPEN.search(html, position)) is not None:
        pieces.append(html[position : opener.start()])
        if opener.group() == "<!--":
            close = _COMMENT_CLOSE.search(html, opener.end())
            position = close.end() if close else len(html)
        else:
            end = html.find(">", opener.end())
            position = end + 1 if end >= 0 else len(html)
    pieces.append(html[position:])
    text = "".join(pieces)
    last = text.rfind(">")
    return text[: last + 1] + text[last + 1 :].replace("<", "&lt;")


# One walk for everything a tag is looked at for keeps the conversion one pass over the tree.
def _prepare(soup: BeautifulSoup, tokens: _Tokens) -> int:  # noqa: PLR0915
    """Strip what is not text, escape "|" in table cells, collapse the whitespace of text outside
    <pre> as markdownify would, and rewrite the mail clients' quote, forward and signature markup.

    One walk over the tree in document order, changing nothing until it is done; returns the
    depth of the deepest tag left.
    """
    from bs4 import Comment, Declaration, Doctype, ProcessingInstruction, Tag  # noqa: PLC0415
    from bs4.element import NavigableString  # noqa: PLC0415

    removed: list[Tag | NavigableString] = []
    rewritten: list[tuple[NavigableString, str]] = []
    plain: list[Tag] = []
    containers: list[tuple[_Mark, Tag]] = []
    signatures: list[Tag] = []
    # Where the quoted mail after Outlook's header (or #appendonsend) starts, and the tag it
    # ends with: the innermost quote or cell around it, else the document.
    outlook: tuple[Tag, Tag] | None = None
    append: tuple[Tag, Tag] | None = None
    text_seen = False
    deepest = 0
    # (children, depth, in a cell, in <pre>, in a head, the innermost quote or cell)
    stack: list[tuple[Iterator[PageElement], int, bool, bool, bool, Tag]] = [
        (iter(soup.contents), 0, False, False, False, soup)
    ]
    while stack:
        children, depth, in_cell, in_pre, in_head, scope = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            continue
        if isinstance(node, Tag):
            name = node.name
            if name in _DROPPED:
                removed.append(node)
                continue
            deepest = max(deepest, depth + 1)
            mark = _mark(node)
            boxed = in_cell or in_pre
            child_pre = in_pre or name == "pre"
            child_head = in_head
            child_scope = node if name == "blockquote" or name in _CELLS else scope
            if in_head and name in _FORMATTING:
                plain.append(node)
            if mark is _Mark.PREFIX:
                removed.append(node)
                continue
            if mark is _Mark.HEAD:
                child_head = True
            elif mark is _Mark.OUTLOOK:
                child_head = True
                if outlook is None and not boxed:
                    outlook = (node, scope)
            elif mark is _Mark.APPEND:
                if append is None and not boxed:
                    append = (node, scope)
            elif mark is _Mark.SIGNATURE:
                # A signature follows what the author wrote: a mail that is all "signature" was
                # typed into it (Outlook mobile and Apple Mail put the cursor there).
                if text_seen and not boxed:
                    signatures.append(node)
                    child_pre = in_pre
            elif mark in _CONTAINERS and not boxed:
                containers.append((mark, node))
                child_scope = node
            stack.append(
                (
                    iter(node.contents),
                    depth + 1,
                    in_cell or name in _CELLS,
                    child_pre,
                    child_head,
                    child_scope,
                )
            )
        elif isinstance(node, Comment | Declaration | Doctype | ProcessingInstruction):
            removed.append(node)
        elif isinstance(node, NavigableString):
            text = _text(str(node), in_cell=in_cell, in_pre=in_pre)
            if text != node:
                rewritten.append((node, text))
            if not text_seen and not text.isspace() and text:
                text_seen = True
    for node in removed:
        if isinstance(node, Tag):
            node.decompose()
        else:
            node.extract()
    for string, text in rewritten:
        string.replace_with(text)
    for tag in plain:
        # Renamed rather than unwrapped: unwrapping moves each child, at a cost that grows with
        # the number of its siblings.
        tag.name = "span"
    if deepest > _MAX_DEPTH:
        return deepest
    head = outlook or append
    if head is not None:
        _quote_after(head[0], head[1], tokens)
    for mark, tag in containers:
        _QUOTERS[mark](soup, tag, tokens)
    for tag in signatures:
        _sign(tag, tokens)
    return deepest


def _mark(tag: Tag) -> _Mark | None:
    """What ``tag`` is in a mail client's reply, forward or signature markup, if anything."""
    attrs = tag.attrs
    if not attrs:
        return None
    name = tag.name
    classes = attrs.get("class")
    if isinstance(classes, list):
        for each in classes:
            mark = _CLASS_MARKS.get(each)
            # Gmail's blockquote.gmail_quote is a quote markdownify makes.
            if mark is not None and (mark is not _Mark.GMAIL or name == "div"):
                return mark
    ident = attrs.get("id")
    if isinstance(ident, str) and ident:
        key = ident.lower().removeprefix("x_")
        if (mark := _ID_MARKS.get(key)) is not None:
            return mark
        # Gmail prefixes the ids of a mail it quotes ("m_-4711divRplyFwdMsg").
        if key.endswith("divrplyfwdmsg"):
            return _Mark.OUTLOOK
    for attribute, marks in (("data-marker", _ZIMBRA_MARKS), ("name", _NAME_MARKS)):
        value = attrs.get(attribute)
        if isinstance(value, str) and (mark := marks.get(value)) is not None:
            return mark
    if name == "blockquote" and str(attrs.get("type", "")).lower() == "cite":
        return _Mark.CITE
    if name in ("div", "p"):
        style = attrs.get("style")
        bordered = isinstance(style, str) and _OUTLOOK_BORDER.search(style) is not None
        office = name == "p" and isinstance(classes, list) and "MsoNormal" in classes
        if (bordered or office) and _opens_with_from(tag, bold=not bordered):
            return _Mark.OUTLOOK
    return None


def _opens_with_from(tag: Tag, *, bold: bool) -> bool:
    """Whether the first text in ``tag`` is a From: label (in bold, if ``bold``)."""
    from bs4 import Tag  # noqa: PLC0415
    from bs4.element import NavigableString  # noqa: PLC0415

    for count, node in enumerate(tag.descendants):
        if count > 12:
            return False
        if not isinstance(node, NavigableString) or not node.strip():
            continue
        if header_field(str(node)) != "from":
            return False
        if not bold:
            return True
        parent = node.parent
        while isinstance(parent, Tag) and parent is not tag:
            style = parent.get("style")
            if parent.name in ("b", "strong") or (
                isinstance(style, str) and _BOLD_STYLE.search(style)
            ):
                return True
            parent = parent.parent
        return False
    return False


@cache
def _head_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A ruled forward or original-message marker, and an attribution's verb or a forward's
    introduction; compiled on the first HTML mail that needs them."""
    ruled = re.compile(
        rf"-{{2,}}\s*(?:{markers.FORWARDED_MESSAGE}|{markers.ORIGINAL_MESSAGE})\s*-{{2,}}",
        re.IGNORECASE,
    )
    lead = re.compile(
        rf"(?<![^\W\d_])(?:{markers.ATTRIBUTION_VERBS}|{markers.ATTRIBUTION_VERBS_BEFORE_NAME})"
        rf"|{markers.ATTRIBUTION_VERBS_CJK}|@|^(?:{markers.FORWARD_INTRODUCTIONS})\s*[:：]$",
        re.IGNORECASE,
    )
    return ruled, lead


def _is_lead(line: str) -> bool:
    """Whether ``line`` opens a head: an attribution, a forward's introduction or a ruled
    forward or original-message marker."""
    ruled, lead = _head_patterns()
    if len(line) > _HEAD_LINE:
        return False
    if ruled.fullmatch(line):
        return True
    return line.endswith((":", "：")) and lead.search(line) is not None


def _quote_after(header: Tag, scope: Tag, tokens: _Tokens) -> None:
    """Quote what follows Outlook's header block to the end of ``scope``: Outlook has no
    container for the mail it quotes. The rule Outlook web draws above the header goes, as the
    header says where the quote starts."""
    from bs4 import Tag  # noqa: PLC0415

    previous = header.previous_sibling
    for _ in range(3):
        if not isinstance(previous, str) or previous.strip():
            break
        previous = previous.previous_sibling
    if isinstance(previous, Tag) and previous.name == "hr":
        previous.decompose()
    header.insert_after(tokens[_Token.OPEN])
    scope.append(tokens[_Token.CLOSE])


def _quote_gmail(soup: BeautifulSoup, quote: Tag, tokens: _Tokens) -> None:
    """Gmail: the gmail_attr stays plain; a forward's mail after it is quoted (a reply's is
    already in its blockquote)."""
    first = _first_child(quote)
    classes = first.get("class") if first is not None else None
    if first is None or not isinstance(classes, list) or "gmail_attr" not in classes:
        # Gmail before 2017: the attribution is text before the blockquote.
        _quote_leading(soup, quote, tokens)
        return
    if _only_quotes(first.next_sibling):
        return
    first.insert_after(tokens[_Token.OPEN])
    quote.append(tokens[_Token.CLOSE])


def _quote_cite(soup: BeautifulSoup, cite: Tag, tokens: _Tokens) -> None:
    """blockquote[type=cite]: Thunderbird's has its attribution before it, in
    div.moz-cite-prefix; Apple's may hold it, and a forward's headers, on its first lines."""
    previous = cite.previous_sibling
    for _ in range(3):
        if previous is None or not (isinstance(previous, str) and not previous.strip()):
            break
        previous = previous.previous_sibling
    classes = getattr(previous, "attrs", {}).get("class")
    if isinstance(classes, list) and "moz-cite-prefix" in classes:
        return
    _quote_leading(soup, cite, tokens)


def _quote_leading(soup: BeautifulSoup, quote: Tag, tokens: _Tokens) -> None:
    """A quote whose first lines may be its attribution or a forward's header: those lines
    stay plain, the rest is quoted."""
    split = _head_split(quote)
    cite = quote.name == "blockquote"
    if split is None:
        if not cite:
            quote.insert(0, tokens[_Token.OPEN])
            quote.append(tokens[_Token.CLOSE])
        return
    start, formatting = split
    for tag in formatting:
        tag.name = "span"
    if cite:
        quote.name = "div"
    quote.insert(0, tokens[_Token.HEAD])
    if start is None:
        quote.append(tokens[_Token.BODY])
        return
    start.insert_before(tokens[_Token.BODY])
    if start.parent is quote and not cite and _only_quotes(start):
        return
    start.insert_before(tokens[_Token.OPEN])
    quote.append(tokens[_Token.CLOSE])


def _quote_forward(soup: BeautifulSoup, forward: Tag, tokens: _Tokens) -> None:
    """Thunderbird's forward: its headers table becomes "Label: value" lines."""
    from bs4 import Tag  # noqa: PLC0415

    child = forward.contents[0] if forward.contents else None
    for _ in range(12):
        if child is None:
            break
        classes = child.get("class") if isinstance(child, Tag) else None
        if isinstance(classes, list) and "moz-email-headers-table" in classes:
            break
        child = child.next_sibling
    else:
        child = None
    if not isinstance(child, Tag) or child.name != "table":
        _quote_leading(soup, forward, tokens)
        return
    lines = soup.new_tag("div")
    for row in child.find_all("tr"):
        line = " ".join(row.get_text(" ").split())
        if line:
            lines.append(line)
            lines.append(soup.new_tag("br"))
    child.replace_with(lines)
    forward.insert(0, tokens[_Token.HEAD])
    lines.insert_after(tokens[_Token.OPEN])
    lines.insert_after(tokens[_Token.BODY])
    forward.append(tokens[_Token.CLOSE])


def _quote_all(soup: BeautifulSoup, quoted: Tag, tokens: _Tokens) -> None:
    """Zimbra's __QUOTED_TEXT__: the quoted mail, its header being __HEADERS__ before it."""
    if _only_quotes(quoted.contents[0] if quoted.contents else None):
        return
    quoted.insert(0, tokens[_Token.OPEN])
    quoted.append(tokens[_Token.CLOSE])


_QUOTERS = {
    _Mark.GMAIL: _quote_gmail,
    _Mark.CITE: _quote_cite,
    _Mark.LEADING: _quote_leading,
    _Mark.FORWARD: _quote_forward,
    _Mark.QUOTED: _quote_all,
}


def _sign(signature: Tag, tokens: _Tokens) -> None:
    """Open the signature with the token _tidy makes a "-- " line; the container's own "-- "
    (Thunderbird writes one) goes."""
    from bs4.element import NavigableString  # noqa: PLC0415

    if signature.name == "pre":
        signature.name = "div"
    for count, node in enumerate(signature.descendants):
        if count > 12:
            break
        if isinstance(node, NavigableString) and node.strip():
            text = _SIGNATURE_DASHES.sub("", str(node), count=1)
            if text != node:
                node.replace_with(text)
            break
    signature.insert(0, tokens[_Token.SIGNATURE])


def _first_child(tag: Tag) -> Tag | None:
    """The first child tag of ``tag`` other than a line break, if it comes early."""
    from bs4 import Tag  # noqa: PLC0415

    for count, child in enumerate(tag.children):
        if count > 8:
            break
        if isinstance(child, Tag) and child.name != "br":
            return child
        if isinstance(child, str) and child.strip():
            break
    return None


def _only_quotes(node: PageElement | None) -> bool:
    """Whether ``node`` and its next siblings are blockquotes (a reply's quoted mail, which
    markdownify quotes itself), line breaks and white space; False if there are none."""
    from bs4 import Tag  # noqa: PLC0415

    found = False
    while node is not None:
        if isinstance(node, Tag):
            if node.name == "blockquote":
                found = True
            elif node.name != "br":
                return False
        elif str(node).strip():
            return False
        node = node.next_sibling
    return found


def _events(tag: Tag) -> Iterator[tuple[str, PageElement]]:
    """("open", tag), ("close", tag) and ("text", string) for what is in ``tag``, in order."""
    from bs4 import Tag  # noqa: PLC0415

    stack: list[tuple[Tag, Iterator[PageElement]]] = [(tag, iter(tag.contents))]
    while stack:
        parent, children = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            if stack:
                yield "close", parent
        elif isinstance(node, Tag):
            yield "open", node
            stack.append((node, iter(node.contents)))
        else:
            yield "text", node


def _head_split(quote: Tag) -> tuple[PageElement | None, list[Tag]] | None:
    """Where the quoted mail in ``quote`` starts after its head (attribution, forward marker,
    header fields), and the formatting tags in the head; None if it has no head, a start of
    None if it is all head.

    A head opens with an attribution or marker line, or with a From: line that other fields
    follow; it is looked for in the first few lines only.
    """
    formatting: list[Tag] = []
    line: list[str] = []
    start: PageElement | None = None
    # How many formatting tags came before the line being read: the first content line's own
    # keep their formatting.
    before = 0
    lead = False
    fields = 0
    lines = 0

    def ended() -> bool | None:
        """Whether the line just ended is part of the head; None if it is blank."""
        nonlocal lead, fields, lines
        text = " ".join("".join(line).split())
        line.clear()
        if not text:
            return None
        lines += 1
        if lines == 1 and _is_lead(text):
            lead = True
            return True
        label = header_field(text)
        if label is not None and (fields or lead or label == "from"):
            fields += 1
            return True
        return False

    from bs4 import Tag  # noqa: PLC0415

    for count, (kind, node) in enumerate(_events(quote)):
        if count > _HEAD_EVENTS:
            return None
        breaks = isinstance(node, Tag) and (node.name in _BLOCKS or node.name == "br")
        if breaks:
            verdict = ended()
            if verdict is False:
                return (start, formatting[:before]) if lead or fields >= 2 else None
            if verdict is True:
                start = None
        if kind == "close":
            continue
        if start is None:
            start, before = node, len(formatting)
        if not isinstance(node, Tag):
            line.append(str(node))
        elif node.name == "img":
            line.append("[image]")
        elif node.name in _FORMATTING:
            formatting.append(node)
    verdict = ended()
    if verdict is False:
        return (start, formatting[:before]) if lead or fields >= 2 else None
    return (None, formatting) if lead or fields >= 2 else None


def _text(text: str, *, in_cell: bool, in_pre: bool) -> str:
    """A text node as markdownify should read it.

    Outside <pre>, a run of whitespace becomes a line break if it holds one, else a space, as
    markdownify makes it; done here in one pass because markdownify's pattern for it
    ("[\\t \\r\\n]*[\\r\\n][\\t \\r\\n]*") costs time quadratic in a run without a line break.
    In a table cell "|" would end the cell: Markdown tables only take it escaped.
    """
    if not in_pre:
        text = _WHITESPACE_RUN.sub(
            lambda run: "\n" if "\n" in run.group() or "\r" in run.group() else " ", text
        )
    if in_cell and "|" in text:
        text = _PIPE.sub(r"\\|", text)
    return text


def _parse(html: str) -> BeautifulSoup:
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, Tag  # noqa: PLC0415

    with warnings.catch_warnings():
        # A mail whose whole HTML part is a URL or a file name is still its text: bs4's hint
        # that the caller may have meant a file would only be noise on the function's stderr.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        return BeautifulSoup(html, "html.parser", element_classes={Tag: _tag_class()})


@cache
def _tag_class() -> type[Tag]:
    from bs4 import ResultSet, Tag  # noqa: PLC0415

    class _Tag(Tag):
        """A tag that answers markdownify's per-tag searches by name with a plain walk.

        markdownify asks every tag for a "pre" ancestor and every table row for its cells;
        bs4's general search builds a filter for each question, which was almost half the
        conversion time of a newsletter. html.parser gives tags no namespace prefix, so a name
        is all there is to compare.
        """

        def find_parent(self, name: object = None, *args: object, **kwargs: object) -> Tag | None:
            if not isinstance(name, str) or args or kwargs:
                return super().find_parent(name, *args, **kwargs)  # type: ignore[arg-type]
            parent = self.parent
            while parent is not None and parent.name != name:
                parent = parent.parent
            return parent

        def find_all(self, name: object = None, *args: object, **kwargs: object) -> ResultSet[Any]:
            names = name if isinstance(name, list) else []
            if not names or not all(isinstance(each, str) for each in names) or args or kwargs:
                every: ResultSet[Any] = super().find_all(name, *args, **kwargs)  # type: ignore[call-overload]
                return every
            found = [
                node for node in self.descendants if isinstance(node, Tag) and node.name in names
            ]
            return ResultSet(None, found)

    return _Tag


@cache
def _converter_class() -> Callable[..., MarkdownConverter]:
    from markdownify import MarkdownConverter  # noqa: PLC0415

    class _Converter(MarkdownConverter):
        def __init__(
            self,
            images: InlineImages,
            **options: Any,  # noqa: ANN401 - markdownify's own options, passed on
        ) -> None:
            super().__init__(**options)
            self.images = images

        def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
            # markdownify's own, but for the strip: its "[ \n]*$" costs time quadratic in a run
            # of spaces inside the block, so it is told not to strip (strip_pre=None) and this
            # strips as it would.
            if not text:
                return ""
            lead = len(text) - len(text.lstrip(" \n"))
            text = text[text.rfind("\n", 0, lead) + 1 :].rstrip(" \n")
            # No code language: this converter sets none.
            return f"\n\n```\n{text}\n```\n\n"

        def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
            alt = " ".join(str(el.attrs.get("alt") or "").split())
            source = str(el.attrs.get("src") or "").strip()
            if source[:4].lower() != "cid:":
                return f"[{alt}]" if alt else ""
            # An inline image of the mail: its file is listed with the attachments.
            # The URL is a %-encoded Content-ID (RFC 2392).
            name = self.images.name(unquote(source[4:])) or alt
            return f"[image: {name}]" if name else "[image]"

        def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
            href = str(el.get("href") or "").strip()
            scheme = urlsplit(href).scheme.lower() if href else ""
            label = text.strip()
            if scheme not in _SAFE_SCHEMES or not label or "_noformat" in parent_tags:
                return text
            lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
            if label.replace("\\_", "_") in {href, href.removeprefix("mailto:")}:
                return text
            return f"{lead}[{label}]({href.replace(')', '%29').replace(' ', '%20')}){trail}"

    return _Converter


_OPTIONS: dict[str, Any] = {
    "heading_style": "ATX",
    "bullets": "-",
    "autolinks": False,
    # People type Markdown into HTML mail clients too (**bold**): keep it live, as the
    # text/plain body is.
    "escape_asterisks": False,
    "escape_underscores": False,
    "escape_misc": False,
    "table_infer_header": True,
    "strip_pre": None,
}


def _tidy(text: str, tokens: _Tokens | None) -> str:
    """The Markdown without trailing spaces or runs of blank lines, its tokens made "> " lines,
    a "-- " line and head lines one each.

    A quote is set off by a blank line on both sides, so that neither its head nor the text after
    it is read as part of it (Markdown would take a line after a quote into it).
    """
    out: list[str] = []
    depth = 0
    # The quote level of a blank line due before the next line, if one is.
    gap: int | None = None
    # Blank lines in a head, and right after "-- ", are the markup's, not the author's.
    head = signed = fenced = False
    for line, kind, level in _lines(text.replace("\xa0", " ").replace("\r\n", "\n"), tokens):
        if kind is not None:
            head = kind is _Token.HEAD
            if kind in (_Token.OPEN, _Token.CLOSE):
                gap = min(depth + level, depth + level if gap is None else gap)
                depth = max(depth + (1 if kind is _Token.OPEN else -1), 0)
                gap = min(gap, depth + level)
            elif kind is _Token.SIGNATURE:
                if out:
                    out.append(" ".join(">" * min(depth + level, 10**6 if gap is None else gap)))
                out.append("> " * (depth + level) + "-- ")
                gap, signed = None, True
            continue
        if not fenced and _BLANK_QUOTE.fullmatch(line):
            if out and not head and not signed:
                blank = depth + line.count(">")
                gap = blank if gap is None else min(gap, blank)
            continue
        if gap is None and out and not fenced and _crosses_quote(out[-1], line, depth):
            gap = depth
        if gap is not None and out:
            out.append(" ".join(">" * gap))
        gap, signed = None, False
        if line.lstrip("> ").startswith("```"):
            fenced = not fenced
        out.append("> " * depth + line)
    return "\n".join(out)


_BLANK_QUOTE = re.compile(r"[> ]*")
_QUOTE_PREFIX = re.compile(r"(?:> ?)*")


def _lines(text: str, tokens: _Tokens | None) -> Iterator[tuple[str, _Token | None, int]]:
    """Each line without trailing white space, with the token it is, if any, and the quote level
    markdownify put the token at; a line with a token in it is split around the token."""
    split = tokens.pattern() if tokens is not None else None
    for raw in text.split("\n"):
        line = raw.rstrip()
        if split is None or "\ue000" not in line:
            yield line, None, 0
            continue
        prefix = _QUOTE_PREFIX.match(line)
        quoted = prefix.group() if prefix else ""
        for part in split.split(line[len(quoted) :]):
            kind = tokens.kinds.get(part) if tokens is not None else None
            if kind is not None:
                yield "", kind, quoted.count(">")
            elif part.strip():
                yield (quoted + part).rstrip(), None, 0


def _crosses_quote(previous: str, line: str, depth: int) -> bool:
    """Whether ``line`` starts or ends a quote that markdownify set off by one line break only."""
    return previous[2 * depth :].startswith(">") != line.startswith(">")
