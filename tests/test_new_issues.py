"""New issues by mail through the Lambda, end to end.

moto plays S3, DynamoDB (claims and the thread map), SES (the confirmation) and Secrets Manager
(the app's private key); a GitHub Enterprise Server on 127.0.0.1 mints installation tokens only
for a JWT whose signature checks out with the app's public key, and keeps issues and comments.
The round trip: a mail opens an issue as the app, the sender gets a threaded confirmation from
the issue's address, the same mail again opens nothing, and replies (to the issue's address, or
to the new-issue address their client kept) land on the issue as comments.
"""

from __future__ import annotations

import copy
import email
import json
from datetime import UTC, datetime
from email.policy import default
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handler import lambda_function
from tests.conftest import TESTS
from tests.dynamo import CLAIMS_TABLE
from tests.fakegithub import FakeGitHub
from tests.sesmail import ses_mail
from tests.test_lambda import Context

REGION = "eu-west-1"
CLIENT_ID = "Iv23liTicketRouterTest"
INSTALLATION = 4242
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Mint:
    """``POST /app/installations/{id}/access_tokens``: a token only for a JWT signed by the app's
    key, issued by the app, valid for at most ten minutes."""

    def __init__(self) -> None:
        self.public_pem = KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.bodies: list[Any] = []
        self.tokens: list[str] = []

    def __call__(self, request: Request) -> Response:
        assertion = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                assertion, key=self.public_pem, algorithms=["RS256"], issuer=CLIENT_ID
            )
        except jwt.InvalidTokenError:
            return Response('{"message": "A JSON web token could not be decoded"}', 401)
        if claims["exp"] - claims["iat"] > 600:
            return Response('{"message": "exp too far in the future"}', 401)
        self.bodies.append(request.get_json())
        token = f"ghs_installation{len(self.tokens)}"
        self.tokens.append(token)
        expires = datetime.fromtimestamp(claims["iat"] + 3660, UTC)
        answer = {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return Response(json.dumps(answer), 201, content_type="application/json")


@pytest.fixture
def deployment(monkeypatch, httpserver: HTTPServer, tmp_path, dynamodb):
    """What terraform apply makes, with a route that opens issues as a GitHub App on a GHES;
    moto (with the claims table) is the ``dynamodb`` fixture's."""
    api = f"http://127.0.0.1:{httpserver.port}/api/v3"
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n"
        "  - domain: issues.example.com\n"
        "    prefix: web-\n"
        "    repo: example-org/website\n"
        "    allowed_senders: [example.com]\n"
        "    new_issue_address: new\n"
        "    labels: [from-email]\n"
        "    confirm: true\n"
        f"    api_url: {api}\n"
        f"    github_app: {{client_id: {CLIENT_ID}, installation_id: {INSTALLATION}, "
        "private_key_secret: ticket-router/app-key}\n"
    )
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    boto3.client("ses", region_name=REGION).verify_domain_identity(Domain="issues.example.com")
    pem = KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="ticket-router/app-key", SecretString=pem
    )
    for name, value in {
        "MAIL_BUCKET": "mail",
        "MAIL_PREFIX": "inbound/",
        "IDEMPOTENCY_TABLE": CLAIMS_TABLE,
        "ROUTES_FILE": str(routes),
        # The deployment's own token is never read: the route names its app.
        "GITHUB_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
    }.items():
        monkeypatch.setenv(name, value)
    mint = Mint()
    httpserver.expect_request(
        f"/api/v3/app/installations/{INSTALLATION}/access_tokens", method="POST"
    ).respond_with_handler(mint)
    github = FakeGitHub(httpserver).install()
    github.seed("example-org/website", issues=56)
    lambda_function.runtime.cache_clear()
    yield github, mint
    lambda_function.runtime.cache_clear()


def deliver(key: str, raw: bytes, recipient: str) -> dict[str, Any]:
    """Store ``raw`` as SES does and invoke the function with SES's event for it."""
    boto3.client("s3", region_name=REGION).put_object(Bucket="mail", Key=f"inbound/{key}", Body=raw)
    event = copy.deepcopy(json.loads((TESTS / "events" / "sesEvent.json").read_text()))
    record = event["Records"][0]["ses"]
    record["mail"]["messageId"] = key
    record["mail"]["destination"] = [recipient]
    record["mail"]["timestamp"] = datetime.now(UTC).isoformat()
    record["receipt"]["recipients"] = [recipient]
    [decision] = lambda_function.lambda_handler(event, Context())["decisions"]
    return decision


def sent() -> list[email.message.EmailMessage]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [
        email.message_from_string(message.raw_data, policy=default)  # type: ignore[misc]
        for message in backend.sent_messages
    ]


def mail(message_id: str, recipient: str, body: str, subject: str, extra: str = "") -> bytes:
    raw = ses_mail(body, recipient=recipient, to=recipient, subject=subject, extra=extra)
    return raw.replace(b"<m1@example.com>", f"<{message_id}>".encode())


def test_a_mail_opens_an_issue_and_its_thread_comments_on_it(deployment):
    github, mint = deployment
    first = mail(
        "first@example.com",
        "web-new@issues.example.com",
        "The contact form drops the last character.\r\n",
        "Fwd: Contact form drops characters",
    )
    opened = deliver("m-first", first, "web-new@issues.example.com")
    assert (opened["action"], opened["reason"], opened["repo"], opened["issue"]) == (
        "open",
        "opened",
        "example-org/website",
        57,
    )
    [issue] = github.opened()
    assert (issue.number, issue.title, issue.labels) == (
        57,
        "Contact form drops characters",
        ["from-email"],
    )
    assert "The contact form drops the last character." in issue.body
    # Minted once, for this repository only, with the least the comment needs.
    assert mint.bodies == [{"repositories": ["website"], "permissions": {"issues": "write"}}]

    [confirmation] = sent()
    mail_key = opened["mail"]
    assert confirmation["From"] == "web-57@issues.example.com"
    assert confirmation["To"] == "alice@example.com"
    assert confirmation["In-Reply-To"] == "<first@example.com>"
    assert confirmation["References"] == "<first@example.com>"
    assert confirmation["Message-ID"] == f"<opened.{mail_key}@issues.example.com>"
    assert confirmation["Subject"] == "Re: Fwd: Contact form drops characters"
    assert confirmation.get_content() == (
        "Your mail opened issue #57 in example-org/website: "
        f"{issue_url(github, 57)}\r\n\r\n"
        "Reply to this mail, or write to web-57@issues.example.com, to add a comment to it.\r\n"
        "\r\n-- \r\nThis is an automatic message.\r\n"
    )

    # The same mail again (SES redelivers, or a replay): the claim says it opened 57 already.
    again = deliver("m-first-copy", first, "web-new@issues.example.com")
    assert (again["action"], again["reason"], again["issue"]) == ("open", "already-opened", 57)
    assert len(github.opened()) == 1
    assert len(sent()) == 1

    # The sender answers the confirmation: their client writes to the issue's address.
    reply = mail(
        "reply@example.com",
        "web-57@issues.example.com",
        "It also drops accents.\r\n",
        "Re: Fwd: Contact form drops characters",
        f"In-Reply-To: <opened.{mail_key}@issues.example.com>\r\n"
        f"References: <first@example.com> <opened.{mail_key}@issues.example.com>\r\n",
    )
    commented = deliver("m-reply", reply, "web-57@issues.example.com")
    assert (commented["action"], commented["reason"], commented["issue"]) == (
        "comment",
        "posted",
        57,
    )

    # A colleague answers the first mail with "reply all": the new-issue address again.
    kept = mail(
        "colleague@example.com",
        "web-new@issues.example.com",
        "Seen in Safari too.\r\n",
        "Re: Fwd: Contact form drops characters",
        "In-Reply-To: <first@example.com>\r\nReferences: <first@example.com>\r\n",
    )
    threaded = deliver("m-kept", kept, "web-new@issues.example.com")
    assert (threaded["action"], threaded["reason"], threaded["issue"]) == (
        "comment",
        "posted",
        57,
    )
    assert len(github.opened()) == 1
    assert [(c.issue, c.body.count("Seen in Safari")) for c in github.comments] == [
        (57, 0),
        (57, 1),
    ]
    # One installation token served every request: cached, not minted per mail.
    assert len(mint.tokens) == 1
    assert {r.headers["Authorization"] for r, _ in github.server.log if "/repos/" in r.path} == {
        "Bearer ghs_installation0"
    }


def test_a_new_mail_from_the_same_sender_opens_a_second_issue(deployment):
    github, _ = deployment
    deliver(
        "m-a",
        mail("a@example.com", "web-new@issues.example.com", "A\r\n", "First"),
        "web-new@issues.example.com",
    )
    second = deliver(
        "m-b",
        mail("b@example.com", "web-new@issues.example.com", "B\r\n", "Second"),
        "web-new@issues.example.com",
    )
    assert (second["reason"], second["issue"]) == ("opened", 58)
    assert [i.title for i in github.opened()] == ["First", "Second"]
    # Each issue is confirmed, although both came from one sender on one day.
    assert [m["From"] for m in sent()] == ["web-57@issues.example.com", "web-58@issues.example.com"]


def issue_url(github: FakeGitHub, number: int) -> str:
    [issue] = [i for i in github.opened() if i.number == number]
    return f"https://github.com/{issue.repo}/issues/{number}"
