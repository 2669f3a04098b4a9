"""The command line: check and dispatch, their output and exit codes (replay: test_replay)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from handler.cli import main
from handler.outbound.signatures import app_secret, owner_secret
from tests.conftest import ROOT, TESTS
from tests.dynamo import CLAIMS_TABLE, create_claims_table
from tests.fakegithub import FakeGitHub
from tests.sesmail import ses_mail

EXAMPLES = sorted((ROOT / "examples" / "mail").glob("*.eml"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_check_accepts_the_sample_routes(capsys):
    """The shipped routes.yaml is valid."""
    status, out, err = run(capsys, "check", str(ROOT / "routes.yaml"))
    assert (status, err) == (0, "")
    assert out.endswith(": valid, 3 routes for 2 domains\n")


def test_check_reports_errors_on_stderr_and_exits_1(capsys, tmp_path):
    """An invalid routes file: exit 1, the problem named on stderr."""
    bad = tmp_path / "routes.yaml"
    bad.write_text(
        "routes:\n  - domain: issues.example.com\n    repo: nope\n    allowed_senders: [x.org]\n"
    )
    status, out, err = run(capsys, "check", str(bad))
    assert (status, out) == (1, "")
    assert err == (
        f'{bad}:3:11: route 1 (issues.example.com): repo "nope" is not of the form owner/name '
        "(e.g. example-org/website)\n"
    )


def test_check_of_a_missing_file_exits_2(capsys, tmp_path):
    """A routes file that cannot be read is reported, not a traceback, and exits 2."""
    status, out, err = run(capsys, "check", str(tmp_path / "absent.yaml"))
    assert (status, out) == (2, "")
    assert err == (
        f"{tmp_path / 'absent.yaml'}: cannot read the routes file: No such file or directory\n"
    )


def test_dispatch_dry_run_json_on_the_examples(capsys):
    """Every example mail gets one JSON line per recipient with the documented keys."""
    status, out, err = run(
        capsys,
        "dispatch",
        "--dry-run",
        "--json",
        "--routes",
        str(ROOT / "routes.yaml"),
        *map(str, EXAMPLES),
    )
    assert (status, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    summary = [
        (line["file"].rsplit("/", 1)[-1], line["recipient"], line["action"], line["reason"])
        for line in lines
    ]
    assert summary == [
        ("01-gmail-reply.eml", "123@anomalies.unseen.ac.uk", "comment", "accepted"),
        ("02-outlook-html.eml", "web-45@issues.example.com", "comment", "accepted"),
        ("03-forged-from.eml", "123@anomalies.unseen.ac.uk", "reject", "not-authenticated"),
        ("04-not-allowed.eml", "docs-7@issues.example.com", "reject", "sender-not-allowed"),
        ("05-out-of-office.eml", "123@anomalies.unseen.ac.uk", "reject", "auto-reply"),
        # Its copy for docs-7@ (each recipient its own SMTP transaction) is stored apart.
        ("06-attachment.eml", "web-45@issues.example.com", "comment", "accepted"),
        ("07-new-issue.eml", "web-new@issues.example.com", "open", "accepted"),
        ("08-unsubscribe.eml", "web-45+unsubscribe@issues.example.com", "unsubscribe", "accepted"),
    ]
    assert {"file", "recipient", "action", "repo", "issue", "body", "reason"} <= set(lines[0])
    assert (lines[0]["repo"], lines[0]["issue"]) == ("unseen-lab/anomaly-tracker", 123)
    assert lines[2]["body"] is None
    opened = lines[-2]
    assert (opened["repo"], opened["issue"], opened["title"], opened["labels"]) == (
        "example-org/website",
        None,
        "Contact form drops the last character of every message",
        ["from-email"],
    )
    assert opened["body"].startswith(
        "**Dana Okafor** wrote by email: **Fwd: Contact form drops the last character of every "
        "message**\n\nHello,\n\nA customer forwarded this to us:"
    )


def test_dispatch_human_output_shows_the_comment(capsys, tmp_path):
    """Without --json a person sees where it would go and the Markdown body."""
    mail = tmp_path / "m.eml"
    mail.write_bytes(ses_mail())
    routes = TESTS / "lambda" / "routes.yaml"
    status, out, _ = run(capsys, "dispatch", "--dry-run", "--routes", str(routes), str(mail))
    assert status == 0
    assert f"{mail} -> 7@issues.example.com: would comment on example-org/app#7\n" in out
    assert "    | The build fails on ARM.\n" in out


def test_dispatch_human_output_shows_the_issue_to_open(capsys):
    mail = ROOT / "examples" / "mail" / "07-new-issue.eml"
    status, out, _ = run(
        capsys, "dispatch", "--dry-run", "--routes", str(ROOT / "routes.yaml"), str(mail)
    )
    assert status == 0
    assert out.startswith(
        f"{mail} -> web-new@issues.example.com: would open an issue in example-org/website\n"
        "    title: Contact form drops the last character of every message [from-email]\n"
        "    | **Dana Okafor** wrote by email:"
    )


def test_dispatch_human_output_shows_an_unsubscribe(capsys):
    """A mail to an issue's +unsubscribe address is shown as what it is, not as a rejection."""
    mail = ROOT / "examples" / "mail" / "08-unsubscribe.eml"
    routes = str(ROOT / "routes.yaml")
    status, out, _ = run(capsys, "dispatch", "--dry-run", "--routes", routes, str(mail))
    assert (status, out) == (
        0,
        f"{mail} -> web-45+unsubscribe@issues.example.com: would unsubscribe the sender from "
        "example-org/website#45\n"
        "    unsubscribe the sender from example-org/website#45\n\n",
    )


def test_dispatch_recipient_option_names_the_envelope(capsys, tmp_path):
    """--recipient overrides the recipient SES named."""
    mail = tmp_path / "m.eml"
    mail.write_bytes(ses_mail(to="7@issues.example.com", cc="8@issues.example.com"))
    routes = TESTS / "lambda" / "routes.yaml"
    _, out, _ = run(
        capsys,
        "dispatch",
        "--dry-run",
        "--json",
        "--routes",
        str(routes),
        "--recipient",
        "8@issues.example.com",
        str(mail),
    )
    [line] = [json.loads(x) for x in out.splitlines()]
    assert (line["recipient"], line["issue"], line["action"]) == (
        "8@issues.example.com",
        8,
        "comment",
    )


def test_dispatch_unreadable_file_exits_1_and_goes_on(capsys, tmp_path):
    """A missing input is reported; the other files are still processed."""
    mail = tmp_path / "m.eml"
    mail.write_bytes(ses_mail())
    routes = TESTS / "lambda" / "routes.yaml"
    status, out, err = run(
        capsys,
        "dispatch",
        "--dry-run",
        "--json",
        "--routes",
        str(routes),
        str(tmp_path / "missing.eml"),
        str(mail),
    )
    assert status == 1
    assert f"{tmp_path / 'missing.eml'}: cannot read: No such file or directory" in err
    assert len(out.splitlines()) == 1


def test_dispatch_with_bad_routes_exits_2(capsys, tmp_path):
    """Dispatch cannot run without valid routes."""
    bad = tmp_path / "routes.yaml"
    bad.write_text("routes: []\n")
    status, out, err = run(capsys, "dispatch", "--dry-run", "--routes", str(bad), "x.eml")
    assert (status, out) == (2, "")
    assert err


def test_dispatch_without_token_exits_2(capsys, monkeypatch):
    """Posting for real needs GITHUB_TOKEN; the message says so."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    status, _, err = run(capsys, "dispatch", "--routes", str(ROOT / "routes.yaml"), "x.eml")
    assert status == 2
    assert "GITHUB_TOKEN is not set" in err


def test_dispatch_posts_for_real_against_the_api(capsys, monkeypatch, httpserver, tmp_path):
    """Without --dry-run the comment is posted to GITHUB_API_URL and its URL printed."""
    github = FakeGitHub(httpserver).install()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_cli")
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    mail = tmp_path / "m.eml"
    mail.write_bytes(ses_mail())
    status, out, _ = run(
        capsys, "dispatch", "--json", "--routes", str(TESTS / "lambda" / "routes.yaml"), str(mail)
    )
    [line] = [json.loads(x) for x in out.splitlines()]
    assert status == 0
    assert (line["action"], line["reason"], line["url"]) == (
        "comment",
        "posted",
        "https://github.com/example-org/app/issues/7#issuecomment-1",
    )
    assert github.comments[0].body == line["body"]


def test_dispatch_of_a_mail_posted_long_ago_posts_nothing(
    capsys, monkeypatch, httpserver, tmp_path
):
    """A dispatched file may be an old mail: the issue's whole history is searched for it."""
    github = FakeGitHub(httpserver).install()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_cli")
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    mail = tmp_path / "m.eml"
    mail.write_bytes(ses_mail())
    routes = str(TESTS / "lambda" / "routes.yaml")
    run(capsys, "dispatch", "--json", "--routes", routes, str(mail))
    github.comments[0].created_at -= 60 * 86400
    status, out, _ = run(capsys, "dispatch", "--json", "--routes", routes, str(mail))
    [line] = [json.loads(x) for x in out.splitlines()]
    assert (status, line["url"]) == (
        0,
        "https://github.com/example-org/app/issues/7#issuecomment-1",
    )
    assert (len(github.comments), github.requests["POST"]) == (1, 1)


def test_dispatch_shares_the_claims_table(capsys, monkeypatch, httpserver, tmp_path):
    """--table: a second dispatch finds the claim and says already commented, asking no one."""
    github = FakeGitHub(httpserver).install()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_cli")
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mail = tmp_path / "m.eml"
    mail.write_bytes(ses_mail())
    routes = str(TESTS / "lambda" / "routes.yaml")
    with mock_aws():
        create_claims_table(boto3.client("dynamodb", region_name="eu-west-1"))
        first = run(capsys, "dispatch", "--table", "claims", "--routes", routes, str(mail))
        requests_after_first = sum(github.requests.values())
        status, out, _ = run(capsys, "dispatch", "--table", "claims", "--routes", routes, str(mail))
    url = "https://github.com/example-org/app/issues/7#issuecomment-1"
    assert f": commented on example-org/app#7 {url}\n" in first[1]
    assert status == 0
    assert f"{mail} -> 7@issues.example.com: already commented on example-org/app#7 {url}\n" in out
    assert sum(github.requests.values()) == requests_after_first
    assert len(github.comments) == 1


@pytest.fixture
def without_token(monkeypatch, httpserver, dynamodb) -> FakeGitHub:
    """The CLI against the local GitHub, with no GITHUB_TOKEN and no claims table; moto (the
    ``dynamodb`` fixture's) holds the routes' secrets."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    return FakeGitHub(httpserver).install()


def routes_file(tmp_path, *routes: str) -> str:
    """A routes file of the given one-line routes (YAML flow mappings)."""
    path = tmp_path / "routes.yaml"
    path.write_text("routes:\n" + "".join(f"  - {route}\n" for route in routes))
    return str(path)


def mail_file(tmp_path) -> str:
    path = tmp_path / "m.eml"
    path.write_bytes(ses_mail())
    return str(path)


def test_a_route_with_its_own_token_secret_needs_no_github_token(
    capsys, httpserver, tmp_path, without_token
):
    """The route's secret is read from Secrets Manager; GITHUB_TOKEN may stay unset."""
    routes = routes_file(
        tmp_path,
        "{domain: issues.example.com, repo: example-org/app, allowed_senders: [example.com],"
        " token_secret: app-token}",
    )
    boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
        Name="app-token", SecretString='{"token": "ghp_fromTheRouteSecret"}'
    )
    status, out, err = run(capsys, "dispatch", "--routes", routes, mail_file(tmp_path))
    assert (status, err) == (0, "")
    assert ": commented on example-org/app#7 " in out
    [(request, _)] = [(r, a) for r, a in httpserver.log if r.method == "POST"]
    assert request.headers["Authorization"] == "Bearer ghp_fromTheRouteSecret"
    assert len(without_token.comments) == 1


def test_without_github_token_only_the_routes_that_need_it_fail(capsys, tmp_path, without_token):
    """Routes with their own secret post; a mail for a route on the default token waits for it
    (exit 1: worth retrying once GITHUB_TOKEN is set)."""
    routes = routes_file(
        tmp_path,
        "{domain: issues.example.com, repo: example-org/app, allowed_senders: [example.com]}",
        "{domain: other.example.com, repo: example-org/other, allowed_senders: [example.com],"
        " token_secret: other-token}",
    )
    status, out, _ = run(capsys, "dispatch", "--json", "--routes", routes, mail_file(tmp_path))
    [line] = [json.loads(x) for x in out.splitlines()]
    assert status == 1
    assert (line["reason"], line["detail"]) == (
        "token-unavailable",
        "GITHUB_TOKEN is not set: export a token that may comment on the routed repositories "
        "(routes with token_secret or github_app need none)",
    )


def test_routes_with_secrets_need_an_aws_region(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_cli")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    routes = routes_file(
        tmp_path,
        "{domain: issues.example.com, repo: example-org/app, allowed_senders: [example.com],"
        " token_secret: app-token}",
    )
    status, out, err = run(capsys, "dispatch", "--routes", routes, "x.eml")
    assert (status, out) == (2, "")
    assert err == (
        "routes name Secrets Manager secrets (token_secret, github_app): no AWS region: set "
        "AWS_REGION or AWS_DEFAULT_REGION\n"
    )


def test_dispatch_opens_an_issue_once_and_threads_replies_with_the_table(
    capsys, monkeypatch, httpserver, tmp_path, dynamodb
):
    """With --table the CLI shares the Lambda's claims and thread map: the same mail opens one
    issue, and a reply that kept the new-issue address comments on it."""
    github = FakeGitHub(httpserver).install()
    github.seed("example-org/website", issues=3)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_cli")
    monkeypatch.setenv("GITHUB_API_URL", httpserver.url_for("/"))
    first = tmp_path / "first.eml"
    first.write_bytes(ses_mail(recipient="web-new@issues.example.com", subject="Fwd: Broken"))
    reply = tmp_path / "reply.eml"
    reply.write_bytes(
        ses_mail(
            "Still broken.\r\n",
            recipient="web-new@issues.example.com",
            subject="Re: Fwd: Broken",
            extra="In-Reply-To: <m1@example.com>\r\n",
        ).replace(b"Message-ID: <m1@example.com>", b"Message-ID: <m2@example.com>")
    )
    routes = str(ROOT / "routes.yaml")
    table = ["--table", CLAIMS_TABLE, "--routes", routes, "--json"]
    outputs = [run(capsys, "dispatch", *table, str(f)) for f in (first, first, reply)]
    lines = [json.loads(out) for _, out, _ in outputs]
    assert [(line["action"], line["reason"], line["issue"]) for line in lines] == [
        ("open", "opened", 4),
        ("open", "already-opened", 4),
        ("comment", "posted", 4),
    ]
    assert lines[0]["title"] == "Broken"
    assert [(i.number, i.title, i.labels) for i in github.opened()] == [
        (4, "Broken", ["from-email"])
    ]
    assert [(c.issue, "Still broken." in c.body) for c in github.comments] == [(4, True)]


def test_dispatch_reads_standard_input(tmp_path):
    """'-' reads the mail from standard input; python -m handler is the entry point."""
    # A fixed argument list run with this interpreter: nothing untrusted reaches the command.
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "handler",
            "dispatch",
            "--dry-run",
            "--json",
            "--routes",
            str(TESTS / "lambda" / "routes.yaml"),
            "-",
        ],
        input=ses_mail(),
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "comment"


@pytest.mark.parametrize("argv", [[], ["dispatch"], ["frobnicate"]])
def test_bad_arguments_exit_2(argv, capsys):
    """Usage errors exit 2 with argparse's message."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2


@pytest.fixture
def master(monkeypatch):
    """The webhook's master secret in moto's Secrets Manager."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        yield client.create_secret(Name="webhook", SecretString="the master")["ARN"]


def test_webhook_secret_prints_the_owners_and_the_apps(capsys, master):
    """The printed secrets are the derivations the webhook checks, one line each."""
    status, out, err = run(
        capsys, "webhook-secret", "--secret-id", master, "--owner", "Example-Org"
    )
    assert (status, out, err) == (0, owner_secret(b"the master", "example-org") + "\n", "")
    status, out, _ = run(capsys, "webhook-secret", "--secret-id", master, "--app", "12345")
    assert (status, out) == (0, app_secret(b"the master", 12345) + "\n")
    assert out.strip() != owner_secret(b"the master", "12345")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--owner", "o"], "no master secret: give --secret-id or set WEBHOOK_SECRET_ARN"),
        (["--secret-id", "x", "--owner", "not/a-login"], "'not/a-login' is not a GitHub login"),
        (["--secret-id", "x", "--app", "0"], "0 is not a GitHub App id"),
    ],
)
def test_webhook_secret_refuses_what_it_cannot_do(capsys, monkeypatch, argv, message):
    """No master named, or an owner that is no login: exit 2 with the reason."""
    monkeypatch.delenv("WEBHOOK_SECRET_ARN", raising=False)
    status, out, err = run(capsys, "webhook-secret", *argv)
    assert (status, out) == (2, "")
    assert message in err


def test_webhook_secret_says_when_the_master_cannot_be_read(capsys, master):
    """A secret that does not exist (or is empty) is named, exit 2."""
    status, _, err = run(capsys, "webhook-secret", "--secret-id", master + "x", "--owner", "o")
    assert status == 2
    assert err == (
        "secret-unavailable: the webhook secret could not be read (ResourceNotFoundException)\n"
    )


@pytest.mark.parametrize(
    "command",
    [[str(Path(sys.executable).with_name("ticket-router"))], [sys.executable, "-m", "handler"]],
    ids=["ticket-router", "python -m handler"],
)
def test_the_installed_command_runs_from_any_directory(tmp_path, command):
    """The venv's ticket-router command, and python -m handler, work outside the checkout."""
    routes = ROOT / "routes.yaml"
    result = subprocess.run(  # noqa: S603 - the venv's own command, fixed arguments
        [*command, "check", str(routes)], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"{routes}: valid, 3 routes for 2 domains\n"
