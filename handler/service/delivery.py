"""Record who wrote, claim and post, then record: the accepted decisions of one mail carried out
once each, its sender and the colleagues it copied recorded as participants of the issues it
reached."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial
from typing import Protocol

from handler.attachments.model import FileReason, ListedFile
from handler.attachments.stores import Stores
from handler.deadline import Deadline
from handler.github.posts import PostedComment, PostedIssue, Posting
from handler.inbound.headers import Address
from handler.inbound.identity import claim_key, open_key
from handler.inbound.mail import Message
from handler.inbound.plan import CommentDraft, Decision, Draft, IssueDraft, Plan, route_of
from handler.inbound.render import author
from handler.inbound.threads import NoThreads, Threads, ThreadStoreError, confirmation_id
from handler.outbound.notices import plain_address
from handler.outbound.participants import (
    Authors,
    Authorship,
    NoAuthors,
    NoParticipants,
    Participant,
    Participants,
    ParticipantStoreError,
    address_digest,
)
from handler.reasons import Reason, TicketRouterError
from handler.routing import Route, Routes, may_join
from handler.routing.domains import normalize_domain
from handler.service.attachments import store_files
from handler.service.claims import Claimed, Claims, MemoryPostings, NoClaims, PostingOf, Postings


class Commenter(Protocol):
    """The GitHub calls a route's client makes."""

    def create_comment(
        self,
        repo: str,
        issue: int,
        body: str,
        *,
        since: float | None = None,
        posting: Posting | None = None,
        finish: Callable[[], str] | None = None,
    ) -> PostedComment: ...

    def create_issue(
        self,
        repo: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        *,
        since: float | None = None,
        posting: Posting | None = None,
        finish: Callable[[], str] | None = None,
    ) -> PostedIssue: ...


# The GitHub client of a route: its own credential and API (handler.github.credentials).
Clients = Callable[[Route], Commenter]
# Where a route's files may be stored (handler.attachments.stores).
FileStores = Callable[[Route], Stores]


# The most addresses of one mail's To and Cc that join an issue: a mail copied to a whole
# department does not subscribe it.
MAX_COPIED = 20


def record_authors(
    planned: Plan, routes: Routes, authors: Authors | None = None
) -> tuple[Decision, ...]:
    """Keep who each mail to be posted on a route that mails its participants came from, under
    the mail key its marker carries, before it is posted: the webhook can call before the
    inbound function is done, and the outbox must know whom not to mail the comment back to.

    The sender is named as the comment names them (never by address); every To and Cc address
    is kept as its digest, since those people have the mail already. A store failure fails the
    decision for a retry, so that nothing is posted whose author is not known.
    """
    store = authors if authors is not None else NoAuthors()
    sender = planned.assessment.sender
    failures: dict[str, ParticipantStoreError | None] = {}
    results = []
    for decision in planned.decisions:
        route = route_of(routes, decision)
        mail = decision.mail
        posts = decision.action in {"comment", "open"}
        if not posts or route is None or not route.notify_participants or not mail or not sender:
            results.append(decision)
            continue
        if mail not in failures:
            failures[mail] = _record_author(store, mail, planned.message, sender)
        error = failures[mail]
        if error is None:
            results.append(decision)
            continue
        detail = f"not posted, since who wrote it could not be recorded first: {error}"
        results.append(
            _failed(decision, Reason.PARTICIPANT_STORE_UNAVAILABLE, detail, retryable=True)
        )
    return tuple(results)


def _record_author(
    store: Authors, mail: str, message: Message, sender: Address
) -> ParticipantStoreError | None:
    reached = dict.fromkeys(
        address_digest(address.addr) for address in (*message.to, *message.cc) if address.addr
    )
    authorship = Authorship(address_digest(sender.addr), author(sender), tuple(reached))
    try:
        store.record(mail, authorship)
    except ParticipantStoreError as error:
        return error
    return None


def copied(
    message: Message, sender: Address, route: Route, routes: Routes
) -> tuple[tuple[Address, ...], int]:
    """The addresses in To and Cc of ``message`` (accepted from ``sender`` through ``route``)
    that join its issue, To first, at most MAX_COPIED; and how many more would have.

    One joins when the route lets their domain (``may_join``), they are not the sender, the
    address is plain ASCII (our mails can reach it) and its domain is not one of ``routes``'
    (``Routes.ours``): our own addresses never become participants, or our mails would come
    back in.
    """
    seen = {sender.addr.lower()}
    chosen: list[Address] = []
    for address in (*message.to, *message.cc):
        key = address.addr.lower()
        if key in seen or not plain_address(address.addr):
            continue
        seen.add(key)
        domain = normalize_domain(address.domain) or address.domain
        if not routes.ours(domain) and may_join(route, domain):
            chosen.append(address)
    return tuple(chosen[:MAX_COPIED]), max(0, len(chosen) - MAX_COPIED)


def deliver(
    decisions: Iterable[Decision],
    routes: Routes,
    clients: Clients,
    *,
    claims: Claims | None = None,
    postings: Postings | None = None,
    threads: Threads | None = None,
    stores: FileStores | None = None,
    since: float | None = None,
    deadline: Deadline,
) -> tuple[Decision, ...]:
    """Carry out every accepted decision once; each comes back done, already done, or failed.

    ``clients`` gives the GitHub client of a route; it is called only when GitHub is, so a mail
    already posted costs no token. ``stores`` gives where a route's files go: a draft's files
    are stored just before it is posted, under its claim and once GitHub was searched for an
    earlier copy, so a mail already posted stores none (without ``stores`` they are listed as
    not stored). ``since`` (epoch seconds) says the mail
    is not fresh (a retry, a replay): GitHub is searched for an earlier copy before posting; so
    it is after a POST whose outcome is unknown, which ``postings`` records under the claim's
    key.
    ``deadline`` is when the claim of a holder that died lapses.
    """
    store = claims if claims is not None else NoClaims()
    known = threads if threads is not None else NoThreads()
    claim = _Claim(store, postings if postings is not None else MemoryPostings(), deadline)
    results = []
    for decision in decisions:
        route = route_of(routes, decision)
        draft = decision.draft
        accepted = decision.action in {"comment", "open"}
        if draft is None or not accepted or route is None or decision.repo is None:
            results.append(decision)
            continue
        client = _Client(clients, route)
        files = _Files(stores, route)
        try:
            if isinstance(draft, IssueDraft):
                opened = _open(
                    decision, draft, route, client, claim, files=files, threads=known, since=since
                )
                results.append(opened)
            else:
                results.append(_comment(decision, draft, client, claim, files=files, since=since))
        except TicketRouterError as error:
            failed = _failed(decision, error.reason, error.detail, error.transient)
            results.append(replace(failed, retry_after=error.retry_after))
    return tuple(results)


# What makes the sender a mail participant of the issue (the claim's answer on a redelivery too).
_JOINED = frozenset({Reason.POSTED, Reason.ALREADY_POSTED, Reason.OPENED, Reason.ALREADY_OPENED})


def update_participants(
    planned: Plan,
    decisions: Iterable[Decision],
    routes: Routes,
    participants: Participants | None = None,
    *,
    received_at: float,
) -> tuple[Decision, ...]:
    """Record the sender as a participant of each issue the mail reached on a route that mails
    its participants, and those it copied (``copied``) who are not yet and never left; and
    carry out the unsubscribes.

    ``received_at`` (epoch seconds) orders the sender's mails: a mail received before their
    latest, or before they unsubscribed (a retry, a replay), changes nothing. A transient store
    failure fails the decision for a retry: the claim then answers "already posted" and the
    participant is recorded. Nothing is recorded without a sender SES vouched for: every
    accepted decision had one. The decision's detail says how many copied people joined.
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
            if decision.action == "unsubscribe" and decision.reason == Reason.ACCEPTED:
                left = store.remove(repo, issue, address_digest(sender.addr), received_at)
                reason = Reason.UNSUBSCRIBED if left else Reason.NOT_A_PARTICIPANT
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
                copies = copied(message, sender, route, routes)
                colleague = replace(joined, copied_by=author(sender))
                results.append(_join(decision, copies, colleague, store, received_at))
                continue
        except ParticipantStoreError as error:
            if decision.action == "unsubscribe" or error.transient:
                failed = _failed(
                    decision, Reason.PARTICIPANT_STORE_UNAVAILABLE, str(error), error.transient
                )
                results.append(replace(failed, url=decision.url))
                continue
            detail = f"{decision.detail}; not recorded as a participant: {error}"
            results.append(replace(decision, detail=detail))
            continue
        results.append(decision)
    return tuple(results)


def _join(
    decision: Decision,
    copies: tuple[tuple[Address, ...], int],
    colleague: Participant,
    store: Participants,
    at: float,
) -> Decision:
    """``decision`` once the ``copies`` (the addresses that may join, and how many more were
    left out) are added as ``colleague`` is, each under their own address; its detail says how
    many joined. A transient store failure is raised, for a retry."""
    chosen, left_out = copies
    if not chosen:
        return decision
    repo, issue = decision.repo or "", decision.issue or 0
    joined = 0
    try:
        for address in chosen:
            joined += store.add_copied(repo, issue, replace(colleague, address=address.addr), at)
    except ParticipantStoreError as error:
        if error.transient:
            raise
        detail = (
            f"{decision.detail}; those copied on the mail not recorded as participants: {error}"
        )
        return replace(decision, detail=detail)
    said = f"copied on the mail: {joined} of {len(chosen)} joined the participants"
    if joined < len(chosen):
        said += f", {len(chosen) - joined} did not (a participant already, or unsubscribed)"
    if left_out:
        said += f", {left_out} left out (at most {MAX_COPIED} join from one mail)"
    return replace(decision, detail=f"{decision.detail}; {said}")


def received_time(received_at: float | None, message: Message, now: float) -> float:
    """When a mail arrived, as participants are ordered by it: what SES or S3 recorded, else
    (a file, a key replayed by hand) the mail's own Date, never later than ``now``, else now."""
    if received_at:
        return received_at
    sent = message.date()
    return now if sent is None else min(sent, now)


class _Claim:
    """The claim store with the deadline that ends a dead holder's claim, and the record of the
    POSTs made under each claim."""

    def __init__(self, claims: Claims, postings: Postings, deadline: Deadline) -> None:
        self._claims = claims
        self._postings = postings
        self._deadline = deadline

    def once(self, key: str, post: Callable[[Posting], PostedComment]) -> Claimed:
        return self._claims.once(key, lambda: post(PostingOf(self._postings, key)), self._deadline)


class _Files:
    """A route's stores for a draft's files, and what became of them when it was posted."""

    def __init__(self, stores: FileStores | None, route: Route) -> None:
        self._stores = stores
        self._route = route
        self._stored = 0
        self._listed: dict[int, ListedFile] = {}

    def finish(self, draft: Draft, repo: str, what: str) -> Callable[[], str] | None:
        """What makes the body posted when the draft has files to store (the client calls it
        only when no earlier copy of the mail is found): None without files."""
        return partial(self.body, draft, repo, what) if draft.files else None

    def body(self, draft: Draft, repo: str, what: str) -> str:
        """The draft's body once its files are stored: as planned, or with those that could
        not be stored listed instead. Raises what a retry may overcome."""
        if not draft.files:
            return draft.body
        if self._stores is None:
            detail = "this run stores no files (no store is configured)"
            listed = {
                f.index: ListedFile(f.index, FileReason.NOT_STORED, detail) for f in draft.files
            }
        else:
            listed = store_files(
                draft.files, self._route, repo, self._stores(self._route), what=what
            )
        self._stored, self._listed = len(draft.files) - len(listed), listed
        return draft.relist(listed) if listed and draft.relist is not None else draft.body

    def said(self) -> str:
        """What the decision's detail says of the files: "" when there were none to store."""
        if not self._stored and not self._listed:
            return ""
        parts = [f"{self._stored} file{'s' if self._stored != 1 else ''} stored"]
        if self._listed:
            reasons = ", ".join(sorted({f.reason.value for f in self._listed.values()}))
            parts.append(f"{len(self._listed)} not stored: {reasons}")
        return f" ({'; '.join(parts)})"


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


def _comment(
    decision: Decision,
    draft: Draft,
    client: _Client,
    store: _Claim,
    *,
    files: _Files,
    since: float | None,
) -> Decision:
    repo, issue, mail = decision.repo or "", decision.issue or 0, decision.mail or ""

    def post(posting: Posting) -> PostedComment:
        # The files are stored once GitHub was searched for the mail (a retry, a replay): a
        # mail already posted stores nothing, even files removed since.
        finish = files.finish(draft, repo, f"mail {mail} for {repo}#{issue}")
        return client().create_comment(
            repo, issue, draft.body, since=since, posting=posting, finish=finish
        )

    claimed = store.once(claim_key(repo, issue, mail), post)
    # A comment the marker search found is an earlier delivery's (or attempt's) post.
    if claimed.fresh and not claimed.comment.found:
        reason, detail = Reason.POSTED, f"posted to {repo}#{issue}{files.said()}"
    else:
        reason, detail = Reason.ALREADY_POSTED, f"this mail was already posted to {repo}#{issue}"
    return replace(decision, reason=reason, detail=detail, url=claimed.comment.url)


def _open(
    decision: Decision,
    draft: IssueDraft,
    route: Route,
    client: _Client,
    store: _Claim,
    *,
    files: _Files,
    threads: Threads,
    since: float | None,
) -> Decision:
    repo, mail = decision.repo or "", decision.mail or ""
    # A mail the map knows as an opener is one of ours, delivered again: the claim answers it,
    # whatever thread it is in (a reply-all that opened its own issue stays there).
    opener = threads.find(repo, [draft.message_id]) if draft.message_id else None
    answered = threads.find(repo, draft.thread) if draft.thread and opener is None else None
    if answered is not None:
        # A reply that kept the new-issue address: it belongs on the issue its thread opened.
        reply = CommentDraft(draft.body, files=draft.files, relist=draft.relist)
        comment = replace(decision, action="comment", issue=answered, draft=reply)
        try:
            done = _comment(comment, reply, client, store, files=files, since=since)
        except TicketRouterError as error:
            # The thread's issue was deleted (or moved away): the reply starts a new one.
            if error.reason not in {Reason.ISSUE_NOT_FOUND, Reason.ISSUE_GONE}:
                raise
        else:
            return replace(done, detail=f"{done.detail} (a reply in the thread that opened it)")

    made: list[PostedIssue] = []

    def post(posting: Posting) -> PostedComment:
        finish = files.finish(draft, repo, f"mail {mail} for a new issue in {repo}")
        opened = client().create_issue(
            repo, draft.title, draft.body, draft.labels, since=since, posting=posting, finish=finish
        )
        made.append(opened)
        # The claim records a post as (id, url): for an issue, its number.
        return PostedComment(id=opened.number, url=opened.url, found=opened.found)

    claimed = store.once(open_key(repo, mail), post)
    # An issue the marker search found was opened by an earlier delivery (or attempt).
    number, fresh = claimed.comment.id, claimed.fresh and not claimed.comment.found
    reason = Reason.OPENED if fresh else Reason.ALREADY_OPENED
    if number <= 0:
        # GitHub took the issue but its answer did not say which: nothing to thread or confirm.
        return replace(
            decision, reason=reason, detail=f"opened an issue in {repo} (number not known)"
        )
    # The confirmation's id is known before it is sent: a reply to it finds the issue too.
    ids = [confirmation_id(mail, route.domain)]
    ids += [draft.message_id] if draft.message_id else []
    try:
        threads.remember(repo, ids, number)
    except ThreadStoreError as error:
        # Retried, the claim reports the issue as already opened and the thread is recorded.
        detail = f"opened {repo}#{number}, but {error}: a reply could open another issue"
        failed = _failed(decision, Reason.THREAD_STORE_UNAVAILABLE, detail, retryable=True)
        return replace(failed, issue=number, url=claimed.comment.url)
    detail = (
        f"opened {repo}#{number}{files.said()}"
        if fresh
        else f"this mail already opened {repo}#{number}"
    )
    given = made[0].labels if made else None
    if given is not None:
        dropped = [label for label in draft.labels if label.lower() not in _lower(given)]
        if dropped:
            # GitHub sets labels only for a credential that may push, and drops them silently.
            names = ", ".join(dropped)
            detail += f"; GitHub dropped the labels {names} (the credential may not push there)"
    return replace(decision, issue=number, url=claimed.comment.url, reason=reason, detail=detail)


def _lower(names: Iterable[str]) -> set[str]:
    return {name.lower() for name in names}


def _failed(decision: Decision, reason: Reason, detail: str, retryable: bool) -> Decision:
    return replace(decision, action="reject", reason=reason, detail=detail, retryable=retryable)
