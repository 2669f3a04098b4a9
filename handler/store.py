"""The AWS edges: raw mail from S3, GitHub tokens from Secrets Manager.

Clients are passed in, so the Lambda builds them once per container and tests hand in moto's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# SES accepts mails up to 40 MB; anything larger in the bucket was not written by SES.
MAX_MAIL_BYTES = 40 * 1024 * 1024 + 1024 * 1024


class StoreError(Exception):
    """A mail or secret that cannot be read; ``transient`` when a retry may succeed."""

    def __init__(self, reason: str, detail: str, *, transient: bool) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.transient = transient


class MailStore:
    """Reads raw mails that SES stored in S3."""

    # boto3 clients carry no type information (no stubs are published for the pinned release).
    def __init__(self, s3_client: Any) -> None:  # noqa: ANN401
        self._s3 = s3_client

    def fetch(self, bucket: str, key: str) -> bytes:
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
            size = int(response.get("ContentLength", 0))
            if size > MAX_MAIL_BYTES:
                raise StoreError(
                    "mail-too-large",
                    f"s3://{bucket}/{key} is {size} bytes, larger than SES ever stores",
                    transient=False,
                )
            body: bytes = response["Body"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NoSuchBucket"}:
                raise StoreError(
                    "mail-not-found",
                    f"s3://{bucket}/{key} does not exist ({code})",
                    transient=False,
                ) from None
            # AccessDenied is a deployment mistake that a fixed policy and a replay will cure.
            raise StoreError(
                "mail-unreadable", f"s3://{bucket}/{key} could not be read ({code})", transient=True
            ) from None
        except BotoCoreError as error:
            raise StoreError(
                "mail-unreadable",
                f"s3://{bucket}/{key} could not be read ({type(error).__name__})",
                transient=True,
            ) from None
        return body


class TokenSource:
    """The GitHub token from Secrets Manager, cached for a bounded time.

    The cache spares a Secrets Manager call per mail; the bound makes a rotated token take effect
    in warm containers. The secret holds either the bare token or JSON ``{"token": "..."}``.
    """

    def __init__(
        self,
        client: Any,  # noqa: ANN401 - an untyped boto3 client
        secret_id: str,
        *,
        ttl_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        description: str = "the GitHub token secret",
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        # How errors name the secret: a route's own secret is told apart from the deployment's.
        self._description = description
        self._ttl = ttl_seconds
        self._clock = clock
        self._token: str | None = None
        self._fetched_at = 0.0

    def forget(self) -> None:
        """Drop the cached token: GitHub refused it, so the next use reads the secret again."""
        self._token = None

    def get(self) -> str:
        if self._token is not None and self._clock() - self._fetched_at < self._ttl:
            return self._token
        if not self._secret_id:
            raise StoreError(
                "token-unavailable",
                "no GitHub token secret is configured (GITHUB_TOKEN_SECRET_ARN is empty)",
                transient=True,
            )
        value = read_secret(
            self._client, self._secret_id, reason="token-unavailable", what=self._description
        )
        token = _token_from_secret(value)
        if not token:
            raise StoreError(
                "token-unavailable",
                f"{self._description} is empty: set it with "
                "`aws secretsmanager put-secret-value` (see README)",
                transient=True,
            )
        self._token, self._fetched_at = token, self._clock()
        return token


def read_secret(
    client: Any,  # noqa: ANN401 - an untyped boto3 Secrets Manager client
    secret_id: str,
    *,
    reason: str,
    what: str,
) -> str | None:
    """The secret's text; a failure to read it is a transient StoreError with ``reason``, its
    detail naming ``what`` and the error's class (never the secret's value)."""
    try:
        value = client.get_secret_value(SecretId=secret_id).get("SecretString")
    except (ClientError, BotoCoreError) as error:
        # The exception text can name the secret but never holds its value.
        raise StoreError(
            reason, f"{what} could not be read ({type(error).__name__})", transient=True
        ) from None
    return value if isinstance(value, str) else None


def _token_from_secret(value: str | None) -> str:
    text = (value or "").strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return ""
        token = parsed.get("token") if isinstance(parsed, dict) else None
        return token.strip() if isinstance(token, str) else ""
    return text
