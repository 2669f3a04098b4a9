"""``ticket-router attachments remove|sweep`` and the mail function's daily sweep: what they
print and log, their exit codes, and how MAIL is found in the decision log. The stores are the
in-memory fakes of tests/test_attachment_upkeep.py; the routes are written here as values."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler import cli, lambda_function
from handler.attachments.model import Deployment
from handler.aws.attachment_store import S3Files
from handler.aws.decision_log import DynamoDecisionLog
from handler.cli import main
from handler.deadline import Deadline
from handler.inbound.plan import Decision
from handler.reasons import Reason, RetryLater, TicketRouterError
from handler.routing import Route, Routes
from handler.service.decision_log import MailFacts, Where, record_of
from handler.service.inbound import Runtime
from handler.wiring import attachment_stores, deployment_of
from tests.attachment_fakes import BRANCH, FakeBucketFiles, FakeRepositoryFiles
from tests.conftest import TESTS
from tests.dynamo import DECISION_TABLE, create_decision_table
from tests.test_attachment_upkeep import MAIL, OTHER, Deployed, route, routes
from tests.test_lambda import Context, log_lines

REGION = "eu-west-1"
SHOT = f"2026/12/06/{MAIL}/shot.png"
BLOB = "https://github.com/example-org/app/blob/ticket-router-attachments"


class Made:
    """attachment_stores as the CLI and the Lambda call it: what they passed, and the fakes
    every route gets."""

    def __init__(self, deployed: Deployed) -> None:
        self.deployed = deployed
        self.calls: list[tuple[Any, Any, str]] = []
        self.deadlines: list[Deadline] = []

    def __call__(self, github: Any, bucket: Any) -> Any:
        self.calls.append((github, bucket))

        def stores(one: Route, deadline: Deadline) -> Any:
            self.deadlines.append(deadline)
            return self.deployed(one)

        return stores


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Deployed:
    """The CLI on a token, its routes those of ``table``, its stores the fakes."""
    found = Deployed(FakeBucketFiles())
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    for name in ("IDEMPOTENCY_TABLE", "ATTACHMENTS_BUCKET", "ATTACHMENTS_URL", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    made = Made(found)
    monkeypatch.setattr(cli, "attachment_stores", made)
    # The S3 adapter the CLI makes for --bucket: its client and bucket, kept to be looked at.
    adapter = types.ModuleType("handler.aws.attachment_store")
    adapter.S3Files = lambda client, bucket: SimpleNamespace(client=client, bucket=bucket)
    monkeypatch.setitem(sys.modules, "handler.aws.attachment_store", adapter)
    return found


def use(monkeypatch: pytest.MonkeyPatch, table: Routes) -> None:
    monkeypatch.setattr(cli, "_routes", lambda path: table)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# remove, by mail key.


def test_remove_by_mail_key_prints_each_file_removed(monkeypatch, capsys, deployed):
    """A mail key and no --repo: every linking route's branch looked in; one line per file."""
    use(monkeypatch, routes(route(), route("example-org/web", mode="list")))
    deployed.github.put("example-org/app", BRANCH, SHOT, f"undated/{MAIL}/log.txt")
    status, out, err = run(capsys, "attachments", "remove", MAIL)
    assert (status, err) == (0, "")
    assert out == (
        f"removed example-org/app ticket-router-attachments:{SHOT} {BLOB}/{SHOT}\n"
        f"removed example-org/app ticket-router-attachments:undated/{MAIL}/log.txt "
        f"{BLOB}/undated/{MAIL}/log.txt\n"
    )


def test_remove_with_repo_looks_there_only(monkeypatch, capsys, deployed):
    """--repo narrows the places to the linking routes posting there."""
    use(monkeypatch, routes(route(), route("example-org/web")))
    deployed.github.put("example-org/app", BRANCH, SHOT)
    deployed.github.put("example-org/web", BRANCH, SHOT)
    status, out, _ = run(capsys, "attachments", "remove", MAIL, "--repo", "example-org/web")
    assert status == 0
    assert out.startswith("removed example-org/web ticket-router-attachments:")
    assert deployed.github.files("example-org/app") == [SHOT]


def test_remove_says_when_nothing_was_stored(monkeypatch, capsys, deployed):
    """Nothing of the mail anywhere: one line saying where it looked; exit 0."""
    use(monkeypatch, routes(route(), route(storage="s3")))
    deployed.github.put("example-org/app", BRANCH, f"2026/12/06/{OTHER}/shot.png")
    status, out, err = run(capsys, "attachments", "remove", MAIL, "--bucket", "files")
    assert (status, err) == (0, "")
    assert out == (
        f"nothing stored for mail {MAIL} (looked in: example-org/app ticket-router-attachments, "
        "the attachments bucket)\n"
    )


def test_remove_without_linking_routes_says_so(monkeypatch, capsys, deployed):
    """No route links files: nothing can have been stored."""
    use(monkeypatch, routes(route(mode="list")))
    assert run(capsys, "attachments", "remove", MAIL) == (
        0,
        f"nothing stored for mail {MAIL}: no route links files\n",
        "",
    )
    assert run(capsys, "attachments", "remove", MAIL, "--repo", "example-org/app") == (
        0,
        f"nothing stored for mail {MAIL}: no route posting to example-org/app links files\n",
        "",
    )


def test_removed_objects_are_named_with_their_url(monkeypatch, capsys, deployed):
    """S3 storage: the key and, with ATTACHMENTS_URL, the link the comment had."""
    use(monkeypatch, routes(route(storage="s3")))
    assert deployed.bucket is not None
    deployed.bucket.objects[f"{MAIL}/aa/shot.png"] = b"x"
    monkeypatch.setenv("ATTACHMENTS_URL", "https://files.example.net/")
    status, out, _ = run(capsys, "attachments", "remove", MAIL, "--bucket", "files")
    assert status == 0
    assert out == f"removed s3:{MAIL}/aa/shot.png https://files.example.net/{MAIL}/aa/shot.png\n"


def test_a_place_that_fails_is_one_line_on_stderr_and_exit_1(monkeypatch, capsys, deployed):
    """The other places are still done and printed; the failure names its place."""
    use(monkeypatch, routes(route(), route("example-org/web")))
    deployed.github.put("example-org/web", BRANCH, SHOT)
    deployed.github.fail["example-org/app"] = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE,
        "GitHub refused: the credential needs contents: write on example-org/app",
        transient=False,
    )
    status, out, err = run(capsys, "attachments", "remove", MAIL)
    assert status == 1
    assert out.startswith("removed example-org/web ")
    assert err == (
        "ticket-router attachments remove: error: example-org/app ticket-router-attachments: "
        "GitHub refused: the credential needs contents: write on example-org/app\n"
    )


def test_an_s3_route_without_a_bucket_is_a_failure(monkeypatch, capsys, deployed):
    """No --bucket and no ATTACHMENTS_BUCKET: the bucket's place fails, saying so."""
    use(monkeypatch, routes(route(storage="s3")))
    deployed.bucket = None
    status, out, err = run(capsys, "attachments", "remove", MAIL)
    assert (status, out) == (1, "")
    assert err == (
        "ticket-router attachments remove: error: the attachments bucket: route 1 "
        "(r0-@issues.example.com) stores files in S3 and no attachments bucket is given "
        "(ATTACHMENTS_BUCKET)\n"
    )


def test_the_cli_wires_its_credentials_bucket_and_a_budget_per_place(monkeypatch, capsys, deployed):
    """attachment_stores gets the routes' GitHub clients, the S3 adapter on --bucket, and each
    place its own deadline."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    use(monkeypatch, routes(route(), route("example-org/web")))
    made = cli.attachment_stores
    assert isinstance(made, Made)
    run(capsys, "attachments", "remove", MAIL, "--bucket", "files")
    [(github, bucket)] = made.calls
    assert type(github).__name__ == "GitHubClients"
    assert isinstance(bucket, S3Files)
    assert (bucket._s3.meta.service_model.service_name, bucket._bucket) == ("s3", "files")
    assert len(made.deadlines) == 2
    assert all(0 < deadline.remaining() <= 300 for deadline in made.deadlines)


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (
            [MAIL, "--repo", "nope"],
            "ticket-router attachments remove: error: --repo 'nope' is not owner/name",
        ),
        (
            ["s3://mail"],
            "ticket-router attachments remove: error: 's3://mail' is not s3://BUCKET/KEY",
        ),
        (
            ["<m1@example.com>"],
            "ticket-router attachments remove: error: no decision table: give --decision-table "
            "or set DECISION_TABLE (terraform output -raw decision_table_name)",
        ),
    ],
)
def test_remove_refuses_what_it_cannot_run(monkeypatch, capsys, deployed, argv, problem):
    """Exit 2, one line on stderr, nothing removed."""
    monkeypatch.delenv("DECISION_TABLE", raising=False)
    use(monkeypatch, routes(route()))
    deployed.github.put("example-org/app", BRANCH, SHOT)
    assert run(capsys, "attachments", "remove", *argv) == (2, "", problem + "\n")
    assert deployed.github.files("example-org/app") == [SHOT]


def test_remove_without_a_token_cannot_run(monkeypatch, capsys, deployed):
    """No GITHUB_TOKEN and no route credential: exit 2, one line."""
    monkeypatch.delenv("GITHUB_TOKEN")
    use(monkeypatch, routes(route()))
    assert run(capsys, "attachments", "remove", MAIL) == (
        2,
        "",
        "GITHUB_TOKEN is not set: export a token that may comment on the routed repositories "
        "(routes with token_secret or github_app need none)\n",
    )


def test_a_bad_routes_file_cannot_run(capsys, tmp_path):
    """The routes file's problems, exit 2."""
    assert run(capsys, "attachments", "sweep", "--routes", str(tmp_path / "absent.yaml")) == (
        2,
        "",
        f"{tmp_path / 'absent.yaml'}: cannot read the routes file: No such file or directory\n",
    )


# remove, by what `why` takes.


@pytest.fixture
def decisions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's DynamoDB with the decision table, DECISION_TABLE naming it."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DECISION_TABLE", DECISION_TABLE)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_decision_table(client)
        yield client


def record(client: Any, *decisions: Decision, key: str = "inbound/abc") -> None:
    facts = MailFacts("example.com", True, "15518b10f6c5d78571e376bba50af9a8")
    at = datetime(2026, 12, 6, 12, tzinfo=UTC).timestamp()
    records = [
        record_of(
            decision,
            route="issues.example.com",
            facts=facts,
            where=Where("mail", key, key.rpartition("/")[2]),
            at=at + index,
            index=index,
        )
        for index, decision in enumerate(decisions)
    ]
    DynamoDecisionLog(client, DECISION_TABLE, retention_days=30).record(records)


def posted(repo: str, mail: str = MAIL) -> Decision:
    return Decision(
        "7@issues.example.com", "comment", Reason.POSTED, "posted", repo=repo, issue=7, mail=mail
    )


def test_remove_finds_the_mail_key_and_repositories_in_the_decision_log(
    monkeypatch, capsys, deployed, decisions
):
    """By Message-ID: the log's mail key, and only the repositories it was posted to."""
    use(monkeypatch, routes(route(), route("example-org/web"), route("example-org/api")))
    for repo in ("example-org/app", "example-org/web", "example-org/api"):
        deployed.github.put(repo, BRANCH, SHOT)
    record(decisions, posted("example-org/app"), posted("example-org/web"))
    status, out, err = run(capsys, "attachments", "remove", "<m1@example.com>")
    assert (status, err) == (0, "")
    assert [line.split(" ")[1] for line in out.splitlines()] == [
        "example-org/app",
        "example-org/web",
    ]
    assert deployed.github.files("example-org/api") == [SHOT]


def test_remove_by_s3_key_of_a_mail_never_posted(monkeypatch, capsys, deployed, decisions):
    """A rejected mail: posted nowhere, so nothing stored; exit 0."""
    use(monkeypatch, routes(route()))
    rejected = Decision("x@issues.example.com", "reject", Reason.NO_ROUTE, "no route", mail=MAIL)
    record(decisions, rejected)
    assert run(capsys, "attachments", "remove", "s3://mail/inbound/abc") == (
        0,
        f"nothing stored for mail {MAIL}: it was posted to no repository\n",
        "",
    )


def test_remove_of_a_mail_the_log_does_not_know(monkeypatch, capsys, deployed, decisions):
    """Nothing recorded: exit 1, the line says what was searched and to give the key."""
    use(monkeypatch, routes(route()))
    status, out, err = run(capsys, "attachments", "remove", "s3://mail/inbound/zzz")
    assert (status, out) == (1, "")
    assert err == (
        "ticket-router attachments remove: error: no decision recorded for "
        f"s3://mail/inbound/zzz in {DECISION_TABLE} (searched: S3 key s3://mail/inbound/zzz): "
        "give its mail key\n"
    )


# sweep, by hand.


def test_sweep_prints_each_file_removed(monkeypatch, capsys, deployed):
    """The files past retention, one line each; then nothing left to say so."""
    use(monkeypatch, routes(route(retention_days=30)))
    deployed.github.put("example-org/app", BRANCH, f"2020/01/01/{MAIL}/a.png", SHOT)
    status, out, err = run(capsys, "attachments", "sweep")
    assert (status, err) == (0, "")
    assert out == (
        f"removed example-org/app ticket-router-attachments:2020/01/01/{MAIL}/a.png "
        f"{BLOB}/2020/01/01/{MAIL}/a.png\n"
    )
    assert run(capsys, "attachments", "sweep") == (
        0,
        "nothing past its retention (swept: example-org/app ticket-router-attachments)\n",
        "",
    )


def test_sweep_without_retention_says_there_is_nothing_to_sweep(monkeypatch, capsys, deployed):
    """No route with retention_days on GitHub storage: no listing at all."""
    use(monkeypatch, routes(route(), route(storage="s3", retention_days=3)))
    assert run(capsys, "attachments", "sweep") == (
        0,
        "no route keeps files committed to GitHub for retention_days: nothing to sweep\n",
        "",
    )
    assert deployed.logins == []


def test_sweep_failure_exits_1(monkeypatch, capsys, deployed):
    """A branch that cannot be swept: one line on stderr, exit 1."""
    use(monkeypatch, routes(route(retention_days=1)))
    deployed.github.fail["example-org/app"] = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE, "GitHub answered 502"
    )
    assert run(capsys, "attachments", "sweep") == (
        1,
        "",
        "ticket-router attachments sweep: error: example-org/app ticket-router-attachments: "
        "GitHub answered 502\n",
    )


# The mail function's schedule.


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> Deployed:
    """The mail function with routes that keep files 30 days, its stores the fakes."""
    found = Deployed()
    made = Made(found)
    table = routes(route(retention_days=30))
    deployment = Deployment(github_web="https://ghe.example.com")
    built = Runtime(table, store=None, stores=made(None, None), deployment=deployment)
    monkeypatch.setattr(lambda_function, "runtime", lambda: built)
    return found


def schedule() -> dict[str, Any]:
    return json.loads((TESTS / "events" / "scheduledEvent.json").read_text())


def test_the_daily_event_sweeps_and_logs_each_removal(scheduled, stdout_log):
    """EventBridge's Scheduled Event: the files past retention deleted, a JSON line each."""
    old = f"2020/01/01/{MAIL}/a.png"
    scheduled.github.put("example-org/app", BRANCH, old)
    outcome = lambda_function.lambda_handler(schedule(), Context())
    assert outcome == {"removed": 1, "failed": 0, "swept": 1}
    removal, summary = log_lines(stdout_log)
    assert {key: removal[key] for key in ("level", "message", "repo", "path", "url")} == {
        "level": "INFO",
        "message": "attachment removed",
        "repo": "example-org/app",
        "path": old,
        "url": f"https://ghe.example.com/example-org/app/blob/{BRANCH}/{old}",
    }
    assert (summary["message"], summary["removed"]) == ("attachment sweep", 1)
    assert removal["function_request_id"] == Context.aws_request_id


def test_the_daily_event_fails_for_a_retry_when_github_is_down(scheduled, stdout_log):
    """Every branch failed for now: the invocation raises so that Lambda tries again."""
    scheduled.github.fail["example-org/app"] = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE, "GitHub answered 502"
    )
    with pytest.raises(RetryLater):
        lambda_function.lambda_handler(schedule(), Context())
    assert [line["message"] for line in log_lines(stdout_log)] == [
        "attachment sweep failed",
        "attachment sweep",
    ]


# The factory.


def test_attachment_stores_logs_in_on_first_use_only(monkeypatch):
    """The route's GitHub client is made when its repository is first used, with the deadline
    given; the bucket is the one given."""
    logins: list[tuple[Route, Deadline, str | None]] = []
    files = FakeRepositoryFiles()

    class Client:
        def files(self) -> FakeRepositoryFiles:
            return files

    def github(one: Route, deadline: Deadline, *, files: str | None = None) -> Client:
        logins.append((one, deadline, files))
        return Client()

    deadline = Deadline.within(60)
    bucket = FakeBucketFiles()
    stores = attachment_stores(github, bucket)(route(), deadline)
    assert (logins, stores.bucket) == ([], bucket)
    assert stores.repository is files
    assert stores.repository is files
    # The login that commits the files: for a GitHub App, a token with Contents: write there.
    assert logins == [(route(), deadline, route().repo)]


def test_the_deployment_says_where_files_are_served():
    """GITHUB_API_URL's web host and ATTACHMENTS_URL; github.com and no bucket without them."""
    assert deployment_of(
        "https://ghe.example.com/api/v3", " https://d1234.cloudfront.net/ "
    ) == Deployment("https://ghe.example.com", "https://d1234.cloudfront.net")
    assert deployment_of(None, None) == Deployment()
    assert deployment_of("", "") == Deployment()
