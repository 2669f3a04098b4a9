"""Who sent it: only SES's own header block and event count; everything else can be forged."""

from __future__ import annotations

import copy
import json

import pytest

from handler.inbound.authenticity import (
    SesReceipt,
    aligned,
    assess,
    receipt_from_event,
    receipt_from_headers,
)
from handler.inbound.mail import parse_mail
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
        # Mon, 23 Nov 2026 09:14:03 +0000, from SES's Received field.
        received_at=1795425243.0,
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
            "DMARC fail for example.com; DKIM none; SPF passed for mailer.evil.example.net, "
            "not aligned with example.com",
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
    assert verdict(raw) == (
        "not-authenticated",
        "DMARC fail for example.com; DKIM none; SPF passed for evil.example.net, "
        "not aligned with example.com",
    )


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
    assert assess(message, receipt).detail == (
        "DMARC fail for example.com (policy reject); DKIM pass for example.com; "
        "SPF pass for example.com"
    )


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
        ("x.unseen.ac.uk", "unseen.ac.uk", True),
        ("example.com", "com", False),
    ],
)
def test_relaxed_alignment(a, b, expected):
    """Aligned means equal or one below the other, at a label boundary."""
    assert aligned(a, b) is expected


def test_the_forged_example_is_rejected():
    """examples/mail/03: a forged verdict below SES's block does not get the mail posted."""
    raw = (ROOT / "examples" / "mail" / "03-forged-from.eml").read_bytes()
    assert verdict(raw) == (
        "not-authenticated",
        "DMARC fail for unseen.ac.uk; DKIM none; SPF passed for mailer.evil.example.net, "
        "not aligned with unseen.ac.uk",
    )


@pytest.mark.parametrize(
    ("case", "raw", "reason", "detail"),
    [
        (
            "spam scan unsure: the mail of an authenticated sender still posts",
            ses_mail(spam="GRAY"),
            "authenticated",
            "DMARC pass for example.com",
        ),
        (
            "spam scan failed: posts, authentication and allowed senders keep strangers out",
            ses_mail(spam="PROCESSING_FAILED"),
            "authenticated",
            "DMARC pass for example.com",
        ),
        (
            "virus scan failed: not posted unscanned",
            ses_mail(virus="PROCESSING_FAILED"),
            "virus",
            "SES could not tell whether the mail carries a virus (PROCESSING_FAILED); "
            "it is not posted unscanned",
        ),
        (
            "virus scan unsure: not posted",
            ses_mail(virus="GRAY"),
            "virus",
            "SES could not tell whether the mail carries a virus (GRAY); "
            "it is not posted unscanned",
        ),
        (
            "virus scanning turned off in the receipt rule: the operator's call",
            ses_mail().replace(b"X-SES-Virus-Verdict: PASS\r\n", b""),
            "authenticated",
            "DMARC pass for example.com",
        ),
        (
            "spam FAIL is checked before anything else",
            ses_mail(spam="FAIL", virus="FAIL", from_="root"),
            "spam",
            "SES's spam verdict is FAIL",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 90 else "",
)
def test_spam_and_virus_verdicts(case, raw, reason, detail):
    """Spam rejects only on FAIL; virus fails closed on FAIL, GRAY and PROCESSING_FAILED."""
    assert verdict(raw) == (reason, detail)


@pytest.mark.parametrize(
    ("case", "raw", "reason", "detail"),
    [
        (
            "DMARC could not be evaluated, DKIM aligned",
            ses_mail(envelope_from="b@elsewhere.example.net", dmarc="temperror"),
            "authenticated",
            "DMARC error; DKIM pass for example.com, aligned with example.com",
        ),
        (
            "DMARC could not be evaluated, nothing aligned",
            ses_mail(
                envelope_from="b@elsewhere.example.net",
                dkim_domain="elsewhere.example.net",
                dmarc="permerror",
            ),
            "not-authenticated",
            "DMARC error for example.com; DKIM passed only for elsewhere.example.net, not "
            "aligned with example.com; SPF passed for elsewhere.example.net, not aligned with "
            "example.com",
        ),
        (
            "DMARC fail is final even with a relaxed-aligned DKIM pass (strict policy)",
            ses_mail(
                from_="lab@mail.example.com",
                from_domain="mail.example.com",
                envelope_from="b@elsewhere.example.net",
                dmarc="fail",
            ),
            "not-authenticated",
            "DMARC fail for mail.example.com; DKIM pass for example.com; SPF passed for "
            "elsewhere.example.net, not aligned with mail.example.com",
        ),
        (
            "a Sender header never stands in for From",
            ses_mail(
                from_="alice@example.com",
                extra="Sender: bob@evil.example.net\r\n",
                envelope_from="bob@evil.example.net",
                dkim_domain="evil.example.net",
                dmarc="none",
            ),
            "not-authenticated",
            "no DMARC policy for example.com; DKIM passed only for evil.example.net, not "
            "aligned with example.com; SPF passed for evil.example.net, not aligned with "
            "example.com",
        ),
        (
            "sibling under a public suffix",
            ses_mail(
                from_="rob@unseen.ac.uk",
                from_domain="unseen.ac.uk",
                envelope_from="x@evil.ac.uk",
                dkim_domain="evil.ac.uk",
                dmarc="none",
            ),
            "not-authenticated",
            "no DMARC policy for unseen.ac.uk; DKIM passed only for evil.ac.uk, not aligned "
            "with unseen.ac.uk; SPF passed for evil.ac.uk, not aligned with unseen.ac.uk",
        ),
        (
            "From with no address at all",
            ses_mail(from_="undisclosed-recipients:;"),
            "invalid-from",
            "the mail has no From address",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 90 else "",
)
def test_more_spoofing_cases(case, raw, reason, detail):
    """Policy errors, strict policies, Sender and sibling domains end in the stated decision."""
    assert verdict(raw) == (reason, detail)


def fixture(name: str) -> bytes:
    return (TESTS / "authenticity" / name).read_bytes()


def test_real_layout_ends_the_block_at_the_senders_own_received():
    """SES's block is followed by the sender's Received and forged SES fields: none are read."""
    message = parse_mail(fixture("forwarded-layout.eml"))
    assert receipt_from_headers(message) == SesReceipt(
        spf="PASS",
        dkim="PASS",
        dmarc="PASS",
        spam="PASS",
        virus="PASS",
        dmarc_policy=None,
        envelope_from="priya@lab.example.org",
        spf_domain="lab.example.org",
        dkim_domains=("lab.example.org", "gappssmtp.example.com"),
        dmarc_domain="lab.example.org",
        recipients=("42@issues.example.com",),
        received_at=1795507331.0,
    )
    assert assess(message, receipt_from_headers(message)).detail == (
        "DMARC pass for lab.example.org"
    )


def test_ses_bounce_is_dropped_as_a_bounce():
    """SES's own DSN (null sender, dmarc=permerror) is a bounce, not an authentication failure."""
    message = parse_mail(fixture("ses-bounce.eml"))
    receipt = receipt_from_headers(message)
    assert receipt is not None
    assert (receipt.envelope_from, receipt.dmarc, receipt.spf) == ("", "PROCESSING_FAILED", "GRAY")
    assert receipt.spf_domain == "a14-86.smtp-out.amazonses.com"
    result = assess(message, receipt)
    assert (result.ok, result.reason) == (False, "bounce")


def test_mail_without_a_dkim_signature_passes_on_dmarc():
    """SES writes no dkim= result for an unsigned mail; DMARC pass (via SPF) is enough."""
    message = parse_mail(fixture("no-dkim-signature.eml"))
    receipt = receipt_from_headers(message)
    assert receipt is not None
    assert (receipt.dkim, receipt.dkim_domains) == ("GRAY", ())
    result = assess(message, receipt)
    assert (result.ok, result.detail) == (True, "DMARC pass for tickets.example.net")
    assert result.sender is not None
    assert result.sender.addr == "desk@tickets.example.net"


def test_event_without_a_verdict_keeps_the_stored_one():
    """A verdict missing from the event falls back to SES's stored header, not to a guess."""
    message = parse_mail(ses_mail(virus="PROCESSING_FAILED"))
    record = event_record()
    del record["ses"]["receipt"]["virusVerdict"]
    receipt = receipt_from_event(record, receipt_from_headers(message))
    assert receipt.virus == "PROCESSING_FAILED"
    assert receipt_from_event(record, None).virus == "DISABLED"


def test_event_status_outside_ses_vocabulary_is_uncertain():
    """An unknown status string is treated as GRAY, never as PASS."""
    receipt = receipt_from_event(event_record(dmarcVerdict="SOMETHING"), None)
    assert receipt.dmarc == "GRAY"


def edited_receipt(*edits: tuple[str, str]) -> SesReceipt | None:
    """The receipt of the real-layout fixture after replacing text in it."""
    text = fixture("no-dkim-signature.eml").decode()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    return receipt_from_headers(parse_mail(text.encode()))


SPF_RESULT = (
    " spf=pass (spfCheck: domain of tickets.example.net designates 198.51.100.40 as permitted "
    "sender) client-ip=198.51.100.40; envelope-from=noreply@tickets.example.net; "
    "helo=mx1.tickets.example.net;\n"
)


def test_authserv_id_is_case_insensitive():
    """The authserv-id is a domain name: AmazonSES.com is SES's too."""
    receipt = edited_receipt(("Results: amazonses.com;", "Results: AmazonSES.com;"))
    assert receipt is not None
    assert receipt.dmarc == "PASS"


def test_results_of_another_authserv_id_inside_the_block_count_for_nothing():
    """Only amazonses.com's results are read, even in SES's position."""
    receipt = edited_receipt(("Results: amazonses.com;", "Results: mx.example.net;"))
    assert receipt is not None
    assert (receipt.dmarc, receipt.dmarc_domain) == ("GRAY", None)


def test_spf_status_falls_back_to_received_spf():
    """Without an spf= result, SES's own Received-SPF gives the SPF status."""
    receipt = edited_receipt((SPF_RESULT, ""), ("Received-SPF: pass", "Received-SPF: softfail"))
    assert receipt is not None
    assert (receipt.spf, receipt.spf_domain) == ("FAIL", "tickets.example.net")


def test_empty_received_spf_is_no_result():
    """An empty Received-SPF and no spf= result leave SPF at GRAY, without an error."""
    received_spf = fixture("no-dkim-signature.eml").decode().split("Received-SPF:")[1]
    receipt = edited_receipt((SPF_RESULT, ""), (received_spf.split("\n", 1)[0], ""))
    assert receipt is not None
    assert receipt.spf == "GRAY"


def test_smtp_mailfrom_may_be_a_bare_domain():
    """RFC 8601 allows smtp.mailfrom=domain; it names the SPF domain."""
    receipt = edited_receipt(
        (
            " envelope-from=noreply@tickets.example.net;",
            " smtp.mailfrom=bounces.tickets.example.net;",
        )
    )
    assert receipt is not None
    assert receipt.spf_domain == "bounces.tickets.example.net"


def test_event_keeps_the_stored_policy_when_both_say_fail():
    """The policy SES wrote in the stored block survives an event that omits dmarcPolicy."""
    block = ses_block(dmarc="fail").replace(
        " dmarc=fail header.from", " dmarc=fail (p=QUARANTINE) header.from"
    )
    stored = receipt_from_headers(
        parse_mail((block + "From: alice@example.com\r\n\r\nhi\r\n").encode())
    )
    record = event_record(dmarcVerdict="FAIL")
    del record["ses"]["receipt"]["dmarcPolicy"]
    assert receipt_from_event(record, stored).dmarc_policy == "quarantine"
    del record["ses"]["receipt"]["dmarcVerdict"]
    assert receipt_from_event(record, stored).dmarc_policy == "quarantine"
    passing = event_record(dmarcVerdict="PASS")
    del passing["ses"]["receipt"]["dmarcPolicy"]
    assert receipt_from_event(passing, stored).dmarc_policy is None
