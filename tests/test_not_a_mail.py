"""not-a-mail: an empty object, binary data or text without header fields is said to be no mail
(Lambda, dispatch and replay alike), while every real mail still reads as one."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from handler.deadline import Deadline
from handler.inbound.mail import parse_mail
from handler.inbound.plan import not_a_mail, plan
from handler.routing import load_routes
from handler.service.inbound import Receiver, Runtime, handle_event
from handler.service.replay import key_ref, needs_attention, replay_keys
from tests.conftest import ROOT, SHARED_EMAILS, TESTS
from tests.sesmail import ses_block

ROUTES = load_routes(TESTS / "lambda" / "routes.yaml")
FIXTURES = TESTS / "not-a-mail"
NO_FIELDS = (
    "it does not start with header fields: a mail's first line is a field such as "
    "'From: ...' or 'Received: ...' (or an mbox 'From ' line before one)"
)


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("empty.eml", "it is empty"),
        ("blank-lines.eml", "it holds only blank space (6 bytes)"),
        # Its header chunk's length, right after the 8-byte signature, starts with a NUL.
        ("screenshot.png", "it holds binary data: a NUL byte at offset 8"),
        ("saved-with-nuls.eml", "it holds binary data: a NUL byte at offset 73"),
        ("body-only.eml", NO_FIELDS),
    ],
)
def test_a_file_that_is_not_a_mail_gets_one_not_a_mail_decision(name: str, detail: str):
    """No recipient, sender or body is read from it: one rejection saying what it is."""
    [decision] = plan((FIXTURES / name).read_bytes(), ROUTES).decisions
    assert (decision.recipient, decision.action, decision.reason, decision.detail) == (
        "",
        "reject",
        "not-a-mail",
        detail,
    )


CONTROLS = "it holds binary data: control characters in 4 of its first 33 bytes"


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"\n\n\t \n", "it holds only blank space (5 bytes)"),
        # Mostly text, but more than one byte in ten a control character: no mailer wrote it.
        (b"X: \x01\x02\x03\x04" + b"y" * 26, CONTROLS),
        (b"From alice@example.com Mon Nov 23 09:13:51 2026\nHello\n", NO_FIELDS),
        (b"\r\n\r\nHello, no header here.\r\n", NO_FIELDS),
        (b" folded: but nothing above\r\n\r\nbody\r\n", NO_FIELDS),
    ],
    ids=["whitespace", "controls", "mbox-line-then-text", "blank-lines-then-text", "fold-first"],
)
def test_what_is_not_a_mail(raw: bytes, detail: str):
    """Whitespace, control characters, and text whose first line is no header field."""
    assert not_a_mail(raw, parse_mail(raw)) == detail


@pytest.mark.parametrize(
    "raw",
    [
        # An mbox separator, then the header.
        b"From alice@example.com Mon Nov 23 09:13:51 2026\nFrom: alice@example.com\n\nHi\n",
        # Blank lines some tools save before the header.
        b"\r\n\r\nFrom: alice@example.com\r\n\r\nHi\r\n",
        # A header and nothing else: a mail without a body.
        b"Subject: printer out of toner",
        # Binary data in the body is an attachment's business, not the header's.
        b"From: alice@example.com\r\n\r\n\x00\x01\x02\x03" * 10,
        # ISO-2022-JP written raw into a header: its escapes are control characters, but few.
        b"From: alice@example.com\r\nSubject: \x1b$B$3$s$K$A$O\x1b(B\r\n\r\nHi\r\n",
    ],
    ids=["mbox", "leading-blank-lines", "header-only", "binary-body", "raw-iso-2022-jp"],
)
def test_what_is_still_a_mail(raw: bytes):
    """Whatever else is wrong with it, a mail that starts with its header fields is a mail."""
    assert not_a_mail(raw, parse_mail(raw)) is None


def _real_mails() -> list[Path]:
    folders = [TESTS, ROOT / "examples", ROOT / "fuzz", ROOT / "bench", SHARED_EMAILS]
    return sorted(path for folder in folders for path in folder.rglob("*.eml"))


def test_every_real_mail_is_a_mail():
    """The corpora (tests/, examples/, fuzz/, bench/ and ../shared/emails): not one of their
    mails is taken for something else."""
    mails = [path for path in _real_mails() if path.parent != FIXTURES]
    # This checkout's own mails, and the shared ones where they are present.
    assert len(mails) > (250 if SHARED_EMAILS.is_dir() else 200)
    refused = {
        str(path.relative_to(ROOT.parent)): why
        for path in mails
        if (why := not_a_mail(raw := path.read_bytes(), parse_mail(raw))) is not None
    }
    assert refused == {}


def test_not_a_mail_is_decided_for_each_recipient_the_event_names():
    """In Lambda the event names the recipients: each gets its not-a-mail decision, and an
    object SES stored empty is never no-recipient."""
    recipients = ["7@issues.example.com"]
    record = {"eventSource": "aws:ses", "ses": {"receipt": {"recipients": recipients}}}
    decisions = plan(b"", ROUTES, ses_record=record).decisions
    assert [(d.recipient, d.reason, d.detail) for d in decisions] == [
        ("7@issues.example.com", "not-a-mail", "it is empty")
    ]


class Store:
    """A bucket holding one object."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def fetch(self, bucket: str, key: str) -> bytes:
        return self.body


def test_the_lambda_logs_an_object_that_is_not_a_mail_and_lets_it_go(logged):
    """An S3 notification for a binary object: a permanent not-a-mail decision, logged, and
    nothing to retry."""
    logged.set_level(logging.INFO, logger="ticket_router")
    event = json.loads((TESTS / "events" / "s3Event.json").read_text())
    runtime = Runtime(ROUTES, Store((FIXTURES / "screenshot.png").read_bytes()))
    result = handle_event(event, runtime, Deadline.never())
    assert [(d["reason"], d["retryable"]) for d in result["decisions"]] == [("not-a-mail", False)]
    [record] = logged.records
    assert (record.getMessage(), record.levelname, record.reason) == (
        "decision",
        "INFO",
        "not-a-mail",
    )


def test_an_ses_block_above_nothing_is_still_a_mail():
    """SES's own block is a header: a mail of nothing else is judged as one (addressed to
    nobody: its To is missing)."""
    [decision] = plan(ses_block().encode() + b"\r\n", ROUTES).decisions
    assert (decision.recipient, decision.reason) == ("7@issues.example.com", "not-addressed")


def test_replay_says_not_a_mail_and_is_done_with_it():
    """Replaying such an object by key decides the same, and nothing asks for another try."""
    receiver = Receiver(Runtime(ROUTES, Store(b"\x00\x01")), dry_run=True)
    ref = key_ref("inbound/o3vrnil0e2ic28tr", bucket="mail", prefix="inbound/")
    [replayed] = replay_keys([ref], receiver, recipients=["7@issues.example.com"])
    assert [(d.recipient, d.reason, d.detail) for d in replayed.decisions] == [
        ("7@issues.example.com", "not-a-mail", "it holds binary data: a NUL byte at offset 0")
    ]
    assert not needs_attention(replayed.decisions[0])
