"""Posting records in the claims table (key ``id``, TTL ``expiration``):
``posting#<digest of the claim key>`` holds ``at``, when the latest POST under that claim was
sent, written before the POST and kept as long as the claim (handler.service.claims.Postings).

Reading or writing one fails closed (claim-store-unavailable, nothing posted): a POST without its
record could be posted again by a redelivery that does not know to look for it first.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code
from handler.service.claims import ClaimStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger("ticket_router.postings")

_KEY_PREFIX = "posting"


def _key(claim: str) -> dict[str, dict[str, str]]:
    digest = hashlib.sha256(claim.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return {"id": {"S": f"{_KEY_PREFIX}#{digest}"}}


class DynamoPostings:
    """Posting records beside the claims, with the claims' lifetime."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        expires_after_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = expires_after_seconds
        self._clock = clock

    def sent_at(self, key: str) -> float | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key=_key(key), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise ClaimStoreError(
                f"cannot read the posting record ({error_code(error)}): not posted"
            ) from None
        at = (item or {}).get("at", {}).get("N")
        return None if at is None else float(at)

    def sending(self, key: str, at: float) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_key(key),
                    "at": {"N": f"{at:.3f}"},
                    "expiration": {"N": str(int(self._clock()) + self._ttl)},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise ClaimStoreError(
                f"cannot write the posting record ({error_code(error)}): not posted"
            ) from None

    def settled(self, key: str) -> None:
        """A failure is logged only: a record left behind costs a later attempt a wait and a
        search, never a second post."""
        try:
            self._client.delete_item(TableName=self._table, Key=_key(key))
        except (ClientError, BotoCoreError) as error:
            logger.warning("posting record not removed", extra={"error": error_code(error)})
