"""Secrets Manager secrets through Powertools' parameters utility: each cached for ``max_age``
seconds, so that a rotation takes effect in warm containers, and read again at once
(``force_fetch``) once what it held was refused. Every failure is a transient StoreError naming
the secret and the error's class, never the secret's value.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from handler.aws.store import StoreError
from handler.reasons import Reason

if TYPE_CHECKING:
    from typing import Unpack

    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_secretsmanager.type_defs import (
        GetSecretValueRequestTypeDef,
        GetSecretValueResponseTypeDef,
    )

# How long a secret is trusted before it is read again.
DEFAULT_MAX_AGE = 900


class Secrets:
    """The secrets of one Secrets Manager client, cached by one Powertools SecretsProvider.

    Powertools' parameters (about 12 ms) are imported by the first read, not with this module:
    a cold start, and a mail that is not posted, read no secret.
    """

    def __init__(
        self,
        client: SecretsManagerClient,
        *,
        max_age: int = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._max_age = max_age
        self._clock = clock
        self._read_at: dict[str, float] = {}
        self._provider: SecretsProvider | None = None

    def read(self, secret_id: str, *, reason: Reason, what: str, fresh: bool = False) -> str | None:
        """The secret's text, None when it holds none (a binary secret): the cached copy unless
        ``fresh`` or older than ``max_age``. ``reason`` and ``what`` word the failure."""
        from aws_lambda_powertools.utilities.parameters import (  # noqa: PLC0415 - see the class
            GetParameterError,
            SecretsProvider,
        )

        if self._provider is None:
            reads = _Reads(self._client, self._fetched)
            self._provider = SecretsProvider(boto3_client=cast("SecretsManagerClient", reads))
        try:
            value = self._provider.get(secret_id, max_age=self._max_age, force_fetch=fresh)
        except GetParameterError as error:
            # Powertools wraps the client's exception. Its class says enough; its text can name
            # the secret (never its value), and is left out like every AWS message.
            failure = error.__context__
            raise StoreError(
                reason, f"{what} could not be read ({type(failure).__name__})", transient=True
            ) from None
        return value if isinstance(value, str) else None

    def age(self, secret_id: str) -> float | None:
        """Seconds since the secret last came from Secrets Manager; None when it never did."""
        read_at = self._read_at.get(secret_id)
        return None if read_at is None else self._clock() - read_at

    def _fetched(self, secret_id: str) -> None:
        self._read_at[secret_id] = self._clock()


class _Reads:
    """The client as the provider calls it. Powertools keeps when a cached copy expires, not when
    it was read, so the reads are noted here. Its provider never sees the client itself: a
    LazyClient is built by the first read, not by the provider's constructor."""

    def __init__(
        self,
        client: SecretsManagerClient,
        fetched: Callable[[str], None],
    ) -> None:
        self._client = client
        self._fetched = fetched

    def get_secret_value(
        self, **request: Unpack[GetSecretValueRequestTypeDef]
    ) -> GetSecretValueResponseTypeDef:
        answer = self._client.get_secret_value(**request)
        self._fetched(request["SecretId"])
        return answer


class SecretSource:
    """One value held by a secret: the bare value, or JSON ``{"<field>": "..."}``.

    A value that is missing or empty is not trusted, nor is one that ``forget`` was told was
    refused: the next ``get`` reads the secret again, whatever its age.
    """

    def __init__(
        self,
        secrets: Secrets,
        secret_id: str,
        *,
        field: str,
        reason: Reason,
        description: str,
        variable: str,
    ) -> None:
        self._secrets = secrets
        self._secret_id = secret_id
        self._field = field
        self._reason = reason
        # How errors name the secret, and the variable that names it.
        self._description = description
        self._variable = variable
        self._stale = False

    def forget(self) -> None:
        """The value was refused (rotated, revoked): the next ``get`` reads the secret again."""
        self._stale = True

    def age(self) -> float | None:
        """Seconds since the value in use was read; None when none is trusted."""
        return None if self._stale else self._secrets.age(self._secret_id)

    def get(self) -> str:
        if not self._secret_id:
            raise StoreError(
                self._reason,
                f"{self._description} is not configured ({self._variable} is empty)",
                transient=True,
            )
        text = self._secrets.read(
            self._secret_id, reason=self._reason, what=self._description, fresh=self._stale
        )
        value = _field_of(text, self._field)
        self._stale = not value
        if not value:
            raise StoreError(
                self._reason,
                f"{self._description} is empty: set it with "
                "`aws secretsmanager put-secret-value` (see README)",
                transient=True,
            )
        return value


class TokenSource(SecretSource):
    """The GitHub token: the bare token or JSON ``{"token": "..."}``."""

    def __init__(
        self, secrets: Secrets, secret_id: str, *, description: str = "the GitHub token secret"
    ) -> None:
        super().__init__(
            secrets,
            secret_id,
            field="token",
            reason=Reason.TOKEN_UNAVAILABLE,
            description=description,
            variable="GITHUB_TOKEN_SECRET_ARN",
        )


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
