"""What GitHub answered for a post, and the marker that ties a post to its mail: plain values,
shared by the client, the claims and the outbox without importing an HTTP library."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

_MARKER = "<!-- ticket-router:mail={} -->"
_MARKER_PATTERN = re.compile(r"<!-- ticket-router:mail=([0-9a-f]{32}) -->")


@dataclass(frozen=True)
class PostedComment:
    id: int
    url: str
    # True when the marker search found it before posting: an earlier delivery's (or an
    # earlier attempt's whose answer was lost), so it is reported already posted.
    found: bool = False


@dataclass(frozen=True)
class PostedIssue:
    # 0 when GitHub opened the issue but neither its answer nor a lookup said which.
    number: int
    url: str  # html_url
    # The labels GitHub gave it (it drops those the token may not set); None when not known.
    labels: tuple[str, ...] | None = None
    # As PostedComment.found: reported already opened.
    found: bool = False


class Posting(Protocol):
    """The record of the latest POST sent for one claim, where any later attempt finds it
    (handler.service.claims.Postings): written before the POST, so that an outcome lost with
    the invocation is still known to be unknown."""

    def sent_at(self) -> float | None:
        """When the latest POST whose outcome may be unknown was sent (epoch seconds)."""
        ...

    def sending(self, at: float) -> None:
        """A POST is about to be sent at ``at``; raises when that cannot be recorded."""
        ...

    def settled(self) -> None:
        """GitHub answered that POST with a refusal: nothing was created."""
        ...


def marker(mail: str) -> str:
    """The line, invisible on GitHub, that ties a comment to the mail it came from."""
    return _MARKER.format(mail)


def marker_in(body: str) -> str | None:
    """The mail key a comment body was marked with, if any."""
    found = _MARKER_PATTERN.search(body)
    return found.group(1) if found else None
