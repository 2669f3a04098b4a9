"""Per-route GitHub logins: the default token, a route's token secret, GitHub App installation
tokens minted against a stand-in GitHub on 127.0.0.1 that verifies each JWT with the app's public
key, with the secrets in moto's Secrets Manager.

tests/github/apps-create-installation-access-token.openapi.json is
``POST /app/installations/{installation_id}/access_tokens`` of ``@octokit/openapi`` 23.0.2
(``npm pack @octokit/openapi@23.0.2``, file ``generated/api.github.com.deref.json``), trimmed
small: ``externalDocs`` is its URL, ``parameters`` lose their ``examples``, ``requestBody`` is the
``application/json`` schema, ``response201`` is the 201's schema beside its ``default`` example
without ``repositories``, ``responses`` keep only each status's description; in both schemas
``permissions`` keeps only its ``issues`` and ``contents`` properties and the response's
``repositories`` is ``{"type": "array"}``; written with ``json.dump(..., indent=1,
sort_keys=True)``.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jsonschema import Draft202012Validator, ValidationError
from moto import mock_aws
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from handler import __version__
from handler.aws.secrets import Secrets
from handler.aws.store import StoreError
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.credentials import Credentials, GitHubClients, Login
from handler.github.errors import GitHubError
from handler.reasons import Reason
from handler.routing import GitHubApp, Route, TokenSecret
from tests.conftest import ROOT, TESTS
from tests.fakegithub import silent
from tests.secrets_clock import secrets_cached_by

REGION = "eu-west-1"
SPEC = json.loads(
    (TESTS / "github" / "apps-create-installation-access-token.openapi.json").read_text()
)
ISSUER = "Iv23liAbCdEf0123456789"
INSTALLATION = 4242
PATH = f"/api/v3/app/installations/{INSTALLATION}/access_tokens"
# A fixed start, so that expires_at and the JWT's times are exact.
START = 1_800_000_000
DEFAULT_TOKEN = "ghp_defaultToken0123456789"
NEVER = Deadline.never()


def left(seconds: float) -> Deadline:
    """A deadline ``seconds`` away on a clock that stands still."""
    return Deadline.within(seconds, clock=lambda: 0.0)


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


APP_KEY = rsa_key()
OTHER_KEY = rsa_key()


def pem(key: rsa.RSAPrivateKey, layout: str = "pkcs1") -> str:
    """PKCS#1 ("BEGIN RSA PRIVATE KEY") is what GitHub issues; PKCS#8 is openssl's usual."""
    encoding = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if layout == "pkcs1"
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(
        serialization.Encoding.PEM, encoding, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def pem_body(text: str) -> str:
    """The base64 lines of a PEM: what must never appear in an error."""
    return "".join(line for line in text.splitlines() if not line.startswith("-----"))


def route(repo: str = "example-org/app", credential=None, api_url: str | None = None) -> Route:
    return Route(
        index=0,
        domain="issues.example.com",
        prefix="",
        repo=repo,
        allowed_senders=("example.com",),
        credential=credential,
        api_url=api_url,
    )


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class CountingSecrets:
    """moto's Secrets Manager, counting the reads."""

    def __init__(self, client) -> None:
        self.client = client
        self.reads: list[str] = []

    def get_secret_value(self, SecretId: str):
        self.reads.append(SecretId)
        return self.client.get_secret_value(SecretId=SecretId)


class FakeGitHub:
    """``POST /app/installations/{id}/access_tokens`` as GitHub answers it: the JWT verified with
    the app's public key, its times checked against the test's clock, headers and body exact."""

    def __init__(self, clock: Clock, key: rsa.RSAPrivateKey = APP_KEY) -> None:
        self.clock = clock
        self.public_pem = public_pem(key)
        self.expires_in = 3600
        self.minted: list[str] = []
        self.bodies: list[object] = []
        self.jwts: list[str] = []
        self.problems: list[str] = []

    def __call__(self, request: Request) -> Response:
        assertion = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.jwts.append(assertion)
        try:
            claims = jwt.decode(
                assertion,
                key=self.public_pem,
                algorithms=["RS256"],
                issuer=ISSUER,
                # Times are checked below against the test's clock, not this machine's.
                options={
                    "require": ["iat", "exp", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as error:
            self.problems.append(f"JWT refused: {type(error).__name__}")
            return github_error(401, "A JSON web token could not be decoded")
        now = int(self.clock())
        if (claims["iat"], claims["exp"]) != (now - 60, now + 540):
            self.problems.append(f"JWT times {claims['iat']}, {claims['exp']} at {now}")
            return github_error(401, "'Expiration time' claim ('exp') is too far in the future")
        for name, value in {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"ticket-router/{__version__}",
            "Content-Type": "application/json",
        }.items():
            if request.headers.get(name) != value:
                self.problems.append(f"{name}: {request.headers.get(name)!r}")
        body = request.get_json()
        self.bodies.append(body)
        token = f"ghs_minted{len(self.minted)}For{body['repositories'][0]}"
        self.minted.append(token)
        expires = datetime.fromtimestamp(now + self.expires_in, UTC)
        return json_response(
            201,
            {
                "token": token,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": {"issues": "write"},
                "repository_selection": "selected",
            },
        )


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload), status=status, content_type="application/json", headers=headers
    )


def github_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    docs = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
    return json_response(
        status, {"message": message, "documentation_url": docs, "status": str(status)}, headers
    )


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield CountingSecrets(boto3.client("secretsmanager", region_name=REGION))


def store_key(secrets: CountingSecrets, text: str, name: str = "app-key") -> str:
    return secrets.client.create_secret(Name=name, SecretString=text)["ARN"]


def ghes(server: HTTPServer) -> str:
    return f"http://127.0.0.1:{server.port}/api/v3"


def credentials(
    secrets, clock: Clock, sleeps: Sleeps | None = None, *, max_age: int = 900, **kwargs
) -> Credentials:
    return Credentials(
        Secrets(secrets, max_age=max_age),
        lambda: DEFAULT_TOKEN,
        clock=clock,
        sleep=sleeps or Sleeps(),
        **kwargs,
    )


def app_route(server: HTTPServer, arn: str, repo: str = "example-org/app") -> Route:
    return route(repo, GitHubApp(ISSUER, INSTALLATION, arn), api_url=ghes(server))


def mint_with(server: HTTPServer, answer: Callable[[Request], Response]) -> None:
    server.expect_request(PATH, method="POST").respond_with_handler(answer)


# The default token and token secrets


def test_a_route_without_credential_gets_the_default_token():
    """The deployment's token, on the default API (trailing slash dropped), and never on
    another: a route's api_url cannot draw the deployment's token to its host."""
    logins = Credentials(None, lambda: DEFAULT_TOKEN, default_api_url="https://api.github.com/")
    assert logins.login(route(), NEVER) == Login(DEFAULT_TOKEN, "https://api.github.com", "default")
    elsewhere = route(api_url="https://ghe.example.com/api/v3/")
    assert logins.login(elsewhere, NEVER) == Login(
        DEFAULT_TOKEN, "https://api.github.com", "default"
    )


def test_a_token_secret_route_reads_its_secret_once_per_ttl(aws, monkeypatch):
    """The route's own token, cached: one Secrets Manager read until the TTL, then a rotation
    takes effect; its identity names the secret."""
    arn = aws.client.create_secret(Name="route-token", SecretString="ghp_routeToken1")["ARN"]
    clock = Clock()
    secrets_cached_by(clock, monkeypatch)
    logins = credentials(aws, clock, max_age=600)
    secret_route = route(credential=TokenSecret(arn))
    assert logins.login(secret_route, NEVER) == Login(
        "ghp_routeToken1", "https://api.github.com", f"secret:{arn}"
    )
    aws.client.put_secret_value(SecretId=arn, SecretString='{"token": "ghp_routeToken2"}')
    clock.now += 599
    assert logins.login(secret_route, NEVER).token == "ghp_routeToken1"
    assert aws.reads == [arn]
    clock.now += 2
    assert logins.login(secret_route, NEVER).token == "ghp_routeToken2"
    assert aws.reads == [arn, arn]


def test_a_refused_token_is_read_again_at_once(aws, httpserver: HTTPServer):
    """A rotated token: GitHub answers 401 to the cached one; the client's hook makes the next
    login (Lambda's retry, in the same container) read the secret again, TTL or not."""
    arn = aws.client.create_secret(Name="route-token", SecretString="ghp_old")["ARN"]
    clients = GitHubClients(credentials(aws, Clock(), max_age=900))
    secret_route = route(credential=TokenSecret(arn), api_url=ghes(httpserver))
    comments = "/api/v3/repos/example-org/app/issues/7/comments"
    httpserver.expect_oneshot_request(comments, method="POST").respond_with_json(
        {"message": "Bad credentials"}, status=401
    )
    httpserver.expect_oneshot_request(comments, method="POST").respond_with_json(
        {"id": 5, "html_url": "https://github.example.com/example-org/app/issues/7#c5"},
        status=201,
    )
    stale = clients(secret_route, left(60.0))
    aws.client.put_secret_value(SecretId=arn, SecretString="ghp_new")
    with pytest.raises(GitHubError) as caught:
        stale.create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient) == ("github-auth-failed", True)
    clients(secret_route, left(60.0)).create_comment("example-org/app", 7, "x")
    assert [r.headers["Authorization"] for r, _ in httpserver.log] == [
        "Bearer ghp_old",
        "Bearer ghp_new",
    ]
    assert aws.reads == [arn, arn]


def test_forgetting_drops_only_that_routes_login(httpserver: HTTPServer, aws):
    """An app route's minted token is minted again after forget; the default token's own
    forgetting is the deployment's (TokenSource.forget in Lambda)."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    forgotten: list[str] = []
    logins = Credentials(
        Secrets(aws),
        lambda: DEFAULT_TOKEN,
        forget_default=lambda: forgotten.append("default"),
        clock=clock,
        sleep=Sleeps(),
    )
    app = app_route(httpserver, arn)
    first = logins.login(app, NEVER).token
    assert logins.login(app, NEVER).token == first
    logins.forget(app)
    assert logins.login(app, NEVER).token != first
    assert len(github.minted) == 2
    logins.forget(route())
    assert forgotten == ["default"]


# Logins that commit a route's files (handler.github.contents)


def test_a_files_login_is_an_app_token_of_its_own_with_contents_write(httpserver: HTTPServer, aws):
    """For the repository files go to, a second token: Contents: write on the route's repository
    and the companion, no Issues; each token cached on its own, the key read once."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    logins = credentials(aws, clock)
    app = app_route(httpserver, arn)
    comments = logins.login(app, NEVER)
    files = logins.login(app, NEVER, files="Example-Org/files")
    assert (comments.token, files.token) == ("ghs_minted0Forapp", "ghs_minted1Forapp")
    # One installation: one rate limit for both.
    assert files.identity == comments.identity
    assert logins.login(app, NEVER, files="example-org/files").token == files.token
    assert logins.login(app, NEVER).token == comments.token
    assert github.bodies == [
        {"repositories": ["app"], "permissions": {"issues": "write"}},
        {"repositories": ["app", "files"], "permissions": {"contents": "write"}},
    ]
    for body in github.bodies:
        Draft202012Validator(SPEC["requestBody"]).validate(body)
    assert aws.reads == [arn]


def test_files_in_the_routes_own_repository_ask_for_it_once(httpserver: HTTPServer, aws):
    """No companion: Contents: write on the route's repository alone."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    credentials(aws, clock).login(app_route(httpserver, arn), NEVER, files="example-org/APP")
    assert github.bodies == [{"repositories": ["app"], "permissions": {"contents": "write"}}]


def test_a_companion_in_another_account_is_refused_without_asking(httpserver: HTTPServer, aws):
    """An installation names repositories without their owner: another account's companion
    would be a namesake in this one, so nothing is asked."""
    arn = store_key(aws, pem(APP_KEY))
    with pytest.raises(GitHubError) as caught:
        credentials(aws, Clock()).login(
            app_route(httpserver, arn), NEVER, files="someone-else/files"
        )
    assert (caught.value.reason, caught.value.transient) == (
        Reason.GITHUB_APP_REPO_NOT_INSTALLED,
        False,
    )
    assert "someone-else/files is not in example-org/app's account" in caught.value.detail
    assert httpserver.log == []


def test_an_installation_without_contents_is_refused_for_the_files_alone(
    httpserver: HTTPServer, aws
):
    """422 to the files' token (the App lacks Contents, or the companion is not installed):
    permanent, saying which permission; the comments' token is minted all the same."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)

    def answer(request: Request) -> Response:
        if "contents" in request.get_json()["permissions"]:
            return github_error(
                422, "The permissions requested are not granted to this installation."
            )
        return github(request)

    mint_with(httpserver, answer)
    logins = credentials(aws, clock)
    app = app_route(httpserver, arn)
    with pytest.raises(GitHubError) as caught:
        logins.login(app, NEVER, files="example-org/files")
    assert (caught.value.reason, caught.value.transient) == (
        Reason.GITHUB_APP_REPO_NOT_INSTALLED,
        False,
    )
    assert "example-org/app and example-org/files with Contents: write" in caught.value.detail
    assert logins.login(app, NEVER).token == "ghs_minted0Forapp"


def test_forgetting_the_files_login_keeps_the_comments_one(httpserver: HTTPServer, aws):
    """A refused files token is minted again; the comments' token stays cached."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    logins = credentials(aws, clock)
    app = app_route(httpserver, arn)
    comments = logins.login(app, NEVER).token
    files = logins.login(app, NEVER, files="example-org/files").token
    logins.forget(app, files="example-org/files")
    assert logins.login(app, NEVER).token == comments
    assert logins.login(app, NEVER, files="example-org/files").token not in {files, comments}
    assert len(github.minted) == 3


def test_a_files_login_of_a_token_is_that_token(aws):
    """The default token and a token secret carry what the operator granted: the same login."""
    arn = aws.client.create_secret(Name="route-token", SecretString="ghp_route")["ARN"]
    logins = credentials(aws, Clock())
    for each in (route(), route(credential=TokenSecret(arn))):
        assert logins.login(each, NEVER, files="example-org/files") == logins.login(each, NEVER)


def test_two_token_secrets_are_two_tokens(aws):
    """Each secret is read and cached on its own; the default token is untouched."""
    first = aws.client.create_secret(Name="first", SecretString="ghp_first")["ARN"]
    second = aws.client.create_secret(Name="second", SecretString="ghp_second")["ARN"]
    logins = credentials(aws, Clock())
    assert logins.login(route(credential=TokenSecret(first)), NEVER).token == "ghp_first"
    assert logins.login(route(credential=TokenSecret(second)), NEVER).token == "ghp_second"
    assert logins.login(route(credential=TokenSecret(first)), NEVER).token == "ghp_first"
    assert logins.login(route(), NEVER).token == DEFAULT_TOKEN
    assert aws.reads == [first, second]


def test_an_unreadable_token_secret_is_named(aws):
    """A missing route secret: token-unavailable, transient, naming that secret, not the
    deployment's GITHUB_TOKEN_SECRET_ARN."""
    logins = credentials(aws, Clock())
    with pytest.raises(StoreError) as caught:
        logins.login(route(credential=TokenSecret("route-token")), NEVER)
    assert (caught.value.reason, caught.value.transient) == ("token-unavailable", True)
    assert caught.value.detail == (
        "the GitHub token secret route-token could not be read (ResourceNotFoundException)"
    )


def test_an_empty_token_secret_says_how_to_set_it(aws):
    """A route secret created empty names itself in the actionable message."""
    aws.client.create_secret(Name="route-token", SecretString=" ")
    with pytest.raises(StoreError) as caught:
        credentials(aws, Clock()).login(route(credential=TokenSecret("route-token")), NEVER)
    assert caught.value.detail == (
        "the GitHub token secret route-token is empty: set it with "
        "`aws secretsmanager put-secret-value` (see README)"
    )


def test_without_a_secrets_client_a_route_secret_needs_aws():
    """The CLI without AWS: the routes with a secret fail and say what they need, the others
    post with the default token."""
    logins = Credentials(None, lambda: DEFAULT_TOKEN)
    with pytest.raises(StoreError) as caught:
        logins.login(route(credential=TokenSecret("route-token")), NEVER)
    assert (caught.value.reason, caught.value.transient) == ("token-unavailable", True)
    assert caught.value.detail == (
        "the GitHub token secret route-token is in Secrets Manager: AWS credentials and a "
        "region are needed to read it"
    )
    with pytest.raises(StoreError) as caught:
        logins.login(route(credential=GitHubApp(ISSUER, INSTALLATION, "app-key")), NEVER)
    assert (caught.value.reason, caught.value.transient) == ("github-app-key-unavailable", True)
    assert caught.value.detail == (
        f"the private key secret app-key of GitHub App {ISSUER} is in Secrets Manager: AWS "
        "credentials and a region are needed to read it"
    )
    assert logins.login(route(), NEVER).token == DEFAULT_TOKEN


# GitHub App installation tokens


@pytest.mark.parametrize("layout", ["pkcs1", "pkcs8"])
@pytest.mark.parametrize("wrapped", [False, True], ids=["pem", "json"])
def test_an_app_route_gets_a_minted_installation_token(
    httpserver: HTTPServer, aws, layout, wrapped
):
    """A JWT that the app's public key verifies, for an Enterprise Server API, asks for a token
    of the route's repository with Issues: write; the login carries it as the app."""
    text = pem(APP_KEY, layout)
    arn = store_key(aws, json.dumps({"private_key": text}) if wrapped else text)
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    login = credentials(aws, clock).login(app_route(httpserver, arn, "Example-Org/My.App"), NEVER)
    assert login == Login(
        "ghs_minted0ForMy.App",
        ghes(httpserver),
        f"app:{ISSUER}/installation:{INSTALLATION}",
    )
    assert "ghs_" not in repr(login)
    assert github.problems == []
    assert github.bodies == [{"repositories": ["My.App"], "permissions": {"issues": "write"}}]
    [(request, _)] = httpserver.log
    assert (request.method, request.path, request.query_string) == ("POST", PATH, b"")
    # Exactly these bytes: requests' JSON of the body, nothing added.
    assert json.loads(request.get_data()) == github.bodies[0]


def test_the_jwt_claims_are_what_github_documents(httpserver: HTTPServer, aws):
    """RS256, iat a minute back, exp nine minutes ahead (ten after iat), iss the issuer as text,
    even when it is a numeric app id."""
    arn = store_key(aws, pem(APP_KEY))
    seen: list[str] = []

    def record(request: Request) -> Response:
        seen.append(request.headers["Authorization"].removeprefix("Bearer "))
        return github_error(404, "Not Found")

    mint_with(httpserver, record)
    with pytest.raises(GitHubError):
        credentials(aws, Clock()).login(
            route(credential=GitHubApp("123456", INSTALLATION, arn), api_url=ghes(httpserver)),
            NEVER,
        )
    [assertion] = seen
    assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "typ": "JWT"}
    claims = jwt.decode(
        assertion, key=public_pem(APP_KEY), algorithms=["RS256"], options={"verify_iat": False}
    )
    assert claims == {"iat": START - 60, "exp": START + 540, "iss": "123456"}


def test_the_request_and_the_answer_match_the_openapi_description(httpserver: HTTPServer, aws):
    """Path template and parameter type, request body and the fake's 201 are GitHub's own
    (@octokit/openapi); the body schema does refuse a permission GitHub does not have."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    httpserver.expect_request(re.compile("^/api/v3/app/.*"), method="POST").respond_with_handler(
        github
    )
    credentials(aws, clock).login(app_route(httpserver, arn), NEVER)
    [(request, response)] = httpserver.log
    template = "^/api/v3" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", SPEC["path"]) + "$"
    found = re.match(template, request.path)
    assert found is not None
    assert found.groupdict() == {"installation_id": str(INSTALLATION)}
    assert {p["name"]: (p["in"], p["schema"]["type"]) for p in SPEC["parameters"]} == {
        "installation_id": ("path", "integer")
    }
    assert SPEC["method"] == "post"
    Draft202012Validator(SPEC["requestBody"]).validate(request.get_json())
    with pytest.raises(ValidationError):
        Draft202012Validator(SPEC["requestBody"]).validate({"permissions": {"issues": "admin"}})
    answer = json.loads(response.get_data())
    Draft202012Validator(SPEC["response201"]["schema"]).validate(answer)
    Draft202012Validator(SPEC["response201"]["schema"]).validate(SPEC["response201"]["example"])
    assert sorted(SPEC["responses"]) == ["201", "401", "403", "404", "422"]


def test_a_token_is_reused_until_five_minutes_before_it_expires(httpserver: HTTPServer, aws):
    """The second login makes no request; from expires_at - 300 s a new token is minted."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    logins = credentials(aws, clock)
    app = app_route(httpserver, arn)
    assert logins.login(app, NEVER).token == "ghs_minted0Forapp"
    clock.now = START + 3600 - 301
    assert logins.login(app, NEVER).token == "ghs_minted0Forapp"
    assert len(httpserver.log) == 1
    clock.now = START + 3600 - 300
    assert logins.login(app, NEVER).token == "ghs_minted1Forapp"
    assert len(httpserver.log) == 2
    assert github.problems == []


def test_each_repository_gets_its_own_token(httpserver: HTTPServer, aws):
    """One installation, two repositories: two tokens, each scoped to its repository; the
    repository's case does not make a third; the key is read once for both."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    logins = credentials(aws, clock)
    assert logins.login(app_route(httpserver, arn, "example-org/app"), NEVER).token == (
        "ghs_minted0Forapp"
    )
    assert logins.login(app_route(httpserver, arn, "example-org/website"), NEVER).token == (
        "ghs_minted1Forwebsite"
    )
    assert logins.login(app_route(httpserver, arn, "Example-Org/APP"), NEVER).token == (
        "ghs_minted0Forapp"
    )
    assert [body["repositories"] for body in github.bodies] == [["app"], ["website"]]
    assert aws.reads == [arn]


def test_the_key_is_read_again_after_its_ttl(httpserver: HTTPServer, aws, monkeypatch):
    """A rotated private key takes effect once the cached one is older than the TTL."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    secrets_cached_by(clock, monkeypatch)
    github = FakeGitHub(clock)
    github.expires_in = 60  # every login mints
    mint_with(httpserver, github)
    logins = credentials(aws, clock, max_age=900)
    logins.login(app_route(httpserver, arn), NEVER)
    # The app's key is rotated: GitHub now knows only the new one.
    aws.client.put_secret_value(SecretId=arn, SecretString=pem(OTHER_KEY))
    github.public_pem = public_pem(OTHER_KEY)
    clock.now += 899
    with pytest.raises(GitHubError) as caught:
        logins.login(app_route(httpserver, arn), NEVER)
    assert caught.value.reason == "github-app-auth-failed"
    assert aws.reads == [arn]
    # The refusal dropped the cached key: the next login reads the rotated one at once.
    assert logins.login(app_route(httpserver, arn), NEVER).token == "ghs_minted1Forapp"
    assert aws.reads == [arn, arn]
    clock.now += 901
    logins.login(app_route(httpserver, arn), NEVER)
    assert aws.reads == [arn, arn, arn]
    assert github.problems == ["JWT refused: InvalidSignatureError"]


def test_a_wrong_key_is_refused_by_the_signature_check(httpserver: HTTPServer, aws):
    """A key that is not the app's: the server's verification fails, 401, a permanent
    github-app-auth-failed naming the app and the secret, with GitHub's message."""
    arn = store_key(aws, pem(OTHER_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    with pytest.raises(GitHubError) as caught:
        credentials(aws, clock).login(app_route(httpserver, arn), NEVER)
    assert github.problems == ["JWT refused: InvalidSignatureError"]
    error = caught.value
    assert (error.reason, error.transient, error.status) == ("github-app-auth-failed", True, 401)
    assert error.detail == (
        f"GitHub refused the JWT of GitHub App {ISSUER}: the private key in {arn} is not the "
        f"app's, or {ISSUER} is not its client id or app id: A JSON web token could not be "
        "decoded"
    )
    assert len(httpserver.log) == 1


def test_a_jwt_for_another_app_is_refused(httpserver: HTTPServer, aws):
    """The right key with the wrong issuer fails the server's iss check: github-app-auth-failed."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    mint_with(httpserver, github)
    wrong = route(credential=GitHubApp("Iv23liOther", INSTALLATION, arn), api_url=ghes(httpserver))
    with pytest.raises(GitHubError) as caught:
        credentials(aws, clock).login(wrong, NEVER)
    assert caught.value.reason == "github-app-auth-failed"
    assert github.problems == ["JWT refused: InvalidIssuerError"]


REPO_NOT_INSTALLED = "There is at least one repository that does not exist or is not accessible"


@pytest.mark.parametrize(
    ("answer", "expected", "detail"),
    [
        (
            github_error(404, "Not Found"),
            ("github-app-not-installed", False),
            f"GitHub App {ISSUER} has no installation {INSTALLATION} at {{api}} (uninstalled, "
            "or a wrong installation_id): Not Found",
        ),
        (
            github_error(422, REPO_NOT_INSTALLED),
            ("github-app-repo-not-installed", False),
            f"installation {INSTALLATION} of GitHub App {ISSUER} cannot have a token for "
            "example-org/app with Issues: write (the repository is not among the "
            f"installation's, or the app lacks that permission): {REPO_NOT_INSTALLED}",
        ),
        (
            github_error(
                403,
                "API rate limit exceeded",
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(START + 600)},
            ),
            ("rate-limited", True),
            f"GitHub rate-limited the request for a token of GitHub App {ISSUER} (installation "
            f"{INSTALLATION}) for example-org/app until 2027-01-15T08:10:00Z: API rate limit "
            "exceeded",
        ),
        (
            github_error(429, "You have exceeded a secondary rate limit"),
            ("rate-limited", True),
            f"GitHub rate-limited the request for a token of GitHub App {ISSUER} (installation "
            f"{INSTALLATION}) for example-org/app: You have exceeded a secondary rate limit",
        ),
        (
            github_error(403, "Resource not accessible by integration"),
            ("github-forbidden", False),
            f"GitHub refused a token of GitHub App {ISSUER} (installation {INSTALLATION}) for "
            "example-org/app: Resource not accessible by integration",
        ),
        (
            github_error(400, "Problems parsing JSON"),
            ("github-rejected", False),
            f"GitHub answered 400 when asked for a token of GitHub App {ISSUER} (installation "
            f"{INSTALLATION}) for example-org/app: Problems parsing JSON",
        ),
        (
            json_response(201, {"expires_at": "2027-01-15T09:00:00Z"}),
            ("github-rejected", False),
            f"GitHub answered 201 without a token when asked for a token of GitHub App {ISSUER} "
            f"(installation {INSTALLATION}) for example-org/app",
        ),
        (
            Response("", status=307, headers={"Location": "https://evil.example.net/steal"}),
            ("github-redirect", False),
            f"GitHub answered 307 to the request for a token of GitHub App {ISSUER} "
            f"(installation {INSTALLATION}) for example-org/app, redirecting to "
            "https://evil.example.net: a token request is never redirected, and the JWT is not "
            "sent on",
        ),
    ],
    ids=["404", "422", "403-rate", "429", "403", "400", "201-no-token", "307"],
)
def test_each_refusal_has_its_reason_and_is_not_retried(
    httpserver: HTTPServer, aws, answer, expected, detail
):
    """Each answer GitHub can give maps to one reason; none is retried, none followed."""
    arn = store_key(aws, pem(APP_KEY))
    mint_with(httpserver, lambda request: answer)
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        credentials(aws, Clock(), sleeps).login(app_route(httpserver, arn), NEVER)
    assert (caught.value.reason, caught.value.transient) == expected
    assert caught.value.detail == detail.format(api=ghes(httpserver))
    assert len(httpserver.log) == 1
    assert sleeps.calls == []


def test_server_errors_are_retried_once_then_transient(httpserver: HTTPServer, aws):
    """Two 502s: github-unavailable after 2 attempts, one short wait between them."""
    arn = store_key(aws, pem(APP_KEY))
    mint_with(httpserver, lambda request: Response("bad gateway", status=502))
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        credentials(aws, Clock(), sleeps).login(app_route(httpserver, arn), NEVER)
    assert (caught.value.reason, caught.value.transient) == ("github-unavailable", True)
    assert caught.value.detail == (
        f"GitHub answered 502 when asked for a token of GitHub App {ISSUER} (installation "
        f"{INSTALLATION}) for example-org/app (after 2 attempts)"
    )
    assert len(httpserver.log) == 2
    assert len(sleeps.calls) == 1
    assert 1.0 <= sleeps.calls[0] <= 1.5


def test_a_server_error_then_a_token(httpserver: HTTPServer, aws):
    """A 503 followed by a 201: the retry's token is the login's."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    answers = iter([lambda request: Response("", status=503), github])

    def answer(request: Request) -> Response:
        return next(answers)(request)

    mint_with(httpserver, answer)
    assert (
        credentials(aws, clock).login(app_route(httpserver, arn), NEVER).token
        == "ghs_minted0Forapp"
    )
    assert len(httpserver.log) == 2


def test_a_retry_that_does_not_fit_the_remaining_time_is_not_made(httpserver: HTTPServer, aws):
    """With 5 s left (2 s after the safety margin) the wait and a retry do not fit: one attempt."""
    arn = store_key(aws, pem(APP_KEY))
    mint_with(httpserver, lambda request: Response("", status=500))
    sleeps = Sleeps()
    with pytest.raises(GitHubError) as caught:
        credentials(aws, Clock(), sleeps).login(app_route(httpserver, arn), left(5.0))
    assert caught.value.reason == "github-unavailable"
    assert caught.value.detail.endswith(" (after 1 attempt)")
    assert len(httpserver.log) == 1
    assert sleeps.calls == []


def test_no_request_without_time_left(httpserver: HTTPServer, aws):
    """Under a second left after the safety margin: github-timeout before any request."""
    arn = store_key(aws, pem(APP_KEY))
    with pytest.raises(GitHubError) as caught:
        credentials(aws, Clock()).login(app_route(httpserver, arn), left(3.5))
    assert (caught.value.reason, caught.value.transient) == ("github-timeout", True)
    assert caught.value.detail == (
        f"no time left in this invocation to ask for a token of GitHub App {ISSUER} "
        f"(installation {INSTALLATION}) for example-org/app"
    )
    assert httpserver.log == []


def test_a_silent_server_times_out_after_the_retries(httpserver: HTTPServer, aws):
    """Each attempt outlasts the client's timeout: github-timeout, transient, after 2 attempts."""
    arn = store_key(aws, pem(APP_KEY))
    sleeps = Sleeps()
    with silent(httpserver, PATH, requests=2), pytest.raises(GitHubError) as caught:
        credentials(aws, Clock(), sleeps, timeout=0.1).login(app_route(httpserver, arn), NEVER)
    assert (caught.value.reason, caught.value.transient) == ("github-timeout", True)
    assert caught.value.detail == (
        f"GitHub did not answer within 0.1 s when asked for a token of GitHub App {ISSUER} "
        f"(installation {INSTALLATION}) for example-org/app (after 2 attempts)"
    )
    assert len(sleeps.calls) == 1


def test_nothing_listening_is_transient(aws):
    """Connection refused: github-unavailable after the retries, naming the failure class."""
    arn = store_key(aws, pem(APP_KEY))
    app = route(credential=GitHubApp(ISSUER, INSTALLATION, arn), api_url="http://127.0.0.1:9")
    with pytest.raises(GitHubError) as caught:
        credentials(aws, Clock()).login(app, NEVER)
    assert (caught.value.reason, caught.value.transient) == ("github-unavailable", True)
    assert caught.value.detail == (
        f"cannot reach http://127.0.0.1:9 to ask for a token of GitHub App {ISSUER} "
        f"(installation {INSTALLATION}) for example-org/app (ConnectionError) (after 2 attempts)"
    )


@pytest.mark.parametrize("expires_at", ["soon", "2027-01-15T09:00:00", None])
def test_a_token_without_a_readable_expiry_is_used_once(httpserver: HTTPServer, aws, expires_at):
    """No zone, not a time, or missing: the token serves this login and is not kept."""
    arn = store_key(aws, pem(APP_KEY))
    tokens = iter(["ghs_once", "ghs_twice"])
    mint_with(
        httpserver,
        lambda request: json_response(201, {"token": next(tokens), "expires_at": expires_at}),
    )
    logins = credentials(aws, Clock())
    assert logins.login(app_route(httpserver, arn), NEVER).token == "ghs_once"
    assert logins.login(app_route(httpserver, arn), NEVER).token == "ghs_twice"


def test_a_token_expiring_within_the_margin_is_used_once(httpserver: HTTPServer, aws):
    """A token with less than five minutes left is handed out, never cached."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    github = FakeGitHub(clock)
    github.expires_in = 300
    mint_with(httpserver, github)
    logins = credentials(aws, clock)
    logins.login(app_route(httpserver, arn), NEVER)
    logins.login(app_route(httpserver, arn), NEVER)
    assert github.minted == ["ghs_minted0Forapp", "ghs_minted1Forapp"]


# The private key


def encrypted_pem() -> str:
    return APP_KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()


def ec_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        (" ", "is empty: put the app's private key (the .pem GitHub issued) in it"),
        ('{"private_key": ', "is empty: put the app's private key (the .pem GitHub issued) in it"),
        ('{"key": "x"}', "is empty: put the app's private key (the .pem GitHub issued) in it"),
        (
            pem(APP_KEY)[:200],
            "is not a PEM private key (-----BEGIN RSA PRIVATE KEY----- as GitHub issues it, or "
            "-----BEGIN PRIVATE KEY-----)",
        ),
        (
            pem(APP_KEY).replace("\n", "\\n"),
            "is not a PEM private key (-----BEGIN RSA PRIVATE KEY----- as GitHub issues it, or "
            "-----BEGIN PRIVATE KEY-----)",
        ),
        (encrypted_pem(), "holds an encrypted key: store it without a passphrase"),
        (ec_pem(), "holds no RSA key (ECPrivateKey): GitHub Apps sign with RSA"),
    ],
    ids=["blank", "broken-json", "no-private-key", "cut", "escaped-newlines", "encrypted", "ec"],
)
def test_a_key_secret_without_an_rsa_key_is_invalid(aws, stored, problem):
    """github-app-key-invalid, transient (a fixed secret and a replay cure it), no request, and
    none of the secret's text in the error or its chain."""
    arn = store_key(aws, stored)
    app = route(credential=GitHubApp(ISSUER, INSTALLATION, arn), api_url="http://127.0.0.1:9")
    with pytest.raises(StoreError) as caught:
        credentials(aws, Clock()).login(app, NEVER)
    error = caught.value
    assert (error.reason, error.transient) == ("github-app-key-invalid", True)
    assert error.detail == f"the private key secret {arn} of GitHub App {ISSUER} {problem}"
    assert error.__context__ is None
    assert error.__cause__ is None
    chunk = stored.strip()[40:80]
    assert not chunk or chunk not in repr(error)


def test_a_key_secret_fixed_after_it_was_invalid_is_read_at_once(httpserver: HTTPServer, aws):
    """An invalid key is not kept: the next login reads the fixed secret, however young the
    cached copy."""
    arn = store_key(aws, " ")
    clock = Clock()
    mint_with(httpserver, FakeGitHub(clock))
    logins = credentials(aws, clock)
    with pytest.raises(StoreError):
        logins.login(app_route(httpserver, arn), NEVER)
    aws.client.put_secret_value(SecretId=arn, SecretString=pem(APP_KEY))
    assert logins.login(app_route(httpserver, arn), NEVER).token == "ghs_minted0Forapp"
    assert aws.reads == [arn, arn]


def test_an_unreadable_key_secret_is_unavailable(aws):
    """A key secret that does not exist: github-app-key-unavailable, transient, by error class."""
    with pytest.raises(StoreError) as caught:
        credentials(aws, Clock()).login(
            route(credential=GitHubApp(ISSUER, INSTALLATION, "app-key"), api_url="http://x"), NEVER
        )
    assert (caught.value.reason, caught.value.transient) == ("github-app-key-unavailable", True)
    assert caught.value.detail == (
        f"the private key secret app-key of GitHub App {ISSUER} could not be read "
        "(ResourceNotFoundException)"
    )


# No secret in any error, the token in use, lazy imports


def test_no_error_holds_the_key_the_jwt_or_a_token(httpserver: HTTPServer, aws):
    """After a token was minted, a refusal and server errors: neither the details, the reprs nor
    the chained exceptions hold the private key, a JWT sent or the token minted."""
    text = pem(APP_KEY)
    arn = store_key(aws, text)
    clock = Clock()
    github = FakeGitHub(clock)
    github.expires_in = 60  # every login mints
    answers: list[Callable[[Request], Response]] = [github]

    def latest(request: Request) -> Response:
        return answers[-1](request)

    mint_with(httpserver, latest)
    logins = credentials(aws, clock)
    minted = logins.login(app_route(httpserver, arn), NEVER).token
    errors: list[GitHubError] = []
    for answer in (
        lambda request: github_error(422, REPO_NOT_INSTALLED),
        lambda request: Response("", status=500),
    ):
        answers.append(answer)
        with pytest.raises(GitHubError) as caught:
            logins.login(app_route(httpserver, arn), NEVER)
        errors.append(caught.value)
    jwts = [
        request.headers["Authorization"].removeprefix("Bearer ") for request, _ in httpserver.log
    ]
    assert len(jwts) == 4
    secrets = [pem_body(text), minted, *jwts]
    for error in errors:
        texts = [repr(error), str(error), repr(error.__context__), repr(error.__cause__)]
        assert not [s for s in secrets for t in texts if s[-40:] in t]


def test_a_comment_is_posted_with_the_minted_token(httpserver: HTTPServer, aws):
    """GitHubClient(login.token, api_url=login.api_url) posts to the same Enterprise Server with
    the installation token as its bearer."""
    arn = store_key(aws, pem(APP_KEY))
    clock = Clock()
    mint_with(httpserver, FakeGitHub(clock))
    comments = "/api/v3/repos/example-org/app/issues/7/comments"
    httpserver.expect_request(comments, method="POST").respond_with_json(
        {"id": 1, "html_url": "https://ghe.example.com/example-org/app/issues/7#issuecomment-1"},
        status=201,
    )
    login = credentials(aws, clock).login(app_route(httpserver, arn), NEVER)
    posted = GitHubClient(login.token, deadline=NEVER, api_url=login.api_url).create_comment(
        "example-org/app", 7, "Hello"
    )
    assert posted.id == 1
    [_, (request, _)] = httpserver.log
    assert request.path == comments
    assert request.headers["Authorization"] == "Bearer ghs_minted0Forapp"


def test_routes_without_an_app_import_no_jwt_cryptography_or_requests():
    """A cold start and the default and token-secret logins leave jwt, cryptography and
    requests unimported: only an App login needs them."""
    script = """
import sys
from handler.aws.secrets import Secrets
from handler.deadline import Deadline
from handler.github.credentials import Credentials
from handler.routing import Route, TokenSecret
class Client:
    def get_secret_value(self, SecretId):
        return {"SecretString": "ghp_x"}
logins = Credentials(Secrets(Client()), lambda: "ghp_default")
for credential in (None, TokenSecret("route-token")):
    route = Route(0, "issues.example.com", "", "o/r", ("example.com",), credential=credential)
    logins.login(route, Deadline.never())
print(sorted({name.split(".")[0] for name in sys.modules} & {"jwt", "cryptography", "requests"}))
"""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AWS_DEFAULT_REGION": REGION},
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "[]\n"


class KeySecret:
    """Secrets Manager holding the app's key, without moto: its imports pass the refusing one."""

    def get_secret_value(self, SecretId: str):
        return {"SecretString": pem(APP_KEY)}


@pytest.mark.parametrize("missing", ["cryptography", "jwt"])
def test_an_app_login_in_a_package_without_the_app_libraries_says_to_rebuild(monkeypatch, missing):
    """A zip built from routes without a github_app holds neither cryptography (the key) nor jwt
    (the JWT): an App login there is the transient github-app-unsupported, naming the fix,
    before any request to GitHub."""
    imported = builtins.__import__

    def without(name, *args, **kwargs):
        if name.partition(".")[0] == missing:
            raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)
        return imported(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    # Nothing listens there: a request made would be github-unavailable, not this error.
    app = route(credential=GitHubApp(ISSUER, INSTALLATION, "app-key"), api_url="http://127.0.0.1:9")
    with pytest.raises(StoreError) as caught:
        Credentials(Secrets(KeySecret()), lambda: DEFAULT_TOKEN, clock=Clock()).login(app, NEVER)
    assert (caught.value.reason, caught.value.transient) == ("github-app-unsupported", True)
    assert caught.value.detail == (
        f"this package was built without the GitHub App libraries ({missing} cannot be "
        "imported): rebuild it with `make package` from the routes file that names the app, "
        "deploy it and replay the mail"
    )
