"""The attachments bucket (handler/aws/attachment_store.py), against moto."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ParamValidationError
from botocore.stub import Stubber
from moto import mock_aws

from handler.attachments.stores import BucketFiles
from handler.aws.attachment_store import (
    DELETE_BATCH,
    S3Files,
    disposition,
    served_type,
)
from handler.reasons import Reason, TicketRouterError

REGION = "eu-west-1"
BUCKET = "tr-attachments-123456789012"
MAIL = "0123456789abcdef0123456789abcdef"
KEY = f"{MAIL}/{'a' * 32}/screenshot.png"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield client


def calls(client: Any) -> Counter[str]:
    """The operations ``client`` makes from now on, counted by name."""
    made: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        made[model.name] += 1

    client.meta.events.register("before-call.s3.*", count)
    return made


def store(files: BucketFiles, key: str = KEY, content: bytes = PNG, **settings: Any) -> bool:
    """``files.store`` with an inline PNG's settings unless given."""
    given = {
        "content_type": "image/png",
        "filename": "screenshot.png",
        "inline": True,
        "retention_days": None,
        **settings,
    }
    return files.store(key, content, **given)


def test_a_new_file_is_written_once_and_then_found_present(s3):
    """The first store writes the bytes (True); a second, as a retry or a replay makes it,
    finds the key and writes nothing (False), one HEAD and no PUT."""
    files = S3Files(s3, BUCKET)
    assert store(files) is True
    made = calls(s3)
    assert store(files, content=b"other bytes") is False
    assert made == Counter({"HeadObject": 1})
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == PNG


def test_a_racing_writer_is_refused_by_the_condition(s3, monkeypatch):
    """When another delivery writes the key between the HEAD and the PUT, If-None-Match makes
    S3 refuse the second write: False, and the first bytes stay."""
    files = S3Files(s3, BUCKET)
    monkeypatch.setattr(files, "_exists", lambda key: False)
    assert store(files) is True
    assert store(files, content=b"second") is False
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == PNG


def test_an_image_is_served_inline_as_its_type(s3):
    """A raster image: its own type, inline, under its name."""
    store(S3Files(s3, BUCKET))
    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["ContentType"] == "image/png"
    assert head["ContentDisposition"] == (
        "inline; filename=\"screenshot.png\"; filename*=UTF-8''screenshot.png"
    )


@pytest.mark.parametrize(
    ("declared", "served"),
    [
        ("application/pdf", "application/pdf"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("text/csv", "text/csv; charset=utf-8"),
        ("application/json", "application/json"),
        ("application/zip", "application/zip"),
        ("application/gzip", "application/gzip"),
        ("text/x-diff", "application/octet-stream"),
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("image/png", "application/octet-stream"),
    ],
)
def test_other_files_are_downloads_of_a_safe_type(s3, declared: str, served: str):
    """Anything not shown inline is an attachment; a type outside the safe set (or an image the
    plan did not show) is served as bytes, never as something a browser runs."""
    store(S3Files(s3, BUCKET), content_type=declared, filename="file.bin", inline=False)
    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["ContentType"] == served
    assert head["ContentDisposition"].startswith('attachment; filename="file.bin"')
    assert served_type(declared, inline=False) == served


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("build.log", "attachment; filename=\"build.log\"; filename*=UTF-8''build.log"),
        (
            "Bildschirmfoto-Übersicht.png",
            'attachment; filename="Bildschirmfoto-_bersicht.png";'
            " filename*=UTF-8''Bildschirmfoto-%C3%9Cbersicht.png",
        ),
        ("日志.txt", "attachment; filename=\"__.txt\"; filename*=UTF-8''%E6%97%A5%E5%BF%97.txt"),
        (
            'a "quoted"\\name%20.txt',
            'attachment; filename="a _quoted__name_20.txt";'
            " filename*=UTF-8''a%20%22quoted%22%5Cname%2520.txt",
        ),
    ],
)
def test_the_name_is_given_as_rfc_6266_says(name: str, header: str):
    """An ASCII fallback without quotes, backslashes or percent signs, and the UTF-8 name,
    percent-encoded but for RFC 5987's attr-chars."""
    assert disposition(name, inline=False) == header


def test_retention_is_the_tag_the_lifecycle_rules_filter_on(s3):
    """retention_days becomes the retention-days tag; without it, no tag at all."""
    files = S3Files(s3, BUCKET)
    store(files, retention_days=30)
    other = f"{MAIL}/{'b' * 32}/kept.png"
    store(files, key=other)
    assert s3.get_object_tagging(Bucket=BUCKET, Key=KEY)["TagSet"] == [
        {"Key": "retention-days", "Value": "30"}
    ]
    assert s3.get_object_tagging(Bucket=BUCKET, Key=other)["TagSet"] == []


def test_keys_lists_every_page_under_the_prefix(s3):
    """More keys than one listing page returns (1000) are all found, and only under the
    prefix."""
    for index in range(1003):
        s3.put_object(Bucket=BUCKET, Key=f"{MAIL}/{index:032x}/f.txt", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="f" * 32 + "/t/other.txt", Body=b"x")
    made = calls(s3)
    found = S3Files(s3, BUCKET).keys(f"{MAIL}/")
    assert sorted(found) == [f"{MAIL}/{index:032x}/f.txt" for index in range(1003)]
    assert made == Counter({"ListObjectsV2": 2})
    assert S3Files(s3, BUCKET).keys("0" * 32 + "/") == []


def test_delete_removes_the_keys_in_batches_and_nothing_else(s3):
    """2,500 keys of one mail: one listing of the mail's folder, three DeleteObjects of at most
    1000; the other mail's object stays."""
    keys = [f"{MAIL}/{index:032x}/f.txt" for index in range(2500)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    kept = "f" * 32 + "/t/other.txt"
    s3.put_object(Bucket=BUCKET, Key=kept, Body=b"x")
    made = calls(s3)
    S3Files(s3, BUCKET).delete(keys)
    assert made["DeleteObjects"] == -(-len(keys) // DELETE_BATCH) == 3
    assert made["ListObjectVersions"] == 3  # pages of 1000 versions
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [kept]


def test_delete_removes_every_version_where_there_are_versions(s3):
    """A bucket with versioning (as the module never makes it) keeps nothing of a deleted key:
    every version and delete marker goes."""
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    s3.delete_object(Bucket=BUCKET, Key=KEY)
    S3Files(s3, BUCKET).delete([KEY])
    listed = s3.list_object_versions(Bucket=BUCKET)
    assert listed.get("Versions", []) == listed.get("DeleteMarkers", []) == []


def test_deleting_what_is_gone_deletes_nothing(s3):
    """Keys already removed (a second `attachments remove`) make no DeleteObjects call."""
    made = calls(s3)
    S3Files(s3, BUCKET).delete([KEY])
    S3Files(s3, BUCKET).delete([])
    assert made["DeleteObjects"] == 0


def stubbed(s3: Any) -> tuple[S3Files, Stubber]:
    stubber = Stubber(s3)
    stubber.activate()
    return S3Files(s3, BUCKET), stubber


def refuse(stubber: Stubber, operation: str, code: str, status: int) -> None:
    stubber.add_client_error(operation, service_error_code=code, http_status_code=status)


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("AccessDenied", 403, False),
        ("NoSuchBucket", 404, False),
        ("InvalidTag", 400, False),
        ("SlowDown", 503, True),
        ("InternalError", 500, True),
        ("ConditionalRequestConflict", 409, True),
        ("RequestTimeout", 400, True),
    ],
)
def test_a_refused_write_says_whether_a_retry_may_succeed(s3, code, status, transient):
    """Throttling, S3's own failures and a racing write are transient (the mail is retried);
    a refusal the deployment must fix is permanent (the file is listed, not stored)."""
    files, stubber = stubbed(s3)
    refuse(stubber, "head_object", "404", 404)
    refuse(stubber, "put_object", code, status)
    with pytest.raises(TicketRouterError) as caught:
        store(files)
    assert caught.value.reason is Reason.ATTACHMENT_STORE_UNAVAILABLE
    assert caught.value.transient is transient
    assert caught.value.detail == f"the attachments bucket did not store the file ({code})"


def test_a_head_refused_for_want_of_list_permission_is_an_absent_key(s3):
    """Without s3:ListBucket S3 answers a HEAD of a missing key 403: the file is written."""
    files, stubber = stubbed(s3)
    refuse(stubber, "head_object", "403", 403)
    stubber.add_response("put_object", {})
    assert store(files) is True
    stubber.assert_no_pending_responses()


def test_a_head_that_fails_otherwise_fails_the_store(s3):
    """A HEAD answered 503 is transient, and nothing is written."""
    files, stubber = stubbed(s3)
    refuse(stubber, "head_object", "503", 503)
    with pytest.raises(TicketRouterError) as caught:
        store(files)
    assert (caught.value.transient, caught.value.detail) == (
        True,
        "the attachments bucket could not be read (503)",
    )


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (EndpointConnectionError(endpoint_url="https://s3.eu-west-1.amazonaws.com"), True),
        (ParamValidationError(report="bad"), False),
    ],
)
def test_an_unreached_bucket_is_transient(s3, monkeypatch, error, transient):
    """A network failure may pass; a request botocore would not send will not."""

    def fail(**_: Any) -> None:
        raise error

    monkeypatch.setattr(s3, "head_object", fail)
    with pytest.raises(TicketRouterError) as caught:
        store(S3Files(s3, BUCKET))
    assert caught.value.transient is transient
    assert caught.value.detail.endswith(f"({type(error).__name__})")


def test_a_listing_refused_is_permanent_and_named(s3):
    """keys() on a bucket the caller may not list: AccessDenied, permanent."""
    files, stubber = stubbed(s3)
    refuse(stubber, "list_objects_v2", "AccessDenied", 403)
    with pytest.raises(TicketRouterError) as caught:
        files.keys(f"{MAIL}/")
    assert (caught.value.transient, caught.value.detail) == (
        False,
        f"could not list the attachments bucket under {MAIL}/ (AccessDenied)",
    )


def test_objects_s3_would_not_delete_are_reported(s3):
    """DeleteObjects answers 200 with per-key errors: the removal fails, naming how many and
    the first."""
    files, stubber = stubbed(s3)
    stubber.add_response("list_object_versions", {"Versions": [{"Key": KEY, "VersionId": "null"}]})
    stubber.add_response(
        "delete_objects",
        {"Errors": [{"Key": KEY, "VersionId": "null", "Code": "AccessDenied", "Message": "no"}]},
    )
    with pytest.raises(TicketRouterError) as caught:
        files.delete([KEY])
    assert (caught.value.transient, caught.value.detail) == (
        False,
        f"the attachments bucket did not delete 1 of 1 objects, {KEY} first (AccessDenied)",
    )
