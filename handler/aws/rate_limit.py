"""A credential's GitHub rate limit as one item of the claims table (key ``id``, TTL
``expiration``), shared by every container: ``ratelimit#<digest of API and identity>`` holds the
reservations (``sent``: whole milliseconds, each an 8-byte big-endian integer, in one binary
value: 500 of them take 4 KB, where a list of numbers would be twice that and slow to read),
``hold_until`` and a ``version`` that makes each reservation a
compare-and-set (handler.github.rate_limit has the logic).

A table that fails fails the post (rate-limit-store-unavailable, transient): posting without the
item could fall in a retry-after window another container was given, which GitHub may answer by
banning the integration. The mail waits for its retry instead.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code
from handler.github.rate_limit import Limits, RateState, earliest, reserved
from handler.reasons import Reason, TicketRouterError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger("ticket_router.rate_limit")

_KEY_PREFIX = "ratelimit"
# Compare-and-set rounds before giving up: each lost round means another container reserved.
_ATTEMPTS = 10
# An item nobody touched for this long is of no use to any limit: DynamoDB's TTL removes it.
_KEEP_SECONDS = 86400


def rate_limit_key(api_url: str, identity: str) -> str:
    """The item of the credential ``identity`` at ``api_url`` (handler.github.credentials.Login)."""
    digest = hashlib.sha256(f"{api_url}\n{identity}".encode()).hexdigest()[:32]
    return f"{_KEY_PREFIX}#{digest}"


class DynamoPostLimit:
    """One credential's limit in the claims table; ``Limits`` are applied as read, so a changed
    setting takes effect on the next POST."""

    def __init__(
        self, client: DynamoDBClient, table: str, *, api_url: str, identity: str, limits: Limits
    ) -> None:
        self._client = client
        self._table = table
        self._key = {"id": {"S": rate_limit_key(api_url, identity)}}
        self._limits = limits
        # The latest hold this container recorded: kept even when writing it to the table failed.
        self._hold = 0.0

    def reserve(self, now: float, latest: float) -> float:
        for _ in range(_ATTEMPTS):
            state, version = self._read()
            moment = earliest(state, self._limits, now)
            if moment > latest or self._put(reserved(state, self._limits, moment), version):
                return moment
        raise _unavailable(f"another container wrote first {_ATTEMPTS} times")

    def hold(self, until: float) -> None:
        """Raises the item's hold_until to ``until`` (never lowers it). A failure is logged, not
        raised: this container keeps the hold, and the next reservation fails closed."""
        self._hold = max(self._hold, until)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression=(
                    "SET hold_until = :until, expiration = :expiration, "
                    "version = if_not_exists(version, :zero) + :one"
                ),
                ConditionExpression="attribute_not_exists(hold_until) OR hold_until < :until",
                ExpressionAttributeValues={
                    ":until": {"N": _number(until)},
                    ":expiration": {"N": str(int(until) + _KEEP_SECONDS)},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                logger.warning("rate limit hold not shared", extra={"error": error_code(error)})
        except BotoCoreError as error:
            logger.warning("rate limit hold not shared", extra={"error": error_code(error)})

    def held_until(self) -> float:
        return self._read()[0].hold_until

    def _read(self) -> tuple[RateState, int | None]:
        """The item's state (with this container's own hold) and version; None: no item yet."""
        try:
            item = self._client.get_item(
                TableName=self._table, Key=self._key, ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error_code(error)) from None
        if item is None:
            return RateState((), self._hold), None
        sent = _moments(item.get("sent", {}).get("B", b""))
        hold = max(float(item.get("hold_until", {}).get("N", "0")), self._hold)
        return RateState(sent, hold), int(item.get("version", {}).get("N", "0"))

    def _put(self, state: RateState, version: int | None) -> bool:
        """Writes ``state`` if the item is still at ``version``; False when another was first."""
        last = max(state.sent[-1] if state.sent else 0.0, state.hold_until)
        item: dict[str, Any] = {
            **self._key,
            "sent": {"B": _packed(state.sent)},
            "hold_until": {"N": _number(state.hold_until)},
            "version": {"N": str((version or 0) + 1)},
            "expiration": {"N": str(int(last) + _KEEP_SECONDS)},
        }
        if version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(id)"}
        else:
            condition = {
                "ConditionExpression": "version = :version",
                "ExpressionAttributeValues": {":version": {"N": str(version)}},
            }
        try:
            self._client.put_item(TableName=self._table, Item=item, **condition)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise _unavailable(error_code(error)) from None
        except BotoCoreError as error:
            raise _unavailable(error_code(error)) from None
        return True


def _packed(moments: tuple[float, ...]) -> bytes:
    return struct.pack(f">{len(moments)}q", *(round(moment * 1000) for moment in moments))


def _moments(packed: bytes) -> tuple[float, ...]:
    count = len(packed) // 8
    return tuple(ms / 1000 for ms in struct.unpack(f">{count}q", packed[: count * 8]))


def _number(moment: float) -> str:
    # Milliseconds are finer than any limit needs, and keep the item small.
    return f"{moment:.3f}"


def _unavailable(cause: str) -> TicketRouterError:
    return TicketRouterError(
        Reason.RATE_LIMIT_STORE_UNAVAILABLE,
        f"the GitHub rate limit shared in the claims table cannot be read or written ({cause}): "
        "not posted",
    )
