"""The mail queue end to end: SES's S3-action notifications (through SNS, or raw) and S3 events
in an SQS queue, delivered in batches to the Lambda entry point as its event source mapping does.

AWS is moto (S3, SQS with a dead-letter queue, DynamoDB claims, Secrets Manager); GitHub is the
stateful fake on 127.0.0.1. Jitter is pinned at 0.5: every wait is the schedule's plus 5 %.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_httpserver import HTTPServer

from handler import lambda_function
from handler.aws.mail_queue import queue_url
from handler.cli import main
from handler.deadline import Deadline
from handler.routing import load_routes
from handler.service.inbound import Runtime, handle_event, retry_delay
from tests.conftest import TESTS
from tests.dynamo import create_claims_table
from tests.fakegithub import FakeGitHub
from tests.sesmail import ses_mail

REGION = "eu-west-1"
# moto's account, and the queue the events in tests/events/ come from.
ACCOUNT = "123456789012"
QUEUE = "ticket-router-mail"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"
KEY = "inbound/o3vrnil0e2ic28tr"
TABLE = "claims"
ROUTES = str(TESTS / "lambda" / "routes.yaml")
TOKEN = "ghp_mailQueueTestToken0123456789"


class Context:
    """The fields of Lambda's context object that the handler and Powertools read."""

    function_name = "ticket-router"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ticket-router"
    aws_request_id = "5b0d2c1e-7f3a-4e9b-8c6d-1a2b3c4d5e6f"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Aws:
    s3: Any
    sqs: Any
    queue: str
    dead: str


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> Iterator[Aws]:
    """The mail bucket, the mail queue (dead-lettered after 2 receives here, 30 deployed), the
    claims table, the token, and the environment Terraform sets: no MAIL_BUCKET or MAIL_PREFIX,
    the notifications name the object."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("MAIL_BUCKET", raising=False)
    monkeypatch.delenv("MAIL_PREFIX", raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
        create_claims_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        secrets = boto3.client("secretsmanager", region_name=REGION)
        arn = secrets.create_secret(Name="github-token", SecretString=TOKEN)["ARN"]
        sqs = boto3.client("sqs", region_name=REGION)
        dead = sqs.create_queue(QueueName=f"{QUEUE}-dead")["QueueUrl"]
        dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
        redrive = {"deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"], "maxReceiveCount": 2}
        # Visibility 0: a received message shows again at once unless the function hides it.
        queue = sqs.create_queue(
            QueueName=QUEUE,
            Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
        monkeypatch.setenv("GITHUB_TOKEN_SECRET_ARN", arn)
        monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
        monkeypatch.setenv("ROUTES_FILE", ROUTES)
        deployed = lambda_function.runtime
        deployed.cache_clear()
        # The deployed runtime (its SQS client for the visibility included), jitter pinned.
        pinned = replace(deployed(), jitter=lambda: 0.5)
        monkeypatch.setattr(lambda_function, "runtime", lambda: pinned)
        yield Aws(s3, sqs, queue, dead)
        deployed.cache_clear()


@pytest.fixture
def github(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver).install()


def log_lines(buffer: io.StringIO, message: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    return [line for line in lines if line["message"] == message]


def load_event(name: str) -> dict[str, Any]:
    return json.loads((TESTS / "events" / name).read_text())


def sns_envelope() -> str:
    """The body SNS gives the queue: SES's notification inside its envelope."""
    return str(load_event("sqsSesNotificationEvent.json")["Records"][0]["body"])


def raw_notification() -> str:
    """The body with SNS's raw message delivery: SES's notification itself."""
    return str(load_event("sqsSesNotificationRawEvent.json")["Records"][0]["body"])


def notification(**receipt: Any) -> dict[str, Any]:
    """SES's notification of the sample, with ``receipt`` fields replaced."""
    document = json.loads(raw_notification())
    document["receipt"].update(receipt)
    return document


def s3_event() -> str:
    """S3's ObjectCreated notification of the stored mail, as S3 sends it to a queue."""
    event = load_event("s3Event.json")
    event["Records"][0]["s3"]["bucket"]["name"] = "mail"
    event["Records"][0]["s3"]["object"]["key"] = KEY
    return json.dumps(event)


def in_sns(message: str) -> str:
    """``message`` as SNS delivers it to a queue without raw message delivery."""
    return json.dumps(
        {
            "Type": "Notification",
            "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:mail",
            "Message": message,
        }
    )


def send(aws: Aws, body: str | dict[str, Any]) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return str(aws.sqs.send_message(QueueUrl=aws.queue, MessageBody=text)["MessageId"])


def poll(aws: Aws) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """What the event source mapping does once: receive a batch, invoke the function with it,
    delete the messages it did not report failed. The result and the messages received."""
    messages = aws.sqs.receive_message(
        QueueUrl=aws.queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    if not messages:
        return None, []
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": QUEUE_ARN,
            "awsRegion": REGION,
        }
        for m in messages
    ]
    result = lambda_function.lambda_handler({"Records": records}, Context())
    failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
    for m in messages:
        if m["MessageId"] not in failed:
            aws.sqs.delete_message(QueueUrl=aws.queue, ReceiptHandle=m["ReceiptHandle"])
    return result, messages


def time_passes(aws: Aws, messages: list[dict[str, Any]]) -> None:
    """The waits the function set are over: the messages show again."""
    for m in messages:
        aws.sqs.change_message_visibility(
            QueueUrl=aws.queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )


def held(aws: Aws, queue: str | None = None) -> int:
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=queue or aws.queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def summary(result: dict[str, Any] | None) -> list[tuple[str | None, str, bool]]:
    assert result is not None
    return [(d["s3_key"], d["reason"], d["retryable"]) for d in result["decisions"]]


@pytest.mark.parametrize(
    "body",
    [sns_envelope, raw_notification, s3_event, lambda: in_sns(s3_event())],
    ids=["ses-in-sns", "ses-raw", "s3", "s3-in-sns"],
)
def test_a_mail_from_each_body_shape_is_posted_once(aws, github, body):
    """SES's notification in SNS's envelope or raw, S3's event bare or in SNS's envelope: the
    object it names is read and posted, and the message is done."""
    aws.s3.put_object(Bucket="mail", Key=KEY, Body=ses_mail())
    message_id = send(aws, body())
    result, _ = poll(aws)
    assert result is not None
    assert result["batchItemFailures"] == []
    assert summary(result) == [(KEY, "posted", False)]
    assert result["decisions"][0]["sqs_message_id"] == message_id
    assert [(c.repo, c.issue) for c in github.comments] == [("example-org/app", 7)]
    assert "The build fails on ARM." in github.comments[0].body
    assert held(aws) == 0


def test_a_mail_that_waited_in_the_queue_costs_one_post_and_no_search(aws, github):
    """Days after SES received it, the mail is posted with its one POST: the claims table's
    posting records say it was never sent, so the Lambda does not search GitHub for it."""
    aws.s3.put_object(Bucket="mail", Key=KEY, Body=ses_mail())
    send(aws, raw_notification())
    result, _ = poll(aws)
    assert result is not None
    assert summary(result) == [(KEY, "posted", False)]
    assert [method for _, method, _ in github.log] == ["POST"]


def test_the_notifications_verdicts_judge_the_mail(aws, github):
    """SES's verdicts in the notification count as the Lambda action's do: a DMARC FAIL (with
    its policy) is not-authenticated, whatever the stored block says, and is done with."""
    aws.s3.put_object(Bucket="mail", Key=KEY, Body=ses_mail())
    send(aws, notification(dmarcVerdict={"status": "FAIL"}, dmarcPolicy="reject"))
    result, _ = poll(aws)
    assert result is not None
    assert (result["batchItemFailures"], summary(result)) == (
        [],
        [(KEY, "not-authenticated", False)],
    )
    assert result["decisions"][0]["detail"] == (
        "DMARC fail for example.com (policy reject); DKIM pass for example.com; "
        "SPF pass for example.com"
    )
    assert github.requests["POST"] == 0
    assert held(aws) == 0


def test_a_missing_object_waits_is_dead_lettered_and_replayed(
    aws, github, stdout_log, capsys, monkeypatch
):
    """No object (deleted, or not yet where it is looked for): mail-not-found is reported failed
    and waits 1 minute, then 2 (plus jitter); after the queue's receives SQS dead-letters it, and
    once the object is back a replay of the dead-letter queue posts it."""
    message_id = send(aws, sns_envelope())
    first, received = poll(aws)
    assert first is not None
    assert first["batchItemFailures"] == [{"itemIdentifier": message_id}]
    assert summary(first) == [(KEY, "mail-not-found", True)]
    assert poll(aws) == (None, [])
    time_passes(aws, received)
    second, received = poll(aws)
    assert second is not None
    assert second["batchItemFailures"] == [{"itemIdentifier": message_id}]
    waits = [
        (line["receive_count"], line["visibility_s"])
        for line in log_lines(stdout_log, "retry later")
    ]
    assert waits == [(1, 63), (2, 126)]
    assert log_lines(stdout_log, "visibility not changed") == []
    time_passes(aws, received)
    # The third receive finds it past maxReceiveCount: SQS moved it to the dead-letter queue.
    assert poll(aws) == (None, [])
    assert (held(aws), held(aws, aws.dead)) == (0, 1)
    assert github.requests["POST"] == 0

    aws.s3.put_object(Bucket="mail", Key=KEY, Body=ses_mail())
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    capsys.readouterr()
    status = main(
        ["replay", "--json", "--routes", ROUTES, "--table", TABLE, "--dlq", aws.dead, "--delete"]
    )
    out, err = capsys.readouterr()
    assert status == 0
    assert [json.loads(line)["reason"] for line in out.splitlines()] == ["posted"]
    assert f"dlq:{message_id}: deleted: done\n" in err
    assert held(aws, aws.dead) == 0
    assert len(github.comments) == 1


def test_a_missing_object_is_counted_failed_under_its_reason(aws, github, capsys):
    """The alarm's metric: Failed, dimensions service and reason = mail-not-found, in the
    namespace TicketRouter; and the invocation's Retried."""
    send(aws, raw_notification())
    capsys.readouterr()
    poll(aws)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [totals, per_reason] = documents
    assert (totals["MailsReceived"], totals["Failed"], totals["Retried"]) == ([1.0], [1.0], [1.0])
    [directive] = per_reason["_aws"]["CloudWatchMetrics"]
    assert directive == {
        "Namespace": "TicketRouter",
        "Dimensions": [["reason", "service"]],
        "Metrics": [{"Name": "Failed", "Unit": "Count"}],
    }
    assert (per_reason["service"], per_reason["reason"], per_reason["Failed"]) == (
        "ticket-router",
        "mail-not-found",
        [1.0],
    )


def test_a_rate_limited_mail_waits_out_the_limit(aws, github, stdout_log):
    """GitHub's retry-after, not the backoff, sets the wait: 900 s plus 5 %."""
    aws.s3.put_object(Bucket="mail", Key=KEY, Body=ses_mail())
    github.limited_next.append(900)
    message_id = send(aws, sns_envelope())
    result, _ = poll(aws)
    assert result is not None
    assert result["batchItemFailures"] == [{"itemIdentifier": message_id}]
    assert summary(result) == [(KEY, "rate-limited", True)]
    [line] = log_lines(stdout_log, "retry later")
    assert (line["sqs_message_id"], line["reasons"], line["visibility_s"]) == (
        message_id,
        ["rate-limited"],
        945,
    )
    assert poll(aws) == (None, [])


def test_only_the_failed_message_of_a_batch_is_reported(aws, github, stdout_log):
    """A batch of a mail posted, a mail missing and a confirmation skipped: only the missing
    mail's message comes back, the others are deleted."""
    aws.s3.put_object(Bucket="mail", Key=KEY, Body=ses_mail())
    posted = send(aws, raw_notification())
    gone = notification()
    gone["receipt"]["action"]["objectKey"] = "inbound/gone"
    missing = send(aws, gone)
    skipped = send(aws, {"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:x"})
    result, _ = poll(aws)
    assert result is not None
    assert result["batchItemFailures"] == [{"itemIdentifier": missing}]
    assert sorted((d["sqs_message_id"], d["reason"]) for d in result["decisions"]) == sorted(
        [(posted, "posted"), (missing, "mail-not-found")]
    )
    assert [
        (line["sqs_message_id"], line["reason"]) for line in log_lines(stdout_log, "skipped")
    ] == [(skipped, "sns-confirmation")]
    assert [line["sqs_message_id"] for line in log_lines(stdout_log, "retry later")] == [missing]
    assert (held(aws), len(github.comments)) == (1, 1)


def test_an_unreadable_message_is_reported_failed_and_logged(aws, github, stdout_log, capsys):
    """A body that is no notification: reported failed (so that it is dead-lettered after the
    queue's receives, never dropped), an ERROR line says why, Failed counts its reason."""
    message_id = send(aws, "not json")
    capsys.readouterr()
    result, _ = poll(aws)
    assert result == {"batchItemFailures": [{"itemIdentifier": message_id}], "decisions": []}
    [line] = log_lines(stdout_log, "unreadable message")
    assert {
        key: line[key] for key in ("level", "sqs_message_id", "action", "reason", "detail")
    } == {
        "level": "ERROR",
        "sqs_message_id": message_id,
        "action": "error",
        "reason": "unsupported-event",
        "detail": "the SQS message's body is not JSON",
    }
    [retry] = log_lines(stdout_log, "retry later")
    assert (retry["reasons"], retry["visibility_s"]) == (["unsupported-event"], 63)
    [per_reason] = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"reason"' in line
    ]
    assert (per_reason["reason"], per_reason["Failed"]) == ("unsupported-event", [1.0])
    assert (held(aws), github.requests["POST"]) == (1, 0)


def test_notifications_that_name_no_mail_are_skipped(aws, github, stdout_log):
    """SNS's confirmations, SES's setup notification, another action's notification and S3's
    test event: each skipped with its reason and deleted, no request made."""
    setup = notification()
    setup["mail"]["messageId"] = "AMAZON_SES_SETUP_NOTIFICATION"
    lambda_action = notification(action={"type": "Lambda", "functionArn": "arn:aws:lambda:x"})
    bodies = [
        {"Type": "UnsubscribeConfirmation", "TopicArn": "arn:aws:sns:x"},
        in_sns(json.dumps(setup)),
        lambda_action,
        {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "mail"},
    ]
    for body in bodies:
        send(aws, body)
    result, _ = poll(aws)
    assert result == {"batchItemFailures": [], "decisions": []}
    assert sorted(line["reason"] for line in log_lines(stdout_log, "skipped")) == [
        "not-an-s3-action",
        "s3-test-event",
        "ses-setup-notification",
        "sns-confirmation",
    ]
    assert (held(aws), sum(github.requests.values())) == (0, 0)


def test_a_visibility_change_that_fails_is_logged_and_ignored(aws, stdout_log):
    """A queue the change cannot reach: a WARNING names the error, the message is reported
    failed all the same (the queue's own visibility timeout then applies)."""
    event = load_event("sqsSesNotificationRawEvent.json")
    event["Records"][0]["eventSourceARN"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue"
    result = lambda_function.lambda_handler(event, Context())
    assert result["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    [line] = log_lines(stdout_log, "visibility not changed")
    assert (line["level"], line["visibility_s"], line["error"]) == (
        "WARNING",
        63,
        "AWS.SimpleQueueService.NonExistentQueue",
    )


class NoStore:
    def fetch(self, bucket: str, key: str) -> bytes:
        raise AssertionError("nothing is read")


def test_a_message_without_an_id_fails_the_whole_batch():
    """A record Lambda would never send (no messageId) is reported with an empty identifier,
    which makes Lambda deliver the whole batch again: nothing is lost, nothing raised."""
    event = {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}
    result = handle_event(event, Runtime(load_routes(ROUTES), NoStore()), Deadline.never())
    assert result == {"batchItemFailures": [{"itemIdentifier": ""}], "decisions": []}


class Broken:
    """A visibility adapter with a bug in it."""

    def hide(self, queue_arn: str, receipt_handle: str, seconds: int) -> str | None:
        raise RuntimeError("bug")


def test_something_unexpected_fails_only_its_message():
    """Whatever raises while a message is handled makes it internal-error and failed; the
    batch is answered, never raised."""
    event = load_event("sqsSesNotificationRawEvent.json")
    event["Records"][0]["body"] = "{}"
    runtime = Runtime(load_routes(ROUTES), NoStore(), visibility=Broken())
    result = handle_event(event, runtime, Deadline.never())
    message_id = event["Records"][0]["messageId"]
    assert result["batchItemFailures"] == [{"itemIdentifier": message_id}]
    [decision] = result["decisions"]
    assert (decision["sqs_message_id"], decision["reason"], decision["retryable"]) == (
        message_id,
        "internal-error",
        True,
    )


def test_the_backoff_schedule_reaches_the_dead_letter_queue_in_about_a_day():
    """1, 2, 4 ... 32 minutes, then hourly: 30 receives wait 25 hours in all, without jitter."""
    waits = [retry_delay(n, None, 0.0) for n in range(1, 31)]
    assert waits[:8] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert set(waits[6:]) == {3600}
    assert sum(waits) == 90180
    assert retry_delay(1000, None, 0.0) == 3600


def test_a_wait_gets_up_to_a_tenth_more_and_never_passes_sqss_limit():
    """Jitter adds up to 10 %, rounded up; a retry_after counts as given but at least 1 s and
    at most SQS's 12 hours."""
    assert retry_delay(1, None, 0.999) == 66
    assert retry_delay(7, None, 0.5) == 3780
    assert retry_delay(1, 900.0, 0.0) == 900
    assert retry_delay(1, 0.2, 0.0) == 1
    assert retry_delay(30, 86400.0, 0.0) == 43200


def test_the_queue_url_comes_from_the_records_arn_and_the_clients_endpoint():
    """``{endpoint}/{account}/{name}``; anything but an SQS queue's ARN is refused."""
    arn = "arn:aws-cn:sqs:cn-north-1:123456789012:mail"
    assert queue_url(arn, "https://sqs.cn-north-1.amazonaws.com.cn/") == (
        "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/mail"
    )
    for wrong in ("", "arn:aws:sns:eu-west-1:1:mail", "arn:aws:sqs:eu-west-1::mail", "mail"):
        with pytest.raises(ValueError, match="is not an SQS queue's ARN"):
            queue_url(wrong, "https://sqs.eu-west-1.amazonaws.com")
