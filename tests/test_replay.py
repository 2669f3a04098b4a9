"""Replay: stored mails by S3 key or from the failure queue, posted once however often replayed.

AWS is moto (S3, SQS, DynamoDB); GitHub is the stateful fake on 127.0.0.1 that keeps the
comments it accepts, so a duplicate would show as a second comment.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_httpserver import HTTPServer

from handler.aws.claims import DynamoClaims
from handler.aws.failure_queue import SqsFailureQueue
from handler.aws.s3 import MailStore
from handler.cli import main
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.posts import PostedComment
from handler.inbound.identity import claim_key, mail_key
from handler.inbound.mail import parse_mail
from handler.inbound.plan import plan
from handler.routing import load_routes
from handler.service.events import EventError
from handler.service.inbound import Receiver, Runtime
from handler.service.replay import key_ref, queued_event, replay_queue
from tests.conftest import TESTS
from tests.dynamo import create_claims_table
from tests.fakegithub import FakeGitHub
from tests.sesmail import ses_mail

REGION = "eu-west-1"
BUCKET = "mail"
TABLE = "claims"
ROUTES = str(TESTS / "lambda" / "routes.yaml")
# The SES message id of the mail in tests/events/lambdaDestinationFailure.json.
SES_ID = "o3vrnil0e2ic28tr"


class Crash(BaseException):
    """A process killed while holding a claim: no except clause runs."""


@pytest.fixture
def aws(monkeypatch, httpserver: HTTPServer):
    """A mail bucket, a claims table and a failure queue; the environment a replay reads."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("MAIL_BUCKET", BUCKET)
    monkeypatch.setenv("MAIL_PREFIX", "inbound/")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_replay")
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_claims_table(dynamodb, TABLE)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="ticket-router-failed")["QueueUrl"]
        yield {"s3": s3, "dynamodb": dynamodb, "sqs": sqs, "queue": queue}


@pytest.fixture
def github(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver).install()


def replay(capsys, *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    status = main(["replay", "--json", "--routes", ROUTES, *argv])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def failure_record(**changes: Any) -> dict[str, Any]:
    record = json.loads((TESTS / "events" / "lambdaDestinationFailure.json").read_text())
    record["requestPayload"]["Records"][0]["ses"]["mail"].update(changes)
    return record


def enqueue(aws: dict[str, Any], body: object) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return str(aws["sqs"].send_message(QueueUrl=aws["queue"], MessageBody=text)["MessageId"])


def queued(aws: dict[str, Any]) -> int:
    attributes = aws["sqs"].get_queue_attributes(
        QueueUrl=aws["queue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def store(aws: dict[str, Any], key: str, raw: bytes | None = None) -> None:
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=raw or ses_mail())


def summary(lines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(line["file"], line["action"], line["reason"]) for line in lines]


def test_replay_by_message_id_posts_once(aws, github, capsys):
    """A bare SES message id is read from the prefix and posted to its issue."""
    store(aws, f"inbound/{SES_ID}")
    status, lines, err = replay(capsys, SES_ID)
    assert (status, err) == (0, "")
    assert summary(lines) == [(f"inbound/{SES_ID}", "comment", "posted")]
    assert (lines[0]["repo"], lines[0]["issue"]) == ("example-org/app", 7)
    assert lines[0]["url"] == "https://github.com/example-org/app/issues/7#issuecomment-1"
    assert lines[0]["body"] == github.comments[0].body
    assert len(github.comments) == 1


def test_replaying_again_without_a_table_finds_the_comment(aws, github, capsys):
    """No claims table: the second replay finds the marked comment, posts nothing, and says
    the mail was posted before."""
    store(aws, "inbound/a")
    replay(capsys, "inbound/a")
    status, lines, _ = replay(capsys, "inbound/a")
    assert status == 0
    assert summary(lines) == [("inbound/a", "comment", "already-posted")]
    assert lines[0]["url"].endswith("#issuecomment-1")
    assert (len(github.comments), github.requests["POST"]) == (1, 1)


def test_replaying_again_with_a_table_is_already_posted(aws, github, capsys):
    """With the claims table the second replay is already-posted without asking GitHub."""
    store(aws, "inbound/a")
    first = replay(capsys, "--table", TABLE, "inbound/a")
    requests_after_first = sum(github.requests.values())
    status, lines, _ = replay(capsys, "--table", TABLE, "inbound/a")
    assert first[1][0]["reason"] == "posted"
    assert status == 0
    assert summary(lines) == [("inbound/a", "comment", "already-posted")]
    assert lines[0]["url"] == first[1][0]["url"]
    assert sum(github.requests.values()) == requests_after_first
    assert len(github.comments) == 1


def test_the_table_comes_from_the_environment(aws, github, capsys, monkeypatch):
    """IDEMPOTENCY_TABLE names the claims table as --table does: the claim, the posting
    record and the credential's rate limit are the Lambda's."""
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    store(aws, "inbound/a")
    replay(capsys, "inbound/a")
    items = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert sorted(item["id"]["S"].split("#")[0] for item in items) == [
        "posting",
        "ratelimit",
        "ticket-router",
    ]


@pytest.mark.parametrize("table", [[], ["--table", TABLE]], ids=["no-table", "table"])
def test_a_comment_posted_long_ago_is_never_duplicated(aws, github, capsys, httpserver, table):
    """A comment the Lambda posted before (no claim recorded) is found, with or without table."""
    raw = ses_mail()
    store(aws, "inbound/a", raw)
    [decision] = plan(raw, load_routes(ROUTES)).decisions
    client = GitHubClient("t", deadline=Deadline.never(), api_url=httpserver.url_for("/"))
    client.create_comment("example-org/app", 7, decision.draft.body)
    # Weeks ago: a replay cannot rely on the mail being recent.
    github.comments[0].created_at -= 30 * 86400
    status, lines, _ = replay(capsys, *table, "inbound/a")
    assert status == 0
    assert [(line["action"], line["url"]) for line in lines] == [
        ("comment", "https://github.com/example-org/app/issues/7#issuecomment-1")
    ]
    assert (len(github.comments), github.requests["POST"]) == (1, 1)


def test_a_mail_stored_for_several_recipients_is_replayed_for_those_named(aws, github, capsys):
    """SES writes no for clause for a mail to several addresses: replayed by key it names no
    recipient, unless --recipient names one, which is then posted to as the Lambda would."""
    received = b"\r\n for 7@issues.example.com;"
    raw = ses_mail()
    assert received in raw
    store(aws, "inbound/several", raw.replace(received, b";"))
    status, lines, _ = replay(capsys, "inbound/several")
    assert (status, summary(lines)) == (0, [("inbound/several", "reject", "no-recipient")])
    status, lines, _ = replay(capsys, "--recipient", "7@issues.example.com", "inbound/several")
    assert (status, summary(lines)) == (0, [("inbound/several", "comment", "posted")])
    assert len(github.comments) == 1


def test_full_keys_and_s3_urls_are_read_as_given(aws, github, capsys):
    """A key with "/" is not prefixed; s3://BUCKET/KEY names another bucket; odd characters stay."""
    aws["s3"].create_bucket(
        Bucket="other", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    store(aws, "archive/2026/a b+c.eml", ses_mail(to="7@issues.example.com"))
    aws["s3"].put_object(Bucket="other", Key="x", Body=ses_mail(recipient="8@issues.example.com"))
    status, lines, _ = replay(capsys, "--dry-run", "archive/2026/a b+c.eml", "s3://other/x")
    assert status == 0
    assert [(line["file"], line["issue"]) for line in lines] == [
        ("archive/2026/a b+c.eml", 7),
        ("x", 8),
    ]


def test_a_missing_key_is_mail_not_found_and_exits_1(aws, github, capsys):
    """A key that does not exist gets a mail-not-found decision; the others still run."""
    store(aws, "inbound/a")
    status, lines, _ = replay(capsys, "inbound/gone", "inbound/a")
    assert status == 1
    assert summary(lines) == [
        ("inbound/gone", "reject", "mail-not-found"),
        ("inbound/a", "comment", "posted"),
    ]
    assert lines[0]["detail"] == "s3://mail/inbound/gone does not exist (NoSuchKey)"


def test_dry_run_by_key_touches_nothing(aws, github, capsys, monkeypatch):
    """--dry-run: no token needed, no GitHub request, no claim; the comment is shown."""
    monkeypatch.delenv("GITHUB_TOKEN")
    store(aws, "inbound/a")
    status, lines, _ = replay(capsys, "--dry-run", "--table", TABLE, "inbound/a")
    assert status == 0
    assert summary(lines) == [("inbound/a", "comment", "accepted")]
    assert "The build fails on ARM." in lines[0]["body"]
    assert sum(github.requests.values()) == 0
    assert aws["dynamodb"].scan(TableName=TABLE)["Count"] == 0


def test_human_output_names_the_key(aws, github, capsys):
    """Without --json the output is dispatch's, with the S3 key in place of the file name."""
    store(aws, "inbound/a")
    status = main(["replay", "--dry-run", "--routes", ROUTES, "a"])
    out, _ = capsys.readouterr()
    assert status == 0
    assert out.startswith("inbound/a -> 7@issues.example.com: would comment on example-org/app#7\n")
    assert "    | The build fails on ARM.\n" in out


def test_dlq_on_failure_record_is_replayed_and_deleted(aws, github, capsys):
    """An on-failure destination record: its SES event is replayed, then the message deleted."""
    store(aws, f"inbound/{SES_ID}")
    message_id = enqueue(aws, failure_record())
    status, lines, err = replay(capsys, "--dlq", aws["queue"], "--delete")
    assert status == 0
    assert summary(lines) == [(f"dlq:{message_id}/inbound/{SES_ID}", "comment", "posted")]
    assert f"dlq:{message_id}: deleted: done\n" in err
    assert queued(aws) == 0
    assert len(github.comments) == 1


def test_dlq_replay_uses_the_events_verdicts(aws, github, capsys):
    """The SES event's verdicts judge the mail, as in the Lambda: a DMARC FAIL is rejected."""
    store(aws, f"inbound/{SES_ID}")
    record = failure_record()
    record["requestPayload"]["Records"][0]["ses"]["receipt"]["dmarcVerdict"]["status"] = "FAIL"
    record["requestPayload"]["Records"][0]["ses"]["receipt"]["dmarcPolicy"] = "reject"
    enqueue(aws, record)
    status, lines, _ = replay(capsys, "--dlq", aws["queue"], "--delete")
    assert status == 0
    assert [line["reason"] for line in lines] == ["not-authenticated"]
    assert queued(aws) == 0
    assert github.comments == []


def test_dlq_bare_s3_event_from_a_classic_dead_letter_queue(aws, github, capsys):
    """A bare S3 event (a classic DLQ keeps only the event) is replayed from its own bucket."""
    store(aws, "inbound/a b")
    event = json.loads((TESTS / "events" / "s3Event.json").read_text())
    event["Records"][0]["s3"]["bucket"]["name"] = BUCKET
    event["Records"][0]["s3"]["object"]["key"] = "inbound/a+b"
    message_id = enqueue(aws, event)
    status, lines, _ = replay(capsys, "--dlq", aws["queue"], "--delete")
    assert status == 0
    assert summary(lines) == [(f"dlq:{message_id}/inbound/a b", "comment", "posted")]
    assert queued(aws) == 0


@pytest.mark.parametrize(
    "name",
    ["sqsSesNotificationEvent.json", "sqsSesNotificationRawEvent.json"],
    ids=["ses-in-sns", "ses-raw"],
)
def test_dlq_mail_queue_notification_is_replayed_and_deleted(aws, github, capsys, name):
    """A message of the mail queue's dead-letter queue (SES's notification, in SNS's envelope or
    raw) names its own bucket and key, whatever --bucket says: replayed, then deleted."""
    store(aws, f"inbound/{SES_ID}")
    body = json.loads((TESTS / "events" / name).read_text())["Records"][0]["body"]
    message_id = enqueue(aws, body)
    status, lines, err = replay(capsys, "--bucket", "elsewhere", "--dlq", aws["queue"], "--delete")
    assert status == 0
    assert summary(lines) == [(f"dlq:{message_id}/inbound/{SES_ID}", "comment", "posted")]
    assert f"dlq:{message_id}: deleted: done\n" in err
    assert queued(aws) == 0
    assert len(github.comments) == 1


def test_dlq_mail_queue_verdicts_judge_the_mail(aws, github, capsys):
    """The notification's verdicts count, as in the Lambda: a DMARC FAIL is rejected for good."""
    store(aws, f"inbound/{SES_ID}")
    event = json.loads((TESTS / "events" / "sqsSesNotificationRawEvent.json").read_text())
    notification = json.loads(event["Records"][0]["body"])
    notification["receipt"]["dmarcVerdict"]["status"] = "FAIL"
    enqueue(aws, notification)
    status, lines, _ = replay(capsys, "--dlq", aws["queue"], "--delete")
    assert (status, [line["reason"] for line in lines]) == (0, ["not-authenticated"])
    assert queued(aws) == 0
    assert github.comments == []


def test_dlq_s3_event_in_snss_envelope_is_replayed(aws, github, capsys):
    """S3 -> SNS -> the mail queue: the S3 event inside SNS's envelope is replayed."""
    store(aws, "inbound/a b")
    event = json.loads((TESTS / "events" / "s3Event.json").read_text())
    event["Records"][0]["s3"]["bucket"]["name"] = BUCKET
    event["Records"][0]["s3"]["object"]["key"] = "inbound/a+b"
    message_id = enqueue(aws, {"Type": "Notification", "Message": json.dumps(event)})
    status, lines, _ = replay(capsys, "--dlq", aws["queue"], "--delete")
    assert status == 0
    assert summary(lines) == [(f"dlq:{message_id}/inbound/a b", "comment", "posted")]
    assert queued(aws) == 0


def test_dlq_sns_confirmation_is_skipped_and_deleted(aws, github, capsys):
    """SNS's confirmation names no mail: reported as such, and deleted with the settled."""
    message_id = enqueue(aws, {"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:t"})
    status, lines, err = replay(capsys, "--dlq", aws["queue"], "--delete")
    assert status == 0
    assert summary(lines) == [(f"dlq:{message_id}", "reject", "sns-confirmation")]
    assert f"dlq:{message_id}: deleted: done\n" in err
    assert queued(aws) == 0


def test_dlq_message_already_posted_is_deleted(aws, github, capsys):
    """A mail whose comment exists after all is already-posted, and its message deleted."""
    store(aws, f"inbound/{SES_ID}")
    replay(capsys, "--table", TABLE, SES_ID)
    enqueue(aws, failure_record())
    status, lines, _ = replay(capsys, "--table", TABLE, "--dlq", aws["queue"], "--delete")
    assert status == 0
    assert [line["reason"] for line in lines] == ["already-posted"]
    assert queued(aws) == 0
    assert len(github.comments) == 1


def test_dlq_transient_failure_keeps_the_message(aws, github, capsys):
    """A claim still held elsewhere (in-progress) is transient: exit 1, message kept."""
    raw = ses_mail()
    store(aws, f"inbound/{SES_ID}", raw)
    holder = DynamoClaims(TABLE, aws["dynamodb"], expires_after_seconds=3600)
    key = claim_key("example-org/app", 7, mail_key(parse_mail(raw), raw))

    def crash() -> PostedComment:
        raise Crash

    with pytest.raises(Crash):
        holder.once(key, crash, Deadline.within(600))
    message_id = enqueue(aws, failure_record())
    status, lines, err = replay(capsys, "--table", TABLE, "--dlq", aws["queue"], "--delete")
    assert status == 1
    assert [(line["reason"], line["action"]) for line in lines] == [("in-progress", "reject")]
    assert f"dlq:{message_id}: kept: not done: in-progress\n" in err
    assert queued(aws) == 1
    assert github.comments == []
    # Released at the end: the next run sees it at once.
    assert len(aws["sqs"].receive_message(QueueUrl=aws["queue"]).get("Messages", [])) == 1


def test_dlq_without_delete_keeps_settled_messages(aws, github, capsys):
    """Without --delete a settled message stays, and the run still succeeds."""
    store(aws, f"inbound/{SES_ID}")
    message_id = enqueue(aws, failure_record())
    status, lines, err = replay(capsys, "--dlq", aws["queue"])
    assert status == 0
    assert [line["reason"] for line in lines] == ["posted"]
    assert f"dlq:{message_id}: kept: done (give --delete to remove it)\n" in err
    assert queued(aws) == 1


def test_dlq_message_whose_mail_is_gone_is_kept(aws, github, capsys):
    """mail-not-found may be a wrong --prefix: the message stays and the exit status is 1."""
    enqueue(aws, failure_record())
    status, lines, _ = replay(capsys, "--dlq", aws["queue"], "--delete")
    assert status == 1
    assert [line["reason"] for line in lines] == ["mail-not-found"]
    assert queued(aws) == 1


def test_dlq_message_that_is_no_event_is_kept(aws, github, capsys):
    """A body that is neither a record nor an event is reported, never deleted."""
    message_id = enqueue(aws, "not json")
    status, lines, _ = replay(capsys, "--dlq", aws["queue"], "--delete")
    assert status == 1
    assert summary(lines) == [(f"dlq:{message_id}", "reject", "unsupported-event")]
    assert lines[0]["detail"] == "the message body is not JSON"
    assert queued(aws) == 1


def test_dlq_max_bounds_the_messages_read(aws, github, capsys):
    """--max 2 of three messages: two replayed and deleted, one left in the queue."""
    for number in range(3):
        store(aws, f"inbound/m{number}", ses_mail(subject=f"mail {number}"))
        enqueue(aws, failure_record(messageId=f"m{number}"))
    status, lines, err = replay(capsys, "--dlq", aws["queue"], "--delete", "--max", "2")
    assert status == 0
    assert len(lines) == 2
    assert err.endswith(": 2 message(s) replayed\n")
    assert queued(aws) == 1


def test_dlq_dry_run_touches_nothing(aws, github, capsys, monkeypatch):
    """--dry-run on the queue: no token, no GitHub request, no claim, the message left visible."""
    monkeypatch.delenv("GITHUB_TOKEN")
    store(aws, f"inbound/{SES_ID}")
    message_id = enqueue(aws, failure_record())
    status, lines, err = replay(capsys, "--dry-run", "--table", TABLE, "--dlq", aws["queue"])
    assert status == 0
    assert summary(lines) == [(f"dlq:{message_id}/inbound/{SES_ID}", "comment", "accepted")]
    assert sum(github.requests.values()) == 0
    assert aws["dynamodb"].scan(TableName=TABLE)["Count"] == 0
    assert len(aws["sqs"].receive_message(QueueUrl=aws["queue"]).get("Messages", [])) == 1
    assert f"dlq:{message_id}: kept: dry run\n" in err


def test_a_message_that_shows_again_is_replayed_once(aws, github):
    """A kept message visible again within the run (a slow batch) is not replayed twice."""
    store(aws, f"inbound/{SES_ID}")
    first, second = enqueue(aws, failure_record()), enqueue(aws, failure_record())
    # Visibility 0: every message shows again at once, as after an overlong batch.
    queue = SqsFailureQueue(aws["sqs"], aws["queue"], visibility_timeout=0, wait_seconds=0)
    receiver = Receiver(Runtime(load_routes(ROUTES), MailStore(aws["s3"])), dry_run=True)
    replays = list(replay_queue(queue, receiver, bucket=BUCKET, prefix="inbound/", delete=False))
    assert sorted(r.message_id for r in replays) == sorted([first, second])
    assert [r.fate for r in replays] == ["kept", "kept"]
    assert queued(aws) == 2


def test_an_unreachable_queue_exits_2(aws, github, capsys):
    """A queue that cannot be read: the replay cannot run."""
    missing = aws["queue"].rsplit("/", 1)[0] + "/no-such-queue"
    status, lines, err = replay(capsys, "--dlq", missing)
    assert (status, lines) == (2, [])
    assert f"cannot read {missing}: " in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give the S3 keys of the mails to replay, or --dlq QUEUE_URL"),
        (["a", "--dlq", "https://q"], "give S3 keys or --dlq QUEUE_URL, not both"),
        (["--delete", "a"], "--delete and --max apply to --dlq only"),
        (["--dlq", "https://q", "--delete", "--dry-run"], "--dry-run deletes nothing"),
        (["--dlq", "https://q", "--max", "0"], "--max must be at least 1, not 0"),
        (["--dlq", "https://q", "--recipient", "7@x.org"], "--recipient applies to keys only"),
        (["s3://bucket-only"], "'s3://bucket-only' is not s3://BUCKET/KEY"),
        (["inbound/"], "'inbound/' names no stored mail"),
    ],
)
def test_bad_arguments_exit_2(capsys, argv, message):
    """Arguments that cannot make a replay: exit 2, the problem named, nothing done."""
    status = main(["replay", "--routes", ROUTES, *argv])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.startswith("ticket-router replay: error: ")
    assert message in err


def test_no_bucket_exits_2(capsys, monkeypatch):
    """A key needs a bucket: --bucket, MAIL_BUCKET or s3://; the message says so."""
    monkeypatch.delenv("MAIL_BUCKET", raising=False)
    status = main(["replay", "--routes", ROUTES, "abc"])
    _, err = capsys.readouterr()
    assert status == 2
    assert "no bucket for 'abc': give --bucket, set MAIL_BUCKET, or write s3://BUCKET/KEY" in err


def test_no_token_exits_2(aws, capsys, monkeypatch):
    """Posting needs GITHUB_TOKEN; without it nothing is read or posted."""
    monkeypatch.delenv("GITHUB_TOKEN")
    status, lines, err = replay(capsys, "inbound/a")
    assert (status, lines) == (2, [])
    assert "GITHUB_TOKEN is not set" in err


def test_a_table_without_a_region_exits_2(aws, capsys, monkeypatch):
    """--table needs an AWS region for DynamoDB; the message says how to set one."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    status, lines, err = replay(capsys, "--table", TABLE, "inbound/a")
    assert (status, lines) == (2, [])
    assert "--table claims: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION" in err


def test_a_bad_claim_ttl_exits_2(aws, capsys, monkeypatch):
    """IDEMPOTENCY_TTL_SECONDS must be whole seconds: anything else stops the replay."""
    monkeypatch.setenv("IDEMPOTENCY_TTL_SECONDS", "90d")
    status, lines, err = replay(capsys, "--table", TABLE, "inbound/a")
    assert (status, lines) == (2, [])
    assert "IDEMPOTENCY_TTL_SECONDS must be a number of seconds, not '90d'" in err


def test_a_claim_expires_after_the_configured_ttl(aws, github, capsys, monkeypatch):
    """A claim made by a replay is kept IDEMPOTENCY_TTL_SECONDS, as the Lambda's are."""
    monkeypatch.setenv("IDEMPOTENCY_TTL_SECONDS", "86400")
    store(aws, "inbound/a")
    before = time.time()
    replay(capsys, "--table", TABLE, "inbound/a")
    items = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    kept = [item for item in items if item["id"]["S"].split("#")[0] != "ratelimit"]
    # The claim, and the record of its POST.
    assert len(kept) == 2
    for item in kept:
        assert int(before) + 86400 <= int(item["expiration"]["N"]) <= time.time() + 86400


def test_bad_routes_exit_2(aws, capsys, tmp_path):
    """A routes file that does not load stops the replay before anything is read."""
    bad = tmp_path / "routes.yaml"
    bad.write_text("routes: []\n")
    status = main(["replay", "--routes", str(bad), "--dry-run", "inbound/a"])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err


def test_key_ref_resolution():
    """Bare ids get the prefix, keys with "/" and s3:// URLs are taken as written."""
    assert (key_ref("abc", bucket="b", prefix="inbound/").key, "abc") == ("inbound/abc", "abc")
    assert key_ref("abc", bucket="b", prefix="inbound/").message_id == "abc"
    assert key_ref("x/abc", bucket="b", prefix="inbound/").key == "x/abc"
    ref = key_ref("s3://other/inbound/abc", bucket="b", prefix="p/")
    assert (ref.bucket, ref.key) == ("other", "inbound/abc")


def test_queued_event_unwraps_on_failure_records_and_takes_bare_events():
    """requestPayload is the event; a body without it (a bare event, a mail-queue message) is
    taken as it is."""
    record = failure_record()
    assert queued_event(json.dumps(record)) == record["requestPayload"]
    assert queued_event(json.dumps(record["requestPayload"])) == record["requestPayload"]
    with pytest.raises(EventError, match="not a JSON object"):
        queued_event("[1]")
    with pytest.raises(EventError, match="requestPayload is not an event"):
        queued_event('{"requestPayload": "x"}')
