"""HTML-only mail -> Markdown a maintainer can read, with markdownify (on BeautifulSoup).

The rules, and why: docs/inbound.md#html_markdown.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, ResultSet, Tag
    from bs4.element import NavigableString
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
# Outlook's reply header: <div id="divRplyFwdMsg"> (web, new Outlook) or a div with a top border
# (desktop Outlook), holding <b>From:</b> ... <b>Sent:</b> ... lines.
_OUTLOOK_BORDER = re.compile(r"border-top:\s*solid", re.IGNORECASE)
_PIPE = re.compile(r"(?<!\\)\|")
# What the stdlib's HTML parser before Python 3.11.13 (CVE-2025-6069) scans for to the end of the
# document once per occurrence when nothing closes it: comments, marked sections ("<![if ...]>",
# CDATA). They are dropped before it parses, as its parse would drop them.
_DECLARATION_OPEN = re.compile(r"<!(?:--|\[)")
_COMMENT_CLOSE = re.compile(r"--\s*>")
_WHITESPACE_RUN = re.compile(r"[\t \r\n]+")
# Past this depth markdownify's recursion would exhaust the stack; such HTML is hostile anyway.
_MAX_DEPTH = 150


def html_to_markdown(html: str, images: Mapping[str, str] | None = None) -> str:
    """Markdown for the HTML body of a mail.

    ``images`` names the files of the mail's inline images by Content-ID (without angle
    brackets): an ``<img src="cid:...">`` leaves ``[image: name]`` at its place.
    """
    soup = _parse(_defused(html))
    deep = _prepare(soup) > _MAX_DEPTH
    return _tidy(soup.get_text("\n") if deep else _converter().convert_soup(soup))


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


def _prepare(soup: BeautifulSoup) -> int:
    """Strip what is not text, escape "|" in table cells, flatten Outlook's reply headers, and
    collapse the whitespace of text outside <pre> as markdownify would.

    One walk over the tree, changing nothing until it is done; returns the depth of the deepest
    tag left.
    """
    from bs4 import Comment, Declaration, Doctype, ProcessingInstruction, Tag  # noqa: PLC0415
    from bs4.element import NavigableString  # noqa: PLC0415

    removed: list[Tag | NavigableString] = []
    rewritten: list[tuple[NavigableString, str]] = []
    headers: list[Tag] = []
    bordered: list[Tag] = []
    deepest = 0
    stack: list[tuple[Tag, int, bool, bool]] = [(soup, 0, False, False)]
    while stack:
        parent, depth, in_cell, in_pre = stack.pop()
        for node in parent.contents:
            if isinstance(node, Tag):
                name = node.name
                if name in _DROPPED:
                    removed.append(node)
                    continue
                deepest = max(deepest, depth + 1)
                if name == "div":
                    if node.get("id") == "divRplyFwdMsg":
                        headers.append(node)
                    style = node.get("style")
                    if isinstance(style, str) and _OUTLOOK_BORDER.search(style):
                        bordered.append(node)
                child = (node, depth + 1, in_cell or name in _CELLS, in_pre or name == "pre")
                stack.append(child)
            elif isinstance(node, Comment | Declaration | Doctype | ProcessingInstruction):
                removed.append(node)
            elif isinstance(node, NavigableString):
                text = _text(str(node), in_cell=in_cell, in_pre=in_pre)
                if text != node:
                    rewritten.append((node, text))
    for node in removed:
        if isinstance(node, Tag):
            node.decompose()
        else:
            node.extract()
    for string, text in rewritten:
        string.replace_with(text)
    headers += [div for div in bordered if div.find(["b", "strong"])]
    unwrapped = False
    for header in headers:
        for bold in header.find_all(["b", "strong", "span", "font"]):
            bold.unwrap()
            unwrapped = True
    return _depth(soup) if unwrapped and deepest > _MAX_DEPTH else deepest


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


def _depth(soup: BeautifulSoup) -> int:
    deepest = 0
    for tag in soup.find_all(True):
        depth = sum(1 for _ in tag.parents)
        deepest = max(deepest, depth)
        if deepest > _MAX_DEPTH:
            break
    return deepest


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
def _converter() -> MarkdownConverter:
    from markdownify import MarkdownConverter  # noqa: PLC0415

    class _Converter(MarkdownConverter):
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
            return f"[{alt}]" if alt else ""

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

    return _Converter(
        heading_style="ATX",
        bullets="-",
        autolinks=False,
        # People type Markdown into HTML mail clients too (**bold**): keep it live, as
        # the text/plain body is.
        escape_asterisks=False,
        escape_underscores=False,
        escape_misc=False,
        table_infer_header=True,
        strip_pre=None,
    )


def _tidy(text: str) -> str:
    text = text.replace("\xa0", " ").replace("\r\n", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
