"""A route's own notice texts (``notices:``) and its ``contact``: which notices a route may
reword, the placeholders each text may use, and the template grammar the check and the
rendering share. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from string import Formatter
from typing import Any
from urllib.parse import urlsplit

from handler.reasons import Reason
from handler.routing.domains import normalize_domain
from handler.routing.model import quoted

# What every text may name: the address written to, the issue number ("" when none), the
# sender's domain, the route's repository, the valid address forms of the recipient's domain
# (one per line) and who to ask for access.
PLACEHOLDERS: tuple[str, ...] = ("recipient", "issue", "domain", "repo", "addresses", "contact")
# The notices a route may reword, and the placeholders each may use: a confirmation also knows
# its link, and a new issue's the address that comments on it.
NOTICE_PLACEHOLDERS: Mapping[Reason, tuple[str, ...]] = {
    Reason.NO_ROUTE: PLACEHOLDERS,
    Reason.INVALID_ISSUE_NUMBER: PLACEHOLDERS,
    Reason.SENDER_NOT_ALLOWED: PLACEHOLDERS,
    Reason.EMPTY_BODY: PLACEHOLDERS,
    Reason.ISSUE_NOT_FOUND: PLACEHOLDERS,
    Reason.ISSUE_LOCKED: PLACEHOLDERS,
    Reason.ENCRYPTED_MAIL: PLACEHOLDERS,
    # Only GitHub's refusal of the mail as too long is told (handler.outbound.notices).
    Reason.VALIDATION_FAILED: PLACEHOLDERS,
    Reason.POSTED: (*PLACEHOLDERS, "url"),
    Reason.OPENED: (*PLACEHOLDERS, "url", "reply_to"),
}
# The longest address RFC 5321 allows.
_MAX_ADDRESS = 254


class TemplateError(ValueError):
    """What is wrong with a template, in words for the routes file's author."""


def template_parts(text: str, allowed: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """``text`` as (literal, placeholder name or None) pairs: Python's ``{name}`` syntax with
    ``{{``/``}}`` for a literal brace, but names only, from ``allowed``; TemplateError otherwise.

    Rendering joins the pairs itself, never ``str.format``: a routes file must not reach
    attributes (``{recipient.__class__}``) or formats.
    """
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        raise TemplateError(
            "a { or } opens or closes no placeholder: write {{ or }} for a literal brace"
        ) from None
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None))
            continue
        written = "{" + name + (f"!{conversion}" if conversion else "")
        written += (f":{spec}" if spec else "") + "}"
        if name == "":
            raise TemplateError(
                f"{written} names no placeholder: write {{{{ and }}}} for literal braces"
            )
        if name in allowed and (spec or conversion):
            raise TemplateError(f"{written} takes no format or conversion: write {{{name}}}")
        if name not in allowed:
            raise TemplateError(f"{written} is not a placeholder here; {_known(name, allowed)}")
        parts.append((literal, name))
    return parts


def _known(name: str, allowed: tuple[str, ...]) -> str:
    close = _close(name, allowed)
    hint = f"did you mean {{{close[0]}}}? " if close else ""
    return hint + "the placeholders are " + ", ".join(f"{{{each}}}" for each in allowed)


def notice_problems(raw: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], str]]:
    """What is wrong with the route's ``notices`` and ``contact``, for keys of the right type:
    the key path of each problem, and the problem."""
    texts = raw.get("notices")
    for code, text in texts.items() if isinstance(texts, Mapping) else ():
        reason = next((each for each in NOTICE_PLACEHOLDERS if each == code), None)
        if reason is None:
            codes = [str(each) for each in NOTICE_PLACEHOLDERS]
            close = _close(str(code), codes)
            hint = f" (did you mean {close[0]}?)" if close else ""
            yield (
                ("notices", str(code)),
                f"notices: {quoted(str(code))} is not a notice a sender gets{hint}; the notices "
                "are " + ", ".join(codes),
            )
        elif isinstance(text, str) and not text.strip():
            yield ("notices", str(code)), f"notices.{code} is blank"
        elif isinstance(text, str):
            try:
                template_parts(text, NOTICE_PLACEHOLDERS[reason])
            except TemplateError as error:
                yield ("notices", str(code)), f"notices.{code}: {error}"
    value = raw.get("contact")
    if isinstance(value, str) and value:
        yield from ((("contact",), problem) for problem in _contact_problems(value))


def _contact_problems(value: str) -> Iterator[str]:
    text = value.strip()
    address, url = "an address (help@example.com)", "an https URL (https://example.com/support)"
    if text.lower().startswith("mailto:"):
        yield f"contact {quoted(value)}: write the address alone, without mailto:"
    elif "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in text):
            yield f"contact {quoted(value)} is not an https URL: write {address} or {url}"
        elif parts.username is not None or parts.password is not None:
            yield f"contact {quoted(value)} holds credentials: a notice shows it to senders"
    elif not _plain_address(text):
        yield f"contact {quoted(value)} is neither {address} nor {url}"


def _plain_address(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return bool(
        at
        and local
        and len(text) <= _MAX_ADDRESS
        and not local.startswith('"')
        and local.isascii()
        and not any(c.isspace() or c in "<>(),;:\\[]@" for c in local)
        and normalize_domain(domain) is not None
    )


def notice_texts(raw: Mapping[str, Any]) -> tuple[tuple[Reason, str], ...]:
    """The route's ``notices`` as (reason, template); only called for a route without
    problems."""
    return tuple((Reason(code), text) for code, text in raw.get("notices", {}).items())


def contact(raw: Mapping[str, Any]) -> str | None:
    """The route's ``contact``, trimmed; only called for a route without problems."""
    value = raw.get("contact")
    return value.strip() if isinstance(value, str) else None


def _close(word: str, known: Sequence[str]) -> list[str]:
    """The known word closest to a misspelt ``word``, if any is close."""
    # Only a misspelling needs difflib: the functions' cold starts do not import it.
    from difflib import get_close_matches  # noqa: PLC0415

    return get_close_matches(word, known, n=1, cutoff=0.6)
