"""The webhook function end to end: Function URL events through moto's SQS, DynamoDB and
Secrets Manager."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest

from handler import webhook_function
from handler.aws.deliveries import DynamoDeliveries
from handler.aws.participants import DynamoParticipants
from handler.aws.sqs import SqsQueue
from handler.aws.webhook_secret import WebhookSecret
from handler.outbound.errors import OutboundError
from handler.outbound.github_events import Actor, WorkItem
from handler.outbound.http import Request, read_payload
from handler.outbound.participants import Participant
from handler.outbound.signatures import app_secret, owner_secret
from handler.outbound.unsubscribe import unsubscribe_key, unsubscribe_url
from handler.reasons import Reason
from tests.complexity import MAX_GROWTH, growth
from tests.conftest import TESTS
from tests.dynamo import CLAIMS_TABLE

# What the deployed fixture resets: tests that replace the runtime build theirs from it.
BUILD_RUNTIME = webhook_function.runtime
REGION = "eu-west-1"
# The master, in Secrets Manager; GitHub holds only the secrets derived from it.
SECRET = "It's a Secret to Everybody"
OWNER_SECRET = owner_secret(SECRET.encode(), "Codertocat")
APP_ID = 123456
APP_SECRET = app_secret(SECRET.encode(), APP_ID)
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
REPO = "Codertocat/Hello-World"
ISSUE_URL = "https://github.com/Codertocat/Hello-World/issues/1"
BASE_URL = "https://abc123.lambda-url.eu-west-1.on.aws"
ROUTES = """\
routes:
  - domain: issues.example.com
    repo: codertocat/hello-world
    allowed_senders: [example.com]
    notify_participants: true
    github_app: {app_id: 123456, installation_id: 7, private_key_secret: app-key}
  - domain: clients.example.com
    repo: client-org/site
    allowed_senders: [example.com]
    notify_participants: true
    github_app: {client_id: Iv23liClientApp, installation_id: 99, private_key_secret: app-key}
  - domain: quiet.example.com
    repo: example-org/quiet
    allowed_senders: [example.com]
  - domain: victim.example.com
    repo: victim-org/private
    allowed_senders: [example.com]
    notify_participants: true
"""


class Context:
    """The fields of Lambda's context object that Powertools reads."""

    function_name = "ticket-router-webhook"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:ticket-router-webhook"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def deployed(dynamodb, monkeypatch, tmp_path) -> Iterator[dict[str, Any]]:
    """The queue, the secret, a routes file and the environment Terraform would set."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="work")["QueueUrl"]
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(Name="webhook", SecretString=SECRET)["ARN"]
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    monkeypatch.setenv("ROUTES_FILE", str(routes))
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", arn)
    monkeypatch.setenv("WORK_QUEUE_URL", queue_url)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", CLAIMS_TABLE)
    webhook_function.runtime.cache_clear()
    yield {"sqs": sqs, "queue_url": queue_url, "secrets": secrets, "arn": arn}
    webhook_function.runtime.cache_clear()


@pytest.fixture
def stdout_log() -> Iterator[io.StringIO]:
    """What the function's log handler writes (its stream is bound at import, before capsys)."""
    handler = webhook_function.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def function_url_event(
    method: str,
    path: str = "/",
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    as_base64: bool = False,
) -> dict[str, Any]:
    """The sample Function URL event (payload format 2.0) carrying this request."""
    event: dict[str, Any] = json.loads((TESTS / "events" / "functionUrlEvent.json").read_text())
    event["rawPath"] = path
    event["rawQueryString"] = query
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["headers"] = {**event["headers"], **(headers or {})}
    if as_base64:
        event["body"] = base64.b64encode(body).decode()
    elif body:
        event["body"] = body.decode()
    event["isBase64Encoded"] = as_base64
    return event


def github_payload(name: str = "issue_comment.created.1.json", **changes: Any) -> dict[str, Any]:
    """A copied example payload, happened just now unless told otherwise."""
    data: dict[str, Any] = json.loads((TESTS / "github" / "webhooks" / name).read_text())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if "comment" in data:
        data["comment"]["created_at"] = now
    data["issue" if "issue" in data else "repository"]["updated_at"] = now
    return data | changes


def sign(body: bytes, secret: str = OWNER_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(
    payload: dict[str, Any] | None = None,
    *,
    event: str = "issue_comment",
    delivery_id: str = DELIVERY,
    secret: str = OWNER_SECRET,
    body: bytes | None = None,
    signature: str | None = None,
    content_type: str = "application/json",
    as_base64: bool = False,
    app: int | None = None,
    target_type: str = "integration",
) -> dict[str, Any]:
    """A GitHub delivery as GitHub sends it, signed with ``secret`` (Codertocat's webhook's,
    unless told otherwise); from the webhook of the app ``app`` when one is given."""
    raw = body if body is not None else json.dumps(payload or github_payload()).encode()
    headers = {
        "content-type": content_type,
        "x-github-event": event,
        "x-github-delivery": delivery_id,
        "x-hub-signature-256": signature if signature is not None else sign(raw, secret),
        "user-agent": "GitHub-Hookshot/044aadd",
        # What a repository's webhook sends; an app's names itself.
        "x-github-hook-installation-target-type": "repository" if app is None else target_type,
        "x-github-hook-installation-target-id": "186853002" if app is None else str(app),
    }
    return function_url_event("POST", headers=headers, body=raw, as_base64=as_base64)


def call(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = webhook_function.lambda_handler(event, Context())
    return result


def queued(deployed: dict[str, Any]) -> list[str]:
    """The bodies of every message on the work queue."""
    messages = deployed["sqs"].receive_message(
        QueueUrl=deployed["queue_url"], MaxNumberOfMessages=10
    )
    return [message["Body"] for message in messages.get("Messages", [])]


# The default delivery's event: Codertocat/Hello-World#1's comment 492700400.
EVENT_KEY = "codertocat/hello-world#1#comment#492700400"


def delivery_key(event: str = EVENT_KEY) -> dict[str, Any]:
    """The record of an event, as Powertools' idempotency utility names it."""
    digest = hashlib.md5(json.dumps(event).encode(), usedforsecurity=False).hexdigest()
    return {"id": {"S": f"delivery#{digest}"}}


def delivery_item(dynamodb: Any, event: str = EVENT_KEY) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=CLAIMS_TABLE, Key=delivery_key(event)
    ).get("Item")
    return item


def test_signed_comment_is_queued(deployed, dynamodb):
    """An issue_comment/created for a notifying route signed with its owner's secret -> 202
    queued, the work item's JSON on the queue, the event remembered for seven days."""
    payload = github_payload()
    result = call(delivery(payload))
    assert result == {
        "statusCode": 202,
        "headers": {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
        "body": "queued: issue_comment/created of Codertocat/Hello-World#1\n",
        "isBase64Encoded": False,
    }
    expected = WorkItem(
        event="issue_comment",
        action="created",
        delivery=DELIVERY,
        repo=REPO,
        issue=1,
        title="Spelling error in the README file",
        updated_at=payload["issue"]["updated_at"],
        actor=Actor("Codertocat", "User"),
        comment_id=492700400,
        comment_body="You are totally right! I'll get this fixed right away.",
    )
    assert queued(deployed) == [expected.to_json()]
    item = delivery_item(dynamodb)
    assert item is not None
    assert item["status"] == {"S": "COMPLETED"}
    assert abs(int(item["expiration"]["N"]) - (time.time() + 7 * 86400)) < 60


def test_closed_issue_is_queued(deployed):
    """An issues/closed delivery is queued with its state reason."""
    payload = github_payload("issues.reopened.json", action="closed")
    payload["issue"]["state_reason"] = "completed"
    assert call(delivery(payload, event="issues"))["statusCode"] == 202
    [body] = queued(deployed)
    assert json.loads(body)["action"] == "closed"
    assert json.loads(body)["state_reason"] == "completed"


def test_base64_body_is_verified_on_its_bytes(deployed):
    """A body Lambda passes base64-encoded is decoded before its signature is checked."""
    assert call(delivery(as_base64=True))["statusCode"] == 202
    assert len(queued(deployed)) == 1


def test_form_encoded_payload_is_accepted(deployed):
    """application/x-www-form-urlencoded with payload=<json> is read like JSON."""
    body = urlencode({"payload": json.dumps(github_payload())}).encode()
    result = call(delivery(body=body, content_type="application/x-www-form-urlencoded"))
    assert result["statusCode"] == 202
    assert json.loads(queued(deployed)[0])["comment_id"] == 492700400


def test_derived_secrets_are_labelled_hmacs_of_the_master():
    """owner_secret and app_secret are hex HMAC-SHA256 of the master under their own labels,
    the owner lowercased: each differs from the master, from the other and from the
    unsubscribe key."""
    master = b"master"
    owner = owner_secret(master, "Example-Org")
    app = app_secret(master, 42)
    label = b"ticket-router webhook "
    assert owner == hmac.new(master, label + b"owner\x00example-org", hashlib.sha256).hexdigest()
    assert app == hmac.new(master, label + b"app\x00" + b"42", hashlib.sha256).hexdigest()
    assert owner_secret(master, "example-org") == owner
    assert len({owner, app, master.hex(), unsubscribe_key(master).hex()}) == 4


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "sha256=" + "0" * 64},
        {"secret": "another secret"},
        {"secret": owner_secret(SECRET.encode(), "example-org")},
        {"secret": APP_SECRET},
    ],
    ids=["zeros", "other-secret", "other-owner", "app-not-said"],
)
def test_wrong_signature_is_401(deployed, dynamodb, change):
    """A signature that does not match the body under the master or its owner's secret -> 401,
    nothing queued: another owner's or an app's secret will not do."""
    result = call(delivery(**change))
    assert (result["statusCode"], result["body"]) == (
        401,
        "signature-invalid: X-Hub-Signature-256 does not match the body under the master "
        "secret or the secret of owner Codertocat\n",
    )
    assert queued(deployed) == []
    assert delivery_item(dynamodb) is None


def victims_comment(**repository: Any) -> dict[str, Any]:
    """A comment on victim-org/private, a notifying route of another owner."""
    payload = github_payload()
    payload["repository"].update(full_name="Victim-Org/Private", **repository)
    return payload


@pytest.mark.parametrize(
    "owner",
    [{}, {"owner": {"login": "Victim-Org", "type": "Organization"}}],
    ids=["owner-login-left", "owner-login-changed"],
)
def test_owner_secret_does_not_sign_another_owners_repository(deployed, dynamodb, owner):
    """A payload naming victim-org's repository signed with Codertocat's secret (the secret an
    admin of Codertocat's repositories knows) -> 401, nothing queued or claimed."""
    result = call(delivery(victims_comment(**owner)))
    assert (result["statusCode"], result["body"]) == (
        401,
        "signature-invalid: X-Hub-Signature-256 does not match the body under the master "
        "secret or the secret of owner Victim-Org\n",
    )
    assert queued(deployed) == []
    assert delivery_item(dynamodb) is None


def test_owners_own_secret_signs_its_repository(deployed):
    """The same payload signed with victim-org's own secret is queued (the refusal above is
    the owner check, not a broken payload)."""
    victim = owner_secret(SECRET.encode(), "victim-org")
    result = call(delivery(victims_comment(), secret=victim))
    assert (result["statusCode"], result["body"]) == (
        202,
        "queued: issue_comment/created of Victim-Org/Private#1\n",
    )
    assert len(queued(deployed)) == 1


def test_the_master_signs_any_repository(deployed):
    """The secret in Secrets Manager itself (a single-owner deployment pastes it into GitHub)
    signs deliveries about every owner's repositories."""
    for number, payload in enumerate((github_payload(), victims_comment())):
        result = call(delivery(payload, secret=SECRET, delivery_id=f"d-{number}"))
        assert result["statusCode"] == 202, result["body"]
    assert len(queued(deployed)) == 2


def test_app_secret_signs_the_repositories_of_its_routes(deployed):
    """A delivery of the webhook of the app a route posts as (named by its app id), signed with
    the app's secret, is queued; for a route that names its app by client id the app cannot be
    told, whatever installation the delivery claims: 401."""
    result = call(delivery(github_payload(), secret=APP_SECRET, app=APP_ID))
    assert (result["statusCode"], result["body"]) == (
        202,
        "queued: issue_comment/created of Codertocat/Hello-World#1\n",
    )
    payload = github_payload()
    payload["repository"]["full_name"] = "Client-Org/Site"
    payload["installation"] = {"id": 99, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uOTk="}
    other = app_secret(SECRET.encode(), 777)
    result = call(delivery(payload, secret=other, app=777, delivery_id="d-client"))
    assert (result["statusCode"], result["body"]) == (
        401,
        "signature-invalid: app 777 is not the app of a route of Client-Org/Site\n",
    )


def test_app_secret_does_not_sign_another_owners_repository(deployed):
    """The app's secret (its owner may be another organization) signs nothing about a
    repository no route posts to as that app: 401, nothing queued."""
    result = call(delivery(victims_comment(), secret=APP_SECRET, app=APP_ID))
    assert (result["statusCode"], result["body"]) == (
        401,
        "signature-invalid: app 123456 is not the app of a route of Victim-Org/Private\n",
    )
    assert queued(deployed) == []


@pytest.mark.parametrize("header", ["", "sha1=" + "0" * 40, "sha256=xyz"])
def test_a_signature_header_of_another_form_is_401(deployed, header):
    """A header that is not sha256=<64 hex digits> is refused before the secret is read."""
    result = call(delivery(signature=header))
    assert (result["statusCode"], result["body"]) == (
        401,
        "signature-invalid: X-Hub-Signature-256 is not sha256=<64 hex digits>\n",
    )


@pytest.mark.parametrize(
    ("change", "whose"),
    [
        ({"secret": app_secret(SECRET.encode(), APP_ID + 1)}, "owner Codertocat or app 123456"),
        ({"target_type": "repository"}, "owner Codertocat"),
        ({"app": 0}, "owner Codertocat"),
    ],
    ids=["other-app", "not-an-app", "bad-app-id"],
)
def test_app_signature_needs_the_app_and_its_secret(deployed, change, whose):
    """The app's secret counts only when the delivery says it comes from that app's webhook
    (target type integration, a valid app id), and another app's secret not at all."""
    result = call(delivery(**({"secret": APP_SECRET, "app": APP_ID} | change)))
    assert (result["statusCode"], result["body"]) == (
        401,
        "signature-invalid: X-Hub-Signature-256 does not match the body under the master "
        f"secret or the secret of {whose}\n",
    )
    assert queued(deployed) == []


def test_owner_name_is_case_insensitive(deployed):
    """GitHub's logins are case-insensitive: the secret of "codertocat" signs Codertocat's."""
    assert call(delivery(secret=owner_secret(SECRET.encode(), "CODERTOCAT")))["statusCode"] == 202


@pytest.mark.parametrize(
    ("change", "by_master"),
    [
        ({"body": b"{}"}, "malformed-payload"),
        ({"body": b'{"repository": {"full_name": "Codertocat"}}'}, "malformed-payload"),
        ({"body": b'{"repository": "Codertocat/x"}'}, "malformed-payload"),
        ({"body": b'{"organization": {"login": "a b"}}'}, "malformed-payload"),
    ],
    ids=["empty", "no-slash", "not-object", "bad-login"],
)
def test_body_naming_no_owner_is_401(deployed, change, by_master):
    """A body that names no owner, of a webhook that is not an app's, signed with an owner's
    secret -> 401: only the master could have signed it; signed with the master it is read,
    and refused (400) for what it lacks."""
    result = call(delivery(**change))
    assert (result["statusCode"], result["body"]) == (
        401,
        "signature-invalid: X-Hub-Signature-256 does not match the body under the master secret\n",
    )
    assert queued(deployed) == []
    read = call(delivery(**change, secret=SECRET))
    assert read["statusCode"] == 400
    assert read["body"].startswith(by_master)
    assert queued(deployed) == []


def test_tampered_body_is_401(deployed):
    """A body changed after signing no longer matches its signature."""
    original = json.dumps(github_payload()).encode()
    tampered = original.replace(b"right away", b"never ever")
    result = call(delivery(body=tampered, signature=sign(original)))
    assert result["statusCode"] == 401
    assert queued(deployed) == []


def test_missing_signature_is_401(deployed):
    """A delivery without X-Hub-Signature-256 -> 401 signature-missing."""
    event = delivery()
    del event["headers"]["x-hub-signature-256"]
    result = call(event)
    assert (result["statusCode"], result["body"]) == (
        401,
        "signature-missing: no X-Hub-Signature-256 header\n",
    )
    assert queued(deployed) == []


DUPLICATE = (202, "duplicate-delivery: this event was received before\n")


def test_replayed_delivery_is_acknowledged_once(deployed):
    """The same delivery id twice (GitHub's redelivery) -> the second is 202
    duplicate-delivery; one message only."""
    assert call(delivery())["statusCode"] == 202
    again = call(delivery())
    assert (again["statusCode"], again["body"]) == DUPLICATE
    assert len(queued(deployed)) == 1


def test_signed_body_replayed_under_a_new_delivery_id_is_a_duplicate(deployed):
    """The delivery id is a header the signature does not cover: the same signed body under
    any other X-GitHub-Delivery is the same event, and is not queued again."""
    body = json.dumps(github_payload()).encode()
    assert call(delivery(body=body))["statusCode"] == 202
    for replay in ("00000000-0000-0000-0000-000000000000", "a", "72D3162E-CC78-11E3"):
        again = call(delivery(body=body, delivery_id=replay))
        assert (again["statusCode"], again["body"]) == DUPLICATE
    assert len(queued(deployed)) == 1


def test_same_event_from_a_second_webhook_is_queued_once(deployed):
    """The repository's webhook and the app's deliver the same comment (other ids, other
    bodies): it is queued once."""
    payload = github_payload()
    assert call(delivery(payload))["statusCode"] == 202
    payload["installation"] = {"id": 7, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNw=="}
    from_app = call(delivery(payload, secret=APP_SECRET, app=APP_ID, delivery_id="d-app"))
    assert (from_app["statusCode"], from_app["body"]) == DUPLICATE
    assert len(queued(deployed)) == 1


def test_another_comment_is_another_event(deployed):
    """A second comment (its own id) on the same issue is queued too."""
    assert call(delivery())["statusCode"] == 202
    second = github_payload()
    second["comment"]["id"] = 492700401
    assert call(delivery(second, delivery_id="d-2"))["statusCode"] == 202
    assert len(queued(deployed)) == 2


def test_closing_reopening_and_closing_again_are_three_events(deployed):
    """A change of state is keyed by the issue's updated_at: each change is queued, a replay of
    one is not."""
    closing = github_payload("issues.reopened.json", action="closed")
    reopening = github_payload("issues.reopened.json")
    later = datetime.fromtimestamp(time.time() + 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    closing_again = github_payload("issues.reopened.json", action="closed")
    closing_again["issue"]["updated_at"] = later
    answers = [
        call(delivery(payload, event="issues", delivery_id=f"d-{n}"))["body"]
        for n, payload in enumerate((closing, reopening, closing_again, closing))
    ]
    assert answers == [
        "queued: issues/closed of Codertocat/Hello-World#1\n",
        "queued: issues/reopened of Codertocat/Hello-World#1\n",
        "queued: issues/closed of Codertocat/Hello-World#1\n",
        DUPLICATE[1],
    ]


def test_expired_delivery_record_is_claimed_again(deployed, dynamodb):
    """A delivery record past its expiration (DynamoDB deletes late) does not block."""
    dynamodb.put_item(
        TableName=CLAIMS_TABLE,
        Item={
            **delivery_key(),
            "expiration": {"N": str(int(time.time()) - 1)},
            "status": {"S": "COMPLETED"},
        },
    )
    assert call(delivery())["statusCode"] == 202
    assert len(queued(deployed)) == 1


class Crash(BaseException):
    """The function cut off by its timeout: nothing after the raise runs, not even the release
    a failure would make."""


class DiesOnSend:
    def send(self, body: str) -> None:
        raise Crash


def with_runtime(monkeypatch, **changes: Any) -> None:
    """The deployed runtime with ``changes`` made to it."""
    built = BUILD_RUNTIME()
    changed = functools.cache(lambda: replace(built, **changes))
    monkeypatch.setattr(webhook_function, "runtime", changed)


def in_millis(seconds: float) -> int:
    return int(seconds * 1000)


def test_delivery_of_a_function_that_died_before_queueing_is_queued_after_a_minute(
    deployed, dynamodb, monkeypatch
):
    """Claimed, then the function dies before the queue: the id is held for 60 s (a redelivery
    meanwhile fails with 503, so GitHub shows it as failed), then a redelivery is queued, not
    lost."""
    with_runtime(monkeypatch, queue=DiesOnSend())
    payload = github_payload()
    started = time.time()
    with pytest.raises(Crash):
        call(delivery(payload))
    item = delivery_item(dynamodb)
    assert item is not None
    assert item["status"] == {"S": "INPROGRESS"}
    held = int(item["in_progress_expiration"]["N"])
    assert in_millis(started + 59) <= held <= in_millis(time.time() + 60)
    monkeypatch.setattr(webhook_function, "runtime", BUILD_RUNTIME)
    answer = call(delivery(payload))
    assert (answer["statusCode"], answer["body"]) == (
        503,
        "delivery-in-progress: this event is being queued; redeliver it after 60 s\n",
    )
    # The minute passes.
    lapsed = {"N": str(in_millis(time.time()) - 1)}
    dynamodb.put_item(TableName=CLAIMS_TABLE, Item={**item, "in_progress_expiration": lapsed})
    assert call(delivery(payload))["statusCode"] == 202
    assert len(queued(deployed)) == 1


def test_queued_delivery_is_a_duplicate_for_seven_days(deployed, dynamodb):
    """Once queued, the event is remembered until now + 7 days: a redelivery a minute or six
    days later is a duplicate."""
    payload = github_payload()
    assert call(delivery(payload))["statusCode"] == 202
    item = delivery_item(dynamodb)
    assert item is not None
    assert item["status"] == {"S": "COMPLETED"}
    assert abs(int(item["expiration"]["N"]) - (time.time() + 7 * 86400)) < 60
    for left in (7 * 86400 - 61, 86400):
        expiration = {"N": str(int(time.time()) + left)}
        dynamodb.put_item(TableName=CLAIMS_TABLE, Item={**item, "expiration": expiration})
        assert call(delivery(payload))["body"] == DUPLICATE[1]
    assert len(queued(deployed)) == 1


class Failing:
    """A DynamoDB client whose ``operation`` fails as a missing table does."""

    def __init__(self, client: Any, operation: str) -> None:
        self._client = client
        self._operation = operation

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != self._operation:
            return method
        return lambda **kwargs: method(**{**kwargs, "TableName": "no-such-table"})


def test_remembering_holds_confirms_and_releases(dynamodb):
    """An event's work runs once: held for 60 s while it runs, remembered for 7 days after;
    a failing work releases the event, so that the next delivery runs it."""
    deliveries = DynamoDeliveries(dynamodb, CLAIMS_TABLE)
    seen: list[dict[str, Any] | None] = []
    assert deliveries.once("d-1", lambda: seen.append(delivery_item(dynamodb, "d-1"))).fresh
    [held] = seen
    assert held is not None
    assert held["status"] == {"S": "INPROGRESS"}
    assert abs(int(held["in_progress_expiration"]["N"]) - in_millis(time.time() + 60)) < 5000
    done = delivery_item(dynamodb, "d-1")
    assert done is not None
    assert done["status"] == {"S": "COMPLETED"}
    assert abs(int(done["expiration"]["N"]) - (time.time() + 7 * 86400)) < 60
    assert deliveries.once("d-1", lambda: seen.append(None)).fresh is False
    assert len(seen) == 1

    def refused() -> None:
        raise OutboundError(Reason.QUEUE_UNAVAILABLE, "cannot queue")

    with pytest.raises(OutboundError) as raised:
        deliveries.once("d-2", refused)
    assert raised.value.detail == "cannot queue"
    assert delivery_item(dynamodb, "d-2") is None
    assert deliveries.once("d-2", lambda: None).fresh


def test_a_release_that_fails_says_the_id_stays_claimed(deployed, dynamodb, monkeypatch):
    """SQS refusing and then the store refusing the release -> 503 queue-unavailable, the
    detail saying that GitHub's redelivery will be taken for a duplicate."""
    with_runtime(
        monkeypatch,
        deliveries=DynamoDeliveries(Failing(dynamodb, "delete_item"), CLAIMS_TABLE),
        queue=SqsQueue(deployed["sqs"], deployed["queue_url"] + "-missing"),
    )
    result = call(delivery())
    assert result["statusCode"] == 503
    assert result["body"].startswith("queue-unavailable: cannot queue the work item (")
    assert result["body"].endswith(
        "; the event stays claimed: cannot forget it (ResourceNotFoundException)\n"
    )


def test_confirm_failure_still_answers_queued(deployed, dynamodb, monkeypatch):
    """The store failing after the item is queued -> still 202 queued (the work is on the
    queue), the detail saying that the id is held for a minute only."""
    failing = Failing(dynamodb, "update_item")
    with_runtime(monkeypatch, deliveries=DynamoDeliveries(failing, CLAIMS_TABLE))
    result = call(delivery())
    assert (result["statusCode"], result["body"]) == (
        202,
        "queued: issue_comment/created of Codertocat/Hello-World#1; the event is held for "
        "60 s only: cannot confirm it (ResourceNotFoundException)\n",
    )
    assert len(queued(deployed)) == 1
    item = delivery_item(dynamodb)
    assert item is not None
    assert item["status"] == {"S": "INPROGRESS"}


def test_unknown_repository_is_ignored(deployed, dynamodb):
    """A repository no route names -> 202 unknown-repository, nothing queued or claimed."""
    payload = github_payload()
    payload["repository"]["full_name"] = "someone/else"
    result = call(delivery(payload, secret=owner_secret(SECRET.encode(), "someone")))
    assert (result["statusCode"], result["body"]) == (
        202,
        "unknown-repository: no route names someone/else\n",
    )
    assert queued(deployed) == []
    assert delivery_item(dynamodb) is None


def test_repository_of_a_route_without_notify_participants_is_ignored(deployed):
    """A repository whose routes do not notify participants -> 202 not-notifying."""
    payload = github_payload()
    payload["repository"]["full_name"] = "Example-Org/Quiet"
    result = call(delivery(payload, secret=owner_secret(SECRET.encode(), "example-org")))
    assert (result["statusCode"], result["body"]) == (
        202,
        "not-notifying: no route of Example-Org/Quiet has notify_participants\n",
    )
    assert queued(deployed) == []


def test_stale_event_is_ignored(deployed, dynamodb):
    """A comment created more than 72 hours ago (a replayed capture) -> 202 stale-event."""
    payload = github_payload()
    payload["comment"]["created_at"] = "2019-05-15T15:20:21Z"
    result = call(delivery(payload))
    assert result["statusCode"] == 202
    assert result["body"].startswith("stale-event: the event is ")
    assert queued(deployed) == []
    assert delivery_item(dynamodb) is None


def test_event_just_under_72_hours_is_queued(deployed):
    """A comment 71 hours old is still queued."""
    payload = github_payload()
    created = datetime.fromtimestamp(time.time() - 71 * 3600, UTC)
    payload["comment"]["created_at"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert call(delivery(payload))["statusCode"] == 202


# The webhook's clock in the tests of time: 2026-01-01T00:00:00Z.
CLOCK = 1_767_225_600.0


def at(offset: float) -> str:
    """GitHub's way of writing the moment ``offset`` seconds after CLOCK."""
    return datetime.fromtimestamp(CLOCK + offset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def timed(comment_created: float, comment_updated: float, issue_updated: float) -> dict[str, Any]:
    payload = github_payload()
    payload["comment"]["created_at"] = at(comment_created)
    payload["comment"]["updated_at"] = at(comment_updated)
    payload["issue"]["updated_at"] = at(issue_updated)
    return payload


@pytest.mark.parametrize(
    ("times", "seconds"),
    [
        ((301, 301, 301), 301),
        ((0, 3600, 0), 3600),
        ((0, 0, 86400 * 30), 86400 * 30),
        ((-3600, -3600, 10**9), 10**9),
    ],
    ids=["created", "comment-updated", "issue-updated", "far-ahead"],
)
def test_event_dated_in_the_future_is_refused(deployed, dynamodb, monkeypatch, times, seconds):
    """A comment whose creation, update or issue's update lies more than five minutes after
    now -> 400 future-event: it would stay fresh after it is forgotten, and be queued again."""
    with_runtime(monkeypatch, clock=lambda: CLOCK)
    result = call(delivery(timed(*times)))
    assert (result["statusCode"], result["body"]) == (
        400,
        f"future-event: the event is dated {seconds} seconds from now\n",
    )
    assert queued(deployed) == []
    assert delivery_item(dynamodb) is None


def test_closing_dated_in_the_future_is_refused(deployed, monkeypatch):
    """An issues event is dated by the issue's updated_at."""
    with_runtime(monkeypatch, clock=lambda: CLOCK)
    payload = github_payload("issues.reopened.json", action="closed")
    payload["issue"]["updated_at"] = at(600)
    result = call(delivery(payload, event="issues"))
    assert (result["statusCode"], result["body"]) == (
        400,
        "future-event: the event is dated 600 seconds from now\n",
    )


def test_event_within_the_clock_skew_is_queued(deployed, monkeypatch):
    """GitHub's clock may run five minutes ahead of ours: such an event is queued."""
    with_runtime(monkeypatch, clock=lambda: CLOCK)
    assert call(delivery(timed(300, 300, 300)))["statusCode"] == 202
    assert len(queued(deployed)) == 1


def test_author_login_that_is_not_a_login_is_400(deployed):
    """A signed comment whose author is not a GitHub login (words, a link) -> 400
    malformed-payload: the mail names its author, and nothing else may pass for one."""
    payload = github_payload()
    payload["comment"]["user"]["login"] = "Your account is locked: https://evil.example/login"
    result = call(delivery(payload))
    assert (result["statusCode"], result["body"]) == (
        400,
        "malformed-payload: comment.user.login is missing or not a GitHub login\n",
    )
    assert queued(deployed) == []


def test_an_apps_bot_is_a_login(deployed):
    """A comment by an app's bot ("name[bot]") is queued with that login."""
    payload = github_payload()
    payload["comment"]["user"] = {"login": "dependabot[bot]", "type": "Bot"}
    assert call(delivery(payload))["statusCode"] == 202
    assert json.loads(queued(deployed)[0])["actor"]["login"] == "dependabot[bot]"


def test_payload_links_are_not_queued(deployed):
    """The work item carries the comment's id, never the payload's html_url: the outbox
    builds its links on the route's GitHub."""
    payload = github_payload()
    payload["comment"]["html_url"] = "https://evil.example/login"
    payload["issue"]["html_url"] = "https://evil.example/login"
    assert call(delivery(payload))["statusCode"] == 202
    [body] = queued(deployed)
    assert "evil.example" not in body


def test_ping_is_answered_pong(deployed):
    """A repository webhook's ping signed with the owner's secret -> 200 pong, nothing
    queued."""
    payload = json.loads((TESTS / "github" / "webhooks" / "ping.json").read_text())
    octocoders = owner_secret(SECRET.encode(), "Octocoders")
    result = call(delivery(payload, event="ping", secret=octocoders))
    assert (result["statusCode"], result["body"]) == (200, "pong\n")
    assert queued(deployed) == []


def test_organization_ping_is_signed_by_the_organization(deployed):
    """An organization webhook's ping names no repository: organization.login is the owner."""
    payload = json.loads((TESTS / "github" / "webhooks" / "ping.json").read_text())
    organization = payload.pop("repository")["owner"]
    payload["organization"] = {"login": organization["login"], "id": organization["id"]}
    octocoders = owner_secret(SECRET.encode(), "Octocoders")
    result = call(delivery(payload, event="ping", secret=octocoders))
    assert (result["statusCode"], result["body"]) == (200, "pong\n")
    wrong = call(delivery(payload, event="ping"))
    assert (wrong["statusCode"], wrong["body"]) == (
        401,
        "signature-invalid: X-Hub-Signature-256 does not match the body under the master "
        "secret or the secret of owner Octocoders\n",
    )


def test_app_ping_names_no_owner_and_is_signed_by_the_app(deployed):
    """An app webhook's ping names no repository or organization: the app's secret signs it."""
    payload = json.loads((TESTS / "github" / "webhooks" / "ping.json").read_text())
    del payload["repository"]
    payload["hook"] = {"type": "App", "id": 1, "app_id": APP_ID}
    result = call(delivery(payload, event="ping", secret=APP_SECRET, app=APP_ID))
    assert (result["statusCode"], result["body"]) == (200, "pong\n")


def test_event_not_mailed_is_acknowledged(deployed):
    """An edited comment -> 202 action-not-handled."""
    result = call(delivery(github_payload("issue_comment.edited.json")))
    assert (result["statusCode"], result["body"]) == (
        202,
        "action-not-handled: issue_comment/edited is not mailed\n",
    )
    assert queued(deployed) == []


APP = {"secret": APP_SECRET, "app": APP_ID}


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"delivery_id": ""}, "X-GitHub-Delivery is missing or malformed"),
        ({"delivery_id": "a b"}, "X-GitHub-Delivery is missing or malformed"),
        ({"event": ""}, "X-GitHub-Event is missing or malformed"),
        ({"event": "Issue-Comment"}, "X-GitHub-Event is missing or malformed"),
    ],
)
def test_bad_request_is_400(deployed, change, detail):
    """A signed request without its event or delivery header -> 400 bad-request."""
    result = call(delivery(**change))
    assert (result["statusCode"], result["body"]) == (400, f"bad-request: {detail}\n")
    assert queued(deployed) == []


NESTED = b"[" * 1000 + b"]" * 1000
FORM = "application/x-www-form-urlencoded"
UNREADABLE = [
    (NESTED, {}, "the payload nests deeper than 32 levels"),
    (b"[" * 100_000, {}, "the payload nests deeper than 32 levels"),
    (b'{"a":' * 40 + b"1" + b"}" * 40, {}, "the payload nests deeper than 32 levels"),
    (b"{not json", {}, "the payload is not JSON"),
    (b"", {}, "the payload is not JSON"),
    (b'{"a": NaN}', {}, "the payload has NaN, which is not JSON"),
    (b'{"a": -Infinity}', {}, "the payload has -Infinity, which is not JSON"),
    (b"[1, 2]", {}, "the payload is not a JSON object"),
    (b'"text"', {}, "the payload is not a JSON object"),
    (b"\xff\xfe", {"as_base64": True}, "the body is not UTF-8"),
    (b'{"a": "\xed\xa0\x80"}', {"as_base64": True}, "the body is not UTF-8"),
    (b'{"a": "\\ud800"}', {}, "the payload holds a lone UTF-16 surrogate"),
    (b'{"a": ["\\udfff x"]}', {}, "the payload holds a lone UTF-16 surrogate"),
    (b'{"a": 1, "a": 2}', {}, "the payload has a duplicate key"),
    (b'{"a": {"b": 1, "b": 1}}', {}, "the payload has a duplicate key"),
    (b'{"a": ' + b"9" * 5000 + b"}", {}, "the payload has a number of more than 20 digits"),
    (b'{"a": -' + b"1" * 21 + b"}", {}, "the payload has a number of more than 20 digits"),
    (b"{}", {"content_type": "text/plain"}, "the content type text/plain is not JSON or a form"),
    (b"{}", {"content_type": ""}, "the content type (none) is not JSON or a form"),
    (
        b"{}",
        {"content_type": "application/\u202e" + "x" * 100},
        "the content type application/\\u202e" + "x" * 22 + "... is not JSON or a form",
    ),
    (b"other=1", {"content_type": FORM}, "the form body has no single payload field"),
    (b"payload=%ff", {"content_type": FORM}, "the form body is malformed"),
    (b"a=1&" * 11, {"content_type": FORM}, "the form body is malformed"),
    (
        b"payload=" + b"%5B" * 1000,
        {"content_type": FORM},
        "the payload nests deeper than 32 levels",
    ),
]


@pytest.mark.parametrize("case", UNREADABLE)
@pytest.mark.parametrize("signer", ["master", "app", "owner", "nobody"])
def test_body_that_cannot_be_read_is_400(deployed, dynamodb, case, signer):
    """A body that is not a JSON object as GitHub writes one -> 400 unreadable-body with what
    is wrong, whoever signed it (the master, the app, an owner's secret, which cannot have
    signed what names no owner, or nobody): never a 5xx, nothing queued or claimed."""
    body, change, detail = case
    keys = {"master": SECRET, "app": APP_SECRET, "owner": OWNER_SECRET, "nobody": "guess"}
    app = {"app": APP_ID} if signer == "app" else {}
    result = call(delivery(body=body, secret=keys[signer], **app, **change))
    assert (result["statusCode"], result["body"]) == (400, f"unreadable-body: {detail}\n")
    assert queued(deployed) == []
    assert dynamodb.scan(TableName=CLAIMS_TABLE)["Items"] == []


HOSTILE_BODIES = {
    "brackets": lambda n: b"[" * n,
    "unterminated-strings": lambda n: b'["' + b'\\"' * n,
    "quotes": lambda n: b'"' * n,
    "escapes": lambda n: b'{"a": "' + b"\\\\" * n,
    "numbers": lambda n: b"[" + b"1," * n + b"1]",
    "keys": lambda n: b"{" + b",".join(b'"k%d": 1' % i for i in range(n // 8)) + b"}",
}


@pytest.mark.parametrize("make", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_reading_a_body_is_linear(make):
    """Reading any body (nesting, strings, numbers, keys) costs time linear in its size: n and
    8n bytes, compared in one run."""

    def read(size: int) -> object:
        return read_payload(
            Request("POST", "/", "", {"content-type": "application/json"}, make(size))
        )

    assert growth(read, 16_000) < MAX_GROWTH


@pytest.mark.parametrize(
    "body", ["not base64!", "e30", "e30=\n"], ids=["alphabet", "padding", "newline"]
)
def test_body_flagged_base64_that_is_not_is_400(deployed, body):
    """A Function URL event whose isBase64Encoded body does not decode -> 400."""
    event = delivery()
    event["body"], event["isBase64Encoded"] = body, True
    result = call(event)
    assert (result["statusCode"], result["body"]) == (
        400,
        "unreadable-body: the body is not valid base64\n",
    )


def test_text_body_with_a_lone_surrogate_is_400(deployed):
    """A body that is text in the event but no UTF-8 can carry -> 400."""
    event = delivery()
    event["body"] = '{"a": "\ud800"}'
    result = call(event)
    assert (result["statusCode"], result["body"]) == (
        400,
        "unreadable-body: the body is not UTF-8\n",
    )


@pytest.mark.parametrize("as_base64", [False, True])
@pytest.mark.parametrize("signer", ["master", "nobody"])
def test_body_over_a_mebibyte_is_413(deployed, dynamodb, as_base64, signer):
    """A body over 1 MiB -> 413 body-too-large before its signature is checked or it is read;
    1 MiB itself is read."""
    payload = github_payload()
    padding = 1024 * 1024 - len(json.dumps(payload).encode())
    payload["comment"]["body"] = "x" * (padding + len(payload["comment"]["body"]))
    fits = json.dumps(payload).encode()
    assert len(fits) == 1024 * 1024
    secret = SECRET if signer == "master" else "guess"
    result = call(delivery(body=fits + b" ", secret=secret, as_base64=as_base64))
    assert (result["statusCode"], result["body"]) == (
        413,
        "body-too-large: the body is larger than 1048576 bytes\n",
    )
    read = call(delivery(body=fits, secret=secret, as_base64=as_base64))
    assert read["statusCode"] == (202 if signer == "master" else 401)
    assert len(queued(deployed)) == (1 if signer == "master" else 0)


def test_unsubscribe_body_over_a_mebibyte_is_413(deployed):
    """The cap holds on /unsubscribe too, whose body is never read."""
    event = function_url_event("POST", "/unsubscribe", query=unsubscribe_query(), body=b"x" * 2**21)
    assert call(event)["statusCode"] == 413


def test_malformed_payload_is_400(deployed):
    """A signed payload without the fields a work item needs -> 400 malformed-payload."""
    payload = github_payload()
    del payload["issue"]["number"]
    result = call(delivery(payload))
    assert (result["statusCode"], result["body"]) == (
        400,
        "malformed-payload: issue.number is missing or not a positive integer\n",
    )


def test_queue_failure_is_503_and_releases_the_delivery(deployed, dynamodb, monkeypatch):
    """SQS refusing -> 503 queue-unavailable and the delivery id deleted, so that GitHub's
    redelivery is queued once the queue is back."""
    monkeypatch.setenv("WORK_QUEUE_URL", deployed["queue_url"] + "-missing")
    webhook_function.runtime.cache_clear()
    result = call(delivery())
    assert result["statusCode"] == 503
    assert result["body"].startswith("queue-unavailable: cannot queue the work item (")
    assert delivery_item(dynamodb) is None
    monkeypatch.setenv("WORK_QUEUE_URL", deployed["queue_url"])
    webhook_function.runtime.cache_clear()
    assert call(delivery())["statusCode"] == 202
    assert len(queued(deployed)) == 1


def test_store_failure_is_503(deployed, monkeypatch):
    """DynamoDB failing -> 503 store-unavailable, nothing queued."""
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "no-such-table")
    webhook_function.runtime.cache_clear()
    result = call(delivery())
    assert (result["statusCode"], result["body"]) == (
        503,
        "store-unavailable: cannot record the event (ResourceNotFoundException)\n",
    )
    assert queued(deployed) == []


def test_unreadable_secret_is_503(deployed, monkeypatch):
    """A secret that cannot be read -> 503 secret-unavailable (GitHub will redeliver)."""
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", deployed["arn"] + "-missing")
    webhook_function.runtime.cache_clear()
    result = call(delivery())
    assert (result["statusCode"], result["body"]) == (
        503,
        "secret-unavailable: the webhook secret could not be read (ResourceNotFoundException)\n",
    )


def test_secret_as_json_object(deployed):
    """A master stored as JSON {"secret": ...} derives the owners' secrets like the bare one."""
    deployed["secrets"].put_secret_value(
        SecretId=deployed["arn"], SecretString=json.dumps({"secret": "json-held"})
    )
    held = owner_secret(b"json-held", "Codertocat")
    assert call(delivery(secret=held))["statusCode"] == 202


def test_rotated_secret_is_read_again_at_most_once_a_minute(deployed, monkeypatch):
    """After a mismatch the master is read again, but not within a minute of the last read."""
    now = [1000.0]
    built = webhook_function.runtime()
    secret = WebhookSecret(
        boto3.client("secretsmanager", region_name=REGION), deployed["arn"], clock=lambda: now[0]
    )
    with_clock = functools.cache(lambda: replace(built, secret=secret))
    monkeypatch.setattr(webhook_function, "runtime", with_clock)
    assert call(delivery(delivery_id="d-1"))["statusCode"] == 202
    deployed["secrets"].put_secret_value(SecretId=deployed["arn"], SecretString="rotated")
    rotated = owner_secret(b"rotated", "Codertocat")
    second = github_payload()
    second["comment"]["id"] = 492700401
    now[0] += 30
    assert call(delivery(second, delivery_id="d-2", secret=rotated))["statusCode"] == 401
    now[0] += 31
    assert call(delivery(second, delivery_id="d-3", secret=rotated))["statusCode"] == 202
    assert call(delivery(second, delivery_id="d-4"))["statusCode"] == 401
    assert len(queued(deployed)) == 2


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/", 405, "method-not-allowed: GET /\n"),
        ("PUT", "/unsubscribe", 405, "method-not-allowed: PUT /unsubscribe\n"),
        ("GET", "/x", 404, "not-found: no such path\n"),
        ("POST", "/%00/../\u202e", 404, "not-found: no such path\n"),
        ("X" * 100, "/", 405, "method-not-allowed: " + "X" * 40 + "... /\n"),
        ("G\u0130T\n<b>", "/", 405, "method-not-allowed: G\\u0130T\\n<B> /\n"),
    ],
    ids=["get-root", "put-unsubscribe", "other-path", "hostile-path", "long-method", "odd-method"],
)
def test_other_methods_and_paths(deployed, method, path, status, body):
    """Only POST / and GET or POST /unsubscribe exist; what the client sent is quoted short
    and escaped."""
    result = call(function_url_event(method, path))
    assert (result["statusCode"], result["body"]) == (status, body)
    allow = {"/": "POST", "/unsubscribe": "GET, POST"}.get(path)
    assert result["headers"].get("Allow") == (allow if status == 405 else None)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-hub-signature-256": "sha256=" + "0" * 64 + "\u0000"},
        {"x-hub-signature-256": "\ud800"},
        {"x-github-hook-installation-target-type": "integration"},
        {"x-github-hook-installation-target-id": "9" * 400},
        {"x-github-hook-installation-target-id": "\u0661\u0662"},
        {"content-type": "application/json; charset=\ud800"},
        {"x-github-event": "\u0000" * 10_000},
    ],
    ids=["nul", "surrogate", "app-without-id", "huge-id", "arabic-digits", "charset", "event"],
)
def test_hostile_headers_are_never_a_5xx(deployed, headers):
    """Whatever the headers say, the answer is 4xx or 2xx and says why."""
    event = delivery()
    event["headers"] = {**event["headers"], **headers}
    result = call(event)
    assert 200 <= result["statusCode"] < 500
    assert result["body"].split(":")[0] in set(Reason)


def test_log_line_names_the_request_never_its_body(deployed, stdout_log):
    """One JSON line per request: status, reason, delivery, event, repo; not the comment."""
    call(delivery())
    [line] = [json.loads(text) for text in stdout_log.getvalue().splitlines()]
    assert {key: line[key] for key in ("message", "status", "reason", "delivery", "event")} == {
        "message": "webhook",
        "status": 202,
        "reason": "queued",
        "delivery": DELIVERY,
        "event": "issue_comment",
    }
    assert (line["repo"], line["issue"]) == (REPO, 1)
    assert "right away" not in stdout_log.getvalue()
    assert SECRET not in stdout_log.getvalue()


ALICE = "Alice@Example.com"


def unsubscribe_query(secret: str = SECRET, issue: int = 1) -> str:
    url = unsubscribe_url(BASE_URL, unsubscribe_key(secret.encode()), REPO, issue, ALICE)
    return urlsplit(url).query


def participants(dynamodb: Any) -> DynamoParticipants:
    return DynamoParticipants(dynamodb, CLAIMS_TABLE)


def add_alice(dynamodb: Any) -> None:
    participant = Participant(ALICE, "issues.example.com", "", "m1@example.com", "Spelling")
    participants(dynamodb).add(REPO, 1, participant, time.time())


PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def test_unsubscribe_link_shows_a_confirmation_page(deployed, dynamodb):
    """GET of a valid link -> 200 page naming the issue, a POST form, and nobody removed."""
    add_alice(dynamodb)
    query = unsubscribe_query()
    result = call(function_url_event("GET", "/unsubscribe", query=query))
    assert (result["statusCode"], result["headers"]) == (200, PAGE_HEADERS)
    body = result["body"]
    assert "<title>Unsubscribe from Codertocat/Hello-World#1</title>" in body
    assert "Stop getting mail about Codertocat/Hello-World#1?" in body
    action = "/unsubscribe?" + query.replace("&", "&amp;")
    assert f'<form method="post" action="{action}">' in body
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in body
    assert len(participants(dynamodb).of(REPO, 1).participants) == 1


@pytest.mark.parametrize(
    "body", [b"List-Unsubscribe=One-Click", b""], ids=["one-click", "empty-form"]
)
def test_unsubscribe_post_removes_the_participant(deployed, dynamodb, body):
    """POST of a valid link (RFC 8058 one-click or the page's form) removes the participant;
    a second POST says the same."""
    add_alice(dynamodb)
    event = function_url_event(
        "POST",
        "/unsubscribe",
        query=unsubscribe_query(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=body,
    )
    result = call(event)
    assert result["statusCode"] == 200
    assert "You will no longer get mail about Codertocat/Hello-World#1." in result["body"]
    assert participants(dynamodb).of(REPO, 1).participants == ()
    again = call(event)
    assert (again["statusCode"], again["body"]) == (200, result["body"])


def test_unsubscribe_reasons_are_logged(deployed, dynamodb, stdout_log):
    """The log tells a removal from a repeat, and names no address."""
    add_alice(dynamodb)
    event = function_url_event("POST", "/unsubscribe", query=unsubscribe_query())
    call(event)
    call(event)
    lines = [json.loads(text) for text in stdout_log.getvalue().splitlines()]
    assert [line["reason"] for line in lines] == ["unsubscribed", "already-unsubscribed"]
    assert "alice" not in stdout_log.getvalue().lower()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_unsubscribe_link_is_400(deployed, dynamodb, method):
    """A link signed with another secret (an owner's webhook secret too: only the master
    signs), or changed, -> 400 page, nobody removed."""
    add_alice(dynamodb)
    for query in (
        unsubscribe_query(secret="guessed"),
        unsubscribe_query(secret=OWNER_SECRET),
        unsubscribe_query().replace("i=1", "i=2"),
        "r=<script>&i=1",
    ):
        result = call(function_url_event(method, "/unsubscribe", query=query))
        assert (result["statusCode"], result["headers"]) == (400, PAGE_HEADERS)
        assert "This unsubscribe link is not valid" in result["body"]
        assert "<script>" not in result["body"]
    assert len(participants(dynamodb).of(REPO, 1).participants) == 1


@pytest.mark.parametrize(
    "query",
    [
        "",
        "%",
        "r=%ff%fe&i=1&p=x&s=y",
        "r=a/b&" * 30,
        "i=" + "9" * 5000,
        "r=\u0000&i=\ud800",
        "r=Codertocat/Hello-World&i=01&p=" + "0" * 32 + "&s=" + "A" * 43,
        "&&&;;;==",
    ],
    ids=["empty", "percent", "bad-utf8", "too-many", "huge-issue", "controls", "zero", "junk"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_hostile_unsubscribe_query_is_400(deployed, query, method):
    """Whatever the query holds, a link that is not ours is the 400 page, never a 5xx."""
    result = call(function_url_event(method, "/unsubscribe", query=query))
    assert (result["statusCode"], result["headers"]) == (400, PAGE_HEADERS)


def test_unsubscribe_store_failure_is_503(deployed, monkeypatch):
    """The participants store failing -> 503 page: try again later."""
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "no-such-table")
    webhook_function.runtime.cache_clear()
    result = call(function_url_event("POST", "/unsubscribe", query=unsubscribe_query()))
    assert result["statusCode"] == 503
    assert "Please try again in a while." in result["body"]
