"""The List-Unsubscribe link and address of a participant's mail (RFC 2369, RFC 8058).

Pure. The link names the repository, the issue and the participant's address digest
(handler.outbound.participants.address_digest), never the address: URLs end up in proxy logs and
link
scanners. It is signed with a key derived from the master webhook secret (of which a
deployment serving several owners gives GitHub only per-owner derivations,
handler.outbound.webhook), so
that nobody without the master, not even an owner who knows their webhook's secret, can remove
someone else from an issue by making a link, and a digest alone proves nothing.

The mac covers the repository (lowercased: GitHub names are case-insensitive), the issue and
the digest, written as a JSON array so that no two triples share a message, compared in
constant time and written base64url without padding. Rotating the master secret invalidates
the links already mailed; the mailto address (handled by the mail function, which checks that
the sender is authenticated) keeps working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from handler.outbound.participants import address_digest
from handler.routing import MAX_ISSUE_NUMBER, REPO_FULL_NAME

# Domain separation: the owners' and apps' webhook secrets derive from the same master under
# labels of their own (handler.outbound.webhook): none of them gives this key, nor this key one of
# them.
_KEY_LABEL = b"ticket-router unsubscribe v1"
_MAC_LENGTH = 43  # 32 bytes in base64url without padding
_ISSUE = re.compile(r"[1-9][0-9]{0,9}")
_DIGEST = re.compile(r"[0-9a-f]{32}")
_MAC = re.compile(rf"[A-Za-z0-9_-]{{{_MAC_LENGTH}}}")


@dataclass(frozen=True)
class UnsubscribeRequest:
    """A valid link's content: remove the participant with ``digest`` from ``repo#issue``."""

    repo: str
    issue: int
    digest: str


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
