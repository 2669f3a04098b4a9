"""Where a mail's files go: paths on the attachments branch, keys in the bucket and the web host
links point at. Deterministic: a retry or replay of a mail computes the same places. Pure."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

# The folder of files whose mail's arrival time is unknown.
UNDATED = "undated"
# A path github_path wrote: the day (or UNDATED), the mail's key (32 hex digits), the name.
_STORED = re.compile(
    rf"(?:([0-9]{{4}})/([0-9]{{2}})/([0-9]{{2}})|{UNDATED})/([0-9a-f]{{32}})/[^/]+"
)


def web_host(api_url: str | None, default: str) -> str:
    """The web address of the GitHub whose REST API is ``api_url`` (``default`` without one):
    an Enterprise Server's ``https://HOST/api/v3`` is ``https://HOST``, api.github.com is
    https://github.com and GHE.com's ``api.SUB.ghe.com`` is ``SUB.ghe.com``; anything else (the
    tests' loopback GitHub) serves both at one address."""
    if api_url is None:
        return default.rstrip("/")
    url = api_url.rstrip("/")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host == "api.github.com" or (host.startswith("api.") and host.endswith(".ghe.com")):
        return f"{parts.scheme}://{parts.netloc.removeprefix('api.')}"
    if parts.path.rstrip("/").endswith("/api/v3"):
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/').removesuffix('/api/v3')}"
    return url


def day_folder(received_at: float | None) -> str:
    """``YYYY/MM/DD``, the UTC day SES received the mail, or UNDATED when it is not known."""
    if received_at is None:
        return UNDATED
    try:
        day = datetime.fromtimestamp(received_at, UTC)
    except (OverflowError, OSError, ValueError):
        return UNDATED
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def github_path(mail: str, received_at: float | None, name: str) -> str:
    """``YYYY/MM/DD/<mail>/<name>`` on the attachments branch: a retention sweep reads the day
    from the path, and a removal finds a mail's files by its key."""
    return f"{day_folder(received_at)}/{mail}/{name}"


@dataclass(frozen=True)
class StoredPath:
    """What a path on the attachments branch says of its file."""

    mail: str
    # The UTC day its mail was received; None when undated.
    day: date | None


def stored_path(path: str) -> StoredPath | None:
    """What github_path wrote into ``path``; None for any other file (the branch's README,
    someone else's). A day that is no date reads as undated."""
    found = _STORED.fullmatch(path)
    if found is None:
        return None
    year, month, day, mail = found.groups()
    if year is None:
        return StoredPath(mail, None)
    try:
        return StoredPath(mail, date(int(year), int(month), int(day)))
    except ValueError:
        return StoredPath(mail, None)


def s3_prefix(mail: str) -> str:
    """The prefix of every key s3_key makes for ``mail``'s files."""
    return f"{mail}/"


def s3_key(mail: str, index: int, content: bytes, name: str) -> str:
    """``<mail>/<token>/<name>``: the token is derived from the content, so a link cannot be
    guessed without the file, yet a retry makes the same key."""
    seed = f"{mail}\n{index}\n".encode() + hashlib.sha256(content).digest()
    return f"{s3_prefix(mail)}{hashlib.sha256(seed).hexdigest()[:32]}/{name}"
