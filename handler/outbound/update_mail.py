"""One update mailed to a participant of an issue: a comment, or the issue closed or reopened.

Pure: ``render_update`` returns the MIME bytes SES sends, the same bytes for the same inputs.
What the mail holds, and why: docs/outbound.md#update_mail."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

KINDS = frozenset({"comment", "closed", "reopened"})

# Plain ASCII addresses only: SES needs SMTPUTF8 for anything else, and a header value must not
# hide a line break or a second address.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253}")
# RFC 5322 msg-id without its angle brackets; anything else is left out rather than sent.
_MESSAGE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,250}")
# A URL fit for <...> in a header (RFC 2369): printable ASCII without space, < or >.
_HEADER_URL = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,900}")
# Line breaks of every kind (and other controls) that could end a header or fake a body line.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# What a text body must not hold (RFC 5322 2.3: no NUL, no bare CR; other controls are noise).
_BODY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# RFC 5322 2.1.1: a line of at most 998 octets may go as it is; longer ones need an encoding.
_MAX_7BIT_LINE = 998
# RFC 2919 3: a list-id (label and namespace) is at most 255 octets.
_MAX_LIST_ID = 255
_LIST_LABEL = re.compile(r"[^a-z0-9-]+")
_NO_TEXT = "(no text)"


def without_html_comments(text: str) -> str:
    """``text`` without its ``<!-- ... -->`` comments: our own invisible markers, and anyone's
    (GitHub shows none). An unclosed one is kept. Found with str.find, once each: a pattern
    with ``.*?`` rescans to the end for every ``<!--`` that never closes."""
    kept: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        kept.append(text[position:start])
        position = end + 3
    kept.append(text[position:])
    return "".join(kept)


@dataclass(frozen=True)
class Update:
    """What happened on an issue, independent of who is told about it."""

    kind: str  # "comment" | "closed" | "reopened"
    repo: str
    issue: int
    title: str
    issue_url: str
    # GitHub login of who commented / closed / reopened; for a comment posted from a mail
    # (``by_mail``), its sender's display name.
    author: str
    text: str = ""  # the comment's Markdown (kind "comment")
    url: str = ""  # the comment's html_url (kind "comment"), else the issue's
    state_reason: str | None = None
    # A comment posted from a participant's mail: "<author> wrote by email on ...".
    by_mail: bool = False


class _Policy(EmailPolicy):
    """SMTP's policy, but the headers that hold one long token are written as given.

    The stdlib folds an unstructured header by RFC 2047-encoding a word too long for one line:
    a List-Unsubscribe URL or an In-Reply-To would reach the client as ``=?utf-8?q?...?=``
    and stop working. Those headers are built here, line breaks checked, already folded.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:  # noqa: ANN401 - the stdlib's signature
        if name.lower() in _VERBATIM and isinstance(value, str):
            if "\r" in value or _CONTROLS.search(value.replace("\n ", " ")):
                raise ValueError(f"{name}: a line break or control character in {value!r}")
            return (name, value)
        return super().header_store_parse(name, value)


_VERBATIM = frozenset({"in-reply-to", "references", "list-id", "list-unsubscribe"})
# refold_source="none": the verbatim headers above keep their own folding; the others are
# header objects, folded by the stdlib as SMTP's policy would.
_POLICY = _Policy(linesep="\r\n", refold_source="none")


def render_update(
    update: Update,
    *,
    to: str,
    from_address: str,
    project: str,
    in_reply_to: str | None,
    subject: str,
    message_id: str,
    unsubscribe_url: str | None,
    unsubscribe_mailto: str,
    now: float,
    references: Sequence[str] = (),
    copied_by: str = "",
) -> bytes:
    """The update as ``to`` receives it, from ``from_address`` (the issue's own address).

    ``in_reply_to`` is the participant's latest Message-ID without <> (left out when None or
    not a valid msg-id); ``references`` the ids the References header starts with (the
    thread's root), before ``in_reply_to``; ``message_id`` is this mail's
    (``update_message_id``), without <>. ``unsubscribe_url`` is the https one-click link, None
    when there is only the mailto. ``copied_by``, the display name of who copied ``to`` on a
    mail to the issue, adds a paragraph saying so and how to leave, before the signature.

    Raises ValueError for a ``to`` or ``from_address`` that is not one plain ASCII address, an
    invalid ``message_id``, an ``unsubscribe_url`` that is not https, an
    ``unsubscribe_mailto`` that is not a mailto: URL or an unknown ``update.kind``.
    """
    if update.kind not in KINDS:
        raise ValueError(f"unknown update kind {update.kind!r}")
    for what, address in (("to", to), ("from_address", from_address)):
        if not _PLAIN_ADDRESS.fullmatch(address):
            raise ValueError(f"{what} is not a plain address: {address!r}")
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(f"invalid message_id {message_id!r}")
    if unsubscribe_url is not None and (
        urlsplit(unsubscribe_url).scheme != "https" or not _HEADER_URL.fullmatch(unsubscribe_url)
    ):
        raise ValueError(f"unsubscribe_url must be an https URL (RFC 8058): {unsubscribe_url!r}")
    if not unsubscribe_mailto.startswith("mailto:") or not _HEADER_URL.fullmatch(
        unsubscribe_mailto
    ):
        raise ValueError(f"invalid unsubscribe_mailto {unsubscribe_mailto!r}")
    words = _Words.of(update, unsubscribe_url, unsubscribe_mailto, copied_by, from_address)

    mime = EmailMessage(policy=_POLICY)
    mime["From"] = Address(display_name=_one_line(project), addr_spec=from_address)
    mime["To"] = Address(addr_spec=to)
    mime["Reply-To"] = Address(addr_spec=from_address)
    mime["Subject"] = _one_line(subject)
    mime["Date"] = formatdate(now, usegmt=True)
    mime["Message-ID"] = f"<{message_id}>"
    reply_to = _msg_id(in_reply_to or "")
    if reply_to:
        mime["In-Reply-To"] = f"<{reply_to}>"
    # RFC 5322 3.6.4: the root first, the message answered last; each id once.
    chain = dict.fromkeys(found for found in map(_msg_id, [*references, reply_to]) if found)
    if chain:
        mime["References"] = "\n ".join(f"<{found}>" for found in chain)
    mime["Auto-Submitted"] = "auto-generated"
    # Asks Exchange and others not to answer with their own auto-replies.
    mime["X-Auto-Response-Suppress"] = "All"
    mime["Precedence"] = "list"
    mime["List-Id"] = _list_id(project, update, from_address.rpartition("@")[2])
    if unsubscribe_url is not None:
        mime["List-Unsubscribe"] = f"<{unsubscribe_url}>,\n <{unsubscribe_mailto}>"
        # RFC 8058: the receiver may POST this body to the https URL, without asking.
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        mime["List-Unsubscribe"] = f"<{unsubscribe_mailto}>"
    plain = words.plain()
    mime.set_content(plain, charset="utf-8", cte=_transfer_encoding(plain))
    page = words.html()
    mime.add_alternative(page, subtype="html", charset="utf-8", cte=_transfer_encoding(page))
    for part in mime.iter_parts():
        # The stdlib gives an added part a MIME-Version of its own; it belongs at the top only.
        del part["MIME-Version"]
    # "=_" cannot occur in quoted-printable text, and hex never starts with it.
    mime.set_boundary("=_" + hashlib.sha256(message_id.encode()).hexdigest()[:32])
    return mime.as_bytes()


def _msg_id(value: str) -> str:
    """``value`` without its <>, "" when that is not a msg-id: left out rather than sent."""
    value = value.strip().strip("<>")
    return value if _MESSAGE_ID.fullmatch(value) else ""


def update_message_id(event_key: str, address: str, domain: str) -> str:
    """The Message-ID (without <>) of the mail about ``event_key`` to ``address``: the same
    event to the same person always gets the same id, so a resend is recognisably the same."""
    digest = hashlib.sha256(f"{event_key}\0{address.lower()}".encode()).hexdigest()
    return f"update.{digest[:24]}@{domain.lower()}"


@dataclass(frozen=True)
class _Words:
    """What both parts say, already reduced to what may be shown."""

    update: Update
    opening: str  # the first line, without the link to the issue
    comment: str | None  # the Markdown shown, None for a closed/reopened notice
    unsubscribe_url: str | None
    unsubscribe_address: str  # the mailto's address, shown when there is no URL
    unsubscribe_mailto: str
    copied_by: str  # who copied the recipient in, "" when the mail need not say why they get it
    issue_address: str

    @classmethod
    def of(
        cls,
        update: Update,
        unsubscribe_url: str | None,
        mailto: str,
        copied_by: str,
        issue_address: str,
    ) -> _Words:
        author = _one_line(update.author)
        comment = None
        if update.kind == "comment":
            opening = f"{author} wrote by email on" if update.by_mail else f"{author} commented on"
            text = update.text.replace("\r\n", "\n").replace("\r", "\n")
            text = _BODY_CONTROLS.sub("", without_html_comments(text))
            comment = text.strip("\n") if text.strip() else ""
        elif update.kind == "closed":
            opening = f"{author} closed"
        else:
            opening = f"{author} reopened"
        address = mailto.removeprefix("mailto:").partition("?")[0]
        return cls(
            update,
            opening,
            comment,
            unsubscribe_url,
            address,
            mailto,
            _one_line(copied_by),
            issue_address,
        )

    @property
    def issue(self) -> str:
        return f"{_one_line(self.update.repo)}#{self.update.issue}"

    @property
    def link(self) -> str:
        """Where "view it on GitHub" goes: the comment, else the issue."""
        return self.update.url or self.update.issue_url

    @property
    def why(self) -> str:
        """The introduction's first sentence, "" when there is none."""
        if not self.copied_by:
            return ""
        return (
            f"You are getting this because {self.copied_by} copied you on a mail to "
            f"{self.issue_address}."
        )

    @property
    def closing(self) -> str:
        """What follows the issue's name in the first line."""
        if self.comment is not None:
            return ":"
        reason = _one_line(self.update.state_reason or "").replace("_", " ")
        if self.update.kind == "closed" and reason:
            return f" ({reason})."
        return "."

    def plain(self) -> str:
        lines = [f"{self.opening} {self.issue}{self.closing}", ""]
        if self.comment is not None:
            lines += [self.comment or _NO_TEXT, ""]
        if self.why:
            # No full stop after the link: a client would take it for part of the URL.
            way_out = self.unsubscribe_url or self.unsubscribe_address
            lines += [f"{self.why} Reply to take part, or unsubscribe: {way_out}", ""]
        lines += [
            "-- ",
            f"{self.issue}: {_one_line(self.update.title)}",
            f"Reply to this mail to comment, or view it on GitHub: {_one_line(self.link)}",
            f"Unsubscribe from {self.issue}: {self.unsubscribe_url or self.unsubscribe_address}",
        ]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        issue = _link(self.update.issue_url, self.issue)
        title = html.escape(_one_line(self.update.title))
        parts = [
            "<!DOCTYPE html>",
            "<html>",
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{title}</title>",
            "</head>",
            "<body>",
            f"<p>{html.escape(self.opening)} {issue}{html.escape(self.closing)}</p>",
        ]
        if self.comment is not None:
            if self.comment:
                parts.append(_markdown().render(self.comment).rstrip("\n"))
            else:
                parts.append(f"<p><em>{_NO_TEXT}</em></p>")
        way_out = self.unsubscribe_url or self.unsubscribe_mailto
        if self.why:
            leave = _link(way_out, "unsubscribe")
            parts.append(f"<p>{html.escape(self.why)} Reply to take part, or {leave}.</p>")
        unsubscribe = _link(way_out, f"Unsubscribe from {self.issue}")
        parts += [
            "<hr>",
            f"<p>{issue}: {title}<br>",
            f"Reply to this mail to comment, or {_link(self.link, 'view it on GitHub')}.<br>",
            f"{unsubscribe}</p>",
            "</body>",
            "</html>",
        ]
        return "\n".join(parts) + "\n"


def _one_line(text: str) -> str:
    """``text`` fit for a header or a single line: controls gone, whitespace runs one space."""
    return " ".join(_CONTROLS.sub(" ", text).split())


def _safe_url(url: str) -> bool:
    # markdown-it's own check lets data:image/... through; a mail needs neither that nor
    # relative links (relative to what?).
    return urlsplit(url.strip()).scheme.lower() in _LINK_SCHEMES


def _link(url: str, text: str) -> str:
    """An HTML link to ``url`` (escaped), or just the text when the URL is not a safe one."""
    url = _one_line(url)
    if not _safe_url(url):
        return html.escape(text)
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'


def _image_as_link(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    return _link(str(token.attrGet("src") or ""), alt or "image")


@cache
def _markdown() -> MarkdownIt:
    """GitHub's comment Markdown, as far as mail needs it; built on first use.

    markdown-it is imported here, not with the module: its import costs a cold start about
    55 ms, and only a comment with text needs it.
    """
    from markdown_it import MarkdownIt  # noqa: PLC0415 - see the docstring

    # breaks: a newline in a comment is a line break on GitHub; html off: raw HTML is shown as
    # text, never passed through.
    md = MarkdownIt("commonmark", {"html": False, "breaks": True})
    md.enable(["table", "strikethrough"])
    md.validateLink = _safe_url  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_link)
    return md


def _transfer_encoding(text: str) -> str:
    """7bit when every line may go as it is; quoted-printable otherwise (still mostly readable
    raw, unlike base64)."""
    if text.isascii() and all(len(line) <= _MAX_7BIT_LINE for line in text.splitlines()):
        return "7bit"
    return "quoted-printable"


def _list_id(project: str, update: Update, domain: str) -> str:
    """RFC 2919 List-Id: a list per issue (``issue-N.name.owner.domain``) named for the project."""
    owner, _, name = update.repo.lower().partition("/")
    labels = [f"issue-{update.issue}", _label(name), _label(owner)]
    list_id = ".".join([*labels, domain.lower()])
    if len(list_id) > _MAX_LIST_ID:
        digest = hashlib.sha256(update.repo.lower().encode()).hexdigest()[:16]
        list_id = f"issue-{update.issue}.{digest}.{domain.lower()}"
    phrase = _one_line(project)
    if not phrase:
        return f"<{list_id}>"
    if phrase.isascii():
        quoted = phrase.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{list_id}>'
    # An encoded-word may stand for a phrase (RFC 2047 5(3)); never inside quotes.
    return f"{Header(phrase, 'utf-8').encode()} <{list_id}>"


def _label(text: str) -> str:
    """A dot-atom label from a repository or owner name (``.github`` would leave an empty one)."""
    return _LIST_LABEL.sub("-", text).strip("-") or "x"
