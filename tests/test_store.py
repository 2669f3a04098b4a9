"""Raw mail from S3, against moto."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from handler.aws.s3 import MailStore
from handler.aws.store import StoreError

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_fetch_returns_the_stored_bytes(aws):
    """The raw mail is returned byte for byte."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="mail", Key="inbound/abc", Body=b"Subject: x\r\n\r\nbody\xff")
    assert MailStore(s3).fetch("mail", "inbound/abc") == b"Subject: x\r\n\r\nbody\xff"


@pytest.mark.parametrize(
    ("bucket", "code"), [("mail", "NoSuchKey"), ("wrong-bucket", "NoSuchBucket")]
)
def test_missing_object_is_transient(aws, bucket, code):
    """A key or bucket that does not exist is mail-not-found, transient: a mail deleted, or a
    wrong MAIL_BUCKET or MAIL_PREFIX, is retried and dead-lettered (with an alarm), not dropped."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
    with pytest.raises(StoreError) as caught:
        MailStore(s3).fetch(bucket, "inbound/nope")
    assert (caught.value.reason, caught.value.transient) == ("mail-not-found", True)
    assert caught.value.detail == f"s3://{bucket}/inbound/nope does not exist ({code})"
