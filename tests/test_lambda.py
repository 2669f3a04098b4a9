"""The Lambda entry point end to end: moto for S3 and Secrets Manager, GitHub on 127.0.0.1."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_httpserver import HTTPServer

from handler import lambda_function
from handler.aws import lambda_runtime
from handler.deadline import Deadline
from handler.github.errors import GitHubError
from handler.reasons import Reason, RetryLater
from handler.routing import load_routes
from handler.service.events import EventError
from handler.service.inbound import Runtime, handle_event
from tests.conftest import TESTS
from tests.sesmail import ses_mail

REGION = "eu-west-1"
TOKEN = "ghp_lambdaTestToken0123456789"
COMMENT_PATH = "/repos/example-org/app/issues/7/comments"


class Context:
    """The fields of Lambda's context object that the handler and Powertools read."""

    function_name = "ticket-router"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:ticket-router"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def log_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    """Every line the function logged, each of which must be a JSON object on its own."""
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def load_event(name: str) -> dict[str, Any]:
    return json.loads((TESTS / "events" / name).read_text())


def ses_event() -> dict[str, Any]:
    """The sample SES action event, for the mail the fixture stored, sent to issue 7."""
    event = load_event("sesEvent.json")
    record = event["Records"][0]["ses"]
    record["receipt"]["recipients"] = ["7@issues.example.com"]
    record["mail"]["destination"] = ["7@issues.example.com"]
    record["mail"]["source"] = "alice@example.com"
    # Received just now: a first delivery, posted without looking for an earlier copy.
    record["mail"]["timestamp"] = datetime.now(UTC).isoformat()
    return event


@pytest.fixture
def deployed(monkeypatch, httpserver: HTTPServer):
    """A bucket holding one mail, a token secret, and the environment Terraform would set."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="mail", Key="inbound/o3vrnil0e2ic28tr", Body=ses_mail())
        secrets = boto3.client("secretsmanager", region_name=REGION)
        arn = secrets.create_secret(Name="github-token", SecretString=TOKEN)["ARN"]
        monkeypatch.setenv("MAIL_BUCKET", "mail")
        monkeypatch.setenv("MAIL_PREFIX", "inbound/")
        monkeypatch.setenv("GITHUB_TOKEN_SECRET_ARN", arn)
        monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
        monkeypatch.setenv("ROUTES_FILE", str(TESTS / "lambda" / "routes.yaml"))
        lambda_function.runtime.cache_clear()
        yield s3
        lambda_function.runtime.cache_clear()


def created(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(COMMENT_PATH, method="POST").respond_with_json(
        {"id": 99, "html_url": "https://github.com/example-org/app/issues/7#issuecomment-99"},
        status=201,
    )


def test_ses_event_posts_the_stored_mail(deployed, httpserver, stdout_log):
    """SES action event -> mail read from S3 -> one comment posted with the secret's token."""
    created(httpserver)
    result = lambda_function.lambda_handler(ses_event(), Context())
    [request] = [r for r, _ in httpserver.log]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "The build fails on ARM." in request.get_json()["body"]
    [decision] = result["decisions"]
    assert decision["reason"] == "posted"
    assert decision["url"] == "https://github.com/example-org/app/issues/7#issuecomment-99"
    assert "body" not in decision
    [line] = log_lines(stdout_log)
    assert line["action"] == "comment"
    assert line["s3_key"] == "inbound/o3vrnil0e2ic28tr"
    assert TOKEN not in stdout_log.getvalue()
    assert "The build fails" not in stdout_log.getvalue()


def test_decision_line_is_one_json_object_with_the_invocation_context(
    deployed, httpserver, stdout_log
):
    """A decision's log line is pure JSON: Powertools' envelope plus every decision field."""
    created(httpserver)
    lambda_function.lambda_handler(ses_event(), Context())
    [line] = log_lines(stdout_log)
    assert set(line) == {
        # Powertools' envelope, with the Lambda context of the invocation.
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "name",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        # The decision.
        "s3_bucket",
        "s3_key",
        "ses_message_id",
        "mail",
        "recipient",
        "route",
        "action",
        "reason",
        "detail",
        "repo",
        "issue",
        "url",
        "retryable",
        "sender_domain",
        "message_id_digest",
        "latency_ms",
        "mail_age_s",
    }
    assert {key: line[key] for key in ("level", "message", "service", "name")} == {
        "level": "INFO",
        "message": "decision",
        "service": "ticket-router",
        "name": "ticket_router",
    }
    assert line["function_request_id"] == Context.aws_request_id
    assert line["route"] == "route 1 (issues.example.com)"
    assert line["url"] == "https://github.com/example-org/app/issues/7#issuecomment-99"
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() is not None


def test_invocation_prints_its_metrics_in_the_configured_namespace(
    deployed, httpserver, monkeypatch, capsys
):
    """The function publishes one EMF line per invocation, in POWERTOOLS_METRICS_NAMESPACE."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Staging/TicketRouter")
    created(httpserver)
    lambda_function.lambda_handler(ses_event(), Context())
    [document] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == (
        "Staging/TicketRouter",
        [["service"]],
    )
    assert (document["MailsReceived"], document["CommentsPosted"]) == ([1.0], [1.0])


def test_transient_failure_publishes_metrics_before_failing(deployed, httpserver, capsys):
    """GitHub down: the invocation raises for a retry, and its Retried count is printed first."""
    httpserver.expect_oneshot_request(COMMENT_PATH, method="POST").respond_with_json(
        {"message": "Service Unavailable"}, status=503
    )
    with pytest.raises(RetryLater):
        lambda_function.lambda_handler(ses_event(), Context())
    totals = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (totals["_aws"]["CloudWatchMetrics"][0]["Namespace"], totals["Retried"]) == (
        "TicketRouter",
        [1.0],
    )


def test_s3_event_uses_the_stored_ses_block(deployed, httpserver):
    """S3 ObjectCreated event: verdicts and recipient come from the stored mail's SES block."""
    created(httpserver)
    deployed.put_object(Bucket="mail", Key="inbound/with space", Body=ses_mail())
    event = load_event("s3Event.json")
    event["Records"][0]["eventTime"] = datetime.now(UTC).isoformat()
    event["Records"][0]["s3"]["bucket"]["name"] = "mail"
    event["Records"][0]["s3"]["object"]["key"] = "inbound/with+space"
    result = lambda_function.lambda_handler(event, Context())
    assert [d["reason"] for d in result["decisions"]] == ["posted"]
    assert len(httpserver.log) == 1


def test_rejected_mail_succeeds_without_touching_github(deployed, httpserver):
    """A permanent rejection is logged and the invocation succeeds: nothing to retry."""
    deployed.put_object(
        Bucket="mail",
        Key="inbound/o3vrnil0e2ic28tr",
        Body=ses_mail(dmarc="fail", dkim="fail", spf="fail"),
    )
    event = ses_event()
    for verdict in ("spfVerdict", "dkimVerdict", "dmarcVerdict"):
        event["Records"][0]["ses"]["receipt"][verdict]["status"] = "FAIL"
    result = lambda_function.lambda_handler(event, Context())
    assert [d["reason"] for d in result["decisions"]] == ["not-authenticated"]
    assert httpserver.log == []


def test_missing_issue_is_a_permanent_failure(deployed, httpserver):
    """GitHub 404 in a repository the token can see: recorded as issue-not-found, not
    retried."""
    httpserver.expect_oneshot_request(COMMENT_PATH, method="POST").respond_with_json(
        {"message": "Not Found"}, status=404
    )
    httpserver.expect_oneshot_request("/repos/example-org/app", method="GET").respond_with_json(
        {"full_name": "example-org/app"}
    )
    result = lambda_function.lambda_handler(ses_event(), Context())
    assert [d["reason"] for d in result["decisions"]] == ["issue-not-found"]
    assert [(r.method, r.path) for r, _ in httpserver.log] == [
        ("POST", COMMENT_PATH),
        ("GET", "/repos/example-org/app"),
    ]


def test_a_repository_out_of_sight_is_retried(deployed, httpserver):
    """GitHub 404 for the comment and for the repository: repo-not-visible, retried."""
    httpserver.expect_oneshot_request(COMMENT_PATH, method="POST").respond_with_json(
        {"message": "Not Found"}, status=404
    )
    httpserver.expect_oneshot_request("/repos/example-org/app", method="GET").respond_with_json(
        {"message": "Not Found"}, status=404
    )
    with pytest.raises(RetryLater) as raised:
        lambda_function.lambda_handler(ses_event(), Context())
    assert str(raised.value) == "will be retried: inbound/o3vrnil0e2ic28tr: repo-not-visible"


def test_missing_object_is_retried(deployed, httpserver):
    """An event for a mail that is not in the bucket (deleted, or a wrong MAIL_BUCKET or
    MAIL_PREFIX): mail-not-found fails the invocation, so Lambda retries, then dead-letters it."""
    deployed.delete_object(Bucket="mail", Key="inbound/o3vrnil0e2ic28tr")
    with pytest.raises(RetryLater) as raised:
        lambda_function.lambda_handler(ses_event(), Context())
    assert str(raised.value) == "will be retried: inbound/o3vrnil0e2ic28tr: mail-not-found"
    assert httpserver.log == []


def test_setup_notification_is_skipped(deployed, httpserver):
    """SES's setup test object produces no decision and no request."""
    event = load_event("s3Event.json")
    event["Records"][0]["s3"]["object"]["key"] = "inbound/AMAZON_SES_SETUP_NOTIFICATION"
    assert lambda_function.lambda_handler(event, Context()) == {"decisions": []}
    assert httpserver.log == []


class Unavailable:
    def create_comment(
        self, repo: str, issue: int, body: str, *, since=None, posting=None, finish=None
    ):
        raise GitHubError(Reason.GITHUB_UNAVAILABLE, "502 Bad Gateway", status=502)


class Store:
    def fetch(self, bucket: str, key: str) -> bytes:
        return ses_mail()


def offline_runtime() -> Runtime:
    """A runtime whose store holds one mail and whose GitHub is down."""
    return Runtime(
        routes=load_routes(TESTS / "lambda" / "routes.yaml"),
        store=Store(),
        github=lambda route, deadline: Unavailable(),
        bucket="mail",
        prefix="inbound/",
    )


def test_transient_failure_fails_the_invocation_for_a_retry():
    """GitHub down: every mail is tried, then the invocation raises so Lambda retries it."""
    runtime = offline_runtime()
    with pytest.raises(RetryLater, match="inbound/o3vrnil0e2ic28tr: github-unavailable"):
        handle_event(ses_event(), runtime, Deadline.within(60.0))


def test_an_event_that_is_not_ses_s3_or_sqs_fails_loudly(stdout_log):
    """An unknown event is logged as an error and raised, so it ends in the dead-letter queue."""
    runtime = offline_runtime()
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "{}"}}]}
    with pytest.raises(EventError):
        handle_event(event, runtime, Deadline.within(60.0))
    [line] = log_lines(stdout_log)
    assert {key: line[key] for key in ("level", "message", "action", "reason", "detail")} == {
        "level": "ERROR",
        "message": "unsupported event",
        "action": "error",
        "reason": "unsupported-event",
        "detail": "record 0 has eventSource None; expected aws:ses or aws:s3",
    }


def test_a_cold_start_makes_the_s3_client_only(monkeypatch, tmp_path):
    """Every mail needs S3; Secrets Manager, DynamoDB and SES clients wait for a mail to post
    or a notice to send, so that a cold start (and a rejected mail) does not build them."""
    made: list[str] = []

    def client(service: str, config: object = None) -> SimpleNamespace:
        made.append(service)
        return SimpleNamespace(get_secret_value=lambda **_: {"SecretString": "token"})

    monkeypatch.setattr(lambda_function, "aws_client", client)
    monkeypatch.setattr(lambda_runtime, "aws_client", client)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "claims")
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n- {domain: issues.example.com, repo: o/r, allowed_senders: [example.com],"
        " notify: true}\n"
    )
    monkeypatch.setenv("ROUTES_FILE", str(routes))
    lambda_function.runtime.cache_clear()
    try:
        lambda_function.runtime()
    finally:
        lambda_function.runtime.cache_clear()
    assert made == ["s3"]
    lazy = lambda_function.LazyClient("secretsmanager")
    assert lazy.get_secret_value(SecretId="x") == {"SecretString": "token"}
    lazy.get_secret_value(SecretId="x")
    assert made == ["s3", "secretsmanager"]


def test_a_lazy_client_that_cannot_be_made_raises_instead_of_recursing(monkeypatch):
    def client(service: str, config: object = None) -> None:
        raise AttributeError("no such service")

    monkeypatch.setattr(lambda_runtime, "aws_client", client)
    lazy = lambda_function.LazyClient("secretsmanager")
    with pytest.raises(AttributeError):
        lazy.get_secret_value(SecretId="x")
    with pytest.raises(AttributeError):
        _ = lazy.__deepcopy__
