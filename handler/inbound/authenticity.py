"""Who sent a mail, as far as Amazon SES could verify it.

The rules, and why: docs/inbound.md#authenticity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from handler.inbound.autoreply import detect_automated
from handler.inbound.headers import Address
from handler.inbound.mail import Message
from handler.inbound.masking import masked
from handler.inbound.received import event_time, received_at, recipient
from handler.reasons import Reason
from handler.routing.domains import is_subdomain, normalize_domain

SES_AUTHSERV_ID = "amazonses.com"
# The fields SES prepends, in the order it writes them.
SES_FIELDS = (
    "return-path",
    "received",
    "x-ses-spam-verdict",
    "x-ses-virus-verdict",
    "received-spf",
    "authentication-results",
    "x-ses-receipt",
    "x-ses-dkim-signature",
)
_RANK = {name: rank for rank, name in enumerate(SES_FIELDS)}
_STATUSES = {"PASS", "FAIL", "GRAY", "PROCESSING_FAILED", "DISABLED"}
# RFC 8601 results -> SES's verdict names.
_RESULT_STATUS = {
    "pass": "PASS",
    "fail": "FAIL",
    "softfail": "FAIL",
    "hardfail": "FAIL",
    "policy": "FAIL",
    "none": "GRAY",
    "neutral": "GRAY",
    "temperror": "PROCESSING_FAILED",
    "permerror": "PROCESSING_FAILED",
}
# SES's statuses in the words of RFC 8601, for details people read.
_WORDS = {
    "PASS": "pass",
    "FAIL": "fail",
    "GRAY": "none",
    "PROCESSING_FAILED": "error",
    "DISABLED": "not checked",
}
# A verdict SES did not give (scanning turned off in the receipt rule, or a field missing).
_UNCHECKED = "DISABLED"
# RFC 8601's registered methods; only spf, dkim and dmarc are read.
_METHODS = {"spf", "dkim", "dmarc", "arc", "iprev", "auth", "dkim-atps", "bimi", "smime", "vbr"}
# Methods SES writes once per mail. dkim is not among them: SES writes one dkim= result per
# signature, and mail sent through SES itself carries two (the sender's and amazonses.com's).
_ONCE = ("spf", "dmarc")
# The bare key=value entries SES writes after its spf result, as in Received-SPF (RFC 7208 9.1).
_SPF_KEYS = {"client-ip", "envelope-from", "helo"}
# RFC 8601 propspec: ptype "." property.
_PROPSPEC = re.compile(r"(?:smtp|header|body|policy)\.[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_KEYWORD = re.compile(r"[a-z0-9_-]+")
# Folding whitespace as RFC 5322 has it: no other character separates anything, so that no
# Unicode space a sender puts in a HELO name can pass for SES's own.
_WSP = " \t"
# RFC 5322 atext; an address's local part outside quotes.
_ATEXT = frozenset("!#$%&'*+-/=?^_`{|}~.")


@dataclass(frozen=True)
class SesReceipt:
    """SES's verdicts for one mail. Statuses are SES's: PASS, FAIL, GRAY (no policy, or not sure),
    PROCESSING_FAILED (SES could not check), DISABLED (not checked)."""

    spf: str
    dkim: str
    dmarc: str
    spam: str
    virus: str
    # The From domain's published policy when DMARC failed (none, quarantine, reject).
    dmarc_policy: str | None = None
    envelope_from: str | None = None
    spf_domain: str | None = None
    # Signing domains whose DKIM signature verified.
    dkim_domains: tuple[str, ...] = ()
    # The From domain SES evaluated DMARC for (header.from), when it says so.
    dmarc_domain: str | None = None
    # Why SES's Authentication-Results cannot be believed (malformed, a result twice, a pass
    # that names no domain): such a receipt authenticates no one, whatever the verdicts say.
    problem: str | None = None
    recipients: tuple[str, ...] = field(default=())
    # When SES received the mail (epoch seconds): its Received field's date, else the event's.
    received_at: float | None = None
    # Verdicts a preview assumed (ASSUMED), not SES's.
    assumed: bool = False


@dataclass(frozen=True)
class Assessment:
    ok: bool
    reason: Reason
    detail: str
    sender: Address | None
    # The sender passed on verdicts a preview assumed (ASSUMED), not on SES's.
    assumed: bool = False


# What ``dispatch --dry-run --assume-authenticated`` puts in the place of a missing SES block:
# DMARC passed for whatever the From domain is; spam and virus not scanned. Never for a real
# delivery: nothing posts on it.
ASSUMED = SesReceipt(
    spf="PASS", dkim="PASS", dmarc="PASS", spam=_UNCHECKED, virus=_UNCHECKED, assumed=True
)


def receipt_from_headers(message: Message) -> SesReceipt | None:
    """SES's verdicts from the block SES prepended to the stored mail, or None without one."""
    block = dict(_ses_block(message.headers))
    if "x-ses-receipt" not in block:
        return None
    envelope = _angle_addr(block["return-path"]) if "return-path" in block else None
    verdicts = _authentication(block, envelope)
    envelope_to = recipient(block.get("received", ""))
    return SesReceipt(
        spf=verdicts.spf,
        dkim=verdicts.dkim,
        dmarc=verdicts.dmarc,
        spam=_verdict(block.get("x-ses-spam-verdict")),
        virus=_verdict(block.get("x-ses-virus-verdict")),
        dmarc_policy=verdicts.dmarc_policy,
        envelope_from=envelope,
        spf_domain=verdicts.spf_domain,
        dkim_domains=verdicts.dkim_domains,
        dmarc_domain=verdicts.dmarc_domain,
        problem=verdicts.problem,
        recipients=(envelope_to,) if envelope_to else (),
        received_at=received_at(block.get("received", "")),
    )


def receipt_from_event(record: Mapping[str, Any], stored: SesReceipt | None) -> SesReceipt:
    """SES's verdicts from the Lambda event record, completed by the stored block's domains."""
    ses = _mapping(record, "ses")
    receipt, mail = _mapping(ses, "receipt"), _mapping(ses, "mail")
    base = stored or SesReceipt(_UNCHECKED, _UNCHECKED, _UNCHECKED, _UNCHECKED, _UNCHECKED)
    source = mail.get("source")
    envelope = source.strip().strip("<>") if isinstance(source, str) else base.envelope_from
    recipients = receipt.get("recipients")
    policy = receipt.get("dmarcPolicy")
    dmarc = _event_status(receipt, "dmarcVerdict", base.dmarc)
    return replace(
        base,
        spf=_event_status(receipt, "spfVerdict", base.spf),
        dkim=_event_status(receipt, "dkimVerdict", base.dkim),
        dmarc=dmarc,
        spam=_event_status(receipt, "spamVerdict", base.spam),
        virus=_event_status(receipt, "virusVerdict", base.virus),
        # SES names the policy only when DMARC failed.
        dmarc_policy=policy.lower()
        if isinstance(policy, str)
        else (base.dmarc_policy if dmarc == "FAIL" else None),
        envelope_from=envelope,
        spf_domain=base.spf_domain or (_address_domain(envelope) if envelope else None),
        recipients=tuple(r for r in recipients if isinstance(r, str))
        if isinstance(recipients, list)
        else base.recipients,
        # The stored Received field first: replaying the stored mail alone judges it the same.
        received_at=base.received_at
        if base.received_at is not None
        else event_time(mail.get("timestamp")),
    )


def assess(message: Message, receipt: SesReceipt | None) -> Assessment:
    """Whether ``message`` may be posted at all, and who it is from.

    Order: spam, virus, automated mail, the From address, then authentication of its domain.
    The module docstring says which spam and virus verdicts reject, and why.
    """
    if receipt is not None and receipt.spam == "FAIL":
        return Assessment(False, Reason.SPAM, "SES's spam verdict is FAIL", None)
    if receipt is not None and receipt.virus == "FAIL":
        return Assessment(False, Reason.VIRUS, "SES's virus verdict is FAIL", None)
    if receipt is not None and receipt.virus in {"GRAY", "PROCESSING_FAILED"}:
        return Assessment(
            False,
            Reason.VIRUS,
            f"SES could not tell whether the mail carries a virus ({receipt.virus}); "
            "it is not posted unscanned",
            None,
        )
    automated = detect_automated(message, receipt.envelope_from if receipt else None)
    if automated is not None:
        return Assessment(False, automated[0], automated[1], None)
    problem = _from_problem(message.from_)
    if problem is not None:
        return Assessment(False, Reason.INVALID_FROM, problem, None)
    sender = message.from_[0]
    domain = normalize_domain(sender.domain) or sender.domain
    if receipt is None:
        return Assessment(
            False,
            Reason.NOT_AUTHENTICATED,
            "no SES verdicts: the mail has no SES header block (it did not arrive through SES), "
            f"so nothing vouches for {domain}; to preview it as if SES had authenticated "
            f"{domain}: ticket-router dispatch --dry-run --assume-authenticated",
            sender,
        )
    how = _authenticated_by(receipt, domain)
    if how is None:
        return Assessment(False, Reason.NOT_AUTHENTICATED, _why_not(receipt, domain), sender)
    if receipt.assumed:
        how = f"assumed, not verified: {how} (the mail has no SES header block)"
    mismatch = _sender_mismatch(message, domain)
    if mismatch is not None:
        return Assessment(False, Reason.SENDER_MISMATCH, mismatch, sender, receipt.assumed)
    return Assessment(True, Reason.AUTHENTICATED, how, sender, receipt.assumed)


def aligned(domain: str, other: str) -> bool:
    """Relaxed DMARC alignment: equal, or one lies below the other (both in normal form)."""
    if "." not in domain or "." not in other:
        return False
    return domain == other or is_subdomain(domain, other) or is_subdomain(other, domain)


def _authenticated_by(receipt: SesReceipt, domain: str) -> str | None:
    if receipt.problem is not None:
        return None
    if receipt.dmarc_domain is not None and receipt.dmarc_domain != domain:
        # SES evaluated DMARC for a different From than the one we read: trust neither.
        return None
    if receipt.dmarc == "PASS":
        return f"DMARC pass for {domain}"
    if receipt.dmarc in {"FAIL", _UNCHECKED}:
        # FAIL: the domain's own policy (possibly strict alignment) said no; never second-guess
        # it. Unchecked: nobody looked the policy up, so an aligned pass proves nothing about it.
        return None
    # No policy, or SES could not evaluate it: an aligned pass is what DMARC itself would count.
    prefix = _dmarc_words(receipt, domain).replace(f" for {domain}", "")
    signer = _aligned_signer(receipt, domain)
    if signer is not None:
        return f"{prefix}; DKIM pass for {signer}, aligned with {domain}"
    if _spf_aligned(receipt, domain):
        return f"{prefix}; SPF pass for {receipt.spf_domain}, aligned with {domain}"
    return None


def _why_not(receipt: SesReceipt, domain: str) -> str:
    if receipt.problem is not None:
        return receipt.problem
    if receipt.dmarc_domain is not None and receipt.dmarc_domain != domain:
        return (
            f"SES evaluated DMARC for {receipt.dmarc_domain}, but the From address is at {domain}"
        )
    return "; ".join(
        (_dmarc_words(receipt, domain), _dkim_words(receipt, domain), _spf_words(receipt, domain))
    )


def _dmarc_words(receipt: SesReceipt, domain: str) -> str:
    if receipt.dmarc == "FAIL":
        policy = f" (policy {receipt.dmarc_policy})" if receipt.dmarc_policy else ""
        return f"DMARC fail for {domain}{policy}"
    if receipt.dmarc == "GRAY":
        return f"no DMARC policy for {domain}"
    if receipt.dmarc == _UNCHECKED:
        return f"SES reported no DMARC result for {domain}"
    return f"DMARC {_WORDS.get(receipt.dmarc, receipt.dmarc.lower())} for {domain}"


def _dkim_words(receipt: SesReceipt, domain: str) -> str:
    if receipt.dkim != "PASS":
        return f"DKIM {_WORDS.get(receipt.dkim, receipt.dkim.lower())}"
    if not receipt.dkim_domains:
        return "DKIM pass for an unknown signing domain"
    signer = _aligned_signer(receipt, domain)
    if signer is not None:
        return f"DKIM pass for {signer}"
    return f"DKIM passed only for {', '.join(receipt.dkim_domains)}, not aligned with {domain}"


def _spf_words(receipt: SesReceipt, domain: str) -> str:
    if receipt.spf != "PASS":
        return f"SPF {_WORDS.get(receipt.spf, receipt.spf.lower())}"
    if not receipt.spf_domain:
        return "SPF pass for an unknown envelope domain"
    if _spf_aligned(receipt, domain):
        return f"SPF pass for {receipt.spf_domain}"
    return f"SPF passed for {receipt.spf_domain}, not aligned with {domain}"


def _aligned_signer(receipt: SesReceipt, domain: str) -> str | None:
    if receipt.dkim != "PASS":
        return None
    return next((d for d in receipt.dkim_domains if aligned(domain, d)), None)


def _spf_aligned(receipt: SesReceipt, domain: str) -> bool:
    return (
        receipt.spf == "PASS"
        and bool(receipt.spf_domain)
        and aligned(domain, receipt.spf_domain or "")
    )


def _from_problem(addresses: tuple[Address, ...]) -> str | None:
    if not addresses:
        return "the mail has no From address"
    if len(addresses) > 1:
        listed = ", ".join(masked(a.addr) for a in addresses[:5])
        return f"the mail has {len(addresses)} From addresses ({listed}); exactly one is needed"
    address = addresses[0]
    if not address.local or normalize_domain(address.domain) is None:
        return f"the From address {masked(address.addr)!r} has no valid domain"
    return None


def _sender_mismatch(message: Message, domain: str) -> str | None:
    fields = message.header_all("Sender")
    if not fields:
        return None
    sender = message.sender
    if len(fields) > 1 or sender is None:
        return "the Sender header must name exactly one mailbox"
    sender_domain = normalize_domain(sender.domain) if sender.local else None
    if sender_domain is None:
        return f"the Sender address {masked(sender.addr)!r} has no valid domain"
    if not aligned(domain, sender_domain):
        return (
            f"the mail was sent by {masked(sender.addr)} (Sender) on behalf of {domain} (From); "
            "only mail sent by the From domain itself is posted"
        )
    return None


@dataclass(frozen=True)
class _Verdicts:
    """What SES's Received-SPF and Authentication-Results say, before the event has its word."""

    spf: str
    dkim: str
    dmarc: str
    dmarc_policy: str | None = None
    spf_domain: str | None = None
    dkim_domains: tuple[str, ...] = ()
    dmarc_domain: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class _Result:
    method: str
    result: str
    props: dict[str, str]
    comments: tuple[str, ...]
    # Where the result stands in the field, its separator excluded.
    start: int
    end: int


@dataclass(frozen=True)
class _Segment:
    """What stands between two of the field's separators."""

    words: tuple[str, ...]
    comments: tuple[str, ...]
    start: int
    end: int


class _Untrusted(ValueError):
    """SES's Authentication-Results does not read the way SES writes it."""


def _ses_block(headers: tuple[tuple[str, str], ...]) -> Iterator[tuple[str, str]]:
    last = -1
    for name, value in headers:
        rank = _RANK.get(name.lower())
        if rank is None or rank <= last:
            return
        last = rank
        yield name.lower(), value


def _authentication(block: Mapping[str, str], envelope: str | None) -> _Verdicts:
    received_spf = block.get("received-spf")
    if "authentication-results" not in block:
        # The older block: Received-SPF only, so DMARC and DKIM were never reported.
        return _Verdicts(
            spf=_received_spf_status(received_spf),
            dkim="GRAY",
            dmarc=_UNCHECKED,
            spf_domain=_address_domain(envelope) if envelope else None,
        )
    field = block["authentication-results"]
    try:
        results = _amazonses_results(field)
        _check_spf(field, results, received_spf, envelope)
    except _Untrusted as error:
        return _Verdicts(_UNCHECKED, _UNCHECKED, _UNCHECKED, problem=_untrusted(str(error)))
    spf = next((r for r in results if r.method == "spf"), None)
    dmarc = next((r for r in results if r.method == "dmarc"), None)
    dkims = [r for r in results if r.method == "dkim"]
    problem = _dkim_problem(dkims) or _dmarc_problem(dmarc)
    mailfrom = (spf.props.get("smtp.mailfrom") or spf.props.get("envelope-from")) if spf else None
    mailfrom = mailfrom or envelope
    return _Verdicts(
        spf=_status(spf) if spf is not None else _received_spf_status(received_spf),
        dkim=_dkim_status(dkims),
        # SES always reports DMARC in this layout: a field without it vouches for nothing.
        dmarc=_status(dmarc) if dmarc is not None else _UNCHECKED,
        dmarc_policy=_dmarc_policy(dmarc),
        spf_domain=_address_domain(mailfrom) if mailfrom else None,
        dkim_domains=tuple(
            dict.fromkeys(
                signer
                for r in dkims
                if r.result == "pass" and (signer := _signing_domain(r)) is not None
            )
        ),
        dmarc_domain=_domain(dmarc.props.get("header.from", "")) if dmarc else None,
        problem=_untrusted(problem) if problem else None,
    )


def _untrusted(why: str) -> str:
    return f"SES's Authentication-Results cannot be trusted: {why}"


def _amazonses_results(field: str) -> list[_Result]:
    """SES's results, read as RFC 8601 writes them: authserv-id, then ``method=result``
    followed by ``ptype.property=value`` properties, each result after a ``;``.

    SES ends its spf result with Received-SPF's bare ``key=value`` entries, separated by ``;``
    like results (``spf=pass (...) client-ip=...; envelope-from=...; helo=...;``): they belong
    to the spf result, and nothing else may stand there. Anything else out of that shape, a
    method SES writes once written twice, or a property named twice, is an error.
    """
    segments = _segments(field)
    if not segments or len(segments[0].words) != 1 or segments[0].comments:
        raise _Untrusted("it names no authserv-id")
    authserv = segments[0].words[0]
    if not authserv.isascii() or authserv.lower() != SES_AUTHSERV_ID:
        raise _Untrusted("its results are another server's, not amazonses.com's")
    results: list[_Result] = []
    spf_entries = False
    for segment in segments[1:]:
        if not segment.words:
            raise _Untrusted("it holds an empty result")
        key, value = _pair(segment.words[0])
        if key in _METHODS:
            result = value.lower()
            if not _KEYWORD.fullmatch(result):
                raise _Untrusted(f"its {key} result is not a keyword")
            props = _properties(key, segment.words[1:])
            results.append(
                _Result(key, result, props, segment.comments, segment.start, segment.end)
            )
            spf_entries = key == "spf"
        elif spf_entries and _spf_entry(key) and len(segment.words) == 1 and not segment.comments:
            last = results[-1]
            if key in last.props:
                raise _Untrusted(f"its spf result names {key} twice")
            results[-1] = replace(last, props={**last.props, key: value}, end=segment.end)
        else:
            raise _Untrusted("it holds an entry that is neither a result nor SES's spf details")
    for method in _ONCE:
        if sum(r.method == method for r in results) > 1:
            raise _Untrusted(f"it holds more than one {method} result")
    return results


def _segments(field: str) -> list[_Segment]:
    """``field`` cut at its separators into words and comments; nested comments and quoted
    strings are single tokens, whatever they hold.

    A ``;`` separates only when whitespace or the end of the field follows, as after every
    entry SES writes (each result on a folded line of its own, ``; `` between the spf
    details). What a sender controls here, the HELO name and the envelope sender, holds no
    whitespace outside quoted strings (RFC 5321 4.1.1), so a ``;`` they hold stays inside their
    word. Whitespace is space and tab only: no Unicode space passes for one. A ``(`` opens a
    comment only where a word could start, a ``"`` a quoted string anywhere in a word; one that
    never closes would swallow SES's own results, and is an error.
    """
    segments: list[_Segment] = []
    words: list[str] = []
    comments: list[str] = []
    start = 0
    index = 0
    while index < len(field):
        char = field[index]
        if char in _WSP:
            index += 1
            continue
        if not words and not comments:
            start = index
        if char == ";" and _separates(field, index):
            segments.append(_Segment(tuple(words), tuple(comments), start, index))
            words, comments = [], []
            index += 1
        elif char == "(":
            end = _comment_end(field, index)
            comments.append(field[index + 1 : end - 1])
            index = end
        else:
            end = _word_end(field, index)
            words.append(field[index:end])
            index = end
    if words or comments:
        segments.append(_Segment(tuple(words), tuple(comments), start, len(field)))
    return segments


def _separates(field: str, index: int) -> bool:
    return index + 1 == len(field) or field[index + 1] in _WSP


def _word_end(field: str, index: int) -> int:
    while index < len(field):
        char = field[index]
        if char in _WSP or (char == ";" and _separates(field, index)):
            break
        index = _quoted_end(field, index) if char == '"' else index + 1
    return index


def _quoted_end(text: str, index: int) -> int:
    """Just past the quoted string that opens at ``index``."""
    index += 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text[index] == '"':
            return index + 1
        else:
            index += 1
    raise _Untrusted("a quoted string in it never closes")


def _comment_end(text: str, index: int) -> int:
    """Just past the (nested) comment that opens at ``index``."""
    depth = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise _Untrusted("a comment in it never closes")


def _pair(word: str) -> tuple[str, str]:
    name, equals, value = word.partition("=")
    if not equals or not value:
        raise _Untrusted("it holds an entry that is not key=value")
    # ASCII before lowercasing: the Kelvin sign lowercases to "k".
    key = name.lower() if name.isascii() else ""
    if not (_KEYWORD.fullmatch(key) or _PROPSPEC.fullmatch(key)):
        raise _Untrusted("it holds an entry whose name is not a keyword")
    return key, _unquoted(value)


def _properties(method: str, words: tuple[str, ...]) -> dict[str, str]:
    props: dict[str, str] = {}
    for word in words:
        key, value = _pair(word)
        if not (
            key == "reason" or _PROPSPEC.fullmatch(key) or (method == "spf" and key in _SPF_KEYS)
        ):
            raise _Untrusted(f"its {method} result holds something other than properties")
        if key in props:
            raise _Untrusted(f"its {method} result names {key} twice")
        props[key] = value
    return props


def _spf_entry(key: str) -> bool:
    return key in _SPF_KEYS or (key.startswith("smtp.") and bool(_PROPSPEC.fullmatch(key)))


def _unquoted(value: str) -> str:
    """A value that is one quoted string, unquoted; any other value as written."""
    if value.startswith('"'):
        try:
            whole = _quoted_end(value, 0) == len(value)
        except _Untrusted:
            whole = False
        if whole:
            return re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.DOTALL)
    return value


def _check_spf(
    field: str, results: list[_Result], received_spf: str | None, envelope: str | None
) -> None:
    """SES writes its spf result and Received-SPF alike: where ours ends is where SES's did.

    A separator read inside the sender's HELO name or envelope (or one missed) would make them
    differ; so would an envelope-from that is not the Return-Path SES wrote.
    """
    spf = next((r for r in results if r.method == "spf"), None)
    if spf is None:
        return
    # Without Received-SPF (a copy of the block that lost it), the separators alone decide;
    # one written as "spf=..." says the same.
    if received_spf is not None:
        _same_spf(_collapsed(field[spf.start : spf.end]), received_spf)
    stated = spf.props.get("envelope-from")
    if envelope and stated is not None and _address_domain(stated) != _address_domain(envelope):
        raise _Untrusted("its envelope-from and SES's Return-Path name different domains")


def _same_spf(written: str, received_spf: str) -> None:
    expected = _collapsed(_collapsed(received_spf).removesuffix(";")).removeprefix("spf=")
    if written.lower() != f"spf={expected}".lower():
        raise _Untrusted("its spf result and SES's Received-SPF differ")


def _collapsed(text: str) -> str:
    return re.sub("[ \t]+", " ", text).strip(_WSP)


def _dkim_problem(results: list[_Result]) -> str | None:
    for result in results:
        # dkim=none: no signature, so nothing to name.
        if result.result != "none" and _signing_domain(result) is None:
            return (
                f"its dkim={result.result} result names no signing domain "
                "(header.d or header.i) that is a domain name"
            )
    return None


def _dmarc_problem(result: _Result | None) -> str | None:
    if result is None:
        return None
    if "header.from" not in result.props:
        return f"its dmarc={result.result} result names no From domain (header.from)"
    if _domain(result.props["header.from"]) is None:
        return f"its dmarc={result.result} result names a From domain that is not a domain name"
    return None


def _mapping(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def _status(result: _Result | None) -> str:
    return "GRAY" if result is None else _RESULT_STATUS.get(result.result, "GRAY")


def _received_spf_status(value: str | None) -> str:
    return _RESULT_STATUS.get(_keyword(value), "GRAY") if value is not None else "GRAY"


def _dkim_status(results: list[_Result]) -> str:
    statuses = [_status(r) for r in results]
    for status in ("PASS", "FAIL", "PROCESSING_FAILED"):
        if status in statuses:
            return status
    return "GRAY"


def _verdict(value: str | None) -> str:
    if value is None:
        return _UNCHECKED
    status = _keyword(value).upper()
    return status if status in _STATUSES else "GRAY"


def _keyword(value: str) -> str:
    """The leading word of an SES field (``pass (spfCheck: ...)`` -> ``pass``), lowercased."""
    text = value.lstrip(_WSP)
    end = next((i for i, char in enumerate(text) if char in _WSP or char in "(;"), len(text))
    return text[:end].lower()


def _event_status(receipt: Mapping[str, Any], key: str, stored: str) -> str:
    """The event's verdict; the stored block's where the event has none."""
    verdict = receipt.get(key)
    status = verdict.get("status") if isinstance(verdict, Mapping) else None
    if not isinstance(status, str):
        return stored
    return status.upper() if status.upper() in _STATUSES else "GRAY"


def _dmarc_policy(result: _Result | None) -> str | None:
    if result is None:
        return None
    policy = result.props.get("policy.dmarc") or result.props.get("policy.published-domain-policy")
    for comment in result.comments:
        found = re.search(r"\bp=(\w+)", comment, re.IGNORECASE)
        if found and policy is None:
            policy = found.group(1)
    return policy.lower() if policy else None


def _signing_domain(result: _Result) -> str | None:
    """header.d, or header.i's domain; None when neither is a domain name, or when header.i
    lies outside header.d (RFC 6376 3.5: a verifier refuses such a signature)."""
    d_tag, i_tag = result.props.get("header.d"), result.props.get("header.i")
    signer = _domain(d_tag) if d_tag is not None else None
    agent = _address_domain(i_tag) if i_tag is not None else None
    if d_tag is None or i_tag is None:
        return signer or agent
    if signer is None or agent is None:
        return None
    return signer if agent == signer or is_subdomain(agent, signer) else None


def _angle_addr(value: str) -> str:
    return value.strip(_WSP).strip("<>").strip(_WSP)


def _address_domain(address: str) -> str | None:
    """The domain of ``local@domain`` (``@domain`` in header.i, or a bare domain, which RFC 8601
    allows in smtp.mailfrom); None unless the whole text is one such address."""
    local, at, domain = address.rpartition("@")
    if at and local and not _is_local_part(local):
        return None
    return _domain(domain)


def _is_local_part(local: str) -> bool:
    if local.startswith('"'):
        try:
            return _quoted_end(local, 0) == len(local)
        except _Untrusted:
            return False
    return all(
        char in _ATEXT or char.isalnum() or (not char.isascii() and char.isprintable())
        for char in local
    )


def _domain(text: str) -> str | None:
    """``text`` as a domain name in normal form; None for anything else."""
    if not all(char.isprintable() and not char.isspace() for char in text):
        return None
    return normalize_domain(text)
