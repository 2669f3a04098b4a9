"""Terraform reads routes.yaml as the handler does: the locals of terraform/main.tf evaluated by
`terraform console` for routes files with defaults, anchors, merge keys and x- keys, compared
with what handler.routing reads from the same text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

import tests.test_terraform as wiring
from handler.routing import GitHubApp, TokenSecret, parse_routes
from tests.conftest import ROOT

# The locals that routes.yaml drives, in one JSON document.
READ = (
    "jsonencode({domains = local.domains, notice_domains = local.notice_domains,"
    " participant_domains = local.participant_domains, route_secrets = local.route_secrets})"
)

SHARED = """\
x-staff: &staff [example.com, "*.example.org"]
x-quiet: &quiet {notify: false, token_secret: quiet-token}
defaults:
  allowed_senders: *staff
  notify: false
  token_secret: " shared-token "
routes:
  - domain: A.Example.com.
    repo: o/a
  - domain: b.example.com
    repo: o/b
    notify: true
    token_secret: own-token
  - <<: *quiet
    domain: c.example.com
    repo: o/c
    confirm: true
    notify_participants: true
"""

PLAIN = """\
routes:
  - domain: a.example.com
    repo: o/a
    allowed_senders: [example.com]
  - domain: b.example.com
    repo: o/b
    allowed_senders: [example.com]
    notify: false
  - domain: c.example.com
    repo: o/c
    allowed_senders: [example.com]
    notify: false
    confirm: true
    github_app: {app_id: 1, installation_id: 2, private_key_secret: app-key}
"""


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory):
    """A copy of terraform/, initialised; evaluates READ for a routes file's text."""
    if wiring.TERRAFORM_BIN is None or not wiring.PLUGIN_DIR.is_dir():
        pytest.skip("terraform console needs terraform and a local provider mirror")
    copy = tmp_path_factory.mktemp("console") / "terraform"
    shutil.copytree(ROOT / "terraform", copy)
    wiring.terraform_init_offline(copy)

    def read(text: str, expression: str = READ) -> dict[str, Any]:
        routes = copy / "routes-under-test.yaml"
        routes.write_text(text, encoding="utf-8")
        assert wiring.TERRAFORM_BIN is not None
        result = subprocess.run(  # noqa: S603 - terraform from the PATH, fixed arguments
            [wiring.TERRAFORM_BIN, f"-chdir={copy}", "console", f"-var=routes_file={routes}"],
            input=expression,
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"},
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # The console prints the string jsonencode made, quoted as a JSON string is.
        found: dict[str, Any] = json.loads(json.loads(result.stdout.strip()))
        return found

    return read


def handler_reading(text: str) -> dict[str, list[str]]:
    """The same values from what handler.routing reads: the domains, those of the routes that
    mail participants, and the secrets the routes post with."""
    routes = parse_routes(text, "routes.yaml")
    secrets: list[str] = []
    for route in routes.routes:
        if isinstance(route.credential, TokenSecret):
            secrets.append(route.credential.secret_id)
        elif isinstance(route.credential, GitHubApp):
            secrets.append(route.credential.private_key_secret)
    return {
        "domains": list(routes.domains),
        "participant_domains": list(
            dict.fromkeys(r.domain for r in routes.routes if r.notify_participants)
        ),
        "route_secrets": list(dict.fromkeys(secrets)),
    }


@pytest.mark.parametrize(
    ("text", "notice_domains"),
    [
        (SHARED, ["b.example.com", "c.example.com"]),
        (PLAIN, ["a.example.com", "c.example.com"]),
        (
            (ROOT / "routes.yaml").read_text(encoding="utf-8"),
            ["anomalies.unseen.ac.uk", "issues.example.com"],
        ),
    ],
    ids=["defaults-anchors-merge-keys", "plain", "sample"],
)
def test_terraform_reads_routes_as_the_handler_does(console, text: str, notice_domains):
    """Defaults fill in what a route leaves out (its own value wins, a merge key's too), x- keys
    are not routes, and notify is on unless a route (or defaults) says false: the domains, the
    secrets and the replies' domains are the handler's; the notice domains as the rule says."""
    read = console(text)
    assert read.pop("notice_domains") == notice_domains
    assert read == handler_reading(text)


def test_the_shared_sample_is_read_in_full():
    """What the handler reads of SHARED, spelled out: a check on handler_reading itself."""
    assert handler_reading(SHARED) == {
        "domains": ["a.example.com", "b.example.com", "c.example.com"],
        "participant_domains": ["c.example.com"],
        "route_secrets": ["shared-token", "own-token", "quiet-token"],
    }


def test_the_function_module_is_given_the_notice_domains_identities():
    """notice_identity_arns is built from local.notice_domains (the rule tested above)."""
    call = wiring.modules_called(wiring.TERRAFORM)["function"]
    assert "local.notice_domains" in wiring.unquote(call["notice_identity_arns"])


def test_every_locals_reading_of_routes_goes_through_local_routes():
    """No local reads routes.yaml's routes but through local.routes, which applies defaults."""
    text = (ROOT / "terraform" / "main.tf").read_text(encoding="utf-8")
    assert text.count("yamldecode(") == 1
    assert text.count(".routes :") == text.count("in local.routes :") + 1


# What routes.yaml's attachments make of the deployment: the bucket, its lifecycle rules, the
# GitHub retention sweep.
READ_ATTACHMENTS = (
    "jsonencode({s3 = local.attachments_s3, retention_days = local.attachments_retention_days,"
    " sweep = local.attachments_sweep})"
)

ATTACHMENTS = """\
x-files: &files {mode: link, storage: s3, retention_days: 30}
defaults:
  allowed_senders: [example.com]
  attachments: *files
routes:
  - {domain: a.example.com, repo: o/a}
  - {domain: b.example.com, repo: o/b, attachments: link}
  - domain: c.example.com
    repo: o/c
    attachments: {mode: link, storage: s3, retention_days: 365, max_file_size: 5MB}
  - {domain: d.example.com, repo: o/d, attachments: {mode: link, retention_days: 90}}
  - {domain: e.example.com, repo: o/e, attachments: {mode: list, storage: s3, retention_days: 7}}
  - {domain: f.example.com, repo: o/f, attachments: list}
"""

GITHUB_ONLY = """\
routes:
  - {domain: a.example.com, repo: o/a, allowed_senders: [example.com], attachments: link}
"""


def handler_attachments(text: str) -> dict[str, Any]:
    """The same from the routes handler.routing reads: any route linking files in S3, the
    distinct retentions of those, any route linking files on GitHub with a retention."""
    settings = [route.attachments for route in parse_routes(text, "routes.yaml").routes]
    s3 = [s for s in settings if s.mode == "link" and s.storage == "s3"]
    github = [s for s in settings if s.mode == "link" and s.storage == "github"]
    return {
        "s3": bool(s3),
        "retention_days": list(dict.fromkeys(s.retention_days for s in s3 if s.retention_days)),
        "sweep": any(s.retention_days is not None for s in github),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            ATTACHMENTS,
            {"s3": True, "retention_days": [30, 365], "sweep": True},
            id="s3-and-github-through-defaults",
        ),
        pytest.param(
            GITHUB_ONLY,
            {"s3": False, "retention_days": [], "sweep": False},
            id="github-only",
        ),
        pytest.param(PLAIN, {"s3": False, "retention_days": [], "sweep": False}, id="none"),
    ],
)
def test_terraform_reads_attachments_as_the_handler_does(console, text: str, expected):
    """A string or a mapping, from defaults or the route's own (replacing the defaults' whole):
    Terraform makes the bucket, its rules and the sweep from the settings the handler reads."""
    read = console(text, READ_ATTACHMENTS)
    assert read == expected
    assert handler_attachments(text) == expected
