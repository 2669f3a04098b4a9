"""Claims in the DynamoDB table (key ``id``, TTL ``expiration``): one post per claim key, through
the shared Powertools idempotency wrapper (handler.aws.idempotency)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from handler.aws.idempotency import Held, Once, StoreFailed
from handler.github.posts import PostedComment
from handler.service.claims import Claimed, ClaimInProgress, ClaimStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from handler.deadline import Deadline

logger = logging.getLogger("ticket_router.claims")

# Not the function's name: the CLI's replays must see the Lambda's claims.
_KEY_PREFIX = "ticket-router"
# The outbox's claims (one mail per participant and event) under their own prefix, so that its
# role reaches none of the inbound function's (terraform/modules/replies, dynamodb:LeadingKeys).
SENT_KEY_PREFIX = "mailed"


class DynamoClaims:
    """Claims in a DynamoDB table (key ``id``, TTL ``expiration``)."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        expires_after_seconds: int,
        key_prefix: str = _KEY_PREFIX,
    ) -> None:
        self._once = Once(
            client, table_name, key_prefix=key_prefix, expires_after_seconds=expires_after_seconds
        )

    def once(self, key: str, post: Callable[[], PostedComment], deadline: Deadline) -> Claimed:
        """Run ``post`` unless the claim on ``key`` says it ran. The claim of a holder that dies
        lapses at ``deadline`` (the invocation's, or the CLI's per-mail budget), so that the
        retry takes it over; a failed post releases it. When the post ran but its claim could
        not be marked done, the post stands: it is returned as fresh (a warning logged), and a
        retry that takes the lapsed claim over finds the post's record and its marker."""
        done: list[PostedComment] = []

        def work() -> dict[str, object]:
            done.append(post())
            return _recorded(done[0])

        try:
            fresh, result = self._once.run(key, work, deadline)
        except Held:
            raise ClaimInProgress(f"{key} is being posted by another invocation") from None
        except StoreFailed as failed:
            if failed.stage == "confirm" and done:
                logger.warning(
                    "claim not marked done after its work ran",
                    extra={"claim": key, "error": failed.code},
                )
                return Claimed(done[0], fresh=True)
            raise ClaimStoreError(f"the claim store failed ({failed.name})") from None
        if fresh:
            return Claimed(done[0], fresh=True)
        # What the claim recorded of the earlier post (for an issue, its number as the id).
        return Claimed(PostedComment(id=int(result["id"]), url=str(result["url"])), fresh=False)


def _recorded(comment: PostedComment) -> dict[str, object]:
    return {"id": comment.id, "url": comment.url}
