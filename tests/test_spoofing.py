"""The spoofing matrix: stored mails with SES's header block on top, through the whole plan.

Every forged row ends in a rejection with a specific reason and nothing to post; the positive
controls (``ok-*``) are the same mails done right, so the table fails if rejection is
unconditional. The fixtures were written for these rows; each file's name says its trick.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from handler.inbound.plan import plan
from handler.routing import parse_routes
from tests.conftest import TESTS

FIXTURES = TESTS / "spoofing"
RECIPIENT = "123@anomalies.example.ac.uk"
ROUTES = parse_routes(
    "routes:\n"
    "  - domain: anomalies.example.ac.uk\n"
    "    repo: unseen-lab/anomaly-tracker\n"
    "    allowed_senders: [allowed.org]\n",
    "routes.yaml",
)

UNTRUSTED = "SES's Authentication-Results cannot be trusted: "
REJECTED = [
    # Forged From with failing SES verdicts.
    ("forged-from-dmarc-fail", "not-authenticated", "DMARC fail for allowed.org (policy reject)"),
    ("forged-from-all-fail", "not-authenticated", "DMARC fail for allowed.org (policy none)"),
    ("forged-from-spam", "spam", "SES's spam verdict is FAIL"),
    # Forged SES results below SES's own block, in today's and the older block layout.
    ("forged-ar-below-block", "not-authenticated", "DMARC fail for allowed.org (policy quar"),
    ("old-format-forged-ar", "not-authenticated", "SES reported no DMARC result for allowed.org"),
    ("old-format-aligned-spf-only", "not-authenticated", "SES reported no DMARC result"),
    # A pass, but for somebody else's domain.
    ("spf-pass-attacker-envelope", "not-authenticated", "SPF passed for mailer.evil.net, not al"),
    ("dkim-pass-third-party", "not-authenticated", "DKIM passed only for sendgrid.example, not"),
    # Result syntax smuggled into what the attacker controls.
    ("smuggled-quoted-envelope", "not-authenticated", "DMARC fail for allowed.org (policy reject)"),
    ("smuggled-unquoted-envelope", "not-authenticated", "SPF passed for evil.net, not aligned"),
    ("smuggled-comment", "not-authenticated", "no DMARC policy for allowed.org; DKIM fail;"),
    # Results smuggled into SES's own spf entry through the HELO name or the envelope sender,
    # which SES writes unquoted: a ';' they hold, even before a Unicode space, is no separator.
    ("helo-injected-dmarc", "not-authenticated", "DMARC fail for allowed.org (policy reject)"),
    ("helo-injected-dkim", "not-authenticated", "no DMARC policy for allowed.org; DKIM none;"),
    ("helo-injected-nbsp", "not-authenticated", "no DMARC policy for allowed.org; DKIM none;"),
    ("helo-injected-ideographic-space", "not-authenticated", "DMARC fail for allowed.org (polic"),
    ("envelope-injected-dkim", "not-authenticated", "DKIM none; SPF pass for an unknown envelope"),
    # A comment or quoted string opened there would swallow SES's real results.
    ("helo-comment-swallows-results", "not-authenticated", "DMARC fail for allowed.org (policy"),
    ("helo-unclosed-quote", "not-authenticated", UNTRUSTED + "a quoted string in it never closes"),
    (
        "envelope-quoted-swallows-helo",
        "not-authenticated",
        UNTRUSTED + "its envelope-from and SES's Return-Path name different domains",
    ),
    # Were whitespace ever to reach the HELO name: the results it forms are caught.
    ("helo-with-space", "not-authenticated", UNTRUSTED + "its spf result and SES's Received-SPF"),
    ("helo-with-space-dmarc", "not-authenticated", UNTRUSTED + "it holds more than one dmarc"),
    # Results that name nobody fail closed.
    (
        "dkim-pass-without-domain",
        "not-authenticated",
        UNTRUSTED + "its dkim=pass result names no signing domain (header.d or header.i)",
    ),
    ("dkim-pass-i-outside-d", "not-authenticated", UNTRUSTED + "its dkim=pass result names no"),
    (
        "dmarc-without-header-from",
        "not-authenticated",
        UNTRUSTED + "its dmarc=pass result names no From domain (header.from)",
    ),
    (
        "dmarc-header-from-not-a-domain",
        "not-authenticated",
        UNTRUSTED + "its dmarc=pass result names a From domain that is not a domain name",
    ),
    # Display names and look-alike domains; the attacker's own domain authenticates.
    ("display-name-address", "sender-not-allowed", "evil.net is not among the sender domains"),
    ("display-name-address-forged", "invalid-from", "the mail has 2 From addresses"),
    ("lookalike-prefix", "sender-not-allowed", "evilallowed.org is not among"),
    ("lookalike-suffix", "sender-not-allowed", "allowed.org.evil.net is not among"),
    ("lookalike-cyrillic", "sender-not-allowed", "xn--allowd-7of.org is not among"),
    ("lookalike-punycode", "sender-not-allowed", "xn--allowd-7of.org is not among"),
    ("lookalike-uppercase-unauthenticated", "not-authenticated", "no DMARC policy for allowed.org"),
    # Several From addresses; From and Sender disagreeing.
    (
        "two-from-addresses",
        "invalid-from",
        "2 From addresses (a…@allowed.org, m…@evil.net)",
    ),
    # Two From or Sender fields: which one a reader sees is not the one DKIM vouches for.
    ("two-from-fields", "conflicting-headers", "the mail repeats its From field with"),
    ("sender-other-domain", "sender-mismatch", "sent by a…@lists.evil.net (Sender)"),
    ("sender-lookalike", "sender-mismatch", "sent by a…@allowed.org.evil.net (Sender)"),
    ("sender-two-fields", "conflicting-headers", "the mail repeats its Sender field with"),
    # A missing or unparsable From.
    ("from-missing", "invalid-from", "the mail has no From address"),
    ("from-unparsable", "invalid-from", "the mail has no From address"),
    ("from-no-domain", "invalid-from", "the From address 'a…' has no valid domain"),
    ("from-encoded-address-only", "invalid-from", "the From address '=…' has no valid"),
    ("from-ip-literal", "invalid-from", "'a…@[198.51.100.25]' has no valid domain"),
]

ACCEPTED = [
    "ok-dmarc-pass",
    "ok-uppercase-trailing-dot",
    "ok-no-policy-aligned-dkim",
    "ok-sender-same-organisation",
    "ok-no-display-name",
    # Sent through SES itself: two DKIM results, the sender's and amazonses.com's.
    "ok-sent-through-ses",
    # An envelope sender whose quoted local part holds what would be syntax outside quotes.
    "ok-quoted-envelope",
]


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.eml").read_bytes()


def event_record(**verdicts: str) -> dict[str, Any]:
    """SES's Lambda event for the mail, with the given receipt verdicts."""
    event = json.loads((TESTS / "events" / "sesEvent.json").read_text())
    record: dict[str, Any] = copy.deepcopy(event["Records"][0])
    record["ses"]["receipt"]["recipients"] = [RECIPIENT]
    record["ses"]["receipt"].pop("dmarcPolicy", None)
    for name, status in verdicts.items():
        record["ses"]["receipt"][name]["status"] = status
    return record


def test_every_fixture_is_a_row():
    """No stored mail is left out of the matrix, and no row names a missing mail."""
    stored = {path.stem for path in FIXTURES.glob("*.eml")}
    assert stored == {row[0] for row in REJECTED} | set(ACCEPTED)


@pytest.mark.parametrize(("name", "reason", "detail"), REJECTED, ids=[r[0] for r in REJECTED])
def test_forgery_is_rejected_with_its_reason(name, reason, detail):
    """The forged mail is rejected for the stated reason, the detail says why, nothing posts."""
    [decision] = plan(fixture(name), ROUTES).decisions
    assert (decision.recipient, decision.action, decision.reason) == (RECIPIENT, "reject", reason)
    assert detail in decision.detail
    assert decision.draft is None


@pytest.mark.parametrize("name", ACCEPTED)
def test_positive_control_is_posted(name):
    """The same mail sent honestly is accepted for issue 123, so the table can fail."""
    [decision] = plan(fixture(name), ROUTES).decisions
    assert (decision.action, decision.reason) == ("comment", "accepted")
    assert (decision.repo, decision.issue) == ("unseen-lab/anomaly-tracker", 123)
    assert decision.draft is not None
    assert "The detector trips at 4 K again." in decision.draft.body


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ok-dmarc-pass", "**Alice Moreau** wrote by email"),
        ("ok-no-display-name", "**Someone at allowed.org** wrote by email"),
        ("ok-uppercase-trailing-dot", "**Alice Moreau** wrote by email"),
    ],
)
def test_posted_comment_names_no_sender_address(name, expected):
    """The comment attributes by display name or domain; the sender's address is not in it."""
    [decision] = plan(fixture(name), ROUTES).decisions
    assert decision.draft is not None
    assert decision.draft.body.startswith(expected)
    assert "@allowed.org" not in decision.draft.body.lower()


@pytest.mark.parametrize(
    ("dmarc", "action", "reason"),
    [("PASS", "comment", "accepted"), ("FAIL", "reject", "not-authenticated")],
)
def test_old_format_block_is_decided_by_the_events_dmarc_verdict(dmarc, action, reason):
    """Without SES's Authentication-Results the Lambda event's DMARC verdict decides."""
    record = event_record(dmarcVerdict=dmarc)
    [decision] = plan(fixture("old-format-aligned-spf-only"), ROUTES, ses_record=record).decisions
    assert (decision.action, decision.reason) == (action, reason)


def test_event_verdicts_do_not_rescue_a_forged_from():
    """SES's event agrees with the stored block: a DMARC fail there rejects the forged From."""
    record = event_record(dmarcVerdict="FAIL", dkimVerdict="GRAY")
    [decision] = plan(fixture("forged-ar-below-block"), ROUTES, ses_record=record).decisions
    assert (decision.action, decision.reason) == ("reject", "not-authenticated")
    assert decision.detail.startswith("DMARC fail for allowed.org")


SMUGGLED = [
    row[0] for row in REJECTED if row[0].startswith(("helo-", "envelope-", "dkim-", "dmarc-"))
]


@pytest.mark.parametrize("name", SMUGGLED)
def test_event_verdicts_do_not_combine_with_smuggled_results(name):
    """SES's event (DKIM and SPF passed for somebody, no DMARC policy) and the domains smuggled
    into the stored block never add up to the forged From's authentication."""
    record = event_record(dkimVerdict="PASS", spfVerdict="PASS", dmarcVerdict="GRAY")
    [decision] = plan(fixture(name), ROUTES, ses_record=record).decisions
    assert (decision.action, decision.reason) == ("reject", "not-authenticated")
