"""What the outbox makes of a queue message: who gets a mail about a GitHub event and the mail
itself, or the addresses SES feedback suppresses; and the interfaces it sends through.

Who is mailed, and why: docs/outbound.md#outbox."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

from handler.github.posts import marker_in
from handler.inbound.titles import REPLY_SUBJECT_LIMIT, reply_subject
from handler.outbound.feedback import Feedback, FeedbackError, read_feedback
from handler.outbound.github_events import WorkItem
from handler.outbound.mailed_comment import mailed_text
from handler.outbound.participants import Authorship, Participant, address_digest
from handler.outbound.unsubscribe import unsubscribe_mailto
from handler.outbound.update_mail import Update, render_update, update_message_id
from handler.reasons import Reason
from handler.routing import GitHubApp, Route, Routes, Target, may_read

# The deployment's API, for the routes that name none (GITHUB_API_URL).
GITHUB_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class Outgoing:
    """What happened (or would happen) to one event for one participant."""

    # "react": the reach reaction on the comment (handler.outbound.reach).
    action: Literal["mail", "skip", "react"]
    # Mailed, already mailed, or why not.
    reason: Reason
    detail: str
    # The participant's address digest (handler.outbound.participants): logs never hold an address.
    participant: str = ""
    retryable: bool = False
    # SES's message id of a mail sent afresh: reach records it, so that its bounce finds the
    # comment. Not logged, and not part of what was decided.
    ses_id: str = field(default="", compare=False)


@dataclass(frozen=True)
class Recipient:
    participant: Participant
    route: Route


class UnreadableMessage(ValueError):
    """A queue message that is neither a work item nor SES feedback: left to the DLQ."""


class Mailer(Protocol):
    def send(self, source: str, to: str, raw: bytes) -> str:
        """The sent mail's message id. Raises OutboundError (``transient`` when a retry may
        get it through), MailOutcomeUnknown when the mail may have gone out unanswered."""
        ...


def read_message(body: str) -> WorkItem | Feedback:
    """The GitHub work item or the SES feedback in a queue message; UnreadableMessage for
    anything else."""
    try:
        data = json.loads(body)
    except ValueError:
        raise UnreadableMessage("the message body is not JSON") from None
    if isinstance(data, dict) and data.get("kind") == "github":
        try:
            return WorkItem.from_json(data)
        except ValueError as error:
            raise UnreadableMessage(f"a malformed work item: {error}") from None
    try:
        feedback = read_feedback(body)
    except FeedbackError as error:
        raise UnreadableMessage(f"malformed SES feedback: {error}") from None
    if feedback is None:
        raise UnreadableMessage("neither a GitHub work item nor SES feedback")
    return feedback


def posted_mail(item: WorkItem) -> str | None:
    """The mail key in a comment's marker: the comment was posted from that mail (its
    Authorship says by whom), or made to look so."""
    if item.event != "issue_comment" or item.comment_body is None:
        return None
    return marker_in(item.comment_body)


def own_comment(item: WorkItem, routes: Routes) -> bool:
    """True for a comment made by the GitHub App a route of the repository posts as. Without a
    mail's marker (``posted_mail``) it is none of a participant's: mailing it could echo a
    sender's own mail back to them and start a loop."""
    if item.event != "issue_comment":
        return False
    return any(_by_app(item, route) for route in _routes_of(item, routes))


def forged_marker(item: WorkItem, routes: Routes) -> bool:
    """True for a comment carrying a mail's marker that no route of the repository could have
    posted: every one posts as a GitHub App, and none made it. Anyone who can read a comment's
    Markdown can copy its marker; mailed as the mail's sender's, it would speak in their name."""
    posting = _routes_of(item, routes)
    return all(isinstance(route.credential, GitHubApp) for route in posting) and not any(
        _by_app(item, route) for route in posting
    )


def _routes_of(item: WorkItem, routes: Routes) -> list[Route]:
    return [route for route in routes.routes if route.repo.lower() == item.repo.lower()]


def _by_app(item: WorkItem, route: Route) -> bool:
    apps = {str(item.actor.app_id)} if item.actor.app_id is not None else set()
    apps |= {item.actor.app_client_id} if item.actor.app_client_id else set()
    return isinstance(route.credential, GitHubApp) and route.credential.issuer in apps


def recipients(
    item: WorkItem,
    routes: Routes,
    participants: tuple[Participant, ...],
    suppressed: set[str],
    authorship: Authorship | None = None,
) -> tuple[list[Recipient], list[Outgoing]]:
    """Who gets a mail about ``item`` (not our own comment: see ``own_comment``), and the
    decisions about those who do not: for a comment posted from a mail (``authorship``),
    neither its sender nor those it was addressed to; and only participants whose route still
    mails its participants and still lets their domain read, and whose address never bounced
    or complained."""
    if not participants:
        return [], [
            Outgoing("skip", Reason.NO_PARTICIPANTS, f"nobody wrote to {ref(item)} by mail")
        ]
    chosen: list[Recipient] = []
    skipped: list[Outgoing] = []
    for participant in participants:
        digest = address_digest(participant.address)
        target = routes.lookup(participant.issue_address(item.issue))
        if authorship is not None and digest == authorship.sender:
            detail = f"comment {item.comment_id} on {ref(item)} is their own mail"
            skipped.append(Outgoing("skip", Reason.AUTHOR, detail, digest))
        elif authorship is not None and digest in authorship.reached:
            detail = f"they were in To or Cc of the mail posted as comment {item.comment_id}"
            skipped.append(Outgoing("skip", Reason.COPIED_ON_MAIL, detail, digest))
        elif (
            not isinstance(target, Target)
            or target.route.repo.lower() != item.repo.lower()
            or not target.route.notify_participants
        ):
            detail = f"the route they wrote to no longer mails participants of {ref(item)}"
            skipped.append(Outgoing("skip", Reason.ROUTE_NOT_NOTIFYING, detail, digest))
        elif not may_read(target.route, participant.address.rpartition("@")[2].lower()):
            # Their domain was taken off the route: what it may no longer write (or join), it
            # no longer reads either (the repository may be private).
            detail = f"their domain may no longer write to {target.route.label}"
            skipped.append(Outgoing("skip", Reason.SENDER_NOT_ALLOWED, detail, digest))
        elif participant.address.lower() in suppressed:
            detail = "their address bounced or complained: nothing is mailed to it"
            skipped.append(Outgoing("skip", Reason.SUPPRESSED, detail, digest))
        else:
            chosen.append(Recipient(participant, target.route))
    return chosen, skipped


def update_of(item: WorkItem, web_url: str, authorship: Authorship | None = None) -> Update:
    """What the mail tells a participant whose route's GitHub is at ``web_url``. Its links are
    built from the repository, the issue's number and the comment's id, never taken from the
    payload: whoever holds an owner's webhook secret signs payloads, not our mail's links.
    A comment posted from a mail (``authorship``) is its sender's, by display name, shown
    without what we wrapped it in (``mailed_text``)."""
    issue_url = f"{web_url}/{item.repo}/issues/{item.issue}"
    if item.event == "issue_comment":
        body = item.comment_body or ""
        return Update(
            kind="comment",
            repo=item.repo,
            issue=item.issue,
            title=item.title,
            issue_url=issue_url,
            author=authorship.name if authorship is not None else item.actor.login,
            text=mailed_text(body) if authorship is not None else body,
            url=f"{issue_url}#issuecomment-{item.comment_id}",
            by_mail=authorship is not None,
        )
    return Update(
        kind=item.action,
        repo=item.repo,
        issue=item.issue,
        title=item.title,
        issue_url=issue_url,
        author=item.actor.login,
        url=issue_url,
        state_reason=item.state_reason,
    )


def web_url(route: Route, default_api_url: str = GITHUB_API_URL) -> str:
    """The web site of the GitHub ``route`` posts to, from its API's URL (the deployment's,
    ``default_api_url``, when the route names none): https://api.github.com is github.com's,
    https://api.SUBDOMAIN.ghe.com is SUBDOMAIN.ghe.com's, and a GitHub Enterprise Server's
    https://HOST/api/v3 is https://HOST's."""
    parts = urlsplit(route.api_url or default_api_url)
    host = parts.hostname or ""
    # An API at a host's root is GitHub's own api. subdomain (handler.routing.checks says so).
    if parts.path.strip("/") == "" and host.startswith("api."):
        host = host.removeprefix("api.")
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}"


def sent_key(item: WorkItem, recipient: Recipient) -> str:
    """The claim a mail is sent once under: the event (``WorkItem.key``, the key the webhook
    queues it once under) and the participant."""
    return f"mailed#{item.key}#{address_digest(recipient.participant.address)}"


def posted_key(mail: str, repo: str, issue: int) -> str:
    """The claim the first comment on ``repo#issue`` carrying ``mail``'s marker takes: the one
    that speaks for the mail's sender there. Per issue: a mail to two issue addresses is posted
    on each, under the same marker."""
    return f"posted#{mail}#{repo.lower()}#{issue}"


def compose(
    item: WorkItem,
    update: Update,
    recipient: Recipient,
    *,
    root: str | None,
    unsubscribe_url: str | None,
    now: float,
) -> bytes:
    """The mail to one participant, from the address they wrote to, so that their reply becomes
    the next comment, answering their latest mail in the thread that starts at the issue's
    first mail (``root``); a copied colleague's says why they get it. ValueError when it cannot
    be written (an address SES cannot take without SMTPUTF8, or a value no header may hold)."""
    participant = recipient.participant
    return render_update(
        update,
        to=participant.address,
        from_address=participant.issue_address(item.issue),
        project=recipient.route.name or recipient.route.repo,
        in_reply_to=participant.last_message_id,
        references=(root,) if root else (),
        # Their latest mail's subject, so that ours joins their thread; else the title.
        subject=reply_subject(
            participant.subject or item.title,
            otherwise=f"Re: {item.title}"[:REPLY_SUBJECT_LIMIT],
        ),
        message_id=update_message_id(item.key, participant.address, participant.domain),
        unsubscribe_url=unsubscribe_url,
        unsubscribe_mailto=unsubscribe_mailto(participant.prefix, item.issue, participant.domain),
        now=now,
        copied_by=participant.copied_by,
    )


def ref(item: WorkItem) -> str:
    return f"{item.repo}#{item.issue}"
