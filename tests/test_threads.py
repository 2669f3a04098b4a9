"""The thread map: which issue a reply to a mail that opened one belongs to."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from handler.aws.threads import DynamoThreads
from handler.inbound.mail import parse_mail
from handler.inbound.threads import (
    MAX_REFERENCES,
    NoThreads,
    ThreadStoreError,
    confirmation_id,
    thread_ids,
)
from tests.dynamo import CLAIMS_TABLE, dynamodb  # noqa: F401 - the fixture

NOW = 1_795_400_000.0


def message(**headers: str) -> bytes:
    lines = [
        "From: Alice <alice@example.com>",
        "To: new@issues.example.com",
        "Subject: x",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\nbody\r\n").encode()


def test_in_reply_to_first_then_references_newest_first():
    raw = message(
        Message_ID="<own@example.com>",
        In_Reply_To="<c@x>",
        References="<a@x> <b@x>\r\n <c@x>",
    )
    assert thread_ids(parse_mail(raw)) == ("c@x", "b@x", "a@x")


def test_the_mails_own_id_and_junk_are_not_references():
    raw = message(
        Message_ID="<own@example.com>",
        In_Reply_To="Alice's message of Monday <a@x>",
        References="<own@example.com> not-an-id <b@x> <>",
    )
    assert thread_ids(parse_mail(raw)) == ("a@x", "b@x")


def test_a_mail_that_answers_nothing_has_no_thread():
    assert thread_ids(parse_mail(message(Message_ID="<own@example.com>"))) == ()


def test_of_a_long_thread_the_newest_and_the_root_are_kept():
    """The root (References' first id) is the mail that opened the issue: never dropped."""
    ids = " ".join(f"<m{n}@x>" for n in range(50))
    assert thread_ids(parse_mail(message(References=ids))) == (
        *(f"m{n}@x" for n in range(49, 50 - MAX_REFERENCES, -1)),
        "m0@x",
    )


def test_the_confirmation_id_is_fixed_by_the_mail_and_domain():
    assert confirmation_id("0" * 32, "issues.example.com") == (
        f"opened.{'0' * 32}@issues.example.com"
    )


def test_no_threads_knows_nothing():
    threads = NoThreads()
    threads.remember("o/r", ["a@x"], 4)
    assert threads.find("o/r", ["a@x"]) is None


def test_remembered_ids_find_their_issue_per_repository(dynamodb):  # noqa: F811
    threads = DynamoThreads(dynamodb, CLAIMS_TABLE, expires_after_seconds=86400, clock=lambda: NOW)
    threads.remember("Example-Org/App", ["orig@example.com", "conf@issues.example.com"], 12)
    assert threads.find("example-org/app", ["unknown@x", "conf@issues.example.com"]) == 12
    assert threads.find("example-org/app", ["orig@example.com"]) == 12
    assert threads.find("example-org/other", ["orig@example.com"]) is None
    assert threads.find("example-org/app", []) is None


def test_the_newest_known_reference_wins(dynamodb):  # noqa: F811
    threads = DynamoThreads(dynamodb, CLAIMS_TABLE, expires_after_seconds=60, clock=lambda: NOW)
    threads.remember("o/r", ["old@x"], 1)
    threads.remember("o/r", ["new@x"], 2)
    assert threads.find("o/r", ["new@x", "old@x"]) == 2


def test_entries_hold_no_message_id_and_expire_with_the_claims(dynamodb):  # noqa: F811
    threads = DynamoThreads(dynamodb, CLAIMS_TABLE, expires_after_seconds=600, clock=lambda: NOW)
    threads.remember("o/r", ["secret-looking-id@example.com"], 3)
    [item] = dynamodb.scan(TableName=CLAIMS_TABLE)["Items"]
    assert item["id"]["S"].startswith("thread#o/r#")
    assert "secret-looking-id" not in str(item)
    assert item["issue"] == {"N": "3"}
    assert item["expiration"] == {"N": str(int(NOW) + 600)}


class Broken:
    def get_item(self, **kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem")

    def put_item(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutItem")


def test_store_failures_are_thread_store_errors_naming_the_code():
    threads = DynamoThreads(Broken(), CLAIMS_TABLE, expires_after_seconds=60)
    with pytest.raises(ThreadStoreError, match=r"^cannot read the thread map \(Provisioned"):
        threads.find("o/r", ["a@x"])
    with pytest.raises(ThreadStoreError, match=r"^cannot write the thread map \(AccessDenied"):
        threads.remember("o/r", ["a@x"], 1)
