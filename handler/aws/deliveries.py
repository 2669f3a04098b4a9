"""Webhook deliveries queued at most once, through Powertools' idempotency utility on the claims
table (https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from handler.aws.store import error_code
from handler.deadline import Deadline, LambdaClock
from handler.outbound.errors import OutboundError
from handler.outbound.webhook import Remembered
from handler.reasons import Reason

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from mypy_boto3_dynamodb import DynamoDBClient

# How long a delivery id is remembered once its work item is queued: longer than any event that
# is not stale (handler.outbound.webhook.STALE_AFTER_SECONDS), so that no replay gets through.
DELIVERY_TTL_SECONDS = 7 * 86400
# How long a delivery id is held while its work item is queued: far beyond the function's 5 s
# timeout (terraform/modules/replies), and short, so that a redelivery of a delivery whose
# invocation died is not taken for a duplicate for long.
PENDING_SECONDS = 60
_KEY_PREFIX = "delivery"


class DynamoDeliveries:
    """Delivery ids (handler.outbound.webhook.Deliveries) as ``delivery#<hash of the id>``:
    held for ``pending_seconds`` from the claim while the work item is queued, then remembered
    for ``expires_after_seconds``; released when queueing fails."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        expires_after_seconds: int = DELIVERY_TTL_SECONDS,
        pending_seconds: int = PENDING_SECONDS,
    ) -> None:
        self._once = _Once(
            client, table, key_prefix=_KEY_PREFIX, expires_after_seconds=expires_after_seconds
        )
        self._pending = pending_seconds

    def once(self, delivery: str, work: Callable[[], None]) -> Remembered:
        # Powertools holds a key for the remaining time of the context registered with it; this
        # holds it for a fixed minute from the claim instead of the invocation's own few
        # seconds, so that the 503 answered meanwhile can tell when a redelivery will be taken.
        hold = Deadline.within(self._pending)
        try:
            fresh = self._once.run(delivery, work, hold)
        except _Held:
            detail = f"this delivery is being queued; redeliver it after {self._pending} s"
            raise OutboundError(Reason.DELIVERY_IN_PROGRESS, detail) from None
        except _StoreFailed as failed:
            if failed.stage == "claim":
                detail = f"cannot record the delivery ({failed.code})"
                raise OutboundError(Reason.STORE_UNAVAILABLE, detail) from None
            if isinstance(failed.failure, OutboundError):
                # GitHub's redelivery will be taken for a duplicate: the log must say so.
                detail = (
                    f"{failed.failure.detail}; the delivery id stays claimed: "
                    f"cannot forget the delivery ({failed.code})"
                )
                raise OutboundError(failed.failure.reason, detail) from None
            if failed.failure is not None:
                raise failed.failure from None
            # The work is queued: only the record of it is short.
            return Remembered(
                fresh=True,
                unconfirmed=(
                    f"the delivery id is held for {self._pending} s only: "
                    f"cannot confirm the delivery ({failed.code})"
                ),
            )
        return Remembered(fresh=fresh)


class _Held(Exception):
    """Another invocation holds the key."""


class _StoreFailed(Exception):
    """The table failed at ``stage``: claiming the key (nothing ran), confirming it (the work
    ran), or releasing it after the work raised ``failure``."""

    def __init__(
        self,
        stage: Literal["claim", "confirm", "release"],
        error: Exception,
        failure: Exception | None,
    ) -> None:
        super().__init__(stage)
        self.stage = stage
        self.failure = failure
        # Powertools' error, and the code of the AWS error under it (or its own name).
        self.name = type(error).__name__
        self.code = error_code(error.__cause__ if isinstance(error.__cause__, Exception) else error)


class _Once:
    """One kind of work done at most once per key, under ``<key_prefix>#<md5 of the key>``."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        key_prefix: str,
        expires_after_seconds: int,
    ) -> None:
        self._client = client
        self._table = table
        self._key_prefix = key_prefix
        self._ttl = expires_after_seconds

    @functools.cached_property
    def _utility(self) -> tuple[IdempotencyConfig, Callable[..., Any]]:
        """The config and the decorated function, built on first use and kept for the
        container's life; importing Powertools' idempotency is paid only by work that needs it."""
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        config = IdempotencyConfig(
            event_key_jmespath="key",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=self._ttl,
        )
        run = idempotent_function(
            _run,
            data_keyword_argument="claim",
            persistence_store=DynamoDBPersistenceLayer(
                table_name=self._table, boto3_client=self._client
            ),
            config=config,
            # Not the function's name: the CLI and every function must see the same records.
            key_prefix=self._key_prefix,
        )
        return config, run

    def run(self, key: str, work: Callable[[], Any], holder: LambdaClock) -> bool:
        """Runs ``work`` unless it ran for ``key`` before: True when it ran now. ``holder``
        says how long this invocation may hold the key: a holder that dies (a timeout) leaves
        the key to whoever comes after that. Raises _Held while another holds the key,
        _StoreFailed, and what ``work`` raises once the key is released."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            BaseError,
            IdempotencyAlreadyInProgressError,
        )

        config, run = self._utility
        # Powertools reads only get_remaining_time_in_millis from the context it is given.
        config.register_lambda_context(holder)  # type: ignore[arg-type]
        attempt = _Attempt(work)
        try:
            run(claim={"key": key}, work=attempt)
        except IdempotencyAlreadyInProgressError:
            raise _Held from None
        except BaseError as error:
            stage: Literal["claim", "confirm", "release"] = (
                "claim"
                if not attempt.started
                else ("release" if attempt.failure is not None else "confirm")
            )
            raise _StoreFailed(stage, error, attempt.failure) from None
        return attempt.started


@dataclass
class _Attempt:
    """``work``, remembering whether it was started and what it raised."""

    work: Callable[[], Any]
    started: bool = False
    failure: Exception | None = None

    def __call__(self) -> Any:  # noqa: ANN401 - whatever the work returns
        self.started = True
        try:
            return self.work()
        except Exception as error:
            self.failure = error
            raise


def _run(claim: dict[str, str], work: Callable[[], Any]) -> Any:  # noqa: ANN401
    """What Powertools runs under the claim of ``claim["key"]``."""
    del claim
    return work()
