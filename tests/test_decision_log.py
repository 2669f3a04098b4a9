"""The decision log: what is recorded of each decision, how a mail's decisions are found again,
and `ticket-router why` and `decisions` against moto's DynamoDB."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler.aws.decision_log import (
    HASH_KEY,
    INDEXES,
    RANGE_KEY,
    TTL_ATTRIBUTE,
    DynamoDecisionLog,
    from_item,
    to_item,
)
from handler.aws.decision_search import DecisionSearch
from handler.aws.store import StoreError
from handler.cli import main
from handler.deadline import Deadline
from handler.github.posts import PostedComment
from handler.inbound.plan import Decision, plan
from handler.reasons import Reason
from handler.routing import load_routes
from handler.service.decision_log import (
    NO_FACTS,
    DecisionLogError,
    DecisionRecord,
    Filters,
    MailFacts,
    MailQuery,
    Where,
    days_back,
    describe,
    mail_facts,
    mail_query,
    message_digest,
    parse_since,
    record_of,
    retention_days,
    summary,
)
from handler.service.events import MailRef
from handler.service.inbound import Receiver, Runtime, handle_event
from tests.conftest import TESTS
from tests.dynamo import DECISION_TABLE, create_decision_table
from tests.fakegithub import FakeGitHub
from tests.sesmail import ses_mail
from tests.test_terraform import MODULES_BY_NAME, resource, unquote

REGION = "eu-west-1"
ROUTES = load_routes(TESTS / "lambda" / "routes.yaml")
# 2026-09-21T14:13:20Z.
NOW = 1_790_000_000.0
URL = "https://github.com/example-org/app/issues/7#issuecomment-99"
# SHA-256 of "m1@example.com", the Message-ID of tests.sesmail's mails.
M1 = "15518b10f6c5d78571e376bba50af9a8"
# A mail from example.org, authenticated, with that Message-ID.
FACTS = MailFacts("example.org", True, M1)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's DynamoDB with the decision table, and the CLI's environment pointing at it."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DECISION_TABLE", DECISION_TABLE)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_decision_table(client)
        yield client


def decided(
    reason: Reason = Reason.INVALID_ISSUE_NUMBER,
    *,
    at: float = NOW,
    key: str = "inbound/abc",
    facts: MailFacts = FACTS,
    route: str | None = "issues.example.com",
    index: int = 0,
    **decision: Any,
) -> DecisionRecord:
    fields: dict[str, Any] = {
        "recipient": "x7@issues.example.com",
        "action": "reject",
        "reason": reason,
        "detail": "x7 is not an issue number",
    } | decision
    return record_of(
        Decision(**fields),
        route=route,
        facts=facts,
        where=Where("mail", key, key.rpartition("/")[2]),
        at=at,
        index=index,
    )


# The record: what is kept of a decision.


@pytest.mark.parametrize(
    "pasted",
    [
        "<m1@example.com>",
        "m1@example.com",
        "M1@Example.COM",
        " <m1@example.com>\n",
        "Message-ID: <m1@example.com>",
        "message-id:m1@example.com",
    ],
)
def test_the_message_id_digest_is_the_same_however_the_id_is_pasted(pasted: str):
    """Angle brackets, whitespace, case and the field's name make no difference."""
    assert message_digest(pasted) == M1
    assert hashlib.sha256(b"m1@example.com").hexdigest()[:32] == M1


@pytest.mark.parametrize("pasted", ["", "   ", "<>", "Message-ID:"])
def test_an_empty_message_id_has_no_digest(pasted: str):
    """Nothing to digest: no digest, so that no two id-less mails look alike."""
    assert message_digest(pasted) is None


def test_a_record_keeps_the_decision_and_masks_every_address():
    """Route, reason, target and where the mail is; the detail's addresses masked."""
    record = record_of(
        Decision(
            "7@Issues.Example.com",
            "reject",
            Reason.SENDER_NOT_ALLOWED,
            "alice@example.org may not post to example-org/app (allowed: example.com)",
            "example-org/app",
            7,
            mail="f" * 32,
        ),
        route="issues.example.com",
        facts=MailFacts("example.org", True, M1),
        where=Where("mail", "inbound/abc", "abc"),
        at=NOW,
        index=0,
    )
    digest = hashlib.sha256(f"mail\ninbound/abc\n7@Issues.Example.com\n0\n{NOW!r}".encode())
    assert record == DecisionRecord(
        at=NOW,
        id=f"2026-09-21T14:13:20.000000Z#{digest.hexdigest()[:12]}",
        route="issues.example.com",
        reason="sender-not-allowed",
        action="reject",
        detail="a…@example.org may not post to example-org/app (allowed: example.com)",
        recipient_domain="issues.example.com",
        sender_domain="example.org",
        sender_authenticated=True,
        message_digest=M1,
        mail="f" * 32,
        s3_bucket="mail",
        s3_key="inbound/abc",
        ses_message_id="abc",
        repo="example-org/app",
        issue=7,
        url=None,
        retryable=False,
    )
    assert (record.day, record.object_name) == ("2026-09-21", "abc")


def test_a_long_detail_is_cut():
    """A hostile header quoted in a detail cannot fill the table."""
    record = decided(detail="x" * 5000)
    assert record.detail == "x" * 1000


def test_two_decisions_of_one_mail_at_one_time_are_two_records():
    """Each recipient's decision gets its own id, ordered by time first."""
    first = decided(index=0, recipient="7@issues.example.com")
    second = decided(index=1, recipient="8@issues.example.com")
    assert first.id != second.id
    assert first.id[:27] == second.id[:27] == "2026-09-21T14:13:20.000000Z"


def test_a_decision_without_a_recipient_names_no_domain():
    """A mail that could not be read has no recipient, and its record no recipient domain."""
    record = decided(Reason.MAIL_NOT_FOUND, recipient="", facts=NO_FACTS, route=None)
    assert (record.recipient_domain, record.sender_domain, record.message_digest) == (
        None,
        None,
        None,
    )


def test_the_facts_of_an_authenticated_mail():
    """From's domain, SES's verdict on it, and the Message-ID's digest."""
    facts = mail_facts(plan(ses_mail(), ROUTES))
    assert facts == MailFacts("example.com", True, M1)


def test_the_facts_of_a_mail_ses_did_not_authenticate():
    """The domain is kept, and that nothing vouched for it."""
    raw = ses_mail(dkim="fail", spf="fail", dmarc="fail", from_="Eve <eve@Example.COM>")
    assert mail_facts(plan(raw, ROUTES)) == MailFacts("example.com", False, M1)


def test_the_facts_of_a_mail_without_from_or_message_id():
    """Nothing to keep: no domain, no digest."""
    raw = b"To: 7@issues.example.com\r\nSubject: x\r\n\r\nbody\r\n"
    assert mail_facts(plan(raw, ROUTES)) == MailFacts(None, False, None)


# --since, retention, filters, what `why` searches.


@pytest.mark.parametrize(
    ("text", "since"),
    [
        ("90m", NOW - 5400),
        ("24h", NOW - 86400),
        ("7d", NOW - 7 * 86400),
        ("0m", NOW),
        ("2026-09-20", datetime(2026, 9, 20, tzinfo=UTC).timestamp()),
        ("2026-09-21T09:30Z", datetime(2026, 9, 21, 9, 30, tzinfo=UTC).timestamp()),
        ("2026-09-21T10:30+01:00", datetime(2026, 9, 21, 9, 30, tzinfo=UTC).timestamp()),
        ("2026-09-21 09:30:15", datetime(2026, 9, 21, 9, 30, 15, tzinfo=UTC).timestamp()),
    ],
)
def test_since_takes_durations_and_iso_times(text: str, since: float):
    """A duration counts back from now; an ISO time without a zone is UTC."""
    assert parse_since(text, NOW) == since


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "yesterday",
            "--since 'yesterday' is neither a duration (90m, 24h, 7d) nor an ISO time "
            "(2026-12-06 or 2026-12-06T09:30Z)",
        ),
        (
            "2w",
            "--since '2w' is neither a duration (90m, 24h, 7d) nor an ISO time "
            "(2026-12-06 or 2026-12-06T09:30Z)",
        ),
        ("2026-09-22", "--since '2026-09-22' is in the future"),
        ("3651d", "--since '3651d' is more than 3650 days ago, longer than any record is kept"),
    ],
)
def test_since_refuses_what_it_cannot_read(text: str, problem: str):
    """Each bad value says what is wrong with it."""
    with pytest.raises(ValueError, match=f"^{re.escape(problem)}$"):
        parse_since(text, NOW)


def test_the_days_read_are_newest_first_down_to_since():
    """Every UTC day the time span touches, one partition each."""
    since = datetime(2026, 9, 19, 23, 0, tzinfo=UTC).timestamp()
    assert list(days_back(since, NOW)) == ["2026-09-21", "2026-09-20", "2026-09-19"]
    assert list(days_back(NOW - 60, NOW)) == ["2026-09-21"]


@pytest.mark.parametrize(("text", "days"), [(None, 30), ("", 30), ("7", 7), ("3650", 3650)])
def test_retention_is_whole_days(text: str | None, days: int):
    """DECISION_RETENTION_DAYS, 30 when unset."""
    assert retention_days(text) == days


@pytest.mark.parametrize("text", ["0", "3651", "7.5", "-1", "a week"])
def test_retention_outside_its_bounds_is_refused(text: str):
    """Terraform's bounds, with the value named."""
    problem = f"DECISION_RETENTION_DAYS must be whole days from 1 to 3650, not {text!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(problem)}$"):
        retention_days(text)


def test_filters_combine():
    """Route, reason and sender domain must all match those given."""
    record = decided()
    assert Filters().keep(record)
    assert Filters("issues.example.com", "invalid-issue-number", "example.org").keep(record)
    assert not Filters(route="web-@issues.example.com").keep(record)
    assert not Filters(reason="no-route").keep(record)
    assert not Filters(sender_domain="example.com").keep(record)


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("s3://mail/inbound/abc", MailQuery(None, "abc", s3_key="inbound/abc", s3_bucket="mail")),
        ("inbound/abc", MailQuery(message_digest("inbound/abc"), "abc", s3_key="inbound/abc")),
        ("o3vrnil0e2ic28tr", MailQuery(message_digest("o3vrnil0e2ic28tr"), "o3vrnil0e2ic28tr")),
        ("<m1@example.com>", MailQuery(M1, None)),
        ("m1@example.com", MailQuery(M1, None)),
    ],
)
def test_what_why_searches_for(text: str, query: MailQuery):
    """An S3 location by its object; a Message-ID by its digest; a bare word as either."""
    assert mail_query(text) == query


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "'' names no mail"),
        ("s3://mail", "'s3://mail' is not s3://BUCKET/KEY"),
        ("s3:///inbound/abc", "'s3:///inbound/abc' is not s3://BUCKET/KEY"),
        ("s3://mail/inbound/", "'s3://mail/inbound/' is not s3://BUCKET/KEY"),
        ("inbound/", "'inbound/' names no stored mail"),
    ],
)
def test_why_refuses_text_that_names_no_mail(text: str, problem: str):
    """Each says what is wrong."""
    with pytest.raises(ValueError, match=f"^{re.escape(problem)}$"):
        mail_query(text)


def test_what_was_searched_is_said():
    """The line for nothing found names what was looked for."""
    assert mail_query("s3://mail/inbound/abc").searched == "S3 key s3://mail/inbound/abc"
    assert mail_query("abc").searched == (
        f"Message-ID digest {message_digest('abc')} and SES message id abc"
    )
    assert mail_query("inbound/abc").searched == (
        f"Message-ID digest {message_digest('inbound/abc')} and S3 key inbound/abc"
    )
    assert mail_query("<m1@example.com>").searched == f"Message-ID digest {M1}"


def test_why_prints_a_block_per_decision():
    """Time, route, reason and outcome; the detail; the issue; sender and recipient domains;
    where the mail is."""
    posted = decided(
        Reason.POSTED,
        action="comment",
        detail="posted to example-org/app#7",
        repo="example-org/app",
        issue=7,
        url=URL,
    )
    assert describe(posted) == [
        "2026-09-21T14:13:20.000000Z  issues.example.com  posted (comment)",
        "    detail: posted to example-org/app#7",
        f"    issue: example-org/app#7 {URL}",
        "    from: example.org (authenticated)  to: issues.example.com",
        "    mail: s3://mail/inbound/abc",
    ]
    failed = decided(
        Reason.MAIL_NOT_FOUND, recipient="", facts=NO_FACTS, route=None, retryable=True
    )
    assert describe(failed) == [
        "2026-09-21T14:13:20.000000Z  (no route)  mail-not-found (retryable)",
        "    detail: x7 is not an issue number",
        "    from: (unknown) (not authenticated)  to: (none)",
        "    mail: s3://mail/inbound/abc",
    ]


def test_decisions_prints_a_line_per_decision():
    """One line: time, reason, route, sender domain, issue, key."""
    assert summary(decided(repo="example-org/app", issue=7)) == (
        "2026-09-21T14:13:20.000000Z  invalid-issue-number  route=issues.example.com  "
        "from=example.org  issue=example-org/app#7  key=inbound/abc"
    )
    assert summary(decided(Reason.GITHUB_UNAVAILABLE, retryable=True, route=None)) == (
        "2026-09-21T14:13:20.000000Z  github-unavailable (retryable)  route=-  "
        "from=example.org  issue=-  key=inbound/abc"
    )


# The table: the layout Terraform declares, and records in and out.


def test_the_table_terraform_declares_is_the_one_the_code_uses():
    """Key, attributes, indexes and TTL of terraform/modules/decision_log are the adapter's."""
    table = resource(MODULES_BY_NAME["decision_log"], "aws_dynamodb_table", "this")
    assert (unquote(table["hash_key"]), unquote(table["range_key"])) == (HASH_KEY, RANGE_KEY)
    attributes = {unquote(a["name"]): unquote(a["type"]) for a in table["attribute"]}
    assert attributes == dict.fromkeys({HASH_KEY, RANGE_KEY, *INDEXES.values()}, "S")
    indexes = {
        unquote(index["name"]): (
            unquote(index["hash_key"]),
            unquote(index["range_key"]),
            unquote(index["projection_type"]),
        )
        for index in table["global_secondary_index"]
    }
    assert indexes == {name: (key, RANGE_KEY, "ALL") for name, key in INDEXES.items()}
    [ttl] = table["ttl"]
    assert (unquote(ttl["attribute_name"]), ttl["enabled"]) == (TTL_ATTRIBUTE, True)
    assert unquote(table["billing_mode"]) == "PAY_PER_REQUEST"
    [recovery] = table["point_in_time_recovery"]
    assert recovery["enabled"] is True


def test_the_root_wires_the_table_to_the_function():
    """The function gets the table's name, ARN and the retention; the root names the output."""
    from tests.test_terraform import TERRAFORM, modules_called, root_outputs, variables  # noqa: PLC0415

    calls = modules_called(TERRAFORM)
    assert unquote(calls["decision_log"]["name"]) == "${var.name}-decisions"
    function = calls["function"]
    assert unquote(function["decision_table_name"]) == "module.decision_log.table_name"
    assert unquote(function["decision_table_arn"]) == "module.decision_log.table_arn"
    assert unquote(function["decision_retention_days"]) == "var.decision_log_retention_days"
    assert variables(TERRAFORM)["decision_log_retention_days"]["default"] == 30
    output = root_outputs()["decision_table_name"]
    assert unquote(output["value"]) == "module.decision_log.table_name"


def test_a_record_is_put_as_an_item_with_its_expiry(table):
    """Every value that is there, none that is not; it expires after the retention."""
    record = decided(repo="example-org/app", issue=7)
    DynamoDecisionLog(table, DECISION_TABLE, retention_days=30).record([record])
    [item] = table.scan(TableName=DECISION_TABLE)["Items"]
    assert item == {
        "day": {"S": "day#2026-09-21"},
        "id": {"S": record.id},
        "at": {"N": "1790000000.000000"},
        "time": {"S": "2026-09-21T14:13:20.000000Z"},
        "expires": {"N": str(int(NOW) + 30 * 86400)},
        "route": {"S": "issues.example.com"},
        "reason": {"S": "invalid-issue-number"},
        "action": {"S": "reject"},
        "detail": {"S": "x7 is not an issue number"},
        "recipient_domain": {"S": "issues.example.com"},
        "sender_domain": {"S": "example.org"},
        "sender_authenticated": {"BOOL": True},
        "message_digest": {"S": M1},
        "object_name": {"S": "abc"},
        "s3_bucket": {"S": "mail"},
        "s3_key": {"S": "inbound/abc"},
        "ses_message_id": {"S": "abc"},
        "repo": {"S": "example-org/app"},
        "issue": {"N": "7"},
        "retryable": {"BOOL": False},
    }
    assert from_item(item) == record


def test_a_record_of_an_unread_mail_leaves_its_absent_values_out():
    """No route, domains, digest, mail key or issue: no such attributes (an index key may not
    be empty), and reading it back gives the same record."""
    record = decided(Reason.MAIL_NOT_FOUND, recipient="", facts=NO_FACTS, route=None)
    item = to_item(record, expires=1)
    assert set(item) == {
        "day",
        "id",
        "at",
        "time",
        "expires",
        "reason",
        "action",
        "detail",
        "sender_authenticated",
        "object_name",
        "s3_bucket",
        "s3_key",
        "ses_message_id",
        "retryable",
    }
    assert from_item(item) == record


def test_a_record_that_cannot_be_written_says_why_in_one_line(table):
    """The error code and the table, nothing of the request."""
    log = DynamoDecisionLog(table, "missing", retention_days=30)
    with pytest.raises(DecisionLogError) as raised:
        log.record([decided()])
    assert raised.value.detail == (
        "cannot write to the decision table missing (ResourceNotFoundException)"
    )


def put(client: Any, *records: DecisionRecord) -> None:
    DynamoDecisionLog(client, DECISION_TABLE, retention_days=30).record(records)


def test_a_mail_is_found_by_message_id_ses_id_key_and_location(table):
    """Each way of naming the mail finds all of its records, oldest first, and no other's."""
    first = decided(Reason.GITHUB_UNAVAILABLE, at=NOW, retryable=True)
    second = decided(Reason.POSTED, at=NOW + 60, action="comment")
    other = decided(at=NOW + 30, key="inbound/def", facts=MailFacts("example.org", True, "0" * 32))
    put(table, second, other, first)
    search = DecisionSearch(table, DECISION_TABLE)
    for text in ["<m1@example.com>", "abc", "inbound/abc", "s3://mail/inbound/abc"]:
        assert search.for_mail(mail_query(text)) == [first, second], text
    assert search.for_mail(mail_query("s3://other/inbound/abc")) == []
    assert search.for_mail(mail_query("elsewhere/abc")) == []
    assert search.for_mail(mail_query("<m2@example.com>")) == []


def test_a_listing_is_newest_first_across_days_and_stops_at_since(table):
    """Each day's partition newest first, the days newest first, nothing before since."""
    records = [
        decided(at=NOW - 86400 - 120, key="inbound/old"),
        decided(at=NOW - 86400 + 60, key="inbound/a"),
        decided(at=NOW - 600, key="inbound/b"),
        decided(at=NOW - 60, key="inbound/c", route="web-@issues.example.com"),
    ]
    put(table, *records)
    search = DecisionSearch(table, DECISION_TABLE)
    listed = list(search.since(NOW - 86400, NOW, Filters()))
    assert [record.s3_key for record in listed] == ["inbound/c", "inbound/b", "inbound/a"]
    only = Filters(route="web-@issues.example.com")
    assert [r.s3_key for r in search.since(NOW - 86400, NOW, only)] == ["inbound/c"]


class Paged:
    """DynamoDB answering a query a page at a time, as it does past 1 MB."""

    def __init__(self, pages: list[list[DecisionRecord]]) -> None:
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        number = int(request.get("ExclusiveStartKey", {}).get("page", {}).get("N", "0"))
        page: dict[str, Any] = {"Items": [to_item(r, expires=1) for r in self.pages[number]]}
        if number + 1 < len(self.pages):
            page["LastEvaluatedKey"] = {"page": {"N": str(number + 1)}}
        return page


def test_a_listing_reads_every_page_of_a_day():
    """A day larger than one answer is read page after page, from where the last one ended."""
    records = [decided(at=NOW - index, key=f"inbound/{index}") for index in range(5)]
    client = Paged([records[:2], records[2:4], records[4:]])
    search = DecisionSearch(client, DECISION_TABLE)  # type: ignore[arg-type]
    assert list(search.since(NOW - 60, NOW, Filters())) == records
    assert [request.get("ExclusiveStartKey") for request in client.requests] == [
        None,
        {"page": {"N": "1"}},
        {"page": {"N": "2"}},
    ]
    assert client.requests[0] == {
        "TableName": DECISION_TABLE,
        "KeyConditionExpression": "#day = :day AND #id >= :start",
        "ExpressionAttributeNames": {"#day": "day", "#id": "id"},
        "ExpressionAttributeValues": {
            ":day": {"S": "day#2026-09-21"},
            ":start": {"S": "2026-09-21T14:12:20.000000Z"},
        },
        "ScanIndexForward": False,
    }


def test_a_table_that_is_not_there_is_named(table):
    """ResourceNotFound reads as the table missing in this account and region."""
    search = DecisionSearch(table, "missing")
    with pytest.raises(DecisionLogError) as raised:
        search.for_mail(mail_query("abc"))
    assert raised.value.detail == "no decision table missing in this account and region"


# The receiver: every decision recorded, none in a dry run, and a failing log changes nothing.


class Store:
    def __init__(self, mails: dict[str, bytes]) -> None:
        self.mails = mails

    def fetch(self, bucket: str, key: str) -> bytes:
        if key not in self.mails:
            raise StoreError(Reason.MAIL_NOT_FOUND, f"s3://{bucket}/{key} does not exist")
        return self.mails[key]


class Posting:
    def create_comment(
        self,
        repo: str,
        issue: int,
        body: str,
        *,
        since: float | None = None,
        posting: Any = None,
        finish: Any = None,
    ) -> PostedComment:
        return PostedComment(99, URL)


class Memory:
    """A decision log in a list."""

    def __init__(self) -> None:
        self.records: list[DecisionRecord] = []

    def record(self, records: Sequence[DecisionRecord]) -> None:
        self.records.extend(records)


class Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def record(self, records: Sequence[DecisionRecord]) -> None:
        raise self.error


def runtime(mails: dict[str, bytes], log: Any) -> Runtime:
    return Runtime(
        routes=ROUTES,
        store=Store(mails),
        github=lambda route, deadline: Posting(),  # type: ignore[arg-type,return-value]
        bucket="mail",
        prefix="inbound/",
        clock=lambda: NOW,
        decision_log=log,
    )


def receive(rt: Runtime, key: str, *, dry_run: bool = False) -> tuple[Decision, ...]:
    ref = MailRef("mail", key, message_id=key.rpartition("/")[2], received_at=NOW)
    return Receiver(rt, dry_run=dry_run).receive(ref, Deadline.within(60.0))


def test_every_decision_about_a_mail_is_recorded():
    """One record per recipient, with the route, the mail's facts and where it is stored."""
    log = Memory()
    raw = ses_mail(recipient="7@issues.example.com")
    decisions = receive(runtime({"inbound/abc": raw}, log), "inbound/abc")
    [posted] = decisions
    [record] = log.records
    assert record == record_of(
        posted,
        route="issues.example.com",
        facts=MailFacts("example.com", True, M1),
        where=Where("mail", "inbound/abc", "abc"),
        at=NOW,
        index=0,
    )
    assert (record.reason, record.repo, record.issue, record.url) == (
        "posted",
        "example-org/app",
        7,
        URL,
    )


def test_a_mail_that_cannot_be_read_is_recorded_by_its_key():
    """No facts of the mail, but where it should have been and why it was not read."""
    log = Memory()
    [decision] = receive(runtime({}, log), "inbound/gone")
    assert decision.reason == Reason.MAIL_NOT_FOUND
    [record] = log.records
    assert (record.reason, record.route, record.sender_domain, record.s3_key) == (
        "mail-not-found",
        None,
        None,
        "inbound/gone",
    )
    assert record.detail == "s3://mail/inbound/gone does not exist"


def test_a_mail_for_no_route_is_recorded_without_a_route():
    """The recipient's domain says where it was sent."""
    log = Memory()
    raw = ses_mail(recipient="7@elsewhere.example.net")
    [decision] = receive(runtime({"inbound/abc": raw}, log), "inbound/abc")
    [record] = log.records
    assert (record.reason, record.route, record.recipient_domain) == (
        decision.reason,
        None,
        "elsewhere.example.net",
    )


def test_a_dry_run_records_nothing():
    """Previewing a mail leaves no trace in the log."""
    log = Memory()
    receive(runtime({"inbound/abc": ses_mail()}, log), "inbound/abc", dry_run=True)
    assert log.records == []


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (
            DecisionLogError("cannot write to the decision table t (ThrottlingException)"),
            "cannot write to the decision table t (ThrottlingException)",
        ),
        (RuntimeError("the request quoted alice@example.org"), "RuntimeError"),
    ],
)
def test_a_log_that_cannot_be_written_changes_no_decision(error, problem, logged_records):
    """The failure is a WARNING naming the mail; the decision is what it would have been."""
    mails = {"inbound/abc": ses_mail()}
    expected = receive(runtime(mails, Memory()), "inbound/abc")
    assert receive(runtime(mails, Failing(error)), "inbound/abc") == expected
    [warning] = [r for r in logged_records.records if r.getMessage() == "decision log not written"]
    assert warning.levelname == "WARNING"
    assert (warning.s3_key, warning.ses_message_id, warning.error) == (  # type: ignore[attr-defined]
        "inbound/abc",
        "abc",
        problem,
    )


@pytest.fixture
def logged_records(logged: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    logged.set_level(logging.INFO, logger="ticket_router")
    return logged


def test_the_lambda_records_into_the_table_it_is_given(table):
    """handle_event with the DynamoDB log: the mail is found again by its Message-ID."""
    rt = runtime(
        {"inbound/abc": ses_mail()}, DynamoDecisionLog(table, DECISION_TABLE, retention_days=7)
    )
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventTime": "2026-09-21T14:13:18.000Z",
                "s3": {"bucket": {"name": "mail"}, "object": {"key": "inbound/abc"}},
            }
        ]
    }
    handle_event(event, rt, Deadline.within(60.0))
    [record] = DecisionSearch(table, DECISION_TABLE).for_mail(mail_query("<m1@example.com>"))
    assert (record.reason, record.route, record.s3_key, record.ses_message_id) == (
        "posted",
        "issues.example.com",
        "inbound/abc",
        # An S3 event names no SES message id; the object's name is SES's.
        None,
    )
    [item] = table.scan(TableName=DECISION_TABLE)["Items"]
    assert item["expires"] == {"N": str(int(NOW) + 7 * 86400)}


def test_the_lambda_reads_its_decision_table_from_the_environment(monkeypatch, table):
    """DECISION_TABLE and DECISION_RETENTION_DAYS, as Terraform sets them."""
    from handler import lambda_function  # noqa: PLC0415

    monkeypatch.setenv("DECISION_RETENTION_DAYS", "12")
    monkeypatch.setenv("ROUTES_FILE", str(TESTS / "lambda" / "routes.yaml"))
    lambda_function.runtime.cache_clear()
    try:
        log = lambda_function.runtime().decision_log
        assert isinstance(log, DynamoDecisionLog)
        log.record([decided()])
    finally:
        lambda_function.runtime.cache_clear()
    [item] = table.scan(TableName=DECISION_TABLE)["Items"]
    assert item["expires"] == {"N": str(int(NOW) + 12 * 86400)}
    monkeypatch.delenv("DECISION_TABLE")
    try:
        assert lambda_function.runtime().decision_log is None
    finally:
        lambda_function.runtime.cache_clear()


# The commands.


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_why_prints_every_decision_of_the_mail(table, capsys):
    """Oldest first, a block each, exit 0."""
    first = decided(Reason.GITHUB_UNAVAILABLE, at=NOW, retryable=True, detail="502")
    second = decided(
        Reason.POSTED,
        at=NOW + 60,
        action="comment",
        detail="posted to example-org/app#7",
        repo="example-org/app",
        issue=7,
        url=URL,
    )
    put(table, second, first)
    status, out, err = run(capsys, "why", "<m1@example.com>")
    assert (status, err) == (0, "")
    assert out == (
        "2026-09-21T14:13:20.000000Z  issues.example.com  github-unavailable (retryable)\n"
        "    detail: 502\n"
        "    from: example.org (authenticated)  to: issues.example.com\n"
        "    mail: s3://mail/inbound/abc\n"
        "\n"
        "2026-09-21T14:14:20.000000Z  issues.example.com  posted (comment)\n"
        "    detail: posted to example-org/app#7\n"
        f"    issue: example-org/app#7 {URL}\n"
        "    from: example.org (authenticated)  to: issues.example.com\n"
        "    mail: s3://mail/inbound/abc\n"
        "\n"
    )


def test_why_as_json(table, capsys):
    """One object per decision, the same fields as the record."""
    put(table, decided())
    status, out, _ = run(capsys, "why", "--json", "s3://mail/inbound/abc")
    assert status == 0
    [line] = [json.loads(text) for text in out.splitlines()]
    assert line == {
        "time": "2026-09-21T14:13:20.000000Z",
        "at": NOW,
        "route": "issues.example.com",
        "reason": "invalid-issue-number",
        "action": "reject",
        "detail": "x7 is not an issue number",
        "retryable": False,
        "repo": None,
        "issue": None,
        "url": None,
        "recipient_domain": "issues.example.com",
        "sender_domain": "example.org",
        "sender_authenticated": True,
        "message_id_digest": M1,
        "mail": None,
        "s3_bucket": "mail",
        "s3_key": "inbound/abc",
        "ses_message_id": "abc",
    }


def test_why_says_when_nothing_was_recorded(table, capsys):
    """Exit 1 and one line naming what was searched, in which table."""
    status, out, err = run(capsys, "why", "o3vrnil0e2ic28tr")
    digest = message_digest("o3vrnil0e2ic28tr")
    assert (status, out) == (1, "")
    assert err == (
        f"no decision recorded for o3vrnil0e2ic28tr in {DECISION_TABLE} "
        f"(searched: Message-ID digest {digest} and SES message id o3vrnil0e2ic28tr)\n"
    )


def test_why_without_a_table_cannot_run(monkeypatch, capsys):
    """Exit 2, one line saying where the table's name comes from."""
    monkeypatch.delenv("DECISION_TABLE", raising=False)
    assert run(capsys, "why", "abc") == (
        2,
        "",
        "ticket-router why: error: no decision table: give --decision-table or set "
        "DECISION_TABLE (terraform output -raw decision_table_name)\n",
    )


def test_why_without_a_region_cannot_run(monkeypatch, capsys):
    """Exit 2, one line."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert run(capsys, "why", "--decision-table", "t", "abc") == (
        2,
        "",
        "ticket-router why: error: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION\n",
    )


def test_why_with_a_table_that_is_not_there_cannot_run(table, capsys):
    """Exit 2, one line naming the table."""
    assert run(capsys, "why", "--decision-table", "missing", "abc") == (
        2,
        "",
        "ticket-router why: error: no decision table missing in this account and region\n",
    )


def test_why_refuses_what_names_no_mail(table, capsys):
    """Exit 2, one line."""
    assert run(capsys, "why", "s3://mail") == (
        2,
        "",
        "ticket-router why: error: 's3://mail' is not s3://BUCKET/KEY\n",
    )


def listing(now: float) -> list[DecisionRecord]:
    """Four decisions of the last two hours, and one of three days ago."""
    other = MailFacts("example.net", True, None)
    return [
        decided(at=now - 3 * 86400, key="inbound/old"),
        decided(Reason.SENDER_NOT_ALLOWED, at=now - 7000, key="inbound/a", facts=other),
        decided(
            Reason.POSTED, at=now - 3000, key="inbound/b", action="comment", repo="o/r", issue=5
        ),
        decided(at=now - 600, key="inbound/c", route="web-@issues.example.com"),
        decided(Reason.NO_ROUTE, at=now - 60, key="inbound/d", route=None, facts=other),
    ]


def keys(out: str) -> list[str]:
    return [line.rpartition("key=")[2] for line in out.splitlines()]


def test_decisions_lists_newest_first(table, capsys):
    """Since 24h by default: one line each, the count on stderr."""
    now = time.time()
    records = listing(now)
    put(table, *records)
    status, out, err = run(capsys, "decisions")
    assert status == 0
    assert out.splitlines() == [summary(record) for record in reversed(records[1:])]
    assert err.startswith("4 decision(s) since ")


@pytest.mark.parametrize(
    ("argv", "listed"),
    [
        (["--since", "90m"], ["inbound/d", "inbound/c", "inbound/b"]),
        (["--since", "7d"], ["inbound/d", "inbound/c", "inbound/b", "inbound/a", "inbound/old"]),
        (["--reason", "invalid-issue-number"], ["inbound/c"]),
        (["--route", "web-@issues.example.com"], ["inbound/c"]),
        (["--route", "issues.example.com"], ["inbound/b", "inbound/a"]),
        (["--domain", "Example.NET"], ["inbound/d", "inbound/a"]),
        (["--domain", "example.net", "--reason", "no-route"], ["inbound/d"]),
        (["--reason", "opened"], []),
    ],
)
def test_decisions_filters(table, capsys, argv: list[str], listed: list[str]):
    """Each filter keeps its own; together they all must match."""
    put(table, *listing(time.time()))
    status, out, _ = run(capsys, "decisions", *argv)
    assert (status, keys(out)) == (0, listed)


def test_decisions_stops_at_the_limit_and_says_so(table, capsys):
    """The newest N, and a line on stderr that there are more."""
    put(table, *listing(time.time()))
    status, out, err = run(capsys, "decisions", "--limit", "2")
    assert (status, keys(out)) == (0, ["inbound/d", "inbound/c"])
    assert err == (
        "more than 2 decisions: the newest 2 are shown "
        "(narrow --since or a filter, or raise --limit)\n"
    )


def test_decisions_as_json(table, capsys):
    """One object per line, with the record's fields."""
    put(table, *listing(time.time()))
    status, out, _ = run(capsys, "decisions", "--json", "--route", "web-@issues.example.com")
    [line] = [json.loads(text) for text in out.splitlines()]
    assert (status, line["s3_key"], line["reason"], line["message_id_digest"]) == (
        0,
        "inbound/c",
        "invalid-issue-number",
        M1,
    )


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (
            ["--reason", "no-such-reason"],
            "--reason 'no-such-reason' is not a reason code (docs/reasons.md)",
        ),
        (["--domain", "not a domain"], "--domain 'not a domain' is not a domain name"),
        (["--limit", "0"], "--limit must be at least 1, not 0"),
        (
            ["--since", "last week"],
            "--since 'last week' is neither a duration (90m, 24h, 7d) nor an ISO time "
            "(2026-12-06 or 2026-12-06T09:30Z)",
        ),
    ],
)
def test_decisions_refuses_bad_arguments(table, capsys, argv: list[str], problem: str):
    """Exit 2, one line."""
    assert run(capsys, "decisions", *argv) == (
        2,
        "",
        f"ticket-router decisions: error: {problem}\n",
    )


def test_decisions_without_a_table_cannot_run(monkeypatch, capsys):
    """Exit 2, one line."""
    monkeypatch.delenv("DECISION_TABLE", raising=False)
    assert run(capsys, "decisions", "--since", "1h") == (
        2,
        "",
        "ticket-router decisions: error: no decision table: give --decision-table or set "
        "DECISION_TABLE (terraform output -raw decision_table_name)\n",
    )


def test_decisions_with_a_table_that_is_not_there_cannot_run(table, capsys):
    """Exit 2, one line naming the table."""
    assert run(capsys, "decisions", "--decision-table", "missing") == (
        2,
        "",
        "ticket-router decisions: error: no decision table missing in this account and region\n",
    )


def test_a_replay_records_its_decisions_and_a_dry_run_none(table, monkeypatch, httpserver, capsys):
    """replay --decision-table: `why` shows what the replay decided; --dry-run adds nothing."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_replay")
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="mail", Key="inbound/abc", Body=ses_mail())
    FakeGitHub(httpserver).install()
    routes = str(TESTS / "lambda" / "routes.yaml")
    argv = ["replay", "--routes", routes, "--bucket", "mail", "--prefix", "inbound/"]
    assert main([*argv, "--decision-table", DECISION_TABLE, "abc"]) == 0
    assert main([*argv, "--dry-run", "abc"]) == 0
    capsys.readouterr()
    [record] = DecisionSearch(table, DECISION_TABLE).for_mail(mail_query("s3://mail/inbound/abc"))
    assert (record.reason, record.route, record.issue, record.ses_message_id) == (
        "posted",
        "issues.example.com",
        7,
        "abc",
    )
    assert (record.sender_domain, record.message_digest) == ("example.com", M1)
