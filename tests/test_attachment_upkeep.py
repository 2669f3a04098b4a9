"""Removing a mail's stored files and sweeping those past their retention, over in-memory fakes
of the stores' protocols."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from handler.attachments.model import AttachmentSettings, Deployment, GitHubPlace, S3Place
from handler.attachments.stores import Stores
from handler.reasons import Reason, RetryLater, TicketRouterError
from handler.routing import Route, Routes
from handler.service.attachment_upkeep import (
    Failed,
    Removed,
    Upkeep,
    is_schedule,
    remove,
    scheduled_sweep,
    sweep,
)
from tests.attachment_fakes import BRANCH, FakeBucketFiles, FakeRepositoryFiles
from tests.conftest import TESTS

MAIL = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
DEPLOYMENT = Deployment(s3_base="https://files.example.net")
# 2026-12-07T12:00:00Z.
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp()


class Deployed:
    """The stores of every route: one fake GitHub, one fake bucket (or none); which routes' logins
    were made."""

    def __init__(self, bucket: FakeBucketFiles | None = None) -> None:
        self.github = FakeRepositoryFiles()
        self.bucket = bucket
        self.logins: list[str] = []

    def __call__(self, route: Route) -> Stores:
        def login() -> FakeRepositoryFiles:
            self.logins.append(route.key)
            return self.github

        return Stores(login, self.bucket)


def route(
    repo: str = "example-org/app",
    *,
    prefix: str = "",
    api_url: str | None = None,
    **settings: Any,
) -> Route:
    attachments = AttachmentSettings(**({"mode": "link"} | settings))
    return Route(
        0, "issues.example.com", prefix, repo, ("example.com",), api_url=api_url,
        attachments=attachments,
    )  # fmt: skip


def routes(*each: Route) -> Routes:
    return Routes(
        tuple(
            Route(**{**vars(one), "index": index, "prefix": one.prefix or f"r{index}-"})
            for index, one in enumerate(each)
        ),
        "test",
    )


def github(repo: str, path: str, branch: str = BRANCH, web: str = "https://github.com") -> Removed:
    return Removed(GitHubPlace(web, repo, branch, path))


# Removing one mail's files.


def test_remove_deletes_the_mails_files_in_one_commit():
    """The mail's dated and undated files go in one commit; other mails' and the README stay."""
    deployed = Deployed()
    mine = [f"2026/12/06/{MAIL}/shot.png", f"2026/12/06/{MAIL}/log.txt", f"undated/{MAIL}/a.pdf"]
    theirs = [f"2026/12/06/{OTHER}/shot.png", "README.md", f"undated/{OTHER}/a.pdf"]
    deployed.github.put("example-org/app", BRANCH, *mine, *theirs)
    done = remove(MAIL, ["example-org/app"], routes(route()), deployed, deployment=DEPLOYMENT)
    assert done.removed == tuple(github("example-org/app", path) for path in sorted(mine))
    assert done.failed == ()
    assert done.searched == ("example-org/app ticket-router-attachments",)
    assert deployed.github.commits == [
        ("example-org/app", BRANCH, tuple(sorted(mine)), f"Remove the files of mail {MAIL}")
    ]
    assert deployed.github.files("example-org/app") == sorted(theirs)


def test_a_removed_file_says_where_it_was_and_its_link():
    """The CLI's and the log's words for a file: repository, branch and path, or the key."""
    shot = github("example-org/app", f"2026/12/06/{MAIL}/shot.png")
    assert shot.where == f"example-org/app ticket-router-attachments:2026/12/06/{MAIL}/shot.png"
    assert shot.url == (
        f"https://github.com/example-org/app/blob/ticket-router-attachments/2026/12/06/{MAIL}/"
        "shot.png"
    )
    served = Removed(S3Place("https://files.example.net", f"{MAIL}/t/shot.png"))
    assert (served.where, served.url) == (
        f"s3:{MAIL}/t/shot.png",
        f"https://files.example.net/{MAIL}/t/shot.png",
    )
    assert Removed(S3Place("", f"{MAIL}/t/shot.png")).url is None


def test_remove_looks_only_where_files_of_the_mails_repositories_go():
    """The linking routes posting to the given repositories: their companion repository and
    branch; a listing route, or one posting elsewhere, is not even logged in to."""
    deployed = Deployed()
    path = f"2026/12/06/{MAIL}/shot.png"
    deployed.github.put("example-org/files", "mail-files", path)
    deployed.github.put("example-org/app", BRANCH, path)
    deployed.github.put("example-org/web", BRANCH, path)
    table = routes(
        route(repository="example-org/files", branch="mail-files"),
        route(mode="list"),
        route("example-org/web"),
    )
    done = remove(MAIL, ["Example-Org/App"], table, deployed, deployment=DEPLOYMENT)
    assert done.removed == (github("example-org/files", path, "mail-files"),)
    assert deployed.logins == ["r0-@issues.example.com"]
    assert deployed.github.files("example-org/app") == [path]
    assert deployed.github.files("example-org/web") == [path]


def test_routes_sharing_a_branch_are_one_place():
    """Two routes storing in one repository's branch: one listing, one commit, one login; the
    repository's case does not make a second place."""
    deployed = Deployed()
    deployed.github.put("example-org/files", BRANCH, f"2026/12/06/{MAIL}/shot.png")
    table = routes(
        route("example-org/app", repository="example-org/files"),
        route("example-org/web", repository="Example-Org/Files"),
    )
    done = remove(
        MAIL, ["example-org/app", "example-org/web"], table, deployed, deployment=DEPLOYMENT
    )
    assert len(done.removed) == 1
    assert done.searched == ("example-org/files ticket-router-attachments",)
    assert [kind for kind, _, _ in deployed.github.calls] == ["paths", "delete"]
    assert deployed.logins == ["r0-@issues.example.com"]


def test_a_mail_with_nothing_stored_commits_nothing():
    """No file of the mail: no commit, nothing removed, the places searched said."""
    deployed = Deployed(FakeBucketFiles(f"{OTHER}/t/a.png"))
    deployed.github.put("example-org/app", BRANCH, f"2026/12/06/{OTHER}/shot.png")
    table = routes(route(), route(storage="s3"))
    done = remove(MAIL, ["example-org/app"], table, deployed, deployment=DEPLOYMENT)
    assert (done.removed, done.failed) == ((), ())
    assert done.searched == (
        "example-org/app ticket-router-attachments",
        "the attachments bucket",
    )
    assert deployed.github.commits == []
    assert deployed.bucket is not None
    assert deployed.bucket.calls == [("keys", f"{MAIL}/")]


def test_remove_deletes_the_mails_objects_from_the_bucket():
    """S3 storage: every key under ``<mail>/`` deleted, each with its URL; others kept."""
    bucket = FakeBucketFiles(f"{MAIL}/aa/shot.png", f"{MAIL}/bb/log.txt", f"{OTHER}/cc/x.png")
    deployed = Deployed(bucket)
    table = routes(route(storage="s3"), route("example-org/web", storage="s3"))
    done = remove(
        MAIL, ["example-org/app", "example-org/web"], table, deployed, deployment=DEPLOYMENT
    )
    assert done.removed == (
        Removed(S3Place("https://files.example.net", f"{MAIL}/aa/shot.png")),
        Removed(S3Place("https://files.example.net", f"{MAIL}/bb/log.txt")),
    )
    assert bucket.calls == [
        ("keys", f"{MAIL}/"),
        ("delete", (f"{MAIL}/aa/shot.png", f"{MAIL}/bb/log.txt")),
    ]
    assert list(bucket.objects) == [f"{OTHER}/cc/x.png"]
    # Neither route needs GitHub for it.
    assert deployed.logins == []


def test_an_s3_route_without_a_bucket_fails_saying_so():
    """No attachments bucket given: that place fails (permanently), the others are done."""
    deployed = Deployed(bucket=None)
    deployed.github.put("example-org/app", BRANCH, f"2026/12/06/{MAIL}/shot.png")
    table = routes(route(storage="s3"), route())
    done = remove(MAIL, ["example-org/app"], table, deployed, deployment=DEPLOYMENT)
    assert len(done.removed) == 1
    assert done.failed == (
        Failed(
            "the attachments bucket",
            Reason.ATTACHMENT_STORE_UNAVAILABLE,
            "route 1 (r0-@issues.example.com) stores files in S3 and no attachments bucket is "
            "given (ATTACHMENTS_BUCKET)",
            transient=False,
        ),
    )


def test_one_place_failing_does_not_stop_the_others():
    """A repository GitHub refuses is reported with the store's reason; the next is done."""
    deployed = Deployed(FakeBucketFiles(f"{MAIL}/aa/shot.png"))
    deployed.github.put("example-org/web", BRANCH, f"2026/12/06/{MAIL}/shot.png")
    refusal = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE,
        "the credential needs contents: write on example-org/app",
        transient=False,
    )
    deployed.github.fail["example-org/app"] = refusal
    table = routes(route(), route("example-org/web"), route("example-org/web", storage="s3"))
    done = remove(
        MAIL, ["example-org/app", "example-org/web"], table, deployed, deployment=DEPLOYMENT
    )
    assert [file.where.split(":")[0] for file in done.removed] == [
        "example-org/web ticket-router-attachments",
        "s3",
    ]
    assert done.failed == (
        Failed(
            "example-org/app ticket-router-attachments",
            Reason.ATTACHMENT_STORE_UNAVAILABLE,
            "the credential needs contents: write on example-org/app",
            transient=False,
        ),
    )


def test_a_login_that_fails_is_that_places_failure():
    """The route's credential cannot be had (a secret unreadable): reported, transient."""
    deployed = Deployed()

    def stores(one: Route) -> Stores:
        def login() -> FakeRepositoryFiles:
            raise TicketRouterError(Reason.TOKEN_UNAVAILABLE, "Secrets Manager did not answer")

        return Stores(login, None)

    done = remove(MAIL, ["example-org/app"], routes(route()), stores, deployment=DEPLOYMENT)
    assert done.failed == (
        Failed(
            "example-org/app ticket-router-attachments",
            Reason.TOKEN_UNAVAILABLE,
            "Secrets Manager did not answer",
            transient=True,
        ),
    )
    assert deployed.github.calls == []


@pytest.mark.parametrize("mail", ["", "0123", MAIL.upper(), f"{MAIL}/", "*", MAIL + "0"])
def test_remove_refuses_what_is_not_a_mail_key(mail: str):
    """Nothing but 32 lowercase hex digits: an empty or partial key would widen the prefix."""
    deployed = Deployed(FakeBucketFiles())
    with pytest.raises(ValueError, match="is not a mail key"):
        remove(mail, ["example-org/app"], routes(route()), deployed, deployment=DEPLOYMENT)
    assert deployed.logins == []


def test_files_of_an_enterprise_server_link_to_its_web_host():
    """A route's api_url names its GitHub: the removed file's link is on that host."""
    deployed = Deployed()
    path = f"2026/12/06/{MAIL}/shot.png"
    deployed.github.put("example-org/app", BRANCH, path)
    table = routes(route(api_url="https://ghe.example.com/api/v3/"))
    done = remove(MAIL, ["example-org/app"], table, deployed, deployment=DEPLOYMENT)
    assert done.removed == (github("example-org/app", path, web="https://ghe.example.com"),)


# The sweep.


def test_the_sweep_deletes_the_days_past_the_routes_retention():
    """retention_days 30 on 2026-12-07: files of 2026-11-06 and before go, in one commit;
    2026-11-07 (30 days ago), undated files and the README stay."""
    deployed = Deployed()
    expired = [f"2026/11/06/{MAIL}/a.png", f"2025/01/01/{OTHER}/b.txt"]
    kept = [f"2026/11/07/{MAIL}/c.png", f"2026/12/07/{OTHER}/d.png", f"undated/{MAIL}/e.pdf"]
    deployed.github.put("example-org/app", BRANCH, *expired, *kept, "README.md")
    done = sweep(routes(route(retention_days=30)), deployed, NOW, deployment=DEPLOYMENT)
    assert done.removed == tuple(github("example-org/app", path) for path in sorted(expired))
    assert deployed.github.commits == [
        (
            "example-org/app",
            BRANCH,
            tuple(sorted(expired)),
            "Remove the files stored more than 30 days ago",
        )
    ]
    assert deployed.github.files("example-org/app") == sorted([*kept, "README.md"])


def test_the_sweep_leaves_what_is_not_ours():
    """Paths that are not a stored file's shape (another tool's files in a companion
    repository, an impossible date) are never deleted."""
    deployed = Deployed()
    foreign = [
        "2020/01/01/notes.txt",
        "2020/01/01/a/b/c.txt",
        f"2020/13/01/{MAIL}/a.png",
        f"2020/01/01/{MAIL.upper()}/a.png",
        f"docs/2020/01/01/{MAIL}/a.png",
    ]
    deployed.github.put("example-org/files", BRANCH, *foreign)
    table = routes(route(repository="example-org/files", retention_days=1))
    done = sweep(table, deployed, NOW, deployment=DEPLOYMENT)
    assert (done.removed, deployed.github.commits) == ((), [])


def test_the_longest_retention_on_a_branch_wins():
    """Two routes on one branch, 10 and 100 days: a file 50 days old stays."""
    deployed = Deployed()
    deployed.github.put("example-org/files", BRANCH, f"2026/10/18/{MAIL}/a.png")
    table = routes(
        route("example-org/app", repository="example-org/files", retention_days=10),
        route("example-org/web", repository="example-org/files", retention_days=100),
    )
    done = sweep(table, deployed, NOW, deployment=DEPLOYMENT)
    assert done.removed == ()
    assert done.searched == ("example-org/files ticket-router-attachments",)


def test_a_route_keeping_files_with_the_issue_keeps_its_branch_whole():
    """A route without retention_days on a branch: that branch is not even listed; a branch of
    its own with retention is still swept."""
    deployed = Deployed()
    old = f"2020/01/01/{MAIL}/a.png"
    deployed.github.put("example-org/files", BRANCH, old)
    deployed.github.put("example-org/web", BRANCH, old)
    table = routes(
        route("example-org/app", repository="example-org/files", retention_days=10),
        route("example-org/app", prefix="x-", repository="example-org/files"),
        route("example-org/web", retention_days=10),
    )
    done = sweep(table, deployed, NOW, deployment=DEPLOYMENT)
    assert done.removed == (github("example-org/web", old),)
    assert done.searched == ("example-org/web ticket-router-attachments",)
    assert deployed.github.files("example-org/files") == [old]


def test_the_sweep_leaves_s3_and_listing_routes_alone():
    """S3's retention is the bucket's lifecycle rule; a listing route stores nothing."""
    bucket = FakeBucketFiles(f"{MAIL}/aa/a.png")
    deployed = Deployed(bucket)
    table = routes(route(storage="s3", retention_days=1), route(mode="list", retention_days=1))
    done = sweep(table, deployed, NOW, deployment=DEPLOYMENT)
    assert done == Upkeep()
    assert (bucket.calls, deployed.logins) == ([], [])


def test_a_branch_failing_does_not_stop_the_sweep():
    """The first branch fails; the second is swept; the failure is reported."""
    deployed = Deployed()
    old = f"2020/01/01/{MAIL}/a.png"
    deployed.github.put("example-org/web", BRANCH, old)
    deployed.github.fail["example-org/app"] = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE, "GitHub answered 502"
    )
    table = routes(route(retention_days=1), route("example-org/web", retention_days=1))
    done = sweep(table, deployed, NOW, deployment=DEPLOYMENT)
    assert done.removed == (github("example-org/web", old),)
    assert done.failed == (
        Failed(
            "example-org/app ticket-router-attachments",
            Reason.ATTACHMENT_STORE_UNAVAILABLE,
            "GitHub answered 502",
            transient=True,
        ),
    )


# The schedule.


def test_the_scheduled_event_is_recognised():
    """EventBridge's Scheduled Event, and nothing else (an S3 or SES event, a custom event)."""
    event = json.loads((TESTS / "events" / "scheduledEvent.json").read_text())
    assert is_schedule(event)
    assert not is_schedule({**event, "source": "my.app"})
    assert not is_schedule({**event, "detail-type": "Object Created"})
    assert not is_schedule(json.loads((TESTS / "events" / "sesEvent.json").read_text()))


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="ticket_router")
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, dict[str, Any]]]:
    keys = ("action", "repo", "branch", "path", "url", "place", "reason", "detail", "retryable")
    return [
        (
            record.levelname,
            record.getMessage(),
            {key: getattr(record, key) for key in keys if hasattr(record, key)},
        )
        for record in caplog.records
    ]


def test_the_schedule_logs_each_removal_and_failure(logged):
    """One line per file removed, one per branch failed, and the counts; no exception while
    one branch was swept."""
    deployed = Deployed()
    old = f"2020/01/01/{MAIL}/a.png"
    deployed.github.put("example-org/web", BRANCH, old)
    deployed.github.fail["example-org/app"] = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE, "GitHub answered 502"
    )
    table = routes(route(retention_days=1), route("example-org/web", retention_days=1))
    outcome = scheduled_sweep(table, deployed, NOW, deployment=DEPLOYMENT)
    assert outcome == {"removed": 1, "failed": 1, "swept": 2}
    assert lines(logged) == [
        (
            "INFO",
            "attachment removed",
            {
                "action": "sweep",
                "repo": "example-org/web",
                "branch": BRANCH,
                "path": old,
                "url": github("example-org/web", old).url,
            },
        ),
        (
            "ERROR",
            "attachment sweep failed",
            {
                "action": "sweep",
                "place": "example-org/app ticket-router-attachments",
                "reason": "attachment-store-unavailable",
                "detail": "GitHub answered 502",
                "retryable": True,
            },
        ),
        ("INFO", "attachment sweep", {}),
    ]


def test_the_schedule_is_retried_when_every_branch_failed_for_now(logged):
    """Every branch failed transiently: RetryLater, so that Lambda invokes it again."""
    deployed = Deployed()
    deployed.github.fail["example-org/app"] = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE, "GitHub answered 502"
    )
    with pytest.raises(RetryLater, match="example-org/app ticket-router-attachments: attachment"):
        scheduled_sweep(routes(route(retention_days=1)), deployed, NOW, deployment=DEPLOYMENT)


def test_the_schedule_is_not_retried_for_a_permanent_failure(logged):
    """A refusal no retry cures (no contents: write) is logged; the invocation succeeds."""
    deployed = Deployed()
    deployed.github.fail["example-org/app"] = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE, "needs contents: write", transient=False
    )
    outcome = scheduled_sweep(routes(route(retention_days=1)), deployed, NOW, deployment=DEPLOYMENT)
    assert outcome == {"removed": 0, "failed": 1, "swept": 1}


def test_a_schedule_with_nothing_to_sweep_succeeds(logged):
    """No route with retention_days: nothing listed, nothing logged but the counts."""
    deployed = Deployed()
    outcome = scheduled_sweep(routes(route()), deployed, NOW, deployment=DEPLOYMENT)
    assert outcome == {"removed": 0, "failed": 0, "swept": 0}
    assert deployed.logins == []
