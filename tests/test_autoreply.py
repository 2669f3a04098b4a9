"""Machine-written mail (bounces, auto-replies, bulk, lists) is recognised; people's is not."""

from __future__ import annotations

import pytest

from handler.autoreply import detect_automated
from handler.mail import parse_mail

PLAIN = "From: Alice <alice@example.com>\r\nTo: 7@issues.example.com\r\nSubject: Re: x\r\n"


def detect(extra: str = "", envelope: str | None = "alice@example.com", head: str = PLAIN):
    raw = (head + extra + "\r\nThanks, that fixed it.\r\n").encode()
    return detect_automated(parse_mail(raw), envelope)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("Auto-Submitted: auto-replied\r\n", ("auto-reply", "Auto-Submitted: auto-replied")),
        (
            "Auto-Submitted: Auto-Generated; owner-email=x@y\r\n",
            ("auto-reply", "Auto-Submitted: auto-generated"),
        ),
        ("X-Autoreply: yes\r\n", ("auto-reply", "X-Autoreply: yes")),
        ("X-Autorespond: Out of office\r\n", ("auto-reply", "X-Autorespond: Out of office")),
        ("Precedence: auto_reply\r\n", ("auto-reply", "Precedence: auto_reply")),
        ("Precedence: bulk\r\n", ("bulk-mail", "Precedence: bulk")),
        ("Precedence: JUNK\r\n", ("bulk-mail", "Precedence: junk")),
        ("Precedence: list\r\n", ("bulk-mail", "Precedence: list")),
        (
            "List-Id: Lab announcements <announce.lab.example.org>\r\n",
            ("list-mail", "List-Id: Lab announcements <announce.lab.example.org>"),
        ),
        (
            "X-Failed-Recipients: 7@issues.example.com\r\n",
            ("bounce", "X-Failed-Recipients names undeliverable addresses"),
        ),
    ],
)
def test_machine_headers_are_recognised(extra, expected):
    """Each header a machine sets gives its reason, and the detail names the header."""
    assert detect(extra) == expected


@pytest.mark.parametrize(
    "extra",
    [
        "Auto-Submitted: no\r\n",
        "Auto-Submitted: No (a person wrote this)\r\n",
        "X-Auto-Response-Suppress: All\r\n",
        "List-Unsubscribe: <mailto:unsubscribe@example.com>\r\n",
        "Precedence: first-class\r\n",
        "X-Autoreply: no\r\n",
        "Importance: high\r\n",
    ],
)
def test_headers_that_people_send_too_are_not_reasons(extra):
    """Outlook's X-Auto-Response-Suppress and friends are on everyday mail: no drop."""
    assert detect(extra) is None


def test_empty_envelope_sender_is_a_bounce():
    """MAIL FROM:<> is what delivery status notifications use (RFC 5321)."""
    assert detect(envelope="<>") == (
        "bounce",
        "the envelope sender is empty (<>), as for delivery status notifications",
    )
    assert detect(envelope="")[0] == "bounce"  # type: ignore[index]


def test_unknown_envelope_is_not_a_bounce():
    """Without SES's envelope (None), the mail's own Return-Path is not trusted either way."""
    assert detect("Return-Path: <>\r\n", envelope=None) is None


@pytest.mark.parametrize(
    ("head", "envelope", "detail"),
    [
        (
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n",
            "alice@example.com",
            "sent by MAILER-DAEMON",
        ),
        ("From: postmaster@example.com\r\n", "alice@example.com", "sent by postmaster"),
        ("From: alice@example.com\r\n", "mailer-daemon@mx.example.com", "sent by mailer-daemon"),
    ],
)
def test_mailer_daemon_senders_are_bounces(head, envelope, detail):
    """A mailer daemon or postmaster as author or envelope sender is a bounce."""
    assert detect(head=head, envelope=envelope) == ("bounce", detail)


def test_delivery_status_report_is_a_bounce():
    """multipart/report (RFC 6522) is a delivery or read report, not a person's reply."""
    raw = (
        b"From: alice@example.com\r\nContent-Type: multipart/report; report-type=delivery-status;"
        b' boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--b--\r\n'
    )
    assert detect_automated(parse_mail(raw), "alice@example.com") == (
        "bounce",
        "a multipart/report delivery status notification",
    )


def test_gitlab_auto_reply_fixture(shared_emails):
    """GitLab's real out-of-office fixture is recognised."""
    message = parse_mail((shared_emails / "gitlab" / "auto_reply.eml").read_bytes())
    assert detect_automated(message, None) is not None
