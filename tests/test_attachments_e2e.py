"""Attachments end to end: the mail function's entry point on an SES event, with the environment
Terraform sets, through the real adapters: files committed on the loopback GitHub
(handler.github.contents), objects in moto's S3 (handler.aws.attachment_store), claims in moto's
DynamoDB. Each test says exactly what the issue gets: the comment, the files and their bytes on
the branch, the objects and their headers, and how many requests of each kind GitHub saw.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from pytest_httpserver import HTTPServer

from handler import lambda_function
from handler.aws.attachment_store import S3Files
from handler.cli import main
from handler.github import credentials
from handler.github.client import GitHubClient
from handler.github.contents import README, README_MESSAGE
from handler.inbound.identity import mail_key
from handler.inbound.mail import parse_mail
from handler.reasons import RetryLater
from tests.attachment_mails import BUILD_LOG, PROGRAM, SCREENSHOT
from tests.conftest import TESTS
from tests.dynamo import DECISION_TABLE, create_claims_table, create_decision_table
from tests.fakegithub import FakeGitHub
from tests.sesmail import ses_block
from tests.test_lambda import Context

REGION = "eu-west-1"
TOKEN = "ghp_attachmentsE2eToken0123456789"
MAIL_BUCKET = "mail"
FILES_BUCKET = "tr-attachments-123456789012"
FILES_URL = "https://d111111abcdef8.cloudfront.net"
TABLE = "claims"
BRANCH = "ticket-router-attachments"
# The day of the stored mail's Received field (tests.sesmail): the folder its files go to.
DAY = "2026/11/23"
APP = "example-org/app"


@dataclass
class Deployed:
    """The deployment under test: moto's S3, the loopback GitHub, the routes file."""

    s3: Any
    github: FakeGitHub
    routes: Path
    web: str
    # Every wait the GitHub clients were asked to sleep (none is slept).
    slept: list[float]
    # Seconds the GitHub clients' clock is ahead of the wall clock.
    ahead: list[float]

    def route(self, text: str) -> None:
        """The routes file the function reads (before its first invocation)."""
        self.routes.write_text(text)

    def later(self, seconds: float) -> None:
        """``seconds`` pass for GitHub's clients: a retry from the mail queue comes a minute or
        more after the attempt that failed."""
        self.ahead[0] += seconds


@pytest.fixture
def deployed(
    monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer, tmp_path: Path
) -> Iterator[Deployed]:
    """The mail bucket, the attachments bucket, the claims table, the token secret and the
    environment Terraform sets when a route stores files in S3; GitHub on 127.0.0.1."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    slept: list[float] = []
    ahead = [0.0]

    def no_sleep_client(token: str, **options: Any) -> GitHubClient:
        def clock() -> float:
            return time.time() + ahead[0]

        return GitHubClient(token, sleep=slept.append, clock=clock, **options)

    # Retries wait through the client's sleep: recorded, never slept.
    monkeypatch.setattr(credentials, "GitHubClient", no_sleep_client)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        where = {"LocationConstraint": REGION}
        s3.create_bucket(Bucket=MAIL_BUCKET, CreateBucketConfiguration=where)
        s3.create_bucket(Bucket=FILES_BUCKET, CreateBucketConfiguration=where)
        create_claims_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        secrets = boto3.client("secretsmanager", region_name=REGION)
        arn = secrets.create_secret(Name="github-token", SecretString=TOKEN)["ARN"]
        routes = tmp_path / "routes.yaml"
        api = httpserver.url_for("/")
        for name, value in {
            "MAIL_BUCKET": MAIL_BUCKET,
            "MAIL_PREFIX": "inbound/",
            "GITHUB_TOKEN_SECRET_ARN": arn,
            "GITHUB_API_URL": api,
            "ROUTES_FILE": str(routes),
            "IDEMPOTENCY_TABLE": TABLE,
            "ATTACHMENTS_BUCKET": FILES_BUCKET,
            "ATTACHMENTS_URL": FILES_URL,
        }.items():
            monkeypatch.setenv(name, value)
        lambda_function.runtime.cache_clear()
        github = FakeGitHub(httpserver).install()
        yield Deployed(s3, github, routes, api.rstrip("/"), slept, ahead)
        lambda_function.runtime.cache_clear()


# --- Mails.


def _base64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 76] + "\r\n" for i in range(0, len(encoded), 76))


def _file(content_type: str, name: str, data: bytes, *, cid: str | None = None) -> str:
    disposition = "inline" if cid else "attachment"
    return (
        f'Content-Type: {content_type}; name="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        + (f"Content-ID: <{cid}>\r\n" if cid else "")
        + f'Content-Disposition: {disposition}; filename="{name}"\r\n\r\n'
        + _base64(data)
    )


def _multipart(subtype: str, boundary: str, *parts: str) -> str:
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n{body}'


def bug_report(
    *, message_id: str = "report@example.com", to: str = "7@issues.example.com", virus: bool = True
) -> bytes:
    """A bug report as SES stores it: an HTML body showing a screenshot at its place (cid:),
    a build log sent as application/octet-stream, and a program. ``virus``: SES's virus verdict
    header is there (PASS); without it, scanning was off."""
    html = (
        "<html><body><p>The export fails:</p>"
        '<p><img src="cid:shot@example.com" alt="shot"></p>'
        "<p>Log attached.</p></body></html>"
    )
    related = _multipart(
        "related",
        "b-rel",
        f"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}",
        _file("image/png", "screenshot.png", SCREENSHOT, cid="shot@example.com"),
    )
    top = _multipart(
        "mixed",
        "b-mix",
        related,
        _file("application/octet-stream", "build.log", BUILD_LOG),
        _file("application/octet-stream", "setup.exe", PROGRAM),
    )
    # SES's Received field names the recipient when there is one only.
    block = ses_block(recipient=None if "," in to else to)
    if not virus:
        block = "".join(
            line + "\r\n"
            for line in block.split("\r\n")
            if line and not line.startswith("X-SES-Virus-Verdict")
        )
    headers = (
        f"From: Alice Moreau <alice@example.com>\r\nTo: {to}\r\nSubject: Export fails\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 09:13:51 +0000\r\n"
        "MIME-Version: 1.0\r\n"
    )
    return (block + headers + top).encode()


def ses_event(ses_id: str, *recipients: str, virus: str | None = "PASS") -> dict[str, Any]:
    """SES's Lambda action for the mail stored as inbound/<ses_id>, received just now (a first
    delivery); ``virus`` None: the receipt has no virus verdict (scanning off)."""
    event = json.loads((TESTS / "events" / "sesEvent.json").read_text())
    record = event["Records"][0]["ses"]
    record["receipt"]["recipients"] = list(recipients)
    record["mail"]["destination"] = list(recipients)
    record["mail"]["source"] = "alice@example.com"
    record["mail"]["messageId"] = ses_id
    record["mail"]["timestamp"] = datetime.now(UTC).isoformat()
    if virus is None:
        del record["receipt"]["virusVerdict"]
    else:
        record["receipt"]["virusVerdict"]["status"] = virus
    return event


def queued(ses_id: str, *recipients: str, receive_count: int = 1) -> dict[str, Any]:
    """The mail queue's batch of one message: SES's notification of the mail it stored as
    inbound/<ses_id>, received just now."""
    event = json.loads((TESTS / "events" / "sqsSesNotificationRawEvent.json").read_text())
    record = event["Records"][0]
    body = json.loads(record["body"])
    now = datetime.now(UTC).isoformat()
    body["mail"]["timestamp"] = body["receipt"]["timestamp"] = now
    body["mail"]["messageId"] = ses_id
    body["mail"]["destination"] = body["receipt"]["recipients"] = list(recipients)
    body["receipt"]["action"]["objectKey"] = f"inbound/{ses_id}"
    record["body"] = json.dumps(body)
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return event


def deliver(
    deployed: Deployed, raw: bytes, *recipients: str, ses_id: str = "ses1", **event: Any
) -> dict[str, Any]:
    """Store ``raw`` as SES does and invoke the function with SES's event for it."""
    deployed.s3.put_object(Bucket=MAIL_BUCKET, Key=f"inbound/{ses_id}", Body=raw)
    recipients = recipients or ("7@issues.example.com",)
    return lambda_function.lambda_handler(ses_event(ses_id, *recipients, **event), Context())


def linking(repo: str = APP, settings: str = "link", *, prefix: str = "") -> str:
    """A routes file of one route posting to ``repo`` with ``attachments: settings``."""
    return (
        "routes:\n"
        "  - domain: issues.example.com\n"
        + (f"    prefix: {prefix}\n" if prefix else "")
        + f"    repo: {repo}\n"
        "    allowed_senders: [example.com]\n"
        f"    attachments: {settings}\n"
    )


def mail_of(raw: bytes) -> str:
    """The mail key: the folder of its files, the marker of its comment."""
    return mail_key(parse_mail(raw), raw)


def s3_key(mail: str, index: int, content: bytes, name: str) -> str:
    """Where the bucket keeps the ``index``-th file (DESIGN: 128 bits derived from the mail,
    the index and the content), computed here as the design says, not by the handler."""
    seed = f"{mail}\n{index}\n".encode() + hashlib.sha256(content).digest()
    return f"{mail}/{hashlib.sha256(seed).hexdigest()[:32]}/{name}"


def comment(text: str, files: list[str], *, to: str = "7@issues.example.com", mail: str) -> str:
    """The comment of bug_report(): ``text`` between its paragraphs (where the screenshot is),
    then the list of its three files."""
    return (
        "**Alice Moreau** wrote by email: **Export fails**\n\n"
        "The export fails:\n\n"
        + text
        + "Log attached.\n\n"
        + f"**Attachments** ({len(files)}):\n"
        + "".join(f"- {line}\n" for line in files)
        + f"\n<sub>Sent by email to {to} · posted by ticket-router</sub>\n"
        + f"<!-- ticket-router:mail={mail} -->"
    )


EXE = "setup.exe (application/octet-stream, 62 bytes)"
EXE_LINE = f"{EXE}: not linked, its content is a Windows or DOS program"
SHOT = "screenshot.png (image/png, 71 bytes)"
# A listed file shows the type it was sent as (the log's, octet-stream), as a list mode does.
LOG = "build.log (application/octet-stream, 248 bytes)"
# Where the screenshot was, when it is not shown.
PLACED = "[image: screenshot.png]\n\n"


def on_github(deployed: Deployed, mail: str, repo: str = APP) -> tuple[str, list[str]]:
    """The image line and the file lines of bug_report()'s comment when its files are committed
    to ``repo``'s attachments branch."""
    folder = f"{deployed.web}/{repo}/%s/{BRANCH}/{DAY}/{mail}"
    image = f"![screenshot.png]({folder % 'raw'}/screenshot.png)\n\n"
    lines = [
        f"[screenshot.png]({folder % 'blob'}/screenshot.png) (image/png, 71 bytes)",
        f"[build.log]({folder % 'blob'}/build.log) (text/plain, 248 bytes)",
        EXE_LINE,
    ]
    return image, lines


def committed(mail: str) -> dict[str, bytes]:
    """bug_report()'s files on the attachments branch, the branch's README beside them."""
    return {
        "README.md": README.encode(),
        f"{DAY}/{mail}/screenshot.png": SCREENSHOT,
        f"{DAY}/{mail}/build.log": BUILD_LOG,
    }


def requests_of(github: FakeGitHub) -> list[str]:
    """Every request GitHub saw, in order: "METHOD path"."""
    return [f"{method} {path}" for _, method, path in github.log]


def objects(s3: Any) -> dict[str, dict[str, Any]]:
    """Every object of the attachments bucket: its bytes, headers and tags."""
    found = {}
    for item in s3.list_objects_v2(Bucket=FILES_BUCKET).get("Contents", []):
        key = item["Key"]
        got = s3.get_object(Bucket=FILES_BUCKET, Key=key)
        tags = s3.get_object_tagging(Bucket=FILES_BUCKET, Key=key)["TagSet"]
        found[key] = {
            "body": got["Body"].read(),
            "type": got["ContentType"],
            "disposition": got["ContentDisposition"],
            "tags": {tag["Key"]: tag["Value"] for tag in tags},
        }
    return found


def reasons(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(d["reason"], d["detail"]) for d in result["decisions"]]


# --- 1. A linking route on a public repository, GitHub storage.


def test_a_public_repository_shows_the_screenshot_links_the_log_and_lists_the_program(deployed):
    """The screenshot shown where the mail showed it, the log linked, the program listed; both
    files committed once, under the day SES received the mail and the mail's key."""
    deployed.route(linking())
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    assert result["decisions"][0]["mail"] == mail
    [posted] = deployed.github.comments
    image, lines = on_github(deployed, mail)
    assert posted.body == comment(image, lines, mail=mail)
    assert deployed.github.branch_files(APP, BRANCH) == committed(mail)
    what = f"Attachments of mail {mail} for example-org/app#7"
    assert deployed.github.history(APP, BRANCH) == [what, what, README_MESSAGE]
    folder = f"/repos/{APP}/contents/{DAY}/{mail}"
    assert requests_of(deployed.github) == [
        f"GET /repos/{APP}/git/ref/heads/{BRANCH}",
        f"POST /repos/{APP}/git/trees",
        f"POST /repos/{APP}/git/commits",
        f"POST /repos/{APP}/git/refs",
        f"GET {folder}",
        f"PUT {folder}/screenshot.png",
        f"PUT {folder}/build.log",
        f"POST /repos/{APP}/issues/7/comments",
    ]
    assert objects(deployed.s3) == {}
    assert deployed.slept == []


# --- 2. A private repository.


def test_a_private_repository_keeps_its_files_in_its_own_branch(deployed):
    """The repository's own branch has the issue's readers: stored and linked as for a public
    one, without asking GitHub who can read it."""
    deployed.github.private_repos.add(APP)
    deployed.route(linking())
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    image, lines = on_github(deployed, mail)
    assert [c.body for c in deployed.github.comments] == [comment(image, lines, mail=mail)]
    assert deployed.github.branch_files(APP, BRANCH) == committed(mail)
    assert deployed.github.requests["GET repo"] == 0
    assert deployed.github.requests["PUT contents"] == 2


def test_a_private_repository_with_a_public_companion_stores_nothing(deployed):
    """A companion more people can read than the issue: every file listed wider-access, nothing
    committed to either repository."""
    companion = "example-org/app-files"
    deployed.github.private_repos.add(APP)
    deployed.route(linking(settings=f"{{mode: link, repository: {companion}}}"))
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    wider = f"not linked, {companion}, where the route stores files, is public; {APP} is private"
    assert reasons(result) == [
        ("posted", "posted to example-org/app#7 (0 files stored; 2 not stored: wider-access)")
    ]
    assert [c.body for c in deployed.github.comments] == [
        comment(PLACED, [f"{SHOT}: {wider}", f"{LOG}: {wider}", EXE_LINE], mail=mail)
    ]
    assert deployed.github.branch_files(APP, BRANCH) == {}
    assert deployed.github.branch_files(companion, BRANCH) == {}
    assert requests_of(deployed.github) == [
        f"GET /repos/{APP}",
        f"GET /repos/{companion}",
        f"POST /repos/{APP}/issues/7/comments",
    ]


def test_a_private_repository_never_stores_in_the_bucket(deployed):
    """The bucket serves anyone with the link: a private repository's files are listed
    wider-access, and no object is written."""
    deployed.github.private_repos.add(APP)
    deployed.route(linking(settings="{mode: link, storage: s3}"))
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    wider = (
        f"not linked, {APP} is private, and the attachments bucket serves anyone who has a link: "
        "files of a non-public repository are stored on GitHub (storage: github)"
    )
    assert reasons(result) == [
        ("posted", "posted to example-org/app#7 (0 files stored; 2 not stored: wider-access)")
    ]
    assert [c.body for c in deployed.github.comments] == [
        comment(PLACED, [f"{SHOT}: {wider}", f"{LOG}: {wider}", EXE_LINE], mail=mail)
    ]
    assert objects(deployed.s3) == {}
    assert requests_of(deployed.github) == [
        f"GET /repos/{APP}",
        f"POST /repos/{APP}/issues/7/comments",
    ]


# --- 3. A public repository, S3 storage.


def in_bucket(mail: str) -> tuple[str, list[str], dict[str, dict[str, Any]]]:
    """The image line, the file lines and the objects of bug_report() stored in the bucket by a
    route keeping files 30 days."""
    shot = s3_key(mail, 0, SCREENSHOT, "screenshot.png")
    log = s3_key(mail, 1, BUILD_LOG, "build.log")
    image = f"![screenshot.png]({FILES_URL}/{shot})\n\n"
    lines = [
        f"[screenshot.png]({FILES_URL}/{shot}) (image/png, 71 bytes)",
        f"[build.log]({FILES_URL}/{log}) (text/plain, 248 bytes)",
        EXE_LINE,
    ]
    stored = {
        shot: {
            "body": SCREENSHOT,
            "type": "image/png",
            "disposition": "inline; filename=\"screenshot.png\"; filename*=UTF-8''screenshot.png",
            "tags": {"retention-days": "30"},
        },
        log: {
            "body": BUILD_LOG,
            "type": "text/plain; charset=utf-8",
            "disposition": "attachment; filename=\"build.log\"; filename*=UTF-8''build.log",
            "tags": {"retention-days": "30"},
        },
    }
    return image, lines, stored


S3_ROUTE = "{mode: link, storage: s3, retention_days: 30}"


def test_a_public_repository_stores_in_the_bucket_behind_cloudfront(deployed):
    """Objects under unguessable keys, served inline for the image and as a download for the
    log, tagged with the route's retention; the comment links CloudFront's address."""
    deployed.route(linking(settings=S3_ROUTE))
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    image, lines, stored = in_bucket(mail)
    assert [c.body for c in deployed.github.comments] == [comment(image, lines, mail=mail)]
    assert objects(deployed.s3) == stored
    # Who can read the repository, then the comment: nothing committed.
    assert requests_of(deployed.github) == [
        f"GET /repos/{APP}",
        f"POST /repos/{APP}/issues/7/comments",
    ]


# --- 4. Redelivery and replay.


def test_a_redelivered_or_replayed_mail_stores_and_posts_nothing_again(
    deployed, monkeypatch, capsys
):
    """SES's event again, then `ticket-router replay` of the stored mail: the claim answers
    already-posted; no upload, no listing, no second comment."""
    deployed.route(linking())
    raw = bug_report()
    mail = mail_of(raw)
    first = deliver(deployed, raw)
    seen = requests_of(deployed.github)
    again = lambda_function.lambda_handler(ses_event("ses1", "7@issues.example.com"), Context())
    already = "this mail was already posted to example-org/app#7"
    assert reasons(again) == [("already-posted", already)]
    assert again["decisions"][0]["url"] == first["decisions"][0]["url"]
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    capsys.readouterr()
    status = main(["replay", "--routes", str(deployed.routes), "--json", "inbound/ses1"])
    [replayed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (status, replayed["reason"], replayed["detail"]) == (0, "already-posted", already)
    assert replayed["url"] == first["decisions"][0]["url"]
    # What the replay planned links the same files as the comment posted.
    [posted] = deployed.github.comments
    assert replayed["body"] == posted.body
    assert requests_of(deployed.github) == seen
    assert len(deployed.github.comments) == 1
    assert deployed.github.branch_files(APP, BRANCH) == committed(mail)


# --- 5. A failure between storing and posting.


def test_a_comment_that_fails_after_the_files_are_stored_links_the_same_files(deployed):
    """The comment's POST answers 502 on every attempt: the mail is retried; its retry lists the
    folder, uploads nothing and posts one comment linking the files stored before."""
    deployed.route(linking())
    deployed.github.broken_issues.add(7)
    raw = bug_report()
    mail = mail_of(raw)
    with pytest.raises(RetryLater) as raised:
        deliver(deployed, raw)
    # A 5xx to a POST may have created the comment: the retry looks for it first.
    assert str(raised.value) == "will be retried: inbound/ses1: post-outcome-unknown"
    assert deployed.github.comments == []
    assert deployed.github.branch_files(APP, BRANCH) == committed(mail)
    folder = f"/repos/{APP}/contents/{DAY}/{mail}"
    comments = f"/repos/{APP}/issues/7/comments"
    # The POST failed: its copy is looked for, and none is found; posting again must wait for
    # a late-applied POST to show (a minute), past this invocation's time.
    assert requests_of(deployed.github) == [
        f"GET /repos/{APP}/git/ref/heads/{BRANCH}",
        f"POST /repos/{APP}/git/trees",
        f"POST /repos/{APP}/git/commits",
        f"POST /repos/{APP}/git/refs",
        f"GET {folder}",
        f"PUT {folder}/screenshot.png",
        f"PUT {folder}/build.log",
        f"POST {comments}",
        f"GET {comments}",
    ]
    before = len(deployed.github.log)
    deployed.github.broken_issues.clear()
    deployed.later(120)
    result = lambda_function.lambda_handler(ses_event("ses1", "7@issues.example.com"), Context())
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    image, lines = on_github(deployed, mail)
    assert [c.body for c in deployed.github.comments] == [comment(image, lines, mail=mail)]
    assert deployed.github.branch_files(APP, BRANCH) == committed(mail)
    # The comment looked for first, and not found; then the branch and the folder listed, the
    # files found there.
    assert requests_of(deployed.github)[before:] == [
        f"GET {comments}",
        f"GET /repos/{APP}/git/ref/heads/{BRANCH}",
        f"GET {folder}",
        f"POST {comments}",
    ]


# --- 6. A store failure that may pass.


def test_an_upload_failing_for_now_posts_nothing_until_the_retry(deployed):
    """Every attempt of the first upload answers 502 (the mail queue's batch): the decision is
    retryable for GitHub's reason, no comment is posted and the message is handed back; the
    retry stores both files and posts once."""
    deployed.route(linking())
    github = deployed.github
    github.fail_kinds["PUT contents"] = [502] * 10
    raw = bug_report()
    mail = mail_of(raw)
    deployed.s3.put_object(Bucket=MAIL_BUCKET, Key="inbound/ses1", Body=raw)
    first = lambda_function.lambda_handler(queued("ses1", "7@issues.example.com"), Context())
    [decision] = first["decisions"]
    shot = f"{DAY}/{mail}/screenshot.png"
    assert (decision["reason"], decision["detail"], decision["retryable"], decision["url"]) == (
        "github-unavailable",
        f"GitHub answered 502 for the file {shot} on {BRANCH} of {APP}: injected 502 "
        "(after 4 attempts)",
        True,
        None,
    )
    # The client's four attempts, three waits between them (recorded, not slept).
    assert (github.requests["PUT contents"], len(deployed.slept)) == (4, 3)
    assert first["batchItemFailures"] == [
        {"itemIdentifier": "7d1e4b2a-9c3f-4a5b-8e6d-0f1a2b3c4d5e"}
    ]
    assert github.requests["POST"] == 0
    assert github.comments == []
    assert github.branch_files(APP, BRANCH) == {"README.md": README.encode()}
    github.fail_kinds["PUT contents"] = []
    deployed.later(120)
    again = queued("ses1", "7@issues.example.com", receive_count=2)
    result = lambda_function.lambda_handler(again, Context())
    assert result["batchItemFailures"] == []
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    image, lines = on_github(deployed, mail)
    assert [c.body for c in github.comments] == [comment(image, lines, mail=mail)]
    assert github.branch_files(APP, BRANCH) == committed(mail)
    assert github.requests["PUT contents"] == 4 + 2
    assert github.requests["POST"] == 1


class Throttled:
    """S3 answering every PutObject with SlowDown while ``on``: botocore's before-call hook
    answers instead of S3."""

    def __init__(self) -> None:
        self.on = True
        self.refused = 0

    def __call__(self, **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self.on:
            return None
        self.refused += 1
        error = {"Code": "SlowDown", "Message": "Please reduce your request rate."}
        return AWSResponse("https://s3", 503, {}, None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }


def test_a_throttled_bucket_posts_nothing_until_the_retry(deployed, monkeypatch):
    """S3 slows the writes down: the mail is retried (attachment-store-unavailable) and no
    comment is posted; the retry stores both objects and posts once."""
    throttled = Throttled()

    def bucket(client: Any, name: str) -> S3Files:
        client.meta.events.register("before-call.s3.PutObject", throttled)
        return S3Files(client, name)

    monkeypatch.setattr(lambda_function, "S3Files", bucket)
    deployed.route(linking(settings=S3_ROUTE))
    raw = bug_report()
    mail = mail_of(raw)
    with pytest.raises(RetryLater) as raised:
        deliver(deployed, raw)
    assert str(raised.value) == "will be retried: inbound/ses1: attachment-store-unavailable"
    assert throttled.refused == 1
    assert deployed.github.comments == []
    assert objects(deployed.s3) == {}
    throttled.on = False
    result = lambda_function.lambda_handler(ses_event("ses1", "7@issues.example.com"), Context())
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    image, lines, stored = in_bucket(mail)
    assert [c.body for c in deployed.github.comments] == [comment(image, lines, mail=mail)]
    assert objects(deployed.s3) == stored
    assert deployed.github.requests["POST"] == 1


# --- 7. A credential that may not write.


def test_a_credential_without_contents_permission_lists_the_files_not_stored(deployed):
    """GitHub answers 403 to the branch's first tree: the comment is posted, the files listed
    not-stored with what the credential needs."""
    deployed.route(linking())
    deployed.github.read_only_repos.add(APP)
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [
        ("posted", "posted to example-org/app#7 (0 files stored; 2 not stored: not-stored)")
    ]
    # The comment shortens a detail to 200 characters: GitHub's own message is cut.
    refused = (
        f"not linked, the credential cannot write files to {APP} (it needs Contents: read and "
        "write on the repository (a GitHub App installed there, a fine-grained token granted it; "
        "a classic token the repo scope)): GitHub answered 403 for the first tree of…"
    )
    assert [c.body for c in deployed.github.comments] == [
        comment(PLACED, [f"{SHOT}: {refused}", f"{LOG}: {refused}", EXE_LINE], mail=mail)
    ]
    assert deployed.github.branch_files(APP, BRANCH) == {}
    assert requests_of(deployed.github) == [
        f"GET /repos/{APP}/git/ref/heads/{BRANCH}",
        f"POST /repos/{APP}/git/trees",
        f"POST /repos/{APP}/issues/7/comments",
    ]


# --- 8. No virus verdict.


def test_a_mail_not_scanned_for_viruses_stores_nothing(deployed):
    """Scanning off: neither the receipt nor the stored mail has a virus verdict. Every file is
    listed not-scanned and GitHub sees the comment only."""
    deployed.route(linking())
    raw = bug_report(virus=False)
    mail = mail_of(raw)
    result = deliver(deployed, raw, virus=None)
    assert reasons(result) == [("posted", "posted to example-org/app#7")]
    unscanned = "not linked, SES's virus verdict is DISABLED"
    assert [c.body for c in deployed.github.comments] == [
        comment(
            PLACED,
            [f"{SHOT}: {unscanned}", f"{LOG}: {unscanned}", f"{EXE}: {unscanned}"],
            mail=mail,
        )
    ]
    assert requests_of(deployed.github) == [f"POST /repos/{APP}/issues/7/comments"]
    assert deployed.github.branch_files(APP, BRANCH) == {}
    assert objects(deployed.s3) == {}


# --- 9. Removal.

WEBSITE = "example-org/website"
BOTH = f"""\
routes:
  - domain: issues.example.com
    repo: {APP}
    allowed_senders: [example.com]
    attachments: link
  - domain: issues.example.com
    prefix: web-
    repo: {WEBSITE}
    allowed_senders: [example.com]
    attachments: {S3_ROUTE}
"""


def test_remove_deletes_one_mails_files_from_the_branch_and_the_bucket(
    deployed, monkeypatch, capsys
):
    """Two mails, each posted to an issue storing on GitHub and one storing in S3: removing the
    first deletes its files in one commit and its objects, says each, and keeps the other's."""
    deployed.route(BOTH)
    to = "7@issues.example.com, web-3@issues.example.com"
    recipients = ("7@issues.example.com", "web-3@issues.example.com")
    first, other = bug_report(to=to), bug_report(message_id="other@example.com", to=to)
    gone, kept = mail_of(first), mail_of(other)
    for ses_id, raw in (("ses1", first), ("ses2", other)):
        result = deliver(deployed, raw, *recipients, ses_id=ses_id)
        assert [d["reason"] for d in result["decisions"]] == ["posted", "posted"]
    history = deployed.github.history(APP, BRANCH)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    capsys.readouterr()
    argv = ["attachments", "remove", gone, "--repo", APP, "--repo", WEBSITE]
    status = main([*argv, "--routes", str(deployed.routes)])
    out, err = capsys.readouterr()
    blob = f"{deployed.web}/{APP}/blob/{BRANCH}/{DAY}/{gone}"
    keys = sorted(key for key in in_bucket(gone)[2])
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        f"removed {APP} {BRANCH}:{DAY}/{gone}/build.log {blob}/build.log",
        f"removed {APP} {BRANCH}:{DAY}/{gone}/screenshot.png {blob}/screenshot.png",
        *(f"removed s3:{key} {FILES_URL}/{key}" for key in keys),
    ]
    assert deployed.github.branch_files(APP, BRANCH) == committed(kept)
    assert deployed.github.history(APP, BRANCH) == [f"Remove the files of mail {gone}", *history]
    assert objects(deployed.s3) == in_bucket(kept)[2]


# --- Exactly once, file by file.


def test_an_upload_whose_answer_is_lost_is_not_uploaded_again(deployed):
    """GitHub commits the screenshot and its answer is lost (502): the retried upload is refused
    as present (422) and found there, and the comment links it; one commit per file."""
    deployed.route(linking())
    deployed.github.lost_kinds["PUT contents"] = [502]
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    image, lines = on_github(deployed, mail)
    assert [c.body for c in deployed.github.comments] == [comment(image, lines, mail=mail)]
    assert deployed.github.branch_files(APP, BRANCH) == committed(mail)
    what = f"Attachments of mail {mail} for example-org/app#7"
    assert deployed.github.history(APP, BRANCH) == [what, what, README_MESSAGE]
    folder = f"/repos/{APP}/contents/{DAY}/{mail}"
    assert requests_of(deployed.github)[4:] == [
        f"GET {folder}",
        f"PUT {folder}/screenshot.png",
        f"PUT {folder}/screenshot.png",
        f"GET {folder}",
        f"PUT {folder}/build.log",
        f"POST /repos/{APP}/issues/7/comments",
    ]


def test_a_retry_after_a_partial_store_uploads_only_what_is_missing(deployed):
    """The screenshot is committed, then every attempt at the log answers 502: no comment; the
    retry uploads the log alone and posts once."""
    deployed.route(linking())
    github = deployed.github

    def fail_from_now() -> None:
        github.fail_kinds["PUT contents"] = [502] * 10

    github.before_kinds["PUT contents"] = [lambda: None, fail_from_now]
    raw = bug_report()
    mail = mail_of(raw)
    with pytest.raises(RetryLater) as raised:
        deliver(deployed, raw)
    assert str(raised.value) == "will be retried: inbound/ses1: github-unavailable"
    assert github.comments == []
    assert github.branch_files(APP, BRANCH) == {
        "README.md": README.encode(),
        f"{DAY}/{mail}/screenshot.png": SCREENSHOT,
    }
    github.fail_kinds["PUT contents"] = []
    before = len(github.log)
    result = lambda_function.lambda_handler(ses_event("ses1", "7@issues.example.com"), Context())
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    image, lines = on_github(deployed, mail)
    assert [c.body for c in github.comments] == [comment(image, lines, mail=mail)]
    assert github.branch_files(APP, BRANCH) == committed(mail)
    folder = f"/repos/{APP}/contents/{DAY}/{mail}"
    assert requests_of(github)[before:] == [
        f"GET /repos/{APP}/git/ref/heads/{BRANCH}",
        f"GET {folder}",
        f"PUT {folder}/build.log",
        f"POST /repos/{APP}/issues/7/comments",
    ]


def test_one_mail_to_two_issues_stores_its_files_once(deployed):
    """Two issues of one repository: two comments linking the same files, uploaded once."""
    deployed.route(linking())
    to = "7@issues.example.com, 8@issues.example.com"
    raw = bug_report(to=to)
    mail = mail_of(raw)
    result = deliver(deployed, raw, "7@issues.example.com", "8@issues.example.com")
    assert [d["reason"] for d in result["decisions"]] == ["posted", "posted"]
    image, lines = on_github(deployed, mail)
    assert [(c.issue, c.body) for c in deployed.github.comments] == [
        (7, comment(image, lines, to="7@issues.example.com", mail=mail)),
        (8, comment(image, lines, to="8@issues.example.com", mail=mail)),
    ]
    assert deployed.github.branch_files(APP, BRANCH) == committed(mail)
    assert deployed.github.requests["PUT contents"] == 2


# --- A new issue.


def test_a_mail_opening_an_issue_shows_its_screenshot_in_the_issue(deployed):
    """The address that opens an issue: its body shows and links the files like a comment."""
    deployed.route(linking() + "    new_issue_address: new\n")
    raw = bug_report(to="new@issues.example.com")
    mail = mail_of(raw)
    result = deliver(deployed, raw, "new@issues.example.com")
    [decision] = result["decisions"]
    assert (decision["action"], decision["reason"], decision["issue"]) == ("open", "opened", 1)
    [opened] = deployed.github.opened()
    image, lines = on_github(deployed, mail)
    assert opened.title == "Export fails"
    assert opened.body == comment(image, lines, to="new@issues.example.com", mail=mail)
    assert deployed.github.branch_files(APP, BRANCH) == committed(mail)
    what = f"Attachments of mail {mail} for a new issue in {APP}"
    assert deployed.github.history(APP, BRANCH) == [what, what, README_MESSAGE]


# --- Retention.


def test_the_daily_schedule_removes_the_files_past_retention(deployed):
    """EventBridge's daily event: a route keeping files a day removes those of a mail received
    long before, in one commit."""
    deployed.route(linking(settings="{mode: link, retention_days: 1}"))
    raw = bug_report()
    mail = mail_of(raw)
    deliver(deployed, raw)
    history = deployed.github.history(APP, BRANCH)
    event = json.loads((TESTS / "events" / "scheduledEvent.json").read_text())
    outcome = lambda_function.lambda_handler(event, Context())
    assert outcome == {"removed": 2, "failed": 0, "swept": 1}
    assert deployed.github.branch_files(APP, BRANCH) == {"README.md": README.encode()}
    assert deployed.github.history(APP, BRANCH) == [
        "Remove the files stored more than 1 day ago",
        *history,
    ]
    assert f"{DAY}/{mail}/build.log" not in deployed.github.branch_files(APP, BRANCH)


# --- A private companion repository.

FILES_REPO = "example-org/app-files"


def test_a_private_companion_holds_the_files_and_remove_finds_them(deployed, monkeypatch, capsys):
    """A private issue repository storing in a private companion: the files are committed there
    (none in the issue's repository) and linked there; `attachments remove` deletes them
    there."""
    deployed.github.private_repos.update({APP, FILES_REPO})
    deployed.route(linking(settings=f"{{mode: link, repository: {FILES_REPO}}}"))
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    image, lines = on_github(deployed, mail, FILES_REPO)
    assert [c.body for c in deployed.github.comments] == [comment(image, lines, mail=mail)]
    assert deployed.github.branch_files(FILES_REPO, BRANCH) == committed(mail)
    assert deployed.github.branch_files(APP, BRANCH) == {}
    assert requests_of(deployed.github)[:2] == [f"GET /repos/{APP}", f"GET /repos/{FILES_REPO}"]
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    capsys.readouterr()
    status = main(["attachments", "remove", mail, "--routes", str(deployed.routes)])
    out, err = capsys.readouterr()
    blob = f"{deployed.web}/{FILES_REPO}/blob/{BRANCH}/{DAY}/{mail}"
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        f"removed {FILES_REPO} {BRANCH}:{DAY}/{mail}/build.log {blob}/build.log",
        f"removed {FILES_REPO} {BRANCH}:{DAY}/{mail}/screenshot.png {blob}/screenshot.png",
    ]
    assert deployed.github.branch_files(FILES_REPO, BRANCH) == {"README.md": README.encode()}


def test_a_companion_the_credential_cannot_see_lists_the_files_not_stored(deployed):
    """GitHub answers 404 for the companion (not installed there, or no such repository): the
    files are listed not-stored, nothing is committed, and the comment is posted."""
    deployed.github.missing_repos.add(FILES_REPO)
    deployed.route(linking(settings=f"{{mode: link, repository: {FILES_REPO}}}"))
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [
        ("posted", "posted to example-org/app#7 (0 files stored; 2 not stored: not-stored)")
    ]
    hidden = (
        f"not linked, the credential cannot write files to {FILES_REPO} (it needs Contents: read "
        "and write on the repository (a GitHub App installed there, a fine-grained token granted "
        "it; a classic token the repo scope)): GitHub answered 404 for the repository…"
    )
    assert [c.body for c in deployed.github.comments] == [
        comment(PLACED, [f"{SHOT}: {hidden}", f"{LOG}: {hidden}", EXE_LINE], mail=mail)
    ]
    assert requests_of(deployed.github) == [
        f"GET /repos/{APP}",
        f"GET /repos/{FILES_REPO}",
        f"POST /repos/{APP}/issues/7/comments",
    ]


# --- No bucket.


def test_an_s3_route_in_a_deployment_without_a_bucket_lists_its_files(deployed, monkeypatch):
    """No attachments bucket deployed (Terraform sets neither variable): an S3 route's files are
    listed no-storage at plan time, and GitHub sees the comment only."""
    monkeypatch.delenv("ATTACHMENTS_URL")
    monkeypatch.delenv("ATTACHMENTS_BUCKET")
    deployed.route(linking(settings=S3_ROUTE))
    raw = bug_report()
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [("posted", "posted to example-org/app#7")]
    none = "not linked, the route stores files in S3 and this deployment has no attachments bucket"
    assert [c.body for c in deployed.github.comments] == [
        comment(PLACED, [f"{SHOT}: {none}", f"{LOG}: {none}", f"{EXE}: {none}"], mail=mail)
    ]
    assert requests_of(deployed.github) == [f"POST /repos/{APP}/issues/7/comments"]
    assert objects(deployed.s3) == {}


# --- Names as people send them, files that cannot be read.


def test_a_file_name_with_spaces_and_accents_is_stored_under_a_safe_one(deployed):
    """Shown under the name as sent, committed under a safe one, linked percent-encoded."""
    deployed.route(linking())
    sent = "Écran 1 (copie).png"
    raw = bug_report().replace(b'"screenshot.png"', f'"{sent}"'.encode())
    mail = mail_of(raw)
    result = deliver(deployed, raw)
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    folder = f"{deployed.web}/{APP}/%s/{BRANCH}/{DAY}/{mail}"
    image, lines = on_github(deployed, mail)
    safe = "%C3%89cran-1-copie.png"
    image = f"![{sent}]({folder % 'raw'}/{safe})\n\n"
    lines[0] = f"[{sent}]({folder % 'blob'}/{safe}) (image/png, 71 bytes)"
    assert [c.body for c in deployed.github.comments] == [comment(image, lines, mail=mail)]
    assert deployed.github.branch_files(APP, BRANCH) == {
        "README.md": README.encode(),
        f"{DAY}/{mail}/Écran-1-copie.png": SCREENSHOT,
        f"{DAY}/{mail}/build.log": BUILD_LOG,
    }


def test_the_files_of_a_winmail_dat_are_listed_unreadable(deployed):
    """Outlook's winmail.dat: its files have no part of their own; listed, nothing stored."""
    deployed.route(linking())
    raw = (TESTS / "attachments" / "outlook-winmail.eml").read_bytes()
    result = deliver(deployed, raw)
    assert [d["reason"] for d in result["decisions"]] == ["posted"]
    [posted] = deployed.github.comments
    unreadable = "not linked, its content cannot be read out of the mail"
    assert posted.body.splitlines()[-6:-3] == [
        "**Attachments** (2):",
        f"- sensor3-readings.csv (text/csv, 57 bytes): {unreadable}",
        f"- Störungsbericht.pdf (application/pdf, 24 bytes): {unreadable}",
    ]
    assert requests_of(deployed.github) == [f"POST /repos/{APP}/issues/7/comments"]


# --- GitHub's limit on content-creating requests.


def test_uploads_and_the_comment_take_turns_under_the_credentials_limit(deployed, monkeypatch):
    """Three content-creating requests a minute: the branch, the uploads and the comment share
    them (the limit kept in the claims table). The comment's turn is past this invocation: the
    mail is handed back with the wait, and its retry uploads nothing and posts."""
    monkeypatch.setenv("GITHUB_POSTS_PER_MINUTE", "3")
    deployed.route(linking())
    github = deployed.github
    raw = bug_report()
    mail = mail_of(raw)
    deployed.s3.put_object(Bucket=MAIL_BUCKET, Key="inbound/ses1", Body=raw)
    first = lambda_function.lambda_handler(queued("ses1", "7@issues.example.com"), Context())
    [decision] = first["decisions"]
    assert (decision["reason"], decision["retryable"]) == ("rate-limited", True)
    assert decision["retry_after"] > 0
    folder = f"/repos/{APP}/contents/{DAY}/{mail}"
    assert requests_of(github) == [
        f"GET /repos/{APP}/git/ref/heads/{BRANCH}",
        f"POST /repos/{APP}/git/trees",
        f"POST /repos/{APP}/git/commits",
        f"POST /repos/{APP}/git/refs",
        f"GET {folder}",
        f"PUT {folder}/screenshot.png",
        f"PUT {folder}/build.log",
    ]
    # Each content-creating request after the first waited for its turn (not slept).
    assert len(deployed.slept) == 4
    assert github.branch_files(APP, BRANCH) == committed(mail)
    before = len(github.log)
    deployed.later(decision["retry_after"] + 1)
    again = queued("ses1", "7@issues.example.com", receive_count=2)
    result = lambda_function.lambda_handler(again, Context())
    assert reasons(result) == [("posted", "posted to example-org/app#7 (2 files stored)")]
    assert requests_of(github)[before:] == [
        f"GET /repos/{APP}/git/ref/heads/{BRANCH}",
        f"GET {folder}",
        f"POST /repos/{APP}/issues/7/comments",
    ]
    image, lines = on_github(deployed, mail)
    assert [c.body for c in github.comments] == [comment(image, lines, mail=mail)]


def test_a_replay_without_a_claim_does_not_bring_removed_files_back(deployed, monkeypatch, capsys):
    """A mail posted, its files removed, then replayed without the claims table (or after its
    claim expired, 91 days on): the replay finds the comment and reports it already posted;
    the removed files stay removed."""
    deployed.route(linking())
    raw = bug_report()
    mail = mail_of(raw)
    deliver(deployed, raw)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("IDEMPOTENCY_TABLE")
    assert main(["attachments", "remove", mail, "--routes", str(deployed.routes)]) == 0
    before = len(deployed.github.log)
    capsys.readouterr()
    status = main(["replay", "--routes", str(deployed.routes), "--json", "inbound/ses1"])
    [replayed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (status, replayed["reason"]) == (0, "already-posted")
    assert len(deployed.github.comments) == 1
    assert deployed.github.branch_files(APP, BRANCH) == {"README.md": README.encode()}
    assert requests_of(deployed.github)[before:] == [f"GET /repos/{APP}/issues/7/comments"]


# --- A new issue whose files cannot be stored.


def test_an_issue_opened_without_contents_permission_lists_its_files(deployed):
    """The address that opens an issue, a credential that may not write: the issue is opened
    with its files listed not-stored."""
    deployed.route(linking() + "    new_issue_address: new\n")
    deployed.github.read_only_repos.add(APP)
    raw = bug_report(to="new@issues.example.com")
    mail = mail_of(raw)
    result = deliver(deployed, raw, "new@issues.example.com")
    [decision] = result["decisions"]
    assert (decision["reason"], decision["issue"]) == ("opened", 1)
    [opened] = deployed.github.opened()
    refused = (
        f"not linked, the credential cannot write files to {APP} (it needs Contents: read and "
        "write on the repository (a GitHub App installed there, a fine-grained token granted it; "
        "a classic token the repo scope)): GitHub answered 403 for the first tree of…"
    )
    assert opened.body == comment(
        PLACED,
        [f"{SHOT}: {refused}", f"{LOG}: {refused}", EXE_LINE],
        to="new@issues.example.com",
        mail=mail,
    )
    assert deployed.github.branch_files(APP, BRANCH) == {}


# --- Removal by what the decision log knows.


def test_remove_finds_a_mail_by_its_message_id_in_the_decision_log(deployed, monkeypatch, capsys):
    """The function keeps each decision; `attachments remove <Message-ID>` finds the mail's key
    and the repositories it was posted to there, and removes its files."""
    create_decision_table(boto3.client("dynamodb", region_name=REGION))
    monkeypatch.setenv("DECISION_TABLE", DECISION_TABLE)
    deployed.route(linking())
    raw = bug_report()
    mail = mail_of(raw)
    deliver(deployed, raw)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    capsys.readouterr()
    argv = ["attachments", "remove", "<report@example.com>", "--routes", str(deployed.routes)]
    status = main([*argv, "--decision-table", DECISION_TABLE])
    out, err = capsys.readouterr()
    blob = f"{deployed.web}/{APP}/blob/{BRANCH}/{DAY}/{mail}"
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        f"removed {APP} {BRANCH}:{DAY}/{mail}/build.log {blob}/build.log",
        f"removed {APP} {BRANCH}:{DAY}/{mail}/screenshot.png {blob}/screenshot.png",
    ]
    assert deployed.github.branch_files(APP, BRANCH) == {"README.md": README.encode()}


# --- A preview.


def test_a_dry_run_shows_the_comment_and_stores_nothing(deployed, tmp_path, capsys):
    """`dispatch --dry-run` prints the comment with the links it would have; no request."""
    deployed.route(linking())
    raw = bug_report()
    mail = mail_of(raw)
    stored = tmp_path / "report.eml"
    stored.write_bytes(raw)
    capsys.readouterr()
    status = main(["dispatch", "--dry-run", "--routes", str(deployed.routes), str(stored)])
    out = capsys.readouterr().out.splitlines()
    image, lines = on_github(deployed, mail)
    body = comment(image, lines, mail=mail).split("\n")
    assert status == 0
    assert out == [
        f"{stored} -> 7@issues.example.com: would comment on {APP}#7",
        *(f"    | {line}" for line in body),
        "",
    ]
    assert deployed.github.log == []
