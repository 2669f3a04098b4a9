"""The fixed order every mail goes through: parse -> recipients -> route -> authenticate ->
render -> post.

``plan`` is pure: it turns raw bytes (and, in Lambda, what SES measured) into one Decision per
recipient: a comment on the issue its address names, a new issue for a route's new-issue
address, or a rejection. ``deliver`` carries out the accepted ones through the route's GitHub
client, each under a claim that makes it happen once per (mail, issue), or once per (mail,
repository) for a new issue, however often the mail arrives (handler.service.claims), and records
what GitHub said. A mail to a new-issue address that answers a mail that opened an issue
(handler.inbound.threads) comments on that issue instead of opening another.
The CLI and the Lambda both run exactly these two steps, so a stored mail replayed through the CLI
is judged as the Lambda judged it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, Protocol

from handler.aws.store import StoreError
from handler.github.client import GitHubError
from handler.github.posts import PostedComment, PostedIssue, marker
from handler.inbound.authenticity import (
    Assessment,
    SesReceipt,
    assess,
    receipt_from_event,
    receipt_from_headers,
)
from handler.inbound.mail import Message, parse_mail
from handler.inbound.render import Comment, render_comment
from handler.inbound.threads import (
    NoThreads,
    Threads,
    ThreadStoreError,
    confirmation_id,
    thread_ids,
)
from handler.inbound.titles import issue_title
from handler.outbound.participants import (
    NoParticipants,
    Participant,
    Participants,
    ParticipantStoreError,
    address_digest,
)
from handler.routing import Miss, NewIssue, Route, Routes, Unsubscribe, sender_allowed
from handler.service.claims import (
    ClaimInProgress,
    Claims,
    ClaimStoreError,
    NoClaims,
    claim_key,
    mail_key,
    open_key,
)

Action = Literal["comment", "open", "unsubscribe", "reject"]


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
    # The mail's identity (handler.service.claims.mail_key): one comment per mail and issue.
    mail: str | None = None
    # For "open": the new issue's title and labels.
    title: str | None = None
    labels: tuple[str, ...] = ()
    # For "open": the mail's own Message-ID, and those it answers (handler.inbound.threads).
    message_id: str | None = None
    thread: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    message: Message
    decisions: tuple[Decision, ...]
    # Who sent it, as SES vouched for it: what sender notices are decided on.
    assessment: Assessment


class Commenter(Protocol):
    """The GitHub calls a route's client makes."""

    def create_comment(
        self, repo: str, issue: int, body: str, *, since: float | None = None
    ) -> PostedComment: ...

    def create_issue(
        self,
        repo: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        *,
        since: float | None = None,
    ) -> PostedIssue: ...


# The GitHub client of a route: its own credential and API (handler.github.credentials).
Clients = Callable[[Route], Commenter]


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
    # (repo, issue) already addressed by this mail; issue 0 stands for a new issue.
    claimed: set[tuple[str, int]] = set()
    decisions = []
    for address in addresses:
        decision = replace(
            _decide(message, assessment, routes, address, claimed=claimed, mail=mail), mail=mail
        )
        if decision.action in {"comment", "open"} and decision.repo:
            claimed.add((decision.repo.lower(), decision.issue or 0))
        decisions.append(decision)
    return Plan(message, tuple(decisions), assessment)


def deliver(
    decisions: Iterable[Decision],
    routes: Routes,
    clients: Clients,
    *,
    claims: Claims | None = None,
    threads: Threads | None = None,
    since: float | None = None,
) -> tuple[Decision, ...]:
    """Carry out every accepted decision once; each comes back done, already done, or failed.

    ``clients`` gives the GitHub client of a route; it is called only when GitHub is, so a mail
    already posted costs no token. ``since`` (epoch seconds) says the mail is not fresh (a
    retry, a replay): GitHub is searched for an earlier copy before posting.
    """
    store = claims if claims is not None else NoClaims()
    known = threads if threads is not None else NoThreads()
    results = []
    for decision in decisions:
        route = route_of(routes, decision)
        if decision.action not in {"comment", "open"} or route is None or decision.repo is None:
            results.append(decision)
            continue
        client = _Client(clients, route)
        try:
            if decision.action == "open":
                results.append(_open(decision, route, client, store, known, since=since))
            else:
                results.append(_comment(decision, client, store, since))
        except (GitHubError, StoreError) as error:
            results.append(_failed(decision, error.reason, error.detail, error.transient))
        except ClaimInProgress as error:
            results.append(_failed(decision, "in-progress", str(error), retryable=True))
        except ClaimStoreError as error:
            results.append(_failed(decision, "claim-store-unavailable", str(error), True))
        except ThreadStoreError as error:
            results.append(_failed(decision, "thread-store-unavailable", str(error), True))
    return tuple(results)


# What makes the sender a mail participant of the issue (the claim's answer on a redelivery too).
_JOINED = frozenset({"posted", "already-posted", "opened", "already-opened"})


def update_participants(
    planned: Plan,
    decisions: Iterable[Decision],
    routes: Routes,
    participants: Participants | None = None,
    *,
    received_at: float,
) -> tuple[Decision, ...]:
    """Record the sender as a participant of each issue the mail reached on a route that mails
    its participants, and carry out the unsubscribes.

    ``received_at`` (epoch seconds) orders the sender's mails: a mail received before their
    latest, or before they unsubscribed (a retry, a replay), changes nothing. A transient store
    failure fails the decision for a retry: the claim then answers "already posted" and the
    participant is recorded. Nothing is recorded without a sender SES vouched for: every
    accepted decision had one.
    """
    store = participants if participants is not None else NoParticipants()
    sender = planned.assessment.sender
    message = planned.message
    results = []
    for decision in decisions:
        route = route_of(routes, decision)
        if sender is None or route is None or decision.repo is None or not decision.issue:
            results.append(decision)
            continue
        repo, issue = decision.repo, decision.issue
        try:
            if decision.action == "unsubscribe" and decision.reason == "accepted":
                left = store.remove(repo, issue, address_digest(sender.addr), received_at)
                reason = "unsubscribed" if left else "not-a-participant"
                detail = (
                    f"the sender will no longer get mail about {repo}#{issue}"
                    if left
                    else f"the sender was not getting mail about {repo}#{issue}"
                )
                results.append(replace(decision, reason=reason, detail=detail))
                continue
            if decision.reason in _JOINED and not decision.retryable and route.notify_participants:
                joined = Participant(
                    address=sender.addr,
                    domain=route.domain,
                    prefix=route.prefix,
                    last_message_id=message.message_id,
                    subject=" ".join(message.subject.split()),
                )
                store.add(repo, issue, joined, received_at)
        except ParticipantStoreError as error:
            if decision.action == "unsubscribe" or error.transient:
                failed = _failed(
                    decision, "participant-store-unavailable", str(error), error.transient
                )
                results.append(replace(failed, url=decision.url))
                continue
            detail = f"{decision.detail}; not recorded as a participant: {error}"
            results.append(replace(decision, detail=detail))
            continue
        results.append(decision)
    return tuple(results)


def received_time(received_at: float | None, message: Message, now: float) -> float:
    """When a mail arrived, as participants are ordered by it: what SES or S3 recorded, else
    (a file, a key replayed by hand) the mail's own Date, never later than ``now``, else now."""
    if received_at:
        return received_at
    sent = message.date()
    return now if sent is None else min(sent, now)


def route_of(routes: Routes, decision: Decision) -> Route | None:
    """The route a decision's recipient went through, None when it matched none."""
    target = routes.lookup(decision.recipient) if decision.recipient else None
    return None if target is None or isinstance(target, Miss) else target.route


class _Client:
    """A route's client, made on first use and then kept for the decision."""

    def __init__(self, clients: Clients, route: Route) -> None:
        self._clients = clients
        self._route = route
        self._made: Commenter | None = None

    def __call__(self) -> Commenter:
        if self._made is None:
            self._made = self._clients(self._route)
        return self._made


def _comment(decision: Decision, client: _Client, store: Claims, since: float | None) -> Decision:
    repo, issue, body = decision.repo or "", decision.issue or 0, decision.body or ""
    claimed = store.once(
        claim_key(repo, issue, decision.mail or ""),
        lambda: client().create_comment(repo, issue, body, since=since),
    )
    if claimed.fresh:
        reason, detail = "posted", f"posted to {repo}#{issue}"
    else:
        reason, detail = "already-posted", f"this mail was already posted to {repo}#{issue}"
    return replace(decision, reason=reason, detail=detail, url=claimed.comment.url)


def _open(
    decision: Decision,
    route: Route,
    client: _Client,
    store: Claims,
    threads: Threads,
    *,
    since: float | None,
) -> Decision:
    repo, mail = decision.repo or "", decision.mail or ""
    # A mail the map knows as an opener is one of ours, delivered again: the claim answers it,
    # whatever thread it is in (a reply-all that opened its own issue stays there).
    opener = threads.find(repo, [decision.message_id]) if decision.message_id else None
    answered = threads.find(repo, decision.thread) if decision.thread and opener is None else None
    if answered is not None:
        # A reply that kept the new-issue address: it belongs on the issue its thread opened.
        comment = replace(decision, action="comment", issue=answered, title=None, labels=())
        try:
            done = _comment(comment, client, store, since)
        except GitHubError as error:
            # The thread's issue was deleted (or moved away): the reply starts a new one.
            if error.reason not in {"issue-not-found", "issue-gone"}:
                raise
        else:
            return replace(done, detail=f"{done.detail} (a reply in the thread that opened it)")

    made: list[PostedIssue] = []

    def post() -> PostedComment:
        opened = client().create_issue(
            repo, decision.title or "", decision.body or "", decision.labels, since=since
        )
        made.append(opened)
        # The claim records a post as (id, url): for an issue, its number.
        return PostedComment(id=opened.number, url=opened.url)

    claimed = store.once(open_key(repo, mail), post)
    number, fresh = claimed.comment.id, claimed.fresh
    reason = "opened" if fresh else "already-opened"
    if number <= 0:
        # GitHub took the issue but its answer did not say which: nothing to thread or confirm.
        return replace(
            decision, reason=reason, detail=f"opened an issue in {repo} (number not known)"
        )
    # The confirmation's id is known before it is sent: a reply to it finds the issue too.
    ids = [confirmation_id(mail, route.domain)]
    ids += [decision.message_id] if decision.message_id else []
    try:
        threads.remember(repo, ids, number)
    except ThreadStoreError as error:
        # Retried, the claim reports the issue as already opened and the thread is recorded.
        detail = f"opened {repo}#{number}, but {error}: a reply could open another issue"
        failed = _failed(decision, "thread-store-unavailable", detail, retryable=True)
        return replace(failed, issue=number, url=claimed.comment.url)
    detail = f"opened {repo}#{number}" if fresh else f"this mail already opened {repo}#{number}"
    given = made[0].labels if made else None
    if given is not None:
        dropped = [label for label in decision.labels if label.lower() not in _lower(given)]
        if dropped:
            # GitHub sets labels only for a credential that may push, and drops them silently.
            names = ", ".join(dropped)
            detail += f"; GitHub dropped the labels {names} (the credential may not push there)"
    return replace(decision, issue=number, url=claimed.comment.url, reason=reason, detail=detail)


def _lower(names: Iterable[str]) -> set[str]:
    return {name.lower() for name in names}


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
    route = target.route
    # None: the mail opens an issue.
    issue = None if isinstance(target, NewIssue) else target.issue
    if not assessment.ok or assessment.sender is None:
        return Decision(
            address, "reject", assessment.reason, assessment.detail, repo=route.repo, issue=issue
        )
    if isinstance(target, Unsubscribe):
        # Whoever SES vouches for may leave, allowed to write here or no longer.
        return Decision(
            address,
            "unsubscribe",
            "accepted",
            f"unsubscribe the sender from {route.repo}#{target.issue}",
            repo=route.repo,
            issue=target.issue,
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
    if (route.repo.lower(), issue or 0) in claimed:
        what = f"{route.repo}#{issue}" if issue else f"a new issue in {route.repo}"
        return Decision(
            address,
            "reject",
            "duplicate-recipient",
            f"{what} was already addressed by another recipient of this mail",
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
    if issue is None:
        return _opening(message, address, route, comment)
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


def _opening(message: Message, address: str, route: Route, comment: Comment) -> Decision:
    from_list = message.header("List-Id") is not None or message.header("List-Post") is not None
    title = issue_title(message.subject, body=comment.text, from_list=from_list)
    # A title alone is an issue ("Printer on floor 3 is out of toner"); nothing at all is not.
    if comment.empty and title == issue_title(""):
        return Decision(
            address,
            "reject",
            "empty-body",
            "the mail has no subject, and nothing is left after removing quoted text and signature",
            repo=route.repo,
        )
    return Decision(
        address,
        "open",
        "accepted",
        f"new issue in {route.repo}",
        repo=route.repo,
        body=comment.markdown,
        title=title,
        labels=route.labels,
        message_id=message.message_id,
        thread=thread_ids(message),
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
