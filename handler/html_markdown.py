"""HTML-only mail -> Markdown a maintainer can read, with markdownify (on BeautifulSoup).

Pure. What a mail's HTML carries beyond text is dropped on purpose: scripts, styles and
Office markup vanish, images become their alt text (a remote image is a tracking pixel), and links
keep only web and mail schemes. What reply trimming needs is kept as text: ``<blockquote>`` becomes
``> `` quoted lines, and the reply headers of Outlook (bold "From:" / "Sent:" lines) become plain
lines.

Security does not rest here: render.sanitize_markdown escapes whatever HTML the Markdown still
holds before anything is posted.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, ProcessingInstruction, Tag
from markdownify import MarkdownConverter

_DROPPED = (
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
)
_SAFE_SCHEMES = {"http", "https", "mailto"}
# Outlook's reply header: <div id="divRplyFwdMsg"> (web, new Outlook) or a div with a top border
# (desktop Outlook), holding <b>From:</b> ... <b>Sent:</b> ... lines.
_OUTLOOK_BORDER = re.compile(r"border-top:\s*solid", re.IGNORECASE)
_PIPE = re.compile(r"(?<!\\)\|")
# Past this depth markdownify's recursion would exhaust the stack; such HTML is hostile anyway.
_MAX_DEPTH = 150


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


def html_to_markdown(html: str) -> str:
    """Markdown for the HTML body of a mail."""
    soup = BeautifulSoup(html, "html.parser")
    for node in soup.find_all(string=True):
        if isinstance(node, Comment | Declaration | Doctype | ProcessingInstruction):
            node.extract()
    for tag in soup.find_all(_DROPPED):
        tag.decompose()
    # A "|" in a cell would end the cell: Markdown tables only take it escaped.
    for cell in soup.find_all(["td", "th"]):
        for string in cell.find_all(string=True):
            if "|" in string:
                string.replace_with(_PIPE.sub(r"\\|", str(string)))
    for header in _outlook_headers(soup):
        for bold in header.find_all(["b", "strong", "span", "font"]):
            bold.unwrap()
    if _depth(soup) > _MAX_DEPTH:
        text = soup.get_text("\n")
    else:
        text = _Converter(
            heading_style="ATX",
            bullets="-",
            autolinks=False,
            # People type Markdown into HTML mail clients too (**bold**): keep it live, as
            # the text/plain body is.
            escape_asterisks=False,
            escape_underscores=False,
            escape_misc=False,
            table_infer_header=True,
        ).convert_soup(soup)
    return _tidy(text)


def _outlook_headers(soup: BeautifulSoup) -> list[Tag]:
    found = [tag for tag in soup.find_all("div", id="divRplyFwdMsg") if isinstance(tag, Tag)]
    for div in soup.find_all("div", style=_OUTLOOK_BORDER):
        if isinstance(div, Tag) and div.find(["b", "strong"]):
            found.append(div)
    return found


def _depth(soup: BeautifulSoup) -> int:
    deepest = 0
    for tag in soup.find_all(True):
        depth = sum(1 for _ in tag.parents)
        deepest = max(deepest, depth)
        if deepest > _MAX_DEPTH:
            break
    return deepest


def _tidy(text: str) -> str:
    text = text.replace("\xa0", " ").replace("\r\n", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
