"""Replayed and smuggled mail: stored mails with SES's header block on top, through the plan.

A DKIM-signed mail stays signed whoever re-sends it, and whatever is written above its own
fields. The rows below are refused for what gives such a mail away (fields repeated with other
values, a delivery address its To and Cc do not name, a Date far from SES's receipt) and the
``ok-*`` rows are the same mails sent honestly, so the table fails if refusal is unconditional.
"""

from __future__ import annotations

import json
import time

import pytest

from handler.cli import main
from handler.inbound.authenticity import SES_FIELDS, receipt_from_headers
from handler.inbound.mail import parse_mail
from handler.inbound.plan import plan
from handler.inbound.received import event_time, received_at, recipient
from handler.inbound.replay_guard import (
    CLOCK_SKEW,
    SINGLE_FIELDS,
    conflicting_headers,
    outside_window,
)
from handler.routing import RoutesError, parse_routes
from tests.complexity import MAX_GROWTH, growth
from tests.conftest import TESTS
from tests.sesmail import ses_block, ses_mail

FIXTURES = TESTS / "replay"
ROUTES_YAML = """
routes:
  - domain: issues.example.com
    prefix: web-
    repo: example-org/website
    allowed_senders: [example.com]
    new_issue_address: new
  - domain: issues.example.com
    prefix: ops-
    repo: example-org/ops
    allowed_senders: [example.com]
    new_issue_address: new
    allow_bcc: true
    max_age: 36h
"""
ROUTES = parse_routes(ROUTES_YAML, "routes.yaml")
# SES's Received field of every fixture: Mon, 23 Nov 2026 09:14:03 +0000.
RECEIVED = 1795425243.0
# What a re-sent mail is told, but for its address.
UNADDRESSED = (
    "the mail was delivered to {}, which neither its To nor its Cc names: it was written to "
    "others (a Bcc copy, or a signed mail re-sent here)"
)
REPEATED = (
    "the mail repeats its {} with different values: a DKIM signature vouches for the last of "
    "each, not for the first one read"
)

REJECTED = [
    # A signed mail written to someone else, re-sent to an issue, new-issue or unsubscribe address.
    ("replayed-to-issue", "not-addressed", UNADDRESSED.format("web-45@issues.example.com")),
    ("replayed-to-new-issue", "not-addressed", UNADDRESSED.format("web-new@issues.example.com")),
    (
        "replayed-to-unsubscribe",
        "not-addressed",
        UNADDRESSED.format("web-45+unsubscribe@issues.example.com"),
    ),
    # Our address added as a Cc, which the signature leaves out: the signature stays valid.
    (
        "cc-added-unsigned",
        "not-addressed",
        "the mail names web-45@issues.example.com only in its Cc, which the DKIM signature of "
        "example.com does not cover: anyone holding the signed mail could have added it",
    ),
    # Fields written above the signed mail's own: a new title, a fresh identity, our address,
    # a fresh Date.
    ("prepended-subject", "conflicting-headers", REPEATED.format("Subject field")),
    ("prepended-message-id", "conflicting-headers", REPEATED.format("Message-ID field")),
    (
        "prepended-subject-and-message-id",
        "conflicting-headers",
        REPEATED.format("Message-ID and Subject fields"),
    ),
    ("prepended-to", "conflicting-headers", REPEATED.format("To field")),
    ("prepended-date", "conflicting-headers", REPEATED.format("Date field")),
    # Bcc: only a route's comments may allow it, never its new issues or unsubscribes.
    ("bcc-to-web-issue", "not-addressed", UNADDRESSED.format("web-45@issues.example.com")),
    ("bcc-to-ops-new-issue", "not-addressed", UNADDRESSED.format("ops-new@issues.example.com")),
    (
        "bcc-to-ops-unsubscribe",
        "not-addressed",
        UNADDRESSED.format("ops-7+unsubscribe@issues.example.com"),
    ),
    # The Date against SES's receipt: 7 days by default, 36 hours on the ops route.
    (
        "eight-days-old",
        "mail-too-old",
        "the mail is dated 2026-11-15 09:14:02 UTC, more than 7 days before SES received it "
        "(2026-11-23 09:14:03 UTC)",
    ),
    (
        "eight-days-old-unsubscribe",
        "mail-too-old",
        "the mail is dated 2026-11-15 08:00:00 UTC, more than 7 days before SES received it "
        "(2026-11-23 09:14:03 UTC)",
    ),
    (
        "two-days-old-ops",
        "mail-too-old",
        "the mail is dated 2026-11-21 09:00:00 UTC, more than 36 hours before SES received it "
        "(2026-11-23 09:14:03 UTC)",
    ),
    (
        "from-future",
        "mail-from-future",
        "the mail is dated 2026-11-23 09:24:04 UTC, more than 5 minutes after SES received it "
        "(2026-11-23 09:14:03 UTC)",
    ),
]

ACCEPTED = [
    ("ok-comment", "comment"),
    ("ok-cc-any-case", "comment"),
    ("ok-new-issue", "open"),
    ("ok-unsubscribe", "unsubscribe"),
    ("ok-relayed", "comment"),
    ("identical-repeat", "comment"),
    ("bcc-to-ops-issue", "comment"),
    ("seven-days-old", "comment"),
    ("thirty-hours-old-ops", "comment"),
    ("within-clock-skew", "comment"),
    ("no-date", "comment"),
    ("unparseable-date", "comment"),
    ("received-without-date", "comment"),
]


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.eml").read_bytes()


def ses_record(*, timestamp: str, recipients: list[str] | None = None) -> dict:
    """SES's Lambda event for a stored mail; its verdicts are the stored block's."""
    receipt = {"recipients": recipients} if recipients is not None else {}
    return {
        "eventSource": "aws:ses",
        "ses": {"mail": {"messageId": "m", "timestamp": timestamp}, "receipt": receipt},
    }


def test_every_fixture_is_a_row():
    """No stored mail is left out of the table, and no row names a missing mail."""
    stored = {path.stem for path in FIXTURES.glob("*.eml")}
    assert stored == {row[0] for row in REJECTED} | {row[0] for row in ACCEPTED}


@pytest.mark.parametrize(("name", "reason", "detail"), REJECTED, ids=[r[0] for r in REJECTED])
def test_replayed_or_smuggled_mail_is_refused_with_its_reason(name, reason, detail):
    """Refused for the stated reason, in words that name no sender address; nothing posts."""
    [decision] = plan(fixture(name), ROUTES).decisions
    assert (decision.action, decision.reason, decision.detail) == ("reject", reason, detail)
    assert decision.draft is None
    assert "alice" not in decision.detail
    assert "bob" not in decision.detail


@pytest.mark.parametrize(("name", "action"), ACCEPTED, ids=[r[0] for r in ACCEPTED])
def test_the_honest_mail_goes_through(name, action):
    """The same mails sent honestly (or repeating a field word for word) are accepted."""
    [decision] = plan(fixture(name), ROUTES).decisions
    assert (decision.action, decision.reason) == (action, "accepted")


def test_the_ses_event_judges_a_mail_as_its_stored_copy_does():
    """The event's recipients and timestamp (days later, as a retry's might be) change nothing:
    SES's Received field is read first, so the Lambda and a replay of the stored mail agree."""
    for name, _, _ in REJECTED:
        stored = plan(fixture(name), ROUTES).decisions
        [address] = receipt_from_headers(parse_mail(fixture(name))).recipients
        record = ses_record(timestamp="2026-12-06T12:00:00.000Z", recipients=[address])
        assert plan(fixture(name), ROUTES, ses_record=record).decisions == stored, name


def test_without_a_date_in_the_received_field_the_event_says_when_the_mail_arrived():
    """SES's Received field without its date: the event's mail.timestamp is the receipt."""
    raw = fixture("received-without-date")
    record = ses_record(timestamp="2026-11-23T09:14:03.000Z")
    [decision] = plan(raw, ROUTES, ses_record=record).decisions
    assert (decision.reason, decision.detail) == (
        "mail-too-old",
        "the mail is dated 2026-10-23 09:00:00 UTC, more than 7 days before SES received it "
        "(2026-11-23 09:14:03 UTC)",
    )


def test_without_a_receipt_moment_the_date_is_not_judged():
    """A mail that never went through SES has no receipt to measure against; it is refused
    anyway, as nothing authenticates it."""
    raw = (
        b"From: Alice <alice@example.com>\r\nTo: web-45@issues.example.com\r\n"
        b"Subject: old\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\nHello\r\n"
    )
    [decision] = plan(raw, ROUTES, recipients=["web-45@issues.example.com"]).decisions
    assert (decision.action, decision.reason) == ("reject", "not-authenticated")


def test_a_stored_mail_dispatched_far_in_the_future_is_judged_as_on_arrival(
    capsys, tmp_path, monkeypatch
):
    """`dispatch` (and `replay`) of a stored mail years later: the same decision, as the Date
    is measured against SES's receipt and never against the clock."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES_YAML)
    files = [str(path) for path in sorted(FIXTURES.glob("*.eml"))]
    argv = ["dispatch", "--dry-run", "--json", "--routes", str(routes), *files]

    def dispatch() -> list[dict]:
        main(argv)
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    on_arrival = dispatch()
    monkeypatch.setattr(time, "time", lambda: RECEIVED + 3 * 365 * 86400)
    assert dispatch() == on_arrival
    assert [line["reason"] for line in on_arrival].count("accepted") == len(ACCEPTED)


# --- the order of the rules -------------------------------------------------------------------


def test_conflicting_fields_come_first():
    """A mail both repeating its Subject and not addressed is refused for the repetition."""
    raw = ses_mail(
        to="bob@partner.example", recipient="web-45@issues.example.com", extra="Subject: x\r\n"
    )
    [decision] = plan(raw, ROUTES).decisions
    assert decision.reason == "conflicting-headers"


def test_not_addressed_comes_before_the_date_and_the_sender():
    """A re-sent old mail is refused as not addressed, and a mail addressed to us but old as
    too old, though both are authenticated: the replay rules run before anything acts on who
    sent it, unsubscribing included."""
    raw = ses_mail(
        to="bob@partner.example", recipient="web-45+unsubscribe@issues.example.com"
    ).replace(b"Date: Mon, 23 Nov 2026", b"Date: Mon, 02 Nov 2026")
    [decision] = plan(raw, ROUTES).decisions
    assert (decision.action, decision.reason) == ("reject", "not-addressed")
    old = ses_mail(recipient="web-45+unsubscribe@issues.example.com").replace(
        b"Date: Mon, 23 Nov 2026", b"Date: Mon, 02 Nov 2026"
    )
    assert plan(old, ROUTES).decisions[0].reason == "mail-too-old"


@pytest.mark.parametrize(
    ("verdicts", "extra", "reason"),
    [
        ({"spam": "FAIL"}, "", "spam"),
        ({"virus": "FAIL"}, "", "virus"),
        ({}, "List-Id: <dev.lists.example.com>\r\n", "list-mail"),
        ({}, "Auto-Submitted: auto-replied\r\n", "auto-reply"),
    ],
)
def test_what_is_never_posted_is_refused_as_such_before_the_replay_rules(verdicts, extra, reason):
    """Spam, a virus and automated mail are refused for what they are, though To names only
    the list (or someone else): those reasons only refuse, and say more."""
    raw = ses_mail(
        to="dev@lists.example.com", recipient="web-45@issues.example.com", extra=extra, **verdicts
    )
    [decision] = plan(raw, ROUTES).decisions
    assert (decision.action, decision.reason) == ("reject", reason)


def test_an_address_no_route_knows_is_refused_as_such():
    """The route decides which rules apply, so an address of no route is refused for that."""
    raw = ses_mail(to="bob@partner.example", recipient="help@elsewhere.example.net")
    assert plan(raw, ROUTES).decisions[0].reason == "no-route"


# --- repeated fields ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SINGLE_FIELDS)
def test_every_single_instance_field_repeated_with_another_value_is_refused(name):
    """Any of them, in any case, twice with different values: refused, naming the field."""
    extra = f"{name.upper()}: <one@example.com>\r\n{name.lower()}: <two@example.com>\r\n"
    message = parse_mail(ses_mail(extra=extra))
    refusal = conflicting_headers(message)
    assert refusal is not None
    assert (refusal.reason, refusal.detail) == (
        "conflicting-headers",
        REPEATED.format(f"{name} field"),
    )


def test_a_repeat_differing_only_in_whitespace_is_the_same_value():
    """Unfolded, with runs of whitespace as one space, the values are equal."""
    extra = (
        "Subject:\tBuild \r\n  failure \r\nReply-To: a@example.com\r\nReply-To:  a@example.com\r\n"
    )
    assert conflicting_headers(parse_mail(ses_mail(extra=extra))) is None


def test_ses_block_repeats_nothing_that_is_judged():
    """SES's own fields (Received above all, which relays repeat) are never judged."""
    assert not {name.lower() for name in SINGLE_FIELDS} & set(SES_FIELDS)


def test_fields_of_attached_mails_are_not_the_mails_own():
    """A forwarded mail's Subject inside the body is no second Subject of the mail."""
    body = (
        "See below.\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
        "Subject: Something else\r\nFrom: x@example.net\r\n\r\nold\r\n--b--\r\n"
    )
    raw = ses_mail(body).replace(
        b"Content-Type: text/plain; charset=utf-8", b'Content-Type: multipart/mixed; boundary="b"'
    )
    assert conflicting_headers(parse_mail(raw)) is None


# --- the Date window ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (RECEIVED - 7 * 86400, None),
        (RECEIVED - 7 * 86400 - 1, "mail-too-old"),
        (RECEIVED + CLOCK_SKEW, None),
        (RECEIVED + CLOCK_SKEW + 1, "mail-from-future"),
        (None, None),
    ],
)
def test_the_window_is_inclusive(sent, reason):
    """Exactly max_age old, or exactly the clock skew ahead, still passes."""
    refusal = outside_window(sent, RECEIVED, 7 * 86400)
    assert (refusal.reason if refusal else None) == reason


@pytest.mark.parametrize(
    ("date", "reason", "dated"),
    [
        ("Fri, 31 Dec 9999 23:59:59 -1400", "mail-from-future", "9999-12-31 23:59:59 UTC"),
        ("Mon, 01 Jan 0999 00:00:00 +1400", "mail-too-old", "0998-12-31 10:00:00 UTC"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_refused_not_raised(date, reason, dated):
    """A Date that lies beyond year 9999 in UTC still gets a decision that says so."""
    raw = ses_mail(recipient="web-45@issues.example.com").replace(
        b"Mon, 23 Nov 2026 09:13:51 +0000", date.encode()
    )
    [decision] = plan(raw, ROUTES).decisions
    assert (decision.reason, decision.detail.split(", more")[0]) == (
        reason,
        f"the mail is dated {dated}",
    )


# --- SES's Received field -----------------------------------------------------------------------


def received_field(raw: bytes) -> str:
    return next(v for n, v in parse_mail(raw).headers if n.lower() == "received")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "from a (a [192.0.2.1]) by inbound-smtp with SMTP id x for 7@issues.example.com; "
            "Mon, 23 Nov 2026 09:14:03 +0000 (UTC)",
            "7@issues.example.com",
        ),
        (
            "from a by b with SMTP id x for <Web-7@Issues.example.com>; Mon, 23 Nov 2026 09:14:03 "
            "+0000",
            "Web-7@Issues.example.com",
        ),
        ("from a by b with SMTP id x for 7@issues.example.com", "7@issues.example.com"),
        ("from a by b with SMTP id x; Mon, 23 Nov 2026 09:14:03 +0000 (UTC)", None),
        # The HELO name is the sender's: a for clause in it, before SES's own clauses, is not one.
        (
            "from x;for (for 9@issues.example.com; [192.0.2.1]) by inbound-smtp with SMTP id x; "
            "Mon, 23 Nov 2026 09:14:03 +0000",
            None,
        ),
        (
            "from x (x for 9@issues.example.com; [192.0.2.1]) by b with SMTP id x for "
            "7@issues.example.com; Mon, 23 Nov 2026 09:14:03 +0000",
            "7@issues.example.com",
        ),
        ("from a by b with SMTP id x for root; Mon, 23 Nov 2026 09:14:03 +0000", None),
    ],
)
def test_the_for_clause_is_read_where_ses_writes_it(value, expected):
    assert recipient(value) == expected


def test_the_receipt_is_the_date_after_the_last_semicolon():
    """The date of SES's Received field, and nothing else, is when SES received the mail."""
    assert received_at(received_field(ses_mail())) == RECEIVED
    assert received_at("from a by b with SMTP id x for 7@issues.example.com;") is None
    assert received_at("from a by b with SMTP id x for 7@issues.example.com") is None
    assert received_at("from a by b; not a date") is None
    assert received_at("from a by b; Mon, 23 Nov 2026 09:14:03 -0000") == RECEIVED


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-23T09:14:03.000Z", RECEIVED),
        ("2026-11-23T09:14:03", RECEIVED),
        ("yesterday", None),
        (None, None),
        (1795425243, None),
    ],
)
def test_the_event_timestamp_is_read_strictly(stamp, expected):
    assert event_time(stamp) == expected


def test_a_stored_mail_without_a_for_clause_has_no_recipient():
    """To and Cc never stand in for SES's recipient: the mail gets one no-recipient decision."""
    raw = ses_mail(recipient=None, to="web-45@issues.example.com")
    assert [(d.recipient, d.reason) for d in plan(raw, ROUTES).decisions] == [("", "no-recipient")]
    assert ses_block(recipient=None).count(" for ") == 0


# --- linear on hostile input --------------------------------------------------------------------


def test_repeated_fields_are_judged_in_linear_time():
    """Thousands of repeated fields, or one huge one, cost time in proportion."""

    def work(n: int) -> None:
        extra = "".join(f"Subject: s{i % 7}\r\nReceived: from r{i}\r\n" for i in range(n))
        conflicting_headers(parse_mail(ses_mail(extra=extra + "Cc: " + "x " * n + "\r\n")))

    assert growth(work, 2000) < MAX_GROWTH


def test_the_for_clause_is_found_in_linear_time():
    """A Received value full of would-be for clauses and @ signs costs time in proportion."""

    def work(n: int) -> None:
        recipient(" for a@b@c" * n + " for <" + "x" * n + "@" * n + ";")
        recipient("for " * n + "; x")

    assert growth(work, 4000) < MAX_GROWTH


# --- the route settings -------------------------------------------------------------------------


def one_route(**keys: str) -> str:
    lines = ["routes:", "  - domain: issues.example.com", "    repo: o/r"]
    lines += ["    allowed_senders: [example.com]"]
    return "\n".join(lines + [f"    {key}: {value}" for key, value in keys.items()]) + "\n"


def errors_of(text: str) -> list[str]:
    with pytest.raises(RoutesError) as caught:
        parse_routes(text, "routes.yaml")
    return list(caught.value.errors)


def test_the_settings_default_to_no_bcc_and_a_week():
    [route] = parse_routes(one_route(), "routes.yaml").routes
    assert (route.allow_bcc, route.max_age) == (False, 7 * 86400)


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("1h", 3600),
        ("36h", 36 * 3600),
        ("7d", 7 * 86400),
        ('" 14d "', 14 * 86400),
        ("365d", 365 * 86400),
    ],
)
def test_max_age_is_hours_or_days(written, seconds):
    [route] = parse_routes(one_route(max_age=written, allow_bcc="true"), "routes.yaml").routes
    assert (route.max_age, route.allow_bcc) == (seconds, True)


LABEL = "route 1 (issues.example.com): "


@pytest.mark.parametrize(
    ("written", "error"),
    [
        ("7", "max_age must be a duration such as 7d or 36h, not the number 7"),
        ("604800", "max_age must be a duration such as 7d or 36h, not the number 604800"),
        ("true", "max_age must be a duration such as 7d or 36h, not the boolean true"),
        ('""', "max_age is empty"),
        (
            "7 days",
            'max_age "7 days" is not a duration: write a whole number of hours or days, e.g. 36h '
            "or 7d",
        ),
        (
            "1w",
            'max_age "1w" is not a duration: write a whole number of hours or days, e.g. 36h or 7d',
        ),
        (
            "7D",
            'max_age "7D" is not a duration: write a whole number of hours or days, e.g. 36h or 7d',
        ),
        (
            "07d",
            'max_age "07d" is not a duration: write a whole number of hours or days, e.g. 36h or '
            "7d",
        ),
        (
            "1.5d",
            'max_age "1.5d" is not a duration: write a whole number of hours or days, e.g. 36h or '
            "7d",
        ),
        ("0h", 'max_age "0h" is too short: at least 1h'),
        ("366d", 'max_age "366d" is too long: at most 365d'),
        (
            "99999999999d",
            'max_age "99999999999d" is not a duration: write a whole number of '
            "hours or days, e.g. 36h or 7d",
        ),
    ],
)
def test_max_age_is_refused_in_plain_words(written, error):
    # At the value, after "    max_age: " on the fifth line.
    assert errors_of(one_route(max_age=written)) == [f"routes.yaml:5:14: {LABEL}{error}"]


def test_allow_bcc_is_true_or_false():
    assert errors_of(one_route(allow_bcc="yes please")) == [
        f'routes.yaml:5:16: {LABEL}allow_bcc must be true or false, not "yes please"'
    ]


def _signed(h: str, d: str = "example.com") -> str:
    return f"DKIM-Signature: v=1; a=rsa-sha256; d={d}; s=s1;\r\n h={h}; bh=Ym9keQ==; b=c2ln\r\n"


@pytest.mark.parametrize(
    ("signatures", "to", "cc", "reason"),
    [
        # No signature aligned with From: SES's verdicts alone decide (an SPF pass, say).
        ("", "bob@partner.example", "web-45@issues.example.com", "accepted"),
        (
            _signed("from:to:subject", "esp.example.net"),
            "bob@partner.example",
            "web-45@issues.example.com",
            "accepted",
        ),
        # The From domain's signature covers the field that names us.
        (
            _signed("from:to:cc:subject"),
            "bob@partner.example",
            "web-45@issues.example.com",
            "accepted",
        ),
        (_signed("From : To"), "web-45@issues.example.com", None, "accepted"),
        (
            _signed("from:to:subject", "mail.example.com"),
            "web-45@issues.example.com",
            None,
            "accepted",
        ),
        # It does not: a field anyone could have added (or rewritten).
        (
            _signed("from:to:subject"),
            "bob@partner.example",
            "web-45@issues.example.com",
            "not-addressed",
        ),
        (_signed("from:cc:subject"), "web-45@issues.example.com", None, "not-addressed"),
        # Two signatures of the domain: the field counts only when both cover it.
        (
            _signed("from:to:cc") + _signed("from:to"),
            "bob@partner.example",
            "web-45@issues.example.com",
            "not-addressed",
        ),
        # Named in both fields, one of them signed.
        (_signed("from:to"), "web-45@issues.example.com", "web-45@issues.example.com", "accepted"),
    ],
)
def test_our_address_counts_only_in_a_field_the_senders_signature_covers(
    signatures, to, cc, reason
):
    """A re-sender may add a field the From domain's DKIM signature leaves out (RFC 6376 5.4)
    without breaking it: our address there proves nothing about who the mail was written to."""
    raw = ses_mail(to=to, cc=cc, recipient="web-45@issues.example.com", extra=signatures)
    [decision] = plan(raw, ROUTES).decisions
    assert decision.reason == reason
