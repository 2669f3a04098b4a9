"""Where a mail's files go: paths on the attachments branch, keys in the bucket and the web host
links point at. Deterministic: a retry or replay of a mail computes the same places. Pure."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

# The folder of files whose mail's arrival time is unknown.
UNDATED = "undated"


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


def s3_key(mail: str, index: int, content: bytes, name: str) -> str:
    """``<mail>/<token>/<name>``: the token is derived from the content, so a link cannot be
    guessed without the file, yet a retry makes the same key."""
    seed = f"{mail}\n{index}\n".encode() + hashlib.sha256(content).digest()
    return f"{mail}/{hashlib.sha256(seed).hexdigest()[:32]}/{name}"
