"""Storing a mail's files at delivery: never where more people could read them than can read the
issue, a permanent refusal listing them with the store's reason, a passing failure raising for a
retry."""

from __future__ import annotations

import pytest

from handler.attachments.model import (
    AttachmentSettings,
    FileReason,
    GitHubPlace,
    ListedFile,
    S3Place,
    StoredFile,
)
from handler.attachments.stores import Stores, Visibility
from handler.reasons import Reason, TicketRouterError
from handler.routing.model import Route
from handler.service.attachments import store_files
from tests.attachment_fakes import FakeBucketFiles, FakeRepositoryFiles

WEB = "https://github.com"


def route(**settings: object) -> Route:
    return Route(
        index=0,
        domain="issues.example.com",
        prefix="",
        repo="example-org/app",
        allowed_senders=("example.com",),
        attachments=AttachmentSettings(mode="link", **settings),  # type: ignore[arg-type]
    )


def on_github(repo: str = "example-org/app") -> tuple[StoredFile, ...]:
    return (
        StoredFile(
            0,
            "screen.png",
            "image/png",
            True,
            GitHubPlace(WEB, repo, "ticket-router-attachments", "2026/12/07/abc/screen.png"),
            b"\x89PNG...",
        ),
        StoredFile(
            2,
            "build.log",
            "text/plain",
            False,
            GitHubPlace(WEB, repo, "ticket-router-attachments", "2026/12/07/abc/build.log"),
            b"log",
        ),
    )


def in_bucket() -> tuple[StoredFile, ...]:
    place = S3Place("https://d1.cloudfront.net", "abc/0123/screen.png")
    return (StoredFile(0, "screen.png", "image/png", True, place, b"\x89PNG..."),)


def test_files_in_the_issues_own_repository_are_committed_without_asking_who_reads_it():
    """Same repository, same readers: one store call for the branch, no visibility question."""
    repositories = FakeRepositoryFiles()
    stores = Stores(lambda: repositories, None)
    assert store_files(on_github(), route(), "example-org/app", stores, what="mail abc") == {}
    assert repositories.asked == []
    assert repositories.stored == [
        (
            "example-org/app",
            "ticket-router-attachments",
            [
                ("2026/12/07/abc/screen.png", b"\x89PNG..."),
                ("2026/12/07/abc/build.log", b"log"),
            ],
            "Attachments of mail abc",
        )
    ]


@pytest.mark.parametrize(
    ("issue", "companion", "stored"),
    [
        ("private", "private", True),
        ("public", "private", True),
        ("internal", "private", True),
        ("internal", "internal", True),
        ("private", "internal", False),
        ("private", "public", False),
        ("internal", "public", False),
    ],
)
def test_a_companion_repository_may_be_no_more_visible_than_the_issues(
    issue: Visibility, companion: Visibility, stored: bool
):
    repositories = FakeRepositoryFiles({"example-org/app": issue, "example-org/files": companion})
    stores = Stores(lambda: repositories, None)
    files = on_github("example-org/files")
    listed = store_files(files, route(), "example-org/app", stores, what="mail abc")
    if stored:
        assert listed == {}
        assert len(repositories.stored) == 1
        return
    detail = f"example-org/files, where the route stores files, is {companion}; "
    detail += f"example-org/app is {issue}"
    assert listed == {
        0: ListedFile(0, FileReason.WIDER_ACCESS, detail),
        2: ListedFile(2, FileReason.WIDER_ACCESS, detail),
    }
    assert repositories.stored == []


def test_the_bucket_takes_the_files_of_a_public_repository_with_the_routes_retention():
    repositories = FakeRepositoryFiles({"example-org/app": "public"})
    bucket = FakeBucketFiles()
    stores = Stores(lambda: repositories, bucket)
    settings = route(storage="s3", retention_days=30)
    assert store_files(in_bucket(), settings, "example-org/app", stores, what="mail abc") == {}
    assert bucket.objects == {"abc/0123/screen.png": b"\x89PNG..."}
    assert bucket.written == {"abc/0123/screen.png": ("image/png", "screen.png", True, 30)}


@pytest.mark.parametrize("visibility", ["private", "internal"])
def test_the_bucket_never_takes_the_files_of_a_repository_that_is_not_public(
    visibility: Visibility,
):
    repositories = FakeRepositoryFiles({"example-org/app": visibility})
    bucket = FakeBucketFiles()
    stores = Stores(lambda: repositories, bucket)
    listed = store_files(in_bucket(), route(storage="s3"), "example-org/app", stores, what="m")
    assert listed == {
        0: ListedFile(
            0,
            FileReason.WIDER_ACCESS,
            f"example-org/app is {visibility}, and the attachments bucket serves anyone who has "
            "a link: files of a non-public repository are stored on GitHub (storage: github)",
        )
    }
    assert bucket.objects == {}


def test_without_a_bucket_the_files_are_listed_as_having_no_storage():
    repositories = FakeRepositoryFiles({"example-org/app": "public"})
    listed = store_files(
        in_bucket(),
        route(storage="s3"),
        "example-org/app",
        Stores(lambda: repositories, None),
        what="m",
    )
    assert listed == {
        0: ListedFile(
            0,
            FileReason.NO_STORAGE,
            "the deployment has no attachments bucket (ATTACHMENTS_BUCKET is unset)",
        )
    }


def test_a_permanent_refusal_lists_every_file_with_the_stores_reason():
    refusal = TicketRouterError(
        Reason.GITHUB_FORBIDDEN,
        "GitHub answered 403: the credential needs contents: write on example-org/app",
        transient=False,
    )
    repositories = FakeRepositoryFiles()
    repositories.fail["example-org/app"] = refusal
    listed = store_files(
        on_github(), route(), "example-org/app", Stores(lambda: repositories, None), what="m"
    )
    assert [(i, f.reason, f.detail) for i, f in listed.items()] == [
        (i, FileReason.NOT_STORED, refusal.detail) for i in (0, 2)
    ]


@pytest.mark.parametrize("storage", ["github", "s3"])
def test_a_passing_failure_raises_for_a_retry(storage: str):
    failure = TicketRouterError(
        Reason.ATTACHMENT_STORE_UNAVAILABLE, "S3 answered 503 SlowDown", retry_after=None
    )
    repositories = FakeRepositoryFiles({"example-org/app": "public"})
    repositories.fail["example-org/app"] = failure
    bucket = FakeBucketFiles()
    bucket.error = failure
    stores = Stores(lambda: repositories, bucket)
    files = on_github() if storage == "github" else in_bucket()
    with pytest.raises(TicketRouterError) as raised:
        store_files(files, route(storage=storage), "example-org/app", stores, what="m")
    assert raised.value is failure


def test_no_files_costs_no_login():
    def login() -> FakeRepositoryFiles:
        raise AssertionError("no files: no GitHub client")

    assert store_files((), route(), "example-org/app", Stores(login, None), what="m") == {}
