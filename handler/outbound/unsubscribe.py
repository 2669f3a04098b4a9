"""The List-Unsubscribe link and address of a participant's mail (RFC 2369, RFC 8058), and the
pages its link opens.

How the link is signed, and why GET only shows a button: docs/outbound.md#unsubscribe."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from handler.outbound.http import About, Outcome, Request, Response
from handler.outbound.participants import address_digest
from handler.outbound.signatures import Secret
from handler.reasons import Reason
from handler.routing import MAX_ISSUE_NUMBER, REPO_FULL_NAME

# Domain separation: the owners' and apps' webhook secrets derive from the same master under
# labels of their own (handler.outbound.signatures): none of them gives this key, nor this key one
# of them.
_KEY_LABEL = b"ticket-router unsubscribe v1"
_MAC_LENGTH = 43  # 32 bytes in base64url without padding
_ISSUE = re.compile(r"[1-9][0-9]{0,9}")
_DIGEST = re.compile(r"[0-9a-f]{32}")
_MAC = re.compile(rf"[A-Za-z0-9_-]{{{_MAC_LENGTH}}}")
# The pages' only style, inline and allowed by its hash: the policy stays free of
# 'unsafe-inline' and of any source to load from. A column that fits a phone's width, the
# system's font at a size read without zooming, a button as wide as the column on a narrow
# screen and at least 48 px tall (a finger's width), contrast above WCAG AA in light and dark.
_STYLE = (
    ":root{color-scheme:light dark}"
    "body{margin:0;padding:24px 16px;background:#fff;color:#1f1f1f;"
    "font:18px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;overflow-wrap:anywhere}"
    "main{max-width:34rem;margin:0 auto}"
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 16px}"
    "p{margin:0 0 16px}"
    "button{font:inherit;font-weight:600;min-height:48px;padding:12px 28px;margin-top:8px;"
    "border:0;border-radius:8px;background:#0b57d0;color:#fff;cursor:pointer}"
    "button:focus-visible{outline:3px solid #1f1f1f;outline-offset:3px}"
    "@media (max-width:480px){button{width:100%}}"
    "@media (prefers-color-scheme:dark){body{background:#1f1f1f;color:#e8e8e8}"
    "button{background:#a8c7fa;color:#062e6f}button:focus-visible{outline-color:#e8e8e8}}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
_PAGE = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    # The page runs no script and loads nothing; its form posts back here. The link's mac must
    # not travel on in a Referer.
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class UnsubscribeRequest:
    """A valid link's content: remove the participant with ``digest`` from ``repo#issue``."""

    repo: str
    issue: int
    digest: str

    @property
    def about(self) -> About:
        return About(repo=self.repo, issue=self.issue)


@dataclass(frozen=True)
class UnsubscribeLinks:
    """The links of a deployment's mails: under the webhook function's URL, signed with the key
    derived from ``secret``; none without a URL (the mails offer the address only)."""

    base_url: str
    secret: Secret

    def __call__(self, repo: str, issue: int, address: str) -> str | None:
        """Raises OutboundError when the secret cannot be read."""
        if not self.base_url:
            return None
        key = unsubscribe_key(self.secret.get())
        return unsubscribe_url(self.base_url, key, repo, issue, address)


def unsubscribe_key(webhook_secret: bytes) -> bytes:
    """The key that signs unsubscribe links, derived from the master webhook secret."""
    return hmac.new(webhook_secret, _KEY_LABEL, hashlib.sha256).digest()


def unsubscribe_url(base_url: str, key: bytes, repo: str, issue: int, address: str) -> str:
    """The link that removes ``address`` from ``repo#issue`` (``base_url``: the Function URL)."""
    digest = address_digest(address)
    query = urlencode(
        {"r": repo, "i": str(issue), "p": digest, "s": _mac(key, repo, issue, digest)}, safe="/"
    )
    return f"{base_url.rstrip('/')}/unsubscribe?{query}"


def unsubscribe_mailto(route_prefix: str, issue: int, domain: str) -> str:
    """The address that removes its (authenticated) sender from the issue."""
    return f"mailto:{route_prefix}{issue}+unsubscribe@{domain}?subject=unsubscribe"


def read_unsubscribe(query: str, key: bytes) -> UnsubscribeRequest | None:
    """What the link's query asks for, or None when it is malformed or not signed by ``key``.

    Parameters other than r, i, p and s are ignored (trackers append some); each of those four
    must appear exactly once."""
    try:
        values = parse_qs(query, keep_blank_values=True, max_num_fields=20)
    except ValueError:
        return None
    fields = {name: values.get(name, []) for name in ("r", "i", "p", "s")}
    if any(len(found) != 1 for found in fields.values()):
        return None
    repo, issue, digest, mac = (found[0] for found in fields.values())
    if not (
        REPO_FULL_NAME.fullmatch(repo)
        and _ISSUE.fullmatch(issue)
        and int(issue) <= MAX_ISSUE_NUMBER
        and _DIGEST.fullmatch(digest)
        and _MAC.fullmatch(mac)
    ):
        return None
    expected = _mac(key, repo, int(issue), digest)
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        return None
    return UnsubscribeRequest(repo=repo, issue=int(issue), digest=digest)


def _mac(key: bytes, repo: str, issue: int, digest: str) -> str:
    message = json.dumps([repo.lower(), issue, digest], separators=(",", ":")).encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def read_link(query: str, secret: Secret) -> UnsubscribeRequest | None:
    """What a link's query asks for, trying the master secret read again (it may have been
    rotated) when the link does not match. Raises OutboundError when the secret cannot be read."""
    link = read_unsubscribe(query, unsubscribe_key(secret.get()))
    if link is None:
        fresh = secret.refreshed()
        if fresh is not None:
            link = read_unsubscribe(query, unsubscribe_key(fresh))
    return link


def confirmation_page(request: Request, link: UnsubscribeRequest) -> Outcome:
    """What GET of a valid link shows: a button that POSTs the same link. Mail providers' link
    scanners GET every link; only a person (or a mail client's one-click) POSTs."""
    issue = _issue(link)
    return _page(
        200,
        Reason.UNSUBSCRIBE_PAGE,
        "",
        f"Unsubscribe from {issue}",
        (
            f"You get a mail each time someone comments on {issue}. Unsubscribe, and they stop.",
            "Only this issue's mail stops: mail about other issues still comes.",
            "Should you write to this issue by mail again, you will get its mail again.",
        ),
        heading=f"Stop getting mail about {issue}?",
        action=f"/unsubscribe?{request.query}",
        about=link.about,
    )


def unsubscribed_page(link: UnsubscribeRequest, *, removed: bool) -> Outcome:
    """What POST of a valid link shows; the same page when they had left already (a second
    click, a mail client's one-click before)."""
    issue = _issue(link)
    return _page(
        200,
        Reason.UNSUBSCRIBED if removed else Reason.ALREADY_UNSUBSCRIBED,
        "",
        "Unsubscribed",
        (
            f"You will no longer get mail about {issue}.",
            "Only this issue's mail stops: mail about other issues still comes.",
            "Changed your mind? Write to this issue by mail again (reply to one of its mails), "
            "and you will get its mail again.",
        ),
        about=link.about,
    )


def invalid_link_page() -> Outcome:
    return _page(
        400,
        Reason.UNSUBSCRIBE_INVALID,
        "the link is malformed or not signed by us",
        "Link not valid",
        (
            "This unsubscribe link is not valid: it may have been cut short or changed. "
            "Open the whole link from the mail again.",
            "Nothing was changed.",
        ),
    )


def try_later_page(reason: Reason, detail: str, about: About | None = None) -> Outcome:
    return _page(
        503,
        reason,
        detail,
        "Not now",
        ("Please try again in a while.", "Nothing was changed."),
        about=about,
    )


def _issue(link: UnsubscribeRequest) -> str:
    return f"{link.repo}#{link.issue}"


def _page(
    status: int,
    reason: Reason,
    detail: str,
    title: str,
    paragraphs: tuple[str, ...],
    *,
    heading: str | None = None,
    action: str | None = None,
    about: About | None = None,
) -> Outcome:
    """A small HTML page for a person, readable on a phone and without script; with
    ``action``, the button that POSTs to it (the body a mail client's one-click sends)."""
    form = (
        ""
        if action is None
        else (
            f'<form method="post" action="{html.escape(action)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )
    )
    text = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)
    body = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><main><h1>{html.escape(heading or title)}</h1>{text}{form}</main></body></html>\n"
    )
    return Outcome(Response(status, _PAGE, body), reason, detail, about or About())
