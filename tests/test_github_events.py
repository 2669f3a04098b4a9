"""GitHub webhook payloads -> work items: what is handled, what is ignored, and the SQS bound."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from handler.outbound.github_events import (
    CUT_NOTE,
    MAX_MESSAGE_BYTES,
    Actor,
    Ignored,
    WorkItem,
    cut_to_fit,
    event_times,
    work_item,
)
from tests.conftest import TESTS

DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
ISSUE_URL = "https://github.com/Codertocat/Hello-World/issues/1"
TITLE = "Spelling error in the README file"
CODERTOCAT = Actor(login="Codertocat", type="User")


def payload(name: str) -> dict[str, Any]:
    """A copied @octokit/webhooks-examples payload (tests/github/webhooks/README.md)."""
    data: dict[str, Any] = json.loads((TESTS / "github" / "webhooks" / name).read_text())
    return data


def closed() -> dict[str, Any]:
    """An issues/closed delivery: the examples have none, so it is the reopened one closed."""
    data = payload("issues.reopened.json")
    data["action"] = "closed"
    data["issue"]["state"] = "closed"
    data["issue"]["state_reason"] = "completed"
    return data


def comment_item(updated_at: str = "2019-05-15T15:20:21Z") -> WorkItem:
    return WorkItem(
        event="issue_comment",
        action="created",
        delivery=DELIVERY,
        repo="Codertocat/Hello-World",
        issue=1,
        title=TITLE,
        updated_at=updated_at,
        actor=CODERTOCAT,
        comment_id=492700400,
        comment_body="You are totally right! I'll get this fixed right away.",
    )


@pytest.mark.parametrize(
    ("name", "updated_at"),
    [
        ("issue_comment.created.1.json", "2019-05-15T15:20:21Z"),
        ("issue_comment.created.2.json", "2021-01-29T05:00:42Z"),
        ("issue_comment.created.3.json", "2019-05-15T15:20:21Z"),
        ("issue_comment.created.4.json", "2019-05-15T15:20:21Z"),
        ("issue_comment.created.5.json", "2019-05-15T15:20:21Z"),
    ],
)
def test_created_comment_is_a_work_item(name, updated_at):
    """Every issue_comment/created example becomes the work item of its comment."""
    assert work_item("issue_comment", DELIVERY, payload(name)) == comment_item(updated_at)


def test_reopened_issue_is_a_work_item_by_its_sender():
    """issues/reopened is handled, its actor the sender, and carries no state reason."""
    assert work_item("issues", DELIVERY, payload("issues.reopened.json")) == WorkItem(
        event="issues",
        action="reopened",
        delivery=DELIVERY,
        repo="Codertocat/Hello-World",
        issue=1,
        title=TITLE,
        updated_at="2021-10-11T16:40:56Z",
        actor=CODERTOCAT,
    )


def test_closed_issue_carries_its_state_reason():
    """issues/closed is handled with issue.state_reason."""
    item = work_item("issues", DELIVERY, closed())
    assert isinstance(item, WorkItem)
    assert (item.action, item.state_reason, item.comment_id) == ("closed", "completed", None)


def test_reopened_issue_drops_githubs_reopened_state_reason():
    """GitHub's state_reason "reopened" on a reopened issue is not kept: only closings have one."""
    data = payload("issues.reopened.json")
    data["issue"]["state_reason"] = "reopened"
    item = work_item("issues", DELIVERY, data)
    assert isinstance(item, WorkItem)
    assert item.state_reason is None


@pytest.mark.parametrize(
    ("event", "name", "expected"),
    [
        (
            "issue_comment",
            "issue_comment.edited.json",
            Ignored("action-not-handled", "issue_comment/edited is not mailed"),
        ),
        (
            "issues",
            "issues.opened.json",
            Ignored("action-not-handled", "issues/opened is not mailed"),
        ),
        ("ping", "ping.json", Ignored("event-not-handled", "'ping' events are not mailed")),
    ],
)
def test_other_events_and_actions_are_ignored(event, name, expected):
    """Edits, openings and pings make no work item, each with its stable reason."""
    assert work_item(event, DELIVERY, payload(name)) == expected


def test_pull_request_comment_is_handled_like_an_issue_comment():
    """A comment on a pull request (issue.pull_request present) is a work item all the same."""
    data = payload("issue_comment.created.1.json")
    data["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    assert work_item("issue_comment", DELIVERY, data) == comment_item()


def test_work_item_key_is_the_events_own_identity():
    """A comment is keyed by its repository, issue and id; a closing or reopening by the
    issue's updated_at: nothing a delivery's headers say, so a replay under another delivery
    id has the same key."""
    item = comment_item()
    assert item.key == "codertocat/hello-world#1#comment#492700400"
    assert replace(item, delivery="another").key == item.key
    closing = work_item("issues", DELIVERY, closed())
    assert isinstance(closing, WorkItem)
    assert closing.key == "codertocat/hello-world#1#closed#2021-10-11T16:40:56Z"


def test_closed_issue_with_a_state_reason_that_is_not_githubs_is_malformed():
    """A state reason is one of GitHub's words, never text to mail."""
    data = closed()
    data["issue"]["state_reason"] = "Read https://evil.example/login"
    assert work_item("issues", DELIVERY, data) == Ignored(
        "malformed-payload", "issue.state_reason is not a GitHub state reason"
    )


def test_comment_through_an_app_names_the_app():
    """performed_via_github_app gives the actor's app id and client id."""
    data = payload("issue_comment.created.1.json")
    data["comment"]["user"] = {"login": "router[bot]", "type": "Bot"}
    data["comment"]["performed_via_github_app"] = {"id": 12345, "client_id": "Iv23liAbC"}
    item = work_item("issue_comment", DELIVERY, data)
    assert isinstance(item, WorkItem)
    assert item.actor == Actor("router[bot]", "Bot", app_id=12345, app_client_id="Iv23liAbC")


def test_null_comment_body_is_an_empty_comment():
    """A comment whose body is null is mailed as an empty text, not refused."""
    data = payload("issue_comment.created.1.json")
    data["comment"]["body"] = None
    item = work_item("issue_comment", DELIVERY, data)
    assert isinstance(item, WorkItem)
    assert item.comment_body == ""


def _set(path: str, value: Any) -> dict[str, Any]:
    data = payload("issue_comment.created.1.json")
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return data


_DELETE = object()
APP = "comment.performed_via_github_app"
NOT_A_LOGIN = "comment.user.login is missing or not a GitHub login"


@pytest.mark.parametrize(
    ("path", "value", "detail"),
    [
        ("action", 1, "action is missing or not a string"),
        ("repository", _DELETE, "repository is missing or not an object"),
        ("repository.full_name", "no-slash", "repository.full_name is not owner/name"),
        ("repository.full_name", "a/b/c", "repository.full_name is not owner/name"),
        ("issue", [], "issue is missing or not an object"),
        ("issue.number", "1", "issue.number is missing or not a positive integer"),
        ("issue.number", True, "issue.number is missing or not a positive integer"),
        ("issue.number", 0, "issue.number is missing or not a positive integer"),
        ("issue.number", 2**31, "issue.number is larger than any GitHub issue number"),
        ("issue.title", None, "issue.title is missing or not a string"),
        ("issue.updated_at", "yesterday", "issue.updated_at is not an ISO 8601 time"),
        ("comment.updated_at", "later", "comment.updated_at is not an ISO 8601 time"),
        ("comment", "text", "comment is missing or not an object"),
        ("comment.created_at", 5, "comment.created_at is missing or not a non-empty string"),
        ("comment.id", 1.5, "comment.id is missing or not a positive integer"),
        ("comment.body", ["x"], "comment.body is missing or not a string"),
        ("comment.user", None, "comment.user is missing or not an object"),
        ("comment.user.login", None, NOT_A_LOGIN),
        ("comment.user.login", "see https://e.example", NOT_A_LOGIN),
        ("comment.user.login", "a--b", NOT_A_LOGIN),
        ("comment.user.login", "-ab", NOT_A_LOGIN),
        ("comment.user.login", "a" * 40, NOT_A_LOGIN),
        ("comment.user.login", "app[bot] x", NOT_A_LOGIN),
        ("comment.user.login", "octo\ncat", NOT_A_LOGIN),
        ("comment.user.login", "\uff4fcto", NOT_A_LOGIN),
        ("comment.performed_via_github_app", "app", f"{APP} is not an object"),
        (APP, {"id": "7"}, f"{APP}.id is missing or not a positive integer"),
    ],
)  # fmt: skip
def test_malformed_payload_is_ignored_naming_the_field(path, value, detail):
    """A payload with a field missing or of the wrong type is malformed-payload, naming it."""
    assert work_item("issue_comment", DELIVERY, _set(path, value)) == Ignored(
        "malformed-payload", detail
    )


def test_issues_event_without_sender_is_malformed():
    """An issues event needs its sender: that is who closed or reopened the issue."""
    data = closed()
    del data["sender"]
    assert work_item("issues", DELIVERY, data) == Ignored(
        "malformed-payload", "sender is missing or not an object"
    )


def test_lone_surrogate_is_replaced():
    """A lone surrogate in the JSON becomes U+FFFD, so that the item encodes as UTF-8."""
    data = json.loads(
        (TESTS / "github" / "webhooks" / "issue_comment.created.1.json")
        .read_text()
        .replace("right away.", "right away \\ud800.")
    )
    item = work_item("issue_comment", DELIVERY, data)
    assert isinstance(item, WorkItem)
    assert item.comment_body == "You are totally right! I'll get this fixed right away \ufffd."
    item.to_json().encode()


def test_event_times_are_its_happening_and_the_latest_time_it_gives():
    """A comment happened when it was created, and is dated by the latest of its creation, its
    update and the issue's update; a closing happened when the issue was last updated."""
    data = payload("issue_comment.created.2.json")
    assert event_times("issue_comment", data) == (1557933621.0, 1611896442.0)
    data["comment"]["updated_at"] = "2030-01-01T00:00:00Z"
    assert event_times("issue_comment", data) == (1557933621.0, 1893456000.0)
    del data["comment"]["updated_at"]
    assert event_times("issue_comment", data) == (1557933621.0, 1611896442.0)
    assert event_times("issues", closed()) == (1633970456.0, 1633970456.0)


def test_to_json_is_compact_and_kind_github():
    """The SQS body is compact JSON with kind "github" first and every field present."""
    assert json.loads(comment_item().to_json()) == {
        "kind": "github",
        "event": "issue_comment",
        "action": "created",
        "delivery": DELIVERY,
        "repo": "Codertocat/Hello-World",
        "issue": 1,
        "title": TITLE,
        "updated_at": "2019-05-15T15:20:21Z",
        "actor": {"login": "Codertocat", "type": "User", "app_id": None, "app_client_id": None},
        "state_reason": None,
        "comment_id": 492700400,
        "comment_body": "You are totally right! I'll get this fixed right away.",
    }
    assert comment_item().to_json().startswith('{"kind":"github","event":"issue_comment",')


@pytest.mark.parametrize(
    "item",
    [
        comment_item(),
        WorkItem(
            "issues",
            "closed",
            DELIVERY,
            "o/r",
            2,
            "ünïcode ✓",
            "2024-01-01T00:00:00Z",
            Actor("bot[bot]", "Bot", app_id=9, app_client_id="Iv1.x"),
            state_reason="not_planned",
        ),
    ],
)
def test_json_round_trip(item):
    """from_json reads back exactly what to_json wrote."""
    assert WorkItem.from_json(json.loads(item.to_json())) == item


def _actor(**changes: Any) -> dict[str, Any]:
    return {"login": "Codertocat", "type": "User", "app_id": None, "app_client_id": None} | changes


def _json(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(comment_item().to_json())
    for key, value in changes.items():
        if value is _DELETE:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], 'not a GitHub work item (kind is not "github")'),
        (_json(kind="ses"), 'not a GitHub work item (kind is not "github")'),
        (_json(extra=1), "a GitHub work item has the keys"),
        (_json(title=_DELETE), "a GitHub work item has the keys"),
        (_json(actor="Codertocat"), "actor is not an object"),
        (_json(actor={"login": "x", "type": "User"}), "actor is not an object"),
        (_json(action="edited"), "issue_comment/edited is not an event the outbox handles"),
        (_json(event="push"), "push/created is not an event the outbox handles"),
        (_json(issue="1"), "issue is missing or not a positive integer"),
        (_json(repo="../etc"), "repo is not owner/name"),
        (_json(updated_at="soon"), "updated_at is not an ISO 8601 time"),
        (_json(delivery=""), "delivery is missing or not a non-empty string"),
        (_json(comment_id=None), "comment_id and comment_body belong"),
        (_json(event="issues", action="closed"), "comment_id and comment_body belong"),
        (_json(state_reason=3), "state_reason is not a GitHub state reason"),
        (_json(state_reason="see https://evil.example"), "state_reason is not a GitHub state"),
        (_json(actor=_actor(login="<b>x</b>")), "login is missing or not a GitHub login"),
    ],
)
def test_from_json_refuses_malformed_items(data, message):
    """from_json raises ValueError, naming the problem, for anything that is not a work item."""
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        WorkItem.from_json(data)


def test_an_item_queued_with_the_former_urls_is_read_without_them():
    """A work item queued before a deploy still carries issue_url and comment_url: it is read
    as the same item (links are built from ids), not dead-lettered."""
    data = _json(issue_url=ISSUE_URL, comment_url=ISSUE_URL + "#issuecomment-1")
    assert WorkItem.from_json(data) == comment_item()


def _huge(text: str) -> dict[str, Any]:
    data = payload("issue_comment.created.1.json")
    data["comment"]["body"] = text
    return data


@pytest.mark.parametrize(
    "char",
    ["a", "é", "€", "😀", "\x01", '"'],
    ids=["ascii", "2-byte", "3-byte", "4-byte", "escaped-6", "escaped-2"],
)
def test_huge_body_is_cut_to_the_largest_message_that_fits(char):
    """A body too large for SQS is cut so that the message is at most 256 KiB, by as little as
    possible, and ends with the cut note."""
    # More than GitHub's 65536 characters: the bound holds whatever the input.
    body = char * 270_000
    item = work_item("issue_comment", DELIVERY, _huge(body))
    assert isinstance(item, WorkItem)
    assert item.comment_body is not None
    assert item.comment_body.endswith(CUT_NOTE)
    kept = item.comment_body[: -len(CUT_NOTE)]
    assert body.startswith(kept)
    size = len(item.to_json().encode())
    assert size <= MAX_MESSAGE_BYTES
    # One more character would not have fitted.
    grown = replace(item, comment_body=kept + char + CUT_NOTE)
    assert len(grown.to_json().encode()) > MAX_MESSAGE_BYTES


def test_body_that_fits_exactly_is_not_cut():
    """A body whose message is exactly 256 KiB is kept whole."""
    empty = len(comment_item().to_json().encode()) - len(comment_item().comment_body or "")
    body = "a" * (MAX_MESSAGE_BYTES - empty)
    item = work_item("issue_comment", DELIVERY, _huge(body))
    assert isinstance(item, WorkItem)
    assert item.comment_body == body
    assert len(item.to_json().encode()) == MAX_MESSAGE_BYTES
    longer = work_item("issue_comment", DELIVERY, _huge(body + "a"))
    assert isinstance(longer, WorkItem)
    assert longer.comment_body is not None
    assert longer.comment_body.endswith(CUT_NOTE)


def test_cut_to_fit_keeps_what_fits():
    """cut_to_fit returns the text when it fits and the note alone when nothing else does."""
    note = len(CUT_NOTE) + 2  # JSON writes each of its two line breaks as \n
    assert cut_to_fit("abc", 3) == "abc"
    assert cut_to_fit("a" * 100, note + 3) == "aaa" + CUT_NOTE
    assert cut_to_fit("a" * 100, note) == CUT_NOTE


def test_payload_is_not_changed():
    """work_item reads the payload without changing it."""
    data = payload("issue_comment.created.1.json")
    before = copy.deepcopy(data)
    work_item("issue_comment", DELIVERY, data)
    assert data == before
