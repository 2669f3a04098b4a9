"""The plan of a mail with files: a linking route's draft carries the files to store and a body
that shows them, with SES's verdict and date, contents read once per mail and only when judged;
a listing route's draft is what it always was."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from handler.attachments.model import (
    AttachmentSettings,
    Deployment,
    FileReason,
    GitHubPlace,
    ListedFile,
    S3Place,
    StoredFile,
)
from handler.inbound import plan as plan_module
from handler.inbound.mail import parse_mail
from handler.inbound.plan import CommentDraft, IssueDraft, plan
from handler.inbound.render import render_comment
from handler.routing import Routes, parse_routes
from tests import attachment_mails
from tests.conftest import TESTS

LINK = AttachmentSettings(mode="link")
ROUTES = """
routes:
  - domain: issues.example.com
    repo: example-org/app
    allowed_senders: [example.com]
    new_issue_address: new
  - domain: ops.example.com
    repo: example-org/ops
    allowed_senders: [example.com]
"""


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a mail's file contents are read out of it."""
    calls: list[int] = []
    real = plan_module.attachment_contents

    def counted(raw: bytes, attachments: Sequence[object]) -> dict[int, bytes]:
        calls.append(1)
        return real(raw, attachments)  # type: ignore[arg-type]

    monkeypatch.setattr(plan_module, "attachment_contents", counted)
    return calls


def routes(*settings: AttachmentSettings) -> Routes:
    """The test routes, the n-th with the n-th ``settings`` (the rest: the default)."""
    parsed = parse_routes(ROUTES, "routes.yaml").routes
    chosen = [*settings, *[AttachmentSettings()] * (len(parsed) - len(settings))]
    return Routes(
        tuple(replace(r, attachments=s) for r, s in zip(parsed, chosen, strict=True)), "routes.yaml"
    )


def fixture(name: str) -> bytes:
    return (TESTS / "attachments" / f"{name}.eml").read_bytes()


def draft(raw: bytes, chosen: Routes, **options: object) -> CommentDraft:
    decision = plan(raw, chosen, **options).decisions[0]  # type: ignore[arg-type]
    assert decision.action == "comment", decision.detail
    assert isinstance(decision.draft, CommentDraft)
    return decision.draft


def test_a_listing_route_drafts_the_comment_of_old(reads: list[int]):
    """The default route lists files as ever: no files to store, nothing to relist, none read."""
    raw = fixture("outlook-inline-screenshot")
    found = draft(raw, routes())
    message = parse_mail(raw)
    expected = render_comment(message, "7@issues.example.com", marker=found.body.split("\n")[-1])
    assert found == CommentDraft(expected.markdown)
    assert found.relist is None
    assert reads == []


def test_a_linking_route_drafts_the_files_and_shows_them(reads: list[int]):
    """A screenshot is stored under the day SES received the mail, and shown at its place."""
    raw = fixture("outlook-inline-screenshot")
    decision = plan(raw, routes(LINK)).decisions[0]
    found = decision.draft
    assert isinstance(found, CommentDraft)
    path = f"2026/11/23/{decision.mail}/image001.png"
    place = GitHubPlace("https://github.com", "example-org/app", "ticket-router-attachments", path)
    assert found.files == (StoredFile(0, "image001.png", "image/png", True, place, b""),)
    assert found.files[0].content == attachment_mails.SCREENSHOT
    assert f"wrong total:\n\n![image001.png]({place.image_url})\n\nBernd" in found.body
    assert f"- [image001.png]({place.url}) (image/png, 71 bytes)" in found.body
    assert reads == [1]


def test_relist_renders_the_body_again_with_refused_files_listed():
    """A store's refusal turns the stored file into a listed one, named in the text as before."""
    raw = fixture("outlook-inline-screenshot")
    found = draft(raw, routes(LINK))
    assert found.relist is not None
    refused = ListedFile(0, FileReason.NOT_STORED, "the credential lacks contents: write")
    body = found.relist({0: refused})
    expected = render_comment(
        parse_mail(raw), "7@issues.example.com", marker=body.split("\n")[-1], files=(refused,)
    )
    assert body == expected.markdown
    assert "![" not in body
    assert "[image: image001.png]" in body
    assert "- image001.png (image/png, 71 bytes): not linked, the credential lacks" in body


def test_contents_are_read_once_for_every_recipient(reads: list[int]):
    """Two linking routes addressed by one mail share one read of its files."""
    raw = fixture("gmail-inline-screenshot").replace(
        b"To: 7@issues.example.com\r\n", b"To: 7@issues.example.com, 3@ops.example.com\r\n"
    )
    recipients = ["7@issues.example.com", "3@ops.example.com"]
    planned = plan(raw, routes(LINK, LINK), recipients=recipients)
    drafts = [d.draft for d in planned.decisions]
    assert [d.action for d in planned.decisions] == ["comment", "comment"]
    assert [[f.place.repo for f in d.files] for d in drafts if isinstance(d, CommentDraft)] == [
        ["example-org/app"] * 2,
        ["example-org/ops"] * 2,
    ]
    assert reads == [1]


def test_an_unscanned_mail_stores_nothing():
    """With virus scanning off (DISABLED) the mail is posted, every file listed as not scanned."""
    body = fixture("log-octet-stream").replace(
        b"X-SES-Virus-Verdict: PASS", b"X-SES-Virus-Verdict: DISABLED"
    )
    found = draft(body, routes(LINK))
    assert found.files == ()
    assert found.relist is None
    assert ": not linked, " in found.body


def test_files_inside_a_winmail_dat_are_listed_unreadable():
    """A winmail.dat's files have no part to read: listed as unreadable."""
    found = draft(fixture("outlook-winmail"), routes(LINK))
    assert found.files == ()
    assert found.body.count(": not linked, ") == 2


def test_a_new_issue_carries_its_files_too():
    """An issue opened by mail stores and shows its files like a comment."""
    raw = fixture("apple-inline-screenshot").replace(
        b"7@issues.example.com", b"new@issues.example.com"
    )
    decision = plan(raw, routes(LINK)).decisions[0]
    assert decision.action == "open", decision.detail
    assert isinstance(decision.draft, IssueDraft)
    assert [f.name for f in decision.draft.files] == ["Screenshot.png"]
    assert decision.draft.relist is not None
    assert "![Screenshot.png](" in decision.draft.body
    assert decision.draft.title == "Export cuts file names"


def test_the_deployment_says_where_s3_files_go():
    """A route storing in S3 places its files under the deployment's bucket URL."""
    s3 = AttachmentSettings(mode="link", storage="s3")
    deployment = Deployment(s3_base="https://d1.cloudfront.net")
    decision = plan(fixture("apple-inline-screenshot"), routes(s3), deployment=deployment)
    assert isinstance(decision.decisions[0].draft, CommentDraft)
    (stored,) = decision.decisions[0].draft.files
    assert isinstance(stored.place, S3Place)
    assert stored.place.base == "https://d1.cloudfront.net"
    assert stored.place.key.startswith(f"{decision.decisions[0].mail}/")


def test_a_replay_plans_the_same_files():
    """The same mail planned twice yields equal drafts: the same files, at the same places."""
    raw = fixture("gmail-inline-screenshot")
    assert draft(raw, routes(LINK)) == draft(raw, routes(LINK))
