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
_PROPERTY = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s";]+)')
_METHODS = {"spf", "dkim", "dmarc", "arc", "iprev", "auth", "dkim-atps", "bimi", "smime", "vbr"}


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
    recipients: tuple[str, ...] = field(default=())
    # When SES received the mail (epoch seconds): its Received field's date, else the event's.
    received_at: float | None = None


@dataclass(frozen=True)
class Assessment:
    ok: bool
    reason: Reason
    detail: str
    sender: Address | None


def receipt_from_headers(message: Message) -> SesReceipt | None:
    """SES's verdicts from the block SES prepended to the stored mail, or None without one."""
    block = dict(_ses_block(message.headers))
    if "x-ses-receipt" not in block:
        return None
    results = _amazonses_results(block.get("authentication-results", ""))
    spf = next((r for r in results if r.method == "spf"), None)
    dmarc = next((r for r in results if r.method == "dmarc"), None)
    dkims = [r for r in results if r.method == "dkim"]
    envelope = _angle_addr(block["return-path"]) if "return-path" in block else None
    spf_domain = None
    if spf is not None:
        mailfrom = spf.props.get("smtp.mailfrom") or spf.props.get("envelope-from") or envelope
        spf_domain = _domain_of(mailfrom) if mailfrom else None
    elif envelope:
        spf_domain = _domain_of(envelope)
    if spf is None and "received-spf" in block:
        spf_status = _RESULT_STATUS.get(_keyword(block["received-spf"]), "GRAY")
    else:
        spf_status = _status(spf)
    envelope_to = recipient(block.get("received", ""))
    return SesReceipt(
        spf=spf_status,
        dkim=_dkim_status(dkims),
        dmarc=_status(dmarc) if "authentication-results" in block else _UNCHECKED,
        spam=_verdict(block.get("x-ses-spam-verdict")),
        virus=_verdict(block.get("x-ses-virus-verdict")),
        dmarc_policy=_dmarc_policy(dmarc),
        envelope_from=envelope,
        spf_domain=spf_domain,
        dkim_domains=tuple(
            dict.fromkeys(d for r in dkims if r.result == "pass" for d in _signing_domains(r))
        ),
        dmarc_domain=normalize_domain(dmarc.props.get("header.from", "")) if dmarc else None,
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
        spf_domain=base.spf_domain or (_domain_of(envelope) if envelope else None),
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
            f"so nothing vouches for {domain}",
            sender,
        )
    how = _authenticated_by(receipt, domain)
    if how is None:
        return Assessment(False, Reason.NOT_AUTHENTICATED, _why_not(receipt, domain), sender)
    mismatch = _sender_mismatch(message, domain)
    if mismatch is not None:
        return Assessment(False, Reason.SENDER_MISMATCH, mismatch, sender)
    return Assessment(True, Reason.AUTHENTICATED, how, sender)


def aligned(domain: str, other: str) -> bool:
    """Relaxed DMARC alignment: equal, or one lies below the other (both in normal form)."""
    if "." not in domain or "." not in other:
        return False
    return domain == other or is_subdomain(domain, other) or is_subdomain(other, domain)


def _authenticated_by(receipt: SesReceipt, domain: str) -> str | None:
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
        listed = ", ".join(a.addr for a in addresses[:5])
        return f"the mail has {len(addresses)} From addresses ({listed}); exactly one is needed"
    address = addresses[0]
    if not address.local or normalize_domain(address.domain) is None:
        return f"the From address {address.addr!r} has no valid domain"
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
        return f"the Sender address {sender.addr!r} has no valid domain"
    if not aligned(domain, sender_domain):
        return (
            f"the mail was sent by {sender.addr} (Sender) on behalf of {domain} (From); "
            "only mail sent by the From domain itself is posted"
        )
    return None


@dataclass(frozen=True)
class _Result:
    method: str
    result: str
    props: dict[str, str]
    comments: tuple[str, ...]


def _ses_block(headers: tuple[tuple[str, str], ...]) -> Iterator[tuple[str, str]]:
    last = -1
    for name, value in headers:
        rank = _RANK.get(name.lower())
        if rank is None or rank <= last:
            return
        last = rank
        yield name.lower(), value


def _amazonses_results(value: str) -> list[_Result]:
    """The results of an RFC 8601 Authentication-Results field, if SES wrote it.

    SES follows a resinfo with bare ``property=value`` segments of its own
    (``spf=pass (...) client-ip=...; envelope-from=...;``): those belong to the result before.
    """
    segments = list(_segments(value))
    if not segments or _keyword(segments[0][0]) != SES_AUTHSERV_ID:
        return []
    results: list[_Result] = []
    for text, comments in segments[1:]:
        pairs = [(k.lower(), v.strip('"')) for k, v in _PROPERTY.findall(text)]
        if not pairs:
            continue
        method, result = pairs[0]
        if method in _METHODS:
            results.append(_Result(method, result.lower(), dict(pairs[1:]), comments))
        elif results:
            results[-1].props.update(pairs)
    return results


def _segments(value: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Split on top-level ';', removing (nested) comments and keeping quoted strings whole."""
    text: list[str] = []
    comments: list[str] = []
    comment: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            (comment if depth else text).append(char)
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif depth:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    comments.append("".join(comment))
                    comment = []
                    text.append(" ")
                    continue
            comment.append(char)
        elif quoted:
            text.append(char)
            quoted = char != '"'
        elif char == "(":
            depth = 1
        elif char == '"':
            quoted = True
            text.append(char)
        elif char == ";":
            yield "".join(text).strip(), tuple(comments)
            text, comments = [], []
        else:
            text.append(char)
    if "".join(text).strip():
        yield "".join(text).strip(), tuple(comments)


def _mapping(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def _status(result: _Result | None) -> str:
    return "GRAY" if result is None else _RESULT_STATUS.get(result.result, "GRAY")


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
    words = value.split(None, 1)
    return words[0].lower() if words else ""


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


def _signing_domains(result: _Result) -> Iterator[str]:
    for key in ("header.d", "header.i"):
        value = result.props.get(key)
        if value:
            domain = normalize_domain(value.rpartition("@")[2])
            if domain:
                yield domain


def _angle_addr(value: str) -> str:
    return value.strip().strip("<>").strip()


def _domain_of(address: str) -> str | None:
    """The domain of ``local@domain``, or of a bare domain (RFC 8601 allows ``smtp.mailfrom=d``)."""
    return normalize_domain(address.rpartition("@")[2])
