"""The AWS edges, against moto: raw mail from S3, the token from Secrets Manager."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from handler.aws.s3 import MailStore
from handler.aws.store import StoreError, TokenSource

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


def test_missing_object_is_a_permanent_failure(aws):
    """A key that does not exist will not appear on retry: mail-not-found, not transient."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="mail", CreateBucketConfiguration={"LocationConstraint": REGION})
    with pytest.raises(StoreError) as caught:
        MailStore(s3).fetch("mail", "inbound/nope")
    assert (caught.value.reason, caught.value.transient) == ("mail-not-found", False)
    assert "s3://mail/inbound/nope" in caught.value.detail


def test_token_is_read_once_within_its_ttl(aws):
    """The token is cached, then re-read after the TTL so a rotation takes effect."""
    client = boto3.client("secretsmanager", region_name=REGION)
    arn = client.create_secret(Name="gh", SecretString="ghp_first")["ARN"]
    now = [0.0]
    tokens = TokenSource(client, arn, ttl_seconds=60, clock=lambda: now[0])
    assert tokens.get() == "ghp_first"
    client.put_secret_value(SecretId=arn, SecretString='{"token": "ghp_second"}')
    now[0] = 59
    assert tokens.get() == "ghp_first"
    now[0] = 61
    assert tokens.get() == "ghp_second"


def test_empty_secret_says_how_to_set_it(aws):
    """A secret created empty by Terraform gives an actionable error, not an empty token."""
    client = boto3.client("secretsmanager", region_name=REGION)
    arn = client.create_secret(Name="gh", SecretString=" ")["ARN"]
    with pytest.raises(StoreError, match="put-secret-value") as caught:
        TokenSource(client, arn).get()
    assert caught.value.transient is True


def test_unreadable_secret_names_no_value(aws):
    """A missing secret is reported by error class, transient, with no secret material."""
    client = boto3.client("secretsmanager", region_name=REGION)
    with pytest.raises(StoreError) as caught:
        TokenSource(client, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope").get()
    assert caught.value.reason == "token-unavailable"
    assert (
        caught.value.detail
        == "the GitHub token secret could not be read (ResourceNotFoundException)"
    )


def test_unconfigured_secret_is_reported():
    """No secret ARN configured: a clear error before any AWS call."""
    with pytest.raises(StoreError) as caught:
        TokenSource(object(), "").get()
    assert (caught.value.reason, caught.value.detail) == (
        "token-unavailable",
        "the GitHub token secret is not configured (GITHUB_TOKEN_SECRET_ARN is empty)",
    )


def test_malformed_json_secret_never_echoes_its_value(aws):
    """A secret that is broken JSON is reported as empty; its text appears in no error."""
    client = boto3.client("secretsmanager", region_name=REGION)
    arn = client.create_secret(Name="gh", SecretString='{"token": "ghp_secretValue123')["ARN"]
    with pytest.raises(StoreError) as caught:
        TokenSource(client, arn).get()
    assert caught.value.reason == "token-unavailable"
    assert "ghp_secretValue123" not in repr(caught.value)
    assert "ghp_secretValue123" not in str(caught.value.__context__)
