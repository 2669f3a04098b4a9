"""Who sent it: only SES's own header block and event count; everything else can be forged."""

from __future__ import annotations

import copy
import json

import pytest

from handler.inbound.authenticity import (
    Assessment,
    SesReceipt,
    aligned,
    assess,
    receipt_from_event,
    receipt_from_headers,
)
from handler.inbound.mail import parse_mail
from handler.reasons import Reason
from tests.complexity import MAX_GROWTH, growth
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
            "the mail has 2 From addresses (a…@example.com, m…@evil.example.net); "
            "exactly one is needed",
        ),
        (
            "From without a domain",
            ses_mail(from_="root"),
            "invalid-from",
            "the From address 'r…' has no valid domain",
        ),
        (
            "From at an IP literal",
            ses_mail(from_="alice@[192.0.2.1]"),
            "invalid-from",
            "the From address 'a…@[192.0.2.1]' has no valid domain",
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
    """Only amazonses.com's results are read, even in SES's position: another server's there
    authenticate no one (not even by an aligned SPF pass, as a missing policy would)."""
    receipt = edited_receipt(("Results: amazonses.com;", "Results: mx.example.net;"))
    assert receipt is not None
    assert (receipt.dmarc, receipt.dmarc_domain) == ("DISABLED", None)
    assert receipt.problem == (
        "SES's Authentication-Results cannot be trusted: "
        "its results are another server's, not amazonses.com's"
    )


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


UNTRUSTED = "SES's Authentication-Results cannot be trusted: "
RECEIVED_SPF = fixture("no-dkim-signature.eml").decode().split("Received-SPF:")[1].split("\n")[0]
DMARC_RESULT = " dmarc=pass header.from=tickets.example.net;"


@pytest.mark.parametrize(
    ("case", "edits", "why"),
    [
        (
            "a second dmarc result",
            [(DMARC_RESULT, DMARC_RESULT + "\n dmarc=fail header.from=tickets.example.net;")],
            "it holds more than one dmarc result",
        ),
        (
            "a second spf result",
            [(DMARC_RESULT, " spf=pass client-ip=192.0.2.1;\n" + DMARC_RESULT)],
            "it holds more than one spf result",
        ),
        (
            "a property named twice",
            [(DMARC_RESULT, " dmarc=pass header.from=tickets.example.net header.from=x.example;")],
            "its dmarc result names header.from twice",
        ),
        (
            "an spf detail named twice",
            [(" helo=mx1.tickets.example.net;\n", " helo=a.example; helo=b.example;\n")],
            "its spf result names helo twice",
        ),
        (
            "a stray property after a result other than spf",
            [(DMARC_RESULT, " dkim=pass header.d=tickets.example.net;\n header.d=x.example;")],
            "it holds an entry that is neither a result nor SES's spf details",
        ),
        (
            "an spf detail after another result",
            [(DMARC_RESULT, DMARC_RESULT + "\n helo=x.example;")],
            "it holds an entry that is neither a result nor SES's spf details",
        ),
        (
            "a word that is no property",
            [(DMARC_RESULT, " dmarc=pass header.from=tickets.example.net pass;")],
            "it holds an entry that is not key=value",
        ),
        (
            "an unknown property",
            [(DMARC_RESULT, " dmarc=pass header.from=tickets.example.net helo=x;")],
            "its dmarc result holds something other than properties",
        ),
        (
            "an empty result",
            [(DMARC_RESULT, " ;\n" + DMARC_RESULT)],
            "it holds an empty result",
        ),
        (
            "a comment that never closes",
            [(DMARC_RESULT, " dmarc=pass (p=NONE header.from=tickets.example.net;")],
            "a comment in it never closes",
        ),
        (
            "an spf result unlike SES's Received-SPF",
            [(SPF_RESULT, SPF_RESULT.replace("client-ip", "smtp.helo=x.example client-ip"))],
            "its spf result and SES's Received-SPF differ",
        ),
        (
            "a method name in another script",
            [(DMARC_RESULT, " dmarc=pass header.from=tickets.example.net;\n d\u212aim=pass;")],
            "it holds an entry whose name is not a keyword",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 60 else "",
)
def test_a_field_not_shaped_as_ses_writes_it_authenticates_no_one(case, edits, why):
    """Out of RFC 8601's shape, a method SES writes once twice, or an spf result that is not
    SES's Received-SPF: the whole field is untrusted, and the detail says why."""
    text = fixture("no-dkim-signature.eml").decode()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    message = parse_mail(text.encode())
    receipt = receipt_from_headers(message)
    assert receipt is not None
    assert receipt.problem == UNTRUSTED + why
    assert assess(message, receipt).detail == UNTRUSTED + why
    assert assess(message, receipt).reason == "not-authenticated"


def test_an_spf_result_folded_elsewhere_than_received_spf_is_the_same():
    """Folding adds no text (RFC 5322 2.2.3): SES's spf result folded at other spaces, or with
    a tab, still matches its Received-SPF."""
    folded = SPF_RESULT.replace(" as permitted ", " as\n\tpermitted ").replace("; helo", ";\n helo")
    receipt = edited_receipt((SPF_RESULT, folded))
    assert receipt is not None
    assert (receipt.problem, receipt.dmarc, receipt.spf) == (None, "PASS", "PASS")


@pytest.mark.parametrize(
    ("case", "old", "new"),
    [
        ("without Received-SPF", "Received-SPF:" + RECEIVED_SPF + "\n", ""),
        ("with Received-SPF written as spf=", "Received-SPF: pass", "Received-SPF: spf=pass"),
    ],
)
def test_an_spf_result_without_a_received_spf_like_it_is_read_on_its_separators(case, old, new):
    """Received-SPF only confirms where SES's spf result ends: a copy of the block without it,
    or with it written as a result, is read on the separators alone."""
    receipt = edited_receipt((old, new))
    assert receipt is not None
    assert (receipt.problem, receipt.dmarc, receipt.spf) == (None, "PASS", "PASS")


def test_an_spf_comment_holding_escapes_and_nesting_is_one_token():
    """A comment's quoted-pairs and nested parentheses stay inside it, whatever they hold."""
    comment = r"(spfCheck: domain of tickets.example.net \) dmarc=fail; (x; dkim=fail) y) "
    old = "(spfCheck: domain of tickets.example.net designates 198.51.100.40 as permitted sender) "
    receipt = edited_receipt((old, comment))
    assert receipt is not None
    assert (receipt.problem, receipt.dmarc, receipt.spf) == (None, "PASS", "PASS")


def test_dkim_none_names_no_domain_and_needs_none():
    """``dkim=none`` says there was no signature: it has no domain to name, and is no error."""
    receipt = receipt_from_headers(parse_mail(ses_mail(dkim="none", dmarc="none")))
    assert receipt is not None
    assert (receipt.problem, receipt.dkim, receipt.dkim_domains) == (None, "GRAY", ())


def test_a_header_d_with_a_header_i_below_it_names_the_signer():
    """header.i may name an agent of header.d's domain (RFC 6376 3.5); header.d signs."""
    block = ses_block().replace(
        " dkim=pass header.i=@example.com;",
        " dkim=pass header.d=example.com header.i=@a.example.com;",
    )
    receipt = receipt_from_headers(
        parse_mail((block + "From: alice@example.com\r\n\r\nhi").encode())
    )
    assert receipt is not None
    assert (receipt.problem, receipt.dkim_domains) == (None, ("example.com",))


def test_an_untrusted_stored_field_is_not_rescued_by_the_event():
    """In Lambda the event's verdicts count, but a stored field that cannot be trusted names no
    domain to align with, and its receipt authenticates no one, even with the event's DMARC pass."""
    text = ses_mail().decode().replace("helo=mx.example.com;", 'helo=mx.example.com;"', 2)
    message = parse_mail(text.encode())
    stored = receipt_from_headers(message)
    assert stored is not None
    receipt = receipt_from_event(event_record(), stored)
    assert receipt.dmarc == "PASS"
    assert (receipt.dkim_domains, receipt.dmarc_domain) == ((), None)
    assert assess(message, receipt) == Assessment(
        False,
        Reason.NOT_AUTHENTICATED,
        UNTRUSTED + "a quoted string in it never closes",
        message.from_[0],
    )


def test_reading_the_field_is_linear_in_its_length():
    """Nested comments, quoted strings and separators cost time in proportion to their size."""

    def read(size: int) -> None:
        helo = "(" * size + '"' * size + ";x" * size
        nested = "(" * size + ")" * size
        text = (
            ses_mail()
            .decode()
            .replace("helo=mx.example.com;", f"helo={helo};", 2)
            .replace(" dmarc=pass header.from", f" dmarc=pass {nested} header.from")
        )
        receipt_from_headers(parse_mail(text.encode()))

    assert growth(read, 4000) < MAX_GROWTH
