"""Addresses as logs may show them: the domain and a hint, never the whole mailbox.

Pure. Decision details are logged and printed, and logs are read by more people than the
tracker; the domain says which organisation and header was at fault, the local part is no one's
business there.
"""

from __future__ import annotations

# Long enough for any real domain (253), short enough that a hostile one cannot fill a log line.
_DOMAIN_LIMIT = 100


def masked(address: str) -> str:
    """``alice@example.org`` -> ``a…@example.org``: the first character and the domain only."""
    local, at, domain = address.rpartition("@")
    if not at:
        return f"{address[:1]}…" if address else ""
    return f"{local[:1]}…@{domain[:_DOMAIN_LIMIT]}"


def masked_words(text: str) -> str:
    """``text`` with every whitespace-separated word that holds an ``@`` masked."""
    return " ".join(masked(word) if "@" in word else word for word in text.split())
