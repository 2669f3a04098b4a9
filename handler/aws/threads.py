"""The thread map in the DynamoDB table (key ``id``, TTL ``expiration``), beside the claims, for
as long as a claim lives."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code
from handler.inbound.threads import ThreadStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_KEY_PREFIX = "thread"


def _key(repo: str, message_id: str) -> str:
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return f"{_KEY_PREFIX}#{repo.lower()}#{digest}"


class DynamoThreads:
    """The thread map in a DynamoDB table with key ``id`` and TTL attribute ``expiration``."""

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

    def find(self, repo: str, message_ids: Sequence[str]) -> int | None:
        """The issue of the newest referenced message we know, None when there is none."""
        for message_id in message_ids:
            try:
                item = self._client.get_item(
                    TableName=self._table,
                    Key={"id": {"S": _key(repo, message_id)}},
                    ConsistentRead=True,
                ).get("Item")
            except (ClientError, BotoCoreError) as error:
                raise ThreadStoreError(
                    f"cannot read the thread map ({error_code(error)})"
                ) from None
            number = (item or {}).get("issue", {}).get("N")
            if number is not None:
                return int(number)
        return None

    def remember(self, repo: str, message_ids: Sequence[str], issue: int) -> None:
        expiration = str(int(self._clock()) + self._ttl)
        for message_id in message_ids:
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "id": {"S": _key(repo, message_id)},
                        "issue": {"N": str(issue)},
                        "expiration": {"N": expiration},
                    },
                )
            except (ClientError, BotoCoreError) as error:
                raise ThreadStoreError(
                    f"cannot write the thread map ({error_code(error)})"
                ) from None
