"""HTML-only mail -> Markdown a maintainer can read, with markdownify (on BeautifulSoup).

The rules, and why: docs/inbound.md#html_markdown.
"""

from __future__ import annotations

import re
import warnings
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
# Past this depth markdownify's recursion would exhaust the stack; such HTML is hostile anyway.
_MAX_DEPTH = 150


def html_to_markdown(html: str) -> str:
    """Markdown for the HTML body of a mail."""
    soup = _parse(html)
    deep = _prepare(soup) > _MAX_DEPTH
    return _tidy(soup.get_text("\n") if deep else _converter().convert_soup(soup))


def _prepare(soup: BeautifulSoup) -> int:
    """Strip what is not text, escape "|" in table cells, flatten Outlook's reply headers.

    One walk over the tree, changing nothing until it is done; returns the depth of the deepest
    tag left.
    """
    from bs4 import Comment, Declaration, Doctype, ProcessingInstruction, Tag  # noqa: PLC0415
    from bs4.element import NavigableString  # noqa: PLC0415

    removed: list[Tag | NavigableString] = []
    in_cells: list[NavigableString] = []
    headers: list[Tag] = []
    bordered: list[Tag] = []
    deepest = 0
    stack: list[tuple[Tag, int, bool]] = [(soup, 0, False)]
    while stack:
        parent, depth, in_cell = stack.pop()
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
                stack.append((node, depth + 1, in_cell or name in _CELLS))
            elif isinstance(node, Comment | Declaration | Doctype | ProcessingInstruction):
                removed.append(node)
            elif in_cell and isinstance(node, NavigableString) and "|" in node:
                in_cells.append(node)
    for node in removed:
        if isinstance(node, Tag):
            node.decompose()
        else:
            node.extract()
    # A "|" in a cell would end the cell: Markdown tables only take it escaped.
    for string in in_cells:
        string.replace_with(_PIPE.sub(r"\\|", str(string)))
    headers += [div for div in bordered if div.find(["b", "strong"])]
    unwrapped = False
    for header in headers:
        for bold in header.find_all(["b", "strong", "span", "font"]):
            bold.unwrap()
            unwrapped = True
    return _depth(soup) if unwrapped and deepest > _MAX_DEPTH else deepest


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
    )


def _tidy(text: str) -> str:
    text = text.replace("\xa0", " ").replace("\r\n", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
