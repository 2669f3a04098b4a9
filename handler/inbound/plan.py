"""The pure plan: a mail's raw bytes, and what SES measured, become one decision per recipient:
a comment on the issue its address names, a new issue for a new-issue address, an unsubscribe,
or a rejection with its reason. No I/O: the service carries decisions out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Literal

from handler.attachments.model import Deployment, FilePlan, ListedFile, StoredFile
from handler.attachments.policy import plan_files
from handler.github.posts import marker
from handler.inbound.authenticity import (
    ASSUMED,
    Assessment,
    SesReceipt,
    assess,
    receipt_from_event,
    receipt_from_headers,
)
from handler.inbound.autoreply import own_mail
from handler.inbound.headers import Address
from handler.inbound.identity import mail_key
from handler.inbound.mail import Message, attachment_contents, parse_mail
from handler.inbound.render import Comment, render_comment
from handler.inbound.replay_guard import (
    Refusal,
    conflicting_headers,
    not_addressed,
    outside_window,
)
from handler.inbound.threads import thread_ids
from handler.inbound.titles import issue_title
from handler.reasons import NEVER_POSTED, Reason
from handler.routing import Miss, NewIssue, Route, Routes, Target, Unsubscribe, sender_allowed

Action = Literal["comment", "open", "unsubscribe", "reject"]
# How much of the header area is looked at for binary data: SES's block and a long chain of
# Received fields fit many times over, and a 40 MB object costs no more than a small one.
_SNIFF = 64 * 1024
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
# C0 controls other than tab, line feed, form feed and carriage return, and DEL: text holds
# none; more than one byte in _BINARY_SHARE of them in the header area is binary data.
_NOT_TEXT = bytes([*range(0x01, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_NUL = b"\0"
_BINARY_SHARE = 10
# Unless told otherwise: github.com, and no attachments bucket.
_DEPLOYMENT = Deployment()


# The body again, the stored files of these indexes listed instead, each with why (the store
# refused them, or would give wider access than the issue's).
Relist = Callable[[Mapping[int, ListedFile]], str]


@dataclass(frozen=True)
class CommentDraft:
    """The comment an accepted mail posts, and the files it links, stored before it is posted."""

    body: str
    files: tuple[StoredFile, ...] = ()
    relist: Relist | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class IssueDraft:
    """The issue an accepted mail to a new-issue address opens, and the mail thread it starts."""

    title: str
    body: str
    labels: tuple[str, ...] = ()
    # The mail's own Message-ID, and those it answers (handler.inbound.threads).
    message_id: str | None = None
    thread: tuple[str, ...] = ()
    # As a comment's: the files the body links, and the body with some of them listed instead.
    files: tuple[StoredFile, ...] = ()
    relist: Relist | None = field(default=None, compare=False, repr=False)


Draft = CommentDraft | IssueDraft


@dataclass(frozen=True)
class Decision:
    """What happened (or would happen) to one mail for one recipient."""

    recipient: str
    action: Action
    # ACCEPTED (planned), POSTED, or why nothing was posted.
    reason: Reason
    detail: str
    repo: str | None = None
    issue: int | None = None
    url: str | None = None
    # True when trying again later may succeed (GitHub down, rate limited).
    retryable: bool = False
    # For a retryable decision: seconds from now before a retry can succeed, when known (the
    # rate limit's window); the queue keeps the mail out of sight that long.
    retry_after: float | None = None
    # The mail's identity (handler.inbound.identity.mail_key): one comment per mail and issue.
    mail: str | None = None
    # What an accepted comment or issue posts; kept when posting it failed, for the record.
    draft: Draft | None = None
    # What a preview assumed in SES's stead and the decision rests on ("SES authenticated
    # example.com"): dispatch --dry-run --assume-authenticated only. None: SES's own word.
    assumed: str | None = None


@dataclass(frozen=True)
class Plan:
    message: Message
    decisions: tuple[Decision, ...]
    # Who sent it, as SES vouched for it: what sender notices are decided on.
    assessment: Assessment


def plan(
    raw: bytes,
    routes: Routes,
    *,
    recipients: Sequence[str] = (),
    ses_record: Mapping[str, Any] | None = None,
    assume_authenticated: bool = False,
    deployment: Deployment = _DEPLOYMENT,
) -> Plan:
    """Decide, without any I/O, what to do with ``raw`` for each of its recipients.

    Recipients are those ``recipients`` given by the caller (the CLI's --recipient), else the
    ones SES accepted: the event's receipt, else the "for <addr>" of SES's own Received field.
    Never the mail's To and Cc, which anyone writes.

    ``assume_authenticated`` (a dry run's preview of a mail that never went through SES): a mail
    without SES's block, and without an event, is judged as if SES had passed DMARC for its From
    domain and, unless ``recipients`` are given, had received it for the To and Cc addresses at
    the routes' domains. Each decision that rests on that says so (``Decision.assumed``).

    On a route that links attachments, each file is judged (handler.attachments.policy) with
    SES's virus verdict and date, and ``deployment`` says where files may go.
    """
    message = parse_mail(raw)
    mail = mail_key(message, raw)
    stored = receipt_from_headers(message)
    receipt = receipt_from_event(ses_record, stored) if ses_record is not None else stored
    if receipt is None and assume_authenticated:
        receipt = ASSUMED
    addresses = _recipients(receipt, recipients)
    # Recipients a preview assumed: those SES would have received the mail for, had it been sent.
    addressed = not addresses and receipt is ASSUMED
    if addressed:
        addresses = [a.addr for a in (*message.to, *message.cc) if a.domain in routes.domains]
    unmail = not_a_mail(raw, message)
    if unmail is not None:
        # Nothing in it is read: no sender to judge, nothing to post, whoever it was for.
        refused = Assessment(False, Reason.NOT_A_MAIL, unmail, None)
        return Plan(
            message,
            tuple(
                Decision(address, "reject", Reason.NOT_A_MAIL, unmail, mail=mail)
                for address in addresses or [""]
            ),
            refused,
        )
    own = own_mail(message, routes.domains)
    # Before anything else is asked of it: our own mail is refused whatever it says of itself.
    assessment = (
        assess(message, receipt) if own is None else Assessment(False, Reason.AUTO_REPLY, own, None)
    )
    if not addresses:
        detail = (
            "SES named no recipient: the event lists none, and SES's Received field has no for "
            "clause (it has none for a mail to several addresses); the mail's own To and Cc are "
            "not trusted (the CLI's --recipient names one)"
        )
        if receipt is None:
            detail = (
                "the mail has no SES header block, so nothing says whom SES received it for: "
                "preview it with dispatch --dry-run --assume-authenticated (or --recipient)"
            )
        return Plan(
            message,
            (Decision("", "reject", Reason.NO_RECIPIENT, detail, mail=mail),),
            assessment,
        )
    # Per mail; the Date is measured against SES's receipt, never against the time of processing.
    guard = _Guard(conflicting_headers(message), receipt.received_at if receipt else None)
    files = _MailFiles(raw, message, receipt, mail, deployment)
    # (repo, issue) already addressed by this mail; issue 0 stands for a new issue.
    claimed: set[tuple[str, int]] = set()
    decisions = []
    for address in addresses:
        decision = replace(
            _decide(
                message,
                assessment,
                routes,
                address,
                claimed=claimed,
                mail=mail,
                guard=guard,
                files=files,
            ),
            mail=mail,
        )
        if addressed:
            received = f"SES received the mail for {address} (its To or Cc)"
            both = f"{received} and {decision.assumed}" if decision.assumed else received
            decision = replace(decision, assumed=both)
        if decision.action in {"comment", "open"} and decision.repo:
            claimed.add((decision.repo.lower(), decision.issue or 0))
        decisions.append(decision)
    return Plan(message, tuple(decisions), assessment)


def not_a_mail(raw: bytes, message: Message) -> str | None:
    """Why ``raw`` (``message`` its parse) is not a mail at all, or None when it is one.

    A mail starts with header fields (after an mbox ``From `` line, if any): an empty object,
    binary data or text without them is something else stored or saved by mistake, and
    naming it "no recipient" would send its reader looking for an address problem.
    """
    if not raw.strip():
        return "it is empty" if not raw else f"it holds only blank space ({len(raw):,} bytes)"
    # The header area: what precedes the first blank line, within the first _SNIFF bytes.
    area = raw.lstrip(b"\r\n")[:_SNIFF]
    area = area[: found.start()] if (found := _BLANK_LINE.search(area)) else area
    if _NUL in area:
        return f"it holds binary data: a NUL byte at offset {raw.index(_NUL):,}"
    junk = len(area) - len(area.translate(None, _NOT_TEXT))
    if junk * _BINARY_SHARE > len(area):
        return (
            f"it holds binary data: control characters in {junk:,} of its first {len(area):,} bytes"
        )
    if not message.headers:
        return (
            "it does not start with header fields: a mail's first line is a field such as "
            "'From: ...' or 'Received: ...' (or an mbox 'From ' line before one)"
        )
    return None


class _MailFiles:
    """A mail's files as linking routes plan them; their contents are read out of the mail
    once, when the first plan reads one, and shared by every recipient."""

    def __init__(
        self,
        raw: bytes,
        message: Message,
        receipt: SesReceipt | None,
        mail: str,
        deployment: Deployment,
    ) -> None:
        self.message = message
        self.receipt = receipt
        self.mail = mail
        self.deployment = deployment
        self.contents = _Contents(partial(attachment_contents, raw, message.attachments))

    def plan(self, route: Route) -> tuple[FilePlan, ...]:
        """Each file's plan on ``route``; () when it lists files or the mail has none."""
        if route.attachments.mode != "link" or not self.message.attachments:
            return ()
        return plan_files(
            self.message.attachments,
            self.contents,
            settings=route.attachments,
            repo=route.repo,
            mail=self.mail,
            virus=self.receipt.virus if self.receipt is not None else None,
            received_at=self.receipt.received_at if self.receipt is not None else None,
            api_url=route.api_url,
            deployment=self.deployment,
        )


class _Contents(Mapping[int, bytes]):
    """A mail's file contents by index, read on first use: a plan that lists every file (no
    virus scan, no storage) never costs the mail's full parse."""

    def __init__(self, read: Callable[[], dict[int, bytes]]) -> None:
        self._read = read
        self._found: dict[int, bytes] | None = None

    def _all(self) -> dict[int, bytes]:
        if self._found is None:
            self._found = self._read()
        return self._found

    def __getitem__(self, index: int) -> bytes:
        return self._all()[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@dataclass(frozen=True)
class _Guard:
    """What the replay rules know of a mail before its recipients are decided."""

    conflict: Refusal | None
    # When SES received the mail (epoch seconds), None when nothing says.
    received_at: float | None


def route_of(routes: Routes, decision: Decision) -> Route | None:
    """The route a decision's recipient went through, None when it matched none."""
    target = routes.lookup(decision.recipient) if decision.recipient else None
    return None if target is None or isinstance(target, Miss) else target.route


def _decide(
    message: Message,
    assessment: Assessment,
    routes: Routes,
    address: str,
    *,
    claimed: set[tuple[str, int]],
    mail: str,
    guard: _Guard,
    files: _MailFiles,
) -> Decision:
    target = routes.lookup(address)
    if isinstance(target, Miss):
        return Decision(address, "reject", target.reason, target.detail)
    route = target.route
    # None: the mail opens an issue.
    issue = None if isinstance(target, NewIssue) else target.issue
    if assessment.reason in NEVER_POSTED:
        # Before anyone asks who wrote it, whoever sent it and to whom: the plainest reason (a
        # list's mail names the list in To, not us), and one that acts on nothing.
        return Decision(
            address, "reject", assessment.reason, assessment.detail, repo=route.repo, issue=issue
        )
    # Before authentication: a replayed mail is authenticated, as its signer's. Order and why:
    # docs/inbound.md#replay_guard.
    refusal = (
        guard.conflict
        or not_addressed(
            message, address, bcc_allowed=route.allow_bcc and isinstance(target, Target)
        )
        or outside_window(message.date(), guard.received_at, route.max_age)
    )
    if refusal is not None:
        return Decision(
            address, "reject", refusal.reason, refusal.detail, repo=route.repo, issue=issue
        )
    if not assessment.ok or assessment.sender is None:
        return Decision(
            address,
            "reject",
            assessment.reason,
            assessment.detail,
            repo=route.repo,
            issue=issue,
            assumed=_assumed(assessment),
        )
    return replace(
        _decide_sender(
            message,
            assessment.sender,
            route,
            target,
            address,
            claimed=claimed,
            mail=mail,
            files=files,
        ),
        assumed=_assumed(assessment),
    )


def _assumed(assessment: Assessment) -> str | None:
    if not assessment.assumed or assessment.sender is None:
        return None
    return f"SES authenticated {assessment.sender.domain}"


def _decide_sender(
    message: Message,
    sender: Address,
    route: Route,
    target: Target | NewIssue | Unsubscribe,
    address: str,
    *,
    claimed: set[tuple[str, int]],
    mail: str,
    files: _MailFiles,
) -> Decision:
    """The decision for a sender SES vouches for."""
    issue = None if isinstance(target, NewIssue) else target.issue
    if isinstance(target, Unsubscribe):
        # Whoever SES vouches for may leave, allowed to write here or no longer.
        return Decision(
            address,
            "unsubscribe",
            Reason.ACCEPTED,
            f"unsubscribe the sender from {route.repo}#{target.issue}",
            repo=route.repo,
            issue=target.issue,
        )
    domain = sender.domain
    if not sender_allowed(route, domain):
        return Decision(
            address,
            "reject",
            Reason.SENDER_NOT_ALLOWED,
            f"{domain} is not among the sender domains allowed for {route.label}: "
            + ", ".join(route.allowed_senders),
            repo=route.repo,
            issue=issue,
        )
    if (route.repo.lower(), issue or 0) in claimed:
        what = f"{route.repo}#{issue}" if issue else f"a new issue in {route.repo}"
        return Decision(
            address,
            "reject",
            Reason.DUPLICATE_RECIPIENT,
            f"{what} was already addressed by another recipient of this mail",
            repo=route.repo,
            issue=issue,
        )
    unparseable = next((d for d in message.defects if d.startswith("unparseable")), None)
    if unparseable is not None:
        return Decision(
            address,
            "reject",
            Reason.UNPARSEABLE_MAIL,
            f"the mail's MIME structure could not be read ({unparseable.partition(': ')[2]})",
            repo=route.repo,
            issue=issue,
        )
    if message.encryption is not None:
        # Posting what is left (nothing, or the cipher text) would say nothing; the sender can
        # send it again unencrypted.
        return Decision(
            address,
            "reject",
            Reason.ENCRYPTED_MAIL,
            f"the mail is encrypted ({message.encryption}); ticket-router cannot read it",
            repo=route.repo,
            issue=issue,
        )
    render = partial(
        render_comment,
        message,
        address,
        keep_quoted=route.keep_quoted,
        show_sender_address=route.show_sender_address,
        marker=marker(mail),
    )
    plans = files.plan(route)
    comment = render(files=plans)
    linked = _Linked(plans, render)
    if issue is None:
        return _opening(message, address, route, comment, linked)
    if comment.empty:
        return Decision(
            address,
            "reject",
            Reason.EMPTY_BODY,
            "the mail has no text, forward, invitation or attachment",
            repo=route.repo,
            issue=issue,
        )
    return Decision(
        address,
        "comment",
        Reason.ACCEPTED,
        f"comment for {route.repo}#{issue}",
        repo=route.repo,
        issue=issue,
        draft=CommentDraft(comment.markdown, files=linked.files, relist=linked.relist),
    )


class _Linked:
    """The files a draft stores, and its body rendered again with some listed instead."""

    def __init__(self, plans: tuple[FilePlan, ...], render: Callable[..., Comment]) -> None:
        self.plans = plans
        self.render = render
        self.files = tuple(plan for plan in plans if isinstance(plan, StoredFile))

    @property
    def relist(self) -> Relist | None:
        return self._relisted if self.files else None

    def _relisted(self, refused: Mapping[int, ListedFile]) -> str:
        plans = tuple(refused.get(plan.index, plan) for plan in self.plans)
        comment: Comment = self.render(files=plans)
        return comment.markdown


def _opening(
    message: Message, address: str, route: Route, comment: Comment, linked: _Linked
) -> Decision:
    from_list = message.header("List-Id") is not None or message.header("List-Post") is not None
    title = issue_title(message.subject, body=comment.text, from_list=from_list)
    # A title alone is an issue ("Printer on floor 3 is out of toner"); nothing at all is not.
    if comment.empty and title == issue_title(""):
        return Decision(
            address,
            "reject",
            Reason.EMPTY_BODY,
            "the mail has no subject and no text, forward, invitation or attachment",
            repo=route.repo,
        )
    return Decision(
        address,
        "open",
        Reason.ACCEPTED,
        f"new issue in {route.repo}",
        repo=route.repo,
        draft=IssueDraft(
            title,
            comment.markdown,
            labels=route.labels,
            message_id=message.message_id,
            thread=thread_ids(message),
            files=linked.files,
            relist=linked.relist,
        ),
    )


def _recipients(receipt: SesReceipt | None, explicit: Sequence[str]) -> list[str]:
    candidates = explicit or (receipt.recipients if receipt is not None else ())
    unique: dict[str, None] = {}
    for candidate in candidates:
        address = candidate.strip().strip("<>").strip().lower()
        if address:
            unique.setdefault(address)
    return list(unique)
