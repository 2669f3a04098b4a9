"""The decision log: one record per decision, what ``ticket-router why`` and ``decisions`` read.

Pure. A record says which route, reason and issue, the sender's domain, a digest of the
Message-ID and where the mail is stored; never a body, a subject or an address (the detail's
addresses are masked). Records are kept per UTC day, newest last, and expire after the
deployment's retention (handler/aws/decision_log.py stores them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from handler.inbound.headers import message_id
from handler.inbound.masking import masked_words
from handler.inbound.plan import Decision, Plan

# Terraform's default for decision_log_retention_days, and the bounds it validates.
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
# A detail is a sentence or two; a hostile header quoted in one must not fill the table (an item
# holds at most 400 KB).
_DETAIL_LIMIT = 1000
_SINCE = re.compile(r"(\d{1,7})([mhd])")
_SECONDS = {"m": 60, "h": 3600, "d": 86400}
# A Message-ID pasted with its field name, as a mail client shows it.
_MESSAGE_ID_FIELD = re.compile(r"^\s*message-id\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class MailFacts:
    """What the decision log keeps of the mail itself: who sent it and its Message-ID."""

    # From's domain, in normal form; None when the mail has no readable From.
    sender_domain: str | None = None
    # True when SES authenticated that domain and nothing else refused the sender.
    sender_authenticated: bool = False
    message_digest: str | None = None


# A mail that could not be read (not fetched, or its handling failed) tells nothing of itself.
NO_FACTS = MailFacts()


@dataclass(frozen=True)
class DecisionRecord:
    """One decision about one mail for one recipient, as the decision log keeps it."""

    # When it was decided (epoch seconds), and the record's id: that time and a digest, unique
    # and ordered by time within the day.
    at: float
    id: str
    route: str | None
    reason: str
    action: str
    detail: str
    recipient_domain: str | None
    sender_domain: str | None
    sender_authenticated: bool
    message_digest: str | None
    # The mail's identity (handler.inbound.identity.mail_key), its comment's marker.
    mail: str | None
    s3_bucket: str
    s3_key: str
    ses_message_id: str | None
    repo: str | None
    issue: int | None
    url: str | None
    retryable: bool

    @property
    def time(self) -> str:
        return iso_time(self.at)

    @property
    def day(self) -> str:
        return self.time[:10]

    @property
    def object_name(self) -> str:
        """The stored object's name: SES names it after its message id."""
        return object_name(self.s3_key)


@dataclass(frozen=True)
class Where:
    """Where the mail is stored."""

    s3_bucket: str
    s3_key: str
    ses_message_id: str | None


@dataclass(frozen=True)
class Filters:
    """What ``ticket-router decisions`` keeps; None keeps any."""

    route: str | None = None
    reason: str | None = None
    sender_domain: str | None = None

    def keep(self, record: DecisionRecord) -> bool:
        return (
            (self.route is None or record.route == self.route)
            and (self.reason is None or record.reason == self.reason)
            and (self.sender_domain is None or record.sender_domain == self.sender_domain)
        )


@dataclass(frozen=True)
class MailQuery:
    """What ``ticket-router why`` looks up for the text the operator gave."""

    message_digest: str | None
    # The stored object's name (SES's message id), and the key and bucket it must be under when
    # the operator named them.
    object_name: str | None
    s3_key: str | None = None
    s3_bucket: str | None = None

    def keeps(self, record: DecisionRecord) -> bool:
        """Whether ``record``, found by its object's name, is of the object named."""
        return (self.s3_key is None or record.s3_key == self.s3_key) and (
            self.s3_bucket is None or record.s3_bucket == self.s3_bucket
        )

    @property
    def searched(self) -> str:
        """What was looked for, for the line that says nothing was found."""
        parts = []
        if self.message_digest is not None:
            parts.append(f"Message-ID digest {self.message_digest}")
        if self.s3_key is not None:
            where = f"s3://{self.s3_bucket}/" if self.s3_bucket is not None else ""
            parts.append(f"S3 key {where}{self.s3_key}")
        elif self.object_name is not None:
            parts.append(f"SES message id {self.object_name}")
        return " and ".join(parts)


def mail_query(text: str) -> MailQuery:
    """How to find the mail ``text`` names: ``s3://BUCKET/KEY``, an S3 key (with a ``/``), a
    Message-ID (with ``@`` or ``<``) or a bare SES message id. Without ``@``, ``<`` or ``s3://``
    it could be either a Message-ID or an SES message id, and both are searched. Raises
    ValueError for text that names nothing."""
    spec = text.strip()
    if spec.startswith("s3://"):
        bucket, _, key = spec.removeprefix("s3://").partition("/")
        if not bucket or not object_name(key):
            raise ValueError(f"{text!r} is not s3://BUCKET/KEY")
        return MailQuery(None, object_name(key), s3_key=key, s3_bucket=bucket)
    digest = message_digest(spec)
    if digest is None:
        raise ValueError(f"{text!r} names no mail")
    if "@" in spec or "<" in spec:
        return MailQuery(digest, None)
    if not object_name(spec):
        raise ValueError(f"{text!r} names no stored mail")
    return MailQuery(digest, object_name(spec), s3_key=spec if "/" in spec else None)


class DecisionLogError(Exception):
    """The decision log cannot be written or read; ``detail`` says why, in one line."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class DecisionLog(Protocol):
    def record(self, records: Sequence[DecisionRecord]) -> None:
        """Keep ``records``; a DecisionLogError says why they were not."""
        ...


def message_digest(value: str) -> str | None:
    """The digest a record keeps of a Message-ID: SHA-256 (hex, 32 digits) of the id without
    its angle brackets and whitespace, lower-cased, so that it matches however it is pasted
    (``<a@b>``, ``a@b``, ``Message-ID: <A@B>``); None for an empty one."""
    found = message_id(_MESSAGE_ID_FIELD.sub("", value, count=1))
    if found is None:
        return None
    return hashlib.sha256(found.lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def mail_facts(planned: Plan) -> MailFacts:
    """The sender's domain, whether SES authenticated it, and the Message-ID's digest."""
    message = planned.message
    return MailFacts(
        # Already lower-case ASCII (handler.inbound.headers.Address); "" when unreadable.
        sender_domain=(message.from_[0].domain if message.from_ else "") or None,
        sender_authenticated=planned.assessment.ok,
        message_digest=message_digest(message.message_id) if message.message_id else None,
    )


def record_of(
    decision: Decision,
    *,
    route: str | None,
    facts: MailFacts,
    where: Where,
    at: float,
    index: int,
) -> DecisionRecord:
    """The record of ``decision``, the ``index``-th of its mail's, decided at ``at``."""
    recipient_domain = decision.recipient.rpartition("@")[2].lower() or None
    unique = f"{where.s3_bucket}\n{where.s3_key}\n{decision.recipient}\n{index}\n{at!r}"
    digest = hashlib.sha256(unique.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return DecisionRecord(
        at=at,
        id=f"{iso_time(at)}#{digest}",
        route=route,
        reason=str(decision.reason),
        action=decision.action,
        detail=masked_words(decision.detail)[:_DETAIL_LIMIT],
        recipient_domain=recipient_domain if "@" in decision.recipient else None,
        sender_domain=facts.sender_domain,
        sender_authenticated=facts.sender_authenticated,
        message_digest=facts.message_digest,
        mail=decision.mail,
        s3_bucket=where.s3_bucket,
        s3_key=where.s3_key,
        ses_message_id=where.ses_message_id,
        repo=decision.repo,
        issue=decision.issue,
        url=decision.url,
        retryable=decision.retryable,
    )


def iso_time(at: float) -> str:
    """``2026-12-06T19:32:51.123456Z``: fixed width, so that the text sorts as the time does."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def object_name(key: str) -> str:
    return key.rpartition("/")[2]


def parse_since(text: str, now: float) -> float:
    """The time ``--since`` names: ``90m``, ``24h``, ``7d`` before ``now``, or an ISO 8601 time
    (UTC unless it says otherwise). Raises ValueError saying what is wrong."""
    spec = text.strip()
    relative = _SINCE.fullmatch(spec)
    if relative is not None:
        since = now - int(relative.group(1)) * _SECONDS[relative.group(2)]
    else:
        try:
            moment = datetime.fromisoformat(spec)
        except ValueError:
            raise ValueError(
                f"--since {text!r} is neither a duration (90m, 24h, 7d) nor an ISO time "
                "(2026-12-06 or 2026-12-06T09:30Z)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        since = moment.timestamp()
    if since > now:
        raise ValueError(f"--since {text!r} is in the future")
    if now - since > MAX_RETENTION_DAYS * 86400:
        raise ValueError(
            f"--since {text!r} is more than {MAX_RETENTION_DAYS} days ago, "
            "longer than any record is kept"
        )
    return since


def days_back(since: float, now: float) -> Iterator[str]:
    """The UTC days from ``now``'s back to ``since``'s, newest first."""
    day = datetime.fromtimestamp(now, UTC).date()
    first = datetime.fromtimestamp(since, UTC).date()
    while day >= first:
        yield day.isoformat()
        day -= timedelta(days=1)


def retention_days(text: str | None) -> int:
    """DECISION_RETENTION_DAYS: whole days from 1 to 3650, 30 when unset. Raises ValueError."""
    value = (text or "").strip() or str(DEFAULT_RETENTION_DAYS)
    if not value.isdigit() or not 1 <= int(value) <= MAX_RETENTION_DAYS:
        raise ValueError(
            f"DECISION_RETENTION_DAYS must be whole days from 1 to {MAX_RETENTION_DAYS}, "
            f"not {text!r}"
        )
    return int(value)


def describe(record: DecisionRecord) -> list[str]:
    """``ticket-router why``'s block for one record: a heading line, then indented facts."""
    outcome = "retryable" if record.retryable else record.action
    lines = [f"{record.time}  {record.route or '(no route)'}  {record.reason} ({outcome})"]
    lines.append(f"    detail: {record.detail}")
    if record.repo:
        target = f"{record.repo}#{record.issue}" if record.issue is not None else record.repo
        lines.append(f"    issue: {target}" + (f" {record.url}" if record.url else ""))
    sender = record.sender_domain or "(unknown)"
    verdict = "authenticated" if record.sender_authenticated else "not authenticated"
    lines.append(f"    from: {sender} ({verdict})  to: {record.recipient_domain or '(none)'}")
    lines.append(f"    mail: s3://{record.s3_bucket}/{record.s3_key}")
    return lines


def summary(record: DecisionRecord) -> str:
    """``ticket-router decisions``' line for one record."""
    target = f"{record.repo}#{record.issue}" if record.issue is not None else record.repo
    fields = [
        record.time,
        record.reason + (" (retryable)" if record.retryable else ""),
        f"route={record.route or '-'}",
        f"from={record.sender_domain or '-'}",
        f"issue={target or '-'}",
        f"key={record.s3_key}",
    ]
    return "  ".join(fields)


def as_json(record: DecisionRecord) -> dict[str, object]:
    """The record as ``--json`` prints it."""
    return {
        "time": record.time,
        "at": record.at,
        "route": record.route,
        "reason": record.reason,
        "action": record.action,
        "detail": record.detail,
        "retryable": record.retryable,
        "repo": record.repo,
        "issue": record.issue,
        "url": record.url,
        "recipient_domain": record.recipient_domain,
        "sender_domain": record.sender_domain,
        "sender_authenticated": record.sender_authenticated,
        "message_id_digest": record.message_digest,
        "mail": record.mail,
        "s3_bucket": record.s3_bucket,
        "s3_key": record.s3_key,
        "ses_message_id": record.ses_message_id,
    }
