"""Secrets from Secrets Manager (moto) through Powertools' cache: the GitHub token's source."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from handler.aws.lambda_runtime import LazyClient
from handler.aws.secrets import Secrets, SecretSource, TokenSource
from handler.aws.store import StoreError
from tests.secrets_clock import secrets_cached_by

REGION = "eu-west-1"
START = 1_800_000_000.0


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


class Counting:
    """moto's Secrets Manager, counting the reads."""

    def __init__(self, client) -> None:
        self.client = client
        self.reads = 0

    def get_secret_value(self, SecretId: str):
        self.reads += 1
        return self.client.get_secret_value(SecretId=SecretId)


def test_token_is_read_once_within_its_ttl(client, monkeypatch):
    """The token is cached, then re-read after the TTL so a rotation takes effect."""
    arn = client.create_secret(Name="gh", SecretString="ghp_first")["ARN"]
    now = [START]
    secrets_cached_by(lambda: now[0], monkeypatch)
    tokens = TokenSource(Secrets(client, max_age=60), arn)
    assert tokens.get() == "ghp_first"
    client.put_secret_value(SecretId=arn, SecretString='{"token": "ghp_second"}')
    now[0] += 59
    assert tokens.get() == "ghp_first"
    now[0] += 2
    assert tokens.get() == "ghp_second"


def test_a_forgotten_token_is_read_again_at_once(client):
    """GitHub refused the token: the next get reads the secret, however young the copy."""
    arn = client.create_secret(Name="gh", SecretString="ghp_first")["ARN"]
    counting = Counting(client)
    tokens = TokenSource(Secrets(counting), arn)
    assert tokens.get() == "ghp_first"
    client.put_secret_value(SecretId=arn, SecretString="ghp_rotated")
    assert tokens.get() == "ghp_first"
    tokens.forget()
    assert tokens.get() == "ghp_rotated"
    assert tokens.get() == "ghp_rotated"
    assert counting.reads == 2


def test_age_counts_from_the_last_read(client):
    """age() is the time since the value in use came from Secrets Manager, by the given clock;
    None before the first read and once the value was forgotten."""
    arn = client.create_secret(Name="webhook", SecretString='{"secret": "s3cret"}')["ARN"]
    now = [100.0]
    source = SecretSource(
        Secrets(client, clock=lambda: now[0]),
        arn,
        field="secret",
        reason="secret-unavailable",
        description="the webhook secret",
        variable="WEBHOOK_SECRET_ARN",
    )
    assert source.age() is None
    assert source.get() == "s3cret"
    now[0] += 30
    assert source.get() == "s3cret"
    assert source.age() == 30
    source.forget()
    assert source.age() is None
    source.get()
    assert source.age() == 0


def test_empty_secret_says_how_to_set_it(client):
    """A secret created empty by Terraform gives an actionable error, not an empty token."""
    arn = client.create_secret(Name="gh", SecretString=" ")["ARN"]
    with pytest.raises(StoreError, match="put-secret-value") as caught:
        TokenSource(Secrets(client), arn).get()
    assert caught.value.transient is True


def test_a_secret_set_after_it_was_found_empty_is_read_at_once(client):
    """An empty value is not kept: the operator's fix takes effect on the next get."""
    arn = client.create_secret(Name="gh", SecretString=" ")["ARN"]
    tokens = TokenSource(Secrets(client), arn)
    with pytest.raises(StoreError):
        tokens.get()
    client.put_secret_value(SecretId=arn, SecretString="ghp_set")
    assert tokens.get() == "ghp_set"


def test_unreadable_secret_names_no_value(client):
    """A missing secret is reported by error class, transient, with no secret material."""
    with pytest.raises(StoreError) as caught:
        TokenSource(
            Secrets(client), "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope"
        ).get()
    assert caught.value.reason == "token-unavailable"
    assert (
        caught.value.detail
        == "the GitHub token secret could not be read (ResourceNotFoundException)"
    )


def test_unconfigured_secret_is_reported():
    """No secret ARN configured: a clear error before any AWS call."""
    with pytest.raises(StoreError) as caught:
        TokenSource(Secrets(object()), "").get()
    assert (caught.value.reason, caught.value.detail) == (
        "token-unavailable",
        "the GitHub token secret is not configured (GITHUB_TOKEN_SECRET_ARN is empty)",
    )


def test_malformed_json_secret_never_echoes_its_value(client):
    """A secret that is broken JSON is reported as empty; its text appears in no error."""
    arn = client.create_secret(Name="gh", SecretString='{"token": "ghp_secretValue123')["ARN"]
    with pytest.raises(StoreError) as caught:
        TokenSource(Secrets(client), arn).get()
    assert caught.value.reason == "token-unavailable"
    assert "ghp_secretValue123" not in repr(caught.value)
    assert "ghp_secretValue123" not in str(caught.value.__context__)


def test_a_client_that_cannot_be_built_is_unavailable(monkeypatch):
    """No region: the client fails on the first read, which says so by the error's class."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    tokens = TokenSource(Secrets(LazyClient("secretsmanager")), "gh")
    with pytest.raises(StoreError) as caught:
        tokens.get()
    assert (caught.value.reason, caught.value.detail) == (
        "token-unavailable",
        "the GitHub token secret could not be read (NoRegionError)",
    )
