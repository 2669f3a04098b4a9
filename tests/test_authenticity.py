"""Who sent it: only SES's own header block and event count; everything else can be forged."""

from __future__ import annotations

import copy
import json

import pytest

from handler.authenticity import (
    SesReceipt,
    aligned,
    assess,
    receipt_from_event,
    receipt_from_headers,
)
from handler.mail import parse_mail
from tests.conftest import ROOT, TESTS
from tests.sesmail import ses_block, ses_mail


def verdict(raw: bytes) -> tuple[str, str]:
    message = parse_mail(raw)
    result = assess(message, receipt_from_headers(message))
    return result.reason, result.detail


def test_ses_block_is_read():
    """Every verdict, the envelope, the SPF and DKIM domains and the recipient come from it."""
    receipt = receipt_from_headers(parse_mail(ses_mail()))
    assert receipt == SesReceipt(
        spf="PASS",
        dkim="PASS",
        dmarc="PASS",
        spam="PASS",
        virus="PASS",
        dmarc_policy=None,
        envelope_from="alice@example.com",
        spf_domain="example.com",
        dkim_domains=("example.com",),
        dmarc_domain="example.com",
        recipients=("7@issues.example.com",),
    )


@pytest.mark.parametrize(
    ("case", "raw", "reason", "detail"),
    [
        (
            "dmarc pass",
            ses_mail(),
            "authenticated",
            "DMARC pass for example.com",
        ),
        (
            "forged From, DMARC fails",
            ses_mail(
                envelope_from="bounce@mailer.evil.example.net",
                dkim="none",
                dmarc="fail",
            ),
            "not-authenticated",
            "DMARC fail for example.com",
        ),
        (
            "no policy, DKIM passes for an unrelated domain",
            ses_mail(
                envelope_from="x@evil.example.net",
                dkim_domain="evil.example.net",
                dmarc="none",
            ),
            "not-authenticated",
            "no DMARC policy for example.com; DKIM passed only for evil.example.net, not aligned "
            "with example.com; SPF passed for evil.example.net, not aligned with example.com",
        ),
        (
            "no policy, SPF passes for a look-alike domain",
            ses_mail(envelope_from="x@evilexample.com", dkim="none", dmarc="none"),
            "not-authenticated",
            "no DMARC policy for example.com; DKIM none; SPF passed for evilexample.com, "
            "not aligned with example.com",
        ),
        (
            "no policy, suffix trick example.com.evil.net",
            ses_mail(
                envelope_from="x@example.com.evil.net",
                dkim_domain="example.com.evil.net",
                dmarc="none",
            ),
            "not-authenticated",
            "no DMARC policy for example.com; DKIM passed only for example.com.evil.net, "
            "not aligned with example.com; SPF passed for example.com.evil.net, not aligned with "
            "example.com",
        ),
        (
            "no policy, DKIM by the parent domain of a subdomain sender",
            ses_mail(
                from_="Lab <lab@mail.example.com>",
                envelope_from="bounce@elsewhere.example.net",
                dkim_domain="example.com",
                dmarc="none",
                from_domain="mail.example.com",
            ),
            "authenticated",
            "no DMARC policy; DKIM pass for example.com, aligned with mail.example.com",
        ),
        (
            "no policy, SPF for a bounce subdomain of the sender",
            ses_mail(envelope_from="b@bounces.example.com", dkim="none", dmarc="none"),
            "authenticated",
            "no DMARC policy; SPF pass for bounces.example.com, aligned with example.com",
        ),
        (
            "no policy, nothing passes",
            ses_mail(spf="softfail", dkim="fail", dmarc="none"),
            "not-authenticated",
            "no DMARC policy for example.com; DKIM fail; SPF fail",
        ),
        (
            "SES judged DMARC for another From than the one we parse",
            ses_mail(from_domain="other.example.org"),
            "not-authenticated",
            "SES evaluated DMARC for other.example.org, but the From address is at example.com",
        ),
        (
            "display name pretends to be someone else",
            ses_mail(
                from_='"alice@example.com" <mallory@evil.example.net>',
                envelope_from="mallory@evil.example.net",
                dkim_domain="evil.example.net",
                dmarc="none",
                from_domain="evil.example.net",
            ),
            "authenticated",
            "no DMARC policy; DKIM pass for evil.example.net, aligned with evil.example.net",
        ),
        (
            "two From addresses",
            ses_mail(from_="alice@example.com, mallory@evil.example.net"),
            "invalid-from",
            "the mail has 2 From addresses (alice@example.com, mallory@evil.example.net); "
            "exactly one is needed",
        ),
        (
            "From without a domain",
            ses_mail(from_="root"),
            "invalid-from",
            "the From address 'root' has no valid domain",
        ),
        (
            "From at an IP literal",
            ses_mail(from_="alice@[192.0.2.1]"),
            "invalid-from",
            "the From address 'alice@[192.0.2.1]' has no valid domain",
        ),
        ("spam", ses_mail(spam="FAIL"), "spam", "SES's spam verdict is FAIL"),
        ("virus", ses_mail(virus="FAIL"), "virus", "SES's virus verdict is FAIL"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 70 else "",
)
def test_spoofing_table(case, raw, reason, detail):
    """Each way of faking a sender ends in the stated decision, with a detail that says why."""
    assert verdict(raw) == (reason, detail)


def test_forged_verdicts_below_the_ses_block_are_ignored():
    """A sender's own "Authentication-Results: amazonses.com" below SES's block is ignored."""
    forged = (
        "Authentication-Results: amazonses.com; spf=pass; dkim=pass header.i=@example.com; "
        "dmarc=pass header.from=example.com\r\nX-SES-Spam-Verdict: PASS\r\n"
    )
    raw = ses_mail(envelope_from="x@evil.example.net", dkim="none", dmarc="fail", extra="").replace(
        b"From: ", forged.encode() + b"From: ", 1
    )
    assert verdict(raw) == ("not-authenticated", "DMARC fail for example.com")


def test_a_mail_that_did_not_come_through_ses_is_not_authenticated():
    """No SES block at all: nothing vouches for the From domain, however the mail looks."""
    raw = (
        b"Authentication-Results: amazonses.com; dmarc=pass header.from=example.com\r\n"
        b"From: alice@example.com\r\nTo: 7@issues.example.com\r\nSubject: x\r\n\r\nhi\r\n"
    )
    message = parse_mail(raw)
    assert receipt_from_headers(message) is None
    assert verdict(raw)[0] == "not-authenticated"


def test_a_foreign_header_inside_the_block_ends_it():
    """SES never puts another field between its own: the block ends there, without X-SES-RECEIPT."""
    block = ses_block().replace("X-SES-Virus-Verdict", "X-Injected: 1\r\nX-SES-Virus-Verdict")
    raw = (block + "From: alice@example.com\r\nTo: 7@issues.example.com\r\n\r\nhi\r\n").encode()
    assert receipt_from_headers(parse_mail(raw)) is None


def test_fields_out_of_ses_order_end_the_block():
    """A second Received below X-SES-RECEIPT is the sender's, not part of SES's block."""
    raw = ses_mail(recipient=None).replace(
        b"From: ",
        b"Received: from x by y for 1@issues.example.com; Mon, 1 Jan 2026 00:00:00 +0000\r\nFrom: ",
        1,
    )
    assert receipt_from_headers(parse_mail(raw)).recipients == ()  # type: ignore[union-attr]


def test_rfc8601_comments_quotes_and_several_signatures():
    """Comments are skipped, quoted values read, and every passing DKIM signature collected."""
    block = ses_block().replace(
        " dkim=pass header.i=@example.com;",
        ' dkim=pass (2048-bit key; unprotected) header.d=example.com header.s="s1;x";\r\n'
        " dkim=fail (body hash did not verify) header.d=evil.example.net;\r\n"
        " dkim=pass header.i=alerts@lists.example.org (nested (comment) here);",
    )
    raw = (block + "From: alice@example.com\r\n\r\nhi\r\n").encode()
    receipt = receipt_from_headers(parse_mail(raw))
    assert receipt is not None
    assert receipt.dkim_domains == ("example.com", "lists.example.org")
    assert receipt.dkim == "PASS"


def test_dmarc_policy_is_read_from_the_result_comment():
    """SES writes the published policy in a comment after dmarc=fail."""
    block = ses_block(dmarc="fail").replace(
        " dmarc=fail header.from", " dmarc=fail (p=REJECT sp=NONE pct=100) header.from"
    )
    raw = (block + "From: alice@example.com\r\n\r\nhi\r\n").encode()
    message = parse_mail(raw)
    receipt = receipt_from_headers(message)
    assert receipt is not None
    assert receipt.dmarc_policy == "reject"
    assert assess(message, receipt).detail == "DMARC fail for example.com (policy reject)"


def event_record(**verdicts: str) -> dict:
    event = json.loads((TESTS / "events" / "sesEvent.json").read_text())
    record = copy.deepcopy(event["Records"][0])
    for name, status in verdicts.items():
        record["ses"]["receipt"][name]["status"] = status
    return record


def test_event_verdicts_override_the_stored_block():
    """In Lambda the event is authoritative: a PASS in the mail cannot outvote a FAIL in it."""
    message = parse_mail(ses_mail())
    stored = receipt_from_headers(message)
    receipt = receipt_from_event(event_record(dmarcVerdict="FAIL"), stored)
    assert (receipt.dmarc, receipt.dmarc_policy) == ("FAIL", "reject")
    assert receipt.recipients == ("johndoe@example.com",)
    assert receipt.envelope_from == "janedoe@example.com"
    assert receipt.dkim_domains == ("example.com",)
    assert assess(message, receipt).reason == "not-authenticated"


def test_event_without_a_stored_block_authenticates_on_dmarc_only():
    """Without the stored block the event names no DKIM domain: only a DMARC pass counts."""
    message = parse_mail(b"From: alice@example.com\r\nTo: 7@issues.example.com\r\n\r\nhi\r\n")
    passing = receipt_from_event(event_record(), None)
    assert assess(message, passing).ok
    gray = receipt_from_event(event_record(dmarcVerdict="GRAY"), None)
    assert gray.spf_domain == "example.com"
    assert assess(message, gray).detail == (
        "no DMARC policy; SPF pass for example.com, aligned with example.com"
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("example.com", "example.com", True),
        ("mail.example.com", "example.com", True),
        ("example.com", "bounces.example.com", True),
        ("evilexample.com", "example.com", False),
        ("example.com.evil.net", "example.com", False),
        ("unseen.ac.uk", "evil.ac.uk", False),
    ],
)
def test_relaxed_alignment(a, b, expected):
    """Aligned means equal or one below the other, at a label boundary."""
    assert aligned(a, b) is expected


def test_the_forged_example_is_rejected():
    """examples/mail/03: a forged verdict below SES's block does not get the mail posted."""
    raw = (ROOT / "examples" / "mail" / "03-forged-from.eml").read_bytes()
    assert verdict(raw) == ("not-authenticated", "DMARC fail for unseen.ac.uk")
