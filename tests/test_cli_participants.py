"""``ticket-router participants owner/repo#45``: who an issue's mail reaches, read from the
claims table on moto, never with a whole address in the output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handler.aws.participants import DynamoParticipants, DynamoSuppressions
from handler.cli import main
from handler.outbound.participants import Participant, address_digest
from tests.dynamo import CLAIMS_TABLE

REPO = "example-org/website"
ALICE = "alice.moreau@example.com"
BOB = "bob@example.com"
CAROL = "Carol@Example.org"
DAVE = "dave@example.net"
# 2026-11-23T09:13:51Z and the hours after it.
T0 = 1795425231
EVERYONE = (ALICE, BOB, CAROL, DAVE)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["participants", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def person(address: str, message_id: str | None, copied_by: str = "") -> Participant:
    return Participant(address, "issues.example.com", "web-", message_id, "Printer", copied_by)


@pytest.fixture
def conversation(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """#45 as the functions leave it: Alice wrote and copied Bob, who has not had an update
    yet; Carol wrote and bounced; Dave wrote and unsubscribed."""
    monkeypatch.setenv("IDEMPOTENCY_TABLE", CLAIMS_TABLE)
    store = DynamoParticipants(dynamodb, CLAIMS_TABLE, clock=lambda: T0 + 86400)
    store.add(REPO, 45, person(ALICE, "a1@mail.example.com"), T0)
    store.add_copied(REPO, 45, person(BOB, None, copied_by="Alice Moreau"), T0)
    store.add(REPO, 45, person(CAROL, "c1@mail.example.org"), T0 + 3600)
    store.add(REPO, 45, person(DAVE, "d1@mail.example.net"), T0 + 7200)
    store.remove(REPO, 45, address_digest(DAVE), T0 + 10800)
    DynamoSuppressions(dynamodb, CLAIMS_TABLE).suppress(CAROL, "bounce")


def assert_no_address(*texts: str) -> None:
    for text in texts:
        for address in EVERYONE:
            assert address.lower() not in text.lower()
            assert address.partition("@")[0].lower() not in text.lower()


def test_lists_each_participant_with_state_and_how_they_joined(capsys, conversation):
    """One line each: state, masked address, digest, how they joined and their latest mail;
    the one who left by digest and when only."""
    status, out, err = run(capsys, f"{REPO}#45")
    assert status == 0
    assert out.splitlines() == [
        f"subscribed    a…@example.com  {address_digest(ALICE)}  wrote or told  "
        "latest mail 2026-11-23T09:13:51Z",
        f"subscribed    b…@example.com  {address_digest(BOB)}  "
        "copied by Alice Moreau, not yet told  latest mail 2026-11-23T09:13:51Z",
        f"suppressed    C…@Example.org  {address_digest(CAROL)}  wrote or told  "
        "latest mail 2026-11-23T10:13:51Z",
        f"unsubscribed  -  {address_digest(DAVE)}  left 2026-11-23T12:13:51Z",
    ]
    assert err == f"4 participant(s) of {REPO}#45, those who left included\n"
    assert_no_address(out, err)


def test_json_for_scripts(capsys, conversation):
    """--json: one object per participant with the same facts."""
    status, out, _ = run(capsys, f"{REPO}#45", "--json")
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(row["state"], row["digest"]) for row in rows] == [
        ("subscribed", address_digest(ALICE)),
        ("subscribed", address_digest(BOB)),
        ("suppressed", address_digest(CAROL)),
        ("unsubscribed", address_digest(DAVE)),
    ]
    assert rows[1] == {
        "state": "subscribed",
        "address": "b…@example.com",
        "digest": address_digest(BOB),
        "copied_by": "Alice Moreau",
        "latest_mail": "2026-11-23T09:13:51Z",
        "left": None,
        "suppressed": False,
    }
    assert rows[3]["address"] is None
    assert rows[3]["left"] == "2026-11-23T12:13:51Z"
    assert_no_address(out)


@pytest.mark.parametrize(
    ("address", "state"),
    [
        (ALICE.upper(), "subscribed"),
        (CAROL, "suppressed"),
        (DAVE, "unsubscribed"),
        ("erin@example.com", "not-a-participant"),
    ],
)
def test_the_state_of_one_address(capsys, conversation, address, state):
    """--address says the state of that one address, in any case, without showing it whole."""
    status, out, _ = run(capsys, f"{REPO}#45", "--address", address, "--json")
    assert status == 0
    [row] = [json.loads(line) for line in out.splitlines()]
    assert (row["state"], row["digest"]) == (state, address_digest(address))
    assert_no_address(out)
    assert "erin" not in out


def test_a_suppressed_address_that_is_no_participant_says_so(capsys, conversation, dynamodb):
    """An address suppressed for every issue, but not the issue's: not a participant, and no
    mail would reach it."""
    DynamoSuppressions(dynamodb, CLAIMS_TABLE).suppress("erin@example.com", "complaint")
    status, out, _ = run(capsys, f"{REPO}#45", "--address", "erin@example.com")
    assert status == 0
    assert out == (
        f"not-a-participant  e…@example.com  {address_digest('erin@example.com')}  "
        "suppressed for every issue\n"
    )


def test_an_issue_nobody_wrote_to_lists_nobody(capsys, conversation):
    """An issue without participants: no lines, and the count says 0."""
    status, out, err = run(capsys, f"{REPO}#46")
    assert (status, out) == (0, "")
    assert err == f"0 participant(s) of {REPO}#46, those who left included\n"


def test_a_copied_colleague_once_told_shows_as_joined(capsys, conversation, dynamodb):
    """After Bob's first update told him why he gets it, he is no longer "not yet told"."""
    DynamoParticipants(dynamodb, CLAIMS_TABLE).introduced(REPO, 45, address_digest(BOB))
    status, out, _ = run(capsys, f"{REPO}#45", "--address", BOB)
    assert status == 0
    assert "not yet told" not in out


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["example-org/website"], "'example-org/website' is not owner/repo#number"),
        (["example-org/website#0"], "'example-org/website#0' is not owner/repo#number"),
        (["website#45"], "'website#45' is not owner/repo#number"),
        ([f"{REPO}#99999999999"], f"'{REPO}#99999999999' is not owner/repo#number"),
        ([ALICE], "'a…@example.com' is not owner/repo#number"),
        ([f"{REPO}#45", "--address", "alice"], "--address 'a…' is not an address"),
        ([f"{REPO}#45", "--address", "a b@x.org"], "--address 'a…@x.org' is not an address"),
        ([f"{REPO}#45", "--table", "no-such-table"], "cannot read the participants"),
    ],
    ids=["no-number", "zero", "no-owner", "too-large", "an-address", "no-at", "space", "no-table"],
)
def test_what_cannot_run_is_one_line_and_exit_2(capsys, conversation, argv, problem):
    """A bad argument or an unreadable table: one line on stderr, nothing on stdout, exit 2."""
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith(f"ticket-router participants: error: {problem}")
    assert err.count("\n") == 1
    assert_no_address(err)


def test_without_a_table_it_says_where_to_find_one(capsys, monkeypatch):
    """No --table and no IDEMPOTENCY_TABLE: exit 2, naming both and the Terraform output."""
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    status, out, err = run(capsys, f"{REPO}#45")
    assert (status, out) == (2, "")
    assert err == (
        "ticket-router participants: error: no table: give --table or set IDEMPOTENCY_TABLE "
        "(terraform output -raw idempotency_table)\n"
    )


def test_a_hostile_display_name_stays_on_its_line_and_shows_no_address(capsys, dynamodb):
    """A copier's display name with a terminal escape, a newline and an address prints on one
    line, escape gone, address masked."""
    store = DynamoParticipants(dynamodb, CLAIMS_TABLE)
    name = "Mallory\x1b[2J\nmallory@evil.example"
    store.add_copied(REPO, 45, person(BOB, None, copied_by=name), T0)
    status, out, _ = run(capsys, f"{REPO}#45", "--table", CLAIMS_TABLE)
    assert status == 0
    [line] = out.splitlines()
    assert "copied by Mallory [2J m…@evil.example, not yet told" in line
    assert "\x1b" not in out
