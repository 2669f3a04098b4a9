"""Participants of an issue and suppressed addresses, in moto's DynamoDB claims table."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from handler.aws.participants import (
    AUTHORSHIP_TTL_SECONDS,
    PARTICIPANT_TTL_SECONDS,
    DynamoAuthors,
    DynamoParticipants,
    DynamoSuppressions,
)
from handler.outbound.participants import (
    Authorship,
    Conversation,
    Departure,
    Participant,
    ParticipantStoreError,
    address_digest,
)
from tests.dynamo import CLAIMS_TABLE

NOW = 1_790_000_000

ALICE = Participant("Alice@Example.com", "issues.example.com", "web-", "a1@example.com", "Printer")
BOB = Participant("bob@example.org", "issues.example.com", "web-", None)


def store(client: Any, now: float = NOW + 1000) -> DynamoParticipants:
    return DynamoParticipants(client, CLAIMS_TABLE, clock=lambda: now)


def test_address_digest_ignores_case_and_hides_the_address():
    """The digest is the same for any case of the address and does not contain it."""
    digest = address_digest("Alice@Example.com")
    assert digest == address_digest("alice@example.com")
    assert len(digest) == 32
    assert "alice" not in digest


def test_participants_are_listed_in_the_order_they_joined(dynamodb):
    """Two senders of one issue come back as written, the earlier first."""
    store(dynamodb).add("Example-Org/Website", 45, ALICE, NOW)
    store(dynamodb).add("example-org/website", 45, BOB, NOW + 5)
    assert store(dynamodb).of("example-org/website", 45).participants == (ALICE, BOB)
    assert store(dynamodb).of("example-org/website", 46).participants == ()


def test_a_participant_writing_again_is_refreshed_not_repeated(dynamodb):
    """A second mail from the same address replaces their Message-ID, subject and expiry."""
    assert store(dynamodb).add("example-org/website", 45, ALICE, NOW) is True
    later = Participant("alice@example.com", "issues.example.com", "web-", "a2@example.com", "Re")
    assert store(dynamodb, NOW + 100).add("example-org/website", 45, later, NOW + 100) is True
    assert store(dynamodb).of("example-org/website", 45).participants == (later,)
    item = dynamodb.get_item(
        TableName=CLAIMS_TABLE, Key={"id": {"S": "participants#example-org/website#45"}}
    )["Item"]
    assert item["expiration"] == {"N": str(NOW + 100 + PARTICIPANT_TTL_SECONDS)}
    assert [name for name in item if name.startswith("p_")] == [
        "p_" + address_digest("alice@example.com")
    ]


def test_the_subject_is_kept_short(dynamodb):
    """A subject is stored up to 200 characters: enough to thread, not a payload."""
    long = Participant("alice@example.com", "issues.example.com", "web-", None, "x" * 5000)
    store(dynamodb).add("example-org/website", 45, long, NOW)
    assert store(dynamodb).of("example-org/website", 45).participants[0].subject == "x" * 200


def item(dynamodb: Any, issue: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = dynamodb.get_item(
        TableName=CLAIMS_TABLE, Key={"id": {"S": f"participants#example-org/website#{issue}"}}
    ).get("Item")
    return found


def test_remove_takes_one_participant_off_and_says_whether_there_was_one(dynamodb):
    """Removing by digest leaves the others and marks when; removing again, or from an issue
    they never wrote to, is False and writes nothing (no stranger can fill an item)."""
    store(dynamodb).add("example-org/website", 45, ALICE, NOW)
    store(dynamodb).add("example-org/website", 45, BOB, NOW)
    digest = address_digest("alice@example.com")
    assert store(dynamodb).remove("example-org/website", 45, digest, NOW + 10) is True
    assert store(dynamodb).of("example-org/website", 45).participants == (BOB,)
    assert item(dynamodb, 45)["u_" + digest] == {"N": str(NOW + 10)}
    before = item(dynamodb, 45)
    assert store(dynamodb).remove("example-org/website", 45, digest, NOW + 20) is False
    assert item(dynamodb, 45) == before
    assert store(dynamodb).remove("example-org/website", 99, digest, NOW) is False
    assert item(dynamodb, 99) is None


def test_an_unsubscribe_older_than_their_latest_mail_removes_nobody(dynamodb):
    """An unsubscribe mail retried after they wrote again leaves them a participant."""
    later = Participant("alice@example.com", "issues.example.com", "web-", "a2@example.com", "Re")
    store(dynamodb).add("example-org/website", 45, later, NOW + 100)
    digest = address_digest("alice@example.com")
    assert store(dynamodb).remove("example-org/website", 45, digest, NOW + 50) is False
    assert store(dynamodb).of("example-org/website", 45).participants == (later,)


def test_a_date_from_the_future_counts_as_now(dynamodb):
    """A sender's clock years ahead cannot freeze their entry: the time is capped at now."""
    store(dynamodb, NOW).add("example-org/website", 45, ALICE, NOW + 10**9)
    assert item(dynamodb, 45)["p_" + address_digest("alice@example.com")]["M"]["t"] == {
        "N": str(NOW)
    }


def test_an_older_mail_changes_nothing_newer(dynamodb):
    """A retried or replayed mail older than the latest one known leaves the newer Message-ID,
    subject and time in place."""
    newer = Participant("alice@example.com", "issues.example.com", "web-", "a2@example.com", "Re")
    assert store(dynamodb).add("example-org/website", 45, newer, NOW + 100) is True
    assert store(dynamodb).add("example-org/website", 45, ALICE, NOW) is False
    assert store(dynamodb).of("example-org/website", 45).participants == (newer,)


def test_a_mail_from_before_unsubscribing_does_not_subscribe_again(dynamodb):
    """Unsubscribed at NOW + 50: the mail of NOW (replayed) adds nobody, a mail written after
    leaving makes them a participant again."""
    store(dynamodb).add("example-org/website", 45, ALICE, NOW)
    digest = address_digest("alice@example.com")
    assert store(dynamodb).remove("example-org/website", 45, digest, NOW + 50) is True
    assert store(dynamodb).add("example-org/website", 45, ALICE, NOW) is False
    assert store(dynamodb).of("example-org/website", 45).participants == ()
    back = Participant("alice@example.com", "issues.example.com", "web-", "a3@example.com", "Hi")
    assert store(dynamodb).add("example-org/website", 45, back, NOW + 60) is True
    assert store(dynamodb).of("example-org/website", 45).participants == (back,)
    # Back in, the mark of leaving is gone: their latest mail orders what comes.
    assert "u_" + digest not in item(dynamodb, 45)


class Failing:
    """A DynamoDB client whose every call fails with ``code``."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __getattr__(self, name: str) -> Any:
        def fail(**_: Any) -> Any:
            raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, name)

        return fail


@pytest.mark.parametrize(
    ("code", "transient"),
    [("ProvisionedThroughputExceededException", True), ("ValidationException", False)],
)
def test_a_failing_store_says_whether_a_retry_can_help(code, transient):
    """Throttling is transient; an item grown past DynamoDB's size limit is not."""
    with pytest.raises(ParticipantStoreError) as caught:
        DynamoParticipants(Failing(code), CLAIMS_TABLE).add("o/r", 1, ALICE, NOW)
    assert caught.value.transient is transient
    assert code in str(caught.value)


def test_reading_or_removing_through_a_failing_store_raises():
    """A read or a removal that fails is an error, never an empty list or a False."""
    failing = DynamoParticipants(Failing("InternalServerError"), CLAIMS_TABLE)
    with pytest.raises(ParticipantStoreError, match="InternalServerError"):
        failing.of("o/r", 1)
    with pytest.raises(ParticipantStoreError, match="InternalServerError"):
        failing.remove("o/r", 1, "0" * 32, NOW)
    with pytest.raises(ParticipantStoreError, match="InternalServerError"):
        DynamoSuppressions(Failing("InternalServerError"), CLAIMS_TABLE).suppressed(["a@b.c"])


def test_suppressed_addresses_are_found_whatever_their_case(dynamodb):
    """A suppressed address is reported lowercased, others are not, and it never expires."""
    suppressions = DynamoSuppressions(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    suppressions.suppress("Bounced@Example.com", "bounce")
    assert suppressions.suppressed(["bounced@example.COM", "fine@example.com"]) == {
        "bounced@example.com"
    }
    item = dynamodb.get_item(
        TableName=CLAIMS_TABLE,
        Key={"id": {"S": "suppressed#" + address_digest("bounced@example.com")}},
    )["Item"]
    assert item == {
        "id": {"S": "suppressed#" + address_digest("bounced@example.com")},
        "reason": {"S": "bounce"},
        "at": {"N": str(NOW)},
    }


def test_the_first_mail_recorded_roots_the_thread(dynamodb):
    """The issue's root is the first recorded mail's Message-ID; later mails keep it."""
    store(dynamodb).add("example-org/website", 45, BOB, NOW)
    assert store(dynamodb).of("example-org/website", 45).root is None
    store(dynamodb).add("example-org/website", 45, ALICE, NOW + 1)
    later = Participant("bob@example.org", "issues.example.com", "web-", "b2@example.org", "Re")
    store(dynamodb).add("example-org/website", 45, later, NOW + 2)
    conversation = store(dynamodb).of("example-org/website", 45)
    assert conversation.root == "a1@example.com"
    assert conversation.participants == (ALICE, later)


COPIED = Participant(
    "carol@example.com", "issues.example.com", "web-", "a1@example.com", "Printer", "Alice"
)


def test_a_copied_colleague_joins_once_and_is_told_why_once(dynamodb):
    """add_copied adds them with who copied them; introduced clears it; a second copy changes
    nothing, nor does a copy of someone who is a participant by their own mail."""
    assert store(dynamodb).add_copied("example-org/website", 45, COPIED, NOW) is True
    assert store(dynamodb).of("example-org/website", 45).participants == (COPIED,)
    again = Participant("carol@example.com", "issues.example.com", "web-", "x@y", "Other", "Bob")
    assert store(dynamodb).add_copied("example-org/website", 45, again, NOW + 5) is False
    store(dynamodb).introduced("example-org/website", 45, address_digest("carol@example.com"))
    [told] = store(dynamodb).of("example-org/website", 45).participants
    assert told == Participant(
        "carol@example.com", "issues.example.com", "web-", "a1@example.com", "Printer"
    )
    store(dynamodb).add("example-org/website", 45, ALICE, NOW + 1)
    copied_alice = Participant(
        "alice@example.com", "issues.example.com", "web-", "z@z", "Z", "Carol"
    )
    assert store(dynamodb).add_copied("example-org/website", 45, copied_alice, NOW + 9) is False
    assert store(dynamodb).of("example-org/website", 45).participants == (told, ALICE)


def test_nobody_who_left_is_copied_back_in(dynamodb):
    """A participant who unsubscribed is not added again by someone else's copy, however late;
    their own mail brings them back."""
    store(dynamodb).add_copied("example-org/website", 45, COPIED, NOW)
    digest = address_digest("carol@example.com")
    assert store(dynamodb).remove("example-org/website", 45, digest, NOW + 10) is True
    assert store(dynamodb).add_copied("example-org/website", 45, COPIED, NOW + 500) is False
    conversation = store(dynamodb).of("example-org/website", 45)
    assert conversation.participants == ()
    assert conversation.left == (Departure(digest, NOW + 10),)
    own = Participant("carol@example.com", "issues.example.com", "web-", "c9@example.com", "Re")
    assert store(dynamodb).add("example-org/website", 45, own, NOW + 600) is True
    assert store(dynamodb).of("example-org/website", 45) == Conversation((own,), "a1@example.com")


def test_telling_someone_who_left_changes_nothing(dynamodb):
    """introduced on a participant who is gone writes nothing and does not fail."""
    store(dynamodb).introduced("example-org/website", 45, address_digest("nobody@example.com"))
    assert (
        dynamodb.get_item(
            TableName=CLAIMS_TABLE, Key={"id": {"S": "participants#example-org/website#45"}}
        ).get("Item")
        is None
    )


def test_authorship_is_kept_under_the_mail_key_for_thirty_days(dynamodb):
    """What record keeps, of reads back; an unknown key is None; the item expires."""
    authors = DynamoAuthors(dynamodb, CLAIMS_TABLE, clock=lambda: NOW)
    kept = Authorship("a" * 32, "Alice Moreau", ("b" * 32, "c" * 32))
    authors.record("f" * 32, kept)
    assert authors.of("f" * 32) == kept
    assert authors.of("e" * 32) is None
    authors.record("d" * 32, Authorship("a" * 32, "Alice Moreau"))
    assert authors.of("d" * 32) == Authorship("a" * 32, "Alice Moreau", ())
    item = dynamodb.get_item(TableName=CLAIMS_TABLE, Key={"id": {"S": "authored#" + "f" * 32}})
    assert item["Item"]["expiration"] == {"N": str(NOW + AUTHORSHIP_TTL_SECONDS)}


def test_authorship_through_a_failing_store_raises():
    """Neither a failed write nor a failed read passes for no authorship."""
    authors = DynamoAuthors(Failing("InternalServerError"), CLAIMS_TABLE)
    with pytest.raises(ParticipantStoreError, match="InternalServerError"):
        authors.record("f" * 32, Authorship("a" * 32, "A"))
    with pytest.raises(ParticipantStoreError, match="InternalServerError"):
        authors.of("f" * 32)
