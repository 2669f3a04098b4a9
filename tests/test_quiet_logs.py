"""No log line names a sender's full address: rejected mails of every kind, through the Lambda's
receiver, leave the domain and a masked hint in the logs, never the mailbox."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from handler.deadline import Deadline
from handler.inbound.masking import masked, masked_words
from handler.routing import load_routes
from handler.service.inbound import Runtime, handle_event
from tests.conftest import TESTS
from tests.sesmail import ses_mail

ROUTES = load_routes(TESTS / "lambda" / "routes.yaml")
# Every address below is somebody's; only our own issue addresses may be logged.
OURS = re.compile(r"\d+@issues\.example\.com")
# Anything shaped like local@domain, unless its local part is masked ("a…").
ADDRESS = re.compile(r"[^\s\"'<>(),;:\[\]]*[^\s\"'<>(),;:\[\]…]@[^\s\"'<>(),;:\]]+")
INJECTED_HELO = (
    "helo=mx.evil.example.net;",
    "helo=mx.evil.example.net;dkim=pass;header.d=example.com;",
)

MAILS = {
    "two-from": ses_mail(from_="alice.private@example.com, mallory.private@evil.example.net"),
    "sender-mismatch": ses_mail(extra="Sender: bob.private@lists.evil.example.net\r\n"),
    "sender-no-domain": ses_mail(extra="Sender: bob.private@[192.0.2.7]\r\n"),
    "from-ip-literal": ses_mail(from_="carol.private@[192.0.2.1]"),
    "from-no-domain": ses_mail(from_="carol.private"),
    "from-encoded": ses_mail(from_="=?utf-8?q?carol.private=40example.com?="),
    "auto-reply": ses_mail(
        extra="X-Autoreply: yes, dave.private@example.com is away\r\n",
    ),
    "bounce-daemon": ses_mail(from_="MAILER-DAEMON@mx.example.com"),
    "bounce-failed-recipients": ses_mail(
        extra="X-Failed-Recipients: erin.private@example.org, frank.private@example.org\r\n"
    ),
    "list-mail": ses_mail(extra="List-Id: <grace.private@lists.example.com>\r\n"),
    "not-authenticated": ses_mail(
        from_="heidi.private@example.com",
        envelope_from="ivan.private@evil.example.net",
        dkim="none",
        dmarc="fail",
    ),
    "untrusted-results": ses_mail(
        from_="judy.private@example.com",
        envelope_from="ivan.private@evil.example.net",
        dkim="none",
        dmarc="none",
    ).replace(*(value.encode() for value in INJECTED_HELO)),
    "sender-not-allowed": ses_mail(
        from_="mike.private@stranger.example.org",
        envelope_from="mike.private@stranger.example.org",
        dkim_domain="stranger.example.org",
        from_domain="stranger.example.org",
    ),
}


class Store:
    def fetch(self, bucket: str, key: str) -> bytes:
        return MAILS[key.removeprefix("inbound/")]


def logged_text(records: list[logging.LogRecord]) -> str:
    """Every log record with all its fields, as Powertools' JSON logger writes them (UTF-8)."""
    skip = set(vars(logging.makeLogRecord({})))
    lines = []
    for record in records:
        fields = {k: v for k, v in vars(record).items() if k not in skip}
        lines.append(
            json.dumps({"message": record.getMessage(), **fields}, default=str, ensure_ascii=False)
        )
    return "\n".join(lines)


def test_rejected_mails_leave_no_sender_address_in_the_logs(caplog: pytest.LogCaptureFixture):
    """Two From, Sender mismatch, invalid From, machine mail, failed or untrusted
    authentication, a stranger: each is logged with its reason, and no address but ours."""
    event: dict[str, Any] = {
        "Records": [
            {"eventSource": "aws:s3", "s3": {"bucket": {"name": "mail"}, "object": {"key": key}}}
            for key in (f"inbound/{name}" for name in MAILS)
        ]
    }
    runtime = Runtime(routes=ROUTES, store=Store(), bucket="mail", prefix="inbound/")
    with caplog.at_level(logging.DEBUG):
        result = handle_event(event, runtime, Deadline.within(60.0))
    reasons = {d["s3_key"].removeprefix("inbound/"): d["reason"] for d in result["decisions"]}
    assert reasons == {
        "two-from": "invalid-from",
        "sender-mismatch": "sender-mismatch",
        "sender-no-domain": "sender-mismatch",
        "from-ip-literal": "invalid-from",
        "from-no-domain": "invalid-from",
        "from-encoded": "invalid-from",
        "auto-reply": "auto-reply",
        "bounce-daemon": "bounce",
        "bounce-failed-recipients": "bounce",
        "list-mail": "list-mail",
        "not-authenticated": "not-authenticated",
        "untrusted-results": "not-authenticated",
        "sender-not-allowed": "sender-not-allowed",
    }
    text = logged_text(caplog.records)
    assert text.count('"reason"') == len(MAILS)
    leaked = [found for found in ADDRESS.findall(text) if not OURS.fullmatch(found)]
    assert leaked == []
    assert "private" not in text
    # Still useful: the header and the domain at fault.
    assert "sent by b…@lists.evil.example.net (Sender) on behalf of example.com" in text
    assert "2 From addresses (a…@example.com, m…@evil.example.net)" in text
    assert "From: the mailer-daemon of mx.example.com" in text


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("alice@example.org", "a…@example.org"),
        ("a@example.org", "a…@example.org"),
        ("@example.org", "…@example.org"),
        ("a@b@example.org", "a…@example.org"),
        ("root", "r…"),
        ("", ""),
    ],
)
def test_masked_keeps_one_character_and_the_domain(address, expected):
    """The mask shows the first character and the domain, never the local part."""
    assert masked(address) == expected


def test_masked_words_masks_every_address_in_a_text():
    """Free text (an auto-reply header) keeps its words; its addresses are masked."""
    assert masked_words("away,  ask <bob@example.org>, or carol@example.net") == (
        "away, ask <…@example.org>, or c…@example.net"
    )
