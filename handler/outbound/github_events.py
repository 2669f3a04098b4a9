"""A GitHub webhook delivery -> the work item the outbox mails participants about, or why none.

Pure: ``work_item`` returns a ``WorkItem`` or an ``Ignored`` with a stable reason. What is
mailed, and how a work item fits a queue message: docs/outbound.md#github_events."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from handler.outbound.http import shown
from handler.reasons import Reason
from handler.routing import GITHUB_LOGIN, MAX_ISSUE_NUMBER, REPO_FULL_NAME

# SQS's limit on one message, in bytes of its UTF-8 body.
MAX_MESSAGE_BYTES = 256 * 1024
CUT_NOTE = "\n\n(This comment was cut here: it is too long to mail. Read it in full on GitHub.)"
_KIND = "github"
_ACTIONS = {"issue_comment": frozenset({"created"}), "issues": frozenset({"closed", "reopened"})}
# A user's or organization's login, or a GitHub App's bot ("dependabot[bot]"): the name the mail
# shows, so nothing else (no words, no link) may pass for one.
_LOGIN = re.compile(f"{GITHUB_LOGIN.pattern}(?:\\[bot\\])?")
# GitHub's state reasons: completed, not_planned, reopened, duplicate.
_STATE_REASON = re.compile(r"[a-z_]{1,32}")


_FORMER_KEYS = frozenset({"issue_url", "comment_url"})


@dataclass(frozen=True)
class Actor:
    """Who commented (or closed, or reopened): what tells our own bot from a person."""

    login: str
    # GitHub's user type: "User", "Bot", "Organization".
    type: str
    # The GitHub App a comment was made through (comment.performed_via_github_app).
    app_id: int | None = None
    app_client_id: str | None = None


@dataclass(frozen=True)
class WorkItem:
    """One event to mail the issue's participants about."""

    event: str
    action: str
    delivery: str
    repo: str
    issue: int
    title: str
    # The issue's updated_at: a closed or reopened notice is keyed by it (one per change).
    updated_at: str
    actor: Actor
    state_reason: str | None = None
    comment_id: int | None = None
    # The comment's Markdown as GitHub stores it, cut to fit an SQS message (see CUT_NOTE).
    comment_body: str | None = None

    @property
    def key(self) -> str:
        """The event itself, however many deliveries bring it (GitHub's redeliveries, a second
        webhook, a replay under a new delivery id): a comment by its id, a change of state by
        the issue's updated_at. Taken from the signed body only: a delivery's id is a header,
        which the signature does not cover."""
        if self.event == "issue_comment":
            return f"{self.repo.lower()}#{self.issue}#comment#{self.comment_id}"
        return f"{self.repo.lower()}#{self.issue}#{self.action}#{self.updated_at}"

    def to_json(self) -> str:
        """The SQS message body: compact JSON, ``"kind": "github"`` telling it from SES
        feedback on the same queue."""
        return json.dumps(
            {"kind": _KIND, **asdict(self)}, ensure_ascii=False, separators=(",", ":")
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorkItem:
        """The work item ``to_json`` wrote; ValueError naming the field when it is not one."""
        if not isinstance(data, Mapping) or data.get("kind") != _KIND:
            raise ValueError('not a GitHub work item (kind is not "github")')
        expected = {"kind", *(field.name for field in fields(cls))}
        # Items queued before links were built from ids carried the payload's URLs: still
        # readable, so that none queued across a deploy is dead-lettered; the URLs are unused.
        if set(data) - _FORMER_KEYS != expected:
            raise ValueError(f"a GitHub work item has the keys {sorted(expected)}")
        actor = data["actor"]
        if not isinstance(actor, Mapping) or set(actor) != {f.name for f in fields(Actor)}:
            raise ValueError("actor is not an object with login, type, app_id, app_client_id")
        event, action = _text(data, "event"), _text(data, "action")
        if action not in _ACTIONS.get(event, ()):
            raise ValueError(f"{event}/{action} is not an event the outbox handles")
        comment = (_optional_int(data, "comment_id"), _optional_text(data, "comment_body"))
        if [part is not None for part in comment] != [event == "issue_comment"] * 2:
            raise ValueError("comment_id and comment_body belong to issue_comment")
        return cls(
            event=event,
            action=action,
            delivery=_text(data, "delivery"),
            repo=_repo(data, "repo"),
            issue=_issue(data, "issue"),
            title=_text(data, "title", empty=True),
            updated_at=_time(data, "updated_at"),
            actor=Actor(
                login=_login(actor, "login"),
                type=_text(actor, "type"),
                app_id=_optional_int(actor, "app_id"),
                app_client_id=_optional_text(actor, "app_client_id"),
            ),
            state_reason=_state_reason(data, "state_reason"),
            comment_id=comment[0],
            comment_body=comment[1],
        )


@dataclass(frozen=True)
class Ignored:
    """Why a delivery makes no work item: a stable ``reason`` code and a ``detail`` for logs."""

    reason: Reason
    detail: str


def work_item(event: str, delivery: str, payload: Mapping[str, Any]) -> WorkItem | Ignored:
    """The work item of one webhook delivery, or why there is none."""
    if event not in _ACTIONS:
        return Ignored(Reason.EVENT_NOT_HANDLED, f"{event!r} events are not mailed")
    action = payload.get("action")
    if not isinstance(action, str):
        return Ignored(Reason.MALFORMED_PAYLOAD, "action is missing or not a string")
    if action not in _ACTIONS[event]:
        return Ignored(Reason.ACTION_NOT_HANDLED, f"{event}/{shown(action)} is not mailed")
    try:
        return _work_item(event, action, delivery, payload)
    except ValueError as error:
        return Ignored(Reason.MALFORMED_PAYLOAD, str(error))


def event_times(event: str, payload: Mapping[str, Any]) -> tuple[float, float]:
    """When the delivered event happened, and the latest time its payload gives (epoch
    seconds): the comment's creation and the latest of it, its update and the issue's; for
    ``issues`` the issue's last update, both. For a payload ``work_item`` took."""
    issue = _instant(_time(_object(payload, "issue"), "updated_at", where="issue."))
    if event != "issue_comment":
        return issue, issue
    comment = _object(payload, "comment")
    created = _instant(_time(comment, "created_at", where="comment."))
    if comment.get("updated_at") is None:
        return created, max(created, issue)
    edited = _instant(_time(comment, "updated_at", where="comment."))
    return created, max(created, edited, issue)


def _work_item(event: str, action: str, delivery: str, payload: Mapping[str, Any]) -> WorkItem:
    repository = _object(payload, "repository")
    issue = _object(payload, "issue")
    if event == "issues":
        actor = _actor(_object(payload, "sender"), "sender.", app=None)
    else:
        comment = _object(payload, "comment")
        _time(comment, "created_at", where="comment.")
        if comment.get("updated_at") is not None:
            _time(comment, "updated_at", where="comment.")
        app = comment.get("performed_via_github_app")
        if app is not None and not isinstance(app, Mapping):
            raise ValueError("comment.performed_via_github_app is not an object")
        actor = _actor(_object(comment, "user", where="comment."), "comment.user.", app=app)
    item = WorkItem(
        event=event,
        action=action,
        delivery=delivery,
        repo=_repo(repository, "full_name", where="repository."),
        issue=_issue(issue, "number", where="issue."),
        title=_text(issue, "title", where="issue.", empty=True),
        updated_at=_time(issue, "updated_at", where="issue."),
        actor=actor,
        # GitHub also says "reopened" of a reopened issue: only a closing has a reason to mail.
        state_reason=(
            _state_reason(issue, "state_reason", where="issue.") if action == "closed" else None
        ),
    )
    if event == "issues":
        return item
    item = replace(item, comment_id=_int(comment, "id", where="comment."), comment_body="")
    body = _text(comment, "body", where="comment.", empty=True, nullable=True)
    room = MAX_MESSAGE_BYTES - len(item.to_json().encode())
    return replace(item, comment_body=cut_to_fit(body, room))


def cut_to_fit(text: str, room: int) -> str:
    """``text``, or its longest start followed by CUT_NOTE, whose JSON string (between its
    quotes, as ``to_json`` writes it) takes at most ``room`` bytes."""
    if _json_size(text) <= room:
        return text
    left = room - _json_size(CUT_NOTE)
    end = 0
    for char in text:
        left -= _json_size(char)
        if left < 0:
            break
        end += 1
    return text[:end] + CUT_NOTE


def _json_size(text: str) -> int:
    # JSON escapes each character on its own, so the size of a string is the sum of its parts.
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def _actor(user: Mapping[str, Any], where: str, *, app: Mapping[str, Any] | None) -> Actor:
    return Actor(
        login=_login(user, "login", where=where),
        type=_text(user, "type", where=where),
        app_id=None if app is None else _int(app, "id", where="comment.performed_via_github_app."),
        app_client_id=(
            None
            if app is None
            else _optional_text(app, "client_id", where="comment.performed_via_github_app.")
        ),
    )


def _object(data: Mapping[str, Any], key: str, *, where: str = "") -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}{key} is missing or not an object")
    return value


def _text(
    data: Mapping[str, Any],
    key: str,
    *,
    where: str = "",
    empty: bool = False,
    nullable: bool = False,
) -> str:
    value = data.get(key)
    if value is None and nullable:
        return ""
    if not isinstance(value, str) or (not empty and not value):
        raise ValueError(f"{where}{key} is missing or not a{'' if empty else ' non-empty'} string")
    return _clean(value)


def _optional_text(data: Mapping[str, Any], key: str, *, where: str = "") -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}{key} is not a string")
    return _clean(value)


def _login(data: Mapping[str, Any], key: str, *, where: str = "") -> str:
    login = data.get(key)
    if not isinstance(login, str) or not _LOGIN.fullmatch(login):
        raise ValueError(f"{where}{key} is missing or not a GitHub login")
    return login


def _state_reason(data: Mapping[str, Any], key: str, *, where: str = "") -> str | None:
    reason = data.get(key)
    if reason is not None and (not isinstance(reason, str) or not _STATE_REASON.fullmatch(reason)):
        raise ValueError(f"{where}{key} is not a GitHub state reason")
    return reason


def _clean(text: str) -> str:
    # JSON may carry a lone surrogate (\ud800), which no UTF-8 encoder (SQS's, SES's) accepts.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _int(data: Mapping[str, Any], key: str, *, where: str = "") -> int:
    value = data.get(key)
    # bool is an int to Python, never to GitHub.
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}{key} is missing or not a positive integer")
    return value


def _optional_int(data: Mapping[str, Any], key: str, *, where: str = "") -> int | None:
    return None if data.get(key) is None else _int(data, key, where=where)


def _issue(data: Mapping[str, Any], key: str, *, where: str = "") -> int:
    number = _int(data, key, where=where)
    if number > MAX_ISSUE_NUMBER:
        raise ValueError(f"{where}{key} is larger than any GitHub issue number")
    return number


def _repo(data: Mapping[str, Any], key: str, *, where: str = "") -> str:
    repo = _text(data, key, where=where)
    if not REPO_FULL_NAME.fullmatch(repo):
        raise ValueError(f"{where}{key} is not owner/name")
    return repo


def _time(data: Mapping[str, Any], key: str, *, where: str = "") -> str:
    text = _text(data, key, where=where)
    try:
        _instant(text)
    except ValueError:
        raise ValueError(f"{where}{key} is not an ISO 8601 time") from None
    return text


def _instant(text: str) -> float:
    moment = datetime.fromisoformat(text)
    # GitHub writes UTC with a Z; a time without an offset is read as UTC too.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
