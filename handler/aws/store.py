"""The AWS edges: raw mail from S3, GitHub tokens from Secrets Manager.

Clients are passed in, so the Lambda builds them once per container and tests hand in moto's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.reasons import Reason, TicketRouterError


class StoreError(TicketRouterError):
    """A mail or secret that cannot be read; ``transient`` when a retry may succeed."""

    # A code as a str only until handler.github.credentials and the secret sources pass members:
    # it is looked up here, once, so that ``reason`` is always a member.
    def __init__(self, reason: Reason | str, detail: str, *, transient: bool | None = None) -> None:
        super().__init__(Reason(reason), detail, transient=transient)


class SecretSource:
    """A secret's value from Secrets Manager, cached for a bounded time.

    The cache spares a Secrets Manager call per mail or request; the bound makes a rotated
    secret take effect in warm containers. The secret holds either the bare value or JSON
    ``{"<field>": "..."}``. Every failure is a transient StoreError with ``reason``.
    """

    def __init__(
        self,
        client: Any,  # noqa: ANN401 - an untyped boto3 client
        secret_id: str,
        *,
        field: str,
        reason: str,
        description: str,
        variable: str,
        ttl_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._field = field
        self._reason = reason
        # How errors name the secret and the variable that names it.
        self._description = description
        self._variable = variable
        self._ttl = ttl_seconds
        self._clock = clock
        self._value: str | None = None
        self._fetched_at = 0.0

    def forget(self) -> None:
        """Drop the cached value: the next ``get`` reads the secret again."""
        self._value = None

    def age(self) -> float | None:
        """Seconds since the cached value was read; None when nothing is cached."""
        return None if self._value is None else self._clock() - self._fetched_at

    def get(self) -> str:
        if self._value is not None and self._clock() - self._fetched_at < self._ttl:
            return self._value
        if not self._secret_id:
            raise StoreError(
                self._reason,
                f"{self._description} is not configured ({self._variable} is empty)",
                transient=True,
            )
        text = read_secret(
            self._client, self._secret_id, reason=self._reason, what=self._description
        )
        value = _field_of(text, self._field)
        if not value:
            raise StoreError(
                self._reason,
                f"{self._description} is empty: set it with "
                "`aws secretsmanager put-secret-value` (see README)",
                transient=True,
            )
        self._value, self._fetched_at = value, self._clock()
        return value


class TokenSource(SecretSource):
    """The GitHub token: the bare token or JSON ``{"token": "..."}``."""

    def __init__(
        self,
        client: Any,  # noqa: ANN401 - an untyped boto3 client
        secret_id: str,
        *,
        ttl_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        description: str = "the GitHub token secret",
    ) -> None:
        super().__init__(
            client,
            secret_id,
            field="token",
            reason="token-unavailable",
            description=description,
            variable="GITHUB_TOKEN_SECRET_ARN",
            ttl_seconds=ttl_seconds,
            clock=clock,
        )


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


def _field_of(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return ""
        found = parsed.get(field) if isinstance(parsed, dict) else None
        return found.strip() if isinstance(found, str) else ""
    return text


def error_code(error: Exception) -> str:
    """What an AWS call's failure is called in logs and details: the service's error code, or
    the botocore exception's class. Never its message, which may quote the request."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__
