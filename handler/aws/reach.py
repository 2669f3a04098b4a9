"""Which comment each mail the outbox sent was about, in the claims table (key ``id``, TTL
``expiration``): one item ``sent#<SES message id>`` per mail, kept as long as SES may send
feedback on it, so that a bounce or a complaint marks the comment on GitHub."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code
from handler.outbound.reach import SentComment, SentMailError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SENT_PREFIX = "sent"
# SES reports a bounce within days at most (it retries a soft bounce for up to 14 hours), a
# complaint whenever the mailbox provider forwards it: 30 days covers both.
SENT_TTL_SECONDS = 30 * 86400


def sent_key(message_id: str) -> str:
    return f"{SENT_PREFIX}#{message_id}"


class DynamoSentMail:
    """The records of sent mail, one item each, expiring after ``expires_after_seconds``."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        expires_after_seconds: int = SENT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = expires_after_seconds
        self._clock = clock

    def record(self, message_ids: Sequence[str], comment: SentComment) -> None:
        """One PutItem per mail: an issue has few participants, and BatchWriteItem would need
        another permission for no gain."""
        expiration = str(int(self._clock()) + self._ttl)
        for message_id in message_ids:
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "id": {"S": sent_key(message_id)},
                        "repo": {"S": comment.repo},
                        "issue": {"N": str(comment.issue)},
                        "comment": {"N": str(comment.comment_id)},
                        "expiration": {"N": expiration},
                    },
                )
            except (ClientError, BotoCoreError) as error:
                raise SentMailError(f"cannot record the sent mail ({error_code(error)})") from None

    def of(self, message_id: str) -> SentComment | None:
        try:
            item = self._client.get_item(
                TableName=self._table, Key={"id": {"S": sent_key(message_id)}}
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise SentMailError(f"cannot read the sent mail ({error_code(error)})") from None
        if not item:
            return None
        # DynamoDB deletes an expired item some time after its expiration, not at it.
        if int(item.get("expiration", {}).get("N", "0")) < self._clock():
            return None
        try:
            return SentComment(
                repo=item["repo"]["S"],
                issue=int(item["issue"]["N"]),
                comment_id=int(item["comment"]["N"]),
            )
        except (KeyError, TypeError, ValueError):
            # Written by a later version with another shape: no comment to mark.
            return None
