"""Work done at most once per key, through Powertools' idempotency utility on the claims table
(https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/): the config and the
decorated function are made once per container, and each call registers how long its holder may
hold the key."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from handler.aws.store import error_code

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from mypy_boto3_dynamodb import DynamoDBClient

    from handler.deadline import LambdaClock


class Held(Exception):
    """Another invocation holds the key."""


class StoreFailed(Exception):
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


class Once:
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

    def run(self, key: str, work: Callable[[], Any], holder: LambdaClock) -> tuple[bool, Any]:
        """Runs ``work`` unless it ran for ``key`` before: whether it ran now, and what it
        returned (now, or when it ran before: Powertools keeps the answer). ``holder``
        says how long this invocation may hold the key: a holder that dies (a timeout) leaves
        the key to whoever comes after that. Raises Held while another holds the key,
        StoreFailed, and what ``work`` raises once the key is released."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            BaseError,
            IdempotencyAlreadyInProgressError,
        )

        config, run = self._utility
        # Powertools reads only get_remaining_time_in_millis from the context it is given.
        config.register_lambda_context(holder)  # type: ignore[arg-type]
        attempt = _Attempt(work)
        try:
            result = run(claim={"key": key}, work=attempt)
        except IdempotencyAlreadyInProgressError:
            raise Held from None
        except BaseError as error:
            stage: Literal["claim", "confirm", "release"] = (
                "claim"
                if not attempt.started
                else ("release" if attempt.failure is not None else "confirm")
            )
            raise StoreFailed(stage, error, attempt.failure) from None
        return attempt.started, result


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
