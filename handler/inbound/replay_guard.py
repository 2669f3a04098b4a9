"""Whether a mail is one its signer wrote, as it reads, to the address it reached, lately: what
a valid DKIM signature does not say. Pure.

The rules, their order, and why: docs/inbound.md#replay_guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from handler.inbound.authenticity import aligned
from handler.inbound.mail import Message
from handler.reasons import Reason
from handler.routing.domains import normalize_domain

# The fields a mail has at most once (RFC 5322 3.6; Content-Type, MIME-Version and
# Content-Transfer-Encoding of the top level: RFC 2045), as details name them. SES's block
# holds none of them (handler.inbound.authenticity.SES_FIELDS), so every one read is the mail's.
SINGLE_FIELDS = (
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
)
_SINGLE = {name.lower(): name for name in SINGLE_FIELDS}
# How far a sender's clock may run ahead of SES's before its Date is a lie.
CLOCK_SKEW = 300
# What a detail can write: a Date of 9999-12-31 in a zone west of UTC lies beyond year 9999.
_EARLIEST = datetime.min.replace(tzinfo=UTC).timestamp()
_LATEST = datetime.max.replace(tzinfo=UTC, microsecond=0).timestamp()


@dataclass(frozen=True)
class Refusal:
    """Why a mail is not taken for what it seems."""

    reason: Reason
    detail: str


def conflicting_headers(message: Message) -> Refusal | None:
    """A refusal when a single-instance field appears twice with different values.

    DKIM verifiers take the last of repeated fields (RFC 6376 5.4.2), this service the first: a
    Subject or Message-ID written above a signed mail's own keeps its signature valid. The same
    value repeated (unfolded, whitespace runs as one space) says nothing new and is let through.
    """
    values: dict[str, set[str]] = {}
    for name, value in message.headers:
        key = name.lower()
        if key in _SINGLE:
            values.setdefault(key, set()).add(" ".join(value.split()))
    names = [name for key, name in _SINGLE.items() if len(values.get(key, ())) > 1]
    if not names:
        return None
    listed = " and ".join((", ".join(names[:-1]), names[-1])) if len(names) > 1 else names[0]
    plural = "s" if len(names) > 1 else ""
    return Refusal(
        Reason.CONFLICTING_HEADERS,
        f"the mail repeats its {listed} field{plural} with different values: a DKIM signature "
        "vouches for the last of each, not for the first one read",
    )


def not_addressed(message: Message, recipient: str, *, bcc_allowed: bool) -> Refusal | None:
    """A refusal when the mail's To and Cc do not name ``recipient``, the address it was
    delivered to (compared as routes compare addresses: case-insensitive, the domain in normal
    form), or name it only in a field the From domain's DKIM signatures do not cover (anyone
    may add a Cc to a signed mail whose signature leaves Cc out); ``bcc_allowed`` (a route's
    comments, when it opts in) lets it through."""
    if bcc_allowed:
        return None
    wanted = _mailbox(recipient)
    naming = [
        name
        for name, field in (("to", message.to), ("cc", message.cc))
        if any(_mailbox(address.addr) == wanted for address in field)
    ]
    if not naming:
        return Refusal(
            Reason.NOT_ADDRESSED,
            f"the mail was delivered to {recipient}, which neither its To nor its Cc names: it "
            "was written to others (a Bcc copy, or a signed mail re-sent here)",
        )
    signer, signed = _signed_fields(message)
    if signer is None or any(name in signed for name in naming):
        return None
    fields = " and ".join(name.capitalize() for name in naming)
    return Refusal(
        Reason.NOT_ADDRESSED,
        f"the mail names {recipient} only in its {fields}, which the DKIM signature of "
        f"{signer} does not cover: anyone holding the signed mail could have added it",
    )


def outside_window(sent: float | None, received: float | None, max_age: int) -> Refusal | None:
    """A refusal when the mail's Date ``sent`` lies more than ``max_age`` seconds before SES
    received it (``received``), or more than CLOCK_SKEW after. Without either moment there is
    nothing to measure, and the mail is judged on the other rules."""
    if sent is None or received is None:
        return None
    if received - sent > max_age:
        return Refusal(
            Reason.MAIL_TOO_OLD,
            f"the mail is dated {_moment(sent)}, more than {_span(max_age)} before SES received "
            f"it ({_moment(received)})",
        )
    if sent - received > CLOCK_SKEW:
        return Refusal(
            Reason.MAIL_FROM_FUTURE,
            f"the mail is dated {_moment(sent)}, more than {_span(CLOCK_SKEW)} after SES "
            f"received it ({_moment(received)})",
        )
    return None


def _signed_fields(message: Message) -> tuple[str | None, frozenset[str]]:
    """The From domain's DKIM signer, and the fields every one of its signatures covers (their
    h= tags, RFC 6376 3.5); (None, empty) when no signature in the mail is aligned with From.
    SES does not say which signature it verified: a field counts only when all of them cover
    it, as an added field breaks only the signatures that cover it."""
    if len(message.from_) != 1:
        return None, frozenset()
    domain = normalize_domain(message.from_[0].domain)
    if domain is None:
        return None, frozenset()
    signer = None
    signed: frozenset[str] | None = None
    for tags in (_tags(value) for value in message.header_all("DKIM-Signature")):
        d = normalize_domain(tags.get("d", ""))
        if d is None or not aligned(domain, d):
            continue
        covered = frozenset(name for name in tags.get("h", "").lower().split(":") if name)
        signer, signed = d, covered if signed is None else signed & covered
    return signer, signed or frozenset()


def _tags(value: str) -> dict[str, str]:
    """A DKIM-Signature's tag list (RFC 6376 3.2): tag=value pairs split on ";", whitespace
    (folding included) removed, as it means nothing in d= and h=; the first of a repeated tag."""
    tags: dict[str, str] = {}
    for item in value.split(";"):
        name, equals, text = item.partition("=")
        if equals:
            tags.setdefault(name.strip().lower(), "".join(text.split()))
    return tags


def _mailbox(address: str) -> str:
    """``address`` as routes read it: local part in lower case, the domain in normal form."""
    local, _, domain = address.strip().strip("<>").strip().rpartition("@")
    return f"{local.lower()}@{normalize_domain(domain) or domain.lower()}"


def _moment(epoch: float) -> str:
    moment = datetime.fromtimestamp(min(max(epoch, _EARLIEST), _LATEST), UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "seconds") + " UTC"


def _span(seconds: int) -> str:
    """A max_age or the clock skew in words: ``7 days``, ``36 hours``, ``5 minutes``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
