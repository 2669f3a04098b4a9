"""The fixed order every mail goes through: parse -> recipients -> route -> authenticate ->
render -> post.

``plan`` is pure: it turns raw bytes (and, in Lambda, what SES measured) into one Decision per
recipient. ``deliver`` posts the accepted ones through a Commenter, each under a claim that makes
it happen once per (mail, issue) however often the mail arrives (handler.idempotency), and
records what GitHub said.
The CLI and the Lambda both run exactly these two steps, so a stored mail replayed through the CLI
is judged as the Lambda judged it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any, Literal, Protocol

from handler.authenticity import (
    Assessment,
    SesReceipt,
    assess,
    receipt_from_event,
    receipt_from_headers,
)
from handler.github import GitHubError, PostedComment, marker
from handler.idempotency import (
    ClaimInProgress,
    Claims,
    ClaimStoreError,
    NoClaims,
    claim_key,
    mail_key,
)
from handler.mail import Message, parse_mail
from handler.render import render_comment
from handler.routes import Miss, Routes, sender_allowed

Action = Literal["comment", "reject"]


@dataclass(frozen=True)
class Decision:
    """What happened (or would happen) to one mail for one recipient."""

    recipient: str
    action: Action
    # A stable code: "accepted" (planned), "posted", or why nothing was posted.
    reason: str
    detail: str
    repo: str | None = None
    issue: int | None = None
    body: str | None = None
    url: str | None = None
    # True when trying again later may succeed (GitHub down, rate limited).
    retryable: bool = False
    # The mail's identity (handler.idempotency.mail_key): one comment per mail and issue.
    mail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    message: Message
    decisions: tuple[Decision, ...]
    # Who sent it, as SES vouched for it: what sender notices are decided on.
    assessment: Assessment


class Commenter(Protocol):
    def create_comment(
        self, repo: str, issue: int, body: str, *, since: float | None = None
    ) -> PostedComment: ...


def plan(
    raw: bytes,
    routes: Routes,
    *,
    recipients: Sequence[str] = (),
    ses_record: Mapping[str, Any] | None = None,
) -> Plan:
    """Decide, without any I/O, what to do with ``raw`` for each of its recipients.

    Recipients, in order of trust: ``recipients`` given by the caller (the CLI's --recipient),
    the ones SES accepted (the event's receipt, else the "for <addr>" of SES's own Received
    header), and only then the To and Cc headers of a mail that never went through SES.
    """
    message = parse_mail(raw)
    mail = mail_key(message, raw)
    stored = receipt_from_headers(message)
    receipt = receipt_from_event(ses_record, stored) if ses_record is not None else stored
    addresses = _recipients(message, receipt, recipients)
    assessment = assess(message, receipt)
    if not addresses:
        return Plan(
            message,
            (
                Decision(
                    recipient="",
                    action="reject",
                    reason="no-recipient",
                    detail="the mail names no recipient (no envelope recipient, To or Cc)",
                    mail=mail,
                ),
            ),
            assessment,
        )
    claimed: set[tuple[str, int]] = set()
    decisions = []
    for address in addresses:
        decision = replace(
            _decide(message, assessment, routes, address, claimed=claimed, mail=mail), mail=mail
        )
        if decision.action == "comment" and decision.repo and decision.issue:
            claimed.add((decision.repo.lower(), decision.issue))
        decisions.append(decision)
    return Plan(message, tuple(decisions), assessment)


def deliver(
    decisions: Iterable[Decision],
    commenter: Commenter,
    *,
    claims: Claims | None = None,
    since: float | None = None,
) -> tuple[Decision, ...]:
    """Post every accepted decision once; each comes back posted, already posted, or failed.

    ``since`` (epoch seconds) says the mail is not fresh (a retry, a replay): GitHub is searched
    for an earlier copy before posting.
    """
    store = claims if claims is not None else NoClaims()
    results = []
    for decision in decisions:
        if decision.action != "comment" or decision.repo is None or decision.issue is None:
            results.append(decision)
            continue
        repo, issue, body = decision.repo, decision.issue, decision.body or ""
        key = claim_key(repo, issue, decision.mail or "")
        try:
            claimed = store.once(
                key, partial(commenter.create_comment, repo, issue, body, since=since)
            )
        except GitHubError as error:
            results.append(_failed(decision, error.reason, error.detail, error.transient))
            continue
        except ClaimInProgress as error:
            results.append(_failed(decision, "in-progress", str(error), retryable=True))
            continue
        except ClaimStoreError as error:
            results.append(_failed(decision, "claim-store-unavailable", str(error), True))
            continue
        if claimed.fresh:
            reason, detail = "posted", f"posted to {repo}#{issue}"
        else:
            reason, detail = "already-posted", f"this mail was already posted to {repo}#{issue}"
        results.append(replace(decision, reason=reason, detail=detail, url=claimed.comment.url))
    return tuple(results)


def _failed(decision: Decision, reason: str, detail: str, retryable: bool) -> Decision:
    return replace(decision, action="reject", reason=reason, detail=detail, retryable=retryable)


def _decide(
    message: Message,
    assessment: Assessment,
    routes: Routes,
    address: str,
    *,
    claimed: set[tuple[str, int]],
    mail: str,
) -> Decision:
    target = routes.lookup(address)
    if isinstance(target, Miss):
        return Decision(address, "reject", target.reason, target.detail)
    route, issue = target.route, target.issue
    if not assessment.ok or assessment.sender is None:
        return Decision(
            address, "reject", assessment.reason, assessment.detail, repo=route.repo, issue=issue
        )
    domain = assessment.sender.domain
    if not sender_allowed(route, domain):
        return Decision(
            address,
            "reject",
            "sender-not-allowed",
            f"{domain} is not among the sender domains allowed for {route.label}: "
            + ", ".join(route.allowed_senders),
            repo=route.repo,
            issue=issue,
        )
    if (route.repo.lower(), issue) in claimed:
        return Decision(
            address,
            "reject",
            "duplicate-recipient",
            f"{route.repo}#{issue} was already addressed by another recipient of this mail",
            repo=route.repo,
            issue=issue,
        )
    unparseable = next((d for d in message.defects if d.startswith("unparseable")), None)
    if unparseable is not None:
        return Decision(
            address,
            "reject",
            "unparseable-mail",
            f"the mail's MIME structure could not be read ({unparseable.partition(': ')[2]})",
            repo=route.repo,
            issue=issue,
        )
    comment = render_comment(
        message,
        address,
        keep_quoted=route.keep_quoted,
        show_sender_address=route.show_sender_address,
        marker=marker(mail),
    )
    if comment.empty:
        return Decision(
            address,
            "reject",
            "empty-body",
            "nothing is left after removing quoted text and signature",
            repo=route.repo,
            issue=issue,
        )
    return Decision(
        address,
        "comment",
        "accepted",
        f"comment for {route.repo}#{issue}",
        body=comment.markdown,
        repo=route.repo,
        issue=issue,
    )


def _recipients(message: Message, receipt: SesReceipt | None, explicit: Sequence[str]) -> list[str]:
    if explicit:
        candidates: Iterable[str] = explicit
    elif receipt is not None and receipt.recipients:
        candidates = receipt.recipients
    else:
        candidates = (address.addr for address in (*message.to, *message.cc))
    unique: dict[str, None] = {}
    for candidate in candidates:
        address = candidate.strip().strip("<>").strip().lower()
        if address:
            unique.setdefault(address)
    return list(unique)
