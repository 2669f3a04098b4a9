"""Message -> the Markdown comment posted on GitHub.

The rules, and why: docs/inbound.md#render.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from handler.attachments.model import FilePlan, StoredFile
from handler.attachments.policy import human_size
from handler.inbound.attachments import Attachment, InlineImages
from handler.inbound.headers import Address
from handler.inbound.html_markdown import html_to_markdown
from handler.inbound.mail import Message
from handler.inbound.protocol import CalendarEvent
from handler.inbound.titles import shorten
from handler.inbound.trim import BlockKind, trim_reply

# GitHub rejects comment bodies over 65,536 characters; it counts like JavaScript does (UTF-16
# code units), so an astral character costs two.
# https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
GITHUB_COMMENT_LIMIT = 65_536

# Nobody writes a megabyte of new text in a mail; past this we only need enough to fill a
# comment, and capping keeps trimming and escaping linear on a 40 MB hostile mail.
_MAX_TEXT = 1_000_000
# The attribution and the list of attachments must leave the body room within GitHub's limit,
# whatever the sender's name, subject and file names: each is cut to a length, the list to a count.
_NAME_LIMIT = 256
_LISTED_ATTACHMENTS = 50
# A linked file's line also holds its URL (a few hundred characters, more for a name in another
# script): the list stops short of this many UTF-16 units, which leaves the text most of a comment.
_LINKED_BUDGET = 20_000
# A stored image stands in the text as "[image: <U+FFFC>index<U+FFFC>]" until the text is
# sanitised, then becomes the image (which sanitising would defuse). The mail's own U+FFFC
# (OBJECT REPLACEMENT CHARACTER: a placeholder no text needs) are removed first, so every such
# token is ours.
_OBJECT = "\ufffc"
_FIGURE = re.compile(r"\[image: \ufffc(\d+)\ufffc\]")

# GitHub turns "@name" and "@org/team" into notifications when "@" starts a text node or follows
# a character that is not an ASCII word character: its filter's \W is ASCII, so "é@name" is a
# mention, and "_" may close an emphasis ("_x_@name"). A zero-width space after the "@" keeps the
# text readable and notifies nobody; "&" counts as a name's start, since an entity may spell it
# ("@&#111;cto"). The look-behind comes after the "@" so that the search can skip to each "@".
_MENTION = re.compile(r"@(?<![A-Za-z0-9]@)(?=[A-Za-z0-9&])")
# GitHub decodes entities before it looks for mentions: "&#64;", "&#x40;" (leading zeros too, and
# without ";" where HTML takes that) and "&commat;" are an "@". Their "&" is escaped, so they show
# as written. (escape_inline escapes every "&" already.)
_AT_ENTITY = re.compile(r"&(?=#0*64(?![0-9])|#[xX]0*40(?![0-9A-Fa-f])|commat;)")
_ZWSP = "\u200b"
# An inline link up to the end of its destination: [text](destination; the rest, up to its ")",
# is found with str.find (handler.inbound.render._defuse_links). Reference definitions are
# [label]: destination.
# The destination is written unrolled, x*(?:\(x*\)x*)* where x never matches "(", and possessive:
# matched one character per turn, it kept a backtracking entry for every character.
_LINK_OPEN = re.compile(r"\[([^\[\]]*)\]\(\s*([^()\s]*+(?:\([^()\s]*+\)[^()\s]*+)*+)")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(\S+).*$")
_UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:", "file:")
_WEB_SCHEMES = ("https://", "http://", "mailto:")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20]")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_BACKTICKS = re.compile(r"`+")
# What makes a line indented code (after a blank line, outside a list).
_INDENTED = re.compile(r" {4}|\t")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|<>~&])")
# Text with an "@" between non-space characters reads as an address (a mailto: one too).
# The look-behind starts a match only where a run of such characters starts: without it, a long
# run without an "@" costs time quadratic in its length.
_ADDRESS_LIKE = re.compile(r"(?<![^\s<>()\[\]\"',;])[^\s<>()\[\]\"',;]+@[^\s<>()\[\]\"',;]+")
# Outlook's plain-text stand-in for an inline image: "[cid:image001.png@01DB4E5F.2A3B4C50]".
_CID_MARKER = re.compile(r"\[cid:([^\[\]\s]{1,256})\]", re.IGNORECASE)
# An address in a forward's From line; the look-behind starts a match only where a local part
# starts, as a long run of word characters would otherwise cost quadratic time.
_ADDRESS = re.compile(r"(?<![\w.+'=-])[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+")
_MAILTO_WORD = re.compile(r"mailto:", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]{0,256}>")
_QUOTED = re.compile(r"^ {0,3}>")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|<\s*>|\[\s*\]|\"\s*\"|'\s*'")
# A row of dashes: under a line of text, CommonMark makes that line a heading (setext).
_DASH_UNDERLINE = re.compile(r"^ {0,3}-+[ \t]*$")
# A patch in a plain-text mail (git format-patch, diff -u): where one starts, what its header
# lines are, and a hunk's header with the lines it holds of the old and the new file.
_DIFF_START = re.compile(r"diff (?:--git )?\S|Index: \S")
_DIFF_HEADER = re.compile(
    r"diff |index |--- |\+\+\+ |Index: |={20,}$|(?:new|deleted) file mode |(?:old|new) mode |"
    r"(?:dis)?similarity index |rename (?:from|to) |copy (?:from|to) |Binary files |"
    r"GIT binary patch$"
)
_HUNK = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


@dataclass(frozen=True)
class Comment:
    """A rendered comment; ``empty`` when the mail had nothing new to say."""

    markdown: str
    empty: bool
    truncated: bool = False
    # What the author wrote in this mail, trimmed but not yet made Markdown (an issue title
    # falls back on its first line).
    text: str = ""


def render_comment(
    message: Message,
    recipient: str,
    *,
    keep_quoted: bool = True,
    show_sender_address: bool = False,
    marker: str = "",
    files: Sequence[FilePlan] = (),
) -> Comment:
    """Render ``message`` as the comment for the issue that ``recipient`` addressed.

    ``show_sender_address`` adds the sender's address to the attribution and to forwarded
    mails' and invitations' names. ``marker`` (an HTML comment GitHub does not show) ends the
    comment, within the length limit.

    ``files`` (a linking route's plan of ``message.attachments``, by index): stored images are
    shown where the mail places them, or after its text, and every file is listed, linked or
    with why not. Without them the files are listed as not posted.
    """
    figures = _Figures(message.attachments, files)
    source, as_sent = _source(message, figures)
    reply = trim_reply(source, subject=message.subject)
    body = figures.named(reply.body.strip("\n"))

    # What shows (the author's text, forwards, invitations) and, between, the quotes it answers.
    shown: list[str] = []
    parts: list[str] = []
    history: list[str] = []
    for block in reply.blocks:
        if block.kind is BlockKind.TEXT:
            part = sanitize_markdown(_apart_from_quotes(as_sent(block.text)))
            if parts:
                part = _detached(part)
            part = figures.shown(part)
        elif block.kind is BlockKind.FORWARD:
            # Its head is plain text (escaped whole): an image in it stays named.
            sender = _forward_sender(figures.named(block.sender))
            date, subject = figures.named(block.date), figures.named(block.subject)
            text = as_sent(block.text)
            part = figures.shown(_forward(sender, date, subject, text, show_sender_address))
        elif block.kind is BlockKind.QUOTE:
            if keep_quoted:
                parts.append(_folded(figures.named(block.text), "Quoted text"))
            continue
        else:
            history.append(figures.named(block.text))
            continue
        shown.append(part)
        parts.append(part)
    # Stored images the text never refers to follow it; one it refers to only in a quote is
    # named there and linked in the list.
    referred = {int(index) for index in _FIGURE.findall(source)}
    if after := figures.unplaced(referred):
        shown.append(after)
        parts.append(after)
    for forwarded in message.forwarded:
        part = _forward(
            forwarded.sender,
            forwarded.date,
            forwarded.subject,
            forwarded.text,
            show_sender_address,
        )
        shown.append(part)
        parts.append(part)
    for event in message.events:
        part = _event(event, show_sender_address)
        shown.append(part)
        parts.append(part)
    if keep_quoted and history:
        parts.append(_folded("\n\n".join(history), "Quoted text and signature"))
    empty = not shown and not message.attachments

    head = _attribution(message, show_sender_address)
    tail = (
        (
            _linked(message.attachments, figures.plans)
            if files
            else _attachments(message.attachments)
        )
        + _footer(recipient, message.signatures)
        + (f"\n{marker}" if marker else "")
    )
    markdown = _join(head, *parts, tail=tail)
    if _utf16_len(markdown) <= GITHUB_COMMENT_LIMIT:
        return Comment(markdown=markdown, empty=empty, text=body)

    # Too long: the folded quotes and history go first, then what shows is cut at a line.
    text = "\n\n".join(shown)
    note = (
        f"\n\n*[The mail was too long for a GitHub comment: {_utf16_len(text):,} characters of "
        "text were cut here.]*"
    )
    budget = GITHUB_COMMENT_LIMIT - _utf16_len(_join(head, tail=tail)) - _utf16_len(note) - 16
    markdown = _join(head, _close_fences(_cut(text, budget)) + note, tail=tail)
    return Comment(markdown=markdown, empty=empty, truncated=True, text=body)


def _source(message: Message, figures: _Figures) -> tuple[str, Callable[[str], str]]:
    """The text to trim: the plain text, else the HTML as Markdown, each inline image named (or
    stood in for); and how its paragraphs are shown: plain text was not written as Markdown, so
    its dash rows and patches are made to show as sent."""
    images = {
        item.content_id: figures.stand_in(index, item.filename)
        for index, item in enumerate(message.attachments)
        if item.content_id
    }
    text, markup = figures.own(message.text), figures.own(message.html)
    if text and text.strip():
        inline = InlineImages(images)
        text = _CID_MARKER.sub(lambda found: _image_marker(found.group(1), inline), text)
        return text[:_MAX_TEXT], _as_sent
    if markup:
        return html_to_markdown(markup[:_MAX_TEXT], images=images)[:_MAX_TEXT], _unchanged
    return "", _unchanged


def _detached(part: str) -> str:
    """``part`` with the indented code it opens with fenced: after a part that ends in a list
    (the quote between them folded away), indented lines would continue the list's last item,
    and the HTML that sanitize_markdown left alone as code would be live."""
    lines = part.split("\n")
    count = 0
    while count < len(lines) and (_INDENTED.match(lines[count]) or not lines[count].strip()):
        count += 1
    while count and not lines[count - 1].strip():
        count -= 1
    if not count or not lines[0].strip():
        return part
    code = [_INDENTED.sub("", line, count=1) for line in lines[:count]]
    longest = max((len(run) for line in code for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([fence, *code, fence, *lines[count:]])


def sanitize_markdown(text: str) -> str:
    """Make mail-supplied Markdown safe to post: no raw HTML, no live mentions, no remote images.

    Code (fenced, indented, inline) is left byte-for-byte: GitHub shows it literally, so nothing
    in it can render as HTML or notify anyone.
    """
    out: list[str] = []
    fence: str | None = None
    previous_blank = True
    in_indented_code = False
    in_list = False
    paragraph_unpaired = False
    for line in text.split("\n"):
        if fence is not None:
            out.append(line)
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        opener = _FENCE.match(line)
        if opener:
            fence = opener.group(1)
            # An info string is prose-like (GitHub shows it as a class, not text), but it can
            # carry "<" into an attribute: keep only the language word.
            info = line[opener.end() :].strip().split(" ")[0]
            indent = line[: opener.start(1)]
            out.append(f"{indent}{fence}{re.sub(r'[^A-Za-z0-9_+.#-]', '', info)}")
            previous_blank = False
            continue
        blank = _blank(line)
        if _LIST_ITEM.match(line):
            in_list = True
        elif not blank and not line.startswith((" ", "\t")) and previous_blank:
            # Only after a blank line does unindented text end a list; right after an item's
            # text it is a lazy continuation of that item.
            in_list = False
        is_indented = line.startswith(("    ", "\t")) and not blank
        # Under a list item an indented line is the item's text, not code: CommonMark renders
        # its HTML, so it is escaped like any prose.
        if is_indented and not in_list and (previous_blank or in_indented_code):
            in_indented_code = True
            out.append(line)
            continue
        in_indented_code = in_indented_code and blank
        if blank:
            paragraph_unpaired = False
        sanitized, unpaired = _sanitize_prose_line(line, spans_trusted=not paragraph_unpaired)
        paragraph_unpaired = paragraph_unpaired or unpaired
        out.append(sanitized)
        previous_blank = blank
    if fence is not None:
        out.append(fence)
    return "\n".join(out)


def _unchanged(text: str) -> str:
    return text


def _as_sent(text: str) -> str:
    """Plain text made to show as written: a dash row under a line stays a row (escaped) rather
    than making the line a heading, and a patch goes into a ``diff`` code block, where its
    "+"/"-" lines are not list items. The author's own code fences are left as they are."""
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    # Lines already read as a patch's header without a hunk: not read again from each of them,
    # which would cost time quadratic in a run of "diff" lines.
    read = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
        elif (opener := _FENCE.match(line)) is not None:
            fence = opener.group(1)
        elif i >= read and (patch := _patch(lines, i)) is not None:
            read, whole = patch
            if whole:
                out.append(_fenced(lines[i:read], "diff"))
                i = read
                continue
        if fence is None and _DASH_UNDERLINE.match(line) and _paragraph_line(out):
            line = line.replace("-", "\\-", 1)
        out.append(line)
        i += 1
    return "\n".join(out)


def _paragraph_line(out: list[str]) -> bool:
    """Whether the last line of ``out`` is paragraph text a dash row could underline (a quote's
    is set apart from what follows it: ``_apart_from_quotes``)."""
    return bool(out) and not _blank(out[-1]) and _QUOTED.match(out[-1]) is None


def _patch(lines: list[str], start: int) -> tuple[int, bool] | None:
    """Where a patch that starts at ``start`` ends, and whether it is one (it has a hunk, not
    only lines that look like a header); None if nothing like one starts there.

    A patch opens with "diff ..." or "Index: ...", or with "--- old" over "+++ new". Then come
    header lines and hunks, each hunk as long as its "@@ -a,n +b,m @@" says: a blank line inside
    one is a context line whose space the mail lost.
    """
    first = lines[start]
    opens = _DIFF_START.match(first) is not None or (
        first.startswith("--- ") and start + 1 < len(lines) and lines[start + 1].startswith("+++ ")
    )
    if not opens:
        return None
    i = start
    hunks = 0
    while i < len(lines):
        line = lines[i]
        hunk = _HUNK.match(line)
        if hunk is not None:
            old, new = (int(count) if count else 1 for count in hunk.groups())
            i += 1
            hunks += 1
            while i < len(lines) and (old > 0 or new > 0):
                mark = lines[i][:1]
                if mark in ("", " "):
                    old, new = old - 1, new - 1
                elif mark == "-":
                    old -= 1
                elif mark == "+":
                    new -= 1
                elif mark != "\\":
                    break
                i += 1
            continue
        if _DIFF_HEADER.match(line) or (hunks and line.startswith("\\ ")):
            i += 1
            continue
        break
    return i, hunks > 0


def _fenced(lines: list[str], info: str) -> str:
    """``lines`` as a code block, in a fence longer than any backtick run in them."""
    text = "\n".join(lines)
    runs = _BACKTICKS.findall(text) if "`" in text else []
    fence = "`" * max([3, *(len(run) + 1 for run in runs)])
    return f"{fence}{info}\n{text}\n{fence}"


def _blank(line: str) -> bool:
    """CommonMark's blank line: spaces and tabs only. str.strip() also removes control and
    Unicode spaces, and a line of those is text: taking it for blank would read the indented
    line after it as code and leave its HTML unescaped."""
    return not line.strip(" \t")


def escape_inline(text: str) -> str:
    """Escape a one-line value (a name, a subject) so that it shows literally in Markdown."""
    flat = " ".join(text.split())
    return _MENTION.sub("@" + _ZWSP, _MARKDOWN_SPECIAL.sub(r"\\\1", flat))


def display_name(address: Address) -> str:
    """The display name without any address-like text in it; empty when nothing else is left."""
    name = _EMPTY_BRACKETS.sub(" ", _ADDRESS_LIKE.sub(" ", address.name))
    name = " ".join(name.split()).strip(" -,;:/|\"'")
    return name if any(char.isalnum() for char in name) else ""


def author(address: Address | None, *, show_address: bool = False) -> str:
    """Who the attribution names: the display name, ``Someone at <domain>`` without one, and
    the address beside either only when ``show_address`` (a route's opt-in)."""
    if address is None or not address.addr:
        return "Someone"
    name = display_name(address)
    if show_address:
        return f"{name} <{address.addr}>" if name else address.addr
    if name:
        return name
    return f"Someone at {address.domain}" if address.domain else "Someone"


def _sanitize_prose_line(line: str, *, spans_trusted: bool) -> tuple[str, bool]:
    """Escape HTML, mentions and image syntax outside the line's inline code spans.

    Returns the line and whether it leaves a backtick run unpaired. CommonMark pairs backticks
    across the lines of a paragraph, so after an unpaired run no later span of the paragraph is
    trusted: its backticks might close the earlier run and leave the "code" live.
    """
    if "`" not in line:
        # No code span, nothing unpaired (most lines): the prose rules alone.
        return _sanitize_prose(line), False
    spans, unpaired = _code_spans(line) if spans_trusted else ([], "`" in line)
    parts: list[str] = []
    position = 0
    for span_start, span_end in spans:
        parts.append(_sanitize_prose(line[position:span_start]))
        parts.append(line[span_start:span_end])
        position = span_end
    parts.append(_sanitize_prose(line[position:]))
    return "".join(parts), unpaired


def _sanitize_prose(text: str) -> str:
    # Each pattern runs only on text holding what it needs: this runs for every line of a mail.
    if "](" in text:
        text = _defuse_links(text)
    if "]:" in text:
        text = _REFERENCE_DEFINITION.sub(_safe_definition, text)
    text = text.replace("<", "&lt;")
    text = text.replace("![", "!\\[")
    if "&" in text:
        text = _AT_ENTITY.sub("&amp;", text)
    return _MENTION.sub("@" + _ZWSP, text) if "@" in text else text


def _unsafe_destination(destination: str) -> bool:
    """Whether a link destination runs code or embeds content: javascript:, data:, ...

    CommonMark decodes entities in destinations, and browsers ignore whitespace and control
    characters in a scheme, so both are undone before the scheme is read.
    """
    if destination.startswith(_WEB_SCHEMES):
        # Neither entities nor controls in its first characters: the scheme as written.
        return False
    plain = _CONTROL_OR_SPACE.sub("", html.unescape(destination)).lstrip("<").lower()
    return plain.startswith(_UNSAFE_SCHEMES)


def _defuse_links(text: str) -> str:
    """``text`` with each inline link to an unsafe destination replaced by the link's text.

    A link runs from its "[" to the first ")" after its destination. Found by a pattern for the
    part up to the destination and str.find for the rest: a pattern for the whole link, with
    "[^)]*" after the destination, scans to the end of the line for every "[" when no ")"
    follows, which costs time quadratic in the line.
    """
    last_close = text.rfind(")")
    out: list[str] = []
    position = search = 0
    while (found := _LINK_OPEN.search(text, search)) is not None:
        if found.end() > last_close:
            # No ")" after its destination: not a link; one may start at a later "[".
            search = found.start() + 1
            continue
        end = text.index(")", found.end()) + 1
        if _unsafe_destination(found.group(2)):
            out += [text[position : found.start()], found.group(1)]
            position = end
        search = end
    return "".join(out) + text[position:]


def _safe_definition(found: re.Match[str]) -> str:
    """A reference definition to an unsafe destination is defused (shown, not linked)."""
    return "\\" + found.group(0) if _unsafe_destination(found.group(1)) else found.group(0)


def _code_spans(line: str) -> tuple[list[tuple[int, int]], bool]:
    """Inline code spans as CommonMark pairs them, and whether a backtick run is left unpaired.

    A backslash before a backtick changes how CommonMark counts the run; such a line gets no
    spans at all, which only ever escapes more.
    """
    if "`" not in line:
        # Searching for a run costs a regular-expression step per character; most lines have none.
        return [], False
    runs = list(_BACKTICKS.finditer(line))
    if any(run.start() > 0 and line[run.start() - 1] == "\\" for run in runs):
        return [], bool(runs)
    # Where runs of each length are, in order: a run closes at the next run of its length, found
    # by bisection, as scanning the runs after each opener costs time quadratic in their number.
    of_length: dict[int, list[int]] = {}
    for number, run in enumerate(runs):
        of_length.setdefault(run.end() - run.start(), []).append(number)
    spans: list[tuple[int, int]] = []
    unpaired = False
    index = 0
    while index < len(runs):
        opener = runs[index]
        same = of_length[opener.end() - opener.start()]
        later = bisect.bisect_right(same, index)
        if later == len(same):
            unpaired = True
            index += 1
            continue
        closer = same[later]
        spans.append((opener.start(), runs[closer].end()))
        index = closer + 1
    return spans, unpaired


def _attribution(message: Message, show_address: bool) -> str:
    sender = message.from_[0] if message.from_ else None
    who = escape_inline(shorten(author(sender, show_address=show_address), _NAME_LIMIT))
    subject = message.subject.strip()
    if subject:
        return f"**{who}** wrote by email: **{escape_inline(shorten(subject, _NAME_LIMIT))}**"
    return f"**{who}** wrote by email:"


def _folded(text: str, label: str) -> str:
    """``text`` folded into <details>, inside a fence longer than any backtick run in it."""
    runs = _BACKTICKS.findall(text) if "`" in text else []
    fence = "`" * max([3, *(len(run) + 1 for run in runs)])
    text = text.strip("\n")
    lines = text.count("\n") + 1
    summary = f"{label} ({lines} line{'s' if lines != 1 else ''})"
    return f"<details>\n<summary>{summary}</summary>\n\n{fence}text\n{text}\n{fence}\n\n</details>"


def _apart_from_quotes(text: str) -> str:
    """``text`` with a blank line after each quote that text follows directly: CommonMark
    would read that text as the quote's lazy continuation. Code fences are left as they are."""
    if ">" not in text:
        return text
    out: list[str] = []
    fence: str | None = None
    quoted = False
    for line in text.split("\n"):
        opener = _FENCE.match(line)
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
        elif opener:
            fence = opener.group(1)
        if quoted and fence is None and not _blank(line) and not _QUOTED.match(line):
            out.append("")
        out.append(line)
        quoted = fence is None and _QUOTED.match(line) is not None
    return "\n".join(out)


def _forward_sender(written: str) -> Address | None:
    """The sender a forward's From line names ("Anna <a@x>", "Anna [mailto:a@x]", "Anna")."""
    written = written.strip()[: _NAME_LIMIT * 4]
    matches = list(_ADDRESS.finditer(written))
    if not matches:
        return Address(written, "", "") if written else None
    found = matches[-1]
    local, _, domain = found.group().rpartition("@")
    name = f"{written[: found.start()]} {written[found.end() :]}"
    name = _TAG.sub(" ", _MAILTO_WORD.sub(" ", name)).strip(" <>[]()\"'")
    return Address(name, local, domain.lower())


def _forward(sender: Address | None, date: str, subject: str, text: str, show_address: bool) -> str:
    """A forwarded mail: one line naming it, then its text as a quote."""
    heading = "**Forwarded message**"
    if sender is not None and (sender.addr or display_name(sender)):
        who = author(sender, show_address=show_address) if sender.addr else display_name(sender)
        heading += f" from {escape_inline(shorten(who, _NAME_LIMIT))}"
    for value in (date, subject):
        if value.strip():
            heading += f" · {escape_inline(shorten(value.strip(), _NAME_LIMIT))}"
    content = sanitize_markdown(_apart_from_quotes(text.strip("\n")))
    if not content.strip():
        return heading
    quoted = "\n".join(_quoted(line) for line in content.split("\n"))
    return f"{heading}\n\n{quoted}"


def _quoted(line: str) -> str:
    """``line`` as a quote's line that reads as it did outside the quote. Its leading tabs are
    spaces to the same column: after "> " a tab reaches only the next tab stop, so indented code
    (which sanitize_markdown leaves raw) would otherwise become text, and its HTML live."""
    text = line.lstrip(" \t")
    if not text:
        return ">"
    return "> " + line[: len(line) - len(text)].expandtabs(4) + text


# iTIP's methods (RFC 5546), as a reader names them.
_EVENT_KINDS = {
    "REQUEST": "invitation",
    "ADD": "invitation",
    "CANCEL": "cancellation",
    "REPLY": "reply",
}


def _event(event: CalendarEvent, show_address: bool) -> str:
    kind = _EVENT_KINDS.get(event.method.upper(), "event")
    lines = [f"**Calendar {kind}:** {escape_inline(shorten(event.summary, _NAME_LIMIT))}".rstrip()]
    if event.start:
        when = f"{event.start} \u2013 {event.end}" if event.end else event.start
        lines.append(f"- When: {escape_inline(when)}")
    if event.location:
        lines.append(f"- Where: {escape_inline(shorten(event.location, _NAME_LIMIT))}")
    if event.organizer is not None:
        who = author(event.organizer, show_address=show_address)
        lines.append(f"- Organiser: {escape_inline(shorten(who, _NAME_LIMIT))}")
    return "\n".join(lines)


def _image_marker(content_id: str, images: InlineImages) -> str:
    """An Outlook "[cid:...]" placeholder as the file it shows, "[image]" if none matches."""
    name = images.name(content_id)
    return f"[image: {name}]" if name else "[image]"


def _attachments(attachments: tuple[Attachment, ...]) -> str:
    if not attachments:
        return ""
    lines = [f"**Attachments** (not posted, {len(attachments)}):"]
    lines += [
        f"- {escape_inline(shorten(item.filename, _NAME_LIMIT))} "
        f"({escape_inline(shorten(item.content_type, _NAME_LIMIT))}, {human_size(item.size)})"
        for item in attachments[:_LISTED_ATTACHMENTS]
    ]
    if len(attachments) > _LISTED_ATTACHMENTS:
        lines.append(f"- and {len(attachments) - _LISTED_ATTACHMENTS} more")
    return "\n".join(lines) + "\n\n"


class _Figures:
    """A linking route's stored images in the text: each placed by a stand-in token until the
    text is safe, then written as an image where it shows, or named where it is only quoted."""

    def __init__(self, attachments: Sequence[Attachment], files: Sequence[FilePlan]) -> None:
        self.attachments = attachments
        self.plans: dict[int, FilePlan] = {plan.index: plan for plan in files}
        self.images = {
            index: plan
            for index, plan in self.plans.items()
            if isinstance(plan, StoredFile) and plan.inline and index < len(attachments)
        }

    def own(self, text: str | None) -> str | None:
        """The mail's ``text`` without any token of its own (when there are images to place)."""
        return text.replace(_OBJECT, "") if text and self.images else text

    def stand_in(self, index: int, filename: str) -> str:
        """What the text names the ``index``-th file by, where the mail shows it."""
        return f"{_OBJECT}{index}{_OBJECT}" if index in self.images else filename

    def shown(self, markdown: str) -> str:
        """Sanitised ``markdown`` with each stand-in the image it stands for."""
        return self._replaced(markdown, self._image)

    def named(self, text: str) -> str:
        """``text`` with each stand-in the file's name, as the mail's text had it."""
        return self._replaced(text, lambda index: f"[image: {self._name(index)}]")

    def _replaced(self, text: str, write: Callable[[int], str]) -> str:
        if not self.images or _OBJECT not in text:
            return text

        def replace(found: re.Match[str]) -> str:
            index = int(found.group(1))
            return write(index) if index in self.images else found.group(0)

        # A stand-in escaped along with the text around it (a forward's From line) is no
        # longer one: its characters go.
        return _FIGURE.sub(replace, text).replace(_OBJECT, "")

    def unplaced(self, referred: set[int]) -> str:
        """The stored images not in ``referred``, one paragraph each."""
        return "\n\n".join(self._image(index) for index in self.images if index not in referred)

    def _name(self, index: int) -> str:
        return " ".join(self.attachments[index].filename.split())

    def _image(self, index: int) -> str:
        name = escape_inline(shorten(self.attachments[index].filename, _NAME_LIMIT))
        return f"![{name}]({self.images[index].place.image_url})"


def _linked(attachments: Sequence[Attachment], plans: Mapping[int, FilePlan]) -> str:
    """Every file: a stored one linked to where it is kept, the others with why they are not;
    cut to a count and a length."""
    lines = [f"**Attachments** ({len(attachments)}):"]
    used = 0
    for index, item in enumerate(attachments):
        line = _file_line(item, plans.get(index))
        used += _utf16_len(line) + 1
        if index == _LISTED_ATTACHMENTS or used > _LINKED_BUDGET:
            lines.append(f"- and {len(attachments) - index} more")
            break
        lines.append(line)
    return "\n".join(lines) + "\n\n"


def _file_line(item: Attachment, plan: FilePlan | None) -> str:
    name = escape_inline(shorten(item.filename, _NAME_LIMIT))
    if isinstance(plan, StoredFile):
        kind = escape_inline(shorten(plan.content_type, _NAME_LIMIT))
        return f"- [{name}]({plan.place.url}) ({kind}, {human_size(item.size)})"
    kind = escape_inline(shorten(item.content_type, _NAME_LIMIT))
    line = f"- {name} ({kind}, {human_size(item.size)})"
    if plan is None:
        return line
    why = escape_inline(shorten(plan.detail or plan.reason.meaning, _NAME_LIMIT))
    return f"{line}: not linked, {why}"


def _footer(recipient: str, signatures: tuple[str, ...]) -> str:
    signed = (
        f" · signed: {escape_inline(', '.join(signatures))} (not verified)" if signatures else ""
    )
    return (
        f"<sub>Sent by email to {escape_inline(recipient)}{signed} · posted by ticket-router</sub>"
    )


def _join(*parts: str, tail: str) -> str:
    return "\n\n".join(part for part in parts if part) + "\n\n" + tail


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, budget: int) -> str:
    """The longest prefix of ``text`` within ``budget`` UTF-16 units, ending at a line break."""
    if _utf16_len(text) <= budget:
        return text
    if budget <= 0:
        # Nothing fits (and a negative slice would not shrink below it).
        return ""
    prefix = text[:budget]
    while _utf16_len(prefix) > budget:
        prefix = prefix[: len(prefix) - (_utf16_len(prefix) - budget)]
    newline = prefix.rfind("\n")
    if newline > budget // 2:
        return prefix[:newline]
    # One enormous line: cut mid-line, but never through an escape we added ("&lt;", "\[").
    return re.sub(r"(&[a-z]{0,3}|\\)$", "", prefix)


def _close_fences(text: str) -> str:
    """Close a code fence left open by a cut, so the note and footer stay outside it."""
    fence: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if fence is None:
            opener = _FENCE.match(line)
            if opener:
                fence = opener.group(1)
        elif stripped.startswith(fence) and set(stripped) == {fence[0]}:
            fence = None
    return text if fence is None else f"{text}\n{fence}"
