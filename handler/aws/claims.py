"""Claims in the DynamoDB table (key ``id``, TTL ``expiration``), through Powertools' idempotency
utility: its persistence layer, config and decorated post are made once per container."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from handler.github.posts import PostedComment
from handler.service.claims import Claimed, ClaimInProgress, ClaimStoreError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from mypy_boto3_dynamodb import DynamoDBClient

    from handler.deadline import Deadline

# Not the function's name: the CLI's replays must see the Lambda's claims.
_KEY_PREFIX = "ticket-router"


def _post(claim: dict[str, str], post: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The claimed work; Powertools keys it on ``claim`` alone."""
    return post()


class DynamoClaims:
    """Claims in a DynamoDB table (key ``id``, TTL ``expiration``)."""

    def __init__(
        self, table_name: str, client: DynamoDBClient, *, expires_after_seconds: int
    ) -> None:
        self._table = table_name
        self._client = client
        self._ttl = expires_after_seconds

    @functools.cached_property
    def _utility(self) -> tuple[IdempotencyConfig, Callable[..., dict[str, Any]]]:
        # Imported on the first post, not at cold start: a rejected mail needs no claim.
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
        store = DynamoDBPersistenceLayer(table_name=self._table, boto3_client=self._client)
        claimed = idempotent_function(
            data_keyword_argument="claim",
            persistence_store=store,
            config=config,
            key_prefix=_KEY_PREFIX,
        )(_post)
        return config, claimed

    def once(self, key: str, post: Callable[[], PostedComment], deadline: Deadline) -> Claimed:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            BaseError,
            IdempotencyAlreadyInProgressError,
        )

        config, claimed = self._utility
        ran: list[PostedComment] = []

        def run() -> dict[str, Any]:
            comment = post()
            ran.append(comment)
            return {"id": comment.id, "url": comment.url}

        # Powertools ends an in-progress claim when its holder's invocation would: a crashed
        # holder's claim lapses then, and the retry takes it over. Outside Lambda (a CLI
        # replay) the deadline is the mail's budget. Powertools reads only the time left.
        config.register_lambda_context(deadline)  # type: ignore[arg-type]
        try:
            result = claimed(claim={"key": key}, post=run)
        except IdempotencyAlreadyInProgressError:
            raise ClaimInProgress(f"{key} is being posted by another invocation") from None
        except BaseError as error:
            raise ClaimStoreError(f"the claim store failed ({type(error).__name__})") from None
        if ran:
            return Claimed(ran[0], fresh=True)
        return Claimed(PostedComment(id=int(result["id"]), url=str(result["url"])), fresh=False)
