# Mail markers hold full-width colons.
# ruff: noqa: RUF001
"""HTML-only mail -> Markdown a maintainer can read: parsed by Lexbor (selectolax), written by
the Markdown writer below.

The big clients' reply, forward and signature markup is first rewritten into what their
plain-text mails say, so that trimming reads both alike. The rules, and why:
docs/inbound.md#html_markdown.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from handler.inbound import markers
from handler.inbound.attachments import InlineImages
from handler.inbound.trim import header_field

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

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
_DROPPED_NAMES = sorted(_DROPPED)
_CELLS = frozenset({"td", "th"})
_SAFE_SCHEMES = {"http", "https", "mailto"}
_PIPE = re.compile(r"(?<!\\)\|")
# Comments and marked sections ("<![if ...]>", CDATA) are dropped before Lexbor parses, as the
# converter has always read them (a comment closes at "-- >" too).
_DECLARATION_OPEN = re.compile(r"<!(?:--|\[)")
_COMMENT_CLOSE = re.compile(r"--\s*>")
# A run of whitespace that is more than one space: only those are rewritten, so that text with
# single spaces alone costs no call per word.
_WHITESPACE_RUN = re.compile(r"[\t \r\n]{2,}|[\t\r\n]")
# The writer copies a tag's Markdown once per tag around it: past this depth that cost grows
# with the nesting rather than with the mail, and such HTML is hostile anyway: its text alone.
_MAX_DEPTH = 150
# What the source of a mail with client markup holds (lower-cased), and the tags _mark may
# take for it then: Lexbor looks for those only if the source has a reason to.
_HINTS = {
    "gmail_": (".gmail_quote", ".gmail_quote_container", ".gmail_attr", ".gmail_signature"),
    "gmail_signature_prefix": (".gmail_signature_prefix",),
    "moz-": (".moz-cite-prefix", ".moz-forward-container", ".moz-signature"),
    "yahoo_quoted": (".yahoo_quoted",),
    "signature": (".signature", "[id]", "[name]"),
    "divrplyfwdmsg": ("[id]",),
    "appendonsend": ("[id]",),
    "stopspelling": ("[id]",),
    "data-marker": ("[data-marker]",),
    "messagereplysection": ("[name]",),
    "cite": ("blockquote[type]",),
    "border-top": ("div[style]", "p[style]"),
    "msonormal": (".MsoNormal",),
}


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
_FORMATTING_SELECTOR = ", ".join(sorted(_FORMATTING))
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
    from selectolax.lexbor import LexborHTMLParser  # noqa: PLC0415 - for HTML mail only

    html = _defused(html)
    tree = LexborHTMLParser(html)
    root = tree.root
    if root is None:
        return ""
    # What the source holds says which of Lexbor's searches are worth their cost.
    source = html.lower()
    rewrite = _Rewrite(tree, _Tokens())
    _prepare(rewrite, root, source)
    writer = _Writer(InlineImages(images or {}), rewrite.renamed, colspans="colspan" in source)
    markdown = writer.write(root)
    if markdown is None:
        return _tidy(_deep_text(html), None)
    return _tidy(markdown, rewrite.tokens if rewrite.tokens.used else None)


def _deep_text(html: str) -> str:
    """The text of HTML nested too deep to write as Markdown (hostile, anyway), a line each:
    what is not text, and the client markup that has no line in a plain-text mail, dropped."""
    from selectolax.lexbor import LexborHTMLParser  # noqa: PLC0415 - for HTML mail only

    tree = LexborHTMLParser(html)
    for node, mark in _marked(tree, html.lower()):
        if mark is _Mark.PREFIX:
            node.decompose(recursive=False)
    return _plain_text(tree.root) if tree.root is not None else ""


class _Token(Enum):
    """A place in the tree that _tidy marks in the Markdown once the writer is done."""

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
    text, which Lexbor would drop with the rest of the unfinished tag.

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


class _Rewrite:
    """What the client markup's rewriting changes beside the tree: the tags it renames (Lexbor
    cannot), and the tokens it puts in."""

    def __init__(self, tree: LexborHTMLParser, tokens: _Tokens) -> None:
        self.tree = tree
        self.tokens = tokens
        # By the node's mem_id: Lexbor's nodes compare (and so look up) by their serialized
        # HTML, at a cost that grows with what is in them.
        self.renamed: dict[int, str] = {}

    def name(self, node: LexborNode) -> str:
        """The tag's name as the writer will read it; "" for what is not a tag."""
        if not node.is_element_node:
            return ""
        return self.renamed.get(node.mem_id) or node.tag or ""

    def token(self, kind: _Token) -> str:
        return self.tokens[kind]


def _prepare(rewrite: _Rewrite, root: LexborNode, source: str) -> None:
    """Strip what is not text and rewrite the mail clients' quote, forward and signature markup.

    Lexbor finds the tags that may be client markup (few, in most mails); each is then judged in
    document order by the tags around it, as a walk of the whole tree would have.
    """
    tree = rewrite.tree
    marked = _marked(tree, source)
    if not marked:
        return
    marks = {node.mem_id: mark for node, mark in marked}
    for node, mark in marked:
        if mark is _Mark.PREFIX:
            # Not destroyed: the marked tags inside it are still looked at (and skipped).
            node.decompose(recursive=False)
    body = tree.body or root
    heads: list[LexborNode] = []
    containers: dict[int, tuple[LexborNode, _Mark]] = {}
    signatures: dict[int, LexborNode] = {}
    # Where the quoted mail after Outlook's header (or #appendonsend) starts, and the tag it
    # ends with: the innermost quote or cell around it, else the document.
    outlook: tuple[LexborNode, LexborNode] | None = None
    append: tuple[LexborNode, LexborNode] | None = None
    before_text: set[int] | None = None
    for node, mark in marked:
        if mark is _Mark.PREFIX:
            continue
        try:
            context = _context(node, marks, containers, signatures)
        except _TooDeep:
            # The writer gives such a mail's text alone: no markup to rewrite, and no look up
            # each of its many ancestors from each of its many tags.
            return
        if context is None:
            # In a tag that was dropped.
            continue
        boxed, scope = context
        scope = scope or body
        if mark is _Mark.HEAD:
            heads.append(node)
        elif mark is _Mark.OUTLOOK:
            heads.append(node)
            if outlook is None and not boxed:
                outlook = (node, scope)
        elif mark is _Mark.APPEND:
            if append is None and not boxed:
                append = (node, scope)
        elif mark is _Mark.SIGNATURE:
            if before_text is None:
                before_text = _before_text(root)
            # A signature follows what the author wrote: a mail that is all "signature" was
            # typed into it (Outlook mobile and Apple Mail put the cursor there).
            if node.mem_id not in before_text and not boxed:
                signatures[node.mem_id] = node
        elif not boxed:
            containers[node.mem_id] = (node, mark)
    for head in heads:
        # A header line has no formatting in a plain-text mail.
        for tag in head.css(_FORMATTING_SELECTOR):
            # Lexbor's search takes the head itself, if it matches: its own formatting stays.
            if tag.mem_id != head.mem_id:
                rewrite.renamed[tag.mem_id] = "span"
    chosen = outlook or append
    if chosen is not None:
        _quote_after(rewrite, chosen[0], chosen[1])
    for tag, mark in containers.values():
        _QUOTERS[mark](rewrite, tag)
    for tag in signatures.values():
        _sign(rewrite, tag)


def _marked(tree: LexborHTMLParser, source: str) -> list[tuple[LexborNode, _Mark]]:
    """The tags that are client markup, in document order, with what they are; if there may be
    any, the tags that are not text are stripped from ``tree`` first.

    Lexbor's selectors look at every tag: the source (lower-cased) says which are worth it.
    """
    selectors = [selector for hint, each in _HINTS.items() if hint in source for selector in each]
    marked: list[tuple[LexborNode, _Mark]] = []
    if not selectors:
        # The writer passes over what is not text by itself.
        return marked
    tree.strip_tags(_DROPPED_NAMES)
    # A tag that more than one selector takes comes once for each.
    seen: set[int] = set()
    for node in tree.css(", ".join(dict.fromkeys(selectors))):
        if node.mem_id in seen:
            continue
        seen.add(node.mem_id)
        mark = _mark(node, node.tag or "")
        if mark is not None:
            marked.append((node, mark))
    return marked


def _context(
    node: LexborNode,
    marks: Mapping[int, _Mark],
    containers: Mapping[int, object],
    signatures: Mapping[int, object],
) -> tuple[bool, LexborNode | None] | None:
    """Whether ``node`` is in a table cell or a <pre> (where client markup is text someone
    pasted), and the innermost quote, cell or taken container around it; None if it is no
    longer in the document. Raises _TooDeep past _MAX_DEPTH."""
    boxed = False
    scope: LexborNode | None = None
    parent = node.parent
    # <html>, <body> and the document above what a fragment's tags would be.
    for _ in range(_MAX_DEPTH + 3):
        if parent is None:
            return None
        if parent.is_document_node:
            return boxed, scope
        name = parent.tag
        key = parent.mem_id
        if name in _CELLS or name == "blockquote" or key in containers:
            if scope is None:
                scope = parent
            boxed = boxed or name in _CELLS
        # A taken signature's <pre> is read as text.
        if name == "pre" and key not in signatures:
            boxed = True
        if marks.get(key) is _Mark.PREFIX:
            return None
        parent = parent.parent
    raise _TooDeep


class _TooDeep(Exception):
    """A tag nested deeper than _MAX_DEPTH."""


def _before_text(root: LexborNode) -> set[int]:
    """The tags (by mem_id) that come before the first text that is not white space."""
    before: set[int] = set()
    for node in _descendants(root):
        if node.is_text_node:
            if (node.text_content or "").strip():
                break
        else:
            before.add(node.mem_id)
    return before


def _mark(tag: LexborNode, name: str) -> _Mark | None:
    """What ``tag`` is in a mail client's reply, forward or signature markup, if anything."""
    attrs = tag.attributes
    if not attrs:
        return None
    classes = (attrs.get("class") or "").split()
    for each in classes:
        mark = _CLASS_MARKS.get(each)
        # Gmail's blockquote.gmail_quote is a quote the writer makes.
        if mark is not None and (mark is not _Mark.GMAIL or name == "div"):
            return mark
    ident = attrs.get("id")
    if ident:
        key = ident.lower().removeprefix("x_")
        if (mark := _ID_MARKS.get(key)) is not None:
            return mark
        # Gmail prefixes the ids of a mail it quotes ("m_-4711divRplyFwdMsg").
        if key.endswith("divrplyfwdmsg"):
            return _Mark.OUTLOOK
    for attribute, marks in (("data-marker", _ZIMBRA_MARKS), ("name", _NAME_MARKS)):
        value = attrs.get(attribute)
        if value and (mark := marks.get(value)) is not None:
            return mark
    if name == "blockquote" and (attrs.get("type") or "").lower() == "cite":
        return _Mark.CITE
    if name in ("div", "p"):
        style = attrs.get("style")
        bordered = style is not None and _OUTLOOK_BORDER.search(style) is not None
        office = name == "p" and "MsoNormal" in classes
        if (bordered or office) and _opens_with_from(tag, bold=not bordered):
            return _Mark.OUTLOOK
    return None


def _opens_with_from(tag: LexborNode, *, bold: bool) -> bool:
    """Whether the first text in ``tag`` is a From: label (in bold, if ``bold``)."""
    for count, node in enumerate(_descendants(tag)):
        if count > 12:
            return False
        if not node.is_text_node:
            continue
        text = node.text_content or ""
        if not text.strip():
            continue
        if header_field(text) != "from":
            return False
        if not bold:
            return True
        parent = node.parent
        while parent is not None and parent.mem_id != tag.mem_id:
            style = parent.attributes.get("style")
            if parent.tag in ("b", "strong") or (style and _BOLD_STYLE.search(style)):
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


def _quote_after(rewrite: _Rewrite, header: LexborNode, scope: LexborNode) -> None:
    """Quote what follows Outlook's header block to the end of ``scope``: Outlook has no
    container for the mail it quotes. The rule Outlook web draws above the header goes, as the
    header says where the quote starts."""
    previous = header.prev
    for _ in range(3):
        if previous is None or not _blank(previous):
            break
        previous = previous.prev
    if previous is not None and rewrite.name(previous) == "hr":
        previous.decompose(recursive=False)
    header.insert_after(rewrite.token(_Token.OPEN))
    scope.insert_child(rewrite.token(_Token.CLOSE))


def _quote_gmail(rewrite: _Rewrite, quote: LexborNode) -> None:
    """Gmail: the gmail_attr stays plain; a forward's mail after it is quoted (a reply's is
    already in its blockquote)."""
    first = _first_child(rewrite, quote)
    if first is None or "gmail_attr" not in _classes(first):
        # Gmail before 2017: the attribution is text before the blockquote.
        _quote_leading(rewrite, quote)
        return
    if _only_quotes(rewrite, first.next):
        return
    first.insert_after(rewrite.token(_Token.OPEN))
    quote.insert_child(rewrite.token(_Token.CLOSE))


def _quote_cite(rewrite: _Rewrite, cite: LexborNode) -> None:
    """blockquote[type=cite]: Thunderbird's has its attribution before it, in
    div.moz-cite-prefix; Apple's may hold it, and a forward's headers, on its first lines."""
    previous = cite.prev
    for _ in range(3):
        if previous is None or not _blank(previous):
            break
        previous = previous.prev
    if previous is not None and "moz-cite-prefix" in _classes(previous):
        return
    _quote_leading(rewrite, cite)


def _quote_leading(rewrite: _Rewrite, quote: LexborNode) -> None:
    """A quote whose first lines may be its attribution or a forward's header: those lines
    stay plain, the rest is quoted."""
    split = _head_split(rewrite, quote)
    cite = rewrite.name(quote) == "blockquote"
    if split is None:
        if not cite:
            _prepend(quote, rewrite.token(_Token.OPEN))
            quote.insert_child(rewrite.token(_Token.CLOSE))
        return
    start, formatting = split
    for tag in formatting:
        rewrite.renamed[tag.mem_id] = "span"
    if cite:
        rewrite.renamed[quote.mem_id] = "div"
    _prepend(quote, rewrite.token(_Token.HEAD))
    if start is None:
        quote.insert_child(rewrite.token(_Token.BODY))
        return
    start.insert_before(rewrite.token(_Token.BODY))
    parent = start.parent
    if (
        parent is not None
        and parent.mem_id == quote.mem_id
        and not cite
        and _only_quotes(rewrite, start)
    ):
        return
    start.insert_before(rewrite.token(_Token.OPEN))
    quote.insert_child(rewrite.token(_Token.CLOSE))


def _quote_forward(rewrite: _Rewrite, forward: LexborNode) -> None:
    """Thunderbird's forward: its headers table becomes "Label: value" lines."""
    child = forward.first_child
    for _ in range(12):
        if child is None:
            break
        if child.is_element_node and "moz-email-headers-table" in _classes(child):
            break
        child = child.next
    else:
        child = None
    if child is None or rewrite.name(child) != "table":
        _quote_leading(rewrite, forward)
        return
    lines = rewrite.tree.create_node("div")
    for row in child.css("tr"):
        line = " ".join(row.text(separator=" ").split())
        if line:
            lines.insert_child(line)
            lines.insert_child(rewrite.tree.create_node("br"))
    child.replace_with(lines, move=True)
    _prepend(forward, rewrite.token(_Token.HEAD))
    lines.insert_after(rewrite.token(_Token.OPEN))
    lines.insert_after(rewrite.token(_Token.BODY))
    forward.insert_child(rewrite.token(_Token.CLOSE))


def _quote_all(rewrite: _Rewrite, quoted: LexborNode) -> None:
    """Zimbra's __QUOTED_TEXT__: the quoted mail, its header being __HEADERS__ before it."""
    if _only_quotes(rewrite, quoted.first_child):
        return
    _prepend(quoted, rewrite.token(_Token.OPEN))
    quoted.insert_child(rewrite.token(_Token.CLOSE))


_QUOTERS: dict[_Mark, Callable[[_Rewrite, LexborNode], None]] = {
    _Mark.GMAIL: _quote_gmail,
    _Mark.CITE: _quote_cite,
    _Mark.LEADING: _quote_leading,
    _Mark.FORWARD: _quote_forward,
    _Mark.QUOTED: _quote_all,
}


def _sign(rewrite: _Rewrite, signature: LexborNode) -> None:
    """Open the signature with the token _tidy makes a "-- " line; the container's own "-- "
    (Thunderbird writes one) goes."""
    if rewrite.name(signature) == "pre":
        rewrite.renamed[signature.mem_id] = "div"
    for count, node in enumerate(_descendants(signature)):
        if count > 12:
            break
        if node.is_text_node:
            raw = node.text_content or ""
            if raw.strip():
                # As the writer will read it (a signature's <pre> is no longer one).
                text = _text(raw, in_cell=False, in_pre=False)
                stripped = _SIGNATURE_DASHES.sub("", text, count=1)
                if stripped != text:
                    node.replace_with(stripped)
                break
    _prepend(signature, rewrite.token(_Token.SIGNATURE))


def _prepend(tag: LexborNode, text: str) -> None:
    first = tag.first_child
    if first is None:
        tag.insert_child(text)
    else:
        first.insert_before(text)


def _classes(node: LexborNode) -> list[str]:
    return (node.attributes.get("class") or "").split() if node.is_element_node else []


def _blank(node: LexborNode) -> bool:
    """Whether ``node`` is text of white space only."""
    return node.is_text_node and not (node.text_content or "").strip()


def _first_child(rewrite: _Rewrite, tag: LexborNode) -> LexborNode | None:
    """The first child tag of ``tag`` other than a line break, if it comes early."""
    child = tag.first_child
    for _ in range(9):
        if child is None:
            break
        if child.is_element_node:
            if rewrite.name(child) != "br":
                return child
        elif child.is_text_node and (child.text_content or "").strip():
            break
        child = child.next
    return None


def _only_quotes(rewrite: _Rewrite, node: LexborNode | None) -> bool:
    """Whether ``node`` and its next siblings are blockquotes (a reply's quoted mail, which
    the writer quotes itself), line breaks and white space; False if there are none."""
    found = False
    while node is not None:
        if node.is_element_node:
            name = rewrite.name(node)
            if name == "blockquote":
                found = True
            elif name != "br":
                return False
        elif (node.text_content or "").strip():
            return False
        node = node.next
    return found


def _descendants(tag: LexborNode) -> Iterator[LexborNode]:
    """What is in ``tag``, in document order."""
    stack = [tag.first_child]
    while stack:
        node = stack[-1]
        if node is None:
            stack.pop()
            continue
        stack[-1] = node.next
        yield node
        stack.append(node.first_child)


def _events(tag: LexborNode) -> Iterator[tuple[str, LexborNode]]:
    """("open", tag), ("close", tag) and ("text", string) for what is in ``tag``, in order."""
    stack: list[list[Any]] = [[tag, tag.first_child]]
    while stack:
        frame = stack[-1]
        node = frame[1]
        if node is None:
            stack.pop()
            if stack:
                yield "close", frame[0]
            continue
        frame[1] = node.next
        if node.is_element_node:
            yield "open", node
            stack.append([node, node.first_child])
        else:
            yield "text", node


def _head_split(
    rewrite: _Rewrite, quote: LexborNode
) -> tuple[LexborNode | None, list[LexborNode]] | None:
    """Where the quoted mail in ``quote`` starts after its head (attribution, forward marker,
    header fields), and the formatting tags in the head; None if it has no head, a start of
    None if it is all head.

    A head opens with an attribution or marker line, or with a From: line that other fields
    follow; it is looked for in the first few lines only.
    """
    formatting: list[LexborNode] = []
    line: list[str] = []
    start: LexborNode | None = None
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

    for count, (kind, node) in enumerate(_events(quote)):
        if count > _HEAD_EVENTS:
            return None
        name = rewrite.name(node)
        if name in _BLOCKS or name == "br":
            verdict = ended()
            if verdict is False:
                return (start, formatting[:before]) if lead or fields >= 2 else None
            if verdict is True:
                start = None
        if kind == "close":
            continue
        if start is None:
            start, before = node, len(formatting)
        if not name:
            line.append(node.text_content or "")
        elif name == "img":
            line.append("[image]")
        elif name in _FORMATTING:
            formatting.append(node)
    verdict = ended()
    if verdict is False:
        return (start, formatting[:before]) if lead or fields >= 2 else None
    return (None, formatting) if lead or fields >= 2 else None


def _text(text: str, *, in_cell: bool, in_pre: bool) -> str:
    """A text node as Markdown: outside <pre>, a run of whitespace becomes a line break if it
    holds one, else a space; in a table cell "|" is escaped, as it would end the cell."""
    if not in_pre and _WHITESPACE_RUN.search(text) is not None:
        text = _WHITESPACE_RUN.sub(_collapsed_run, text)
    if in_cell and "|" in text:
        text = _PIPE.sub(r"\\|", text)
    return text


def _collapsed_run(run: re.Match[str]) -> str:
    return "\n" if "\n" in run.group() or "\r" in run.group() else " "


def _plain_text(root: LexborNode) -> str:
    """The text of the tree, a line each, for HTML too deep to write as Markdown."""
    texts: list[str] = []
    # [next child, in a cell, in <pre>]
    stack: list[list[Any]] = [[root.first_child, False, False]]
    while stack:
        frame = stack[-1]
        node = frame[0]
        if node is None:
            stack.pop()
            continue
        frame[0] = node.next
        if node.is_text_node:
            texts.append(_text(node.text_content or "", in_cell=frame[1], in_pre=frame[2]))
        elif node.is_element_node and (name := node.tag or "") not in _DROPPED:
            stack.append([node.first_child, frame[1] or name in _CELLS, frame[2] or name == "pre"])
    return "\n".join(texts)


# The writer follows markdownify (1.2, with the options this converter always used: ATX
# headings, "-" bullets, nothing escaped but "|" in cells, a table's first row its header),
# which mails were converted with before: the same Markdown, made in one walk without recursion.
_PRE, _NOFORMAT, _INLINE, _LI, _CELL = 1, 2, 4, 8, 16
# Blocks whose edges swallow the white space next to them (inside, and outside with <pre>).
_TRIMMED = frozenset(
    {
        "p",
        "blockquote",
        "article",
        "div",
        "section",
        "ol",
        "ul",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
    }
)
_HEADING = re.compile(r"h(\d+)")
_ALL_WHITESPACE = re.compile(r"[\t \r\n]+")
_BACKTICKS = re.compile(r"`+")


class _Kind:
    """How the writer treats a node by its name."""

    __slots__ = ("convert", "element", "flags", "inside", "name", "outside", "text")

    def __init__(self, name: str) -> None:
        self.name = name
        self.text = name == "-text"
        # Lexbor names what is not a tag "-comment", "-doctype" and the like (a processing
        # instruction, nothing): those are not there for the writer, nor tags that hold no text.
        self.element = bool(name) and name[0] != "-" and name not in _DROPPED
        heading = _HEADING.match(name)
        self.inside = heading is not None or name in _TRIMMED
        self.outside = self.inside or name == "pre"
        flags = 0
        if heading is not None or name in _CELLS:
            flags |= _INLINE
        if name in _CELLS:
            flags |= _CELL
        if name in ("pre", "code", "kbd", "samp"):
            flags |= _NOFORMAT
        if name == "pre":
            flags |= _PRE
        if name == "li":
            flags |= _LI
        self.flags = flags
        self.convert = _CONVERTERS.get(name)
        if self.convert is None and heading is not None:
            self.convert = _heading(int(heading.group(1)))


# A tag being written is a list (the writer's loop makes one per tag, and reads it at every
# child: a list is the cheapest to make and to read). By index:
#  0 the next child to write            1 the tag's _Kind
#  2 the flags of the tags around it (markdownify's parent_tags)
#  3 the flags its children get         4 whether the child written last swallows white space
#                                         next to it (None before the first)
#  5 the children's Markdown            6 whether no tag comes before it among its siblings
#  7 its node                           8 how many tags among its children so far
#  9 the <li> among its children so far 10 its own place among its parent's <li>
# 11 the cells under it (colspan counted) 12 whether all of them are <th>
# 13 its own colspan (a cell)          14 an <ol>'s start
# What a tag being written starts with from index 8 on.
_FRESH = (0, 0, 0, 0, True, 0, None)
_Converter = Callable[["_Writer", "list[Any]", str, "list[list[Any]]"], str]


class _Writer:
    """Markdown for a prepared tree, in one walk without recursion."""

    def __init__(self, images: InlineImages, renamed: Mapping[int, str], *, colspans: bool) -> None:
        self.images = images
        self.renamed = renamed
        # Whether any cell may span columns: reading each cell's attributes costs.
        self.colspans = colspans
        # By mem_id: a <thead>'s rows, and whether a table has a <thead>.
        self.head_rows: dict[int, int] = {}
        self.has_head: dict[int, bool] = {}
        self.kinds: dict[int, _Kind] = {}
        self.named: dict[str, _Kind] = {}

    def kind(self, node: LexborNode) -> _Kind:
        """How ``node`` is written: by its tag, or by the name the rewriting gave it."""
        renamed = self.renamed
        if renamed and node.mem_id in renamed:
            name = renamed[node.mem_id]
            kind = self.named.get(name)
            if kind is None:
                kind = self.named[name] = _Kind(name)
            return kind
        tag_id = node.tag_id
        kind = self.kinds.get(tag_id)
        if kind is None:
            kind = self.kinds[tag_id] = _Kind(node.tag or "")
        return kind

    # One loop, with its steps inline: it runs once per node of the mail.
    def write(self, root: LexborNode) -> str | None:  # noqa: PLR0915
        """The Markdown of everything under ``root``; None if tags nest deeper than
        _MAX_DEPTH."""
        kinds = self.kinds
        renamed = self.renamed
        # <html> and <body> above what a fragment's tags would be.
        limit = _MAX_DEPTH + 2
        frame: list[Any] = [root.first_child, _Kind(""), 0, 0, None, [], True, root, *_FRESH]
        stack = [frame]
        while True:
            node = frame[0]
            if node is None:
                stack.pop()
                strings = frame[5]
                kind = frame[1]
                if len(strings) < 2:
                    text = strings[0] if strings else ""
                elif kind.name == "pre" or frame[2] & _PRE:
                    text = "".join(strings)
                else:
                    text = _joined(strings)
                if kind.convert is not None:
                    text = kind.convert(self, frame, text, stack)
                if not stack:
                    return text.strip("\n")
                parent = stack[-1]
                if text:
                    parent[5].append(text)
                if frame[11] or kind.flags & _CELL:
                    parent[11] += frame[11] + frame[13]
                    if kind.name == "td" or not frame[12]:
                        parent[12] = False
                frame = parent
                continue
            following = node.next
            frame[0] = following
            kind = kinds.get(node.tag_id)
            if kind is None or (renamed and node.mem_id in renamed):
                kind = self.kind(node)
            if kind.element:
                frame[4] = kind.outside
                flags = frame[3] | kind.flags
                only = node.first_child
                child = [only, kind, frame[3], flags, None, [], not frame[8], node, *_FRESH]
                frame[8] += 1
                if kind.flags & _LI:
                    child[10] = frame[9]
                    frame[9] += 1
                if len(stack) >= limit:
                    return None
                if only is not None and (
                    only.next is not None
                    or (only_kind := kinds.get(only.tag_id)) is None
                    or not only_kind.text
                ):
                    stack.append(child)
                    frame = child
                    continue
                # No child, or one text (a link, a cell, a line): written here, without a turn
                # of the loop into the tag and one out.
                text = "" if only is None else (only.text_content or "")
                if kind.inside and (not text or text.isspace()):
                    text = ""
                if text:
                    if not flags & _PRE and ("  " in text or not text.isprintable()):
                        text = _WHITESPACE_RUN.sub(_collapsed_run, text)
                    if flags & _CELL and "|" in text:
                        text = _PIPE.sub(r"\\|", text)
                    if kind.inside:
                        text = text.strip(" \t\r\n").rstrip()
                if kind.convert is not None:
                    text = kind.convert(self, child, text, stack)
                if text:
                    frame[5].append(text)
                if kind.flags & _CELL:
                    frame[11] += child[13]
                    if kind.name == "td":
                        frame[12] = False
                continue
            if not kind.text:
                continue
            # Whether there is a previous sibling and whether it swallows white space, and the
            # same of the next sibling that is text or a tag.
            previous = frame[4]
            frame[4] = False
            after = False
            while following is not None:
                following_kind = kinds.get(following.tag_id)
                if following_kind is None or (renamed and following.mem_id in renamed):
                    following_kind = self.kind(following)
                if following_kind.element or following_kind.text:
                    after = following_kind.outside
                    break
                following = following.next
            text = node.text_content or ""
            inside = frame[1].inside
            if (not text or text.isspace()) and (
                (inside and (previous is None or following is None)) or previous or after
            ):
                continue
            flags = frame[3]
            # Tabs, line breaks and the like are not printable; nor is a no-break space, which
            # costs no more than a look.
            if not flags & _PRE and ("  " in text or not text.isprintable()):
                text = _WHITESPACE_RUN.sub(_collapsed_run, text)
            if flags & _CELL and "|" in text:
                text = _PIPE.sub(r"\\|", text)
            if previous or (inside and previous is None):
                text = text.lstrip(" \t\r\n")
            if after or (inside and following is None):
                text = text.rstrip()
            if text:
                frame[5].append(text)

    def a(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        href = (frame[7].attributes.get("href") or "").strip()
        scheme = _scheme(href)
        label = text.strip()
        if scheme not in _SAFE_SCHEMES or not label or frame[2] & _NOFORMAT:
            return text
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        if label.replace("\\_", "_") in {href, href.removeprefix("mailto:")}:
            return text
        return f"{lead}[{label}]({href.replace(')', '%29').replace(' ', '%20')}){trail}"

    def img(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        attrs = frame[7].attributes
        alt = " ".join((attrs.get("alt") or "").split())
        source = (attrs.get("src") or "").strip()
        if source[:4].lower() != "cid:":
            return f"[{alt}]" if alt else ""
        # An inline image of the mail: its file is listed with the attachments.
        # The URL is a %-encoded Content-ID (RFC 2392).
        name = self.images.name(unquote(source[4:])) or alt
        return f"[image: {name}]" if name else "[image]"

    def pre(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        if not text:
            return ""
        lead = len(text) - len(text.lstrip(" \n"))
        text = text[text.rfind("\n", 0, lead) + 1 :].rstrip(" \n")
        return f"\n\n```\n{text}\n```\n\n"

    def cell(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        value = frame[7].attributes.get("colspan") if self.colspans else None
        colspan = max(1, min(1000, int(value))) if value and value.isdecimal() else 1
        frame[13] = colspan
        return " " + text.strip().replace("\n", " ") + " |" * colspan

    def tr(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        parent = stack[-1]
        parent_name = parent[1].name
        first = frame[6]
        head = frame[12] or (parent_name == "thead" and self._rows(parent[7]) == 1)
        missing = first and (
            parent_name != "tbody" or len(stack) < 2 or not self._has_head(stack[-2][7])
        )
        cells = frame[11]
        if (head or missing) and first:
            return "|" + text + "\n| " + " | ".join(["---"] * cells) + " |\n"
        if first and (parent_name == "table" or (parent_name == "tbody" and parent[6])):
            blank = "| " + " | ".join([""] * cells) + " |\n"
            rule = "| " + " | ".join(["---"] * cells) + " |\n"
            return blank + rule + "|" + text + "\n"
        return "|" + text + "\n"

    def _has_head(self, table: LexborNode) -> bool:
        """Whether a <thead> is anywhere in ``table``: looked for once per table, however many
        bodies it has."""
        found = self.has_head.get(table.mem_id)
        if found is None:
            found = self.has_head[table.mem_id] = table.css_first("thead") is not None
        return found

    def _rows(self, head: LexborNode) -> int:
        rows = self.head_rows.get(head.mem_id)
        if rows is None:
            rows = self.head_rows[head.mem_id] = len(head.css("tr"))
        return rows

    def li(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        text = text.strip()
        if not text:
            return "\n"
        parent = stack[-1]
        if parent[1].name == "ol":
            if parent[14] is None:
                start = parent[7].attributes.get("start") or ""
                parent[14] = int(start) if start.isdecimal() else 1
            bullet = f"{parent[14] + frame[10]}. "
        else:
            bullet = "- "
        text = _indented(text, " " * len(bullet), "")
        return bullet + text[len(bullet) :] + "\n"

    def lists(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        if frame[2] & _LI:
            return "\n" + text.rstrip()
        following = frame[7].next
        while following is not None:
            kind = self.kind(following)
            if kind.element or (kind.text and (following.text_content or "").strip()):
                break
            following = following.next
        before_paragraph = following is not None and self.kind(following).name not in ("ul", "ol")
        return "\n\n" + text + ("\n" if before_paragraph else "")

    def blockquote(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        text = text.strip(" \t\r\n")
        if frame[2] & _INLINE:
            return " " + text + " "
        if not text:
            return "\n"
        return "\n" + _indented(text, "> ", ">") + "\n\n"

    def br(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        if frame[2] & _INLINE:
            return text + " " if text else " "
        return "  \n" + text

    def div(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        if frame[2] & _INLINE:
            return " " + text.strip() + " "
        text = text.strip()
        return f"\n\n{text}\n\n" if text else ""

    def p(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        if frame[2] & _INLINE:
            return " " + text.strip(" \t\r\n") + " "
        text = text.strip(" \t\r\n")
        return f"\n\n{text}\n\n" if text else ""

    def dd(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        text = text.strip()
        if frame[2] & _INLINE:
            return " " + text + " "
        if not text:
            return "\n"
        return ":" + _indented(text, "    ", "")[1:] + "\n"

    def dt(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        text = _ALL_WHITESPACE.sub(" ", text.strip())
        if frame[2] & _INLINE:
            return " " + text + " "
        return f"\n\n{text}\n" if text else "\n"

    def code(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        if frame[2] & _NOFORMAT:
            return text
        prefix, suffix, text = _chomp(text)
        if not text:
            return ""
        backticks = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
        delimiter = "`" * (backticks + 1)
        if backticks:
            text = f" {text} "
        return f"{prefix}{delimiter}{text}{delimiter}{suffix}"

    def hr(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        return "\n\n---\n\n"

    def q(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        return f'"{text}"'

    def table(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        return "\n\n" + text.strip() + "\n\n"

    def caption(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        return text.strip() + "\n\n"

    def figcaption(self, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        return "\n\n" + text.strip() + "\n\n"


def _emphasis(symbol: str) -> _Converter:
    def convert(writer: _Writer, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        if frame[2] & _NOFORMAT:
            return text
        prefix, suffix, text = _chomp(text)
        return f"{prefix}{symbol}{text}{symbol}{suffix}" if text else ""

    return convert


def _heading(level: int) -> _Converter:
    def convert(writer: _Writer, frame: list[Any], text: str, stack: list[list[Any]]) -> str:
        if frame[2] & _INLINE:
            return text
        text = _ALL_WHITESPACE.sub(" ", text.strip())
        return f"\n\n{'#' * min(level, 6)} {text}\n\n"

    return convert


_CONVERTERS: dict[str, _Converter] = {
    "a": _Writer.a,
    "article": _Writer.div,
    "b": _emphasis("**"),
    "blockquote": _Writer.blockquote,
    "br": _Writer.br,
    "caption": _Writer.caption,
    "code": _Writer.code,
    "dd": _Writer.dd,
    "del": _emphasis("~~"),
    "div": _Writer.div,
    "dl": _Writer.div,
    "dt": _Writer.dt,
    "em": _emphasis("*"),
    "figcaption": _Writer.figcaption,
    "hr": _Writer.hr,
    "i": _emphasis("*"),
    "img": _Writer.img,
    "kbd": _Writer.code,
    "li": _Writer.li,
    "ol": _Writer.lists,
    "p": _Writer.p,
    "pre": _Writer.pre,
    "q": _Writer.q,
    "s": _emphasis("~~"),
    "samp": _Writer.code,
    "section": _Writer.div,
    "strong": _emphasis("**"),
    "sub": _emphasis(""),
    "sup": _emphasis(""),
    "table": _Writer.table,
    "td": _Writer.cell,
    "th": _Writer.cell,
    "tr": _Writer.tr,
    "ul": _Writer.lists,
}


def _scheme(href: str) -> str:
    """The scheme of a URL, lower-cased, as urllib.parse.urlsplit reads it (without parsing
    the rest)."""
    href = href.lstrip(_C0_CONTROL_OR_SPACE)
    if "\t" in href or "\r" in href or "\n" in href:
        href = href.replace("\t", "").replace("\r", "").replace("\n", "")
    scheme = _SCHEME.match(href)
    return scheme.group(1).lower() if scheme else ""


_C0_CONTROL_OR_SPACE = "".join(map(chr, range(0x21)))
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _chomp(text: str) -> tuple[str, str, str]:
    """Inline markup's text stripped, and a space for each end it had one at."""
    prefix = " " if text and text[0] == " " else ""
    suffix = " " if text and text[-1] == " " else ""
    return prefix, suffix, text.strip()


def _indented(text: str, prefix: str, blank: str) -> str:
    """Each line of ``text`` after ``prefix``, an empty line made ``blank``; ``text`` has no
    empty first or last line. Done by replacing, not line by line: a quote in a quote does it
    again to the inner one's lines."""
    text = prefix + text.replace("\n", "\n" + prefix)
    empty = f"\n{prefix}\n"
    if empty in text:
        # Two passes: a run of empty lines overlaps itself.
        filled = f"\n{blank}\n"
        text = text.replace(empty, filled).replace(empty, filled)
    return text


def _joined(strings: list[str]) -> str:
    """The children's Markdown joined, the line breaks where two meet made at most two (or the
    more of the two), as markdownify joins them."""
    if len(strings) < 2:
        return strings[0] if strings else ""
    out: list[str] = []
    # The line breaks the last child ended with, if they are the last string in ``out``.
    trail = ""
    for string in strings:
        if string[0] != "\n" and string[-1] != "\n":
            out.append(string)
            trail = ""
            continue
        content = string.lstrip("\n")
        lead = len(string) - len(content)
        if content:
            stripped = content.rstrip("\n")
            ends = "\n" * (len(content) - len(stripped))
            content = stripped
        else:
            ends = ""
        if trail and lead:
            out.pop()
            lead = min(2, max(len(trail), lead))
        out.append("\n" * lead)
        out.append(content)
        out.append(ends)
        trail = ends
    return "".join(out)


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
        # Nothing but quote marks: a blank line.
        if not fenced and not line.strip("> "):
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
    return previous.startswith(">", 2 * depth) != line.startswith(">")
