"""Every input gets an answer: hostile header fields decide like any other mail, and one mail
that raises anything costs the others of a Lambda event, a dispatch or a replay nothing.

The stored mails in tests/hostile/ carry SES's header block; each file's name says its trick.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from handler.cli import main
from handler.deadline import Deadline
from handler.github.posts import PostedComment
from handler.inbound import plan as plan_module
from handler.inbound.attachments import Attachment
from handler.inbound.headers import MAX_ADDRESS_FIELD, UNREADABLE, Address
from handler.inbound.mail import Message, parse_mail
from handler.inbound.plan import plan
from handler.inbound.render import GITHUB_COMMENT_LIMIT, render_comment
from handler.reasons import RetryLater
from handler.routing import parse_routes
from handler.service import inbound
from handler.service import replay as replay_module
from handler.service.inbound import Receiver, Runtime, handle_event
from handler.service.replay import QueueMessage, replay_queue
from tests.complexity import MAX_GROWTH, growth
from tests.conftest import TESTS

FIXTURES = TESTS / "hostile"
GOOD = TESTS / "spoofing" / "ok-dmarc-pass.eml"
RECIPIENT = "123@anomalies.example.ac.uk"
ROUTES_TEXT = (
    "routes:\n"
    "  - domain: anomalies.example.ac.uk\n"
    "    repo: unseen-lab/anomaly-tracker\n"
    "    allowed_senders: [allowed.org]\n"
)
ROUTES = parse_routes(ROUTES_TEXT, "routes.yaml")
ACCEPTED = ("comment", "accepted", "comment for unseen-lab/anomaly-tracker#123")

HOSTILE = [
    # 5,000 "(" in From: unreadable, so not one mailbox.
    ("nested-from", ("reject", "invalid-from", "the From address '' has no valid domain")),
    # Unreadable To, Cc or Reply-To: the recipient is SES's, and To or Cc still names it.
    ("nested-to", ACCEPTED),
    ("nested-cc", ACCEPTED),
    ("nested-reply-to", ACCEPTED),
    # An unreadable Sender names no mailbox of the From's organisation.
    ("nested-sender", ("reject", "sender-mismatch", "the Sender address '' has no valid domain")),
]


def read(name: str) -> bytes:
    return (FIXTURES / f"{name}.eml").read_bytes()


def outcome(decisions: Any) -> list[tuple[str, str, str, str]]:
    return [(d.recipient, d.action, d.reason, d.detail) for d in decisions]


# --- hostile header fields ---------------------------------------------------------------------


def test_every_hostile_fixture_is_in_the_table():
    """Each stored mail under tests/hostile/ has its expected decision here."""
    assert sorted(path.stem for path in FIXTURES.glob("*.eml")) == sorted(n for n, _ in HOSTILE)


@pytest.mark.parametrize(("name", "expected"), HOSTILE, ids=[n for n, _ in HOSTILE])
def test_deeply_nested_address_fields_get_a_decision(name: str, expected: tuple[str, str, str]):
    """Hundreds or thousands of nested "(" in an address field: a decision, not a crash."""
    assert outcome(plan(read(name), ROUTES).decisions) == [(RECIPIENT, *expected)]


def test_a_nested_field_is_one_unreadable_entry():
    """A To nested past the limit reads as one entry without an address; Cc beside it is read."""
    message = parse_mail(read("nested-to"))
    assert message.to == (UNREADABLE,)
    assert message.cc == (Address("", "123", "anomalies.example.ac.uk"),)


def test_comments_nested_a_little_still_parse():
    """Comments nested a few levels, and parentheses in a quoted name, are read as ever."""
    raw = b'From: "Sam ((((((((((((((((((((((((((((((((((((" (a (b (c))) <sam@allowed.org>\r\n\r\n'
    name = "Sam " + "(" * 36 + " (a b c)"
    assert parse_mail(raw).from_ == (Address(name, "sam", "allowed.org"),)


def test_a_from_past_the_cap_is_never_one_mailbox():
    """A second From address hidden past the length cap still makes the From unreadable."""
    padding = "(" + "x" * MAX_ADDRESS_FIELD + ")"
    raw = f"From: alice@allowed.org, {padding} mallory@evil.net\r\n\r\nhi\r\n".encode()
    message = parse_mail(raw)
    assert message.from_ == (Address("", "alice", "allowed.org"), UNREADABLE)
    assert message.defects == ("address-field-too-long",)


def test_a_cc_past_the_cap_keeps_the_entries_before_it():
    """The entries of an overlong Cc up to its last comma within the cap are read."""
    cc = ", ".join(f"r{number}@allowed.org" for number in range(2000))
    message = parse_mail(f"Cc: {cc}\r\n\r\nhi\r\n".encode())
    kept = [a.addr for a in message.cc[:-1]]
    assert kept == [f"r{number}@allowed.org" for number in range(len(kept))]
    assert len(", ".join(kept)) <= MAX_ADDRESS_FIELD
    assert message.cc[-1] == UNREADABLE


def cc_mail(lines: int) -> bytes:
    folded = ",\r\n ".join(f"a{number}@example.org" for number in range(lines))
    return GOOD.read_bytes().replace(b"MIME-Version", f"Cc: {folded}\nMIME-Version".encode())


def test_a_huge_cc_costs_time_linear_in_its_size():
    """Eight times the folded Cc lines cost well under 64 times the time of the plan and of
    reading the Cc."""

    def work(size: int) -> None:
        raw = cc_mail(size)
        plan(raw, ROUTES)
        assert parse_mail(raw).cc[-1] == UNREADABLE

    assert growth(work, 5_000) < MAX_GROWTH


def test_many_header_fields_cost_time_linear_in_their_number():
    """Eight times the header fields cost well under 64 times the time of the plan."""

    def fields(count: int) -> bytes:
        extra = b"".join(b"X-Filler-%d: value\n" % number for number in range(count))
        return GOOD.read_bytes().replace(b"MIME-Version", extra + b"MIME-Version")

    assert growth(lambda size: plan(fields(size), ROUTES), 2_000) < MAX_GROWTH


def test_an_enormous_subject_name_and_attachment_list_still_leave_room_for_the_body():
    """A 100,000-character subject and name and 600 attachments: the comment is within
    GitHub's limit and keeps the start of the body (it hung, cutting to a negative budget)."""
    name = "N" * 100_000
    message = Message(
        headers=(),
        message_id=None,
        subject="S" * 100_000,
        from_=(Address(name, "a", "allowed.org"),),
        sender=None,
        content_type="text/plain",
        text="The detector trips.\n" * 5_000,
        html=None,
        attachments=tuple(Attachment(f"{n}{'f' * 300}", "text/plain", 1) for n in range(600)),
    )
    comment = render_comment(message, RECIPIENT)
    assert comment.truncated
    assert len(comment.markdown.encode("utf-16-le")) // 2 <= GITHUB_COMMENT_LIMIT
    head = f"**{'N' * 255}…** wrote by email: **{'S' * 255}…**\n\nThe detector trips.\n"
    assert comment.markdown.startswith(head)
    assert "- and 550 more\n" in comment.markdown


# --- one mail that raises ------------------------------------------------------------------------

# The text of the mail that raises, which its error must never carry into the log.
SECRET = b"Only the author should ever read this sentence."


@pytest.fixture
def explosive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan that raises, with the mail's text in its message, for any mail holding SECRET."""

    def exploding(raw: bytes, *args: Any, **kwargs: Any) -> plan_module.Plan:
        if SECRET in raw:
            raise ValueError(f"cannot plan {raw.decode(errors='replace')}")
        return plan(raw, *args, **kwargs)

    monkeypatch.setattr(inbound, "plan", exploding)


@pytest.fixture
def errors() -> Iterator[list[logging.LogRecord]]:
    """The ERROR lines of the decision logger."""
    found: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                found.append(record)

    keep = Keep()
    logger = logging.getLogger(inbound.logger.name)
    logger.addHandler(keep)
    yield found
    logger.removeHandler(keep)


def secret_mail() -> bytes:
    return GOOD.read_bytes().replace(b"The detector trips at 4 K again.", SECRET)


def test_an_unexpected_exception_becomes_an_internal_error(explosive, errors):
    """The mail gets internal-error (retryable) with an error id that an ERROR line repeats,
    with the traceback but never the mail's text."""
    receiver = Receiver(Runtime(ROUTES, Store({})), dry_run=True)
    ref = inbound.MailRef("mail", "inbound/boom")
    [decision] = receiver.receive(ref, Deadline.within(60.0), raw=secret_mail())
    assert (decision.action, decision.reason, decision.retryable) == (
        "reject",
        "internal-error",
        True,
    )
    [record] = errors
    fields = record.__dict__
    assert decision.detail == (
        f"unexpected ValueError while handling the mail (error id {fields['error_id']})"
    )
    assert len(fields["error_id"]) == 12
    assert (record.getMessage(), fields["s3_key"], fields["error"]) == (
        "internal error",
        "inbound/boom",
        "ValueError",
    )
    assert fields["traceback"].endswith("ValueError")
    assert "in exploding" in fields["traceback"]
    assert SECRET.decode() not in json.dumps(fields, default=str)


class Store:
    """Stored mails by key."""

    def __init__(self, mails: Mapping[str, bytes]) -> None:
        self.mails = mails

    def fetch(self, bucket: str, key: str) -> bytes:
        return self.mails[key]


class GitHub:
    def __init__(self) -> None:
        self.posted: list[int] = []

    def create_comment(
        self, repo: str, issue: int, body: str, *, since=None, posting=None, finish=None
    ) -> PostedComment:
        self.posted.append(issue)
        return PostedComment(id=len(self.posted), url=f"https://github.com/{repo}/issues/{issue}#c")

    def create_issue(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no issue is opened here")


def s3_event(*keys: str) -> dict[str, Any]:
    sample = json.loads((TESTS / "events" / "s3Event.json").read_text())
    records = []
    for key in keys:
        record = copy.deepcopy(sample["Records"][0])
        record["s3"]["bucket"]["name"] = "mail"
        record["s3"]["object"]["key"] = key
        # Stored two seconds after SES received the fixtures (their Received line).
        record["eventTime"] = "2026-11-23T09:14:05.000Z"
        records.append(record)
    return {"Records": records}


def test_the_lambda_answers_every_mail_of_an_event(explosive, errors):
    """Hostile mails and one that raises, among good ones: each gets its decision, the good one
    is posted, and the invocation fails after all of them so that Lambda retries it."""
    mails = {
        "good": GOOD.read_bytes(),
        "boom": secret_mail(),
        **{name: read(name) for name, _ in HOSTILE},
    }
    github = GitHub()
    runtime = Runtime(ROUTES, Store(mails), github=lambda route, deadline: github)
    event = s3_event("boom", *(name for name, _ in HOSTILE), "good")
    with pytest.raises(RetryLater, match=r"^will be retried: boom: internal-error$"):
        handle_event(event, runtime, Deadline.within(60.0))
    # Of the eight mails, the good one and the three hostile ones SES addressed well posted.
    assert len(github.posted) == 4
    [record] = errors
    assert record.__dict__["s3_key"] == "boom"


def test_the_lambda_does_not_fail_for_hostile_mail_alone():
    """Hostile mails that are refused are decisions: the invocation succeeds."""
    mails = {name: read(name) for name in ("nested-from", "nested-sender")}
    runtime = Runtime(ROUTES, Store(mails), github=lambda route, deadline: GitHub())
    result = handle_event(s3_event(*mails), runtime, Deadline.within(60.0))
    assert [(d["s3_key"], d["reason"]) for d in result["decisions"]] == [
        ("nested-from", "invalid-from"),
        ("nested-sender", "sender-mismatch"),
    ]


def test_dispatch_answers_every_file_of_a_batch(explosive, capsys, tmp_path: Path):
    """A batch with hostile mails, one that raises and one that cannot be read: every other file
    gets its decisions, and the exit status is 1."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES_TEXT)
    boom = tmp_path / "boom.eml"
    boom.write_bytes(secret_mail())
    files = [str(FIXTURES / "nested-from.eml"), str(boom), str(tmp_path), str(GOOD)]
    files.append(str(FIXTURES / "nested-cc.eml"))
    status = main(["dispatch", "--dry-run", "--json", "--routes", str(routes), *files])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert [(Path(line["file"]).name, line["reason"]) for line in lines] == [
        ("nested-from.eml", "invalid-from"),
        ("boom.eml", "internal-error"),
        ("ok-dmarc-pass.eml", "accepted"),
        ("nested-cc.eml", "accepted"),
    ]
    assert err == f"{tmp_path}: cannot read: Is a directory\n"


def test_dispatch_of_hostile_mail_alone_succeeds(capsys, tmp_path: Path):
    """Hostile mails that are refused are decisions: exit status 0."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES_TEXT)
    files = [str(FIXTURES / f"{name}.eml") for name, _ in HOSTILE]
    status = main(["dispatch", "--dry-run", "--json", "--routes", str(routes), *files])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert [json.loads(line)["reason"] for line in out.splitlines()] == [
        expected[1] for _, expected in HOSTILE
    ]


class Queue:
    """A failure queue holding some messages, none deleted."""

    def __init__(self, bodies: list[str]) -> None:
        self.messages = [QueueMessage(f"m{n}", f"r{n}", body) for n, body in enumerate(bodies)]
        self.released: list[str] = []

    def receive(self, limit: int) -> list[QueueMessage]:
        batch, self.messages = self.messages[:limit], self.messages[limit:]
        return batch

    def delete(self, message: QueueMessage) -> str | None:
        raise AssertionError("nothing is deleted without --delete")

    def release(self, message: QueueMessage) -> None:
        self.released.append(message.message_id)


def test_replay_answers_every_message_of_the_queue(explosive, errors):
    """A message of no event's shape and a mail that raises: the messages after them are
    still replayed, and theirs are kept."""
    odd = s3_event("good")
    odd["Records"][0]["s3"]["bucket"] = "not-an-object"
    bodies = [json.dumps(odd), json.dumps(s3_event("boom")), json.dumps(s3_event("good"))]
    receiver = Receiver(
        Runtime(ROUTES, Store({"good": GOOD.read_bytes(), "boom": secret_mail()})), dry_run=True
    )
    replays = list(replay_queue(Queue(bodies), receiver, bucket="", prefix="", delete=False))
    reasons = [[d.reason for o in r.outcomes for d in o.decisions] for r in replays]
    assert reasons == [["unsupported-event"], ["internal-error"], ["accepted"]]
    assert [r.fate for r in replays] == ["kept"] * 3
    assert [record.__dict__.get("dlq_message_id") for record in errors] == [None]


def test_replay_keeps_a_message_whose_event_cannot_be_read_for_any_reason(
    monkeypatch: pytest.MonkeyPatch, errors: list[logging.LogRecord]
):
    """Reading a message's event raising anything at all costs only that message: it is kept
    as an internal error, logged with its queue id, and the next one is replayed."""
    read = replay_module.notification_refs

    def failing_once(event: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(replay_module, "notification_refs", read)
        raise KeyError("unforeseen")

    monkeypatch.setattr(replay_module, "notification_refs", failing_once)
    receiver = Receiver(Runtime(ROUTES, Store({"good": GOOD.read_bytes()})), dry_run=True)
    bodies = [json.dumps(s3_event("good"))] * 2
    replays = list(replay_queue(Queue(bodies), receiver, bucket="", prefix="", delete=False))
    reasons = [[d.reason for o in r.outcomes for d in o.decisions] for r in replays]
    assert reasons == [["internal-error"], ["accepted"]]
    assert [record.__dict__.get("dlq_message_id") for record in errors] == ["m0"]
