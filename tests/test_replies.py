"""Replies by mail, end to end through the three functions: mail in -> comment -> webhook ->
mail out -> reply in -> second comment on the same issue; then one-click unsubscribe and a bounce.

moto plays S3, DynamoDB (claims, participants, delivery ids), SQS (the work queue), SES and
Secrets Manager; GitHub is the stateful stand-in on 127.0.0.1 for the comments, and GitHub's own
webhook payloads (tests/github/webhooks) carry the comments made there, signed as GitHub signs.
"""

from __future__ import annotations

import copy
import email
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from email.policy import default
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from pytest_httpserver import HTTPServer

from handler import lambda_function, outbox_function, webhook_function
from handler.aws import lambda_runtime
from handler.aws.participants import DynamoParticipants
from handler.outbound.participants import address_digest
from handler.outbound.signatures import owner_secret
from tests.conftest import TESTS
from tests.dynamo import CLAIMS_TABLE
from tests.fakegithub import FakeGitHub
from tests.sesmail import ses_block
from tests.test_lambda import Context

REGION = "eu-west-1"
SECRET = "webhook secret"
WEBHOOK_URL = "https://abc123.lambda-url.eu-west-1.on.aws/"
REPO = "example-org/website"


@pytest.fixture
def deployment(monkeypatch, httpserver: HTTPServer, tmp_path, dynamodb):
    """What terraform apply makes for a route with notify_participants, on moto."""
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  - domain: issues.example.com\n"
        "    prefix: web-\n"
        f"    repo: {REPO}\n"
        "    name: Example website\n"
        "    allowed_senders: [example.com]\n"
        "    notify_participants: true\n"
    )
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    boto3.client("ses", region_name=REGION).verify_domain_identity(Domain="issues.example.com")
    secrets = boto3.client("secretsmanager", region_name=REGION)
    token_arn = secrets.create_secret(Name="github-token", SecretString="ghp_test")["ARN"]
    webhook_arn = secrets.create_secret(Name="webhook", SecretString=SECRET)["ARN"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="work")["QueueUrl"]
    for name, value in {
        "ROUTES_FILE": str(routes),
        "MAIL_BUCKET": "mail",
        "MAIL_PREFIX": "inbound/",
        "IDEMPOTENCY_TABLE": CLAIMS_TABLE,
        "GITHUB_TOKEN_SECRET_ARN": token_arn,
        "GITHUB_API_URL": httpserver.url_for("/").rstrip("/"),
        "WEBHOOK_SECRET_ARN": webhook_arn,
        "WORK_QUEUE_URL": queue_url,
        "WEBHOOK_URL": WEBHOOK_URL,
        "SES_CONFIGURATION_SET": "tr-mail",
    }.items():
        monkeypatch.setenv(name, value)
    github = FakeGitHub(httpserver).install()
    github.seed(REPO, issues=50)
    functions = (lambda_function, webhook_function, outbox_function)
    for function in functions:
        function.runtime.cache_clear()
    yield github, sqs, queue_url
    for function in functions:
        function.runtime.cache_clear()


def mail_in(key: str, message_id: str, body: str, *, in_reply_to: str | None = None) -> dict:
    """Alice's mail to web-45@, stored as SES stores it, through the mail function."""
    headers = (
        "From: Alice Moreau <alice@example.com>\r\nTo: web-45@issues.example.com\r\n"
        f"Subject: Re: Printer on floor 3\r\nMessage-ID: <{message_id}>\r\n"
        + (
            f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n"
            if in_reply_to
            else ""
        )
        + "Date: Mon, 23 Nov 2026 09:13:51 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
    )
    raw = (ses_block(recipient="web-45@issues.example.com") + headers + "\r\n" + body).encode()
    boto3.client("s3", region_name=REGION).put_object(Bucket="mail", Key=f"inbound/{key}", Body=raw)
    event = json.loads((TESTS / "events" / "sesEvent.json").read_text())
    record = event["Records"][0]["ses"]
    record["mail"]["messageId"] = key
    record["mail"]["destination"] = ["web-45@issues.example.com"]
    record["mail"]["timestamp"] = datetime.now(UTC).isoformat()
    record["receipt"]["recipients"] = ["web-45@issues.example.com"]
    [decision] = lambda_function.lambda_handler(event, Context())["decisions"]
    return decision


def comment_on_github(delivery: str, comment_id: int, body: str, login: str = "maintainer"):
    """GitHub's issue_comment/created delivery for a comment on #45, signed with the secret."""
    payload = json.loads(
        (TESTS / "github" / "webhooks" / "issue_comment.created.1.json").read_text()
    )
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["repository"]["full_name"] = REPO
    payload["issue"].update(
        number=45,
        title="Printer on floor 3",
        html_url=f"https://github.com/{REPO}/issues/45",
        updated_at=now,
    )
    payload["comment"].update(
        id=comment_id,
        body=body,
        created_at=now,
        html_url=f"https://github.com/{REPO}/issues/45#issuecomment-{comment_id}",
    )
    payload["comment"]["user"]["login"] = login
    return webhook(json.dumps(payload).encode(), delivery, "issue_comment")


def webhook(body: bytes, delivery: str, event: str) -> dict[str, Any]:
    # GitHub holds the repository owner's secret, derived from the master in Secrets Manager.
    key = owner_secret(SECRET.encode(), REPO.partition("/")[0]).encode()
    signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    request = copy.deepcopy(json.loads((TESTS / "events" / "functionUrlEvent.json").read_text()))
    request["requestContext"]["http"]["method"] = "POST"
    request["headers"] = {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/044aadd",
        "x-github-event": event,
        "x-github-delivery": delivery,
        "x-hub-signature-256": signature,
    }
    request["body"] = body.decode()
    return webhook_function.lambda_handler(request, Context())


def run_outbox(sqs: Any, queue_url: str) -> dict[str, Any]:
    """The event source mapping: the queue's messages as one SQS batch to the outbox."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    sample = json.loads((TESTS / "events" / "sqsEvent.json").read_text())["Records"][0]
    records = [
        {
            **sample,
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
        }
        for m in messages
    ]
    result = outbox_function.lambda_handler({"Records": records}, Context())
    failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return result


def mailed() -> list[email.message.EmailMessage]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [
        email.message_from_string(message.raw_data, policy=default)  # type: ignore[misc]
        for message in backend.sent_messages
    ]


def participants(dynamodb: Any) -> list[tuple[str, str | None]]:
    store = DynamoParticipants(dynamodb, CLAIMS_TABLE)
    return [(p.address, p.last_message_id) for p in store.of(REPO, 45).participants]


def test_a_conversation_by_mail_with_a_github_issue(deployment, dynamodb):
    """Alice writes, a maintainer answers on GitHub, Alice gets it by mail and replies; her reply
    is the next comment on #45. Our own comment is never mailed back."""
    github, sqs, queue_url = deployment

    first = mail_in("ses-1", "a1@mail.example.com", "The printer on floor 3 jams.\r\n")
    assert (first["reason"], first["issue"]) == ("posted", 45)
    assert participants(dynamodb) == [("alice@example.com", "a1@mail.example.com")]

    # GitHub tells us about the comment we posted: it carries the mail's marker.
    [ours] = github.comments
    assert comment_on_github("d-ours", ours.id, ours.body, login="router-bot")["statusCode"] == 202
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    assert mailed() == []

    answer = comment_on_github("d-answer", 9001, "Fixed in **2.1**: please try it.")
    assert (answer["statusCode"], answer["body"].split(":")[0]) == (202, "queued")
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    [update] = mailed()
    assert update["From"] == "Example website <web-45@issues.example.com>"
    assert update["To"] == "alice@example.com"
    assert update["Subject"] == "Re: Printer on floor 3"
    assert update["In-Reply-To"] == "<a1@mail.example.com>"
    assert update["Auto-Submitted"] == "auto-generated"
    text = update.get_body(("plain",)).get_content()
    assert "maintainer commented on example-org/website#45:" in text
    assert "Fixed in **2.1**: please try it." in text
    html = update.get_body(("html",)).get_content()
    assert "<strong>2.1</strong>" in html

    # GitHub redelivers the same delivery: acknowledged, not queued again.
    again = comment_on_github("d-answer", 9001, "Fixed in **2.1**: please try it.")
    assert again["body"].split(":")[0] == "duplicate-delivery"
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages") is None

    # Alice answers the mail: her client replies to web-45@ and threads on our Message-ID.
    ours_id = update["Message-ID"].strip("<>")
    reply = mail_in(
        "ses-2",
        "a2@mail.example.com",
        "Works now, thanks!\r\n\r\nOn Mon, 23 Nov 2026 maintainer wrote:\r\n> Fixed in 2.1\r\n",
        in_reply_to=ours_id,
    )
    assert (reply["reason"], reply["issue"]) == ("posted", 45)
    assert [comment.issue for comment in github.comments] == [45, 45]
    assert "Works now, thanks!" in github.comments[1].body
    assert participants(dynamodb) == [("alice@example.com", "a2@mail.example.com")]

    # The next answer threads on her latest mail.
    comment_on_github("d-next", 9002, "Great, closing.")
    run_outbox(sqs, queue_url)
    assert mailed()[1]["In-Reply-To"] == "<a2@mail.example.com>"


def test_one_click_unsubscribe_and_a_bounce_stop_the_mail(deployment, dynamodb):
    """The List-Unsubscribe link takes Alice off #45; a bounce suppresses its addresses."""
    _, sqs, queue_url = deployment
    mail_in("ses-1", "a1@mail.example.com", "The printer on floor 3 jams.\r\n")
    comment_on_github("d-1", 9001, "Which model is it?")
    run_outbox(sqs, queue_url)
    [update] = mailed()
    header = update["List-Unsubscribe"]
    link = re.search(r"<(https://[^>]+)>", header).group(1)
    assert link.startswith(WEBHOOK_URL + "unsubscribe?")
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # What a mail client does for RFC 8058 one-click: POST the fixed body to the link.
    click = copy.deepcopy(json.loads((TESTS / "events" / "functionUrlEvent.json").read_text()))
    parts = urlsplit(link)
    click["rawPath"] = click["requestContext"]["http"]["path"] = parts.path
    click["rawQueryString"] = parts.query
    click["requestContext"]["http"]["method"] = "POST"
    click["headers"] = {"content-type": "application/x-www-form-urlencoded"}
    click["body"] = "List-Unsubscribe=One-Click"
    assert webhook_function.lambda_handler(click, Context())["statusCode"] == 200
    assert participants(dynamodb) == []

    comment_on_github("d-2", 9002, "Still there?")
    run_outbox(sqs, queue_url)
    assert len(mailed()) == 1

    # SES's bounce for another address arrives through the same queue.
    bounce = json.loads((TESTS / "events" / "sesBouncePermanent.json").read_text())
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(bounce))
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    item = dynamodb.scan(
        TableName=CLAIMS_TABLE,
        FilterExpression="begins_with(id, :s)",
        ExpressionAttributeValues={":s": {"S": "suppressed#"}},
    )["Items"]
    assert sorted(entry["reason"]["S"] for entry in item) == ["bounce", "bounce"]


def test_mail_goes_through_the_configuration_set_whose_events_stop_the_mail(
    deployment, dynamodb, monkeypatch
):
    """Each update names SES_CONFIGURATION_SET; the set's bounce event for Alice (eventType, as
    event publishing writes it) suppresses her, and the next comment mails nobody."""
    _, sqs, queue_url = deployment
    # The clients the functions make, made from a session that shows what SES is asked.
    session = botocore.session.get_session()
    session.set_config_variable("region", REGION)
    named: list[str | None] = []
    session.register(
        "before-parameter-build.ses.SendRawEmail",
        lambda params, **_: named.append(params.get("ConfigurationSetName")),
    )
    monkeypatch.setattr(lambda_runtime, "_session", lambda: session)
    mail_in("ses-1", "a1@mail.example.com", "The printer on floor 3 jams.\r\n")
    comment_on_github("d-1", 9001, "Which model is it?")
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    assert [update["To"] for update in mailed()] == ["alice@example.com"]
    assert named == ["tr-mail"]

    bounce = json.loads((TESTS / "events" / "sesEventBounce.json").read_text())
    bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] = "Alice@Example.com"
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(bounce))
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    suppressed = dynamodb.scan(
        TableName=CLAIMS_TABLE,
        FilterExpression="begins_with(id, :s)",
        ExpressionAttributeValues={":s": {"S": "suppressed#"}},
    )["Items"]
    assert sorted((entry["id"]["S"], entry["reason"]["S"]) for entry in suppressed) == sorted(
        (f"suppressed#{address_digest(who)}", "bounce")
        for who in ("alice@example.com", "omar@allowed.org")
    )

    comment_on_github("d-2", 9002, "Still there?")
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": []}
    assert len(mailed()) == 1
    assert named == ["tr-mail"]


def test_a_message_the_outbox_cannot_read_is_left_for_the_dead_letter_queue(deployment):
    """Only the unreadable message of a batch is reported as failed; the others are done."""
    _, sqs, queue_url = deployment
    sqs.send_message(QueueUrl=queue_url, MessageBody="not a work item")
    transient = json.loads((TESTS / "events" / "sesBounceTransient.json").read_text())
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(transient))
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    unreadable = next(
        m["MessageId"] for m in messages["Messages"] if m["Body"] == "not a work item"
    )
    assert run_outbox(sqs, queue_url) == {"batchItemFailures": [{"itemIdentifier": unreadable}]}


def test_an_outbox_without_its_table_says_so(monkeypatch):
    """A misconfigured outbox fails its init with what is missing, not a KeyError."""
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    outbox_function.runtime.cache_clear()
    with pytest.raises(RuntimeError, match="IDEMPOTENCY_TABLE is not set"):
        outbox_function.runtime()
    outbox_function.runtime.cache_clear()


def test_the_outbox_holds_its_claims_as_long_as_terraform_says(deployment, monkeypatch):
    """CLAIM_HOLD_SECONDS is how long a send's claim is held; unset, the hold Terraform's
    defaults give; not a positive number, the function refuses to start."""
    assert outbox_function.runtime()._claim_hold == 6 * 60 * 5 + 60
    monkeypatch.setenv("CLAIM_HOLD_SECONDS", "2000")
    outbox_function.runtime.cache_clear()
    assert outbox_function.runtime()._claim_hold == 2000
    monkeypatch.setenv("CLAIM_HOLD_SECONDS", "0")
    outbox_function.runtime.cache_clear()
    with pytest.raises(RuntimeError, match="CLAIM_HOLD_SECONDS must be a positive number"):
        outbox_function.runtime()


class Remaining:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


@pytest.mark.parametrize(("millis", "sending"), [(60_000, 30.0), (900_000, 870.0), (10_000, 5.0)])
def test_sends_start_only_while_one_can_finish(millis: int, sending: float):
    """The last send starts a send's longest time (SES's timeouts, the claim's writes) before
    the invocation's end; half-way for a function whose timeout is shorter than twice that."""
    assert outbox_function.sending_deadline(Remaining(millis), clock=lambda: 100.0).at == (
        100.0 + sending
    )
