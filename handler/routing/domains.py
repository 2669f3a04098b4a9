"""Domain names as routes, senders and SES verdicts must compare them.

Pure. One normal form everywhere: lowercase ASCII, no trailing dot, internationalised labels in
their ``xn--`` form, so that ``Bücher.Example.`` in a routes file and ``xn--bcher-kva.example``
in a DKIM result are the same domain.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain(text: str) -> str | None:
    """``text`` in normal form, or None when it is not a host name with at least two labels.

    IP literals (``[192.0.2.1]``, ``192.0.2.1``) are refused: mail to or from them names no
    organisation whose policy could be checked.
    """
    # A routes file names the same domains again and again, and so does a day of mail; the
    # cache takes only what could be a domain, so that hostile header values cannot fill it.
    if len(text) <= _CACHED_LENGTH:
        return _normalize(text)
    return _normalize.__wrapped__(text)


_CACHED_LENGTH = 300


@lru_cache(maxsize=4096)
def _normalize(text: str) -> str | None:
    domain = text.strip().rstrip(".").lower()
    if not domain or len(domain) > 253:
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    # A numeric top-level label is an IPv4 address, not a domain.
    if labels[-1].isdigit():
        return None
    return domain


def is_subdomain(child: str, parent: str) -> bool:
    """True when ``child`` lies strictly below ``parent`` (both in normal form)."""
    return child.endswith("." + parent)
