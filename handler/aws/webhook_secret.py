"""The master webhook secret, from Secrets Manager: GitHub gets only secrets derived from it, and
the unsubscribe links' key derives from it too (handler.outbound.signatures, .unsubscribe)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from handler.aws.secrets import Secrets, SecretSource
from handler.aws.store import StoreError
from handler.outbound.errors import OutboundError
from handler.reasons import Reason

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# A failed signature re-reads the secret at most this often, so that unsigned floods do not
# become Secrets Manager calls.
SECRET_REREAD_SECONDS = 60.0


class WebhookSecret:
    """The bare secret, or JSON ``{"secret": ...}``; cached for a bounded time like the GitHub
    token (handler.aws.secrets). ``refreshed`` reads it again early, when a
    signature did not match, but at most once a minute."""

    def __init__(
        self,
        client: SecretsManagerClient,
        secret_id: str,
        *,
        ttl_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = SecretSource(
            Secrets(client, max_age=int(ttl_seconds), clock=clock),
            secret_id,
            field="secret",
            reason=Reason.SECRET_UNAVAILABLE,
            description="the webhook secret",
            variable="WEBHOOK_SECRET_ARN",
        )

    def get(self) -> bytes:
        """Raises OutboundError (``secret-unavailable``)."""
        try:
            return self._source.get().encode()
        except StoreError as error:
            raise OutboundError(Reason.SECRET_UNAVAILABLE, error.detail) from None

    def refreshed(self) -> bytes | None:
        """The secret read again, or None when it was read less than a minute ago."""
        age = self._source.age()
        if age is not None and age < SECRET_REREAD_SECONDS:
            return None
        self._source.forget()
        return self.get()
