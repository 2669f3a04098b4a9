"""Domain names as routes, senders and SES verdicts must compare them.

Pure. One normal form everywhere: lowercase ASCII, no trailing dot, internationalised labels in
their ``xn--`` form, so that ``Bücher.Example.`` in a routes file and ``xn--bcher-kva.example``
in a DKIM result are the same domain.

Internationalised names follow IDNA 2008 with the UTS 46 mapping (non-transitional), and a name
that the mapping would change beyond case is refused: a soft hyphen, a zero-width space,
full-width letters or a compatibility character that reads as another would otherwise make a
second spelling of a name, one that a person or another program reads differently.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ACE_PREFIX = "xn--"
# ASCII white space only: Unicode spaces around a name are no part of any name, and are refused
# with it rather than dropped.
_SPACE = " \t\r\n\f\v"
# How many of the characters the mapping would change a message names.
_NAMED = 5


def normalize_domain(text: str) -> str | None:
    """``text`` in normal form, or None when it is not a host name with at least two labels.

    IP literals (``[192.0.2.1]``, ``192.0.2.1``) are refused: mail to or from them names no
    organisation whose policy could be checked. So is a name that is not itself under IDNA 2008,
    only something the UTS 46 mapping turns into one (``domain_problem`` says why).
    """
    # A routes file names the same domains again and again, and so does a day of mail; the
    # cache takes only what could be a domain, so that hostile header values cannot fill it.
    if len(text) <= _CACHED_LENGTH:
        return _normalize(text)
    return _normalize.__wrapped__(text)


_CACHED_LENGTH = 300


@lru_cache(maxsize=4096)
def _normalize(text: str) -> str | None:
    return _read(text)[0]


def domain_problem(text: str) -> str:
    """Why ``text`` is refused, when an internationalised name is the reason; "" otherwise
    (for a name that is accepted, or refused for the plain reasons: empty, an IP address, a
    single label, a character no host name has)."""
    return _read(text)[1]


def _read(text: str) -> tuple[str | None, str]:
    """(the normal form, "") or (None, what is wrong when IDNA is the reason, else "")."""
    domain = text.strip(_SPACE).removesuffix(".")
    if not domain or len(domain) > 253:
        return None, ""
    if domain.isascii():
        domain = domain.lower()
        labels = domain.split(".")
        if not all(_LABEL.match(label) for label in labels):
            return None, ""
        for label in labels:
            if label.startswith(_ACE_PREFIX) and not _a_label(label):
                return None, f": {label} is not a valid xn-- label (IDNA 2008)"
    else:
        ascii_form, problem = _to_ascii(domain)
        if ascii_form is None:
            return None, problem
        domain = ascii_form
        labels = domain.split(".")
        if not all(_LABEL.match(label) for label in labels):
            return None, ""
    # A numeric top-level label is an IPv4 address, not a domain.
    if len(labels) < 2 or labels[-1].isdigit():
        return None, ""
    return domain, ""


def _to_ascii(domain: str) -> tuple[str | None, str]:
    """The ``xn--`` form of a non-ASCII name, when mapping it changes nothing but case."""
    # Imported here: plain ASCII names, nearly all of them, need no IDNA tables.
    import idna  # noqa: PLC0415

    try:
        ascii_form = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
        mapped = idna.decode(ascii_form)
    except UnicodeError:
        return None, ": it is not a valid internationalised domain name (IDNA 2008)"
    try:
        # The name as written, case aside, without any mapping: each label a valid U-label or
        # A-label, and "." the only separator.
        written = idna.decode(domain.lower(), strict=True)
    except UnicodeError:
        written = None
    if written != mapped:
        return None, _mapped_hint(domain.lower(), mapped, ascii_form)
    return ascii_form, ""


def _mapped_hint(written: str, mapped: str, ascii_form: str) -> str:
    """What the mapping would change, by code point: most of these characters are invisible or
    look like the ones they stand for."""
    changed = sorted({char for char in written if not char.isascii() and char not in mapped})
    what = ", ".join(f"U+{ord(char):04X}" for char in changed[:_NAMED]) or "it"
    if len(changed) > _NAMED:
        what += f" and {len(changed) - _NAMED} more"
    # The xn-- form: the one SES and Terraform take for a route's domain (checks.py).
    return (
        f": {what} would be changed by the IDNA mapping (UTS 46), which reads the name as "
        f"{mapped}; write {ascii_form} itself"
    )


def _a_label(label: str) -> bool:
    """True when ``label`` (lowercase, ``xn--``) is the A-label of a valid U-label: it decodes,
    the result is valid under IDNA 2008, and encodes back to this very label."""
    import idna  # noqa: PLC0415

    try:
        return idna.alabel(idna.ulabel(label)) == label.encode("ascii")
    except UnicodeError:
        return False


def is_subdomain(child: str, parent: str) -> bool:
    """True when ``child`` lies strictly below ``parent`` (both in normal form)."""
    return child.endswith("." + parent)
