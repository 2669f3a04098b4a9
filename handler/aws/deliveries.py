"""Webhook events queued at most once, however many deliveries bring them, through Powertools'
idempotency utility on the claims table
(https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from handler.aws.idempotency import Held, Once, StoreFailed
from handler.deadline import Deadline
from handler.outbound.errors import OutboundError
from handler.outbound.webhook import Remembered
from handler.reasons import Reason

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# How long an event is remembered once its work item is queued: longer than any event that is
# not stale (handler.outbound.webhook.STALE_AFTER_SECONDS), nor dated in the future
# (CLOCK_SKEW_SECONDS), so that no replay gets through.
DELIVERY_TTL_SECONDS = 7 * 86400
# How long an event is held while its work item is queued: far beyond the function's 5 s
# timeout (terraform/modules/replies), and short, so that a redelivery of a delivery whose
# invocation died is not taken for a duplicate for long.
PENDING_SECONDS = 60
# The IAM policies condition the webhook's access to the table on this prefix.
_KEY_PREFIX = "delivery"


class DynamoDeliveries:
    """Events (handler.outbound.webhook.Deliveries) as ``delivery#<hash of the event's key>``:
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
        self._once = Once(
            client, table, key_prefix=_KEY_PREFIX, expires_after_seconds=expires_after_seconds
        )
        self._pending = pending_seconds

    def once(self, event: str, work: Callable[[], None]) -> Remembered:
        # Powertools holds a key for the remaining time of the context registered with it; this
        # holds it for a fixed minute from the claim instead of the invocation's own few
        # seconds, so that the 503 answered meanwhile can tell when a redelivery will be taken.
        hold = Deadline.within(self._pending)
        try:
            fresh, _ = self._once.run(event, work, hold)
        except Held:
            detail = f"this event is being queued; redeliver it after {self._pending} s"
            raise OutboundError(Reason.DELIVERY_IN_PROGRESS, detail) from None
        except StoreFailed as failed:
            if failed.stage == "claim":
                detail = f"cannot record the event ({failed.code})"
                raise OutboundError(Reason.STORE_UNAVAILABLE, detail) from None
            if isinstance(failed.failure, OutboundError):
                # GitHub's redelivery will be taken for a duplicate: the log must say so.
                detail = (
                    f"{failed.failure.detail}; the event stays claimed: "
                    f"cannot forget it ({failed.code})"
                )
                raise OutboundError(failed.failure.reason, detail) from None
            if failed.failure is not None:
                raise failed.failure from None
            # The work is queued: only the record of it is short.
            return Remembered(
                fresh=True,
                unconfirmed=(
                    f"the event is held for {self._pending} s only: "
                    f"cannot confirm it ({failed.code})"
                ),
            )
        return Remembered(fresh=fresh)
